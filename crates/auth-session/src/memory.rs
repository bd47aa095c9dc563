//! [`MemoryStore`]: the in-process [`SessionStore`].

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::SystemTime;

use async_trait::async_trait;
use auth_core::{SharedClock, SystemClock};

use crate::{SessionHash, SessionInfo, SessionRecord, SessionStore, SessionUpdate, StoreError};

/// An in-process [`SessionStore`]: a hash map behind a read-write lock, bounded, with expiry
/// read from a [`Clock`](auth_core::Clock).
///
/// Right for one instance, tests and benchmarks; sessions are lost on restart and not shared
/// between instances (use the Redis store for that). A load is one hash lookup under a read
/// lock.
///
/// **Bounded**: at most [`MemoryStore::max_sessions`] records. When an insert finds the
/// store full, expired records are swept first; if it is still full, the tenth of the
/// sessions closest to expiry (the least recently used) are evicted. Past the bound, the
/// store degrades by logging out idle users rather than by refusing logins or growing
/// without limit.
///
/// # Examples
///
/// ```
/// use auth_core::ManualClock;
/// use auth_session::MemoryStore;
///
/// let clock = ManualClock::starting_now();
/// // Give the store and the manager the same clock.
/// let store = MemoryStore::new(clock.shared()).max_sessions(10_000);
/// assert!(store.is_empty());
/// ```
pub struct MemoryStore {
    clock: SharedClock,
    max_sessions: usize,
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Shared with the requests that loaded them ([`SessionStore::load_now`]); changed
    /// copy-on-write.
    sessions: HashMap<SessionHash, Arc<SessionRecord>>,
    by_user: HashMap<String, HashSet<SessionHash>>,
}

impl Inner {
    fn remove(&mut self, hash: &SessionHash) -> Option<Arc<SessionRecord>> {
        let record = self.sessions.remove(hash)?;
        if let Some(user) = &record.user
            && let Some(hashes) = self.by_user.get_mut(user)
        {
            hashes.remove(hash);
            if hashes.is_empty() {
                self.by_user.remove(user);
            }
        }
        Some(record)
    }

    fn live_of(&self, user: &str, now: SystemTime) -> Vec<SessionInfo> {
        let mut list: Vec<SessionInfo> = self
            .by_user
            .get(user)
            .into_iter()
            .flatten()
            .filter_map(|hash| self.sessions.get(hash))
            .filter(|record| is_live(record, now))
            .map(|record| record.info())
            .collect();
        list.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.hash.cmp(&b.hash)));
        list
    }
}

fn is_live(record: &SessionRecord, now: SystemTime) -> bool {
    now < record.expires_at
}

impl MemoryStore {
    /// The default bound on stored sessions.
    pub const DEFAULT_MAX_SESSIONS: usize = 100_000;

    /// An empty store reading time from `clock` (give the manager the same clock).
    #[must_use]
    pub fn new(clock: SharedClock) -> Self {
        Self {
            clock,
            max_sessions: Self::DEFAULT_MAX_SESSIONS,
            inner: RwLock::new(Inner::default()),
        }
    }

    /// Sets the bound on stored sessions (at least 1).
    #[must_use]
    pub fn max_sessions(mut self, max_sessions: usize) -> Self {
        self.max_sessions = max_sessions.max(1);
        self
    }

    /// How many records the store holds (expired ones not yet swept included).
    #[must_use]
    pub fn len(&self) -> usize {
        self.read().sessions.len()
    }

    /// Whether the store holds no records.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every expired record; returns how many.
    pub fn sweep(&self) -> usize {
        let now = self.clock.now();
        let mut inner = self.write();
        sweep(&mut inner, now)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn make_room(&self, inner: &mut Inner, now: SystemTime) {
        sweep(inner, now);
        if inner.sessions.len() < self.max_sessions {
            return;
        }
        let mut by_expiry: Vec<(SystemTime, SessionHash)> = inner
            .sessions
            .values()
            .map(|r| (r.expires_at, r.hash))
            .collect();
        by_expiry.sort_unstable();
        let evict = self.max_sessions.div_ceil(10);
        for (_, hash) in by_expiry.into_iter().take(evict) {
            inner.remove(&hash);
        }
        tracing::warn!(
            target: "auth::session",
            evicted = evict,
            max_sessions = self.max_sessions,
            "memory session store full: evicted the sessions closest to expiry"
        );
    }
}

fn sweep(inner: &mut Inner, now: SystemTime) -> usize {
    let expired: Vec<SessionHash> = inner
        .sessions
        .values()
        .filter(|r| !is_live(r, now))
        .map(|r| r.hash)
        .collect();
    for hash in &expired {
        inner.remove(hash);
    }
    expired.len()
}

impl Default for MemoryStore {
    /// A store on the system clock.
    fn default() -> Self {
        Self::new(SystemClock::shared())
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("len", &self.len())
            .field("max_sessions", &self.max_sessions)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn load(&self, hash: &SessionHash) -> Result<Option<SessionRecord>, StoreError> {
        let now = self.clock.now();
        Ok(self
            .read()
            .sessions
            .get(hash)
            .filter(|record| is_live(record, now))
            .map(|record| SessionRecord::clone(record)))
    }

    fn load_now(
        &self,
        hash: &SessionHash,
    ) -> Option<Result<Option<Arc<SessionRecord>>, StoreError>> {
        let now = self.clock.now();
        Some(Ok(self
            .read()
            .sessions
            .get(hash)
            .filter(|record| is_live(record, now))
            .cloned()))
    }

    async fn insert(
        &self,
        record: SessionRecord,
        max_per_user: Option<usize>,
    ) -> Result<Vec<SessionInfo>, StoreError> {
        let now = self.clock.now();
        let mut inner = self.write();
        match inner.sessions.get(&record.hash) {
            Some(existing) if is_live(existing, now) => return Err(StoreError::Duplicate),
            Some(_) => {
                inner.remove(&record.hash);
            }
            None => {}
        }
        let mut evicted = Vec::new();
        if let (Some(user), Some(max)) = (&record.user, max_per_user) {
            let live = inner.live_of(user, now);
            let excess = (live.len() + 1).saturating_sub(max.max(1));
            for info in live.into_iter().take(excess) {
                inner.remove(&info.hash);
                evicted.push(info);
            }
        }
        if inner.sessions.len() >= self.max_sessions {
            self.make_room(&mut inner, now);
        }
        if let Some(user) = &record.user {
            inner
                .by_user
                .entry(user.clone())
                .or_default()
                .insert(record.hash);
        }
        inner.sessions.insert(record.hash, Arc::new(record));
        Ok(evicted)
    }

    async fn save(&self, hash: &SessionHash, update: &SessionUpdate) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let mut inner = self.write();
        let Some(shared) = inner.sessions.get_mut(hash) else {
            return Ok(false);
        };
        if !is_live(shared, now) {
            inner.remove(hash);
            return Ok(false);
        }
        // Copy-on-write: a request still reading the record keeps the one it loaded.
        let record = Arc::make_mut(shared);
        for key in &update.remove {
            record.data.remove(key);
        }
        for (key, value) in &update.set {
            record.data.insert(key.clone(), value.clone());
        }
        if let Some(touch) = update.touch
            && touch.last_seen >= record.last_seen
        {
            record.last_seen = touch.last_seen;
            record.expires_at = touch.expires_at;
        }
        Ok(true)
    }

    async fn delete(&self, hash: &SessionHash) -> Result<bool, StoreError> {
        Ok(self.write().remove(hash).is_some())
    }

    async fn delete_user(
        &self,
        user: &str,
        keep: Option<&SessionHash>,
    ) -> Result<usize, StoreError> {
        let mut inner = self.write();
        let hashes: Vec<SessionHash> = inner
            .by_user
            .get(user)
            .into_iter()
            .flatten()
            .filter(|hash| Some(*hash) != keep)
            .copied()
            .collect();
        for hash in &hashes {
            inner.remove(hash);
        }
        Ok(hashes.len())
    }

    async fn list_user(&self, user: &str) -> Result<Vec<SessionInfo>, StoreError> {
        let now = self.clock.now();
        Ok(self.read().live_of(user, now))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use auth_core::{Clock, ManualClock, Scopes};

    use super::*;
    use crate::{CsrfToken, SessionId, Touch};

    fn record(clock: &ManualClock) -> SessionRecord {
        let now = clock.now();
        SessionRecord {
            hash: SessionId::from_bytes([3; 32]).hash(),
            user: Some("u".to_owned()),
            scopes: Scopes::new(),
            created_at: now,
            authenticated_at: Some(now),
            last_seen: now,
            expires_at: now + Duration::from_secs(60),
            csrf_token: CsrfToken::from_bytes([4; 32]),
            data: BTreeMap::from([("k".to_owned(), "1".to_owned())]),
        }
    }

    #[tokio::test]
    async fn load_now_agrees_with_load_and_shares_copy_on_write() {
        let clock = ManualClock::starting_now();
        let store = MemoryStore::new(clock.shared());
        let record = record(&clock);
        let hash = record.hash;
        let absent = SessionId::from_bytes([5; 32]).hash();
        assert_eq!(store.load_now(&absent).unwrap().unwrap(), None);
        store.insert(record.clone(), None).await.unwrap();

        let shared = store.load_now(&hash).unwrap().unwrap().unwrap();
        assert_eq!(*shared, record);
        assert_eq!(store.load(&hash).await.unwrap().as_ref(), Some(&*shared));

        // A save while a request holds the record: the store changes, the request's view
        // does not.
        let update = SessionUpdate {
            set: BTreeMap::from([("k".to_owned(), "2".to_owned())]),
            remove: std::collections::BTreeSet::new(),
            touch: Some(Touch {
                last_seen: clock.now() + Duration::from_secs(1),
                expires_at: clock.now() + Duration::from_secs(120),
            }),
        };
        assert!(store.save(&hash, &update).await.unwrap());
        assert_eq!(shared.data["k"], "1");
        let after = store.load_now(&hash).unwrap().unwrap().unwrap();
        assert_eq!(after.data["k"], "2");
        assert_eq!(store.load(&hash).await.unwrap().as_ref(), Some(&*after));

        // Expired: absent from both.
        clock.advance(Duration::from_secs(121));
        assert_eq!(store.load_now(&hash).unwrap().unwrap(), None);
        assert_eq!(store.load(&hash).await.unwrap(), None);
    }
}
