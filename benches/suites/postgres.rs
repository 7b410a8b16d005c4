//! `postgres` (issue 19.7, issue 23's PostgreSQL row): linkdock on PostgreSQL. A throwaway
//! cluster of its own (tests/support/pg.rs: trust authentication, fsync off, loopback), a
//! fresh database per server group. Link creation through the API (one client, then four in
//! parallel) on redb and PostgreSQL; a 1,000,000-link import and the restart that loads it;
//! redirect and keyed GET against the floor on both backends; how long a revoke on node A
//! takes to be refused on node B; three nodes behind round-robin against one on the same cores.
//!
//! `BENCH_PG_PARTS=create,import,floor,revoke,nodes` runs only the named parts.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::client::block_on;
use crate::support::compare::{duel_table, median, run_duels, Duel, Target};
use crate::support::floor::Floor;
use crate::support::report::{self, Report, Table};
use crate::support::seed::{self, Csv, Seeded, HOT_HOST};
use crate::support::server::{Linkdock, Setup};
use crate::support::wrk::{Load, Stats};
use crate::support::{routes, Mode};

#[path = "../../tests/support/pg.rs"]
mod cluster;

/// Large enough for the 1,000,000-link file.
const IMPORT_MAX_BYTES: u64 = 1 << 30;
/// Parallel clients in the second creation run.
const STREAMS: usize = 4;
/// Connections per node in the three-node run; the single node gets three times as many.
const NODE_CONNECTIONS: u32 = 22;

struct Targets;

impl Targets {
    const CREATE_PER_S: Target = Target::AtLeast(500.0);
    const IMPORT_S: Target = Target::AtMost(60.0);
    const START_S: Target = Target::AtMost(3.0);
    /// PostgreSQL's ratio against the floor within this of redb's.
    const RATIO_GAP: f64 = 0.05;
}

fn wanted(part: &str) -> bool {
    match std::env::var("BENCH_PG_PARTS") {
        Ok(parts) => parts.split(',').any(|p| p.trim() == part),
        Err(_) => true,
    }
}

pub fn run(mode: &Mode) {
    let mut r = Report::start(
        "postgres",
        "linkdock on PostgreSQL (issue 19.7, issue 23)",
        mode,
    );
    let Some(first) = cluster::fresh_database() else {
        let banner = "!!! postgres suite NOT RUN: PostgreSQL (initdb, pg_ctl) is not installed !!!";
        eprintln!("\n{banner}\n{banner}\n");
        r.line(format!("**{banner}**"));
        r.save();
        return;
    };
    r.line("A throwaway PostgreSQL cluster started by the suite (same machine, loopback, trust authentication, `fsync = off`, `synchronous_commit` default), one fresh database per server group; redb figures come from the same binary on a temporary data dir.".to_owned());
    r.line(String::new());
    let mut url = Some(first);
    let mut fresh = || {
        url.take()
            .or_else(cluster::fresh_database)
            .expect("a fresh database")
    };
    if wanted("create") {
        creation(&mut r, mode, &mut fresh);
    }
    if wanted("import") {
        import_and_start(&mut r, mode, &fresh());
    }
    let floor = Floor::start();
    if wanted("floor") {
        against_floor(&mut r, mode, &floor, &fresh());
    }
    if wanted("revoke") {
        revoke_propagation(&mut r, mode, &fresh());
    }
    if wanted("nodes") {
        three_nodes(&mut r, mode, &fresh());
    }
    r.save();
}

fn on_postgres(url: &str) -> Setup {
    Setup {
        postgres_url: Some(url.to_owned()),
        import_max_bytes: Some(IMPORT_MAX_BYTES),
        ..Setup::default()
    }
}

/// `total` links made with `POST /api/v1/links` by `streams` clients at once (keep-alive
/// connections); the wall time.
fn create_links(ld: &Linkdock, key: &str, total: usize, streams: usize, tag: &str) -> Duration {
    let http = reqwest::Client::new();
    let url = ld.url("/api/v1/links");
    block_on(async {
        let started = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for s in 0..streams {
            let (http, url, key, tag) = (http.clone(), url.clone(), key.to_owned(), tag.to_owned());
            set.spawn(async move {
                for i in (s..total).step_by(streams) {
                    let body = json!({
                        "domain": HOT_HOST,
                        "destination_url": format!("https://example.org/{tag}/{i}"),
                    });
                    let res = http
                        .post(&url)
                        .bearer_auth(&key)
                        .json(&body)
                        .send()
                        .await
                        .expect("create a link");
                    let status = res.status().as_u16();
                    let text = res.text().await.unwrap_or_default();
                    assert_eq!(status, 201, "create a link: {text}");
                }
            });
        }
        while let Some(done) = set.join_next().await {
            done.expect("a client of the creation run");
        }
        started.elapsed()
    })
}

fn creation(r: &mut Report, mode: &Mode, fresh: &mut impl FnMut() -> String) {
    let n = if mode.quick { 300 } else { 3_000 };
    r.line(format!(
        "### Link creation through the API ({} links per run, after 50 unmeasured)",
        report::count(n as u64)
    ));
    r.line(String::new());
    let mut t = Table::new(&[
        "backend",
        "clients",
        "links/s",
        "mean per link",
        "target",
        "verdict",
    ]);
    for backend in ["redb", "postgres"] {
        r.progress(&format!("creation on {backend}"));
        let setup = if backend == "postgres" {
            on_postgres(&fresh())
        } else {
            Setup::default()
        };
        let ld = Linkdock::start(&setup);
        let seeded = seed::standard(&ld, 0);
        create_links(&ld, &seeded.key, 50, 1, "warm");
        for streams in [1, STREAMS] {
            let took = create_links(&ld, &seeded.key, n, streams, &format!("c{streams}"));
            let rate = n as f64 / took.as_secs_f64();
            let target = if backend == "postgres" {
                Targets::CREATE_PER_S
            } else {
                Target::None
            };
            t.row(vec![
                backend.to_owned(),
                streams.to_string(),
                format!("{rate:.0}"),
                report::ms(took.as_secs_f64() * 1000.0 / n as f64),
                target.describe("/s"),
                target.verdict(rate).to_owned(),
            ]);
        }
    }
    r.table(&t);
}

fn import_and_start(r: &mut Report, mode: &Mode, url: &str) {
    let n = if mode.quick { 100_000 } else { 1_000_000 };
    r.progress(&format!("importing {n} links into PostgreSQL"));
    let mut ld = Linkdock::start(&on_postgres(url));
    let seeded = seed::standard(&ld, 0);
    let mut csv = Csv::new();
    csv.generated(0..n, &seed::hosts(10));
    let bytes = csv.bytes() as u64;
    let imported = seed::import(&ld.with_key(&seeded.key), csv.into_bytes(), None);
    assert_eq!(
        imported.field("created"),
        n as u64,
        "import: {}",
        imported.report
    );
    let import_s = imported.elapsed.as_secs_f64();
    r.progress("restarting on the imported links");
    ld.restart();
    let start_s = ld.started_in.as_secs_f64();
    let idle = ld.idle_memory();
    let found = seed::search_total(&ld.with_key(&seeded.key), seed::MANY_TERM);
    assert!(found > 0, "the restarted node finds no imported link");
    r.line(format!(
        "### {} links on PostgreSQL",
        report::count(n as u64)
    ));
    r.line(String::new());
    let mut t = Table::new(&["step", "figure", "target", "verdict"]);
    t.row(vec![
        format!("import ({} CSV, one request)", report::mib(bytes)),
        format!(
            "{} ({:.0} rows/s)",
            report::secs(imported.elapsed),
            n as f64 / import_s
        ),
        Targets::IMPORT_S.describe(" s"),
        Targets::IMPORT_S.verdict(import_s).to_owned(),
    ]);
    t.row(vec![
        "start to the first good `/healthz` (catalog loaded from PostgreSQL)".to_owned(),
        report::secs(ld.started_in),
        Targets::START_S.describe(" s"),
        Targets::START_S.verdict(start_s).to_owned(),
    ]);
    t.row(vec![
        "RSS once idle after the start".to_owned(),
        report::mib_of_kib(idle.rss_kib),
        "—".to_owned(),
        "—".to_owned(),
    ]);
    r.table(&t);
}

/// The redirect and the keyed GET against the floor, on redb and on PostgreSQL, in the same
/// interleaved rounds.
fn against_floor(r: &mut Report, mode: &Mode, floor: &Floor, url: &str) {
    r.progress("redirect and keyed GET against the floor, redb and PostgreSQL");
    let redb = Linkdock::start(&Setup::default());
    let redb_seed = seed::standard(&redb, 0);
    let pg = Linkdock::start(&on_postgres(url));
    let pg_seed = seed::standard(&pg, 0);
    let duels = |ld: &Linkdock, s: &Seeded, backend: &str| -> Vec<Duel> {
        let all = routes::hot_duels(ld, floor, s);
        all.into_iter()
            .filter(|d| !d.name.contains("404"))
            .map(|d| Duel {
                name: format!("{} on {backend}", d.name),
                ..d
            })
            .collect()
    };
    let mut all = duels(&redb, &redb_seed, "redb");
    all.extend(duels(&pg, &pg_seed, "postgres"));
    let results = run_duels(mode, &all);
    r.line("### Served from memory: against the floor on both backends".to_owned());
    r.line(String::new());
    r.table(&duel_table(&results, "linkdock", "floor"));
    let mut t = Table::new(&[
        "route",
        "redb ratio",
        "postgres ratio",
        "postgres ÷ redb",
        "target",
        "verdict",
    ]);
    let half = results.len() / 2;
    for (on_redb, on_pg) in results[..half].iter().zip(&results[half..]) {
        let gap = on_pg.ratio() / on_redb.ratio();
        let target = Target::AtLeast(1.0 - Targets::RATIO_GAP);
        t.row(vec![
            on_redb.name.trim_end_matches(" on redb").to_owned(),
            format!("{:.3}", on_redb.ratio()),
            format!("{:.3}", on_pg.ratio()),
            format!("{gap:.3}"),
            target.describe(""),
            target.verdict(gap).to_owned(),
        ]);
    }
    r.table(&t);
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let i = (sorted.len() * p / 100).min(sorted.len().saturating_sub(1));
    sorted.get(i).copied().unwrap_or_default()
}

/// Revoke on A, then ask B with the revoked key until B refuses it.
fn revoke_propagation(r: &mut Report, mode: &Mode, url: &str) {
    let n = if mode.quick { 30 } else { 200 };
    r.progress(&format!("{n} revokes on node A, polled on node B"));
    // Each revoked key's refusals count as failed attempts from this address: without a high
    // limit B answers 429 after a few revokes, which says nothing of propagation.
    let setup = Setup {
        extra_toml: "\n[keys]\nmax_failed_auth_per_minute = 1000000\n".to_owned(),
        ..on_postgres(url)
    };
    let a = Linkdock::start(&setup);
    let seeded = seed::standard(&a, 0);
    let b = Linkdock::start(&setup);
    let admin = a.admin();
    let path = format!("/api/v1/links/{}", seeded.link_id);
    let poll = Duration::from_secs(2);
    let mut took = Vec::with_capacity(n);
    let mut polls = 0u64;
    for i in 0..n {
        let made =
            seed::create_key(&admin, &format!("revoke-{i}"), json!({})).expect(201, "create a key");
        let (id, key) = (
            made["id"].clone(),
            made["key"].as_str().expect("key").to_owned(),
        );
        let on_b = b.with_key(&key);
        // B must know the key before the revoke is timed.
        let deadline = Instant::now() + Duration::from_secs(30);
        while on_b.try_get(&path, poll).map(|rep| rep.status) != Some(200) {
            assert!(Instant::now() < deadline, "node B never accepted a new key");
            std::thread::sleep(Duration::from_millis(1));
        }
        admin
            .post_json(&format!("/api/v1/api-keys/{id}/revoke"), &json!({}))
            .expect(200, "revoke a key");
        let revoked = Instant::now();
        loop {
            polls += 1;
            let answer = on_b.try_get(&path, poll);
            if answer.as_ref().map(|rep| rep.status) == Some(401) {
                break;
            }
            assert!(
                revoked.elapsed() < Duration::from_secs(30),
                "revoke {i}: node B still answers {:?} to a key revoked on A 30 s ago",
                answer.map(|rep| (rep.status, rep.text()))
            );
        }
        took.push(revoked.elapsed());
    }
    took.sort();
    let ms = |d: Duration| report::ms(d.as_secs_f64() * 1000.0);
    r.line(format!(
        "### A revoke on node A, refused on node B ({n} revokes)"
    ));
    r.line(String::new());
    r.line("Timed from A's `200` to the revoke until B's first `401` to `GET /api/v1/links/{id}` with that key (B polled back to back, a new connection per poll). B has accepted the key just before.".to_owned());
    r.line(String::new());
    let mut t = Table::new(&["p50", "p99", "max", "polls per revoke"]);
    t.row(vec![
        ms(percentile(&took, 50)),
        ms(percentile(&took, 99)),
        ms(took.last().copied().unwrap_or_default()),
        format!("{:.1}", polls as f64 / n as f64),
    ]);
    r.table(&t);
}

/// The redirect on three nodes at once (one wrk per node) against one node with as many
/// connections, in interleaved rounds: the cost of clustering on the same cores.
fn three_nodes(r: &mut Report, mode: &Mode, url: &str) {
    r.progress("three nodes against one, redirect");
    let a = Linkdock::start(&on_postgres(url));
    seed::standard(&a, 0);
    let others = [
        Linkdock::start(&on_postgres(url)),
        Linkdock::start(&on_postgres(url)),
    ];
    let nodes: Vec<&Linkdock> = std::iter::once(&a).chain(&others).collect();
    let loads: Vec<Load> = nodes
        .iter()
        .map(|ld| routes::redirect(ld).connections(NODE_CONNECTIONS))
        .collect();
    let single = routes::redirect(&a).connections(NODE_CONNECTIONS * 3);
    for l in loads.iter().chain([&single]) {
        l.preflight();
    }
    let together = |secs: u32| -> Vec<Stats> {
        let running: Vec<_> = loads.iter().map(|l| l.spawn(secs)).collect();
        running.into_iter().map(|run| run.finish()).collect()
    };
    if mode.warmup_secs > 0 {
        together(mode.warmup_secs);
        single.run(mode.warmup_secs);
    }
    let (mut one, mut three, mut three_p99) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..mode.rounds {
        eprintln!("… round {} of {}", round + 1, mode.rounds);
        let mut run_three = || {
            let stats = together(mode.secs);
            three.push(stats.iter().map(|s| s.rps).sum::<f64>());
            three_p99.push(stats.iter().map(|s| s.p99_ms).fold(0.0, f64::max));
        };
        if round % 2 == 0 {
            one.push(single.run(mode.secs));
            run_three();
        } else {
            run_three();
            one.push(single.run(mode.secs));
        }
    }
    let one_rps = median(one.iter().map(|s| s.rps).collect());
    let one_p99 = median(one.iter().map(|s| s.p99_ms).collect());
    let three_rps = median(three);
    r.line("### Three nodes against one on the same cores (redirect)".to_owned());
    r.line(String::new());
    r.line(format!("One node: one wrk with {} connections. Three nodes on one database: one wrk per node with {NODE_CONNECTIONS} connections each, at the same time (round-robin by connection), requests summed. This is the cost of clustering on one machine, not scaling.", NODE_CONNECTIONS * 3));
    r.line(String::new());
    let mut t = Table::new(&[
        "setup",
        "req/s (median)",
        "p99 (median; worst node)",
        "vs one node",
    ]);
    t.row(vec![
        "1 node".into(),
        report::rps(one_rps),
        report::ms(one_p99),
        "1.000".into(),
    ]);
    t.row(vec![
        "3 nodes".into(),
        report::rps(three_rps),
        report::ms(median(three_p99)),
        format!("{:.3}", three_rps / one_rps),
    ]);
    r.table(&t);
}
