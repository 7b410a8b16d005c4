//! The Activity page: reached from the menu, filtered by its GET form (the filters stay in
//! the URL), paged, and readable at 390 px (the table becomes cards, nothing scrolls sideways).

use serde_json::json;

use crate::support::browser::Browser;
use crate::support::{eventually, spawn_app};

#[tokio::test]
async fn the_activity_page_lists_filters_and_fits_a_phone() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    admin
        .post_json("/api/v1/api-keys", json!({"name": "ci"}), 201)
        .await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    b.click("nav.sidebar a[href=\"/ui/activity\"]").await;
    b.wait_for_path(|p| p == "/ui/activity").await;
    assert_eq!(b.text("h1").await, "Activity");
    // Sign-ins go through the batched writer: reload until the page's shows.
    eventually(10, || async {
        b.goto("/ui/activity").await;
        let text = b.text("main").await;
        text.contains("signed in")
            .then_some(())
            .ok_or(format!("no sign-in yet:\n{text}"))
    })
    .await;
    let text = b.text("#activity-table").await;
    assert!(text.contains("created an API key"), "{text}");
    assert!(text.contains("added a domain"), "{text}");
    assert!(text.contains("127.0.0.1"), "{text}");
    // How long ago, once: shell.js beside the local time ("(now)", "(2 minutes ago)").
    assert!(
        text.contains("(now)") || text.contains("minute ago)") || text.contains("minutes ago)"),
        "{text}"
    );
    assert!(
        !text.contains("just now"),
        "the server's second relative time: {text}"
    );

    // Filter by the API keys group: the form's GET puts it in the URL.
    b.eval(
        "document.getElementById('activity-action').value = 'key.'; return true;",
        vec![],
    )
    .await;
    b.click("#activity-filters button[type=submit]").await;
    eventually(10, || async {
        let search = b.eval("return location.search;", vec![]).await;
        let search = search.as_str().unwrap_or_default().to_owned();
        search
            .contains("action=key.")
            .then_some(())
            .ok_or(format!("the URL has no filter: {search}"))
    })
    .await;
    let actions = b
        .eval(
            "return [...document.querySelectorAll('#activity-body tr')].map(r => r.dataset.action);",
            vec![],
        )
        .await;
    let actions = actions.as_array().unwrap();
    assert!(!actions.is_empty());
    assert!(
        actions
            .iter()
            .all(|a| a.as_str().unwrap().starts_with("key.")),
        "{actions:?}"
    );
    assert_eq!(
        b.value("#activity-action").await,
        "key.",
        "the filter stays chosen"
    );

    // A phone: cards, nothing wider than the screen.
    b.resize(390, 844).await;
    b.goto("/ui/activity").await;
    b.find("#activity-table").await;
    let wide = b
        .eval(
            "return document.documentElement.scrollWidth > window.innerWidth;",
            vec![],
        )
        .await;
    assert_eq!(wide, json!(false), "the page scrolls sideways at 390 px");
    b.assert_accessible("the activity page at 390 px").await;
    b.close().await;
}
