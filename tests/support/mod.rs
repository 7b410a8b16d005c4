//! Black-box test support: start the real `linkdock` binary on 127.0.0.1:0 with a temporary
//! data dir and config file, learn its port from `--port-file`, read its log, talk HTTP to it.
//!
//! The admin user is declared in the test's config file with a password hash of only 1,000
//! PBKDF2 rounds (the count is part of the hash), so a sign-in costs a test nothing; every
//! password set through the product itself still gets the full count.
#![allow(dead_code)]

pub mod browser;
pub mod mmdb;
pub mod pg;
pub mod proxy;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const ADMIN_PASSWORD: &str = "admin-password-123";

/// A `pbkdf2-sha256` hash of `password` with few rounds, for users declared by tests.
pub fn cheap_password_hash(password: &str) -> String {
    const ROUNDS: u32 = 1000;
    let salt = *b"linkdock-tests!!";
    let mut out = [0u8; 32];
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        std::num::NonZeroU32::new(ROUNDS).unwrap(),
        &salt,
        password.as_bytes(),
        &mut out,
    );
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    format!("pbkdf2-sha256${ROUNDS}${}${}", hex(&salt), hex(&out))
}

/// The `[[users]]` entry that declares `admin` with [`ADMIN_PASSWORD`].
pub fn admin_declaration() -> &'static str {
    static TOML: OnceLock<String> = OnceLock::new();
    TOML.get_or_init(|| {
        format!(
            "\n[[users]]\nusername = \"admin\"\npassword_hash = \"{}\"\n",
            cheap_password_hash(ADMIN_PASSWORD)
        )
    })
}

pub struct TestApp {
    pub base: String,
    pub port: u16,
    pub dir: Arc<tempfile::TempDir>,
    pub config_path: PathBuf,
    pub http: reqwest::Client,
    opts: Options,
    child: Option<Child>,
    logs: Arc<Mutex<String>>,
}

/// How to start the server. `extra_toml` is appended to the generated config file.
#[derive(Clone, Default)]
pub struct Options {
    pub extra_toml: String,
    /// Create `admin` the way a fresh install does, through `LINKDOCK_ADMIN_PASSWORD` (full
    /// PBKDF2 cost), instead of declaring it in the config file.
    pub admin_password: Option<String>,
    /// No admin at all: the first-run setup link.
    pub no_admin: bool,
    pub env: Vec<(String, String)>,
    /// `server.public_url`; `None` writes `http://127.0.0.1:8080`, which most tests expect,
    /// and `Some("")` leaves it unset.
    pub public_url: Option<String>,
    /// Start with `LINKDOCK_TEST_CLOCK=1`, so that [`TestApp::advance_clock`] can move the
    /// server's clock (a restart sets it back to the system clock).
    pub test_clock: bool,
}

impl Options {
    fn declares_admin(&self) -> bool {
        !self.no_admin && self.admin_password.is_none()
    }
}

/// The config file of a test server, with the declared admin (see the module docs).
pub fn base_config(data_dir: &Path, extra: &str) -> String {
    config_text(data_dir, extra, true, None)
}

/// `base_config` for the embedded redb backend whatever this run's backend: an appliance,
/// e.g. to restore a backup file into.
pub fn appliance_config(data_dir: &Path, extra: &str) -> String {
    base_config(data_dir, extra)
        .lines()
        .filter(|l| !l.starts_with("backend =") && !l.starts_with("postgres_url ="))
        .flat_map(|l| [l, "\n"])
        .collect()
}

fn config_text(data_dir: &Path, extra: &str, admin: bool, public_url: Option<&str>) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\npublic_url = \"{}\"\n\n[storage]\ndata_dir = \"{}\"\n{}\n[keys]\nsweep_interval = \"1s\"\n{extra}\n{}",
        public_url.unwrap_or("http://127.0.0.1:8080"),
        data_dir.display(),
        backend_lines(data_dir),
        if admin { admin_declaration() } else { "" }
    )
}

/// The env switch that runs a test suite on PostgreSQL instead of redb (`.ci/run` runs the
/// HTTP suite both ways): every test server gets a fresh database on this process's cluster.
pub const BACKEND_ENV: &str = "LINKDOCK_TEST_BACKEND";

/// Whether this run stores in PostgreSQL (`LINKDOCK_TEST_BACKEND=postgres`).
pub fn on_postgres() -> bool {
    std::env::var(BACKEND_ENV).is_ok_and(|v| v == "postgres")
}

/// The `[storage]` lines that choose the backend: one database per data dir, kept for the
/// test's restarts and config rewrites.
static URLS: Mutex<Vec<(PathBuf, String)>> = Mutex::new(Vec::new());

fn backend_lines(data_dir: &Path) -> String {
    if !on_postgres() {
        return String::new();
    }
    let mut urls = URLS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let url = match urls.iter().find(|(d, _)| d == data_dir) {
        Some((_, url)) => url.clone(),
        None => {
            let url = pg::fresh_database()
                .expect("LINKDOCK_TEST_BACKEND=postgres, but PostgreSQL is not installed");
            urls.push((data_dir.to_owned(), url.clone()));
            url
        }
    };
    format!("backend = \"postgres\"\npostgres_url = \"{url}\"\n")
}

/// The PostgreSQL database of the test server on `data_dir`, if this run uses PostgreSQL.
pub fn database_url(data_dir: &Path) -> Option<String> {
    let urls = URLS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    urls.iter()
        .find(|(d, _)| d == data_dir)
        .map(|(_, url)| url.clone())
}

/// For a test about what only the redb file has: true (after saying so) on the PostgreSQL run,
/// where the test returns at once.
pub fn redb_only(why: &str) -> bool {
    if on_postgres() {
        eprintln!("redb only ({why}): not run on PostgreSQL");
    }
    on_postgres()
}

/// Start a node of a cluster: its own data dir (control socket, logs), storing in the
/// PostgreSQL database at `url`, which other nodes may share.
pub async fn spawn_node(url: &str, opts: Options) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
    let config_path = dir.path().join("linkdock.toml");
    let data_dir = dir.path().join("data");
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\npublic_url = \"http://127.0.0.1:8080\"\n\n[storage]\ndata_dir = \"{}\"\nbackend = \"postgres\"\npostgres_url = \"{url}\"\n\n[keys]\nsweep_interval = \"1s\"\n{}\n{}",
        data_dir.display(),
        opts.extra_toml,
        admin_declaration()
    );
    std::fs::write(&config_path, text).expect("write config");
    start(dir, config_path, &opts).await
}

/// `n` nodes on one fresh PostgreSQL database, and its URL; `None` (after the SKIPPED line)
/// when PostgreSQL is not installed outside CI.
pub async fn spawn_nodes(n: usize, opts: Options) -> Option<(Vec<TestApp>, String)> {
    let url = pg::fresh_database()?;
    let mut nodes = Vec::with_capacity(n);
    for _ in 0..n {
        nodes.push(spawn_node(&url, opts.clone()).await);
    }
    Some((nodes, url))
}

pub async fn spawn_app() -> TestApp {
    spawn_with(Options::default()).await
}

pub async fn spawn_with(opts: Options) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
    let config_path = dir.path().join("linkdock.toml");
    std::fs::write(
        &config_path,
        config_text(
            &dir.path().join("data"),
            &opts.extra_toml,
            opts.declares_admin(),
            opts.public_url.as_deref(),
        ),
    )
    .expect("write config");
    start(dir, config_path, &opts).await
}

/// Start (or restart) the binary on an existing dir and config file.
pub async fn start(dir: Arc<tempfile::TempDir>, config_path: PathBuf, opts: &Options) -> TestApp {
    static STARTS: AtomicU32 = AtomicU32::new(0);
    let port_file = dir
        .path()
        .join(format!("port-{}", STARTS.fetch_add(1, Ordering::Relaxed)));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_linkdock"));
    cmd.arg("serve")
        .arg("--config")
        .arg(&config_path)
        .arg("--port-file")
        .arg(&port_file)
        .env_remove("LINKDOCK_CONFIG")
        .env_remove("LINKDOCK_LISTEN")
        .env_remove("LINKDOCK_DATA_DIR")
        .env_remove("LINKDOCK_DATABASE_URL")
        .env_remove("LINKDOCK_ADMIN_PASSWORD")
        .env_remove(linkdock::clock::TEST_SWITCH)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(pw) = &opts.admin_password {
        cmd.env("LINKDOCK_ADMIN_PASSWORD", pw);
    }
    if opts.test_clock {
        cmd.env(linkdock::clock::TEST_SWITCH, "1");
    }
    for (k, v) in &opts.env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start linkdock");
    let logs = Arc::new(Mutex::new(String::new()));
    for stream in [
        Box::new(child.stderr.take().expect("stderr")) as Box<dyn std::io::Read + Send>,
        Box::new(child.stdout.take().expect("stdout")),
    ] {
        let logs = Arc::clone(&logs);
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if std::env::var_os("TEST_LOG").is_some() {
                    eprintln!("[linkdock] {line}");
                }
                let mut l = logs.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
    }
    let port = eventually(30, || {
        let exited = child.try_wait().ok().flatten();
        let port = std::fs::read_to_string(&port_file)
            .ok()
            .and_then(|p| p.trim().parse::<u16>().ok());
        let logs = Arc::clone(&logs);
        async move {
            if let Some(status) = exited {
                panic!("linkdock exited with {status}:\n{}", logs.lock().unwrap());
            }
            port.ok_or_else(|| format!("linkdock did not start:\n{}", logs.lock().unwrap()))
        }
    })
    .await;
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        port,
        dir,
        config_path,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        opts: opts.clone(),
        child: Some(child),
        logs,
    }
}

/// A signed-in client: cookie jar plus the CSRF token.
pub struct Session {
    pub http: reqwest::Client,
    pub csrf: String,
    pub base: String,
}

impl Session {
    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("{}{path}", self.base))
    }
    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .header("X-CSRF-Token", &self.csrf)
    }
    pub fn put(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .put(format!("{}{path}", self.base))
            .header("X-CSRF-Token", &self.csrf)
    }
    pub fn patch(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .patch(format!("{}{path}", self.base))
            .header("X-CSRF-Token", &self.csrf)
    }
    pub fn delete(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .delete(format!("{}{path}", self.base))
            .header("X-CSRF-Token", &self.csrf)
    }
    /// POST JSON and expect `status`; returns the body.
    pub async fn post_json(&self, path: &str, body: Value, status: u16) -> Value {
        let res = self.post(path).json(&body).send().await.unwrap();
        expect(res, status).await
    }
    /// Add the domain `hostname` (201 expected); returns it.
    pub async fn domain(&self, hostname: &str) -> Value {
        self.post_json("/api/v1/domains", json!({ "hostname": hostname }), 201)
            .await
    }
}

/// The response's Content-Type ("" when absent).
pub fn content_type(res: &reqwest::Response) -> &str {
    res.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Send, assert the status and return the JSON body.
pub async fn call(req: reqwest::RequestBuilder, status: u16) -> Value {
    expect(req.send().await.unwrap(), status).await
}

/// Assert the status and return the JSON body (Null when empty).
pub async fn expect(res: reqwest::Response, status: u16) -> Value {
    let got = res.status().as_u16();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "unexpected status; body: {text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Run `linkdock ARGS --config <this app's config>` to the end.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_linkdock"))
            .args(args)
            .arg("--config")
            .arg(&self.config_path)
            .env_remove("LINKDOCK_CONFIG")
            .output()
            .unwrap()
    }

    /// Move the server's clock `by` ahead (it must have been started with
    /// `Options::test_clock`), through the control socket; returns the server's new now.
    /// Expiry, roll grace, sessions and rate windows see it at once; the sweeper at its next
    /// run (every second in tests).
    pub fn advance_clock(&self, by: Duration) -> String {
        let answer = self.control(&format!("clock advance {}ms", by.as_millis()));
        assert_eq!(answer["ok"], true, "the clock did not move: {answer}");
        answer["now"].as_str().unwrap().to_owned()
    }

    /// Move the server's clock to the start of its next minute, so that a test's requests
    /// fall into one fixed rate-limit window.
    pub fn start_a_minute(&self) {
        let now = self.advance_clock(Duration::ZERO);
        let now = time::OffsetDateTime::parse(&now, &time::format_description::well_known::Rfc3339)
            .unwrap()
            .unix_timestamp();
        self.advance_clock(Duration::from_secs((60 - now.rem_euclid(60)) as u64));
    }

    /// Send one command line to the control socket and return its JSON answer.
    pub fn control(&self, command: &str) -> Value {
        linkdock::control::ask(&self.dir.path().join("data"), command)
            .unwrap_or_else(|e| panic!("control socket: {e:?}"))
    }

    /// GET a path and return the body as text, whatever the status.
    pub async fn text(&self, path: &str) -> String {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// Wait until the log contains `needle` (or panic after `secs`).
    pub async fn wait_for_log(&self, needle: &str, secs: u64) {
        eventually(secs, || {
            let logs = self.logs();
            async move {
                if logs.contains(needle) {
                    Ok(())
                } else {
                    Err(format!("log never showed {needle:?}:\n{logs}"))
                }
            }
        })
        .await;
    }

    pub async fn sign_in_as(&self, username: &str, password: &str) -> Session {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let res = http
            .post(self.url("/api/v1/session"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        let body = expect(res, 200).await;
        Session {
            http,
            csrf: body["csrf_token"].as_str().unwrap().to_owned(),
            base: self.base.clone(),
        }
    }

    pub async fn admin(&self) -> Session {
        self.sign_in_as("admin", ADMIN_PASSWORD).await
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Send SIGTERM and wait for the process to exit; returns whether it exited successfully.
    pub async fn terminate(&mut self) -> bool {
        let pid = self.pid();
        Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .unwrap();
        let child = self.child.as_mut().unwrap();
        let status = eventually(30, || {
            let status = child.try_wait().unwrap();
            async move { status.ok_or("linkdock did not stop on SIGTERM") }
        })
        .await;
        self.child = None;
        status.success()
    }

    /// Stop with SIGTERM and start again on the same data dir and config file.
    pub async fn restart(mut self) -> TestApp {
        assert!(self.terminate().await, "clean exit:\n{}", self.logs());
        let dir = Arc::clone(&self.dir);
        let path = self.config_path.clone();
        let opts = Options {
            admin_password: None,
            ..self.opts.clone()
        };
        start(dir, path, &opts).await
    }

    /// Every byte this server has stored, for "never in plain text" checks: on redb the
    /// database file; on PostgreSQL every value of every column of every table of its
    /// database (bytea as stored, other types as their text), one value per line.
    pub fn stored_bytes(&self) -> Vec<u8> {
        match database_url(&self.dir.path().join("data")) {
            None => std::fs::read(self.dir.path().join("data/linkdock.redb"))
                .expect("read the redb database file"),
            Some(url) => pg::all_stored_bytes(&url),
        }
    }

    /// The keys of one table as PostgreSQL holds them (the kv seam's ordered form), in order.
    pub fn pg_keys(&self, table: &str) -> Vec<Vec<u8>> {
        let url = database_url(&self.dir.path().join("data")).expect("a PostgreSQL run");
        pg::keys_of(&url, table)
    }

    /// Replace the config file the way editors do: write a new file, rename it over the old.
    pub fn rewrite_config(&self, extra_toml: &str) {
        let tmp = self.dir.path().join(".linkdock.toml.swp");
        let text = config_text(
            &self.dir.path().join("data"),
            extra_toml,
            self.opts.declares_admin(),
            self.opts.public_url.as_deref(),
        );
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &self.config_path).unwrap();
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The one polling helper: run `check` every 50 ms until it gives `Ok`, for up to `secs`;
/// then fail with the last `Err`, which says what was seen. `Option` checks work too (`None`
/// reads as "not yet").
pub async fn eventually<T, E, F, Fut>(secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = E>,
    E: Outcome<T>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        match check().await.outcome() {
            Ok(v) => return v,
            Err(last) => assert!(Instant::now() < deadline, "not within {secs} s: {last}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What a polled check gives back: done with a value, or not yet (and why).
pub trait Outcome<T> {
    fn outcome(self) -> Result<T, String>;
}

impl<T> Outcome<T> for Option<T> {
    fn outcome(self) -> Result<T, String> {
        self.ok_or_else(|| "the condition never held".to_owned())
    }
}

impl<T, S: Into<String>> Outcome<T> for Result<T, S> {
    fn outcome(self) -> Result<T, String> {
        self.map_err(Into::into)
    }
}
