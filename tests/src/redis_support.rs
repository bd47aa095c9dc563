//! Support for the Redis suites (`tests/it/redis_stores.rs`): one contract per store trait,
//! written against the trait so the in-memory store and the Redis store run the same
//! checks; a per-run namespace that is cleaned up after each test; a `redis-server` child
//! process for the fault test; and a TCP proxy that can stop answering, for timeouts.
//!
//! Time never comes from the wall clock: every store runs on a [`ManualClock`], and the
//! Redis TTLs (computed from that clock) are checked with `PTTL`.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::net::{Ipv6Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_core::{
    Clock, ManualClock, RedisConnection, Scopes, SharedClock, Throttle, ThrottleKey, ThrottlePolicy,
};
use auth_hmac::NonceStore;
use auth_jwt::RevocationStore;
use auth_session::{
    CsrfToken, SessionHash, SessionId, SessionRecord, SessionStore, SessionUpdate, StoreError,
    Touch,
};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::task::{JoinHandle, JoinSet};

use crate::services::{self, REDIS};

/// How long the tests wait for anything that takes real time (a process starting, a
/// connection coming back).
pub const WAIT: Duration = Duration::from_secs(5);

/// A clock for the stores under test, stopped at a round time.
#[must_use]
pub fn test_clock() -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
}

/// A key prefix no other run (or test) uses: `auth-test:<pid>-<random>:`.
#[must_use]
pub fn unique_namespace() -> String {
    let random = RandomState::new().hash_one(SystemTime::now());
    format!("auth-test:{}-{random:016x}:", std::process::id())
}

/// A connection to the test Redis, in a namespace of its own.
#[derive(Debug, Clone)]
pub struct TestRedis {
    /// The server's URL.
    pub url: String,
    /// The connection the stores use.
    pub redis: RedisConnection,
}

impl TestRedis {
    /// Connects to `url` in a fresh namespace.
    ///
    /// # Panics
    ///
    /// When Redis refuses the connection.
    pub async fn connect(url: &str) -> TestRedis {
        let redis = RedisConnection::builder(url)
            .namespace(unique_namespace())
            .connect()
            .await
            .expect("connect to the test Redis");
        TestRedis {
            url: url.to_owned(),
            redis,
        }
    }

    /// A second connection in the same namespace: another application instance.
    ///
    /// # Panics
    ///
    /// When Redis refuses the connection.
    pub async fn another_instance(&self) -> RedisConnection {
        RedisConnection::builder(&self.url)
            .namespace(self.redis.namespace())
            .connect()
            .await
            .expect("connect to the test Redis")
    }

    /// Every key of the namespace, sorted.
    ///
    /// # Panics
    ///
    /// When Redis fails.
    pub async fn keys(&self) -> Vec<String> {
        namespace_keys(&self.redis).await
    }

    /// `PTTL key`: milliseconds left, -1 without a TTL, -2 when the key does not exist.
    ///
    /// # Panics
    ///
    /// When Redis fails.
    pub async fn pttl(&self, key: &str) -> i64 {
        let key = key.to_owned();
        self.redis
            .run(|mut c| async move { redis::cmd("PTTL").arg(&key).query_async(&mut c).await })
            .await
            .expect("PTTL")
    }

    /// `HGETALL key`.
    ///
    /// # Panics
    ///
    /// When Redis fails.
    pub async fn hash(&self, key: &str) -> BTreeMap<String, String> {
        let key = key.to_owned();
        self.redis
            .run(|mut c| async move { redis::cmd("HGETALL").arg(&key).query_async(&mut c).await })
            .await
            .expect("HGETALL")
    }
}

async fn namespace_keys(redis: &RedisConnection) -> Vec<String> {
    let pattern = format!("{}*", redis.namespace());
    let mut cursor = 0_u64;
    let mut keys = Vec::new();
    loop {
        let pattern = pattern.clone();
        let (next, batch): (u64, Vec<String>) = redis
            .run(|mut c| async move {
                redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(&mut c)
                    .await
            })
            .await
            .expect("SCAN");
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    keys.sort();
    keys.dedup();
    keys
}

/// Deletes every key of `redis`'s namespace (`SCAN` + `DEL`); returns how many.
///
/// # Panics
///
/// When Redis fails.
pub async fn cleanup(redis: &RedisConnection) -> usize {
    let keys = namespace_keys(redis).await;
    for chunk in keys.chunks(500) {
        let chunk = chunk.to_vec();
        redis
            .run(|mut c| async move {
                redis::cmd("DEL")
                    .arg(&chunk)
                    .query_async::<()>(&mut c)
                    .await
            })
            .await
            .expect("DEL");
    }
    keys.len()
}

/// Runs `body` against the test Redis (`AUTH_TEST_REDIS_URL`) in a fresh namespace, then
/// deletes the namespace's keys, whether `body` passed or panicked.
///
/// When Redis is unreachable, the suite prints why and returns (or fails under
/// `AUTH_REQUIRE_SERVICES=1`): see [`services`].
///
/// # Panics
///
/// When `body` panics (after the clean-up), or Redis is required and unreachable.
pub async fn with_redis<F, Fut>(suite: &str, body: F)
where
    F: FnOnce(TestRedis) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(url) = REDIS.for_suite(suite) else {
        return;
    };
    let test = TestRedis::connect(&url).await;
    let redis = test.redis.clone();
    let outcome = tokio::spawn(body(test)).await;
    cleanup(&redis).await;
    if let Err(error) = outcome {
        match error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(error) => panic!("{suite}: the test task failed: {error}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Throttle
// ---------------------------------------------------------------------------------------

/// The [`Throttle`] contract, for a throttle that `make` builds from a policy and a clock.
///
/// Each part uses keys of its own, since the throttles `make` builds may share a store.
///
/// # Panics
///
/// When the throttle breaks the contract.
pub async fn throttle_contract<T: Throttle>(make: impl Fn(ThrottlePolicy, SharedClock) -> T) {
    let policy = ThrottlePolicy::default();

    // Delays double after the free attempts and are capped.
    let clock = test_clock();
    let throttle = make(policy, clock.shared());
    let key = ThrottleKey::Subject("doubling".into());
    let mut secs = Vec::new();
    for _ in 0..16 {
        let wait = throttle.record_failure(&key).await.unwrap();
        secs.push(wait.map(|d| d.as_secs()));
    }
    assert_eq!(
        &secs[..8],
        [None, None, None, None, Some(1), Some(2), Some(4), Some(8)]
    );
    assert_eq!(secs[15], Some(900), "capped at max_delay");

    // Waits run out; failures are forgotten after the window.
    let clock = test_clock();
    let throttle = make(policy, clock.shared());
    let key = ThrottleKey::Client("203.0.113.9".parse().unwrap());
    for _ in 0..6 {
        throttle.record_failure(&key).await.unwrap();
    }
    assert_eq!(
        throttle.retry_after(&key).await.unwrap(),
        Some(Duration::from_secs(2))
    );
    clock.advance(Duration::from_millis(1_500));
    assert_eq!(
        throttle.retry_after(&key).await.unwrap(),
        Some(Duration::from_millis(500)),
        "the wait counts down with the clock"
    );
    clock.advance(Duration::from_millis(500));
    assert_eq!(throttle.retry_after(&key).await.unwrap(), None);
    assert_eq!(
        throttle.record_failure(&key).await.unwrap(),
        Some(Duration::from_secs(4)),
        "within the window, failures still count"
    );
    clock.advance(policy.window + Duration::from_nanos(1));
    assert_eq!(throttle.retry_after(&key).await.unwrap(), None);
    assert_eq!(
        throttle.record_failure(&key).await.unwrap(),
        None,
        "old failures no longer count"
    );

    // Exactly at the window's end the failures still count (`age > window` forgets).
    let clock = test_clock();
    let throttle = make(policy, clock.shared());
    let key = ThrottleKey::Subject("edge".into());
    for _ in 0..5 {
        throttle.record_failure(&key).await.unwrap();
    }
    clock.advance(policy.window);
    assert_eq!(
        throttle.record_failure(&key).await.unwrap(),
        Some(Duration::from_secs(2))
    );

    // A success resets; keys are separate; the longest wait of several keys.
    let clock = test_clock();
    let throttle = make(policy, clock.shared());
    let alice = ThrottleKey::Subject("alice".into());
    let bob = ThrottleKey::Subject("bob".into());
    let client = ThrottleKey::Client("198.51.100.7".parse().unwrap());
    for _ in 0..5 {
        throttle.record_failure(&alice).await.unwrap();
    }
    for _ in 0..7 {
        throttle.record_failure(&client).await.unwrap();
    }
    assert_eq!(
        throttle.retry_after(&alice).await.unwrap(),
        Some(Duration::from_secs(1))
    );
    assert_eq!(throttle.retry_after(&bob).await.unwrap(), None);
    assert_eq!(
        throttle
            .retry_after_any(&[bob.clone(), alice.clone(), client.clone()])
            .await
            .unwrap(),
        Some(Duration::from_secs(4))
    );
    assert_eq!(
        throttle
            .retry_after_any(std::slice::from_ref(&bob))
            .await
            .unwrap(),
        None
    );
    assert_eq!(throttle.retry_after_any(&[]).await.unwrap(), None);
    throttle.reset(&alice).await.unwrap();
    assert_eq!(throttle.retry_after(&alice).await.unwrap(), None);
    assert_eq!(throttle.record_failure(&alice).await.unwrap(), None);
    throttle.reset(&bob).await.unwrap();

    // IPv6 clients count per /64.
    let a: Ipv6Addr = "2001:db8:1:2:aaaa::1".parse().unwrap();
    let b: Ipv6Addr = "2001:db8:1:2:bbbb::2".parse().unwrap();
    for _ in 0..5 {
        throttle
            .record_failure(&ThrottleKey::Client(a.into()))
            .await
            .unwrap();
    }
    assert!(
        throttle
            .retry_after(&ThrottleKey::Client(b.into()))
            .await
            .unwrap()
            .is_some()
    );

    // A clock set back: the wait runs from the last failure.
    let clock = test_clock();
    let throttle = make(policy, clock.shared());
    let key = ThrottleKey::Subject("skewed".into());
    for _ in 0..5 {
        throttle.record_failure(&key).await.unwrap();
    }
    clock.set(clock.now() - Duration::from_secs(10));
    assert_eq!(
        throttle.retry_after(&key).await.unwrap(),
        Some(Duration::from_secs(11))
    );
}

/// Concurrent failures of one key, recorded by two instances sharing a store: each failure
/// counts exactly once (every count from 1 to n is seen once).
///
/// # Panics
///
/// When a failure was lost or counted twice.
pub async fn throttle_concurrency<T: Throttle>(first: Arc<T>, second: Arc<T>) {
    const N: u32 = 40;
    let policy = ThrottlePolicy::default();
    let key = ThrottleKey::Subject("stormed".into());
    let mut tasks = JoinSet::new();
    for i in 0..N {
        let throttle = if i % 2 == 0 { &first } else { &second };
        let throttle = Arc::clone(throttle);
        let key = key.clone();
        tasks.spawn(async move { throttle.record_failure(&key).await.unwrap() });
    }
    let mut waits = tasks.join_all().await;
    waits.sort();
    let mut expected: Vec<Option<Duration>> = (1..=N).map(|n| policy.delay_after(n)).collect();
    expected.sort();
    assert_eq!(waits, expected);
}

// ---------------------------------------------------------------------------------------
// JWT revocations
// ---------------------------------------------------------------------------------------

/// The [`RevocationStore`] contract, for a store on `clock`.
///
/// # Panics
///
/// When the store breaks the contract.
pub async fn revocation_contract<S: RevocationStore>(store: &S, clock: &ManualClock) {
    let now = clock.now();
    assert!(!store.is_revoked("never").await.unwrap());
    store
        .revoke("t1", now + Duration::from_secs(60))
        .await
        .unwrap();
    assert!(store.is_revoked("t1").await.unwrap());
    assert!(!store.is_revoked("t2").await.unwrap());

    // An already expired token needs no entry.
    store.revoke("t3", now).await.unwrap();
    store
        .revoke("t3b", now - Duration::from_secs(1))
        .await
        .unwrap();
    assert!(!store.is_revoked("t3").await.unwrap());
    assert!(!store.is_revoked("t3b").await.unwrap());

    // Revoking again moves the entry's end.
    store
        .revoke("t4", now + Duration::from_secs(10))
        .await
        .unwrap();
    store
        .revoke("t4", now + Duration::from_secs(100))
        .await
        .unwrap();

    // Odd identifiers are just names.
    let odd = "jti with spaces:and*globs?[x]\u{e9}";
    store
        .revoke(odd, now + Duration::from_secs(60))
        .await
        .unwrap();
    assert!(store.is_revoked(odd).await.unwrap());
    assert!(!store.is_revoked("jti with spaces:and*").await.unwrap());

    clock.advance(Duration::from_secs(59));
    assert!(store.is_revoked("t1").await.unwrap());
    clock.advance(Duration::from_secs(1));
    assert!(
        !store.is_revoked("t1").await.unwrap(),
        "an entry ends at the token's exp"
    );
    assert!(store.is_revoked("t4").await.unwrap());
    clock.advance(Duration::from_secs(40));
    assert!(!store.is_revoked("t4").await.unwrap());
}

// ---------------------------------------------------------------------------------------
// HMAC nonces
// ---------------------------------------------------------------------------------------

/// The [`NonceStore`] contract, for a store on `clock`.
///
/// # Panics
///
/// When the store breaks the contract.
pub async fn nonce_contract<S: NonceStore>(store: &S, clock: &ManualClock) {
    let until = clock.now() + Duration::from_secs(10);
    assert!(store.insert_if_absent("k1:a", until).await.unwrap());
    assert!(
        !store.insert_if_absent("k1:a", until).await.unwrap(),
        "a replay"
    );
    assert!(store.insert_if_absent("k1:b", until).await.unwrap());
    assert!(
        store.insert_if_absent("k2:a", until).await.unwrap(),
        "nonces are scoped by the caller's key"
    );
    clock.advance(Duration::from_secs(9));
    assert!(!store.insert_if_absent("k1:a", until).await.unwrap());
    clock.advance(Duration::from_secs(1));
    assert!(
        store
            .insert_if_absent("k1:a", clock.now() + Duration::from_secs(10))
            .await
            .unwrap(),
        "expired at its end: forgotten"
    );
    assert!(
        !store.insert_if_absent("k1:a", clock.now()).await.unwrap(),
        "recorded again"
    );
    // A nonce whose window has already passed is let through and not remembered (the
    // verifier refuses such a signature before it asks).
    assert!(store.insert_if_absent("k1:c", clock.now()).await.unwrap());
    assert!(store.insert_if_absent("k1:c", clock.now()).await.unwrap());
}

/// Concurrent first uses of one nonce, through two instances sharing a store: exactly one
/// wins.
///
/// # Panics
///
/// When none or several win.
pub async fn nonce_concurrency<S: NonceStore>(first: Arc<S>, second: Arc<S>, clock: &ManualClock) {
    let until = clock.now() + Duration::from_secs(300);
    let mut tasks = JoinSet::new();
    for i in 0..40 {
        let store = Arc::clone(if i % 2 == 0 { &first } else { &second });
        tasks.spawn(async move { store.insert_if_absent("k1:raced", until).await.unwrap() });
    }
    let firsts = tasks.join_all().await.into_iter().filter(|f| *f).count();
    assert_eq!(firsts, 1);
}

// ---------------------------------------------------------------------------------------
// Sessions (the contract of crates/auth-session/tests/it/contract.rs, shared here so the
// Redis store runs it too, plus concurrency between instances)
// ---------------------------------------------------------------------------------------

const HOUR: Duration = Duration::from_secs(3600);

/// A record for the session tests, with one data key `k`.
///
/// # Panics
///
/// When the OS random generator fails.
#[must_use]
pub fn session_record(
    user: Option<&str>,
    created_at: SystemTime,
    expires_at: SystemTime,
) -> SessionRecord {
    SessionRecord {
        hash: SessionId::generate().unwrap().hash(),
        user: user.map(str::to_owned),
        scopes: Scopes::parse("a b").unwrap(),
        created_at,
        authenticated_at: user.map(|_| created_at),
        last_seen: created_at,
        expires_at,
        csrf_token: CsrfToken::generate().unwrap(),
        data: BTreeMap::from([("k".to_owned(), "\"v\"".to_owned())]),
    }
}

/// A user name no other run of the suite uses (stores may be shared).
fn unique_user(label: &str) -> String {
    let id = SessionId::generate().unwrap().hash().fingerprint();
    format!("{label}-{id}")
}

/// Every [`SessionStore`] contract check against `store`, whose clock reads `now`.
///
/// # Panics
///
/// When the store breaks the contract.
pub async fn session_contract<S: SessionStore>(store: &S, now: SystemTime) {
    round_trip(store, now).await;
    duplicates_are_refused(store, now).await;
    saves_are_key_level_and_never_create(store, now).await;
    touches_never_move_back(store, now).await;
    deletes(store, now).await;
    per_user_listing_and_logout_everywhere(store, now).await;
    the_cap_evicts_the_oldest(store, now).await;
    expired_records_count_as_absent(store, now).await;
    odd_names_and_values_round_trip(store, now).await;
}

async fn round_trip<S: SessionStore>(store: &S, now: SystemTime) {
    let user = unique_user("round-trip");
    let mut stored = session_record(Some(&user), now, now + HOUR);
    // Times keep their nanoseconds.
    stored.last_seen = now + Duration::from_nanos(123_456_789);
    assert_eq!(store.insert(stored.clone(), None).await.unwrap(), []);
    assert_eq!(
        store.load(&stored.hash).await.unwrap(),
        Some(stored.clone())
    );
    let anonymous = SessionRecord {
        data: BTreeMap::new(),
        scopes: Scopes::new(),
        ..session_record(None, now, now + HOUR)
    };
    store.insert(anonymous.clone(), None).await.unwrap();
    assert_eq!(store.load(&anonymous.hash).await.unwrap(), Some(anonymous));
    let unknown = SessionId::generate().unwrap().hash();
    assert_eq!(store.load(&unknown).await.unwrap(), None);
}

async fn duplicates_are_refused<S: SessionStore>(store: &S, now: SystemTime) {
    let first = session_record(None, now, now + HOUR);
    store.insert(first.clone(), None).await.unwrap();
    let mut second = session_record(None, now, now + HOUR);
    second.hash = first.hash;
    assert_eq!(
        store.insert(second, None).await.unwrap_err(),
        StoreError::Duplicate
    );
    assert_eq!(store.load(&first.hash).await.unwrap(), Some(first));
}

async fn saves_are_key_level_and_never_create<S: SessionStore>(store: &S, now: SystemTime) {
    let mut stored = session_record(None, now, now + HOUR);
    stored.data.insert("c".into(), "3".into());
    store.insert(stored.clone(), None).await.unwrap();

    // Two requests that loaded the same record change different keys, one after the other.
    let first = SessionUpdate {
        set: BTreeMap::from([("a".into(), "1".into())]),
        ..SessionUpdate::default()
    };
    let second = SessionUpdate {
        set: BTreeMap::from([("b".into(), "2".into())]),
        remove: ["c".to_owned()].into(),
        ..SessionUpdate::default()
    };
    assert!(store.save(&stored.hash, &first).await.unwrap());
    assert!(store.save(&stored.hash, &second).await.unwrap());
    let data = store.load(&stored.hash).await.unwrap().unwrap().data;
    assert_eq!(data.get("a").map(String::as_str), Some("1"));
    assert_eq!(data.get("b").map(String::as_str), Some("2"));
    assert_eq!(data.get("k").map(String::as_str), Some("\"v\""));
    assert!(!data.contains_key("c"));

    // The same key: the later save wins.
    let later = SessionUpdate {
        set: BTreeMap::from([("a".into(), "9".into())]),
        ..SessionUpdate::default()
    };
    store.save(&stored.hash, &later).await.unwrap();
    let data = store.load(&stored.hash).await.unwrap().unwrap().data;
    assert_eq!(data.get("a").map(String::as_str), Some("9"));

    // Removed and set in one update: set (removals apply first).
    let both = SessionUpdate {
        set: BTreeMap::from([("b".into(), "5".into())]),
        remove: ["b".to_owned(), "missing".to_owned()].into(),
        ..SessionUpdate::default()
    };
    assert!(store.save(&stored.hash, &both).await.unwrap());
    let data = store.load(&stored.hash).await.unwrap().unwrap().data;
    assert_eq!(data.get("b").map(String::as_str), Some("5"));

    // An empty update is a no-op on a live record.
    assert!(
        store
            .save(&stored.hash, &SessionUpdate::default())
            .await
            .unwrap()
    );

    // A save never resurrects a deleted session.
    let gone = SessionId::generate().unwrap().hash();
    assert!(!store.save(&gone, &first).await.unwrap());
    assert_eq!(store.load(&gone).await.unwrap(), None);
    store.delete(&stored.hash).await.unwrap();
    assert!(!store.save(&stored.hash, &first).await.unwrap());
    assert_eq!(store.load(&stored.hash).await.unwrap(), None);
}

async fn touches_never_move_back<S: SessionStore>(store: &S, now: SystemTime) {
    let stored = session_record(None, now, now + HOUR);
    store.insert(stored.clone(), None).await.unwrap();
    let later = Touch {
        last_seen: now + Duration::from_secs(60),
        expires_at: now + HOUR + Duration::from_secs(60),
    };
    let earlier = Touch {
        last_seen: now + Duration::from_secs(30),
        expires_at: now + HOUR + Duration::from_secs(30),
    };
    for touch in [later, earlier] {
        let update = SessionUpdate {
            touch: Some(touch),
            ..SessionUpdate::default()
        };
        assert!(store.save(&stored.hash, &update).await.unwrap());
    }
    let loaded = store.load(&stored.hash).await.unwrap().unwrap();
    assert_eq!(loaded.last_seen, later.last_seen);
    assert_eq!(loaded.expires_at, later.expires_at);
}

async fn deletes<S: SessionStore>(store: &S, now: SystemTime) {
    let stored = session_record(Some(&unique_user("delete")), now, now + HOUR);
    store.insert(stored.clone(), None).await.unwrap();
    assert!(store.delete(&stored.hash).await.unwrap());
    assert!(!store.delete(&stored.hash).await.unwrap());
    assert_eq!(store.load(&stored.hash).await.unwrap(), None);
    assert_eq!(
        store
            .list_user(stored.user.as_deref().unwrap())
            .await
            .unwrap(),
        []
    );
}

async fn per_user_listing_and_logout_everywhere<S: SessionStore>(store: &S, now: SystemTime) {
    let alice = unique_user("alice");
    let bob = unique_user("bob");
    let mut alices = Vec::new();
    for minutes in [20, 0, 10] {
        let created = now + Duration::from_secs(minutes * 60);
        let r = session_record(Some(&alice), created, created + HOUR);
        store.insert(r.clone(), None).await.unwrap();
        alices.push(r);
    }
    let bobs = session_record(Some(&bob), now, now + HOUR);
    store.insert(bobs.clone(), None).await.unwrap();
    let anonymous = session_record(None, now, now + HOUR);
    store.insert(anonymous.clone(), None).await.unwrap();

    let listed = store.list_user(&alice).await.unwrap();
    let hashes: Vec<SessionHash> = listed.iter().map(|i| i.hash).collect();
    assert_eq!(
        hashes,
        [alices[1].hash, alices[2].hash, alices[0].hash],
        "oldest first"
    );
    assert_eq!(listed[0], alices[1].info(), "a listing shows the metadata");
    let info = &store.list_user(&bob).await.unwrap()[0];
    assert_eq!(info.fingerprint, bobs.hash.fingerprint());
    assert_eq!(info.user.as_deref(), Some(bob.as_str()));

    // Everywhere but the current session...
    assert_eq!(
        store
            .delete_user(&alice, Some(&alices[2].hash))
            .await
            .unwrap(),
        2
    );
    assert_eq!(store.load(&alices[0].hash).await.unwrap(), None);
    assert!(store.load(&alices[2].hash).await.unwrap().is_some());
    // ...then everywhere.
    assert_eq!(store.delete_user(&alice, None).await.unwrap(), 1);
    assert_eq!(store.list_user(&alice).await.unwrap(), []);
    // Nobody else is touched.
    assert!(store.load(&bobs.hash).await.unwrap().is_some());
    assert!(store.load(&anonymous.hash).await.unwrap().is_some());
    assert_eq!(
        store
            .delete_user(&unique_user("nobody"), None)
            .await
            .unwrap(),
        0
    );
}

async fn the_cap_evicts_the_oldest<S: SessionStore>(store: &S, now: SystemTime) {
    let user = unique_user("capped");
    let mut records = Vec::new();
    for minutes in 0..3 {
        let created = now + Duration::from_secs(minutes * 60);
        let r = session_record(Some(&user), created, created + HOUR);
        records.push(r.clone());
        let evicted = store.insert(r, Some(2)).await.unwrap();
        if minutes < 2 {
            assert_eq!(evicted, []);
        } else {
            assert_eq!(evicted, [records[0].info()], "the oldest goes");
        }
    }
    let listed: Vec<SessionHash> = store
        .list_user(&user)
        .await
        .unwrap()
        .iter()
        .map(|i| i.hash)
        .collect();
    let expected: Vec<SessionHash> = records[1..].iter().map(|r| r.hash).collect();
    assert_eq!(listed, expected);
    assert_eq!(store.load(&records[0].hash).await.unwrap(), None);
    // A cap of 0 counts as 1: the new session always gets in.
    let newest = session_record(Some(&user), now + HOUR / 2, now + HOUR);
    let evicted = store.insert(newest.clone(), Some(0)).await.unwrap();
    assert_eq!(evicted.len(), 2);
    assert_eq!(
        store.list_user(&user).await.unwrap(),
        [newest.info()],
        "only the new one is left"
    );
    // Anonymous sessions are never capped.
    for _ in 0..3 {
        assert_eq!(
            store
                .insert(session_record(None, now, now + HOUR), Some(1))
                .await
                .unwrap(),
            []
        );
    }
}

async fn expired_records_count_as_absent<S: SessionStore>(store: &S, now: SystemTime) {
    let user = unique_user("expired");
    let dead = session_record(Some(&user), now - HOUR, now - Duration::from_secs(1));
    store.insert(dead.clone(), None).await.unwrap();
    assert_eq!(store.load(&dead.hash).await.unwrap(), None);
    let update = SessionUpdate {
        set: BTreeMap::from([("x".into(), "1".into())]),
        ..SessionUpdate::default()
    };
    assert!(!store.save(&dead.hash, &update).await.unwrap());
    assert_eq!(store.list_user(&user).await.unwrap(), []);
    // An expired session does not count against the cap.
    let live = session_record(Some(&user), now, now + HOUR);
    assert_eq!(store.insert(live, Some(1)).await.unwrap(), []);
}

async fn odd_names_and_values_round_trip<S: SessionStore>(store: &S, now: SystemTime) {
    let user = unique_user("ödd user:*?[]");
    let mut stored = session_record(Some(&user), now, now + HOUR);
    stored.data = BTreeMap::from([
        ("u".to_owned(), "\"not the user field\"".to_owned()),
        ("e".to_owned(), "0".to_owned()),
        ("d:nested".to_owned(), "[1,2]".to_owned()),
        (String::new(), "\"empty key\"".to_owned()),
        ("ключ".to_owned(), "\"значение\"".to_owned()),
    ]);
    store.insert(stored.clone(), None).await.unwrap();
    assert_eq!(
        store.load(&stored.hash).await.unwrap(),
        Some(stored.clone())
    );
    assert_eq!(store.list_user(&user).await.unwrap(), [stored.info()]);
    // Many keys in one update.
    let many = SessionUpdate {
        set: (0..1000)
            .map(|i| (format!("n{i}"), i.to_string()))
            .collect(),
        ..SessionUpdate::default()
    };
    assert!(store.save(&stored.hash, &many).await.unwrap());
    let remove = SessionUpdate {
        remove: (0..1000).map(|i| format!("n{i}")).collect(),
        ..SessionUpdate::default()
    };
    assert!(store.save(&stored.hash, &remove).await.unwrap());
    assert_eq!(store.load(&stored.hash).await.unwrap(), Some(stored));
}

/// Expiry as the store's clock moves (the store runs on `clock`).
///
/// # Panics
///
/// When the store breaks the contract.
pub async fn session_expiry_as_time_moves<S: SessionStore>(store: &S, clock: &ManualClock) {
    let now = clock.now();
    let user = unique_user("moving");
    let r = session_record(Some(&user), now, now + HOUR);
    store.insert(r.clone(), None).await.unwrap();
    clock.advance(HOUR - Duration::from_secs(1));
    assert!(store.load(&r.hash).await.unwrap().is_some());
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        store.load(&r.hash).await.unwrap(),
        None,
        "expires_at is exclusive"
    );
    assert_eq!(store.list_user(&user).await.unwrap(), []);
    // A new session with the hash of an expired one is no duplicate.
    let mut again = session_record(Some(&user), clock.now(), clock.now() + HOUR);
    again.hash = r.hash;
    store.insert(again.clone(), None).await.unwrap();
    assert_eq!(store.load(&r.hash).await.unwrap(), Some(again.clone()));
    assert_eq!(store.list_user(&user).await.unwrap(), [again.info()]);
}

/// Concurrent requests of one session, saved by two instances sharing a store: each
/// changes its own key, and every change is kept.
///
/// # Panics
///
/// When a change was lost.
pub async fn session_concurrent_saves<S: SessionStore>(
    first: Arc<S>,
    second: Arc<S>,
    now: SystemTime,
) {
    let stored = session_record(Some(&unique_user("busy")), now, now + HOUR);
    first.insert(stored.clone(), None).await.unwrap();
    let mut tasks = JoinSet::new();
    for i in 0..40_u64 {
        let store = Arc::clone(if i % 2 == 0 { &first } else { &second });
        let hash = stored.hash;
        tasks.spawn(async move {
            let update = SessionUpdate {
                set: BTreeMap::from([(format!("request-{i}"), i.to_string())]),
                remove: BTreeSet::from(["k".to_owned()]),
                touch: Some(Touch {
                    last_seen: now + Duration::from_secs(i),
                    expires_at: now + HOUR + Duration::from_secs(i),
                }),
            };
            store.save(&hash, &update).await.unwrap()
        });
    }
    assert!(tasks.join_all().await.into_iter().all(|saved| saved));
    let loaded = first.load(&stored.hash).await.unwrap().unwrap();
    let expected: BTreeMap<String, String> = (0..40_u64)
        .map(|i| (format!("request-{i}"), i.to_string()))
        .collect();
    assert_eq!(loaded.data, expected);
    assert_eq!(
        loaded.last_seen,
        now + Duration::from_secs(39),
        "the latest touch"
    );
    assert_eq!(loaded.expires_at, now + HOUR + Duration::from_secs(39));
}

/// Concurrent logins of one user through two instances, with a cap: the cap holds, and
/// every session is either listed or reported evicted, exactly once.
///
/// # Panics
///
/// When the cap is broken or a session is lost or reported twice.
pub async fn session_concurrent_capped_logins<S: SessionStore>(
    first: Arc<S>,
    second: Arc<S>,
    now: SystemTime,
) {
    const LOGINS: u64 = 24;
    const CAP: usize = 3;
    let user = unique_user("roaming");
    let mut tasks = JoinSet::new();
    let mut all = BTreeSet::new();
    for i in 0..LOGINS {
        let store = Arc::clone(if i % 2 == 0 { &first } else { &second });
        let created = now + Duration::from_secs(i);
        let record = session_record(Some(&user), created, created + HOUR);
        all.insert(record.hash);
        tasks.spawn(async move { store.insert(record, Some(CAP)).await.unwrap() });
    }
    let mut evicted = Vec::new();
    for batch in tasks.join_all().await {
        evicted.extend(batch.into_iter().map(|info| info.hash));
    }
    let listed: Vec<SessionHash> = first
        .list_user(&user)
        .await
        .unwrap()
        .into_iter()
        .map(|info| info.hash)
        .collect();
    assert_eq!(listed.len(), CAP);
    let mut seen: Vec<SessionHash> = evicted.iter().chain(&listed).copied().collect();
    seen.sort();
    assert_eq!(seen, all.into_iter().collect::<Vec<_>>());
}

// ---------------------------------------------------------------------------------------
// A redis-server of the test's own, for the fault test
// ---------------------------------------------------------------------------------------

/// The `redis-server` binary, when it runs (`redis-server --version`).
#[must_use]
pub fn redis_server_binary() -> Option<PathBuf> {
    [
        "redis-server",
        "/usr/bin/redis-server",
        "/usr/local/bin/redis-server",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|binary| {
        Command::new(binary)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// The binary for a suite that starts its own server, or `None` after printing why the
/// suite is skipped.
///
/// # Panics
///
/// When the binary is missing and `AUTH_REQUIRE_SERVICES=1`.
#[must_use]
pub fn redis_server_for_suite(suite: &str) -> Option<PathBuf> {
    let binary = redis_server_binary();
    if binary.is_none() {
        let why = "no redis-server binary on PATH";
        if services::required() {
            panic!(
                "{suite}: {why}, and {}=1 requires it",
                services::REQUIRE_ENV
            );
        }
        eprintln!("SKIPPED {suite}: {why}");
    }
    binary
}

/// A port that was free a moment ago (bind `127.0.0.1:0`, read the port, close).
///
/// # Panics
///
/// When the loopback cannot be bound.
#[must_use]
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// A `redis-server` child process on `127.0.0.1:<port>`, with an append-only file fsynced
/// on every write in its own temporary directory (so an acknowledged write survives a
/// crash). Dropping it kills the process and removes the directory.
#[derive(Debug)]
pub struct RedisServer {
    binary: PathBuf,
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server and waits (at most [`WAIT`]) until it answers.
    ///
    /// # Panics
    ///
    /// When it cannot be started or does not answer in time.
    pub async fn start(binary: &Path) -> RedisServer {
        let dir = std::env::temp_dir().join(format!(
            "auth-rs-redis-{}-{:016x}",
            std::process::id(),
            RandomState::new().hash_one(SystemTime::now())
        ));
        std::fs::create_dir_all(&dir).expect("create the server's directory");
        let mut server = RedisServer {
            binary: binary.to_owned(),
            port: free_port(),
            dir,
            child: None,
        };
        server.restart().await;
        server
    }

    /// `redis://127.0.0.1:<port>`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server at once (SIGKILL: a crash, no shutdown save).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again, on the same port and directory, and waits (at most
    /// [`WAIT`]) until it answers.
    ///
    /// # Panics
    ///
    /// When it cannot be started or does not answer in time.
    pub async fn restart(&mut self) {
        self.kill();
        let child = Command::new(&self.binary)
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "yes"])
            .args(["--appendfsync", "always"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if answers(self.port).await {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("redis-server exited at start: {status}");
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "redis-server on port {} did not answer within {WAIT:?}",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Whether a server on `port` answers a data command (`EXISTS`, refused while loading).
async fn answers(port: u16) -> bool {
    let probe = async {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        let (read, write) = stream.into_split();
        write_all(&write, b"EXISTS auth-rs-probe\r\n").await.ok()?;
        let mut buf = [0_u8; 64];
        loop {
            read.readable().await.ok()?;
            match read.try_read(&mut buf) {
                Ok(0) => return None,
                Ok(n) => return Some(buf[..n].starts_with(b":")),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return None,
            }
        }
    };
    matches!(
        tokio::time::timeout(Duration::from_millis(500), probe).await,
        Ok(Some(true))
    )
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------------------
// A proxy whose connections can go silent, for timeouts
// ---------------------------------------------------------------------------------------

/// A TCP proxy in front of Redis whose existing connections can be made to go silent:
/// they stay open but carry nothing, like a peer that vanished without a reset (a network
/// partition, a host gone). New connections are forwarded as usual. Dropping it stops
/// everything.
#[derive(Debug)]
pub struct SilenceableProxy {
    addr: SocketAddr,
    state: Arc<ProxyState>,
    task: JoinHandle<()>,
}

#[derive(Debug, Default)]
struct ProxyState {
    next_id: AtomicU64,
    silent_below: AtomicU64,
}

impl ProxyState {
    fn silent(&self, id: u64) -> bool {
        id < self.silent_below.load(Ordering::SeqCst)
    }
}

impl SilenceableProxy {
    /// A proxy on `127.0.0.1:<free port>` forwarding to `upstream`.
    ///
    /// # Panics
    ///
    /// When the loopback cannot be bound.
    pub async fn start(upstream: SocketAddr) -> SilenceableProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(ProxyState::default());
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            let mut pumps = JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let id = shared.next_id.fetch_add(1, Ordering::SeqCst);
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                pumps.spawn(pump(client_read, server_write, id, Arc::clone(&shared)));
                pumps.spawn(pump(server_read, client_write, id, Arc::clone(&shared)));
            }
        });
        SilenceableProxy { addr, state, task }
    }

    /// The proxy's address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Silences every connection open now; later ones are forwarded.
    pub fn silence_open_connections(&self) {
        let next = self.state.next_id.load(Ordering::SeqCst);
        self.state.silent_below.store(next, Ordering::SeqCst);
    }

    /// Silences every connection, present and future.
    pub fn silence_all(&self) {
        self.state.silent_below.store(u64::MAX, Ordering::SeqCst);
    }
}

impl Drop for SilenceableProxy {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts the pumps.
        self.task.abort();
    }
}

async fn pump(from: OwnedReadHalf, to: OwnedWriteHalf, id: u64, state: Arc<ProxyState>) {
    let mut buf = vec![0_u8; 16 * 1024];
    loop {
        if from.readable().await.is_err() {
            return;
        }
        match from.try_read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if !state.silent(id) && write_all(&to, &buf[..n]).await.is_err() {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
    }
}

async fn write_all(to: &OwnedWriteHalf, mut data: &[u8]) -> std::io::Result<()> {
    while !data.is_empty() {
        to.writable().await?;
        match to.try_write(data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `url` with its `host:port` replaced by `addr` (user, password and database kept).
///
/// # Panics
///
/// When `url` has no `scheme://`.
#[must_use]
pub fn url_via(url: &str, addr: SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
    let (authority, path) = rest
        .find(['/', '?'])
        .map_or((rest, ""), |i| rest.split_at(i));
    let userinfo = authority.rsplit_once('@').map(|(u, _)| u);
    match userinfo {
        Some(userinfo) => format!("{scheme}://{userinfo}@{addr}{path}"),
        None => format!("{scheme}://{addr}{path}"),
    }
}

/// The socket address of `url`'s `host:port` (port 6379 when none is given).
///
/// # Panics
///
/// When it does not resolve.
#[must_use]
pub fn socket_addr_of(url: &str) -> SocketAddr {
    use std::net::ToSocketAddrs;
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let host_port = if host_port.contains(':') && !host_port.ends_with(']') {
        host_port.to_owned()
    } else {
        format!("{host_port}:6379")
    };
    host_port
        .to_socket_addrs()
        .expect("resolve the Redis address")
        .next()
        .expect("an address for Redis")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_rewritten_to_the_proxy() {
        let addr: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        assert_eq!(
            url_via("redis://127.0.0.1:6379", addr),
            "redis://127.0.0.1:4000"
        );
        assert_eq!(
            url_via("redis://u:p@db:6379/2", addr),
            "redis://u:p@127.0.0.1:4000/2"
        );
        assert_eq!(
            socket_addr_of("redis://u:p@127.0.0.1/2"),
            "127.0.0.1:6379".parse().unwrap()
        );
    }

    #[test]
    fn namespaces_are_unique() {
        assert_ne!(unique_namespace(), unique_namespace());
        assert!(unique_namespace().starts_with("auth-test:"));
    }
}
