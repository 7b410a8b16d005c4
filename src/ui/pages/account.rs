//! Account: change your password. A plain HTML form (no script): it carries the CSRF token
//! as a field, and a change ends every session of the user but the new one it opens.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::render;
use crate::auth::session::{change_password, session_cookie};
use crate::auth::{ClientIp, CsrfForm, PageUser, SessionUser};
use crate::error::{blocking, ApiError};
use crate::state::AppState;
use crate::store::records::Source;
use crate::ui::Nav;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/account", web::get().to(page))
        .route("/account/password", web::post().to(submit));
}

#[derive(Deserialize)]
struct Shown {
    changed: Option<String>,
}

async fn declared_in_file(st: &web::Data<AppState>, user: &SessionUser) -> bool {
    let st2 = st.clone();
    let name = user.username.clone();
    blocking(move || Ok(st2.store.user(name.as_str())?))
        .await
        .ok()
        .flatten()
        .is_some_and(|u| u.source == Source::Config)
}

async fn page(
    PageUser(user): PageUser,
    st: web::Data<AppState>,
    q: web::Query<Shown>,
) -> HttpResponse {
    let declared = declared_in_file(&st, &user).await;
    let notice = q.changed.is_some().then_some(
        "Your password was changed. Every other session of your account has been signed out.",
    );
    account_page(&user, declared, notice, None, StatusCode::OK)
}

fn account_page(
    user: &SessionUser,
    declared: bool,
    notice: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let body: Markup = html! {
        header.page-header { h1 { "Account" } }
        p.lead { "Signed in as " strong { (user.username.as_str()) } "." }
        section.card aria-labelledby="password-title" {
            h2 #password-title { "Change Password" }
            @if declared {
                p.notice {
                    "This user is declared in the configuration file. Change its password hash "
                    "there (linkdock password hash prints one); the change applies on reload."
                }
            } @else {
                @if let Some(n) = notice { p.success role="status" { (n) } }
                @if let Some(e) = error { p.error role="alert" { (e) } }
                form method="post" action="/ui/account/password" {
                    input type="hidden" name="csrf_token" value=(user.csrf_token);
                    label for="current-password" { "Current password" }
                    input #current-password name="current_password" type="password" autocomplete="current-password" required;
                    label for="new-password" { "New password" }
                    input #new-password name="new_password" type="password" autocomplete="new-password" minlength="8" required aria-describedby="new-password-hint";
                    p.hint #new-password-hint { "At least 8 characters. Every other session of your account will be signed out." }
                    label for="repeat-password" { "Repeat new password" }
                    input #repeat-password name="repeat_password" type="password" autocomplete="new-password" minlength="8" required;
                    button.primary type="submit" { "Change Password" }
                }
            }
        }
    };
    let mut res = render(user, "Account", Nav::None, None, body);
    *res.status_mut() = status;
    res
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    repeat_password: String,
}

async fn submit(
    ClientIp(ip): ClientIp,
    st: web::Data<AppState>,
    CsrfForm(user, form): CsrfForm<PasswordForm>,
) -> HttpResponse {
    let fail =
        |status: StatusCode, message: &str| account_page(&user, false, None, Some(message), status);
    if form.new_password != form.repeat_password {
        return fail(StatusCode::BAD_REQUEST, "The two new passwords differ.");
    }
    match change_password(&st, ip, &user, form.current_password, form.new_password).await {
        Ok(opened) => HttpResponse::SeeOther()
            .cookie(session_cookie(&st, &opened.token))
            .insert_header((header::LOCATION, "/ui/account?changed=1"))
            .finish(),
        Err(e) => {
            let status = actix_web::ResponseError::status_code(&e);
            let message = match &e {
                ApiError::Invalid(errors)
                    if errors.iter().any(|f| f.field == "current_password") =>
                {
                    "The current password is not right.".to_owned()
                }
                ApiError::Invalid(_) => "The new password needs 8 to 1024 characters.".to_owned(),
                other => other.detail(),
            };
            let mut page = fail(status, &message);
            if let ApiError::TooManyRequests { retry_after_secs } = e {
                page.headers_mut()
                    .insert(header::RETRY_AFTER, retry_after_secs.into());
            }
            page
        }
    }
}
