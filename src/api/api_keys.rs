//! API key management (signed-in users only) and `GET /keys/current` (the calling key).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::input::{double_option, Errors};
use super::{Json, ListOf, PageQuery};
use crate::auth::{KeyCaller, SessionUser};
use crate::domain::{now, AllowList, KeyName, Timestamp};
use crate::error::{blocking, ApiError, Problem};
use crate::keys::issue;
use crate::state::AppState;
use crate::store::records::{KeyId, KeyRecord, KeyRequestRecord, KeyStatus, KeyUsage, Source};
use crate::store::{domain_ids, future_expiry, KeyDraft, KeyPatch};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api-keys")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/api-keys/{id}")
            .route(web::get().to(show))
            .route(web::put().to(update))
            .route(web::delete().to(delete)),
    )
    .service(web::resource("/api-keys/{id}/revoke").route(web::post().to(revoke)))
    .service(web::resource("/api-keys/{id}/requests").route(web::get().to(requests)))
    .service(web::resource("/keys/current").route(web::get().to(current)));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    #[schema(example = 3)]
    pub id: KeyId,
    #[schema(example = "Production API Key")]
    pub name: String,
    /// The first 12 characters of the key, to recognise it.
    #[schema(example = "ldk_4f9QzR2x")]
    pub prefix: String,
    /// Host names the key may touch; empty: all domains.
    #[schema(example = json!(["go.example.com"]))]
    pub domains: Vec<String>,
    #[schema(example = false)]
    pub allow_all_ips: bool,
    #[schema(example = json!(["192.168.1.1", "10.0.0.0/8"]))]
    pub ip_whitelist: Vec<String>,
    /// `null`: never expires.
    #[schema(example = "2027-01-31T23:59:00Z")]
    pub expires_at: Option<String>,
    pub status: KeyStatus,
    pub source: Source,
    #[schema(example = "2026-11-26T10:00:00Z")]
    pub created_at: String,
    #[schema(example = "2026-11-26T10:00:00Z")]
    pub updated_at: String,
    #[schema(example = "2026-11-26T10:05:00Z")]
    pub last_used_at: Option<String>,
    #[schema(example = "192.168.1.1")]
    pub last_used_ip: Option<String>,
    #[schema(example = 17)]
    pub request_count: u64,
}

impl ApiKeyView {
    pub fn new(st: &AppState, k: KeyRecord, u: KeyUsage) -> Self {
        // Expiry is judged by the clock, even before the sweeper has run.
        let status = k.status_at(now());
        Self {
            id: k.id,
            name: k.name.into_string(),
            prefix: k.prefix,
            domains: k
                .domains
                .iter()
                .filter_map(|d| st.store.catalog.hostname(*d))
                .collect(),
            allow_all_ips: k.ip.is_any(),
            ip_whitelist: k.ip.rules().iter().map(ToString::to_string).collect(),
            expires_at: k.expires_at.map(Timestamp::rfc3339),
            status,
            source: k.source,
            created_at: k.created_at.rfc3339(),
            updated_at: k.updated_at.rfc3339(),
            last_used_at: u.last_used_at.map(Timestamp::rfc3339),
            last_used_ip: u.last_used_ip,
            request_count: u.request_count,
        }
    }
}

/// The create answer: the key itself, shown this once and never again.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key_info: ApiKeyView,
    /// The API key. Store it now: it cannot be shown again.
    #[schema(example = "ldk_4f9QzR2xK1mN8pL0vB3cD6fG7hJ9kL2mN4pQ6rS8tU0vW2yZ4aQ1b2C")]
    pub key: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    /// 1 to 64 characters.
    #[schema(example = "Production API Key", min_length = 1, max_length = 64)]
    pub name: String,
    /// Host names; empty or absent: all domains.
    #[schema(example = json!(["go.example.com"]))]
    pub domains: Option<Vec<String>>,
    /// Default: true when `ip_whitelist` is empty or absent, false when it lists entries.
    /// When false, `ip_whitelist` must list at least one entry.
    #[schema(example = false)]
    pub allow_all_ips: Option<bool>,
    /// IPv4/IPv6 addresses or CIDR ranges.
    #[schema(example = json!(["192.168.1.1", "10.0.0.0/8"]))]
    pub ip_whitelist: Option<Vec<String>>,
    /// RFC 3339, in the future; `null` or absent: never.
    #[schema(example = "2027-01-31T23:59:00Z", format = DateTime)]
    pub expires_at: Option<String>,
}

/// Any of the fields; the key value never changes. `expires_at: null` means never.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateApiKey {
    #[schema(example = "Renamed key", min_length = 1, max_length = 64)]
    pub name: Option<String>,
    #[schema(example = json!([]))]
    pub domains: Option<Vec<String>>,
    pub allow_all_ips: Option<bool>,
    pub ip_whitelist: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, example = json!(null), format = DateTime)]
    pub expires_at: Option<Option<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyRequestView {
    #[schema(example = "2026-11-26T10:05:00Z")]
    pub at: String,
    #[schema(example = "GET")]
    pub method: String,
    #[schema(example = "/api/v1/links")]
    pub path: String,
    #[schema(example = 200)]
    pub status: u16,
    #[schema(example = "192.168.1.1")]
    pub ip: String,
}

impl From<KeyRequestRecord> for KeyRequestView {
    fn from(r: KeyRequestRecord) -> Self {
        Self {
            at: r.at.rfc3339(),
            method: r.method,
            path: r.path,
            status: r.status,
            ip: r.ip,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/api-keys", tag = "API Keys",
    summary = "List API keys",
    description = "Every key, newest first, with its scope, whitelist, expiry, status and last use. Never the key itself.",
    params(PageQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "A page of keys", body = ListOf<ApiKeyView>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Called with an API key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    _user: SessionUser,
    st: web::Data<AppState>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (limit, offset) = q.resolve()?;
    let st2 = st.clone();
    let all = blocking(move || Ok(st2.store.keys_with_usage()?)).await?;
    let total = all.len();
    let items = all
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|(k, u)| ApiKeyView::new(&st, k, u))
        .collect();
    Ok(HttpResponse::Ok().json(ListOf {
        items,
        total,
        limit,
        offset,
    }))
}

async fn load(st: &web::Data<AppState>, id: KeyId) -> Result<ApiKeyView, ApiError> {
    let st2 = st.clone();
    let (k, u) = blocking(move || Ok(st2.store.key_with_usage(id)?))
        .await?
        .ok_or(ApiError::NotFound("API key"))?;
    Ok(ApiKeyView::new(st, k, u))
}

#[utoipa::path(get, path = "/api/v1/api-keys/{id}", tag = "API Keys",
    summary = "Get an API key",
    params(("id" = u64, Path, description = "Key id")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The key (without its value)", body = ApiKeyView),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn show(
    _user: SessionUser,
    st: web::Data<AppState>,
    id: web::Path<KeyId>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(load(&st, *id).await?))
}

#[utoipa::path(post, path = "/api/v1/api-keys", tag = "API Keys",
    summary = "Create an API key",
    description = "Creates a key scoped by domain, IP whitelist and expiry. The answer carries the key in `key`: the only time it is ever shown.",
    request_body(content = CreateApiKey, example = json!({"name": "Production API Key", "domains": ["go.example.com"], "allow_all_ips": false, "ip_whitelist": ["192.168.1.1"], "expires_at": "2027-01-31T23:59:00Z"})),
    security(("session" = [])),
    responses(
        (status = 201, description = "Created; `key` is shown only here", body = CreatedApiKey),
        (status = 400, description = "Invalid field: empty whitelist with allow_all_ips false, bad IP/CIDR, past expiry, unknown domain", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    _user: SessionUser,
    st: web::Data<AppState>,
    body: Json<CreateApiKey>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let spec = KeyDraft {
        name: b.name,
        domains: b.domains.unwrap_or_default(),
        allow_all_ips: b.allow_all_ips,
        ip_whitelist: b.ip_whitelist.unwrap_or_default(),
        expires_at: b.expires_at,
    }
    .validate(&st.store.catalog, now())?;
    let (plain, digest) = issue(&st.rng, &st.config.current().keys.prefix)
        .map_err(|_| ApiError::internal("no random source for a new key"))?;
    let prefix = plain.display_prefix();
    let st2 = st.clone();
    let rec =
        blocking(move || Ok(st2.store.create_key(spec, prefix, digest, Source::Api)?)).await?;
    tracing::info!(key = rec.id, prefix = %rec.prefix, "API key created");
    let key_info = ApiKeyView::new(&st, rec, KeyUsage::default());
    Ok(HttpResponse::Created().json(CreatedApiKey {
        key_info,
        key: plain.into_string(),
    }))
}

#[utoipa::path(put, path = "/api/v1/api-keys/{id}", tag = "API Keys",
    summary = "Update an API key",
    description = "Change name, domain scope, IP whitelist or expiry. The key value never changes. Keys declared in the config file are read-only (409).",
    params(("id" = u64, Path, description = "Key id")),
    request_body(content = UpdateApiKey, example = json!({"name": "Renamed key", "allow_all_ips": true, "expires_at": null})),
    security(("session" = [])),
    responses(
        (status = 200, description = "Updated", body = ApiKeyView),
        (status = 400, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Declared in the config file", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    _user: SessionUser,
    st: web::Data<AppState>,
    id: web::Path<KeyId>,
    body: Json<UpdateApiKey>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let mut errs = Errors::default();
    let at = now();
    let patch = KeyPatch {
        name: b.name.and_then(|n| errs.take(KeyName::parse(&n))),
        domains: b
            .domains
            .and_then(|d| errs.take_all(domain_ids(&st.store.catalog, &d))),
        allow_all_ips: b.allow_all_ips,
        ip_whitelist: b
            .ip_whitelist
            .and_then(|w| errs.take_all(AllowList::parse("ip_whitelist", &w))),
        expires_at: b
            .expires_at
            .map(|e| e.and_then(|e| errs.take(future_expiry(&e, at)))),
    };
    errs.finish()?;
    let id = *id;
    let st2 = st.clone();
    blocking(move || Ok(st2.store.update_key(id, patch)?)).await?;
    Ok(HttpResponse::Ok().json(load(&st, id).await?))
}

#[utoipa::path(post, path = "/api/v1/api-keys/{id}/revoke", tag = "API Keys",
    summary = "Revoke an API key",
    description = "The key stays listed with status `revoked` and stops working on the very next request.",
    params(("id" = u64, Path, description = "Key id")),
    security(("session" = [])),
    responses(
        (status = 200, description = "Revoked", body = ApiKeyView),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Declared in the config file", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke(
    _user: SessionUser,
    st: web::Data<AppState>,
    id: web::Path<KeyId>,
) -> Result<HttpResponse, ApiError> {
    let id = *id;
    let st2 = st.clone();
    blocking(move || Ok(st2.store.revoke_key(id)?)).await?;
    tracing::info!(key = id, "API key revoked");
    Ok(HttpResponse::Ok().json(load(&st, id).await?))
}

#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "API Keys",
    summary = "Delete an API key",
    description = "Removes the key; it stops working on the very next request.",
    params(("id" = u64, Path, description = "Key id")),
    security(("session" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Declared in the config file", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    _user: SessionUser,
    st: web::Data<AppState>,
    id: web::Path<KeyId>,
) -> Result<HttpResponse, ApiError> {
    let id = *id;
    let st2 = st.clone();
    blocking(move || Ok(st2.store.delete_key(id)?)).await?;
    tracing::info!(key = id, "API key deleted");
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/api-keys/{id}/requests", tag = "API Keys",
    summary = "A key's recent requests",
    description = "The key's API requests, newest first (the last 1000 are kept; recorded in batches, so the newest may take a second to appear).",
    params(("id" = u64, Path, description = "Key id"), PageQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "A page of requests", body = ListOf<KeyRequestView>),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn requests(
    _user: SessionUser,
    st: web::Data<AppState>,
    id: web::Path<KeyId>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (limit, offset) = q.resolve()?;
    let id = *id;
    let st2 = st.clone();
    let (page, total) = blocking(move || {
        st2.store
            .key_with_usage(id)?
            .ok_or(ApiError::NotFound("API key"))?;
        Ok(st2.store.key_requests(id, offset, limit)?)
    })
    .await?;
    let items: Vec<KeyRequestView> = page.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(ListOf {
        items,
        total,
        limit,
        offset,
    }))
}

#[utoipa::path(get, path = "/api/v1/keys/current", tag = "Keys",
    summary = "The calling key",
    description = "Describes the API key the request was made with: the playground's key check.",
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The calling key", body = ApiKeyView),
        (status = 401, description = "Missing, malformed, unknown, revoked or expired key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Client IP not in the key's whitelist", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn current(caller: KeyCaller, st: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(load(&st, caller.key.id).await?))
}
