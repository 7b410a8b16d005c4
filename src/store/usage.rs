//! Requests per key per hour and per day, ok and refused: counts that the batched writer adds
//! to (never a row per request), read by the usage API, a key's usage page and the dashboard.
//! Hours are kept `HOURS_KEPT`, days `DAYS_KEPT`; the sweeper drops the rest
//! (`Store::prune_usage`). Rows are keyed (bucket, key), so pruning is one range from the
//! start, and a key's series is one point lookup per bucket.

use std::collections::HashMap;

use super::kv::{ReadableTable, Table, Value, WriteTransaction};

use super::analytics::{Day, DayCounts};
use super::records::{KeyId, LinkId};
use super::tables::{KEY_USAGE_DAYS, KEY_USAGE_HOURS, LINK_DAYS};
use super::{Store, StoreError};
use crate::domain::{DomainError, Timestamp};

/// How many hours of per-hour counts are kept: the 48 the chart shows, and a week more for
/// `since` over the API.
pub const HOURS_KEPT: u64 = 8 * 24;
/// How many days of per-day counts are kept.
pub const DAYS_KEPT: u64 = 400;

/// The width of a usage bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Hour,
    Day,
}

impl Bucket {
    /// `hour` or `day`; anything else is an error naming `bucket`.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        match raw.trim() {
            "hour" => Ok(Self::Hour),
            "day" => Ok(Self::Day),
            _ => Err(DomainError::new("bucket", "must be `hour` or `day`")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
        }
    }

    pub fn secs(self) -> i64 {
        match self {
            Self::Hour => 3600,
            Self::Day => 86_400,
        }
    }

    /// How many buckets of this width are kept.
    pub fn kept(self) -> u64 {
        match self {
            Self::Hour => HOURS_KEPT,
            Self::Day => DAYS_KEPT,
        }
    }

    /// How many buckets a chart shows when not told: 48 hours, 30 days.
    pub fn default_span(self) -> u64 {
        match self {
            Self::Hour => 48,
            Self::Day => 30,
        }
    }

    /// The bucket holding `at`, as a count of buckets since 1970 (times before 1970 fall in
    /// bucket 0: the server's clock never reads them).
    pub fn index(self, at: Timestamp) -> u64 {
        (at.unix().max(0) / self.secs()).unsigned_abs()
    }

    /// The buckets a series covers, as indexes `(from, to)`: from the one holding `since`
    /// (else `default_span` back) to the one holding `now`. `since` in the future or before
    /// what is kept is an error naming `since`.
    pub fn span(self, since: Option<Timestamp>, now: Timestamp) -> Result<(u64, u64), DomainError> {
        let to = self.index(now);
        let oldest = to.saturating_sub(self.kept() - 1);
        let Some(since) = since else {
            return Ok((to.saturating_sub(self.default_span() - 1).max(oldest), to));
        };
        if since > now {
            return Err(DomainError::new("since", "must not be in the future"));
        }
        let from = self.index(since);
        if from < oldest {
            return Err(DomainError::new(
                "since",
                format!(
                    "must be within the last {} {}s (older {} counts are not kept)",
                    self.kept(),
                    self.name(),
                    if self == Self::Hour {
                        "hourly"
                    } else {
                        "daily"
                    }
                ),
            ));
        }
        Ok((from, to))
    }

    /// When bucket `index` starts.
    pub fn start(self, index: u64) -> Timestamp {
        Timestamp::from_unix(
            i64::try_from(index)
                .unwrap_or(i64::MAX)
                .saturating_mul(self.secs()),
        )
    }
}

/// Requests in one bucket: answered (`ok`, status below 400) and refused (400 and up: the key
/// refused as revoked, expired, disabled or rotated, the address outside its IP rule, a
/// missing permission, a domain out of scope, the rate limit, or bad input).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub ok: u64,
    pub refused: u64,
}

impl Counts {
    pub fn total(self) -> u64 {
        self.ok + self.refused
    }

    /// One request answered with `status`.
    pub fn of_status(status: u16) -> Self {
        if is_refused(status) {
            Self { ok: 0, refused: 1 }
        } else {
            Self { ok: 1, refused: 0 }
        }
    }

    pub fn add(&mut self, other: Self) {
        self.ok += other.ok;
        self.refused += other.refused;
    }
}

/// Whether an answer with this status counts as refused.
pub fn is_refused(status: u16) -> bool {
    status >= 400
}

/// The request log's status filter: `ok`, `refused`, a class (`2xx` … `5xx`) or one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Ok,
    Refused,
    /// The first digit: 4 for `4xx`.
    Class(u16),
    Exact(u16),
}

impl StatusFilter {
    /// Empty or `all`: no filter.
    pub fn parse(raw: &str) -> Result<Option<Self>, DomainError> {
        let raw = raw.trim().to_ascii_lowercase();
        let bad = || {
            DomainError::new(
                "status",
                "must be `all`, `ok`, `refused`, a class such as `4xx`, or a status such as `429`",
            )
        };
        Ok(Some(match raw.as_str() {
            "" | "all" => return Ok(None),
            "ok" => Self::Ok,
            "refused" => Self::Refused,
            s if s.len() == 3 && s.ends_with("xx") => match s.as_bytes()[0] {
                d @ b'1'..=b'5' => Self::Class(u16::from(d - b'0')),
                _ => return Err(bad()),
            },
            s => match s.parse::<u16>() {
                Ok(n) if (100..=599).contains(&n) => Self::Exact(n),
                _ => return Err(bad()),
            },
        }))
    }

    pub fn keeps(self, status: u16) -> bool {
        match self {
            Self::Ok => !is_refused(status),
            Self::Refused => is_refused(status),
            Self::Class(c) => status / 100 == c,
            Self::Exact(n) => status == n,
        }
    }

    /// As written in a query string.
    pub fn as_query(self) -> String {
        match self {
            Self::Ok => "ok".into(),
            Self::Refused => "refused".into(),
            Self::Class(c) => format!("{c}xx"),
            Self::Exact(n) => n.to_string(),
        }
    }
}

impl Store {
    /// A key's counts for buckets `from..=to` (bucket indexes, `Bucket::index`), every bucket
    /// present, zero when nothing was counted. The caller bounds the range (`Bucket::kept`).
    pub fn key_usage_series(
        &self,
        key: KeyId,
        bucket: Bucket,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, Counts)>, StoreError> {
        self.read(|tx| {
            let table = match bucket {
                Bucket::Hour => tx.open_table(KEY_USAGE_HOURS)?,
                Bucket::Day => tx.open_table(KEY_USAGE_DAYS)?,
            };
            // One statement on PostgreSQL for the whole span, not a round trip per bucket.
            let mut found: HashMap<u64, Counts> = table
                .get_many((from..=to).map(|i| (i, key)))?
                .iter()
                .map(|(k, v)| {
                    let (i, _) = <(u64, u64) as Value>::from_bytes(k);
                    let (ok, refused) = <(u64, u64) as Value>::from_bytes(v);
                    (i, Counts { ok, refused })
                })
                .collect();
            Ok((from..=to)
                .map(|i| (i, found.remove(&i).unwrap_or_default()))
                .collect())
        })
    }

    /// Every key that made requests on the day holding `since` (UTC) or after, with how many
    /// (ok and refused), busiest first. Read from the days (at most `DAYS_KEPT` back), so the
    /// dashboard's read is a handful of rows per key, not one per hour. Keys deleted since may
    /// be among them: the caller keeps the keys it may show.
    pub fn busiest_keys(&self, since: Timestamp) -> Result<Vec<(KeyId, u64)>, StoreError> {
        let from = Bucket::Day.index(since);
        let mut sums: HashMap<KeyId, u64> = HashMap::new();
        self.read(|tx| {
            for row in tx.open_table(KEY_USAGE_DAYS)?.range((from, 0)..)? {
                let (k, v) = row?;
                let (_, key) = k.value();
                let (ok, refused) = v.value();
                *sums.entry(key).or_default() += ok + refused;
            }
            Ok(())
        })?;
        let mut out: Vec<(KeyId, u64)> = sums.into_iter().collect();
        out.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(out)
    }

    /// The `n` links clicked most on the day holding `since` (UTC) or after, busiest first,
    /// with their clicks, people and bots alike (the dashboard passes 6 days ago: the last 7
    /// days). Read from the analytics days (`link_days_v1`, day first, so this is one range);
    /// links deleted meanwhile are left out before the cut, so `n` live links come back.
    pub fn busiest_links(
        &self,
        since: Timestamp,
        n: usize,
    ) -> Result<Vec<(LinkId, u64)>, StoreError> {
        let from = Day::of(since);
        let mut sums: HashMap<LinkId, u64> = HashMap::new();
        self.read(|tx| {
            for row in tx.open_table(LINK_DAYS)?.range((from.0, 0)..)? {
                let (k, v) = row?;
                let (_, link) = k.value();
                let day = DayCounts::decode(v.value())?;
                *sums.entry(link).or_default() += day.clicks + day.bots;
            }
            Ok(())
        })?;
        let mut out: Vec<(LinkId, u64)> = sums
            .into_iter()
            .filter(|(id, _)| self.catalog.link(*id).is_some())
            .collect();
        out.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out.truncate(n);
        Ok(out)
    }

    /// Drop hours older than `HOURS_KEPT` and days older than `DAYS_KEPT` before `at`; returns
    /// how many rows went.
    pub fn prune_usage(&self, at: Timestamp) -> Result<usize, StoreError> {
        self.write(
            |tx| {
                let mut n = 0;
                for (def, bucket) in [
                    (KEY_USAGE_HOURS, Bucket::Hour),
                    (KEY_USAGE_DAYS, Bucket::Day),
                ] {
                    let keep_from = bucket.index(at).saturating_sub(bucket.kept() - 1);
                    let mut table = tx.open_table(def)?;
                    let before = table.len()?;
                    table.retain_in(..(keep_from, 0), |_, _| false)?;
                    n += before - table.len()?;
                }
                Ok(usize::try_from(n).unwrap_or(usize::MAX))
            },
            |_| {},
        )
    }
}

/// Add a batch's counts per (key, hour) to both tables; keys deleted meanwhile are skipped.
/// `keys` is the batch's open `api_keys_v1` (a table is opened once per transaction).
pub(super) fn add_counts(
    tx: &WriteTransaction,
    keys: &impl ReadableTable<u64, &'static [u8]>,
    hourly: &HashMap<(KeyId, u64), Counts>,
) -> Result<(), StoreError> {
    if hourly.is_empty() {
        return Ok(());
    }
    let mut hours = tx.open_table(KEY_USAGE_HOURS)?;
    let mut days = tx.open_table(KEY_USAGE_DAYS)?;
    let mut daily: HashMap<(u64, KeyId), Counts> = HashMap::new();
    for (&(key, hour), &c) in hourly {
        if keys.get(key)?.is_none() {
            continue;
        }
        bump(&mut hours, (hour, key), c)?;
        daily.entry((hour / 24, key)).or_default().add(c);
    }
    for (k, c) in daily {
        bump(&mut days, k, c)?;
    }
    Ok(())
}

fn bump(
    table: &mut Table<'_, (u64, u64), (u64, u64)>,
    k: (u64, u64),
    c: Counts,
) -> Result<(), StoreError> {
    let (ok, refused) = table.get(k)?.map_or((0, 0), |g| g.value());
    table.insert(k, (ok + c.ok, refused + c.refused))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tables::API_KEYS;
    use crate::store::EventBatch;

    #[test]
    fn batches_add_up_per_hour_and_day_rank_keys_and_prune_by_age() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // Keys 1 and 2 exist (the counts skip any other); their records do not matter here.
        store
            .write(
                |tx| {
                    let mut keys = tx.open_table(API_KEYS)?;
                    keys.insert(1, b"k".as_slice())?;
                    keys.insert(2, b"k".as_slice())?;
                    Ok(())
                },
                |()| {},
            )
            .unwrap();
        let t = Timestamp::from_unix(1_800_000_000); // 08:00 UTC
        let h = Bucket::Hour.index(t);
        let batch = |counts: &[(KeyId, u64, Counts)]| EventBatch {
            hourly: counts.iter().map(|(k, h, c)| ((*k, *h), *c)).collect(),
            ..EventBatch::default()
        };
        let c = |ok, refused| Counts { ok, refused };
        store
            .apply_events(&batch(&[(1, h, c(2, 1)), (2, h, c(1, 0)), (9, h, c(5, 5))]))
            .unwrap();
        store
            .apply_events(&batch(&[(1, h, c(1, 0)), (1, h + 1, c(0, 4))]))
            .unwrap();
        let hours = store
            .key_usage_series(1, Bucket::Hour, h - 1, h + 1)
            .unwrap();
        assert_eq!(
            hours,
            vec![(h - 1, c(0, 0)), (h, c(3, 1)), (h + 1, c(0, 4))]
        );
        let d = Bucket::Day.index(t);
        assert_eq!(
            store.key_usage_series(1, Bucket::Day, d, d).unwrap(),
            vec![(d, c(3, 5))]
        );
        assert_eq!(store.busiest_keys(t).unwrap(), vec![(1, 8), (2, 1)]);
        // Nine days on, the hours are gone and the days stay.
        let later = t.plus_secs(9 * 86_400);
        assert_eq!(store.prune_usage(later).unwrap(), 3);
        assert_eq!(
            store.key_usage_series(1, Bucket::Hour, h, h).unwrap(),
            vec![(h, c(0, 0))]
        );
        assert_eq!(store.busiest_keys(t).unwrap(), vec![(1, 8), (2, 1)]);
        assert_eq!(store.prune_usage(t.plus_secs(401 * 86_400)).unwrap(), 2);
        assert!(store.busiest_keys(t).unwrap().is_empty());
    }

    #[test]
    fn a_removed_keys_hours_and_days_go_with_it_and_others_stay() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .write(
                |tx| {
                    let mut keys = tx.open_table(API_KEYS)?;
                    keys.insert(1, b"k".as_slice())?;
                    keys.insert(2, b"k".as_slice())?;
                    Ok(())
                },
                |()| {},
            )
            .unwrap();
        let t = Timestamp::from_unix(1_800_000_000);
        let h = Bucket::Hour.index(t);
        let c = Counts { ok: 2, refused: 1 };
        let batch = EventBatch {
            hourly: [((1, h), c), ((1, h + 30), c), ((2, h), c)]
                .into_iter()
                .collect(),
            ..EventBatch::default()
        };
        store.apply_events(&batch).unwrap();
        store
            .write(|tx| crate::store::keys::remove_key(tx, 1), |()| {})
            .unwrap();
        let rows_of = |key: KeyId| {
            store
                .read(|tx| {
                    let mut n = 0;
                    for def in [KEY_USAGE_HOURS, KEY_USAGE_DAYS] {
                        for row in tx.open_table(def)?.iter()? {
                            n += u64::from(row?.0.value().1 == key);
                        }
                    }
                    Ok(n)
                })
                .unwrap()
        };
        assert_eq!(rows_of(1), 0, "the removed key's counts are gone");
        assert_eq!(rows_of(2), 2, "another key's hour and day stay");
    }

    #[test]
    fn buckets_parse_and_hold_their_times() {
        assert_eq!(Bucket::parse("hour"), Ok(Bucket::Hour));
        assert_eq!(Bucket::parse("day"), Ok(Bucket::Day));
        assert_eq!(Bucket::parse("week").unwrap_err().field, "bucket");
        let t = Timestamp::from_unix(1_800_003_599);
        assert_eq!(Bucket::Hour.index(t), 500_000);
        assert_eq!(
            Bucket::Hour.start(500_000),
            Timestamp::from_unix(1_800_000_000)
        );
        assert_eq!(Bucket::Day.index(t), 20_833);
        assert_eq!(Bucket::Hour.span(None, t), Ok((500_000 - 47, 500_000)));
        assert_eq!(Bucket::Day.span(None, t), Ok((20_833 - 29, 20_833)));
        assert_eq!(
            Bucket::Hour.span(Some(t.plus_secs(-3600)), t),
            Ok((499_999, 500_000))
        );
        assert_eq!(
            Bucket::Hour
                .span(Some(t.plus_secs(60)), t)
                .unwrap_err()
                .field,
            "since"
        );
        let too_old = t.plus_secs(-(HOURS_KEPT as i64) * 3600);
        assert_eq!(
            Bucket::Hour.span(Some(too_old), t).unwrap_err().field,
            "since"
        );
        assert!(Bucket::Day.span(Some(too_old), t).is_ok());
    }

    #[test]
    fn the_status_filter_reads_words_classes_and_statuses() {
        assert_eq!(StatusFilter::parse(""), Ok(None));
        assert_eq!(StatusFilter::parse("all"), Ok(None));
        let f = |s| StatusFilter::parse(s).unwrap().unwrap();
        assert!(f("ok").keeps(204) && !f("ok").keeps(404));
        assert!(f("refused").keeps(429) && !f("refused").keeps(301));
        assert!(f("4XX").keeps(403) && !f("4xx").keeps(500));
        assert!(f("429").keeps(429) && !f("429").keeps(428));
        assert_eq!(f("4xx").as_query(), "4xx");
        for bad in ["6xx", "abc", "99", "600", "4x"] {
            assert_eq!(StatusFilter::parse(bad).unwrap_err().field, "status");
        }
    }
}
