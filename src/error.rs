//! The one error type of the HTTP surface, rendered as RFC 9457 problem+json.
//!
//! Handlers return `Result<_, ApiError>`; everything below them (domain parsing, store) converts
//! into it with `?`. Internal errors are logged with the request's span and never leak details.

use std::borrow::Cow;
use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::DomainError;
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
    NotFound(&'static str),
    MethodNotAllowed,
    Conflict(String),
    PayloadTooLarge(String),
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

    fn slug(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "validation",
            Self::BadRequest(_) => "bad-request",
            Self::Unauthenticated(_) => "unauthenticated",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge(_) => "payload-too-large",
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
            | Self::UnsupportedMediaType(m)
            | Self::Unavailable(m) => m.clone(),
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

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail())
    }
}

/// RFC 9457 problem details.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the problem type.
    #[serde(rename = "type")]
    #[schema(example = "/docs/errors#validation")]
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
        kind: format!("/docs/errors#{kind}"),
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
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
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
        let kind = match self {
            Self::Unauthenticated(why) => format!("{}/{}", self.slug(), why.label()),
            _ => self.slug().to_owned(),
        };
        let mut res = problem_response(status, &kind, self.detail());
        if let Self::Invalid(errors) = self {
            let body = Problem {
                kind: format!("/docs/errors#{kind}"),
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
        match self {
            Self::Unauthenticated(why) if *why != AuthFailure::BadCredentials => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer"),
                );
            }
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
            other => Self::Internal(other.to_string()),
        }
    }
}

/// `web::block` + `?`-friendly: run blocking store work off the reactor.
pub async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    actix_web::web::block(f).await.map_err(ApiError::blocking)?
}
