//! The API Keys and Domains pages' dialogs (issue 22, point 8): Revoke and Delete ask in the
//! same styled modal as Roll ("OK" or "Cancel", as the guide says), Esc after Copy closes the
//! one-time key at once, Esc on a filled Create form asks before throwing it away, and the
//! domain-delete dialog tells a rolled key from its successor by their prefixes.

use serde_json::{json, Value};

use crate::support::browser::Browser;
use crate::support::{expect, spawn_app, Session, TestApp};

const ESCAPE: &str = "\u{E00C}";

async fn keys(admin: &Session) -> Value {
    expect(
        admin
            .get("/api/v1/api-keys?limit=100")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await
}

async fn status_with(app: &TestApp, key: &str) -> u16 {
    app.http
        .get(app.url("/api/v1/links"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn press_escape(b: &Browser, css: &str) {
    b.find(css).await.send_keys(ESCAPE).await.unwrap();
}

async fn row_action(b: &Browser, name: &str, label: &str) {
    b.click_button(&format!("#keys-body tr[data-name=\"{name}\"]"), label)
        .await;
}

#[tokio::test]
async fn revoke_and_delete_ask_in_the_styled_dialog_and_cancel_or_escape_leave_the_key_alone() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let made = admin
        .post_json("/api/v1/api-keys", json!({"name": "Keep me"}), 201)
        .await;
    let key = made["key"].as_str().unwrap().to_owned();
    let prefix = made["prefix"].as_str().unwrap().to_owned();
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    // No window.confirm on this page any more: a native dialog would fail the test here.
    b.sign_in().await;
    b.goto("/ui/integrations/api-keys").await;
    b.wait_text("#keys-body", "Keep me").await;

    for (width, height, scheme) in [(1280, 900, "light"), (390, 844, "dark")] {
        b.resize(width, height).await;
        b.color_scheme(scheme).await;

        // Revoke: the modal names the key by name and prefix; the safe answer has the focus.
        row_action(&b, "Keep me", "Revoke").await;
        let question = b.visible("#revoke-section").await.text().await.unwrap();
        assert!(
            question.contains("Revoke API Key")
                && question.contains("Keep me")
                && question.contains(&prefix),
            "{question}"
        );
        b.hidden("#key-form").await;
        assert_eq!(b.focused().await, "button", "focus on Cancel");
        assert_eq!(
            b.eval("return document.activeElement.textContent;", vec![])
                .await,
            json!("Cancel")
        );
        b.assert_accessible(&format!("the Revoke API Key dialog at {width}px {scheme}"))
            .await;
        b.screenshot(&format!("key-revoke-{width}-{scheme}")).await;
        press_escape(&b, "#revoke-section button[data-close]:not(.icon)").await;
        b.hidden("#key-dialog").await;
        assert_eq!(
            status_with(&app, &key).await,
            200,
            "Esc leaves the key working"
        );
        row_action(&b, "Keep me", "Revoke").await;
        b.click_button("#revoke-section", "Cancel").await;
        b.hidden("#key-dialog").await;
        assert_eq!(
            status_with(&app, &key).await,
            200,
            "Cancel leaves the key working"
        );

        // Delete: the same modal; × and Cancel leave the key where it is.
        row_action(&b, "Keep me", "Delete").await;
        let question = b.visible("#delete-section").await.text().await.unwrap();
        assert!(
            question.contains("Delete API Key") && question.contains(&prefix),
            "{question}"
        );
        b.hidden("#revoke-section").await;
        b.assert_accessible(&format!("the Delete API Key dialog at {width}px {scheme}"))
            .await;
        b.screenshot(&format!("key-delete-{width}-{scheme}")).await;
        b.click("#delete-section button.icon[data-close]").await;
        b.hidden("#key-dialog").await;
        row_action(&b, "Keep me", "Delete").await;
        b.click_button("#delete-section", "Cancel").await;
        b.hidden("#key-dialog").await;
        assert_eq!(keys(&admin).await["total"], 1, "nothing deleted");
        assert_eq!(status_with(&app, &key).await, 200);
    }

    // "OK" revokes; then "OK" deletes.
    row_action(&b, "Keep me", "Revoke").await;
    b.click_button("#revoke-section", "OK").await;
    b.hidden("#key-dialog").await;
    b.wait_text("#keys-status", "revoked").await;
    b.wait_text("#keys-body tr[data-name=\"Keep me\"]", "revoked")
        .await;
    assert_eq!(status_with(&app, &key).await, 401);
    row_action(&b, "Keep me", "Delete").await;
    b.click_button("#delete-section", "OK").await;
    b.wait_text("#keys-body", "No API keys yet").await;
    assert_eq!(keys(&admin).await["total"], 0);
    b.close().await;
}

#[tokio::test]
async fn escape_after_copy_closes_the_key_at_once_and_escape_on_a_filled_form_asks_first() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    b.goto("/ui/integrations/api-keys").await;
    b.wait_text("#keys-body", "No API keys yet").await;

    // Esc on an untouched form closes it at once.
    b.click("#create-key").await;
    b.visible("#key-name").await;
    press_escape(&b, "#key-name").await;
    b.hidden("#key-dialog").await;

    // Esc on a filled form asks; Esc again (or "No, keep editing") goes back to the form.
    b.click("#create-key").await;
    b.fill("#key-name", "Half typed").await;
    press_escape(&b, "#key-name").await;
    b.wait_text("#key-discard", "Discard what you typed?").await;
    b.visible("#key-dialog").await;
    assert_eq!(b.focused().await, "button#key-discard-back");
    assert_eq!(b.value("#key-name").await, "Half typed");
    b.assert_accessible("the discard question on a filled Create API Key form")
        .await;
    b.screenshot("key-discard-question").await;
    press_escape(&b, "#key-discard-back").await;
    b.hidden("#key-discard").await;
    b.visible("#key-dialog").await;
    assert_eq!(b.value("#key-name").await, "Half typed");
    assert_eq!(b.focused().await, "input#key-name");
    press_escape(&b, "#key-name").await;
    b.visible("#key-discard").await;
    b.click_button("#key-discard", "Yes, discard").await;
    b.hidden("#key-dialog").await;
    assert_eq!(keys(&admin).await["total"], 0, "nothing was created");

    // The next Create starts empty, and Esc on it closes at once again.
    b.click("#create-key").await;
    assert_eq!(b.value("#key-name").await, "");
    press_escape(&b, "#key-name").await;
    b.hidden("#key-dialog").await;

    // A key shown once: Esc before Copy asks (see layout.rs); after Copy it closes at once.
    b.click("#create-key").await;
    b.fill("#key-name", "Copied key").await;
    b.click("#key-submit").await;
    b.visible("#key-value").await;
    let shown = b.text("#key-value").await;
    b.click_button("#key-created", "Copy").await;
    b.wait_text("#key-copy-status", "clipboard").await;
    assert_eq!(b.clipboard().await, shown);
    press_escape(&b, "#key-copy").await;
    b.hidden("#key-dialog").await;
    b.hidden("#key-leave").await;
    crate::support::eventually(crate::support::browser::WAIT_SECS, || async {
        let source = b.client.source().await.unwrap();
        (!source.contains(&shown))
            .then_some(())
            .ok_or("the key is still in the page")
    })
    .await;

    // Editing: Esc with nothing changed closes; a change asks.
    row_action(&b, "Copied key", "Edit").await;
    b.visible("#key-name").await;
    press_escape(&b, "#key-name").await;
    b.hidden("#key-dialog").await;
    row_action(&b, "Copied key", "Edit").await;
    b.fill("#key-name", "Renamed").await;
    press_escape(&b, "#key-name").await;
    b.visible("#key-discard").await;
    b.click_button("#key-discard", "No, keep editing").await;
    b.hidden("#key-discard").await;
    b.click_button("#key-dialog", "Update API Key").await;
    b.hidden("#key-dialog").await;
    b.wait_text("#keys-body", "Renamed").await;
    b.close().await;
}

#[tokio::test]
async fn the_domain_delete_dialog_tells_a_rolled_key_from_its_successor() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    let old = admin
        .post_json(
            "/api/v1/api-keys",
            json!({"name": "CI", "domains": ["go.example.com"]}),
            201,
        )
        .await;
    let new = admin
        .post_json(
            &format!("/api/v1/api-keys/{}/roll", old["id"]),
            json!({"old_key_expires_at": "2099-01-01T00:00:00Z"}),
            201,
        )
        .await;
    let (old_prefix, new_prefix) = (
        old["prefix"].as_str().unwrap().to_owned(),
        new["prefix"].as_str().unwrap().to_owned(),
    );
    assert_ne!(old_prefix, new_prefix);
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    for (width, height, scheme) in [(1280, 900, "light"), (390, 844, "dark")] {
        b.resize(width, height).await;
        b.color_scheme(scheme).await;
        b.goto("/ui/domains").await;
        b.click_button(
            "#domains-body tr[data-hostname=\"go.example.com\"]",
            "Delete",
        )
        .await;
        b.visible("#domain-delete").await;
        let explain = b.text("#domain-delete-explain").await;
        assert!(
            explain.contains(&format!("“CI” ({old_prefix}…)"))
                && explain.contains(&format!("“CI” ({new_prefix}…)")),
            "the sentence tells the two “CI” apart: {explain}"
        );
        let items = b
            .eval(
                "return Array.from(document.querySelectorAll('#domain-delete-keys li')).map(li => li.textContent);",
                vec![],
            )
            .await;
        let items: Vec<String> = serde_json::from_value(items).unwrap();
        assert_eq!(items.len(), 2, "{items:?}");
        let of = |p: &str| {
            items
                .iter()
                .find(|i| i.starts_with(&format!("CI {p}…")))
                .unwrap_or_else(|| panic!("no item for {p}: {items:?}"))
                .clone()
        };
        assert!(
            of(&old_prefix).contains(&format!("replaced by {new_prefix}…")),
            "{items:?}"
        );
        assert!(
            of(&new_prefix).contains(&format!("replaces {old_prefix}…")),
            "{items:?}"
        );
        b.assert_accessible(&format!(
            "the domain delete dialog with a rolled key at {width}px {scheme}"
        ))
        .await;
        b.screenshot(&format!("domain-delete-rolled-{width}-{scheme}"))
            .await;
        b.click_button("#domain-delete", "Cancel").await;
        b.hidden("#domain-delete").await;
    }
    b.close().await;
}

/// Hold this page's next `method` request to a URL ending in `path` until
/// `window.__release()`; `window.__held` is true once it waits.
async fn hold_next(b: &Browser, method: &str, path: &str) {
    b.eval(
        "const [method, path] = arguments;
         window.__held = false;
         window.__hold = new Promise(r => { window.__release = r; });
         const real = window.fetch;
         window.fetch = async function (url, init) {
           if (String(url).endsWith(path) && ((init && init.method) || 'GET') === method) {
             window.fetch = real; window.__held = true; await window.__hold;
           }
           return real.apply(this, arguments);
         };",
        vec![json!(method), json!(path)],
    )
    .await;
}

async fn wait_held(b: &Browser) {
    for _ in 0..200 {
        if b.eval("return window.__held === true;", vec![]).await == json!(true) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the request was never sent");
}

async fn dialog_open(b: &Browser) -> bool {
    b.eval("return document.getElementById('key-dialog').open;", vec![])
        .await
        == json!(true)
}

/// What has the focus: "body", or "<action> in <row name>", or the element's id.
async fn focus_place(b: &Browser) -> String {
    b.eval(
        "const a = document.activeElement;
         if (!a || a === document.body) return 'body';
         const tr = a.closest('tr');
         return tr ? `${a.dataset.action} in ${tr.dataset.name}` : a.id;",
        vec![],
    )
    .await
    .as_str()
    .unwrap()
    .to_owned()
}

/// After OK on Revoke or Delete the change is under way: Esc, × and Cancel leave the dialog
/// open until the reply, and then the focus goes to the key's row (or "Create API Key"), not
/// to the page's body. Disable does the same.
#[tokio::test]
async fn a_revoke_under_way_keeps_its_dialog_and_the_focus_lands_on_the_keys_row() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for name in ["Busy", "Other"] {
        admin
            .post_json("/api/v1/api-keys", json!({"name": name}), 201)
            .await;
    }
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    b.goto("/ui/integrations/api-keys").await;
    b.wait_text("#keys-body", "Busy").await;

    // Revoke, held: Esc, × and Cancel do nothing while it runs.
    row_action(&b, "Busy", "Revoke").await;
    hold_next(&b, "POST", "/revoke").await;
    b.click_button("#revoke-section", "OK").await;
    wait_held(&b).await;
    press_escape(&b, "#revoke-section button[data-close]:not(.icon)").await;
    assert!(
        dialog_open(&b).await,
        "Esc closed the dialog of a revoke under way"
    );
    b.click("#revoke-section button.icon[data-close]").await;
    assert!(
        dialog_open(&b).await,
        "× closed the dialog of a revoke under way"
    );
    b.click_button("#revoke-section", "Cancel").await;
    assert!(
        dialog_open(&b).await,
        "Cancel closed the dialog of a revoke under way"
    );
    b.eval("window.__release();", vec![]).await;
    b.hidden("#key-dialog").await;
    b.wait_text("#keys-body tr[data-name=\"Busy\"]", "revoked")
        .await;
    assert_eq!(focus_place(&b).await, "delete in Busy");

    // Disable: the focus goes to the key's Enable.
    row_action(&b, "Other", "Disable").await;
    b.visible("#disable-section").await;
    b.click("#disable-section button[type=submit]").await;
    b.hidden("#key-dialog").await;
    b.wait_text("#keys-body tr[data-name=\"Other\"]", "Enable")
        .await;
    assert_eq!(focus_place(&b).await, "enable in Other");

    // Delete: the row is gone, so "Create API Key" has the focus.
    row_action(&b, "Busy", "Delete").await;
    b.click_button("#delete-section", "OK").await;
    b.hidden("#key-dialog").await;
    b.wait_text("#keys-status", "deleted").await;
    assert_eq!(focus_place(&b).await, "create-key");
    b.close().await;
}

/// The domains arrive after Create API Key opened its form: their checkboxes are not something
/// the user typed, so Esc on the untouched form closes it without asking.
#[tokio::test]
async fn escape_on_an_untouched_create_form_closes_it_when_the_domains_load_late() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    b.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({"source": "window.__domains = new Promise(r => { window.__releaseDomains = r; });
            const real = window.fetch;
            window.fetch = async function (url, init) {
              if (String(url).includes('/api/v1/domains')) await window.__domains;
              return real.apply(this, arguments);
            };"}),
    )
    .await;
    b.goto("/ui/integrations/api-keys").await;
    b.wait_text("#keys-body", "No API keys yet").await;
    b.click("#create-key").await;
    b.visible("#key-form").await;
    b.eval("window.__releaseDomains();", vec![]).await;
    b.find("#key-form input[type=checkbox][value=\"go.example.com\"]")
        .await;
    press_escape(&b, "#key-name").await;
    b.hidden("#key-dialog").await;
    b.close().await;
}
