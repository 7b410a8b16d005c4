//! Stored records: what the tables hold. They are not wire types; `api` maps them to views.

use serde::{Deserialize, Serialize};

use crate::domain::{
    AllowList, DestinationUrl, Hostname, KeyName, RedirectCode, Slug, Tags, Timestamp, Title,
    Username,
};
use crate::keys::KeyDigest;

pub type DomainId = u64;
pub type LinkId = u64;
pub type KeyId = u64;

/// Where a resource was declared: through the API/UI, or in the config file (read-only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Api,
    Config,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRecord {
    pub username: Username,
    /// `pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>`
    pub password_hash: String,
    pub source: Source,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    pub username: Username,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DomainRecord {
    pub id: DomainId,
    pub hostname: Hostname,
    pub source: Source,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinkRecord {
    pub id: LinkId,
    pub domain_id: DomainId,
    pub slug: Slug,
    pub destination_url: DestinationUrl,
    pub title: Option<Title>,
    pub tags: Tags,
    pub redirect_code: RedirectCode,
    pub expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    Active,
    Revoked,
    Expired,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyRecord {
    pub id: KeyId,
    pub name: KeyName,
    /// The first 12 characters of the key, for recognising it in lists.
    pub prefix: String,
    pub digest: KeyDigest,
    /// Empty: every domain.
    pub domains: Vec<DomainId>,
    pub allow_all_ips: bool,
    pub ip_whitelist: AllowList,
    pub expires_at: Option<Timestamp>,
    pub status: KeyStatus,
    pub source: Source,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeyUsage {
    pub last_used_at: Option<Timestamp>,
    pub last_used_ip: Option<String>,
    pub request_count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyRequestRecord {
    pub at: Timestamp,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub ip: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryRecord {
    pub id: u64,
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: String,
    pub status: u16,
    pub duration_ms: u64,
    pub key_prefix: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditRecord {
    pub at: Timestamp,
    pub event: String,
    pub detail: String,
}
