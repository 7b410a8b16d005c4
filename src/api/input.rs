//! Reading the API's input: the JSON body extractor that names the offending field, the list
//! query and answer, the extractor configs that keep every failure problem+json, and the
//! small parsers the resource handlers share (partial updates, expiry times, field errors).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::{parse_rfc3339, DomainError, Timestamp};
use crate::error::{ApiError, FieldError};

/// Largest JSON body accepted by the API.
pub const JSON_LIMIT: usize = 256 * 1024;

/// JSON body extractor: problem+json for every failure, naming the offending field.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // No Content-Type at all is read as JSON; any other type is refused with a hint.
        let mime_ok = match req.mime_type() {
            Ok(None) => true,
            Ok(Some(m)) => m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json"),
            Err(_) => false,
        };
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !mime_ok {
                return Err(ApiError::UnsupportedMediaType(
                    "send the body as JSON with `Content-Type: application/json`".into(),
                ));
            }
            let bytes = bytes
                .await
                .map_err(|e| match e.as_error::<PayloadError>() {
                    Some(PayloadError::Overflow) => ApiError::PayloadTooLarge(format!(
                        "the JSON body is larger than {} KiB",
                        JSON_LIMIT / 1024
                    )),
                    _ => ApiError::BadRequest(format!("the request body could not be read: {e}")),
                })?;
            parse_json(&bytes).map(Json)
        })
    }
}

/// Deserialize, reporting the JSON path of the first offending field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::BadRequest(format!("malformed JSON: {inner}"));
        }
        let field = if path == "." { "body".to_owned() } else { path };
        let message = inner.to_string();
        // serde_json appends " at line L column C"; the field name says more.
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_owned();
        ApiError::Invalid(vec![FieldError { field, message }])
    })
}

/// `?limit=&offset=`: limit 1..=100 (default 20), offset ≥ 0.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

impl PageQuery {
    pub fn resolve(&self) -> Result<(usize, usize), ApiError> {
        let limit = self.limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return Err(ApiError::invalid("limit", "1 to 100"));
        }
        let offset = self.offset.unwrap_or(0);
        if offset < 0 {
            return Err(ApiError::invalid("offset", "0 or more"));
        }
        Ok((limit as usize, offset as usize))
    }
}

/// A page of a list, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListOf<T> {
    pub items: Vec<T>,
    /// How many items match in all.
    pub total: usize,
    pub limit: usize,
    pub offset: usize,
}

/// Query and path extraction failures answer problem+json, like everything else.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|e, _| ApiError::BadRequest(format!("invalid query string: {e}")).into())
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|e, _| {
        ApiError::invalid("id", format!("invalid path parameter: {e}")).into()
    })
}

/// Absent → `None`; `null` → `Some(None)`; a value → `Some(Some(v))`: a partial update can
/// clear an optional field.
pub fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Collects every field error of a body instead of stopping at the first.
#[derive(Default)]
pub struct Errors(Vec<DomainError>);

impl Errors {
    /// The value, or `None` with its error noted.
    pub fn take<T>(&mut self, r: Result<T, DomainError>) -> Option<T> {
        r.map_err(|e| self.0.push(e)).ok()
    }

    /// Like `take`, for parsers that report several errors at once.
    pub fn take_all<T>(&mut self, r: Result<T, Vec<DomainError>>) -> Option<T> {
        r.map_err(|e| self.0.extend(e)).ok()
    }

    pub fn push(&mut self, e: DomainError) {
        self.0.push(e);
    }

    /// The errors noted so far.
    pub fn into_inner(self) -> Vec<DomainError> {
        self.0
    }

    /// 400 naming every field at fault, or `Ok` when there was none.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0.into())
        }
    }
}

/// An RFC 3339 time that must lie in the future (expiry of a new link or key).
pub fn future_time(raw: &str, field: &str, now: Timestamp) -> Result<Timestamp, DomainError> {
    let t = parse_rfc3339(raw, field)?;
    if t <= now {
        return Err(DomainError::new(field, "must be in the future"));
    }
    Ok(t)
}
