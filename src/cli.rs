//! The command line: `serve` (the default), the key, password, config, user helpers,
//! `healthcheck`, `backup` / `restore`, and `migrate` (redb into PostgreSQL). `keys check` tells a leaked key apart offline and
//! asks the database (through the running server's control socket when there is one).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::api::api_keys::{FoundKey, KeyCheck};
use crate::config::{Backend, Config, HumanDuration, DATABASE_URL_ENV};
use crate::control::AskError;
use crate::domain::{now, KeyPrefix, Password, PasswordHash, PostgresUrl, Role, Username};
use crate::keys::{check_format, KeyDigest};
use crate::store::records::{KeyRecord, Source};
use crate::store::{KeyDraft, MigrateReport, Store, StoreError};

#[derive(Parser)]
#[command(
    name = "linkdock",
    version,
    about = "Self-hosted link manager for small teams"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: ConfigArg,
}

#[derive(Args, Clone)]
struct ConfigArg {
    /// Config file (default: the embedded defaults)
    #[arg(long, global = true, env = "LINKDOCK_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default)
    Serve {
        /// Write the bound port to this file once listening (for supervisors and tests)
        #[arg(long)]
        port_file: Option<PathBuf>,
    },
    /// Generate an API key for the config file
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Password helpers
    Password {
        #[command(subcommand)]
        command: PasswordCommand,
    },
    /// Configuration helpers
    #[command(name = "config")]
    ConfigCmd {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Manage API keys in the data dir (server stopped); `keys check` works either way
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Manage users: through the running server (its control socket), or in the data dir
    /// when the server is stopped
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Exit 0 when the local server's /healthz answers ok within 2 s (for container health checks)
    Healthcheck,
    /// Write a backup into storage.backup_dir: through the running server (its control
    /// socket in the data dir), or directly from the data dir when the server is stopped
    Backup {
        /// Print the result as JSON: {"name", "path", "bytes", "created_at", "via"}
        #[arg(long)]
        json: bool,
    },
    /// Replace the data dir's database by a backup (server stopped); the previous file is kept
    /// as linkdock.redb.before-restore
    Restore {
        /// A backup file written by `linkdock backup` or POST /api/v1/backup
        file: PathBuf,
    },
    /// Copy the data dir's redb database (server stopped) into an empty PostgreSQL database,
    /// then check every table's row count there; exit 0 only when every count matches
    Migrate {
        /// The target, postgres://user:password@host:5432/database. Omitted: read from
        /// LINKDOCK_DATABASE_URL, which keeps the password out of the shell history and the
        /// process list
        #[arg(long, value_name = "URL")]
        to: Option<String>,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Print a new key and the `hash = "sha256:…"` line for [[api_keys]]
    Generate {
        #[arg(long)]
        prefix: Option<String>,
    },
}

#[derive(Subcommand)]
enum PasswordCommand {
    /// Read a password on stdin and print its hash for [[users]]
    Hash,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate a config file; exit 0 or print each problem
    Check { path: Option<PathBuf> },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key and print it (shown once)
    Create {
        #[arg(long)]
        name: String,
        #[arg(long = "domain")]
        domains: Vec<String>,
        #[arg(long = "ip")]
        ips: Vec<String>,
        #[arg(long)]
        expires: Option<String>,
        /// A permission (repeatable): links:read, links:write, domains:read, domains:write,
        /// links:import, links:export. Default: every permission
        #[arg(long = "permission")]
        permissions: Vec<String>,
        /// Requests per minute (default: no limit)
        #[arg(long = "rate-limit")]
        rate_limit: Option<u64>,
        #[arg(long)]
        json: bool,
    },
    /// List keys
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by id
    Revoke { id: u64 },
    /// Disable a key by id: it is refused (401 "disabled") until enabled again
    Disable { id: u64 },
    /// Enable a disabled key by id
    Enable { id: u64 },
    /// Issue a new key with the same settings; the old one keeps working for the grace period
    Roll {
        id: u64,
        /// How long the old key keeps working: 0s (stops now), 1h, 24h, 7d, ...
        #[arg(long, value_parser = |s: &str| HumanDuration::try_from(s.to_owned()))]
        grace: HumanDuration,
        #[arg(long)]
        json: bool,
    },
    /// Say whether KEY is a well-formed linkdock key (offline) and which key of the database it
    /// is; `-` reads it from stdin (keeps it out of the shell history)
    Check {
        key: String,
        /// Print {"well_formed", "id", "name", "status", "prefix", "detail"}
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; the password is read on stdin
    Add {
        name: String,
        /// admin, member or viewer
        #[arg(long, default_value = "admin")]
        role: String,
    },
    /// List the users
    List {
        /// Print a JSON array of {"id", "username", "role", "source", "created_at",
        /// "last_sign_in_at", "active_keys"}
        #[arg(long)]
        json: bool,
    },
    /// Remove a user: their sessions end, and the API keys they created are revoked or handed on
    Remove {
        name: String,
        /// revoke (the default) or transfer (with --to)
        #[arg(long, default_value = "revoke")]
        keys: String,
        /// The user who receives the keys, with --keys transfer
        #[arg(long)]
        to: Option<String>,
    },
    /// Set a user's role: admin, member or viewer
    Role { name: String, role: String },
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // clap quotes a misplaced argument, which may be a database URL with its password.
        Err(e) if e.use_stderr() && e.to_string().contains("://") => {
            eprint!("{}", crate::domain::redact_url_passwords(&e.to_string()));
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
        Err(e) => e.exit(),
    };
    let result = match cli.command.unwrap_or(Command::Serve { port_file: None }) {
        Command::Serve { port_file } => serve(cli.config.config, port_file),
        Command::Key {
            command: KeyCommand::Generate { prefix },
        } => key_generate(prefix),
        Command::Password {
            command: PasswordCommand::Hash,
        } => password_hash(),
        Command::ConfigCmd {
            command: ConfigCommand::Check { path },
        } => config_check(path.or(cli.config.config)),
        Command::Keys { command } => keys(cli.config.config, command),
        Command::User { command } => user(cli.config.config, command),
        Command::Healthcheck => healthcheck(cli.config.config),
        Command::Backup { json } => backup(cli.config.config, json),
        Command::Restore { file } => restore(cli.config.config, &file),
        Command::Migrate { to } => migrate(cli.config.config, to),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("linkdock: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config_path: Option<PathBuf>, port_file: Option<PathBuf>) -> Result<(), String> {
    crate::store::keep_malloc_thresholds();
    let config = Config::load(config_path.as_deref()).map_err(|e| e.to_string())?;
    crate::telemetry::init(config.log.format, config.log.level, config.log.access);
    crate::startup::serve(config, config_path, port_file.as_deref())
}

/// The command-line flag behind a field of the key gate (`domains[1]` → `--domain`).
fn flag_of(field: &str) -> &'static str {
    match field.split('[').next().unwrap_or(field) {
        "name" => "--name",
        "domains" => "--domain",
        "ip_whitelist" => "--ip",
        "expires_at" => "--expires",
        "permissions" => "--permission",
        "rate_limit_per_minute" => "--rate-limit",
        _ => "input",
    }
}

fn random() -> ring::rand::SystemRandom {
    ring::rand::SystemRandom::new()
}

/// Probe the server that `serve` would start with the same config file and environment.
fn healthcheck(config_path: Option<PathBuf>) -> Result<(), String> {
    let config = Config::load(config_path.as_deref()).map_err(|e| e.to_string())?;
    let addr = crate::healthcheck::probe_addr(config.server.listen);
    crate::healthcheck::check(addr, crate::healthcheck::TIMEOUT)
}

fn key_generate(prefix: Option<String>) -> Result<(), String> {
    let prefix = match prefix {
        Some(p) => KeyPrefix::parse(&p).map_err(|e| e.to_string())?,
        None => KeyPrefix::default(),
    };
    let (plain, digest) =
        crate::keys::issue(&random(), &prefix).map_err(|_| "no random source".to_owned())?;
    println!("{}", plain.reveal());
    println!("hash = \"sha256:{}\"", digest.to_hex());
    Ok(())
}

fn read_password() -> Result<Password, String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password: ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password: {e}"))?;
    Password::parse(line.trim_end_matches(['\r', '\n']).to_owned()).map_err(|e| e.to_string())
}

fn password_hash() -> Result<(), String> {
    let pw = read_password()?;
    let hash = PasswordHash::new(&pw, &random()).map_err(|_| "no random source".to_owned())?;
    println!("{}", hash.as_str());
    Ok(())
}

fn config_check(path: Option<PathBuf>) -> Result<(), String> {
    let Some(path) = path else {
        Config::embedded();
        println!("embedded defaults: ok");
        return Ok(());
    };
    match Config::load(Some(&path)) {
        Ok(config) => {
            // The GeoIP file is read as the server would read it at start.
            if let Some(geo) = config.analytics.geoip_path() {
                if let Err(e) = crate::store::geoip::GeoIp::open(geo) {
                    println!("{}: {e}", path.display());
                    return Err(format!("1 problem(s) in {}", path.display()));
                }
            }
            println!("{}: ok", path.display());
            if let (Backend::Postgres, Some(url)) =
                (config.storage.backend, &config.storage.postgres_url)
            {
                println!("storage: PostgreSQL at {}", url.describe());
            }
            Ok(())
        }
        Err(e) => {
            for p in &e.problems {
                println!("{}: {p}", e.source_name);
            }
            Err(format!(
                "{} problem(s) in {}",
                e.problems.len(),
                e.source_name
            ))
        }
    }
}

fn open_store(config_path: Option<PathBuf>) -> Result<(Config, std::sync::Arc<Store>), String> {
    let config = Config::load(config_path.as_deref()).map_err(|e| e.to_string())?;
    open_store_of(&config).map(|store| (config, store))
}

fn open_store_of(config: &Config) -> Result<std::sync::Arc<Store>, String> {
    let store = crate::startup::open_store(&config.storage).map_err(|e| match e {
        StoreError::InUse(p) => format!(
            "the database {} is in use: a linkdock server is running on it. Stop it first, or use the API/UI",
            p.display()
        ),
        other => other.to_string(),
    })?;
    Ok(store)
}

fn key_json(store: &Store, k: &KeyRecord) -> serde_json::Value {
    serde_json::json!({
        "id": k.id,
        "name": k.name.as_str(),
        "prefix": k.prefix,
        "domains": k.domains.iter().filter_map(|d| store.catalog.hostname(*d)).collect::<Vec<_>>(),
        "allow_all_ips": k.ip.is_any(),
        "ip_whitelist": k.ip.rules().iter().map(ToString::to_string).collect::<Vec<_>>(),
        "expires_at": k.expires_at.map(|t| t.rfc3339()),
        "status": k.status_at(now()),
        "source": k.source,
        "permissions": k.permissions,
        "rate_limit_per_minute": k.rate_limit.map(crate::domain::PerMinute::get),
        "rotated_to": k.rotated_to,
        "rotated_at": k.rotated_at.map(|t| t.rfc3339()),
        "rotated_from": k.rotated_from,
    })
}

fn keys(config_path: Option<PathBuf>, cmd: KeysCommand) -> Result<(), String> {
    if let KeysCommand::Check { key, json } = cmd {
        return keys_check(config_path, &key, json);
    }
    let (config, store) = open_store(config_path)?;
    match cmd {
        KeysCommand::Check { .. } => unreachable!("answered above"),
        KeysCommand::Create {
            name,
            domains,
            ips,
            expires,
            permissions,
            rate_limit,
            json,
        } => {
            let spec = KeyDraft {
                name,
                domains,
                allow_all_ips: None,
                ip_whitelist: ips,
                expires_at: expires,
                permissions: (!permissions.is_empty()).then_some(permissions),
                rate_limit_per_minute: rate_limit,
            }
            .validate(&store.catalog, now())
            .map_err(|errs| {
                errs.iter()
                    .map(|e| format!("{}: {}", flag_of(&e.field), e.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            })?;
            let (plain, digest) = crate::keys::issue(&random(), &config.keys.prefix)
                .map_err(|_| "no random source".to_owned())?;
            let rec = store
                .create_key(
                    spec,
                    plain.display_prefix(),
                    digest,
                    Source::Api,
                    &crate::audit::By::command_line(),
                )
                .map_err(|e| e.to_string())?;
            if json {
                let mut v = key_json(&store, &rec);
                v["key"] = plain.reveal().into();
                println!("{v}");
            } else {
                println!("{}", plain.reveal());
                eprintln!("key {} created; this is the only time it is shown", rec.id);
            }
        }
        KeysCommand::List { json } => {
            let keys = store.keys_with_usage().map_err(|e| e.to_string())?;
            if json {
                let v: Vec<_> = keys.iter().map(|(k, _)| key_json(&store, k)).collect();
                println!("{}", serde_json::Value::Array(v));
            } else {
                println!(
                    "{:<6} {:<14} {:<9} {:<7} name",
                    "id", "prefix", "status", "source"
                );
                for (k, _) in keys {
                    let j = key_json(&store, &k);
                    println!(
                        "{:<6} {:<14} {:<9} {:<7} {}",
                        k.id,
                        k.prefix,
                        j["status"].as_str().unwrap_or(""),
                        j["source"].as_str().unwrap_or(""),
                        k.name
                    );
                }
            }
        }
        KeysCommand::Revoke { id } => {
            let rec = store
                .revoke_key(id, &crate::audit::By::command_line())
                .map_err(|e| e.to_string())?;
            println!("key {} ({}) revoked", rec.id, rec.prefix);
        }
        KeysCommand::Disable { id } => {
            let rec = store
                .disable_key(id, &crate::audit::By::command_line())
                .map_err(|e| e.to_string())?;
            println!("key {} ({}) disabled", rec.id, rec.prefix);
        }
        KeysCommand::Enable { id } => {
            let rec = store
                .enable_key(id, &crate::audit::By::command_line())
                .map_err(|e| e.to_string())?;
            let status = rec.status_at(now());
            println!(
                "key {} ({}) enabled; it is {}",
                rec.id,
                rec.prefix,
                status.label()
            );
        }
        KeysCommand::Roll { id, grace, json } => {
            // A grace that ends past 9999-12-31T23:59:59Z could be stored but never read back.
            let until = i64::try_from(grace.0.as_secs())
                .ok()
                .and_then(|secs| now().checked_plus_secs(secs))
                .ok_or_else(|| "--grace: must end no later than 9999-12-31T23:59:59Z".to_owned())?;
            let (plain, digest) = crate::keys::issue(&random(), &config.keys.prefix)
                .map_err(|_| "no random source".to_owned())?;
            let r = store
                .roll_key(
                    id,
                    until,
                    plain.display_prefix(),
                    digest,
                    &crate::audit::By::command_line(),
                )
                .map_err(|e| e.to_string())?;
            if json {
                let mut v = key_json(&store, &r.new);
                v["key"] = plain.reveal().into();
                println!("{v}");
            } else {
                println!("{}", plain.reveal());
            }
            eprintln!(
                "key {} rolled: the new key is key {} (shown once, above); the old key works until {}",
                r.old.id,
                r.new.id,
                r.old.rotated_at.unwrap_or_else(now)
            );
        }
    }
    Ok(())
}

/// `linkdock keys check KEY`: the offline check, then which key it is — asked of the running
/// server (by digest, over the control socket) or read from the stopped server's database.
fn keys_check(config_path: Option<PathBuf>, key: &str, json: bool) -> Result<(), String> {
    let config = Config::load(config_path.as_deref()).map_err(|e| e.to_string())?;
    let raw = if key == "-" {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the key: {e}"))?;
        line
    } else {
        key.to_owned()
    };
    let raw = raw.trim();
    let format = check_format(raw, &config.keys.prefix);
    let found = match format {
        Ok(()) => find_key(&config, &KeyDigest::of(raw))?,
        Err(_) => None,
    };
    let check = KeyCheck::new(format, found);
    if json {
        println!("{}", serde_json::to_value(&check).unwrap_or_default());
    } else {
        println!("{}", check.detail);
        if let (Some(id), Some(crate::store::records::KeyStatus::Active)) = (check.id, check.status)
        {
            println!("revoke it with: linkdock keys revoke {id} (server stopped), or POST /api/v1/api-keys/{id}/revoke");
        }
    }
    if check.well_formed {
        Ok(())
    } else {
        Err("not a well-formed key".into())
    }
}

fn find_key(config: &Config, digest: &KeyDigest) -> Result<Option<FoundKey>, String> {
    let data_dir = &config.storage.data_dir;
    match crate::control::ask(data_dir, &format!("key sha256:{}", digest.to_hex())) {
        Ok(answer) if answer["ok"] == true => serde_json::from_value(answer["key"].clone())
            .map_err(|e| format!("the running server answered something unexpected: {e}")),
        Ok(answer) => Err(format!(
            "the running server could not look the key up: {}",
            answer["error"].as_str().unwrap_or("no reason given")
        )),
        Err(AskError::Failed(why)) => Err(why),
        Err(AskError::NotRunning) => {
            // Only redb has a file to miss; a PostgreSQL database is simply opened.
            if config.storage.backend == Backend::Redb && !Store::file_in(data_dir).is_file() {
                return Err(format!(
                    "the key is well-formed, but there is no database at {} to look it up in: check --config / LINKDOCK_DATA_DIR",
                    Store::file_in(data_dir).display()
                ));
            }
            let store = open_store_of(config)?;
            Ok(store
                .key_by_digest(digest)
                .map_err(|e| e.to_string())?
                .as_ref()
                .map(FoundKey::of))
        }
    }
}

/// `linkdock user …`: one line for the control socket, answered by the running server or,
/// when none listens, by the same function (`control::user_command`) on the database itself.
fn user(config_path: Option<PathBuf>, cmd: UserCommand) -> Result<(), String> {
    let config = Config::load(config_path.as_deref()).map_err(|e| e.to_string())?;
    let name_of = |raw: &str| Username::parse(raw).map_err(|e| format!("NAME: {}", e.message));
    let role_of = |raw: &str| Role::parse("role", raw).map_err(|e| format!("role: {}", e.message));
    let mut list_json = false;
    let words: Vec<String> = match &cmd {
        UserCommand::Add { name, role } => {
            let (name, role) = (name_of(name)?, role_of(role)?);
            let pw = read_password()?;
            // Hashed here, so the password itself never crosses the control socket.
            let hash =
                PasswordHash::new(&pw, &random()).map_err(|_| "no random source".to_owned())?;
            vec![
                "add".into(),
                name.into_string(),
                role.as_str().into(),
                hash.as_str().into(),
            ]
        }
        UserCommand::List { json } => {
            list_json = *json;
            vec!["list".into()]
        }
        UserCommand::Role { name, role } => vec![
            "role".into(),
            name_of(name)?.into_string(),
            role_of(role)?.as_str().into(),
        ],
        UserCommand::Remove { name, keys, to } => {
            let name = name_of(name)?.into_string();
            match (keys.trim(), to) {
                ("revoke", None) => vec!["remove".into(), name, "revoke".into()],
                ("transfer", Some(to)) => vec![
                    "remove".into(),
                    name,
                    "transfer".into(),
                    Username::parse(to)
                        .map_err(|e| format!("--to: {}", e.message))?
                        .into_string(),
                ],
                ("revoke", Some(_)) => return Err("--to is only for --keys transfer".into()),
                ("transfer", None) => {
                    return Err(
                        "--keys transfer needs --to NAME: the user who receives the keys".into(),
                    )
                }
                (other, _) => {
                    return Err(format!(
                        "--keys: `{other}` is not a choice; the choices are revoke, transfer"
                    ))
                }
            }
        }
    };
    let data_dir = &config.storage.data_dir;
    let answer = match crate::control::ask(data_dir, &format!("user {}", words.join(" "))) {
        Ok(answer) => answer,
        Err(AskError::Failed(why)) => return Err(why),
        Err(AskError::NotRunning) => {
            let store = open_store_of(&config)?;
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            crate::control::user_command(&store, &words)
        }
    };
    if answer["ok"] != true {
        return Err(answer["error"]
            .as_str()
            .unwrap_or("no reason given")
            .to_owned());
    }
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
    let user = &answer["user"];
    match cmd {
        UserCommand::List { .. } if list_json => println!("{}", answer["users"]),
        UserCommand::List { .. } => {
            println!(
                "{:<5} {:<24} {:<7} {:<7} {:<21} keys",
                "id", "username", "role", "source", "last sign-in"
            );
            for u in answer["users"].as_array().into_iter().flatten() {
                println!(
                    "{:<5} {:<24} {:<7} {:<7} {:<21} {}",
                    u["id"],
                    text(&u["username"]),
                    text(&u["role"]),
                    text(&u["source"]),
                    u["last_sign_in_at"].as_str().unwrap_or("never"),
                    u["active_keys"]
                );
            }
        }
        UserCommand::Add { .. } => println!(
            "user `{}` added (id {}, role {})",
            text(&user["username"]),
            user["id"],
            text(&user["role"])
        ),
        UserCommand::Role { .. } => println!(
            "user `{}` is now {}",
            text(&user["username"]),
            text(&user["role"])
        ),
        UserCommand::Remove { .. } => {
            let keys = match answer["to"].as_str() {
                Some(to) => format!("{} API key(s) handed to `{to}`", answer["keys"]),
                None => format!("{} API key(s) revoked", answer["keys"]),
            };
            println!(
                "user `{}` removed; {} session(s) ended; {keys}",
                text(&user["username"]),
                answer["sessions_ended"]
            );
        }
    }
    Ok(())
}

/// `linkdock backup`: ask the running server over its control socket; when none answers,
/// back up the stopped server's database directly.
fn backup(config_path: Option<PathBuf>, json: bool) -> Result<(), String> {
    let config = Config::load(config_path.as_deref()).map_err(|e| e.to_string())?;
    let data_dir = &config.storage.data_dir;
    let (answer, via) = match crate::control::ask(data_dir, "backup") {
        Ok(answer) if answer["ok"] == true => (answer, "server"),
        Ok(answer) => {
            return Err(format!(
                "the running server could not write the backup: {}",
                answer["error"].as_str().unwrap_or("no reason given")
            ))
        }
        Err(AskError::Failed(why)) => return Err(why),
        Err(AskError::NotRunning) => {
            let b = if config.storage.backend == crate::config::Backend::Postgres {
                // No server on this machine, but the database is shared: snapshot it anyway.
                open_store_of(&config)?.backup(&config.storage.backup_dir())
            } else {
                crate::store::backup_stopped(data_dir, &config.storage.backup_dir())
            }
                .map_err(|e| match e {
                    StoreError::InUse(p) => format!(
                        "the database {} is in use, but no linkdock server answered on {}: stop the process that holds it (a server started from another working directory, or another linkdock command), or use POST /api/v1/backup",
                        p.display(),
                        crate::control::socket_path(data_dir).display()
                    ),
                    StoreError::NoDatabase(p) => format!(
                        "there is no database at {} and no server answered on {}: check --config / LINKDOCK_DATA_DIR",
                        p.display(),
                        crate::control::socket_path(data_dir).display()
                    ),
                    other => other.to_string(),
                })?;
            let answer = serde_json::json!({
                "name": b.name,
                "path": std::path::absolute(&b.path).unwrap_or(b.path).display().to_string(),
                "bytes": b.bytes,
                "created_at": b.created_at.rfc3339(),
            });
            (answer, "direct")
        }
    };
    if json {
        println!(
            "{}",
            serde_json::json!({
                "name": answer["name"],
                "path": answer["path"],
                "bytes": answer["bytes"],
                "created_at": answer["created_at"],
                "via": via,
            })
        );
    } else {
        println!("{}", answer["path"].as_str().unwrap_or(""));
        eprintln!(
            "backup written ({} bytes, snapshot of {}) {}",
            answer["bytes"],
            answer["created_at"].as_str().unwrap_or(""),
            if via == "server" {
                "by the running server"
            } else {
                "directly from the data dir (no server running)"
            }
        );
    }
    Ok(())
}

/// `linkdock restore FILE`: only while no server runs on the data dir.
fn restore(config_path: Option<PathBuf>, file: &std::path::Path) -> Result<(), String> {
    let config = Config::load(config_path.as_deref()).map_err(|e| e.to_string())?;
    if config.storage.backend == crate::config::Backend::Postgres {
        return Err("this server stores its data in PostgreSQL: restore a pg_dump there with pg_restore; a linkdock backup file restores into an appliance (the embedded default backend), which `linkdock migrate --to` can then copy into an empty PostgreSQL database".into());
    }
    let data_dir = &config.storage.data_dir;
    if crate::control::ask(data_dir, "ping").is_ok() {
        return Err(format!(
            "a linkdock server is running on {} (it answered on {}): stop it first, then restore",
            data_dir.display(),
            crate::control::socket_path(data_dir).display()
        ));
    }
    let r = crate::store::restore(data_dir, file).map_err(|e| match e {
        StoreError::InUse(p) => format!(
            "the database {} is in use by another linkdock process: stop it first, then restore",
            p.display()
        ),
        other => other.to_string(),
    })?;
    println!(
        "restored {} into {}: schema {}, {} users, {} domains, {} links, {} API keys",
        file.display(),
        r.path.display(),
        r.info.schema,
        r.info.users,
        r.info.domains,
        r.info.links,
        r.info.keys
    );
    if let Some(before) = r.previous {
        println!("the previous database is kept as {}", before.display());
    }
    for c in &r.raised {
        println!(
            "the backup's {} id counter ({}) was below the largest {} id in use; raised to {}, so no id is reused",
            c.sequence, c.from, c.sequence, c.to
        );
    }
    if let Some(why) = r.previous_unreadable {
        eprintln!("note: the previous database did not open ({why}); it was kept and replaced");
    }
    Ok(())
}

/// The database `linkdock migrate` copies into: `--to`, else `LINKDOCK_DATABASE_URL`. Errors
/// name where the URL came from, never the URL (it may hold a password).
fn migrate_target(to: Option<String>, env: Option<String>) -> Result<PostgresUrl, String> {
    match (to, env.filter(|v| !v.trim().is_empty())) {
        (Some(to), _) => PostgresUrl::parse(&to).map_err(|e| format!("--to: {}", e.message)),
        (None, Some(env)) => {
            PostgresUrl::parse(&env).map_err(|e| format!("{DATABASE_URL_ENV}: {}", e.message))
        }
        (None, None) => Err(format!(
            "no target database: pass --to postgres://user@host:5432/database or set {DATABASE_URL_ENV}"
        )),
    }
}

/// `linkdock migrate`: only while no server runs on the data dir, like `restore`.
fn migrate(config_path: Option<PathBuf>, to: Option<String>) -> Result<(), String> {
    let url = migrate_target(to, std::env::var(DATABASE_URL_ENV).ok())?;
    let config = Config::load(config_path.as_deref()).map_err(|e| e.to_string())?;
    let data_dir = &config.storage.data_dir;
    let source = Store::file_in(data_dir);
    if crate::control::ask(data_dir, "ping").is_ok() {
        return Err(format!(
            "a linkdock server is running on {} (it answered on {}): stop it first, then migrate",
            data_dir.display(),
            crate::control::socket_path(data_dir).display()
        ));
    }
    if !source.is_file() {
        return Err(format!(
            "there is no database at {} to migrate: check --config / LINKDOCK_DATA_DIR",
            source.display()
        ));
    }
    eprintln!("copying {} into {url}", source.display());
    let report = crate::store::migrate_to_postgres(data_dir, &url).map_err(|e| match e {
        StoreError::InUse(p) => format!(
            "the database {} is in use by another linkdock process: stop it first, then migrate",
            p.display()
        ),
        other => format!("migration into {} failed: {other}", url.describe()),
    })?;
    let (lines, verdict) = migrate_summary(&report, &source, &url);
    for line in lines {
        println!("{line}");
    }
    verdict.map(|ok| println!("{ok}"))
}

/// One line per table (name, row count), and the verdict: `Ok` with the closing line, or
/// `Err` when the report holds no table (nothing was checked).
fn migrate_summary(
    report: &MigrateReport,
    source: &Path,
    target: &PostgresUrl,
) -> (Vec<String>, Result<String, String>) {
    let name_width = report
        .tables
        .iter()
        .map(|(n, _)| n.len())
        .max()
        .unwrap_or(0);
    let count_width = report
        .tables
        .iter()
        .map(|(_, c)| c.to_string().len())
        .max()
        .unwrap_or(0);
    let lines = report
        .tables
        .iter()
        .map(|(name, count)| format!("{name:<name_width$}  {count:>count_width$}"))
        .collect();
    let rows: u64 = report.tables.iter().map(|(_, c)| c).sum();
    let verdict = if report.tables.is_empty() {
        Err(format!(
            "the migration into {} reported no table, so nothing was checked",
            target.describe()
        ))
    } else {
        Ok(format!(
            "ok: {} tables, {rows} rows copied from {} into {}; every count matches",
            report.tables.len(),
            source.display(),
            target.describe()
        ))
    };
    (lines, verdict)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "pw-Xy7-secret";

    fn target() -> PostgresUrl {
        PostgresUrl::parse(&format!("postgres://ld:{SECRET}@db:5433/links")).unwrap()
    }

    #[test]
    fn the_migrate_summary_is_a_line_per_table_then_the_verdict() {
        let report = MigrateReport {
            tables: vec![("meta_v1", 1), ("links_v2", 120_000), ("users_v1", 3)],
        };
        let (lines, verdict) = migrate_summary(&report, Path::new("data/linkdock.redb"), &target());
        assert_eq!(
            lines,
            ["meta_v1        1", "links_v2  120000", "users_v1       3"]
        );
        assert_eq!(
            verdict.unwrap(),
            "ok: 3 tables, 120004 rows copied from data/linkdock.redb into db:5433/links; every count matches"
        );
    }

    #[test]
    fn a_report_with_no_table_is_a_failure() {
        let (lines, verdict) = migrate_summary(
            &MigrateReport { tables: Vec::new() },
            Path::new("d/linkdock.redb"),
            &target(),
        );
        assert!(lines.is_empty());
        let e = verdict.unwrap_err();
        assert!(e.contains("db:5433/links") && !e.contains(SECRET), "{e}");
    }

    #[test]
    fn the_target_is_to_else_the_environment_and_errors_never_show_the_password() {
        let url = |s: &str| Some(s.to_owned());
        let from_flag = migrate_target(url("postgres://a@h1/d1"), url("postgres://b@h2/d2"));
        assert_eq!(from_flag.unwrap().describe(), "h1:5432/d1");
        let from_env = migrate_target(None, url("postgresql://b@h2:7/d2"));
        assert_eq!(from_env.unwrap().describe(), "h2:7/d2");
        for (to, env, says) in [
            (None, None, "pass --to"),
            (None, url("  "), "LINKDOCK_DATABASE_URL"),
            (url(&format!("mysql://u:{SECRET}@h/d")), None, "--to: "),
            (
                url(&format!("postgres://u:{SECRET}@h")),
                None,
                "no database",
            ),
            (
                None,
                url(&format!("postgres://u:{SECRET}@h:0x/d")),
                "LINKDOCK_DATABASE_URL: ",
            ),
        ] {
            let e = migrate_target(to, env).unwrap_err();
            assert!(e.contains(says), "{e}");
            assert!(!e.contains(SECRET) && !e.contains('\n'), "{e}");
        }
    }
}
