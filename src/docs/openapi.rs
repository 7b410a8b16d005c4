//! Reading the OpenAPI document as served (JSON): operations in order, tags, security,
//! parameters, fields flattened to dotted names, short type names, examples. Shared by the
//! LLM.txt rendering, the example filling and the tests; it only says what the document says.

use serde_json::{Map, Value};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];
/// How deep nested body fields are listed (`a.b.c`).
pub const MAX_DEPTH: usize = 4;

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

/// The roles (permissions) an operation's security requirement lists for `scheme`.
pub fn security_roles<'a>(op: &'a Value, scheme: &str) -> Vec<&'a str> {
    op.get("security")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|alt| alt.get(scheme))
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_str)
        .collect()
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

pub fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

pub fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}
