//! Regression tests for guarantees that once broke under attack (issue "Hold every guarantee
//! under attack"). Each fails on the code before its fix.

use serde_json::json;

use crate::support::{call, content_type, expect, spawn_app, spawn_with, Options};

#[tokio::test]
async fn swagger_ui_pages_carry_the_ui_security_headers() {
    let app = spawn_app().await;
    let res = app.http.get(app.url("/swagger-ui/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn every_429_carries_retry_after_also_on_the_sign_in_page() {
    let app = spawn_with(Options {
        extra_toml: "max_failed_auth_per_minute = 1\n".into(),
        ..Default::default()
    })
    .await;
    let form = |pw: &str| {
        app.http
            .post(app.url("/ui/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("username=admin&password={pw}"))
            .send()
    };
    assert_eq!(form("wrong-1").await.unwrap().status(), 401);
    let res = form("wrong-2").await.unwrap();
    assert_eq!(res.status(), 429);
    assert!(content_type(&res).starts_with("text/html"));
    assert!(
        res.headers().contains_key("retry-after"),
        "{:?}",
        res.headers()
    );
    let res = app
        .http
        .post(app.url("/api/v1/session"))
        .json(&json!({"username": "admin", "password": "wrong-3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    expect(res, 429).await;
}

#[tokio::test]
async fn a_password_change_or_a_removed_user_ends_the_users_sessions_at_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let laptop = app.admin().await;
    let phone = app.admin().await;
    // Declared users change their password in the file: the API says so.
    let p = call(
        admin
            .put("/api/v1/session/password")
            .json(&json!({"current_password": crate::support::ADMIN_PASSWORD, "new_password": "another-password"})),
        409,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("config file"), "{p}");
    // Changing the hash in the file ends every session of that user on the next request.
    app.rewrite_config(&format!(
        "\n[[users]]\nusername = \"ops\"\npassword_hash = \"{}\"\n",
        crate::support::cheap_password_hash("ops-password-1")
    ));
    app.wait_for_log("configuration reloaded", 5).await;
    let ops = app.sign_in_as("ops", "ops-password-1").await;
    call(ops.get("/api/v1/session"), 200).await;
    app.rewrite_config(&format!(
        "\n[[users]]\nusername = \"ops\"\npassword_hash = \"{}\"\n",
        crate::support::cheap_password_hash("ops-password-2")
    ));
    crate::support::eventually(5, || async {
        (ops.get("/api/v1/session").send().await.unwrap().status() == 401).then_some(())
    })
    .await;
    // Admin's sessions were untouched by ops' change.
    call(laptop.get("/api/v1/session"), 200).await;
    // Removing a user from the file ends its sessions too.
    let ops = app.sign_in_as("ops", "ops-password-2").await;
    app.rewrite_config("");
    crate::support::eventually(5, || async {
        (ops.get("/api/v1/session").send().await.unwrap().status() == 401).then_some(())
    })
    .await;
    call(phone.get("/api/v1/session"), 200).await;
}

#[tokio::test]
async fn changing_a_password_through_the_api_signs_out_every_other_session() {
    // admin made the way a fresh install does (not declared): its password can change here.
    let app = spawn_with(Options {
        admin_password: Some(crate::support::ADMIN_PASSWORD.into()),
        ..Default::default()
    })
    .await;
    let laptop = app.admin().await;
    let phone = app.admin().await;
    let wrong = call(
        laptop
            .put("/api/v1/session/password")
            .json(&json!({"current_password": "not-it", "new_password": "another-password"})),
        400,
    )
    .await;
    assert_eq!(wrong["errors"][0]["field"], "current_password");
    call(phone.get("/api/v1/session"), 200).await;
    let fresh = call(
        laptop
            .put("/api/v1/session/password")
            .json(&json!({"current_password": crate::support::ADMIN_PASSWORD, "new_password": "another-password"})),
        200,
    )
    .await;
    assert_eq!(fresh["username"], "admin");
    // The phone's session ended at once; the laptop holds the fresh one from the answer.
    assert_eq!(
        phone.get("/api/v1/session").send().await.unwrap().status(),
        401
    );
    let me = call(laptop.get("/api/v1/session"), 200).await;
    assert_eq!(me["csrf_token"], fresh["csrf_token"]);
    app.sign_in_as("admin", "another-password").await;
}

#[tokio::test]
async fn the_account_page_changes_the_password_with_its_form() {
    let app = spawn_with(Options {
        admin_password: Some(crate::support::ADMIN_PASSWORD.into()),
        ..Default::default()
    })
    .await;
    let me = app.admin().await;
    let other = app.admin().await;
    let page = me.get("/ui/me").send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Change Password"), "{page}");
    let post = |body: String| {
        me.http
            .post(app.url("/ui/me/password"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let csrf = &me.csrf;
    // Without the form's token nothing changes.
    let res = post(format!(
        "csrf_token=nope&current_password={}&new_password=another-password&repeat_password=another-password",
        crate::support::ADMIN_PASSWORD
    ))
    .await
    .unwrap();
    assert_eq!(res.status(), 403);
    let res = post(format!(
        "csrf_token={csrf}&current_password=wrong&new_password=another-password&repeat_password=another-password"
    ))
    .await
    .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("current password is not right"));
    let res = post(format!(
        "csrf_token={csrf}&current_password={}&new_password=another-password&repeat_password=another-password",
        crate::support::ADMIN_PASSWORD
    ))
    .await
    .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/ui/me?changed=1");
    assert_eq!(
        other.get("/api/v1/session").send().await.unwrap().status(),
        401
    );
    call(me.get("/api/v1/session"), 200).await;
}

#[tokio::test]
async fn a_config_file_that_empties_itself_is_not_applied() {
    let app = spawn_app().await;
    app.rewrite_config("\n[[domains]]\nhostname = \"kept.example.com\"\n");
    let admin = app.admin().await;
    crate::support::eventually(5, || async {
        let v = call(admin.get("/api/v1/domains"), 200).await;
        (v["total"] == 1).then_some(())
    })
    .await;
    for (i, text) in ["", "  \n\t\n"].into_iter().enumerate() {
        let tmp = app.dir.path().join("half-written.toml");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &app.config_path).unwrap();
        crate::support::eventually(5, || async {
            (app.logs().matches("config change refused").count() > i).then_some(())
        })
        .await;
        assert!(app.logs().contains("the file is empty"), "{}", app.logs());
        // The declared domain and the declared admin are still there.
        let v = call(admin.get("/api/v1/domains"), 200).await;
        assert_eq!(v["items"][0]["hostname"], "kept.example.com");
        app.admin().await;
    }
}

#[tokio::test]
async fn a_next_parameter_with_cr_lf_or_another_site_is_dropped_never_a_500() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for next in [
        "/ui/%0d%0aSet-Cookie:%20x=1",
        "//evil.example/ui/",
        "https://evil.example/",
        "/ui/%20x",
    ] {
        let res = admin
            .get(&format!("/ui/login?next={next}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{next}");
        assert_eq!(res.headers()["location"], "/ui/", "{next}");
        let res = app
            .http
            .post(app.url("/ui/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "username=admin&password={}&next={next}",
                crate::support::ADMIN_PASSWORD
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{next}");
        assert_eq!(res.headers()["location"], "/ui/", "{next}");
    }
}

#[tokio::test]
async fn sign_in_from_a_page_of_another_origin_is_refused() {
    let app = spawn_app().await;
    let body = json!({"username": "admin", "password": crate::support::ADMIN_PASSWORD});
    let res = app
        .http
        .post(app.url("/api/v1/session"))
        .header("origin", "https://evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(content_type(&res), "application/problem+json");
    let res = app
        .http
        .post(app.url("/ui/login"))
        .header("origin", "null")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "username=admin&password={}",
            crate::support::ADMIN_PASSWORD
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(content_type(&res).starts_with("text/html"));
    // Our own pages (same origin) and clients without Origin sign in.
    let res = app
        .http
        .post(app.url("/api/v1/session"))
        .header("origin", app.base.clone())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.admin().await;
}

#[tokio::test]
async fn playground_history_refuses_a_key_in_any_encoding() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let key = admin
        .post_json("/api/v1/api-keys", json!({"name": "k"}), 201)
        .await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let pct: String = key.bytes().map(|b| format!("%{b:02X}")).collect();
    let json_escaped: String = key
        .chars()
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect();
    for (field, value) in [
        ("query", format!("token={pct}")),
        ("query", format!("t={}", pct.replace('%', "%25"))),
        ("path", format!("/api/v1/links/{pct}")),
        ("body", format!("{{\"note\": \"{json_escaped}\"}}")),
        ("body", format!("token={pct}")),
    ] {
        let mut entry = json!({"method": "GET", "path": "/api/v1/links", "query": "", "body": "", "status": 200, "duration_ms": 1, "key_prefix": ""});
        entry[field] = json!(value);
        let p = admin
            .post_json("/api/v1/playground/history", entry, 400)
            .await;
        assert_eq!(p["errors"][0]["field"], field, "{value} → {p}");
    }
}

#[tokio::test]
async fn destinations_are_stored_in_whatwg_form_and_titles_refuse_direction_controls() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    let link = admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "go.example.com", "slug": "idn", "destination_url": "https://bücher.de/straße"}),
            201,
        )
        .await;
    assert_eq!(
        link["destination_url"],
        "https://xn--bcher-kva.de/stra%C3%9Fe"
    );
    let res = app
        .http
        .get(app.url("/idn"))
        .header("host", "go.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["location"],
        "https://xn--bcher-kva.de/stra%C3%9Fe"
    );
    for (path, body, field) in [
        (
            "/api/v1/links",
            json!({"domain": "go.example.com", "destination_url": "https://e.com/", "title": "invoice \u{202E}fdp.exe"}),
            "title",
        ),
        ("/api/v1/api-keys", json!({"name": "ci\u{2066}key"}), "name"),
    ] {
        let p = admin.post_json(path, body, 400).await;
        assert_eq!(p["errors"][0]["field"], field, "{p}");
    }
}

#[tokio::test]
async fn an_existing_zero_length_database_is_refused_at_start() {
    if crate::support::redb_only("a zero-length redb file in the data dir") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("linkdock.redb"), b"").unwrap();
    let config = dir.path().join("linkdock.toml");
    std::fs::write(&config, crate::support::base_config(&data, "")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_linkdock"))
        .args(["serve", "--config"])
        .arg(&config)
        .env_remove("LINKDOCK_ADMIN_PASSWORD")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is empty (0 bytes)"), "{stderr}");
    assert_eq!(
        std::fs::metadata(data.join("linkdock.redb")).unwrap().len(),
        0
    );
}
