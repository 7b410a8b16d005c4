//! Every linkdock page in its main states — empty, filled, with a dialog open, with a
//! playground response shown, with every docs group expanded — at 1280 px light and 390 px
//! dark, checked by axe-core (serious and critical violations fail) and for API text that has
//! no place on a page (backticks, `?force=true`, "link(s)", deserializer wording).

use serde_json::json;

use crate::support::browser::Browser;
use crate::support::{spawn_app, Session};

const SIZES: [(u32, u32, &str); 2] = [(1280, 900, "light"), (390, 844, "dark")];

/// Wait until the page's script has filled its tables (no "Loading…" left).
async fn settled(b: &Browser, path: &str) {
    crate::support::eventually(crate::support::browser::WAIT_SECS, || async {
        let loading = b
            .eval(
                "return document.body.innerText.includes('Loading');",
                vec![],
            )
            .await;
        (loading == json!(false))
            .then_some(())
            .ok_or(format!("{path} never finished loading"))
    })
    .await;
}

/// No API wording on the page as shown.
async fn assert_plain_text(b: &Browser, what: &str) {
    let text = b.eval("return document.body.innerText;", vec![]).await;
    let text = text.as_str().unwrap_or_default();
    for raw in [
        "`",
        "?force=true",
        "link(s)",
        "invalid type:",
        "invalid value:",
        "unknown field",
        "missing field",
        "expected u16",
        "expected a string",
    ] {
        assert!(
            !text.contains(raw),
            "{what} shows API text {raw:?}:\n{text}"
        );
    }
}

async fn check(b: &Browser, what: &str, width: u32, scheme: &str) {
    let what = format!("{what} at {width}px {scheme}");
    b.assert_accessible(&what).await;
    assert_plain_text(b, &what).await;
    b.screenshot(&what.replace([' ', '/'], "_")).await;
}

async fn fill(admin: &Session) {
    for host in ["go.example.com", "docs.example.com"] {
        admin
            .post_json("/api/v1/domains", json!({"hostname": host}), 201)
            .await;
    }
    for (slug, title) in [("docs", Some("Team docs")), ("plain", None)] {
        admin
            .post_json(
                "/api/v1/links",
                json!({"domain": "go.example.com", "slug": slug, "destination_url": format!("https://example.org/{slug}"), "title": title, "tags": ["team"]}),
                201,
            )
            .await;
    }
    admin
        .post_json(
            "/api/v1/api-keys",
            json!({"name": "Scoped", "domains": ["go.example.com"], "allow_all_ips": false, "ip_whitelist": ["10.0.0.0/8"], "expires_at": "2099-01-01T00:00:00Z"}),
            201,
        )
        .await;
    admin
        .post_json(
            "/api/v1/playground/history",
            json!({"method": "GET", "path": "/api/v1/links", "query": "limit=5", "body": "", "status": 200, "duration_ms": 3, "key_prefix": ""}),
            201,
        )
        .await;
}

#[tokio::test]
async fn every_page_in_its_main_states_passes_axe_core() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };

    // Signed out.
    for (width, height, scheme) in SIZES {
        b.resize(width, height).await;
        b.color_scheme(scheme).await;
        b.goto("/ui/login").await;
        b.find("#username").await;
        check(&b, "the sign-in page", width, scheme).await;
    }
    b.sign_in().await;

    // Empty: no domain, link, key or history yet.
    for (width, height, scheme) in SIZES {
        b.resize(width, height).await;
        b.color_scheme(scheme).await;
        for path in [
            "/ui/",
            "/ui/links",
            "/ui/domains",
            "/ui/integrations/api-keys",
            "/ui/integrations/manual",
            "/ui/activity",
        ] {
            b.goto(path).await;
            settled(&b, path).await;
            check(&b, &format!("{path} (empty)"), width, scheme).await;
        }
        b.goto("/ui/integrations/api-keys").await;
        b.click("#create-key").await;
        b.visible("#key-dialog").await;
        check(&b, "the Create API Key dialog (no domains)", width, scheme).await;
    }

    fill(&admin).await;
    // A second user, so the Team page has a role to change and a user to remove.
    let added = app.control(&format!(
        "user add bob member {}",
        crate::support::cheap_password_hash("a-long-password")
    ));
    assert_eq!(added["ok"], true, "{added}");
    for (width, height, scheme) in SIZES {
        b.resize(width, height).await;
        b.color_scheme(scheme).await;
        for path in [
            "/ui/",
            "/ui/links",
            "/ui/domains",
            "/ui/integrations/api-keys",
            "/ui/me",
            "/ui/team",
            "/ui/activity",
            "/ui/activity?action=key.",
            "/ui/links/1/stats",
        ] {
            b.goto(path).await;
            settled(&b, path).await;
            check(&b, &format!("{path} (filled)"), width, scheme).await;
        }

        // Dialogs.
        b.goto("/ui/links").await;
        settled(&b, "/ui/links").await;
        b.click("#create-link").await;
        b.visible("#link-dialog").await;
        b.fill("#link-destination", "not a url").await;
        b.click("#link-submit").await;
        b.visible("[data-error-for=\"destination_url\"]").await;
        check(&b, "the Create Link dialog with an error", width, scheme).await;
        b.click_button("#link-dialog", "Cancel").await;
        b.click_button("#links-body tr[data-id]", "Edit").await;
        b.visible("#link-dialog").await;
        check(&b, "the Edit Link dialog", width, scheme).await;
        b.click_button("#link-dialog", "Cancel").await;

        b.goto("/ui/domains").await;
        settled(&b, "/ui/domains").await;
        b.click_button(
            "#domains-body tr[data-hostname=\"go.example.com\"]",
            "Delete",
        )
        .await;
        b.visible("#domain-delete").await;
        check(&b, "the Delete Domain dialog", width, scheme).await;

        b.goto("/ui/integrations/api-keys").await;
        settled(&b, "/ui/integrations/api-keys").await;
        b.click_button("#keys-body tr[data-name=\"Scoped\"]", "Edit")
            .await;
        b.visible("#key-scope-list").await;
        check(&b, "the Edit API Key dialog", width, scheme).await;
        b.click_button("#key-dialog", "Cancel").await;
        b.click("#create-key").await;
        b.fill("#key-name", &format!("Shown once {width}")).await;
        b.click("#key-submit").await;
        b.visible("#key-value").await;
        check(&b, "the API Key Created dialog", width, scheme).await;
        b.click_button("#key-created", "OK").await;
        // Revoke and Delete ask in the modal; a filled Create form asks before Esc discards it.
        b.click_button("#keys-body tr[data-name=\"Scoped\"]", "Revoke")
            .await;
        b.visible("#revoke-section").await;
        check(&b, "the Revoke API Key dialog", width, scheme).await;
        b.click_button("#revoke-section", "Cancel").await;
        b.click_button("#keys-body tr[data-name=\"Scoped\"]", "Delete")
            .await;
        b.visible("#delete-section").await;
        check(&b, "the Delete API Key dialog", width, scheme).await;
        b.click_button("#delete-section", "Cancel").await;
        b.click("#create-key").await;
        b.fill("#key-name", "Typed, not saved").await;
        b.find("#key-name")
            .await
            .send_keys("\u{E00C}")
            .await
            .unwrap();
        b.visible("#key-discard").await;
        check(&b, "the discard question", width, scheme).await;
        b.click_button("#key-discard", "Yes, discard").await;
        b.hidden("#key-dialog").await;

        // The playground with a response, then every docs group expanded.
        b.goto("/ui/integrations/manual").await;
        crate::playground::select_endpoint(&b, "GET /api/v1/links").await;
        b.click("#pg-send").await;
        b.visible("#pg-response[data-request=\"1\"]").await;
        check(&b, "the playground with a response", width, scheme).await;
        b.fill("#pg-key", "ldk_short").await;
        b.wait_text("#pg-key-info", "characters after ldk_").await;
        check(&b, "the playground with a malformed key", width, scheme).await;
        for g in b
            .client
            .find_all(fantoccini::Locator::Css(
                "#api-docs-groups details.doc-group > summary",
            ))
            .await
            .unwrap()
        {
            g.click().await.unwrap();
        }
        check(&b, "every docs group expanded", width, scheme).await;

        b.goto("/ui/team").await;
        b.click_button("tr[data-user=\"bob\"]", "Reset password")
            .await;
        b.visible("dialog[open]").await;
        check(&b, "the Reset Password dialog", width, scheme).await;
        b.click_button("dialog[open]", "Cancel").await;
        b.click_button("tr[data-user=\"bob\"]", "Remove").await;
        b.visible("dialog[open]").await;
        check(&b, "the Remove User dialog", width, scheme).await;
        b.click_button("dialog[open]", "Cancel").await;
        b.goto("/ui/activity?since=yesterday").await;
        b.visible("#activity-error").await;
        check(&b, "the activity page with a bad filter", width, scheme).await;

        b.goto("/ui/no-such-page").await;
        check(&b, "page not found", width, scheme).await;
    }
    b.close().await;
}

/// The invitee's page (pending, with a field error, used) and the admin's Invites page (a list,
/// a new link shown).
#[tokio::test]
async fn the_invite_pages_pass_axe_core() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    for (width, height, scheme) in SIZES {
        b.resize(width, height).await;
        b.color_scheme(scheme).await;
        let made = admin
            .post_json("/api/v1/invites", json!({"role": "member"}), 201)
            .await;
        let token = made["url"]
            .as_str()
            .unwrap()
            .split_once("token=")
            .unwrap()
            .1;
        let link = format!("/ui/invite?token={token}");
        b.client.delete_all_cookies().await.unwrap();
        b.goto(&link).await;
        b.find("#username").await;
        check(&b, "the invite page (pending)", width, scheme).await;
        b.fill("#username", "not a name").await;
        b.fill("#password", "a-good-password").await;
        b.fill("#confirm", "a-good-password").await;
        b.click("form button[type=submit]").await;
        b.visible("#username-error").await;
        check(&b, "the invite page with an error", width, scheme).await;
        b.fill("#username", &format!("new{width}")).await;
        b.fill("#password", "a-good-password").await;
        b.fill("#confirm", "a-good-password").await;
        b.click("form button[type=submit]").await;
        b.wait_for_path(|p| p == "/ui/").await;
        b.goto(&link).await;
        b.find("#invite-state").await;
        check(&b, "the invite page (used)", width, scheme).await;

        b.client.delete_all_cookies().await.unwrap();
        b.sign_in().await;
        b.goto("/ui/invites").await;
        settled(&b, "/ui/invites").await;
        check(&b, "/ui/invites", width, scheme).await;
        b.click("#invite-create").await;
        b.visible("#invite-url").await;
        b.wait_text("#invites-body", "member").await;
        check(&b, "/ui/invites with a new link", width, scheme).await;
    }
    b.close().await;
}
