//! The `jti` denylist: [`RevocationStore`] and [`MemoryRevocationStore`].

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use async_trait::async_trait;
use auth_core::SharedClock;

/// A revocation store could not answer; verification fails closed (503).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("revocation store unavailable: {0}")]
pub struct StoreError(pub String);

/// Revoked token ids (`jti`), each remembered until the token would have expired anyway.
#[async_trait]
pub trait RevocationStore: Send + Sync + fmt::Debug + 'static {
    /// Revokes `jti` until `expires_at` (the token's `exp`).
    async fn revoke(&self, jti: &str, expires_at: SystemTime) -> Result<(), StoreError>;

    /// Whether `jti` is revoked.
    async fn is_revoked(&self, jti: &str) -> Result<bool, StoreError>;
}

/// An in-process denylist whose entries expire with their tokens (swept on insert). Right
/// for one instance; several instances need a shared store (`RedisRevocationStore`, feature `redis`).
pub struct MemoryRevocationStore {
    clock: SharedClock,
    entries: Mutex<HashMap<String, SystemTime>>,
}

impl MemoryRevocationStore {
    /// An empty store reading time from `clock`.
    #[must_use]
    pub fn new(clock: SharedClock) -> Self {
        Self {
            clock,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Entries still held (expired ones may linger until the next insert).
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no entries are held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl RevocationStore for MemoryRevocationStore {
    async fn revoke(&self, jti: &str, expires_at: SystemTime) -> Result<(), StoreError> {
        let now = self.clock.now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|_, until| *until > now);
        if expires_at > now {
            entries.insert(jti.to_owned(), expires_at);
        }
        Ok(())
    }

    async fn is_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(entries.get(jti).is_some_and(|until| *until > now))
    }
}

impl fmt::Debug for MemoryRevocationStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryRevocationStore")
            .field("entries", &self.len())
            .finish()
    }
}
