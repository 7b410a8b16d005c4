//! The hot path: `Host` + slug → `Location`. Reads only the in-memory catalog; the click goes
//! to the batched writer. No transaction, no allocation beyond the response.

use std::borrow::Cow;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};

use crate::domain::now;
use crate::metrics::{Metrics, RouteLabel};
use crate::state::AppState;
use crate::store::writer::Event;

const NOT_FOUND_PAGE: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Link not found</title></head>\
<body style=\"font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem\">\
<h1>Link not found</h1><p>This short link does not exist or has expired.</p></body></html>";

/// The request's host, lower-cased, without a port.
pub fn request_host(req: &HttpRequest) -> Option<Cow<'_, str>> {
    let raw = match req.headers().get(header::HOST) {
        Some(h) => h.to_str().ok()?,
        None => req.uri().host()?,
    };
    let host = match raw.rsplit_once(':') {
        // `[::1]:8080`, `example.com:8080`; a bare IPv6 literal has more than one colon.
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':') => h,
        _ => raw,
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Some(Cow::Owned(host.to_ascii_lowercase()))
    } else {
        Some(Cow::Borrowed(host))
    }
}

/// Label for `/metrics`: every short link counts under one route.
pub const ROUTE_LABEL: &str = "/{slug}";

/// Everything no route claimed: `GET`/`HEAD /{slug}` is a redirect; anything else is a 404
/// (problem+json under `/api/`, the small page elsewhere).
pub async fn fallback(req: HttpRequest, st: web::Data<AppState>) -> HttpResponse {
    let slug = req
        .path()
        .strip_prefix('/')
        .filter(|s| !s.is_empty() && !s.contains('/'));
    let is_read = matches!(
        *req.method(),
        actix_web::http::Method::GET | actix_web::http::Method::HEAD
    );
    match slug {
        Some(slug) if is_read => {
            req.extensions_mut().insert(RouteLabel(ROUTE_LABEL));
            redirect(&req, &st, slug)
        }
        _ => {
            req.extensions_mut().insert(RouteLabel("unmatched"));
            if req.path().starts_with("/api/") {
                crate::error::problem_response(
                    StatusCode::NOT_FOUND,
                    "not-found",
                    format!("no such resource: {}", req.path()),
                )
            } else {
                not_found(&st)
            }
        }
    }
}

fn redirect(req: &HttpRequest, st: &AppState, slug: &str) -> HttpResponse {
    let at = now();
    let found = request_host(req).and_then(|host| {
        st.store.catalog.with_route(&host, slug, |link| {
            if link.is_expired_at(at) {
                return None;
            }
            st.events.send(Event::Click(link.rec.id));
            let status =
                StatusCode::from_u16(link.rec.redirect_code.get()).unwrap_or(StatusCode::FOUND);
            Some(
                HttpResponse::build(status)
                    .insert_header((header::LOCATION, link.rec.destination_url.as_str()))
                    .insert_header((header::CACHE_CONTROL, "private, max-age=90"))
                    .finish(),
            )
        })
    });
    match found.flatten() {
        Some(res) => {
            Metrics::inc(&st.metrics.redirects);
            res
        }
        None => not_found(st),
    }
}

pub fn not_found(st: &AppState) -> HttpResponse {
    Metrics::inc(&st.metrics.redirect_misses);
    HttpResponse::NotFound()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(NOT_FOUND_PAGE)
}
