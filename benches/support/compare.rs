//! Comparisons that survive a noisy machine: interleaved rounds and medians.
//!
//! - [`run_duels`]: for each round, each duel runs its subject and its baseline back to back
//!   (the order alternates between rounds), so that a slow moment of the machine hits both.
//! - [`run_contention`]: victims measured alone, then while a flood runs, round after round.
//! - [`Target`]: the goal a figure is judged against; the verdict is informative only.

use super::report::{self, Table};
use super::wrk::{Load, Stats};
use super::Mode;

/// A goal for a figure.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    AtLeast(f64),
    AtMost(f64),
    /// Reported, not judged.
    None,
}

impl Target {
    pub fn describe(&self, unit: &str) -> String {
        match self {
            Self::AtLeast(v) => format!("≥ {}{unit}", trim(*v)),
            Self::AtMost(v) => format!("≤ {}{unit}", trim(*v)),
            Self::None => "—".into(),
        }
    }

    pub fn verdict(&self, value: f64) -> &'static str {
        let pass = match self {
            Self::AtLeast(t) => value >= *t,
            Self::AtMost(t) => value <= *t,
            Self::None => return "—",
        };
        if value.is_nan() {
            "—"
        } else if pass {
            "PASS"
        } else {
            "FAIL"
        }
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.retain(|x| !x.is_nan());
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(f64::total_cmp);
    let mid = xs.len() / 2;
    if xs.len().is_multiple_of(2) {
        (xs[mid - 1] + xs[mid]) / 2.0
    } else {
        xs[mid]
    }
}

/// Medians of several runs of one load.
#[derive(Clone, Copy, Debug)]
pub struct Medians {
    pub rps: f64,
    pub p99_ms: f64,
}

impl Medians {
    pub fn of(runs: &[Stats]) -> Self {
        Self {
            rps: median(runs.iter().map(|s| s.rps).collect()),
            p99_ms: median(runs.iter().map(|s| s.p99_ms).collect()),
        }
    }
}

/// Load a server unmeasured for a moment, so that the first measured run is not a cold one.
fn warm_up(mode: &Mode, load: &Load) {
    if mode.warmup_secs > 0 {
        load.run(mode.warmup_secs);
    }
}

/// One load measured `mode.rounds` times.
pub fn measure(mode: &Mode, load: &Load) -> Medians {
    load.preflight();
    warm_up(mode, load);
    let runs: Vec<Stats> = (0..mode.rounds).map(|_| load.run(mode.secs)).collect();
    Medians::of(&runs)
}

/// A subject against its baseline (linkdock against its floor route, say).
pub struct Duel {
    pub name: String,
    pub subject: Load,
    pub baseline: Load,
    /// For `subject req/s ÷ baseline req/s`.
    pub target: Target,
}

pub struct DuelResult {
    pub name: String,
    pub subject: Medians,
    pub baseline: Medians,
    pub target: Target,
}

impl DuelResult {
    /// Ratio of the medians.
    pub fn ratio(&self) -> f64 {
        self.subject.rps / self.baseline.rps
    }

    pub fn verdict(&self) -> &'static str {
        self.target.verdict(self.ratio())
    }
}

/// Interleaved rounds over every duel: subject, baseline, next duel's subject, baseline, …;
/// odd rounds run the baseline first.
pub fn run_duels(mode: &Mode, duels: &[Duel]) -> Vec<DuelResult> {
    for d in duels {
        d.subject.preflight();
        d.baseline.preflight();
        warm_up(mode, &d.subject);
        warm_up(mode, &d.baseline);
    }
    let mut runs: Vec<(Vec<Stats>, Vec<Stats>)> =
        duels.iter().map(|_| Default::default()).collect();
    for round in 0..mode.rounds {
        eprintln!("… round {} of {}", round + 1, mode.rounds);
        for (d, (subject, baseline)) in duels.iter().zip(&mut runs) {
            if round.is_multiple_of(2) {
                subject.push(d.subject.run(mode.secs));
                baseline.push(d.baseline.run(mode.secs));
            } else {
                baseline.push(d.baseline.run(mode.secs));
                subject.push(d.subject.run(mode.secs));
            }
        }
    }
    duels
        .iter()
        .zip(runs)
        .map(|(d, (subject, baseline))| DuelResult {
            name: d.name.clone(),
            subject: Medians::of(&subject),
            baseline: Medians::of(&baseline),
            target: d.target,
        })
        .collect()
}

/// The duels as a table: `subject` and `baseline` name the two columns' servers.
pub fn duel_table(results: &[DuelResult], subject: &str, baseline: &str) -> Table {
    let mut t = Table::new(&[
        "scenario",
        &format!("{subject} req/s"),
        &format!("{subject} p99 ms"),
        &format!("{baseline} req/s"),
        &format!("{baseline} p99 ms"),
        "ratio",
        "target",
        "verdict",
    ]);
    for r in results {
        t.row(vec![
            r.name.clone(),
            report::rps(r.subject.rps),
            report::ms(r.subject.p99_ms),
            report::rps(r.baseline.rps),
            report::ms(r.baseline.p99_ms),
            format!("{:.3}", r.ratio()),
            r.target.describe(""),
            r.verdict().to_owned(),
        ]);
    }
    t
}

/// Victims measured alone and during a flood.
pub struct Contention {
    pub victims: Vec<Load>,
    pub flood: Load,
    /// For `during ÷ alone` of each victim.
    pub target: Target,
}

pub struct VictimResult {
    pub label: String,
    pub alone: Medians,
    pub during: Medians,
}

impl VictimResult {
    pub fn ratio(&self) -> f64 {
        self.during.rps / self.alone.rps
    }
}

pub struct ContentionResult {
    pub victims: Vec<VictimResult>,
    pub flood: Vec<Stats>,
    pub target: Target,
}

/// Seconds of flood before the victims are measured, and of quiet after it.
const SETTLE_SECS: u32 = 2;

/// Each round: every victim alone, then the flood starts and, after it has settled, every
/// victim again; then a quiet pause so that queued flood work drains before the next round.
pub fn run_contention(mode: &Mode, c: &Contention) -> ContentionResult {
    for v in &c.victims {
        v.preflight();
        warm_up(mode, v);
    }
    let n = c.victims.len();
    let mut alone: Vec<Vec<Stats>> = vec![Vec::new(); n];
    let mut during: Vec<Vec<Stats>> = vec![Vec::new(); n];
    let mut flood = Vec::new();
    let flood_secs = SETTLE_SECS + mode.secs * n as u32 + 1;
    for round in 0..mode.rounds {
        eprintln!("… round {} of {}", round + 1, mode.rounds);
        for (v, runs) in c.victims.iter().zip(&mut alone) {
            runs.push(v.run(mode.secs));
        }
        let running = c.flood.spawn(flood_secs);
        std::thread::sleep(std::time::Duration::from_secs(SETTLE_SECS.into()));
        for (v, runs) in c.victims.iter().zip(&mut during) {
            runs.push(v.run(mode.secs));
        }
        flood.push(running.finish());
        std::thread::sleep(std::time::Duration::from_secs(SETTLE_SECS.into()));
    }
    ContentionResult {
        victims: c
            .victims
            .iter()
            .zip(alone.iter().zip(&during))
            .map(|(v, (a, d))| VictimResult {
                label: v.label.clone(),
                alone: Medians::of(a),
                during: Medians::of(d),
            })
            .collect(),
        flood,
        target: c.target,
    }
}

impl ContentionResult {
    pub fn table(&self) -> Table {
        let mut t = Table::new(&[
            "victim",
            "alone req/s",
            "alone p99 ms",
            "during flood req/s",
            "during flood p99 ms",
            "during ÷ alone",
            "target",
            "verdict",
        ]);
        for v in &self.victims {
            t.row(vec![
                v.label.clone(),
                report::rps(v.alone.rps),
                report::ms(v.alone.p99_ms),
                report::rps(v.during.rps),
                report::ms(v.during.p99_ms),
                format!("{:.3}", v.ratio()),
                self.target.describe(""),
                self.target.verdict(v.ratio()).to_owned(),
            ]);
        }
        t
    }

    /// The flood's own figures: median req/s, and its answers over every round.
    pub fn flood_summary(&self) -> String {
        let requests: u64 = self.flood.iter().map(|s| s.requests).sum();
        let errors: u64 = self.flood.iter().map(|s| s.errors).sum();
        let timeouts: u64 = self.flood.iter().map(|s| s.socket_errors).sum();
        format!(
            "flood: median {} req/s; {} requests in all, {} answered ≥ 400, {} socket errors/timeouts",
            report::rps(median(self.flood.iter().map(|s| s.rps).collect())),
            report::count(requests),
            report::count(errors),
            report::count(timeouts)
        )
    }
}
