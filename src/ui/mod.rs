//! The management UI: server-rendered maud pages, a little JavaScript per page from `web/`.
//! Pages never answer 401: without a session they redirect to the sign-in page (`PageUser`).
//! Every error under `/ui` is an HTML page: the scope renders framework errors (a form that
//! does not parse, a refused CSRF token) as pages, never as problem+json or plain text.

pub mod assets;
pub mod chart;
pub mod layout;
mod pages;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::{header, StatusCode};
use actix_web::middleware::{DefaultHeaders, ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, HttpResponse};
use maud::html;

pub use self::layout::{layout, Nav};
use crate::auth::MaybePageUser;
use crate::error::ApiError;

/// No inline script or style anywhere: everything comes from `/static`.
pub const CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// The security headers of every HTML page linkdock serves (the UI and Swagger UI).
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CSP))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "same-origin"))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/ui")
            .app_data(
                web::FormConfig::default()
                    .limit(64 * 1024)
                    .error_handler(|e, _| ApiError::BadRequest(form_error(&e)).into()),
            )
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                ApiError::BadRequest(format!("this address is not valid: {e}")).into()
            }))
            .wrap(ErrorHandlers::new().default_handler(error_page))
            .wrap(security_headers())
            .wrap(DefaultHeaders::new().add((header::CACHE_CONTROL, "no-store")))
            .configure(pages::configure)
            .default_service(web::to(not_found)),
    );
}

fn form_error(e: &actix_web::error::UrlencodedError) -> String {
    match e {
        actix_web::error::UrlencodedError::Overflow { .. } => "the form is too large".into(),
        _ => "the form could not be read; reload the page and try again".into(),
    }
}

pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// An error page: what went wrong in a sentence, and a way back.
pub fn error_html(status: StatusCode, detail: &str) -> HttpResponse {
    let title = status.canonical_reason().unwrap_or("Error");
    let page = layout::bare(
        title,
        html! {
            h1 { (title) }
            p { (sentence(detail)) }
            p { a href="/ui/" { "Back to linkdock" } }
        },
    );
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page.into_string())
}

/// A message as a sentence on a page: capital first letter, full stop.
pub fn sentence(message: &str) -> String {
    let mut chars = message.trim().chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// An unknown page under /ui: "Page not found" with the ways back, inside the app's own
/// layout for a signed-in visitor.
async fn not_found(visitor: MaybePageUser) -> HttpResponse {
    let body = html! {
        header.page-header { h1 { "Page not found" } }
        p { "There is no page at this address. It may have moved, or the link may be mistyped." }
        ul.ways-back {
            li { a href="/ui/" { "Back to linkdock" } }
            li { a href="/ui/links" { "Links" } }
            li { a href="/ui/integrations/manual" { "Manual Integration" } }
        }
    };
    let page = match &visitor.0 {
        Some(user) => layout("Page not found", Nav::None, user, None, body),
        None => layout::bare("Page not found", body),
    };
    HttpResponse::NotFound()
        .content_type("text/html; charset=utf-8")
        .body(page.into_string())
}

/// Turn any non-HTML error response under `/ui` into an HTML page with the error's text.
fn error_page<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if is_html {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let detail = res
        .response()
        .error()
        .map(ToString::to_string)
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "the request could not be completed".into());
    let (req, _) = res.into_parts();
    let page: HttpResponse<BoxBody> = error_html(status, &detail);
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, page).map_into_right_body(),
    ))
}
