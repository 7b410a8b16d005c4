//! The REST API under `/api/v1`: one file per resource, each handler annotated for utoipa.
//! Inputs arrive as plain wire structs and are parsed into domain types before any rule runs.

pub mod api_keys;
pub mod backup;
pub mod domains;
pub mod history;
pub mod links;
pub mod session;
pub mod system;
pub mod transfer;

pub mod input;

use actix_web::{web, Scope};

pub use self::input::{Json, ListOf, PageQuery, JSON_LIMIT};

/// `/api/v1` with its own extractor configs: every input failure here is problem+json.
pub fn scope() -> Scope {
    web::scope("/api/v1")
        .app_data(input::query_config())
        .app_data(input::path_config())
        .app_data(web::PayloadConfig::new(JSON_LIMIT))
        .configure(|cfg| {
            session::configure(cfg);
            domains::configure(cfg);
            transfer::configure(cfg);
            links::configure(cfg);
            api_keys::configure(cfg);
            history::configure(cfg);
            backup::configure(cfg);
        })
}
