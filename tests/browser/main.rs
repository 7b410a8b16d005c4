//! Browser tests: real Chromium through chromedriver, walking the user guide step by step and
//! checking the effect through the HTTP API.

#[path = "../support/mod.rs"]
mod support;

mod a11y;
mod activity;
mod analytics;
mod api_keys;
mod docs;
mod edges;
mod harness;
mod home;
mod invites;
mod key_dialogs;
mod layout;
mod links_domains;
mod me;
mod playground;
mod roles;
mod team;
mod team_walk;
mod usage;
