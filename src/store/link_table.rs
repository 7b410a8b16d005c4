//! Every link in memory, in a compact form: what the redirect, the API and search need, and
//! nothing per link that an arena can share.
//!
//! - `slots`: one fixed-size row per link, in id order (new links have the highest id), so
//!   a listing walks them newest first. A deleted row is a tombstone until the next compaction.
//! - `lower`: one arena of every link's lower-cased `slug\ndestination\ntitle`: what search
//!   scans, and where a field that is lower-case already is read from.
//! - `text`: per link, the original of each field that has capitals (or is not ASCII), then
//!   the tags (joined by `;`). Most slugs, destinations and titles are stored once.
//! - `routes`: (domain, slug) → row, storing only the row index (the key is read back from
//!   the arena), and `by_id`: id → row, a plain vector (the store hands out ids one by one,
//!   so they are dense).
//! - `regions`: each row's searchable text as (offset, length, row), in arena order, so a
//!   search scans `lower` in one pass and maps each match back to its row without reading the
//!   rows (an entry is voided when its row is edited or removed).
//!
//! About 110 bytes of row, indexes and search map plus the text itself per link (~220 bytes
//! in all for a typical link), against ~1.7 KB for a record with its own strings behind
//! reference-counted pointers in several maps.

use std::sync::atomic::{AtomicU64, Ordering};

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

use super::records::{DomainId, LinkId, LinkRecord};
use crate::domain::{DestinationUrl, FromStored, RedirectCode, Slug, Tags, Timestamp, Title};

const NEVER: i64 = i64::MAX;
/// Flag: the link has a title (an empty one is none).
const HAS_TITLE: u16 = 1;
/// Flags: the slug, destination or title has capitals (or is not ASCII), so its original is
/// in `text`; without the flag the field is read from `lower`, where it is the same.
const SLUG_CASED: u16 = 2;
const DEST_CASED: u16 = 8;
const TITLE_CASED: u16 = 16;
/// Flag: a deleted row, until the next compaction (it keeps its id, so rows stay sorted).
const DEAD: u16 = 4;

struct Slot {
    id: LinkId,
    domain: DomainId,
    created: i64,
    updated: i64,
    expires: i64,
    clicks: AtomicU64,
    /// Where this row's originals (then tags) start in `text`.
    text: u32,
    /// Where this row's lower-cased `slug\ndestination\ntitle` starts in `lower`.
    lower: u32,
    /// Bytes of the originals.
    slug_len: u16,
    dest_len: u16,
    title_len: u16,
    tags_len: u16,
    /// Bytes of the lower-cased text (a title's lower case may differ in length).
    lower_len: u16,
    code: u16,
    flags: u16,
}

impl Slot {
    fn is_live(&self) -> bool {
        self.flags & DEAD == 0
    }

    /// Bytes this row holds in the arenas.
    fn arena_bytes(&self) -> usize {
        self.text_len() + usize::from(self.lower_len)
    }

    /// `len` if the field with `flag` has its original in `text`, else 0.
    fn in_text(&self, flag: u16, len: u16) -> usize {
        if self.flags & flag != 0 {
            usize::from(len)
        } else {
            0
        }
    }

    fn text_len(&self) -> usize {
        self.in_text(SLUG_CASED, self.slug_len)
            + self.in_text(DEST_CASED, self.dest_len)
            + self.in_text(TITLE_CASED, self.title_len)
            + usize::from(self.tags_len)
    }
}

#[derive(Default)]
pub struct LinkTable {
    slots: Vec<Slot>,
    /// `String`s, so a field is a slice with two boundary checks, not a UTF-8 validation.
    text: String,
    lower: String,
    /// Arena bytes no live row points at.
    garbage: usize,
    dead: usize,
    routes: HashTable<u32>,
    by_id: IdIndex,
    regions: Vec<Region>,
    hasher: DefaultHashBuilder,
}

/// Where a row's searchable text sits in an arena.
#[derive(Clone, Copy)]
struct Region {
    at: u32,
    len: u32,
    /// `VOID` once the row's text moved or the row was removed.
    row: u32,
}

impl Region {
    const VOID: u32 = u32::MAX;
}

/// Link id → row: 4 bytes per id ever handed out, against ~34 for a hash map at 1M links. The
/// store hands out ids one by one, so they are dense; an id far past every other (a restored
/// or hand-made backup) goes to a small map instead of growing the vector to its size, which
/// for an id like 2^40 would ask for terabytes at start.
#[derive(Default)]
struct IdIndex {
    dense: Vec<u32>,
    far: std::collections::HashMap<LinkId, u32>,
}

impl IdIndex {
    const NONE: u32 = u32::MAX;
    /// How far past the vector's end an id may land and still grow it (then at most double).
    const SLACK: usize = 1 << 16;

    fn with_capacity(n: usize) -> Self {
        Self {
            dense: Vec::with_capacity(n + 1),
            far: std::collections::HashMap::new(),
        }
    }

    fn get(&self, id: LinkId) -> Option<u32> {
        let i = usize::try_from(id).unwrap_or(usize::MAX);
        match self.dense.get(i) {
            Some(&r) if r != Self::NONE => Some(r),
            _ if self.far.is_empty() => None,
            _ => self.far.get(&id).copied(),
        }
    }

    fn insert(&mut self, id: LinkId, row: u32) {
        let i = usize::try_from(id).unwrap_or(usize::MAX);
        if i < self.dense.len() {
            self.dense[i] = row;
        } else if i
            <= self
                .dense
                .len()
                .saturating_mul(2)
                .saturating_add(Self::SLACK)
        {
            self.dense.resize(i + 1, Self::NONE);
            self.dense[i] = row;
        } else {
            self.far.insert(id, row);
        }
    }

    fn remove(&mut self, id: LinkId) -> Option<u32> {
        let i = usize::try_from(id).unwrap_or(usize::MAX);
        match self.dense.get_mut(i) {
            Some(slot) if *slot != Self::NONE => Some(std::mem::replace(slot, Self::NONE)),
            _ => self.far.remove(&id),
        }
    }

    fn clear(&mut self) {
        self.dense.fill(Self::NONE);
        self.far.clear();
    }
}

/// A link lent from the table (under the catalog's lock): its fields without copies.
#[derive(Clone, Copy)]
pub struct LinkRef<'a> {
    slot: &'a Slot,
    text: &'a str,
    lower: &'a str,
}

/// A link's fields, borrowed: from a record, or straight from the stored bytes while loading.
pub struct LinkFields<'a> {
    pub id: LinkId,
    pub domain: DomainId,
    pub slug: &'a str,
    pub destination: &'a str,
    pub title: Option<&'a str>,
    pub tags: TagList<'a>,
    pub code: u16,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A link's tags as a record holds them, or already joined by `;` as they are stored (a
/// character tags cannot hold, so they split back exactly).
pub enum TagList<'a> {
    List(&'a [String]),
    Joined(&'a str),
}

impl TagList<'_> {
    fn write_to(&self, out: &mut String) -> usize {
        let start = out.len();
        match self {
            Self::Joined(s) => out.push_str(s),
            Self::List(tags) => {
                for (i, t) in tags.iter().enumerate() {
                    if i > 0 {
                        out.push(';');
                    }
                    out.push_str(t);
                }
            }
        }
        out.len() - start
    }
}

impl<'a> LinkFields<'a> {
    pub fn of(rec: &'a LinkRecord) -> LinkFields<'a> {
        LinkFields {
            id: rec.id,
            domain: rec.domain_id,
            slug: rec.slug.as_str(),
            destination: rec.destination_url.as_str(),
            title: rec.title.as_ref().map(Title::as_str),
            tags: TagList::List(rec.tags.as_slice()),
            code: rec.redirect_code.get(),
            expires_at: rec.expires_at.map(Timestamp::unix),
            created_at: rec.created_at.unix(),
            updated_at: rec.updated_at.unix(),
        }
    }
}

fn to_u16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

impl<'a> LinkRef<'a> {
    /// Written from whole `&str`s, so the ends are char boundaries.
    fn in_text(&self, from: usize, len: u16) -> &'a str {
        let start = self.slot.text as usize + from;
        self.text.get(start..start + usize::from(len)).unwrap_or("")
    }

    fn in_lower(&self, from: usize, len: u16) -> &'a str {
        let start = self.slot.lower as usize + from;
        self.lower
            .get(start..start + usize::from(len))
            .unwrap_or("")
    }

    /// The field with `flag`: its original in `text` at `text_at`, or its lower-case self
    /// (the same bytes) in `lower` at `lower_at`.
    fn field(&self, flag: u16, text_at: usize, lower_at: usize, len: u16) -> &'a str {
        if self.slot.flags & flag != 0 {
            self.in_text(text_at, len)
        } else {
            self.in_lower(lower_at, len)
        }
    }

    pub fn id(&self) -> LinkId {
        self.slot.id
    }

    pub fn domain_id(&self) -> DomainId {
        self.slot.domain
    }

    pub fn slug(&self) -> &'a str {
        self.field(SLUG_CASED, 0, 0, self.slot.slug_len)
    }

    pub fn destination(&self) -> &'a str {
        let s = self.slot;
        let text_at = s.in_text(SLUG_CASED, s.slug_len);
        self.field(DEST_CASED, text_at, usize::from(s.slug_len) + 1, s.dest_len)
    }

    pub fn title(&self) -> Option<&'a str> {
        let s = self.slot;
        let text_at = s.in_text(SLUG_CASED, s.slug_len) + s.in_text(DEST_CASED, s.dest_len);
        let lower_at = usize::from(s.slug_len) + usize::from(s.dest_len) + 2;
        (s.flags & HAS_TITLE != 0).then(|| self.field(TITLE_CASED, text_at, lower_at, s.title_len))
    }

    /// The tags, joined by `;` (a character tags cannot hold).
    pub fn tags_joined(&self) -> &'a str {
        let s = self.slot;
        self.in_text(s.text_len() - usize::from(s.tags_len), s.tags_len)
    }

    pub fn tags(&self) -> impl Iterator<Item = &'a str> {
        self.tags_joined().split(';').filter(|t| !t.is_empty())
    }

    pub fn redirect_code(&self) -> u16 {
        self.slot.code
    }

    pub fn expires_at(&self) -> Option<Timestamp> {
        (self.slot.expires != NEVER).then(|| Timestamp::from_unix(self.slot.expires))
    }

    pub fn is_expired_at(&self, now: Timestamp) -> bool {
        self.slot.expires <= now.unix()
    }

    pub fn created_at(&self) -> Timestamp {
        Timestamp::from_unix(self.slot.created)
    }

    pub fn updated_at(&self) -> Timestamp {
        Timestamp::from_unix(self.slot.updated)
    }

    pub fn clicks(&self) -> u64 {
        self.slot.clicks.load(Ordering::Relaxed)
    }

    /// An owned record, for pages and exports (the hot paths read the fields instead).
    pub fn to_record(&self) -> LinkRecord {
        let tags: Vec<String> = self.tags().map(str::to_owned).collect();
        LinkRecord {
            id: self.id(),
            domain_id: self.domain_id(),
            slug: Slug::from_stored(self.slug().to_owned()),
            destination_url: DestinationUrl::from_stored(self.destination().to_owned()),
            title: self.title().map(|t| Title::from_stored(t.to_owned())),
            tags: Tags::from_stored(tags).unwrap_or_default(),
            redirect_code: RedirectCode::from_stored(self.redirect_code())
                .unwrap_or(RedirectCode::DEFAULT),
            expires_at: self.expires_at(),
            created_at: self.created_at(),
            updated_at: self.updated_at(),
        }
    }
}

impl LinkTable {
    pub fn with_capacity(links: usize) -> Self {
        Self {
            slots: Vec::with_capacity(links),
            text: String::with_capacity(links * 16),
            lower: String::with_capacity(links * 80),
            routes: HashTable::with_capacity(links),
            by_id: IdIndex::with_capacity(links),
            regions: Vec::with_capacity(links),
            ..Self::default()
        }
    }

    pub fn len(&self) -> usize {
        self.slots.len() - self.dead
    }

    fn lend(&self, i: u32) -> LinkRef<'_> {
        self.lend_slot(&self.slots[i as usize])
    }

    fn lend_slot<'s>(&'s self, slot: &'s Slot) -> LinkRef<'s> {
        LinkRef {
            slot,
            text: &self.text,
            lower: &self.lower,
        }
    }

    fn route_hash(&self, domain: DomainId, slug: &str) -> u64 {
        self.hasher.hash_one((domain, slug))
    }

    /// The link at (domain, slug), if any.
    pub fn find(&self, domain: DomainId, slug: &str) -> Option<LinkRef<'_>> {
        let hash = self.route_hash(domain, slug);
        let i = *self.routes.find(hash, |&i| {
            let r = self.lend(i);
            r.domain_id() == domain && r.slug() == slug
        })?;
        Some(self.lend(i))
    }

    pub fn get(&self, id: LinkId) -> Option<LinkRef<'_>> {
        self.by_id.get(id).map(|i| self.lend(i))
    }

    /// Live links, newest first.
    pub fn newest_first(&self) -> impl Iterator<Item = LinkRef<'_>> {
        self.slots
            .iter()
            .rev()
            .filter(|s| s.is_live())
            .map(|slot| self.lend_slot(slot))
    }

    /// Live links with an id above `after`, oldest first.
    pub fn oldest_first_after(&self, after: Option<LinkId>) -> impl Iterator<Item = LinkRef<'_>> {
        let from = after.map_or(0, |a| self.slots.partition_point(|s| s.id <= a));
        self.slots[from..]
            .iter()
            .filter(|s| s.is_live())
            .map(|slot| self.lend_slot(slot))
    }

    /// The lower-cased `slug\ndestination\ntitle` of a link (what `matching` scans).
    #[cfg(test)]
    fn searchable<'s>(&'s self, link: &LinkRef<'s>) -> &'s [u8] {
        link.in_lower(0, link.slot.lower_len).as_bytes()
    }

    pub fn add_clicks(&self, id: LinkId, n: u64) {
        if let Some(i) = self.by_id.get(id) {
            self.slots[i as usize]
                .clicks
                .fetch_add(n, Ordering::Relaxed);
        }
    }

    pub fn set_clicks(&self, id: LinkId, n: u64) {
        if let Some(i) = self.by_id.get(id) {
            self.slots[i as usize].clicks.store(n, Ordering::Relaxed);
        }
    }

    /// Insert or replace a link, keeping its click count when it is replaced.
    pub fn put(&mut self, rec: &LinkFields<'_>, clicks: Option<u64>) {
        if let Some(i) = self.by_id.get(rec.id) {
            // In place: the row keeps its position, so the id order holds.
            self.unroute(i);
            self.unmap_search(i);
            let old = &self.slots[i as usize];
            let kept = old.clicks.load(Ordering::Relaxed);
            self.garbage += old.arena_bytes();
            let slot = self.encode(rec, clicks.unwrap_or(kept));
            self.slots[i as usize] = slot;
            self.route(i);
            self.map_search(i);
            self.compact_if_needed();
            return;
        }
        let slot = self.encode(rec, clicks.unwrap_or(0));
        if self.slots.last().is_some_and(|last| last.id > rec.id) {
            // Only an old id coming back (never through the API): keep the id order.
            let at = self.slots.partition_point(|s| s.id < rec.id);
            self.slots.insert(at, slot);
            self.reindex();
            return;
        }
        self.slots.push(slot);
        let i = u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX);
        self.route(i);
        self.map_search(i);
        self.by_id.insert(rec.id, i);
    }

    /// Note where row `i`'s searchable text is (the arena only grows, so the map stays sorted).
    fn map_search(&mut self, i: u32) {
        let slot = &self.slots[i as usize];
        self.regions.push(Region {
            at: slot.lower,
            len: u32::from(slot.lower_len),
            row: i,
        });
    }

    /// Void the map entry of row `i`'s searchable text (before it is replaced or removed).
    fn unmap_search(&mut self, i: u32) {
        let at = self.slots[i as usize].lower;
        let k = self.regions.partition_point(|r| r.at < at);
        if let Some(r) = self.regions.get_mut(k).filter(|r| r.at == at && r.row == i) {
            r.row = Region::VOID;
        }
    }

    /// The rows whose lower-cased `slug\ndestination\ntitle` contains the finder's needle
    /// (lower-case): each arena is scanned in one pass, so a search reads the text once and
    /// only the rows that match.
    pub fn matching(&self, finder: &memchr::memmem::Finder<'_>) -> RowSet {
        let mut set = RowSet(vec![0; self.slots.len().div_ceil(64)]);
        Self::scan(self.lower.as_bytes(), &self.regions, finder, &mut set);
        set
    }

    fn scan(arena: &[u8], map: &[Region], finder: &memchr::memmem::Finder<'_>, set: &mut RowSet) {
        let needle = finder.needle().len();
        let text = |r: &Region| arena.get(r.at as usize..(r.at + r.len) as usize);
        let mut from = map.first().map_or(arena.len(), |e| e.at as usize);
        let mut cursor = 0;
        while let Some(p) = arena.get(from..).and_then(|h| finder.find(h)) {
            let p = from + p;
            cursor = last_at_or_before(map, cursor, p);
            let r = map[cursor];
            if r.row != Region::VOID && p + needle <= (r.at + r.len) as usize {
                set.insert(r.row);
                // Matches often come in runs (a word most links hold): try the regions that
                // follow one by one, each a short bounded search, until one fails.
                cursor += 1;
                while let Some(r) = map.get(cursor) {
                    if r.row != Region::VOID {
                        if text(r).is_none_or(|t| finder.find(t).is_none()) {
                            break;
                        }
                        set.insert(r.row);
                    }
                    cursor += 1;
                }
            }
            // Otherwise no match in this region any more (a later one would cross its end
            // too), or the region is void, or not a row's searchable text.
            let Some(next) = map.get(cursor + 1) else {
                break;
            };
            from = (next.at as usize).max(p + 1);
        }
    }

    /// Rows of `set`, newest first.
    pub fn newest_first_in<'s>(&'s self, set: &'s RowSet) -> impl Iterator<Item = LinkRef<'s>> {
        set.rows_descending().map(|i| self.lend(i))
    }

    fn encode(&mut self, f: &LinkFields<'_>, clicks: u64) -> Slot {
        let title = f.title.unwrap_or("");
        let is_plain = |t: &str| t.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase());
        let mut flags = if f.title.is_some() { HAS_TITLE } else { 0 };
        // What search reads. Slugs are ASCII and destinations are stored in their WHATWG form
        // (ASCII), so ASCII lower case keeps their byte lengths and the title's offset; a title
        // gets the full Unicode lower case, as the search term does.
        let lower = u32::try_from(self.lower.len()).unwrap_or(u32::MAX);
        for part in [f.slug, f.destination] {
            let at = self.lower.len();
            self.lower.push_str(part);
            self.lower[at..].make_ascii_lowercase();
            self.lower.push('\n');
        }
        if is_plain(title) {
            self.lower.push_str(title);
        } else {
            self.lower.push_str(&title.to_lowercase());
        }
        let lower_len = self.lower.len() - lower as usize;
        // The originals that `lower` does not hold as they are, then the tags.
        let text = u32::try_from(self.text.len()).unwrap_or(u32::MAX);
        for (part, flag) in [
            (f.slug, SLUG_CASED),
            (f.destination, DEST_CASED),
            (title, TITLE_CASED),
        ] {
            if !is_plain(part) {
                flags |= flag;
                self.text.push_str(part);
            }
        }
        let tags_len = f.tags.write_to(&mut self.text);
        Slot {
            id: f.id,
            domain: f.domain,
            created: f.created_at,
            updated: f.updated_at,
            expires: f.expires_at.unwrap_or(NEVER),
            clicks: AtomicU64::new(clicks),
            text,
            lower,
            slug_len: to_u16(f.slug.len()),
            dest_len: to_u16(f.destination.len()),
            title_len: to_u16(title.len()),
            tags_len: to_u16(tags_len),
            lower_len: to_u16(lower_len),
            code: f.code,
            flags,
        }
    }

    /// Append a link read at start (in id order); `finish_load` builds the indexes once.
    pub fn push_loaded(&mut self, f: &LinkFields<'_>, clicks: u64) {
        let slot = self.encode(f, clicks);
        self.slots.push(slot);
    }

    pub fn finish_load(&mut self) {
        if !self.slots.is_sorted_by_key(|s| s.id) {
            self.slots.sort_by_key(|s| s.id);
        }
        self.reindex();
        self.slots.shrink_to_fit();
        self.text.shrink_to_fit();
        self.lower.shrink_to_fit();
    }

    /// Put row `i` in the (domain, slug) index.
    fn route(&mut self, i: u32) {
        let r = self.lend(i);
        let hash = self.route_hash(r.domain_id(), r.slug());
        let hasher = &self.hasher;
        let slots = &self.slots;
        let (text, lower) = (&self.text, &self.lower);
        self.routes.insert_unique(hash, i, |&j| {
            let r = LinkRef {
                slot: &slots[j as usize],
                text,
                lower,
            };
            hasher.hash_one((r.domain_id(), r.slug()))
        });
    }

    /// Take row `i` out of the (domain, slug) index.
    fn unroute(&mut self, i: u32) {
        let r = self.lend(i);
        let hash = self.route_hash(r.domain_id(), r.slug());
        if let Ok(entry) = self.routes.find_entry(hash, |&j| j == i) {
            entry.remove();
        }
    }

    /// Rebuild the indexes and search maps from the rows (after rows moved).
    fn reindex(&mut self) {
        self.routes.clear();
        self.by_id.clear();
        self.regions.clear();
        for i in 0..self.slots.len() {
            if self.slots[i].is_live() {
                let i32_ = u32::try_from(i).unwrap_or(u32::MAX);
                self.route(i32_);
                self.map_search(i32_);
                self.by_id.insert(self.slots[i].id, i32_);
            }
        }
        if !self.regions.is_sorted_by_key(|e| e.at) {
            self.regions.sort_unstable_by_key(|e| e.at);
        }
    }

    /// Remove a link; returns its click count if it was there.
    pub fn remove(&mut self, id: LinkId) -> Option<u64> {
        let i = self.by_id.remove(id)?;
        self.unroute(i);
        self.unmap_search(i);
        let slot = &mut self.slots[i as usize];
        let clicks = slot.clicks.load(Ordering::Relaxed);
        self.garbage += slot.arena_bytes();
        slot.flags |= DEAD;
        self.dead += 1;
        self.compact_if_needed();
        Some(clicks)
    }

    /// Drop tombstones and dead text once they make up a third of the table.
    fn compact_if_needed(&mut self) {
        let rows_waste = self.dead > 1024 && self.dead * 3 > self.slots.len();
        let text_waste =
            self.garbage > 1 << 20 && self.garbage * 3 > self.text.len() + self.lower.len();
        if !rows_waste && !text_waste {
            return;
        }
        let old_text = std::mem::take(&mut self.text);
        let old_lower = std::mem::take(&mut self.lower);
        self.slots.retain(Slot::is_live);
        self.text
            .reserve(old_text.len() - self.garbage.min(old_text.len()));
        for slot in &mut self.slots {
            let from = slot.text as usize;
            let len = slot.text_len();
            let at = u32::try_from(self.text.len()).unwrap_or(u32::MAX);
            self.text
                .push_str(old_text.get(from..from + len).unwrap_or(""));
            let l = slot.lower as usize;
            slot.lower = u32::try_from(self.lower.len()).unwrap_or(u32::MAX);
            self.lower.push_str(
                old_lower
                    .get(l..l + usize::from(slot.lower_len))
                    .unwrap_or(""),
            );
            slot.text = at;
        }
        self.garbage = 0;
        self.dead = 0;
        self.slots.shrink_to_fit();
        self.reindex();
    }
}

/// The index of the last entry of `map` (sorted by offset) starting at or before `p`, searched
/// from `cursor` onwards by galloping: matches come in arena order, so the cursor only moves
/// forward, a step for a dense search and a few jumps for a rare one.
fn last_at_or_before(map: &[Region], cursor: usize, p: usize) -> usize {
    let ahead = |i: usize| map.get(i).is_some_and(|e| e.at as usize <= p);
    if !ahead(cursor + 1) {
        return cursor;
    }
    let mut step = 1;
    while ahead(cursor + step * 2) {
        step *= 2;
    }
    // The answer is in [cursor + step, cursor + 2 * step).
    let lo = cursor + step;
    let hi = (cursor + 2 * step).min(map.len());
    lo + map[lo..hi].partition_point(|e| e.at as usize <= p) - 1
}

/// A set of rows, as bits.
pub struct RowSet(Vec<u64>);

impl RowSet {
    pub fn len(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    fn insert(&mut self, row: u32) {
        let (w, b) = (row as usize / 64, row % 64);
        if let Some(word) = self.0.get_mut(w) {
            *word |= 1 << b;
        }
    }

    fn rows_descending(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().enumerate().rev().flat_map(|(w, &word)| {
            let mut bits = word;
            std::iter::from_fn(move || {
                if bits == 0 {
                    return None;
                }
                let b = 63 - bits.leading_zeros();
                bits &= !(1u64 << b);
                Some(u32::try_from(w * 64).unwrap_or(u32::MAX) + b)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::now;

    fn rec(id: LinkId, domain: DomainId, slug: &str, title: Option<&str>) -> LinkRecord {
        LinkRecord {
            id,
            domain_id: domain,
            slug: Slug::parse(slug).unwrap(),
            destination_url: DestinationUrl::parse(&format!("https://example.com/{slug}")).unwrap(),
            title: title.map(|t| Title::parse(t).unwrap()),
            tags: Tags::parse(&["a", "b:c"]).unwrap(),
            redirect_code: RedirectCode::DEFAULT,
            expires_at: None,
            created_at: now(),
            updated_at: now(),
        }
    }

    #[test]
    fn links_round_trip_through_the_arena_and_both_indexes() {
        let mut t = LinkTable::default();
        t.put(
            &LinkFields::of(&rec(1, 1, "docs", Some("Docs Page"))),
            Some(5),
        );
        t.put(&LinkFields::of(&rec(2, 2, "docs", None)), None);
        let r = t.find(1, "docs").unwrap();
        assert_eq!(
            (r.id(), r.slug(), r.title(), r.clicks()),
            (1, "docs", Some("Docs Page"), 5)
        );
        assert_eq!(r.destination(), "https://example.com/docs");
        assert_eq!(r.tags().collect::<Vec<_>>(), ["a", "b:c"]);
        assert_eq!(
            t.searchable(&r),
            b"docs\nhttps://example.com/docs\ndocs page"
        );
        assert_eq!(t.find(2, "docs").unwrap().title(), None);
        assert!(t.find(3, "docs").is_none());
        assert_eq!(t.get(2).unwrap().to_record().slug.as_str(), "docs");
        // Replacing keeps the clicks and moves the route.
        t.put(&LinkFields::of(&rec(1, 1, "moved", None)), None);
        assert!(t.find(1, "docs").is_none());
        assert_eq!(t.find(1, "moved").unwrap().clicks(), 5);
        assert_eq!(t.newest_first().map(|r| r.id()).collect::<Vec<_>>(), [2, 1]);
        assert_eq!(t.remove(2), Some(0));
        assert_eq!(t.len(), 1);
        assert!(t.find(2, "docs").is_none());
    }

    /// `matching` (one pass per arena) finds exactly the rows a per-row search finds, through
    /// edits that move a row's text between arenas, removals and compactions.
    #[test]
    fn one_pass_search_agrees_with_a_search_row_by_row() {
        let mut t = LinkTable::default();
        let titles = [
            Some("Docs Page"),
            Some("docs page"),
            None,
            Some("ÄRGER docs"),
        ];
        let check = |t: &LinkTable| {
            for needle in [
                "docs",
                "s1",
                "page\nhttps",
                "1\nhttps",
                "ärger",
                "com/s2",
                "zz",
            ] {
                let f = memchr::memmem::Finder::new(needle);
                let set = t.matching(&f);
                let got: Vec<LinkId> = t.newest_first_in(&set).map(|r| r.id()).collect();
                let want: Vec<LinkId> = t
                    .newest_first()
                    .filter(|r| f.find(t.searchable(r)).is_some())
                    .map(|r| r.id())
                    .collect();
                assert_eq!(got, want, "needle {needle:?}");
            }
        };
        for id in 1..=3000u64 {
            let title = titles[(id % 4) as usize];
            t.put(
                &LinkFields::of(&rec(id, 1 + id % 3, &format!("s{id}"), title)),
                None,
            );
        }
        check(&t);
        for id in (1..=3000u64).step_by(7) {
            let title = titles[((id + 1) % 4) as usize];
            t.put(&LinkFields::of(&rec(id, 2, &format!("e{id}"), title)), None);
        }
        check(&t);
        for id in (1..=3000u64).filter(|id| id % 5 < 3) {
            t.remove(id);
        }
        check(&t);
    }

    /// Fields with capitals keep their originals; the others are read back from the
    /// lower-case arena, whatever mix a link has.
    #[test]
    fn every_mix_of_cased_fields_reads_back_as_written() {
        let mut t = LinkTable::default();
        let slugs = ["plain", "MiXed"];
        let paths = ["https://example.com/a/b", "https://example.com/A/B?Q=1"];
        let titles = [
            None,
            Some("plain title"),
            Some("Cased Title"),
            Some("İstanbul ÄRGER"),
        ];
        let mut id = 0;
        for slug in slugs {
            for path in paths {
                for title in titles {
                    id += 1;
                    let mut r = rec(id, 1, &format!("{slug}{id}"), title);
                    r.destination_url = DestinationUrl::parse(path).unwrap();
                    t.put(&LinkFields::of(&r), None);
                    let got = t.get(id).unwrap();
                    assert_eq!(got.slug(), r.slug.as_str());
                    assert_eq!(got.destination(), r.destination_url.as_str());
                    assert_eq!(got.title(), title);
                    assert_eq!(got.tags().collect::<Vec<_>>(), ["a", "b:c"]);
                    assert_eq!(t.find(1, r.slug.as_str()).unwrap().id(), id);
                    let want = format!(
                        "{}\n{}\n{}",
                        r.slug.as_str().to_ascii_lowercase(),
                        r.destination_url.as_str().to_ascii_lowercase(),
                        title.unwrap_or("").to_lowercase()
                    );
                    assert_eq!(t.searchable(&got), want.as_bytes());
                }
            }
        }
    }

    #[test]
    fn compaction_keeps_every_live_link_findable() {
        let mut t = LinkTable::default();
        for id in 1..=5000 {
            t.put(
                &LinkFields::of(&rec(id, 1, &format!("s{id}"), Some("T"))),
                None,
            );
        }
        for id in (1..=5000).filter(|id| id % 3 != 0) {
            t.remove(id);
        }
        assert_eq!(t.len(), 1666);
        for id in (3..=5000).step_by(3) {
            let r = t
                .find(1, &format!("s{id}"))
                .expect("found after compaction");
            assert_eq!(r.id(), id);
            assert_eq!(t.get(id).unwrap().slug(), format!("s{id}"));
            assert_eq!(
                t.searchable(&r),
                format!("s{id}\nhttps://example.com/s{id}\nt").as_bytes()
            );
        }
        let after: Vec<_> = t.oldest_first_after(Some(4995)).map(|r| r.id()).collect();
        assert_eq!(after, [4998]);
    }

    /// A backup may hold an id far past the others; the index must not grow to its size (an id
    /// of 2^40 once asked for 4 TiB at start), and every id stays findable.
    #[test]
    fn an_id_far_past_the_others_does_not_grow_the_id_index_to_its_size() {
        let mut ix = IdIndex::default();
        for id in 1..=10 {
            ix.insert(id, id as u32);
        }
        ix.insert(1 << 40, 11);
        ix.insert(u64::MAX - 1, 12);
        ix.insert(100_000, 13);
        assert!(ix.dense.len() <= 11 + IdIndex::SLACK, "{}", ix.dense.len());
        assert_eq!(ix.get(1 << 40), Some(11));
        assert_eq!(ix.get(u64::MAX - 1), Some(12));
        assert_eq!(ix.get(5), Some(5));
        assert_eq!(ix.get(1 << 39), None);
        // Ids handed out one by one later grow the vector past a far one: it is still found.
        for id in (11..100_000).chain(100_001..100_010) {
            ix.insert(id, 0);
        }
        assert!(ix.dense.len() > 100_000);
        assert_eq!(ix.get(100_000), Some(13));
        assert_eq!(ix.remove(100_000), Some(13));
        assert_eq!(ix.get(100_000), None);
        assert_eq!(ix.remove(1 << 40), Some(11));
        assert_eq!(ix.get(1 << 40), None);
        assert_eq!(ix.remove(5), Some(5));
        assert_eq!(ix.get(5), None);
    }
}
