//! API key management (signed-in users only), the leaked-key check, and `GET /keys/current`
//! (the key a request presents, with why it would be refused).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::input::{double_option, Errors};
use super::{Json, ListOf, PageQuery};
use crate::auth::{PresentedKey, SessionUser};
use crate::domain::{
    now, parse_rfc3339, AllowList, KeyName, PerMinute, Permissions, Timestamp, Username,
};
use crate::error::{blocking, ApiError, FieldError, Problem};
use crate::keys::{check_format, issue, KeyDigest, KeyFailure};
use crate::limiter::Quota;
use crate::state::AppState;
use crate::store::records::{KeyId, KeyRecord, KeyRequestRecord, KeyStatus, KeyUsage, Source};
use crate::store::usage::{Bucket, Counts, StatusFilter};
use crate::store::{domain_ids, future_expiry, IssuedKey, KeyDraft, KeyPatch, KeySpec};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        super::resource!("/api-keys")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    // Before `/api-keys/{id}`: a literal segment must not be taken for an id.
    .service(super::resource!("/api-keys/check").route(web::post().to(check)))
    .service(super::resource!("/api-keys/batch").route(web::post().to(create_batch)))
    .service(
        super::resource!("/api-keys/{id}")
            .route(web::get().to(show))
            .route(web::put().to(update))
            .route(web::delete().to(delete)),
    )
    .service(super::resource!("/api-keys/{id}/revoke").route(web::post().to(revoke)))
    .service(super::resource!("/api-keys/{id}/roll").route(web::post().to(roll)))
    .service(super::resource!("/api-keys/{id}/requests").route(web::get().to(requests)))
    .service(super::resource!("/api-keys/{id}/usage").route(web::get().to(usage)))
    .service(super::resource!("/api-keys/{id}/disable").route(web::post().to(disable)))
    .service(super::resource!("/api-keys/{id}/enable").route(web::post().to(enable)))
    .service(super::resource!("/keys/current").route(web::get().to(current)));
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
    #[schema(example = "2027-01-31T23:59:00Z", format = DateTime)]
    pub expires_at: Option<String>,
    pub status: KeyStatus,
    pub source: Source,
    #[schema(example = "2026-11-26T10:00:00Z", format = DateTime)]
    pub created_at: String,
    #[schema(example = "2026-11-26T10:00:00Z", format = DateTime)]
    pub updated_at: String,
    #[schema(example = "2026-11-26T10:05:00Z", format = DateTime)]
    pub last_used_at: Option<String>,
    #[schema(example = "192.168.1.1")]
    pub last_used_ip: Option<String>,
    #[schema(example = 17)]
    pub request_count: u64,
    /// What the key may do; every permission unless it was given fewer.
    #[schema(value_type = Vec<PermissionName>, example = json!(["links:read", "domains:read"]))]
    pub permissions: Vec<&'static str>,
    /// Requests per minute; `null`: no limit.
    #[schema(example = 60)]
    pub rate_limit_per_minute: Option<u32>,
    /// Set once the key was rolled: the id of the key that replaced it.
    #[schema(example = json!(null))]
    pub rotated_to: Option<KeyId>,
    /// The user who made the key (a rolled key keeps its maker); `null`: made by the command
    /// line or declared in the config file.
    #[schema(example = "alice")]
    pub created_by: Option<String>,
    /// When a rolled key stops (or stopped) working: the end of its grace period. Until
    /// then its status stays `active`; from then on it is `rotated`.
    #[schema(example = json!(null), format = DateTime)]
    pub rotated_at: Option<String>,
    /// On a key made by rolling another: the id of the key it replaced.
    #[schema(example = json!(null))]
    pub rotated_from: Option<KeyId>,
}

/// A permission an API key can hold.
#[derive(Serialize, ToSchema)]
#[schema(as = Permission)]
#[allow(dead_code)] // a schema for the documentation; the values are `domain::Permission`
pub enum PermissionName {
    #[serde(rename = "links:read")]
    LinksRead,
    #[serde(rename = "links:write")]
    LinksWrite,
    #[serde(rename = "domains:read")]
    DomainsRead,
    #[serde(rename = "domains:write")]
    DomainsWrite,
    #[serde(rename = "links:import")]
    LinksImport,
    #[serde(rename = "links:export")]
    LinksExport,
}

impl ApiKeyView {
    pub fn new(st: &AppState, k: KeyRecord, u: KeyUsage) -> Self {
        // Expiry and rotation are judged by the clock, even before the sweeper has run.
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
            permissions: k.permissions.names(),
            rate_limit_per_minute: k.rate_limit.map(PerMinute::get),
            rotated_to: k.rotated_to,
            rotated_at: k.rotated_at.map(Timestamp::rfc3339),
            rotated_from: k.rotated_from,
            created_by: k.created_by.map(Username::into_string),
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
    /// What the key may do; absent: every permission. At least one.
    #[schema(value_type = Option<Vec<PermissionName>>, min_items = 1, example = json!(["links:read", "domains:read"]))]
    pub permissions: Option<Vec<String>>,
    /// Requests per minute, 1 to 1000000; `null` or absent: no limit.
    #[schema(minimum = 1, maximum = 1_000_000, example = 60)]
    pub rate_limit_per_minute: Option<u64>,
}

/// Any of the fields; the key value never changes. `expires_at: null` means never,
/// `rate_limit_per_minute: null` no limit.
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
    #[schema(value_type = Option<Vec<PermissionName>>, min_items = 1, example = json!(["links:read"]))]
    pub permissions: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u64>, minimum = 1, maximum = 1_000_000, example = 120)]
    pub rate_limit_per_minute: Option<Option<u64>>,
}

/// `POST /api-keys/{id}/roll`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollApiKey {
    /// Until when the old key keeps working (RFC 3339); `null`, absent or a time that is not
    /// in the future: it stops at once.
    #[schema(example = "2027-01-31T23:59:00Z", format = DateTime)]
    #[serde(default)]
    pub old_key_expires_at: Option<String>,
}

/// `POST /api-keys/check`: a string that may be a leaked key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckApiKey {
    #[schema(example = "ldk_4f9QzR2xK1mN8pL0vB3cD6fG7hJ9kL2mN4pQ6rS8tU0vW2yZ4aQ1b2C")]
    pub key: String,
}

/// A key found by its value: enough to revoke it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FoundKey {
    pub id: KeyId,
    pub name: String,
    pub status: KeyStatus,
    pub prefix: String,
}

impl FoundKey {
    pub fn of(k: &KeyRecord) -> Self {
        Self {
            id: k.id,
            name: k.name.as_str().to_owned(),
            status: k.status_at(now()),
            prefix: k.prefix.clone(),
        }
    }
}

/// What a string that may be a key is: well-formed or not (offline: shape and checksum), and
/// which key of this server it is, if any. The key itself is never repeated.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyCheck {
    /// The shape and checksum of a key of this server's prefix.
    pub well_formed: bool,
    /// The key's id when it is one of this server's keys; `null` otherwise.
    #[schema(example = 3)]
    pub id: Option<KeyId>,
    #[schema(example = "Production API Key")]
    pub name: Option<String>,
    pub status: Option<KeyStatus>,
    #[schema(example = "ldk_4f9QzR2x")]
    pub prefix: Option<String>,
    /// The answer in a sentence.
    #[schema(
        example = "a well-formed key of this server: key 3 “Production API Key” (ldk_4f9QzR2x…), active"
    )]
    pub detail: String,
}

impl KeyCheck {
    /// From the offline check and, for a well-formed key, what the database holds.
    pub fn new(format: Result<(), KeyFailure>, found: Option<FoundKey>) -> Self {
        let (well_formed, detail) = match (&format, &found) {
            (Err(why), _) => (false, format!("not a well-formed key of this server: {}", why.detail())),
            (Ok(()), None) => (
                true,
                "a well-formed key, but not one of this server's keys (never issued here, or deleted)".to_owned(),
            ),
            (Ok(()), Some(k)) => (
                true,
                format!(
                    "a well-formed key of this server: key {} “{}” ({}…), {}",
                    k.id,
                    k.name,
                    k.prefix,
                    k.status.label()
                ),
            ),
        };
        Self {
            well_formed,
            id: found.as_ref().map(|k| k.id),
            name: found.as_ref().map(|k| k.name.clone()),
            status: found.as_ref().map(|k| k.status),
            prefix: found.map(|k| k.prefix),
            detail,
        }
    }
}

/// The key a request presented, as `GET /keys/current` describes it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentKey {
    #[serde(flatten)]
    pub key_info: ApiKeyView,
    /// The client address as the server saw it (after trusted proxies): what the IP rule is
    /// checked against.
    #[schema(example = "192.168.1.1")]
    pub client_ip: String,
    /// Whether `client_ip` passes the key's IP rule.
    pub ip_allowed: bool,
    /// The rate-limit state of this minute (asking does not count); `null`: no limit.
    pub rate_limit: Option<RateLimitState>,
    /// Why requests with this key are refused right now; `null` when they are not (the
    /// domain scope and each endpoint's permission still apply per request).
    pub denial: Option<DenialView>,
}

/// A key's rate limit in this minute.
#[derive(Debug, Serialize, ToSchema)]
pub struct RateLimitState {
    #[schema(example = 60)]
    pub limit: u32,
    #[schema(example = 12)]
    pub remaining: u32,
    /// Seconds until the minute ends and the limit is full again.
    #[schema(example = 34)]
    pub reset: u64,
}

impl From<Quota> for RateLimitState {
    fn from(q: Quota) -> Self {
        Self {
            limit: q.limit,
            remaining: q.remaining,
            reset: q.reset_secs,
        }
    }
}

/// Why a key is refused: the status and problem detail another endpoint would answer with.
#[derive(Debug, Serialize, ToSchema)]
pub struct DenialView {
    /// 401 (revoked, expired, rotated, disabled), 403 (IP) or 429 (rate limit).
    #[schema(example = 403)]
    pub status: u16,
    /// `revoked`, `expired`, `rotated`, `disabled`, `ip` or `rate_limit`.
    #[schema(example = "ip")]
    pub reason: &'static str,
    #[schema(
        example = "requests from 203.0.113.7 are not allowed for this API key (IP whitelist)"
    )]
    pub detail: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyRequestView {
    #[schema(example = "2026-11-26T10:05:00Z", format = DateTime)]
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
    description = "The keys the caller manages, newest first, with their scope, whitelist, expiry, status, maker (`created_by`) and last use: every key for a role with `keys:all` (admins), otherwise only the keys the caller created. Never the key itself.",
    params(PageQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "A page of keys", body = ListOf<ApiKeyView>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Called with an API key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    user: SessionUser,
    st: web::Data<AppState>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (limit, offset) = q.resolve()?;
    let st2 = st.clone();
    let mut all = blocking(move || Ok(st2.store.keys_with_usage()?)).await?;
    all.retain(|(k, _)| user.may_manage_key(k));
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

/// The key `id` if `user` manages it (`SessionUser::may_manage_key`); someone else's key is
/// "no such key", exactly like a missing one. Every handler of one key starts here.
async fn managed(
    user: &SessionUser,
    st: &web::Data<AppState>,
    id: KeyId,
) -> Result<(KeyRecord, KeyUsage), ApiError> {
    let st2 = st.clone();
    blocking(move || Ok(st2.store.key_with_usage(id)?))
        .await?
        .filter(|(k, _)| user.may_manage_key(k))
        .ok_or(ApiError::NotFound("API key"))
}

/// A key never holds a permission its creator's role lacks, whoever edits it: an admin
/// widening a member's key gets 403 too. A creator no longer on the team caps nothing here
/// (their keys are the team's to revoke or hand over).
async fn creator_may_hold(
    st: &web::Data<AppState>,
    key: &KeyRecord,
    wanted: Permissions,
) -> Result<(), ApiError> {
    let Some(creator) = key.created_by.clone() else {
        return Ok(());
    };
    let st2 = st.clone();
    let name = creator.clone();
    let Some(rec) = blocking(move || Ok(st2.store.user(name.as_str())?)).await? else {
        return Ok(());
    };
    match rec.role.lacks_any(wanted) {
        None => Ok(()),
        Some(p) => Err(ApiError::Forbidden(format!(
            "this key was created by {creator}, whose role ({}) cannot hold the permission {p} ({}); leave it out",
            rec.role,
            p.describe()
        ))),
    }
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
    description = "One API key: its scope, IP rule, expiry, permissions, rate limit, status and last use. The key's value is never shown again after it was created.",
    params(("id" = u64, Path, description = "Key id")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The key (without its value)", body = ApiKeyView),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn show(
    user: SessionUser,
    st: web::Data<AppState>,
    id: web::Path<KeyId>,
) -> Result<HttpResponse, ApiError> {
    let (k, u) = managed(&user, &st, *id).await?;
    Ok(HttpResponse::Ok().json(ApiKeyView::new(&st, k, u)))
}

#[utoipa::path(post, path = "/api/v1/api-keys", tag = "API Keys",
    summary = "Create an API key",
    description = "Creates a key scoped by domain, IP whitelist and expiry, with its permissions and an optional rate limit. A key never gets a permission its creator's role lacks: asking for one answers 403 naming it and the role, and without `permissions` the key gets every permission the role may grant (all of them for admins). The answer carries the key in `key`: the only time it is ever shown.",
    request_body(content = CreateApiKey, example = json!({"name": "Production API Key", "domains": ["go.example.com"], "allow_all_ips": false, "ip_whitelist": ["192.168.1.1"], "expires_at": "2027-01-31T23:59:00Z", "permissions": ["links:read", "links:write"], "rate_limit_per_minute": 600})),
    security(("session" = [])),
    responses(
        (status = 201, description = "Created; `key` is shown only here", body = CreatedApiKey),
        (status = 400, description = "Invalid field: empty whitelist with allow_all_ips false, bad IP/CIDR, past expiry, unknown domain, unknown or no permission, rate limit out of range", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A permission the caller's role may not grant", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    user: SessionUser,
    st: web::Data<AppState>,
    body: Json<CreateApiKey>,
) -> Result<HttpResponse, ApiError> {
    let spec = checked_spec(&user, &st, body.0, now())?;
    let by = user.by();
    let (plain, digest) = issue(&st.rng, &st.config.current().keys.prefix)
        .map_err(|_| ApiError::internal("no random source for a new key"))?;
    let prefix = plain.display_prefix();
    let st2 = st.clone();
    let rec = blocking(move || {
        Ok(st2
            .store
            .create_key(spec, prefix, digest, Source::Api, &by)?)
    })
    .await?;
    tracing::info!(key = rec.id, prefix = %rec.prefix, "API key created");
    let key_info = ApiKeyView::new(&st, rec, KeyUsage::default());
    Ok(HttpResponse::Created().json(CreatedApiKey {
        key_info,
        key: plain.into_string(),
    }))
}

/// A new key's fields through the gate (`KeyDraft::validate`), and its permissions within
/// what the creator's role may grant: the rules of one key, for `create` and `create_batch`.
fn checked_spec(
    user: &SessionUser,
    st: &AppState,
    b: CreateApiKey,
    at: Timestamp,
) -> Result<KeySpec, ApiError> {
    let asked = b.permissions.is_some();
    let spec = KeyDraft {
        name: b.name,
        domains: b.domains.unwrap_or_default(),
        allow_all_ips: b.allow_all_ips,
        ip_whitelist: b.ip_whitelist.unwrap_or_default(),
        expires_at: b.expires_at,
        permissions: b.permissions,
        rate_limit_per_minute: b.rate_limit_per_minute,
    }
    .validate(&st.store.catalog, at)?;
    // Without a list the key gets what the creator's role may grant, not everything.
    let permissions = if asked {
        user.may_grant(spec.permissions)?;
        spec.permissions
    } else {
        user.role.grantable_set()
    };
    Ok(KeySpec {
        created_by: Some(user.username.clone()),
        permissions,
        ..spec
    })
}

/// The most keys one batch may create: a batch is one request body (`JSON_LIMIT`) and one
/// transaction.
pub const MAX_BATCH: usize = 1000;

/// `POST /api-keys/batch`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeys {
    /// 1 to 1000 keys, each as `POST /api/v1/api-keys` takes it.
    #[schema(min_items = 1, max_items = 1000)]
    pub keys: Vec<CreateApiKey>,
}

/// The batch's keys in the order asked, each with its value, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKeys {
    pub keys: Vec<CreatedApiKey>,
}

#[utoipa::path(post, path = "/api/v1/api-keys/batch", tag = "API Keys",
    summary = "Create API keys in a batch",
    description = "Creates up to 1000 keys in one transaction: all of them or none. Each item takes the fields of `POST /api/v1/api-keys` and follows its rules: a bad field answers 400 naming the item (`keys[3].ip_whitelist[0]`, every bad field of every item at once), a permission the caller's role may not grant 403, and nothing is created. Each key gets its own `key.created` entry in the activity log. The answer lists the keys in the order asked, each with `key`: the only time it is ever shown.",
    request_body(content = CreateApiKeys, example = json!({"keys": [{"name": "ci-1", "domains": ["go.example.com"], "permissions": ["links:read"]}, {"name": "ci-2", "ip_whitelist": ["10.0.0.0/8"], "rate_limit_per_minute": 600}]})),
    security(("session" = [])),
    responses(
        (status = 201, description = "Created; each `key` is shown only here", body = CreatedApiKeys),
        (status = 400, description = "No keys, more than 1000, or an invalid field of an item (named `keys[i].field`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A permission the caller's role may not grant", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_batch(
    user: SessionUser,
    st: web::Data<AppState>,
    body: Json<CreateApiKeys>,
) -> Result<HttpResponse, ApiError> {
    let items = body.0.keys;
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(ApiError::invalid(
            "keys",
            format!("must hold 1 to {MAX_BATCH} keys"),
        ));
    }
    let at = now();
    let mut specs = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        match checked_spec(&user, &st, item, at) {
            Ok(spec) => specs.push(spec),
            // Every bad field of every item, each named by its item.
            Err(ApiError::Invalid(fields)) => {
                errors.extend(fields.into_iter().map(|f| FieldError {
                    field: format!("keys[{i}].{}", f.field),
                    message: f.message,
                }));
            }
            Err(other) => return Err(other),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let prefix = st.config.current().keys.prefix.clone();
    let mut plains = Vec::with_capacity(specs.len());
    let mut issued = Vec::with_capacity(specs.len());
    for spec in specs {
        let (plain, digest) = issue(&st.rng, &prefix)
            .map_err(|_| ApiError::internal("no random source for a new key"))?;
        issued.push(IssuedKey {
            spec,
            prefix: plain.display_prefix(),
            digest,
        });
        plains.push(plain);
    }
    let by = user.by();
    let st2 = st.clone();
    let recs = blocking(move || Ok(st2.store.create_keys(issued, Source::Api, &by)?)).await?;
    tracing::info!(
        count = recs.len(),
        first = recs.first().map(|r| r.id),
        last = recs.last().map(|r| r.id),
        "API keys created in a batch"
    );
    let keys = recs
        .into_iter()
        .zip(plains)
        .map(|(rec, plain)| CreatedApiKey {
            key_info: ApiKeyView::new(&st, rec, KeyUsage::default()),
            key: plain.into_string(),
        })
        .collect();
    Ok(HttpResponse::Created().json(CreatedApiKeys { keys }))
}

#[utoipa::path(put, path = "/api/v1/api-keys/{id}", tag = "API Keys",
    summary = "Update an API key",
    description = "Change name, domain scope, IP whitelist, expiry, permissions or rate limit. The key value never changes (roll the key for a new value). A key never gets a permission that the caller's role or the role of the user who created it lacks (403 naming it). Keys declared in the config file are read-only (409).",
    params(("id" = u64, Path, description = "Key id")),
    request_body(content = UpdateApiKey, example = json!({"name": "Renamed key", "allow_all_ips": true, "expires_at": null})),
    security(("session" = [])),
    responses(
        (status = 200, description = "Updated", body = ApiKeyView),
        (status = 400, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A permission the caller's role, or the key creator's, lacks", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Declared in the config file", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    user: SessionUser,
    st: web::Data<AppState>,
    id: web::Path<KeyId>,
    body: Json<UpdateApiKey>,
) -> Result<HttpResponse, ApiError> {
    let (rec, _) = managed(&user, &st, *id).await?;
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
        permissions: b
            .permissions
            .and_then(|p| errs.take_all(Permissions::parse("permissions", &p))),
        rate_limit: b
            .rate_limit_per_minute
            .map(|r| r.and_then(|n| errs.take(PerMinute::parse("rate_limit_per_minute", n)))),
    };
    errs.finish()?;
    if let Some(p) = patch.permissions {
        user.may_grant(p)?;
        creator_may_hold(&st, &rec, p).await?;
    }
    let id = *id;
    let st2 = st.clone();
    let by = user.by();
    blocking(move || Ok(st2.store.update_key(id, patch, &by)?)).await?;
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
    user: SessionUser,
    st: web::Data<AppState>,
    id: web::Path<KeyId>,
) -> Result<HttpResponse, ApiError> {
    let id = managed(&user, &st, *id).await?.0.id;
    let st2 = st.clone();
    let by = user.by();
    blocking(move || Ok(st2.store.revoke_key(id, &by)?)).await?;
    tracing::info!(key = id, "API key revoked");
    Ok(HttpResponse::Ok().json(load(&st, id).await?))
}

#[utoipa::path(post, path = "/api/v1/api-keys/{id}/roll", tag = "API Keys",
    summary = "Roll an API key",
    description = "Issues a new key with the same name, domain scope, IP rule, expiry, permissions and rate limit, and shows it once in `key`. The old key keeps working until `old_key_expires_at` (at once when that is null, absent or not in the future), then gets 401 saying it was rotated and when. Both keys are linked (`rotated_to`, `rotated_from`) and the roll is recorded in the audit log. Only an active key that was not rolled before can be rolled; keys declared in the config file are read-only.",
    params(("id" = u64, Path, description = "Key id")),
    request_body(content = RollApiKey, example = json!({"old_key_expires_at": "2027-01-31T23:59:00Z"})),
    security(("session" = [])),
    responses(
        (status = 201, description = "Rolled; `key` is the new key, shown only here", body = CreatedApiKey),
        (status = 400, description = "`old_key_expires_at` is not an RFC 3339 time", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Declared in the config file, not active, or already rolled", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn roll(
    user: SessionUser,
    st: web::Data<AppState>,
    id: web::Path<KeyId>,
    body: Json<RollApiKey>,
) -> Result<HttpResponse, ApiError> {
    managed(&user, &st, *id).await?;
    let at = now();
    let until = match body.0.old_key_expires_at {
        Some(raw) => parse_rfc3339(&raw, "old_key_expires_at")?,
        None => at,
    };
    let (plain, digest) = issue(&st.rng, &st.config.current().keys.prefix)
        .map_err(|_| ApiError::internal("no random source for a new key"))?;
    let prefix = plain.display_prefix();
    let id = *id;
    let st2 = st.clone();
    let by = user.by();
    let rolled = blocking(move || Ok(st2.store.roll_key(id, until, prefix, digest, &by)?)).await?;
    tracing::info!(
        old = rolled.old.id,
        new = rolled.new.id,
        prefix = %rolled.new.prefix,
        "API key rolled"
    );
    let key_info = ApiKeyView::new(&st, rolled.new, KeyUsage::default());
    Ok(HttpResponse::Created().json(CreatedApiKey {
        key_info,
        key: plain.into_string(),
    }))
}

#[utoipa::path(post, path = "/api/v1/api-keys/check", tag = "API Keys",
    summary = "Check a possibly leaked key",
    description = "Says whether a string is a well-formed key of this server (shape and checksum, offline) and, if it is one of this server's keys, which one, so that it can be revoked in one step. The key is never repeated in the answer or the log.",
    request_body(content = CheckApiKey),
    security(("session" = [])),
    responses(
        (status = 200, description = "What the string is", body = KeyCheck),
    ))]
pub async fn check(
    _user: SessionUser,
    st: web::Data<AppState>,
    body: Json<CheckApiKey>,
) -> Result<HttpResponse, ApiError> {
    let presented = body.0.key.trim().to_owned();
    let format = check_format(&presented, &st.config.current().keys.prefix);
    let found = match format {
        Ok(()) => {
            let digest = KeyDigest::of(&presented);
            let st2 = st.clone();
            blocking(move || Ok(st2.store.key_by_digest(&digest)?))
                .await?
                .as_ref()
                .map(FoundKey::of)
        }
        Err(_) => None,
    };
    Ok(HttpResponse::Ok().json(KeyCheck::new(format, found)))
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
    user: SessionUser,
    st: web::Data<AppState>,
    id: web::Path<KeyId>,
) -> Result<HttpResponse, ApiError> {
    let id = managed(&user, &st, *id).await?.0.id;
    let st2 = st.clone();
    let by = user.by();
    blocking(move || Ok(st2.store.delete_key(id, &by)?)).await?;
    tracing::info!(key = id, "API key deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// `?limit=&offset=&status=`: a page of the request log, optionally by status.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestsQuery {
    /// Items per page, 1 to 100 (default 20).
    #[serde(default, deserialize_with = "super::input::limit_number")]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    #[serde(default, deserialize_with = "super::input::offset_number")]
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// `all` (default), `ok` (answered below 400), `refused` (400 and up), a class (`2xx`,
    /// `3xx`, `4xx`, `5xx`) or one status (`429`).
    #[param(example = "refused")]
    pub status: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/api-keys/{id}/requests", tag = "API Keys",
    summary = "A key's recent requests",
    description = "The key's API requests, newest first (the last 1000 are kept; recorded in batches, so the newest may take a second to appear). Requests the key was refused for are listed too: revoked, expired, rotated or disabled, an address outside its IP whitelist, a missing permission, the rate limit. `status` keeps only `ok` ones (answered below 400), `refused` ones (400 and up), a class (`4xx`) or one status (`429`).",
    params(("id" = u64, Path, description = "Key id"), RequestsQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "A page of requests", body = ListOf<KeyRequestView>),
        (status = 400, description = "Invalid limit, offset or status", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn requests(
    user: SessionUser,
    st: web::Data<AppState>,
    id: web::Path<KeyId>,
    q: web::Query<RequestsQuery>,
) -> Result<HttpResponse, ApiError> {
    let (limit, offset) = PageQuery {
        limit: q.limit,
        offset: q.offset,
    }
    .resolve()?;
    let status = StatusFilter::parse(q.status.as_deref().unwrap_or(""))?;
    let id = managed(&user, &st, *id).await?.0.id;
    let st2 = st.clone();
    let (page, total) =
        blocking(move || Ok(st2.store.key_requests(id, status, offset, limit)?)).await?;
    let items: Vec<KeyRequestView> = page.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(ListOf {
        items,
        total,
        limit,
        offset,
    }))
}

/// `?bucket=hour|day&since=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// `hour` (default) or `day`.
    #[param(example = "hour")]
    pub bucket: Option<String>,
    /// The first bucket: the one holding this time (RFC 3339). Default: 48 hours or 30 days
    /// back. Hours are kept 8 days, days 400.
    #[param(example = "2026-11-25T00:00:00Z")]
    pub since: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsageView {
    /// `hour` or `day`.
    #[schema(example = "hour")]
    pub bucket: &'static str,
    /// Every bucket from `since` to the current one, oldest first (zeros included).
    pub points: Vec<UsagePoint>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsagePoint {
    /// When the bucket starts (UTC).
    #[schema(example = "2026-11-26T10:00:00Z", format = DateTime)]
    pub at: String,
    /// Requests answered below 400.
    #[schema(example = 120)]
    pub ok: u64,
    /// Requests refused (400 and up): the key revoked, expired, rotated or disabled, an
    /// address outside its IP whitelist, a missing permission, a domain out of scope, the
    /// rate limit, bad input.
    #[schema(example = 3)]
    pub refused: u64,
}

/// A key's counts from `since` (or the default span) to now, every bucket present.
pub async fn usage_points(
    st: &web::Data<AppState>,
    id: KeyId,
    bucket: Bucket,
    since: Option<Timestamp>,
) -> Result<Vec<(Timestamp, Counts)>, ApiError> {
    let (from, to) = bucket.span(since, now())?;
    let st2 = st.clone();
    let series = blocking(move || Ok(st2.store.key_usage_series(id, bucket, from, to)?)).await?;
    Ok(series
        .into_iter()
        .map(|(i, c)| (bucket.start(i), c))
        .collect())
}

#[utoipa::path(get, path = "/api/v1/api-keys/{id}/usage", tag = "API Keys",
    summary = "A key's requests per hour or day",
    description = "How many requests the key made per hour (kept 8 days) or per day (kept 400 days), answered (`ok`, below 400) and refused (400 and up: revoked, expired, rotated or disabled, an address outside its IP whitelist, a missing permission, a domain out of scope, the rate limit, bad input), every bucket from `since` to the current one, zeros included. Counted in batches, so the last second may not show yet. Members see only the keys they created.",
    params(("id" = u64, Path, description = "Key id"), UsageQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "Requests per bucket", body = UsageView,
            example = json!({"bucket": "hour", "points": [{"at": "2026-11-26T09:00:00Z", "ok": 120, "refused": 3}, {"at": "2026-11-26T10:00:00Z", "ok": 42, "refused": 0}]})),
        (status = 400, description = "Invalid bucket or since (not RFC 3339, in the future, or older than what is kept)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn usage(
    user: SessionUser,
    st: web::Data<AppState>,
    id: web::Path<KeyId>,
    q: web::Query<UsageQuery>,
) -> Result<HttpResponse, ApiError> {
    let bucket = match q.bucket.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        None => Bucket::Hour,
        Some(b) => Bucket::parse(b)?,
    };
    let since = q
        .since
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| parse_rfc3339(s, "since"))
        .transpose()?;
    let id = managed(&user, &st, *id).await?.0.id;
    let points = usage_points(&st, id, bucket, since)
        .await?
        .into_iter()
        .map(|(at, c)| UsagePoint {
            at: at.rfc3339(),
            ok: c.ok,
            refused: c.refused,
        })
        .collect();
    Ok(HttpResponse::Ok().json(UsageView {
        bucket: bucket.name(),
        points,
    }))
}

/// Disable or enable one of the caller's keys, and answer it as it is now.
async fn switch(
    user: &SessionUser,
    st: &web::Data<AppState>,
    id: KeyId,
    disable: bool,
) -> Result<HttpResponse, ApiError> {
    let id = managed(user, st, id).await?.0.id;
    let (st2, by) = (st.clone(), user.by());
    blocking(move || {
        Ok(if disable {
            st2.store.disable_key(id, &by)?
        } else {
            st2.store.enable_key(id, &by)?
        })
    })
    .await?;
    tracing::info!(key = id, disable, "API key switched");
    Ok(HttpResponse::Ok().json(load(st, id).await?))
}

#[utoipa::path(post, path = "/api/v1/api-keys/{id}/disable", tag = "API Keys",
    summary = "Disable an API key",
    description = "Switches the key off until it is enabled again: from the very next request it gets 401 saying it is disabled, and `GET /api/v1/keys/current` says so in `denial`. Unlike revoking, this can be undone. Only an active key can be disabled (disabling a disabled key changes nothing); keys declared in the config file are read-only.",
    params(("id" = u64, Path, description = "Key id")),
    security(("session" = [])),
    responses(
        (status = 200, description = "Disabled", body = ApiKeyView),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Declared in the config file, or revoked, expired or rotated", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn disable(
    user: SessionUser,
    st: web::Data<AppState>,
    id: web::Path<KeyId>,
) -> Result<HttpResponse, ApiError> {
    switch(&user, &st, *id, true).await
}

#[utoipa::path(post, path = "/api/v1/api-keys/{id}/enable", tag = "API Keys",
    summary = "Enable a disabled API key",
    description = "Makes a disabled key work again from the very next request, unless it expired or its roll's grace period ended meanwhile (then its status says so). A revoked key stays revoked (409); enabling an active key changes nothing; keys declared in the config file are read-only.",
    params(("id" = u64, Path, description = "Key id")),
    security(("session" = [])),
    responses(
        (status = 200, description = "Enabled", body = ApiKeyView),
        (status = 404, description = "No such key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Declared in the config file, or revoked, expired or rotated", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn enable(
    user: SessionUser,
    st: web::Data<AppState>,
    id: web::Path<KeyId>,
) -> Result<HttpResponse, ApiError> {
    switch(&user, &st, *id, false).await
}

#[utoipa::path(get, path = "/api/v1/keys/current", tag = "Keys",
    summary = "The calling key, and why it would be refused",
    description = "Describes the API key the request was made with: the playground's key check. It answers for a known key even when other endpoints would refuse it, and says why in `denial`: revoked, expired or rotated (and when), the client address outside the IP rule (`client_ip` is the address the server saw, after trusted proxies), or the rate limit used up. Asking does not count against the key's rate limit. Only a missing, malformed or unknown key gets 401.",
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The calling key", body = CurrentKey),
        (status = 401, description = "Missing, malformed or unknown key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn current(
    presented: PresentedKey,
    st: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let key_info = load(&st, presented.key.id).await?;
    let denial = presented.denial.map(|d| {
        let e = d.error();
        DenialView {
            status: actix_web::ResponseError::status_code(&e).as_u16(),
            reason: d.reason(),
            detail: e.detail(),
        }
    });
    Ok(HttpResponse::Ok().json(CurrentKey {
        key_info,
        client_ip: presented.ip.to_string(),
        ip_allowed: presented.ip_allowed,
        rate_limit: presented.quota.map(Into::into),
        denial,
    }))
}
