//! A document modifier: every operation lists the error statuses that linkdock's shared
//! machinery can answer it with, not only those its handler decides. An operation that needs
//! credentials can answer 401, 403 and 429; one with path or query parameters can answer 400
//! for a value that does not parse; one with a JSON body 400, 413 and 415; a multipart body
//! 400 and 413. An operation's own description of a status wins over these.
//!
//! Then every problem+json response gets an example of its own status (Swagger UI would show
//! the schema's 400 example under every status), and every 429 declares `Retry-After`.

use serde_json::{json, Value};

use super::openapi::{operations, parameters, security_names};
use crate::error::PROBLEM_JSON;

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
        for (status, response) in responses.iter_mut() {
            describe_problem(status, response);
        }
    }
}

/// An example of the problem for this status, and `Retry-After` on 429.
fn describe_problem(status: &str, response: &mut Value) {
    let Some(r) = response.as_object_mut() else {
        return;
    };
    if status == "429" {
        let headers = r.entry("headers").or_insert_with(|| json!({}));
        if let Some(h) = headers.as_object_mut() {
            h.entry("Retry-After").or_insert_with(|| {
                json!({
                    "description": "Seconds to wait before trying again.",
                    "schema": {"type": "integer", "minimum": 0}
                })
            });
        }
    }
    let Some(media) = r
        .get_mut("content")
        .and_then(|c| c.get_mut(PROBLEM_JSON))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    if media.contains_key("example") || media.contains_key("examples") {
        return;
    }
    if let Some(example) = status.parse().ok().and_then(problem_example) {
        media.insert("example".into(), example);
    }
}

/// A typical problem body for a status, on an illustrative host. A status missing here fails
/// `docs::tests::error_responses_have_their_own_examples_and_headers`.
fn problem_example(status: u16) -> Option<Value> {
    let (slug, detail) = match status {
        400 => (
            "validation",
            "slug: must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -",
        ),
        401 => (
            "unauthenticated/missing",
            "no credentials: send an API key in the header Authorization: Bearer, or sign in",
        ),
        403 => ("forbidden", "this API key lacks the permission links:write"),
        404 => ("not-found", "link not found"),
        405 => (
            "method-not-allowed",
            "this method is not allowed on this resource",
        ),
        409 => (
            "conflict",
            "the slug docs is already taken on go.example.com",
        ),
        413 => ("payload-too-large", "the request body is too large"),
        415 => (
            "unsupported-media-type",
            "the body must be sent as application/json",
        ),
        429 => (
            "rate-limited",
            "too many failed attempts from this address; try again in 42 s",
        ),
        500 => ("internal", "an internal error occurred; it has been logged"),
        503 => ("unavailable", "the server is shutting down"),
        _ => return None,
    };
    let title = actix_web::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    let mut example = json!({
        "type": format!("https://links.example.com/docs/errors/{slug}"),
        "title": title,
        "status": status,
        "detail": detail,
    });
    if status == 400 {
        example["errors"] = json!([{"field": "slug", "message": "must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -"}]);
    }
    Some(example)
}
