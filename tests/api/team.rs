//! The team (API.md "Team"): users listed, changed and removed by admins; the last admin and
//! users declared in the config file stay; a removal's keys; the `linkdock user` commands
//! through the control socket and on a stopped server.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

use crate::support::{
    call, cheap_password_hash, expect, spawn_app, spawn_with, Options, Session, TestApp,
};

const BOB: &str = "bob-password-123";
const CAROL: &str = "carol-password-123";

/// Add a user through the control socket (a cheap hash, so signing in costs nothing).
fn add(app: &TestApp, name: &str, role: &str, password: &str) -> u64 {
    let answer = app.control(&format!(
        "user add {name} {role} {}",
        cheap_password_hash(password)
    ));
    assert_eq!(answer["ok"], true, "{answer}");
    answer["user"]["id"].as_u64().unwrap()
}

fn patch(s: &Session, path: &str) -> reqwest::RequestBuilder {
    s.http
        .patch(format!("{}{path}", s.base))
        .header("X-CSRF-Token", &s.csrf)
}

async fn users(s: &Session) -> Vec<Value> {
    call(s.get("/api/v1/users"), 200).await["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn id_of(users: &[Value], name: &str) -> u64 {
    users
        .iter()
        .find(|u| u["username"] == name)
        .unwrap_or_else(|| panic!("{name} not in {users:?}"))["id"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn an_admin_lists_changes_and_removes_users() {
    let app = spawn_app().await;
    let bob = add(&app, "bob", "member", BOB);
    let carol = add(&app, "carol", "viewer", CAROL);
    app.sign_in_as("bob", BOB).await;
    let admin = app.admin().await;

    let list = users(&admin).await;
    assert_eq!(list.len(), 3, "{list:?}");
    assert_eq!(list[0]["username"], "carol", "newest first: {list:?}");
    let me = list.iter().find(|u| u["username"] == "admin").unwrap();
    assert_eq!(me["source"], "config");
    assert_eq!(me["role"], "admin");
    assert!(me["last_sign_in_at"].is_string(), "{me}");
    let b = call(admin.get(&format!("/api/v1/users/{bob}")), 200).await;
    assert_eq!(b["role"], "member");
    assert_eq!(b["source"], "api");
    assert!(b["created_at"].is_string());
    assert!(b["last_sign_in_at"].is_string(), "bob signed in: {b}");
    let c = call(admin.get(&format!("/api/v1/users/{carol}")), 200).await;
    assert_eq!(c["last_sign_in_at"], Value::Null, "never signed in");

    let b = call(
        patch(&admin, &format!("/api/v1/users/{bob}")).json(&json!({"role": "viewer"})),
        200,
    )
    .await;
    assert_eq!(b["role"], "viewer");
    let bad = call(
        patch(&admin, &format!("/api/v1/users/{bob}")).json(&json!({"role": "owner"})),
        400,
    )
    .await;
    assert_eq!(bad["errors"][0]["field"], "role", "{bad}");
    let why = bad["errors"][0]["message"].as_str().unwrap();
    assert!(why.contains("admin, member, viewer"), "{why}");
    call(
        patch(&admin, &format!("/api/v1/users/{bob}")).json(&json!({})),
        400,
    )
    .await;

    // The admin of the test config is declared in the file: read-only here.
    let declared = id_of(&list, "admin");
    for req in [
        patch(&admin, &format!("/api/v1/users/{declared}")).json(&json!({"role": "member"})),
        patch(&admin, &format!("/api/v1/users/{declared}"))
            .json(&json!({"password": "another-password-1"})),
        admin.delete(&format!("/api/v1/users/{declared}")),
    ] {
        let p = call(req, 409).await;
        assert!(p["detail"].as_str().unwrap().contains("config file"), "{p}");
    }

    let res = admin
        .delete(&format!("/api/v1/users/{carol}"))
        .send()
        .await
        .unwrap();
    expect(res, 204).await;
    call(admin.get(&format!("/api/v1/users/{carol}")), 404).await;
    assert_eq!(users(&admin).await.len(), 2);
    assert!(app.logs().contains("user removed"), "logged");
    assert!(!app.logs().contains(CAROL));
}

#[tokio::test]
async fn the_last_admin_can_be_neither_demoted_nor_removed() {
    let app = spawn_with(Options {
        admin_password: Some("first-admin-password".into()),
        ..Default::default()
    })
    .await;
    let admin = app.sign_in_as("admin", "first-admin-password").await;
    let first = id_of(&users(&admin).await, "admin");
    let p = call(
        patch(&admin, &format!("/api/v1/users/{first}")).json(&json!({"role": "member"})),
        409,
    )
    .await;
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.contains("last admin"), "{detail}");
    let p = call(admin.delete(&format!("/api/v1/users/{first}")), 409).await;
    assert!(p["detail"].as_str().unwrap().contains("last admin"), "{p}");

    // With a second admin, the first may step down.
    add(&app, "bob", "admin", BOB);
    let u = call(
        patch(&admin, &format!("/api/v1/users/{first}")).json(&json!({"role": "member"})),
        200,
    )
    .await;
    assert_eq!(u["role"], "member");
    // The change counts at once: the first admin's own session has lost the right.
    let p = call(admin.get("/api/v1/users"), 403).await;
    assert!(p["detail"].as_str().unwrap().contains("team"), "{p}");
}

#[tokio::test]
async fn a_password_reset_ends_that_users_sessions_only() {
    let app = spawn_app().await;
    let bob = add(&app, "bob", "member", BOB);
    let bobs = app.sign_in_as("bob", BOB).await;
    call(bobs.get("/api/v1/session"), 200).await;
    let admin = app.admin().await;
    let short = call(
        patch(&admin, &format!("/api/v1/users/{bob}")).json(&json!({"password": "short"})),
        400,
    )
    .await;
    assert_eq!(short["errors"][0]["field"], "password", "{short}");
    call(
        patch(&admin, &format!("/api/v1/users/{bob}"))
            .json(&json!({"password": "bobs-new-password-1"})),
        200,
    )
    .await;
    call(bobs.get("/api/v1/session"), 401).await;
    call(admin.get("/api/v1/session"), 200).await;
    app.sign_in_as("bob", "bobs-new-password-1").await;
    assert!(app.logs().contains("user password reset"));
    assert!(!app.logs().contains("bobs-new-password-1"), "never logged");
}

#[tokio::test]
async fn removing_a_user_revokes_their_keys_or_hands_them_on() {
    let app = spawn_app().await;
    let bob = add(&app, "bob", "member", BOB);
    let carol = add(&app, "carol", "member", CAROL);
    let admin = app.admin().await;
    let admin_id = id_of(&users(&admin).await, "admin");
    let key_of = |s: Session| async move {
        let k = s
            .post_json(
                "/api/v1/api-keys",
                json!({"name": "mine", "permissions": ["links:read"]}),
                201,
            )
            .await;
        (
            s,
            k["id"].as_u64().unwrap(),
            k["key"].as_str().unwrap().to_owned(),
        )
    };
    let (bobs, _, bob_key) = key_of(app.sign_in_as("bob", BOB).await).await;
    let (_, carol_key_id, carol_key) = key_of(app.sign_in_as("carol", CAROL).await).await;
    let with_key = |key: &str| {
        app.http
            .get(app.url("/api/v1/links"))
            .bearer_auth(key)
            .send()
    };
    assert_eq!(with_key(&bob_key).await.unwrap().status(), 200);

    // Bad choices are refused before anything changes.
    for (query, field) in [
        ("keys=burn", "keys"),
        ("keys=transfer", "to"),
        (&*format!("keys=transfer&to={bob}"), "to"),
        ("keys=transfer&to=9999", "to"),
        (&*format!("keys=revoke&to={carol}"), "to"),
    ] {
        let p = call(admin.delete(&format!("/api/v1/users/{bob}?{query}")), 400).await;
        assert_eq!(p["errors"][0]["field"], field, "{query}: {p}");
    }
    assert_eq!(with_key(&bob_key).await.unwrap().status(), 200);

    let res = admin
        .delete(&format!("/api/v1/users/{bob}"))
        .send()
        .await
        .unwrap();
    expect(res, 204).await;
    let p = expect(with_key(&bob_key).await.unwrap(), 401).await;
    assert!(p["detail"].as_str().unwrap().contains("revoked"), "{p}");
    call(bobs.get("/api/v1/session"), 401).await;

    let res = admin
        .delete(&format!(
            "/api/v1/users/{carol}?keys=transfer&to={admin_id}"
        ))
        .send()
        .await
        .unwrap();
    expect(res, 204).await;
    assert_eq!(with_key(&carol_key).await.unwrap().status(), 200);
    let k = call(admin.get(&format!("/api/v1/api-keys/{carol_key_id}")), 200).await;
    assert_eq!(k["created_by"], "admin");
    assert_eq!(k["status"], "active");
}

#[tokio::test]
async fn only_admins_may_manage_the_team() {
    let app = spawn_app().await;
    add(&app, "bob", "member", BOB);
    let bobs = app.sign_in_as("bob", BOB).await;
    let p = call(bobs.get("/api/v1/users"), 403).await;
    assert!(p["detail"].as_str().unwrap().contains("team"), "{p}");
    call(bobs.get("/api/v1/users/1"), 403).await;
    let res = bobs.get("/ui/team").send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let home = bobs.get("/ui/").send().await.unwrap().text().await.unwrap();
    assert!(!home.contains("/ui/team"), "no Team link for members");

    let admin = app.admin().await;
    let page = admin.get("/ui/team").send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("id=\"invites\""), "the invites section");
    assert!(page.contains("declared in the config file"), "{page}");
    let home = admin
        .get("/ui/")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("href=\"/ui/team\""));
}

/// `linkdock user …` with `stdin` fed.
fn user_cli(app: &TestApp, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_linkdock"))
        .arg("user")
        .args(args)
        .arg("--config")
        .arg(&app.config_path)
        .env_remove("LINKDOCK_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn refused(out: &Output) -> String {
    assert!(!out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn listed(app: &TestApp) -> Vec<Value> {
    serde_json::from_str(&ok(&user_cli(app, &["list", "--json"], ""))).unwrap()
}

#[tokio::test]
async fn the_user_commands_work_through_the_socket_and_when_stopped() {
    let mut app = spawn_app().await;
    for stopped in [false, true] {
        let name = if stopped { "erin" } else { "dave" };
        ok(&user_cli(
            &app,
            &["add", name, "--role", "member"],
            "a-long-password-1\n",
        ));
        let u = listed(&app);
        let me = u.iter().find(|u| u["username"] == name).unwrap();
        assert_eq!(me["role"], "member", "{u:?}");
        assert!(me["id"].as_u64().unwrap() > 0);
        let out = ok(&user_cli(&app, &["role", name, "viewer"], ""));
        assert!(out.contains("viewer"), "{out}");
        let e = refused(&user_cli(&app, &["role", name, "owner"], ""));
        assert!(e.contains("admin, member, viewer"), "{e}");
        let e = refused(&user_cli(&app, &["role", "admin", "member"], ""));
        assert!(e.contains("config file"), "{e}");
        let e = refused(&user_cli(&app, &["remove", "nobody"], ""));
        assert!(e.contains("no user"), "{e}");
        let e = refused(&user_cli(
            &app,
            &["remove", name, "--keys", "transfer", "--to", name],
            "",
        ));
        assert!(e.contains("--to"), "{e}");
        let out = ok(&user_cli(
            &app,
            &["remove", name, "--keys", "transfer", "--to", "admin"],
            "",
        ));
        assert!(out.contains("removed"), "{out}");
        assert!(listed(&app).iter().all(|u| u["username"] != name));
        if !stopped {
            // The running server saw each change at once.
            assert!(app.logs().contains("user removed"), "{}", app.logs());
            assert!(app.terminate().await);
        }
    }
}
