//! Redis, shared by the stores of every auth-* crate: [`RedisConnection`] (one multiplexed,
//! self-reconnecting connection with a namespace and a timeout), [`RedisError`],
//! [`RedisTime`], and this crate's store, [`RedisThrottle`].
//!
//! The other crates' Redis stores (`auth_jwt::RedisRevocationStore`,
//! `auth_hmac::RedisNonceStore`, `auth_session::RedisSessionStore`) are built on a
//! [`RedisConnection`] too, so an application opens one connection for all of them.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::{SharedClock, Throttle, ThrottleError, ThrottleKey, ThrottlePolicy};

/// What a Redis store could not do.
///
/// Each store turns it into its trait's "unavailable" error, which the authenticators answer
/// with 503 (fail closed). Messages never hold the URL (it may carry a password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedisError {
    /// The URL does not parse, or asks for something this build cannot do (`rediss://`
    /// without TLS support).
    #[error("invalid Redis URL: {0}")]
    InvalidUrl(String),
    /// A setting is out of range.
    #[error("invalid Redis configuration: {0}")]
    InvalidConfig(&'static str),
    /// Redis did not answer within the timeout.
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
    /// Redis refused the connection or the command, or the connection broke.
    #[error("Redis unavailable: {0}")]
    Unavailable(String),
    /// Redis answered with something the store did not write (a key changed by hand, or
    /// another program using the namespace).
    #[error("unexpected data in Redis: {0}")]
    Unexpected(String),
}

impl From<redis::RedisError> for RedisError {
    fn from(error: redis::RedisError) -> Self {
        RedisError::Unavailable(error.to_string())
    }
}

/// A connection to Redis, shared by the Redis stores of the auth-* crates.
///
/// It wraps the `redis` crate's [`ConnectionManager`]: one multiplexed connection that
/// reconnects by itself after the server went away. On top of it:
///
/// - a **namespace**, the prefix of every key the stores write (default
///   [`RedisConnection::DEFAULT_NAMESPACE`]), so applications and test runs sharing a
///   server do not collide;
/// - a **timeout** on every store call (default [`RedisConnection::DEFAULT_TIMEOUT`]): a
///   call that takes longer fails with [`RedisError::Timeout`], which the authenticators
///   answer with 503. A call that timed out replaces the underlying connection, so a
///   connection stuck on a dead peer (no reset ever arrives) is not used again.
///
/// Clones share the connection. It needs a Tokio runtime with I/O and time enabled (as
/// `#[tokio::main]` and actix-web provide).
///
/// The stores use Lua scripts that touch keys they compute, so they need a standalone
/// Redis (or a primary behind Sentinel), not Redis Cluster.
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use auth_core::{RedisConnection, RedisThrottle, SystemClock, ThrottlePolicy};
///
/// let redis = RedisConnection::builder("redis://127.0.0.1:6379")
///     .namespace("shop:auth:")
///     .timeout(Duration::from_millis(500))
///     .connect()
///     .await?;
/// let throttle = RedisThrottle::new(&redis, ThrottlePolicy::default(), SystemClock::shared())?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisConnection {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    config: ConnectionManagerConfig,
    namespace: String,
    timeout: Duration,
    /// The current manager and its generation (bumped when a timeout replaces it).
    manager: Mutex<(u64, ConnectionManager)>,
}

/// Settings for a [`RedisConnection`]; [`connect`](RedisConnectionBuilder::connect) opens it.
#[derive(Clone)]
#[must_use]
pub struct RedisConnectionBuilder {
    url: String,
    namespace: String,
    timeout: Duration,
}

impl RedisConnection {
    /// The default key prefix.
    pub const DEFAULT_NAMESPACE: &'static str = "auth:";

    /// The default bound on each store call.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

    /// Settings for a connection to `url` (`redis://[user:password@]host[:port][/db]`).
    pub fn builder(url: impl Into<String>) -> RedisConnectionBuilder {
        RedisConnectionBuilder {
            url: url.into(),
            namespace: Self::DEFAULT_NAMESPACE.to_owned(),
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// Connects to `url` with the default namespace and timeout.
    ///
    /// # Errors
    ///
    /// As [`RedisConnectionBuilder::connect`].
    pub async fn connect(url: &str) -> Result<Self, RedisError> {
        Self::builder(url).connect().await
    }

    /// The key prefix.
    #[must_use]
    pub fn namespace(&self) -> &str {
        &self.inner.namespace
    }

    /// The bound on each call.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// `namespace` followed by `suffix`: the name of a key.
    #[must_use]
    pub fn key(&self, suffix: &str) -> String {
        let mut key = String::with_capacity(self.inner.namespace.len() + suffix.len());
        key.push_str(&self.inner.namespace);
        key.push_str(suffix);
        key
    }

    /// Runs `op` on the shared connection, bounded by the timeout. This is what the stores
    /// call; use it to run commands of your own on the same connection.
    ///
    /// # Errors
    ///
    /// [`RedisError::Timeout`] when `op` takes longer than the timeout (the connection is
    /// then replaced for the next call); [`RedisError::Unavailable`] when Redis refuses or
    /// the connection is down (the connection manager reconnects in the background).
    pub async fn run<T, F, Fut>(&self, op: F) -> Result<T, RedisError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let (generation, manager) = {
            let current = self.lock();
            (current.0, current.1.clone())
        };
        match tokio::time::timeout(self.inner.timeout, op(manager)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                if error.is_timeout() {
                    self.replace(generation);
                    return Err(RedisError::Timeout(self.inner.timeout));
                }
                Err(error.into())
            }
            Err(_elapsed) => {
                self.replace(generation);
                Err(RedisError::Timeout(self.inner.timeout))
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, ConnectionManager)> {
        self.inner
            .manager
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Swaps in a fresh (lazy) manager unless another call already did since `generation`.
    /// A timeout does not make the `redis` crate reconnect (only a broken connection
    /// does), and a peer that vanished without a reset would keep every later call waiting
    /// on the old socket.
    fn replace(&self, generation: u64) {
        let mut current = self.lock();
        if current.0 != generation {
            return;
        }
        match ConnectionManager::new_lazy_with_config(
            self.inner.client.clone(),
            self.inner.config.clone(),
        ) {
            Ok(manager) => {
                *current = (generation.wrapping_add(1), manager);
                tracing::warn!(
                    target: "auth::store",
                    timeout = ?self.inner.timeout,
                    "a Redis call timed out: opening a new connection for the next calls"
                );
            }
            Err(error) => {
                tracing::warn!(target: "auth::store", %error, "could not replace the Redis connection");
            }
        }
    }
}

impl RedisConnectionBuilder {
    /// The prefix of every key (default `auth:`). Give each application (and each test run)
    /// its own.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// The bound on each store call and on connecting (default 2 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Checks the settings and connects (a `PING` must answer within the timeout), so a bad
    /// URL, a wrong password or an unreachable server shows at start-up.
    ///
    /// # Errors
    ///
    /// [`RedisError::InvalidUrl`] when the URL does not parse;
    /// [`RedisError::InvalidConfig`] for an empty namespace or a zero timeout;
    /// [`RedisError::Unavailable`] or [`RedisError::Timeout`] when Redis cannot be reached.
    pub async fn connect(self) -> Result<RedisConnection, RedisError> {
        if self.namespace.is_empty() {
            return Err(RedisError::InvalidConfig("the namespace must not be empty"));
        }
        if self.timeout.is_zero() {
            return Err(RedisError::InvalidConfig("the timeout must be positive"));
        }
        let client = redis::Client::open(self.url.as_str())
            .map_err(|e| RedisError::InvalidUrl(e.to_string()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            // Fail fast while the server is down (the call fails, the next one reconnects)
            // rather than queueing requests behind a long backoff.
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(250));
        let manager = ConnectionManager::new_lazy_with_config(client.clone(), config.clone())
            .map_err(|e| RedisError::InvalidUrl(e.to_string()))?;
        let connection = RedisConnection {
            inner: Arc::new(Inner {
                client,
                config,
                namespace: self.namespace,
                timeout: self.timeout,
                manager: Mutex::new((0, manager)),
            }),
        };
        connection
            .run(|mut manager| async move {
                redis::cmd("PING").query_async::<String>(&mut manager).await
            })
            .await?;
        Ok(connection)
    }
}

impl fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the URL: it may hold a password.
        f.debug_struct("RedisConnection")
            .field(
                "addr",
                &self.inner.client.get_connection_info().addr().to_string(),
            )
            .field("namespace", &self.inner.namespace)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for RedisConnectionBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConnectionBuilder")
            .field("namespace", &self.namespace)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// How the Redis stores write times: exact to the nanosecond, comparable in Lua.
///
/// A time is 20 decimal digits, 11 of seconds since the Unix epoch and 9 of nanoseconds
/// (`17000000000000000000` is 1,700,000,000 s). Stores compare them with the clock's time,
/// passed in by the caller, never with Redis `TIME`: expiry follows the application's
/// [`Clock`](crate::Clock) (a `ManualClock` in tests), and Redis TTLs only collect garbage.
#[derive(Debug, Clone, Copy)]
pub struct RedisTime;

impl RedisTime {
    /// A Lua function `before(a, b)`: whether encoded time `a` is earlier than `b`. Paste it
    /// at the top of a script.
    pub const LUA_BEFORE: &'static str = r"
local function before(a, b)
  local sa, sb = tonumber(string.sub(a, 1, 11)), tonumber(string.sub(b, 1, 11))
  if sa ~= sb then return sa < sb end
  return tonumber(string.sub(a, 12)) < tonumber(string.sub(b, 12))
end
";

    /// The largest second that fits in 11 digits (the year 5138).
    const MAX_SECS: u64 = 99_999_999_999;

    /// `time` encoded (times before the epoch as the epoch, after the year 5138 as then).
    #[must_use]
    pub fn encode(time: SystemTime) -> String {
        let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        let (secs, nanos) = if since.as_secs() > Self::MAX_SECS {
            (Self::MAX_SECS, 999_999_999)
        } else {
            (since.as_secs(), since.subsec_nanos())
        };
        format!("{secs:011}{nanos:09}")
    }

    /// An encoded time decoded.
    ///
    /// # Errors
    ///
    /// [`RedisError::Unexpected`] when `text` is not an encoded time.
    pub fn decode(text: &str) -> Result<SystemTime, RedisError> {
        let bad = || RedisError::Unexpected(format!("not a stored time: {text:?}"));
        if text.len() != 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let secs: u64 = text[..11].parse().map_err(|_| bad())?;
        let nanos: u32 = text[11..].parse().map_err(|_| bad())?;
        UNIX_EPOCH
            .checked_add(Duration::new(secs, nanos))
            .ok_or_else(bad)
    }

    /// Milliseconds from `now` until `until`, rounded up, or `None` when `until` is not
    /// after `now` (nothing to keep). Stores use it for `PX` / `PEXPIRE`.
    #[must_use]
    pub fn ttl_millis(until: SystemTime, now: SystemTime) -> Option<u64> {
        let left = until.duration_since(now).ok().filter(|d| !d.is_zero())?;
        Some(u64::try_from(left.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX))
    }
}

/// Records a failure: resets a forgotten count, counts one more, stamps the time, keeps the
/// key for the window. Returns the count; the wait follows from the policy.
const RECORD_FAILURE: &str = r"
-- KEYS[1] the key; ARGV[1] now; ARGV[2] failures older than this are forgotten;
-- ARGV[3] TTL in ms
local last = redis.call('HGET', KEYS[1], 'l')
if last and before(last, ARGV[2]) then
  redis.call('HSET', KEYS[1], 'f', '0')
end
local failures = redis.call('HINCRBY', KEYS[1], 'f', 1)
redis.call('HSET', KEYS[1], 'l', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return failures
";

/// A [`Throttle`] in Redis, shared by every instance of an application: a failure counted
/// by one instance delays the next attempt on all of them.
///
/// It follows [`MemoryThrottle`](crate::MemoryThrottle)'s policy exactly, with time read
/// from the same kind of [`Clock`](crate::Clock) (not from Redis).
///
/// - Key: `<namespace>throttle:<ThrottleKey::storage_key()>`, a hash of the failure count
///   (`f`) and the time of the last failure (`l`).
/// - Recording a failure is one Lua script (forget an old count, increment, stamp,
///   `PEXPIRE`), so concurrent failures on many instances all count.
/// - TTL: the policy's window (plus a second) after the last failure; nothing to sweep.
/// - Redis down or slow: every method fails with [`ThrottleError::Unavailable`] within the
///   connection's timeout (the authenticators answer 503).
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use auth_core::{RedisConnection, RedisThrottle, SystemClock, Throttle, ThrottleKey, ThrottlePolicy};
///
/// let redis = RedisConnection::connect("redis://127.0.0.1:6379").await?;
/// let throttle = RedisThrottle::new(&redis, ThrottlePolicy::default(), SystemClock::shared())?;
/// let wait = throttle.record_failure(&ThrottleKey::Subject("alice".into())).await?;
/// # Ok(())
/// # }
/// ```
pub struct RedisThrottle {
    redis: RedisConnection,
    policy: ThrottlePolicy,
    clock: SharedClock,
    prefix: String,
    ttl_millis: u64,
    record_failure: redis::Script,
}

impl RedisThrottle {
    /// A throttle with `policy` on `redis`, reading time from `clock`.
    ///
    /// # Errors
    ///
    /// [`ThrottleError::InvalidPolicy`] when the policy is inconsistent.
    pub fn new(
        redis: &RedisConnection,
        policy: ThrottlePolicy,
        clock: SharedClock,
    ) -> Result<Self, ThrottleError> {
        policy.validate()?;
        let window = u64::try_from(policy.window.as_millis()).unwrap_or(u64::MAX);
        Ok(Self {
            redis: redis.clone(),
            policy,
            clock,
            prefix: redis.key("throttle:"),
            ttl_millis: window.saturating_add(1_000),
            record_failure: redis::Script::new(&format!(
                "{}{RECORD_FAILURE}",
                RedisTime::LUA_BEFORE
            )),
        })
    }

    /// The policy.
    #[must_use]
    pub fn policy(&self) -> &ThrottlePolicy {
        &self.policy
    }

    /// The Redis key of `key`.
    #[must_use]
    pub fn redis_key(&self, key: &ThrottleKey) -> String {
        format!("{}{}", self.prefix, key.storage_key())
    }

    /// The wait an entry of `failures` failures, the last at `last`, imposes at `now`
    /// (as `MemoryThrottle` computes it).
    fn wait(&self, failures: u32, last: SystemTime, now: SystemTime) -> Option<Duration> {
        let forgotten = now
            .duration_since(last)
            .is_ok_and(|age| age > self.policy.window);
        if forgotten {
            return None;
        }
        let delay = self.policy.delay_after(failures)?;
        (last + delay)
            .duration_since(now)
            .ok()
            .filter(|d| !d.is_zero())
    }

    fn entry_wait(
        &self,
        (failures, last): (Option<u64>, Option<String>),
        now: SystemTime,
    ) -> Result<Option<Duration>, ThrottleError> {
        let (Some(failures), Some(last)) = (failures, last) else {
            return Ok(None);
        };
        let last = RedisTime::decode(&last).map_err(unavailable)?;
        let failures = u32::try_from(failures).unwrap_or(u32::MAX);
        Ok(self.wait(failures, last, now))
    }
}

fn unavailable(error: RedisError) -> ThrottleError {
    ThrottleError::Unavailable(error.to_string())
}

#[async_trait]
impl Throttle for RedisThrottle {
    async fn retry_after(&self, key: &ThrottleKey) -> Result<Option<Duration>, ThrottleError> {
        let redis_key = self.redis_key(key);
        let entry: (Option<u64>, Option<String>) = self
            .redis
            .run(|mut c| async move {
                redis::cmd("HMGET")
                    .arg(&redis_key)
                    .arg("f")
                    .arg("l")
                    .query_async(&mut c)
                    .await
            })
            .await
            .map_err(unavailable)?;
        self.entry_wait(entry, self.clock.now())
    }

    async fn record_failure(&self, key: &ThrottleKey) -> Result<Option<Duration>, ThrottleError> {
        let now = self.clock.now();
        let forget_before = now
            .checked_sub(self.policy.window)
            .map_or_else(|| RedisTime::encode(UNIX_EPOCH), RedisTime::encode);
        let mut invocation = self.record_failure.key(self.redis_key(key));
        invocation
            .arg(RedisTime::encode(now))
            .arg(forget_before)
            .arg(self.ttl_millis);
        let failures: u64 = self
            .redis
            .run(|mut c| async move { invocation.invoke_async(&mut c).await })
            .await
            .map_err(unavailable)?;
        let failures = u32::try_from(failures).unwrap_or(u32::MAX);
        // The failure was stamped `now`: the wait is the policy's delay for the count.
        Ok(self.wait(failures, now, now))
    }

    async fn reset(&self, key: &ThrottleKey) -> Result<(), ThrottleError> {
        let redis_key = self.redis_key(key);
        self.redis
            .run(|mut c| async move {
                redis::cmd("DEL")
                    .arg(&redis_key)
                    .query_async::<()>(&mut c)
                    .await
            })
            .await
            .map_err(unavailable)
    }

    /// One round trip for all keys (a pipeline of `HMGET`s).
    async fn retry_after_any(
        &self,
        keys: &[ThrottleKey],
    ) -> Result<Option<Duration>, ThrottleError> {
        if keys.is_empty() {
            return Ok(None);
        }
        let mut pipeline = redis::pipe();
        for key in keys {
            pipeline
                .cmd("HMGET")
                .arg(self.redis_key(key))
                .arg("f")
                .arg("l");
        }
        let entries: Vec<(Option<u64>, Option<String>)> = self
            .redis
            .run(|mut c| async move { pipeline.query_async(&mut c).await })
            .await
            .map_err(unavailable)?;
        let now = self.clock.now();
        let mut longest: Option<Duration> = None;
        for entry in entries {
            if let Some(wait) = self.entry_wait(entry, now)? {
                longest = Some(longest.map_or(wait, |l| l.max(wait)));
            }
        }
        Ok(longest)
    }
}

impl fmt::Debug for RedisThrottle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisThrottle")
            .field("redis", &self.redis)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_and_order_as_text() {
        let times = [
            UNIX_EPOCH,
            UNIX_EPOCH + Duration::new(1_700_000_000, 1),
            UNIX_EPOCH + Duration::new(1_700_000_000, 999_999_999),
            UNIX_EPOCH + Duration::new(1_700_000_001, 0),
        ];
        for pair in times.windows(2) {
            let (a, b) = (RedisTime::encode(pair[0]), RedisTime::encode(pair[1]));
            assert_eq!(a.len(), 20);
            assert!(a < b, "{a} < {b}");
            assert_eq!(RedisTime::decode(&b).unwrap(), pair[1]);
        }
        assert_eq!(
            RedisTime::encode(UNIX_EPOCH - Duration::from_secs(5)),
            "00000000000000000000"
        );
        assert!(RedisTime::decode("17000000000000000000x").is_err());
        assert!(RedisTime::decode("1700000000").is_err());
    }

    #[test]
    fn ttls_round_up_and_skip_the_past() {
        let now = UNIX_EPOCH + Duration::from_secs(100);
        assert_eq!(RedisTime::ttl_millis(now, now), None);
        assert_eq!(
            RedisTime::ttl_millis(now - Duration::from_secs(1), now),
            None
        );
        assert_eq!(
            RedisTime::ttl_millis(now + Duration::from_nanos(1), now),
            Some(1)
        );
        assert_eq!(
            RedisTime::ttl_millis(now + Duration::from_millis(1500), now),
            Some(1500)
        );
    }

    #[tokio::test]
    async fn bad_settings_fail_at_construction() {
        let error = RedisConnection::connect("not a url").await.unwrap_err();
        assert!(matches!(error, RedisError::InvalidUrl(_)), "{error:?}");
        let error = RedisConnection::builder("redis://127.0.0.1:6379")
            .namespace("")
            .connect()
            .await
            .unwrap_err();
        assert!(matches!(error, RedisError::InvalidConfig(_)), "{error:?}");
        let error = RedisConnection::builder("redis://:hunter2@127.0.0.1:1")
            .timeout(Duration::ZERO)
            .connect()
            .await
            .unwrap_err();
        assert!(matches!(error, RedisError::InvalidConfig(_)), "{error:?}");
    }

    #[tokio::test]
    async fn an_unreachable_server_fails_at_construction_without_the_password() {
        // Port 1 on the loopback: nothing listens, the connection is refused at once.
        let error = RedisConnection::builder("redis://:hunter2@127.0.0.1:1")
            .timeout(Duration::from_secs(1))
            .connect()
            .await
            .unwrap_err();
        assert!(
            matches!(error, RedisError::Unavailable(_) | RedisError::Timeout(_)),
            "{error:?}"
        );
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }
}
