//! `linkdock migrate --to postgres://…`: a stopped appliance's redb database copied into an
//! empty PostgreSQL database, every table's row count checked on both sides.

use std::path::Path;

use super::StoreError;
use crate::domain::PostgresUrl;

/// What was copied: each table by name with its row count, the same in redb and PostgreSQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateReport {
    pub tables: Vec<(&'static str, u64)>,
}

/// Copy the database in `data_dir` (no server running on it) into the empty database at
/// `url`, then compare every table's count; `Ok` only when all of them match.
pub fn migrate_to_postgres(
    data_dir: &Path,
    url: &PostgresUrl,
) -> Result<MigrateReport, StoreError> {
    // LEAD: body pending
    Err(StoreError::Conflict(format!(
        "copying {} into PostgreSQL ({}) is not built yet",
        super::Store::file_in(data_dir).display(),
        url.describe()
    )))
}
