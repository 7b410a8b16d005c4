//! A key's usage (API.md "Usage and analytics"): requests per hour and per day, ok and refused,
//! counted by the batched writer; the request log's status filter; members see only their own
//! keys; bad queries are 400.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{
    call, cheap_password_hash, content_type, eventually, spawn_app, spawn_with, Options, Session,
    TestApp,
};

async fn create_key(s: &Session, body: Value) -> (String, u64) {
    let v = s.post_json("/api/v1/api-keys", body, 201).await;
    (
        v["key"].as_str().unwrap().to_owned(),
        v["id"].as_u64().unwrap(),
    )
}

fn keyed(app: &TestApp, key: &str, path: &str) -> reqwest::RequestBuilder {
    app.http.get(app.url(path)).bearer_auth(key)
}

async fn usage(s: &Session, id: u64, query: &str) -> Value {
    call(s.get(&format!("/api/v1/api-keys/{id}/usage{query}")), 200).await
}

/// (ok, refused) summed over every point.
fn sums(v: &Value) -> (u64, u64) {
    v["points"]
        .as_array()
        .unwrap()
        .iter()
        .fold((0, 0), |(o, r), p| {
            (
                o + p["ok"].as_u64().unwrap(),
                r + p["refused"].as_u64().unwrap(),
            )
        })
}

fn point(v: &Value, from_end: usize) -> (u64, u64) {
    let points = v["points"].as_array().unwrap();
    let p = &points[points.len() - 1 - from_end];
    (p["ok"].as_u64().unwrap(), p["refused"].as_u64().unwrap())
}

#[tokio::test]
async fn ok_and_refused_requests_land_in_their_hour_and_day() {
    let app = spawn_with(Options {
        test_clock: true,
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    let (key, id) = create_key(
        &admin,
        json!({"name": "reader", "permissions": ["links:read"]}),
    )
    .await;
    for _ in 0..3 {
        call(keyed(&app, &key, "/api/v1/links"), 200).await;
    }
    // Refused for a missing permission.
    call(keyed(&app, &key, "/api/v1/domains"), 403).await;
    let first = eventually(5, || async {
        let v = usage(&admin, id, "").await;
        if point(&v, 0) == (3, 1) {
            Ok(v)
        } else {
            Err(format!("{:?}", &v["points"].as_array().unwrap()[44..]))
        }
    })
    .await;
    assert_eq!(first["bucket"], "hour");
    assert_eq!(first["points"].as_array().unwrap().len(), 48);
    assert!(first["points"][47]["at"]
        .as_str()
        .unwrap()
        .ends_with(":00:00Z"));

    // The next hour: one ok request, then the key disabled and refused at the gate.
    app.advance_clock(Duration::from_secs(3600));
    call(keyed(&app, &key, "/api/v1/links"), 200).await;
    call(admin.post(&format!("/api/v1/api-keys/{id}/disable")), 200).await;
    call(keyed(&app, &key, "/api/v1/links"), 401).await;
    let hours = eventually(5, || async {
        let v = usage(&admin, id, "?bucket=hour").await;
        (point(&v, 0) == (1, 1)).then_some(v)
    })
    .await;
    assert_eq!(point(&hours, 1), (3, 1), "the first hour keeps its counts");
    assert_eq!(sums(&hours), (4, 2));
    let days = usage(&admin, id, "?bucket=day").await;
    assert_eq!(days["bucket"], "day");
    assert_eq!(days["points"].as_array().unwrap().len(), 30);
    assert!(days["points"][29]["at"]
        .as_str()
        .unwrap()
        .ends_with("T00:00:00Z"));
    assert_eq!(sums(&days), (4, 2), "days are the sums of their hours");
    // `since` starts the series at the hour holding it.
    let since = first["points"][47]["at"].as_str().unwrap();
    let two = usage(&admin, id, &format!("?bucket=hour&since={since}")).await;
    assert_eq!(two["points"].as_array().unwrap().len(), 2);
    assert_eq!(two["points"][0]["at"], since);

    // Refused at the gate counts as refused, never as a use of the key.
    let k = call(admin.get(&format!("/api/v1/api-keys/{id}")), 200).await;
    assert_eq!(k["request_count"], 5);

    // The request log, by status.
    let log = |q: &'static str| {
        let admin = &admin;
        async move {
            call(
                admin.get(&format!("/api/v1/api-keys/{id}/requests{q}")),
                200,
            )
            .await
        }
    };
    assert_eq!(log("").await["total"], 6);
    assert_eq!(log("?status=all").await["total"], 6);
    assert_eq!(log("?status=ok").await["total"], 4);
    let refused = log("?status=refused").await;
    assert_eq!(refused["total"], 2);
    let statuses: Vec<&Value> = refused["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["status"])
        .collect();
    assert_eq!(statuses, [401, 403], "newest first");
    assert_eq!(log("?status=4xx").await["total"], 2);
    assert_eq!(log("?status=401").await["total"], 1);
    assert_eq!(
        log("?status=2xx&limit=1&offset=1").await["items"][0]["status"],
        200
    );
}

#[tokio::test]
async fn a_key_refused_for_its_address_is_counted_and_logged() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (key, id) = create_key(
        &admin,
        json!({"name": "office", "allow_all_ips": false, "ip_whitelist": ["192.0.2.1"]}),
    )
    .await;
    call(keyed(&app, &key, "/api/v1/links"), 403).await;
    eventually(5, || async {
        (sums(&usage(&admin, id, "").await) == (0, 1)).then_some(())
    })
    .await;
    let log = call(
        admin.get(&format!("/api/v1/api-keys/{id}/requests?status=refused")),
        200,
    )
    .await;
    assert_eq!(log["items"][0]["status"], 403);
    assert_eq!(log["items"][0]["ip"], "127.0.0.1");
}

#[tokio::test]
async fn a_member_sees_only_the_usage_of_their_own_keys() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, admins) = create_key(&admin, json!({"name": "admin's"})).await;
    let answer = app.control(&format!(
        "user add bob member {}",
        cheap_password_hash("bob password 1")
    ));
    assert_eq!(answer["ok"], true, "{answer}");
    let bob = app.sign_in_as("bob", "bob password 1").await;
    let (_, bobs) = create_key(&bob, json!({"name": "bob's"})).await;
    usage(&bob, bobs, "").await;
    call(
        bob.get(&format!("/api/v1/api-keys/{bobs}/requests?status=ok")),
        200,
    )
    .await;
    for path in [
        format!("/api/v1/api-keys/{admins}/usage"),
        format!("/api/v1/api-keys/{admins}/usage?bucket=day"),
        format!("/api/v1/api-keys/{admins}/requests?status=refused"),
    ] {
        let res = bob.get(&path).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
        assert_eq!(content_type(&res), "application/problem+json");
    }
    // The admin sees both.
    usage(&admin, bobs, "").await;
    // A key is not how usage is read.
    let (key, _) = create_key(&admin, json!({"name": "script"})).await;
    let res = keyed(&app, &key, &format!("/api/v1/api-keys/{admins}/usage"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn bad_usage_and_log_queries_are_400_problems() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, id) = create_key(&admin, json!({"name": "k"})).await;
    for (query, field) in [
        ("?bucket=week", "bucket"),
        ("?since=yesterday", "since"),
        ("?since=2999-01-01T00:00:00Z", "since"),
        ("?bucket=hour&since=2000-01-01T00:00:00Z", "since"),
        ("?bucket=day&since=2000-01-01T00:00:00Z", "since"),
    ] {
        let res = admin
            .get(&format!("/api/v1/api-keys/{id}/usage{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{query}");
        assert_eq!(content_type(&res), "application/problem+json");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["errors"][0]["field"], field, "{query}: {body}");
    }
    for query in ["?status=9xx", "?status=teapot", "?status=600"] {
        let res = admin
            .get(&format!("/api/v1/api-keys/{id}/requests{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{query}");
        assert_eq!(content_type(&res), "application/problem+json");
    }
    call(admin.get("/api/v1/api-keys/424242/usage"), 404).await;
}
