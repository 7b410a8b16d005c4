//! The rough edges a new team hits (issue 22, point 8), walked in Chromium: a destination
//! without a scheme gets https:// offered, a pasted address becomes a host name, renaming a
//! slug names the short URL that stops working, the search and filters live in the address and
//! Export follows them, links are compact cards at 390 px, the setup page states the password
//! rule, and times say how far away they are.

use serde_json::{json, Value};

use super::links_domains::{allow_downloads, downloaded};
use crate::support::browser::{Browser, WAIT_SECS};
use crate::support::{call, eventually, spawn_app, spawn_with, Options, Session};

async fn link(admin: &Session, body: Value) -> Value {
    admin.post_json("/api/v1/links", body, 201).await
}

/// The page's address after the host: path and query.
async fn location(b: &Browser) -> String {
    b.eval("return location.pathname + location.search;", vec![])
        .await
        .as_str()
        .unwrap()
        .to_owned()
}

async fn wait_location(b: &Browser, expected: &str) {
    eventually(WAIT_SECS, || async {
        let now = location(b).await;
        if now == expected {
            Ok(())
        } else {
            Err(format!("at {now}, expected {expected}"))
        }
    })
    .await;
}

/// The slugs of the rows the links table shows, top to bottom.
async fn shown_slugs(b: &Browser, expected: &[&str]) {
    eventually(WAIT_SECS, || async {
        let shown = b
            .eval(
                "return Array.from(document.querySelectorAll('#links-body tr[data-id] .short-url a'))
                   .map(a => a.textContent.split('/').pop());",
                vec![],
            )
            .await;
        if shown == json!(expected) {
            Ok(())
        } else {
            Err(format!("rows {shown}, expected {expected:?}"))
        }
    })
    .await;
}

#[tokio::test]
async fn the_links_and_domains_forms_fix_what_a_new_user_types() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    let docs = link(
        &admin,
        json!({"domain": "go.example.com", "slug": "docs", "destination_url": "https://example.com/documentation"}),
    )
    .await;
    // The server stays strict: no scheme is a 400 naming the field.
    let res = admin
        .post("/api/v1/links")
        .json(&json!({"domain": "go.example.com", "destination_url": "example.com/page"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(
        problem["errors"][0]["field"], "destination_url",
        "{problem}"
    );
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;

    for (width, height, scheme) in [(1280, 900, "light"), (390, 844, "dark")] {
        b.resize(width, height).await;
        b.color_scheme(scheme).await;

        // ---- Domains: a pasted address is cut to its host name, visibly ----
        b.goto("/ui/domains").await;
        b.wait_text("#domains-body", "go.example.com").await;
        let host = format!("w{width}.example.com");
        b.fill("#domain-hostname", &format!("https://{host}/some/path?x=1"))
            .await;
        // Held, the request shows what is sent and the note saying so; once added, the field is
        // empty and the note about it goes too.
        b.eval(
            "window.__hold = new Promise(r => { window.__release = r; });
             const real = window.fetch;
             window.fetch = async function (url, init) {
               if (String(url).endsWith('/api/v1/domains') && init && init.method === 'POST') {
                 window.fetch = real; await window.__hold;
               }
               return real.apply(this, arguments);
             };",
            vec![],
        )
        .await;
        b.click("#domain-add").await;
        let note = b.text("#domain-hostname-cleaned").await;
        assert_eq!(
            note,
            format!(
                "Cleaned to {host}: a domain is its host name alone, without https:// or a path."
            )
        );
        b.eval("window.__release();", vec![]).await;
        b.wait_text("#domains-body", &host).await;
        assert_eq!(b.value("#domain-hostname").await, "");
        assert_eq!(
            b.eval(
                "return document.getElementById('domain-hostname-cleaned').textContent;",
                vec![]
            )
            .await,
            json!(""),
            "the note outlives the host name it was about"
        );
        let listed = call(admin.get("/api/v1/domains?limit=100"), 200).await;
        assert!(
            listed["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["hostname"] == host.as_str()),
            "{listed}"
        );
        // Leaving the field cleans it too, before anything is sent.
        b.fill("#domain-hostname", "HTTP://Blur.Example.com:8080/")
            .await;
        b.click("h1").await;
        assert_eq!(b.value("#domain-hostname").await, "Blur.Example.com");
        b.wait_text("#domain-hostname-cleaned", "Cleaned to Blur.Example.com")
            .await;
        b.assert_page_hygiene("the domains page with a cleaned host name", width, scheme)
            .await;
        b.assert_accessible(&format!("a cleaned host name at {width}px {scheme}"))
            .await;
        b.screenshot(&format!("edges-domain-cleaned-{width}-{scheme}"))
            .await;

        // ---- Links: a destination without a scheme gets https:// offered ----
        b.goto("/ui/links").await;
        b.wait_text("#links-body", "/docs").await;
        b.click_button("header.page-header", "Create Link").await;
        b.visible("#link-dialog").await;
        b.find("#link-domain")
            .await
            .select_by_value("go.example.com")
            .await
            .unwrap();
        b.fill("#link-destination", "example.com/page").await;
        let slug = format!("page-{width}");
        b.fill("#link-slug", &slug).await;
        b.visible("#link-destination-offer").await;
        assert_eq!(
            b.text("#link-destination-offer").await,
            "This address has no http:// or https://. Use https://example.com/page"
        );
        b.assert_accessible(&format!("the https:// offer at {width}px {scheme}"))
            .await;
        b.screenshot(&format!("edges-https-offer-{width}-{scheme}"))
            .await;
        // Saving as it is: nothing is sent, the error says why and the fix has the focus.
        b.click_button("#link-dialog", "Create Link").await;
        b.wait_text(
            "#link-destination-error",
            "Start the address with https:// or http://.",
        )
        .await;
        assert_eq!(b.focused().await, "button#link-destination-fix");
        b.click_button("#link-dialog", "Use https://example.com/page")
            .await;
        assert_eq!(
            b.value("#link-destination").await,
            "https://example.com/page"
        );
        b.hidden("#link-destination-offer").await;
        b.hidden("#link-destination-error").await;
        b.click_button("#link-dialog", "Create Link").await;
        b.hidden("#link-dialog").await;
        b.wait_text("#links-body", &format!("/{slug}")).await;
        let made = call(admin.get(&format!("/api/v1/links?search={slug}")), 200).await;
        assert_eq!(
            made["items"][0]["destination_url"], "https://example.com/page",
            "{made}"
        );

        // ---- Editing: a new slug names the short URL that stops working ----
        let old = docs["short_url"].as_str().unwrap();
        b.click_button(
            &format!("#links-body tr[data-id=\"{}\"]", docs["id"]),
            "Edit",
        )
        .await;
        b.visible("#link-dialog").await;
        assert_eq!(b.text("#link-slug-warning").await, "", "no change yet");
        b.fill("#link-slug", "documentation").await;
        let warning = b.wait_text("#link-slug-warning", old).await;
        assert_eq!(
            warning,
            format!("{old} will stop working once you save: anyone who opens it gets “not found”. Update the places that link to it.")
        );
        b.assert_accessible(&format!("the slug-rename warning at {width}px {scheme}"))
            .await;
        b.screenshot(&format!("edges-slug-warning-{width}-{scheme}"))
            .await;
        // Back to the old slug: no warning; cancel leaves the link as it was.
        b.fill("#link-slug", "docs").await;
        eventually(WAIT_SECS, || async {
            let w = b.text("#link-slug-warning").await;
            if w.is_empty() {
                Ok(())
            } else {
                Err(w)
            }
        })
        .await;
        b.click_button("#link-dialog", "Cancel").await;
        b.hidden("#link-dialog").await;
    }
    b.close().await;
}

#[tokio::test]
async fn search_and_filters_live_in_the_address_and_export_follows_them() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    admin.domain("b.example.com").await;
    for (domain, slug, tags) in [
        ("go.example.com", "docs-team", json!(["team"])),
        ("go.example.com", "docs-public", json!(["public"])),
        ("go.example.com", "blog-team", json!(["team"])),
        ("b.example.com", "docs-b", json!(["team"])),
    ] {
        link(
            &admin,
            json!({"domain": domain, "slug": slug, "tags": tags,
                   "destination_url": format!("https://example.com/{slug}")}),
        )
        .await;
    }
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    b.goto("/ui/links").await;
    shown_slugs(&b, &["docs-b", "blog-team", "docs-public", "docs-team"]).await;

    b.fill("#links-q", "docs").await;
    b.find("#links-domain")
        .await
        .select_by_value("go.example.com")
        .await
        .unwrap();
    b.fill("#links-tag", "team").await;
    let filtered = "/ui/links?search=docs&domain=go.example.com&tag=team";
    wait_location(&b, filtered).await;
    shown_slugs(&b, &["docs-team"]).await;
    let href = b
        .eval(
            "return document.getElementById('export-csv').getAttribute('href');",
            vec![],
        )
        .await;
    assert_eq!(
        href,
        json!("/api/v1/links/export?search=docs&domain=go.example.com&tag=team")
    );

    // A reload, or the address shared with someone, shows the same links.
    b.client.refresh().await.unwrap();
    shown_slugs(&b, &["docs-team"]).await;
    assert_eq!(b.value("#links-q").await, "docs");
    assert_eq!(b.value("#links-domain").await, "go.example.com");
    assert_eq!(b.value("#links-tag").await, "team");
    assert_eq!(location(&b).await, filtered);
    b.goto("/ui/links?tag=team").await;
    shown_slugs(&b, &["docs-b", "blog-team", "docs-team"]).await;
    assert_eq!(b.value("#links-domain").await, "");
    b.goto(filtered).await;
    shown_slugs(&b, &["docs-team"]).await;
    b.assert_page_hygiene("the filtered links page", 1280, "light")
        .await;
    b.assert_accessible("the links page with a search and filters in the address")
        .await;
    b.screenshot("edges-links-filtered-1280-light").await;

    // Export holds what is shown, nothing else.
    let dir = tempfile::tempdir().unwrap();
    allow_downloads(&b, dir.path()).await;
    b.click_button("header.page-header", "Export CSV").await;
    let (name, text) = downloaded(dir.path()).await;
    assert!(name.starts_with("links-go.example.com-"), "{name}");
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{text}");
    assert!(rows[0].starts_with("go.example.com,docs-team,"), "{text}");
    b.close().await;
}

#[tokio::test]
async fn on_a_phone_links_are_compact_cards_and_times_say_how_far_away_they_are() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    let long = format!(
        "https://example.com/{}",
        "a-very-long-path-segment/".repeat(12)
    );
    for i in 0..3 {
        link(
            &admin,
            json!({"domain": "go.example.com", "slug": format!("card-{i}"), "destination_url": long,
                   "title": "A title that is long enough to need more than one line on a phone", "tags": ["team", "docs"]}),
        )
        .await;
    }
    // A key that expires in 20 days (and a bit, so rounding cannot make it 19).
    let expires =
        time::OffsetDateTime::now_utc() + time::Duration::days(20) + time::Duration::hours(2);
    let expires = expires
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    admin
        .post_json(
            "/api/v1/api-keys",
            json!({"name": "Temporary", "expires_at": expires}),
            201,
        )
        .await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;

    for scheme in ["light", "dark"] {
        b.resize(390, 844).await;
        b.color_scheme(scheme).await;
        b.goto("/ui/links").await;
        shown_slugs(&b, &["card-2", "card-1", "card-0"]).await;
        b.assert_page_hygiene("the links cards", 390, scheme).await;
        let cards = b
            .eval(
                "return Array.from(document.querySelectorAll('#links-body tr[data-id]')).map(tr => {
                   const dest = tr.querySelector('td.dest a');
                   const box = (sel) => tr.querySelector(sel).getBoundingClientRect();
                   return { height: tr.getBoundingClientRect().height,
                            truncated: dest.scrollWidth > dest.clientWidth && getComputedStyle(dest).textOverflow === 'ellipsis',
                            clicks: box('td.clicks').height > 0 && tr.querySelector('td.clicks').textContent === '0',
                            actions: Array.from(tr.querySelectorAll('td.actions button')).map(x => x.textContent),
                            inside: box('td.actions').right <= tr.getBoundingClientRect().right + 0.5 };
                 });",
                vec![],
            )
            .await;
        for card in cards.as_array().unwrap() {
            let height = card["height"].as_f64().unwrap();
            assert!(height < 844.0 / 3.0, "a card {height}px high: {cards}");
            assert_eq!(
                card["truncated"], true,
                "the destination fits one line: {cards}"
            );
            assert_eq!(card["clicks"], true, "{cards}");
            assert_eq!(card["actions"], json!(["Edit", "Delete"]), "{cards}");
            assert_eq!(card["inside"], true, "{cards}");
        }
        // The full destination stays in the link, for screen readers and a long press.
        assert_eq!(b.text("#links-body td.dest a").await, long);
        b.assert_accessible(&format!("the compact link cards at 390px {scheme}"))
            .await;
        b.screenshot(&format!("edges-link-cards-390-{scheme}"))
            .await;

        // ---- Relative dates beside absolute ones ----
        let created = b.text("#links-body td.created time").await;
        assert!(
            created.ends_with("(now)")
                || created.ends_with("minute ago)")
                || created.ends_with("minutes ago)"),
            "{created}"
        );
        b.goto("/ui/integrations/api-keys").await;
        let row = "#keys-body tr[data-name=\"Temporary\"]";
        let cell = b.wait_text(&format!("{row} time"), "(in 20 days)").await;
        let absolute = cell.trim_end_matches(" (in 20 days)");
        assert!(
            !absolute.is_empty() && !absolute.contains('T') && !absolute.ends_with('Z'),
            "an absolute local time first: {cell}"
        );
        let datetime = b
            .eval(
                "return document.querySelector(arguments[0]).getAttribute('datetime');",
                vec![json!(format!("{row} time"))],
            )
            .await;
        assert_eq!(datetime, json!(expires));
        b.assert_accessible(&format!("relative key expiry at 390px {scheme}"))
            .await;
        b.screenshot(&format!("edges-relative-dates-390-{scheme}"))
            .await;
        // Times the server writes into a page (the Me page's sessions) say it too.
        b.goto("/ui/me").await;
        let session = b.wait_text("time.local", ")").await;
        assert!(
            session.ends_with("(now)") || session.contains(" ago)"),
            "{session}"
        );
    }
    b.close().await;
}

#[tokio::test]
async fn the_setup_page_states_the_password_rule_the_server_enforces() {
    let app = spawn_with(Options {
        no_admin: true,
        ..Default::default()
    })
    .await;
    app.wait_for_log("/ui/setup?token=", 10).await;
    let token: String = app
        .logs()
        .split("/ui/setup?token=")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    let rule = linkdock::domain::Password::rule();
    for (width, height, scheme) in [(1280, 900, "light"), (390, 844, "dark")] {
        b.resize(width, height).await;
        b.color_scheme(scheme).await;
        b.goto(&format!("/ui/setup?token={token}")).await;
        assert_eq!(b.text("#password-rule").await, format!("{rule}."));
        let described = b
            .eval(
                "const p = document.getElementById('password');
                 return [p.getAttribute('aria-describedby'), p.minLength];",
                vec![],
            )
            .await;
        assert_eq!(
            described,
            json!(["password-rule", linkdock::domain::Password::MIN_CHARS])
        );
        b.assert_accessible(&format!("the setup page at {width}px {scheme}"))
            .await;
        b.screenshot(&format!("edges-setup-rule-{width}-{scheme}"))
            .await;
    }
    // The server's refusal uses the same words.
    b.fill("#username", "owner").await;
    b.eval(
        "for (const id of ['password', 'confirm']) { const p = document.getElementById(id); p.removeAttribute('minlength'); p.value = 'short'; }",
        vec![],
    )
    .await;
    b.click("form button[type=submit]").await;
    b.wait_text("p.error", &format!("The password must be {rule} long."))
        .await;
    b.close().await;
}

/// Relative times count elapsed time in numbers: no calendar words that would be wrong
/// ("tomorrow" for later today, "yesterday" for earlier today, "next month" for 26 days,
/// "next year" for 320 days); under 45 seconds is "now".
#[tokio::test]
async fn relative_times_are_numbers_not_calendar_words() {
    let app = spawn_app().await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    b.goto("/ui/").await;
    let words = b
        .eval(
            "return import('/static/js/common.js').then(({ relTime }) => {
               const now = new Date(2026, 11, 2, 0, 30).getTime();
               const at = (secs) => new Date(now + secs * 1000).toISOString();
               const h = 3600, d = 86400;
               return [10, -10, -3 * h, 23 * h, -23 * h, 26 * d, 320 * d, -320 * d, 20 * d]
                 .map((s) => relTime(at(s), now));
             });",
            vec![],
        )
        .await;
    assert_eq!(
        words,
        json!([
            "now",
            "now",
            "3 hours ago",
            "in 1 day",
            "1 day ago",
            "in 1 month",
            "in 1 year",
            "1 year ago",
            "in 20 days"
        ])
    );
    b.close().await;
}

/// The Activity page says how long ago once: shell.js's "(3 hours ago)" beside the local time,
/// not a second line from the server as well.
#[tokio::test]
async fn the_activity_page_says_how_long_ago_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    b.goto("/ui/activity").await;
    b.wait_text("#activity-body td[data-label=When] time", ")")
        .await;
    let cells = b
        .eval(
            "return Array.from(document.querySelectorAll('#activity-body td[data-label=When]'))
               .map((td) => [td.textContent.trim(), td.querySelector('time').textContent.trim()]);",
            vec![],
        )
        .await;
    for cell in cells.as_array().unwrap() {
        assert_eq!(cell[0], cell[1], "the When cell says more than its time");
    }
    b.close().await;
}

/// The Team page's reset-password dialog states the rule the server enforces, with the same
/// minimum; a password the browser lets through but the server counts as too short
/// (4 emoji: 8 UTF-16 units, 4 characters) gets the server's words for the rule.
#[tokio::test]
async fn the_reset_password_dialog_states_the_servers_password_rule() {
    let app = spawn_app().await;
    let answer = app.control(&format!(
        "user add bob member {}",
        crate::support::cheap_password_hash("a-long-password")
    ));
    assert_eq!(answer["ok"], true, "{answer}");
    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    b.goto("/ui/team").await;
    b.click_button("tr[data-user=\"bob\"]", "Reset password")
        .await;
    b.visible("dialog[open]").await;
    let rule = linkdock::domain::Password::rule();
    let shown = b
        .eval(
            "const d = document.querySelector('dialog[open]');
             const p = d.querySelector('input[name=password]');
             return [document.getElementById(p.getAttribute('aria-describedby')).textContent,
                     p.minLength, d.querySelector('input[name=repeat_password]').minLength];",
            vec![],
        )
        .await;
    assert!(
        shown[0].as_str().unwrap().starts_with(&format!("{rule}.")),
        "{shown}"
    );
    let min = linkdock::domain::Password::MIN_CHARS;
    assert_eq!(
        (shown[1].clone(), shown[2].clone()),
        (json!(min), json!(min))
    );
    b.eval(
        "const d = document.querySelector('dialog[open]');
         for (const n of ['password', 'repeat_password']) d.querySelector(`input[name=${n}]`).value = '\u{1F600}'.repeat(4);
         d.querySelector('button[type=submit]').click();",
        vec![],
    )
    .await;
    b.wait_text("p.error", &format!("must be {rule} long"))
        .await;
    b.close().await;
}
