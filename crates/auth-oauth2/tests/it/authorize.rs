//! The authorization endpoint and the `authorization_code` grant called directly (no
//! HTTP), and part 1's `AuthorizationCodeClient` logging in against them end to end: exact
//! redirect URI matching, PKCE S256 only, single-use codes bound to client, redirect URI
//! and challenge, reuse revoking the first redemption's tokens, public clients.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use auth_core::{AuthRequest, HeaderList, ManualClock, Secret};
use auth_jwt::{Algorithm, Key, KeySet, MemoryRevocationStore, RevocationStore};
use auth_oauth2::{
    AuthenticatedUser, AuthorizationCodeClient, AuthorizationCodeRecord, AuthorizationCodeStore,
    AuthorizeOutcome, CallbackParams, ClientConfig, CodeTake, EndpointResponse, GrantType,
    MemoryAuthorizationCodeStore, MemoryClientRegistry, MemoryConsentStore, StoreError,
    TokenFormat, TokenHash, TokenService, pkce_s256_challenge,
};
use tokio::net::TcpListener;

use crate::support;

const ISSUER: &str = "https://id.example";
const ORDERS: &str = "https://api.example/orders";
/// The public (native) client's loopback redirect: only the port may vary.
const NATIVE_CB: &str = "http://127.0.0.1:8080/callback";
/// The confidential web client's redirect.
const WEB_CB: &str = "https://app.example/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

struct Fixture {
    service: TokenService,
    clock: ManualClock,
    consents: MemoryConsentStore,
    revocations: Arc<MemoryRevocationStore>,
    web_secret: Secret,
}

fn fixture_with(codes: Option<Arc<dyn AuthorizationCodeStore>>) -> Fixture {
    let clock = support::clock();
    let clients = Arc::new(MemoryClientRegistry::new());
    clients
        .register_public(
            ClientConfig::new("native")
                .public()
                .grant(GrantType::AuthorizationCode)
                .grant(GrantType::RefreshToken)
                .scopes("orders:read orders:write".parse().unwrap())
                .default_scopes("orders:read".parse().unwrap())
                .audience(ORDERS)
                .redirect_uri(NATIVE_CB),
        )
        .unwrap();
    let web_secret = clients
        .register(
            ClientConfig::new("web")
                .grant(GrantType::AuthorizationCode)
                .scopes("orders:read".parse().unwrap())
                .audience(ORDERS)
                .redirect_uri(WEB_CB),
        )
        .unwrap();
    let revocations = Arc::new(MemoryRevocationStore::new(clock.shared()));
    let mut builder = TokenService::builder(
        ISSUER,
        KeySet::single(Key::generate("as-1", Algorithm::ES256).unwrap()),
        clients,
    )
    .audience(ORDERS, TokenFormat::Jwt)
    .jwt_revocations(revocations.clone())
    .clock(clock.shared());
    if let Some(codes) = codes {
        builder = builder.authorization_code_store(codes);
    }
    Fixture {
        service: builder.build().unwrap(),
        clock,
        consents: MemoryConsentStore::new(),
        revocations,
        web_secret,
    }
}

fn fixture() -> Fixture {
    fixture_with(None)
}

fn challenge() -> String {
    pkce_s256_challenge(VERIFIER).unwrap()
}

fn query(pairs: &[(&str, &str)]) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        form.append_pair(name, value);
    }
    form.finish()
}

/// A well-formed authorization request's parameters for `client_id` and `redirect_uri`.
fn params<'a>(
    client_id: &'a str,
    redirect_uri: &'a str,
    challenge: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("scope", "orders:read"),
        ("state", "st-123"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
}

fn alice() -> AuthenticatedUser {
    AuthenticatedUser::new("alice")
}

fn query_of(location: &str) -> Vec<(String, String)> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

fn param(location: &str, name: &str) -> Option<String> {
    query_of(location)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

impl Fixture {
    async fn authorize(&self, query: &str, user: Option<&AuthenticatedUser>) -> AuthorizeOutcome {
        let headers = HeaderList::new();
        let target = format!("/authorize?{query}");
        let request = AuthRequest::new("GET", &target, &headers).with_secure(true);
        self.service.authorize(&request, user, &self.consents).await
    }

    async fn approve(&self, query: &str, remember: bool) -> AuthorizeOutcome {
        let headers = HeaderList::new();
        let target = format!("/authorize?{query}");
        let request = AuthRequest::new("POST", &target, &headers).with_secure(true);
        self.service
            .decide(&request, &alice(), true, remember, &self.consents)
            .await
    }

    /// A code for `native` (consent given on the way).
    async fn native_code(&self) -> String {
        let challenge = challenge();
        let outcome = self
            .approve(&query(&params("native", NATIVE_CB, &challenge)), false)
            .await;
        let AuthorizeOutcome::Redirect { location } = outcome else {
            panic!("no code: {outcome:?}");
        };
        param(&location, "code").unwrap()
    }

    async fn token(&self, body: &str, basic: Option<(&str, &Secret)>) -> EndpointResponse {
        let mut headers =
            HeaderList::new().with("Content-Type", "application/x-www-form-urlencoded");
        if let Some((id, secret)) = basic {
            use base64::Engine as _;
            let pair = format!("{id}:{}", secret.expose_str().unwrap());
            headers.push(
                "Authorization",
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ),
            );
        }
        let request = AuthRequest::new("POST", "/token", &headers)
            .with_body(Some(body.as_bytes()))
            .with_secure(true);
        self.service.token(&request).await
    }

    async fn redeem(&self, code: &str, verifier: &str) -> EndpointResponse {
        let body = query(&[
            ("grant_type", "authorization_code"),
            ("client_id", "native"),
            ("code", code),
            ("redirect_uri", NATIVE_CB),
            ("code_verifier", verifier),
        ]);
        self.token(&body, None).await
    }
}

fn error(response: &EndpointResponse) -> (u16, String) {
    (
        response.status(),
        response.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

fn invalid_grant() -> (u16, String) {
    (400, "invalid_grant".to_owned())
}

#[tokio::test]
async fn login_then_consent_then_a_code_with_state_and_iss_that_pkce_redeems() {
    let f = fixture();
    let challenge = challenge();
    let q = query(&params("native", NATIVE_CB, &challenge));
    // Nobody logged in: to the login page, coming back to this very request.
    let AuthorizeOutcome::Login { return_to } = f.authorize(&q, None).await else {
        panic!("no login redirect");
    };
    assert_eq!(return_to, format!("/authorize?{q}"));
    // Logged in, no consent yet: the prompt names client and scopes.
    let AuthorizeOutcome::Consent(prompt) = f.authorize(&q, Some(&alice())).await else {
        panic!("no consent prompt");
    };
    assert_eq!(prompt.client_id, "native");
    assert_eq!(prompt.scopes.to_string(), "orders:read");
    assert_eq!(prompt.request_query, q);
    // Approved and remembered: a code, state and iss (RFC 9207).
    let AuthorizeOutcome::Redirect { location } = f.approve(&prompt.request_query, true).await
    else {
        panic!("no code");
    };
    assert!(location.starts_with("http://127.0.0.1:8080/callback?code="));
    assert_eq!(param(&location, "state").as_deref(), Some("st-123"));
    assert_eq!(param(&location, "iss").as_deref(), Some(ISSUER));
    let code = param(&location, "code").unwrap();
    assert_eq!(code.len(), 43, "256 random bits, base64url");
    let response = f.redeem(&code, VERIFIER).await;
    assert_eq!(response.status(), 200, "{}", response.body());
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let body = response.json();
    assert_eq!(body["scope"], "orders:read");
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    // The public client's refresh token rotates.
    let refreshed = f
        .token(
            &query(&[
                ("grant_type", "refresh_token"),
                ("client_id", "native"),
                ("refresh_token", &refresh),
            ]),
            None,
        )
        .await;
    assert_eq!(refreshed.status(), 200, "{}", refreshed.body());
    assert_ne!(refreshed.json()["refresh_token"], refresh.as_str());
    // Remembered consent: the next request goes straight to a code.
    assert!(matches!(
        f.authorize(&q, Some(&alice())).await,
        AuthorizeOutcome::Redirect { .. }
    ));
    // Wider scopes than remembered: asked again.
    let wider = query(&[
        ("response_type", "code"),
        ("client_id", "native"),
        ("redirect_uri", NATIVE_CB),
        ("scope", "orders:read orders:write"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    assert!(matches!(
        f.authorize(&wider, Some(&alice())).await,
        AuthorizeOutcome::Consent(_)
    ));
}

#[tokio::test]
async fn redirect_uri_variants_are_shown_as_errors_never_followed() {
    let f = fixture();
    let challenge = challenge();
    let variants = [
        "https://app.example/cb/",
        "https://APP.example/cb",
        "https://App.Example/cb",
        "https://app.example/cb?extra=1",
        "https://app.example/cb/../x",
        "https://app.example/x/../cb",
        "https://user@app.example/cb",
        "https://user:pw@app.example/cb",
        "https://app.example:8443/cb",
        "http://app.example/cb",
        "https://evil.example/cb",
        "https://app.example/cb#frag",
    ];
    for variant in variants {
        let q = query(&params("web", variant, &challenge));
        let outcome = f.authorize(&q, Some(&alice())).await;
        let AuthorizeOutcome::ShowError(shown) = &outcome else {
            panic!("{variant}: {outcome:?}");
        };
        assert_eq!(shown.reason(), "redirect_uri_mismatch", "{variant}");
        assert_eq!(outcome.location(), None);
    }
    // A loopback redirect may change its port, nothing else.
    let other_port = "http://127.0.0.1:51000/callback";
    assert!(matches!(
        f.approve(&query(&params("native", other_port, &challenge)), false)
            .await,
        AuthorizeOutcome::Redirect { .. }
    ));
    for variant in [
        "http://127.0.0.1:51000/callback/",
        "http://localhost:8080/callback",
        "http://127.0.0.1:8080/callback?x=1",
        "https://127.0.0.1:8080/callback",
    ] {
        let outcome = f
            .approve(&query(&params("native", variant, &challenge)), false)
            .await;
        assert!(
            matches!(outcome, AuthorizeOutcome::ShowError(_)),
            "{variant}: {outcome:?}"
        );
    }
    // Unknown client, missing redirect, repeated client_id, plain HTTP: shown, not sent.
    let unknown = f
        .authorize(&query(&params("nobody", WEB_CB, &challenge)), None)
        .await;
    assert!(matches!(unknown, AuthorizeOutcome::ShowError(_)));
    let missing = query(&[("response_type", "code"), ("client_id", "web")]);
    assert!(matches!(
        f.authorize(&missing, None).await,
        AuthorizeOutcome::ShowError(_)
    ));
    let repeated = format!(
        "{}&client_id=native",
        query(&params("web", WEB_CB, &challenge))
    );
    assert!(matches!(
        f.authorize(&repeated, None).await,
        AuthorizeOutcome::ShowError(_)
    ));
    let headers = HeaderList::new();
    let target = format!("/authorize?{}", query(&params("web", WEB_CB, &challenge)));
    let plain = AuthRequest::new("GET", &target, &headers).with_secure(false);
    let outcome = f
        .service
        .authorize(&plain, Some(&alice()), &f.consents)
        .await;
    assert!(
        matches!(outcome, AuthorizeOutcome::ShowError(e) if e.reason() == "insecure_transport")
    );
}

#[tokio::test]
async fn pkce_s256_is_required_and_plain_refused_with_redirected_errors() {
    let f = fixture();
    let challenge = challenge();
    let redirected_error = |outcome: &AuthorizeOutcome| match outcome {
        AuthorizeOutcome::RedirectError { location, error } => {
            assert!(location.starts_with(WEB_CB), "{location}");
            assert_eq!(param(location, "state").as_deref(), Some("st-123"));
            assert_eq!(param(location, "iss").as_deref(), Some(ISSUER));
            error.as_str().to_owned()
        }
        other => panic!("not a redirected error: {other:?}"),
    };
    let mut no_challenge = params("web", WEB_CB, &challenge);
    no_challenge.retain(|(n, _)| *n != "code_challenge");
    let mut no_method = params("web", WEB_CB, &challenge);
    no_method.retain(|(n, _)| *n != "code_challenge_method");
    let plain: Vec<_> = params("web", WEB_CB, VERIFIER)
        .into_iter()
        .map(|(n, v)| {
            if n == "code_challenge_method" {
                (n, "plain")
            } else {
                (n, v)
            }
        })
        .collect();
    let short = &challenge[..42];
    let mut token = params("web", WEB_CB, &challenge);
    token[0] = ("response_type", "token");
    let mut wide = params("web", WEB_CB, &challenge);
    wide[3] = ("scope", "orders:write");
    for (pairs, expected) in [
        (no_challenge, "invalid_request"),
        (no_method, "invalid_request"),
        (plain, "invalid_request"),
        (params("web", WEB_CB, short), "invalid_request"),
        (token, "unsupported_response_type"),
        (wide, "invalid_scope"),
    ] {
        let outcome = f.authorize(&query(&pairs), Some(&alice())).await;
        assert_eq!(redirected_error(&outcome), expected, "{pairs:?}");
    }
    // Denied consent: access_denied.
    let headers = HeaderList::new();
    let target = format!("/authorize?{}", query(&params("web", WEB_CB, &challenge)));
    let request = AuthRequest::new("POST", &target, &headers).with_secure(true);
    let denied = f
        .service
        .decide(&request, &alice(), false, true, &f.consents)
        .await;
    assert_eq!(redirected_error(&denied), "access_denied");
    // prompt=none without a login: login_required, redirected.
    let mut none = params("web", WEB_CB, &challenge);
    none.push(("prompt", "none"));
    assert_eq!(
        redirected_error(&f.authorize(&query(&none), None).await),
        "login_required"
    );
}

#[tokio::test]
async fn wrong_malformed_or_missing_verifiers_are_invalid_grant() {
    let f = fixture();
    let other_verifier = "x".repeat(43);
    for verifier in [
        other_verifier.as_str(),
        &VERIFIER[..42],
        &"a".repeat(129),
        "",
    ] {
        let code = f.native_code().await;
        assert_eq!(
            error(&f.redeem(&code, verifier).await),
            invalid_grant(),
            "{verifier:?}"
        );
    }
    // The right verifier of 128 characters works.
    let long = "b".repeat(128);
    let long_challenge = pkce_s256_challenge(&long).unwrap();
    let AuthorizeOutcome::Redirect { location } = f
        .approve(&query(&params("native", NATIVE_CB, &long_challenge)), false)
        .await
    else {
        panic!("no code");
    };
    let code = param(&location, "code").unwrap();
    assert_eq!(f.redeem(&code, &long).await.status(), 200);
}

/// A store that returns a record without a challenge (as a downgraded request would have
/// made): a verifier must not make it redeemable.
#[derive(Debug)]
struct NoChallenge(MemoryAuthorizationCodeStore);

#[async_trait]
impl AuthorizationCodeStore for NoChallenge {
    async fn insert(&self, mut record: AuthorizationCodeRecord) -> Result<(), StoreError> {
        record.code_challenge = None;
        self.0.insert(record).await
    }
    async fn take(&self, hash: &TokenHash) -> Result<CodeTake, StoreError> {
        self.0.take(hash).await
    }
    async fn attach_access_token(
        &self,
        hash: &TokenHash,
        id: &str,
        expires_at: std::time::SystemTime,
    ) -> Result<bool, StoreError> {
        self.0.attach_access_token(hash, id, expires_at).await
    }
}

#[tokio::test]
async fn a_verifier_without_a_challenge_is_invalid_grant() {
    let store = Arc::new(NoChallenge(MemoryAuthorizationCodeStore::new(
        support::clock().shared(),
    )));
    let f = fixture_with(Some(store));
    let code = f.native_code().await;
    assert_eq!(error(&f.redeem(&code, VERIFIER).await), invalid_grant());
}

#[tokio::test]
async fn a_reused_code_is_invalid_grant_and_revokes_the_first_tokens() {
    let f = fixture();
    let code = f.native_code().await;
    let first = f.redeem(&code, VERIFIER).await;
    assert_eq!(first.status(), 200);
    let first = first.json();
    let access = first["access_token"].as_str().unwrap();
    let refresh = first["refresh_token"].as_str().unwrap();
    let jti = {
        use base64::Engine as _;
        let payload = access.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        let claims: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        claims["jti"].as_str().unwrap().to_owned()
    };
    assert!(!f.revocations.is_revoked(&jti).await.unwrap());
    assert_eq!(error(&f.redeem(&code, VERIFIER).await), invalid_grant());
    assert!(
        f.revocations.is_revoked(&jti).await.unwrap(),
        "access token revoked"
    );
    let refreshed = f
        .token(
            &query(&[
                ("grant_type", "refresh_token"),
                ("client_id", "native"),
                ("refresh_token", refresh),
            ]),
            None,
        )
        .await;
    assert_eq!(error(&refreshed), invalid_grant(), "refresh token revoked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_redemptions_exactly_one_succeeds() {
    let f = Arc::new(fixture());
    for _ in 0..20 {
        let code = f.native_code().await;
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let race = |f: Arc<Fixture>, code: String, barrier: Arc<tokio::sync::Barrier>| {
            tokio::spawn(async move {
                barrier.wait().await;
                f.redeem(&code, VERIFIER).await
            })
        };
        let a = race(f.clone(), code.clone(), barrier.clone());
        let b = race(f.clone(), code, barrier);
        let answers = [a.await.unwrap(), b.await.unwrap()];
        let winners: Vec<_> = answers.iter().filter(|r| r.status() == 200).collect();
        assert_eq!(winners.len(), 1, "exactly one redemption succeeds");
        assert!(answers.iter().any(|r| error(r) == invalid_grant()));
        // Whichever came second in time, the winner's tokens end revoked: a replay.
        let refresh = winners[0].json()["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let refreshed = f
            .token(
                &query(&[
                    ("grant_type", "refresh_token"),
                    ("client_id", "native"),
                    ("refresh_token", &refresh),
                ]),
                None,
            )
            .await;
        assert_eq!(error(&refreshed), invalid_grant());
    }
}

#[tokio::test]
async fn expired_codes_and_codes_of_another_client_or_redirect_are_invalid_grant() {
    let f = fixture();
    // Expired: 60 s by default.
    let code = f.native_code().await;
    f.clock.advance(Duration::from_secs(60));
    assert_eq!(error(&f.redeem(&code, VERIFIER).await), invalid_grant());
    // Just in time.
    let code = f.native_code().await;
    f.clock.advance(Duration::from_secs(59));
    assert_eq!(f.redeem(&code, VERIFIER).await.status(), 200);
    // Another client (authenticated as itself) presents native's code.
    let code = f.native_code().await;
    let body = query(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", NATIVE_CB),
        ("code_verifier", VERIFIER),
    ]);
    let stolen = f.token(&body, Some(("web", &f.web_secret))).await;
    assert_eq!(error(&stolen), invalid_grant());
    // Another redirect URI than the authorization request's (even another loopback port).
    let code = f.native_code().await;
    let body = query(&[
        ("grant_type", "authorization_code"),
        ("client_id", "native"),
        ("code", &code),
        ("redirect_uri", "http://127.0.0.1:9999/callback"),
        ("code_verifier", VERIFIER),
    ]);
    assert_eq!(error(&f.token(&body, None).await), invalid_grant());
    // An unknown code.
    assert_eq!(
        error(&f.redeem(&"A".repeat(43), VERIFIER).await),
        invalid_grant()
    );
}

#[tokio::test]
async fn public_clients_authenticate_by_id_only_where_allowed_confidential_ones_never() {
    let f = fixture();
    // The confidential client with its id alone: invalid_client.
    let challenge = challenge();
    let AuthorizeOutcome::Redirect { location } = f
        .approve(&query(&params("web", WEB_CB, &challenge)), false)
        .await
    else {
        panic!("no code");
    };
    let code = param(&location, "code").unwrap();
    let body = query(&[
        ("grant_type", "authorization_code"),
        ("client_id", "web"),
        ("code", &code),
        ("redirect_uri", WEB_CB),
        ("code_verifier", VERIFIER),
    ]);
    assert_eq!(f.token(&body, None).await.status(), 401);
    // With its secret, the code still works (the failed attempt did not reach the code).
    let body = query(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", WEB_CB),
        ("code_verifier", VERIFIER),
    ]);
    let ok = f.token(&body, Some(("web", &f.web_secret))).await;
    assert_eq!(ok.status(), 200, "{}", ok.body());
    assert!(
        ok.json().get("refresh_token").is_none(),
        "no refresh_token grant"
    );
    // A public client may not introspect, nor use client_credentials.
    let headers = HeaderList::new().with("Content-Type", "application/x-www-form-urlencoded");
    let request = AuthRequest::new("POST", "/introspect", &headers)
        .with_body(Some(b"client_id=native&token=x"))
        .with_secure(true);
    assert_eq!(f.service.introspect(&request).await.status(), 401);
    let cc = f
        .token("grant_type=client_credentials&client_id=native", None)
        .await;
    assert_eq!(error(&cc), (400, "unauthorized_client".to_owned()));
    // Registration refuses a public client with a secret grant or unsafe redirects.
    let clients = MemoryClientRegistry::new();
    assert!(
        clients
            .register_public(
                ClientConfig::new("p")
                    .public()
                    .grant(GrantType::ClientCredentials)
                    .audience(ORDERS)
            )
            .is_err()
    );
    for bad in [
        "http://app.example/cb",
        "https://app.example/cb#x",
        "/relative",
        "https://APP.example/cb",
        "http://localhost:1/cb",
    ] {
        let config = ClientConfig::new("c")
            .grant(GrantType::AuthorizationCode)
            .audience(ORDERS)
            .redirect_uri(bad);
        assert!(clients.register(config).is_err(), "{bad}");
    }
}

#[test]
fn code_lifetimes_over_ten_minutes_are_refused() {
    let clients = Arc::new(MemoryClientRegistry::new());
    let build = |ttl| {
        TokenService::builder(
            ISSUER,
            KeySet::single(Key::generate("k", Algorithm::ES256).unwrap()),
            clients.clone(),
        )
        .audience(ORDERS, TokenFormat::Jwt)
        .authorization_code_ttl(ttl)
        .build()
    };
    assert!(build(Duration::from_secs(601)).is_err());
    assert!(build(Duration::ZERO).is_err());
    assert!(build(Duration::from_secs(600)).is_ok());
}

#[tokio::test]
async fn part_one_client_logs_in_end_to_end() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let clients = Arc::new(MemoryClientRegistry::new());
    clients
        .register_public(
            ClientConfig::new("native")
                .public()
                .grant(GrantType::AuthorizationCode)
                .grant(GrantType::RefreshToken)
                .scopes("openid orders:read".parse().unwrap())
                .audience(ORDERS)
                .redirect_uri(NATIVE_CB),
        )
        .unwrap();
    let service = TokenService::builder(
        base.clone(),
        KeySet::single(Key::generate("as-1", Algorithm::ES256).unwrap()),
        clients,
    )
    .audience(ORDERS, TokenFormat::Jwt)
    .insecure_allow_loopback_http()
    .build()
    .unwrap();
    crate::service_e2e::serve(listener, service.clone());
    let client = AuthorizationCodeClient::builder(
        "native",
        service.authorization_endpoint(),
        service.token_endpoint(),
        "http://127.0.0.1:43210/callback",
    )
    .issuer(base.clone())
    .require_issuer_in_response(true)
    .scopes("orders:read".parse().unwrap())
    .http_client(support::http())
    .build()
    .unwrap();
    let (url, pending) = client.authorization_url().build().unwrap();
    // The browser's visit, as the user alice who approves.
    let headers = HeaderList::new();
    let target = format!("{}?{}", url.path(), url.query().unwrap());
    let peer = "127.0.0.1:50000".parse().ok();
    let request = AuthRequest::new("POST", &target, &headers).with_peer(peer);
    let consents = MemoryConsentStore::new();
    let outcome = service
        .decide(&request, &alice(), true, false, &consents)
        .await;
    let AuthorizeOutcome::Redirect { location } = outcome else {
        panic!("no code: {outcome:?}");
    };
    assert!(location.starts_with("http://127.0.0.1:43210/callback?"));
    let callback =
        CallbackParams::parse(url::Url::parse(&location).unwrap().query().unwrap()).unwrap();
    let tokens = client.callback(pending, &callback).await.unwrap();
    assert!(tokens.refresh_token().is_some());
    let refreshed = client.refresh(&tokens).await.unwrap();
    assert_ne!(
        refreshed.refresh_token().unwrap().expose_str(),
        tokens.refresh_token().unwrap().expose_str()
    );
    assert!(tokens.id_token().is_none(), "no openid, no ID token");

    // OIDC-light: `openid` with a nonce gets an ID token the client checks (nonce, aud, iss).
    let (url, pending) = client
        .authorization_url()
        .scopes("openid orders:read".parse().unwrap())
        .oidc_nonce()
        .build()
        .unwrap();
    let target = format!("{}?{}", url.path(), url.query().unwrap());
    let request = AuthRequest::new("POST", &target, &headers).with_peer(peer);
    let outcome = service
        .decide(&request, &alice(), true, false, &consents)
        .await;
    let location = outcome.location().unwrap().to_owned();
    let callback =
        CallbackParams::parse(url::Url::parse(&location).unwrap().query().unwrap()).unwrap();
    let tokens = client.callback(pending, &callback).await.unwrap();
    let id_token = tokens.id_token().unwrap().expose_str().unwrap().to_owned();
    let verifier = auth_jwt::Verifier::builder(service.keys().clone())
        .issuer(base.clone())
        .audience("native")
        .build()
        .unwrap();
    let verified = verifier.verify_raw(&id_token).await.unwrap();
    assert_eq!(verified.2["sub"], "alice");
    assert!(verified.2["nonce"].is_string());
}

#[tokio::test]
async fn a_public_client_revokes_its_refresh_token_with_its_client_id_alone() {
    let f = fixture();
    let code = f.native_code().await;
    let tokens = f.redeem(&code, VERIFIER).await.json();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let headers = HeaderList::new().with("Content-Type", "application/x-www-form-urlencoded");
    let body = query(&[("client_id", "native"), ("token", refresh)]);
    let request = AuthRequest::new("POST", "/revoke", &headers)
        .with_body(Some(body.as_bytes()))
        .with_secure(true);
    assert_eq!(f.service.revoke(&request).await.status(), 200);
    let refreshed = f
        .token(
            &query(&[
                ("grant_type", "refresh_token"),
                ("client_id", "native"),
                ("refresh_token", refresh),
            ]),
            None,
        )
        .await;
    assert_eq!(error(&refreshed), invalid_grant());
}
