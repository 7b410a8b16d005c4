//! API keys: the gate every new key passes, their records, usage, request log and the audit
//! trail of their lifecycle.

use super::kv::{ReadTransaction, ReadableTable, TableHandle, WriteTransaction};

use super::audit::record;
use super::catalog::Catalog;
use super::key_index::KeyIndex;
use super::records::{DomainId, KeyId, KeyRecord, KeyRequestRecord, KeyStatus, KeyUsage, Source};
use super::tables::{API_KEYS, DOMAINS, KEY_REQUESTS, KEY_USAGE, KEY_USAGE_DAYS, KEY_USAGE_HOURS};
use super::usage::StatusFilter;
use super::{
    decode, decode_or_skip, decode_row, encode, next_id, page_newest_first, Store, StoreError,
};
use crate::audit::{Action, By, Entry};
use crate::domain::{
    now, parse_rfc3339, AllowList, DomainError, Hostname, IpPolicy, KeyName, PerMinute,
    Permissions, Timestamp, Username,
};
use crate::keys::{KeyDigest, KeyRuleError, Outcome, Transition};
pub use crate::keys::{KeyPatch, Rolled};

/// A new key as asked for, before any check: the fields of `POST /api/v1/api-keys` and of
/// `linkdock keys create`. [`KeyDraft::validate`] is the one gate both pass through.
#[derive(Debug, Clone, Default)]
pub struct KeyDraft {
    pub name: String,
    /// Host names; empty: every domain.
    pub domains: Vec<String>,
    /// `None`: allowed from everywhere unless a whitelist is given (see [`IpPolicy::choose`]).
    pub allow_all_ips: Option<bool>,
    pub ip_whitelist: Vec<String>,
    /// RFC 3339, in the future; `None`: never.
    pub expires_at: Option<String>,
    /// Permission names; `None`: every permission.
    pub permissions: Option<Vec<String>>,
    /// Requests per minute; `None`: no limit.
    pub rate_limit_per_minute: Option<u64>,
}

/// A key that passed the gate: every field parsed, its domains known.
#[derive(Debug, Clone)]
pub struct KeySpec {
    pub name: KeyName,
    pub domains: Vec<DomainId>,
    pub ip: IpPolicy,
    pub expires_at: Option<Timestamp>,
    pub permissions: Permissions,
    pub rate_limit: Option<PerMinute>,
    /// The signed-in user who made it; `None` for the CLI and the config file.
    pub created_by: Option<Username>,
}

impl KeySpec {
    /// A spec with every default: all domains, all addresses, never expires, every
    /// permission, no rate limit.
    pub fn named(name: KeyName) -> Self {
        Self {
            name,
            domains: Vec::new(),
            ip: IpPolicy::Any,
            expires_at: None,
            permissions: Permissions::ALL,
            rate_limit: None,
            created_by: None,
        }
    }
}

impl KeyDraft {
    /// Parse every field, reporting all that fail: the name, each domain (it must exist), the
    /// IP rule ([`IpPolicy::choose`], the same rule as a declared `[[api_keys]]`), an expiry
    /// in the future, the permissions ([`Permissions::parse`]) and the rate limit
    /// ([`PerMinute::parse`]).
    pub fn validate(self, catalog: &Catalog, now: Timestamp) -> Result<KeySpec, Vec<DomainError>> {
        let mut errs = Vec::new();
        let name = KeyName::parse(&self.name).map_err(|e| errs.push(e)).ok();
        let domains = domain_ids(catalog, &self.domains)
            .map_err(|e| errs.extend(e))
            .ok();
        let ip = AllowList::parse("ip_whitelist", &self.ip_whitelist)
            .map_err(|e| errs.extend(e))
            .ok()
            .and_then(|list| {
                IpPolicy::choose(self.allow_all_ips, list)
                    .map_err(|e| errs.push(e))
                    .ok()
            });
        let expires_at = self
            .expires_at
            .map(|raw| future_expiry(&raw, now).map_err(|e| errs.push(e)).ok());
        let permissions = match self.permissions {
            None => Some(Permissions::ALL),
            Some(names) => Permissions::parse("permissions", &names)
                .map_err(|e| errs.extend(e))
                .ok(),
        };
        let rate_limit = self.rate_limit_per_minute.map(|n| {
            PerMinute::parse("rate_limit_per_minute", n)
                .map_err(|e| errs.push(e))
                .ok()
        });
        match (name, domains, ip, permissions) {
            (Some(name), Some(domains), Some(ip), Some(permissions)) if errs.is_empty() => {
                Ok(KeySpec {
                    name,
                    domains,
                    ip,
                    expires_at: expires_at.flatten(),
                    permissions,
                    rate_limit: rate_limit.flatten(),
                    created_by: None,
                })
            }
            _ => Err(errs),
        }
    }
}

/// Host names → ids of known domains, each failure named by its index.
pub fn domain_ids(catalog: &Catalog, hosts: &[String]) -> Result<Vec<DomainId>, Vec<DomainError>> {
    let mut ids = Vec::new();
    let mut errs = Vec::new();
    for (i, h) in hosts.iter().enumerate() {
        let field = format!("domains[{i}]");
        match Hostname::parse(h).map_err(|e| e.at(field.clone())) {
            Ok(host) => match catalog.domain_by_host(host.as_str()) {
                Some(d) if !ids.contains(&d.id) => ids.push(d.id),
                Some(_) => {}
                None => errs.push(DomainError::new(
                    field,
                    format!("names the unknown domain “{host}”"),
                )),
            },
            Err(e) => errs.push(e),
        }
    }
    if errs.is_empty() {
        Ok(ids)
    } else {
        Err(errs)
    }
}

/// An expiry for a new or changed key: RFC 3339 and in the future.
pub fn future_expiry(raw: &str, now: Timestamp) -> Result<Timestamp, DomainError> {
    let t = parse_rfc3339(raw, "expires_at")?;
    if t <= now {
        return Err(DomainError::new("expires_at", "must be in the future"));
    }
    Ok(t)
}

/// A key that passed the gate and was issued: what the store writes for it.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    pub spec: KeySpec,
    /// The display prefix of the issued value.
    pub prefix: String,
    pub digest: KeyDigest,
}

/// Write one new key and its audit entry (`create_key`, `create_keys`).
fn insert_new_key(
    tx: &WriteTransaction,
    id: KeyId,
    k: IssuedKey,
    source: Source,
    at: Timestamp,
    by: &By,
) -> Result<KeyRecord, StoreError> {
    check_domains(tx, &k.spec.domains)?;
    let spec = k.spec;
    let rec = KeyRecord {
        id,
        name: spec.name,
        prefix: k.prefix,
        digest: k.digest,
        domains: spec.domains,
        ip: spec.ip,
        expires_at: spec.expires_at,
        status: KeyStatus::Active,
        source,
        created_at: at,
        updated_at: at,
        permissions: spec.permissions,
        rate_limit: spec.rate_limit,
        rotated_to: None,
        rotated_at: None,
        rotated_from: None,
        created_by: spec.created_by,
    };
    put_key(tx, &rec)?;
    record(
        tx,
        &Entry::new(by, Action::KeyCreated)
            .target(key_target(&rec))
            .detail(format!("named {}", rec.name)),
    )?;
    Ok(rec)
}

/// Every key that decodes; one that does not is logged and left out (see `decode_or_skip`).
pub(super) fn all_keys(tx: &ReadTransaction) -> Result<Vec<KeyRecord>, StoreError> {
    keys_in(&tx.open_table(API_KEYS)?)
}

/// Every key that decodes into a fresh index, one record at a time (never all the records at
/// once: with 100,000 keys that list was most of a start's memory).
pub(super) fn load_keys(tx: &ReadTransaction, keys: &KeyIndex) -> Result<(), StoreError> {
    let table = tx.open_table(API_KEYS)?;
    let mut loader = keys.loader(usize::try_from(table.len()?).unwrap_or(0));
    for r in table.iter()? {
        let (id, v) = r?;
        if let Some(rec) = decode_or_skip::<KeyRecord>(API_KEYS.name(), id.value(), v.value()) {
            loader.add(&rec);
        }
    }
    loader.finish();
    Ok(())
}

/// [`all_keys`] of a table already open (in a write transaction).
pub(super) fn keys_in(
    table: &impl ReadableTable<KeyId, &'static [u8]>,
) -> Result<Vec<KeyRecord>, StoreError> {
    let mut out = Vec::new();
    for r in table.iter()? {
        let (id, v) = r?;
        out.extend(decode_or_skip(API_KEYS.name(), id.value(), v.value()));
    }
    Ok(out)
}

pub(super) fn get_key(tx: &WriteTransaction, id: KeyId) -> Result<Option<KeyRecord>, StoreError> {
    tx.open_table(API_KEYS)?
        .get(id)?
        .map(|g| decode_row(API_KEYS.name(), id, g.value()))
        .transpose()
}

pub(super) fn put_key(tx: &WriteTransaction, rec: &KeyRecord) -> Result<(), StoreError> {
    tx.open_table(API_KEYS)?
        .insert(rec.id, encode(rec).as_slice())?;
    Ok(())
}

pub(super) fn remove_key(tx: &WriteTransaction, id: KeyId) -> Result<(), StoreError> {
    tx.open_table(API_KEYS)?.remove(id)?;
    tx.open_table(KEY_USAGE)?.remove(id)?;
    tx.open_table(KEY_REQUESTS)?
        .retain_in((id, 0)..=(id, u64::MAX), |_, _| false)?;
    // Its counts per hour and day go with it: (bucket, key), so one point read per bucket
    // still on record (at most the kept hours and days), not a scan of every key's rows.
    for def in [KEY_USAGE_HOURS, KEY_USAGE_DAYS] {
        let mut table = tx.open_table(def)?;
        let first = table.first()?.map(|(k, _)| k.value().0);
        let last = table.last()?.map(|(k, _)| k.value().0);
        if let (Some(first), Some(last)) = (first, last) {
            for bucket in first..=last {
                table.remove((bucket, id))?;
            }
        }
    }
    Ok(())
}

pub(super) fn check_domains(tx: &WriteTransaction, ids: &[DomainId]) -> Result<(), StoreError> {
    let domains = tx.open_table(DOMAINS)?;
    for (i, id) in ids.iter().enumerate() {
        if domains.get(*id)?.is_none() {
            return Err(StoreError::Invalid(DomainError::new(
                format!("domains[{i}]"),
                "unknown domain",
            )));
        }
    }
    Ok(())
}

/// How an entry names a key: its id and display prefix, never more of it.
pub(super) fn key_target(rec: &KeyRecord) -> String {
    format!("key {} ({})", rec.id, rec.prefix)
}

/// A rule's refusal as the API has always answered it: 409 with the rule's words, 400 for a
/// field.
impl From<KeyRuleError> for StoreError {
    fn from(e: KeyRuleError) -> Self {
        match e {
            KeyRuleError::Invalid(d) => Self::Invalid(d),
            other => Self::Conflict(other.to_string()),
        }
    }
}

fn usage_of(tx: &ReadTransaction, id: KeyId) -> Result<KeyUsage, StoreError> {
    Ok(tx
        .open_table(KEY_USAGE)?
        .get(id)?
        .map(|g| decode(g.value()))
        .transpose()?
        .unwrap_or_default())
}

impl Store {
    /// Store a key that passed the gate, under the digest of its (already issued) value.
    pub fn create_key(
        &self,
        spec: KeySpec,
        prefix: String,
        digest: KeyDigest,
        source: Source,
        by: &By,
    ) -> Result<KeyRecord, StoreError> {
        let issued = IssuedKey {
            spec,
            prefix,
            digest,
        };
        self.write(
            |tx| insert_new_key(tx, next_id(tx, "api_keys")?, issued, source, now(), by),
            |rec| self.keys.upsert(rec),
        )
    }

    /// Store keys that passed the gate, all or none, in one transaction (one durable commit
    /// for the batch, not one per key), each with its own audit entry, and add them to the
    /// index once committed. A failure names the item: `keys[3].domains[0]`.
    pub fn create_keys(
        &self,
        keys: Vec<IssuedKey>,
        source: Source,
        by: &By,
    ) -> Result<Vec<KeyRecord>, StoreError> {
        self.write(
            |tx| {
                let count = u64::try_from(keys.len()).unwrap_or(u64::MAX);
                let first = super::next_ids(tx, "api_keys", count)?;
                let at = now();
                let mut out = Vec::with_capacity(keys.len());
                for (id, (i, k)) in (first..).zip(keys.into_iter().enumerate()) {
                    let rec = insert_new_key(tx, id, k, source, at, by).map_err(|e| match e {
                        StoreError::Invalid(d) => {
                            let field = format!("keys[{i}].{}", d.field);
                            StoreError::Invalid(d.at(field))
                        }
                        other => other,
                    })?;
                    out.push(rec);
                }
                Ok(out)
            },
            |recs| {
                for rec in recs {
                    self.keys.upsert(rec);
                }
            },
        )
    }

    /// Apply `patch`; the key value never changes. An expiry moved into the future
    /// reactivates a key the sweeper had marked expired.
    pub fn update_key(&self, id: KeyId, patch: KeyPatch, by: &By) -> Result<KeyRecord, StoreError> {
        self.write(
            |tx| {
                let mut rec = get_key(tx, id)?.ok_or(StoreError::NotFound("API key"))?;
                // Read-only before unknown domains, as the API has always answered.
                rec.editable()?;
                if let Some(d) = &patch.domains {
                    check_domains(tx, d)?;
                }
                rec.apply(patch, now())?;
                put_key(tx, &rec)?;
                record(
                    tx,
                    &Entry::new(by, Action::KeyUpdated).target(key_target(&rec)),
                )?;
                Ok(rec)
            },
            |rec| self.keys.upsert(rec),
        )
    }

    /// Roll a key: a new key (already issued: `prefix`, `digest`) with the same name, scope, IP
    /// rule, expiry, permissions and rate limit, linked both ways to the old one, which keeps
    /// working until `old_works_until` (now, when that is not in the future). Only an active
    /// key that was not rolled before can be rolled; config keys are read-only.
    pub fn roll_key(
        &self,
        id: KeyId,
        old_works_until: Timestamp,
        prefix: String,
        digest: KeyDigest,
        by: &By,
    ) -> Result<Rolled, StoreError> {
        self.write(
            |tx| {
                let old = get_key(tx, id)?.ok_or(StoreError::NotFound("API key"))?;
                let at = now();
                // A refused roll aborts the transaction, so the id it took is not used up.
                let Rolled { old, new } = old.roll(
                    next_id(tx, "api_keys")?,
                    prefix,
                    digest,
                    old_works_until,
                    at,
                )?;
                put_key(tx, &new)?;
                put_key(tx, &old)?;
                record(
                    tx,
                    &Entry::new(by, Action::KeyRolled)
                        .target(key_target(&old))
                        .detail(format!(
                            "rolled to {}; the old key works until {}",
                            key_target(&new),
                            old.rotated_at.unwrap_or(at)
                        )),
                )?;
                Ok(Rolled { old, new })
            },
            |r| {
                self.keys.upsert(&r.old);
                self.keys.upsert(&r.new);
            },
        )
    }

    pub fn revoke_key(&self, id: KeyId, by: &By) -> Result<KeyRecord, StoreError> {
        self.write(
            |tx| {
                let mut rec = get_key(tx, id)?.ok_or(StoreError::NotFound("API key"))?;
                rec.editable()?;
                rec.revoke(now());
                put_key(tx, &rec)?;
                record(
                    tx,
                    &Entry::new(by, Action::KeyRevoked).target(key_target(&rec)),
                )?;
                Ok(rec)
            },
            |rec| self.keys.upsert(rec),
        )
    }

    /// Switch a key off until it is enabled again: it answers 401 "disabled" from the very next
    /// request (the index is updated under the write lock, like a revoke). Only a key that
    /// works can be disabled; disabling a disabled key changes nothing.
    pub fn disable_key(&self, id: KeyId, by: &By) -> Result<KeyRecord, StoreError> {
        self.switch(id, Transition::Disable, by)
    }

    /// Switch a disabled key back on. It is active again unless it expired or its roll's grace
    /// period ended meanwhile (`KeyStatus::at` judges that); a revoked key stays revoked (409).
    pub fn enable_key(&self, id: KeyId, by: &By) -> Result<KeyRecord, StoreError> {
        self.switch(id, Transition::Enable, by)
    }

    fn switch(&self, id: KeyId, to: Transition, by: &By) -> Result<KeyRecord, StoreError> {
        self.write(
            |tx| {
                let mut rec = get_key(tx, id)?.ok_or(StoreError::NotFound("API key"))?;
                if rec.transition(to, now())? == Outcome::Unchanged {
                    return Ok(rec);
                }
                put_key(tx, &rec)?;
                let action = match to {
                    Transition::Disable => Action::KeyDisabled,
                    Transition::Enable => Action::KeyEnabled,
                };
                record(tx, &Entry::new(by, action).target(key_target(&rec)))?;
                Ok(rec)
            },
            |rec| self.keys.upsert(rec),
        )
    }

    pub fn delete_key(&self, id: KeyId, by: &By) -> Result<(), StoreError> {
        let rec = self.write(
            |tx| {
                let rec = get_key(tx, id)?.ok_or(StoreError::NotFound("API key"))?;
                rec.editable()?;
                remove_key(tx, id)?;
                record(
                    tx,
                    &Entry::new(by, Action::KeyDeleted).target(key_target(&rec)),
                )?;
                Ok(rec)
            },
            |rec| self.keys.remove(&rec.digest),
        )?;
        drop(rec);
        Ok(())
    }

    /// Every key with its usage, newest first.
    pub fn keys_with_usage(&self) -> Result<Vec<(KeyRecord, KeyUsage)>, StoreError> {
        self.read(|tx| {
            let mut out = Vec::new();
            for rec in all_keys(tx)?.into_iter().rev() {
                let usage = usage_of(tx, rec.id)?;
                out.push((rec, usage));
            }
            Ok(out)
        })
    }

    pub fn key_with_usage(&self, id: KeyId) -> Result<Option<(KeyRecord, KeyUsage)>, StoreError> {
        self.read(|tx| {
            let Some(rec) = tx
                .open_table(API_KEYS)?
                .get(id)?
                .map(|g| decode_row::<KeyRecord>(API_KEYS.name(), id, g.value()))
                .transpose()?
            else {
                return Ok(None);
            };
            let usage = usage_of(tx, id)?;
            Ok(Some((rec, usage)))
        })
    }

    /// The key whose value has this digest, whatever its status (for the leaked-key check).
    pub fn key_by_digest(&self, digest: &KeyDigest) -> Result<Option<KeyRecord>, StoreError> {
        match self.keys.get(digest) {
            Some(entry) => Ok(self.key_with_usage(entry.id)?.map(|(k, _)| k)),
            None => Ok(None),
        }
    }

    /// A page of a key's request log, newest first, and the number kept.
    pub fn key_requests(
        &self,
        id: KeyId,
        status: Option<StatusFilter>,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<KeyRequestRecord>, usize), StoreError> {
        self.read(|tx| {
            let table = tx.open_table(KEY_REQUESTS)?;
            let rows = table.range((id, 0)..=(id, u64::MAX))?;
            let Some(filter) = status else {
                return page_newest_first(rows, offset, limit);
            };
            // Filtered: every entry is decoded to read its status (at most
            // `KEY_REQUEST_LOG_LIMIT` of them).
            let mut total = 0;
            let mut page = Vec::new();
            for r in rows.rev() {
                let (_, v) = r?;
                let rec: KeyRequestRecord = decode(v.value())?;
                if !filter.keeps(rec.status) {
                    continue;
                }
                if total >= offset && page.len() < limit {
                    page.push(rec);
                }
                total += 1;
            }
            Ok((page, total))
        })
    }

    /// Mark active keys past their expiry as `expired`, with an audit event each.
    pub fn expire_keys(&self, at: Timestamp) -> Result<Vec<KeyRecord>, StoreError> {
        self.write(
            |tx| {
                let mut due = keys_in(&tx.open_table(API_KEYS)?)?;
                due.retain_mut(|k| k.expire(at));
                for k in &due {
                    put_key(tx, k)?;
                    record(
                        tx,
                        &Entry::new(&By::sweeper(), Action::KeyExpired)
                            .at(at)
                            .target(key_target(k))
                            .detail(format!("expired at {}", k.expires_at.unwrap_or(at))),
                    )?;
                }
                Ok(due)
            },
            |due| {
                for k in due {
                    self.keys.upsert(k);
                }
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::KeyPrefix;

    #[test]
    fn a_key_record_with_an_unreadable_time_is_an_error_about_it_and_the_rest_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let rng = ring::rand::SystemRandom::new();
        let mut digests = Vec::new();
        {
            let store = Store::open(dir.path()).unwrap();
            for name in ["bricked", "fine"] {
                let (plain, digest) = crate::keys::issue(&rng, &KeyPrefix::default()).unwrap();
                store
                    .create_key(
                        KeySpec::named(KeyName::parse(name).unwrap()),
                        plain.display_prefix(),
                        digest,
                        Source::Api,
                        &By::command_line(),
                    )
                    .unwrap();
                digests.push(digest);
            }
            // Key 1 as an earlier build wrote a grace end past year 9999 (`@` + seconds).
            let tx = store.db.begin_write().unwrap();
            {
                let mut t = tx.open_table(API_KEYS).unwrap();
                let mut v: serde_json::Value =
                    serde_json::from_slice(t.get(1).unwrap().unwrap().value()).unwrap();
                v["rotated_at"] = "@253402304400".into();
                t.insert(1, serde_json::to_vec(&v).unwrap().as_slice())
                    .unwrap();
            }
            tx.commit().unwrap();
        }
        let store = Store::open(dir.path()).expect("the database still opens");
        assert!(store.keys.get(&digests[0]).is_none(), "left out: refused");
        assert_eq!(store.keys.get(&digests[1]).unwrap().id, 2);
        let listed = store.keys_with_usage().unwrap();
        assert_eq!(listed.iter().map(|(k, _)| k.id).collect::<Vec<_>>(), [2]);
        let e = store.key_with_usage(1).unwrap_err().to_string();
        assert!(e.contains("api_keys_v1 record 1"), "{e}");
        let e = store
            .revoke_key(1, &By::command_line())
            .unwrap_err()
            .to_string();
        assert!(e.contains("api_keys_v1 record 1"), "{e}");
        assert!(store.expire_keys(now()).unwrap().is_empty());
    }

    #[test]
    fn disabling_reaches_the_index_at_once_and_revoking_is_for_good() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (plain, digest) =
            crate::keys::issue(&ring::rand::SystemRandom::new(), &KeyPrefix::default()).unwrap();
        let rec = store
            .create_key(
                KeySpec::named(KeyName::parse("k").unwrap()),
                plain.display_prefix(),
                digest,
                Source::Api,
                &crate::audit::By::command_line(),
            )
            .unwrap();
        let usable = || store.keys.get(&digest).unwrap().usable_at(now());
        assert_eq!(
            store
                .disable_key(rec.id, &crate::audit::By::command_line())
                .unwrap()
                .status,
            KeyStatus::Disabled
        );
        assert_eq!(usable(), Err(crate::keys::KeyFailure::Disabled));
        // Past its expiry a disabled key still reads disabled; the clock judges it on enable.
        assert_eq!(
            KeyStatus::Disabled.at(
                super::super::records::KeyEnds {
                    expires_at: Some(now()),
                    rotated_at: None
                },
                now().plus_secs(5)
            ),
            KeyStatus::Disabled
        );
        assert_eq!(
            store
                .enable_key(rec.id, &crate::audit::By::command_line())
                .unwrap()
                .status,
            KeyStatus::Active
        );
        assert_eq!(usable(), Ok(()));
        store
            .revoke_key(rec.id, &crate::audit::By::command_line())
            .unwrap();
        for e in [
            store.disable_key(rec.id, &crate::audit::By::command_line()),
            store.enable_key(rec.id, &crate::audit::By::command_line()),
        ] {
            assert!(matches!(e, Err(StoreError::Conflict(m)) if m.contains("revoked")));
        }
        assert_eq!(usable(), Err(crate::keys::KeyFailure::Revoked));
        let audit = store.audit_events().unwrap();
        for event in ["key.disabled", "key.enabled"] {
            assert!(audit.iter().any(|a| a.action == event), "{event}");
        }
    }

    #[test]
    fn the_sweeper_marks_expired_keys_and_records_an_audit_event() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (plain, digest) =
            crate::keys::issue(&ring::rand::SystemRandom::new(), &KeyPrefix::default()).unwrap();
        let spec = KeySpec {
            expires_at: Some(now().plus_secs(1)),
            ..KeySpec::named(KeyName::parse("short").unwrap())
        };
        let rec = store
            .create_key(
                spec,
                plain.display_prefix(),
                digest,
                Source::Api,
                &By::command_line(),
            )
            .unwrap();
        assert!(store.expire_keys(now()).unwrap().is_empty(), "not yet");
        let swept = store.expire_keys(now().plus_secs(2)).unwrap();
        assert_eq!(swept.len(), 1);
        let (k, _) = store.key_with_usage(rec.id).unwrap().unwrap();
        assert_eq!(k.status, KeyStatus::Expired);
        assert_eq!(store.keys.get(&digest).unwrap().status, KeyStatus::Expired);
        let audit = store.audit_events().unwrap();
        assert!(audit.iter().any(|a| a.action == "key.expired"), "{audit:?}");
        assert!(audit
            .iter()
            .all(|a| !a.detail.contains(&plain.reveal()[12..])));
        assert!(
            store.expire_keys(now().plus_secs(3)).unwrap().is_empty(),
            "once"
        );
    }

    #[test]
    fn the_gate_reports_every_bad_field_and_applies_the_ip_rule() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let errs = KeyDraft {
            name: String::new(),
            domains: vec!["nope.example.com".into()],
            allow_all_ips: Some(false),
            ip_whitelist: vec![],
            expires_at: Some("2001-01-01T00:00:00Z".into()),
            permissions: Some(vec!["links:read".into(), "links:destroy".into()]),
            rate_limit_per_minute: Some(0),
        }
        .validate(&store.catalog, now())
        .unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "domains[0]",
                "ip_whitelist",
                "expires_at",
                "permissions[1]",
                "rate_limit_per_minute"
            ]
        );
        let spec = KeyDraft {
            name: "cli".into(),
            ip_whitelist: vec!["10.0.0.0/8".into()],
            ..KeyDraft::default()
        }
        .validate(&store.catalog, now())
        .unwrap();
        assert!(
            !spec.ip.is_any(),
            "a whitelist without allow_all_ips restricts the key"
        );
        assert!(spec.permissions.is_all(), "every permission by default");
        assert_eq!(spec.rate_limit, None, "no limit by default");
    }

    #[test]
    fn a_roll_links_both_keys_copies_the_rules_and_is_audited_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let rng = ring::rand::SystemRandom::new();
        let (old_plain, old_digest) = crate::keys::issue(&rng, &KeyPrefix::default()).unwrap();
        let spec = KeyDraft {
            name: "ci".into(),
            ip_whitelist: vec!["10.0.0.0/8".into()],
            permissions: Some(vec!["links:read".into()]),
            rate_limit_per_minute: Some(60),
            expires_at: Some(now().plus_secs(86_400).rfc3339()),
            ..KeyDraft::default()
        }
        .validate(&store.catalog, now())
        .unwrap();
        let old = store
            .create_key(
                spec,
                old_plain.display_prefix(),
                old_digest,
                Source::Api,
                &By::command_line(),
            )
            .unwrap();
        let (new_plain, new_digest) = crate::keys::issue(&rng, &KeyPrefix::default()).unwrap();
        let grace = now().plus_secs(3600);
        let r = store
            .roll_key(
                old.id,
                grace,
                new_plain.display_prefix(),
                new_digest,
                &By::command_line(),
            )
            .unwrap();
        assert_eq!(r.old.rotated_to, Some(r.new.id));
        assert_eq!(r.old.rotated_at, Some(grace));
        assert_eq!(r.new.rotated_from, Some(old.id));
        assert_eq!(
            (
                &r.new.name,
                &r.new.ip,
                r.new.expires_at,
                r.new.permissions,
                r.new.rate_limit
            ),
            (
                &old.name,
                &old.ip,
                old.expires_at,
                old.permissions,
                old.rate_limit
            )
        );
        assert_eq!(
            r.old.status_at(now()),
            KeyStatus::Active,
            "in its grace period"
        );
        assert_eq!(
            store.keys.get(&old_digest).unwrap().status_at(grace),
            KeyStatus::Rotated
        );
        assert!(store.keys.get(&new_digest).is_some());
        let again = store
            .roll_key(
                old.id,
                grace,
                new_plain.display_prefix(),
                new_digest,
                &By::command_line(),
            )
            .unwrap_err();
        assert!(again.to_string().contains("already rolled"), "{again}");
        let audit = store.audit_events().unwrap();
        assert_eq!(audit.iter().filter(|a| a.action == "key.rolled").count(), 1);
        // A grace period in the past ends now.
        let (p, d) = crate::keys::issue(&rng, &KeyPrefix::default()).unwrap();
        let r2 = store
            .roll_key(
                r.new.id,
                now().plus_secs(-3600),
                p.display_prefix(),
                d,
                &By::command_line(),
            )
            .unwrap();
        assert!(r2.old.rotated_at.unwrap() >= now().plus_secs(-1));
        assert_eq!(r2.old.status_at(now()), KeyStatus::Rotated);
    }

    #[test]
    fn applying_the_same_declarations_again_leaves_the_key_index_as_it_is() {
        use crate::store::declared::{DeclaredKey, DeclaredState};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let rng = ring::rand::SystemRandom::new();
        let (api, api_digest) = crate::keys::issue(&rng, &KeyPrefix::default()).unwrap();
        store
            .create_key(
                KeySpec::named(KeyName::parse("api").unwrap()),
                api.display_prefix(),
                api_digest,
                Source::Api,
                &By::command_line(),
            )
            .unwrap();
        let (_, declared_digest) = crate::keys::issue(&rng, &KeyPrefix::default()).unwrap();
        let declared = || DeclaredState {
            keys: vec![DeclaredKey {
                name: KeyName::parse("ci").unwrap(),
                digest: declared_digest,
                domains: vec![],
                ip: IpPolicy::Any,
                expires_at: None,
                permissions: Permissions::ALL,
                rate_limit: None,
            }],
            ..DeclaredState::default()
        };
        assert!(store.apply_declared(declared()).unwrap().changed());
        let before = store.keys.get(&api_digest).unwrap();
        // A start or reload with the same file: nothing written, and no second index built
        // beside the first (it doubled a start's peak with 100,000 keys).
        let again = store.apply_declared(declared()).unwrap();
        assert!(!again.changed(), "{again:?}");
        assert!(std::sync::Arc::ptr_eq(
            &before,
            &store.keys.get(&api_digest).unwrap()
        ));
        assert!(store.keys.get(&declared_digest).is_some());
        // A change is applied and the index rebuilt from the table.
        let gone = store.apply_declared(DeclaredState::default()).unwrap();
        assert_eq!(gone.removed, 1);
        assert!(store.keys.get(&declared_digest).is_none());
        assert!(store.keys.get(&api_digest).is_some());
    }
}
