//! Logging: text or JSON on stderr, the level and the access line changeable live by a
//! config reload.
//!
//! Nothing key-shaped is ever written: every message and field goes through
//! `keys::redact_keys` on its way out, whoever logged it.
//!
//! Every line logged while a request is being served carries its request id. The id is a
//! task-local set by the request middleware (`in_request`), read by this module's formatters:
//! a tracing span per request would cost more than the rest of a key-authenticated read
//! (creating it formats its fields; entering it on every poll goes through the registry).

use std::fmt::{self as stdfmt, Write as _};
use std::future::Future;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, reload, Registry};

use crate::config::{LogFormat, LogLevel};
use crate::keys::redact_keys;

type LevelHandle = reload::Handle<LevelFilter, Registry>;
static LEVEL: OnceLock<LevelHandle> = OnceLock::new();

/// Whether each request gets an access line (`log.access`); read once a request.
static ACCESS: AtomicBool = AtomicBool::new(false);

/// The request header that carries a request's id, in and out.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// A request's id: the caller's own (`X-Request-ID`, when well-formed) or 16 lower-case hex
/// digits of ours, held inline (no allocation a request).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RequestId {
    len: u8,
    bytes: [u8; RequestId::MAX],
}

impl RequestId {
    /// The longest id taken from a caller.
    pub const MAX: usize = 128;

    /// The id of a request: the incoming `X-Request-ID` when it is 1 to 128 printable ASCII
    /// characters (it goes into log lines and a response header as is), else a new one of
    /// ours: 8 hex digits of a per-process salt, then 8 of a sequence.
    pub fn of_request(incoming: Option<&[u8]>) -> Self {
        if let Some(raw) = incoming.filter(|r| {
            (1..=Self::MAX).contains(&r.len())
                && r.iter().all(|b| b.is_ascii_graphic() || *b == b' ')
                // Printable ASCII is UTF-8; an id holding a key would be echoed and logged.
                && std::str::from_utf8(r)
                    .is_ok_and(|t| matches!(redact_keys(t), std::borrow::Cow::Borrowed(_)))
        }) {
            let mut bytes = [0; Self::MAX];
            bytes[..raw.len()].copy_from_slice(raw);
            return Self {
                len: raw.len() as u8,
                bytes,
            };
        }
        static SEQ: AtomicU64 = AtomicU64::new(0);
        static SALT: OnceLock<u32> = OnceLock::new();
        let salt = *SALT.get_or_init(|| {
            let mut b = [0u8; 4];
            let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
            u32::from_le_bytes(b)
        });
        let seq = SEQ.fetch_add(1, Ordering::Relaxed) as u32;
        let word = (u64::from(salt) << 32) | u64::from(seq);
        let mut bytes = [0u8; Self::MAX];
        for (i, slot) in bytes[..16].iter_mut().enumerate() {
            *slot = b"0123456789abcdef"[((word >> (60 - 4 * i)) & 0xf) as usize];
        }
        Self { len: 16, bytes }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    pub fn as_str(&self) -> &str {
        // Only printable ASCII is ever written.
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }
}

impl stdfmt::Debug for RequestId {
    fn fmt(&self, f: &mut stdfmt::Formatter<'_>) -> stdfmt::Result {
        f.write_str(self.as_str())
    }
}

tokio::task_local! {
    static REQUEST: RequestId;
}

/// Run `fut` as the handling of request `id`: every line it logs names the request.
pub async fn in_request<F: Future>(id: RequestId, fut: F) -> F::Output {
    REQUEST.scope(id, fut).await
}

/// `in_request` for work that does not wait (the keyed read's fast path).
pub fn in_request_now<R>(id: RequestId, f: impl FnOnce() -> R) -> R {
    REQUEST.sync_scope(id, f)
}

/// Whether access lines are on: one relaxed load, so that off costs the hot paths nothing.
pub fn access_enabled() -> bool {
    ACCESS.load(Ordering::Relaxed)
}

/// Turn access lines on or off (start, config reload).
pub fn set_access(on: bool) {
    ACCESS.store(on, Ordering::Relaxed);
}

/// The access line of a request, at info, as request `id`. `route` is the matched pattern,
/// never the raw path (a path can carry a secret).
pub fn access(
    id: RequestId,
    method: &str,
    route: &str,
    status: u16,
    took: Duration,
    client_ip: Option<IpAddr>,
) {
    struct Ip(Option<IpAddr>);
    impl stdfmt::Display for Ip {
        fn fmt(&self, f: &mut stdfmt::Formatter<'_>) -> stdfmt::Result {
            match self.0 {
                Some(ip) => ip.fmt(f),
                None => f.write_str("unknown"),
            }
        }
    }
    REQUEST.sync_scope(id, || {
        tracing::info!(
            method,
            route,
            status,
            duration_ms = took.as_secs_f64() * 1000.0,
            client_ip = %Ip(client_ip),
            "request"
        );
    });
}

/// The request being served on this task, if any.
fn current_request() -> Option<RequestId> {
    REQUEST.try_with(|id| *id).ok()
}

fn level_filter(level: LogLevel) -> LevelFilter {
    match level {
        LogLevel::Error => LevelFilter::ERROR,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Trace => LevelFilter::TRACE,
    }
}

/// Install the global subscriber (once per process) writing to stderr.
pub fn init(format: LogFormat, level: LogLevel, access: bool) {
    set_access(access);
    let (filter, handle) = reload::Layer::new(level_filter(level));
    let registry = tracing_subscriber::registry().with(filter);
    let layer = fmt::layer().with_writer(std::io::stderr).with_ansi(false);
    let installed = match format {
        LogFormat::Text => registry.with(layer.event_format(TextLine)).try_init(),
        LogFormat::Json => registry.with(layer.event_format(JsonLine)).try_init(),
    };
    if installed.is_ok() {
        let _ = LEVEL.set(handle);
    }
}

/// Apply a new level from a reloaded config.
pub fn set_level(level: LogLevel) {
    if let Some(h) = LEVEL.get() {
        let _ = h.modify(|f| *f = level_filter(level));
    }
}

/// `2026-11-27T10:00:00.123456Z  INFO request{id=…}: message key=value`
struct TextLine;

impl<S, N> FormatEvent<S, N> for TextLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> stdfmt::Result {
        SystemTime.format_time(&mut w)?;
        write!(w, " {:>5} ", event.metadata().level())?;
        if let Some(id) = current_request() {
            write!(w, "request{{id={}}}: ", id.as_str())?;
        }
        // Whoever logs (a dependency echoing a request path included), a key never reaches
        // the log: the message is written with anything key-shaped redacted.
        let mut fields = String::new();
        ctx.field_format()
            .format_fields(Writer::new(&mut fields), event)?;
        writeln!(w, "{}", redact_keys(&fields))
    }
}

/// One JSON object a line, every field at the top (what log shippers index without a
/// mapping): `timestamp`, `level`, `request_id` inside a request, `message`, the event's
/// fields, `target`.
struct JsonLine;

impl<S, N> FormatEvent<S, N> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> stdfmt::Result {
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let mut fields = JsonFields(serde_json::Map::new());
        event.record(&mut fields);
        let mut line = serde_json::Map::new();
        line.insert("timestamp".into(), timestamp.into());
        line.insert("level".into(), event.metadata().level().as_str().into());
        if let Some(id) = current_request() {
            line.insert("request_id".into(), id.as_str().into());
        }
        let message = fields
            .0
            .shift_remove("message")
            .unwrap_or_else(|| "".into());
        line.insert("message".into(), message);
        // An event's field never overwrites one of the line's own.
        for (name, value) in fields.0 {
            line.entry(name).or_insert(value);
        }
        line.entry("target")
            .or_insert_with(|| event.metadata().target().into());
        writeln!(w, "{}", serde_json::Value::Object(line))
    }
}

struct JsonFields(serde_json::Map<String, serde_json::Value>);

impl Visit for JsonFields {
    fn record_debug(&mut self, field: &Field, value: &dyn stdfmt::Debug) {
        let mut s = String::new();
        let _ = write!(s, "{value:?}");
        self.record_str(field, &s);
    }

    /// Every text value with anything key-shaped redacted, as in the text format.
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(
            field.name().to_owned(),
            redact_keys(value).into_owned().into(),
        );
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
}

#[cfg(test)]
mod request_id_tests {
    use super::RequestId;

    #[test]
    fn an_incoming_id_is_kept_only_when_printable_short_and_free_of_keys() {
        let kept = RequestId::of_request(Some(b"upstream-123"));
        assert_eq!(kept.as_bytes(), b"upstream-123");
        let key = format!("req-ldk_{}", "a".repeat(50));
        for bad in [&b"tab\there"[..], &[b'x'; 129][..], b"", key.as_bytes()] {
            let id = RequestId::of_request(Some(bad));
            assert_eq!(
                id.as_bytes().len(),
                16,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
            assert_ne!(id.as_bytes(), bad);
        }
    }
}
