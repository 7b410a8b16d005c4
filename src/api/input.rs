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
                    "send the body as JSON, with the header Content-Type: application/json".into(),
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
    // Every body of this API is an object. serde also reads a struct from an array of its
    // fields in order (`[]` for one whose fields all have defaults), which no client means.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::invalid("body", "must be a JSON object"));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::BadRequest(format!("malformed JSON: {inner}"));
        }
        let raw = inner.to_string();
        // serde_json appends " at line L column C"; the field name says more.
        let raw = raw.split(" at line ").next().unwrap_or(&raw);
        let (field, message) = in_words(&path, raw);
        ApiError::Invalid(vec![FieldError { field, message }])
    })
}

/// A deserializer's complaint about the field at `path` as the field and a sentence about it:
/// "invalid type: string \"x\", expected u16" becomes "must be a whole number".
fn in_words(path: &str, raw: &str) -> (String, String) {
    let field = if path == "." { "body" } else { path }.to_owned();
    let unquote = |s: &str| s.trim().trim_matches('`').to_owned();
    if let Some(name) = raw.strip_prefix("missing field ") {
        let name = unquote(name);
        let at = if path == "." {
            name
        } else {
            format!("{path}.{name}")
        };
        return (at, "is required".into());
    }
    if let Some(rest) = raw.strip_prefix("unknown field ") {
        let (name, expected) = rest.split_once(", expected").unwrap_or((rest, ""));
        let known: Vec<String> = expected
            .trim_start_matches(" one of")
            // Two fields read "`a` or `b`", more "one of `a`, `b`, `c`".
            .split(',')
            .flat_map(|s| s.split(" or "))
            .map(unquote)
            .filter(|s| !s.is_empty())
            .collect();
        let message = if known.is_empty() {
            format!("“{}” is not a field of this request", unquote(name))
        } else {
            format!(
                "“{}” is not a field of this request; the fields are {}",
                unquote(name),
                known.join(", ")
            )
        };
        return (field, message);
    }
    if let Some(name) = raw.strip_prefix("duplicate field ") {
        return (field, format!("“{}” is given twice", unquote(name)));
    }
    if let Some(rest) = raw.strip_prefix("invalid type: ") {
        let expected = rest.split_once(", expected ").map_or("", |(_, e)| e);
        return (field, format!("must be {}", kind_in_words(expected)));
    }
    if let Some(rest) = raw.strip_prefix("invalid value: ") {
        let expected = rest.split_once(", expected ").map_or("", |(_, e)| e);
        let message = match integer_range(expected) {
            Some((lo, hi)) => format!("must be a whole number from {lo} to {hi}"),
            None => format!("must be {}", kind_in_words(expected)),
        };
        return (field, message);
    }
    if raw.starts_with("unknown variant ") {
        let expected = raw.split_once(", expected ").map_or("", |(_, e)| e);
        let options: Vec<String> = expected
            .trim_start_matches("one of ")
            .split(',')
            .map(unquote)
            .collect();
        return (field, format!("must be one of {}", options.join(", ")));
    }
    // A parser of ours (domain types) already speaks in words: "field: must be ...".
    let message = raw.split_once(": ").map_or(raw, |(_, m)| m);
    (field, message.to_owned())
}

/// What serde expected, for people: "u16" → "a whole number".
fn kind_in_words(expected: &str) -> String {
    let e = expected.trim();
    if integer_range(e).is_some() || e == "an integer" {
        "a whole number".into()
    } else if matches!(e, "f32" | "f64" | "a number") {
        "a number".into()
    } else if matches!(e, "a string" | "a borrowed string" | "a character") {
        "text".into()
    } else if e == "a boolean" {
        "true or false".into()
    } else if e == "a sequence" || e.starts_with("a tuple") {
        "a list".into()
    } else if e == "a map" || e.starts_with("struct ") {
        "an object".into()
    } else {
        e.trim_matches('`').to_owned()
    }
}

fn integer_range(expected: &str) -> Option<(i128, u128)> {
    Some(match expected.trim() {
        "u8" => (0, u128::from(u8::MAX)),
        "u16" => (0, u128::from(u16::MAX)),
        "u32" => (0, u128::from(u32::MAX)),
        "u64" | "usize" => (0, u128::from(u64::MAX)),
        "i32" => (i128::from(i32::MIN), i32::MAX as u128),
        "i64" | "isize" => (i128::from(i64::MIN), i64::MAX as u128),
        _ => return None,
    })
}

/// `?limit=&offset=`: limit 1..=100 (default 20), offset ≥ 0.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 100 (default 20).
    #[serde(default, deserialize_with = "limit_number")]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    #[serde(default, deserialize_with = "offset_number")]
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// `?limit=` as a whole number, or a field error that the query config turns into a 400.
pub fn limit_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    whole_number(d, "limit")
}

/// `?offset=` as a whole number (see [`limit_number`]).
pub fn offset_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    whole_number(d, "offset")
}

/// Query strings carry text: parse it here so that the error names the field in words. The
/// message is `<field>: <sentence>`, which [`query_config`] reads back as a field error.
fn whole_number<'de, D: Deserializer<'de>>(d: D, field: &str) -> Result<Option<i64>, D::Error> {
    let raw = Option::<String>::deserialize(d)?;
    match raw.as_deref() {
        None => Ok(None),
        // `?limit=` (empty) is not a number either, nor is one with spaces around it.
        Some(v) => v
            .parse::<i64>()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("{field}: must be a whole number"))),
    }
}

impl PageQuery {
    pub fn resolve(&self) -> Result<(usize, usize), ApiError> {
        let limit = self.limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return Err(ApiError::invalid("limit", "must be from 1 to 100"));
        }
        let offset = self.offset.unwrap_or(0);
        if offset < 0 {
            return Err(ApiError::invalid("offset", "must be 0 or more"));
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
    web::QueryConfig::default().error_handler(|e, _| {
        let text = match &e {
            actix_web::error::QueryPayloadError::Deserialize(d) => d.to_string(),
            other => other.to_string(),
        };
        // A field parser of ours says `<field>: <sentence>`; anything else is unreadable.
        match text.split_once(": ") {
            Some((field, message))
                if field.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') =>
            {
                ApiError::invalid(field, message).into()
            }
            _ => ApiError::BadRequest(format!("the query string could not be read: {text}")).into(),
        }
    })
}

/// Every path parameter of the API is a numeric id.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|_, _| ApiError::invalid("id", "must be a whole number").into())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn field_error(body: &str) -> (String, String) {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Body {
            name: String,
            code: Option<u16>,
            tags: Option<Vec<String>>,
            on: Option<bool>,
        }
        match parse_json::<Body>(body.as_bytes()) {
            Err(ApiError::Invalid(e)) => (e[0].field.clone(), e[0].message.clone()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn deserializer_complaints_become_sentences_about_the_field() {
        let cases = [
            (
                r#"{"name": "a", "code": "abc"}"#,
                "code",
                "must be a whole number",
            ),
            (
                r#"{"name": "a", "code": 1.5}"#,
                "code",
                "must be a whole number",
            ),
            (
                r#"{"name": "a", "code": 70000}"#,
                "code",
                "must be a whole number from 0 to 65535",
            ),
            (r#"{"name": 5}"#, "name", "must be text"),
            (r#"{"name": "a", "tags": "x"}"#, "tags", "must be a list"),
            (
                r#"{"name": "a", "on": "yes"}"#,
                "on",
                "must be true or false",
            ),
            (r#"{"code": 301}"#, "name", "is required"),
        ];
        for (body, field, message) in cases {
            assert_eq!(
                field_error(body),
                (field.to_owned(), message.to_owned()),
                "{body}"
            );
        }
        let (field, message) = field_error(r#"{"name": "a", "colour": "red"}"#);
        assert!(
            message
                .starts_with("“colour” is not a field of this request; the fields are name, code"),
            "{field}: {message}"
        );
        for (_, m) in [
            field_error(r#"{"name": 5}"#),
            field_error(r#"{"name": "a", "colour": 1}"#),
        ] {
            assert!(!m.contains('`') && !m.contains("invalid type"), "{m}");
        }
    }
}
