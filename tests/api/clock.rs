//! The test clock: a server started with `LINKDOCK_TEST_CLOCK=1` (`Options::test_clock`) lets
//! a test move its clock ahead through the control socket, and every rule that reads time sees
//! it: key expiry and roll grace (keys.rs, keys_policy.rs), link expiry (links.rs), rate
//! windows (keys_policy.rs), and here sessions and the failure limit. Without the switch the
//! clock cannot be moved at all.

use std::time::Duration;

use serde_json::json;

use crate::support::{call, spawn_app, spawn_with, Options};

fn bearer(app: &crate::support::TestApp, key: &str) -> reqwest::RequestBuilder {
    app.http.get(app.url("/api/v1/links")).bearer_auth(key)
}

#[tokio::test]
async fn the_clock_moves_only_in_a_server_started_with_the_test_switch() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let soon = (time::OffsetDateTime::now_utc() + time::Duration::seconds(60))
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let key = admin
        .post_json(
            "/api/v1/api-keys",
            json!({"name": "soon", "expires_at": soon}),
            201,
        )
        .await;
    let key = key["key"].as_str().unwrap();
    let answer = app.control("clock advance 1h");
    assert_eq!(answer["ok"], false, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("LINKDOCK_TEST_CLOCK=1"),
        "{answer}"
    );
    call(bearer(&app, key), 200).await;

    // With the switch: ahead by what was asked, and a duration it cannot read is refused.
    let moved = spawn_with(Options {
        test_clock: true,
        ..Default::default()
    })
    .await;
    let before = moved.control("clock advance 0s");
    let after = moved.control("clock advance 2h");
    assert_eq!(after["ahead_ms"], 2 * 3600 * 1000, "{after}");
    assert!(
        after["now"].as_str().unwrap() > before["now"].as_str().unwrap(),
        "{before} {after}"
    );
    let wrong = moved.control("clock advance soon");
    assert_eq!(wrong["ok"], false, "{wrong}");
    assert!(
        moved.logs().contains("LINKDOCK_TEST_CLOCK=1"),
        "the switch is logged"
    );
}

#[tokio::test]
async fn a_session_ends_a_week_after_sign_in() {
    let app = spawn_with(Options {
        test_clock: true,
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    app.advance_clock(Duration::from_secs(7 * 86_400 - 60));
    call(admin.get("/api/v1/session"), 200).await;
    app.advance_clock(Duration::from_secs(61));
    call(admin.get("/api/v1/session"), 401).await;
}

#[tokio::test]
async fn an_address_over_the_failure_limit_may_try_again_in_the_next_window() {
    let app = spawn_with(Options {
        test_clock: true,
        extra_toml: "max_failed_auth_per_minute = 3\n".into(),
        ..Default::default()
    })
    .await;
    let (unknown, _) = linkdock::keys::issue(
        &ring::rand::SystemRandom::new(),
        &linkdock::domain::KeyPrefix::default(),
    )
    .unwrap();
    for _ in 0..3 {
        call(bearer(&app, unknown.reveal()), 401).await;
    }
    let res = bearer(&app, unknown.reveal()).send().await.unwrap();
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    app.advance_clock(Duration::from_secs(retry + 1));
    call(bearer(&app, unknown.reveal()), 401).await;
}
