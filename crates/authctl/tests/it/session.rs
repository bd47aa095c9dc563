//! `session list | revoke` against Redis, in a namespace of the run's own: sessions written
//! by auth-session's `RedisSessionStore` are listed and ended by the CLI.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use auth_core::{Scopes, SystemClock};
use auth_session::{CsrfToken, RedisSessionStore, SessionId, SessionRecord, SessionStore as _};
use auth_tests::redis_support::with_redis;

use crate::support::{authctl, blocking};

fn record(user: &str, age: Duration) -> SessionRecord {
    let now = SystemTime::now();
    let created = now - age;
    SessionRecord {
        hash: SessionId::generate().unwrap().hash(),
        user: Some(user.to_owned()),
        scopes: Scopes::new(),
        created_at: created,
        authenticated_at: Some(created),
        last_seen: now,
        expires_at: now + Duration::from_secs(3600),
        csrf_token: CsrfToken::generate().unwrap(),
        data: BTreeMap::new(),
    }
}

fn session(url: &str, namespace: &str, args: &[&str]) -> crate::support::Cli {
    authctl(["--json", "session"])
        .args(args)
        .env("AUTHCTL_REDIS", url)
        .env("AUTHCTL_REDIS_NAMESPACE", namespace)
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_are_listed_and_ended_one_or_all() {
    with_redis("authctl session (redis)", |test| async move {
        let store = RedisSessionStore::new(&test.redis, SystemClock::shared());
        let older = record("alice", Duration::from_secs(120));
        let newer = record("alice", Duration::from_secs(60));
        let bob = record("bob", Duration::from_secs(10));
        for r in [&older, &newer, &bob] {
            store.insert(r.clone(), None).await.unwrap();
        }
        let namespace = test.redis.namespace().to_owned();
        let url = test.url.clone();

        let (u, n) = (url.clone(), namespace.clone());
        let listed =
            blocking(move || session(&u, &n, &["list", "--user", "alice"]).run().ok()).await;
        let sessions = listed.json()["sessions"].as_array().unwrap().clone();
        let fingerprints: Vec<&str> = sessions
            .iter()
            .map(|s| s["fingerprint"].as_str().unwrap())
            .collect();
        assert_eq!(
            fingerprints,
            [older.hash.fingerprint(), newer.hash.fingerprint()],
            "oldest first"
        );
        // Fingerprints only: never the store key.
        assert!(!listed.stdout.contains(&older.hash.to_hex()));

        // One session, by fingerprint.
        let (u, n, f) = (url.clone(), namespace.clone(), older.hash.fingerprint());
        let out = blocking(move || {
            session(&u, &n, &["revoke", "--user", "alice", "--session", &f])
                .run()
                .ok()
        })
        .await;
        assert_eq!(out.json()["ended"], 1);
        assert!(store.load(&older.hash).await.unwrap().is_none());
        assert!(store.load(&newer.hash).await.unwrap().is_some());

        // Someone else's session cannot be ended under alice's name.
        let (u, n, f) = (url.clone(), namespace.clone(), bob.hash.fingerprint());
        let out = blocking(move || {
            session(&u, &n, &["revoke", "--user", "alice", "--session", &f])
                .run()
                .code(1)
        })
        .await;
        assert_eq!(out.error_json()["reason"], "unknown_session");
        assert!(store.load(&bob.hash).await.unwrap().is_some());

        // All of them.
        let (u, n) = (url.clone(), namespace.clone());
        let out = blocking(move || {
            session(&u, &n, &["revoke", "--user", "alice", "--all"])
                .run()
                .ok()
        })
        .await;
        assert_eq!(out.json()["ended"], 1);
        assert!(store.list_user("alice").await.unwrap().is_empty());
        assert!(
            store.load(&bob.hash).await.unwrap().is_some(),
            "other users keep theirs"
        );

        // Text output for people.
        let (u, n) = (url.clone(), namespace.clone());
        let text = blocking(move || {
            authctl([
                "session",
                "list",
                "--user",
                "bob",
                "--namespace",
                &n,
                "--redis",
                &u,
            ])
            .run()
            .ok()
            .stdout
        })
        .await;
        assert!(
            text.contains("FINGERPRINT") && text.contains(&bob.hash.fingerprint()),
            "{text}"
        );
    })
    .await;
}

#[test]
fn revoke_needs_a_session_or_all() {
    authctl([
        "session",
        "revoke",
        "--user",
        "alice",
        "--redis",
        "redis://127.0.0.1:1",
    ])
    .run()
    .code(2);
}
