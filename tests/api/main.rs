//! Black-box tests of the HTTP, config and command-line contract (API.md).

#[path = "../support/mod.rs"]
mod support;

mod backup;
mod clock;
mod docs;
mod foundation;
mod hardening;
mod healthcheck;
mod keys;
mod keys_policy;
mod links;
mod public_url;
mod transfer;
