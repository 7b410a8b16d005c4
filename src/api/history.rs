//! Playground request history, per signed-in user. Never a key: only its display prefix, and
//! anything that looks like a whole key is refused.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Json, ListOf, PageQuery};
use crate::auth::SessionUser;
use crate::error::{blocking, ApiError, FieldError, Problem};
use crate::keys::contains_key;
use crate::state::AppState;
use crate::store::records::HistoryRecord;

/// Largest request body kept with an entry.
pub const BODY_LIMIT: usize = 64 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        super::resource!("/playground/history")
            .route(web::get().to(list))
            .route(web::post().to(add))
            .route(web::delete().to(clear)),
    );
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    #[schema(example = 12)]
    pub id: u64,
    #[schema(example = "GET")]
    pub method: String,
    #[schema(example = "/api/v1/links")]
    pub path: String,
    #[schema(example = "limit=10")]
    pub query: String,
    #[schema(example = "")]
    pub body: String,
    #[schema(example = 200)]
    pub status: u16,
    #[schema(example = 14)]
    pub duration_ms: u64,
    #[schema(example = "ldk_4f9QzR2x")]
    pub key_prefix: String,
    #[schema(example = "2026-11-26T10:05:00Z", format = DateTime)]
    pub created_at: String,
}

impl From<HistoryRecord> for HistoryEntry {
    fn from(r: HistoryRecord) -> Self {
        Self {
            id: r.id,
            method: r.method,
            path: r.path,
            query: r.query,
            body: r.body,
            status: r.status,
            duration_ms: r.duration_ms,
            key_prefix: r.key_prefix,
            created_at: r.created_at.rfc3339(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHistoryEntry {
    #[schema(
        example = "GET",
        pattern = "^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)$"
    )]
    pub method: String,
    /// An absolute path, at most 2048 characters.
    #[schema(example = "/api/v1/links", pattern = "^/", max_length = 2048)]
    pub path: String,
    #[serde(default)]
    #[schema(example = "limit=10", max_length = 8192)]
    pub query: String,
    /// Up to 64 KiB (bytes of UTF-8, so no character count can say it exactly).
    #[serde(default)]
    #[schema(example = "")]
    pub body: String,
    #[schema(example = 200, minimum = 100, maximum = 599)]
    pub status: u16,
    /// At most an hour.
    #[schema(example = 14, minimum = 0, maximum = 3_600_000)]
    pub duration_ms: u64,
    /// The key's display prefix (12 characters), never the key.
    #[serde(default)]
    #[schema(example = "ldk_4f9QzR2x", max_length = 12)]
    pub key_prefix: String,
}

/// The longest request duration a history entry records (an hour).
const MAX_DURATION_MS: u64 = 3_600_000;

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// The text and what it decodes to — percent-encoding (repeatedly, for double encoding),
/// `+` as space, and every string of a JSON document (with its `\u` escapes) — so a key
/// cannot slip into the history in disguise.
fn decodings(text: &str) -> Vec<String> {
    let mut out = vec![text.to_owned()];
    let mut current = text.to_owned();
    for _ in 0..3 {
        let decoded = percent_encoding::percent_decode_str(&current.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned();
        if decoded == current {
            break;
        }
        out.push(decoded.clone());
        current = decoded;
    }
    let mut strings = Vec::new();
    for candidate in &out {
        if let Ok(doc) = serde_json::from_str::<serde_json::Value>(candidate) {
            json_strings(&doc, &mut strings);
        }
    }
    for s in strings {
        out.extend(decodings_flat(&s));
    }
    out
}

/// Percent-decodings of one JSON string (no further JSON).
fn decodings_flat(text: &str) -> Vec<String> {
    let decoded = percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned();
    vec![text.to_owned(), decoded]
}

fn json_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| json_strings(x, out)),
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                out.push(k.clone());
                json_strings(x, out);
            }
        }
        _ => {}
    }
}

fn validate(st: &AppState, e: &NewHistoryEntry) -> Result<(), ApiError> {
    let prefix = st.config.current().keys.prefix.clone();
    let mut errors = Vec::new();
    let mut bad = |field: &str, message: &str| {
        errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        })
    };
    if !METHODS.contains(&e.method.as_str()) {
        bad("method", "an HTTP method in upper case");
    }
    if !e.path.starts_with('/') || e.path.len() > 2048 {
        bad("path", "an absolute path of at most 2048 characters");
    }
    if e.query.len() > 8192 {
        bad("query", "at most 8192 characters");
    }
    if e.body.len() > BODY_LIMIT {
        bad("body", "at most 64 KiB");
    }
    if !(100..=599).contains(&e.status) {
        bad("status", "an HTTP status code");
    }
    if e.duration_ms > MAX_DURATION_MS {
        bad("duration_ms", "at most an hour (3600000)");
    }
    if e.key_prefix.chars().count() > crate::keys::DISPLAY_PREFIX_LEN {
        bad("key_prefix", "only the key's 12-character display prefix");
    }
    for (field, text) in [
        ("path", &e.path),
        ("query", &e.query),
        ("body", &e.body),
        ("key_prefix", &e.key_prefix),
    ] {
        if decodings(text).iter().any(|t| contains_key(t, &prefix)) {
            bad(
                field,
                "looks like it contains an API key; history never stores keys",
            );
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid(errors))
    }
}

#[utoipa::path(get, path = "/api/v1/playground/history", tag = "Playground",
    summary = "Request history",
    description = "The signed-in user's playground requests, newest first.",
    params(PageQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "A page of entries", body = ListOf<HistoryEntry>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    user: SessionUser,
    st: web::Data<AppState>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (limit, offset) = q.resolve()?;
    let st2 = st.clone();
    let name = user.username.into_string();
    let (page, total) = blocking(move || Ok(st2.store.history(&name, offset, limit)?)).await?;
    let items: Vec<HistoryEntry> = page.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(ListOf {
        items,
        total,
        limit,
        offset,
    }))
}

#[utoipa::path(post, path = "/api/v1/playground/history", tag = "Playground",
    summary = "Add a history entry",
    description = "Keeps the newest `playground.history_limit_per_user` entries. Anything that looks like a whole API key is refused.",
    request_body(content = NewHistoryEntry, example = json!({"method": "GET", "path": "/api/v1/links", "query": "limit=10", "body": "", "status": 200, "duration_ms": 14, "key_prefix": "ldk_4f9QzR2x"})),
    security(("session" = [])),
    responses(
        (status = 201, description = "Stored", body = HistoryEntry),
        (status = 400, description = "Invalid entry, or it contains a key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add(
    user: SessionUser,
    st: web::Data<AppState>,
    body: Json<NewHistoryEntry>,
) -> Result<HttpResponse, ApiError> {
    let e = body.0;
    validate(&st, &e)?;
    let keep = st.config.current().playground.history_limit_per_user;
    let rec = HistoryRecord {
        id: 0,
        method: e.method,
        path: e.path,
        query: e.query,
        body: e.body,
        status: e.status,
        duration_ms: e.duration_ms,
        key_prefix: e.key_prefix,
        created_at: crate::domain::now(),
    };
    let st2 = st.clone();
    let name = user.username.into_string();
    let saved = blocking(move || Ok(st2.store.add_history(&name, rec, keep)?)).await?;
    Ok(HttpResponse::Created().json(HistoryEntry::from(saved)))
}

#[utoipa::path(delete, path = "/api/v1/playground/history", tag = "Playground",
    summary = "Clear history",
    description = "Delete every playground history entry of the signed-in user.",
    security(("session" = [])),
    responses(
        (status = 204, description = "Cleared"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn clear(user: SessionUser, st: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let st2 = st.clone();
    let name = user.username.into_string();
    blocking(move || Ok(st2.store.clear_history(&name)?)).await?;
    Ok(HttpResponse::NoContent().finish())
}
