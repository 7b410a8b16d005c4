//! Logging: text or JSON on stderr, the level changeable live by a config reload.
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
use std::sync::OnceLock;

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

/// A request's id: 16 lower-case hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestId(pub [u8; 16]);

impl RequestId {
    pub fn as_str(&self) -> &str {
        // Only hex digits are ever written.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

tokio::task_local! {
    static REQUEST: RequestId;
}

/// Run `fut` as the handling of request `id`: every line it logs names the request.
pub async fn in_request<F: Future>(id: RequestId, fut: F) -> F::Output {
    REQUEST.scope(id, fut).await
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
pub fn init(format: LogFormat, level: LogLevel) {
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

/// One JSON object a line, in tracing-subscriber's JSON shape: `timestamp`, `level`,
/// `fields`, `target`, and `span` (`{"id", "name": "request"}`) inside a request.
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
        let mut line = serde_json::json!({
            "timestamp": timestamp,
            "level": event.metadata().level().as_str(),
            "fields": fields.0,
            "target": event.metadata().target(),
        });
        if let Some(id) = current_request() {
            line["span"] = serde_json::json!({"id": id.as_str(), "name": "request"});
        }
        writeln!(w, "{line}")
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
