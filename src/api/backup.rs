//! Backups of the running server (signed-in users only): a snapshot of the whole database,
//! written on the server into `storage.backup_dir`. `linkdock backup` does the same from the
//! command line, and `linkdock restore FILE` puts one back while the server is stopped.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::SessionUser;
use crate::error::{blocking, ApiError, Problem};
use crate::state::AppState;
use crate::store::BackupInfo;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource!("/backup").route(web::post().to(create)));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Backup {
    /// The file's name in `storage.backup_dir`.
    #[schema(example = "linkdock-20261126T101500Z.redb")]
    pub name: String,
    /// Its size.
    #[schema(example = 1_081_344)]
    pub bytes: u64,
    /// When the snapshot was taken: it holds every write answered before.
    #[schema(example = "2026-11-26T10:15:00Z", format = DateTime)]
    pub created_at: String,
}

impl From<BackupInfo> for Backup {
    fn from(b: BackupInfo) -> Self {
        Self {
            name: b.name,
            bytes: b.bytes,
            created_at: b.created_at.rfc3339(),
        }
    }
}

#[utoipa::path(post, path = "/api/v1/backup", tag = "Backups",
    summary = "Back up the database",
    description = "Writes a consistent snapshot of the whole database — every table, read in one transaction, while writes go on — into `storage.backup_dir` on the server, as `linkdock-<UTC time>.redb`. Restore it with `linkdock restore FILE` while the server is stopped. A backup holds what the database holds: API keys only as SHA-256 hashes, passwords only as PBKDF2 hashes. No request body.",
    security(("session" = [])),
    responses(
        (status = 201, description = "Written", body = Backup),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Called with an API key, or without the X-CSRF-Token of the session", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed key checks from this address", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "The backup could not be written (for example, the backup directory is not writable or the disk is full); the server log says why", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The server is shutting down", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(user: SessionUser, st: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let st2 = st.clone();
    let by = user.by();
    let info = blocking(move || Ok(st2.backup(&by)?)).await?;
    Ok(HttpResponse::Created().json(Backup::from(info)))
}
