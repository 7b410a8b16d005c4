//! The one error type of the HTTP surface, rendered as RFC 9457 problem+json.
//!
//! Handlers return `Result<_, ApiError>`; everything below them (domain parsing, store) converts
//! into it with `?`. Internal errors are logged with the request's span and never leak details.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{DomainError, Permission};
use crate::keys::KeyFailure;
use crate::store::StoreError;

/// Why a request could not be authenticated. The text says which, never echoing the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    Missing,
    NotBearer,
    Key(KeyFailure),
    SessionInvalid,
    BadCredentials,
}

impl AuthFailure {
    /// Stable label, used in metrics and in the problem `type`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::NotBearer => "not_bearer",
            Self::Key(k) => k.label(),
            Self::SessionInvalid => "session",
            Self::BadCredentials => "credentials",
        }
    }

    fn detail(self) -> Cow<'static, str> {
        match self {
            Self::Missing => {
                "no credentials: send an API key in the header Authorization: Bearer, or sign in"
                    .into()
            }
            Self::NotBearer => "the Authorization header must use the Bearer scheme".into(),
            Self::Key(k) => k.detail(),
            Self::SessionInvalid => {
                "the session has expired or was signed out; sign in again".into()
            }
            Self::BadCredentials => "wrong username or password".into(),
        }
    }
}

/// One kind of problem the API answers: its `type` is `<base>/docs/errors/<slug>`, and that
/// address opens a page (`docs::errors`) with this text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemType {
    pub slug: &'static str,
    pub status: u16,
    pub title: &'static str,
    /// What happened, in a sentence or two.
    pub meaning: &'static str,
    /// What the caller can do about it.
    pub remedy: &'static str,
}

/// Every problem `type` the API can emit: each `ApiError` variant's slug, one per way
/// authentication fails, and the generic `error` for a framework status with nothing richer.
pub const PROBLEM_TYPES: &[ProblemType] = &[
    ProblemType { slug: "validation", status: 400, title: "Invalid field",
        meaning: "One or more fields of the request are not valid. `errors` lists each field (a JSON path, or `body`) with a sentence saying what it must be.",
        remedy: "Correct the fields named in `errors` and send the request again." },
    ProblemType { slug: "bad-request", status: 400, title: "Unreadable request",
        meaning: "The request could not be read at all: malformed JSON, a wrong type, an unknown field, or a query or path parameter that does not parse.",
        remedy: "Check the request against the OpenAPI document (`/api/openapi.json`); `detail` names what could not be read." },
    ProblemType { slug: "unauthenticated/missing", status: 401, title: "No credentials",
        meaning: "The request carried neither an API key nor a session.",
        remedy: "Send an API key in the header `Authorization: Bearer <key>`, or sign in (`POST /api/v1/session`) and send the session cookie." },
    ProblemType { slug: "unauthenticated/not_bearer", status: 401, title: "Not a Bearer credential",
        meaning: "The `Authorization` header uses a scheme other than `Bearer`.",
        remedy: "Send the key as `Authorization: Bearer <key>`." },
    ProblemType { slug: "unauthenticated/malformed", status: 401, title: "Malformed API key",
        meaning: "The API key does not have the shape of a linkdock key: a prefix, `_`, then 50 letters and digits.",
        remedy: "Copy the whole key again; it was shown once, when it was created or rolled. A lost key cannot be recovered: create a new one." },
    ProblemType { slug: "unauthenticated/checksum", status: 401, title: "API key checksum mismatch",
        meaning: "The key's last six characters (a checksum) do not match the rest: the key was mistyped or truncated.",
        remedy: "Copy the whole key again, without extra or missing characters." },
    ProblemType { slug: "unauthenticated/unknown", status: 401, title: "Unknown API key",
        meaning: "The key is well formed but this server does not know it: it was deleted, or it belongs to another linkdock.",
        remedy: "Check that the key is meant for this server, or create a new key under Integrations → API Keys." },
    ProblemType { slug: "unauthenticated/revoked", status: 401, title: "Revoked API key",
        meaning: "The key has been revoked; it stopped working at once.",
        remedy: "Ask an administrator for a new key." },
    ProblemType { slug: "unauthenticated/expired", status: 401, title: "Expired API key",
        meaning: "The key passed its expiry time.",
        remedy: "Create or ask for a new key; a key's expiry can be extended while it is still active." },
    ProblemType { slug: "unauthenticated/rotated", status: 401, title: "Rotated API key",
        meaning: "The key was rolled: a new key replaced it, and the grace period in which both worked has ended.",
        remedy: "Use the new key that the roll returned." },
    ProblemType { slug: "unauthenticated/disabled", status: 401, title: "Disabled API key",
        meaning: "The key was disabled by someone who manages it; unlike a revoked key it can be enabled again.",
        remedy: "Ask whoever manages the key to enable it (`POST /api/v1/api-keys/{id}/enable`), or use another key." },
    ProblemType { slug: "unauthenticated/session", status: 401, title: "Session ended",
        meaning: "The session cookie belongs to a session that has expired or was signed out.",
        remedy: "Sign in again." },
    ProblemType { slug: "unauthenticated/credentials", status: 401, title: "Wrong username or password",
        meaning: "Sign-in failed. The answer is the same for an unknown user and a wrong password.",
        remedy: "Check the username and password. Too many failures from one address are refused for a while (429)." },
    ProblemType { slug: "forbidden", status: 403, title: "Forbidden",
        meaning: "The caller is known but may not do this: the key lacks the permission (named in `detail`), the client address is outside the key's IP rule, the key is scoped to other domains, or an unsafe request with a session lacks its `X-CSRF-Token` header.",
        remedy: "Use a key with the permission, scope or IP rule this needs (see `GET /api/v1/keys/current`), or send the CSRF token from the sign-in answer." },
    ProblemType { slug: "not-found", status: 404, title: "Not found",
        meaning: "There is no such resource, or it is outside the key's domain scope (its existence is not revealed).",
        remedy: "Check the id or path; list the resources to find the right one." },
    ProblemType { slug: "method-not-allowed", status: 405, title: "Method not allowed",
        meaning: "The resource exists but does not take this HTTP method.",
        remedy: "Use one of the methods in the `Allow` header." },
    ProblemType { slug: "conflict", status: 409, title: "Conflict",
        meaning: "The request clashes with the current state: a taken slug or host name, a domain that still has links, or a resource declared in the configuration file (read-only through the API).",
        remedy: "Read `detail`, change the request (another slug, `?force=true`), or edit the configuration file instead." },
    ProblemType { slug: "payload-too-large", status: 413, title: "Payload too large",
        meaning: "The request body is larger than the server accepts (JSON bodies, or `import.max_bytes` for CSV imports).",
        remedy: "Send a smaller body; split a large import into several files." },
    ProblemType { slug: "unsupported-media-type", status: 415, title: "Unsupported media type",
        meaning: "The body's `Content-Type` is not one this operation reads.",
        remedy: "Send `application/json` (or `multipart/form-data` for imports)." },
    ProblemType { slug: "rate-limited", status: 429, title: "Too many failed attempts",
        meaning: "Too many failed authentication attempts came from this address; further failing attempts are refused for a while. A valid key still passes.",
        remedy: "Fix the credentials, then wait the number of seconds in `Retry-After`." },
    ProblemType { slug: "key-rate-limit", status: 429, title: "API key rate limit reached",
        meaning: "This API key's requests-per-minute limit is used up for the current minute.",
        remedy: "Wait the number of seconds in `Retry-After`; the `RateLimit` header shows the remaining quota." },
    ProblemType { slug: "unavailable", status: 503, title: "Unavailable",
        meaning: "The server is shutting down or not ready.",
        remedy: "Retry in a moment." },
    ProblemType { slug: "internal", status: 500, title: "Internal error",
        meaning: "Something failed on the server. The details were logged there, never sent.",
        remedy: "Retry; if it persists, give the administrator the response's `X-Request-ID`." },
    ProblemType { slug: "error", status: 400, title: "Error",
        meaning: "A status without a more specific type; `status` and `detail` say what happened.",
        remedy: "Read `detail`." },
];

/// The absolute base of problem `type`s: the configured `public_url`, else the bound address,
/// published by `startup` at start and after each reload. A process-wide value so that errors
/// made anywhere (extractors, handlers, routing) need no request to name their type.
static PROBLEM_BASE: arc_swap::ArcSwapOption<String> = arc_swap::ArcSwapOption::const_empty();

pub fn set_problem_base(base: &str) {
    PROBLEM_BASE.store(Some(Arc::new(base.trim_end_matches('/').to_owned())));
}

/// The URL people are told to open, without a trailing slash (`public_url`, else the bound
/// address): the base of problem types and of the links the API hands out (invites).
pub fn public_base() -> String {
    let base = PROBLEM_BASE.load();
    base.as_deref()
        .map_or("http://localhost", String::as_str)
        .to_owned()
}

/// `<base>/docs/errors/<slug>`: an address that opens the page describing the problem.
pub fn problem_type_url(slug: &str) -> String {
    let base = PROBLEM_BASE.load();
    let base = base.as_deref().map_or("http://localhost", String::as_str);
    format!("{base}/docs/errors/{slug}")
}

impl From<KeyFailure> for AuthFailure {
    fn from(k: KeyFailure) -> Self {
        Self::Key(k)
    }
}

/// One field-level validation failure, as listed in a problem's `errors`.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// The field (JSON path, `body` when the whole document is at fault).
    pub field: String,
    pub message: String,
}

#[derive(Debug)]
pub enum ApiError {
    /// 400 with a list of field errors.
    Invalid(Vec<FieldError>),
    /// 400 for input that could not be read at all.
    BadRequest(String),
    Unauthenticated(AuthFailure),
    Forbidden(String),
    /// 403 for an API key that lacks what the route needs: the permission, or `None` where no
    /// key may go. Answers RFC 6750's `insufficient_scope` challenge.
    InsufficientScope {
        scope: Option<Permission>,
        detail: String,
    },
    NotFound(&'static str),
    MethodNotAllowed,
    Conflict(String),
    PayloadTooLarge(String),
    /// 408: the request body arrived too slowly (`server.body_timeout`).
    RequestTimeout(String),
    UnsupportedMediaType(String),
    /// Too many failed attempts from one address.
    TooManyRequests {
        retry_after_secs: u64,
    },
    /// An API key's own rate limit is used up for this minute.
    KeyRateLimited {
        limit: u32,
        retry_after_secs: u64,
    },
    /// 429: as much of some bounded work (imports) is running as the server allows, and none
    /// finished within the wait. `what` says which, as a sentence.
    Busy {
        what: &'static str,
        retry_after_secs: u64,
    },
    /// 503: the server is shutting down or a dependency is not ready.
    Unavailable(String),
    /// 500: logged in full, answered without details.
    Internal(String),
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    pub fn internal(context: impl fmt::Display) -> Self {
        Self::Internal(context.to_string())
    }

    /// A failed `web::block`: the pool is gone, which only happens during shutdown.
    pub fn blocking(_: actix_web::error::BlockingError) -> Self {
        Self::Unavailable("the server is shutting down".into())
    }

    /// The problem type's slug, as listed in `PROBLEM_TYPES`.
    pub fn kind(&self) -> Cow<'static, str> {
        match self {
            Self::Unauthenticated(why) => format!("{}/{}", self.slug(), why.label()).into(),
            _ => self.slug().into(),
        }
    }

    fn slug(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "validation",
            Self::BadRequest(_) => "bad-request",
            Self::Unauthenticated(_) => "unauthenticated",
            Self::Forbidden(_) | Self::InsufficientScope { .. } => "forbidden",
            Self::NotFound(_) => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge(_) => "payload-too-large",
            Self::RequestTimeout(_) => "request-timeout",
            Self::UnsupportedMediaType(_) => "unsupported-media-type",
            Self::TooManyRequests { .. } => "rate-limited",
            Self::KeyRateLimited { .. } => "key-rate-limit",
            Self::Busy { .. } => "busy",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    /// The human-readable detail; internal errors say nothing about their cause.
    pub fn detail(&self) -> String {
        match self {
            Self::Invalid(errors) => match errors.as_slice() {
                [one] => format!("{}: {}", one.field, one.message),
                many => format!("{} fields are invalid", many.len()),
            },
            Self::BadRequest(m)
            | Self::Forbidden(m)
            | Self::Conflict(m)
            | Self::PayloadTooLarge(m)
            | Self::RequestTimeout(m)
            | Self::UnsupportedMediaType(m)
            | Self::Unavailable(m)
            | Self::InsufficientScope { detail: m, .. } => m.clone(),
            Self::Unauthenticated(why) => why.detail().into_owned(),
            Self::NotFound(what) => format!("{what} not found"),
            Self::MethodNotAllowed => "this method is not allowed on this resource".into(),
            Self::TooManyRequests { retry_after_secs } => {
                format!(
                    "too many failed attempts from this address; try again in {retry_after_secs} s"
                )
            }
            Self::KeyRateLimited {
                limit,
                retry_after_secs,
            } => format!(
                "this API key's rate limit of {limit} requests per minute is used up; try again in {retry_after_secs} s"
            ),
            Self::Busy {
                what,
                retry_after_secs,
            } => format!("{what}; try again in {retry_after_secs} s"),
            Self::Internal(_) => "an internal error occurred; it has been logged".into(),
        }
    }
}

impl ApiError {
    /// The RFC 6750 `WWW-Authenticate` challenge: plain `Bearer` when no key was presented
    /// (§3.1: no error code then), `invalid_token` for a key refused for what it is,
    /// `insufficient_scope` with the permission for a key that lacks it. A failed sign-in
    /// (username and password) is not a Bearer matter.
    fn challenge(&self) -> Option<header::HeaderValue> {
        let text = match self {
            Self::Unauthenticated(
                AuthFailure::Missing | AuthFailure::NotBearer | AuthFailure::SessionInvalid,
            ) => return Some(header::HeaderValue::from_static("Bearer")),
            // The description is the detail (it never holds the key), without the two
            // characters RFC 6750 leaves out of it.
            Self::Unauthenticated(AuthFailure::Key(why)) => format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\"",
                why.detail().replace(['"', '\\'], "")
            ),
            Self::InsufficientScope { scope: Some(p), .. } => {
                format!("Bearer error=\"insufficient_scope\", scope=\"{p}\"")
            }
            Self::InsufficientScope { scope: None, .. } => {
                return Some(header::HeaderValue::from_static(
                    "Bearer error=\"insufficient_scope\"",
                ))
            }
            _ => return None,
        };
        header::HeaderValue::from_str(&text).ok()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail())
    }
}

/// RFC 9457 problem details.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// An absolute URL naming the problem type; it opens a page that explains the error.
    #[serde(rename = "type")]
    #[schema(example = "https://links.example.com/docs/errors/validation")]
    pub kind: String,
    #[schema(example = "Bad Request")]
    pub title: String,
    #[schema(example = 400)]
    pub status: u16,
    #[schema(example = "slug: must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -")]
    pub detail: String,
    /// Present on validation failures: one entry per offending field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem response for a status that has no richer error behind it (404 / 405 from routing).
pub fn problem_response(status: StatusCode, kind: &str, detail: String) -> HttpResponse {
    let body = Problem {
        kind: problem_type_url(kind),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail,
        errors: None,
    };
    HttpResponse::build(status)
        .content_type(PROBLEM_JSON)
        .body(serde_json::to_string(&body).unwrap_or_default())
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Invalid(_) | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::InsufficientScope { .. } => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests { .. } | Self::KeyRateLimited { .. } | Self::Busy { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(cause) = self {
            tracing::error!(%cause, "internal error");
        }
        let status = self.status_code();
        let kind = self.kind();
        let mut res = problem_response(status, &kind, self.detail());
        if let Self::Invalid(errors) = self {
            let body = Problem {
                kind: problem_type_url(&kind),
                title: "Bad Request".into(),
                status: 400,
                detail: self.detail(),
                errors: Some(errors.clone()),
            };
            res = HttpResponse::BadRequest()
                .content_type(PROBLEM_JSON)
                .body(serde_json::to_string(&body).unwrap_or_default());
        }
        let headers = res.headers_mut();
        if let Some(challenge) = self.challenge() {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        match self {
            Self::TooManyRequests { retry_after_secs }
            | Self::KeyRateLimited {
                retry_after_secs, ..
            }
            | Self::Busy {
                retry_after_secs, ..
            } => {
                headers.insert(header::RETRY_AFTER, (*retry_after_secs).into());
            }
            _ => {}
        }
        res
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        Self::Invalid(vec![FieldError {
            field: e.field,
            message: e.message,
        }])
    }
}

impl From<Vec<DomainError>> for ApiError {
    fn from(errors: Vec<DomainError>) -> Self {
        Self::Invalid(
            errors
                .into_iter()
                .map(|e| FieldError {
                    field: e.field,
                    message: e.message,
                })
                .collect(),
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => Self::Conflict(m),
            StoreError::NotFound(what) => Self::NotFound(what),
            StoreError::Invalid(e) => e.into(),
            e if e.is_transient() => {
                tracing::error!(error = %e, "the database did not answer");
                Self::Unavailable("the database did not answer; retry shortly".into())
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

/// `web::block` + `?`-friendly: run blocking store work off the reactor, on a thread of the
/// blocking pool that the store may block in place.
pub async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    actix_web::web::block(move || crate::store::on_blocking_thread(f))
        .await
        .map_err(ApiError::blocking)?
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each error the API can answer has a page: its slug is in `PROBLEM_TYPES`, with the
    /// status the error answers.
    #[test]
    fn every_error_has_a_problem_type_page() {
        let rotated = KeyFailure::Rotated {
            at: crate::domain::Timestamp::from_unix(0),
        };
        let mut errors = vec![
            ApiError::invalid("slug", "bad"),
            ApiError::BadRequest(String::new()),
            ApiError::Forbidden(String::new()),
            ApiError::NotFound("link"),
            ApiError::MethodNotAllowed,
            ApiError::Conflict(String::new()),
            ApiError::PayloadTooLarge(String::new()),
            ApiError::UnsupportedMediaType(String::new()),
            ApiError::TooManyRequests {
                retry_after_secs: 1,
            },
            ApiError::KeyRateLimited {
                limit: 1,
                retry_after_secs: 1,
            },
            ApiError::Unavailable(String::new()),
            ApiError::Internal(String::new()),
        ];
        for why in [
            AuthFailure::Missing,
            AuthFailure::NotBearer,
            AuthFailure::SessionInvalid,
            AuthFailure::BadCredentials,
            AuthFailure::Key(KeyFailure::Malformed),
            AuthFailure::Key(KeyFailure::Checksum),
            AuthFailure::Key(KeyFailure::Unknown),
            AuthFailure::Key(KeyFailure::Revoked),
            AuthFailure::Key(KeyFailure::Expired),
            AuthFailure::Key(KeyFailure::Disabled),
            AuthFailure::Key(rotated),
        ] {
            errors.push(ApiError::Unauthenticated(why));
        }
        for e in errors {
            let kind = e.kind();
            let listed = PROBLEM_TYPES.iter().find(|t| t.slug == kind);
            assert!(listed.is_some(), "{kind} has no page");
            assert_eq!(
                listed.map(|t| t.status),
                Some(e.status_code().as_u16()),
                "{kind}"
            );
        }
    }
}
