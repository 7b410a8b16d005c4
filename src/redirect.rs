//! The hot path: `Host` + slug → `Location`.
//!
//! `short_link`, ahead of routing (`middleware::AheadOfRouting`), answers `GET`/`HEAD /{slug}`
//! on a managed host before anything else runs: no router, no request span, no request id (a
//! short link logs nothing unless `log.access` is on), one borrowed lookup in the in-memory
//! catalog, per-thread counters and latency buckets, one click event (with the raw User-Agent
//! and Referer bytes when analytics is on, and the client's address when `analytics.geoip_db`
//! is set).
//! Everything else — other hosts, linkdock's own paths — goes on to routing, where `fallback`
//! answers what no route claims.

use std::borrow::Cow;
use std::time::SystemTime;

use actix_web::dev::ServiceRequest;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};

use crate::auth::client_ip;
use crate::domain::{at_reading, RESERVED_SEGMENTS};
use crate::metrics::{RouteLabel, SHORT_LINK_ROUTE};
use crate::state::AppState;
use crate::store::writer::Event;
use crate::telemetry;

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

/// The short link a request asks for: `GET`/`HEAD` of one path segment that is not one of
/// linkdock's own.
fn requested_slug(req: &HttpRequest) -> Option<&str> {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return None;
    }
    let slug = req
        .path()
        .strip_prefix('/')
        .filter(|s| !s.is_empty() && !s.contains('/'))?;
    (!RESERVED_SEGMENTS
        .iter()
        .any(|r| r.eq_ignore_ascii_case(slug)))
    .then_some(slug)
}

/// The answer to a short link on a managed host: the redirect, or the 404 page for a slug that
/// does not exist or has expired. `None`: not a short link of ours, let routing decide.
fn answer(st: &AppState, req: &HttpRequest) -> Option<HttpResponse> {
    let slug = requested_slug(req)?;
    // One read of the system clock serves both the expiry check and the latency histogram's
    // start: clock reads are not free here (a serialized TSC read, dearer under a hypervisor),
    // and before the histogram this was the path's only one. A wall clock stepped back while a
    // redirect is answered gives it 0 s rather than a wrong bucket further up.
    let started = SystemTime::now();
    let host = request_host(req)?;
    let at = at_reading(started);
    let found = st.store.catalog.route(&host, slug, |link| {
        if link.is_expired_at(at) {
            return None;
        }
        if st.events.analytics_enabled() {
            // The raw header bytes go to this thread's buffer; the writer thread classifies
            // them (`store::writer`), so the redirect parses nothing.
            let headers = req.headers();
            // With a GeoIP database, the client's address too (looked up and dropped on the
            // writer thread). The server's one rule (`auth::client_ip`): the peer address,
            // and the forwarded header only when the peer is a trusted proxy.
            let ip = if st.events.geoip_enabled() {
                client_ip(req, &st.config.current())
            } else {
                None
            };
            st.events.visit(
                link.id(),
                at,
                headers
                    .get(header::USER_AGENT)
                    .map_or(&[], HeaderValue::as_bytes),
                headers
                    .get(header::REFERER)
                    .map_or(&[], HeaderValue::as_bytes),
                ip,
            );
        } else {
            st.events.send(Event::Click(link.id()));
        }
        let status = StatusCode::from_u16(link.redirect_code()).unwrap_or(StatusCode::FOUND);
        let location = HeaderValue::from_str(link.destination()).ok()?;
        let mut res = HttpResponse::new(status);
        let headers = res.headers_mut();
        headers.insert(header::LOCATION, location);
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, max-age=90"),
        );
        Some(res)
    })?;
    let mut res = found.flatten().unwrap_or_else(not_found_page);
    let status = res.status().as_u16();
    let head = *req.method() == Method::HEAD;
    let took = started.elapsed().unwrap_or_default();
    st.metrics.short_link(head, status, took);
    if telemetry::access_enabled() {
        access(st, req, &mut res, head, took);
    }
    Some(res)
}

/// The access line of a short link, with the request id the routed requests get.
#[cold]
fn access(
    st: &AppState,
    req: &HttpRequest,
    res: &mut HttpResponse,
    head: bool,
    took: std::time::Duration,
) {
    let id = crate::middleware::request_id(req);
    let ip = client_ip(req, &st.config.current());
    let method = if head { "HEAD" } else { "GET" };
    let status = res.status().as_u16();
    telemetry::access(id, method, SHORT_LINK_ROUTE, status, took, ip);
    if let Ok(v) = HeaderValue::from_bytes(id.as_bytes()) {
        res.headers_mut()
            .insert(crate::middleware::REQUEST_ID.clone(), v);
    }
}

/// Short links ahead of routing (`middleware::AheadOfRouting`).
pub fn short_link(st: &AppState, req: &ServiceRequest) -> Option<HttpResponse> {
    answer(st, req.request())
}

/// What no route claimed: the 404 page, or problem+json under `/api/`. (Short links on
/// managed hosts never get here; one on another host is a miss like an unknown slug.)
pub async fn fallback(req: HttpRequest) -> HttpResponse {
    if requested_slug(&req).is_some() {
        // Counted and timed by `middleware::request_context`, by this label.
        req.extensions_mut().insert(RouteLabel(SHORT_LINK_ROUTE));
        return not_found_page();
    }
    req.extensions_mut().insert(RouteLabel("unmatched"));
    if req.path().starts_with("/api/") {
        crate::error::problem_response(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("no such resource: {}", crate::keys::redact_keys(req.path())),
        )
    } else {
        not_found_page()
    }
}

fn not_found_page() -> HttpResponse {
    HttpResponse::NotFound()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(NOT_FOUND_PAGE)
}
