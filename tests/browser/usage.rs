//! A key's usage page, reached from its row on the API Keys page: the hourly and daily charts
//! with their text alternative, the request log filtered by status; the dashboard's busiest
//! keys. Axe-core on each state, at 1280 px light and 390 px dark (nothing scrolls sideways).

use serde_json::json;

use crate::support::browser::{Browser, WAIT_SECS};
use crate::support::{call, eventually, spawn_app};

const SIZES: [(u32, u32, &str); 2] = [(1280, 900, "light"), (390, 844, "dark")];

#[tokio::test]
async fn a_keys_usage_shows_its_charts_and_filters_its_log_and_the_dashboard_ranks_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "go.example.com", "slug": "docs", "destination_url": "https://example.org/docs"}),
            201,
        )
        .await;
    let made = admin
        .post_json(
            "/api/v1/api-keys",
            json!({"name": "Scripts", "permissions": ["links:read"]}),
            201,
        )
        .await;
    let (key, id) = (made["key"].as_str().unwrap(), made["id"].as_u64().unwrap());
    let keyed = |path: &str| app.http.get(app.url(path)).bearer_auth(key);
    call(keyed("/api/v1/links"), 200).await;
    call(keyed("/api/v1/links"), 200).await;
    call(keyed("/api/v1/domains"), 403).await;
    eventually(WAIT_SECS, || async {
        let v = call(admin.get(&format!("/api/v1/api-keys/{id}/usage")), 200).await;
        (v["points"][47]["refused"] == 1).then_some(())
    })
    .await;

    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;

    // From the key's row: a link, in the tab order, to its usage.
    b.goto("/ui/integrations/api-keys").await;
    let link = "#keys-body a[aria-label=\"Usage of Scripts\"]";
    b.find(link).await;
    let focusable = b
        .eval(
            &format!("const a = document.querySelector('{}'); a.focus(); return document.activeElement === a;", link.replace('\'', "\\'")),
            vec![],
        )
        .await;
    assert_eq!(focusable, json!(true), "the usage link takes the focus");
    b.click(link).await;
    let page = format!("/ui/integrations/api-keys/{id}/usage");
    b.wait_for_path(|p| p == page).await;
    assert_eq!(b.text("h1").await, "Usage of Scripts");

    for (width, height, scheme) in SIZES {
        b.resize(width, height).await;
        b.color_scheme(scheme).await;
        b.goto(&page).await;
        // The charts' text alternative: a caption that sums each up, a table with the numbers,
        // and a label on every bar.
        let hours = b.text("#usage-hours-caption").await;
        assert!(
            hours.starts_with("Requests per hour, last 48 hours")
                && hours.contains("2 ok, 1 refused"),
            "{hours}"
        );
        let days = b.text("#usage-days-caption").await;
        assert!(days.contains("2 ok, 1 refused"), "{days}");
        let bars = b
            .eval(
                "return document.querySelectorAll('#usage-hours g.chart-bar[aria-label]').length;",
                vec![],
            )
            .await;
        assert_eq!(bars, json!(48));
        assert!(b.exists("#usage-hours details.chart-table table").await);
        assert_eq!(
            b.eval(
                "return document.querySelectorAll('#request-log-body tr').length;",
                vec![]
            )
            .await,
            json!(3)
        );
        b.assert_page_hygiene("a key's usage", width, scheme).await;
        b.assert_accessible(&format!("a key's usage at {width}px {scheme}"))
            .await;
        b.screenshot(&format!("key-usage-{width}-{scheme}")).await;
    }

    // The log by status: the form's GET keeps the filter in the URL.
    b.eval(
        "document.getElementById('request-log-status-filter').value = 'refused'; return true;",
        vec![],
    )
    .await;
    b.click("#request-log-filters button[type=submit]").await;
    eventually(WAIT_SECS, || async {
        let search = b.eval("return location.search;", vec![]).await;
        let search = search.as_str().unwrap_or_default().to_owned();
        search
            .contains("status=refused")
            .then_some(())
            .ok_or(format!("the URL has no filter: {search}"))
    })
    .await;
    let statuses = b
        .eval(
            "return [...document.querySelectorAll('#request-log-body tr')].map(r => r.dataset.status);",
            vec![],
        )
        .await;
    assert_eq!(statuses, json!(["403"]));
    assert_eq!(b.value("#request-log-status-filter").await, "refused");
    assert!(b.text("#request-log-status").await.contains("1 of 1"));
    for (width, height, scheme) in SIZES {
        b.resize(width, height).await;
        b.color_scheme(scheme).await;
        b.goto(&format!("{page}?status=refused")).await;
        b.find("#request-log-table").await;
        b.assert_page_hygiene("a key's refused requests", width, scheme)
            .await;
        b.assert_accessible(&format!("a key's refused requests at {width}px {scheme}"))
            .await;
        b.screenshot(&format!("key-usage-refused-{width}-{scheme}"))
            .await;
    }
    // A filter it cannot read is said on the page, not as API text.
    b.goto(&format!("{page}?status=teapot")).await;
    let error = b.text("#request-log-error").await;
    assert!(error.starts_with("Status: must be"), "{error}");
    b.assert_accessible("a key's usage with a bad filter").await;

    // The dashboard: the busiest key, linking to its usage.
    for (width, height, scheme) in SIZES {
        b.resize(width, height).await;
        b.color_scheme(scheme).await;
        b.goto("/ui/").await;
        b.wait_text("main h1", "Dashboard").await;
        let busiest = b.text("#busiest-keys").await;
        assert!(
            busiest.contains("Scripts") && busiest.contains("3 requests"),
            "{busiest}"
        );
        assert!(
            b.exists(&format!("#busiest-keys a[href=\"{page}\"]")).await,
            "the busiest key links to its usage"
        );
        b.assert_page_hygiene("the dashboard's busiest keys", width, scheme)
            .await;
        b.assert_accessible(&format!(
            "the dashboard's busiest keys at {width}px {scheme}"
        ))
        .await;
        b.screenshot(&format!("dashboard-busiest-{width}-{scheme}"))
            .await;
    }
    b.close().await;
}

#[tokio::test]
async fn a_member_sees_only_their_own_keys_usage_and_ranks() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "go.example.com", "slug": "docs", "destination_url": "https://example.org/docs"}),
            201,
        )
        .await;
    let made = admin
        .post_json("/api/v1/api-keys", json!({"name": "Admin's"}), 201)
        .await;
    let id = made["id"].as_u64().unwrap();
    let added = app.control(&format!(
        "user add bob member {}",
        crate::support::cheap_password_hash("a-long-password")
    ));
    assert_eq!(added["ok"], true, "{added}");
    let bob = app.sign_in_as("bob", "a-long-password").await;
    let bobs = bob
        .post_json("/api/v1/api-keys", json!({"name": "Bob's"}), 201)
        .await;
    for (key, n) in [(&made, 3), (&bobs, 1)] {
        for _ in 0..n {
            call(
                app.http
                    .get(app.url("/api/v1/links"))
                    .bearer_auth(key["key"].as_str().unwrap()),
                200,
            )
            .await;
        }
    }
    eventually(WAIT_SECS, || async {
        let v = call(admin.get(&format!("/api/v1/api-keys/{id}/usage")), 200).await;
        (v["points"][47]["ok"] == 3).then_some(())
    })
    .await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in_as("bob", "a-long-password").await;
    b.goto(&format!("/ui/integrations/api-keys/{id}/usage"))
        .await;
    assert_eq!(b.text("h1").await, "Not Found");
    b.goto("/ui/").await;
    let busiest = b.wait_text("#busiest-keys", "Bob's").await;
    assert!(!busiest.contains("Admin's"), "{busiest}");
    b.close().await;
}
