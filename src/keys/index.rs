use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use super::KeyDigest;
use crate::domain::{AllowList, Timestamp};
use crate::error::AuthFailure;
use crate::store::records::{DomainId, KeyId, KeyRecord, KeyStatus};

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
    pub allow_all_ips: bool,
    pub ip_whitelist: AllowList,
    pub scope: DomainScope,
}

impl KeyEntry {
    pub fn from_record(rec: &KeyRecord) -> Self {
        Self {
            id: rec.id,
            prefix: rec.prefix.clone(),
            status: rec.status,
            expires_at: rec.expires_at,
            allow_all_ips: rec.allow_all_ips,
            ip_whitelist: rec.ip_whitelist.clone(),
            scope: DomainScope::from_ids(&rec.domains),
        }
    }

    /// Status and expiry, judged by the clock: the sweeper is not needed for correctness.
    pub fn usable_at(&self, now: Timestamp) -> Result<(), AuthFailure> {
        match self.status {
            KeyStatus::Revoked => Err(AuthFailure::Revoked),
            KeyStatus::Expired => Err(AuthFailure::Expired),
            KeyStatus::Active => match self.expires_at {
                Some(at) if at <= now => Err(AuthFailure::Expired),
                _ => Ok(()),
            },
        }
    }

    pub fn permits_ip(&self, ip: IpAddr) -> bool {
        self.allow_all_ips || self.ip_whitelist.contains(ip)
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
    Auth(AuthFailure),
    /// The key is valid but the client address is outside its whitelist.
    Ip,
}

impl KeyIndex {
    /// The whole per-request check: format and checksum, SHA-256, lookup, status, expiry by the
    /// clock, client IP. Domain scope is checked later, where the resource's domain is known.
    pub fn verify(
        &self,
        presented: &str,
        prefix: &crate::domain::KeyPrefix,
        ip: IpAddr,
        now: Timestamp,
    ) -> Result<Arc<KeyEntry>, Rejection> {
        let digest = super::parse_presented(presented, prefix).map_err(Rejection::Auth)?;
        let key = self
            .get(&digest)
            .ok_or(Rejection::Auth(AuthFailure::Unknown))?;
        key.usable_at(now).map_err(Rejection::Auth)?;
        if !key.permits_ip(ip) {
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

    pub fn upsert(&self, rec: &KeyRecord) {
        self.by_digest
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(rec.digest, Arc::new(KeyEntry::from_record(rec)));
    }

    pub fn remove(&self, digest: &KeyDigest) {
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
}

impl KeyIndex {
    /// `[active, revoked, expired]`, judging expiry by the clock.
    pub fn counts_by_status(&self, now: Timestamp) -> [u64; 3] {
        let map = self
            .by_digest
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = [0u64; 3];
        for e in map.values() {
            let i = match e.usable_at(now) {
                Ok(()) => 0,
                Err(AuthFailure::Revoked) => 1,
                Err(_) => 2,
            };
            out[i] += 1;
        }
        out
    }
}
