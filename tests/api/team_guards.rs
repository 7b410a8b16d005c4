//! What a change of team must never leave behind (found in review): a key holding more than
//! its owner's role, an invite that outlives its maker's right to invite, a newcomer who
//! inherits a removed user's keys by name, a config file that leaves nobody to manage the team.

use serde_json::{json, Value};

use crate::support::{call, cheap_password_hash, expect, spawn_app, spawn_with, Options, TestApp};

const PW: &str = "a-long-password-1";

fn add(app: &TestApp, name: &str, role: &str) -> u64 {
    let answer = app.control(&format!(
        "user add {name} {role} {}",
        cheap_password_hash(PW)
    ));
    assert_eq!(answer["ok"], true, "{answer}");
    answer["user"]["id"].as_u64().unwrap()
}

/// A key with every permission, made by `name` (an admin), and its value.
async fn full_key(app: &TestApp, name: &str) -> (u64, String) {
    let s = app.sign_in_as(name, PW).await;
    let k = s
        .post_json("/api/v1/api-keys", json!({"name": "everything"}), 201)
        .await;
    assert!(k["permissions"]
        .as_array()
        .unwrap()
        .contains(&json!("domains:write")));
    (
        k["id"].as_u64().unwrap(),
        k["key"].as_str().unwrap().to_owned(),
    )
}

async fn adds_a_domain(app: &TestApp, key: &str) -> u16 {
    app.http
        .post(app.url("/api/v1/domains"))
        .bearer_auth(key)
        .json(&json!({"hostname": format!("d{}.example.com", key.len())}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn permissions(k: &Value) -> Vec<&str> {
    k["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

#[tokio::test]
async fn keys_never_hold_more_than_their_owners_role_after_a_demotion_or_a_hand_over() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carol = add(&app, "carol", "admin");
    let dan = add(&app, "dan", "admin");
    let vic = add(&app, "vic", "viewer");
    let (carol_key_id, carol_key) = full_key(&app, "carol").await;
    let (dan_key_id, dan_key) = full_key(&app, "dan").await;

    // Carol is demoted to member: her key loses what a member may not grant.
    let res = admin
        .http
        .patch(app.url(&format!("/api/v1/users/{carol}")))
        .header("X-CSRF-Token", &admin.csrf)
        .json(&json!({"role": "member"}))
        .send()
        .await
        .unwrap();
    expect(res, 200).await;
    assert_eq!(adds_a_domain(&app, &carol_key).await, 403);
    let k = call(admin.get(&format!("/api/v1/api-keys/{carol_key_id}")), 200).await;
    assert!(!permissions(&k).contains(&"domains:write"), "{k}");
    assert!(permissions(&k).contains(&"links:write"), "{k}");

    // Dan leaves and his keys go to a viewer: they keep only what a viewer may hold.
    let res = admin
        .delete(&format!("/api/v1/users/{dan}?keys=transfer&to={vic}"))
        .send()
        .await
        .unwrap();
    expect(res, 204).await;
    assert_eq!(adds_a_domain(&app, &dan_key).await, 403);
    let k = call(admin.get(&format!("/api/v1/api-keys/{dan_key_id}")), 200).await;
    assert_eq!(k["created_by"], "vic");
    assert_eq!(permissions(&k), ["links:read", "domains:read"], "{k}");
    let audit = call(admin.get("/api/v1/audit?action=key.updated"), 200).await;
    assert!(
        audit["items"].as_array().unwrap().len() >= 2,
        "each narrowing is recorded: {audit}"
    );
}

#[tokio::test]
async fn an_invite_is_withdrawn_when_its_maker_may_no_longer_invite() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carol = add(&app, "carol", "admin");
    let s = app.sign_in_as("carol", PW).await;
    let invite = s
        .post_json("/api/v1/invites", json!({"role": "admin"}), 201)
        .await;
    let url = invite["url"].as_str().unwrap().to_owned();
    let token = url.split("token=").nth(1).unwrap().to_owned();
    let res = admin
        .http
        .patch(app.url(&format!("/api/v1/users/{carol}")))
        .header("X-CSRF-Token", &admin.csrf)
        .json(&json!({"role": "viewer"}))
        .send()
        .await
        .unwrap();
    expect(res, 200).await;
    let page = app
        .http
        .get(app.url(&format!("/ui/invite?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 410);
    assert!(page.text().await.unwrap().contains("withdrawn"));
    let pending = call(admin.get("/api/v1/invites"), 200).await;
    assert_eq!(pending["total"], 0, "{pending}");
}

#[tokio::test]
async fn a_removed_users_name_is_not_taken_over_while_their_keys_are_on_record() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let bob = add(&app, "bob", "member");
    let s = app.sign_in_as("bob", PW).await;
    s.post_json("/api/v1/api-keys", json!({"name": "bob's"}), 201)
        .await;
    let res = admin
        .delete(&format!("/api/v1/users/{bob}"))
        .send()
        .await
        .unwrap();
    expect(res, 204).await;
    let answer = app.control(&format!("user add bob member {}", cheap_password_hash(PW)));
    assert_eq!(answer["ok"], false, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("belonged to a removed user"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_config_file_that_would_leave_no_admin_is_refused() {
    let hash = cheap_password_hash(PW);
    let app = spawn_with(Options {
        no_admin: true,
        extra_toml: format!("\n[[users]]\nusername = \"ops\"\npassword_hash = \"{hash}\"\n"),
        ..Default::default()
    })
    .await;
    let ops = app.sign_in_as("ops", PW).await;
    // The file without its only admin: refused whole, ops stays an admin.
    app.rewrite_config(&format!(
        "\n[[users]]\nusername = \"ops\"\npassword_hash = \"{hash}\"\nrole = \"member\"\n"
    ));
    app.wait_for_log("would leave no admin", 10).await;
    let me = call(ops.get("/api/v1/users/me"), 200).await;
    assert_eq!(me["role"], "admin", "{me}");
    call(ops.get("/api/v1/users"), 200).await;
}
