//! [`KeyStore`]: where key records live, and [`MemoryKeyStore`].

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::SystemTime;

use async_trait::async_trait;

use crate::{KeyHash, KeyMetadata, KeyRecord};

/// A store could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store is unreachable or failed. Verification refuses the request (503, fail
    /// closed). The message is for logs, never for clients.
    #[error("key store unavailable: {0}")]
    Unavailable(String),
    /// A record with the same id or hash already exists.
    #[error("a key with the same id or hash already exists")]
    Duplicate,
    /// The record is not in the state the operation needs (a rotation of a key that was
    /// already rotated or revoked).
    #[error("key store conflict: {0}")]
    Conflict(&'static str),
}

/// Where key records live: looked up by hash on every request, by id for management.
///
/// Implementations must be safe for concurrent use and keep each method atomic. None of
/// them ever sees a key in plain text, only [`KeyHash`]es. Every update is one-way: `touch`
/// only moves `last_used_at` forward, `expire_by` only brings an expiry closer, `revoke` and
/// `rotate` only end a key's life. Nothing in the trait extends a key's life.
///
/// [`MemoryKeyStore`] is the embedded default; SQL stores come as crate features.
#[async_trait]
pub trait KeyStore: Send + Sync + fmt::Debug + 'static {
    /// Adds `record`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Duplicate`] when its id or hash is taken; [`StoreError::Unavailable`].
    async fn insert(&self, record: KeyRecord) -> Result<(), StoreError>;

    /// The record with `hash`: the one lookup of a verification. Must be O(1) or O(log n).
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`].
    async fn find_by_hash(&self, hash: &KeyHash) -> Result<Option<KeyRecord>, StoreError>;

    /// [`KeyStore::find_by_hash`] for the verification path: the metadata comes shared
    /// (`Arc`), so a store that keeps records in memory hands it out without a copy per
    /// request. The default calls `find_by_hash`; override it when the store can share.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] when the backend cannot be reached.
    async fn find_shared(&self, hash: &KeyHash) -> Result<Option<SharedKeyRecord>, StoreError> {
        Ok(self
            .find_by_hash(hash)
            .await?
            .map(|record| SharedKeyRecord {
                hash: record.hash,
                metadata: Arc::new(record.metadata),
            }))
    }

    /// [`find_shared`](Self::find_shared) for a store that answers without waiting (an
    /// in-process map): `Some` with what `find_shared` would return, or `None` (the default)
    /// when the store must be asked with `find_shared`. [`KeyManager::verify`] tries it first
    /// on every request, so an in-memory lookup costs no boxed future.
    ///
    /// [`KeyManager::verify`]: crate::KeyManager::verify
    ///
    /// # Errors
    ///
    /// Inside the `Some`: [`StoreError::Unavailable`].
    fn find_shared_now(
        &self,
        hash: &KeyHash,
    ) -> Option<Result<Option<SharedKeyRecord>, StoreError>> {
        let _ = hash;
        None
    }

    /// The metadata of the key with public id `id`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`].
    async fn find_by_id(&self, id: &str) -> Result<Option<KeyMetadata>, StoreError>;

    /// The metadata of every key of `owner`, oldest first.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`].
    async fn list_by_owner(&self, owner: &str) -> Result<Vec<KeyMetadata>, StoreError>;

    /// Sets `last_used_at` to `at` if it is unset or earlier than `if_before`; returns
    /// whether it wrote. The condition makes concurrent verifications write once.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`].
    async fn touch(
        &self,
        id: &str,
        at: SystemTime,
        if_before: SystemTime,
    ) -> Result<bool, StoreError>;

    /// Sets `revoked_at` to `at` unless the key is already revoked (the first time stays).
    /// Returns the metadata after, or `None` when there is no key `id`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`].
    async fn revoke(&self, id: &str, at: SystemTime) -> Result<Option<KeyMetadata>, StoreError>;

    /// Brings the expiry forward to `at` (keeps an earlier one). Returns the metadata after,
    /// or `None` when there is no key `id`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`].
    async fn expire_by(&self, id: &str, at: SystemTime) -> Result<Option<KeyMetadata>, StoreError>;

    /// In one step: inserts `successor`, and marks key `id` as rotated to it with its expiry
    /// brought forward to `grace_until`. Returns the old key's metadata after, or `None` when
    /// there is no key `id` (then nothing is inserted).
    ///
    /// # Errors
    ///
    /// [`StoreError::Conflict`] when key `id` is revoked or already rotated;
    /// [`StoreError::Duplicate`] when the successor's id or hash is taken;
    /// [`StoreError::Unavailable`].
    async fn rotate(
        &self,
        id: &str,
        successor: KeyRecord,
        grace_until: SystemTime,
    ) -> Result<Option<KeyMetadata>, StoreError>;
}

#[async_trait]
impl<S: KeyStore + ?Sized> KeyStore for Arc<S> {
    async fn insert(&self, record: KeyRecord) -> Result<(), StoreError> {
        (**self).insert(record).await
    }

    async fn find_by_hash(&self, hash: &KeyHash) -> Result<Option<KeyRecord>, StoreError> {
        (**self).find_by_hash(hash).await
    }

    async fn find_shared(&self, hash: &KeyHash) -> Result<Option<SharedKeyRecord>, StoreError> {
        (**self).find_shared(hash).await
    }

    fn find_shared_now(
        &self,
        hash: &KeyHash,
    ) -> Option<Result<Option<SharedKeyRecord>, StoreError>> {
        (**self).find_shared_now(hash)
    }

    async fn find_by_id(&self, id: &str) -> Result<Option<KeyMetadata>, StoreError> {
        (**self).find_by_id(id).await
    }

    async fn list_by_owner(&self, owner: &str) -> Result<Vec<KeyMetadata>, StoreError> {
        (**self).list_by_owner(owner).await
    }

    async fn touch(
        &self,
        id: &str,
        at: SystemTime,
        if_before: SystemTime,
    ) -> Result<bool, StoreError> {
        (**self).touch(id, at, if_before).await
    }

    async fn revoke(&self, id: &str, at: SystemTime) -> Result<Option<KeyMetadata>, StoreError> {
        (**self).revoke(id, at).await
    }

    async fn expire_by(&self, id: &str, at: SystemTime) -> Result<Option<KeyMetadata>, StoreError> {
        (**self).expire_by(id, at).await
    }

    async fn rotate(
        &self,
        id: &str,
        successor: KeyRecord,
        grace_until: SystemTime,
    ) -> Result<Option<KeyMetadata>, StoreError> {
        (**self).rotate(id, successor, grace_until).await
    }
}

/// A key record as [`KeyStore::find_shared`] answers it: the metadata shared, not copied.
#[derive(Debug, Clone)]
pub struct SharedKeyRecord {
    /// The stored hash (the manager compares it with the presented key's, in constant time).
    pub hash: KeyHash,
    /// The key's metadata.
    pub metadata: Arc<KeyMetadata>,
}

#[derive(Default)]
struct Inner {
    // Shared, so a verification clones a pointer; changes copy on write.
    by_hash: HashMap<KeyHash, Arc<KeyMetadata>>,
    by_id: HashMap<String, KeyHash>,
    by_owner: HashMap<String, Vec<KeyHash>>,
}

impl Inner {
    fn add(&mut self, record: KeyRecord) -> Result<(), StoreError> {
        if self.by_id.contains_key(&record.metadata.id) {
            return Err(StoreError::Duplicate);
        }
        let Entry::Vacant(slot) = self.by_hash.entry(record.hash) else {
            return Err(StoreError::Duplicate);
        };
        self.by_id.insert(record.metadata.id.clone(), record.hash);
        self.by_owner
            .entry(record.metadata.owner.clone())
            .or_default()
            .push(record.hash);
        slot.insert(Arc::new(record.metadata));
        Ok(())
    }

    fn get_mut(&mut self, id: &str) -> Option<&mut KeyMetadata> {
        let hash = self.by_id.get(id)?;
        self.by_hash.get_mut(hash).map(Arc::make_mut)
    }
}

/// An in-process [`KeyStore`]: hash maps behind a read-write lock.
///
/// Right for one instance, tests and benchmarks; keys are lost on restart. Lookups by hash
/// and by id are O(1); listing is O(keys of the owner).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use auth_apikey::{KeyManager, MemoryKeyStore};
///
/// let store = Arc::new(MemoryKeyStore::new());
/// // The manager takes a clone; the test keeps a handle to look inside.
/// let keys = KeyManager::builder(Arc::clone(&store), "myapp_test").build()?;
/// assert!(store.is_empty());
/// # Ok::<(), auth_apikey::ConfigError>(())
/// ```
#[derive(Default)]
pub struct MemoryKeyStore {
    inner: RwLock<Inner>,
}

impl MemoryKeyStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of records (revoked and expired ones included).
    #[must_use]
    pub fn len(&self) -> usize {
        self.read().by_hash.len()
    }

    /// Whether the store holds no record.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every record, for inspection (tests, exports). Hashes and metadata only.
    #[must_use]
    pub fn records(&self) -> Vec<KeyRecord> {
        self.read()
            .by_hash
            .iter()
            .map(|(hash, metadata)| KeyRecord::new(*hash, KeyMetadata::clone(metadata)))
            .collect()
    }

    /// The record with `hash`, its metadata shared.
    fn shared(&self, hash: &KeyHash) -> Option<SharedKeyRecord> {
        self.read()
            .by_hash
            .get(hash)
            .map(|metadata| SharedKeyRecord {
                hash: *hash,
                metadata: Arc::clone(metadata),
            })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for MemoryKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryKeyStore")
            .field("len", &self.len())
            .finish()
    }
}

#[async_trait]
impl KeyStore for MemoryKeyStore {
    async fn insert(&self, record: KeyRecord) -> Result<(), StoreError> {
        self.write().add(record)
    }

    async fn find_by_hash(&self, hash: &KeyHash) -> Result<Option<KeyRecord>, StoreError> {
        Ok(self
            .read()
            .by_hash
            .get(hash)
            .map(|metadata| KeyRecord::new(*hash, KeyMetadata::clone(metadata))))
    }

    async fn find_shared(&self, hash: &KeyHash) -> Result<Option<SharedKeyRecord>, StoreError> {
        Ok(self.shared(hash))
    }

    fn find_shared_now(
        &self,
        hash: &KeyHash,
    ) -> Option<Result<Option<SharedKeyRecord>, StoreError>> {
        Some(Ok(self.shared(hash)))
    }

    async fn find_by_id(&self, id: &str) -> Result<Option<KeyMetadata>, StoreError> {
        let inner = self.read();
        Ok(inner
            .by_id
            .get(id)
            .and_then(|hash| inner.by_hash.get(hash))
            .map(|metadata| KeyMetadata::clone(metadata)))
    }

    async fn list_by_owner(&self, owner: &str) -> Result<Vec<KeyMetadata>, StoreError> {
        let inner = self.read();
        let mut list: Vec<KeyMetadata> = inner
            .by_owner
            .get(owner)
            .into_iter()
            .flatten()
            .filter_map(|hash| inner.by_hash.get(hash))
            .map(|metadata| KeyMetadata::clone(metadata))
            .collect();
        list.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(list)
    }

    async fn touch(
        &self,
        id: &str,
        at: SystemTime,
        if_before: SystemTime,
    ) -> Result<bool, StoreError> {
        let mut inner = self.write();
        let Some(meta) = inner.get_mut(id) else {
            return Ok(false);
        };
        if meta
            .last_used_at
            .is_some_and(|last| last >= if_before || last >= at)
        {
            return Ok(false);
        }
        meta.last_used_at = Some(at);
        Ok(true)
    }

    async fn revoke(&self, id: &str, at: SystemTime) -> Result<Option<KeyMetadata>, StoreError> {
        let mut inner = self.write();
        Ok(inner.get_mut(id).map(|meta| {
            meta.revoked_at.get_or_insert(at);
            meta.clone()
        }))
    }

    async fn expire_by(&self, id: &str, at: SystemTime) -> Result<Option<KeyMetadata>, StoreError> {
        let mut inner = self.write();
        Ok(inner.get_mut(id).map(|meta| {
            meta.expires_at = Some(meta.expires_at.map_or(at, |e| e.min(at)));
            meta.clone()
        }))
    }

    async fn rotate(
        &self,
        id: &str,
        successor: KeyRecord,
        grace_until: SystemTime,
    ) -> Result<Option<KeyMetadata>, StoreError> {
        let mut inner = self.write();
        let Some(old) = inner.get_mut(id) else {
            return Ok(None);
        };
        if old.revoked_at.is_some() {
            return Err(StoreError::Conflict("the key is revoked"));
        }
        if old.rotated_to.is_some() {
            return Err(StoreError::Conflict("the key was already rotated"));
        }
        let successor_id = successor.metadata.id.clone();
        inner.add(successor)?;
        let old = inner
            .get_mut(id)
            .ok_or(StoreError::Conflict("the key vanished"))?;
        old.rotated_to = Some(successor_id);
        old.expires_at = Some(old.expires_at.map_or(grace_until, |e| e.min(grace_until)));
        Ok(Some(old.clone()))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use auth_core::Scopes;

    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn record(n: u8, owner: &str) -> KeyRecord {
        KeyRecord::new(
            KeyHash::from_bytes([n; 32]),
            KeyMetadata::new(
                format!("key_{n}"),
                owner,
                "n",
                Scopes::new(),
                at(u64::from(n)),
            ),
        )
    }

    #[tokio::test]
    async fn verification_lookups_share_the_record_and_writes_copy() {
        let store = Arc::new(MemoryKeyStore::new());
        store.insert(record(1, "alice")).await.unwrap();
        let hash = KeyHash::from_bytes([1; 32]);
        // Through the `Arc<S>` forwarding impl too: it must not fall back to the copying
        // default.
        let first = KeyStore::find_shared(&store, &hash).await.unwrap().unwrap();
        let second = store.find_shared(&hash).await.unwrap().unwrap();
        assert!(Arc::ptr_eq(&first.metadata, &second.metadata));
        assert_eq!(first.hash, hash);
        // The synchronous probe answers for the in-memory store, through `Arc<S>` as well
        // (without the forwarding the default `None` would send every request through a
        // boxed future), and shares the same record.
        let now = KeyStore::find_shared_now(&store, &hash)
            .expect("the in-memory store answers at once")
            .unwrap()
            .unwrap();
        assert!(Arc::ptr_eq(&now.metadata, &first.metadata));
        assert!(matches!(
            store.find_shared_now(&KeyHash::from_bytes([9; 32])),
            Some(Ok(None))
        ));
        assert!(store.touch("key_1", at(100), at(50)).await.unwrap());
        let after = store.find_shared(&hash).await.unwrap().unwrap();
        assert_eq!(after.metadata.last_used_at, Some(at(100)));
        assert_eq!(
            first.metadata.last_used_at, None,
            "a handed-out record never changes"
        );
        assert!(
            store
                .find_shared(&KeyHash::from_bytes([9; 32]))
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn insert_find_and_list() {
        let store = MemoryKeyStore::new();
        store.insert(record(2, "alice")).await.unwrap();
        store.insert(record(1, "alice")).await.unwrap();
        store.insert(record(3, "bob")).await.unwrap();
        assert_eq!(store.len(), 3);
        let found = store
            .find_by_hash(&KeyHash::from_bytes([1; 32]))
            .await
            .unwrap();
        assert_eq!(found.unwrap().metadata.id, "key_1");
        assert_eq!(
            store.find_by_id("key_3").await.unwrap().unwrap().owner,
            "bob"
        );
        assert!(store.find_by_id("key_9").await.unwrap().is_none());
        let ids: Vec<String> = store
            .list_by_owner("alice")
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, ["key_1", "key_2"], "oldest first");
        assert!(store.list_by_owner("carol").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn duplicates_are_refused() {
        let store = MemoryKeyStore::new();
        store.insert(record(1, "a")).await.unwrap();
        assert_eq!(
            store.insert(record(1, "a")).await,
            Err(StoreError::Duplicate)
        );
        let mut same_id = record(2, "a");
        same_id.metadata.id = "key_1".into();
        assert_eq!(store.insert(same_id).await, Err(StoreError::Duplicate));
        assert_eq!(store.len(), 1);
    }

    #[tokio::test]
    async fn updates_only_end_a_keys_life() {
        let store = MemoryKeyStore::new();
        store.insert(record(1, "a")).await.unwrap();
        let meta = store.expire_by("key_1", at(100)).await.unwrap().unwrap();
        assert_eq!(meta.expires_at, Some(at(100)));
        let meta = store.expire_by("key_1", at(200)).await.unwrap().unwrap();
        assert_eq!(meta.expires_at, Some(at(100)), "never extended");
        let meta = store.revoke("key_1", at(50)).await.unwrap().unwrap();
        let meta2 = store.revoke("key_1", at(60)).await.unwrap().unwrap();
        assert_eq!(meta.revoked_at, Some(at(50)));
        assert_eq!(meta2.revoked_at, Some(at(50)), "the first revocation stays");
        assert!(store.revoke("key_9", at(1)).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn touch_writes_once_per_interval() {
        let store = MemoryKeyStore::new();
        store.insert(record(1, "a")).await.unwrap();
        assert!(store.touch("key_1", at(100), at(100)).await.unwrap());
        // A second verification in the same minute: last_used (100) is not before 70.
        assert!(!store.touch("key_1", at(130), at(70)).await.unwrap());
        assert!(store.touch("key_1", at(161), at(101)).await.unwrap());
        assert!(
            !store.touch("key_1", at(150), at(200)).await.unwrap(),
            "never backwards"
        );
        let meta = store.find_by_id("key_1").await.unwrap().unwrap();
        assert_eq!(meta.last_used_at, Some(at(161)));
    }

    #[tokio::test]
    async fn rotation_is_one_step_and_only_once() {
        let store = MemoryKeyStore::new();
        store.insert(record(1, "a")).await.unwrap();
        let old = store
            .rotate("key_1", record(2, "a"), at(500))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(old.rotated_to.as_deref(), Some("key_2"));
        assert_eq!(old.expires_at, Some(at(500)));
        assert_eq!(
            store.rotate("key_1", record(3, "a"), at(600)).await,
            Err(StoreError::Conflict("the key was already rotated"))
        );
        assert!(store.find_by_id("key_3").await.unwrap().is_none());
        assert!(
            store
                .rotate("key_9", record(4, "a"), at(1))
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(store.len(), 2);
    }
}
