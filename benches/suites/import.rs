//! `import` (issue 10.2): the peak memory the largest allowed import adds to the server,
//! whatever its rows contain. A fresh server per case: its RSS once idle, then its peak RSS
//! (VmHWM, reset just before) while it takes a file of exactly `import.max_bytes` (default).
//! Then four such imports at once (issue: trust round three, item 2), with
//! `import.max_concurrent = 4` so that all four really run together.

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
    concurrent(&mut r, target);
    r.line("Added peak = peak RSS during the import − RSS before it; the verdict judges it. For valid rows it includes the new links themselves (the in-memory catalog), which any way of adding them costs: RSS after restart is the same data loaded at start, so peak − RSS after restart is the import's own share.".into());
    r.line(String::new());
    r.save();
}

/// A file of one cell as large as the file may be: a 50 MB destination.
fn one_cell_csv(max: usize) -> Vec<u8> {
    let mut out = b"destination_url\nhttps://example.com/".to_vec();
    out.resize(max - 1, b'a');
    out.push(b'\n');
    out
}

/// Rows whose three cells are each as long as a cell may be (8 KiB): the most one record
/// can hold. The rows fail (the values are too long), so nothing is added to the catalog.
fn bound_cells_csv(max: usize) -> (Vec<u8>, usize) {
    const CELL: usize = 8 * 1024;
    let mut row = Vec::with_capacity(3 * CELL + 3);
    row.resize(CELL, b's');
    row.extend_from_slice(b",https://example.com/");
    row.resize(2 * CELL + 1, b'd');
    row.push(b',');
    row.resize(3 * CELL + 2, b't');
    row.push(b'\n');
    let mut out = b"slug,destination_url,title\n".to_vec();
    let mut rows = 0;
    while out.len() + row.len() <= max {
        out.extend_from_slice(&row);
        rows += 1;
    }
    (out, rows)
}

/// `POST /api/v1/links/import` from its own thread and runtime, so that the four uploads
/// really overlap: (status, body).
fn import_on_own_thread(
    base: String,
    key: String,
    csv: Vec<u8>,
    domain: Option<&'static str>,
) -> std::thread::JoinHandle<(u16, serde_json::Value)> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        rt.block_on(async move {
            let path = match domain {
                Some(d) => format!("{base}/api/v1/links/import?domain={d}"),
                None => format!("{base}/api/v1/links/import"),
            };
            let part = reqwest::multipart::Part::bytes(csv)
                .file_name("links.csv")
                .mime_str("text/csv")
                .expect("mime type");
            let res = reqwest::Client::new()
                .post(path)
                .bearer_auth(key)
                .multipart(reqwest::multipart::Form::new().part("file", part))
                .send()
                .await
                .expect("import sent");
            let status = res.status().as_u16();
            (status, res.json().await.unwrap_or_default())
        })
    })
}

/// One import: the CSV file and the `?domain=` it is sent with (none: the file names it).
type Upload = (Vec<u8>, Option<&'static str>);

/// Four imports of `import.max_bytes` at once, on a fresh server that lets all four run.
fn concurrent(r: &mut Report, target: Target) {
    let one_cell = one_cell_csv(MAX_BYTES);
    let (failing, _) = seed::failing_csv(MAX_BYTES);
    let (bound, _) = bound_cells_csv(MAX_BYTES);
    let mut valid = Csv::new();
    valid.fill_to(MAX_BYTES, &seed::hosts(10));
    let valid = valid.into_bytes();
    let cases: [(&str, Vec<Upload>); 3] = [
        (
            "4 × one 50 MB cell",
            vec![(one_cell.clone(), Some(HOT_HOST)); 4],
        ),
        (
            "4 × rows of 8 KiB cells (the most a record holds)",
            vec![(bound.clone(), Some(HOT_HOST)); 4],
        ),
        (
            "one each: a 50 MB cell, 8 KiB cells, every row fails, every row valid",
            vec![
                (one_cell, Some(HOT_HOST)),
                (bound, Some(HOT_HOST)),
                (failing, Some(HOT_HOST)),
                (valid, None),
            ],
        ),
    ];
    r.line(String::new());
    r.line("Four imports at once: a fresh server with `import.max_concurrent = 4` (the default is 2, so the limit is not what keeps this small), each file just under `import.max_bytes`, sent from four threads with the key; VmHWM reset before.".into());
    r.line(String::new());
    let mut t = Table::new(&[
        "files",
        "answers",
        "created / failed",
        "time",
        "RSS before",
        "peak during",
        "added peak",
        "RSS after restart",
        "peak − RSS after restart",
        "target",
        "verdict",
    ]);
    for (name, files) in cases {
        r.progress(&format!("import: {name}"));
        let mut ld = Linkdock::start(&Setup {
            import_max_concurrent: Some(4),
            ..Setup::default()
        });
        let seeded = seed::standard(&ld, 0);
        let before = ld.idle_memory();
        ld.reset_peak();
        let started = std::time::Instant::now();
        let handles: Vec<_> = files
            .into_iter()
            .map(|(csv, domain)| import_on_own_thread(ld.base(), seeded.key.clone(), csv, domain))
            .collect();
        let answers: Vec<(u16, serde_json::Value)> = handles
            .into_iter()
            .map(|h| h.join().expect("import thread"))
            .collect();
        let elapsed = started.elapsed();
        let after = ld.memory();
        let sum = |field: &str| {
            answers
                .iter()
                .filter_map(|(_, v)| v[field].as_u64())
                .sum::<u64>()
        };
        let (created, failed) = (sum("created"), sum("failed"));
        let statuses: Vec<String> = answers.iter().map(|(s, _)| s.to_string()).collect();
        // The links themselves, loaded at start: what the catalog holds by design.
        ld.restart();
        let settled = ld.idle_memory();
        let added_mib = after.peak_kib.saturating_sub(before.rss_kib) as f64 / 1024.0;
        let own_mib = after
            .peak_kib
            .saturating_sub(settled.rss_kib.max(before.rss_kib)) as f64
            / 1024.0;
        // Valid rows add links, which the catalog keeps by design: judge the import's own share.
        let judged = if created > 0 { own_mib } else { added_mib };
        t.row(vec![
            name.into(),
            statuses.join(" "),
            format!("{} / {}", report::count(created), report::count(failed)),
            report::secs(elapsed),
            report::mib_of_kib(before.rss_kib),
            report::mib_of_kib(after.peak_kib),
            format!("{added_mib:.1} MiB"),
            report::mib_of_kib(settled.rss_kib),
            format!("{own_mib:.1} MiB"),
            target.describe(" MiB"),
            target.verdict(judged).to_owned(),
        ]);
    }
    r.table(&t);
    r.line("The verdict judges the added peak, or, where rows were valid, the peak − RSS after restart (the new links stay in the in-memory catalog by design).".into());
}
