//! `/api/llms.txt`: the OpenAPI document rendered in the llms.txt layout — `# ` title, `> `
//! summary, authentication, then one `## ` section per tag with each operation's method, path,
//! description, authentication, parameters, body fields, responses and a curl example.
//!
//! It walks the served JSON document (schemas resolved through `components`), so it can only
//! say what the document says.

use std::fmt::Write as _;

use serde_json::{Map, Value};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];
/// How deep nested body fields are listed (`a.b.c`).
const MAX_DEPTH: usize = 4;

/// One operation of the document, in document order.
pub struct Operation<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub op: &'a Value,
    pub path_item: &'a Value,
}

/// Every operation, in path order then method order.
pub fn operations(doc: &Value) -> Vec<Operation<'_>> {
    let mut out = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            for method in METHODS {
                if let Some(op) = item.get(method) {
                    out.push(Operation {
                        method,
                        path,
                        op,
                        path_item: item,
                    });
                }
            }
        }
    }
    out
}

/// The tags in the order the document declares them, then any used but not declared.
pub fn tag_order(doc: &Value) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = doc
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            Some((
                str_of(t, "name")?.to_owned(),
                str_of(t, "description").unwrap_or("").to_owned(),
            ))
        })
        .collect();
    for op in operations(doc) {
        let tag = op_tag(op.op);
        if !tags.iter().any(|(n, _)| n == tag) {
            tags.push((tag.to_owned(), String::new()));
        }
    }
    tags
}

pub fn op_tag(op: &Value) -> &str {
    op.get("tags")
        .and_then(|t| t.get(0))
        .and_then(Value::as_str)
        .unwrap_or("Other")
}

pub fn render(doc: &Value, base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    let mut out = String::new();
    let info = doc.get("info").unwrap_or(&Value::Null);
    let _ = writeln!(out, "# {}", str_of(info, "title").unwrap_or("API"));
    out.push('\n');
    let summary = str_of(info, "description").unwrap_or("").replace('\n', " ");
    let _ = writeln!(
        out,
        "> {summary} Base URL: {base}. Version {}.",
        str_of(info, "version").unwrap_or("?")
    );
    out.push('\n');
    let _ = writeln!(
        out,
        "Machine-readable OpenAPI 3.1 document: {base}/api/openapi.json. Interactive documentation: {base}/swagger-ui/."
    );
    out.push('\n');
    render_auth(&mut out, doc);
    render_errors(&mut out, doc);
    let ops = operations(doc);
    for (tag, description) in tag_order(doc) {
        let in_tag: Vec<&Operation> = ops.iter().filter(|o| op_tag(o.op) == tag).collect();
        let _ = writeln!(out, "## {tag}");
        out.push('\n');
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
    out
}

fn render_auth(out: &mut String, doc: &Value) {
    out.push_str("## Authentication\n\n");
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
                        out.push_str("## Errors\n\n");
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

/// The security requirement of an operation: its own, or the document's default.
pub fn security_names(doc: &Value, op: &Value) -> Vec<Vec<String>> {
    let reqs = op.get("security").or_else(|| doc.get("security"));
    reqs.and_then(Value::as_array)
        .map(|alts| {
            alts.iter()
                .map(|alt| {
                    alt.as_object()
                        .map(|o| o.keys().cloned().collect())
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default()
}

fn auth_line(doc: &Value, op: &Value) -> String {
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
        "### {method} {}{}",
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

/// Path-level and operation-level parameters (the operation's win), references resolved.
pub fn parameters<'a>(doc: &'a Value, o: &Operation<'a>) -> Vec<&'a Value> {
    let mut out: Vec<&Value> = Vec::new();
    let own =
        o.op.get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
    let shared = o
        .path_item
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    for p in own.chain(shared) {
        let p = resolve(doc, p);
        if !out
            .iter()
            .any(|q| str_of(q, "name") == str_of(p, "name") && str_of(q, "in") == str_of(p, "in"))
        {
            out.push(p);
        }
    }
    out
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

/// A body or response field, flattened to a dotted name.
pub struct Field {
    pub name: String,
    pub ty: String,
    pub required: bool,
    pub description: Option<String>,
}

/// The properties of an object schema (following `$ref`, `allOf`, nullable `oneOf`, arrays of
/// objects as `name[]`), down to `MAX_DEPTH` levels below `depth`.
pub fn flatten_fields(
    doc: &Value,
    schema: &Value,
    prefix: &str,
    depth: usize,
    out: &mut Vec<Field>,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let schema = unwrap_nullable(doc, resolve(doc, schema));
    let (props, required) = object_parts(doc, schema);
    for (name, prop) in props {
        let full = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let inner = unwrap_nullable(doc, resolve(doc, &prop));
        let description = str_of(&prop, "description")
            .or_else(|| str_of(inner, "description"))
            .map(str::to_owned);
        out.push(Field {
            name: full.clone(),
            ty: type_name(doc, &prop),
            required: required.contains(&name),
            description,
        });
        if is_object(doc, inner) {
            flatten_fields(doc, inner, &full, depth + 1, out);
        } else if let Some(items) = inner.get("items") {
            let items = unwrap_nullable(doc, resolve(doc, items));
            if is_object(doc, items) {
                flatten_fields(doc, items, &format!("{full}[]"), depth + 1, out);
            }
        }
    }
}

fn is_object(doc: &Value, schema: &Value) -> bool {
    !object_parts(doc, schema).0.is_empty()
}

fn object_parts(doc: &Value, schema: &Value) -> (Vec<(String, Value)>, Vec<String>) {
    let mut props = Vec::new();
    let mut required: Vec<String> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    if let Some(p) = schema.get("properties").and_then(Value::as_object) {
        props.extend(p.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    for part in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let part = unwrap_nullable(doc, resolve(doc, part));
        let (p, r) = object_parts(doc, part);
        props.extend(p);
        required.extend(r);
    }
    (props, required)
}

/// `oneOf: [{type: null}, X]` (an `Option<X>`) is X for listing purposes.
fn unwrap_nullable<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    for key in ["oneOf", "anyOf"] {
        if let Some(alts) = schema.get(key).and_then(Value::as_array) {
            let non_null: Vec<&Value> = alts
                .iter()
                .filter(|a| str_of(a, "type") != Some("null"))
                .collect();
            if non_null.len() == 1 && alts.len() == 2 {
                return resolve(doc, non_null[0]);
            }
        }
    }
    schema
}

/// Follow a local `$ref` (`#/components/...`) to what it names.
pub fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    let mut v = v;
    for _ in 0..16 {
        match v
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(pointer) => match doc.pointer(pointer) {
                Some(target) => v = target,
                None => return v,
            },
            None => return v,
        }
    }
    v
}

/// A short human type: `string (date-time)`, `integer | null`, `array of Link`, `"a" | "b"`.
pub fn type_name(doc: &Value, schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r).to_owned();
        let target = resolve(doc, schema);
        return if target.get("properties").is_some() || target.get("allOf").is_some() {
            format!("object {name}")
        } else {
            type_name(doc, target)
        };
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values.iter().map(compact).collect::<Vec<_>>().join(" | ");
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(alts) = schema.get(key).and_then(Value::as_array) {
            return alts
                .iter()
                .map(|a| type_name(doc, a))
                .collect::<Vec<_>>()
                .join(" | ");
        }
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        return parts
            .iter()
            .map(|a| type_name(doc, a))
            .collect::<Vec<_>>()
            .join(" & ");
    }
    let types: Vec<String> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    if types.is_empty() {
        return if schema.get("properties").is_some() {
            "object".to_owned()
        } else {
            "any".to_owned()
        };
    }
    types
        .iter()
        .map(|t| match t.as_str() {
            "array" => format!(
                "array of {}",
                schema
                    .get("items")
                    .map_or_else(|| "any".to_owned(), |i| type_name(doc, i))
            ),
            "null" => "null".to_owned(),
            other => match str_of(schema, "format") {
                Some(f) => format!("{other} ({f})"),
                None => other.to_owned(),
            },
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The example of a media type: `example`, or the first of `examples`.
pub fn example_of(content: &Value) -> Option<&Value> {
    content.get("example").or_else(|| {
        content
            .get("examples")
            .and_then(Value::as_object)
            .and_then(|m| m.values().next())
            .and_then(|e| e.get("value"))
    })
}

/// An example value built from a schema when the document gives none.
pub fn synth(doc: &Value, schema: &Value, depth: usize) -> Value {
    let schema = unwrap_nullable(doc, resolve(doc, schema));
    if let Some(v) = schema.get("example").or_else(|| schema.get("default")) {
        return v.clone();
    }
    if let Some(v) = schema.get("enum").and_then(|e| e.get(0)) {
        return v.clone();
    }
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    let (props, required) = object_parts(doc, schema);
    if !props.is_empty() {
        let mut m = Map::new();
        let _ = required;
        for (name, prop) in props {
            m.insert(name, synth(doc, &prop, depth + 1));
        }
        return Value::Object(m);
    }
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ => "",
    };
    match ty {
        "string" => Value::String(match str_of(schema, "format") {
            Some("date-time") => "2027-01-31T23:59:00Z".to_owned(),
            Some("uri" | "url") => "https://example.com/".to_owned(),
            _ => "string".to_owned(),
        }),
        "integer" => Value::from(1),
        "number" => Value::from(1.0),
        "boolean" => Value::Bool(true),
        "array" => Value::Array(vec![synth(
            doc,
            schema.get("items").unwrap_or(&Value::Null),
            depth + 1,
        )]),
        _ => Value::Null,
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
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

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Give every JSON request body and every successful JSON response an example: the one written
/// in the annotation, or else one built from the examples on the schema's fields. Error bodies
/// (`application/problem+json`) keep only their schema.
pub fn fill_examples(doc: &mut Value) {
    let read = doc.clone();
    let mut fills: Vec<(String, Value)> = Vec::new();
    for o in operations(&read) {
        let base = format!("/paths/{}/{}", pointer_escape(o.path), o.method);
        let mut media_objects: Vec<(String, &Value)> = Vec::new();
        if let Some(body) = o.op.get("requestBody") {
            for (media, c) in body
                .get("content")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                media_objects.push((
                    format!("{base}/requestBody/content/{}", pointer_escape(media)),
                    c,
                ));
            }
        }
        for (status, r) in
            o.op.get("responses")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
        {
            if !status.starts_with('2') {
                continue;
            }
            for (media, c) in r
                .get("content")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let at = format!(
                    "{base}/responses/{}/content/{}",
                    pointer_escape(status),
                    pointer_escape(media)
                );
                media_objects.push((at, c));
            }
        }
        for (at, c) in media_objects {
            let json = at.rsplit('/').next().is_some_and(|m| m.contains("json"));
            if json && example_of(c).is_none() {
                if let Some(schema) = c.get("schema") {
                    fills.push((at, synth(&read, schema, 0)));
                }
            }
        }
    }
    for (at, example) in fills {
        if let Some(Value::Object(m)) = doc.pointer_mut(&at) {
            m.insert("example".to_owned(), example);
        }
    }
}

fn pointer_escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}
