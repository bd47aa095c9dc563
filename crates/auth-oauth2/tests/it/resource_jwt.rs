//! The resource server with RFC 9068 JWT access tokens, keys found through the issuer's
//! RFC 8414 metadata served on 127.0.0.1.

use std::time::Duration;

use auth_core::{
    AuthRequest, HeaderList, ManualClock, Outcome, Principal, Rejection, RejectionKind,
    authenticate,
};
use auth_jwt::{Algorithm, Issuer, Key, KeySet};
use auth_oauth2::{AccessTokenInfo, ResourceServer, TokenFormat};
use serde_json::{Value, json};

use crate::support::{Reply, Request, Server, clock};

const AUDIENCE: &str = "https://api.example/orders";

struct Setup {
    server: Server,
    keys: KeySet,
    clock: ManualClock,
    api: ResourceServer,
}

/// An authorization server publishing RFC 8414 metadata and its JWKS (no OpenID
/// configuration: discovery falls back to the RFC 8414 document).
async fn setup() -> Setup {
    let keys = KeySet::single(Key::generate("as-key-1", Algorithm::ES256).unwrap());
    let jwks = serde_json::to_value(keys.jwks()).unwrap();
    let server = Server::start(move |request: &Request| {
        let issuer = format!("http://{}", request.header("host").unwrap());
        match request.path.as_str() {
            "/.well-known/oauth-authorization-server" => Reply::json(
                200,
                json!({
                    "issuer": issuer,
                    "jwks_uri": format!("{issuer}/jwks.json"),
                    "token_endpoint": format!("{issuer}/token"),
                }),
            ),
            "/jwks.json" => Reply::json(200, jwks.clone()),
            _ => Reply::not_found(),
        }
    })
    .await;
    let clock = clock();
    let api = ResourceServer::builder(server.base.clone(), AUDIENCE)
        .realm("orders")
        .clock(clock.shared())
        .build()
        .unwrap();
    Setup {
        server,
        keys,
        clock,
        api,
    }
}

impl Setup {
    fn issuer(&self) -> auth_jwt::IssuerBuilder {
        Issuer::builder(self.keys.clone())
            .issuer(self.server.base.clone())
            .audience(AUDIENCE)
            .typ("at+jwt")
            .clock(self.clock.shared())
    }

    fn token(&self, claims: Value) -> String {
        self.issuer()
            .build()
            .unwrap()
            .issue("alice", &claims)
            .unwrap()
    }

    async fn decide(&self, token: &str) -> Outcome {
        decide(&self.api, token).await
    }
}

async fn decide(api: &ResourceServer, token: &str) -> Outcome {
    let headers = HeaderList::new().with("Authorization", format!("Bearer {token}"));
    authenticate(api, &AuthRequest::new("GET", "/orders", &headers)).await
}

fn accepted(outcome: Outcome) -> Principal {
    match outcome {
        Outcome::Authenticated(principal) => principal,
        other => panic!("expected a principal, got {other:?}"),
    }
}

fn refused(outcome: Outcome) -> Rejection {
    match outcome {
        Outcome::Rejected(rejection) => rejection,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// 401 `invalid_token` with a Bearer challenge naming the error; `reason` for the audit log.
fn assert_invalid_token(outcome: Outcome, reason: &str) {
    let rejection = refused(outcome);
    assert_eq!(rejection.status(), 401);
    assert_eq!(rejection.kind(), RejectionKind::InvalidToken);
    assert_eq!(rejection.reason(), reason);
    let challenge = rejection.www_authenticate().next().unwrap();
    assert!(
        challenge.starts_with(r#"Bearer realm="orders", error="invalid_token""#),
        "{challenge}"
    );
}

fn client_claims() -> Value {
    json!({"client_id": "web-app", "scope": "orders:read profile"})
}

#[tokio::test]
async fn a_valid_at_jwt_is_accepted_with_keys_from_the_issuer_metadata() {
    let s = setup().await;
    let principal = accepted(s.decide(&s.token(client_claims())).await);
    assert_eq!(principal.subject(), "alice");
    assert!(principal.scopes().contains("orders:read"));
    let info = principal.extension::<AccessTokenInfo>().unwrap();
    assert_eq!(info.format, TokenFormat::Jwt);
    assert_eq!(info.client_id.as_deref(), Some("web-app"));
    assert_eq!(info.issuer.as_deref(), Some(s.server.base.as_str()));
    assert_eq!(principal.key_id(), info.token_id.as_deref());
    assert!(principal.extension::<auth_jwt::VerifiedClaims>().is_some());

    // Discovery and the JWKS are fetched once, then cached.
    accepted(s.decide(&s.token(client_claims())).await);
    assert_eq!(
        s.server.hits_on("/.well-known/oauth-authorization-server"),
        1
    );
    assert_eq!(s.server.hits_on("/jwks.json"), 1);
}

#[tokio::test]
async fn a_token_for_another_audience_gets_401() {
    let s = setup().await;
    let token = Issuer::builder(s.keys.clone())
        .issuer(s.server.base.clone())
        .audience("https://api.example/billing")
        .typ("at+jwt")
        .clock(s.clock.shared())
        .build()
        .unwrap()
        .issue("alice", &client_claims())
        .unwrap();
    assert_invalid_token(s.decide(&token).await, "jwt_bad_audience");
}

#[tokio::test]
async fn a_token_from_another_issuer_gets_401() {
    let s = setup().await;
    let token = s
        .issuer()
        .issuer("https://evil.example")
        .build()
        .unwrap()
        .issue("alice", &client_claims())
        .unwrap();
    assert_invalid_token(s.decide(&token).await, "jwt_bad_issuer");
}

#[tokio::test]
async fn a_token_whose_typ_is_not_at_jwt_gets_401() {
    let s = setup().await;
    // An ID token or any other JWT signed by the same keys is not an access token.
    for typ in ["JWT", "id_token+jwt"] {
        let token = s
            .issuer()
            .typ(typ)
            .build()
            .unwrap()
            .issue("alice", &client_claims())
            .unwrap();
        assert_invalid_token(s.decide(&token).await, "jwt_wrong_typ");
    }
    let token = s
        .issuer()
        .typ("application/at+jwt")
        .build()
        .unwrap()
        .issue("alice", &client_claims())
        .unwrap();
    accepted(s.decide(&token).await);
}

#[tokio::test]
async fn an_expired_token_gets_401() {
    let s = setup().await;
    let token = s
        .issuer()
        .ttl(Duration::from_secs(300))
        .build()
        .unwrap()
        .issue("alice", &client_claims())
        .unwrap();
    accepted(s.decide(&token).await);
    s.clock.advance(
        Duration::from_secs(300) + ResourceServer::DEFAULT_LEEWAY + Duration::from_secs(1),
    );
    assert_invalid_token(s.decide(&token).await, "jwt_expired");
}

#[tokio::test]
async fn rfc9068_claims_are_required() {
    let s = setup().await;
    let token = s.token(json!({"scope": "orders:read"}));
    assert_invalid_token(s.decide(&token).await, "at_missing_client_id");
    // A sender-constrained token cannot be honoured as a bearer token.
    let token = s.token(json!({"client_id": "c", "cnf": {"jkt": "abc"}}));
    assert_invalid_token(s.decide(&token).await, "token_sender_constrained");
}

#[tokio::test]
async fn a_token_signed_with_an_unknown_key_gets_401() {
    let s = setup().await;
    let other = KeySet::single(Key::generate("attacker", Algorithm::ES256).unwrap());
    let token = Issuer::builder(other)
        .issuer(s.server.base.clone())
        .audience(AUDIENCE)
        .typ("at+jwt")
        .clock(s.clock.shared())
        .build()
        .unwrap()
        .issue("alice", &client_claims())
        .unwrap();
    assert_invalid_token(s.decide(&token).await, "jwt_unknown_kid");
}

#[tokio::test]
async fn a_missing_scope_gets_403_insufficient_scope() {
    let s = setup().await;
    let writer = ResourceServer::builder(s.server.base.clone(), AUDIENCE)
        .realm("orders")
        .clock(s.clock.shared())
        .require_scopes("orders:write".parse().unwrap())
        .build()
        .unwrap();
    let rejection = refused(decide(&writer, &s.token(client_claims())).await);
    assert_eq!(rejection.status(), 403);
    assert_eq!(rejection.kind(), RejectionKind::InsufficientScope);
    let challenge = rejection.www_authenticate().next().unwrap();
    assert!(
        challenge.contains(r#"error="insufficient_scope""#)
            && challenge.contains(r#"scope="orders:write""#),
        "{challenge}"
    );
    let token = s.token(json!({"client_id": "web-app", "scope": "orders:write"}));
    accepted(decide(&writer, &token).await);
}

#[tokio::test]
async fn no_token_is_no_credential_and_a_token_in_the_url_is_400() {
    let s = setup().await;
    let none = HeaderList::new();
    assert!(matches!(
        authenticate(&s.api, &AuthRequest::new("GET", "/orders", &none)).await,
        Outcome::NoCredential
    ));
    let token = s.token(client_claims());
    let in_url = format!("/orders?access_token={token}");
    let rejection = refused(authenticate(&s.api, &AuthRequest::new("GET", &in_url, &none)).await);
    assert_eq!(rejection.status(), 400);
    assert_eq!(rejection.reason(), "token_in_query");
}

#[tokio::test]
async fn an_unreachable_issuer_fails_closed_with_503() {
    let down = Server::start(|_: &Request| Reply::json(500, json!({}))).await;
    let clock = clock();
    let api = ResourceServer::builder(down.base.clone(), AUDIENCE)
        .clock(clock.shared())
        .build()
        .unwrap();
    let keys = KeySet::single(Key::generate("k", Algorithm::ES256).unwrap());
    let token = Issuer::builder(keys)
        .issuer(down.base.clone())
        .audience(AUDIENCE)
        .typ("at+jwt")
        .clock(clock.shared())
        .build()
        .unwrap()
        .issue("alice", &client_claims())
        .unwrap();
    let rejection = refused(decide(&api, &token).await);
    assert_eq!(rejection.status(), 503);
    assert_eq!(rejection.www_authenticate().count(), 0);
}

#[test]
fn insecure_issuers_are_refused_at_build() {
    assert!(
        ResourceServer::builder("http://id.example", AUDIENCE)
            .build()
            .is_err()
    );
    assert!(
        ResourceServer::builder("https://id.example", "")
            .build()
            .is_err()
    );
    assert!(
        ResourceServer::builder("https://id.example", AUDIENCE)
            .jwt_keys_from_url("http://keys.example/jwks.json")
            .build()
            .is_err()
    );
}
