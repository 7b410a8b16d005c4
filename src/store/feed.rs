//! The change feed (PostgreSQL): how a node's read models follow what other nodes commit.
//!
//! Every write transaction records the keys it changed in the watched tables under one
//! sequence number, in commit order (`kv::PgDatabase`). Each node's follower thread waits for
//! a NOTIFY or a quarter second, whichever comes first, reads the changes after its cursor,
//! and reloads exactly those rows from the database into the catalog and the key index.
//! Polling is the source of truth: a notice lost while reconnecting only delays. A node's own
//! writes are in its models already: `Store::write` moves the cursor past them when nothing
//! came between (`applied_own_commit`). Otherwise they come back, which is harmless:
//! reloading a row is idempotent, and it always reads the row as it is now, so nodes
//! converge whatever order the notices arrive in.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::kv::{from_ordered, Engine, PgDatabase, ReadTransaction, Value, Wake};
use super::records::{DomainRecord, KeyRecord};
use super::tables::{API_KEYS, CLICKS, DOMAINS, LINKS};
use super::{decode_or_skip, links, Store, StoreError};

/// The tables whose rows the read models hold.
pub(super) const WATCHED: &[&str] = &["domains_v1", "links_v2", "clicks_v1", "api_keys_v1"];

/// A node that has not heard from the database for longer refuses keyed calls (503).
pub const SILENCE_LIMIT: Duration = Duration::from_secs(5);

/// How long a follower waits for a notice before it polls anyway.
const POLL: Duration = Duration::from_millis(250);

/// Past this many changed rows in one poll, reloading everything is cheaper.
const RELOAD_ALL_PAST: usize = 20_000;

/// How long changes are kept for followers that fall behind.
const KEEP_CHANGES: Duration = Duration::from_secs(600);

/// When this node last heard from the database, for the gate on keyed calls: a node that
/// cannot reach it must not go on trusting keys another node may have revoked.
#[derive(Default)]
pub struct Heard {
    /// Milliseconds since `start`, plus one (0: never).
    at_ms: AtomicU64,
    start: std::sync::OnceLock<Instant>,
}

impl Heard {
    fn now_ms(&self) -> u64 {
        let start = self.start.get_or_init(Instant::now);
        u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub(super) fn mark(&self) {
        let now = self.now_ms();
        self.at_ms.store(now + 1, Ordering::Relaxed);
    }

    /// How long since the database last answered the follower.
    pub fn silent_for(&self) -> Duration {
        let at = self.at_ms.load(Ordering::Relaxed);
        let now = self.now_ms();
        Duration::from_millis(now.saturating_sub(at.saturating_sub(1)))
    }
}

/// The follower thread of a store on PostgreSQL; stops when dropped.
pub struct Follower {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Store {
    fn postgres(&self) -> Option<&PgDatabase> {
        match &self.db {
            Engine::Postgres(db) => Some(db),
            Engine::Redb(_) => None,
        }
    }

    /// Whether other nodes may write to this store's database.
    pub fn is_shared(&self) -> bool {
        self.postgres().is_some()
    }

    /// How long the database has not answered this node (zero on redb, which is this process).
    pub fn database_silent_for(&self) -> Duration {
        match self.postgres() {
            Some(_) => self.heard.silent_for(),
            None => Duration::ZERO,
        }
    }

    /// Start following other nodes' commits (PostgreSQL only; `None` on redb), from the
    /// change sequence taken before the read models were loaded.
    pub fn follow(self: &Arc<Self>) -> Option<Follower> {
        self.postgres()?;
        // Heard from at start: the models were just loaded from the database.
        self.heard.mark();
        let stop = Arc::new(AtomicBool::new(false));
        let store = Arc::clone(self);
        let stopped = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("linkdock-feed".into())
            .spawn(move || store.follow_until(&stopped))
            .map_err(|e| tracing::error!(error = %e, "cannot start the change-feed thread"))
            .ok()?;
        Some(Follower {
            stop,
            thread: Some(thread),
        })
    }

    fn follow_until(&self, stop: &AtomicBool) {
        let Some(db) = self.postgres() else { return };
        let mut pruned = Instant::now();
        let mut failing = false;
        let mut read_at = Instant::now();
        // The first round reads the feed: nothing is known yet.
        let mut notified = None;
        while !stop.load(Ordering::Relaxed) {
            match self.catch_up(db, notified) {
                Ok(read) => {
                    if read {
                        read_at = Instant::now();
                    }
                    if failing {
                        tracing::info!(database = db.describe(), "the database answers again");
                        failing = false;
                    }
                }
                Err(e) => {
                    if !failing {
                        tracing::error!(database = db.describe(), error = %e, "cannot read the change feed; keyed API calls are refused while the database is silent");
                        failing = true;
                    }
                    std::thread::sleep(POLL);
                    notified = None;
                    continue;
                }
            }
            if pruned.elapsed() > KEEP_CHANGES / 4 {
                pruned = Instant::now();
                if let Err(e) = db.prune_changes(KEEP_CHANGES) {
                    tracing::warn!(error = %e, "cannot prune the change feed");
                }
            }
            notified = self.wait_for_news(db, stop, read_at);
        }
    }

    /// Wait for another node's commit, or until `POLL` after the last read of the feed. Every
    /// commit wakes the listener, this node's own too: a notice of a commit the cursor has
    /// passed (`Store::write` moves it past its own) goes back to waiting, so a busy node's
    /// writes do not each cost a read of the feed under the write lock. `Some(seq)`: woken by
    /// commits up to `seq`; `None`: the poll is due (or the listener was lost).
    fn wait_for_news(&self, db: &PgDatabase, stop: &AtomicBool, read_at: Instant) -> Option<u64> {
        while !stop.load(Ordering::Relaxed) {
            let left = POLL.saturating_sub(read_at.elapsed());
            if left.is_zero() {
                return None;
            }
            match db.wait_for_change(left) {
                Ok(Wake::Commit(seq)) if seq > self.cursor.load(Ordering::Acquire) => {
                    return Some(seq)
                }
                Ok(Wake::Commit(_)) => {} // commits already applied: this node's own
                Ok(Wake::Quiet | Wake::Lost) => return None,
                Err(e) => {
                    tracing::debug!(error = %e, "waiting for a change notice failed; polling");
                    std::thread::sleep(left);
                    return None;
                }
            }
        }
        None
    }

    /// Read the changes after the cursor and refresh the rows they name; false when it had no
    /// need to: woken by commits up to `notified`, which the cursor has passed by the time it
    /// holds the lock (this node's own, whose notice came before `Store::write` applied them).
    /// Under the write lock: this node's own writes update the models after their commit under
    /// the same lock, so a reload never lands between a commit and its update.
    fn catch_up(&self, db: &PgDatabase, notified: Option<u64>) -> Result<bool, StoreError> {
        let _guard = self
            .write_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if notified.is_some_and(|seq| seq <= self.cursor.load(Ordering::Acquire)) {
            self.heard.mark();
            return Ok(false);
        }
        self.catch_up_locked(db)?;
        Ok(true)
    }

    /// [`Self::catch_up`] for a caller that holds the write lock: `Store::write` calls it once
    /// its transaction holds the cluster's write lock, so the rules it checks against the
    /// catalog (a slug taken, a domain's links) see every other node's commits.
    pub(super) fn catch_up_locked(&self, db: &PgDatabase) -> Result<(), StoreError> {
        let cursor = self.cursor.load(Ordering::Acquire);
        let changes = db.changes_since(cursor)?;
        self.heard.mark();
        if changes.seq <= cursor && !changes.gap {
            return Ok(());
        }
        // Click counts change with every batch of every node: they never force a full reload.
        let rows = changes
            .rows
            .iter()
            .filter(|(t, _)| t != "clicks_v1")
            .count();
        if changes.gap || rows > RELOAD_ALL_PAST {
            tracing::info!(
                changes = changes.rows.len(),
                gap = changes.gap,
                "reloading the read models from the database"
            );
            self.reload_everything()?;
        } else {
            self.refresh_rows(&changes.rows)?;
        }
        self.cursor.store(changes.seq, Ordering::Release);
        Ok(())
    }

    /// This node's own commit `seq` is in the read models (`Store::write` applied it): when
    /// the cursor stood just before it, as it does after the write's catch-up under the
    /// cluster's write lock, move past it, so the feed does not read back what this node
    /// wrote (an import's every chunk, thousands of rows). Otherwise leave the cursor: the
    /// feed reads the commit again, which is harmless.
    pub(super) fn applied_own_commit(&self, seq: u64) {
        if let Some(before) = seq.checked_sub(1) {
            let _ = self
                .cursor
                .compare_exchange(before, seq, Ordering::AcqRel, Ordering::Acquire);
        }
    }

    /// The latest change sequence, taken before loading the read models so that nothing
    /// committed while they load is missed (it is applied again, which is harmless).
    pub(super) fn start_cursor(&self) -> Result<(), StoreError> {
        if let Some(db) = self.postgres() {
            let seq = db.current_seq()?;
            self.cursor.store(seq, Ordering::Release);
        }
        Ok(())
    }

    fn reload_everything(&self) -> Result<(), StoreError> {
        let loader = self.read(|tx| {
            let count = usize::try_from(links::count_links(tx)?).unwrap_or(0);
            let mut loader =
                super::catalog::Catalog::loader(super::domains::all_domains(tx)?, count);
            links::load_links(tx, &mut loader)?;
            super::keys::load_keys(tx, &self.keys)?;
            Ok(loader)
        })?;
        self.catalog.finish(loader);
        Ok(())
    }

    /// Reload the named rows, in one read transaction.
    fn refresh_rows(&self, rows: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        let mut domains = BTreeSet::new();
        let mut links = BTreeSet::new();
        let mut clicks = BTreeSet::new();
        let mut keys = BTreeSet::new();
        for (table, key) in rows {
            let set = match table.as_str() {
                "domains_v1" => &mut domains,
                "links_v2" => &mut links,
                "clicks_v1" => &mut clicks,
                "api_keys_v1" => &mut keys,
                _ => continue,
            };
            set.insert(id_of(key)?);
        }
        // One statement per table for all the changed rows (an import's chunk names thousands).
        self.read(|tx| {
            let mut found = rows_of(tx, DOMAINS, &domains)?;
            for id in &domains {
                match found.remove(id) {
                    Some(v) => {
                        if let Some(d) = decode_or_skip::<DomainRecord>("domains_v1", id, &v) {
                            self.catalog.put_domain(&d);
                        }
                    }
                    None => self.catalog.remove_domain(*id),
                }
            }
            let mut found = rows_of(tx, LINKS, &links)?;
            for id in &links {
                match found.remove(id) {
                    Some(v) => match super::records::decode_link(&v) {
                        Ok(stored) => {
                            self.catalog.put_link(&stored.to_record());
                            clicks.insert(*id);
                        }
                        // One unreadable row must not stop the feed: the link stops routing.
                        Err(e) => {
                            tracing::error!(link = id, error = %e, "left out a stored link that cannot be read");
                            self.catalog.delete_link(*id);
                        }
                    },
                    None => self.catalog.delete_link(*id),
                }
            }
            // Every node's click batches land here: one statement for all of them.
            let found = tx.open_table(CLICKS)?.get_many(clicks.iter().copied())?;
            let mut counts: std::collections::HashMap<u64, u64> = found
                .iter()
                .map(|(k, v)| (<u64 as Value>::from_bytes(k), <u64 as Value>::from_bytes(v)))
                .collect();
            for id in &clicks {
                self.catalog.set_clicks(*id, counts.remove(id).unwrap_or(0));
            }
            let mut found = rows_of(tx, API_KEYS, &keys)?;
            for id in &keys {
                match found.remove(id) {
                    // A key that cannot be read is refused like an unknown one (fails closed).
                    Some(v) => match decode_or_skip::<KeyRecord>("api_keys_v1", id, &v) {
                        Some(rec) => self.keys.upsert(&rec),
                        None => self.keys.remove_id(*id),
                    },
                    None => self.keys.remove_id(*id),
                }
            }
            Ok(())
        })
    }
}

/// A watched table's key: an id in ordered form.
fn id_of(key: &[u8]) -> Result<u64, StoreError> {
    let redb = from_ordered::<u64>(key)?;
    Ok(<u64 as Value>::from_bytes(&redb))
}

/// The stored rows of these ids that exist, by id.
fn rows_of(
    tx: &ReadTransaction,
    def: super::kv::TableDefinition<'static, u64, &'static [u8]>,
    ids: &BTreeSet<u64>,
) -> Result<std::collections::HashMap<u64, Vec<u8>>, StoreError> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    Ok(tx
        .open_table(def)?
        .get_many(ids.iter().copied())?
        .into_iter()
        .map(|(k, v)| (<u64 as Value>::from_bytes(&k), v))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::By;
    use crate::domain::{DestinationUrl, Hostname, RedirectCode, Slug, Tags};
    use crate::store::kv::{fresh_database, ReadableTable};
    use crate::store::tables::API_KEYS;
    use crate::store::NewLink;

    fn link(domain: u64, slug: &str) -> NewLink {
        NewLink {
            domain_id: domain,
            slug: Some(Slug::parse(slug).unwrap()),
            destination_url: DestinationUrl::parse("https://example.com/").unwrap(),
            title: None,
            tags: Tags::parse::<&str>(&[]).unwrap(),
            redirect_code: RedirectCode::parse(302).unwrap(),
            expires_at: None,
        }
    }

    /// The domain the tests make their links on.
    fn go_domain(store: &Store) -> DomainRecord {
        store
            .create_domain(
                &Hostname::parse("go.example.com").unwrap(),
                &By::command_line(),
            )
            .unwrap()
    }

    /// Two nodes whose followers are not running: only `Store::write`'s own catch-up can
    /// tell node B what node A committed.
    #[test]
    fn a_write_sees_every_other_nodes_commits_before_its_rules_run() {
        let Some(url) = fresh_database() else {
            return;
        };
        let a = Store::open_postgres(&url).unwrap();
        let b = Store::open_postgres(&url).unwrap();
        let d = go_domain(&a);
        a.create_link(link(d.id, "promo")).unwrap();
        // B has not heard of the link: its rule (the slug is free) must still see it.
        let err = b.create_link(link(d.id, "promo")).unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        assert!(b.catalog.slug_taken(d.id, "promo"), "B caught up");
        let total = b.read(links::count_links).unwrap();
        assert_eq!(total, 1, "one link, not two with one slug");
    }

    /// The writer sends a batch again when the reply to its COMMIT was lost: the database
    /// took it already, so it must not count twice.
    #[test]
    fn a_batch_sent_again_after_a_lost_reply_counts_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let d = go_domain(&store);
        let l = store.create_link(link(d.id, "docs")).unwrap();
        let batch = |n| crate::store::EventBatch {
            clicks: [(l.id, 2)].into(),
            number: Some((7, n)),
            ..Default::default()
        };
        store.apply_events(&batch(1)).unwrap();
        store.apply_events(&batch(1)).unwrap();
        assert_eq!(
            store.catalog.link(l.id).unwrap().clicks(),
            2,
            "counted once"
        );
        store.apply_events(&batch(2)).unwrap();
        let stored = store
            .read(|tx| Ok(tx.open_table(CLICKS)?.get(l.id)?.map(|g| g.value())))
            .unwrap();
        assert_eq!(stored, Some(4));
        assert_eq!(store.catalog.link(l.id).unwrap().clicks(), 4);
    }

    /// A node applies its own commits itself: its cursor moves past them, so the feed does
    /// not read an import's chunks back; another node's commit in between is still read.
    #[test]
    fn a_node_does_not_read_back_its_own_commits() {
        let Some(url) = fresh_database() else {
            return;
        };
        let a = Store::open_postgres(&url).unwrap();
        let b = Store::open_postgres(&url).unwrap();
        let unread = |s: &Store| {
            let db = s.postgres().unwrap();
            db.changes_since(s.cursor.load(Ordering::Acquire))
                .unwrap()
                .rows
                .len()
        };
        let d = go_domain(&a);
        let made = a
            .create_links(vec![link(d.id, "one"), link(d.id, "two")])
            .unwrap();
        assert!(made.iter().all(Result::is_ok));
        assert_eq!(unread(&a), 0, "A's own commits are behind its cursor");
        b.create_link(link(d.id, "three")).unwrap();
        assert_eq!(unread(&a), 1, "B's commit is ahead of A's cursor");
        a.create_link(link(d.id, "four")).unwrap();
        assert!(a.catalog.slug_taken(d.id, "three"), "A read B's commit");
        assert_eq!(unread(&a), 0);
        // The other node still follows every commit of A's.
        b.catch_up(b.postgres().unwrap(), None).unwrap();
        for slug in ["one", "two", "four"] {
            assert!(b.catalog.slug_taken(d.id, slug), "B sees {slug}");
        }
        assert_eq!(unread(&b), 0);
    }

    /// A write reads the feed only when another node committed since the cursor: the counter
    /// it locks says so. On a node writing alone, a link costs no feed read.
    #[test]
    fn a_write_reads_the_feed_only_after_another_nodes_commit() {
        let Some(url) = fresh_database() else {
            return;
        };
        let a = Store::open_postgres(&url).unwrap();
        let b = Store::open_postgres(&url).unwrap();
        let reads = |s: &Store| s.postgres().unwrap().feed_reads();
        let d = go_domain(&a);
        let before = reads(&a);
        for i in 0..10 {
            a.create_link(link(d.id, &format!("a{i}"))).unwrap();
        }
        assert_eq!(reads(&a), before, "A alone: no feed read");
        b.create_link(link(d.id, "from-b")).unwrap();
        a.create_link(link(d.id, "after-b")).unwrap();
        assert_eq!(reads(&a), before + 1, "one read for B's commit");
        assert!(a.catalog.slug_taken(d.id, "from-b"), "and A applied it");
        let err = a.create_link(link(d.id, "from-b")).unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        assert_eq!(reads(&a), before + 1);
    }

    /// The poller is woken by every commit's notice, this node's own too; its own are behind
    /// the cursor and send it back to waiting. Another node's wakes it.
    #[test]
    fn the_poller_sleeps_through_its_own_nodes_commits() {
        let Some(url) = fresh_database() else {
            return;
        };
        let a = Arc::new(Store::open_postgres(&url).unwrap());
        let b = Store::open_postgres(&url).unwrap();
        let d = go_domain(&a);
        let _follower = a.follow().unwrap();
        // The poller's first read, and its LISTEN, before counting.
        std::thread::sleep(POLL * 2);
        let db = a.postgres().unwrap();
        let (before, started) = (db.feed_reads(), Instant::now());
        for i in 0..60 {
            a.create_link(link(d.id, &format!("a{i}"))).unwrap();
        }
        let (reads, took) = (db.feed_reads() - before, started.elapsed());
        // At most one read per poll interval that passed, and one in progress.
        let polls = (took.as_millis() / POLL.as_millis()) as u64 + 2;
        assert!(
            reads <= polls,
            "{reads} feed reads for 60 own commits in {took:?} (at most {polls})"
        );
        let seen = Instant::now();
        b.create_link(link(d.id, "from-b")).unwrap();
        while !a.catalog.slug_taken(d.id, "from-b") {
            assert!(
                seen.elapsed() < Duration::from_secs(5),
                "A never saw B's link"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn an_unreadable_row_is_left_out_and_the_feed_goes_on() {
        let Some(url) = fresh_database() else {
            return;
        };
        let a = Store::open_postgres(&url).unwrap();
        let b = Store::open_postgres(&url).unwrap();
        let tx = a.db.begin_write().unwrap();
        tx.open_table(API_KEYS)
            .unwrap()
            .insert(99, b"not a key".as_slice())
            .unwrap();
        tx.commit().unwrap();
        let d = a
            .create_domain(
                &Hostname::parse("b.example.com").unwrap(),
                &By::command_line(),
            )
            .unwrap();
        b.catch_up(b.postgres().unwrap(), None).unwrap();
        assert!(
            b.catalog.domain(d.id).is_some(),
            "the feed went on past the bad row"
        );
        assert_eq!(b.keys.len(), 0);
    }
}
