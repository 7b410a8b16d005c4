//! Three nodes on one PostgreSQL database (issue 19, points 3 and 4): what one node changes,
//! the others enforce (how fast is the benchmark's to say); clicks are counted exactly once; a killed node loses
//! no acknowledged write; a node cut off from the database fails safe; rate limits hold
//! across nodes. Under `CI` these fail when PostgreSQL is missing; elsewhere they skip.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::proxy::Proxy;
use crate::support::{call, expect, pg, spawn_node, spawn_nodes, Options, Session, TestApp};

/// How long a test waits for a change to reach another node before it calls it lost. Not the
/// 1 s of issue 19 point 3: timing is the benchmark's to measure (`cargo bench --bench http --
/// postgres`, revoke propagation p50/p99), a loaded test machine only says whether it arrives.
/// Each test prints the time it took.
const WITHIN: Duration = Duration::from_secs(10);

fn with_key(app: &TestApp, key: &str, path: &str) -> reqwest::RequestBuilder {
    app.http.get(app.url(path)).bearer_auth(key)
}

/// Poll `check` every 20 ms until it holds; panic past `limit`. Returns how long it took.
async fn until<F, Fut>(what: &str, limit: Duration, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{what}: not within {limit:?} (still not after {:?})",
            start.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn status(req: reqwest::RequestBuilder) -> u16 {
    req.send().await.unwrap().status().as_u16()
}

async fn new_key(admin: &Session, body: Value) -> (String, u64) {
    let v = admin.post_json("/api/v1/api-keys", body, 201).await;
    (
        v["key"].as_str().unwrap().to_owned(),
        v["id"].as_u64().unwrap(),
    )
}

/// A key changed on A (by `change`) must be refused on C, with `refused` as status (the time it
/// took is printed).
async fn refused_on_c_after(
    a: &Session,
    c: &TestApp,
    what: &str,
    refused: u16,
    path: &str,
    body: Value,
    change: impl AsyncFnOnce(&Session, u64),
) {
    let (key, id) = new_key(a, body).await;
    // C learns of the key first (a new key is itself a change that must travel).
    until(&format!("{what}: new key works on C"), WITHIN, || async {
        status(with_key(c, &key, path)).await == 200
    })
    .await;
    change(a, id).await;
    let took = until(&format!("{what} on A, refused on C"), WITHIN, || async {
        status(with_key(c, &key, path)).await == refused
    })
    .await;
    eprintln!("{what} on A refused on C after {took:?}");
}

#[tokio::test]
async fn a_key_revoked_rolled_disabled_or_narrowed_on_a_is_refused_on_c() {
    if second_run() {
        return;
    }
    let Some((nodes, _)) = spawn_nodes(3, Options::default()).await else {
        return;
    };
    let (a, c) = (nodes[0].admin().await, &nodes[2]);
    let any = json!({"name": "k"});
    // No grace on the roll: the old key is rotated at once.
    for (what, created) in [("revoke", 200), ("roll", 201), ("disable", 200)] {
        refused_on_c_after(
            &a,
            c,
            what,
            401,
            "/api/v1/links",
            any.clone(),
            async |a, id| {
                a.post_json(&format!("/api/v1/api-keys/{id}/{what}"), json!({}), created)
                    .await;
            },
        )
        .await;
    }
    let narrow = json!({"name": "k", "permissions": ["links:read", "domains:read"]});
    refused_on_c_after(
        &a,
        c,
        "permission removed",
        403,
        "/api/v1/domains",
        narrow,
        async |a, id| {
            call(
                a.put(&format!("/api/v1/api-keys/{id}"))
                    .json(&json!({"permissions": ["links:read"]})),
                200,
            )
            .await;
        },
    )
    .await;
}

/// The suite's PostgreSQL run: these tests start their own PostgreSQL nodes whatever the run,
/// so they run once, in the main run.
fn second_run() -> bool {
    let second = crate::support::on_postgres();
    if second {
        eprintln!(
            "cluster tests run once, in the main run (each starts its own nodes on PostgreSQL)"
        );
    }
    second
}

/// The same signed-in browser, talking to another node (cookies ignore the port).
fn on(s: &Session, node: &TestApp) -> Session {
    Session {
        http: s.http.clone(),
        csrf: s.csrf.clone(),
        base: node.base.clone(),
    }
}

#[tokio::test]
async fn a_session_made_on_a_works_on_b_and_signing_out_on_b_ends_it_on_a() {
    if second_run() {
        return;
    }
    let Some((nodes, _)) = spawn_nodes(3, Options::default()).await else {
        return;
    };
    let on_a = nodes[0].admin().await;
    let on_b = on(&on_a, &nodes[1]);
    call(on_b.get("/api/v1/session"), 200).await;
    call(on_b.delete("/api/v1/session"), 204).await;
    // The browser's jar dropped the cookie on sign-out: present the old one as a thief would.
    let took = until("signed out on B, refused on A", WITHIN, || async {
        status(on_a.get("/api/v1/session")).await == 401
    })
    .await;
    eprintln!("sign-out on B seen on A after {took:?}");
}

#[tokio::test]
async fn links_and_domains_made_on_one_node_are_served_by_the_others() {
    if second_run() {
        return;
    }
    let Some((nodes, _)) = spawn_nodes(3, Options::default()).await else {
        return;
    };
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    let admin_a = a.admin().await;
    admin_a.domain("go.example.com").await;
    let link = admin_a
        .post_json(
            "/api/v1/links",
            json!({"domain": "go.example.com", "slug": "x", "destination_url": "https://example.com/x"}),
            201,
        )
        .await;
    let redirect = |n: &TestApp| n.http.get(n.url("/x")).header("host", "go.example.com");
    for (name, n) in [("B", b), ("C", c)] {
        let took = until(
            &format!("link from A redirects on {name}"),
            WITHIN,
            || async { status(redirect(n)).await == 302 },
        )
        .await;
        eprintln!("link made on A redirects on {name} after {took:?}");
    }
    let admin_c = on(&admin_a, c);
    call(
        admin_c.delete(&format!("/api/v1/links/{}", link["id"])),
        204,
    )
    .await;
    let took = until("link deleted on C, gone on A", WITHIN, || async {
        status(redirect(a)).await == 404
    })
    .await;
    eprintln!("link deleted on C gone on A after {took:?}");
    let admin_b = on(&admin_a, b);
    admin_b.domain("b.example.com").await;
    let took = until("domain added on B, listed on A", WITHIN, || async {
        let list = call(admin_a.get("/api/v1/domains"), 200).await;
        list.to_string().contains("b.example.com")
    })
    .await;
    eprintln!("domain added on B listed on A after {took:?}");
}

/// A link on go.example.com made through `s`'s node.
async fn made_on(s: &Session, slug: &str) -> Value {
    s.post_json(
        "/api/v1/links",
        json!({"domain": "go.example.com", "slug": slug, "destination_url": "https://example.com/other"}),
        201,
    )
    .await
}

/// An import commits in chunks of 2,000 rows; the importing node applies its own chunks and
/// does not read them back from the change feed. Every node serves every imported link, a
/// slug another node took first is skipped, and commits of other nodes before and after
/// still reach the importing node.
#[tokio::test]
async fn an_import_on_one_node_reaches_every_node_whole() {
    if second_run() {
        return;
    }
    let Some((nodes, _)) = spawn_nodes(3, Options::default()).await else {
        return;
    };
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    let admin_a = a.admin().await;
    admin_a.domain("go.example.com").await;
    // A handler resolves the domain from its node's catalog before it writes: the domain
    // must have reached B and C first.
    for (name, n) in [("B", b), ("C", c)] {
        until(
            &format!("domain from A listed on {name}"),
            WITHIN,
            || async {
                let list = call(on(&admin_a, n).get("/api/v1/domains"), 200).await;
                list.to_string().contains("go.example.com")
            },
        )
        .await;
    }
    made_on(&on(&admin_a, b), "s2500").await;
    let mut csv = String::from("domain,slug,destination_url\n");
    for i in 0..4_500 {
        csv.push_str(&format!("go.example.com,s{i},https://example.com/{i}\n"));
    }
    csv.push_str("go.example.com,bad,javascript:alert(1)\n");
    let file = reqwest::multipart::Part::bytes(csv.into_bytes())
        .file_name("links.csv")
        .mime_str("text/csv")
        .unwrap();
    let res = admin_a
        .post("/api/v1/links/import")
        .multipart(reqwest::multipart::Form::new().part("file", file))
        .send()
        .await
        .unwrap();
    let r = expect(res, 200).await;
    assert_eq!(
        (&r["created"], &r["skipped"], &r["failed"]),
        (&json!(4_499), &json!(1), &json!(1)),
        "{r}"
    );
    // After the import: C writes, then A writes (catching up with C first).
    made_on(&on(&admin_a, c), "from-c").await;
    made_on(&admin_a, "from-a").await;
    let redirect = |n: &TestApp, slug: &str| {
        n.http
            .get(n.url(&format!("/{slug}")))
            .header("host", "go.example.com")
    };
    for (name, n) in [("A", a), ("B", b), ("C", c)] {
        let took = until(&format!("{name} lists every link"), WITHIN, || async {
            let list = call(on(&admin_a, n).get("/api/v1/links?limit=1"), 200).await;
            list["total"] == 4_502
        })
        .await;
        eprintln!("{name} lists every link after {took:?}");
        for slug in ["s0", "s1999", "s2000", "s4499", "from-c", "from-a"] {
            assert_eq!(status(redirect(n, slug)).await, 302, "{slug} on {name}");
        }
        let kept = redirect(n, "s2500").send().await.unwrap();
        assert_eq!(
            kept.headers()["location"],
            "https://example.com/other",
            "B's link stays B's on {name}"
        );
    }
}

#[tokio::test]
async fn clicks_served_by_three_nodes_under_load_are_counted_exactly_once() {
    if second_run() {
        return;
    }
    let Some((nodes, _)) = spawn_nodes(3, Options::default()).await else {
        return;
    };
    let admin = nodes[0].admin().await;
    admin.domain("go.example.com").await;
    let link = admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "go.example.com", "slug": "hot", "destination_url": "https://example.com/"}),
            201,
        )
        .await;
    for n in &nodes[1..] {
        until("link known everywhere", WITHIN, || async {
            status(n.http.get(n.url("/hot")).header("host", "go.example.com")).await == 302
        })
        .await;
    }
    let served = Arc::new(AtomicU32::new(0));
    let mut tasks = Vec::new();
    for n in &nodes {
        for _ in 0..10 {
            let (http, url, served) = (n.http.clone(), n.url("/hot"), Arc::clone(&served));
            tasks.push(tokio::spawn(async move {
                for _ in 0..50 {
                    let res = http.get(&url).header("host", "go.example.com").send().await;
                    if res.is_ok_and(|r| r.status() == StatusCode::FOUND) {
                        served.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    // Before this test's nodes were warm, each served one more redirect above.
    let served = served.load(Ordering::Relaxed) + 2;
    assert_eq!(served, 1502, "every redirect of the load was answered 302");
    let path = format!("/api/v1/links/{}", link["id"]);
    // The writers flush every 500 ms; wait for the count to stop moving, then check it
    // on every node.
    let mut last = u64::MAX;
    let mut stable = 0;
    let start = Instant::now();
    while stable < 4 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the click count never settled"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = call(admin.get(&path), 200).await["clicks"]
            .as_u64()
            .unwrap();
        stable = if now == last { stable + 1 } else { 0 };
        last = now;
    }
    for (i, n) in nodes.iter().enumerate() {
        let s = on(&admin, n);
        let got = call(s.get(&path), 200).await["clicks"].as_u64().unwrap();
        assert_eq!(got, u64::from(served), "clicks read on node {i}");
    }
}

#[tokio::test]
async fn killing_a_node_during_writes_loses_no_acknowledged_link() {
    if second_run() {
        return;
    }
    let Some((nodes, _)) = spawn_nodes(3, Options::default()).await else {
        return;
    };
    let (admin_node, victim, a) = (&nodes[0], &nodes[1], &nodes[2]);
    let admin = admin_node.admin().await;
    admin.domain("go.example.com").await;
    let writer = on(&admin, victim);
    until("the domain reaches the victim", WITHIN, || async {
        call(writer.get("/api/v1/domains"), 200)
            .await
            .to_string()
            .contains("go.example.com")
    })
    .await;
    let writing = tokio::spawn(async move {
        let mut acknowledged = Vec::new();
        for i in 0.. {
            let res = writer
                .post("/api/v1/links")
                .json(&json!({"domain": "go.example.com", "slug": format!("k{i}"),
                               "destination_url": "https://example.com/"}))
                .send()
                .await;
            match res {
                Ok(r) if r.status() == StatusCode::CREATED => acknowledged.push(format!("k{i}")),
                Ok(r) => panic!("link {i}: {} {}", r.status(), r.text().await.unwrap()),
                Err(_) => break, // the node is gone
            }
        }
        acknowledged
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &victim.pid().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let acknowledged = tokio::time::timeout(Duration::from_secs(10), writing)
        .await
        .expect("the writer stopped when the node died")
        .unwrap();
    assert!(
        acknowledged.len() > 5,
        "only {} writes before the kill",
        acknowledged.len()
    );
    let start = Instant::now();
    for slug in &acknowledged {
        until(
            &format!("{slug}, acknowledged, redirects on C"),
            WITHIN * 2,
            || async {
                let res = a
                    .http
                    .get(a.url(&format!("/{slug}")))
                    .header("host", "go.example.com");
                status(res).await == 302
            },
        )
        .await;
    }
    let took = start.elapsed();
    eprintln!(
        "{} acknowledged links all on A ({took:?})",
        acknowledged.len()
    );
}

#[tokio::test]
async fn a_node_cut_off_from_the_database_refuses_keys_serves_redirects_and_recovers() {
    if second_run() {
        return;
    }
    let Some(url) = pg::fresh_database() else {
        return;
    };
    let port = pg::port().unwrap();
    let proxy = Proxy::start(SocketAddr::from(([127, 0, 0, 1], port)));
    let via_proxy = url.replace(&format!(":{port}/"), &format!(":{}/", proxy.port));
    assert_ne!(via_proxy, url);
    let a = spawn_node(&url, Options::default()).await;
    let cut_off = spawn_node(&via_proxy, Options::default()).await;
    let admin = a.admin().await;
    admin.domain("go.example.com").await;
    admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "go.example.com", "slug": "r", "destination_url": "https://example.com/"}),
            201,
        )
        .await;
    let (key, _) = new_key(&admin, json!({"name": "k"})).await;
    until("key and link reach the node", WITHIN, || async {
        status(with_key(&cut_off, &key, "/api/v1/links")).await == 200
            && status(
                cut_off
                    .http
                    .get(cut_off.url("/r"))
                    .header("host", "go.example.com"),
            )
            .await
                == 302
    })
    .await;

    proxy.cut();
    let took = until(
        "keyed calls refused once cut off",
        Duration::from_secs(20),
        || async { status(with_key(&cut_off, &key, "/api/v1/links")).await == 503 },
    )
    .await;
    eprintln!("cut off: keyed calls answer 503 after {took:?}");
    let res = with_key(&cut_off, &key, "/api/v1/links")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem = expect(res, 503).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("database"),
        "the 503 says why: {problem}"
    );
    let res = cut_off
        .http
        .get(cut_off.url("/r"))
        .header("host", "go.example.com");
    assert_eq!(status(res).await, 302, "redirects go on from memory");

    proxy.restore();
    let took = until(
        "keyed calls work again",
        Duration::from_secs(10),
        || async { status(with_key(&cut_off, &key, "/api/v1/links")).await == 200 },
    )
    .await;
    eprintln!("restored: keyed calls work after {took:?}");
}

/// Move each node's clock to the first second of the next minute, so a test that counts
/// per minute does not straddle two windows.
fn to_next_minute(nodes: &[TestApp]) -> Duration {
    // One reading for all: the minute may turn between two nodes.
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let ahead = Duration::from_secs(60 - secs % 60 + 1);
    for n in nodes {
        n.advance_clock(ahead);
    }
    ahead
}

/// Options for nodes whose clock the test moves.
fn clocked() -> Options {
    Options {
        test_clock: true,
        ..Options::default()
    }
}

/// Nodes on one database, and a key every one of them knows.
struct KeyOnNodes {
    nodes: Vec<TestApp>,
    url: String,
    admin: Session,
    key: String,
    id: u64,
}

/// `n` nodes on one fresh database (clocks the test moves) with a key made from `body` on the
/// first, known on every node; `None` (after the SKIPPED line) when PostgreSQL is not
/// installed outside CI.
async fn key_on_nodes(n: usize, body: Value) -> Option<KeyOnNodes> {
    let (nodes, url) = spawn_nodes(n, clocked()).await?;
    let admin = nodes[0].admin().await;
    let (key, id) = new_key(&admin, body).await;
    for node in &nodes {
        until("key known everywhere", WITHIN, || async {
            status(with_key(node, &key, "/api/v1/keys/current")).await == 200
        })
        .await;
    }
    Some(KeyOnNodes {
        nodes,
        url,
        admin,
        key,
        id,
    })
}

#[tokio::test]
async fn a_keys_rate_limit_holds_across_nodes_within_ten_percent() {
    if second_run() {
        return;
    }
    let Some(KeyOnNodes { nodes, key, .. }) =
        key_on_nodes(3, json!({"name": "k", "rate_limit_per_minute": 60})).await
    else {
        return;
    };
    to_next_minute(&nodes);
    // Three times the limit, round-robin, over about three seconds: syncs happen meanwhile.
    let mut passed = 0;
    for i in 0..180 {
        let n = &nodes[i % 3];
        match status(with_key(n, &key, "/api/v1/links")).await {
            200 => passed += 1,
            429 => {}
            other => panic!("request {i}: {other}"),
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    eprintln!("rate limit 60/min over 3 nodes: {passed} of 180 passed");
    assert!(
        (54..=66).contains(&passed),
        "a limit of 60/min let {passed} requests pass over 3 nodes"
    );
}

/// `n` nodes with a failed-auth limit of 10 a minute, a key they all refuse (a well-formed
/// key of this server's shape that was never issued: a revoked one), at a fresh minute.
async fn nodes_with_a_revoked_key(n: usize) -> Option<(Vec<TestApp>, String)> {
    let opts = Options {
        test_clock: true,
        extra_toml: "max_failed_auth_per_minute = 10\n".into(),
        ..Options::default()
    };
    let (nodes, _) = spawn_nodes(n, opts).await?;
    let admin = nodes[0].admin().await;
    let (key, id) = new_key(&admin, json!({"name": "gone"})).await;
    admin
        .post_json(&format!("/api/v1/api-keys/{id}/revoke"), json!({}), 200)
        .await;
    for node in &nodes {
        until("revocation known everywhere", WITHIN, || async {
            status(with_key(node, &key, "/api/v1/links")).await == 401
        })
        .await;
    }
    to_next_minute(&nodes);
    Some((nodes, key))
}

#[tokio::test]
async fn failed_key_checks_are_limited_across_nodes_to_the_limit_plus_one_per_node() {
    if second_run() {
        return;
    }
    let Some((nodes, key)) = nodes_with_a_revoked_key(3).await else {
        return;
    };
    let mut counted = 0;
    for i in 0..60 {
        let n = &nodes[i % 3];
        match status(with_key(n, &key, "/api/v1/links")).await {
            401 => counted += 1,
            429 => {}
            other => panic!("attempt {i}: {other}"),
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    eprintln!("failed-auth limit 10/min over 3 nodes: {counted} of 60 counted");
    assert!(
        (10..=13).contains(&counted),
        "a failed-auth limit of 10/min let {counted} failures through 3 nodes"
    );
}

/// Failures from one client faster than the nodes sync get `Retry-After: 1` while a node
/// waits to share its last one; those 429s are not failures spent. Counted as failures, ten
/// quick attempts used up the node's own limit of 10 with only a few 401s among them, and
/// the client was shut out for the rest of the minute.
#[tokio::test]
async fn a_fast_failing_client_reaches_its_limit_not_a_lockout() {
    if second_run() {
        return;
    }
    let Some((nodes, key)) = nodes_with_a_revoked_key(2).await else {
        return;
    };
    // Back to back on one node, until a 429 says to wait the minute out (or three seconds
    // pass). The node's own count is by its own minute, not the test clock's: the one failure
    // of the check above on this node still counts there, so nine are left of ten.
    let mut counted = 0;
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        let res = with_key(&nodes[0], &key, "/api/v1/links")
            .send()
            .await
            .unwrap();
        match res.status().as_u16() {
            401 => counted += 1,
            429 if retry_after(&res) > 1 => break,
            429 => {}
            other => panic!("{other}"),
        }
    }
    assert!(
        (9..=11).contains(&counted),
        "a fast client got {counted} failures counted before being told to wait the minute out"
    );
}

/// The `Retry-After` seconds of an answer (0 without).
fn retry_after(res: &reqwest::Response) -> u64 {
    res.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .unwrap_or(0)
}

/// The `RateLimit-Policy` limit an answer carries (0 without one).
fn policy(res: &reqwest::Response) -> u32 {
    res.headers()
        .get("ratelimit-policy")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next()?.parse().ok())
        .unwrap_or(0)
}

/// A limit just added is a window no node has synced yet: each node must take only its part
/// of it, not the whole limit, until its first sync.
#[tokio::test]
async fn a_burst_on_three_nodes_right_after_a_limit_is_added_stays_within_it() {
    if second_run() {
        return;
    }
    let Some(KeyOnNodes {
        nodes,
        admin,
        key,
        id,
        ..
    }) = key_on_nodes(3, json!({"name": "burst"})).await
    else {
        return;
    };
    to_next_minute(&nodes);
    call(
        admin
            .put(&format!("/api/v1/api-keys/{id}"))
            .json(&json!({"rate_limit_per_minute": 60})),
        200,
    )
    .await;
    // Eight clients per node for two seconds, retrying when only a node's claim is used up
    // (`Retry-After: 1`) and stopping when the limit is (a longer one): the first limited
    // answers come as soon as a node learns of the limit, before it syncs.
    let passed = Arc::new(AtomicU32::new(0));
    let mut tasks = Vec::new();
    for n in &nodes {
        for _ in 0..8 {
            let (http, url, key) = (n.http.clone(), n.url("/api/v1/links"), key.clone());
            let passed = Arc::clone(&passed);
            tasks.push(tokio::spawn(async move {
                let start = Instant::now();
                let mut limited = false;
                while start.elapsed() < Duration::from_secs(2) {
                    let res = http.get(&url).bearer_auth(&key).send().await.unwrap();
                    match (res.status().as_u16(), policy(&res)) {
                        (200, 60) => {
                            passed.fetch_add(1, Ordering::Relaxed);
                        }
                        (200, _) => {} // the limit has not reached this node yet
                        (429, _) if retry_after(&res) == 1 => {
                            limited = true;
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        (429, _) => return,
                        (other, _) => panic!("burst: {other}"),
                    }
                }
                assert!(limited, "never limited within 2 s");
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    // Stragglers after the clients stopped: none may pass past the limit either.
    for n in &nodes {
        let res = with_key(n, &key, "/api/v1/links").send().await.unwrap();
        if res.status() == StatusCode::OK && policy(&res) == 60 {
            passed.fetch_add(1, Ordering::Relaxed);
        }
    }
    let passed = passed.load(Ordering::Relaxed);
    eprintln!("a burst on 3 nodes against a new limit of 60/min: {passed} passed");
    // Each node spends its part (20) before any sync, and counts past it only on a claim
    // recorded under the cluster's write lock out of what no node holds: 60 at most. When
    // a node's first sync granted its part of what the others had reported, 70 to 110 passed.
    assert!(
        (54..=66).contains(&passed),
        "a new limit of 60/min let {passed} requests pass over 3 nodes"
    );
}

/// A key used on one node alone (a sticky balancer) is not held to that node's part: the
/// idle nodes give back what they hold, down to a small reserve, and the busy one claims it.
#[tokio::test]
async fn a_key_used_on_one_node_alone_gets_nearly_its_whole_limit_and_no_more() {
    if second_run() {
        return;
    }
    let Some(KeyOnNodes { nodes, key, .. }) =
        key_on_nodes(3, json!({"name": "sticky", "rate_limit_per_minute": 60})).await
    else {
        return;
    };
    to_next_minute(&nodes);
    // Node A alone, until nine tenths of the limit passed (each idle node keeps a reserve of
    // 2), then all three nodes in turn: together they may not pass the limit.
    let mut passed = 0;
    let start = Instant::now();
    while passed < 54 {
        assert!(
            start.elapsed() < WITHIN,
            "a key used on one node alone got {passed} of 60 within {WITHIN:?}"
        );
        match status(with_key(&nodes[0], &key, "/api/v1/links")).await {
            200 => passed += 1,
            429 => tokio::time::sleep(Duration::from_millis(20)).await,
            other => panic!("request on A: {other}"),
        }
    }
    for i in 0..90 {
        if status(with_key(&nodes[i % 3], &key, "/api/v1/links")).await == 200 {
            passed += 1;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!("a key used on node A alone, then on all three, limit 60/min: {passed} passed");
    assert!(
        passed <= 60,
        "a limit of 60/min let {passed} pass over 3 nodes"
    );
}

/// A node that joins mid-minute shrinks every node's part: the nodes that counted past their
/// new part record it, and the new node's part gives way, so the three together stay within
/// the limit the two had nearly spent.
#[tokio::test]
async fn a_node_joining_mid_minute_does_not_reopen_a_spent_limit() {
    if second_run() {
        return;
    }
    let Some(KeyOnNodes {
        mut nodes,
        url,
        key,
        ..
    }) = key_on_nodes(2, json!({"name": "join", "rate_limit_per_minute": 60})).await
    else {
        return;
    };
    let ahead = to_next_minute(&nodes);
    // Two nodes, parts of 30: 28 each.
    let mut passed = 0;
    for i in 0..56 {
        passed += u32::from(status(with_key(&nodes[i % 2], &key, "/api/v1/links")).await == 200);
    }
    assert_eq!(passed, 56, "within both parts");
    let c = spawn_node(&url, clocked()).await;
    c.advance_clock(ahead);
    // Until C has synced in this minute and given way (its part alone would be 20).
    until("the new node's part gives way", WITHIN, || async {
        let res = with_key(&c, &key, "/api/v1/keys/current")
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        body["rate_limit"]["remaining"]
            .as_u64()
            .is_some_and(|r| r < 20)
    })
    .await;
    nodes.push(c);
    for i in 0..90 {
        passed += u32::from(status(with_key(&nodes[i % 3], &key, "/api/v1/links")).await == 200);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!("a limit of 60/min, 56 spent on 2 nodes, then a third joined: {passed} passed");
    assert!(
        passed <= 66,
        "a limit of 60/min let {passed} pass when a node joined mid-minute"
    );
}

/// A node that stops mid-minute keeps what it counted counted, and its part is not handed to
/// the others before the minute ends.
#[tokio::test]
async fn a_node_stopping_mid_minute_does_not_hand_its_counts_out_again() {
    if second_run() {
        return;
    }
    let Some(KeyOnNodes { mut nodes, key, .. }) =
        key_on_nodes(3, json!({"name": "stop", "rate_limit_per_minute": 60})).await
    else {
        return;
    };
    to_next_minute(&nodes);
    // C serves 9 (under half its part of 20: nothing recorded), then stops.
    let mut passed = 0;
    for _ in 0..9 {
        passed += u32::from(status(with_key(&nodes[2], &key, "/api/v1/links")).await == 200);
    }
    let mut c = nodes.pop().unwrap();
    assert!(c.terminate().await, "a clean stop:\n{}", c.logs());
    for i in 0..100 {
        passed += u32::from(status(with_key(&nodes[i % 2], &key, "/api/v1/links")).await == 200);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!(
        "a limit of 60/min, 9 on a node that then stopped, then the other two: {passed} passed"
    );
    assert!(
        passed <= 60,
        "a limit of 60/min let {passed} pass when a node stopped mid-minute"
    );
}

/// The keys of a roll chain share one window; the live key's limit is the one that counts
/// for it, whichever key the index lists first.
#[tokio::test]
async fn a_rolled_keys_raised_limit_holds_on_every_node() {
    if second_run() {
        return;
    }
    let opts = Options {
        test_clock: true,
        ..Options::default()
    };
    let Some((nodes, _)) = spawn_nodes(3, opts).await else {
        return;
    };
    let admin = nodes[0].admin().await;
    let (_, mut id) = new_key(&admin, json!({"name": "chain", "rate_limit_per_minute": 5})).await;
    let grace = json!({"old_key_expires_at": "2099-01-01T00:00:00Z"});
    // Two rolls with grace: three live keys share the window (the new one is listed first
    // on a node one time in three).
    let mut key = String::new();
    for _ in 0..2 {
        let v = admin
            .post_json(&format!("/api/v1/api-keys/{id}/roll"), grace.clone(), 201)
            .await;
        key = v["key"].as_str().unwrap().to_owned();
        id = v["id"].as_u64().unwrap();
    }
    call(
        admin
            .put(&format!("/api/v1/api-keys/{id}"))
            .json(&json!({"rate_limit_per_minute": 100})),
        200,
    )
    .await;
    for n in &nodes {
        until("the raised limit known everywhere", WITHIN, || async {
            let res = with_key(n, &key, "/api/v1/links").send().await.unwrap();
            res.status() == StatusCode::OK && policy(&res) == 100
        })
        .await;
    }
    to_next_minute(&nodes);
    // 60 of 100, round-robin and slow enough for syncs between: every one passes.
    for i in 0..60 {
        let res = with_key(&nodes[i % 3], &key, "/api/v1/links")
            .send()
            .await
            .unwrap();
        assert_eq!(
            (res.status(), policy(&res)),
            (StatusCode::OK, 100),
            "request {i} on node {} with the live key (limit 100)",
            i % 3
        );
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
}
