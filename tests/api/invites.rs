//! Invites (API.md "Team"): an admin makes a one-time link, the invitee opens it, picks a name
//! and password and is signed in with the invite's role. A used, expired, withdrawn or unknown
//! link says so in a sentence and makes nobody; the token is never listed, logged or stored.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{
    call, cheap_password_hash, expect, spawn_app, spawn_with, Options, Session, TestApp,
};

/// A browser of its own: cookies, no redirects followed.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Create an invite for `role`; returns (answer, token).
async fn invite(admin: &Session, body: Value) -> (Value, String) {
    let made = admin.post_json("/api/v1/invites", body, 201).await;
    let url = made["url"].as_str().unwrap();
    let token = url
        .split_once("/ui/invite?token=")
        .unwrap_or_else(|| panic!("not an invite link: {url}"))
        .1
        .to_owned();
    (made, token)
}

async fn open(app: &TestApp, client: &reqwest::Client, token: &str) -> (u16, String) {
    let res = client
        .get(app.url(&format!("/ui/invite?token={token}")))
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn join(
    app: &TestApp,
    client: &reqwest::Client,
    token: &str,
    username: &str,
    password: &str,
    confirm: &str,
) -> reqwest::Response {
    client
        .post(app.url("/ui/invite"))
        .form(&[
            ("token", token),
            ("username", username),
            ("password", password),
            ("confirm", confirm),
        ])
        .send()
        .await
        .unwrap()
}

async fn signs_in(app: &TestApp, username: &str, password: &str) -> u16 {
    app.http
        .post(app.url("/api/v1/session"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn an_invitee_chooses_a_name_and_password_and_is_signed_in_with_the_invites_role() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (made, token) = invite(&admin, json!({"role": "viewer"})).await;
    assert_eq!(made["role"], "viewer");
    assert!(made["id"].as_u64().is_some(), "{made}");
    // Absolute, from public_url (the tests' http://127.0.0.1:8080).
    assert!(
        made["url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:8080/ui/invite?token="),
        "{made}"
    );
    assert_eq!(token.len(), 64, "{token}");
    // Seven days by default.
    let expires = time::OffsetDateTime::parse(
        made["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let days = (expires - time::OffsetDateTime::now_utc()).whole_hours();
    assert!((167..=168).contains(&days), "{made}");

    let listed = call(admin.get("/api/v1/invites"), 200).await;
    assert_eq!(listed["total"], 1, "{listed}");
    assert_eq!(listed["items"][0]["role"], "viewer");
    assert_eq!(listed["items"][0]["created_by"], "admin");
    assert!(listed["items"][0].get("url").is_none(), "{listed}");

    let guest = browser();
    let (status, page) = open(&app, &guest, &token).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Choose a username"), "{page}");
    assert!(page.contains("Choose a password"), "{page}");
    assert!(page.contains("viewer"), "{page}");

    let res = join(
        &app,
        &guest,
        &token,
        "vera",
        "vera-password-1",
        "vera-password-1",
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/ui/");
    // The cookie it set is a working session, of a viewer.
    let me = expect(
        guest.get(app.url("/api/v1/session")).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(me["username"], "vera");
    let refused = expect(
        guest.get(app.url("/api/v1/invites")).send().await.unwrap(),
        403,
    )
    .await;
    let detail = refused["detail"].as_str().unwrap();
    assert!(
        detail.contains("viewer") && detail.contains("team"),
        "{detail}"
    );
    assert_eq!(signs_in(&app, "vera", "vera-password-1").await, 200);

    // Used: the same link says so, and makes nobody else.
    let (status, page) = open(&app, &browser(), &token).await;
    assert_eq!(status, 410);
    assert!(
        page.contains("This invite link has already been used."),
        "{page}"
    );
    let res = join(
        &app,
        &browser(),
        &token,
        "mallory",
        "mallory-pass-1",
        "mallory-pass-1",
    )
    .await;
    assert_eq!(res.status(), 410);
    assert_eq!(signs_in(&app, "mallory", "mallory-pass-1").await, 401);
    let listed = call(admin.get("/api/v1/invites"), 200).await;
    assert_eq!(listed["total"], 0, "a used invite is not pending: {listed}");
    // Already used: it cannot be withdrawn any more.
    let id = made["id"].as_u64().unwrap();
    call(admin.delete(&format!("/api/v1/invites/{id}")), 409).await;
}

#[tokio::test]
async fn expired_withdrawn_and_unknown_links_say_so_and_make_nobody() {
    let app = spawn_with(Options {
        test_clock: true,
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    let (_, expiring) = invite(&admin, json!({"role": "member", "expires_in": "1h"})).await;
    let (withdrawn, pulled) = invite(&admin, json!({"role": "admin", "expires_in": "30d"})).await;

    let id = withdrawn["id"].as_u64().unwrap();
    call(admin.delete(&format!("/api/v1/invites/{id}")), 204).await;
    call(admin.delete(&format!("/api/v1/invites/{id}")), 404).await;
    call(admin.delete("/api/v1/invites/999"), 404).await;
    let (status, page) = open(&app, &browser(), &pulled).await;
    assert_eq!(status, 410);
    assert!(page.contains("This invite link was withdrawn."), "{page}");
    let res = join(
        &app,
        &browser(),
        &pulled,
        "wanda",
        "wanda-password",
        "wanda-password",
    )
    .await;
    assert_eq!(res.status(), 410);

    app.advance_clock(Duration::from_secs(2 * 3600));
    let (status, page) = open(&app, &browser(), &expiring).await;
    assert_eq!(status, 410);
    assert!(page.contains("This invite link has expired."), "{page}");
    let res = join(
        &app,
        &browser(),
        &expiring,
        "eve",
        "eve-password",
        "eve-password",
    )
    .await;
    assert_eq!(res.status(), 410);
    assert!(res.text().await.unwrap().contains("has expired."));

    let unknown = "0".repeat(64);
    for token in [unknown.as_str(), "not-a-token", ""] {
        let (status, page) = open(&app, &browser(), token).await;
        assert_eq!(status, 404, "{token}");
        assert!(page.contains("This invite link is not valid."), "{page}");
    }
    let res = join(
        &app,
        &browser(),
        &unknown,
        "nora",
        "nora-password",
        "nora-password",
    )
    .await;
    assert_eq!(res.status(), 404);

    for (name, pw) in [
        ("wanda", "wanda-password"),
        ("eve", "eve-password"),
        ("nora", "nora-password"),
    ] {
        assert_eq!(signs_in(&app, name, pw).await, 401, "{name}");
    }
    let listed = call(admin.get("/api/v1/invites"), 200).await;
    assert_eq!(listed["total"], 0, "{listed}");
}

#[tokio::test]
async fn a_taken_or_invalid_name_shows_the_form_again_and_the_invite_still_works() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, token) = invite(&admin, json!({"role": "member"})).await;
    let guest = browser();

    let res = join(
        &app,
        &guest,
        &token,
        "admin",
        "some-password-1",
        "some-password-1",
    )
    .await;
    assert_eq!(res.status(), 409);
    let page = res.text().await.unwrap();
    assert!(page.contains("The username “admin” is taken"), "{page}");
    assert!(page.contains("id=\"username-error\""), "{page}");
    // The admin's password is unchanged.
    assert_eq!(
        signs_in(&app, "admin", crate::support::ADMIN_PASSWORD).await,
        200
    );

    for (name, pw, confirm, says) in [
        (
            "has space",
            "some-password-1",
            "some-password-1",
            "The username must be",
        ),
        ("carol", "short", "short", "The password must be"),
        (
            "carol",
            "some-password-1",
            "other-password-1",
            "The repeated password differs",
        ),
    ] {
        let res = join(&app, &guest, &token, name, pw, confirm).await;
        assert_eq!(res.status(), 400, "{name} {pw}");
        let page = res.text().await.unwrap();
        assert!(page.contains(says), "{says}: {page}");
        assert!(page.contains("Choose a username"), "{page}");
    }

    let res = join(
        &app,
        &guest,
        &token,
        "carol",
        "some-password-1",
        "some-password-1",
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(signs_in(&app, "carol", "some-password-1").await, 200);
}

#[tokio::test]
async fn only_admins_manage_invites() {
    let app = spawn_with(Options {
        extra_toml: format!(
            "\n[[users]]\nusername = \"mem\"\npassword_hash = \"{}\"\nrole = \"member\"\n",
            cheap_password_hash("member-password")
        ),
        ..Default::default()
    })
    .await;
    let member = app.sign_in_as("mem", "member-password").await;
    for req in [
        member
            .post("/api/v1/invites")
            .json(&json!({"role": "member"})),
        member.get("/api/v1/invites"),
        member.delete("/api/v1/invites/1"),
    ] {
        let body = call(req, 403).await;
        assert!(body["detail"].as_str().unwrap().contains("team"), "{body}");
    }
    // Without a session, and with the session but no CSRF token.
    call(
        app.http
            .post(app.url("/api/v1/invites"))
            .json(&json!({"role": "member"})),
        401,
    )
    .await;
    let admin = app.admin().await;
    call(
        admin
            .http
            .post(app.url("/api/v1/invites"))
            .json(&json!({"role": "member"})),
        403,
    )
    .await;
    // An admin may invite admins.
    invite(&admin, json!({"role": "admin"})).await;
    // The admin page is for admins.
    let page = member.get("/ui/invites").send().await.unwrap();
    assert_eq!(page.status(), 403);
    let page = admin.get("/ui/invites").send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Invite someone"));
}

#[tokio::test]
async fn bad_roles_and_durations_are_400_naming_the_field() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for (body, field) in [
        (json!({"role": "owner"}), "role"),
        (
            json!({"role": "member", "expires_in": "soon"}),
            "expires_in",
        ),
        (json!({"role": "member", "expires_in": "30s"}), "expires_in"),
        (json!({"role": "member", "expires_in": "91d"}), "expires_in"),
        (json!({"role": "member", "expires_in": 7}), "expires_in"),
        (json!({"role": "member", "uses": 2}), "uses"),
        (json!({}), "role"),
    ] {
        let problem = admin.post_json("/api/v1/invites", body.clone(), 400).await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
        assert!(!problem.to_string().contains('`'), "{problem}");
    }
    let ok = admin
        .post_json(
            "/api/v1/invites",
            json!({"role": "Viewer", "expires_in": "48h"}),
            201,
        )
        .await;
    assert_eq!(ok["role"], "viewer");
    let listed = call(admin.get("/api/v1/invites"), 200).await;
    assert_eq!(
        listed["total"], 1,
        "nothing was made by the refused ones: {listed}"
    );
}

#[tokio::test]
async fn the_token_is_never_listed_logged_or_stored_in_plain_text() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, token) = invite(&admin, json!({"role": "member"})).await;
    let (_, unused) = invite(&admin, json!({"role": "viewer"})).await;
    let listed = admin.get("/api/v1/invites").send().await.unwrap();
    let listed = listed.text().await.unwrap();
    let guest = browser();
    assert_eq!(open(&app, &guest, &token).await.0, 200);
    let res = join(
        &app,
        &guest,
        &token,
        "tess",
        "tess-password",
        "tess-password",
    )
    .await;
    assert_eq!(res.status(), 303);
    app.wait_for_log("user joined through an invite", 10).await;

    let db = app.stored_bytes();
    for t in [&token, &unused] {
        assert!(!listed.contains(t.as_str()), "listed: {listed}");
        assert!(!app.logs().contains(t.as_str()), "logged");
        let raw: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        assert!(
            !db.windows(t.len()).any(|w| w == t.as_bytes()),
            "the token's text is in the database"
        );
        assert!(
            !db.windows(32).any(|w| w == raw.as_slice()),
            "the token's bytes are in the database"
        );
    }
}

#[tokio::test]
async fn wrong_tokens_count_as_failed_sign_ins_of_the_address() {
    let app = spawn_with(Options {
        extra_toml: "max_failed_sign_ins_per_ip_per_minute = 3\n".into(),
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    let (_, token) = invite(&admin, json!({"role": "member"})).await;
    // A real link is no guess: opening it any number of times costs nothing.
    for _ in 0..4 {
        assert_eq!(open(&app, &browser(), &token).await.0, 200);
    }
    for i in 0..3 {
        let (status, _) = open(&app, &browser(), &format!("{i:064}")).await;
        assert_eq!(status, 404);
    }
    let res = browser()
        .get(app.url(&format!("/ui/invite?token={}", "9".repeat(64))))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let res = join(
        &app,
        &browser(),
        &token,
        "gus",
        "gus-password",
        "gus-password",
    )
    .await;
    assert_eq!(
        res.status(),
        429,
        "the address is refused for now, real link or not"
    );
}

#[tokio::test]
async fn the_join_form_is_refused_from_another_site() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, token) = invite(&admin, json!({"role": "member"})).await;
    let res = browser()
        .post(app.url("/ui/invite"))
        .header("origin", "https://evil.example")
        .form(&[
            ("token", token.as_str()),
            ("username", "ivy"),
            ("password", "ivy-password"),
            ("confirm", "ivy-password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = browser()
        .post(app.url("/ui/invite"))
        .header("origin", app.base.clone())
        .form(&[
            ("token", token.as_str()),
            ("username", "ivy"),
            ("password", "ivy-password"),
            ("confirm", "ivy-password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
}
