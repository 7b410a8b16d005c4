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
    // A database silent for seconds is known to be away: no ping to wait out a timeout.
    let away = st.store.database_silent_for() > crate::store::SILENCE_LIMIT;
    let db_ok = !away
        && web::block(move || st2.store.ping())
            .await
            .is_ok_and(|r| r.is_ok());
    // A node on a shared database that cannot reach it still redirects from memory: it stays
    // in the balancer (200) and says it is degraded; an appliance without its database is down.
    let shared = st.store.is_shared();
    let body = Health {
        status: match (db_ok, shared) {
            (true, _) => "ok",
            (false, true) => "degraded",
            (false, false) => "error",
        },
        version: env!("CARGO_PKG_VERSION"),
        db: if db_ok { "ok" } else { "error" },
    };
    if db_ok || shared {
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
