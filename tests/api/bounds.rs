//! Trust, round three (items 3, 6 and 11): no value can brick the database, a restore checks
//! its id counters, and a key meant to be closed stays closed (its rate included).

use std::path::Path;
use std::sync::Arc;

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{call, spawn_app, start, Options, Session, TestApp};

/// Valid RFC 3339, but year 10000 in UTC: past what RFC 3339 can write back.
const PAST_9999: &str = "9999-12-31T23:00:00-12:00";

async fn create_key(admin: &Session, body: Value) -> (String, Value) {
    let v = admin.post_json("/api/v1/api-keys", body, 201).await;
    (v["key"].as_str().unwrap().to_owned(), v)
}

async fn refused(req: reqwest::RequestBuilder, field: &str) {
    let res = req.send().await.unwrap();
    assert_eq!(
        res.headers()["content-type"],
        "application/problem+json",
        "{field}"
    );
    let p = crate::support::expect(res, 400).await;
    assert_eq!(p["errors"][0]["field"], field, "{p}");
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("9999-12-31T23:59:59Z"),
        "{p}"
    );
}

#[tokio::test]
async fn a_time_past_year_9999_in_utc_is_refused_at_every_entrance_and_never_stored() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    let (_, key) = create_key(&admin, json!({"name": "k"})).await;
    let key_path = format!("/api/v1/api-keys/{}", key["id"]);
    refused(
        admin
            .post("/api/v1/api-keys")
            .json(&json!({"name": "far", "expires_at": PAST_9999})),
        "expires_at",
    )
    .await;
    refused(
        admin.put(&key_path).json(&json!({"expires_at": PAST_9999})),
        "expires_at",
    )
    .await;
    refused(
        admin
            .post(&format!("{key_path}/roll"))
            .json(&json!({"old_key_expires_at": PAST_9999})),
        "old_key_expires_at",
    )
    .await;
    refused(
        admin.post("/api/v1/links").json(&json!({
            "domain": "go.example.com", "slug": "far",
            "destination_url": "https://example.com/", "expires_at": PAST_9999})),
        "expires_at",
    )
    .await;
    let link = admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "go.example.com", "slug": "near", "destination_url": "https://example.com/"}),
            201,
        )
        .await;
    refused(
        admin
            .put(&format!("/api/v1/links/{}", link["id"]))
            .json(&json!({"expires_at": PAST_9999})),
        "expires_at",
    )
    .await;
    // The last second RFC 3339 can write is still a time.
    let ok = call(
        admin
            .put(&key_path)
            .json(&json!({"expires_at": "9999-12-31T23:59:59Z"})),
        200,
    )
    .await;
    assert_eq!(ok["expires_at"], "9999-12-31T23:59:59Z");
    let list = call(admin.get("/api/v1/api-keys"), 200).await;
    assert_eq!(list["total"], 1, "{list}");
}

/// The config file at `dir` declaring one key that expires at `expires_at`.
fn config_with_key_expiring(dir: &Path, expires_at: &str) -> std::path::PathBuf {
    let path = dir.join("linkdock.toml");
    let hash = format!("sha256:{}", "ab".repeat(32));
    std::fs::write(
        &path,
        format!(
            "[storage]\ndata_dir = \"{}\"\n\n[[api_keys]]\nname = \"declared\"\nhash = \"{hash}\"\nexpires_at = \"{expires_at}\"\n",
            dir.join("data").display()
        ),
    )
    .unwrap();
    path
}

#[test]
fn the_config_file_and_the_cli_refuse_a_time_past_year_9999_too() {
    let dir = tempfile::tempdir().unwrap();
    let check = |expires_at: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_linkdock"))
            .args(["config", "check"])
            .arg(config_with_key_expiring(dir.path(), expires_at))
            .env_remove("LINKDOCK_CONFIG")
            .output()
            .unwrap()
    };
    assert!(check("2030-01-01T00:00:00Z").status.success());
    let out = check(PAST_9999);
    assert!(!out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("9999-12-31T23:59:59Z"), "{said}");
}

#[tokio::test]
async fn a_roll_whose_grace_ends_past_year_9999_is_refused_and_the_database_still_opens() {
    let mut app = spawn_app().await;
    app.admin().await;
    assert!(app.terminate().await, "{}", app.logs());
    let ok = |out: &std::process::Output| {
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let made = ok(&app.cli(&["keys", "create", "--name", "cli", "--json"]));
    let id = made["id"].to_string();
    let out = app.cli(&["keys", "create", "--name", "far", "--expires", PAST_9999]);
    assert!(!out.status.success(), "{out:?}");
    let out = app.cli(&["keys", "roll", &id, "--grace", "99999999999d"]);
    assert!(!out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("--grace") && said.contains("9999-12-31T23:59:59Z"),
        "{said}"
    );
    // Nothing was stored: the key is still active and every command still reads the file.
    let list = ok(&app.cli(&["keys", "list", "--json"]));
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["status"], "active");
    ok(&app.cli(&["keys", "roll", &id, "--grace", "1h", "--json"]));
    let app = start(
        Arc::clone(&app.dir),
        app.config_path.clone(),
        &Options::default(),
    )
    .await;
    let admin = app.admin().await;
    let keys = call(admin.get("/api/v1/api-keys"), 200).await;
    assert_eq!(keys["total"], 2, "{keys}");
}

#[tokio::test]
async fn emptying_a_restricted_keys_whitelist_does_not_open_it_unless_said() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, v) = create_key(
        &admin,
        json!({"name": "closed", "ip_whitelist": ["10.1.2.3"]}),
    )
    .await;
    assert_eq!(v["allow_all_ips"], false);
    let path = format!("/api/v1/api-keys/{}", v["id"]);
    let p = call(admin.put(&path).json(&json!({"ip_whitelist": []})), 400).await;
    assert_eq!(p["errors"][0]["field"], "ip_whitelist", "{p}");
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("allow_all_ips: true"),
        "{p}"
    );
    let still = call(admin.get(&path), 200).await;
    assert_eq!(still["allow_all_ips"], false);
    assert_eq!(still["ip_whitelist"], json!(["10.1.2.3"]));
    // Said explicitly, it opens.
    let open = call(
        admin
            .put(&path)
            .json(&json!({"allow_all_ips": true, "ip_whitelist": []})),
        200,
    )
    .await;
    assert_eq!(open["allow_all_ips"], true);
}

fn with_key(app: &TestApp, key: &str) -> reqwest::RequestBuilder {
    app.http
        .request(Method::GET, app.url("/api/v1/links"))
        .bearer_auth(key)
}

/// `remaining` and `reset` of a RateLimit header (`limit=5, remaining=4, reset=37`).
fn rate_limit(res: &reqwest::Response) -> (u64, u64) {
    let h = res.headers()["ratelimit"].to_str().unwrap();
    let part = |name: &str| -> u64 {
        h.split(", ")
            .find_map(|p| p.strip_prefix(name))
            .unwrap()
            .parse()
            .unwrap()
    };
    (part("remaining="), part("reset="))
}

#[tokio::test]
async fn a_rolled_key_and_its_successor_share_one_rate_limit_window() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    // The window is a fixed minute: should one end mid-way (its reset jumps up), try again
    // with a fresh pair rather than wait for the next minute.
    for attempt in 0..3 {
        let (old, v) = create_key(
            &admin,
            json!({"name": format!("limited-{attempt}"), "rate_limit_per_minute": 5}),
        )
        .await;
        let rolled = admin
            .post_json(
                &format!("/api/v1/api-keys/{}/roll", v["id"]),
                json!({"old_key_expires_at": "2999-01-01T00:00:00Z"}),
                201,
            )
            .await;
        let new = rolled["key"].as_str().unwrap().to_owned();
        let mut seen = Vec::new();
        let mut last_reset = u64::MAX;
        let mut new_minute = false;
        for i in 0..6 {
            let res = with_key(&app, if i % 2 == 0 { &old } else { &new })
                .send()
                .await
                .unwrap();
            let (remaining, reset) = rate_limit(&res);
            new_minute |= reset > last_reset;
            last_reset = reset;
            seen.push((res.status().as_u16(), remaining));
        }
        if new_minute {
            continue;
        }
        assert_eq!(
            seen,
            [(200, 4), (200, 3), (200, 2), (200, 1), (200, 0), (429, 0)],
            "three on the old key and three on the new one: the pair has the rate once"
        );
        return;
    }
    panic!("a minute ended during each of three attempts");
}

/// Set the id counter `seq:<sequence>` of a backup file, as a damaged or hand-made one has it.
fn set_counter(file: &Path, sequence: &str, value: u64) {
    let meta: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("meta_v1");
    let db = redb::Database::open(file).unwrap();
    let tx = db.begin_write().unwrap();
    tx.open_table(meta)
        .unwrap()
        .insert(format!("seq:{sequence}").as_str(), value)
        .unwrap();
    tx.commit().unwrap();
}

#[tokio::test]
async fn a_restore_raises_an_id_counter_below_the_ids_in_use_so_no_link_is_replaced() {
    if crate::support::redb_only("restore writes the data dir's redb file") {
        return;
    }
    let mut app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    for slug in ["one", "two"] {
        admin
            .post_json(
                "/api/v1/links",
                json!({"domain": "go.example.com", "slug": slug, "destination_url": format!("https://example.com/{slug}")}),
                201,
            )
            .await;
    }
    let backup = call(admin.post("/api/v1/backup"), 201).await;
    let file = app
        .dir
        .path()
        .join("data/backups")
        .join(backup["name"].as_str().unwrap());
    assert!(app.terminate().await, "{}", app.logs());

    // A counter at the largest id: no new link could get one. Refused, nothing replaced.
    let at_max = app.dir.path().join("at-max.redb");
    std::fs::copy(&file, &at_max).unwrap();
    set_counter(&at_max, "links", u64::MAX);
    let out = app.cli(&["restore", at_max.to_str().unwrap()]);
    assert!(!out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("largest possible id"), "{said}");

    // A counter below the ids in use: raised on restore, and said so.
    set_counter(&file, "links", 0);
    let out = app.cli(&["restore", file.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("links id counter (0)") && said.contains("raised to 2"),
        "{said}"
    );

    let app = start(
        Arc::clone(&app.dir),
        app.config_path.clone(),
        &Options::default(),
    )
    .await;
    let admin = app.admin().await;
    let made = admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "go.example.com", "slug": "three", "destination_url": "https://example.com/three"}),
            201,
        )
        .await;
    assert_eq!(made["id"], 3, "{made}");
    let first = call(admin.get("/api/v1/links/1"), 200).await;
    assert_eq!(first["slug"], "one", "link 1 is untouched");
    let list = call(admin.get("/api/v1/links"), 200).await;
    assert_eq!(list["total"], 3, "{list}");
}
