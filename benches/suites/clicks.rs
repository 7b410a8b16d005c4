//! `clicks` (issues 22.1 and 23.3): what click analytics costs the redirect. Two servers of the
//! same build, one with `analytics.enabled = true` (the default: each click's User-Agent and
//! Referer copied into the worker's buffer, classified by the writer thread) and one with it
//! off (the old path: one click count), both sent a browser's headers, in interleaved rounds;
//! and the analytics server against the floor's redirect with the same headers.

use crate::support::compare::{duel_table, run_duels, Duel, Target};
use crate::support::floor::Floor;
use crate::support::report::Report;
use crate::support::routes::{floor_redirect, redirect};
use crate::support::server::{Linkdock, Setup};
use crate::support::wrk::Load;
use crate::support::{seed, Mode};

/// What a browser sends with a click from a social site.
const USER_AGENT: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const REFERER: &str = "https://news.example.com/item?id=41234567";

fn browser(load: Load) -> Load {
    load.header("User-Agent", USER_AGENT)
        .header("Referer", REFERER)
        .header("Accept-Language", "en-GB,en;q=0.9")
}

pub fn run(mode: &Mode) {
    let mut r = Report::start(
        "clicks",
        "click analytics on the redirect: on against off, and on against the floor (issues 22.1, 23.3)",
        mode,
    );
    r.progress("starting two linkdock servers (analytics on, off) and the floor");
    let on = Linkdock::start(&Setup::default());
    let off = Linkdock::start(&Setup {
        extra_toml: "\n[analytics]\nenabled = false\n".into(),
        ..Setup::default()
    });
    seed::standard(&on, 1_000);
    seed::standard(&off, 1_000);
    let floor = Floor::start();
    r.line(
        "Each server holds 1,001 links on 10 domains; every request carries a browser's User-Agent, Referer and Accept-Language.".into(),
    );
    r.line(String::new());
    let results = run_duels(
        mode,
        &[
            Duel {
                name: "redirect, analytics on vs off".into(),
                subject: browser(redirect(&on)),
                baseline: browser(redirect(&off)),
                target: Target::AtLeast(0.97),
            },
            Duel {
                name: "redirect with analytics vs floor 302".into(),
                subject: browser(redirect(&on)),
                baseline: browser(floor_redirect(&floor)),
                target: Target::AtLeast(0.90),
            },
        ],
    );
    r.table(&duel_table(&results, "linkdock", "baseline"));
    r.save();
}
