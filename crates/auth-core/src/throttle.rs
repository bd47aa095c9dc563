//! Failed-attempt throttling: [`Throttle`], [`ThrottlePolicy`] and [`MemoryThrottle`].
//!
//! Guessing a password or a key needs many attempts; a throttle makes each failed attempt
//! cost more time than the last. Keys are the claimed subject (so one account cannot be
//! guessed from many addresses) and the client address (so one client cannot spray many
//! accounts). After [`ThrottlePolicy::free_attempts`] failures within
//! [`ThrottlePolicy::window`], each further failure blocks the key for
//! `base_delay * 2^(failures - free_attempts)`, at most [`ThrottlePolicy::max_delay`]. A
//! success resets the key.
//!
//! # Security
//!
//! Per-subject throttling lets anybody slow down logins for a known user name (a lockout).
//! The delay is capped ([`ThrottlePolicy::max_delay`], 15 minutes by default) and never
//! permanent, which is OWASP's recommended trade-off; raise `free_attempts` if lockouts hurt
//! more than guessing.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::{SharedClock, SystemClock};

/// What a throttle counts failures against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ThrottleKey {
    /// The subject a request claimed (a user name, a client id).
    Subject(String),
    /// The client's address. IPv6 addresses count per /64 network, since one host usually
    /// holds a whole /64.
    Client(IpAddr),
}

impl ThrottleKey {
    /// The key as a string, for stores: `s:<subject>` or `c:<address>`.
    #[must_use]
    pub fn storage_key(&self) -> String {
        match self {
            ThrottleKey::Subject(subject) => format!("s:{subject}"),
            ThrottleKey::Client(IpAddr::V4(ip)) => format!("c:{ip}"),
            ThrottleKey::Client(IpAddr::V6(ip)) => match ip.to_ipv4_mapped() {
                Some(v4) => format!("c:{v4}"),
                None => {
                    let s = ip.segments();
                    format!("c:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
                }
            },
        }
    }
}

/// How many failures are free and how fast the delay grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures allowed within the window before delays start (default 5).
    pub free_attempts: u32,
    /// How long a failure is remembered after the last one (default 15 minutes).
    pub window: Duration,
    /// The first delay (default 1 second); each further failure doubles it.
    pub base_delay: Duration,
    /// The longest delay (default 15 minutes).
    pub max_delay: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            free_attempts: 5,
            window: Duration::from_secs(15 * 60),
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(15 * 60),
        }
    }
}

impl ThrottlePolicy {
    /// Checks the policy.
    ///
    /// # Errors
    ///
    /// [`ThrottleError::InvalidPolicy`] when `free_attempts` is 0, a duration is zero, or the
    /// window is shorter than `max_delay` (a block would outlive the memory of why).
    pub fn validate(&self) -> Result<(), ThrottleError> {
        if self.free_attempts == 0 {
            return Err(ThrottleError::InvalidPolicy(
                "free_attempts must be at least 1",
            ));
        }
        if self.base_delay.is_zero() || self.max_delay < self.base_delay {
            return Err(ThrottleError::InvalidPolicy(
                "base_delay must be positive and no larger than max_delay",
            ));
        }
        if self.window < self.max_delay {
            return Err(ThrottleError::InvalidPolicy(
                "window must be at least max_delay",
            ));
        }
        Ok(())
    }

    /// The delay after `failures` failures, if any.
    #[must_use]
    pub fn delay_after(&self, failures: u32) -> Option<Duration> {
        let over = failures.checked_sub(self.free_attempts)?;
        let factor = 1_u32.checked_shl(over.min(31)).unwrap_or(u32::MAX);
        Some(
            self.base_delay
                .checked_mul(factor)
                .map_or(self.max_delay, |d| d.min(self.max_delay)),
        )
    }
}

/// A throttle could not decide.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ThrottleError {
    /// The throttle's store is unreachable. Callers refuse the attempt (fail closed, 503).
    #[error("throttle store unavailable: {0}")]
    Unavailable(String),
    /// The policy is inconsistent.
    #[error("invalid throttle policy: {0}")]
    InvalidPolicy(&'static str),
}

/// Counts failed attempts and says how long a key must wait.
#[async_trait]
pub trait Throttle: Send + Sync + fmt::Debug + 'static {
    /// How long `key` must wait before its next attempt, or `None` when it may try now.
    async fn retry_after(&self, key: &ThrottleKey) -> Result<Option<Duration>, ThrottleError>;

    /// Records a failure of `key` and returns the wait it now faces, if any.
    async fn record_failure(&self, key: &ThrottleKey) -> Result<Option<Duration>, ThrottleError>;

    /// Forgets the failures of `key` (after a success).
    async fn reset(&self, key: &ThrottleKey) -> Result<(), ThrottleError>;

    /// [`retry_after`](Self::retry_after) for a throttle that answers without waiting (an
    /// in-process map): `Some` with what `retry_after` would return, or `None` (the default)
    /// when it must be asked with `retry_after`. Authenticators try it first on every
    /// request, so an in-memory throttle costs no boxed future.
    ///
    /// # Errors
    ///
    /// Inside the `Some`: what `retry_after` would return.
    fn retry_after_now(
        &self,
        key: &ThrottleKey,
    ) -> Option<Result<Option<Duration>, ThrottleError>> {
        let _ = key;
        None
    }

    /// [`reset`](Self::reset) for a throttle that answers without waiting: `Some` with what
    /// `reset` would return (the reset is done), or `None` (the default; nothing was done)
    /// when it must be asked with `reset`.
    ///
    /// # Errors
    ///
    /// Inside the `Some`: what `reset` would return.
    fn reset_now(&self, key: &ThrottleKey) -> Option<Result<(), ThrottleError>> {
        let _ = key;
        None
    }

    /// The longest wait among `keys`, or `None` when all may try now.
    async fn retry_after_any(
        &self,
        keys: &[ThrottleKey],
    ) -> Result<Option<Duration>, ThrottleError> {
        let mut longest: Option<Duration> = None;
        for key in keys {
            if let Some(wait) = self.retry_after(key).await? {
                longest = Some(longest.map_or(wait, |l| l.max(wait)));
            }
        }
        Ok(longest)
    }

    /// [`retry_after_any`](Self::retry_after_any) from [`retry_after_now`](Self::retry_after_now):
    /// `None` when the throttle must be asked with `retry_after_any`. A throttle that
    /// overrides `retry_after_any` with logic of its own and answers `retry_after_now` must
    /// override this too, or callers that try the probe first skip its logic.
    ///
    /// # Errors
    ///
    /// Inside the `Some`: what `retry_after_any` would return.
    fn retry_after_any_now(
        &self,
        keys: &[ThrottleKey],
    ) -> Option<Result<Option<Duration>, ThrottleError>> {
        let mut longest: Option<Duration> = None;
        for key in keys {
            match self.retry_after_now(key)? {
                Ok(Some(wait)) => longest = Some(longest.map_or(wait, |l| l.max(wait))),
                Ok(None) => {}
                Err(error) => return Some(Err(error)),
            }
        }
        Some(Ok(longest))
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: SystemTime,
}

/// An in-process [`Throttle`]: right for one instance; several instances behind a load
/// balancer need a shared store: `RedisThrottle` (feature `redis`).
///
/// Memory is bounded: past `max_entries` keys, forgotten keys are swept, then the oldest.
///
/// # Examples
///
/// ```
/// # tokio_test_block_on(async {
/// use std::time::Duration;
/// use auth_core::{ManualClock, MemoryThrottle, Throttle, ThrottleKey, ThrottlePolicy};
///
/// let clock = ManualClock::starting_now();
/// let throttle = MemoryThrottle::new(ThrottlePolicy::default(), clock.shared())?;
/// let key = ThrottleKey::Subject("alice".into());
/// for _ in 0..4 {
///     assert_eq!(throttle.record_failure(&key).await?, None);
/// }
/// assert_eq!(throttle.record_failure(&key).await?, Some(Duration::from_secs(1)));
/// clock.advance(Duration::from_secs(1));
/// assert_eq!(throttle.retry_after(&key).await?, None);
/// # Ok::<(), auth_core::ThrottleError>(())
/// # }).unwrap();
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
pub struct MemoryThrottle {
    policy: ThrottlePolicy,
    clock: SharedClock,
    max_entries: usize,
    entries: Mutex<HashMap<String, Entry>>,
}

impl MemoryThrottle {
    /// The default bound on remembered keys.
    pub const DEFAULT_MAX_ENTRIES: usize = 100_000;

    /// A throttle with `policy`, reading time from `clock`.
    ///
    /// # Errors
    ///
    /// [`ThrottleError::InvalidPolicy`] when the policy is inconsistent.
    pub fn new(policy: ThrottlePolicy, clock: SharedClock) -> Result<Self, ThrottleError> {
        policy.validate()?;
        Ok(Self {
            policy,
            clock,
            max_entries: Self::DEFAULT_MAX_ENTRIES,
            entries: Mutex::new(HashMap::new()),
        })
    }

    /// A throttle with the default policy and the system clock.
    #[must_use]
    pub fn with_defaults() -> Self {
        Self {
            policy: ThrottlePolicy::default(),
            clock: SystemClock::shared(),
            max_entries: Self::DEFAULT_MAX_ENTRIES,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Sets the bound on remembered keys (at least 1).
    #[must_use]
    pub fn max_entries(mut self, max_entries: usize) -> Self {
        self.max_entries = max_entries.max(1);
        self
    }

    /// The policy.
    #[must_use]
    pub fn policy(&self) -> &ThrottlePolicy {
        &self.policy
    }

    fn wait(&self, entry: &Entry, now: SystemTime) -> Option<Duration> {
        let delay = self.policy.delay_after(entry.failures)?;
        let until = entry.last_failure + delay;
        until.duration_since(now).ok().filter(|d| !d.is_zero())
    }

    /// What `retry_after` answers.
    fn current_wait(&self, key: &ThrottleKey) -> Option<Duration> {
        let now = self.clock.now();
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        // No failure recorded anywhere (the usual case): no key to build.
        if entries.is_empty() {
            return None;
        }
        entries
            .get(&key.storage_key())
            .filter(|e| !self.is_forgotten(e, now))
            .and_then(|e| self.wait(e, now))
    }

    /// What `reset` does.
    fn forget(&self, key: &ThrottleKey) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        // Every success resets; with nothing recorded there is no key to build.
        if !entries.is_empty() {
            entries.remove(&key.storage_key());
        }
    }

    fn is_forgotten(&self, entry: &Entry, now: SystemTime) -> bool {
        now.duration_since(entry.last_failure)
            .is_ok_and(|age| age > self.policy.window)
    }

    fn make_room(&self, entries: &mut HashMap<String, Entry>, now: SystemTime) {
        entries.retain(|_, e| !self.is_forgotten(e, now));
        if entries.len() < self.max_entries {
            return;
        }
        // Still full: drop the oldest tenth.
        let mut ages: Vec<(SystemTime, String)> = entries
            .iter()
            .map(|(k, e)| (e.last_failure, k.clone()))
            .collect();
        ages.sort_unstable();
        for (_, key) in ages.into_iter().take(self.max_entries.div_ceil(10)) {
            entries.remove(&key);
        }
    }
}

#[async_trait]
impl Throttle for MemoryThrottle {
    async fn retry_after(&self, key: &ThrottleKey) -> Result<Option<Duration>, ThrottleError> {
        Ok(self.current_wait(key))
    }

    fn retry_after_now(
        &self,
        key: &ThrottleKey,
    ) -> Option<Result<Option<Duration>, ThrottleError>> {
        Some(Ok(self.current_wait(key)))
    }

    async fn record_failure(&self, key: &ThrottleKey) -> Result<Option<Duration>, ThrottleError> {
        let now = self.clock.now();
        let storage_key = key.storage_key();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if !entries.contains_key(&storage_key) && entries.len() >= self.max_entries {
            self.make_room(&mut entries, now);
        }
        let entry = entries.entry(storage_key).or_insert(Entry {
            failures: 0,
            last_failure: now,
        });
        if self.is_forgotten(entry, now) {
            entry.failures = 0;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last_failure = now;
        let entry = *entry;
        Ok(self.wait(&entry, now))
    }

    async fn reset(&self, key: &ThrottleKey) -> Result<(), ThrottleError> {
        self.forget(key);
        Ok(())
    }

    fn reset_now(&self, key: &ThrottleKey) -> Option<Result<(), ThrottleError>> {
        self.forget(key);
        Some(Ok(()))
    }
}

impl fmt::Debug for MemoryThrottle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryThrottle")
            .field("policy", &self.policy)
            .field("max_entries", &self.max_entries)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use super::*;
    use crate::ManualClock;

    fn setup() -> (ManualClock, MemoryThrottle) {
        let clock = ManualClock::starting_now();
        let throttle = MemoryThrottle::new(ThrottlePolicy::default(), clock.shared()).unwrap();
        (clock, throttle)
    }

    #[tokio::test]
    async fn delays_double_after_the_free_attempts_and_are_capped() {
        let (_clock, throttle) = setup();
        let key = ThrottleKey::Subject("alice".into());
        let mut waits = Vec::new();
        for _ in 0..16 {
            waits.push(throttle.record_failure(&key).await.unwrap());
        }
        let secs: Vec<Option<u64>> = waits.iter().map(|w| w.map(|d| d.as_secs())).collect();
        assert_eq!(
            &secs[..8],
            [None, None, None, None, Some(1), Some(2), Some(4), Some(8)]
        );
        assert_eq!(secs[15], Some(900), "capped at max_delay");
    }

    #[tokio::test]
    async fn waits_run_out_and_failures_are_forgotten_after_the_window() {
        let (clock, throttle) = setup();
        let key = ThrottleKey::Client("203.0.113.9".parse().unwrap());
        for _ in 0..6 {
            throttle.record_failure(&key).await.unwrap();
        }
        assert_eq!(
            throttle.retry_after(&key).await.unwrap(),
            Some(Duration::from_secs(2))
        );
        clock.advance(Duration::from_secs(2));
        assert_eq!(throttle.retry_after(&key).await.unwrap(), None);
        clock.advance(Duration::from_secs(15 * 60 + 1));
        assert_eq!(
            throttle.record_failure(&key).await.unwrap(),
            None,
            "old failures no longer count"
        );
    }

    #[tokio::test]
    async fn the_synchronous_probes_answer_as_the_async_methods() {
        let (_clock, throttle) = setup();
        let alice = ThrottleKey::Subject("alice".into());
        let bob = ThrottleKey::Subject("bob".into());
        assert_eq!(throttle.retry_after_now(&alice), Some(Ok(None)));
        for _ in 0..6 {
            throttle.record_failure(&alice).await.unwrap();
        }
        let wait = throttle.retry_after(&alice).await.unwrap();
        assert_eq!(wait, Some(Duration::from_secs(2)));
        assert_eq!(throttle.retry_after_now(&alice), Some(Ok(wait)));
        assert_eq!(throttle.retry_after_now(&bob), Some(Ok(None)));
        assert_eq!(
            throttle.retry_after_any_now(&[bob.clone(), alice.clone()]),
            Some(Ok(wait))
        );
        assert_eq!(throttle.reset_now(&alice), Some(Ok(())));
        assert_eq!(throttle.retry_after(&alice).await.unwrap(), None);
    }

    /// A throttle without the probes (the trait's defaults) is asked asynchronously.
    #[test]
    fn the_default_probes_defer_to_the_async_methods() {
        #[derive(Debug)]
        struct Remote;
        #[async_trait]
        impl Throttle for Remote {
            async fn retry_after(
                &self,
                _: &ThrottleKey,
            ) -> Result<Option<Duration>, ThrottleError> {
                Ok(None)
            }
            async fn record_failure(
                &self,
                _: &ThrottleKey,
            ) -> Result<Option<Duration>, ThrottleError> {
                Ok(None)
            }
            async fn reset(&self, _: &ThrottleKey) -> Result<(), ThrottleError> {
                Ok(())
            }
        }
        let key = ThrottleKey::Subject("alice".into());
        assert_eq!(Remote.retry_after_now(&key), None);
        assert_eq!(Remote.retry_after_any_now(std::slice::from_ref(&key)), None);
        assert_eq!(Remote.reset_now(&key), None);
    }

    #[tokio::test]
    async fn success_resets_and_keys_are_separate() {
        let (_clock, throttle) = setup();
        let alice = ThrottleKey::Subject("alice".into());
        let bob = ThrottleKey::Subject("bob".into());
        for _ in 0..5 {
            throttle.record_failure(&alice).await.unwrap();
        }
        assert!(throttle.retry_after(&alice).await.unwrap().is_some());
        assert!(throttle.retry_after(&bob).await.unwrap().is_none());
        assert!(
            throttle
                .retry_after_any(&[bob.clone(), alice.clone()])
                .await
                .unwrap()
                .is_some()
        );
        throttle.reset(&alice).await.unwrap();
        assert!(throttle.retry_after(&alice).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn memory_is_bounded() {
        let (_clock, throttle) = setup();
        let throttle = throttle.max_entries(10);
        for i in 0..100 {
            throttle
                .record_failure(&ThrottleKey::Subject(format!("u{i}")))
                .await
                .unwrap();
        }
        assert!(throttle.entries.lock().unwrap().len() <= 10);
    }

    #[test]
    fn ipv6_clients_count_per_64_and_mapped_v4_as_v4() {
        let a: Ipv6Addr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: Ipv6Addr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        assert_eq!(
            ThrottleKey::Client(a.into()).storage_key(),
            ThrottleKey::Client(b.into()).storage_key()
        );
        let mapped: Ipv6Addr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(
            ThrottleKey::Client(mapped.into()).storage_key(),
            "c:192.0.2.1"
        );
    }

    #[test]
    fn inconsistent_policies_are_refused() {
        let bad = ThrottlePolicy {
            free_attempts: 0,
            ..ThrottlePolicy::default()
        };
        assert!(MemoryThrottle::new(bad, SystemClock::shared()).is_err());
        let bad = ThrottlePolicy {
            window: Duration::from_secs(1),
            ..ThrottlePolicy::default()
        };
        assert!(bad.validate().is_err());
    }
}
