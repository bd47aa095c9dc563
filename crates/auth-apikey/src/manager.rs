//! [`KeyManager`]: create, verify, list, revoke, rotate and expire keys.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_core::{Secret, SharedClock, SystemClock};

use crate::format::random_base62;
use crate::{
    ConfigError, CreatedKey, Error, KeyFormat, KeyHasher, KeyMetadata, KeyRecord, KeyStatus,
    KeyStore, NewKey, Result, StoreError,
};

/// The default lifetime of a new key: one year.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The default least time between two writes of a key's `last_used_at`: one minute.
pub const DEFAULT_LAST_USED_INTERVAL: Duration = Duration::from_secs(60);

/// The longest owner, in bytes.
pub const MAX_OWNER_LEN: usize = 256;

/// The longest key name, in bytes.
pub const MAX_NAME_LEN: usize = 128;

/// Attempts at a fresh id and key when the store reports a duplicate (a 71-bit id clash).
const INSERT_ATTEMPTS: usize = 3;

/// The lifecycle of API keys over a [`KeyStore`]: the one place that generates, hashes and
/// checks keys. [`ApiKeyAuthenticator`](crate::ApiKeyAuthenticator) verifies through it, so
/// keys made here and keys checked there always share the prefix, the pepper and the clock.
///
/// Cheap to clone (shared).
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// use std::time::Duration;
/// use auth_apikey::{Error, KeyManager, MemoryKeyStore, NewKey};
///
/// let keys = KeyManager::builder(MemoryKeyStore::new(), "myapp_live").build()?;
/// let created = keys
///     .create(NewKey::new("billing-service", "export").scopes("invoices:read".parse()?))
///     .await?;
/// // Shown once: hand `created.key` to its owner now.
/// let metadata = keys.verify(created.key.expose_secret()).await?;
/// assert_eq!(metadata.owner, "billing-service");
///
/// // Rotation: a new key; the old one works for a day more.
/// let new = keys.rotate(&created.metadata.id, Duration::from_secs(86_400)).await?;
/// assert!(keys.verify(created.key.expose_secret()).await.is_ok());
/// assert!(keys.verify(new.key.expose_secret()).await.is_ok());
///
/// keys.revoke(&new.metadata.id).await?;
/// assert!(matches!(
///     keys.verify(new.key.expose_secret()).await,
///     Err(Error::Revoked { .. })
/// ));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct KeyManager {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn KeyStore>,
    format: KeyFormat,
    hasher: KeyHasher,
    clock: SharedClock,
    default_lifetime: Option<Duration>,
    last_used_interval: Duration,
}

/// Builds a [`KeyManager`]. From [`KeyManager::builder`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct KeyManagerBuilder {
    store: Arc<dyn KeyStore>,
    prefix: String,
    pepper: Option<Secret>,
    clock: SharedClock,
    default_lifetime: Option<Duration>,
    last_used_interval: Duration,
}

impl KeyManagerBuilder {
    /// Hashes keys with HMAC-SHA256 under `pepper` (at least 32 bytes) instead of plain
    /// SHA-256, so a copy of the database alone cannot even confirm a guessed key.
    ///
    /// # Security
    ///
    /// Keep the pepper out of the database (configuration, a secret manager). Changing it
    /// makes every stored key unverifiable: rotate every key when you do.
    pub fn pepper(mut self, pepper: Secret) -> Self {
        self.pepper = Some(pepper);
        self
    }

    /// Reads time from `clock` (default: the system clock). Tests pass a
    /// [`ManualClock`](auth_core::ManualClock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The lifetime of keys created without one ([`DEFAULT_LIFETIME`], one year, by
    /// default); `None` makes such keys never expire.
    pub fn default_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.default_lifetime = lifetime;
        self
    }

    /// The least time between two writes of a key's `last_used_at` (default
    /// [`DEFAULT_LAST_USED_INTERVAL`], one minute), so a busy key does not write on every
    /// request.
    pub fn last_used_interval(mut self, interval: Duration) -> Self {
        self.last_used_interval = interval;
        self
    }

    /// Checks the configuration and builds the manager.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidPrefix`], [`ConfigError::WeakPepper`], or
    /// [`ConfigError::InvalidSetting`] for a zero default lifetime.
    pub fn build(self) -> Result<KeyManager, ConfigError> {
        let format = KeyFormat::new(&self.prefix)?;
        let hasher = match &self.pepper {
            Some(pepper) => KeyHasher::peppered(pepper)?,
            None => KeyHasher::sha256(),
        };
        if self.default_lifetime.is_some_and(|d| d.is_zero()) {
            return Err(ConfigError::InvalidSetting(
                "the default lifetime must be positive (or None for no expiry)",
            ));
        }
        Ok(KeyManager {
            inner: Arc::new(Inner {
                store: self.store,
                format,
                hasher,
                clock: self.clock,
                default_lifetime: self.default_lifetime,
                last_used_interval: self.last_used_interval,
            }),
        })
    }
}

impl fmt::Debug for KeyManagerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyManagerBuilder")
            .field("prefix", &self.prefix)
            .field("peppered", &self.pepper.is_some())
            .field("default_lifetime", &self.default_lifetime)
            .field("last_used_interval", &self.last_used_interval)
            .finish_non_exhaustive()
    }
}

impl KeyManager {
    /// A builder over `store`, issuing keys with `prefix` (checked at
    /// [`build`](KeyManagerBuilder::build)). Pass an `Arc` of the store to keep a handle.
    pub fn builder(store: impl KeyStore, prefix: impl Into<String>) -> KeyManagerBuilder {
        KeyManagerBuilder {
            store: Arc::new(store),
            prefix: prefix.into(),
            pepper: None,
            clock: SystemClock::shared(),
            default_lifetime: Some(DEFAULT_LIFETIME),
            last_used_interval: DEFAULT_LAST_USED_INTERVAL,
        }
    }

    /// The key format (the prefix).
    #[must_use]
    pub fn format(&self) -> &KeyFormat {
        &self.inner.format
    }

    /// The clock.
    #[must_use]
    pub fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    /// Creates a key. The plaintext is in the result, once; the store gets only its hash.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an empty or oversized owner or name, one with control
    /// characters, or an expiry that is not in the future; [`Error::Random`];
    /// [`Error::Store`].
    pub async fn create(&self, new: NewKey) -> Result<CreatedKey> {
        check_text("owner", &new.owner, MAX_OWNER_LEN)?;
        check_text("name", &new.name, MAX_NAME_LEN)?;
        let now = self.inner.clock.now();
        let expires_at = new.expiry(now, self.inner.default_lifetime);
        if expires_at.is_some_and(|at| at <= now) {
            return Err(Error::InvalidInput {
                field: "expiry",
                problem: "must be in the future",
            });
        }
        let mut last_error = StoreError::Duplicate;
        for _ in 0..INSERT_ATTEMPTS {
            let (key, mut metadata) = self.mint(&new.owner, &new.name, now)?;
            metadata.scopes = new.scopes.clone();
            metadata.expires_at = expires_at;
            let record = KeyRecord::new(self.inner.hasher.hash(key.expose_secret()), metadata);
            let metadata = record.metadata.clone();
            match self.inner.store.insert(record).await {
                Ok(()) => return Ok(CreatedKey { key, metadata }),
                Err(StoreError::Duplicate) => last_error = StoreError::Duplicate,
                Err(e) => return Err(e.into()),
            }
        }
        Err(last_error.into())
    }

    /// Verifies `key`: its format and checksum first (no store lookup when they fail), then
    /// one store lookup by hash, then revocation and expiry. Records the use (at most once
    /// per [`last_used_interval`](KeyManagerBuilder::last_used_interval)).
    ///
    /// # Errors
    ///
    /// [`Error::Format`], [`Error::UnknownKey`], [`Error::Revoked`], [`Error::Expired`],
    /// [`Error::Rotated`] (refusals: [`Error::is_refusal`]), or [`Error::Store`].
    pub async fn verify(&self, key: &str) -> Result<Arc<KeyMetadata>> {
        self.verify_timed(key).await.map(|(metadata, _)| metadata)
    }

    /// [`verify`](Self::verify), with the clock reading the decision was made at (the
    /// authenticator stamps the principal with it instead of reading the clock again).
    pub(crate) async fn verify_timed(&self, key: &str) -> Result<(Arc<KeyMetadata>, SystemTime)> {
        let parsed = self.inner.format.parse(key)?;
        let hash = self.inner.hasher.hash(parsed.as_str());
        let store = &self.inner.store;
        let found =
            auth_core::now_or_await(store.find_shared_now(&hash), || store.find_shared(&hash))
                .await;
        let record = found?.ok_or(Error::UnknownKey)?;
        // The map lookup matched on the hash already; a store that matched loosely (a
        // prefix index, a collation) must still not let a different hash through.
        if !record.hash.ct_eq(&hash) {
            return Err(Error::UnknownKey);
        }
        let mut metadata = record.metadata;
        let now = self.inner.clock.now();
        let refused = |m: &KeyMetadata| (m.id.clone(), m.owner.clone());
        match metadata.status(now) {
            KeyStatus::Active | KeyStatus::Grace { .. } => {}
            KeyStatus::Revoked => {
                let (key_id, owner) = refused(&metadata);
                return Err(Error::Revoked { key_id, owner });
            }
            KeyStatus::Rotated => {
                let (key_id, owner) = refused(&metadata);
                return Err(Error::Rotated { key_id, owner });
            }
            KeyStatus::Expired => {
                let (key_id, owner) = refused(&metadata);
                return Err(Error::Expired { key_id, owner });
            }
        }
        self.record_use(&mut metadata, now).await;
        Ok((metadata, now))
    }

    /// Writes `last_used_at` when the last write is older than the interval. Best effort: a
    /// failure is logged, the verification stands.
    async fn record_use(&self, metadata: &mut Arc<KeyMetadata>, now: SystemTime) {
        let interval = self.inner.last_used_interval;
        let due = metadata
            .last_used_at
            .is_none_or(|last| now.duration_since(last).is_ok_and(|since| since > interval));
        if !due {
            return;
        }
        let if_before = now.checked_sub(interval).unwrap_or(UNIX_EPOCH);
        match self.inner.store.touch(&metadata.id, now, if_before).await {
            // The caller's copy shows the write (the store's record has it already).
            Ok(true) => Arc::make_mut(metadata).last_used_at = Some(now),
            Ok(false) => {}
            Err(error) => tracing::warn!(
                target: "auth_apikey",
                key_id = %metadata.id,
                %error,
                "could not record the key's last use"
            ),
        }
    }

    /// The metadata of key `key_id`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Store`].
    pub async fn get(&self, key_id: &str) -> Result<KeyMetadata> {
        self.inner
            .store
            .find_by_id(key_id)
            .await?
            .ok_or_else(|| not_found(key_id))
    }

    /// Every key of `owner` (revoked and expired ones included), oldest first. Metadata
    /// only: a key cannot be shown again.
    ///
    /// # Errors
    ///
    /// [`Error::Store`].
    pub async fn list_by_owner(&self, owner: &str) -> Result<Vec<KeyMetadata>> {
        Ok(self.inner.store.list_by_owner(owner).await?)
    }

    /// Revokes key `key_id` now. It is refused from the next request on. Revoking twice
    /// keeps the first time.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Store`].
    pub async fn revoke(&self, key_id: &str) -> Result<KeyMetadata> {
        let now = self.inner.clock.now();
        self.inner
            .store
            .revoke(key_id, now)
            .await?
            .ok_or_else(|| not_found(key_id))
    }

    /// Expires key `key_id` now (an earlier expiry stays). Unlike [`revoke`](Self::revoke),
    /// audit events then say `expired_key`: use it for planned retirement, `revoke` for a
    /// leak.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Store`].
    pub async fn expire(&self, key_id: &str) -> Result<KeyMetadata> {
        let now = self.inner.clock.now();
        self.inner
            .store
            .expire_by(key_id, now)
            .await?
            .ok_or_else(|| not_found(key_id))
    }

    /// Rotates key `key_id`: creates a successor (same owner, name and scopes, and the same
    /// lifetime length when the old key had an expiry) and lets the old key work for `grace`
    /// more (or until its own expiry, if that is sooner). `grace` zero ends it now.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`]; [`Error::NotRotatable`] when the key is revoked, expired or
    /// already rotated; [`Error::Random`]; [`Error::Store`].
    pub async fn rotate(&self, key_id: &str, grace: Duration) -> Result<CreatedKey> {
        let old = self.get(key_id).await?;
        let now = self.inner.clock.now();
        let status = old.status(now);
        if status != KeyStatus::Active {
            return Err(Error::NotRotatable {
                key_id: key_id.to_owned(),
                status: status.as_str(),
            });
        }
        let grace_until = now.checked_add(grace).ok_or(Error::InvalidInput {
            field: "grace",
            problem: "out of range",
        })?;
        let expires_at = old
            .expires_at
            .and_then(|at| at.duration_since(old.created_at).ok())
            .and_then(|lifetime| now.checked_add(lifetime));
        let mut last_error = StoreError::Duplicate;
        for _ in 0..INSERT_ATTEMPTS {
            let (key, mut metadata) = self.mint(&old.owner, &old.name, now)?;
            metadata.scopes = old.scopes.clone();
            metadata.expires_at = expires_at;
            metadata.rotated_from = Some(old.id.clone());
            let record = KeyRecord::new(self.inner.hasher.hash(key.expose_secret()), metadata);
            let metadata = record.metadata.clone();
            match self.inner.store.rotate(key_id, record, grace_until).await {
                Ok(Some(_)) => return Ok(CreatedKey { key, metadata }),
                Ok(None) => return Err(not_found(key_id)),
                Err(StoreError::Duplicate) => last_error = StoreError::Duplicate,
                Err(StoreError::Conflict(_)) => {
                    return Err(Error::NotRotatable {
                        key_id: key_id.to_owned(),
                        status: "revoked or rotated",
                    });
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(last_error.into())
    }

    /// A fresh key and a fresh public id, with bare metadata.
    fn mint(
        &self,
        owner: &str,
        name: &str,
        now: SystemTime,
    ) -> Result<(crate::ApiKey, KeyMetadata)> {
        let key = self.inner.format.generate()?;
        let id = format!("key_{}", random_base62(12)?);
        let metadata = KeyMetadata::new(id, owner, name, auth_core::Scopes::new(), now);
        Ok((key, metadata))
    }
}

impl fmt::Debug for KeyManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyManager")
            .field("format", &self.inner.format)
            .field("hasher", &self.inner.hasher)
            .field("store", &self.inner.store)
            .field("default_lifetime", &self.inner.default_lifetime)
            .field("last_used_interval", &self.inner.last_used_interval)
            .finish_non_exhaustive()
    }
}

fn not_found(key_id: &str) -> Error {
    Error::NotFound {
        key_id: key_id.to_owned(),
    }
}

fn check_text(field: &'static str, value: &str, max: usize) -> Result<()> {
    let problem = if value.is_empty() {
        "must not be empty"
    } else if value.len() > max {
        "is too long"
    } else if value.chars().any(char::is_control) {
        "must not hold control characters"
    } else {
        return Ok(());
    };
    Err(Error::InvalidInput { field, problem })
}

#[cfg(test)]
mod tests {
    use auth_core::{Clock, ManualClock};

    use super::*;
    use crate::MemoryKeyStore;

    fn setup() -> (ManualClock, Arc<MemoryKeyStore>, KeyManager) {
        let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        let store = Arc::new(MemoryKeyStore::new());
        let keys = KeyManager::builder(Arc::clone(&store), "unit")
            .clock(clock.shared())
            .build()
            .unwrap();
        (clock, store, keys)
    }

    #[tokio::test]
    async fn create_applies_the_default_lifetime_and_checks_inputs() {
        let (clock, _store, keys) = setup();
        let created = keys.create(NewKey::new("svc", "ci")).await.unwrap();
        assert_eq!(
            created.metadata.expires_at,
            Some(clock.now() + DEFAULT_LIFETIME)
        );
        assert!(created.metadata.id.starts_with("key_"));
        assert_eq!(created.metadata.id.len(), 16);
        for (owner, name) in [("", "n"), ("o", ""), ("o\n", "n"), ("o", &"n".repeat(129))] {
            assert!(matches!(
                keys.create(NewKey::new(owner, name)).await,
                Err(Error::InvalidInput { .. })
            ));
        }
        assert!(matches!(
            keys.create(NewKey::new("o", "n").expires_at(clock.now()))
                .await,
            Err(Error::InvalidInput {
                field: "expiry",
                ..
            })
        ));
    }

    #[tokio::test]
    async fn last_used_is_written_at_most_once_per_interval() {
        let (clock, store, keys) = setup();
        let created = keys.create(NewKey::new("svc", "ci")).await.unwrap();
        let key = created.key.expose_secret();
        let first = keys.verify(key).await.unwrap();
        assert_eq!(first.last_used_at, Some(clock.now()));
        let stamped = clock.now();
        for _ in 0..10 {
            clock.advance(Duration::from_secs(5));
            keys.verify(key).await.unwrap();
        }
        let stored = store.find_by_id_sync(&created.metadata.id);
        assert_eq!(
            stored.last_used_at,
            Some(stamped),
            "50 s later: not rewritten"
        );
        clock.advance(Duration::from_secs(11));
        keys.verify(key).await.unwrap();
        assert_eq!(
            store.find_by_id_sync(&created.metadata.id).last_used_at,
            Some(clock.now())
        );
    }

    #[tokio::test]
    async fn builder_refuses_bad_settings() {
        let store = MemoryKeyStore::new();
        assert!(matches!(
            KeyManager::builder(store, "Bad-Prefix").build(),
            Err(ConfigError::InvalidPrefix(_))
        ));
        assert!(matches!(
            KeyManager::builder(MemoryKeyStore::new(), "ok")
                .pepper(Secret::from("short"))
                .build(),
            Err(ConfigError::WeakPepper { len: 5, .. })
        ));
        assert!(matches!(
            KeyManager::builder(MemoryKeyStore::new(), "ok")
                .default_lifetime(Some(Duration::ZERO))
                .build(),
            Err(ConfigError::InvalidSetting(_))
        ));
    }

    impl MemoryKeyStore {
        fn find_by_id_sync(&self, id: &str) -> KeyMetadata {
            self.records()
                .into_iter()
                .find(|r| r.metadata.id == id)
                .unwrap()
                .metadata
        }
    }
}
