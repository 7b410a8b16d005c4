//! The keyed read, `GET /api/v1/links/{id}` with an API key, is answered ahead of routing
//! when the key passes every check (`api::links::keyed_read`). Whichever way it goes, it
//! answers and leaves behind what any request does: the body, the request id, the rate-limit
//! headers and 429, the request log and usage counts, the metrics and the access line; and a
//! key it cannot vouch for is judged as on any route.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{call, content_type, eventually, expect, spawn_with, Options, TestApp};

fn keyed(app: &TestApp, key: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
    app.http.request(method, app.url(path)).bearer_auth(key)
}

fn header<'a>(res: &'a reqwest::Response, name: &str) -> &'a str {
    res.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

/// The `/metrics` sample of `GET /api/v1/links/{id}` answered with `status`.
fn reads(metrics: &str, status: u16) -> u64 {
    let name = format!(
        "linkdock_http_requests_total{{route=\"/api/v1/links/{{id}}\",method=\"GET\",status=\"{status}\"}} "
    );
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&name))
        .map_or(0, |n| n.parse().unwrap())
}

#[tokio::test]
async fn a_keyed_read_answers_and_records_like_any_request() {
    let app = spawn_with(Options {
        test_clock: true,
        extra_toml: "\n[log]\nformat = \"json\"\naccess = true\n".into(),
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    admin.domain("a.example.com").await;
    admin.domain("b.example.com").await;
    let la = admin.post_json("/api/v1/links", json!({"domain": "a.example.com", "slug": "one", "destination_url": "https://e.com/a?q=\"x\"", "title": "Ünïcode \\ title", "tags": ["t1"]}), 201).await;
    let lb = admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "b.example.com", "slug": "two", "destination_url": "https://e.com/b"}),
            201,
        )
        .await;
    let la_path = format!("/api/v1/links/{}", la["id"]);
    let lb_path = format!("/api/v1/links/{}", lb["id"]);
    let created = admin
        .post_json(
            "/api/v1/api-keys",
            json!({"name": "reader", "permissions": ["links:read"], "domains": ["a.example.com"], "rate_limit_per_minute": 4}),
            201,
        )
        .await;
    let key = created["key"].as_str().unwrap();
    let key_id = created["id"].as_u64().unwrap();
    let session_read = call(admin.get(&la_path), 200).await;
    app.start_a_minute();

    // 200: the body a session read gets, the caller's request id, the key's quota.
    let res = keyed(&app, key, Method::GET, &la_path)
        .header("x-request-id", "keyed-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(content_type(&res), "application/json");
    assert_eq!(header(&res, "x-request-id"), "keyed-1");
    assert_eq!(header(&res, "ratelimit-policy"), "4;w=60");
    assert!(header(&res, "ratelimit").starts_with("limit=4, remaining=3, reset="));
    assert_eq!(res.json::<Value>().await.unwrap(), session_read);

    // Out of the key's scope, and unknown: 404 problems, each spending the quota.
    for (path, remaining) in [(lb_path.as_str(), 2), ("/api/v1/links/424242", 1)] {
        let res = keyed(&app, key, Method::GET, path).send().await.unwrap();
        assert!(
            header(&res, "ratelimit").contains(&format!("remaining={remaining},")),
            "{path}"
        );
        assert_eq!(header(&res, "x-request-id").len(), 16, "an id of our own");
        let p = expect(res, 404).await;
        assert_eq!(p["detail"], "link not found", "{p}");
    }
    // Digits are read as routing reads them: a leading zero names the same link.
    let zero = format!("/api/v1/links/00{}", la["id"]);
    assert_eq!(
        call(keyed(&app, key, Method::GET, &zero), 200).await,
        session_read
    );
    // Past the limit: 429 with Retry-After and the quota.
    let res = keyed(&app, key, Method::GET, &la_path)
        .send()
        .await
        .unwrap();
    assert!(header(&res, "retry-after").parse::<u64>().unwrap() <= 60);
    assert!(header(&res, "ratelimit").contains("remaining=0,"));
    expect(res, 429).await;

    // The request log holds each of them, newest first, with its path and status.
    let log = eventually(5, || async {
        let v = call(
            admin.get(&format!("/api/v1/api-keys/{key_id}/requests")),
            200,
        )
        .await;
        if v["total"] == 5 {
            Ok(v)
        } else {
            Err(v.to_string())
        }
    })
    .await;
    let trail: Vec<(&str, u64)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["method"], "GET", "{r}");
            assert_eq!(r["ip"], "127.0.0.1", "{r}");
            (r["path"].as_str().unwrap(), r["status"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(
        trail,
        [
            (la_path.as_str(), 429),
            (zero.as_str(), 200),
            ("/api/v1/links/424242", 404),
            (lb_path.as_str(), 404),
            (la_path.as_str(), 200),
        ]
    );
    let k = call(admin.get(&format!("/api/v1/api-keys/{key_id}")), 200).await;
    assert_eq!(k["request_count"], 5, "{k}");
    assert!(k["last_used_at"].is_string(), "{k}");

    // Counted by route and status (the session read among the 200s), and logged by route.
    let metrics = app.text("/metrics").await;
    assert_eq!(
        (
            reads(&metrics, 200),
            reads(&metrics, 404),
            reads(&metrics, 429)
        ),
        (3, 2, 1),
        "{metrics}"
    );
    app.wait_for_log("keyed-1", 5).await;
    let line = app
        .logs()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["request_id"] == "keyed-1" && v.get("status").is_some())
        .unwrap_or_else(|| panic!("no access line:\n{}", app.logs()));
    assert_eq!(line["route"], "/api/v1/links/{id}", "{line}");
    assert_eq!(line["status"], 200, "{line}");
    assert_eq!(line["client_ip"], "127.0.0.1", "{line}");
    assert!(!app.logs().contains(key), "the key reached the log");
}

#[tokio::test]
async fn keys_the_fast_read_cannot_vouch_for_are_judged_as_on_any_route() {
    let app = spawn_with(Options::default()).await;
    let admin = app.admin().await;
    admin.domain("a.example.com").await;
    let link = admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "a.example.com", "slug": "one", "destination_url": "https://e.com/a"}),
            201,
        )
        .await;
    let path = format!("/api/v1/links/{}", link["id"]);
    let key = |body: Value| {
        let admin = &admin;
        async move {
            let v = admin.post_json("/api/v1/api-keys", body, 201).await;
            (
                v["key"].as_str().unwrap().to_owned(),
                v["id"].as_u64().unwrap(),
            )
        }
    };

    // Without `links:read`: 403 naming the permission.
    let (writer, _) = key(json!({"name": "w", "permissions": ["domains:read"]})).await;
    let p = call(keyed(&app, &writer, Method::GET, &path), 403).await;
    assert!(p["detail"].as_str().unwrap().contains("links:read"), "{p}");
    // From outside its IP rule: 403, logged as refused at the gate.
    let (fenced, fenced_id) =
        key(json!({"name": "f", "allow_all_ips": false, "ip_whitelist": ["10.0.0.1"]})).await;
    let p = call(keyed(&app, &fenced, Method::GET, &path), 403).await;
    assert!(
        p["detail"].as_str().unwrap().contains("IP whitelist"),
        "{p}"
    );
    // Revoked: 401, on the very next request.
    let (gone, gone_id) = key(json!({"name": "g"})).await;
    call(keyed(&app, &gone, Method::GET, &path), 200).await;
    admin
        .post_json(
            &format!("/api/v1/api-keys/{gone_id}/revoke"),
            json!({}),
            200,
        )
        .await;
    call(keyed(&app, &gone, Method::GET, &path), 401).await;
    // Not a key of this server, and not a bearer header at all: 401.
    let forged = format!("{}x", &gone[..gone.len() - 1]);
    call(keyed(&app, &forged, Method::GET, &path), 401).await;
    let basic = app
        .http
        .get(app.url(&path))
        .header("authorization", "Basic YTpi");
    call(basic, 401).await;
    // A read that carries a body, and other methods, go the usual way.
    let (reader, _) = key(json!({"name": "r"})).await;
    call(keyed(&app, &reader, Method::GET, &path).body("{}"), 200).await;
    let p = call(keyed(&app, &reader, Method::POST, &path), 405).await;
    assert!(p["detail"].as_str().unwrap().contains("POST"), "{p}");

    // The refused keys' request logs show the refusals.
    for (id, status) in [(fenced_id, 403), (gone_id, 401)] {
        let log = eventually(5, || async {
            let v = call(admin.get(&format!("/api/v1/api-keys/{id}/requests")), 200).await;
            if v["items"][0]["status"] == status {
                Ok(v)
            } else {
                Err(v.to_string())
            }
        })
        .await;
        assert_eq!(log["items"][0]["path"], path.as_str(), "{log}");
    }
    let failures = app.text("/metrics").await;
    for reason in ["revoked", "ip"] {
        assert!(
            failures.contains(&format!(
                "linkdock_auth_failures_total{{reason=\"{reason}\"}} 1"
            )),
            "{reason}: {failures}"
        );
    }
}

/// The keyed read copies the JSON a worker wrote for a link last time, with the click count
/// written fresh (`api::links::link_json`): every change to the link or its domain shows on
/// the very next read, clicks as soon as they are counted, and links that share a slot of the
/// cache never answer for each other.
#[tokio::test]
async fn a_keyed_read_answers_a_link_as_it_is_now() {
    let app = spawn_with(Options::default()).await;
    let admin = app.admin().await;
    let domain = admin.domain("a.example.com").await;
    let make = |host: &'static str, slug: String| {
        let admin = &admin;
        async move {
            admin
                .post_json(
                    "/api/v1/links",
                    json!({"domain": host, "slug": slug, "destination_url": format!("https://e.com/{slug}")}),
                    201,
                )
                .await
        }
    };
    let link = make("a.example.com", "one".into()).await;
    let path = format!("/api/v1/links/{}", link["id"]);
    let key = admin
        .post_json("/api/v1/api-keys", json!({"name": "reader"}), 201)
        .await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    // Every keyed read (both workers' caches filled, whichever serves) equals the session's.
    let same_as_session = || async {
        let by_session = call(admin.get(&path), 200).await;
        for _ in 0..4 {
            assert_eq!(
                call(keyed(&app, &key, Method::GET, &path), 200).await,
                by_session
            );
        }
        by_session
    };
    assert_eq!(same_as_session().await["title"], Value::Null);

    // An edit of the link.
    call(
        admin.put(&path).json(
            &json!({"title": "Now titled", "tags": ["t"], "destination_url": "https://e.com/new"}),
        ),
        200,
    )
    .await;
    let now = same_as_session().await;
    assert_eq!(
        (&now["title"], &now["tags"], &now["destination_url"]),
        (
            &json!("Now titled"),
            &json!(["t"]),
            &json!("https://e.com/new")
        )
    );

    // Clicks, counted after the fact by the writer.
    for _ in 0..3 {
        let res = app
            .http
            .get(app.url("/one"))
            .header("host", "a.example.com")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302);
    }
    eventually(10, || async {
        let v = call(keyed(&app, &key, Method::GET, &path), 200).await;
        (v["clicks"] == 3).then_some(()).ok_or(v.to_string())
    })
    .await;
    assert_eq!(same_as_session().await["clicks"], 3);

    // A rename of its domain: the host and short URL move with it.
    call(
        admin
            .put(&format!("/api/v1/domains/{}", domain["id"]))
            .json(&json!({"hostname": "b.example.com"})),
        200,
    )
    .await;
    let renamed = same_as_session().await;
    assert_eq!(
        (&renamed["domain"], &renamed["short_url"]),
        (&json!("b.example.com"), &json!("http://b.example.com/one"))
    );

    // A link whose id falls in the same slot: each answers for itself, in turn.
    let first = link["id"].as_u64().unwrap();
    let mut other = make("b.example.com", "two".into()).await;
    let mut n = 3;
    while other["id"].as_u64().unwrap() % 64 != first % 64 {
        other = make("b.example.com", format!("l{n}")).await;
        n += 1;
    }
    let other_path = format!("/api/v1/links/{}", other["id"]);
    for _ in 0..3 {
        let a = call(keyed(&app, &key, Method::GET, &path), 200).await;
        let b = call(keyed(&app, &key, Method::GET, &other_path), 200).await;
        assert_eq!((&a["id"], &b["id"]), (&link["id"], &other["id"]));
    }

    // Deleted: gone at once.
    call(admin.delete(&path), 204).await;
    call(keyed(&app, &key, Method::GET, &path), 404).await;
}
