//! Sign-in, first-run setup and sign-out: plain HTML forms, no script needed.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::super::layout::bare;
use super::super::{see_other, sentence};
use crate::audit::{Actor, By};
use crate::auth::session::{
    cleared_cookie, close_session, open_session, session_cookie, SignInFrom,
};
use crate::auth::{ClientDevice, ClientIp, CsrfForm, MaybePageUser, SameOrigin};
use crate::domain::{Password, PasswordHash, Role, Username};
use crate::error::{blocking, ApiError};
use crate::state::AppState;
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

/// Only local paths under /ui/ are followed after sign-in (no open redirect), written in
/// plain visible ASCII: anything else (a CR/LF, a space, a scheme) is dropped for `/ui/`.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with("/ui/")
                && !n.contains("//")
                && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            n
        }
        _ => "/ui/",
    }
}

fn html(status: StatusCode, page: Markup) -> HttpResponse {
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

/// Before any user exists nobody can sign in: say so, and how to get in, instead of a form
/// that could only answer "wrong username or password".
fn first_run() -> Markup {
    bare(
        "Sign in",
        html! {
            h1 { "Sign in to linkdock" }
            div.notice role="status" {
                p { strong { "linkdock has no users yet," } " so nobody can sign in. There are two ways in:" }
            }
            ol.first-run {
                li {
                    strong { "The setup link in the log." }
                    " When linkdock starts without a user it writes a one-time link to its log, like "
                    code { "/ui/setup?token=…" } ". Open it to choose the first administrator's name and password. "
                    "The link works once; restart linkdock to get a new one."
                }
                li {
                    strong { "An administrator password from the environment." }
                    " Start linkdock with " code { "LINKDOCK_ADMIN_PASSWORD" }
                    " set: it creates the user " code { "admin" } " with that password, and you sign in here as admin."
                }
            }
            p.muted { "This page shows the sign-in form as soon as a user exists." }
            p { a href="/ui/login" { "Check again" } }
        },
    )
}

/// Whether nobody can sign in yet (a store failure shows the form, which then says why).
fn no_users(st: &AppState) -> bool {
    st.store.user_count().is_ok_and(|n| n == 0)
}

async fn login_page(
    visitor: MaybePageUser,
    st: web::Data<AppState>,
    q: web::Query<NextQuery>,
) -> HttpResponse {
    let next = safe_next(q.next.as_deref());
    if visitor.0.is_some() {
        return see_other(next);
    }
    if no_users(&st) {
        return html(StatusCode::OK, first_run());
    }
    html(StatusCode::OK, login_form(next, None, ""))
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

async fn login(
    _: SameOrigin,
    ClientIp(ip): ClientIp,
    ClientDevice(device): ClientDevice,
    st: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> HttpResponse {
    let LoginForm {
        username,
        password,
        next,
    } = form.into_inner();
    let from = SignInFrom { ip, device };
    sign_in(&st, from, username, password, safe_next(next.as_deref())).await
}

/// Open a session and go to `next`, or show the form again with the reason.
async fn sign_in(
    st: &web::Data<AppState>,
    from: SignInFrom,
    username: String,
    password: String,
    next: &str,
) -> HttpResponse {
    match open_session(st, from, username.clone(), password).await {
        Ok(opened) => HttpResponse::SeeOther()
            .cookie(session_cookie(st, &opened.token))
            .insert_header((header::LOCATION, next.to_owned()))
            .finish(),
        Err(e) if no_users(st) => {
            let status = actix_web::ResponseError::status_code(&e);
            html(status, first_run())
        }
        Err(e) => {
            let status = actix_web::ResponseError::status_code(&e);
            let mut page = html(
                status,
                login_form(next, Some(&sentence(&e.detail())), &username),
            );
            if let ApiError::TooManyRequests { retry_after_secs } = e {
                page.headers_mut()
                    .insert(header::RETRY_AFTER, retry_after_secs.into());
            }
            page
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
                // The rule is the one `Password::parse` enforces, stated before it is failed.
                input #password name="password" type="password" autocomplete="new-password" required
                    minlength=(Password::MIN_CHARS) aria-describedby="password-rule";
                p.hint #password-rule { (Password::rule()) "." }
                label for="confirm" { "Repeat password" }
                input #confirm name="confirm" type="password" autocomplete="new-password" required
                    minlength=(Password::MIN_CHARS);
                button.primary type="submit" { "Create administrator" }
            }
        },
    )
}

fn setup_closed() -> HttpResponse {
    html(
        StatusCode::NOT_FOUND,
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
    if !st.store.setup_accepts(&token) {
        return setup_closed();
    }
    html(StatusCode::OK, setup_form(&token, None, ""))
}

#[derive(Deserialize)]
struct SetupForm {
    token: String,
    username: String,
    password: String,
    confirm: String,
}

async fn setup(
    _: SameOrigin,
    ClientIp(ip): ClientIp,
    ClientDevice(device): ClientDevice,
    st: web::Data<AppState>,
    form: web::Form<SetupForm>,
) -> HttpResponse {
    let SetupForm {
        token,
        username,
        password,
        confirm,
    } = form.into_inner();
    if !st.store.setup_accepts(&token) {
        return setup_closed();
    }
    let bad = |msg: &str| {
        html(
            StatusCode::BAD_REQUEST,
            setup_form(&token, Some(msg), &username),
        )
    };
    let name = match Username::parse(&username) {
        Ok(n) => n,
        Err(e) => return bad(&sentence(&format!("the username {}", e.message))),
    };
    if password != confirm {
        return bad("The two passwords differ.");
    }
    let pw = match Password::parse(password.clone()) {
        Ok(p) => p,
        Err(e) => return bad(&sentence(&format!("the password {}", e.message))),
    };
    let st2 = st.clone();
    let created = blocking(move || {
        let rec = UserRecord::new(
            name,
            PasswordHash::new(&pw, &st2.rng)
                .map_err(|_| ApiError::internal("no random source for a password salt"))?,
            Source::Api,
            Role::Admin,
        );
        // Whoever held the setup link is the user it created.
        let by = By::new(Actor::user(rec.username.as_str()), Some(ip));
        Ok(st2.store.create_first_user(&rec, &by)?)
    })
    .await;
    match created {
        Ok(true) => {
            tracing::info!(user = %username, "first administrator created through the setup page");
        }
        Ok(false) => return setup_closed(),
        Err(e) => return bad(&sentence(&e.detail())),
    }
    sign_in(&st, SignInFrom { ip, device }, username, password, "/ui/").await
}

/// Sign out: the form carries the CSRF token (a cross-site page cannot sign anyone out), and
/// the session ends on the server, not only in the browser.
async fn logout(
    st: web::Data<AppState>,
    CsrfForm(user, ()): CsrfForm,
) -> Result<HttpResponse, ApiError> {
    close_session(&st, &user).await?;
    tracing::info!(user = %user.username, "signed out");
    Ok(HttpResponse::SeeOther()
        .cookie(cleared_cookie())
        .insert_header((header::LOCATION, "/ui/login"))
        .finish())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_plain_local_ui_paths_are_followed() {
        assert_eq!(safe_next(Some("/ui/links?page=2")), "/ui/links?page=2");
        for bad in [
            "/ui/\r\nSet-Cookie: x=1",
            "/ui/ x",
            "//evil.example/ui/",
            "/ui//evil.example",
            "https://evil.example/ui/",
            "/ui/\\evil",
            "/api/v1/links",
            "/ui/caf\u{e9}",
        ] {
            assert_eq!(safe_next(Some(bad)), "/ui/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/ui/");
    }
}
