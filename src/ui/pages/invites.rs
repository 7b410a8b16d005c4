//! Invites, for admins: "Invite someone" (role and how long the link works), the new link shown
//! once with a Copy button, and the pending invites with "Withdraw". [`fragment`] is the
//! section's content, for the Team page; `/ui/invites` shows it on its own. Driven by
//! `web/js/invites.js`.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use maud::{html, Markup};

use super::{described_by, field, render};
use crate::auth::PageUser;
use crate::domain::{Right, Role};
use crate::ui::layout::data_table;
use crate::ui::Nav;

/// The script the fragment needs on whatever page shows it.
pub const SCRIPT: &str = "js/invites.js";

/// The expiry choices: (API `expires_in`, label); the default is marked in [`fragment`].
const EXPIRY: [(&str, &str); 3] = [("1d", "1 day"), ("7d", "7 days"), ("30d", "30 days")];

pub fn fragment() -> Markup {
    html! {
        h2 #invites-title { "Invites" }
        p.lead { "An invite is a link that works once: whoever opens it chooses a username and a password and joins with the role you pick." }
        h3 { "Invite someone" }
        form #invite-form .inline-form novalidate {
            (field("invite-role", "Role", "role", None, html! {
                select #invite-role name="role" aria-describedby=(described_by("invite-role", false)) {
                    @for r in Role::ALL {
                        option value=(r.as_str()) selected[r == Role::Member] { (r.as_str()) }
                    }
                }
            }))
            (field("invite-expiry", "Link works for", "expires_in", None, html! {
                select #invite-expiry name="expires_in" aria-describedby=(described_by("invite-expiry", false)) {
                    @for (value, label) in EXPIRY {
                        option value=(value) selected[value == "7d"] { (label) }
                    }
                }
            }))
            button #invite-create .primary type="submit" { "Create Invite Link" }
            p #invite-form-error .form-error role="alert" hidden {}
        }
        div #invite-created hidden {
            p.warning role="note" {
                strong { "Copy this link now. " }
                "It is shown only once. Send it to the person you invite; it works once."
            }
            label for="invite-url" { "Invite link" }
            div.secret-box {
                input #invite-url type="text" readonly spellcheck="false";
                button #invite-copy type="button" { "Copy" }
            }
            p #invite-copy-status .status role="status" aria-live="polite" {}
        }
        p #invites-status .status role="status" aria-live="polite" {}
        (data_table("invites-table", "Pending invites", &["Role", "Created by", "Expires", "Actions"], "invites-body"))
    }
}

pub async fn page(PageUser(user): PageUser) -> HttpResponse {
    // The API refuses the calls anyway; this only spares a non-admin a form that cannot work.
    if !user.role.may(Right::Team) {
        let body = html! {
            header.page-header { h1 { "Invites" } }
            p { "Only admins can invite people. Ask an admin for an invite link." }
        };
        let mut res = render(&user, "Invites", Nav::None, None, body);
        *res.status_mut() = StatusCode::FORBIDDEN;
        return res;
    }
    let body = html! {
        header.page-header { h1 { "Invite People" } }
        section #invites aria-labelledby="invites-title" { (fragment()) }
    };
    render(&user, "Invites", Nav::None, Some(SCRIPT), body)
}
