//! Storage: one redb file, the in-memory read models kept in step with it, and the batched
//! writer for per-request events. Only this module names redb types.
//!
//! Every mutation is one write transaction, durable before it returns. The read models
//! (`catalog`, `keys`) are updated after the commit while the store's write lock is still
//! held, so they always reflect the committed order of writes.

pub mod analytics;
pub mod audit;
mod backup;
pub mod catalog;
mod declared;
mod domains;
mod events;
mod feed;
pub mod generation;
pub mod geoip;
mod history;
mod invites;
pub mod key_index;
mod keys;
mod kv;
mod link_table;
mod links;
mod migrate;
pub mod records;
mod seen_keys;
mod setup;
mod shared_limits;
mod tables;
pub mod usage;
mod users;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use self::kv::{Engine, PgDatabase, ReadTransaction, ReadableTable, WriteTransaction};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use self::backup::{
    backup_stopped, restore, BackupInfo, RaisedCounter, Restored, SnapshotInfo, BEFORE_RESTORE,
};
pub use self::catalog::{Catalog, LinkEntry, LinkFilter};
pub use self::declared::{ApplyReport, DeclaredKey, DeclaredState, DeclaredUser};
pub use self::events::{EventBatch, KEY_REQUEST_LOG_LIMIT};
pub use self::feed::{Follower, SILENCE_LIMIT};
pub use self::invites::{Acceptance, NewInvite};
pub use self::key_index::{DomainScope, KeyEntry, KeyIndex};
pub use self::keys::{domain_ids, future_expiry, IssuedKey, KeyDraft, KeyPatch, KeySpec, Rolled};
pub(crate) use self::kv::on_blocking_thread;
pub use self::link_table::LinkRef;
pub use self::links::{LinkPatch, NewLink};
pub use self::migrate::{migrate_to_postgres, MigrateReport};
pub use self::setup::SetupLink;
pub use self::shared_limits::{source_id, LimitSync};
use self::tables::{META, SCHEMA_VERSION};
pub use self::users::{KeysOfRemoved, RemovedUser, UserPatch};
use crate::domain::DomainError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] redb::Error),
    #[error("the database {0} is in use by another linkdock process; stop the server first")]
    InUse(PathBuf),
    #[error("the database was written by a newer linkdock (schema {found}; this build reads up to {supported}); upgrade linkdock")]
    TooNew { found: u64, supported: u64 },
    #[error("the database file {0} exists but is empty (0 bytes), so it was not opened: restore it from a backup (linkdock restore FILE), or delete it to start with an empty database")]
    EmptyFile(PathBuf),
    #[error("a stored record could not be decoded: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Invalid(DomainError),
    #[error("cannot prepare the data directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot {action} {path}: {source}")]
    File {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("there is no database at {0}")]
    NoDatabase(PathBuf),
    #[error("{path} is not a linkdock database: {reason}")]
    NotLinkdock { path: PathBuf, reason: String },
    #[error("the database has schema {found}, older than this build's {supported}: back it up with the linkdock that wrote it, or start this one once to migrate it")]
    OlderSchema { found: u64, supported: u64 },
    /// Never the database URL's password (store/kv/pg.rs redacts it).
    #[error("PostgreSQL: {0}")]
    Postgres(String),
    /// The PostgreSQL server could not be reached, or dropped the connection: may pass.
    #[error("PostgreSQL: {0}")]
    PgUnreachable(String),
}

impl StoreError {
    /// A failure that may pass by itself (the database server unreachable, a connection
    /// lost): worth trying again later, unlike a record that cannot be decoded.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::PgUnreachable(_))
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self { Self::Db(e.into()) }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

pub(crate) fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    // Records are plain data: serialising them to JSON cannot fail.
    serde_json::to_vec(v).unwrap_or_default()
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Create `dir` (and missing parents) readable by the server's user only, whatever the umask.
/// A folder that already exists keeps the mode its operator gave it.
pub(crate) fn private_dir(dir: &Path) -> Result<(), StoreError> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir).map_err(|source| StoreError::Io {
        path: dir.to_owned(),
        source,
    })
}

/// The database holds password hashes and session digests: the file is made 0600 before redb
/// first writes it (redb keeps the mode of an empty file), and an existing file that others
/// could read (an older linkdock, a copy, a restore from a 0644 file) is tightened on open.
/// Returns whether it created the (empty) file.
pub(crate) fn private_file(path: &Path) -> Result<bool, StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let err = |source| StoreError::File {
            action: "make private",
            path: path.to_owned(),
            source,
        };
        match std::fs::metadata(path) {
            Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                    .map_err(err)?;
                tracing::info!(file = %path.display(), "database file made readable by its owner only (0600)");
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                match std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                {
                    Ok(_) => return Ok(true),
                    // Another process created it first: redb's open decides what happens.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(err(e)),
                }
            }
            Err(e) => return Err(err(e)),
        }
    }
    Ok(false)
}

/// Decode one row, naming it (table and key) in the error: one bad record is an error about
/// that record, not about the database.
pub(crate) fn decode_row<T: DeserializeOwned>(
    table: &str,
    key: impl std::fmt::Display,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Corrupt(format!("{table} record {key}: {e}")))
}

/// A row for a scan that must go on past a bad record (loading the key index, a config
/// apply): `None`, logged with where it is, when it does not decode. A key left out is refused
/// like an unknown one, so skipping fails closed.
pub(crate) fn decode_or_skip<T: DeserializeOwned>(
    table: &str,
    key: impl std::fmt::Display,
    bytes: &[u8],
) -> Option<T> {
    decode_row(table, key, bytes)
        .map_err(|e| tracing::error!(error = %e, "left out a stored record that cannot be read"))
        .ok()
}

/// Hand the heap freed by a bulk load (decoded records, a parsed config file) back to the
/// system. glibc's malloc keeps freed memory below the heap's top and in its arenas as the
/// process's own; with 100,000 keys that was most of the RSS after a start. musl's mallocng
/// (the static release build) returns freed groups to the system itself: nothing to do there.
pub(crate) fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc::trim();
}

/// Keep glibc's thresholds where they start (128 KiB), before anything large is allocated.
/// Left alone, glibc raises its trim threshold to twice the largest mapped block freed so far:
/// once a 15 MB config file (100,000 declared keys) was read and freed, up to 30 MB freed at
/// the top of a heap stayed in RSS, and at the top of a thread's arena `malloc_trim` does not
/// reach it (12.5 MB of such an arena stayed resident, 130 bytes a key).
pub fn keep_malloc_thresholds() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc::fixed_thresholds();
}

/// The two calls into glibc's malloc: the one place unsafe code is allowed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
mod glibc {
    /// glibc's default mmap and trim thresholds.
    const THRESHOLD: libc::c_int = 128 * 1024;

    pub fn trim() {
        // SAFETY: malloc_trim takes no pointer and only walks glibc's own arenas under their
        // locks; any thread may call it at any time.
        unsafe {
            libc::malloc_trim(0);
        }
    }

    pub fn fixed_thresholds() {
        // SAFETY: mallopt takes no pointer and sets two of malloc's parameters under its
        // lock; setting either turns glibc's dynamic thresholds off.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD);
            libc::mallopt(libc::M_TRIM_THRESHOLD, THRESHOLD);
        }
    }
}

/// redb's page cache. Its default (1 GiB) would keep every page that loading the catalog
/// touched; reads are served from the catalog, so the cache only needs the B-tree's inner
/// pages and a write's dirty pages. Loading the key index fills it whole, a fixed cost
/// counted against the keys: 16 MiB held 160 of the ~500 bytes each of 100,000 keys cost;
/// at 4 MiB the 1M-link import, start and link creation measured the same.
const CACHE_BYTES: usize = 4 * 1024 * 1024;

type Migration = fn(&WriteTransaction) -> Result<(), StoreError>;
/// `MIGRATIONS[n]` moves a file from schema `n + 1` to `n + 2`. Version 1 is the first layout.
const MIGRATIONS: &[Migration] = &[
    links_to_v2,
    keys_gain_permissions,
    users::users_gain_ids,
    audit_gains_actors,
];

/// Schema 1 → 2: links re-encoded from JSON (`links_v1`) into postcard (`links_v2`); the slug
/// and per-domain index tables are dropped (the catalog indexes links in memory).
fn links_to_v2(tx: &WriteTransaction) -> Result<(), StoreError> {
    use self::records::LinkRecord;
    use self::tables::v1;
    {
        let old = tx.open_table(v1::LINKS)?;
        let mut new = tx.open_table(tables::LINKS)?;
        for row in old.iter()? {
            let (id, value) = row?;
            let rec: LinkRecord = decode(value.value())?;
            new.insert(id.value(), rec.encode_stored().as_slice())?;
        }
    }
    tx.delete_table(v1::LINKS)?;
    tx.delete_table(v1::LINK_BY_SLUG)?;
    tx.delete_table(v1::LINKS_BY_DOMAIN)?;
    Ok(())
}

/// Schema 2 → 3: nothing to rewrite. A key record without the fields of schema 3 decodes with
/// every permission, no rate limit and no rotation (`records::StoredKey`'s defaults), which is
/// what it allowed before.
fn keys_gain_permissions(_: &WriteTransaction) -> Result<(), StoreError> {
    Ok(())
}

/// Schema 3 → 4: nothing to rewrite. An entry without an actor reads as one by an unknown
/// actor, with no target and no address (`records::AuditRecord`'s defaults).
fn audit_gains_actors(_: &WriteTransaction) -> Result<(), StoreError> {
    Ok(())
}

pub struct Store {
    db: Engine,
    write_lock: Mutex<()>,
    path: PathBuf,
    pub catalog: Catalog,
    pub keys: KeyIndex,
    rng: ring::rand::SystemRandom,
    /// The change feed's cursor (PostgreSQL): the last change the read models reflect.
    cursor: std::sync::atomic::AtomicU64,
    heard: feed::Heard,
    /// A reload of the read models after a config apply failed: the next apply reloads them
    /// even if it changes nothing.
    reload_owed: std::sync::atomic::AtomicBool,
    /// Failed key checks shared with other nodes (PostgreSQL; unused on redb).
    pub failures: crate::limiter::SharedFailures,
}

impl Store {
    /// Open (or create) `<data_dir>/linkdock.redb`, migrate it, and load the read models.
    pub fn open(data_dir: &Path) -> Result<Arc<Self>, StoreError> {
        private_dir(data_dir)?;
        let path = Self::file_in(data_dir);
        // redb would quietly turn a zero-byte file into a new, empty database: a truncated
        // file must not look like a fresh install.
        if std::fs::metadata(&path).is_ok_and(|m| m.len() == 0) {
            return Err(StoreError::EmptyFile(path));
        }
        let created = private_file(&path)?;
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(&path)
            .map_err(|e| {
                // Never leave behind the empty file made above: it would be refused next time.
                if created {
                    let _ = std::fs::remove_file(&path);
                }
                match e {
                    redb::DatabaseError::DatabaseAlreadyOpen => StoreError::InUse(path.clone()),
                    other => other.into(),
                }
            })?;
        Self::open_engine(Engine::Redb(db), path)
    }

    /// Open a PostgreSQL database (`storage.backend = "postgres"`): its tables are created or
    /// checked, and the read models loaded; `follow` then keeps them in step with other nodes.
    pub fn open_postgres(url: &str) -> Result<Arc<Self>, StoreError> {
        let db = PgDatabase::connect(url, feed::WATCHED)?;
        let at = PathBuf::from(db.describe());
        Self::open_engine(Engine::Postgres(Box::new(db)), at)
    }

    fn open_engine(db: Engine, path: PathBuf) -> Result<Arc<Self>, StoreError> {
        let store = Self {
            db,
            write_lock: Mutex::new(()),
            path,
            catalog: Catalog::default(),
            keys: KeyIndex::default(),
            rng: ring::rand::SystemRandom::new(),
            cursor: std::sync::atomic::AtomicU64::new(0),
            heard: feed::Heard::default(),
            reload_owed: std::sync::atomic::AtomicBool::new(false),
            failures: crate::limiter::SharedFailures::default(),
        };
        store.migrate()?;
        store.start_cursor()?;
        store.load_read_models()?;
        release_freed_memory();
        Ok(Arc::new(store))
    }

    /// The database file of a data directory.
    pub fn file_in(data_dir: &Path) -> PathBuf {
        data_dir.join("linkdock.redb")
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let tx = self.db.begin_write()?;
        let found = {
            let meta = tx.open_table(META)?;
            let v = meta.get("schema_version")?.map(|g| g.value());
            v
        };
        tables::create_all(&tx)?;
        match found {
            None => {}
            Some(v) if v > SCHEMA_VERSION => {
                return Err(StoreError::TooNew {
                    found: v,
                    supported: SCHEMA_VERSION,
                })
            }
            Some(v) => {
                for (i, step) in MIGRATIONS.iter().enumerate().skip((v - 1) as usize) {
                    tracing::info!(from = i + 1, to = i + 2, "migrating database schema");
                    step(&tx)?;
                }
            }
        }
        tx.open_table(META)?
            .insert("schema_version", SCHEMA_VERSION)?;
        tx.commit()?;
        Ok(())
    }

    /// Fill the catalog and the key index from the tables, in one read transaction. Links are
    /// streamed into the compact table, never held as records all at once.
    fn load_read_models(&self) -> Result<(), StoreError> {
        let loader = self.read(|tx| {
            let count = usize::try_from(links::count_links(tx)?).unwrap_or(0);
            let mut loader = Catalog::loader(domains::all_domains(tx)?, count);
            links::load_links(tx, &mut loader)?;
            keys::load_keys(tx, &self.keys)?;
            Ok(loader)
        })?;
        self.catalog.finish(loader);
        Ok(())
    }

    /// Refresh the domains and the key index (the links stay as they are).
    fn reload_domains_and_keys(&self) -> Result<(), StoreError> {
        let domains = self.read(|tx| {
            keys::load_keys(tx, &self.keys)?;
            domains::all_domains(tx)
        })?;
        self.catalog.replace_domains(domains);
        Ok(())
    }

    /// A cheap liveness probe: can a read transaction be opened?
    pub fn ping(&self) -> Result<(), StoreError> {
        match &self.db {
            Engine::Postgres(db) => db.ping(),
            Engine::Redb(_) => self.read(|tx| {
                tx.open_table(META)?;
                Ok(())
            }),
        }
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&ReadTransaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        f(&self.db.begin_read()?)
    }

    /// One write transaction; `apply` updates the read models after the commit, still under
    /// the write lock so that they see writes in commit order.
    fn write<T>(
        &self,
        f: impl FnOnce(&WriteTransaction) -> Result<T, StoreError>,
        apply: impl FnOnce(&T),
    ) -> Result<T, StoreError> {
        let _guard = self
            .write_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let tx = self.db.begin_write()?;
        if let Engine::Postgres(db) = &self.db {
            // The transaction holds the cluster's write lock: catch up with every other
            // node's commits now, so that rules checked against the catalog see them. When
            // the counter it locked stands where the cursor does there are none: a node
            // writing alone reads no feed.
            if tx.begun_at() == Some(self.cursor.load(std::sync::atomic::Ordering::Acquire)) {
                self.heard.mark();
            } else {
                self.catch_up_locked(db)?;
            }
        }
        let out = f(&tx)?; // an early return drops tx, which aborts it
        let seq = tx.commit_numbered()?;
        apply(&out);
        if let Some(seq) = seq {
            self.applied_own_commit(seq);
        }
        Ok(out)
    }
}

/// One page, newest first, of the records a key range holds, and how many it holds.
fn page_newest_first<K: kv::OrderedKey, T: DeserializeOwned>(
    range: kv::Range<'_, K, &'static [u8]>,
    offset: usize,
    limit: usize,
) -> Result<(Vec<T>, usize), StoreError> {
    let mut total = 0;
    let mut page = Vec::new();
    for r in range.rev() {
        let (_, v) = r?;
        if total >= offset && page.len() < limit {
            page.push(decode(v.value())?);
        }
        total += 1;
    }
    Ok((page, total))
}

/// Drop the oldest entries of a key range (keys sort oldest first) beyond `keep`.
fn keep_newest<'a, K, KR>(
    table: &mut kv::Table<'_, K, &'static [u8]>,
    range: std::ops::RangeInclusive<KR>,
    keep: usize,
) -> Result<(), StoreError>
where
    K: kv::OrderedKey,
    KR: std::borrow::Borrow<K::SelfType<'a>> + Clone + 'a,
{
    let held = table.range(range.clone())?.count();
    let mut drop_n = held.saturating_sub(keep);
    if drop_n > 0 {
        table.retain_in(range, |_, _| {
            let keep_this = drop_n == 0;
            drop_n = drop_n.saturating_sub(1);
            keep_this
        })?;
    }
    Ok(())
}

/// Reserve `n` consecutive ids of a sequence; returns the first.
fn next_ids(tx: &WriteTransaction, seq: &str, n: u64) -> Result<u64, StoreError> {
    let mut meta = tx.open_table(META)?;
    let key = format!("seq:{seq}");
    let last = meta.get(key.as_str())?.map_or(0, |g| g.value());
    // Wrapping around would hand out ids in use.
    let end = last
        .checked_add(n)
        .ok_or_else(|| StoreError::Conflict(format!("no {seq} id is left to give")))?;
    meta.insert(key.as_str(), end)?;
    Ok(last + 1)
}

/// Next id of a sequence kept in `meta`.
fn next_id(tx: &WriteTransaction, seq: &str) -> Result<u64, StoreError> {
    next_ids(tx, seq, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_schema_is_refused_with_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            let tx = store.db.begin_write().unwrap();
            tx.open_table(META)
                .unwrap()
                .insert("schema_version", 99)
                .unwrap();
            tx.commit().unwrap();
        }
        let err = Store::open(dir.path()).err().expect("refused");
        assert!(err.to_string().contains("newer linkdock"), "{err}");
    }

    #[test]
    fn a_schema_1_file_is_migrated_and_its_links_still_redirect() {
        use redb::{Database, TableDefinition};
        let dir = tempfile::tempdir().unwrap();
        {
            // A file as linkdock 0.1 (schema 1) left it: JSON links and two index tables.
            let db = Database::create(Store::file_in(dir.path())).unwrap();
            let tx = db.begin_write().unwrap();
            tx.open_table(META)
                .unwrap()
                .insert("schema_version", 1)
                .unwrap();
            tx.open_table(tables::DOMAINS)
                .unwrap()
                .insert(1, br#"{"id":1,"hostname":"go.example.com","source":"api","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}"#.as_slice())
                .unwrap();
            tx.open_table(tables::DOMAIN_BY_HOST)
                .unwrap()
                .insert("go.example.com", 1)
                .unwrap();
            tx.open_table(tables::v1::LINKS)
                .unwrap()
                .insert(7, br#"{"id":7,"domain_id":1,"slug":"docs","destination_url":"https://example.com/d","title":"Docs","tags":["a","b"],"redirect_code":301,"expires_at":null,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-02T00:00:00Z"}"#.as_slice())
                .unwrap();
            tx.open_table(tables::v1::LINK_BY_SLUG)
                .unwrap()
                .insert((1, "docs"), 7)
                .unwrap();
            tx.open_table(tables::v1::LINKS_BY_DOMAIN)
                .unwrap()
                .insert((1, 7), ())
                .unwrap();
            tx.open_table(tables::CLICKS).unwrap().insert(7, 3).unwrap();
            tx.commit().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let found = store
            .catalog
            .route("go.example.com", "docs", |l| {
                (
                    l.id(),
                    l.destination().to_owned(),
                    l.clicks(),
                    l.redirect_code(),
                )
            })
            .flatten();
        assert_eq!(found, Some((7, "https://example.com/d".to_owned(), 3, 301)));
        let e = store.catalog.link(7).unwrap();
        assert_eq!(e.rec.tags.as_slice(), ["a", "b"]);
        assert_eq!(e.rec.updated_at.to_string(), "2026-01-02T00:00:00Z");
        let tx = store.db.begin_read().unwrap();
        assert_eq!(
            tx.open_table(META)
                .unwrap()
                .get("schema_version")
                .unwrap()
                .unwrap()
                .value(),
            SCHEMA_VERSION
        );
        let gone: TableDefinition<u64, &[u8]> = TableDefinition::new("links_v1");
        assert!(tx.open_table(gone).is_err(), "the old table is dropped");
    }

    #[test]
    fn a_zero_length_database_file_is_refused_not_started_empty() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(Store::file_in(dir.path()), b"").unwrap();
        let err = Store::open(dir.path()).err().expect("refused");
        assert!(matches!(err, StoreError::EmptyFile(_)), "{err}");
        assert!(err.to_string().contains("empty"), "{err}");
        assert_eq!(
            std::fs::metadata(Store::file_in(dir.path())).unwrap().len(),
            0,
            "untouched"
        );
    }

    #[test]
    fn a_second_open_says_the_database_is_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Store::open(dir.path()).unwrap();
        let err = Store::open(dir.path()).err().expect("refused");
        assert!(matches!(err, StoreError::InUse(_)), "{err}");
    }
}
