use maud::{html, Markup, DOCTYPE};

use super::assets::asset_url;
use crate::auth::SessionUser;
use crate::domain::Right;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Nav {
    None,
    Home,
    Links,
    Domains,
    ApiKeys,
    ManualIntegration,
    Team,
    /// Your own account (`/ui/me`), reached from the username.
    Me,
    Activity,
}

/// A bare page (sign-in, setup, errors): no sidebar.
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · linkdock" }
                (head_links())
            }
            body.bare {
                main.card-page { (body) }
            }
        }
    }
}

/// The stylesheet and the icon, in every page's head.
fn head_links() -> Markup {
    html! {
        link rel="stylesheet" href=(asset_url("css/app.css"));
        link rel="icon" type="image/svg+xml" href=(asset_url("favicon.svg"));
    }
}

/// The signed-in layout: sidebar with Links, Domains, Integrations (API Keys, Manual
/// Integration) and Activity, the shell's script (menu button on narrow screens, local times),
/// the page's script, and the CSRF token for `fetch` calls. Items the user's role cannot use are
/// left out (`Role::may`): a viewer has no API Keys item.
pub fn layout(
    title: &str,
    active: Nav,
    user: &SessionUser,
    script: Option<&str>,
    body: Markup,
) -> Markup {
    let username = user.username.as_str();
    let csrf = user.csrf_token.as_str();
    let keys = user.role.may(Right::KeysOwn);
    let item = |nav: Nav, href: &str, label: &str| {
        html! { a href=(href) aria-current=[(nav == active).then_some("page")] { (label) } }
    };
    let integrations_open = matches!(active, Nav::ApiKeys | Nav::ManualIntegration);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="csrf-token" content=(csrf);
                title { (title) " · linkdock" }
                (head_links())
                script type="module" src=(asset_url("js/shell.js")) {}
                @if let Some(s) = script {
                    script type="module" src=(asset_url(s)) {}
                }
            }
            body data-role=(user.role.as_str()) {
                a.skip href="#main" { "Skip to content" }
                div.shell {
                    nav.sidebar aria-label="Main" {
                        div.sidebar-top {
                            a.brand href="/ui/" aria-current=[(active == Nav::Home).then_some("page")] { "linkdock" }
                            // Shown by shell.js on narrow screens; without script the menu stays open.
                            button #menu-toggle .menu-toggle type="button" aria-expanded="false" aria-controls="nav-menu" hidden {
                                span.menu-icon aria-hidden="true" { "☰" } " Menu"
                            }
                        }
                        div #nav-menu .nav-menu {
                            (item(Nav::Links, "/ui/links", "Links"))
                            (item(Nav::Domains, "/ui/domains", "Domains"))
                            details.group open[integrations_open] {
                                summary { "Integrations" }
                                div.submenu {
                                    @if keys { (item(Nav::ApiKeys, "/ui/integrations/api-keys", "API Keys")) }
                                    (item(Nav::ManualIntegration, "/ui/integrations/manual", "Manual Integration"))
                                }
                            }
                            (item(Nav::Activity, "/ui/activity", "Activity"))
                            // Only for those who may manage the team: the link would lead others to a 403.
                            @if user.role.may(Right::Team) {
                                (item(Nav::Team, "/ui/team", "Team"))
                            }
                            div.spacer {}
                            form.signout method="post" action="/ui/logout" {
                                input type="hidden" name="csrf_token" value=(csrf);
                                span.muted { "Signed in as " a href="/ui/me" aria-current=[(active == Nav::Me).then_some("page")] { strong { (username) } } }
                                button.link type="submit" { "Sign out" }
                            }
                        }
                    }
                    main #main tabindex="-1" { (body) }
                }
            }
        }
    }
}

/// A table that the page's script fills: header row, and a "Loading…" row until it does.
pub fn data_table(table_id: &str, caption: &str, columns: &[&str], body_id: &str) -> Markup {
    html! {
        div.table-wrap {
            table id=(table_id) .data {
                caption.visually-hidden { (caption) }
                thead { tr { @for c in columns { th scope="col" { (c) } } } }
                tbody id=(body_id) { tr.empty { td colspan=(columns.len()) { "Loading…" } } }
            }
        }
    }
}

/// The create/edit form inside a modal: title with a close button, a form-level error line,
/// the fields, then Cancel and the submit button. Ids follow `prefix` (`{prefix}-form`,
/// `{prefix}-dialog-title`, `{prefix}-form-error`, `{prefix}-submit`), as the page scripts expect.
pub fn modal_form(prefix: &str, title: &str, submit: &str, fields: Markup) -> Markup {
    html! {
        form id=(format!("{prefix}-form")) novalidate {
            header.dialog-header {
                h2 id=(format!("{prefix}-dialog-title")) { (title) }
                button.icon type="button" data-close aria-label="Close" { "×" }
            }
            p id=(format!("{prefix}-form-error")) .form-error role="alert" hidden {}
            (fields)
            footer.dialog-actions {
                button type="button" data-close { "Cancel" }
                button id=(format!("{prefix}-submit")) .primary type="submit" { (submit) }
            }
        }
    }
}
