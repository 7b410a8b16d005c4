//! The invitee's page, `/ui/invite?token=…`: no session needed, the token is the secret. A
//! pending invite shows "choose a username and password"; the form posts back here with the
//! token in a hidden field (same-origin only, like sign-in), and success opens a session. A
//! used, expired, withdrawn or unknown link gets one plain sentence and makes nobody.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::super::layout::bare;
use super::super::sentence;
use crate::auth::invite::{accept, look_up, Lookup, Refusal};
use crate::auth::session::{session_cookie, SignInFrom};
use crate::auth::{ClientDevice, ClientIp, SameOrigin};
use crate::domain::{Password, Role};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::records::InviteStatus;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/invite")
            .route(web::get().to(page))
            .route(web::post().to(submit)),
    );
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

#[derive(Deserialize)]
struct JoinForm {
    token: String,
    username: String,
    password: String,
    confirm: String,
}

fn html(status: StatusCode, page: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page.into_string())
}

/// The error of one field, shown under it (and named by its `aria-describedby`).
struct FieldError {
    field: &'static str,
    message: String,
}

fn join_form(token: &str, role: Role, username: &str, error: Option<&FieldError>) -> Markup {
    let error_for = |f: &str| error.filter(|e| e.field == f).map(|e| e.message.as_str());
    let input_field = |id: &'static str,
                       label: &str,
                       kind: &str,
                       autocomplete: &str,
                       value: &str,
                       hint: Option<&str>| {
        let err = error_for(id);
        let mut described = Vec::new();
        if hint.is_some() {
            described.push(format!("{id}-hint"));
        }
        if err.is_some() {
            described.push(format!("{id}-error"));
        }
        let described = (!described.is_empty()).then(|| described.join(" "));
        html! {
            label for=(id) { (label) }
            input id=(id) name=(id) type=(kind) autocomplete=(autocomplete) required
                value=[(kind == "text").then_some(value)]
                aria-invalid=[err.map(|_| "true")]
                aria-describedby=[described]
                autofocus[err.is_some() || (id == "username" && error.is_none())];
            @if let Some(h) = hint { p.hint id=(format!("{id}-hint")) { (h) } }
            @if let Some(e) = err { p.field-error id=(format!("{id}-error")) role="alert" { (e) } }
        }
    };
    bare(
        "Join linkdock",
        html! {
            h1 { "Join linkdock" }
            p { "You are invited as " strong { (role.as_str()) } ": " (role.describe()) "." }
            form method="post" action="/ui/invite" {
                input type="hidden" name="token" value=(token);
                (input_field("username", "Choose a username", "text", "username", username,
                    Some("1 to 64 characters: letters, digits, _ . and -")))
                (input_field("password", "Choose a password", "password", "new-password", "",
                    Some(&format!("{}.", Password::rule()))))
                (input_field("confirm", "Repeat the password", "password", "new-password", "", None))
                button.primary type="submit" { "Join" }
            }
        },
    )
}

/// The one sentence a link that no longer works gets, and its status: 410 for an invite that
/// existed, 404 for a token that never was one.
fn closed(status: Option<InviteStatus>) -> HttpResponse {
    let (code, text) = match status {
        Some(InviteStatus::Used) => (StatusCode::GONE, "This invite link has already been used."),
        Some(InviteStatus::Expired) => (StatusCode::GONE, "This invite link has expired."),
        Some(InviteStatus::Withdrawn) => (StatusCode::GONE, "This invite link was withdrawn."),
        Some(InviteStatus::Pending) | None => {
            (StatusCode::NOT_FOUND, "This invite link is not valid.")
        }
    };
    html(
        code,
        bare(
            "Invite",
            html! {
                h1 { "Invite" }
                p #invite-state { (text) }
                p { "Ask whoever invited you for a new link, or " a href="/ui/login" { "sign in" } " if you already have an account." }
            },
        ),
    )
}

/// Too many wrong links from this address, the server busy: a page with the reason.
fn failed(e: &ApiError) -> HttpResponse {
    let status = actix_web::ResponseError::status_code(e);
    let mut page = super::super::error_html(status, &e.detail());
    if let ApiError::TooManyRequests { retry_after_secs } = e {
        page.headers_mut()
            .insert(header::RETRY_AFTER, (*retry_after_secs).into());
    }
    page
}

async fn page(
    ClientIp(ip): ClientIp,
    st: web::Data<AppState>,
    q: web::Query<TokenQuery>,
) -> HttpResponse {
    let token = q.into_inner().token.unwrap_or_default();
    match look_up(&st, ip, &token).await {
        Ok(Lookup::Pending(invite)) => {
            html(StatusCode::OK, join_form(&token, invite.role, "", None))
        }
        Ok(Lookup::Closed(s)) => closed(Some(s)),
        Ok(Lookup::NotValid) => closed(None),
        Err(e) => failed(&e),
    }
}

async fn submit(
    _: SameOrigin,
    ClientIp(ip): ClientIp,
    ClientDevice(device): ClientDevice,
    st: web::Data<AppState>,
    form: web::Form<JoinForm>,
) -> HttpResponse {
    let JoinForm {
        token,
        username,
        password,
        confirm,
    } = form.into_inner();
    match accept(
        &st,
        SignInFrom { ip, device },
        &token,
        &username,
        password,
        &confirm,
    )
    .await
    {
        Ok(opened) => HttpResponse::SeeOther()
            .cookie(session_cookie(&st, &opened.token))
            .insert_header((header::LOCATION, "/ui/"))
            .finish(),
        Err(Refusal::Closed(s)) => closed(Some(s)),
        Err(Refusal::NotValid) => closed(None),
        Err(Refusal::NameTaken(message)) => {
            let error = FieldError {
                field: "username",
                message: sentence(&message),
            };
            again(&st, ip, &token, &username, StatusCode::CONFLICT, &error).await
        }
        Err(Refusal::Field { field, message }) => {
            let what = match field {
                "username" => "the username",
                "password" => "the password",
                _ => "the repeated password",
            };
            let error = FieldError {
                field,
                message: sentence(&format!("{what} {message}")),
            };
            again(&st, ip, &token, &username, StatusCode::BAD_REQUEST, &error).await
        }
        Err(Refusal::Error(e)) => failed(&e),
    }
}

/// The form again with the error under its field, for the (still pending) invite's role.
async fn again(
    st: &web::Data<AppState>,
    ip: std::net::IpAddr,
    token: &str,
    username: &str,
    status: StatusCode,
    error: &FieldError,
) -> HttpResponse {
    match look_up(st, ip, token).await {
        Ok(Lookup::Pending(invite)) => {
            html(status, join_form(token, invite.role, username, Some(error)))
        }
        Ok(Lookup::Closed(s)) => closed(Some(s)),
        Ok(Lookup::NotValid) => closed(None),
        Err(e) => failed(&e),
    }
}
