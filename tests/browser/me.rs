//! The Me page: reached from the username in the navigation, it lists the user's sessions,
//! this one marked, and signs the others out.

use serde_json::json;

use crate::support::browser::Browser;
use crate::support::{expect, spawn_app, TestApp, ADMIN_PASSWORD};

const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";

/// A second session of the admin, opened "from a phone"; its client keeps the cookie.
async fn sign_in_phone(app: &TestApp) -> reqwest::Client {
    let http = reqwest::Client::builder()
        .user_agent(IPHONE)
        .cookie_store(true)
        .build()
        .unwrap();
    let res = http
        .post(app.url("/api/v1/session"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    expect(res, 200).await;
    http
}

async fn status(http: &reqwest::Client, app: &TestApp) -> u16 {
    http.get(app.url("/api/v1/session"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_me_page_lists_this_session_and_signs_out_everywhere_else() {
    let app = spawn_app().await;
    let mut phone = sign_in_phone(&app).await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    for (width, height, scheme) in [(1280, 900, "light"), (390, 844, "dark")] {
        b.resize(width, height).await;
        b.color_scheme(scheme).await;
        b.sign_in().await;
        // The username in the navigation leads to the page (behind "Menu" on a phone).
        if width < 700 {
            b.click("#menu-toggle").await;
        }
        b.click("nav.sidebar a[href=\"/ui/me\"]").await;
        b.wait_for_path(|p| p == "/ui/me").await;
        b.wait_text("h1", "Your account").await;
        let this = b
            .wait_text("#sessions-body tr[data-current]", "This device")
            .await;
        assert!(this.contains("Chrome on Linux"), "{this}");
        b.wait_text("#sessions-body", "Safari on iPhone").await;
        b.assert_page_hygiene("the Me page", width, scheme).await;
        b.assert_accessible(&format!("the Me page at {width}px"))
            .await;
        b.screenshot(&format!("me_{width}_{scheme}")).await;
        b.eval(
            "document.getElementById('sessions-title').scrollIntoView();",
            vec![],
        )
        .await;
        b.screenshot(&format!("me_sessions_{width}_{scheme}")).await;
        // The password section is on the page too (the test admin is declared in the file,
        // so it says where to change it).
        b.wait_text("#password-title", "Change Password").await;

        b.click("#sign-out-others").await;
        b.wait_text("[role=status]", "Signed out").await;
        let rows = b
            .eval(
                "return document.querySelectorAll('#sessions-body tr').length;",
                vec![],
            )
            .await;
        assert_eq!(rows, json!(1), "only this session is left");
        assert!(
            !b.exists("#sign-out-others").await,
            "nothing else to sign out"
        );
        assert_eq!(status(&phone, &app).await, 401, "the phone was signed out");
        // This browser still is signed in.
        b.goto("/ui/me").await;
        b.wait_text("h1", "Your account").await;

        // For the next size: a fresh phone session, and sign this browser out.
        phone = sign_in_phone(&app).await;
        assert_eq!(status(&phone, &app).await, 200);
        if width < 700 {
            b.click("#menu-toggle").await;
        }
        b.click("form.signout button[type=submit]").await;
        b.wait_for_path(|p| p.starts_with("/ui/login")).await;
    }
    b.close().await;
}
