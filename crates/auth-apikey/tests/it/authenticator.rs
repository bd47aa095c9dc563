//! The authenticator on framework-neutral requests: where the key may be, identical
//! refusals, throttling, fail-closed store, the principal.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use auth_apikey::{ApiKeyAuthenticator, ConfigError, KeyManager, KeyMetadata, NewKey};
use auth_core::{
    AuthRequest, Authenticator, HeaderList, MemoryThrottle, Outcome, Principal, Rejection,
    Throttle, ThrottleError, ThrottleKey, async_trait,
};

use crate::support::{CountingStore, change_char, setup};

const PEER: &str = "203.0.113.7:50000";

fn peer() -> Option<SocketAddr> {
    Some(PEER.parse().unwrap())
}

async fn run(auth: &ApiKeyAuthenticator, target: &str, headers: &HeaderList) -> Outcome {
    run_from(auth, target, headers, peer()).await
}

async fn run_from(
    auth: &ApiKeyAuthenticator,
    target: &str,
    headers: &HeaderList,
    peer: Option<SocketAddr>,
) -> Outcome {
    let request = AuthRequest::new("GET", target, headers).with_peer(peer);
    auth_core::authenticate(auth, &request).await
}

fn rejected(outcome: Outcome) -> Rejection {
    match outcome {
        Outcome::Rejected(rejection) => rejection,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn principal(outcome: Outcome) -> Principal {
    match outcome {
        Outcome::Authenticated(principal) => principal,
        other => panic!("expected a principal, got {other:?}"),
    }
}

fn header(key: &str) -> HeaderList {
    HeaderList::new().with("X-API-Key", key)
}

struct Fixture {
    clock: auth_core::ManualClock,
    store: Arc<CountingStore>,
    keys: KeyManager,
    auth: ApiKeyAuthenticator,
    key: String,
    id: String,
}

async fn fixture(
    configure: impl FnOnce(
        auth_apikey::ApiKeyAuthenticatorBuilder,
    ) -> auth_apikey::ApiKeyAuthenticatorBuilder,
) -> Fixture {
    let (clock, store, keys) = setup();
    let created = keys
        .create(
            NewKey::new("svc-orders", "orders sync")
                .scopes("orders:read orders:write".parse().unwrap()),
        )
        .await
        .unwrap();
    let auth = configure(ApiKeyAuthenticator::builder(keys.clone()))
        .build()
        .unwrap();
    Fixture {
        clock,
        store,
        keys,
        auth,
        key: created.key.expose_secret().to_owned(),
        id: created.metadata.id,
    }
}

#[tokio::test]
async fn a_valid_key_gives_a_principal_with_owner_scopes_id_and_metadata() {
    let f = fixture(|b| b).await;
    let principal = principal(run(&f.auth, "/orders", &header(&f.key)).await);
    assert_eq!(principal.subject(), "svc-orders");
    assert_eq!(principal.scheme(), auth_core::Scheme::API_KEY);
    assert_eq!(principal.scopes().to_string(), "orders:read orders:write");
    assert_eq!(principal.key_id(), Some(f.id.as_str()));
    let meta = principal.extension::<KeyMetadata>().unwrap();
    assert_eq!(meta.name, "orders sync");
    assert_eq!(meta.id, f.id);
    assert!(!format!("{principal:?}").contains(&f.key));
}

#[tokio::test]
async fn no_key_is_no_credential_and_the_challenge_names_the_header() {
    let f = fixture(|b| b.realm("orders")).await;
    assert!(matches!(
        run(&f.auth, "/orders", &HeaderList::new()).await,
        Outcome::NoCredential
    ));
    let challenges: Vec<String> = f
        .auth
        .challenges()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(challenges, [r#"ApiKey realm="orders", header="X-API-Key""#]);

    let with_bearer = fixture(|b| b.allow_bearer(true)).await;
    let challenges: Vec<String> = with_bearer
        .auth
        .challenges()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        challenges,
        [
            r#"ApiKey realm="api", header="X-API-Key""#,
            r#"Bearer realm="api""#
        ]
    );
}

#[tokio::test]
async fn wrong_only_in_the_last_character_is_401_without_a_lookup() {
    let f = fixture(|b| b).await;
    let typo = change_char(&f.key, f.key.len() - 1);
    let rejection = rejected(run(&f.auth, "/orders", &header(&typo)).await);
    assert_eq!(rejection.status(), 401);
    assert_eq!(rejection.reason(), "checksum_mismatch");
    assert_eq!(f.store.lookups(), 0);
}

#[tokio::test]
async fn revoked_expired_rotated_unknown_and_mistyped_keys_get_identical_answers() {
    let f = fixture(|b| b).await;
    let revoked = f.keys.create(NewKey::new("svc", "r")).await.unwrap();
    f.keys.revoke(&revoked.metadata.id).await.unwrap();
    let expired = f
        .keys
        .create(NewKey::new("svc", "e").expires_in(Duration::from_secs(60)))
        .await
        .unwrap();
    let rotated = f.keys.create(NewKey::new("svc", "o")).await.unwrap();
    f.keys
        .rotate(&rotated.metadata.id, Duration::from_secs(30))
        .await
        .unwrap();
    f.clock.advance(Duration::from_secs(61));
    let unknown = f.keys.format().generate().unwrap();
    let typo = change_char(&f.key, 20);

    let cases = [
        (revoked.key.expose_secret().to_owned(), "revoked_key"),
        (expired.key.expose_secret().to_owned(), "expired_key"),
        (rotated.key.expose_secret().to_owned(), "rotated_key"),
        (unknown.expose_secret().to_owned(), "unknown_key"),
        (typo, "checksum_mismatch"),
        ("acme_test_short".to_owned(), "malformed_key"),
    ];
    let mut answers = Vec::new();
    for (i, (key, reason)) in cases.iter().enumerate() {
        // A fresh client each time, so the throttle does not step in.
        let client = SocketAddr::from(([192, 0, 2, i as u8], 40_000));
        let rejection = rejected(run_from(&f.auth, "/orders", &header(key), Some(client)).await);
        assert_eq!(rejection.reason(), *reason);
        answers.push((
            rejection.status(),
            rejection.www_authenticate().collect::<Vec<_>>(),
            rejection.json_body(),
            rejection.retry_after(),
        ));
    }
    for answer in &answers {
        assert_eq!(answer, &answers[0]);
    }
    assert_eq!(answers[0].0, 401);
}

#[tokio::test]
async fn bearer_is_off_by_default_and_takes_only_our_prefix_when_on() {
    let off = fixture(|b| b).await;
    let bearer = HeaderList::new().with("Authorization", format!("Bearer {}", off.key));
    assert!(matches!(
        run(&off.auth, "/", &bearer).await,
        Outcome::NoCredential
    ));

    let on = fixture(|b| b.allow_bearer(true)).await;
    let bearer = HeaderList::new().with("Authorization", format!("Bearer {}", on.key));
    assert_eq!(
        principal(run(&on.auth, "/", &bearer).await).key_id(),
        Some(on.id.as_str())
    );
    // A JWT (or any token of another scheme) is not ours: an AnyOf chain tries the next.
    let jwt = HeaderList::new().with("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig");
    assert!(matches!(
        run(&on.auth, "/", &jwt).await,
        Outcome::NoCredential
    ));
    let basic = HeaderList::new().with("Authorization", "Basic YTpi");
    assert!(matches!(
        run(&on.auth, "/", &basic).await,
        Outcome::NoCredential
    ));
}

#[tokio::test]
async fn a_key_in_two_places_is_400() {
    let f = fixture(|b| b.allow_bearer(true).insecure_allow_query_param("api_key")).await;
    let both = header(&f.key).with("Authorization", format!("Bearer {}", f.key));
    let rejection = rejected(run(&f.auth, "/", &both).await);
    assert_eq!(rejection.status(), 400);
    assert_eq!(rejection.reason(), "key_in_multiple_places");

    let target = format!("/orders?api_key={}", f.key);
    let rejection = rejected(run(&f.auth, &target, &header(&f.key)).await);
    assert_eq!(rejection.status(), 400);
    assert_eq!(rejection.reason(), "key_in_multiple_places");

    let twice = format!("/orders?api_key={0}&api_key={0}", f.key);
    let rejection = rejected(run(&f.auth, &twice, &HeaderList::new()).await);
    assert_eq!(rejection.status(), 400);
    assert_eq!(f.store.lookups(), 0);
}

#[tokio::test]
async fn a_repeated_header_is_400() {
    let f = fixture(|b| b).await;
    let twice = header(&f.key).with("x-api-key", f.key.clone());
    let rejection = rejected(run(&f.auth, "/", &twice).await);
    assert_eq!(rejection.status(), 400);
    assert_eq!(rejection.reason(), "malformed_header");
}

#[tokio::test]
async fn a_key_in_the_query_without_the_opt_in_is_refused_with_a_hint() {
    let f = fixture(|b| b).await;
    for target in [
        format!("/orders?api_key={}", f.key),
        format!("/orders?page=2&APIKEY={}", f.key),
        // Under any name: the value carries our prefix.
        format!("/orders?token={}", f.key),
    ] {
        let rejection = rejected(run(&f.auth, &target, &HeaderList::new()).await);
        assert_eq!(rejection.status(), 400, "{target}");
        assert_eq!(rejection.reason(), "key_in_query");
        assert_eq!(
            rejection.description(),
            "Send the API key in the X-API-Key header, not in the URL"
        );
        assert!(!rejection.json_body().contains(&f.key));
    }
    assert_eq!(f.store.lookups(), 0, "refused before any lookup");
    // Queries without a key are none of our business.
    assert!(matches!(
        run(&f.auth, "/orders?page=2&key=value", &HeaderList::new()).await,
        Outcome::NoCredential
    ));
}

#[tokio::test]
async fn with_the_opt_in_the_query_parameter_works() {
    let f = fixture(|b| b.insecure_allow_query_param("api_key")).await;
    let target = format!("/orders?page=1&api_key={}", f.key);
    assert_eq!(
        principal(run(&f.auth, &target, &HeaderList::new()).await).subject(),
        "svc-orders"
    );
    // Percent-encoded separators decode.
    let encoded = format!("/orders?api_key={}", f.key.replace('_', "%5F"));
    assert!(matches!(
        run(&f.auth, &encoded, &HeaderList::new()).await,
        Outcome::Authenticated(_)
    ));
}

#[tokio::test]
async fn failures_are_throttled_per_client_before_the_store_is_asked() {
    let f = fixture(|b| b).await;
    let unknown = f.keys.format().generate().unwrap();
    let bad = header(unknown.expose_secret());
    for _ in 0..5 {
        assert_eq!(rejected(run(&f.auth, "/", &bad).await).status(), 401);
    }
    let lookups = f.store.lookups();
    // Now even the right key waits: a guesser learns nothing more from this client.
    let rejection = rejected(run(&f.auth, "/", &header(&f.key)).await);
    assert_eq!(rejection.status(), 429);
    assert_eq!(rejection.retry_after_header().as_deref(), Some("1"));
    assert_eq!(f.store.lookups(), lookups, "no lookup while throttled");

    // Another client is not affected.
    let other = Some("198.51.100.1:1".parse().unwrap());
    assert!(matches!(
        run_from(&f.auth, "/", &header(&f.key), other).await,
        Outcome::Authenticated(_)
    ));

    // After the wait, a success resets the count.
    f.clock.advance(Duration::from_secs(1));
    assert!(matches!(
        run(&f.auth, "/", &header(&f.key)).await,
        Outcome::Authenticated(_)
    ));
    assert_eq!(rejected(run(&f.auth, "/", &bad).await).status(), 401);
}

#[tokio::test]
async fn a_store_that_is_down_gives_503_and_no_throttle_count() {
    let f = fixture(|b| b).await;
    f.store.set_down(true);
    for _ in 0..10 {
        let rejection = rejected(run(&f.auth, "/", &header(&f.key)).await);
        assert_eq!(rejection.status(), 503);
        assert_eq!(rejection.reason(), "key_store_unavailable");
        assert!(!rejection.json_body().contains("10.9.8.7"));
    }
    f.store.set_down(false);
    assert!(matches!(
        run(&f.auth, "/", &header(&f.key)).await,
        Outcome::Authenticated(_)
    ));
}

#[derive(Debug)]
struct DownThrottle;

#[async_trait]
impl Throttle for DownThrottle {
    async fn retry_after(&self, _: &ThrottleKey) -> Result<Option<Duration>, ThrottleError> {
        Err(ThrottleError::Unavailable("redis down".into()))
    }
    async fn record_failure(&self, _: &ThrottleKey) -> Result<Option<Duration>, ThrottleError> {
        Err(ThrottleError::Unavailable("redis down".into()))
    }
    async fn reset(&self, _: &ThrottleKey) -> Result<(), ThrottleError> {
        Err(ThrottleError::Unavailable("redis down".into()))
    }
}

#[tokio::test]
async fn a_throttle_that_is_down_gives_503() {
    let f = fixture(|b| b.throttle(Arc::new(DownThrottle))).await;
    let rejection = rejected(run(&f.auth, "/", &header(&f.key)).await);
    assert_eq!(rejection.status(), 503);
    assert_eq!(rejection.reason(), "throttle_unavailable");
    assert_eq!(f.store.lookups(), 0);
    // A custom throttle is used as given.
    let throttle = Arc::new(MemoryThrottle::with_defaults());
    let custom = fixture(|b| b.throttle(throttle)).await;
    assert!(matches!(
        run(&custom.auth, "/", &header(&custom.key)).await,
        Outcome::Authenticated(_)
    ));
}

#[test]
fn misconfiguration_fails_at_build() {
    let (_clock, _store, keys) = setup();
    let build = |f: fn(
        auth_apikey::ApiKeyAuthenticatorBuilder,
    ) -> auth_apikey::ApiKeyAuthenticatorBuilder| {
        f(ApiKeyAuthenticator::builder(keys.clone()))
            .build()
            .map(|_| ())
    };
    assert!(matches!(
        build(|b| b.header("")),
        Err(ConfigError::InvalidHeader(_))
    ));
    assert!(matches!(
        build(|b| b.header("X API Key")),
        Err(ConfigError::InvalidHeader(_))
    ));
    assert!(matches!(
        build(|b| b.header("Authorization")),
        Err(ConfigError::InvalidHeader(_))
    ));
    assert!(matches!(
        build(|b| b.insecure_allow_query_param("")),
        Err(ConfigError::InvalidQueryParam(_))
    ));
    assert!(matches!(
        build(|b| b.insecure_allow_query_param("a&b")),
        Err(ConfigError::InvalidQueryParam(_))
    ));
    assert!(build(|b| b.header("X-Acme-Key").insecure_allow_query_param("key")).is_ok());
}

#[tokio::test]
async fn a_custom_header_is_read_case_insensitively() {
    let f = fixture(|b| b.header("X-Acme-Key")).await;
    let headers = HeaderList::new().with("x-acme-key", f.key.clone());
    assert!(matches!(
        run(&f.auth, "/", &headers).await,
        Outcome::Authenticated(_)
    ));
    assert!(matches!(
        run(&f.auth, "/", &header(&f.key)).await,
        Outcome::NoCredential
    ));
}
