use serde_json::json;

use crate::support::{call, eventually, expect, spawn_app, spawn_with, Options, Session, TestApp};

async fn with_domain(app: &TestApp, host: &str) -> (Session, serde_json::Value) {
    let admin = app.admin().await;
    let d = admin
        .post_json("/api/v1/domains", json!({"hostname": host}), 201)
        .await;
    (admin, d)
}

#[tokio::test]
async fn domains_are_validated_unique_renamable_and_guarded_on_delete() {
    let app = spawn_app().await;
    let (admin, d) = with_domain(&app, "Go.Example.COM").await;
    assert_eq!(d["hostname"], "go.example.com");
    assert_eq!(d["link_count"], 0);
    assert_eq!(d["source"], "api");
    let p = admin
        .post_json(
            "/api/v1/domains",
            json!({"hostname": "go.example.com"}),
            409,
        )
        .await;
    assert_eq!(p["status"], 409);
    for bad in ["http://x.com", "x.com:80", "", "a b.com", "-x.com"] {
        let p = admin
            .post_json("/api/v1/domains", json!({"hostname": bad}), 400)
            .await;
        assert_eq!(p["errors"][0]["field"], "hostname", "{bad}");
    }
    let id = d["id"].as_u64().unwrap();
    admin.post_json("/api/v1/links", json!({"domain": "go.example.com", "slug": "a", "destination_url": "https://example.com"}), 201).await;
    let got = call(admin.get(&format!("/api/v1/domains/{id}")), 200).await;
    assert_eq!(got["link_count"], 1);

    let p = call(admin.delete(&format!("/api/v1/domains/{id}")), 409).await;
    assert!(p["detail"].as_str().unwrap().contains("force"), "{p}");

    let renamed = call(
        admin
            .put(&format!("/api/v1/domains/{id}"))
            .json(&json!({"hostname": "links.example.com"})),
        200,
    )
    .await;
    assert_eq!(renamed["hostname"], "links.example.com");
    let res = app
        .http
        .get(app.url("/a"))
        .header("host", "links.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302, "links move with the renamed domain");

    call(
        admin.delete(&format!("/api/v1/domains/{id}?force=true")),
        204,
    )
    .await;
    call(admin.get(&format!("/api/v1/domains/{id}")), 404).await;
    let list = call(admin.get("/api/v1/links"), 200).await;
    assert_eq!(list["total"], 0, "force deleted the links too");
}

#[tokio::test]
async fn links_are_created_with_defaults_and_validated_per_field() {
    let app = spawn_app().await;
    let (admin, _) = with_domain(&app, "go.example.com").await;
    let l = admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "go.example.com", "destination_url": "https://example.com/docs"}),
            201,
        )
        .await;
    let slug = l["slug"].as_str().unwrap();
    assert_eq!(slug.len(), 7);
    assert!(slug.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(l["redirect_code"], 302);
    assert_eq!(l["short_url"], format!("http://go.example.com/{slug}"));
    assert_eq!(l["clicks"], 0);
    assert_eq!(l["expires_at"], serde_json::Value::Null);
    assert_eq!(l["tags"], json!([]));

    let cases = [
        (
            json!({"domain": "go.example.com", "destination_url": "javascript:alert(1)"}),
            "destination_url",
        ),
        (
            json!({"domain": "go.example.com", "destination_url": "data:text/html,hi"}),
            "destination_url",
        ),
        (
            json!({"domain": "go.example.com", "destination_url": "/relative"}),
            "destination_url",
        ),
        (
            json!({"domain": "go.example.com", "destination_url": "https://e.com", "slug": "api"}),
            "slug",
        ),
        (
            json!({"domain": "go.example.com", "destination_url": "https://e.com", "slug": "a/b"}),
            "slug",
        ),
        (
            json!({"domain": "go.example.com", "destination_url": "https://e.com", "redirect_code": 200}),
            "redirect_code",
        ),
        (
            json!({"domain": "go.example.com", "destination_url": "https://e.com", "expires_at": "2001-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (
            json!({"domain": "go.example.com", "destination_url": "https://e.com", "expires_at": "tomorrow"}),
            "expires_at",
        ),
        (
            json!({"domain": "go.example.com", "destination_url": "https://e.com", "tags": ["bad tag"]}),
            "tags[0]",
        ),
        (
            json!({"domain": "go.example.com", "destination_url": 5}),
            "destination_url",
        ),
        (
            json!({"domain": "go.example.com", "destination_url": "https://e.com", "colour": "red"}),
            "body",
        ),
    ];
    for (body, field) in cases {
        let res = admin
            .post("/api/v1/links")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let p = expect(res, 400).await;
        let fields: Vec<_> = p["errors"]
            .as_array()
            .map(|e| {
                e.iter()
                    .map(|x| x["field"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            fields.iter().any(|f| f == field)
                || (field == "body" && p["detail"].as_str().unwrap().contains("colour")),
            "{body} → {p}"
        );
    }
    admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "nope.example.com", "destination_url": "https://e.com"}),
            404,
        )
        .await;
    admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "go.example.com", "slug": "dup", "destination_url": "https://e.com"}),
            201,
        )
        .await;
    admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "go.example.com", "slug": "dup", "destination_url": "https://e.com"}),
            409,
        )
        .await;
}

#[tokio::test]
async fn links_update_partially_move_between_domains_and_keep_slugs_unique() {
    let app = spawn_app().await;
    let (admin, _) = with_domain(&app, "a.example.com").await;
    admin.domain("b.example.com").await;
    let l = admin.post_json("/api/v1/links", json!({"domain": "a.example.com", "slug": "x", "destination_url": "https://e.com/1", "title": "One", "tags": ["t1"]}), 201).await;
    admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "b.example.com", "slug": "x", "destination_url": "https://e.com/2"}),
            201,
        )
        .await;
    let id = l["id"].as_u64().unwrap();
    let path = format!("/api/v1/links/{id}");

    let u = call(
        admin
            .put(&path)
            .json(&json!({"destination_url": "https://e.com/changed"})),
        200,
    )
    .await;
    assert_eq!(u["destination_url"], "https://e.com/changed");
    assert_eq!(u["title"], "One", "untouched fields stay");
    assert_eq!(u["tags"], json!(["t1"]));
    let u = call(
        admin
            .put(&path)
            .json(&json!({"title": null, "redirect_code": 308})),
        200,
    )
    .await;
    assert_eq!(u["title"], serde_json::Value::Null);
    assert_eq!(u["redirect_code"], 308);

    // Moving onto b.example.com where `x` is taken → 409; with a new slug it works.
    call(
        admin.put(&path).json(&json!({"domain": "b.example.com"})),
        409,
    )
    .await;
    let u = call(
        admin
            .put(&path)
            .json(&json!({"domain": "b.example.com", "slug": "y"})),
        200,
    )
    .await;
    assert_eq!(u["domain"], "b.example.com");
    let res = app
        .http
        .get(app.url("/y"))
        .header("host", "b.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 308);
    assert_eq!(res.headers()["location"], "https://e.com/changed");
    let res = app
        .http
        .get(app.url("/x"))
        .header("host", "a.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "the old address is free again");
    admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "a.example.com", "slug": "x", "destination_url": "https://e.com"}),
            201,
        )
        .await;

    call(admin.put(&path).json(&json!({"slug": "no way"})), 400).await;
    call(
        admin
            .put("/api/v1/links/999999")
            .json(&json!({"slug": "z"})),
        404,
    )
    .await;
    call(admin.delete(&path), 204).await;
    call(admin.get(&path), 404).await;
    call(admin.delete(&path), 404).await;
}

#[tokio::test]
async fn listing_paginates_newest_first_and_filters() {
    let app = spawn_app().await;
    let (admin, _) = with_domain(&app, "a.example.com").await;
    admin.domain("b.example.com").await;
    for i in 0..25 {
        let domain = if i % 5 == 0 {
            "b.example.com"
        } else {
            "a.example.com"
        };
        let tags = if i % 2 == 0 {
            json!(["even"])
        } else {
            json!([])
        };
        admin
            .post_json("/api/v1/links", json!({"domain": domain, "slug": format!("s{i}"), "destination_url": format!("https://e.com/{i}"), "title": format!("Title {i}"), "tags": tags}), 201)
            .await;
    }
    let page = call(admin.get("/api/v1/links"), 200).await;
    assert_eq!(page["total"], 25);
    assert_eq!(page["limit"], 20);
    assert_eq!(page["offset"], 0);
    assert_eq!(page["items"].as_array().unwrap().len(), 20);
    assert_eq!(page["items"][0]["slug"], "s24", "newest first");
    let page = call(admin.get("/api/v1/links?limit=10&offset=20"), 200).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
    assert_eq!(page["items"][4]["slug"], "s0");

    let by_domain = call(admin.get("/api/v1/links?domain=b.example.com"), 200).await;
    assert_eq!(by_domain["total"], 5);
    let by_tag = call(admin.get("/api/v1/links?tag=even"), 200).await;
    assert_eq!(by_tag["total"], 13);
    let search = call(admin.get("/api/v1/links?search=TITLE%2012"), 200).await;
    assert_eq!(search["total"], 1);
    assert_eq!(search["items"][0]["slug"], "s12");
    let search = call(admin.get("/api/v1/links?search=e.com/1"), 200).await;
    assert_eq!(search["total"], 11, "1 and 10..19 by destination");
    let none = call(admin.get("/api/v1/links?domain=unknown.example.com"), 200).await;
    assert_eq!(none["total"], 0);

    for bad in ["limit=0", "limit=101", "offset=-1", "limit=abc"] {
        let res = admin
            .get(&format!("/api/v1/links?{bad}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{bad}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }
    // A number that cannot be parsed is named, in words, wherever it is.
    for (path, field) in [
        ("/api/v1/links?limit=abc", "limit"),
        ("/api/v1/links?offset=1.5", "offset"),
        ("/api/v1/links?limit=", "limit"),
        ("/api/v1/links?offset=%201", "offset"),
        ("/api/v1/domains?limit=ten", "limit"),
        ("/api/v1/links/abc", "id"),
    ] {
        let p = call(admin.get(path), 400).await;
        assert_eq!(
            p["errors"],
            json!([{"field": field, "message": "must be a whole number"}]),
            "{path}: {p}"
        );
    }
    let p = admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "go.example.com", "destination_url": "https://e.com", "redirect_code": "abc"}),
            400,
        )
        .await;
    assert_eq!(
        p["errors"],
        json!([{"field": "redirect_code", "message": "must be a whole number"}])
    );
}

#[tokio::test]
async fn redirects_answer_on_managed_hosts_only_and_count_clicks() {
    let app = spawn_app().await;
    let (admin, _) = with_domain(&app, "go.example.com").await;
    let l = admin.post_json("/api/v1/links", json!({"domain": "go.example.com", "slug": "docs", "destination_url": "https://example.com/d", "redirect_code": 301}), 201).await;
    admin.post_json("/api/v1/links", json!({"domain": "go.example.com", "slug": "old", "destination_url": "https://example.com/old", "expires_at": "2099-01-01T00:00:00Z"}), 201).await;

    let res = app
        .http
        .get(app.url("/docs"))
        .header("host", "GO.example.com:8443")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        301,
        "host is case-insensitive and the port ignored"
    );
    assert_eq!(res.headers()["location"], "https://example.com/d");
    assert_eq!(res.headers()["cache-control"], "private, max-age=90");
    let res = app
        .http
        .head(app.url("/docs"))
        .header("host", "go.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 301);

    let res = app
        .http
        .get(app.url("/nope"))
        .header("host", "go.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(crate::support::content_type(&res).starts_with("text/html"));
    let res = app
        .http
        .get(app.url("/docs"))
        .header("host", "other.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "unmanaged host");
    // The UI host keeps working.
    let res = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/ui/");
    let res = app.http.get(app.url("/ui/login")).send().await.unwrap();
    assert_eq!(res.status(), 200);

    let id = l["id"].as_u64().unwrap();
    call(admin.get(&format!("/api/v1/links/{id}")), 200).await;
    let metrics = app.text("/metrics").await;
    for line in [
        "linkdock_http_requests_total{route=\"/{slug}\",method=\"GET\",status=\"301\"} 1",
        "linkdock_http_requests_total{route=\"/{slug}\",method=\"HEAD\",status=\"301\"} 1",
        "linkdock_http_requests_total{route=\"/{slug}\",method=\"GET\",status=\"404\"} 2",
        "linkdock_http_requests_total{route=\"/api/v1/links/{id}\",method=\"GET\",status=\"200\"} 1",
        "linkdock_redirects_total 2",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
    let clicks = eventually(5, || async {
        let v = call(admin.get(&format!("/api/v1/links/{id}")), 200).await;
        (v["clicks"] == 2).then_some(v["clicks"].clone())
    })
    .await;
    assert_eq!(clicks, 2);
}

#[tokio::test]
async fn an_expired_link_gets_the_404_page() {
    let app = spawn_with(Options {
        test_clock: true,
        ..Default::default()
    })
    .await;
    let (admin, _) = with_domain(&app, "go.example.com").await;
    let soon = time::OffsetDateTime::now_utc() + time::Duration::seconds(60);
    let soon = soon
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    admin.post_json("/api/v1/links", json!({"domain": "go.example.com", "slug": "brief", "destination_url": "https://example.com", "expires_at": soon}), 201).await;
    let res = app
        .http
        .get(app.url("/brief"))
        .header("host", "go.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    app.advance_clock(std::time::Duration::from_secs(61));
    let res = app
        .http
        .get(app.url("/brief"))
        .header("host", "go.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn links_and_clicks_survive_a_restart() {
    let app = spawn_app().await;
    let (admin, _) = with_domain(&app, "go.example.com").await;
    let l = admin.post_json("/api/v1/links", json!({"domain": "go.example.com", "slug": "p", "destination_url": "https://example.com/p", "tags": ["a"]}), 201).await;
    for _ in 0..4 {
        app.http
            .get(app.url("/p"))
            .header("host", "go.example.com")
            .send()
            .await
            .unwrap();
    }
    let app = app.restart().await;
    let admin = app.admin().await;
    let got = call(admin.get(&format!("/api/v1/links/{}", l["id"])), 200).await;
    assert_eq!(got["clicks"], 4);
    assert_eq!(got["tags"], json!(["a"]));
    let res = app
        .http
        .get(app.url("/p"))
        .header("host", "go.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
}
