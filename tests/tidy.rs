//! Tidy tests, in the spirit of rust-analyzer's: they read `src/` and keep ARCHITECTURE.md's
//! invariants true. A failure names the file and line and says which rule it breaks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The layers, lowest first. A module may use only modules of a lower layer (or itself);
/// modules of the same layer are independent of one another. A new top-level module must be
/// placed here before it can be used.
const LAYERS: &[&[&str]] = &[
    &["clock"],
    &["encoding", "limiter", "metrics", "healthcheck"],
    &["domain"],
    &["keys"],
    &["store"],
    &["config"],
    &["telemetry"],
    &["error"],
    &["state"],
    &["auth"],
    &["api", "ui", "redirect", "middleware", "control"],
    &["docs"],
    &["startup"],
    &["cli"],
];

/// The only modules that may name actix: the HTTP edge. Everything below it is plain Rust.
const ACTIX_ALLOWED: &[&str] = &[
    "error",
    "auth",
    "api",
    "ui",
    "redirect",
    "middleware",
    "docs",
    "startup",
];

struct Source {
    path: PathBuf,
    /// The top-level module (`store` for `src/store/links.rs`); `lib`/`main` for the roots.
    module: String,
    /// Code lines with their numbers, comments removed.
    lines: Vec<(usize, String)>,
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let rel = path.strip_prefix(&root).unwrap();
            let first = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            let module = first.trim_end_matches(".rs").to_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let lines = text
                .lines()
                .enumerate()
                .map(|(i, l)| (i + 1, strip_comment(l)))
                .collect();
            Source {
                path: rel.to_owned(),
                module,
                lines,
            }
        })
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The line without its `//` comment (a `//` inside a string literal is kept).
fn strip_comment(line: &str) -> String {
    let mut in_str = false;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match c {
            '"' if prev != '\\' => in_str = !in_str,
            '/' if !in_str && prev == '/' => return line[..i - 1].to_owned(),
            _ => {}
        }
        prev = c;
    }
    line.to_owned()
}

/// A line of JavaScript with the insides of its string literals ('…', "…", `…`) blanked, so
/// that code which writes code (snippets.js writes a `fetch` sample) is not taken for a call.
fn without_strings(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in line.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                    out.push(c);
                    continue;
                }
                out.push(' ');
            }
            None => {
                if matches!(c, '"' | '\'' | '`') {
                    quote = Some(c);
                }
                out.push(c);
            }
        }
    }
    out
}

fn rank_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// Every `crate::<module>` a line names.
fn crate_refs(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.push(name);
        }
        rest = after;
    }
    // `use crate::{a, b::c}` names several.
    if let Some(i) = line.find("crate::{") {
        for part in line[i + "crate::{".len()..].split(',') {
            let name: String = part
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

/// Whether a line names the redb crate (`redb::`, `use redb`), as opposed to a `.redb` file.
fn names_redb(line: &str) -> bool {
    line.match_indices("redb").any(|(i, _)| {
        !line[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c == '.' || c == '_' || c.is_ascii_alphanumeric())
    })
}

fn fail(problems: Vec<String>, rule: &str) {
    assert!(problems.is_empty(), "{rule}:\n  {}", problems.join("\n  "));
}

#[test]
fn every_module_has_a_layer() {
    let mut unplaced: Vec<String> = sources()
        .into_iter()
        .filter(|s| !matches!(s.module.as_str(), "lib" | "main") && rank_of(&s.module).is_none())
        .map(|s| format!("{} (module `{}`)", s.path.display(), s.module))
        .collect();
    unplaced.dedup();
    fail(unplaced, "modules missing from tests/tidy.rs LAYERS");
}

#[test]
fn modules_depend_only_on_lower_layers() {
    let mut problems = Vec::new();
    let mut edges: BTreeMap<(String, String), usize> = BTreeMap::new();
    for s in sources() {
        let Some(from) = rank_of(&s.module) else {
            continue;
        };
        for (n, line) in &s.lines {
            for target in crate_refs(line) {
                if target == s.module {
                    continue;
                }
                *edges.entry((s.module.clone(), target.clone())).or_default() += 1;
                match rank_of(&target) {
                    Some(to) if to < from => {}
                    Some(to) if to == from => problems.push(format!(
                        "{}:{n}: `{}` uses `{target}`, a module of its own layer",
                        s.path.display(),
                        s.module
                    )),
                    Some(_) => problems.push(format!(
                        "{}:{n}: `{}` uses `{target}`, which is in a higher layer",
                        s.path.display(),
                        s.module
                    )),
                    None => problems.push(format!(
                        "{}:{n}: `crate::{target}` is not a module in LAYERS",
                        s.path.display()
                    )),
                }
            }
        }
    }
    assert!(
        edges.contains_key(&("auth".into(), "state".into())),
        "the scan found no crate:: paths; is it reading src/?"
    );
    fail(problems, "dependencies that point up or sideways");
}

#[test]
fn only_store_names_redb() {
    let problems: Vec<String> = sources()
        .iter()
        .filter(|s| s.module != "store")
        .flat_map(|s| {
            s.lines
                .iter()
                .filter(|(_, l)| names_redb(l))
                .map(move |(n, l)| format!("{}:{n}: {}", s.path.display(), l.trim()))
        })
        .collect();
    fail(problems, "redb named outside store");
}

#[test]
fn only_the_http_edge_names_actix() {
    let problems: Vec<String> = sources()
        .iter()
        .filter(|s| !ACTIX_ALLOWED.contains(&s.module.as_str()))
        .flat_map(|s| {
            s.lines
                .iter()
                .filter(|(_, l)| l.contains("actix"))
                .map(move |(n, l)| format!("{}:{n}: {}", s.path.display(), l.trim()))
        })
        .collect();
    fail(
        problems,
        "actix named outside the modules ARCHITECTURE.md allows",
    );
}

#[test]
fn only_auth_reads_the_session_cookie_or_compares_csrf_tokens() {
    let mut problems = Vec::new();
    for s in sources().iter().filter(|s| s.module != "auth") {
        for (n, l) in &s.lines {
            let reads_cookie = l.contains(".cookie(COOKIE")
                || l.contains(".cookie(\"")
                || l.contains(".cookies(")
                || l.contains("session::COOKIE") && l.contains("req");
            let lower = l.to_lowercase();
            let compares_csrf = lower.contains("csrf")
                && (l.contains("==")
                    || l.contains("!=")
                    || l.contains("same_secret")
                    || l.contains("check_csrf"));
            if reads_cookie || compares_csrf {
                problems.push(format!("{}:{n}: {}", s.path.display(), l.trim()));
            }
        }
    }
    fail(
        problems,
        "a handler reads the session cookie or checks a CSRF token by hand (use the auth extractors)",
    );
}

#[test]
fn no_todo_or_unimplemented_in_src() {
    let problems: Vec<String> = sources()
        .iter()
        .flat_map(|s| {
            s.lines
                .iter()
                .filter(|(_, l)| l.contains("todo!(") || l.contains("unimplemented!("))
                .map(move |(n, l)| format!("{}:{n}: {}", s.path.display(), l.trim()))
        })
        .collect();
    fail(problems, "todo!/unimplemented! in src");
}

#[test]
fn architecture_md_lists_the_layers_in_this_order() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md"))
            .unwrap();
    let mut at = 0;
    for module in LAYERS.iter().flat_map(|l| l.iter()) {
        let needle = format!("`{module}`");
        match text[at..].find(&needle) {
            Some(i) => at += i + needle.len(),
            None => panic!(
                "ARCHITECTURE.md's layer list does not name {needle} after the modules before it"
            ),
        }
    }
}

#[test]
fn the_scanner_sees_what_it_should() {
    assert_eq!(
        crate_refs("use crate::store::{Store, StoreError};"),
        ["store"]
    );
    assert_eq!(crate_refs("use crate::{api, docs};"), ["api", "docs"]);
    assert!(names_redb("use redb::{Database, ReadableTable};"));
    assert!(names_redb("fn f(e: redb::Error) {}"));
    assert!(!names_redb(
        "let name = \"linkdock-20261126T101500Z.redb\";"
    ));
    assert!(!names_redb("data_dir.join(\"linkdock.redb\")"));
    assert_eq!(strip_comment("let a = 1; // crate::ui"), "let a = 1; ");
    assert_eq!(
        strip_comment("let s = \"http://x\";"),
        "let s = \"http://x\";"
    );
    assert!(without_strings("await fetch(url)").contains("fetch("));
    assert!(!without_strings("const s = `await fetch(${u}, {`;").contains("fetch("));
    assert!(!without_strings(r#"const s = "a \" fetch(";"#).contains("fetch("));
}

#[test]
fn browser_code_is_modules_with_one_door_to_the_server() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("web/js");
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = strip_comment(line);
            let n = n + 1;
            // The CSRF token is read through its meta tag's name, a string: look at it whole.
            if name != "common.js"
                && (without_strings(&code).contains("fetch(") || code.contains("csrf-token"))
            {
                problems.push(format!(
                    "web/js/{name}:{n}: only common.js talks to the server: {}",
                    code.trim()
                ));
            }
            let assigns_global = code.split("window.").skip(1).any(|rest| {
                let after: String = rest
                    .chars()
                    .skip_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                after.trim_start().starts_with('=') && !after.trim_start().starts_with("==")
            });
            if assigns_global {
                problems.push(format!(
                    "web/js/{name}:{n}: a global on window: {}",
                    code.trim()
                ));
            }
        }
    }
    fail(problems, "browser code");
}
