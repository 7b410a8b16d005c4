//! The batched writer: events that happen on every request (clicks, key usage, the per-key
//! request log) go through a channel to one thread that commits them together, at least every
//! second or every thousand events, and once more on shutdown. Never one fsync per request.

use std::net::IpAddr;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::keys::EventBatch;
use super::records::{AuditRecord, KeyId, KeyRequestRecord, LinkId};
use super::Store;
use crate::domain::Timestamp;

#[derive(Debug)]
pub enum Event {
    Click(LinkId),
    KeyUsed {
        key: KeyId,
        at: Timestamp,
        ip: IpAddr,
        method: String,
        path: String,
        status: u16,
    },
    Audit(AuditRecord),
}

enum Msg {
    Event(Event),
    Flush(mpsc::Sender<()>),
    Shutdown,
}

/// The sending side, cloned into every worker. Sending never blocks and never fails loudly:
/// after shutdown, events are dropped.
#[derive(Clone)]
pub struct EventSink(mpsc::Sender<Msg>);

impl EventSink {
    pub fn send(&self, e: Event) {
        let _ = self.0.send(Msg::Event(e));
    }

    /// Commit everything sent so far, and wait for it.
    pub fn flush(&self) {
        let (tx, rx) = mpsc::channel();
        if self.0.send(Msg::Flush(tx)).is_ok() {
            let _ = rx.recv_timeout(Duration::from_secs(10));
        }
    }
}

pub struct Writer {
    sink: EventSink,
    handle: Option<JoinHandle<()>>,
}

/// Events per commit at most; under load a commit happens at least every second anyway.
pub const MAX_BATCH: usize = 10_000;
pub const MAX_DELAY: Duration = Duration::from_secs(1);

impl Writer {
    pub fn spawn(store: Arc<Store>) -> Self {
        let (tx, rx) = mpsc::channel::<Msg>();
        let handle = std::thread::Builder::new()
            .name("linkdock-writer".into())
            .spawn(move || run(&store, &rx))
            .ok();
        Self {
            sink: EventSink(tx),
            handle,
        }
    }

    pub fn sink(&self) -> EventSink {
        self.sink.clone()
    }

    /// Flush what is pending and stop the thread.
    pub fn shutdown(mut self) {
        let _ = self.sink.0.send(Msg::Shutdown);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn run(store: &Store, rx: &mpsc::Receiver<Msg>) {
    let mut batch = EventBatch::default();
    let mut pending = 0usize;
    let mut deadline: Option<Instant> = None;
    loop {
        let msg = match deadline {
            Some(d) => rx.recv_timeout(d.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match msg {
            Ok(Msg::Event(e)) => {
                add(&mut batch, e);
                pending += 1;
                deadline.get_or_insert_with(|| Instant::now() + MAX_DELAY);
                if pending >= MAX_BATCH {
                    commit(store, &mut batch, &mut pending, &mut deadline);
                }
            }
            Ok(Msg::Flush(done)) => {
                commit(store, &mut batch, &mut pending, &mut deadline);
                let _ = done.send(());
            }
            Err(RecvTimeoutError::Timeout) => {
                commit(store, &mut batch, &mut pending, &mut deadline)
            }
            Ok(Msg::Shutdown) | Err(RecvTimeoutError::Disconnected) => {
                commit(store, &mut batch, &mut pending, &mut deadline);
                tracing::info!("event writer flushed and stopped");
                return;
            }
        }
    }
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
        } => {
            let ip = ip.to_canonical().to_string();
            let u = batch.usage.entry(key).or_insert((0, at, String::new()));
            u.0 += 1;
            u.1 = at;
            u.2.clone_from(&ip);
            batch.requests.push((
                key,
                KeyRequestRecord {
                    at,
                    method,
                    path,
                    status,
                    ip,
                },
            ));
        }
        Event::Audit(a) => batch.audits.push(a),
    }
}

fn commit(
    store: &Store,
    batch: &mut EventBatch,
    pending: &mut usize,
    deadline: &mut Option<Instant>,
) {
    *deadline = None;
    *pending = 0;
    if batch.is_empty() {
        return;
    }
    let taken = std::mem::take(batch);
    if let Err(e) = store.apply_events(&taken) {
        tracing::error!(error = %e, "committing a batch of events failed; it is dropped");
    }
}
