//! The in-memory read model of domains and links. Loaded from redb at start and updated after
//! every committed write (under the store's write lock), so reads — above all the redirect —
//! never open a transaction.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::key_index::DomainScope;
use super::records::{DomainId, DomainRecord, LinkId, LinkRecord};
use super::search::SearchIndex;
use crate::domain::Timestamp;

/// A link as the read side sees it: the record and its live click count.
#[derive(Debug)]
pub struct LinkEntry {
    pub rec: LinkRecord,
    clicks: AtomicU64,
}

impl LinkEntry {
    fn new(rec: LinkRecord, clicks: u64) -> Self {
        Self {
            rec,
            clicks: AtomicU64::new(clicks),
        }
    }

    pub fn clicks(&self) -> u64 {
        self.clicks.load(Ordering::Relaxed)
    }

    pub fn is_expired_at(&self, now: Timestamp) -> bool {
        self.rec.expires_at.is_some_and(|at| at <= now)
    }
}

#[derive(Default)]
struct Inner {
    domains: BTreeMap<DomainId, DomainRecord>,
    hosts: HashMap<String, DomainId>,
    links: BTreeMap<LinkId, Arc<LinkEntry>>,
    /// domain → slug → link: the redirect index.
    routes: HashMap<DomainId, HashMap<String, Arc<LinkEntry>>>,
    by_domain: HashMap<DomainId, BTreeSet<LinkId>>,
    search: SearchIndex,
}

/// What a link listing asks for. `search` is matched case-insensitively.
#[derive(Debug, Default)]
pub struct LinkFilter<'a> {
    pub search: Option<&'a str>,
    pub domain: Option<DomainId>,
    pub tag: Option<&'a str>,
}

#[derive(Default)]
pub struct Catalog {
    inner: RwLock<Inner>,
}

impl Catalog {
    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn load(&self, domains: Vec<DomainRecord>, links: Vec<(LinkRecord, u64)>) {
        let mut inner = Inner::default();
        for d in domains {
            inner.hosts.insert(d.hostname.as_str().to_owned(), d.id);
            inner.domains.insert(d.id, d);
        }
        for (rec, clicks) in links {
            insert_link(&mut inner, Arc::new(LinkEntry::new(rec, clicks)));
        }
        *self.write() = inner;
    }

    // ---- redirect hot path ----

    /// Host (lower-case, no port) + slug → `f(link)`, if both are managed. The link is lent
    /// under the read lock, so the hot path pays no reference-count traffic.
    pub fn with_route<T>(
        &self,
        host: &str,
        slug: &str,
        f: impl FnOnce(&LinkEntry) -> T,
    ) -> Option<T> {
        let inner = self.read();
        let domain = inner.hosts.get(host)?;
        inner.routes.get(domain)?.get(slug).map(|e| f(e))
    }

    pub fn add_clicks(&self, counts: &HashMap<LinkId, u64>) {
        let inner = self.read();
        for (id, n) in counts {
            if let Some(entry) = inner.links.get(id) {
                entry.clicks.fetch_add(*n, Ordering::Relaxed);
            }
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
            .map(|d| (d.clone(), link_count(&inner, d.id)))
            .collect()
    }

    pub fn link_count(&self, id: DomainId) -> u64 {
        link_count(&self.read(), id)
    }

    pub(super) fn put_domain(&self, d: &DomainRecord) {
        let mut inner = self.write();
        if let Some(old) = inner
            .domains
            .get(&d.id)
            .map(|o| o.hostname.as_str().to_owned())
        {
            inner.hosts.remove(&old);
        }
        inner.hosts.insert(d.hostname.as_str().to_owned(), d.id);
        inner.domains.insert(d.id, d.clone());
    }

    pub(super) fn remove_domain(&self, id: DomainId) {
        let mut inner = self.write();
        if let Some(d) = inner.domains.remove(&id) {
            inner.hosts.remove(d.hostname.as_str());
        }
        inner.routes.remove(&id);
        for link in inner.by_domain.remove(&id).unwrap_or_default() {
            inner.links.remove(&link);
            inner.search.remove(link);
        }
    }

    // ---- links ----

    pub fn link(&self, id: LinkId) -> Option<Arc<LinkEntry>> {
        self.read().links.get(&id).cloned()
    }

    /// One page of links (newest first) matching `filter` within `scope`, and the total count.
    pub fn links(
        &self,
        scope: &DomainScope,
        filter: &LinkFilter<'_>,
        offset: usize,
        limit: usize,
    ) -> (Vec<Arc<LinkEntry>>, usize) {
        let needle = filter
            .search
            .map(str::to_lowercase)
            .filter(|s| !s.is_empty());
        let inner = self.read();
        let mut page = Vec::with_capacity(limit.min(100));
        let mut total = 0usize;
        inner.search.scan(
            needle.as_deref(),
            |d| scope.allows(d) && filter.domain.is_none_or(|f| f == d),
            |id| {
                let wanted = total >= offset && page.len() < limit;
                // Tags are checked on the entry, so only tag queries pay for the lookup.
                if filter.tag.is_some() || wanted {
                    let Some(e) = inner.links.get(&id) else {
                        return true;
                    };
                    if filter.tag.is_some_and(|t| !e.rec.tags.contains(t)) {
                        return true;
                    }
                    if wanted {
                        page.push(Arc::clone(e));
                    }
                }
                total += 1;
                true
            },
        );
        (page, total)
    }

    /// How many links there are in all.
    pub fn link_total(&self) -> usize {
        self.read().links.len()
    }

    /// The clicks of every link, summed.
    pub fn click_total(&self) -> u64 {
        self.read().links.values().map(|e| e.clicks()).sum()
    }

    /// The `n` links with the most clicks (at least one), most first: for the home page.
    pub fn most_clicked(&self, n: usize) -> Vec<Arc<LinkEntry>> {
        let inner = self.read();
        let mut top: Vec<Arc<LinkEntry>> = Vec::with_capacity(n + 1);
        for e in inner.links.values().filter(|e| e.clicks() > 0) {
            let at = top.partition_point(|t| t.clicks() >= e.clicks());
            if at < n {
                top.insert(at, Arc::clone(e));
                top.truncate(n);
            }
        }
        top
    }

    /// Up to `n` links after `after` (by id, oldest first) of a domain (or all) in `scope`:
    /// one page of an export, so an export never holds every link at once.
    pub fn links_after(
        &self,
        after: Option<LinkId>,
        n: usize,
        domain: Option<DomainId>,
        scope: &DomainScope,
    ) -> Vec<Arc<LinkEntry>> {
        use std::ops::Bound::{Excluded, Unbounded};
        let start = after.map_or(Unbounded, Excluded);
        self.read()
            .links
            .range((start, Unbounded))
            .map(|(_, e)| e)
            .filter(|e| {
                scope.allows(e.rec.domain_id) && domain.is_none_or(|d| e.rec.domain_id == d)
            })
            .take(n)
            .cloned()
            .collect()
    }

    pub(super) fn put_link(&self, rec: &LinkRecord) {
        let mut inner = self.write();
        let clicks = remove_link(&mut inner, rec.id).map_or(0, |old| old.clicks());
        insert_link(&mut inner, Arc::new(LinkEntry::new(rec.clone(), clicks)));
    }

    pub(super) fn delete_link(&self, id: LinkId) {
        remove_link(&mut self.write(), id);
    }
}

fn link_count(inner: &Inner, id: DomainId) -> u64 {
    inner.by_domain.get(&id).map_or(0, |s| s.len() as u64)
}

fn insert_link(inner: &mut Inner, entry: Arc<LinkEntry>) {
    let rec = &entry.rec;
    inner
        .routes
        .entry(rec.domain_id)
        .or_default()
        .insert(rec.slug.as_str().to_owned(), Arc::clone(&entry));
    inner
        .by_domain
        .entry(rec.domain_id)
        .or_default()
        .insert(rec.id);
    inner.search.put(rec);
    inner.links.insert(rec.id, entry);
}

fn remove_link(inner: &mut Inner, id: LinkId) -> Option<Arc<LinkEntry>> {
    let old = inner.links.remove(&id)?;
    inner.search.remove(id);
    if let Some(routes) = inner.routes.get_mut(&old.rec.domain_id) {
        routes.remove(old.rec.slug.as_str());
    }
    if let Some(ids) = inner.by_domain.get_mut(&old.rec.domain_id) {
        ids.remove(&id);
    }
    Some(old)
}
