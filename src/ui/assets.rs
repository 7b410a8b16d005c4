//! Static files from `web/`, embedded at build time (read from disk in debug builds).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "web/"]
struct Assets;

pub async fn serve(path: web::Path<String>) -> HttpResponse {
    match Assets::get(&path) {
        Some(file) => HttpResponse::Ok()
            .content_type(file.metadata.mimetype())
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .body(file.data.into_owned()),
        None => HttpResponse::NotFound()
            .content_type("text/plain")
            .body("not found"),
    }
}

/// `/static/<name>?v=<content hash>`: a new build busts caches.
pub fn asset_url(name: &str) -> String {
    let v = Assets::get(name)
        .map(|f| crate::encoding::hex(&f.metadata.sha256_hash()[..4]))
        .unwrap_or_default();
    format!("/static/{name}?v={v}")
}
