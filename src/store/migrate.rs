//! `linkdock migrate --to postgres://…`: a stopped appliance's redb database copied into an
//! empty PostgreSQL database, every table's row count checked on both sides.

use std::path::Path;

use super::backup::{open_stopped, Copy};
use super::kv::{
    is_missing_table, static_name, Engine, OrderedKey, PgDatabase, ReadTransaction, ReadableTable,
};
use super::kv::{TableDefinition, Value};
use super::tables::{each_table, EachTable};
use super::{feed, StoreError};
use crate::domain::PostgresUrl;

/// What was copied: each table by name with its row count, the same in redb and PostgreSQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateReport {
    pub tables: Vec<(&'static str, u64)>,
}

/// Copy the database in `data_dir` (no server running on it) into the empty database at
/// `url`, then compare every table's count; `Ok` only when all of them match. The copy is one
/// PostgreSQL transaction: a failure leaves the target as empty as it was.
pub fn migrate_to_postgres(
    data_dir: &Path,
    url: &PostgresUrl,
) -> Result<MigrateReport, StoreError> {
    let from = open_stopped(data_dir)?;
    let to = PgDatabase::connect(url.expose_secret(), feed::WATCHED)?;
    if !to.is_empty()? {
        return Err(StoreError::Conflict(format!(
            "the PostgreSQL database {} is not empty: linkdock migrates into an empty database only (create a new one, e.g. with createdb)",
            url.describe()
        )));
    }
    let to = Engine::Postgres(Box::new(to));
    let read = from.begin_read()?;
    let write = to.begin_write()?;
    let mut copy = Copy {
        from: &read,
        to: &write,
        copied: Vec::new(),
    };
    each_table(&mut copy)?;
    let copied = copy.copied;
    write.commit()?;
    // Counted again on both sides, from what each database now holds.
    let check = to.begin_read()?;
    let mut verify = Verify {
        from: &read,
        to: &check,
        differ: Vec::new(),
    };
    each_table(&mut verify)?;
    if !verify.differ.is_empty() {
        return Err(StoreError::Conflict(format!(
            "the copy in {} does not match: {}",
            url.describe(),
            verify.differ.join("; ")
        )));
    }
    Ok(MigrateReport { tables: copied })
}

/// Each table's rows counted in both databases.
struct Verify<'a> {
    from: &'a ReadTransaction<'a>,
    to: &'a ReadTransaction<'a>,
    differ: Vec<String>,
}

impl EachTable for Verify<'_> {
    fn table<K: OrderedKey, V: Value + 'static>(
        &mut self,
        def: TableDefinition<'static, K, V>,
    ) -> Result<(), StoreError> {
        let a = match self.from.open_table(def) {
            Ok(t) => t.len()?,
            Err(e) if is_missing_table(&e) => 0,
            Err(e) => return Err(e),
        };
        let b = self.to.open_table(def)?.len()?;
        if a != b {
            self.differ.push(format!(
                "{}: {a} rows in redb, {b} in PostgreSQL",
                static_name(&def)?
            ));
        }
        Ok(())
    }
}
