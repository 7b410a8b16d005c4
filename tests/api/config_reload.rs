//! Live reload of the config file: a half-written or empty-looking file is never applied, so
//! declared keys and declared users' sessions live through an editor's save.

use std::time::Duration;

use crate::docs::declared_key;
use crate::support::{eventually, spawn_with, Options, Session, TestApp};

/// A declared key and a signed-in declared admin.
async fn app_with_declared_key() -> (TestApp, String, Session) {
    let (key, toml) = declared_key("ci");
    let app = spawn_with(Options {
        extra_toml: toml,
        ..Options::default()
    })
    .await;
    let admin = app.admin().await;
    (app, key, admin)
}

/// Both still work: the key answers 200, the session too. Returns what was seen otherwise.
async fn key_and_session_work(app: &TestApp, key: &str, admin: &Session) -> Result<(), String> {
    let k = app
        .http
        .get(app.url("/api/v1/domains"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .status();
    let s = admin.get("/api/v1/session").send().await.unwrap().status();
    if k == 200 && s == 200 {
        Ok(())
    } else {
        Err(format!("declared key answered {k}, admin session {s}"))
    }
}

#[tokio::test]
async fn a_file_of_only_a_byte_order_mark_or_comments_is_refused_like_an_empty_one() {
    let (app, key, admin) = app_with_declared_key().await;
    key_and_session_work(&app, &key, &admin).await.unwrap();
    for (i, text) in [
        "\u{feff}",
        "# only comments\n\n# here\n",
        "\u{feff}# a comment\n",
    ]
    .into_iter()
    .enumerate()
    {
        let tmp = app.dir.path().join("half-written.toml");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &app.config_path).unwrap();
        eventually(10, || async {
            let n = app.logs().matches("config change refused").count();
            (n > i)
                .then_some(())
                .ok_or(format!("{text:?} not refused:\n{}", app.logs()))
        })
        .await;
        assert!(app.logs().contains("the file is empty"), "{}", app.logs());
        key_and_session_work(&app, &key, &admin).await.unwrap();
    }
    let metrics = app.text("/metrics").await;
    assert!(
        metrics.contains("linkdock_config_reload_errors_total 3"),
        "{metrics}"
    );
    assert!(
        !app.logs().contains("configuration reloaded"),
        "{}",
        app.logs()
    );
}

#[tokio::test]
async fn an_unchanged_file_saved_in_two_writes_never_drops_a_declared_key_or_session() {
    let (app, key, admin) = app_with_declared_key().await;
    let text = std::fs::read_to_string(&app.config_path).unwrap();
    // The first write stops before the declarations: a valid file that declares nothing.
    let first = &text[..text.find("\n[[").expect("declarations")];
    std::fs::write(&app.config_path, first).unwrap();
    for _ in 0..4 {
        key_and_session_work(&app, &key, &admin).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    std::fs::write(&app.config_path, &text).unwrap();
    // Watch through the settle time and well past it: nothing ever lapses.
    for _ in 0..25 {
        key_and_session_work(&app, &key, &admin).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The settled file is what runs: nothing was applied, nothing refused.
    let logs = app.logs();
    assert!(!logs.contains("configuration reloaded"), "{logs}");
    assert!(!logs.contains("config change refused"), "{logs}");
    // A real change still applies.
    app.rewrite_config("\n[[domains]]\nhostname = \"new.example.com\"\n");
    app.wait_for_log("configuration reloaded", 10).await;
}
