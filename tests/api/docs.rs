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
            "Backups",
            "Domains",
            "Import & Export",
            "Keys",
            "Links",
            "Playground",
            "Session"
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

/// The text of the `### METHOD PATH` section (up to the next `##`).
fn section<'a>(text: &'a str, method: &str, path: &str) -> &'a str {
    let head = format!("### {method} {path}");
    let start = text
        .lines()
        .scan(0, |pos, l| {
            let at = *pos;
            *pos += l.len() + 1;
            Some((at, l))
        })
        .find(|(_, l)| *l == head || l.starts_with(&format!("{head} ")))
        .unwrap_or_else(|| panic!("llms.txt has no section `{head}`"))
        .0;
    let rest = &text[start + head.len()..];
    let end = rest
        .find("\n## ")
        .into_iter()
        .chain(rest.find("\n### "))
        .min()
        .unwrap_or(rest.len());
    &rest[..end]
}

#[tokio::test]
async fn llms_txt_covers_every_operation_of_the_document() {
    let app = spawn_app().await;
    let (_, doc) = openapi(&app).await;
    let res = app.http.get(app.url("/api/llms.txt")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(crate::support::content_type(&res).starts_with("text/plain"));
    let text = res.text().await.unwrap();
    assert!(
        text.starts_with(&format!("# {}\n", doc["info"]["title"].as_str().unwrap())),
        "{text}"
    );
    assert!(text.lines().any(|l| l.starts_with("> ")), "no summary line");
    assert!(text.contains("\n## Authentication\n"));
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

const DOCS: [&str; 2] = ["/api/openapi.json", "/api/llms.txt"];

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
