use serde_json::{json, Value};

use crate::support::{call, eventually, expect, spawn_app, spawn_with, Options, Session, TestApp};

async fn create_key(admin: &Session, body: Value) -> (String, Value) {
    let v = admin.post_json("/api/v1/api-keys", body, 201).await;
    (v["key"].as_str().unwrap().to_owned(), v)
}

fn bearer(app: &TestApp, key: &str, path: &str) -> reqwest::RequestBuilder {
    app.http.get(app.url(path)).bearer_auth(key)
}

async fn detail(res: reqwest::Response, status: u16) -> String {
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    if status == 401 {
        // No key presented: plain `Bearer`; a key refused: RFC 6750's `invalid_token`.
        let c = res.headers()["www-authenticate"].to_str().unwrap();
        assert!(
            c == "Bearer"
                || c.starts_with(
                    "Bearer error=\"invalid_token\", error_description=\"the API key "
                ),
            "{c}"
        );
    }
    expect(res, status).await["detail"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_key_is_shown_once_and_authenticates_api_calls() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (key, created) = create_key(&admin, json!({"name": "Production API Key"})).await;
    assert!(key.starts_with("ldk_") && key.len() == 54, "{key}");
    assert_eq!(created["prefix"], &key[..12]);
    assert_eq!(created["domains"], json!([]));
    assert_eq!(created["allow_all_ips"], true);
    assert_eq!(created["expires_at"], Value::Null);
    assert_eq!(created["status"], "active");
    assert_eq!(created["source"], "api");

    let id = created["id"].as_u64().unwrap();
    let listed = call(admin.get("/api/v1/api-keys"), 200).await;
    assert_eq!(listed["total"], 1);
    let one = call(admin.get(&format!("/api/v1/api-keys/{id}")), 200).await;
    for v in [&listed.to_string(), &one.to_string()] {
        assert!(!v.contains(&key[12..]), "the key is never shown again: {v}");
    }
    assert!(one.get("key").is_none());

    call(bearer(&app, &key, "/api/v1/links"), 200).await;
    call(bearer(&app, &key, "/api/v1/domains"), 200).await;
    let me = call(bearer(&app, &key, "/api/v1/keys/current"), 200).await;
    assert_eq!(me["id"], id);
    // Keys cannot manage keys; the session cookie is ignored when Authorization is present.
    let res = admin
        .get("/api/v1/api-keys")
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // A key needs no CSRF token for writes.
    let res = app
        .http
        .post(app.url("/api/v1/domains"))
        .bearer_auth(&key)
        .json(&json!({"hostname": "k.example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // keys/current needs a key.
    let res = admin.get("/api/v1/keys/current").send().await.unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn every_kind_of_bad_key_gets_a_401_that_says_which() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (key, v) = create_key(&admin, json!({"name": "k"})).await;
    let d = detail(
        app.http.get(app.url("/api/v1/links")).send().await.unwrap(),
        401,
    )
    .await;
    assert!(d.contains("no credentials"), "{d}");
    let d = detail(
        app.http
            .get(app.url("/api/v1/links"))
            .header("authorization", format!("Basic {key}"))
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    assert!(d.contains("Bearer"), "{d}");
    let d = detail(
        bearer(&app, "ldk_short", "/api/v1/links")
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    assert!(d.contains("malformed"), "{d}");
    let mut flipped = key.clone().into_bytes();
    flipped[20] = if flipped[20] == b'a' { b'b' } else { b'a' };
    let d = detail(
        bearer(
            &app,
            std::str::from_utf8(&flipped).unwrap(),
            "/api/v1/links",
        )
        .send()
        .await
        .unwrap(),
        401,
    )
    .await;
    assert!(d.contains("checksum"), "{d}");
    let (other, _) =
        linkdock::keys::issue(&ring_rng(), &linkdock::domain::KeyPrefix::default()).unwrap();
    let d = detail(
        bearer(&app, other.reveal(), "/api/v1/links")
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    assert!(d.contains("not known"), "{d}");
    assert!(!d.contains(other.reveal()));

    let id = v["id"].as_u64().unwrap();
    let revoked = admin
        .post_json(&format!("/api/v1/api-keys/{id}/revoke"), json!({}), 200)
        .await;
    assert_eq!(revoked["status"], "revoked");
    let d = detail(
        bearer(&app, &key, "/api/v1/links").send().await.unwrap(),
        401,
    )
    .await;
    assert!(d.contains("revoked"), "{d}");

    let (key2, v2) = create_key(&admin, json!({"name": "gone"})).await;
    call(bearer(&app, &key2, "/api/v1/links"), 200).await;
    call(admin.delete(&format!("/api/v1/api-keys/{}", v2["id"])), 204).await;
    let d = detail(
        bearer(&app, &key2, "/api/v1/links").send().await.unwrap(),
        401,
    )
    .await;
    assert!(d.contains("not known"), "deleted keys stop at once: {d}");
}

fn ring_rng() -> impl ring::rand::SecureRandom {
    ring::rand::SystemRandom::new()
}

#[tokio::test]
async fn expiry_is_checked_per_request_and_the_sweeper_marks_keys() {
    let app = spawn_with(Options {
        test_clock: true,
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    let soon = (time::OffsetDateTime::now_utc() + time::Duration::seconds(60))
        .replace_nanosecond(0)
        .unwrap();
    let soon = soon
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (key, v) = create_key(&admin, json!({"name": "temp", "expires_at": soon})).await;
    call(bearer(&app, &key, "/api/v1/links"), 200).await;
    app.advance_clock(std::time::Duration::from_secs(61));
    let d = detail(
        bearer(&app, &key, "/api/v1/links").send().await.unwrap(),
        401,
    )
    .await;
    assert!(d.contains("expired"), "{d}");
    let id = v["id"].as_u64().unwrap();
    eventually(5, || async {
        let k = call(admin.get(&format!("/api/v1/api-keys/{id}")), 200).await;
        (k["status"] == "expired").then_some(())
    })
    .await;
    app.wait_for_log("API key expired", 5).await;
}

#[tokio::test]
async fn the_ip_whitelist_holds_and_spoofed_headers_count_only_from_trusted_proxies() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (outside, _) = create_key(
        &admin,
        json!({"name": "o", "allow_all_ips": false, "ip_whitelist": ["10.0.0.1"]}),
    )
    .await;
    let d = detail(
        bearer(&app, &outside, "/api/v1/links")
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    assert!(d.contains("127.0.0.1"), "{d}");
    let (inside, _) = create_key(&admin, json!({"name": "i", "allow_all_ips": false, "ip_whitelist": ["10.0.0.1", "127.0.0.0/8", "2001:db8::/32"]})).await;
    call(bearer(&app, &inside, "/api/v1/links"), 200).await;

    // From an untrusted peer a forged header changes nothing.
    let (proxied, _) = create_key(
        &admin,
        json!({"name": "p", "allow_all_ips": false, "ip_whitelist": ["203.0.113.7"]}),
    )
    .await;
    let forged =
        || bearer(&app, &proxied, "/api/v1/links").header("x-forwarded-for", "203.0.113.7");
    call(forged(), 403).await;
    let forwarded = || {
        bearer(&app, &proxied, "/api/v1/links").header("forwarded", "for=203.0.113.7;proto=https")
    };
    call(forwarded(), 403).await;

    // Once the file trusts the peer, the same header passes.
    app.rewrite_config("");
    let text = std::fs::read_to_string(&app.config_path).unwrap().replace(
        "[server]\n",
        "[server]\ntrusted_proxies = [\"127.0.0.1\"]\n",
    );
    let tmp = app.dir.path().join("next.toml");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, &app.config_path).unwrap();
    eventually(5, || async {
        (forged().send().await.unwrap().status() == 200).then_some(())
    })
    .await;
    // Only X-Forwarded-For (the default client_ip_header) is read: a Forwarded header the
    // client wrote itself changes nothing, even when it names a whitelisted address and the
    // proxy's X-Forwarded-For names another.
    call(forwarded(), 403).await;
    call(forwarded().header("x-forwarded-for", "198.51.100.1"), 403).await;
    // A client behind the proxy cannot smuggle an address in front of its own.
    let res = bearer(&app, &proxied, "/api/v1/links")
        .header("x-forwarded-for", "203.0.113.7, 198.51.100.1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // Switched to `forwarded` (live), the roles swap.
    let text = std::fs::read_to_string(&app.config_path)
        .unwrap()
        .replace("[server]\n", "[server]\nclient_ip_header = \"forwarded\"\n");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, &app.config_path).unwrap();
    eventually(5, || async {
        (forwarded().send().await.unwrap().status() == 200).then_some(())
    })
    .await;
    call(forged(), 403).await;
}

#[tokio::test]
async fn too_many_failures_from_one_address_get_429_but_never_a_valid_key() {
    let app = spawn_with(Options {
        extra_toml: "max_failed_auth_per_minute = 3\n".into(),
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    let (good, _) = create_key(&admin, json!({"name": "g"})).await;
    // Well-formed keys that are not ours: counted.
    let (unknown, _) =
        linkdock::keys::issue(&ring_rng(), &linkdock::domain::KeyPrefix::default()).unwrap();
    for _ in 0..3 {
        call(bearer(&app, unknown.reveal(), "/api/v1/links"), 401).await;
    }
    let res = bearer(&app, unknown.reveal(), "/api/v1/links")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    // The office behind the same address keeps working: a valid key always passes...
    call(bearer(&app, &good, "/api/v1/links"), 200).await;
    // ...and key failures never lock anyone out of signing in.
    app.admin().await;
    // Malformed keys (wrong shape or checksum) are refused offline and never counted.
    let fresh = spawn_with(Options {
        extra_toml: "max_failed_auth_per_minute = 3\n".into(),
        ..Default::default()
    })
    .await;
    for _ in 0..20 {
        call(bearer(&fresh, "ldk_bad", "/api/v1/links"), 401).await;
    }
    call(bearer(&fresh, unknown.reveal(), "/api/v1/links"), 401).await;
}

#[tokio::test]
async fn domain_scope_is_enforced_everywhere() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("a.example.com").await;
    let b = admin.domain("b.example.com").await;
    let la = admin.post_json("/api/v1/links", json!({"domain": "a.example.com", "slug": "one", "destination_url": "https://e.com/a", "title": "shared"}), 201).await;
    let lb = admin.post_json("/api/v1/links", json!({"domain": "b.example.com", "slug": "two", "destination_url": "https://e.com/b", "title": "shared"}), 201).await;
    let (key, _) = create_key(
        &admin,
        json!({"name": "scoped", "domains": ["a.example.com"]}),
    )
    .await;
    let k = |m: reqwest::Method, p: &str| app.http.request(m, app.url(p)).bearer_auth(&key);

    let list = call(k(reqwest::Method::GET, "/api/v1/links?search=shared"), 200).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["domain"], "a.example.com");
    let list = call(
        k(reqwest::Method::GET, "/api/v1/links?domain=b.example.com"),
        200,
    )
    .await;
    assert_eq!(list["total"], 0);
    let doms = call(k(reqwest::Method::GET, "/api/v1/domains"), 200).await;
    assert_eq!(doms["total"], 1);
    assert_eq!(doms["items"][0]["hostname"], "a.example.com");

    let lb_path = format!("/api/v1/links/{}", lb["id"]);
    call(k(reqwest::Method::GET, &lb_path), 404).await;
    call(
        k(reqwest::Method::PUT, &lb_path).json(&json!({"title": "x"})),
        404,
    )
    .await;
    call(k(reqwest::Method::DELETE, &lb_path), 404).await;
    call(
        k(
            reqwest::Method::GET,
            &format!("/api/v1/domains/{}", b["id"]),
        ),
        404,
    )
    .await;

    call(
        k(reqwest::Method::POST, "/api/v1/links")
            .json(&json!({"domain": "b.example.com", "destination_url": "https://e.com"})),
        404,
    )
    .await;
    let la_path = format!("/api/v1/links/{}", la["id"]);
    call(
        k(reqwest::Method::PUT, &la_path)
            .json(&json!({"domain": "b.example.com", "slug": "moved"})),
        404,
    )
    .await;
    call(
        k(reqwest::Method::PUT, &la_path).json(&json!({"title": "mine"})),
        200,
    )
    .await;
    call(
        k(reqwest::Method::POST, "/api/v1/links")
            .json(&json!({"domain": "a.example.com", "destination_url": "https://e.com"})),
        201,
    )
    .await;

    call(
        k(reqwest::Method::POST, "/api/v1/domains").json(&json!({"hostname": "c.example.com"})),
        403,
    )
    .await;
    call(
        k(
            reqwest::Method::DELETE,
            &format!("/api/v1/domains/{}", b["id"]),
        ),
        403,
    )
    .await;
    let me = call(k(reqwest::Method::GET, "/api/v1/keys/current"), 200).await;
    assert_eq!(me["domains"], json!(["a.example.com"]));
}

#[tokio::test]
async fn key_input_is_validated_and_updates_keep_the_key_value() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("a.example.com").await;
    for (body, field) in [
        (json!({"name": "x", "allow_all_ips": false}), "ip_whitelist"),
        (
            json!({"name": "x", "allow_all_ips": false, "ip_whitelist": []}),
            "ip_whitelist",
        ),
        (
            json!({"name": "x", "allow_all_ips": false, "ip_whitelist": ["10.0.0.1", "999.1.1.1"]}),
            "ip_whitelist[1]",
        ),
        (
            json!({"name": "x", "ip_whitelist": ["fe80::/200"]}),
            "ip_whitelist[0]",
        ),
        (
            json!({"name": "x", "expires_at": "2001-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (
            json!({"name": "x", "domains": ["nope.example.com"]}),
            "domains[0]",
        ),
        (json!({"name": ""}), "name"),
    ] {
        let p = admin.post_json("/api/v1/api-keys", body.clone(), 400).await;
        let fields: Vec<&str> = p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{body} → {p}");
    }
    let (key, v) = create_key(
        &admin,
        json!({"name": "k", "allow_all_ips": false, "ip_whitelist": ["127.0.0.1"]}),
    )
    .await;
    let path = format!("/api/v1/api-keys/{}", v["id"]);
    let u = call(admin.put(&path).json(&json!({"name": "renamed", "domains": ["a.example.com"], "expires_at": "2099-01-01T00:00:00Z"})), 200).await;
    assert_eq!(u["name"], "renamed");
    assert_eq!(u["domains"], json!(["a.example.com"]));
    assert_eq!(u["expires_at"], "2099-01-01T00:00:00Z");
    assert_eq!(u["prefix"], v["prefix"]);
    call(bearer(&app, &key, "/api/v1/links"), 200).await;
    let u = call(
        admin
            .put(&path)
            .json(&json!({"ip_whitelist": ["10.0.0.1"]})),
        200,
    )
    .await;
    assert_eq!(u["ip_whitelist"], json!(["10.0.0.1"]));
    call(bearer(&app, &key, "/api/v1/links"), 403).await;
    let u = call(
        admin
            .put(&path)
            .json(&json!({"allow_all_ips": true, "expires_at": null})),
        200,
    )
    .await;
    assert_eq!(u["expires_at"], Value::Null);
    call(bearer(&app, &key, "/api/v1/links"), 200).await;
    call(
        admin
            .put(&path)
            .json(&json!({"allow_all_ips": false, "ip_whitelist": []})),
        400,
    )
    .await;
    call(admin.put(&path).json(&json!({"key": "ldk_x"})), 400).await;
    call(
        admin
            .put("/api/v1/api-keys/9999")
            .json(&json!({"name": "x"})),
        404,
    )
    .await;
}

#[tokio::test]
async fn usage_and_the_request_log_are_recorded() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (key, v) = create_key(&admin, json!({"name": "used"})).await;
    for _ in 0..3 {
        call(bearer(&app, &key, "/api/v1/links"), 200).await;
    }
    call(bearer(&app, &key, "/api/v1/links/424242"), 404).await;
    let id = v["id"].as_u64().unwrap();
    let k = eventually(5, || async {
        let k = call(admin.get(&format!("/api/v1/api-keys/{id}")), 200).await;
        (k["request_count"] == 4).then_some(k)
    })
    .await;
    assert_eq!(k["last_used_ip"], "127.0.0.1");
    assert!(k["last_used_at"].is_string());
    let log = call(
        admin.get(&format!("/api/v1/api-keys/{id}/requests?limit=2")),
        200,
    )
    .await;
    assert_eq!(log["total"], 4);
    assert_eq!(log["items"].as_array().unwrap().len(), 2);
    assert_eq!(log["items"][0]["path"], "/api/v1/links/424242");
    assert_eq!(log["items"][0]["status"], 404);
    assert_eq!(log["items"][0]["method"], "GET");
    assert_eq!(log["items"][0]["ip"], "127.0.0.1");
}

#[tokio::test]
async fn keys_declared_in_the_config_file_work_and_are_read_only() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_linkdock"))
        .args(["key", "generate"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let key = lines.next().unwrap().to_owned();
    let hash_line = lines.next().unwrap().to_owned();
    assert!(hash_line.starts_with("hash = \"sha256:"), "{hash_line}");
    let toml = format!("\n[[domains]]\nhostname = \"cfg.example.com\"\n\n[[api_keys]]\nname = \"ci\"\n{hash_line}\ndomains = [\"cfg.example.com\"]\n");
    let app = spawn_with(Options {
        extra_toml: toml,
        ..Default::default()
    })
    .await;
    let me = call(bearer(&app, &key, "/api/v1/keys/current"), 200).await;
    assert_eq!(me["source"], "config");
    assert_eq!(me["domains"], json!(["cfg.example.com"]));
    let admin = app.admin().await;
    let path = format!("/api/v1/api-keys/{}", me["id"]);
    call(admin.put(&path).json(&json!({"name": "x"})), 409).await;
    call(admin.delete(&path), 409).await;
    // Removing it from the file removes it.
    app.rewrite_config("\n[[domains]]\nhostname = \"cfg.example.com\"\n");
    eventually(5, || async {
        (bearer(&app, &key, "/api/v1/keys/current")
            .send()
            .await
            .unwrap()
            .status()
            == 401)
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn no_key_password_or_session_token_reaches_the_database_file_or_the_log() {
    let mut app = spawn_with(Options {
        extra_toml: "\n[log]\nlevel = \"debug\"\n".into(),
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    let mut keys = Vec::new();
    for i in 0..3 {
        let (key, _) = create_key(&admin, json!({"name": format!("stored-name-{i}")})).await;
        call(bearer(&app, &key, "/api/v1/links"), 200).await;
        // A wrong key's failure is logged without the key either.
        let mut bad = key.clone();
        bad.pop();
        bad.push('!');
        bearer(&app, &bad, "/api/v1/links").send().await.unwrap();
        keys.push(key);
    }
    assert!(app.terminate().await);
    let db = app.stored_bytes();
    let logs = app.logs();
    // The bytes read are the stored ones: the keys' names are there as written.
    for i in 0..3 {
        let name = format!("stored-name-{i}");
        assert!(
            db.windows(name.len()).any(|w| w == name.as_bytes()),
            "{name} not found"
        );
    }
    for key in &keys {
        let body = &key[12..];
        assert!(!logs.contains(body), "key in the log");
        assert!(
            !db.windows(body.len()).any(|w| w == body.as_bytes()),
            "key in the database file"
        );
    }
    assert!(!logs.contains(crate::support::ADMIN_PASSWORD));
    assert!(!db
        .windows(crate::support::ADMIN_PASSWORD.len())
        .any(|w| w == crate::support::ADMIN_PASSWORD.as_bytes()));
    assert!(
        !logs.contains(&admin.csrf),
        "session-derived tokens stay out of the log"
    );
}

#[tokio::test]
async fn the_cli_manages_keys_only_while_the_server_is_stopped() {
    let mut app = spawn_app().await;
    if crate::support::on_postgres() {
        // The database is shared by every node: the CLI is one more client of it, server
        // running or not, and the running server follows what it writes.
        let out = app.cli(&[
            "keys",
            "create",
            "--name",
            "cli",
            "--ip",
            "127.0.0.1",
            "--json",
        ]);
        assert!(out.status.success(), "{out:?}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let key = v["key"].as_str().unwrap().to_owned();
        let out = app.cli(&["keys", "list"]);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("cli"),
            "{out:?}"
        );
        status_within(&app, &key, 200).await;
        let out = app.cli(&["keys", "revoke", &v["id"].to_string()]);
        assert!(out.status.success(), "{out:?}");
        status_within(&app, &key, 401).await;
        let app = app.restart().await;
        call(bearer(&app, &key, "/api/v1/links"), 401).await;
        return;
    }
    let out = app.cli(&["keys", "list"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("in use"),
        "{out:?}"
    );
    assert!(app.terminate().await);
    let out = app.cli(&[
        "keys",
        "create",
        "--name",
        "cli",
        "--ip",
        "127.0.0.1",
        "--json",
    ]);
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let key = v["key"].as_str().unwrap().to_owned();
    let out = app.cli(&["keys", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("cli"));
    let app = crate::support::start(
        app.dir.clone(),
        app.config_path.clone(),
        &Options::default(),
    )
    .await;
    call(bearer(&app, &key, "/api/v1/keys/current"), 200).await;
}

/// Wait (5 s at most) until the running server answers `key` on a keyed call with `status`.
async fn status_within(app: &TestApp, key: &str, status: u16) {
    eventually(5, || async {
        let got = bearer(app, key, "/api/v1/links")
            .send()
            .await
            .unwrap()
            .status();
        (got == status)
            .then_some(())
            .ok_or(format!("answered {got}, not {status}"))
    })
    .await;
}

#[tokio::test]
async fn the_request_log_keeps_the_newest_thousand() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (key, v) = create_key(&admin, json!({"name": "busy"})).await;
    for chunk in 0..21 {
        let calls = (0..50).map(|i| {
            bearer(
                &app,
                &key,
                &format!("/api/v1/links?offset={}", chunk * 50 + i),
            )
            .send()
        });
        for res in futures_util::future::join_all(calls).await {
            assert_eq!(res.unwrap().status(), 200);
        }
    }
    let id = v["id"].as_u64().unwrap();
    eventually(5, || async {
        let k = call(admin.get(&format!("/api/v1/api-keys/{id}")), 200).await;
        (k["request_count"] == 1050).then_some(())
    })
    .await;
    let log = call(
        admin.get(&format!(
            "/api/v1/api-keys/{id}/requests?limit=100&offset=999"
        )),
        200,
    )
    .await;
    assert_eq!(log["total"], 1000, "bounded");
    assert_eq!(log["items"].as_array().unwrap().len(), 1);
    let newest = call(
        admin.get(&format!("/api/v1/api-keys/{id}/requests?limit=1")),
        200,
    )
    .await;
    assert!(newest["items"][0]["path"]
        .as_str()
        .unwrap()
        .starts_with("/api/v1/links"));
}

#[tokio::test]
async fn a_scoped_key_cannot_tell_an_out_of_scope_domain_from_a_missing_one() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("a.example.com").await;
    admin.domain("b.example.com").await;
    let la = admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "a.example.com", "slug": "one", "destination_url": "https://e.com/a"}),
            201,
        )
        .await;
    let (key, _) = create_key(
        &admin,
        json!({"name": "scoped", "domains": ["a.example.com"]}),
    )
    .await;
    let la_path = format!("/api/v1/links/{}", la["id"]);
    let key = &key;
    // Status, content type and the whole problem document, for an existing out-of-scope
    // domain and a missing one.
    let answer = |req: reqwest::RequestBuilder| async move {
        let res = req.bearer_auth(key).send().await.unwrap();
        let status = res.status().as_u16();
        let kind = crate::support::content_type(&res).to_owned();
        let body: Value = res.json().await.unwrap();
        (status, kind, body)
    };
    for host in ["b.example.com", "missing.example.com"] {
        let created = answer(
            app.http
                .post(app.url("/api/v1/links"))
                .json(&json!({"domain": host, "destination_url": "https://e.com/x"})),
        )
        .await;
        let moved = answer(
            app.http
                .put(app.url(&la_path))
                .json(&json!({"domain": host})),
        )
        .await;
        assert_eq!(created.0, 404, "POST onto {host}: {created:?}");
        assert_eq!(created.1, "application/problem+json");
        assert_eq!(created.2["detail"], "domain not found", "{created:?}");
        assert_eq!(moved, created, "PUT onto {host} answers like POST");
    }
    // Nothing was created or moved.
    let one = call(admin.get(&la_path), 200).await;
    assert_eq!(one["domain"], "a.example.com");
    let listed = call(admin.get("/api/v1/links"), 200).await;
    assert_eq!(listed["total"], 1);
    // An unscoped caller still learns that a domain does not exist.
    let res = admin
        .post("/api/v1/links")
        .json(&json!({"domain": "missing.example.com", "destination_url": "https://e.com/x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn a_key_sent_in_a_path_or_query_is_redacted_in_the_request_log_the_database_and_the_log() {
    let mut app = spawn_with(Options {
        extra_toml: "\n[log]\nlevel = \"debug\"\n".into(),
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    let (caller, v) = create_key(&admin, json!({"name": "caller"})).await;
    let (leaked, _) = create_key(&admin, json!({"name": "leaked"})).await;
    let secret = &leaked[4..];
    let paths = [
        format!("/api/v1/links/{leaked}"),
        format!("/api/v1/links?search={leaked}"),
        format!("/api/v1/links/ldk%5F{secret}"),
        format!("/api/v1/no-such-thing/{leaked}"),
    ];
    for path in &paths {
        let res = bearer(&app, &caller, path).send().await.unwrap();
        assert!(res.status().is_success() || res.status().is_client_error());
        let body = res.text().await.unwrap();
        assert!(!body.contains(secret), "{path} echoed the key: {body}");
    }
    // The request log is written every half second: wait for a last, plain request.
    call(bearer(&app, &caller, "/api/v1/links/424242"), 404).await;
    let id = v["id"].as_u64().unwrap();
    let log = eventually(5, || async {
        let log = call(admin.get(&format!("/api/v1/api-keys/{id}/requests")), 200).await;
        (log["items"][0]["path"] == "/api/v1/links/424242").then_some(log)
    })
    .await;
    let logged: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        logged,
        [
            "/api/v1/links/424242",
            "/api/v1/links/ldk_[redacted]",
            "/api/v1/links",
            "/api/v1/links/ldk_[redacted]",
        ]
    );
    assert!(app.terminate().await);
    let db = app.stored_bytes();
    let logs = app.logs();
    assert!(
        logs.contains("ldk_[redacted]"),
        "the debug log shows the redacted path"
    );
    let leaks: Vec<&str> = logs.lines().filter(|l| l.contains(secret)).collect();
    assert!(leaks.is_empty(), "the key is in the log: {leaks:#?}");
    assert!(
        !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the key is in the database file"
    );
}
