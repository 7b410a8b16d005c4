//! The guide's "Using the API Playground" on the Manual Integration page, step by step in
//! Chromium: paste a scoped key, build and send requests, copy cURL and the response, and use
//! the Request History; every effect is checked through the HTTP API.

use serde_json::{json, Value};

use crate::support::browser::Browser;
use crate::support::{expect, spawn_app, Session};

/// A scoped key (go.example.com only) and the two domains.
async fn scoped_key(admin: &Session) -> String {
    for host in ["go.example.com", "other.example.com"] {
        admin
            .post_json("/api/v1/domains", json!({"hostname": host}), 201)
            .await;
    }
    let created = admin
        .post_json(
            "/api/v1/api-keys",
            json!({"name": "Playground key", "domains": ["go.example.com"]}),
            201,
        )
        .await;
    created["key"].as_str().unwrap().to_owned()
}

async fn history(admin: &Session) -> Value {
    expect(
        admin
            .get("/api/v1/playground/history?limit=100")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await
}

/// Choose `id` ("METHOD /path") in Select Endpoint, once the document has filled it.
pub async fn select_endpoint(b: &Browser, id: &str) {
    b.find(&format!("#pg-endpoint option[value=\"{id}\"]"))
        .await;
    b.find("#pg-endpoint")
        .await
        .select_by_value(id)
        .await
        .unwrap_or_else(|e| panic!("select {id}: {e}"));
    assert_eq!(b.value("#pg-endpoint").await, id);
}

async fn send_disabled(b: &Browser) -> bool {
    b.eval(
        "return document.getElementById('pg-send').disabled;",
        vec![],
    )
    .await
        == json!(true)
}

/// Wait until the response of the `n`th request of this page is shown; returns its status text.
async fn response_number(b: &Browser, n: u32) -> String {
    b.visible(&format!("#pg-response[data-request=\"{n}\"]"))
        .await;
    b.text("#pg-status").await
}

async fn status_class(b: &Browser) -> String {
    b.eval(
        "return document.getElementById('pg-status').className;",
        vec![],
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

/// Run a copied cURL command (when curl is installed) and return the HTTP status it got.
fn run_curl(command: &str) -> Option<String> {
    if !std::path::Path::new("/usr/bin/curl").exists() {
        eprintln!("curl not installed: the copied command is checked as text only");
        return None;
    }
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{command} -s -o /dev/null -w '%{{http_code}}' --max-time 10"
        ))
        .output()
        .expect("run sh");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Count this page's calls of GET /api/v1/keys/current from now on (see `key_checks`).
async fn count_key_checks(b: &Browser) {
    b.eval(
        "const real = window.fetch;
         window.__keyChecks = 0;
         window.fetch = function (url, init) {
           if (String(url).endsWith('/api/v1/keys/current')) window.__keyChecks += 1;
           return real.apply(this, arguments);
         };",
        vec![],
    )
    .await;
}

async fn key_checks(b: &Browser) -> u64 {
    b.eval("return window.__keyChecks;", vec![])
        .await
        .as_u64()
        .unwrap()
}

/// A well-formed key that no server knows, from `linkdock key generate`.
fn generated_key() -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_linkdock"))
        .args(["key", "generate"])
        .output()
        .expect("linkdock key generate");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim()
        .to_owned()
}

fn shown_body_script() -> &'static str {
    "return document.getElementById('pg-response-body').textContent;"
}

#[tokio::test]
async fn playground_sends_requests_with_a_scoped_key_copies_them_and_keeps_a_history() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let key = scoped_key(&admin).await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;

    // Step: Navigate to Manual Integration, through the sidebar.
    b.goto("/ui/").await;
    b.click("nav.sidebar details.group > summary").await;
    b.click("nav.sidebar a[href=\"/ui/integrations/manual\"]")
        .await;
    b.wait_for_path(|p| p == "/ui/integrations/manual").await;
    assert_eq!(b.text("#api-playground h2").await, "API Playground");
    assert_eq!(b.text("#request-history h2").await, "Request History");
    b.wait_text("#pg-history-list", "No requests yet").await;
    b.wait_text("#pg-auth-mode", "session").await;

    // Step: Enter API Key → the key is checked and described, with the scope warning.
    assert_eq!(b.text("label[for=pg-key]").await, "API Key");
    b.fill("#pg-key", &key).await;
    let info = b.wait_text("#pg-key-info", "Valid key").await;
    for part in [
        "Playground key",
        &key[..12],
        "active",
        "Never",
        "All IP addresses",
        "go.example.com",
    ] {
        assert!(info.contains(part), "key info lacks {part}: {info}");
    }
    assert!(!info.contains(&key), "the key itself is shown: {info}");
    let warning = b.visible("#pg-scope-warning").await.text().await.unwrap();
    assert!(warning.contains("go.example.com"), "{warning}");
    b.wait_text("#pg-auth-mode", "API key").await;
    b.screenshot("playground-key").await;

    // Step: Select Endpoint → the request builder appears, with a JSON body editor.
    assert_eq!(b.text("label[for=pg-endpoint]").await, "Select Endpoint");
    assert!(
        send_disabled(&b).await,
        "Send is enabled before an endpoint"
    );
    let groups = b
        .eval(
            "return Array.from(document.querySelectorAll('#pg-endpoint optgroup')).map(g => g.label);",
            vec![],
        )
        .await;
    assert!(
        groups.as_array().unwrap().contains(&json!("Links")),
        "{groups}"
    );
    select_endpoint(&b, "POST /api/v1/links").await;
    b.visible("#pg-builder").await;
    b.visible("#pg-body").await;
    assert!(
        b.value("#pg-body").await.contains("destination_url"),
        "body not prefilled with the example"
    );

    // Invalid JSON: a visible error, and Send disabled.
    b.fill("#pg-body", "{\"domain\": ").await;
    let error = b.visible("#pg-body-error").await.text().await.unwrap();
    assert!(error.contains("Invalid JSON"), "{error}");
    assert!(send_disabled(&b).await, "Send is enabled with invalid JSON");

    let body = r#"{"domain": "go.example.com", "destination_url": "https://example.org/playground", "slug": "pg-one", "title": "From the playground"}"#;
    b.fill("#pg-body", body).await;
    b.hidden("#pg-body-error").await;
    assert!(
        !send_disabled(&b).await,
        "Send stays disabled with valid JSON"
    );

    // Step: Review Request.
    assert_eq!(b.text("#pg-preview-title").await, "Request Preview");
    assert_eq!(b.text("#pg-preview-method").await, "POST");
    assert_eq!(
        b.text("#pg-preview-url").await,
        app.url("/api/v1/links"),
        "preview URL"
    );
    let headers = b.text("#pg-preview-headers").await;
    assert!(
        headers.contains(&format!("Authorization: Bearer {}…", &key[..12])),
        "{headers}"
    );
    assert!(!headers.contains(&key), "preview shows the key: {headers}");
    assert!(b.text("#pg-preview-body").await.contains("pg-one"));

    // Step: Send Request → "Sending..." while in flight (the test holds the request), then 201.
    b.eval(
        "window.__hold = new Promise(r => { window.__release = r; });
         const real = window.fetch;
         window.fetch = async function (url, init) {
           if (String(url).endsWith('/api/v1/links') && init && init.method === 'POST') {
             window.__held = true; await window.__hold; window.fetch = real;
           }
           return real.apply(this, arguments);
         };",
        vec![],
    )
    .await;
    assert_eq!(b.text("#pg-send").await, "Send Request");
    b.click("#pg-send").await;
    b.wait_text("#pg-send", "Sending...").await;
    assert!(send_disabled(&b).await, "Send is enabled while sending");
    b.eval("window.__release();", vec![]).await;
    let status = response_number(&b, 1).await;
    assert!(status.starts_with("201"), "{status}");
    assert!(status_class(&b).await.contains("status-2xx"));
    b.wait_text("#pg-send", "Send Request").await;
    let shown = b.text("#pg-response-body").await;
    let created: Value = serde_json::from_str(&shown).expect("formatted JSON response");
    assert_eq!(created["slug"], "pg-one");
    assert!(
        shown.contains("\n  \"slug\": \"pg-one\""),
        "not formatted: {shown}"
    );
    assert!(b.text("#pg-duration").await.ends_with("ms"));
    b.eval(
        "document.getElementById('pg-response').scrollIntoView();",
        vec![],
    )
    .await;
    b.screenshot("playground-response").await;

    // The link exists, created with the key.
    let id = created["id"].as_u64().unwrap();
    let link = expect(
        admin
            .get(&format!("/api/v1/links/{id}"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(link["destination_url"], "https://example.org/playground");

    // Copy cURL: the key, JSON headers and the body; running it again hits the taken slug.
    b.click_button("#pg-response", "Copy cURL").await;
    b.wait_text("#pg-copy-status", "cURL command copied").await;
    let curl = b.clipboard().await;
    assert!(
        curl.starts_with(&format!("curl -X POST '{}'", app.url("/api/v1/links"))),
        "{curl}"
    );
    for part in [
        format!("-H 'Authorization: Bearer {key}'"),
        "-H 'Content-Type: application/json'".to_owned(),
        "--data '{\"domain\": \"go.example.com\"".to_owned(),
    ] {
        assert!(curl.contains(&part), "cURL lacks {part}: {curl}");
    }
    if let Some(code) = run_curl(&curl) {
        assert_eq!(code, "409", "copied cURL: {curl}");
    }

    // Copy Response: the body as shown.
    b.click_button("#pg-response", "Copy Response").await;
    b.wait_text("#pg-copy-status", "Response copied").await;
    let shown = b.eval(shown_body_script(), vec![]).await;
    assert_eq!(json!(b.clipboard().await), shown);

    // Path parameters: GET /api/v1/links/{id}.
    select_endpoint(&b, "GET /api/v1/links/{id}").await;
    b.hidden("#pg-body-field").await;
    assert!(
        send_disabled(&b).await,
        "Send enabled without the path param"
    );
    assert!(b.text("label[for=pg-path-id]").await.contains("id"));
    b.fill("#pg-path-id", &id.to_string()).await;
    assert_eq!(
        b.text("#pg-preview-url").await,
        app.url(&format!("/api/v1/links/{id}"))
    );
    b.click_button("#pg-builder", "Send Request").await;
    let status = response_number(&b, 2).await;
    assert!(status.starts_with("200"), "{status}");
    b.wait_text("#pg-response-body", "\"pg-one\"").await;
    b.click_button("#pg-response", "Copy cURL").await;
    b.wait_text("#pg-copy-status", "cURL command copied").await;
    let curl = b.clipboard().await;
    assert!(
        curl.starts_with(&format!(
            "curl -X GET '{}'",
            app.url(&format!("/api/v1/links/{id}"))
        )),
        "{curl}"
    );
    assert!(!curl.contains("--data"), "{curl}");
    if let Some(code) = run_curl(&curl) {
        assert_eq!(code, "200", "copied cURL: {curl}");
    }

    // Query parameters: the scoped key lists only its domain's links.
    select_endpoint(&b, "GET /api/v1/links").await;
    for p in ["limit", "offset", "search", "domain", "tag"] {
        b.visible(&format!("#pg-query-{p}")).await;
    }
    b.fill("#pg-query-limit", "5").await;
    b.fill("#pg-query-search", "pg-").await;
    assert_eq!(
        b.text("#pg-preview-url").await,
        app.url("/api/v1/links?limit=5&search=pg-")
    );
    // Keyboard: Enter in a parameter field sends the request.
    b.find("#pg-query-search")
        .await
        .send_keys("\u{E007}")
        .await
        .unwrap();
    let status = response_number(&b, 3).await;
    assert!(status.starts_with("200"), "{status}");
    b.wait_text("#pg-response-body", "\"total\": 1").await;

    // Step: View Request History: newest first, never the key.
    crate::support::eventually(crate::support::browser::WAIT_SECS, || async {
        let n = b
            .eval(
                "return document.querySelectorAll('#pg-history-list li[data-id]').length;",
                vec![],
            )
            .await;
        (n == json!(3))
            .then_some(())
            .ok_or(format!("history shows {n} requests, not 3"))
    })
    .await;
    let items = b.text("#pg-history-list").await;
    assert!(
        items.find("/api/v1/links?limit=5&search=pg-").unwrap()
            < items.find(&format!("/api/v1/links/{id}")).unwrap(),
        "not newest first: {items}"
    );
    assert!(items.contains("201") && items.contains("POST"), "{items}");
    let stored = history(&admin).await;
    assert_eq!(stored["total"], 3, "{stored}");
    assert!(!stored.to_string().contains(&key), "history holds the key");
    for e in stored["items"].as_array().unwrap() {
        assert_eq!(e["key_prefix"], &key[..12], "{e}");
    }
    assert_eq!(stored["items"][2]["body"], body);
    assert_eq!(stored["items"][2]["status"], 201);
    assert_eq!(stored["items"][0]["query"], "limit=5&search=pg-");
    // The key is nowhere but in the password field's memory.
    let leaks = b
        .eval(
            "return [document.documentElement.outerHTML.includes(arguments[0]), location.href.includes(arguments[0]), localStorage.length, sessionStorage.length];",
            vec![json!(key)],
        )
        .await;
    assert_eq!(leaks, json!([false, false, 0, 0]));

    // Replay: a history item loads its endpoint, parameters and body into the builder and says
    // how it will be sent; only "Send Request" sends it.
    b.click(&format!(
        "#pg-history-list li[data-path=\"/api/v1/links/{id}\"] button"
    ))
    .await;
    assert_eq!(b.value("#pg-endpoint").await, "GET /api/v1/links/{id}");
    assert_eq!(b.value("#pg-path-id").await, id.to_string());
    assert!(b.text("#pg-history-status").await.contains("Loaded GET"));
    let loaded = b.visible("#pg-loaded").await.text().await.unwrap();
    assert!(
        loaded.contains("Nothing was sent")
            && loaded.contains(&format!("the API key {}…", &key[..12])),
        "{loaded}"
    );
    b.hidden("#pg-response").await;
    assert_eq!(
        b.focused().await,
        "button#pg-send",
        "Send is one keypress away"
    );
    assert_eq!(history(&admin).await["total"], 3, "loading sent nothing");
    b.click("#pg-send").await;
    let status = response_number(&b, 4).await;
    assert!(status.starts_with("200"), "{status}");
    b.click("#pg-history-list li[data-method=\"POST\"] button")
        .await;
    assert_eq!(b.value("#pg-endpoint").await, "POST /api/v1/links");
    assert_eq!(b.value("#pg-body").await, body);
    b.hidden("#pg-response").await;
    b.click_button("#pg-builder", "Send Request").await;
    let status = response_number(&b, 5).await;
    assert!(status.starts_with("409"), "{status}");
    assert!(status_class(&b).await.contains("status-4xx"));
    crate::support::eventually(10, || async {
        (history(&admin).await["total"] == 5).then_some(())
    })
    .await;

    // Clear History, after a confirmation.
    b.click_button("#request-history", "Clear History").await;
    assert!(b.prompt_text().await.contains("Clear"));
    b.accept_prompt().await;
    b.wait_text("#pg-history-list", "No requests yet").await;
    assert_eq!(history(&admin).await["total"], 0);
    b.close().await;
}

#[tokio::test]
async fn try_in_playground_session_requests_uploads_bad_keys_and_layout() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let key = scoped_key(&admin).await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    b.goto("/ui/integrations/manual").await;
    b.wait_text("#api-docs-status", "endpoints in").await;

    // "Try in Playground" from the API Documentation selects the endpoint.
    let links = "details.doc-group[data-tag=\"Links\"]";
    b.click(&format!("{links} > summary")).await;
    b.click(&format!(
        "{links} article.endpoint[data-method=\"POST\"][data-path=\"/api/v1/links\"] button.try-endpoint"
    ))
    .await;
    assert_eq!(b.value("#pg-endpoint").await, "POST /api/v1/links");
    assert!(b.value("#pg-body").await.contains("destination_url"));
    assert_eq!(b.focused().await, "select#pg-endpoint");
    assert!(!b.text("#api-docs-status").await.contains("not available"));

    // Without a key the session sends the request (with its CSRF token).
    b.wait_text("#pg-auth-mode", "session").await;
    assert!(b.text("#pg-preview-headers").await.contains("X-CSRF-Token"));
    b.fill(
        "#pg-body",
        r#"{"domain": "other.example.com", "destination_url": "https://example.org/session"}"#,
    )
    .await;
    b.click("#pg-send").await;
    let status = response_number(&b, 1).await;
    assert!(status.starts_with("201"), "{status}");
    let list = expect(
        admin
            .get("/api/v1/links?domain=other.example.com")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(list["total"], 1);
    b.click_button("#pg-response", "Copy cURL").await;
    b.wait_text("#pg-copy-status", "LINKDOCK_API_KEY").await;
    assert!(b
        .clipboard()
        .await
        .contains("-H \"Authorization: Bearer $LINKDOCK_API_KEY\""));

    // A key pasted into the request is refused by the history: a notice, the response stays.
    select_endpoint(&b, "GET /api/v1/links").await;
    b.fill("#pg-query-search", &key).await;
    b.click("#pg-send").await;
    let status = response_number(&b, 2).await;
    assert!(status.starts_with("200"), "{status}");
    let notice = b.visible("#pg-history-notice").await.text().await.unwrap();
    assert!(notice.contains("Not saved"), "{notice}");
    assert!(!notice.contains(&key), "{notice}");
    b.visible("#pg-response-body").await;
    assert!(!history(&admin).await.to_string().contains(&key));

    // A malformed key is explained at once, in this page: the server is not asked.
    count_key_checks(&b).await;
    b.fill("#pg-key", "ldk_notarealkey").await;
    let info = b
        .wait_text("#pg-key-info", "50 characters after ldk_")
        .await;
    assert!(info.contains("cut off"), "{info}");
    b.hidden("#pg-scope-warning").await;
    // A well-formed key the server does not know: the server's answer, in a sentence.
    let unknown = generated_key();
    let problem = expect(
        app.http
            .get(app.url("/api/v1/keys/current"))
            .bearer_auth(&unknown)
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    b.fill("#pg-key", &unknown).await;
    let info = b.wait_text("#pg-key-info", "401").await;
    assert!(
        info.to_lowercase()
            .contains(&problem["detail"].as_str().unwrap().to_lowercase()),
        "{info} vs {problem}"
    );
    assert_eq!(
        key_checks(&b).await,
        1,
        "only the well-formed key was asked about"
    );
    // The show toggle.
    b.click("#pg-key-toggle").await;
    assert_eq!(
        b.eval("return document.getElementById('pg-key').type;", vec![])
            .await,
        json!("text")
    );
    b.click("#pg-key-toggle").await;

    // File upload: CSV import with the scoped key.
    b.fill("#pg-key", &key).await;
    b.wait_text("#pg-key-info", "Valid key").await;
    select_endpoint(&b, "POST /api/v1/links/import").await;
    b.visible("#pg-file").await;
    b.hidden("#pg-body-field").await;
    assert!(send_disabled(&b).await, "Send enabled without a file");
    let csv = app.dir.path().join("links.csv");
    std::fs::write(
        &csv,
        "domain,slug,destination_url\ngo.example.com,imported,https://example.org/imported\n",
    )
    .unwrap();
    b.find("#pg-file")
        .await
        .send_keys(csv.to_str().unwrap())
        .await
        .unwrap();
    b.wait_text("#pg-preview-body", "file=@links.csv").await;
    b.click("#pg-send").await;
    let status = response_number(&b, 3).await;
    assert!(status.starts_with("200"), "{status}");
    b.wait_text("#pg-response-body", "\"created\": 1").await;
    b.click_button("#pg-response", "Copy cURL").await;
    b.wait_text("#pg-copy-status", "cURL command copied").await;
    assert!(b.clipboard().await.contains("-F 'file=@links.csv'"));
    let stored = crate::support::eventually(10, || async {
        let h = history(&admin).await;
        (h["total"] == 2).then_some(h)
    })
    .await;
    assert_eq!(stored["items"][0]["body"], "(file links.csv)");
    assert_eq!(stored["items"][0]["path"], "/api/v1/links/import");

    // CSV export: shown as text.
    select_endpoint(&b, "GET /api/v1/links/export").await;
    b.click("#pg-send").await;
    let status = response_number(&b, 4).await;
    assert!(status.starts_with("200"), "{status}");
    assert!(b.text("#pg-content-type").await.starts_with("text/csv"));
    let csv = b.wait_text("#pg-response-body", "destination_url").await;
    assert!(csv.contains("go.example.com,imported,"), "{csv}");

    layout_checks(&b).await;
    b.close().await;
}

/// Readable at 1280px (light) and 390px (dark): no sideways scrolling, no inline style, every
/// control labelled.
async fn layout_checks(b: &Browser) {
    for (width, height, scheme) in [(1280, 900, "light"), (390, 844, "dark")] {
        b.resize(width, height).await;
        b.color_scheme(scheme).await;
        b.goto("/ui/integrations/manual").await;
        b.wait_text("#pg-history-list", "/api/v1/links").await;
        b.find("#pg-endpoint option[value=\"GET /api/v1/links/{id}\"]")
            .await;
        select_endpoint(b, "GET /api/v1/links/{id}").await;
        b.fill("#pg-path-id", "1").await;
        b.click("#pg-send").await;
        response_number(b, 1).await;
        b.assert_page_hygiene("the playground", width, scheme).await;
        b.screenshot(&format!("playground-{width}-{scheme}")).await;
    }
    b.resize(1280, 900).await;
}

/// What a program printed: the status line and the body, as the samples print them.
#[derive(Debug, PartialEq)]
struct Answer {
    status: String,
    body: String,
}

/// Run a copied sample with `LINKDOCK_API_KEY` set; `None` when its interpreter is missing
/// (a failure under CI for cURL and Python, which .ci/run installs).
fn run_sample(lang: &str, code: &str, key: &str, dir: &std::path::Path) -> Option<Answer> {
    use std::process::Command;
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let (mut cmd, file) = match lang {
        "cURL" => {
            let mut c = Command::new("bash");
            c.arg("-c")
                .arg(format!("{code} -s --max-time 10 -w '\\n%{{http_code}}'"));
            (c, None)
        }
        "Python" => (Command::new(&python), Some("sample.py")),
        "JavaScript" => (Command::new("node"), Some("sample.mjs")),
        other => panic!("no runner for {other}"),
    };
    if let Some(name) = file {
        let path = dir.join(name);
        std::fs::write(&path, code).unwrap();
        cmd.arg(&path);
    }
    let probe = match lang {
        "cURL" => Command::new("curl").arg("--version").output(),
        "Python" => Command::new(&python)
            .args(["-c", "import requests"])
            .output(),
        _ => Command::new("node").arg("--version").output(),
    };
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            lang == "JavaScript" || std::env::var_os("CI").is_none(),
            "CI is set but {lang} samples cannot run here (curl, or python3 with requests: pip install requests)"
        );
        eprintln!(
            "\n*** SKIPPED running the {lang} sample: its interpreter is not installed ***\n"
        );
        return None;
    }
    let out = cmd
        .current_dir(dir)
        .env("LINKDOCK_API_KEY", key)
        .output()
        .expect("run sample");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{lang} sample failed:\n{code}\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = text.trim_end_matches('\n');
    Some(if lang == "cURL" {
        let (body, status) = text.rsplit_once('\n').unwrap_or(("", text));
        Answer {
            status: status.to_owned(),
            body: body.to_owned(),
        }
    } else {
        let (status, body) = text.split_once('\n').unwrap_or((text, ""));
        Answer {
            status: status.to_owned(),
            body: body.to_owned(),
        }
    })
}

#[tokio::test]
async fn the_code_for_the_current_request_gives_the_same_answer_in_curl_python_and_javascript() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let key = scoped_key(&admin).await;
    let link = admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "go.example.com", "slug": "sample", "destination_url": "https://example.org/sample", "title": "Ünïcode & \"quotes\""}),
            201,
        )
        .await;
    let id = link["id"].as_u64().unwrap();
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    b.goto("/ui/integrations/manual").await;
    b.fill("#pg-key", &key).await;
    b.wait_text("#pg-key-info", "Valid key").await;

    // Out of the key's scope: the same 404 as a domain that does not exist.
    let body_404 =
        r#"{"domain": "other.example.com", "destination_url": "https://example.org/it's"}"#;
    let id = id.to_string();
    // Endpoint, a parameter to fill (field, value), a body, and the expected status.
    let cases = [
        (
            "GET /api/v1/links/{id}",
            ("#pg-path-id", id.as_str()),
            "",
            "200",
        ),
        (
            "GET /api/v1/links",
            ("#pg-query-search", "sample"),
            "",
            "200",
        ),
        ("POST /api/v1/links", ("", ""), body_404, "404"),
    ];
    for (endpoint, (css, value), body, status) in cases {
        select_endpoint(&b, endpoint).await;
        if !css.is_empty() {
            b.fill(css, value).await;
        }
        if !body.is_empty() {
            b.fill("#pg-body", body).await;
        }
        let mut answers = Vec::new();
        for lang in ["cURL", "Python", "JavaScript", "Go"] {
            b.click_button("#pg-code .sample-langs", lang).await;
            b.click_button("#pg-code .sample-bar", "Copy").await;
            b.wait_text("#pg-code .sample-status", &format!("{lang} copied"))
                .await;
            let code = b.clipboard().await;
            assert!(!code.contains(&key), "{lang} sample holds the key: {code}");
            assert!(code.contains("LINKDOCK_API_KEY"), "{code}");
            if lang == "Go" {
                // No Go toolchain here: the program is checked as text.
                assert!(code.starts_with("package main"), "{code}");
                assert!(
                    code.contains(&format!(
                        "http.NewRequest({:?}",
                        endpoint.split(' ').next().unwrap()
                    )),
                    "{code}"
                );
                continue;
            }
            if let Some(answer) = run_sample(lang, &code, &key, app.dir.path()) {
                answers.push((lang, answer));
            }
        }
        // The reference: what the server says to the same request from this test.
        let first = &answers[0].1;
        assert_eq!(first.status, status, "{endpoint}: {first:?}");
        for (lang, answer) in &answers[1..] {
            assert_eq!(answer, first, "{endpoint}: {lang} and cURL disagree");
        }
        eprintln!(
            "{endpoint}: {} samples agree ({})",
            answers.len(),
            first.status
        );
    }
    b.close().await;
}

#[tokio::test]
async fn the_key_check_in_the_page_agrees_with_the_server_on_issued_and_mutated_keys() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut keys = Vec::new();
    for i in 0..3 {
        let made = admin
            .post_json("/api/v1/api-keys", json!({"name": format!("k{i}")}), 201)
            .await;
        keys.push(made["key"].as_str().unwrap().to_owned());
    }
    keys.push(generated_key());
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    b.goto("/ui/integrations/manual").await;
    let prefix = b
        .eval(
            "return document.getElementById('api-playground').dataset.keyPrefix;",
            vec![],
        )
        .await;
    assert_eq!(
        prefix,
        json!("ldk"),
        "the prefix comes from the server's config"
    );

    // Mutations of a real key, and what the server calls each.
    let base = keys[0].clone();
    let flip = |s: &str, at: usize| {
        let mut c: Vec<char> = s.chars().collect();
        c[at] = if c[at] == 'a' { 'b' } else { 'a' };
        c.into_iter().collect::<String>()
    };
    let mut cases: Vec<(String, &str)> = keys.iter().map(|k| (k.clone(), "ok")).collect();
    cases.extend([
        (flip(&base, 10), "checksum"),             // a body character mistyped
        (flip(&base, base.len() - 1), "checksum"), // a checksum character
        (base[..base.len() - 1].to_owned(), "length"),
        (format!("{base}x"), "length"),
        (format!("xyz{}", &base[3..]), "prefix"),
        (format!("{}-{}", &base[..20], &base[21..]), "characters"),
        (format!("{} {}", &base[..20], &base[20..]), "spaces"),
        (format!("  {base}\n"), "ok"), // pasted with white space around it
    ]);
    for (key, want) in &cases {
        let got = b
            .client
            .execute_async(
                "const [key, done] = [arguments[0], arguments[arguments.length - 1]];
                 import('/static/js/api-key-format.js')
                   .then(m => { const r = m.checkKeyFormat(key, 'ldk'); done(r.ok ? 'ok' : r.reason + ': ' + r.message); },
                         e => done('import failed: ' + e));",
                vec![json!(key)],
            )
            .await
            .unwrap();
        let got = got.as_str().unwrap();
        assert!(
            got.split(':').next() == Some(*want),
            "{key:?}: expected {want}, the page says {got}"
        );
        assert!(
            !got.contains(key.trim()),
            "the message repeats the key: {got}"
        );
        // The server sees the same: a well-formed key is judged by the index, a broken one
        // is malformed or has a bad checksum.
        {
            let res = app
                .http
                .get(app.url("/api/v1/keys/current"))
                .header("authorization", format!("Bearer {}", key.trim()))
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let detail = res.text().await.unwrap();
            match *want {
                "ok" => assert!(
                    status == 200 || detail.contains("not known"),
                    "{key}: {status} {detail}"
                ),
                "checksum" => assert!(detail.contains("checksum"), "{key}: {detail}"),
                _ => assert!(detail.contains("malformed"), "{key}: {detail}"),
            }
        }
    }
}

#[tokio::test]
async fn a_request_refused_to_a_scoped_key_is_not_resent_with_the_session_from_the_history() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let key = scoped_key(&admin).await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    b.goto("/ui/integrations/manual").await;
    b.fill("#pg-key", &key).await;
    b.wait_text("#pg-key-info", "Valid key").await;
    select_endpoint(&b, "POST /api/v1/links").await;
    b.fill(
        "#pg-body",
        r#"{"domain": "other.example.com", "destination_url": "https://example.org/out-of-scope"}"#,
    )
    .await;
    b.click("#pg-send").await;
    let status = response_number(&b, 1).await;
    assert!(status.starts_with("404"), "{status}");
    b.wait_text("#pg-history-list", "404").await;

    // The key is removed; the refused request is clicked in the history.
    b.fill("#pg-key", "").await;
    b.wait_text("#pg-auth-mode", "Sent with your session").await;
    b.click("#pg-history-list li[data-method=\"POST\"] button")
        .await;
    let loaded = b.visible("#pg-loaded").await.text().await.unwrap();
    assert!(
        loaded.contains("Nothing was sent")
            && loaded.contains("sends it with your session")
            && loaded.contains(&format!("first sent with the API key {}…", &key[..12])),
        "{loaded}"
    );
    assert!(b.text("#pg-preview-headers").await.contains("X-CSRF-Token"));
    b.assert_accessible("a history entry loaded into the playground")
        .await;
    // Nothing happened on the server: no link, no new history entry.
    let links = expect(
        admin
            .get("/api/v1/links?domain=other.example.com")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(links["total"], 0, "the click created the link");
    assert_eq!(history(&admin).await["total"], 1);
    // The note follows the key field; sending ends it.
    b.fill("#pg-key", &key).await;
    b.wait_text("#pg-loaded", "as before").await;
    b.click("#pg-send").await;
    let status = response_number(&b, 2).await;
    assert!(status.starts_with("404"), "{status}");
    b.hidden("#pg-loaded").await;
    b.close().await;
}

/// "Why do I get 403?" answered in the page: the key check says what the server would refuse
/// (the address it saw, a revoked or rotated key, a missing permission) before anything is sent.
#[tokio::test]
async fn the_key_check_explains_a_refusal_and_a_missing_permission_before_sending() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let key_of = |v: &Value| v["key"].as_str().unwrap().to_owned();
    let office = admin
        .post_json(
            "/api/v1/api-keys",
            json!({"name": "Office only", "allow_all_ips": false, "ip_whitelist": ["203.0.113.0/24"]}),
            201,
        )
        .await;
    let reader = admin
        .post_json(
            "/api/v1/api-keys",
            json!({"name": "Reader", "permissions": ["links:read", "domains:read"], "rate_limit_per_minute": 50}),
            201,
        )
        .await;
    let rolled = admin
        .post_json("/api/v1/api-keys", json!({"name": "Rolled"}), 201)
        .await;
    admin
        .post_json(
            &format!("/api/v1/api-keys/{}/roll", rolled["id"]),
            json!({"old_key_expires_at": null}),
            201,
        )
        .await;
    let revoked = admin
        .post_json("/api/v1/api-keys", json!({"name": "Revoked"}), 201)
        .await;
    admin
        .post_json(
            &format!("/api/v1/api-keys/{}/revoke", revoked["id"]),
            json!({}),
            200,
        )
        .await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    b.goto("/ui/integrations/manual").await;

    // The IP rule: which address the server saw, and what the key accepts.
    b.fill("#pg-key", &key_of(&office)).await;
    let info = b.wait_text("#pg-key-info", "IP not allowed").await;
    for part in ["127.0.0.1", "203.0.113.0/24", "Office only", "403"] {
        assert!(info.contains(part), "{part} missing: {info}");
    }
    b.screenshot("playground-key-ip-refused").await;
    b.assert_accessible("the playground's key check explaining a refusal")
        .await;

    // Rotated and revoked keys are recognised and explained.
    b.fill("#pg-key", &key_of(&rolled)).await;
    b.wait_text("#pg-key-info", "Key rotated").await;
    b.fill("#pg-key", &key_of(&revoked)).await;
    b.wait_text("#pg-key-info", "Key revoked").await;

    // A usable key with fewer permissions: its permissions and rate limit, and a warning on an
    // endpoint it may not call.
    b.fill("#pg-key", &key_of(&reader)).await;
    let info = b.wait_text("#pg-key-info", "Valid key").await;
    for part in [
        "links:read",
        "domains:read",
        "of 50 requests left",
        "127.0.0.1",
    ] {
        assert!(info.contains(part), "{part} missing: {info}");
    }
    select_endpoint(&b, "GET /api/v1/links").await;
    b.hidden("#pg-permission-warning").await;
    select_endpoint(&b, "POST /api/v1/links").await;
    let warning = b
        .visible("#pg-permission-warning")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        warning.contains("links:write") && warning.contains("403"),
        "{warning}"
    );
    select_endpoint(&b, "GET /api/v1/api-keys").await;
    b.wait_text("#pg-permission-warning", "signed-in users")
        .await;
    // Sending anyway gets the 403 the warning announced, naming the permission.
    select_endpoint(&b, "POST /api/v1/links").await;
    b.click("#pg-send").await;
    let status = response_number(&b, 1).await;
    assert!(status.starts_with("403"), "{status}");
    let shown = b.eval(shown_body_script(), vec![]).await;
    assert!(shown.as_str().unwrap().contains("links:write"), "{shown}");
    // Without a key (the session), no warning.
    b.fill("#pg-key", "").await;
    b.hidden("#pg-permission-warning").await;
    b.close().await;
}

// ---- issue 22, point 7: the playground stays true after each response ---------------------

async fn key_action(admin: &Session, id: &Value, action: &str) {
    admin
        .post_json(&format!("/api/v1/api-keys/{id}/{action}"), json!({}), 200)
        .await;
}

/// The key panel follows each answer: the RateLimit fields, and a 401 that says the key was
/// disabled or revoked meanwhile (the same words as the key check), without another request.
#[tokio::test]
async fn the_key_panel_follows_each_response_requests_left_disabled_and_revoked() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    let made = admin
        .post_json(
            "/api/v1/api-keys",
            json!({"name": "Counted", "rate_limit_per_minute": 50}),
            201,
        )
        .await;
    let key = made["key"].as_str().unwrap().to_owned();
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    b.goto("/ui/integrations/manual").await;
    b.fill("#pg-key", &key).await;
    b.wait_text("#pg-key-info", "50 of 50 requests left").await;
    select_endpoint(&b, "GET /api/v1/links").await;
    count_key_checks(&b).await;

    b.click("#pg-send").await;
    assert!(response_number(&b, 1).await.starts_with("200"));
    b.wait_text("#pg-key-info", "49 of 50 requests left").await;
    b.wait_text("#pg-response-key", "49 of 50 requests left")
        .await;
    b.assert_accessible("the playground's key panel after a response")
        .await;
    b.eval(
        "document.getElementById('pg-key-info').scrollIntoView({block: 'start'});",
        vec![],
    )
    .await;
    b.screenshot("playground-key-after-response").await;

    // Disabled meanwhile: the 401 says so on the key panel and under the response.
    key_action(&admin, &made["id"], "disable").await;
    b.click("#pg-send").await;
    assert!(response_number(&b, 2).await.starts_with("401"));
    let info = b.wait_text("#pg-key-info", "Key disabled").await;
    assert!(info.contains("disabled"), "{info}");
    assert!(!info.contains("Valid key"), "{info}");
    b.wait_text("#pg-response-key", "Key disabled").await;
    assert_eq!(
        b.eval(
            "return document.getElementById('pg-key').getAttribute('aria-invalid');",
            vec![]
        )
        .await,
        json!("true")
    );
    b.assert_accessible("the playground's key panel after a 401 disabled")
        .await;
    b.eval(
        "document.getElementById('pg-key-info').scrollIntoView({block: 'start'});",
        vec![],
    )
    .await;
    b.screenshot("playground-key-disabled-after-response").await;

    // Enabled again: the next answer gets through, and the panel says the key is valid.
    key_action(&admin, &made["id"], "enable").await;
    b.click("#pg-send").await;
    assert!(response_number(&b, 3).await.starts_with("200"));
    let info = b.wait_text("#pg-key-info", "Valid key").await;
    assert!(info.contains("of 50 requests left"), "{info}");

    // Revoked meanwhile.
    key_action(&admin, &made["id"], "revoke").await;
    b.click("#pg-send").await;
    assert!(response_number(&b, 4).await.starts_with("401"));
    let info = b.wait_text("#pg-key-info", "Key revoked").await;
    assert!(info.contains("revoked"), "{info}");
    assert_eq!(
        key_checks(&b).await,
        0,
        "the answers themselves were the news: no extra key check"
    );
    assert!(
        !history(&admin).await.to_string().contains(&key),
        "the key is not in the history"
    );
    b.close().await;
}

/// The note about a missing permission sits beside "Send Request" (in its row, described by
/// it), not at the key far above; sending still shows the 403.
#[tokio::test]
async fn a_missing_permission_is_said_beside_send_request() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    let reader = admin
        .post_json(
            "/api/v1/api-keys",
            json!({"name": "Reader", "permissions": ["links:read", "domains:read"]}),
            201,
        )
        .await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    for (width, height, scheme) in [(1280, 900, "light"), (390, 844, "dark")] {
        b.resize(width, height).await;
        b.color_scheme(scheme).await;
        b.goto("/ui/integrations/manual").await;
        b.fill("#pg-key", reader["key"].as_str().unwrap()).await;
        b.wait_text("#pg-key-info", "Valid key").await;
        select_endpoint(&b, "POST /api/v1/links").await;
        let note = b.wait_text("#pg-permission-warning", "links:write").await;
        assert!(note.contains("403"), "{note}");
        let place = b
            .eval(
                "const w = document.getElementById('pg-permission-warning');
                 const s = document.getElementById('pg-send');
                 w.scrollIntoView({block: 'center'});
                 const a = w.getBoundingClientRect(), c = s.getBoundingClientRect();
                 return {row: w.parentElement === s.parentElement,
                         gap: Math.max(0, a.top - c.bottom, c.top - a.bottom),
                         described: (s.getAttribute('aria-describedby') || '').split(' ').includes(w.id),
                         bothShown: a.bottom <= innerHeight && c.top >= 0 && a.top >= 0 && c.bottom <= innerHeight};",
                vec![],
            )
            .await;
        assert_eq!(place["row"], json!(true), "{place}");
        assert_eq!(place["described"], json!(true), "{place}");
        assert_eq!(place["bothShown"], json!(true), "{place}");
        assert!(place["gap"].as_f64().unwrap() < 40.0, "{place}");
        assert!(!send_disabled(&b).await, "the user may still send");
        b.assert_accessible(&format!(
            "the permission note beside Send Request at {width}px {scheme}"
        ))
        .await;
        b.screenshot(&format!("playground-permission-note-{width}-{scheme}"))
            .await;
        b.click("#pg-send").await;
        assert!(response_number(&b, 1).await.starts_with("403"));
    }
    b.close().await;
}

/// The example body names the user's own domain (the key's first scoped one when a key is
/// pasted), so the first Send of the untouched example creates the link.
#[tokio::test]
async fn the_first_send_of_the_example_body_succeeds_for_a_user_with_one_domain() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("mine.example.net").await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    b.goto("/ui/integrations/manual").await;
    select_endpoint(&b, "POST /api/v1/links").await;
    crate::support::eventually(crate::support::browser::WAIT_SECS, || async {
        let body = b.value("#pg-body").await;
        body.contains("\"mine.example.net\"")
            .then_some(())
            .ok_or(body)
    })
    .await;
    assert!(!b.value("#pg-body").await.contains("go.example.com"));
    b.click("#pg-send").await;
    let status = response_number(&b, 1).await;
    assert!(status.starts_with("201"), "{status}");
    let links = expect(admin.get("/api/v1/links").send().await.unwrap(), 200).await;
    assert_eq!(links["items"][0]["domain"], "mine.example.net", "{links}");

    // A key scoped to another domain: the untouched example follows the key.
    admin.domain("team.example.net").await;
    let scoped = admin
        .post_json(
            "/api/v1/api-keys",
            json!({"name": "Team", "domains": ["team.example.net"]}),
            201,
        )
        .await;
    select_endpoint(&b, "GET /api/v1/links").await;
    select_endpoint(&b, "POST /api/v1/links").await;
    b.fill("#pg-key", scoped["key"].as_str().unwrap()).await;
    b.wait_text("#pg-key-info", "Valid key").await;
    crate::support::eventually(crate::support::browser::WAIT_SECS, || async {
        let body = b.value("#pg-body").await;
        body.contains("\"team.example.net\"")
            .then_some(())
            .ok_or(body)
    })
    .await;
    b.click("#pg-send").await;
    let status = response_number(&b, 2).await;
    assert!(status.starts_with("201"), "{status}");
    // A body the user edited is theirs: clearing the key leaves it as typed.
    b.fill(
        "#pg-body",
        "{\"domain\": \"typed.example.net\", \"destination_url\": \"https://example.org\"}",
    )
    .await;
    b.fill("#pg-key", "").await;
    b.wait_text("#pg-auth-mode", "session").await;
    assert!(b.value("#pg-body").await.contains("typed.example.net"));
    b.close().await;
}

/// On a phone the Request History sidebar sits below the whole playground: "On this page"
/// near the top reaches it in one step, by keyboard too.
#[tokio::test]
async fn at_390_px_the_request_history_is_one_step_from_the_top() {
    let app = spawn_app().await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    b.resize(390, 844).await;
    b.color_scheme("dark").await;
    b.goto("/ui/integrations/manual").await;
    b.wait_text("#pg-history-list", "No requests yet").await;
    let link = "#manual-toc a[href=\"#request-history\"]";
    let at_top = b
        .eval(
            "const r = document.querySelector(arguments[0]).getBoundingClientRect();
             const h = document.getElementById('request-history').getBoundingClientRect();
             return {link: r.top >= 0 && r.bottom <= innerHeight, history: h.top, height: innerHeight};",
            vec![json!(link)],
        )
        .await;
    assert_eq!(at_top["link"], json!(true), "{at_top}");
    assert!(
        at_top["history"].as_f64().unwrap() > at_top["height"].as_f64().unwrap(),
        "the history starts below the first screen: {at_top}"
    );
    b.assert_accessible("the manual page with On this page at 390px dark")
        .await;
    b.screenshot("playground-on-this-page-390-dark").await;
    // By keyboard: focus the link, press Enter.
    b.eval(
        "document.querySelector(arguments[0]).focus();",
        vec![json!(link)],
    )
    .await;
    b.find(link).await.send_keys("\u{E007}").await.unwrap();
    crate::support::eventually(crate::support::browser::WAIT_SECS, || async {
        let f = b.focused().await;
        (f == "h2#request-history-title").then_some(()).ok_or(f)
    })
    .await;
    let shown = b
        .eval(
            "const h = document.getElementById('request-history-title').getBoundingClientRect();
             return h.top >= 0 && h.bottom <= innerHeight;",
            vec![],
        )
        .await;
    assert_eq!(shown, json!(true), "the history heading is on screen");
    b.screenshot("playground-history-reached-390-dark").await;
    b.close().await;
}

/// A key that expires while the page is open: the next answer (401 expired) says so on the
/// key panel. Time moves by the test clock, not by waiting.
#[tokio::test]
async fn a_key_that_expires_while_the_page_is_open_shows_expired_after_the_next_send() {
    let app = crate::support::spawn_with(crate::support::Options {
        test_clock: true,
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    let soon = (time::OffsetDateTime::now_utc() + time::Duration::hours(2))
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let made = admin
        .post_json(
            "/api/v1/api-keys",
            json!({"name": "Short-lived", "expires_at": soon}),
            201,
        )
        .await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    b.goto("/ui/integrations/manual").await;
    b.fill("#pg-key", made["key"].as_str().unwrap()).await;
    b.wait_text("#pg-key-info", "Valid key").await;
    select_endpoint(&b, "GET /api/v1/links").await;
    b.click("#pg-send").await;
    assert!(response_number(&b, 1).await.starts_with("200"));
    app.advance_clock(std::time::Duration::from_secs(3 * 3600));
    b.click("#pg-send").await;
    assert!(response_number(&b, 2).await.starts_with("401"));
    let info = b.wait_text("#pg-key-info", "Key expired").await;
    assert!(info.contains("expired"), "{info}");
    b.wait_text("#pg-response-key", "Key expired").await;
    b.close().await;
}

async fn key_info(b: &Browser) -> String {
    b.eval(
        "return document.getElementById('pg-key-info').textContent;",
        vec![],
    )
    .await
    .as_str()
    .unwrap()
    .to_owned()
}

/// GET /api/v1/keys/current answers 200 for a revoked key (it says what the key is), so its
/// 200 is not "the key got through": the panel still says revoked. And a key the server
/// reported deleted is asked about again when pasted back, not shown "Valid" from the old
/// answer.
#[tokio::test]
async fn keys_current_keeps_a_revoked_key_revoked_and_a_deleted_key_is_asked_about_again() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let revoked = admin
        .post_json("/api/v1/api-keys", json!({"name": "Revoked"}), 201)
        .await;
    key_action(&admin, &revoked["id"], "revoke").await;
    let doomed = admin
        .post_json("/api/v1/api-keys", json!({"name": "Doomed"}), 201)
        .await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    b.goto("/ui/integrations/manual").await;

    b.fill("#pg-key", revoked["key"].as_str().unwrap()).await;
    b.wait_text("#pg-key-info", "Key revoked").await;
    select_endpoint(&b, "GET /api/v1/keys/current").await;
    b.click("#pg-send").await;
    assert!(response_number(&b, 1).await.starts_with("200"));
    let info = key_info(&b).await;
    assert!(
        info.contains("Key revoked") && !info.contains("Valid key"),
        "after keys/current: {info}"
    );

    // Deleted while pasted: the 401 says so; pasted back, the key is asked about again.
    let key = doomed["key"].as_str().unwrap();
    b.fill("#pg-key", key).await;
    b.wait_text("#pg-key-info", "Valid key").await;
    select_endpoint(&b, "GET /api/v1/links").await;
    b.click("#pg-send").await;
    assert!(response_number(&b, 2).await.starts_with("200"));
    admin
        .delete(&format!("/api/v1/api-keys/{}", doomed["id"]))
        .send()
        .await
        .unwrap();
    b.click("#pg-send").await;
    assert!(response_number(&b, 3).await.starts_with("401"));
    b.wait_text("#pg-key-info", "no longer knows this key")
        .await;
    b.fill("#pg-key", revoked["key"].as_str().unwrap()).await;
    b.wait_text("#pg-key-info", "Key revoked").await;
    b.fill("#pg-key", key).await;
    let info = b.wait_text("#pg-key-info", "(401)").await;
    assert!(!info.contains("Valid key"), "pasted back: {info}");
    b.close().await;
}

/// Each Send leaves the role="alert" warnings alone when their text is the same (an alert is
/// read again whenever its text is set), and the key panel changes without a live
/// announcement: the note under the response is the one that speaks.
#[tokio::test]
async fn a_send_does_not_announce_the_key_warnings_again() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    let made = admin
        .post_json(
            "/api/v1/api-keys",
            json!({"name": "Narrow", "permissions": ["links:read"], "domains": ["go.example.com"]}),
            201,
        )
        .await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    b.goto("/ui/integrations/manual").await;
    b.fill("#pg-key", made["key"].as_str().unwrap()).await;
    b.wait_text("#pg-key-info", "Valid key").await;
    b.visible("#pg-scope-warning").await;
    select_endpoint(&b, "POST /api/v1/links").await;
    b.visible("#pg-permission-warning").await;
    b.click("#pg-send").await;
    assert!(response_number(&b, 1).await.starts_with("403"));
    b.eval(
        "window.__mutations = [];
         window.__observer = new MutationObserver(rs => { for (const r of rs) window.__mutations.push(r.target.id || r.target.parentNode.id); });
         for (const id of ['pg-scope-warning', 'pg-permission-warning']) {
           window.__observer.observe(document.getElementById(id), { childList: true, characterData: true, subtree: true, attributes: true });
         }",
        vec![],
    )
    .await;
    b.click("#pg-send").await;
    assert!(response_number(&b, 2).await.starts_with("403"));
    let changed = b
        .eval(
            "for (const r of window.__observer.takeRecords()) window.__mutations.push(r.target.id);
             return window.__mutations;",
            vec![],
        )
        .await;
    assert_eq!(changed, json!([]), "warnings re-set by a Send");
    assert_eq!(
        b.eval(
            "return document.getElementById('pg-key-info').getAttribute('aria-live');",
            vec![]
        )
        .await,
        json!("off"),
        "the key panel announces after a response"
    );
    // Pasting a key again: the panel speaks again.
    b.fill("#pg-key", "").await;
    b.fill("#pg-key", made["key"].as_str().unwrap()).await;
    b.wait_text("#pg-key-info", "Valid key").await;
    assert_eq!(
        b.eval(
            "return document.getElementById('pg-key-info').getAttribute('aria-live');",
            vec![]
        )
        .await,
        json!("polite")
    );
    b.close().await;
}
