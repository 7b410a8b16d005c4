//! A document modifier: every operation an API key may call states the permission it needs,
//! read from the one table the extractor enforces (`auth::permissions::ROUTES`). The
//! permission goes where OpenAPI 3.1 puts roles for non-OAuth schemes, the list of the
//! `api_key` security requirement (`[{"api_key": ["links:read"]}, {"session": []}]`), and into
//! the description in words. Answers to key callers carry the rate-limit headers, so they are
//! documented on each of them.

use serde_json::{json, Value};

use crate::auth::permissions::{Needs, ROUTES};

/// The security scheme of API keys (`docs::Security`).
pub const KEY_SCHEME: &str = "api_key";

pub fn fill(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            let Some(route) = ROUTES
                .iter()
                .find(|r| r.path == path && r.method.eq_ignore_ascii_case(method))
            else {
                continue;
            };
            state_permission(op, route.needs);
            document_rate_limit_headers(op);
        }
    }
}

fn state_permission(op: &mut Value, needs: Needs) {
    let sentence = match needs {
        Needs::AnyKey => "Any valid API key may call it (no permission needed).".to_owned(),
        Needs::One(p) => {
            if let Some(reqs) = op.get_mut("security").and_then(Value::as_array_mut) {
                for req in reqs {
                    if let Some(scopes) = req.get_mut(KEY_SCHEME) {
                        *scopes = json!([p.as_str()]);
                    }
                }
            }
            format!("API keys need the permission `{p}` ({}).", p.describe())
        }
    };
    if let Some(o) = op.as_object_mut() {
        let text = match o.get("description").and_then(Value::as_str) {
            Some(d) if !d.is_empty() => format!("{d} {sentence}"),
            _ => sentence,
        };
        o.insert("description".into(), Value::String(text));
    }
}

fn document_rate_limit_headers(op: &mut Value) {
    let headers = json!({
        "RateLimit-Policy": {
            "description": "Only for API keys with a rate limit: the key's quota, e.g. `60;w=60` (60 requests per 60-second window; draft-ietf-httpapi-ratelimit-headers-07).",
            "schema": {"type": "string"}
        },
        "RateLimit": {
            "description": "Only for API keys with a rate limit: this minute's state, e.g. `limit=60, remaining=12, reset=34` (seconds until the window ends).",
            "schema": {"type": "string"}
        }
    });
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    for (status, response) in responses.iter_mut() {
        // Answers before authentication (401) say nothing about the key's quota.
        if status == "401" {
            continue;
        }
        if let Some(r) = response.as_object_mut() {
            let h = r.entry("headers").or_insert_with(|| json!({}));
            if let (Some(h), Some(add)) = (h.as_object_mut(), headers.as_object()) {
                for (name, v) in add {
                    h.entry(name.clone()).or_insert_with(|| v.clone());
                }
            }
        }
    }
}
