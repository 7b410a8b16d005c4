//! The Me page (`/ui/me`): your account (name, role and what it allows), your password, and
//! your sessions on other devices. Plain HTML forms (no script): each carries the CSRF token
//! as a field. A password change ends every session of the user but the new one it opens.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::render;
use crate::auth::session::{
    change_password, cleared_cookie, end_other_sessions, end_session_by_id, session_cookie,
    sessions_of, Ended, SessionSummary, SignInFrom,
};
use crate::auth::{ClientDevice, ClientIp, CsrfForm, PageUser, SessionUser};
use crate::domain::{Password, Timestamp};
use crate::error::{blocking, ApiError};
use crate::state::AppState;
use crate::store::records::{Source, UserRecord};
use crate::ui::{see_other, sentence, Nav};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/me", web::get().to(page))
        .route("/me/password", web::post().to(submit))
        .route(
            "/me/sessions/sign-out-others",
            web::post().to(sign_out_others),
        )
        .route("/me/sessions/{id}/sign-out", web::post().to(sign_out_one))
        // The page's old address, kept for bookmarks.
        .route("/account", web::get().to(|| async { see_other("/ui/me") }));
}

#[derive(Deserialize)]
struct Shown {
    changed: Option<String>,
    ended: Option<u64>,
    signed_out: Option<String>,
}

async fn page(
    PageUser(user): PageUser,
    st: web::Data<AppState>,
    q: web::Query<Shown>,
) -> HttpResponse {
    let notice = if q.changed.is_some() {
        Some(
            "Your password was changed. Every other session of your account has been signed out."
                .to_owned(),
        )
    } else if let Some(n) = q.ended {
        Some(match n {
            0 => "There was no other session to sign out.".to_owned(),
            1 => "Signed out 1 other session.".to_owned(),
            n => format!("Signed out {n} other sessions."),
        })
    } else {
        q.signed_out
            .is_some()
            .then(|| "That session was signed out.".to_owned())
    };
    me_page(&st, &user, notice.as_deref(), None, StatusCode::OK).await
}

/// Everything the page shows about the user, read together.
struct Facts {
    record: Option<UserRecord>,
    sessions: Vec<SessionSummary>,
}

async fn facts(st: &web::Data<AppState>, user: &SessionUser) -> Facts {
    let st2 = st.clone();
    let name = user.username.clone();
    let record = blocking(move || Ok(st2.store.user(name.as_str())?))
        .await
        .ok()
        .flatten();
    let sessions = sessions_of(st, user).await.unwrap_or_default();
    Facts { record, sessions }
}

async fn me_page(
    st: &web::Data<AppState>,
    user: &SessionUser,
    notice: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let f = facts(st, user).await;
    let declared = f
        .record
        .as_ref()
        .is_some_and(|u| u.source == Source::Config);
    let body: Markup = html! {
        header.page-header { h1 { "Your account" } }
        @if let Some(n) = notice { p.success role="status" { (n) } }
        @if let Some(e) = error { p.error role="alert" { (e) } }
        (account_section(user, f.record.as_ref()))
        (password_section(user, declared))
        (sessions_section(user, &f.sessions))
    };
    let mut res = render(user, "Your account", Nav::Me, None, body);
    *res.status_mut() = status;
    res
}

fn account_section(user: &SessionUser, record: Option<&UserRecord>) -> Markup {
    let role = user.role;
    html! {
        section.card.me-section aria-labelledby="account-title" {
            h2 #account-title { "Account" }
            dl.facts {
                dt { "Username" } dd { strong { (user.username.as_str()) } }
                dt { "Role" } dd { (role.as_str()) }
                @if let Some(r) = record {
                    dt { "Member since" } dd { (time(r.created_at)) }
                    @if r.source == Source::Config {
                        dt { "Declared in" } dd { "the configuration file" }
                    }
                }
            }
            h3 #rights-title { "What your role allows" }
            ul.rights aria-labelledby="rights-title" {
                @for right in role.rights() { li { (sentence(right.describe())) } }
            }
        }
    }
}

fn password_section(user: &SessionUser, declared: bool) -> Markup {
    html! {
        section.card.me-section aria-labelledby="password-title" {
            h2 #password-title { "Change Password" }
            @if declared {
                p.notice {
                    "This user is declared in the configuration file. Change its password hash "
                    "there (linkdock password hash prints one); the change applies on reload."
                }
            } @else {
                form method="post" action="/ui/me/password" {
                    input type="hidden" name="csrf_token" value=(user.csrf_token);
                    label for="current-password" { "Current password" }
                    input #current-password name="current_password" type="password" autocomplete="current-password" required;
                    label for="new-password" { "New password" }
                    input #new-password name="new_password" type="password" autocomplete="new-password" required
                        minlength=(Password::MIN_CHARS) aria-describedby="new-password-hint";
                    p.hint #new-password-hint { (Password::rule()) ". Every other session of your account will be signed out." }
                    label for="repeat-password" { "Repeat new password" }
                    input #repeat-password name="repeat_password" type="password" autocomplete="new-password" required
                        minlength=(Password::MIN_CHARS);
                    button.primary type="submit" { "Change Password" }
                }
            }
        }
    }
}

fn sessions_section(user: &SessionUser, sessions: &[SessionSummary]) -> Markup {
    let others = sessions.iter().filter(|s| !s.current).count();
    html! {
        section.me-section.me-sessions aria-labelledby="sessions-title" {
            h2 #sessions-title { "Your sessions" }
            p.lead {
                "Where your account is signed in. A session ends by itself a week after it "
                "was opened; sign out any you do not recognise."
            }
            @if others > 0 {
                form.inline-form method="post" action="/ui/me/sessions/sign-out-others" {
                    input type="hidden" name="csrf_token" value=(user.csrf_token);
                    button.danger #sign-out-others type="submit" { "Sign out everywhere else" }
                }
            }
            div.table-wrap {
                table #sessions .data {
                    caption.visually-hidden { "Your sessions" }
                    thead { tr {
                        th scope="col" { "Device" }
                        th scope="col" { "Address" }
                        th scope="col" { "Signed in" }
                        th scope="col" { "Last seen" }
                        th scope="col" { span.visually-hidden { "Actions" } }
                    } }
                    tbody #sessions-body {
                        @for s in sessions {
                            tr data-id=(s.id.as_str()) data-current[s.current] {
                                td data-label="Device" {
                                    (s.device.as_str())
                                    @if s.current { " " span.badge.status-active { "This device" } }
                                }
                                td data-label="Address" { (s.client_ip.as_deref().unwrap_or("unknown")) }
                                td data-label="Signed in" { (time(s.created_at)) }
                                td data-label="Last seen" { (time(s.last_seen_at)) }
                                // Nothing to do on this device's row (sign out is in the navigation).
                                td.actions data-empty[s.current] {
                                    @if !s.current {
                                        form method="post" action=(format!("/ui/me/sessions/{}/sign-out", s.id.as_str())) {
                                            input type="hidden" name="csrf_token" value=(user.csrf_token);
                                            button type="submit" {
                                                "Sign out"
                                                span.visually-hidden { " " (s.device.as_str()) ", signed in " (s.created_at.rfc3339()) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A time the shell script shows in the reader's local time; UTC until it does.
fn time(t: Timestamp) -> Markup {
    html! { time.local datetime=(t.rfc3339()) { (t.rfc3339()) } }
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    repeat_password: String,
}

async fn submit(
    ClientIp(ip): ClientIp,
    ClientDevice(device): ClientDevice,
    st: web::Data<AppState>,
    CsrfForm(user, form): CsrfForm<PasswordForm>,
) -> HttpResponse {
    if form.new_password != form.repeat_password {
        return me_page(
            &st,
            &user,
            None,
            Some("The two new passwords differ."),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let from = SignInFrom { ip, device };
    match change_password(&st, from, &user, form.current_password, form.new_password).await {
        Ok(opened) => HttpResponse::SeeOther()
            .cookie(session_cookie(&st, &opened.token))
            .insert_header((header::LOCATION, "/ui/me?changed=1"))
            .finish(),
        Err(e) => {
            let status = actix_web::ResponseError::status_code(&e);
            let message = match &e {
                ApiError::Invalid(errors)
                    if errors.iter().any(|f| f.field == "current_password") =>
                {
                    "The current password is not right.".to_owned()
                }
                ApiError::Invalid(_) => format!("The new password needs {}.", Password::rule()),
                other => sentence(&other.detail()),
            };
            let mut page = me_page(&st, &user, None, Some(&message), status).await;
            if let ApiError::TooManyRequests { retry_after_secs } = e {
                page.headers_mut()
                    .insert(header::RETRY_AFTER, retry_after_secs.into());
            }
            page
        }
    }
}

async fn sign_out_others(
    st: web::Data<AppState>,
    CsrfForm(user, ()): CsrfForm,
) -> Result<HttpResponse, ApiError> {
    let ended = end_other_sessions(&st, &user).await?;
    Ok(see_other(&format!("/ui/me?ended={ended}")))
}

async fn sign_out_one(
    st: web::Data<AppState>,
    id: web::Path<String>,
    CsrfForm(user, ()): CsrfForm,
) -> Result<HttpResponse, ApiError> {
    match end_session_by_id(&st, &user, &id).await? {
        Ended::Other => Ok(see_other("/ui/me?signed_out=1")),
        Ended::Current => Ok(HttpResponse::SeeOther()
            .cookie(cleared_cookie())
            .insert_header((header::LOCATION, "/ui/login"))
            .finish()),
    }
}
