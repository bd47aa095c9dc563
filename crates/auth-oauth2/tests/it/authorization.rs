//! The authorization code grant with PKCE against a token endpoint on 127.0.0.1.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_core::{Clock as _, ManualClock, Secret, unix_seconds};
use auth_oauth2::{
    AuthorizationCodeClient, Backoff, CallbackParams, Error, ErrorCode, PendingAuthorization,
    pkce_s256_challenge,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use sha2::{Digest, Sha256};
use url::Url;

use crate::support::{Reply, Request, Server, clock, http};

const CLIENT_ID: &str = "web-app";
const CLIENT_SECRET: &str = "web-app-secret";
const REDIRECT: &str = "https://app.example/callback";
const CODE: &str = "the-code";

/// RFC 7636 Appendix B.
#[test]
fn pkce_rfc7636_appendix_b() {
    assert_eq!(
        pkce_s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").as_deref(),
        Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    );
}

/// The authorization server's side of the test: what it saw at the authorization endpoint
/// (challenge, nonce) and the refresh token it would accept.
struct AuthorizationServer {
    issuer: String,
    clock: ManualClock,
    challenge: Mutex<Option<String>>,
    nonce: Mutex<Option<String>>,
    live_refresh: Mutex<Option<String>>,
    rotate: bool,
    issued: AtomicUsize,
    /// The nonce to put in ID tokens instead of the right one (an attack).
    forged_nonce: Option<&'static str>,
}

fn id_token(claims: &serde_json::Value) -> String {
    format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(json!({"alg": "ES256", "typ": "JWT"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

impl AuthorizationServer {
    fn handle(&self, request: &Request) -> Reply {
        let error = |status, code: &str| Reply::json(status, json!({"error": code}));
        if request.basic_credentials() != Some((CLIENT_ID.into(), CLIENT_SECRET.into())) {
            return error(401, "invalid_client");
        }
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        match request.param("grant_type").as_deref() {
            Some("authorization_code") => {
                let verifier = request.param("code_verifier").unwrap_or_default();
                let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
                if request.param("code").as_deref() != Some(CODE)
                    || request.param("redirect_uri").as_deref() != Some(REDIRECT)
                    || self.challenge.lock().unwrap().as_deref() != Some(computed.as_str())
                {
                    return error(400, "invalid_grant");
                }
                let refresh = format!("rt-{n}");
                *self.live_refresh.lock().unwrap() = Some(refresh.clone());
                let nonce = self
                    .forged_nonce
                    .map(str::to_owned)
                    .or_else(|| self.nonce.lock().unwrap().clone());
                let now = unix_seconds(self.clock.now());
                Reply::json(
                    200,
                    json!({
                        "access_token": format!("at-{n}"),
                        "token_type": "Bearer",
                        "expires_in": 300,
                        "refresh_token": refresh,
                        "scope": "openid orders:read",
                        "id_token": id_token(&json!({
                            "iss": self.issuer, "sub": "alice", "aud": CLIENT_ID,
                            "exp": now + 300, "iat": now, "nonce": nonce,
                        })),
                    }),
                )
            }
            Some("refresh_token") => {
                let mut live = self.live_refresh.lock().unwrap();
                if live.is_none() || request.param("refresh_token") != *live {
                    return error(400, "invalid_grant");
                }
                let mut body = json!({"access_token": format!("at-{n}"), "token_type": "Bearer", "expires_in": 300});
                if self.rotate {
                    let rotated = format!("rt-{n}");
                    body["refresh_token"] = json!(rotated);
                    *live = Some(rotated);
                }
                Reply::json(200, body)
            }
            _ => error(400, "unsupported_grant_type"),
        }
    }
}

struct Setup {
    server: Server,
    authorization_server: Arc<AuthorizationServer>,
    client: AuthorizationCodeClient,
    clock: ManualClock,
}

async fn setup(rotate: bool, forged_nonce: Option<&'static str>) -> Setup {
    let clock = clock();
    let issuer = "https://id.example".to_owned();
    let authorization_server = Arc::new(AuthorizationServer {
        issuer: issuer.clone(),
        clock: clock.clone(),
        challenge: Mutex::new(None),
        nonce: Mutex::new(None),
        live_refresh: Mutex::new(None),
        rotate,
        issued: AtomicUsize::new(0),
        forged_nonce,
    });
    let handler = Arc::clone(&authorization_server);
    let server = Server::start(move |request: &Request| handler.handle(request)).await;
    let client = AuthorizationCodeClient::builder(
        CLIENT_ID,
        "https://id.example/authorize",
        server.url("/token"),
        REDIRECT,
    )
    .client_secret(Secret::from(CLIENT_SECRET))
    .issuer(issuer)
    .scopes("openid orders:read".parse().unwrap())
    .clock(clock.shared())
    .http_client(http())
    .backoff(Backoff {
        base_delay: Duration::ZERO,
        ..Backoff::default()
    })
    .build()
    .unwrap();
    Setup {
        server,
        authorization_server,
        client,
        clock,
    }
}

fn query(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

/// The user goes to the authorization endpoint: it records the challenge and nonce, and
/// redirects back with `code`, `state` and `iss`.
fn authorize(s: &Setup, nonce: bool) -> (PendingAuthorization, String) {
    let mut request = s.client.authorization_url();
    if nonce {
        request = request.oidc_nonce();
    }
    let (url, pending) = request.build().unwrap();
    assert_eq!(
        query(&url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    *s.authorization_server.challenge.lock().unwrap() = query(&url, "code_challenge");
    *s.authorization_server.nonce.lock().unwrap() = query(&url, "nonce");
    let state = query(&url, "state").unwrap();
    let callback = format!("code={CODE}&state={state}&iss=https%3A%2F%2Fid.example");
    (pending, callback)
}

#[tokio::test]
async fn login_exchanges_the_code_with_the_pkce_verifier() {
    let s = setup(false, None).await;
    let (pending, callback) = authorize(&s, true);
    // The pending authorization survives a session store between the two requests.
    let stored = serde_json::to_string(&pending).unwrap();
    let pending: PendingAuthorization = serde_json::from_str(&stored).unwrap();

    let tokens = s
        .client
        .callback(pending, &CallbackParams::parse(&callback).unwrap())
        .await
        .unwrap();
    assert_eq!(tokens.access_token().expose_str(), "at-1");
    assert_eq!(tokens.refresh_token().unwrap().expose_str(), Some("rt-1"));
    assert_eq!(
        tokens.access_token().scopes().unwrap().to_string(),
        "openid orders:read"
    );
    assert_eq!(tokens.id_token_claims().unwrap()["sub"], "alice");
    assert_eq!(s.server.hits(), 1);
    let request = &s.server.requests()[0];
    assert_eq!(request.query, None);
    assert_eq!(request.param("client_secret"), None);
}

#[tokio::test]
async fn a_wrong_or_missing_state_is_refused_before_any_token_request() {
    let s = setup(false, None).await;
    let (pending, _) = authorize(&s, false);
    for (callback, expected) in [
        (format!("code={CODE}"), "missing"),
        (format!("code={CODE}&state=forged"), "mismatch"),
        (format!("code={CODE}&state="), "mismatch"),
    ] {
        let result = s
            .client
            .callback(pending.clone(), &CallbackParams::parse(&callback).unwrap())
            .await;
        match (expected, result) {
            ("missing", Err(Error::MissingState)) | ("mismatch", Err(Error::StateMismatch)) => {}
            (_, other) => panic!("{callback}: {other:?}"),
        }
    }
    // Another login's state is refused too: each pending authorization has its own.
    let (_, other_callback) = authorize(&s, false);
    assert!(matches!(
        s.client
            .callback(pending, &CallbackParams::parse(&other_callback).unwrap())
            .await,
        Err(Error::StateMismatch)
    ));
    assert_eq!(s.server.hits(), 0, "no code was sent to the token endpoint");
}

#[tokio::test]
async fn an_iss_from_another_server_is_refused_rfc9207() {
    let s = setup(false, None).await;
    let (pending, callback) = authorize(&s, false);
    let mixed_up = callback.replace("id.example", "evil.example");
    match s
        .client
        .callback(pending, &CallbackParams::parse(&mixed_up).unwrap())
        .await
    {
        Err(Error::IssuerMismatch { expected, received }) => {
            assert_eq!(expected, "https://id.example");
            assert_eq!(received, "https://evil.example");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.server.hits(), 0);
}

#[tokio::test]
async fn a_missing_iss_is_refused_when_the_server_always_sends_it() {
    let s = setup(false, None).await;
    let (pending, callback) = authorize(&s, false);
    let without_iss = callback.split("&iss=").next().unwrap().to_owned();
    // Accepted by a client that does not require it...
    let code = s
        .client
        .validate_callback(&pending, &CallbackParams::parse(&without_iss).unwrap());
    assert!(code.is_ok());
    // ...refused by one that does.
    let strict = AuthorizationCodeClient::builder(
        CLIENT_ID,
        "https://id.example/authorize",
        s.server.url("/token"),
        REDIRECT,
    )
    .client_secret(Secret::from(CLIENT_SECRET))
    .issuer("https://id.example")
    .require_issuer_in_response(true)
    .clock(s.clock.shared())
    .build()
    .unwrap();
    assert!(matches!(
        strict.validate_callback(&pending, &CallbackParams::parse(&without_iss).unwrap()),
        Err(Error::MissingIssuer)
    ));
}

#[tokio::test]
async fn an_error_response_is_a_typed_error() {
    let s = setup(false, None).await;
    let (pending, callback) = authorize(&s, false);
    let state = query(
        &Url::parse(&format!("https://x/?{callback}")).unwrap(),
        "state",
    )
    .unwrap();
    let denied = format!(
        "error=access_denied&error_description=The%20user%20denied%20access&state={state}&iss=https%3A%2F%2Fid.example"
    );
    match s
        .client
        .callback(pending, &CallbackParams::parse(&denied).unwrap())
        .await
    {
        Err(Error::Authorization(error)) => {
            assert_eq!(error.code(), &ErrorCode::AccessDenied);
            assert_eq!(error.description(), Some("The user denied access"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_id_token_with_another_nonce_is_refused() {
    let s = setup(false, Some("replayed-nonce")).await;
    let (pending, callback) = authorize(&s, true);
    assert!(matches!(
        s.client
            .callback(pending, &CallbackParams::parse(&callback).unwrap())
            .await,
        Err(Error::IdToken("nonce does not match"))
    ));
}

#[tokio::test]
async fn a_stale_pending_authorization_is_refused() {
    let s = setup(false, None).await;
    let (pending, callback) = authorize(&s, false);
    s.clock.advance(Duration::from_secs(601));
    assert!(matches!(
        s.client
            .callback(pending, &CallbackParams::parse(&callback).unwrap())
            .await,
        Err(Error::PendingExpired)
    ));
}

#[tokio::test]
async fn rotated_refresh_tokens_replace_the_old_ones() {
    let s = setup(true, None).await;
    let (pending, callback) = authorize(&s, false);
    let first = s
        .client
        .callback(pending, &CallbackParams::parse(&callback).unwrap())
        .await
        .unwrap();
    let second = s.client.refresh(&first).await.unwrap();
    assert_eq!(second.access_token().expose_str(), "at-2");
    assert_eq!(second.refresh_token().unwrap().expose_str(), Some("rt-2"));
    // Scopes carry over when the refresh response leaves them out.
    assert_eq!(
        second.access_token().scopes().unwrap().to_string(),
        "openid orders:read"
    );
    assert!(second.id_token().is_some());
    // The stored (new) refresh token keeps working...
    let third = s.client.refresh(&second).await.unwrap();
    assert_eq!(third.refresh_token().unwrap().expose_str(), Some("rt-3"));
    // ...and the spent one is refused: the user must log in again.
    let reused = s.client.refresh(&first).await.unwrap_err();
    assert!(reused.requires_login(), "{reused}");
}

#[tokio::test]
async fn without_rotation_the_refresh_token_is_kept() {
    let s = setup(false, None).await;
    let (pending, callback) = authorize(&s, false);
    let first = s
        .client
        .callback(pending, &CallbackParams::parse(&callback).unwrap())
        .await
        .unwrap();
    let second = s.client.refresh(&first).await.unwrap();
    assert_eq!(second.access_token().expose_str(), "at-2");
    assert_eq!(second.refresh_token().unwrap().expose_str(), Some("rt-1"));
    let third = s.client.refresh(&second).await.unwrap();
    assert_eq!(third.access_token().expose_str(), "at-3");
}

#[tokio::test]
async fn a_code_exchange_that_reached_the_server_is_not_repeated() {
    let calls = AtomicUsize::new(0);
    let server = Server::start(move |_: &Request| {
        calls.fetch_add(1, Ordering::SeqCst);
        Reply::json(500, json!({"error": "server_error"}))
    })
    .await;
    let client = AuthorizationCodeClient::builder(
        CLIENT_ID,
        "https://id.example/authorize",
        server.url("/token"),
        REDIRECT,
    )
    .client_secret(Secret::from(CLIENT_SECRET))
    .http_client(http())
    .backoff(Backoff {
        base_delay: Duration::ZERO,
        ..Backoff::default()
    })
    .build()
    .unwrap();
    let (url, pending) = client.authorization_url().build().unwrap();
    let state = query(&url, "state").unwrap();
    let error = client
        .callback(
            pending,
            &CallbackParams::parse(&format!("code={CODE}&state={state}")).unwrap(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Status { status: 500, .. }),
        "{error:?}"
    );
    assert_eq!(
        server.hits(),
        1,
        "a code is single-use: a 500 is not retried"
    );
}
