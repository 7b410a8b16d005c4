//! `POST /api/v1/api-keys/batch`: many keys in one transaction, all or none, under the rules
//! of one key (fields, domains, the creator's role), each audited, each shown once.

use serde_json::{json, Value};

use crate::support::{call, cheap_password_hash, expect, spawn_app, spawn_with, Options, Session};

const MEMBER_PASSWORD: &str = "member-password-123";

async fn key_count(s: &Session) -> u64 {
    call(s.get("/api/v1/api-keys?limit=1"), 200).await["total"]
        .as_u64()
        .unwrap()
}

async fn key_created_entries(s: &Session) -> Vec<Value> {
    let page = call(s.get("/api/v1/audit?limit=100&action=key.created"), 200).await;
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_batch_creates_every_key_in_order_each_usable_at_once_shown_once_and_audited() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    let before = key_count(&admin).await;
    let answer = admin
        .post_json(
            "/api/v1/api-keys/batch",
            json!({"keys": [
                {"name": "ci-1", "domains": ["go.example.com"], "permissions": ["links:read"]},
                {"name": "ci-2", "ip_whitelist": ["127.0.0.1"], "rate_limit_per_minute": 600},
                {"name": "ci-3", "expires_at": "2999-01-01T00:00:00Z"}
            ]}),
            201,
        )
        .await;
    let keys = answer["keys"].as_array().unwrap();
    let names: Vec<&str> = keys.iter().map(|k| k["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ci-1", "ci-2", "ci-3"]);
    assert_eq!(keys[0]["domains"], json!(["go.example.com"]));
    assert_eq!(keys[0]["permissions"], json!(["links:read"]));
    assert_eq!(keys[1]["allow_all_ips"], false);
    assert_eq!(keys[1]["rate_limit_per_minute"], 600);
    assert_eq!(keys[2]["created_by"], "admin");
    assert_eq!(key_count(&admin).await, before + 3);
    for k in keys {
        let value = k["key"].as_str().unwrap();
        let current = call(
            app.http
                .get(app.url("/api/v1/keys/current"))
                .bearer_auth(value),
            200,
        )
        .await;
        assert_eq!(current["id"], k["id"], "usable on the very next request");
        // Shown once: never in a later answer.
        let shown = call(admin.get(&format!("/api/v1/api-keys/{}", k["id"])), 200).await;
        assert!(shown.get("key").is_none(), "{shown}");
        assert!(!shown.to_string().contains(value));
    }
    let audited = key_created_entries(&admin).await;
    for k in keys {
        let target = format!("key {} ({})", k["id"], k["prefix"].as_str().unwrap());
        assert!(
            audited.iter().any(|e| e["target"] == target.as_str()),
            "{target} in {audited:#?}"
        );
    }
    let log = app.logs();
    for k in keys {
        assert!(
            !log.contains(&k["key"].as_str().unwrap()[12..]),
            "a key in the log"
        );
    }
}

#[tokio::test]
async fn a_bad_item_creates_nothing_and_the_answer_names_every_bad_field_by_its_item() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let before = key_count(&admin).await;
    let audited_before = key_created_entries(&admin).await.len();
    let problem = admin
        .post_json(
            "/api/v1/api-keys/batch",
            json!({"keys": [
                {"name": "fine"},
                {"name": "bad ip", "ip_whitelist": ["10.0.0.300"]},
                {"name": "", "domains": ["nowhere.example.com"]}
            ]}),
            400,
        )
        .await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "keys[1].ip_whitelist[0]",
            "keys[2].name",
            "keys[2].domains[0]"
        ],
        "{problem}"
    );
    assert_eq!(key_count(&admin).await, before, "all or nothing");
    assert_eq!(key_created_entries(&admin).await.len(), audited_before);

    // The batch itself: empty, too long, not a list, an unknown field in an item.
    for (body, field) in [
        (json!({"keys": []}), "keys"),
        (json!({"keys": vec![json!({"name": "k"}); 1001]}), "keys"),
        (json!({"keys": {"name": "k"}}), "keys"),
        (json!({"keys": [{"name": "k", "colour": "red"}]}), "keys[0]"),
    ] {
        let res = admin
            .post("/api/v1/api-keys/batch")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{body}"
        );
        let p = expect(res, 400).await;
        assert!(
            p["errors"][0]["field"]
                .as_str()
                .is_some_and(|f| f.starts_with(field)),
            "{p}"
        );
    }
    assert_eq!(key_count(&admin).await, before);
}

#[tokio::test]
async fn a_batch_follows_the_creators_role_like_one_key_and_is_for_sessions_only() {
    let app = spawn_with(Options {
        extra_toml: format!(
            "\n[[users]]\nusername = \"mia\"\nrole = \"member\"\npassword_hash = \"{}\"\n\n[[users]]\nusername = \"vic\"\nrole = \"viewer\"\npassword_hash = \"{}\"\n",
            cheap_password_hash(MEMBER_PASSWORD),
            cheap_password_hash(MEMBER_PASSWORD)
        ),
        ..Options::default()
    })
    .await;
    let admin = app.admin().await;
    let mia = app.sign_in_as("mia", MEMBER_PASSWORD).await;
    let before = key_count(&admin).await;

    // A permission the member's role may not grant, in any item: 403, nothing made.
    let problem = mia
        .post_json(
            "/api/v1/api-keys/batch",
            json!({"keys": [{"name": "ok"}, {"name": "too much", "permissions": ["domains:write"]}]}),
            403,
        )
        .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("domains:write"),
        "{problem}"
    );
    assert_eq!(key_count(&admin).await, before);

    // Without a list, each key gets what the role may grant, and is the member's.
    let made = mia
        .post_json(
            "/api/v1/api-keys/batch",
            json!({"keys": [{"name": "a"}, {"name": "b"}]}),
            201,
        )
        .await;
    let single = mia
        .post_json("/api/v1/api-keys", json!({"name": "one"}), 201)
        .await;
    for k in made["keys"].as_array().unwrap() {
        assert_eq!(k["permissions"], single["permissions"]);
        assert_eq!(k["created_by"], "mia");
    }
    let mine = call(mia.get("/api/v1/api-keys?limit=100"), 200).await;
    assert_eq!(mine["total"], 3);

    // A viewer may make no keys; an API key manages none.
    let vic = app.sign_in_as("vic", MEMBER_PASSWORD).await;
    vic.post_json(
        "/api/v1/api-keys/batch",
        json!({"keys": [{"name": "v"}]}),
        403,
    )
    .await;
    let key = single["key"].as_str().unwrap();
    let res = app
        .http
        .post(app.url("/api/v1/api-keys/batch"))
        .bearer_auth(key)
        .json(&json!({"keys": [{"name": "k"}]}))
        .send()
        .await
        .unwrap();
    assert!(
        [401, 403].contains(&res.status().as_u16()),
        "{}",
        res.status()
    );
    assert_eq!(key_count(&admin).await, before + 3);
}
