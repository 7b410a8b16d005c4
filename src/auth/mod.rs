//! Who is calling, and what may they touch. Every rule is an extractor: a handler's signature
//! states its permission and no handler checks by hand.
//!
//! - `Caller`: an API key or a signed-in user (the API's resources). A key must hold the
//!   permission its route needs (`permissions::ROUTES`) and be within its rate limit.
//! - `PresentedKey`: the key a request carries, identified even when it would be refused, with
//!   why (`GET /api/v1/keys/current` explains refusals).
//! - `SessionUser`: only a session (CSRF checked for unsafe methods).
//! - `PageUser`: a UI page's user; without a session the page answers 303 to sign-in.
//! - `PageAdmin`: a UI page for those whose role holds `Right::Team` (the Team page); others
//!   get a plain 403 page.
//! - `CsrfForm`: a signed-in user posting a plain HTML form that carries the CSRF token.
//! - `DocsReader`: whoever may read the API documentation (`docs.public`).
//! - `ClientIp`: the caller's address, after trusted proxies.
//! - `ClientDevice`: the caller's device in a few words (`User-Agent`), for its session.

mod client_ip;
pub mod invite;
pub mod permissions;
pub mod session;

use std::future::{ready, Future, Ready};
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use serde::Deserialize;

pub use self::client_ip::client_ip;
use self::session::{check_csrf, CsrfToken, SessionToken, COOKIE, CSRF_HEADER};
use crate::audit::{Actor, By};
use crate::config::Config;
use crate::domain::{now, Device, Permissions, Right, Role, Timestamp, Username};
use crate::error::{ApiError, AuthFailure};
use crate::keys::KeyFailure;
use crate::limiter::{FailureWait, Failures, Quota, RetryAfter};
use crate::state::AppState;
use crate::store::key_index::{DomainScope, KeyEntry, Rejection};
use crate::store::records::{DomainId, KeyId, KeyRecord};

/// A caller authenticated by an API key.
#[derive(Clone)]
pub struct KeyCaller {
    pub key: Arc<KeyEntry>,
    pub ip: IpAddr,
}

/// A signed-in user (session cookie).
#[derive(Clone, Debug)]
pub struct SessionUser {
    pub username: Username,
    /// Read with the session on every request, so a role change counts at once.
    pub role: Role,
    pub csrf_token: CsrfToken,
    pub session_digest: [u8; 32],
    /// The address the request came from (after trusted proxies), for the activity log.
    pub client_ip: Option<IpAddr>,
}

impl SessionUser {
    /// This user, from this request's address: who an activity-log entry names.
    pub fn by(&self) -> By {
        By::new(Actor::user(self.username.as_str()), self.client_ip)
    }

    /// Whose activity this user may read: `None` for everyone's (`Right::AuditAll`), else
    /// only entries whose actor is the user. The one place this is decided.
    pub fn activity_scope(&self) -> Option<String> {
        if self.role.may(Right::AuditAll) {
            None
        } else {
            Some(self.username.as_str().to_owned())
        }
    }
}

impl SessionUser {
    /// Whether this user may see and manage `key`: every key with `keys:all`, otherwise only
    /// the keys they created. The one rule of key ownership; the key handlers answer a key
    /// that fails it exactly like a missing one (404), so its existence is not revealed.
    pub fn may_manage_key(&self, key: &KeyRecord) -> bool {
        self.role.may(Right::KeysAll) || key.created_by.as_ref() == Some(&self.username)
    }

    /// A key never gets a permission its creator's role lacks: 403 naming the first such
    /// permission and the role.
    pub fn may_grant(&self, wanted: Permissions) -> Result<(), ApiError> {
        match self.role.lacks_any(wanted) {
            None => Ok(()),
            Some(p) => Err(ApiError::Forbidden(format!(
                "your role ({}) cannot give an API key the permission {p} ({}); leave it out, or ask an admin",
                self.role,
                p.describe()
            ))),
        }
    }
}

/// Either kind of caller, for the resources both may use.
#[derive(Clone)]
pub enum Caller {
    Key(KeyCaller),
    User(SessionUser),
}

/// Put in the request's extensions by key authentication, so the response middleware can
/// record the key's use with the final status and state its rate limit
/// (`permissions::rate_limit_headers`) on whatever answer the request gets.
#[derive(Clone, Copy, Debug)]
pub struct KeyUse {
    pub key: KeyId,
    pub ip: IpAddr,
    /// The key's rate-limit state after this request; `None` for a key without a limit.
    pub quota: Option<Quota>,
    /// When the key was judged: the time its use is recorded at (one clock read a request).
    pub at: Timestamp,
    /// Whether the key passed verification; `false`: refused at the gate (revoked, expired,
    /// rotated, disabled, or the address outside its IP rule), counted only as refused.
    pub verified: bool,
}

const ALL: DomainScope = DomainScope::All;

impl Caller {
    /// Who an activity-log entry names: the user, or the key by id and display prefix.
    pub fn by(&self) -> By {
        match self {
            Self::Key(k) => By::new(Actor::key(k.key.id, &k.key.prefix), Some(k.ip)),
            Self::User(u) => u.by(),
        }
    }

    pub fn scope(&self) -> &DomainScope {
        match self {
            Self::Key(k) => &k.key.scope,
            Self::User(_) => &ALL,
        }
    }

    /// Reading something on `domain`: out of scope looks exactly like absent (404).
    pub fn may_read(&self, domain: DomainId, what: &'static str) -> Result<(), ApiError> {
        if self.scope().allows(domain) {
            Ok(())
        } else {
            Err(ApiError::NotFound(what))
        }
    }

    /// Creating or moving something onto `domain`: out of scope answers exactly what a domain
    /// that does not exist answers (404), so a scoped key cannot probe which hostnames exist.
    pub fn may_write_to(&self, domain: DomainId) -> Result<(), ApiError> {
        self.may_read(domain, "domain")
    }

    /// Creating, renaming or deleting domains needs an unscoped caller.
    pub fn may_manage_domains(&self) -> Result<(), ApiError> {
        if self.scope().is_all() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "an API key scoped to domains cannot change domains".into(),
            ))
        }
    }
}

fn state(req: &HttpRequest) -> Result<&web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::internal("AppState is not registered"))
}

fn request_ip(req: &HttpRequest, st: &AppState) -> Result<IpAddr, ApiError> {
    client_ip(req, &st.config.current())
        .ok_or_else(|| ApiError::Forbidden("client address unknown".into()))
}

/// The key of an `Authorization` header: `Bearer <key>`, or a 401 that says what is wrong.
fn bearer<'a>(st: &AppState, value: &'a header::HeaderValue) -> Result<&'a str, ApiError> {
    bearer_key(value).map_err(|why| {
        st.metrics.auth_failure(why.label());
        ApiError::Unauthenticated(why)
    })
}

/// `Bearer <key>`'s key, or why the header is not one; counts nothing.
fn bearer_key(value: &header::HeaderValue) -> Result<&str, AuthFailure> {
    // The usual `Bearer <key>`, read as bytes: the key's own check (`keys::check_format`)
    // refuses any byte that `to_str` would have, with the same answer, so the header is not
    // scanned twice.
    if let Some(rest) = value
        .as_bytes()
        .split_at_checked(7)
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case(b"bearer "))
        .map(|(_, rest)| rest.trim_ascii())
    {
        return std::str::from_utf8(rest).map_err(|_| AuthFailure::Key(KeyFailure::Malformed));
    }
    match value.to_str().ok().and_then(|v| v.split_once(' ')) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => Ok(rest.trim()),
        Some(_) => Err(AuthFailure::NotBearer),
        None if value.to_str().is_ok() => Err(AuthFailure::NotBearer),
        None => Err(AuthFailure::Key(KeyFailure::Malformed)),
    }
}

/// A key refused for what it is (malformed, unknown, revoked, expired, rotated). A malformed
/// key (bad shape or checksum, detectable offline) is a cheap 401 that is neither counted nor
/// logged; the other failures are logged and count against the caller's address, and past the
/// limit they get 429 (logged once, when the limit is reached).
fn key_refused(
    st: &AppState,
    config: &Config,
    ip: IpAddr,
    why: KeyFailure,
    key: Option<&KeyEntry>,
) -> ApiError {
    if !why.is_offline() {
        let limit = config.keys.max_failed_auth_per_minute;
        let source = config.keys.failure_source(ip);
        // Several nodes: this node may fail a source only its share of the limit. Counted
        // only for a failure the local limit lets through, so its 429s spend no shared budget.
        let at = crate::clock::unix_secs();
        let shared = |counted: Failures| {
            if !st.store.is_shared() {
                return counted;
            }
            match st
                .store
                .failures
                .fail(crate::store::source_id(&source), limit, at)
            {
                Ok(()) => counted,
                Err(FailureWait::Minute) => {
                    Failures::Over(RetryAfter(60 - at.rem_euclid(60).unsigned_abs()))
                }
                // A moment's wait for the sync is no failure spent: the local count goes back,
                // or a fast client would use up its limit here on these 429s.
                Err(FailureWait::Sync) => {
                    st.key_failures.forgive(source);
                    Failures::Over(RetryAfter(1))
                }
            }
        };
        let counted = match st.key_failures.fail(source, limit) {
            within @ (Failures::Within | Failures::Reached(_)) => shared(within),
            other => other,
        };
        match counted {
            Failures::Over(retry) => {
                st.metrics.auth_failure("rate_limited");
                return ApiError::TooManyRequests {
                    retry_after_secs: retry.0,
                };
            }
            Failures::Reached(retry) => {
                log_key_refusal(ip, why, key);
                tracing::warn!(client = %ip, counted_as = %source, limit, retry_after_secs = retry.0,
                    "failed API key checks reached the limit; further ones get 429");
            }
            Failures::Within => log_key_refusal(ip, why, key),
        }
    }
    st.metrics.auth_failure(why.label());
    ApiError::Unauthenticated(why.into())
}

/// The security log of a refused key: the client, the key's id and display prefix when it
/// is known, never what was presented.
fn log_key_refusal(ip: IpAddr, why: KeyFailure, key: Option<&KeyEntry>) {
    let reason = why.label();
    match (key, why) {
        (None, _) => {
            tracing::warn!(client = %ip, reason, "API key refused: not a key of this server")
        }
        (Some(k), KeyFailure::Revoked) => {
            tracing::warn!(client = %ip, key_id = k.id, key_prefix = %k.prefix, reason, "API key refused: revoked")
        }
        (Some(k), _) => {
            tracing::info!(client = %ip, key_id = k.id, key_prefix = %k.prefix, reason, "API key refused: {reason}")
        }
    }
}

/// A known key refused before it could be used: its usage counts the request as refused and
/// its request log shows it (the middleware records it with the final status).
fn refused_at_gate(req: &HttpRequest, key: KeyId, ip: IpAddr, at: Timestamp) {
    req.extensions_mut().insert(KeyUse {
        key,
        ip,
        quota: None,
        at,
        verified: false,
    });
}

fn ip_refused(ip: IpAddr) -> ApiError {
    ApiError::Forbidden(format!(
        "requests from {ip} are not allowed for this API key (IP whitelist)"
    ))
}

/// Judge the presented key: valid (format, index, status, expiry, rotation, IP rule), then
/// counted against its rate limit. A valid, permitted key never touches the failure limiter.
/// The permission its route needs is checked by `Caller` (`permissions::check`).
fn authenticate_key(
    req: &HttpRequest,
    st: &AppState,
    value: &header::HeaderValue,
) -> Result<KeyCaller, ApiError> {
    // On PostgreSQL a key may have been revoked on another node: past a few seconds without
    // word from the database this node cannot vouch for any key (redirects go on).
    let silent = st.store.database_silent_for();
    if silent > crate::store::SILENCE_LIMIT {
        return Err(ApiError::Unavailable(format!(
            "this node has not heard from the database for {} s, so it cannot tell whether a key was revoked meanwhile; retry shortly",
            silent.as_secs()
        )));
    }
    let config = st.config.current();
    let ip = request_ip(req, st)?;
    let presented = bearer(st, value)?;
    let now = now();
    let key = match st
        .store
        .keys
        .verify(presented, &config.keys.prefix, ip, now)
    {
        Ok(key) => key,
        Err(Rejection::Key(why)) => return Err(key_refused(st, &config, ip, why, None)),
        Err(Rejection::Unusable(key, why)) => {
            refused_at_gate(req, key.id, ip, now);
            return Err(key_refused(st, &config, ip, why, Some(&key)));
        }
        Err(Rejection::Ip(key)) => {
            refused_at_gate(req, key.id, ip, now);
            st.metrics.auth_failure("ip");
            tracing::warn!(client = %ip, key_id = key.id, key_prefix = %key.prefix,
                "API key refused: client address outside the key's IP whitelist");
            return Err(ip_refused(ip));
        }
    };
    let (key_use, caller) = admit(key, ip, now);
    req.extensions_mut().insert(key_use);
    caller
}

/// Count a valid key's request against its rate limit: the caller, or 429 when the limit is
/// spent, with the key's use to record either way (the response's middleware records it
/// with the final status and states the limit, `permissions::rate_limit_headers`).
pub fn admit(
    key: Arc<KeyEntry>,
    ip: IpAddr,
    now: Timestamp,
) -> (KeyUse, Result<KeyCaller, ApiError>) {
    let taken = key.take_request(now);
    let quota = match taken {
        Ok(q) => q,
        Err(q) => Some(q),
    };
    let key_use = KeyUse {
        key: key.id,
        ip,
        quota,
        at: now,
        verified: true,
    };
    // No auth-failure metric here: its counter sits behind a lock, and a key over its limit
    // must not buy one per request (its 429s show in the requests by route and status).
    let caller = match taken {
        Err(q) => Err(ApiError::KeyRateLimited {
            limit: q.limit,
            retry_after_secs: q.reset_secs,
        }),
        Ok(_) => Ok(KeyCaller { key, ip }),
    };
    (key_use, caller)
}

/// A key that passes every check of a key on `route` (`GET` of that pattern) with nothing to
/// count or log: valid, usable, from an allowed address, holding the route's permission.
/// `None` for anything else, which the caller sends the usual way to be judged again and
/// answered (the keyed read's fast path, `api::links::keyed_read`). Nothing is counted here.
pub fn clean_key(
    req: &HttpRequest,
    st: &AppState,
    route: &str,
) -> Option<(Arc<KeyEntry>, IpAddr, Timestamp)> {
    if st.store.database_silent_for() > crate::store::SILENCE_LIMIT {
        return None;
    }
    let presented = bearer_key(req.headers().get(header::AUTHORIZATION)?).ok()?;
    let config = st.config.current();
    let ip = client_ip(req, &config)?;
    let now = now();
    let key = st
        .store
        .keys
        .verify(presented, &config.keys.prefix, ip, now)
        .ok()?;
    permissions::check_key(req.method(), route, req.path(), &key).ok()?;
    Some((key, ip, now))
}

/// The session of the request's cookie, if it has one. Unsafe methods must also carry the
/// CSRF token in `X-CSRF-Token`.
fn authenticate_session(req: &HttpRequest, st: &AppState) -> Result<Option<SessionUser>, ApiError> {
    let user = session_of(req, st)?;
    if let Some(user) = &user {
        if !req.method().is_safe() {
            let sent = req
                .headers()
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            check_csrf(sent, &user.csrf_token)?;
        }
    }
    Ok(user)
}

/// The only place that reads the session cookie.
fn session_of(req: &HttpRequest, st: &AppState) -> Result<Option<SessionUser>, ApiError> {
    let Some(cookie) = req.cookie(COOKIE) else {
        return Ok(None);
    };
    let token = SessionToken::from_cookie(cookie.value())
        .ok_or(ApiError::Unauthenticated(AuthFailure::SessionInvalid))?;
    // A session is read from the database: when it has been silent for seconds, refuse at
    // once rather than hold an actix worker (and the redirects queued on it) waiting.
    if st.store.database_silent_for() > crate::store::SILENCE_LIMIT {
        return Err(ApiError::Unavailable(
            "this node cannot reach the database; retry shortly".into(),
        ));
    }
    let digest = token.digest();
    let at = now();
    let (rec, user) = st
        .store
        .live_session(&digest, at)?
        .ok_or(ApiError::Unauthenticated(AuthFailure::SessionInvalid))?;
    // Last seen moves at most once a minute, through the batched writer: a compare on the
    // record this request read anyway, never a write transaction on the request path.
    if at.unix() - rec.last_seen().unix() >= session::LAST_SEEN_EVERY_SECS {
        st.events
            .send(crate::store::writer::Event::SessionSeen { digest, at });
    }
    // A removed user's sessions end on their next request, whatever is left in the table.
    let user = user.ok_or(ApiError::Unauthenticated(AuthFailure::SessionInvalid))?;
    Ok(Some(SessionUser {
        role: user.role,
        username: rec.username,
        csrf_token: CsrfToken::of(&token),
        session_digest: digest,
        client_ip: client_ip(req, &st.config.current()),
    }))
}

/// A request that carries `Authorization` is judged by that key alone; otherwise the session.
fn authenticate(req: &HttpRequest) -> Result<Caller, ApiError> {
    let st = state(req)?;
    if let Some(v) = req.headers().get(header::AUTHORIZATION) {
        return authenticate_key(req, st, v).map(Caller::Key);
    }
    match authenticate_session(req, st)? {
        Some(user) => Ok(Caller::User(user)),
        None => Err(ApiError::Unauthenticated(AuthFailure::Missing)),
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).and_then(|caller| {
            match &caller {
                Self::Key(k) => permissions::check(req, &k.key)?,
                Self::User(u) => permissions::check_session(req, u.role)?,
            }
            Ok(caller)
        }))
    }
}

impl FromRequest for SessionUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match authenticate(req) {
            Ok(Caller::User(u)) => permissions::check_session(req, u.role).map(|()| u),
            Ok(Caller::Key(_)) => Err(ApiError::InsufficientScope {
                scope: None,
                detail: "this endpoint is for signed-in users; API keys cannot use it".into(),
            }),
            Err(e) => Err(e),
        })
    }
}

/// Why a known key would be refused here and now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// Revoked, expired or rotated (401).
    Key(KeyFailure),
    /// The client address is outside the key's IP rule (403).
    Ip(IpAddr),
    /// The key's rate limit is used up for this minute (429).
    RateLimit(Quota),
}

impl Denial {
    /// The error the key would get on another endpoint.
    pub fn error(self) -> ApiError {
        match self {
            Self::Key(why) => ApiError::Unauthenticated(why.into()),
            Self::Ip(ip) => ip_refused(ip),
            Self::RateLimit(q) => ApiError::KeyRateLimited {
                limit: q.limit,
                retry_after_secs: q.reset_secs,
            },
        }
    }

    /// A stable word for it: `revoked`, `expired`, `rotated`, `ip`, `rate_limit`.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Key(why) => why.label(),
            Self::Ip(_) => "ip",
            Self::RateLimit(_) => "rate_limit",
        }
    }
}

/// The key a request presents, identified whatever its status, for `GET /keys/current`: a key
/// that would be refused (revoked, expired, rotated, from an address outside its rule, out of
/// requests) is still described, with the reason. Only what cannot be identified is refused
/// here: no or a malformed key (401), an unknown key (401, counted like any failed attempt).
/// Asking does not count against the key's rate limit.
pub struct PresentedKey {
    pub key: Arc<KeyEntry>,
    /// The client address, as the server sees it (after trusted proxies).
    pub ip: IpAddr,
    pub ip_allowed: bool,
    pub quota: Option<Quota>,
    pub denial: Option<Denial>,
}

fn present(req: &HttpRequest) -> Result<PresentedKey, ApiError> {
    let st = state(req)?;
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::Unauthenticated(AuthFailure::Missing))?;
    let config = st.config.current();
    let ip = request_ip(req, st)?;
    let presented = bearer(st, value)?;
    let key = st
        .store
        .keys
        .identify(presented, &config.keys.prefix)
        .map_err(|why| key_refused(st, &config, ip, why, None))?;
    let now = now();
    let ip_allowed = key.ip.permits(ip);
    let quota = key.quota(now);
    let denial = match key.usable_at(now) {
        Err(why) => Some(Denial::Key(why)),
        Ok(()) if !ip_allowed => Some(Denial::Ip(ip)),
        Ok(()) => quota.filter(|q| q.remaining == 0).map(Denial::RateLimit),
    };
    if denial.is_none() {
        req.extensions_mut().insert(KeyUse {
            key: key.id,
            ip,
            quota,
            at: now,
            verified: true,
        });
    }
    Ok(PresentedKey {
        key,
        ip,
        ip_allowed,
        quota,
        denial,
    })
}

impl FromRequest for PresentedKey {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(present(req))
    }
}

/// The signed-in user of a UI page.
#[derive(Clone, Debug)]
pub struct PageUser(pub SessionUser);

/// A UI page's answer to a visitor without a session: 303 to sign-in, coming back afterwards.
#[derive(Debug)]
pub struct SignInRedirect {
    next: String,
}

impl SignInRedirect {
    fn to(req: &HttpRequest) -> Self {
        let next = req.uri().path_and_query().map_or("/ui/", |p| p.as_str());
        Self {
            next: url::form_urlencoded::byte_serialize(next.as_bytes()).collect(),
        }
    }
}

impl std::fmt::Display for SignInRedirect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sign in first")
    }
}

impl ResponseError for SignInRedirect {
    fn status_code(&self) -> StatusCode {
        StatusCode::SEE_OTHER
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/ui/login?next={}", self.next)))
            .finish()
    }
}

impl FromRequest for PageUser {
    type Error = SignInRedirect;
    type Future = Ready<Result<Self, SignInRedirect>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let user = state(req)
            .ok()
            .and_then(|st| session_of(req, st).ok().flatten());
        ready(user.map(PageUser).ok_or_else(|| SignInRedirect::to(req)))
    }
}

/// The signed-in user of a UI page that needs `Right::Team` (the Team page and its forms):
/// without a session, 303 to sign-in; with a role that lacks it, 403 (an HTML page under /ui).
#[derive(Clone, Debug)]
pub struct PageAdmin(pub SessionUser);

impl FromRequest for PageAdmin {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, actix_web::Error>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let user = state(req)
            .ok()
            .and_then(|st| session_of(req, st).ok().flatten());
        ready(match user {
            None => Err(SignInRedirect::to(req).into()),
            Some(u) if !u.role.may(Right::Team) => Err(ApiError::Forbidden(format!(
                "your role ({}) lacks {}, which this page needs ({}); ask an admin",
                u.role,
                Right::Team,
                Right::Team.describe()
            ))
            .into()),
            Some(u) => Ok(Self(u)),
        })
    }
}

/// The visitor of a UI page, signed in or not (the sign-in page itself).
pub struct MaybePageUser(pub Option<SessionUser>);

impl FromRequest for MaybePageUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self(
            state(req)
                .ok()
                .and_then(|st| session_of(req, st).ok().flatten()),
        )))
    }
}

#[derive(Deserialize)]
struct WithToken<T> {
    csrf_token: String,
    #[serde(flatten)]
    fields: T,
}

/// A signed-in user posting a plain HTML form (no script, so no header): the form's
/// `csrf_token` field is checked like the `X-CSRF-Token` header, and the other fields are `T`.
pub struct CsrfForm<T = ()>(pub SessionUser, pub T);

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;
    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = state(req).and_then(|st| session_of(req, st));
        let redirect = SignInRedirect::to(req);
        let form = web::Form::<WithToken<T>>::from_request(req, payload);
        Box::pin(async move {
            let user = match user {
                Ok(Some(u)) => u,
                _ => return Err(redirect.into()),
            };
            let form = form.await?.into_inner();
            check_csrf(&form.csrf_token, &user.csrf_token)?;
            Ok(Self(user, form.fields))
        })
    }
}

/// Whoever may read the API documentation: anyone when `docs.public`, otherwise a signed-in
/// user or a valid API key.
pub struct DocsReader;

impl FromRequest for DocsReader {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready((|| {
            if state(req)?.config.current().docs.public {
                return Ok(Self);
            }
            authenticate(req).map(|_| Self)
        })())
    }
}

/// A sign-in sent from one of linkdock's own pages, or from a client that sends no `Origin`
/// (scripts, curl). A browser page of another origin cannot sign a visitor in (login CSRF).
pub struct SameOrigin;

impl FromRequest for SameOrigin {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(origin) = req.headers().get(header::ORIGIN) else {
            return ready(Ok(Self));
        };
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        // Behind a proxy that rewrites Host, `server.public_url` names the origin instead.
        let public = state(req).ok().and_then(|st| {
            st.config
                .current()
                .server
                .public_url
                .as_ref()
                .map(|u| u.as_str().to_owned())
        });
        let same = origin
            .to_str()
            .ok()
            .and_then(|o| url::Url::parse(o).ok())
            .filter(|o| matches!(o.scheme(), "http" | "https"))
            .is_some_and(|o| {
                let authority = match (o.host_str(), o.port()) {
                    (Some(h), Some(p)) => format!("{h}:{p}"),
                    (Some(h), None) => h.to_owned(),
                    _ => return false,
                };
                authority.eq_ignore_ascii_case(host)
                    || public
                        .as_deref()
                        .is_some_and(|p| url::Url::parse(p).is_ok_and(|p| p.origin() == o.origin()))
            });
        ready(if same {
            Ok(Self)
        } else {
            Err(ApiError::Forbidden(
                "sign-in from a page of another site is refused".into(),
            ))
        })
    }
}

/// What the caller is, in a few words from its `User-Agent` (`domain::Device`); never fails.
pub struct ClientDevice(pub Device);

impl FromRequest for ClientDevice {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ua = req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        ready(Ok(Self(Device::from_user_agent(ua))))
    }
}

/// The caller's address, after trusted proxies.
pub struct ClientIp(pub IpAddr);

impl FromRequest for ClientIp {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(state(req).and_then(|st| request_ip(req, st)).map(Self))
    }
}
