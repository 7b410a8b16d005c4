//! How a per-thread cache of a shared read model knows it went stale without a lock: the
//! model carries a `Generation`, moved by every change, and each cached entry keeps the
//! `Stamp` it was made under. Used by the key index (`seen_keys`) and the catalog (the
//! keyed read's JSON, `api::links`).

use std::sync::atomic::{AtomicU64, Ordering};

/// A model's identity and generation at one moment, as a thread's cache records it. Models
/// are numbered process-wide, so two models never share a stamp, even in one process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stamp {
    model: u64,
    generation: u64,
}

/// A model's side of the cache: who it is and how often it changed.
pub struct Generation {
    model: u64,
    changes: AtomicU64,
}

impl Default for Generation {
    fn default() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self {
            model: NEXT.fetch_add(1, Ordering::Relaxed),
            changes: AtomicU64::new(0),
        }
    }
}

impl Generation {
    /// The model changes: every thread's cache of it is stale. Called under the model's
    /// write lock, before the change, so a stamp is only current if it was read under the
    /// read lock (as `Catalog::with_link` does) or before looking in the model.
    pub fn bump(&self) {
        self.changes.fetch_add(1, Ordering::Release);
    }

    /// Read before looking in the model (or under its read lock), and kept with what was
    /// found there: a change that lands in between moves the generation, so that entry is
    /// never taken for the current one.
    pub fn now(&self) -> Stamp {
        Stamp {
            model: self.model,
            generation: self.changes.load(Ordering::Acquire),
        }
    }
}
