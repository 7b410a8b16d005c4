//! linkdock: a self-hosted link manager for small teams. See ARCHITECTURE.md for the map.

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod docs;
pub mod domain;
pub mod error;
pub mod healthcheck;
pub mod keys;
pub mod metrics;
pub mod redirect;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod ui;
