//! CSV import and export of links. Columns: domain, slug, destination_url, title, tags,
//! redirect_code, expires_at (tags separated by `;`). Export then import into an empty
//! instance gives the same links.
//!
//! Memory is bounded by design, not by the file: at most `import.max_concurrent` imports run
//! at once (the next waits `import.queue_wait`, then gets 429); an upload is spooled to a
//! private temporary file, its rows are read one at a time with every cell bounded
//! (`MAX_CELL_BYTES`; a longer cell is a row error, never held whole) and committed in
//! chunks, and the report keeps only the first `MAX_ERRORS` row errors. An export is
//! streamed page by page.
//!
//! Cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or
//! CR) are exported with a leading `'` (OWASP CSV injection), and import strips exactly that
//! guard again, so export → import still round-trips.

use std::io::{BufReader, Write};

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::csv_rows::{BoundedRows, Record};
use super::links::{parse_fields, CreateLink, ExpiryRule};
use crate::audit::{Action, Entry};
use crate::auth::Caller;
use crate::domain::{now, DestinationUrl, Hostname, Timestamp};
use crate::error::{blocking, ApiError, Problem};
use crate::state::AppState;
use crate::store::records::{DomainId, LinkId};
use crate::store::{DomainScope, LinkFilter, NewLink, StoreError};

pub const COLUMNS: [&str; 7] = [
    "domain",
    "slug",
    "destination_url",
    "title",
    "tags",
    "redirect_code",
    "expires_at",
];

/// Row errors listed in an import report; the rest are only counted.
pub const MAX_ERRORS: usize = 100;
/// The longest cell an import reads: twice the longest value any column takes (a destination
/// of 4,096 characters, which is at most 4,096 bytes once normalised). A longer cell makes its
/// row fail and is never held whole.
pub const MAX_CELL_BYTES: usize = 2 * DestinationUrl::MAX_LEN;
/// Cells read from a header row; a header with more is refused.
const MAX_HEADER_CELLS: usize = 64;
/// Rows committed per write transaction during an import.
const CHUNK_ROWS: usize = 2_000;
/// Links per page of a streamed export.
const EXPORT_PAGE: usize = 1_000;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource!("/links/import").route(web::post().to(import)))
        .service(super::resource!("/links/export").route(web::get().to(export)));
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DomainQuery {
    /// Import: the domain for rows without a `domain` column value. Export: only this domain.
    #[param(example = "go.example.com")]
    pub domain: Option<String>,
}

/// What an export holds: the links the Links page shows for the same search and filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// Only links of this host name.
    #[param(example = "go.example.com")]
    pub domain: Option<String>,
    /// Only links whose slug, destination or title contains this, case-insensitively (as in
    /// `GET /api/v1/links`).
    #[param(example = "docs")]
    pub search: Option<String>,
    /// Only links with this tag (case-insensitive).
    #[param(example = "team")]
    pub tag: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RowError {
    /// The spreadsheet row of the failed record: the number Excel or LibreOffice shows beside
    /// it. The header is row 1, so the first record after it is row 2; a record is one row
    /// however many line breaks its quoted cells hold; a blank line counts as a row. The same
    /// for CRLF, LF and CR line ends.
    #[schema(example = 3)]
    pub row: u64,
    #[schema(example = "destination_url: must be an absolute http:// or https:// URL")]
    pub message: String,
}

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ImportReport {
    #[schema(example = 42)]
    pub created: u64,
    /// Rows whose slug already exists on their domain.
    #[schema(example = 1)]
    pub skipped: u64,
    /// Rows that could not be used; the first 100 are listed in `errors`.
    #[schema(example = 1)]
    pub failed: u64,
    /// The first 100 failed rows, in file order.
    pub errors: Vec<RowError>,
    /// Failed rows beyond those listed in `errors`.
    #[schema(example = 0)]
    pub errors_truncated: u64,
}

impl ImportReport {
    fn fail(&mut self, row: u64, message: String) {
        self.failed += 1;
        // Rows come in file order but store failures are known only when their chunk
        // commits: keep the list sorted and at most MAX_ERRORS long.
        let at = self.errors.partition_point(|e| e.row < row);
        if at < MAX_ERRORS {
            self.errors.insert(at, RowError { row, message });
        }
        if self.errors.len() > MAX_ERRORS {
            self.errors.truncate(MAX_ERRORS);
        }
        self.errors_truncated = self.failed - self.errors.len() as u64;
    }
}

/// The multipart form of an import, for the documentation.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ImportForm {
    /// CSV file with a header row.
    #[schema(format = Binary, content_media_type = "text/csv")]
    file: String,
}

/// Write the `file` field of the form to a temporary file in the data directory, refusing
/// anything over `max` bytes before a single row is read.
async fn spool(
    req: &HttpRequest,
    mut form: Multipart,
    max: u64,
    dir: std::path::PathBuf,
) -> Result<tempfile::NamedTempFile, ApiError> {
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
    let io = |e: std::io::Error| ApiError::internal(format!("spooling an import: {e}"));
    while let Some(field) = form.next().await {
        let mut field = field.map_err(bad)?;
        if field.name() != Some("file") {
            while let Some(chunk) = field.next().await {
                chunk.map_err(bad)?;
            }
            continue;
        }
        let mut file = tempfile::Builder::new()
            .prefix(".import-")
            .tempfile_in(&dir)
            .map_err(io)?;
        let mut written = 0u64;
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(bad)?;
            written += chunk.len() as u64;
            if written > max {
                return Err(too_large());
            }
            // Chunks land in the page cache; a large file is a few hundred small writes.
            file.write_all(&chunk).map_err(io)?;
        }
        return Ok(file);
    }
    Err(ApiError::invalid(
        "file",
        "is missing: the multipart form has no field “file”",
    ))
}

/// The answer for a domain a caller may not add links to, whether it does not exist or is
/// outside the caller's scope: the same words, so a key cannot probe which hostnames exist.
fn unusable_domain(host: &str, scope: &DomainScope) -> String {
    if scope.is_all() {
        format!("domain: is unknown: there is no domain {host}")
    } else {
        format!("domain: is unknown: there is no domain {host} within this API key's scope")
    }
}

/// A host name → a domain the caller may add links to. Scope is judged here, before any other
/// check of the row.
fn writable(st: &AppState, scope: &DomainScope, raw: &str) -> Result<DomainId, String> {
    let host = Hostname::parse(raw).map_err(|e| e.at("domain").to_string())?;
    st.store
        .catalog
        .domain_by_host(host.as_str())
        .map(|d| d.id)
        .filter(|id| scope.allows(*id))
        .ok_or_else(|| unusable_domain(host.as_str(), scope))
}

/// The column indexes of the file's header, by name.
fn columns(header: &Record) -> Result<[Option<usize>; 7], ApiError> {
    if header.count() > MAX_HEADER_CELLS {
        return Err(ApiError::invalid(
            "file",
            format!("has more than {MAX_HEADER_CELLS} cells in its header row"),
        ));
    }
    if header.too_long().is_some() {
        return Err(ApiError::invalid(
            "file",
            format!("has a header cell longer than {MAX_CELL_BYTES} bytes"),
        ));
    }
    let mut columns = [None; 7];
    for (i, h) in header.cells().enumerate() {
        let h = h
            .map_err(|e| ApiError::invalid("file", format!("is not a CSV file: {e}")))?
            .trim_start_matches('\u{feff}')
            .to_ascii_lowercase();
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
    Ok(columns)
}

/// One CSV row as a new link: its domain first (scope before anything else), then the rest.
fn row_link(
    st: &AppState,
    scope: &DomainScope,
    record: &Record,
    columns: &[Option<usize>; 7],
    default_domain: Option<DomainId>,
) -> Result<NewLink, String> {
    if let Some(cell) = record.too_long() {
        let name = columns
            .iter()
            .position(|c| *c == Some(cell))
            .map_or("file", |c| COLUMNS[c]);
        return Err(format!(
            "{name}: is longer than {MAX_CELL_BYTES} bytes, more than any value of it can be"
        ));
    }
    if let Some(Err(e)) = record.cells().find(Result::is_err) {
        return Err(format!("file: is not valid CSV on this line: {e}"));
    }
    let get = |i: usize| {
        columns[i]
            .and_then(|c| record.get(c))
            .and_then(Result::ok)
            .filter(|v| !v.is_empty())
            .map(|v| unguard(v).to_owned())
    };
    let domain_id = match (get(0), default_domain) {
        (Some(raw), _) => writable(st, scope, &raw)?,
        (None, Some(id)) => id,
        (None, None) => {
            return Err(
                "domain: is missing; fill in the domain column or choose a default domain".into(),
            )
        }
    };
    let redirect_code = get(5)
        .map(|c| {
            c.parse::<u16>()
                .map_err(|_| "redirect_code: must be a whole number".to_owned())
        })
        .transpose()?;
    let tags = get(4).map(|t| {
        t.split(';')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    });
    let body = CreateLink {
        domain: String::new(),
        destination_url: get(2).ok_or("destination_url: is missing")?,
        slug: get(1),
        title: get(3),
        tags,
        redirect_code,
        expires_at: get(6),
    };
    let fields = parse_fields(body, ExpiryRule::AnyTime).map_err(|errs| {
        errs.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    Ok(fields.on(domain_id))
}

#[utoipa::path(post, path = "/api/v1/links/import", tag = "Import & Export",
    summary = "Import links from CSV",
    description = "multipart/form-data with field `file`: a CSV with a header row and the columns `domain, slug, destination_url, title, tags, redirect_code, expires_at` (only `destination_url` is required; `domain` may come from `?domain=`; tags separated by `;`). Rows are validated one by one: a bad row never stops the good ones, and no row is half-written. Rows whose slug already exists are skipped. For an API key scoped to domains, each row's domain is judged first: a domain outside the scope gets the same answer as one that does not exist. The report lists the first 100 failed rows; `errors_truncated` counts the rest. Each error's `row` is the spreadsheet row, as Excel or LibreOffice numbers it: the header is row 1, a record is one row even when a quoted cell spans lines, and a blank line counts as a row.",
    params(DomainQuery),
    request_body(content = ImportForm, content_type = "multipart/form-data"),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "What was created, skipped and why rows failed", body = ImportReport, example = json!({"created": 2, "skipped": 1, "failed": 1, "errors": [{"row": 4, "message": "destination_url: must be an absolute http:// or https:// URL"}], "errors_truncated": 0})),
        (status = 400, description = "Not a CSV form, or unknown columns", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`?domain=` names no domain the caller may add links to", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "File larger than import.max_bytes", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "As many imports as import.max_concurrent allows are running and none finished within import.queue_wait; or too many failed attempts from this address, or the API key's rate limit is used up. See Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn import(
    req: HttpRequest,
    caller: Caller,
    st: web::Data<AppState>,
    q: web::Query<DomainQuery>,
    form: Multipart,
) -> Result<HttpResponse, ApiError> {
    let scope = caller.scope().clone();
    let by = caller.by();
    let default_domain = match q.domain.as_deref().filter(|d| !d.is_empty()) {
        None => None,
        Some(raw) => {
            let host = Hostname::parse(raw).map_err(|e| e.at("domain"))?;
            Some(writable(&st, &scope, host.as_str()).map_err(|_| ApiError::NotFound("domain"))?)
        }
    };
    let (max, dir, wait) = {
        let config = st.config.current();
        (
            config.import.max_bytes,
            config.storage.data_dir.clone(),
            config.import.queue_wait.0,
        )
    };
    // The slot is taken before the upload is read and moves into the blocking work, so it is
    // held until the rows are done even when the client goes away.
    let slot = st.imports.take(wait).await.map_err(|busy| ApiError::Busy {
        what: "as many imports are running as import.max_concurrent allows",
        retry_after_secs: busy.0,
    })?;
    let file = spool(&req, form, max, dir).await?;
    let st2 = st.clone();
    let report = blocking(move || {
        let _slot = slot;
        import_file(&st2, &scope, file, default_domain)
    })
    .await?;
    // Rows commit in chunks, each its own transaction: the entry sums them up afterwards.
    st.audit(
        Entry::new(&by, Action::LinksImported)
            .target(q.domain.clone().unwrap_or_default())
            .detail(format!(
                "{} created, {} skipped, {} failed",
                report.created, report.skipped, report.failed
            )),
    );
    Ok(HttpResponse::Ok().json(report))
}

/// Read the spooled file row by row, committing every `CHUNK_ROWS` valid rows.
fn import_file(
    st: &AppState,
    scope: &DomainScope,
    file: tempfile::NamedTempFile,
    default_domain: Option<DomainId>,
) -> Result<ImportReport, ApiError> {
    let io = |e: std::io::Error| ApiError::internal(format!("reading a spooled import: {e}"));
    let mut rows = BoundedRows::new(BufReader::new(file.reopen().map_err(io)?), MAX_CELL_BYTES);
    let mut record = Record::default();
    rows.read(&mut record, MAX_HEADER_CELLS).map_err(io)?;
    let columns = columns(&record)?;
    // Cells past the last known column are read through and dropped.
    let keep = columns.iter().flatten().max().map_or(0, |last| last + 1);
    let mut report = ImportReport::default();
    let mut chunk: Vec<(u64, NewLink)> = Vec::with_capacity(CHUNK_ROWS);
    while rows.read(&mut record, keep).map_err(io)? {
        match row_link(st, scope, &record, &columns, default_domain) {
            Ok(new) => chunk.push((record.row(), new)),
            Err(message) => report.fail(record.row(), message),
        }
        if chunk.len() == CHUNK_ROWS {
            commit(st, &mut chunk, &mut report)?;
        }
    }
    commit(st, &mut chunk, &mut report)?;
    Ok(report)
}

fn commit(
    st: &AppState,
    chunk: &mut Vec<(u64, NewLink)>,
    report: &mut ImportReport,
) -> Result<(), ApiError> {
    if chunk.is_empty() {
        return Ok(());
    }
    let (lines, rows): (Vec<u64>, Vec<NewLink>) = chunk.drain(..).unzip();
    let results = st.store.create_links(rows)?;
    for (line, result) in lines.into_iter().zip(results) {
        match result {
            Ok(_) => report.created += 1,
            Err(StoreError::Conflict(_)) => report.skipped += 1,
            Err(e) => report.fail(line, e.to_string()),
        }
    }
    Ok(())
}

/// An export's activity-log entry, recorded with the number of links sent when the stream
/// ends or the client goes away.
struct Exported {
    st: web::Data<AppState>,
    entry: Option<Entry>,
    links: usize,
}

impl Drop for Exported {
    fn drop(&mut self) {
        if let Some(entry) = self.entry.take() {
            let noun = if self.links == 1 { "link" } else { "links" };
            self.st
                .audit(entry.detail(format!("{} {noun}", self.links)));
        }
    }
}

#[utoipa::path(get, path = "/api/v1/links/export", tag = "Import & Export",
    summary = "Export links as CSV",
    description = "Every link in the caller's scope, oldest first, in the import's columns, streamed; `domain`, `search` and `tag` narrow it to what `GET /api/v1/links` lists for the same values. Cells a spreadsheet would run as a formula start with `'`, which import strips again. Sent as an attachment named `links-<domain or all>-<YYYY-MM-DD>.csv` (UTC date).",
    params(ExportQuery),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "CSV with a header row", content_type = "text/csv", body = String,
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"links-<domain or all>-<date>.csv\"`: save the body as a file")),
            example = "domain,slug,destination_url,title,tags,redirect_code,expires_at\ngo.example.com,docs,https://example.com/documentation,Documentation,docs;team,302,\n"),
        (status = 400, description = "Invalid domain", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown domain (or outside the key's scope)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn export(
    caller: Caller,
    st: web::Data<AppState>,
    q: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let ExportQuery {
        domain,
        search,
        tag,
    } = q.into_inner();
    // As the list reads them: empty means no filter.
    let search = search.filter(|s| !s.is_empty());
    let tag = tag.filter(|t| !t.is_empty());
    let domain = match domain.as_deref().filter(|d| !d.is_empty()) {
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
    let filename = format!(
        "links-{}-{}.csv",
        domain.as_ref().map_or("all", |d| d.hostname.as_str()),
        now().rfc3339().get(..10).unwrap_or("today")
    );
    let scope = caller.scope().clone();
    let target = domain
        .as_ref()
        .map_or(String::new(), |d| d.hostname.as_str().to_owned());
    let domain_id = domain.map(|d| d.id);
    let header_row = csv_line(COLUMNS.iter().map(|c| (*c).to_owned()));
    let sent = Exported {
        st: st.clone(),
        entry: Some(Entry::new(&caller.by(), Action::LinksExported).target(target)),
        links: 0,
    };
    // `None` once the last page has been sent; the cursor is the last link id sent.
    // The count travels with the cursor: dropping it (the end, or a client gone) records it.
    let pages = futures_util::stream::unfold((Some(None::<LinkId>), sent), move |state| {
        let st = st.clone();
        let scope = scope.clone();
        let (search, tag) = (search.clone(), tag.clone());
        async move {
            let (cursor, mut sent) = state;
            let after = cursor?;
            let page = st.store.catalog.links_after(
                after,
                EXPORT_PAGE,
                &LinkFilter {
                    search: search.as_deref(),
                    domain: domain_id,
                    tag: tag.as_deref(),
                },
                &scope,
            );
            let next = (page.len() == EXPORT_PAGE).then(|| page.last().map(|e| e.rec.id));
            if page.is_empty() {
                return None;
            }
            sent.links += page.len();
            let mut out = Vec::with_capacity(page.len() * 128);
            for e in &page {
                let r = &e.rec;
                let host = st.store.catalog.hostname(r.domain_id).unwrap_or_default();
                out.extend_from_slice(&csv_line(
                    [
                        host,
                        r.slug.as_str().to_owned(),
                        r.destination_url.as_str().to_owned(),
                        r.title
                            .as_ref()
                            .map_or(String::new(), |t| t.as_str().to_owned()),
                        r.tags.as_slice().join(";"),
                        r.redirect_code.get().to_string(),
                        r.expires_at.map(Timestamp::rfc3339).unwrap_or_default(),
                    ]
                    .into_iter()
                    .map(|c| guard(&c)),
                ));
            }
            Some((
                Ok::<_, actix_web::Error>(web::Bytes::from(out)),
                (next.flatten().map(Some), sent),
            ))
        }
    });
    let body = futures_util::stream::once(async move {
        Ok::<_, actix_web::Error>(web::Bytes::from(header_row))
    })
    .chain(pages);
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .streaming(body))
}

/// One CSV record (quoted as needed), with its line end.
fn csv_line(cells: impl IntoIterator<Item = String>) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::with_capacity(128));
    let cells: Vec<String> = cells.into_iter().collect();
    // Writing to a Vec cannot fail.
    let _ = w.write_record(&cells);
    w.into_inner().unwrap_or_default()
}

/// Whether a spreadsheet would read a cell as a formula: it starts with `=`, `+`, `-`, `@`,
/// tab or CR, possibly after guard quotes already there.
fn looks_like_formula(cell: &str) -> bool {
    matches!(
        cell.trim_start_matches('\'').chars().next(),
        Some('=' | '+' | '-' | '@' | '\t' | '\r')
    )
}

/// The cell as exported: a leading `'` when a spreadsheet would run it.
fn guard(cell: &str) -> String {
    if looks_like_formula(cell) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// The cell as imported: exactly the guard `guard` adds is taken off.
fn unguard(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if looks_like_formula(rest) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_guarded_and_the_guard_round_trips() {
        for (cell, exported) in [
            ("=SUM(A1)", "'=SUM(A1)"),
            ("+1", "'+1"),
            ("-abc", "'-abc"),
            ("@x", "'@x"),
            ("\tx", "'\tx"),
            ("'=already", "''=already"),
            ("plain", "plain"),
            ("'quoted", "'quoted"),
            ("a=b", "a=b"),
        ] {
            assert_eq!(guard(cell), exported, "{cell:?}");
            assert_eq!(unguard(exported), cell, "{exported:?}");
        }
    }

    /// The rows an import of `csv` reports as failed. Without a domain column or a default
    /// domain every record fails ("domain: is missing"), so each one is listed by its row.
    fn failed_rows(csv: &str) -> Vec<u64> {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path()).unwrap();
        let writer = crate::store::writer::Writer::spawn(store.clone()).unwrap();
        let mut config = crate::config::Config::embedded();
        config.storage.data_dir = dir.path().to_owned();
        let st = AppState::new(config, None, store, writer.sink()).unwrap();
        let mut file = tempfile::NamedTempFile::new_in(dir.path()).unwrap();
        file.write_all(csv.as_bytes()).unwrap();
        let report = import_file(&st, &DomainScope::All, file, None).unwrap();
        writer.shutdown();
        assert_eq!(report.created, 0, "{report:?}");
        assert!(report
            .errors
            .iter()
            .all(|e| e.message.starts_with("domain: is missing")));
        report.errors.iter().map(|e| e.row).collect()
    }

    #[test]
    fn a_failed_row_is_named_by_its_spreadsheet_row() {
        for (csv, rows) in [
            ("destination_url\nhttps://e.com/2\nhttps://e.com/3\n", vec![2, 3]),
            ("destination_url\r\nhttps://e.com/2\r\nhttps://e.com/3\r\n", vec![2, 3]),
            ("destination_url\rhttps://e.com/2\rhttps://e.com/3\r", vec![2, 3]),
            // One row, no line end after it.
            ("destination_url\r\nhttps://e.com/2", vec![2]),
            ("destination_url\nhttps://e.com/2", vec![2]),
            ("\u{feff}destination_url\r\nhttps://e.com/2\r\n", vec![2]),
            // Blank lines are rows, as a spreadsheet shows them.
            ("destination_url\n\nhttps://e.com/3\n\n\nhttps://e.com/6\n", vec![3, 6]),
            ("destination_url\r\n\r\nhttps://e.com/3\r\n\r\n\r\nhttps://e.com/6\r\n", vec![3, 6]),
            // A record whose cells span lines is one row, and so is each record after it.
            (
                "title,destination_url\n\"a\nb\",https://e.com/2\n\"\r\n\r\n\",https://e.com/3\nc,https://e.com/4\n",
                vec![2, 3, 4],
            ),
        ] {
            assert_eq!(failed_rows(csv), rows, "{csv:?}");
        }
    }

    #[test]
    fn the_report_keeps_the_first_errors_in_file_order() {
        let mut r = ImportReport::default();
        for row in (2..300).rev() {
            r.fail(row, format!("row {row}"));
        }
        assert_eq!(r.failed, 298);
        assert_eq!(r.errors.len(), MAX_ERRORS);
        assert_eq!(r.errors[0].row, 2);
        assert_eq!(r.errors[99].row, 101);
        assert_eq!(r.errors_truncated, 198);
    }
}
