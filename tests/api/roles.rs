//! Issue 18 item 3 and issue 22 item 3 over HTTP: what each role may do (walked over every
//! documented operation, expectations taken from the session table as the document states
//! it), members and their own keys, keys capped by their creator's role, and disabling and
//! enabling a key.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{call, cheap_password_hash, expect, spawn_with, Options, Session, TestApp};

const PASSWORD: &str = "team-password-123";

/// A server with `admin` (declared by the harness), `mia` (member) and `vic` (viewer), and
/// the key `declared` from the config file.
async fn team_app(test_clock: bool) -> TestApp {
    let hash = cheap_password_hash(PASSWORD);
    let (_, declared) = crate::docs::declared_key("declared");
    spawn_with(Options {
        extra_toml: format!(
            "\n[[users]]\nusername = \"mia\"\npassword_hash = \"{hash}\"\nrole = \"member\"\n\
             \n[[users]]\nusername = \"vic\"\npassword_hash = \"{hash}\"\nrole = \"viewer\"\n{declared}"
        ),
        test_clock,
        ..Default::default()
    })
    .await
}

fn send(s: &Session, method: &Method, path: &str) -> reqwest::RequestBuilder {
    let b = match *method {
        Method::GET => s.get(path),
        Method::POST => s.post(path),
        Method::PUT => s.put(path),
        Method::PATCH => s.patch(path),
        Method::DELETE => s.delete(path),
        _ => unreachable!("{method}"),
    };
    if matches!(*method, Method::POST | Method::PUT | Method::PATCH) {
        b.json(&json!({}))
    } else {
        b
    }
}

/// The right the document says a session needs for an operation (its `session` role).
fn stated_right(op: &Value) -> Option<String> {
    op["security"]
        .as_array()?
        .iter()
        .filter_map(|alt| alt.get("session"))
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_str)
        .next()
        .map(str::to_owned)
}

fn takes_session(op: &Value) -> bool {
    op["security"]
        .as_array()
        .is_some_and(|alts| alts.iter().any(|a| a.get("session").is_some()))
}

/// Which roles hold a right, as the document's description states it ("which admin and
/// member have"), so the test follows the table instead of repeating it.
fn roles_with(description: &str, right: &str) -> Vec<&'static str> {
    let marker = format!("the right `{right}`");
    let after = description
        .split_once(&marker)
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no {marker} in {description}"));
    let which = after
        .split_once("which ")
        .and_then(|(_, r)| r.split_once(" have"))
        .map(|(roles, _)| roles)
        .unwrap_or_else(|| panic!("no roles stated in {description}"));
    ["admin", "member", "viewer"]
        .into_iter()
        .filter(|r| which.contains(r))
        .collect()
}

#[tokio::test]
async fn every_operation_answers_each_role_as_the_session_table_says() {
    let app = team_app(false).await;
    let admin = app.admin().await;
    let sessions = [
        ("viewer", app.sign_in_as("vic", PASSWORD).await),
        ("member", app.sign_in_as("mia", PASSWORD).await),
        ("admin", admin),
    ];
    let doc = call(app.http.get(app.url("/api/openapi.json")), 200).await;
    let mut denied = 0;
    for (role, session) in &sessions {
        for (path, item) in doc["paths"].as_object().unwrap() {
            // Signing out would end the session the walk goes on with.
            if path == "/api/v1/session" {
                continue;
            }
            for (method, op) in item.as_object().unwrap() {
                if !takes_session(op) {
                    continue;
                }
                let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let url = path.replace("{id}", "999999");
                let res = send(session, &m, &url).send().await.unwrap();
                let status = res.status().as_u16();
                let body: Value = res.json().await.unwrap_or(Value::Null);
                let detail = body["detail"].as_str().unwrap_or("");
                let what = format!("{role} {method} {path}: {status} {detail}");
                match stated_right(op) {
                    Some(right) => {
                        let description = op["description"].as_str().unwrap_or("");
                        if roles_with(description, &right).contains(role) {
                            assert!(status != 403 && status != 401, "{what}: should be allowed");
                        } else {
                            denied += 1;
                            assert_eq!(status, 403, "{what}: should be refused");
                            assert!(
                                detail.contains(&right) && detail.contains(role),
                                "{what}: the refusal names the right and the role"
                            );
                        }
                    }
                    None => assert!(
                        !(status == 403 && detail.contains("your role")),
                        "{what}: open to anyone signed in"
                    ),
                }
            }
        }
    }
    assert!(denied > 10, "the walk refused only {denied} calls");
}

async fn create_key(s: &Session, body: Value) -> Value {
    s.post_json("/api/v1/api-keys", body, 201).await
}

#[tokio::test]
async fn members_see_and_manage_only_their_own_keys_capped_by_their_role() {
    let app = team_app(false).await;
    let admin = app.admin().await;
    let mia = app.sign_in_as("mia", PASSWORD).await;
    let vic = app.sign_in_as("vic", PASSWORD).await;
    let theirs = create_key(&admin, json!({"name": "admin's"})).await;
    let own = create_key(&mia, json!({"name": "mia's"})).await;

    // Without a list, a member's key gets what the role may grant, never domains:write.
    assert_eq!(
        own["permissions"],
        json!([
            "links:read",
            "links:write",
            "domains:read",
            "links:import",
            "links:export"
        ])
    );
    assert_eq!(own["created_by"], "mia");
    assert_eq!(theirs["permissions"].as_array().unwrap().len(), 6);

    // Lists: the member sees her key; the admin sees both, with who made each.
    let list = call(mia.get("/api/v1/api-keys"), 200).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["name"], "mia's");
    let list = call(admin.get("/api/v1/api-keys"), 200).await;
    assert_eq!(list["total"], 3);
    let makers: Vec<&Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["created_by"])
        .collect();
    assert_eq!(makers, [&json!("mia"), &json!("admin"), &Value::Null]);

    // Every key route on the admin's key answers exactly what a missing key answers.
    let missing = call(mia.get("/api/v1/api-keys/999999"), 404).await;
    let id = theirs["id"].as_u64().unwrap();
    let routes = [
        (Method::GET, format!("/api/v1/api-keys/{id}")),
        (Method::PUT, format!("/api/v1/api-keys/{id}")),
        (Method::DELETE, format!("/api/v1/api-keys/{id}")),
        (Method::POST, format!("/api/v1/api-keys/{id}/revoke")),
        (Method::POST, format!("/api/v1/api-keys/{id}/roll")),
        (Method::GET, format!("/api/v1/api-keys/{id}/requests")),
        (Method::POST, format!("/api/v1/api-keys/{id}/disable")),
        (Method::POST, format!("/api/v1/api-keys/{id}/enable")),
    ];
    for (m, path) in &routes {
        let got = call(send(&mia, m, path), 404).await;
        assert_eq!(got["detail"], missing["detail"], "{m} {path}");
        assert_eq!(got["type"], missing["type"], "{m} {path}");
    }
    // ...and nothing happened to it.
    let still = call(admin.get(&format!("/api/v1/api-keys/{id}")), 200).await;
    assert_eq!(still["status"], "active");

    // Her own key she manages.
    let own_id = own["id"].as_u64().unwrap();
    call(mia.get(&format!("/api/v1/api-keys/{own_id}")), 200).await;
    call(
        mia.put(&format!("/api/v1/api-keys/{own_id}"))
            .json(&json!({"permissions": ["links:read"]})),
        200,
    )
    .await;

    // Never a permission her role lacks: on create and on edit, 403 naming it and the role.
    for res in [
        mia.post("/api/v1/api-keys")
            .json(&json!({"name": "wide", "permissions": ["links:read", "domains:write"]}))
            .send()
            .await
            .unwrap(),
        mia.put(&format!("/api/v1/api-keys/{own_id}"))
            .json(&json!({"permissions": ["domains:write"]}))
            .send()
            .await
            .unwrap(),
    ] {
        let p = expect(res, 403).await;
        let detail = p["detail"].as_str().unwrap();
        assert!(
            detail.contains("domains:write") && detail.contains("member"),
            "{detail}"
        );
    }
    let after = call(mia.get(&format!("/api/v1/api-keys/{own_id}")), 200).await;
    assert_eq!(
        after["permissions"],
        json!(["links:read"]),
        "no partial write"
    );
    // Not even an admin widens a member's key past her role.
    let p = expect(
        admin
            .put(&format!("/api/v1/api-keys/{own_id}"))
            .json(&json!({"permissions": ["links:read", "domains:write"]}))
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("mia") && detail.contains("member") && detail.contains("domains:write"),
        "{detail}"
    );

    // Viewers have no keys at all.
    let p = expect(
        vic.post("/api/v1/api-keys")
            .json(&json!({"name": "v"}))
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("keys:own"), "{p}");
    let p = expect(vic.get("/api/v1/api-keys").send().await.unwrap(), 403).await;
    assert!(p["detail"].as_str().unwrap().contains("viewer"), "{p}");
}

fn with_key(app: &TestApp, key: &str, path: &str) -> reqwest::RequestBuilder {
    app.http.get(app.url(path)).bearer_auth(key)
}

#[tokio::test]
async fn a_disabled_key_is_refused_until_enabled_and_a_revoked_one_stays_revoked() {
    let mut app = team_app(true).await;
    let mia = app.sign_in_as("mia", PASSWORD).await;
    let made = create_key(&mia, json!({"name": "switchable"})).await;
    let key = made["key"].as_str().unwrap().to_owned();
    let id = made["id"].as_u64().unwrap();
    call(with_key(&app, &key, "/api/v1/links"), 200).await;

    let k = mia
        .post_json(&format!("/api/v1/api-keys/{id}/disable"), json!({}), 200)
        .await;
    assert_eq!(k["status"], "disabled");
    // Again: nothing changes.
    mia.post_json(&format!("/api/v1/api-keys/{id}/disable"), json!({}), 200)
        .await;
    let res = with_key(&app, &key, "/api/v1/links").send().await.unwrap();
    assert!(res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    let p = expect(res, 401).await;
    assert!(p["type"].as_str().unwrap().ends_with("/disabled"), "{p}");
    assert!(p["detail"].as_str().unwrap().contains("disabled"), "{p}");
    // keys/current explains it, in the same words.
    let current = call(with_key(&app, &key, "/api/v1/keys/current"), 200).await;
    assert_eq!(current["status"], "disabled");
    assert_eq!(current["denial"]["status"], 401);
    assert_eq!(current["denial"]["reason"], "disabled");
    assert_eq!(current["denial"]["detail"], p["detail"]);
    // A disabled key cannot be rolled.
    call(
        mia.post(&format!("/api/v1/api-keys/{id}/roll"))
            .json(&json!({})),
        409,
    )
    .await;
    let metrics = app.text("/metrics").await;
    assert!(
        metrics.contains("linkdock_auth_failures_total{reason=\"disabled\"}"),
        "{metrics}"
    );

    let k = mia
        .post_json(&format!("/api/v1/api-keys/{id}/enable"), json!({}), 200)
        .await;
    assert_eq!(k["status"], "active");
    call(with_key(&app, &key, "/api/v1/links"), 200).await;

    // Enabling a key that expired while it was disabled leaves it expired.
    let soon = time::OffsetDateTime::now_utc() + time::Duration::seconds(120);
    let soon = soon
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let short = create_key(&mia, json!({"name": "short", "expires_at": soon})).await;
    let sid = short["id"].as_u64().unwrap();
    mia.post_json(&format!("/api/v1/api-keys/{sid}/disable"), json!({}), 200)
        .await;
    app.advance_clock(std::time::Duration::from_secs(300));
    let still = call(mia.get(&format!("/api/v1/api-keys/{sid}")), 200).await;
    assert_eq!(still["status"], "disabled");
    let k = mia
        .post_json(&format!("/api/v1/api-keys/{sid}/enable"), json!({}), 200)
        .await;
    assert_eq!(k["status"], "expired");

    // Revoking is for good: neither disable nor enable brings it back.
    mia.post_json(&format!("/api/v1/api-keys/{id}/disable"), json!({}), 200)
        .await;
    mia.post_json(&format!("/api/v1/api-keys/{id}/revoke"), json!({}), 200)
        .await;
    for action in ["disable", "enable"] {
        let p = call(
            mia.post(&format!("/api/v1/api-keys/{id}/{action}"))
                .json(&json!({})),
            409,
        )
        .await;
        assert!(p["detail"].as_str().unwrap().contains("revoked"), "{p}");
    }
    let p = expect(
        with_key(&app, &key, "/api/v1/links").send().await.unwrap(),
        401,
    )
    .await;
    assert!(p["type"].as_str().unwrap().ends_with("/revoked"), "{p}");

    // Keys declared in the config file are read-only here too.
    let admin = app.admin().await;
    let list = call(admin.get("/api/v1/api-keys"), 200).await;
    let declared = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["source"] == "config")
        .unwrap()["id"]
        .clone();
    for action in ["disable", "enable"] {
        call(
            admin
                .post(&format!("/api/v1/api-keys/{declared}/{action}"))
                .json(&json!({})),
            409,
        )
        .await;
    }

    // The command line: refused while the server runs, direct on the data dir once stopped.
    let cli_key = create_key(&admin, json!({"name": "cli"})).await;
    let cid = cli_key["id"].to_string();
    if crate::support::on_postgres() {
        // On the shared database the CLI works beside running nodes, which follow it.
        let secret = cli_key["key"].as_str().unwrap();
        let out = app.cli(&["keys", "disable", &cid]);
        assert!(out.status.success(), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("disabled"));
        let p = crate::support::eventually(5, || async {
            let res = with_key(&app, secret, "/api/v1/links")
                .send()
                .await
                .unwrap();
            match res.status().as_u16() {
                401 => Ok(res.json::<Value>().await.unwrap()),
                s => Err(format!("answered {s}")),
            }
        })
        .await;
        assert!(p["type"].as_str().unwrap().ends_with("/disabled"), "{p}");
        let out = app.cli(&["keys", "enable", &cid]);
        assert!(out.status.success(), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("active"));
        crate::support::eventually(5, || async {
            let s = with_key(&app, secret, "/api/v1/links")
                .send()
                .await
                .unwrap()
                .status();
            (s == 200).then_some(()).ok_or(format!("answered {s}"))
        })
        .await;
        return;
    }
    let out = app.cli(&["keys", "disable", &cid]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("in use"),
        "{out:?}"
    );
    assert!(app.terminate().await, "{}", app.logs());
    let out = app.cli(&["keys", "disable", &cid]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("disabled"));
    let list = app.cli(&["keys", "list", "--json"]);
    let list: Value = serde_json::from_slice(&list.stdout).unwrap();
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == cli_key["id"])
        .unwrap()
        .clone();
    assert_eq!(row["status"], "disabled");
    let out = app.cli(&["keys", "enable", &cid]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("active"),
        "{out:?}"
    );
}
