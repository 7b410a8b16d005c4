//! Data for the suites, put in through the running server's public API (sign-in, domains,
//! CSV import, API keys) — except the 100,000 keys of the key-count comparison, which go
//! straight into a stopped server's data dir through the library.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::client::Api;
use super::server::Linkdock;

/// The managed domain of the hot link.
pub const HOT_HOST: &str = "go.example.com";
pub const HOT_SLUG: &str = "docs";
pub const HOT_DESTINATION: &str = super::floor::LOCATION;
/// A slug that no link has.
pub const MISSING_SLUG: &str = "no-such-link";
/// A title word that one link in eight carries.
pub const MANY_TERM: &str = "roadmap";

pub const CSV_HEADER: &str = "domain,slug,destination_url,title,tags\n";

/// What the usual fixture gives a suite.
pub struct Seeded {
    pub key: String,
    pub link_id: u64,
}

/// The usual fixture, made by the declared admin: ten domains, the hot link `go.example.com/docs`,
/// `links` more realistic links over the ten domains, and one API key of every domain.
pub fn standard(ld: &Linkdock, links: usize) -> Seeded {
    let admin = ld.admin();
    let hosts = hosts(10);
    create_domains(&admin, &hosts);
    let mut csv = Csv::new();
    csv.row(HOT_HOST, HOT_SLUG, HOT_DESTINATION, "Documentation", "docs");
    csv.generated(0..links, &hosts);
    let report = admin
        .import(csv.into_bytes(), None)
        .expect(200, "import the fixture");
    assert_eq!(
        report["created"],
        json!(links + 1),
        "fixture import: {report}"
    );
    let key = create_key(&admin, "bench", json!({})).expect(201, "create the bench key")["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let link_id = link_id(&admin, HOT_HOST, HOT_SLUG);
    Seeded { key, link_id }
}

/// `go.example.com` and then `d1.example.com`, `d2.example.com`, …: `n` host names.
pub fn hosts(n: usize) -> Vec<String> {
    std::iter::once(HOT_HOST.to_owned())
        .chain((1..n).map(|i| format!("d{i}.example.com")))
        .collect()
}

pub fn create_domains(admin: &Api, hosts: &[String]) {
    for h in hosts {
        admin
            .post_json("/api/v1/domains", &json!({ "hostname": h }))
            .expect(201, "create a domain");
    }
}

/// `POST /api/v1/api-keys` with `name` and the `extra` fields; the reply, whatever it is.
pub fn create_key(admin: &Api, name: &str, extra: Value) -> super::client::Reply {
    let mut body = json!({ "name": name });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    admin.post_json("/api/v1/api-keys", &body)
}

/// The id of the link `host/slug`, found through search.
pub fn link_id(api: &Api, host: &str, slug: &str) -> u64 {
    let list = api
        .get(&format!(
            "/api/v1/links?domain={host}&search={slug}&limit=100"
        ))
        .expect(200, "find a link");
    list["items"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|l| l["slug"] == slug)
                .and_then(|l| l["id"].as_u64())
        })
        .unwrap_or_else(|| panic!("no link {host}/{slug}: {list}"))
}

/// How many links a search finds (the list's `total`).
pub fn search_total(api: &Api, term: &str) -> u64 {
    api.get(&format!("/api/v1/links?search={term}&limit=1"))
        .expect(200, "search")["total"]
        .as_u64()
        .unwrap_or(0)
}

/// An import's outcome and how long the request took.
pub struct Imported {
    pub report: Value,
    pub elapsed: Duration,
}

impl Imported {
    pub fn field(&self, name: &str) -> u64 {
        self.report[name].as_u64().unwrap_or(0)
    }
}

/// Import `csv` (timed, from the request's first byte to the report).
pub fn import(api: &Api, csv: Vec<u8>, default_domain: Option<&str>) -> Imported {
    let started = Instant::now();
    let reply = api.import(csv, default_domain);
    let elapsed = started.elapsed();
    Imported {
        report: reply.expect(200, "import"),
        elapsed,
    }
}

/// The slug of generated link `i`: 7 base62 characters, distinct for every `i` below 62^7
/// (a multiplication by a unit modulo 62^7), so they look like generated slugs.
pub fn slug(i: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    const SPACE: u64 = 62u64.pow(7);
    let mut n = (i as u64).wrapping_mul(2_654_435_761) % SPACE;
    let mut out = [b'0'; 7];
    for c in out.iter_mut().rev() {
        *c = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A search term that matches one generated link of `n` (the hot link when there are none).
pub fn one_term(n: usize) -> String {
    if n == 0 {
        "documentation".into()
    } else {
        slug(n / 2)
    }
}

/// An import file in the columns `domain,slug,destination_url,title,tags`.
pub struct Csv {
    text: String,
    rows: usize,
}

impl Default for Csv {
    fn default() -> Self {
        Self::new()
    }
}

impl Csv {
    pub fn new() -> Self {
        Self {
            text: CSV_HEADER.to_owned(),
            rows: 0,
        }
    }

    pub fn row(&mut self, host: &str, slug: &str, destination: &str, title: &str, tags: &str) {
        let _ = writeln!(self.text, "{host},{slug},{destination},{title},{tags}");
        self.rows += 1;
    }

    /// Generated link `i`: a ~45-character destination, a three-word title, two tags.
    pub fn generated_row(&mut self, i: usize, hosts: &[String]) {
        const SITES: [&str; 4] = [
            "example.com",
            "docs.example.org",
            "blog.example.net",
            "shop.example.io",
        ];
        const SECTIONS: [&str; 5] = ["articles", "guides", "news", "products", "help"];
        const WORDS: [&str; 8] = [
            "setup", "install", "faq", "intro", "deploy", "backup", "monitor", "scale",
        ];
        const ADJECTIVES: [&str; 8] = [
            "Quarterly",
            "Team",
            "Annual",
            "Product",
            "Weekly",
            "Internal",
            "Public",
            "Draft",
        ];
        const NOUNS: [&str; 8] = [
            MANY_TERM, "invoice", "handbook", "release", "meetup", "survey", "webinar", "pricing",
        ];
        const TAGS: [&str; 16] = [
            "team-a", "team-b", "team-c", "team-d", "sales", "ops", "eng", "hr", "q1", "q2", "q3",
            "q4", "2025", "2026", "draft", "live",
        ];
        let host = &hosts[i % hosts.len()];
        let destination = format!(
            "https://{}/{}/{}-{i}",
            SITES[i % 4],
            SECTIONS[(i / 4) % 5],
            WORDS[(i / 20) % 8]
        );
        let title = format!("{} {} {i}", ADJECTIVES[(i / 3) % 8], NOUNS[(i / 7) % 8]);
        let tags = format!("{};{}", TAGS[i % 8], TAGS[8 + (i / 8) % 8]);
        self.row(host, &slug(i), &destination, &title, &tags);
    }

    pub fn generated(&mut self, range: std::ops::Range<usize>, hosts: &[String]) {
        for i in range {
            self.generated_row(i, hosts);
        }
    }

    /// Generated rows until the file would pass `max_bytes`.
    pub fn fill_to(&mut self, max_bytes: usize, hosts: &[String]) {
        let mut row = Csv {
            text: String::new(),
            rows: 0,
        };
        for i in 0.. {
            row.text.clear();
            row.generated_row(i, hosts);
            if self.text.len() + row.text.len() > max_bytes {
                break;
            }
            self.text.push_str(&row.text);
            self.rows += 1;
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn bytes(&self) -> usize {
        self.text.len()
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.text.into_bytes()
    }
}

/// A file of `max_bytes` at most whose rows all fail: a `destination_url` header, then `x`
/// lines. Returns the file and its row count.
pub fn failing_csv(max_bytes: usize) -> (Vec<u8>, usize) {
    let header = b"destination_url\n";
    let rows = (max_bytes - header.len()) / 2;
    let mut out = Vec::with_capacity(header.len() + rows * 2);
    out.extend_from_slice(header);
    for _ in 0..rows {
        out.extend_from_slice(b"x\n");
    }
    (out, rows)
}

/// Put `n` API keys into a data dir whose server is stopped, through the library (one write
/// transaction each, as `linkdock keys create` does). Returns how long it took.
pub fn keys_into_data_dir(data_dir: &Path, n: usize) -> Duration {
    use linkdock::domain::{now, KeyPrefix};
    use linkdock::store::records::Source;
    use linkdock::store::{KeyDraft, Store};

    let started = Instant::now();
    let store = Store::open(data_dir).expect("open the data dir");
    let rng = ring::rand::SystemRandom::new();
    let prefix = KeyPrefix::default();
    for i in 0..n {
        let spec = KeyDraft {
            name: format!("seeded-{i}"),
            ..KeyDraft::default()
        }
        .validate(&store.catalog, now())
        .expect("a valid key");
        let (plain, digest) = linkdock::keys::issue(&rng, &prefix).expect("random source");
        store
            .create_key(
                spec,
                plain.display_prefix(),
                digest,
                Source::Api,
                &linkdock::audit::By::command_line(),
            )
            .expect("store a key");
        if i > 0 && i % 10_000 == 0 {
            eprintln!("… {i} keys");
        }
    }
    drop(store);
    started.elapsed()
}
