//! The guide's "Understanding API Documentation" on the Manual Integration page, and Swagger UI:
//! expand a group, read an endpoint, copy LLM.txt and openapi.json, authorize and try it out.

use serde_json::{json, Value};

use crate::support::browser::Browser;
use crate::support::spawn_app;

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

#[tokio::test]
async fn api_documentation_section_expands_groups_shows_endpoints_and_copies_documents() {
    let app = spawn_app().await;
    let served_openapi = app.text("/api/openapi.json").await;
    let served_llms = app.text("/api/llms-full.txt").await;
    let doc: Value = serde_json::from_str(&served_openapi).unwrap();
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;

    // Step: View Documentation.
    b.goto("/ui/integrations/manual").await;
    assert_eq!(b.text("#api-docs h2").await, "API Documentation");
    b.wait_text("#api-docs-status", "endpoints in").await;

    // Every documented operation has its entry, grouped by tag.
    let mut count = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS.iter().filter(|m| item.get(**m).is_some()) {
            count += 1;
            let tag = item[*m]["tags"][0].as_str().unwrap();
            let css = format!(
                "details.doc-group[data-tag=\"{tag}\"] article.endpoint[data-method=\"{}\"][data-path=\"{path}\"]",
                m.to_uppercase()
            );
            assert!(b.exists(&css).await, "no entry {css}");
        }
    }
    let shown = b
        .eval(
            "return document.querySelectorAll('#api-docs article.endpoint').length;",
            vec![],
        )
        .await;
    assert_eq!(shown, json!(count));

    // Step: Explore Endpoints — groups start closed and expand on click.
    let links = "details.doc-group[data-tag=\"Links\"]";
    let create =
        format!("{links} article.endpoint[data-method=\"POST\"][data-path=\"/api/v1/links\"]");
    b.hidden(&create).await;
    b.click(&format!("{links} > summary")).await;
    let article = b.visible(&create).await;
    assert!(article.is_displayed().await.unwrap());

    let op = &doc["paths"]["/api/v1/links"]["post"];
    let title = b.text(&format!("{create} .endpoint-title")).await;
    assert!(
        title.contains("POST") && title.contains("/api/v1/links"),
        "{title}"
    );
    // The description's Markdown is formatting: `slug` is code, not backticks.
    assert_eq!(
        b.text(&format!("{create} .description")).await,
        op["description"].as_str().unwrap().replace('`', "")
    );
    assert_eq!(b.text(&format!("{create} .description code")).await, "slug");
    let auth = b.text(&format!("{create} .auth")).await;
    assert!(
        auth.contains("API key") && auth.contains("session cookie"),
        "{auth}"
    );
    assert_eq!(
        b.text(&format!("{create} .path-params .none")).await,
        "None."
    );
    let body = b.text(&format!("{create} .request-body")).await;
    for field in [
        "domain",
        "destination_url",
        "slug",
        "redirect_code",
        "expires_at",
    ] {
        assert!(body.contains(field), "request body lacks {field}: {body}");
    }
    let dest = b
        .text(&format!(
            "{create} .request-body tr[data-field=\"destination_url\"]"
        ))
        .await;
    assert!(
        dest.contains("string") && dest.contains("required"),
        "{dest}"
    );
    let responses = b.text(&format!("{create} .responses")).await;
    for status in op["responses"].as_object().unwrap().keys() {
        assert!(
            responses.contains(status.as_str()),
            "response {status} missing: {responses}"
        );
    }
    assert!(
        responses.contains("short_url"),
        "response schema fields missing: {responses}"
    );
    let curl = b.text(&format!("{create} pre.curl")).await;
    assert!(
        curl.starts_with("curl -X POST 'http://127.0.0.1:8080/api/v1/links'"),
        "{curl}"
    );
    assert!(curl.contains("Authorization: Bearer"), "{curl}");
    assert!(b
        .text(&format!("{create} pre.json"))
        .await
        .contains("\"short_url\""));

    // Path and query parameters.
    let show = format!(
        "{links} article.endpoint[data-method=\"GET\"][data-path=\"/api/v1/links/{{id}}\"]"
    );
    assert!(b.text(&format!("{show} .path-params")).await.contains("id"));
    let list =
        format!("{links} article.endpoint[data-method=\"GET\"][data-path=\"/api/v1/links\"]");
    let query = b.text(&format!("{list} .query-params")).await;
    for p in ["limit", "offset", "search", "domain", "tag"] {
        assert!(query.contains(p), "query parameter {p} missing: {query}");
    }

    // "Try in Playground" hands the endpoint to whoever listens.
    b.eval(
        "window.__tried = null; document.addEventListener('linkdock:try-endpoint', e => { window.__tried = e.detail; });",
        vec![],
    )
    .await;
    b.click(&format!("{create} button.try-endpoint")).await;
    let tried = b
        .eval(
            "return window.__tried && [window.__tried.method, window.__tried.path];",
            vec![],
        )
        .await;
    assert_eq!(tried, json!(["POST", "/api/v1/links"]));

    // Step: Copy Documentation.
    b.click_button("#api-docs", "Copy LLM.txt").await;
    b.wait_text("#api-docs-status", "LLM.txt copied").await;
    assert!(
        b.clipboard().await == served_llms,
        "clipboard differs from /api/llms-full.txt"
    );
    b.click_button("#api-docs", "Copy openapi.json").await;
    b.wait_text("#api-docs-status", "openapi.json copied").await;
    assert!(
        b.clipboard().await == served_openapi,
        "clipboard differs from /api/openapi.json"
    );
    b.close().await;
}

#[tokio::test]
async fn swagger_ui_authorizes_with_an_api_key_and_tries_a_request() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let created = admin
        .post_json("/api/v1/api-keys", json!({"name": "swagger"}), 201)
        .await;
    let key = created["key"].as_str().unwrap().to_owned();
    let Some(b) = Browser::start(&app).await else {
        return;
    };

    // Not signed in: the key alone authorizes the request.
    b.goto("/swagger-ui/").await;
    b.click(".swagger-ui .auth-wrapper .btn.authorize").await;
    b.fill(
        ".swagger-ui .dialog-ux input[aria-label=\"auth-bearer-value\"]",
        &key,
    )
    .await;
    b.click(".swagger-ui .dialog-ux .auth-btn-wrapper .btn.authorize")
        .await;
    b.visible(".swagger-ui .dialog-ux .btn.modal-btn.auth.btn-done, .swagger-ui .dialog-ux button.btn-done").await;
    b.click(".swagger-ui .dialog-ux button.btn-done").await;
    b.hidden(".swagger-ui .dialog-ux").await;

    let op =
        ".swagger-ui .opblock-get:has(.opblock-summary-path[data-path=\"/api/v1/keys/current\"])";
    b.click(&format!("{op} .opblock-summary-path")).await;
    b.click(&format!("{op} .try-out__btn")).await;
    b.click(&format!("{op} .btn.execute")).await;
    let status = b
        .wait_text(
            &format!("{op} .live-responses-table .response .response-col_status"),
            "200",
        )
        .await;
    assert!(status.trim().starts_with("200"), "{status}");
    let body = b
        .wait_text(
            &format!("{op} .live-responses-table .response-col_description"),
            "swagger",
        )
        .await;
    assert!(body.contains("\"name\""), "{body}");
    let curl = b.text(&format!("{op} .curl-command")).await;
    assert!(curl.contains("Authorization: Bearer"), "{curl}");
    b.close().await;
}

#[tokio::test]
async fn every_endpoint_has_copyable_samples_in_four_languages_and_the_docs_pass_axe() {
    let app = spawn_app().await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    for (width, height, scheme) in [(1280, 900, "light"), (390, 844, "dark")] {
        b.resize(width, height).await;
        b.color_scheme(scheme).await;
        b.goto("/ui/integrations/manual").await;
        b.wait_text("#api-docs-status", "endpoints in").await;
        // Every group expanded, by clicking each one's summary.
        let groups = b
            .client
            .find_all(fantoccini::Locator::Css(
                "#api-docs-groups details.doc-group > summary",
            ))
            .await
            .unwrap();
        for g in &groups {
            g.click().await.unwrap();
        }
        let closed = b
            .eval(
                "return document.querySelectorAll('#api-docs-groups details.doc-group:not([open])').length;",
                vec![],
            )
            .await;
        assert_eq!(closed, json!(0));

        // Each endpoint: a sample block with cURL, Python, JavaScript and Go, and every code
        // block of the docs a Copy button.
        let check = b
            .eval(
                "const arts = Array.from(document.querySelectorAll('#api-docs article.endpoint'));
                 const langs = arts.map(a => Array.from(a.querySelectorAll('.examples .sample-langs button')).map(x => x.textContent).join(','));
                 const pres = Array.from(document.querySelectorAll('#api-docs pre'));
                 return {
                   endpoints: arts.length,
                   langs: Array.from(new Set(langs)),
                   pres: pres.length,
                   copyable: pres.filter(p => p.closest('.code-samples') && p.closest('.code-samples').querySelector('button.sample-copy')).length,
                   focusable: pres.filter(p => p.tabIndex === 0).length,
                   raw: (document.getElementById('api-docs').innerText.match(/`/g) || []).length,
                 };",
                vec![],
            )
            .await;
        assert!(check["endpoints"].as_u64().unwrap() > 10, "{check}");
        assert_eq!(
            check["langs"],
            json!(["cURL,Python,JavaScript,Go"]),
            "{check}"
        );
        assert_eq!(
            check["copyable"], check["pres"],
            "a Copy button on every code block: {check}"
        );
        assert_eq!(
            check["focusable"], check["pres"],
            "every code block reachable by keyboard: {check}"
        );
        assert_eq!(
            check["raw"],
            json!(0),
            "no raw Markdown on the page: {check}"
        );
        b.assert_accessible(&format!(
            "the API documentation, all groups expanded, at {width}px {scheme}"
        ))
        .await;
        b.assert_page_hygiene("the API documentation", width, scheme)
            .await;
    }
    b.resize(1280, 900).await;

    // Picking Python in one block picks it everywhere; Copy copies what is shown.
    let create = "details.doc-group[data-tag=\"Links\"] article.endpoint[data-method=\"POST\"][data-path=\"/api/v1/links\"]";
    b.click_button(&format!("{create} .sample-langs"), "Python")
        .await;
    let python = b.text(&format!("{create} pre.python")).await;
    assert!(python.contains("import requests"), "{python}");
    assert!(
        python.contains("\"Authorization\": \"Bearer \" + os.environ[\"LINKDOCK_API_KEY\"]"),
        "{python}"
    );
    assert!(
        b.exists("article.endpoint[data-path=\"/api/v1/domains\"] pre.python")
            .await,
        "the choice holds for every endpoint"
    );
    b.click_button(&format!("{create} .examples .sample-bar"), "Copy")
        .await;
    b.wait_text(&format!("{create} .sample-status"), "Python copied")
        .await;
    assert_eq!(b.clipboard().await, python);
    for (lang, needle) in [
        (
            "JavaScript",
            "await fetch(\"http://127.0.0.1:8080/api/v1/links\"",
        ),
        (
            "Go",
            "http.NewRequest(\"POST\", \"http://127.0.0.1:8080/api/v1/links\"",
        ),
        ("cURL", "curl -X POST 'http://127.0.0.1:8080/api/v1/links'"),
    ] {
        b.click_button(&format!("{create} .sample-langs"), lang)
            .await;
        let shown = b.text(&format!("{create} .examples pre.sample")).await;
        assert!(shown.contains(needle), "{lang}: {shown}");
    }
    // The example response has its Copy button too.
    b.click_button(
        &format!("{create} .examples .code-samples:last-of-type .sample-bar"),
        "Copy",
    )
    .await;
    b.wait_text(
        &format!("{create} .examples .code-samples:last-of-type .sample-status"),
        "Copied",
    )
    .await;
    assert!(b.clipboard().await.contains("\"short_url\""));
    b.close().await;
}

#[tokio::test]
async fn swagger_ui_tries_a_post_with_the_session_and_passes_axe() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    b.goto("/swagger-ui/").await;
    let op = ".swagger-ui .opblock-post:has(.opblock-summary-path[data-path=\"/api/v1/domains\"])";
    b.visible(&format!("{op} .opblock-summary-path")).await;
    b.wait_text(".swagger-auth-note", "Signed in as admin")
        .await;
    for (width, height, scheme) in [(1280, 900, "light"), (390, 844, "dark")] {
        b.resize(width, height).await;
        b.color_scheme(scheme).await;
        b.assert_no_serious_violations(&format!("Swagger UI at {width}px {scheme}"))
            .await;
    }
    b.resize(1280, 900).await;

    // Signed in, no key: "Try it out" on an unsafe method goes through with the session.
    b.click(&format!("{op} .opblock-summary-path")).await;
    b.click(&format!("{op} .try-out__btn")).await;
    b.fill(
        &format!("{op} textarea.body-param__text"),
        r#"{"hostname": "swagger.example.com"}"#,
    )
    .await;
    b.assert_no_serious_violations("Swagger UI with an operation open to try")
        .await;
    b.click(&format!("{op} .btn.execute")).await;
    let status = b
        .wait_text(
            &format!("{op} .live-responses-table .response .response-col_status"),
            "20",
        )
        .await;
    assert!(status.trim().starts_with("201"), "{status}");
    let domains = crate::support::call(admin.get("/api/v1/domains"), 200).await;
    assert!(
        domains.to_string().contains("swagger.example.com"),
        "{domains}"
    );
    b.close().await;
}

/// `navigator.clipboard` is missing outside a secure context (plain http on a LAN name).
const NO_CLIPBOARD: &str =
    "Object.defineProperty(navigator, 'clipboard', { value: undefined, configurable: true });";

#[tokio::test]
async fn copy_buttons_work_without_the_clipboard_api_and_otherwise_say_press_ctrl_c() {
    let app = spawn_app().await;
    let served_llms = app.text("/api/llms-full.txt").await;
    let served_openapi = app.text("/api/openapi.json").await;
    let admin = app.admin().await;
    admin
        .post_json(
            "/api/v1/domains",
            json!({"hostname": "go.example.com"}),
            201,
        )
        .await;
    admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "go.example.com", "slug": "copied", "destination_url": "https://example.org/"}),
            201,
        )
        .await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    // The system clipboard, read through the real API once the page's stand-in is gone.
    let clipboard = || async {
        b.eval("delete navigator.clipboard;", vec![]).await;
        let text = b.clipboard().await;
        b.eval(NO_CLIPBOARD, vec![]).await;
        text
    };

    b.goto("/ui/integrations/manual").await;
    b.wait_text("#api-docs-status", "endpoints in").await;
    b.eval(NO_CLIPBOARD, vec![]).await;
    b.click_button("#api-docs", "Copy LLM.txt").await;
    b.wait_text("#api-docs-status", "LLM.txt copied").await;
    assert!(
        clipboard().await == served_llms,
        "clipboard differs from /api/llms-full.txt"
    );

    // Nothing may copy: the text stays selected in a box beside the button, and the page says
    // to press Ctrl+C.
    b.eval("document.execCommand = () => false;", vec![]).await;
    b.click_button("#api-docs", "Copy openapi.json").await;
    b.wait_text("#api-docs-status", "press Ctrl+C").await;
    let shown = b
        .eval(
            "const box = document.querySelector('textarea.copy-by-hand');
             return box && [box.value === arguments[0], document.activeElement === box,
                            box.selectionStart === 0 && box.selectionEnd === box.value.length,
                            box.getBoundingClientRect().width > 100];",
            vec![json!(served_openapi)],
        )
        .await;
    assert_eq!(
        shown,
        json!([true, true, true, true]),
        "the box to copy by hand"
    );
    b.assert_accessible("Manual Integration with the copy-by-hand box")
        .await;

    // A short link's Copy, over the same helper.
    b.goto("/ui/links").await;
    b.wait_text("#links-body", "copied").await;
    b.eval(NO_CLIPBOARD, vec![]).await;
    b.click_button("#links-body tr", "Copy").await;
    b.wait_text("#links-status", "Copied").await;
    assert!(
        clipboard().await.ends_with("/copied"),
        "clipboard holds the short URL"
    );
    b.close().await;
}
