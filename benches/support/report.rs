//! The markdown report: each suite prints its tables on stdout as it goes and appends them,
//! under a heading with the date and the machine, to `target/bench/results.md`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use super::Mode;

/// A markdown table.
pub struct Table {
    head: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(head: &[&str]) -> Self {
        Self {
            head: head.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn render(&self) -> String {
        let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
        let mut out = line(&self.head);
        out.push_str(&line(&vec!["---".to_owned(); self.head.len()]));
        for r in &self.rows {
            out.push_str(&line(r));
        }
        out
    }
}

/// One suite's report.
pub struct Report {
    text: String,
}

impl Report {
    /// Start a suite's report: a heading, the date, the machine and the mode.
    pub fn start(suite: &str, title: &str, mode: &Mode) -> Self {
        let mut r = Self {
            text: String::new(),
        };
        r.line(format!("## `{suite}`: {title}"));
        r.line(String::new());
        r.line(format!(
            "{} · {} · {}",
            now_utc(),
            machine(),
            git_revision()
        ));
        r.line(String::new());
        r.line(format!(
            "{}; wrk -t2 on loopback shares the cores with the servers.",
            mode.describe()
        ));
        if mode.quick {
            r.line("**Smoke run: these figures are not final.**".to_owned());
        }
        r.line(String::new());
        r
    }

    /// A paragraph line (printed at once).
    pub fn line(&mut self, text: String) {
        println!("{text}");
        self.text.push_str(&text);
        self.text.push('\n');
    }

    pub fn table(&mut self, table: &Table) {
        let text = table.render();
        print!("{text}");
        println!();
        self.text.push_str(&text);
        self.text.push('\n');
    }

    /// Progress for the terminal only (stderr), not part of the report.
    pub fn progress(&self, text: &str) {
        eprintln!("… {text}");
    }

    /// Append the report to `target/bench/results.md`.
    pub fn save(self) {
        let path = results_path();
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| writeln!(f, "{}", self.text));
        match written {
            Ok(()) => eprintln!("(appended to {})", path.display()),
            Err(e) => eprintln!("cannot append to {}: {e}", path.display()),
        }
    }
}

fn results_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    );
    target.join("bench").join("results.md")
}

fn now_utc() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute()
    )
}

/// `nproc 2 · AMD EPYC · Linux 6.1 · load 1.20 before start`.
pub fn machine() -> String {
    let nproc = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut out = format!("nproc {nproc} · {cpu} · Linux {}", kernel.trim());
    if let Some(one_minute) = load.split_whitespace().next() {
        let _ = write!(out, " · load average {one_minute} at start");
    }
    out
}

fn git_revision() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(rev) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            format!("commit {rev}{}", if dirty { " (modified)" } else { "" })
        }
        None => "commit unknown".into(),
    }
}

/// Figures as the tables show them.
pub fn rps(v: f64) -> String {
    format!("{v:.0}")
}

pub fn ms(v: f64) -> String {
    if v.is_nan() {
        "—".into()
    } else if v < 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.1}")
    }
}

pub fn secs(d: std::time::Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

pub fn mib_of_kib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
