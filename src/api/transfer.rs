//! CSV import and export of links. Columns: domain, slug, destination_url, title, tags,
//! redirect_code, expires_at (tags separated by `;`). Export then import into an empty
//! instance gives the same links.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::links::{new_link, CreateLink, ExpiryRule};
use crate::auth::Caller;
use crate::domain::{now, Hostname, Timestamp};
use crate::error::{blocking, ApiError, Problem};
use crate::state::AppState;
use crate::store::StoreError;

pub const COLUMNS: [&str; 7] = [
    "domain",
    "slug",
    "destination_url",
    "title",
    "tags",
    "redirect_code",
    "expires_at",
];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/links/import").route(web::post().to(import)))
        .service(web::resource("/links/export").route(web::get().to(export)));
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DomainQuery {
    /// Import: the domain for rows without a `domain` column value. Export: only this domain.
    pub domain: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RowError {
    /// Line in the file (the header is line 1).
    #[schema(example = 3)]
    pub row: usize,
    #[schema(example = "destination_url: must be an absolute http:// or https:// URL")]
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    #[schema(example = 42)]
    pub created: usize,
    /// Rows whose slug already exists on their domain.
    #[schema(example = 1)]
    pub skipped: usize,
    /// Rows that could not be used; see `errors`.
    #[schema(example = 1)]
    pub failed: usize,
    pub errors: Vec<RowError>,
}

/// The multipart form of an import, for the documentation.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ImportForm {
    /// CSV file with a header row.
    #[schema(format = Binary, content_media_type = "text/csv")]
    file: String,
}

async fn read_file(req: &HttpRequest, mut form: Multipart, max: u64) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::PayloadTooLarge(format!(
            "the file is larger than import.max_bytes ({max} bytes)"
        ))
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max + 64 * 1024) {
        return Err(too_large());
    }
    let bad = |e: actix_multipart::MultipartError| {
        ApiError::BadRequest(format!(
            "send the CSV as the multipart/form-data field “file”: {e}"
        ))
    };
    while let Some(field) = form.next().await {
        let mut field = field.map_err(bad)?;
        if field.name() != Some("file") {
            while let Some(chunk) = field.next().await {
                chunk.map_err(bad)?;
            }
            continue;
        }
        let mut data = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(bad)?;
            if (data.len() + chunk.len()) as u64 > max {
                return Err(too_large());
            }
            data.extend_from_slice(&chunk);
        }
        return Ok(data);
    }
    Err(ApiError::invalid(
        "file",
        "is missing: the multipart form has no field “file”",
    ))
}

/// One CSV row as a create body; the columns are mapped by header name.
fn row_body(
    record: &csv::StringRecord,
    columns: &[Option<usize>; 7],
    default_domain: Option<&str>,
) -> Result<CreateLink, String> {
    let get = |i: usize| {
        columns[i]
            .and_then(|c| record.get(c))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let redirect_code = get(5)
        .map(|c| {
            c.parse::<u16>()
                .map_err(|_| format!("redirect_code: must be a whole number, not “{c}”"))
        })
        .transpose()?;
    let tags = get(4).map(|t| {
        t.split(';')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    });
    Ok(CreateLink {
        domain: get(0)
            .or_else(|| default_domain.map(str::to_owned))
            .ok_or("domain: is missing; fill in the domain column or choose a default domain")?,
        destination_url: get(2).ok_or("destination_url: is missing")?,
        slug: get(1),
        title: get(3),
        tags,
        redirect_code,
        expires_at: get(6),
    })
}

#[utoipa::path(post, path = "/api/v1/links/import", tag = "Import & Export",
    summary = "Import links from CSV",
    description = "multipart/form-data with field `file`: a CSV with a header row and the columns `domain, slug, destination_url, title, tags, redirect_code, expires_at` (only `destination_url` is required; `domain` may come from `?domain=`; tags separated by `;`). Rows are validated one by one: a bad row never stops the good ones, and nothing is half-written. Rows whose slug already exists are skipped.",
    params(DomainQuery),
    request_body(content = ImportForm, content_type = "multipart/form-data"),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "What was created, skipped and why rows failed", body = ImportReport, example = json!({"created": 2, "skipped": 1, "failed": 1, "errors": [{"row": 4, "message": "destination_url: must be an absolute http:// or https:// URL"}]})),
        (status = 400, description = "Not a CSV form, or unknown columns", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A row targets a domain outside the key's scope", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "File larger than import.max_bytes", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn import(
    req: HttpRequest,
    caller: Caller,
    st: web::Data<AppState>,
    q: web::Query<DomainQuery>,
    form: Multipart,
) -> Result<HttpResponse, ApiError> {
    let max = st.config.current().import.max_bytes;
    let data = read_file(&req, form, max).await?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(data.as_slice());
    let headers = reader
        .headers()
        .map_err(|e| ApiError::invalid("file", format!("is not a CSV file: {e}")))?
        .clone();
    let mut columns = [None; 7];
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase();
        match COLUMNS.iter().position(|c| *c == h) {
            Some(c) => columns[c] = Some(i),
            None => {
                return Err(ApiError::invalid(
                    "file",
                    format!(
                        "has the unknown column “{h}”; the columns are {}",
                        COLUMNS.join(", ")
                    ),
                ))
            }
        }
    }
    if columns[2].is_none() {
        return Err(ApiError::invalid(
            "file",
            "has no destination_url column in its header",
        ));
    }
    let default_domain = q.domain.as_deref().filter(|d| !d.is_empty());
    if let Some(d) = default_domain {
        let host = Hostname::parse(d).map_err(|e| e.at("domain"))?;
        let dom = st
            .store
            .catalog
            .domain_by_host(host.as_str())
            .ok_or(ApiError::NotFound("domain"))?;
        caller.may_write_to(dom.id)?;
    }

    let mut errors = Vec::new();
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let parsed = record
            .map_err(|e| format!("file: is not valid CSV on this line: {e}"))
            .and_then(|r| row_body(&r, &columns, default_domain));
        match parsed.map(|body| new_link(&caller, &st, body, ExpiryRule::AnyTime)) {
            Ok(Ok(new)) => rows.push((line, new)),
            // Out of scope: the whole import is refused, nothing is written.
            Ok(Err(e @ ApiError::Forbidden(_))) => return Err(e),
            Ok(Err(e)) => errors.push(RowError {
                row: line,
                message: e.detail(),
            }),
            Err(message) => errors.push(RowError { row: line, message }),
        }
    }
    let (lines, news): (Vec<usize>, Vec<_>) = rows.into_iter().unzip();
    let st2 = st.clone();
    let results = blocking(move || Ok(st2.store.create_links(news)?)).await?;
    let (mut created, mut skipped) = (0, 0);
    for (line, result) in lines.into_iter().zip(results) {
        match result {
            Ok(_) => created += 1,
            Err(StoreError::Conflict(_)) => skipped += 1,
            Err(e) => errors.push(RowError {
                row: line,
                message: e.to_string(),
            }),
        }
    }
    errors.sort_by_key(|e| e.row);
    let failed = errors.len();
    Ok(HttpResponse::Ok().json(ImportReport {
        created,
        skipped,
        failed,
        errors,
    }))
}

/// The name an export is saved under: `links-<domain or all>-<YYYY-MM-DD>.csv` (UTC date).
pub fn export_file_name(domain: Option<&str>, today: Timestamp) -> String {
    let date = today.rfc3339();
    format!(
        "links-{}-{}.csv",
        domain.unwrap_or("all"),
        date.get(..10).unwrap_or(&date)
    )
}

#[utoipa::path(get, path = "/api/v1/links/export", tag = "Import & Export",
    summary = "Export links as CSV",
    description = "Every link in the caller's scope (or of one domain), oldest first, in the import's columns. Sent as an attachment named `links-<domain or all>-<YYYY-MM-DD>.csv`.",
    params(DomainQuery),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "CSV with a header row", content_type = "text/csv", body = String,
            example = "domain,slug,destination_url,title,tags,redirect_code,expires_at\ngo.example.com,docs,https://example.com/documentation,Documentation,docs;team,302,\n"),
        (status = 404, description = "Unknown domain", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn export(
    caller: Caller,
    st: web::Data<AppState>,
    q: web::Query<DomainQuery>,
) -> Result<HttpResponse, ApiError> {
    let domain = match q.domain.as_deref().filter(|d| !d.is_empty()) {
        None => None,
        Some(raw) => {
            let host = Hostname::parse(raw).map_err(|e| e.at("domain"))?;
            let d = st
                .store
                .catalog
                .domain_by_host(host.as_str())
                .ok_or(ApiError::NotFound("domain"))?;
            caller.may_read(d.id, "domain")?;
            Some(d)
        }
    };
    let file_name = export_file_name(domain.as_ref().map(|d| d.hostname.as_str()), now());
    let links = st
        .store
        .catalog
        .all_links(domain.map(|d| d.id), caller.scope());
    let mut w = csv::Writer::from_writer(Vec::new());
    let write_err = |e: csv::Error| ApiError::internal(format!("writing CSV: {e}"));
    w.write_record(COLUMNS).map_err(write_err)?;
    for e in links {
        let r = &e.rec;
        let host = st.store.catalog.hostname(r.domain_id).unwrap_or_default();
        w.write_record([
            host.as_str(),
            r.slug.as_str(),
            r.destination_url.as_str(),
            r.title.as_ref().map_or("", |t| t.as_str()),
            &r.tags.as_slice().join(";"),
            &r.redirect_code.get().to_string(),
            &r.expires_at.map(Timestamp::rfc3339).unwrap_or_default(),
        ])
        .map_err(write_err)?;
    }
    let body = w
        .into_inner()
        .map_err(|e| ApiError::internal(format!("writing CSV: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file_name}\""),
        ))
        .body(body))
}
