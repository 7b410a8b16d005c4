//! Configuration: the TOML model, its defaults (the repository's `config/linkdock.toml`,
//! compiled in), environment overrides, validation, and the live-swappable shared snapshot.
//!
//! Every value is parsed into its domain type while the TOML is read, so a bad value is
//! reported by the TOML parser with its line and column.

pub mod watch;

use std::fmt;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::domain::{
    redact_url_passwords, AllowList, Hostname, IpPolicy, IpRule, KeyName, KeyPrefix, PasswordHash,
    PerMinute, Permissions, PostgresUrl, Role, Timestamp, Username,
};
use crate::keys::KeyDigest;
use crate::limiter::{Ipv6Prefix, Source};
use crate::store::{DeclaredKey, DeclaredState, DeclaredUser};

/// The documented defaults, as shipped in the repository.
pub const DEFAULT_TOML: &str = include_str!("../../config/linkdock.toml");

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub keys: KeysConfig,
    pub import: ImportConfig,
    pub playground: PlaygroundConfig,
    pub audit: AuditConfig,
    pub analytics: AnalyticsConfig,
    pub docs: DocsConfig,
    pub log: LogConfig,
    #[serde(default)]
    pub domains: Vec<DomainDecl>,
    /// The file's `[[api_keys]]`, until [`Config::take_declared`] hands them to the store:
    /// the running configuration keeps only their fingerprint.
    #[serde(default)]
    pub api_keys: Vec<KeyDecl>,
    /// SHA-256 of the declared keys taken out by [`Config::take_declared`]: how a reload sees
    /// that `[[api_keys]]` changed without keeping 100,000 declarations in memory.
    #[serde(skip)]
    api_keys_taken: Option<[u8; 32]>,
    #[serde(default)]
    pub users: Vec<UserDecl>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Restart needed.
    pub listen: SocketAddr,
    /// Absent or empty: unset, and links are derived from the bound address (see `base_url`).
    #[serde(default, deserialize_with = "unset_if_empty")]
    pub public_url: Option<PublicUrl>,
    #[serde(default)]
    pub trusted_proxies: Vec<IpRule>,
    /// The one forwarding header believed from a trusted proxy; every other is ignored.
    #[serde(default)]
    pub client_ip_header: ClientIpHeader,
    /// Restart needed. A connection's (first) request headers must arrive within this.
    pub header_timeout: HumanDuration,
    /// With `body_min_bytes_per_second`: how long a request body may take (`BodyPace`).
    pub body_timeout: HumanDuration,
    pub body_min_bytes_per_second: NonZeroU32,
}

/// How slowly a request body may arrive: within `timeout`, plus one second for every
/// `min_bytes_per_second` bytes received. A slower client gets 408 and loses its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyPace {
    pub timeout: Duration,
    pub min_bytes_per_second: NonZeroU32,
}

impl BodyPace {
    /// How long after its start a body that has delivered `received` bytes may still run.
    pub fn allowed(&self, received: u64) -> Duration {
        let earned = received / u64::from(self.min_bytes_per_second.get());
        self.timeout.saturating_add(Duration::from_secs(earned))
    }
}

/// Which forwarding header names the client behind a trusted proxy.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ClientIpHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (each proxy appends the address it saw).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`.
    Forwarded,
    /// `X-Real-IP: client`, set (not appended) by the proxy.
    XRealIp,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// Restart needed.
    pub data_dir: PathBuf,
    /// Absent or empty: `<data_dir>/backups`. Applies live.
    #[serde(default, deserialize_with = "unset_if_empty")]
    pub backup_dir: Option<PathBuf>,
    /// Restart needed. Which engine holds the data.
    pub backend: Backend,
    /// Restart needed. Absent or empty: unset; `LINKDOCK_DATABASE_URL` overrides it. Needed
    /// (from one or the other) when `backend` is `postgres`.
    #[serde(default, deserialize_with = "unset_if_empty")]
    pub postgres_url: Option<PostgresUrl>,
}

/// Where the data lives: the embedded redb file in `data_dir`, or a PostgreSQL database that
/// several nodes share.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    #[default]
    Redb,
    Postgres,
}

impl StorageConfig {
    /// Where backups are written: `backup_dir`, or `backups` inside the data dir. A relative
    /// path is relative to the working directory, like `data_dir`.
    pub fn backup_dir(&self) -> PathBuf {
        self.backup_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("backups"))
    }
}

impl ServerConfig {
    /// The URL people are told to open: `public_url` when set, otherwise the address the
    /// server is bound to (`bound`, with its real port), a wildcard printed as loopback.
    pub fn base_url(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(url) => url.as_str().to_owned(),
            None => format!("http://{}", crate::healthcheck::probe_addr(bound)),
        }
    }

    pub fn body_pace(&self) -> BodyPace {
        BodyPace {
            timeout: self.body_timeout.0,
            min_bytes_per_second: self.body_min_bytes_per_second,
        }
    }

    /// Whether links and cookies are for https: only when `public_url` says so.
    pub fn is_https(&self) -> bool {
        self.public_url.as_ref().is_some_and(PublicUrl::is_https)
    }
}

/// A string setting where absent and `""` both mean "unset".
fn unset_if_empty<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<String>,
    T::Error: fmt::Display,
{
    let raw = String::deserialize(d)?;
    if raw.trim().is_empty() {
        return Ok(None);
    }
    T::try_from(raw).map(Some).map_err(serde::de::Error::custom)
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KeysConfig {
    pub prefix: KeyPrefix,
    pub sweep_interval: HumanDuration,
    pub max_failed_auth_per_minute: u32,
    /// Failed sign-ins from one address per minute over all usernames (password spraying);
    /// per username the limit is `max_failed_auth_per_minute`.
    pub max_failed_sign_ins_per_ip_per_minute: u32,
    /// IPv6 clients are counted by their network of this prefix length in both limits.
    pub failed_auth_ipv6_prefix: Ipv6Prefix,
}

impl KeysConfig {
    /// The client as the failure limits count it.
    pub fn failure_source(&self, ip: std::net::IpAddr) -> Source {
        Source::of(ip, self.failed_auth_ipv6_prefix)
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ImportConfig {
    pub max_bytes: u64,
    /// Imports running at once (restart needed); the next waits `queue_wait`, then gets 429.
    pub max_concurrent: usize,
    pub queue_wait: HumanDuration,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PlaygroundConfig {
    pub history_limit_per_user: usize,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// Activity-log entries older than this many days are dropped by the sweeper (1..=3650).
    pub retention_days: u32,
}

impl AuditConfig {
    /// How long an entry is kept, in seconds.
    pub fn retention_secs(&self) -> i64 {
        i64::from(self.retention_days) * 86_400
    }
}

/// Clicks per link per day (`store::analytics`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsConfig {
    /// Restart needed. Off: a redirect counts the click and nothing else (no day, referrer
    /// or user agent), as before analytics; the stats answer what was kept.
    pub enabled: bool,
    /// Days of daily counts kept; the sweeper drops older days (1..=3650).
    pub retention_days: u32,
    /// Restart needed. A MaxMind-format database (GeoLite2/GeoIP2 Country or City) to count
    /// clicks by country (`store::geoip`); empty: off. Opened at start, where a file that is
    /// missing or not a MaxMind DB stops the server (and fails `linkdock config check`).
    pub geoip_db: PathBuf,
}

impl AnalyticsConfig {
    /// The GeoIP database to open, when one is set (and analytics is on).
    pub fn geoip_path(&self) -> Option<&Path> {
        (self.enabled && !self.geoip_db.as_os_str().is_empty()).then_some(self.geoip_db.as_path())
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DocsConfig {
    pub public: bool,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub level: LogLevel,
    pub format: LogFormat,
    /// One info line per request (method, route pattern, status, duration, client address).
    pub access: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DomainDecl {
    pub hostname: Hostname,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KeyDecl {
    pub name: KeyName,
    pub hash: KeyDigest,
    #[serde(default)]
    pub domains: Vec<Hostname>,
    /// Absent: true when `ip_whitelist` is empty (the same rule as the API's).
    #[serde(default)]
    pub allow_all_ips: Option<bool>,
    #[serde(default)]
    pub ip_whitelist: Vec<IpRule>,
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// Absent: every permission. Names as in the API (`links:read`, ...); not empty.
    #[serde(default)]
    pub permissions: Permissions,
    /// Absent: no limit.
    #[serde(default)]
    pub rate_limit_per_minute: Option<PerMinute>,
}

impl KeyDecl {
    /// The key's IP rule, decided by the same function as for keys made through the API.
    pub fn ip_policy(&self) -> Result<IpPolicy, crate::domain::DomainError> {
        IpPolicy::choose(
            self.allow_all_ips,
            AllowList::from_rules(self.ip_whitelist.clone()),
        )
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UserDecl {
    pub username: Username,
    pub password_hash: PasswordHash,
    /// `admin` unless the file says otherwise.
    #[serde(default)]
    pub role: Role,
}

fn declared_key(k: KeyDecl) -> DeclaredKey {
    DeclaredKey {
        // `validate` refuses a file with a bad rule; were one to get here, it would let no
        // address in rather than every address.
        ip: k
            .ip_policy()
            .unwrap_or_else(|_| IpPolicy::Only(AllowList::default())),
        name: k.name,
        digest: k.hash,
        domains: k.domains,
        expires_at: k.expires_at,
        permissions: k.permissions,
        rate_limit: k.rate_limit_per_minute,
    }
}

/// `public_url`: an absolute http(s) URL without a trailing slash.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String")]
pub struct PublicUrl(String);

impl PublicUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }
}

impl TryFrom<String> for PublicUrl {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let u = url::Url::parse(s.trim()).map_err(|e| format!("invalid URL: {e}"))?;
        if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
            return Err("must be an http:// or https:// URL".into());
        }
        // It is printed into shell examples between single quotes: scheme, host, port and
        // path only.
        if u.query().is_some()
            || u.fragment().is_some()
            || !u.username().is_empty()
            || u.password().is_some()
            || u.as_str().contains('\'')
        {
            return Err("must be scheme, host, optional port and path only".into());
        }
        Ok(Self(u.as_str().trim_end_matches('/').to_owned()))
    }
}

/// A duration written like `500ms`, `1s`, `5m`, `1h` or `7d`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String")]
pub struct HumanDuration(pub Duration);

impl TryFrom<String> for HumanDuration {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let n: u64 = num
            .parse()
            .map_err(|_| format!("`{s}` is not a duration like 500ms, 1s, 5m, 1h, 7d"))?;
        let secs = |per: u64| {
            n.checked_mul(per)
                .map(Duration::from_secs)
                .ok_or_else(|| format!("`{s}` is too long"))
        };
        let d = match unit {
            "ms" => Duration::from_millis(n),
            "s" => secs(1)?,
            "m" => secs(60)?,
            "h" => secs(3600)?,
            "d" => secs(86_400)?,
            _ => {
                return Err(format!(
                    "`{s}` is not a duration like 500ms, 1s, 5m, 1h, 7d"
                ))
            }
        };
        Ok(Self(d))
    }
}

/// A configuration that could not be used, with where and why.
#[derive(Debug)]
pub struct ConfigError {
    pub source_name: String,
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.source_name)?;
        f.write_str(&self.problems.join("; "))
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// The embedded defaults.
    pub fn embedded() -> Self {
        // The embedded file is checked by a unit test; it always parses.
        Self::parse(DEFAULT_TOML, "embedded defaults").expect("embedded config is valid")
    }

    /// Parse and validate a whole document. The errors carry line and column where the TOML
    /// parser can give them.
    pub fn parse(text: &str, source_name: &str) -> Result<Self, ConfigError> {
        let fail = |problem: String| ConfigError {
            source_name: source_name.to_owned(),
            problems: vec![problem],
        };
        // Parse the user's text first so that value errors keep their line and column; only
        // when something is merely missing, parse the document merged with the defaults.
        let config: Config = match toml::from_str::<Config>(text) {
            Ok(c) => c,
            Err(e) if is_value_error(&e) => return Err(fail(toml_problem(&e, text))),
            Err(_) => Self::with_defaults(text, source_name).map_err(fail)?,
        };
        config.validate().map_err(|problems| ConfigError {
            source_name: source_name.to_owned(),
            problems,
        })?;
        Ok(config)
    }

    /// The user's text with the sections it leaves out taken from the embedded defaults.
    /// `[[api_keys]]` is kept out of the merge (no default touches it) and read once on its
    /// own: merged, re-written and parsed again, 100,000 declared keys took 400 MB at start.
    fn with_defaults(text: &str, source_name: &str) -> Result<Self, String> {
        let mut doc: toml::Table = toml::from_str(text).map_err(|e| toml_problem(&e, text))?;
        let api_keys = doc.remove("api_keys");
        if source_name != "embedded defaults" {
            let defaults: toml::Table = toml::from_str(DEFAULT_TOML).unwrap_or_default();
            for (section, value) in defaults {
                match (doc.get_mut(&section), value) {
                    (Some(toml::Value::Table(user)), toml::Value::Table(def)) => {
                        for (k, v) in def {
                            user.entry(k).or_insert(v);
                        }
                    }
                    (None, v) => {
                        doc.insert(section, v);
                    }
                    _ => {}
                }
            }
        }
        let merged = toml::to_string(&doc).unwrap_or_default();
        drop(doc);
        let mut config: Config = toml::from_str(&merged).map_err(|e| toml_problem(&e, &merged))?;
        drop(merged);
        if let Some(keys) = api_keys {
            config.api_keys = keys
                .try_into()
                .map_err(|e: toml::de::Error| redact_url_passwords(e.to_string().trim()))?;
        }
        Ok(config)
    }

    /// Read `path` (or the embedded defaults) and apply the environment overrides.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with(path, |name| std::env::var(name).ok())
    }

    /// `load`, with the environment read through `env` (tests pass their own).
    fn load_with(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut config = match path {
            None => Self::embedded(),
            // Read and parsed on a thread of its own: glibc gives it its own arena, so the
            // parse's garbage (about 3 KB a declared key) is not interleaved with what the
            // server keeps (the key index), and is handed back whole once freed.
            // The main thread's stack size, for deeply nested TOML.
            Some(p) => std::thread::scope(|s| {
                match std::thread::Builder::new()
                    .name("config-parse".into())
                    .stack_size(8 << 20)
                    .spawn_scoped(s, || Self::read_and_parse(p))
                {
                    Ok(parsing) => parsing
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                    Err(_) => Self::read_and_parse(p),
                }
            })?,
        };
        config.apply_env(&env)?;
        // After the environment: LINKDOCK_DATABASE_URL may be what supplies the URL.
        config.check_backend().map_err(|problem| ConfigError {
            source_name: path.map_or_else(
                || "embedded defaults".to_owned(),
                |p| p.display().to_string(),
            ),
            problems: vec![problem],
        })?;
        Ok(config)
    }

    fn read_and_parse(p: &Path) -> Result<Self, ConfigError> {
        let name = p.display().to_string();
        let text = std::fs::read_to_string(p).map_err(|e| ConfigError {
            source_name: name.clone(),
            problems: vec![format!("cannot read the file: {e}")],
        })?;
        // Editors may save UTF-8 with a byte order mark; TOML has none.
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        // An editor's half-written save: applying it would drop every declared resource.
        if holds_nothing(text) {
            return Err(ConfigError {
                source_name: name,
                problems: vec![
                    "the file is empty (no setting and no declaration, only blanks or comments: a save in progress?); it was not applied".into(),
                ],
            });
        }
        Self::parse(text, &name)
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(listen) = env("LINKDOCK_LISTEN") {
            self.server.listen = listen.trim().parse().map_err(|_| ConfigError {
                source_name: "LINKDOCK_LISTEN".into(),
                problems: vec![format!("`{listen}` is not an address like 127.0.0.1:8080")],
            })?;
        }
        if let Some(dir) = env("LINKDOCK_DATA_DIR") {
            self.storage.data_dir = PathBuf::from(dir);
        }
        // Blank counts as unset, like `postgres_url = ""` in the file.
        if let Some(raw) = env(DATABASE_URL_ENV).filter(|v| !v.trim().is_empty()) {
            let url = PostgresUrl::parse(&raw).map_err(|e| ConfigError {
                source_name: DATABASE_URL_ENV.into(),
                problems: vec![e.message],
            })?;
            self.storage.postgres_url = Some(url);
        }
        Ok(())
    }

    /// The PostgreSQL backend without a URL: said at start, on reload and by `config check`.
    fn check_backend(&self) -> Result<(), String> {
        match (self.storage.backend, &self.storage.postgres_url) {
            (Backend::Postgres, None) => Err(format!(
                "storage.backend = \"postgres\" needs the database's URL: set storage.postgres_url in the file or the {DATABASE_URL_ENV} environment variable (like postgres://linkdock@db:5432/linkdock)"
            )),
            _ => Ok(()),
        }
    }

    fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.keys.sweep_interval.0 < Duration::from_millis(100) {
            problems.push("keys.sweep_interval: at least 100ms".to_owned());
        }
        for (name, d) in [
            ("server.header_timeout", self.server.header_timeout),
            ("server.body_timeout", self.server.body_timeout),
        ] {
            if d.0 < Duration::from_secs(1) {
                problems.push(format!("{name}: at least 1s"));
            }
        }
        if self.keys.max_failed_auth_per_minute == 0 {
            problems.push("keys.max_failed_auth_per_minute: at least 1".to_owned());
        }
        if self.keys.max_failed_sign_ins_per_ip_per_minute == 0 {
            problems.push("keys.max_failed_sign_ins_per_ip_per_minute: at least 1".to_owned());
        }
        if self.import.max_bytes < 1024 {
            problems.push("import.max_bytes: at least 1024".to_owned());
        }
        if self.import.max_concurrent == 0 {
            problems.push("import.max_concurrent: at least 1".to_owned());
        }
        if self.import.queue_wait.0 > Duration::from_secs(60) {
            problems.push("import.queue_wait: at most 60s".to_owned());
        }
        if !(1..=10_000).contains(&self.playground.history_limit_per_user) {
            problems.push("playground.history_limit_per_user: 1 to 10000".to_owned());
        }
        if !(1..=3650).contains(&self.audit.retention_days) {
            problems.push("audit.retention_days: 1 to 3650".to_owned());
        }
        if !(1..=3650).contains(&self.analytics.retention_days) {
            problems.push("analytics.retention_days: 1 to 3650".to_owned());
        }
        let mut seen = std::collections::HashSet::new();
        for (i, d) in self.domains.iter().enumerate() {
            if !seen.insert(d.hostname.as_str()) {
                problems.push(format!("domains[{i}]: `{}` is declared twice", d.hostname));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, k) in self.api_keys.iter().enumerate() {
            if !seen.insert(k.hash) {
                problems.push(format!("api_keys[{i}]: the same hash is declared twice"));
            }
            if let Err(e) = k.ip_policy() {
                problems.push(format!("api_keys[{i}].{}: {}", e.field, e.message));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, u) in self.users.iter().enumerate() {
            if !seen.insert(u.username.as_str()) {
                problems.push(format!("users[{i}]: `{}` is declared twice", u.username));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// The declared resources, for the store, moved out: the keys leave this `Config`, which
    /// keeps their fingerprint (so `==` still tells a changed `[[api_keys]]` from the same).
    pub fn take_declared(&mut self) -> DeclaredState {
        let mut fingerprint = ring::digest::Context::new(&ring::digest::SHA256);
        for k in &self.api_keys {
            // The digest whole (its Debug shows 8 hex digits only), then Debug for the other
            // fields; the fingerprint never leaves this process.
            fingerprint.update(k.hash.as_bytes());
            fingerprint.update(format!("{k:?}\n").as_bytes());
        }
        let mut taken = [0u8; 32];
        taken.copy_from_slice(fingerprint.finish().as_ref());
        let keys = std::mem::take(&mut self.api_keys);
        self.api_keys_taken = Some(taken);
        let mut declared = self.declared();
        declared.keys = keys.into_iter().map(declared_key).collect();
        declared
    }

    /// The declared resources, for the store.
    pub fn declared(&self) -> DeclaredState {
        DeclaredState {
            domains: self.domains.iter().map(|d| d.hostname.clone()).collect(),
            keys: self.api_keys.iter().cloned().map(declared_key).collect(),
            users: self
                .users
                .iter()
                .map(|u| DeclaredUser {
                    username: u.username.clone(),
                    password_hash: u.password_hash.clone(),
                    role: u.role,
                })
                .collect(),
        }
    }

    /// Settings that differ between `self` and `next` but only take effect after a restart.
    pub fn restart_only_changes(&self, next: &Config) -> Vec<&'static str> {
        RESTART_ONLY
            .iter()
            .filter(|s| (s.differs)(self, next))
            .map(|s| s.name)
            .collect()
    }

    /// `next`, with the restart-only settings of the running configuration kept.
    #[must_use]
    pub fn keeping_restart_only(mut self, running: &Config) -> Self {
        for s in RESTART_ONLY {
            (s.keep)(&mut self, running);
        }
        self
    }

    pub fn trusted_proxies(&self) -> &[IpRule] {
        &self.server.trusted_proxies
    }

    pub fn client_ip_header(&self) -> ClientIpHeader {
        self.server.client_ip_header
    }
}

/// The environment variable that overrides `storage.postgres_url`.
pub const DATABASE_URL_ENV: &str = "LINKDOCK_DATABASE_URL";

/// A TOML error as the operator reads it, without a secret: the file's line is not quoted
/// when it sets `postgres_url`, and any URL's password left in the text is masked.
fn toml_problem(e: &toml::de::Error, text: &str) -> String {
    let at = e.span().map_or(0, |span| span.start);
    let head = text.get(..at).unwrap_or(text);
    let line_start = head.rfind('\n').map_or(0, |i| i + 1);
    let line = text
        .get(line_start..)
        .and_then(|rest| rest.split('\n').next())
        .unwrap_or("");
    let shown = if e.span().is_some() && line.contains("postgres_url") {
        format!(
            "TOML parse error at line {}, column {}\n{}",
            head.matches('\n').count() + 1,
            head[line_start..].chars().count() + 1,
            e.message()
        )
    } else {
        e.to_string()
    };
    redact_url_passwords(shown.trim())
}

/// A setting read once at start: a change in the file is logged and waits for a restart.
pub struct RestartOnly {
    pub name: &'static str,
    differs: fn(&Config, &Config) -> bool,
    keep: fn(&mut Config, &Config),
}

/// Every restart-only setting, listed once; everything else applies live.
pub const RESTART_ONLY: &[RestartOnly] = &[
    RestartOnly {
        name: "server.listen",
        differs: |a, b| a.server.listen != b.server.listen,
        keep: |next, running| next.server.listen = running.server.listen,
    },
    RestartOnly {
        name: "server.header_timeout",
        differs: |a, b| a.server.header_timeout != b.server.header_timeout,
        keep: |next, running| next.server.header_timeout = running.server.header_timeout,
    },
    RestartOnly {
        name: "storage.data_dir",
        differs: |a, b| a.storage.data_dir != b.storage.data_dir,
        keep: |next, running| next.storage.data_dir.clone_from(&running.storage.data_dir),
    },
    RestartOnly {
        name: "storage.backend",
        differs: |a, b| a.storage.backend != b.storage.backend,
        keep: |next, running| next.storage.backend = running.storage.backend,
    },
    RestartOnly {
        name: "storage.postgres_url",
        differs: |a, b| a.storage.postgres_url != b.storage.postgres_url,
        keep: |next, running| {
            next.storage
                .postgres_url
                .clone_from(&running.storage.postgres_url);
        },
    },
    RestartOnly {
        name: "import.max_concurrent",
        differs: |a, b| a.import.max_concurrent != b.import.max_concurrent,
        keep: |next, running| next.import.max_concurrent = running.import.max_concurrent,
    },
    RestartOnly {
        name: "analytics.enabled",
        differs: |a, b| a.analytics.enabled != b.analytics.enabled,
        keep: |next, running| next.analytics.enabled = running.analytics.enabled,
    },
    RestartOnly {
        name: "analytics.geoip_db",
        differs: |a, b| a.analytics.geoip_db != b.analytics.geoip_db,
        keep: |next, running| {
            next.analytics
                .geoip_db
                .clone_from(&running.analytics.geoip_db)
        },
    },
    RestartOnly {
        name: "log.format",
        differs: |a, b| a.log.format != b.log.format,
        keep: |next, running| next.log.format = running.log.format,
    },
];

/// A document with no setting and no declaration: blanks and comments only. (A TOML error
/// is left to `parse`, which says where it is.)
fn holds_nothing(text: &str) -> bool {
    text.trim().is_empty() || toml::from_str::<toml::Table>(text).is_ok_and(|t| t.is_empty())
}

/// Whether a TOML error is about a value (so its line/column must be kept) rather than a
/// missing section that the defaults fill in.
fn is_value_error(e: &toml::de::Error) -> bool {
    !e.message().starts_with("missing field")
}

/// The running configuration; a reload swaps the whole snapshot at once, and a request keeps
/// the snapshot it started with. `arc-swap` makes the per-request read free of shared writes.
#[derive(Clone)]
pub struct SharedConfig(Arc<arc_swap::ArcSwap<Config>>);

impl SharedConfig {
    pub fn new(config: Config) -> Self {
        Self(Arc::new(arc_swap::ArcSwap::from_pointee(config)))
    }

    /// The current snapshot. Hold it for one request, not across reloads.
    pub fn current(&self) -> arc_swap::Guard<Arc<Config>> {
        self.0.load()
    }

    pub fn replace(&self, next: Config) {
        self.0.store(Arc::new(next));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_file_parses_to_the_documented_defaults() {
        let c = Config::embedded();
        assert_eq!(c.server.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(c.storage.data_dir, PathBuf::from("data"));
        assert_eq!(c.keys.prefix.as_str(), "ldk");
        assert_eq!(c.keys.sweep_interval.0, Duration::from_secs(60));
        assert_eq!(c.keys.max_failed_auth_per_minute, 30);
        assert_eq!(c.keys.max_failed_sign_ins_per_ip_per_minute, 100);
        assert_eq!(c.keys.failed_auth_ipv6_prefix, Ipv6Prefix::default());
        assert_eq!(c.import.max_bytes, 52_428_800);
        assert_eq!(c.import.max_concurrent, 2);
        assert_eq!(c.import.queue_wait.0, Duration::from_secs(2));
        assert_eq!(c.playground.history_limit_per_user, 200);
        assert_eq!(c.audit.retention_days, 90);
        assert!(c.docs.public);
        assert_eq!(c.log.level, LogLevel::Info);
        assert_eq!(c.server.header_timeout.0, Duration::from_secs(5));
        let pace = c.server.body_pace();
        assert_eq!(pace.allowed(0), Duration::from_secs(10));
        assert_eq!(pace.allowed(1023), Duration::from_secs(10));
        assert_eq!(pace.allowed(10 * 1024), Duration::from_secs(20));
    }

    #[test]
    fn a_declared_keys_new_hash_changes_the_fingerprint_even_when_its_first_digits_match() {
        // Two digests alike in their first 8 hex digits (all that Debug shows), then apart.
        let file = |tail: char| {
            let hash = format!("sha256:{}{}", "ab".repeat(4), tail.to_string().repeat(56));
            format!("[[api_keys]]\nname = \"ci\"\nhash = \"{hash}\"\n")
        };
        let mut before = Config::parse(&file('1'), "t").unwrap();
        let mut after = Config::parse(&file('2'), "t").unwrap();
        before.take_declared();
        after.take_declared();
        assert_ne!(
            before, after,
            "a swapped key hash must read as a changed file"
        );
    }

    #[test]
    fn slow_client_limits_have_a_floor() {
        for bad in [
            "header_timeout = \"500ms\"",
            "body_timeout = \"0s\"",
            "body_min_bytes_per_second = 0",
        ] {
            let e = Config::parse(&format!("[server]\n{bad}\n"), "t").unwrap_err();
            assert!(
                e.to_string().contains("server") || e.to_string().contains("line 2"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn public_url_and_backup_dir_are_unset_when_absent_or_empty() {
        let c = Config::embedded();
        assert_eq!(c.server.public_url, None);
        assert_eq!(c.storage.backup_dir(), PathBuf::from("data/backups"));
        let c = Config::parse(
            "[server]\npublic_url = \"\"\n[storage]\ndata_dir = \"/srv/ld\"\n",
            "t",
        )
        .unwrap();
        assert_eq!(c.server.public_url, None);
        assert_eq!(c.storage.backup_dir(), PathBuf::from("/srv/ld/backups"));
        let c = Config::parse(
            "[server]\npublic_url = \"https://go.example.com/\"\n[storage]\nbackup_dir = \"/b\"\n",
            "t",
        )
        .unwrap();
        assert_eq!(
            c.server.public_url.as_ref().map(PublicUrl::as_str),
            Some("https://go.example.com")
        );
        assert!(c.server.is_https());
        assert_eq!(c.storage.backup_dir(), PathBuf::from("/b"));
    }

    #[test]
    fn the_base_url_is_public_url_or_the_bound_address() {
        let mut server = Config::embedded().server;
        for (bound, want) in [
            ("0.0.0.0:41234", "http://127.0.0.1:41234"),
            ("[::]:8081", "http://[::1]:8081"),
            ("192.0.2.7:80", "http://192.0.2.7:80"),
            ("[2001:db8::1]:8080", "http://[2001:db8::1]:8080"),
        ] {
            assert_eq!(server.base_url(bound.parse().unwrap()), want);
        }
        assert!(!server.is_https());
        server.public_url = Some(PublicUrl::try_from("https://l.example.com".to_owned()).unwrap());
        assert_eq!(
            server.base_url("0.0.0.0:1".parse().unwrap()),
            "https://l.example.com"
        );
    }

    #[test]
    fn public_url_is_a_plain_http_url() {
        for bad in [
            "ftp://x.example.com",
            "go.example.com",
            "https://x.example.com/?a=1",
            "https://u:p@x.example.com",
            "https://x.example.com/#top",
            "https://x.example.com/it's",
        ] {
            assert!(
                PublicUrl::try_from(bad.to_owned()).is_err(),
                "{bad} accepted"
            );
        }
        let e = Config::parse("[server]\npublic_url = \"nope\"\n", "t").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
    }

    fn readme() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
            .expect("README.md")
    }

    /// The README's configuration reference names every key of the embedded file, and says
    /// "restart" exactly for the `RESTART_ONLY` ones and "live" for the rest.
    #[test]
    fn the_readme_reference_lists_every_key_and_when_it_applies() {
        let readme = readme();
        let defaults: toml::Table = toml::from_str(DEFAULT_TOML).unwrap();
        let mut keys = Vec::new();
        for (section, value) in &defaults {
            for key in value.as_table().expect("sections only").keys() {
                keys.push(format!("{section}.{key}"));
            }
        }
        assert!(keys.len() >= 14, "{keys:?}");
        for key in keys {
            let row = readme
                .lines()
                .find(|l| l.starts_with(&format!("| `{key}` |")))
                .unwrap_or_else(|| panic!("README.md's reference has no row for `{key}`"));
            let applies = row.split('|').nth(3).unwrap_or("").trim();
            let restart = RESTART_ONLY.iter().any(|s| s.name == key);
            if restart {
                assert_eq!(applies, "restart", "{key} needs a restart: {row}");
            } else {
                assert!(applies.starts_with("live"), "{key} applies live: {row}");
            }
        }
    }

    #[test]
    fn the_readme_headless_example_is_a_valid_config() {
        let readme = readme();
        let start = readme
            .find("<!-- headless-example -->")
            .expect("the marked example");
        let block = &readme[start..];
        let body = &block[block.find("```toml").expect("a toml block") + "```toml".len()..];
        let text: String = body[..body.find("```").expect("closed")]
            .lines()
            .map(str::trim_start)
            .collect::<Vec<_>>()
            .join("\n");
        let c = Config::parse(&text, "README.md").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.domains.len(), 2);
        assert_eq!(c.api_keys.len(), 1);
        assert_eq!(c.users.len(), 1);
        assert!(c.server.is_https());
    }

    const PG_SECRET: &str = "Zq9-hunter2-secret";

    fn load_file(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, text).unwrap();
        Config::load_with(Some(&path), |name| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn the_backend_is_redb_unless_the_file_says_postgres() {
        let c = Config::embedded();
        assert_eq!(c.storage.backend, Backend::Redb);
        assert_eq!(c.storage.postgres_url, None);
        let c = Config::parse(
            &format!("[storage]\nbackend = \"postgres\"\npostgres_url = \"postgres://ld:{PG_SECRET}@db/links\"\n"),
            "t",
        )
        .unwrap();
        assert_eq!(c.storage.backend, Backend::Postgres);
        let url = c.storage.postgres_url.as_ref().unwrap();
        assert_eq!(url.describe(), "db:5432/links");
        assert!(url.expose_secret().contains(PG_SECRET));
        for bad in ["mysql", "Postgres", ""] {
            let e = Config::parse(&format!("[storage]\nbackend = \"{bad}\"\n"), "t").unwrap_err();
            let text = e.to_string();
            // Both names, the first spelt from the enum (tidy keeps the word out of config/).
            let first = format!("`{}`", format!("{:?}", Backend::default()).to_lowercase());
            assert!(
                text.contains("line 2") && text.contains(&first) && text.contains("`postgres`"),
                "{bad}: {text}"
            );
        }
    }

    #[test]
    fn postgres_without_a_url_says_which_setting_to_set() {
        let e = load_file("[storage]\nbackend = \"postgres\"\n", &[]).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("storage.postgres_url") && text.contains("LINKDOCK_DATABASE_URL"),
            "{text}"
        );
        assert!(text.starts_with(&e.source_name) && e.source_name.ends_with("c.toml"));
        // A blank variable is unset, like an empty setting.
        assert!(load_file(
            "[storage]\nbackend = \"postgres\"\npostgres_url = \"\"\n",
            &[("LINKDOCK_DATABASE_URL", "  ")]
        )
        .is_err());
        // The redb backend needs no URL.
        assert!(load_file("[log]\nlevel = \"debug\"\n", &[]).is_ok());
    }

    #[test]
    fn linkdock_database_url_supplies_or_overrides_the_url() {
        let env_url = format!("postgresql://env:{PG_SECRET}@pg.internal:6000/envdb");
        let c = load_file(
            "[storage]\nbackend = \"postgres\"\n",
            &[("LINKDOCK_DATABASE_URL", &env_url)],
        )
        .unwrap();
        let url = c.storage.postgres_url.unwrap();
        assert_eq!(url.expose_secret(), env_url);
        assert_eq!(url.describe(), "pg.internal:6000/envdb");
        let c = load_file(
            "[storage]\nbackend = \"postgres\"\npostgres_url = \"postgres://file@f/filedb\"\n",
            &[("LINKDOCK_DATABASE_URL", &env_url)],
        )
        .unwrap();
        assert_eq!(c.storage.postgres_url.unwrap().database(), "envdb");
        let e = load_file(
            "[log]\nlevel = \"debug\"\n",
            &[(
                "LINKDOCK_DATABASE_URL",
                &format!("mysql://u:{PG_SECRET}@h/d"),
            )],
        )
        .unwrap_err();
        assert_eq!(e.source_name, "LINKDOCK_DATABASE_URL");
        assert!(e.to_string().contains("postgres://"), "{e}");
        assert!(!e.to_string().contains(PG_SECRET), "{e}");
    }

    #[test]
    fn the_database_password_appears_in_no_debug_or_error_text() {
        let good = Config::parse(
            &format!("[storage]\nbackend = \"postgres\"\npostgres_url = \"postgres://ld:{PG_SECRET}@db/links\"\n"),
            "t",
        )
        .unwrap();
        for shown in [
            format!("{good:?}"),
            format!("{:?}", good.storage),
            format!("{:#?}", good.storage.postgres_url),
        ] {
            assert!(shown.contains("db:5432/links"), "{shown}");
            assert!(!shown.contains(PG_SECRET), "{shown}");
        }
        // Bad URLs, each whole file (the direct parse) and without [log] (the defaults merge),
        // and a TOML syntax error on the URL's line.
        for value in [
            format!("\"mysql://ld:{PG_SECRET}@db/links\""),
            format!("\"postgres://ld:{PG_SECRET}@db\""),
            format!("\"postgres://ld:{PG_SECRET}@db:99999/links\""),
            format!("\"postgres://ld:{PG_SECRET}/x@db/links/more\""),
            format!("\"postgres://ld:{PG_SECRET}@db/links"),
            format!("postgres://ld:{PG_SECRET}@db/links"),
        ] {
            for text in [
                format!("[log]\nlevel = \"info\"\n[storage]\npostgres_url = {value}\n"),
                format!("[storage]\npostgres_url = {value}\n"),
            ] {
                let e = Config::parse(&text, "t").unwrap_err();
                let shown = format!("{e} {e:?}");
                assert!(!shown.contains(PG_SECRET), "{text}: {shown}");
                assert!(shown.contains("line "), "{text}: {shown}");
                let e = load_file(&text, &[]).unwrap_err();
                assert!(!e.to_string().contains(PG_SECRET), "{e}");
            }
        }
    }

    /// compose.yaml's nodes: their file is valid once the compose file's URL is given, and
    /// they trust exactly the load balancer's fixed address.
    #[test]
    fn the_compose_example_configures_postgres_nodes_behind_its_balancer() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let compose = std::fs::read_to_string(root.join("compose.yaml")).unwrap();
        let haproxy = std::fs::read_to_string(root.join("config/compose/haproxy.cfg")).unwrap();
        let file = root.join("config/compose/linkdock.toml");
        assert!(compose.contains("./config/compose/linkdock.toml:/config/linkdock.toml:ro"));
        assert!(compose.contains("LINKDOCK_CONFIG: /config/linkdock.toml"));
        let url = "postgres://linkdock:pw@db:5432/linkdock";
        assert!(
            compose.contains("LINKDOCK_DATABASE_URL: \"postgres://linkdock:${LINKDOCK_DB_PASSWORD:?set LINKDOCK_DB_PASSWORD}@db:5432/linkdock\""),
            "the URL the test gives is the compose file's"
        );
        assert!(
            Config::load_with(Some(&file), |_| None).is_err(),
            "needs the URL"
        );
        let c = Config::load_with(Some(&file), |name| {
            (name == DATABASE_URL_ENV).then(|| url.to_owned())
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.storage.backend, Backend::Postgres);
        assert_eq!(
            c.storage.postgres_url.as_ref().unwrap().describe(),
            "db:5432/linkdock"
        );
        let proxies: Vec<String> = c
            .trusted_proxies()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(proxies.len(), 1);
        assert!(
            compose.contains(&format!("ipv4_address: {}", proxies[0])),
            "trusted_proxies {proxies:?} is not the balancer's address in compose.yaml"
        );
        assert_eq!(c.client_ip_header(), ClientIpHeader::XForwardedFor);
        assert!(haproxy.contains("option forwardfor"));
        assert!(haproxy.contains("http-check send meth GET uri /healthz"));
        for node in ["node1", "node2"] {
            assert!(
                compose.contains(&format!("  {node}:\n    <<: *node\n")),
                "{node}"
            );
            assert!(
                haproxy.contains(&format!("server {node} {node}:8080")),
                "{node}"
            );
        }
    }

    #[test]
    fn a_toml_error_elsewhere_still_quotes_its_line() {
        let e = Config::parse("[log]\nlevel = \"loud\"\n", "t").unwrap_err();
        assert!(e.to_string().contains("2 | level = \"loud\""), "{e}");
    }

    #[test]
    fn the_backend_and_its_url_wait_for_a_restart() {
        let running = Config::embedded();
        let next = Config::parse(
            &format!("[storage]\nbackend = \"postgres\"\npostgres_url = \"postgres://ld:{PG_SECRET}@db/links\"\n"),
            "t",
        )
        .unwrap();
        assert_eq!(
            running.restart_only_changes(&next),
            ["storage.backend", "storage.postgres_url"]
        );
        let kept = next.keeping_restart_only(&running);
        assert_eq!(kept.storage.backend, Backend::Redb);
        assert_eq!(kept.storage.postgres_url, None);
        // A new password alone is a change too (it must reach the engine at the next start).
        let other = Config::parse(
            "[storage]\nbackend = \"postgres\"\npostgres_url = \"postgres://ld:other@db/links\"\n",
            "t",
        )
        .unwrap();
        let again = Config::parse(
            &format!("[storage]\nbackend = \"postgres\"\npostgres_url = \"postgres://ld:{PG_SECRET}@db/links\"\n"),
            "t",
        )
        .unwrap();
        assert_eq!(again.restart_only_changes(&other), ["storage.postgres_url"]);
    }

    #[test]
    fn a_partial_file_takes_the_defaults_for_the_rest() {
        let c = Config::parse("[log]\nlevel = \"debug\"\n", "t").unwrap();
        assert_eq!(c.log.level, LogLevel::Debug);
        assert_eq!(c.log.format, LogFormat::Text);
        assert_eq!(c.keys.max_failed_auth_per_minute, 30);
    }

    #[test]
    fn unknown_keys_and_bad_values_name_line_and_column() {
        let e = Config::parse("[server]\nlisten = \"127.0.0.1:1\"\nbogus = 1\n", "t").unwrap_err();
        assert!(e.to_string().contains("line 3"), "{e}");
        assert!(e.to_string().contains("bogus"), "{e}");
        let e = Config::parse("[keys]\nsweep_interval = \"soon\"\n", "t").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let e = Config::parse(
            "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"nope\"]\n",
            "t",
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("line 2") && e.to_string().contains("nope"),
            "{e}"
        );
    }

    #[test]
    fn durations_take_units() {
        for (s, d) in [
            ("500ms", 500),
            ("1s", 1000),
            ("5m", 300_000),
            ("1h", 3_600_000),
            ("7d", 604_800_000),
        ] {
            assert_eq!(
                HumanDuration::try_from(s.to_owned()).unwrap().0,
                Duration::from_millis(d)
            );
        }
        assert!(HumanDuration::try_from("5".to_owned()).is_err());
    }

    #[test]
    fn declared_keys_take_permissions_and_a_rate_limit_checked_like_the_apis() {
        let hash = format!("sha256:{}", "a".repeat(64));
        let c = Config::parse(
            &format!("[[api_keys]]\nname = \"dash\"\nhash = \"{hash}\"\npermissions = [\"links:read\", \"domains:read\"]\nrate_limit_per_minute = 60\n"),
            "t",
        )
        .unwrap();
        let k = &c.declared().keys[0];
        assert_eq!(k.permissions, crate::domain::Permissions::READ_ONLY);
        assert_eq!(k.rate_limit.map(crate::domain::PerMinute::get), Some(60));
        let c = Config::parse(
            &format!("[[api_keys]]\nname = \"all\"\nhash = \"{hash}\"\n"),
            "t",
        )
        .unwrap();
        assert!(c.declared().keys[0].permissions.is_all());
        assert_eq!(c.declared().keys[0].rate_limit, None);
        for (bad, says) in [
            ("permissions = [\"links:delete\"]", "links:delete"),
            ("permissions = []", "at least one permission"),
            ("rate_limit_per_minute = 0", "from 1 to"),
        ] {
            let e = Config::parse(
                &format!("[[api_keys]]\nname = \"k\"\nhash = \"{hash}\"\n{bad}\n"),
                "t",
            )
            .unwrap_err();
            assert!(
                e.to_string().contains(says) && e.to_string().contains("line 4"),
                "{e}"
            );
        }
    }

    #[test]
    fn declared_keys_survive_the_defaults_merge_and_a_bad_one_is_still_refused() {
        // Sections left out: the merge path, which reads `[[api_keys]]` on its own.
        let hash = |i: u8| format!("sha256:{}", format!("{i:02x}").repeat(32));
        let mut text = String::from("[log]\nlevel = \"debug\"\n");
        for i in 0..3u8 {
            text.push_str(&format!(
                "\n[[api_keys]]\nname = \"k{i}\"\nhash = \"{}\"\nrate_limit_per_minute = 60\n",
                hash(i)
            ));
        }
        let c = Config::parse(&text, "t").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.keys.prefix.as_str(), "ldk", "a section from the defaults");
        let names: Vec<&str> = c.api_keys.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, ["k0", "k1", "k2"]);
        assert_eq!(c.declared().keys.len(), 3);
        let e = Config::parse(
            &format!(
                "[log]\nlevel = \"debug\"\n\n[[api_keys]]\nhash = \"{}\"\n",
                hash(9)
            ),
            "t",
        )
        .unwrap_err();
        assert!(e.to_string().contains("name"), "{e}");
        let e = Config::parse(
            &format!("[log]\nlevel = \"debug\"\n\n[[api_keys]]\nname = \"a\"\nhash = \"{}\"\n\n[[api_keys]]\nname = \"b\"\nhash = \"{}\"\n", hash(9), hash(9)),
            "t",
        )
        .unwrap_err();
        assert!(e.to_string().contains("declared twice"), "{e}");
    }

    #[test]
    fn a_file_of_only_blanks_comments_or_a_byte_order_mark_is_refused_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        for text in [
            "",
            " \n\t",
            "\u{feff}",
            "\u{feff}\n",
            "# a comment\n\n# another\n",
        ] {
            std::fs::write(&path, text).unwrap();
            let e = Config::load(Some(&path)).unwrap_err();
            assert!(e.to_string().contains("the file is empty"), "{text:?}: {e}");
        }
        // A byte order mark before real settings is fine.
        std::fs::write(&path, "\u{feff}[log]\nlevel = \"debug\"\n").unwrap();
        assert_eq!(
            Config::load(Some(&path)).unwrap().log.level,
            LogLevel::Debug
        );
    }

    #[test]
    fn duplicates_are_refused() {
        let e = Config::parse(
            "[[domains]]\nhostname = \"a.b\"\n[[domains]]\nhostname = \"A.b\"\n",
            "t",
        )
        .unwrap_err();
        assert!(e.to_string().contains("declared twice"), "{e}");
    }

    #[test]
    fn the_activity_log_keeps_one_day_to_ten_years() {
        for days in ["0", "3651"] {
            let e = Config::parse(&format!("[audit]\nretention_days = {days}\n"), "t").unwrap_err();
            assert!(
                e.to_string().contains("audit.retention_days: 1 to 3650"),
                "{e}"
            );
        }
        let c = Config::parse("[audit]\nretention_days = 1\n", "t").unwrap();
        assert_eq!(c.audit.retention_secs(), 86_400);
        assert_eq!(c.analytics.retention_days, 400);
        assert!(c.analytics.enabled);
        for days in [0, 3651] {
            let e =
                Config::parse(&format!("[analytics]\nretention_days = {days}\n"), "t").unwrap_err();
            assert!(
                e.to_string()
                    .contains("analytics.retention_days: 1 to 3650"),
                "{e}"
            );
        }
    }
}
