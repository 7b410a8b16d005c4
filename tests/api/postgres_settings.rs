//! The PostgreSQL backend's settings and `linkdock migrate --to` as an operator meets them:
//! clear one-line refusals, restart-only settings, and the database password in no output.

use std::process::{Command, Output};

use serde_json::json;

use crate::support::{call, pg, spawn_app, spawn_node, Options};

const SECRET: &str = "Pg-S3cret-9f2e";

fn linkdock(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_linkdock"));
    cmd.args(args)
        .env_remove("LINKDOCK_CONFIG")
        .env_remove("LINKDOCK_DATA_DIR")
        .env_remove("LINKDOCK_DATABASE_URL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn shown(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn migrate_refuses_a_bad_or_missing_url_in_one_line_without_the_password() {
    for (args, env, says) in [
        (
            vec!["migrate", "--to", &*format!("mysql://ld:{SECRET}@db/links")],
            vec![],
            "linkdock: --to: must start with postgres:// or postgresql://",
        ),
        (
            vec!["migrate", "--to", &*format!("postgres://ld:{SECRET}@db")],
            vec![],
            "linkdock: --to: names no database",
        ),
        (
            vec!["migrate"],
            vec![(
                "LINKDOCK_DATABASE_URL",
                &*format!("postgres://ld:{SECRET}@db:port/links"),
            )],
            "linkdock: LINKDOCK_DATABASE_URL: not a URL",
        ),
        (vec!["migrate"], vec![], "pass --to"),
    ] {
        let out = linkdock(&args, &env);
        let text = shown(&out);
        assert!(!out.status.success(), "{args:?}: {text}");
        assert!(out.stdout.is_empty(), "{args:?}: {text}");
        assert_eq!(text.lines().count(), 1, "one line: {text}");
        assert!(text.starts_with(says) || text.contains(says), "{text}");
        assert!(!text.contains(SECRET), "{text}");
    }
    // A URL given without --to is quoted back by the argument parser: masked.
    let out = linkdock(
        &["migrate", &format!("postgres://ld:{SECRET}@db/links")],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", shown(&out));
    assert!(
        shown(&out).contains("postgres://ld:***@db/links"),
        "{}",
        shown(&out)
    );
    assert!(!shown(&out).contains(SECRET));
}

#[test]
fn migrate_needs_a_database_to_copy() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("empty");
    let out = linkdock(
        &[
            "migrate",
            "--to",
            &format!("postgres://ld:{SECRET}@db/links"),
        ],
        &[("LINKDOCK_DATA_DIR", data.to_str().unwrap())],
    );
    let text = shown(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("there is no database at") && text.contains("linkdock.redb"),
        "{text}"
    );
    assert!(!text.contains(SECRET), "{text}");
}

#[tokio::test]
async fn migrate_refuses_while_a_server_runs_on_the_data_dir() {
    let app = spawn_app().await;
    let out = app.cli(&[
        "migrate",
        "--to",
        &format!("postgres://ld:{SECRET}@db/links"),
    ]);
    let text = shown(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("a linkdock server is running"), "{text}");
    assert!(!text.contains(SECRET), "{text}");
}

#[test]
fn config_check_shows_where_the_database_is_but_never_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pg.toml");
    let file = |storage: &str| {
        std::fs::write(&path, format!("[storage]\n{storage}\n")).unwrap();
        path.to_str().unwrap().to_owned()
    };

    let good = file(&format!(
        "backend = \"postgres\"\npostgres_url = \"postgres://ld:{SECRET}@db.internal/links\""
    ));
    let out = linkdock(&["config", "check", &good], &[]);
    let text = shown(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("PostgreSQL at db.internal:5432/links"),
        "{text}"
    );
    assert!(!text.contains(SECRET), "{text}");

    for bad in [
        format!("backend = \"postgres\"\npostgres_url = \"postgres://ld:{SECRET}@db.internal\""),
        format!("postgres_url = \"https://ld:{SECRET}@db.internal/links\""),
        format!("postgres_url = \"postgres://ld:{SECRET}@db.internal/links"),
    ] {
        let bad = file(&bad);
        let out = linkdock(&["config", "check", &bad], &[]);
        let text = shown(&out);
        assert!(!out.status.success(), "{text}");
        assert!(text.contains("line 3") || text.contains("line 2"), "{text}");
        assert!(!text.contains(SECRET), "{text}");
    }

    let no_url = file("backend = \"postgres\"");
    let out = linkdock(&["config", "check", &no_url], &[]);
    let text = shown(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("storage.postgres_url") && text.contains("LINKDOCK_DATABASE_URL"),
        "{text}"
    );
    let env_url = format!("postgres://ld:{SECRET}@from-env:6543/links");
    let out = linkdock(
        &["config", "check", &no_url],
        &[("LINKDOCK_DATABASE_URL", &env_url)],
    );
    let text = shown(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("PostgreSQL at from-env:6543/links"), "{text}");
    assert!(!text.contains(SECRET), "{text}");
}

#[tokio::test]
async fn a_reload_that_changes_the_backend_waits_for_a_restart_and_logs_no_password() {
    let app = spawn_app().await;
    // The backend the server does not run on (both runs of the suite come here).
    let other = if crate::support::on_postgres() {
        "redb"
    } else {
        "postgres"
    };
    let with_storage = |lines: &str| {
        // The test's own storage lines replace the ones that chose this run's backend.
        let text = crate::support::appliance_config(&app.dir.path().join("data"), "")
            .replace("[storage]\n", &format!("[storage]\n{lines}\n"));
        let tmp = app.dir.path().join("next.toml");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &app.config_path).unwrap();
    };

    // A URL that does not parse: refused whole, the line not quoted.
    with_storage(&format!(
        "postgres_url = \"postgres://ld:{SECRET}@db.internal\""
    ));
    app.wait_for_log("config change refused", 10).await;

    with_storage(&format!(
        "backend = \"{other}\"\npostgres_url = \"postgres://ld:{SECRET}@db.internal/links\""
    ));
    app.wait_for_log("storage.postgres_url", 10).await;
    let logs = app.logs();
    assert!(logs.contains("storage.backend"), "{logs}");
    assert!(logs.contains("needs a restart"), "{logs}");
    assert!(!logs.contains(SECRET), "{logs}");
    // Still the running server, on its first backend.
    call(app.http.get(app.url("/healthz")), 200).await;
}

#[tokio::test]
async fn a_node_stores_over_tls_when_the_url_requires_it() {
    let Some(url) = pg::fresh_tls_database() else {
        return;
    };
    let node = spawn_node(&format!("{url}?sslmode=require"), Options::default()).await;
    let admin = node.admin().await;
    admin
        .post_json(
            "/api/v1/domains",
            json!({"hostname": "tls.example.com"}),
            201,
        )
        .await;
    // Every connection the node holds (pool and LISTEN), as the server sees it.
    let seen = pg::psql(
        &url,
        "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl) \
         FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
         WHERE a.datname = current_database() AND a.application_name = 'linkdock'",
    );
    let (tls, plain) = seen.trim().split_once('|').expect("two counts");
    assert!(tls.parse::<u32>().unwrap() > 0, "{seen}");
    assert_eq!(plain, "0", "{seen}");
    // The write went to the database, over those connections.
    assert_eq!(
        pg::psql(&url, "SELECT count(*) FROM public.domains_v1").trim(),
        "1"
    );
}

#[test]
fn a_server_that_requires_tls_the_database_lacks_stops_in_one_line_without_the_password() {
    let Some(url) = pg::fresh_database() else {
        return;
    };
    let with_password = url.replacen("linkdock@", &format!("linkdock:{SECRET}@"), 1);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("linkdock.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n\n[storage]\ndata_dir = \"{}\"\n\
             backend = \"postgres\"\npostgres_url = \"{with_password}?sslmode=require\"\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_linkdock"))
        .args(["serve", "--config"])
        .arg(&config)
        .env_remove("LINKDOCK_CONFIG")
        .env_remove("LINKDOCK_DATA_DIR")
        .env_remove("LINKDOCK_DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The connect deadline is 10 s; a server still up well after it never stopped.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("linkdock kept running without its database");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let text = shown(&out);
    assert!(!out.status.success(), "{text}");
    let site = &url[url.find('@').unwrap() + 1..];
    assert_eq!(text.lines().count(), 1, "one line: {text}");
    assert!(
        text.starts_with("linkdock: PostgreSQL: ")
            && text.contains(site)
            && text.contains("does not support TLS"),
        "{text}"
    );
    assert!(!text.contains(SECRET), "{text}");
}
