//! Links: a searchable, paginated table with create/edit/delete in a modal and a copy button
//! for each short URL. Driven by `web/js/links.js` through `/api/v1/links`.

use actix_web::HttpResponse;
use maud::html;

use super::{described_by, field, render};
use crate::auth::PageUser;
use crate::ui::layout::{data_table, modal_form};
use crate::ui::Nav;

pub async fn page(PageUser(user): PageUser) -> HttpResponse {
    let body = html! {
        header.page-header {
            h1 { "Links" }
            button #create-link .primary type="button" aria-haspopup="dialog" { "Create Link" }
        }
        p #links-no-domains .notice hidden {
            "Add a domain first: links live on your own domains. "
            a href="/ui/domains" { "Go to Domains" }
        }
        form #links-search .toolbar role="search" {
            label for="links-q" { "Search" }
            input #links-q name="search" type="search" placeholder="Slug, destination or title" autocomplete="off";
            label for="links-domain" { "Domain" }
            select #links-domain name="domain" { option value="" { "All domains" } }
            button type="submit" { "Search" }
        }
        p #links-status .status role="status" aria-live="polite" {}
        (data_table("links-table", "Links", &["Short URL", "Destination", "Title", "Tags", "Clicks", "Created", "Actions"], "links-body"))
        nav.pager aria-label="Pagination" {
            button #links-prev type="button" disabled { "Previous" }
            span #links-range {}
            button #links-next type="button" disabled { "Next" }
        }
        (link_dialog())
    };
    render(&user, "Links", Nav::Links, Some("js/links.js"), body)
}

fn link_dialog() -> maud::Markup {
    html! {
        dialog #link-dialog aria-labelledby="link-dialog-title" {
            (modal_form("link", "Create Link", "Create Link", html! {
                (field("link-domain", "Domain", "domain", None, html! {
                    select #link-domain name="domain" required aria-describedby=(described_by("link-domain", false)) {}
                }))
                (field("link-destination", "Destination URL", "destination_url", None, html! {
                    input #link-destination name="destination_url" type="url" required autocomplete="off"
                        placeholder="https://example.com/page" aria-describedby=(described_by("link-destination", false));
                }))
                (field("link-slug", "Slug", "slug", Some("Optional: letters, digits, - and _. Left empty, one is generated."), html! {
                    input #link-slug name="slug" type="text" maxlength="64" autocomplete="off" spellcheck="false"
                        aria-describedby=(described_by("link-slug", true));
                }))
                (field("link-title", "Title", "title", None, html! {
                    input #link-title name="title" type="text" autocomplete="off" aria-describedby=(described_by("link-title", false));
                }))
                (field("link-tags", "Tags", "tags", Some("Separated by commas."), html! {
                    input #link-tags name="tags" type="text" autocomplete="off" aria-describedby=(described_by("link-tags", true));
                }))
                (field("link-code", "Redirect code", "redirect_code", None, html! {
                    select #link-code name="redirect_code" aria-describedby=(described_by("link-code", false)) {
                        option value="302" selected { "302 Found (temporary)" }
                        option value="301" { "301 Moved Permanently" }
                        option value="307" { "307 Temporary Redirect" }
                        option value="308" { "308 Permanent Redirect" }
                    }
                }))
                (field("link-expires", "Expires", "expires_at", Some("Optional, in your local time. Empty: never."), html! {
                    input #link-expires name="expires_at" type="datetime-local" aria-describedby=(described_by("link-expires", true));
                }))
            }))
        }
    }
}
