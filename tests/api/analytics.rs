//! Issue 22, point 1, over HTTP: a link's clicks per day with referrer hosts, browser and OS
//! families and bots apart (`GET /api/v1/links/{id}/stats`), read like the link itself;
//! bad queries refused; days past `analytics.retention_days` swept; a deleted link's days gone.
//! Countries only with `analytics.geoip_db` (a MaxMind DB written by `support::mmdb`).

use std::time::Duration;

use serde_json::{json, Value};

use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;

use crate::support::mmdb::country_db;
use crate::support::{
    base_config, call, eventually, spawn_app, spawn_with, start, Options, Session, TestApp,
};

const FIREFOX_LINUX: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
const CHROME_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
const GOOGLEBOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

async fn link(admin: &Session, host: &str, slug: &str) -> u64 {
    if call(admin.get("/api/v1/domains"), 200).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["hostname"] != host)
    {
        admin.domain(host).await;
    }
    admin
        .post_json(
            "/api/v1/links",
            json!({"domain": host, "slug": slug, "destination_url": "https://example.com/d"}),
            201,
        )
        .await["id"]
        .as_u64()
        .unwrap()
}

/// Follow a short link as a browser would, with these headers.
async fn click(app: &TestApp, host: &str, slug: &str, ua: &str, referer: Option<&str>) {
    let mut req = app
        .http
        .get(app.url(&format!("/{slug}")))
        .header("host", host)
        .header("user-agent", ua);
    if let Some(r) = referer {
        req = req.header("referer", r);
    }
    assert_eq!(req.send().await.unwrap().status(), 302);
}

/// The stats once the writer has committed `clicks` (people and bots) for the link.
async fn stats_with(admin: &Session, id: u64, query: &str, clicks: u64) -> Value {
    eventually(10, || async {
        let v = call(admin.get(&format!("/api/v1/links/{id}/stats{query}")), 200).await;
        let seen = v["total"].as_u64().unwrap() + v["bots"].as_u64().unwrap();
        (seen == clicks)
            .then_some(v.clone())
            .ok_or(format!("{v:#}"))
    })
    .await
}

fn counts(list: &Value, key: &str) -> Vec<(String, u64)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r[key].as_str().unwrap().to_owned(),
                r["clicks"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn own(rows: &[(&str, u64)]) -> Vec<(String, u64)> {
    rows.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
}

#[tokio::test]
async fn clicks_land_in_their_day_referrer_host_and_families_with_bots_apart() {
    let app = spawn_with(Options {
        test_clock: true,
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    let id = link(&admin, "go.example.com", "docs").await;
    let empty = call(admin.get(&format!("/api/v1/links/{id}/stats")), 200).await;
    assert_eq!(empty["total"], 0);
    assert_eq!(empty["points"].as_array().unwrap().len(), 30);
    assert!(empty["points"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["clicks"] == 0));
    assert!(
        empty.get("countries").is_none(),
        "no GeoIP source: no countries"
    );

    let h = "go.example.com";
    click(
        &app,
        h,
        "docs",
        FIREFOX_LINUX,
        Some("https://News.YCombinator.com/item?id=4242&utm=secret"),
    )
    .await;
    click(&app, h, "docs", CHROME_WINDOWS, None).await;
    click(&app, h, "docs", GOOGLEBOT, Some("https://www.google.com/")).await;
    stats_with(&admin, id, "", 3).await;

    // The next day: two more, one from a phone.
    app.advance_clock(Duration::from_secs(86_400));
    let admin = app.admin().await;
    click(&app, h, "docs", FIREFOX_LINUX, Some("https://t.co/abc")).await;
    click(&app, h, "docs", SAFARI_IPHONE, Some("https://t.co/def")).await;
    let v = stats_with(&admin, id, "?bucket=day", 5).await;

    assert_eq!(v["total"], 4, "people only: {v:#}");
    assert_eq!(v["bots"], 1);
    let points = v["points"].as_array().unwrap();
    assert_eq!(points.len(), 30);
    let clicks: Vec<u64> = points
        .iter()
        .map(|p| p["clicks"].as_u64().unwrap())
        .collect();
    assert_eq!(clicks[28..], [2, 2], "yesterday's two people, today's two");
    assert!(clicks[..28].iter().all(|c| *c == 0));
    let today = points[29]["at"].as_str().unwrap();
    assert!(today.ends_with("T00:00:00Z"), "{today}");
    assert_eq!(
        counts(&v["referrers"], "host"),
        own(&[("t.co", 2), ("direct", 1), ("news.ycombinator.com", 1)])
    );
    assert_eq!(
        counts(&v["browsers"], "name"),
        own(&[("Firefox", 2), ("Chrome", 1), ("Safari", 1)])
    );
    assert_eq!(
        counts(&v["os"], "name"),
        own(&[("Linux", 2), ("Windows 10", 1), ("iPhone", 1)])
    );

    // `since` narrows the range to today: a date or a time, its day in UTC.
    let day = &today[..10];
    let v = call(
        admin.get(&format!("/api/v1/links/{id}/stats?since={day}")),
        200,
    )
    .await;
    assert_eq!(
        (v["total"].as_u64(), v["bots"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(v["points"], json!([{"at": today, "clicks": 2}]));
    let v = call(
        admin.get(&format!(
            "/api/v1/links/{id}/stats?since={day}T23:59:59%2B02:00"
        )),
        200,
    )
    .await;
    assert_eq!(v["points"], json!([{"at": today, "clicks": 2}]));

    // The link's own total counts every click, bots included.
    let l = call(admin.get(&format!("/api/v1/links/{id}")), 200).await;
    assert_eq!(l["clicks"], 5);

    // Only hosts were kept: the referrer's path and query never reach the database.
    let db = app.stored_bytes();
    for needle in ["item?id=4242", "utm=secret", "/abc"] {
        assert!(
            !db.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} stored"
        );
    }
}

#[tokio::test]
async fn stats_are_read_like_the_link_keys_need_links_read_and_the_domain_in_scope() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let a = link(&admin, "a.example.com", "one").await;
    let b = link(&admin, "b.example.com", "two").await;
    let key = |body: Value| {
        let admin = &admin;
        async move {
            admin.post_json("/api/v1/api-keys", body, 201).await["key"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let scoped = key(json!({"name": "scoped", "domains": ["a.example.com"]})).await;
    let writer = key(json!({"name": "no read", "permissions": ["links:write"]})).await;
    let get = |k: &str, id: u64| {
        app.http
            .get(app.url(&format!("/api/v1/links/{id}/stats")))
            .bearer_auth(k)
    };
    let v = call(get(&scoped, a), 200).await;
    assert_eq!(v["total"], 0);
    let p = call(get(&scoped, b), 404).await;
    assert_eq!(p["status"], 404, "out of scope reads as missing");
    let res = get(&writer, a).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert!(res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("scope=\"links:read\""));
    call(
        app.http.get(app.url(&format!("/api/v1/links/{a}/stats"))),
        401,
    )
    .await;
    call(admin.get("/api/v1/links/999999/stats"), 404).await;
}

#[tokio::test]
async fn a_bad_bucket_or_since_is_a_400_problem() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let id = link(&admin, "go.example.com", "x").await;
    for (query, field) in [
        ("bucket=hour", "bucket"),
        ("bucket=", ""),
        ("since=yesterday", "since"),
        ("since=2026-02-30", "since"),
        ("since=9999-01-01", "since"),
        ("since=2026-01-01T00:00:00", "since"),
    ] {
        let res = admin
            .get(&format!("/api/v1/links/{id}/stats?{query}"))
            .send()
            .await
            .unwrap();
        if field.is_empty() {
            assert_eq!(res.status(), 200, "an empty bucket is the default: {query}");
            continue;
        }
        assert_eq!(res.status(), 400, "{query}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["errors"][0]["field"], field, "{query}: {p}");
    }
    let res = admin.get("/api/v1/links/abc/stats").send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn the_sweeper_drops_days_past_the_retention() {
    let app = spawn_with(Options {
        test_clock: true,
        extra_toml: "\n[analytics]\nretention_days = 2\n".into(),
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    let id = link(&admin, "go.example.com", "old").await;
    click(&app, "go.example.com", "old", FIREFOX_LINUX, None).await;
    let first = stats_with(&admin, id, "", 1).await;
    let first_day = first["points"].as_array().unwrap().last().unwrap()["at"]
        .as_str()
        .unwrap()[..10]
        .to_owned();
    assert_eq!(
        first["points"].as_array().unwrap().len(),
        2,
        "two days kept"
    );

    app.advance_clock(Duration::from_secs(3 * 86_400));
    app.wait_for_log("analytics: dropped days past analytics.retention_days", 10)
        .await;
    // With a longer retention again, the first day is in range, and empty: it was dropped.
    app.rewrite_config("\n[analytics]\nretention_days = 400\n");
    app.wait_for_log("configuration reloaded", 10).await;
    let admin = app.admin().await;
    let v = call(
        admin.get(&format!("/api/v1/links/{id}/stats?since={first_day}")),
        200,
    )
    .await;
    assert_eq!(v["points"].as_array().unwrap().len(), 4, "{v:#}");
    assert_eq!(v["total"], 0, "{v:#}");
    // The link's total is not analytics: it stays.
    assert_eq!(
        call(admin.get(&format!("/api/v1/links/{id}")), 200).await["clicks"],
        1
    );
}

#[tokio::test]
async fn a_deleted_links_days_go_with_it() {
    let mut app = spawn_app().await;
    let admin = app.admin().await;
    let gone = link(&admin, "go.example.com", "gone").await;
    let kept = link(&admin, "go.example.com", "kept").await;
    click(&app, "go.example.com", "gone", CHROME_WINDOWS, None).await;
    click(&app, "go.example.com", "kept", CHROME_WINDOWS, None).await;
    stats_with(&admin, gone, "", 1).await;
    stats_with(&admin, kept, "", 1).await;
    call(admin.delete(&format!("/api/v1/links/{gone}")), 204).await;
    call(admin.get(&format!("/api/v1/links/{gone}/stats")), 404).await;
    assert!(app.terminate().await);

    let links = link_days_links(&app);
    assert_eq!(links, [kept], "only the kept link's day is left");
}

/// The link of every stored link-day row, in key order (day, then link), read from the
/// database of a stopped server.
fn link_days_links(app: &TestApp) -> Vec<u64> {
    if crate::support::on_postgres() {
        // Keys (day: u32, link: u64) in the kv seam's ordered form: both big-endian.
        app.pg_keys("link_days_v1")
            .iter()
            .map(|k| {
                assert_eq!(k.len(), 12, "a (u32, u64) key: {k:?}");
                u64::from_be_bytes(k[4..].try_into().unwrap())
            })
            .collect()
    } else {
        let db = redb::Database::open(app.dir.path().join("data/linkdock.redb")).unwrap();
        let tx = redb::ReadableDatabase::begin_read(&db).unwrap();
        const LINK_DAYS: redb::TableDefinition<(u32, u64), &[u8]> =
            redb::TableDefinition::new("link_days_v1");
        let table = tx.open_table(LINK_DAYS).unwrap();
        redb::ReadableTable::iter(&table)
            .unwrap()
            .map(|r| r.unwrap().0.value().1)
            .collect()
    }
}

#[tokio::test]
async fn a_deleted_domains_links_days_go_and_other_links_days_stay() {
    let mut app = spawn_app().await;
    let admin = app.admin().await;
    let kept = link(&admin, "kept.example.com", "kept-1").await;
    let mut gone = Vec::new();
    for i in 0..4 {
        gone.push(link(&admin, "gone.example.com", &format!("gone-{i}")).await);
    }
    let also_kept = link(&admin, "kept.example.com", "kept-2").await;
    for slug in ["kept-1", "kept-2"] {
        click(&app, "kept.example.com", slug, CHROME_WINDOWS, None).await;
    }
    click(&app, "gone.example.com", "gone-0", CHROME_WINDOWS, None).await;
    for id in [kept, also_kept, gone[0]] {
        stats_with(&admin, id, "", 1).await;
    }
    // Four links times one day is more than the three rows: the days go in one pass over the
    // table (`retain`), which must drop the row between the kept ones and nothing else.
    let domain = call(admin.get("/api/v1/domains"), 200).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["hostname"] == "gone.example.com")
        .unwrap()["id"]
        .clone();
    call(
        admin.delete(&format!("/api/v1/domains/{domain}?force=true")),
        204,
    )
    .await;
    for id in [kept, also_kept] {
        stats_with(&admin, id, "", 1).await;
    }
    assert!(app.terminate().await);
    assert_eq!(link_days_links(&app), [kept, also_kept]);
}

/// A test country database: 127.0.0.0/8 in `DE`, 192.0.2.0/24 in `FR`, in `dir`.
fn geoip_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("country.mmdb");
    let db = country_db(&[
        (Ipv4Addr::new(127, 0, 0, 0), 8, "DE"),
        (Ipv4Addr::new(192, 0, 2, 0), 24, "FR"),
    ]);
    std::fs::write(&path, db).unwrap();
    path
}

/// A server with the country database, behind a trusted proxy at 127.0.0.1 (so a click can
/// come from any address through `X-Forwarded-For`).
async fn with_geoip() -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let db = geoip_file(dir.path());
    let path = dir.path().join("linkdock.toml");
    let extra = format!("\n[analytics]\ngeoip_db = {:?}\n", db.display().to_string());
    let text = base_config(&dir.path().join("data"), &extra).replace(
        "[server]\n",
        "[server]\ntrusted_proxies = [\"127.0.0.1/32\"]\n",
    );
    std::fs::write(&path, text).unwrap();
    start(dir, path, &Options::default()).await
}

#[tokio::test]
async fn with_a_geoip_database_clicks_land_under_their_country_and_no_address_is_stored() {
    let app = with_geoip().await;
    let admin = app.admin().await;
    let h = "go.example.com";
    let id = link(&admin, h, "geo").await;
    let empty = call(admin.get(&format!("/api/v1/links/{id}/stats")), 200).await;
    assert_eq!(
        empty["countries"],
        json!([]),
        "configured: a list, empty so far"
    );

    // Two from 127.0.0.1 itself, one through the trusted proxy from 192.0.2.55, one from
    // an address the database does not know, and a bot (not among the countries).
    click(&app, h, "geo", FIREFOX_LINUX, None).await;
    click(&app, h, "geo", CHROME_WINDOWS, None).await;
    for (from, ua) in [
        ("192.0.2.55", SAFARI_IPHONE),
        ("198.51.100.7", FIREFOX_LINUX),
        ("192.0.2.56", GOOGLEBOT),
    ] {
        let res = app
            .http
            .get(app.url("/geo"))
            .header("host", h)
            .header("user-agent", ua)
            .header("x-forwarded-for", from)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302);
    }
    let v = stats_with(&admin, id, "", 5).await;
    assert_eq!(
        counts(&v["countries"], "code"),
        own(&[("DE", 2), ("FR", 1), ("unknown", 1)])
    );

    // The page shows them too.
    let page = admin
        .get(&format!("/ui/links/{id}/stats"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"stats-countries\""), "{page}");

    // Only the codes were kept: the visitors' addresses never reach the database.
    let db = app.stored_bytes();
    for needle in ["192.0.2.55", "198.51.100.7", "192.0.2.56"] {
        assert!(
            !db.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} stored"
        );
    }
}

#[tokio::test]
async fn without_a_geoip_database_neither_the_answer_nor_the_page_has_countries() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let id = link(&admin, "go.example.com", "nogeo").await;
    click(&app, "go.example.com", "nogeo", FIREFOX_LINUX, None).await;
    let v = stats_with(&admin, id, "", 1).await;
    assert!(v.get("countries").is_none(), "{v:#}");
    let page = admin
        .get(&format!("/ui/links/{id}/stats"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("stats-countries"));
}

#[test]
fn a_geoip_path_that_is_missing_or_not_a_maxmind_db_stops_the_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.mmdb");
    std::fs::write(&junk, b"not a database").unwrap();
    let good = geoip_file(dir.path());
    for (db, fails) in [
        (dir.path().join("missing.mmdb"), true),
        (junk, true),
        (good, false),
    ] {
        let config = dir.path().join("linkdock.toml");
        let extra = format!("\n[analytics]\ngeoip_db = {:?}\n", db.display().to_string());
        std::fs::write(&config, base_config(&dir.path().join("data"), &extra)).unwrap();
        let name = db.file_name().unwrap().to_str().unwrap();
        let check = std::process::Command::new(env!("CARGO_BIN_EXE_linkdock"))
            .args(["config", "check"])
            .arg(&config)
            .env_remove("LINKDOCK_CONFIG")
            .output()
            .unwrap();
        assert_eq!(!check.status.success(), fails, "{check:?}");
        if !fails {
            continue;
        }
        let said = String::from_utf8_lossy(&check.stdout);
        assert!(
            said.contains(name) && said.contains("analytics.geoip_db"),
            "{said}"
        );
        let serve = std::process::Command::new(env!("CARGO_BIN_EXE_linkdock"))
            .args(["serve", "--config"])
            .arg(&config)
            .env_remove("LINKDOCK_CONFIG")
            .output()
            .unwrap();
        assert!(!serve.status.success(), "{serve:?}");
        let said = String::from_utf8_lossy(&serve.stderr);
        let line = said.lines().last().unwrap_or_default();
        assert!(
            line.starts_with("linkdock: analytics.geoip_db: ") && line.contains(name),
            "{said}"
        );
    }
}
