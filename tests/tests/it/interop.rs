//! Interoperability with real peers, installed from npm into tests/interop/ (pinned in its
//! package-lock.json; `cargo xtask interop` runs `npm ci` there):
//!
//! - node `jsonwebtoken` 9 (the article's JWT library): its HS256, RS256 and ES256 tokens
//!   (with `iss`, `aud`) verify with auth-jwt and ours with it; the expired and
//!   wrong-audience tokens of each are refused by both.
//! - `oidc-provider` (a certified OpenID Provider) as the authorization server of our client
//!   side: `TokenSource` gets client-credentials tokens (client_secret_basic and
//!   client_secret_post); `ResourceServer` accepts its RFC 9068 JWT access tokens (keys from
//!   its discovery document) and its opaque tokens through its introspection endpoint; the
//!   authorization code + PKCE client logs in through its development interaction pages.
//!
//! (openid-client against our token service, and the article's snippets against the demo,
//! are Node programs that `cargo xtask interop` runs against the demo binary.)
//!
//! Needs `node` and tests/interop/node_modules. Without them each test says SKIPPED and
//! passes, unless `AUTH_TEST_REQUIRE_INTEROP=1` (`cargo xtask interop`) makes it fail. A
//! failure names the peer, the step and what it answered.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use auth_core::{ManualClock, Scopes, Secret};
use auth_jwt::{Algorithm, Issuer, Jwk, Key, KeySet, Verifier, VerifyError};
use auth_oauth2::{
    AuthorizationCodeClient, CallbackParams, ClientAuthMethod, Error as OAuthClientError,
    ResourceServer, TokenSource,
};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// Makes a missing node or tests/interop/node_modules a failure.
const REQUIRE_ENV: &str = "AUTH_TEST_REQUIRE_INTEROP";
/// The longest a Node program may take (its start included).
const NODE_TIMEOUT: Duration = Duration::from_secs(60);

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// Why the interop tests cannot run here, if they cannot.
fn missing() -> Option<String> {
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        return Some("no node on PATH".into());
    }
    for package in ["jsonwebtoken", "oidc-provider", "openid-client"] {
        if !interop_dir().join("node_modules").join(package).exists() {
            return Some(format!(
                "{package} not installed (cd tests/interop && npm ci)"
            ));
        }
    }
    None
}

/// True when the test must be skipped (after saying so).
fn skipped(test: &str) -> bool {
    let Some(why) = missing() else {
        return false;
    };
    assert!(
        std::env::var(REQUIRE_ENV).as_deref() != Ok("1"),
        "interop::{test}: {why}, and {REQUIRE_ENV}=1 requires it"
    );
    eprintln!("SKIPPED interop::{test}: {why}");
    true
}

/// Runs `node <script> <args>` in tests/interop with `input` on stdin; its stdout as JSON.
async fn node_json(peer: &str, script: &str, args: &[&str], input: &Value) -> Value {
    let mut child = Command::new("node")
        .current_dir(interop_dir())
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{peer}: cannot start node {script}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.to_string().as_bytes()).await.unwrap();
    drop(stdin);
    let output = tokio::time::timeout(NODE_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{peer}: node {script} {args:?} ran over {NODE_TIMEOUT:?}"))
        .unwrap();
    assert!(
        output.status.success(),
        "{peer}: node {script} {args:?} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{peer}: node {script} {args:?} printed no JSON ({e}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

// ---------------------------------------------------------------------------------------
// node jsonwebtoken <-> auth-jwt

const JWT_ISSUER: &str = "https://issuer.interop.example";
const JWT_AUDIENCE: &str = "urn:auth-rs:interop:orders";

fn jwk_of(value: &Value) -> Jwk {
    serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("JWK {value}: {e}"))
}

fn verifier(key: Key) -> Verifier {
    Verifier::builder(KeySet::single(key))
        .issuer(JWT_ISSUER)
        .audience(JWT_AUDIENCE)
        .build()
        .unwrap()
}

#[actix_web::test]
async fn node_jsonwebtoken_tokens_verify_with_auth_jwt_and_its_bad_ones_are_refused() {
    if skipped("node_jsonwebtoken_tokens_verify_with_auth_jwt") {
        return;
    }
    let secret = random_secret();
    let signed = node_json(
        "jsonwebtoken",
        "jwt/cross.cjs",
        &["sign"],
        &json!({"hs256_secret": secret, "issuer": JWT_ISSUER, "audience": JWT_AUDIENCE}),
    )
    .await;
    let keys = &signed["keys"];
    let tokens = signed["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 9, "jsonwebtoken: sign: {signed}");
    for token in tokens {
        let alg = token["alg"].as_str().unwrap();
        let case = token["case"].as_str().unwrap();
        let key = match alg {
            "HS256" => Key::hmac(
                "node-hs256",
                Algorithm::HS256,
                &Secret::from(secret.as_str()),
            )
            .unwrap(),
            _ => Key::from_jwk(&jwk_of(&keys[alg])).unwrap(),
        };
        let ours = verifier(key)
            .verify_raw(token["token"].as_str().unwrap())
            .await;
        let theirs = token["node_verdict"].as_str().unwrap();
        let step = format!("jsonwebtoken {alg} token, case {case}");
        match case {
            "valid" => {
                let (_, registered, claims) =
                    ours.unwrap_or_else(|e| panic!("auth-jwt refused the {step}: {e:?}"));
                assert_eq!(registered.sub.as_deref(), Some("node-user"), "{step}");
                assert_eq!(claims["scope"], "orders:read", "{step}");
                assert_eq!(theirs, "valid", "{step}: jsonwebtoken's own verdict");
            }
            "expired" => {
                assert!(
                    matches!(ours, Err(VerifyError::Expired)),
                    "{step}: auth-jwt said {ours:?}"
                );
                assert!(theirs.starts_with("TokenExpiredError"), "{step}: {theirs}");
            }
            "wrong_audience" => {
                assert!(
                    matches!(ours, Err(VerifyError::Audience)),
                    "{step}: auth-jwt said {ours:?}"
                );
                assert!(theirs.contains("audience invalid"), "{step}: {theirs}");
            }
            other => panic!("jsonwebtoken: unknown case {other}"),
        }
    }
}

#[actix_web::test]
async fn auth_jwt_tokens_verify_with_node_jsonwebtoken_and_its_bad_ones_are_refused() {
    if skipped("auth_jwt_tokens_verify_with_node_jsonwebtoken") {
        return;
    }
    let secret = random_secret();
    // Node makes the RSA key (ring cannot generate RSA keys); auth-jwt signs with it.
    let signed = node_json(
        "jsonwebtoken",
        "jwt/cross.cjs",
        &["sign"],
        &json!({"hs256_secret": secret, "issuer": JWT_ISSUER, "audience": JWT_AUDIENCE}),
    )
    .await;
    let rsa_pem = signed["rsa_private_pem"].as_str().unwrap();
    let keys = [
        Key::hmac(
            "rust-hs256",
            Algorithm::HS256,
            &Secret::from(secret.as_str()),
        )
        .unwrap(),
        Key::from_private_pem("rust-rs256", Algorithm::RS256, rsa_pem.as_bytes()).unwrap(),
        Key::generate("rust-es256", Algorithm::ES256).unwrap(),
    ];
    let past = ManualClock::new(SystemTime::now() - Duration::from_secs(2 * 3600));
    let mut tokens = Vec::new();
    let mut public = serde_json::Map::new();
    for key in keys {
        let alg = auth_jwt::alg_name(key.alg());
        if let Some(jwk) = key.public_jwk() {
            public.insert(alg.to_owned(), serde_json::to_value(jwk).unwrap());
        }
        let set = KeySet::single(key);
        let issuer = |audience: &str| {
            Issuer::builder(set.clone())
                .issuer(JWT_ISSUER)
                .audience(audience)
                .ttl(Duration::from_secs(600))
        };
        let claims = json!({"scope": "orders:read"});
        let valid = issuer(JWT_AUDIENCE).build().unwrap();
        // Issued two hours ago for one hour: expired an hour ago.
        let expired = issuer(JWT_AUDIENCE)
            .ttl(Duration::from_secs(3600))
            .clock(past.shared())
            .build()
            .unwrap();
        let other = issuer("urn:another:api").build().unwrap();
        for (case, issuer) in [
            ("valid", valid),
            ("expired", expired),
            ("wrong_audience", other),
        ] {
            tokens.push(json!({
                "alg": alg,
                "case": case,
                "token": issuer.issue("rust-user", &claims).unwrap(),
            }));
        }
    }
    let verdicts = node_json(
        "jsonwebtoken",
        "jwt/cross.cjs",
        &["verify"],
        &json!({
            "hs256_secret": secret,
            "issuer": JWT_ISSUER,
            "audience": JWT_AUDIENCE,
            "keys": public,
            "tokens": tokens,
        }),
    )
    .await;
    let verdicts = verdicts["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), 9);
    for verdict in verdicts {
        let (alg, case) = (
            verdict["alg"].as_str().unwrap(),
            verdict["case"].as_str().unwrap(),
        );
        let theirs = verdict["verdict"].as_str().unwrap();
        let step = format!("jsonwebtoken: verify the auth-jwt {alg} token, case {case}");
        match case {
            "valid" => assert_eq!(theirs, "valid", "{step}"),
            "expired" => assert!(theirs.starts_with("TokenExpiredError"), "{step}: {theirs}"),
            _ => assert!(theirs.contains("audience invalid"), "{step}: {theirs}"),
        }
    }
}

/// 43 URL-safe characters (256 bits) from the OS generator (/dev/urandom): an HS256
/// secret both sides use as its UTF-8 bytes, as the article's snippet does.
fn random_secret() -> String {
    use base64::Engine as _;
    let mut bytes = [0_u8; 32];
    std::io::Read::read_exact(
        &mut std::fs::File::open("/dev/urandom").unwrap(),
        &mut bytes,
    )
    .unwrap();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

// ---------------------------------------------------------------------------------------
// oidc-provider as the authorization server

/// The RFC 8707 resource oidc-provider issues JWT access tokens for.
const JWT_RESOURCE: &str = "https://orders.interop.example";
/// Another JWT resource server: its tokens carry another audience.
const OTHER_RESOURCE: &str = "https://other.interop.example";
/// The resource oidc-provider issues opaque access tokens for.
const OPAQUE_RESOURCE: &str = "https://opaque.interop.example";
const SCOPES: &str = "orders:read orders:write";
/// Client secrets with characters RFC 6749 §2.3.1 makes `client_secret_basic` encode.
const BASIC_SECRET: &str = "basic+secret/with:colon&more=yes%20";
const POST_SECRET: &str = "post+secret/with:colon&more=yes%20";
const API_SECRET: &str = "api-secret-4c1f0e6b8a7d";
const REDIRECT_URI: &str = "http://127.0.0.1:8091/callback";

/// A running oidc-provider; killed when dropped.
struct Provider {
    issuer: String,
    metadata: Value,
    _child: Child,
    _config: TempFile,
    _log: TempFile,
}

struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Provider {
    async fn start() -> Self {
        let config = json!({
            "port": 0,
            "clients": [
                {
                    "client_id": "m2m-basic",
                    "client_secret": BASIC_SECRET,
                    "grant_types": ["client_credentials"],
                    "response_types": [],
                    "redirect_uris": [],
                    "token_endpoint_auth_method": "client_secret_basic",
                },
                {
                    "client_id": "m2m-post",
                    "client_secret": POST_SECRET,
                    "grant_types": ["client_credentials"],
                    "response_types": [],
                    "redirect_uris": [],
                    "token_endpoint_auth_method": "client_secret_post",
                },
                {
                    "client_id": "orders-api",
                    "client_secret": API_SECRET,
                    "grant_types": [],
                    "response_types": [],
                    "redirect_uris": [],
                    "token_endpoint_auth_method": "client_secret_basic",
                },
                {
                    "client_id": "web-app",
                    "application_type": "native",
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"],
                    "redirect_uris": [REDIRECT_URI],
                    "token_endpoint_auth_method": "none",
                },
            ],
            "resources": {
                JWT_RESOURCE: {"format": "jwt", "scope": SCOPES},
                OTHER_RESOURCE: {"format": "jwt", "scope": SCOPES},
                OPAQUE_RESOURCE: {"format": "opaque", "scope": SCOPES},
            },
        });
        let path = std::env::temp_dir().join(format!(
            "auth-rs-interop-oidc-{}-{}.json",
            std::process::id(),
            random_secret()
        ));
        std::fs::write(&path, config.to_string()).unwrap();
        let config = TempFile(path);
        // Its warnings (development adapter, devInteractions) and errors go to a file: a
        // pipe nobody reads would fill up and block it (Node writes to pipes synchronously).
        let log_path = config.0.with_extension("log");
        let log_file = std::fs::File::create(&log_path).unwrap();
        let mut child = Command::new("node")
            .current_dir(interop_dir())
            .arg("oidc/provider.mjs")
            .arg(&config.0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .expect("oidc-provider: cannot start node oidc/provider.mjs");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let read = tokio::time::timeout(NODE_TIMEOUT, stdout.read_line(&mut line)).await;
        if !matches!(read, Ok(Ok(n)) if n > 0) {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("oidc-provider: start: no issuer line ({read:?}):\n{log}");
        }
        // Keep reading its stdout, so that it never writes to a closed or full pipe.
        tokio::spawn(async move {
            let mut sink = Vec::new();
            let _ = stdout.read_to_end(&mut sink).await;
        });
        let issuer = serde_json::from_str::<Value>(&line).unwrap()["issuer"]
            .as_str()
            .unwrap()
            .to_owned();
        let http = http();
        let response = http
            .get(format!("{issuer}/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("oidc-provider: discovery: {e}"));
        let metadata: Value = response.json().await.unwrap();
        assert_eq!(
            metadata["issuer"], issuer,
            "oidc-provider: discovery: {metadata}"
        );
        Self {
            issuer,
            metadata,
            _child: child,
            _config: config,
            _log: TempFile(log_path),
        }
    }

    fn endpoint(&self, name: &str) -> String {
        self.metadata[name]
            .as_str()
            .unwrap_or_else(|| panic!("oidc-provider: discovery has no {name}: {}", self.metadata))
            .to_owned()
    }

    fn token_source(&self, client_id: &str, secret: &str, method: ClientAuthMethod) -> TokenSource {
        TokenSource::builder(
            self.endpoint("token_endpoint"),
            client_id,
            Secret::from(secret),
        )
        .auth_method(method)
        .scopes(Scopes::parse("orders:read").unwrap())
        .resource(JWT_RESOURCE)
        .build()
        .unwrap()
    }

    /// A resource server for `audience` taking JWT access tokens, keys from discovery.
    fn jwt_api(&self, audience: &str) -> ResourceServer {
        ResourceServer::builder(self.issuer.clone(), audience)
            .jwt_keys_from_issuer()
            .build()
            .unwrap()
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(auth_tests::REQUEST_TIMEOUT)
        .build()
        .unwrap()
}

/// The body of a JWT, decoded (no verification: for assertions on what the peer sent).
fn jwt_part(token: &str, index: usize) -> Value {
    use base64::Engine as _;
    let part = token.split('.').nth(index).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[actix_web::test]
async fn token_source_gets_client_credentials_tokens_from_oidc_provider() {
    if skipped("token_source_gets_client_credentials_tokens_from_oidc_provider") {
        return;
    }
    let provider = Provider::start().await;
    for (client_id, secret, method) in [
        (
            "m2m-basic",
            BASIC_SECRET,
            ClientAuthMethod::ClientSecretBasic,
        ),
        ("m2m-post", POST_SECRET, ClientAuthMethod::ClientSecretPost),
    ] {
        let step = format!("oidc-provider: client credentials as {client_id} ({method:?})");
        let source = provider.token_source(client_id, secret, method);
        let token = source
            .token()
            .await
            .unwrap_or_else(|e| panic!("{step}: {e}"));
        assert!(token.expires_at().is_some(), "{step}: no expires_in");
        assert_eq!(
            token.scopes().map(ToString::to_string).as_deref(),
            Some("orders:read"),
            "{step}"
        );
        // Cached: a second call makes no request.
        let again = source.token().await.unwrap();
        assert_eq!(again.expose_str(), token.expose_str(), "{step}: not cached");
        assert_eq!(source.request_count(), 1, "{step}");
        // An RFC 9068 JWT access token for the resource asked for.
        let header = jwt_part(token.expose_str(), 0);
        let claims = jwt_part(token.expose_str(), 1);
        assert_eq!(header["typ"], "at+jwt", "{step}: {header}");
        assert_eq!(claims["aud"], JWT_RESOURCE, "{step}: {claims}");
        assert_eq!(claims["client_id"], client_id, "{step}: {claims}");

        // A wrong secret: invalid_client, said so.
        let wrong = provider.token_source(client_id, "not-the-secret", method);
        match wrong.token().await {
            Err(OAuthClientError::TokenEndpoint(e)) => {
                assert_eq!(
                    e.code().as_str(),
                    "invalid_client",
                    "{step}, wrong secret: {e}"
                );
            }
            other => panic!("{step}, wrong secret: {other:?}"),
        }
    }
}

#[actix_web::test]
async fn resource_server_accepts_oidc_provider_jwt_access_tokens() {
    if skipped("resource_server_accepts_oidc_provider_jwt_access_tokens") {
        return;
    }
    let provider = Provider::start().await;
    let source = provider.token_source(
        "m2m-basic",
        BASIC_SECRET,
        ClientAuthMethod::ClientSecretBasic,
    );
    let token = source
        .token()
        .await
        .unwrap_or_else(|e| panic!("oidc-provider: client credentials: {e}"));
    let api = provider.jwt_api(JWT_RESOURCE);
    let principal = api.verify(token.expose_str()).await.unwrap_or_else(|r| {
        panic!(
            "our resource server refused oidc-provider's at+jwt {}: {r:?}",
            jwt_part(token.expose_str(), 1)
        )
    });
    assert_eq!(principal.subject(), "m2m-basic");
    assert!(principal.scopes().contains("orders:read"));

    // The same issuer's token for another resource server: wrong audience.
    let other = TokenSource::builder(
        provider.endpoint("token_endpoint"),
        "m2m-basic",
        Secret::from(BASIC_SECRET),
    )
    .scopes(Scopes::parse("orders:read").unwrap())
    .resource(OTHER_RESOURCE)
    .build()
    .unwrap();
    let other = other.token().await.unwrap();
    let refused = api.verify(other.expose_str()).await;
    assert_eq!(
        refused.map_err(|r| r.status()).err(),
        Some(401),
        "a token for {OTHER_RESOURCE} must not open {JWT_RESOURCE}"
    );
    // Its API accepts it.
    provider
        .jwt_api(OTHER_RESOURCE)
        .verify(other.expose_str())
        .await
        .unwrap();

    // An opaque token is not a JWT: refused by the JWT resource server.
    let opaque = TokenSource::builder(
        provider.endpoint("token_endpoint"),
        "m2m-basic",
        Secret::from(BASIC_SECRET),
    )
    .resource(OPAQUE_RESOURCE)
    .build()
    .unwrap();
    let opaque = opaque.token().await.unwrap();
    assert_eq!(
        api.verify(opaque.expose_str())
            .await
            .map_err(|r| r.status())
            .err(),
        Some(401)
    );
}

#[actix_web::test]
async fn resource_server_introspects_oidc_provider_opaque_tokens() {
    if skipped("resource_server_introspects_oidc_provider_opaque_tokens") {
        return;
    }
    let log = auth_tests::logs::LogCapture::install();
    let provider = Provider::start().await;
    let introspection = provider.endpoint("introspection_endpoint");
    for method in [
        ClientAuthMethod::ClientSecretBasic,
        ClientAuthMethod::ClientSecretPost,
    ] {
        let step = format!("oidc-provider: introspection ({method:?})");
        let source = TokenSource::builder(
            provider.endpoint("token_endpoint"),
            "m2m-post",
            Secret::from(POST_SECRET),
        )
        .auth_method(ClientAuthMethod::ClientSecretPost)
        .scopes(Scopes::parse("orders:read").unwrap())
        .resource(OPAQUE_RESOURCE)
        .build()
        .unwrap();
        let token = source.token().await.unwrap();
        assert_eq!(
            token.expose_str().split('.').count(),
            1,
            "{step}: expected an opaque token"
        );
        let api = ResourceServer::builder(provider.issuer.clone(), OPAQUE_RESOURCE)
            .introspection(
                introspection.clone(),
                "orders-api",
                Secret::from(API_SECRET),
            )
            .introspection_auth_method(method)
            .build()
            .unwrap();
        let principal = api
            .verify(token.expose_str())
            .await
            .unwrap_or_else(|r| panic!("{step}: refused an active token: {r:?}"));
        assert_eq!(principal.subject(), "m2m-post", "{step}");
        assert!(principal.scopes().contains("orders:read"), "{step}");
        // A made-up token: inactive.
        let mark = log.len();
        let made_up = api
            .verify("made-up-token")
            .await
            .map_err(|r| r.status())
            .err();
        assert_eq!(
            made_up,
            Some(401),
            "{step}: a made-up token; our log: {:#?}",
            our_log(&log, mark)
        );
        // A token for another audience: the introspection answer's `aud` is checked.
        let elsewhere =
            ResourceServer::builder(provider.issuer.clone(), "https://elsewhere.example")
                .introspection(
                    introspection.clone(),
                    "orders-api",
                    Secret::from(API_SECRET),
                )
                .introspection_auth_method(method)
                .build()
                .unwrap();
        let mark = log.len();
        let refused = elsewhere
            .verify(token.expose_str())
            .await
            .map_err(|r| r.status())
            .err();
        assert_eq!(
            refused,
            Some(401),
            "{step}: another audience; our log: {:#?}",
            our_log(&log, mark)
        );
    }
}

/// A browser stand-in for oidc-provider's interaction pages: no redirects followed, its
/// cookies kept (names and values only; every cookie goes back to the one origin).
struct Browser {
    http: reqwest::Client,
    cookies: Vec<(String, String)>,
}

impl Browser {
    async fn send(&mut self, request: reqwest::RequestBuilder, step: &str) -> reqwest::Response {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let request = if cookie.is_empty() {
            request
        } else {
            request.header("cookie", cookie)
        };
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("oidc-provider: {step}: {e}"));
        for value in response.headers().get_all("set-cookie") {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(k, _)| k != name);
            self.cookies
                .push((name.trim().to_owned(), value.trim().to_owned()));
        }
        response
    }

    /// Follows one redirect, expecting one.
    async fn follow(&mut self, base: &str, response: reqwest::Response, step: &str) -> String {
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        let Some(location) = location.filter(|_| status.is_redirection()) else {
            let body = response.text().await.unwrap_or_default();
            panic!("oidc-provider: {step}: expected a redirect, got {status} {body}");
        };
        if location.starts_with('/') {
            format!("{base}{location}")
        } else {
            location
        }
    }
}

/// What our crates logged since `mark` (for a failure message).
fn our_log(log: &auth_tests::logs::LogCapture, mark: usize) -> Vec<String> {
    log.lines_from(mark)
        .into_iter()
        .filter(|l| l.contains("auth_oauth2") || l.contains("auth::audit"))
        .collect()
}

/// The absolute URL of the (first) form's action on a page of `base`.
fn form_action(base: &str, html: &str, step: &str) -> String {
    let start = html
        .find("action=\"")
        .unwrap_or_else(|| panic!("oidc-provider: {step}: no form in {html}"))
        + "action=\"".len();
    let end = html[start..].find('"').unwrap() + start;
    let action = html[start..end]
        .replace("&#x2F;", "/")
        .replace("&#47;", "/")
        .replace("&amp;", "&");
    if action.starts_with('/') {
        format!("{base}{action}")
    } else {
        action
    }
}

#[actix_web::test]
async fn authorization_code_client_logs_in_through_oidc_provider() {
    if skipped("authorization_code_client_logs_in_through_oidc_provider") {
        return;
    }
    let provider = Provider::start().await;
    let base = provider.issuer.clone();
    let client = AuthorizationCodeClient::builder(
        "web-app",
        provider.endpoint("authorization_endpoint"),
        provider.endpoint("token_endpoint"),
        REDIRECT_URI,
    )
    .issuer(provider.issuer.clone())
    .require_issuer_in_response(true)
    .scopes(Scopes::parse("openid orders:read").unwrap())
    .build()
    .unwrap();
    let (url, pending) = client
        .authorization_url()
        .oidc_nonce()
        .param("resource", JWT_RESOURCE)
        .build()
        .unwrap();

    let mut browser = Browser {
        http: http(),
        cookies: Vec::new(),
    };
    // The authorization endpoint sends the user to the login interaction.
    let step = "GET the authorization URL";
    let response = browser.send(browser.http.get(url.as_str()), step).await;
    let interaction = browser.follow(&base, response, step).await;
    let step = "GET the login page";
    let response = browser.send(browser.http.get(&interaction), step).await;
    let html = response.text().await.unwrap();
    let action = form_action(&base, &html, step);
    let step = "POST the login form";
    let response = browser
        .send(
            browser.http.post(&action).form(&[
                ("prompt", "login"),
                ("login", "alice"),
                ("password", "any"),
            ]),
            step,
        )
        .await;
    let resume = browser.follow(&base, response, step).await;
    let step = "resume the authorization after login";
    let response = browser.send(browser.http.get(&resume), step).await;
    let consent = browser.follow(&base, response, step).await;
    let step = "GET the consent page";
    let response = browser.send(browser.http.get(&consent), step).await;
    let html = response.text().await.unwrap();
    let action = form_action(&base, &html, step);
    let step = "POST the consent form";
    let response = browser
        .send(
            browser.http.post(&action).form(&[("prompt", "consent")]),
            step,
        )
        .await;
    let resume = browser.follow(&base, response, step).await;
    let step = "resume the authorization after consent";
    let response = browser.send(browser.http.get(&resume), step).await;
    let callback = browser.follow(&base, response, step).await;
    assert!(
        callback.starts_with(REDIRECT_URI),
        "oidc-provider: {step}: redirected to {callback}"
    );

    // Our client checks state and iss (RFC 9207), then redeems the code with the verifier.
    let verifier = pending.code_verifier().expose_str().unwrap().to_owned();
    let query = callback.split_once('?').unwrap().1;
    let params = CallbackParams::parse(query).unwrap();
    let tokens = client
        .callback(pending, &params)
        .await
        .unwrap_or_else(|e| panic!("oidc-provider: token request for the code: {e}"));
    let id_token = tokens
        .id_token_claims()
        .expect("oidc-provider: no id_token for scope openid");
    assert_eq!(id_token["sub"], "alice");
    assert_eq!(id_token["aud"], "web-app");
    // The access token is an at+jwt for the resource; our resource server accepts it.
    let principal = provider
        .jwt_api(JWT_RESOURCE)
        .verify(tokens.access_token().expose_str())
        .await
        .unwrap_or_else(|r| {
            panic!(
                "our resource server refused the code flow's access token {}: {r:?}",
                jwt_part(tokens.access_token().expose_str(), 1)
            )
        });
    assert_eq!(principal.subject(), "alice");
    assert!(principal.scopes().contains("orders:read"));

    // The code is single use (RFC 6749 §4.1.2): redeemed again, oidc-provider refuses it.
    let code = url_param(query, "code");
    let response = browser
        .http
        .post(provider.endpoint("token_endpoint"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", "web-app"),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (status, &body["error"]),
        (400, &json!("invalid_grant")),
        "{body}"
    );
}

fn url_param(query: &str, name: &str) -> String {
    reqwest::Url::parse(&format!("http://x/?{query}"))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {query}"))
}
