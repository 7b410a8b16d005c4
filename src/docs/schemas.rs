//! A document modifier: a page of a list (`ListOf<T>`) names its items' schema instead of
//! carrying an inlined copy of it (utoipa inlines a generic's argument), so generated clients
//! type the items as `LinkView`, `DomainView`, `ApiKeyView`… and no named schema goes unused.

use serde_json::{json, Value};

pub fn fill(doc: &mut Value) {
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let pages: Vec<(String, String)> = schemas
        .keys()
        .filter_map(|name| {
            let item = name.strip_prefix("ListOf_")?;
            schemas
                .contains_key(item)
                .then(|| (name.clone(), item.to_owned()))
        })
        .collect();
    for (page, item) in pages {
        if let Some(items) = schemas
            .get_mut(&page)
            .and_then(|s| s.pointer_mut("/properties/items"))
        {
            items["items"] = json!({ "$ref": format!("#/components/schemas/{item}") });
        }
    }
}
