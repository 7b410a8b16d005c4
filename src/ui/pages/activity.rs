//! Activity: the activity log as a table, filtered by a plain GET form (person, action group,
//! since) so that a filtered view lives in its URL, and paged by links. Admins see everyone's
//! entries, others their own (`SessionUser::activity_scope`). Rendered on the server: the
//! only script is the shell's, which shows the times in the reader's time zone.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::render;
use crate::audit::{Action, ActorKind, AuditFilter, GROUPS};
use crate::auth::PageUser;
use crate::error::blocking;
use crate::state::AppState;
use crate::store::records::AuditRecord;
use crate::ui::{sentence, Nav};

/// Entries a page.
const PAGE: usize = 50;

/// Every field is text, so that no query string can fail to extract: bad values are told on
/// the page, next to the form.
#[derive(Debug, Default, Deserialize)]
pub struct ActivityQuery {
    actor: Option<String>,
    action: Option<String>,
    /// A date (`2026-11-01`, from the date field) or an RFC 3339 time.
    since: Option<String>,
    offset: Option<String>,
}

impl ActivityQuery {
    /// The URL of this view at another offset.
    fn url(&self, offset: usize) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("actor", &self.actor),
            ("action", &self.action),
            ("since", &self.since),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                q.append_pair(k, v);
            }
        }
        if offset > 0 {
            q.append_pair("offset", &offset.to_string());
        }
        let q = q.finish();
        if q.is_empty() {
            "/ui/activity".to_owned()
        } else {
            format!("/ui/activity?{q}")
        }
    }

    /// The `since` value as the API reads it: a bare date means its start, in UTC.
    fn since_rfc3339(&self) -> Option<String> {
        let s = self.since.as_deref()?.trim();
        if s.len() == 10 && s.as_bytes().get(4) == Some(&b'-') {
            Some(format!("{s}T00:00:00Z"))
        } else {
            Some(s.to_owned())
        }
    }
}

pub async fn page(
    PageUser(user): PageUser,
    st: web::Data<AppState>,
    q: web::Query<ActivityQuery>,
) -> HttpResponse {
    let q = q.into_inner();
    let everyone = user.activity_scope().is_none();
    let offset = q
        .offset
        .as_deref()
        .and_then(|o| o.parse::<usize>().ok())
        .unwrap_or(0);
    let since = q.since_rfc3339();
    let parsed = AuditFilter::parse(q.actor.as_deref(), q.action.as_deref(), since.as_deref());
    let (result, status) = match parsed {
        Ok(filter) => {
            let filter = AuditFilter {
                only_user: user.activity_scope(),
                ..filter
            };
            let st2 = st.clone();
            match blocking(move || Ok(st2.store.audit_page(&filter, offset, PAGE)?)).await {
                Ok(page) => (Ok(page), StatusCode::OK),
                Err(e) => (
                    Err(sentence(&e.detail())),
                    StatusCode::INTERNAL_SERVER_ERROR,
                ),
            }
        }
        Err(e) => (
            Err(sentence(&format!(
                "{}: {}",
                field_words(&e.field),
                e.message
            ))),
            StatusCode::BAD_REQUEST,
        ),
    };
    let body = html! {
        header.page-header { h1 { "Activity" } }
        p.lead {
            @if everyone { "Who did what, when and from where: sign-ins, changes to keys, domains and links, imports, exports, backups and configuration reloads." }
            @else { "What you did, when and from where: your sign-ins and your changes." }
            " Entries are kept for " (st.config.current().audit.retention_days) " days."
        }
        (filters(&q, everyone))
        @match &result {
            Err(message) => p #activity-error .form-error role="alert" { (message) },
            Ok((entries, total)) => {
                p #activity-status .status role="status" {
                    @if *total == 0 { "No entries match." }
                    @else { "Entries " (offset.min(*total) + 1) "–" ((offset + entries.len()).min(*total)) " of " (total) ", newest first." }
                }
                @if !entries.is_empty() {
                    (table(entries))
                }
                (pager(&q, offset, entries.len(), *total))
            }
        }
    };
    let mut res = render(&user, "Activity", Nav::Activity, None::<&str>, body);
    *res.status_mut() = status;
    res
}

fn field_words(field: &str) -> &str {
    match field {
        "actor" => "Person",
        "action" => "Action",
        "since" => "Since",
        other => other,
    }
}

fn filters(q: &ActivityQuery, everyone: bool) -> Markup {
    let chosen = q.action.as_deref().unwrap_or("");
    html! {
        form #activity-filters .toolbar role="search" method="get" action="/ui/activity" aria-label="Filter activity" {
            @if everyone {
                label for="activity-actor" { "Person" }
                input #activity-actor name="actor" type="text" autocomplete="off" spellcheck="false"
                    placeholder="Username or key" value=[q.actor.as_deref()];
            }
            label for="activity-action" { "Action" }
            select #activity-action name="action" {
                option value="" selected[chosen.is_empty()] { "All actions" }
                @for (prefix, words) in GROUPS {
                    option value=(prefix) selected[chosen == *prefix] { (words) }
                }
            }
            label for="activity-since" { "Since" }
            input #activity-since name="since" type="date" value=[q.since.as_deref()];
            button type="submit" { "Filter" }
            @if [&q.actor, &q.action, &q.since].iter().any(|v| v.as_deref().is_some_and(|v| !v.is_empty())) {
                a href="/ui/activity" { "Clear filters" }
            }
        }
    }
}

fn table(entries: &[(u64, AuditRecord)]) -> Markup {
    html! {
        div.table-wrap {
            table #activity-table .data {
                caption.visually-hidden { "Activity, newest first" }
                thead { tr {
                    th scope="col" { "When" }
                    th scope="col" { "Who" }
                    th scope="col" { "Action" }
                    th scope="col" { "Target" }
                    th scope="col" { "Address" }
                    th scope="col" { "Detail" }
                } }
                tbody #activity-body {
                    @for (id, e) in entries {
                        tr data-id=(id) data-action=(e.action) {
                            td data-label="When" {
                                // shell.js writes the local time and how long ago ("(3 hours ago)").
                                time.local datetime=(e.at.rfc3339()) { (e.at.rfc3339()) }
                            }
                            td.wrap data-label="Who" {
                                (e.actor.name)
                                @if e.actor.kind != ActorKind::User {
                                    " " span.muted { "(" (kind_words(e.actor.kind)) ")" }
                                }
                            }
                            td data-label="Action" {
                                (action_words(&e.action))
                            }
                            td.wrap data-label="Target" data-empty[e.target.is_empty()] { (e.target) }
                            td data-label="Address" data-empty[e.client_ip.is_none()] {
                                (e.client_ip.as_deref().unwrap_or(""))
                            }
                            td.wrap data-label="Detail" data-empty[e.detail.is_empty()] { (e.detail) }
                        }
                    }
                }
            }
        }
    }
}

/// The action in words; a name this build does not know, as it is.
fn action_words(name: &str) -> &str {
    match Action::named(name) {
        Some(a) => a.words(),
        None => name,
    }
}

fn kind_words(kind: ActorKind) -> &'static str {
    match kind {
        ActorKind::User => "user",
        ActorKind::Key => "API key",
        ActorKind::Config => "config file",
        ActorKind::System => "linkdock",
    }
}

fn pager(q: &ActivityQuery, offset: usize, shown: usize, total: usize) -> Markup {
    let newer = (offset > 0).then(|| q.url(offset.saturating_sub(PAGE)));
    let older = (offset + shown < total).then(|| q.url(offset + PAGE));
    html! {
        @if newer.is_some() || older.is_some() {
            nav.pager aria-label="Pagination" {
                @if let Some(href) = newer { a #activity-newer href=(href) rel="prev" { "Newer" } }
                @if let Some(href) = older { a #activity-older href=(href) rel="next" { "Older" } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_keeps_its_filters_in_its_url() {
        let q = ActivityQuery {
            action: Some("key.".into()),
            since: Some("2026-11-01".into()),
            ..ActivityQuery::default()
        };
        assert_eq!(
            q.url(50),
            "/ui/activity?action=key.&since=2026-11-01&offset=50"
        );
        assert_eq!(q.since_rfc3339().as_deref(), Some("2026-11-01T00:00:00Z"));
        assert_eq!(ActivityQuery::default().url(0), "/ui/activity");
    }
}
