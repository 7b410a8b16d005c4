//! The UI follows the role table: what a member and a viewer see (greyed out with the reason,
//! or left out), the admin's "Created by" column, the keys table at 1280 px with every action
//! inside the window, disabling a key from the table, and axe on the keys page per role.

use serde_json::{json, Value};

use crate::support::browser::Browser;
use crate::support::{call, cheap_password_hash, spawn_with, Options, TestApp};

const PASSWORD: &str = "team-password-123";

async fn team_app() -> TestApp {
    let hash = cheap_password_hash(PASSWORD);
    spawn_with(Options {
        extra_toml: format!(
            "\n[[users]]\nusername = \"mia\"\npassword_hash = \"{hash}\"\nrole = \"member\"\n\
             \n[[users]]\nusername = \"vic\"\npassword_hash = \"{hash}\"\nrole = \"viewer\"\n"
        ),
        ..Default::default()
    })
    .await
}

async fn keys_loaded(b: &Browser) {
    crate::support::eventually(crate::support::browser::WAIT_SECS, || async {
        (!b.text("#keys-body").await.contains("Loading"))
            .then_some(())
            .ok_or("the keys never loaded")
    })
    .await;
}

async fn sign_out(b: &Browser) {
    b.goto("/ui/links").await;
    b.wait_text("main h1", "Links").await;
    b.click_button("nav.sidebar", "Sign out").await;
    b.wait_for_path(|p| p == "/ui/login").await;
}

#[tokio::test]
async fn each_role_sees_what_it_may_use_and_the_keys_table_fits_at_1280() {
    let app = team_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    // A wide key: a long whitelist, a domain scope, an expiry, a rate limit.
    admin
        .post_json(
            "/api/v1/api-keys",
            json!({"name": "Production deployment key", "domains": ["go.example.com"],
                   "allow_all_ips": false, "ip_whitelist": ["2001:db8:1234:5678::/64", "192.168.100.200"],
                   "expires_at": "2030-01-31T23:59:00Z", "permissions": ["links:read", "links:write", "domains:read"],
                   "rate_limit_per_minute": 600}),
            201,
        )
        .await;
    let mia = app.sign_in_as("mia", PASSWORD).await;
    mia.post_json("/api/v1/api-keys", json!({"name": "Mia's script"}), 201)
        .await;

    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.resize(1280, 900).await;

    // Member: the Domains form is greyed out with the reason; her keys only; no Created by.
    b.sign_in_as("mia", PASSWORD).await;
    b.goto("/ui/domains").await;
    let reason = b.wait_text("#domain-add-denied", "Your role").await;
    assert_eq!(reason, "Your role (member) cannot add domains.");
    assert_eq!(
        b.eval(
            "return document.getElementById('domain-add').disabled;",
            vec![]
        )
        .await,
        json!(true)
    );
    b.goto("/ui/integrations/api-keys").await;
    keys_loaded(&b).await;
    let table = b.text("#keys-table").await;
    assert!(table.contains("Mia's script"), "{table}");
    assert!(!table.contains("Production deployment key"), "{table}");
    assert!(!table.to_lowercase().contains("created by"), "{table}");
    b.assert_accessible("keys page as member").await;
    // The form offers only what her role may grant.
    b.click("#create-key").await;
    let denied = b
        .eval(
            "return Array.from(document.querySelectorAll('input[name=permission]:disabled')).map(b => b.value);",
            vec![],
        )
        .await;
    assert_eq!(denied, json!(["domains:write"]));
    assert!(b
        .text("#key-permissions")
        .await
        .contains("Your role (member) cannot grant it."));
    assert!(!b.checked("#key-perm-domains-write").await);
    assert!(
        b.checked("#key-perm-full").await,
        "full = all she may grant"
    );
    b.assert_accessible("key dialog as member").await;
    b.click_button("#key-dialog", "Cancel").await;
    sign_out(&b).await;

    // Viewer: no API Keys in the menu, and the page itself is a 403 naming the right.
    b.sign_in_as("vic", PASSWORD).await;
    // Home: the steps a viewer cannot take say why instead of linking to a refusal.
    b.goto("/ui/").await;
    b.wait_text("main", "Your role (viewer) cannot create API keys.")
        .await;
    assert!(!b.exists("main a[href='/ui/integrations/api-keys']").await);
    b.assert_accessible("home as viewer").await;
    b.goto("/ui/links").await;
    b.wait_text("main h1", "Links").await;
    // textContent: the Integrations group is folded on this page.
    let nav = b
        .eval(
            "return document.querySelector('nav.sidebar').textContent;",
            vec![],
        )
        .await;
    let nav = nav.as_str().unwrap();
    assert!(!nav.contains("API Keys"), "{nav}");
    assert!(nav.contains("Manual Integration"), "{nav}");
    let why = b.text("#links-denied").await;
    assert!(why.contains("Your role (viewer) cannot create"), "{why}");
    b.goto("/ui/integrations/api-keys").await;
    let page = b.wait_text("body", "keys:own").await;
    assert!(
        page.contains("Forbidden") && page.contains("viewer"),
        "{page}"
    );
    sign_out(&b).await;
    let res = app
        .sign_in_as("vic", PASSWORD)
        .await
        .get("/ui/integrations/api-keys")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // Admin: every key with who made it, and the table fits the window.
    b.sign_in().await;
    b.goto("/ui/integrations/api-keys").await;
    keys_loaded(&b).await;
    let head = b.text("#keys-table thead").await;
    assert!(head.to_lowercase().contains("created by"), "{head}");
    let body = b.text("#keys-body").await;
    assert!(body.contains("mia") && body.contains("admin"), "{body}");
    let fit = b
        .eval(
            "const w = document.querySelector('#keys-table').closest('.table-wrap');
             const out = [];
             for (const btn of document.querySelectorAll('#keys-body td.actions button')) {
               const r = btn.getBoundingClientRect();
               if (r.right > window.innerWidth || r.left < 0) out.push(btn.textContent + ' ' + r.right);
             }
             return {scroll: w.scrollWidth - w.clientWidth, outside: out,
                     labels: Array.from(document.querySelectorAll('#keys-body tr:first-child td.actions button')).map(b => b.textContent)};",
            vec![],
        )
        .await;
    assert_eq!(
        fit["scroll"],
        json!(0),
        "the keys table scrolls sideways: {fit}"
    );
    assert_eq!(fit["outside"], json!([]), "actions past the window: {fit}");
    for label in ["Roll", "Revoke", "Delete"] {
        assert!(
            fit["labels"].as_array().unwrap().contains(&json!(label)),
            "{fit}"
        );
    }
    b.assert_page_hygiene("keys page as admin", 1280, "light")
        .await;
    b.assert_accessible("keys page as admin").await;

    // Disable from the table: asked in the modal, then the key says so and offers Enable.
    let id = call(admin.get("/api/v1/api-keys"), 200).await["items"][0]["id"].clone();
    let row = format!("#keys-body tr[data-id='{id}']");
    b.click(&format!("{row} button[data-action=disable]")).await;
    b.visible("#disable-section").await;
    b.assert_accessible("disable dialog").await;
    b.click("#disable-submit").await;
    b.hidden("#key-dialog").await;
    b.wait_text(&row, "disabled").await;
    let k: Value = call(admin.get(&format!("/api/v1/api-keys/{id}")), 200).await;
    assert_eq!(k["status"], "disabled");
    b.click(&format!("{row} button[data-action=enable]")).await;
    b.wait_text("#keys-status", "works again").await;
    let k: Value = call(admin.get(&format!("/api/v1/api-keys/{id}")), 200).await;
    assert_eq!(k["status"], "active");

    // At 390 px the keys are cards: no sideways scroll either.
    b.resize(390, 844).await;
    b.goto("/ui/integrations/api-keys").await;
    keys_loaded(&b).await;
    b.assert_page_hygiene("keys page as admin", 390, "light")
        .await;
    b.close().await;
}
