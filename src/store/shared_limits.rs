//! Rate limits shared by several nodes (PostgreSQL). Each node counts locally, without a lock
//! or a database call on the request path, up to its claim on the key's minute. A sync
//! thread (every quarter second, sooner when a claim should move) records claims in the
//! database under the cluster's write lock, so the claims never add up to more than the
//! limit (`limiter::Claims`). (Measured for issue 19: counts added to a shared total after
//! the fact, even capped at a share of what remained, let a burst pass a limit of 60 by 10
//! to 50.) Failed-auth tallies are still added after the fact: their rule allows one more
//! per node. On redb there is no thread.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::kv::{ReadableTable, Table, Value};
use super::tables::{FAILURE_MINUTES, KEY_CLAIMS, NODES};
use super::{Store, StoreError};
use crate::limiter::{Claim, Claims, Step};

/// How often a node syncs its counts.
const SYNC: Duration = Duration::from_millis(250);
/// The least time between two syncs (a flood of failures costs at most this many writes).
const MIN_GAP: Duration = Duration::from_millis(20);
/// A node whose heartbeat is older is no longer counted among those sharing a limit: longer
/// than a node goes on serving keys without the database (`SILENCE_LIMIT`) plus a beat, so a
/// node that serves is never dropped.
const NODE_ALIVE_MS: u64 = 10_000;
/// A heartbeat's top bit: the node stopped (the rest is when).
const STOPPED: u64 = 1 << 63;

/// The sync thread; stops when dropped.
pub struct LimitSync {
    stop: Arc<AtomicBool>,
    /// The sync thread; it ends with the latest minute it synced.
    thread: Option<JoinHandle<u64>>,
    store: Arc<Store>,
    node: u64,
}

impl Drop for LimitSync {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let synced = self.thread.take().and_then(|t| t.join().ok()).unwrap_or(0);
        // A stopped node no longer serves (a restarted one has a new id), but what it
        // counted this minute stays counted, and its parts are not handed out before the
        // minute ends: its claims are pinned at its counts (recording no count: it wants
        // nothing), and its heartbeat is marked stopped, not removed. Best effort, else it is
        // a node gone without a word.
        let node = self.node;
        let now = crate::clock::unix_secs();
        // Never an earlier minute than the syncs': a clock stepped back would pin the claims
        // in a minute the windows have left (`Cadence::minute_at`).
        let minute = u64::try_from(now.max(0) / 60).unwrap_or(0).max(synced);
        let windows = self.store.keys.windows();
        // Failures counted since the last sync are added too: they were answered 401.
        let (fminute, failures) = self.store.failures.unpushed(now);
        let gone = self.store.write(
            |tx| {
                add_failures(&mut tx.open_table(FAILURE_MINUTES)?, fminute, &failures)?;
                let mut t = tx.open_table(KEY_CLAIMS)?;
                let claims = claims_in(&t, minute)?;
                for (id, limit, w) in windows.iter() {
                    let recorded = w.state(minute, *limit).recorded;
                    let count = w.lower(minute, 0, *limit);
                    if count > 0 || recorded {
                        let mine = Claim {
                            node,
                            claim: count,
                            count: 0,
                            limit: *limit,
                        };
                        let others = claims.get(id).map_or(&[][..], Vec::as_slice);
                        t.insert((minute, *id), encode(mine, others).as_slice())?;
                    }
                }
                tx.open_table(NODES)?.insert(node, unix_ms() | STOPPED)?;
                Ok(())
            },
            |_| {},
        );
        if let Err(e) = gone {
            tracing::debug!(error = %e, "cannot remove this node from the rate-limit sharers");
        }
    }
}

/// Add this node's failures not yet shared to the minute's totals; the new totals.
fn add_failures(
    f: &mut Table<'_, (u64, u64), u64>,
    fminute: u64,
    failures: &[(u64, u32)],
) -> Result<HashMap<u64, u64>, StoreError> {
    let mut totals = HashMap::new();
    for (source, delta) in failures {
        let had = f.get((fminute, *source))?.map_or(0, |g| g.value());
        f.insert((fminute, *source), had + u64::from(*delta))?;
        totals.insert(*source, had + u64::from(*delta));
    }
    Ok(totals)
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
    /// This node's last heartbeat (Unix ms).
    beat_ms: Option<u64>,
    /// The other live nodes' heartbeats as this node's last write read them.
    others: HashMap<u64, u64>,
    /// This node has joined the others (`Store::join_limits`): until then it counts nothing.
    joined: bool,
    /// The latest minute synced: the clock stepping back never takes a sync to an earlier
    /// minute, whose claims it would write over this minute's (a window keeps counting in
    /// the later minute too, `limiter::in_minute`).
    minute: u64,
}

impl Cadence {
    /// The minute to sync at `now_secs`: never earlier than the last one.
    fn minute_at(&mut self, now_secs: i64) -> u64 {
        let minute = u64::try_from(now_secs.max(0) / 60).unwrap_or(0);
        self.minute = self.minute.max(minute);
        self.minute
    }
}

/// What a sync saw.
struct Synced {
    /// A key used since the last sync wants a larger claim: sync again soon.
    close: bool,
    /// (this node's rank, live nodes sharing the limits, this one among them).
    nodes: (u32, u32),
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
        let mut at = Cadence {
            pruned: Instant::now(),
            beat: None,
            beat_ms: None,
            others: HashMap::new(),
            joined: false,
            minute: 0,
        };
        // Until it has joined, a limited key is refused here (`Retry-After: 1`): this node
        // cannot know what the others hold. A join that fails here is done by the thread.
        crate::limiter::set_cluster_unknown();
        if let Err(e) = self.join_limits(node, &mut at) {
            tracing::warn!(error = %e, "cannot share rate-limit counts; retrying");
        }
        let stop = Arc::new(AtomicBool::new(false));
        let store = Arc::clone(self);
        let stopped = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("linkdock-limits".into())
            .spawn(move || {
                let mut failing = false;
                // Until when a key near its limit was in use: sync every few ms till then.
                let mut hurry_until = Instant::now();
                while !stopped.load(Ordering::Relaxed) {
                    let synced = if at.joined {
                        store.sync_limits(node, &mut at)
                    } else {
                        store.join_limits(node, &mut at)
                    };
                    match synced {
                        Ok(Synced { close, .. }) => {
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
                at.minute
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

    /// Join the nodes sharing the limits, known to them before counting. A join shrinks
    /// everyone's part: the others, seeing this node, record what they counted past their
    /// new part; a second sync here reads those claims, so this node's part does not overlap
    /// them. Only a join whose every step succeeded lets this node count: a first sync that
    /// failed, or a second, must not leave it counting its part on top of the others'.
    fn join_limits(&self, node: u64, at: &mut Cadence) -> Result<Synced, StoreError> {
        let first = self.sync_limits(node, at)?;
        // Alone, there is no one to tell.
        let last = if first.nodes.1 > 1 {
            self.until_seen(std::mem::take(&mut at.others));
            self.sync_limits(node, at)?
        } else {
            first
        };
        at.joined = true;
        crate::limiter::set_cluster(last.nodes.0, last.nodes.1);
        Ok(last)
    }

    /// Wait (at most a heartbeat's lifetime) until every other live node has synced since
    /// this one joined. `before`: their heartbeats as this node's join read them under the
    /// cluster's write lock. A heartbeat is rewritten only under that lock, so a changed
    /// value means that node synced after the join and saw this one, and recorded what it
    /// counted past its new part; a node whose first sync came after the join is not in
    /// `before` (it saw this one). Values are compared with themselves, never with this
    /// node's clock: a node whose clock runs ahead stamps beats that look newer than the join
    /// before it has seen it.
    fn until_seen(&self, before: HashMap<u64, u64>) {
        let deadline = Instant::now() + Duration::from_millis(NODE_ALIVE_MS);
        while !before.is_empty() && Instant::now() < deadline {
            std::thread::sleep(MIN_GAP * 2);
            // Rows of any state: a node that stopped or was pruned meanwhile has moved on too.
            let now = self.read(|tx| {
                let mut out = HashMap::new();
                for row in tx.open_table(NODES)?.iter()? {
                    let (id, v) = row?;
                    out.insert(id.value(), v.value());
                }
                Ok(out)
            });
            let Ok(now) = now else { return };
            if before.iter().all(|(id, v)| now.get(id) != Some(v)) {
                return;
            }
        }
    }

    /// One sync: record this node's claims that change (`Claims::step`) and its failures, read
    /// the failure totals of the sources it shares and the nodes alive, and set this node's
    /// shares.
    fn sync_limits(&self, node: u64, at: &mut Cadence) -> Result<Synced, StoreError> {
        let now = crate::clock::unix_secs();
        let minute = at.minute_at(now);
        let windows = self.keys.windows();
        let (fminute, failures) = self.failures.unpushed(now);
        let prune = at.pruned.elapsed() > Duration::from_secs(30);
        // First a read, without the cluster's write lock: most syncs have nothing to record.
        let watched = self.failures.shared(fminute);
        let (claims, mut failure_totals, alive) = self.read(|tx| {
            // Only the sources this node shares: one statement, whatever else failed.
            let totals = tx
                .open_table(FAILURE_MINUTES)?
                .get_many(watched.iter().map(|s| (fminute, *s)))?
                .iter()
                .map(|(k, v)| {
                    let (_, source) = <(u64, u64) as Value>::from_bytes(k);
                    (source, <u64 as Value>::from_bytes(v))
                })
                .collect::<HashMap<_, _>>();
            Ok((
                claims_in(&tx.open_table(KEY_CLAIMS)?, minute)?,
                totals,
                sharers(&tx.open_table(NODES)?, node, &View::now(at, now))?,
            ))
        })?;
        // The windows never synced yet take their part by this view, not the last one's.
        let nodes = sharing(&alive, node);
        if at.joined {
            crate::limiter::set_cluster(nodes.0, nodes.1);
        }
        let steps = |claims: &HashMap<u64, Vec<Claim>>, alive: &[u64]| {
            windows
                .iter()
                .map(|(id, limit, w)| {
                    let state = w.state(minute, *limit);
                    let recorded = claims.get(id).map_or(&[][..], Vec::as_slice);
                    let step = Claims { alive, recorded }.step(node, *limit, state);
                    (state, step)
                })
                .collect::<Vec<_>>()
        };
        let first = steps(&claims, &alive);
        let close = first.iter().any(|(_, s)| *s != Step::Keep);
        let idle =
            !close && failures.is_empty() && !prune && at.beat.is_some_and(|b| b.elapsed() < BEAT);
        let (states, failure_totals, alive) = if idle {
            let states = windows
                .iter()
                .map(|(_, l, w)| w.state(minute, *l))
                .collect();
            (states, failure_totals, alive)
        } else {
            let (states, pushed, alive, raised, beat_ms, others) = self.write(
                |tx| {
                    // Read after the lock is held: a heartbeat as fresh as the write.
                    let view = View::now(at, now);
                    let mut n = tx.open_table(NODES)?;
                    n.insert(node, view.now_ms)?;
                    if prune {
                        n.retain(|_, v| (v & !STOPPED) + 60_000 > view.now_ms)?;
                    }
                    let alive = sharers(&n, node, &view)?;
                    // The other live nodes' heartbeats as of this write (a join waits for
                    // them to change: `until_seen`).
                    let mut others = HashMap::new();
                    for row in n.iter()? {
                        let (id, v) = row?;
                        let (stopped, seen) = (v.value() & STOPPED != 0, v.value() & !STOPPED);
                        if id.value() != node && !stopped && seen + NODE_ALIVE_MS > view.now_ms {
                            others.insert(id.value(), v.value());
                        }
                    }
                    // Decided again under the lock, on what every node has recorded.
                    let mut t = tx.open_table(KEY_CLAIMS)?;
                    let claims = claims_in(&t, minute)?;
                    let steps = steps(&claims, &alive);
                    let mut raised = Vec::new();
                    for ((id, limit, w), (state, step)) in windows.iter().zip(&steps) {
                        let claim = match *step {
                            Step::Keep => continue,
                            Step::Raise(c) => {
                                raised.push((Arc::clone(w), c, *limit));
                                c
                            }
                            // Held here before it is recorded: never counting past the record,
                            // even if this transaction fails.
                            Step::Want(c) | Step::Lower(c) => w.lower(minute, c, *limit),
                        };
                        let mine = Claim {
                            node,
                            claim,
                            count: state.count,
                            limit: *limit,
                        };
                        let others = claims.get(id).map_or(&[][..], Vec::as_slice);
                        t.insert((minute, *id), encode(mine, others).as_slice())?;
                    }
                    if prune {
                        t.retain_in(..(minute.saturating_sub(1), 0), |_, _| false)?;
                    }
                    let mut f = tx.open_table(FAILURE_MINUTES)?;
                    let pushed = add_failures(&mut f, fminute, &failures)?;
                    if prune {
                        f.retain_in(..(fminute.saturating_sub(1), 0), |_, _| false)?;
                    }
                    let states = steps.into_iter().map(|(s, _)| s).collect::<Vec<_>>();
                    Ok((states, pushed, alive, raised, view.now_ms, others))
                },
                |_| {},
            )?;
            // Counted past only once recorded.
            for (w, claim, limit) in raised {
                w.raise(minute, claim, limit);
            }
            at.beat = Some(Instant::now());
            at.beat_ms = Some(beat_ms);
            at.others = others;
            // What was just pushed is newer than what the read saw.
            failure_totals.extend(pushed);
            (states, failure_totals, alive)
        };
        if prune {
            at.pruned = Instant::now();
        }
        let nodes = sharing(&alive, node);
        if at.joined {
            crate::limiter::set_cluster(nodes.0, nodes.1);
        }
        for ((_, _, w), state) in windows.iter().zip(&states) {
            w.synced(minute, state.count, nodes);
        }
        self.failures
            .share(fminute, &failures, &failure_totals, nodes.1);
        Ok(Synced { close, nodes })
    }
}

/// When a sync looks at the heartbeats.
struct View {
    now_ms: u64,
    /// A heartbeat older than this is of a node gone: now, or this node's own last beat plus
    /// the lifetime when this node was itself silent that long (a stall of the whole
    /// database ages every heartbeat alike; it must not leave one node thinking it is alone).
    alive_after: u64,
    /// When this minute began (Unix ms): a node seen since shares the minute to its end.
    minute_began: u64,
}

impl View {
    fn now(at: &Cadence, now_secs: i64) -> Self {
        let now_ms = unix_ms();
        let reference = match at.beat_ms {
            Some(mine) if mine + NODE_ALIVE_MS < now_ms => mine + NODE_ALIVE_MS,
            _ => now_ms,
        };
        // The minute is the server's clock's (tests move it); heartbeats are the system's.
        let into = u64::try_from(now_secs.rem_euclid(60)).unwrap_or(0) * 1000 + now_ms % 1000;
        Self {
            now_ms,
            alive_after: reference.saturating_sub(NODE_ALIVE_MS),
            minute_began: now_ms.saturating_sub(into),
        }
    }
}

/// The ids, in order, of the nodes sharing this minute: those alive, and those seen during
/// it (stopped, or gone without a word: their parts are not handed out before it ends). This
/// node among them.
fn sharers(
    nodes: &impl ReadableTable<u64, u64>,
    node: u64,
    view: &View,
) -> Result<Vec<u64>, StoreError> {
    let mut out = Vec::new();
    for row in nodes.iter()? {
        let (id, v) = row?;
        let (stopped, seen) = (v.value() & STOPPED != 0, v.value() & !STOPPED);
        let alive = !stopped && seen > view.alive_after;
        if alive || seen >= view.minute_began || id.value() == node {
            out.push(id.value());
        }
    }
    if let Err(at) = out.binary_search(&node) {
        out.insert(at, node);
    }
    Ok(out)
}

/// This node's rank among the live ones, and their number.
fn sharing(alive: &[u64], node: u64) -> (u32, u32) {
    let rank = alive.iter().filter(|n| **n < node).count();
    let n = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
    (n(rank), n(alive.len()))
}

const CLAIM_BYTES: usize = 20;

/// Every key's recorded claims in `minute` (a malformed entry is skipped: the node then
/// counts as holding its part).
fn claims_in(
    t: &impl ReadableTable<(u64, u64), &'static [u8]>,
    minute: u64,
) -> Result<HashMap<u64, Vec<Claim>>, StoreError> {
    let mut out = HashMap::new();
    for row in t.range((minute, 0)..=(minute, u64::MAX))? {
        let (k, v) = row?;
        out.insert(k.value().1, decode(v.value()));
    }
    Ok(out)
}

fn decode(bytes: &[u8]) -> Vec<Claim> {
    bytes
        .chunks_exact(CLAIM_BYTES)
        .map(|c| {
            let u32_at = |i: usize| u32::from_be_bytes([c[i], c[i + 1], c[i + 2], c[i + 3]]);
            let mut node = [0u8; 8];
            node.copy_from_slice(&c[..8]);
            Claim {
                node: u64::from_be_bytes(node),
                claim: u32_at(8),
                count: u32_at(12),
                limit: u32_at(16),
            }
        })
        .collect()
}

/// A key's claims with `mine` in place of this node's. Claims of nodes no longer alive stay:
/// what a node counted in the minute stays counted until the minute ends.
fn encode(mine: Claim, others: &[Claim]) -> Vec<u8> {
    let kept = others.iter().filter(|c| c.node != mine.node);
    let mut out = Vec::with_capacity((others.len() + 1) * CLAIM_BYTES);
    for c in std::iter::once(&mine).chain(kept) {
        out.extend_from_slice(&c.node.to_be_bytes());
        out.extend_from_slice(&c.claim.to_be_bytes());
        out.extend_from_slice(&c.count.to_be_bytes());
        out.extend_from_slice(&c.limit.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::kv::fresh_database;

    fn heartbeats(store: &Store) -> Vec<u64> {
        store
            .read(|tx| {
                let mut out = Vec::new();
                for row in tx.open_table(NODES)?.iter()? {
                    out.push(row?.1.value());
                }
                Ok(out)
            })
            .unwrap()
    }

    /// A node whose clock runs ahead stamps heartbeats that look newer than a join before it
    /// has seen the joining node: the join waits for that node's heartbeat to change, not
    /// for one newer than its own clock (80 of 60 in review).
    #[test]
    fn a_join_waits_for_a_node_whose_clock_runs_ahead() {
        let Some(url) = fresh_database() else {
            return;
        };
        let store = Arc::new(Store::open_postgres(&url).unwrap());
        let ahead = 77;
        let beat = |v: u64| {
            store
                .write(
                    |tx| tx.open_table(NODES)?.insert(ahead, v).map(drop),
                    |_| {},
                )
                .unwrap();
        };
        let stamp = unix_ms() + 5_000;
        beat(stamp);
        let released = Arc::new(AtomicBool::new(false));
        let waiter = {
            let (store, released) = (Arc::clone(&store), Arc::clone(&released));
            std::thread::spawn(move || {
                store.until_seen(HashMap::from([(ahead, stamp)]));
                released.load(Ordering::SeqCst)
            })
        };
        std::thread::sleep(Duration::from_millis(300));
        released.store(true, Ordering::SeqCst);
        beat(stamp + 20);
        assert!(
            waiter.join().unwrap(),
            "the join went on before the node ahead had synced"
        );
    }

    /// Two nodes starting together: each one's first sync may come just after the other's,
    /// and neither beats again until its join ends. A join waits only for the nodes its own
    /// write saw, under the lock, so neither waits out the heartbeat's lifetime (10 s each
    /// when the heartbeats were read after the writes).
    #[test]
    fn nodes_starting_together_do_not_wait_for_each_other() {
        let Some(url) = fresh_database() else {
            return;
        };
        let a = Arc::new(Store::open_postgres(&url).unwrap());
        let b = Arc::new(Store::open_postgres(&url).unwrap());
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let start = |s: Arc<Store>| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let t0 = Instant::now();
                let sync = s.share_limits();
                (t0.elapsed(), sync.is_some())
            })
        };
        let (ta, tb) = (start(Arc::clone(&a)), start(Arc::clone(&b)));
        for (took, ok) in [ta.join().unwrap(), tb.join().unwrap()] {
            assert!(ok);
            assert!(
                took < Duration::from_millis(NODE_ALIVE_MS / 2),
                "a join took {took:?}"
            );
        }
    }

    /// A clock stepped back across a minute's start does not take the sync back to the
    /// earlier minute: there it would lower this minute's claim as if it were that one's,
    /// and the window would count its whole part again (88 of 60 in review).
    #[test]
    fn the_synced_minute_never_goes_back() {
        let mut at = Cadence {
            pruned: Instant::now(),
            beat: None,
            beat_ms: None,
            others: HashMap::new(),
            joined: true,
            minute: 0,
        };
        let t = 1_800_000_000; // a minute's start
        assert_eq!(at.minute_at(t + 1), t as u64 / 60);
        assert_eq!(
            at.minute_at(t - 1),
            t as u64 / 60,
            "a second back: the same minute"
        );
        assert_eq!(at.minute_at(t + 61), t as u64 / 60 + 1);
    }

    /// A stopped node is marked so at once: it is no longer alive, and shares only what is
    /// left of the minute it stopped in.
    #[test]
    fn a_stopped_node_is_marked_stopped() {
        let Some(url) = fresh_database() else {
            return;
        };
        let store = Store::open_postgres(&url).unwrap();
        let sync = store.share_limits().expect("a sync thread on PostgreSQL");
        assert_eq!(heartbeats(&store).len(), 1, "registered before serving");
        assert!(heartbeats(&store).iter().all(|v| v & STOPPED == 0));
        // Two failures of one source (the second shares both), then the stop.
        let now = crate::clock::unix_secs();
        assert!(store.failures.fail(42, 10, now).is_ok());
        assert!(store.failures.fail(42, 10, now).is_ok());
        drop(sync);
        let minute = u64::try_from(now / 60).unwrap();
        let total = store
            .read(|tx| {
                Ok(tx
                    .open_table(FAILURE_MINUTES)?
                    .get((minute, 42))?
                    .map(|g| g.value()))
            })
            .unwrap();
        assert_eq!(
            total,
            Some(2),
            "the stopped node's failures are in the total"
        );
        let beats = heartbeats(&store);
        assert_eq!(beats.len(), 1);
        assert!(beats[0] & STOPPED != 0, "the stopped node is marked");
        let later = View {
            now_ms: unix_ms() + 61_000,
            alive_after: unix_ms() + 61_000 - NODE_ALIVE_MS,
            minute_began: unix_ms() + 1_000,
        };
        let shared = store
            .read(|tx| sharers(&tx.open_table(NODES)?, 7, &later))
            .unwrap();
        assert_eq!(shared, vec![7], "the next minute, only the node asking");
    }
}
