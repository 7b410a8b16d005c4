//! API documentation generated from the handlers: the OpenAPI document (utoipa).

use actix_web::{web, HttpResponse};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api;

#[derive(OpenApi)]
#[openapi(
    info(title = "linkdock API", description = "Short links on your own domains: links, domains, import/export and API keys."),
    paths(
        api::session::sign_in, api::session::current, api::session::sign_out,
        api::domains::list, api::domains::show, api::domains::create, api::domains::rename, api::domains::delete,
        api::links::list, api::links::show, api::links::create, api::links::update, api::links::delete,
        api::transfer::import, api::transfer::export,
        api::api_keys::list, api::api_keys::show, api::api_keys::create, api::api_keys::update, api::api_keys::revoke,
        api::api_keys::delete, api::api_keys::requests, api::api_keys::current,
        api::history::list, api::history::add, api::history::clear,
    ),
    modifiers(&Security),
    tags(
        (name = "Links", description = "Short links: create, read, update, delete and search."),
        (name = "Import & Export", description = "Links in and out as CSV."),
        (name = "Domains", description = "The host names short links live on."),
        (name = "API Keys", description = "Keys for scripts and services, scoped by domain, IP and expiry (signed-in users only)."),
        (name = "Keys", description = "What a caller's own API key may do."),
        (name = "Playground", description = "The API playground's request history (signed-in users only)."),
        (name = "Session", description = "Sign in and out of the management UI and API."),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key: `Authorization: Bearer ldk_…`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::session::COOKIE,
                "Session cookie from POST /api/v1/session; unsafe methods also need X-CSRF-Token.",
            ))),
        );
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/openapi.json").route(web::get().to(openapi_json)));
}

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(ApiDoc::openapi().to_pretty_json().unwrap_or_default())
}
