//! Black-box tests of the HTTP, config and command-line contract (API.md).

#[path = "../support/mod.rs"]
mod support;

mod analytics;
mod audit;
mod backup;
mod bounds;
mod clock;
mod cluster;
mod config_reload;
mod docs;
mod failed_auth;
mod foundation;
mod hardening;
mod healthcheck;
mod invites;
mod keyed_read;
mod keys;
mod keys_batch;
mod keys_policy;
mod links;
mod me;
mod migrate;
mod observability;
mod postgres_settings;
mod public_url;
mod roles;
mod slow_clients;
mod team;
mod team_guards;
mod transfer;
mod usage;
