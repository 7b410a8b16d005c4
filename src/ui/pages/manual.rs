//! Integrations → Manual Integration. The "API Documentation" section is built in the browser
//! by `web/js/api-docs.js` from `/api/openapi.json`, so a new endpoint shows up here without UI
//! work. The API Playground and its Request History belong to their own issue: this page only
//! holds their places.

use actix_web::web;
use actix_web::{HttpRequest, HttpResponse};
use maud::html;

use super::{render, require_user};
use crate::startup::AppState;
use crate::ui::assets::asset_url;
use crate::ui::Nav;

pub async fn page(req: HttpRequest, st: web::Data<AppState>) -> HttpResponse {
    let user = match require_user(&req) {
        Ok(u) => u,
        Err(redirect) => return redirect,
    };
    let public_url = st.config.current().server.public_url.as_str().to_owned();
    let body = html! {
        link rel="stylesheet" href=(asset_url("css/manual.css"));
        header.page-header {
            h1 { "Manual Integration" }
        }
        p.lead {
            "Call the API from your own code with an API key. Everything below is generated from the "
            "OpenAPI document the server builds from its own handlers."
        }
        div.manual-layout {
            div.manual-main {
                section #api-playground .manual-section aria-labelledby="api-playground-title" {
                    h2 #api-playground-title { "API Playground" }
                    p.muted { "The playground is not part of this build yet." }
                }
                section #api-docs .manual-section aria-labelledby="api-docs-title" data-public-url=(public_url) {
                    header.section-header {
                        h2 #api-docs-title { "API Documentation" }
                        div.doc-actions {
                            button #copy-llms type="button" { "Copy LLM.txt" }
                            button #copy-openapi type="button" { "Copy openapi.json" }
                            a.button href="/swagger-ui/" target="_blank" rel="noopener" { "Open Swagger UI" }
                        }
                    }
                    p.muted {
                        "Organized by endpoint group: click a group to expand it. Source: "
                        a href="/api/openapi.json" { "openapi.json" } " · " a href="/api/llms.txt" { "llms.txt" } "."
                    }
                    p #api-docs-status .status role="status" aria-live="polite" { "Loading the API documentation…" }
                    div #api-docs-groups {}
                }
            }
            aside #request-history .manual-section aria-labelledby="request-history-title" {
                h2 #request-history-title { "Request History" }
                p.muted { "Requests made in the playground will be listed here." }
            }
        }
    };
    render(
        &user,
        "Manual Integration",
        Nav::ManualIntegration,
        "js/api-docs.js",
        body,
    )
}
