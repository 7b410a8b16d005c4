//! A teammate's whole stay, in the browser: the admin invites them from the Team page, they
//! join through the link and create an API key, the admin sees the key with its maker, then
//! removes them, and the key they made stops working at once.

use serde_json::Value;

use crate::support::browser::Browser;
use crate::support::{call, spawn_with, Options};

#[tokio::test]
async fn invite_join_create_a_key_then_removal_revokes_it() {
    // No public_url: the link names the address the server is really bound to.
    let app = spawn_with(Options {
        public_url: Some(String::new()),
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };

    // The admin invites a member from the Team page's Invites section.
    b.sign_in().await;
    b.goto("/ui/team").await;
    b.wait_text("#invites-body", "No pending invites").await;
    b.eval(
        "document.getElementById('invite-role').value = 'member';",
        vec![],
    )
    .await;
    b.click("#invite-create").await;
    b.visible("#invite-url").await;
    let url = b.value("#invite-url").await;
    assert!(url.contains("/ui/invite?token="), "{url}");

    // The teammate joins in a session of their own and makes a key.
    b.client.delete_all_cookies().await.unwrap();
    b.client.goto(&url).await.unwrap();
    b.wait_text("h1", "Join linkdock").await;
    b.fill("#username", "mia").await;
    b.fill("#password", "mia-password-1").await;
    b.fill("#confirm", "mia-password-1").await;
    b.click("form button[type=submit]").await;
    b.wait_for_path(|p| p == "/ui/").await;
    b.goto("/ui/integrations/api-keys").await;
    b.click("#create-key").await;
    b.fill("#key-name", "Mia's build key").await;
    b.click("#key-submit").await;
    b.visible("#key-value").await;
    b.click_button("#key-created", "Copy").await;
    b.wait_text("#key-copy-status", "clipboard").await;
    let key = b.clipboard().await;
    b.click_button("#key-created", "OK").await;
    let links = app
        .http
        .get(app.url("/api/v1/links"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(links.status(), 200, "the member's key works");

    // The admin sees it, with who made it.
    b.client.delete_all_cookies().await.unwrap();
    b.sign_in().await;
    b.goto("/ui/integrations/api-keys").await;
    let row = b
        .wait_text("#keys-body tr[data-name=\"Mia's build key\"]", "mia")
        .await;
    assert!(row.contains("mia"), "Created by names the member: {row}");

    // The admin removes the member; the default revokes the keys they made.
    b.goto("/ui/team").await;
    b.click_button("tr[data-user=\"mia\"]", "Remove").await;
    b.visible("dialog[open]").await;
    let dialog = b.text("dialog[open] p").await;
    assert!(dialog.contains("1 active API key"), "{dialog}");
    b.click_button("dialog[open]", "Remove mia").await;
    b.wait_text("p.success", "mia was removed").await;
    b.close().await;

    let refused = app
        .http
        .get(app.url("/api/v1/links"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401, "the removed member's key is revoked");
    let keys = call(admin.get("/api/v1/api-keys?limit=100"), 200).await;
    let mine: Vec<&Value> = keys["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["name"] == "Mia's build key")
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["status"], "revoked");
    assert_eq!(mine[0]["created_by"], "mia");
    let activity = call(admin.get("/api/v1/audit?limit=100"), 200).await;
    let actions: Vec<&str> = activity["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for want in [
        "invite.created",
        "invite.accepted",
        "key.created",
        "key.revoked",
        "user.removed",
    ] {
        assert!(
            actions.contains(&want),
            "{want} is in the activity log: {actions:?}"
        );
    }
}
