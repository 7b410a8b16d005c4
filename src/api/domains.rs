//! Domains: the host names links live on.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Json, ListOf, PageQuery};
use crate::auth::Caller;
use crate::domain::Hostname;
use crate::error::{blocking, ApiError, Problem};
use crate::state::AppState;
use crate::store::records::{DomainId, DomainRecord, Source};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        super::resource!("/domains")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        super::resource!("/domains/{id}")
            .route(web::get().to(show))
            .route(web::put().to(rename))
            .route(web::delete().to(delete)),
    );
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DomainView {
    #[schema(example = 1)]
    pub id: DomainId,
    #[schema(example = "go.example.com")]
    pub hostname: String,
    #[schema(example = 12)]
    pub link_count: u64,
    pub source: Source,
    #[schema(example = "2026-11-26T10:00:00Z", format = DateTime)]
    pub created_at: String,
    #[schema(example = "2026-11-26T10:00:00Z", format = DateTime)]
    pub updated_at: String,
}

impl DomainView {
    pub fn new(d: DomainRecord, link_count: u64) -> Self {
        Self {
            id: d.id,
            hostname: d.hostname.into_string(),
            link_count,
            source: d.source,
            created_at: d.created_at.rfc3339(),
            updated_at: d.updated_at.rfc3339(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainBody {
    /// Host name without scheme or port; stored lower-case.
    #[schema(example = "go.example.com")]
    pub hostname: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// Also delete the domain's links.
    pub force: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/domains", tag = "Domains",
    summary = "List domains",
    description = "Domains newest first, with their link counts. A key scoped to domains sees only those.",
    params(PageQuery),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "A page of domains", body = ListOf<DomainView>),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    caller: Caller,
    st: web::Data<AppState>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (limit, offset) = q.resolve()?;
    let all = st.store.catalog.domains(caller.scope());
    let total = all.len();
    let items = all
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|(d, n)| DomainView::new(d, n))
        .collect();
    Ok(HttpResponse::Ok().json(ListOf {
        items,
        total,
        limit,
        offset,
    }))
}

fn visible(caller: &Caller, st: &AppState, id: DomainId) -> Result<DomainRecord, ApiError> {
    let d = st
        .store
        .catalog
        .domain(id)
        .ok_or(ApiError::NotFound("domain"))?;
    caller.may_read(d.id, "domain")?;
    Ok(d)
}

#[utoipa::path(get, path = "/api/v1/domains/{id}", tag = "Domains",
    summary = "Get a domain",
    params(("id" = u64, Path, description = "Domain id")),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "The domain", body = DomainView),
        (status = 404, description = "No such domain (or out of the key's scope)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn show(
    caller: Caller,
    st: web::Data<AppState>,
    id: web::Path<DomainId>,
) -> Result<HttpResponse, ApiError> {
    let d = visible(&caller, &st, *id)?;
    let n = st.store.catalog.link_count(d.id);
    Ok(HttpResponse::Ok().json(DomainView::new(d, n)))
}

#[utoipa::path(post, path = "/api/v1/domains", tag = "Domains",
    summary = "Add a domain",
    description = "Host names are lower-cased; internationalised names are stored as punycode.",
    request_body(content = DomainBody, example = json!({"hostname": "go.example.com"})),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 201, description = "Created", body = DomainView),
        (status = 400, description = "Invalid host name", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "API key scoped to domains", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Domain already exists", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    caller: Caller,
    st: web::Data<AppState>,
    body: Json<DomainBody>,
) -> Result<HttpResponse, ApiError> {
    caller.may_manage_domains()?;
    let host = Hostname::parse(&body.0.hostname)?;
    let st2 = st.clone();
    let d = {
        let by = caller.by();
        blocking(move || Ok(st2.store.create_domain(&host, &by)?)).await?
    };
    Ok(HttpResponse::Created().json(DomainView::new(d, 0)))
}

#[utoipa::path(put, path = "/api/v1/domains/{id}", tag = "Domains",
    summary = "Rename a domain",
    description = "Links keep their slugs and move with the domain.",
    params(("id" = u64, Path, description = "Domain id")),
    request_body(content = DomainBody, example = json!({"hostname": "links.example.com"})),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "Renamed", body = DomainView),
        (status = 400, description = "Invalid host name", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "API key scoped to domains", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such domain", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Host name taken, or declared in the config file", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn rename(
    caller: Caller,
    st: web::Data<AppState>,
    id: web::Path<DomainId>,
    body: Json<DomainBody>,
) -> Result<HttpResponse, ApiError> {
    caller.may_manage_domains()?;
    let host = Hostname::parse(&body.0.hostname)?;
    let id = *id;
    let st2 = st.clone();
    let d = {
        let by = caller.by();
        blocking(move || Ok(st2.store.rename_domain(id, &host, &by)?)).await?
    };
    let n = st.store.catalog.link_count(d.id);
    Ok(HttpResponse::Ok().json(DomainView::new(d, n)))
}

#[utoipa::path(delete, path = "/api/v1/domains/{id}", tag = "Domains",
    summary = "Delete a domain",
    description = "Refused with 409 while the domain still has links, unless `force=true`, which deletes them too. Also refused while API keys are scoped to it.",
    params(("id" = u64, Path, description = "Domain id"), DeleteQuery),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "API key scoped to domains", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such domain", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Domain still has links, keys are scoped to it, or it is declared in the config file", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    caller: Caller,
    st: web::Data<AppState>,
    id: web::Path<DomainId>,
    q: web::Query<DeleteQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.may_manage_domains()?;
    let (id, force) = (*id, q.force.unwrap_or(false));
    let st2 = st.clone();
    let by = caller.by();
    blocking(move || Ok(st2.store.delete_domain(id, force, &by)?)).await?;
    Ok(HttpResponse::NoContent().finish())
}
