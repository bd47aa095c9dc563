//! A store wrapper that counts calls and can be switched off, and common set-up.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_apikey::{
    KeyHash, KeyManager, KeyMetadata, KeyRecord, KeyStore, MemoryKeyStore, StoreError,
};
use auth_core::{ManualClock, async_trait};

/// A [`MemoryKeyStore`] that counts every call and can be made unreachable.
#[derive(Debug, Default)]
pub(crate) struct CountingStore {
    pub(crate) inner: MemoryKeyStore,
    calls: AtomicUsize,
    lookups: AtomicUsize,
    down: AtomicBool,
}

impl CountingStore {
    /// Every call so far (any method).
    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Lookups by hash so far (the verification lookup).
    pub(crate) fn lookups(&self) -> usize {
        self.lookups.load(Ordering::SeqCst)
    }

    pub(crate) fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn enter(&self) -> Result<(), StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable(
                "connection refused (10.9.8.7:5432)".into(),
            ))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl KeyStore for CountingStore {
    async fn insert(&self, record: KeyRecord) -> Result<(), StoreError> {
        self.enter()?;
        self.inner.insert(record).await
    }

    async fn find_by_hash(&self, hash: &KeyHash) -> Result<Option<KeyRecord>, StoreError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        self.enter()?;
        self.inner.find_by_hash(hash).await
    }

    async fn find_by_id(&self, id: &str) -> Result<Option<KeyMetadata>, StoreError> {
        self.enter()?;
        self.inner.find_by_id(id).await
    }

    async fn list_by_owner(&self, owner: &str) -> Result<Vec<KeyMetadata>, StoreError> {
        self.enter()?;
        self.inner.list_by_owner(owner).await
    }

    async fn touch(
        &self,
        id: &str,
        at: SystemTime,
        if_before: SystemTime,
    ) -> Result<bool, StoreError> {
        self.enter()?;
        self.inner.touch(id, at, if_before).await
    }

    async fn revoke(&self, id: &str, at: SystemTime) -> Result<Option<KeyMetadata>, StoreError> {
        self.enter()?;
        self.inner.revoke(id, at).await
    }

    async fn expire_by(&self, id: &str, at: SystemTime) -> Result<Option<KeyMetadata>, StoreError> {
        self.enter()?;
        self.inner.expire_by(id, at).await
    }

    async fn rotate(
        &self,
        id: &str,
        successor: KeyRecord,
        grace_until: SystemTime,
    ) -> Result<Option<KeyMetadata>, StoreError> {
        self.enter()?;
        self.inner.rotate(id, successor, grace_until).await
    }
}

/// A fixed start time: 2023-11-14T22:13:20Z.
pub(crate) fn start() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// A test clock, a counting store and a manager with prefix `acme_test` over them.
pub(crate) fn setup() -> (ManualClock, Arc<CountingStore>, KeyManager) {
    let clock = ManualClock::new(start());
    let store = Arc::new(CountingStore::default());
    let keys = KeyManager::builder(Arc::clone(&store), "acme_test")
        .clock(clock.shared())
        .build()
        .expect("valid configuration");
    (clock, store, keys)
}

/// `text` with the character at `index` replaced by another base62 character.
pub(crate) fn change_char(text: &str, index: usize) -> String {
    let mut bytes = text.as_bytes().to_vec();
    bytes[index] = if bytes[index] == b'a' { b'b' } else { b'a' };
    String::from_utf8(bytes).expect("ASCII")
}
