//! Links: a searchable, paginated table with create/edit/delete in a modal and a copy button
//! for each short URL. Driven by `web/js/links.js` through `/api/v1/links`.

use actix_web::HttpResponse;
use maud::{html, Markup};

use super::{cannot, described_by, field, render};
use crate::auth::PageUser;
use crate::domain::Right;
use crate::ui::layout::{data_table, modal_form};
use crate::ui::Nav;

pub async fn page(PageUser(user): PageUser) -> HttpResponse {
    // What the role may not do is greyed out, with the reasons in one line under the buttons.
    let write = cannot(&user, Right::LinksWrite, "create, change or delete links");
    let import = cannot(&user, Right::LinksImport, "import links");
    let export = cannot(&user, Right::LinksExport, "export links");
    let reasons: Vec<&str> = [&write, &import, &export]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let why = (!reasons.is_empty()).then_some("links-denied");
    let body = html! {
        header.page-header {
            h1 { "Links" }
            div.header-actions {
                button #import-csv type="button" aria-haspopup="dialog" disabled[import.is_some()]
                    data-denied=[import.as_deref()] aria-describedby=[import.is_some().then_some("links-denied")] { "Import CSV" }
                @if export.is_some() {
                    button #export-csv type="button" disabled aria-describedby="links-denied" { "Export CSV" }
                } @else {
                    // The href follows the search and filters (links.js); the server names the file.
                    a #export-csv .button href="/api/v1/links/export" download { "Export CSV" }
                }
                button #create-link .primary type="button" aria-haspopup="dialog" disabled[write.is_some()]
                    data-denied=[write.as_deref()] aria-describedby=[write.is_some().then_some("links-denied")] { "Create Link" }
            }
        }
        @if let Some(id) = why { p.hint id=(id) { (reasons.join(" ")) } }
        p #links-no-domains .notice hidden {
            "Add a domain first: links live on your own domains. "
            a href="/ui/domains" { "Go to Domains" }
        }
        form #links-search .toolbar role="search" {
            label for="links-q" { "Search" }
            input #links-q name="search" type="search" placeholder="Slug, destination or title" autocomplete="off";
            label for="links-domain" { "Domain" }
            select #links-domain name="domain" { option value="" { "All domains" } }
            label for="links-tag" { "Tag" }
            input #links-tag .tag-filter name="tag" type="search" placeholder="Any tag" autocomplete="off" spellcheck="false";
            button type="submit" { "Search" }
        }
        p #links-status .status role="status" aria-live="polite" {}
        div #links-rows data-read-only[write.is_some()] {
            (data_table("links-table", "Links", &["Short URL", "Destination", "Title", "Tags", "Clicks", "Created", "Actions"], "links-body"))
        }
        nav.pager aria-label="Pagination" {
            button #links-prev type="button" disabled { "Previous" }
            span #links-range {}
            button #links-next type="button" disabled { "Next" }
        }
        (link_dialog())
        (import_dialog())
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
                        placeholder="https://example.com/page" aria-describedby=(format!("{} link-destination-offer", described_by("link-destination", false)));
                    // An address typed without http:// or https:// (links.js): the fix, one click away.
                    p #link-destination-offer .offer hidden {
                        span #link-destination-offer-text {}
                        " "
                        button #link-destination-fix type="button" {}
                    }
                }))
                (field("link-slug", "Slug", "slug", Some("Optional: letters, digits, - and _. Left empty, one is generated."), html! {
                    input #link-slug name="slug" type="text" maxlength="64" autocomplete="off" spellcheck="false"
                        aria-describedby=(format!("{} link-slug-warning", described_by("link-slug", true)));
                    // Editing: a new slug or domain ends the old short URL (links.js names it).
                    p #link-slug-warning .notice.slug-warning role="status" {}
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

/// The columns of an import file, as the user reads them (API.md, import).
const COLUMNS: [(&str, &str, &str); 7] = [
    (
        "domain",
        "if no default domain",
        "The domain the link lives on, e.g. go.example.com.",
    ),
    ("slug", "no", "The short path. Empty: one is generated."),
    (
        "destination_url",
        "yes",
        "Where the link redirects: an http:// or https:// address.",
    ),
    ("title", "no", "A title for your own lists."),
    (
        "tags",
        "no",
        "Tags separated by semicolons, e.g. docs;team.",
    ),
    ("redirect_code", "no", "301, 302, 307 or 308. Empty: 302."),
    (
        "expires_at",
        "no",
        "When the link stops working, e.g. 2027-01-31T23:59:00Z. Empty: never.",
    ),
];

const EXAMPLE: &str = "domain,slug,destination_url,title,tags,redirect_code,expires_at
go.example.com,docs,https://example.com/documentation,Documentation,docs;team,302,
go.example.com,,https://example.com/summer-sale,Summer sale,,307,2027-01-31T23:59:00Z";

/// "Import CSV": a file, an optional default domain, the columns and an example; then the
/// result (created / skipped / failed, and each failing row's spreadsheet row and reason).
fn import_dialog() -> Markup {
    html! {
        dialog #import-dialog aria-labelledby="import-dialog-title" {
            form #import-form novalidate {
                header.dialog-header {
                    h2 #import-dialog-title { "Import CSV" }
                    button.icon type="button" data-close aria-label="Close" { "×" }
                }
                p #import-form-error .form-error role="alert" hidden {}
                div #import-choose {
                    (field("import-file", "CSV file", "file", Some("A CSV file whose first line names its columns."), html! {
                        input #import-file name="file" type="file" accept=".csv,text/csv" required
                            aria-describedby=(described_by("import-file", true));
                    }))
                    (field("import-domain", "Default domain", "domain", Some("Used for rows whose domain column is empty."), html! {
                        select #import-domain name="domain" aria-describedby=(described_by("import-domain", true)) {
                            option value="" { "None: every row names its domain" }
                        }
                    }))
                    details.csv-help open {
                        summary { "Columns and an example" }
                        div.table-wrap {
                            table.data.columns {
                                caption.visually-hidden { "Columns of an import file" }
                                thead { tr { th scope="col" { "Column" } th scope="col" { "Required" } th scope="col" { "Meaning" } } }
                                tbody {
                                    @for (name, required, meaning) in COLUMNS {
                                        tr { td data-label="Column" { code { (name) } } td data-label="Required" { (required) } td data-label="Meaning" { (meaning) } }
                                    }
                                }
                            }
                        }
                        p.hint { "Only destination_url is required; columns may come in any order. Rows whose slug is already taken are skipped." }
                        p.example-label #import-example-label { "Example" }
                        pre #import-example .code tabindex="0" aria-labelledby="import-example-label" { code { (EXAMPLE) } }
                    }
                }
                div #import-result .import-result hidden {
                    h3 #import-result-title tabindex="-1" { "Import finished" }
                    ul #import-counts .import-counts {}
                    div #import-failures hidden {
                        h4 { "Rows that failed" }
                        p.hint { "Rows are numbered as a spreadsheet numbers them: the header is row 1." }
                        ul #import-errors .import-errors {}
                        p #import-more .muted hidden {}
                    }
                }
                footer.dialog-actions {
                    button #import-cancel type="button" data-close { "Cancel" }
                    button #import-again type="button" hidden { "Import Another File" }
                    button #import-submit .primary type="submit" { "Import" }
                }
            }
        }
    }
}
