//! A link's stats: clicks per day, top referrer hosts, browser and OS families, bots apart
//! (`store::analytics`). Read like the link itself: `links:read` and the link's domain in scope.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::links::visible;
use crate::auth::Caller;
use crate::domain::now;
use crate::error::{blocking, ApiError, Problem};
use crate::state::AppState;
use crate::store::analytics::{LinkStats, StatsRange};
use crate::store::records::LinkId;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource!("/links/{id}/stats").route(web::get().to(stats)));
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// `day` (the only bucket; the default).
    #[param(example = "day")]
    pub bucket: Option<String>,
    /// The first day: a date (`2026-11-01`) or an RFC 3339 time (its day, in UTC). Default:
    /// 29 days before today. Not after today (UTC); days older than `analytics.retention_days`
    /// are no longer kept, so the points start at the oldest kept day.
    #[param(example = "2026-11-01")]
    pub since: Option<String>,
}

/// Clicks on one day.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsPoint {
    /// The day's start (midnight UTC).
    #[schema(example = "2026-11-26T00:00:00Z", format = DateTime)]
    pub at: String,
    /// Clicks by people that day (bots are counted apart).
    #[schema(example = 12)]
    pub clicks: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReferrerCount {
    /// The referring page's host only (never its path or query); `direct` without a
    /// `Referer`; `other` sums the hosts past the top 20.
    #[schema(example = "news.ycombinator.com")]
    pub host: String,
    #[schema(example = 7)]
    pub clicks: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FamilyCount {
    /// A browser or OS family (`Chrome`, `Firefox`, `iOS`, `Windows 10`, …); `Other` when the
    /// User-Agent does not say; `other` sums the families past the top 20.
    #[schema(example = "Firefox")]
    pub name: String,
    #[schema(example = 5)]
    pub clicks: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CountryCount {
    /// The ISO 3166-1 alpha-2 code of the country the click came from (`DE`), from the
    /// `analytics.geoip_db` file; `unknown` when the file has no country for the address;
    /// `other` sums the countries past the top 20. The address itself is never kept.
    #[schema(example = "DE")]
    pub code: String,
    #[schema(example = 9)]
    pub clicks: u64,
}

/// A link's clicks over a range of days.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkStatsView {
    /// Clicks by people over the range (bots not included; `total` + `bots` is every click).
    #[schema(example = 12)]
    pub total: u64,
    /// Every day of the range, oldest first, days without a click included.
    pub points: Vec<StatsPoint>,
    /// Most first.
    pub referrers: Vec<ReferrerCount>,
    pub browsers: Vec<FamilyCount>,
    pub os: Vec<FamilyCount>,
    /// Clicks by country, most first: present only when the server has a GeoIP database
    /// (`analytics.geoip_db`); absent (not an empty list) without one. Empty: no click yet
    /// in the range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub countries: Option<Vec<CountryCount>>,
    /// Clicks by crawlers and other bots over the range.
    #[schema(example = 3)]
    pub bots: u64,
}

impl LinkStatsView {
    /// The answer, with `countries` only when a GeoIP database is configured.
    pub fn new(s: LinkStats, countries: bool) -> Self {
        let family = |v: Vec<(String, u64)>| {
            v.into_iter()
                .map(|(name, clicks)| FamilyCount { name, clicks })
                .collect()
        };
        Self {
            total: s.total,
            points: s
                .days
                .iter()
                .map(|(d, clicks, _)| StatsPoint {
                    at: d.start().rfc3339(),
                    clicks: *clicks,
                })
                .collect(),
            referrers: s
                .referrers
                .into_iter()
                .map(|(host, clicks)| ReferrerCount { host, clicks })
                .collect(),
            browsers: family(s.browsers),
            os: family(s.os),
            countries: countries.then(|| {
                s.countries
                    .into_iter()
                    .map(|(code, clicks)| CountryCount { code, clicks })
                    .collect()
            }),
            bots: s.bots,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/links/{id}/stats", tag = "Links",
    summary = "A link's clicks per day",
    description = "Clicks per day from `since` (default: the last 30 days) to today, with the top referrer hosts, browser and OS families, and bots counted apart (not in `total`, `points` or the lists). Counts are kept per link per day, never per click, for `analytics.retention_days` (default 400). Only the referrer's host is kept. `countries` (ISO codes) is present only when the server has a GeoIP database (`analytics.geoip_db`, a MaxMind-format file the operator provides) and absent otherwise; the client address is looked up once and never stored.",
    params(("id" = u64, Path, description = "Link id"), StatsQuery),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "The link's stats", body = LinkStatsView,
            example = json!({"total": 12, "points": [{"at": "2026-11-25T00:00:00Z", "clicks": 5}, {"at": "2026-11-26T00:00:00Z", "clicks": 7}], "referrers": [{"host": "news.ycombinator.com", "clicks": 7}, {"host": "direct", "clicks": 5}], "browsers": [{"name": "Firefox", "clicks": 7}, {"name": "Chrome", "clicks": 5}], "os": [{"name": "Linux", "clicks": 7}, {"name": "iOS", "clicks": 5}], "countries": [{"code": "DE", "clicks": 9}, {"code": "unknown", "clicks": 3}], "bots": 3})),
        (status = 400, description = "Invalid `bucket` or `since`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such link (or out of the key's scope)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn stats(
    caller: Caller,
    st: web::Data<AppState>,
    id: web::Path<LinkId>,
    q: web::Query<StatsQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = *id;
    visible(&caller, &st, id)?;
    let retention = st.config.current().analytics.retention_days;
    let range = StatsRange::parse(q.bucket.as_deref(), q.since.as_deref(), now(), retention)?;
    let st2 = st.clone();
    let stats = blocking(move || Ok(st2.store.link_stats(id, range.from, range.to)?)).await?;
    let countries = st.events.geoip_enabled();
    Ok(HttpResponse::Ok().json(LinkStatsView::new(stats, countries)))
}
