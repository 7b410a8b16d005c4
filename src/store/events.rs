//! The batch of per-request events the writer commits in one transaction: link clicks, key
//! usage, the per-key request log (bounded), audit entries and when sessions were last seen;
//! and each link's counts per day (`analytics`).

use std::collections::HashMap;

use super::kv::{ReadableTable, WriteTransaction};

use super::analytics::{apply_days, Day, DayTally};
use super::audit::record;
use super::records::SessionRecord;
use super::records::{KeyId, KeyRequestRecord, KeyUsage, LinkId};
use super::tables::{API_KEYS, CLICKS, KEY_REQUESTS, KEY_USAGE, LINKS, META, SESSIONS};
use super::usage::{add_counts, Counts};
use super::{decode, encode, keep_newest, next_ids, Store, StoreError};
use crate::audit::Entry;
use crate::domain::Timestamp;

/// How many requests the log keeps per key (older ones are dropped by the writer).
pub const KEY_REQUEST_LOG_LIMIT: u64 = 1000;

/// Per-request events, aggregated by the batched writer.
#[derive(Debug, Default)]
pub struct EventBatch {
    pub clicks: HashMap<LinkId, u64>,
    pub usage: HashMap<KeyId, (u64, Timestamp, String)>,
    pub requests: Vec<(KeyId, KeyRequestRecord)>,
    pub audits: Vec<Entry>,
    /// Session digest → the latest time it was seen in this batch.
    pub sessions_seen: HashMap<[u8; 32], Timestamp>,
    /// (key, hour since 1970) → requests ok and refused (`usage`).
    pub hourly: HashMap<(KeyId, u64), Counts>,
    /// (day, link) → that day's clicks by referrer, browser, OS and bots (analytics).
    pub days: HashMap<(Day, LinkId), DayTally>,
    /// On a shared database, (writer, batch number): a batch the writer sends again after a
    /// lost COMMIT reply is recognised and not counted twice. `None` on redb (no retries).
    pub number: Option<(u64, u64)>,
}

impl EventBatch {
    pub fn is_empty(&self) -> bool {
        self.clicks.is_empty()
            && self.usage.is_empty()
            && self.requests.is_empty()
            && self.audits.is_empty()
            && self.sessions_seen.is_empty()
            && self.hourly.is_empty()
            && self.days.is_empty()
    }
}

impl Store {
    /// Commit one batch of per-request events (clicks, key usage, request log, audit).
    pub fn apply_events(&self, batch: &EventBatch) -> Result<(), StoreError> {
        self.write(
            |tx| {
                if let Some((writer, n)) = batch.number {
                    // A writer's batches commit in order: one it numbered as high or higher
                    // already committed means this one did, its reply lost on the way.
                    let key = format!("batch:{writer:016x}");
                    let mut meta = tx.open_table(META)?;
                    if meta.get(key.as_str())?.is_some_and(|g| g.value() >= n) {
                        return Ok(false);
                    }
                    meta.insert(key.as_str(), n)?;
                }
                {
                    let mut clicks = tx.open_table(CLICKS)?;
                    let links = tx.open_table(LINKS)?;
                    for (id, n) in &batch.clicks {
                        if links.get(*id)?.is_none() {
                            continue; // deleted meanwhile
                        }
                        let cur = clicks.get(*id)?.map_or(0, |g| g.value());
                        clicks.insert(*id, cur + n)?;
                    }
                }
                let keys = tx.open_table(API_KEYS)?;
                let mut usage = tx.open_table(KEY_USAGE)?;
                for (id, (n, at, ip)) in &batch.usage {
                    if keys.get(*id)?.is_none() {
                        continue; // deleted meanwhile
                    }
                    let mut u: KeyUsage = usage
                        .get(*id)?
                        .map(|g| decode(g.value()))
                        .transpose()?
                        .unwrap_or_default();
                    u.request_count += n;
                    u.last_used_at = Some(*at);
                    u.last_used_ip = Some(ip.clone());
                    usage.insert(*id, encode(&u).as_slice())?;
                }
                let mut log = tx.open_table(KEY_REQUESTS)?;
                // Only the newest entries per key can survive the trim below: skip the rest.
                let mut per_key: HashMap<KeyId, usize> = HashMap::new();
                let mut newest: Vec<&(KeyId, KeyRequestRecord)> = batch
                    .requests
                    .iter()
                    .rev()
                    .filter(|(id, _)| {
                        let n = per_key.entry(*id).or_default();
                        *n += 1;
                        *n <= KEY_REQUEST_LOG_LIMIT as usize
                    })
                    .collect();
                newest.reverse();
                let mut seq = next_ids(tx, "key_requests", newest.len() as u64)?;
                let mut touched = Vec::new();
                // Whether each key still exists, read once per key, not once per use (on
                // PostgreSQL a read is a round trip, and a busy key has 1,000 uses a batch).
                let mut live: HashMap<KeyId, bool> = HashMap::new();
                for (id, rec) in newest {
                    let exists = match live.get(id) {
                        Some(e) => *e,
                        None => *live.entry(*id).or_insert(keys.get(*id)?.is_some()),
                    };
                    if !exists {
                        continue; // deleted meanwhile
                    }
                    log.insert((*id, seq), encode(rec).as_slice())?;
                    seq += 1;
                    touched.push(*id);
                }
                touched.sort_unstable();
                touched.dedup();
                for id in touched {
                    keep_newest(
                        &mut log,
                        (id, 0)..=(id, u64::MAX),
                        KEY_REQUEST_LOG_LIMIT as usize,
                    )?;
                }
                add_counts(tx, &keys, &batch.hourly)?;
                for a in &batch.audits {
                    record(tx, a)?;
                }
                touch_sessions(tx, &batch.sessions_seen)?;
                apply_days(tx, &batch.days)?;
                Ok(true)
            },
            |applied| {
                if *applied {
                    self.catalog.add_clicks(&batch.clicks);
                }
            },
        )
        .map(drop)
    }
}

/// Move sessions' last seen forward (never back); a session ended meanwhile stays ended.
fn touch_sessions(
    tx: &WriteTransaction,
    seen: &HashMap<[u8; 32], Timestamp>,
) -> Result<(), StoreError> {
    if seen.is_empty() {
        return Ok(());
    }
    let mut sessions = tx.open_table(SESSIONS)?;
    for (digest, at) in seen {
        let Some(mut s) = sessions
            .get(digest.as_slice())?
            .and_then(|g| decode::<SessionRecord>(g.value()).ok())
        else {
            continue;
        };
        if s.last_seen_at.is_some_and(|t| t >= *at) {
            continue;
        }
        s.last_seen_at = Some(*at);
        sessions.insert(digest.as_slice(), encode(&s).as_slice())?;
    }
    Ok(())
}
