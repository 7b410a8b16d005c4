//! A key's usage: its requests per hour (last 48 hours) and per day (last 30 days), ok and
//! refused stacked (`ui::chart`), and its request log, newest first, filtered by status with a
//! plain GET form (so a filtered view lives in its URL) and paged by links. Reached from the
//! key's row on the API Keys page and from the dashboard. Someone else's key is the same 404
//! as a missing one (`SessionUser::may_manage_key`), as in the API.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::{forbidden, render};
use crate::auth::PageUser;
use crate::domain::{now, Right};
use crate::error::{blocking, ApiError};
use crate::state::AppState;
use crate::store::records::{KeyId, KeyRecord, KeyRequestRecord};
use crate::store::usage::{Bucket, Counts, StatusFilter};
use crate::ui::chart::{Bar, BarChart, Series};
use crate::ui::{error_html, sentence, Nav};

/// Log entries a page.
const PAGE: usize = 50;

const SERIES: &[Series] = &[
    Series {
        name: "ok",
        one: "ok",
    },
    Series {
        name: "refused",
        one: "refused",
    },
];

/// The status filter's choices: value, words.
const STATUSES: &[(&str, &str)] = &[
    ("", "All"),
    ("ok", "OK (below 400)"),
    ("refused", "Refused (400 and up)"),
    ("2xx", "2xx"),
    ("3xx", "3xx"),
    ("4xx", "4xx"),
    ("5xx", "5xx"),
];

/// Text fields, so that no query string fails to extract: a bad value is told on the page.
#[derive(Debug, Default, Deserialize)]
pub struct LogQuery {
    status: Option<String>,
    offset: Option<String>,
}

/// The page's own address.
pub fn url(id: KeyId) -> String {
    format!("/ui/integrations/api-keys/{id}/usage")
}

fn log_url(id: KeyId, status: Option<StatusFilter>, offset: usize) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    if let Some(s) = status {
        q.append_pair("status", &s.as_query());
    }
    if offset > 0 {
        q.append_pair("offset", &offset.to_string());
    }
    let q = q.finish();
    if q.is_empty() {
        format!("{}#request-log", url(id))
    } else {
        format!("{}?{q}#request-log", url(id))
    }
}

struct Loaded {
    key: KeyRecord,
    hours: Vec<Bar>,
    days: Vec<Bar>,
    log: Result<(Vec<KeyRequestRecord>, usize), String>,
}

pub async fn page(
    PageUser(user): PageUser,
    st: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<LogQuery>,
) -> HttpResponse {
    if !user.role.may(Right::KeysOwn) {
        return forbidden(&user, Right::KeysOwn);
    }
    let not_found = || error_html(StatusCode::NOT_FOUND, "there is no such API key");
    let Ok(id) = id.parse::<KeyId>() else {
        return not_found();
    };
    let offset = q
        .offset
        .as_deref()
        .and_then(|o| o.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let status = StatusFilter::parse(q.status.as_deref().unwrap_or(""));
    let (st2, user2) = (st.clone(), user.clone());
    let filter = status.clone().ok().flatten();
    let loaded = blocking(move || {
        let Some((key, _)) = st2.store.key_with_usage(id)? else {
            return Ok(None);
        };
        if !user2.may_manage_key(&key) {
            return Ok(None);
        }
        let at = now();
        let series = |bucket: Bucket| -> Result<Vec<Bar>, ApiError> {
            let (from, to) = bucket.span(None, at)?;
            Ok(st2
                .store
                .key_usage_series(id, bucket, from, to)?
                .into_iter()
                .map(|(i, c)| bar(bucket, i, c))
                .collect())
        };
        let (hours, days) = (series(Bucket::Hour)?, series(Bucket::Day)?);
        let log = match &status {
            Ok(_) => Ok(st2.store.key_requests(id, filter, offset, PAGE)?),
            Err(e) => Err(sentence(&format!("Status: {}", e.message))),
        };
        Ok(Some(Loaded {
            key,
            hours,
            days,
            log,
        }))
    })
    .await;
    let loaded = match loaded {
        Ok(Some(l)) => l,
        Ok(None) => return not_found(),
        Err(e) => return error_html(StatusCode::INTERNAL_SERVER_ERROR, &e.detail()),
    };
    let bad_filter = loaded.log.is_err();
    let name = loaded.key.name.as_str().to_owned();
    let body = html! {
        header.page-header {
            h1 { "Usage of " (name) }
            a href="/ui/integrations/api-keys" { "Back to API Keys" }
        }
        p.lead {
            "Requests made with " code { (loaded.key.prefix) "…" } ": ok (answered below 400) and refused "
            "(400 and up: the key revoked, expired, rotated or disabled, an address outside its IP "
            "whitelist, a missing permission, a domain out of scope, the rate limit, bad input). "
            "The charts are in UTC; counts arrive within a second."
        }
        section aria-labelledby="usage-charts-title" {
            h2 #usage-charts-title { "Requests" }
            (BarChart { id: "usage-hours", title: "Requests per hour, last 48 hours", series: SERIES, bars: &loaded.hours }.render())
            (BarChart { id: "usage-days", title: "Requests per day, last 30 days", series: SERIES, bars: &loaded.days }.render())
        }
        section #request-log aria-labelledby="request-log-title" {
            h2 #request-log-title { "Request log" }
            (filters(id, q.status.as_deref().unwrap_or("")))
            @match &loaded.log {
                Err(message) => p #request-log-error .form-error role="alert" { (message) },
                Ok((entries, total)) => {
                    p #request-log-status .status role="status" {
                        @if *total == 0 { "No requests match." }
                        @else { "Requests " (offset.min(*total) + 1) "–" ((offset + entries.len()).min(*total)) " of " (total) ", newest first." }
                    }
                    @if !entries.is_empty() { (log_table(entries)) }
                    (pager(id, filter_of(q.status.as_deref()), offset, entries.len(), *total))
                }
            }
        }
    };
    let mut res = render(
        &user,
        &format!("Usage of {name}"),
        Nav::ApiKeys,
        None::<&str>,
        body,
    );
    if bad_filter {
        *res.status_mut() = StatusCode::BAD_REQUEST;
    }
    res
}

fn filter_of(raw: Option<&str>) -> Option<StatusFilter> {
    StatusFilter::parse(raw.unwrap_or("")).ok().flatten()
}

/// One bar: hours read `2026-12-02 14:00`, days `2026-12-02` (UTC).
fn bar(bucket: Bucket, index: u64, c: Counts) -> Bar {
    let at = bucket.start(index).rfc3339();
    let label = match bucket {
        Bucket::Hour => format!("{} {}", &at[..10], &at[11..16]),
        Bucket::Day => at[..10].to_owned(),
    };
    Bar {
        label,
        values: vec![c.ok, c.refused],
    }
}

fn filters(id: KeyId, chosen: &str) -> Markup {
    let chosen = chosen.trim().to_ascii_lowercase();
    let known = STATUSES.iter().any(|(v, _)| *v == chosen);
    html! {
        form #request-log-filters .toolbar role="search" method="get" action=(url(id)) aria-label="Filter the request log" {
            label for="request-log-status-filter" { "Status" }
            select #request-log-status-filter name="status" {
                @for (value, words) in STATUSES {
                    option value=(value) selected[chosen == *value || (!known && value.is_empty())] { (words) }
                }
            }
            button type="submit" { "Filter" }
            @if !chosen.is_empty() {
                a href=(log_url(id, None, 0)) { "Clear filter" }
            }
        }
    }
}

fn log_table(entries: &[KeyRequestRecord]) -> Markup {
    html! {
        div.table-wrap {
            table #request-log-table .data {
                caption.visually-hidden { "Request log, newest first" }
                thead { tr {
                    th scope="col" { "When" }
                    th scope="col" { "Request" }
                    th scope="col" { "Status" }
                    th scope="col" { "Address" }
                } }
                tbody #request-log-body {
                    @for r in entries {
                        tr data-status=(r.status) {
                            td data-label="When" { time.local datetime=(r.at.rfc3339()) { (r.at.rfc3339()) } }
                            td.wrap data-label="Request" { code { (r.method) " " (r.path) } }
                            td data-label="Status" {
                                (r.status)
                                @if crate::store::usage::is_refused(r.status) { " " span.muted { "refused" } }
                            }
                            td data-label="Address" { (r.ip) }
                        }
                    }
                }
            }
        }
    }
}

fn pager(
    id: KeyId,
    status: Option<StatusFilter>,
    offset: usize,
    shown: usize,
    total: usize,
) -> Markup {
    let newer = (offset > 0).then(|| log_url(id, status, offset.saturating_sub(PAGE)));
    let older = (offset + shown < total).then(|| log_url(id, status, offset + PAGE));
    html! {
        @if newer.is_some() || older.is_some() {
            nav.pager aria-label="Request log pages" {
                @if let Some(href) = newer { a #request-log-newer href=(href) rel="prev" { "Newer" } }
                @if let Some(href) = older { a #request-log-older href=(href) rel="next" { "Older" } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_labelled_by_their_start_in_utc() {
        let c = Counts { ok: 2, refused: 1 };
        let b = bar(Bucket::Hour, 500_000, c);
        assert_eq!(b.label, "2027-01-15 08:00");
        assert_eq!(b.values, vec![2, 1]);
        assert_eq!(bar(Bucket::Day, 20_833, c).label, "2027-01-15");
    }

    #[test]
    fn a_log_view_keeps_its_filter_in_its_url() {
        assert_eq!(
            log_url(7, Some(StatusFilter::Refused), 50),
            "/ui/integrations/api-keys/7/usage?status=refused&offset=50#request-log"
        );
        assert_eq!(
            log_url(7, None, 0),
            "/ui/integrations/api-keys/7/usage#request-log"
        );
    }
}
