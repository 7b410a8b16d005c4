//! `keys` (issue 14.3): the cost of a per-key rate limit. A key with a requests-per-minute
//! limit far above what the run can send against the same server's key without one, on
//! `GET /api/v1/links/{id}`. If `POST /api/v1/api-keys` refuses `rate_limit_per_minute`,
//! the suite says it is skipped.

use serde_json::json;

use crate::support::compare::{duel_table, run_duels, Duel, Target};
use crate::support::report::Report;
use crate::support::server::{Linkdock, Setup};
use crate::support::{routes, seed, Mode};

/// Far above what wrk can send in a run on any machine: the limit is checked, never hit.
const LIMIT_PER_MINUTE: u64 = 1_000_000_000;

pub fn run(mode: &Mode) {
    let mut r = Report::start(
        "keys",
        "the cost of a per-key rate limit (issue 14.3)",
        mode,
    );
    let ld = Linkdock::start(&Setup::default());
    let seeded = seed::standard(&ld, 1_000);
    let reply = seed::create_key(
        &ld.admin(),
        "limited",
        json!({ "rate_limit_per_minute": LIMIT_PER_MINUTE }),
    );
    if reply.status == 400 {
        r.line(format!(
            "skipped: rate limits not available (`POST /api/v1/api-keys` refused `rate_limit_per_minute` with 400: {})",
            reply.json()["detail"].as_str().unwrap_or("no detail")
        ));
        r.line(String::new());
        r.save();
        return;
    }
    let limited = reply.expect(201, "create the rate-limited key")["key"]
        .as_str()
        .expect("key")
        .to_owned();
    r.line(format!(
        "Two keys of one server, `GET /api/v1/links/{{id}}`: one with `rate_limit_per_minute` = {LIMIT_PER_MINUTE} (never reached; every answer must be 200), one without."
    ));
    r.line(String::new());
    let results = run_duels(
        mode,
        &[Duel {
            name: "GET /api/v1/links/{id} with API key".into(),
            subject: routes::link_with(&ld, seeded.link_id, &limited, "key with a rate limit"),
            baseline: routes::link_by_key(&ld, &seeded),
            target: Target::AtLeast(0.95),
        }],
    );
    r.table(&duel_table(
        &results,
        "rate-limited key",
        "key without limit",
    ));
    r.save();
}
