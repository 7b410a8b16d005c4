//! The in-memory key index: digest → what verification needs, kept in step with redb by every
//! key mutation (under the store's write lock), so a request never opens a transaction.

use std::collections::BTreeSet;

// foldhash (hashbrown's default): SipHash over a 32-byte digest showed in the API's profile.
use hashbrown::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use super::records::{DomainId, KeyEnds, KeyId, KeyRecord, KeyStatus};
use crate::domain::{IpPolicy, KeyPrefix, PerMinute, Permissions, Timestamp};
use crate::keys::{parse_presented, KeyDigest, KeyFailure};
use crate::limiter::{MinuteWindow, Quota};

/// Which domains a caller may touch.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// What verification needs of a key, prepared once per mutation rather than per request. The
/// rate-limit window is the one thing a request changes, and it is an atomic: reading an
/// entry and counting a request take no lock and allocate nothing.
#[derive(Debug)]
pub struct KeyEntry {
    pub id: KeyId,
    pub prefix: String,
    pub status: KeyStatus,
    pub ends: KeyEnds,
    pub ip: IpPolicy,
    pub scope: DomainScope,
    pub permissions: Permissions,
    pub rate_limit: Option<PerMinute>,
    /// Shared with the entry this one replaced (an edit, a reload) and along a roll: a rolled
    /// key and its successor count in one window, so the pair gets the rate once, not twice.
    window: Arc<MinuteWindow>,
}

impl KeyEntry {
    pub fn from_record(rec: &KeyRecord) -> Self {
        Self::with_window(rec, Arc::default())
    }

    fn with_window(rec: &KeyRecord, window: Arc<MinuteWindow>) -> Self {
        Self {
            id: rec.id,
            prefix: rec.prefix.clone(),
            status: rec.status,
            ends: rec.ends(),
            ip: rec.ip.clone(),
            scope: DomainScope::from_ids(&rec.domains),
            permissions: rec.permissions,
            rate_limit: rec.rate_limit,
            window,
        }
    }

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

    /// Count one request against the key's rate limit. `Ok(None)`: the key has no limit;
    /// `Err`: the limit is used up for this minute (the state, for `Retry-After`).
    pub fn take_request(&self, now: Timestamp) -> Result<Option<Quota>, Quota> {
        match self.rate_limit {
            None => Ok(None),
            Some(limit) => self.window.take(limit.get(), now.unix()).map(Some),
        }
    }

    /// The rate-limit state without counting a request; `None` without a limit.
    pub fn quota(&self, now: Timestamp) -> Option<Quota> {
        self.rate_limit
            .map(|limit| self.window.peek(limit.get(), now.unix()))
    }
}

/// Digest → key, kept in step with the store by every key mutation.
#[derive(Default)]
pub struct KeyIndex {
    by_digest: RwLock<HashMap<KeyDigest, Arc<KeyEntry>>>,
}

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
        let digest = parse_presented(presented, prefix)?;
        self.get(&digest).ok_or(KeyFailure::Unknown)
    }

    pub fn get(&self, digest: &KeyDigest) -> Option<Arc<KeyEntry>> {
        self.by_digest
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(digest)
            .cloned()
    }

    /// Add or replace one entry. A changed key goes on counting in its window (an edit must
    /// not hand it a fresh minute); a key made by a roll counts in its predecessor's.
    pub(super) fn upsert(&self, rec: &KeyRecord) {
        let mut map = self
            .by_digest
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let window = match map.get(&rec.digest) {
            Some(prev) => Arc::clone(&prev.window),
            None => rec
                .rotated_from
                .and_then(|from| map.values().find(|e| e.id == from))
                .map(|e| Arc::clone(&e.window))
                .unwrap_or_default(),
        };
        map.insert(rec.digest, Arc::new(KeyEntry::with_window(rec, window)));
    }

    pub(super) fn remove(&self, digest: &KeyDigest) {
        self.by_digest
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(digest);
    }

    /// Replace every entry (start, config reload); a key already there keeps its window, and
    /// the keys of one roll chain share one.
    pub fn replace_all<'a>(&self, recs: impl IntoIterator<Item = &'a KeyRecord>) {
        let recs: Vec<&KeyRecord> = recs.into_iter().collect();
        let by_id: HashMap<KeyId, &KeyRecord> = recs.iter().map(|r| (r.id, *r)).collect();
        // The first key of the chain a key was rolled from: the chain's window is kept under it.
        let root = |mut r: &'a KeyRecord| {
            for _ in 0..recs.len() {
                match r.rotated_from.and_then(|from| by_id.get(&from)) {
                    Some(&prev) => r = prev,
                    None => break,
                }
            }
            r.id
        };
        let mut map = self
            .by_digest
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut windows: HashMap<KeyId, Arc<MinuteWindow>> = HashMap::new();
        for r in &recs {
            if let Some(prev) = map.get(&r.digest) {
                windows
                    .entry(root(r))
                    .or_insert_with(|| Arc::clone(&prev.window));
            }
        }
        let next = recs
            .iter()
            .map(|r| {
                let window = Arc::clone(windows.entry(root(r)).or_default());
                (r.digest, Arc::new(KeyEntry::with_window(r, window)))
            })
            .collect();
        *map = next;
    }

    /// Keys by status (in the order of `KeyStatus::ALL`), judging expiry and rotation by the
    /// clock.
    pub fn counts_by_status(&self, now: Timestamp) -> [(KeyStatus, u64); KeyStatus::ALL.len()] {
        let map = self
            .by_digest
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = KeyStatus::ALL.map(|s| (s, 0));
        for e in map.values() {
            let status = e.status_at(now);
            if let Some(slot) = out.iter_mut().find(|(s, _)| *s == status) {
                slot.1 += 1;
            }
        }
        out
    }
}
