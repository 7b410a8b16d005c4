//! Counters for `/metrics`, rendered in the Prometheus text format.
//!
//! Counters that every request touches are sharded by thread (`shard()`): each worker counts
//! in its own cache line and its own map, and `/metrics` adds the shards up. A shared counter
//! would bounce between the cores on every redirect.
//!
//! The latency histogram is hand-written for the same reason: a short link writes a bucket
//! and a sum on a shard only its thread writes, without a locked instruction (`add`), and a
//! routed request adds two additions in the shard map it already locks, where the
//! `prometheus` or `metrics` crates would add a shared registry lookup, label hashing or a
//! global atomic per observation.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Shards of per-thread state; threads beyond this share shards (still correct, just shared).
pub const SHARDS: usize = 16;

/// A shard's value alone on its cache lines (128 bytes: the pair that adjacent-line prefetch
/// pulls in together). Shards packed side by side put two threads' mutexes on one line, which
/// then bounces between their cores on every request although no lock is ever contended.
#[derive(Default)]
#[repr(align(128))]
pub struct Padded<T>(pub T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

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

/// The methods a short link answers, in `ShortLinkCounts` order.
const SHORT_LINK_METHODS: [&str; 2] = ["GET", "HEAD"];

/// Upper bounds of the latency buckets in nanoseconds, and as `le` labels: from 25 µs (a
/// redirect is answered in a few) to 10 s (an import).
const BUCKETS_NS: [u64; 18] = [
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
];
const BUCKET_LABELS: [&str; 18] = [
    "2.5e-05", "5e-05", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
    "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
];
/// Buckets with the last, `+Inf`.
const BUCKETS: usize = BUCKETS_NS.len() + 1;

/// The bucket of a duration (the last one is `+Inf`).
fn bucket(ns: u64) -> usize {
    BUCKETS_NS.partition_point(|&b| b < ns)
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The `status` label of the histogram: `2xx` … `5xx` (index 0 … 4 for 1xx … 5xx).
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

fn class(status: u16) -> u8 {
    (status / 100).clamp(1, 5) as u8 - 1
}

/// One shard of the short-link counters, alone on its cache lines: a histogram by method and
/// status. The requests counter is each histogram's count (the sum of its buckets), and the
/// `status` class of the exposition (3xx, 4xx) adds the statuses' histograms up, so that a
/// short link writes one bucket and one sum, nothing else.
#[derive(Default)]
#[repr(align(128))]
struct ShortLinkCounts {
    by_status: [[AtomicHistogram; 5]; 2],
}

/// The sum first: with it, the buckets a redirect lands in (25 and 50 µs) share its cache line.
#[derive(Default)]
struct AtomicHistogram {
    sum_ns: AtomicU64,
    buckets: [AtomicU64; BUCKETS],
}

/// Adds `n` to a short-link counter. On a shard that only this thread writes (`alone`), a
/// relaxed load and a store: no other writer can come in between, and a reader still sees a
/// whole value. `fetch_add` is a locked instruction, on x86 a full barrier that waits for the
/// store buffer to drain; three of them per redirect (count, bucket, sum) right after the
/// response was written measured as most of the histogram's cost on the redirect.
#[inline]
fn add(counter: &AtomicU64, n: u64, alone: bool) {
    if alone {
        counter.store(
            counter.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
    } else {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// This thread's short-link shard, and whether it is the shard's only writer: the first
/// `SHARDS` threads that answer a short link get one each, for good; any thread after them
/// counts in the one overflow shard (index `SHARDS`), shared, with `fetch_add`.
fn short_link_shard() -> (usize, bool) {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SLOT: usize = NEXT.fetch_add(1, Ordering::Relaxed).min(SHARDS);
    }
    let i = SLOT.with(|s| *s);
    (i, i < SHARDS)
}

/// Non-cumulative bucket counts and the sum, as kept under a shard's lock and as rendered.
#[derive(Clone, Copy, Default)]
struct Histogram {
    buckets: [u64; BUCKETS],
    sum_ns: u64,
}

impl Histogram {
    fn observe(&mut self, ns: u64) {
        self.buckets[bucket(ns)] += 1;
        self.sum_ns = self.sum_ns.saturating_add(ns);
    }

    fn add(&mut self, other: &Histogram) {
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a += b;
        }
        self.sum_ns = self.sum_ns.saturating_add(other.sum_ns);
    }
}

/// One route's series in a shard: counts by method and status, latency by method and class.
/// A few entries each, found by a scan; a new one is pushed only the first time it is seen.
#[derive(Default)]
struct RouteSeries {
    counts: Vec<(&'static str, u16, u64)>,
    latency: Vec<(&'static str, u8, Histogram)>,
}

impl RouteSeries {
    fn record(&mut self, method: &'static str, status: u16, ns: u64) {
        match self
            .counts
            .iter_mut()
            .find(|(m, s, _)| *m == method && *s == status)
        {
            Some((_, _, n)) => *n += 1,
            None => self.counts.push((method, status, 1)),
        }
        let c = class(status);
        match self
            .latency
            .iter_mut()
            .find(|(m, k, _)| *m == method && *k == c)
        {
            Some((_, _, h)) => h.observe(ns),
            None => {
                let mut h = Histogram::default();
                h.observe(ns);
                self.latency.push((method, c, h));
            }
        }
    }
}

/// The route label of a request that no route matched, set by the fallback service for the
/// request metrics (a request extension).
#[derive(Clone, Copy, Debug)]
pub struct RouteLabel(pub &'static str);

#[derive(Default)]
pub struct Metrics {
    /// Per shard: route pattern → its series. foldhash (hashbrown's default): the labels are
    /// linkdock's own patterns, and SipHash over one showed in the keyed read's profile.
    requests: [Padded<Mutex<hashbrown::HashMap<String, RouteSeries>>>; SHARDS],
    /// Per thread (`short_link_shard`): short links answered; the last is the overflow shard.
    short_links: [ShortLinkCounts; SHARDS + 1],
    auth_failures: Mutex<BTreeMap<&'static str, u64>>,
    pub config_reloads: AtomicU64,
    pub config_reload_errors: AtomicU64,
    pub sweeper_runs: AtomicU64,
    /// Passwords checked against a hash (sign-ins, password changes).
    pub password_checks: AtomicU64,
}

impl Metrics {
    /// A routed request answered: its count and its latency, under the shard's own lock.
    pub fn request(&self, route: &str, method: &'static str, status: u16, took: Duration) {
        let mut map = self.requests[shard()]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let ns = nanos(took);
        match map.get_mut(route) {
            Some(series) => series.record(method, status, ns),
            None => {
                let mut series = RouteSeries::default();
                series.record(method, status, ns);
                map.insert(route.to_owned(), series);
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

    /// A short link answered (`/{slug}`, `GET` or else `HEAD`): one bucket and one sum, on
    /// this thread's own shard without a locked instruction (`add`).
    pub fn short_link(&self, head: bool, status: u16, took: Duration) {
        let Some(i) = SHORT_LINK_STATUSES.iter().position(|s| *s == status) else {
            return;
        };
        let (shard, alone) = short_link_shard();
        let h = &self.short_links[shard].by_status[usize::from(head)][i];
        let ns = nanos(took);
        add(&h.buckets[bucket(ns)], 1, alone);
        add(&h.sum_ns, ns, alone);
    }

    /// Short links answered by method and status, and their latency by method and class
    /// (3xx, 4xx), summed over the shards.
    fn short_link_totals(&self) -> ([[u64; 5]; 2], [[Histogram; 2]; 2]) {
        let mut counts = [[0; 5]; 2];
        let mut latency = [[Histogram::default(); 2]; 2];
        for s in &self.short_links {
            for m in 0..2 {
                for (i, h) in s.by_status[m].iter().enumerate() {
                    // 404 is the only 4xx; 301, 302, 307 and 308 are 3xx.
                    let o = &mut latency[m][usize::from(SHORT_LINK_STATUSES[i] >= 400)];
                    for (b, a) in o.buckets.iter_mut().zip(&h.buckets) {
                        let n = a.load(Ordering::Relaxed);
                        *b += n;
                        counts[m][i] += n;
                    }
                    o.sum_ns = o.sum_ns.saturating_add(h.sum_ns.load(Ordering::Relaxed));
                }
            }
        }
        (counts, latency)
    }

    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition text; `keys_by_status` comes from the key index at render time.
    pub fn render(&self, keys_by_status: &[(&str, u64)]) -> String {
        let mut out = String::new();
        let mut rows: BTreeMap<(String, &str, u16), u64> = BTreeMap::new();
        let mut latency: BTreeMap<(String, &str, u8), Histogram> = BTreeMap::new();
        for shard in &self.requests {
            let map = shard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (route, series) in map.iter() {
                for (method, status, n) in &series.counts {
                    *rows.entry((route.clone(), method, *status)).or_default() += n;
                }
                for (method, class, h) in &series.latency {
                    latency
                        .entry((route.clone(), method, *class))
                        .or_default()
                        .add(h);
                }
            }
        }
        let (short, short_latency) = self.short_link_totals();
        for (m, method) in SHORT_LINK_METHODS.iter().enumerate() {
            for (status, n) in SHORT_LINK_STATUSES.iter().zip(short[m]) {
                if n > 0 {
                    rows.insert((SHORT_LINK_ROUTE.to_owned(), method, *status), n);
                }
            }
            for (c, h) in short_latency[m].iter().enumerate() {
                if h.buckets.iter().any(|&n| n > 0) {
                    // 3xx, 4xx
                    latency.insert((SHORT_LINK_ROUTE.to_owned(), method, 2 + c as u8), *h);
                }
            }
        }
        out.push_str(
            "# HELP linkdock_http_requests_total HTTP requests by route, method and status.\n",
        );
        out.push_str("# TYPE linkdock_http_requests_total counter\n");
        for ((route, method, status), n) in rows {
            let _ = writeln!(
                out,
                "linkdock_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}",
                escape(&route)
            );
        }
        out.push_str("# HELP linkdock_http_request_duration_seconds Time from the request's arrival at linkdock to its response, by route, method and status class.\n");
        out.push_str("# TYPE linkdock_http_request_duration_seconds histogram\n");
        for ((route, method, class), h) in latency {
            let labels = format!(
                "route=\"{}\",method=\"{method}\",status=\"{}\"",
                escape(&route),
                CLASSES[usize::from(class)]
            );
            let mut total = 0;
            for (i, n) in h.buckets.iter().enumerate() {
                total += n;
                let le = BUCKET_LABELS.get(i).copied().unwrap_or("+Inf");
                let _ = writeln!(
                    out,
                    "linkdock_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {total}"
                );
            }
            let _ = writeln!(
                out,
                "linkdock_http_request_duration_seconds_sum{{{labels}}} {}\nlinkdock_http_request_duration_seconds_count{{{labels}}} {total}",
                h.sum_ns as f64 / 1e9
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
        let by_status = |i: usize| short[0][i] + short[1][i];
        let _ = writeln!(
            out,
            "# HELP linkdock_redirects_total Redirects answered.\n# TYPE linkdock_redirects_total counter\nlinkdock_redirects_total {}",
            (0..4).map(by_status).sum::<u64>()
        );
        let _ = writeln!(
            out,
            "# HELP linkdock_redirect_misses_total Redirect requests for unknown or expired links.\n# TYPE linkdock_redirect_misses_total counter\nlinkdock_redirect_misses_total {}",
            by_status(4)
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
        let _ = writeln!(
            out,
            "# HELP linkdock_build_info The running build; the value is always 1.\n# TYPE linkdock_build_info gauge\nlinkdock_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        process::render(&mut out);
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The standard `process_*` metrics, read from `/proc` at render time (Linux; elsewhere, and
/// for any file that cannot be read, the metric is left out).
mod process {
    use std::fmt::Write;

    /// `USER_HZ`, the unit of `/proc` CPU times: 100 on every Linux architecture linkdock
    /// builds for (the kernel fixes it for userspace, whatever its own tick).
    const TICKS_PER_SECOND: f64 = 100.0;

    fn metric(out: &mut String, name: &str, kind: &str, help: &str, value: f64) {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    }

    /// A `kB` line of `/proc/self/status` (`VmRSS:  1234 kB`), in bytes.
    fn status_bytes(status: &str, key: &str) -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        let kb: f64 = line[key.len()..]
            .trim()
            .strip_suffix("kB")?
            .trim()
            .parse()
            .ok()?;
        Some(kb * 1024.0)
    }

    /// utime + stime (seconds) and the start time (ticks after boot) from `/proc/self/stat`.
    fn stat() -> Option<(f64, f64)> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // The command name may hold spaces and parentheses: fields are counted after the last `)`.
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // `rest` starts at field 3 (state): field n is at index n - 3.
        let num = |n: usize| fields.get(n - 3)?.parse::<f64>().ok();
        Some((
            (num(14)? + num(15)?) / TICKS_PER_SECOND,
            num(22)? / TICKS_PER_SECOND,
        ))
    }

    fn boot_time() -> Option<f64> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        stat.lines()
            .find_map(|l| l.strip_prefix("btime "))?
            .trim()
            .parse()
            .ok()
    }

    fn max_fds() -> Option<f64> {
        let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
        let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
        let soft = line["Max open files".len()..].split_whitespace().next()?;
        // `unlimited` is not a number: left out.
        soft.parse().ok()
    }

    pub fn render(out: &mut String) {
        if let Some((cpu, started)) = stat() {
            metric(
                out,
                "process_cpu_seconds_total",
                "counter",
                "Total user and system CPU time spent in seconds.",
                cpu,
            );
            if let Some(boot) = boot_time() {
                metric(
                    out,
                    "process_start_time_seconds",
                    "gauge",
                    "Start time of the process since unix epoch in seconds.",
                    boot + started,
                );
            }
        }
        if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
            if let Some(rss) = status_bytes(&status, "VmRSS:") {
                metric(
                    out,
                    "process_resident_memory_bytes",
                    "gauge",
                    "Resident memory size in bytes.",
                    rss,
                );
            }
            if let Some(vsz) = status_bytes(&status, "VmSize:") {
                metric(
                    out,
                    "process_virtual_memory_bytes",
                    "gauge",
                    "Virtual memory size in bytes.",
                    vsz,
                );
            }
        }
        if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
            // Less the one this listing holds open.
            let open = dir.count().saturating_sub(1);
            metric(
                out,
                "process_open_fds",
                "gauge",
                "Number of open file descriptors.",
                open as f64,
            );
        }
        if let Some(max) = max_fds() {
            metric(
                out,
                "process_max_fds",
                "gauge",
                "Maximum number of open file descriptors.",
                max,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_fall_in_the_first_bucket_that_holds_them() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(25_000), 0);
        assert_eq!(bucket(25_001), 1);
        assert_eq!(bucket(10_000_000_000), BUCKETS - 2);
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
        for (ns, label) in BUCKETS_NS.iter().zip(BUCKET_LABELS) {
            assert_eq!(*ns as f64 / 1e9, label.parse::<f64>().unwrap());
        }
    }

    #[test]
    fn the_histogram_is_cumulative_and_counts_what_the_counter_counts() {
        let m = Metrics::default();
        m.request("/healthz", "GET", 200, Duration::from_micros(30));
        m.request("/healthz", "GET", 200, Duration::from_secs(20));
        m.short_link(false, 302, Duration::from_micros(3));
        let text = m.render(&[]);
        for line in [
            "linkdock_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 2",
            "linkdock_http_request_duration_seconds_bucket{route=\"/healthz\",method=\"GET\",status=\"2xx\",le=\"2.5e-05\"} 0",
            "linkdock_http_request_duration_seconds_bucket{route=\"/healthz\",method=\"GET\",status=\"2xx\",le=\"5e-05\"} 1",
            "linkdock_http_request_duration_seconds_bucket{route=\"/healthz\",method=\"GET\",status=\"2xx\",le=\"10\"} 1",
            "linkdock_http_request_duration_seconds_bucket{route=\"/healthz\",method=\"GET\",status=\"2xx\",le=\"+Inf\"} 2",
            "linkdock_http_request_duration_seconds_sum{route=\"/healthz\",method=\"GET\",status=\"2xx\"} 20.00003",
            "linkdock_http_request_duration_seconds_count{route=\"/healthz\",method=\"GET\",status=\"2xx\"} 2",
            "linkdock_http_requests_total{route=\"/{slug}\",method=\"GET\",status=\"302\"} 1",
            "linkdock_http_request_duration_seconds_bucket{route=\"/{slug}\",method=\"GET\",status=\"3xx\",le=\"2.5e-05\"} 1",
            "linkdock_redirects_total 1",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }

    #[test]
    fn short_links_count_by_method_and_status_and_time_by_class() {
        let m = Metrics::default();
        m.short_link(false, 301, Duration::from_micros(3));
        m.short_link(false, 302, Duration::from_micros(30));
        m.short_link(true, 302, Duration::from_micros(3));
        m.short_link(false, 404, Duration::from_micros(3));
        let text = m.render(&[]);
        for line in [
            "linkdock_http_requests_total{route=\"/{slug}\",method=\"GET\",status=\"301\"} 1",
            "linkdock_http_requests_total{route=\"/{slug}\",method=\"GET\",status=\"302\"} 1",
            "linkdock_http_requests_total{route=\"/{slug}\",method=\"HEAD\",status=\"302\"} 1",
            "linkdock_http_requests_total{route=\"/{slug}\",method=\"GET\",status=\"404\"} 1",
            "linkdock_http_request_duration_seconds_bucket{route=\"/{slug}\",method=\"GET\",status=\"3xx\",le=\"2.5e-05\"} 1",
            "linkdock_http_request_duration_seconds_bucket{route=\"/{slug}\",method=\"GET\",status=\"3xx\",le=\"5e-05\"} 2",
            "linkdock_http_request_duration_seconds_sum{route=\"/{slug}\",method=\"GET\",status=\"3xx\"} 0.000033",
            "linkdock_http_request_duration_seconds_count{route=\"/{slug}\",method=\"GET\",status=\"3xx\"} 2",
            "linkdock_http_request_duration_seconds_count{route=\"/{slug}\",method=\"HEAD\",status=\"3xx\"} 1",
            "linkdock_http_request_duration_seconds_count{route=\"/{slug}\",method=\"GET\",status=\"4xx\"} 1",
            "linkdock_redirects_total 3",
            "linkdock_redirect_misses_total 1",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }

    /// Threads past the `SHARDS` that own a shard share the overflow shard; none of their
    /// counts may be lost there.
    #[test]
    fn more_threads_than_shards_lose_no_short_link() {
        let m = Metrics::default();
        std::thread::scope(|s| {
            for _ in 0..SHARDS + 8 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        m.short_link(false, 302, Duration::from_micros(3));
                    }
                });
            }
        });
        let (counts, latency) = m.short_link_totals();
        let n = (SHARDS as u64 + 8) * 1000;
        assert_eq!(counts[0][1], n);
        assert_eq!(latency[0][0].buckets[0], n);
        assert_eq!(latency[0][0].sum_ns, n * 3000);
    }
}
