//! The in-memory key index: digest → what verification needs, kept in step with redb by every
//! key mutation (under the store's write lock), so a request never opens a transaction.
//!
//! Sized for 100,000 keys and more: an entry is one small allocation (the display prefix
//! inline, no `String`), the IP rule and the domain scope are interned (keys made alike share
//! one copy), and a rate-limit window exists only for a key with a limit. The index is filled
//! one record at a time ([`KeyLoader`]), never from all the records at once.

use std::collections::BTreeSet;
use std::fmt;
use std::hash::Hash;

// foldhash (hashbrown's default): SipHash over a 32-byte digest showed in the API's profile.
use hashbrown::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use super::generation::Generation;
use super::records::{DomainId, KeyEnds, KeyId, KeyRecord, KeyStatus};
use super::seen_keys::Tag;
use crate::domain::{IpPolicy, KeyPrefix, PerMinute, Permissions, Timestamp};
use crate::keys::{parse_presented, KeyDigest, KeyFailure};
use crate::limiter::{MinuteWindow, Quota};

/// Which domains a caller may touch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DomainScope {
    All,
    Only(BTreeSet<DomainId>),
}

impl DomainScope {
    pub fn from_ids(ids: &[DomainId]) -> Self {
        if ids.is_empty() {
            Self::All
        } else {
            Self::Only(ids.iter().copied().collect())
        }
    }

    pub fn allows(&self, domain: DomainId) -> bool {
        match self {
            Self::All => true,
            Self::Only(set) => set.contains(&domain),
        }
    }

    pub fn is_all(&self) -> bool {
        matches!(self, Self::All)
    }
}

/// A key's display prefix (12 characters) without a heap allocation: up to [`ShortText::INLINE`]
/// bytes are held in place; a longer one (an older record, a multi-byte name) goes to the heap
/// whole, never cut inside a character.
#[derive(Clone, PartialEq, Eq)]
pub enum ShortText {
    Inline {
        len: u8,
        bytes: [u8; ShortText::INLINE],
    },
    Heap(Box<str>),
}

impl ShortText {
    /// As many bytes as keep the value 24 bytes long, the size of a `String` header alone.
    pub const INLINE: usize = 22;

    pub fn new(s: &str) -> Self {
        match u8::try_from(s.len()) {
            Ok(len) if s.len() <= Self::INLINE => {
                let mut bytes = [0; Self::INLINE];
                bytes[..s.len()].copy_from_slice(s.as_bytes());
                Self::Inline { len, bytes }
            }
            _ => Self::Heap(s.into()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            // Copied whole from a `&str`: always UTF-8.
            Self::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            Self::Heap(s) => s,
        }
    }
}

impl std::ops::Deref for ShortText {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for ShortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ShortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// What verification needs of a key, prepared once per mutation rather than per request. The
/// rate-limit window is the one thing a request changes, and it is an atomic: reading an
/// entry and counting a request take no lock and allocate nothing.
#[derive(Debug)]
pub struct KeyEntry {
    pub id: KeyId,
    pub prefix: ShortText,
    pub status: KeyStatus,
    pub ends: KeyEnds,
    /// Interned: every key with the same rule shares it.
    pub ip: Arc<IpPolicy>,
    /// Interned, like `ip`.
    pub scope: Arc<DomainScope>,
    pub permissions: Permissions,
    /// The limit and its window, only for a key with a limit. The window is shared with the
    /// entry this one replaced (an edit, a reload) and along a roll: a rolled key and its
    /// successor count in one window, so the pair gets the rate once, not twice.
    limit: Option<(PerMinute, Arc<MinuteWindow>)>,
}

impl KeyEntry {
    pub fn status_at(&self, now: Timestamp) -> KeyStatus {
        self.status.at(self.ends, now)
    }

    /// Status, expiry and rotation, judged by the clock: the sweeper is not needed for
    /// correctness.
    pub fn usable_at(&self, now: Timestamp) -> Result<(), KeyFailure> {
        match self.status_at(now) {
            KeyStatus::Active => Ok(()),
            KeyStatus::Revoked => Err(KeyFailure::Revoked),
            KeyStatus::Expired => Err(KeyFailure::Expired),
            KeyStatus::Rotated => Err(KeyFailure::Rotated {
                at: self.ends.rotated_at.unwrap_or(now),
            }),
            KeyStatus::Disabled => Err(KeyFailure::Disabled),
        }
    }

    pub fn rate_limit(&self) -> Option<PerMinute> {
        self.limit.as_ref().map(|(per_minute, _)| *per_minute)
    }

    /// Count one request against the key's rate limit. `Ok(None)`: the key has no limit;
    /// `Err`: the limit is used up for this minute (the state, for `Retry-After`).
    pub fn take_request(&self, now: Timestamp) -> Result<Option<Quota>, Quota> {
        match &self.limit {
            None => Ok(None),
            Some((limit, window)) => window.take(limit.get(), now.unix()).map(Some),
        }
    }

    /// The rate-limit state without counting a request; `None` without a limit.
    pub fn quota(&self, now: Timestamp) -> Option<Quota> {
        self.limit
            .as_ref()
            .map(|(limit, window)| window.peek(limit.get(), now.unix()))
    }

    fn window(&self) -> Option<&Arc<MinuteWindow>> {
        self.limit.as_ref().map(|(_, w)| w)
    }
}

/// One shared copy of each distinct value. Values no entry holds any more are dropped by a
/// sweep that runs when the set has doubled since the last one, so edits that each make a new
/// whitelist cannot grow it without bound, and a sweep costs O(1) per insert amortised.
struct Interner<T> {
    set: HashSet<Arc<T>>,
    sweep_at: usize,
}

impl<T> Default for Interner<T> {
    fn default() -> Self {
        Self {
            set: HashSet::new(),
            sweep_at: FIRST_SWEEP,
        }
    }
}

impl<T: Eq + Hash> Interner<T> {
    fn intern(&mut self, value: T) -> Arc<T> {
        if let Some(shared) = self.set.get(&value) {
            return Arc::clone(shared);
        }
        if self.set.len() >= self.sweep_at {
            // Only the set holds it: no entry uses it (an entry a request still holds counts).
            self.set.retain(|v| Arc::strong_count(v) > 1);
            self.sweep_at = (self.set.len() * 2).max(FIRST_SWEEP);
        }
        let shared = Arc::new(value);
        self.set.insert(Arc::clone(&shared));
        shared
    }

    fn len(&self) -> usize {
        self.set.len()
    }
}

/// Distinct values an interner holds before its first sweep.
const FIRST_SWEEP: usize = 64;

/// The index's state behind its lock.
#[derive(Default)]
struct Inner {
    by_digest: HashMap<KeyDigest, Arc<KeyEntry>>,
    ips: Interner<IpPolicy>,
    scopes: Interner<DomainScope>,
}

impl Inner {
    fn entry(&mut self, rec: &KeyRecord, window: Option<Arc<MinuteWindow>>) -> KeyEntry {
        KeyEntry {
            id: rec.id,
            prefix: ShortText::new(&rec.prefix),
            status: rec.status,
            ends: rec.ends(),
            ip: self.ips.intern(rec.ip.clone()),
            scope: self.scopes.intern(DomainScope::from_ids(&rec.domains)),
            permissions: rec.permissions,
            limit: rec
                .rate_limit
                .map(|limit| (limit, window.unwrap_or_else(|| new_window(rec)))),
        }
    }
}

/// A window made for `rec`: its claims go under the key it was rolled from, else its own id.
/// Every node makes a chain's window for the same key (the first with a limit, at start or
/// when the limit comes), so they agree on the row; and deleting the older key of a roll
/// does not move it, on the nodes running nor on one started after.
fn new_window(rec: &KeyRecord) -> Arc<MinuteWindow> {
    Arc::new(MinuteWindow::for_row(rec.rotated_from.unwrap_or(rec.id)))
}

/// Digest → key, kept in step with the store by every key mutation.
#[derive(Default)]
pub struct KeyIndex {
    inner: RwLock<Inner>,
    /// Moved by every change, under the write lock: the worker threads' caches of verified
    /// keys (`seen_keys`) go stale with it.
    seen: Generation,
    /// `windows()` as of the last change: the limits sync asks for it up to fifty times a
    /// second, and walking every key (100,000 of them) under the read lock each time would
    /// hold back a key change, and the requests queued behind it. Emptied by every change.
    windows: std::sync::Mutex<Option<Windows>>,
}

/// Every rate-limit window once: (its row, the newest key's limit, the window).
pub type Windows = Arc<Vec<(KeyId, u32, Arc<MinuteWindow>)>>;

/// Why a presented key was refused (with the key, when it is known: for the log).
#[derive(Debug)]
pub enum Rejection {
    /// Not a key of this server: malformed, bad checksum, unknown.
    Key(KeyFailure),
    /// A known key that cannot be used now: revoked, expired, rotated.
    Unusable(Arc<KeyEntry>, KeyFailure),
    /// The key is valid but the client address is outside its whitelist.
    Ip(Arc<KeyEntry>),
}

/// Fills a fresh index one record at a time (start, config reload) and swaps it in whole at
/// [`KeyLoader::finish`]: no list of every record is held. A key already in the index keeps
/// its window, and the keys of one roll chain share one.
pub struct KeyLoader<'a> {
    index: &'a KeyIndex,
    next: Inner,
    /// Key → the first key of its roll chain, for keys that were rolled (few).
    chain_root: HashMap<KeyId, KeyId>,
    /// A chain's window, under its first key.
    chain_windows: HashMap<KeyId, Arc<MinuteWindow>>,
}

impl KeyLoader<'_> {
    /// Add one key. Records come in id order, so a key's predecessor in a roll came first.
    pub fn add(&mut self, rec: &KeyRecord) {
        let in_chain = rec.rotated_from.is_some() || rec.rotated_to.is_some();
        let root = rec
            .rotated_from
            .map_or(rec.id, |from| *self.chain_root.get(&from).unwrap_or(&from));
        if rec.rotated_to.is_some() {
            self.chain_root.insert(rec.id, root);
        }
        let window = rec.rate_limit.map(|_| {
            let kept = self
                .index
                .get(&rec.digest)
                .and_then(|prev| prev.window().cloned());
            if in_chain {
                let w = self
                    .chain_windows
                    .entry(root)
                    .or_insert_with(|| kept.unwrap_or_else(|| new_window(rec)));
                Arc::clone(w)
            } else {
                kept.unwrap_or_else(|| new_window(rec))
            }
        });
        let entry = self.next.entry(rec, window);
        self.next.by_digest.insert(rec.digest, Arc::new(entry));
    }

    pub fn finish(self) {
        *self.index.write() = self.next;
    }
}

impl KeyIndex {
    /// The whole per-request check: format and checksum, SHA-256, lookup, status, expiry and
    /// rotation by the clock, client IP. Permissions, the rate limit and domain scope are
    /// checked by the caller (`auth`), which knows the route and the resource.
    pub fn verify(
        &self,
        presented: &str,
        prefix: &KeyPrefix,
        ip: IpAddr,
        now: Timestamp,
    ) -> Result<Arc<KeyEntry>, Rejection> {
        let key = self.identify(presented, prefix).map_err(Rejection::Key)?;
        if let Err(why) = key.usable_at(now) {
            return Err(Rejection::Unusable(key, why));
        }
        if !key.ip.permits(ip) {
            return Err(Rejection::Ip(key));
        }
        Ok(key)
    }

    /// Which key was presented, whatever its status: format and checksum, SHA-256, lookup.
    /// `verify` is this and the rest of the rules; `keys/current` uses it alone, to explain
    /// why a known key would be refused.
    pub fn identify(
        &self,
        presented: &str,
        prefix: &KeyPrefix,
    ) -> Result<Arc<KeyEntry>, KeyFailure> {
        let tag = Tag::of(prefix.as_str(), presented);
        if let Some(known) = tag.and_then(|t| self.seen.recall(t)) {
            return Ok(known);
        }
        let digest = parse_presented(presented, prefix)?;
        let at = self.seen.now();
        let key = self.get(&digest).ok_or(KeyFailure::Unknown)?;
        if let Some(t) = tag {
            self.seen.remember(at, t, &key);
        }
        Ok(key)
    }

    pub fn get(&self, digest: &KeyDigest) -> Option<Arc<KeyEntry>> {
        self.read().by_digest.get(digest).cloned()
    }

    /// How many keys the index holds.
    pub fn len(&self) -> usize {
        self.read().by_digest.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Distinct IP rules and domain scopes held (each once, however many keys share it).
    pub fn shared_rules(&self) -> (usize, usize) {
        let inner = self.read();
        (inner.ips.len(), inner.scopes.len())
    }

    /// Add or replace one entry. A changed key goes on counting in its window (an edit must
    /// not hand it a fresh minute); a key made by a roll counts in its predecessor's.
    pub(super) fn upsert(&self, rec: &KeyRecord) {
        let mut inner = self.write();
        let window = match inner.by_digest.get(&rec.digest) {
            Some(prev) => prev.window().cloned(),
            None => rec
                .rotated_from
                .and_then(|from| inner.by_digest.values().find(|e| e.id == from))
                .and_then(|e| e.window().cloned()),
        };
        let entry = inner.entry(rec, window);
        inner.by_digest.insert(rec.digest, Arc::new(entry));
    }

    pub(super) fn remove(&self, digest: &KeyDigest) {
        self.write().by_digest.remove(digest);
    }

    /// Remove a key known only by its id (deleted on another node: its row is gone).
    pub(super) fn remove_id(&self, id: KeyId) {
        self.write().by_digest.retain(|_, e| e.id != id);
    }

    /// A loader for a fresh index of about `capacity` keys, swapped in by
    /// [`KeyLoader::finish`].
    pub fn loader(&self, capacity: usize) -> KeyLoader<'_> {
        KeyLoader {
            index: self,
            next: Inner {
                by_digest: HashMap::with_capacity(capacity),
                ..Inner::default()
            },
            chain_root: HashMap::new(),
            chain_windows: HashMap::new(),
        }
    }

    /// Replace every entry (start, config reload); a key already there keeps its window, and
    /// the keys of one roll chain share one. Records in id order, as the table holds them.
    pub fn replace_all<'a>(&self, recs: impl IntoIterator<Item = &'a KeyRecord>) {
        let recs = recs.into_iter();
        let mut loader = self.loader(recs.size_hint().0);
        for r in recs {
            loader.add(r);
        }
        loader.finish();
    }

    /// Keys by status (in the order of `KeyStatus::ALL`), judging expiry and rotation by the
    /// clock.
    pub fn counts_by_status(&self, now: Timestamp) -> [(KeyStatus, u64); KeyStatus::ALL.len()] {
        let inner = self.read();
        let mut out = KeyStatus::ALL.map(|s| (s, 0));
        for e in inner.by_digest.values() {
            let status = e.status_at(now);
            if let Some(slot) = out.iter_mut().find(|(s, _)| *s == status) {
                slot.1 += 1;
            }
        }
        out
    }

    /// Every rate-limit window once (the keys of a roll chain share one), under its row
    /// (`MinuteWindow::row`), with the limit of the newest key (the live key after a roll):
    /// what the shared limits sync (PostgreSQL).
    pub fn windows(&self) -> Windows {
        let inner = self.read();
        // Filled while the read lock is held: a change (under the write lock) empties it after.
        let mut cached = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(w) = cached.as_ref() {
            return Arc::clone(w);
        }
        // Window → (newest id, its limit, the window).
        let mut by_window: HashMap<*const MinuteWindow, (KeyId, u32, Arc<MinuteWindow>)> =
            HashMap::new();
        for e in inner.by_digest.values() {
            let Some((limit, w)) = &e.limit else { continue };
            by_window
                .entry(Arc::as_ptr(w))
                .and_modify(|(high, l, _)| {
                    if e.id > *high {
                        (*high, *l) = (e.id, limit.get());
                    }
                })
                .or_insert_with(|| (e.id, limit.get(), Arc::clone(w)));
        }
        let all: Windows = Arc::new(
            by_window
                .into_values()
                .map(|(_, limit, w)| (w.row(), limit, w))
                .collect(),
        );
        *cached = Some(Arc::clone(&all));
        all
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The index to change. The cached windows are emptied now, the threads' caches of
    /// verified keys when the change is done (`Changing`'s drop, still under the lock).
    fn write(&self) -> Changing<'_> {
        let guard = self
            .inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        Changing {
            inner: guard,
            seen: &self.seen,
        }
    }
}

/// The index under its write lock. Dropped, it moves the generation before the lock is let
/// go: a thread that read the old generation cannot keep what it found.
struct Changing<'a> {
    inner: std::sync::RwLockWriteGuard<'a, Inner>,
    seen: &'a Generation,
}

impl std::ops::Deref for Changing<'_> {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}

impl std::ops::DerefMut for Changing<'_> {
    fn deref_mut(&mut self) -> &mut Inner {
        &mut self.inner
    }
}

impl Drop for Changing<'_> {
    fn drop(&mut self) {
        self.seen.bump();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AllowList, KeyName};
    use crate::store::records::Source;

    fn record(id: KeyId, whitelist: &[&str], domains: &[DomainId]) -> KeyRecord {
        let ip = if whitelist.is_empty() {
            IpPolicy::Any
        } else {
            IpPolicy::Only(AllowList::parse("ip", whitelist).unwrap())
        };
        KeyRecord {
            id,
            name: KeyName::parse("k").unwrap(),
            prefix: format!("ldk_{id:08}"),
            digest: KeyDigest::of(&id.to_string()),
            domains: domains.to_vec(),
            ip,
            expires_at: None,
            status: KeyStatus::Active,
            source: Source::Api,
            created_at: Timestamp::from_unix(0),
            updated_at: Timestamp::from_unix(0),
            permissions: Permissions::ALL,
            rate_limit: None,
            rotated_to: None,
            rotated_at: None,
            rotated_from: None,
            created_by: None,
        }
    }

    /// A real key, and its record as `record` makes it.
    fn issued(id: KeyId, prefix: &KeyPrefix) -> (String, KeyRecord) {
        let (plain, digest) = crate::keys::issue(&ring::rand::SystemRandom::new(), prefix).unwrap();
        let rec = KeyRecord {
            digest,
            ..record(id, &[], &[])
        };
        (plain.into_string(), rec)
    }

    #[test]
    fn a_key_known_from_an_earlier_request_is_judged_afresh_after_any_change() {
        let ldk = KeyPrefix::parse("ldk").unwrap();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let now = Timestamp::from_unix(1_000);
        let index = KeyIndex::default();
        let (key, rec) = issued(1, &ldk);
        index.upsert(&rec);
        // Twice: the second is answered from this thread's cache.
        for _ in 0..2 {
            assert_eq!(index.verify(&key, &ldk, ip, now).unwrap().id, 1);
        }
        // Revoked, then given a whitelist that leaves the caller out: refused at once.
        index.upsert(&KeyRecord {
            status: KeyStatus::Revoked,
            ..rec.clone()
        });
        assert!(matches!(
            index.verify(&key, &ldk, ip, now),
            Err(Rejection::Unusable(_, KeyFailure::Revoked))
        ));
        index.upsert(&record_like(&rec, &["10.0.0.0/8"]));
        assert!(matches!(
            index.verify(&key, &ldk, ip, now),
            Err(Rejection::Ip(_))
        ));
        // Removed; then back, and a reload that drops it again.
        index.remove(&rec.digest);
        assert!(matches!(
            index.verify(&key, &ldk, ip, now),
            Err(Rejection::Key(KeyFailure::Unknown))
        ));
        index.upsert(&rec);
        assert!(index.verify(&key, &ldk, ip, now).is_ok());
        index.replace_all(&[]);
        assert!(index.verify(&key, &ldk, ip, now).is_err());
        // Another prefix: the same text is not a key of it, whatever was cached.
        index.upsert(&rec);
        assert!(index.verify(&key, &ldk, ip, now).is_ok());
        let other = KeyPrefix::parse("abc").unwrap();
        assert!(matches!(
            index.verify(&key, &other, ip, now),
            Err(Rejection::Key(KeyFailure::Malformed))
        ));
        // Another index on the same thread never sees this one's keys.
        let stranger = KeyIndex::default();
        assert!(matches!(
            stranger.verify(&key, &ldk, ip, now),
            Err(Rejection::Key(KeyFailure::Unknown))
        ));
        // A look-alike (one character changed) is no hit: checked and refused in full.
        let mut chars: Vec<char> = key.chars().collect();
        chars[10] = if chars[10] == 'a' { 'b' } else { 'a' };
        let forged: String = chars.into_iter().collect();
        assert!(matches!(
            index.verify(&forged, &ldk, ip, now),
            Err(Rejection::Key(KeyFailure::Checksum))
        ));
    }

    fn record_like(rec: &KeyRecord, whitelist: &[&str]) -> KeyRecord {
        KeyRecord {
            digest: rec.digest,
            ..record(rec.id, whitelist, &rec.domains)
        }
    }

    #[test]
    fn short_text_keeps_what_fits_in_place_and_never_cuts_a_character() {
        for s in ["", "ldk_4f9QzR2x", "sha256:0a1b2", "0123456789012345678901"] {
            let t = ShortText::new(s);
            assert!(matches!(t, ShortText::Inline { .. }), "{s}");
            assert_eq!(t.as_str(), s);
        }
        // 12 characters, 24 bytes: cutting at the inline size would split a character.
        let wide = "éééééééééééé";
        let t = ShortText::new(wide);
        assert!(matches!(t, ShortText::Heap(_)));
        assert_eq!(&*t, wide);
        assert_eq!(t.to_string(), wide);
        assert_eq!(std::mem::size_of::<ShortText>(), 24);
    }

    #[test]
    fn keys_made_alike_share_one_rule_and_scope() {
        let index = KeyIndex::default();
        let recs: Vec<KeyRecord> = (1..=1000)
            .map(|id| record(id, &["10.0.0.0/8"], &[1, 2]))
            .collect();
        index.replace_all(&recs);
        assert_eq!(index.len(), 1000);
        assert_eq!(index.shared_rules(), (1, 1));
        let a = index.get(&recs[0].digest).unwrap();
        let b = index.get(&recs[999].digest).unwrap();
        assert!(Arc::ptr_eq(&a.ip, &b.ip) && Arc::ptr_eq(&a.scope, &b.scope));
        assert!(a.ip.permits("10.1.2.3".parse().unwrap()));
        assert!(!a.ip.permits("192.0.2.1".parse().unwrap()));
        assert!(a.scope.allows(2) && !a.scope.allows(3));
        assert_eq!(*a.prefix, *"ldk_00000001");
    }

    #[test]
    fn rules_no_key_holds_any_more_are_dropped_but_rules_in_use_stay() {
        let index = KeyIndex::default();
        let kept = record(1, &["192.0.2.1"], &[7]);
        index.upsert(&kept);
        // One key edited 1,000 times, each time with a new whitelist: an interner that never
        // forgets would hold 1,000 rules; one that forgot by age would drop key 1's.
        for n in 0..1000u32 {
            let ip = format!("10.{}.{}.0/24", n / 256, n % 256);
            index.upsert(&record(2, &[ip.as_str()], &[u64::from(n) + 100]));
        }
        let (ips, scopes) = index.shared_rules();
        assert!(ips <= 2 * FIRST_SWEEP, "{ips} rules held");
        assert!(scopes <= 2 * FIRST_SWEEP, "{scopes} scopes held");
        let one = index.get(&kept.digest).unwrap();
        assert!(one.ip.permits("192.0.2.1".parse().unwrap()));
        assert!(one.scope.allows(7));
        // A new key with key 1's rule gets the copy key 1 holds.
        index.upsert(&record(3, &["192.0.2.1"], &[7]));
        let three = index.get(&record(3, &[], &[]).digest).unwrap();
        assert!(Arc::ptr_eq(&one.ip, &three.ip));
    }

    #[test]
    fn only_keys_with_a_limit_get_a_window_and_a_roll_chain_shares_one() {
        let now = Timestamp::from_unix(1_000_000);
        let limited = |id, from: Option<KeyId>, to: Option<KeyId>| KeyRecord {
            rate_limit: Some(PerMinute::parse("r", 2).unwrap()),
            rotated_from: from,
            rotated_to: to,
            ..record(id, &[], &[])
        };
        let index = KeyIndex::default();
        let recs = [
            record(1, &[], &[]),
            limited(2, None, Some(3)),
            limited(3, Some(2), Some(4)),
            limited(4, Some(3), None),
            limited(5, None, None),
        ];
        index.replace_all(&recs);
        let get = |r: &KeyRecord| index.get(&r.digest).unwrap();
        assert!(get(&recs[0]).window().is_none());
        assert_eq!(get(&recs[0]).take_request(now), Ok(None));
        // The chain 2 → 3 → 4 has the rate once.
        assert!(get(&recs[1]).take_request(now).is_ok());
        assert!(get(&recs[3]).take_request(now).is_ok());
        assert!(get(&recs[2]).take_request(now).is_err());
        assert!(get(&recs[4]).take_request(now).is_ok(), "its own window");
        // A reload keeps the count; an edit too.
        index.replace_all(&recs);
        assert!(get(&recs[3]).take_request(now).is_err());
        index.upsert(&recs[3]);
        assert!(get(&recs[3]).take_request(now).is_err());
    }

    /// The nodes record a window's claims under one row id. Deleting the older key of a roll
    /// must not move it: a node that applied the delete would sync an empty row and raise its
    /// claim while the others still counted in the old one (84 of 60 in review). A node that
    /// starts after the delete agrees too.
    #[test]
    fn a_roll_chains_claims_stay_under_one_row_when_its_older_key_goes() {
        let limited = |id, from: Option<KeyId>, to: Option<KeyId>| KeyRecord {
            rate_limit: Some(PerMinute::parse("r", 60).unwrap()),
            rotated_from: from,
            rotated_to: to,
            ..record(id, &[], &[])
        };
        let rows = |index: &KeyIndex| -> Vec<KeyId> {
            let mut rows: Vec<KeyId> = index.windows().iter().map(|(id, ..)| *id).collect();
            rows.sort_unstable();
            rows
        };
        let running = KeyIndex::default();
        running.upsert(&limited(5, None, None));
        running.upsert(&limited(5, None, Some(6)));
        running.upsert(&limited(6, Some(5), None));
        running.upsert(&limited(9, None, None));
        assert_eq!(rows(&running), vec![5, 9]);
        running.remove_id(5);
        assert_eq!(rows(&running), vec![5, 9], "the same row after the delete");
        // The list is kept between changes, and a change renews it.
        assert!(Arc::ptr_eq(&running.windows(), &running.windows()));
        running.remove_id(9);
        assert_eq!(rows(&running), vec![5]);
        let started_after = KeyIndex::default();
        started_after.replace_all(&[limited(6, Some(5), None), limited(9, None, None)]);
        assert_eq!(
            rows(&started_after),
            vec![5, 9],
            "and on a node started since"
        );
    }
}
