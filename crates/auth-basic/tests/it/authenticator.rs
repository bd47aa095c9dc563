use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use auth_basic::{
    Argon2Hasher, Argon2Params, BasicAuthenticator, BasicCredentials, BasicUser, CacheConfig,
    Error, MemoryUserStore, PasswordHasher, StoreError, UserRecord, UserStore, Verification,
};
use auth_core::{
    AuthRequest, Authenticator, Clock, HeaderList, ManualClock, Outcome, Principal, Rejection,
    RejectionKind,
};

/// Counts hash and verify calls; fast parameters unless told otherwise.
#[derive(Debug)]
struct CountingHasher {
    inner: Argon2Hasher,
    verifies: AtomicUsize,
    hashes: AtomicUsize,
}

impl CountingHasher {
    fn new(params: Argon2Params) -> Arc<Self> {
        Arc::new(Self {
            inner: Argon2Hasher::new(params),
            verifies: AtomicUsize::new(0),
            hashes: AtomicUsize::new(0),
        })
    }
    fn verifies(&self) -> usize {
        self.verifies.load(Ordering::SeqCst)
    }
}

impl PasswordHasher for CountingHasher {
    fn hash(&self, password: &[u8]) -> Result<String, Error> {
        self.hashes.fetch_add(1, Ordering::SeqCst);
        self.inner.hash(password)
    }
    fn verify(&self, password: &[u8], stored: &str) -> Result<Verification, Error> {
        self.verifies.fetch_add(1, Ordering::SeqCst);
        self.inner.verify(password, stored)
    }
}

/// A store wrapper that can be taken down.
#[derive(Debug)]
struct FlakyStore {
    inner: Arc<MemoryUserStore>,
    down: AtomicBool,
}

#[async_trait]
impl UserStore for FlakyStore {
    async fn find(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError("connection refused".into()));
        }
        self.inner.find(username).await
    }
    async fn update_hash(&self, id: &str, current: &str, new: &str) -> Result<bool, StoreError> {
        self.inner.update_hash(id, current, new).await
    }
}

struct Fixture {
    users: Arc<MemoryUserStore>,
    hasher: Arc<CountingHasher>,
    clock: ManualClock,
    basic: BasicAuthenticator,
}

fn fixture(
    configure: impl FnOnce(
        auth_basic::BasicAuthenticatorBuilder,
    ) -> auth_basic::BasicAuthenticatorBuilder,
) -> Fixture {
    let hasher = CountingHasher::new(Argon2Params::insecure_fast_for_tests());
    let users = Arc::new(MemoryUserStore::new());
    users
        .add_user(hasher.as_ref(), "alice", "open sesame", "orders:read")
        .unwrap();
    users
        .add_user(hasher.as_ref(), "mallory", "letmein", "")
        .unwrap();
    users.disable("mallory");
    let clock = ManualClock::starting_now();
    let builder = BasicAuthenticator::builder(users.clone())
        .realm("tests")
        .hasher(hasher.clone())
        .clock(clock.shared());
    let basic = configure(builder).build().unwrap();
    hasher.verifies.store(0, Ordering::SeqCst);
    hasher.hashes.store(0, Ordering::SeqCst);
    Fixture {
        users,
        hasher,
        clock,
        basic,
    }
}

const PEER: &str = "198.51.100.7:50000";

async fn run(basic: &BasicAuthenticator, authorization: Option<&str>) -> Outcome {
    let mut headers = HeaderList::new();
    if let Some(value) = authorization {
        headers.push("Authorization", value);
    }
    let peer: SocketAddr = PEER.parse().unwrap();
    let request = AuthRequest::new("GET", "/", &headers).with_peer(Some(peer));
    basic.authenticate(&request).await
}

async fn login(basic: &BasicAuthenticator, user: &str, password: &str) -> Outcome {
    run(
        basic,
        Some(&BasicCredentials::new(user, password).header_value()),
    )
    .await
}

fn principal(outcome: Outcome) -> Principal {
    match outcome {
        Outcome::Authenticated(p) => p,
        other => panic!("expected success, got {other:?}"),
    }
}

fn rejection(outcome: Outcome) -> Rejection {
    match outcome {
        Outcome::Rejected(r) => r,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn valid_credentials_give_the_user_id_and_scopes() {
    let f = fixture(|b| b);
    let p = principal(login(&f.basic, "alice", "open sesame").await);
    assert_eq!(p.subject(), "alice");
    assert!(p.scopes().contains("orders:read"));
    assert_eq!(
        p.extension::<BasicUser>().map(|u| u.username.as_str()),
        Some("alice")
    );
    assert_eq!(p.authenticated_at(), f.clock.now());
}

#[tokio::test]
async fn no_header_or_another_scheme_is_no_credential() {
    let f = fixture(|b| b);
    assert!(matches!(run(&f.basic, None).await, Outcome::NoCredential));
    assert!(matches!(
        run(&f.basic, Some("Bearer abc")).await,
        Outcome::NoCredential
    ));
}

#[tokio::test]
async fn malformed_credentials_get_400_with_the_basic_challenge() {
    let f = fixture(|b| b);
    for value in [
        "Basic",
        "Basic !!!",
        "Basic bm9jb2xvbg==",     // "nocolon"
        "Basic dGVzdDoxMjOj",     // Latin-1
        "Basic dXNlcjpwYQBzcw==", // "user:pa\0ss"
    ] {
        let r = rejection(run(&f.basic, Some(value)).await);
        assert_eq!(r.status(), 400, "{value}");
        assert_eq!(
            r.www_authenticate().collect::<Vec<_>>(),
            [r#"Basic realm="tests", charset="UTF-8""#],
            "{value}"
        );
    }
    let long = format!("Basic {}", "QUFB".repeat(400));
    assert_eq!(rejection(run(&f.basic, Some(&long)).await).status(), 400);
    assert_eq!(
        f.hasher.verifies(),
        0,
        "malformed input never reaches the hasher"
    );
}

#[tokio::test]
async fn lower_case_scheme_and_colons_in_passwords_work() {
    let f = fixture(|b| b);
    f.users
        .add_user(f.hasher.as_ref(), "bob", "a:b:c", "")
        .unwrap();
    let value = BasicCredentials::new("bob", "a:b:c")
        .header_value()
        .replacen("Basic", "basic", 1);
    assert_eq!(
        principal(run(&f.basic, Some(&value)).await).subject(),
        "bob"
    );
}

#[tokio::test]
async fn unknown_user_wrong_password_and_disabled_user_look_the_same() {
    let f = fixture(|b| b);
    let unknown = rejection(login(&f.basic, "nobody", "open sesame").await);
    let after_unknown = f.hasher.verifies();
    let wrong = rejection(login(&f.basic, "alice", "open sesame!").await);
    let after_wrong = f.hasher.verifies() - after_unknown;
    let disabled = rejection(login(&f.basic, "mallory", "letmein").await);
    let after_disabled = f.hasher.verifies() - after_unknown - after_wrong;

    // The same work: one argon2 verification each (a dummy hash for the unknown user).
    assert_eq!((after_unknown, after_wrong, after_disabled), (1, 1, 1));
    // The same response: status, challenge, body.
    for other in [&wrong, &disabled] {
        assert_eq!(unknown.status(), other.status());
        assert_eq!(
            unknown.www_authenticate().collect::<Vec<_>>(),
            other.www_authenticate().collect::<Vec<_>>()
        );
        assert_eq!(unknown.json_body(), other.json_body());
        assert_eq!(unknown.retry_after(), other.retry_after());
    }
    assert_eq!(unknown.kind(), RejectionKind::InvalidCredentials);
    // Only the audit reason differs.
    assert_eq!(
        [unknown.reason(), wrong.reason(), disabled.reason()],
        ["unknown_user", "wrong_password", "user_disabled"]
    );
}

#[tokio::test]
async fn repeated_failures_are_throttled_and_the_wait_runs_out() {
    let f = fixture(|b| b);
    for _ in 0..4 {
        assert_eq!(
            rejection(login(&f.basic, "alice", "guess").await).status(),
            401
        );
    }
    // The fifth failure starts the delay; the next attempt is refused without hashing.
    assert_eq!(
        rejection(login(&f.basic, "alice", "guess").await).status(),
        401
    );
    let verifies = f.hasher.verifies();
    let throttled = rejection(login(&f.basic, "alice", "open sesame").await);
    assert_eq!(throttled.status(), 429);
    assert_eq!(throttled.retry_after_header().as_deref(), Some("1"));
    assert_eq!(
        f.hasher.verifies(),
        verifies,
        "a throttled attempt costs no hash"
    );

    f.clock.advance(Duration::from_secs(1));
    principal(login(&f.basic, "alice", "open sesame").await);
}

#[tokio::test]
async fn the_client_address_is_throttled_across_user_names() {
    let f = fixture(|b| b);
    for i in 0..5 {
        let _ = login(&f.basic, &format!("spray{i}"), "123456").await;
    }
    // A new user name from the same address waits too.
    assert_eq!(
        rejection(login(&f.basic, "alice", "open sesame").await).status(),
        429
    );
}

#[tokio::test]
async fn without_a_throttle_guessing_is_unlimited() {
    // The control for the two tests above: the opt-out really turns the defence off.
    let f = fixture(|b| b.insecure_without_throttle());
    for _ in 0..10 {
        let _ = login(&f.basic, "alice", "guess").await;
    }
    principal(login(&f.basic, "alice", "open sesame").await);
}

#[tokio::test]
async fn a_store_outage_fails_closed_and_recovers() {
    let hasher = CountingHasher::new(Argon2Params::insecure_fast_for_tests());
    let users = Arc::new(MemoryUserStore::new());
    users.add_user(hasher.as_ref(), "alice", "pw", "").unwrap();
    let store = Arc::new(FlakyStore {
        inner: users,
        down: AtomicBool::new(true),
    });
    let basic = BasicAuthenticator::builder(store.clone())
        .hasher(hasher)
        .build()
        .unwrap();
    let down = rejection(login(&basic, "alice", "pw").await);
    assert_eq!(down.status(), 503);
    assert_eq!(down.reason(), "user_store_unavailable");
    store.down.store(false, Ordering::SeqCst);
    principal(login(&basic, "alice", "pw").await);
}

#[tokio::test]
async fn weaker_hashes_are_rehashed_and_saved_on_login() {
    let weak = Argon2Hasher::new(Argon2Params::insecure_fast_for_tests());
    let users = Arc::new(MemoryUserStore::new());
    users.add_user(&weak, "alice", "pw", "").unwrap();
    let before = users.find("alice").await.unwrap().unwrap().password_hash;
    assert!(before.contains("m=64,t=1"));

    // The policy is OWASP's: the weak hash verifies, then is replaced.
    let basic = BasicAuthenticator::builder(users.clone()).build().unwrap();
    principal(login(&basic, "alice", "pw").await);
    let after = users.find("alice").await.unwrap().unwrap().password_hash;
    assert!(
        after.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{after}"
    );
    // And the new hash works.
    principal(login(&basic, "alice", "pw").await);
    assert_eq!(
        users.find("alice").await.unwrap().unwrap().password_hash,
        after,
        "no rehash once the hash meets the policy"
    );
}

/// An administrator resets the password while a login with the old one is rehashing: the
/// reset lands between the login's verification and its write of the rehash.
#[derive(Debug)]
struct ResetDuringRehash {
    inner: Arc<MemoryUserStore>,
    admin: Argon2Hasher,
}

#[async_trait]
impl UserStore for ResetDuringRehash {
    async fn find(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        self.inner.find(username).await
    }
    async fn update_hash(&self, id: &str, current: &str, new: &str) -> Result<bool, StoreError> {
        self.inner
            .set_password(&self.admin, "alice", "new after the breach")
            .unwrap();
        self.inner.update_hash(id, current, new).await
    }
}

#[tokio::test]
async fn attack_a_rehash_racing_a_password_reset_does_not_restore_the_old_password() {
    let weak = Argon2Hasher::new(Argon2Params::insecure_fast_for_tests());
    let users = Arc::new(MemoryUserStore::new());
    users.add_user(&weak, "alice", "leaked", "").unwrap();
    let store = Arc::new(ResetDuringRehash {
        inner: users.clone(),
        admin: weak,
    });
    let basic = BasicAuthenticator::builder(store).build().unwrap();
    // The old password still verifies (the reset has not landed yet) and needs a rehash.
    principal(login(&basic, "alice", "leaked").await);
    // The reset won: the rehash of the old password was not written over it.
    let stored = users.find("alice").await.unwrap().unwrap().password_hash;
    let check = Argon2Hasher::default();
    assert!(matches!(
        check.verify(b"new after the breach", &stored),
        Ok(Verification::Valid { .. })
    ));
    assert_eq!(
        check.verify(b"leaked", &stored).unwrap(),
        Verification::Invalid
    );
}

#[cfg(feature = "bcrypt")]
#[tokio::test]
async fn bcrypt_users_migrate_to_argon2id_on_login() {
    let stored = bcrypt::hash("pw", 4).unwrap().replacen("$2b$", "$2y$", 1);
    let users =
        Arc::new(MemoryUserStore::from_htpasswd(&format!("carol:{stored}:files:read")).unwrap());
    let basic = BasicAuthenticator::builder(users.clone()).build().unwrap();
    principal(login(&basic, "carol", "pw").await);
    let after = users.find("carol").await.unwrap().unwrap().password_hash;
    assert!(after.starts_with("$argon2id$"), "{after}");
}

#[tokio::test]
async fn the_cache_skips_the_hash_and_a_password_change_or_disable_drops_it() {
    let f = fixture(|b| b.verified_cache(CacheConfig::default()));
    principal(login(&f.basic, "alice", "open sesame").await);
    assert_eq!(f.hasher.verifies(), 1);
    principal(login(&f.basic, "alice", "open sesame").await);
    assert_eq!(f.hasher.verifies(), 1, "second login served from the cache");

    // A wrong password is never served from the cache.
    rejection(login(&f.basic, "alice", "open sesame?").await);
    assert_eq!(f.hasher.verifies(), 2);

    // Password change: the old password stops working at once.
    f.users
        .set_password(f.hasher.as_ref(), "alice", "new secret")
        .unwrap();
    assert_eq!(
        rejection(login(&f.basic, "alice", "open sesame").await).status(),
        401
    );
    principal(login(&f.basic, "alice", "new secret").await);

    // Disable: refused at once, cached or not.
    principal(login(&f.basic, "alice", "new secret").await);
    f.users.disable("alice");
    assert_eq!(
        rejection(login(&f.basic, "alice", "new secret").await).reason(),
        "user_disabled"
    );

    // Expiry: after the TTL the hash runs again.
    f.users.enable("alice");
    principal(login(&f.basic, "alice", "new secret").await);
    let verifies = f.hasher.verifies();
    f.clock.advance(Duration::from_secs(61));
    principal(login(&f.basic, "alice", "new secret").await);
    assert_eq!(f.hasher.verifies(), verifies + 1);
}

#[tokio::test]
async fn without_the_cache_every_login_hashes() {
    let f = fixture(|b| b);
    for _ in 0..3 {
        principal(login(&f.basic, "alice", "open sesame").await);
    }
    assert_eq!(f.hasher.verifies(), 3);
}

#[test]
fn unsafe_configuration_is_refused_at_build() {
    let users = Arc::new(MemoryUserStore::new());
    let err = |b: auth_basic::BasicAuthenticatorBuilder| b.build().err().map(|e| e.to_string());
    assert!(err(BasicAuthenticator::builder(users.clone()).realm(" ")).is_some());
    assert!(err(BasicAuthenticator::builder(users.clone()).max_header_len(4)).is_some());
    let long_ttl = CacheConfig {
        ttl: Duration::from_secs(24 * 3600),
        ..CacheConfig::default()
    };
    assert!(err(BasicAuthenticator::builder(users).verified_cache(long_ttl)).is_some());
}
