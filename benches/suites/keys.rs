//! `keys` (issue 14.3): the cost of a per-key rate limit. Keys with a requests-per-minute limit
//! against keys of the same server without one, on `GET /api/v1/links/{id}`. Each side
//! rotates over `KEYS` keys, one per request (a wrk script), so that a limited key sees a
//! share of the load far below its limit: every answer must be 200, and the limit is checked
//! on every request, never reached.

use serde_json::json;

use crate::support::compare::{duel_table, run_duels, Duel, Target};
use crate::support::report::Report;
use crate::support::server::{Linkdock, Setup};
use crate::support::wrk::Load;
use crate::support::{seed, Mode};

/// The highest limit a key may have.
const LIMIT_PER_MINUTE: u64 = 1_000_000;
/// Keys per side: at 200,000 req/s, each limited key gets 750,000 a minute.
const KEYS: usize = 16;

/// A wrk script sending each request with the next of `keys`.
fn rotating(keys: &[String]) -> String {
    let list: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
    format!(
        r#"local keys = {{ {} }}
local i = 0
function request()
  i = i % #keys + 1
  wrk.headers["Authorization"] = "Bearer " .. keys[i]
  return wrk.format()
end
"#,
        list.join(", ")
    )
}

pub fn run(mode: &Mode) {
    let mut r = Report::start(
        "keys",
        "the cost of a per-key rate limit (issue 14.3)",
        mode,
    );
    let ld = Linkdock::start(&Setup::default());
    let seeded = seed::standard(&ld, 1_000);
    let make = |name: &str, extra: serde_json::Value| -> Vec<String> {
        (0..KEYS)
            .map(|i| {
                let reply = seed::create_key(&ld.admin(), &format!("{name}-{i}"), extra.clone());
                reply.expect(201, "create a key")["key"]
                    .as_str()
                    .expect("key")
                    .to_owned()
            })
            .collect()
    };
    let limited = make(
        "limited",
        json!({ "rate_limit_per_minute": LIMIT_PER_MINUTE, "allow_all_ips": true }),
    );
    let unlimited = make("unlimited", json!({ "allow_all_ips": true }));
    let load = |label: &str, keys: &[String]| {
        Load::get(label, ld.url(&format!("/api/v1/links/{}", seeded.link_id)))
            .bearer(&keys[0])
            .script(&rotating(keys))
    };
    r.line(format!(
        "`GET /api/v1/links/{{id}}` over {KEYS} keys with `rate_limit_per_minute` = {LIMIT_PER_MINUTE} (never reached: every answer must be 200) against {KEYS} keys without a limit, one key per request in turn on both sides."
    ));
    r.line(String::new());
    let results = run_duels(
        mode,
        &[Duel {
            name: "GET /api/v1/links/{id} with API key".into(),
            subject: load("keys with a rate limit", &limited),
            baseline: load("keys without a limit", &unlimited),
            target: Target::AtLeast(0.95),
        }],
    );
    r.table(&duel_table(
        &results,
        "rate-limited keys",
        "keys without limit",
    ));
    r.save();
}
