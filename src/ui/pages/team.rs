//! Team (admins only, `PageAdmin`): every user with their role, where they were declared and
//! their last sign-in; change a role, reset a password, remove a user and say what becomes of
//! their API keys. Plain HTML forms carrying the CSRF token (`CsrfForm`), judged by the same
//! store rules as the API; `web/js/team.js` only opens the dialogs. What cannot be done (the
//! last admin, users from the config file) is shown disabled, with the reason as text.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::render;
use crate::auth::{CsrfForm, PageAdmin, SessionUser};
use crate::domain::{Password, Role, Username};
use crate::error::{blocking, ApiError};
use crate::state::AppState;
use crate::store::records::{Source, UserId, UserRecord};
use crate::store::KeysOfRemoved;
use crate::ui::{see_other, sentence, Nav};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/team", web::get().to(page))
        .route("/team/{id}/role", web::post().to(set_role))
        .route("/team/{id}/password", web::post().to(reset_password))
        .route("/team/{id}/remove", web::post().to(remove));
}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
    user: Option<String>,
}

async fn page(
    PageAdmin(admin): PageAdmin,
    st: web::Data<AppState>,
    q: web::Query<Done>,
) -> HttpResponse {
    let who = q
        .user
        .as_deref()
        .and_then(|u| Username::parse(u).ok())
        .map_or_else(|| "the user".to_owned(), Username::into_string);
    let notice = match q.done.as_deref() {
        Some("role") => Some(format!("The role of {who} was changed.")),
        Some("password") => Some(format!(
            "The password of {who} was reset; every session of {who} has been signed out."
        )),
        Some("removed") => Some(format!("{who} was removed.")),
        _ => None,
    };
    team_page(&st, &admin, notice.as_deref(), None, StatusCode::OK).await
}

async fn team_page(
    st: &web::Data<AppState>,
    admin: &SessionUser,
    notice: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let st2 = st.clone();
    let loaded =
        blocking(move || Ok((st2.store.users()?, st2.store.active_keys_by_creator()?))).await;
    let (users, keys) = match loaded {
        Ok(l) => l,
        Err(e) => {
            return crate::ui::error_html(actix_web::ResponseError::status_code(&e), &e.detail())
        }
    };
    let admins = users.iter().filter(|u| u.role == Role::Admin).count();
    let body = html! {
        header.page-header { h1 { "Team" } }
        p.lead {
            "Everyone who can sign in, and what their role lets them do. "
            "Admins manage everything; members work with links and their own API keys; "
            "viewers read links and domains."
        }
        @if let Some(n) = notice { p.success role="status" { (n) } }
        @if let Some(e) = error { p.error role="alert" { (e) } }
        div.table-wrap {
            table #team-table .data {
                caption.visually-hidden { "Users" }
                thead { tr {
                    th scope="col" { "Name" }
                    th scope="col" { "Role" }
                    th scope="col" { "Declared in" }
                    th scope="col" { "Last sign-in" }
                    th scope="col" { "Actions" }
                } }
                tbody #team-body {
                    @for u in &users {
                        (user_row(u, admin, admins, keys.get(u.username.as_str()).copied().unwrap_or(0)))
                    }
                }
            }
        }
        @for u in users.iter().filter(|u| u.source == Source::Api) {
            (password_dialog(u, &admin.csrf_token))
            @if !(u.role == Role::Admin && admins <= 1) {
                (remove_dialog(u, &users, keys.get(u.username.as_str()).copied().unwrap_or(0), &admin.csrf_token))
            }
        }
        // Invite someone, and the pending invites (web/js/invites.js, imported by team.js).
        section #invites aria-labelledby="invites-title" { (super::invites::fragment()) }
    };
    let mut res = render(admin, "Team", Nav::Team, Some("js/team.js"), body);
    *res.status_mut() = status;
    res
}

fn user_row(u: &UserRecord, admin: &SessionUser, admins: usize, keys: usize) -> Markup {
    let name = u.username.as_str();
    let declared = u.source == Source::Config;
    let last_admin = u.role == Role::Admin && admins <= 1;
    html! {
        tr data-user=(name) data-id=(u.id) {
            td data-label="Name" {
                strong { (name) }
                @if u.username == admin.username { " (you)" }
            }
            td data-label="Role" {
                @if declared {
                    (u.role.as_str())
                } @else {
                    form.inline-form method="post" action=(format!("/ui/team/{}/role", u.id)) {
                        input type="hidden" name="csrf_token" value=(admin.csrf_token);
                        label.visually-hidden for=(format!("role-{}", u.id)) { "Role of " (name) }
                        select id=(format!("role-{}", u.id)) name="role" disabled[last_admin]
                            aria-describedby=[last_admin.then(|| format!("role-{}-why", u.id))] {
                            @for r in Role::ALL {
                                option value=(r.as_str()) selected[r == u.role] { (r.as_str()) }
                            }
                        }
                        button type="submit" disabled[last_admin] { "Change role" }
                        @if last_admin {
                            p.hint id=(format!("role-{}-why", u.id)) { "The last admin cannot be demoted." }
                        }
                    }
                }
            }
            td data-label="Declared in" {
                @if declared { "The config file" } @else { "Added here" }
            }
            td data-label="Last sign-in" {
                @match u.last_sign_in_at {
                    Some(t) => time.local datetime=(t.rfc3339()) { (t.rfc3339()) },
                    None => span.muted { "never" },
                }
            }
            td.actions data-label="Actions" {
                @if declared {
                    span.hint { "Read-only: declared in the config file; change it there." }
                } @else {
                    button type="button" data-dialog=(format!("password-{}", u.id)) aria-haspopup="dialog" { "Reset password" }
                    @if last_admin {
                        button.danger type="button" disabled aria-describedby=(format!("remove-{}-why", u.id)) { "Remove" }
                        span.hint id=(format!("remove-{}-why", u.id)) { "The last admin cannot be removed." }
                    } @else {
                        button.danger type="button" data-dialog=(format!("remove-{}", u.id)) aria-haspopup="dialog"
                            data-keys=(keys) { "Remove" }
                    }
                }
            }
        }
    }
}

fn dialog_header(id: &str, title: &str) -> Markup {
    html! {
        header.dialog-header {
            h2 id=(format!("{id}-title")) { (title) }
            button.icon type="button" data-close aria-label="Close" { "×" }
        }
    }
}

fn password_dialog(u: &UserRecord, csrf: &str) -> Markup {
    let id = format!("password-{}", u.id);
    html! {
        dialog id=(id) aria-labelledby=(format!("{id}-title")) {
            form method="post" action=(format!("/ui/team/{}/password", u.id)) {
                (dialog_header(&id, &format!("Reset the password of {}", u.username)))
                input type="hidden" name="csrf_token" value=(csrf);
                label for=(format!("{id}-new")) { "New password" }
                input id=(format!("{id}-new")) name="password" type="password" autocomplete="new-password"
                    minlength=(Password::MIN_CHARS) required aria-describedby=(format!("{id}-hint"));
                p.hint id=(format!("{id}-hint")) {
                    (Password::rule()) ". Every session of " (u.username) " ends at once; tell them the new password."
                }
                label for=(format!("{id}-repeat")) { "Repeat new password" }
                input id=(format!("{id}-repeat")) name="repeat_password" type="password" autocomplete="new-password"
                    minlength=(Password::MIN_CHARS) required;
                footer.dialog-actions {
                    button type="button" data-close { "Cancel" }
                    button.primary type="submit" { "Reset password" }
                }
            }
        }
    }
}

fn remove_dialog(u: &UserRecord, users: &[UserRecord], keys: usize, csrf: &str) -> Markup {
    let id = format!("remove-{}", u.id);
    let heirs: Vec<&UserRecord> = users.iter().filter(|o| o.id != u.id).collect();
    let keys_text = match keys {
        0 => format!("{} has no active API keys.", u.username),
        1 => format!("{} created 1 active API key.", u.username),
        n => format!("{} created {n} active API keys.", u.username),
    };
    html! {
        dialog id=(id) aria-labelledby=(format!("{id}-title")) aria-describedby=(format!("{id}-keys")) {
            form method="post" action=(format!("/ui/team/{}/remove", u.id)) {
                (dialog_header(&id, &format!("Remove {}", u.username)))
                input type="hidden" name="csrf_token" value=(csrf);
                p id=(format!("{id}-keys")) {
                    (keys_text) " Their sessions end at once."
                }
                fieldset {
                    legend { "Their API keys" }
                    label.radio for=(format!("{id}-revoke")) {
                        input id=(format!("{id}-revoke")) type="radio" name="keys" value="revoke" checked;
                        " Revoke them (they stop working at once)"
                    }
                    @if !heirs.is_empty() {
                        label.radio for=(format!("{id}-transfer")) {
                            input id=(format!("{id}-transfer")) type="radio" name="keys" value="transfer";
                            " Hand them to another user (they keep working)"
                        }
                        label for=(format!("{id}-to")) { "Hand them to" }
                        select id=(format!("{id}-to")) name="to" {
                            @for h in &heirs {
                                option value=(h.id) { (h.username) }
                            }
                        }
                    }
                }
                footer.dialog-actions {
                    button type="button" data-close { "Cancel" }
                    button.danger type="submit" { "Remove " (u.username) }
                }
            }
        }
    }
}

/// A refused change: the page again, with the reason as a sentence and the error's status.
async fn refused(st: &web::Data<AppState>, admin: &SessionUser, e: &ApiError) -> HttpResponse {
    let status = actix_web::ResponseError::status_code(e);
    let message = match e {
        ApiError::Invalid(errors) => errors
            .iter()
            .map(|f| sentence(&format!("{}: {}", f.field, f.message)))
            .collect::<Vec<_>>()
            .join(" "),
        other => sentence(&other.detail()),
    };
    team_page(st, admin, None, Some(&message), status).await
}

fn done(what: &str, user: &UserRecord) -> HttpResponse {
    see_other(&format!("/ui/team?done={what}&user={}", user.username))
}

#[derive(Deserialize)]
struct RoleForm {
    role: String,
}

async fn set_role(
    _: PageAdmin,
    st: web::Data<AppState>,
    id: web::Path<UserId>,
    CsrfForm(admin, form): CsrfForm<RoleForm>,
) -> HttpResponse {
    let result = async {
        let patch = st.user_patch(Some(&form.role), None).await?;
        let (st2, by, id) = (st.clone(), admin.by(), *id);
        blocking(move || Ok(st2.update_user(&by, id, &patch)?)).await
    }
    .await;
    match result {
        // An admin who stepped down may no longer see this page.
        Ok(u) if u.username == admin.username && u.role != Role::Admin => see_other("/ui/"),
        Ok(u) => done("role", &u),
        Err(e) => refused(&st, &admin, &e).await,
    }
}

#[derive(Deserialize)]
struct PasswordForm {
    password: String,
    repeat_password: String,
}

async fn reset_password(
    _: PageAdmin,
    st: web::Data<AppState>,
    id: web::Path<UserId>,
    CsrfForm(admin, form): CsrfForm<PasswordForm>,
) -> HttpResponse {
    if form.password != form.repeat_password {
        let e = ApiError::BadRequest("the two new passwords differ".into());
        return refused(&st, &admin, &e).await;
    }
    let result = async {
        let patch = st.user_patch(None, Some(form.password)).await?;
        let (st2, by, id) = (st.clone(), admin.by(), *id);
        blocking(move || Ok(st2.update_user(&by, id, &patch)?)).await
    }
    .await;
    match result {
        // Resetting one's own password ends one's own session too: sign in again.
        Ok(u) if u.username == admin.username => see_other("/ui/login"),
        Ok(u) => done("password", &u),
        Err(e) => refused(&st, &admin, &e).await,
    }
}

/// Strings only: `CsrfForm` flattens the fields, and a flattened form reads no numbers.
#[derive(Deserialize)]
struct RemoveForm {
    keys: Option<String>,
    to: Option<String>,
}

async fn remove(
    _: PageAdmin,
    st: web::Data<AppState>,
    id: web::Path<UserId>,
    CsrfForm(admin, form): CsrfForm<RemoveForm>,
) -> HttpResponse {
    // The form always sends a heir when there is one to choose; only a transfer uses it.
    let to = form.to.filter(|_| form.keys.as_deref() == Some("transfer"));
    let result = async {
        let to = to
            .map(|t| t.trim().parse::<UserId>())
            .transpose()
            .map_err(|_| ApiError::invalid("to", "is not a user"))?;
        let keys = KeysOfRemoved::parse(form.keys.as_deref(), to)?;
        let (st2, by, id) = (st.clone(), admin.by(), *id);
        blocking(move || Ok(st2.remove_user(&by, id, keys)?)).await
    }
    .await;
    match result {
        Ok(r) if r.user.username == admin.username => see_other("/ui/login"),
        Ok(r) => done("removed", &r.user),
        Err(e) => refused(&st, &admin, &e).await,
    }
}
