//! API keys, their usage and request log, the audit trail and playground history.

use std::collections::HashMap;

use redb::{ReadTransaction, ReadableTable, WriteTransaction};

use super::records::{
    AuditRecord, DomainId, HistoryRecord, KeyId, KeyRecord, KeyRequestRecord, KeyStatus, KeyUsage,
    LinkId, Source,
};
use super::tables::{API_KEYS, AUDIT, CLICKS, DOMAINS, HISTORY, KEY_REQUESTS, KEY_USAGE, LINKS};
use super::{decode, encode, keep_newest, next_id, next_ids, page_newest_first, Store, StoreError};
use crate::domain::{now, AllowList, DomainError, KeyName, Timestamp};
use crate::keys::KeyDigest;

/// How many requests the log keeps per key (older ones are dropped by the writer).
pub const KEY_REQUEST_LOG_LIMIT: u64 = 1000;

#[derive(Debug, Clone)]
pub struct NewKey {
    pub name: KeyName,
    pub prefix: String,
    pub digest: KeyDigest,
    pub domains: Vec<DomainId>,
    pub allow_all_ips: bool,
    pub ip_whitelist: AllowList,
    pub expires_at: Option<Timestamp>,
}

/// A validated key update; `Some(None)` clears the expiry.
#[derive(Debug, Clone, Default)]
pub struct KeyPatch {
    pub name: Option<KeyName>,
    pub domains: Option<Vec<DomainId>>,
    pub allow_all_ips: Option<bool>,
    pub ip_whitelist: Option<AllowList>,
    pub expires_at: Option<Option<Timestamp>>,
}

/// Per-request events, aggregated by the batched writer.
#[derive(Debug, Default)]
pub struct EventBatch {
    pub clicks: HashMap<LinkId, u64>,
    pub usage: HashMap<KeyId, (u64, Timestamp, String)>,
    pub requests: Vec<(KeyId, KeyRequestRecord)>,
    pub audits: Vec<AuditRecord>,
}

impl EventBatch {
    pub fn is_empty(&self) -> bool {
        self.clicks.is_empty()
            && self.usage.is_empty()
            && self.requests.is_empty()
            && self.audits.is_empty()
    }
}

pub(super) fn all_keys(tx: &ReadTransaction) -> Result<Vec<KeyRecord>, StoreError> {
    tx.open_table(API_KEYS)?
        .iter()?
        .map(|r| decode(r?.1.value()))
        .collect()
}

pub(super) fn get_key(tx: &WriteTransaction, id: KeyId) -> Result<Option<KeyRecord>, StoreError> {
    tx.open_table(API_KEYS)?
        .get(id)?
        .map(|g| decode(g.value()))
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

pub(super) fn audit(tx: &WriteTransaction, event: &str, detail: String) -> Result<(), StoreError> {
    let rec = AuditRecord {
        at: now(),
        event: event.to_owned(),
        detail,
    };
    let id = next_id(tx, "audit")?;
    tx.open_table(AUDIT)?.insert(id, encode(&rec).as_slice())?;
    Ok(())
}

fn read_only(rec: &KeyRecord) -> Result<(), StoreError> {
    if rec.source == Source::Config {
        return Err(StoreError::Conflict(
            "this key is declared in the config file and is read-only here".into(),
        ));
    }
    Ok(())
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
    pub fn create_key(&self, new: NewKey, source: Source) -> Result<KeyRecord, StoreError> {
        self.write(
            |tx| {
                check_domains(tx, &new.domains)?;
                let at = now();
                let rec = KeyRecord {
                    id: next_id(tx, "api_keys")?,
                    name: new.name,
                    prefix: new.prefix,
                    digest: new.digest,
                    domains: new.domains,
                    allow_all_ips: new.allow_all_ips,
                    ip_whitelist: new.ip_whitelist,
                    expires_at: new.expires_at,
                    status: KeyStatus::Active,
                    source,
                    created_at: at,
                    updated_at: at,
                };
                put_key(tx, &rec)?;
                audit(
                    tx,
                    "key.created",
                    format!("key {} ({})", rec.id, rec.prefix),
                )?;
                Ok(rec)
            },
            |rec| self.keys.upsert(rec),
        )
    }

    /// Apply `patch`; the key value never changes. An expiry moved into the future
    /// reactivates a key the sweeper had marked expired.
    pub fn update_key(&self, id: KeyId, patch: KeyPatch) -> Result<KeyRecord, StoreError> {
        self.write(
            |tx| {
                let mut rec = get_key(tx, id)?.ok_or(StoreError::NotFound("API key"))?;
                read_only(&rec)?;
                if let Some(d) = patch.domains {
                    check_domains(tx, &d)?;
                    rec.domains = d;
                }
                if let Some(n) = patch.name {
                    rec.name = n;
                }
                if let Some(a) = patch.allow_all_ips {
                    rec.allow_all_ips = a;
                }
                if let Some(w) = patch.ip_whitelist {
                    rec.ip_whitelist = w;
                }
                if let Some(e) = patch.expires_at {
                    rec.expires_at = e;
                    if rec.status == KeyStatus::Expired && e.is_none_or(|at| at > now()) {
                        rec.status = KeyStatus::Active;
                    }
                }
                if !rec.allow_all_ips && rec.ip_whitelist.is_empty() {
                    return Err(StoreError::Invalid(DomainError::new(
                        "ip_whitelist",
                        "at least one address or range is needed when allow_all_ips is false",
                    )));
                }
                rec.updated_at = now();
                put_key(tx, &rec)?;
                audit(tx, "key.updated", format!("key {}", rec.id))?;
                Ok(rec)
            },
            |rec| self.keys.upsert(rec),
        )
    }

    pub fn revoke_key(&self, id: KeyId) -> Result<KeyRecord, StoreError> {
        self.write(
            |tx| {
                let mut rec = get_key(tx, id)?.ok_or(StoreError::NotFound("API key"))?;
                read_only(&rec)?;
                rec.status = KeyStatus::Revoked;
                rec.updated_at = now();
                put_key(tx, &rec)?;
                audit(tx, "key.revoked", format!("key {}", rec.id))?;
                Ok(rec)
            },
            |rec| self.keys.upsert(rec),
        )
    }

    pub fn delete_key(&self, id: KeyId) -> Result<(), StoreError> {
        let rec = self.write(
            |tx| {
                let rec = get_key(tx, id)?.ok_or(StoreError::NotFound("API key"))?;
                read_only(&rec)?;
                remove_key(tx, id)?;
                audit(tx, "key.deleted", format!("key {}", rec.id))?;
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
                .map(|g| decode::<KeyRecord>(g.value()))
                .transpose()?
            else {
                return Ok(None);
            };
            let usage = usage_of(tx, id)?;
            Ok(Some((rec, usage)))
        })
    }

    /// A page of a key's request log, newest first, and the number kept.
    pub fn key_requests(
        &self,
        id: KeyId,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<KeyRequestRecord>, usize), StoreError> {
        self.read(|tx| {
            page_newest_first(
                tx.open_table(KEY_REQUESTS)?
                    .range((id, 0)..=(id, u64::MAX))?,
                offset,
                limit,
            )
        })
    }

    /// Mark active keys past their expiry as `expired`, with an audit event each.
    pub fn expire_keys(&self, at: Timestamp) -> Result<Vec<KeyRecord>, StoreError> {
        self.write(
            |tx| {
                let due: Vec<KeyRecord> = tx
                    .open_table(API_KEYS)?
                    .iter()?
                    .map(|r| decode::<KeyRecord>(r?.1.value()))
                    .filter(|r| {
                        r.as_ref().map_or(true, |k| {
                            k.status == KeyStatus::Active && k.expires_at.is_some_and(|e| e <= at)
                        })
                    })
                    .collect::<Result<_, _>>()?;
                for k in &due {
                    let mut k = k.clone();
                    k.status = KeyStatus::Expired;
                    k.updated_at = at;
                    put_key(tx, &k)?;
                    audit(
                        tx,
                        "key.expired",
                        format!(
                            "key {} ({}) expired at {}",
                            k.id,
                            k.prefix,
                            k.expires_at.unwrap_or(at)
                        ),
                    )?;
                }
                Ok(due)
            },
            |due| {
                for k in due {
                    let mut k = k.clone();
                    k.status = KeyStatus::Expired;
                    self.keys.upsert(&k);
                }
            },
        )
    }

    pub fn audit_events(&self) -> Result<Vec<AuditRecord>, StoreError> {
        self.read(|tx| {
            tx.open_table(AUDIT)?
                .iter()?
                .map(|r| decode(r?.1.value()))
                .collect()
        })
    }

    /// Commit one batch of per-request events (clicks, key usage, request log, audit).
    pub fn apply_events(&self, batch: &EventBatch) -> Result<(), StoreError> {
        self.write(
            |tx| {
                {
                    let mut clicks = tx.open_table(CLICKS)?;
                    let links = tx.open_table(LINKS)?;
                    for (id, n) in &batch.clicks {
                        if links.get(*id)?.is_none() {
                            continue; // deleted meanwhile
                        }
                        let cur = clicks.get(*id)?.map_or(0, |g| g.value());
                        clicks.insert(*id, cur + n)?;
                    }
                }
                let keys = tx.open_table(API_KEYS)?;
                let mut usage = tx.open_table(KEY_USAGE)?;
                for (id, (n, at, ip)) in &batch.usage {
                    if keys.get(*id)?.is_none() {
                        continue; // deleted meanwhile
                    }
                    let mut u: KeyUsage = usage
                        .get(*id)?
                        .map(|g| decode(g.value()))
                        .transpose()?
                        .unwrap_or_default();
                    u.request_count += n;
                    u.last_used_at = Some(*at);
                    u.last_used_ip = Some(ip.clone());
                    usage.insert(*id, encode(&u).as_slice())?;
                }
                let mut log = tx.open_table(KEY_REQUESTS)?;
                // Only the newest entries per key can survive the trim below: skip the rest.
                let mut per_key: HashMap<KeyId, usize> = HashMap::new();
                let mut newest: Vec<&(KeyId, KeyRequestRecord)> = batch
                    .requests
                    .iter()
                    .rev()
                    .filter(|(id, _)| {
                        let n = per_key.entry(*id).or_default();
                        *n += 1;
                        *n <= KEY_REQUEST_LOG_LIMIT as usize
                    })
                    .collect();
                newest.reverse();
                let mut seq = next_ids(tx, "key_requests", newest.len() as u64)?;
                let mut touched = Vec::new();
                for (id, rec) in newest {
                    if keys.get(*id)?.is_none() {
                        continue; // deleted meanwhile
                    }
                    log.insert((*id, seq), encode(rec).as_slice())?;
                    seq += 1;
                    touched.push(*id);
                }
                touched.sort_unstable();
                touched.dedup();
                for id in touched {
                    keep_newest(
                        &mut log,
                        (id, 0)..=(id, u64::MAX),
                        KEY_REQUEST_LOG_LIMIT as usize,
                    )?;
                }
                for a in &batch.audits {
                    audit(tx, &a.event, a.detail.clone())?;
                }
                Ok(())
            },
            |()| self.catalog.add_clicks(&batch.clicks),
        )
    }

    // ---- playground history ----

    pub fn history(
        &self,
        user: &str,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<HistoryRecord>, usize), StoreError> {
        self.read(|tx| {
            page_newest_first(
                tx.open_table(HISTORY)?
                    .range((user, 0)..=(user, u64::MAX))?,
                offset,
                limit,
            )
        })
    }

    /// Add an entry, dropping the oldest beyond `keep` entries for that user.
    pub fn add_history(
        &self,
        user: &str,
        mut rec: HistoryRecord,
        keep: usize,
    ) -> Result<HistoryRecord, StoreError> {
        self.write(
            |tx| {
                rec.id = next_id(tx, "history")?;
                rec.created_at = now();
                let mut table = tx.open_table(HISTORY)?;
                table.insert((user, rec.id), encode(&rec).as_slice())?;
                keep_newest(&mut table, (user, 0)..=(user, u64::MAX), keep)?;
                Ok(rec)
            },
            |_| {},
        )
    }

    pub fn clear_history(&self, user: &str) -> Result<(), StoreError> {
        self.write(
            |tx| {
                tx.open_table(HISTORY)?
                    .retain_in((user, 0)..=(user, u64::MAX), |_, _| false)?;
                Ok(())
            },
            |()| {},
        )
    }
}
