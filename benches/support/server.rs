//! The real release binary as a separate process: a temporary data dir and config file, the
//! port from `--port-file`, start time to the first good `/healthz`, memory from
//! `/proc/<pid>/status`. Dropping a [`Linkdock`] kills its process and removes its files.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::client::Api;

/// The declared admin's password. Its hash has few PBKDF2 rounds (the count is part of the
/// hash), so seeding signs in for nothing; floods use a user with the full count instead.
pub const ADMIN_PASSWORD: &str = "bench-admin-password";

/// What to put in the config file besides the listen address and data dir.
#[derive(Clone, Debug, Default)]
pub struct Setup {
    pub trusted_proxies: Vec<String>,
    /// `import.max_bytes`; `None` keeps the default (50 MB).
    pub import_max_bytes: Option<u64>,
    /// `import.max_concurrent`; `None` keeps the default.
    pub import_max_concurrent: Option<usize>,
    /// More `[[users]]`: (username, password hash).
    pub users: Vec<(String, String)>,
    /// Appended to the file as it is (e.g. `[[api_keys]]` tables).
    pub extra_toml: String,
    /// `storage.backend = "postgres"` on this database URL; `None` keeps redb.
    pub postgres_url: Option<String>,
}

impl Setup {
    fn config_text(&self, data_dir: &Path) -> String {
        let quoted = |v: &[String]| {
            v.iter()
                .map(|s| format!("\"{s}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut text = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\ntrusted_proxies = [{}]\n\n[storage]\ndata_dir = \"{}\"\n",
            quoted(&self.trusted_proxies),
            data_dir.display()
        );
        if let Some(url) = &self.postgres_url {
            text.push_str(&format!(
                "backend = \"postgres\"\npostgres_url = \"{url}\"\n"
            ));
        }
        if self.import_max_bytes.is_some() || self.import_max_concurrent.is_some() {
            text.push_str("\n[import]\n");
        }
        if let Some(max) = self.import_max_bytes {
            text.push_str(&format!("max_bytes = {max}\n"));
        }
        if let Some(n) = self.import_max_concurrent {
            text.push_str(&format!("max_concurrent = {n}\n"));
        }
        let admin = ("admin".to_owned(), cheap_password_hash(ADMIN_PASSWORD));
        for (name, hash) in std::iter::once(&admin).chain(&self.users) {
            text.push_str(&format!(
                "\n[[users]]\nusername = \"{name}\"\npassword_hash = \"{hash}\"\n"
            ));
        }
        text.push_str(&self.extra_toml);
        text
    }
}

/// A `pbkdf2-sha256` hash with 1,000 rounds, for the admin that seeds the server.
pub fn cheap_password_hash(password: &str) -> String {
    const ROUNDS: u32 = 1000;
    let salt = *b"linkdock-bench!!";
    let mut out = [0u8; 32];
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        std::num::NonZeroU32::new(ROUNDS).expect("non-zero"),
        &salt,
        password.as_bytes(),
        &mut out,
    );
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    format!("pbkdf2-sha256${ROUNDS}${}${}", hex(&salt), hex(&out))
}

/// A hash with the full round count, as an operator gets it: `linkdock password hash`.
pub fn full_password_hash(password: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_linkdock"))
        .args(["password", "hash"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run linkdock password hash");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{password}").expect("write the password");
    drop(stdin);
    let out = child.wait_with_output().expect("linkdock password hash");
    assert!(out.status.success(), "linkdock password hash failed");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Resident and peak resident memory of a process, in KiB.
#[derive(Clone, Copy, Debug)]
pub struct Memory {
    pub rss_kib: u64,
    pub peak_kib: u64,
}

impl Memory {
    pub fn of(pid: u32) -> Self {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or(0)
        };
        Self {
            rss_kib: field("VmRSS:"),
            peak_kib: field("VmHWM:"),
        }
    }
}

/// One linkdock server process and its temporary files.
pub struct Linkdock {
    dir: tempfile::TempDir,
    config: PathBuf,
    child: Option<Child>,
    starts: u32,
    pub port: u16,
    /// From spawning the process to its first `200` on `/healthz`.
    pub started_in: Duration,
}

impl Linkdock {
    /// Write the config file and create the data dir, without starting the process: the data
    /// dir can be prepared first (see [`Linkdock::data_dir`]).
    pub fn create(setup: &Setup) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("linkdock-bench-")
            .tempdir()
            .expect("temp dir");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("data dir");
        let config = dir.path().join("linkdock.toml");
        std::fs::write(&config, setup.config_text(&data)).expect("write config");
        Self {
            dir,
            config,
            child: None,
            starts: 0,
            port: 0,
            started_in: Duration::ZERO,
        }
    }

    /// A fresh server, running.
    pub fn start(setup: &Setup) -> Self {
        let mut server = Self::create(setup);
        server.launch();
        server
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("linkdock.log")
    }

    /// The last lines of the server's log, for a failure message.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Spawn the process and wait for its first good `/healthz`.
    pub fn launch(&mut self) {
        assert!(self.child.is_none(), "already running");
        self.starts += 1;
        let port_file = self.dir.path().join(format!("port-{}", self.starts));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("log file");
        let started = Instant::now();
        let child = Command::new(env!("CARGO_BIN_EXE_linkdock"))
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .arg("--port-file")
            .arg(&port_file)
            .env_remove("LINKDOCK_CONFIG")
            .env_remove("LINKDOCK_LISTEN")
            .env_remove("LINKDOCK_DATA_DIR")
            .env_remove("LINKDOCK_ADMIN_PASSWORD")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start linkdock");
        self.child = Some(child);
        self.port = self.wait_for_port(&port_file);
        self.wait_until_healthy();
        self.started_in = started.elapsed();
    }

    fn exited(&mut self) -> bool {
        let child = self.child.as_mut().expect("running");
        child.try_wait().ok().flatten().is_some()
    }

    fn wait_for_port(&mut self, port_file: &Path) -> u16 {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let port = std::fs::read_to_string(port_file)
                .ok()
                .and_then(|p| p.trim().parse().ok());
            if let Some(port) = port {
                return port;
            }
            assert!(
                !self.exited(),
                "linkdock exited at start:\n{}",
                self.log_tail()
            );
            assert!(
                Instant::now() < deadline,
                "linkdock did not start:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn wait_until_healthy(&mut self) {
        let api = self.api();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let reply = api.try_get("/healthz", Duration::from_secs(1));
            if reply.is_some_and(|r| r.status == 200) {
                return;
            }
            assert!(
                !self.exited() && Instant::now() < deadline,
                "linkdock never became healthy:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// SIGTERM, then wait for a clean exit (in-flight requests finish, the writer flushes).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        while child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                eprintln!("linkdock did not stop on SIGTERM within 60 s; killing it");
                let _ = child.kill();
                let _ = child.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stop, then start again on the same data dir; `started_in` is the new start's.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub fn memory(&self) -> Memory {
        Memory::of(self.pid())
    }

    /// Reset the process's peak RSS (VmHWM) to its current RSS, so that the next reading is
    /// the peak of what happens from now on.
    pub fn reset_peak(&self) {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5")
            .expect("reset VmHWM through /proc/<pid>/clear_refs");
    }

    /// Wait until the process is idle, then read its resident memory.
    pub fn idle_memory(&self) -> Memory {
        std::thread::sleep(Duration::from_secs(1));
        self.memory()
    }

    /// Size of the database file.
    pub fn db_bytes(&self) -> u64 {
        std::fs::metadata(self.data_dir().join("linkdock.redb")).map_or(0, |m| m.len())
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    pub fn api(&self) -> Api {
        Api::anonymous(&self.base())
    }

    pub fn admin(&self) -> Api {
        Api::sign_in(&self.base(), "admin", ADMIN_PASSWORD)
    }

    pub fn with_key(&self, key: &str) -> Api {
        Api::with_key(&self.base(), key)
    }

    /// The `/metrics` text.
    pub fn metrics(&self) -> String {
        self.api().get("/metrics").text()
    }
}

impl Drop for Linkdock {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// How much a counter of `/metrics` grew between two readings, by its full name with labels,
/// for the lines whose name contains `filter`.
pub fn metrics_growth(before: &str, after: &str, filter: &str) -> Vec<(String, u64)> {
    let read = |text: &str| -> Vec<(String, u64)> {
        text.lines()
            .filter(|l| !l.starts_with('#') && l.contains(filter))
            .filter_map(|l| {
                let (name, v) = l.rsplit_once(' ')?;
                Some((name.to_owned(), v.parse().ok()?))
            })
            .collect()
    };
    let old = read(before);
    read(after)
        .into_iter()
        .map(|(name, v)| {
            let was = old.iter().find(|(n, _)| *n == name).map_or(0, |(_, v)| *v);
            (name, v.saturating_sub(was))
        })
        .filter(|(_, grew)| *grew > 0)
        .collect()
}
