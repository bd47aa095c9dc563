//! The remote JWKS cache against a local JWKS server on 127.0.0.1.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_jwt::{
    Algorithm, Issuer, JwksCachePolicy, JwksLocation, Key, KeySet, KeySource, RemoteJwks, Verifier,
    VerifyError,
};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::support::clock;

/// What the server answers: a status, a body and a Cache-Control value.
#[derive(Clone)]
struct Reply {
    status: u16,
    body: String,
    cache_control: &'static str,
}

struct JwksServer {
    url: String,
    hits: Arc<AtomicUsize>,
    reply: Arc<Mutex<Reply>>,
    /// Served for `/.well-known/*` paths, when set.
    metadata: Arc<Mutex<Option<String>>>,
    /// When set, each response waits for a `notify_one`.
    gate: Arc<Mutex<Option<Arc<Notify>>>>,
    arrived: Arc<Notify>,
}

async fn serve(keys: &KeySet) -> JwksServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let server = JwksServer {
        url,
        hits: Arc::new(AtomicUsize::new(0)),
        reply: Arc::new(Mutex::new(Reply {
            status: 200,
            body: serde_json::to_string(&keys.jwks()).unwrap(),
            cache_control: "public, max-age=600",
        })),
        metadata: Arc::new(Mutex::new(None)),
        gate: Arc::new(Mutex::new(None)),
        arrived: Arc::new(Notify::new()),
    };
    let (hits, reply, gate, arrived, metadata) = (
        server.hits.clone(),
        server.reply.clone(),
        server.gate.clone(),
        server.arrived.clone(),
        server.metadata.clone(),
    );
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let (hits, reply, gate, arrived, metadata) = (
                hits.clone(),
                reply.clone(),
                gate.clone(),
                arrived.clone(),
                metadata.clone(),
            );
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0_u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                hits.fetch_add(1, Ordering::SeqCst);
                arrived.notify_one();
                let waiting = gate.lock().unwrap().clone();
                if let Some(gate) = waiting {
                    gate.notified().await;
                }
                let mut r = reply.lock().unwrap().clone();
                let discovery = String::from_utf8_lossy(&buf).starts_with("GET /.well-known/");
                if let (true, Some(body)) = (discovery, metadata.lock().unwrap().clone()) {
                    r.body = body;
                }
                let response = format!(
                    "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncache-control: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                    r.status,
                    r.cache_control,
                    r.body.len(),
                    r.body
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    server
}

fn policy() -> JwksCachePolicy {
    JwksCachePolicy {
        timeout: Duration::from_secs(5),
        ..JwksCachePolicy::default()
    }
}

fn issuer_keys(kid: &str) -> KeySet {
    KeySet::single(Key::generate(kid, Algorithm::ES256).unwrap())
}

fn token(keys: &KeySet) -> String {
    Issuer::builder(keys.clone())
        .clock(clock().shared())
        .build()
        .unwrap()
        .issue("alice", &())
        .unwrap()
}

#[tokio::test]
async fn an_unknown_kid_triggers_one_fetch_and_the_cooldown_holds() {
    let keys = issuer_keys("k1");
    let server = serve(&keys).await;
    let clock = clock();
    let jwks = Arc::new(
        RemoteJwks::with_policy(
            JwksLocation::Url(server.url.clone()),
            policy(),
            clock.shared(),
        )
        .unwrap(),
    );
    let verifier = Verifier::builder(jwks.clone())
        .clock(clock.shared())
        .build()
        .unwrap();

    assert!(verifier.verify::<Value>(&token(&keys)).await.is_ok());
    assert!(verifier.verify::<Value>(&token(&keys)).await.is_ok());
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        1,
        "cached after the first fetch"
    );

    // Tokens with kids the issuer never published: at most one refetch per cooldown.
    for i in 0..20 {
        assert!(
            jwks.key(Some(&format!("random-{i}")))
                .await
                .unwrap()
                .is_none()
        );
    }
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        1,
        "inside the first cooldown: no fetch"
    );
    clock.advance(Duration::from_secs(31));
    for i in 0..20 {
        assert!(
            jwks.key(Some(&format!("again-{i}")))
                .await
                .unwrap()
                .is_none()
        );
    }
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        2,
        "one refetch after the cooldown"
    );

    // Rotation at the issuer: a new kid is found by the refetch.
    let rotated = issuer_keys("k2");
    server.reply.lock().unwrap().body = serde_json::to_string(&rotated.jwks()).unwrap();
    clock.advance(Duration::from_secs(31));
    assert!(verifier.verify::<Value>(&token(&rotated)).await.is_ok());
    assert_eq!(server.hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn the_last_good_set_is_served_while_the_issuer_is_down() {
    let keys = issuer_keys("k1");
    let server = serve(&keys).await;
    let clock = clock();
    let jwks = RemoteJwks::with_policy(
        JwksLocation::Url(server.url.clone()),
        policy(),
        clock.shared(),
    )
    .unwrap();
    let verifier = Verifier::builder(jwks)
        .clock(clock.shared())
        .build()
        .unwrap();
    assert!(verifier.verify::<Value>(&token(&keys)).await.is_ok());

    server.reply.lock().unwrap().status = 503;
    clock.advance(Duration::from_secs(601)); // past max-age: stale
    assert!(
        verifier.verify::<Value>(&token(&keys)).await.is_ok(),
        "stale set still serves"
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 2, "one refresh attempt");
    assert!(verifier.verify::<Value>(&token(&keys)).await.is_ok());
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        2,
        "no retry inside the cooldown"
    );
}

#[tokio::test]
async fn with_no_set_at_all_an_unreachable_issuer_fails_closed() {
    let keys = issuer_keys("k1");
    let server = serve(&keys).await;
    server.reply.lock().unwrap().status = 500;
    let jwks = RemoteJwks::with_policy(
        JwksLocation::Url(server.url.clone()),
        policy(),
        clock().shared(),
    )
    .unwrap();
    let verifier = Verifier::builder(jwks)
        .clock(clock().shared())
        .build()
        .unwrap();
    assert_eq!(
        verifier.verify::<Value>(&token(&keys)).await.err(),
        Some(VerifyError::Unavailable("jwks"))
    );
}

#[tokio::test]
async fn concurrent_misses_make_one_request() {
    let keys = issuer_keys("k1");
    let server = serve(&keys).await;
    let gate = Arc::new(Notify::new());
    *server.gate.lock().unwrap() = Some(gate.clone());
    let jwks = Arc::new(
        RemoteJwks::with_policy(
            JwksLocation::Url(server.url.clone()),
            policy(),
            clock().shared(),
        )
        .unwrap(),
    );

    let mut tasks = Vec::new();
    for _ in 0..16 {
        let jwks = jwks.clone();
        tasks.push(tokio::spawn(async move { jwks.key(Some("k1")).await }));
    }
    // The first request reached the server; let every other caller reach the lock.
    server.arrived.notified().await;
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    gate.notify_one();
    for task in tasks {
        assert!(task.await.unwrap().unwrap().is_some());
    }
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    assert_eq!(jwks.fetch_count(), 1);
}

#[tokio::test]
async fn discovery_reads_jwks_uri_and_checks_the_issuer() {
    let keys = issuer_keys("k1");
    let server = serve(&keys).await;
    let base = server.url.trim_end_matches("/jwks.json").to_owned();
    let metadata = serde_json::json!({"issuer": base, "jwks_uri": server.url}).to_string();
    *server.metadata.lock().unwrap() = Some(metadata);
    let jwks = RemoteJwks::with_policy(
        JwksLocation::Issuer(base.clone()),
        policy(),
        clock().shared(),
    )
    .unwrap();
    assert!(jwks.key(Some("k1")).await.unwrap().is_some());
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        2,
        "metadata then jwks_uri"
    );

    let wrong =
        serde_json::json!({"issuer": "https://someone.else", "jwks_uri": server.url}).to_string();
    *server.metadata.lock().unwrap() = Some(wrong);
    let jwks =
        RemoteJwks::with_policy(JwksLocation::Issuer(base), policy(), clock().shared()).unwrap();
    assert_eq!(
        jwks.key(Some("k1")).await.err(),
        Some(VerifyError::Unavailable("jwks"))
    );
}
