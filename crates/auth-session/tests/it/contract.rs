//! The `SessionStore` contract: one suite, generic over the store, that every store must
//! pass. The in-memory store runs it here; the Redis store (stores issue) runs the same
//! functions against a live server.
//!
//! [`contract`] needs no control over the store's clock: it asks for the store's current
//! time and tests expiry with records whose `expires_at` has already passed.
//! [`expiry_as_time_moves`] is for stores on a `ManualClock`.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use auth_core::{Clock, ManualClock, Scopes};
use auth_session::{
    CsrfToken, MemoryStore, SessionHash, SessionId, SessionRecord, SessionStore, SessionUpdate,
    StoreError, Touch,
};

use crate::support::clock;

const HOUR: Duration = Duration::from_secs(3600);

fn record(user: Option<&str>, created_at: SystemTime, expires_at: SystemTime) -> SessionRecord {
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

/// Runs every contract check against `store`, whose clock reads `now`.
pub(crate) async fn contract<S: SessionStore>(store: &S, now: SystemTime) {
    round_trip(store, now).await;
    duplicates_are_refused(store, now).await;
    saves_are_key_level_and_never_create(store, now).await;
    touches_never_move_back(store, now).await;
    deletes(store, now).await;
    per_user_listing_and_logout_everywhere(store, now).await;
    the_cap_evicts_the_oldest(store, now).await;
    expired_records_count_as_absent(store, now).await;
}

async fn round_trip<S: SessionStore>(store: &S, now: SystemTime) {
    let user = unique_user("round-trip");
    let stored = record(Some(&user), now, now + HOUR);
    assert_eq!(store.insert(stored.clone(), None).await.unwrap(), []);
    assert_eq!(
        store.load(&stored.hash).await.unwrap(),
        Some(stored.clone())
    );
    let unknown = SessionId::generate().unwrap().hash();
    assert_eq!(store.load(&unknown).await.unwrap(), None);
}

async fn duplicates_are_refused<S: SessionStore>(store: &S, now: SystemTime) {
    let first = record(None, now, now + HOUR);
    store.insert(first.clone(), None).await.unwrap();
    let mut second = record(None, now, now + HOUR);
    second.hash = first.hash;
    assert_eq!(
        store.insert(second, None).await.unwrap_err(),
        StoreError::Duplicate
    );
    assert_eq!(store.load(&first.hash).await.unwrap(), Some(first));
}

async fn saves_are_key_level_and_never_create<S: SessionStore>(store: &S, now: SystemTime) {
    let mut stored = record(None, now, now + HOUR);
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

    // A save never resurrects a deleted session.
    let gone = SessionId::generate().unwrap().hash();
    assert!(!store.save(&gone, &first).await.unwrap());
    assert_eq!(store.load(&gone).await.unwrap(), None);
}

async fn touches_never_move_back<S: SessionStore>(store: &S, now: SystemTime) {
    let stored = record(None, now, now + HOUR);
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
    let stored = record(Some(&unique_user("delete")), now, now + HOUR);
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
        let r = record(Some(&alice), created, created + HOUR);
        store.insert(r.clone(), None).await.unwrap();
        alices.push(r);
    }
    let bobs = record(Some(&bob), now, now + HOUR);
    store.insert(bobs.clone(), None).await.unwrap();
    let anonymous = record(None, now, now + HOUR);
    store.insert(anonymous.clone(), None).await.unwrap();

    let listed: Vec<SessionHash> = store
        .list_user(&alice)
        .await
        .unwrap()
        .iter()
        .map(|i| i.hash)
        .collect();
    assert_eq!(
        listed,
        [alices[1].hash, alices[2].hash, alices[0].hash],
        "oldest first"
    );
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
    let mut hashes = Vec::new();
    for minutes in 0..3 {
        let created = now + Duration::from_secs(minutes * 60);
        let r = record(Some(&user), created, created + HOUR);
        hashes.push(r.hash);
        let evicted = store.insert(r, Some(2)).await.unwrap();
        if minutes < 2 {
            assert_eq!(evicted, []);
        } else {
            assert_eq!(evicted.len(), 1);
            assert_eq!(evicted[0].hash, hashes[0], "the oldest goes");
        }
    }
    let listed: Vec<SessionHash> = store
        .list_user(&user)
        .await
        .unwrap()
        .iter()
        .map(|i| i.hash)
        .collect();
    assert_eq!(listed, hashes[1..]);
    // Anonymous sessions are never capped.
    for _ in 0..3 {
        assert_eq!(
            store
                .insert(record(None, now, now + HOUR), Some(1))
                .await
                .unwrap(),
            []
        );
    }
}

async fn expired_records_count_as_absent<S: SessionStore>(store: &S, now: SystemTime) {
    let user = unique_user("expired");
    let dead = record(Some(&user), now - HOUR, now - Duration::from_secs(1));
    store.insert(dead.clone(), None).await.unwrap();
    assert_eq!(store.load(&dead.hash).await.unwrap(), None);
    let update = SessionUpdate {
        set: BTreeMap::from([("x".into(), "1".into())]),
        ..SessionUpdate::default()
    };
    assert!(!store.save(&dead.hash, &update).await.unwrap());
    assert_eq!(store.list_user(&user).await.unwrap(), []);
    // An expired session does not count against the cap.
    let live = record(Some(&user), now, now + HOUR);
    assert_eq!(store.insert(live, Some(1)).await.unwrap(), []);
}

/// Expiry as the store's clock moves (stores on a `ManualClock`).
pub(crate) async fn expiry_as_time_moves<S: SessionStore>(store: &S, clock: &ManualClock) {
    let now = clock.now();
    let user = unique_user("moving");
    let r = record(Some(&user), now, now + HOUR);
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
}

#[tokio::test]
async fn the_memory_store_keeps_the_contract() {
    let clock = clock();
    let store = MemoryStore::new(clock.shared());
    contract(&store, clock.now()).await;
    expiry_as_time_moves(&store, &clock).await;
}

#[tokio::test]
async fn the_memory_store_is_bounded() {
    let clock = clock();
    let store = MemoryStore::new(clock.shared()).max_sessions(10);
    let now = clock.now();
    let mut hashes = Vec::new();
    for i in 0..25_u64 {
        let r = record(None, now, now + HOUR + Duration::from_secs(i));
        hashes.push(r.hash);
        store.insert(r, None).await.unwrap();
    }
    assert!(store.len() <= 10, "{}", store.len());
    // The sessions closest to expiry went first; the newest is there.
    assert!(store.load(&hashes[24]).await.unwrap().is_some());
    assert_eq!(store.load(&hashes[0]).await.unwrap(), None);
    clock.advance(2 * HOUR);
    assert!(store.sweep() > 0);
    assert!(store.is_empty());
}
