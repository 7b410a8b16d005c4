//! The batched writer: events that happen on every request (clicks, key usage, the per-key
//! request log) go into a shared buffer that one thread commits together every `MAX_DELAY`
//! (on a fixed cadence, so a slow commit does not push the next one back) or every
//! `MAX_BATCH` events, and once more on shutdown. Never one fsync per request. A `kill -9`
//! loses at most the events of the commit in flight and those since: well under a second.
//!
//! A click with analytics on (`Event::Visit`) leaves its User-Agent and Referer as raw bytes
//! in its shard's text arena, or points at the copy of the visit before when they repeat it;
//! this thread groups visits by that text (`VisitGroups`), classifies each group once
//! (`Classifier`, one parse per distinct User-Agent) and keeps only the referrer's host. The
//! redirect pays a comparison and at most a copy of a few hundred bytes into memory its
//! thread already owns, never a parse or an allocation of its own.
//!
//! With `analytics.geoip_db` set, a visit also carries the client's address (`Visit::ip`);
//! this thread looks its country up (`store::geoip`) and keeps only the ISO code: the address
//! is dropped with the event and never written.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::analytics::{Day, DayTally, Names, DIRECT};
use super::events::{EventBatch, KEY_REQUEST_LOG_LIMIT};
use super::geoip::GeoIp;
use super::records::{KeyId, KeyRequestRecord, LinkId};
use super::usage::{Bucket, Counts};
use super::Store;
use crate::audit::Entry;
use crate::domain::Timestamp;
use crate::metrics::{shard, Padded, SHARDS};

#[derive(Debug)]
pub enum Event {
    /// A click counted in the link's total only (`analytics.enabled = false`).
    Click(LinkId),
    /// A click counted in the total and in the link's day (sent by `EventSink::visit`).
    Visit(Visit),
    KeyUsed {
        key: KeyId,
        at: Timestamp,
        ip: IpAddr,
        method: &'static str,
        path: LoggedPath,
        status: u16,
        /// The key passed verification (known, usable, address allowed): its use counts in
        /// `request_count` and last use. A key refused at the gate is only counted as refused
        /// (per hour) and logged.
        verified: bool,
    },
    /// An activity-log entry with no store write of its own (a sign-in, an export).
    Audit(Entry),
    /// A session was used (sent at most once a minute per session: `auth::session_of`).
    SessionSeen { digest: [u8; 32], at: Timestamp },
}

/// A click with what analytics keeps of it: its day and where its User-Agent and Referer
/// bytes sit in the shard's text (`Shard::text`, from `at`: the User-Agent, then the Referer).
#[derive(Debug)]
pub struct Visit {
    link: LinkId,
    day: Day,
    at: u32,
    ua_len: u16,
    referer_len: u16,
    /// The client's address, only when a GeoIP database is configured; read for its country
    /// on the writer thread, then dropped (never stored).
    ip: Option<IpAddr>,
}

/// The longest User-Agent and Referer kept for classification; longer ones are cut (a
/// referrer's host comes first, and no browser needs more to be told apart).
pub const MAX_UA_BYTES: usize = 512;
pub const MAX_REFERER_BYTES: usize = 512;
/// The most header text one shard holds between commits (6.4 MB); a shard that has used half
/// of it asks for a commit. Past it (the writer behind), visits are counted as bare clicks.
const MAX_SHARD_TEXT: usize = 2 * (MAX_BATCH / SHARDS) * (MAX_UA_BYTES + MAX_REFERER_BYTES);

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
struct Buffers {
    shards: [Padded<Mutex<Shard>>; SHARDS],
    /// Events the shards hold together, added `COUNT_STEP` at a time by the shard that
    /// reaches a multiple of it; set back to 0 when the writer takes them.
    pending: Padded<AtomicUsize>,
}

impl Default for Buffers {
    fn default() -> Self {
        Self {
            shards: std::array::from_fn(|_| Padded(Mutex::new(Shard::default()))),
            pending: Padded(AtomicUsize::new(0)),
        }
    }
}

/// A shard adds its events to `Buffers::pending` this many at a time: one shared atomic add
/// per 256 events, not one per request.
const COUNT_STEP: usize = 256;

impl Buffers {
    /// A shard now holds `len` events: whether all of them together have just reached
    /// `MAX_BATCH` (said once per batch). Only as many shards fill as threads send events
    /// (two workers on two cores), so a shard's own share of `MAX_BATCH` (the trigger before)
    /// made batches eight times smaller than meant: under load, more than ten commits a
    /// second, each rewriting a busy key's 1,000 request-log entries, where two would do.
    fn filled(&self, len: usize) -> bool {
        if !len.is_multiple_of(COUNT_STEP) {
            return false;
        }
        let before = self.pending.fetch_add(COUNT_STEP, Ordering::Relaxed);
        before < MAX_BATCH && before + COUNT_STEP >= MAX_BATCH
    }
}

/// One thread's pending events, and the raw header bytes its visits point into.
#[derive(Default)]
struct Shard {
    events: Vec<Event>,
    text: Vec<u8>,
    /// Where the last visit's headers sit in `text` (start, User-Agent and Referer lengths):
    /// a visit that repeats them points there instead of copying them again.
    last: Option<(u32, u16, u16)>,
}

/// The sending side, cloned into every worker. The writer is woken only by its tick or when a
/// buffer fills, so a request never pays for a thread wake-up. After shutdown, events are
/// dropped.
#[derive(Clone)]
pub struct EventSink {
    buffers: Arc<Buffers>,
    ctl: mpsc::Sender<Msg>,
    /// `analytics.enabled`, read at start: `visit` sends a bare `Click` when off.
    analytics: bool,
    /// A GeoIP database is open on the writer: visits are worth their client address.
    geoip: bool,
}

impl EventSink {
    pub fn send(&self, e: Event) {
        let full = {
            let mut buf = self.buffers.shards[shard()]
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            buf.events.push(e);
            self.buffers.filled(buf.events.len())
        };
        if full {
            let _ = self.ctl.send(Msg::Full);
        }
    }

    /// A click on `link` at `at`, with the request's raw `User-Agent` and `Referer` (empty
    /// when absent), and the client's address when `geoip_enabled` (else `None`). Copies them
    /// into this thread's text arena; nothing is parsed or looked up here.
    pub fn visit(
        &self,
        link: LinkId,
        at: Timestamp,
        ua: &[u8],
        referer: &[u8],
        ip: Option<IpAddr>,
    ) {
        if !self.analytics {
            return self.send(Event::Click(link));
        }
        let ua = &ua[..ua.len().min(MAX_UA_BYTES)];
        let referer = &referer[..referer.len().min(MAX_REFERER_BYTES)];
        let full = {
            let mut buf = self.buffers.shards[shard()]
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let lens = (ua.len() as u16, referer.len() as u16);
            // The same browser and page as the visit before on this thread: no copy.
            let repeated = buf.last.filter(|&(start, ua_len, referer_len)| {
                let start = start as usize;
                let ua_end = start + usize::from(ua_len);
                (ua_len, referer_len) == lens
                    && buf.text.get(start..ua_end) == Some(ua)
                    && buf.text.get(ua_end..ua_end + referer.len()) == Some(referer)
            });
            // Half the text bound used: commit now, before visits lose their headers.
            let mut text_half = false;
            let start = match repeated {
                Some((start, ..)) => Some(start),
                None if buf.text.len() + ua.len() + referer.len() > MAX_SHARD_TEXT => None,
                None => {
                    let start = u32::try_from(buf.text.len()).unwrap_or(u32::MAX);
                    buf.text.extend_from_slice(ua);
                    buf.text.extend_from_slice(referer);
                    buf.last = Some((start, lens.0, lens.1));
                    text_half = (start as usize) < MAX_SHARD_TEXT / 2
                        && buf.text.len() >= MAX_SHARD_TEXT / 2;
                    Some(start)
                }
            };
            match start {
                Some(start) => {
                    buf.events.push(Event::Visit(Visit {
                        link,
                        day: Day::of(at),
                        at: start,
                        ua_len: lens.0,
                        referer_len: lens.1,
                        ip: ip.filter(|_| self.geoip),
                    }));
                    self.buffers.filled(buf.events.len()) || text_half
                }
                // The writer is behind (a stalled commit, a flood of new User-Agents): the
                // click still counts, its headers are not kept, and memory stays bounded.
                None => {
                    buf.events.push(Event::Click(link));
                    self.buffers.filled(buf.events.len())
                }
            }
        };
        if full {
            let _ = self.ctl.send(Msg::Full);
        }
    }

    /// `analytics.enabled`: whether a click is worth its headers (`visit`) or only its count.
    pub fn analytics_enabled(&self) -> bool {
        self.analytics
    }

    /// Whether the writer looks countries up: the redirect passes the client's address to
    /// `visit` only then, and the stats answer countries only then.
    pub fn geoip_enabled(&self) -> bool {
        self.analytics && self.geoip
    }

    /// This sink with `analytics.enabled` as configured (on unless told otherwise).
    #[must_use]
    pub fn analytics(mut self, on: bool) -> Self {
        self.analytics = on;
        self
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
        Self::spawn_with(store, None)
    }

    /// Start the writer thread with the GeoIP database it looks visits' countries up in.
    pub fn spawn_with(store: Arc<Store>, geoip: Option<GeoIp>) -> std::io::Result<Self> {
        let geo = geoip.is_some();
        let (ctl, rx) = mpsc::channel::<Msg>();
        let buffers: Arc<Buffers> = Arc::new(Buffers::default());
        let shared = Arc::clone(&buffers);
        let handle = std::thread::Builder::new()
            .name("linkdock-writer".into())
            .spawn(move || run(&store, &shared, &rx, geoip.as_ref()))?;
        Ok(Self {
            sink: EventSink {
                buffers,
                ctl,
                analytics: true,
                geoip: geo,
            },
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

fn run(store: &Store, buffer: &Buffers, rx: &mpsc::Receiver<Msg>, geoip: Option<&GeoIp>) {
    let mut due = Instant::now() + MAX_DELAY;
    let mut classifier = Classifier {
        geoip,
        ..Classifier::default()
    };
    let mut unsent = Outbox {
        batches: VecDeque::new(),
        // Names this writer's batches in the shared database's ledger (`apply_events`).
        writer: writer_id(),
        next: 1,
    };
    let mut spares = Spares::default();
    loop {
        match rx.recv_timeout(due.saturating_duration_since(Instant::now())) {
            Ok(Msg::Full) => commit(store, buffer, &mut classifier, &mut unsent, &mut spares),
            Err(RecvTimeoutError::Timeout) => {
                commit(store, buffer, &mut classifier, &mut unsent, &mut spares);
                due = next_due(due, Instant::now());
            }
            Ok(Msg::Shutdown) | Err(RecvTimeoutError::Disconnected) => {
                commit(store, buffer, &mut classifier, &mut unsent, &mut spares);
                if unsent.batches.is_empty() {
                    tracing::info!("event writer flushed and stopped");
                } else {
                    tracing::error!(
                        batches = unsent.batches.len(),
                        "event writer stopped with batches the database never took (clicks and key usage of that time are lost)"
                    );
                }
                return;
            }
        }
    }
}

/// Batches kept while the database cannot be reached (PostgreSQL), about two minutes' worth.
/// Counts are increments, so a batch committed late still counts each event once.
const UNSENT_MAX: usize = 240;

/// The batches the database has not taken yet, and how the next one is numbered.
struct Outbox {
    batches: VecDeque<EventBatch>,
    writer: u64,
    next: u64,
}

/// A random id for this process's writer.
fn writer_id() -> u64 {
    let mut b = [0u8; 8];
    // Without a random source, the time still tells two writers apart.
    if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b).is_err() {
        b = crate::domain::now().unix().to_be_bytes();
    }
    u64::from_be_bytes(b)
}

/// When the next commit is due: one interval after the last was due, not after it finished,
/// so commits keep their cadence; a commit that overran its slot is followed at once.
fn next_due(due: Instant, now: Instant) -> Instant {
    (due + MAX_DELAY).max(now)
}

/// What analytics keeps of a User-Agent: bot or not, browser and OS family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UaClass {
    pub bot: bool,
    pub browser: String,
    pub os: String,
}

/// User-Agents classified by woothee, each distinct string once: a link's visitors send a
/// few hundred distinct strings, not one per click. Bounded: a flood of random strings
/// empties the cache rather than growing it.
#[derive(Default)]
pub struct Classifier<'g> {
    parser: woothee::parser::Parser,
    cache: hashbrown::HashMap<Box<[u8]>, UaClass>,
    /// Where a visit's address is looked up for its country (`analytics.geoip_db`).
    geoip: Option<&'g GeoIp>,
}

const CLASSIFIER_CACHE: usize = 10_000;

impl Classifier<'_> {
    pub fn classify(&mut self, ua: &[u8]) -> &UaClass {
        if !self.cache.contains_key(ua) {
            if self.cache.len() >= CLASSIFIER_CACHE {
                self.cache.clear();
            }
            let class = self.parse(ua);
            self.cache.insert(ua.into(), class);
        }
        &self.cache[ua]
    }

    fn parse(&self, ua: &[u8]) -> UaClass {
        let text = String::from_utf8_lossy(ua);
        let named = |s: &str| {
            if s.is_empty() || s == woothee::woothee::VALUE_UNKNOWN {
                "Other".to_owned()
            } else {
                s.to_owned()
            }
        };
        match self.parser.parse(text.trim()) {
            Some(r) => UaClass {
                bot: r.category == "crawler",
                browser: named(r.name),
                os: named(r.os),
            },
            None => UaClass {
                bot: false,
                browser: "Other".to_owned(),
                os: "Other".to_owned(),
            },
        }
    }
}

/// The host of a `Referer` (`scheme://[userinfo@]host[:port]…`), and nothing else of it: the
/// path and query may say more than a visitor meant to share. `None` when it names no host.
/// Read by hand, not by `url::Url::parse`: this runs once per click on the writer thread,
/// and a full parse cost more than the rest of the click's tally.
pub fn referrer_host(raw: &[u8]) -> Option<&str> {
    let text = match std::str::from_utf8(raw) {
        Ok(text) => text,
        // Cut inside a character by `MAX_REFERER_BYTES`: the whole characters before it.
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&raw[..e.valid_up_to()]).ok()?,
        Err(_) => return None,
    }
    .trim();
    let (scheme, rest) = text.split_once("://")?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return None;
    }
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        &host_port[..=host_port.find(']')?]
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    let host = host.trim_end_matches('.');
    let plausible = !host.is_empty()
        && host.len() <= 253
        && !host
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '%');
    plausible.then_some(host)
}

/// Count `n` more under `name` without allocating when the name is already there.
fn bump(map: &mut Names, name: &str, n: u64) {
    if let Some(count) = map.get_mut(name) {
        *count += n;
    } else {
        map.insert(name.to_owned(), n);
    }
}

/// Visits alike: one link, one day, the same header text (a shard, where its User-Agent
/// starts, the two lengths). A worker stores a visit's headers once when they repeat the
/// visit before it (`EventSink::visit`), so a batch holds far fewer texts than clicks: each
/// group is classified, its referrer read and its names counted once, not once per click.
type AlikeKey = (LinkId, Day, usize, u32, u16, u16);

/// How many visits a group holds, and their countries (only with a GeoIP database: each
/// visit's address is its own).
#[derive(Default)]
struct Alike<'g> {
    visits: u64,
    countries: Vec<&'g str>,
}

/// A batch's visits in groups of alike ones, pointing into their shards' text.
struct VisitGroups<'t, 'g> {
    groups: hashbrown::HashMap<AlikeKey, Alike<'g>>,
    texts: &'t [Vec<u8>],
    geoip: Option<&'g GeoIp>,
}

impl<'t, 'g> VisitGroups<'t, 'g> {
    fn new(texts: &'t [Vec<u8>], geoip: Option<&'g GeoIp>) -> Self {
        Self {
            groups: hashbrown::HashMap::new(),
            texts,
            geoip,
        }
    }

    /// Put a visit of shard `shard` in its group; its country is looked up here, its address
    /// then dropped.
    fn add(&mut self, v: &Visit, shard: usize) {
        let key = (v.link, v.day, shard, v.at, v.ua_len, v.referer_len);
        let group = self.groups.entry(key).or_default();
        group.visits += 1;
        if let (Some(geo), Some(ip)) = (self.geoip, v.ip) {
            group.countries.push(geo.country(ip));
        }
    }

    /// Count every group into the batch: its clicks, and its day's names.
    fn count(self, batch: &mut EventBatch, classifier: &mut Classifier<'_>) {
        for (&(link, day, shard, at, ua_len, referer_len), group) in &self.groups {
            let text = self.texts.get(shard).map_or(&[][..], Vec::as_slice);
            let start = at as usize;
            let ua_end = start + usize::from(ua_len);
            let ua = text.get(start..ua_end).unwrap_or_default();
            let referer = text
                .get(ua_end..ua_end + usize::from(referer_len))
                .unwrap_or_default();
            add_alike(batch, (link, day, ua, referer), group, classifier);
        }
    }
}

fn add_alike(
    batch: &mut EventBatch,
    (link, day, ua, referer): (LinkId, Day, &[u8], &[u8]),
    group: &Alike<'_>,
    classifier: &mut Classifier<'_>,
) {
    let n = group.visits;
    *batch.clicks.entry(link).or_default() += n;
    let class = classifier.classify(ua);
    let tally: &mut DayTally = batch.days.entry((day, link)).or_default();
    if class.bot {
        // Bots apart: counted, but not among the people's referrers and browsers.
        tally.bots += n;
        return;
    }
    tally.clicks += n;
    bump(&mut tally.browsers, &class.browser, n);
    bump(&mut tally.os, &class.os, n);
    for code in &group.countries {
        bump(&mut tally.countries, code, 1);
    }
    match referrer_host(referer) {
        Some(h) if h.bytes().any(|b| b.is_ascii_uppercase()) => {
            bump(&mut tally.referrers, &h.to_ascii_lowercase(), n);
        }
        Some(h) => bump(&mut tally.referrers, h, n),
        None => bump(&mut tally.referrers, DIRECT, n),
    }
}

fn add(batch: &mut EventBatch, e: Event) {
    match e {
        Event::Click(id) => *batch.clicks.entry(id).or_default() += 1,
        // Visits are added by `commit`, which holds their text; key uses by `add_key_uses`,
        // which reads them in place, newest first.
        Event::Visit(_) | Event::KeyUsed { .. } => {}
        Event::Audit(a) => batch.audits.push(a),
        Event::SessionSeen { digest, at } => {
            let seen = batch.sessions_seen.entry(digest).or_insert(at);
            *seen = (*seen).max(at);
        }
    }
}

/// Consecutive uses of one key in one hour, walked newest first: counted here and added to
/// the batch's maps once for the run.
struct Run {
    key: KeyId,
    hour: u64,
    /// This key's uses in the batch before the run (newer ones), for the request log's limit.
    before: u64,
    uses: u64,
    verified: u64,
    counts: Counts,
}

impl Run {
    fn end(self, batch: &mut EventBatch, seen: &mut hashbrown::HashMap<KeyId, u64>) {
        *seen.entry(self.key).or_default() += self.uses;
        if self.verified > 0 {
            if let Some(usage) = batch.usage.get_mut(&self.key) {
                usage.0 += self.verified;
            }
        }
        batch
            .hourly
            .entry((self.key, self.hour))
            .or_default()
            .add(self.counts);
    }
}

/// Count every use, and make records of the newest `KEY_REQUEST_LOG_LIMIT` per key only: under
/// load a batch holds tens of thousands of one key's requests, and formatting an address and
/// allocating a record for each of them was the writer's largest cost per request. The
/// address is formatted once per key for its last use, and once per kept record. The uses
/// are read where the workers left them, newest first, and a run of one key's uses in one
/// hour (most of a busy batch) is looked up in the batch's maps once, not once per use:
/// copying each use out and three SipHash lookups per use were the writer's cost per request.
fn add_key_uses(batch: &mut EventBatch, events: &[Vec<Event>]) {
    let mut seen: hashbrown::HashMap<KeyId, u64> = hashbrown::HashMap::new();
    let first = batch.requests.len();
    let mut run: Option<Run> = None;
    let newest_first = events.iter().rev().flat_map(|shard| shard.iter().rev());
    for e in newest_first {
        let Event::KeyUsed {
            key,
            at,
            ip,
            method,
            path,
            status,
            verified,
        } = e
        else {
            continue;
        };
        let hour = Bucket::Hour.index(*at);
        let r = match &mut run {
            Some(r) if r.key == *key && r.hour == hour => r,
            _ => {
                if let Some(done) = run.take() {
                    done.end(batch, &mut seen);
                }
                run.insert(Run {
                    key: *key,
                    hour,
                    before: seen.get(key).copied().unwrap_or(0),
                    uses: 0,
                    verified: 0,
                    counts: Counts::default(),
                })
            }
        };
        r.uses += 1;
        let address = || ip.to_canonical().to_string();
        let logged_ip = (r.before + r.uses <= KEY_REQUEST_LOG_LIMIT).then(address);
        if *verified {
            // Walked newest first: the key's first verified use in the batch is its last use.
            if r.verified == 0 && !batch.usage.contains_key(key) {
                let last_ip = logged_ip.clone().unwrap_or_else(address);
                batch.usage.insert(*key, (0, *at, last_ip));
            }
            r.verified += 1;
        }
        // A refusal at the gate is no use, but it is counted per hour, and logged.
        r.counts.add(Counts::of_status(*status));
        if let Some(ip) = logged_ip {
            batch.requests.push((
                *key,
                KeyRequestRecord {
                    at: *at,
                    method: (*method).to_owned(),
                    path: path.as_str().to_owned(),
                    status: *status,
                    ip,
                },
            ));
        }
    }
    if let Some(done) = run {
        done.end(batch, &mut seen);
    }
    // Walked newest first; the log takes them oldest first.
    batch.requests[first..].reverse();
}

/// The shards' buffers from the batch before, emptied, handed back at the next take: a busy
/// shard's buffer is megabytes, and a fresh one each batch was thousands of page faults a
/// second on the workers that fill it.
#[derive(Default)]
struct Spares {
    /// By shard.
    events: Vec<Vec<Event>>,
    texts: Vec<Vec<u8>>,
}

/// An emptied buffer to hand back; one much larger than its batch needed (after a burst) is
/// shrunk, so an idle server does not keep a burst's memory.
fn emptied<T>(mut buffer: Vec<T>, used: usize) -> Vec<T> {
    buffer.clear();
    if buffer.capacity() > 2 * used.max(1024) {
        buffer.shrink_to(used);
    }
    buffer
}

fn commit(
    store: &Store,
    buffers: &Buffers,
    classifier: &mut Classifier<'_>,
    unsent: &mut Outbox,
    spares: &mut Spares,
) {
    let mut batch = EventBatch::default();
    spares.events.resize_with(SHARDS, Vec::new);
    spares.texts.resize_with(SHARDS, Vec::new);
    // Every shard's text stays until its visits are counted: groups point into it.
    buffers.pending.store(0, Ordering::Relaxed);
    let (mut events, texts): (Vec<Vec<Event>>, Vec<Vec<u8>>) = buffers
        .shards
        .iter()
        .zip(spares.events.iter_mut().zip(spares.texts.iter_mut()))
        .map(|(shard, (spare_events, spare_text))| {
            let mut shard = shard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            shard.last = None;
            (
                std::mem::replace(&mut shard.events, std::mem::take(spare_events)),
                std::mem::replace(&mut shard.text, std::mem::take(spare_text)),
            )
        })
        .unzip();
    let used: Vec<usize> = events.iter().map(Vec::len).collect();
    add_key_uses(&mut batch, &events);
    let mut visits = VisitGroups::new(&texts, classifier.geoip);
    for (shard, events) in events.iter_mut().enumerate() {
        for e in events.drain(..) {
            match e {
                Event::Visit(v) => visits.add(&v, shard),
                other => add(&mut batch, other),
            }
        }
    }
    visits.count(&mut batch, classifier);
    for (i, (buffer, text)) in events.into_iter().zip(texts).enumerate() {
        let text_used = text.len();
        spares.texts[i] = emptied(text, text_used);
        spares.events[i] = emptied(buffer, used[i]);
    }
    if !batch.is_empty() {
        if store.is_shared() {
            batch.number = Some((unsent.writer, unsent.next));
            unsent.next += 1;
        }
        unsent.batches.push_back(batch);
    }
    let unsent = &mut unsent.batches;
    // Oldest first, so a database that comes back gets the counts in the order they happened.
    while let Some(next) = unsent.front() {
        match store.apply_events(next) {
            Ok(()) => {
                unsent.pop_front();
            }
            Err(e) if e.is_transient() => {
                if unsent.len() > UNSENT_MAX {
                    unsent.pop_front();
                    tracing::error!(error = %e, "the database has not taken a batch of events for two minutes; the oldest is dropped");
                } else {
                    tracing::warn!(error = %e, kept = unsent.len(), "committing a batch of events failed; kept to try again");
                }
                return;
            }
            Err(e) => {
                unsent.pop_front();
                tracing::error!(error = %e, "committing a batch of events failed; it is dropped");
            }
        }
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
            path: LoggedPath::new("/api/v1/links"),
            status,
            verified,
        };
        let mut batch = EventBatch::default();
        let events = vec![
            vec![used(200, true, 0), used(429, true, 1)],
            vec![used(401, false, 2), used(200, true, 3600)],
        ];
        add_key_uses(&mut batch, &events);
        let h = Bucket::Hour.index(t);
        assert_eq!(batch.hourly[&(3, h)], Counts { ok: 1, refused: 2 });
        assert_eq!(batch.hourly[&(3, h + 1)], Counts { ok: 1, refused: 0 });
        assert_eq!(batch.usage[&3].0, 3, "the gate's refusal is not a use");
        assert_eq!(batch.requests.len(), 4, "but it is in the log");
    }

    #[test]
    fn user_agents_fall_into_families_and_bots_apart() {
        let mut c = Classifier::default();
        let chrome = c.classify(b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36").clone();
        assert_eq!(
            (chrome.bot, chrome.browser.as_str(), chrome.os.as_str()),
            (false, "Chrome", "Windows 10")
        );
        assert!(
            c.classify(b"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
                .bot
        );
        let none = c.classify(b"").clone();
        assert_eq!((none.bot, none.browser.as_str()), (false, "Other"));
        assert_eq!(c.cache.len(), 3);
    }

    #[test]
    fn only_the_referrers_host_is_kept() {
        let host = |raw: &[u8]| referrer_host(raw).map(str::to_owned);
        for (raw, want) in [
            (
                &b"https://News.Example.com./item?id=1&secret=x"[..],
                "News.Example.com",
            ),
            (b"https://user:pw@host.example:8443/x", "host.example"),
            (b"http://[::1]:8080/", "[::1]"),
            (
                b"android-app://com.google.android.gm/",
                "com.google.android.gm",
            ),
            (b"https://t.co?x", "t.co"),
        ] {
            assert_eq!(host(raw).as_deref(), Some(want));
        }
        for none in [
            &b""[..],
            b"not a url",
            b"https:///path",
            b"://x",
            b"1http://x",
            b"http://a b/",
            &[0xff, 0xfe],
        ] {
            assert_eq!(host(none), None, "{:?}", String::from_utf8_lossy(none));
        }
    }

    #[test]
    fn a_batch_counts_every_use_and_keeps_the_newest_uses_of_each_key() {
        let t = crate::domain::now();
        let mut batch = EventBatch::default();
        let mut events = vec![Vec::new()];
        let total = KEY_REQUEST_LOG_LIMIT + 500;
        for i in 0..total {
            for key in [1, 2] {
                let last = u8::try_from(i % 200).unwrap_or(0);
                events[0].push(Event::KeyUsed {
                    key,
                    at: t.plus_secs(i as i64),
                    ip: IpAddr::from([10, 0, 0, last]),
                    method: "GET",
                    path: LoggedPath::new(&format!("/api/v1/links/{i}")),
                    status: 200,
                    verified: true,
                });
            }
        }
        add_key_uses(&mut batch, &events);
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
    fn a_visit_lands_in_its_day_with_its_families_and_a_bot_apart() {
        let mut c = Classifier::default();
        let mut batch = EventBatch::default();
        let mut text = Vec::new();
        let mut visits = Vec::new();
        let t = Timestamp::from_unix(86_400 * 20_000 + 5);
        for (ua, referer) in [
            (
                &b"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"[..],
                &b"https://t.co/abc"[..],
            ),
            (b"Googlebot/2.1 (+http://www.google.com/bot.html)", b""),
        ] {
            let v = Visit {
                link: 7,
                day: Day::of(t),
                at: text.len() as u32,
                ua_len: ua.len() as u16,
                referer_len: referer.len() as u16,
                ip: None,
            };
            text.extend_from_slice(ua);
            text.extend_from_slice(referer);
            visits.push(v);
        }
        count_visits(&mut batch, &visits, &text, &mut c);
        assert_eq!(batch.clicks[&7], 2);
        let tally = &batch.days[&(Day(20_000), 7)];
        assert_eq!((tally.clicks, tally.bots), (1, 1));
        assert_eq!(tally.referrers["t.co"], 1);
        assert_eq!(tally.browsers["Firefox"], 1);
        assert_eq!(tally.os["Linux"], 1);
    }

    fn count_visits(batch: &mut EventBatch, visits: &[Visit], text: &[u8], c: &mut Classifier<'_>) {
        let texts = [text.to_vec()];
        let mut groups = VisitGroups::new(&texts, c.geoip);
        for v in visits {
            groups.add(v, 0);
        }
        groups.count(batch, c);
    }

    /// Many visits from a few browsers: each group is counted whole, apart by link, day,
    /// User-Agent and Referer, and the User-Agents are parsed once each.
    #[test]
    fn alike_visits_are_counted_in_groups_exactly() {
        let firefox =
            &b"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"[..];
        let bot = &b"Googlebot/2.1 (+http://www.google.com/bot.html)"[..];
        let mut text = Vec::new();
        let mut at = |ua: &[u8], referer: &[u8]| {
            let start = text.len() as u32;
            text.extend_from_slice(ua);
            text.extend_from_slice(referer);
            start
        };
        let day = Day(20_000);
        let visit = |link, day, at, ua: &[u8], referer: &[u8]| Visit {
            link,
            day,
            at,
            ua_len: ua.len() as u16,
            referer_len: referer.len() as u16,
            ip: None,
        };
        // The same bytes at different places in the text: groups of their own, one count.
        let spots: Vec<u32> = (0..3).map(|_| at(firefox, b"https://T.co/x")).collect();
        let other_ref = at(firefox, b"https://example.org/");
        let bot_at = at(bot, b"");
        let mut visits = Vec::new();
        for i in 0..900 {
            visits.push(visit(7, day, spots[i % 3], firefox, b"https://T.co/x"));
        }
        for _ in 0..50 {
            visits.push(visit(7, day, other_ref, firefox, b"https://example.org/"));
            visits.push(visit(
                7,
                Day(20_001),
                other_ref,
                firefox,
                b"https://example.org/",
            ));
            visits.push(visit(8, day, spots[0], firefox, b"https://T.co/x"));
            visits.push(visit(7, day, bot_at, bot, b""));
        }
        let mut c = Classifier::default();
        let mut batch = EventBatch::default();
        count_visits(&mut batch, &visits, &text, &mut c);
        assert_eq!(batch.clicks[&7], 1050);
        assert_eq!(batch.clicks[&8], 50);
        let tally = &batch.days[&(day, 7)];
        assert_eq!((tally.clicks, tally.bots), (950, 50));
        assert_eq!(tally.referrers["t.co"], 900);
        assert_eq!(tally.referrers["example.org"], 50);
        assert_eq!(tally.browsers["Firefox"], 950);
        assert_eq!(tally.os["Linux"], 950);
        let next_day = &batch.days[&(Day(20_001), 7)];
        assert_eq!(
            (next_day.clicks, next_day.referrers["example.org"]),
            (50, 50)
        );
        assert_eq!(batch.days[&(day, 8)].referrers["t.co"], 50);
        assert_eq!(c.cache.len(), 2, "two User-Agents, parsed once each");
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
    fn a_visits_country_is_looked_up_here_and_only_its_code_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("country.mmdb");
        let db = crate::store::geoip::mmdb::country_db(&[(
            std::net::Ipv4Addr::new(127, 0, 0, 0),
            8,
            "DE",
        )]);
        std::fs::write(&path, db).unwrap();
        let geo = GeoIp::open(&path).unwrap();
        let mut c = Classifier {
            geoip: Some(&geo),
            ..Classifier::default()
        };
        let mut batch = EventBatch::default();
        let text = b"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
        let t = Timestamp::from_unix(86_400 * 20_000 + 5);
        let visits: Vec<Visit> = [
            Some(IpAddr::from([127, 0, 0, 1])),
            Some(IpAddr::from([10, 1, 2, 3])),
            None,
        ]
        .into_iter()
        .map(|ip| Visit {
            link: 7,
            day: Day::of(t),
            at: 0,
            ua_len: text.len() as u16,
            referer_len: 0,
            ip,
        })
        .collect();
        count_visits(&mut batch, &visits, text, &mut c);
        let tally = &batch.days[&(Day(20_000), 7)];
        assert_eq!(tally.clicks, 3);
        assert_eq!(tally.countries["DE"], 1);
        assert_eq!(tally.countries[crate::store::geoip::UNKNOWN], 1);
        assert_eq!(tally.countries.len(), 2, "no address, no country");
    }

    #[test]
    fn a_referrer_cut_inside_a_character_keeps_its_host() {
        let mut raw = b"https://news.example.com/".to_vec();
        while raw.len() < MAX_REFERER_BYTES - 1 {
            raw.extend_from_slice("é".as_bytes());
        }
        raw.extend_from_slice("é".as_bytes());
        let cut = &raw[..MAX_REFERER_BYTES];
        assert!(
            std::str::from_utf8(cut).is_err(),
            "the cut falls inside a character"
        );
        assert_eq!(referrer_host(cut), Some("news.example.com"));
    }

    /// A sink with analytics on and no writer: its buffers are read by the test.
    fn analytics_sink() -> (EventSink, mpsc::Receiver<Msg>) {
        let (ctl, rx) = mpsc::channel();
        let sink = EventSink {
            buffers: Arc::new(Buffers::default()),
            ctl,
            analytics: true,
            geoip: false,
        };
        (sink, rx)
    }

    /// A batch is committed early when the shards hold `MAX_BATCH` events together, however
    /// few threads fill them: with one shard's share as the trigger, two workers asked for a
    /// commit every 6,250 events.
    #[test]
    fn a_batch_is_full_at_max_batch_events_across_the_threads_that_send() {
        let (sink, rx) = analytics_sink();
        let used = || Event::KeyUsed {
            key: 1,
            at: Timestamp::from_unix(1_800_000_000),
            ip: IpAddr::from([127, 0, 0, 1]),
            method: "GET",
            path: LoggedPath::new("/api/v1/links/1"),
            status: 200,
            verified: true,
        };
        // Each of two threads just under half a batch, in whole steps.
        let each = MAX_BATCH / 2 / COUNT_STEP * COUNT_STEP;
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for _ in 0..each {
                        sink.send(used());
                    }
                });
            }
        });
        assert!(
            rx.try_recv().is_err(),
            "no commit asked for below MAX_BATCH"
        );
        for _ in 0..2 * COUNT_STEP {
            sink.send(used());
        }
        assert!(matches!(rx.try_recv(), Ok(Msg::Full)));
        for _ in 0..4 * COUNT_STEP {
            sink.send(used());
        }
        assert!(rx.try_recv().is_err(), "asked once per batch");
    }

    #[test]
    fn a_shard_holds_bounded_header_text_when_the_writer_is_behind() {
        let (sink, _rx) = analytics_sink();
        let mut ua = [b'u'; MAX_UA_BYTES];
        let referer = [b'r'; MAX_REFERER_BYTES];
        let visits = MAX_SHARD_TEXT / (MAX_UA_BYTES + MAX_REFERER_BYTES) + 100;
        for i in 0..visits {
            // A flood of distinct User-Agents: none repeats the one before.
            ua[..8].copy_from_slice(&(i as u64).to_le_bytes());
            sink.visit(1, Timestamp::from_unix(1_800_000_000), &ua, &referer, None);
        }
        let buf = sink.buffers.shards[shard()].lock().unwrap();
        assert!(buf.text.len() <= MAX_SHARD_TEXT, "{}", buf.text.len());
        assert_eq!(buf.events.len(), visits, "every click is still counted");
        assert!(matches!(buf.events.last(), Some(Event::Click(1))));
    }

    /// Headers that repeat the visit before on the thread are kept once, and every visit
    /// still reads them; a change of either header is copied.
    #[test]
    fn repeated_headers_are_kept_once_per_run() {
        let (sink, _rx) = analytics_sink();
        let firefox = b"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
        let at = Timestamp::from_unix(1_800_000_000);
        for _ in 0..100 {
            sink.visit(1, at, firefox, b"https://t.co/a", None);
        }
        sink.visit(2, at, firefox, b"https://t.co/b", None);
        sink.visit(3, at, firefox, b"https://t.co/a", None);
        let buf = sink.buffers.shards[shard()].lock().unwrap();
        let once = firefox.len() + b"https://t.co/a".len();
        assert_eq!(buf.text.len(), 3 * once, "three runs, three copies");
        let texts = [buf.text.clone()];
        let visits: Vec<&Visit> = buf
            .events
            .iter()
            .map(|e| match e {
                Event::Visit(v) => v,
                other => panic!("a visit, not {other:?}"),
            })
            .collect();
        let mut groups = VisitGroups::new(&texts, None);
        for v in &visits {
            groups.add(v, 0);
        }
        let (mut batch, mut c) = (EventBatch::default(), Classifier::default());
        groups.count(&mut batch, &mut c);
        let day = Day::of(at);
        assert_eq!(batch.clicks[&1], 100);
        assert_eq!(batch.days[&(day, 1)].referrers["t.co"], 100);
        assert_eq!(batch.days[&(day, 2)].browsers["Firefox"], 1);
        assert_eq!(batch.days[&(day, 3)].clicks, 1);
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
