//! The resource server with opaque tokens, introspected (RFC 7662) at an endpoint on
//! 127.0.0.1.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_core::{
    AuthRequest, Clock as _, HeaderList, ManualClock, Outcome, Rejection, RejectionKind, Secret,
    authenticate, unix_seconds,
};
use auth_oauth2::{
    AccessTokenInfo, ClientAuthMethod, IntrospectionCachePolicy, ResourceServer, TokenFormat,
};
use serde_json::{Value, json};

use crate::support::{Reply, Request, Server, clock, http};

const ISSUER: &str = "https://id.example";
const AUDIENCE: &str = "https://api.example/orders";
const RS_ID: &str = "orders-api";
const RS_SECRET: &str = "orders-api-secret";

/// The introspection endpoint: answers for the tokens it knows, `{"active": false}` for the
/// others; 401 to a caller without the resource server's credentials; 500 when down.
struct Endpoint {
    server: Server,
    tokens: Arc<Mutex<HashMap<String, Value>>>,
    down: Arc<AtomicBool>,
}

impl Endpoint {
    async fn start() -> Endpoint {
        let tokens: Arc<Mutex<HashMap<String, Value>>> = Arc::default();
        let down = Arc::new(AtomicBool::new(false));
        let (known, is_down) = (tokens.clone(), down.clone());
        let server = Server::start(move |request: &Request| {
            if is_down.load(Ordering::SeqCst) {
                return Reply::json(500, json!({}));
            }
            let credentials = request
                .basic_credentials()
                .or_else(|| Some((request.param("client_id")?, request.param("client_secret")?)));
            if credentials != Some((RS_ID.into(), RS_SECRET.into())) {
                return Reply::json(401, json!({"error": "invalid_client"}));
            }
            let token = request.param("token").unwrap_or_default();
            let answer = known
                .lock()
                .unwrap()
                .get(&token)
                .cloned()
                .unwrap_or(json!({"active": false}));
            Reply::json(200, answer)
        })
        .await;
        Endpoint {
            server,
            tokens,
            down,
        }
    }

    fn know(&self, token: &str, answer: Value) {
        self.tokens.lock().unwrap().insert(token.to_owned(), answer);
    }

    fn api(&self, clock: &ManualClock, policy: IntrospectionCachePolicy) -> ResourceServer {
        ResourceServer::builder(ISSUER, AUDIENCE)
            .introspection(
                self.server.url("/introspect"),
                RS_ID,
                Secret::from(RS_SECRET),
            )
            .introspection_cache(policy)
            .clock(clock.shared())
            .http_client(http())
            .build()
            .unwrap()
    }
}

fn active(clock: &ManualClock, lifetime: u64) -> Value {
    let now = unix_seconds(clock.now());
    json!({
        "active": true, "sub": "alice", "client_id": "web-app", "scope": "orders:read",
        "iss": ISSUER, "aud": AUDIENCE, "exp": now + lifetime, "iat": now, "jti": "t-1",
        "token_type": "Bearer",
    })
}

async fn decide(api: &ResourceServer, token: &str) -> Outcome {
    let headers = HeaderList::new().with("Authorization", format!("Bearer {token}"));
    authenticate(api, &AuthRequest::new("GET", "/orders", &headers)).await
}

fn refused(outcome: Outcome) -> Rejection {
    match outcome {
        Outcome::Rejected(rejection) => rejection,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn assert_invalid_token(outcome: Outcome, reason: &str) {
    let rejection = refused(outcome);
    assert_eq!(rejection.status(), 401);
    assert_eq!(rejection.kind(), RejectionKind::InvalidToken);
    assert_eq!(rejection.reason(), reason);
    assert!(
        rejection
            .www_authenticate()
            .next()
            .unwrap()
            .contains(r#"error="invalid_token""#)
    );
}

#[tokio::test]
async fn an_active_token_is_accepted_and_the_request_is_authenticated() {
    let endpoint = Endpoint::start().await;
    let clock = clock();
    endpoint.know("opaque-1", active(&clock, 3600));
    let api = endpoint.api(&clock, IntrospectionCachePolicy::default());
    let Outcome::Authenticated(principal) = decide(&api, "opaque-1").await else {
        panic!("refused");
    };
    assert_eq!(principal.subject(), "alice");
    assert!(principal.scopes().contains("orders:read"));
    let info = principal.extension::<AccessTokenInfo>().unwrap();
    assert_eq!(info.format, TokenFormat::Opaque);
    assert_eq!(info.client_id.as_deref(), Some("web-app"));

    let request = &endpoint.server.requests()[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.query, None);
    assert_eq!(
        request.basic_credentials(),
        Some((RS_ID.to_owned(), RS_SECRET.to_owned()))
    );
    assert_eq!(request.param("token").as_deref(), Some("opaque-1"));
    assert_eq!(
        request.param("token_type_hint").as_deref(),
        Some("access_token")
    );
}

#[tokio::test]
async fn client_secret_post_is_available_for_introspection() {
    let endpoint = Endpoint::start().await;
    let clock = clock();
    endpoint.know("opaque-1", active(&clock, 3600));
    let api = ResourceServer::builder(ISSUER, AUDIENCE)
        .introspection(
            endpoint.server.url("/introspect"),
            RS_ID,
            Secret::from(RS_SECRET),
        )
        .introspection_auth_method(ClientAuthMethod::ClientSecretPost)
        .clock(clock.shared())
        .http_client(http())
        .build()
        .unwrap();
    assert!(matches!(
        decide(&api, "opaque-1").await,
        Outcome::Authenticated(_)
    ));
    assert_eq!(endpoint.server.requests()[0].header("authorization"), None);
}

#[tokio::test]
async fn an_inactive_token_gets_401() {
    let endpoint = Endpoint::start().await;
    let clock = clock();
    let api = endpoint.api(&clock, IntrospectionCachePolicy::default());
    assert_invalid_token(decide(&api, "revoked-or-unknown").await, "token_inactive");
}

#[tokio::test]
async fn active_answers_for_another_audience_issuer_or_token_type_get_401() {
    let endpoint = Endpoint::start().await;
    let clock = clock();
    let api = endpoint.api(&clock, IntrospectionCachePolicy::default());
    let with = |name: &str, value: Value| {
        let mut answer = active(&clock, 3600);
        answer[name] = value;
        answer
    };
    for (token, answer, reason) in [
        (
            "t-aud",
            with("aud", json!("https://api.example/billing")),
            "token_wrong_audience",
        ),
        (
            "t-iss",
            with("iss", json!("https://evil.example")),
            "token_wrong_issuer",
        ),
        (
            "t-rt",
            with("token_type", json!("refresh_token")),
            "token_wrong_type",
        ),
        (
            "t-cnf",
            with("cnf", json!({"jkt": "x"})),
            "token_sender_constrained",
        ),
        (
            "t-exp",
            with("exp", json!(unix_seconds(clock.now()) - 120)),
            "token_expired",
        ),
    ] {
        endpoint.know(token, answer);
        assert_invalid_token(decide(&api, token).await, reason);
    }
}

#[tokio::test]
async fn results_are_cached_and_never_past_the_token_expiry() {
    let endpoint = Endpoint::start().await;
    let clock = clock();
    endpoint.know("short", active(&clock, 30));
    let api = endpoint.api(&clock, IntrospectionCachePolicy::default());
    for _ in 0..3 {
        assert!(matches!(
            decide(&api, "short").await,
            Outcome::Authenticated(_)
        ));
    }
    assert_eq!(endpoint.server.hits(), 1, "the cache is honoured");
    // The token expires at +30 s, before max_ttl (60 s): the cached answer dies with it.
    clock.advance(Duration::from_secs(31));
    endpoint.know("short", json!({"active": false}));
    assert_invalid_token(decide(&api, "short").await, "token_inactive");
    assert_eq!(endpoint.server.hits(), 2);
}

#[tokio::test]
async fn max_ttl_bounds_how_long_a_revoked_token_keeps_working() {
    let endpoint = Endpoint::start().await;
    let clock = clock();
    endpoint.know("long", active(&clock, 3600));
    let api = endpoint.api(&clock, IntrospectionCachePolicy::default());
    assert!(matches!(
        decide(&api, "long").await,
        Outcome::Authenticated(_)
    ));
    endpoint.know("long", json!({"active": false})); // revoked
    clock.advance(Duration::from_secs(59));
    assert!(matches!(
        decide(&api, "long").await,
        Outcome::Authenticated(_)
    ));
    clock.advance(Duration::from_secs(2));
    assert_invalid_token(decide(&api, "long").await, "token_inactive");
    assert_eq!(endpoint.server.hits(), 2);
}

#[tokio::test]
async fn the_positive_cache_is_bounded() {
    let endpoint = Endpoint::start().await;
    let clock = clock();
    for token in ["a", "b", "c"] {
        endpoint.know(token, active(&clock, 3600));
    }
    let api = endpoint.api(
        &clock,
        IntrospectionCachePolicy {
            max_entries: 2,
            ..IntrospectionCachePolicy::default()
        },
    );
    for token in ["a", "b", "c"] {
        assert!(matches!(
            decide(&api, token).await,
            Outcome::Authenticated(_)
        ));
    }
    assert_eq!(endpoint.server.hits(), 3);
    // "c" and "b" are cached; "a" was evicted to make room.
    assert!(matches!(decide(&api, "c").await, Outcome::Authenticated(_)));
    assert_eq!(endpoint.server.hits(), 3);
    assert!(matches!(decide(&api, "a").await, Outcome::Authenticated(_)));
    assert_eq!(endpoint.server.hits(), 4);
}

#[tokio::test]
async fn negative_results_are_cached_briefly_and_bounded() {
    let endpoint = Endpoint::start().await;
    let clock = clock();
    let api = endpoint.api(
        &clock,
        IntrospectionCachePolicy {
            max_negative_entries: 2,
            ..IntrospectionCachePolicy::default()
        },
    );
    assert_invalid_token(decide(&api, "bad-1").await, "token_inactive");
    assert_invalid_token(decide(&api, "bad-1").await, "token_inactive");
    assert_eq!(endpoint.server.hits(), 1);
    // After negative_ttl (10 s) the server is asked again.
    clock.advance(Duration::from_secs(11));
    assert_invalid_token(decide(&api, "bad-1").await, "token_inactive");
    assert_eq!(endpoint.server.hits(), 2);
    // A spray of bad tokens cannot grow the cache: the oldest entry makes room.
    assert_invalid_token(decide(&api, "bad-2").await, "token_inactive");
    assert_invalid_token(decide(&api, "bad-3").await, "token_inactive");
    assert_eq!(endpoint.server.hits(), 4);
    assert_invalid_token(decide(&api, "bad-1").await, "token_inactive");
    assert_eq!(endpoint.server.hits(), 5, "bad-1 was evicted");
}

#[tokio::test]
async fn an_unreachable_introspection_endpoint_fails_closed_and_is_not_cached() {
    let endpoint = Endpoint::start().await;
    let clock = clock();
    endpoint.know("opaque-1", active(&clock, 3600));
    let api = endpoint.api(&clock, IntrospectionCachePolicy::default());
    endpoint.down.store(true, Ordering::SeqCst);
    let rejection = refused(decide(&api, "opaque-1").await);
    assert_eq!(rejection.status(), 503);
    assert_eq!(rejection.reason(), "introspection_unavailable");
    endpoint.down.store(false, Ordering::SeqCst);
    assert!(matches!(
        decide(&api, "opaque-1").await,
        Outcome::Authenticated(_)
    ));
}

#[tokio::test]
async fn wrong_resource_server_credentials_fail_closed() {
    let endpoint = Endpoint::start().await;
    let clock = clock();
    endpoint.know("opaque-1", active(&clock, 3600));
    let api = ResourceServer::builder(ISSUER, AUDIENCE)
        .introspection(
            endpoint.server.url("/introspect"),
            RS_ID,
            Secret::from("wrong"),
        )
        .clock(clock.shared())
        .http_client(http())
        .build()
        .unwrap();
    // Our own misconfiguration is not the client's fault: 503, not 401.
    assert_eq!(refused(decide(&api, "opaque-1").await).status(), 503);
}

#[tokio::test]
async fn a_missing_scope_gets_403() {
    let endpoint = Endpoint::start().await;
    let clock = clock();
    endpoint.know("reader", active(&clock, 3600));
    let api = ResourceServer::builder(ISSUER, AUDIENCE)
        .introspection(
            endpoint.server.url("/introspect"),
            RS_ID,
            Secret::from(RS_SECRET),
        )
        .require_scopes("orders:write".parse().unwrap())
        .clock(clock.shared())
        .http_client(http())
        .build()
        .unwrap();
    let rejection = refused(decide(&api, "reader").await);
    assert_eq!(rejection.status(), 403);
    assert_eq!(rejection.scope().unwrap().to_string(), "orders:write");
}
