//! Resources declared in the config file: applied as a whole, in one transaction, at start
//! and on every reload. They carry `source = config` and are read-only through the API.

use std::collections::{HashMap, HashSet};

use super::kv::{ReadableTable, TableHandle, WriteTransaction};

use super::audit::record;
use super::catalog::Catalog;
use super::domains::{get_domain, insert_domain, keys_scoped_to, put_domain_record, remove_domain};
use super::invites::withdraw_invites_of;
use super::key_index::KeyIndex;
use super::keys::{get_key, key_target, put_key, remove_key};
use super::records::{DomainId, DomainRecord, KeyRecord, KeyStatus, Source, UserRecord};
use super::tables::{API_KEYS, DOMAINS, DOMAIN_BY_HOST, HISTORY, USERS};
use super::users::{cap_keys_of, end_sessions_of, revoke_keys_of};
use super::{decode, decode_or_skip, encode, next_id, Store, StoreError};
use crate::audit::{Action, Actor, By, Entry};
use crate::domain::{
    now, DomainError, Hostname, IpPolicy, KeyName, PasswordHash, PerMinute, Permissions, Right,
    Role, Timestamp, Username,
};
use crate::keys::KeyDigest;

#[derive(Debug, Clone, PartialEq)]
pub struct DeclaredKey {
    pub name: KeyName,
    pub digest: KeyDigest,
    pub domains: Vec<Hostname>,
    pub ip: IpPolicy,
    pub expires_at: Option<Timestamp>,
    pub permissions: Permissions,
    pub rate_limit: Option<PerMinute>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeclaredUser {
    pub username: Username,
    pub password_hash: PasswordHash,
    pub role: Role,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeclaredState {
    pub domains: Vec<Hostname>,
    pub keys: Vec<DeclaredKey>,
    pub users: Vec<DeclaredUser>,
}

/// What an apply changed, for the log.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ApplyReport {
    pub created: usize,
    pub updated: usize,
    pub removed: usize,
    /// Config domains left in place (as API domains) because links or keys still use them.
    pub kept: Vec<String>,
}

impl ApplyReport {
    /// Whether the apply wrote anything: a start or reload with the same file writes nothing.
    pub fn changed(&self) -> bool {
        self.created + self.updated + self.removed > 0 || !self.kept.is_empty()
    }
}

impl Store {
    /// Takes the declarations by value: they (and the parsed file before them) are freed and
    /// handed back to the system once applied.
    pub fn apply_declared(&self, state: DeclaredState) -> Result<ApplyReport, StoreError> {
        let applied = self.write(
            |tx| {
                let mut report = ApplyReport::default();
                apply_domains(tx, &self.catalog, &state.domains, &mut report)?;
                apply_keys(tx, &self.keys, &state.keys, &mut report)?;
                apply_users(tx, &state.users, &mut report)?;
                Ok(report)
            },
            |report| {
                // An apply changes domains, keys and users, never links: reloading 1M links
                // here would double the start's time and its peak memory. One that changed
                // nothing (most starts) reloads nothing: the read models loaded at open are
                // the tables still, and a second key index built beside the first doubled
                // the start's peak and left 100,000 keys' worth of holes in the heap.
                use std::sync::atomic::Ordering;
                if !report.changed() && !self.reload_owed.load(Ordering::Acquire) {
                    return;
                }
                match self.reload_domains_and_keys() {
                    Ok(()) => self.reload_owed.store(false, Ordering::Release),
                    Err(e) => {
                        // The next apply tries again, whatever it changes.
                        self.reload_owed.store(true, Ordering::Release);
                        tracing::error!(error = %e, "reloading the read models after a config apply failed");
                    }
                }
            },
        );
        drop(state);
        super::release_freed_memory();
        applied
    }
}

fn apply_domains(
    tx: &WriteTransaction,
    catalog: &Catalog,
    declared: &[Hostname],
    report: &mut ApplyReport,
) -> Result<(), StoreError> {
    for host in declared {
        let existing = tx
            .open_table(DOMAIN_BY_HOST)?
            .get(host.as_str())?
            .map(|g| g.value());
        match existing {
            None => {
                insert_domain(tx, host, Source::Config)?;
                report.created += 1;
            }
            Some(id) => {
                let mut rec = get_domain(tx, id)?.ok_or(StoreError::NotFound("domain"))?;
                if rec.source != Source::Config {
                    rec.source = Source::Config;
                    rec.updated_at = now();
                    put_domain_record(tx, &rec)?;
                    report.updated += 1;
                }
            }
        }
    }
    let stale: Vec<DomainRecord> = tx
        .open_table(DOMAINS)?
        .iter()?
        .map(|r| decode::<DomainRecord>(r?.1.value()))
        .filter(|r| {
            r.as_ref().map_or(true, |d| {
                d.source == Source::Config && !declared.contains(&d.hostname)
            })
        })
        .collect::<Result<_, _>>()?;
    for mut d in stale {
        if catalog.link_count(d.id) > 0 || !keys_scoped_to(tx, d.id)?.is_empty() {
            // Removing it would delete links or widen a key's scope: keep it, editable.
            d.source = Source::Api;
            d.updated_at = now();
            put_domain_record(tx, &d)?;
            report.kept.push(d.hostname.into_string());
        } else {
            remove_domain(tx, &d, &[])?;
            report.removed += 1;
        }
    }
    Ok(())
}

fn apply_keys(
    tx: &WriteTransaction,
    keys: &KeyIndex,
    declared: &[DeclaredKey],
    report: &mut ApplyReport,
) -> Result<(), StoreError> {
    // One pass over the key table finds the declared keys on record (by digest) and, left
    // over at the end, those no longer declared; the first start found each through the
    // index and read its record, once per declared key. A declared digest that is an API
    // key's (not in the map) is still found through the index.
    let mut on_record: HashMap<KeyDigest, KeyRecord> = HashMap::new();
    for r in tx.open_table(API_KEYS)?.iter()? {
        let (id, v) = r?;
        if let Some(rec) = decode_or_skip::<KeyRecord>(API_KEYS.name(), id.value(), v.value()) {
            if rec.source == Source::Config {
                on_record.insert(rec.digest, rec);
            }
        }
    }
    let mut domain_ids: HashMap<&Hostname, DomainId> = HashMap::new();
    let mut declared_digests: HashSet<KeyDigest> = HashSet::with_capacity(declared.len());
    for (i, k) in declared.iter().enumerate() {
        declared_digests.insert(k.digest);
        let mut domains = Vec::with_capacity(k.domains.len());
        for (j, host) in k.domains.iter().enumerate() {
            let id = match domain_ids.get(host) {
                Some(id) => Some(*id),
                None => tx
                    .open_table(DOMAIN_BY_HOST)?
                    .get(host.as_str())?
                    .map(|g| g.value()),
            };
            let id = id.ok_or_else(|| {
                StoreError::Invalid(DomainError::new(
                    format!("api_keys[{i}].domains[{j}]"),
                    format!("unknown domain `{host}`: declare it under [[domains]]"),
                ))
            })?;
            domain_ids.insert(host, id);
            domains.push(id);
        }
        let at = now();
        let status = KeyStatus::Active.at(
            super::records::KeyEnds {
                expires_at: k.expires_at,
                rotated_at: None,
            },
            at,
        );
        let prev = match on_record.remove(&k.digest) {
            Some(rec) => Some(rec),
            None => match keys.get(&k.digest) {
                Some(entry) => get_key(tx, entry.id)?,
                None => None,
            },
        };
        let prev = prev.as_ref();
        let rec = KeyRecord {
            id: match prev {
                Some(p) => p.id,
                None => next_id(tx, "api_keys")?,
            },
            name: k.name.clone(),
            prefix: format!("sha256:{}", &k.digest.to_hex()[..5]),
            digest: k.digest,
            domains,
            ip: k.ip.clone(),
            expires_at: k.expires_at,
            status: match prev {
                Some(p) if p.status == KeyStatus::Revoked => KeyStatus::Revoked,
                _ => status,
            },
            source: Source::Config,
            created_at: prev.map_or(at, |p| p.created_at),
            updated_at: at,
            permissions: k.permissions,
            rate_limit: k.rate_limit,
            rotated_to: None,
            rotated_at: None,
            rotated_from: None,
            created_by: None,
        };
        let changed = prev.is_none_or(|p| {
            (
                (&p.name, &p.domains, &p.ip, p.expires_at, p.status, p.source),
                (p.permissions, p.rate_limit),
            ) != (
                (
                    &rec.name,
                    &rec.domains,
                    &rec.ip,
                    rec.expires_at,
                    rec.status,
                    rec.source,
                ),
                (rec.permissions, rec.rate_limit),
            )
        });
        if changed {
            put_key(tx, &rec)?;
            if prev.is_some() {
                report.updated += 1;
            } else {
                report.created += 1;
                record(
                    tx,
                    &Entry::new(&config_file(), Action::KeyCreated)
                        .target(key_target(&rec))
                        .detail("declared in the config file"),
                )?;
            }
        }
    }
    // Left over: config keys on record that the file no longer declares, in id order.
    let mut stale: Vec<KeyRecord> = on_record
        .into_values()
        .filter(|k| !declared_digests.contains(&k.digest))
        .collect();
    stale.sort_by_key(|k| k.id);
    for old in &stale {
        remove_key(tx, old.id)?;
        record(
            tx,
            &Entry::new(&config_file(), Action::KeyDeleted)
                .target(key_target(old))
                .detail("removed from the config file"),
        )?;
        report.removed += 1;
    }
    Ok(())
}

/// Who changes declared resources: the config file (at start and on each reload).
fn config_file() -> By {
    By::new(Actor::config("config file"), None)
}

fn apply_users(
    tx: &WriteTransaction,
    declared: &[DeclaredUser],
    report: &mut ApplyReport,
) -> Result<(), StoreError> {
    let by = By::new(Actor::config("config file"), None);
    let admins = |tx: &WriteTransaction| -> Result<usize, StoreError> {
        let users = tx.open_table(USERS)?;
        let mut n = 0;
        for r in users.iter()? {
            n += usize::from(decode::<UserRecord>(r?.1.value())?.role == Role::Admin);
        }
        Ok(n)
    };
    let admins_before = admins(tx)?;
    let mut users = tx.open_table(USERS)?;
    for u in declared {
        let prev: Option<UserRecord> = users
            .get(u.username.as_str())?
            .map(|g| decode(g.value()))
            .transpose()?;
        if prev.as_ref().is_some_and(|p| {
            p.password_hash == u.password_hash && p.source == Source::Config && p.role == u.role
        }) {
            continue;
        }
        let rec = UserRecord {
            username: u.username.clone(),
            password_hash: u.password_hash.clone(),
            source: Source::Config,
            created_at: prev.as_ref().map_or_else(now, |p| p.created_at),
            role: u.role,
            // A user already there (from the API or an earlier apply) keeps its number.
            id: match prev.as_ref() {
                Some(p) if p.id != 0 => p.id,
                _ => next_id(tx, "users")?,
            },
            last_sign_in_at: prev.as_ref().and_then(|p| p.last_sign_in_at),
        };
        users.insert(u.username.as_str(), encode(&rec).as_slice())?;
        match prev {
            Some(p) => {
                if p.password_hash != rec.password_hash {
                    // A new password in the file ends the sessions opened with the old one.
                    end_sessions_of(tx, u.username.as_str())?;
                }
                if p.role != rec.role {
                    // The same consequences as a role changed on the Team page.
                    cap_keys_of(tx, &rec.username, rec.role, &by)?;
                    if !rec.role.may(Right::Team) {
                        withdraw_invites_of(tx, &rec.username, now())?;
                    }
                    let change = Entry::new(&by, Action::UserRoleChanged)
                        .target(rec.username.as_str())
                        .detail(format!("{} → {}", p.role, rec.role));
                    record(tx, &change)?;
                }
                report.updated += 1;
            }
            None => {
                let created = Entry::new(&by, Action::UserCreated)
                    .target(rec.username.as_str())
                    .detail(format!("role {}", rec.role));
                record(tx, &created)?;
                report.created += 1;
            }
        }
    }
    let stale: Vec<String> = users
        .iter()?
        .map(|r| decode::<UserRecord>(r?.1.value()))
        .filter(|r| {
            r.as_ref().map_or(true, |u| {
                u.source == Source::Config && !declared.iter().any(|d| d.username == u.username)
            })
        })
        .map(|r| r.map(|u| u.username.into_string()))
        .collect::<Result<_, _>>()?;
    for name in stale {
        users.remove(name.as_str())?;
        let sessions = end_sessions_of(tx, &name)?;
        // Leaving the file is leaving the team: the same as a removal on the Team page.
        let owner = Username::from_stored(name.clone());
        let revoked = revoke_keys_of(tx, &owner, &by)?;
        withdraw_invites_of(tx, &owner, now())?;
        tx.open_table(HISTORY)?
            .retain_in((name.as_str(), 0)..=(name.as_str(), u64::MAX), |_, _| false)?;
        let removed = Entry::new(&by, Action::UserRemoved)
            .target(name.as_str())
            .detail(format!(
                "removed from the config file; {sessions} session(s) ended; {} API key(s) revoked",
                revoked.len()
            ));
        record(tx, &removed)?;
        report.removed += 1;
    }
    drop(users);
    // Someone must be able to manage the team: a file that would leave no admin is refused
    // whole, like a file that does not validate, and the running configuration stays.
    if admins_before > 0 && admins(tx)? == 0 {
        return Err(StoreError::Conflict(
            "this config file would leave no admin (a declared admin was removed or demoted, and no other admin exists); keep one admin, or make another user admin first".into(),
        ));
    }
    Ok(())
}
