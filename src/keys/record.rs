//! A key as the store keeps it, and where it stands at a time. The stored layout (`StoredKey`,
//! `api_keys_v1`) stays with the store, in `store::records`; the record lives here so that the
//! key's rules (`super::rules`) are pure functions every storage engine shares.

use serde::{Deserialize, Serialize};

use super::KeyDigest;
use crate::domain::{
    DomainId, IpPolicy, KeyName, PerMinute, Permissions, Source, Timestamp, Username,
};

pub type KeyId = u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    Active,
    Revoked,
    Expired,
    /// Rolled, and its grace period is over: the key that replaced it works instead.
    Rotated,
    /// Switched off by a user until they enable it again (revoking stays permanent). Last, so
    /// the older statuses keep their stored names; an older build that meets it skips the key
    /// (`decode_or_skip`), so it never works where it should not.
    Disabled,
}

/// When an active key stops working by the clock: its expiry, and the end of the grace period
/// it was given when it was rolled. Either may be absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyEnds {
    pub expires_at: Option<Timestamp>,
    pub rotated_at: Option<Timestamp>,
}

impl KeyStatus {
    /// Every status, in the order `counts_by_status` and `/metrics` list them.
    pub const ALL: [Self; 5] = [
        Self::Active,
        Self::Revoked,
        Self::Expired,
        Self::Rotated,
        Self::Disabled,
    ];

    /// The status a key has at `now`: an active key past its expiry is expired, and past the
    /// end of its rotation grace period rotated (whichever came first), whether or not the
    /// sweeper has marked it yet. The one place that decides it. Any other status stays: a
    /// disabled key reads `disabled` (past its expiry too) until it is enabled or revoked.
    pub fn at(self, ends: KeyEnds, now: Timestamp) -> Self {
        if self != Self::Active {
            return self;
        }
        let due = |t: Option<Timestamp>| t.filter(|t| *t <= now);
        match (due(ends.expires_at), due(ends.rotated_at)) {
            (Some(e), Some(r)) if e < r => Self::Expired,
            (_, Some(_)) => Self::Rotated,
            (Some(_), None) => Self::Expired,
            (None, None) => Self::Active,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::Rotated => "rotated",
            Self::Disabled => "disabled",
        }
    }
}

/// An API key as stored: the SHA-256 of the key, never the key. Encoded through
/// `store::records::StoredKey`.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub id: KeyId,
    pub name: KeyName,
    /// The first 12 characters of the key, for recognising it in lists.
    pub prefix: String,
    pub digest: KeyDigest,
    /// Empty: every domain.
    pub domains: Vec<DomainId>,
    pub ip: IpPolicy,
    pub expires_at: Option<Timestamp>,
    pub status: KeyStatus,
    pub source: Source,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// What the key may do (schema 3; keys stored before have every permission).
    pub permissions: Permissions,
    /// Requests per minute; `None`: no limit.
    pub rate_limit: Option<PerMinute>,
    /// Set when the key was rolled: the key that replaced it...
    pub rotated_to: Option<KeyId>,
    /// ...and when this key stops working (the end of its grace period).
    pub rotated_at: Option<Timestamp>,
    /// On a key made by rolling another: the key it replaced.
    pub rotated_from: Option<KeyId>,
    /// The signed-in user who made it (a roll keeps it); `None`: the CLI or the config file.
    pub created_by: Option<Username>,
}

impl KeyRecord {
    pub fn ends(&self) -> KeyEnds {
        KeyEnds {
            expires_at: self.expires_at,
            rotated_at: self.rotated_at,
        }
    }

    pub fn status_at(&self, now: Timestamp) -> KeyStatus {
        self.status.at(self.ends(), now)
    }
}
