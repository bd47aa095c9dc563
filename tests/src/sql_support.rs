//! Support for the SQL store suites: the contracts every [`UserStore`] and [`KeyStore`]
//! must meet (run against the memory stores, SQLite and PostgreSQL, so the three behave the
//! same), per-test databases ([`SqliteDb`], [`PgDb`]), a raw view of the tables for the
//! "only hashes are stored" checks ([`RawDb`]), and a TCP switch in front of PostgreSQL to
//! take the database away and bring it back ([`TcpSwitch`]).
//!
//! Time comes from a [`ManualClock`]; nothing sleeps on the wall clock.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_apikey::{
    ApiKeyAuthenticator, KeyHash, KeyManager, KeyMetadata, KeyRecord, KeyStore, NewKey,
    StoreError as KeyStoreError,
};
use auth_basic::{
    Argon2Hasher, Argon2Params, BasicAuthenticator, BasicCredentials, BasicUser, Error,
    MemoryUserStore, PasswordHasher, SqlUserStore, UserRecord, UserStore, Verification,
};
use auth_core::{
    AuthRequest, Clock, HeaderList, ManualClock, Outcome, Principal, Rejection, Scopes,
    async_trait, authenticate,
};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{Column as _, Executor as _, Row as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

use crate::services::POSTGRES;

// ---------------------------------------------------------------------------------------
// The user store contract
// ---------------------------------------------------------------------------------------

/// The management operations every user store offers (the memory store's are synchronous,
/// the SQL store's asynchronous), so one contract runs over both.
#[async_trait]
pub trait UserAdmin: UserStore {
    /// Adds (or replaces) `username`, id = user name.
    async fn add_user(
        &self,
        hasher: &dyn PasswordHasher,
        username: &str,
        password: &str,
        scopes: &str,
    ) -> Result<(), Error>;
    /// Adds or replaces `record` (by user name).
    async fn insert_record(&self, record: UserRecord) -> Result<(), Error>;
    /// Sets a new password.
    async fn set_password(
        &self,
        hasher: &dyn PasswordHasher,
        username: &str,
        password: &str,
    ) -> Result<(), Error>;
    /// Disables; whether the user exists.
    async fn disable(&self, username: &str) -> Result<bool, Error>;
    /// Enables; whether the user exists.
    async fn enable(&self, username: &str) -> Result<bool, Error>;
    /// Removes; whether the user existed.
    async fn remove(&self, username: &str) -> Result<bool, Error>;
    /// Number of users.
    async fn count(&self) -> Result<u64, Error>;
}

#[async_trait]
impl UserAdmin for MemoryUserStore {
    async fn add_user(
        &self,
        hasher: &dyn PasswordHasher,
        username: &str,
        password: &str,
        scopes: &str,
    ) -> Result<(), Error> {
        MemoryUserStore::add_user(self, hasher, username, password, scopes)
    }
    async fn insert_record(&self, record: UserRecord) -> Result<(), Error> {
        self.insert(record);
        Ok(())
    }
    async fn set_password(
        &self,
        hasher: &dyn PasswordHasher,
        username: &str,
        password: &str,
    ) -> Result<(), Error> {
        MemoryUserStore::set_password(self, hasher, username, password)
    }
    async fn disable(&self, username: &str) -> Result<bool, Error> {
        Ok(MemoryUserStore::disable(self, username))
    }
    async fn enable(&self, username: &str) -> Result<bool, Error> {
        Ok(MemoryUserStore::enable(self, username))
    }
    async fn remove(&self, username: &str) -> Result<bool, Error> {
        Ok(MemoryUserStore::remove(self, username))
    }
    async fn count(&self) -> Result<u64, Error> {
        Ok(self.len() as u64)
    }
}

#[async_trait]
impl UserAdmin for SqlUserStore {
    async fn add_user(
        &self,
        hasher: &dyn PasswordHasher,
        username: &str,
        password: &str,
        scopes: &str,
    ) -> Result<(), Error> {
        SqlUserStore::add_user(self, hasher, username, password, scopes).await
    }
    async fn insert_record(&self, record: UserRecord) -> Result<(), Error> {
        self.insert(&record).await
    }
    async fn set_password(
        &self,
        hasher: &dyn PasswordHasher,
        username: &str,
        password: &str,
    ) -> Result<(), Error> {
        SqlUserStore::set_password(self, hasher, username, password).await
    }
    async fn disable(&self, username: &str) -> Result<bool, Error> {
        SqlUserStore::disable(self, username).await
    }
    async fn enable(&self, username: &str) -> Result<bool, Error> {
        SqlUserStore::enable(self, username).await
    }
    async fn remove(&self, username: &str) -> Result<bool, Error> {
        SqlUserStore::remove(self, username).await
    }
    async fn count(&self) -> Result<u64, Error> {
        SqlUserStore::count(self).await
    }
}

/// A hasher with test parameters (fast, weaker than the policy: logins rehash).
#[must_use]
pub fn fast_hasher() -> Argon2Hasher {
    Argon2Hasher::new(Argon2Params::insecure_fast_for_tests())
}

fn verifies(hash: &str, password: &str) -> bool {
    matches!(
        fast_hasher().verify(password.as_bytes(), hash),
        Ok(Verification::Valid { .. })
    )
}

async fn hash_of<S: UserAdmin + ?Sized>(store: &S, username: &str) -> String {
    store
        .find(username)
        .await
        .expect("find")
        .expect("the user exists")
        .password_hash
}

/// What every user store does: exact look-ups, management operations with the memory
/// store's results, `update_hash` by id, replacement by user name, UTF-8 names.
///
/// # Panics
///
/// When the store breaks the contract.
pub async fn user_store_contract<S: UserAdmin + ?Sized>(store: &S) {
    let hasher = fast_hasher();
    assert_eq!(store.count().await.unwrap(), 0);
    assert_eq!(store.find("alice").await.unwrap(), None);

    store
        .add_user(&hasher, "alice", "pw-1", "orders:read orders:write")
        .await
        .unwrap();
    let alice = store.find("alice").await.unwrap().expect("alice");
    assert_eq!(
        (alice.id.as_str(), alice.username.as_str()),
        ("alice", "alice")
    );
    assert_eq!(alice.scopes.to_string(), "orders:read orders:write");
    assert!(!alice.disabled);
    assert!(alice.password_hash.starts_with("$argon2id$"));
    assert!(verifies(&alice.password_hash, "pw-1"));

    // Exact, case-sensitive names.
    for other in ["Alice", "alice ", "alic", "ALICE"] {
        assert_eq!(store.find(other).await.unwrap(), None, "{other:?}");
    }

    // Input checks.
    assert!(matches!(
        store.add_user(&hasher, "a:b", "pw", "").await,
        Err(Error::Config(_))
    ));
    assert!(matches!(
        store.add_user(&hasher, "", "pw", "").await,
        Err(Error::Config(_))
    ));
    assert!(matches!(
        store.add_user(&hasher, "bob", "pw", "bad\"scope").await,
        Err(Error::Config(_))
    ));
    assert_eq!(store.count().await.unwrap(), 1);

    // update_hash by id, only over the hash the login saw; an unknown id changes nothing.
    let current = hash_of(store, "alice").await;
    let rehashed = hasher.hash(b"pw-1").unwrap();
    assert!(
        !store
            .update_hash("alice", &rehashed, &rehashed)
            .await
            .unwrap()
    );
    assert_eq!(
        hash_of(store, "alice").await,
        current,
        "a stale hash changes nothing"
    );
    assert!(
        store
            .update_hash("alice", &current, &rehashed)
            .await
            .unwrap()
    );
    assert_eq!(hash_of(store, "alice").await, rehashed);
    assert!(
        !store
            .update_hash("nobody", &current, &rehashed)
            .await
            .unwrap()
    );
    assert_eq!(store.count().await.unwrap(), 1);

    // Passwords.
    store.set_password(&hasher, "alice", "pw-2").await.unwrap();
    assert!(verifies(&hash_of(store, "alice").await, "pw-2"));
    assert!(!verifies(&hash_of(store, "alice").await, "pw-1"));
    assert_eq!(
        store.set_password(&hasher, "bob", "pw").await,
        Err(Error::UnknownUser)
    );

    // Disable, enable.
    assert!(store.disable("alice").await.unwrap());
    assert!(store.find("alice").await.unwrap().unwrap().disabled);
    assert!(store.enable("alice").await.unwrap());
    assert!(!store.find("alice").await.unwrap().unwrap().disabled);
    assert!(!store.disable("bob").await.unwrap());
    assert!(!store.enable("bob").await.unwrap());

    // Adding an existing name replaces the user: new hash and scopes, enabled.
    store.disable("alice").await.unwrap();
    store
        .add_user(&hasher, "alice", "pw-3", "profile:read")
        .await
        .unwrap();
    let alice = store.find("alice").await.unwrap().unwrap();
    assert_eq!(alice.scopes.to_string(), "profile:read");
    assert!(!alice.disabled);
    assert!(verifies(&alice.password_hash, "pw-3"));
    assert_eq!(store.count().await.unwrap(), 1);

    // Records with their own id (a renamed user keeps it); UTF-8 names.
    let dave = UserRecord {
        id: "u-42".into(),
        username: "zoë.dave".into(),
        password_hash: hasher.hash(b"pw-d").unwrap(),
        scopes: "a b".parse().unwrap(),
        disabled: true,
    };
    store.insert_record(dave.clone()).await.unwrap();
    assert_eq!(store.find("zoë.dave").await.unwrap(), Some(dave.clone()));
    let new_hash = hasher.hash(b"pw-e").unwrap();
    assert!(
        store
            .update_hash("u-42", &dave.password_hash, &new_hash)
            .await
            .unwrap()
    );
    assert_eq!(hash_of(store, "zoë.dave").await, new_hash);
    assert_eq!(store.count().await.unwrap(), 2);

    // Removal.
    assert!(store.remove("zoë.dave").await.unwrap());
    assert!(!store.remove("zoë.dave").await.unwrap());
    assert_eq!(store.find("zoë.dave").await.unwrap(), None);
    assert_eq!(store.count().await.unwrap(), 1);
}

/// A `GET /` with Basic credentials.
fn basic_headers(username: &str, password: &str) -> HeaderList {
    HeaderList::new().with(
        "Authorization",
        BasicCredentials::new(username, password).header_value(),
    )
}

/// Runs `authenticator` on a `GET /` carrying `headers`.
async fn run<A: auth_core::Authenticator>(authenticator: &A, headers: &HeaderList) -> Outcome {
    authenticate(authenticator, &AuthRequest::new("GET", "/", headers)).await
}

/// The principal, or a panic naming the rejection.
pub fn authenticated(outcome: Outcome) -> Principal {
    match outcome {
        Outcome::Authenticated(principal) => principal,
        other => panic!("expected success, got {other:?}"),
    }
}

/// The rejection, or a panic.
#[must_use]
pub fn rejected(outcome: Outcome) -> Rejection {
    match outcome {
        Outcome::Rejected(rejection) => rejection,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// A Basic login with `username` and `password` through a fresh [`BasicAuthenticator`]
/// over `store` (test hashing parameters, no throttle): for the outage tests.
///
/// # Panics
///
/// When the authenticator cannot be built.
pub async fn basic_login(store: Arc<dyn UserStore>, username: &str, password: &str) -> Outcome {
    let basic = BasicAuthenticator::builder(store)
        .hasher(Arc::new(fast_hasher()))
        .insecure_without_throttle()
        .build()
        .expect("authenticator");
    run(&basic, &basic_headers(username, password)).await
}

/// [`BasicAuthenticator`] end to end over `store`: a login works with the user's id and
/// scopes; the weak stored hash is rehashed to the OWASP policy on login and written back
/// (and still works); wrong password, unknown and disabled users get the same 401 with
/// their own audit reasons.
///
/// # Panics
///
/// When a step does not behave as with the memory store.
pub async fn basic_login_contract<S: UserAdmin>(store: Arc<S>) {
    store
        .add_user(&fast_hasher(), "alice", "correct horse", "orders:read")
        .await
        .unwrap();
    // The policy (OWASP) is stronger than the stored hash (test parameters).
    let basic = BasicAuthenticator::builder(store.clone())
        .hasher(Arc::new(Argon2Hasher::default()))
        .build()
        .unwrap();

    let principal = authenticated(run(&basic, &basic_headers("alice", "correct horse")).await);
    assert_eq!(principal.subject(), "alice");
    assert!(principal.scopes().contains("orders:read"));
    assert_eq!(
        principal
            .extension::<BasicUser>()
            .map(|u| u.username.as_str()),
        Some("alice")
    );

    // Rehash on login, written back through update_hash.
    let stored = hash_of(&*store, "alice").await;
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "rehashed to the policy: {stored}"
    );
    authenticated(run(&basic, &basic_headers("alice", "correct horse")).await);
    assert_eq!(hash_of(&*store, "alice").await, stored, "no second rehash");

    let wrong = rejected(run(&basic, &basic_headers("alice", "wrong")).await);
    let unknown = rejected(run(&basic, &basic_headers("mallory", "x")).await);
    store.disable("alice").await.unwrap();
    let disabled = rejected(run(&basic, &basic_headers("alice", "correct horse")).await);
    for (rejection, reason) in [
        (&wrong, "wrong_password"),
        (&unknown, "unknown_user"),
        (&disabled, "user_disabled"),
    ] {
        assert_eq!(rejection.status(), 401);
        assert_eq!(rejection.reason(), reason);
        assert_eq!(rejection.json_body(), wrong.json_body());
    }
}

// ---------------------------------------------------------------------------------------
// The key store contract
// ---------------------------------------------------------------------------------------

/// `UNIX_EPOCH + secs`.
#[must_use]
pub fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// A bare record: hash `[n; 32]`, id `key_<n>`, created at second `n`.
#[must_use]
pub fn record(n: u8, owner: &str) -> KeyRecord {
    KeyRecord::new(
        KeyHash::from_bytes([n; 32]),
        KeyMetadata::new(
            format!("key_{n}"),
            owner,
            "n",
            Scopes::new(),
            at(u64::from(n)),
        ),
    )
}

async fn ids_of<S: KeyStore + ?Sized>(store: &S, owner: &str) -> Vec<String> {
    store
        .list_by_owner(owner)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect()
}

/// What every key store does, call by call, as [`auth_apikey::MemoryKeyStore`] does it:
/// exact round trips (to the microsecond), O(1) look-ups, listings oldest first,
/// duplicates refused, and only one-way updates (`touch` forward and at most once per
/// interval, the first revocation stays, expiry only closer, rotation once, atomically).
///
/// # Panics
///
/// When the store breaks the contract.
pub async fn key_store_contract<S: KeyStore + ?Sized>(store: &S) {
    // Round trip of every field.
    let mut full = record(9, "alice");
    full.metadata.name = "nightly export ✓".into();
    full.metadata.scopes = "invoices:read invoices:write".parse().unwrap();
    full.metadata.created_at = at(1_700_000_000) + Duration::from_micros(123_456);
    full.metadata.expires_at = Some(at(1_800_000_000));
    full.metadata.last_used_at = Some(at(1_700_000_060));
    full.metadata.rotated_from = Some("key_0".into());
    store.insert(full.clone()).await.unwrap();
    assert_eq!(
        store
            .find_by_hash(&KeyHash::from_bytes([9; 32]))
            .await
            .unwrap(),
        Some(full.clone())
    );
    assert_eq!(
        store.find_by_id("key_9").await.unwrap(),
        Some(full.metadata.clone())
    );

    // Listing: by owner, oldest first, ties by id (byte order: "key_B" < "key_a").
    store.insert(record(2, "alice")).await.unwrap();
    store.insert(record(1, "alice")).await.unwrap();
    store.insert(record(3, "bob")).await.unwrap();
    let mut tie_upper = record(20, "carol");
    tie_upper.metadata.id = "key_B".into();
    let mut tie_lower = record(21, "carol");
    tie_lower.metadata.id = "key_a".into();
    tie_lower.metadata.created_at = tie_upper.metadata.created_at;
    store.insert(tie_lower).await.unwrap();
    store.insert(tie_upper).await.unwrap();
    assert_eq!(ids_of(store, "alice").await, ["key_1", "key_2", "key_9"]);
    assert_eq!(ids_of(store, "carol").await, ["key_B", "key_a"]);
    assert!(ids_of(store, "nobody").await.is_empty());
    assert!(
        store
            .find_by_hash(&KeyHash::from_bytes([99; 32]))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.find_by_id("key_99").await.unwrap().is_none());

    // Duplicates: same hash, or same id.
    assert_eq!(
        store.insert(record(1, "mallory")).await,
        Err(KeyStoreError::Duplicate)
    );
    let mut same_id = record(50, "mallory");
    same_id.metadata.id = "key_1".into();
    assert_eq!(store.insert(same_id).await, Err(KeyStoreError::Duplicate));
    assert!(ids_of(store, "mallory").await.is_empty());

    // expire_by only brings the expiry closer.
    let meta = store.expire_by("key_1", at(100)).await.unwrap().unwrap();
    assert_eq!(meta.expires_at, Some(at(100)));
    let meta = store.expire_by("key_1", at(200)).await.unwrap().unwrap();
    assert_eq!(meta.expires_at, Some(at(100)), "never extended");
    let meta = store.expire_by("key_1", at(50)).await.unwrap().unwrap();
    assert_eq!(meta.expires_at, Some(at(50)));
    assert!(store.expire_by("key_99", at(1)).await.unwrap().is_none());

    // The first revocation stays.
    let first = store.revoke("key_2", at(50)).await.unwrap().unwrap();
    let second = store.revoke("key_2", at(60)).await.unwrap().unwrap();
    assert_eq!(first.revoked_at, Some(at(50)));
    assert_eq!(second.revoked_at, Some(at(50)), "the first time stays");
    assert!(store.revoke("key_99", at(1)).await.unwrap().is_none());

    // touch: forward only, at most once per interval.
    assert!(store.touch("key_3", at(100), at(100)).await.unwrap());
    assert!(
        !store.touch("key_3", at(130), at(70)).await.unwrap(),
        "same minute"
    );
    assert!(store.touch("key_3", at(161), at(101)).await.unwrap());
    assert!(
        !store.touch("key_3", at(150), at(200)).await.unwrap(),
        "never backwards"
    );
    assert!(!store.touch("key_99", at(1), at(1)).await.unwrap());
    let meta = store.find_by_id("key_3").await.unwrap().unwrap();
    assert_eq!(meta.last_used_at, Some(at(161)));

    // rotate: mark and insert in one step, once.
    let mut old = record(30, "dora");
    old.metadata.expires_at = Some(at(300));
    store.insert(old).await.unwrap();
    let mut successor = record(31, "dora");
    successor.metadata.rotated_from = Some("key_30".into());
    let marked = store
        .rotate("key_30", successor.clone(), at(500))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(marked.rotated_to.as_deref(), Some("key_31"));
    assert_eq!(marked.expires_at, Some(at(300)), "an earlier expiry stays");
    assert_eq!(
        store.find_by_id("key_31").await.unwrap(),
        Some(successor.metadata)
    );
    assert_eq!(
        store.rotate("key_30", record(32, "dora"), at(600)).await,
        Err(KeyStoreError::Conflict("the key was already rotated"))
    );
    assert_eq!(
        store.rotate("key_2", record(33, "alice"), at(600)).await,
        Err(KeyStoreError::Conflict("the key is revoked"))
    );
    assert_eq!(
        store.rotate("key_99", record(34, "dora"), at(600)).await,
        Ok(None)
    );
    // A grace deadline sooner than the expiry brings it forward.
    let meta = store
        .rotate("key_31", record(35, "dora"), at(400))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(meta.expires_at, Some(at(400)));
    // A duplicate successor: refused, and the old key is left as it was.
    store.insert(record(40, "erin")).await.unwrap();
    assert_eq!(
        store.rotate("key_40", record(35, "erin"), at(600)).await,
        Err(KeyStoreError::Duplicate)
    );
    let untouched = store.find_by_id("key_40").await.unwrap().unwrap();
    assert_eq!((untouched.rotated_to, untouched.expires_at), (None, None));
    for missing in ["key_32", "key_33", "key_34"] {
        assert!(
            store.find_by_id(missing).await.unwrap().is_none(),
            "{missing}"
        );
    }
    assert_eq!(ids_of(store, "dora").await, ["key_30", "key_31", "key_35"]);
}

/// Concurrent updates through `store` stay one-way: of eight simultaneous rotations of one
/// key exactly one wins (the others see a conflict and insert nothing), and of eight
/// simultaneous `touch`es with the same interval exactly one writes.
///
/// # Panics
///
/// When the store lets two rotations or two touches through.
pub async fn key_store_concurrency_contract<S: KeyStore>(store: Arc<S>) {
    store.insert(record(1, "race")).await.unwrap();
    let rotations: Vec<_> = (0..8_u8)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .rotate("key_1", record(100 + i, "race"), at(900))
                    .await
            })
        })
        .collect();
    let mut wins = 0;
    for handle in rotations {
        match handle.await.expect("task") {
            Ok(Some(_)) => wins += 1,
            Err(KeyStoreError::Conflict(_)) => {}
            other => panic!("unexpected rotation result {other:?}"),
        }
    }
    assert_eq!(wins, 1, "exactly one rotation wins");
    assert_eq!(ids_of(&*store, "race").await.len(), 2, "one successor");

    store.insert(record(2, "race")).await.unwrap();
    let touches: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.touch("key_2", at(1_000), at(940)).await })
        })
        .collect();
    let mut writes = 0;
    for handle in touches {
        if handle.await.expect("task").expect("touch") {
            writes += 1;
        }
    }
    assert_eq!(writes, 1, "a burst writes last_used_at once");
}

/// The start of the lifecycle tests' clock: 2023-11-14T22:13:20Z.
#[must_use]
pub fn start() -> SystemTime {
    at(1_700_000_000)
}

const DAY: Duration = Duration::from_secs(86_400);

fn key_headers(key: &str) -> HeaderList {
    HeaderList::new().with("X-API-Key", key)
}

/// An API key check through a fresh [`ApiKeyAuthenticator`] over `store`: for the outage
/// tests.
///
/// # Panics
///
/// When the manager or authenticator cannot be built.
pub async fn apikey_check(store: impl KeyStore, key: &str) -> Outcome {
    let keys = KeyManager::builder(store, "acme_test")
        .build()
        .expect("manager");
    let authenticator = ApiKeyAuthenticator::builder(keys)
        .build()
        .expect("authenticator");
    run(&authenticator, &key_headers(key)).await
}

/// [`KeyManager`] and [`ApiKeyAuthenticator`] end to end over `store`, on a test clock: a
/// key works with its owner, scopes and id; `last_used_at` is written at most once a
/// minute; rotation keeps both keys working through the grace period, then refuses the
/// old one (`rotated_key`); revocation and expiry refuse at once (`revoked_key`,
/// `expired_key`), all with the same 401; a revoked key cannot be rotated.
///
/// # Panics
///
/// When a step does not behave as with the memory store.
pub async fn key_lifecycle_contract<S: KeyStore>(store: Arc<S>) {
    let clock = ManualClock::new(start());
    let keys = KeyManager::builder(Arc::clone(&store), "acme_test")
        .clock(clock.shared())
        .build()
        .unwrap();
    let authenticator = ApiKeyAuthenticator::builder(keys.clone()).build().unwrap();
    let check = |key: String| {
        let authenticator = &authenticator;
        async move { run(authenticator, &key_headers(&key)).await }
    };

    let created = keys
        .create(
            NewKey::new("billing", "export")
                .scopes("invoices:read".parse().unwrap())
                .expires_in(30 * DAY),
        )
        .await
        .unwrap();
    let key = created.key.expose_secret().to_owned();
    let id = created.metadata.id.clone();
    let principal = authenticated(check(key.clone()).await);
    assert_eq!(principal.subject(), "billing");
    assert!(principal.scopes().contains("invoices:read"));
    assert_eq!(principal.key_id(), Some(id.as_str()));
    let stored = keys.get(&id).await.unwrap();
    assert_eq!(stored.created_at, clock.now());
    assert_eq!(stored.expires_at, Some(clock.now() + 30 * DAY));

    // last_used_at: written on first use, then at most once a minute.
    assert_eq!(keys.get(&id).await.unwrap().last_used_at, Some(start()));
    clock.advance(Duration::from_secs(30));
    authenticated(check(key.clone()).await);
    assert_eq!(keys.get(&id).await.unwrap().last_used_at, Some(start()));
    clock.advance(Duration::from_secs(31));
    authenticated(check(key.clone()).await);
    assert_eq!(keys.get(&id).await.unwrap().last_used_at, Some(clock.now()));

    // Rotation with a day of grace.
    let successor = keys.rotate(&id, DAY).await.unwrap();
    let new_key = successor.key.expose_secret().to_owned();
    assert_eq!(
        successor.metadata.rotated_from.as_deref(),
        Some(id.as_str())
    );
    authenticated(check(key.clone()).await);
    authenticated(check(new_key.clone()).await);
    clock.advance(DAY);
    let rotated = rejected(check(key.clone()).await);
    assert_eq!((rotated.status(), rotated.reason()), (401, "rotated_key"));
    assert_eq!(rotated.key_id(), Some(id.as_str()));
    authenticated(check(new_key.clone()).await);

    // Revocation: refused from the next request on.
    keys.revoke(&successor.metadata.id).await.unwrap();
    let revoked = rejected(check(new_key.clone()).await);
    assert_eq!((revoked.status(), revoked.reason()), (401, "revoked_key"));
    assert!(matches!(
        keys.rotate(&successor.metadata.id, DAY).await,
        Err(auth_apikey::Error::NotRotatable { .. })
    ));

    // Expiry, now.
    let third = keys.create(NewKey::new("billing", "adhoc")).await.unwrap();
    authenticated(check(third.key.expose_secret().to_owned()).await);
    keys.expire(&third.metadata.id).await.unwrap();
    let expired = rejected(check(third.key.expose_secret().to_owned()).await);
    assert_eq!((expired.status(), expired.reason()), (401, "expired_key"));

    let unknown =
        rejected(check(keys.format().generate().unwrap().expose_secret().to_owned()).await);
    assert_eq!(unknown.reason(), "unknown_key");
    for rejection in [&rotated, &revoked, &expired] {
        assert_eq!(rejection.json_body(), unknown.json_body(), "the same 401");
    }

    let listed: Vec<String> = keys
        .list_by_owner("billing")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(
        listed,
        [id, successor.metadata.id.clone(), third.metadata.id.clone()]
    );
}

// ---------------------------------------------------------------------------------------
// Databases for the tests
// ---------------------------------------------------------------------------------------

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// A name no other test (of this or another run) uses: pid, a counter and the clock.
fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}_{}_{}_{nanos:x}",
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::SeqCst)
    )
}

/// A SQLite database in a temporary file of its own, deleted (with its WAL files) on drop.
#[derive(Debug)]
pub struct SqliteDb {
    path: PathBuf,
    /// `sqlite:<path>`.
    pub url: String,
    /// A pool for set-up and raw inspection.
    pub pool: SqlitePool,
}

impl SqliteDb {
    /// A new, empty database file.
    ///
    /// # Panics
    ///
    /// When the file cannot be created.
    pub async fn new() -> Self {
        let path = std::env::temp_dir().join(format!("{}.db", unique("auth_sql_test")));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(
                SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true),
            )
            .await
            .expect("create the SQLite file");
        let url = format!("sqlite:{}", path.display());
        Self { path, url, pool }
    }

    /// A raw view of the tables.
    #[must_use]
    pub fn raw(&self) -> RawDb {
        RawDb::Sqlite(self.pool.clone())
    }
}

impl Drop for SqliteDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut path = self.path.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A schema of its own in the test PostgreSQL database (`auth_test_<pid>_<n>_<nanos>`),
/// with a pool whose connections use it (`search_path`). Dropped by [`with_postgres`].
#[derive(Debug, Clone)]
pub struct PgDb {
    /// The server's URL (no schema in it).
    pub url: String,
    /// The schema's name.
    pub schema: String,
    /// A pool whose connections work in the schema.
    pub pool: PgPool,
    admin: PgPool,
}

impl PgDb {
    async fn create(url: &str) -> Self {
        let schema = unique("auth_test");
        let options = PgConnectOptions::from_str(url).expect("AUTH_TEST_POSTGRES_URL");
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
            .expect("connect to PostgreSQL");
        sqlx::raw_sql(&format!("CREATE SCHEMA {schema}"))
            .execute(&admin)
            .await
            .expect("create the test schema");
        let pool = PgPoolOptions::new()
            .max_connections(12)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.options([("search_path", &schema)]))
            .await
            .expect("connect to PostgreSQL in the schema");
        Self {
            url: url.to_owned(),
            schema,
            pool,
            admin,
        }
    }

    async fn drop_schema(&self) {
        self.pool.close().await;
        let dropped = sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema))
            .execute(&self.admin)
            .await;
        if let Err(error) = dropped {
            eprintln!("could not drop test schema {}: {error}", self.schema);
        }
        self.admin.close().await;
    }

    /// A raw view of the tables.
    #[must_use]
    pub fn raw(&self) -> RawDb {
        RawDb::Postgres(self.pool.clone())
    }
}

/// Runs `test` with a fresh schema when PostgreSQL answers (else prints why the suite is
/// skipped, or fails under `AUTH_REQUIRE_SERVICES=1`), and drops the schema afterwards,
/// also when the test fails.
///
/// # Panics
///
/// When the test panics (its panic, after the clean-up), or PostgreSQL is required and
/// unreachable.
pub async fn with_postgres<F, Fut>(suite: &str, test: F)
where
    F: FnOnce(PgDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(url) = POSTGRES.for_suite(suite) else {
        return;
    };
    let db = PgDb::create(&url).await;
    let outcome = tokio::spawn(test(db.clone())).await;
    db.drop_schema().await;
    if let Err(error) = outcome {
        match error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(error) => panic!("{suite}: the test task failed: {error}"),
        }
    }
}

/// Direct access to a store's tables, to check what is really stored.
#[derive(Debug, Clone)]
pub enum RawDb {
    /// SQLite.
    Sqlite(SqlitePool),
    /// PostgreSQL (in the test schema).
    Postgres(PgPool),
}

impl RawDb {
    /// Every row of `table`, each as text: every column, whatever its type (blobs as
    /// lower-case hex).
    ///
    /// # Panics
    ///
    /// When the query fails.
    pub async fn dump(&self, table: &str) -> Vec<String> {
        match self {
            RawDb::Postgres(pool) => {
                sqlx::query_scalar(&format!("SELECT row_to_json(t)::text FROM {table} t"))
                    .fetch_all(pool)
                    .await
                    .expect("dump")
            }
            RawDb::Sqlite(pool) => {
                let rows = sqlx::query(&format!("SELECT * FROM {table}"))
                    .fetch_all(pool)
                    .await
                    .expect("dump");
                rows.iter()
                    .map(|row| {
                        let cells: Vec<String> = (0..row.columns().len())
                            .map(|i| {
                                let name = row.columns()[i].name();
                                let value = if let Ok(text) = row.try_get::<Option<String>, _>(i) {
                                    format!("{text:?}")
                                } else if let Ok(number) = row.try_get::<Option<i64>, _>(i) {
                                    format!("{number:?}")
                                } else {
                                    let bytes: Option<Vec<u8>> = row.try_get(i).expect("a blob");
                                    bytes.map_or("null".into(), |b| hex(&b))
                                };
                                format!("{name}={value}")
                            })
                            .collect();
                        cells.join(" ")
                    })
                    .collect()
            }
        }
    }

    /// The `key_hash` column of every key record.
    ///
    /// # Panics
    ///
    /// When the query fails.
    pub async fn key_hashes(&self) -> Vec<Vec<u8>> {
        let sql = "SELECT key_hash FROM auth_api_keys ORDER BY created_at_us, id";
        match self {
            RawDb::Sqlite(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
            RawDb::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
        }
        .expect("key hashes")
    }

    /// The versions recorded in the migrations table `table`.
    ///
    /// # Panics
    ///
    /// When the query fails.
    pub async fn migration_versions(&self, table: &str) -> Vec<i64> {
        let sql = format!("SELECT version FROM {table} ORDER BY version");
        match self {
            RawDb::Sqlite(pool) => sqlx::query_scalar(&sql).fetch_all(pool).await,
            RawDb::Postgres(pool) => sqlx::query_scalar(&sql).fetch_all(pool).await,
        }
        .expect("migration versions")
    }

    /// The names of the indexes on `table`.
    ///
    /// # Panics
    ///
    /// When the query fails.
    pub async fn indexes(&self, table: &str) -> Vec<String> {
        let names: Result<Vec<String>, sqlx::Error> = match self {
            RawDb::Sqlite(pool) => {
                sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 \
                     ORDER BY name",
                )
                .bind(table)
                .fetch_all(pool)
                .await
            }
            RawDb::Postgres(pool) => {
                sqlx::query_scalar(
                    "SELECT indexname::text FROM pg_indexes \
                     WHERE schemaname = current_schema() AND tablename = $1 ORDER BY indexname",
                )
                .bind(table)
                .fetch_all(pool)
                .await
            }
        };
        names.expect("indexes")
    }

    /// The plan the database picks for `query` (one `$1` parameter, bound to `param`), with
    /// sequential scans discouraged on PostgreSQL (a tiny test table would otherwise be
    /// scanned, index or not).
    ///
    /// # Panics
    ///
    /// When the query fails.
    pub async fn plan(&self, query: &str, param: PlanParam) -> String {
        match self {
            RawDb::Sqlite(pool) => {
                let explain = format!("EXPLAIN QUERY PLAN {query}");
                let query = sqlx::query(&explain);
                let query = match param {
                    PlanParam::Bytes(bytes) => query.bind(bytes),
                    PlanParam::Text(text) => query.bind(text),
                };
                let rows = query.fetch_all(pool).await.expect("plan");
                rows.iter()
                    .map(|row| row.get::<String, _>("detail"))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            RawDb::Postgres(pool) => {
                let mut tx = pool.begin().await.expect("begin");
                (&mut *tx)
                    .execute(sqlx::raw_sql("SET LOCAL enable_seqscan = off"))
                    .await
                    .expect("set");
                let explain = format!("EXPLAIN {query}");
                let query = sqlx::query_scalar(&explain);
                let query = match param {
                    PlanParam::Bytes(bytes) => query.bind(bytes),
                    PlanParam::Text(text) => query.bind(text),
                };
                let lines: Vec<String> = query.fetch_all(&mut *tx).await.expect("plan");
                lines.join("\n")
            }
        }
    }
}

/// The parameter of a query whose plan [`RawDb::plan`] shows.
#[derive(Debug, Clone)]
pub enum PlanParam {
    /// A `BLOB` / `BYTEA`.
    Bytes(Vec<u8>),
    /// A `TEXT`.
    Text(String),
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether no row of `rows` holds `secret`, in text or as hex.
#[must_use]
pub fn nowhere_in(rows: &[String], secret: &str) -> bool {
    let as_hex = hex(secret.as_bytes());
    rows.iter()
        .all(|row| !row.contains(secret) && !row.to_lowercase().contains(&as_hex))
}

// ---------------------------------------------------------------------------------------
// Taking a database away
// ---------------------------------------------------------------------------------------

/// A TCP forwarder on `127.0.0.1:<port>` in front of a server, that can be switched off
/// (open connections are cut, new ones are closed at once) and on again: a database outage
/// and its end, without touching the database.
#[derive(Debug)]
pub struct TcpSwitch {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
    acceptor: AbortHandle,
}

impl TcpSwitch {
    /// Starts forwarding to `target` (`host:port`), switched on.
    ///
    /// # Panics
    ///
    /// When it cannot bind `127.0.0.1:0`.
    pub async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let up = Arc::new(AtomicBool::new(true));
        let connections = Arc::new(Mutex::new(Vec::<AbortHandle>::new()));
        let acceptor = {
            let up = Arc::clone(&up);
            let connections = Arc::clone(&connections);
            tokio::spawn(async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if !up.load(Ordering::SeqCst) {
                        drop(client);
                        continue;
                    }
                    let target = target.clone();
                    let task = tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(target).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    connections
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(task.abort_handle());
                }
            })
            .abort_handle()
        };
        Self {
            addr,
            up,
            connections,
            acceptor,
        }
    }

    /// The port to connect to instead of the server's.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Switches forwarding on or off (off cuts every open connection).
    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
        if !up {
            for connection in self
                .connections
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .drain(..)
            {
                connection.abort();
            }
        }
    }
}

impl Drop for TcpSwitch {
    fn drop(&mut self) {
        self.set_up(false);
        self.acceptor.abort();
    }
}
