//! `/docs/errors` and `/docs/errors/<slug>`: the pages that problem `type` URLs open, one per
//! entry of `error::PROBLEM_TYPES`. Public whatever `docs.public` says: they describe an error
//! in general, never a particular request.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};

use crate::error::{ProblemType, PROBLEM_TYPES};
use crate::ui::layout::bare;

pub async fn index() -> HttpResponse {
    let body = html! {
        h1 { "API errors" }
        p {
            "Every error from the linkdock API is " code { "application/problem+json" }
            " (RFC 9457). Its " code { "type" } " is the address of one of these pages; "
            code { "detail" } " says what went wrong with that request."
        }
        ul {
            @for t in PROBLEM_TYPES {
                li { a href={ "/docs/errors/" (t.slug) } { (t.title) } " (" (t.status) ")" }
            }
        }
    };
    html_page(bare("API errors", body))
}

pub async fn page(slug: web::Path<String>) -> HttpResponse {
    match PROBLEM_TYPES.iter().find(|t| t.slug == slug.as_str()) {
        Some(t) => html_page(bare(t.title, one(t))),
        None => crate::ui::error_html(
            actix_web::http::StatusCode::NOT_FOUND,
            "there is no such error type; see /docs/errors for the list",
        ),
    }
}

fn one(t: &ProblemType) -> Markup {
    html! {
        h1 { (t.title) }
        p { "HTTP status " (t.status) ". Problem type " code { (t.slug) } "." }
        h2 { "What it means" }
        p { (t.meaning) }
        h2 { "What to do" }
        p { (t.remedy) }
        p { a href="/docs/errors" { "All API errors" } }
    }
}

fn html_page(page: Markup) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(page.into_string())
}
