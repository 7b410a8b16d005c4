//! `keyed` (issue 23): the API's keyed read and write and the session read against the
//! floor, the cost of team roles (a session's read against a key's), and whether the hot
//! paths touch the activity log. The bench key is made like any key, with what is on by
//! default: the request log and usage counts (a per-key rate limit is off unless set; the
//! `keys` suite measures one).

use serde_json::json;

use crate::support::client::{block_on, Api};
use crate::support::compare::{duel_table, run_duels, Duel, Target};
use crate::support::floor::Floor;
use crate::support::report::{self, Report};
use crate::support::seed::{self, HOT_DESTINATION, HOT_HOST};
use crate::support::server::{Linkdock, Setup, ADMIN_PASSWORD};
use crate::support::wrk::{Expect, Load};
use crate::support::{routes, Mode};

/// Links besides the hot one, as in `hot`.
const LINKS: usize = 10_000;

pub fn run(mode: &Mode) {
    let mut r = Report::start(
        "keyed",
        "keyed read and write, session read, the activity log on the hot paths (issue 23)",
        mode,
    );
    r.progress("starting the floor and linkdock, seeding through the API");
    let floor = Floor::start();
    let ld = Linkdock::start(&Setup::default());
    let seeded = seed::standard(&ld, LINKS);
    let cookie = session_cookie(&ld);
    let link = ld.url(&format!("/api/v1/links/{}", seeded.link_id));
    let by_session = |label: &str| Load::get(label, link.clone()).header("Cookie", &cookie);
    r.line(format!(
        "linkdock holds {} links on 10 domains; the bench key has the defaults (request log and usage on, no per-key rate limit: `keys` measures one); the session is the declared admin's.",
        report::count(LINKS as u64 + 1)
    ));
    r.line(String::new());

    // One signed-in reader for both counts: a sign-in is itself an entry.
    let reader = ld.admin();
    let audit_before = audit_total(&reader);
    let reads = run_duels(
        mode,
        &[
            routes::redirect_duel(&ld, &floor),
            Duel {
                name: "GET /api/v1/links/{id} with API key".into(),
                subject: routes::link_by_key(&ld, &seeded),
                baseline: routes::floor_json(&floor),
                target: Target::AtLeast(0.85),
            },
            Duel {
                name: format!(
                    "GET /api/v1/links/{{id}} with API key vs a floor answering as many bytes ({} of JSON and an X-Request-Id)",
                    crate::support::floor::LINK_JSON.len()
                ),
                subject: routes::link_by_key(&ld, &seeded),
                baseline: routes::floor_link_json(&floor),
                target: Target::None,
            },
            Duel {
                name: format!(
                    "GET /api/v1/links/{{id}} with API key, a random one of the {} links each time (a worker's JSON of a link is rarely at hand; the floor's JSON through the same wrk script)",
                    report::count(LINKS as u64 + 1)
                ),
                subject: routes::link_by_key(&ld, &seeded).script(&random_id_script(
                    "/api/v1/links/",
                    seeded.link_id,
                    LINKS as u64,
                )),
                // The same script on the floor's side: wrk's Lua costs both the same CPU.
                baseline: routes::floor_json(&floor).script(&random_id_script(
                    "/json?id=",
                    seeded.link_id,
                    LINKS as u64,
                )),
                target: Target::None,
            },
            Duel {
                name: "GET /api/v1/links/{id} with a session (role admin)".into(),
                subject: by_session("linkdock GET link, session"),
                baseline: routes::floor_json(&floor),
                target: Target::None,
            },
        ],
    );
    r.table(&duel_table(&reads, "linkdock", "floor"));
    let audit_after = audit_total(&reader);
    r.line(format!(
        "Activity log entries added while the redirect, the keyed read and the session read were measured (every round of the table above): {} (target 0: they never write one).",
        audit_after.saturating_sub(audit_before)
    ));
    r.line(String::new());

    let roles = run_duels(
        mode,
        &[Duel {
            name: "GET /api/v1/links/{id}: session (roles) vs API key".into(),
            subject: by_session("linkdock GET link, session"),
            baseline: routes::link_by_key(&ld, &seeded),
            target: Target::None,
        }],
    );
    r.table(&duel_table(&roles, "session", "API key"));

    let body = json!({ "domain": HOT_HOST, "destination_url": HOT_DESTINATION, "title": "Bench" });
    let post = post_script(&body.to_string());
    let writes = run_duels(
        mode,
        &[Duel {
            name:
                "POST /api/v1/links with API key (201, a generated slug, one durable commit each)"
                    .into(),
            subject: Load::get("linkdock POST link", ld.url("/api/v1/links"))
                .bearer(&seeded.key)
                .script(&post)
                .expect(Expect::Status(201)),
            baseline: Load::get("floor POST JSON", floor.url("/json"))
                .script(&post)
                .expect(Expect::Status(201)),
            target: Target::None,
        }],
    );
    r.table(&duel_table(&writes, "linkdock", "floor"));
    drop(floor);
    r.save();
}

/// A wrk script that GETs `path` followed by a random id of `first..=first + more` each
/// request (the import's link ids follow the hot link's; one that is not a link would fail the
/// run with 404s).
fn random_id_script(path: &str, first: u64, more: u64) -> String {
    format!(
        "local counter = 1\nfunction setup(thread)\n  thread:set(\"id\", counter)\n  counter = counter + 1\nend\nfunction init(args)\n  math.randomseed(os.time() * 1000 + (id or 0))\nend\nfunction request()\n  return wrk.format(\"GET\", \"{path}\" .. math.random({first}, {last}))\nend\n",
        last = first + more
    )
}

/// A wrk script that POSTs `body` as JSON.
fn post_script(body: &str) -> String {
    format!(
        "wrk.method = \"POST\"\nwrk.body = '{body}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"
    )
}

/// The declared admin's session cookie (`name=value`), from a sign-in.
fn session_cookie(ld: &Linkdock) -> String {
    block_on(async {
        let res = reqwest::Client::new()
            .post(ld.url("/api/v1/session"))
            .json(&json!({ "username": "admin", "password": ADMIN_PASSWORD }))
            .send()
            .await
            .expect("sign in");
        assert_eq!(res.status().as_u16(), 200, "sign in");
        res.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|c| c.split(';').next())
            .find(|kv| kv.starts_with("linkdock_session="))
            .expect("a session cookie")
            .to_owned()
    })
}

/// How many entries the activity log holds, once the batched writer has committed what it
/// was sent (it commits every half second).
fn audit_total(reader: &Api) -> u64 {
    std::thread::sleep(std::time::Duration::from_secs(1));
    reader
        .get("/api/v1/audit?limit=1")
        .expect(200, "read the activity log")["total"]
        .as_u64()
        .unwrap_or(0)
}
