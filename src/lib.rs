//! linkdock: a self-hosted link manager for small teams. See ARCHITECTURE.md for the map.
//!
//! Modules depend one way, each only on those listed before it (a test, `tests/tidy.rs`,
//! keeps it so): the leaves `clock`, `encoding`, `limiter`, `metrics`; then `domain` → `keys` /
//! `audit` → `store` → `config` → `telemetry` → `error` → `state` → `auth` → `api` / `ui` /
//! `redirect` / `middleware` / `control` → `docs` → `healthcheck` / `startup` → `cli`.

pub mod clock;
pub mod encoding;
pub mod limiter;
pub mod metrics;

pub mod audit;
pub mod domain;
pub mod keys;
pub mod store;

pub mod config;
pub mod telemetry;

pub mod error;
pub mod state;

pub mod auth;

pub mod api;
pub mod control;
pub mod middleware;
pub mod redirect;
pub mod ui;

pub mod docs;

pub mod healthcheck;
pub mod startup;

pub mod cli;
