//! Backups and restore (API.md, Backups and Command line): `POST /api/v1/backup`, `linkdock
//! backup` through the running server's control socket or directly when it is stopped, and
//! `linkdock restore FILE` into a stopped (or new) instance.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::support::{
    appliance_config, base_config, call, expect, spawn_app, start, Options, TestApp,
};

/// Run `linkdock ARGS --config CONFIG` with nothing from the environment; `stdin` is fed.
fn linkdock(config: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_linkdock"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("LINKDOCK_CONFIG")
        .env_remove("LINKDOCK_LISTEN")
        .env_remove("LINKDOCK_DATA_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run linkdock");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ok_json(out: &Output) -> Value {
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

fn data_dir(app: &TestApp) -> PathBuf {
    app.dir.path().join("data")
}

fn backups_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn csv_form(csv: String) -> Form {
    Form::new().part(
        "file",
        Part::bytes(csv.into_bytes())
            .file_name("links.csv")
            .mime_str("text/csv")
            .unwrap(),
    )
}

/// What the load task created, with when its answer arrived.
#[derive(Clone, Debug)]
enum Made {
    Link { id: u64, slug: String },
    Key { id: u64, key: String },
}

#[tokio::test]
async fn a_backup_under_write_load_restores_every_answered_link_key_and_user() {
    // A user added on the command line before the first start: not declared in any config.
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let config = dir.path().join("linkdock.toml");
    std::fs::write(&config, base_config(&dir.path().join("data"), "")).unwrap();
    let out = linkdock(&config, &["user", "add", "alice"], "alice-password-1\n");
    assert!(out.status.success(), "{out:?}");
    let app = start(Arc::clone(&dir), config, &Options::default()).await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    // A few thousand links to copy.
    let mut csv = String::from("domain,slug,destination_url\n");
    for i in 0..3000 {
        csv.push_str(&format!(
            "go.example.com,seed-{i},https://example.com/articles/{i}\n"
        ));
    }
    let res = admin
        .post("/api/v1/links/import")
        .multipart(csv_form(csv))
        .send()
        .await
        .unwrap();
    assert_eq!(expect(res, 200).await["created"], 3000);

    // Writers keep going while the backup is taken.
    let made: Arc<Mutex<Vec<(Instant, Made)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (http, csrf, base) = (admin.http.clone(), admin.csrf.clone(), admin.base.clone());
        let (made, stop) = (Arc::clone(&made), Arc::clone(&stop));
        tokio::spawn(async move {
            let mut i = 0u32;
            while !stop.load(Ordering::SeqCst) {
                i += 1;
                let (path, body) = if i.is_multiple_of(2) {
                    (
                        "/api/v1/links",
                        json!({"domain": "go.example.com", "slug": format!("load-{i}"), "destination_url": format!("https://example.com/load/{i}")}),
                    )
                } else {
                    ("/api/v1/api-keys", json!({"name": format!("load {i}")}))
                };
                let res = http
                    .post(format!("{base}{path}"))
                    .header("X-CSRF-Token", &csrf)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let v = expect(res, 201).await;
                let item = if i.is_multiple_of(2) {
                    Made::Link {
                        id: v["id"].as_u64().unwrap(),
                        slug: v["slug"].as_str().unwrap().to_owned(),
                    }
                } else {
                    Made::Key {
                        id: v["id"].as_u64().unwrap(),
                        key: v["key"].as_str().unwrap().to_owned(),
                    }
                };
                made.lock().unwrap().push((Instant::now(), item));
            }
        })
    };
    crate::support::eventually(20, || {
        let n = made.lock().unwrap().len();
        async move { (n >= 40).then_some(()) }
    })
    .await;
    let sent = Instant::now();
    let backup = call(admin.post("/api/v1/backup"), 201).await;
    let answered = Instant::now();
    let after_answer = made.lock().unwrap().len();
    crate::support::eventually(20, || {
        let n = made.lock().unwrap().len();
        async move { (n >= after_answer + 10).then_some(()) }
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    load.await.unwrap();

    let name = backup["name"].as_str().unwrap();
    let file = data_dir(&app).join("backups").join(name);
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(backup["bytes"].as_u64(), Some(bytes.len() as u64));
    // Answered before the backup was asked for: must be in it. Answered later: made while it
    // was taken, or after.
    let made = made.lock().unwrap().clone();
    let before: Vec<Made> = made
        .iter()
        .filter(|(at, _)| *at < sent)
        .map(|(_, m)| m.clone())
        .collect();
    let later = made.len() - before.len();
    assert!(
        before.len() >= 40 && later >= 10,
        "{} / {later}",
        before.len()
    );
    let during = made
        .iter()
        .filter(|(at, _)| *at >= sent && *at <= answered)
        .count();
    eprintln!(
        "backup of 3000+ links: {} bytes, answered in {} ms; writes answered: {} before it was asked for, {during} while it was taken, {} in all",
        bytes.len(),
        answered.duration_since(sent).as_millis(),
        before.len(),
        made.len()
    );

    // Never a plaintext key, not even its secret part.
    let text = String::from_utf8_lossy(&bytes);
    for (_, m) in &made {
        if let Made::Key { key, .. } = m {
            assert!(!text.contains(key.as_str()), "a key is in the backup");
            assert!(
                !text.contains(&key[12..]),
                "a key's secret part is in the backup"
            );
        }
    }

    // A new instance, restored from the backup. On PostgreSQL the documented way: restore
    // into an appliance, then `linkdock migrate --to` the new, empty database.
    let new_dir = Arc::new(tempfile::tempdir().unwrap());
    let new_config = new_dir.path().join("linkdock.toml");
    let new_data = new_dir.path().join("data");
    std::fs::write(&new_config, appliance_config(&new_data, "")).unwrap();
    let out = linkdock(&new_config, &["restore", file.to_str().unwrap()], "");
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(said.contains("restored"), "{said}");
    std::fs::write(&new_config, base_config(&new_data, "")).unwrap();
    if let Some(url) = crate::support::database_url(&new_data) {
        let out = linkdock(&new_config, &["migrate", "--to", &url], "");
        assert!(out.status.success(), "{out:?}");
    }
    let restored = start(new_dir, new_config, &Options::default()).await;
    let admin = restored.admin().await;
    for m in &before {
        match m {
            Made::Link { id, slug } => {
                let link = call(admin.get(&format!("/api/v1/links/{id}")), 200).await;
                assert_eq!(link["slug"], slug.as_str());
            }
            Made::Key { id, key } => {
                let me = call(
                    restored
                        .http
                        .get(restored.url("/api/v1/keys/current"))
                        .bearer_auth(key),
                    200,
                )
                .await;
                assert_eq!(me["id"], *id);
            }
        }
    }
    let all = call(admin.get("/api/v1/links?limit=1"), 200).await;
    let total = all["total"].as_u64().unwrap();
    let links_before = before
        .iter()
        .filter(|m| matches!(m, Made::Link { .. }))
        .count() as u64;
    assert!(total >= 3000 + links_before, "{total}");
    // The redirect index came along with the links.
    let res = restored
        .http
        .get(restored.url("/seed-2999"))
        .header("host", "go.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(
        res.headers()["location"],
        "https://example.com/articles/2999"
    );
    // The user added on the command line signs in with her password.
    restored.sign_in_as("alice", "alice-password-1").await;
}

#[tokio::test]
async fn post_backup_is_for_signed_in_users_and_writes_into_backup_dir() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    // No credentials, an API key, a session without its CSRF token.
    let res = app
        .http
        .post(app.url("/api/v1/backup"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        crate::support::content_type(&res),
        "application/problem+json"
    );
    let key = admin
        .post_json("/api/v1/api-keys", json!({"name": "script"}), 201)
        .await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .http
        .post(app.url("/api/v1/backup"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        crate::support::content_type(&res),
        "application/problem+json"
    );
    let res = admin
        .http
        .post(app.url("/api/v1/backup"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(backups_in(&data_dir(&app).join("backups")).is_empty());

    // Unset backup_dir: <data_dir>/backups. Two in one second get different names.
    let a = call(admin.post("/api/v1/backup"), 201).await;
    let b = call(admin.post("/api/v1/backup"), 201).await;
    let name = a["name"].as_str().unwrap();
    assert!(
        name.starts_with("linkdock-") && name.ends_with(".redb"),
        "{name}"
    );
    assert_eq!(a.as_object().unwrap().len(), 3, "{a}");
    time::OffsetDateTime::parse(
        a["created_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_ne!(a["name"], b["name"]);
    let dir = data_dir(&app).join("backups");
    assert_eq!(
        std::fs::metadata(dir.join(name)).unwrap().len(),
        a["bytes"].as_u64().unwrap()
    );
    assert_eq!(backups_in(&dir).len(), 2, "no temporary file left");

    // backup_dir applies live.
    let elsewhere = app.dir.path().join("elsewhere");
    let text = base_config(&data_dir(&app), "").replace(
        "[storage]\n",
        &format!("[storage]\nbackup_dir = \"{}\"\n", elsewhere.display()),
    );
    let tmp = app.dir.path().join("next.toml");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, &app.config_path).unwrap();
    app.wait_for_log("configuration reloaded", 10).await;
    let c = call(admin.post("/api/v1/backup"), 201).await;
    assert_eq!(
        backups_in(&elsewhere),
        [c["name"].as_str().unwrap().to_owned()]
    );

    // Documented with every status it can answer.
    let doc: Value = serde_json::from_str(&app.text("/api/openapi.json").await).unwrap();
    let op = &doc["paths"]["/api/v1/backup"]["post"];
    for status in ["201", "401", "403", "500"] {
        assert!(op["responses"][status].is_object(), "{status}: {op}");
    }
    let llms = app.text("/api/llms.txt").await;
    assert!(llms.contains("## Backups"), "{llms}");
    assert!(llms.contains("POST /api/v1/backup"), "{llms}");
}

#[tokio::test]
async fn linkdock_backup_asks_the_running_server_and_reads_a_stopped_one_directly() {
    let mut app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    let socket = data_dir(&app).join("linkdock.sock");
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let meta = std::fs::metadata(&socket).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);

    // Running: through the socket, no credentials needed.
    let out = ok_json(&linkdock(&app.config_path, &["backup", "--json"], ""));
    assert_eq!(out["via"], "server", "{out}");
    let path = PathBuf::from(out["path"].as_str().unwrap());
    assert_eq!(path.parent().unwrap(), data_dir(&app).join("backups"));
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        out["bytes"].as_u64().unwrap()
    );
    // The plain form prints the file's path on stdout, for scripts.
    let plain = linkdock(&app.config_path, &["backup"], "");
    assert!(plain.status.success(), "{plain:?}");
    let printed = String::from_utf8_lossy(&plain.stdout).trim().to_owned();
    assert!(Path::new(&printed).is_file(), "{printed}");
    app.wait_for_log("backup written", 5).await;

    // Running but unreachable (its socket removed): a clear error, not a second open. A
    // PostgreSQL database is shared by every node: the command snapshots it itself.
    std::fs::remove_file(&socket).unwrap();
    let out = linkdock(&app.config_path, &["backup", "--json"], "");
    if crate::support::on_postgres() {
        assert_eq!(ok_json(&out)["via"], "direct", "{out:?}");
    } else {
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("is in use, but no linkdock server answered"),
            "{out:?}"
        );
    }

    // Stopped: directly from the data dir, even with a stale socket left behind.
    assert!(app.terminate().await);
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    assert!(socket.exists(), "a stale socket");
    let out = ok_json(&linkdock(&app.config_path, &["backup", "--json"], ""));
    assert_eq!(out["via"], "direct", "{out}");
    assert!(Path::new(out["path"].as_str().unwrap()).is_file());

    // Started again, the stale socket is replaced and answers; a clean stop removes it.
    let mut app = start(
        Arc::clone(&app.dir),
        app.config_path.clone(),
        &Options::default(),
    )
    .await;
    let out = ok_json(&linkdock(&app.config_path, &["backup", "--json"], ""));
    assert_eq!(out["via"], "server", "{out}");
    let direct = if crate::support::on_postgres() { 2 } else { 1 };
    assert_eq!(
        backups_in(&data_dir(&app).join("backups")).len(),
        3 + direct
    );
    assert!(app.terminate().await);
    assert!(!socket.exists(), "removed on a clean shutdown");
}

#[tokio::test]
async fn restore_refuses_a_running_server_and_files_that_are_not_linkdock_databases() {
    let mut app = spawn_app().await;
    let admin = app.admin().await;
    admin.domain("go.example.com").await;
    let backup = call(admin.post("/api/v1/backup"), 201).await;
    let file = data_dir(&app)
        .join("backups")
        .join(backup["name"].as_str().unwrap());
    admin.domain("later.example.com").await;

    let config = app.config_path.clone();
    let restore = |file: &Path| linkdock(&config, &["restore", file.to_str().unwrap()], "");
    if crate::support::on_postgres() {
        // A backup file is an appliance's database: refused, running or not, with the way
        // to go instead, and the shared database left as it was.
        for running in [true, false] {
            let out = restore(&file);
            assert!(!out.status.success());
            assert!(
                stderr(&out).contains("PostgreSQL") && stderr(&out).contains("migrate --to"),
                "{out:?}"
            );
            if running {
                assert!(app.terminate().await);
            }
        }
        let app = start(
            Arc::clone(&app.dir),
            app.config_path.clone(),
            &Options::default(),
        )
        .await;
        let admin = app.admin().await;
        let domains = call(admin.get("/api/v1/domains"), 200).await;
        assert_eq!(domains["items"].as_array().unwrap().len(), 2, "{domains}");
        return;
    }
    let out = restore(&file);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("server is running") && stderr(&out).contains("stop it first"),
        "{out:?}"
    );
    // Even without its socket, the database in use is refused.
    std::fs::remove_file(data_dir(&app).join("linkdock.sock")).unwrap();
    let out = restore(&file);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("in use"), "{out:?}");

    assert!(app.terminate().await);
    let junk = app.dir.path().join("notes.redb");
    std::fs::write(&junk, "just some text, not a database\n".repeat(200)).unwrap();
    let empty = app.dir.path().join("empty.redb");
    std::fs::write(&empty, "").unwrap();
    for bad in [&junk, &empty] {
        let out = restore(bad);
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("is not a linkdock database"),
            "{out:?}"
        );
    }
    let out = restore(&app.dir.path().join("missing.redb"));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no database at"), "{out:?}");
    assert!(!data_dir(&app).join("linkdock.redb.before-restore").exists());

    // The refusals left the database as it was; the good file is restored.
    let out = restore(&file);
    assert!(out.status.success(), "{out:?}");
    assert!(data_dir(&app)
        .join("linkdock.redb.before-restore")
        .is_file());
    let app = start(
        Arc::clone(&app.dir),
        app.config_path.clone(),
        &Options::default(),
    )
    .await;
    let admin = app.admin().await;
    let domains = call(admin.get("/api/v1/domains"), 200).await;
    let hosts: Vec<&str> = domains["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["hostname"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, ["go.example.com"], "the state of the backup");
}

/// The mode bits of a file or folder.
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn the_data_folder_and_every_database_file_are_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let set_mode = |p: &Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    };
    // A fresh data dir: created by the server (the test's umask is usually 022).
    let app = spawn_app().await;
    let live = data_dir(&app).join("linkdock.redb");
    assert_eq!(mode(&data_dir(&app)), 0o700, "the data folder");
    if !crate::support::on_postgres() {
        assert_eq!(mode(&live), 0o600, "the live database");
    }
    let admin = app.admin().await;
    let backup = call(admin.post("/api/v1/backup"), 201).await;
    let file = data_dir(&app)
        .join("backups")
        .join(backup["name"].as_str().unwrap());

    assert_eq!(mode(&file), 0o600, "a backup");
    if crate::support::redb_only("the live database file's mode, restores into the data dir") {
        return;
    }
    // A database left readable by an older build is tightened when it is opened.
    set_mode(&live, 0o644);
    let mut app = app.restart().await;
    assert_eq!(mode(&live), 0o600, "tightened on open");
    app.admin().await;

    // A restore from a copy anyone can read still gives a private database.
    let copy = app.dir.path().join("copied.redb");
    std::fs::copy(&file, &copy).unwrap();
    set_mode(&copy, 0o644);
    assert!(app.terminate().await, "{}", app.logs());
    let out = linkdock(&app.config_path, &["restore", copy.to_str().unwrap()], "");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(mode(&live), 0o600, "restored");
    assert_eq!(
        mode(&data_dir(&app).join("linkdock.redb.before-restore")),
        0o600
    );

    // A restore into a data dir that does not exist yet creates it private.
    let fresh = tempfile::tempdir().unwrap();
    let config = fresh.path().join("linkdock.toml");
    std::fs::write(&config, base_config(&fresh.path().join("data"), "")).unwrap();
    let out = linkdock(&config, &["restore", copy.to_str().unwrap()], "");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(mode(&fresh.path().join("data")), 0o700);
    assert_eq!(mode(&fresh.path().join("data/linkdock.redb")), 0o600);
}
