//! Domains: the host names links live on. List, add, delete (with the 409 explained and a way
//! to delete a domain together with its links). Driven by `web/js/domains.js`.

use actix_web::HttpResponse;
use maud::html;

use super::{described_by, field, render};
use crate::auth::PageUser;
use crate::ui::layout::data_table;
use crate::ui::Nav;

pub async fn page(PageUser(user): PageUser) -> HttpResponse {
    let body = html! {
        header.page-header {
            h1 { "Domains" }
        }
        p.lead { "The host names your short links live on. Point each one's DNS at this server." }
        form #domain-form .inline-form novalidate {
            (field("domain-hostname", "Hostname", "hostname", None, html! {
                input #domain-hostname name="hostname" type="text" required autocomplete="off"
                    spellcheck="false" placeholder="go.example.com" aria-describedby=(described_by("domain-hostname", false));
            }))
            button #domain-add .primary type="submit" { "Add Domain" }
            p #domain-form-error .form-error role="alert" hidden {}
        }
        p #domains-status .status role="status" aria-live="polite" {}
        (data_table("domains-table", "Domains", &["Hostname", "Links", "Source", "Added", "Actions"], "domains-body"))
        dialog #domain-conflict aria-labelledby="domain-conflict-title" {
            header.dialog-header {
                h2 #domain-conflict-title { "This domain is still in use" }
                button.icon type="button" data-close aria-label="Close" { "×" }
            }
            p #domain-conflict-detail {}
            p #domain-conflict-explain {}
            footer.dialog-actions {
                button type="button" data-close { "Cancel" }
                button #domain-force .danger type="button" { "Delete Domain and Its Links" }
            }
        }
    };
    render(&user, "Domains", Nav::Domains, Some("js/domains.js"), body)
}
