//! Rate limits shared by several nodes (PostgreSQL). Each node counts locally, without a lock
//! or a database call on the request path; a sync thread adds what it counted to per-minute
//! totals every quarter second, and caps the node at its share of what the limit leaves.
//! (Measured for issue 19: a shared counter alone overshot a limit by up to 32%; taking at
//! most one's share of what remains kept it within 11%.) On redb there is no thread.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::kv::ReadableTable;
use super::tables::{FAILURE_MINUTES, KEY_MINUTES, NODES};
use super::{Store, StoreError};

/// How often a node syncs its counts.
const SYNC: Duration = Duration::from_millis(250);
/// The least time between two syncs (a flood of failures costs at most this many writes).
const MIN_GAP: Duration = Duration::from_millis(20);
/// A node whose heartbeat is older is no longer counted among those sharing a limit.
const NODE_ALIVE_MS: u64 = 3_000;

/// The sync thread; stops when dropped.
pub struct LimitSync {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    store: Arc<Store>,
    node: u64,
}

impl Drop for LimitSync {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        // A stopped node no longer shares the limits (a restarted one has a new id): best
        // effort, else its heartbeat expires.
        let node = self.node;
        let gone = self.store.write(
            |tx| {
                tx.open_table(NODES)?.remove(node)?;
                Ok(())
            },
            |_| {},
        );
        if let Err(e) = gone {
            tracing::debug!(error = %e, "cannot remove this node from the rate-limit sharers");
        }
    }
}

/// A stable 64-bit name for a failure source, the same on every node (a process's own
/// hasher is seeded at random).
pub fn source_id(source: &impl std::fmt::Display) -> u64 {
    let d = ring::digest::digest(&ring::digest::SHA256, source.to_string().as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d.as_ref()[..8]);
    u64::from_be_bytes(b)
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// When this node last pruned old minutes and last wrote its heartbeat.
struct Cadence {
    pruned: Instant,
    beat: Option<Instant>,
}

/// How often an idle node writes its heartbeat (a sync with nothing to add only reads).
const BEAT: Duration = Duration::from_secs(1);

impl Store {
    /// Start sharing rate limits with the other nodes (PostgreSQL only; `None` on redb).
    pub fn share_limits(self: &Arc<Self>) -> Option<LimitSync> {
        if !self.is_shared() {
            return None;
        }
        let mut id = [0u8; 8];
        ring::rand::SecureRandom::fill(&self.rng, &mut id).ok()?;
        let node = u64::from_be_bytes(id);
        let stop = Arc::new(AtomicBool::new(false));
        let store = Arc::clone(self);
        let stopped = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("linkdock-limits".into())
            .spawn(move || {
                let mut failing = false;
                // Until when a key near its limit was in use: sync every few ms till then.
                let mut hurry_until = Instant::now();
                let mut at = Cadence {
                    pruned: Instant::now(),
                    beat: None,
                };
                while !stopped.load(Ordering::Relaxed) {
                    match store.sync_limits(node, &mut at) {
                        Ok(close) => {
                            failing = false;
                            if close {
                                hurry_until = Instant::now() + SYNC;
                            }
                        }
                        Err(e) if !failing => {
                            // Unsynced counts are kept and added at the next sync.
                            tracing::warn!(error = %e, "cannot share rate-limit counts; retrying");
                            failing = true;
                        }
                        Err(_) => {}
                    }
                    // At most every few ms: soon when a busy key nears its limit or a failure
                    // was counted, else every quarter second.
                    std::thread::sleep(MIN_GAP);
                    if Instant::now() >= hurry_until {
                        store.failures.wait(SYNC - MIN_GAP);
                    }
                }
            })
            .map_err(|e| tracing::error!(error = %e, "cannot start the rate-limit sync thread"))
            .ok()?;
        Some(LimitSync {
            stop,
            thread: Some(thread),
            store: Arc::clone(self),
            node,
        })
    }

    /// One sync: add this node's new counts, read every node's totals for the minute and the
    /// nodes alive, and set this node's shares. `true` when a key used here since the last
    /// sync has used half its limit or more this minute: then stale totals cost most, and the
    /// next syncs come soon.
    fn sync_limits(&self, node: u64, at: &mut Cadence) -> Result<bool, StoreError> {
        let now = crate::clock::unix_secs();
        let minute = u64::try_from(now.max(0) / 60).unwrap_or(0);
        let windows: Vec<_> = self
            .keys
            .windows()
            .into_iter()
            .map(|(id, limit, w)| {
                let (delta, counted) = w.unpushed(minute);
                (id, limit, w, delta, counted)
            })
            .collect();
        let (fminute, failures) = self.failures.unpushed(now);
        let now_ms = unix_ms();
        let prune = at.pruned.elapsed() > Duration::from_secs(30);
        let idle = windows.iter().all(|w| w.3 == 0)
            && failures.is_empty()
            && !prune
            && at.beat.is_some_and(|b| b.elapsed() < BEAT);
        let (key_totals, failure_totals, nodes) = if idle {
            // Nothing to add: read, without taking the cluster's write lock.
            self.read(|tx| {
                Ok((
                    totals(&tx.open_table(KEY_MINUTES)?, minute)?,
                    totals(&tx.open_table(FAILURE_MINUTES)?, fminute)?,
                    rank(&tx.open_table(NODES)?, node, now_ms)?,
                ))
            })?
        } else {
            self.write(
                |tx| {
                    let mut t = tx.open_table(KEY_MINUTES)?;
                    for (id, _, _, delta, _) in windows.iter().filter(|w| w.3 > 0) {
                        let had = t.get((minute, *id))?.map_or(0, |g| g.value());
                        t.insert((minute, *id), had + u64::from(*delta))?;
                    }
                    let key_totals = totals(&t, minute)?;
                    if prune {
                        t.retain_in(..(minute.saturating_sub(1), 0), |_, _| false)?;
                    }
                    let mut f = tx.open_table(FAILURE_MINUTES)?;
                    for (source, delta) in &failures {
                        let had = f.get((fminute, *source))?.map_or(0, |g| g.value());
                        f.insert((fminute, *source), had + u64::from(*delta))?;
                    }
                    let failure_totals = totals(&f, fminute)?;
                    if prune {
                        f.retain_in(..(fminute.saturating_sub(1), 0), |_, _| false)?;
                    }
                    let mut n = tx.open_table(NODES)?;
                    n.insert(node, now_ms)?;
                    if prune {
                        n.retain(|_, seen| seen + 60_000 > now_ms)?;
                    }
                    Ok((key_totals, failure_totals, rank(&n, node, now_ms)?))
                },
                |_| {},
            )?
        };
        if !idle {
            at.beat = Some(Instant::now());
        }
        if prune {
            at.pruned = Instant::now();
        }
        crate::limiter::set_cluster(nodes.0, nodes.1);
        let mut close = false;
        for (id, limit, w, delta, counted) in &windows {
            let total = key_totals.get(id).copied().unwrap_or(0);
            w.share(minute, *counted, total, nodes);
            close |= *delta > 0 && total * 2 >= u64::from(*limit) && total < u64::from(*limit);
        }
        self.failures
            .share(fminute, &failures, &failure_totals, nodes);
        Ok(close)
    }
}

/// This node's rank among the live ones (in id order), and their number.
fn rank(
    nodes: &impl ReadableTable<u64, u64>,
    node: u64,
    now_ms: u64,
) -> Result<(u32, u32), StoreError> {
    let (mut rank, mut alive) = (0u32, 0u32);
    for row in nodes.iter()? {
        let (id, seen) = row?;
        if seen.value() + NODE_ALIVE_MS > now_ms {
            rank += u32::from(id.value() < node);
            alive += 1;
        }
    }
    // This node's own heartbeat may be older than the limit while the database was silent.
    Ok((rank, alive.max(rank + 1)))
}

/// Every row of `minute`: id → total.
fn totals(
    t: &impl ReadableTable<(u64, u64), u64>,
    minute: u64,
) -> Result<HashMap<u64, u64>, StoreError> {
    let mut out = HashMap::new();
    for row in t.range((minute, 0)..=(minute, u64::MAX))? {
        let (k, v) = row?;
        out.insert(k.value().1, v.value());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::kv::fresh_database;

    fn sharers(store: &Store) -> u64 {
        store.read(|tx| tx.open_table(NODES)?.len()).unwrap()
    }

    /// A stopped node leaves at once: a restarted one (a new id) is not shared with its old
    /// self for the heartbeat's lifetime.
    #[test]
    fn a_stopped_node_no_longer_shares_the_limits() {
        let Some(url) = fresh_database() else {
            return;
        };
        let store = Store::open_postgres(&url).unwrap();
        let sync = store.share_limits().expect("a sync thread on PostgreSQL");
        let start = Instant::now();
        while sharers(&store) == 0 {
            assert!(start.elapsed() < Duration::from_secs(10), "no heartbeat");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(sharers(&store), 1);
        drop(sync);
        assert_eq!(sharers(&store), 0, "the stopped node's heartbeat is gone");
    }
}
