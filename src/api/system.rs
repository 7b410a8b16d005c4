//! Liveness and metrics.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
    #[schema(example = "0.1.0")]
    pub version: &'static str,
    #[schema(example = "ok")]
    pub db: &'static str,
}

pub async fn healthz(st: web::Data<AppState>) -> HttpResponse {
    let st2 = st.clone();
    let db_ok = web::block(move || st2.store.ping())
        .await
        .is_ok_and(|r| r.is_ok());
    let body = Health {
        status: if db_ok { "ok" } else { "error" },
        version: env!("CARGO_PKG_VERSION"),
        db: if db_ok { "ok" } else { "error" },
    };
    if db_ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

pub async fn metrics(st: web::Data<AppState>) -> HttpResponse {
    let rows = st
        .store
        .keys
        .counts_by_status(crate::domain::now())
        .map(|(status, n)| (status.label(), n));
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(st.metrics.render(&rows))
}
