//! Which permission each route needs of an API key: one table, read by the `Caller` extractor
//! on every key-authenticated request and by the documentation, which states each operation's
//! permission from it (`docs::permissions`). A route a key may call is listed here, or keys
//! are refused on it; a test holds this table and the OpenAPI document to the same routes.

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::HttpRequest;

use crate::domain::{Permission, Right, Role};
use crate::error::ApiError;
use crate::limiter::Quota;
use crate::metrics::RouteLabel;
use crate::store::KeyEntry;

/// What a route asks of a key beyond being valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Any valid key (a key may always ask about itself).
    AnyKey,
    One(Permission),
}

/// One row of the table: a method, a path as the router writes it (`{id}` for a segment).
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub needs: Needs,
}

const fn route(method: &'static str, path: &'static str, p: Permission) -> Route {
    Route {
        method,
        path,
        needs: Needs::One(p),
    }
}

/// Every route an API key may call, and what it needs.
pub const ROUTES: &[Route] = &[
    route("GET", "/api/v1/links", Permission::LinksRead),
    route("GET", "/api/v1/links/{id}", Permission::LinksRead),
    route("GET", "/api/v1/links/{id}/stats", Permission::LinksRead),
    route("POST", "/api/v1/links", Permission::LinksWrite),
    route("PUT", "/api/v1/links/{id}", Permission::LinksWrite),
    route("DELETE", "/api/v1/links/{id}", Permission::LinksWrite),
    route("POST", "/api/v1/links/import", Permission::LinksImport),
    route("GET", "/api/v1/links/export", Permission::LinksExport),
    route("GET", "/api/v1/domains", Permission::DomainsRead),
    route("GET", "/api/v1/domains/{id}", Permission::DomainsRead),
    route("POST", "/api/v1/domains", Permission::DomainsWrite),
    route("PUT", "/api/v1/domains/{id}", Permission::DomainsWrite),
    route("DELETE", "/api/v1/domains/{id}", Permission::DomainsWrite),
    Route {
        method: "GET",
        path: "/api/v1/keys/current",
        needs: Needs::AnyKey,
    },
];

/// The row for a route, by its pattern as the router matched it (`/api/v1/links/{id}`): the
/// router already chose between `/links/export` and `/links/{id}`, so this only looks it up.
pub fn route_of(method: &str, pattern: &str) -> Option<&'static Route> {
    ROUTES
        .iter()
        .find(|r| r.method == method && r.path == pattern)
}

/// Refuse a key that lacks what the request's route needs, naming the missing permission.
pub fn check(req: &HttpRequest, key: &KeyEntry) -> Result<(), ApiError> {
    // Every `/api/v1` resource carries its pattern as its route label (`api::resource!`).
    let pattern = req.app_data::<RouteLabel>().map_or("", |l| l.0);
    check_key(req.method(), pattern, req.path(), key)
}

/// `check` for a request of `method` on `path`, which matched the route `pattern`.
pub fn check_key(
    method: &Method,
    pattern: &str,
    path: &str,
    key: &KeyEntry,
) -> Result<(), ApiError> {
    match route_of(method.as_str(), pattern).map(|r| r.needs) {
        Some(Needs::AnyKey) => Ok(()),
        Some(Needs::One(p)) if key.permissions.contains(p) => Ok(()),
        Some(Needs::One(p)) => Err(ApiError::InsufficientScope {
            scope: Some(p),
            detail: format!(
                "this API key lacks the permission {p}, which {method} {} needs ({}); give the key {p} or use another key",
                crate::keys::redact_keys(path),
                p.describe()
            ),
        }),
        None => Err(ApiError::InsufficientScope {
            scope: None,
            detail: "API keys cannot use this endpoint".into(),
        }),
    }
}

/// What a signed-in user's role must allow on each route (`domain::Role::may`): one table,
/// read by the session extractors (`Caller`, `SessionUser`) and by the documentation. A route
/// not listed is refused to sessions unless it is one of [`OPEN_TO_SESSIONS`].
/// Ownership (a member's own keys) is judged after this, where the key is known.
pub const SESSION_ROUTES: &[(&str, &str, Right)] = &[
    ("GET", "/api/v1/links", Right::LinksRead),
    ("GET", "/api/v1/links/{id}", Right::LinksRead),
    ("GET", "/api/v1/links/{id}/stats", Right::LinksRead),
    ("POST", "/api/v1/links", Right::LinksWrite),
    ("PUT", "/api/v1/links/{id}", Right::LinksWrite),
    ("DELETE", "/api/v1/links/{id}", Right::LinksWrite),
    ("POST", "/api/v1/links/import", Right::LinksImport),
    ("GET", "/api/v1/links/export", Right::LinksExport),
    ("GET", "/api/v1/domains", Right::DomainsRead),
    ("GET", "/api/v1/domains/{id}", Right::DomainsRead),
    ("POST", "/api/v1/domains", Right::DomainsWrite),
    ("PUT", "/api/v1/domains/{id}", Right::DomainsWrite),
    ("DELETE", "/api/v1/domains/{id}", Right::DomainsWrite),
    ("GET", "/api/v1/api-keys", Right::KeysOwn),
    ("POST", "/api/v1/api-keys", Right::KeysOwn),
    ("GET", "/api/v1/api-keys/{id}", Right::KeysOwn),
    ("PUT", "/api/v1/api-keys/{id}", Right::KeysOwn),
    ("DELETE", "/api/v1/api-keys/{id}", Right::KeysOwn),
    ("POST", "/api/v1/api-keys/{id}/revoke", Right::KeysOwn),
    ("POST", "/api/v1/api-keys/{id}/roll", Right::KeysOwn),
    ("GET", "/api/v1/api-keys/{id}/requests", Right::KeysOwn),
    ("GET", "/api/v1/api-keys/{id}/usage", Right::KeysOwn),
    ("POST", "/api/v1/api-keys/{id}/disable", Right::KeysOwn),
    ("POST", "/api/v1/api-keys/{id}/enable", Right::KeysOwn),
    ("POST", "/api/v1/api-keys/check", Right::Playground),
    ("POST", "/api/v1/api-keys/batch", Right::KeysOwn),
    ("GET", "/api/v1/playground/history", Right::Playground),
    ("POST", "/api/v1/playground/history", Right::Playground),
    ("DELETE", "/api/v1/playground/history", Right::Playground),
    ("POST", "/api/v1/backup", Right::Backup),
    ("GET", "/api/v1/invites", Right::Team),
    ("POST", "/api/v1/invites", Right::Team),
    ("DELETE", "/api/v1/invites/{id}", Right::Team),
    ("GET", "/api/v1/users", Right::Team),
    ("GET", "/api/v1/users/{id}", Right::Team),
    ("PATCH", "/api/v1/users/{id}", Right::Team),
    ("DELETE", "/api/v1/users/{id}", Right::Team),
];

/// Routes open to anyone signed in, whatever their role: their own session, password and
/// account, their own activity (filtered by `SessionUser::activity_scope`), and
/// `keys/current` (which only a key can answer). Every other route must be in
/// [`SESSION_ROUTES`]: one forgotten there is refused to sessions, not opened to viewers.
pub const OPEN_TO_SESSIONS: &[&str] = &[
    "/api/v1/session",
    "/api/v1/session/password",
    "/api/v1/users/me",
    "/api/v1/users/me/sessions",
    "/api/v1/users/me/sessions/sign-out-others",
    "/api/v1/users/me/sessions/{id}",
    "/api/v1/audit",
    "/api/v1/keys/current",
];

/// The right a session needs for a route, by the pattern the router matched.
pub fn session_right_of(method: &str, pattern: &str) -> Option<Right> {
    SESSION_ROUTES
        .iter()
        .find(|(m, p, _)| *m == method && *p == pattern)
        .map(|(_, _, r)| *r)
}

/// Refuse a signed-in user whose role lacks what the request's route needs, naming the right.
pub fn check_session(req: &HttpRequest, role: Role) -> Result<(), ApiError> {
    let pattern = req.app_data::<RouteLabel>().map_or("", |l| l.0);
    match session_right_of(req.method().as_str(), pattern) {
        Some(right) if !role.may(right) => Err(ApiError::Forbidden(format!(
            "your role ({role}) lacks {right}, which {} {} needs ({}); ask an admin for another role",
            req.method(),
            crate::keys::redact_keys(req.path()),
            right.describe()
        ))),
        Some(_) => Ok(()),
        None if OPEN_TO_SESSIONS.contains(&pattern) => Ok(()),
        None => Err(ApiError::Forbidden(format!(
            "{} {} is not open to signed-in users",
            req.method(),
            crate::keys::redact_keys(req.path()),
        ))),
    }
}

/// `RateLimit-Policy` and `RateLimit`, as in draft-ietf-httpapi-ratelimit-headers-07 (the
/// revision with the two fields `RateLimit-Policy: 60;w=60` and
/// `RateLimit: limit=60, remaining=12, reset=34`; later revisions renamed the parameters).
/// Only keys with a limit carry them: a key without one has no quota to announce.
pub fn rate_limit_headers(headers: &mut HeaderMap, q: Quota) {
    // Numbers written with itoa into a stack buffer, names made once: on a key with a limit
    // this runs on every request, and `format_args!` with names parsed each time showed in the
    // keyed read's profile. `from_bytes` makes each value's one allocation, of its own size.
    static POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
    static STATE: HeaderName = HeaderName::from_static("ratelimit");
    let mut n = itoa::Buffer::new();
    let mut line = Line::default();
    line.push(n.format(q.limit).as_bytes());
    line.push(b";w=60");
    if let Some(v) = line.value() {
        headers.insert(POLICY.clone(), v);
    }
    let mut line = Line::default();
    line.push(b"limit=");
    line.push(n.format(q.limit).as_bytes());
    line.push(b", remaining=");
    line.push(n.format(q.remaining).as_bytes());
    line.push(b", reset=");
    line.push(n.format(q.reset_secs).as_bytes());
    if let Some(v) = line.value() {
        headers.insert(STATE.clone(), v);
    }
}

/// A header value being written, on the stack: the longest, `RateLimit` with a `u32`, a
/// `u32` and a `u64`, is 66 bytes. One that would not fit is left out, never cut.
struct Line {
    bytes: [u8; 96],
    len: usize,
    overflowed: bool,
}

impl Default for Line {
    fn default() -> Self {
        Self {
            bytes: [0; 96],
            len: 0,
            overflowed: false,
        }
    }
}

impl Line {
    fn push(&mut self, part: &[u8]) {
        match self.bytes.get_mut(self.len..self.len + part.len()) {
            Some(room) => {
                room.copy_from_slice(part);
                self.len += part.len();
            }
            None => self.overflowed = true,
        }
    }

    fn value(&self) -> Option<HeaderValue> {
        if self.overflowed {
            return None;
        }
        HeaderValue::from_bytes(&self.bytes[..self.len]).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_headers_say_the_quota_and_a_line_too_long_is_left_out_not_cut() {
        let mut headers = HeaderMap::new();
        let q = Quota {
            limit: u32::MAX,
            remaining: u32::MAX,
            reset_secs: u64::MAX,
        };
        rate_limit_headers(&mut headers, q);
        assert_eq!(
            headers.get("ratelimit").unwrap(),
            "limit=4294967295, remaining=4294967295, reset=18446744073709551615"
        );
        assert_eq!(headers.get("ratelimit-policy").unwrap(), "4294967295;w=60");
        let mut line = Line::default();
        line.push(&[b'9'; 90]);
        line.push(b"0123456789");
        assert!(line.value().is_none());
    }

    #[test]
    fn a_route_is_found_by_the_pattern_the_router_matched() {
        let needs = |m, p| route_of(m, p).map(|r| r.needs);
        assert_eq!(
            needs("GET", "/api/v1/links/export"),
            Some(Needs::One(Permission::LinksExport))
        );
        assert_eq!(
            needs("GET", "/api/v1/links/{id}"),
            Some(Needs::One(Permission::LinksRead))
        );
        assert_eq!(
            needs("POST", "/api/v1/links/import"),
            Some(Needs::One(Permission::LinksImport))
        );
        assert_eq!(
            needs("DELETE", "/api/v1/domains/{id}"),
            Some(Needs::One(Permission::DomainsWrite))
        );
        assert_eq!(needs("GET", "/api/v1/keys/current"), Some(Needs::AnyKey));
        assert_eq!(needs("GET", "/api/v1/api-keys"), None);
        assert_eq!(needs("GET", "/api/v1/links/"), None);
        assert_eq!(needs("PATCH", "/api/v1/links/{id}"), None);
    }

    #[test]
    fn every_permission_guards_some_route() {
        for p in Permission::ALL {
            assert!(
                ROUTES.iter().any(|r| r.needs == Needs::One(p)),
                "{p} guards nothing"
            );
        }
    }

    #[test]
    fn the_headers_follow_the_draft() {
        let mut h = HeaderMap::new();
        rate_limit_headers(
            &mut h,
            Quota {
                limit: 60,
                remaining: 12,
                reset_secs: 34,
            },
        );
        assert_eq!(h.get("ratelimit-policy").unwrap(), "60;w=60");
        assert_eq!(
            h.get("ratelimit").unwrap(),
            "limit=60, remaining=12, reset=34"
        );
    }

    #[test]
    fn every_session_route_is_a_route_and_admins_may_use_them_all() {
        for (m, p, r) in SESSION_ROUTES {
            assert!(Role::Admin.may(*r), "{m} {p}");
            assert!(p.starts_with("/api/v1/"), "{p}");
        }
        assert_eq!(
            session_right_of("POST", "/api/v1/links"),
            Some(Right::LinksWrite)
        );
        assert_eq!(session_right_of("GET", "/api/v1/session"), None);
        // Open to everyone signed in: `SessionUser::activity_scope` limits what each sees.
        assert_eq!(session_right_of("GET", "/api/v1/audit"), None);
        assert!(!Role::Viewer.may(session_right_of("POST", "/api/v1/api-keys").unwrap()));
    }

    #[test]
    fn a_route_in_neither_list_is_refused_to_every_session() {
        let req = |pattern: &'static str| {
            actix_web::test::TestRequest::post()
                .uri("/api/v1/anything")
                .app_data(RouteLabel(pattern))
                .to_http_request()
        };
        assert!(check_session(
            &req("/api/v1/users/me/sessions/sign-out-others"),
            Role::Viewer
        )
        .is_ok());
        assert!(check_session(&req("/api/v1/links"), Role::Member).is_ok());
        let forgotten = check_session(&req("/api/v1/forgotten"), Role::Admin).unwrap_err();
        assert!(
            forgotten.detail().contains("not open to signed-in users"),
            "{forgotten:?}"
        );
        for p in OPEN_TO_SESSIONS {
            assert!(
                SESSION_ROUTES.iter().all(|(_, r, _)| r != p),
                "{p} is in both lists"
            );
        }
    }
}
