//! Failed authentication counted per client IP in one-minute windows; past the limit the
//! address gets 429 with `Retry-After` until its window ends.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::ApiError;

const WINDOW: Duration = Duration::from_secs(60);

#[derive(Default)]
pub struct FailureLimiter {
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
    /// Number of tracked addresses: lets the success path skip the lock when nothing failed.
    tracked: AtomicUsize,
}

impl FailureLimiter {
    /// 429 when `ip` has reached `limit` failures in its current window.
    pub fn check(&self, ip: IpAddr, limit: u32) -> Result<(), ApiError> {
        if self.tracked.load(Ordering::Relaxed) == 0 {
            return Ok(());
        }
        let windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match windows.get(&ip) {
            Some((start, n)) if *n >= limit && start.elapsed() < WINDOW => {
                let left = WINDOW.saturating_sub(start.elapsed()).as_secs().max(1);
                Err(ApiError::TooManyRequests {
                    retry_after_secs: left,
                })
            }
            _ => Ok(()),
        }
    }

    pub fn record_failure(&self, ip: IpAddr) {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() > 10_000 {
            windows.retain(|_, (start, _)| start.elapsed() < WINDOW);
        }
        let w = windows.entry(ip).or_insert((Instant::now(), 0));
        if w.0.elapsed() >= WINDOW {
            *w = (Instant::now(), 0);
        }
        w.1 += 1;
        self.tracked.store(windows.len(), Ordering::Relaxed);
    }
}
