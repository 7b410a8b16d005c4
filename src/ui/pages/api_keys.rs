//! Integrations → API Keys: the table of keys and the Create/Edit API Key modal, exactly as the
//! user guide describes them. The table and the modal are driven by `web/js/api-keys.js`
//! through `/api/v1/api-keys`; the plaintext key only ever lives in the one-time box.

use actix_web::HttpResponse;
use maud::html;

use super::{described_by, field, render};
use crate::auth::PageUser;
use crate::ui::layout::{data_table, modal_form};
use crate::ui::Nav;

pub async fn page(PageUser(user): PageUser) -> HttpResponse {
    let body = html! {
        header.page-header {
            h1 { "API Keys" }
            button #create-key .primary type="button" aria-haspopup="dialog" { "Create API Key" }
        }
        p.lead {
            "API keys let scripts and services call the API. Scope a key to domains, restrict it to "
            "IP addresses, and give it an expiry. A key is shown only once, when it is created."
        }
        p #keys-status .status role="status" aria-live="polite" {}
        (data_table("keys-table", "API keys", &["Name", "Key prefix", "Domain scope", "IP whitelist", "Expires", "Last used", "Status", "Actions"], "keys-body"))
        (key_dialog())
    };
    render(
        &user,
        "API Keys",
        Nav::ApiKeys,
        Some("js/api-keys.js"),
        body,
    )
}

fn key_dialog() -> maud::Markup {
    html! {
        dialog #key-dialog aria-labelledby="key-dialog-title" {
            (modal_form("key", "Create API Key", "Create API Key", html! {
                (field("key-name", "Name", "name", Some("A descriptive name, e.g. \"Production API Key\" or \"Development Key\"."), html! {
                    input #key-name name="name" type="text" maxlength="64" required autocomplete="off"
                        aria-describedby=(described_by("key-name", true));
                }))
                (field("key-domains", "Domain Scope", "domains",
                    Some("Leave empty: the key can access all domains. Select one or more domains to restrict the key to them."),
                    html! {
                        select #key-domains name="domains" multiple size="4"
                            aria-describedby=(described_by("key-domains", true)) {}
                    }))
                div.field.check data-field="allow_all_ips" {
                    input #key-allow-all name="allow_all_ips" type="checkbox" checked;
                    label for="key-allow-all" { "Allow All IP Addresses" }
                }
                div #key-whitelist-field hidden {
                    (field("key-whitelist", "IP Whitelist", "ip_whitelist",
                        Some("One IP address or CIDR range per line, e.g. 192.168.1.1 or 10.0.0.0/8. Only requests from these addresses are accepted."),
                        html! {
                            textarea #key-whitelist name="ip_whitelist" rows="4" spellcheck="false" autocomplete="off"
                                aria-describedby=(described_by("key-whitelist", true)) {}
                        }))
                }
                div.field.check data-field="never_expire" {
                    input #key-never-expire name="never_expire" type="checkbox" checked;
                    label for="key-never-expire" { "Never Expire" }
                }
                div #key-expiry-field hidden {
                    (field("key-expires", "Expiration date and time", "expires_at",
                        Some("In your local time. The key stops working at this moment."),
                        html! {
                            input #key-expires name="expires_at" type="datetime-local"
                                aria-describedby=(described_by("key-expires", true));
                        }))
                }
            }))
            div #key-created hidden {
                header.dialog-header {
                    h2 #key-created-title tabindex="-1" { "API Key Created" }
                }
                p.warning role="note" {
                    strong { "Save this key now. " }
                    "It will not be shown again. Store it in a password manager or another secure place."
                }
                div.secret-box {
                    code #key-value {}
                    button #key-copy type="button" { "Copy" }
                }
                p #key-copy-status .status role="status" aria-live="polite" {}
                footer.dialog-actions {
                    button #key-ok .primary type="button" { "OK" }
                }
            }
        }
    }
}
