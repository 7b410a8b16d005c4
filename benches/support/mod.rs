//! Pieces the benchmark suites share: the linkdock process ([`server`]), the floor server
//! ([`floor`]), wrk runs ([`wrk`]), interleaved comparisons ([`compare`]), seeding through
//! the public API ([`seed`], [`client`]) and the markdown report ([`report`]).

pub mod client;
pub mod compare;
pub mod floor;
pub mod report;
pub mod routes;
pub mod seed;
pub mod server;
pub mod wrk;

/// How long and how often to measure: full runs for figures, quick runs (`--quick` or
/// `BENCH_QUICK=1`) to prove that a suite works end to end. `BENCH_SECS` and `BENCH_ROUNDS`
/// override either.
#[derive(Clone, Copy, Debug)]
pub struct Mode {
    pub quick: bool,
    /// Seconds per wrk run.
    pub secs: u32,
    /// Interleaved rounds per comparison; medians are taken over them.
    pub rounds: usize,
    /// Seconds of unmeasured load before a load's first measured run (0: none).
    pub warmup_secs: u32,
}

impl Mode {
    pub fn new(quick_flag: bool) -> Self {
        let quick = quick_flag || std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1");
        let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u32>().ok());
        let (secs, rounds, warmup_secs) = if quick { (1, 2, 0) } else { (5, 5, 2) };
        Self {
            quick,
            secs: env("BENCH_SECS").unwrap_or(secs).max(1),
            rounds: env("BENCH_ROUNDS").map_or(rounds, |r| r.max(1) as usize),
            warmup_secs,
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "{} mode: {} s per wrk run, {} interleaved round(s), medians",
            if self.quick { "quick (smoke)" } else { "full" },
            self.secs,
            self.rounds
        )
    }
}
