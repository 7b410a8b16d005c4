//! `import` (issue 10.2): the peak memory the largest allowed import adds to the server,
//! whatever its rows contain. A fresh server per case: its RSS once idle, then its peak RSS
//! (VmHWM, reset just before) while it takes a file of exactly `import.max_bytes` (default).

use crate::support::compare::Target;
use crate::support::report::{self, Report, Table};
use crate::support::seed::{self, Csv, HOT_HOST};
use crate::support::server::{Linkdock, Setup};
use crate::support::Mode;

/// The default `import.max_bytes`.
const MAX_BYTES: usize = 52_428_800;

struct Case {
    name: &'static str,
    csv: Vec<u8>,
    rows: usize,
    default_domain: Option<&'static str>,
}

fn cases() -> Vec<Case> {
    let (failing, failing_rows) = seed::failing_csv(MAX_BYTES);
    let mut valid = Csv::new();
    valid.fill_to(MAX_BYTES, &seed::hosts(10));
    let valid_rows = valid.rows();
    vec![
        Case {
            name: "every row fails (`x`)",
            csv: failing,
            rows: failing_rows,
            default_domain: Some(HOT_HOST),
        },
        Case {
            name: "every row valid",
            csv: valid.into_bytes(),
            rows: valid_rows,
            default_domain: None,
        },
    ]
}

pub fn run(mode: &Mode) {
    let mut r = Report::start(
        "import",
        "memory added by the largest allowed import (issue 10.2)",
        mode,
    );
    r.line(format!(
        "Each case: a fresh server (default `import.max_bytes` = {} bytes), ten domains and a key made through the API; RSS once idle, then VmHWM reset and one `POST /api/v1/links/import` of a file just under the limit, sent with the key.",
        report::count(MAX_BYTES as u64)
    ));
    r.line(String::new());
    let target = Target::AtMost(128.0);
    let mut t = Table::new(&[
        "file",
        "bytes",
        "rows",
        "created / failed",
        "time",
        "rows/s",
        "RSS before",
        "peak during",
        "added peak",
        "RSS after restart",
        "peak − RSS after restart",
        "target",
        "verdict",
    ]);
    for case in cases() {
        r.progress(&format!("import: {}", case.name));
        let mut ld = Linkdock::start(&Setup::default());
        let seeded = seed::standard(&ld, 0);
        let key_api = ld.with_key(&seeded.key);
        let bytes = case.csv.len() as u64;
        let before = ld.idle_memory();
        ld.reset_peak();
        let imported = seed::import(&key_api, case.csv, case.default_domain);
        let after = ld.memory();
        let added_mib = after.peak_kib.saturating_sub(before.rss_kib) as f64 / 1024.0;
        // What the imported links need by themselves: the same data, loaded at start.
        ld.restart();
        let settled = ld.idle_memory();
        t.row(vec![
            case.name.into(),
            report::count(bytes),
            report::count(case.rows as u64),
            format!(
                "{} / {}",
                report::count(imported.field("created")),
                report::count(imported.field("failed"))
            ),
            report::secs(imported.elapsed),
            report::count((case.rows as f64 / imported.elapsed.as_secs_f64()) as u64),
            report::mib_of_kib(before.rss_kib),
            report::mib_of_kib(after.peak_kib),
            format!("{added_mib:.1} MiB"),
            report::mib_of_kib(settled.rss_kib),
            report::mib_of_kib(after.peak_kib.saturating_sub(settled.rss_kib)),
            target.describe(" MiB"),
            target.verdict(added_mib).to_owned(),
        ]);
    }
    r.table(&t);
    r.line("Added peak = peak RSS during the import − RSS before it; the verdict judges it. For valid rows it includes the new links themselves (the in-memory catalog), which any way of adding them costs: RSS after restart is the same data loaded at start, so peak − RSS after restart is the import's own share.".into());
    r.line(String::new());
    r.save();
}
