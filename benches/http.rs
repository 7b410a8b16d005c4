//! Benchmarks, reported as ratios against a bare actix-web handler measured in the same run.
//!
//!     cargo bench --bench http            # needs `wrk` (apt-get install wrk)
//!
//! Scenarios (wrk, 64 connections, loopback, same worker count for both servers):
//! - redirect of an existing link vs a bare handler returning a fixed 302
//! - 404 of an unknown slug vs the bare handler's 404
//! - authenticated `GET /api/v1/links/{id}` (API key) vs a bare handler returning a fixed small JSON body
//! - `GET /api/v1/links?search=…&limit=50` over 100,000 links: p99 latency
//!
//! And, in process, the cost of verifying an API key (parse, checksum, SHA-256, lookup, checks).
//!
//!     cargo bench --bench http -- keys    # issue 14: a key with a rate limit vs without
//!
//! The `keys` suite measures what a per-key rate limit costs: in process, verification plus
//! counting the request (`KeyEntry::take_request`) with and without a limit; over HTTP,
//! `GET /api/v1/links/{id}` with one key, alternately without a limit and with
//! `rate_limit_per_minute` set (high enough never to refuse), A/B/A/B so that drift on a shared
//! machine hits both. The target: within 5% of the same key without a limit.
//! (A shared bench harness with its own `keys` suite is being built on another branch; when it
//! lands, this suite moves into it.)

use std::net::{IpAddr, TcpListener};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use linkdock::config::{Config, LogFormat, LogLevel};
use linkdock::domain::{
    now, AllowList, DestinationUrl, Hostname, IpPolicy, KeyName, KeyPrefix, Permissions,
    RedirectCode, Slug, Tags, Title,
};
use linkdock::keys::issue;
use linkdock::startup::Application;
use linkdock::store::records::{KeyRecord, KeyStatus, Source};
use linkdock::store::{DomainScope, KeyDraft, KeyIndex, KeyPatch, NewLink, Store};

const SECS: u32 = 8;
const JSON_BODY: &str = r#"{"id":1,"domain":"go.example.com","slug":"docs","short_url":"http://go.example.com/docs","destination_url":"https://example.com/documentation","title":"Documentation","tags":["docs"],"redirect_code":302,"expires_at":null,"clicks":0,"created_at":"2026-11-26T10:00:00Z","updated_at":"2026-11-26T10:00:00Z"}"#;

struct Run {
    rps: f64,
    p99_ms: f64,
}

fn wrk(url: &str, conns: u32, headers: &[String]) -> Run {
    wrk_for(SECS, url, conns, headers)
}

fn wrk_for(secs: u32, url: &str, conns: u32, headers: &[String]) -> Run {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t2",
        &format!("-c{conns}"),
        &format!("-d{secs}s"),
        "--latency",
    ]);
    for h in headers {
        cmd.args(["-H", h]);
    }
    let out = cmd
        .arg(url)
        .output()
        .expect("wrk is needed: apt-get install wrk");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("Non-2xx")
            || url.contains("missing")
            || url.contains("bare404")
            || url.contains("/docs"),
        "unexpected errors from {url}:\n{text}"
    );
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    let p99_ms = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(|v| parse_latency(v.trim()))
        .unwrap_or(f64::NAN);
    Run { rps, p99_ms }
}

fn parse_latency(v: &str) -> f64 {
    let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
    let n: f64 = num.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        _ => f64::NAN,
    }
}

fn bare_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            HttpServer::new(|| {
                App::new()
                    .route(
                        "/bare302",
                        web::get().to(|| async {
                            HttpResponse::Found()
                                .insert_header(("location", "https://example.com/documentation"))
                                .finish()
                        }),
                    )
                    .route(
                        "/bare404",
                        web::get().to(|| async { HttpResponse::NotFound().body("not found") }),
                    )
                    .route(
                        "/bare-json",
                        web::get().to(|| async {
                            HttpResponse::Ok()
                                .content_type("application/json")
                                .body(JSON_BODY)
                        }),
                    )
            })
            .listen(listener)
            .unwrap()
            .run()
            .await
            .unwrap();
        });
    });
    port
}

struct Seeded {
    port: u16,
    link_id: u64,
    key: String,
    key_id: u64,
    store: std::sync::Arc<Store>,
}

fn linkdock_server(dir: &std::path::Path) -> Seeded {
    linkdock_server_with(dir, 10)
}

/// A server with one domain, one link, `chunks` × 10,000 more links and one API key.
fn linkdock_server_with(dir: &std::path::Path, chunks: usize) -> Seeded {
    let (tx, rx) = mpsc::channel();
    let data = dir.to_owned();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let mut config = Config::embedded();
            config.server.listen = "127.0.0.1:0".parse().unwrap();
            config.storage.data_dir = data;
            std::env::set_var("LINKDOCK_ADMIN_PASSWORD", "bench-password");
            let app = Application::build(config, None).expect("start linkdock");
            let st = app.state().clone();
            let store = &st.store;
            let domain = store
                .create_domain(&Hostname::parse("go.example.com").unwrap())
                .unwrap();
            let link = store
                .create_link(NewLink {
                    domain_id: domain.id,
                    slug: Some(Slug::parse("docs").unwrap()),
                    destination_url: DestinationUrl::parse("https://example.com/documentation")
                        .unwrap(),
                    title: Some(Title::parse("Documentation").unwrap()),
                    tags: Tags::parse(&["docs"]).unwrap(),
                    redirect_code: RedirectCode::DEFAULT,
                    expires_at: None,
                })
                .unwrap();
            let started = Instant::now();
            for chunk in 0..chunks {
                let rows = (0..10_000)
                    .map(|i| NewLink {
                        domain_id: domain.id,
                        slug: Some(Slug::parse(&format!("item-{chunk}-{i}")).unwrap()),
                        destination_url: DestinationUrl::parse(&format!(
                            "https://example.com/articles/{chunk}/{i}"
                        ))
                        .unwrap(),
                        title: Some(
                            Title::parse(&format!("Article {chunk}-{i} about things")).unwrap(),
                        ),
                        tags: Tags::default(),
                        redirect_code: RedirectCode::DEFAULT,
                        expires_at: None,
                    })
                    .collect();
                store.create_links(rows).unwrap();
            }
            eprintln!(
                "seeded {} links in {:.1}s",
                chunks * 10_000,
                started.elapsed().as_secs_f64()
            );
            let (plain, digest) = issue(&st.rng, &KeyPrefix::default()).unwrap();
            let spec = KeyDraft {
                name: "bench".into(),
                ..KeyDraft::default()
            }
            .validate(&store.catalog, now())
            .unwrap();
            let key = store
                .create_key(spec, plain.display_prefix(), digest, Source::Api)
                .unwrap();
            tx.send(Seeded {
                port: app.port(),
                link_id: link.id,
                key: plain.into_string(),
                key_id: key.id,
                store: std::sync::Arc::clone(&st.store),
            })
            .unwrap();
            app.run_until_stopped().await.unwrap();
        });
    });
    rx.recv_timeout(Duration::from_secs(300))
        .expect("linkdock started")
}

fn verify_cost() -> f64 {
    let index = KeyIndex::default();
    let rng = ring::rand::SystemRandom::new();
    let prefix = KeyPrefix::default();
    let mut probe = String::new();
    let mut records = Vec::new();
    for i in 0..10_000u64 {
        let (plain, digest) = issue(&rng, &prefix).unwrap();
        records.push(KeyRecord {
            id: i,
            name: KeyName::parse("k").unwrap(),
            prefix: plain.display_prefix(),
            digest,
            domains: vec![1, 2],
            ip: IpPolicy::Only(
                AllowList::parse("ip", &["10.0.0.0/8", "127.0.0.1", "2001:db8::/32"]).unwrap(),
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
        });
        if i == 5_000 {
            probe = plain.into_string();
        }
    }
    index.replace_all(&records);
    let ip: IpAddr = "127.0.0.1".parse().unwrap();
    let n = 200_000;
    let t = now();
    let started = Instant::now();
    for _ in 0..n {
        std::hint::black_box(
            index
                .verify(std::hint::black_box(&probe), &prefix, ip, t)
                .unwrap(),
        );
    }
    started.elapsed().as_nanos() as f64 / f64::from(n) / 1000.0
}

/// In-process cost of verifying a key and counting the request against its rate limit, in µs:
/// (without a limit, with one that is never reached).
fn verify_and_count_cost() -> (f64, f64) {
    let rng = ring::rand::SystemRandom::new();
    let prefix = KeyPrefix::default();
    let index = KeyIndex::default();
    let mut probes = Vec::new();
    let mut records = Vec::new();
    for (i, limit) in [
        (1u64, None),
        (
            2,
            Some(linkdock::domain::PerMinute::parse("r", 1_000_000).unwrap()),
        ),
    ] {
        let (plain, digest) = issue(&rng, &prefix).unwrap();
        records.push(KeyRecord {
            id: i,
            name: KeyName::parse("k").unwrap(),
            prefix: plain.display_prefix(),
            digest,
            domains: vec![],
            ip: IpPolicy::Any,
            expires_at: None,
            status: KeyStatus::Active,
            source: Source::Api,
            created_at: now(),
            updated_at: now(),
            permissions: Permissions::ALL,
            rate_limit: limit,
            rotated_to: None,
            rotated_at: None,
            rotated_from: None,
        });
        probes.push(plain.into_string());
    }
    index.replace_all(&records);
    let ip: IpAddr = "127.0.0.1".parse().unwrap();
    let time = |probe: &str| {
        let n = 200_000;
        let started = Instant::now();
        for _ in 0..n {
            let t = now();
            let key = index
                .verify(std::hint::black_box(probe), &prefix, ip, t)
                .unwrap();
            std::hint::black_box(key.take_request(t).unwrap());
        }
        started.elapsed().as_nanos() as f64 / f64::from(n) / 1000.0
    };
    // Alternate, so that frequency changes hit both.
    let (mut free, mut limited) = (0.0, 0.0);
    for _ in 0..3 {
        free += time(&probes[0]);
        limited += time(&probes[1]);
    }
    (free / 3.0, limited / 3.0)
}

/// The `keys` suite: one key over HTTP, without and with a rate limit, A/B/A/B.
fn keys_suite() {
    let (free_us, limited_us) = verify_and_count_cost();
    let dir = tempfile::tempdir().unwrap();
    let ld = linkdock_server_with(dir.path(), 0);
    std::thread::sleep(Duration::from_millis(500));
    let auth = format!("Authorization: Bearer {}", ld.key);
    let url = format!("http://127.0.0.1:{}/api/v1/links/{}", ld.port, ld.link_id);
    let set_limit = |limit: Option<u64>| {
        ld.store
            .update_key(
                ld.key_id,
                KeyPatch {
                    rate_limit: Some(
                        limit.map(|n| linkdock::domain::PerMinute::parse("r", n).unwrap()),
                    ),
                    ..KeyPatch::default()
                },
            )
            .unwrap();
    };
    // 5 s runs: two limited runs stay under the 1,000,000 a minute allows even at 100k req/s.
    let (mut free, mut limited) = (Vec::new(), Vec::new());
    for _ in 0..2 {
        set_limit(None);
        free.push(wrk_for(5, &url, 64, std::slice::from_ref(&auth)));
        set_limit(Some(1_000_000));
        limited.push(wrk_for(5, &url, 64, std::slice::from_ref(&auth)));
    }
    let mean = |runs: &[Run]| runs.iter().map(|r| r.rps).sum::<f64>() / runs.len() as f64;
    let p99 = |runs: &[Run]| runs.iter().map(|r| r.p99_ms).fold(0.0, f64::max);
    let (free_rps, limited_rps) = (mean(&free), mean(&limited));
    println!();
    println!("| `GET /api/v1/links/{{id}}`, one API key, 64 connections | req/s | p99 ms |");
    println!("|---|---|---|");
    println!(
        "| without a rate limit | {free_rps:.0} | {:.2} |",
        p99(&free)
    );
    println!(
        "| with `rate_limit_per_minute` = 1000000 (headers on every answer) | {limited_rps:.0} | {:.2} |",
        p99(&limited)
    );
    println!(
        "| with a limit / without | {:.1}% | |",
        100.0 * limited_rps / free_rps
    );
    println!();
    println!("In process, verify + count the request: {free_us:.3} µs without a limit, {limited_us:.3} µs with one");
}

/// In-process cost of one search over the catalog (no HTTP): (every link matches, one matches).
fn search_cost() -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let store = linkdock::store::Store::open(dir.path()).unwrap();
    let domain = store
        .create_domain(&Hostname::parse("go.example.com").unwrap())
        .unwrap();
    for chunk in 0..10 {
        let rows = (0..10_000)
            .map(|i| NewLink {
                domain_id: domain.id,
                slug: Some(Slug::parse(&format!("item-{chunk}-{i}")).unwrap()),
                destination_url: DestinationUrl::parse(&format!(
                    "https://example.com/articles/{chunk}/{i}"
                ))
                .unwrap(),
                title: Some(Title::parse(&format!("Article {chunk}-{i} about things")).unwrap()),
                tags: Tags::default(),
                redirect_code: RedirectCode::DEFAULT,
                expires_at: None,
            })
            .collect();
        store.create_links(rows).unwrap();
    }
    let scope = DomainScope::All;
    let time = |needle: &str| {
        let filter = linkdock::store::LinkFilter {
            search: Some(needle),
            domain: None,
            tag: None,
        };
        let n = 50;
        let started = Instant::now();
        for _ in 0..n {
            std::hint::black_box(store.catalog.links(&scope, &filter, 0, 50));
        }
        started.elapsed().as_secs_f64() * 1000.0 / f64::from(n)
    };
    (time("article"), time("item-7-4242"))
}

fn main() {
    if std::env::args().any(|a| a == "search") {
        let (all, one) = search_cost();
        println!("in-process search over 100,000 links: every link matches {all:.2} ms, one matches {one:.2} ms");
        return;
    }
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("wrk not found: apt-get install wrk");
        std::process::exit(2);
    }
    linkdock::telemetry::init(LogFormat::Text, LogLevel::Warn);
    if std::env::args().any(|a| a == "keys") {
        keys_suite();
        return;
    }
    let verify_us = verify_cost();
    let (search_all_ms, search_one_ms) = search_cost();
    let dir = tempfile::tempdir().unwrap();
    let bare = bare_server();
    let ld = linkdock_server(dir.path());
    std::thread::sleep(Duration::from_millis(500));
    let host = "Host: go.example.com".to_owned();
    let auth = format!("Authorization: Bearer {}", ld.key);
    let b = |p: &str| format!("http://127.0.0.1:{bare}{p}");
    let l = |p: &str| format!("http://127.0.0.1:{}{p}", ld.port);

    let bare302 = wrk(&b("/bare302"), 64, &[]);
    let redirect = wrk(&l("/docs"), 64, std::slice::from_ref(&host));
    let bare404 = wrk(&b("/bare404"), 64, &[]);
    let missing = wrk(&l("/missing"), 64, std::slice::from_ref(&host));
    let bare_json = wrk(&b("/bare-json"), 64, &[]);
    let get_link = wrk(
        &l(&format!("/api/v1/links/{}", ld.link_id)),
        64,
        std::slice::from_ref(&auth),
    );
    let search_all = wrk(
        &l("/api/v1/links?search=article&limit=50"),
        4,
        std::slice::from_ref(&auth),
    );
    let search_one = wrk(
        &l("/api/v1/links?search=item-7-4242&limit=50"),
        4,
        std::slice::from_ref(&auth),
    );

    let row = |name: &str, r: &Run, base: &Run| {
        println!(
            "| {name} | {:.0} | {:.2} | {:.0} | {:.2} | {:.0}% |",
            r.rps,
            r.p99_ms,
            base.rps,
            base.p99_ms,
            100.0 * r.rps / base.rps
        );
    };
    println!();
    println!("| scenario | linkdock req/s | p99 ms | bare actix req/s | bare p99 ms | ratio |");
    println!("|---|---|---|---|---|---|");
    row("redirect (302, existing link)", &redirect, &bare302);
    row("unknown slug (404)", &missing, &bare404);
    row("GET /api/v1/links/{id} with API key", &get_link, &bare_json);
    println!();
    println!("| search over 100,000 links, limit=50, 4 connections | req/s | p99 ms |");
    println!("|---|---|---|");
    println!(
        "| `search=article` (every link matches) | {:.0} | {:.2} |",
        search_all.rps, search_all.p99_ms
    );
    println!(
        "| `search=item-7-4242` (one link matches) | {:.0} | {:.2} |",
        search_one.rps, search_one.p99_ms
    );
    println!();
    println!("In-process search over 100,000 links (no HTTP): every link matches {search_all_ms:.2} ms, one matches {search_one_ms:.2} ms");
    println!();
    println!("API key verification (parse, checksum, SHA-256, index of 10,000 keys, status, expiry, IP): {verify_us:.2} µs");
}
