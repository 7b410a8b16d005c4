//! `hot` (issue 13.1): the redirect, the unknown-slug 404 and an authenticated `GET` against
//! their floor routes; in process, the cost of `KeyIndex::verify` with 100,000 keys; over HTTP,
//! authenticated throughput with 1 key against 100,000 keys in the index.

use std::net::IpAddr;
use std::time::Instant;

use linkdock::domain::{now, AllowList, IpPolicy, KeyName, KeyPrefix, Permissions};
use linkdock::keys::issue;
use linkdock::store::records::{KeyRecord, KeyStatus, Source};
use linkdock::store::KeyIndex;

use crate::support::compare::{duel_table, run_duels, Duel, Target};
use crate::support::floor::Floor;
use crate::support::report::{self, Report, Table};
use crate::support::seed::{self, Seeded};
use crate::support::server::{Linkdock, Setup};
use crate::support::{routes, Mode};

/// Keys in the index for the verification cost and the key-count comparison.
const MANY_KEYS: usize = 100_000;
/// Keys for the key-count comparison in quick mode: writing them takes one durable
/// transaction each (about 1.5 ms here, so 100,000 take minutes).
const QUICK_KEYS: usize = 10_000;
/// Links besides the hot one, so that the catalog is not trivially small.
const LINKS: usize = 10_000;

pub fn run(mode: &Mode) {
    let mut r = Report::start("hot", "hot paths against the floor (issue 13.1)", mode);
    verify_cost(&mut r, mode);

    r.progress("starting the floor and linkdock, seeding through the API");
    let floor = Floor::start();
    let ld = Linkdock::start(&Setup::default());
    let seeded = seed::standard(&ld, LINKS);
    r.line(format!(
        "linkdock holds {} links on 10 domains and 1 API key; the floor is a bare actix-web 4 handler per route, in its own process.",
        report::count(LINKS as u64 + 1)
    ));
    r.line(String::new());
    let results = run_duels(mode, &routes::hot_duels(&ld, &floor, &seeded));
    r.table(&duel_table(&results, "linkdock", "floor"));
    drop(floor);

    key_count(&mut r, mode, &ld, &seeded);
    r.save();
}

/// 100,000 key records as the index holds them, and 1,000 keys that are among them.
fn key_records(n: usize) -> (Vec<KeyRecord>, Vec<String>) {
    let rng = ring::rand::SystemRandom::new();
    let prefix = KeyPrefix::default();
    let mut probes = Vec::new();
    let every = (n as u64 / 1_000).max(1);
    let records = (0..n as u64)
        .map(|i| {
            let (plain, digest) = issue(&rng, &prefix).expect("random source");
            let record = KeyRecord {
                id: i + 1,
                name: KeyName::parse("k").expect("name"),
                prefix: plain.display_prefix(),
                digest,
                domains: vec![1, 2],
                ip: IpPolicy::Only(
                    AllowList::parse("ip", &["10.0.0.0/8", "127.0.0.1", "2001:db8::/32"])
                        .expect("allow list"),
                ),
                expires_at: Some(now().plus_secs(3600)),
                status: KeyStatus::Active,
                source: Source::Api,
                created_at: now(),
                updated_at: now(),
                permissions: Permissions::ALL,
                rate_limit: None,
                rotated_to: None,
                rotated_at: None,
                rotated_from: None,
                created_by: None,
            };
            if i % every == 0 {
                probes.push(plain.into_string());
            }
            record
        })
        .collect();
    (records, probes)
}

/// Mean µs per `verify`, over `n` calls presenting each of `keys` in turn.
fn time_verify(index: &KeyIndex, keys: &[&str], n: u32) -> f64 {
    let prefix = KeyPrefix::default();
    let ip: IpAddr = "127.0.0.1".parse().expect("address");
    let at = now();
    let started = Instant::now();
    for presented in keys.iter().cycle().take(n as usize) {
        let _ =
            std::hint::black_box(index.verify(std::hint::black_box(presented), &prefix, ip, at));
    }
    started.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

fn verify_cost(r: &mut Report, mode: &Mode) {
    r.progress("key verification in process");
    let (records, valid) = key_records(MANY_KEYS);
    let valid: Vec<&str> = valid.iter().map(String::as_str).collect();
    let index = KeyIndex::default();
    index.replace_all(&records);
    let (unknown, _) =
        issue(&ring::rand::SystemRandom::new(), &KeyPrefix::default()).expect("random source");
    let calls = if mode.quick { 50_000 } else { 500_000 };
    let target = Target::AtMost(5.0);
    let mut t = Table::new(&[
        "in process: `KeyIndex::verify`",
        "µs per call",
        "target",
        "verdict",
    ]);
    // A worker thread keeps the last 512 keys it verified (`store::seen_keys`): 1,000 keys in
    // turn are each a first check.
    for (what, keys) in [
        (
            "valid key, first check on the thread (format, checksum, SHA-256, lookup, status, expiry, IP rule), 1,000 keys in turn",
            &valid[..],
        ),
        (
            "valid key seen before on the thread (keyed SipHash tag, then status, expiry, IP rule)",
            &valid[..1],
        ),
        (
            "well-formed unknown key (the failing-key flood's path)",
            &[unknown.reveal()][..],
        ),
    ] {
        let us = time_verify(&index, keys, calls);
        t.row(vec![
            format!(
                "{what}, {} keys in the index",
                report::count(MANY_KEYS as u64)
            ),
            format!("{us:.2}"),
            target.describe(" µs"),
            target.verdict(us).to_owned(),
        ]);
    }
    r.table(&t);
}

/// Authenticated throughput with 100,000 keys in the index against 1 key: the keys go into a
/// stopped server's data dir through the library, the rest through the API as usual.
fn key_count(r: &mut Report, mode: &Mode, one: &Linkdock, one_seeded: &Seeded) {
    let keys = if mode.quick { QUICK_KEYS } else { MANY_KEYS };
    r.progress(&format!("putting {keys} keys into a data dir"));
    let mut many = Linkdock::create(&Setup::default());
    let took = seed::keys_into_data_dir(&many.data_dir(), keys);
    many.launch();
    let many_seeded = seed::standard(&many, LINKS);
    r.line(format!(
        "{} keys (plus the bench key) written into the stopped server's data dir through `Store::create_key` (one durable transaction each) in {}; that server then started in {}.",
        report::count(keys as u64),
        report::secs(took),
        report::secs(many.started_in)
    ));
    r.line(String::new());
    let results = run_duels(
        mode,
        &[Duel {
            name: "GET /api/v1/links/{id} with API key".into(),
            subject: routes::link_with(
                &many,
                many_seeded.link_id,
                &many_seeded.key,
                "linkdock, many keys",
            ),
            baseline: routes::link_by_key(one, one_seeded),
            target: Target::AtLeast(0.95),
        }],
    );
    let label = format!("{} keys", report::count(keys as u64 + 1));
    r.table(&duel_table(&results, &label, "1 key"));
    let (m1, mn) = (one.idle_memory(), many.idle_memory());
    r.line(format!(
        "RSS: {} with 1 key, {} with {label} (same links).",
        report::mib_of_kib(m1.rss_kib),
        report::mib_of_kib(mn.rss_kib)
    ));
    r.line(String::new());
}
