mod account;
mod activity;
mod api_keys;
mod auth;
mod domains;
mod home;
mod invite;
pub mod invites;
mod key_usage;
mod link_stats;
mod links;
mod manual;
mod team;

use actix_web::{web, HttpResponse};
use maud::html;

use super::layout::{layout, Nav};
use super::see_other;
use crate::auth::SessionUser;
use crate::domain::Right;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("", web::get().to(|| async { see_other("/ui/") }))
        .route("/", web::get().to(home::page))
        .route("/links", web::get().to(links::page))
        .route("/links/{id}/stats", web::get().to(link_stats::page))
        .route("/domains", web::get().to(domains::page))
        .route("/integrations/api-keys", web::get().to(api_keys::page))
        .route(
            "/integrations/api-keys/{id}/usage",
            web::get().to(key_usage::page),
        )
        .route("/integrations/manual", web::get().to(manual::page))
        .route("/invites", web::get().to(invites::page))
        .configure(invite::configure)
        .configure(team::configure)
        .route("/activity", web::get().to(activity::page))
        .configure(auth::configure)
        .configure(account::configure);
}

/// A full signed-in page with its script (if any beyond the shell's).
pub fn render(
    user: &SessionUser,
    title: &str,
    nav: Nav,
    script: impl Into<Option<&'static str>>,
    body: maud::Markup,
) -> HttpResponse {
    let page = layout(title, nav, user, script.into(), body);
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page.into_string())
}

/// Why `user` cannot `doing` ("add domains"), in a sentence for the page, or `None` when their
/// role may (`Role::may`): the one way pages decide what to grey out or leave out.
pub fn cannot(user: &SessionUser, right: Right, doing: &str) -> Option<String> {
    (!user.role.may(right)).then(|| format!("Your role ({}) cannot {doing}.", user.role))
}

/// A page the user's role may not open: a plain 403 page naming the right it needs.
pub fn forbidden(user: &SessionUser, right: Right) -> HttpResponse {
    super::error_html(
        actix_web::http::StatusCode::FORBIDDEN,
        &format!(
            "your role ({}) lacks {right}, which this page needs ({}); ask an admin for another role",
            user.role,
            right.describe()
        ),
    )
}

/// A labelled form field with its hint and its (initially empty) inline error.
/// `field` is the API's field name; the page script fills the error from problem+json.
pub fn field(
    id: &str,
    label: &str,
    field: &str,
    hint: Option<&str>,
    control: maud::Markup,
) -> maud::Markup {
    let error_id = format!("{id}-error");
    html! {
        div.field data-field=(field) {
            label for=(id) { (label) }
            (control)
            @if let Some(h) = hint { p.hint id=(format!("{id}-hint")) { (h) } }
            p.field-error id=(error_id) data-error-for=(field) role="alert" hidden {}
        }
    }
}

/// `aria-describedby` for a control made with [`field`].
pub fn described_by(id: &str, hint: bool) -> String {
    if hint {
        format!("{id}-hint {id}-error")
    } else {
        format!("{id}-error")
    }
}
