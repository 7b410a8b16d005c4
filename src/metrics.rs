//! Counters for `/metrics`, rendered in the Prometheus text format.
//!
//! Counters that every request touches are sharded by thread (`shard()`): each worker counts
//! in its own cache line and its own map, and `/metrics` adds the shards up. A shared counter
//! would bounce between the cores on every redirect.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Shards of per-thread state; threads beyond this share shards (still correct, just shared).
pub const SHARDS: usize = 16;

/// This thread's shard, handed out round-robin on first use.
pub fn shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    SHARD.with(|s| *s)
}

/// The route label of every short link in `/metrics`.
pub const SHORT_LINK_ROUTE: &str = "/{slug}";

/// The statuses a short link answers with, in `ShortLinkCounts` order.
pub const SHORT_LINK_STATUSES: [u16; 5] = [301, 302, 307, 308, 404];

/// One shard of the short-link counters, alone on its cache line.
#[derive(Default)]
#[repr(align(128))]
struct ShortLinkCounts([AtomicU64; 5]);

/// The route label of a request that no route matched, set by the fallback service for the
/// request metrics (a request extension).
#[derive(Clone, Copy, Debug)]
pub struct RouteLabel(pub &'static str);

#[derive(Default)]
pub struct Metrics {
    /// Per shard: route pattern → status → count.
    requests: [Mutex<HashMap<String, HashMap<u16, u64>>>; SHARDS],
    /// Per shard: short links answered, by status.
    short_links: [ShortLinkCounts; SHARDS],
    auth_failures: Mutex<BTreeMap<&'static str, u64>>,
    pub config_reloads: AtomicU64,
    pub config_reload_errors: AtomicU64,
    pub sweeper_runs: AtomicU64,
    /// Passwords checked against a hash (sign-ins, password changes).
    pub password_checks: AtomicU64,
}

impl Metrics {
    pub fn request(&self, route: &str, status: u16) {
        let mut map = self.requests[shard()]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match map.get_mut(route) {
            Some(by_status) => *by_status.entry(status).or_default() += 1,
            None => {
                map.insert(route.to_owned(), HashMap::from([(status, 1)]));
            }
        }
    }

    pub fn auth_failure(&self, reason: &'static str) {
        *self
            .auth_failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(reason)
            .or_default() += 1;
    }

    /// A short link answered (`/{slug}`): one uncontended increment.
    pub fn short_link(&self, status: u16) {
        if let Some(i) = SHORT_LINK_STATUSES.iter().position(|s| *s == status) {
            self.short_links[shard()].0[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Short links answered with a redirect and with a 404, summed over the shards.
    fn short_link_totals(&self) -> [u64; 5] {
        let mut out = [0; 5];
        for s in &self.short_links {
            for (o, c) in out.iter_mut().zip(&s.0) {
                *o += c.load(Ordering::Relaxed);
            }
        }
        out
    }

    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition text; `keys_by_status` comes from the key index at render time.
    pub fn render(&self, keys_by_status: &[(&str, u64)]) -> String {
        let mut out = String::new();
        out.push_str("# HELP linkdock_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE linkdock_http_requests_total counter\n");
        let mut rows: BTreeMap<(String, u16), u64> = BTreeMap::new();
        for shard in &self.requests {
            let map = shard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (route, by) in map.iter() {
                for (status, n) in by {
                    *rows.entry((route.clone(), *status)).or_default() += n;
                }
            }
        }
        let short = self.short_link_totals();
        for (status, n) in SHORT_LINK_STATUSES.iter().zip(short) {
            if n > 0 {
                *rows
                    .entry((SHORT_LINK_ROUTE.to_owned(), *status))
                    .or_default() += n;
            }
        }
        for ((route, status), n) in rows {
            let _ = writeln!(
                out,
                "linkdock_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                escape(&route)
            );
        }
        out.push_str("# HELP linkdock_auth_failures_total Failed authentications by reason.\n");
        out.push_str("# TYPE linkdock_auth_failures_total counter\n");
        for (reason, n) in self
            .auth_failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                out,
                "linkdock_auth_failures_total{{reason=\"{reason}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP linkdock_redirects_total Redirects answered.\n# TYPE linkdock_redirects_total counter\nlinkdock_redirects_total {}",
            short[..4].iter().sum::<u64>()
        );
        let _ = writeln!(
            out,
            "# HELP linkdock_redirect_misses_total Redirect requests for unknown or expired links.\n# TYPE linkdock_redirect_misses_total counter\nlinkdock_redirect_misses_total {}",
            short[4]
        );
        let simple = [
            (
                "linkdock_config_reloads_total",
                "Configuration reloads applied.",
                &self.config_reloads,
            ),
            (
                "linkdock_config_reload_errors_total",
                "Configuration reloads refused.",
                &self.config_reload_errors,
            ),
            (
                "linkdock_sweeper_runs_total",
                "Runs of the key-expiry sweeper.",
                &self.sweeper_runs,
            ),
            (
                "linkdock_password_checks_total",
                "Passwords checked against a hash (sign-ins, password changes).",
                &self.password_checks,
            ),
        ];
        for (name, help, counter) in simple {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        out.push_str(
            "# HELP linkdock_api_keys API keys by status.\n# TYPE linkdock_api_keys gauge\n",
        );
        for (status, n) in keys_by_status {
            let _ = writeln!(out, "linkdock_api_keys{{status=\"{status}\"}} {n}");
        }
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
