//! [`NonceStore`]: remembers the nonces of accepted launches so none is accepted twice.
//!
//! A launch is identified by consumer key + nonce + timestamp (RFC 5849 §3.3: a nonce is unique
//! per timestamp and client). An entry only has to live as long as its timestamp is inside the
//! verifier's window; after that the timestamp check rejects a replay by itself. The verifier
//! accepts a timestamp up to `window` seconds old, inclusive, so the store keeps each entry until
//! `timestamp + window + 1`, the first second at which the timestamp itself is refused (an entry
//! that expired at `timestamp + window` let a launch exactly `window` seconds old be replayed at
//! that second, as often as the attacker liked).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use sha2::{Digest, Sha256};

/// One launch's replay-protection key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NonceKey<'a> {
    /// The OAuth consumer key.
    pub consumer_key: &'a str,
    /// The `oauth_nonce`.
    pub nonce: &'a str,
    /// The `oauth_timestamp` (Unix seconds).
    pub timestamp: i64,
}

/// What a [`NonceStore`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceCheck {
    /// The key was new and is now remembered.
    Fresh,
    /// The key was seen before and has not expired: a replay.
    Replayed,
}

/// Remembers launch nonces until they expire.
///
/// # Contract
/// * `check_and_remember` is atomic: of two concurrent calls with the same key, exactly one sees
///   [`NonceCheck::Fresh`].
/// * An entry counts until `expires_at` (Unix seconds); at or after that it may be forgotten.
/// * A store keeps its memory bounded. When it cannot take a new key (full, or a shared store
///   is unreachable) it returns [`crate::Error::Unavailable`]; it never forgets an unexpired key to
///   make room, since that would let a replay through.
///
/// [`InMemoryNonceStore`] serves one hub process; a store shared by several hub processes can
/// implement this trait later.
#[async_trait]
pub trait NonceStore: Send + Sync + Debug + 'static {
    /// Records `key` unless it is already present and unexpired at `now`.
    ///
    /// # Errors
    /// [`crate::Error::Unavailable`] when the key cannot be recorded.
    async fn check_and_remember(
        &self,
        key: NonceKey<'_>,
        expires_at: i64,
        now: i64,
    ) -> crate::Result<NonceCheck>;
}

macro_rules! forward_nonce_store {
    ($ty:ty) => {
        #[deny(clippy::missing_trait_methods)]
        #[async_trait]
        impl<T: NonceStore + ?Sized> NonceStore for $ty {
            async fn check_and_remember(
                &self,
                key: NonceKey<'_>,
                expires_at: i64,
                now: i64,
            ) -> crate::Result<NonceCheck> {
                (**self).check_and_remember(key, expires_at, now).await
            }
        }
    };
}

forward_nonce_store!(Arc<T>);
forward_nonce_store!(Box<T>);

/// A fixed-size digest of a [`NonceKey`], so every entry costs the same memory whatever the
/// nonce's length.
type Digest32 = [u8; 32];

fn digest(key: &NonceKey<'_>) -> Digest32 {
    let mut h = Sha256::new();
    // Length prefixes keep ("ab","c") and ("a","bc") apart.
    h.update((key.consumer_key.len() as u64).to_be_bytes());
    h.update(key.consumer_key.as_bytes());
    h.update((key.nonce.len() as u64).to_be_bytes());
    h.update(key.nonce.as_bytes());
    h.update(key.timestamp.to_be_bytes());
    h.finalize().into()
}

#[derive(Debug, Default)]
struct Entries {
    expiry_of: HashMap<Digest32, i64>,
    by_expiry: BinaryHeap<Reverse<(i64, Digest32)>>,
}

impl Entries {
    fn purge_expired(&mut self, now: i64) {
        while let Some(Reverse((expires_at, d))) = self.by_expiry.peek().copied() {
            if expires_at > now {
                break;
            }
            self.by_expiry.pop();
            if self.expiry_of.get(&d) == Some(&expires_at) {
                self.expiry_of.remove(&d);
            }
        }
    }
}

/// A bounded, process-local [`NonceStore`].
///
/// It holds at most `capacity` unexpired entries (about 100 bytes each). Expired entries are
/// dropped on every call. When `capacity` unexpired entries are present, new launches are refused
/// with [`crate::Error::Unavailable`] (the hub answers 503) until the oldest expire — at most one
/// timestamp window later. Evicting unexpired entries instead would reopen the replay hole, and
/// an unbounded map is how ltiauthenticator's store became a memory-exhaustion CVE. Only launches
/// with a valid signature reach the store, so filling it needs a consumer's secret.
///
/// # Example
/// ```
/// use lticontainer_core::auth::{InMemoryNonceStore, NonceCheck, NonceKey, NonceStore};
/// # async fn demo() -> lticontainer_core::Result<()> {
/// let store = InMemoryNonceStore::new(10_000);
/// let key = NonceKey { consumer_key: "moodle", nonce: "abc", timestamp: 1_700_000_000 };
/// assert_eq!(store.check_and_remember(key, 1_700_000_300, 1_700_000_000).await?, NonceCheck::Fresh);
/// assert_eq!(store.check_and_remember(key, 1_700_000_300, 1_700_000_001).await?, NonceCheck::Replayed);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct InMemoryNonceStore {
    capacity: usize,
    entries: Mutex<Entries>,
}

impl InMemoryNonceStore {
    /// A store for at most `capacity` unexpired nonces (a capacity of 0 refuses every launch).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(Entries::default()),
        }
    }

    /// The maximum number of unexpired nonces.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many entries are held now (expired ones are counted until the next call drops them).
    pub fn len(&self) -> usize {
        self.lock().expiry_of.len()
    }

    /// True when no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn check_and_remember_sync(
        &self,
        key: NonceKey<'_>,
        expires_at: i64,
        now: i64,
    ) -> crate::Result<NonceCheck> {
        let d = digest(&key);
        let mut entries = self.lock();
        entries.purge_expired(now);
        if entries.expiry_of.get(&d).is_some_and(|&e| e > now) {
            return Ok(NonceCheck::Replayed);
        }
        if expires_at <= now {
            // Already expired: nothing to remember, and the verifier's window rejects a replay.
            return Ok(NonceCheck::Fresh);
        }
        if entries.expiry_of.len() >= self.capacity {
            return Err(crate::Error::unavailable(
                "nonce store",
                format!(
                    "it holds {} unexpired launch nonces, its capacity (lti.nonce_capacity); new launches \
                     are refused until the oldest expire; raise the capacity if this many launches per \
                     timestamp window are expected",
                    self.capacity
                ),
            ));
        }
        entries.expiry_of.insert(d, expires_at);
        entries.by_expiry.push(Reverse((expires_at, d)));
        Ok(NonceCheck::Fresh)
    }
}

#[async_trait]
impl NonceStore for InMemoryNonceStore {
    async fn check_and_remember(
        &self,
        key: NonceKey<'_>,
        expires_at: i64,
        now: i64,
    ) -> crate::Result<NonceCheck> {
        self.check_and_remember_sync(key, expires_at, now)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key(nonce: &str, timestamp: i64) -> NonceKey<'_> {
        NonceKey {
            consumer_key: "moodle",
            nonce,
            timestamp,
        }
    }

    #[test]
    fn replay_is_detected_until_expiry() {
        let s = InMemoryNonceStore::new(4);
        let k = key("n1", 1000);
        assert_eq!(
            s.check_and_remember_sync(k, 1300, 1000).unwrap(),
            NonceCheck::Fresh
        );
        assert_eq!(
            s.check_and_remember_sync(k, 1300, 1299).unwrap(),
            NonceCheck::Replayed
        );
        assert_eq!(
            s.check_and_remember_sync(k, 1300, 1300).unwrap(),
            NonceCheck::Fresh
        );
    }

    #[test]
    fn key_parts_all_count() {
        let s = InMemoryNonceStore::new(10);
        let base = key("n", 1000);
        assert_eq!(
            s.check_and_remember_sync(base, 2000, 1000).unwrap(),
            NonceCheck::Fresh
        );
        for other in [
            key("n", 1001),
            key("m", 1000),
            NonceKey {
                consumer_key: "other",
                ..base
            },
        ] {
            assert_eq!(
                s.check_and_remember_sync(other, 2000, 1000).unwrap(),
                NonceCheck::Fresh
            );
        }
        assert_eq!(s.len(), 4);
    }

    #[test]
    fn length_prefix_separates_keys() {
        let a = NonceKey {
            consumer_key: "ab",
            nonce: "c",
            timestamp: 1,
        };
        let b = NonceKey {
            consumer_key: "a",
            nonce: "bc",
            timestamp: 1,
        };
        assert_ne!(digest(&a), digest(&b));
    }

    #[test]
    fn full_store_refuses_then_recovers_when_entries_expire() {
        let s = InMemoryNonceStore::new(2);
        s.check_and_remember_sync(key("a", 1000), 1300, 1000)
            .unwrap();
        s.check_and_remember_sync(key("b", 1100), 1400, 1100)
            .unwrap();
        let err = s
            .check_and_remember_sync(key("c", 1200), 1500, 1200)
            .unwrap_err();
        assert!(matches!(err, crate::Error::Unavailable { .. }), "{err}");
        assert!(err.to_string().contains("capacity"), "{err}");
        // A replay is still reported as a replay, not as "full".
        assert_eq!(
            s.check_and_remember_sync(key("a", 1000), 1300, 1200)
                .unwrap(),
            NonceCheck::Replayed
        );
        // Once "a" expires, there is room again; "b" is still remembered.
        assert_eq!(
            s.check_and_remember_sync(key("c", 1200), 1500, 1300)
                .unwrap(),
            NonceCheck::Fresh
        );
        assert_eq!(s.len(), 2);
        assert_eq!(
            s.check_and_remember_sync(key("b", 1100), 1400, 1301)
                .unwrap(),
            NonceCheck::Replayed
        );
    }

    #[test]
    fn expired_keys_are_not_stored() {
        let s = InMemoryNonceStore::new(1);
        assert_eq!(
            s.check_and_remember_sync(key("a", 0), 10, 10).unwrap(),
            NonceCheck::Fresh
        );
        assert!(s.is_empty());
    }

    #[test]
    fn zero_capacity_refuses_everything() {
        let s = InMemoryNonceStore::new(0);
        assert!(s.check_and_remember_sync(key("a", 0), 10, 0).is_err());
    }
}
