//! [`NonceStore`]: remembers each signature nonce for its window, so a replay is refused;
//! [`MemoryNonceStore`], the in-process one.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use auth_core::{SharedClock, SystemClock};

/// A nonce store could not decide.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store is unreachable. The request is refused (fail closed, 503).
    #[error("nonce store unavailable: {0}")]
    Unavailable(String),
    /// The store holds as many live nonces as it may; forgetting one early would reopen its
    /// replay window, so the request is refused instead (fail closed, 503).
    #[error("nonce store full ({max} live nonces)")]
    Full {
        /// The bound.
        max: usize,
    },
}

/// Remembers nonces until they expire: the replay defence of RFC 9421 signatures (§7.2.2)
/// and of timestamped webhook signatures.
///
/// The verifier calls [`NonceStore::insert_if_absent`] once per request, after the
/// signature has been verified (so forged requests cannot fill the store). Keys are scoped
/// by the caller (`keyid` and nonce), so clients cannot collide with each other.
///
/// [`MemoryNonceStore`] serves one instance; several instances behind a load balancer need
/// a shared store (`RedisNonceStore`, feature `redis`), or a replay to another instance succeeds.
#[async_trait]
pub trait NonceStore: Send + Sync + fmt::Debug + 'static {
    /// Records `nonce` until `expires_at`, atomically: `Ok(true)` when it was not already
    /// recorded (first use), `Ok(false)` when it was (a replay).
    async fn insert_if_absent(
        &self,
        nonce: &str,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError>;

    /// [`insert_if_absent`](Self::insert_if_absent) for a store that answers without waiting
    /// (an in-process map): `Some` with what `insert_if_absent` would return (the nonce is
    /// recorded), or `None` (the default; nothing was done) when the store must be asked
    /// with `insert_if_absent`. The verifiers try it first, so an in-memory store costs no
    /// boxed future per request.
    ///
    /// # Errors
    ///
    /// Inside the `Some`: what `insert_if_absent` would return.
    fn insert_if_absent_now(
        &self,
        nonce: &str,
        expires_at: SystemTime,
    ) -> Option<Result<bool, StoreError>> {
        let _ = (nonce, expires_at);
        None
    }
}

#[async_trait]
impl<T: NonceStore + ?Sized> NonceStore for std::sync::Arc<T> {
    async fn insert_if_absent(
        &self,
        nonce: &str,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError> {
        (**self).insert_if_absent(nonce, expires_at).await
    }

    fn insert_if_absent_now(
        &self,
        nonce: &str,
        expires_at: SystemTime,
    ) -> Option<Result<bool, StoreError>> {
        (**self).insert_if_absent_now(nonce, expires_at)
    }
}

/// A nonce's fingerprint: the nonce hashed by std's randomly keyed hasher ([`RandomState`],
/// SipHash-1-3 with a 128-bit key today; std does not promise the algorithm, only that the
/// key is random per `RandomState`). The store keeps fingerprints, not nonces: no allocation per
/// request, eight bytes per entry, and a lookup that hashes nothing more.
///
/// Two distinct nonces share a fingerprint with probability 2^-64, and the key is secret to
/// the process, so nobody can make them collide on purpose. A collision can only refuse a
/// fresh nonce as a replay (the client signs again with a new one), with probability at most
/// `n / 2^64` for `n` live nonces (below 6e-14 at the default bound); a replay always has the
/// same fingerprint as its original, so it is always refused.
type Fingerprint = u64;

/// Hashes a [`Fingerprint`] to itself: it is already uniform (a keyed PRF's output), so
/// hashing it again would only cost time.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used (the map's keys are `u64`); anything else still hashes.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

type FingerprintMap = HashMap<Fingerprint, SystemTime, BuildHasherDefault<PassThrough>>;

struct Entries {
    /// The fingerprint of each nonce held, with the time it may be forgotten.
    map: FingerprintMap,
    /// The same fingerprints by expiry, in one-second buckets (bucket `k` holds those whose
    /// time is in `(k - 1, k]` seconds after the Unix epoch), soonest first: the sweep takes
    /// from the first bucket only, so it never walks the live entries, and a bucket is a
    /// contiguous vector (cheap to take from, whatever the store's size).
    buckets: BTreeMap<u64, Vec<Fingerprint>>,
}

/// Forgets `nonce` if its time has come. The nonce may have been recorded again (after it
/// expired) with a later time: then its bucket entry is stale and the nonce stays.
fn forget_if_expired(map: &mut FingerprintMap, nonce: Fingerprint, now: SystemTime) {
    if let std::collections::hash_map::Entry::Occupied(entry) = map.entry(nonce)
        && *entry.get() <= now
    {
        entry.remove();
    }
}

/// The bucket of an expiry time: its Unix time in seconds, rounded up.
fn bucket_of(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| {
        d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0))
    })
}

impl Entries {
    /// Forgets at most `budget` nonces of the buckets whose time has fully come, soonest
    /// first.
    fn sweep(&mut self, now: SystemTime, budget: usize) {
        // Bucket `k` is all expired when `k <= now` (its nonces' times are at most `k`).
        let done = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut left = budget;
        while left > 0 {
            let Some(mut first) = self.buckets.first_entry() else {
                return;
            };
            if *first.key() > done {
                return;
            }
            let bucket = first.get_mut();
            while left > 0 {
                let Some(nonce) = bucket.pop() else {
                    break;
                };
                left -= 1;
                forget_if_expired(&mut self.map, nonce, now);
            }
            if bucket.is_empty() {
                first.remove();
            }
        }
    }

    /// When full: the first bucket may also hold nonces that expired less than a second
    /// ago (the only ones that may have, outside the swept buckets); forget at most
    /// `budget` of its entries that have.
    fn sweep_first_bucket(&mut self, now: SystemTime, budget: usize) {
        let Some(mut first) = self.buckets.first_entry() else {
            return;
        };
        let bucket = first.get_mut();
        let mut i = bucket.len();
        let mut left = budget;
        while i > 0 && left > 0 {
            i -= 1;
            left -= 1;
            let expired = self.map.get(&bucket[i]).is_none_or(|until| *until <= now);
            if expired {
                let nonce = bucket.swap_remove(i);
                forget_if_expired(&mut self.map, nonce, now);
            }
        }
        if bucket.is_empty() {
            first.remove();
        }
    }

    fn push_expiry(&mut self, nonce: Fingerprint, at: SystemTime) {
        self.buckets.entry(bucket_of(at)).or_default().push(nonce);
    }
}

/// An in-process [`NonceStore`] with expiry read from a [`Clock`](auth_core::Clock) and
/// bounded memory.
///
/// Expired nonces are swept incrementally: each insertion forgets at most a few of the
/// nonces whose time has come (soonest first, from one-second buckets by expiry), so the work
/// per request is bounded — no request pays for a pass over the whole store — and the
/// store never holds more expired nonces than it has seen insertions since they expired.
/// When the store is full and no nonce has expired, new nonces are refused with
/// [`StoreError::Full`] (the request gets 503) rather than forgetting live ones, which would
/// reopen their replay window.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::time::Duration;
/// use auth_core::{Clock, ManualClock};
/// use auth_hmac::{MemoryNonceStore, NonceStore};
///
/// let clock = ManualClock::starting_now();
/// let store = MemoryNonceStore::new(clock.shared());
/// let until = clock.now() + Duration::from_secs(300);
/// assert!(store.insert_if_absent("k1:abc", until).await?);
/// assert!(!store.insert_if_absent("k1:abc", until).await?, "a replay");
/// clock.advance(Duration::from_secs(301));
/// assert!(store.insert_if_absent("k1:abc", clock.now()).await?, "expired, forgotten");
/// # Ok::<(), auth_hmac::StoreError>(())
/// # }).unwrap();
/// ```
pub struct MemoryNonceStore {
    clock: SharedClock,
    max_entries: usize,
    /// The fingerprint key (random per store).
    fingerprints: RandomState,
    entries: Mutex<Entries>,
}

impl MemoryNonceStore {
    /// The default bound on live nonces: one million (at the default 300 s window, over
    /// 3,000 signed requests a second).
    pub const DEFAULT_MAX_ENTRIES: usize = 1_000_000;

    /// How many expired nonces one insertion forgets at most. More than one, so the sweep
    /// outpaces insertions and catches up after a burst.
    const SWEEP_BUDGET: usize = 8;

    /// How many more a full store forgets at most before it refuses a nonce.
    const FULL_SWEEP_BUDGET: usize = 256;

    /// A store reading time from `clock`.
    #[must_use]
    pub fn new(clock: SharedClock) -> Self {
        Self {
            clock,
            max_entries: Self::DEFAULT_MAX_ENTRIES,
            fingerprints: RandomState::new(),
            entries: Mutex::new(Entries {
                map: FingerprintMap::default(),
                buckets: BTreeMap::new(),
            }),
        }
    }

    /// A store on the system clock.
    #[must_use]
    pub fn with_system_clock() -> Self {
        Self::new(SystemClock::shared())
    }

    /// Sets the bound on live nonces (at least 1).
    #[must_use]
    pub fn max_entries(mut self, max_entries: usize) -> Self {
        self.max_entries = max_entries.max(1);
        self
    }

    /// Number of live nonces held. Expired nonces not yet swept are forgotten first (this
    /// is not a request-path call; its work is what the incremental sweep had left).
    #[must_use]
    pub fn len(&self) -> usize {
        let now = self.clock.now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.sweep(now, usize::MAX);
        entries.sweep_first_bucket(now, usize::MAX);
        entries.map.len()
    }

    /// Whether the store holds no live nonce.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What `insert_if_absent` does: the store never waits.
    fn insert(&self, nonce: &str, expires_at: SystemTime) -> Result<bool, StoreError> {
        let nonce = self.fingerprints.hash_one(nonce);
        let now = self.clock.now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(until) = entries.map.get_mut(&nonce) {
            if *until > now {
                return Ok(false);
            }
            // Expired, not yet swept: a first use again, remembered until `expires_at`.
            *until = expires_at;
            entries.push_expiry(nonce, expires_at);
            entries.sweep(now, Self::SWEEP_BUDGET);
            return Ok(true);
        }
        // Bounded work: a few expired nonces, soonest first.
        entries.sweep(now, Self::SWEEP_BUDGET);
        if entries.map.len() >= self.max_entries {
            // Full: try harder (still bounded) before refusing, including the nonces of the
            // first bucket that expired within the last second.
            entries.sweep(now, Self::FULL_SWEEP_BUDGET);
            entries.sweep_first_bucket(now, Self::FULL_SWEEP_BUDGET);
        }
        if entries.map.len() >= self.max_entries {
            return Err(StoreError::Full {
                max: self.max_entries,
            });
        }
        entries.map.insert(nonce, expires_at);
        entries.push_expiry(nonce, expires_at);
        Ok(true)
    }
}

#[async_trait]
impl NonceStore for MemoryNonceStore {
    async fn insert_if_absent(
        &self,
        nonce: &str,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError> {
        self.insert(nonce, expires_at)
    }

    fn insert_if_absent_now(
        &self,
        nonce: &str,
        expires_at: SystemTime,
    ) -> Option<Result<bool, StoreError>> {
        Some(self.insert(nonce, expires_at))
    }
}

impl fmt::Debug for MemoryNonceStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryNonceStore")
            .field("len", &self.len())
            .field("max_entries", &self.max_entries)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use auth_core::{Clock, ManualClock};

    use super::*;

    #[tokio::test]
    async fn first_use_only_until_expiry() {
        let clock = ManualClock::starting_now();
        let store = MemoryNonceStore::new(clock.shared());
        let until = clock.now() + Duration::from_secs(10);
        assert!(store.insert_if_absent("a", until).await.unwrap());
        assert!(!store.insert_if_absent("a", until).await.unwrap());
        assert!(store.insert_if_absent("b", until).await.unwrap());
        clock.advance(Duration::from_secs(10));
        assert!(
            store
                .insert_if_absent("a", clock.now() + Duration::from_secs(10))
                .await
                .unwrap()
        );
        assert!(!store.insert_if_absent("a", clock.now()).await.unwrap());
    }

    #[tokio::test]
    async fn full_store_fails_closed_then_recovers_after_expiry() {
        let clock = ManualClock::starting_now();
        let store = MemoryNonceStore::new(clock.shared()).max_entries(3);
        let until = clock.now() + Duration::from_secs(5);
        for n in ["a", "b", "c"] {
            assert!(store.insert_if_absent(n, until).await.unwrap());
        }
        assert_eq!(
            store.insert_if_absent("d", until).await,
            Err(StoreError::Full { max: 3 })
        );
        // Live nonces were not forgotten to make room.
        assert!(!store.insert_if_absent("a", until).await.unwrap());
        clock.advance(Duration::from_secs(6));
        assert!(
            store
                .insert_if_absent("d", clock.now() + Duration::from_secs(5))
                .await
                .unwrap()
        );
        assert_eq!(store.len(), 1, "expired nonces were swept");
    }

    fn held(store: &MemoryNonceStore) -> usize {
        store.entries.lock().unwrap().map.len()
    }

    #[tokio::test]
    async fn the_sweep_is_incremental() {
        let clock = ManualClock::starting_now();
        let store = MemoryNonceStore::new(clock.shared());
        for i in 0..100 {
            let until = clock.now() + Duration::from_secs(1);
            assert!(
                store
                    .insert_if_absent(&format!("n{i}"), until)
                    .await
                    .unwrap()
            );
        }
        clock.advance(Duration::from_secs(2));
        let until = clock.now() + Duration::from_secs(1);
        assert!(store.insert_if_absent("x", until).await.unwrap());
        // One insertion did a bounded part of the work, not a pass over the store.
        assert_eq!(held(&store), 100 + 1 - MemoryNonceStore::SWEEP_BUDGET);
        for i in 0..20 {
            store
                .insert_if_absent(&format!("y{i}"), until)
                .await
                .unwrap();
        }
        assert_eq!(held(&store), 21, "the expired ones were swept meanwhile");
    }

    #[tokio::test]
    async fn a_nonce_recorded_again_is_not_forgotten_by_its_old_entry() {
        let clock = ManualClock::starting_now();
        let store = MemoryNonceStore::new(clock.shared()).max_entries(2);
        assert!(
            store
                .insert_if_absent("a", clock.now() + Duration::from_secs(1))
                .await
                .unwrap()
        );
        clock.advance(Duration::from_secs(2));
        // Expired, not yet swept: a first use again, now for 10 s.
        assert!(
            store
                .insert_if_absent("a", clock.now() + Duration::from_secs(10))
                .await
                .unwrap()
        );
        for n in ["b", "c", "d"] {
            let _ = store
                .insert_if_absent(n, clock.now() + Duration::from_secs(10))
                .await;
        }
        clock.advance(Duration::from_secs(5));
        let _ = store.insert_if_absent("e", clock.now()).await;
        assert!(
            !store
                .insert_if_absent("a", clock.now() + Duration::from_secs(10))
                .await
                .unwrap(),
            "still a replay"
        );
    }

    #[tokio::test]
    async fn a_full_store_forgets_nonces_expired_within_the_second() {
        let clock = ManualClock::starting_now();
        let store = MemoryNonceStore::new(clock.shared()).max_entries(1);
        let until = clock.now() + Duration::from_millis(500);
        assert!(store.insert_if_absent("a", until).await.unwrap());
        assert_eq!(
            store.insert_if_absent("b", until).await,
            Err(StoreError::Full { max: 1 })
        );
        clock.advance(Duration::from_millis(600));
        assert!(store.insert_if_absent("b", until).await.unwrap());
    }

    #[tokio::test]
    async fn the_synchronous_probe_records_as_the_async_method() {
        let clock = ManualClock::starting_now();
        let store = std::sync::Arc::new(MemoryNonceStore::new(clock.shared()));
        let until = clock.now() + Duration::from_secs(10);
        // Through the `Arc` forwarding too: without it the default `None` would send every
        // request through a boxed future.
        assert_eq!(store.insert_if_absent_now("a", until), Some(Ok(true)));
        assert_eq!(store.insert_if_absent_now("a", until), Some(Ok(false)));
        assert!(!store.insert_if_absent("a", until).await.unwrap());
        assert!(store.insert_if_absent("b", until).await.unwrap());
        assert_eq!(store.insert_if_absent_now("b", until), Some(Ok(false)));
    }

    #[test]
    fn fingerprints_are_keyed_per_store() {
        let clock = ManualClock::starting_now();
        let one = MemoryNonceStore::new(clock.shared());
        let two = MemoryNonceStore::new(clock.shared());
        let nonces = ["rfc9421:1:k:a", "rfc9421:1:k:b", ""];
        let of = |store: &MemoryNonceStore| nonces.map(|nonce| store.fingerprints.hash_one(nonce));
        assert_eq!(of(&one), of(&one), "stable within a store");
        assert_ne!(of(&one), of(&two), "another store, another key");
        assert_ne!(of(&one)[0], of(&one)[1]);
    }

    #[tokio::test]
    async fn many_distinct_nonces_are_all_first_uses_and_all_replays_refused() {
        let clock = ManualClock::starting_now();
        let store = MemoryNonceStore::new(clock.shared());
        let until = clock.now() + Duration::from_secs(60);
        for i in 0..20_000 {
            assert!(
                store
                    .insert_if_absent(&format!("k:{i}"), until)
                    .await
                    .unwrap()
            );
        }
        for i in 0..20_000 {
            assert!(
                !store
                    .insert_if_absent(&format!("k:{i}"), until)
                    .await
                    .unwrap()
            );
        }
        assert_eq!(store.len(), 20_000);
    }

    #[tokio::test]
    async fn periodic_sweep_bounds_memory() {
        let clock = ManualClock::starting_now();
        let store = MemoryNonceStore::new(clock.shared());
        for i in 0..100 {
            let until = clock.now() + Duration::from_secs(1);
            store
                .insert_if_absent(&format!("n{i}"), until)
                .await
                .unwrap();
        }
        clock.advance(Duration::from_secs(61));
        store
            .insert_if_absent("last", clock.now() + Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(store.len(), 1);
    }
}
