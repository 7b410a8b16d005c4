//! Regression tests for guarantees that once broke under attack (issue "Hold every guarantee
//! under attack"). Each fails on the code before its fix.

use serde_json::json;

use crate::support::{content_type, expect, spawn_app, spawn_with, Options};

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
