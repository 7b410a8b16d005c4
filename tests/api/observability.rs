//! What the tools people already run read from linkdock: RFC 6750 challenges, the Prometheus
//! exposition, JSON log lines.

use serde_json::{json, Value};

use crate::support::{call, spawn_with, Options, Session, TestApp};

async fn with_link(app: &TestApp) -> (Session, u64) {
    let admin = app.admin().await;
    admin
        .post_json(
            "/api/v1/domains",
            json!({"hostname": "go.example.com"}),
            201,
        )
        .await;
    let link = admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "go.example.com", "slug": "docs", "destination_url": "https://example.com/docs"}),
            201,
        )
        .await;
    (admin, link["id"].as_u64().unwrap())
}

async fn key_with(admin: &Session, permissions: &[&str]) -> String {
    let v = admin
        .post_json(
            "/api/v1/api-keys",
            json!({"name": "reader", "permissions": permissions}),
            201,
        )
        .await;
    v["key"].as_str().unwrap().to_owned()
}

fn challenge(res: &reqwest::Response) -> &str {
    res.headers()["www-authenticate"].to_str().unwrap()
}

#[tokio::test]
async fn each_refusal_answers_the_rfc_6750_challenge_that_fits_it() {
    let app = spawn_with(Options::default()).await;
    let (admin, _) = with_link(&app).await;

    // No credentials at all: plain `Bearer`, no error code (§3.1).
    let res = app.http.get(app.url("/api/v1/links")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(challenge(&res), "Bearer");

    // A key of the wrong shape and a well-formed unknown key: `invalid_token`, never the key.
    let unknown = key_with(&admin, &["links:read"]).await;
    let unknown = format!("{}x", &unknown[..unknown.len() - 1]);
    for key in ["ldk_nonsense", unknown.as_str()] {
        let res = app
            .http
            .get(app.url("/api/v1/links"))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        let c = challenge(&res);
        assert!(c.starts_with("Bearer error=\"invalid_token\""), "{c}");
        assert!(!c.contains(key), "{c}");
    }

    // A valid key without the permission the route needs: 403 `insufficient_scope` naming it.
    let reader = key_with(&admin, &["links:read"]).await;
    let res = app
        .http
        .post(app.url("/api/v1/links"))
        .bearer_auth(&reader)
        .json(&json!({"domain": "go.example.com", "destination_url": "https://example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        challenge(&res),
        "Bearer error=\"insufficient_scope\", scope=\"links:write\""
    );
    // The same key where it may go: no challenge.
    let res = app
        .http
        .get(app.url("/api/v1/links"))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("www-authenticate").is_none());
}

#[tokio::test]
async fn metrics_carry_a_latency_histogram_methods_process_and_build_info() {
    let app = spawn_with(Options::default()).await;
    let (admin, id) = with_link(&app).await;
    let res = app
        .http
        .get(app.url("/docs"))
        .header("host", "go.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let res = app
        .http
        .head(app.url("/nope"))
        .header("host", "go.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    call(admin.get(&format!("/api/v1/links/{id}")), 200).await;
    let text = app.text("/metrics").await;
    for line in [
        "# TYPE linkdock_http_request_duration_seconds histogram",
        "linkdock_http_request_duration_seconds_bucket{route=\"/{slug}\",method=\"GET\",status=\"3xx\",le=\"+Inf\"} 1",
        "linkdock_http_request_duration_seconds_count{route=\"/{slug}\",method=\"GET\",status=\"3xx\"} 1",
        "linkdock_http_request_duration_seconds_count{route=\"/{slug}\",method=\"HEAD\",status=\"4xx\"} 1",
        "linkdock_http_request_duration_seconds_count{route=\"/api/v1/links/{id}\",method=\"GET\",status=\"2xx\"} 1",
        "linkdock_http_requests_total{route=\"/{slug}\",method=\"GET\",status=\"302\"} 1",
        "linkdock_http_requests_total{route=\"/{slug}\",method=\"HEAD\",status=\"404\"} 1",
        "linkdock_http_requests_total{route=\"/api/v1/links/{id}\",method=\"GET\",status=\"200\"} 1",
        "# TYPE process_cpu_seconds_total counter",
        "# TYPE process_resident_memory_bytes gauge",
        "# TYPE process_virtual_memory_bytes gauge",
        "# TYPE process_open_fds gauge",
        "# TYPE process_max_fds gauge",
        "# TYPE process_start_time_seconds gauge",
        &format!(
            "linkdock_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        ),
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
    let value = |name: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} missing from\n{text}"));
        line[name.len() + 1..].parse().unwrap()
    };
    assert!(value("process_resident_memory_bytes") > 1e6);
    assert!(value("process_open_fds") >= 3.0);
    assert!(value("process_start_time_seconds") > 1.7e9);
}

/// The log as JSON values, one a line; every line must parse and carry the top-level fields.
fn json_lines(app: &TestApp) -> Vec<Value> {
    app.logs()
        .lines()
        .map(|l| {
            let v: Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
            for field in ["timestamp", "level", "message"] {
                assert!(v[field].is_string(), "no top-level {field}: {l}");
            }
            assert!(v.get("fields").is_none(), "nested fields: {l}");
            v
        })
        .collect()
}

fn access_line(app: &TestApp, request_id: &str) -> Value {
    json_lines(app)
        .into_iter()
        .find(|v| v["request_id"] == request_id && v.get("status").is_some())
        .unwrap_or_else(|| panic!("no access line for {request_id}:\n{}", app.logs()))
}

#[tokio::test]
async fn json_access_lines_keep_a_well_formed_upstream_request_id() {
    let app = spawn_with(Options {
        extra_toml: "\n[log]\nformat = \"json\"\naccess = true\n".into(),
        ..Default::default()
    })
    .await;
    let (admin, id) = with_link(&app).await;

    let res = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", "upstream-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "upstream-123");
    app.wait_for_log("upstream-123", 5).await;
    let line = access_line(&app, "upstream-123");
    assert_eq!(line["level"], "INFO", "{line}");
    assert_eq!(line["method"], "GET", "{line}");
    assert_eq!(line["route"], "/healthz", "{line}");
    assert_eq!(line["status"], 200, "{line}");
    assert!(line["duration_ms"].as_f64().unwrap() >= 0.0, "{line}");
    assert_eq!(line["client_ip"], "127.0.0.1", "{line}");

    // The route is the pattern, never the raw path.
    let res = admin
        .get(&format!("/api/v1/links/{id}"))
        .header("x-request-id", "read-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.wait_for_log("read-1", 5).await;
    assert_eq!(access_line(&app, "read-1")["route"], "/api/v1/links/{id}");

    // Short links are logged too.
    let res = app
        .http
        .get(app.url("/docs"))
        .header("host", "go.example.com")
        .header("x-request-id", "click-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["x-request-id"], "click-1");
    app.wait_for_log("click-1", 5).await;
    let line = access_line(&app, "click-1");
    assert_eq!(line["route"], "/{slug}", "{line}");
    assert_eq!(line["status"], 302, "{line}");

    // Too long, or with a control character: replaced by our own id, which is logged.
    let long = "a".repeat(200);
    let tab = http::HeaderValue::from_static("bad\tid");
    for sent in [http::HeaderValue::from_str(&long).unwrap(), tab] {
        let res = app
            .http
            .get(app.url("/healthz"))
            .header("x-request-id", sent.clone())
            .send()
            .await
            .unwrap();
        let echoed = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_ne!(echoed.as_bytes(), sent.as_bytes());
        assert_eq!(echoed.len(), 16, "{echoed}");
        app.wait_for_log(&echoed, 5).await;
        assert_eq!(access_line(&app, &echoed)["route"], "/healthz");
    }
    assert!(!app.logs().contains(&long));
    json_lines(&app);
}
