//! A document modifier: every operation lists the error statuses that linkdock's shared
//! machinery can answer it with, not only those its handler decides. An operation that needs
//! credentials can answer 401, 403 and 429; one with path or query parameters can answer 400
//! for a value that does not parse; one with a JSON body 400, 413 and 415; a multipart body
//! 400 and 413. An operation's own description of a status wins over these.

use serde_json::{json, Value};

use super::openapi::{operations, parameters, security_names};

const KEY_403: &str = "The API key lacks the permission this operation needs (the detail names it), may not be used from this address (IP whitelist), or a session request lacks its X-CSRF-Token";

/// (path, method, the statuses to add) for one operation.
type Additions = (String, String, Vec<(u16, &'static str)>);

pub fn fill(doc: &mut Value) {
    let read = doc.clone();
    let mut adds: Vec<Additions> = Vec::new();
    for o in operations(&read) {
        let mut statuses: Vec<(u16, &'static str)> = Vec::new();
        let alternatives = security_names(&read, o.op);
        if alternatives.iter().any(|a| !a.is_empty()) {
            statuses.push((
                401,
                "Missing or invalid credentials (the detail says which)",
            ));
            statuses.push((403, KEY_403));
            statuses.push((
                429,
                "Too many failed attempts from this address, or the API key's rate limit is used up for this minute; see Retry-After",
            ));
        }
        let params = parameters(&read, &o);
        if params
            .iter()
            .any(|p| matches!(p.get("in").and_then(Value::as_str), Some("path" | "query")))
        {
            statuses.push((
                400,
                "A path or query parameter is not valid (the detail names it)",
            ));
        }
        let content =
            o.op.pointer("/requestBody/content")
                .and_then(Value::as_object);
        for media in content.into_iter().flat_map(|c| c.keys()) {
            if media.contains("json") {
                statuses.push((
                    400,
                    "The body is not valid JSON for this operation (errors name the fields)",
                ));
                statuses.push((413, "The body is larger than the limit"));
                statuses.push((415, "The body is not sent as application/json"));
            } else if media.starts_with("multipart/") {
                statuses.push((400, "The form is not valid multipart/form-data"));
                statuses.push((413, "The upload is larger than the limit"));
            }
        }
        adds.push((o.path.to_owned(), o.method.to_owned(), statuses));
    }
    for (path, method, statuses) in adds {
        let Some(responses) = doc
            .get_mut("paths")
            .and_then(|p| p.get_mut(&path))
            .and_then(|i| i.get_mut(&method))
            .and_then(|op| op.get_mut("responses"))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        for (status, description) in statuses {
            responses.entry(status.to_string()).or_insert_with(|| {
                json!({
                    "description": description,
                    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
                })
            });
        }
    }
}
