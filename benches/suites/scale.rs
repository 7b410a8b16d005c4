//! `scale` (issues 13.2–13.4): what 0, 100,000 and 1,000,000 links cost. Per size, a fresh
//! server: the links imported through the API (ten domains, realistic rows), a restart (start
//! time to the first good `/healthz`, RSS once idle, file size), the redirect against the
//! floor, search p99, and a full streamed export with the server's peak RSS. Then the
//! cost-growth table. Quick mode stops at 100,000 links.

use std::time::Duration;

use crate::support::compare::{duel_table, measure, run_duels, Medians, Target};
use crate::support::floor::Floor;
use crate::support::report::{self, Report, Table};
use crate::support::seed::{self, Csv, MANY_TERM};
use crate::support::server::{Linkdock, Setup};
use crate::support::wrk::Load;
use crate::support::{routes, Mode};

/// Large enough for the 1,000,000-link file.
const IMPORT_MAX_BYTES: u64 = 1 << 30;
/// Connections for the search runs.
const SEARCH_CONNECTIONS: u32 = 4;

/// The targets of issue 13.2–13.4, set for 1,000,000 links and judged at every size.
struct Targets;

impl Targets {
    const RSS_MIB: Target = Target::AtMost(400.0);
    const START_S: Target = Target::AtMost(1.5);
    const SEARCH_P99_MS: Target = Target::AtMost(30.0);
    const IMPORT_S: Target = Target::AtMost(20.0);
    const IMPORT_OVERHEAD_MIB: Target = Target::AtMost(128.0);
    const EXPORT_S: Target = Target::AtMost(5.0);
    const BYTES_PER_LINK: Target = Target::AtMost(400.0);
    /// Redirect ratio: within this of the ratio with no links.
    const RATIO_DRIFT: f64 = 0.05;
}

/// One size's figures, for the growth table.
struct Figures {
    links: usize,
    import: Option<Duration>,
    start: Duration,
    rss_kib: u64,
    start_peak_kib: u64,
    db_bytes: u64,
    redirect_ratio: f64,
    search_one: Medians,
    search_many: Medians,
    export: Duration,
}

pub fn run(mode: &Mode) {
    let sizes: &[usize] = if mode.quick {
        &[0, 100_000]
    } else {
        &[0, 100_000, 1_000_000]
    };
    let mut r = Report::start(
        "scale",
        "cost growth with the number of links (issues 13.2–13.4)",
        mode,
    );
    r.line(format!(
        "Sizes: {}. Links over 10 domains, imported through `POST /api/v1/links/import` (rows `domain,slug,destination_url,title,tags`: 7-character slugs, ~45-character destinations, a three-word title, two tags), plus the hot link. Targets are those set for 1,000,000 links, judged at every size.",
        sizes.iter().map(|n| report::count(*n as u64)).collect::<Vec<_>>().join(", ")
    ));
    r.line(String::new());
    let floor = Floor::start();
    let mut all: Vec<Figures> = Vec::new();
    for &n in sizes {
        let base_ratio = all.first().map(|f| f.redirect_ratio);
        all.push(one_size(&mut r, mode, &floor, n, base_ratio));
    }
    growth_table(&mut r, &all);
    r.save();
}

/// A row of a per-size table: what, the figure, and its verdict.
fn judged(t: &mut Table, what: &str, shown: String, target: Target, unit: &str, value: f64) {
    t.row(vec![
        what.to_owned(),
        shown,
        target.describe(unit),
        target.verdict(value).to_owned(),
    ]);
}

fn search_load(ld: &Linkdock, key: &str, term: &str) -> Load {
    Load::get(
        &format!("search {term}"),
        ld.url(&format!("/api/v1/links?search={term}&limit=50")),
    )
    .bearer(key)
    .connections(SEARCH_CONNECTIONS)
}

fn one_size(
    r: &mut Report,
    mode: &Mode,
    floor: &Floor,
    n: usize,
    base_ratio: Option<f64>,
) -> Figures {
    let size = report::count(n as u64);
    r.progress(&format!("{size} links: generating, starting, importing"));
    let mut ld = Linkdock::start(&Setup {
        import_max_bytes: Some(IMPORT_MAX_BYTES),
        ..Setup::default()
    });
    let seeded = seed::standard(&ld, 0);
    let mut t = Table::new(&[&format!("{size} links"), "figure", "target", "verdict"]);

    let imported = (n > 0).then(|| {
        let mut csv = Csv::new();
        csv.generated(0..n, &seed::hosts(10));
        let file_bytes = csv.bytes() as u64;
        let before = ld.idle_memory();
        ld.reset_peak();
        let imported = seed::import(&ld.with_key(&seeded.key), csv.into_bytes(), None);
        assert_eq!(
            imported.field("created"),
            n as u64,
            "import: {}",
            imported.report
        );
        let after = ld.memory();
        let secs = imported.elapsed.as_secs_f64();
        judged(
            &mut t,
            &format!("import ({} file, one request)", report::mib(file_bytes)),
            format!(
                "{} ({} rows/s)",
                report::secs(imported.elapsed),
                report::count((n as f64 / secs) as u64)
            ),
            Targets::IMPORT_S,
            " s",
            secs,
        );
        (imported.elapsed, before, after)
    });

    r.progress(&format!("{size} links: restart"));
    ld.restart();
    // A restart binds a new port: callers are made afresh.
    let key_api = ld.with_key(&seeded.key);
    let start = ld.started_in;
    let memory = ld.idle_memory();
    let db_bytes = ld.db_bytes();
    let import = imported.map(|(elapsed, before, after)| {
        // The links themselves cost what the restarted server holds; the rest was the import's.
        let overhead = after.peak_kib.saturating_sub(memory.rss_kib);
        judged(
            &mut t,
            "import memory: peak − RSS after restart",
            format!(
                "{} (RSS {} before, peak {}, {} after restart)",
                report::mib_of_kib(overhead),
                report::mib_of_kib(before.rss_kib),
                report::mib_of_kib(after.peak_kib),
                report::mib_of_kib(memory.rss_kib)
            ),
            Targets::IMPORT_OVERHEAD_MIB,
            " MiB",
            overhead as f64 / 1024.0,
        );
        elapsed
    });
    judged(
        &mut t,
        "start to first good /healthz",
        report::secs(start),
        Targets::START_S,
        " s",
        start.as_secs_f64(),
    );
    judged(
        &mut t,
        "RSS after restart, idle",
        report::mib_of_kib(memory.rss_kib),
        Targets::RSS_MIB,
        " MiB",
        memory.rss_kib as f64 / 1024.0,
    );
    // A fresh process: its peak so far is the peak of loading the links.
    t.row(vec![
        "peak RSS during start (VmHWM)".into(),
        report::mib_of_kib(memory.peak_kib),
        "—".into(),
        "—".into(),
    ]);
    let per_link = if n > 0 {
        db_bytes as f64 / n as f64
    } else {
        f64::NAN
    };
    judged(
        &mut t,
        "database file",
        if n > 0 {
            format!("{} ({per_link:.0} bytes per link)", report::mib(db_bytes))
        } else {
            report::mib(db_bytes)
        },
        Targets::BYTES_PER_LINK,
        " B/link",
        per_link,
    );

    r.progress(&format!("{size} links: redirect against the floor"));
    let duel = run_duels(mode, &[routes::redirect_duel(&ld, floor)]);
    let redirect_ratio = duel[0].ratio();
    let drift = base_ratio.map_or(0.0, |b| redirect_ratio - b);
    t.row(vec![
        "redirect ÷ floor 302".into(),
        format!(
            "{redirect_ratio:.3} ({} vs {} req/s{})",
            report::rps(duel[0].subject.rps),
            report::rps(duel[0].baseline.rps),
            base_ratio.map_or(String::new(), |_| format!("; {drift:+.3} vs no links"))
        ),
        format!("≥ 0.9 and within ±{} of no links", Targets::RATIO_DRIFT),
        if redirect_ratio >= 0.9 && drift.abs() <= Targets::RATIO_DRIFT {
            "PASS"
        } else {
            "FAIL"
        }
        .into(),
    ]);

    r.progress(&format!("{size} links: search"));
    let one_term = seed::one_term(n);
    let mut search = |term: &str| {
        let found = seed::search_total(&key_api, term);
        let m = measure(mode, &search_load(&ld, &seeded.key, term));
        judged(
            &mut t,
            &format!(
                "search p99, `search={term}&limit=50` ({} matches), {SEARCH_CONNECTIONS} connections",
                report::count(found)
            ),
            format!("{} ms ({} req/s)", report::ms(m.p99_ms), report::rps(m.rps)),
            Targets::SEARCH_P99_MS,
            " ms",
            m.p99_ms,
        );
        m
    };
    let search_one = search(&one_term);
    let search_many = search(MANY_TERM);

    r.progress(&format!("{size} links: export"));
    let before = ld.idle_memory();
    ld.reset_peak();
    let download = key_api.download("/api/v1/links/export");
    let after = ld.memory();
    assert_eq!(download.status, 200, "export");
    assert_eq!(
        download.lines,
        n as u64 + 2,
        "export: a header and every link"
    );
    judged(
        &mut t,
        "full export (streamed)",
        format!(
            "{} ({}; server RSS {} before, peak {})",
            report::secs(download.elapsed),
            report::mib(download.bytes),
            report::mib_of_kib(before.rss_kib),
            report::mib_of_kib(after.peak_kib)
        ),
        Targets::EXPORT_S,
        " s",
        download.elapsed.as_secs_f64(),
    );
    r.line(format!("### {size} links"));
    r.line(String::new());
    r.table(&t);
    r.table(&duel_table(&duel, "linkdock", "floor"));
    Figures {
        links: n,
        import,
        start,
        rss_kib: memory.rss_kib,
        start_peak_kib: memory.peak_kib,
        db_bytes,
        redirect_ratio,
        search_one,
        search_many,
        export: download.elapsed,
    }
}

fn growth_table(r: &mut Report, all: &[Figures]) {
    let mut t = Table::new(&[
        "links",
        "start",
        "RSS after restart",
        "peak RSS in start",
        "file size",
        "bytes/link",
        "redirect ratio",
        "search p99 one / many",
        "import",
        "export",
    ]);
    for f in all {
        t.row(vec![
            report::count(f.links as u64),
            report::secs(f.start),
            report::mib_of_kib(f.rss_kib),
            report::mib_of_kib(f.start_peak_kib),
            report::mib(f.db_bytes),
            if f.links > 0 {
                format!("{:.0}", f.db_bytes as f64 / f.links as f64)
            } else {
                "—".into()
            },
            format!("{:.3}", f.redirect_ratio),
            format!(
                "{} / {} ms",
                report::ms(f.search_one.p99_ms),
                report::ms(f.search_many.p99_ms)
            ),
            f.import.map_or("—".into(), report::secs),
            report::secs(f.export),
        ]);
    }
    r.line("### Cost growth".into());
    r.line(String::new());
    r.table(&t);
}
