//! [`RedisNonceStore`]: signature nonces in Redis, so a replay to another instance fails too.

use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;
use auth_core::{RedisConnection, RedisError, RedisTime, SharedClock};

use crate::nonce::{NonceStore, StoreError};

/// First use wins, atomically: a nonce whose entry is still live by the caller's clock is a
/// replay; otherwise the nonce is recorded until `expires_at` (or, already expired, only
/// cleared).
const INSERT_IF_ABSENT: &str = r"
-- KEYS[1] the key; ARGV[1] now; ARGV[2] expires_at; ARGV[3] TTL in ms (0: already expired)
local stored = redis.call('GET', KEYS[1])
if stored and before(ARGV[1], stored) then
  return 0
end
if ARGV[3] ~= '0' then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
elseif stored then
  redis.call('DEL', KEYS[1])
end
return 1
";

/// A [`NonceStore`] in Redis, shared by every instance: a signed request replayed to
/// another instance behind the load balancer is refused too.
///
/// - Key: `<namespace>hmac:nonce:<nonce>` (the verifier scopes nonces by `keyid`), holding
///   the nonce's expiry.
/// - First use is one Lua script (read, compare with the clock, `SET … PX`), atomic across
///   instances: of two concurrent requests with the same nonce exactly one passes.
/// - TTL: until `expires_at` (computed from the store's clock); nothing needs sweeping.
///   Expiry itself follows the store's [`Clock`](auth_core::Clock), exactly as in
///   [`MemoryNonceStore`](crate::MemoryNonceStore).
/// - Redis down or slow: [`StoreError::Unavailable`] within the connection's timeout (the
///   request gets 503). There is no [`StoreError::Full`]: Redis's `maxmemory` bounds it;
///   use `maxmemory-policy noeviction`, since evicting a live nonce reopens its replay
///   window (with `noeviction` a full Redis refuses the write: 503).
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use auth_core::{RedisConnection, SystemClock};
/// use auth_hmac::RedisNonceStore;
///
/// let redis = RedisConnection::connect("redis://127.0.0.1:6379").await?;
/// let nonces = RedisNonceStore::new(&redis, SystemClock::shared());
/// // Give it to the verifier: `.nonce_store(Arc::new(nonces))` on its builder.
/// # Ok(())
/// # }
/// ```
pub struct RedisNonceStore {
    redis: RedisConnection,
    clock: SharedClock,
    prefix: String,
    script: redis::Script,
}

impl RedisNonceStore {
    /// A store on `redis`, reading time from `clock` (give the verifier the same clock).
    #[must_use]
    pub fn new(redis: &RedisConnection, clock: SharedClock) -> Self {
        Self {
            redis: redis.clone(),
            clock,
            prefix: redis.key("hmac:nonce:"),
            script: redis::Script::new(&format!("{}{INSERT_IF_ABSENT}", RedisTime::LUA_BEFORE)),
        }
    }

    /// The Redis key of `nonce`.
    #[must_use]
    pub fn redis_key(&self, nonce: &str) -> String {
        format!("{}{nonce}", self.prefix)
    }
}

fn unavailable(error: RedisError) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

#[async_trait]
impl NonceStore for RedisNonceStore {
    async fn insert_if_absent(
        &self,
        nonce: &str,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let ttl = RedisTime::ttl_millis(expires_at, now).unwrap_or(0);
        let mut invocation = self.script.key(self.redis_key(nonce));
        invocation
            .arg(RedisTime::encode(now))
            .arg(RedisTime::encode(expires_at))
            .arg(ttl);
        let first: i64 = self
            .redis
            .run(|mut c| async move { invocation.invoke_async(&mut c).await })
            .await
            .map_err(unavailable)?;
        Ok(first == 1)
    }
}

impl fmt::Debug for RedisNonceStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisNonceStore")
            .field("redis", &self.redis)
            .finish_non_exhaustive()
    }
}
