//! The management UI: server-rendered maud pages, a little JavaScript per page from `web/`.
//! Pages never answer 401: without a session they redirect to the sign-in page.

pub mod assets;
pub mod layout;
mod pages;

use actix_web::http::header;
use actix_web::{middleware::DefaultHeaders, web, HttpResponse};

pub use self::layout::{layout, Nav};

/// No inline script or style anywhere: everything comes from `/static`.
pub const CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/ui")
            .wrap(
                DefaultHeaders::new()
                    .add((header::CONTENT_SECURITY_POLICY, CSP))
                    .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                    .add((header::REFERRER_POLICY, "same-origin"))
                    .add((header::CACHE_CONTROL, "no-store")),
            )
            .configure(pages::configure),
    );
}

pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}
