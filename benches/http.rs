//! linkdock's benchmark harness: the real release binary in its own process, against a floor
//! (a bare actix-web handler, also in its own process), measured with wrk in interleaved
//! rounds on the same machine.
//!
//!     cargo bench --bench http                  # the `hot` suite (needs wrk)
//!     cargo bench --bench http -- limits        # or: hot limits import scale keys keyed all
//!     cargo bench --bench http -- all --quick   # every suite, short runs (or BENCH_QUICK=1)
//!
//! `BENCH_SECS` and `BENCH_ROUNDS` override the seconds per wrk run and the rounds.
//! Each suite prints markdown tables and appends them to `target/bench/results.md` with the
//! date and the machine. PASS/FAIL against each target is informative: nothing here fails a
//! build, and no test suite holds a timed assertion.

mod suites;
mod support;

use std::path::Path;
use std::process::ExitCode;

use support::{floor, wrk, Mode};

fn usage() -> String {
    let mut out = String::from(
        "usage: cargo bench --bench http -- [SUITE...] [--quick]\n\nsuites (default: hot):\n",
    );
    for s in &suites::ALL {
        out.push_str(&format!("  {:<7} {}\n", s.name, s.about));
    }
    out.push_str("  all     every suite above, in this order\n");
    out
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(floor::ARG) {
        let Some(port_file) = args.get(1) else {
            return ExitCode::FAILURE;
        };
        floor::serve(Path::new(port_file));
        return ExitCode::SUCCESS;
    }
    let mut quick = false;
    let mut chosen: Vec<&suites::Suite> = Vec::new();
    for arg in &args {
        match arg.as_str() {
            // cargo bench passes --bench to every bench binary.
            "--bench" => {}
            "--quick" => quick = true,
            "-h" | "--help" => {
                print!("{}", usage());
                return ExitCode::SUCCESS;
            }
            "all" => chosen.extend(suites::ALL.iter()),
            name => match suites::ALL.iter().find(|s| s.name == name) {
                Some(s) => chosen.push(s),
                None => {
                    eprint!("unknown suite or flag {name:?}\n\n{}", usage());
                    return ExitCode::from(2);
                }
            },
        }
    }
    if chosen.is_empty() {
        chosen.push(&suites::ALL[0]);
    }
    if chosen.iter().any(|s| s.needs_wrk) {
        if let Err(e) = wrk::check_installed() {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    }
    let mode = Mode::new(quick);
    for suite in chosen {
        eprintln!("== {}: {}", suite.name, suite.about);
        (suite.run)(&mode);
    }
    ExitCode::SUCCESS
}
