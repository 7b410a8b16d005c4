//! Counters for `/metrics`, rendered in the Prometheus text format.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The route label of a request that no route matched, set by the fallback service for the
/// request metrics (a request extension).
#[derive(Clone, Copy, Debug)]
pub struct RouteLabel(pub &'static str);

#[derive(Default)]
pub struct Metrics {
    /// route pattern → status → count
    requests: Mutex<HashMap<String, HashMap<u16, u64>>>,
    auth_failures: Mutex<BTreeMap<&'static str, u64>>,
    pub redirects: AtomicU64,
    pub redirect_misses: AtomicU64,
    pub config_reloads: AtomicU64,
    pub config_reload_errors: AtomicU64,
    pub sweeper_runs: AtomicU64,
}

impl Metrics {
    pub fn request(&self, route: &str, status: u16) {
        let mut map = self
            .requests
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

    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition text; `keys_by_status` comes from the key index at render time.
    pub fn render(&self, keys_by_status: &[(&str, u64)]) -> String {
        let mut out = String::new();
        out.push_str("# HELP linkdock_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE linkdock_http_requests_total counter\n");
        {
            let map = self
                .requests
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut rows: Vec<_> = map
                .iter()
                .flat_map(|(route, by)| by.iter().map(move |(s, n)| (route.as_str(), *s, *n)))
                .collect();
            rows.sort_unstable();
            for (route, status, n) in rows {
                let _ = writeln!(
                    out,
                    "linkdock_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
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
        let simple = [
            (
                "linkdock_redirects_total",
                "Redirects answered.",
                &self.redirects,
            ),
            (
                "linkdock_redirect_misses_total",
                "Redirect requests for unknown or expired links.",
                &self.redirect_misses,
            ),
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
