//! The signed-in user's own account: who they are and what their role allows, and their open
//! sessions (device, address, last seen), which they may end one by one or all but the one
//! they are using. Sessions only: an API key belongs to no one's account here (403).
//! A session is named by its public id (`auth::session::SessionId`), never its token.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ListOf, PageQuery};
use crate::auth::session::{
    cleared_cookie, end_other_sessions, end_session_by_id, sessions_of, Ended, SessionSummary,
};
use crate::auth::SessionUser;
use crate::error::{blocking, ApiError, AuthFailure, Problem};
use crate::state::AppState;
use crate::store::records::Source;

/// Registered before any `/users/{id}` resource: the router tries resources in order, and
/// `{id}` would otherwise claim `me`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource!("/users/me").route(web::get().to(show)))
        .service(super::resource!("/users/me/sessions").route(web::get().to(sessions)))
        .service(
            super::resource!("/users/me/sessions/sign-out-others")
                .route(web::post().to(sign_out_others)),
        )
        .service(super::resource!("/users/me/sessions/{id}").route(web::delete().to(end_one)));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    #[schema(example = 2)]
    pub id: u64,
    #[schema(example = "ada")]
    pub username: String,
    /// `admin`, `member` or `viewer`.
    #[schema(example = "member", pattern = "^(admin|member|viewer)$")]
    pub role: String,
    pub source: Source,
    #[schema(example = "2026-11-26T10:00:00Z", format = DateTime)]
    pub created_at: String,
    /// `null`: never signed in (a session opened before sign-ins were recorded).
    #[schema(example = "2026-11-27T08:30:00Z", format = DateTime)]
    pub last_sign_in_at: Option<String>,
    /// What the role allows, by name (a 403 for a session names the right it lacks).
    #[schema(example = json!(["links:read", "links:write", "links:import", "links:export", "domains:read", "playground", "keys:own"]))]
    pub rights: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// The session's public id: not its token, and no way to it.
    #[schema(example = "3f9a61c2b07d4e15")]
    pub id: String,
    /// A few words from the browser's User-Agent at sign-in.
    #[schema(example = "Firefox on Windows")]
    pub device: String,
    /// The client address at sign-in (after trusted proxies); null for sessions opened before
    /// linkdock recorded it.
    #[schema(example = "203.0.113.7")]
    pub client_ip: Option<String>,
    #[schema(example = "2026-11-26T10:00:00Z", format = DateTime)]
    pub created_at: String,
    /// When the session was last used, to the minute.
    #[schema(example = "2026-11-27T08:41:00Z", format = DateTime)]
    pub last_seen_at: String,
    #[schema(example = "2026-12-03T10:00:00Z", format = DateTime)]
    pub expires_at: String,
    /// This request's own session.
    #[schema(example = false)]
    pub current: bool,
}

impl From<SessionSummary> for SessionView {
    fn from(s: SessionSummary) -> Self {
        Self {
            id: s.id.as_str().to_owned(),
            device: s.device.into_string(),
            client_ip: s.client_ip,
            created_at: s.created_at.rfc3339(),
            last_seen_at: s.last_seen_at.rfc3339(),
            expires_at: s.expires_at.rfc3339(),
            current: s.current,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignedOut {
    /// How many sessions ended.
    #[schema(example = 2)]
    pub ended: u64,
}

#[utoipa::path(get, path = "/api/v1/users/me", tag = "Account",
    summary = "Your account",
    description = "The signed-in user: name, role, where the account was declared (`api` or `config`), when it was created, and the rights the role grants, by name. For anyone signed in; API keys get 403.",
    security(("session" = [])),
    responses(
        (status = 200, description = "The signed-in user", body = Me, example = json!({"id": 2, "username": "ada", "role": "member", "source": "api", "created_at": "2026-11-26T10:00:00Z", "last_sign_in_at": "2026-11-27T08:30:00Z", "rights": ["links:read", "links:write", "links:import", "links:export", "domains:read", "playground", "keys:own"]})),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Called with an API key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn show(user: SessionUser, st: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let st2 = st.clone();
    let name = user.username.clone();
    let rec = blocking(move || Ok(st2.store.user(name.as_str())?))
        .await?
        // Removed between the session check and here: the session is over.
        .ok_or(ApiError::Unauthenticated(AuthFailure::SessionInvalid))?;
    Ok(HttpResponse::Ok().json(Me {
        id: rec.id,
        last_sign_in_at: rec.last_sign_in_at.map(crate::domain::Timestamp::rfc3339),
        username: rec.username.into_string(),
        role: rec.role.as_str().to_owned(),
        source: rec.source,
        created_at: rec.created_at.rfc3339(),
        rights: rec.role.rights().map(|r| r.as_str().to_owned()).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/users/me/sessions", tag = "Account",
    summary = "Your sessions",
    description = "Every open session of the signed-in user: the current one first (`current: true`), then the most recently seen. Each carries the device (from the User-Agent at sign-in), the address it signed in from, and when it was last used (updated at most once a minute). Sessions are named by a public id, never by their token.",
    params(PageQuery),
    security(("session" = [])),
    responses(
        (status = 200, description = "A page of sessions", body = ListOf<SessionView>, example = json!({"items": [{"id": "3f9a61c2b07d4e15", "device": "Firefox on Windows", "client_ip": "203.0.113.7", "created_at": "2026-11-26T10:00:00Z", "last_seen_at": "2026-11-27T08:41:00Z", "expires_at": "2026-12-03T10:00:00Z", "current": true}, {"id": "b41e07d29a5c8f30", "device": "Safari on iPhone", "client_ip": "198.51.100.20", "created_at": "2026-11-25T18:12:00Z", "last_seen_at": "2026-11-25T19:03:00Z", "expires_at": "2026-12-02T18:12:00Z", "current": false}], "total": 2, "limit": 20, "offset": 0})),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Called with an API key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn sessions(
    user: SessionUser,
    st: web::Data<AppState>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (limit, offset) = q.resolve()?;
    let all = sessions_of(&st, &user).await?;
    let total = all.len();
    let items: Vec<SessionView> = all
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(Into::into)
        .collect();
    Ok(HttpResponse::Ok().json(ListOf {
        items,
        total,
        limit,
        offset,
    }))
}

#[utoipa::path(delete, path = "/api/v1/users/me/sessions/{id}", tag = "Account",
    summary = "End one of your sessions",
    description = "Signs the session out on the server: its cookie answers 401 from the next request on. Ending the current session is signing out (its cookie is cleared too). An id that is not one of your open sessions answers 404, whoever's it is.",
    params(("id" = String, Path, description = "The session's public id, from the list of sessions", example = "b41e07d29a5c8f30")),
    security(("session" = [])),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Called with an API key, or without the X-CSRF-Token of the session", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "None of your open sessions has this id", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn end_one(
    user: SessionUser,
    st: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(match end_session_by_id(&st, &user, &id).await? {
        Ended::Other => HttpResponse::NoContent().finish(),
        Ended::Current => HttpResponse::NoContent().cookie(cleared_cookie()).finish(),
    })
}

#[utoipa::path(post, path = "/api/v1/users/me/sessions/sign-out-others", tag = "Account",
    summary = "Sign out everywhere else",
    description = "Ends every session of the signed-in user except the one making this request, on every other device and browser. No request body.",
    security(("session" = [])),
    responses(
        (status = 200, description = "How many sessions ended", body = SignedOut, example = json!({"ended": 2})),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Called with an API key, or without the X-CSRF-Token of the session", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn sign_out_others(
    user: SessionUser,
    st: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let ended = end_other_sessions(&st, &user).await?;
    Ok(HttpResponse::Ok().json(SignedOut { ended }))
}
