//! A link's stats: clicks per day over the last 30 or 90 days (people and bots stacked), top
//! referrer hosts, browser and OS families (and countries, only with `analytics.geoip_db`), drawn on the server (`ui::chart`), no script. The
//! period is a plain link (`?days=90`), so a view lives in its URL. The same numbers as
//! `GET /api/v1/links/{id}/stats` (`store::Store::link_stats`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::html;
use serde::Deserialize;

use super::{forbidden, render};
use crate::auth::PageUser;
use crate::domain::{now, Right};
use crate::error::blocking;
use crate::state::AppState;
use crate::store::analytics::StatsRange;
use crate::store::records::LinkId;
use crate::ui::chart::{ranked, Bar, BarChart, Series};
use crate::ui::{error_html, sentence, Nav};

/// The periods offered, in days.
const PERIODS: [u32; 2] = [30, 90];

/// Text, so that no query string fails to extract: anything but `90` shows 30 days.
#[derive(Debug, Default, Deserialize)]
pub struct StatsPageQuery {
    days: Option<String>,
}

const SERIES: &[Series] = &[
    Series {
        name: "clicks",
        one: "click",
    },
    Series {
        name: "bots",
        one: "bot",
    },
];

pub async fn page(
    PageUser(user): PageUser,
    st: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<StatsPageQuery>,
) -> HttpResponse {
    if !user.role.may(Right::LinksRead) {
        return forbidden(&user, Right::LinksRead);
    }
    let Some(link) = id
        .parse::<LinkId>()
        .ok()
        .and_then(|id| st.store.catalog.link(id))
    else {
        return error_html(StatusCode::NOT_FOUND, "there is no such link");
    };
    let days = PERIODS
        .into_iter()
        .find(|p| q.days.as_deref() == Some(p.to_string().as_str()))
        .unwrap_or(PERIODS[0]);
    let retention = st.config.current().analytics.retention_days;
    let countries = st.events.geoip_enabled();
    let range = StatsRange::last_days(now(), days, retention);
    let id = link.rec.id;
    let st2 = st.clone();
    let stats = match blocking(move || Ok(st2.store.link_stats(id, range.from, range.to)?)).await {
        Ok(s) => s,
        Err(e) => {
            return error_html(StatusCode::INTERNAL_SERVER_ERROR, &sentence(&e.detail()));
        }
    };
    let host = st
        .store
        .catalog
        .hostname(link.rec.domain_id)
        .unwrap_or_default();
    let short = format!("{host}/{}", link.rec.slug.as_str());
    let bars: Vec<Bar> = stats
        .days
        .iter()
        .map(|(day, people, bots)| Bar {
            label: day.start().rfc3339()[..10].to_owned(),
            values: vec![*people, *bots],
        })
        .collect();
    let chart = BarChart {
        id: "clicks-chart",
        title: "Clicks per day",
        series: SERIES,
        bars: &bars,
    };
    let body = html! {
        header.page-header {
            h1 { "Stats for " (short) }
            div.header-actions { a.button href="/ui/links" { "Back to Links" } }
        }
        p.lead.wrap {
            "Where " code { (short) } " sends visitors: " (link.rec.destination_url.as_str())
        }
        nav.period aria-label="Period" {
            @for p in PERIODS {
                a href=(format!("/ui/links/{id}/stats?days={p}"))
                    aria-current=[(p == days).then_some("page")] { "Last " (p) " days" }
            }
        }
        p #stats-totals {
            (stats.total) " clicks by people and " (stats.bots)
            " by bots (crawlers, link previews), counted apart, in the last " (days) " days."
        }
        (chart.render())
        div.stats-lists {
            (ranked("stats-referrers", "Top referrers", "Referrer", &stats.referrers))
            (ranked("stats-browsers", "Browsers", "Browser", &stats.browsers))
            (ranked("stats-os", "Operating systems", "Operating system", &stats.os))
            @if countries {
                (ranked("stats-countries", "Countries", "Country", &stats.countries))
            }
        }
        p.hint {
            "Counted per day, never per click; only the referring page's host is kept"
            @if countries { ", and a visitor's country, never their address" }
            ". "
            "Days are kept for " (retention) " days."
        }
    };
    render(&user, &format!("Stats for {short}"), Nav::Links, None, body)
}
