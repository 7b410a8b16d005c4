//! The batched writer: events that happen on every request (clicks, key usage, the per-key
//! request log) go into a shared buffer that one thread commits together every `MAX_DELAY`
//! (on a fixed cadence, so a slow commit does not push the next one back) or every
//! `MAX_BATCH` events, and once more on shutdown. Never one fsync per request. A `kill -9`
//! loses at most the events of the commit in flight and those since: well under a second.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::events::{EventBatch, KEY_REQUEST_LOG_LIMIT};
use super::records::{KeyId, KeyRequestRecord, LinkId};
use super::Store;
use crate::audit::Entry;
use crate::domain::Timestamp;
use crate::metrics::{shard, Padded, SHARDS};

#[derive(Debug)]
pub enum Event {
    Click(LinkId),
    KeyUsed {
        key: KeyId,
        at: Timestamp,
        ip: IpAddr,
        method: &'static str,
        path: LoggedPath,
        status: u16,
    },
    /// An activity-log entry with no store write of its own (a sign-in, an export).
    Audit(Entry),
    /// A session was used (sent at most once a minute per session: `auth::session_of`).
    SessionSeen {
        digest: [u8; 32],
        at: Timestamp,
    },
}

/// A request's path for a key's request log (already redacted), inline when it is as short
/// as nearly every API path: nothing allocated on the request path, nothing freed by the
/// writer's thread for a use the log does not keep.
#[derive(Debug)]
pub enum LoggedPath {
    Inline {
        len: u8,
        bytes: [u8; LoggedPath::INLINE],
    },
    Long(Box<str>),
}

impl LoggedPath {
    const INLINE: usize = 64;

    pub fn new(path: &str) -> Self {
        match u8::try_from(path.len()) {
            Ok(len) if path.len() <= Self::INLINE => {
                let mut bytes = [0; Self::INLINE];
                bytes[..path.len()].copy_from_slice(path.as_bytes());
                Self::Inline { len, bytes }
            }
            _ => Self::Long(path.into()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            // Whole `str` bytes, copied at a length `new` was given: always UTF-8.
            Self::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            Self::Long(s) => s,
        }
    }
}

enum Msg {
    /// The buffer is full: commit now rather than at the next tick.
    Full,
    Shutdown,
}

/// Per-thread buffers of events (`metrics::shard`): a worker pushes into its own, so requests
/// never contend on one lock; the writer drains them all. Each on its own cache lines: two
/// workers' buffers on one line would bounce it between their cores on every click.
type Buffers = [Padded<Mutex<Vec<Event>>>; SHARDS];

/// The sending side, cloned into every worker. The writer is woken only by its tick or when a
/// buffer fills, so a request never pays for a thread wake-up. After shutdown, events are
/// dropped.
#[derive(Clone)]
pub struct EventSink {
    buffers: Arc<Buffers>,
    ctl: mpsc::Sender<Msg>,
}

impl EventSink {
    pub fn send(&self, e: Event) {
        let full = {
            let mut buf = self.buffers[shard()]
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            buf.push(e);
            buf.len() == MAX_BATCH / SHARDS
        };
        if full {
            let _ = self.ctl.send(Msg::Full);
        }
    }
}

pub struct Writer {
    sink: EventSink,
    handle: Option<JoinHandle<()>>,
}

/// Events per commit at most; under load a commit happens every `MAX_DELAY` anyway.
pub const MAX_BATCH: usize = 50_000;
/// The cadence of commits: the longest an event waits before its commit starts.
pub const MAX_DELAY: Duration = Duration::from_millis(500);

impl Writer {
    /// Start the writer thread. A server without it would lose every click, so failing to
    /// start it is an error, not a warning.
    pub fn spawn(store: Arc<Store>) -> std::io::Result<Self> {
        let (ctl, rx) = mpsc::channel::<Msg>();
        let buffers: Arc<Buffers> =
            Arc::new(std::array::from_fn(|_| Padded(Mutex::new(Vec::new()))));
        let shared = Arc::clone(&buffers);
        let handle = std::thread::Builder::new()
            .name("linkdock-writer".into())
            .spawn(move || run(&store, &shared, &rx))?;
        Ok(Self {
            sink: EventSink { buffers, ctl },
            handle: Some(handle),
        })
    }

    pub fn sink(&self) -> EventSink {
        self.sink.clone()
    }

    /// Flush what is pending and stop the thread.
    pub fn shutdown(mut self) {
        let _ = self.sink.ctl.send(Msg::Shutdown);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn run(store: &Store, buffer: &Buffers, rx: &mpsc::Receiver<Msg>) {
    let mut due = Instant::now() + MAX_DELAY;
    loop {
        match rx.recv_timeout(due.saturating_duration_since(Instant::now())) {
            Ok(Msg::Full) => commit(store, buffer),
            Err(RecvTimeoutError::Timeout) => {
                commit(store, buffer);
                due = next_due(due, Instant::now());
            }
            Ok(Msg::Shutdown) | Err(RecvTimeoutError::Disconnected) => {
                commit(store, buffer);
                tracing::info!("event writer flushed and stopped");
                return;
            }
        }
    }
}

/// When the next commit is due: one interval after the last was due, not after it finished,
/// so commits keep their cadence; a commit that overran its slot is followed at once.
fn next_due(due: Instant, now: Instant) -> Instant {
    (due + MAX_DELAY).max(now)
}

fn add(batch: &mut EventBatch, uses: &mut Vec<KeyUse>, e: Event) {
    match e {
        Event::Click(id) => *batch.clicks.entry(id).or_default() += 1,
        Event::KeyUsed {
            key,
            at,
            ip,
            method,
            path,
            status,
        } => uses.push(KeyUse {
            key,
            at,
            ip,
            method,
            path,
            status,
        }),
        Event::Audit(a) => batch.audits.push(a),
        Event::SessionSeen { digest, at } => {
            let seen = batch.sessions_seen.entry(digest).or_insert(at);
            *seen = (*seen).max(at);
        }
    }
}

/// A key's use as a worker sent it: raw parts, turned into a request-log record only if the
/// log will keep it.
struct KeyUse {
    key: KeyId,
    at: Timestamp,
    ip: IpAddr,
    method: &'static str,
    path: LoggedPath,
    status: u16,
}

/// Count every use, and make records of the newest `KEY_REQUEST_LOG_LIMIT` per key only: under
/// load a batch holds tens of thousands of one key's requests, and formatting an address and
/// allocating a record for each of them was the writer's largest cost per request. The
/// address is formatted once per key for its last use, and once per kept record.
fn add_key_uses(batch: &mut EventBatch, uses: Vec<KeyUse>) {
    let mut kept: HashMap<KeyId, u64> = HashMap::new();
    let first = batch.requests.len();
    for u in uses.into_iter().rev() {
        let n = kept.entry(u.key).or_default();
        *n += 1;
        let ip = (*n <= KEY_REQUEST_LOG_LIMIT).then(|| u.ip.to_canonical().to_string());
        let usage = batch
            .usage
            .entry(u.key)
            .or_insert_with(|| (0, u.at, ip.clone().unwrap_or_default()));
        usage.0 += 1;
        if let Some(ip) = ip.filter(|_| *n <= KEY_REQUEST_LOG_LIMIT) {
            batch.requests.push((
                u.key,
                KeyRequestRecord {
                    at: u.at,
                    method: u.method.to_owned(),
                    path: u.path.as_str().to_owned(),
                    status: u.status,
                    ip,
                },
            ));
        }
    }
    // Walked newest first; the log takes them oldest first.
    batch.requests[first..].reverse();
}

fn commit(store: &Store, buffers: &Buffers) {
    let mut batch = EventBatch::default();
    let mut uses = Vec::new();
    for shard in buffers {
        let events = std::mem::take(
            &mut *shard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for e in events {
            add(&mut batch, &mut uses, e);
        }
    }
    add_key_uses(&mut batch, uses);
    if batch.is_empty() {
        return;
    }
    if let Err(e) = store.apply_events(&batch) {
        tracing::error!(error = %e, "committing a batch of events failed; it is dropped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_keeps_one_last_seen_per_session_the_latest() {
        let t = crate::domain::now();
        let mut batch = EventBatch::default();
        for secs in [60, 180, 120] {
            add(
                &mut batch,
                &mut Vec::new(),
                Event::SessionSeen {
                    digest: [9; 32],
                    at: t.plus_secs(secs),
                },
            );
        }
        assert_eq!(batch.sessions_seen.len(), 1);
        assert_eq!(batch.sessions_seen[&[9; 32]], t.plus_secs(180));
    }

    #[test]
    fn a_batch_counts_every_use_and_keeps_the_newest_uses_of_each_key() {
        let t = crate::domain::now();
        let (mut batch, mut uses) = (EventBatch::default(), Vec::new());
        let total = KEY_REQUEST_LOG_LIMIT + 500;
        for i in 0..total {
            for key in [1, 2] {
                let last = u8::try_from(i % 200).unwrap_or(0);
                add(
                    &mut batch,
                    &mut uses,
                    Event::KeyUsed {
                        key,
                        at: t.plus_secs(i as i64),
                        ip: IpAddr::from([10, 0, 0, last]),
                        method: "GET",
                        path: LoggedPath::new(&format!("/api/v1/links/{i}")),
                        status: 200,
                    },
                );
            }
        }
        add_key_uses(&mut batch, uses);
        let last = total - 1;
        for key in [1, 2] {
            let (n, at, ip) = &batch.usage[&key];
            assert_eq!((*n, *at), (total, t.plus_secs(last as i64)));
            assert_eq!(ip, &format!("10.0.0.{}", last % 200));
            let logged: Vec<&KeyRequestRecord> = batch
                .requests
                .iter()
                .filter(|(k, _)| *k == key)
                .map(|(_, r)| r)
                .collect();
            assert_eq!(logged.len() as u64, KEY_REQUEST_LOG_LIMIT);
            assert_eq!(
                logged[0].path,
                format!("/api/v1/links/{}", total - KEY_REQUEST_LOG_LIMIT)
            );
            assert_eq!(logged.last().map(|r| r.at), Some(t.plus_secs(last as i64)));
            assert_eq!(logged.last().map(|r| r.ip.as_str()), Some(ip.as_str()));
        }
    }

    #[test]
    fn a_logged_path_is_the_path_short_or_long() {
        for path in [
            "",
            "/api/v1/links/1",
            "/é/中",
            &"/x".repeat(32),
            &"/y".repeat(33),
        ] {
            assert_eq!(LoggedPath::new(path).as_str(), path);
        }
        assert!(matches!(
            LoggedPath::new(&"a".repeat(64)),
            LoggedPath::Inline { .. }
        ));
        assert!(matches!(
            LoggedPath::new(&"a".repeat(65)),
            LoggedPath::Long(_)
        ));
    }

    #[test]
    fn commits_keep_a_half_second_cadence_whatever_a_commit_costs() {
        assert!(MAX_DELAY <= Duration::from_millis(500));
        let t0 = Instant::now();
        // A commit that took 300 ms does not delay the next one by 300 ms.
        assert_eq!(
            next_due(t0, t0 + Duration::from_millis(300)),
            t0 + MAX_DELAY
        );
        // One that overran its slot is followed at once, not a full interval later.
        let late = t0 + MAX_DELAY + Duration::from_millis(200);
        assert_eq!(next_due(t0, late), late);
    }
}
