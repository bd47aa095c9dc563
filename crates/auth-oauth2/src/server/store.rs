//! Where the token service keeps what it issued: refresh tokens ([`RefreshTokenStore`]) and
//! opaque access tokens ([`AccessTokenStore`]), each keyed by the SHA-256 of the token
//! ([`TokenHash`]): a store never holds a token.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use async_trait::async_trait;
use auth_core::{Scopes, SharedClock};
use sha2::{Digest, Sha256};

/// A store could not answer. The service refuses the request with 503
/// `temporarily_unavailable` (fail closed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token store unavailable: {0}")]
pub struct StoreError(pub String);

/// The SHA-256 of a token: the key under which stores keep it. A 256-bit random token needs
/// no salt or slow hash (nothing to guess); a leaked store yields no usable token.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// The hash of `token`.
    #[must_use]
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// A hash read back from storage.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes, for storage.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash(")?;
        for b in &self.0[..4] {
            write!(f, "{b:02x}")?;
        }
        write!(f, "...)")
    }
}

/// A refresh token as stored: who it was issued to, for what, its family and its state.
///
/// A *family* is every refresh token descended from one grant (one login, one client
/// authorization): each use rotates the token (the old one is marked
/// [`rotated`](RefreshTokenRecord::rotated), a new one joins the family). A rotated token
/// presented again means that two parties hold the family's tokens: the whole family is
/// revoked (RFC 9700 §4.14.2), with the access tokens issued alongside.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefreshTokenRecord {
    /// The key: the SHA-256 of the token.
    pub hash: TokenHash,
    /// The family (random id, the same for every rotation of one grant).
    pub family_id: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The resource owner (the user's id; the client's id for client credentials).
    pub subject: String,
    /// The scopes granted to the family.
    pub scopes: Scopes,
    /// The audience of the family's access tokens.
    pub audience: String,
    /// Issued by the first-party login, not to an OAuth client: refreshed only there.
    pub first_party: bool,
    /// When it was issued.
    pub issued_at: SystemTime,
    /// When it expires.
    pub expires_at: SystemTime,
    /// When the family ends: no rotation extends a token past it.
    pub family_expires_at: SystemTime,
    /// The id (`jti`) of the access token issued with it.
    pub access_token_id: String,
    /// When that access token expires.
    pub access_expires_at: SystemTime,
    /// Used once already: presenting it again revokes the family.
    pub rotated: bool,
    /// Revoked (the family was).
    pub revoked: bool,
}

impl RefreshTokenRecord {
    /// A fresh (not rotated, not revoked) record.
    #[allow(clippy::too_many_arguments)]
    #[must_use]
    pub fn new(
        hash: TokenHash,
        family_id: impl Into<String>,
        client_id: impl Into<String>,
        subject: impl Into<String>,
        scopes: Scopes,
        audience: impl Into<String>,
        issued_at: SystemTime,
        expires_at: SystemTime,
    ) -> Self {
        Self {
            hash,
            family_id: family_id.into(),
            client_id: client_id.into(),
            subject: subject.into(),
            scopes,
            audience: audience.into(),
            first_party: false,
            issued_at,
            expires_at,
            family_expires_at: expires_at,
            access_token_id: String::new(),
            access_expires_at: issued_at,
            rotated: false,
            revoked: false,
        }
    }
}

/// Refresh tokens, by hash. Implement it for a database; memory: [`MemoryRefreshTokenStore`].
///
/// Records may be deleted once expired; rotated ones must be kept until then, or reuse goes
/// unnoticed.
#[async_trait]
pub trait RefreshTokenStore: Send + Sync + fmt::Debug + 'static {
    /// Stores a new refresh token.
    async fn insert(&self, record: RefreshTokenRecord) -> Result<(), StoreError>;

    /// The record of `hash`, if any (rotated and revoked ones included).
    async fn find(&self, hash: &TokenHash) -> Result<Option<RefreshTokenRecord>, StoreError>;

    /// Marks `hash` rotated if it is neither rotated nor revoked, atomically (compare and
    /// set: `UPDATE ... SET rotated = true WHERE hash = ? AND NOT rotated AND NOT revoked`).
    /// `true` when this call rotated it; `false` when another use came first, which the
    /// service treats as reuse.
    async fn mark_rotated(&self, hash: &TokenHash) -> Result<bool, StoreError>;

    /// Revokes every refresh token of `family_id` and returns their records (for the ids of
    /// the access tokens issued with them).
    async fn revoke_family(&self, family_id: &str) -> Result<Vec<RefreshTokenRecord>, StoreError>;
}

/// An opaque access token as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccessTokenRecord {
    /// The key: the SHA-256 of the token.
    pub hash: TokenHash,
    /// A public id (reported as `jti` by introspection and in audit events).
    pub token_id: String,
    /// The refresh-token family it was issued with, if any.
    pub family_id: Option<String>,
    /// The client it was issued to.
    pub client_id: String,
    /// The subject (`sub`).
    pub subject: String,
    /// The scopes granted.
    pub scopes: Scopes,
    /// The audience (`aud`).
    pub audience: String,
    /// When it was issued.
    pub issued_at: SystemTime,
    /// When it expires.
    pub expires_at: SystemTime,
    /// Revoked.
    pub revoked: bool,
}

impl AccessTokenRecord {
    /// A record of a new, unrevoked token outside any family.
    #[allow(clippy::too_many_arguments)]
    #[must_use]
    pub fn new(
        hash: TokenHash,
        token_id: impl Into<String>,
        client_id: impl Into<String>,
        subject: impl Into<String>,
        scopes: Scopes,
        audience: impl Into<String>,
        issued_at: SystemTime,
        expires_at: SystemTime,
    ) -> Self {
        Self {
            hash,
            token_id: token_id.into(),
            family_id: None,
            client_id: client_id.into(),
            subject: subject.into(),
            scopes,
            audience: audience.into(),
            issued_at,
            expires_at,
            revoked: false,
        }
    }
}

/// Opaque access tokens, by hash. Memory: [`MemoryAccessTokenStore`].
#[async_trait]
pub trait AccessTokenStore: Send + Sync + fmt::Debug + 'static {
    /// Stores a new token.
    async fn insert(&self, record: AccessTokenRecord) -> Result<(), StoreError>;

    /// The record of `hash`, if any (revoked ones included).
    async fn find(&self, hash: &TokenHash) -> Result<Option<AccessTokenRecord>, StoreError>;

    /// Revokes the token `hash` (nothing when unknown).
    async fn revoke(&self, hash: &TokenHash) -> Result<(), StoreError>;

    /// Revokes every token of `family_id`.
    async fn revoke_family(&self, family_id: &str) -> Result<(), StoreError>;
}

/// How often the memory stores sweep out expired records: every this many inserts.
const SWEEP_EVERY: u64 = 256;

/// A map from hash to record whose expired records are swept out now and then.
struct Sweeping<R> {
    map: Mutex<HashMap<TokenHash, R>>,
    inserts: AtomicU64,
    clock: SharedClock,
}

impl<R> Sweeping<R> {
    fn new(clock: SharedClock) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            inserts: AtomicU64::new(0),
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<TokenHash, R>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn insert(&self, hash: TokenHash, record: R, expires_at: impl Fn(&R) -> SystemTime) {
        let mut map = self.lock();
        if self.inserts.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            let now = self.clock.now();
            map.retain(|_, r| expires_at(r) > now);
        }
        map.insert(hash, record);
    }
}

/// Refresh tokens in memory: for one instance (a restart logs everybody out). Expired
/// records are swept out as new ones arrive.
pub struct MemoryRefreshTokenStore {
    records: Sweeping<RefreshTokenRecord>,
}

impl MemoryRefreshTokenStore {
    /// An empty store; `clock` decides what has expired.
    #[must_use]
    pub fn new(clock: SharedClock) -> Self {
        Self {
            records: Sweeping::new(clock),
        }
    }

    /// Records held (expired ones may linger until the next sweep).
    #[must_use]
    pub fn len(&self) -> usize {
        self.records.lock().len()
    }

    /// Whether no record is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl RefreshTokenStore for MemoryRefreshTokenStore {
    async fn insert(&self, record: RefreshTokenRecord) -> Result<(), StoreError> {
        self.records.insert(record.hash, record, |r| r.expires_at);
        Ok(())
    }

    async fn find(&self, hash: &TokenHash) -> Result<Option<RefreshTokenRecord>, StoreError> {
        Ok(self.records.lock().get(hash).cloned())
    }

    async fn mark_rotated(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        let mut map = self.records.lock();
        Ok(match map.get_mut(hash) {
            Some(record) if !record.rotated && !record.revoked => {
                record.rotated = true;
                true
            }
            _ => false,
        })
    }

    async fn revoke_family(&self, family_id: &str) -> Result<Vec<RefreshTokenRecord>, StoreError> {
        let mut map = self.records.lock();
        Ok(map
            .values_mut()
            .filter(|r| r.family_id == family_id)
            .map(|r| {
                r.revoked = true;
                r.clone()
            })
            .collect())
    }
}

impl fmt::Debug for MemoryRefreshTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryRefreshTokenStore")
            .field("records", &self.len())
            .finish()
    }
}

/// Opaque access tokens in memory: for one instance. Expired records are swept out as new
/// ones arrive.
pub struct MemoryAccessTokenStore {
    records: Sweeping<AccessTokenRecord>,
}

impl MemoryAccessTokenStore {
    /// An empty store; `clock` decides what has expired.
    #[must_use]
    pub fn new(clock: SharedClock) -> Self {
        Self {
            records: Sweeping::new(clock),
        }
    }

    /// Records held (expired ones may linger until the next sweep).
    #[must_use]
    pub fn len(&self) -> usize {
        self.records.lock().len()
    }

    /// Whether no record is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl AccessTokenStore for MemoryAccessTokenStore {
    async fn insert(&self, record: AccessTokenRecord) -> Result<(), StoreError> {
        self.records.insert(record.hash, record, |r| r.expires_at);
        Ok(())
    }

    async fn find(&self, hash: &TokenHash) -> Result<Option<AccessTokenRecord>, StoreError> {
        Ok(self.records.lock().get(hash).cloned())
    }

    async fn revoke(&self, hash: &TokenHash) -> Result<(), StoreError> {
        if let Some(record) = self.records.lock().get_mut(hash) {
            record.revoked = true;
        }
        Ok(())
    }

    async fn revoke_family(&self, family_id: &str) -> Result<(), StoreError> {
        for record in self.records.lock().values_mut() {
            if record.family_id.as_deref() == Some(family_id) {
                record.revoked = true;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for MemoryAccessTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryAccessTokenStore")
            .field("records", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use auth_core::{Clock, ManualClock};

    use super::*;

    fn record(token: &str, family: &str, clock: &ManualClock) -> RefreshTokenRecord {
        let now = clock.now();
        RefreshTokenRecord::new(
            TokenHash::of(token),
            family,
            "c",
            "u",
            Scopes::new(),
            "aud",
            now,
            now + Duration::from_secs(60),
        )
    }

    #[tokio::test]
    async fn rotation_is_compare_and_set_and_families_revoke_together() {
        let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_000_000));
        let store = MemoryRefreshTokenStore::new(clock.shared());
        store.insert(record("a", "f1", &clock)).await.unwrap();
        store.insert(record("b", "f1", &clock)).await.unwrap();
        store.insert(record("c", "f2", &clock)).await.unwrap();
        assert!(store.mark_rotated(&TokenHash::of("a")).await.unwrap());
        assert!(
            !store.mark_rotated(&TokenHash::of("a")).await.unwrap(),
            "only once"
        );
        assert_eq!(store.revoke_family("f1").await.unwrap().len(), 2);
        assert!(
            !store.mark_rotated(&TokenHash::of("b")).await.unwrap(),
            "revoked"
        );
        assert!(
            !store
                .find(&TokenHash::of("c"))
                .await
                .unwrap()
                .unwrap()
                .revoked
        );
    }

    #[tokio::test]
    async fn expired_records_are_swept() {
        let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_000_000));
        let store = MemoryRefreshTokenStore::new(clock.shared());
        store.insert(record("old", "f", &clock)).await.unwrap();
        clock.advance(Duration::from_secs(120));
        for i in 0..SWEEP_EVERY {
            store
                .insert(record(&format!("t{i}"), "g", &clock))
                .await
                .unwrap();
        }
        assert!(store.find(&TokenHash::of("old")).await.unwrap().is_none());
        assert!(!format!("{:?}", TokenHash::of("x")).contains(&"0".repeat(64)));
    }
}
