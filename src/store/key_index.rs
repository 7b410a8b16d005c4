//! The in-memory key index: digest → what verification needs, kept in step with redb by every
//! key mutation (under the store's write lock), so a request never opens a transaction.

use std::collections::BTreeSet;

// foldhash (hashbrown's default): SipHash over a 32-byte digest showed in the API's profile.
use hashbrown::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use super::records::{DomainId, KeyId, KeyRecord, KeyStatus};
use crate::domain::{IpPolicy, KeyPrefix, Timestamp};
use crate::keys::{parse_presented, KeyDigest, KeyFailure};

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

/// What verification needs of a key, prepared once per mutation rather than per request.
#[derive(Debug)]
pub struct KeyEntry {
    pub id: KeyId,
    pub prefix: String,
    pub status: KeyStatus,
    pub expires_at: Option<Timestamp>,
    pub ip: IpPolicy,
    pub scope: DomainScope,
}

impl KeyEntry {
    pub fn from_record(rec: &KeyRecord) -> Self {
        Self {
            id: rec.id,
            prefix: rec.prefix.clone(),
            status: rec.status,
            expires_at: rec.expires_at,
            ip: rec.ip.clone(),
            scope: DomainScope::from_ids(&rec.domains),
        }
    }

    pub fn status_at(&self, now: Timestamp) -> KeyStatus {
        self.status.at(self.expires_at, now)
    }

    /// Status and expiry, judged by the clock: the sweeper is not needed for correctness.
    pub fn usable_at(&self, now: Timestamp) -> Result<(), KeyFailure> {
        match self.status_at(now) {
            KeyStatus::Active => Ok(()),
            KeyStatus::Revoked => Err(KeyFailure::Revoked),
            KeyStatus::Expired => Err(KeyFailure::Expired),
        }
    }
}

/// Digest → key, kept in step with the store by every key mutation.
#[derive(Default)]
pub struct KeyIndex {
    by_digest: RwLock<HashMap<KeyDigest, Arc<KeyEntry>>>,
}

/// Why a presented key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    Key(KeyFailure),
    /// The key is valid but the client address is outside its whitelist.
    Ip,
}

impl KeyIndex {
    /// The whole per-request check: format and checksum, SHA-256, lookup, status, expiry by the
    /// clock, client IP. Domain scope is checked later, where the resource's domain is known.
    pub fn verify(
        &self,
        presented: &str,
        prefix: &KeyPrefix,
        ip: IpAddr,
        now: Timestamp,
    ) -> Result<Arc<KeyEntry>, Rejection> {
        let digest = parse_presented(presented, prefix).map_err(Rejection::Key)?;
        let key = self
            .get(&digest)
            .ok_or(Rejection::Key(KeyFailure::Unknown))?;
        key.usable_at(now).map_err(Rejection::Key)?;
        if !key.ip.permits(ip) {
            return Err(Rejection::Ip);
        }
        Ok(key)
    }

    pub fn get(&self, digest: &KeyDigest) -> Option<Arc<KeyEntry>> {
        self.by_digest
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(digest)
            .cloned()
    }

    pub(super) fn upsert(&self, rec: &KeyRecord) {
        self.by_digest
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(rec.digest, Arc::new(KeyEntry::from_record(rec)));
    }

    pub(super) fn remove(&self, digest: &KeyDigest) {
        self.by_digest
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(digest);
    }

    pub fn replace_all<'a>(&self, recs: impl IntoIterator<Item = &'a KeyRecord>) {
        let map = recs
            .into_iter()
            .map(|r| (r.digest, Arc::new(KeyEntry::from_record(r))))
            .collect();
        *self
            .by_digest
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = map;
    }

    /// `[active, revoked, expired]`, judging expiry by the clock.
    pub fn counts_by_status(&self, now: Timestamp) -> [u64; 3] {
        let map = self
            .by_digest
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = [0u64; 3];
        for e in map.values() {
            let i = match e.status_at(now) {
                KeyStatus::Active => 0,
                KeyStatus::Revoked => 1,
                KeyStatus::Expired => 2,
            };
            out[i] += 1;
        }
        out
    }
}
