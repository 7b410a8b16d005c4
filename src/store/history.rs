//! Playground request history, per signed-in user, bounded per user.

use super::kv::ReadableTable;
use super::records::HistoryRecord;
use super::tables::HISTORY;
use super::{encode, keep_newest, next_id, page_newest_first, Store, StoreError};
use crate::domain::now;

impl Store {
    pub fn history(
        &self,
        user: &str,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<HistoryRecord>, usize), StoreError> {
        self.read(|tx| {
            let table = tx.open_table(HISTORY)?;
            page_newest_first(table.range((user, 0)..=(user, u64::MAX))?, offset, limit)
        })
    }

    /// Add an entry, dropping the oldest beyond `keep` entries for that user.
    pub fn add_history(
        &self,
        user: &str,
        mut rec: HistoryRecord,
        keep: usize,
    ) -> Result<HistoryRecord, StoreError> {
        self.write(
            |tx| {
                rec.id = next_id(tx, "history")?;
                rec.created_at = now();
                let mut table = tx.open_table(HISTORY)?;
                table.insert((user, rec.id), encode(&rec).as_slice())?;
                keep_newest(&mut table, (user, 0)..=(user, u64::MAX), keep)?;
                Ok(rec)
            },
            |_| {},
        )
    }

    pub fn clear_history(&self, user: &str) -> Result<(), StoreError> {
        self.write(
            |tx| {
                tx.open_table(HISTORY)?
                    .retain_in((user, 0)..=(user, u64::MAX), |_, _| false)?;
                Ok(())
            },
            |()| {},
        )
    }
}
