//! The team: users, their roles, password resets and removal (admins only: `Right::Team` in
//! `auth::permissions::SESSION_ROUTES`). The rules (declared users are read-only, the last
//! admin stays, a removal's keys) live in the store, shared with the Team page and the CLI.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Json, ListOf, PageQuery};
use crate::auth::SessionUser;
use crate::domain::{Password, Role, Timestamp};
use crate::error::{blocking, ApiError, Problem};
use crate::state::AppState;
use crate::store::records::{Source, UserId, UserRecord};
use crate::store::{KeysOfRemoved, UserPatch};

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
    #[schema(example = "a new and longer passphrase", min_length = 8, max_length = 1024)]
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

impl RemoveQuery {
    /// The wire choice as the store's; a bad one is a 400 naming the parameter.
    pub fn disposal(&self) -> Result<KeysOfRemoved, ApiError> {
        match (self.keys.as_deref().map(str::trim), self.to) {
            (None | Some("revoke"), None) => Ok(KeysOfRemoved::Revoke),
            (None | Some("revoke"), Some(_)) => Err(ApiError::invalid(
                "to",
                "is only for keys=transfer; revoking needs no other user",
            )),
            (Some("transfer"), Some(to)) => Ok(KeysOfRemoved::Transfer(to)),
            (Some("transfer"), None) => Err(ApiError::invalid(
                "to",
                "is required with keys=transfer: the id of the user who receives the keys",
            )),
            (Some(other), _) => Err(ApiError::invalid(
                "keys",
                format!("“{other}” is not a choice; the choices are revoke, transfer"),
            )),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/users", tag = "Team",
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

/// Parse a wire change into the store's, hashing a new password off the reactor.
pub async fn patch_of(
    st: &AppState,
    role: Option<&str>,
    password: Option<String>,
) -> Result<UserPatch, ApiError> {
    let role = role.map(|r| Role::parse("role", r)).transpose()?;
    let password = password
        .map(|p| Password::parse(p).map_err(|e| e.at("password")))
        .transpose()?;
    if role.is_none() && password.is_none() {
        return Err(ApiError::invalid(
            "body",
            "must change something: give a role or a password",
        ));
    }
    let password_hash = match password {
        Some(p) => Some(
            st.passwords
                .hash(p)
                .await
                .map_err(|b| ApiError::TooManyRequests {
                    retry_after_secs: b.0,
                })?
                .ok_or_else(|| ApiError::internal("no random source for a password salt"))?,
        ),
        None => None,
    };
    Ok(UserPatch {
        role,
        password_hash,
    })
}

/// Apply a change and log it with the acting admin (never the password).
pub async fn apply_patch(
    st: &web::Data<AppState>,
    admin: &SessionUser,
    id: UserId,
    patch: UserPatch,
) -> Result<UserRecord, ApiError> {
    let st2 = st.clone();
    let reset = patch.password_hash.is_some();
    let role = patch.role;
    let (user, ended) = blocking(move || Ok(st2.store.update_user(id, &patch)?)).await?;
    if let Some(role) = role {
        tracing::info!(by = %admin.username, user = %user.username, %role, "user role set");
    }
    if reset {
        tracing::info!(by = %admin.username, user = %user.username, sessions_ended = ended, "user password reset");
    }
    Ok(user)
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
    let patch = patch_of(&st, role.as_deref(), password).await?;
    let user = apply_patch(&st, &admin, *id, patch).await?;
    Ok(HttpResponse::Ok().json(UserView::from(user)))
}

/// Remove a user and log it with the acting admin.
pub async fn remove_user(
    st: &web::Data<AppState>,
    admin: &SessionUser,
    id: UserId,
    keys: KeysOfRemoved,
) -> Result<(), ApiError> {
    let st2 = st.clone();
    let r = blocking(move || Ok(st2.store.remove_user(id, keys)?)).await?;
    match &r.heir {
        Some(heir) => tracing::info!(by = %admin.username, user = %r.user.username,
            sessions_ended = r.sessions_ended, keys_transferred = r.keys.len(), to = %heir, "user removed"),
        None => tracing::info!(by = %admin.username, user = %r.user.username,
            sessions_ended = r.sessions_ended, keys_revoked = r.keys.len(), "user removed"),
    }
    Ok(())
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
    let keys = q.disposal()?;
    remove_user(&st, &admin, *id, keys).await?;
    Ok(HttpResponse::NoContent().finish())
}
