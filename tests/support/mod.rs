//! Black-box test support: start the real `linkdock` binary on 127.0.0.1:0 with a temporary
//! data dir and config file, read its log, talk HTTP to it.
#![allow(dead_code)]

pub mod browser;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const ADMIN_PASSWORD: &str = "admin-password-123";

pub struct TestApp {
    pub base: String,
    pub port: u16,
    pub dir: Arc<tempfile::TempDir>,
    pub config_path: PathBuf,
    pub http: reqwest::Client,
    child: Option<Child>,
    logs: Arc<Mutex<String>>,
}

/// How to start the server. `extra_toml` is appended to the generated config file.
#[derive(Clone, Default)]
pub struct Options {
    pub extra_toml: String,
    pub admin_password: Option<String>,
    pub no_admin: bool,
    pub env: Vec<(String, String)>,
}

pub fn base_config(data_dir: &Path, extra: &str) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\npublic_url = \"http://127.0.0.1:8080\"\n\n[storage]\ndata_dir = \"{}\"\n\n[keys]\nsweep_interval = \"1s\"\n{extra}\n",
        data_dir.display()
    )
}

pub async fn spawn_app() -> TestApp {
    spawn_with(Options::default()).await
}

pub async fn spawn_with(opts: Options) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
    let config_path = dir.path().join("linkdock.toml");
    std::fs::write(
        &config_path,
        base_config(&dir.path().join("data"), &opts.extra_toml),
    )
    .expect("write config");
    start(dir, config_path, &opts).await
}

/// Start (or restart) the binary on an existing dir and config file.
pub async fn start(dir: Arc<tempfile::TempDir>, config_path: PathBuf, opts: &Options) -> TestApp {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_linkdock"));
    cmd.arg("serve")
        .arg("--config")
        .arg(&config_path)
        .env_remove("LINKDOCK_CONFIG")
        .env_remove("LINKDOCK_LISTEN")
        .env_remove("LINKDOCK_DATA_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if !opts.no_admin {
        cmd.env(
            "LINKDOCK_ADMIN_PASSWORD",
            opts.admin_password.as_deref().unwrap_or(ADMIN_PASSWORD),
        );
    } else {
        cmd.env_remove("LINKDOCK_ADMIN_PASSWORD");
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
    let deadline = Instant::now() + Duration::from_secs(30);
    let port = loop {
        if let Some(port) = logs.lock().unwrap().lines().find_map(|l| {
            let rest = l.split("listening on http://127.0.0.1:").nth(1)?;
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse::<u16>()
                .ok()
        }) {
            break port;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("linkdock exited with {status}:\n{}", logs.lock().unwrap());
        }
        assert!(
            Instant::now() < deadline,
            "linkdock did not start:\n{}",
            logs.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        port,
        dir,
        config_path,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
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
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !self.logs().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "log never showed {needle:?}:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
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
        let deadline = Instant::now() + Duration::from_secs(30);
        let child = self.child.as_mut().unwrap();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return status.success();
            }
            assert!(
                Instant::now() < deadline,
                "linkdock did not stop on SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stop with SIGTERM and start again on the same data dir and config file.
    pub async fn restart(mut self) -> TestApp {
        assert!(self.terminate().await, "clean exit:\n{}", self.logs());
        let dir = Arc::clone(&self.dir);
        let path = self.config_path.clone();
        start(dir, path, &Options::default()).await
    }

    /// Replace the config file the way editors do: write a new file, rename it over the old.
    pub fn rewrite_config(&self, extra_toml: &str) {
        let tmp = self.dir.path().join(".linkdock.toml.swp");
        std::fs::write(&tmp, base_config(&self.dir.path().join("data"), extra_toml)).unwrap();
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

/// Poll `f` until it returns Some, for up to `secs`.
pub async fn eventually<T, F, Fut>(secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "condition not met within {secs}s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
