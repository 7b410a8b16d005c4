//! `server.public_url` (API.md, Configuration): when unset, every link the server prints names
//! the address it is actually bound to, and the documentation names the request's own origin;
//! when set, it wins everywhere, and https makes the cookie Secure and short URLs https.

use serde_json::json;

use crate::support::{call, spawn_with, Options};

fn unset() -> Options {
    Options {
        public_url: Some(String::new()),
        ..Default::default()
    }
}

#[tokio::test]
async fn unset_public_url_prints_the_bound_address_with_its_real_port() {
    // The first-run setup link, on a wildcard listen address with port 0.
    let app = spawn_with(Options {
        no_admin: true,
        env: vec![("LINKDOCK_LISTEN".into(), "0.0.0.0:0".into())],
        ..unset()
    })
    .await;
    let want = format!("open http://127.0.0.1:{}/ui/setup?token=", app.port);
    app.wait_for_log(&want, 10).await;
    assert!(!app.logs().contains(":8080"), "{}", app.logs());

    // The sign-in line of a server that has a user.
    let app = spawn_with(unset()).await;
    app.wait_for_log(&format!("sign in at http://127.0.0.1:{}/ui/", app.port), 10)
        .await;
}

#[tokio::test]
async fn unset_public_url_makes_llms_txt_name_the_request_origin() {
    let app = spawn_with(unset()).await;
    let origin = format!("http://127.0.0.1:{}", app.port);
    let text = app.text("/api/llms-full.txt").await;
    assert!(text.contains(&format!("Base URL: {origin}.")), "{text}");
    assert!(
        text.contains(&format!("curl -X GET '{origin}/api/v1/links")),
        "{text}"
    );
    assert!(!text.contains("8080"), "{text}");

    // Another name for the same server: the docs follow the Host the client used.
    let get = |host: &'static str| {
        app.http
            .get(app.url("/api/llms.txt"))
            .header("host", host)
            .header("x-forwarded-proto", "https")
    };
    let res = get("Docs.Example.com:8443").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["vary"].to_str().unwrap().contains("Host"));
    let text = res.text().await.unwrap();
    // X-Forwarded-Proto counts only from a trusted proxy, and none is configured.
    assert!(
        text.contains("Base URL: http://docs.example.com:8443."),
        "{text}"
    );

    // A Host that is not a plain authority never reaches the shell examples.
    for forged in [
        "evil.example'; touch /tmp/pwned; echo '",
        "evil.example/$(id)",
        "a@evil.example",
    ] {
        let text = get(forged).send().await.unwrap().text().await.unwrap();
        assert!(!text.contains("evil"), "{forged}: {text}");
        assert!(text.contains(&format!("Base URL: {origin}.")), "{forged}");
    }

    // The Manual Integration page leaves the base to the browser's own origin.
    let admin = app.admin().await;
    let html = admin
        .get("/ui/integrations/manual")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-public-url=\"\""), "{html}");
}

#[tokio::test]
async fn a_set_public_url_wins_and_https_makes_cookies_secure_and_links_https() {
    let app = spawn_with(Options {
        public_url: Some("https://go.example.com/".into()),
        extra_toml: "[[domains]]\nhostname = \"go.example.com\"\n".into(),
        ..Default::default()
    })
    .await;
    app.wait_for_log("sign in at https://go.example.com/ui/", 10)
        .await;
    let text = app
        .http
        .get(app.url("/api/llms.txt"))
        .header("host", "other.example")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("Base URL: https://go.example.com."), "{text}");
    assert!(!text.contains("other.example"), "{text}");

    let res = app
        .http
        .post(app.url("/api/v1/session"))
        .json(&json!({"username": "admin", "password": crate::support::ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("Secure"), "{cookie}");
    // A cookie jar keeps a Secure cookie off plain http: send it by hand.
    let csrf = res.json::<serde_json::Value>().await.unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let session = cookie.split(';').next().unwrap().to_owned();
    let link = call(
        app.http
            .post(app.url("/api/v1/links"))
            .header("cookie", &session)
            .header("x-csrf-token", &csrf)
            .json(&json!({"domain": "go.example.com", "slug": "docs", "destination_url": "https://example.com/"})),
        201,
    )
    .await;
    assert_eq!(link["short_url"], "https://go.example.com/docs");
    let html = call(
        app.http
            .get(app.url("/ui/integrations/manual"))
            .header("cookie", &session),
        200,
    )
    .await;
    assert!(
        html.as_str()
            .unwrap()
            .contains("data-public-url=\"https://go.example.com\""),
        "{html}"
    );
}
