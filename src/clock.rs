//! The server's clock: the one place time is read for a rule (expiry, a roll's grace period,
//! sessions, rate and failure windows, the sweeper). A leaf, so that `limiter` can read it too.
//!
//! It is the system clock plus an offset that is zero unless the process was started for tests
//! (`LINKDOCK_TEST_CLOCK=1`, [`make_movable`]) and then moved forward through the control
//! socket (`clock advance <duration>`), so that a black-box test can reach an expiry without
//! waiting for it. A reading costs one relaxed atomic load beside the system clock.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How far the clock has been moved ahead of the system clock. Only ever grows: a clock that
/// went back would reopen windows and un-expire keys, which no test needs.
struct Offset {
    ms: AtomicU64,
    movable: AtomicBool,
}

static OFFSET: Offset = Offset::new();

impl Offset {
    const fn new() -> Self {
        Self {
            ms: AtomicU64::new(0),
            movable: AtomicBool::new(false),
        }
    }

    fn get(&self) -> Duration {
        Duration::from_millis(self.ms.load(Ordering::Relaxed))
    }

    fn advance(&self, by: Duration) -> Result<Duration, NotMovable> {
        if !self.movable.load(Ordering::Relaxed) {
            return Err(NotMovable);
        }
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        let before = self
            .ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |o| {
                Some(o.saturating_add(ms))
            })
            .unwrap_or_default();
        Ok(Duration::from_millis(before.saturating_add(ms)))
    }
}

/// Now, in whole seconds since 1970-01-01T00:00:00Z.
pub fn unix_secs() -> i64 {
    unix_secs_at(SystemTime::now())
}

/// A reading of the system clock (`SystemTime::now()`) as the server's time, in whole seconds
/// since 1970-01-01T00:00:00Z: for a caller that keeps the reading for something else too.
/// The redirect times itself from the read it checks expiry with, one clock read fewer on its
/// path (`redirect::answer`).
pub fn unix_secs_at(reading: SystemTime) -> i64 {
    unix_secs_ahead(reading, OFFSET.get())
}

fn unix_secs_ahead(reading: SystemTime, offset: Duration) -> i64 {
    let since = reading
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_add(offset);
    i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
}

/// Now, for measuring how long ago something happened (moved along with [`unix_secs`]).
pub fn instant() -> Instant {
    let now = Instant::now();
    now.checked_add(OFFSET.get()).unwrap_or(now)
}

/// The environment variable that, set to `1` for `serve`, lets the control socket move the clock.
pub const TEST_SWITCH: &str = "LINKDOCK_TEST_CLOCK";

/// Let [`advance`] move the clock. Called once at start, only for the test switch.
pub fn make_movable() {
    OFFSET.movable.store(true, Ordering::Relaxed);
}

/// The clock cannot be moved in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotMovable;

/// Move the clock `by` ahead; returns how far ahead of the system clock it now is.
pub fn advance(by: Duration) -> Result<Duration, NotMovable> {
    OFFSET.advance(by)
}

#[cfg(test)]
mod tests {
    use super::*;

    // On an offset of its own: the process-wide one stays still for the other unit tests.
    #[test]
    fn the_clock_moves_only_when_made_movable_and_only_forward() {
        let offset = Offset::new();
        assert_eq!(offset.advance(Duration::from_secs(60)), Err(NotMovable));
        assert_eq!(offset.get(), Duration::ZERO);
        offset.movable.store(true, Ordering::Relaxed);
        assert_eq!(
            offset.advance(Duration::from_secs(3600)),
            Ok(Duration::from_secs(3600))
        );
        assert_eq!(
            offset.advance(Duration::from_millis(1500)),
            Ok(Duration::from_millis(3_601_500))
        );
        let secs = unix_secs();
        assert!(unix_secs_ahead(SystemTime::now(), offset.get()) >= secs + 3601);
        assert_eq!(
            advance(Duration::from_secs(1)),
            Err(NotMovable),
            "off by default"
        );
    }
}
