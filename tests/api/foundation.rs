use serde_json::json;

use crate::support::{call, expect, spawn_app, spawn_with, Options};

#[tokio::test]
async fn healthz_and_metrics_answer() {
    let app = spawn_app().await;
    let res = app.http.get(app.url("/healthz")).send().await.unwrap();
    let body = expect(res, 200).await;
    assert_eq!(body["status"], "ok");
    assert_eq!(body["db"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    let res = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(crate::support::content_type(&res).starts_with("text/plain"));
    let text = res.text().await.unwrap();
    for name in [
        "linkdock_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"}",
        "linkdock_redirects_total",
        "linkdock_config_reloads_total",
        "linkdock_config_reload_errors_total",
        "linkdock_sweeper_runs_total",
        "linkdock_api_keys{status=\"active\"}",
        "# TYPE linkdock_auth_failures_total counter",
    ] {
        assert!(text.contains(name), "{name} missing from\n{text}");
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let res = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"].len(), 16);
}

#[tokio::test]
async fn bootstrap_admin_signs_in_and_out_with_csrf() {
    // The real first start: `admin` comes from LINKDOCK_ADMIN_PASSWORD, not the test's file.
    let app = spawn_with(Options {
        admin_password: Some(crate::support::ADMIN_PASSWORD.into()),
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    let me = call(admin.get("/api/v1/session"), 200).await;
    assert_eq!(me["username"], "admin");
    assert_eq!(me["csrf_token"], admin.csrf.as_str());

    // An unsafe request with the cookie but without the CSRF header is refused.
    let res = admin
        .http
        .delete(app.url("/api/v1/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let res = admin
        .http
        .delete(app.url("/api/v1/session"))
        .header("X-CSRF-Token", "nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    call(admin.delete("/api/v1/session"), 204).await;
    let res = admin.get("/api/v1/session").send().await.unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn session_cookie_is_httponly_and_strict() {
    let app = spawn_app().await;
    let res = app
        .http
        .post(app.url("/api/v1/session"))
        .json(&json!({"username": "admin", "password": crate::support::ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http public_url: {cookie}"
    );
}

#[tokio::test]
async fn wrong_credentials_are_one_answer_and_are_rate_limited() {
    let app = spawn_with(Options {
        extra_toml: "max_failed_auth_per_minute = 3\n".into(),
        ..Default::default()
    })
    .await;
    let try_sign_in = |u: &'static str, p: &'static str| {
        app.http
            .post(app.url("/api/v1/session"))
            .json(&json!({"username": u, "password": p}))
            .send()
    };
    let a = expect(try_sign_in("admin", "wrong-password").await.unwrap(), 401).await;
    let b = expect(try_sign_in("nobody", "wrong-password").await.unwrap(), 401).await;
    assert_eq!(
        a["detail"], b["detail"],
        "unknown user and wrong password look the same"
    );
    // Counted per address and username: admin's third failure uses up the limit.
    for _ in 0..2 {
        expect(try_sign_in("admin", "wrong-password").await.unwrap(), 401).await;
    }
    let res = try_sign_in("admin", crate::support::ADMIN_PASSWORD)
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        429,
        "even the right password waits out the window"
    );
    assert!(res.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn malformed_input_gets_problem_json_never_plain_text() {
    let app = spawn_app().await;
    let post = |body: &'static str| {
        app.http
            .post(app.url("/api/v1/session"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    for (body, status) in [
        ("{not json", 400),
        ("{\"username\": 1, \"password\": \"x\"}", 400),
        (
            "{\"username\": \"a\", \"password\": \"b\", \"extra\": true}",
            400,
        ),
    ] {
        let res = post(body).await.unwrap();
        assert_eq!(res.status(), status, "{body}");
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{body}"
        );
        let p: serde_json::Value = res.json().await.unwrap();
        assert_eq!(p["status"], status);
        assert!(p["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    let big = format!(
        "{{\"username\": \"{}\", \"password\": \"x\"}}",
        "a".repeat(400_000)
    );
    let res = app
        .http
        .post(app.url("/api/v1/session"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(res.headers()["content-type"], "application/problem+json");

    let res = app
        .http
        .post(app.url("/api/v1/session"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    assert_eq!(res.headers()["content-type"], "application/problem+json");

    let res = app.http.get(app.url("/api/v1/nope")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let res = app
        .http
        .put(app.url("/api/v1/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert!(res.headers()["allow"].to_str().unwrap().contains("POST"));
}

#[tokio::test]
async fn without_a_user_or_password_the_log_prints_a_one_time_setup_link() {
    let app = spawn_with(Options {
        no_admin: true,
        ..Default::default()
    })
    .await;
    app.wait_for_log("/ui/setup?token=", 10).await;
    let logs = app.logs();
    let token: String = logs
        .split("/ui/setup?token=")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    let page = app
        .http
        .get(app.url(&format!("/ui/setup?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let res = app
        .http
        .post(app.url("/ui/setup"))
        .form(&[
            ("token", token.as_str()),
            ("username", "owner"),
            ("password", "a-good-password"),
            ("confirm", "a-good-password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("linkdock_session="));
    // The link works once.
    let again = app
        .http
        .get(app.url(&format!("/ui/setup?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    app.sign_in_as("owner", "a-good-password").await;
}

#[tokio::test]
async fn a_config_edit_is_applied_live_and_a_bad_one_is_refused() {
    let app = spawn_app().await;
    // Editors save by writing a new file and renaming it over the old one.
    app.rewrite_config("\n[[domains]]\nhostname = \"live.example.com\"\n");
    let admin = app.admin().await;
    crate::support::eventually(5, || async {
        let v = call(admin.get("/api/v1/domains"), 200).await;
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["hostname"] == "live.example.com" && d["source"] == "config")
            .then_some(())
    })
    .await;

    app.rewrite_config("\n[[domains]]\nhostname = \"live.example.com\"\nbogus = 1\n");
    app.wait_for_log("config change refused", 5).await;
    assert!(
        app.logs().contains("line "),
        "the refusal names the line:\n{}",
        app.logs()
    );
    let v = call(admin.get("/api/v1/domains"), 200).await;
    assert!(v["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["hostname"] == "live.example.com"));

    let moved = crate::support::base_config(&app.dir.path().join("data"), "")
        .replace("127.0.0.1:0", "127.0.0.1:1");
    let tmp = app.dir.path().join("next.toml");
    std::fs::write(&tmp, moved).unwrap();
    std::fs::rename(&tmp, &app.config_path).unwrap();
    app.wait_for_log("needs a restart", 5).await;
    // And the server still answers on its original port.
    call(app.http.get(app.url("/healthz")), 200).await;
}

#[tokio::test]
async fn log_level_changes_with_a_reload() {
    let app = spawn_app().await;
    app.rewrite_config("\n[log]\nlevel = \"debug\"\n");
    app.wait_for_log("configuration reloaded", 5).await;
    app.http.get(app.url("/healthz")).send().await.unwrap();
    app.wait_for_log("request finished", 5).await;
    let line = app
        .logs()
        .lines()
        .find(|l| l.contains("request finished"))
        .unwrap()
        .to_owned();
    assert!(
        line.contains("request{id="),
        "request id on the log line: {line}"
    );
}

#[tokio::test]
async fn sigterm_flushes_and_a_restart_finds_every_acknowledged_write() {
    let mut app = spawn_app().await;
    let admin = app.admin().await;
    let d = admin.domain("keep.example.com").await;
    let link = admin
        .post_json("/api/v1/links", json!({"domain": "keep.example.com", "slug": "x", "destination_url": "https://example.com/x"}), 201)
        .await;
    for _ in 0..3 {
        let res = app
            .http
            .get(app.url("/x"))
            .header("host", "keep.example.com")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302);
    }
    // SIGTERM right away: the three clicks are still in the writer's batch.
    assert!(app.terminate().await, "clean exit:\n{}", app.logs());
    assert!(app.logs().contains("event writer flushed"));
    let app = crate::support::start(
        app.dir.clone(),
        app.config_path.clone(),
        &Options::default(),
    )
    .await;
    let admin = app.admin().await;
    let got = call(admin.get(&format!("/api/v1/links/{}", link["id"])), 200).await;
    assert_eq!(got["clicks"], 3);
    let dom = call(admin.get(&format!("/api/v1/domains/{}", d["id"])), 200).await;
    assert_eq!(dom["link_count"], 1);
}

#[tokio::test]
async fn the_cli_validates_config_files_and_hashes_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "[log]\nlevel = \"warn\"\n").unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[log]\nlevel = \"loud\"\n").unwrap();
    let bin = env!("CARGO_BIN_EXE_linkdock");
    let out = std::process::Command::new(bin)
        .args(["config", "check"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = std::process::Command::new(bin)
        .args(["config", "check"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("line 2"), "{text}");

    use std::io::Write;
    let mut child = std::process::Command::new(bin)
        .args(["password", "hash"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a-long-password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("pbkdf2-sha256$600000$"));
}

#[tokio::test]
async fn json_logs_carry_the_request_id_on_every_line() {
    let app = spawn_with(Options {
        extra_toml: "\n[log]\nlevel = \"debug\"\nformat = \"json\"\n".into(),
        ..Default::default()
    })
    .await;
    let res = app.http.get(app.url("/healthz")).send().await.unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    app.wait_for_log(&id, 5).await;
    let line = app
        .logs()
        .lines()
        .find(|l| l.contains(&id))
        .unwrap()
        .to_owned();
    let v: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
    assert_eq!(v["request_id"], id.as_str(), "{line}");
    assert!(v["message"].is_string(), "{line}");
}

#[tokio::test]
async fn static_files_are_cached_for_good_only_when_pinned_to_their_content() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let page = admin
        .get("/ui/links")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let pinned = page
        .split("src=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .find(|s| s.starts_with("/static/js/links.js?v="))
        .expect("the page links its script with a version")
        .to_owned();
    let res = app.http.get(app.url(&pinned)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    // A module imported without a version (or an old one) must be revalidated.
    for path in ["/static/js/common.js", "/static/js/links.js?v=00000000"] {
        let res = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["cache-control"], "no-cache", "{path}");
        let etag = res.headers()["etag"].clone();
        let again = app
            .http
            .get(app.url(path))
            .header("if-none-match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
    }
}

#[tokio::test]
async fn ui_errors_are_html_pages_and_api_errors_stay_problem_json() {
    let app = spawn_app().await;
    // A sign-in form that does not parse: an HTML page that says so, not text or JSON.
    let res = app
        .http
        .post(app.url("/ui/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=admin")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(crate::support::content_type(&res).starts_with("text/html"));
    let body = res.text().await.unwrap();
    assert!(
        body.contains("<h1>") && body.contains("href=\"/ui/\""),
        "{body}"
    );
    // Sign-out without the form's CSRF token is refused, as a page.
    let admin = app.admin().await;
    let res = admin
        .http
        .post(app.url("/ui/logout"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("csrf_token=wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(crate::support::content_type(&res).starts_with("text/html"));
    call(admin.get("/api/v1/session"), 200).await;
    // An unknown page under /ui is a page-not-found with a way back.
    let res = admin.get("/ui/no-such-page").send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert!(crate::support::content_type(&res).starts_with("text/html"));
    assert!(res.text().await.unwrap().contains("href=\"/ui/\""));
    // The same kind of mistake under /api is problem+json.
    let res = admin.get("/api/v1/links?limit=abc").send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        crate::support::content_type(&res),
        "application/problem+json"
    );
}

/// The port file is the "up" signal for supervisors and tests, so a SIGTERM sent right after it
/// must stop the server cleanly (requests finished, events flushed, exit 0). The stop signals
/// were once caught only when actix first polled the server, after the port file was written:
/// a SIGTERM in that gap killed the process (about one start in two).
#[tokio::test]
async fn a_sigterm_right_after_start_stops_the_server_cleanly() {
    for _ in 0..8 {
        let mut app = spawn_app().await;
        assert!(app.terminate().await, "clean exit:\n{}", app.logs());
    }
}
