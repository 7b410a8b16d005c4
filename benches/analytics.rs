//! Analytics on disk and on read (issue 22, point 4): bytes per link-day and per click, and
//! the stats of a link with a year of daily counts. The store alone, no server: what a day's
//! row costs in redb and what `Store::link_stats` costs over 365 days.
//!
//!     cargo bench --profile profiling --bench analytics
//!
//! Prints a markdown table (figures for README.md's cost-growth table). Nothing is asserted.

use std::path::Path;
use std::time::Instant;

use linkdock::audit::By;
use linkdock::domain::{now, DestinationUrl, Hostname, RedirectCode, Slug, Tags};
use linkdock::store::analytics::{Day, DayTally, Names};
use linkdock::store::{EventBatch, NewLink, Store};

/// Links per scenario: enough rows that the file's growth is the rows', not redb's pages.
const LINKS: u64 = 1_000;
const DAYS: u32 = 365;

/// A day's tally with `names` referrers, browsers and OSes each, `clicks` clicks in all.
fn tally(names: usize, clicks: u64) -> DayTally {
    let spread = |prefix: &str| -> Names {
        (0..names)
            .map(|i| (format!("{prefix}{i}.example.com"), clicks / names as u64))
            .collect()
    };
    DayTally {
        clicks,
        bots: clicks / 10,
        referrers: spread("ref"),
        browsers: ["Chrome", "Firefox", "Safari", "Edge", "Opera"]
            .iter()
            .take(names.min(5))
            .map(|b| ((*b).to_owned(), clicks / names as u64))
            .collect(),
        os: ["Windows 10", "Mac OSX", "Linux", "iPhone", "Android"]
            .iter()
            .take(names.min(5))
            .map(|o| ((*o).to_owned(), clicks / names as u64))
            .collect(),
        // No GeoIP database (the default), as the README's figures were measured.
        countries: Names::default(),
    }
}

fn file_size(dir: &Path) -> u64 {
    std::fs::metadata(dir.join("linkdock.redb"))
        .map(|m| m.len())
        .unwrap_or(0)
}

struct Outcome {
    names: usize,
    bytes_per_link_day: f64,
    year_bytes: f64,
    query_us: f64,
}

fn scenario(names: usize) -> Outcome {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let by = By::command_line();
    let domain = store
        .create_domain(&Hostname::parse("go.example.com").unwrap(), &by)
        .expect("domain");
    let mut ids = Vec::new();
    for i in 0..LINKS {
        let link = store
            .create_link(NewLink {
                domain_id: domain.id,
                slug: Some(Slug::parse(&format!("l{i:06}")).unwrap()),
                destination_url: DestinationUrl::parse("https://example.com/").unwrap(),
                title: None,
                tags: Tags::parse::<&str>(&[]).unwrap(),
                redirect_code: RedirectCode::parse(302).unwrap(),
                expires_at: None,
            })
            .expect("link");
        ids.push(link.id);
    }
    let before = file_size(dir.path());
    let today = Day::of(now());
    for d in 0..DAYS {
        let day = today.minus(DAYS - 1 - d);
        let batch = EventBatch {
            days: ids
                .iter()
                .map(|id| ((day, *id), tally(names, 20)))
                .collect(),
            ..EventBatch::default()
        };
        store.apply_events(&batch).expect("apply");
    }
    let grown = file_size(dir.path()).saturating_sub(before);
    let per_link_day = grown as f64 / f64::from(DAYS) / LINKS as f64;

    // One link's year, read back as the stats endpoint does: the median of many reads.
    let link = ids[ids.len() / 2];
    let mut times = Vec::new();
    for _ in 0..201 {
        let t = Instant::now();
        let s = store
            .link_stats(link, today.minus(DAYS - 1), today)
            .expect("stats");
        times.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(s.days.len(), DAYS as usize);
    }
    times.sort_by(f64::total_cmp);
    Outcome {
        names,
        bytes_per_link_day: per_link_day,
        year_bytes: per_link_day * f64::from(DAYS),
        query_us: times[times.len() / 2],
    }
}

fn main() {
    println!("| names per dimension | bytes per link-day | a link's year on disk | stats over 365 days (median) |");
    println!("|---|---|---|---|");
    for names in [1, 5, 20] {
        let o = scenario(names);
        println!(
            "| {} | {:.0} | {:.1} KiB | {:.0} µs |",
            o.names,
            o.bytes_per_link_day,
            o.year_bytes / 1024.0,
            o.query_us
        );
    }
}
