//! Counting failures per client address, for the failed-auth and sign-in limits. A leaf: it
//! knows nothing of keys or HTTP.
//!
//! Only failures are ever counted or looked up, so a request that authenticates never touches
//! the limiter. The table is split into shards, each behind its own lock and holding at most
//! `SHARD_CAP` addresses, so a flood of failures from many addresses neither serialises the
//! server on one lock nor grows memory without bound; each shard forgets its counts at the end
//! of its one-minute window, all at once, without scanning.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
        let now = Instant::now();
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
        if shard.started.elapsed() >= WINDOW {
            shard.started = Instant::now();
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
            .saturating_sub(shard.started.elapsed())
            .as_secs()
            .max(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
