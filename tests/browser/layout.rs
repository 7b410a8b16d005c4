//! The shell: sidebar, sign-out, CSP without inline script, and every page readable at 1280px
//! and at 390px (no sideways scrolling), in light and dark. `UI_SCREENSHOTS=<dir>` saves a
//! screenshot of each page and width there, for a human look.

use serde_json::json;

use crate::support::browser::Browser;
use crate::support::spawn_app;

const PAGES: [(&str, &str); 4] = [
    ("/ui/links", "Links"),
    ("/ui/domains", "Domains"),
    ("/ui/integrations/api-keys", "API Keys"),
    ("/ui/", "Welcome to linkdock"),
];

#[tokio::test]
async fn pages_are_readable_at_desktop_and_phone_widths_and_sign_out_works() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "go.example.com", "destination_url": "https://example.org/a/rather/long/path/that/could/overflow/a/narrow/screen?with=query&and=more", "title": "A link", "tags": ["docs", "team"]}),
            201,
        )
        .await;
    admin.post_json("/api/v1/api-keys", json!({"name": "Wide key", "allow_all_ips": false, "ip_whitelist": ["2001:db8:1234:5678::/64", "192.168.100.200"]}), 201).await;

    // Without a session every page redirects to the sign-in page.
    let res = app
        .http
        .get(app.url("/ui/integrations/api-keys"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/ui/login?next="));
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );

    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    let shots = std::env::var_os("UI_SCREENSHOTS").map(std::path::PathBuf::from);
    for (width, height, scheme) in [(1280, 900, "light"), (390, 844, "dark")] {
        b.resize(width, height).await;
        b.color_scheme(scheme).await;
        for (path, heading) in PAGES {
            b.goto(path).await;
            b.wait_text("main h1", heading).await;
            // Tables are filled by script: wait until "Loading…" is gone.
            if b.exists("tbody").await {
                crate::support::eventually(crate::support::browser::WAIT_SECS, || async {
                    (!b.text("tbody").await.contains("Loading"))
                        .then_some(())
                        .ok_or(format!("{path} never loaded"))
                })
                .await;
            }
            b.assert_page_hygiene(path, width, scheme).await;
            if let Some(dir) = &shots {
                std::fs::create_dir_all(dir).unwrap();
                let png = b.client.screenshot().await.unwrap();
                let name = format!(
                    "{}-{width}-{scheme}.png",
                    path.trim_matches('/').replace('/', "_")
                );
                std::fs::write(dir.join(name), png).unwrap();
            }
            if path == "/ui/integrations/api-keys" {
                // The modal fits the screen, and its fields are reachable.
                b.click("#create-key").await;
                b.click("#key-allow-all").await;
                b.click("#key-never-expire").await;
                let fits = b
                    .eval("const r = document.getElementById('key-dialog').getBoundingClientRect(); return r.left >= 0 && r.right <= window.innerWidth;", vec![])
                    .await;
                assert_eq!(fits, json!(true), "dialog fits at {width}px");
                if let Some(dir) = &shots {
                    std::fs::write(
                        dir.join(format!("key-dialog-{width}-{scheme}.png")),
                        b.client.screenshot().await.unwrap(),
                    )
                    .unwrap();
                }
                b.click_button("#key-dialog", "Cancel").await;
                b.hidden("#key-dialog").await;
            }
        }
    }
    b.resize(1280, 900).await;

    // The sidebar: Links, Domains, Integrations → API Keys, Manual Integration; and sign-out.
    b.goto("/ui/integrations/api-keys").await;
    let nav = b.text("nav.sidebar").await;
    for label in [
        "Links",
        "Domains",
        "Integrations",
        "API Keys",
        "Manual Integration",
    ] {
        assert!(nav.contains(label), "sidebar lacks {label}: {nav}");
    }
    assert_eq!(b.text("nav.sidebar a[aria-current=page]").await, "API Keys");
    b.click_button("nav.sidebar", "Sign out").await;
    b.wait_for_path(|p| p == "/ui/login").await;
    b.goto("/ui/links").await;
    b.wait_for_path(|p| p == "/ui/login").await;
    b.close().await;
}

#[tokio::test]
async fn the_create_api_key_modal_works_from_the_keyboard_alone() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    b.goto("/ui/integrations/api-keys").await;
    b.wait_text("#keys-body", "No API keys yet").await;
    let opener = b.find("#create-key").await;
    b.eval("document.getElementById('create-key').focus();", vec![])
        .await;
    opener.send_keys("\u{E007}").await.unwrap(); // Enter
    b.visible("#key-dialog").await;
    assert_eq!(b.focused().await, "input#key-name");
    let name = b.find("#key-name").await;
    name.send_keys("Keyboard key\u{E007}").await.unwrap(); // type, then Enter submits
    b.visible("#key-value").await;
    assert_eq!(b.focused().await, "button#key-copy", "focus lands on Copy");
    let key = b.text("#key-value").await;
    b.find("#key-copy")
        .await
        .send_keys("\u{E00C}")
        .await
        .unwrap(); // Escape
                   // The key cannot be lost by accident: Escape asks first, with the safe answer focused.
    b.wait_text(
        "#key-leave",
        "Have you copied your key? You won't be able to see it again.",
    )
    .await;
    assert_eq!(b.focused().await, "button#key-leave-back");
    assert_eq!(b.text("#key-value").await, key, "the key is still shown");
    // Escape again goes back to the key; asked once more, "Yes, close" closes.
    b.find("#key-leave-back")
        .await
        .send_keys("\u{E00C}")
        .await
        .unwrap();
    b.hidden("#key-leave").await;
    assert_eq!(b.focused().await, "button#key-copy");
    b.find("#key-copy")
        .await
        .send_keys("\u{E00C}")
        .await
        .unwrap();
    b.visible("#key-leave").await;
    b.find("#key-leave-close")
        .await
        .send_keys("\u{E007}")
        .await
        .unwrap(); // Enter on "Yes, close"
    b.hidden("#key-dialog").await;
    assert_eq!(
        b.focused().await,
        "button#create-key",
        "focus returns to the opener"
    );
    assert!(
        !b.client.source().await.unwrap().contains(&key),
        "the key is gone after closing"
    );
    let keys =
        crate::support::expect(admin.get("/api/v1/api-keys").send().await.unwrap(), 200).await;
    assert_eq!(keys["items"][0]["name"], "Keyboard key");
    b.close().await;
}

#[tokio::test]
async fn polish_markers_monospace_errors_that_clear_messages_that_go_and_an_idle_clear_history() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "go.example.com", "slug": "one", "destination_url": "https://example.org/one"}),
            201,
        )
        .await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;

    // "Integrations" shows whether it is open: a marker that turns with it.
    b.goto("/ui/links").await;
    let marker = "const s = document.querySelector('nav.sidebar details.group > summary');
                  const m = getComputedStyle(s, '::after');
                  return [m.content, m.transform, m.width];";
    let closed = b.eval(marker, vec![]).await;
    assert_ne!(closed[0], json!("none"), "no marker: {closed}");
    assert_ne!(closed[2], json!("0px"), "invisible marker: {closed}");
    b.click("nav.sidebar details.group > summary").await;
    // It turns (with a short transition).
    crate::support::eventually(crate::support::browser::WAIT_SECS, || async {
        let open = b.eval(marker, vec![]).await;
        (open[1] != closed[1] && open[1] != json!("none"))
            .then_some(())
            .ok_or(format!("the marker does not turn: {open} / {closed}"))
    })
    .await;

    // A success message lasts until the next action.
    b.click_button("#links-body tr", "Copy").await;
    b.wait_text("#links-status", "Copied").await;
    b.click("#create-link").await;
    b.visible("#link-dialog").await;
    assert_eq!(
        b.text("#links-status").await,
        "",
        "the message outlived the next action"
    );

    // A field error goes as soon as the field is fixed; several errors stand on their own lines.
    b.fill("#link-destination", "ftp://example.org/").await;
    b.click("#link-submit").await;
    let err = b.visible("[data-error-for=\"destination_url\"]").await;
    let text = err.text().await.unwrap();
    assert!(text.starts_with("The destination URL must"), "{text}");
    b.find("#link-destination")
        .await
        .send_keys("x")
        .await
        .unwrap();
    b.hidden("[data-error-for=\"destination_url\"]").await;
    assert_eq!(
        b.eval(
            "return document.getElementById('link-destination').getAttribute('aria-invalid');",
            vec![]
        )
        .await,
        json!(null)
    );
    b.click_button("#link-dialog", "Cancel").await;
    b.goto("/ui/integrations/api-keys").await;
    b.click("#create-key").await;
    b.fill("#key-name", "Two errors").await;
    b.click("#key-allow-all").await;
    b.fill("#key-whitelist", "bad-one\n10.0.0.1\nbad-two").await;
    b.click("#key-submit").await;
    let lines = b
        .wait_text("[data-error-for=\"ip_whitelist\"]", "Line 3")
        .await;
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with("Line 1: “bad-one” is not an IP address")
            && lines[1].starts_with("Line 3:"),
        "{lines:?}"
    );
    b.click_button("#key-dialog", "Cancel").await;

    // The JSON body editor is monospace; "Clear History" waits for a history.
    b.goto("/ui/integrations/manual").await;
    b.wait_text("#pg-history-list", "No requests yet").await;
    assert!(
        clear_history_disabled(&b).await,
        "Clear History is enabled with nothing to clear"
    );
    let fonts = b
        .eval(
            "return [getComputedStyle(document.getElementById('pg-body')).fontFamily,
                     getComputedStyle(document.querySelector('code')).fontFamily];",
            vec![],
        )
        .await;
    assert_eq!(
        fonts[0], fonts[1],
        "the body editor is not monospace: {fonts}"
    );
    assert!(fonts[0].as_str().unwrap().contains("monospace"), "{fonts}");
    crate::playground::select_endpoint(&b, "GET /api/v1/links").await;
    b.click("#pg-send").await;
    b.visible("#pg-response[data-request=\"1\"]").await;
    b.wait_text("#pg-history-list", "/api/v1/links").await;
    assert!(!clear_history_disabled(&b).await);
    b.click_button("#request-history", "Clear History").await;
    b.prompt_text().await;
    b.accept_prompt().await;
    b.wait_text("#pg-history-list", "No requests yet").await;
    assert!(clear_history_disabled(&b).await);
    b.close().await;
}

async fn clear_history_disabled(b: &Browser) -> bool {
    b.eval(
        "return document.getElementById('pg-clear-history').disabled;",
        vec![],
    )
    .await
        == json!(true)
}
