//! `limits` (issues 10.3 and 10.4): throughput of honest callers while others fail.
//!
//! (a) A valid key on `GET /api/v1/links`, alone and during a flood of well-formed but
//!     unknown keys from random addresses (`X-Forwarded-For` through a trusted proxy, so the
//!     per-address limiter sees many callers and the lookups really run).
//! (b) Redirects and key-authenticated calls, alone and during a flood of wrong sign-ins for a
//!     user whose hash has the full 600,000 PBKDF2 rounds, from random addresses.

use linkdock::domain::KeyPrefix;
use serde_json::json;

use crate::support::compare::{run_contention, Contention, Target};
use crate::support::report::{self, Report};
use crate::support::server::{full_password_hash, metrics_growth, Linkdock, Setup};
use crate::support::wrk::{random_clients, Expect, Load};
use crate::support::{routes, seed, Mode};

const FLOOD_USER: &str = "ops";
const FLOOD_PASSWORD: &str = "the ops password 123";

fn behind_proxy() -> Setup {
    Setup {
        trusted_proxies: vec!["127.0.0.1".into()],
        ..Setup::default()
    }
}

pub fn run(mode: &Mode) {
    let mut r = Report::start(
        "limits",
        "honest callers during floods of failures (issues 10.3, 10.4)",
        mode,
    );
    failing_keys(&mut r, mode);
    sign_ins(&mut r, mode);
    r.save();
}

/// The `/metrics` counters that grew during the floods, as a sentence.
fn growth_line(ld: &Linkdock, before: &str, filter: &str) -> String {
    let grown = metrics_growth(before, &ld.metrics(), filter);
    let parts: Vec<String> = grown
        .iter()
        .map(|(name, n)| format!("`{name}` +{}", report::count(*n)))
        .collect();
    format!("server's /metrics during the test: {}", parts.join(", "))
}

fn failing_keys(r: &mut Report, mode: &Mode) {
    r.progress("(a) valid key during a flood of unknown keys");
    let ld = Linkdock::start(&behind_proxy());
    let seeded = seed::standard(&ld, 1_000);
    let (unknown, _) =
        linkdock::keys::issue(&ring::rand::SystemRandom::new(), &KeyPrefix::default())
            .expect("random source");
    let victim = Load::get("valid key: GET /api/v1/links", ld.url("/api/v1/links"))
        .bearer(&seeded.key)
        .connections(32);
    let flood = Load::get("unknown keys", ld.url("/api/v1/links"))
        .bearer(unknown.reveal())
        .connections(32)
        .script(&random_clients(None))
        .expect(Expect::Anything);
    let before = ld.metrics();
    let result = run_contention(
        mode,
        &Contention {
            victims: vec![victim],
            flood,
            target: Target::None,
        },
    );
    r.line("### (a) valid key during a flood of unknown keys (issue 10.3)".into());
    r.line(String::new());
    r.line("Victim: 32 connections, one valid key, `GET /api/v1/links` (20 links a page). Flood: 32 connections, a well-formed unknown key, a random `X-Forwarded-For` in 10.0.0.0/8 per request (the server trusts 127.0.0.1 as its proxy). No target is set; the issue's baseline before the fix was 20k → 2k req/s (0.10).".into());
    r.line(String::new());
    r.table(&result.table());
    r.line(result.flood_summary());
    r.line(String::new());
    r.line(growth_line(&ld, &before, "auth_failures"));
    r.line(String::new());
}

fn sign_ins(r: &mut Report, mode: &Mode) {
    r.progress("(b) redirects and key calls during a sign-in flood");
    let hash = full_password_hash(FLOOD_PASSWORD);
    let rounds = hash.split('$').nth(1).unwrap_or("?").to_owned();
    let ld = Linkdock::start(&Setup {
        users: vec![(FLOOD_USER.into(), hash)],
        ..behind_proxy()
    });
    let seeded = seed::standard(&ld, 1_000);
    let body = json!({"username": FLOOD_USER, "password": "a wrong password"}).to_string();
    let flood = Load::get("wrong sign-ins", ld.url("/api/v1/session"))
        .connections(8)
        .timeout(10)
        .script(&random_clients(Some(&body)))
        .expect(Expect::Anything);
    let before = ld.metrics();
    let result = run_contention(
        mode,
        &Contention {
            victims: vec![routes::redirect(&ld), routes::link_by_key(&ld, &seeded)],
            flood,
            target: Target::AtLeast(0.80),
        },
    );
    r.line("### (b) redirects and key calls during a sign-in flood (issue 10.4)".into());
    r.line(String::new());
    r.line(format!(
        "Victims: 64 connections each, measured one after the other. Flood: 8 connections of `POST /api/v1/session` with a wrong password for `{FLOOD_USER}`, whose hash (from `linkdock password hash`) has {rounds} PBKDF2 rounds; a random `X-Forwarded-For` per request, so the per-address sign-in limiter does not stop the hashing."
    ));
    r.line(String::new());
    r.table(&result.table());
    r.line(result.flood_summary());
    r.line(String::new());
    r.line(growth_line(&ld, &before, "/api/v1/session"));
    r.line(String::new());
}
