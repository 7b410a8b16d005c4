//! Clicks per link per day (`link_days_v1`): one row per link and day that had a click, with
//! that day's counts by referrer host, browser family, OS family, and bots apart. Never a row
//! per click. Written only by the batched writer (`apply_days`, inside the events' commit);
//! read by `GET /links/{id}/stats` and the link's stats page; dropped with the link
//! (`remove_link_days`) and by the sweeper past `analytics.retention_days` (`prune_link_days`).

use std::collections::HashMap;

use super::kv::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::records::LinkId;
use super::tables::{LINKS, LINK_DAYS};
use super::{Store, StoreError};
use crate::domain::{parse_rfc3339, DomainError, Timestamp};

/// Distinct names kept per dimension per link-day; further ones count under [`OTHER`], so a
/// row stays small however many referrers a link meets (a spammer's random hosts included).
pub const MAX_NAMES: usize = 32;
/// Where the names past [`MAX_NAMES`] are counted.
pub const OTHER: &str = "other";
/// The referrer of a click without a `Referer` (or with one that names no host).
pub const DIRECT: &str = "direct";

/// A day in UTC, as days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Day(pub u32);

impl Day {
    /// The day `t` falls on (before 1970: day 0, which no click can have).
    pub fn of(t: Timestamp) -> Self {
        Self(u32::try_from(t.unix().div_euclid(86_400)).unwrap_or(0))
    }

    /// Midnight UTC that starts the day.
    pub fn start(self) -> Timestamp {
        Timestamp::from_unix(i64::from(self.0) * 86_400)
    }

    #[must_use]
    pub fn minus(self, days: u32) -> Self {
        Self(self.0.saturating_sub(days))
    }
}

/// One link's counts on one day, as stored (postcard: the field order is the format, so a new
/// field means a new table version). `countries` (ISO codes, `unknown`) stays empty unless
/// `analytics.geoip_db` is set.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCounts {
    /// Clicks by people (bots are not in it).
    pub clicks: u64,
    pub bots: u64,
    pub referrers: Vec<(String, u64)>,
    pub browsers: Vec<(String, u64)>,
    pub os: Vec<(String, u64)>,
    pub countries: Vec<(String, u64)>,
}

impl DayCounts {
    pub(super) fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        postcard::from_bytes(bytes).map_err(|e| StoreError::Corrupt(format!("link day: {e}")))
    }

    fn encode(&self) -> Vec<u8> {
        // Plain data into a Vec: postcard cannot fail here.
        postcard::to_allocvec(self).unwrap_or_default()
    }

    fn add(&mut self, t: &DayTally) {
        self.clicks += t.clicks;
        self.bots += t.bots;
        merge(&mut self.referrers, &t.referrers);
        merge(&mut self.browsers, &t.browsers);
        merge(&mut self.os, &t.os);
        merge(&mut self.countries, &t.countries);
    }
}

/// Counts by name within a batch. foldhash (hashbrown's default) rather than SipHash: the
/// writer looks one up per click, and these keys come from our own classification.
pub type Names = hashbrown::HashMap<String, u64>;

/// One batch's clicks for one link on one day, before they are added to the stored row.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DayTally {
    pub clicks: u64,
    pub bots: u64,
    pub referrers: Names,
    pub browsers: Names,
    pub os: Names,
    /// ISO country codes (`store::geoip`), only with a GeoIP database.
    pub countries: Names,
}

fn merge(into: &mut Vec<(String, u64)>, add: &Names) {
    for (name, n) in add {
        if let Some(row) = into.iter_mut().find(|(k, _)| k == name) {
            row.1 += n;
        } else if into.len() < MAX_NAMES {
            into.push((name.clone(), *n));
        } else if let Some(row) = into.iter_mut().find(|(k, _)| k == OTHER) {
            row.1 += n;
        } else {
            into.push((OTHER.to_owned(), *n));
        }
    }
}

/// Add a batch's tallies to their rows, in the events' write transaction. Links deleted
/// meanwhile are skipped, like their clicks.
pub(super) fn apply_days(
    tx: &WriteTransaction,
    days: &HashMap<(Day, LinkId), DayTally>,
) -> Result<(), StoreError> {
    if days.is_empty() {
        return Ok(());
    }
    let links = tx.open_table(LINKS)?;
    let mut table = tx.open_table(LINK_DAYS)?;
    for ((day, link), tally) in days {
        if links.get(*link)?.is_none() {
            continue;
        }
        let mut row = match table.get((day.0, *link))? {
            Some(g) => DayCounts::decode(g.value()).unwrap_or_else(|e| {
                // One bad row must not stop every later batch: it starts again from zero.
                tracing::warn!(link = *link, day = day.0, error = %e, "link day unreadable; counting it afresh");
                DayCounts::default()
            }),
            None => DayCounts::default(),
        };
        row.add(tally);
        table.insert((day.0, *link), row.encode().as_slice())?;
    }
    Ok(())
}

/// Drop a removed link's days, in the transaction that removes it. `created` (the link's
/// first possible day, when its record was readable) bounds the walk from below.
pub(super) fn remove_link_days(
    tx: &WriteTransaction,
    link: LinkId,
    created: Option<Day>,
) -> Result<(), StoreError> {
    let mut table = tx.open_table(LINK_DAYS)?;
    let first = table.first()?.map(|(k, _)| k.value().0);
    let last = table.last()?.map(|(k, _)| k.value().0);
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(());
    };
    let from = created.map_or(first, |d| d.0.max(first));
    for day in from..=last {
        table.remove((day, link))?;
    }
    Ok(())
}

/// Remove the days of many links at once (a domain's, when it is deleted): one pass over the
/// table when that reads fewer rows than a point removal per link per day would, which for a
/// domain of 100,000 year-old links is tens of millions of removals in one write transaction.
pub(super) fn remove_links_days(
    tx: &WriteTransaction,
    links: &[(LinkId, Option<Day>)],
) -> Result<(), StoreError> {
    let (rows, span) = {
        let table = tx.open_table(LINK_DAYS)?;
        let first = table.first()?.map(|(k, _)| k.value().0);
        let last = table.last()?.map(|(k, _)| k.value().0);
        let (Some(first), Some(last)) = (first, last) else {
            return Ok(());
        };
        (table.len()?, u64::from(last - first) + 1)
    };
    if (links.len() as u64).saturating_mul(span) <= rows {
        for (link, created) in links {
            remove_link_days(tx, *link, *created)?;
        }
        return Ok(());
    }
    let gone: std::collections::HashSet<LinkId> = links.iter().map(|(l, _)| *l).collect();
    tx.open_table(LINK_DAYS)?
        .retain(|(_, link), _| !gone.contains(&link))?;
    Ok(())
}

/// Days a range covers when `since` is not given: today and the 29 before.
pub const DEFAULT_DAYS: u32 = 30;

/// The days a stats answer covers, from the query: `since` to today, within the retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsRange {
    pub from: Day,
    pub to: Day,
}

impl StatsRange {
    /// The last `days` days up to `at`'s day.
    pub fn last_days(at: Timestamp, days: u32, retention_days: u32) -> Self {
        let to = Day::of(at);
        let oldest = to.minus(retention_days.saturating_sub(1));
        Self {
            from: to.minus(days.saturating_sub(1)).max(oldest),
            to,
        }
    }

    /// From `GET /links/{id}/stats`'s query: `bucket` (only `day`) and `since` (a date or an
    /// RFC 3339 time; its day, not after today). Older than the retention: the oldest kept day.
    pub fn parse(
        bucket: Option<&str>,
        since: Option<&str>,
        at: Timestamp,
        retention_days: u32,
    ) -> Result<Self, DomainError> {
        match bucket.map(str::trim).filter(|b| !b.is_empty()) {
            None | Some("day") => {}
            Some(_) => return Err(DomainError::new("bucket", "must be `day`")),
        }
        let Some(since) = since.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(Self::last_days(at, DEFAULT_DAYS, retention_days));
        };
        let bare_date = since.len() == 10 && since.as_bytes().get(4) == Some(&b'-');
        let since = if bare_date {
            parse_rfc3339(&format!("{since}T00:00:00Z"), "since").map_err(|_| {
                DomainError::new("since", "must be a date (2026-11-01) or an RFC 3339 time")
            })?
        } else {
            parse_rfc3339(since, "since")?
        };
        let to = Day::of(at);
        if Day::of(since) > to {
            return Err(DomainError::new("since", "must not be after today"));
        }
        let oldest = to.minus(retention_days.saturating_sub(1));
        Ok(Self {
            from: Day::of(since).max(oldest),
            to,
        })
    }
}

/// How many names each ranked list of [`LinkStats`] holds; the rest are summed as `other`.
pub const TOP: usize = 20;

/// A link's counts over a range of days, summed: what the stats answer and page show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkStats {
    pub from: Day,
    pub to: Day,
    /// Every day of the range, oldest first, with people's clicks and bots' (zero included).
    pub days: Vec<(Day, u64, u64)>,
    /// People's clicks over the range (bots not included).
    pub total: u64,
    pub bots: u64,
    /// Most first, at most [`TOP`] and `other`.
    pub referrers: Vec<(String, u64)>,
    pub browsers: Vec<(String, u64)>,
    pub os: Vec<(String, u64)>,
    /// ISO country codes (and `unknown`); empty unless `analytics.geoip_db` is set.
    pub countries: Vec<(String, u64)>,
}

/// Sum names over days, most first (ties by name), the tail past `TOP` as `other`.
fn ranked<'a>(rows: impl Iterator<Item = &'a Vec<(String, u64)>>) -> Vec<(String, u64)> {
    let mut sums: HashMap<&str, u64> = HashMap::new();
    for row in rows {
        for (name, n) in row {
            *sums.entry(name.as_str()).or_default() += n;
        }
    }
    let other = sums.remove(OTHER).unwrap_or(0);
    let mut out: Vec<(String, u64)> = sums.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let rest: u64 = out.iter().skip(TOP).map(|(_, n)| n).sum::<u64>() + other;
    out.truncate(TOP);
    if rest > 0 {
        out.push((OTHER.to_owned(), rest));
    }
    out
}

impl Store {
    /// A link's counts from `from` to `to` (inclusive), every day listed.
    pub fn link_stats(&self, link: LinkId, from: Day, to: Day) -> Result<LinkStats, StoreError> {
        let stored = self.link_days(link, from, to)?;
        let mut days = Vec::with_capacity((to.0.saturating_sub(from.0) + 1) as usize);
        let mut next = stored.iter().peekable();
        for day in from.0..=to.0 {
            match next.next_if(|(d, _)| d.0 == day) {
                Some((_, c)) => days.push((Day(day), c.clicks, c.bots)),
                None => days.push((Day(day), 0, 0)),
            }
        }
        Ok(LinkStats {
            from,
            to,
            total: stored.iter().map(|(_, c)| c.clicks).sum(),
            bots: stored.iter().map(|(_, c)| c.bots).sum(),
            referrers: ranked(stored.iter().map(|(_, c)| &c.referrers)),
            browsers: ranked(stored.iter().map(|(_, c)| &c.browsers)),
            os: ranked(stored.iter().map(|(_, c)| &c.os)),
            countries: ranked(stored.iter().map(|(_, c)| &c.countries)),
            days,
        })
    }

    /// A link's stored days from `from` to `to` (inclusive), oldest first; days without a
    /// click are left out.
    pub fn link_days(
        &self,
        link: LinkId,
        from: Day,
        to: Day,
    ) -> Result<Vec<(Day, DayCounts)>, StoreError> {
        self.read(|tx| {
            let table = tx.open_table(LINK_DAYS)?;
            let mut out = Vec::new();
            for day in from.0..=to.0 {
                if let Some(g) = table.get((day, link))? {
                    out.push((Day(day), DayCounts::decode(g.value())?));
                }
            }
            Ok(out)
        })
    }

    /// Drop every link's days before `before` (the sweeper, `analytics.retention_days`).
    /// Returns how many link-days went.
    pub fn prune_link_days(&self, before: Day) -> Result<u64, StoreError> {
        self.write(
            |tx| {
                let mut table = tx.open_table(LINK_DAYS)?;
                let mut n = 0;
                table.retain_in(..(before.0, 0), |_, _| {
                    n += 1;
                    false
                })?;
                Ok(n)
            },
            |_| {},
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_links_days_go_in_one_sweep_and_other_links_days_stay() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let row = DayCounts::default().encode();
        // Days 0 and 1,000 for links 1, 2 and 3: two links over 1,001 days is more point
        // removals than the table has rows, so one sweep runs.
        store
            .write(
                |tx| {
                    let mut t = tx.open_table(LINK_DAYS)?;
                    for link in [1, 2, 3] {
                        for day in [0, 1_000] {
                            t.insert((day, link), row.as_slice())?;
                        }
                    }
                    Ok(())
                },
                |()| {},
            )
            .unwrap();
        let left = || {
            store
                .read(|tx| {
                    let mut out = Vec::new();
                    for r in tx.open_table(LINK_DAYS)?.iter()? {
                        out.push(r?.0.value());
                    }
                    Ok(out)
                })
                .unwrap()
        };
        store
            .write(|tx| remove_links_days(tx, &[(1, None), (2, None)]), |()| {})
            .unwrap();
        assert_eq!(left(), vec![(0, 3), (1_000, 3)]);
        store
            .write(|tx| remove_links_days(tx, &[(3, Some(Day(0)))]), |()| {})
            .unwrap();
        assert!(left().is_empty());
    }

    #[test]
    fn a_range_runs_from_since_to_today_within_the_retention() {
        let at = Timestamp::from_unix(86_400 * 20_000 + 3600);
        let r = StatsRange::parse(None, None, at, 400).unwrap();
        assert_eq!((r.from, r.to), (Day(19_971), Day(20_000)));
        let r = StatsRange::parse(Some("day"), Some("1970-01-11"), at, 400).unwrap();
        assert_eq!(r.from, Day(19_601), "clamped to the oldest kept day");
        // 2024-10-04 is day 20,000; 21:00 UTC on 2024-09-01 is day 19,967.
        let r = StatsRange::parse(None, Some("2024-09-01T23:00:00+02:00"), at, 4000).unwrap();
        assert_eq!(r.from, Day(19_967));
        for (bucket, since, field) in [
            (Some("hour"), None, "bucket"),
            (None, Some("yesterday"), "since"),
            (None, Some("2024-13-01"), "since"),
            (None, Some("2030-01-01"), "since"),
        ] {
            assert_eq!(
                StatsRange::parse(bucket, since, at, 400).unwrap_err().field,
                field
            );
        }
    }

    #[test]
    fn a_day_is_counted_from_midnight_utc() {
        let t = Timestamp::from_unix(86_400 * 20_000 + 86_399);
        assert_eq!(Day::of(t), Day(20_000));
        assert_eq!(Day(20_000).start().unix(), 86_400 * 20_000);
        assert_eq!(Day::of(Timestamp::from_unix(-5)), Day(0));
        assert_eq!(Day(3).minus(10), Day(0));
    }

    #[test]
    fn ranked_lists_sum_over_days_most_first_with_the_tail_as_other() {
        let a = vec![("b.example".to_owned(), 2), ("a.example".to_owned(), 2)];
        let mut b: Vec<(String, u64)> = (0..30).map(|i| (format!("x{i:02}"), 1)).collect();
        b.push((OTHER.to_owned(), 4));
        b.push(("b.example".to_owned(), 5));
        let r = ranked([&a, &b].into_iter());
        assert_eq!(r[0], ("b.example".to_owned(), 7));
        assert_eq!(r[1], ("a.example".to_owned(), 2));
        assert_eq!(r.len(), TOP + 1);
        // 30 names of 1, 18 of them kept; 12 + the stored 4 are `other`.
        assert_eq!(r[TOP], (OTHER.to_owned(), 16));
    }

    #[test]
    fn names_past_the_bound_count_as_other_and_the_row_stays_small() {
        let mut row = DayCounts::default();
        for i in 0..(MAX_NAMES + 10) {
            let tally = DayTally {
                clicks: 1,
                referrers: Names::from([(format!("spam{i}.example"), 1)]),
                ..DayTally::default()
            };
            row.add(&tally);
        }
        assert_eq!(row.referrers.len(), MAX_NAMES + 1);
        assert_eq!(row.referrers.last().unwrap(), &(OTHER.to_owned(), 10));
        assert_eq!(row.clicks, MAX_NAMES as u64 + 10);
        assert_eq!(DayCounts::decode(&row.encode()).unwrap(), row);
    }
}
