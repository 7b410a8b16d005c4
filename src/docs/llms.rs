//! LLM.txt in two sizes, both in the llmstxt.org layout: `# ` title, `> ` summary, prose
//! without headings, then `## ` sections whose every line is a `- [name](url): notes` link.
//! - `/api/llms.txt` (`index`): the links — the OpenAPI document, Swagger UI, the full text,
//!   the error pages, and per tag each operation (its object in the OpenAPI document, by JSON
//!   pointer: a reader that fetches links gets JSON, not a page that needs a script).
//! - `/api/llms-full.txt` (`full`): the same, with every operation in full in the prose part:
//!   authentication, key format, errors, then per operation its method, path, description,
//!   parameters, body fields, responses and a curl example. The llms.txt layout allows no
//!   headings there, so groups and operations are bold lines.
//!
//! It walks the served JSON document through `openapi` (schemas resolved through
//! `components`), so it can only say what the document says.

use std::fmt::Write as _;

use serde_json::Value;

use super::openapi::{
    compact, example_of, flatten_fields, op_tag, operations, parameters, resolve, security_names,
    security_roles, str_of, synth, tag_order, type_name, Operation,
};
use crate::domain::{KeyPrefix, Permission, Role};
use crate::keys::{scanner_regex, CHECKSUM_RULE};

/// `/api/llms.txt`: title, summary, a short orientation, then sections of links.
pub fn index(doc: &Value, base_url: &str, prefix: &KeyPrefix) -> String {
    let base = base_url.trim_end_matches('/');
    let mut out = head(doc, base);
    let _ = writeln!(
        out,
        "Authenticate with an API key in the header `Authorization: Bearer <key>` (keys look like `{prefix}_` followed by 50 letters and digits; each carries permissions, a domain scope, an IP rule and an optional rate limit), or with the session cookie of a signed-in user. Every error is `application/problem+json`; its `type` is a URL whose page says what to do. The full reference, with every parameter, field, response and a curl example per operation, is {base}/api/llms-full.txt."
    );
    out.push('\n');
    let _ = writeln!(out, "{}", roles_sentence());
    out.push('\n');
    render_links(&mut out, doc, base);
    out
}

/// `/api/llms-full.txt`: everything the document says, operation by operation.
pub fn full(doc: &Value, base_url: &str, prefix: &KeyPrefix) -> String {
    let base = base_url.trim_end_matches('/');
    let mut out = head(doc, base);
    let _ = writeln!(
        out,
        "Machine-readable OpenAPI 3.1 document: {base}/api/openapi.json. Interactive documentation: {base}/swagger-ui/. What each error means: {base}/docs/errors."
    );
    out.push('\n');
    render_auth(&mut out, doc);
    render_roles(&mut out);
    render_key_format(&mut out, prefix);
    render_errors(&mut out, doc);
    let ops = operations(doc);
    for (tag, description) in tag_order(doc) {
        let in_tag: Vec<&Operation> = ops.iter().filter(|o| op_tag(o.op) == tag).collect();
        out.push_str("---\n\n");
        heading(&mut out, &tag);
        if !description.is_empty() {
            let _ = writeln!(out, "{description}");
            out.push('\n');
        }
        if in_tag.is_empty() {
            out.push_str("No endpoints in this group yet.\n\n");
        }
        for op in in_tag {
            render_operation(&mut out, doc, op, base);
        }
    }
    render_links(&mut out, doc, base);
    out
}

/// `# ` title and the one-line `> ` summary.
fn head(doc: &Value, base: &str) -> String {
    let mut out = String::new();
    let info = doc.get("info").unwrap_or(&Value::Null);
    out.push_str("# linkdock\n\n");
    let summary = str_of(info, "description").unwrap_or("").replace('\n', " ");
    let _ = writeln!(
        out,
        "> {summary} Base URL: {base}. Version {}.",
        str_of(info, "version").unwrap_or("?")
    );
    out.push('\n');
    out
}

/// A heading in the prose part, where llms.txt allows no markdown heading.
fn heading(out: &mut String, text: &str) {
    let _ = writeln!(out, "**{text}**");
    out.push('\n');
}

/// The `## ` sections: the documents, then each tag's operations as links into the OpenAPI
/// document (Swagger UI's own deep links are off: they nest a link in a button, which axe
/// refuses).
/// Every line of a section is a link, as the llms.txt parsers expect.
fn render_links(out: &mut String, doc: &Value, base: &str) {
    out.push_str("## Docs\n\n");
    let _ = writeln!(out, "- [OpenAPI document]({base}/api/openapi.json): OpenAPI 3.1, every operation with its parameters, schemas, responses and examples");
    let _ = writeln!(out, "- [Swagger UI]({base}/swagger-ui/): try each operation in the browser (Authorize with an API key)");
    let _ = writeln!(out, "- [Full reference]({base}/api/llms-full.txt): every operation in full, with a curl example, as plain text");
    let _ = writeln!(
        out,
        "- [API errors]({base}/docs/errors): each problem `type`, what it means and what to do"
    );
    out.push('\n');
    let ops = operations(doc);
    for (tag, _) in tag_order(doc) {
        let in_tag: Vec<&Operation> = ops.iter().filter(|o| op_tag(o.op) == tag).collect();
        if in_tag.is_empty() {
            continue;
        }
        let _ = writeln!(out, "## {tag}");
        out.push('\n');
        for o in in_tag {
            let summary = str_of(o.op, "summary").unwrap_or("");
            // The description already names the permission an API key needs.
            let notes = one_line(str_of(o.op, "description").unwrap_or(summary));
            let _ = writeln!(
                out,
                "- [{} {} — {}]({base}/api/openapi.json#{}): {}",
                o.method.to_uppercase(),
                o.path,
                summary.replace(['[', ']'], ""),
                operation_pointer(o.path, o.method),
                notes.trim()
            );
        }
        out.push('\n');
    }
}

/// The first paragraph of a description, on one line (a link's notes end at the line).
fn one_line(text: &str) -> String {
    text.split("\n\n")
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The JSON pointer (RFC 6901) of an operation, written for a URL fragment (RFC 3986 has no
/// braces): `/paths/~1api~1v1~1links~1%7Bid%7D/get`.
fn operation_pointer(path: &str, method: &str) -> String {
    let escaped = path
        .replace('~', "~0")
        .replace('/', "~1")
        .replace('{', "%7B")
        .replace('}', "%7D");
    format!("/paths/{escaped}/{method}")
}

fn render_auth(out: &mut String, doc: &Value) {
    heading(out, "Authentication");
    let schemes = doc
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object);
    for (name, scheme) in schemes.into_iter().flatten() {
        let _ = writeln!(
            out,
            "- `{name}`: {}. {}",
            scheme_how(scheme),
            str_of(scheme, "description").unwrap_or("")
        );
    }
    out.push_str("\nEach endpoint below lists the schemes it accepts. A request that carries `Authorization` is judged by that key alone.\n\n");
    out.push_str("API keys carry permissions (every one unless the key was given fewer); each endpoint names the one it needs, and a key without it gets 403 with a detail naming it:\n");
    for p in Permission::ALL {
        let _ = writeln!(out, "- `{p}`: {}", p.describe());
    }
    out.push_str("\nA key may have a rate limit in requests per minute. Answers to such a key carry `RateLimit-Policy: 60;w=60` and `RateLimit: limit=60, remaining=12, reset=34` (draft-ietf-httpapi-ratelimit-headers-07); past the limit the answer is 429 with `Retry-After`. `GET /api/v1/keys/current` says, for the key sent, the client IP the server saw, whether it passes the key's IP rule, the permissions, the rate-limit state and why the key would be refused (`denial`).\n\n");
}

/// The roles in one sentence, for the index.
fn roles_sentence() -> String {
    let roles: Vec<String> = Role::ALL
        .into_iter()
        .map(|r| format!("`{r}` ({})", r.describe()))
        .collect();
    format!(
        "Signed-in users have one role each: {}. Each endpoint names the right a role needs; an API key never gets a permission its creator's role lacks.",
        roles.join("; ")
    )
}

/// "Roles": what each role may do, from the one table (`Role::rights`).
fn render_roles(out: &mut String) {
    heading(out, "Roles");
    out.push_str("A signed-in user has one role. Each endpoint a session is checked on names the right it needs and the roles that have it; a session without it gets 403 naming the right. An API key never gets a permission its creator's role lacks, and a member sees and manages only the keys they created (another's key answers 404).
");
    for r in Role::ALL {
        let rights: Vec<String> = r.rights().map(|x| format!("`{x}`")).collect();
        let _ = writeln!(
            out,
            "- `{r}`: {}. Rights: {}.",
            r.describe(),
            rights.join(", ")
        );
    }
    out.push('\n');
}

/// The key format, for secret scanners: the pattern, the checksum rule, rules to paste.
fn render_key_format(out: &mut String, prefix: &KeyPrefix) {
    let regex = scanner_regex(prefix);
    heading(out, "API key format");
    let _ = writeln!(
        out,
        "Keys look like `{prefix}_` followed by 50 letters and digits. Regular expression: `{regex}`. Checksum: {CHECKSUM_RULE}. A string that matches the expression but fails the checksum is not a key."
    );
    out.push('\n');
    let _ = writeln!(
        out,
        "gitleaks (`.gitleaks.toml`):\n\n```toml\n[[rules]]\nid = \"linkdock-api-key\"\ndescription = \"linkdock API key\"\nregex = '''{regex}'''\nkeywords = [\"{prefix}_\"]\n```\n"
    );
    let _ = writeln!(
        out,
        "trufflehog (custom detector):\n\n```yaml\ndetectors:\n  - name: linkdock\n    keywords: [\"{prefix}_\"]\n    regex:\n      key: '{regex}'\n```\n"
    );
    out.push_str("A found key can be identified offline and against the database with `linkdock keys check KEY` (or `POST /api/v1/api-keys/check` when signed in), then revoked in one step.\n\n");
}

/// The error body, described once: the schemas the document uses for `application/problem+json`.
fn render_errors(out: &mut String, doc: &Value) {
    let mut seen: Vec<String> = Vec::new();
    for o in operations(doc) {
        for response in
            o.op.get("responses")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(_, r)| resolve(doc, r))
        {
            for (media, content) in response
                .get("content")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let schema = content.get("schema").unwrap_or(&Value::Null);
                let name = type_name(doc, schema);
                if media.contains("problem") && !seen.contains(&name) {
                    seen.push(name);
                    if seen.len() == 1 {
                        heading(out, "Errors");
                    }
                    let _ = writeln!(out, "Errors are `{media}`, {}:", type_name(doc, schema));
                    let mut fields = Vec::new();
                    flatten_fields(doc, schema, "", 0, &mut fields);
                    for f in fields {
                        let _ = writeln!(
                            out,
                            "- `{}` ({}){}",
                            f.name,
                            f.ty,
                            describe(f.description.as_deref())
                        );
                    }
                    out.push('\n');
                }
            }
        }
    }
}

fn scheme_how(scheme: &Value) -> String {
    match (
        str_of(scheme, "type"),
        str_of(scheme, "scheme"),
        str_of(scheme, "in"),
        str_of(scheme, "name"),
    ) {
        (Some("http"), Some(s), _, _) if s.eq_ignore_ascii_case("bearer") => {
            "HTTP header `Authorization: Bearer <key>`".to_owned()
        }
        (Some("http"), Some(s), _, _) => format!("HTTP `{s}` authentication"),
        (Some("apiKey"), _, Some(place), Some(n)) => format!("{place} `{n}`"),
        (Some(t), ..) => t.to_owned(),
        _ => "unknown".to_owned(),
    }
}

fn auth_line(doc: &Value, op: &Value) -> String {
    let mut line = auth_schemes(doc, op);
    if let Some(p) = security_roles(op, "api_key").first() {
        let _ = write!(line, "; API keys need the permission `{p}`");
    }
    if let Some(r) = security_roles(op, "session").first() {
        let _ = write!(line, "; signed-in users need the right `{r}`");
    }
    line
}

fn auth_schemes(doc: &Value, op: &Value) -> String {
    let alts = security_names(doc, op);
    if alts.is_empty() || alts.iter().any(Vec::is_empty) {
        if alts.iter().any(|a| !a.is_empty()) {
            let names: Vec<String> = alts
                .iter()
                .filter(|a| !a.is_empty())
                .map(|a| a.join(" + "))
                .collect();
            return format!("optional ({})", names.join(" or "));
        }
        return "none".to_owned();
    }
    let names: Vec<String> = alts
        .iter()
        .map(|a| {
            a.iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(" + ")
        })
        .collect();
    names.join(" or ")
}

fn render_operation(out: &mut String, doc: &Value, o: &Operation, base: &str) {
    let method = o.method.to_uppercase();
    let summary = str_of(o.op, "summary").unwrap_or("");
    let _ = writeln!(
        out,
        "**{method} {}{}**",
        o.path,
        if summary.is_empty() {
            String::new()
        } else {
            format!(" — {summary}")
        }
    );
    out.push('\n');
    if let Some(d) = str_of(o.op, "description") {
        let _ = writeln!(out, "{d}");
        out.push('\n');
    }
    let _ = writeln!(out, "Authentication: {}", auth_line(doc, o.op));
    out.push('\n');

    let params = parameters(doc, o);
    for place in ["path", "query", "header", "cookie"] {
        let here: Vec<&Value> = params
            .iter()
            .copied()
            .filter(|p| str_of(p, "in") == Some(place))
            .collect();
        if here.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{} parameters:", capitalise(place));
        for p in here {
            let schema = p.get("schema").unwrap_or(&Value::Null);
            let required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
            let _ = writeln!(
                out,
                "- `{}` ({}, {}){}",
                str_of(p, "name").unwrap_or("?"),
                type_name(doc, schema),
                if required { "required" } else { "optional" },
                describe(
                    str_of(p, "description")
                        .or_else(|| str_of(resolve(doc, schema), "description"))
                )
            );
        }
        out.push('\n');
    }

    if let Some(body) = o.op.get("requestBody").map(|b| resolve(doc, b)) {
        let required = body
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        for (media, content) in body
            .get("content")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let schema = content.get("schema").unwrap_or(&Value::Null);
            let _ = writeln!(
                out,
                "Request body ({media}, {}): {}{}",
                if required { "required" } else { "optional" },
                type_name(doc, schema),
                describe(str_of(body, "description"))
            );
            let mut fields = Vec::new();
            flatten_fields(doc, schema, "", 0, &mut fields);
            for f in fields {
                let _ = writeln!(
                    out,
                    "- `{}` ({}, {}){}",
                    f.name,
                    f.ty,
                    if f.required { "required" } else { "optional" },
                    describe(f.description.as_deref())
                );
            }
            out.push('\n');
        }
    }

    out.push_str("Responses:\n");
    for (status, response) in
        o.op.get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
    {
        let response = resolve(doc, response);
        let desc = str_of(response, "description").unwrap_or("");
        let contents: Vec<(&String, &Value)> = response
            .get("content")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .collect();
        if contents.is_empty() {
            let _ = writeln!(out, "- {status}: {desc} (no body)");
            continue;
        }
        for (media, content) in contents {
            let schema = content.get("schema").unwrap_or(&Value::Null);
            let _ = writeln!(
                out,
                "- {status}: {desc} — `{media}` {}",
                type_name(doc, schema)
            );
            let mut fields = Vec::new();
            // Error bodies are described once, under "Errors".
            if !media.contains("problem") {
                flatten_fields(doc, schema, "", 1, &mut fields);
            }
            if !fields.is_empty() {
                let names: Vec<String> = fields
                    .iter()
                    .map(|f| format!("`{}` ({})", f.name, f.ty))
                    .collect();
                let _ = writeln!(out, "  fields: {}", names.join(", "));
            }
            if let Some(example) = example_of(content) {
                let _ = writeln!(out, "  example: {}", compact(example));
            }
        }
    }
    out.push('\n');

    out.push_str("Example:\n\n```sh\n");
    out.push_str(&curl(doc, o, base, &params));
    out.push_str("\n```\n\n");
}

fn curl(doc: &Value, o: &Operation, base: &str, params: &[&Value]) -> String {
    let mut path = o.path.to_owned();
    let mut query = Vec::new();
    for p in params {
        let name = str_of(p, "name").unwrap_or("");
        let value = param_example(doc, p);
        match str_of(p, "in") {
            Some("path") => path = path.replace(&format!("{{{name}}}"), &value),
            Some("query")
                if p.get("required").and_then(Value::as_bool).unwrap_or(false)
                    || p.get("example").is_some() =>
            {
                query.push(format!("{name}={value}"));
            }
            _ => {}
        }
    }
    let url = if query.is_empty() {
        format!("{base}{path}")
    } else {
        format!("{base}{path}?{}", query.join("&"))
    };
    let method = o.method.to_uppercase();
    let mut lines = vec![format!("curl -X {method} '{url}'")];
    let alts = security_names(doc, o.op);
    let uses = |name: &str| alts.first().is_some_and(|a| a.iter().any(|n| n == name));
    let key_scheme = doc
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)
        .and_then(|s| {
            s.iter()
                .find(|(_, v)| str_of(v, "type") == Some("http"))
                .map(|(k, _)| k.clone())
        });
    let cookie_scheme = doc
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)
        .and_then(|s| {
            s.iter()
                .find(|(_, v)| str_of(v, "in") == Some("cookie"))
                .map(|(k, v)| (k.clone(), v))
        });
    if key_scheme.as_deref().is_some_and(uses) {
        lines.push("  -H \"Authorization: Bearer $LINKDOCK_API_KEY\"".to_owned());
    } else if let Some((name, scheme)) = cookie_scheme.filter(|(k, _)| uses(k)) {
        let _ = name;
        lines.push(format!(
            "  -b \"{}=$LINKDOCK_SESSION\"",
            str_of(scheme, "name").unwrap_or("session")
        ));
        if !matches!(o.method, "get" | "head" | "options") {
            lines.push("  -H \"X-CSRF-Token: $LINKDOCK_CSRF_TOKEN\"".to_owned());
        }
    }
    if let Some(body) = o.op.get("requestBody").map(|b| resolve(doc, b)) {
        let content = body.get("content").and_then(Value::as_object);
        if let Some((media, c)) = content.and_then(|c| c.iter().next()) {
            if media.starts_with("multipart/") {
                let mut fields = Vec::new();
                flatten_fields(
                    doc,
                    c.get("schema").unwrap_or(&Value::Null),
                    "",
                    1,
                    &mut fields,
                );
                for f in fields {
                    let v = if f.ty.contains("binary") {
                        format!("@{}.csv", f.name)
                    } else {
                        "…".to_owned()
                    };
                    lines.push(format!("  -F '{}={v}'", f.name));
                }
            } else {
                let example = example_of(c)
                    .cloned()
                    .unwrap_or_else(|| synth(doc, c.get("schema").unwrap_or(&Value::Null), 0));
                lines.push(format!("  -H 'Content-Type: {media}'"));
                lines.push(format!(
                    "  -d '{}'",
                    compact(&example).replace('\'', "'\\''")
                ));
            }
        }
    }
    lines.join(" \\\n")
}

fn param_example(doc: &Value, p: &Value) -> String {
    let schema = resolve(doc, p.get("schema").unwrap_or(&Value::Null));
    let v = p
        .get("example")
        .or_else(|| schema.get("example"))
        .or_else(|| schema.get("default"))
        .cloned();
    match v.unwrap_or_else(|| synth(doc, schema, 0)) {
        Value::String(s) => s,
        other => compact(&other),
    }
}

fn describe(d: Option<&str>) -> String {
    match d.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => format!(": {}", d.replace('\n', " ")),
        None => String::new(),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}
