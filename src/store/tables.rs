//! Every table linkdock stores, on one screen. Names carry a layout version: a layout changes
//! by adding a table (and a migration), never by reinterpreting old bytes.

use super::kv::{OrderedKey, TableDefinition, Value, WriteTransaction};

use super::StoreError;

/// `schema_version` and id sequences (`seq:<name>`).
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta_v1");
/// username → UserRecord
pub const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users_v1");
/// SHA-256 of the session token → SessionRecord
pub const SESSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("sessions_v1");
/// domain id → DomainRecord
pub const DOMAINS: TableDefinition<u64, &[u8]> = TableDefinition::new("domains_v1");
/// hostname → domain id
pub const DOMAIN_BY_HOST: TableDefinition<&str, u64> = TableDefinition::new("domain_by_host_v1");
/// link id → LinkRecord, postcard-encoded (`StoredLink`). The (domain, slug) index lives in
/// memory only: the catalog loads every link at start anyway, and under the store's write lock
/// it is exactly as current as a table would be, at a third of the writes and the disk.
pub const LINKS: TableDefinition<u64, &[u8]> = TableDefinition::new("links_v2");
/// link id → click count (written only by the batched writer)
pub const CLICKS: TableDefinition<u64, u64> = TableDefinition::new("clicks_v1");
/// key id → KeyRecord (SHA-256 of the key, never the key)
pub const API_KEYS: TableDefinition<u64, &[u8]> = TableDefinition::new("api_keys_v1");
/// key id → KeyUsage (written only by the batched writer)
pub const KEY_USAGE: TableDefinition<u64, &[u8]> = TableDefinition::new("key_usage_v1");
/// (key id, sequence) → KeyRequestRecord, bounded per key
pub const KEY_REQUESTS: TableDefinition<(u64, u64), &[u8]> =
    TableDefinition::new("key_requests_v1");
/// (username, entry id) → HistoryRecord
pub const HISTORY: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("playground_history_v1");
/// audit id → AuditRecord (the activity log; ids grow with time)
pub const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit_v1");
/// invite id → InviteRecord (SHA-256 of the token, never the token)
pub const INVITES: TableDefinition<u64, &[u8]> = TableDefinition::new("invites_v1");
/// SHA-256 of an invite token → invite id: the invite page finds its invite in one lookup
/// (used invites are kept, so a scan would grow with every colleague ever invited).
pub const INVITE_BY_DIGEST: TableDefinition<&[u8], u64> =
    TableDefinition::new("invite_by_digest_v1");
/// (hour since 1970, key id) → (ok, refused): a key's requests per hour (written only by the
/// batched writer; kept `usage::HOURS_KEPT`). Bucket first, so old hours prune as one range.
pub const KEY_USAGE_HOURS: TableDefinition<(u64, u64), (u64, u64)> =
    TableDefinition::new("key_usage_hours_v1");
/// (day since 1970, key id) → (ok, refused): the same per day (kept `usage::DAYS_KEPT`).
pub const KEY_USAGE_DAYS: TableDefinition<(u64, u64), (u64, u64)> =
    TableDefinition::new("key_usage_days_v1");
/// (day since 1970-01-01 UTC, link id) → `DayCounts` (one link's clicks that day, by
/// referrer host, browser, OS, and bots; written only by the batched writer). Day first, so
/// the retention sweep drops a range; a link's days are point reads.
pub const LINK_DAYS: TableDefinition<(u32, u64), &[u8]> = TableDefinition::new("link_days_v1");
/// (minute since 1970, key id) → each node's claim on the key's rate limit that minute, 20
/// bytes a node: node id, claim, count, the limit it was worked out against, big-endian
/// (PostgreSQL: a key's limit shared by the nodes; `shared_limits`). This table and the next
/// two hold only the current and the last minute, and the live nodes: they are not in
/// `each_table`, so backups and `migrate` skip them, and a redb file never has them (created
/// by SQL migrations 0002 and 0003).
pub const KEY_CLAIMS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("key_claims_v1");
/// (minute since 1970, failure source id) → failed key checks every node counted.
pub const FAILURE_MINUTES: TableDefinition<(u64, u64), u64> =
    TableDefinition::new("failure_minutes_v1");
/// node id → its last heartbeat (Unix ms): how many nodes share the limits.
pub const NODES: TableDefinition<u64, u64> = TableDefinition::new("nodes_v1");

/// "token" → when the one-time setup link was issued (unix seconds, big-endian) and the
/// SHA-256 of its token; gone once the first user exists.
pub const SETUP: TableDefinition<&str, &[u8]> = TableDefinition::new("setup_v1");

/// The schema this build writes. Older files are migrated on open; newer ones are refused.
/// 2: links as postcard in `links_v2`, without the slug and per-domain index tables.
/// 3: API keys carry permissions, a rate limit and their rotation (fields with defaults in
/// `api_keys_v1`, so older records read as they are). The number still moves: a build that
/// knows only schema 2 would drop those fields on its next write, and widen a key.
/// 4: users carry an id and their last sign-in (`users_v1`; the migration numbers the users
/// already there, and an older build would drop both on its next write).
/// 5: activity-log entries carry an actor, a target and the client's address, and name their
/// action `action` (fields with defaults in `audit_v1`; `event` is read as `action`). An older
/// build could not read the new entries.
pub const SCHEMA_VERSION: u64 = 5;

/// Tables of schema 1 that migrations read and then drop.
pub mod v1 {
    use crate::store::kv::TableDefinition;

    /// link id → LinkRecord as JSON
    pub const LINKS: TableDefinition<u64, &[u8]> = TableDefinition::new("links_v1");
    pub const LINK_BY_SLUG: TableDefinition<(u64, &str), u64> =
        TableDefinition::new("link_by_slug_v1");
    pub const LINKS_BY_DOMAIN: TableDefinition<(u64, u64), ()> =
        TableDefinition::new("links_by_domain_v1");
}

/// Something done to every table: creating them, copying them into a backup.
pub trait EachTable {
    fn table<K: OrderedKey, V: Value + 'static>(
        &mut self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<(), StoreError>;
}

/// Every table, once: the list that creation and backups share, so a new table cannot be
/// left out of either.
pub fn each_table(f: &mut impl EachTable) -> Result<(), StoreError> {
    f.table(META)?;
    f.table(USERS)?;
    f.table(SESSIONS)?;
    f.table(DOMAINS)?;
    f.table(DOMAIN_BY_HOST)?;
    f.table(LINKS)?;
    f.table(CLICKS)?;
    f.table(API_KEYS)?;
    f.table(KEY_USAGE)?;
    f.table(KEY_REQUESTS)?;
    f.table(HISTORY)?;
    f.table(AUDIT)?;
    f.table(INVITES)?;
    f.table(INVITE_BY_DIGEST)?;
    f.table(KEY_USAGE_HOURS)?;
    f.table(KEY_USAGE_DAYS)?;
    f.table(LINK_DAYS)?;
    f.table(SETUP)?;
    Ok(())
}

/// Create every table once, so readers never meet `TableDoesNotExist`.
pub fn create_all(tx: &WriteTransaction) -> Result<(), StoreError> {
    struct Create<'a>(&'a WriteTransaction<'a>);
    impl EachTable for Create<'_> {
        fn table<K: OrderedKey, V: Value + 'static>(
            &mut self,
            def: TableDefinition<'static, K, V>,
        ) -> Result<(), StoreError> {
            self.0.open_table(def)?;
            Ok(())
        }
    }
    each_table(&mut Create(tx))
}
