//! `linkdock migrate --to`: an appliance's database, copied into an empty PostgreSQL
//! database, serves there as it did: links and their clicks, keys, users and sessions.

use serde_json::json;

use crate::support::{call, eventually, pg, spawn_app, start, Options};

#[tokio::test]
async fn an_appliance_moves_into_postgres_with_its_links_clicks_keys_and_users() {
    if crate::support::redb_only("the source is an appliance; the redb run migrates it") {
        return;
    }
    let Some(url) = pg::fresh_database() else {
        return;
    };
    let mut app = spawn_app().await;
    let admin = app.admin().await;
    admin
        .post_json(
            "/api/v1/domains",
            json!({"hostname": "go.example.com"}),
            201,
        )
        .await;
    let link = admin
        .post_json(
            "/api/v1/links",
            json!({"domain": "go.example.com", "slug": "docs", "destination_url": "https://example.com/d"}),
            201,
        )
        .await;
    let key = admin
        .post_json(
            "/api/v1/api-keys",
            json!({"name": "moved", "domains": ["go.example.com"]}),
            201,
        )
        .await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..3 {
        let res = app
            .http
            .get(app.url("/docs"))
            .header("host", "go.example.com")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302);
    }
    let path = format!("/api/v1/links/{}", link["id"]);
    eventually(10, || {
        let req = admin.get(&path);
        async move {
            let v = call(req, 200).await;
            (v["clicks"] == 3).then_some(()).ok_or(v.to_string())
        }
    })
    .await;
    assert!(app.terminate().await, "{}", app.logs());

    // Into PostgreSQL: one line per table, then the verdict.
    let out = app.cli(&["migrate", "--to", &url]);
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("every count matches"), "{said}");
    assert!(said.contains("links_v2"), "{said}");
    // A second copy would mix two databases: refused, and the first is untouched.
    let again = app.cli(&["migrate", "--to", &url]);
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success());
    assert!(said.contains("is not empty"), "{said}");

    // The same data dir and config, now naming the PostgreSQL database.
    let text = std::fs::read_to_string(&app.config_path).unwrap();
    let text = text.replacen(
        "[storage]\n",
        &format!("[storage]\nbackend = \"postgres\"\npostgres_url = \"{url}\"\n"),
        1,
    );
    std::fs::write(&app.config_path, text).unwrap();
    let moved = start(
        std::sync::Arc::clone(&app.dir),
        app.config_path.clone(),
        &Options::default(),
    )
    .await;
    assert!(moved.logs().contains("127.0.0.1"), "{}", moved.logs());
    let res = moved
        .http
        .get(moved.url("/docs"))
        .header("host", "go.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "https://example.com/d");
    let admin = moved.admin().await;
    let v = call(admin.get(&path), 200).await;
    assert_eq!(v["clicks"], 3, "{v}");
    let listed = call(
        moved.http.get(moved.url("/api/v1/links")).bearer_auth(&key),
        200,
    )
    .await;
    assert_eq!(listed["total"], 1, "the key made on redb works: {listed}");
}
