//! [`RedisRevocationStore`]: the `jti` denylist in Redis, shared by every instance.

use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;
use auth_core::{RedisConnection, RedisError, RedisTime, SharedClock};

use crate::revocation::{RevocationStore, StoreError};

/// A [`RevocationStore`] in Redis: a token revoked through one instance is refused by all.
///
/// - Key: `<namespace>jwt:revoked:<jti>`, holding the token's expiry.
/// - TTL: until the token's `exp` (computed from the store's clock), so the denylist holds
///   only tokens that would still verify and nothing needs sweeping.
/// - An entry counts until its `exp` by the store's [`Clock`](auth_core::Clock), as in
///   [`MemoryRevocationStore`](crate::MemoryRevocationStore); Redis TTLs only collect
///   garbage.
/// - Redis down or slow: both methods fail with [`StoreError`] within the connection's
///   timeout, and the verifier refuses the token (503, fail closed).
///
/// A revocation is as durable as Redis makes it: with persistence off (or `appendfsync
/// everysec`), a crash can forget the last revocations. Run it with
/// `appendonly yes` and an eviction policy that never drops these keys (`noeviction`).
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use auth_core::{RedisConnection, SystemClock};
/// use auth_jwt::{Algorithm, Key, KeySet, RedisRevocationStore, Verifier};
///
/// let redis = RedisConnection::connect("redis://127.0.0.1:6379").await?;
/// let revocations = Arc::new(RedisRevocationStore::new(&redis, SystemClock::shared()));
/// let keys = KeySet::single(Key::generate("k1", Algorithm::ES256)?);
/// let verifier = Verifier::builder(keys).revocations(revocations).build()?;
/// # Ok(())
/// # }
/// ```
pub struct RedisRevocationStore {
    redis: RedisConnection,
    clock: SharedClock,
    prefix: String,
}

impl RedisRevocationStore {
    /// A store on `redis`, reading time from `clock` (give the verifier the same clock).
    #[must_use]
    pub fn new(redis: &RedisConnection, clock: SharedClock) -> Self {
        Self {
            redis: redis.clone(),
            clock,
            prefix: redis.key("jwt:revoked:"),
        }
    }

    /// The Redis key of `jti`.
    #[must_use]
    pub fn redis_key(&self, jti: &str) -> String {
        format!("{}{jti}", self.prefix)
    }
}

fn store_error(error: RedisError) -> StoreError {
    StoreError(error.to_string())
}

#[async_trait]
impl RevocationStore for RedisRevocationStore {
    async fn revoke(&self, jti: &str, expires_at: SystemTime) -> Result<(), StoreError> {
        let Some(ttl) = RedisTime::ttl_millis(expires_at, self.clock.now()) else {
            // Already expired: the token is refused anyway.
            return Ok(());
        };
        let key = self.redis_key(jti);
        let value = RedisTime::encode(expires_at);
        self.redis
            .run(|mut c| async move {
                redis::cmd("SET")
                    .arg(&key)
                    .arg(&value)
                    .arg("PX")
                    .arg(ttl)
                    .query_async::<()>(&mut c)
                    .await
            })
            .await
            .map_err(store_error)
    }

    async fn is_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        let key = self.redis_key(jti);
        let until: Option<String> = self
            .redis
            .run(|mut c| async move { redis::cmd("GET").arg(&key).query_async(&mut c).await })
            .await
            .map_err(store_error)?;
        match until {
            None => Ok(false),
            Some(until) => {
                let until = RedisTime::decode(&until).map_err(store_error)?;
                Ok(until > self.clock.now())
            }
        }
    }
}

impl fmt::Debug for RedisRevocationStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRevocationStore")
            .field("redis", &self.redis)
            .finish_non_exhaustive()
    }
}
