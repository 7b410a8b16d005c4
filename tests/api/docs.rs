//! API documentation: `/api/openapi.json`, `/api/llms.txt`, `/swagger-ui/` and `docs.public`.

use std::process::Command;

use serde_json::Value;

use crate::support::{spawn_app, spawn_with, Options, TestApp};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// A fresh API key declared in the config file: (key, TOML to append).
pub fn declared_key(name: &str) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_linkdock"))
        .args(["key", "generate"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let key = lines.next().unwrap().trim().to_owned();
    let hash = lines.next().unwrap().trim().to_owned();
    (key, format!("\n[[api_keys]]\nname = \"{name}\"\n{hash}\n"))
}

async fn openapi(app: &TestApp) -> (String, Value) {
    let res = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(crate::support::content_type(&res).starts_with("application/json"));
    let text = res.text().await.unwrap();
    let doc = serde_json::from_str(&text).unwrap();
    (text, doc)
}

fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => resolve(
            doc,
            doc.pointer(r.trim_start_matches('#'))
                .expect("dangling $ref"),
        ),
        None => v,
    }
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            if let Some(op) = item.get(m) {
                out.push((m.to_uppercase(), path.clone(), op.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn openapi_document_is_3_1_grouped_secured_and_exampled() {
    let app = spawn_app().await;
    let (_, doc) = openapi(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let tags: Vec<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let mut sorted = tags.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "API Keys",
            "Account",
            "Activity",
            "Backups",
            "Domains",
            "Import & Export",
            "Keys",
            "Links",
            "Playground",
            "Session",
            "Team"
        ]
    );
    assert!(doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["description"].as_str().is_some_and(|d| !d.is_empty())));
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["session"]["in"],
        "cookie"
    );
    assert!(doc["components"]["schemas"]["Problem"]["properties"]["status"].is_object());
    let ops = operations(&doc);
    assert!(!ops.is_empty());
    for (method, path, op) in &ops {
        assert!(path.starts_with("/api/v1/"), "{path}");
        let tag = op["tags"][0].as_str().unwrap_or_default();
        assert!(
            tags.contains(&tag),
            "{method} {path}: tag {tag:?} is not declared"
        );
        assert!(
            op["security"].is_array(),
            "{method} {path}: no security requirement"
        );
        let errors: Vec<_> = op["responses"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(s, _)| s.starts_with('4'))
            .map(|(s, r)| (s.clone(), resolve(&doc, r).clone()))
            .collect();
        assert!(
            !errors.is_empty(),
            "{method} {path}: no error response documented"
        );
        let has_example = |c: &Value| c.get("example").is_some() || c.get("examples").is_some();
        if let Some(body) = op.get("requestBody") {
            for (media, c) in resolve(&doc, body)["content"].as_object().unwrap() {
                assert!(
                    !media.contains("json") || has_example(c),
                    "{method} {path}: request body without example"
                );
            }
        }
        for (status, r) in op["responses"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(s, _)| s.starts_with('2'))
        {
            for (media, c) in resolve(&doc, r)["content"]
                .as_object()
                .into_iter()
                .flatten()
            {
                assert!(
                    !media.contains("json") || has_example(c),
                    "{method} {path} {status}: response without example"
                );
            }
        }
        for (status, r) in errors {
            assert!(
                r["content"]["application/problem+json"].is_object(),
                "{method} {path} {status}: not problem+json"
            );
        }
    }
}

/// Runs the Python `openapi-spec-validator` (pip package) on the served document. In CI it must
/// be installed; on a workstation without it the test says SKIPPED.
#[tokio::test]
async fn openapi_document_passes_a_validator() {
    let app = spawn_app().await;
    let (text, _) = openapi(&app).await;
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = Command::new(&python)
        .args(["-c", "import openapi_spec_validator"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but `{python} -m openapi_spec_validator` is not available: pip install openapi-spec-validator"
        );
        eprintln!("\n*** SKIPPED openapi_document_passes_a_validator: pip install openapi-spec-validator ***\n");
        return;
    }
    let file = app.dir.path().join("openapi.json");
    std::fs::write(&file, &text).unwrap();
    let out = Command::new(&python)
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openapi-spec-validator refused the document:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The text of the `**METHOD PATH` operation in llms-full.txt (up to the next bold line,
/// rule or `## ` section).
fn section<'a>(text: &'a str, method: &str, path: &str) -> &'a str {
    let head = format!("**{method} {path}");
    let start = text
        .lines()
        .scan(0, |pos, l| {
            let at = *pos;
            *pos += l.len() + 1;
            Some((at, l))
        })
        .find(|(_, l)| *l == head || l.starts_with(&format!("{head} ")))
        .unwrap_or_else(|| panic!("llms-full.txt has no section `{head}`"))
        .0;
    let rest = &text[start + head.len()..];
    let end = ["\n## ", "\n**", "\n---\n"]
        .iter()
        .filter_map(|m| rest.find(m))
        .min()
        .unwrap_or(rest.len());
    &rest[..end]
}

/// llmstxt.org's layout: `# ` title, one `> ` summary line, prose without headings, then
/// `## ` sections in which every line is a `- [name](url): notes` link. Returns the links.
fn llms_layout(text: &str) -> Vec<(String, String)> {
    assert!(text.starts_with("# linkdock\n\n> "), "{text}");
    let (prose, sections) = text.split_at(text.find("\n## ").expect("no `## ` section") + 1);
    for line in prose.lines().skip(1) {
        assert!(
            !line.starts_with('#'),
            "a heading before the sections: {line}"
        );
    }
    let mut links = Vec::new();
    for line in sections.lines().filter(|l| !l.trim().is_empty()) {
        if line.starts_with("## ") {
            continue;
        }
        let rest = line
            .strip_prefix("- [")
            .unwrap_or_else(|| panic!("not a link: {line}"));
        let (name, rest) = rest
            .split_once("](")
            .unwrap_or_else(|| panic!("not a link: {line}"));
        let (url, notes) = rest
            .split_once(')')
            .unwrap_or_else(|| panic!("not a link: {line}"));
        assert!(url.starts_with("http"), "not absolute: {line}");
        assert!(notes.is_empty() || notes.starts_with(": "), "{line}");
        links.push((name.to_owned(), url.to_owned()));
    }
    links
}

/// `/api/llms.txt` is the index: links to the documents, the error pages and every operation,
/// each of which opens.
#[tokio::test]
async fn llms_txt_is_an_index_of_links_that_open() {
    let app = spawn_with(Options {
        public_url: Some(String::new()),
        ..Options::default()
    })
    .await;
    let (_, doc) = openapi(&app).await;
    let res = app.http.get(app.url("/api/llms.txt")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(crate::support::content_type(&res).starts_with("text/plain"));
    let text = res.text().await.unwrap();
    let links = llms_layout(&text);
    for doc_path in [
        "/api/openapi.json",
        "/swagger-ui/",
        "/api/llms-full.txt",
        "/docs/errors",
    ] {
        assert!(
            links.iter().any(|(_, u)| *u == app.url(doc_path)),
            "{doc_path} not linked"
        );
    }
    for tag in doc["tags"].as_array().unwrap() {
        assert!(
            text.contains(&format!("\n## {}\n", tag["name"].as_str().unwrap())),
            "{tag}"
        );
    }
    // Each operation links to its own object in the document, by JSON pointer.
    for (method, path, _) in operations(&doc) {
        let link = links
            .iter()
            .find(|(n, _)| n.starts_with(&format!("{method} {path} ")))
            .unwrap_or_else(|| panic!("{method} {path} not linked"));
        let (page, fragment) = link.1.split_once('#').expect("a fragment");
        assert_eq!(page, app.url("/api/openapi.json"));
        let pointer = fragment.replace("%7B", "{").replace("%7D", "}");
        let op = doc
            .pointer(&pointer)
            .unwrap_or_else(|| panic!("{pointer} is not in the document"));
        assert!(
            op["operationId"].is_string(),
            "{pointer} is not an operation"
        );
    }
    let mut opened = std::collections::BTreeSet::new();
    for (_, url) in &links {
        let page = url.split('#').next().unwrap().to_owned();
        if opened.insert(page.clone()) {
            let res = app.http.get(&page).send().await.unwrap();
            assert_eq!(res.status(), 200, "{page}");
        }
    }
}

#[tokio::test]
async fn llms_full_txt_covers_every_operation_of_the_document() {
    let app = spawn_app().await;
    let (_, doc) = openapi(&app).await;
    let res = app
        .http
        .get(app.url("/api/llms-full.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(crate::support::content_type(&res).starts_with("text/plain"));
    let text = res.text().await.unwrap();
    llms_layout(&text);
    assert!(text.contains("\n**Authentication**\n"));
    for scheme in doc["components"]["securitySchemes"]
        .as_object()
        .unwrap()
        .keys()
    {
        assert!(
            text.contains(&format!("`{scheme}`")),
            "scheme {scheme} not explained"
        );
    }
    for tag in doc["tags"].as_array().unwrap() {
        assert!(
            text.contains(&format!("\n## {}\n", tag["name"].as_str().unwrap())),
            "no section for {tag}"
        );
    }
    // support::base_config sets this public_url; curl examples must use it, not the socket.
    let public = "http://127.0.0.1:8080";
    for (method, path, op) in operations(&doc) {
        let s = section(&text, &method, &path);
        let ctx = format!("{method} {path}:\n{s}");
        if let Some(d) = op["description"].as_str() {
            assert!(
                s.contains(d.lines().next().unwrap()),
                "description missing: {ctx}"
            );
        }
        assert!(s.contains("Authentication: "), "{ctx}");
        for p in op["parameters"].as_array().into_iter().flatten() {
            let p = resolve(&doc, p);
            assert!(
                s.contains(&format!("`{}`", p["name"].as_str().unwrap())),
                "parameter {p} missing: {ctx}"
            );
        }
        if let Some(body) = op.get("requestBody") {
            for content in resolve(&doc, body)["content"].as_object().unwrap().values() {
                let schema = resolve(&doc, &content["schema"]);
                let required: Vec<&str> = schema["required"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                for (field, _) in schema["properties"].as_object().into_iter().flatten() {
                    let line = s
                        .lines()
                        .find(|l| l.starts_with(&format!("- `{field}` (")))
                        .unwrap_or_else(|| panic!("body field {field} missing: {ctx}"));
                    let want = if required.contains(&field.as_str()) {
                        "required"
                    } else {
                        "optional"
                    };
                    assert!(line.contains(want), "{field} should say {want}: {line}");
                }
            }
        }
        for status in op["responses"].as_object().unwrap().keys() {
            assert!(
                s.contains(&format!("- {status}: ")),
                "response {status} missing: {ctx}"
            );
        }
        let path_start = path.split('{').next().unwrap();
        assert!(
            s.contains(&format!("curl -X {method} '{public}{path_start}")),
            "curl example with public_url missing: {ctx}"
        );
    }
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_binary_on_the_document() {
    let app = spawn_app().await;
    let res = app.http.get(app.url("/swagger-ui")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/swagger-ui/");
    let res = app.http.get(app.url("/swagger-ui/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(crate::support::content_type(&res).starts_with("text/html"));
    let html = res.text().await.unwrap();
    for asset in ["swagger-ui-bundle.js", "swagger-ui.css"] {
        assert!(html.contains(asset), "{asset} not referenced");
        let res = app
            .http
            .get(app.url(&format!("/swagger-ui/{asset}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{asset}");
    }
    // Its settings ride on the page, for web/js/swagger.js to start it with.
    assert!(
        html.contains("&quot;url&quot;:&quot;/api/openapi.json&quot;"),
        "{html}"
    );
    assert!(
        !html.contains("https://"),
        "Swagger UI must not load anything remote"
    );
    let res = app
        .http
        .get(app.url("/swagger-ui/nope.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

const DOCS: [&str; 3] = ["/api/openapi.json", "/api/llms.txt", "/api/llms-full.txt"];

#[tokio::test]
async fn public_docs_need_no_credentials() {
    let app = spawn_app().await;
    for path in DOCS.iter().chain(&["/swagger-ui/"]) {
        let res = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn private_docs_need_a_session_or_a_key() {
    let (key, toml) = declared_key("docs-reader");
    let app = spawn_with(Options {
        extra_toml: format!("[docs]\npublic = false\n{toml}"),
        ..Options::default()
    })
    .await;
    for path in DOCS.iter().chain(&["/swagger-ui/swagger-ui-bundle.js"]) {
        let res = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 401, "{path}");
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        assert_eq!(res.headers()["www-authenticate"], "Bearer");
        let res = app
            .http
            .get(app.url(path))
            .bearer_auth("ldk_nonsense")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{path} with a bad key");
    }
    let res = app.http.get(app.url("/swagger-ui/")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/ui/login?next=%2Fswagger-ui%2F");

    for path in DOCS.iter().chain(&["/swagger-ui/"]) {
        let res = app
            .http
            .get(app.url(path))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path} with a key");
    }
    let session = app.admin().await;
    for path in DOCS.iter().chain(&["/swagger-ui/"]) {
        let res = session.get(path).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path} signed in");
    }
    // Same bytes whoever asks.
    let a = session
        .get("/api/openapi.json")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let b = app
        .http
        .get(app.url("/api/openapi.json"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(a, b);
}

#[tokio::test]
async fn docs_public_follows_a_config_reload() {
    let app = spawn_app().await;
    assert_eq!(
        app.http
            .get(app.url("/api/llms.txt"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.rewrite_config("[docs]\npublic = false\n");
    crate::support::eventually(20, || async {
        let s = app
            .http
            .get(app.url("/api/llms.txt"))
            .send()
            .await
            .unwrap()
            .status();
        (s == 401).then_some(())
    })
    .await;
}

#[tokio::test]
async fn manual_integration_page_needs_a_session_and_loads_its_script() {
    let app = spawn_app().await;
    let res = app
        .http
        .get(app.url("/ui/integrations/manual"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/ui/login?next="));
    let session = app.admin().await;
    let res = session.get("/ui/integrations/manual").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    for needle in [
        "API Documentation",
        "Copy LLM.txt",
        "Copy openapi.json",
        "/static/js/api-docs.js",
        "data-public-url=\"http://127.0.0.1:8080\"",
    ] {
        assert!(html.contains(needle), "{needle} missing");
    }
    assert!(!html.contains("<script>"), "no inline script (CSP)");
}

/// Every problem `type` is an absolute URL on the server's own base, and opening it (as a
/// browser would, without a fragment) gives an HTML page that names the error. The index page
/// links every type, and each link opens too.
#[tokio::test]
async fn problem_types_are_absolute_urls_that_open_a_page() {
    let app = spawn_with(Options {
        public_url: Some(String::new()),
        ..Options::default()
    })
    .await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    let bearer = |v: &str| {
        app.http
            .get(app.url("/api/v1/links"))
            .header("authorization", v.to_owned())
    };
    let cases: Vec<(&str, reqwest::RequestBuilder)> = vec![
        ("not-found", admin.get("/api/v1/links/987654")),
        ("not-found", app.http.get(app.url("/api/v1/no-such-thing"))),
        (
            "method-not-allowed",
            app.http.delete(app.url("/api/openapi.json")),
        ),
        (
            "validation",
            admin
                .post("/api/v1/domains")
                .json(&serde_json::json!({"hostname": "not a host"})),
        ),
        (
            "bad-request",
            admin
                .post("/api/v1/domains")
                .header("content-type", "application/json")
                .body("{"),
        ),
        (
            "unsupported-media-type",
            admin
                .post("/api/v1/domains")
                .header("content-type", "text/plain")
                .body("x"),
        ),
        (
            "conflict",
            admin
                .post("/api/v1/domains")
                .json(&serde_json::json!({"hostname": "go.example.com"})),
        ),
        (
            "forbidden",
            admin
                .http
                .post(app.url("/api/v1/domains"))
                .json(&serde_json::json!({"hostname": "a.example.com"})),
        ),
        (
            "unauthenticated/missing",
            app.http.get(app.url("/api/v1/links")),
        ),
        ("unauthenticated/not_bearer", bearer("Basic YTpi")),
        ("unauthenticated/malformed", bearer("Bearer nope")),
    ];
    for (want, req) in cases {
        let res = req.send().await.unwrap();
        assert!(res.status().as_u16() >= 400, "{want}");
        let body: Value = res.json().await.unwrap();
        let kind = body["type"].as_str().unwrap().to_owned();
        assert_eq!(kind, app.url(&format!("/docs/errors/{want}")), "{body}");
        let page = app.http.get(&kind).send().await.unwrap();
        assert_eq!(page.status(), 200, "{kind}");
        assert!(crate::support::content_type(&page).starts_with("text/html"));
        let html = page.text().await.unwrap();
        assert!(
            html.contains(&format!("<code>{want}</code>")),
            "{kind}: {html}"
        );
        assert!(html.contains("What to do"), "{kind}");
    }

    let index = app.text("/docs/errors").await;
    let links: Vec<&str> = index
        .split("href=\"/docs/errors/")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect();
    assert!(links.len() >= 20, "{index}");
    for slug in links {
        let res = app
            .http
            .get(app.url(&format!("/docs/errors/{slug}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{slug}");
    }
    let res = app
        .http
        .get(app.url("/docs/errors/no-such-error"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

/// With `public_url` set, problem types start with it.
#[tokio::test]
async fn problem_types_start_with_the_public_url() {
    let app = spawn_app().await;
    let res = app.http.get(app.url("/api/v1/links")).send().await.unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["type"],
        "http://127.0.0.1:8080/docs/errors/unauthenticated/missing"
    );
}

/// `servers` names the origin the request reached first (Swagger UI calls it), then the
/// configured `public_url`.
#[tokio::test]
async fn openapi_servers_name_this_server_then_the_public_url() {
    let app = spawn_app().await;
    let (_, doc) = openapi(&app).await;
    assert_eq!(doc["servers"][0]["url"], app.base.as_str());
    assert_eq!(doc["servers"][1]["url"], "http://127.0.0.1:8080");
}
