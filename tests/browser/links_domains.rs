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

    // ---- Deleting a domain that still has links: one dialog says so and offers the action
    // that can succeed ----
    b.goto("/ui/domains").await;
    b.wait_text("#domains-body tr[data-hostname=\"go.example.com\"]", "25")
        .await;
    b.click_button(
        "#domains-body tr[data-hostname=\"go.example.com\"]",
        "Delete",
    )
    .await;
    b.visible("#domain-delete").await;
    let explain = b.text("#domain-delete-explain").await;
    assert!(explain.contains("still has 25 links"), "{explain}");
    assert!(
        !explain.contains("force") && !explain.contains("link(s)"),
        "{explain}"
    );
    b.hidden("#domain-delete-only").await;
    b.hidden("#domain-delete-keys-link").await;
    assert_eq!(domains(&admin).await.len(), 2, "nothing deleted yet");
    b.click_button("#domain-delete", "Delete Domain and Its Links")
        .await;
    b.hidden("#domain-delete").await;
    wait_rows(&b, "#domains-body tr", 1).await;
    assert_eq!(domains(&admin).await, ["spare.example.com"]);
    let left = expect(admin.get("/api/v1/links").send().await.unwrap(), 200).await;
    assert_eq!(left["total"], 0, "the domain's links went with it");

    // A domain without links: the dialog offers only "Delete Domain".
    b.click_button(
        "#domains-body tr[data-hostname=\"spare.example.com\"]",
        "Delete",
    )
    .await;
    b.wait_text("#domain-delete-explain", "has no links").await;
    b.hidden("#domain-delete-links").await;
    b.click_button("#domain-delete", "Delete Domain").await;
    b.wait_text("#domains-body", "No domains yet").await;
    assert!(domains(&admin).await.is_empty());
    b.close().await;
}

/// Let Chromium save downloads into `dir` (headless Chromium refuses them otherwise).
pub(crate) async fn allow_downloads(b: &Browser, dir: &std::path::Path) {
    b.cdp(
        "Browser.setDownloadBehavior",
        json!({"behavior": "allow", "downloadPath": dir.to_str().unwrap()}),
    )
    .await;
}

/// Wait for a finished download in `dir`; its name and text.
pub(crate) async fn downloaded(dir: &std::path::Path) -> (String, String) {
    eventually(WAIT_SECS, || async {
        let files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        // Chromium reserves the final name with an empty file while it writes to a
        // `.crdownload` beside it: the download is done when that one is gone.
        if files
            .iter()
            .any(|p| p.extension().is_some_and(|x| x == "crdownload"))
        {
            return Err(format!("still downloading: {files:?}"));
        }
        let done: Vec<_> = files
            .iter()
            .filter(|p| p.extension().is_some_and(|x| x == "csv"))
            .collect();
        match done.as_slice() {
            [one] => match std::fs::read_to_string(one).unwrap() {
                text if text.is_empty() => Err(format!("{one:?} is still empty")),
                text => Ok((
                    one.file_name().unwrap().to_string_lossy().into_owned(),
                    text,
                )),
            },
            other => Err(format!("downloads: {other:?}")),
        }
    })
    .await
}

#[tokio::test]
async fn an_import_names_failed_rows_by_spreadsheet_row_and_shows_failures_as_errors() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin
        .post_json(
            "/api/v1/domains",
            json!({"hostname": "go.example.com"}),
            201,
        )
        .await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    // Saved by Excel on Windows: CRLF line ends. The bad row is row 3 in the spreadsheet.
    let csv = app.dir.path().join("excel.csv");
    std::fs::write(
        &csv,
        "slug,destination_url\r\n\
         good-1,https://example.org/1\r\n\
         bad,javascript:alert(1)\r\n\
         good-2,https://example.org/2\r\n",
    )
    .unwrap();
    for (width, height, scheme) in [(1280, 900, "light"), (390, 844, "dark")] {
        b.resize(width, height).await;
        b.color_scheme(scheme).await;
        b.goto("/ui/links").await;
        b.click_button("header.page-header", "Import CSV").await;
        b.visible("#import-dialog").await;
        b.find("#import-file")
            .await
            .send_keys(csv.to_str().unwrap())
            .await
            .unwrap();
        b.find("#import-domain")
            .await
            .select_by_value("go.example.com")
            .await
            .unwrap();
        b.click_button("#import-dialog", "Import").await;
        b.visible("#import-result").await;
        b.wait_text("#import-counts", "1 row failed").await;
        let errors = b.text("#import-errors").await;
        assert!(
            errors.starts_with("Row 3: The destination URL must"),
            "{errors}"
        );
        // The failure count is in the error colours, the other counts are not; the status
        // line says it as an error too, never in the success green.
        let looks = b
            .eval(
                "const color = (v) => { const p = document.createElement('span'); \
                   p.style.color = `var(${v})`; document.body.append(p); \
                   const c = getComputedStyle(p).color; p.remove(); return c; }; \
                 const li = (k) => document.querySelector(`#import-counts [data-count=${k}]`); \
                 const status = document.getElementById('links-status'); \
                 return { failed: getComputedStyle(li('failed')).color, \
                   failedClass: li('failed').className, createdClass: li('created').className, \
                   danger: color('--danger'), ok: color('--ok'), \
                   status: getComputedStyle(status).color, statusText: status.textContent };",
                vec![],
            )
            .await;
        assert_eq!(looks["failedClass"], "import-failed", "{looks}");
        assert_eq!(looks["createdClass"], "", "{looks}");
        assert_eq!(looks["failed"], looks["danger"], "{looks}");
        assert_ne!(looks["danger"], looks["ok"], "{looks}");
        assert_eq!(looks["status"], looks["danger"], "{looks}");
        assert!(
            looks["statusText"].as_str().unwrap().contains("1 failed"),
            "{looks}"
        );
        b.assert_accessible(&format!(
            "an import with a failed row at {width}px {scheme}"
        ))
        .await;
        b.click_button("#import-dialog", "Close").await;
        b.hidden("#import-dialog").await;
        // Rows 2 and 4 were created, whichever pass this is (the second skips them).
        assert!(link_by_slug(&admin, "good-2").await.is_some());
    }
    b.close().await;
}

#[tokio::test]
async fn csv_import_and_export_from_the_links_page() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for host in ["go.example.com", "b.example.com"] {
        admin
            .post_json("/api/v1/domains", json!({"hostname": host}), 201)
            .await;
    }
    admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "go.example.com", "slug": "taken", "destination_url": "https://example.org/taken"}),
            201,
        )
        .await;
    admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "b.example.com", "slug": "bee", "destination_url": "https://example.org/bee"}),
            201,
        )
        .await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    let today = &time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()[..10];

    for (width, height, scheme) in [(1280, 900, "light"), (390, 844, "dark")] {
        b.resize(width, height).await;
        b.color_scheme(scheme).await;
        b.goto("/ui/links").await;
        b.wait_text("#links-body", "taken").await;

        // "Import CSV" opens a dialog with a file picker, the columns and an example.
        b.click_button("header.page-header", "Import CSV").await;
        b.visible("#import-dialog").await;
        assert_eq!(b.focused().await, "input#import-file");
        let help = b.text("#import-dialog .csv-help").await;
        for column in [
            "domain",
            "slug",
            "destination_url",
            "title",
            "tags",
            "redirect_code",
            "expires_at",
        ] {
            assert!(help.contains(column), "column {column} missing: {help}");
        }
        assert!(b
            .text("#import-example")
            .await
            .starts_with("domain,slug,destination_url,title,tags,redirect_code,expires_at\n"));
        b.assert_accessible(&format!("the Import CSV dialog at {width}px {scheme}"))
            .await;
        b.click_button("#import-dialog", "Import").await;
        b.wait_text("[data-error-for=\"file\"]", "Choose a CSV file")
            .await;

        let csv = app.dir.path().join(format!("import-{width}.csv"));
        let long = "t".repeat(201);
        std::fs::write(
            &csv,
            format!(
                "slug,destination_url,title,redirect_code\n\
                 new-{width},https://example.org/new,New,\n\
                 taken,https://example.org/again,,\n\
                 bad-url-{width},javascript:alert(1),,\n\
                 bad-code-{width},https://example.org/code,,abc\n\
                 two-bad-{width},ftp://example.org/x,{long},\n\
                 gen-{width},https://example.org/gen,,307\n"
            ),
        )
        .unwrap();
        b.find("#import-file")
            .await
            .send_keys(csv.to_str().unwrap())
            .await
            .unwrap();
        b.hidden("[data-error-for=\"file\"]").await; // fixed: the error goes
        b.find("#import-domain")
            .await
            .select_by_value("go.example.com")
            .await
            .unwrap();
        b.click_button("#import-dialog", "Import").await;
        b.visible("#import-result").await;
        let counts = b.text("#import-counts").await;
        assert!(
            counts.contains("2 links created")
                && counts.contains("1 skipped")
                && counts.contains("3 rows failed"),
            "{counts}"
        );
        let errors = b.text("#import-errors").await;
        assert!(
            errors.contains("Row 4: The destination URL must"),
            "{errors}"
        );
        assert!(
            errors.contains("Row 5: The redirect code must be a whole number"),
            "{errors}"
        );
        assert!(
            errors.contains("Row 6: The destination URL must start with http:// or https://. The title must be at most 200 characters long."),
            "two reasons, each in words: {errors}"
        );
        let dialog = b.text("#import-dialog").await;
        for raw in ["`", "destination_url:", "redirect_code:", "?domain="] {
            assert!(
                !dialog.contains(raw),
                "API text {raw:?} on the page: {dialog}"
            );
        }
        b.assert_accessible(&format!("the import result at {width}px {scheme}"))
            .await;
        b.screenshot(&format!("import-result-{width}-{scheme}"))
            .await;
        b.click_button("#import-dialog", "Close").await;
        b.hidden("#import-dialog").await;
        b.wait_text("#links-body", &format!("new-{width}")).await;
        assert!(link_by_slug(&admin, &format!("gen-{width}"))
            .await
            .is_some_and(|l| l["domain"] == "go.example.com" && l["redirect_code"] == 307));
    }
    b.resize(1280, 900).await;

    // More failures than the server lists (the first 100): "and N more".
    b.click_button("header.page-header", "Import CSV").await;
    let csv = app.dir.path().join("many.csv");
    let rows: String = (0..103)
        .map(|i| format!("go.example.com,bad-{i},ftp://example.org/{i}\n"))
        .collect();
    std::fs::write(&csv, format!("domain,slug,destination_url\n{rows}")).unwrap();
    b.find("#import-file")
        .await
        .send_keys(csv.to_str().unwrap())
        .await
        .unwrap();
    b.click_button("#import-dialog", "Import").await;
    b.wait_text("#import-counts", "103 rows failed").await;
    b.wait_text(
        "#import-errors",
        "Row 2: The destination URL must start with",
    )
    .await;
    let listed = b
        .eval(
            "return document.querySelectorAll('#import-errors li').length;",
            vec![],
        )
        .await;
    assert_eq!(listed, json!(100));
    b.wait_text("#import-more", "and 3 more rows that failed")
        .await;
    b.click_button("#import-dialog", "Close").await;

    // "Export CSV" downloads the links of the Domain filter, named after it and the date.
    let dir = tempfile::tempdir().unwrap();
    allow_downloads(&b, dir.path()).await;
    b.find("#links-domain")
        .await
        .select_by_value("b.example.com")
        .await
        .unwrap();
    b.wait_text("#links-range", "of 1").await;
    b.click_button("header.page-header", "Export CSV").await;
    let (name, text) = downloaded(dir.path()).await;
    assert_eq!(name, format!("links-b.example.com-{today}.csv"));
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("b.example.com,bee,"), "{text}");
    std::fs::remove_file(dir.path().join(&name)).unwrap();
    b.find("#links-domain")
        .await
        .select_by_value("")
        .await
        .unwrap();
    b.click_button("header.page-header", "Export CSV").await;
    let (name, text) = downloaded(dir.path()).await;
    assert_eq!(name, format!("links-all-{today}.csv"));
    assert_eq!(text.lines().count(), 7, "every link: {text}");
    b.close().await;
}

#[tokio::test]
async fn deleting_a_domain_that_keys_are_scoped_to_names_the_keys_and_offers_only_what_can_succeed()
{
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "go.example.com", "destination_url": "https://example.org/one"}),
            201,
        )
        .await;
    for name in ["CI", "Deploy bot"] {
        admin
            .post_json(
                "/api/v1/api-keys",
                json!({"name": name, "domains": ["go.example.com"]}),
                201,
            )
            .await;
    }
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    for (width, height, scheme) in [(1280, 900, "light"), (390, 844, "dark")] {
        b.resize(width, height).await;
        b.color_scheme(scheme).await;
        b.goto("/ui/domains").await;
        b.click_button(
            "#domains-body tr[data-hostname=\"go.example.com\"]",
            "Delete",
        )
        .await;
        b.visible("#domain-delete").await;
        let explain = b.text("#domain-delete-explain").await;
        assert!(
            explain.contains("cannot be deleted")
                && explain.contains("the API keys “CI” and “Deploy bot” are scoped to it")
                && explain.contains("1 link"),
            "{explain}"
        );
        // Each key by name and prefix (see key_dialogs.rs for a rolled key and its successor).
        let listed = b.text("#domain-delete-keys").await;
        let names: Vec<&str> = listed
            .lines()
            .map(|l| l.split(" ldk_").next().unwrap())
            .collect();
        assert_eq!(names, ["CI", "Deploy bot"], "{listed}");
        assert_eq!(listed.matches("ldk_").count(), 2, "{listed}");
        // Only the way that can succeed: no delete button at all.
        b.hidden("#domain-delete-links").await;
        b.hidden("#domain-delete-only").await;
        b.visible("#domain-delete-keys-link").await;
        let text = b.text("#domain-delete").await;
        for raw in ["`", "?force=true", "link(s)"] {
            assert!(!text.contains(raw), "API text {raw:?}: {text}");
        }
        b.assert_accessible(&format!("the domain delete dialog at {width}px {scheme}"))
            .await;
        b.screenshot(&format!("domain-delete-{width}-{scheme}"))
            .await;
        b.click_button("#domain-delete", "Cancel").await;
        b.hidden("#domain-delete").await;
    }
    b.click_button(
        "#domains-body tr[data-hostname=\"go.example.com\"]",
        "Delete",
    )
    .await;
    b.click_button("#domain-delete", "Go to API Keys").await;
    b.wait_for_path(|p| p == "/ui/integrations/api-keys").await;
    assert_eq!(domains(&admin).await, ["go.example.com"]);
    b.close().await;
}
