//! Issue 14 over HTTP: rolling a key with a grace period, action permissions on every
//! operation, per-key rate limits with RateLimit headers, a `keys/current` that explains a
//! refusal, and finding a leaked key — through the API, the config file and the CLI.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{call, eventually, expect, spawn_app, spawn_with, Options, Session, TestApp};

async fn create_key(admin: &Session, body: Value) -> (String, Value) {
    let v = admin.post_json("/api/v1/api-keys", body, 201).await;
    (v["key"].as_str().unwrap().to_owned(), v)
}

fn with_key(app: &TestApp, key: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
    app.http.request(method, app.url(path)).bearer_auth(key)
}

fn get(app: &TestApp, key: &str, path: &str) -> reqwest::RequestBuilder {
    with_key(app, key, Method::GET, path)
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn in_secs(secs: i64) -> String {
    rfc3339(time::OffsetDateTime::now_utc() + time::Duration::seconds(secs))
}

async fn problem(res: reqwest::Response, status: u16) -> String {
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    expect(res, status).await["detail"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn header<'a>(res: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    res.headers().get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn rolling_a_key_issues_a_twin_and_the_old_one_works_until_its_grace_ends() {
    let app = spawn_with(Options {
        test_clock: true,
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    let expires = in_secs(86_400 * 30);
    let (old_key, old) = create_key(
        &admin,
        json!({"name": "CI", "domains": ["go.example.com"], "allow_all_ips": false,
               "ip_whitelist": ["127.0.0.0/8"], "expires_at": expires,
               "permissions": ["links:read", "links:write"], "rate_limit_per_minute": 1000}),
    )
    .await;
    let id = old["id"].as_u64().unwrap();
    let grace = in_secs(60);
    let rolled = admin
        .post_json(
            &format!("/api/v1/api-keys/{id}/roll"),
            json!({"old_key_expires_at": grace}),
            201,
        )
        .await;
    let new_key = rolled["key"].as_str().unwrap().to_owned();
    assert!(new_key.starts_with("ldk_") && new_key != old_key);
    assert_eq!(rolled["prefix"], &new_key[..12]);
    for field in [
        "name",
        "domains",
        "allow_all_ips",
        "ip_whitelist",
        "expires_at",
        "permissions",
        "rate_limit_per_minute",
    ] {
        assert_eq!(rolled[field], old[field], "{field} carried over");
    }
    assert_eq!(rolled["status"], "active");
    assert_eq!(rolled["rotated_from"], id);
    let new_id = rolled["id"].as_u64().unwrap();

    // Both are listed, linked; the key itself is never shown again.
    let list = call(admin.get("/api/v1/api-keys"), 200).await;
    let by_id = |n: u64| {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == n)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_id(id)["rotated_to"], new_id);
    assert_eq!(by_id(id)["rotated_at"], grace.as_str());
    assert_eq!(by_id(id)["status"], "active", "in its grace period");
    assert_eq!(by_id(new_id)["rotated_from"], id);
    assert!(!list.to_string().contains(&new_key[12..]));

    // During the grace period both keys work; afterwards the old one says it was rotated.
    call(get(&app, &old_key, "/api/v1/links"), 200).await;
    call(get(&app, &new_key, "/api/v1/links"), 200).await;
    app.advance_clock(Duration::from_secs(61));
    let res = get(&app, &old_key, "/api/v1/links").send().await.unwrap();
    let challenge = res.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with(
            "Bearer error=\"invalid_token\", error_description=\"the API key was rotated"
        ),
        "{challenge}"
    );
    let d = problem(res, 401).await;
    assert!(d.contains("rotated") && d.contains(&grace), "{d}");
    call(get(&app, &new_key, "/api/v1/links"), 200).await;
    let old_now = call(admin.get(&format!("/api/v1/api-keys/{id}")), 200).await;
    assert_eq!(old_now["status"], "rotated");
    app.wait_for_log("API key rolled", 5).await;

    // A rolled key cannot be rolled again; nor can a revoked one or an unknown one.
    let again = admin
        .post_json(&format!("/api/v1/api-keys/{id}/roll"), json!({}), 409)
        .await;
    assert!(
        again["detail"].as_str().unwrap().contains("already rolled"),
        "{again}"
    );
    admin
        .post_json(&format!("/api/v1/api-keys/{new_id}/revoke"), json!({}), 200)
        .await;
    admin
        .post_json(&format!("/api/v1/api-keys/{new_id}/roll"), json!({}), 409)
        .await;
    admin
        .post_json("/api/v1/api-keys/9999/roll", json!({}), 404)
        .await;
    let (k3, v3) = create_key(&admin, json!({"name": "now"})).await;
    let bad = admin
        .post_json(
            &format!("/api/v1/api-keys/{}/roll", v3["id"]),
            json!({"old_key_expires_at": "tomorrow"}),
            400,
        )
        .await;
    assert_eq!(bad["errors"][0]["field"], "old_key_expires_at");
    // Without a grace period the old key stops at once.
    let r3 = admin
        .post_json(
            &format!("/api/v1/api-keys/{}/roll", v3["id"]),
            json!({"old_key_expires_at": null}),
            201,
        )
        .await;
    let d = problem(get(&app, &k3, "/api/v1/links").send().await.unwrap(), 401).await;
    assert!(d.contains("rotated"), "{d}");
    call(get(&app, r3["key"].as_str().unwrap(), "/api/v1/links"), 200).await;
    // API keys cannot roll keys.
    call(
        with_key(
            &app,
            &new_key,
            Method::POST,
            &format!("/api/v1/api-keys/{id}/roll"),
        )
        .json(&json!({})),
        401,
    )
    .await;
}

/// The request each documented operation gets in the walk: its path with `1` for every
/// parameter, and its example body when it has a JSON one.
fn request_for(
    app: &TestApp,
    key: &str,
    method: &str,
    path: &str,
    op: &Value,
) -> reqwest::RequestBuilder {
    let concrete: String = path
        .split('/')
        .map(|seg| if seg.starts_with('{') { "1" } else { seg })
        .collect::<Vec<_>>()
        .join("/");
    let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let req = with_key(app, key, m, &concrete);
    let content = &op["requestBody"]["content"];
    if let Some(example) = content["application/json"].get("example") {
        req.json(example)
    } else if content.get("multipart/form-data").is_some() {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"destination_url\nhttps://example.com/\n".to_vec())
                .file_name("links.csv"),
        );
        req.multipart(form)
    } else {
        req
    }
}

#[tokio::test]
async fn every_operation_refuses_a_key_that_lacks_its_permission_and_names_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    let doc = call(app.http.get(app.url("/api/openapi.json")), 200).await;
    let all = [
        "links:read",
        "links:write",
        "domains:read",
        "domains:write",
        "links:import",
        "links:export",
    ];
    let mut walked = 0;
    for missing in all {
        let others: Vec<&str> = all.iter().copied().filter(|p| *p != missing).collect();
        let (key, v) = create_key(
            &admin,
            json!({"name": format!("without {missing}"), "permissions": others}),
        )
        .await;
        assert_eq!(v["permissions"], json!(others));
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let roles: Vec<&str> = op["security"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|alt| alt.get("api_key"))
                    .filter_map(Value::as_array)
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let accepts_key = op["security"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|alt| alt.get("api_key").is_some());
                let res = request_for(&app, &key, method, path, op)
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                let text = res.text().await.unwrap();
                if roles == [missing] {
                    walked += 1;
                    assert_eq!(status, 403, "{method} {path} without {missing}: {text}");
                    assert!(
                        text.contains(missing) && text.contains("lacks the permission"),
                        "{method} {path}: the detail names {missing}: {text}"
                    );
                } else if accepts_key {
                    assert!(
                        !text.contains("lacks the permission"),
                        "{method} {path} needs {roles:?}, not {missing}: {text}"
                    );
                } else {
                    assert!(
                        matches!(status, 401 | 403),
                        "{method} {path} is for signed-in users: {status} {text}"
                    );
                }
            }
        }
    }
    assert!(
        walked >= 12,
        "every permission guards its operations ({walked})"
    );

    // Every permission by default; a change applies to the very next request.
    let (key, v) = create_key(&admin, json!({"name": "dashboard"})).await;
    assert_eq!(v["permissions"], json!(all));
    let path = format!("/api/v1/api-keys/{}", v["id"]);
    let u = call(
        admin
            .put(&path)
            .json(&json!({"permissions": ["links:read", "domains:read"]})),
        200,
    )
    .await;
    assert_eq!(u["permissions"], json!(["links:read", "domains:read"]));
    call(get(&app, &key, "/api/v1/links"), 200).await;
    let d = problem(
        with_key(&app, &key, Method::POST, "/api/v1/links")
            .json(&json!({"domain": "go.example.com", "destination_url": "https://e.com/"}))
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    assert!(d.contains("links:write"), "{d}");
    // The permission is checked before the body: a bad body still gets the 403.
    call(
        with_key(&app, &key, Method::POST, "/api/v1/links").body("not json"),
        403,
    )
    .await;
    let me = call(get(&app, &key, "/api/v1/keys/current"), 200).await;
    assert_eq!(me["permissions"], json!(["links:read", "domains:read"]));

    for (body, field) in [
        (json!({"name": "x", "permissions": []}), "permissions"),
        (
            json!({"name": "x", "permissions": ["links:read", "links:delete"]}),
            "permissions[1]",
        ),
        (
            json!({"name": "x", "rate_limit_per_minute": 0}),
            "rate_limit_per_minute",
        ),
        (
            json!({"name": "x", "rate_limit_per_minute": 1_000_001}),
            "rate_limit_per_minute",
        ),
    ] {
        let p = admin.post_json("/api/v1/api-keys", body.clone(), 400).await;
        assert_eq!(p["errors"][0]["field"], field, "{body} → {p}");
    }
}

#[tokio::test]
async fn a_rate_limited_key_says_its_quota_on_every_answer_and_gets_429_past_it() {
    let app = spawn_with(Options {
        test_clock: true,
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    let (key, v) = create_key(
        &admin,
        json!({"name": "limited", "rate_limit_per_minute": 3}),
    )
    .await;
    assert_eq!(v["rate_limit_per_minute"], 3);
    app.start_a_minute();
    for remaining in [2, 1] {
        let res = get(&app, &key, "/api/v1/links").send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(header(&res, "ratelimit-policy"), Some("3;w=60"));
        let rl = header(&res, "ratelimit").unwrap().to_owned();
        assert!(
            rl.starts_with(&format!("limit=3, remaining={remaining}, reset=")),
            "{rl}"
        );
        let reset: u64 = rl.rsplit('=').next().unwrap().parse().unwrap();
        assert!((1..=60).contains(&reset), "{rl}");
    }
    // An error answer to the key carries them too (404 here).
    let res = get(&app, &key, "/api/v1/links/424242")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(header(&res, "ratelimit").unwrap().contains("remaining=0"));
    // keys/current reports without counting.
    let me = call(get(&app, &key, "/api/v1/keys/current"), 200).await;
    assert_eq!(me["rate_limit"]["limit"], 3);
    assert_eq!(me["rate_limit"]["remaining"], 0);
    assert_eq!(me["denial"]["status"], 429);
    assert_eq!(me["denial"]["reason"], "rate_limit");
    // Past the limit: 429 problem+json with Retry-After, still with the headers.
    let res = get(&app, &key, "/api/v1/links").send().await.unwrap();
    assert_eq!(res.status(), 429);
    let retry: u64 = header(&res, "retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert!(header(&res, "ratelimit").unwrap().contains("remaining=0"));
    let d = problem(res, 429).await;
    assert!(d.contains("rate limit of 3 requests per minute"), "{d}");
    // The next minute grants the limit again.
    app.advance_clock(Duration::from_secs(retry));
    let res = get(&app, &key, "/api/v1/links").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(header(&res, "ratelimit")
        .unwrap()
        .starts_with("limit=3, remaining=2,"));

    // Another key, without a limit, is not slowed and carries no rate-limit headers.
    let (free, _) = create_key(&admin, json!({"name": "free"})).await;
    for _ in 0..10 {
        let res = get(&app, &free, "/api/v1/links").send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(header(&res, "ratelimit").is_none() && header(&res, "ratelimit-policy").is_none());
    }
    // Lifting the limit (null) lets the key through at once; a new limit starts from what
    // this minute already counted.
    let path = format!("/api/v1/api-keys/{}", v["id"]);
    let u = call(
        admin
            .put(&path)
            .json(&json!({"rate_limit_per_minute": null})),
        200,
    )
    .await;
    assert_eq!(u["rate_limit_per_minute"], Value::Null);
    let res = get(&app, &key, "/api/v1/links").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(header(&res, "ratelimit").is_none());
    call(
        admin
            .put(&path)
            .json(&json!({"rate_limit_per_minute": 100})),
        200,
    )
    .await;
    let res = get(&app, &key, "/api/v1/links").send().await.unwrap();
    assert_eq!(header(&res, "ratelimit-policy"), Some("100;w=60"));
}

#[tokio::test]
async fn keys_current_explains_why_a_known_key_is_refused() {
    let app = spawn_with(Options {
        test_clock: true,
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    // IP: 403 elsewhere, explained here with the address the server saw.
    let (outside, _) = create_key(
        &admin,
        json!({"name": "office", "allow_all_ips": false, "ip_whitelist": ["203.0.113.0/24"],
               "domains": ["go.example.com"], "permissions": ["links:read"]}),
    )
    .await;
    call(get(&app, &outside, "/api/v1/links"), 403).await;
    let me = call(get(&app, &outside, "/api/v1/keys/current"), 200).await;
    assert_eq!(me["client_ip"], "127.0.0.1");
    assert_eq!(me["ip_allowed"], false);
    assert_eq!(me["denial"]["status"], 403);
    assert_eq!(me["denial"]["reason"], "ip");
    assert!(me["denial"]["detail"]
        .as_str()
        .unwrap()
        .contains("127.0.0.1"));
    assert_eq!(me["domains"], json!(["go.example.com"]));
    assert_eq!(me["permissions"], json!(["links:read"]));
    assert_eq!(me["rate_limit"], Value::Null);

    // A usable key: no denial.
    let (good, _) = create_key(&admin, json!({"name": "good"})).await;
    let me = call(get(&app, &good, "/api/v1/keys/current"), 200).await;
    assert_eq!(
        (me["ip_allowed"].clone(), me["denial"].clone()),
        (json!(true), Value::Null)
    );
    assert_eq!(me["status"], "active");

    // Revoked, expired and rotated keys are still identified, with the reason.
    let (revoked, rv) = create_key(&admin, json!({"name": "revoked"})).await;
    admin
        .post_json(
            &format!("/api/v1/api-keys/{}/revoke", rv["id"]),
            json!({}),
            200,
        )
        .await;
    let me = call(get(&app, &revoked, "/api/v1/keys/current"), 200).await;
    assert_eq!(
        (
            me["denial"]["status"].clone(),
            me["denial"]["reason"].clone()
        ),
        (json!(401), json!("revoked"))
    );
    let (rolled, rl) = create_key(&admin, json!({"name": "rolled"})).await;
    admin
        .post_json(
            &format!("/api/v1/api-keys/{}/roll", rl["id"]),
            json!({}),
            201,
        )
        .await;
    let me = call(get(&app, &rolled, "/api/v1/keys/current"), 200).await;
    assert_eq!(me["status"], "rotated");
    assert_eq!(me["denial"]["reason"], "rotated");
    assert!(me["denial"]["detail"].as_str().unwrap().contains("rotated"));
    let (expiring, _) =
        create_key(&admin, json!({"name": "soon", "expires_at": in_secs(60)})).await;
    app.advance_clock(Duration::from_secs(61));
    let me = call(get(&app, &expiring, "/api/v1/keys/current"), 200).await;
    assert_eq!(me["denial"]["reason"], "expired");

    // What cannot be identified still gets 401.
    let (unknown, _) = linkdock::keys::issue(
        &ring::rand::SystemRandom::new(),
        &linkdock::domain::KeyPrefix::default(),
    )
    .unwrap();
    let d = problem(
        get(&app, unknown.reveal(), "/api/v1/keys/current")
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    assert!(d.contains("not known"), "{d}");
    call(get(&app, "ldk_nope", "/api/v1/keys/current"), 401).await;
}

#[tokio::test]
async fn keys_current_names_the_client_address_behind_a_trusted_proxy() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (key, _) = create_key(
        &admin,
        json!({"name": "proxied", "allow_all_ips": false, "ip_whitelist": ["198.51.100.7"]}),
    )
    .await;
    let forwarded =
        || get(&app, &key, "/api/v1/keys/current").header("x-forwarded-for", "198.51.100.7");
    // Not trusted yet: the header is ignored and the peer is what the server saw.
    let me = call(forwarded(), 200).await;
    assert_eq!(
        (me["client_ip"].clone(), me["ip_allowed"].clone()),
        (json!("127.0.0.1"), json!(false))
    );
    let text = std::fs::read_to_string(&app.config_path).unwrap().replace(
        "[server]\n",
        "[server]\ntrusted_proxies = [\"127.0.0.1\"]\n",
    );
    let tmp = app.dir.path().join("next.toml");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, &app.config_path).unwrap();
    let me = eventually(5, || async {
        let me = call(forwarded(), 200).await;
        (me["ip_allowed"] == true).then_some(me)
    })
    .await;
    assert_eq!(me["client_ip"], "198.51.100.7");
    assert_eq!(me["denial"], Value::Null);
}

#[tokio::test]
async fn a_leaked_key_is_recognised_offline_and_found_in_one_step() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (key, v) = create_key(&admin, json!({"name": "Leaky"})).await;
    let check = |k: String| {
        admin
            .post("/api/v1/api-keys/check")
            .json(&json!({"key": k}))
    };
    let found = call(check(format!("  {key}\n")), 200).await;
    assert_eq!(found["well_formed"], true);
    assert_eq!(found["id"], v["id"]);
    assert_eq!(found["name"], "Leaky");
    assert_eq!(found["status"], "active");
    assert_eq!(found["prefix"], &key[..12]);
    assert!(!found.to_string().contains(&key[12..]), "never echoed");
    // Revoke in one step, and the check says so.
    admin
        .post_json(
            &format!("/api/v1/api-keys/{}/revoke", found["id"]),
            json!({}),
            200,
        )
        .await;
    assert_eq!(call(check(key.clone()), 200).await["status"], "revoked");

    let (other, _) = linkdock::keys::issue(
        &ring::rand::SystemRandom::new(),
        &linkdock::domain::KeyPrefix::default(),
    )
    .unwrap();
    let unknown = call(check(other.reveal().to_owned()), 200).await;
    assert_eq!(unknown["well_formed"], true);
    assert_eq!(
        (
            unknown["id"].clone(),
            unknown["name"].clone(),
            unknown["status"].clone()
        ),
        (Value::Null, Value::Null, Value::Null)
    );
    let mut typo = key.clone().into_bytes();
    typo[20] = if typo[20] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    let bad = call(check(typo.clone()), 200).await;
    assert_eq!(bad["well_formed"], false);
    assert!(
        bad["detail"].as_str().unwrap().contains("checksum"),
        "{bad}"
    );
    assert!(!bad.to_string().contains(&typo[12..]));
    assert_eq!(call(check("hello".into()), 200).await["well_formed"], false);
    // Only for signed-in users.
    let (k2, _) = create_key(&admin, json!({"name": "k2"})).await;
    call(
        with_key(&app, &k2, Method::POST, "/api/v1/api-keys/check").json(&json!({"key": key})),
        403,
    )
    .await;
    // The format is in LLM.txt (the full one) for secret scanners.
    let llms = app.text("/api/llms-full.txt").await;
    assert!(
        llms.contains(r"(?:^|[^0-9A-Za-z]|%[0-9A-Fa-f]{2}|\\[nrt])(ldk_[0-9A-Za-z]{50})(?:\b|_)"),
        "regex in LLM.txt"
    );
    assert!(llms.contains("CRC-32") && llms.contains("gitleaks") && llms.contains("trufflehog"));
    assert!(llms.contains("permission `links:read`"));
}

#[tokio::test]
async fn declared_keys_take_permissions_and_a_rate_limit() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_linkdock"))
        .args(["key", "generate"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let key = lines.next().unwrap().to_owned();
    let hash_line = lines.next().unwrap().to_owned();
    let app = spawn_with(Options {
        extra_toml: format!(
            "\n[[api_keys]]\nname = \"dashboard\"\n{hash_line}\npermissions = [\"links:read\", \"domains:read\"]\nrate_limit_per_minute = 500\n"
        ),
        ..Default::default()
    })
    .await;
    let res = get(&app, &key, "/api/v1/links").send().await.unwrap();
    assert_eq!(header(&res, "ratelimit-policy"), Some("500;w=60"));
    assert_eq!(res.status(), 200);
    let d = problem(
        with_key(&app, &key, Method::POST, "/api/v1/domains")
            .json(&json!({"hostname": "x.example.com"}))
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    assert!(d.contains("domains:write"), "{d}");
    let me = call(get(&app, &key, "/api/v1/keys/current"), 200).await;
    assert_eq!(me["source"], "config");
    assert_eq!(me["permissions"], json!(["links:read", "domains:read"]));
    assert_eq!(me["rate_limit_per_minute"], 500);
    // Config keys are read-only: no roll either.
    let admin = app.admin().await;
    admin
        .post_json(
            &format!("/api/v1/api-keys/{}/roll", me["id"]),
            json!({}),
            409,
        )
        .await;
    // A bad permission in the file is refused whole; the running key stays as it was.
    app.rewrite_config(&format!(
        "\n[[api_keys]]\nname = \"dashboard\"\n{hash_line}\npermissions = [\"links:everything\"]\n"
    ));
    app.wait_for_log("links:everything", 5).await;
    call(get(&app, &key, "/api/v1/links"), 200).await;
}

#[tokio::test]
async fn the_cli_rolls_and_checks_keys_and_sets_permissions_and_limits() {
    let mut app = spawn_app().await;
    let admin = app.admin().await;
    let (key, v) = create_key(&admin, json!({"name": "found-by-cli"})).await;
    // While the server runs, `keys check` asks it over the control socket.
    let out = app.cli(&["keys", "check", &key, "--json"]);
    assert!(out.status.success(), "{out:?}");
    let found: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(found["id"], v["id"]);
    assert_eq!(found["name"], "found-by-cli");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&key[12..]));
    let out = app.cli(&["keys", "check", &key[..40]]);
    assert!(!out.status.success(), "a cut-off key is not well-formed");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("not a well-formed"),
        "{out:?}"
    );

    assert!(app.terminate().await);
    // Stopped: create with permissions and a limit, roll, and check from the database.
    let out = app.cli(&[
        "keys",
        "create",
        "--name",
        "cli",
        "--permission",
        "links:read",
        "--permission",
        "links:export",
        "--rate-limit",
        "120",
        "--json",
    ]);
    assert!(out.status.success(), "{out:?}");
    let made: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(made["permissions"], json!(["links:read", "links:export"]));
    assert_eq!(made["rate_limit_per_minute"], 120);
    let out = app.cli(&[
        "keys",
        "create",
        "--name",
        "bad",
        "--permission",
        "links:nope",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--permission"),
        "{out:?}"
    );
    let id = made["id"].to_string();
    let out = app.cli(&["keys", "roll", &id, "--grace", "24h", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let rolled: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rolled["permissions"], made["permissions"]);
    assert_eq!(rolled["rotated_from"], made["id"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("works until"),
        "{out:?}"
    );
    let new_key = rolled["key"].as_str().unwrap().to_owned();
    let out = app.cli(&["keys", "list", "--json"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let old = list
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == made["id"])
        .unwrap();
    assert_eq!(old["rotated_to"], rolled["id"]);
    let mut check = std::process::Command::new(env!("CARGO_BIN_EXE_linkdock"))
        .args(["keys", "check", "-", "--config"])
        .arg(&app.config_path)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    writeln!(check.stdin.take().unwrap(), "{new_key}").unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!("key {}", rolled["id"])) && said.contains("active"),
        "{said}"
    );
    let out = app.cli(&["keys", "roll", &id, "--grace", "1h"]);
    assert!(!out.status.success(), "rolled twice");
    let out = app.cli(&["keys", "roll", &id, "--grace", "soon"]);
    assert!(!out.status.success());

    let app = crate::support::start(
        app.dir.clone(),
        app.config_path.clone(),
        &Options::default(),
    )
    .await;
    let res = get(&app, &new_key, "/api/v1/links").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "ratelimit-policy"), Some("120;w=60"));
    call(get(&app, &new_key, "/api/v1/domains"), 403).await;
}

#[tokio::test]
async fn a_body_must_be_an_object_even_where_every_field_is_optional() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_, v) = create_key(&admin, json!({"name": "k"})).await;
    let path = format!("/api/v1/api-keys/{}/roll", v["id"]);
    for body in ["[]", "[null]", "  [\"2027-01-01T00:00:00Z\"]"] {
        let p = call(
            admin
                .post(&path)
                .header("content-type", "application/json")
                .body(body),
            400,
        )
        .await;
        assert_eq!(p["errors"][0]["field"], "body", "{body}: {p}");
    }
    call(
        admin
            .put(&format!("/api/v1/api-keys/{}", v["id"]))
            .header("content-type", "application/json")
            .body("[null, null, null, null, null, null, null]"),
        400,
    )
    .await;
    admin.post_json(&path, json!({}), 201).await;
}
