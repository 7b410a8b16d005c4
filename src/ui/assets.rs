//! Static files from `web/`, embedded at build time (read from disk in debug builds).
//!
//! Pages link assets as `/static/<name>?v=<content hash>`, and only a request whose `v` is
//! the file's current hash may be cached for good. ES modules import each other by plain
//! relative paths (no `v`), so those answers are revalidated by their ETag: after an upgrade
//! a browser can never combine a new page script with an old module.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "web/"]
struct Assets;

fn version_of(file: &rust_embed::EmbeddedFile) -> String {
    crate::encoding::hex(&file.metadata.sha256_hash()[..4])
}

pub async fn serve(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let Some(file) = Assets::get(&path) else {
        return HttpResponse::NotFound()
            .content_type("text/plain")
            .body("not found");
    };
    let version = version_of(&file);
    let etag = format!("\"{version}\"");
    let pinned = req
        .query_string()
        .split('&')
        .any(|p| p.strip_prefix("v=") == Some(version.as_str()));
    let fresh = !pinned
        && req
            .headers()
            .get(header::IF_NONE_MATCH)
            .is_some_and(|v| v.as_bytes() == etag.as_bytes());
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((
        header::CACHE_CONTROL,
        if pinned {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        },
    ))
    .insert_header((header::ETAG, etag))
    .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if fresh {
        return res.finish();
    }
    res.content_type(file.metadata.mimetype())
        .body(file.data.into_owned())
}

/// `/static/<name>?v=<content hash>`: a new build busts caches.
pub fn asset_url(name: &str) -> String {
    let v = Assets::get(name)
        .map(|f| version_of(&f))
        .unwrap_or_default();
    format!("/static/{name}?v={v}")
}
