//! Sign-in, first-run setup and sign-out: plain HTML forms, no script needed.

use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::super::layout::bare;
use super::super::see_other;
use crate::api::session::{cleared_cookie, open_session, session_cookie};
use crate::auth::session::same_secret;
use crate::auth::{client_ip, page_user, password};
use crate::domain::{now, Password, Username};
use crate::error::{blocking, ApiError};
use crate::startup::AppState;
use crate::store::records::{Source, UserRecord};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/login")
            .route(web::get().to(login_page))
            .route(web::post().to(login)),
    )
    .service(
        web::resource("/setup")
            .route(web::get().to(setup_page))
            .route(web::post().to(setup)),
    )
    .service(web::resource("/logout").route(web::post().to(logout)));
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only local paths under /ui/ are followed after sign-in (no open redirect).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with("/ui/") && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/ui/",
    }
}

fn html(status: actix_web::http::StatusCode, page: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page.into_string())
}

fn login_form(next: &str, error: Option<&str>, username: &str) -> Markup {
    bare(
        "Sign in",
        html! {
            h1 { "Sign in to linkdock" }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form method="post" action="/ui/login" {
                input type="hidden" name="next" value=(next);
                label for="username" { "Username" }
                input #username name="username" autocomplete="username" required value=(username) autofocus;
                label for="password" { "Password" }
                input #password name="password" type="password" autocomplete="current-password" required;
                button.primary type="submit" { "Sign in" }
            }
        },
    )
}

async fn login_page(req: HttpRequest, q: web::Query<NextQuery>) -> HttpResponse {
    let next = safe_next(q.next.as_deref());
    if page_user(&req).is_some() {
        return see_other(next);
    }
    html(actix_web::http::StatusCode::OK, login_form(next, None, ""))
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

async fn login(
    req: HttpRequest,
    st: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> HttpResponse {
    let LoginForm {
        username,
        password,
        next,
    } = form.into_inner();
    let next = safe_next(next.as_deref()).to_owned();
    let Some(ip) = client_ip(&req, &st.config.current()) else {
        return html(
            actix_web::http::StatusCode::FORBIDDEN,
            login_form(&next, Some("client address unknown"), ""),
        );
    };
    match open_session(&st, ip, username.clone(), password).await {
        Ok((token, _)) => HttpResponse::SeeOther()
            .cookie(session_cookie(&st, &token))
            .insert_header((actix_web::http::header::LOCATION, next))
            .finish(),
        Err(e) => {
            let status = actix_web::ResponseError::status_code(&e);
            html(status, login_form(&next, Some(&e.detail()), &username))
        }
    }
}

#[derive(Deserialize)]
struct SetupQuery {
    token: Option<String>,
}

fn setup_form(token: &str, error: Option<&str>, username: &str) -> Markup {
    bare(
        "Set up",
        html! {
            h1 { "Welcome to linkdock" }
            p { "Choose the first administrator's name and password." }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form method="post" action="/ui/setup" {
                input type="hidden" name="token" value=(token);
                label for="username" { "Username" }
                input #username name="username" autocomplete="username" required value=(username) autofocus;
                label for="password" { "Password" }
                input #password name="password" type="password" autocomplete="new-password" minlength="8" required;
                label for="confirm" { "Repeat password" }
                input #confirm name="confirm" type="password" autocomplete="new-password" minlength="8" required;
                button.primary type="submit" { "Create administrator" }
            }
        },
    )
}

fn setup_closed() -> HttpResponse {
    html(
        actix_web::http::StatusCode::NOT_FOUND,
        bare(
            "Set up",
            html! {
                h1 { "Setup is not available" }
                p { "This link is invalid or was already used. " a href="/ui/login" { "Sign in" } "." }
            },
        ),
    )
}

async fn setup_page(st: web::Data<AppState>, q: web::Query<SetupQuery>) -> HttpResponse {
    let token = q.token.clone().unwrap_or_default();
    if !st.setup.accepts(&token) {
        return setup_closed();
    }
    html(
        actix_web::http::StatusCode::OK,
        setup_form(&token, None, ""),
    )
}

#[derive(Deserialize)]
struct SetupForm {
    token: String,
    username: String,
    password: String,
    confirm: String,
}

async fn setup(
    req: HttpRequest,
    st: web::Data<AppState>,
    form: web::Form<SetupForm>,
) -> HttpResponse {
    let SetupForm {
        token,
        username,
        password,
        confirm,
    } = form.into_inner();
    if !st.setup.accepts(&token) {
        return setup_closed();
    }
    let bad = |msg: &str| {
        html(
            actix_web::http::StatusCode::BAD_REQUEST,
            setup_form(&token, Some(msg), &username),
        )
    };
    let name = match Username::parse(&username) {
        Ok(n) => n,
        Err(e) => return bad(&e.to_string()),
    };
    if password != confirm {
        return bad("the two passwords differ");
    }
    let pw = match Password::parse(password.clone()) {
        Ok(p) => p,
        Err(e) => return bad(&e.to_string()),
    };
    let st2 = st.clone();
    let created = blocking(move || {
        let rec = UserRecord {
            username: name,
            password_hash: password::hash(&pw, &st2.rng).as_str().to_owned(),
            source: Source::Api,
            created_at: now(),
        };
        Ok(st2.store.create_first_user(&rec)?)
    })
    .await;
    match created {
        Ok(true) => {
            st.setup.close();
            tracing::info!(user = %username, "first administrator created through the setup page");
        }
        Ok(false) => {
            st.setup.close();
            return setup_closed();
        }
        Err(e) => return bad(&e.detail()),
    }
    login(
        req,
        st,
        web::Form(LoginForm {
            username,
            password,
            next: None,
        }),
    )
    .await
}

#[derive(Deserialize)]
struct LogoutForm {
    csrf_token: String,
}

async fn logout(
    req: HttpRequest,
    st: web::Data<AppState>,
    form: web::Form<LogoutForm>,
) -> Result<HttpResponse, ApiError> {
    if let Some(user) = page_user(&req) {
        if same_secret(&form.csrf_token, &user.csrf_token) {
            let digest = user.session_digest;
            let st2 = st.clone();
            blocking(move || Ok(st2.store.delete_session(&digest)?)).await?;
        }
    }
    Ok(HttpResponse::SeeOther()
        .cookie(cleared_cookie())
        .insert_header((actix_web::http::header::LOCATION, "/ui/login"))
        .finish())
}
