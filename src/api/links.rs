//! Links: create, read, update, delete and search, within the caller's domain scope.

use actix_web::dev::{Payload, ServiceRequest};
use actix_web::{web, HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::input::{double_option, future_time, Errors};
use super::{Json, ListOf, PageQuery};
use crate::auth::Caller;
use crate::domain::{
    now, parse_rfc3339, DestinationUrl, DomainError, Hostname, RedirectCode, Slug, Tags, Timestamp,
    Title,
};
use crate::error::{blocking, ApiError, Problem};
use crate::state::AppState;
use crate::store::generation::Stamp;
use crate::store::records::{DomainId, LinkId};
use crate::store::{LinkEntry, LinkFilter, LinkPatch, LinkRef, NewLink};
use crate::telemetry;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        super::resource!("/links")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        super::resource!("/links/{id}")
            .route(web::get().to(show))
            .route(web::put().to(update))
            .route(web::delete().to(delete)),
    );
}

// It borrows everything (from the catalog, under its read lock, or from a `LinkEntry`), so
// answering `GET /links/{id}` copies no field before writing JSON.
/// A short link: where it lives, where it sends visitors, and how often it was followed.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkView<'a> {
    #[schema(example = 42)]
    pub id: LinkId,
    /// The domain's host name.
    #[schema(example = "go.example.com")]
    pub domain: &'a str,
    #[schema(example = "docs")]
    pub slug: &'a str,
    #[schema(value_type = String, example = "https://go.example.com/docs")]
    pub short_url: ShortUrl<'a>,
    #[schema(example = "https://example.com/documentation")]
    pub destination_url: &'a str,
    #[schema(example = "Documentation")]
    pub title: Option<&'a str>,
    #[schema(value_type = Vec<String>, example = json!(["docs", "team"]))]
    pub tags: TagsView<'a>,
    #[schema(example = 302)]
    pub redirect_code: u16,
    /// `null`: never expires.
    #[schema(value_type = Option<String>, example = json!(null), format = DateTime)]
    pub expires_at: Option<Timestamp>,
    #[schema(example = 7)]
    pub clicks: u64,
    #[schema(value_type = String, example = "2026-11-26T10:00:00Z", format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, example = "2026-11-26T10:00:00Z", format = DateTime)]
    pub updated_at: Timestamp,
}

/// `http(s)://host/slug`, written straight into the JSON.
#[derive(Debug)]
pub struct ShortUrl<'a> {
    https: bool,
    host: &'a str,
    slug: &'a str,
}

impl std::fmt::Display for ShortUrl<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}/{}", self.host, self.slug)
    }
}

impl Serialize for ShortUrl<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A link's tags, as stored (joined by `;`) or as a record holds them.
#[derive(Debug)]
pub enum TagsView<'a> {
    Joined(&'a str),
    List(&'a [String]),
}

impl Serialize for TagsView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Joined(j) => s.collect_seq(j.split(';').filter(|t| !t.is_empty())),
            Self::List(l) => s.collect_seq(l.iter()),
        }
    }
}

impl<'a> LinkView<'a> {
    /// A link lent by the catalog.
    pub fn of(link: LinkRef<'a>, host: &'a str, https: bool) -> Self {
        Self {
            id: link.id(),
            domain: host,
            slug: link.slug(),
            short_url: ShortUrl {
                https,
                host,
                slug: link.slug(),
            },
            destination_url: link.destination(),
            title: link.title(),
            tags: TagsView::Joined(link.tags_joined()),
            redirect_code: link.redirect_code(),
            expires_at: link.expires_at(),
            clicks: link.clicks(),
            created_at: link.created_at(),
            updated_at: link.updated_at(),
        }
    }

    /// A link copied out for a page.
    pub fn of_entry(e: &'a LinkEntry, host: &'a str, https: bool) -> Self {
        let r = &e.rec;
        Self {
            id: r.id,
            domain: host,
            slug: r.slug.as_str(),
            short_url: ShortUrl {
                https,
                host,
                slug: r.slug.as_str(),
            },
            destination_url: r.destination_url.as_str(),
            title: r.title.as_ref().map(Title::as_str),
            tags: TagsView::List(r.tags.as_slice()),
            redirect_code: r.redirect_code.get(),
            expires_at: r.expires_at,
            clicks: e.clicks(),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl LinkView<'_> {
    /// The same bytes as `serde_json::to_writer(out, self)`, written directly: strings that
    /// need no escaping (nearly all: slugs, hosts, tags and times have safe alphabets, and
    /// destinations are stored WHATWG-encoded) are copied whole. `GET /links/{id}` is the
    /// API's busiest answer; a test holds this to serde's output.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        self.write_before_clicks(out);
        out.extend_from_slice(itoa::Buffer::new().format(self.clicks).as_bytes());
        self.write_after_clicks(out);
    }

    /// The JSON up to the click count's digits: the count is the one field a redirect
    /// changes, so `link_json` keeps the rest as written.
    fn write_before_clicks(&self, out: &mut Vec<u8>) {
        let mut n = itoa::Buffer::new();
        out.extend_from_slice(b"{\"id\":");
        out.extend_from_slice(n.format(self.id).as_bytes());
        out.extend_from_slice(b",\"domain\":");
        json_str(out, self.domain);
        out.extend_from_slice(b",\"slug\":");
        json_str(out, self.slug);
        out.extend_from_slice(b",\"short_url\":\"");
        out.extend_from_slice(if self.short_url.https {
            b"https://"
        } else {
            b"http://"
        });
        json_str_inner(out, self.short_url.host);
        out.push(b'/');
        json_str_inner(out, self.short_url.slug);
        out.extend_from_slice(b"\",\"destination_url\":");
        json_str(out, self.destination_url);
        out.extend_from_slice(b",\"title\":");
        match self.title {
            Some(t) => json_str(out, t),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"tags\":[");
        let mut first = true;
        let mut tag = |t: &str| {
            if !first {
                out.push(b',');
            }
            first = false;
            json_str(out, t);
        };
        match &self.tags {
            TagsView::Joined(j) => j.split(';').filter(|t| !t.is_empty()).for_each(&mut tag),
            TagsView::List(l) => l.iter().for_each(|t| tag(t)),
        }
        out.extend_from_slice(b"],\"redirect_code\":");
        out.extend_from_slice(n.format(self.redirect_code).as_bytes());
        out.extend_from_slice(b",\"expires_at\":");
        match self.expires_at {
            Some(t) => json_time(out, t),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"clicks\":");
    }

    /// What follows the click count.
    fn write_after_clicks(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b",\"created_at\":");
        json_time(out, self.created_at);
        out.extend_from_slice(b",\"updated_at\":");
        json_time(out, self.updated_at);
        out.push(b'}');
    }
}

/// Whether serde_json would escape a byte of `s`. No early exit: without one the loop is
/// vectorised, and almost no string has such a byte (a byte at a time, this scan was most
/// of the cost of writing a link's JSON).
fn needs_escape(s: &str) -> bool {
    s.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

/// A JSON string, quoted.
fn json_str(out: &mut Vec<u8>, s: &str) {
    if needs_escape(s) {
        // Rare: serde's own escaping, byte for byte.
        let _ = serde_json::to_writer(&mut *out, s);
    } else {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

/// The inside of a JSON string (escaped, no quotes).
fn json_str_inner(out: &mut Vec<u8>, s: &str) {
    if needs_escape(s) {
        let mut quoted = Vec::new();
        let _ = serde_json::to_writer(&mut quoted, s);
        out.extend_from_slice(
            quoted
                .get(1..quoted.len().saturating_sub(1))
                .unwrap_or_default(),
        );
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

fn json_time(out: &mut Vec<u8>, t: Timestamp) {
    // Digits, `-`, `:`, `T` and `Z` need no escaping: copied straight, not through serde's
    // escaping writer (three times an answer).
    match t.rfc3339_bytes() {
        Some(b) => {
            let mut quoted = [b'"'; 22];
            quoted[1..21].copy_from_slice(&b);
            out.extend_from_slice(&quoted);
        }
        None => {
            let _ = serde_json::to_writer(&mut *out, &t);
        }
    }
}

/// Answer with link `id` as JSON, written under the catalog's read lock from the borrowed
/// fields: the API's hot path. 404 when it is gone or out of the caller's scope.
fn link_answer(
    caller: &Caller,
    st: &AppState,
    id: LinkId,
    mut answer: actix_web::HttpResponseBuilder,
) -> Result<HttpResponse, ApiError> {
    let https = st.config.current().server.is_https();
    let body = st
        .store
        .catalog
        .with_link(id, |link, host, stamp| {
            caller.may_read(link.domain_id(), "link")?;
            Ok::<_, ApiError>(link_json(link, host, https, stamp))
        })
        .ok_or(ApiError::NotFound("link"))??;
    Ok(answer.content_type("application/json").body(body))
}

/// Slots in a worker's cache of link JSON (`link_json`); a link's slot is its id modulo this.
/// A few hundred bytes each: a worker holds at most this many links' JSON.
const WRITTEN_SLOTS: usize = 64;

/// A link's JSON as this worker last wrote it, but for the click count: `json` holds the
/// bytes before the count (up to `clicks_at`) and after it.
struct Written {
    id: LinkId,
    stamp: Stamp,
    https: bool,
    json: Vec<u8>,
    clicks_at: usize,
}

thread_local! {
    static WRITTEN: std::cell::RefCell<Vec<Option<Written>>> = const {
        std::cell::RefCell::new(Vec::new())
    };
}

/// `link`'s JSON. Writing it is most of the keyed read's own work, and a link is read far more
/// often than it changes: the bytes this worker wrote last time are copied while the catalog
/// is at the same `stamp` (any change to a link or domain moves it) and the scheme is the
/// same, with the click count written fresh. A different link in the same slot, or a stale
/// stamp, rewrites the slot in place.
fn link_json(link: LinkRef<'_>, host: &str, https: bool, stamp: Stamp) -> Vec<u8> {
    let id = link.id();
    let mut digits = itoa::Buffer::new();
    let clicks = digits.format(link.clicks()).as_bytes();
    WRITTEN.with(|slots| {
        let mut slots = slots.borrow_mut();
        if slots.is_empty() {
            slots.resize_with(WRITTEN_SLOTS, || None);
        }
        let slot = &mut slots[(id % WRITTEN_SLOTS as u64) as usize];
        let written = match slot {
            Some(w) if w.id == id && w.stamp == stamp && w.https == https => w,
            _ => {
                let w = slot.get_or_insert_with(|| Written {
                    id,
                    stamp,
                    https,
                    json: Vec::with_capacity(512),
                    clicks_at: 0,
                });
                let view = LinkView::of(link, host, https);
                w.json.clear();
                view.write_before_clicks(&mut w.json);
                w.clicks_at = w.json.len();
                view.write_after_clicks(&mut w.json);
                (w.id, w.stamp, w.https) = (id, stamp, https);
                w
            }
        };
        let (before, after) = written.json.split_at(written.clicks_at);
        let mut out = Vec::with_capacity(written.json.len() + clicks.len());
        out.extend_from_slice(before);
        out.extend_from_slice(clicks);
        out.extend_from_slice(after);
        out
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLink {
    /// Host name of a managed domain.
    #[schema(example = "go.example.com")]
    pub domain: String,
    /// Absolute http(s) URL, at most 4096 characters.
    #[schema(example = "https://example.com/documentation", max_length = 4096)]
    pub destination_url: String,
    /// 1–64 of `A-Z a-z 0-9 _ -`; generated (7 characters) when absent.
    #[schema(example = "docs", pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub slug: Option<String>,
    /// At most 200 characters.
    #[schema(example = "Documentation", max_length = 200)]
    pub title: Option<String>,
    #[schema(example = json!(["docs"]))]
    pub tags: Option<Vec<String>>,
    /// 301, 302 (default), 307 or 308.
    #[schema(example = 302, minimum = 301, maximum = 308)]
    pub redirect_code: Option<u16>,
    /// RFC 3339, in the future; `null` or absent: never.
    #[schema(example = "2027-01-31T23:59:00Z", format = DateTime)]
    pub expires_at: Option<String>,
}

/// Any subset of the create fields. `title` and `expires_at` may be `null` to clear them.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLink {
    #[schema(example = "go.example.com")]
    pub domain: Option<String>,
    #[schema(example = "https://example.com/new", max_length = 4096)]
    pub destination_url: Option<String>,
    #[schema(example = "docs-v2", pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub slug: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, example = "New title", max_length = 200)]
    pub title: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    #[schema(example = 301, minimum = 301, maximum = 308)]
    pub redirect_code: Option<u16>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, example = json!(null), format = DateTime)]
    pub expires_at: Option<Option<String>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkQuery {
    /// Items per page, 1 to 100 (default 20).
    #[serde(default, deserialize_with = "super::input::limit_number")]
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    #[serde(default, deserialize_with = "super::input::offset_number")]
    pub offset: Option<i64>,
    /// Case-insensitive match on slug, destination or title.
    pub search: Option<String>,
    /// Only links of this host name.
    pub domain: Option<String>,
    /// Only links with this tag.
    pub tag: Option<String>,
}

/// A host name → a domain the caller may write to (404 when unknown or out of scope, alike).
fn writable_domain(caller: &Caller, st: &AppState, raw: &str) -> Result<DomainId, ApiError> {
    let host = Hostname::parse(raw).map_err(|e| e.at("domain"))?;
    let d = st
        .store
        .catalog
        .domain_by_host(host.as_str())
        .ok_or(ApiError::NotFound("domain"))?;
    caller.may_write_to(d.id)?;
    Ok(d.id)
}

/// Whether a new link's `expires_at` may lie in the past: never through the API, but an
/// import restores links as they were exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryRule {
    Future,
    AnyTime,
}

/// Parse a create body into a `NewLink` for a domain the caller may write to: every field
/// error at once (400), then an unknown or out-of-scope domain (404, the same answer).
pub fn new_link(
    caller: &Caller,
    st: &AppState,
    b: CreateLink,
    rule: ExpiryRule,
) -> Result<NewLink, ApiError> {
    let host = Hostname::parse(&b.domain).map_err(|e| e.at("domain"));
    let fields = parse_fields(b, rule);
    match (host, fields) {
        (Ok(host), Ok(fields)) => Ok(fields.on(writable_domain(caller, st, host.as_str())?)),
        (host, fields) => {
            let mut errs: Vec<DomainError> = host.err().into_iter().collect();
            errs.extend(fields.err().unwrap_or_default());
            Err(errs.into())
        }
    }
}

/// Everything of a new link but its domain, parsed.
pub struct LinkFields(NewLink);

impl LinkFields {
    /// The link, on a domain already resolved (and checked against the caller's scope).
    pub fn on(self, domain_id: DomainId) -> NewLink {
        NewLink {
            domain_id,
            ..self.0
        }
    }
}

/// Parse every field but the domain, reporting all that fail.
pub fn parse_fields(b: CreateLink, rule: ExpiryRule) -> Result<LinkFields, Vec<DomainError>> {
    let mut errs = Errors::default();
    let destination_url = errs.take(DestinationUrl::parse(&b.destination_url));
    let slug = b.slug.map(|s| errs.take(Slug::parse(&s)));
    let title = b.title.map(|t| errs.take(Title::parse(&t)));
    let tags = errs.take(Tags::parse(b.tags.as_deref().unwrap_or_default()));
    let code = errs.take(
        b.redirect_code
            .map_or(Ok(RedirectCode::DEFAULT), RedirectCode::parse),
    );
    let expires_at = b.expires_at.map(|e| {
        errs.take(match rule {
            ExpiryRule::Future => future_time(&e, "expires_at", now()),
            ExpiryRule::AnyTime => parse_rfc3339(&e, "expires_at"),
        })
    });
    let errs = errs.into_inner();
    match destination_url {
        Some(destination_url) if errs.is_empty() => Ok(LinkFields(NewLink {
            domain_id: 0,
            slug: slug.flatten(),
            destination_url,
            title: title.flatten().filter(|t| !t.as_str().is_empty()),
            tags: tags.unwrap_or_default(),
            redirect_code: code.unwrap_or(RedirectCode::DEFAULT),
            expires_at: expires_at.flatten(),
        })),
        _ => Err(errs),
    }
}

/// The domain of link `id`, if the caller may see it (out of scope looks like absent).
pub(super) fn visible(caller: &Caller, st: &AppState, id: LinkId) -> Result<DomainId, ApiError> {
    let domain = st
        .store
        .catalog
        .link_domain(id)
        .ok_or(ApiError::NotFound("link"))?;
    caller.may_read(domain, "link")?;
    Ok(domain)
}

#[utoipa::path(get, path = "/api/v1/links", tag = "Links",
    summary = "List and search links",
    description = "Links newest first. `search` matches slug, destination or title, case-insensitively. A key scoped to domains sees only their links, and `total` counts only those.",
    params(LinkQuery),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "A page of links", body = ListOf<LinkView>),
        (status = 400, description = "Invalid limit or offset", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid credentials", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    caller: Caller,
    st: web::Data<AppState>,
    q: web::Query<LinkQuery>,
) -> Result<HttpResponse, ApiError> {
    let (limit, offset) = PageQuery {
        limit: q.limit,
        offset: q.offset,
    }
    .resolve()?;
    let domain = match q.domain.as_deref().filter(|d| !d.is_empty()) {
        None => None,
        Some(raw) => {
            let host = Hostname::parse(raw).map_err(|e| e.at("domain"))?;
            match st.store.catalog.domain_by_host(host.as_str()) {
                Some(d) => Some(d.id),
                // An unknown domain matches nothing.
                None => {
                    return Ok(HttpResponse::Ok().json(ListOf::<LinkView> {
                        items: vec![],
                        total: 0,
                        limit,
                        offset,
                    }))
                }
            }
        }
    };
    let filter = LinkFilter {
        search: q.search.as_deref(),
        domain,
        tag: q.tag.as_deref().filter(|t| !t.is_empty()),
    };
    let (page, total) = st
        .store
        .catalog
        .links(caller.scope(), &filter, offset, limit);
    let https = st.config.current().server.is_https();
    let hosts: Vec<String> = page
        .iter()
        .map(|e| {
            st.store
                .catalog
                .hostname(e.rec.domain_id)
                .unwrap_or_default()
        })
        .collect();
    let items: Vec<LinkView<'_>> = page
        .iter()
        .zip(&hosts)
        .map(|(e, host)| LinkView::of_entry(e, host, https))
        .collect();
    Ok(HttpResponse::Ok().json(ListOf {
        items,
        total,
        limit,
        offset,
    }))
}

#[utoipa::path(get, path = "/api/v1/links/{id}", tag = "Links",
    summary = "Get a link",
    params(("id" = u64, Path, description = "Link id")),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "The link", body = LinkView),
        (status = 404, description = "No such link (or out of the key's scope)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn show(
    caller: Caller,
    st: web::Data<AppState>,
    id: web::Path<LinkId>,
) -> Result<HttpResponse, ApiError> {
    link_answer(&caller, &st, *id, HttpResponse::Ok())
}

/// The pattern `show` answers, its route label.
const SHOW_ROUTE: &str = "/api/v1/links/{id}";

/// The link a request for the fast path names: `GET /api/v1/links/<digits>` with no body.
fn keyed_link(req: &ServiceRequest) -> Option<LinkId> {
    // The decoder gave no payload: no `Content-Length` past 0, no `Transfer-Encoding`.
    let (req, payload) = req.parts();
    if req.method() != actix_web::http::Method::GET || !matches!(payload, Payload::None) {
        return None;
    }
    let id = req.path().strip_prefix("/api/v1/links/")?;
    // Digits only: what routing would read otherwise (`+7`, `%37`) it reads itself.
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok()
}

/// The keyed read's fast path (`middleware::AheadOfRouting`): `GET /api/v1/links/{id}` with a
/// key that passes every check is answered ahead of routing, the extractors and the request
/// span's future, and leaves exactly what the routed `show` leaves (`middleware::settle`:
/// metrics, usage counts, request log, rate-limit headers, request id). `None` for any other
/// request, and any key that would be refused: routing judges and answers those.
pub fn keyed_read(st: &AppState, req: &ServiceRequest) -> Option<HttpResponse> {
    let id = keyed_link(req)?;
    let req = req.request();
    let started = std::time::Instant::now();
    let (key, ip, now) = crate::auth::clean_key(req, st, SHOW_ROUTE)?;
    let request = crate::middleware::request_id(req);
    Some(telemetry::in_request_now(request, || {
        let (key_use, caller) = crate::auth::admit(key, ip, now);
        let mut res = caller
            .and_then(|k| link_answer(&Caller::Key(k), st, id, HttpResponse::Ok()))
            .unwrap_or_else(|e| e.error_response());
        crate::middleware::settle(
            req,
            request,
            SHOW_ROUTE,
            started.elapsed(),
            Some(key_use),
            &mut res,
        );
        res
    }))
}

#[utoipa::path(post, path = "/api/v1/links", tag = "Links",
    summary = "Create a link",
    description = "Creates a short link on a managed domain. Without `slug`, a 7-character one is generated.",
    request_body(content = CreateLink, example = json!({"domain": "go.example.com", "destination_url": "https://example.com/documentation", "slug": "docs", "tags": ["docs"]})),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 201, description = "Created", body = LinkView),
        (status = 400, description = "Invalid field (named in `errors`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown domain, or (for a key scoped to domains) one outside its scope: the same answer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Slug already taken on that domain", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    caller: Caller,
    st: web::Data<AppState>,
    body: Json<CreateLink>,
) -> Result<HttpResponse, ApiError> {
    let new = new_link(&caller, &st, body.0, ExpiryRule::Future)?;
    let st2 = st.clone();
    let rec = blocking(move || Ok(st2.store.create_link(new)?)).await?;
    link_answer(&caller, &st, rec.id, HttpResponse::Created())
}

#[utoipa::path(put, path = "/api/v1/links/{id}", tag = "Links",
    summary = "Update a link",
    description = "Any subset of the create fields. Changing `domain` moves the link; the slug must be free there.",
    params(("id" = u64, Path, description = "Link id")),
    request_body(content = UpdateLink, example = json!({"destination_url": "https://example.com/new", "title": null})),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 200, description = "Updated", body = LinkView),
        (status = 400, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such link, or a target domain that is unknown or (for a key scoped to domains) outside its scope: the same answer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Slug already taken on that domain", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    caller: Caller,
    st: web::Data<AppState>,
    id: web::Path<LinkId>,
    body: Json<UpdateLink>,
) -> Result<HttpResponse, ApiError> {
    let current = visible(&caller, &st, *id)?;
    let b = body.0;
    let mut errs = Errors::default();
    let patch = LinkPatch {
        domain_id: None,
        slug: b.slug.and_then(|s| errs.take(Slug::parse(&s))),
        destination_url: b
            .destination_url
            .and_then(|u| errs.take(DestinationUrl::parse(&u))),
        title: b.title.map(|t| {
            t.and_then(|t| errs.take(Title::parse(&t)))
                .filter(|t| !t.as_str().is_empty())
        }),
        tags: b.tags.and_then(|t| errs.take(Tags::parse(&t))),
        redirect_code: b
            .redirect_code
            .and_then(|c| errs.take(RedirectCode::parse(c))),
        expires_at: b
            .expires_at
            .map(|e| e.and_then(|e| errs.take(future_time(&e, "expires_at", now())))),
    };
    errs.finish()?;
    let domain_id = b
        .domain
        .map(|d| writable_domain(&caller, &st, &d))
        .transpose()?;
    let patch = LinkPatch {
        domain_id: domain_id.filter(|d| *d != current),
        ..patch
    };
    let id = *id;
    let st2 = st.clone();
    blocking(move || Ok(st2.store.update_link(id, patch)?)).await?;
    link_answer(&caller, &st, id, HttpResponse::Ok())
}

#[utoipa::path(delete, path = "/api/v1/links/{id}", tag = "Links",
    summary = "Delete a link",
    params(("id" = u64, Path, description = "Link id")),
    security(("api_key" = []), ("session" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such link (or out of the key's scope)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    caller: Caller,
    st: web::Data<AppState>,
    id: web::Path<LinkId>,
) -> Result<HttpResponse, ApiError> {
    visible(&caller, &st, *id)?;
    let id = *id;
    let st2 = st.clone();
    let by = caller.by();
    blocking(move || Ok(st2.store.delete_link(id, &by)?)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hand_written_json_is_serdes_byte_for_byte() {
        let tags = vec!["a".to_owned(), "b:c".to_owned()];
        for (title, dest, slug, tags_view, expires) in [
            (
                Some("Plain"),
                "https://example.com/a",
                "docs",
                TagsView::Joined("x;y"),
                None,
            ),
            (
                Some("Quote \" back\\slash \u{1} tab\t é 中"),
                "https://example.com/\"odd\"",
                "s-1_2",
                TagsView::List(&tags),
                Some(Timestamp::from_unix(1_800_000_000)),
            ),
            (None, "http://x.y/", "a", TagsView::Joined(""), None),
        ] {
            for https in [true, false] {
                let v = LinkView {
                    id: 42,
                    domain: "go.example.com",
                    slug,
                    short_url: ShortUrl {
                        https,
                        host: "go.example.com",
                        slug,
                    },
                    destination_url: dest,
                    title,
                    tags: match &tags_view {
                        TagsView::Joined(j) => TagsView::Joined(j),
                        TagsView::List(l) => TagsView::List(l),
                    },
                    redirect_code: 302,
                    expires_at: expires,
                    clicks: 7,
                    created_at: Timestamp::from_unix(1_700_000_000),
                    updated_at: Timestamp::from_unix(1_700_000_500),
                };
                let mut mine = Vec::new();
                v.write_json(&mut mine);
                let serde = serde_json::to_vec(&v).unwrap();
                assert_eq!(
                    String::from_utf8(mine).unwrap(),
                    String::from_utf8(serde).unwrap()
                );
            }
        }
    }
}
