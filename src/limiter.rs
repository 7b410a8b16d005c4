//! Counting failures per client address, for the failed-auth and sign-in limits, and
//! requests per key for a key's own rate limit (`MinuteWindow`). A leaf: it knows nothing of
//! keys or HTTP.
//!
//! Only failures are ever counted or looked up, so a request that authenticates never touches
//! the limiter. The table is split into shards, each behind its own lock and holding at most
//! `SHARD_CAP` addresses, so a flood of failures from many addresses neither serialises the
//! server on one lock nor grows memory without bound; each shard forgets its counts at the end
//! of its one-minute window, all at once, without scanning.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::clock;

/// The counting window.
pub const WINDOW: Duration = Duration::from_secs(60);
const SHARDS: usize = 64;
/// Addresses tracked per shard; past this, new addresses are not counted until the window ends.
const SHARD_CAP: usize = 4096;

/// How long until the address may try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

pub struct FailureLimiter {
    shards: Box<[Mutex<Shard>]>,
    hasher: std::collections::hash_map::RandomState,
}

struct Shard {
    started: Instant,
    counts: HashMap<IpAddr, u32>,
}

impl Default for FailureLimiter {
    fn default() -> Self {
        let now = clock::instant();
        Self {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        started: now,
                        counts: HashMap::new(),
                    })
                })
                .collect(),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }
}

impl FailureLimiter {
    fn shard(&self, ip: IpAddr) -> std::sync::MutexGuard<'_, Shard> {
        let i = (self.hasher.hash_one(ip) as usize) % SHARDS;
        let mut shard = self.shards[i]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = clock::instant();
        if now.saturating_duration_since(shard.started) >= WINDOW {
            shard.started = now;
            shard.counts = HashMap::new();
        }
        shard
    }

    /// Whether `ip` has already used up its `limit` failures in this window.
    pub fn blocked(&self, ip: IpAddr, limit: u32) -> Option<RetryAfter> {
        let shard = self.shard(ip);
        let n = shard.counts.get(&ip).copied().unwrap_or(0);
        (n >= limit).then(|| retry_after(&shard))
    }

    /// Count one failure of `ip`; `Some` once this failure reaches the limit.
    pub fn fail(&self, ip: IpAddr, limit: u32) -> Option<RetryAfter> {
        let mut shard = self.shard(ip);
        let full = shard.counts.len() >= SHARD_CAP;
        let n = match shard.counts.get_mut(&ip) {
            Some(n) => {
                *n = n.saturating_add(1);
                *n
            }
            None if full => return None,
            None => {
                shard.counts.insert(ip, 1);
                1
            }
        };
        (n > limit).then(|| retry_after(&shard))
    }

    /// Addresses currently tracked, for tests and metrics.
    pub fn tracked(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map_or(0, |s| s.counts.len()))
            .sum()
    }
}

fn retry_after(shard: &Shard) -> RetryAfter {
    RetryAfter(
        WINDOW
            .saturating_sub(clock::instant().saturating_duration_since(shard.started))
            .as_secs()
            .max(1),
    )
}

/// Requests counted in fixed one-minute windows of the wall clock (`12:00:00`–`12:00:59`), in
/// one atomic word: the minute in the high half, the count in the low half. Counting is one
/// compare-and-swap, without a lock or an allocation, so a key's limit costs its requests no
/// shared lock; a request over the limit only reads. At a minute's turn up to twice the limit
/// can pass in quick succession (the price of a fixed window, and what its `reset` promises).
#[derive(Debug, Default)]
pub struct MinuteWindow(AtomicU64);

/// A window's state for a limit, as the rate-limit headers state it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the window ends and the full limit is available again (1 to 60).
    pub reset_secs: u64,
}

impl MinuteWindow {
    /// Count one request made at `unix_secs` against `limit`. `Err` when the limit is used up:
    /// the request is refused and not counted.
    pub fn take(&self, limit: u32, unix_secs: i64) -> Result<Quota, Quota> {
        let minute = minute_of(unix_secs);
        let mut current = self.0.load(Ordering::Relaxed);
        loop {
            let (m, n) = in_minute(current, minute);
            if n >= limit {
                return Err(quota(limit, 0, m, unix_secs));
            }
            let next = (m << 32) | u64::from(n + 1);
            match self
                .0
                .compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Ok(quota(limit, limit - n - 1, m, unix_secs)),
                Err(seen) => current = seen,
            }
        }
    }

    /// The state at `unix_secs` without counting anything.
    pub fn peek(&self, limit: u32, unix_secs: i64) -> Quota {
        let (m, n) = in_minute(self.0.load(Ordering::Relaxed), minute_of(unix_secs));
        quota(limit, limit.saturating_sub(n), m, unix_secs)
    }

    /// Continue counting where `other` is (a key's settings changed, its window did not).
    pub fn carry_from(&self, other: &Self) {
        self.0
            .store(other.0.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

fn minute_of(unix_secs: i64) -> u64 {
    u64::try_from(unix_secs.max(0) / 60).unwrap_or(0)
}

/// The (minute, count) a window holds at `minute`: a new minute starts at zero. A clock that
/// went back keeps counting in the later minute rather than granting a fresh one.
fn in_minute(word: u64, minute: u64) -> (u64, u32) {
    let (m, n) = (word >> 32, (word & 0xffff_ffff) as u32);
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
    fn failures_past_the_limit_are_blocked_and_others_are_not() {
        let l = FailureLimiter::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(l.fail(a, 3), None);
        }
        assert!(l.blocked(a, 3).is_some_and(|r| (1..=60).contains(&r.0)));
        assert!(l.fail(a, 3).is_some());
        assert_eq!(l.blocked(b, 3), None);
    }

    #[test]
    fn memory_is_bounded_whatever_the_number_of_addresses() {
        let l = FailureLimiter::default();
        for i in 0..(SHARDS * SHARD_CAP * 2) as u32 {
            l.fail(IpAddr::from(i.to_be_bytes()), 10);
        }
        assert!(l.tracked() <= SHARDS * SHARD_CAP);
    }
}
