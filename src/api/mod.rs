//! The REST API under `/api/v1`: one file per resource, each handler annotated for utoipa.
//! Inputs arrive as plain wire structs and are parsed into domain types before any rule runs.

pub mod analytics;
pub mod api_keys;
pub mod audit;
pub mod backup;
mod csv_rows;
pub mod domains;
pub mod history;
pub mod invites;
pub mod links;
pub mod me;
pub mod session;
pub mod system;
pub mod transfer;
pub mod users;

pub mod input;

use actix_web::{web, Scope};

pub use self::input::{Json, ListOf, PageQuery, JSON_LIMIT};

/// `web::resource(path)` carrying its pattern as its route label: `/metrics` reads it instead
/// of rebuilding the pattern from the path, and the permission check looks the route up by
/// it (`auth::permissions::check`). Every `/api/v1` resource is made with it.
macro_rules! resource {
    ($path:literal) => {
        actix_web::web::resource($path)
            .app_data(crate::metrics::RouteLabel(concat!("/api/v1", $path)))
    };
}
pub(crate) use resource;

/// `/api/v1` with its own extractor configs: every input failure here is problem+json.
pub fn scope() -> Scope {
    web::scope("/api/v1")
        .app_data(input::query_config())
        .app_data(input::path_config())
        .app_data(web::PayloadConfig::new(JSON_LIMIT))
        // The router tries resources in this order and matches a `{param}` with a regex: the
        // busiest routes come first (the static /links/import and /links/export before
        // /links/{id}, which would otherwise claim them).
        .configure(|cfg| {
            transfer::configure(cfg);
            links::configure(cfg);
            analytics::configure(cfg);
            domains::configure(cfg);
            session::configure(cfg);
            // Before any `/users/{id}`, which would claim `/users/me`.
            me::configure(cfg);
            api_keys::configure(cfg);
            history::configure(cfg);
            backup::configure(cfg);
            invites::configure(cfg);
            users::configure(cfg);
            audit::configure(cfg);
        })
}
