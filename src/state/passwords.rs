//! Password checks, off the request workers. PBKDF2 is deliberately slow (600,000 rounds), so
//! a flood of wrong sign-ins must not be able to starve redirects and API calls: checks run on
//! a few dedicated threads at the lowest scheduling priority, at most one per thread at a
//! time; an attempt that cannot get a thread within a short wait is refused (429) instead of
//! queueing without bound.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{oneshot, Semaphore};

use crate::domain::{Password, PasswordHash};

/// How long a sign-in waits for a free hashing thread before it is refused.
pub const QUEUE_WAIT: Duration = Duration::from_secs(2);

/// The pool is busy: try again after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy(pub u64);

/// Work for a hashing thread: a PBKDF2 check or a new hash, with its reply inside.
type Job = Box<dyn FnOnce() + Send>;

pub struct PasswordChecker {
    slots: Arc<Semaphore>,
    jobs: Mutex<mpsc::Sender<Job>>,
    queue_wait: Duration,
}

impl PasswordChecker {
    /// Start `threads` hashing threads; an attempt waits at most `queue_wait` for one.
    pub fn start(threads: usize, queue_wait: Duration) -> std::io::Result<Self> {
        let threads = threads.max(1);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = Arc::clone(&rx);
            std::thread::Builder::new()
                .name(format!("linkdock-passwords-{i}"))
                .spawn(move || run(&rx))?;
        }
        Ok(Self {
            slots: Arc::new(Semaphore::new(threads)),
            jobs: Mutex::new(tx),
            queue_wait,
        })
    }

    /// One thread per two cores: the rest of the machine stays with the requests.
    pub fn default_threads() -> usize {
        std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
    }

    /// Check `password` against `hash` (or against a dummy, for an unknown user, so that an
    /// unknown name takes as long as a wrong password).
    pub async fn check(&self, hash: Option<PasswordHash>, password: String) -> Result<bool, Busy> {
        self.run(move || match hash {
            Some(h) => h.verify(&password),
            None => {
                PasswordHash::verify_dummy(&password);
                false
            }
        })
        .await
    }

    /// Hash a new password (as slow as a check, so it runs here too).
    pub async fn hash(&self, password: Password) -> Result<Option<PasswordHash>, Busy> {
        self.run(move || PasswordHash::new(&password, &ring::rand::SystemRandom::new()).ok())
            .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let busy = Busy(self.queue_wait.as_secs().max(1));
        let permit = tokio::time::timeout(self.queue_wait, Arc::clone(&self.slots).acquire_owned())
            .await
            .map_err(|_| busy)?
            .map_err(|_| busy)?;
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = reply.send(work());
        });
        let sent = self
            .jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send(job);
        if sent.is_err() {
            return Err(busy);
        }
        let out = answer.await.map_err(|_| busy)?;
        drop(permit);
        Ok(out)
    }
}

fn run(jobs: &Mutex<mpsc::Receiver<Job>>) {
    lower_priority();
    loop {
        let job = {
            let rx = jobs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            rx.recv()
        };
        let Ok(job) = job else { return };
        job();
    }
}

/// Nice 19: the thread gets the CPU that requests leave over (still some under full load).
fn lower_priority() {
    use thread_priority::{
        set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy,
        ThreadPriority, ThreadSchedulePolicy,
    };
    let lowest = set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Min,
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other),
    );
    if let Err(e) = lowest {
        tracing::warn!(error = ?e, "could not lower the password threads' priority; sign-in floods may slow other requests");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_run_on_low_priority_threads_and_answer() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let pool = PasswordChecker::start(1, QUEUE_WAIT).unwrap();
        let hash = PasswordHash::new(
            &Password::parse("correct horse".into()).unwrap(),
            &ring::rand::SystemRandom::new(),
        )
        .unwrap();
        rt.block_on(async {
            assert_eq!(
                pool.check(Some(hash.clone()), "correct horse".into()).await,
                Ok(true)
            );
            assert_eq!(pool.check(Some(hash), "wrong".into()).await, Ok(false));
            assert_eq!(pool.check(None, "anything".into()).await, Ok(false));
        });
        // The worker's nice value, read from /proc (Linux).
        let nice = std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("stat")).ok())
            .filter(|s| s.contains("(linkdock-passwo"))
            .map(|s| {
                let after = &s[s.rfind(')').unwrap() + 2..];
                after.split(' ').nth(16).unwrap().parse::<i32>().unwrap()
            })
            .next();
        assert_eq!(nice, Some(19));
    }

    #[test]
    fn an_attempt_that_cannot_get_a_thread_in_time_is_refused() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let pool = PasswordChecker::start(1, Duration::from_millis(50)).unwrap();
        rt.block_on(async {
            let _held = Arc::clone(&pool.slots).acquire_owned().await.unwrap();
            let refused = pool.check(None, "x".into()).await;
            assert_eq!(refused, Err(Busy(1)));
        });
    }
}
