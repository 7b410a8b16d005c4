//! A document modifier: every operation an API key may call states the permission it needs,
//! read from the one table the extractor enforces (`auth::permissions::ROUTES`). The
//! permission goes where OpenAPI 3.1 puts roles for non-OAuth schemes, the list of the
//! `api_key` security requirement (`[{"api_key": ["links:read"]}, {"session": []}]`), and into
//! the description in words. Answers to key callers carry the rate-limit headers, so they are
//! documented on each of them.
//!
//! Likewise each operation a session is checked on states the right a signed-in user's role
//! needs (`auth::permissions::SESSION_ROUTES`) and which roles have it (`Role::may`): as the
//! role of the `session` requirement and in the description.

use serde_json::{json, Value};

use crate::auth::permissions::{Needs, ROUTES, SESSION_ROUTES};
use crate::domain::{Right, Role};

/// The security scheme of signed-in users (`docs::Security`).
pub const SESSION_SCHEME: &str = "session";

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
            if let Some((_, _, right)) = SESSION_ROUTES
                .iter()
                .find(|(m, p, _)| p == path && m.eq_ignore_ascii_case(method))
            {
                state_session_right(op, *right);
            }
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

/// The roles that have `right`, in words: "admin and member".
pub fn roles_with(right: Right) -> String {
    let names: Vec<&str> = Role::ALL
        .into_iter()
        .filter(|r| r.may(right))
        .map(Role::as_str)
        .collect();
    match names.as_slice() {
        [] => "no role".to_owned(),
        [one] => format!("{one} only"),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The sentence a session operation's description ends with.
pub fn session_sentence(right: Right) -> String {
    format!(
        "Signed-in users need the right `{right}` ({}), which {} have; other roles get 403 naming it.",
        right.describe(),
        roles_with(right)
    )
}

fn state_session_right(op: &mut Value, right: Right) {
    if let Some(reqs) = op.get_mut("security").and_then(Value::as_array_mut) {
        for req in reqs {
            if let Some(roles) = req.get_mut(SESSION_SCHEME) {
                *roles = json!([right.as_str()]);
            }
        }
    }
    append_description(op, &session_sentence(right));
}

fn append_description(op: &mut Value, sentence: &str) {
    if let Some(o) = op.as_object_mut() {
        let text = match o.get("description").and_then(Value::as_str) {
            Some(d) if !d.is_empty() => format!("{d} {sentence}"),
            _ => sentence.to_owned(),
        };
        o.insert("description".into(), Value::String(text));
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
    append_description(op, &sentence);
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
