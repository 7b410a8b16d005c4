//! The text side of link search: every link's lower-cased slug, destination and title in one
//! contiguous arena, with a row per link ordered by id. A search walks the rows newest first
//! and runs one SIMD substring finder over mostly-sequential memory, instead of chasing two
//! pointers per link.

use super::records::{DomainId, LinkId, LinkRecord};

#[derive(Debug, Clone, Copy)]
struct Row {
    id: LinkId,
    domain: DomainId,
    start: u32,
    end: u32,
}

#[derive(Default)]
pub struct SearchIndex {
    text: Vec<u8>,
    rows: Vec<Row>,
    /// Arena bytes no row points at any more; compacted when they outgrow the live ones.
    garbage: usize,
}

fn haystack(rec: &LinkRecord) -> String {
    format!(
        "{}\n{}\n{}",
        rec.slug,
        rec.destination_url,
        rec.title.as_ref().map_or("", |t| t.as_str())
    )
    .to_lowercase()
}

impl SearchIndex {
    pub fn put(&mut self, rec: &LinkRecord) {
        let text = haystack(rec);
        let start = self.text.len() as u32;
        self.text.extend_from_slice(text.as_bytes());
        let row = Row {
            id: rec.id,
            domain: rec.domain_id,
            start,
            end: self.text.len() as u32,
        };
        match self.rows.binary_search_by_key(&rec.id, |r| r.id) {
            Ok(i) => {
                self.garbage += (self.rows[i].end - self.rows[i].start) as usize;
                self.rows[i] = row;
            }
            // New links have the highest id: this is a push in all but the load path.
            Err(i) => self.rows.insert(i, row),
        }
        self.compact_if_needed();
    }

    pub fn remove(&mut self, id: LinkId) {
        if let Ok(i) = self.rows.binary_search_by_key(&id, |r| r.id) {
            let r = self.rows.remove(i);
            self.garbage += (r.end - r.start) as usize;
            self.compact_if_needed();
        }
    }

    fn compact_if_needed(&mut self) {
        if self.garbage < 1 << 20 || self.garbage < self.text.len() / 2 {
            return;
        }
        let mut text = Vec::with_capacity(self.text.len() - self.garbage);
        for r in &mut self.rows {
            let start = text.len() as u32;
            text.extend_from_slice(&self.text[r.start as usize..r.end as usize]);
            *r = Row {
                start,
                end: text.len() as u32,
                ..*r
            };
        }
        self.text = text;
        self.garbage = 0;
    }

    /// Ids newest first whose domain passes `domain_ok` and whose text contains `needle`
    /// (already lower-cased; `None` matches everything), fed to `visit` until it returns false.
    pub fn scan(
        &self,
        needle: Option<&str>,
        mut domain_ok: impl FnMut(DomainId) -> bool,
        mut visit: impl FnMut(LinkId) -> bool,
    ) {
        let finder = needle.map(memchr::memmem::Finder::new);
        for r in self.rows.iter().rev() {
            if !domain_ok(r.domain) {
                continue;
            }
            let hit = finder.as_ref().is_none_or(|f| {
                f.find(&self.text[r.start as usize..r.end as usize])
                    .is_some()
            });
            if hit && !visit(r.id) {
                return;
            }
        }
    }
}
