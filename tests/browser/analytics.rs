//! A link's stats page: reached from the Links table's click count, a chart of clicks per day
//! with its caption and table alternative, 30 or 90 days by a link, the ranked lists, axe-core
//! clean, and at 390 px nothing scrolls sideways; with a GeoIP database, the Countries table.

use serde_json::{json, Value};

use crate::support::browser::Browser;
use crate::support::mmdb::country_db;
use crate::support::{call, eventually, spawn_app, spawn_with, Options};

#[tokio::test]
async fn a_links_stats_show_a_chart_with_its_text_alternative_for_30_or_90_days() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    let link = admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "go.example.com", "slug": "docs", "destination_url": "https://example.org/docs"}),
            201,
        )
        .await;
    let id = link["id"].as_u64().unwrap();
    for (ua, referer) in [
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
            "https://news.ycombinator.com/item?id=1",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
            "",
        ),
        (
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "",
        ),
    ] {
        let mut req = app
            .http
            .get(app.url("/docs"))
            .header("host", "go.example.com")
            .header("user-agent", ua);
        if !referer.is_empty() {
            req = req.header("referer", referer);
        }
        assert_eq!(req.send().await.unwrap().status(), 302);
    }
    eventually(10, || async {
        let v: Value = call(admin.get(&format!("/api/v1/links/{id}/stats")), 200).await;
        (v["total"] == 2 && v["bots"] == 1).then_some(())
    })
    .await;

    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    b.goto("/ui/links").await;
    let stats = format!("/ui/links/{id}/stats");
    b.click(&format!("#links-body a[href=\"{stats}\"]")).await;
    b.wait_for_path(|p| p == stats).await;
    assert_eq!(b.text("h1").await, "Stats for go.example.com/docs");
    let caption = b.text("#clicks-chart figcaption").await;
    assert!(caption.starts_with("Clicks per day, "), "{caption}");
    assert!(caption.contains(": 2 clicks, 1 bot."), "{caption}");
    assert_eq!(
        b.text("nav.period a[aria-current=\"page\"]").await,
        "Last 30 days"
    );
    let bars = b
        .eval(
            "return document.querySelectorAll('#clicks-chart g.chart-bar[tabindex=\"0\"]').length;",
            vec![],
        )
        .await;
    assert_eq!(bars, json!(30), "a focusable bar per day");
    // The table alternative: every day a row, today's with its numbers.
    b.click("#clicks-chart details.chart-table summary").await;
    let rows = b
        .eval(
            "return [...document.querySelectorAll('#clicks-chart tbody tr')].map(r => r.innerText.split('\\t').join(' '));",
            vec![],
        )
        .await;
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 30);
    assert!(rows[29].as_str().unwrap().ends_with("2 1"), "{rows:?}");
    let referrers = b.text("#stats-referrers").await;
    assert!(referrers.contains("news.ycombinator.com"), "{referrers}");
    assert!(referrers.contains("direct"), "{referrers}");
    assert!(!referrers.contains("item?id"), "{referrers}");
    assert!(b.text("#stats-browsers").await.contains("Firefox"));
    assert!(b.text("#stats-os").await.contains("Linux"));
    b.assert_accessible("a link's stats, 30 days").await;
    b.screenshot("link_stats_30_days_1280px").await;

    b.click("nav.period a[href$=\"days=90\"]").await;
    eventually(10, || async {
        let search = b.eval("return location.search;", vec![]).await;
        (search == json!("?days=90")).then_some(())
    })
    .await;
    assert_eq!(
        b.text("nav.period a[aria-current=\"page\"]").await,
        "Last 90 days"
    );
    let bars = b
        .eval(
            "return document.querySelectorAll('#clicks-chart g.chart-bar').length;",
            vec![],
        )
        .await;
    assert_eq!(bars, json!(90));
    assert!(b.text("#stats-totals").await.contains("last 90 days"));
    b.assert_accessible("a link's stats, 90 days").await;

    // A phone: the chart narrows, nothing is wider than the screen.
    b.resize(390, 844).await;
    b.goto(&format!("{stats}?days=90")).await;
    b.find("#clicks-chart").await;
    b.assert_page_hygiene("a link's stats at 390 px", 390, "light")
        .await;
    let wide = b
        .eval(
            "return document.documentElement.scrollWidth > window.innerWidth;",
            vec![],
        )
        .await;
    assert_eq!(wide, json!(false), "the page scrolls sideways at 390 px");
    b.assert_accessible("a link's stats at 390 px").await;
    b.screenshot("link_stats_90_days_390px").await;

    // No such link: the 404 page.
    b.goto("/ui/links/999999/stats").await;
    assert!(
        b.text("main").await.contains("no such link")
            || b.text("body").await.contains("no such link")
    );
    b.close().await;
}

/// With `analytics.geoip_db` (a test MaxMind DB: 127.0.0.0/8 in `DE`), the page ranks the
/// clicks' countries in a table as accessible as the other lists.
#[tokio::test]
async fn with_a_geoip_database_the_stats_page_ranks_countries() {
    let geo = tempfile::tempdir().unwrap();
    let db = geo.path().join("country.mmdb");
    std::fs::write(
        &db,
        country_db(&[(std::net::Ipv4Addr::new(127, 0, 0, 0), 8, "DE")]),
    )
    .unwrap();
    let app = spawn_with(Options {
        extra_toml: format!("\n[analytics]\ngeoip_db = {:?}\n", db.display().to_string()),
        ..Default::default()
    })
    .await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    let link = admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "go.example.com", "slug": "geo", "destination_url": "https://example.org/geo"}),
            201,
        )
        .await;
    let id = link["id"].as_u64().unwrap();
    for _ in 0..2 {
        let res = app
            .http
            .get(app.url("/geo"))
            .header("host", "go.example.com")
            .header(
                "user-agent",
                "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302);
    }
    eventually(10, || async {
        let v: Value = call(admin.get(&format!("/api/v1/links/{id}/stats")), 200).await;
        (v["countries"] == json!([{"code": "DE", "clicks": 2}])).then_some(())
    })
    .await;

    let Some(b) = Browser::start(&app).await else {
        return;
    };
    b.sign_in().await;
    b.goto(&format!("/ui/links/{id}/stats")).await;
    assert_eq!(b.text("#stats-countries caption").await, "Countries");
    let rows = b
        .eval(
            "return [...document.querySelectorAll('#stats-countries tbody tr')].map(r => r.cells[0].innerText + ' ' + r.cells[1].innerText);",
            vec![],
        )
        .await;
    assert_eq!(rows, json!(["DE 2"]));
    b.assert_accessible("a link's stats with countries").await;
    b.screenshot("link_stats_countries_1280px").await;
    b.close().await;
}
