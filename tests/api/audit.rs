//! The activity log (`GET /api/v1/audit`): every action that exists records an entry with its
//! actor and address, failed sign-ins name only real accounts, no secret is ever in it,
//! filters and their refusals, members see their own entries only, retention, and the hot
//! paths (redirects, keyed reads) add nothing.

use std::time::Duration;

use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::support::{
    call, cheap_password_hash, eventually, expect, spawn_app, spawn_with, Options, Session,
    ADMIN_PASSWORD,
};

const MEMBER_PASSWORD: &str = "member-password-123";

fn member_toml() -> String {
    format!(
        "\n[[users]]\nusername = \"mia\"\nrole = \"member\"\npassword_hash = \"{}\"\n",
        cheap_password_hash(MEMBER_PASSWORD)
    )
}

/// Every entry `who` may read, newest first (100 a page, all pages).
async fn entries(who: &Session, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let sep = if query.is_empty() { "" } else { "&" };
        let page = call(
            who.get(&format!(
                "/api/v1/audit?limit=100&offset={}{sep}{query}",
                out.len()
            )),
            200,
        )
        .await;
        let items = page["items"].as_array().unwrap().clone();
        let total = page["total"].as_u64().unwrap() as usize;
        let done = items.is_empty();
        out.extend(items);
        if done || out.len() >= total {
            return out;
        }
    }
}

/// Wait for an entry of `action` (the batched writer commits within half a second) that
/// `also` accepts; returns it.
async fn entry(who: &Session, action: &str, also: impl Fn(&Value) -> bool) -> Value {
    eventually(10, || async {
        let all = entries(who, "").await;
        all.iter()
            .find(|e| e["action"] == action && also(e))
            .cloned()
            .ok_or_else(|| format!("no {action} entry in {all:#?}"))
    })
    .await
}

fn by_user(e: &Value, name: &str) -> bool {
    e["actor"] == json!({"kind": "user", "name": name})
}

fn csv_form(csv: &str) -> Form {
    Form::new().part(
        "file",
        Part::bytes(csv.as_bytes().to_vec())
            .file_name("links.csv")
            .mime_str("text/csv")
            .unwrap(),
    )
}

#[tokio::test]
async fn every_action_records_its_actor_target_and_address() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let signed_in = entry(&admin, "session.sign_in", |e| by_user(e, "admin")).await;
    assert_eq!(signed_in["client_ip"], "127.0.0.1", "{signed_in}");
    assert!(signed_in["id"].as_u64().is_some() && signed_in["at"].is_string());

    // Failed sign-ins: a real account is named, anything else is "unknown user".
    for (name, status) in [("admin", 401), ("hunter2-typed-here", 401)] {
        let res = app
            .http
            .post(app.url("/api/v1/session"))
            .json(&json!({"username": name, "password": "wrong-password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status);
    }
    let failed = entry(&admin, "session.sign_in_failed", |e| by_user(e, "admin")).await;
    assert_eq!(failed["client_ip"], "127.0.0.1");
    entry(&admin, "session.sign_in_failed", |e| {
        by_user(e, "unknown user")
    })
    .await;

    // Domains, links, import, export.
    let d = admin.domain("go.example.com").await;
    let id = d["id"].as_u64().unwrap();
    call(
        admin
            .put(&format!("/api/v1/domains/{id}"))
            .json(&json!({"hostname": "links.example.com"})),
        200,
    )
    .await;
    let link = admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "links.example.com", "destination_url": "https://example.com/a", "slug": "a"}),
            201,
        )
        .await;
    call(admin.delete(&format!("/api/v1/links/{}", link["id"])), 204).await;
    let res = admin
        .post("/api/v1/links/import?domain=links.example.com")
        .multipart(csv_form(
            "destination_url,slug\nhttps://example.com/1,one\nnot a url,two\n",
        ))
        .send()
        .await
        .unwrap();
    expect(res, 200).await;
    let csv = admin
        .get("/api/v1/links/export")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("example.com/1"), "{csv}");

    // Keys: their whole life, and a key acting on its own.
    let created = admin
        .post_json("/api/v1/api-keys", json!({"name": "ci"}), 201)
        .await;
    let kid = created["id"].as_u64().unwrap();
    let key = created["key"].as_str().unwrap().to_owned();
    let prefix = created["prefix"].as_str().unwrap().to_owned();
    call(
        admin
            .put(&format!("/api/v1/api-keys/{kid}"))
            .json(&json!({"name": "ci-2"})),
        200,
    )
    .await;
    let domain_by_key = call(
        app.http
            .post(app.url("/api/v1/domains"))
            .bearer_auth(&key)
            .json(&json!({"hostname": "bykey.example.com"})),
        201,
    )
    .await;
    let rolled = admin
        .post_json(
            &format!("/api/v1/api-keys/{kid}/roll"),
            json!({"old_key_expires_at": null}),
            201,
        )
        .await;
    let new_id = rolled["id"].as_u64().unwrap();
    call(
        admin.post(&format!("/api/v1/api-keys/{new_id}/revoke")),
        200,
    )
    .await;
    call(admin.delete(&format!("/api/v1/api-keys/{new_id}")), 204).await;
    call(
        admin.delete(&format!(
            "/api/v1/domains/{}",
            domain_by_key["id"].as_u64().unwrap()
        )),
        204,
    )
    .await;

    // Backups, by the API and by the control socket.
    let b = call(admin.post("/api/v1/backup"), 201).await;
    assert_eq!(app.control("backup")["ok"], true);

    let key_target = format!("key {kid} ({prefix})");
    for (action, target) in [
        ("domain.created", "go.example.com"),
        ("domain.renamed", "links.example.com"),
        ("link.deleted", "links.example.com/a"),
        ("links.imported", "links.example.com"),
        ("links.exported", ""),
        ("key.created", key_target.as_str()),
        ("key.updated", key_target.as_str()),
        ("key.rolled", key_target.as_str()),
        ("key.revoked", ""),
        ("key.deleted", ""),
        ("domain.deleted", "bykey.example.com"),
        ("backup.created", b["name"].as_str().unwrap()),
    ] {
        let e = entry(&admin, action, |e| by_user(e, "admin")).await;
        if !target.is_empty() {
            assert_eq!(e["target"], target, "{e}");
        }
        assert_eq!(e["client_ip"], "127.0.0.1", "{e}");
    }
    let imported = entry(&admin, "links.imported", |_| true).await;
    assert_eq!(imported["detail"], "1 created, 0 skipped, 1 failed");
    let exported = entry(&admin, "links.exported", |_| true).await;
    assert_eq!(exported["detail"], "1 link");
    let renamed = entry(&admin, "domain.renamed", |_| true).await;
    assert_eq!(renamed["detail"], "renamed from go.example.com");
    let by_key = entry(&admin, "domain.created", |e| e["actor"]["kind"] == "key").await;
    assert_eq!(by_key["actor"]["name"], key_target.as_str());
    assert_eq!(by_key["target"], "bykey.example.com");
    assert_eq!(by_key["client_ip"], "127.0.0.1");
    let socket = entry(&admin, "backup.created", |e| e["actor"]["kind"] == "system").await;
    assert_eq!(socket["client_ip"], Value::Null);

    // Sign-out, last: it ends the session that reads the log.
    call(admin.delete("/api/v1/session"), 204).await;
    let again = app.admin().await;
    entry(&again, "session.sign_out", |e| by_user(e, "admin")).await;
}

#[tokio::test]
async fn the_first_user_password_changes_and_config_reloads_are_recorded() {
    let app = spawn_with(Options {
        admin_password: Some(ADMIN_PASSWORD.into()),
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    // The first user, made from LINKDOCK_ADMIN_PASSWORD at the first start.
    let first = entry(&admin, "user.created", |_| true).await;
    assert_eq!(first["actor"]["kind"], "system", "{first}");
    assert_eq!(first["target"], "admin");
    assert_eq!(first["detail"], "role admin");
    let fresh = call(
        admin
            .put("/api/v1/session/password")
            .json(&json!({"current_password": ADMIN_PASSWORD, "new_password": "another-password"})),
        200,
    )
    .await;
    assert_eq!(fresh["username"], "admin");
    let e = entry(&admin, "password.changed", |e| by_user(e, "admin")).await;
    assert_eq!(e["client_ip"], "127.0.0.1");
    assert_eq!(e["target"], "admin");

    app.rewrite_config("\n[[domains]]\nhostname = \"declared.example.com\"\n");
    let reloaded = entry(&admin, "config.reloaded", |_| true).await;
    assert_eq!(reloaded["actor"]["kind"], "config", "{reloaded}");
    assert_eq!(reloaded["client_ip"], Value::Null);
    std::fs::write(&app.config_path, "[server]\nlisten = 12\n").unwrap();
    let refused = entry(&admin, "config.refused", |_| true).await;
    assert_eq!(refused["actor"]["kind"], "config", "{refused}");
    let detail = refused["detail"].as_str().unwrap();
    assert!(detail.contains("line 2"), "{detail}");
    assert!(
        !detail.contains("listen = 12"),
        "the file's text stays out: {detail}"
    );
}

#[tokio::test]
async fn no_secret_is_in_any_entry() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let key = admin
        .post_json("/api/v1/api-keys", json!({"name": "secret-test"}), 201)
        .await;
    let key = key["key"].as_str().unwrap().to_owned();
    // A key pasted into the username box, and a password typed there.
    for name in [key.as_str(), ADMIN_PASSWORD] {
        let res = app
            .http
            .post(app.url("/api/v1/session"))
            .json(&json!({"username": name, "password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    call(
        app.http
            .post(app.url("/api/v1/domains"))
            .bearer_auth(&key)
            .json(&json!({"hostname": "k.example.com"})),
        201,
    )
    .await;
    // The session token, as its cookie carries it.
    let res = app
        .http
        .post(app.url("/api/v1/session"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let token = res
        .cookies()
        .find(|c| c.name() == "linkdock_session")
        .unwrap()
        .value()
        .to_owned();
    let csrf = expect(res, 200).await["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    entry(&admin, "domain.created", |e| e["actor"]["kind"] == "key").await;
    let n_failed = eventually(10, || async {
        let n = entries(&admin, "action=session.sign_in_failed").await.len();
        (n == 2).then_some(n).ok_or(format!("{n} failed sign-ins"))
    })
    .await;
    assert_eq!(n_failed, 2);
    let all = call(admin.get("/api/v1/audit?limit=100"), 200)
        .await
        .to_string();
    for secret in [key.as_str(), &key[12..], ADMIN_PASSWORD, &token, &csrf] {
        assert!(!all.contains(secret), "{secret} is in the log: {all}");
    }
    assert!(all.contains("unknown user"), "{all}");
}

#[tokio::test]
async fn filters_select_and_bad_values_are_400_naming_the_field() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    admin
        .post_json("/api/v1/api-keys", json!({"name": "k"}), 201)
        .await;
    entry(&admin, "session.sign_in", |_| true).await;
    let keys = entries(&admin, "action=key.").await;
    assert!(!keys.is_empty());
    assert!(keys
        .iter()
        .all(|e| e["action"].as_str().unwrap().starts_with("key.")));
    let exact = entries(&admin, "action=domain.created").await;
    assert_eq!(exact.len(), 1);
    let admins = entries(&admin, "actor=admin").await;
    assert!(admins.iter().all(|e| by_user(e, "admin")), "{admins:?}");
    assert!(entries(&admin, "actor=nobody").await.is_empty());
    // Newest first, and paged.
    let page = call(admin.get("/api/v1/audit?limit=1&offset=0"), 200).await;
    assert_eq!(page["limit"], 1);
    assert_eq!(page["offset"], 0);
    assert!(page["total"].as_u64().unwrap() >= 3);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let all = entries(&admin, "").await;
    let ids: Vec<u64> = all.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    // `since` in the future: nothing; long ago: everything.
    assert!(entries(&admin, "since=2999-01-01T00:00:00Z")
        .await
        .is_empty());
    assert_eq!(
        entries(&admin, "since=2000-01-01T00:00:00Z").await.len(),
        all.len()
    );
    for (query, field) in [
        ("since=yesterday", "since"),
        ("since=2026-13-01T00:00:00Z", "since"),
        ("action=nope.", "action"),
        ("limit=0", "limit"),
        ("offset=-1", "offset"),
    ] {
        let res = admin
            .get(&format!("/api/v1/audit?{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{query}"
        );
        let p = expect(res, 400).await;
        assert_eq!(p["errors"][0]["field"], field, "{query}: {p}");
    }
}

#[tokio::test]
async fn a_member_sees_only_their_own_entries_and_keys_get_403() {
    let app = spawn_with(Options {
        extra_toml: member_toml(),
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    let mia = app.sign_in_as("mia", MEMBER_PASSWORD).await;
    mia.post_json(
        "/api/v1/links",
        json!({"domain": "go.example.com", "destination_url": "https://example.com", "slug": "m"}),
        201,
    )
    .await;
    let export = mia.get("/api/v1/links/export").send().await.unwrap();
    assert_eq!(export.status(), 200);
    export.text().await.unwrap();
    entry(&mia, "links.exported", |e| by_user(e, "mia")).await;
    let own = entries(&mia, "").await;
    assert!(own.iter().all(|e| by_user(e, "mia")), "{own:#?}");
    assert!(own.iter().any(|e| e["action"] == "session.sign_in"));
    // Asking for someone else's gives nothing, not theirs.
    assert!(entries(&mia, "actor=admin").await.is_empty());
    // The admin sees both.
    let everyone = entries(&admin, "").await;
    assert!(everyone.iter().any(|e| by_user(e, "mia")));
    assert!(everyone.iter().any(|e| by_user(e, "admin")));

    let key = admin
        .post_json("/api/v1/api-keys", json!({"name": "k"}), 201)
        .await;
    let res = app
        .http
        .get(app.url("/api/v1/audit"))
        .bearer_auth(key["key"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    call(app.http.get(app.url("/api/v1/audit")), 401).await;
}

#[tokio::test]
async fn the_sweeper_records_expiries_and_drops_entries_past_the_retention() {
    let app = spawn_with(Options {
        test_clock: true,
        extra_toml: "\n[audit]\nretention_days = 2\n".into(),
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    let soon = (time::OffsetDateTime::now_utc() + time::Duration::seconds(120))
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let key = admin
        .post_json(
            "/api/v1/api-keys",
            json!({"name": "short", "expires_at": soon}),
            201,
        )
        .await;
    entry(&admin, "key.created", |_| true).await;
    app.advance_clock(Duration::from_secs(3600));
    let expired = entry(&admin, "key.expired", |_| true).await;
    assert_eq!(
        expired["actor"],
        json!({"kind": "system", "name": "sweeper"})
    );
    assert_eq!(expired["client_ip"], Value::Null);
    assert_eq!(
        expired["target"],
        format!("key {} ({})", key["id"], key["prefix"].as_str().unwrap())
    );

    // Three days later (sessions last a week): the first day's entries are gone.
    app.advance_clock(Duration::from_secs(3 * 86_400));
    let later = app.admin().await;
    eventually(10, || async {
        let left = entries(&later, "").await;
        let old = left
            .iter()
            .filter(|e| e["action"] == "key.created" || e["action"] == "key.expired")
            .count();
        (old == 0 && !left.is_empty())
            .then_some(())
            .ok_or(format!("still kept: {left:#?}"))
    })
    .await;
}

#[tokio::test]
async fn redirects_and_keyed_reads_add_no_entries() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "go.example.com", "destination_url": "https://example.com", "slug": "r"}),
            201,
        )
        .await;
    let key = admin
        .post_json("/api/v1/api-keys", json!({"name": "reader"}), 201)
        .await;
    let key = key["key"].as_str().unwrap().to_owned();
    // The sign-in's entry goes through the batched writer: count once it is in.
    entry(&admin, "session.sign_in", |_| true).await;
    let before = entries(&admin, "").await.len();
    for _ in 0..5 {
        let res = app
            .http
            .get(app.url("/r"))
            .header("host", "go.example.com")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302);
        call(
            app.http.get(app.url("/api/v1/links")).bearer_auth(&key),
            200,
        )
        .await;
        call(
            app.http
                .get(app.url("/api/v1/keys/current"))
                .bearer_auth(&key),
            200,
        )
        .await;
    }
    // A marker through the same batched writer: once it is committed, so is anything the
    // requests above sent (one commit drains every buffer).
    let res = app
        .http
        .post(app.url("/api/v1/session"))
        .json(&json!({"username": "admin", "password": "wrong-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    entry(&admin, "session.sign_in_failed", |_| true).await;
    assert_eq!(entries(&admin, "").await.len(), before + 1);
}

#[test]
fn config_check_refuses_a_retention_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_linkdock");
    for (days, ok) in [("0", false), ("3651", false), ("30", true)] {
        let path = dir.path().join(format!("audit-{days}.toml"));
        std::fs::write(&path, format!("[audit]\nretention_days = {days}\n")).unwrap();
        let out = std::process::Command::new(bin)
            .args(["config", "check"])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.status.success(), ok, "{days}: {out:?}");
        if !ok {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("audit.retention_days: 1 to 3650"), "{text}");
        }
    }
}
