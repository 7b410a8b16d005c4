//! API documentation generated from the handlers. The OpenAPI document built by utoipa is the
//! one source: `/api/openapi.json` serves it, Swagger UI reads it, `/api/llms.txt` is rendered
//! from it, and the Manual Integration page builds its documentation from it in the browser.
//! Nothing about a particular endpoint is written here.

mod errors;
pub mod examples;
pub mod llms;
pub mod openapi;
mod origin;
pub mod permissions;
pub mod responses;
mod schemas;

use std::sync::{Arc, OnceLock};

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api;
use crate::auth::{DocsReader, MaybePageUser};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "linkdock API",
        contact(name = "linkdock maintainers"),
        description = "Short links on your own domains: links, domains, import/export and API keys. \
JSON in and out; times are RFC 3339 in UTC; every error is `application/problem+json` (RFC 9457). \
Lists take `?limit=&offset=` and answer `{\"items\", \"total\", \"limit\", \"offset\"}`, newest first."
    ),
    paths(
        api::session::sign_in, api::session::current, api::session::sign_out, api::session::change_password,
        api::me::show, api::me::sessions, api::me::end_one, api::me::sign_out_others,
        api::domains::list, api::domains::show, api::domains::create, api::domains::rename, api::domains::delete,
        api::links::list, api::links::show, api::links::create, api::links::update, api::links::delete,
        api::analytics::stats,
        api::transfer::import, api::transfer::export,
        api::api_keys::list, api::api_keys::show, api::api_keys::create, api::api_keys::update, api::api_keys::revoke,
        api::api_keys::roll, api::api_keys::check, api::api_keys::delete, api::api_keys::requests, api::api_keys::disable, api::api_keys::enable, api::api_keys::current,
        api::api_keys::usage,
        api::api_keys::create_batch,
        api::history::list, api::history::add, api::history::clear,
        api::backup::create,
        api::invites::create, api::invites::list, api::invites::withdraw,
        api::users::list, api::users::show, api::users::update, api::users::remove,
        api::audit::list,
    ),
    modifiers(&Security, &OperationIds),
    tags(
        (name = "Links", description = "Short links: create, read, update, delete and search."),
        (name = "Import & Export", description = "Links in and out as CSV."),
        (name = "Domains", description = "The host names short links live on."),
        (name = "API Keys", description = "Keys for scripts and services, scoped by domain, IP, expiry, permissions and rate limit; rolled with a grace period; leaked keys found in one step (signed-in users only)."),
        (name = "Keys", description = "What a caller's own API key may do, and why it would be refused."),
        (name = "Playground", description = "The API playground's request history (signed-in users only)."),
        (name = "Session", description = "Sign in and out of the management UI and API."),
        (name = "Account", description = "Your own account, for anyone signed in: who you are, what your role allows, and your sessions on every device (signed-in users only)."),
        (name = "Backups", description = "Snapshots of the database, written on the server (signed-in users only)."),
        (name = "Team", description = "Users and their roles, and invites (admins only): change a role, reset a password, remove a user and hand on or revoke their API keys; invite someone with a one-time link where they pick their username and password."),
        (name = "Activity", description = "Who did what, when and from where: sign-ins, key, domain and link changes, imports, exports, backups, config reloads (signed-in users only; admins see everyone's)."),
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

/// utoipa names operations after their handler function, so `links::list` and `domains::list`
/// would share `list`. Operation ids must be unique: prefix each with its tag (`links_list`).
struct OperationIds;

impl Modify for OperationIds {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for item in doc.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                let tag = op
                    .tags
                    .as_ref()
                    .and_then(|t| t.first())
                    .map(|t| snake(t))
                    .unwrap_or_default();
                if let Some(id) = &op.operation_id {
                    if !tag.is_empty() && !id.starts_with(&format!("{tag}_")) {
                        op.operation_id = Some(format!("{tag}_{id}"));
                    }
                }
            }
        }
    }
}

/// `Import & Export` → `import_export`.
fn snake(s: &str) -> String {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join("_")
}

/// Stands for the `servers` list in `openapi_text`, replaced per request.
const SERVERS: &str = "linkdock:servers";

/// The document as served, built once: the same bytes for every caller, but for the `servers`
/// list (`SERVERS`, replaced by `openapi_json`).
pub fn openapi_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        let mut doc = openapi_value().clone();
        if let Some(o) = doc.as_object_mut() {
            let servers = serde_json::Value::String(SERVERS.into());
            // `servers` right after `info`, where readers look for it.
            let mut out = serde_json::Map::new();
            for (k, v) in std::mem::take(o) {
                let after_info = k == "info";
                out.insert(k, v);
                if after_info {
                    out.insert("servers".into(), servers.clone());
                }
            }
            *o = out;
        }
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    })
}

/// The document as a JSON value: utoipa's document, with examples filled in from the schemas
/// where an operation has none.
pub fn openapi_value() -> &'static serde_json::Value {
    static VALUE: OnceLock<serde_json::Value> = OnceLock::new();
    VALUE.get_or_init(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        schemas::fill(&mut doc);
        examples::fill(&mut doc);
        responses::fill(&mut doc);
        permissions::fill(&mut doc);
        doc
    })
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/openapi.json").route(web::get().to(openapi_json)))
        .service(web::resource("/api/llms.txt").route(web::get().to(llms_txt)))
        .service(web::resource("/api/llms-full.txt").route(web::get().to(llms_full_txt)))
        .service(
            web::scope("/docs/errors")
                .wrap(crate::ui::security_headers())
                .service(web::resource("").route(web::get().to(errors::index)))
                .service(web::resource("/{slug:.+}").route(web::get().to(errors::page))),
        )
        // A scope matches its prefix without a regex, so other requests never pay for the
        // catch-all pattern inside it.
        .service(
            web::scope("/swagger-ui")
                .wrap(crate::ui::security_headers())
                .route(
                    "",
                    web::get().to(|| async { crate::ui::see_other("/swagger-ui/") }),
                )
                .route("/{tail:.*}", web::get().to(swagger_ui)),
        );
}

/// The document with `servers`: first the origin this request reached, so that Swagger UI's
/// "Try it out" calls the address the page came from (same origin, whatever name the server
/// was reached by), then `public_url` when it is set and differs.
async fn openapi_json(_: DocsReader, st: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let config = st.config.current();
    let here = origin::of_request(&req, &config);
    let mut servers = vec![
        serde_json::json!({ "url": here, "description": "This server, as this request reached it" }),
    ];
    if let Some(public) = &config.server.public_url {
        let public = public.as_str().trim_end_matches('/');
        if public != here {
            servers.push(serde_json::json!({ "url": public, "description": "The public URL (server.public_url)" }));
        }
    }
    let servers = serde_json::to_string(&servers).unwrap_or_else(|_| "[]".into());
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::VARY, "Host, X-Forwarded-Proto, Forwarded"))
        .body(openapi_text().replacen(&format!("\"{SERVERS}\""), &servers, 1))
}

/// `public_url` when set, otherwise the origin the request was sent to (validated, so a forged
/// `Host` cannot put anything but a host into a document), with the `Vary` that follows.
fn own_url(st: &AppState, req: &HttpRequest) -> (String, Option<&'static str>) {
    let config = st.config.current();
    match &config.server.public_url {
        Some(url) => (url.as_str().to_owned(), None),
        None => (
            origin::of_request(req, &config),
            Some("Host, X-Forwarded-Proto, Forwarded"),
        ),
    }
}

/// `/api/llms.txt`: the llmstxt.org index (links to the documents and every operation).
async fn llms_txt(reader: DocsReader, st: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    llms_answer(reader, &st, &req, llms::index)
}

/// `/api/llms-full.txt`: every operation in full.
async fn llms_full_txt(
    reader: DocsReader,
    st: web::Data<AppState>,
    req: HttpRequest,
) -> HttpResponse {
    llms_answer(reader, &st, &req, llms::full)
}

/// LLM.txt names its base URL (`own_url`) in its links and examples.
fn llms_answer(
    _: DocsReader,
    st: &AppState,
    req: &HttpRequest,
    render: fn(&serde_json::Value, &str, &crate::domain::KeyPrefix) -> String,
) -> HttpResponse {
    let (base, vary) = own_url(st, req);
    let mut res = HttpResponse::Ok();
    res.content_type("text/plain; charset=utf-8");
    if let Some(vary) = vary {
        res.insert_header((header::VARY, vary));
    }
    res.body(render(
        openapi_value(),
        &base,
        &st.config.current().keys.prefix,
    ))
}

fn swagger_config() -> Arc<utoipa_swagger_ui::Config<'static>> {
    static CONFIG: OnceLock<Arc<utoipa_swagger_ui::Config<'static>>> = OnceLock::new();
    Arc::clone(CONFIG.get_or_init(|| {
        // Base layout: no top bar, whose "Explore" box (another document's URL) has no label.
        // No deep links: each is a link inside the operation's button (nested controls).
        // No syntax colours: the default theme's strings are 3.45:1 on its dark background.
        Arc::new(
            utoipa_swagger_ui::Config::from("/api/openapi.json")
                .persist_authorization(false)
                .use_base_layout()
                .deep_linking(false)
                .with_syntax_highlight(false),
        )
    }))
}

/// Swagger UI's files, embedded in the binary (feature `vendored`): no network at build or run
/// time. Without access the page sends the browser to sign in and come back.
async fn swagger_ui(
    reader: Result<DocsReader, ApiError>,
    user: MaybePageUser,
    req: HttpRequest,
    tail: web::Path<String>,
) -> HttpResponse {
    let index = tail.is_empty() || tail.as_str() == "index.html";
    if let Err(e) = reader {
        return match e {
            ApiError::Unauthenticated(_) if index => {
                crate::ui::see_other("/ui/login?next=%2Fswagger-ui%2F")
            }
            e => e.error_response(),
        };
    }
    if index {
        return HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .content_type("text/html; charset=utf-8")
            .body(swagger_page(user.0.as_ref()).into_string());
    }
    match utoipa_swagger_ui::serve(&tail, swagger_config()) {
        Ok(Some(file)) => {
            let mut res = HttpResponse::Ok();
            if file.gzpipped {
                res.insert_header((header::CONTENT_ENCODING, "gzip"));
            }
            res.content_type(file.content_type)
                .body(file.bytes.into_owned())
        }
        Ok(None) => crate::error::problem_response(
            actix_web::http::StatusCode::NOT_FOUND,
            "not-found",
            format!("no such resource: {}", req.path()),
        ),
        Err(e) => ApiError::internal(format!("swagger ui: {e}")).error_response(),
    }
}

/// Swagger UI's page, in place of its `index.html` and `swagger-initializer.js`: Swagger's
/// bundle and stylesheet, `swagger.css` (contrast), and `swagger.js`, which starts Swagger UI
/// with `swagger_config` (in `data-config`) and puts the session's CSRF token on its unsafe
/// requests through `common.js`; and a sentence on how "Try it out" is authorized.
fn swagger_page(user: Option<&crate::auth::SessionUser>) -> maud::Markup {
    use crate::ui::assets::asset_url;
    let config = serde_json::to_string(swagger_config().as_ref()).unwrap_or_default();
    maud::html! {
        (maud::DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(user) = user {
                    meta name="csrf-token" content=(user.csrf_token);
                }
                title { "Swagger UI · linkdock API" }
                link rel="stylesheet" href="./swagger-ui.css";
                link rel="stylesheet" href=(asset_url("css/swagger.css"));
                link rel="icon" type="image/svg+xml" href=(asset_url("favicon.svg"));
                // A module runs once the page is parsed, after the bundle below.
                script type="module" src=(asset_url("js/swagger.js")) {}
            }
            body {
                main {
                    p.swagger-auth-note {
                        @if let Some(user) = user {
                            "Signed in as " strong { (user.username.as_str()) } ": \"Try it out\" sends your session. "
                            "To call the API as a script would, choose Authorize and paste an API key."
                        } @else {
                            "To use \"Try it out\", choose Authorize and paste an API key, or "
                            a href="/ui/login?next=%2Fswagger-ui%2F" { "sign in" } "."
                        }
                    }
                    div #swagger-ui data-config=(config) {}
                }
                script src="./swagger-ui-bundle.js" charset="UTF-8" {}
            }
        }
    }
}

#[cfg(test)]
mod tests;
