//! Stored records: what the tables hold. They are not wire types; `api` maps them to views.
//!
//! Decoding runs no input validator: a value that passed its parser when it was written is
//! taken back as it is (`stored::*` below), so a rule added in a later release never stops an
//! existing database from opening. Validation belongs at the edge, on input.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::domain::{
    AllowList, DestinationUrl, Hostname, IpPolicy, IpRule, KeyName, PasswordHash, PerMinute,
    Permissions, RedirectCode, Role, Slug, Tags, Timestamp, Title, Username,
};
pub use crate::domain::{DomainId, Source};
use crate::keys::KeyDigest;
pub use crate::keys::{KeyEnds, KeyId, KeyRecord, KeyStatus};

pub type LinkId = u64;
/// A user's stable number: the API and the UI name users by it (a username could be reused
/// after a removal; an id never is).
pub type UserId = u64;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRecord {
    #[serde(deserialize_with = "stored::one")]
    pub username: Username,
    #[serde(
        serialize_with = "stored::password_hash_out",
        deserialize_with = "stored::password_hash"
    )]
    pub password_hash: PasswordHash,
    pub source: Source,
    pub created_at: Timestamp,
    /// Users stored before roles existed were the only kind there was: admins.
    #[serde(default)]
    pub role: Role,
    /// Given by the store (`next_id(tx, "users")`) when the user is created; whatever a caller
    /// puts here is replaced. Records of schema 3 have none (0) until the migration to 4.
    #[serde(default)]
    pub id: UserId,
    /// The last successful sign-in (API or UI); `None`: never signed in.
    #[serde(default)]
    pub last_sign_in_at: Option<Timestamp>,
}

impl UserRecord {
    /// A new user, for `Store::create_user` and `create_first_user` (which give it its id).
    pub fn new(
        username: Username,
        password_hash: PasswordHash,
        source: Source,
        role: Role,
    ) -> Self {
        Self {
            username,
            password_hash,
            source,
            created_at: crate::domain::now(),
            role,
            id: 0,
            last_sign_in_at: None,
        }
    }
}

pub type InviteId = u64;

/// A one-time invite (`invites_v1`). The token itself is never stored: only its SHA-256
/// (hex), which is also the key of `invite_by_digest_v1`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InviteRecord {
    pub id: InviteId,
    pub digest: String,
    /// The role the invitee gets.
    pub role: Role,
    #[serde(deserialize_with = "stored::one")]
    pub created_by: Username,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "stored::opt")]
    pub used_by: Option<Username>,
    pub withdrawn_at: Option<Timestamp>,
}

/// Where an invite stands at a time. Only `Pending` can be accepted or listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteStatus {
    Pending,
    Used,
    Expired,
    Withdrawn,
}

impl InviteRecord {
    /// Used or withdrawn wins over expired: the page says what happened to the link first.
    pub fn status_at(&self, now: Timestamp) -> InviteStatus {
        if self.used_at.is_some() {
            InviteStatus::Used
        } else if self.withdrawn_at.is_some() {
            InviteStatus::Withdrawn
        } else if now >= self.expires_at {
            InviteStatus::Expired
        } else {
            InviteStatus::Pending
        }
    }
}

/// A session, stored under the SHA-256 of its token (never the token). The fields after
/// `expires_at` came later: a session opened before reads as an unknown device at an unknown
/// address, last seen when it was opened. No older build rewrites a session record (it only
/// creates and deletes them), so they need no schema step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    #[serde(deserialize_with = "stored::one")]
    pub username: Username,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// The client address at sign-in (after trusted proxies).
    #[serde(default)]
    pub client_ip: Option<String>,
    /// A few words from the User-Agent (`domain::Device`), never the header itself.
    #[serde(default)]
    pub device: String,
    /// Moved at most once a minute, by the batched writer (`auth::session_of`).
    #[serde(default)]
    pub last_seen_at: Option<Timestamp>,
}

impl SessionRecord {
    pub fn last_seen(&self) -> Timestamp {
        self.last_seen_at.unwrap_or(self.created_at)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DomainRecord {
    pub id: DomainId,
    #[serde(deserialize_with = "stored::one")]
    pub hostname: Hostname,
    pub source: Source,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinkRecord {
    pub id: LinkId,
    pub domain_id: DomainId,
    #[serde(deserialize_with = "stored::one")]
    pub slug: Slug,
    #[serde(deserialize_with = "stored::one")]
    pub destination_url: DestinationUrl,
    #[serde(default, deserialize_with = "stored::opt")]
    pub title: Option<Title>,
    #[serde(deserialize_with = "stored::one")]
    pub tags: Tags,
    #[serde(deserialize_with = "stored::one")]
    pub redirect_code: RedirectCode,
    pub expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The layout of `links_v2` (postcard, so field order is the format): strings are read in
/// place, tags joined by `;`, times as Unix seconds. Adding a field means a new table.
#[derive(Serialize, Deserialize)]
pub(super) struct StoredLink<'a> {
    pub id: LinkId,
    pub domain_id: DomainId,
    pub slug: &'a str,
    pub destination_url: &'a str,
    pub title: Option<&'a str>,
    pub tags: &'a str,
    pub redirect_code: u16,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl StoredLink<'_> {
    pub fn fields(&self) -> super::link_table::LinkFields<'_> {
        super::link_table::LinkFields {
            id: self.id,
            domain: self.domain_id,
            slug: self.slug,
            destination: self.destination_url,
            title: self.title,
            tags: super::link_table::TagList::Joined(self.tags),
            code: self.redirect_code,
            expires_at: self.expires_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }

    /// The owned record, taking every value as stored (no input rule runs).
    pub fn to_record(&self) -> LinkRecord {
        use crate::domain::FromStored;
        LinkRecord {
            id: self.id,
            domain_id: self.domain_id,
            slug: Slug::from_stored(self.slug.to_owned()),
            destination_url: DestinationUrl::from_stored(self.destination_url.to_owned()),
            title: self.title.map(|t| Title::from_stored(t.to_owned())),
            tags: Tags::from_stored(
                self.tags
                    .split(';')
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect(),
            )
            .unwrap_or_default(),
            redirect_code: RedirectCode::from_stored(self.redirect_code)
                .unwrap_or(RedirectCode::DEFAULT),
            expires_at: self.expires_at.map(Timestamp::from_unix),
            created_at: Timestamp::from_unix(self.created_at),
            updated_at: Timestamp::from_unix(self.updated_at),
        }
    }
}

impl LinkRecord {
    /// The bytes of `links_v2`.
    pub(super) fn encode_stored(&self) -> Vec<u8> {
        let tags = self.tags.as_slice().join(";");
        let stored = StoredLink {
            id: self.id,
            domain_id: self.domain_id,
            slug: self.slug.as_str(),
            destination_url: self.destination_url.as_str(),
            title: self.title.as_ref().map(Title::as_str),
            tags: &tags,
            redirect_code: self.redirect_code.get(),
            expires_at: self.expires_at.map(Timestamp::unix),
            created_at: self.created_at.unix(),
            updated_at: self.updated_at.unix(),
        };
        // Plain data into a Vec: postcard cannot fail here.
        postcard::to_allocvec(&stored).unwrap_or_default()
    }
}

/// Read a `links_v2` value in place.
pub(super) fn decode_link(bytes: &[u8]) -> Result<StoredLink<'_>, super::StoreError> {
    postcard::from_bytes(bytes).map_err(|e| super::StoreError::Corrupt(format!("link: {e}")))
}

/// The layout of `api_keys_v1`: the IP policy as a flag and a list. Schema 3 added the fields
/// from `permissions` on; each has a default, so a record written by schema 1 or 2 reads as a key
/// with every permission, no rate limit and no rotation.
#[derive(Serialize, Deserialize)]
struct StoredKey {
    id: KeyId,
    #[serde(deserialize_with = "stored::one")]
    name: KeyName,
    prefix: String,
    digest: KeyDigest,
    domains: Vec<DomainId>,
    allow_all_ips: bool,
    #[serde(deserialize_with = "stored::vec")]
    ip_whitelist: Vec<IpRule>,
    expires_at: Option<Timestamp>,
    status: KeyStatus,
    source: Source,
    created_at: Timestamp,
    updated_at: Timestamp,
    #[serde(default, deserialize_with = "stored::one")]
    permissions: Permissions,
    #[serde(default, deserialize_with = "stored::opt")]
    rate_limit_per_minute: Option<PerMinute>,
    #[serde(default)]
    rotated_to: Option<KeyId>,
    #[serde(default)]
    rotated_at: Option<Timestamp>,
    #[serde(default)]
    rotated_from: Option<KeyId>,
    #[serde(default, deserialize_with = "stored::opt")]
    created_by: Option<Username>,
}

// What `#[serde(from = "StoredKey", into = "StoredKey")]` did when the record lived here: the
// same bytes, now that the record is `keys`' and its layout the store's.
impl Serialize for KeyRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        StoredKey::from(self.clone()).serialize(s)
    }
}

impl<'de> Deserialize<'de> for KeyRecord {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        StoredKey::deserialize(d).map(Self::from)
    }
}

impl From<StoredKey> for KeyRecord {
    fn from(k: StoredKey) -> Self {
        Self {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            digest: k.digest,
            domains: k.domains,
            ip: IpPolicy::from_stored(k.allow_all_ips, AllowList::from_rules(k.ip_whitelist)),
            expires_at: k.expires_at,
            status: k.status,
            source: k.source,
            created_at: k.created_at,
            updated_at: k.updated_at,
            permissions: k.permissions,
            rate_limit: k.rate_limit_per_minute,
            rotated_to: k.rotated_to,
            rotated_at: k.rotated_at,
            rotated_from: k.rotated_from,
            created_by: k.created_by,
        }
    }
}

impl From<KeyRecord> for StoredKey {
    fn from(k: KeyRecord) -> Self {
        Self {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            digest: k.digest,
            domains: k.domains,
            allow_all_ips: k.ip.is_any(),
            ip_whitelist: k.ip.rules().to_vec(),
            expires_at: k.expires_at,
            status: k.status,
            source: k.source,
            created_at: k.created_at,
            updated_at: k.updated_at,
            permissions: k.permissions,
            rate_limit_per_minute: k.rate_limit,
            rotated_to: k.rotated_to,
            rotated_at: k.rotated_at,
            rotated_from: k.rotated_from,
            created_by: k.created_by,
        }
    }
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

/// One activity-log entry (`audit_v1`, keyed by its id). Schema 3 wrote only `at`, `event`
/// and `detail`: those entries read with the default actor ("unknown"), no target and no
/// address.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditRecord {
    pub at: Timestamp,
    /// A dotted action name (`audit::Action`), kept as text so that a name a later build
    /// adds still reads.
    #[serde(alias = "event")]
    pub action: String,
    #[serde(default)]
    pub actor: crate::audit::Actor,
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub client_ip: Option<String>,
    pub detail: String,
}

/// serde helpers that build domain values with `FromStored`: the encoding is checked, the
/// input rules are not.
mod stored {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::domain::{FromStored, PasswordHash};

    pub fn one<'de, D: Deserializer<'de>, T: FromStored>(d: D) -> Result<T, D::Error> {
        T::from_stored(T::Raw::deserialize(d)?).map_err(D::Error::custom)
    }

    pub fn opt<'de, D: Deserializer<'de>, T: FromStored>(d: D) -> Result<Option<T>, D::Error> {
        Option::<T::Raw>::deserialize(d)?
            .map(|raw| T::from_stored(raw).map_err(D::Error::custom))
            .transpose()
    }

    pub fn vec<'de, D: Deserializer<'de>, T: FromStored>(d: D) -> Result<Vec<T>, D::Error> {
        Vec::<T::Raw>::deserialize(d)?
            .into_iter()
            .map(|raw| T::from_stored(raw).map_err(D::Error::custom))
            .collect()
    }

    pub fn password_hash<'de, D: Deserializer<'de>>(d: D) -> Result<PasswordHash, D::Error> {
        String::deserialize(d).map(PasswordHash::from_stored)
    }

    // A `fn(&T, S)` signature is what `serialize_with` expects.
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub fn password_hash_out<S: Serializer>(h: &PasswordHash, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(h.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_decode_values_that_todays_rules_would_refuse() {
        // `api` is a reserved slug and the title is far past today's 200 characters: a later
        // release may tighten a rule, and old records must still open.
        let title = "t".repeat(500);
        let json = format!(
            r#"{{"id":1,"domain_id":1,"slug":"api","destination_url":"ftp://old.example","title":"{title}","tags":["has space"],"redirect_code":303,"expires_at":null,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}}"#
        );
        let rec: LinkRecord = serde_json::from_str(&json).expect("decoded");
        assert_eq!(rec.slug.as_str(), "api");
        assert_eq!(rec.redirect_code.get(), 303);
        assert_eq!(rec.title.map(|t| t.as_str().len()), Some(500));
        let key = r#"{"id":1,"name":"","prefix":"ldk_x","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","domains":[],"allow_all_ips":false,"ip_whitelist":["10.0.0.0/8"],"expires_at":null,"status":"active","source":"api","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}"#;
        let k: KeyRecord = serde_json::from_str(key).expect("decoded");
        assert_eq!(k.name.as_str(), "");
        assert!(!k.ip.is_any());
        let user = r#"{"username":"has space","password_hash":"legacy","source":"api","created_at":"2026-01-01T00:00:00Z"}"#;
        let u: UserRecord = serde_json::from_str(user).expect("decoded");
        assert!(!u.password_hash.verify("anything"));
        let session = r#"{"username":"admin","created_at":"2026-01-01T00:00:00Z","expires_at":"2026-01-08T00:00:00Z"}"#;
        let s: SessionRecord = serde_json::from_str(session).expect("decoded");
        assert_eq!(s.last_seen(), s.created_at);
        assert_eq!((s.client_ip, s.device.as_str()), (None, ""));
    }

    #[test]
    fn a_schema_1_key_record_has_every_permission_no_limit_and_no_rotation() {
        let v1 = r#"{"id":1,"name":"old","prefix":"ldk_x","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","domains":[],"allow_all_ips":true,"ip_whitelist":[],"expires_at":null,"status":"active","source":"api","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}"#;
        let k: KeyRecord = serde_json::from_str(v1).expect("decoded");
        assert!(k.permissions.is_all(), "{:?}", k.permissions);
        assert_eq!(k.rate_limit, None);
        assert_eq!(
            (k.rotated_to, k.rotated_at, k.rotated_from),
            (None, None, None)
        );
        assert_eq!(k.status_at(crate::domain::now()), KeyStatus::Active);
        // Written back, the new fields are there; a limit above today's maximum still decodes.
        let mut back = serde_json::to_value(&k).unwrap();
        assert_eq!(back["permissions"].as_array().unwrap().len(), 6);
        back["permissions"] = serde_json::json!(["links:read"]);
        back["rate_limit_per_minute"] = serde_json::json!(50_000_000);
        let k: KeyRecord = serde_json::from_value(back).unwrap();
        assert_eq!(k.permissions.names(), ["links:read"]);
        assert_eq!(
            k.rate_limit.map(crate::domain::PerMinute::get),
            Some(50_000_000)
        );
    }

    #[test]
    fn a_rolled_key_is_rotated_once_its_grace_ends_unless_it_expired_first() {
        let t = |s: i64| crate::domain::now().plus_secs(s);
        let now = t(0);
        let ends = |e: Option<i64>, r: Option<i64>| KeyEnds {
            expires_at: e.map(t),
            rotated_at: r.map(t),
        };
        let at = |e, r| KeyStatus::Active.at(ends(e, r), now);
        assert_eq!(at(None, Some(10)), KeyStatus::Active, "in its grace period");
        assert_eq!(at(None, Some(0)), KeyStatus::Rotated);
        assert_eq!(at(Some(-5), Some(-1)), KeyStatus::Expired, "expired first");
        assert_eq!(at(Some(-1), Some(-5)), KeyStatus::Rotated, "rotated first");
        assert_eq!(at(Some(-1), None), KeyStatus::Expired);
        assert_eq!(
            KeyStatus::Revoked.at(ends(None, Some(-1)), now),
            KeyStatus::Revoked
        );
    }

    #[test]
    fn a_key_record_keeps_the_v1_layout_on_disk() {
        let k: KeyRecord = serde_json::from_str(r#"{"id":3,"name":"k","prefix":"ldk_x","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","domains":[1],"allow_all_ips":true,"ip_whitelist":[],"expires_at":null,"status":"revoked","source":"config","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}"#).unwrap();
        let back = serde_json::to_value(&k).unwrap();
        assert_eq!(back["allow_all_ips"], true);
        assert_eq!(back["ip_whitelist"], serde_json::json!([]));
        assert_eq!(back["status"], "revoked");
    }

    #[test]
    fn a_key_record_is_written_back_byte_for_byte() {
        // Every field set, as the build whose record was `store`'s wrote it: the record moved
        // to `keys`, the bytes did not.
        let stored = r#"{"id":9,"name":"ci","prefix":"ldk_abcdefgh","digest":"sha256:00000000000000000000000000000000000000000000000000000000000000ff","domains":[1,4],"allow_all_ips":false,"ip_whitelist":["10.0.0.0/8","192.168.1.1"],"expires_at":"2027-01-01T00:00:00Z","status":"disabled","source":"api","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-02-01T00:00:00Z","permissions":["links:read","domains:read"],"rate_limit_per_minute":60,"rotated_to":10,"rotated_at":"2026-03-01T00:00:00Z","rotated_from":8,"created_by":"ann"}"#;
        let k: KeyRecord = serde_json::from_str(stored).unwrap();
        assert_eq!(k.status, KeyStatus::Disabled);
        assert_eq!(super::super::encode(&k), stored.as_bytes());
    }
}

#[cfg(test)]
mod link_layout_tests {
    use super::*;

    #[test]
    fn a_link_is_stored_compactly_and_read_back_in_place() {
        let rec: LinkRecord = serde_json::from_str(r#"{"id":123456,"domain_id":3,"slug":"abc1234","destination_url":"https://example.com/articles/2026/some-article","title":"Some article title","tags":["news","tech"],"redirect_code":302,"expires_at":null,"created_at":"2026-11-26T10:00:00Z","updated_at":"2026-11-26T10:00:00Z"}"#).unwrap();
        let bytes = rec.encode_stored();
        assert!(bytes.len() < 110, "{} bytes", bytes.len());
        let back = decode_link(&bytes).unwrap().to_record();
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&rec).unwrap()
        );
        assert!(decode_link(b"\xff\xff").is_err());
    }
}
