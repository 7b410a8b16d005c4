//! Domains: the host names links live on, with their host-name index. Deleting a domain
//! deletes its links (when forced) and is refused while API keys are scoped to it.

use super::kv::{ReadTransaction, ReadableTable, WriteTransaction};

use super::analytics::remove_links_days;
use super::audit::record;
use super::links::remove_link_row;
use super::records::{DomainId, DomainRecord, KeyRecord, LinkId, Source};
use super::tables::{API_KEYS, DOMAINS, DOMAIN_BY_HOST};
use super::{decode, encode, next_id, Store, StoreError};
use crate::audit::{Action, By, Entry};
use crate::domain::{now, Hostname};

pub(super) fn all_domains(tx: &ReadTransaction) -> Result<Vec<DomainRecord>, StoreError> {
    tx.open_table(DOMAINS)?
        .iter()?
        .map(|r| decode(r?.1.value()))
        .collect()
}

pub(super) fn get_domain(
    tx: &WriteTransaction,
    id: DomainId,
) -> Result<Option<DomainRecord>, StoreError> {
    tx.open_table(DOMAINS)?
        .get(id)?
        .map(|g| decode(g.value()))
        .transpose()
}

pub(super) fn insert_domain(
    tx: &WriteTransaction,
    hostname: &Hostname,
    source: Source,
) -> Result<DomainRecord, StoreError> {
    let mut by_host = tx.open_table(DOMAIN_BY_HOST)?;
    if by_host.get(hostname.as_str())?.is_some() {
        return Err(StoreError::Conflict(format!(
            "the domain {hostname} already exists"
        )));
    }
    let at = now();
    let rec = DomainRecord {
        id: next_id(tx, "domains")?,
        hostname: hostname.clone(),
        source,
        created_at: at,
        updated_at: at,
    };
    by_host.insert(hostname.as_str(), rec.id)?;
    tx.open_table(DOMAINS)?
        .insert(rec.id, encode(&rec).as_slice())?;
    Ok(rec)
}

pub(super) fn put_domain_record(
    tx: &WriteTransaction,
    rec: &DomainRecord,
) -> Result<(), StoreError> {
    tx.open_table(DOMAINS)?
        .insert(rec.id, encode(rec).as_slice())?;
    Ok(())
}

/// Remove a domain and its links (their ids from the catalog). Callers check the rules first.
pub(super) fn remove_domain(
    tx: &WriteTransaction,
    rec: &DomainRecord,
    links: &[LinkId],
) -> Result<(), StoreError> {
    let mut removed = Vec::with_capacity(links.len());
    for id in links {
        if let Some(created) = remove_link_row(tx, *id)? {
            removed.push((*id, created));
        }
    }
    remove_links_days(tx, &removed)?;
    tx.open_table(DOMAIN_BY_HOST)?
        .remove(rec.hostname.as_str())?;
    tx.open_table(DOMAINS)?.remove(rec.id)?;
    Ok(())
}

/// Names in quotes, joined as a sentence: “a”, “b” and “c”.
fn quoted_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("“{n}”")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

/// Names of keys whose scope includes the domain: a domain cannot vanish under them.
pub(super) fn keys_scoped_to(
    tx: &WriteTransaction,
    id: DomainId,
) -> Result<Vec<String>, StoreError> {
    let mut names = Vec::new();
    for r in tx.open_table(API_KEYS)?.iter()? {
        let k: KeyRecord = decode(r?.1.value())?;
        if k.domains.contains(&id) {
            names.push(k.name.into_string());
        }
    }
    Ok(names)
}

impl Store {
    pub fn create_domain(&self, hostname: &Hostname, by: &By) -> Result<DomainRecord, StoreError> {
        self.write(
            |tx| {
                let d = insert_domain(tx, hostname, Source::Api)?;
                record(
                    tx,
                    &Entry::new(by, Action::DomainCreated).target(hostname.as_str()),
                )?;
                Ok(d)
            },
            |d| self.catalog.put_domain(d),
        )
    }

    pub fn rename_domain(
        &self,
        id: DomainId,
        hostname: &Hostname,
        by: &By,
    ) -> Result<DomainRecord, StoreError> {
        self.write(
            |tx| {
                let mut rec = get_domain(tx, id)?.ok_or(StoreError::NotFound("domain"))?;
                if rec.source == Source::Config {
                    return Err(StoreError::Conflict(
                        "this domain is declared in the config file and is read-only here".into(),
                    ));
                }
                if rec.hostname == *hostname {
                    return Ok(rec);
                }
                let mut by_host = tx.open_table(DOMAIN_BY_HOST)?;
                if by_host.get(hostname.as_str())?.is_some() {
                    return Err(StoreError::Conflict(format!(
                        "the domain {hostname} already exists"
                    )));
                }
                by_host.remove(rec.hostname.as_str())?;
                by_host.insert(hostname.as_str(), id)?;
                drop(by_host);
                record(
                    tx,
                    &Entry::new(by, Action::DomainRenamed)
                        .target(hostname.as_str())
                        .detail(format!("renamed from {}", rec.hostname)),
                )?;
                rec.hostname = hostname.clone();
                rec.updated_at = now();
                put_domain_record(tx, &rec)?;
                Ok(rec)
            },
            |d| self.catalog.put_domain(d),
        )
    }

    /// Delete a domain. While it has links this is a conflict unless `force`, which deletes
    /// them too. A domain that API keys are scoped to is never deleted under them.
    pub fn delete_domain(&self, id: DomainId, force: bool, by: &By) -> Result<(), StoreError> {
        self.write(
            |tx| {
                let rec = get_domain(tx, id)?.ok_or(StoreError::NotFound("domain"))?;
                if rec.source == Source::Config {
                    return Err(StoreError::Conflict(
                        "this domain is declared in the config file; remove it there".into(),
                    ));
                }
                let links = self.catalog.link_count(id);
                if links > 0 && !force {
                    let noun = if links == 1 { "link" } else { "links" };
                    return Err(StoreError::Conflict(format!(
                        "the domain {} still has {links} {noun}; delete them first, or delete the domain with force=true to delete them too",
                        rec.hostname
                    )));
                }
                let keys = keys_scoped_to(tx, id)?;
                if !keys.is_empty() {
                    let (who, its) = match keys.len() {
                        1 => ("API key", "its"),
                        _ => ("API keys", "their"),
                    };
                    return Err(StoreError::Conflict(format!(
                        "the {who} {} {} scoped to {}; change {its} domain scope first",
                        quoted_list(&keys),
                        if keys.len() == 1 { "is" } else { "are" },
                        rec.hostname,
                    )));
                }
                let detail = match links {
                    0 => String::new(),
                    1 => "with its 1 link".to_owned(),
                    n => format!("with its {n} links"),
                };
                record(
                    tx,
                    &Entry::new(by, Action::DomainDeleted)
                        .target(rec.hostname.as_str())
                        .detail(detail),
                )?;
                remove_domain(tx, &rec, &self.catalog.links_of_domain(id))
            },
            |()| self.catalog.remove_domain(id),
        )
    }
}
