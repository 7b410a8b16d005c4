//! The Team page: an admin changes a member's role and removes another user, and the API
//! shows the effect.

use serde_json::Value;

use crate::support::browser::Browser;
use crate::support::{call, cheap_password_hash, spawn_app};

#[tokio::test]
async fn an_admin_changes_a_role_and_removes_a_user() {
    let app = spawn_app().await;
    for (name, role) in [("bob", "member"), ("carol", "member")] {
        let answer = app.control(&format!(
            "user add {name} {role} {}",
            cheap_password_hash("a-long-password")
        ));
        assert_eq!(answer["ok"], true, "{answer}");
    }
    let admin = app.admin().await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    b.goto("/ui/").await;
    b.click_button("nav.sidebar", "Team").await;
    b.wait_for_path(|p| p == "/ui/team").await;

    b.eval(
        "document.querySelector('tr[data-user=\"bob\"] select').value = 'viewer';",
        vec![],
    )
    .await;
    b.click_button("tr[data-user=\"bob\"]", "Change role").await;
    b.wait_text("p.success", "role of bob").await;

    b.click_button("tr[data-user=\"carol\"]", "Remove").await;
    b.visible("dialog[open]").await;
    let dialog = b.text("dialog[open] p").await;
    assert!(dialog.contains("no active API keys"), "{dialog}");
    b.click_button("dialog[open]", "Remove carol").await;
    b.wait_text("p.success", "carol was removed").await;
    b.close().await;

    let users = call(admin.get("/api/v1/users"), 200).await;
    let users = users["items"].as_array().unwrap();
    let role = |name: &str| -> Option<Value> {
        users
            .iter()
            .find(|u| u["username"] == name)
            .map(|u| u["role"].clone())
    };
    assert_eq!(role("bob"), Some("viewer".into()));
    assert_eq!(role("carol"), None);
}
