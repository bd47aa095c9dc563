//! The Redis stores (feature `redis` of auth-core, auth-jwt, auth-hmac, auth-session)
//! against a live Redis, and against the in-memory stores: each trait's contract runs on
//! both, so they behave the same.
//!
//! Suites that need the shared Redis (`AUTH_TEST_REDIS_URL`) skip with a message when it
//! does not answer (and fail under `AUTH_REQUIRE_SERVICES=1`); each runs in a namespace of
//! its own and deletes its keys at the end. The fault test starts its own `redis-server`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, web};
use auth_actix::Authenticate;
use auth_core::{
    Clock, MemoryThrottle, RedisConnection, RedisError, RedisThrottle, SystemClock, Throttle,
    ThrottleError, ThrottleKey, ThrottlePolicy,
};
use auth_hmac::{MemoryNonceStore, NonceStore, RedisNonceStore};
use auth_jwt::{
    Algorithm, Issuer, JwtAuthenticator, Key, KeySet, MemoryRevocationStore, RedisRevocationStore,
    RevocationStore, Verifier,
};
use auth_session::{MemoryStore, RedisSessionStore, SessionStore, SessionUpdate, Touch};
use auth_tests::TestApp;
use auth_tests::redis_support::{
    RedisServer, SilenceableProxy, WAIT, cleanup, nonce_concurrency, nonce_contract,
    redis_server_for_suite, revocation_contract, session_concurrent_capped_logins,
    session_concurrent_saves, session_contract, session_expiry_as_time_moves, session_record,
    socket_addr_of, test_clock, throttle_concurrency, throttle_contract, unique_namespace, url_via,
    with_redis,
};
use serde_json::{Value, json};

const HOUR: Duration = Duration::from_secs(3600);

/// Whether `pttl` (milliseconds) is within `(expected - 1 s, expected]`: a TTL computed from
/// the store's clock, minus the little real time the test took.
fn ttl_is(pttl: i64, expected: Duration) -> bool {
    let expected = i64::try_from(expected.as_millis()).unwrap();
    pttl <= expected && pttl > expected - 1_000
}

// ---------------------------------------------------------------------------------------
// Throttle
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_memory_throttle_keeps_the_throttle_contract() {
    throttle_contract(|policy, clock| MemoryThrottle::new(policy, clock).unwrap()).await;
    let clock = test_clock();
    let throttle =
        Arc::new(MemoryThrottle::new(ThrottlePolicy::default(), clock.shared()).unwrap());
    throttle_concurrency(Arc::clone(&throttle), throttle).await;
}

#[tokio::test]
async fn the_redis_throttle_keeps_the_throttle_contract() {
    with_redis("redis_stores::throttle", |t| async move {
        throttle_contract(|policy, clock| RedisThrottle::new(&t.redis, policy, clock).unwrap())
            .await;
        // Two application instances, each with its own connection, one store.
        let clock = test_clock();
        let other = t.another_instance().await;
        let first = RedisThrottle::new(&t.redis, ThrottlePolicy::default(), clock.shared());
        let second = RedisThrottle::new(&other, ThrottlePolicy::default(), clock.shared());
        throttle_concurrency(Arc::new(first.unwrap()), Arc::new(second.unwrap())).await;
    })
    .await;
}

#[tokio::test]
async fn redis_throttle_keys_are_namespaced_and_live_for_the_window() {
    with_redis("redis_stores::throttle", |t| async move {
        let clock = test_clock();
        let policy = ThrottlePolicy::default();
        let throttle = RedisThrottle::new(&t.redis, policy, clock.shared()).unwrap();
        let key = ThrottleKey::Subject("ttl".into());
        throttle.record_failure(&key).await.unwrap();
        let redis_key = format!("{}throttle:s:ttl", t.redis.namespace());
        assert_eq!(throttle.redis_key(&key), redis_key);
        assert_eq!(t.keys().await, std::slice::from_ref(&redis_key));
        assert!(ttl_is(
            t.pttl(&redis_key).await,
            policy.window + Duration::from_secs(1)
        ));
        throttle.reset(&key).await.unwrap();
        assert_eq!(t.keys().await, Vec::<String>::new());
        // An inconsistent policy is refused as MemoryThrottle refuses it.
        let bad = ThrottlePolicy {
            free_attempts: 0,
            ..policy
        };
        assert!(matches!(
            RedisThrottle::new(&t.redis, bad, clock.shared()),
            Err(ThrottleError::InvalidPolicy(_))
        ));
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// JWT revocations
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_memory_revocation_store_keeps_the_revocation_contract() {
    let clock = test_clock();
    revocation_contract(&MemoryRevocationStore::new(clock.shared()), &clock).await;
}

#[tokio::test]
async fn the_redis_revocation_store_keeps_the_revocation_contract() {
    with_redis("redis_stores::revocation", |t| async move {
        let clock = test_clock();
        revocation_contract(&RedisRevocationStore::new(&t.redis, clock.shared()), &clock).await;
    })
    .await;
}

#[tokio::test]
async fn redis_revocations_live_until_the_token_expires() {
    with_redis("redis_stores::revocation", |t| async move {
        let clock = test_clock();
        let store = RedisRevocationStore::new(&t.redis, clock.shared());
        let other = RedisRevocationStore::new(&t.another_instance().await, clock.shared());
        store
            .revoke("jti-1", clock.now() + Duration::from_secs(60))
            .await
            .unwrap();
        assert!(
            other.is_revoked("jti-1").await.unwrap(),
            "every instance sees it"
        );
        let key = format!("{}jwt:revoked:jti-1", t.redis.namespace());
        assert_eq!(store.redis_key("jti-1"), key);
        assert_eq!(t.keys().await, std::slice::from_ref(&key));
        assert!(ttl_is(t.pttl(&key).await, Duration::from_secs(60)));
        // Nothing is written for a token that has already expired.
        store.revoke("jti-2", clock.now()).await.unwrap();
        assert_eq!(t.keys().await, [key]);
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// HMAC nonces
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_memory_nonce_store_keeps_the_nonce_contract() {
    let clock = test_clock();
    let store = Arc::new(MemoryNonceStore::new(clock.shared()));
    nonce_contract(&*store, &clock).await;
    nonce_concurrency(Arc::clone(&store), store, &clock).await;
}

#[tokio::test]
async fn the_redis_nonce_store_keeps_the_nonce_contract() {
    with_redis("redis_stores::nonce", |t| async move {
        let clock = test_clock();
        nonce_contract(&RedisNonceStore::new(&t.redis, clock.shared()), &clock).await;
        let other = t.another_instance().await;
        nonce_concurrency(
            Arc::new(RedisNonceStore::new(&t.redis, clock.shared())),
            Arc::new(RedisNonceStore::new(&other, clock.shared())),
            &clock,
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn redis_nonces_live_for_their_window() {
    with_redis("redis_stores::nonce", |t| async move {
        let clock = test_clock();
        let store = RedisNonceStore::new(&t.redis, clock.shared());
        let window = Duration::from_secs(300);
        assert!(
            store
                .insert_if_absent("key-1:n-1", clock.now() + window)
                .await
                .unwrap()
        );
        let key = format!("{}hmac:nonce:key-1:n-1", t.redis.namespace());
        assert_eq!(store.redis_key("key-1:n-1"), key);
        assert_eq!(t.keys().await, std::slice::from_ref(&key));
        assert!(ttl_is(t.pttl(&key).await, window));
        // A replay does not extend the entry.
        clock.advance(Duration::from_secs(100));
        assert!(
            !store
                .insert_if_absent("key-1:n-1", clock.now() + window)
                .await
                .unwrap()
        );
        assert!(t.pttl(&key).await <= 300_000);
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_memory_session_store_keeps_the_session_contract() {
    let clock = test_clock();
    let store = Arc::new(MemoryStore::new(clock.shared()));
    session_contract(&*store, clock.now()).await;
    session_concurrent_saves(Arc::clone(&store), Arc::clone(&store), clock.now()).await;
    session_concurrent_capped_logins(Arc::clone(&store), Arc::clone(&store), clock.now()).await;
    session_expiry_as_time_moves(&*store, &clock).await;
}

#[tokio::test]
async fn the_redis_session_store_keeps_the_session_contract() {
    with_redis("redis_stores::session", |t| async move {
        let clock = test_clock();
        let store = Arc::new(RedisSessionStore::new(&t.redis, clock.shared()));
        let other = Arc::new(RedisSessionStore::new(
            &t.another_instance().await,
            clock.shared(),
        ));
        session_contract(&*store, clock.now()).await;
        session_concurrent_saves(Arc::clone(&store), Arc::clone(&other), clock.now()).await;
        session_concurrent_capped_logins(Arc::clone(&store), other, clock.now()).await;
        session_expiry_as_time_moves(&*store, &clock).await;
    })
    .await;
}

#[tokio::test]
async fn redis_sessions_are_laid_out_by_hash_and_expire_with_their_deadline() {
    with_redis("redis_stores::session", |t| async move {
        let clock = test_clock();
        let store = RedisSessionStore::new(&t.redis, clock.shared());
        let now = clock.now();
        let record = session_record(Some("carol"), now, now + HOUR);
        store.insert(record.clone(), None).await.unwrap();

        let record_key = format!("{}session:{}", t.redis.namespace(), record.hash.to_hex());
        let user_key = format!("{}session-user:carol", t.redis.namespace());
        assert_eq!(store.record_key(&record.hash), record_key);
        assert_eq!(store.user_key("carol"), user_key);
        let mut expected = vec![record_key.clone(), user_key.clone()];
        expected.sort();
        assert_eq!(t.keys().await, expected);
        assert!(ttl_is(t.pttl(&record_key).await, HOUR));
        assert!(ttl_is(t.pttl(&user_key).await, HOUR));

        let fields = t.hash(&record_key).await;
        assert_eq!(fields.get("u").map(String::as_str), Some("carol"));
        assert_eq!(fields.get("d:k").map(String::as_str), Some("\"v\""));
        assert_eq!(fields.get("t"), Some(&record.csrf_token.expose_base64url()));

        // A touch moves the record's TTL and its user index's with it.
        let touch = SessionUpdate {
            touch: Some(Touch {
                last_seen: now + Duration::from_secs(60),
                expires_at: now + 2 * HOUR,
            }),
            ..SessionUpdate::default()
        };
        assert!(store.save(&record.hash, &touch).await.unwrap());
        assert!(ttl_is(t.pttl(&record_key).await, 2 * HOUR));
        assert!(ttl_is(t.pttl(&user_key).await, 2 * HOUR));
        // A shorter-lived session of the same user does not shorten the index.
        let short = session_record(Some("carol"), now, now + HOUR / 2);
        store.insert(short.clone(), None).await.unwrap();
        assert!(ttl_is(
            t.pttl(&store.record_key(&short.hash)).await,
            HOUR / 2
        ));
        assert!(ttl_is(t.pttl(&user_key).await, 2 * HOUR));

        // An anonymous session has no index entry.
        let anonymous = session_record(None, now, now + HOUR);
        store.insert(anonymous.clone(), None).await.unwrap();
        assert_eq!(t.keys().await.len(), 4);

        // Log out everywhere: the records and the index go.
        assert_eq!(store.delete_user("carol", None).await.unwrap(), 2);
        assert_eq!(t.keys().await, [store.record_key(&anonymous.hash)]);
        // An index entry whose record expired away is dropped when next seen.
        let gone = session_record(Some("dave"), now, now + HOUR);
        store.insert(gone.clone(), None).await.unwrap();
        t.redis
            .run(|mut c| {
                let key = store.record_key(&gone.hash);
                async move { redis::cmd("DEL").arg(&key).query_async::<()>(&mut c).await }
            })
            .await
            .unwrap();
        assert_eq!(store.list_user("dave").await.unwrap(), []);
        assert!(
            !t.keys().await.contains(&store.user_key("dave")),
            "the emptied index is gone"
        );
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Construction and failures
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_bad_url_fails_at_construction_with_a_clear_error() {
    for url in [
        "",
        "not a url",
        "http://127.0.0.1:6379",
        "redis://127.0.0.1:port",
    ] {
        let error = RedisConnection::connect(url).await.unwrap_err();
        assert!(
            matches!(error, RedisError::InvalidUrl(_)),
            "{url}: {error:?}"
        );
        assert!(
            error.to_string().starts_with("invalid Redis URL"),
            "{error}"
        );
    }
    let error = RedisConnection::builder("redis://127.0.0.1:6379")
        .namespace("")
        .connect()
        .await
        .unwrap_err();
    assert_eq!(
        error,
        RedisError::InvalidConfig("the namespace must not be empty")
    );
}

#[tokio::test]
async fn a_redis_that_goes_silent_times_out_and_the_next_call_opens_a_new_connection() {
    with_redis("redis_stores::timeouts", |t| async move {
        let proxy = SilenceableProxy::start(socket_addr_of(&t.url)).await;
        let timeout = Duration::from_millis(300);
        let redis = RedisConnection::builder(url_via(&t.url, proxy.addr()))
            .namespace(t.redis.namespace())
            .timeout(timeout)
            .connect()
            .await
            .unwrap();
        let clock = test_clock();
        let store = RedisRevocationStore::new(&redis, clock.shared());
        store.revoke("jti-1", clock.now() + HOUR).await.unwrap();

        // The peer goes silent without closing (a partition): the call fails within the
        // timeout...
        proxy.silence_open_connections();
        let started = Instant::now();
        let error = store.is_revoked("jti-1").await.unwrap_err();
        assert!(started.elapsed() < 3 * timeout, "{:?}", started.elapsed());
        assert!(error.to_string().contains("did not answer"), "{error}");
        // ...and the connection it timed out on is not used again: the next call, on the
        // same store, gets a new connection and its answer.
        assert!(store.is_revoked("jti-1").await.unwrap());

        // Silent for good: every call fails within the timeout, none hangs.
        proxy.silence_all();
        for _ in 0..3 {
            let started = Instant::now();
            assert!(store.is_revoked("jti-1").await.is_err());
            assert!(started.elapsed() < 3 * timeout, "{:?}", started.elapsed());
        }
    })
    .await;
}

async fn status(app: &TestApp, token: &str) -> u16 {
    app.get("/orders")
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Kills Redis under a running app and starts it again: calls fail closed while it is
/// down, the same app and store objects work again once it is back, and what was
/// acknowledged before the crash is still there (append-only file, fsync always).
#[actix_web::test]
async fn stores_fail_closed_while_redis_is_down_and_recover_without_a_restart() {
    let Some(binary) = redis_server_for_suite("redis_stores::fault") else {
        return;
    };
    let mut server = RedisServer::start(&binary).await;
    let redis = RedisConnection::builder(server.url())
        .namespace(unique_namespace())
        .timeout(Duration::from_millis(500))
        .connect()
        .await
        .unwrap();

    // An API whose JWT revocations live in Redis.
    let keys = KeySet::single(Key::generate("fault", Algorithm::ES256).unwrap());
    let issuer = Issuer::builder(keys.clone()).build().unwrap();
    let revocations = Arc::new(RedisRevocationStore::new(&redis, SystemClock::shared()));
    let verifier = Verifier::builder(keys)
        .revocations(revocations.clone())
        .build()
        .unwrap();
    let auth = Authenticate::new(
        JwtAuthenticator::builder(verifier.clone())
            .realm("fault")
            .build()
            .unwrap(),
    );
    let app = TestApp::spawn(move || {
        App::new().service(
            web::scope("/orders")
                .wrap(auth.clone())
                .route("", web::get().to(HttpResponse::Ok)),
        )
    });
    // The other stores, on the same connection.
    let clock = test_clock();
    let sessions = RedisSessionStore::new(&redis, clock.shared());
    let nonces = RedisNonceStore::new(&redis, clock.shared());
    let throttle = RedisThrottle::new(&redis, ThrottlePolicy::default(), clock.shared()).unwrap();
    let subject = ThrottleKey::Subject("erin".into());

    // Before the crash, acknowledged: a revocation, a session, a nonce, failures.
    let revoked = issuer.issue("alice", &json!({})).unwrap();
    let kept = issuer.issue("bob", &json!({})).unwrap();
    assert_eq!(status(&app, &revoked).await, 200);
    let registered = verifier.verify::<Value>(&revoked).await.unwrap().registered;
    verifier.revoke(&registered).await.unwrap();
    assert_eq!(status(&app, &revoked).await, 401);
    let session = session_record(Some("carol"), clock.now(), clock.now() + HOUR);
    sessions.insert(session.clone(), None).await.unwrap();
    let nonce_until = clock.now() + Duration::from_secs(300);
    assert!(nonces.insert_if_absent("k:n1", nonce_until).await.unwrap());
    for _ in 0..5 {
        throttle.record_failure(&subject).await.unwrap();
    }

    server.kill();

    // Down: the API fails closed (503) without hanging, and every store call fails with
    // its trait's error.
    let started = Instant::now();
    assert_eq!(status(&app, &kept).await, 503);
    assert_eq!(status(&app, &revoked).await, 503, "never a pass");
    assert!(started.elapsed() < WAIT, "{:?}", started.elapsed());
    assert!(revocations.is_revoked("x").await.is_err());
    assert!(matches!(
        sessions.load(&session.hash).await,
        Err(auth_session::StoreError::Unavailable(_))
    ));
    assert!(matches!(
        nonces.insert_if_absent("k:n2", nonce_until).await,
        Err(auth_hmac::StoreError::Unavailable(_))
    ));
    assert!(matches!(
        throttle.retry_after(&subject).await,
        Err(ThrottleError::Unavailable(_))
    ));

    server.restart().await;

    // Back: the same app and stores answer again once the connection manager has
    // reconnected (bounded wait).
    let deadline = Instant::now() + WAIT;
    while status(&app, &kept).await != 200 {
        assert!(
            Instant::now() < deadline,
            "no recovery within {WAIT:?} of the restart"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Nothing acknowledged before the crash was lost.
    assert_eq!(status(&app, &revoked).await, 401, "still revoked");
    assert_eq!(sessions.load(&session.hash).await.unwrap(), Some(session));
    assert!(
        !nonces.insert_if_absent("k:n1", nonce_until).await.unwrap(),
        "a replay after the restart is still a replay"
    );
    assert_eq!(
        throttle.retry_after(&subject).await.unwrap(),
        Some(Duration::from_secs(1))
    );

    cleanup(&redis).await;
}
