//! The batched writer: events that happen on every request (clicks, key usage, the per-key
//! request log) go into a shared buffer that one thread commits together every `MAX_DELAY`
//! (on a fixed cadence, so a slow commit does not push the next one back) or every
//! `MAX_BATCH` events, and once more on shutdown. Never one fsync per request. A `kill -9`
//! loses at most the events of the commit in flight and those since: well under a second.

use std::net::IpAddr;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::events::EventBatch;
use super::records::{KeyId, KeyRequestRecord, LinkId};
use super::usage::{Bucket, Counts};
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
        path: String,
        status: u16,
        /// The key passed verification (known, usable, address allowed): its use counts in
        /// `request_count` and last use. A key refused at the gate is only counted as refused
        /// (per hour) and logged.
        verified: bool,
    },
    /// An activity-log entry with no store write of its own (a sign-in, an export).
    Audit(Entry),
    /// A session was used (sent at most once a minute per session: `auth::session_of`).
    SessionSeen {
        digest: [u8; 32],
        at: Timestamp,
    },
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

fn add(batch: &mut EventBatch, e: Event) {
    match e {
        Event::Click(id) => *batch.clicks.entry(id).or_default() += 1,
        Event::KeyUsed {
            key,
            at,
            ip,
            method,
            path,
            status,
            verified,
        } => {
            let ip = ip.to_canonical().to_string();
            if verified {
                let u = batch.usage.entry(key).or_insert((0, at, String::new()));
                u.0 += 1;
                u.1 = at;
                u.2.clone_from(&ip);
            }
            batch
                .hourly
                .entry((key, Bucket::Hour.index(at)))
                .or_default()
                .add(Counts::of_status(status));
            batch.requests.push((
                key,
                KeyRequestRecord {
                    at,
                    method: method.to_owned(),
                    path,
                    status,
                    ip,
                },
            ));
        }
        Event::Audit(a) => batch.audits.push(a),
        Event::SessionSeen { digest, at } => {
            let seen = batch.sessions_seen.entry(digest).or_insert(at);
            *seen = (*seen).max(at);
        }
    }
}

fn commit(store: &Store, buffers: &Buffers) {
    let mut batch = EventBatch::default();
    for shard in buffers {
        let events = std::mem::take(
            &mut *shard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for e in events {
            add(&mut batch, e);
        }
    }
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
    fn key_uses_are_summed_per_hour_and_a_refusal_at_the_gate_is_no_use() {
        let t = Timestamp::from_unix(1_800_000_000);
        let used = |status, verified, secs| Event::KeyUsed {
            key: 3,
            at: t.plus_secs(secs),
            ip: IpAddr::from([127, 0, 0, 1]),
            method: "GET",
            path: "/api/v1/links".into(),
            status,
            verified,
        };
        let mut batch = EventBatch::default();
        for e in [
            used(200, true, 0),
            used(429, true, 1),
            used(401, false, 2),
            used(200, true, 3600),
        ] {
            add(&mut batch, e);
        }
        let h = Bucket::Hour.index(t);
        assert_eq!(batch.hourly[&(3, h)], Counts { ok: 1, refused: 2 });
        assert_eq!(batch.hourly[&(3, h + 1)], Counts { ok: 1, refused: 0 });
        assert_eq!(batch.usage[&3].0, 3, "the gate's refusal is not a use");
        assert_eq!(batch.requests.len(), 4, "but it is in the log");
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
