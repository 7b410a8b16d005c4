//! Home: for a new user, a getting-started checklist that ticks itself off from real data
//! (a domain, a link, an API key, a request from the playground); once every step is done, a
//! small dashboard: counts, the busiest links and keys of the last 7 days, keys used recently
//! and keys expiring soon.

use actix_web::{web, HttpResponse};
use maud::{html, Markup};

use super::{cannot, render};
use crate::auth::{PageUser, SessionUser};
use crate::domain::{now, Right, Timestamp};
use crate::error::{blocking, ApiError};
use crate::state::AppState;
use crate::store::records::{KeyId, KeyRecord, KeyStatus, KeyUsage};
use crate::store::DomainScope;
use crate::ui::Nav;

/// How far ahead "expiring soon" looks.
const SOON_SECS: i64 = 30 * 24 * 3600;
/// Rows in each dashboard list.
const SHOWN: usize = 5;
/// How far back "busiest" looks: today and the 6 days before (UTC days for keys).
const BUSIEST_SECS: i64 = 6 * 24 * 3600;

/// What the home page is built from: read models and the user's playground history.
struct Facts {
    domains: usize,
    links: usize,
    clicks: u64,
    keys: Vec<(KeyRecord, KeyUsage)>,
    history: usize,
    /// Short URL, destination, the links page searching for it, clicks.
    top_links: Vec<(String, String, String, u64)>,
    /// The user's keys by requests in the last 7 days: id, name, prefix, requests.
    busiest_keys: Vec<(KeyId, String, String, u64)>,
}

impl Facts {
    fn steps(&self) -> [Step; 4] {
        let used = self.keys.iter().any(|(_, u)| u.request_count > 0);
        [
            Step {
                right: (Right::DomainsWrite, "add domains"),
                title: "Add a domain",
                text: "The host name your short links live on, such as go.example.com.",
                href: "/ui/domains",
                action: "Go to Domains",
                done: self.domains > 0,
            },
            Step {
                right: (Right::LinksWrite, "create links"),
                title: "Create a link",
                text: "A short address on your domain that redirects to any URL.",
                href: "/ui/links",
                action: "Go to Links",
                done: self.links > 0,
            },
            Step {
                right: (Right::KeysOwn, "create API keys"),
                title: "Create an API key",
                text: "For your scripts and services; scope it to domains, addresses and time.",
                href: "/ui/integrations/api-keys",
                action: "Go to API Keys",
                done: !self.keys.is_empty(),
            },
            Step {
                right: (Right::Playground, "use the playground"),
                title: "Send a request from the playground",
                text: "Paste your key in the API Playground and try an endpoint.",
                href: "/ui/integrations/manual#api-playground",
                action: "Open the API Playground",
                done: self.history > 0 || used,
            },
        ]
    }
}

struct Step {
    /// What the step needs of the user's role, and the words for "cannot …".
    right: (Right, &'static str),
    title: &'static str,
    text: &'static str,
    href: &'static str,
    action: &'static str,
    done: bool,
}

pub async fn page(PageUser(user): PageUser, st: web::Data<AppState>) -> HttpResponse {
    let st2 = st.clone();
    let user2 = user.clone();
    let facts = blocking(move || facts(&st2, &user2)).await;
    let body = match facts {
        Ok(f) => {
            let steps = f.steps();
            // A step the role cannot take is shown with the reason, and does not hold back
            // the dashboard.
            if steps.iter().all(|s| s.done || !user.role.may(s.right.0)) {
                dashboard(&f, user.role.may(Right::KeysOwn))
            } else {
                checklist(&steps, &user)
            }
        }
        Err(e) => html! {
            header.page-header { h1 { "Welcome to linkdock" } }
            p.error role="alert" { "The overview could not be loaded: " (e.detail()) "." }
        },
    };
    render(&user, "Home", Nav::Home, None, body)
}

fn facts(st: &AppState, user: &SessionUser) -> Result<Facts, ApiError> {
    let username = user.username.as_str();
    let catalog = &st.store.catalog;
    let domains = catalog.domains(&DomainScope::All);
    let since = now().plus_secs(-BUSIEST_SECS);
    let top_links = st
        .store
        .busiest_links(since, SHOWN)?
        .into_iter()
        .filter_map(|(id, clicks)| {
            let e = catalog.link(id)?;
            let host = catalog.hostname(e.rec.domain_id).unwrap_or_default();
            Some((
                format!("{host}/{}", e.rec.slug),
                e.rec.destination_url.as_str().to_owned(),
                format!("/ui/links/{id}/stats"),
                clicks,
            ))
        })
        .collect();
    // Like the keys page: only the keys this user manages.
    let keys: Vec<(KeyRecord, KeyUsage)> = st
        .store
        .keys_with_usage()?
        .into_iter()
        .filter(|(k, _)| user.may_manage_key(k))
        .collect();
    let busiest_keys = if user.role.may(Right::KeysOwn) {
        st.store
            .busiest_keys(since)?
            .into_iter()
            .filter_map(|(id, n)| {
                let (k, _) = keys.iter().find(|(k, _)| k.id == id)?;
                Some((id, k.name.as_str().to_owned(), k.prefix.to_string(), n))
            })
            .take(SHOWN)
            .collect()
    } else {
        Vec::new()
    };
    Ok(Facts {
        clicks: catalog.click_total(),
        domains: domains.len(),
        links: catalog.link_total(),
        keys,
        history: st.store.history(username, 0, 0)?.1,
        top_links,
        busiest_keys,
    })
}

fn checklist(steps: &[Step; 4], user: &SessionUser) -> Markup {
    let done = steps.iter().filter(|s| s.done).count();
    html! {
        header.page-header { h1 { "Welcome to linkdock" } }
        section.getting-started aria-labelledby="getting-started-title" {
            h2 #getting-started-title { "Getting started" }
            p.muted #getting-started-progress {
                (done) " of " (steps.len()) " steps done. Each step ticks itself off when it is done."
            }
            ol.checklist {
                @for s in steps {
                    li.step.done[s.done] data-done=(s.done) {
                        span.step-mark aria-hidden="true" { @if s.done { "✓" } }
                        div.step-text {
                            h3 {
                                @if s.done { span.visually-hidden { "Done: " } }
                                (s.title)
                            }
                            p.muted { (s.text) }
                        }
                        @if !s.done {
                            @if let Some(why) = cannot(user, s.right.0, s.right.1) {
                                p.hint.step-denied { (why) }
                            } @else {
                                a.button href=(s.href) { (s.action) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `keys_page`: whether the user's role may open the API Keys page (the count links there).
fn dashboard(f: &Facts, keys_page: bool) -> Markup {
    let at = now();
    let active = f
        .keys
        .iter()
        .filter(|(k, _)| k.status_at(at) == KeyStatus::Active)
        .count();
    let mut recent: Vec<&(KeyRecord, KeyUsage)> = f
        .keys
        .iter()
        .filter(|(_, u)| u.last_used_at.is_some())
        .collect();
    recent.sort_by_key(|(_, u)| std::cmp::Reverse(u.last_used_at));
    recent.truncate(SHOWN);
    let mut expiring: Vec<&(KeyRecord, KeyUsage)> = f
        .keys
        .iter()
        .filter(|(k, _)| {
            k.status_at(at) == KeyStatus::Active
                && k.expires_at
                    .is_some_and(|e| e.unix() <= at.unix() + SOON_SECS)
        })
        .collect();
    expiring.sort_by_key(|(k, _)| k.expires_at);
    expiring.truncate(SHOWN);
    html! {
        header.page-header { h1 { "Dashboard" } }
        ul.stats aria-label="Counts" {
            li { a href="/ui/domains" { strong { (f.domains) } " " (plural(f.domains, "domain", "domains")) } }
            li { a href="/ui/links" { strong { (f.links) } " " (plural(f.links, "link", "links")) } }
            li { strong { (f.clicks) } " " (plural(f.clicks, "click", "clicks")) }
            @if keys_page {
                li { a href="/ui/integrations/api-keys" { strong { (active) } " active " (plural(active, "API key", "API keys")) } }
            }
        }
        div.dashboard {
            section.dash-card aria-labelledby="top-links-title" {
                h2 #top-links-title { "Busiest links, last 7 days" }
                @if f.top_links.is_empty() {
                    p.muted { "No clicks yet." }
                } @else {
                    ol.dash-list #top-links {
                        @for (short, dest, href, clicks) in &f.top_links {
                            li {
                                span.dash-main { a href=(href) { code { (short) } } span.muted.dash-sub { (dest) } }
                                span.dash-figure { (clicks) " " (plural(*clicks, "click", "clicks")) }
                            }
                        }
                    }
                }
            }
            @if keys_page {
                section.dash-card aria-labelledby="busiest-keys-title" {
                    h2 #busiest-keys-title { "Busiest keys, last 7 days" }
                    @if f.busiest_keys.is_empty() {
                        p.muted { "No key has made a request in the last 7 days." }
                    } @else {
                        ol.dash-list #busiest-keys {
                            @for (id, name, prefix, n) in &f.busiest_keys {
                                li {
                                    span.dash-main {
                                        a href=(super::key_usage::url(*id)) { strong { (name) } }
                                        span.muted.dash-sub { code { (prefix) "…" } }
                                    }
                                    span.dash-figure { (n) " " (plural(*n, "request", "requests")) }
                                }
                            }
                        }
                    }
                }

                section.dash-card aria-labelledby="recent-keys-title" {
                    h2 #recent-keys-title { "Keys used recently" }
                    @if recent.is_empty() {
                        p.muted { "No key has been used yet." }
                    } @else {
                        ol.dash-list #recent-keys {
                            @for (k, u) in &recent {
                                li {
                                    span.dash-main { strong { (k.name.as_str()) } span.muted.dash-sub { code { (k.prefix) "…" } } }
                                    span.dash-figure {
                                        (time(u.last_used_at))
                                        " · " (u.request_count) " " (plural(u.request_count, "request", "requests"))
                                    }
                                }
                            }
                        }
                    }
                }
                section.dash-card aria-labelledby="expiring-keys-title" {
                    h2 #expiring-keys-title { "Keys expiring soon" }
                    @if expiring.is_empty() {
                        p.muted { "No active key expires in the next 30 days." }
                    } @else {
                        ol.dash-list #expiring-keys {
                            @for (k, _) in &expiring {
                                li {
                                    span.dash-main { strong { (k.name.as_str()) } span.muted.dash-sub { code { (k.prefix) "…" } } }
                                    span.dash-figure { "expires " (time(k.expires_at)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A time the page script shows in the reader's local time; UTC until it does.
fn time(t: Option<Timestamp>) -> Markup {
    match t {
        Some(t) => html! { time.local datetime=(t.rfc3339()) { (t.rfc3339()) } },
        None => html! { "never" },
    }
}

fn plural<N: PartialEq + From<u8>>(n: N, one: &'static str, many: &'static str) -> &'static str {
    if n == N::from(1) {
        one
    } else {
        many
    }
}
