//! The per-request middleware: a request id on every log line of a request, route/status
//! metrics and latency, the access line, key-usage events, and problem+json for every `/api`
//! error, including the 404/405 that routing produces; answering some requests ahead of
//! routing (`AheadOfRouting`); bodies held to their pace (`PaceBodies`).

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Instant;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::rt::time::{sleep_until, Instant as TimerInstant, Sleep};
use actix_web::web::Bytes;
use actix_web::{web, HttpMessage, ResponseError};
use futures_util::future::{ready, Either, LocalBoxFuture, MapOk, Ready, TryFutureExt};
use futures_util::Stream;

use crate::auth::{client_ip, KeyUse};
use crate::config::BodyPace;
use crate::error::{problem_response, ApiError, PROBLEM_JSON};
use crate::keys::redact_keys;
use crate::metrics::{RouteLabel, SHORT_LINK_ROUTE};
use crate::state::AppState;
use crate::store::writer::{Event, LoggedPath};
use crate::telemetry::{self, RequestId};

/// The method as a static label (the event writer and the metrics keep it; no allocation per
/// request).
pub fn method_label(m: &actix_web::http::Method) -> &'static str {
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

/// `X-Request-Id`, made once: a name given as `&str` is parsed at every lookup.
pub static REQUEST_ID: header::HeaderName =
    header::HeaderName::from_static(telemetry::REQUEST_ID_HEADER);

/// The request's id: the caller's `X-Request-Id` when it is well formed, else our own.
pub fn request_id(req: &actix_web::HttpRequest) -> RequestId {
    RequestId::of_request(req.headers().get(&REQUEST_ID).map(HeaderValue::as_bytes))
}

pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let id = request_id(req.request());
    telemetry::in_request(id, async move {
        let started = Instant::now();
        let res = next.call(req).await?;
        let took = started.elapsed();
        let status = res.status();
        let is_api = res.request().path().starts_with("/api/");
        let res = if is_api && status.as_u16() >= 400 && !has_problem_type(&res) {
            as_problem(res)
        } else {
            res.map_into_boxed_body()
        };
        let key_use = res.request().extensions().get::<KeyUse>().copied();
        let route = route_label(res.request());
        let (req, mut res) = res.into_parts();
        settle(&req, id, &route, took, key_use, &mut res);
        Ok(ServiceResponse::new(req, res))
    })
    .await
}

/// What every answered request leaves behind, once its status is known: its count and
/// latency by route in `/metrics`, the access line, a key's use (usage counts and request
/// log) and rate-limit headers, the debug line and the `X-Request-Id` header. Routed
/// requests come here through `request_context`, the keyed read's fast path
/// (`api::links::keyed_read`) directly.
pub fn settle(
    req: &actix_web::HttpRequest,
    id: RequestId,
    route: &str,
    took: std::time::Duration,
    key_use: Option<KeyUse>,
    res: &mut actix_web::HttpResponse,
) {
    let status = res.status();
    if let Some(st) = req.app_data::<web::Data<AppState>>() {
        let method = method_label(req.method());
        // A short link on a host that is not managed (`redirect::fallback`).
        if route == SHORT_LINK_ROUTE {
            st.metrics
                .short_link(method == "HEAD", status.as_u16(), took);
        } else {
            st.metrics.request(route, method, status.as_u16(), took);
        }
        if telemetry::access_enabled() {
            let ip = client_ip(req, &st.config.current());
            telemetry::access(id, method, route, status.as_u16(), took, ip);
        }
        if let Some(KeyUse {
            key,
            ip,
            at,
            verified,
            ..
        }) = key_use
        {
            st.events.send(Event::KeyUsed {
                key,
                at,
                ip,
                method,
                // A key sent in the path must not land in the request log.
                path: LoggedPath::new(&redact_keys(req.path())),
                status: status.as_u16(),
                verified,
            });
        }
    }
    if let Some(q) = key_use.and_then(|u| u.quota) {
        crate::auth::permissions::rate_limit_headers(res.headers_mut(), q);
    }
    tracing::debug!(
        method = %req.method(),
        path = req.path(),
        status = status.as_u16(),
        micros = took.as_micros() as u64,
        "request finished"
    );
    if let Ok(v) = HeaderValue::from_bytes(id.as_bytes()) {
        res.headers_mut().insert(REQUEST_ID.clone(), v);
    }
}

/// A middleware that answers some requests itself, before routing, the extractors and
/// `request_context`: short links (`redirect::short_link`) and the keyed read
/// (`api::links::keyed_read`). `answer` gives the response, or `None` to let the request go
/// on to routing unchanged.
pub struct AheadOfRouting {
    st: web::Data<AppState>,
    answer: Answer,
}

/// What an `AheadOfRouting` asks of a request.
pub type Answer = fn(&AppState, &ServiceRequest) -> Option<actix_web::HttpResponse>;

impl AheadOfRouting {
    pub fn new(st: web::Data<AppState>, answer: Answer) -> Self {
        Self { st, answer }
    }
}

impl<S, B> Transform<S, ServiceRequest> for AheadOfRouting
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = AheadOfRoutingService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, next: S) -> Self::Future {
        ready(Ok(AheadOfRoutingService {
            next,
            st: self.st.clone(),
            answer: self.answer,
        }))
    }
}

pub struct AheadOfRoutingService<S> {
    next: S,
    st: web::Data<AppState>,
    answer: Answer,
}

type Routed<F, B> = MapOk<F, fn(ServiceResponse<B>) -> ServiceResponse<EitherBody<B>>>;

impl<S, B> Service<ServiceRequest> for AheadOfRoutingService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = Either<Ready<Result<Self::Response, Self::Error>>, Routed<S::Future, B>>;

    actix_web::dev::forward_ready!(next);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if let Some(res) = (self.answer)(&self.st, &req) {
            return Either::Left(ready(Ok(req.into_response(res).map_into_right_body())));
        }
        Either::Right(
            self.next
                .call(req)
                .map_ok(ServiceResponse::map_into_left_body as fn(_) -> _),
        )
    }
}

/// Hold every request body to `server.body_timeout` / `body_min_bytes_per_second`
/// (`BodyPace`): a body that arrives slower is cut off, the request is answered 408 and the
/// connection closed, so a client trickling bytes cannot hold a connection. The outermost
/// middleware, so short links are covered too. A request without a body passes straight
/// through (two header lookups, no allocation).
pub struct PaceBodies(pub web::Data<AppState>);

pub struct PaceBodiesService<S> {
    next: S,
    st: web::Data<AppState>,
}

impl<S, B> Transform<S, ServiceRequest> for PaceBodies
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    S::Future: 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = PaceBodiesService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, next: S) -> Self::Future {
        ready(Ok(PaceBodiesService {
            next,
            st: self.0.clone(),
        }))
    }
}

type Passed<F, B> = MapOk<F, fn(ServiceResponse<B>) -> ServiceResponse<EitherBody<B>>>;

impl<S, B> Service<ServiceRequest> for PaceBodiesService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    S::Future: 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future =
        Either<Passed<S::Future, B>, LocalBoxFuture<'static, Result<Self::Response, Self::Error>>>;

    actix_web::dev::forward_ready!(next);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        if !has_body(req.headers()) {
            return Either::Left(
                self.next
                    .call(req)
                    .map_ok(ServiceResponse::map_into_left_body as fn(_) -> _),
            );
        }
        let pace = self.st.config.current().server.body_pace();
        let end = Rc::new(Cell::new(BodyEnd::Open));
        let inner = req.take_payload();
        req.set_payload(Payload::Stream {
            payload: Box::pin(Paced::new(inner, pace, Rc::clone(&end))),
        });
        // (Errors of handlers and extractors come back as responses.)
        let res = self.next.call(req);
        Either::Right(Box::pin(async move {
            let res = res.await?;
            let mut res = if end.get() == BodyEnd::TimedOut {
                let (request, _) = res.into_parts();
                tracing::info!(
                    method = %request.method(),
                    path = request.path(),
                    "request body too slow; answered 408 and closing the connection"
                );
                let e = ApiError::RequestTimeout(format!(
                    "the request body did not arrive in time (at least {} bytes a second after the first {} s)",
                    pace.min_bytes_per_second,
                    pace.timeout.as_secs()
                ));
                ServiceResponse::new(request, e.error_response()).map_into_right_body()
            } else {
                res.map_into_left_body()
            };
            // An unread (or cut-off) body would otherwise be drained for as long as the client
            // trickles it, before the connection could serve another request.
            if end.get() != BodyEnd::Done {
                res.response_mut()
                    .head_mut()
                    .set_connection_type(ConnectionType::Close);
            }
            Ok(res)
        }))
    }
}

/// Whether a request announces a body: `Transfer-Encoding`, or a `Content-Length` past 0.
fn has_body(headers: &header::HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BodyEnd {
    Open,
    Done,
    TimedOut,
}

/// A request body that fails once it falls behind its `BodyPace`. One timer per body, reset
/// only when it fires before the body has earned more time.
struct Paced {
    inner: Payload,
    pace: BodyPace,
    started: TimerInstant,
    received: u64,
    timer: Pin<Box<Sleep>>,
    end: Rc<Cell<BodyEnd>>,
}

impl Paced {
    fn new(inner: Payload, pace: BodyPace, end: Rc<Cell<BodyEnd>>) -> Self {
        let started = TimerInstant::now();
        Self {
            inner,
            pace,
            started,
            received: 0,
            timer: Box::pin(sleep_until(started + pace.timeout)),
            end,
        }
    }

    fn too_slow() -> PayloadError {
        PayloadError::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the request body arrived too slowly",
        ))
    }
}

impl Stream for Paced {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.end.get() == BodyEnd::TimedOut {
            return Poll::Ready(Some(Err(Self::too_slow())));
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                this.received += chunk.len() as u64;
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(None) => {
                this.end.set(BodyEnd::Done);
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Pending => loop {
                if this.timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                // The timer fired: the body may have earned more time since it was set.
                match this.started.checked_add(this.pace.allowed(this.received)) {
                    Some(deadline) if deadline > this.timer.deadline() => {
                        this.timer.as_mut().reset(deadline);
                    }
                    Some(_) => {
                        this.end.set(BodyEnd::TimedOut);
                        return Poll::Ready(Some(Err(Self::too_slow())));
                    }
                    // Beyond what the clock can hold: it never runs out.
                    None => return Poll::Pending,
                }
            },
        }
    }
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
