//! Links: the durable table, mirrored into the catalog after each commit. Slugs are unique per
//! domain; the catalog (current under the store's write lock) is the index that checks it.

use std::collections::HashSet;

use super::kv::{ReadTransaction, ReadableTable, WriteTransaction};

use super::analytics::{remove_link_days, Day};
use super::audit::record;
use super::catalog::CatalogLoader;
use super::records::{decode_link, DomainId, LinkId, LinkRecord};
use super::tables::{CLICKS, LINKS};
use super::{next_id, Store, StoreError};
use crate::audit::{Action, By, Entry};
use crate::domain::{now, DestinationUrl, RedirectCode, Slug, Tags, Timestamp, Title};

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

/// Feed every stored link, with its clicks, to the catalog loader: one pass over each table
/// (both are ordered by link id), strings read in place.
pub(super) fn load_links(
    tx: &ReadTransaction,
    loader: &mut CatalogLoader,
) -> Result<(), StoreError> {
    let clicks_table = tx.open_table(CLICKS)?;
    let mut clicks = clicks_table.iter()?.peekable();
    for row in tx.open_table(LINKS)?.iter()? {
        let (_, value) = row?;
        let bytes = value.value();
        let stored = decode_link(bytes)?;
        let mut n = 0;
        while let Some(row) = clicks.peek() {
            let Ok((k, v)) = row else {
                // A page that could not be read is an error, not links without clicks.
                clicks.next().transpose()?;
                break;
            };
            let k = k.value();
            if k > stored.id {
                break;
            }
            if k == stored.id {
                n = v.value();
            }
            clicks.next();
        }
        loader.link(&stored.fields(), n);
    }
    Ok(())
}

pub(super) fn count_links(tx: &ReadTransaction) -> Result<u64, StoreError> {
    tx.open_table(LINKS)?.len()
}

fn get_link(tx: &WriteTransaction, id: LinkId) -> Result<Option<LinkRecord>, StoreError> {
    let table = tx.open_table(LINKS)?;
    let Some(value) = table.get(id)? else {
        return Ok(None);
    };
    Ok(Some(decode_link(value.value())?.to_record()))
}

fn put_link(tx: &WriteTransaction, rec: &LinkRecord) -> Result<(), StoreError> {
    tx.open_table(LINKS)?
        .insert(rec.id, rec.encode_stored().as_slice())?;
    Ok(())
}

pub(super) fn remove_link(tx: &WriteTransaction, id: LinkId) -> Result<bool, StoreError> {
    let Some(created) = remove_link_row(tx, id)? else {
        return Ok(false);
    };
    remove_link_days(tx, id, created)?;
    Ok(true)
}

/// Remove a link and its click count, not its days; `None` when there was no such link, else
/// the day it was made (when its record was readable), where its days begin.
pub(super) fn remove_link_row(
    tx: &WriteTransaction,
    id: LinkId,
) -> Result<Option<Option<Day>>, StoreError> {
    tx.open_table(CLICKS)?.remove(id)?;
    let mut links = tx.open_table(LINKS)?;
    let removed = links.remove(id)?;
    let Some(g) = removed else {
        return Ok(None);
    };
    Ok(Some(
        decode_link(g.value())
            .ok()
            .map(|l| Day::of(Timestamp::from_unix(l.created_at))),
    ))
}

fn taken(slug: &Slug, host: &str) -> StoreError {
    StoreError::Conflict(format!("the slug “{slug}” is already taken on {host}"))
}

/// Slugs claimed by the rows of the transaction in progress, which the catalog sees only
/// after the commit.
#[derive(Default)]
struct Claimed(HashSet<(DomainId, String)>);

impl Store {
    /// Whether `slug` is taken on `domain`: the catalog is current under the write lock.
    fn slug_taken(&self, claimed: &Claimed, domain: DomainId, slug: &Slug) -> bool {
        self.catalog.slug_taken(domain, slug.as_str())
            || claimed.0.contains(&(domain, slug.as_str().to_owned()))
    }

    pub fn create_link(&self, new: NewLink) -> Result<LinkRecord, StoreError> {
        self.write(
            |tx| self.insert_link(tx, &mut Claimed::default(), new),
            |l| self.catalog.put_link(l),
        )
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
                let mut claimed = Claimed::default();
                for row in rows {
                    match self.insert_link(tx, &mut claimed, row) {
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

    fn insert_link(
        &self,
        tx: &WriteTransaction,
        claimed: &mut Claimed,
        new: NewLink,
    ) -> Result<LinkRecord, StoreError> {
        let host = self
            .catalog
            .hostname(new.domain_id)
            .ok_or(StoreError::NotFound("domain"))?;
        let domain = new.domain_id;
        let slug = match new.slug {
            Some(s) if self.slug_taken(claimed, domain, &s) => return Err(taken(&s, &host)),
            Some(s) => s,
            None => {
                let mut found = None;
                for _ in 0..16 {
                    let s = Slug::generate(&self.rng).map_err(|_| {
                        StoreError::Corrupt("no random source for a generated slug".into())
                    })?;
                    if !self.slug_taken(claimed, domain, &s) && Slug::parse(s.as_str()).is_ok() {
                        found = Some(s);
                        break;
                    }
                }
                found
                    .ok_or_else(|| StoreError::Conflict("could not generate a free slug".into()))?
            }
        };
        let at = now();
        claimed.0.insert((domain, slug.as_str().to_owned()));
        let rec = LinkRecord {
            id: next_id(tx, "links")?,
            domain_id: domain,
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
                let host = self
                    .catalog
                    .hostname(rec.domain_id)
                    .ok_or(StoreError::NotFound("domain"))?;
                if (rec.domain_id, &rec.slug) != (old.domain_id, &old.slug)
                    && self.slug_taken(&Claimed::default(), rec.domain_id, &rec.slug)
                {
                    return Err(taken(&rec.slug, &host));
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

    pub fn delete_link(&self, id: LinkId, by: &By) -> Result<(), StoreError> {
        self.write(
            |tx| {
                let target = self.catalog.link(id).map(|e| {
                    let host = self.catalog.hostname(e.rec.domain_id).unwrap_or_default();
                    format!("{host}/{}", e.rec.slug.as_str())
                });
                if remove_link(tx, id)? {
                    record(
                        tx,
                        &Entry::new(by, Action::LinkDeleted)
                            .target(target.unwrap_or_default())
                            .detail(format!("link {id}")),
                    )?;
                    Ok(())
                } else {
                    Err(StoreError::NotFound("link"))
                }
            },
            |()| self.catalog.delete_link(id),
        )
    }
}
