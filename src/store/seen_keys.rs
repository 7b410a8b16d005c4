//! Keys a worker thread has already verified, so that a key's next request skips the format
//! check, the checksum and SHA-256 (three quarters of the check, `KeyIndex::identify`).
//!
//! What was presented is known again by a tag: SipHash-2-4-128 of the prefix and the key
//! under a key drawn at random once per process. SipHash is a PRF, so without that key nobody
//! can present a different string with the tag of a cached key; and the tag, like the
//! index's SHA-256 digest, does not give the key back. The cache holds no secret in plain.
//!
//! Each thread's cache belongs to one index at one generation: any change to the index
//! (an edit, a revoke, a reload) moves its generation, and a thread finding another one
//! empties its cache first, so a changed key is looked up afresh on its very next request.
//! Expiry, rotation and the IP rule are judged on every request, hit or not (`verify`).

use std::cell::RefCell;
use std::hash::Hasher as _;
use std::sync::{Arc, OnceLock};

use hashbrown::HashMap;
use ring::rand::{SecureRandom, SystemRandom};
use siphasher::sip128::{Hasher128, SipHasher24};

use super::generation::{Generation, Stamp};
use super::key_index::KeyEntry;

/// Entries a thread keeps before it starts over: a few hundred keys in use at once is a busy
/// server; past that, the cost is one SHA-256 per miss, as without the cache.
const CAPACITY: usize = 512;

/// What a presented key hashes to in the cache.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag(u128);

impl Tag {
    /// The tag of `presented` under `prefix` (so a changed `keys.prefix` misses), or `None`
    /// when the system gave no random key (the cache is then off).
    pub fn of(prefix: &str, presented: &str) -> Option<Self> {
        static SECRET: OnceLock<Option<[u64; 2]>> = OnceLock::new();
        let [k0, k1] = (*SECRET.get_or_init(|| {
            let mut bytes = [0u8; 16];
            SystemRandom::new().fill(&mut bytes).ok()?;
            let (a, b) = bytes.split_at(8);
            Some([
                u64::from_le_bytes(a.try_into().ok()?),
                u64::from_le_bytes(b.try_into().ok()?),
            ])
        }))?;
        let mut h = SipHasher24::new_with_keys(k0, k1);
        h.write(prefix.as_bytes());
        // A separator no prefix holds: ("ab", "c…") and ("a", "bc…") hash apart.
        h.write_u8(0xff);
        h.write(presented.as_bytes());
        Some(Self(h.finish128().as_u128()))
    }
}

#[derive(Default)]
struct Seen {
    stamp: Stamp,
    keys: HashMap<Tag, Arc<KeyEntry>>,
}

thread_local! {
    static SEEN: RefCell<Seen> = RefCell::new(Seen::default());
}

/// The key index's side of the cache is its `Generation`.
impl Generation {
    /// The key this thread verified under `tag` since the index last changed.
    pub fn recall(&self, tag: Tag) -> Option<Arc<KeyEntry>> {
        let stamp = self.now();
        SEEN.with(|seen| {
            let mut seen = seen.borrow_mut();
            if seen.stamp != stamp {
                // Stale: let go of the old entries now, not at this thread's next miss (a
                // quiet thread would hold them, and the rules they share, indefinitely).
                seen.keys.clear();
                seen.stamp = stamp;
                return None;
            }
            seen.keys.get(&tag).cloned()
        })
    }

    /// Keep `key`, found under `tag` in the index as it was at `at`.
    pub fn remember(&self, at: Stamp, tag: Tag, key: &Arc<KeyEntry>) {
        SEEN.with(|seen| {
            let mut seen = seen.borrow_mut();
            if seen.stamp != at || seen.keys.len() >= CAPACITY {
                seen.keys.clear();
                seen.stamp = at;
            }
            seen.keys.insert(tag, Arc::clone(key));
        });
    }
}
