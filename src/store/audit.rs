//! The activity log's table: entries written inside the transaction of the change they
//! describe (or by the batched writer), listed newest first, and dropped after
//! `audit.retention_days` by the sweeper.

use super::kv::{ReadableTable, WriteTransaction};

use super::records::AuditRecord;
use super::tables::AUDIT;
use super::{decode_or_skip, encode, next_id, Store, StoreError};
use crate::audit::{AuditFilter, Entry};
use crate::domain::Timestamp;
use crate::keys::redact_keys;

/// Record `entry` in the write transaction `tx`: it commits (or aborts) with the change it
/// describes. Anything key-shaped in its text is redacted on the way in.
pub fn record(tx: &WriteTransaction, entry: &Entry) -> Result<(), StoreError> {
    let rec = AuditRecord {
        at: entry.at,
        action: entry.action.as_str().to_owned(),
        actor: entry.by.actor.clone(),
        target: redact_keys(&entry.target).into_owned(),
        client_ip: entry.by.client_ip.map(|ip| ip.to_canonical().to_string()),
        detail: redact_keys(&entry.detail).into_owned(),
    };
    let id = next_id(tx, "audit")?;
    tx.open_table(AUDIT)?.insert(id, encode(&rec).as_slice())?;
    Ok(())
}

impl Store {
    /// A page of the entries `filter` keeps, newest first, with their ids, and how many it
    /// keeps in all. An entry that does not decode is left out (and logged).
    pub fn audit_page(
        &self,
        filter: &AuditFilter,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<(u64, AuditRecord)>, usize), StoreError> {
        self.read(|tx| {
            let table = tx.open_table(AUDIT)?;
            if filter.is_empty() {
                // Everything: count without decoding, decode only the page.
                let total = usize::try_from(table.len()?).unwrap_or(usize::MAX);
                let mut page = Vec::new();
                for row in table.iter()?.rev().skip(offset).take(limit) {
                    let (id, v) = row?;
                    let id = id.value();
                    if let Some(rec) = decode_or_skip::<AuditRecord>("audit_v1", id, v.value()) {
                        page.push((id, rec));
                    }
                }
                return Ok((page, total));
            }
            let mut total = 0;
            let mut page = Vec::new();
            for row in table.iter()?.rev() {
                let (id, v) = row?;
                let id = id.value();
                let Some(rec) = decode_or_skip::<AuditRecord>("audit_v1", id, v.value()) else {
                    continue;
                };
                if !filter.keeps(&rec.actor, &rec.action, rec.at) {
                    continue;
                }
                if total >= offset && page.len() < limit {
                    page.push((id, rec));
                }
                total += 1;
            }
            Ok((page, total))
        })
    }

    /// Every entry, oldest first (tests and tools).
    pub fn audit_events(&self) -> Result<Vec<AuditRecord>, StoreError> {
        Ok(self
            .audit_page(&AuditFilter::default(), 0, usize::MAX)?
            .0
            .into_iter()
            .rev()
            .map(|(_, r)| r)
            .collect())
    }

    /// Drop the entries older than `before`; returns how many. Ids grow with time, so the
    /// walk stops at the first entry young enough (the batched writer may commit an entry a
    /// moment older than one before it: it goes at the next sweep).
    pub fn prune_audit(&self, before: Timestamp) -> Result<usize, StoreError> {
        self.write(
            |tx| {
                let mut table = tx.open_table(AUDIT)?;
                let mut old = Vec::new();
                for row in table.iter()? {
                    let (id, v) = row?;
                    let id = id.value();
                    match decode_or_skip::<AuditRecord>("audit_v1", id, v.value()) {
                        Some(r) if r.at >= before => break,
                        // An entry that cannot be read is dropped with its old neighbours.
                        _ => old.push(id),
                    }
                }
                for id in &old {
                    table.remove(*id)?;
                }
                Ok(old.len())
            },
            |_| {},
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Action, Actor, By};

    #[test]
    fn an_entry_of_schema_3_still_reads() {
        let rec: AuditRecord = super::super::decode(
            br#"{"at":"2026-11-01T00:00:00Z","event":"key.revoked","detail":"key 4"}"#,
        )
        .unwrap();
        assert_eq!(rec.action, "key.revoked");
        assert_eq!(rec.actor, Actor::default());
        assert_eq!(rec.client_ip, None);
        assert_eq!(rec.target, "");
    }

    #[test]
    fn entries_list_newest_first_filter_and_prune() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let ann = By::new(Actor::user("ann"), Some("10.0.0.1".parse().unwrap()));
        let bob = By::new(Actor::user("bob"), None);
        let t = |s: i64| Timestamp::from_unix(1_800_000_000 + s);
        store
            .write(
                |tx| {
                    record(tx, &Entry::new(&ann, Action::SignIn).at(t(0)))?;
                    record(tx, &Entry::new(&bob, Action::KeyCreated).at(t(10)))?;
                    record(tx, &Entry::new(&ann, Action::KeyRevoked).at(t(20)))
                },
                |()| {},
            )
            .unwrap();
        let (page, total) = store.audit_page(&AuditFilter::default(), 0, 2).unwrap();
        assert_eq!(total, 3);
        assert_eq!(page[0].1.action, "key.revoked");
        assert_eq!(page[0].1.client_ip.as_deref(), Some("10.0.0.1"));
        let ann_keys = AuditFilter {
            only_user: Some("ann".into()),
            action: Some("key.".into()),
            ..AuditFilter::default()
        };
        assert_eq!(store.audit_page(&ann_keys, 0, 10).unwrap().1, 1);
        assert_eq!(store.prune_audit(t(10)).unwrap(), 1);
        assert_eq!(store.audit_events().unwrap().len(), 2);
    }
}
