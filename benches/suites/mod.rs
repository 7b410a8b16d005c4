//! One module per suite; each `run` prints its report and appends it to the results file.

pub mod clicks;
pub mod hot;
pub mod import;
pub mod keycount;
pub mod keyed;
pub mod keys;
pub mod limits;
pub mod postgres;
pub mod scale;

use crate::support::Mode;

pub struct Suite {
    pub name: &'static str,
    pub about: &'static str,
    pub run: fn(&Mode),
    /// Whether it measures with wrk (`import` reads memory only, and runs without it).
    pub needs_wrk: bool,
}

pub const ALL: [Suite; 9] = [
    Suite {
        name: "hot",
        about: "redirect, 404 and GET link against the floor; key verification; 1 vs 100,000 keys (issue 13.1)",
        run: hot::run,
        needs_wrk: true,
    },
    Suite {
        name: "limits",
        about: "valid keys during a failing-key flood; redirects and key calls during a sign-in flood (issues 10.3, 10.4)",
        run: limits::run,
        needs_wrk: true,
    },
    Suite {
        name: "import",
        about: "peak memory added by the largest allowed import (issue 10.2)",
        run: import::run,
        needs_wrk: false,
    },
    Suite {
        name: "scale",
        about: "0, 100,000 and 1,000,000 links: import, start, memory, disk, redirect, search, export (issues 13.2-13.4)",
        run: scale::run,
        needs_wrk: true,
    },
    Suite {
        name: "keys",
        about: "a key with a per-key rate limit vs one without (issue 14.3)",
        run: keys::run,
        needs_wrk: true,
    },
    Suite {
        name: "keycount",
        about: "0, 10,000 and 100,000 API keys, made in batches or declared: time, start, memory, verification (issue 23)",
        run: keycount::run,
        needs_wrk: false,
    },
    Suite {
        name: "keyed",
        about: "keyed read and write, session read vs the floor; roles' cost; the activity log untouched (issue 23)",
        run: keyed::run,
        needs_wrk: true,
    },
    Suite {
        name: "clicks",
        about: "click analytics on the redirect: on vs off, and on vs the floor (issues 22.1, 23.3)",
        run: clicks::run,
        needs_wrk: true,
    },
    Suite {
        name: "postgres",
        about: "PostgreSQL: link creation, 1,000,000-link import and start, floor ratios vs redb, revoke propagation, 3 nodes vs 1 (issues 19.7, 23)",
        run: postgres::run,
        needs_wrk: true,
    },
];
