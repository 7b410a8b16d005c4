//! Integrations → API Keys: the table of keys and the Create/Edit API Key modal, exactly as the
//! user guide describes them, plus what the guide leaves to us: permissions (presets and
//! checkboxes), a rate limit, and "Roll" with a grace period. The table and the modal are
//! driven by `web/js/api-keys.js` through `/api/v1/api-keys`; the plaintext key only ever
//! lives in the one-time box.

use actix_web::HttpResponse;
use maud::{html, Markup};

use super::{described_by, field, forbidden, render};
use crate::auth::{PageUser, SessionUser};
use crate::domain::{Permission, Permissions, Right, Role, MAX_PER_MINUTE};
use crate::ui::layout::{data_table, modal_form};
use crate::ui::Nav;

pub async fn page(PageUser(user): PageUser) -> HttpResponse {
    if !user.role.may(Right::KeysOwn) {
        return forbidden(&user, Right::KeysOwn);
    }
    // Who sees every key also sees who made each; the others see only their own.
    let all = user.role.may(Right::KeysAll);
    let mut columns = vec![
        "Name",
        "Domain scope",
        "IP whitelist",
        "Permissions",
        "Expires",
        "Last used",
        "Status",
    ];
    if all {
        columns.push("Created by");
    }
    columns.push("Actions");
    let body = html! {
        header.page-header {
            h1 { "API Keys" }
            button #create-key .primary type="button" aria-haspopup="dialog" { "Create API Key" }
        }
        p.lead {
            "API keys let scripts and services call the API. Scope a key to domains, restrict it to "
            "IP addresses, choose what it may do, limit its requests, and give it an expiry. A key "
            "is shown only once, when it is created or rolled."
            @if !all { " You see the keys you created." }
        }
        p #keys-status .status role="status" aria-live="polite" {}
        div #keys-rows data-show-creator[all] {
            (data_table("keys-table", "API keys", &columns, "keys-body"))
        }
        (key_dialog(&user))
    };
    render(
        &user,
        "API Keys",
        Nav::ApiKeys,
        Some("js/api-keys.js"),
        body,
    )
}

/// The Create/Edit API Key modal: one function per group of settings, in the order of the
/// guide, so a new setting is one more function here and one more section in api-keys.js.
fn key_dialog(user: &SessionUser) -> Markup {
    html! {
        dialog #key-dialog aria-labelledby="key-dialog-title" {
            (modal_form("key", "Create API Key", "Create API Key", html! {
                (name_field())
                (domain_scope_field())
                (ip_fields())
                (expiry_fields())
                (permission_fields(user.role))
                (rate_limit_fields())
            }))
            (discard_question())
            (roll_section())
            (disable_section())
            (revoke_section())
            (delete_section())
            (key_created())
        }
    }
}

/// "Permissions": a preset (Full access, Read only, Custom) and a checkbox per permission.
/// Choosing a preset ticks its boxes; ticking boxes shows which preset they make, or Custom.
/// A permission the user's role may not grant (`Role::grantable`) is greyed out with the
/// reason, and "Full access" means everything the role may grant.
fn permission_fields(role: Role) -> Markup {
    let preset = |id: &str, value: &str, label: &str| {
        html! {
            label.radio for=(id) {
                input id=(id) type="radio" name="permission_preset" value=(value);
                " " (label)
            }
        }
    };
    html! {
        fieldset #key-permissions .field.permissions data-field="permissions"
            data-read-only=(Permissions::READ_ONLY.names().join(" "))
            aria-describedby="key-permissions-hint key-permissions-error" {
            legend { "Permissions" }
            div.scope-modes {
                (preset("key-perm-full", "full", "Full access"))
                (preset("key-perm-read", "read", "Read only"))
                (preset("key-perm-custom", "custom", "Custom"))
            }
            div.permission-list role="group" aria-label="Permissions" {
                @for p in Permission::ALL {
                    @let id = format!("key-perm-{}", p.as_str().replace(':', "-"));
                    @let denied = !role.may(Right::of_permission(p));
                    label.radio for=(id) {
                        input id=(id) type="checkbox" name="permission" value=(p.as_str()) disabled[denied]
                            aria-describedby=[denied.then(|| format!("{id}-denied"))];
                        " " code { (p.as_str()) } span.muted { " — " (p.describe()) }
                        @if denied {
                            span.hint id=(format!("{id}-denied")) { " Your role (" (role.as_str()) ") cannot grant it." }
                        }
                    }
                }
            }
            p.hint #key-permissions-hint {
                "Full access allows everything. Read only allows reading links and domains. "
                "A request that needs a permission the key does not have gets 403, naming it."
            }
            p.field-error #key-permissions-error data-error-for="permissions" role="alert" hidden {}
        }
    }
}

/// "No Rate Limit" (the default) or a number of requests per minute.
fn rate_limit_fields() -> Markup {
    shown_when_unticked(
        ("key-no-limit", "no_rate_limit", "No Rate Limit"),
        "key-rate-field",
        field(
            "key-rate",
            "Requests per minute",
            "rate_limit_per_minute",
            Some("More requests in one minute get 429 with Retry-After until the minute ends."),
            html! {
                input #key-rate name="rate_limit_per_minute" type="number" min="1" max=(MAX_PER_MINUTE) step="1"
                    inputmode="numeric" aria-describedby=(described_by("key-rate", true));
            },
        ),
    )
}

/// A checkbox, ticked by default (the permissive choice), and the field that unticking it
/// shows: "Allow All IP Addresses" / IP Whitelist, "No Rate Limit" / Requests per minute.
fn shown_when_unticked(
    (check_id, name, label): (&str, &str, &str),
    field_id: &str,
    field: Markup,
) -> Markup {
    html! {
        div.field.check data-field=(name) {
            input id=(check_id) name=(name) type="checkbox" checked;
            label for=(check_id) { (label) }
        }
        div id=(field_id) hidden { (field) }
    }
}

/// "Roll": a new key with the same settings, the old one working for a grace period.
fn roll_section() -> Markup {
    let grace = |secs: u32, label: &str| {
        let id = format!("roll-grace-{secs}");
        html! {
            label.radio for=(id) {
                input id=(id) type="radio" name="grace" value=(secs) checked[secs == 86_400];
                " " (label)
            }
        }
    };
    html! {
        div #roll-section hidden {
            (modal_form("roll", "Roll API Key", "Roll Key", html! {
                p {
                    "A new key replaces " strong #roll-key-name {} ", with the same name, domain scope, "
                    "IP whitelist, expiry, permissions and rate limit. It is shown once. The old key "
                    "keeps working for the grace period you choose, then gets 401 saying it was rotated."
                }
                fieldset.field data-field="old_key_expires_at" aria-describedby="roll-grace-error" {
                    legend { "The old key keeps working for" }
                    (grace(0, "No grace period: it stops now"))
                    (grace(3_600, "1 hour"))
                    (grace(86_400, "24 hours"))
                    (grace(604_800, "7 days"))
                    p.field-error #roll-grace-error data-error-for="old_key_expires_at" role="alert" hidden {}
                }
            }))
        }
    }
}

fn name_field() -> Markup {
    field(
        "key-name",
        "Name",
        "name",
        Some("A descriptive name, e.g. \"Production API Key\" or \"Development Key\"."),
        html! {
            input #key-name name="name" type="text" maxlength="64" required autocomplete="off"
                aria-describedby=(described_by("key-name", true));
        },
    )
}

/// "Domain Scope": all domains, or a chosen few from a checkbox list (filterable when there
/// are many), shown as removable chips. `domain-scope.js` drives it.
fn domain_scope_field() -> Markup {
    html! {
        fieldset #key-domains .field.scope data-field="domains" aria-describedby="key-domains-hint key-domains-error" {
            legend { "Domain Scope" }
            div.scope-modes {
                label.radio for="key-scope-all" {
                    input #key-scope-all type="radio" name="scope_mode" value="all" checked;
                    " All domains"
                }
                label.radio for="key-scope-some" {
                    input #key-scope-some type="radio" name="scope_mode" value="some";
                    " Only the domains I choose"
                }
            }
            div #key-scope-picker .scope-picker hidden {
                p.scope-chosen-label #key-scope-chosen-label { "Chosen domains" }
                ul #key-scope-chips .chips aria-labelledby="key-scope-chosen-label" {}
                p #key-scope-none .muted { "None yet: tick the domains below." }
                div #key-scope-filter-field .scope-filter hidden {
                    label for="key-scope-filter" { "Filter domains" }
                    input #key-scope-filter type="search" autocomplete="off" spellcheck="false" placeholder="Type part of a host name";
                }
                div #key-scope-list .scope-list role="group" aria-label="Domains" {}
                p #key-scope-empty .muted hidden {}
            }
            p.hint #key-domains-hint {
                "\"All domains\" lets the key reach all domains, including ones added later. "
                "Choose domains to restrict the key to them."
            }
            p.field-error #key-domains-error data-error-for="domains" role="alert" hidden {}
        }
    }
}

fn ip_fields() -> Markup {
    shown_when_unticked(
        ("key-allow-all", "allow_all_ips", "Allow All IP Addresses"),
        "key-whitelist-field",
        field("key-whitelist", "IP Whitelist", "ip_whitelist",
            Some("One IP address or CIDR range per line, e.g. 192.168.1.1 or 10.0.0.0/8. Only requests from these addresses are accepted."),
            html! {
                textarea #key-whitelist .mono name="ip_whitelist" rows="4" spellcheck="false" autocomplete="off"
                    aria-describedby=(described_by("key-whitelist", true)) {}
            }),
    )
}

fn expiry_fields() -> Markup {
    html! {
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
    }
}

/// "Disable": asked in the modal like Roll, since the key stops working at once.
fn disable_section() -> Markup {
    html! {
        div #disable-section hidden {
            (modal_form("disable", "Disable API Key", "Disable Key", html! {
                p {
                    strong #disable-key-name {} " stops working on its next request: it gets 401 "
                    "saying it is disabled. Nothing else changes, and \"Enable\" makes it work again "
                    "(unless it has expired by then). To stop a key for good, revoke it."
                }
            }))
        }
    }
}

/// Esc on a Create/Edit form that holds what the user typed: asked before it is thrown away.
fn discard_question() -> Markup {
    html! {
        div #key-discard .leave-confirm hidden {
            p #key-discard-question role="alert" {
                strong { "Discard what you typed? Nothing has been saved." }
            }
            div.dialog-actions {
                button #key-discard-back type="button" { "No, keep editing" }
                button #key-discard-close .danger type="button" { "Yes, discard" }
            }
        }
    }
}

/// "Revoke": asked in the modal like Roll. The guide's words: "OK" confirms, "Cancel" aborts.
fn revoke_section() -> Markup {
    html! {
        div #revoke-section hidden {
            (modal_form("revoke", "Revoke API Key", "OK", html! {
                p {
                    strong #revoke-key-name {} " stops working immediately: any application using it "
                    "gets 401 saying it was revoked. The key stays listed as revoked, and revoking "
                    "cannot be undone."
                }
            }))
        }
    }
}

/// "Delete": asked in the modal like Roll, "OK" or "Cancel" as the guide says.
fn delete_section() -> Markup {
    html! {
        div #delete-section hidden {
            (modal_form("delete", "Delete API Key", "OK", html! {
                p {
                    strong #delete-key-name {} " stops working immediately and is removed from this "
                    "list. This cannot be undone."
                }
            }))
        }
    }
}

/// The one time a key is shown. Closing it by Esc, × or a click outside first asks whether
/// the key was copied; "OK" is the deliberate way out.
fn key_created() -> Markup {
    html! {
        div #key-created hidden {
            header.dialog-header {
                h2 #key-created-title tabindex="-1" data-rolled="API Key Rolled" { "API Key Created" }
                button #key-created-close .icon type="button" aria-label="Close" { "×" }
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
            div #key-leave .leave-confirm hidden {
                p #key-leave-question role="alert" {
                    strong { "Have you copied your key? You won't be able to see it again." }
                }
                div.dialog-actions {
                    button #key-leave-back type="button" { "No, go back to the key" }
                    button #key-leave-close .danger type="button" { "Yes, close" }
                }
            }
            footer #key-created-actions .dialog-actions {
                button #key-ok .primary type="button" { "OK" }
            }
        }
    }
}
