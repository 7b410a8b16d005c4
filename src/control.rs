//! The control socket: `<data_dir>/linkdock.sock`, a Unix socket the running server listens on
//! so that `linkdock backup` on the same machine can ask it for a backup without HTTP
//! credentials. redb lets one process hold the database, so this is how a command reaches it.
//!
//! Who may ask is decided by the file system: the socket is created under a temporary name,
//! made `0600` (only the server's user), then renamed into place — which also replaces a stale
//! socket left by a crash. It is removed on a clean shutdown.
//!
//! The protocol is one line in, one JSON line out:
//! - `backup` → `{"ok": true, "name", "path", "bytes", "created_at"}` or
//!   `{"ok": false, "error"}`
//! - `ping` → `{"ok": true, "version", "pid"}`
//! - `key sha256:<hex>` → `{"ok": true, "key": {"id", "name", "status", "prefix"} | null}`: which
//!   key has this digest (`linkdock keys check`; the key itself never crosses the socket)
//! - `clock advance <duration>` (`90s`, `2m`, …) → `{"ok": true, "now", "ahead_ms"}`: moves
//!   the server's clock ahead, for tests; refused unless the server was started with
//!   `LINKDOCK_TEST_CLOCK=1`
//! - `user list` → `{"ok": true, "users": [{"id", "username", "role", "source", "created_at",
//!   "last_sign_in_at", "active_keys"}]}`
//! - `user add NAME ROLE HASH` (`HASH` from `PasswordHash::new`: the CLI hashes the password,
//!   so it never crosses the socket), `user role NAME ROLE`, `user remove NAME revoke`,
//!   `user remove NAME transfer HEIR` → `{"ok": true, "user": {…}, …}`; the same store
//!   functions, and so the same rules, as the API (`user_command`, also run by the CLI on a
//!   stopped server's database). Command lines are never logged.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};

use crate::audit::By;
use crate::clock;
use crate::config::HumanDuration;
use crate::domain::now;
use crate::domain::{PasswordHash, Role, Username};
use crate::keys::KeyDigest;
use crate::state::AppState;
use crate::store::records::{Source, UserRecord};
use crate::store::{KeysOfRemoved, Store, StoreError, UserPatch};

/// The socket's file name inside the data dir.
pub const SOCKET_NAME: &str = "linkdock.sock";

/// The longest command line read.
const MAX_LINE: u64 = 1024;

/// How long the server waits for a client's command line.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a client waits for an answer: a backup of a large database takes a while.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(3600);

pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET_NAME)
}

/// The listening socket and the thread that answers it.
pub struct ControlSocket {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Listen on `<data_dir>/linkdock.sock`. Call it only while holding the database, so that a
/// socket already there is a stale one.
pub fn listen(data_dir: &Path, state: Arc<AppState>) -> io::Result<ControlSocket> {
    let path = socket_path(data_dir);
    let tmp = data_dir.join(format!(".{SOCKET_NAME}.{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let listener = UnixListener::bind(&tmp)?;
    let placed = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| std::fs::rename(&tmp, &path));
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name("linkdock-control".into())
        .spawn(move || {
            for conn in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                // One client at a time: backups are serialised anyway.
                if let Ok(conn) = conn {
                    serve_one(conn, &state);
                }
            }
        })?;
    Ok(ControlSocket {
        path,
        stop,
        thread: Some(thread),
    })
}

impl ControlSocket {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stop answering (after a command in progress) and remove the socket file.
    pub fn close(mut self) {
        self.shut();
    }

    fn shut(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accepting thread; if the file is gone it cannot be woken, so leave it.
        if UnixStream::connect(&self.path).is_ok() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        self.shut();
    }
}

fn serve_one(mut conn: UnixStream, st: &AppState) {
    let _ = conn.set_read_timeout(Some(READ_TIMEOUT));
    let mut line = String::new();
    let answer = match BufReader::new((&conn).take(MAX_LINE)).read_line(&mut line) {
        Ok(0) => return, // a wake-up or a probe that sent nothing
        Ok(_) => answer(line.trim(), st),
        Err(e) => json!({"ok": false, "error": format!("cannot read the command: {e}")}),
    };
    let _ = writeln!(conn, "{answer}");
}

fn answer(command: &str, st: &AppState) -> Value {
    match command {
        "backup" => match st.backup(&crate::audit::By::new(
            crate::audit::Actor::system("linkdock backup (control socket)"),
            None,
        )) {
            Ok(b) => json!({
                "ok": true,
                "name": b.name,
                "path": std::path::absolute(&b.path).unwrap_or(b.path).display().to_string(),
                "bytes": b.bytes,
                "created_at": b.created_at.rfc3339(),
            }),
            Err(e) => json!({"ok": false, "error": e.to_string()}),
        },
        "ping" => {
            json!({"ok": true, "version": env!("CARGO_PKG_VERSION"), "pid": std::process::id()})
        }
        other if other.starts_with("key ") => match KeyDigest::parse(&other[4..]) {
            Ok(digest) => match st.store.key_by_digest(&digest) {
                Ok(found) => json!({"ok": true, "key": found.map(|k| json!({
                    "id": k.id,
                    "name": k.name.as_str(),
                    "status": k.status_at(now()),
                    "prefix": k.prefix,
                }))}),
                Err(e) => json!({"ok": false, "error": e.to_string()}),
            },
            Err(e) => json!({"ok": false, "error": e}),
        },
        other if other.starts_with("user ") => {
            let words: Vec<&str> = other.split_whitespace().skip(1).collect();
            user_command(&st.store, &words)
        }
        other if other.starts_with("clock advance ") => {
            match HumanDuration::try_from(other["clock advance ".len()..].to_owned()) {
                Ok(by) => match clock::advance(by.0) {
                    Ok(ahead) => {
                        tracing::warn!(by = ?by.0, ahead = ?ahead, "the clock was moved ahead");
                        json!({"ok": true, "now": now().rfc3339(), "ahead_ms": u64::try_from(ahead.as_millis()).unwrap_or(u64::MAX)})
                    }
                    Err(clock::NotMovable) => {
                        json!({"ok": false, "error": format!("the clock moves only in a server started with {}=1 (for tests)", clock::TEST_SWITCH)})
                    }
                },
                Err(e) => json!({"ok": false, "error": e}),
            }
        }
        other => {
            let shown: String = other.chars().take(40).collect();
            json!({"ok": false, "error": format!("unknown command `{shown}`; the commands are backup, ping, key, user and clock")})
        }
    }
}

fn user_json(u: &UserRecord) -> Value {
    json!({
        "id": u.id,
        "username": u.username.as_str(),
        "role": u.role.as_str(),
        "source": u.source,
        "created_at": u.created_at.rfc3339(),
        "last_sign_in_at": u.last_sign_in_at.map(crate::domain::Timestamp::rfc3339),
    })
}

fn failed(e: impl std::fmt::Display) -> Value {
    json!({"ok": false, "error": e.to_string()})
}

/// The id of the user called `name`, or why not.
fn id_of(store: &Store, name: &str, flag: &str) -> Result<u64, String> {
    let name = Username::parse(name).map_err(|e| format!("{flag}: {}", e.message))?;
    match store.user(name.as_str()) {
        Ok(Some(u)) => Ok(u.id),
        Ok(None) => Err(format!("{flag}: there is no user `{name}`")),
        Err(e) => Err(e.to_string()),
    }
}

/// `user …` (the words after `user`), against a store: the running server's, or, from the
/// CLI, a stopped server's. The rules are the store's, as for the API and the Team page.
pub fn user_command(store: &Store, words: &[&str]) -> Value {
    let by = "the command line";
    let role_of = |raw: &str| Role::parse("role", raw).map_err(|e| e.message);
    match words {
        ["list"] => match (store.users(), store.active_keys_by_creator()) {
            (Ok(users), Ok(keys)) => json!({"ok": true, "users": users.iter().map(|u| {
                let mut v = user_json(u);
                v["active_keys"] = keys.get(u.username.as_str()).copied().unwrap_or(0).into();
                v
            }).collect::<Vec<_>>()}),
            (Err(e), _) | (_, Err(e)) => failed(e),
        },
        ["add", name, role, hash] => {
            let parsed = Username::parse(name)
                .map_err(|e| e.message)
                .and_then(|n| Ok((n, role_of(role)?, PasswordHash::parse(hash)?)));
            let (name, role, hash) = match parsed {
                Ok(p) => p,
                Err(e) => return failed(e),
            };
            match store.add_user(&UserRecord::new(name, hash, Source::Api, role), &By::command_line()) {
                Ok(u) => {
                    tracing::info!(by, user = %u.username, role = %u.role, "user added");
                    json!({"ok": true, "user": user_json(&u)})
                }
                Err(e) => failed(e),
            }
        }
        ["role", name, role] => {
            let change = id_of(store, name, "user").and_then(|id| Ok((id, role_of(role)?)));
            let (id, role) = match change {
                Ok(c) => c,
                Err(e) => return failed(e),
            };
            let patch = UserPatch {
                role: Some(role),
                password_hash: None,
            };
            match store.update_user(id, &patch, &By::command_line()) {
                Ok((u, _)) => {
                    tracing::info!(by, user = %u.username, role = %u.role, "user role set");
                    json!({"ok": true, "user": user_json(&u)})
                }
                Err(e) => failed(e),
            }
        }
        ["remove", name, how @ ..] => {
            let keys = match how {
                [] | ["revoke"] => Ok(KeysOfRemoved::Revoke),
                ["transfer", heir] => id_of(store, heir, "--to").map(KeysOfRemoved::Transfer),
                _ => Err("--keys: the choices are revoke, and transfer with --to NAME".to_owned()),
            };
            let removed = keys.and_then(|keys| {
                let id = id_of(store, name, "user")?;
                store.remove_user(id, keys, &By::command_line()).map_err(|e| match e {
                    // The heir was named by the CLI's --to.
                    StoreError::Invalid(d) if d.field == "to" => format!("--to: {}", d.message),
                    other => other.to_string(),
                })
            });
            match removed {
                Ok(r) => {
                    tracing::info!(by, user = %r.user.username, sessions_ended = r.sessions_ended,
                        keys = r.keys.len(), to = ?r.heir.as_ref().map(Username::as_str), "user removed");
                    json!({
                        "ok": true,
                        "user": user_json(&r.user),
                        "sessions_ended": r.sessions_ended,
                        "keys": r.keys.len(),
                        "to": r.heir.as_ref().map(Username::as_str),
                    })
                }
                Err(e) => failed(e),
            }
        }
        _ => failed("the user commands are list, add NAME ROLE HASH, role NAME ROLE, remove NAME [revoke | transfer HEIR]"),
    }
}

/// Why a command could not be answered.
#[derive(Debug)]
pub enum AskError {
    /// No server listens on the socket (none there, or a stale one).
    NotRunning,
    /// A server was reached but the exchange failed.
    Failed(String),
}

/// Send one command to the server of `data_dir` and read its JSON answer.
pub fn ask(data_dir: &Path, command: &str) -> Result<Value, AskError> {
    let path = socket_path(data_dir);
    let mut conn = match UnixStream::connect(&path) {
        Ok(c) => c,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Err(AskError::NotRunning)
        }
        Err(e) => {
            return Err(AskError::Failed(format!(
                "cannot connect to {}: {e} (run this as the server's user)",
                path.display()
            )))
        }
    };
    let failed = |e: io::Error| AskError::Failed(format!("{}: {e}", path.display()));
    conn.set_read_timeout(Some(ANSWER_TIMEOUT))
        .map_err(failed)?;
    conn.set_write_timeout(Some(READ_TIMEOUT)).map_err(failed)?;
    writeln!(conn, "{command}").map_err(failed)?;
    let mut line = String::new();
    BufReader::new(&conn)
        .take(1 << 20)
        .read_line(&mut line)
        .map_err(failed)?;
    serde_json::from_str(line.trim()).map_err(|_| {
        AskError::Failed(format!(
            "{} answered something that is not linkdock's: {:?}",
            path.display(),
            line.chars().take(80).collect::<String>()
        ))
    })
}
