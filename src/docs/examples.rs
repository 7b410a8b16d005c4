//! A document modifier: every JSON request body and every successful JSON response gets an
//! example, so Swagger UI, the playground and LLM.txt always have one to show.

use serde_json::Value;

use super::openapi::{example_of, operations, synth};

/// Give every JSON request body and every successful JSON response an example: the one written
/// in the annotation, or else one built from the examples on the schema's fields. Error bodies
/// (`application/problem+json`) keep only their schema.
pub fn fill(doc: &mut Value) {
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
