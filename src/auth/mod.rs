//! Who is calling, and what may they touch. Every rule is an extractor: a handler's signature
//! states its permission (`Caller`, `SessionUser`, `KeyCaller`) and no handler checks by hand.

pub mod limiter;
pub mod password;
pub mod session;

use std::future::{ready, Ready};
use std::net::IpAddr;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

use self::session::{same_secret, SessionToken, COOKIE, CSRF_HEADER};
use crate::config::Config;
use crate::domain::{now, Username};
use crate::error::{ApiError, AuthFailure};
use crate::keys::index::DomainScope;
use crate::keys::index::Rejection;
use crate::keys::KeyEntry;
use crate::startup::AppState;
use crate::store::records::{DomainId, KeyId};

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
    pub csrf_token: String,
    pub session_digest: [u8; 32],
}

/// Either kind of caller, for the resources both may use.
#[derive(Clone)]
pub enum Caller {
    Key(KeyCaller),
    User(SessionUser),
}

/// Put in the request's extensions by key authentication, so the response middleware can
/// record the key's use with the final status.
#[derive(Clone, Copy, Debug)]
pub struct KeyUse {
    pub key: KeyId,
    pub ip: IpAddr,
}

const ALL: DomainScope = DomainScope::All;

impl Caller {
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

    /// Creating or moving something onto `domain`: out of scope is 403.
    pub fn may_write_to(&self, domain: DomainId) -> Result<(), ApiError> {
        if self.scope().allows(domain) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "this API key is not scoped to that domain".into(),
            ))
        }
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

/// The address the request came from: the socket peer, or — only when the peer is a trusted
/// proxy — the first untrusted address in `X-Forwarded-For` / `Forwarded`, read from the right.
pub fn client_ip(req: &HttpRequest, config: &Config) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip().to_canonical();
    let trusted = config.trusted_proxies();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|r| r.contains(ip));
    if trusted.is_empty() || !is_trusted(peer) {
        return Some(peer);
    }
    let mut hops: Vec<IpAddr> = Vec::new();
    for v in req.headers().get_all(header::FORWARDED) {
        for part in v.to_str().unwrap_or("").split([',', ';']) {
            let part = part.trim();
            if part.len() > 4 && part[..4].eq_ignore_ascii_case("for=") {
                if let Some(ip) = parse_forwarded_node(&part[4..]) {
                    hops.push(ip);
                }
            }
        }
    }
    if hops.is_empty() {
        for v in req.headers().get_all("x-forwarded-for") {
            for part in v.to_str().unwrap_or("").split(',') {
                if let Some(ip) = parse_forwarded_node(part.trim()) {
                    hops.push(ip);
                }
            }
        }
    }
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        client = hop.to_canonical();
        if !is_trusted(client) {
            break;
        }
    }
    Some(client)
}

/// `1.2.3.4`, `1.2.3.4:5678`, `"[2001:db8::1]:80"`, `2001:db8::1`.
fn parse_forwarded_node(raw: &str) -> Option<IpAddr> {
    let s = raw.trim().trim_matches('"');
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    s.rsplit_once(':').and_then(|(ip, _)| ip.parse().ok())
}

fn authenticate_key(
    req: &HttpRequest,
    st: &AppState,
    value: &header::HeaderValue,
) -> Result<KeyCaller, ApiError> {
    let config = st.config.current();
    let ip = client_ip(req, &config)
        .ok_or_else(|| ApiError::Forbidden("client address unknown".into()))?;
    st.limiter
        .check(ip, config.keys.max_failed_auth_per_minute)?;
    let fail = |why: AuthFailure| {
        st.limiter.record_failure(ip);
        st.metrics.auth_failure(why.label());
        ApiError::Unauthenticated(why)
    };
    let raw = value.to_str().map_err(|_| fail(AuthFailure::Malformed))?;
    let presented = match raw.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => return Err(fail(AuthFailure::NotBearer)),
    };
    let key = match st
        .store
        .keys
        .verify(presented, &config.keys.prefix, ip, now())
    {
        Ok(key) => key,
        Err(Rejection::Auth(why)) => return Err(fail(why)),
        Err(Rejection::Ip) => {
            st.metrics.auth_failure("ip");
            return Err(ApiError::Forbidden(format!(
                "requests from {ip} are not allowed for this API key (IP whitelist)"
            )));
        }
    };
    req.extensions_mut().insert(KeyUse { key: key.id, ip });
    Ok(KeyCaller { key, ip })
}

fn authenticate_session(req: &HttpRequest, st: &AppState) -> Result<Option<SessionUser>, ApiError> {
    let Some(cookie) = req.cookie(COOKIE) else {
        return Ok(None);
    };
    let token = SessionToken::from_cookie(cookie.value())
        .ok_or(ApiError::Unauthenticated(AuthFailure::SessionInvalid))?;
    let digest = token.digest();
    let rec = st
        .store
        .session(&digest)?
        .filter(|s| s.expires_at > now())
        .ok_or(ApiError::Unauthenticated(AuthFailure::SessionInvalid))?;
    let user = SessionUser {
        username: rec.username,
        csrf_token: token.csrf_token(),
        session_digest: digest,
    };
    if !req.method().is_safe() {
        let sent = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !same_secret(sent, &user.csrf_token) {
            return Err(ApiError::Forbidden(
                "missing or invalid X-CSRF-Token header (required with a session cookie)".into(),
            ));
        }
    }
    Ok(Some(user))
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
        ready(authenticate(req))
    }
}

impl FromRequest for SessionUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match authenticate(req) {
            Ok(Caller::User(u)) => Ok(u),
            Ok(Caller::Key(_)) => Err(ApiError::Forbidden(
                "this endpoint is for signed-in users; API keys cannot use it".into(),
            )),
            Err(e) => Err(e),
        })
    }
}

impl FromRequest for KeyCaller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready((|| {
            let st = state(req)?;
            let v = req
                .headers()
                .get(header::AUTHORIZATION)
                .ok_or(ApiError::Unauthenticated(AuthFailure::Missing))?;
            authenticate_key(req, st, v)
        })())
    }
}

/// The signed-in user of a UI page, if any: pages redirect to sign-in instead of answering 401.
pub fn page_user(req: &HttpRequest) -> Option<SessionUser> {
    let st = state(req).ok()?;
    authenticate_session(req, st).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_nodes_parse_in_their_usual_shapes() {
        for (raw, ip) in [
            ("1.2.3.4", "1.2.3.4"),
            ("1.2.3.4:5678", "1.2.3.4"),
            ("\"[2001:db8::1]:80\"", "2001:db8::1"),
            ("2001:db8::1", "2001:db8::1"),
        ] {
            assert_eq!(
                parse_forwarded_node(raw),
                Some(ip.parse().unwrap()),
                "{raw}"
            );
        }
        assert_eq!(parse_forwarded_node("unknown"), None);
    }
}
