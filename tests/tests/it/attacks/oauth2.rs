//! Attacks on the authorization code flow (RFC 6749 §4.1, RFC 7636, RFC 9700, RFC 9207;
//! issues 8–10's lists), each sent to a real authorization server: the actix-web
//! `AuthorizationEndpoint`, `TokenEndpoints` and an auth-session login on 127.0.0.1
//! ([`AuthServer`]). Each server serves its endpoints under a path of its own, so the audit
//! events of one test are found by path in the shared log capture.

use std::sync::Arc;
use std::time::Duration;

use auth_actix::oauth2_server::{ClientConfig, EndpointPaths, GrantType, MemoryClientRegistry};
use auth_core::{ManualClock, Secret};
use auth_oauth2::oauth2::url;
use auth_oauth2::{AuthorizationCodeClient, CallbackParams, Error, TokenHash, pkce_s256_challenge};
use auth_tests::LogCapture;
use auth_tests::oauth_harness::{AuthServer, ORDERS};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{RequestBuilder, StatusCode};
use serde_json::Value;

/// The public (native) client's loopback redirect: only the port may vary.
const NATIVE_CB: &str = "http://127.0.0.1:8080/callback";
/// The confidential web client's two registered redirects.
const WEB_CB: &str = "https://app.e2e/cb";
const WEB_CB_2: &str = "https://app.e2e/cb2";
/// RFC 7636 Appendix B's verifier.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// A live authorization server with a public client `native`, a confidential client `web`
/// (two redirect URIs) and a resource server `orders-api` that introspects, its token
/// service on a manual clock.
struct Fixture {
    server: AuthServer,
    clock: ManualClock,
    web: Secret,
    api: Secret,
    token_path: String,
    introspection_path: String,
}

fn fixture(name: &str) -> Fixture {
    let clients = Arc::new(MemoryClientRegistry::new());
    clients
        .register_public(
            ClientConfig::new("native")
                .public()
                .grant(GrantType::AuthorizationCode)
                .grant(GrantType::RefreshToken)
                .scopes("orders:read".parse().unwrap())
                .audience(ORDERS)
                .redirect_uri(NATIVE_CB),
        )
        .unwrap();
    let web = clients
        .register(
            ClientConfig::new("web")
                .grant(GrantType::AuthorizationCode)
                .scopes("orders:read".parse().unwrap())
                .audience(ORDERS)
                .redirect_uri(WEB_CB)
                .redirect_uri(WEB_CB_2),
        )
        .unwrap();
    let api = clients
        .register(ClientConfig::new("orders-api").introspection_for(ORDERS))
        .unwrap();
    let clock = ManualClock::starting_now();
    let prefix = format!("/oauth2-attacks/{name}");
    let paths = EndpointPaths {
        token: format!("{prefix}/token"),
        introspection: format!("{prefix}/introspect"),
        revocation: format!("{prefix}/revoke"),
        jwks: format!("{prefix}/jwks.json"),
    };
    let (token_path, introspection_path) = (paths.token.clone(), paths.introspection.clone());
    let shared = clock.shared();
    let server = AuthServer::start(clients, move |builder| {
        builder
            .paths(paths)
            .authorization_path(format!("{prefix}/authorize"))
            .clock(shared)
    });
    Fixture {
        server,
        clock,
        web,
        api,
        token_path,
        introspection_path,
    }
}

/// An answer and the one audit event its request left.
struct Answer {
    status: StatusCode,
    location: Option<String>,
    body: String,
    audit: Value,
}

impl Answer {
    /// The body as JSON (token endpoint answers).
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// Asserts a token endpoint refusal: `status`, the RFC 6749 §5.2 `error`, and the
    /// reason and error code of the audit event.
    fn assert_refused(&self, status: StatusCode, error: &str, reason: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.json()["error"], error, "{}", self.body);
        self.assert_audited(error, reason);
    }

    fn assert_audited(&self, error: &str, reason: &str) {
        assert_eq!(self.audit["outcome"], "rejected", "{}", self.audit);
        assert_eq!(self.audit["reason"], reason, "{}", self.audit);
        assert_eq!(self.audit["error"], error, "{}", self.audit);
    }
}

/// Sends `request` (to `path`) and returns the answer with the audit event it left.
async fn send(request: RequestBuilder, path: &str) -> Answer {
    let logs = LogCapture::install();
    let before = logs.audit_events(path).len();
    let response = request.send().await.expect("the server answers");
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    let body = response.text().await.unwrap();
    let events = logs.audit_events(path);
    assert_eq!(
        events.len(),
        before + 1,
        "{path}: one audit event: {events:?}"
    );
    Answer {
        status,
        location,
        body,
        audit: events[before].clone(),
    }
}

/// The query of an authorization request.
fn query(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// A well-formed authorization request's parameters.
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

/// The value of `name` in the query of `location`.
fn param(location: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(location).unwrap();
    url.query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

impl Fixture {
    fn authorize_url(&self, pairs: &[(&str, &str)]) -> String {
        format!(
            "{}?{}",
            self.server.service.authorization_endpoint(),
            query(pairs)
        )
    }

    /// A GET of the authorization endpoint (no session: the user is not logged in).
    async fn authorize(&self, pairs: &[(&str, &str)]) -> Answer {
        let request = self.server.http.get(self.authorize_url(pairs));
        send(request, self.server.service.authorization_path()).await
    }

    /// Asserts an error that must not be redirected (RFC 6749 §4.1.2.1): a 400 page, no
    /// `Location`, nothing of the redirect in it, the audit reason.
    fn assert_shown(answer: &Answer, reason: &str, what: &str) {
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{what}");
        assert_eq!(answer.location, None, "{what}: never redirected");
        assert!(!answer.body.contains("evil"), "{what}: {}", answer.body);
        answer.assert_audited("invalid_request", reason);
    }

    /// Asserts an error redirected to the client (RFC 6749 §4.1.2.1): 303 to `redirect_uri`
    /// with `error`, `state` and `iss`, before any login; audited as refused.
    fn assert_redirected_error(&self, answer: &Answer, redirect_uri: &str, error: &str) {
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        let location = answer.location.as_deref().unwrap();
        assert!(location.starts_with(redirect_uri), "{location}");
        assert_eq!(
            param(location, "error").as_deref(),
            Some(error),
            "{location}"
        );
        assert_eq!(param(location, "state").as_deref(), Some("st-123"));
        assert_eq!(
            param(location, "iss").as_deref(),
            Some(self.server.base.as_str())
        );
        answer.assert_audited(error, "authorization_refused");
    }

    /// Logs `alice` in, approves, and returns the code issued for `redirect_uri`.
    async fn code(&self, client_id: &str, redirect_uri: &str, challenge: &str) -> String {
        let url = self.authorize_url(&params(client_id, redirect_uri, challenge));
        let callback = self.server.approve(&url).await;
        assert!(callback.starts_with(redirect_uri), "{callback}");
        param(&callback, "code").expect("a code")
    }

    /// A code for `native` at [`NATIVE_CB`], bound to [`VERIFIER`]'s challenge.
    async fn native_code(&self) -> String {
        let challenge = pkce_s256_challenge(VERIFIER).unwrap();
        self.code("native", NATIVE_CB, &challenge).await
    }

    fn token_request(&self, form: &[(&str, &str)]) -> RequestBuilder {
        self.server
            .http
            .post(self.server.url(&self.token_path))
            .form(form)
    }

    /// `native` redeems `code` with `verifier` (`None`: no `code_verifier` parameter).
    async fn redeem(&self, code: &str, verifier: Option<&str>) -> Answer {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("client_id", "native"),
            ("code", code),
            ("redirect_uri", NATIVE_CB),
        ];
        if let Some(verifier) = verifier {
            form.push(("code_verifier", verifier));
        }
        send(self.token_request(&form), &self.token_path).await
    }

    /// Whether `orders-api` sees `token` as active.
    async fn active(&self, token: &str) -> bool {
        let response = self
            .server
            .http
            .post(self.server.url(&self.introspection_path))
            .basic_auth("orders-api", self.api.expose_str())
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        body["active"].as_bool().unwrap()
    }

    /// Whether `native`'s refresh token still refreshes.
    async fn refreshes(&self, refresh_token: &str) -> bool {
        let response = self
            .token_request(&[
                ("grant_type", "refresh_token"),
                ("client_id", "native"),
                ("refresh_token", refresh_token),
            ])
            .send()
            .await
            .unwrap();
        response.status() == StatusCode::OK
    }
}

/// The S256 challenge (base64url of SHA-256, RFC 7636 §4.2) of any verifier, even one
/// RFC 7636 §4.1 forbids (the attacker's); [`TokenHash`] is the SHA-256 of its input.
fn any_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(TokenHash::of(verifier).as_bytes())
}

#[actix_web::test]
async fn the_attack_servers_issue_and_redeem_an_honest_code() {
    // The control: each attack below differs from this flow in the one way it names.
    let f = fixture("control");
    let code = f.native_code().await;
    let answer = f.redeem(&code, Some(VERIFIER)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.audit["reason"], "token_issued");
    let access = answer.json()["access_token"].as_str().unwrap().to_owned();
    assert!(f.active(&access).await);
    let challenge = pkce_s256_challenge(VERIFIER).unwrap();
    for redirect in [WEB_CB, WEB_CB_2] {
        let code = f.code("web", redirect, &challenge).await;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
            ("code_verifier", VERIFIER),
        ];
        let request = f.token_request(&form).basic_auth("web", f.web.expose_str());
        assert_eq!(send(request, &f.token_path).await.status, StatusCode::OK);
    }
    // Only the port of a loopback redirect may vary (RFC 8252 §7.3).
    let other_port = "http://127.0.0.1:51000/callback";
    assert!(f.code("native", other_port, &challenge).await.len() >= 43);
}

#[actix_web::test]
async fn attack_redirect_uris_not_exactly_registered_are_shown_never_followed() {
    let f = fixture("redirect-variants");
    let challenge = pkce_s256_challenge(VERIFIER).unwrap();
    let web = [
        "https://app.e2e/cb/evil",
        "https://app.e2e/evil",
        "https://app.e2e/cb/",
        "https://app.e2e/cb?evil=1",
        "https://app.e2e/cb#evil",
        "https://app.e2e:8443/cb",
        "https://evil.e2e/cb",
        "https://app.e2e.evil/cb",
        "http://app.e2e/cb",
        "https://evil@app.e2e/cb",
        "https://app.e2e/evil/../cb",
    ];
    let native = [
        "http://localhost:8080/callback",
        "https://127.0.0.1:8080/callback",
        "http://127.0.0.1:8080/callback?evil=1",
        "http://127.0.0.1:8080/evil",
    ];
    let cases = web
        .iter()
        .map(|r| ("web", *r))
        .chain(native.iter().map(|r| ("native", *r)));
    for (client, redirect) in cases {
        let answer = f.authorize(&params(client, redirect, &challenge)).await;
        Fixture::assert_shown(&answer, "redirect_uri_mismatch", redirect);
    }
}

#[actix_web::test]
async fn attack_a_missing_redirect_uri_is_shown_never_guessed() {
    // `web` has two redirect URIs; `native` one: neither is picked for a request without.
    let f = fixture("redirect-missing");
    let challenge = pkce_s256_challenge(VERIFIER).unwrap();
    for client in ["web", "native"] {
        let mut pairs = params(client, "", &challenge);
        pairs.retain(|(name, _)| *name != "redirect_uri");
        let answer = f.authorize(&pairs).await;
        Fixture::assert_shown(&answer, "missing_redirect_uri", client);
    }
}

#[actix_web::test]
async fn attack_authorization_requests_without_pkce_s256_are_refused() {
    let f = fixture("pkce-required");
    let challenge = pkce_s256_challenge(VERIFIER).unwrap();
    for (client, redirect) in [("native", NATIVE_CB), ("web", WEB_CB)] {
        let mut no_pkce = params(client, redirect, &challenge);
        no_pkce.retain(|(n, _)| !n.starts_with("code_challenge"));
        let mut no_challenge = params(client, redirect, &challenge);
        no_challenge.retain(|(n, _)| *n != "code_challenge");
        let mut no_method = params(client, redirect, &challenge);
        no_method.retain(|(n, _)| *n != "code_challenge_method");
        // plain: the challenge is the verifier itself (RFC 7636 §4.2).
        let mut plain = params(client, redirect, VERIFIER);
        plain[6] = ("code_challenge_method", "plain");
        let short = params(client, redirect, &challenge[..42]);
        for (what, pairs) in [
            ("no PKCE", no_pkce),
            ("no code_challenge", no_challenge),
            ("no code_challenge_method", no_method),
            ("plain", plain),
            ("42-character challenge", short),
        ] {
            let answer = f.authorize(&pairs).await;
            assert!(
                answer.location.is_some(),
                "{client} {what}: {}",
                answer.body
            );
            f.assert_redirected_error(&answer, redirect, "invalid_request");
        }
    }
}

#[actix_web::test]
async fn attack_the_implicit_grant_and_wider_scopes_are_refused_at_authorization() {
    let f = fixture("implicit-and-scope");
    let challenge = pkce_s256_challenge(VERIFIER).unwrap();
    for response_type in ["token", "id_token token", "code token"] {
        let mut pairs = params("native", NATIVE_CB, &challenge);
        pairs[0] = ("response_type", response_type);
        let answer = f.authorize(&pairs).await;
        f.assert_redirected_error(&answer, NATIVE_CB, "unsupported_response_type");
    }
    let mut wider = params("native", NATIVE_CB, &challenge);
    wider[3] = ("scope", "orders:read orders:write");
    let answer = f.authorize(&wider).await;
    f.assert_redirected_error(&answer, NATIVE_CB, "invalid_scope");
}

#[actix_web::test]
async fn attack_a_wrong_code_verifier_is_invalid_grant() {
    let f = fixture("verifier-wrong");
    let code = f.native_code().await;
    let answer = f.redeem(&code, Some(&"x".repeat(43))).await;
    answer.assert_refused(
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "code_verifier_mismatch",
    );
}

#[actix_web::test]
async fn attack_a_missing_code_verifier_is_invalid_grant() {
    let f = fixture("verifier-missing");
    let code = f.native_code().await;
    let answer = f.redeem(&code, None).await;
    answer.assert_refused(
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "missing_code_verifier",
    );
}

#[actix_web::test]
async fn attack_code_verifiers_of_42_or_129_characters_are_invalid_grant() {
    let f = fixture("verifier-length");
    // The challenge is the S256 of the bad verifier itself: only the length check
    // (RFC 7636 §4.1: 43 to 128 characters) refuses it.
    assert_eq!(
        any_challenge(VERIFIER),
        pkce_s256_challenge(VERIFIER).unwrap()
    );
    for verifier in [&VERIFIER[..42], &"a".repeat(129)] {
        let challenge = any_challenge(verifier);
        let code = f.code("native", NATIVE_CB, &challenge).await;
        let answer = f.redeem(&code, Some(verifier)).await;
        answer.assert_refused(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "malformed_code_verifier",
        );
    }
}

#[actix_web::test]
async fn attack_a_reused_code_is_refused_and_revokes_the_first_tokens() {
    let f = fixture("code-reuse");
    let code = f.native_code().await;
    let first = f.redeem(&code, Some(VERIFIER)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let tokens = first.json();
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert!(f.active(access).await);

    let second = f.redeem(&code, Some(VERIFIER)).await;
    second.assert_refused(StatusCode::BAD_REQUEST, "invalid_grant", "code_reuse");
    // RFC 6749 §4.1.2, RFC 9700 §4.5: the tokens of the first redemption are revoked.
    assert!(!f.active(access).await, "the first access token is revoked");
    assert!(
        !f.refreshes(refresh).await,
        "the first refresh token is revoked"
    );
}

#[actix_web::test]
async fn attack_two_concurrent_redemptions_of_one_code_exactly_one_wins() {
    let f = fixture("code-race");
    let logs = LogCapture::install();
    for _ in 0..5 {
        let code = f.native_code().await;
        let form = [
            ("grant_type", "authorization_code"),
            ("client_id", "native"),
            ("code", code.as_str()),
            ("redirect_uri", NATIVE_CB),
            ("code_verifier", VERIFIER),
        ];
        let before = logs.audit_events(&f.token_path).len();
        let (a, b) = tokio::join!(f.token_request(&form).send(), f.token_request(&form).send());
        let (a, b) = (a.unwrap(), b.unwrap());
        let (winner, loser) = match (a.status(), b.status()) {
            (StatusCode::OK, StatusCode::BAD_REQUEST) => (a, b),
            (StatusCode::BAD_REQUEST, StatusCode::OK) => (b, a),
            other => panic!("exactly one redemption succeeds: {other:?}"),
        };
        let loser: Value = loser.json().await.unwrap();
        assert_eq!(loser["error"], "invalid_grant");
        let tokens: Value = winner.json().await.unwrap();
        let reasons: Vec<Value> = logs.audit_events(&f.token_path)[before..]
            .iter()
            .map(|e| e["reason"].clone())
            .collect();
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert!(reasons.contains(&"code_reuse".into()), "{reasons:?}");
        // The loser's attempt was a replay: the winner's tokens end revoked too.
        assert!(!f.active(tokens["access_token"].as_str().unwrap()).await);
    }
}

#[actix_web::test]
async fn attack_an_expired_code_is_invalid_grant() {
    let f = fixture("code-expired");
    // Just in time (the default lifetime is 60 s): redeemed.
    let code = f.native_code().await;
    f.clock.advance(Duration::from_secs(59));
    assert_eq!(f.redeem(&code, Some(VERIFIER)).await.status, StatusCode::OK);
    let code = f.native_code().await;
    f.clock.advance(Duration::from_secs(60));
    let answer = f.redeem(&code, Some(VERIFIER)).await;
    answer.assert_refused(StatusCode::BAD_REQUEST, "invalid_grant", "code_expired");
}

#[actix_web::test]
async fn attack_a_code_issued_to_another_client_is_invalid_grant() {
    let f = fixture("code-other-client");
    // `web`, authenticated as itself, presents the code (and verifier) issued to `native`.
    let code = f.native_code().await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", NATIVE_CB),
        ("code_verifier", VERIFIER),
    ];
    let request = f.token_request(&form).basic_auth("web", f.web.expose_str());
    let answer = send(request, &f.token_path).await;
    answer.assert_refused(
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "code_of_another_client",
    );
}

#[actix_web::test]
async fn attack_a_code_redeemed_with_another_redirect_uri_is_invalid_grant() {
    let f = fixture("code-other-redirect");
    // Even another port of the loopback redirect (RFC 6749 §4.1.3: identical).
    let code = f.native_code().await;
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", "native"),
        ("code", code.as_str()),
        ("redirect_uri", "http://127.0.0.1:9999/callback"),
        ("code_verifier", VERIFIER),
    ];
    let answer = send(f.token_request(&form), &f.token_path).await;
    answer.assert_refused(
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "redirect_uri_mismatch",
    );
}

#[actix_web::test]
async fn attack_the_password_grant_is_refused() {
    let f = fixture("password-grant");
    let form = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", "alice's password"),
    ];
    let request = f.token_request(&form).basic_auth("web", f.web.expose_str());
    let answer = send(request, &f.token_path).await;
    answer.assert_refused(
        StatusCode::BAD_REQUEST,
        "unsupported_grant_type",
        "password_grant_refused",
    );
    assert!(answer.json()["access_token"].is_null());
}

/// Part 1's client for `native` against `f`'s server, requiring `iss` (RFC 9207).
fn native_client(f: &Fixture) -> AuthorizationCodeClient {
    AuthorizationCodeClient::builder(
        "native",
        f.server.service.authorization_endpoint(),
        f.server.service.token_endpoint(),
        NATIVE_CB,
    )
    .issuer(f.server.base.clone())
    .require_issuer_in_response(true)
    .scopes("orders:read".parse().unwrap())
    .build()
    .unwrap()
}

/// The query of `callback` with `name` set to `value` (`None`: removed).
fn with_param(callback: &str, name: &str, value: Option<&str>) -> CallbackParams {
    let url = url::Url::parse(callback).unwrap();
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (n, v) in url.query_pairs().filter(|(n, _)| n != name) {
        form.append_pair(&n, &v);
    }
    if let Some(value) = value {
        form.append_pair(name, value);
    }
    CallbackParams::parse(&form.finish()).unwrap()
}

fn callback_params(callback: &str) -> CallbackParams {
    CallbackParams::parse(url::Url::parse(callback).unwrap().query().unwrap()).unwrap()
}

#[actix_web::test]
async fn attack_a_callback_with_a_wrong_or_missing_state_is_refused_by_the_client() {
    // CSRF on the redirect (RFC 6749 §10.12): the attacker's code arrives with a `state`
    // the client did not send, or none.
    let f = fixture("client-state");
    let client = native_client(&f);
    let logs = LogCapture::install();
    let (url, pending) = client.authorization_url().build().unwrap();
    let callback = f.server.approve(url.as_str()).await;
    let forged = with_param(&callback, "state", Some("attacker-state"));
    let result = client.callback(pending, &forged).await;
    assert!(matches!(result, Err(Error::StateMismatch)), "{result:?}");
    let (url, pending) = client.authorization_url().build().unwrap();
    let callback = f.server.approve(url.as_str()).await;
    let missing = with_param(&callback, "state", None);
    let result = client.callback(pending, &missing).await;
    assert!(matches!(result, Err(Error::MissingState)), "{result:?}");
    // Refused before any code was sent to the token endpoint.
    assert!(logs.audit_events(&f.token_path).is_empty());
    // The control: the honest callback is redeemed.
    let (url, pending) = client.authorization_url().build().unwrap();
    let callback = f.server.approve(url.as_str()).await;
    let tokens = client.callback(pending, &callback_params(&callback)).await;
    assert!(tokens.is_ok(), "{tokens:?}");
}

#[actix_web::test]
async fn attack_a_callback_from_another_issuer_is_refused_by_the_client() {
    // Mix-up (RFC 9207, RFC 9700 §4.4): the client's authorization request is answered by
    // another authorization server, which knows a client `native` too.
    let f = fixture("client-iss");
    let evil = fixture("client-iss-evil");
    let client = native_client(&f);
    let logs = LogCapture::install();
    let (url, pending) = client.authorization_url().build().unwrap();
    let mixed_up = format!(
        "{}?{}",
        evil.server.service.authorization_endpoint(),
        url.query().unwrap()
    );
    let callback = evil.server.approve(&mixed_up).await;
    assert_eq!(
        param(&callback, "iss").as_deref(),
        Some(evil.server.base.as_str())
    );
    let result = client.callback(pending, &callback_params(&callback)).await;
    assert!(
        matches!(&result, Err(Error::IssuerMismatch { received, .. }) if *received == evil.server.base),
        "{result:?}"
    );
    // An honest server's callback without `iss`, when the client requires it.
    let (url, pending) = client.authorization_url().build().unwrap();
    let callback = f.server.approve(url.as_str()).await;
    let result = client
        .callback(pending, &with_param(&callback, "iss", None))
        .await;
    assert!(matches!(result, Err(Error::MissingIssuer)), "{result:?}");
    // Neither code reached a token endpoint.
    assert!(logs.audit_events(&f.token_path).is_empty());
    assert!(logs.audit_events(&evil.token_path).is_empty());
}
