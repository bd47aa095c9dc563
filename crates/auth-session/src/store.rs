//! [`SessionStore`]: where sessions live, and what it stores.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use auth_core::Scopes;

use crate::{CsrfToken, SessionHash};

/// A store could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store is unreachable or failed. Requests that need it are refused (503, fail
    /// closed). The message is for logs, never for clients.
    #[error("session store unavailable: {0}")]
    Unavailable(String),
    /// A session with the same hash already exists (a new id collided: 2^-256).
    #[error("a session with the same id already exists")]
    Duplicate,
}

/// One session as the store keeps it. Never the id: only its [`SessionHash`].
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The store key.
    pub hash: SessionHash,
    /// The logged-in user (the `Principal`'s subject), if any.
    pub user: Option<String>,
    /// The scopes granted to the user for this session.
    pub scopes: Scopes,
    /// When the session was created: at login for a logged-in session. The absolute
    /// timeout counts from here; renewing the id keeps it.
    pub created_at: SystemTime,
    /// When the user logged in, if they did.
    pub authenticated_at: Option<SystemTime>,
    /// The last time a request used the session (updated at most once per touch
    /// interval). The idle timeout counts from here.
    pub last_seen: SystemTime,
    /// When the store may forget the session: the earlier of the idle and the absolute
    /// deadline, as of `last_seen`, plus [`EXPIRY_GRACE`](crate::EXPIRY_GRACE). Stores
    /// with TTLs use it; the manager checks both timeouts itself on every load (so a
    /// shortened timeout applies at once, and the grace never extends a session).
    pub expires_at: SystemTime,
    /// The session's CSRF token.
    pub csrf_token: CsrfToken,
    /// The data: key to JSON text.
    pub data: BTreeMap<String, String>,
}

impl fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The data may hold anything the application put there: keys only.
        f.debug_struct("SessionRecord")
            .field("hash", &self.hash)
            .field("user", &self.user)
            .field("scopes", &self.scopes)
            .field("created_at", &self.created_at)
            .field("last_seen", &self.last_seen)
            .field("expires_at", &self.expires_at)
            .field("data_keys", &self.data.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl SessionRecord {
    /// The public summary of the record.
    #[must_use]
    pub fn info(&self) -> SessionInfo {
        SessionInfo {
            hash: self.hash,
            fingerprint: self.hash.fingerprint(),
            user: self.user.clone(),
            created_at: self.created_at,
            authenticated_at: self.authenticated_at,
            last_seen: self.last_seen,
            expires_at: self.expires_at,
        }
    }
}

/// What a listing shows of a session: public metadata, no data, no token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The store key.
    pub hash: SessionHash,
    /// [`SessionHash::fingerprint`], for display and logs.
    pub fingerprint: String,
    /// The logged-in user.
    pub user: Option<String>,
    /// When it was created (login time for a logged-in session).
    pub created_at: SystemTime,
    /// When the user logged in.
    pub authenticated_at: Option<SystemTime>,
    /// The last recorded use.
    pub last_seen: SystemTime,
    /// When the store may forget it.
    pub expires_at: SystemTime,
}

/// The changes one request made to an existing session: only the keys it wrote or removed,
/// and possibly a new `last_seen`.
///
/// A store applies them **key by key** to the record as it is *now*, not as the request
/// loaded it, so two concurrent requests that change different keys both keep their
/// change. Two that change the same key: the later save wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionUpdate {
    /// Keys to set, with their JSON text.
    pub set: BTreeMap<String, String>,
    /// Keys to remove.
    pub remove: BTreeSet<String>,
    /// A new `last_seen` and `expires_at`. A store never moves `last_seen` backwards.
    pub touch: Option<Touch>,
}

impl SessionUpdate {
    /// Whether there is nothing to write.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty() && self.touch.is_none()
    }
}

/// A new `last_seen` for a session, and the `expires_at` that goes with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Touch {
    /// When the session was used.
    pub last_seen: SystemTime,
    /// When the store may forget it, as of `last_seen`.
    pub expires_at: SystemTime,
}

/// Where sessions live.
///
/// Implementations must be safe for concurrent use and keep each method atomic. They see
/// [`SessionHash`]es only, never ids. The same contract suite (this crate's
/// `tests/it/contract.rs`) runs against every store.
///
/// - Records past their `expires_at` count as absent: `load` does not return them, listings
///   skip them, caps do not count them. (The manager checks the idle and absolute timeouts
///   again itself.)
/// - `save` applies key-level changes to an existing record and never creates one: a
///   session deleted by a logout in another tab stays deleted.
///
/// [`MemoryStore`](crate::MemoryStore) is the embedded default; `RedisSessionStore` (feature `redis`) is shared by many instances.
#[async_trait]
pub trait SessionStore: Send + Sync + fmt::Debug + 'static {
    /// The record with `hash`, unless absent or expired. The one lookup of a request.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`].
    async fn load(&self, hash: &SessionHash) -> Result<Option<SessionRecord>, StoreError>;

    /// [`load`](Self::load) for a store that answers without waiting (an in-process map),
    /// sharing the record instead of copying it: `Some` with what `load` would return, or
    /// `None` (the default) when the store must be asked with `load`. The manager tries it
    /// first on every request, so an in-memory load costs no boxed future and no copy.
    ///
    /// A store that implements it must never change a shared record in place (copy on
    /// write, e.g. with [`Arc::make_mut`]): a request reads the record it loaded.
    ///
    /// # Errors
    ///
    /// Inside the `Some`: [`StoreError::Unavailable`].
    fn load_now(
        &self,
        hash: &SessionHash,
    ) -> Option<Result<Option<Arc<SessionRecord>>, StoreError>> {
        let _ = hash;
        None
    }

    /// Adds a new record. When it has a user and `max_per_user` is set, evicts that user's
    /// oldest sessions (by `created_at`) until at most `max_per_user` remain, the new one
    /// included, in the same atomic step. Returns the evicted sessions.
    ///
    /// # Errors
    ///
    /// [`StoreError::Duplicate`] when the hash is taken; [`StoreError::Unavailable`].
    async fn insert(
        &self,
        record: SessionRecord,
        max_per_user: Option<usize>,
    ) -> Result<Vec<SessionInfo>, StoreError>;

    /// Applies `update` to the record with `hash`, key by key. Returns `false`, writing
    /// nothing, when there is no such (live) record.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`].
    async fn save(&self, hash: &SessionHash, update: &SessionUpdate) -> Result<bool, StoreError>;

    /// Deletes the record with `hash`; returns whether there was one.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`].
    async fn delete(&self, hash: &SessionHash) -> Result<bool, StoreError>;

    /// Deletes every session of `user` but `keep`; returns how many it deleted.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`].
    async fn delete_user(
        &self,
        user: &str,
        keep: Option<&SessionHash>,
    ) -> Result<usize, StoreError>;

    /// The live sessions of `user`, oldest first (by `created_at`).
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`].
    async fn list_user(&self, user: &str) -> Result<Vec<SessionInfo>, StoreError>;
}

#[async_trait]
impl<S: SessionStore + ?Sized> SessionStore for Arc<S> {
    async fn load(&self, hash: &SessionHash) -> Result<Option<SessionRecord>, StoreError> {
        (**self).load(hash).await
    }

    fn load_now(
        &self,
        hash: &SessionHash,
    ) -> Option<Result<Option<Arc<SessionRecord>>, StoreError>> {
        (**self).load_now(hash)
    }

    async fn insert(
        &self,
        record: SessionRecord,
        max_per_user: Option<usize>,
    ) -> Result<Vec<SessionInfo>, StoreError> {
        (**self).insert(record, max_per_user).await
    }

    async fn save(&self, hash: &SessionHash, update: &SessionUpdate) -> Result<bool, StoreError> {
        (**self).save(hash, update).await
    }

    async fn delete(&self, hash: &SessionHash) -> Result<bool, StoreError> {
        (**self).delete(hash).await
    }

    async fn delete_user(
        &self,
        user: &str,
        keep: Option<&SessionHash>,
    ) -> Result<usize, StoreError> {
        (**self).delete_user(user, keep).await
    }

    async fn list_user(&self, user: &str) -> Result<Vec<SessionInfo>, StoreError> {
        (**self).list_user(user).await
    }
}
