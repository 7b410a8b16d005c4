//! Black-box tests of the HTTP, config and command-line contract (API.md).

#[path = "../support/mod.rs"]
mod support;

mod audit;
mod backup;
mod bounds;
mod clock;
mod config_reload;
mod docs;
mod failed_auth;
mod foundation;
mod hardening;
mod healthcheck;
mod keys;
mod keys_policy;
mod links;
mod observability;
mod public_url;
mod slow_clients;
mod transfer;
