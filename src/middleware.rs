//! The per-request middleware: a request id on every log line of a request, route/status
//! metrics, key-usage events, and problem+json for every `/api` error, including the 404/405
//! that routing produces.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};

use crate::auth::KeyUse;
use crate::error::{problem_response, PROBLEM_JSON};
use crate::keys::redact_keys;
use crate::metrics::{RouteLabel, SHORT_LINK_ROUTE};
use crate::state::AppState;
use crate::store::writer::Event;
use crate::telemetry::{self, RequestId};

/// A new request id: 8 hex digits of a per-process salt, then 8 of a sequence, written into
/// a stack buffer (the response header is its only allocation).
fn next_request_id() -> RequestId {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    static SALT: OnceLock<u32> = OnceLock::new();
    let salt = *SALT.get_or_init(|| {
        let mut b = [0u8; 4];
        let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
        u32::from_le_bytes(b)
    });
    let seq = SEQ.fetch_add(1, Ordering::Relaxed) as u32;
    let word = (u64::from(salt) << 32) | u64::from(seq);
    let mut out = [0u8; 16];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = b"0123456789abcdef"[((word >> (60 - 4 * i)) & 0xf) as usize];
    }
    RequestId(out)
}

/// The method as a static label (the event writer keeps it; no allocation per request).
fn method_label(m: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let id = next_request_id();
    telemetry::in_request(id, async move {
        // Only the debug line reads the clock.
        let started = tracing::enabled!(tracing::Level::DEBUG).then(Instant::now);
        let res = next.call(req).await?;
        let status = res.status();
        let is_api = res.request().path().starts_with("/api/");
        let mut res = if is_api && status.as_u16() >= 400 && !has_problem_type(&res) {
            as_problem(res)
        } else {
            res.map_into_boxed_body()
        };
        let key_use = res.request().extensions().get::<KeyUse>().copied();
        if let Some(st) = res.request().app_data::<web::Data<AppState>>() {
            let route = route_label(res.request());
            // Short links count themselves (`Metrics::short_link`).
            if route != SHORT_LINK_ROUTE {
                st.metrics.request(&route, status.as_u16());
            }
            if let Some(KeyUse { key, ip, at, .. }) = key_use {
                st.events.send(Event::KeyUsed {
                    key,
                    at,
                    ip,
                    method: method_label(res.request().method()),
                    // A key sent in the path must not land in the request log.
                    path: redact_keys(res.request().path()).into_owned(),
                    status: status.as_u16(),
                });
            }
        }
        if let Some(q) = key_use.and_then(|u| u.quota) {
            crate::auth::permissions::rate_limit_headers(res.headers_mut(), q);
        }
        tracing::debug!(
            method = %res.request().method(),
            path = res.request().path(),
            status = status.as_u16(),
            micros = started.map_or(0, |s| s.elapsed().as_micros() as u64),
            "request finished"
        );
        if let Ok(v) = HeaderValue::from_bytes(&id.0) {
            res.headers_mut()
                .insert(header::HeaderName::from_static("x-request-id"), v);
        }
        Ok(res)
    })
    .await
}

/// The route pattern of a request for `/metrics`, without `match_pattern()`, which walks the
/// whole route table with regexes: the label an API resource carries (`api::resource!`), the
/// one the fallback set, or else the matched path with each parameter's value replaced by
/// `{name}`.
fn route_label(req: &actix_web::HttpRequest) -> std::borrow::Cow<'static, str> {
    use std::borrow::Cow;
    if let Some(RouteLabel(label)) = req.app_data::<RouteLabel>() {
        return Cow::Borrowed(label);
    }
    if let Some(RouteLabel(label)) = req.extensions().get().copied() {
        return Cow::Borrowed(label);
    }
    let path = req.path();
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    for (name, value) in req.match_info().iter() {
        // The value fills whole segments: it starts after a `/` and ends at one or at the end.
        let at = rest.match_indices(value).map(|(i, _)| i).find(|&i| {
            let end = i + value.len();
            rest[..i].ends_with('/') && (end == rest.len() || rest[end..].starts_with('/'))
        });
        match at.filter(|_| !value.is_empty()) {
            Some(at) => {
                out.push_str(&rest[..at]);
                out.push('{');
                out.push_str(name);
                out.push('}');
                rest = &rest[at + value.len()..];
            }
            // A percent-encoded value: ask the router (rare).
            None => return Cow::Owned(req.match_pattern().unwrap_or_else(|| "unmatched".into())),
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn has_problem_type<B>(res: &ServiceResponse<B>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()))
}

/// Replace a framework-made error body (404 from routing, 405 from a resource) with a problem,
/// keeping headers such as `Allow`.
fn as_problem<B: MessageBody + 'static>(res: ServiceResponse<B>) -> ServiceResponse<BoxBody> {
    let status = res.status();
    let (req, old) = res.into_parts();
    let (kind, detail) = match status.as_u16() {
        404 => (
            "not-found",
            format!("no such resource: {}", redact_keys(req.path())),
        ),
        405 => (
            "method-not-allowed",
            format!(
                "{} is not allowed on {}",
                req.method(),
                redact_keys(req.path())
            ),
        ),
        413 => (
            "payload-too-large",
            "the request body is too large".to_owned(),
        ),
        _ => (
            "error",
            status.canonical_reason().unwrap_or("error").to_owned(),
        ),
    };
    let mut new = problem_response(status, kind, detail);
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.headers_mut().insert(name.clone(), value.clone());
        }
    }
    ServiceResponse::new(req, new)
}
