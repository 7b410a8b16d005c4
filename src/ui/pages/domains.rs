//! Domains: the host names links live on. List, add, and delete through one dialog that says
//! what stands in the way (links, API keys scoped to the domain) and offers only the actions
//! that can succeed. Driven by `web/js/domains.js`.

use actix_web::HttpResponse;
use maud::{html, Markup};

use super::{cannot, described_by, field, render};
use crate::auth::PageUser;
use crate::domain::Right;
use crate::ui::layout::data_table;
use crate::ui::Nav;

pub async fn page(PageUser(user): PageUser) -> HttpResponse {
    // Members and viewers read domains; the form stays, greyed out, with the reason.
    let denied = cannot(&user, Right::DomainsWrite, "add domains");
    let body = html! {
        header.page-header {
            h1 { "Domains" }
        }
        p.lead { "The host names your short links live on. Point each one's DNS at this server." }
        form #domain-form .inline-form novalidate data-denied=[denied.as_deref()] {
            (field("domain-hostname", "Hostname", "hostname", None, html! {
                input #domain-hostname name="hostname" type="text" required autocomplete="off" disabled[denied.is_some()]
                    spellcheck="false" placeholder="go.example.com"
                    aria-describedby=(format!("{} domain-hostname-cleaned", described_by("domain-hostname", false)));
            }))
            button #domain-add .primary type="submit" disabled[denied.is_some()]
                aria-describedby=[denied.is_some().then_some("domain-add-denied")] { "Add Domain" }
            @if let Some(why) = &denied { p #domain-add-denied .hint { (why) } }
            // A pasted address is cut to its host name before it is sent (domains.js), visibly;
            // on a line of its own, so that nothing moves under the pointer when it appears.
            p #domain-hostname-cleaned .hint.cleaned role="status" {}
            p #domain-form-error .form-error role="alert" hidden {}
        }
        p #domains-status .status role="status" aria-live="polite" {}
        (data_table("domains-table", "Domains", &["Hostname", "Links", "Source", "Added", "Actions"], "domains-body"))
        (delete_dialog())
    };
    render(&user, "Domains", Nav::Domains, Some("js/domains.js"), body)
}

/// "Delete <domain>": filled by domains.js with what blocks the deletion and the one action
/// that can succeed (delete, delete with its links, or go and change the keys' scope).
fn delete_dialog() -> Markup {
    html! {
        dialog #domain-delete aria-labelledby="domain-delete-title" aria-describedby="domain-delete-explain" {
            header.dialog-header {
                h2 #domain-delete-title { "Delete Domain" }
                button.icon type="button" data-close aria-label="Close" { "×" }
            }
            p #domain-delete-error .form-error role="alert" hidden {}
            div #domain-delete-explain {}
            ul #domain-delete-keys .blocking-keys hidden {}
            footer.dialog-actions {
                button type="button" data-close { "Cancel" }
                a #domain-delete-keys-link .button href="/ui/integrations/api-keys" hidden { "Go to API Keys" }
                button #domain-delete-links .danger type="button" hidden { "Delete Domain and Its Links" }
                button #domain-delete-only .danger type="button" hidden { "Delete Domain" }
            }
        }
    }
}
