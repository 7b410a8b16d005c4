//! Sign-in and sign-out.

use std::net::IpAddr;

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Json;
use crate::auth::password;
use crate::auth::session::{SessionToken, COOKIE, TTL_SECS};
use crate::auth::{client_ip, SessionUser};
use crate::domain::{now, Username};
use crate::error::{blocking, ApiError, AuthFailure, Problem};
use crate::startup::AppState;
use crate::store::records::SessionRecord;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/session")
            .route(web::post().to(sign_in))
            .route(web::get().to(current))
            .route(web::delete().to(sign_out)),
    );
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

/// Check credentials and open a session. Failed attempts count against the caller's IP.
pub async fn open_session(
    st: &web::Data<AppState>,
    ip: IpAddr,
    username: String,
    password: String,
) -> Result<(SessionToken, SessionInfo), ApiError> {
    let limit = st.config.current().keys.max_failed_auth_per_minute;
    st.limiter.check(ip, limit)?;
    let st2 = st.clone();
    let user = blocking(move || {
        let rec = Username::parse(&username)
            .ok()
            .map(|u| st2.store.user(u.as_str()))
            .transpose()?
            .flatten();
        Ok(match rec {
            Some(r) if password::verify(&password, &r.password_hash) => Some(r.username),
            Some(_) => None,
            None => {
                password::verify_dummy(&password);
                None
            }
        })
    })
    .await?;
    let Some(username) = user else {
        st.limiter.record_failure(ip);
        st.metrics.auth_failure(AuthFailure::BadCredentials.label());
        return Err(ApiError::Unauthenticated(AuthFailure::BadCredentials));
    };
    let token = SessionToken::generate(&st.rng);
    let at = now();
    let rec = SessionRecord {
        username: username.clone(),
        created_at: at,
        expires_at: at.plus_secs(TTL_SECS),
    };
    let digest = token.digest();
    let st2 = st.clone();
    blocking(move || Ok(st2.store.create_session(&digest, &rec)?)).await?;
    tracing::info!(user = %username, "signed in");
    let info = SessionInfo {
        username: username.into_string(),
        csrf_token: token.csrf_token(),
    };
    Ok((token, info))
}

pub fn session_cookie(st: &AppState, token: &SessionToken) -> Cookie<'static> {
    Cookie::build(COOKIE, token.cookie_value())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(st.config.current().server.public_url.is_https())
        .max_age(CookieDuration::seconds(TTL_SECS))
        .finish()
}

pub fn cleared_cookie() -> Cookie<'static> {
    let mut c = Cookie::build(COOKIE, "")
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .finish();
    c.make_removal();
    c
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
        (status = 429, description = "Too many failed attempts from this address", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn sign_in(
    req: HttpRequest,
    st: web::Data<AppState>,
    body: Json<SignIn>,
) -> Result<HttpResponse, ApiError> {
    let ip = client_ip(&req, &st.config.current())
        .ok_or_else(|| ApiError::Forbidden("client address unknown".into()))?;
    let SignIn { username, password } = body.0;
    let (token, info) = open_session(&st, ip, username, password).await?;
    Ok(HttpResponse::Ok()
        .cookie(session_cookie(&st, &token))
        .json(info))
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
        username: user.username.into_string(),
        csrf_token: user.csrf_token,
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
    let digest = user.session_digest;
    let st2 = st.clone();
    blocking(move || Ok(st2.store.delete_session(&digest)?)).await?;
    tracing::info!(user = %user.username, "signed out");
    Ok(HttpResponse::NoContent().cookie(cleared_cookie()).finish())
}
