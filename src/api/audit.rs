//! The activity log: who did what, when and from where (signed-in users only; admins read
//! everyone's entries, others their own).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ListOf, PageQuery};
use crate::audit::AuditFilter;
use crate::auth::SessionUser;
use crate::error::{blocking, ApiError, Problem};
use crate::state::AppState;
use crate::store::records::AuditRecord;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource!("/audit").route(web::get().to(list)));
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Items per page, 1 to 100 (default 20).
    #[serde(default, deserialize_with = "super::input::limit_number")]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    #[serde(default, deserialize_with = "super::input::offset_number")]
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// Only entries of this actor (its `name`: a username, `key 3 (ldk_AbCd)`, …).
    #[param(example = "admin")]
    pub actor: Option<String>,
    /// Only actions starting with this: `key.` gives every key action, `key.revoked` one.
    #[param(example = "key.")]
    pub action: Option<String>,
    /// Only entries at or after this time (RFC 3339).
    #[param(example = "2026-11-01T00:00:00Z")]
    pub since: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActorView {
    /// `user`, `key`, `config` or `system`.
    #[schema(example = "user")]
    pub kind: &'static str,
    /// A username; `key <id> (<prefix>)`; the config file; `sweeper`, …
    #[schema(example = "admin")]
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    #[schema(example = 42)]
    pub id: u64,
    #[schema(example = "2026-11-26T10:05:00Z", format = DateTime)]
    pub at: String,
    pub actor: ActorView,
    /// A stable dotted name: `session.sign_in`, `key.created`, `links.imported`, …
    #[schema(example = "key.revoked")]
    pub action: String,
    /// What it was done to; empty when nothing in particular.
    #[schema(example = "key 3 (ldk_7Hq2)")]
    pub target: String,
    /// The caller's address (after trusted proxies); null for the sweeper, the config file
    /// and the command line.
    #[schema(example = "192.0.2.10")]
    pub client_ip: Option<String>,
    #[schema(example = "")]
    pub detail: String,
}

impl AuditEntryView {
    pub fn new(id: u64, r: AuditRecord) -> Self {
        Self {
            id,
            at: r.at.rfc3339(),
            actor: ActorView {
                kind: r.actor.kind.as_str(),
                name: r.actor.name,
            },
            action: r.action,
            target: r.target,
            client_ip: r.client_ip,
            detail: r.detail,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "Activity",
    summary = "The activity log",
    description = "Who did what, when and from which address, newest first: sign-ins (also failed ones: the username only when it names an account, else `unknown user`), sign-outs, password changes, API key changes, domain changes, link deletes, imports and exports (with counts), backups and config reloads. Redirects and key-authenticated reads are not listed one by one (their counts are in the keys' usage). Admins see everyone's entries; other users see only their own. Entries are kept `audit.retention_days` (default 90). No entry ever holds a password, key or session token. `action` matches a prefix (`key.` gives every key action).",
    params(AuditQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "A page of entries", body = ListOf<AuditEntryView>,
            example = json!({"items": [{"id": 42, "at": "2026-11-26T10:05:00Z", "actor": {"kind": "user", "name": "admin"}, "action": "key.revoked", "target": "key 3 (ldk_7Hq2)", "client_ip": "192.0.2.10", "detail": ""}, {"id": 41, "at": "2026-11-26T10:04:12Z", "actor": {"kind": "user", "name": "admin"}, "action": "session.sign_in", "target": "", "client_ip": "192.0.2.10", "detail": ""}], "total": 2, "limit": 20, "offset": 0})),
        (status = 400, description = "Invalid limit, offset, actor, action or since", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Called with an API key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    user: SessionUser,
    st: web::Data<AppState>,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let (limit, offset) = PageQuery {
        limit: q.limit,
        offset: q.offset,
    }
    .resolve()?;
    let filter = AuditFilter {
        only_user: user.activity_scope(),
        ..AuditFilter::parse(q.actor.as_deref(), q.action.as_deref(), q.since.as_deref())?
    };
    let st2 = st.clone();
    let (page, total) = blocking(move || Ok(st2.store.audit_page(&filter, offset, limit)?)).await?;
    let items: Vec<AuditEntryView> = page
        .into_iter()
        .map(|(id, r)| AuditEntryView::new(id, r))
        .collect();
    Ok(HttpResponse::Ok().json(ListOf {
        items,
        total,
        limit,
        offset,
    }))
}
