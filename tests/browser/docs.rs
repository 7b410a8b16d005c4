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
    let served_llms = app.text("/api/llms.txt").await;
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
    assert_eq!(
        b.text(&format!("{create} .description")).await,
        op["description"].as_str().unwrap()
    );
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
        "clipboard differs from /api/llms.txt"
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
