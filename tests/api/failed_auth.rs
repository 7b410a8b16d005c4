//! The failure limits and the security log (issue "Trust, round three", items 7, 8 and 12).
//! Each test failed on the code before its fix.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::support::{
    base_config, call, cheap_password_hash, eventually, expect, start, Options, Session, TestApp,
    ADMIN_PASSWORD,
};

/// A server behind a trusted proxy at 127.0.0.1, so a test presents any client address with
/// `X-Forwarded-For`; `keys` is appended to the `[keys]` section.
async fn behind_proxy(keys: &str) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let path = dir.path().join("linkdock.toml");
    let text = base_config(&dir.path().join("data"), keys).replace(
        "[server]\n",
        "[server]\ntrusted_proxies = [\"127.0.0.1/32\"]\n",
    );
    std::fs::write(&path, text).unwrap();
    start(dir, path, &Options::default()).await
}

fn users(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| {
            format!(
                "\n[[users]]\nusername = \"{n}\"\npassword_hash = \"{}\"\n",
                cheap_password_hash(&format!("{n}-password"))
            )
        })
        .collect()
}

async fn sign_in(app: &TestApp, client: &str, user: &str, password: &str) -> reqwest::Response {
    app.http
        .post(app.url("/api/v1/session"))
        .header("x-forwarded-for", client)
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap()
}

/// `linkdock_password_checks_total`: how many passwords were checked against a hash.
async fn password_checks(app: &TestApp) -> u64 {
    app.text("/metrics")
        .await
        .lines()
        .find_map(|l| l.strip_prefix("linkdock_password_checks_total "))
        .expect("the password check counter")
        .parse()
        .unwrap()
}

async fn create_key(admin: &Session, body: Value) -> (String, Value) {
    let v = admin.post_json("/api/v1/api-keys", body, 201).await;
    (v["key"].as_str().unwrap().to_owned(), v)
}

fn with_key(app: &TestApp, client: &str, key: &str) -> reqwest::RequestBuilder {
    app.http
        .get(app.url("/api/v1/links"))
        .header("x-forwarded-for", client)
        .bearer_auth(key)
}

/// A well-formed key that the server does not know (created, then deleted).
async fn unknown_key(app: &TestApp, admin: &Session) -> String {
    let (key, v) = create_key(admin, json!({"name": "gone"})).await;
    let res = admin
        .delete(&format!("/api/v1/api-keys/{}", v["id"]))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    call(with_key(app, "192.0.2.200", &key), 401).await;
    key
}

#[tokio::test]
async fn ipv6_clients_in_one_64_share_one_failed_key_budget() {
    let app = behind_proxy("max_failed_auth_per_minute = 3\n").await;
    let admin = app.admin().await;
    let key = unknown_key(&app, &admin).await;
    for client in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:abcd::3"] {
        call(with_key(&app, client, &key), 401).await;
    }
    // A fourth address of the same /64 is the same client.
    let res = with_key(&app, "2001:db8:1:2:ffff:ffff:ffff:9", &key)
        .send()
        .await
        .unwrap();
    assert!(res.headers().contains_key("retry-after"));
    expect(res, 429).await;
    // The next /64 is someone else.
    call(with_key(&app, "2001:db8:1:3::1", &key), 401).await;

    // Configurable, live: counted by the whole address, the next address has its own budget.
    let text = std::fs::read_to_string(&app.config_path).unwrap().replace(
        "max_failed_auth_per_minute = 3\n",
        "max_failed_auth_per_minute = 3\nfailed_auth_ipv6_prefix = 128\n",
    );
    let tmp = app.dir.path().join("next.toml");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, &app.config_path).unwrap();
    app.wait_for_log("configuration reloaded", 5).await;
    call(with_key(&app, "2001:db8:1:2::5", &key), 401).await;
}

#[tokio::test]
async fn a_colleagues_wrong_sign_ins_do_not_lock_out_others_behind_the_same_address() {
    let app = behind_proxy(&users(&["colleague"])).await;
    let office = "198.51.100.20";
    for _ in 0..30 {
        expect(sign_in(&app, office, "colleague", "wrong").await, 401).await;
    }
    // The admin, behind the same address, signs in.
    let body = expect(sign_in(&app, office, "admin", ADMIN_PASSWORD).await, 200).await;
    assert_eq!(body["username"], "admin");
    // The colleague is throttled, even with the right password, and it is not checked.
    let checks = password_checks(&app).await;
    let res = sign_in(&app, office, "colleague", "colleague-password").await;
    assert!(res.headers().contains_key("retry-after"));
    expect(res, 429).await;
    assert_eq!(
        password_checks(&app).await,
        checks,
        "a refused attempt is hashed"
    );
    // So does the colleague from elsewhere.
    expect(
        sign_in(&app, "198.51.100.21", "colleague", "colleague-password").await,
        200,
    )
    .await;
}

#[tokio::test]
async fn spraying_many_usernames_from_one_address_is_throttled() {
    let names = ["u1", "u2", "u3", "u4", "u5", "u6"];
    let app = behind_proxy(&format!(
        "max_failed_sign_ins_per_ip_per_minute = 5\n{}",
        users(&names)
    ))
    .await;
    let sprayer = "203.0.113.50";
    for name in &names[..5] {
        expect(sign_in(&app, sprayer, name, "Winter2026!").await, 401).await;
    }
    let checks = password_checks(&app).await;
    for (name, pw) in [("u6", "Winter2026!"), ("admin", ADMIN_PASSWORD)] {
        expect(sign_in(&app, sprayer, name, pw).await, 429).await;
    }
    assert_eq!(
        password_checks(&app).await,
        checks,
        "a refused attempt is hashed"
    );
    // Another address is not affected.
    expect(
        sign_in(&app, "203.0.113.51", "admin", ADMIN_PASSWORD).await,
        200,
    )
    .await;
}

/// The log lines that contain every one of `parts`.
fn lines_with(logs: &str, parts: &[&str]) -> Vec<String> {
    logs.lines()
        .filter(|l| parts.iter().all(|p| l.contains(p)))
        .map(str::to_owned)
        .collect()
}

async fn logged(app: &TestApp, parts: &[&str]) -> String {
    eventually(5, || {
        let found = lines_with(&app.logs(), parts);
        async move {
            found
                .into_iter()
                .next()
                .ok_or_else(|| format!("no log line with {parts:?}"))
        }
    })
    .await
}

#[tokio::test]
async fn security_events_are_logged_with_the_client_and_never_a_secret() {
    let app = behind_proxy("max_failed_auth_per_minute = 3\n").await;
    let admin = app.admin().await;

    // A failed sign-in of a user: the user and the address, never the password.
    expect(
        sign_in(&app, "192.0.2.10", "admin", "hunter2-wrong").await,
        401,
    )
    .await;
    let line = logged(&app, &["WARN", "sign-in failed", "192.0.2.10"]).await;
    assert!(line.contains("admin"), "{line}");
    // A name that is no user is not logged: it may be a password typed in the wrong field.
    expect(
        sign_in(&app, "192.0.2.11", "s3cret-in-the-name", "x").await,
        401,
    )
    .await;
    logged(&app, &["WARN", "sign-in failed", "192.0.2.11"]).await;

    // An unknown key.
    let unknown = unknown_key(&app, &admin).await;
    call(with_key(&app, "192.0.2.20", &unknown), 401).await;
    logged(&app, &["WARN", "192.0.2.20", "unknown"]).await;

    // A revoked key: its id and display prefix.
    let (revoked, rv) = create_key(&admin, json!({"name": "revoked"})).await;
    let prefix = |v: &Value| v["prefix"].as_str().unwrap().to_owned();
    admin
        .post_json(
            &format!("/api/v1/api-keys/{}/revoke", rv["id"]),
            json!({}),
            200,
        )
        .await;
    call(with_key(&app, "192.0.2.21", &revoked), 401).await;
    let line = logged(&app, &["WARN", "192.0.2.21", "revoked"]).await;
    assert!(
        line.contains(&format!("key_id={}", rv["id"])) && line.contains(&prefix(&rv)),
        "{line}"
    );

    // A rotated key (rolled without a grace period).
    let (rolled, rl) = create_key(&admin, json!({"name": "rolled"})).await;
    admin
        .post_json(
            &format!("/api/v1/api-keys/{}/roll", rl["id"]),
            json!({}),
            201,
        )
        .await;
    call(with_key(&app, "192.0.2.22", &rolled), 401).await;
    let line = logged(&app, &["INFO", "192.0.2.22", "rotated"]).await;
    assert!(line.contains(&prefix(&rl)), "{line}");

    // An expired key.
    let soon = (time::OffsetDateTime::now_utc() + time::Duration::seconds(2))
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (expiring, ex) = create_key(&admin, json!({"name": "soon", "expires_at": soon})).await;
    eventually(6, || async {
        let res = with_key(&app, "192.0.2.23", &expiring)
            .send()
            .await
            .unwrap();
        (res.status() == 401).then_some(())
    })
    .await;
    let line = logged(&app, &["INFO", "192.0.2.23", "expired"]).await;
    assert!(line.contains(&prefix(&ex)), "{line}");

    // A whitelist refusal.
    let (fenced, fv) = create_key(
        &admin,
        json!({"name": "fenced", "allow_all_ips": false, "ip_whitelist": ["10.0.0.0/8"]}),
    )
    .await;
    call(with_key(&app, "192.0.2.24", &fenced), 403).await;
    let line = logged(&app, &["WARN", "192.0.2.24", "whitelist"]).await;
    assert!(line.contains(&prefix(&fv)), "{line}");

    // The failed-key limit tripping (3 failures), once.
    for _ in 0..4 {
        let _ = with_key(&app, "192.0.2.25", &unknown).send().await.unwrap();
    }
    logged(&app, &["WARN", "192.0.2.25", "reached the limit"]).await;
    // And the sign-in limit.
    for _ in 0..3 {
        expect(
            sign_in(&app, "192.0.2.26", "admin", "hunter2-wrong").await,
            401,
        )
        .await;
    }
    logged(&app, &["WARN", "192.0.2.26", "reached the limit"]).await;

    let logs = app.logs();
    assert_eq!(
        lines_with(&logs, &["192.0.2.25", "reached the limit"]).len(),
        1
    );
    for secret in [
        unknown.as_str(),
        revoked.as_str(),
        rolled.as_str(),
        expiring.as_str(),
        fenced.as_str(),
        "hunter2-wrong",
        "s3cret-in-the-name",
        ADMIN_PASSWORD,
    ] {
        assert!(!logs.contains(secret), "{secret} is in the log:\n{logs}");
    }
}
