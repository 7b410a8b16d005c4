//! The first hour, before and after signing in: the sign-in page without any user, the home
//! page's getting-started checklist that ticks itself off from real data and turns into a
//! dashboard, the menu button on a phone, and the page-not-found page.

use serde_json::json;

use crate::support::browser::{Browser, WAIT_SECS};
use crate::support::{eventually, expect, spawn_app, spawn_with, Options, TestApp};

/// The steps of the checklist that are ticked, as their titles.
async fn ticked(b: &Browser) -> Vec<String> {
    let v = b
        .eval(
            "return Array.from(document.querySelectorAll('ol.checklist li.step[data-done=true] h3')).map(h => h.textContent.replace('Done: ', ''));",
            vec![],
        )
        .await;
    serde_json::from_value(v).unwrap()
}

async fn click_link(app: &TestApp, slug: &str) {
    let res = app
        .http
        .get(app.url(&format!("/{slug}")))
        .header("host", "go.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
}

#[tokio::test]
async fn without_users_the_sign_in_page_explains_both_ways_in() {
    let app = spawn_with(Options {
        no_admin: true,
        ..Default::default()
    })
    .await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    for (width, height, scheme) in [(1280, 900, "light"), (390, 844, "dark")] {
        b.resize(width, height).await;
        b.color_scheme(scheme).await;
        b.goto("/ui/links").await;
        b.wait_for_path(|p| p == "/ui/login").await;
        let text = b.text("main").await;
        for part in [
            "no users yet",
            "setup link in the log",
            "/ui/setup?token=",
            "LINKDOCK_ADMIN_PASSWORD",
            "admin",
        ] {
            assert!(text.contains(part), "sign-in page lacks {part:?}: {text}");
        }
        assert!(
            !b.exists("#password").await,
            "no form that could only say no"
        );
        b.assert_page_hygiene("first-run sign-in", width, scheme)
            .await;
        b.assert_accessible(&format!("first-run sign-in at {width}px {scheme}"))
            .await;
        b.screenshot(&format!("first-run-{width}-{scheme}")).await;
    }
    // A sign-in attempt (an old bookmark, a script) gets the same explanation, not
    // "wrong username or password".
    let res = app
        .http
        .post(app.url("/ui/login"))
        .form(&[("username", "admin"), ("password", "whatever-it-is")])
        .send()
        .await
        .unwrap();
    let page = res.text().await.unwrap();
    assert!(page.contains("no users yet"), "{page}");
    assert!(!page.to_lowercase().contains("wrong username"), "{page}");
    b.close().await;
}

#[tokio::test]
async fn the_home_page_is_a_checklist_that_ticks_itself_off_then_a_dashboard() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    assert_eq!(b.path().await, "/ui/");
    b.wait_text("main h2", "Getting started").await;
    b.wait_text("#getting-started-progress", "0 of 4").await;
    let steps = b.text("ol.checklist").await;
    for step in [
        "Add a domain",
        "Create a link",
        "Create an API key",
        "Send a request from the playground",
    ] {
        assert!(steps.contains(step), "{step} missing: {steps}");
    }
    assert!(ticked(&b).await.is_empty());
    b.assert_accessible("the empty checklist").await;

    // Each step's button leads to where it is done, and the step ticks itself off from data.
    b.click_button("ol.checklist", "Go to Domains").await;
    b.wait_for_path(|p| p == "/ui/domains").await;
    b.fill("#domain-hostname", "go.example.com").await;
    b.click_button("#domain-form", "Add Domain").await;
    b.wait_text("#domains-body", "go.example.com").await;
    b.goto("/ui/").await;
    b.wait_text("#getting-started-progress", "1 of 4").await;
    assert_eq!(ticked(&b).await, ["Add a domain"]);

    let link = admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "go.example.com", "slug": "docs", "destination_url": "https://example.org/docs"}),
            201,
        )
        .await;
    admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "go.example.com", "slug": "blog", "destination_url": "https://example.org/blog"}),
            201,
        )
        .await;
    let key = admin
        .post_json("/api/v1/api-keys", json!({"name": "Scripts"}), 201)
        .await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let soon = time::OffsetDateTime::now_utc() + time::Duration::days(10);
    let soon = soon
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    admin
        .post_json(
            "/api/v1/api-keys",
            json!({"name": "Temporary", "expires_at": soon}),
            201,
        )
        .await;
    b.goto("/ui/").await;
    b.wait_text("#getting-started-progress", "3 of 4").await;
    assert_eq!(
        ticked(&b).await,
        ["Add a domain", "Create a link", "Create an API key"]
    );
    b.screenshot("home-checklist").await;

    // The last step: a request from the playground.
    b.click_button("ol.checklist", "Open the API Playground")
        .await;
    b.wait_for_path(|p| p == "/ui/integrations/manual").await;
    crate::playground::select_endpoint(&b, "GET /api/v1/domains").await;
    b.click("#pg-send").await;
    b.visible("#pg-response[data-request=\"1\"]").await;
    eventually(WAIT_SECS, || async {
        let h = expect(
            admin
                .get("/api/v1/playground/history")
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        (h["total"] == 1).then_some(())
    })
    .await;

    // Some traffic for the dashboard: clicks and a key that was used.
    for _ in 0..3 {
        click_link(&app, "docs").await;
    }
    click_link(&app, "blog").await;
    let res = app
        .http
        .get(app.url("/api/v1/links"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    eventually(WAIT_SECS, || async {
        let l = expect(
            admin
                .get(&format!("/api/v1/links/{}", link["id"]))
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        (l["clicks"] == 3).then_some(())
    })
    .await;
    eventually(WAIT_SECS, || async {
        let keys = expect(admin.get("/api/v1/api-keys").send().await.unwrap(), 200).await;
        keys["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["name"] == "Scripts" && k["request_count"] == 1)
            .then_some(())
    })
    .await;

    for (width, height, scheme) in [(1280, 900, "light"), (390, 844, "dark")] {
        b.resize(width, height).await;
        b.color_scheme(scheme).await;
        b.goto("/ui/").await;
        b.wait_text("main h1", "Dashboard").await;
        assert!(!b.exists("ol.checklist").await, "all steps are done");
        let stats = b.text("ul.stats").await;
        for part in ["1 domain", "2 links", "4 clicks", "2 active API keys"] {
            assert!(stats.contains(part), "counts lack {part}: {stats}");
        }
        let top = b.text("#top-links").await;
        assert!(
            top.find("go.example.com/docs").unwrap() < top.find("go.example.com/blog").unwrap(),
            "most clicked first: {top}"
        );
        assert!(top.contains("3 clicks"), "{top}");
        let recent = b.text("#recent-keys").await;
        assert!(
            recent.contains("Scripts") && recent.contains("1 request"),
            "{recent}"
        );
        assert!(!recent.contains("Temporary"), "never used: {recent}");
        let expiring = b.text("#expiring-keys").await;
        assert!(expiring.contains("Temporary"), "{expiring}");
        assert!(
            !b.text("#expiring-keys time").await.ends_with('Z'),
            "times are shown in local time"
        );
        b.assert_page_hygiene("the dashboard", width, scheme).await;
        b.assert_accessible(&format!("the dashboard at {width}px {scheme}"))
            .await;
        b.screenshot(&format!("home-dashboard-{width}-{scheme}"))
            .await;
    }
    b.close().await;
}

#[tokio::test]
async fn on_a_phone_the_navigation_folds_behind_a_menu_button_and_headers_stay_small() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "go.example.com", "slug": "bare", "destination_url": "https://example.org/bare"}),
            201,
        )
        .await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    b.resize(390, 844).await;
    for scheme in ["light", "dark"] {
        b.color_scheme(scheme).await;
        for path in [
            "/ui/",
            "/ui/links",
            "/ui/domains",
            "/ui/integrations/api-keys",
            "/ui/integrations/manual",
        ] {
            b.goto(path).await;
            b.visible("#menu-toggle").await;
            b.hidden("#nav-menu").await;
            // No header (the top bar, the page's header) takes more than a fifth of the screen.
            let tall = b
                .eval(
                    "return Array.from(document.querySelectorAll('nav.sidebar, header'))
                       .filter(h => h.offsetParent !== null && h.getBoundingClientRect().height > innerHeight / 5)
                       .map(h => (h.id || h.className) + ': ' + Math.round(h.getBoundingClientRect().height));",
                    vec![],
                )
                .await;
            assert_eq!(
                tall,
                json!([]),
                "{path} at 390px {scheme}: headers too tall"
            );
        }
    }
    // A link card shows only the fields the link has: no empty Title or Tags.
    b.goto("/ui/links").await;
    b.wait_text("#links-body", "bare").await;
    let labels = b
        .eval(
            "return Array.from(document.querySelectorAll('#links-body tr td')).filter(td => td.offsetParent !== null).map(td => td.dataset.label);",
            vec![],
        )
        .await;
    assert_eq!(
        labels,
        json!(["Short URL", "Destination", "Clicks", "Created", "Actions"]),
        "card fields"
    );

    // The menu opens, its links work, and Escape folds it again.
    b.goto("/ui/").await;
    assert_eq!(
        b.find("#menu-toggle")
            .await
            .attr("aria-expanded")
            .await
            .unwrap()
            .as_deref(),
        Some("false")
    );
    b.click("#menu-toggle").await;
    b.visible("#nav-menu").await;
    b.screenshot("menu-open-390").await;
    b.assert_accessible("the open menu at 390px").await;
    b.find("#nav-menu a[href=\"/ui/links\"]")
        .await
        .send_keys("\u{E00C}")
        .await
        .unwrap();
    b.hidden("#nav-menu").await;
    assert_eq!(b.focused().await, "button#menu-toggle");
    b.click("#menu-toggle").await;
    b.click("nav.sidebar details.group > summary").await;
    b.click_button("#nav-menu", "API Keys").await;
    b.wait_for_path(|p| p == "/ui/integrations/api-keys").await;
    b.hidden("#nav-menu").await;

    // At desktop width there is no menu button: the sidebar is always there.
    b.resize(1280, 900).await;
    b.hidden("#menu-toggle").await;
    b.visible("#nav-menu a[href=\"/ui/links\"]").await;
    b.close().await;
}

#[tokio::test]
async fn an_unknown_page_is_page_not_found_with_a_way_back() {
    let app = spawn_app().await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    // Signed out: a bare page.
    b.goto("/ui/no-such-page").await;
    b.wait_text("h1", "Page not found").await;
    b.assert_accessible("page not found, signed out").await;
    b.sign_in().await;
    for (width, height, scheme) in [(1280, 900, "light"), (390, 844, "dark")] {
        b.resize(width, height).await;
        b.color_scheme(scheme).await;
        b.goto("/ui/integrations/nothing-here").await;
        b.wait_text("main h1", "Page not found").await;
        // Signed in: inside the app, with its navigation.
        b.find("nav.sidebar").await;
        b.assert_page_hygiene("page not found", width, scheme).await;
        b.assert_accessible(&format!("page not found at {width}px {scheme}"))
            .await;
    }
    b.click_button("main", "Back to linkdock").await;
    b.wait_for_path(|p| p == "/ui/").await;
    // The favicon is served, and every page points at it.
    let icon = b
        .eval(
            "return document.querySelector('link[rel=icon]').href;",
            vec![],
        )
        .await;
    let res = app.http.get(icon.as_str().unwrap()).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(crate::support::content_type(&res).starts_with("image/svg+xml"));
    b.close().await;
}
