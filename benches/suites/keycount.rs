//! `keycount` (issue 23.2, 23.4): what 0, 10,000 and 100,000 API keys cost. Per size and per
//! way in, a fresh server: keys made through `POST /api/v1/api-keys/batch` (1,000 a request,
//! one transaction each) then a restart, or declared as `[[api_keys]]` in the config file
//! (the first start applies them; a second start finds them on record). For each: the time to
//! make them, start to first good `/healthz`, RSS once idle over the same server without
//! keys; in process, the whole per-request check with that many keys in the index. Then the
//! cost-growth table.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use linkdock::domain::{
    now, AllowList, IpPolicy, KeyName, KeyPrefix, PerMinute, Permission, Permissions,
};
use linkdock::keys::{issue, KeyDigest};
use linkdock::store::records::{KeyRecord, KeyStatus, Source};
use linkdock::store::KeyIndex;

use crate::support::compare::Target;
use crate::support::report::{self, Report, Table};
use crate::support::seed;
use crate::support::server::{Linkdock, Memory, Setup};
use crate::support::Mode;

/// Keys in one batch request (the most the route takes).
const BATCH: usize = 1000;

struct Targets;

impl Targets {
    /// 30 MB over an empty server for 100,000 keys.
    const BYTES_PER_KEY: Target = Target::AtMost(300.0);
    const VERIFY_US: Target = Target::AtMost(1.0);
    /// 100,000 keys through the batch path.
    const CREATE_S_PER_100K: Target = Target::AtMost(5.0);
}

/// One size and way in, for the growth table.
struct Figures {
    keys: usize,
    how: &'static str,
    made_in: Option<Duration>,
    start: Duration,
    memory: Memory,
    over_empty_kib: i64,
    verify_us: f64,
}

pub fn run(mode: &Mode) {
    let sizes: &[usize] = if mode.quick {
        &[0, 10_000]
    } else {
        &[0, 10_000, 100_000]
    };
    let mut r = Report::start(
        "keycount",
        "cost growth with the number of API keys (issue 23)",
        mode,
    );
    r.line(format!(
        "Sizes: {}. Each server holds the usual fixture (10 domains, the hot link, the bench key); keys have a name, half of them one domain, a quarter an IP whitelist (16 distinct), a tenth a rate limit. \"Over empty\" is the idle RSS after the start, less that of the same server with no keys. The checks are timed over 1,000 keys in turn, each a first check with SHA-256 (a thread keeps the last 512 it verified); with one key (0 keys besides it) the same key each time, from that cache.",
        sizes.iter().map(|n| report::count(*n as u64)).collect::<Vec<_>>().join(", ")
    ));
    r.line(String::new());
    let mut all = Vec::new();
    let mut empty_kib = None;
    for &n in sizes {
        let verify_us = verify_cost(mode, n);
        let api = through_api(&mut r, n, empty_kib, verify_us);
        empty_kib.get_or_insert(api.memory.rss_kib);
        all.push(api);
        if n > 0 {
            for second in [false, true] {
                all.push(declared(&mut r, n, empty_kib, verify_us, second));
            }
        }
    }
    growth_table(&mut r, &all);
    r.save();
}

/// The i-th key's fields as the API takes them.
fn item(i: usize) -> Value {
    let mut k = json!({ "name": format!("key-{i}"), "allow_all_ips": true });
    if i.is_multiple_of(2) {
        k["domains"] = json!([seed::hosts(10)[i % 10]]);
    }
    if i % 4 == 1 {
        k["allow_all_ips"] = json!(false);
        k["ip_whitelist"] = json!([format!("10.{}.0.0/16", i % 16), "192.0.2.1"]);
    }
    if i % 10 == 3 {
        k["rate_limit_per_minute"] = json!(600);
    }
    k
}

fn judged(t: &mut Table, what: &str, shown: String, target: Target, unit: &str, value: f64) {
    t.row(vec![
        what.to_owned(),
        shown,
        target.describe(unit),
        target.verdict(value).to_owned(),
    ]);
}

fn per_key(over_kib: i64, n: usize) -> f64 {
    over_kib as f64 * 1024.0 / n as f64
}

fn memory_rows(t: &mut Table, f: &Figures) {
    judged(
        t,
        "start to first good /healthz",
        report::secs(f.start),
        Target::None,
        "",
        0.0,
    );
    if f.keys > 0 {
        judged(
            t,
            "RSS over the server without keys, idle",
            format!(
                "{} ({:.0} bytes a key; RSS {}, peak {})",
                report::mib_of_kib(f.over_empty_kib.max(0) as u64),
                per_key(f.over_empty_kib, f.keys),
                report::mib_of_kib(f.memory.rss_kib),
                report::mib_of_kib(f.memory.peak_kib)
            ),
            Targets::BYTES_PER_KEY,
            " B/key",
            per_key(f.over_empty_kib, f.keys),
        );
    } else {
        t.row(vec![
            "RSS, idle".into(),
            report::mib_of_kib(f.memory.rss_kib),
            "—".into(),
            "—".into(),
        ]);
    }
}

fn through_api(r: &mut Report, n: usize, empty_kib: Option<u64>, verify_us: f64) -> Figures {
    let size = report::count(n as u64);
    r.progress(&format!("{size} keys through the batch route"));
    let mut ld = Linkdock::start(&Setup::default());
    seed::standard(&ld, 0);
    let admin = ld.admin();
    let started = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(BATCH) {
        let keys: Vec<Value> = chunk.iter().map(|&i| item(i)).collect();
        let reply = admin.post_json("/api/v1/api-keys/batch", &json!({ "keys": keys }));
        let made = reply.expect(201, "a batch of keys");
        assert_eq!(made["keys"].as_array().map(Vec::len), Some(chunk.len()));
    }
    let made_in = started.elapsed();
    ld.restart();
    let memory = ld.idle_memory();
    let f = Figures {
        keys: n,
        how: "API batch, after a restart",
        made_in: (n > 0).then_some(made_in),
        start: ld.started_in,
        memory,
        over_empty_kib: memory.rss_kib as i64 - empty_kib.unwrap_or(memory.rss_kib) as i64,
        verify_us,
    };
    let mut t = Table::new(&[&format!("{size} keys, API"), "figure", "target", "verdict"]);
    if n > 0 {
        let secs = made_in.as_secs_f64();
        judged(
            &mut t,
            &format!("create through `POST /api/v1/api-keys/batch`, {BATCH} a request"),
            format!(
                "{} ({} keys/s; {:.2} s per 100,000)",
                report::secs(made_in),
                report::count((n as f64 / secs) as u64),
                secs * 100_000.0 / n as f64
            ),
            Targets::CREATE_S_PER_100K,
            " s per 100,000",
            secs * 100_000.0 / n as f64,
        );
    }
    memory_rows(&mut t, &f);
    judged(
        &mut t,
        "in process: the keyed request's checks",
        format!("{verify_us:.2} µs"),
        Targets::VERIFY_US,
        " µs",
        verify_us,
    );
    r.line(format!("### {size} keys through the API"));
    r.line(String::new());
    r.table(&t);
    f
}

/// `n` declared keys (random digests: no one holds their values) as `[[api_keys]]` tables.
fn declarations(n: usize) -> String {
    let hosts = seed::hosts(10);
    let mut toml = String::new();
    for i in 0..n {
        let digest = KeyDigest::of(&format!("declared-{i}-{}", now().unix()));
        toml.push_str(&format!(
            "\n[[api_keys]]\nname = \"declared-{i}\"\nhash = \"sha256:{}\"\n",
            digest.to_hex()
        ));
        if i.is_multiple_of(2) {
            toml.push_str(&format!("domains = [\"{}\"]\n", hosts[i % 10]));
        }
        if i % 4 == 1 {
            toml.push_str(&format!(
                "ip_whitelist = [\"10.{}.0.0/16\", \"192.0.2.1\"]\n",
                i % 16
            ));
        }
        if i % 10 == 3 {
            toml.push_str("rate_limit_per_minute = 600\n");
        }
    }
    toml
}

fn declared(
    r: &mut Report,
    n: usize,
    empty_kib: Option<u64>,
    verify_us: f64,
    second_start: bool,
) -> Figures {
    let size = report::count(n as u64);
    r.progress(&format!(
        "{size} declared keys, {} start",
        if second_start { "second" } else { "first" }
    ));
    // The declared domains are those of the fixture: a declared key may only name those.
    let mut extra = String::new();
    for h in seed::hosts(10) {
        extra.push_str(&format!("\n[[domains]]\nhostname = \"{h}\"\n"));
    }
    extra.push_str(&declarations(n));
    let config_bytes = extra.len() as u64;
    let mut ld = Linkdock::start(&Setup {
        extra_toml: extra,
        ..Setup::default()
    });
    if second_start {
        ld.restart();
    }
    let memory = ld.idle_memory();
    let f = Figures {
        keys: n,
        how: if second_start {
            "declared, second start"
        } else {
            "declared, first start"
        },
        made_in: None,
        start: ld.started_in,
        memory,
        over_empty_kib: memory.rss_kib as i64 - empty_kib.unwrap_or(memory.rss_kib) as i64,
        verify_us,
    };
    let mut t = Table::new(&[
        &format!(
            "{size} declared keys ({} config file), {}",
            report::mib(config_bytes),
            if second_start {
                "second start"
            } else {
                "first start"
            }
        ),
        "figure",
        "target",
        "verdict",
    ]);
    memory_rows(&mut t, &f);
    r.line(format!("### {size} declared keys, {}", f.how));
    r.line(String::new());
    r.table(&t);
    f
}

/// `n` key records shaped like the API's (see [`item`]), and up to [`PROBES`] limited keys
/// among them that pass a read's checks on domain 1.
fn key_records(n: usize) -> (Vec<KeyRecord>, Vec<String>) {
    let rng = ring::rand::SystemRandom::new();
    let prefix = KeyPrefix::default();
    let mut probes = Vec::new();
    // An odd key is scoped to every domain; key 0 (the only one at n = 0) to domain 1.
    let is_probe = |i: usize| if n < 2 { i == 0 } else { i % 2 == 1 };
    let records = (0..n.max(1))
        .map(|i| {
            let (plain, digest) = issue(&rng, &prefix).expect("random source");
            let ip = if i % 4 == 1 {
                IpPolicy::Only(
                    AllowList::parse("ip", &[format!("10.{}.0.0/16", i % 16), "127.0.0.1".into()])
                        .expect("allow list"),
                )
            } else {
                IpPolicy::Any
            };
            let rec = KeyRecord {
                id: i as u64 + 1,
                name: KeyName::parse(&format!("key-{i}")).expect("name"),
                prefix: plain.display_prefix(),
                digest,
                domains: if i.is_multiple_of(2) {
                    vec![(i % 10) as u64 + 1]
                } else {
                    vec![]
                },
                ip,
                expires_at: Some(now().plus_secs(3600)),
                status: KeyStatus::Active,
                source: Source::Api,
                created_at: now(),
                updated_at: now(),
                permissions: Permissions::ALL,
                rate_limit: Some(PerMinute::parse("r", 1_000_000).expect("limit")),
                rotated_to: None,
                rotated_at: None,
                rotated_from: None,
                created_by: None,
            };
            if is_probe(i) && probes.len() < PROBES {
                probes.push(plain.into_string());
            }
            rec
        })
        .collect();
    (records, probes)
}

/// Keys the checks are timed with, each in turn: more than a worker thread keeps of the keys
/// it verified (`store::seen_keys`), so every check is a first one, with SHA-256.
const PROBES: usize = 1_000;

/// Mean µs of the checks a keyed request makes, with `n` keys in the index: format, checksum,
/// SHA-256, lookup, status and expiry, IP rule (`KeyIndex::verify`), then the rate limit, the
/// permission and the domain scope. Keys in turn, none seen just before: the worst case.
fn verify_cost(mode: &Mode, n: usize) -> f64 {
    let (records, probes) = key_records(n);
    let index = KeyIndex::default();
    index.replace_all(&records);
    drop(records);
    let prefix = KeyPrefix::default();
    let ip: IpAddr = "127.0.0.1".parse().expect("address");
    let calls: u32 = if mode.quick { 50_000 } else { 500_000 };
    let mut ok = 0u32;
    let started = Instant::now();
    for probe in probes.iter().cycle().take(calls as usize) {
        let at = now();
        if let Ok(key) = index.verify(std::hint::black_box(probe), &prefix, ip, at) {
            let counted = key.take_request(at).is_ok();
            let may = key.permissions.contains(Permission::LinksRead) && key.scope.allows(1);
            ok += u32::from(counted && may);
        }
    }
    let us = started.elapsed().as_secs_f64() * 1e6 / f64::from(calls);
    assert!(ok > 0, "the probe key passes its checks");
    us
}

fn growth_table(r: &mut Report, all: &[Figures]) {
    let mut t = Table::new(&[
        "keys",
        "how",
        "made in",
        "start",
        "RSS idle",
        "over no keys",
        "bytes/key",
        "verify (µs per check)",
    ]);
    for f in all {
        t.row(vec![
            report::count(f.keys as u64),
            f.how.into(),
            f.made_in.map_or("—".into(), report::secs),
            report::secs(f.start),
            report::mib_of_kib(f.memory.rss_kib),
            if f.keys > 0 {
                report::mib_of_kib(f.over_empty_kib.max(0) as u64)
            } else {
                "—".into()
            },
            if f.keys > 0 {
                format!("{:.0}", per_key(f.over_empty_kib, f.keys))
            } else {
                "—".into()
            },
            format!("{:.2}", f.verify_us),
        ]);
    }
    r.line("### Cost growth with keys".into());
    r.line(String::new());
    r.table(&t);
}
