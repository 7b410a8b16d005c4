//! Backups and restore. A backup is a new redb file holding a copy of every table, all read in
//! ONE read transaction, so it is the database exactly as some commit left it: nothing half
//! written, and writers never wait for it. It is written under a temporary name, synced, and
//! then linked into place under its final name, which is never reused.
//!
//! The server backs up its own open database (`Store::backup`); with the server stopped the CLI
//! backs up the file directly (`backup_stopped`). `restore` checks a snapshot as the server
//! would open it, then swaps it in, keeping the previous file beside it.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
#[cfg(test)]
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redb::Database;

use super::kv::{
    static_name, Engine, OrderedKey, ReadTransaction, ReadableTable, TableDefinition, Value,
    WriteTransaction,
};

use super::tables::{
    self, EachTable, API_KEYS, AUDIT, CLICKS, DOMAINS, HISTORY, INVITES, KEY_REQUESTS, KEY_USAGE,
    KEY_USAGE_DAYS, KEY_USAGE_HOURS, LINKS, LINK_DAYS, META, SCHEMA_VERSION, USERS,
};
use super::{Store, StoreError};
use crate::domain::{now, Timestamp};

/// A backup that was written.
#[derive(Debug, Clone)]
pub struct BackupInfo {
    /// The file name, `linkdock-20261126T101500Z.redb` (`-2`, `-3`… when the second is taken).
    pub name: String,
    pub path: PathBuf,
    pub bytes: u64,
    /// When its read transaction began: it holds every write committed before.
    pub created_at: Timestamp,
    pub took: Duration,
}

/// What a snapshot holds, as checked before a restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub schema: u64,
    pub users: u64,
    pub domains: u64,
    pub links: u64,
    pub keys: u64,
}

/// A finished restore.
#[derive(Debug, Clone)]
pub struct Restored {
    pub info: SnapshotInfo,
    /// The database file now in place.
    pub path: PathBuf,
    /// Where the database it replaced was kept, if there was one.
    pub previous: Option<PathBuf>,
    /// Why the replaced database could not be opened, when it could not (it is kept anyway).
    pub previous_unreadable: Option<String>,
    /// Id counters the snapshot held below the largest id in use, raised so none is reused.
    pub raised: Vec<RaisedCounter>,
}

/// An id counter (`meta`'s `seq:<sequence>`) that a restore raised to the largest id in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaisedCounter {
    pub sequence: &'static str,
    pub from: u64,
    pub to: u64,
}

/// The name the replaced database keeps after a restore, in the data dir.
pub const BEFORE_RESTORE: &str = "linkdock.redb.before-restore";

impl Store {
    /// Write a snapshot of the whole database into `dir` (created if needed).
    pub fn backup(&self, dir: &Path) -> Result<BackupInfo, StoreError> {
        // One at a time: a second request waits rather than doubling the disk traffic.
        let _one = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let started = Instant::now();
        let tx = self.db.begin_read()?;
        write_snapshot(&tx, dir, started)
    }
}

/// Back up the database of a data dir whose server is stopped. It is opened, never created
/// or migrated: a file of another schema is refused rather than copied in part.
pub fn backup_stopped(data_dir: &Path, dir: &Path) -> Result<BackupInfo, StoreError> {
    let started = Instant::now();
    let db = open_stopped(data_dir)?;
    let tx = db.begin_read()?;
    write_snapshot(&tx, dir, started)
}

/// The database of a data dir whose server is stopped, opened (never created or migrated)
/// and checked to hold this build's schema: a file of another schema is refused rather than
/// copied in part.
pub(super) fn open_stopped(data_dir: &Path) -> Result<Engine, StoreError> {
    let path = Store::file_in(data_dir);
    if !path.is_file() {
        return Err(StoreError::NoDatabase(path));
    }
    let db = Engine::Redb(Database::open(&path).map_err(|e| match e {
        redb::DatabaseError::DatabaseAlreadyOpen => StoreError::InUse(path.clone()),
        other => other.into(),
    })?);
    let tx = db.begin_read()?;
    match schema_of(&tx)? {
        Some(v) if v == SCHEMA_VERSION => {}
        Some(v) if v > SCHEMA_VERSION => {
            return Err(StoreError::TooNew {
                found: v,
                supported: SCHEMA_VERSION,
            })
        }
        Some(v) => {
            return Err(StoreError::OlderSchema {
                found: v,
                supported: SCHEMA_VERSION,
            })
        }
        None => {
            return Err(StoreError::NotLinkdock {
                path,
                reason: "it has no linkdock schema version".into(),
            })
        }
    }
    drop(tx);
    Ok(db)
}

/// Replace the database of `data_dir` by the snapshot `file`. The server must be stopped: a
/// database in use is refused. The snapshot is copied into the data dir and checked there —
/// a redb file whose pages all verify, a linkdock schema this build reads (older ones are
/// migrated here, as the server would on start), every record decodable — before it is
/// renamed into place; the previous file is kept as `linkdock.redb.before-restore`.
pub fn restore(data_dir: &Path, file: &Path) -> Result<Restored, StoreError> {
    super::private_dir(data_dir)?;
    let live = Store::file_in(data_dir);
    // Hold the current database, so no server starts on it while it is replaced.
    let (held, previous_unreadable) = if live.exists() {
        match Database::open(&live) {
            Ok(db) => (Some(db), None),
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => return Err(StoreError::InUse(live)),
            // A damaged database is what a restore is for: it is kept and replaced.
            Err(e) => (None, Some(e.to_string())),
        }
    } else {
        (None, None)
    };
    let staging = data_dir.join(".restore");
    let _ = fs::remove_dir_all(&staging);
    super::private_dir(&staging)?;
    let staged = Store::file_in(&staging);
    let result = (|| {
        copy_file(file, &staged)?;
        let info = check_snapshot(&staged, file)?;
        // Open it exactly as the server will: migrations, then every domain, link and key
        // decoded into the read models. Then no counter may hand out an id in use.
        let raised = Store::open(&staging)?.settle_counters(file)?;
        sync_file(&staged)?;
        let previous = if live.exists() {
            let before = data_dir.join(BEFORE_RESTORE);
            keep_previous(&live, &before)?;
            Some(before)
        } else {
            None
        };
        fs::rename(&staged, &live).map_err(|e| file_error("move into place", &live, e))?;
        sync_dir(data_dir);
        Ok(Restored {
            info,
            path: live.clone(),
            previous,
            previous_unreadable,
            raised,
        })
    })();
    let _ = fs::remove_dir_all(&staging);
    drop(held);
    result
}

impl Store {
    /// Check every id counter against the ids its tables hold (the rows, and the clicks,
    /// usage and logs kept under those ids): one below the largest is raised to it, so the
    /// next new link never takes the id (and the clicks) of link 1; a counter with no id left
    /// to give is refused. `snapshot` names the file in the refusal.
    fn settle_counters(&self, snapshot: &Path) -> Result<Vec<RaisedCounter>, StoreError> {
        self.write(
            |tx| {
                let keys_top = last_key(tx, API_KEYS)?
                    .max(last_key(tx, KEY_USAGE)?)
                    .max(tuple_max(tx, KEY_REQUESTS, |k, _| k)?)
                    .max(tuple_max(tx, KEY_USAGE_HOURS, |_, k| k)?)
                    .max(tuple_max(tx, KEY_USAGE_DAYS, |_, k| k)?);
                let in_use = [
                    (
                        "links",
                        last_key(tx, LINKS)?
                            .max(last_key(tx, CLICKS)?)
                            .max(tuple_max(tx, LINK_DAYS, |_, link| link)?),
                    ),
                    ("domains", last_key(tx, DOMAINS)?),
                    ("api_keys", keys_top),
                    ("audit", last_key(tx, AUDIT)?),
                    ("invites", last_key(tx, INVITES)?),
                    ("history", tuple_max(tx, HISTORY, |_, id| id)?),
                    ("key_requests", tuple_max(tx, KEY_REQUESTS, |_, seq| seq)?),
                    ("users", super::users::last_user_id(tx)?),
                ];
                let mut meta = tx.open_table(META)?;
                let mut raised = Vec::new();
                for (sequence, top) in in_use {
                    let name = format!("seq:{sequence}");
                    let counter = meta.get(name.as_str())?.map_or(0, |g| g.value());
                    let at = counter.max(top);
                    if at == u64::MAX {
                        return Err(StoreError::Conflict(format!(
                            "{} cannot be restored: its {sequence} ids reach the largest possible id, so no new one could be given",
                            snapshot.display()
                        )));
                    }
                    if counter < top {
                        meta.insert(name.as_str(), top)?;
                        raised.push(RaisedCounter {
                            sequence,
                            from: counter,
                            to: top,
                        });
                    }
                }
                Ok(raised)
            },
            |_| {},
        )
    }
}

/// The largest key of a table keyed by id; 0 when it is empty.
fn last_key<V: Value + 'static>(
    tx: &WriteTransaction,
    def: TableDefinition<'static, u64, V>,
) -> Result<u64, StoreError> {
    Ok(tx.open_table(def)?.last()?.map_or(0, |(k, _)| k.value()))
}

/// The largest id found in one part of a table's two-part keys; 0 when it is empty.
fn tuple_max<A: OrderedKey, V: Value + 'static>(
    tx: &WriteTransaction,
    def: TableDefinition<'static, (A, u64), V>,
    part: impl Fn(A::SelfType<'_>, u64) -> u64,
) -> Result<u64, StoreError> {
    let mut top = 0;
    for row in tx.open_table(def)?.iter()? {
        let (k, _) = row?;
        let (a, b) = k.value();
        top = top.max(part(a, b));
    }
    Ok(top)
}

/// The `meta` schema version, or `None` when the file has no linkdock `meta` table.
fn schema_of(tx: &ReadTransaction) -> Result<Option<u64>, StoreError> {
    let meta = match tx.open_table(META) {
        Ok(t) => t,
        Err(StoreError::Db(
            redb::Error::TableDoesNotExist(_) | redb::Error::TableTypeMismatch { .. },
        )) => return Ok(None),
        Err(e) => return Err(e),
    };
    let v = meta.get("schema_version")?.map(|g| g.value());
    Ok(v)
}

/// Open a copied snapshot with every page checked, and read what it holds.
fn check_snapshot(copy: &Path, original: &Path) -> Result<SnapshotInfo, StoreError> {
    let not_ours = |reason: String| StoreError::NotLinkdock {
        path: original.to_owned(),
        reason,
    };
    // A plain open trusts the file and may panic on damage; the integrity check reports it.
    let opened = std::panic::catch_unwind(|| {
        Database::builder()
            .set_check_integrity_on_open(true)
            .open(copy)
    })
    .map_err(|_| not_ours("it is damaged".into()))?;
    let db = Engine::Redb(opened.map_err(|e| not_ours(format!("not a redb database file ({e})")))?);
    let tx = db.begin_read()?;
    let schema = match schema_of(&tx)? {
        None => return Err(not_ours("it has no linkdock schema version".into())),
        Some(0) => return Err(not_ours("schema version 0".into())),
        Some(v) if v > SCHEMA_VERSION => {
            return Err(StoreError::TooNew {
                found: v,
                supported: SCHEMA_VERSION,
            })
        }
        Some(v) => v,
    };
    let count = |name: &str, n: Result<u64, StoreError>| {
        n.map_err(|e| not_ours(format!("table {name}: {e}")))
    };
    Ok(SnapshotInfo {
        schema,
        users: count("users", rows(&tx, USERS))?,
        domains: count("domains", rows(&tx, DOMAINS))?,
        links: count("links", rows(&tx, LINKS))?,
        keys: count("api keys", rows(&tx, API_KEYS))?,
    })
}

/// How many rows a table holds; a table the file does not have yet holds none.
fn rows<K: OrderedKey, V: Value + 'static>(
    tx: &ReadTransaction,
    def: TableDefinition<'static, K, V>,
) -> Result<u64, StoreError> {
    match tx.open_table(def) {
        Ok(t) => Ok(t.len()?),
        Err(StoreError::Db(redb::Error::TableDoesNotExist(_))) => Ok(0),
        Err(e) => Err(e),
    }
}

/// Copy every table read by `tx` into a new file in `dir`, then give it its final name.
fn write_snapshot(
    tx: &ReadTransaction,
    dir: &Path,
    started: Instant,
) -> Result<BackupInfo, StoreError> {
    let created_at = now();
    // Backups hold password hashes and session digests: only the server's user reads them.
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| file_error("create the backup directory", dir, e))?;
    let tmp = dir.join(format!(
        ".linkdock-backup-{}-{}.tmp",
        std::process::id(),
        NEXT_TMP.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        // An empty file made 0600 first: redb initialises an empty file and keeps its mode.
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| file_error("create", &tmp, e))?;
        let out = Engine::Redb(Database::create(&tmp)?);
        let wtx = out.begin_write()?;
        tables::each_table(&mut Copy {
            from: tx,
            to: &wtx,
            copied: Vec::new(),
        })?;
        wtx.commit()?; // durable: redb syncs the file on commit
        out.close()?;
        sync_file(&tmp)?;
        let (name, path) = place(&tmp, dir, created_at)?;
        sync_dir(dir);
        let bytes = fs::metadata(&path)
            .map_err(|e| file_error("read", &path, e))?
            .len();
        Ok(BackupInfo {
            name,
            path,
            bytes,
            created_at,
            took: started.elapsed(),
        })
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

static NEXT_TMP: AtomicU64 = AtomicU64::new(0);
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Copies each table from a read transaction into a write transaction (a backup, a
/// migration), counting the rows of each.
pub(super) struct Copy<'a> {
    pub from: &'a ReadTransaction<'a>,
    pub to: &'a WriteTransaction<'a>,
    pub copied: Vec<(&'static str, u64)>,
}

impl EachTable for Copy<'_> {
    fn table<K: OrderedKey, V: Value + 'static>(
        &mut self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<(), StoreError> {
        let from = self.from.open_table(def)?;
        let n = self.to.open_table(def)?.copy_from(&from)?;
        self.copied.push((static_name(&def)?, n));
        Ok(())
    }
}

/// Give the finished temporary file its name without ever replacing a file: a hard link
/// fails when the name exists, so two backups in one second get `-2`, `-3`, ...
fn place(tmp: &Path, dir: &Path, at: Timestamp) -> Result<(String, PathBuf), StoreError> {
    let stamp: String = at
        .rfc3339()
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    for n in 1..=1000 {
        let name = if n == 1 {
            format!("linkdock-{stamp}.redb")
        } else {
            format!("linkdock-{stamp}-{n}.redb")
        };
        let path = dir.join(&name);
        match fs::hard_link(tmp, &path) {
            Ok(()) => {
                let _ = fs::remove_file(tmp);
                return Ok((name, path));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            // A file system without hard links: check, then rename.
            Err(_) if path.exists() => {}
            Err(_) => {
                fs::rename(tmp, &path).map_err(|e| file_error("name", &path, e))?;
                return Ok((name, path));
            }
        }
    }
    Err(file_error(
        "name",
        dir,
        io::Error::other("a thousand backups in one second"),
    ))
}

/// Keep `live` as `before` (replacing an older one), leaving `live` in place until the
/// restored file is renamed over it.
fn keep_previous(live: &Path, before: &Path) -> Result<(), StoreError> {
    match fs::remove_file(before) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(file_error("replace", before, e)),
    }
    if fs::hard_link(live, before).is_err() {
        fs::copy(live, before).map_err(|e| file_error("keep", before, e))?;
        super::private_file(before)?;
    }
    sync_file(before)
}

fn copy_file(from: &Path, to: &Path) -> Result<(), StoreError> {
    if !from.is_file() {
        return Err(StoreError::NoDatabase(from.to_owned()));
    }
    fs::copy(from, to).map_err(|e| file_error("copy", from, e))?;
    Ok(())
}

fn sync_file(path: &Path) -> Result<(), StoreError> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| file_error("sync", path, e))
}

/// Make a rename durable. Best effort: not every platform can open a directory.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

fn file_error(action: &'static str, path: &Path, source: io::Error) -> StoreError {
    StoreError::File {
        action,
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::super::kv::TableHandle;
    use super::*;
    use crate::domain::{
        DestinationUrl, Hostname, KeyName, KeyPrefix, PasswordHash, RedirectCode, Slug, Tags,
        Username,
    };
    use crate::store::records::{
        HistoryRecord, KeyRequestRecord, SessionRecord, Source, UserRecord,
    };
    use crate::store::{EventBatch, KeySpec, NewLink};

    /// A store with a row in every table.
    fn filled(dir: &Path) -> Arc<Store> {
        let store = Store::open(dir).unwrap();
        // Before any user exists: a setup link stays open (users come from the test's inserts).
        store.issue_setup("setup-token").unwrap();
        let rng = ring::rand::SystemRandom::new();
        let d = store
            .create_domain(
                &Hostname::parse("go.example.com").unwrap(),
                &crate::audit::By::command_line(),
            )
            .unwrap();
        let link = store
            .create_link(NewLink {
                domain_id: d.id,
                slug: Some(Slug::parse("docs").unwrap()),
                destination_url: DestinationUrl::parse("https://example.com/").unwrap(),
                title: None,
                tags: Tags::parse::<&str>(&[]).unwrap(),
                redirect_code: RedirectCode::parse(302).unwrap(),
                expires_at: None,
            })
            .unwrap();
        let (plain, digest) = crate::keys::issue(&rng, &KeyPrefix::default()).unwrap();
        let key = store
            .create_key(
                KeySpec::named(KeyName::parse("ci").unwrap()),
                plain.display_prefix(),
                digest,
                Source::Api,
                &crate::audit::By::command_line(),
            )
            .unwrap();
        let pw = crate::domain::Password::parse("a-long-password".into()).unwrap();
        let username = Username::parse("ops").unwrap();
        store
            .create_user(
                &UserRecord::new(
                    username.clone(),
                    PasswordHash::new(&pw, &rng).unwrap(),
                    Source::Api,
                    crate::domain::Role::Admin,
                ),
                &crate::audit::By::command_line(),
            )
            .unwrap();
        store
            .create_session(
                &[7; 32],
                &SessionRecord {
                    username,
                    created_at: now(),
                    expires_at: now().plus_secs(60),
                    client_ip: None,
                    device: String::new(),
                    last_seen_at: None,
                },
            )
            .unwrap();
        store
            .add_history(
                "ops",
                HistoryRecord {
                    id: 0,
                    method: "GET".into(),
                    path: "/api/v1/links".into(),
                    query: String::new(),
                    body: String::new(),
                    status: 200,
                    duration_ms: 3,
                    key_prefix: plain.display_prefix(),
                    created_at: now(),
                },
                10,
            )
            .unwrap();
        let mut batch = EventBatch {
            clicks: HashMap::from([(link.id, 3)]),
            days: HashMap::from([(
                (crate::store::analytics::Day::of(now()), link.id),
                crate::store::analytics::DayTally {
                    clicks: 3,
                    ..Default::default()
                },
            )]),
            ..EventBatch::default()
        };
        batch.usage.insert(key.id, (1, now(), "10.0.0.1".into()));
        batch.hourly.insert(
            (key.id, crate::store::usage::Bucket::Hour.index(now())),
            crate::store::usage::Counts { ok: 1, refused: 0 },
        );
        batch.requests.push((
            key.id,
            KeyRequestRecord {
                at: now(),
                method: "GET".into(),
                path: "/api/v1/links".into(),
                status: 200,
                ip: "10.0.0.1".into(),
            },
        ));
        batch.audits.push(crate::audit::Entry::new(
            &crate::audit::By::command_line(),
            crate::audit::Action::BackupCreated,
        ));
        store.apply_events(&batch).unwrap();
        store
            .create_invite(crate::store::NewInvite {
                digest: [9; 32],
                role: crate::domain::Role::Member,
                created_by: Username::parse("ops").unwrap(),
                created_at: now(),
                expires_at: now().plus_secs(60),
            })
            .unwrap();
        store
    }

    /// Every table of `a`, byte for byte, is in `b`, and `b` has no other table.
    struct SameAs<'a> {
        a: &'a ReadTransaction<'a>,
        b: &'a ReadTransaction<'a>,
        rows: u64,
    }

    impl EachTable for SameAs<'_> {
        fn table<K: OrderedKey, V: Value + 'static>(
            &mut self,
            def: TableDefinition<'static, K, V>,
        ) -> Result<(), StoreError> {
            let a = self.a.open_table(def)?;
            let b = self.b.open_table(def)?;
            assert!(a.len()? > 0, "fill {} in the test", def.name());
            assert_eq!(a.len()?, b.len()?, "{}", def.name());
            for (x, y) in a.iter()?.zip(b.iter()?) {
                let ((xk, xv), (yk, yv)) = (x?, y?);
                assert_eq!(
                    K::as_bytes(&xk.value()).as_ref(),
                    K::as_bytes(&yk.value()).as_ref()
                );
                assert_eq!(
                    V::as_bytes(&xv.value()).as_ref(),
                    V::as_bytes(&yv.value()).as_ref()
                );
                self.rows += 1;
            }
            Ok(())
        }
    }

    fn table_names(tx: &ReadTransaction) -> Vec<String> {
        let mut names = tx.table_names().unwrap();
        names.sort();
        names
    }

    #[test]
    fn a_backup_holds_every_table_byte_for_byte_under_a_new_name_each_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = filled(&dir.path().join("data"));
        let backups = dir.path().join("backups");
        let first = store.backup(&backups).unwrap();
        let second = store.backup(&backups).unwrap();
        assert!(first.name.starts_with("linkdock-") && first.name.ends_with("Z.redb"));
        assert_eq!(first.name.len(), "linkdock-20261126T101500Z.redb".len());
        assert_ne!(first.name, second.name);
        assert_eq!(first.bytes, fs::metadata(&first.path).unwrap().len());
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&first.path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only the server's user reads a backup");
        let mut files: Vec<String> = fs::read_dir(&backups)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let mut want = vec![first.name.clone(), second.name.clone()];
        want.sort();
        assert_eq!(files, want, "no temporary file is left behind");

        let copy = Engine::Redb(Database::open(&first.path).unwrap());
        let (a, b) = (store.db.begin_read().unwrap(), copy.begin_read().unwrap());
        assert_eq!(table_names(&a), table_names(&b));
        let mut same = SameAs {
            a: &a,
            b: &b,
            rows: 0,
        };
        tables::each_table(&mut same).unwrap();
        assert!(same.rows >= 14, "{}", same.rows);
    }

    #[test]
    fn a_restore_raises_every_counter_below_the_ids_its_tables_hold() {
        let dir = tempfile::tempdir().unwrap();
        let info = filled(&dir.path().join("data"))
            .backup(&dir.path().join("b"))
            .unwrap();
        let sequences = [
            "links",
            "domains",
            "api_keys",
            "audit",
            "invites",
            "history",
            "key_requests",
            "users",
        ];
        {
            let db = Database::open(&info.path).unwrap();
            let tx = db.begin_write().unwrap();
            let mut meta = tx.open_table(META).unwrap();
            for s in sequences {
                meta.remove(format!("seq:{s}").as_str()).unwrap();
            }
            drop(meta);
            tx.commit().unwrap();
        }
        let restored = dir.path().join("restored");
        let r = restore(&restored, &info.path).unwrap();
        let mut raised: Vec<_> = r.raised.iter().map(|c| (c.sequence, c.from)).collect();
        raised.sort_unstable();
        let mut want: Vec<_> = sequences.iter().map(|s| (*s, 0)).collect();
        want.sort_unstable();
        assert_eq!(raised, want);
        let store = Store::open(&restored).unwrap();
        let tx = store.db.begin_write().unwrap();
        for c in &r.raised {
            assert!(c.to >= 1, "{c:?}");
            assert_eq!(super::super::next_id(&tx, c.sequence).unwrap(), c.to + 1);
        }
    }

    #[test]
    fn a_stopped_database_is_backed_up_directly_and_a_running_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let backups = dir.path().join("backups");
        assert!(matches!(
            backup_stopped(&data, &backups),
            Err(StoreError::NoDatabase(_))
        ));
        let store = filled(&data);
        assert!(matches!(
            backup_stopped(&data, &backups),
            Err(StoreError::InUse(_))
        ));
        drop(store);
        let info = backup_stopped(&data, &backups).unwrap();
        let restored = dir.path().join("restored");
        let r = restore(&restored, &info.path).unwrap();
        assert_eq!(
            r.info,
            SnapshotInfo {
                schema: SCHEMA_VERSION,
                users: 1,
                domains: 1,
                links: 1,
                keys: 1
            }
        );
        assert!(r.previous.is_none());
        let store = Store::open(&restored).unwrap();
        assert_eq!(
            store.catalog.domain_by_host("go.example.com").unwrap().id,
            1
        );
        assert_eq!(store.user_count().unwrap(), 1);
    }

    #[test]
    fn restore_keeps_the_previous_file_and_refuses_what_is_not_a_linkdock_database() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let info = filled(&data).backup(&dir.path().join("b")).unwrap();
        // The live database now differs from the backup.
        let other = dir.path().join("other");
        drop(Store::open(&other).unwrap());

        let refused = |file: &Path| restore(&other, file).unwrap_err().to_string();
        let garbage = dir.path().join("garbage.redb");
        fs::write(
            &garbage,
            b"this is not a database at all, just some text".repeat(100),
        )
        .unwrap();
        let e = refused(&garbage);
        assert!(e.contains("is not a linkdock database"), "{e}");
        let empty = dir.path().join("empty.redb");
        fs::write(&empty, b"").unwrap();
        let e = refused(&empty);
        assert!(e.contains("is not a linkdock database"), "{e}");
        let foreign = dir.path().join("foreign.redb");
        {
            let db = Database::create(&foreign).unwrap();
            let tx = db.begin_write().unwrap();
            tx.open_table(TableDefinition::<&str, &str>::new("notes"))
                .unwrap()
                .insert("a", "b")
                .unwrap();
            tx.commit().unwrap();
        }
        let e = refused(&foreign);
        assert!(e.contains("no linkdock schema version"), "{e}");
        let e = refused(&dir.path().join("missing.redb"));
        assert!(e.contains("no database at"), "{e}");
        // A truncated backup.
        let truncated = dir.path().join("truncated.redb");
        let bytes = fs::read(&info.path).unwrap();
        fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
        let e = refused(&truncated);
        assert!(e.contains("is not a linkdock database"), "{e}");
        // A newer schema.
        let newer = dir.path().join("newer.redb");
        fs::copy(&info.path, &newer).unwrap();
        {
            let db = Database::open(&newer).unwrap();
            let tx = db.begin_write().unwrap();
            tx.open_table(META)
                .unwrap()
                .insert("schema_version", SCHEMA_VERSION + 1)
                .unwrap();
            tx.commit().unwrap();
        }
        let e = refused(&newer);
        assert!(e.contains("newer linkdock"), "{e}");
        let has_domain = |dir: &Path| {
            let store = Store::open(dir).unwrap();
            store.catalog.domain_by_host("go.example.com").is_some()
        };
        assert!(
            !has_domain(&other),
            "refused restores leave the database alone"
        );
        assert!(!other.join(BEFORE_RESTORE).exists());
        assert!(!other.join(".restore").exists());

        // In use: refused.
        let running = Store::open(&other).unwrap();
        assert!(matches!(
            restore(&other, &info.path),
            Err(StoreError::InUse(_))
        ));
        drop(running);

        let r = restore(&other, &info.path).unwrap();
        assert_eq!(
            r.previous.as_deref(),
            Some(other.join(BEFORE_RESTORE).as_path())
        );
        assert!(has_domain(&other));
        let kept = dir.path().join("kept");
        fs::create_dir_all(&kept).unwrap();
        fs::rename(other.join(BEFORE_RESTORE), Store::file_in(&kept)).unwrap();
        assert!(!has_domain(&kept), "the previous database is the one kept");

        // A damaged database is what a restore is for: kept, replaced, and said so.
        fs::write(Store::file_in(&other), b"damaged".repeat(500)).unwrap();
        let r = restore(&other, &info.path).unwrap();
        assert!(r.previous_unreadable.is_some());
        assert_eq!(
            fs::read(other.join(BEFORE_RESTORE)).unwrap(),
            b"damaged".repeat(500)
        );
        assert!(has_domain(&other));
    }
}
