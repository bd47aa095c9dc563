//! [`NonceStore`]: remembers each signature nonce for its window, so a replay is refused;
//! [`MemoryNonceStore`], the in-process one.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

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
}

struct Entries {
    map: HashMap<String, SystemTime>,
    next_sweep: SystemTime,
}

/// An in-process [`NonceStore`] with expiry read from a [`Clock`](auth_core::Clock) and
/// bounded memory.
///
/// Expired nonces are swept at most once a minute and whenever the store is full. When it
/// is still full after a sweep, new nonces are refused with [`StoreError::Full`] (the
/// request gets 503) rather than forgetting live ones, which would reopen their replay
/// window.
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
    entries: Mutex<Entries>,
}

impl MemoryNonceStore {
    /// The default bound on live nonces: one million (at the default 300 s window, over
    /// 3,000 signed requests a second).
    pub const DEFAULT_MAX_ENTRIES: usize = 1_000_000;

    const SWEEP_EVERY: Duration = Duration::from_secs(60);

    /// A store reading time from `clock`.
    #[must_use]
    pub fn new(clock: SharedClock) -> Self {
        let next_sweep = clock.now() + Self::SWEEP_EVERY;
        Self {
            clock,
            max_entries: Self::DEFAULT_MAX_ENTRIES,
            entries: Mutex::new(Entries {
                map: HashMap::new(),
                next_sweep,
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

    /// Number of nonces held (live or not yet swept).
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map
            .len()
    }

    /// Whether the store holds no nonce.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl NonceStore for MemoryNonceStore {
    async fn insert_if_absent(
        &self,
        nonce: &str,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(until) = entries.map.get_mut(nonce) {
            if *until > now {
                return Ok(false);
            }
            *until = expires_at;
            return Ok(true);
        }
        if now >= entries.next_sweep || entries.map.len() >= self.max_entries {
            entries.map.retain(|_, until| *until > now);
            entries.next_sweep = now + Self::SWEEP_EVERY;
        }
        if entries.map.len() >= self.max_entries {
            return Err(StoreError::Full {
                max: self.max_entries,
            });
        }
        entries.map.insert(nonce.to_owned(), expires_at);
        Ok(true)
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
