//! The Domains and Links pages in Chromium: add/delete domains (with the 409 explained and the
//! force option), create/edit/delete links in the modal, copy a short URL, search, paginate.

use serde_json::{json, Value};

use crate::support::browser::{Browser, WAIT_SECS};
use crate::support::{eventually, expect, spawn_app, Session};

async fn domains(admin: &Session) -> Vec<String> {
    let list = expect(
        admin.get("/api/v1/domains?limit=100").send().await.unwrap(),
        200,
    )
    .await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["hostname"].as_str().unwrap().to_owned())
        .collect()
}

async fn link_by_slug(admin: &Session, slug: &str) -> Option<Value> {
    let list = expect(
        admin
            .get(&format!("/api/v1/links?search={slug}&limit=100"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["slug"] == slug)
        .cloned()
}

async fn wait_rows(b: &Browser, css: &str, n: usize) {
    eventually(WAIT_SECS, || async {
        let rows = b
            .client
            .find_all(fantoccini::Locator::Css(css))
            .await
            .unwrap()
            .len();
        if rows == n {
            Ok(())
        } else {
            Err(format!("{css}: {rows} rows, expected {n}"))
        }
    })
    .await;
}

#[tokio::test]
async fn domains_and_links_pages_manage_what_the_api_sees() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;

    // ---- Domains ----
    b.click_button("nav.sidebar", "Domains").await;
    b.wait_for_path(|p| p == "/ui/domains").await;
    b.wait_text("#domains-body", "No domains yet").await;
    // Links page without domains says to add one first.
    b.goto("/ui/links").await;
    b.visible("#links-no-domains").await;
    b.goto("/ui/domains").await;

    b.fill("#domain-hostname", "Go.Example.com").await;
    b.click_button("#domain-form", "Add Domain").await;
    b.wait_text("#domains-body", "go.example.com").await;
    assert_eq!(
        b.value("#domain-hostname").await,
        "",
        "the field is cleared after adding"
    );
    b.fill("#domain-hostname", "spare.example.com").await;
    b.click_button("#domain-form", "Add Domain").await;
    b.wait_text("#domains-body", "spare.example.com").await;
    assert_eq!(
        domains(&admin).await,
        ["spare.example.com", "go.example.com"]
    );

    // Bad input: a clear message next to the field, and the text stays.
    b.fill("#domain-hostname", "not a host!").await;
    b.click_button("#domain-form", "Add Domain").await;
    let err = b
        .visible("[data-error-for=\"hostname\"]")
        .await
        .text()
        .await
        .unwrap();
    assert!(!err.is_empty());
    assert_eq!(b.value("#domain-hostname").await, "not a host!");
    b.fill("#domain-hostname", "go.example.com").await;
    b.click_button("#domain-form", "Add Domain").await;
    let dup = eventually(WAIT_SECS, || async {
        let t = b
            .visible("[data-error-for=\"hostname\"]")
            .await
            .text()
            .await
            .unwrap();
        (!t.is_empty() && t != err)
            .then_some(t)
            .ok_or("the duplicate was never explained")
    })
    .await;
    assert!(
        dup.contains("go.example.com") || dup.contains("exists"),
        "duplicate explained: {dup}"
    );
    assert_eq!(domains(&admin).await.len(), 2);

    // ---- Links: create in the modal ----
    b.click_button("nav.sidebar", "Links").await;
    b.wait_for_path(|p| p == "/ui/links").await;
    b.wait_text("#links-body", "No links yet").await;
    b.click("#create-link").await;
    b.visible("#link-dialog").await;
    assert_eq!(b.focused().await, "input#link-destination");
    b.find("#link-domain")
        .await
        .select_by_value("go.example.com")
        .await
        .unwrap();
    b.fill("#link-destination", "ftp://example.org/file").await;
    b.fill("#link-slug", "docs").await;
    b.fill("#link-title", "Team docs").await;
    b.fill("#link-tags", "docs, team").await;
    b.click_button("#link-dialog", "Create Link").await;
    b.visible("[data-error-for=\"destination_url\"]").await;
    assert_eq!(
        b.value("#link-slug").await,
        "docs",
        "nothing typed is lost on an error"
    );
    b.fill("#link-destination", "https://docs.example.org/start")
        .await;
    b.click_button("#link-dialog", "Create Link").await;
    b.hidden("#link-dialog").await;
    b.wait_text("#links-body", "http://go.example.com/docs")
        .await;
    let link = link_by_slug(&admin, "docs").await.expect("link created");
    assert_eq!(link["destination_url"], "https://docs.example.org/start");
    assert_eq!(link["title"], "Team docs");
    assert_eq!(link["tags"], json!(["docs", "team"]));
    assert_eq!(link["redirect_code"], 302);

    // Copy short URL.
    b.click_button("#links-body tr", "Copy").await;
    b.wait_text("#links-status", "Copied").await;
    assert_eq!(b.clipboard().await, link["short_url"].as_str().unwrap());

    // A taken slug is explained at the slug field.
    b.click("#create-link").await;
    b.visible("#link-dialog").await;
    b.find("#link-domain")
        .await
        .select_by_value("go.example.com")
        .await
        .unwrap();
    b.fill("#link-destination", "https://other.example.org/")
        .await;
    b.fill("#link-slug", "docs").await;
    b.click_button("#link-dialog", "Create Link").await;
    b.visible("[data-error-for=\"slug\"]").await;
    assert_eq!(
        b.value("#link-destination").await,
        "https://other.example.org/"
    );
    b.click_button("#link-dialog", "Cancel").await;
    b.hidden("#link-dialog").await;

    // Edit in the same modal.
    b.click_button("#links-body tr", "Edit").await;
    b.visible("#link-dialog").await;
    assert_eq!(b.text("#link-dialog-title").await, "Edit Link");
    assert_eq!(
        b.value("#link-destination").await,
        "https://docs.example.org/start"
    );
    b.fill("#link-destination", "https://docs.example.org/v2")
        .await;
    b.find("#link-code")
        .await
        .select_by_value("301")
        .await
        .unwrap();
    b.click_button("#link-dialog", "Update Link").await;
    b.hidden("#link-dialog").await;
    b.wait_text("#links-body", "https://docs.example.org/v2")
        .await;
    let edited = link_by_slug(&admin, "docs").await.unwrap();
    assert_eq!(
        (
            edited["destination_url"].clone(),
            edited["redirect_code"].clone()
        ),
        (json!("https://docs.example.org/v2"), json!(301))
    );

    // ---- Search and pagination over 25 more links ----
    for i in 0..25 {
        admin
            .post_json(
                "/api/v1/links",
                json!({"domain": "go.example.com", "destination_url": format!("https://bulk.example.org/{i}"), "slug": format!("bulk-{i:02}")}),
                201,
            )
            .await;
    }
    b.goto("/ui/links").await;
    b.wait_text("#links-range", "1–20 of 26").await;
    wait_rows(&b, "#links-body tr", 20).await;
    b.click("#links-next").await;
    b.wait_text("#links-range", "21–26 of 26").await;
    wait_rows(&b, "#links-body tr", 6).await;
    b.click("#links-prev").await;
    b.wait_text("#links-range", "1–20 of 26").await;
    b.fill("#links-q", "bulk-1").await;
    b.wait_text("#links-range", "of 10").await;
    wait_rows(&b, "#links-body tr", 10).await;
    b.fill("#links-q", "DOCS").await;
    b.wait_text("#links-range", "1–1 of 1").await;

    // Delete with confirmation: Cancel keeps it, OK removes it.
    b.click_button("#links-body tr", "Delete").await;
    assert!(b.prompt_text().await.contains("go.example.com/docs"));
    b.dismiss_prompt().await;
    assert!(link_by_slug(&admin, "docs").await.is_some());
    b.click_button("#links-body tr", "Delete").await;
    b.prompt_text().await;
    b.accept_prompt().await;
    b.wait_text("#links-body", "No links match").await;
    assert!(link_by_slug(&admin, "docs").await.is_none());

    // ---- Deleting a domain that still has links: 409 explained, then force ----
    b.goto("/ui/domains").await;
    b.wait_text("#domains-body tr[data-hostname=\"go.example.com\"]", "25")
        .await;
    b.click_button(
        "#domains-body tr[data-hostname=\"go.example.com\"]",
        "Delete",
    )
    .await;
    b.prompt_text().await;
    b.accept_prompt().await;
    b.visible("#domain-conflict").await;
    let explain = b.text("#domain-conflict-explain").await;
    assert!(explain.contains("still has 25 links"), "{explain}");
    assert_eq!(domains(&admin).await.len(), 2, "nothing deleted yet");
    b.click_button("#domain-conflict", "Delete Domain and Its Links")
        .await;
    b.hidden("#domain-conflict").await;
    wait_rows(&b, "#domains-body tr", 1).await;
    assert_eq!(domains(&admin).await, ["spare.example.com"]);
    let left = expect(admin.get("/api/v1/links").send().await.unwrap(), 200).await;
    assert_eq!(left["total"], 0, "the domain's links went with it");

    // A domain without links goes at once after OK.
    b.click_button(
        "#domains-body tr[data-hostname=\"spare.example.com\"]",
        "Delete",
    )
    .await;
    b.prompt_text().await;
    b.accept_prompt().await;
    b.wait_text("#domains-body", "No domains yet").await;
    assert!(domains(&admin).await.is_empty());
    b.close().await;
}
