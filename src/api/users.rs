//! The team: users, their roles, password resets and removal (admins only: `Right::Team` in
//! `auth::permissions::SESSION_ROUTES`). The rules (declared users are read-only, the last
//! admin stays, a removal's keys) live in the store, shared with the Team page and the CLI.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Json, ListOf, PageQuery};
use crate::auth::SessionUser;
use crate::domain::Timestamp;
use crate::error::{blocking, ApiError, Problem};
use crate::state::AppState;
use crate::store::records::{Source, UserId, UserRecord};
use crate::store::KeysOfRemoved;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource!("/users").route(web::get().to(list)))
        // A literal `/users/<word>` route (the signed-in user's own, `/users/me`) must be
        // registered before this one, or `{id}` would claim it.
        .service(
            super::resource!("/users/{id}")
                .route(web::get().to(show))
                .route(web::patch().to(update))
                .route(web::delete().to(remove)),
        );
}

/// The wire form of a role.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // a schema for the documentation; the values are `domain::Role`
pub enum RoleName {
    Admin,
    Member,
    Viewer,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    #[schema(example = 2)]
    pub id: UserId,
    #[schema(example = "alice")]
    pub username: String,
    #[schema(value_type = RoleName, example = "member")]
    pub role: &'static str,
    /// `config`: declared in the config file's `[[users]]`, read-only here.
    pub source: Source,
    #[schema(example = "2026-11-26T10:00:00Z", format = DateTime)]
    pub created_at: String,
    /// `null`: never signed in.
    #[schema(example = "2026-11-27T08:30:00Z", format = DateTime)]
    pub last_sign_in_at: Option<String>,
}

impl From<UserRecord> for UserView {
    fn from(u: UserRecord) -> Self {
        Self {
            id: u.id,
            username: u.username.into_string(),
            role: u.role.as_str(),
            source: u.source,
            created_at: u.created_at.rfc3339(),
            last_sign_in_at: u.last_sign_in_at.map(Timestamp::rfc3339),
        }
    }
}

/// `PATCH /users/{id}`: a new role, a new password, or both.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// `admin`, `member` or `viewer`.
    #[schema(value_type = Option<RoleName>, example = "viewer")]
    pub role: Option<String>,
    /// A new password, 8 to 1024 characters: every session of the user ends at once.
    #[schema(
        example = "a new and longer passphrase",
        min_length = 8,
        max_length = 1024
    )]
    pub password: Option<String>,
}

/// `DELETE /users/{id}`: what happens to the API keys the user created.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RemoveQuery {
    /// `revoke` (the default): they stop working at once; `transfer`: they go to the user `to`
    /// and keep working.
    #[param(example = "revoke")]
    pub keys: Option<String>,
    /// The id of the user who receives the keys (with `keys=transfer`).
    #[param(example = 1)]
    pub to: Option<UserId>,
}

#[utoipa::path(get, path = "/api/v1/users", tag = "Team", operation_id = "list_users",
    summary = "List users",
    description = "Every user, newest first, with their role, where they were declared and when they last signed in. Admins only (the right `team`).",
    params(PageQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "A page of users", body = ListOf<UserView>),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin, or called with an API key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    _admin: SessionUser,
    st: web::Data<AppState>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (limit, offset) = q.resolve()?;
    let st2 = st.clone();
    let all = blocking(move || Ok(st2.store.users()?)).await?;
    let total = all.len();
    let items = all
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(UserView::from)
        .collect();
    Ok(HttpResponse::Ok().json(ListOf {
        items,
        total,
        limit,
        offset,
    }))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "Team",
    summary = "Get a user",
    description = "One user: role, source, creation and last sign-in. Admins only (the right `team`).",
    params(("id" = u64, Path, description = "User id")),
    security(("session" = [])),
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin, or called with an API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn show(
    _admin: SessionUser,
    st: web::Data<AppState>,
    id: web::Path<UserId>,
) -> Result<HttpResponse, ApiError> {
    let id = *id;
    let st2 = st.clone();
    let user = blocking(move || Ok(st2.store.user_by_id(id)?))
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    Ok(HttpResponse::Ok().json(UserView::from(user)))
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "Team",
    summary = "Change a user's role or password",
    description = "Set `role` (`admin`, `member`, `viewer`), `password`, or both. A new password ends every session of that user at once. The last admin cannot be demoted, and users declared in the config file are read-only (both 409). Admins only (the right `team`).",
    params(("id" = u64, Path, description = "User id")),
    request_body(content = UpdateUser, example = json!({"role": "viewer"})),
    security(("session" = [])),
    responses(
        (status = 200, description = "The user as changed", body = UserView),
        (status = 400, description = "Unknown role, a password of the wrong length, or nothing to change", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin, called with an API key, or without the X-CSRF-Token of the session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The last admin, or a user declared in the config file", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many password hashes at once; try again shortly", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    admin: SessionUser,
    st: web::Data<AppState>,
    id: web::Path<UserId>,
    body: Json<UpdateUser>,
) -> Result<HttpResponse, ApiError> {
    let UpdateUser { role, password } = body.0;
    let patch = st.user_patch(role.as_deref(), password).await?;
    let (st2, id, by) = (st.clone(), *id, admin.by());
    let user = blocking(move || Ok(st2.update_user(&by, id, &patch)?)).await?;
    Ok(HttpResponse::Ok().json(UserView::from(user)))
}

#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "Team",
    summary = "Remove a user",
    description = "Removes the user and ends their sessions at once. The API keys they created are revoked (`keys=revoke`, the default) or handed to another user (`keys=transfer&to=ID`), who becomes their `created_by`; all in one transaction. The last admin and users declared in the config file cannot be removed (409). Admins only (the right `team`).",
    params(("id" = u64, Path, description = "User id"), RemoveQuery),
    security(("session" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "A bad `keys` choice, or `to` missing, unknown or the user being removed", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin, called with an API key, or without the X-CSRF-Token of the session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The last admin, or a user declared in the config file", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove(
    admin: SessionUser,
    st: web::Data<AppState>,
    id: web::Path<UserId>,
    q: web::Query<RemoveQuery>,
) -> Result<HttpResponse, ApiError> {
    let keys = KeysOfRemoved::parse(q.keys.as_deref(), q.to)?;
    let (st2, id, by) = (st.clone(), *id, admin.by());
    blocking(move || Ok(st2.remove_user(&by, id, keys)?)).await?;
    Ok(HttpResponse::NoContent().finish())
}
