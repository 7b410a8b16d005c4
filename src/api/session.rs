//! Sign-in and sign-out.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Json;
use crate::auth::session::{
    self, cleared_cookie, close_session, open_session, session_cookie, SignInFrom,
};
use crate::auth::{ClientDevice, ClientIp, SameOrigin, SessionUser};
use crate::error::{ApiError, Problem};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        super::resource!("/session")
            .route(web::post().to(sign_in))
            .route(web::get().to(current))
            .route(web::delete().to(sign_out)),
    )
    .service(super::resource!("/session/password").route(web::put().to(change_password)));
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[schema(example = "correct horse battery staple")]
    pub current_password: String,
    /// 8 to 1024 characters.
    #[schema(
        example = "a new and longer passphrase",
        min_length = 8,
        max_length = 1024
    )]
    pub new_password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    #[schema(example = "admin")]
    pub username: String,
    #[schema(example = "correct horse battery staple")]
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    #[schema(example = "admin")]
    pub username: String,
    /// Send as `X-CSRF-Token` with every unsafe request made with the session cookie.
    pub csrf_token: String,
}

#[utoipa::path(post, path = "/api/v1/session", tag = "Session",
    summary = "Sign in",
    description = "Check a username and password and open a session. The answer sets an `HttpOnly; SameSite=Strict` cookie and carries the CSRF token to send as `X-CSRF-Token` on unsafe requests.",
    request_body(content = SignIn, example = json!({"username": "admin", "password": "correct horse battery staple"})),
    security(()),
    responses(
        (status = 200, description = "Signed in", body = SessionInfo, example = json!({"username": "admin", "csrf_token": "9f2c…"})),
        (status = 400, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong username or password", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Sent from a page of another origin", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts from this address", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn sign_in(
    _: SameOrigin,
    ClientIp(ip): ClientIp,
    ClientDevice(device): ClientDevice,
    st: web::Data<AppState>,
    body: Json<SignIn>,
) -> Result<HttpResponse, ApiError> {
    let SignIn { username, password } = body.0;
    let opened = open_session(&st, SignInFrom { ip, device }, username, password).await?;
    Ok(HttpResponse::Ok()
        .cookie(session_cookie(&st, &opened.token))
        .json(SessionInfo {
            username: opened.username.into_string(),
            csrf_token: opened.csrf_token,
        }))
}

#[utoipa::path(get, path = "/api/v1/session", tag = "Session",
    summary = "Current session",
    description = "The signed-in user and the CSRF token of the session.",
    security(("session" = [])),
    responses(
        (status = 200, description = "Signed in", body = SessionInfo),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn current(user: SessionUser) -> HttpResponse {
    HttpResponse::Ok().json(SessionInfo {
        csrf_token: user.csrf_token.as_str().to_owned(),
        username: user.username.into_string(),
    })
}

#[utoipa::path(delete, path = "/api/v1/session", tag = "Session",
    summary = "Sign out",
    description = "End the session and clear its cookie.",
    security(("session" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Missing or wrong X-CSRF-Token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn sign_out(
    st: web::Data<AppState>,
    user: SessionUser,
) -> Result<HttpResponse, ApiError> {
    close_session(&st, &user).await?;
    tracing::info!(user = %user.username, "signed out");
    Ok(HttpResponse::NoContent().cookie(cleared_cookie()).finish())
}

#[utoipa::path(put, path = "/api/v1/session/password", tag = "Session",
    summary = "Change your password",
    description = "Checks the current password, sets the new one and ends every session of the user (on every device); the answer opens a fresh session for the caller, with a new cookie and CSRF token. Users declared in the config file change their password hash there (409).",
    request_body(content = PasswordChange, example = json!({"current_password": "correct horse battery staple", "new_password": "a new and longer passphrase"})),
    security(("session" = [])),
    responses(
        (status = 200, description = "Changed; a fresh session", body = SessionInfo),
        (status = 400, description = "Wrong current password or an invalid new one", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Missing or wrong X-CSRF-Token, or called with an API key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The user is declared in the config file", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts from this address", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_password(
    ClientIp(ip): ClientIp,
    ClientDevice(device): ClientDevice,
    st: web::Data<AppState>,
    user: SessionUser,
    body: Json<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    let PasswordChange {
        current_password,
        new_password,
    } = body.0;
    let from = SignInFrom { ip, device };
    let opened = session::change_password(&st, from, &user, current_password, new_password).await?;
    Ok(HttpResponse::Ok()
        .cookie(session_cookie(&st, &opened.token))
        .json(SessionInfo {
            username: opened.username.into_string(),
            csrf_token: opened.csrf_token,
        }))
}
