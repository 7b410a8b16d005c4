//! The in-memory read model of domains and links. Loaded from redb at start and updated after
//! every committed write (under the store's write lock), so reads — above all the redirect —
//! never open a transaction. Links live in the compact `LinkTable`; the hot paths borrow them
//! (`with_route`, `with_link`), pages get owned `LinkEntry` copies.

use std::collections::{BTreeMap, HashMap};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::generation::{Generation, Stamp};
use super::key_index::DomainScope;
use super::link_table::{LinkFields, LinkRef, LinkTable};
use super::records::{DomainId, DomainRecord, LinkId, LinkRecord};
use crate::domain::Timestamp;

/// A link copied out of the catalog, with its click count at the time: for pages and exports.
#[derive(Debug, Clone)]
pub struct LinkEntry {
    pub rec: LinkRecord,
    clicks: u64,
}

impl LinkEntry {
    fn of(link: &LinkRef<'_>) -> Self {
        Self {
            rec: link.to_record(),
            clicks: link.clicks(),
        }
    }

    pub fn clicks(&self) -> u64 {
        self.clicks
    }

    pub fn is_expired_at(&self, now: Timestamp) -> bool {
        self.rec.expires_at.is_some_and(|at| at <= now)
    }
}

#[derive(Default)]
struct Inner {
    domains: BTreeMap<DomainId, DomainRecord>,
    hosts: hashbrown::HashMap<Box<str>, DomainId>,
    /// Links per domain.
    counts: HashMap<DomainId, u64>,
    links: LinkTable,
}

/// What a link listing asks for. `search` is matched case-insensitively.
#[derive(Debug, Default)]
pub struct LinkFilter<'a> {
    pub search: Option<&'a str>,
    pub domain: Option<DomainId>,
    pub tag: Option<&'a str>,
}

/// Whether a link's slug, destination or title holds `needle` (already lower-case), as the
/// search map reads them: slug and destination in ASCII lower case, the title in full.
fn text_contains(link: &LinkRef<'_>, needle: &str) -> bool {
    link.slug().to_ascii_lowercase().contains(needle)
        || link.destination().to_ascii_lowercase().contains(needle)
        || link
            .title()
            .is_some_and(|t| t.to_lowercase().contains(needle))
}

#[derive(Default)]
pub struct Catalog {
    inner: RwLock<Inner>,
    /// Moved by every change but a click count's (`write`), so that what a worker made of a
    /// link (the keyed read's JSON, `api::links`) is known stale on its next read.
    changes: Generation,
}

/// Fills a catalog row by row while the store reads its tables, without holding every record.
pub struct CatalogLoader {
    inner: Inner,
}

impl CatalogLoader {
    pub fn link(&mut self, fields: &LinkFields<'_>, clicks: u64) {
        *self.inner.counts.entry(fields.domain).or_default() += 1;
        self.inner.links.push_loaded(fields, clicks);
    }
}

impl Catalog {
    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every change but a click count's comes through here (counts change under the read
    /// lock, `add_clicks`). The generation moves while the lock is held: a reader under the
    /// read lock sees it and the data of one and the same moment.
    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        let inner = self
            .inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.changes.bump();
        inner
    }

    /// A loader for `links` links over these domains; `finish` swaps it in whole.
    pub(super) fn loader(domains: Vec<DomainRecord>, links: usize) -> CatalogLoader {
        let mut inner = Inner {
            links: LinkTable::with_capacity(links),
            ..Inner::default()
        };
        for d in domains {
            inner.hosts.insert(d.hostname.as_str().into(), d.id);
            inner.domains.insert(d.id, d);
        }
        CatalogLoader { inner }
    }

    pub(super) fn finish(&self, mut loader: CatalogLoader) {
        loader.inner.links.finish_load();
        *self.write() = loader.inner;
    }

    /// Swap in the domains as stored; links of a domain that is gone go with it.
    pub(super) fn replace_domains(&self, domains: Vec<DomainRecord>) {
        let gone: Vec<DomainId> = {
            let inner = self.read();
            inner
                .domains
                .keys()
                .filter(|id| !domains.iter().any(|d| d.id == **id))
                .copied()
                .collect()
        };
        for id in gone {
            self.remove_domain(id);
        }
        let mut inner = self.write();
        inner.hosts.clear();
        inner.domains.clear();
        for d in domains {
            inner.hosts.insert(d.hostname.as_str().into(), d.id);
            inner.domains.insert(d.id, d);
        }
    }

    // ---- redirect hot path ----

    /// Host (lower-case, no port) + slug → `f(link)`. `None`: the host is not managed;
    /// `Some(None)`: no such slug on it. The link is lent under the read lock: the hot path
    /// copies nothing it does not send.
    pub fn route<T>(
        &self,
        host: &str,
        slug: &str,
        f: impl FnOnce(LinkRef<'_>) -> T,
    ) -> Option<Option<T>> {
        let inner = self.read();
        let domain = *inner.hosts.get(host)?;
        Some(inner.links.find(domain, slug).map(f))
    }

    /// A link's count as the database holds it (another node's clicks, through the feed).
    pub(super) fn set_clicks(&self, id: LinkId, n: u64) {
        self.read().links.set_clicks(id, n);
    }

    pub fn add_clicks(&self, counts: &HashMap<LinkId, u64>) {
        let inner = self.read();
        for (id, n) in counts {
            inner.links.add_clicks(*id, *n);
        }
    }

    // ---- domains ----

    pub fn domain(&self, id: DomainId) -> Option<DomainRecord> {
        self.read().domains.get(&id).cloned()
    }

    pub fn domain_by_host(&self, host: &str) -> Option<DomainRecord> {
        let inner = self.read();
        inner
            .hosts
            .get(host)
            .and_then(|id| inner.domains.get(id))
            .cloned()
    }

    pub fn hostname(&self, id: DomainId) -> Option<String> {
        self.read()
            .domains
            .get(&id)
            .map(|d| d.hostname.as_str().to_owned())
    }

    /// Domains in scope, newest first, each with its link count.
    pub fn domains(&self, scope: &DomainScope) -> Vec<(DomainRecord, u64)> {
        let inner = self.read();
        inner
            .domains
            .values()
            .rev()
            .filter(|d| scope.allows(d.id))
            .map(|d| (d.clone(), inner.counts.get(&d.id).copied().unwrap_or(0)))
            .collect()
    }

    pub fn link_count(&self, id: DomainId) -> u64 {
        self.read().counts.get(&id).copied().unwrap_or(0)
    }

    pub(super) fn put_domain(&self, d: &DomainRecord) {
        let mut inner = self.write();
        if let Some(old) = inner.domains.get(&d.id).map(|o| o.hostname.clone()) {
            // Only while it is still this domain's: another may hold the name by now (two
            // renames applied out of order by a node following the change feed).
            if inner.hosts.get(old.as_str()) == Some(&d.id) {
                inner.hosts.remove(old.as_str());
            }
        }
        inner.hosts.insert(d.hostname.as_str().into(), d.id);
        inner.domains.insert(d.id, d.clone());
    }

    pub(super) fn remove_domain(&self, id: DomainId) {
        let mut inner = self.write();
        if let Some(d) = inner.domains.remove(&id) {
            if inner.hosts.get(d.hostname.as_str()) == Some(&id) {
                inner.hosts.remove(d.hostname.as_str());
            }
        }
        // The count is exact: a domain without links (a config apply, an unforced delete)
        // costs no walk over every link.
        if inner.counts.remove(&id).unwrap_or(0) == 0 {
            return;
        }
        let ids: Vec<LinkId> = inner
            .links
            .newest_first()
            .filter(|l| l.domain_id() == id)
            .map(|l| l.id())
            .collect();
        for link in ids {
            inner.links.remove(link);
        }
    }

    // ---- links ----

    /// `f(link, host, stamp)` for the link `id`, lent under the read lock (the API's hot
    /// path). Whatever is made of the link and its domain but its click count holds for as
    /// long as the catalog's stamp is `stamp`.
    pub fn with_link<T>(
        &self,
        id: LinkId,
        f: impl FnOnce(LinkRef<'_>, &str, Stamp) -> T,
    ) -> Option<T> {
        let inner = self.read();
        let link = inner.links.get(id)?;
        let host = inner
            .domains
            .get(&link.domain_id())
            .map_or("", |d| d.hostname.as_str());
        Some(f(link, host, self.changes.now()))
    }

    pub fn link(&self, id: LinkId) -> Option<LinkEntry> {
        self.read().links.get(id).map(|l| LinkEntry::of(&l))
    }

    /// The domain of link `id`, if it exists.
    pub fn link_domain(&self, id: LinkId) -> Option<DomainId> {
        self.read().links.get(id).map(|l| l.domain_id())
    }

    /// Whether `slug` is taken on `domain`.
    pub fn slug_taken(&self, domain: DomainId, slug: &str) -> bool {
        self.read().links.find(domain, slug).is_some()
    }

    /// The ids of every link of a domain.
    pub fn links_of_domain(&self, domain: DomainId) -> Vec<LinkId> {
        self.read()
            .links
            .newest_first()
            .filter(|l| l.domain_id() == domain)
            .map(|l| l.id())
            .collect()
    }

    /// One page of links (newest first) matching `filter` within `scope`, and the total count.
    pub fn links(
        &self,
        scope: &DomainScope,
        filter: &LinkFilter<'_>,
        offset: usize,
        limit: usize,
    ) -> (Vec<LinkEntry>, usize) {
        let needle = filter
            .search
            .map(str::to_lowercase)
            .filter(|s| !s.is_empty());
        let finder = needle.as_deref().map(memchr::memmem::Finder::new);
        let inner = self.read();
        let matched = finder.as_ref().map(|f| inner.links.matching(f));
        if let Some(set) = matched
            .as_ref()
            .filter(|_| scope.is_all() && filter.domain.is_none() && filter.tag.is_none())
        {
            // Nothing left to judge per row: count the bits, read only the page's rows.
            let page = inner
                .links
                .newest_first_in(set)
                .skip(offset)
                .take(limit)
                .map(|l| LinkEntry::of(&l))
                .collect();
            return (page, set.len());
        }
        let rows: Box<dyn Iterator<Item = LinkRef<'_>>> = match &matched {
            Some(set) => Box::new(inner.links.newest_first_in(set)),
            None => Box::new(inner.links.newest_first()),
        };
        let mut page = Vec::with_capacity(limit.min(100));
        let mut total = 0usize;
        for link in rows {
            let d = link.domain_id();
            if !scope.allows(d) || filter.domain.is_some_and(|f| f != d) {
                continue;
            }
            if let Some(tag) = filter.tag {
                if !link.tags().any(|t| t.eq_ignore_ascii_case(tag)) {
                    continue;
                }
            }
            if total >= offset && page.len() < limit {
                page.push(LinkEntry::of(&link));
            }
            total += 1;
        }
        (page, total)
    }

    /// How many links there are in all.
    pub fn link_total(&self) -> usize {
        self.read().links.len()
    }

    /// The clicks of every link, summed.
    pub fn click_total(&self) -> u64 {
        self.read().links.newest_first().map(|l| l.clicks()).sum()
    }

    /// Up to `n` links after `after` (by id, oldest first) matching `filter` in `scope`: one
    /// page of an export, so an export never holds every link at once. The same matches as
    /// [`Catalog::links`], judged row by row (an export reads every row anyway).
    pub fn links_after(
        &self,
        after: Option<LinkId>,
        n: usize,
        filter: &LinkFilter<'_>,
        scope: &DomainScope,
    ) -> Vec<LinkEntry> {
        let needle = filter
            .search
            .map(str::to_lowercase)
            .filter(|s| !s.is_empty());
        self.read()
            .links
            .oldest_first_after(after)
            .filter(|l| {
                let d = l.domain_id();
                scope.allows(d)
                    && filter.domain.is_none_or(|f| f == d)
                    && filter
                        .tag
                        .is_none_or(|tag| l.tags().any(|t| t.eq_ignore_ascii_case(tag)))
                    && needle.as_deref().is_none_or(|n| text_contains(l, n))
            })
            .take(n)
            .map(|l| LinkEntry::of(&l))
            .collect()
    }

    pub(super) fn put_link(&self, rec: &LinkRecord) {
        let mut inner = self.write();
        let before = inner.links.get(rec.id).map(|l| l.domain_id());
        if before != Some(rec.domain_id) {
            if let Some(old) = before {
                if let Some(c) = inner.counts.get_mut(&old) {
                    *c = c.saturating_sub(1);
                }
            }
            *inner.counts.entry(rec.domain_id).or_default() += 1;
        }
        inner.links.put(&LinkFields::of(rec), None);
    }

    pub(super) fn delete_link(&self, id: LinkId) {
        let mut inner = self.write();
        let domain = inner.links.get(id).map(|l| l.domain_id());
        if inner.links.remove(id).is_some() {
            if let Some(c) = domain.and_then(|d| inner.counts.get_mut(&d)) {
                *c = c.saturating_sub(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{now, Hostname};
    use crate::store::records::Source;

    fn domain(id: DomainId, host: &str) -> DomainRecord {
        DomainRecord {
            id,
            hostname: Hostname::parse(host).unwrap(),
            source: Source::Api,
            created_at: now(),
            updated_at: now(),
        }
    }

    /// A node following the change feed applies domains in id order, not commit order: two
    /// domains that swapped names must both still route.
    #[test]
    fn two_domains_that_swap_names_both_route_whatever_order_they_arrive_in() {
        let c = Catalog::default();
        c.put_domain(&domain(1, "a.example.com"));
        c.put_domain(&domain(2, "b.example.com"));
        c.put_domain(&domain(1, "b.example.com"));
        c.put_domain(&domain(2, "a.example.com"));
        assert_eq!(c.domain_by_host("b.example.com").map(|d| d.id), Some(1));
        assert_eq!(c.domain_by_host("a.example.com").map(|d| d.id), Some(2));
        // A deleted domain whose name another took meanwhile leaves that one alone.
        c.put_domain(&domain(3, "c.example.com"));
        c.put_domain(&domain(4, "c.example.com"));
        c.remove_domain(3);
        assert_eq!(c.domain_by_host("c.example.com").map(|d| d.id), Some(4));
    }
}
