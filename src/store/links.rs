//! Links: the durable table and its redb indexes (slug per domain, links per domain),
//! mirrored into the catalog after each commit.

use redb::{ReadTransaction, ReadableTable, WriteTransaction};

use super::domains::get_domain;
use super::records::{DomainId, LinkId, LinkRecord};
use super::tables::{CLICKS, LINKS, LINKS_BY_DOMAIN, LINK_BY_SLUG};
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

pub(super) fn remove_link(
    tx: &WriteTransaction,
    id: LinkId,
) -> Result<Option<LinkRecord>, StoreError> {
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
    StoreError::Conflict(format!("the slug “{slug}” is already taken on {host}"))
}

impl Store {
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
                    let s = Slug::generate(&self.rng).map_err(|_| {
                        StoreError::Corrupt("no random source for a generated slug".into())
                    })?;
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
