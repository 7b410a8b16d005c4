//! The guide's "Creating an API Key", "Editing an API Key" and "Revoking/Deleting an API Key"
//! sections, step by step in Chromium, with every effect checked through the HTTP API.

use serde_json::{json, Value};

use crate::support::browser::Browser;
use crate::support::{expect, spawn_with, Options, Session, TestApp};

const CONFIG_KEY_HASH: &str =
    "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

async fn key_get(app: &TestApp, key: &str, path: &str) -> reqwest::Response {
    app.http
        .get(app.url(path))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
}

async fn key_by_name(admin: &Session, name: &str) -> Value {
    let list = expect(
        admin
            .get("/api/v1/api-keys?limit=100")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no key named {name} in {list}"))
}

/// Click the button labelled `label` in the table row of the key named `name`.
async fn row_action(b: &Browser, name: &str, label: &str) {
    b.click_button(&format!("#keys-body tr[data-name=\"{name}\"]"), label)
        .await;
}

/// Choose exactly `hosts` in the Domain Scope control: "All domains" for none, otherwise
/// "Only the domains I choose" and the hosts' checkboxes.
pub async fn choose_domains(b: &Browser, hosts: &[&str]) {
    if hosts.is_empty() {
        b.click("#key-scope-all").await;
    } else {
        b.click("#key-scope-some").await;
        b.visible("#key-scope-list").await;
    }
    for opt in b
        .client
        .find_all(fantoccini::Locator::Css(
            "#key-scope-list input[type=checkbox]",
        ))
        .await
        .unwrap()
    {
        let value = opt.prop("value").await.unwrap().unwrap_or_default();
        let checked = opt.prop("checked").await.unwrap().as_deref() == Some("true");
        if !hosts.is_empty() && checked != hosts.contains(&value.as_str()) {
            opt.click().await.unwrap();
        }
    }
    let chips = b
        .eval(
            "return Array.from(document.querySelectorAll('#key-scope-chips li')).map(li => li.dataset.host);",
            vec![],
        )
        .await;
    let want: Vec<&str> = if hosts.is_empty() {
        vec![]
    } else {
        hosts.to_vec()
    };
    assert_eq!(chips, json!(want), "domain scope chips");
}

#[tokio::test]
async fn create_edit_revoke_and_delete_api_keys_as_the_guide_describes() {
    let app = spawn_with(Options {
        extra_toml: format!(
            "[[api_keys]]\nname = \"ci-from-config\"\nhash = \"{CONFIG_KEY_HASH}\"\n"
        ),
        ..Options::default()
    })
    .await;
    let admin = app.admin().await;
    for host in ["go.example.com", "other.example.com"] {
        admin
            .post_json("/api/v1/domains", json!({"hostname": host}), 201)
            .await;
    }
    admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "go.example.com", "destination_url": "https://a.example.org/", "slug": "in-scope"}),
            201,
        )
        .await;
    admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "other.example.com", "destination_url": "https://b.example.org/", "slug": "out-of-scope"}),
            201,
        )
        .await;

    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;

    // Step: Navigate to API Keys — "Integrations" in the sidebar, then "API Keys".
    b.click_button("nav.sidebar", "Links").await;
    b.wait_for_path(|p| p == "/ui/links").await;
    b.click("nav.sidebar details.group > summary").await;
    assert_eq!(
        b.text("nav.sidebar details.group > summary").await,
        "Integrations"
    );
    b.click_button("nav.sidebar .submenu", "API Keys").await;
    b.wait_for_path(|p| p == "/ui/integrations/api-keys").await;
    assert_eq!(b.text("main h1").await, "API Keys");
    b.find("#keys-table").await;
    // The key declared in the config file is listed, read-only.
    let config_row = "#keys-body tr[data-name=\"ci-from-config\"]";
    b.wait_text(config_row, "From config file").await;
    assert!(
        !b.exists(&format!("{config_row} button")).await,
        "config keys have no Edit/Revoke/Delete"
    );

    // Step: Open Create Modal — the "Create API Key" button in the page header.
    assert_eq!(
        b.text("header.page-header #create-key").await,
        "Create API Key"
    );
    b.click("header.page-header #create-key").await;
    b.visible("#key-dialog").await;
    assert_eq!(b.text("#key-dialog-title").await, "Create API Key");
    assert_eq!(
        b.focused().await,
        "input#key-name",
        "focus moves into the modal"
    );
    assert_eq!(b.text("#key-domains legend").await, "Domain Scope");
    assert!(b.checked("#key-scope-all").await, "All domains by default");
    b.hidden("#key-scope-picker").await;
    for (id, label) in [
        ("key-name", "Name"),
        ("key-allow-all", "Allow All IP Addresses"),
        ("key-whitelist", "IP Whitelist"),
        ("key-never-expire", "Never Expire"),
    ] {
        let text = b
            .find(&format!("label[for=\"{id}\"]"))
            .await
            .prop("textContent")
            .await
            .unwrap();
        assert_eq!(text.as_deref(), Some(label), "label of #{id}");
    }
    b.wait_text("#key-domains-hint", "all domains").await;
    assert!(
        b.checked("#key-allow-all").await,
        "Allow All IP Addresses is checked by default"
    );
    assert!(
        b.checked("#key-never-expire").await,
        "Never Expire is checked by default"
    );
    b.hidden("#key-whitelist").await;
    b.hidden("#key-expires").await;

    // Escape closes the modal and focus goes back to the button that opened it.
    b.find("#key-name")
        .await
        .send_keys("\u{E00C}")
        .await
        .unwrap();
    b.hidden("#key-dialog").await;
    assert_eq!(b.focused().await, "button#create-key");
    b.click("#create-key").await;
    b.visible("#key-dialog").await;

    // Step: Enter Key Name; Configure Domain Scope; Configure IP Whitelist; Set Expiration.
    b.fill("#key-name", "Production API Key").await;
    choose_domains(&b, &["go.example.com"]).await;
    b.click("#key-allow-all").await;
    b.visible("#key-whitelist").await;
    b.fill("#key-whitelist", "127.0.0.1\n\nnot-an-ip").await;
    b.click("#key-never-expire").await;
    b.visible("#key-expires").await;
    let local = format!("{}-06-15T12:30", time_year() + 1);
    b.eval(
        "const e = document.getElementById('key-expires'); e.value = arguments[0]; e.dispatchEvent(new Event('input', {bubbles: true}));",
        vec![json!(local)],
    )
    .await;
    let expected_expiry = b
        .eval(
            "return new Date(arguments[0]).toISOString().replace(/\\.\\d{3}Z$/, 'Z');",
            vec![json!(local)],
        )
        .await;

    // A bad whitelist line is pointed out by line, next to the field; nothing typed is lost.
    b.click("#key-submit").await;
    let err = b
        .wait_text("[data-error-for=\"ip_whitelist\"]", "Line 3")
        .await;
    assert!(err.contains("not-an-ip"), "error names the entry: {err}");
    assert_eq!(b.value("#key-name").await, "Production API Key");
    assert_eq!(b.value("#key-whitelist").await, "127.0.0.1\n\nnot-an-ip");
    assert!(!b.checked("#key-never-expire").await);
    assert_eq!(b.value("#key-expires").await, local);
    assert_eq!(b.focused().await, "textarea#key-whitelist");
    b.screenshot("key-dialog-error").await;
    let keys = expect(admin.get("/api/v1/api-keys").send().await.unwrap(), 200).await;
    assert_eq!(
        keys["total"], 1,
        "nothing was created by the failed attempt"
    );

    // Step: Create the Key.
    b.fill("#key-whitelist", "127.0.0.1").await;
    assert_eq!(b.text("#key-submit").await, "Create API Key");
    b.click("#key-submit").await;

    // Step: Save the API Key — highlighted box, "Copy", warning, "OK".
    b.visible("#key-created .secret-box").await;
    b.wait_text("#key-created .warning", "will not be shown again")
        .await;
    let shown = b.text("#key-value").await;
    b.screenshot("key-created").await;
    assert!(shown.starts_with("ldk_"), "key shown: {}", shown.len());
    b.click_button("#key-created", "Copy").await;
    b.wait_text("#key-copy-status", "clipboard").await;
    let key = b.clipboard().await;
    assert_eq!(key, shown, "Copy puts the key on the clipboard");
    b.click_button("#key-created", "OK").await;
    b.hidden("#key-dialog").await;
    assert!(
        !b.client.source().await.unwrap().contains(&key),
        "the key is gone from the page after OK"
    );
    b.wait_text(
        "#keys-body tr[data-name=\"Production API Key\"]",
        "go.example.com",
    )
    .await;
    let row = b
        .text("#keys-body tr[data-name=\"Production API Key\"]")
        .await;
    assert!(
        row.contains("127.0.0.1") && row.contains(&key[..12]) && row.contains("active"),
        "row: {row}"
    );

    // The key works, within its scope and whitelist, with the chosen expiry.
    let created = key_by_name(&admin, "Production API Key").await;
    assert_eq!(created["domains"], json!(["go.example.com"]));
    assert_eq!(created["allow_all_ips"], false);
    assert_eq!(created["ip_whitelist"], json!(["127.0.0.1"]));
    assert_eq!(created["expires_at"], expected_expiry);
    let links = expect(key_get(&app, &key, "/api/v1/links").await, 200).await;
    let slugs: Vec<&str> = links["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["in-scope"], "domain scope holds");
    let res = app
        .http
        .post(app.url("/api/v1/links"))
        .bearer_auth(&key)
        .json(&json!({"domain": "other.example.com", "destination_url": "https://c.example.org/"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "creating on an out-of-scope domain");

    // Editing an API Key: "Edit" opens the same modal, prefilled, with "Update API Key".
    row_action(&b, "Production API Key", "Edit").await;
    b.visible("#key-dialog").await;
    assert_eq!(b.text("#key-dialog-title").await, "Edit API Key");
    assert_eq!(b.text("#key-submit").await, "Update API Key");
    assert_eq!(b.value("#key-name").await, "Production API Key");
    assert!(!b.checked("#key-allow-all").await);
    assert_eq!(b.value("#key-whitelist").await, "127.0.0.1");
    assert!(!b.checked("#key-never-expire").await);
    assert_eq!(b.value("#key-expires").await, local);
    assert!(
        !b.exists("#key-dialog input[name=key]").await,
        "the key value is not editable"
    );
    // Step: Modify Settings — name and whitelist (10.0.0.1 only), never expire.
    b.fill("#key-name", "Production API Key v2").await;
    b.fill("#key-whitelist", "10.0.0.1").await;
    b.click("#key-never-expire").await;
    b.hidden("#key-expires").await;
    // Step: Save Changes.
    b.click_button("#key-dialog", "Update API Key").await;
    b.hidden("#key-dialog").await;
    b.wait_text(
        "#keys-body tr[data-name=\"Production API Key v2\"]",
        "10.0.0.1",
    )
    .await;
    let edited = key_by_name(&admin, "Production API Key v2").await;
    assert_eq!(edited["ip_whitelist"], json!(["10.0.0.1"]));
    assert_eq!(edited["expires_at"], Value::Null);
    assert_eq!(
        edited["prefix"], created["prefix"],
        "the key value never changes"
    );
    assert_eq!(
        key_get(&app, &key, "/api/v1/links").await.status(),
        403,
        "127.0.0.1 is outside the whitelist now"
    );

    // Back to all IP addresses, so the revocation is what stops it.
    row_action(&b, "Production API Key v2", "Edit").await;
    b.visible("#key-dialog").await;
    b.click("#key-allow-all").await;
    b.hidden("#key-whitelist").await;
    b.click_button("#key-dialog", "Update API Key").await;
    b.hidden("#key-dialog").await;
    b.wait_text(
        "#keys-body tr[data-name=\"Production API Key v2\"]",
        "All IP addresses",
    )
    .await;
    assert_eq!(key_get(&app, &key, "/api/v1/links").await.status(), 200);

    // Revoking: a confirmation dialog; "Cancel" aborts, "OK" invalidates at once.
    row_action(&b, "Production API Key v2", "Revoke").await;
    let question = b.visible("#revoke-section").await.text().await.unwrap();
    assert!(
        question.contains("Revoke") && question.contains("Production API Key v2"),
        "{question}"
    );
    b.click_button("#revoke-section", "Cancel").await;
    b.hidden("#key-dialog").await;
    assert_eq!(
        key_get(&app, &key, "/api/v1/links").await.status(),
        200,
        "Cancel leaves the key working"
    );
    row_action(&b, "Production API Key v2", "Revoke").await;
    b.click_button("#revoke-section", "OK").await;
    b.hidden("#key-dialog").await;
    b.wait_text(
        "#keys-body tr[data-name=\"Production API Key v2\"]",
        "revoked",
    )
    .await;
    assert_eq!(
        key_get(&app, &key, "/api/v1/links").await.status(),
        401,
        "a revoked key gets 401"
    );

    // A second key with every default: all domains, all IPs, never expires; then Delete.
    b.click("#create-key").await;
    b.visible("#key-dialog").await;
    assert_eq!(
        b.value("#key-name").await,
        "",
        "the create form starts empty"
    );
    b.fill("#key-name", "Development Key").await;
    b.click_button("#key-dialog", "Create API Key").await;
    b.visible("#key-value").await;
    b.click_button("#key-created", "Copy").await;
    b.wait_text("#key-copy-status", "clipboard").await;
    let dev_key = b.clipboard().await;
    b.click_button("#key-created", "OK").await;
    b.hidden("#key-dialog").await;
    let dev = key_by_name(&admin, "Development Key").await;
    assert_eq!(
        (
            dev["domains"].clone(),
            dev["allow_all_ips"].clone(),
            dev["expires_at"].clone()
        ),
        (json!([]), json!(true), Value::Null)
    );
    let links = expect(key_get(&app, &dev_key, "/api/v1/links").await, 200).await;
    assert_eq!(links["total"], 2, "an unscoped key sees every domain");

    row_action(&b, "Development Key", "Delete").await;
    assert!(b
        .visible("#delete-section")
        .await
        .text()
        .await
        .unwrap()
        .contains("Delete"));
    b.click_button("#delete-section", "OK").await;
    crate::support::eventually(crate::support::browser::WAIT_SECS, || async {
        (!b.exists("#keys-body tr[data-name=\"Development Key\"]")
            .await)
            .then_some(())
            .ok_or("deleted key stays in the table")
    })
    .await;
    assert_eq!(
        key_get(&app, &dev_key, "/api/v1/links").await.status(),
        401,
        "a deleted key gets 401"
    );
    b.close().await;
}

fn time_year() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    1970 + secs / 31_556_952
}

/// The checked boxes of the Domain Scope list and the chips, as host names.
async fn scope_state(b: &Browser) -> (Value, Value) {
    let v = b
        .eval(
            "return [Array.from(document.querySelectorAll('#key-scope-list input:checked')).map(i => i.value),
                     Array.from(document.querySelectorAll('#key-scope-chips li')).map(li => li.dataset.host)];",
            vec![],
        )
        .await;
    (v[0].clone(), v[1].clone())
}

#[tokio::test]
async fn domain_scope_is_a_choice_with_a_filter_and_chips_and_the_key_is_never_lost_by_accident() {
    let app = crate::support::spawn_app().await;
    let admin = app.admin().await;
    let hosts: Vec<String> = (1..=12).map(|i| format!("d{i:02}.example.com")).collect();
    for h in &hosts {
        admin
            .post_json("/api/v1/domains", json!({"hostname": h}), 201)
            .await;
    }
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    for (width, height, scheme) in [(1280, 900, "light"), (390, 844, "dark")] {
        b.resize(width, height).await;
        b.color_scheme(scheme).await;
        b.goto("/ui/integrations/api-keys").await;
        b.wait_text("#keys-body", "No API keys").await;
        b.click("#create-key").await;
        b.visible("#key-dialog").await;
        b.assert_accessible(&format!("the Create API Key dialog at {width}px {scheme}"))
            .await;
        let name = format!("Scoped {width}");
        b.fill("#key-name", &name).await;

        // "Only the domains I choose" with nothing chosen is explained, not sent.
        b.click("#key-scope-some").await;
        b.visible("#key-scope-list").await;
        assert_eq!(
            b.focused().await,
            "input#key-scope-filter",
            "12 domains: the filter comes first"
        );
        b.click("#key-submit").await;
        let err = b
            .wait_text("#key-domains-error", "at least one domain")
            .await;
        assert!(err.contains("All domains"), "{err}");

        // The filter narrows the list; ticking adds a chip and clears the error.
        b.fill("#key-scope-filter", "d1").await;
        let shown = b
            .eval(
                "return Array.from(document.querySelectorAll('#key-scope-list label')).filter(l => l.offsetParent !== null).map(l => l.dataset.host);",
                vec![],
            )
            .await;
        assert_eq!(
            shown,
            json!(["d10.example.com", "d11.example.com", "d12.example.com"])
        );
        b.click("label[data-host=\"d11.example.com\"]").await;
        b.hidden("#key-domains-error").await;
        b.fill("#key-scope-filter", "zzz").await;
        b.wait_text("#key-scope-empty", "No domain matches").await;
        b.fill("#key-scope-filter", "d0").await;
        b.click("label[data-host=\"d03.example.com\"]").await;
        b.click("label[data-host=\"d07.example.com\"]").await;
        let (checked, chips) = scope_state(&b).await;
        assert_eq!(checked, chips);
        assert_eq!(
            chips,
            json!(["d03.example.com", "d07.example.com", "d11.example.com"])
        );
        // A chip's × removes the domain again.
        b.click("#key-scope-chips button[aria-label=\"Remove d07.example.com from the scope\"]")
            .await;
        assert_eq!(
            scope_state(&b).await.1,
            json!(["d03.example.com", "d11.example.com"])
        );
        b.screenshot(&format!("key-scope-{width}-{scheme}")).await;
        b.assert_accessible(&format!("the domain scope picker at {width}px {scheme}"))
            .await;
        b.click("#key-submit").await;
        b.visible("#key-value").await;
        let shown = b.text("#key-value").await;

        // The one-time key: ×, a click outside and Escape each ask before closing.
        b.click("#key-created-close").await;
        b.wait_text(
            "#key-leave",
            "Have you copied your key? You won't be able to see it again.",
        )
        .await;
        b.assert_accessible(&format!(
            "the copied-your-key question at {width}px {scheme}"
        ))
        .await;
        b.click_button("#key-leave", "No, go back to the key").await;
        b.hidden("#key-leave").await;
        b.click_at(3.0, 3.0).await; // the backdrop, outside the dialog
        b.visible("#key-leave").await;
        b.visible("#key-dialog").await;
        assert_eq!(b.text("#key-value").await, shown);
        b.click_button("#key-leave", "Yes, close").await;
        b.hidden("#key-dialog").await;
        assert!(!b.client.source().await.unwrap().contains(&shown));

        let made = key_by_name(&admin, &name).await;
        assert_eq!(
            made["domains"],
            json!(["d03.example.com", "d11.example.com"])
        );

        // Edit shows the chosen domains, and "All domains" goes back to every domain.
        row_action(&b, &name, "Edit").await;
        b.visible("#key-dialog").await;
        assert!(b.checked("#key-scope-some").await);
        assert_eq!(
            scope_state(&b).await.1,
            json!(["d03.example.com", "d11.example.com"])
        );
        b.click("#key-scope-all").await;
        b.hidden("#key-scope-picker").await;
        b.click_button("#key-dialog", "Update API Key").await;
        b.hidden("#key-dialog").await;
        b.wait_text(
            &format!("#keys-body tr[data-name=\"{name}\"]"),
            "All domains",
        )
        .await;
        assert_eq!(key_by_name(&admin, &name).await["domains"], json!([]));
        // Deleted again, for the next width's empty table.
        row_action(&b, &name, "Delete").await;
        b.click_button("#delete-section", "OK").await;
        b.wait_text("#keys-body", "No API keys").await;
    }
    b.close().await;
}

/// The permission boxes that are ticked, and which preset is chosen.
async fn permission_state(b: &Browser) -> (Value, Value) {
    let v = b
        .eval(
            "return [Array.from(document.querySelectorAll('#key-permissions input[name=permission]:checked')).map(i => i.value),
                     (document.querySelector('#key-permissions input[name=permission_preset]:checked') || {}).value || null];",
            vec![],
        )
        .await;
    (v[0].clone(), v[1].clone())
}

/// Copy the one-time key from the box and close it with "OK".
async fn take_key_once(b: &Browser) -> String {
    b.visible("#key-created .secret-box").await;
    let key = b.text("#key-value").await;
    assert!(key.starts_with("ldk_"), "a key is shown");
    b.click_button("#key-created", "OK").await;
    b.hidden("#key-dialog").await;
    key
}

#[tokio::test]
async fn permission_presets_a_rate_limit_and_roll_with_a_grace_period() {
    let app = crate::support::spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    b.goto("/ui/integrations/api-keys").await;
    b.wait_text("#keys-body", "No API keys").await;
    b.click("#create-key").await;
    b.visible("#key-dialog").await;

    // Permissions: Full access by default, every box ticked; presets tick their boxes, and
    // ticking boxes by hand shows Custom.
    assert_eq!(b.text("#key-permissions legend").await, "Permissions");
    let all = json!([
        "links:read",
        "links:write",
        "domains:read",
        "domains:write",
        "links:import",
        "links:export"
    ]);
    assert_eq!(permission_state(&b).await, (all.clone(), json!("full")));
    for (id, label) in [
        ("key-perm-full", "Full access"),
        ("key-perm-read", "Read only"),
        ("key-perm-custom", "Custom"),
        ("key-no-limit", "No Rate Limit"),
    ] {
        let text = b.text(&format!("label[for=\"{id}\"]")).await;
        assert_eq!(text.trim(), label, "label of #{id}");
    }
    b.click("label[for=\"key-perm-read\"]").await;
    assert_eq!(
        permission_state(&b).await,
        (json!(["links:read", "domains:read"]), json!("read"))
    );
    b.click("#key-perm-links-export").await;
    assert_eq!(
        permission_state(&b).await,
        (
            json!(["links:read", "domains:read", "links:export"]),
            json!("custom")
        )
    );
    b.click("#key-perm-full").await;
    assert_eq!(permission_state(&b).await, (all.clone(), json!("full")));
    b.click("#key-perm-read").await;

    // Rate limit: off by default; a bad number is explained next to the field.
    assert!(b.checked("#key-no-limit").await);
    b.hidden("#key-rate").await;
    b.click("#key-no-limit").await;
    b.visible("#key-rate").await;
    b.fill("#key-name", "Dashboard").await;
    b.fill("#key-rate", "0").await;
    b.click("#key-submit").await;
    b.wait_text("[data-error-for=\"rate_limit_per_minute\"]", "whole number")
        .await;
    b.fill("#key-rate", "30").await;
    b.screenshot("key-permissions").await;
    b.assert_accessible("the Create API Key dialog with permissions and a rate limit")
        .await;
    b.click("#key-submit").await;
    let key = take_key_once(&b).await;
    let made = key_by_name(&admin, "Dashboard").await;
    assert_eq!(made["permissions"], json!(["links:read", "domains:read"]));
    assert_eq!(made["rate_limit_per_minute"], 30);
    let row = b
        .wait_text("#keys-body tr[data-name=\"Dashboard\"]", "Read only")
        .await;
    assert!(row.contains("30 requests/min"), "{row}");
    let res = key_get(&app, &key, "/api/v1/links").await;
    assert_eq!(res.headers()["ratelimit-policy"], "30;w=60");
    let res = app
        .http
        .post(app.url("/api/v1/links"))
        .bearer_auth(&key)
        .json(&json!({"domain": "go.example.com", "destination_url": "https://e.com/"}))
        .send()
        .await
        .unwrap();
    let d = expect(res, 403).await;
    assert!(d["detail"].as_str().unwrap().contains("links:write"), "{d}");

    // Edit shows the preset and the limit; Custom with nothing ticked is explained.
    row_action(&b, "Dashboard", "Edit").await;
    b.visible("#key-dialog").await;
    assert_eq!(
        permission_state(&b).await,
        (json!(["links:read", "domains:read"]), json!("read"))
    );
    assert!(!b.checked("#key-no-limit").await);
    assert_eq!(b.value("#key-rate").await, "30");
    b.click("#key-perm-links-read").await;
    b.click("#key-perm-domains-read").await;
    assert_eq!(permission_state(&b).await, (json!([]), json!("custom")));
    b.click_button("#key-dialog", "Update API Key").await;
    b.wait_text("#key-permissions-error", "at least one permission")
        .await;
    b.click("#key-perm-links-read").await;
    b.click("#key-perm-links-write").await;
    b.click_button("#key-dialog", "Update API Key").await;
    b.hidden("#key-dialog").await;
    b.wait_text("#keys-body tr[data-name=\"Dashboard\"]", "links:write")
        .await;
    assert_eq!(
        key_by_name(&admin, "Dashboard").await["permissions"],
        json!(["links:read", "links:write"])
    );

    // Roll: the grace choice (24 hours by default), then the new key shown once.
    row_action(&b, "Dashboard", "Roll").await;
    b.visible("#roll-section").await;
    assert_eq!(b.text("#roll-dialog-title").await, "Roll API Key");
    b.hidden("#key-form").await;
    assert!(b.checked("#roll-grace-86400").await, "24 hours by default");
    for (secs, label) in [
        (0, "No grace period: it stops now"),
        (3600, "1 hour"),
        (86400, "24 hours"),
        (604_800, "7 days"),
    ] {
        let text = b.text(&format!("label[for=\"roll-grace-{secs}\"]")).await;
        assert_eq!(text.trim(), label);
    }
    b.assert_accessible("the Roll API Key dialog").await;
    b.click("#roll-grace-3600").await;
    b.screenshot("key-roll").await;
    b.click_button("#roll-section", "Roll Key").await;
    b.wait_text("#key-created-title", "API Key Rolled").await;
    let new_key = take_key_once(&b).await;
    assert_ne!(new_key, key);

    // Both keys are listed, linked by their prefixes; the old one has no Roll any more.
    let old_row = format!("#keys-body tr[data-prefix=\"{}\"]", &key[..12]);
    let new_row = format!("#keys-body tr[data-prefix=\"{}\"]", &new_key[..12]);
    let text = b
        .wait_text(&old_row, &format!("rotated → {}…", &new_key[..12]))
        .await;
    assert!(text.contains("works until"), "{text}");
    b.wait_text(&new_row, &format!("rotated from {}…", &key[..12]))
        .await;
    let old_buttons = b
        .eval(
            "return Array.from(document.querySelectorAll(arguments[0] + ' button')).map(x => x.textContent);",
            vec![json!(old_row)],
        )
        .await;
    assert!(
        !old_buttons.as_array().unwrap().iter().any(|t| t == "Roll"),
        "{old_buttons}"
    );
    b.screenshot("key-rolled-list").await;
    let list = expect(admin.get("/api/v1/api-keys").send().await.unwrap(), 200).await;
    let old = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["prefix"] == key[..12])
        .unwrap()
        .clone();
    let until = time::OffsetDateTime::parse(
        old["rotated_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let in_an_hour = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    assert!(
        (until - in_an_hour).abs() < time::Duration::minutes(2),
        "{until} vs {in_an_hour}"
    );
    // During the grace period both work; the new key has the old one's settings.
    assert_eq!(key_get(&app, &key, "/api/v1/links").await.status(), 200);
    let res = key_get(&app, &new_key, "/api/v1/links").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["ratelimit-policy"], "30;w=60");

    // Rolling the new key without a grace period stops it at once.
    b.click_button(&new_row, "Roll").await;
    b.visible("#roll-section").await;
    b.click("#roll-grace-0").await;
    b.click_button("#roll-section", "Roll Key").await;
    b.wait_text("#keys-status", "has stopped working").await;
    let newest = take_key_once(&b).await;
    let res = key_get(&app, &new_key, "/api/v1/links").await;
    let d = expect(res, 401).await;
    assert!(d["detail"].as_str().unwrap().contains("rotated"), "{d}");
    assert_eq!(key_get(&app, &newest, "/api/v1/links").await.status(), 200);
    b.wait_text(&new_row, "rotated").await;
    b.close().await;
}
