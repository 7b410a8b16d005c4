//! Invites (admins: the `team` right): a one-time link where someone picks their own username
//! and password and joins with the role the invite names. The link is in the create answer
//! only; the database keeps the SHA-256 of its token (`auth::invite`, `store::invites`).

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Json, ListOf, PageQuery};
use crate::audit::{Action, Entry};
use crate::auth::invite::InviteToken;
use crate::auth::SessionUser;
use crate::config::HumanDuration;
use crate::domain::{now, Role};
use crate::error::{blocking, public_base, ApiError, Problem};
use crate::state::AppState;
use crate::store::records::{InviteId, InviteRecord};
use crate::store::NewInvite;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        super::resource!("/invites")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(super::resource!("/invites/{id}").route(web::delete().to(withdraw)));
}

/// An invite lasts this long unless `expires_in` says otherwise.
pub const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(7 * 86_400);
/// The shortest and longest life an invite may be given.
pub const EXPIRES_IN_RANGE: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(60)..=Duration::from_secs(90 * 86_400);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvite {
    /// The role the invitee gets: `admin`, `member` or `viewer`.
    #[schema(example = "member")]
    pub role: String,
    /// How long the link works: a number and a unit (`m`, `h`, `d`), 1 minute to 90 days;
    /// default `7d`.
    #[schema(example = "7d")]
    pub expires_in: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedInvite {
    #[schema(example = 3)]
    pub id: InviteId,
    #[schema(example = "member")]
    pub role: String,
    /// The one-time link to give the invitee. Shown only here: it cannot be listed again.
    #[schema(
        example = "https://links.example.com/ui/invite?token=5f0c2e9a41b7d3c8e6f1a2b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8"
    )]
    pub url: String,
    #[schema(example = "2027-01-31T23:59:00Z", format = DateTime)]
    pub expires_at: String,
}

/// A pending invite. Never its link.
#[derive(Debug, Serialize, ToSchema)]
pub struct InviteView {
    #[schema(example = 3)]
    pub id: InviteId,
    #[schema(example = "member")]
    pub role: String,
    /// The admin who made it.
    #[schema(example = "admin")]
    pub created_by: String,
    #[schema(example = "2027-01-24T23:59:00Z", format = DateTime)]
    pub created_at: String,
    #[schema(example = "2027-01-31T23:59:00Z", format = DateTime)]
    pub expires_at: String,
}

impl From<InviteRecord> for InviteView {
    fn from(r: InviteRecord) -> Self {
        Self {
            id: r.id,
            role: r.role.to_string(),
            created_by: r.created_by.into_string(),
            created_at: r.created_at.rfc3339(),
            expires_at: r.expires_at.rfc3339(),
        }
    }
}

/// `expires_in` as a duration within [`EXPIRES_IN_RANGE`], or a 400 naming the field.
fn expires_in(raw: Option<&str>) -> Result<Duration, ApiError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_EXPIRES_IN);
    };
    let d = HumanDuration::try_from(raw.to_owned())
        .map_err(|_| {
            ApiError::invalid(
                "expires_in",
                format!("“{}” is not a duration like 30m, 48h or 7d", raw.trim()),
            )
        })?
        .0;
    if !EXPIRES_IN_RANGE.contains(&d) {
        return Err(ApiError::invalid(
            "expires_in",
            "must be from 1 minute (1m) to 90 days (90d)",
        ));
    }
    Ok(d)
}

#[utoipa::path(post, path = "/api/v1/invites", tag = "Team",
    summary = "Invite someone",
    description = "Makes a one-time link, `/ui/invite?token=…`, where the invitee chooses a username and password and joins with `role`. The link is in `url`, shown only in this answer (the server keeps a SHA-256 of its token). It works once, until `expires_at` (`expires_in`: 1 minute to 90 days, default 7 days) or until withdrawn. Admins only (the right `team`).",
    request_body(content = CreateInvite, example = json!({"role": "member", "expires_in": "7d"})),
    security(("session" = [])),
    responses(
        (status = 201, description = "Created; `url` is shown only here", body = CreatedInvite),
        (status = 400, description = "Invalid field: unknown role, `expires_in` not a duration or out of range", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (the right `team`), called with an API key, or without the X-CSRF-Token of the session", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    user: SessionUser,
    st: web::Data<AppState>,
    body: Json<CreateInvite>,
) -> Result<HttpResponse, ApiError> {
    let CreateInvite {
        role,
        expires_in: raw,
    } = body.0;
    let role = Role::parse("role", &role)?;
    let life = expires_in(raw.as_deref())?;
    let token = InviteToken::generate(&st.rng)?;
    let created_at = now();
    // In range by construction (90 days at most from a valid now), but computed from input.
    let expires_at = created_at
        .checked_plus_secs(i64::try_from(life.as_secs()).unwrap_or(i64::MAX))
        .ok_or_else(|| ApiError::invalid("expires_in", "ends past the year 9999"))?;
    let new = NewInvite {
        digest: token.digest(),
        role,
        created_by: user.username.clone(),
        created_at,
        expires_at,
    };
    let st2 = st.clone();
    let rec = blocking(move || Ok(st2.store.create_invite(new)?)).await?;
    tracing::info!(invite = rec.id, role = %rec.role, by = %user.username, expires_at = %rec.expires_at, "invite created");
    st.audit(
        Entry::new(&user.by(), Action::InviteCreated)
            .target(format!("invite {}", rec.id))
            .detail(format!(
                "role {}, expires {}",
                rec.role,
                rec.expires_at.rfc3339()
            )),
    );
    Ok(HttpResponse::Created().json(CreatedInvite {
        id: rec.id,
        role: rec.role.to_string(),
        url: format!("{}/ui/invite?token={}", public_base(), token.param()),
        expires_at: rec.expires_at.rfc3339(),
    }))
}

#[utoipa::path(get, path = "/api/v1/invites", tag = "Team", operation_id = "list_invites",
    summary = "List pending invites",
    description = "Invites that can still be used, newest first: their role, who made them and when they expire. Never their link. Admins only (the right `team`).",
    params(PageQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "A page of pending invites", body = ListOf<InviteView>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (the right `team`), or called with an API key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    _user: SessionUser,
    st: web::Data<AppState>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (limit, offset) = q.resolve()?;
    let st2 = st.clone();
    let all = blocking(move || Ok(st2.store.pending_invites(now())?)).await?;
    let total = all.len();
    let items = all
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(InviteView::from)
        .collect();
    Ok(HttpResponse::Ok().json(ListOf {
        items,
        total,
        limit,
        offset,
    }))
}

#[utoipa::path(delete, path = "/api/v1/invites/{id}", tag = "Team",
    summary = "Withdraw an invite",
    description = "The invite's link stops working at once; whoever opens it is told it was withdrawn. An invite already used cannot be withdrawn (409): remove the user instead. Admins only (the right `team`).",
    params(("id" = u64, Path, description = "Invite id")),
    security(("session" = [])),
    responses(
        (status = 204, description = "Withdrawn"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin (the right `team`), called with an API key, or without the X-CSRF-Token of the session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such invite, or already withdrawn", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The invite was already used", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn withdraw(
    user: SessionUser,
    st: web::Data<AppState>,
    id: web::Path<InviteId>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let st2 = st.clone();
    blocking(move || Ok(st2.store.withdraw_invite(id, now())?)).await?;
    tracing::info!(invite = id, by = %user.username, "invite withdrawn");
    st.audit(Entry::new(&user.by(), Action::InviteWithdrawn).target(format!("invite {id}")));
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_in_defaults_to_a_week_and_is_bounded() {
        assert_eq!(expires_in(None).unwrap(), DEFAULT_EXPIRES_IN);
        assert_eq!(expires_in(Some("48h")).unwrap().as_secs(), 48 * 3600);
        assert_eq!(expires_in(Some("1m")).unwrap().as_secs(), 60);
        assert_eq!(expires_in(Some("90d")).unwrap().as_secs(), 90 * 86_400);
        for bad in ["59s", "91d", "0m", "soon", "", "1y", "99999999999999999d"] {
            let e = expires_in(Some(bad)).unwrap_err();
            assert!(
                e.detail().starts_with("expires_in:"),
                "{bad}: {}",
                e.detail()
            );
        }
    }
}
