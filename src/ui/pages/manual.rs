//! Integrations → Manual Integration. The "API Documentation" section is built in the browser
//! by `web/js/api-docs.js` from `/api/openapi.json`, so a new endpoint shows up here without UI
//! work. The "API Playground" and its "Request History" sidebar are driven by
//! `web/js/playground.js` from the same document: the server renders only their empty frames.
//! The pasted API key lives in that script's memory only; the history is kept on the server
//! (`/api/v1/playground/history`) with the key's display prefix, never the key.

use actix_web::web;
use actix_web::HttpResponse;
use maud::{html, Markup};

use super::render;
use crate::auth::PageUser;
use crate::state::AppState;
use crate::ui::assets::asset_url;
use crate::ui::Nav;

pub async fn page(PageUser(user): PageUser, st: web::Data<AppState>) -> HttpResponse {
    let config = st.config.current();
    // Unset: empty, and the page's script uses the browser's own origin.
    let public_url = config
        .server
        .public_url
        .as_ref()
        .map_or_else(String::new, |u| u.as_str().to_owned());
    let key_prefix = config.keys.prefix.as_str().to_owned();
    let body = html! {
        link rel="stylesheet" href=(asset_url("css/manual.css"));
        header.page-header {
            h1 { "Manual Integration" }
        }
        p.lead {
            "Call the API from your own code with an API key. Everything below is generated from the "
            "OpenAPI document the server builds from its own handlers."
        }
        (on_this_page())
        div.manual-layout {
            div.manual-main {
                (playground(&key_prefix))
                section #api-docs .manual-section aria-labelledby="api-docs-title" data-public-url=(public_url) {
                    header.section-header {
                        h2 #api-docs-title tabindex="-1" { "API Documentation" }
                        div.doc-actions {
                            button #copy-llms type="button" { "Copy LLM.txt" }
                            button #copy-openapi type="button" { "Copy openapi.json" }
                            a.button href="/swagger-ui/" target="_blank" rel="noopener" { "Open Swagger UI" }
                        }
                    }
                    p.muted {
                        "Organized by endpoint group: click a group to expand it. Source: "
                        a href="/api/openapi.json" { "openapi.json" } " · " a href="/api/llms.txt" { "llms.txt" } " · " a href="/api/llms-full.txt" { "llms-full.txt" } "."
                    }
                    p #api-docs-status .status role="status" aria-live="polite" { "Loading the API documentation…" }
                    div #api-docs-groups {}
                }
            }
            (request_history())
        }
        script type="module" src=(asset_url("js/playground.js")) {}
    };
    render(
        &user,
        "Manual Integration",
        Nav::ManualIntegration,
        Some("js/api-docs.js"),
        body,
    )
}

/// "On this page": the page's three sections. On a phone the Request History sidebar sits
/// below the whole playground; this puts it one tap (or Tab, Enter) from the top.
fn on_this_page() -> Markup {
    html! {
        nav #manual-toc .on-this-page aria-label="On this page" {
            span.muted { "On this page:" }
            a href="#api-playground" data-focus="api-playground-title" { "API Playground" }
            a href="#request-history" data-focus="request-history-title" { "Request History" }
            a href="#api-docs" data-focus="api-docs-title" { "API Documentation" }
        }
    }
}

/// "API Playground": API Key, Select Endpoint, the request builder with its Request Preview,
/// Send Request, and the response. `playground.js` fills the endpoints and the parameters.
fn playground(key_prefix: &str) -> Markup {
    html! {
        section #api-playground .manual-section aria-labelledby="api-playground-title" data-key-prefix=(key_prefix) {
            h2 #api-playground-title tabindex="-1" { "API Playground" }
            p.muted {
                "Try any endpoint from your browser. With an API key the request is judged by the key "
                "alone, exactly as your own code would be; without one it uses your session."
            }
            div.field.pg-key-field {
                label for="pg-key" { "API Key" }
                div.pg-key-row {
                    input #pg-key type="password" autocomplete="off" spellcheck="false"
                        autocapitalize="off" placeholder=(format!("{key_prefix}_…")) aria-describedby="pg-key-hint pg-key-info";
                    button #pg-key-toggle type="button" aria-controls="pg-key" aria-pressed="false" { "Show" }
                }
                p.hint #pg-key-hint {
                    "Paste a key to check it and to send requests with it. It stays in this page's memory: "
                    "never stored, never put in a URL or in the history. Leave empty to use your session."
                }
            }
            div #pg-key-info .pg-key-info role="status" aria-live="polite" {}
            p #pg-auth-mode .pg-auth-mode {}
            p #pg-scope-warning .warning role="alert" hidden {}
            div.field {
                label for="pg-endpoint" { "Select Endpoint" }
                select #pg-endpoint disabled aria-describedby="pg-endpoint-status" {
                    option value="" { "Loading endpoints…" }
                }
                p.hint #pg-endpoint-status role="status" aria-live="polite" {}
            }
            form #pg-builder .pg-builder novalidate hidden aria-label="Request builder" {
                div #pg-endpoint-description .muted .pg-description {}
                fieldset #pg-path-params .pg-params hidden {
                    legend { "Path Parameters" }
                    div.pg-param-list {}
                }
                fieldset #pg-query-params .pg-params hidden {
                    legend { "Query Parameters" }
                    div.pg-param-list {}
                }
                div #pg-body-field .field hidden {
                    label for="pg-body" { "Request Body (JSON)" }
                    textarea #pg-body .mono rows="10" spellcheck="false" aria-describedby="pg-body-error" {}
                    p.field-error #pg-body-error role="alert" hidden {}
                }
                div #pg-file-field .field hidden {
                    label for="pg-file" { "File" }
                    input #pg-file type="file" accept=".csv,text/csv" aria-describedby="pg-file-hint";
                    p.hint #pg-file-hint {}
                }
                div #pg-preview .pg-preview aria-labelledby="pg-preview-title" {
                    h3 #pg-preview-title { "Request Preview" }
                    p.pg-preview-line {
                        span #pg-preview-method .method {}
                        " "
                        code #pg-preview-url {}
                    }
                    pre #pg-preview-headers .code .pg-wrap {}
                    pre #pg-preview-body .code .pg-wrap tabindex="0" aria-label="Request body" hidden {}
                    div #pg-code {
                        h4 { "Code for this request" }
                        p.hint { "Ready to paste into a program: the key is read from the environment variable LINKDOCK_API_KEY." }
                    }
                }
                p #pg-loaded .pg-loaded role="status" hidden {}
                div.pg-send-row {
                    button #pg-send .primary type="submit" disabled aria-describedby="pg-permission-warning" { "Send Request" }
                    // Beside the button it is about: a missing permission is said where the
                    // user is about to send, and sending still shows the 403 it announces.
                    p #pg-permission-warning .warning role="alert" hidden {}
                }
            }
            div #pg-response .pg-response hidden aria-labelledby="pg-response-title" {
                h3 #pg-response-title { "Response" }
                div.pg-response-meta {
                    span #pg-status .status-badge {}
                    span #pg-duration .muted {}
                    span #pg-content-type .muted {}
                    span.spacer {}
                    button #pg-copy-curl type="button" { "Copy cURL" }
                    button #pg-copy-response type="button" { "Copy Response" }
                }
                p #pg-copy-status .status role="status" aria-live="polite" {}
                // What this answer said about the key (requests left, a refusal), here and on the
                // key panel: on a phone the panel is a screen away.
                p #pg-response-key .pg-response-key role="status" hidden {}
                p #pg-history-notice .notice role="status" hidden {}
                p #pg-response-empty .muted hidden { "The response has no body." }
                pre #pg-response-body .code .pg-wrap tabindex="0" aria-label="Response body" {}
            }
        }
    }
}

/// The "Request History" sidebar: the signed-in user's playground requests, newest first.
fn request_history() -> Markup {
    html! {
        aside #request-history .manual-section aria-labelledby="request-history-title" {
            header.section-header {
                h2 #request-history-title tabindex="-1" { "Request History" }
                button #pg-clear-history .danger type="button" disabled { "Clear History" }
            }
            p.hint {
                "Click a request to load it into the builder, then replay it with \"Send Request\". "
                "Kept on the server with the key's prefix, never the key."
            }
            p #pg-history-status .status role="status" aria-live="polite" {}
            ol #pg-history-list .pg-history {
                li.empty.muted { "Loading…" }
            }
        }
    }
}
