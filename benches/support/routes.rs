//! The loads the suites share: linkdock's hot paths and the floor routes they are compared
//! with.

use super::compare::{Duel, Target};
use super::floor::Floor;
use super::seed::{Seeded, HOT_HOST, HOT_SLUG, MISSING_SLUG};
use super::server::Linkdock;
use super::wrk::{Expect, Load};

/// `GET /docs` with the `Host` of a managed domain: the 302 redirect.
pub fn redirect(ld: &Linkdock) -> Load {
    Load::get("linkdock redirect", ld.url(&format!("/{HOT_SLUG}")))
        .header("Host", HOT_HOST)
        .expect(Expect::Status(302))
}

/// An unknown slug on a managed domain: the 404 page.
pub fn missing(ld: &Linkdock) -> Load {
    Load::get("linkdock 404", ld.url(&format!("/{MISSING_SLUG}")))
        .header("Host", HOT_HOST)
        .expect(Expect::Status(404))
}

/// `GET /api/v1/links/{id}` of the hot link with the fixture's API key.
pub fn link_by_key(ld: &Linkdock, seeded: &Seeded) -> Load {
    link_with(ld, seeded.link_id, &seeded.key, "linkdock GET link")
}

/// `GET /api/v1/links/{id}` with `key`.
pub fn link_with(ld: &Linkdock, link_id: u64, key: &str, label: &str) -> Load {
    Load::get(label, ld.url(&format!("/api/v1/links/{link_id}"))).bearer(key)
}

pub fn floor_redirect(floor: &Floor) -> Load {
    Load::get("floor 302", floor.url("/302")).expect(Expect::Status(302))
}

pub fn floor_not_found(floor: &Floor) -> Load {
    Load::get("floor 404", floor.url("/404")).expect(Expect::Status(404))
}

pub fn floor_json(floor: &Floor) -> Load {
    Load::get("floor JSON", floor.url("/json"))
}

/// The floor's answer as large as the keyed read's (`floor::LINK_JSON`).
pub fn floor_link_json(floor: &Floor) -> Load {
    Load::get("floor link-sized JSON", floor.url("/json-link"))
}

/// The redirect against the floor's 302 (issue 13.1: at least 0.90).
pub fn redirect_duel(ld: &Linkdock, floor: &Floor) -> Duel {
    Duel {
        name: "redirect (302, existing link)".into(),
        subject: redirect(ld),
        baseline: floor_redirect(floor),
        target: Target::AtLeast(0.90),
    }
}

/// The three hot paths of issue 13.1 against their floor routes.
pub fn hot_duels(ld: &Linkdock, floor: &Floor, seeded: &Seeded) -> Vec<Duel> {
    vec![
        redirect_duel(ld, floor),
        Duel {
            name: "unknown slug (404)".into(),
            subject: missing(ld),
            baseline: floor_not_found(floor),
            target: Target::AtLeast(0.90),
        },
        Duel {
            name: "GET /api/v1/links/{id} with API key".into(),
            subject: link_by_key(ld, seeded),
            baseline: floor_json(floor),
            target: Target::AtLeast(0.85),
        },
    ]
}
