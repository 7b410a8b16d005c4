//! Tidy tests, in the spirit of rust-analyzer's: they read `src/` and keep ARCHITECTURE.md's
//! invariants true. A failure names the file and line and says which rule it breaks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use syn::visit::{self, Visit};

/// The layers, lowest first. A module may use only modules of a lower layer (or itself);
/// modules of the same layer are independent of one another. A new top-level module must be
/// placed here before it can be used.
const LAYERS: &[&[&str]] = &[
    &["clock"],
    &["encoding", "limiter", "metrics", "healthcheck"],
    &["domain"],
    &["keys", "audit"],
    &["store"],
    &["config"],
    &["telemetry"],
    &["error"],
    &["state"],
    &["auth"],
    &["middleware"],
    &["api", "ui", "redirect", "control"],
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
    /// The path below the top-level module (`["links"]` for `src/store/links.rs`, `[]` for
    /// `src/store/mod.rs` and `src/limiter.rs`).
    inner: Vec<String>,
    text: String,
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
            let text = std::fs::read_to_string(&path).unwrap();
            source(rel, text)
        })
        .collect()
}

/// A source file at `rel` (relative to `src/`) with `text`.
fn source(rel: &Path, text: String) -> Source {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.len() > 1 && parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    let module = parts.remove(0);
    let lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, strip_comment(l)))
        .collect();
    Source {
        path: rel.to_owned(),
        module,
        inner: parts,
        text,
        lines,
    }
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

/// Whether a line names a storage engine's crate: redb (`redb::`, `use redb`, as opposed to a
/// `.redb` file) or PostgreSQL's client (`postgres::`, `tokio_postgres`, as opposed to a
/// `postgres://` URL or the `postgres` backend's name).
fn names_engine(line: &str) -> bool {
    names_redb(line)
        || line.contains("tokio_postgres")
        || line.match_indices("postgres::").any(|(i, _)| {
            !line[..i]
                .chars()
                .next_back()
                .is_some_and(|c| c == '_' || c.is_ascii_alphanumeric())
        })
}

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
        problems.extend(layer_problems(&s, &mut edges));
    }
    assert!(
        edges.contains_key(&("auth".into(), "state".into())),
        "the scan found no crate:: paths; is it reading src/?"
    );
    fail(problems, "dependencies that point up or sideways");
}

/// What in `s` points up or sideways; every module it names is counted in `edges`.
fn layer_problems(s: &Source, edges: &mut BTreeMap<(String, String), usize>) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(from) = rank_of(&s.module) else {
        return problems;
    };
    for (n, target) in module_refs(s) {
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
    problems
}

/// Every top-level module a source names, with the line: `crate::x` and `super::…::x` paths
/// wherever they stand (a `use` tree of any shape and over any number of lines, an expression,
/// a type, a macro's tokens), resolved from the file's place in the module tree. The file is
/// parsed (syn), so the way an import is written cannot hide it.
fn module_refs(s: &Source) -> Vec<(usize, String)> {
    let file = syn::parse_file(&s.text)
        .unwrap_or_else(|e| panic!("{}: cannot parse: {e}", s.path.display()));
    let mut at = vec![s.module.clone()];
    at.extend(s.inner.iter().cloned());
    let mut refs = Refs {
        at,
        found: Vec::new(),
    };
    refs.visit_file(&file);
    refs.found
}

struct Refs {
    /// The module the visitor is in, from the crate root (`store`, `keys`, `tests`).
    at: Vec<String>,
    found: Vec<(usize, String)>,
}

impl Refs {
    /// The top-level module that a path of these segments names, if it leaves for one.
    fn target(&self, segs: &[String]) -> Option<String> {
        let (first, rest) = segs.split_first()?;
        let name = match first.as_str() {
            "crate" | "$crate" => rest.first()?,
            "super" => {
                let mut at = self.at.len();
                let mut rest = segs;
                while rest.first().is_some_and(|s| s == "super") {
                    at = at.checked_sub(1)?;
                    rest = &rest[1..];
                }
                match at {
                    0 => rest.first()?,
                    _ => &self.at[0],
                }
            }
            _ => return None,
        };
        (name != "self").then(|| name.clone())
    }

    fn record(&mut self, segs: &[String], line: usize) {
        if let Some(t) = self.target(segs) {
            self.found.push((line, t));
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        let leaf = |me: &mut Self, prefix: &mut Vec<String>, name: String, line: usize| {
            prefix.push(name);
            me.record(prefix, line);
            prefix.pop();
        };
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => leaf(self, prefix, n.ident.to_string(), line_of(&n.ident)),
            syn::UseTree::Rename(r) => leaf(self, prefix, r.ident.to_string(), line_of(&r.ident)),
            syn::UseTree::Glob(g) => leaf(self, prefix, "*".into(), line_of(&g.star_token)),
            syn::UseTree::Group(g) => {
                for item in &g.items {
                    self.use_tree(prefix, item);
                }
            }
        }
    }

    /// Paths in a macro's tokens, which syn leaves unparsed: `crate`, `$crate` or `super`
    /// followed by `::` and names.
    fn tokens(&mut self, tokens: proc_macro2::TokenStream) {
        use proc_macro2::TokenTree;
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < tokens.len() {
            match &tokens[i] {
                TokenTree::Group(g) => self.tokens(g.stream()),
                TokenTree::Ident(id) if ["crate", "super"].contains(&id.to_string().as_str()) => {
                    let dollar = i > 0
                        && matches!(&tokens[i - 1], TokenTree::Punct(p) if p.as_char() == '$');
                    let mut segs = vec![if dollar {
                        format!("${id}")
                    } else {
                        id.to_string()
                    }];
                    let mut j = i + 1;
                    while let (
                        Some(TokenTree::Punct(a)),
                        Some(TokenTree::Punct(b)),
                        Some(TokenTree::Ident(next)),
                    ) = (tokens.get(j), tokens.get(j + 1), tokens.get(j + 2))
                    {
                        if a.as_char() != ':' || b.as_char() != ':' {
                            break;
                        }
                        segs.push(next.to_string());
                        j += 3;
                    }
                    if segs.len() > 1 {
                        self.record(&segs, id.span().start().line);
                    }
                    i = j;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
    }
}

fn line_of(t: &impl syn::spanned::Spanned) -> usize {
    t.span().start().line
}

impl<'ast> Visit<'ast> for Refs {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        self.at.push(m.ident.to_string());
        visit::visit_item_mod(self, m);
        self.at.pop();
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        let mut prefix = Vec::new();
        self.use_tree(&mut prefix, &u.tree);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segs: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        self.record(&segs, line_of(p));
        visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.tokens(m.tokens.clone());
        visit::visit_macro(self, m);
    }
}

#[test]
fn the_layer_check_sees_every_way_of_writing_an_upward_import() {
    let judge = |rel: &str, text: &str| {
        layer_problems(
            &source(Path::new(rel), text.to_owned()),
            &mut BTreeMap::new(),
        )
    };
    let caught = |rel: &str, text: &str, line: usize, target: &str| {
        let problems = judge(rel, text);
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with(&format!("{rel}:{line}: "))
                    && p.contains(&format!("`{target}`"))),
            "{rel}: `{target}` on line {line} not caught in\n{text}\n{problems:?}"
        );
    };
    // One line, grouped, and grouped over several lines.
    caught("store/keys.rs", "use crate::auth::Caller;\n", 1, "auth");
    caught(
        "store/keys.rs",
        "use crate::{domain::now, auth::Caller};\n",
        1,
        "auth",
    );
    let grouped = "use crate::{\n    domain::now,\n    auth::Caller,\n};\n";
    caught("store/keys.rs", grouped, 3, "auth");
    caught(
        "store/mod.rs",
        "use crate::{\n    domain::{\n        now,\n    },\n    api,\n};\n",
        5,
        "api",
    );
    // Through `super`: out of `store::keys` to the crate root, and out of a test module.
    caught(
        "store/keys.rs",
        "use super::super::auth::Caller;\n",
        1,
        "auth",
    );
    caught(
        "store/keys.rs",
        "use super::{\n    super::ui,\n};\n",
        2,
        "ui",
    );
    caught(
        "limiter.rs",
        "fn f() {\n    super::state::reload();\n}\n",
        2,
        "state",
    );
    caught(
        "store/mod.rs",
        "mod tests {\n    use super::super::cli;\n}\n",
        2,
        "cli",
    );
    // In an expression, a type, and a macro's tokens.
    caught(
        "keys/mod.rs",
        "fn f() -> crate::error::ApiError {\n    todo()\n}\n",
        1,
        "error",
    );
    caught(
        "keys/mod.rs",
        "fn f() {\n    let _ = format!(\"{}\", crate::startup::X);\n}\n",
        2,
        "startup",
    );
    // A module of its own layer is sideways.
    caught("api/links.rs", "use crate::{\n    ui::page,\n};\n", 2, "ui");
    // What stays inside the module, or goes down, is fine.
    for (rel, text) in [
        (
            "store/keys.rs",
            "use super::tables;\nuse crate::{\n    domain::now,\n    keys::KeyDigest,\n};\n",
        ),
        (
            "store/keys.rs",
            "mod tests {\n    use super::super::records;\n    use super::*;\n}\n",
        ),
        (
            "auth/mod.rs",
            "use crate::state::AppState;\nfn f() { crate::store::x(); }\n",
        ),
    ] {
        assert_eq!(judge(rel, text), Vec::<String>::new(), "{text}");
    }
}

#[test]
fn only_store_names_a_storage_engine() {
    let problems: Vec<String> = sources()
        .iter()
        .filter(|s| s.module != "store")
        .flat_map(|s| {
            s.lines
                .iter()
                .filter(|(_, l)| names_engine(l))
                .map(move |(n, l)| format!("{}:{n}: {}", s.path.display(), l.trim()))
        })
        .collect();
    fail(
        problems,
        "a storage engine (redb, postgres) named outside store",
    );
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

/// `unsafe_code` is denied crate-wide (not forbidden: `store::glibc` calls glibc's
/// `malloc_trim` and `mallopt`); any other place that allows it is a new unsafe block to review.
#[test]
fn unsafe_code_is_allowed_in_one_place_only() {
    let allowed: Vec<String> = sources()
        .iter()
        .flat_map(|s| {
            s.lines
                .iter()
                .filter(|(_, l)| l.contains("unsafe_code"))
                .map(move |(n, l)| format!("{}:{n}: {}", s.path.display(), l.trim()))
        })
        .collect();
    let expected = ["store/mod.rs"];
    let unexpected: Vec<String> = allowed
        .iter()
        .filter(|a| !expected.iter().any(|e| a.starts_with(&format!("{e}:"))))
        .cloned()
        .collect();
    assert_eq!(
        allowed.len(),
        1,
        "exactly one allow(unsafe_code): {allowed:?}"
    );
    fail(unexpected, "unsafe_code allowed outside store::glibc");
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
    assert!(names_redb("use redb::{Database, ReadableTable};"));
    assert!(names_redb("fn f(e: redb::Error) {}"));
    assert!(names_engine("use postgres::{Client, NoTls};"));
    assert!(names_engine("fn f(e: tokio_postgres::Error) {}"));
    assert!(!names_engine("let url = \"postgres://ld@db:5432/links\";"));
    assert!(!names_engine("Backend::Postgres => open_postgres(url),"));
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
