//! The state every request may need, shared by all workers, and the one operation that
//! changes it as a whole: reloading the configuration file.

mod passwords;
mod team;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::audit::{Action, Actor, By, Entry};
use crate::config::{Config, SharedConfig};
use crate::limiter::FailureLimiter;
use crate::metrics::Metrics;
use crate::store::writer::{Event, EventSink};
use crate::store::{BackupInfo, Store, StoreError};
use crate::telemetry;

pub use self::passwords::{Busy, PasswordChecker};

pub struct AppState {
    pub config: SharedConfig,
    pub store: Arc<Store>,
    pub events: EventSink,
    /// Failed API-key checks per client address.
    pub key_failures: FailureLimiter,
    /// Failed sign-ins per client address and username: separate, so bad keys never lock
    /// anyone out of the UI, and per username, so one person's typos do not lock out the
    /// others behind the same address.
    pub sign_in_failures: FailureLimiter,
    /// Failed sign-ins per client address over all usernames (password spraying).
    pub sign_in_failures_by_ip: FailureLimiter,
    /// Password checks, on their own low-priority threads.
    pub passwords: PasswordChecker,
    /// Imports running at once: `import.max_concurrent`, read at start.
    pub imports: Slots,
    pub metrics: Metrics,
    pub rng: ring::rand::SystemRandom,
    pub config_path: Option<PathBuf>,
    /// Held for a whole reload, so the watcher and SIGHUP never interleave (one could
    /// otherwise swap in its older file after the other applied a newer one).
    reloading: Mutex<()>,
}

impl AppState {
    pub fn new(
        config: Config,
        config_path: Option<PathBuf>,
        store: Arc<Store>,
        events: EventSink,
    ) -> std::io::Result<Self> {
        Ok(Self {
            imports: Slots::new(config.import.max_concurrent),
            config: SharedConfig::new(config),
            store,
            events,
            key_failures: FailureLimiter::default(),
            sign_in_failures: FailureLimiter::default(),
            sign_in_failures_by_ip: FailureLimiter::default(),
            passwords: PasswordChecker::start(
                PasswordChecker::default_threads(),
                passwords::QUEUE_WAIT,
            )?,
            metrics: Metrics::default(),
            rng: ring::rand::SystemRandom::new(),
            config_path,
            reloading: Mutex::new(()),
        })
    }

    /// Re-read the config file: parse and validate it whole, apply the declared resources in
    /// one transaction, then swap. Anything wrong keeps the running configuration; a file
    /// that says what is already running changes nothing. One reload at a time.
    pub fn reload(&self) {
        let Some(path) = &self.config_path else {
            return;
        };
        let _one_at_a_time = self
            .reloading
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let running = self.config.current();
        let by = By::new(Actor::config(path.display().to_string()), None);
        let refuse = |e: &dyn std::fmt::Display| {
            Metrics::inc(&self.metrics.config_reload_errors);
            tracing::error!(error = %e, "config change refused; keeping the running configuration");
            // The first line only: a parse error goes on to quote the file's line, which may
            // hold a password hash. The log has the whole message.
            let text = e.to_string();
            let first: String = text
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(300)
                .collect();
            self.audit(Entry::new(&by, Action::ConfigRefused).detail(first));
        };
        let mut next = match Config::load(Some(path)) {
            Ok(c) => c,
            Err(e) => return refuse(&e),
        };
        // The running config holds only a fingerprint of its keys: so must `next` to compare.
        let declared = next.take_declared();
        if next == **running {
            return;
        }
        for setting in running.restart_only_changes(&next) {
            tracing::warn!(
                setting,
                "this setting changed in the file but needs a restart to take effect"
            );
        }
        let next = next.keeping_restart_only(&running);
        match self.store.apply_declared(declared) {
            Ok(report) => {
                for host in &report.kept {
                    tracing::warn!(domain = %host, "domain removed from the config file is kept because links or keys use it");
                }
            }
            Err(e) => return refuse(&e),
        }
        telemetry::set_level(next.log.level);
        telemetry::set_access(next.log.access);
        self.config.replace(next);
        Metrics::inc(&self.metrics.config_reloads);
        tracing::info!(path = %path.display(), "configuration reloaded");
        self.audit(Entry::new(&by, Action::ConfigReloaded));
    }

    /// Record an activity-log entry that has no store write of its own (a sign-in, an
    /// export, a reload), through the batched writer: it costs the request one push into a
    /// buffer, and is committed within half a second. A change that is a store write records
    /// its entry in that transaction instead (`store::audit::record`).
    pub fn audit(&self, entry: Entry) {
        self.events.send(Event::Audit(entry));
    }
}

impl AppState {
    /// Back up the database into the configured `storage.backup_dir`: the one operation
    /// behind `POST /api/v1/backup` and `linkdock backup` (through the control socket).
    /// Blocking: call it off the async workers.
    pub fn backup(&self, by: &By) -> Result<BackupInfo, StoreError> {
        let dir = self.config.current().storage.backup_dir();
        match self.store.backup(&dir) {
            Ok(info) => {
                self.audit(
                    Entry::new(by, Action::BackupCreated)
                        .target(info.name.clone())
                        .detail(format!("{} bytes", info.bytes)),
                );
                tracing::info!(
                    by = %by.actor.name,
                    file = %info.path.display(),
                    bytes = info.bytes,
                    ms = info.took.as_millis() as u64,
                    "backup written"
                );
                Ok(info)
            }
            Err(e) => {
                tracing::error!(by = %by.actor.name, dir = %dir.display(), error = %e, "backup failed");
                Err(e)
            }
        }
    }
}

/// A fixed number of slots for work whose memory must stay bounded however many ask: a slot is
/// held until its permit drops, and whoever cannot get one within a wait is refused, never
/// queued without bound.
pub struct Slots(Arc<Semaphore>);

impl Slots {
    pub fn new(n: usize) -> Self {
        Self(Arc::new(Semaphore::new(n.max(1))))
    }

    /// A slot, waiting at most `wait` for one; `Busy` says when to try again.
    pub async fn take(&self, wait: Duration) -> Result<OwnedSemaphorePermit, Busy> {
        let busy = Busy(wait.as_secs_f64().ceil().max(1.0) as u64);
        tokio::time::timeout(wait, Arc::clone(&self.0).acquire_owned())
            .await
            .map_err(|_| busy)?
            .map_err(|_| busy)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;
    use crate::store::writer::Writer;

    #[test]
    fn a_reload_waits_for_the_one_already_running() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("linkdock.toml");
        let mut config = Config::embedded();
        config.storage.data_dir = dir.path().join("data");
        std::fs::write(
            &path,
            format!(
                "[storage]\ndata_dir = {:?}\n[[domains]]\nhostname = \"one.example.com\"\n",
                config.storage.data_dir
            ),
        )
        .unwrap();
        let store = Store::open(&config.storage.data_dir).unwrap();
        let writer = Writer::spawn(Arc::clone(&store)).unwrap();
        let st = Arc::new(AppState::new(config, Some(path), store, writer.sink()).unwrap());

        // Another reload (the watcher, say) is under way.
        let running = st.reloading.lock().unwrap();
        let (done, finished) = mpsc::channel();
        let sighup = {
            let st = Arc::clone(&st);
            std::thread::spawn(move || {
                st.reload();
                done.send(()).unwrap();
            })
        };
        assert!(finished.recv_timeout(Duration::from_millis(100)).is_err());
        assert!(
            st.config.current().domains.is_empty(),
            "nothing applied yet"
        );
        drop(running);
        finished.recv().unwrap();
        sighup.join().unwrap();
        assert_eq!(st.config.current().domains.len(), 1);
        drop(st);
        writer.shutdown();
    }
}
