//! The document and the router must agree: every `/api/v1` route registered in actix is in the
//! OpenAPI document with the same method, and every documented operation is routed.
//!
//! actix-web does not list its routes, but its `ResourceMap` (the tree behind `url_for`) is
//! `Debug`; the test reads the route patterns from that tree and then asks the router which
//! methods each pattern answers (anything but 405), recording the matched pattern.

use std::collections::BTreeSet;

use actix_web::http::{Method, StatusCode};
use actix_web::test as atest;
use actix_web::{web, App, HttpRequest, HttpResponse};

use super::*;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// A parsed `{:?}` value: enough of Rust's Debug syntax for `ResourceMap`.
#[derive(Debug)]
#[allow(dead_code)] // the payloads are kept for the failure messages
enum Dbg {
    Struct(String, Vec<(String, Dbg)>),
    Tuple(String, Vec<Dbg>),
    List(Vec<Dbg>),
    Map(Vec<(Dbg, Dbg)>),
    Str(String),
    Atom(String),
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && (self.s[self.i] as char).is_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn ident(&mut self) -> String {
        self.ws();
        let start = self.i;
        while self.i < self.s.len() && !b"{}()[],: \"".contains(&self.s[self.i]) {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }
    fn string(&mut self) -> String {
        let mut out = String::new();
        while self.i < self.s.len() {
            let c = self.s[self.i];
            self.i += 1;
            match c {
                b'\\' => {
                    out.push(self.s[self.i] as char);
                    self.i += 1;
                }
                b'"' => break,
                _ => out.push(c as char),
            }
        }
        out
    }
    fn seq(&mut self, close: u8) -> Vec<Dbg> {
        let mut items = Vec::new();
        while !self.eat(close) {
            items.push(self.value());
            self.eat(b',');
        }
        items
    }
    fn value(&mut self) -> Dbg {
        self.ws();
        if self.eat(b'"') {
            return Dbg::Str(self.string());
        }
        if self.eat(b'[') {
            return Dbg::List(self.seq(b']'));
        }
        if self.eat(b'{') {
            let mut entries = Vec::new();
            while !self.eat(b'}') {
                let k = self.value();
                assert!(self.eat(b':'), "map without `:` at {}", self.i);
                let v = self.value();
                entries.push((k, v));
                self.eat(b',');
            }
            return Dbg::Map(entries);
        }
        let name = self.ident();
        if self.eat(b'{') {
            let mut fields = Vec::new();
            while !self.eat(b'}') {
                let f = self.ident();
                if f == ".." {
                    continue;
                }
                assert!(self.eat(b':'), "field without `:` at {}", self.i);
                fields.push((f, self.value()));
                self.eat(b',');
            }
            return Dbg::Struct(name, fields);
        }
        if self.eat(b'(') {
            return Dbg::Tuple(name, self.seq(b')'));
        }
        assert!(!name.is_empty(), "unexpected character at {}", self.i);
        Dbg::Atom(name)
    }
}

impl Dbg {
    fn field(&self, name: &str) -> Option<&Dbg> {
        match self {
            Dbg::Struct(_, fields) => fields.iter().find(|(f, _)| f == name).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Full patterns of the leaves of a `ResourceMap` tree (`nodes: None`).
fn leaves(map: &Dbg, prefix: &str, out: &mut Vec<String>) {
    let own = match map.field("pattern").and_then(|p| p.field("patterns")) {
        Some(Dbg::Tuple(kind, parts)) if kind == "Single" => match parts.first() {
            Some(Dbg::Str(s)) => s.clone(),
            other => panic!("unexpected pattern {other:?}"),
        },
        other => panic!("route with several patterns is not supported here: {other:?}"),
    };
    let full = format!("{prefix}{own}");
    match map.field("nodes") {
        Some(Dbg::Tuple(some, inner)) if some == "Some" => match inner.first() {
            Some(Dbg::List(children)) => children.iter().for_each(|c| leaves(c, &full, out)),
            other => panic!("unexpected nodes {other:?}"),
        },
        _ => out.push(full),
    }
}

/// `/links/{id}` → `/links/1` (and `{id:\d+}` likewise).
fn concrete(pattern: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in pattern.chars() {
        match c {
            '{' => {
                if depth == 0 {
                    out.push('1');
                }
                depth += 1;
            }
            '}' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// `/links/{id:\d+}` → `/links/{id}`: the OpenAPI spelling.
fn openapi_spelling(pattern: &str) -> String {
    let mut out = String::new();
    let mut in_var = false;
    let mut skipping = false;
    for c in pattern.chars() {
        match c {
            '{' => {
                in_var = true;
                out.push(c);
            }
            ':' if in_var => skipping = true,
            '}' if in_var => {
                in_var = false;
                skipping = false;
                out.push(c);
            }
            _ if !skipping => out.push(c),
            _ => {}
        }
    }
    out
}

/// (METHOD, path) of every route actix answers under `/api/v1`.
async fn registered_routes() -> BTreeSet<(String, String)> {
    let app = atest::init_service(
        App::new()
            .wrap_fn(|req, srv| {
                use actix_web::dev::Service;
                let fut = srv.call(req);
                async move {
                    let mut res = fut.await?;
                    let pattern = res.request().match_pattern().unwrap_or_default();
                    res.headers_mut().insert(
                        actix_web::http::header::HeaderName::from_static("x-matched"),
                        actix_web::http::header::HeaderValue::from_str(&pattern).unwrap(),
                    );
                    Ok(res)
                }
            })
            .service(api::scope())
            .route(
                "/__resource_map",
                web::get().to(|req: HttpRequest| async move {
                    HttpResponse::Ok().body(format!("{:?}", req.resource_map()))
                }),
            ),
    )
    .await;
    let dump = atest::call_and_read_body(
        &app,
        atest::TestRequest::get()
            .uri("/__resource_map")
            .to_request(),
    )
    .await;
    let dump = String::from_utf8(dump.to_vec()).unwrap();
    let tree = Parser {
        s: dump.as_bytes(),
        i: 0,
    }
    .value();
    let mut patterns = Vec::new();
    leaves(&tree, "", &mut patterns);
    assert!(
        patterns.iter().any(|p| p == "/__resource_map"),
        "the resource map was not read: {patterns:?}"
    );
    let mut routes = BTreeSet::new();
    for pattern in patterns.iter().filter(|p| p.starts_with("/api/v1/")) {
        for method in METHODS {
            let req = atest::TestRequest::default()
                .method(Method::from_bytes(method.as_bytes()).unwrap())
                .uri(&concrete(pattern))
                .to_request();
            let res = atest::call_service(&app, req).await;
            let matched = res
                .headers()
                .get("x-matched")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            if res.status() != StatusCode::METHOD_NOT_ALLOWED && &matched == pattern {
                routes.insert((method.to_owned(), openapi_spelling(pattern)));
            }
        }
    }
    routes
}

fn documented_routes() -> BTreeSet<(String, String)> {
    openapi::operations(openapi_value())
        .into_iter()
        .map(|o| (o.method.to_uppercase(), o.path.to_owned()))
        .filter(|(_, p)| p.starts_with("/api/v1/"))
        .collect()
}

#[actix_web::test]
async fn every_api_route_is_documented_and_every_documented_route_exists() {
    let registered = registered_routes().await;
    let documented = documented_routes();
    assert!(
        registered.contains(&("POST".to_owned(), "/api/v1/session".to_owned())),
        "{registered:?}"
    );
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&registered).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routed but missing from the OpenAPI document: {undocumented:?}\ndocumented but not routed: {unrouted:?}"
    );
}

#[test]
fn document_is_openapi_3_1_with_declared_tags_and_security() {
    let doc = openapi_value();
    assert_eq!(doc["openapi"], "3.1.0");
    let tags: Vec<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for t in [
        "Links",
        "Domains",
        "Import & Export",
        "API Keys",
        "Session",
        "Playground",
        "Keys",
    ] {
        assert!(tags.contains(&t), "tag {t} missing");
    }
    for o in openapi::operations(doc) {
        let tag = openapi::op_tag(o.op);
        assert!(
            tags.contains(&tag),
            "{} {} has undeclared tag {tag}",
            o.method,
            o.path
        );
    }
    assert!(doc.pointer("/components/securitySchemes/api_key").is_some());
    assert!(doc.pointer("/components/securitySchemes/session").is_some());
    assert!(doc.pointer("/components/schemas/Problem").is_some());
}

#[test]
fn concrete_and_openapi_spelling() {
    assert_eq!(concrete("/links/{id}/x"), "/links/1/x");
    assert_eq!(concrete("/links/{id:\\d+}"), "/links/1");
    assert_eq!(openapi_spelling("/links/{id:\\d+}/x"), "/links/{id}/x");
}

/// The permission table and the document agree: every operation that accepts an API key has
/// a row (so the extractor never refuses a documented call for want of one), every row is an
/// operation, and the document states the row's permission.
#[test]
fn every_operation_a_key_may_call_states_the_permission_the_extractor_enforces() {
    use crate::auth::permissions::{Needs, ROUTES};
    let doc = openapi_value();
    let ops = openapi::operations(doc);
    for o in &ops {
        let accepts_key = openapi::security_names(doc, o.op)
            .iter()
            .any(|alt| alt.iter().any(|n| n == permissions::KEY_SCHEME));
        let row = ROUTES
            .iter()
            .find(|r| r.path == o.path && r.method.eq_ignore_ascii_case(o.method));
        assert_eq!(
            accepts_key,
            row.is_some(),
            "{} {}: accepts a key, but has no row in auth::permissions::ROUTES (or the reverse)",
            o.method,
            o.path
        );
        let description = openapi::str_of(o.op, "description").unwrap_or("");
        match row.map(|r| r.needs) {
            Some(Needs::One(p)) => {
                assert_eq!(
                    openapi::security_roles(o.op, permissions::KEY_SCHEME),
                    [p.as_str()],
                    "{} {}",
                    o.method,
                    o.path
                );
                assert!(description.contains(p.as_str()), "{description}");
            }
            Some(Needs::AnyKey) => assert!(description.contains("Any valid API key")),
            None => {}
        }
    }
    for r in ROUTES {
        assert!(
            ops.iter()
                .any(|o| o.path == r.path && o.method.eq_ignore_ascii_case(r.method)),
            "{} {} is in ROUTES but not documented",
            r.method,
            r.path
        );
    }
    let text = llms::full(doc, "http://x", &crate::domain::KeyPrefix::default());
    assert!(text.contains("API keys need the permission `links:write`"));
    assert!(text.contains(&crate::keys::scanner_regex(
        &crate::domain::KeyPrefix::default()
    )));
}

/// Every value that holds a JSON `$ref` string, and every string property with its name.
fn walk<'a>(v: &'a serde_json::Value, f: &mut dyn FnMut(&str, &'a serde_json::Value)) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, child) in m {
                f(k, child);
                walk(child, f);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|c| walk(c, f)),
        _ => {}
    }
}

/// What generated clients need: timestamps typed as date-time, list items as named schemas
/// (so no schema goes unused), a description on every operation, and nothing about the code.
#[test]
fn document_types_timestamps_names_list_items_and_describes_every_operation() {
    let doc = openapi_value();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut untyped = Vec::new();
    for (name, schema) in schemas {
        for (field, prop) in schema["properties"].as_object().into_iter().flatten() {
            if (field == "at" || field.ends_with("_at")) && prop["format"] != "date-time" {
                untyped.push(format!("{name}.{field}"));
            }
        }
    }
    assert!(
        untyped.is_empty(),
        "timestamps without format date-time: {untyped:?}"
    );

    for item in [
        "LinkView",
        "DomainView",
        "ApiKeyView",
        "KeyRequestView",
        "HistoryEntry",
    ] {
        let page = &schemas[&format!("ListOf_{item}")];
        assert_eq!(
            page["properties"]["items"]["items"]["$ref"],
            format!("#/components/schemas/{item}")
        );
    }
    let mut used = BTreeSet::new();
    walk(doc, &mut |k, v| {
        if k == "$ref" {
            used.insert(
                v.as_str()
                    .unwrap()
                    .trim_start_matches("#/components/schemas/")
                    .to_owned(),
            );
        }
    });
    let unused: Vec<&String> = schemas.keys().filter(|n| !used.contains(*n)).collect();
    assert!(unused.is_empty(), "unused schemas: {unused:?}");

    let mut leaks = Vec::new();
    walk(doc, &mut |k, v| {
        let text = v.as_str().unwrap_or("");
        let internal = ["borrow", "read lock", "LinkEntry", "catalog"];
        if k == "description" && internal.iter().any(|w| text.contains(w)) {
            leaks.push(text.to_owned());
        }
    });
    assert!(leaks.is_empty(), "internal prose: {leaks:?}");

    for o in openapi::operations(doc) {
        let d = o.op["description"].as_str().unwrap_or("");
        assert!(!d.is_empty(), "{} {} has no description", o.method, o.path);
    }
}

/// Each error status shows its own example (not the 400 one), 429 declares Retry-After, and
/// the export declares Content-Disposition.
#[test]
fn error_responses_have_their_own_examples_and_headers() {
    let doc = openapi_value();
    for o in openapi::operations(doc) {
        for (status, r) in o.op["responses"].as_object().unwrap() {
            let r = openapi::resolve(doc, r);
            let Some(media) = r["content"].get(crate::error::PROBLEM_JSON) else {
                continue;
            };
            let at = format!("{} {} {status}", o.method, o.path);
            assert_eq!(media["example"]["status"].to_string(), *status, "{at}");
            assert!(
                media["example"]["type"]
                    .as_str()
                    .unwrap()
                    .starts_with("https://"),
                "{at}"
            );
            if status == "429" {
                assert!(r["headers"].get("Retry-After").is_some(), "{at}");
            }
        }
    }
    let export = &doc["paths"]["/api/v1/links/export"]["get"]["responses"]["200"];
    assert!(export["headers"].get("Content-Disposition").is_some());
}

/// The session table and the document agree: every row is a documented operation that
/// accepts a session, states the row's right as the `session` role and names the roles that
/// have it (from `Role::may`); LLM.txt carries the roles.
#[test]
fn every_session_operation_states_the_right_its_role_needs_and_who_has_it() {
    use crate::auth::permissions::SESSION_ROUTES;
    use crate::domain::Role;
    let doc = openapi_value();
    let ops = openapi::operations(doc);
    for (method, path, right) in SESSION_ROUTES {
        let o = ops
            .iter()
            .find(|o| o.path == *path && o.method.eq_ignore_ascii_case(method))
            .unwrap_or_else(|| panic!("{method} {path} is in SESSION_ROUTES but not documented"));
        assert_eq!(
            openapi::security_roles(o.op, permissions::SESSION_SCHEME),
            [right.as_str()],
            "{method} {path}"
        );
        let description = openapi::str_of(o.op, "description").unwrap_or("");
        assert!(
            description.contains(&permissions::session_sentence(*right)),
            "{method} {path}: {description}"
        );
        for role in Role::ALL {
            let named = permissions::roles_with(*right).contains(role.as_str());
            assert_eq!(named, role.may(*right), "{method} {path} {role}");
        }
    }
    // An operation that states a session right has a row: the document never invents one.
    for o in &ops {
        if let Some(r) = openapi::security_roles(o.op, permissions::SESSION_SCHEME).first() {
            assert!(
                SESSION_ROUTES.iter().any(|(m, p, right)| *p == o.path
                    && m.eq_ignore_ascii_case(o.method)
                    && right.as_str() == *r),
                "{} {} states {r} without a row",
                o.method,
                o.path
            );
        }
    }
    assert_eq!(
        permissions::roles_with(crate::domain::Right::Backup),
        "admin only"
    );
    assert_eq!(
        permissions::roles_with(crate::domain::Right::KeysOwn),
        "admin and member"
    );
    let prefix = crate::domain::KeyPrefix::default();
    let full = llms::full(doc, "http://x", &prefix);
    assert!(full.contains("**Roles**"));
    for role in Role::ALL {
        assert!(
            full.contains(&format!("- `{role}`: {}", role.describe())),
            "{role}"
        );
    }
    assert!(full.contains("signed-in users need the right `keys:own`"));
    let index = llms::index(doc, "http://x", &prefix);
    assert!(index.contains("`viewer` ("), "{index}");
}
