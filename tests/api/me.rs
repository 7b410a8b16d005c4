//! Your own account: `GET /users/me`, your sessions (device, address, last seen), ending one
//! of them or every other one, and the Me page's forms.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{
    call, cheap_password_hash, expect, spawn_app, spawn_with, Options, TestApp, ADMIN_PASSWORD,
};

const FIREFOX: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
const MEMBER_PASSWORD: &str = "member-password-123";

/// `mia`, a member, declared beside the admin.
fn with_member() -> Options {
    Options {
        extra_toml: format!(
            "\n[[users]]\nusername = \"mia\"\npassword_hash = \"{}\"\nrole = \"member\"\n",
            cheap_password_hash(MEMBER_PASSWORD)
        ),
        ..Default::default()
    }
}

/// A session opened from a given User-Agent, holding its cookie by hand so the test knows the
/// secret and can look for it in every answer.
struct Device {
    http: reqwest::Client,
    base: String,
    token: String,
    csrf: String,
}

impl Device {
    async fn sign_in(app: &TestApp, user: &str, password: &str, ua: &str) -> Self {
        let http = reqwest::Client::builder()
            .user_agent(ua)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let res = http
            .post(app.url("/api/v1/session"))
            .json(&json!({"username": user, "password": password}))
            .send()
            .await
            .unwrap();
        let cookie = res
            .cookies()
            .find(|c| c.name() == "linkdock_session")
            .expect("a session cookie")
            .value()
            .to_owned();
        let body = expect(res, 200).await;
        Self {
            http,
            base: app.base.clone(),
            token: cookie,
            csrf: body["csrf_token"].as_str().unwrap().to_owned(),
        }
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let r = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .header("cookie", format!("linkdock_session={}", self.token));
        if method == reqwest::Method::GET {
            r
        } else {
            r.header("x-csrf-token", &self.csrf)
        }
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.req(reqwest::Method::GET, path)
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.req(reqwest::Method::POST, path)
    }

    fn delete(&self, path: &str) -> reqwest::RequestBuilder {
        self.req(reqwest::Method::DELETE, path)
    }

    /// The SHA-256 the server stores the session under, in hex.
    fn digest_hex(&self) -> String {
        let token = linkdock::auth::session::SessionToken::from_cookie(&self.token).unwrap();
        linkdock::encoding::hex(&token.digest())
    }

    async fn status(&self, path: &str) -> u16 {
        self.get(path).send().await.unwrap().status().as_u16()
    }

    async fn sessions(&self) -> Value {
        call(self.get("/api/v1/users/me/sessions"), 200).await
    }
}

/// No answer ever carries a session's token or the digest it is stored under.
fn assert_no_secrets(body: &Value, devices: &[&Device]) {
    let text = body.to_string();
    for d in devices {
        assert!(!text.contains(&d.token), "a token in {text}");
        assert!(!text.contains(&d.digest_hex()), "a digest in {text}");
    }
}

#[tokio::test]
async fn users_me_answers_an_admin_and_a_member_with_their_roles_rights() {
    let app = spawn_with(with_member()).await;
    let admin = call(app.admin().await.get("/api/v1/users/me"), 200).await;
    assert_eq!(admin["username"], "admin");
    assert_eq!(admin["role"], "admin");
    assert_eq!(admin["source"], "config");
    assert!(admin["created_at"].as_str().unwrap().ends_with('Z'));
    let rights: Vec<&str> = admin["rights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        rights.contains(&"team") && rights.contains(&"backup"),
        "{rights:?}"
    );

    let mia = app.sign_in_as("mia", MEMBER_PASSWORD).await;
    let me = call(mia.get("/api/v1/users/me"), 200).await;
    assert_eq!(me["username"], "mia");
    assert_eq!(me["role"], "member");
    assert_eq!(
        me["rights"],
        json!([
            "links:read",
            "links:write",
            "links:import",
            "links:export",
            "domains:read",
            "playground",
            "keys:own"
        ])
    );
    // Not signed in: 401 problem.
    let res = app
        .http
        .get(app.url("/api/v1/users/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["content-type"],
        "application/problem+json",
        "problem+json"
    );
}

#[tokio::test]
async fn the_sessions_list_names_each_device_and_marks_the_callers_own() {
    let app = spawn_app().await;
    let laptop = Device::sign_in(&app, "admin", ADMIN_PASSWORD, FIREFOX).await;
    let phone = Device::sign_in(&app, "admin", ADMIN_PASSWORD, IPHONE).await;
    let list = laptop.sessions().await;
    assert_eq!(list["total"], 2, "{list}");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items[0]["current"], true, "the caller's own comes first");
    assert_eq!(items[0]["device"], "Firefox on Windows");
    assert_eq!(items[1]["current"], false);
    assert_eq!(items[1]["device"], "Safari on iPhone");
    for s in items {
        assert_eq!(s["client_ip"], "127.0.0.1");
        let id = s["id"].as_str().unwrap();
        assert_eq!(id.len(), 16, "{id}");
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
        assert_eq!(s["last_seen_at"], s["created_at"], "just signed in");
        assert!(s["expires_at"].as_str().unwrap() > s["created_at"].as_str().unwrap());
    }
    assert_ne!(items[0]["id"], items[1]["id"]);
    assert_no_secrets(&list, &[&laptop, &phone]);

    // The phone sees the same two sessions, its own marked.
    let seen = phone.sessions().await;
    assert_eq!(seen["items"][0]["device"], "Safari on iPhone");
    assert_eq!(seen["items"][0]["current"], true);
    assert_eq!(seen["items"][0]["id"], items[1]["id"]);
    assert_no_secrets(&seen, &[&laptop, &phone]);

    // A client with no User-Agent, and a command-line one.
    let bare = app.admin().await;
    let v = call(bare.get("/api/v1/users/me/sessions"), 200).await;
    assert_eq!(v["items"][0]["device"], "Unknown device");
    let curl = Device::sign_in(&app, "admin", ADMIN_PASSWORD, "curl/8.5.0").await;
    assert_eq!(curl.sessions().await["items"][0]["device"], "curl");
    // The page of the list follows the usual rules.
    let page = call(
        laptop.get("/api/v1/users/me/sessions?limit=1&offset=1"),
        200,
    )
    .await;
    assert_eq!(
        (
            page["total"].as_u64(),
            page["items"].as_array().unwrap().len()
        ),
        (Some(4), 1)
    );
    call(laptop.get("/api/v1/users/me/sessions?limit=0"), 400).await;
}

#[tokio::test]
async fn signing_out_everywhere_else_ends_the_others_and_keeps_this_one() {
    let app = spawn_with(with_member()).await;
    let laptop = Device::sign_in(&app, "admin", ADMIN_PASSWORD, FIREFOX).await;
    let phone = Device::sign_in(&app, "admin", ADMIN_PASSWORD, IPHONE).await;
    let tablet = Device::sign_in(&app, "admin", ADMIN_PASSWORD, "curl/8.5.0").await;
    let mia = Device::sign_in(&app, "mia", MEMBER_PASSWORD, FIREFOX).await;
    // Without the CSRF header nothing ends.
    let res = laptop
        .http
        .post(app.url("/api/v1/users/me/sessions/sign-out-others"))
        .header("cookie", format!("linkdock_session={}", laptop.token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(phone.status("/api/v1/session").await, 200);

    let ended = call(
        laptop.post("/api/v1/users/me/sessions/sign-out-others"),
        200,
    )
    .await;
    assert_eq!(ended, json!({"ended": 2}));
    assert_no_secrets(&ended, &[&laptop, &phone, &tablet]);
    assert_eq!(phone.status("/api/v1/session").await, 401);
    assert_eq!(tablet.status("/api/v1/users/me").await, 401);
    assert_eq!(laptop.status("/api/v1/session").await, 200);
    assert_eq!(
        mia.status("/api/v1/session").await,
        200,
        "another user's stays"
    );
    let list = laptop.sessions().await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["current"], true);
    // Nothing else left to end.
    let again = call(
        laptop.post("/api/v1/users/me/sessions/sign-out-others"),
        200,
    )
    .await;
    assert_eq!(again["ended"], 0);
}

#[tokio::test]
async fn a_session_is_ended_by_its_id_and_someone_elses_id_is_not_found() {
    let app = spawn_with(with_member()).await;
    let laptop = Device::sign_in(&app, "admin", ADMIN_PASSWORD, FIREFOX).await;
    let phone = Device::sign_in(&app, "admin", ADMIN_PASSWORD, IPHONE).await;
    let mia = Device::sign_in(&app, "mia", MEMBER_PASSWORD, FIREFOX).await;
    let admins = laptop.sessions().await;
    let phone_id = admins["items"][1]["id"].as_str().unwrap().to_owned();
    let laptop_id = admins["items"][0]["id"].as_str().unwrap().to_owned();

    // Mia cannot end, or learn anything about, the admin's sessions.
    for id in [phone_id.as_str(), "0000000000000000", "not-an-id", "%00"] {
        let res = mia
            .delete(&format!("/api/v1/users/me/sessions/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{id}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }
    assert_eq!(phone.status("/api/v1/session").await, 200);
    // Not a method of that resource: 405.
    let res = laptop
        .get(&format!("/api/v1/users/me/sessions/{phone_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);

    let res = laptop
        .delete(&format!("/api/v1/users/me/sessions/{phone_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(phone.status("/api/v1/session").await, 401);
    assert_eq!(laptop.status("/api/v1/session").await, 200);
    // Gone: a second time is 404.
    let res = laptop
        .delete(&format!("/api/v1/users/me/sessions/{phone_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    // Ending your own current session signs you out and clears the cookie.
    let res = laptop
        .delete(&format!("/api/v1/users/me/sessions/{laptop_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(res
        .cookies()
        .any(|c| c.name() == "linkdock_session" && c.value().is_empty()));
    assert_eq!(laptop.status("/api/v1/session").await, 401);
    assert_eq!(mia.status("/api/v1/session").await, 200);
}

#[tokio::test]
async fn api_keys_cannot_use_the_account_routes() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let key = admin
        .post_json("/api/v1/api-keys", json!({"name": "script"}), 201)
        .await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = call(admin.get("/api/v1/users/me/sessions"), 200).await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (method, path) in [
        (reqwest::Method::GET, "/api/v1/users/me".to_owned()),
        (reqwest::Method::GET, "/api/v1/users/me/sessions".to_owned()),
        (
            reqwest::Method::POST,
            "/api/v1/users/me/sessions/sign-out-others".to_owned(),
        ),
        (
            reqwest::Method::DELETE,
            format!("/api/v1/users/me/sessions/{id}"),
        ),
    ] {
        let res = app
            .http
            .request(method.clone(), app.url(&path))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{method} {path}");
    }
    call(admin.get("/api/v1/session"), 200).await;
}

#[tokio::test]
async fn last_seen_moves_at_most_once_a_minute() {
    let app = spawn_with(Options {
        test_clock: true,
        ..Default::default()
    })
    .await;
    let laptop = Device::sign_in(&app, "admin", ADMIN_PASSWORD, FIREFOX).await;
    let first = laptop.sessions().await["items"][0].clone();
    assert_eq!(first["last_seen_at"], first["created_at"]);

    // Within the minute: no update, however many requests.
    app.advance_clock(Duration::from_secs(30));
    for _ in 0..3 {
        laptop.sessions().await;
    }
    tokio::time::sleep(Duration::from_millis(1200)).await; // past a writer commit
    assert_eq!(
        laptop.sessions().await["items"][0]["last_seen_at"],
        first["created_at"]
    );

    // A minute on, the next request moves it (committed by the writer, not by the request).
    app.advance_clock(Duration::from_secs(60));
    laptop.sessions().await;
    let moved = crate::support::eventually(5, || async {
        let s = laptop.sessions().await["items"][0].clone();
        (s["last_seen_at"] != first["created_at"]).then_some(s)
    })
    .await;
    assert!(moved["last_seen_at"].as_str().unwrap() > first["created_at"].as_str().unwrap());
    assert_eq!(moved["created_at"], first["created_at"]);
}

#[tokio::test]
async fn the_me_page_shows_the_account_and_signs_out_other_sessions_with_its_forms() {
    let app = spawn_with(with_member()).await;
    let mia = app.sign_in_as("mia", MEMBER_PASSWORD).await;
    let phone = Device::sign_in(&app, "mia", MEMBER_PASSWORD, IPHONE).await;
    let page = mia.get("/ui/me").send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    for words in [
        "Your account",
        "member",
        "Create, change and delete links",
        "Change Password",
        "Your sessions",
        "Safari on iPhone",
        "This device",
        "Sign out everywhere else",
    ] {
        assert!(page.contains(words), "{words:?} missing:\n{page}");
    }
    assert!(
        !page.contains("Manage users and invites"),
        "not a member's right"
    );
    assert!(!page.contains(&phone.token) && !page.contains(&phone.digest_hex()));
    // The old address leads here.
    let res = mia.get("/ui/account").send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/ui/me");

    let form = |path: &str, body: String| {
        mia.http
            .post(app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let res = form("/ui/me/sessions/sign-out-others", "csrf_token=nope".into())
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(phone.status("/api/v1/session").await, 200);
    let res = form(
        "/ui/me/sessions/sign-out-others",
        format!("csrf_token={}", mia.csrf),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/ui/me?ended=1");
    assert_eq!(phone.status("/api/v1/session").await, 401);
    let page = mia.get("/ui/me?ended=1").send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("Signed out 1 other session."), "{page}");
    assert!(!page.contains("Safari on iPhone"));

    // One row's own form ends that session; another user's id is a 404 page.
    let phone = Device::sign_in(&app, "mia", MEMBER_PASSWORD, IPHONE).await;
    let id = phone.sessions().await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin = app.admin().await;
    let res = admin
        .http
        .post(app.url(&format!("/ui/me/sessions/{id}/sign-out")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf_token={}", admin.csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let res = form(
        &format!("/ui/me/sessions/{id}/sign-out"),
        format!("csrf_token={}", mia.csrf),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/ui/me?signed_out=1");
    assert_eq!(phone.status("/api/v1/session").await, 401);
    call(mia.get("/api/v1/session"), 200).await;
}
