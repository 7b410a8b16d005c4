//! Domains and links: durable tables and their redb indexes, mirrored into the catalog.

use redb::{ReadTransaction, ReadableTable, WriteTransaction};

use super::records::{DomainId, DomainRecord, KeyRecord, LinkId, LinkRecord, Source};
use super::tables::{
    API_KEYS, CLICKS, DOMAINS, DOMAIN_BY_HOST, LINKS, LINKS_BY_DOMAIN, LINK_BY_SLUG,
};
use super::{decode, encode, next_id, Store, StoreError};
use crate::domain::{now, DestinationUrl, Hostname, RedirectCode, Slug, Tags, Timestamp, Title};

/// A validated link to create. `slug: None` asks for a generated one.
#[derive(Debug, Clone)]
pub struct NewLink {
    pub domain_id: DomainId,
    pub slug: Option<Slug>,
    pub destination_url: DestinationUrl,
    pub title: Option<Title>,
    pub tags: Tags,
    pub redirect_code: RedirectCode,
    pub expires_at: Option<Timestamp>,
}

/// A validated partial update. `Some(None)` clears an optional field.
#[derive(Debug, Clone, Default)]
pub struct LinkPatch {
    pub domain_id: Option<DomainId>,
    pub slug: Option<Slug>,
    pub destination_url: Option<DestinationUrl>,
    pub title: Option<Option<Title>>,
    pub tags: Option<Tags>,
    pub redirect_code: Option<RedirectCode>,
    pub expires_at: Option<Option<Timestamp>>,
}

pub(super) fn all_domains(tx: &ReadTransaction) -> Result<Vec<DomainRecord>, StoreError> {
    tx.open_table(DOMAINS)?
        .iter()?
        .map(|r| decode(r?.1.value()))
        .collect()
}

pub(super) fn all_links_with_clicks(
    tx: &ReadTransaction,
) -> Result<Vec<(LinkRecord, u64)>, StoreError> {
    let clicks = tx.open_table(CLICKS)?;
    tx.open_table(LINKS)?
        .iter()?
        .map(|r| {
            let rec: LinkRecord = decode(r?.1.value())?;
            let n = clicks.get(rec.id)?.map_or(0, |g| g.value());
            Ok((rec, n))
        })
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
            "domain `{hostname}` already exists"
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

/// Remove a domain and every link on it. Callers check the rules first.
pub(super) fn remove_domain(tx: &WriteTransaction, rec: &DomainRecord) -> Result<(), StoreError> {
    let link_ids: Vec<LinkId> = tx
        .open_table(LINKS_BY_DOMAIN)?
        .range((rec.id, 0)..=(rec.id, u64::MAX))?
        .map(|r| Ok(r?.0.value().1))
        .collect::<Result<_, StoreError>>()?;
    for id in link_ids {
        remove_link(tx, id)?;
    }
    tx.open_table(DOMAIN_BY_HOST)?
        .remove(rec.hostname.as_str())?;
    tx.open_table(DOMAINS)?.remove(rec.id)?;
    Ok(())
}

pub(super) fn domain_link_count(tx: &WriteTransaction, id: DomainId) -> Result<u64, StoreError> {
    let table = tx.open_table(LINKS_BY_DOMAIN)?;
    let mut n = 0;
    for r in table.range((id, 0)..=(id, u64::MAX))? {
        r?;
        n += 1;
    }
    Ok(n)
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

fn get_link(tx: &WriteTransaction, id: LinkId) -> Result<Option<LinkRecord>, StoreError> {
    tx.open_table(LINKS)?
        .get(id)?
        .map(|g| decode(g.value()))
        .transpose()
}

fn put_link(tx: &WriteTransaction, rec: &LinkRecord) -> Result<(), StoreError> {
    tx.open_table(LINKS)?
        .insert(rec.id, encode(rec).as_slice())?;
    tx.open_table(LINK_BY_SLUG)?
        .insert((rec.domain_id, rec.slug.as_str()), rec.id)?;
    tx.open_table(LINKS_BY_DOMAIN)?
        .insert((rec.domain_id, rec.id), ())?;
    Ok(())
}

fn unindex_link(tx: &WriteTransaction, rec: &LinkRecord) -> Result<(), StoreError> {
    tx.open_table(LINK_BY_SLUG)?
        .remove((rec.domain_id, rec.slug.as_str()))?;
    tx.open_table(LINKS_BY_DOMAIN)?
        .remove((rec.domain_id, rec.id))?;
    Ok(())
}

fn remove_link(tx: &WriteTransaction, id: LinkId) -> Result<Option<LinkRecord>, StoreError> {
    let Some(rec) = get_link(tx, id)? else {
        return Ok(None);
    };
    unindex_link(tx, &rec)?;
    tx.open_table(LINKS)?.remove(id)?;
    tx.open_table(CLICKS)?.remove(id)?;
    Ok(Some(rec))
}

fn slug_taken(tx: &WriteTransaction, domain: DomainId, slug: &Slug) -> Result<bool, StoreError> {
    Ok(tx
        .open_table(LINK_BY_SLUG)?
        .get((domain, slug.as_str()))?
        .is_some())
}

fn taken(slug: &Slug, host: &Hostname) -> StoreError {
    StoreError::Conflict(format!("slug `{slug}` is already taken on {host}"))
}

impl Store {
    pub fn create_domain(&self, hostname: &Hostname) -> Result<DomainRecord, StoreError> {
        self.write(
            |tx| insert_domain(tx, hostname, Source::Api),
            |d| self.catalog.put_domain(d),
        )
    }

    pub fn rename_domain(
        &self,
        id: DomainId,
        hostname: &Hostname,
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
                        "domain `{hostname}` already exists"
                    )));
                }
                by_host.remove(rec.hostname.as_str())?;
                by_host.insert(hostname.as_str(), id)?;
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
    pub fn delete_domain(&self, id: DomainId, force: bool) -> Result<(), StoreError> {
        self.write(
            |tx| {
                let rec = get_domain(tx, id)?.ok_or(StoreError::NotFound("domain"))?;
                if rec.source == Source::Config {
                    return Err(StoreError::Conflict(
                        "this domain is declared in the config file; remove it there".into(),
                    ));
                }
                let links = domain_link_count(tx, id)?;
                if links > 0 && !force {
                    return Err(StoreError::Conflict(format!(
                        "domain `{}` still has {links} link(s); delete them first or pass ?force=true",
                        rec.hostname
                    )));
                }
                let keys = keys_scoped_to(tx, id)?;
                if !keys.is_empty() {
                    return Err(StoreError::Conflict(format!(
                        "API keys are scoped to `{}` ({}); change their domain scope first",
                        rec.hostname,
                        keys.join(", ")
                    )));
                }
                remove_domain(tx, &rec)
            },
            |()| self.catalog.remove_domain(id),
        )
    }

    pub fn create_link(&self, new: NewLink) -> Result<LinkRecord, StoreError> {
        self.write(|tx| self.insert_link(tx, new), |l| self.catalog.put_link(l))
    }

    /// Insert many links in one transaction, reporting every row's outcome. A refused row
    /// (unknown domain, taken slug) has written nothing and does not stop the others.
    pub fn create_links(
        &self,
        rows: Vec<NewLink>,
    ) -> Result<Vec<Result<LinkRecord, StoreError>>, StoreError> {
        self.write(
            |tx| {
                let mut out = Vec::with_capacity(rows.len());
                for row in rows {
                    match self.insert_link(tx, row) {
                        Ok(rec) => out.push(Ok(rec)),
                        Err(
                            e @ (StoreError::Conflict(_)
                            | StoreError::NotFound(_)
                            | StoreError::Invalid(_)),
                        ) => out.push(Err(e)),
                        Err(fatal) => return Err(fatal),
                    }
                }
                Ok(out)
            },
            |results| {
                for rec in results.iter().flatten() {
                    self.catalog.put_link(rec);
                }
            },
        )
    }

    fn insert_link(&self, tx: &WriteTransaction, new: NewLink) -> Result<LinkRecord, StoreError> {
        let domain = get_domain(tx, new.domain_id)?.ok_or(StoreError::NotFound("domain"))?;
        let slug = match new.slug {
            Some(s) if slug_taken(tx, domain.id, &s)? => return Err(taken(&s, &domain.hostname)),
            Some(s) => s,
            None => {
                let mut found = None;
                for _ in 0..16 {
                    let s = Slug::generate(&self.rng);
                    if !slug_taken(tx, domain.id, &s)? && Slug::parse(s.as_str()).is_ok() {
                        found = Some(s);
                        break;
                    }
                }
                found
                    .ok_or_else(|| StoreError::Conflict("could not generate a free slug".into()))?
            }
        };
        let at = now();
        let rec = LinkRecord {
            id: next_id(tx, "links")?,
            domain_id: domain.id,
            slug,
            destination_url: new.destination_url,
            title: new.title,
            tags: new.tags,
            redirect_code: new.redirect_code,
            expires_at: new.expires_at,
            created_at: at,
            updated_at: at,
        };
        put_link(tx, &rec)?;
        Ok(rec)
    }

    pub fn update_link(&self, id: LinkId, patch: LinkPatch) -> Result<LinkRecord, StoreError> {
        self.write(
            |tx| {
                let old = get_link(tx, id)?.ok_or(StoreError::NotFound("link"))?;
                let mut rec = old.clone();
                if let Some(d) = patch.domain_id {
                    rec.domain_id = d;
                }
                if let Some(s) = patch.slug {
                    rec.slug = s;
                }
                let domain =
                    get_domain(tx, rec.domain_id)?.ok_or(StoreError::NotFound("domain"))?;
                if (rec.domain_id, &rec.slug) != (old.domain_id, &old.slug) {
                    if slug_taken(tx, rec.domain_id, &rec.slug)? {
                        return Err(taken(&rec.slug, &domain.hostname));
                    }
                    unindex_link(tx, &old)?;
                }
                if let Some(u) = patch.destination_url {
                    rec.destination_url = u;
                }
                if let Some(t) = patch.title {
                    rec.title = t;
                }
                if let Some(t) = patch.tags {
                    rec.tags = t;
                }
                if let Some(c) = patch.redirect_code {
                    rec.redirect_code = c;
                }
                if let Some(e) = patch.expires_at {
                    rec.expires_at = e;
                }
                rec.updated_at = now();
                put_link(tx, &rec)?;
                Ok(rec)
            },
            |l| self.catalog.put_link(l),
        )
    }

    pub fn delete_link(&self, id: LinkId) -> Result<(), StoreError> {
        self.write(
            |tx| {
                remove_link(tx, id)?
                    .map(|_| ())
                    .ok_or(StoreError::NotFound("link"))
            },
            |()| self.catalog.delete_link(id),
        )
    }
}
