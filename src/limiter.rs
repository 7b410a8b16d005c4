//! Counting failures per client, for the failed-auth and sign-in limits, and requests per key
//! for a key's own rate limit (`MinuteWindow`). A leaf: it knows nothing of keys or HTTP.
//!
//! Only failures are ever counted or looked up, so a request that authenticates never touches
//! the limiter. The table is split into shards, each behind its own lock and holding at most
//! its share of the capacity, so a flood of failures from many sources neither serialises the
//! server on one lock nor grows memory without bound. A full shard forgets the source that
//! failed least recently to make room, so a flood cannot make the table stop counting: a
//! source that keeps failing stays counted. Each shard forgets its counts at the end of its
//! one-minute window, all at once, without scanning.
//!
//! Sources are counted by any hashable key (an address, an address and a username); the table
//! keeps only a 64-bit keyed hash of it, so every entry has the same small size.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::clock;

/// The counting window.
pub const WINDOW: Duration = Duration::from_secs(60);
const SHARDS: usize = 64;
/// Sources tracked by default, over all shards.
const CAPACITY: usize = SHARDS * 4096;

/// The limiter's clock: the one place it reads the time (the server's clock, which tests move).
fn now() -> Instant {
    clock::instant()
}

/// How long until the source may try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

/// The prefix length that IPv6 clients are counted by: one customer usually holds a whole
/// /64 (or more), so counting single IPv6 addresses would give each client 2^64 budgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "u8")]
pub struct Ipv6Prefix(u8);

impl Ipv6Prefix {
    pub const MIN: u8 = 32;
}

impl TryFrom<u8> for Ipv6Prefix {
    type Error = String;
    fn try_from(bits: u8) -> Result<Self, String> {
        if (Self::MIN..=128).contains(&bits) {
            Ok(Self(bits))
        } else {
            Err(format!("an IPv6 prefix length from {} to 128", Self::MIN))
        }
    }
}

impl Default for Ipv6Prefix {
    fn default() -> Self {
        Self(64)
    }
}

/// A client as the failure limits count it: an IPv4 address, or the IPv6 network of the
/// configured prefix that the address is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Source(IpAddr);

impl Source {
    pub fn of(ip: IpAddr, v6: Ipv6Prefix) -> Self {
        match ip.to_canonical() {
            IpAddr::V6(a) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(v6.0)).unwrap_or(0);
                Self(IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask)))
            }
            v4 => Self(v4),
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What one counted failure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failures {
    /// Still within the limit.
    Within,
    /// This failure used the last one allowed: the next is refused until the window ends.
    Reached(RetryAfter),
    /// Past the limit.
    Over(RetryAfter),
}

pub struct FailureLimiter {
    shards: Box<[Mutex<Shard>]>,
    hasher: std::collections::hash_map::RandomState,
    shard_cap: usize,
}

struct Shard {
    started: Instant,
    /// Key hash → its count and when it last failed (`tick`).
    counts: HashMap<u64, Entry>,
    /// Tick → key hash, oldest first: who to forget when the shard is full.
    recency: BTreeMap<u64, u64>,
    next_tick: u64,
}

#[derive(Clone, Copy)]
struct Entry {
    count: u32,
    tick: u64,
}

impl Shard {
    fn new(started: Instant) -> Self {
        Self {
            started,
            counts: HashMap::new(),
            recency: BTreeMap::new(),
            next_tick: 0,
        }
    }

    fn count(&self, key: u64) -> u32 {
        self.counts.get(&key).map_or(0, |e| e.count)
    }

    /// The entry of `key`, made the most recent; a new one in a full shard takes the place of
    /// the least recently failed.
    fn touch(&mut self, key: u64, cap: usize) -> &mut Entry {
        let tick = self.next_tick;
        self.next_tick += 1;
        if let Some(e) = self.counts.get(&key) {
            self.recency.remove(&e.tick);
        } else if self.counts.len() >= cap {
            if let Some((_, oldest)) = self.recency.pop_first() {
                self.counts.remove(&oldest);
            }
        }
        self.recency.insert(tick, key);
        let e = self.counts.entry(key).or_insert(Entry { count: 0, tick });
        e.tick = tick;
        e
    }

    fn retry_after(&self) -> RetryAfter {
        RetryAfter(
            WINDOW
                .saturating_sub(now().saturating_duration_since(self.started))
                .as_secs()
                .max(1),
        )
    }
}

impl Default for FailureLimiter {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl FailureLimiter {
    /// A limiter tracking at most about `capacity` sources at once.
    pub fn with_capacity(capacity: usize) -> Self {
        let started = now();
        Self {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(Shard::new(started)))
                .collect(),
            hasher: std::collections::hash_map::RandomState::new(),
            shard_cap: capacity.div_ceil(SHARDS).max(1),
        }
    }

    fn shard(&self, key: impl Hash) -> (u64, std::sync::MutexGuard<'_, Shard>) {
        let h = self.hasher.hash_one(key);
        let mut shard = self.shards[(h as usize) % SHARDS]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let t = now();
        if t.saturating_duration_since(shard.started) >= WINDOW {
            *shard = Shard::new(t);
        }
        (h, shard)
    }

    /// Whether `key` has already used up its `limit` failures in this window.
    pub fn blocked(&self, key: impl Hash, limit: u32) -> Option<RetryAfter> {
        let (h, shard) = self.shard(key);
        (shard.count(h) >= limit).then(|| shard.retry_after())
    }

    /// Count one failure of `key` against `limit`.
    pub fn fail(&self, key: impl Hash, limit: u32) -> Failures {
        let (h, mut shard) = self.shard(key);
        let e = self.touch(&mut shard, h);
        e.count = e.count.saturating_add(1);
        let n = e.count;
        match n.cmp(&limit) {
            std::cmp::Ordering::Less => Failures::Within,
            std::cmp::Ordering::Equal => Failures::Reached(shard.retry_after()),
            std::cmp::Ordering::Greater => Failures::Over(shard.retry_after()),
        }
    }

    /// Count an attempt whose outcome is not known yet (a password check), so that
    /// concurrent attempts cannot pass the limit together; `Err` when `limit` is used up: the
    /// attempt is refused and not counted. `Ok` is the count with this attempt. `forgive` it
    /// when it succeeds.
    pub fn attempt(&self, key: impl Hash, limit: u32) -> Result<u32, RetryAfter> {
        let (h, mut shard) = self.shard(key);
        let e = self.touch(&mut shard, h);
        if e.count >= limit {
            return Err(shard.retry_after());
        }
        e.count += 1;
        Ok(e.count)
    }

    /// Take back an `attempt` that succeeded: it was not a failure.
    pub fn forgive(&self, key: impl Hash) {
        let (h, mut shard) = self.shard(key);
        if let Some(e) = shard.counts.get_mut(&h) {
            e.count = e.count.saturating_sub(1);
        }
    }

    fn touch<'s>(&self, shard: &'s mut Shard, h: u64) -> &'s mut Entry {
        shard.touch(h, self.shard_cap)
    }

    /// Sources currently tracked, for tests and metrics.
    pub fn tracked(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map_or(0, |s| s.counts.len()))
            .sum()
    }
}

/// Requests counted in fixed one-minute windows of the wall clock (`12:00:00`–`12:00:59`), in
/// one atomic word: the minute in the high half, the count in the low half. Counting is one
/// compare-and-swap, without a lock or an allocation, so a key's limit costs its requests no
/// shared lock; a request over the limit only reads. At a minute's turn up to twice the limit
/// can pass in quick succession (the price of a fixed window, and what its `reset` promises).
///
/// Several nodes (PostgreSQL) share a key's limit through claims: a node counts only up to
/// its claim on the minute, and the claims of the nodes never add up to more than the limit.
/// Until a node records a claim, it holds its part of the limit, and every node counts it as
/// holding that; a sync thread records a larger claim out of what no node holds, or gives
/// back part of what it holds when another node wants more (`Claims::step`). Alone (redb)
/// there is no cap, and the words stay zero.
#[derive(Debug, Default)]
pub struct MinuteWindow {
    count: AtomicU64,
    /// (minute, this node's recorded claim in it): absent for the current minute, the claim is
    /// the node's part of the limit.
    claim: AtomicU64,
    /// The limit the claim was worked out against: a caller with another limit (the older
    /// key of a roll chain, a limit just changed) may count the same share of its own.
    claim_limit: AtomicU32,
    /// (this node's rank, nodes sharing the limit) at the window's last sync (0: not synced
    /// yet, then `CLUSTER`'s): a minute not synced yet gives each its part.
    nodes: AtomicU64,
    /// (minute, count) at the last sync: whether the window was used since.
    seen: AtomicU64,
    /// The id the nodes record this window's claims under (`KeyIndex::windows`): fixed when
    /// the window is made, so that deleting a key of its roll chain does not move them.
    row: u64,
}

/// (this node's rank, nodes) at the last sync of any window (0 on redb, where nothing sets
/// it): a window not synced yet (a new key or limit) takes its part, not the whole limit.
static CLUSTER: AtomicU64 = AtomicU64::new(0);

/// Nodes share the limits but this one has not synced yet: every window caps at 0 (a
/// refusal says `Retry-After: 1`), not at the whole limit.
const UNKNOWN: u64 = u64::MAX;

/// Before this node has joined the others (`Store::join_limits`): count nothing yet, in
/// every window, whatever a sync before recorded in it.
pub fn set_cluster_unknown() {
    CLUSTER.store(UNKNOWN, Ordering::Relaxed);
}

/// Record this node's rank among `nodes` (the shared limits' sync).
pub fn set_cluster(rank: u32, nodes: u32) {
    CLUSTER.store(
        (u64::from(rank) << 32) | u64::from(nodes.max(1)),
        Ordering::Relaxed,
    );
}

/// A window's state for a limit, as the rate-limit headers state it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the window ends and the full limit is available again (1 to 60).
    pub reset_secs: u64,
}

/// A window in one minute, as a sync sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowState {
    /// Requests this node counted in the minute.
    pub count: u32,
    /// The most it may count: its recorded claim, else its part of the limit.
    pub claim: u32,
    /// Whether the claim is recorded (else it is the node's part).
    pub recorded: bool,
    /// Whether it counted any since the last sync.
    pub used: bool,
}

impl WindowState {
    /// Whether this node should ask for a larger claim: it has used its claim (requests are
    /// being refused), or half of it and is in use; and the claim is below the limit.
    pub fn wants_more(&self, limit: u32) -> bool {
        let spent = self.count >= self.claim;
        let busy = self.used && self.count.saturating_mul(2) >= self.claim;
        (spent || busy) && self.claim < limit
    }
}

/// `claim` made against `from`, as a share of `to` (rounded down, the same way by every
/// node, so that the shares of a limit never add up to more than it).
fn scaled(claim: u32, from: u32, to: u32) -> u32 {
    if from == to || from == 0 {
        return claim.min(to);
    }
    let s = u64::from(claim) * u64::from(to) / u64::from(from);
    u32::try_from(s).unwrap_or(u32::MAX).min(to)
}

impl MinuteWindow {
    /// A fresh window whose claims are recorded under `row`.
    pub fn for_row(row: u64) -> Self {
        Self {
            row,
            ..Self::default()
        }
    }

    /// The id its claims are recorded under.
    pub fn row(&self) -> u64 {
        self.row
    }

    /// Count one request made at `unix_secs` against `limit`. `Err` when the limit is used up:
    /// the request is refused and not counted.
    pub fn take(&self, limit: u32, unix_secs: i64) -> Result<Quota, Quota> {
        let minute = minute_of(unix_secs);
        let mut current = self.count.load(Ordering::Relaxed);
        loop {
            let (m, n) = in_minute(current, minute);
            let cap = self.cap_in(m, limit);
            if n >= cap {
                return Err(self.refused(limit, n, m, unix_secs));
            }
            let next = (m << 32) | u64::from(n + 1);
            match self.count.compare_exchange_weak(
                current,
                next,
                Ordering::SeqCst,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    // A sync may have lowered the claim meanwhile (`lower`): it either saw
                    // this count, or this sees its claim.
                    let cap = self.cap_in(m, limit);
                    if n + 1 > cap {
                        self.undo(m);
                        return Err(self.refused(limit, n, m, unix_secs));
                    }
                    return Ok(quota(limit, cap - n - 1, m, unix_secs));
                }
                Err(seen) => current = seen,
            }
        }
    }

    fn refused(&self, limit: u32, n: u32, minute: u64, unix_secs: i64) -> Quota {
        let mut q = quota(limit, 0, minute, unix_secs);
        if n < limit {
            // Only this node's claim is used up: the next sync may grant more.
            q.reset_secs = 1;
        }
        q
    }

    /// Take back one request counted in `minute`.
    fn undo(&self, minute: u64) {
        let _ = self
            .count
            .fetch_update(Ordering::SeqCst, Ordering::Relaxed, |w| match split(w) {
                (m, n) if m == minute && n > 0 => Some(w - 1),
                _ => None,
            });
    }

    /// The most this node may count in `minute` against `limit`: its recorded claim (as a
    /// share of `limit`), else the limit alone, else its part.
    fn cap_in(&self, minute: u64, limit: u32) -> u32 {
        self.cap_with(minute, limit, CLUSTER.load(Ordering::Relaxed))
    }

    /// [`Self::cap_in`] with `cluster` for `CLUSTER`'s word.
    fn cap_with(&self, minute: u64, limit: u32, cluster: u64) -> u32 {
        // Not joined yet: nothing, whatever a sync before the join recorded here.
        if cluster == UNKNOWN {
            return 0;
        }
        let (m, claim) = split(self.claim.load(Ordering::SeqCst));
        if m == minute {
            return scaled(claim, self.claim_limit.load(Ordering::Relaxed), limit);
        }
        let mut nodes = self.nodes.load(Ordering::Relaxed);
        if nodes == 0 {
            nodes = cluster;
        }
        match split(nodes) {
            (_, nodes) if nodes <= 1 => limit,
            (rank, nodes) => part(u64::from(limit), u32::try_from(rank).unwrap_or(0), nodes),
        }
    }

    /// The state at `unix_secs` without counting anything.
    pub fn peek(&self, limit: u32, unix_secs: i64) -> Quota {
        let (m, n) = in_minute(self.count.load(Ordering::Relaxed), minute_of(unix_secs));
        quota(limit, self.cap_in(m, limit).saturating_sub(n), m, unix_secs)
    }

    /// Continue counting where `other` is (a key's settings changed, its window did not).
    pub fn carry_from(&self, other: &Self) {
        for (to, from) in [
            (&self.count, &other.count),
            (&self.claim, &other.claim),
            (&self.nodes, &other.nodes),
            (&self.seen, &other.seen),
        ] {
            to.store(from.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        self.claim_limit
            .store(other.claim_limit.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    /// The window in `minute` against `limit`, for a sync.
    pub fn state(&self, minute: u64, limit: u32) -> WindowState {
        let (_, count) = exactly_in(self.count.load(Ordering::Relaxed), minute);
        let (_, seen) = exactly_in(self.seen.load(Ordering::Relaxed), minute);
        WindowState {
            count,
            claim: self.cap_in(minute, limit),
            recorded: split(self.claim.load(Ordering::Relaxed)).0 == minute,
            used: count > seen,
        }
    }

    /// Hold at most `claim` of `limit` in `minute`, before the claim is recorded (so the
    /// record is never below what this node may count). Returns the claim to record: a
    /// request counted while the claim was lowered keeps its place.
    pub fn lower(&self, minute: u64, claim: u32, limit: u32) -> u32 {
        self.claim_limit.store(limit, Ordering::Relaxed);
        self.claim
            .store((minute << 32) | u64::from(claim), Ordering::SeqCst);
        let (_, n) = exactly_in(self.count.load(Ordering::SeqCst), minute);
        claim.max(n)
    }

    /// Hold `claim` of `limit` in `minute`, once it is recorded.
    pub fn raise(&self, minute: u64, claim: u32, limit: u32) {
        self.claim_limit.store(limit, Ordering::Relaxed);
        self.claim
            .store((minute << 32) | u64::from(claim), Ordering::SeqCst);
    }

    /// After a sync of `minute` that saw `count` (from `state`), shared by `nodes`.
    pub fn synced(&self, minute: u64, count: u32, (rank, nodes): (u32, u32)) {
        self.seen
            .store((minute << 32) | u64::from(count), Ordering::Relaxed);
        self.nodes.store(
            (u64::from(rank) << 32) | u64::from(nodes.max(1)),
            Ordering::Relaxed,
        );
    }
}

/// One node's recorded claim on a key's minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub node: u64,
    /// The most the node may count in the minute, of `limit`.
    pub claim: u32,
    /// What it had counted when it recorded the claim.
    pub count: u32,
    /// The limit the claim was worked out against.
    pub limit: u32,
}

impl Claim {
    /// Recorded with all of it used, below the limit: the node asks for more.
    fn wants_more(&self) -> bool {
        self.count >= self.claim && self.claim < self.limit
    }
}

/// What a sync does with one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing to record.
    Keep,
    /// Record a larger claim (out of what no node holds), then count up to it.
    Raise(u32),
    /// Hold this claim, and record it: the node wants more, or counted more than its part
    /// (a node joined).
    Want(u32),
    /// Count only up to this claim, then record it: another node wants part of what this one
    /// holds, or the claims overlap.
    Lower(u32),
}

/// A key's claims in one minute: each recorded claim (of a live node or of one that stopped
/// this minute: what it counted stays counted), and the part of each sharing node without one.
pub struct Claims<'a> {
    /// The ids of the nodes sharing the minute, in order (their rank): those alive, and those
    /// seen during the minute (stopped or gone: their parts are not handed out mid-minute).
    pub alive: &'a [u64],
    pub recorded: &'a [Claim],
}

impl Claims<'_> {
    /// What every node but `me` holds of `limit`, and whether one of them wants more.
    fn others(&self, me: u64, limit: u32) -> (u64, bool) {
        let nodes = u32::try_from(self.alive.len().max(1)).unwrap_or(u32::MAX);
        let mut held = 0u64;
        let mut want = false;
        for c in self.recorded.iter().filter(|c| c.node != me) {
            held += u64::from(scaled(c.claim, c.limit, limit));
            want |= c.wants_more();
        }
        for (rank, &node) in self.alive.iter().enumerate() {
            if node != me && !self.recorded.iter().any(|c| c.node == node) {
                held += u64::from(part(u64::from(limit), rank as u32, nodes));
            }
        }
        (held, want)
    }

    /// The sync's step for node `me` whose window is `w`, against `limit`. The claims never
    /// add up to more than the limit: a node raises its own only out of what none holds, a
    /// node counts past its part only once that is recorded, and one whose part overlaps
    /// what the others hold gives it up.
    pub fn step(&self, me: u64, limit: u32, w: WindowState) -> Step {
        let nodes = u32::try_from(self.alive.len().max(1)).unwrap_or(u32::MAX);
        let (others, others_want) = self.others(me, limit);
        let total = others + u64::from(w.claim);
        // Parts shrank (a node joined): one that counted past its new part says so, one whose
        // part now overlaps what the others hold gives it up.
        if !w.recorded && w.count > w.claim {
            return Step::Want(w.count);
        }
        if total > u64::from(limit) && w.claim > w.count {
            let fits = u64::from(limit).saturating_sub(others);
            return Step::Lower(u32::try_from(fits).unwrap_or(u32::MAX).max(w.count));
        }
        let free = u32::try_from(u64::from(limit).saturating_sub(total)).unwrap_or(u32::MAX);
        if w.wants_more(limit) {
            if free > 0 {
                return Step::Raise(w.claim + free.div_ceil(nodes).clamp(1, free));
            }
            let mine = self.recorded.iter().find(|c| c.node == me);
            if w.count >= w.claim && mine.is_none_or(|c| !c.wants_more()) {
                return Step::Want(w.claim);
            }
            return Step::Keep;
        }
        // Give back when another node wants more: an idle node all but a reserve (a tenth of
        // the limit over the nodes, so that its next requests are not refused while it asks),
        // a busy one half of what it has not used.
        let reserve = limit / (10 * nodes);
        let slack = w.claim.saturating_sub(w.count);
        let keep = if w.used {
            // Still at most half used after it, so it does not ask straight back.
            (slack / 2).max(reserve).max(w.count + 1)
        } else {
            reserve
        };
        if others_want && slack > keep {
            return Step::Lower(w.count + keep);
        }
        Step::Keep
    }
}

/// Which part of `of` the node at `rank` (0-based, in node-id order) of `nodes` takes: the
/// parts add up to exactly `of`, so nodes synced together cannot pass it between them.
pub fn part(of: u64, rank: u32, nodes: u32) -> u32 {
    let nodes = u64::from(nodes.max(1));
    let extra = u64::from(u64::from(rank) < of % nodes);
    u32::try_from(of / nodes + extra).unwrap_or(u32::MAX)
}

fn split(word: u64) -> (u64, u32) {
    (word >> 32, (word & 0xffff_ffff) as u32)
}

/// The count a word holds for exactly `minute` (zero for any other).
fn exactly_in(word: u64, minute: u64) -> (u64, u32) {
    match split(word) {
        (m, n) if m == minute => (m, n),
        _ => (minute, 0),
    }
}

/// Failed checks per source and minute shared by several nodes (PostgreSQL), beside each
/// node's own `FailureLimiter`: a source may fail on this node while every node's failures
/// at the last sync are under the limit, one failure beyond what this node has shared at a
/// time (`fail`). Only failures touch it.
///
/// A source's first failure on a node stays on that node (the rule allows the limit plus
/// one per node): a flood from many addresses that each fail once writes nothing to the
/// database, whose rows every sync writes under the cluster's lock. At most
/// `SHARED_SOURCES` sources a minute are shared; past them a source is held by this node's
/// own limiter alone.
/// Sources a node shares per minute, at most.
pub const SHARED_SOURCES: usize = 65_536;
/// A source is shared from its second failure on a node.
const SHARED_FROM: u32 = 2;

/// Why [`SharedFailures::fail`] did not count a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureWait {
    /// The limit is spent across the nodes until the minute ends.
    Minute,
    /// This node's unshared failure goes to the database at the next sync, within moments.
    Sync,
}

#[derive(Default)]
pub struct SharedFailures {
    inner: Mutex<SharedInner>,
    /// Wakes the sync thread on a new failure: a stale total is what lets nodes pass the
    /// limit together, and failures are few (only counted ones, at most the limit a source).
    counted: std::sync::Condvar,
}

#[derive(Default)]
struct SharedInner {
    /// A failure counted since the last `unpushed`.
    dirty: bool,
    minute: u64,
    /// Nodes sharing the limits at the last sync (0: not synced yet).
    nodes: u32,
    /// Source hash → this node's tally in `minute`.
    tallies: HashMap<u64, Tally>,
}

#[derive(Default, Clone, Copy)]
struct Tally {
    counted: u32,
    pushed: u32,
    /// Every node's failures of the source at the last sync (this node's pushed ones among
    /// them).
    total: Option<u64>,
}

impl SharedFailures {
    /// The state, moved on to `minute` if that is later; an earlier minute (a late sync, a
    /// clock gone back) keeps the later one's tallies.
    fn lock(&self, minute: u64) -> std::sync::MutexGuard<'_, SharedInner> {
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if inner.minute < minute {
            inner.minute = minute;
            inner.tallies.clear();
        }
        inner
    }

    /// Count one failure of `source` at `unix_secs`, or say why not: every node's failures
    /// reached `limit` at the last sync (`Minute`), or this node holds one not yet shared
    /// (`Sync`, a moment).
    ///
    /// A node alone at its last sync counts up to the limit. With others, it counts at most
    /// one failure beyond what it has shared (two before its first share, the first staying
    /// local), and only while the total it last read is under the limit: however stale that
    /// total, each node adds at most one failure the others cannot see, so every node's
    /// together stay within the limit plus one per node. A part of the limit per node did
    /// not: a node with no total (or an old one) spent its part on top of what the others
    /// had already spent (15 of 10 on two nodes).
    pub fn fail(&self, source: u64, limit: u32, unix_secs: i64) -> Result<(), FailureWait> {
        let mut inner = self.lock(minute_of(unix_secs));
        if inner.tallies.len() >= SHARED_SOURCES && !inner.tallies.contains_key(&source) {
            return Ok(());
        }
        let alone = inner.nodes == 1;
        let t = inner.tallies.entry(source).or_default();
        if alone {
            // No other node at the last sync (a joining one holds at most two until its first):
            // the limit less what the others had counted.
            let others = t
                .total
                .map_or(0, |total| total.saturating_sub(u64::from(t.pushed)));
            if u64::from(t.counted) >= u64::from(limit).saturating_sub(others) {
                return Err(FailureWait::Minute);
            }
        } else {
            if t.total.is_some_and(|total| total >= u64::from(limit)) {
                return Err(FailureWait::Minute);
            }
            if t.counted >= (t.pushed + 1).max(SHARED_FROM) {
                return Err(FailureWait::Sync);
            }
        }
        t.counted += 1;
        if t.counted >= SHARED_FROM {
            inner.dirty = true;
            self.counted.notify_one();
        }
        Ok(())
    }

    /// Wait up to `timeout` for a failure to share.
    pub fn wait(&self, timeout: Duration) {
        let inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = self
            .counted
            .wait_timeout_while(inner, timeout, |i| !i.dirty);
    }

    /// The minute, and each source's failures this node has not added to the shared total.
    pub fn unpushed(&self, unix_secs: i64) -> (u64, Vec<(u64, u32)>) {
        let mut inner = self.lock(minute_of(unix_secs));
        let minute = inner.minute;
        inner.dirty = false;
        let list = inner
            .tallies
            .iter()
            .filter(|(_, t)| t.counted > t.pushed && t.counted >= SHARED_FROM)
            .map(|(s, t)| (*s, t.counted - t.pushed))
            .collect();
        (minute, list)
    }

    /// The sources whose shared totals this node needs: those it has shared or is sharing.
    pub fn shared(&self, minute: u64) -> Vec<u64> {
        let inner = self.lock(minute);
        if inner.minute != minute {
            return Vec::new();
        }
        inner
            .tallies
            .iter()
            .filter(|(_, t)| t.counted >= SHARED_FROM)
            .map(|(s, _)| *s)
            .collect()
    }

    /// After a sync of `minute`: `pushed` were added; `totals` are every node's failures
    /// per source; `nodes` share the limits.
    pub fn share(
        &self,
        minute: u64,
        pushed: &[(u64, u32)],
        totals: &HashMap<u64, u64>,
        nodes: u32,
    ) {
        let mut inner = self.lock(minute);
        inner.nodes = nodes;
        if minute < inner.minute {
            return; // a later minute's tallies are not this sync's
        }
        for (s, n) in pushed {
            inner.tallies.entry(*s).or_default().pushed += n;
        }
        for (s, total) in totals {
            inner.tallies.entry(*s).or_default().total = Some(*total);
        }
    }
}

fn minute_of(unix_secs: i64) -> u64 {
    u64::try_from(unix_secs.max(0) / 60).unwrap_or(0)
}

/// The (minute, count) a window holds at `minute`: a new minute starts at zero. A clock that
/// went back keeps counting in the later minute rather than granting a fresh one.
fn in_minute(word: u64, minute: u64) -> (u64, u32) {
    let (m, n) = split(word);
    if m < minute {
        (minute, 0)
    } else {
        (m, n)
    }
}

fn quota(limit: u32, remaining: u32, minute: u64, unix_secs: i64) -> Quota {
    let ends = i64::try_from((minute + 1) * 60).unwrap_or(i64::MAX);
    Quota {
        limit,
        remaining,
        reset_secs: u64::try_from(ends.saturating_sub(unix_secs)).map_or(60, |s| s.clamp(1, 60)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_grants_the_limit_per_minute_and_says_when_it_resets() {
        let w = MinuteWindow::default();
        let t = 1_800_000_000 + 20; // 20 s into a minute (1_800_000_000 is a whole minute)
        assert_eq!(
            w.peek(3, t),
            Quota {
                limit: 3,
                remaining: 3,
                reset_secs: 40
            }
        );
        assert_eq!(w.take(3, t).unwrap().remaining, 2);
        assert_eq!(w.take(3, t + 1).unwrap().remaining, 1);
        assert_eq!(w.take(3, t + 2).unwrap().remaining, 0);
        let refused = w.take(3, t + 3).unwrap_err();
        assert_eq!((refused.remaining, refused.reset_secs), (0, 37));
        assert_eq!(w.peek(3, t + 3).remaining, 0, "a refusal is not counted");
        // The next minute starts afresh; a clock that goes back does not.
        assert_eq!(w.take(3, t + 40).unwrap().remaining, 2);
        assert!(w.take(3, t + 30).is_ok());
        assert!(w.take(3, t + 30).is_ok());
        assert!(w.take(3, t + 30).is_err(), "still the later minute");
        let copy = MinuteWindow::default();
        copy.carry_from(&w);
        assert_eq!(copy.peek(3, t + 41), w.peek(3, t + 41));
    }

    #[test]
    fn concurrent_requests_never_exceed_the_limit() {
        let w = std::sync::Arc::new(MinuteWindow::default());
        let t = 1_800_000_000; // a whole minute
        let granted: u32 = (0..4)
            .map(|_| {
                let w = std::sync::Arc::clone(&w);
                std::thread::spawn(move || {
                    (0..10_000).filter(|_| w.take(2_500 + 7, t).is_ok()).count() as u32
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .sum();
        assert_eq!(granted, 2_507);
    }

    #[test]
    fn nodes_sharing_a_window_count_up_to_their_claim() {
        assert_eq!((0..3).map(|r| part(10, r, 3)).sum::<u32>(), 10);
        assert_eq!((part(10, 0, 3), part(10, 2, 3)), (4, 3));
        let t = 1_800_000_000; // a whole minute
        let minute = minute_of(t);
        let w = MinuteWindow::default();
        // Alone: the whole limit, as before sharing existed.
        assert_eq!(w.peek(60, t).remaining, 60);
        // Rank 2 of 3, no claim recorded: its part, 20.
        w.synced(minute, 0, (2, 3));
        assert_eq!((0..30).filter(|_| w.take(60, t).is_ok()).count(), 20);
        let state = w.state(minute, 60);
        assert_eq!(
            (state.count, state.claim, state.recorded, state.used),
            (20, 20, false, true)
        );
        assert!(state.wants_more(60));
        // A raised claim: 10 more.
        w.raise(minute, 30, 60);
        assert_eq!((0..20).filter(|_| w.take(60, t).is_ok()).count(), 10);
        assert!(w.state(minute, 60).recorded);
        // Lowered below what it counted: it records what it counted, and counts no more.
        assert_eq!(w.lower(minute, 25, 60), 30);
        assert!(w.take(60, t).is_err());
        w.synced(minute, 30, (2, 3));
        assert!(!w.state(minute, 60).used);
        // The next minute, before a sync: this node's part of the whole limit.
        assert_eq!((0..60).filter(|_| w.take(60, t + 60).is_ok()).count(), 20);

        let f = SharedFailures::default();
        let mut total = 0;
        for _ in 0..10 {
            while f.fail(7, 10, t) == Err(FailureWait::Sync) {
                let (m, pushed) = f.unpushed(t);
                total += pushed.iter().map(|p| u64::from(p.1)).sum::<u64>();
                f.share(m, &pushed, &HashMap::from([(7, total)]), 2);
            }
        }
        let (m, pushed) = f.unpushed(t);
        total += pushed.iter().map(|p| u64::from(p.1)).sum::<u64>();
        f.share(m, &pushed, &HashMap::from([(7, total)]), 2);
        assert_eq!(total, 10, "with syncs between: the whole limit");
        assert_eq!(f.fail(7, 10, t), Err(FailureWait::Minute));

        // Alone at the last sync: the whole limit at once, no wait for a sync.
        let f = SharedFailures::default();
        f.share(minute_of(t), &[], &HashMap::new(), 1);
        assert!((0..10).all(|_| f.fail(7, 10, t).is_ok()));
        assert_eq!(f.fail(7, 10, t), Err(FailureWait::Minute));
    }

    #[test]
    fn failures_past_the_limit_are_blocked_and_others_are_not() {
        let l = FailureLimiter::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(l.fail(a, 3), Failures::Within);
        assert_eq!(l.fail(a, 3), Failures::Within);
        assert!(matches!(l.fail(a, 3), Failures::Reached(_)));
        assert!(l.blocked(a, 3).is_some_and(|r| (1..=60).contains(&r.0)));
        assert!(matches!(l.fail(a, 3), Failures::Over(_)));
        assert_eq!(l.blocked(b, 3), None);
    }

    #[test]
    fn memory_is_bounded_whatever_the_number_of_addresses() {
        let l = FailureLimiter::default();
        for i in 0..(CAPACITY * 2) as u32 {
            l.fail(IpAddr::from(i.to_be_bytes()), 10);
        }
        assert!(l.tracked() <= CAPACITY);
    }

    /// An IPv6 address in its own /64: `n` in the network half.
    fn v6(n: u64) -> Source {
        let ip = IpAddr::V6(Ipv6Addr::from(
            (0x2001_0db8_u128 << 96) | (u128::from(n) << 64) | 1,
        ));
        Source::of(ip, Ipv6Prefix::default())
    }

    #[test]
    fn a_flood_of_new_sources_does_not_stop_the_counting() {
        // A full table used to ignore new sources, so after a flood a fresh address could
        // fail without limit. Now the least recently failed source makes room.
        let l = FailureLimiter::with_capacity(10_000);
        for n in 0..100_000 {
            l.fail(v6(n), 30);
        }
        let fresh = v6(u64::MAX);
        let mut flood = 100_000..;
        for i in 1..=30 {
            assert!(l.blocked(fresh, 30).is_none(), "blocked after {i} failures");
            let counted = l.fail(fresh, 30);
            assert_eq!(matches!(counted, Failures::Reached(_)), i == 30, "{i}");
            // The flood goes on between its attempts.
            for n in flood.by_ref().take(100) {
                l.fail(v6(n), 30);
            }
        }
        assert!(l.blocked(fresh, 30).is_some());
        assert!(matches!(l.fail(fresh, 30), Failures::Over(_)));
        assert!(l.tracked() <= 10_000 + SHARDS);
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_network() {
        let p = |s: &str| s.parse::<IpAddr>().unwrap();
        let by64 = |s: &str| Source::of(p(s), Ipv6Prefix::default());
        assert_eq!(by64("2001:db8:1:2::1"), by64("2001:db8:1:2:ffff::9"));
        assert_ne!(by64("2001:db8:1:2::1"), by64("2001:db8:1:3::1"));
        assert_eq!(by64("2001:db8:1:2:3:4:5:6").to_string(), "2001:db8:1:2::");
        let whole = Ipv6Prefix::try_from(128).unwrap();
        assert_ne!(
            Source::of(p("2001:db8::1"), whole),
            Source::of(p("2001:db8::2"), whole)
        );
        let by48 = Ipv6Prefix::try_from(48).unwrap();
        assert_eq!(
            Source::of(p("2001:db8:1:2::1"), by48),
            Source::of(p("2001:db8:1:3::1"), by48)
        );
        // IPv4, also written as IPv4-mapped IPv6, is one address.
        assert_eq!(by64("::ffff:192.0.2.1"), by64("192.0.2.1"));
        assert_ne!(by64("192.0.2.1"), by64("192.0.2.2"));
        assert!(Ipv6Prefix::try_from(0).is_err() && Ipv6Prefix::try_from(129).is_err());
    }

    #[test]
    fn an_attempt_past_the_limit_is_refused_uncounted_and_a_success_is_forgiven() {
        let l = FailureLimiter::default();
        let key = ("192.0.2.1", "admin");
        assert_eq!(l.attempt(key, 2), Ok(1));
        assert_eq!(l.attempt(key, 2), Ok(2));
        assert!(l.attempt(key, 2).is_err());
        assert!(l.attempt(key, 2).is_err(), "refusals are not counted");
        l.forgive(key);
        assert_eq!(l.attempt(key, 2), Ok(2));
        assert_eq!(l.attempt(("192.0.2.1", "other"), 2), Ok(1));
    }

    /// A join whose second sync failed (or whose first did, the thread's first success being
    /// no join) leaves windows that a sync already gave their part: a node not joined counts
    /// nothing in them, or its part would come on top of what the others still count as
    /// theirs (76 of 60 in review).
    #[test]
    fn a_node_not_joined_counts_nothing_even_in_a_synced_window() {
        let t = 1_800_000_000 + 30;
        let minute = minute_of(t);
        let w = MinuteWindow::default();
        w.synced(minute, 0, (2, 3));
        let joined = (2u64 << 32) | 3;
        assert_eq!(w.cap_with(minute, 60, joined), 20, "joined: its part");
        assert_eq!(w.cap_with(minute, 60, UNKNOWN), 0, "not joined: nothing");
        assert_eq!(
            w.cap_with(minute, 60, 0),
            20,
            "no cluster word: the window's own part"
        );
    }

    /// A node that has counted no failure of a source yet, after a sync that brought another
    /// node's: it may fail it while the total is under the limit, but not a part of the limit
    /// at once on top of what the others spent.
    #[test]
    fn a_node_first_failing_a_source_after_a_sync_adds_one_at_a_time() {
        let f = SharedFailures::default();
        let t = 1_800_000_000 + 5;
        let minute = minute_of(t);
        f.share(minute, &[], &[(9, 4)].into(), 2);
        // The first failure stays local; the second is shared at the next sync.
        assert_eq!(f.fail(9, 30, t), Ok(()));
        assert_eq!(f.fail(9, 30, t), Ok(()));
        assert_eq!(f.fail(9, 30, t), Err(FailureWait::Sync));
        let (m, pushed) = f.unpushed(t);
        assert_eq!(pushed, vec![(9, 2)]);
        f.share(m, &pushed, &[(9, 6)].into(), 2);
        assert_eq!(f.fail(9, 30, t), Ok(()), "one more after the sync");
        assert_eq!(f.fail(9, 30, t), Err(FailureWait::Sync));
        assert_eq!(f.fail(8, 30, t), Ok(()), "another source has its own count");
    }

    /// Two nodes, limit 10: A spends it in steps, each synced; B then fails the source
    /// without a total (it never shared one) or with an old one. B may add one failure the
    /// others cannot see (two before its first share), not a part of the limit: with a part
    /// of the limit each, 15 of 10 passed.
    #[test]
    fn a_node_without_a_fresh_total_adds_at_most_its_one_over_the_limit() {
        let t = 1_800_000_000 + 5;
        let limit = 10;
        let mut database = 0u64;
        let sync = |f: &SharedFailures, database: &mut u64| {
            let (m, pushed) = f.unpushed(t);
            *database += pushed.iter().map(|p| u64::from(p.1)).sum::<u64>();
            f.share(m, &pushed, &HashMap::from([(7, *database)]), 2);
        };
        let a = SharedFailures::default();
        let mut passed = 0;
        for _ in 0..40 {
            if a.fail(7, limit, t).is_ok() {
                passed += 1;
            }
            sync(&a, &mut database);
        }
        assert_eq!(passed, 10);
        // B has no total: a burst before its first sync.
        let b = SharedFailures::default();
        let burst = (0..20).filter(|_| b.fail(7, limit, t).is_ok()).count();
        assert!(burst <= 2, "B passed {burst} before its sync");
        sync(&b, &mut database);
        assert_eq!(b.fail(7, limit, t), Err(FailureWait::Minute));
        assert!(
            passed + burst <= limit as usize + 2,
            "{} of {limit} over two nodes",
            passed + burst
        );

        // An old total (4 of 30) while A spends the rest.
        let (a, b) = (SharedFailures::default(), SharedFailures::default());
        let mut database = 0u64;
        let limit = 30;
        let mut passed = 0;
        for _ in 0..4 {
            passed += usize::from(a.fail(7, limit, t).is_ok());
            sync(&a, &mut database);
        }
        sync(&b, &mut database); // B reads the total of 4 ...
        for _ in 0..60 {
            passed += usize::from(a.fail(7, limit, t).is_ok());
            sync(&a, &mut database);
        }
        // ... and fails the source with that stale total.
        passed += (0..20).filter(|_| b.fail(7, limit, t).is_ok()).count();
        assert!(
            passed <= limit as usize + 2,
            "{passed} of {limit} over two nodes"
        );
    }

    /// The keys of a roll chain share a window but may have different limits, and a limit may
    /// change mid-minute: a claim made against one limit is the same share of another, so
    /// no caller passes its own limit over the nodes. A refusal for this node's claim says 1 s.
    #[test]
    fn a_claim_is_a_share_of_each_callers_own_limit() {
        let t = 1_800_000_000 + 30;
        let minute = minute_of(t);
        let w = MinuteWindow::default();
        w.synced(minute, 0, (0, 2));
        for _ in 0..4 {
            w.take(60, t).unwrap();
        }
        w.raise(minute, 10, 60);
        // Limit 60: 10 − 4; limit 30: 5 − 4.
        assert_eq!(w.peek(60, t).remaining, 6);
        assert_eq!(w.peek(30, t).remaining, 1);
        assert!(w.take(30, t).is_ok());
        let refused = w.take(30, t).unwrap_err();
        assert_eq!(refused.reset_secs, 1, "only this node's claim is used up");
        assert!(w.take(60, t).is_ok());
        // The limit lowered to 6: a tenth of it, 0 left; 6 counted is the limit itself.
        assert_eq!(w.peek(6, t).remaining, 0);
        assert_eq!(w.take(6, t).unwrap_err().reset_secs, 30);
        // The whole limit used: the window's end.
        let spent = MinuteWindow::default();
        spent.take(1, t).unwrap();
        assert_eq!(spent.take(1, t).unwrap_err().reset_secs, 30);
    }

    /// A request that races a sync lowering the claim either is seen by the sync (and
    /// recorded) or sees the lowered claim (and is refused): never counted past the record.
    #[test]
    fn a_request_racing_a_lowered_claim_is_recorded_or_refused() {
        use std::sync::atomic::AtomicBool;
        let t = 1_800_000_000 + 30;
        let minute = minute_of(t);
        let limit = u32::MAX - 1;
        let w = std::sync::Arc::new(MinuteWindow::default());
        w.synced(minute, 0, (0, 2));
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        // Requests the taker has finished.
        let done = std::sync::Arc::new(AtomicU64::new(0));
        let taker = {
            let (w, stop, done) = (
                std::sync::Arc::clone(&w),
                std::sync::Arc::clone(&stop),
                std::sync::Arc::clone(&done),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let _ = w.take(limit, t);
                    done.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        let mut over = 0;
        for _ in 0..20_000 {
            let n = w.state(minute, limit).count;
            w.raise(minute, n + 1_000, limit);
            // Let the taker count a few, then lower the claim to what it counted.
            while w.state(minute, limit).count < n + 3 {
                std::hint::spin_loop();
            }
            let recorded = w.lower(minute, 0, limit);
            // Until the request in flight, if any, has finished (a racing one takes itself
            // back).
            let finished = done.load(Ordering::SeqCst);
            while done.load(Ordering::SeqCst) < finished + 2 {
                std::hint::spin_loop();
            }
            over += u32::from(w.state(minute, limit).count > recorded);
        }
        stop.store(true, Ordering::Relaxed);
        taker.join().unwrap();
        assert_eq!(over, 0, "counted past the recorded claim {over} times");
    }

    /// A node's sync, atomic as under the cluster's write lock.
    fn sync(
        w: &MinuteWindow,
        me: u64,
        alive: &[u64],
        recorded: &mut Vec<Claim>,
        limit: u32,
        minute: u64,
    ) {
        let state = w.state(minute, limit);
        let claim = match (Claims { alive, recorded }).step(me, limit, state) {
            Step::Keep => None,
            Step::Raise(c) => {
                w.raise(minute, c, limit);
                Some(c)
            }
            Step::Want(c) | Step::Lower(c) => Some(w.lower(minute, c, limit)),
        };
        if let Some(claim) = claim {
            recorded.retain(|c| c.node != me);
            recorded.push(Claim {
                node: me,
                claim,
                count: state.count,
                limit,
            });
        }
        let rank = alive.iter().filter(|n| **n < me).count() as u32;
        w.synced(minute, state.count, (rank, alive.len() as u32));
    }

    /// Nodes sharing a limit of 60, in a seeded random order of requests and syncs, with a
    /// node joining (it serves once the others have synced, as `share_limits` waits) and one
    /// stopping (its counts pinned, as `LimitSync::drop` does) mid-minute: the claims never let
    /// more than the limit pass, and traffic on one node alone still gets nine tenths.
    #[test]
    fn claims_never_let_nodes_pass_the_limit_together() {
        const LIMIT: u32 = 60;
        let t = 1_800_000_000 + 1;
        let minute = minute_of(t);
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        // (share of requests on node 10 in %, least that must pass, a join and a stop)
        for (skew, least, churn) in [
            (33, 57, false),
            (100, 54, false),
            (80, 54, false),
            (33, 50, true),
            (100, 50, true),
        ] {
            for _round in 0..50 {
                let ids = [10u64, 20, 30, 40];
                let mut alive: Vec<u64> = vec![10, 20, 30];
                let windows: Vec<MinuteWindow> = (0..4).map(|_| MinuteWindow::default()).collect();
                for (rank, w) in windows.iter().enumerate().take(3) {
                    w.synced(minute, 0, (rank as u32, 3));
                }
                let mut recorded: Vec<Claim> = Vec::new();
                let mut passed = 0;
                for event in 0..3_000 {
                    if churn && event == 1_000 {
                        // Node 40 registers, the others sync, it syncs again, then serves.
                        alive.push(40);
                        sync(&windows[3], 40, &alive, &mut recorded, LIMIT, minute);
                        for i in 0..3 {
                            sync(&windows[i], ids[i], &alive, &mut recorded, LIMIT, minute);
                        }
                        sync(&windows[3], 40, &alive, &mut recorded, LIMIT, minute);
                    }
                    if churn && event == 2_000 {
                        // Node 20 stops: its counts pinned, then it leaves.
                        let w = &windows[1];
                        let count = w.lower(minute, 0, LIMIT);
                        recorded.retain(|c| c.node != 20);
                        recorded.push(Claim {
                            node: 20,
                            claim: count,
                            count,
                            limit: LIMIT,
                        });
                        alive.retain(|n| *n != 20);
                    }
                    let pick = |r: u64| {
                        if r < skew {
                            10
                        } else {
                            alive[1 + (r as usize) % (alive.len() - 1)]
                        }
                    };
                    let node = pick(next(100));
                    let i = ids.iter().position(|n| *n == node).unwrap();
                    if next(4) > 0 {
                        passed += u32::from(windows[i].take(LIMIT, t).is_ok());
                        assert!(passed <= LIMIT, "{passed} passed a limit of {LIMIT}");
                        continue;
                    }
                    // Every live node syncs, busy or not.
                    let node = alive[next(alive.len() as u64) as usize];
                    let i = ids.iter().position(|n| *n == node).unwrap();
                    sync(&windows[i], node, &alive, &mut recorded, LIMIT, minute);
                }
                assert!(
                    passed >= least,
                    "{passed} passed a limit of {LIMIT} with {skew}% on one node"
                );
            }
        }
    }

    /// A flood from many addresses that each fail once is not shared (nothing to write under
    /// the cluster's lock), and the shared tallies stay bounded however many sources fail.
    #[test]
    fn single_failures_stay_on_their_node_and_shared_sources_are_bounded() {
        let f = SharedFailures::default();
        let t = 1_800_000_000 + 5;
        let minute = minute_of(t);
        for source in 0..(SHARED_SOURCES as u64 + 10_000) {
            assert!(f.fail(source, 10, t).is_ok());
        }
        let shared = f.unpushed(t).1.len();
        assert_eq!(
            shared, 0,
            "no source failed twice, yet {shared} would be shared"
        );
        assert!(f.shared(minute).is_empty());
        assert!(f.inner.lock().unwrap().tallies.len() <= SHARED_SOURCES);
        // A second failure shares both.
        assert!(f.fail(7, 10, t).is_ok());
        let (m, pushed) = f.unpushed(t);
        assert_eq!(pushed, vec![(7, 2)]);
        assert_eq!(f.shared(minute), vec![7]);
        f.share(m, &pushed, &HashMap::from([(7, 2)]), 2);
        // A source past the bound is left to the node's own limiter.
        let late = SHARED_SOURCES as u64 + 5_000;
        assert!(f.fail(late, 1, t).is_ok() && f.fail(late, 1, t).is_ok());
        assert_eq!(f.unpushed(t).1, vec![]);
    }

    /// A sync of minute M that ends after a failure of M + 1 was counted must not wipe it.
    #[test]
    fn a_late_sync_keeps_the_next_minutes_failures() {
        let f = SharedFailures::default();
        let t = 1_800_000_000 + 59;
        let (m, pushed) = f.unpushed(t);
        assert!(f.fail(3, 2, t + 2).is_ok() && f.fail(3, 2, t + 2).is_ok());
        f.share(m, &pushed, &HashMap::new(), 2);
        assert!(
            f.fail(3, 2, t + 2).is_err(),
            "the next minute's two failures still count"
        );
        assert_eq!(
            f.unpushed(t).1,
            vec![(3, 2)],
            "a late read gets the later minute"
        );
    }
}
