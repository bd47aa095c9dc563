//! API keys end to end, through a real actix-web server on 127.0.0.1: the header, identical
//! refusals with distinct audit reasons, rotation on a test clock, the query string kept out
//! of the logs, throttling, a store outage, plain HTTP.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use actix_web::{App, HttpResponse, web};
use auth_actix::apikey::{
    self, ApiKeyAuthenticator, ApiKeyAuthenticatorBuilder, ApiKeyInfo, KeyManager, KeyMetadata,
    KeyStore, MemoryKeyStore, NewKey,
};
use auth_actix::{Authenticated, RequireHttps};
use auth_apikey::{KeyHash, KeyRecord, StoreError};
use auth_core::{ManualClock, async_trait};
use auth_tests::{LogCapture, TestApp};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER, WWW_AUTHENTICATE};
use serde_json::{Value, json};

/// An in-memory store that can be switched off.
#[derive(Debug, Default)]
struct SwitchStore {
    inner: MemoryKeyStore,
    down: AtomicBool,
}

impl SwitchStore {
    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable(
                "postgres://keys@10.1.2.3/keys: timeout".into(),
            ))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl KeyStore for SwitchStore {
    async fn insert(&self, record: KeyRecord) -> Result<(), StoreError> {
        self.check()?;
        self.inner.insert(record).await
    }
    async fn find_by_hash(&self, hash: &KeyHash) -> Result<Option<KeyRecord>, StoreError> {
        self.check()?;
        self.inner.find_by_hash(hash).await
    }
    async fn find_by_id(&self, id: &str) -> Result<Option<KeyMetadata>, StoreError> {
        self.check()?;
        self.inner.find_by_id(id).await
    }
    async fn list_by_owner(&self, owner: &str) -> Result<Vec<KeyMetadata>, StoreError> {
        self.check()?;
        self.inner.list_by_owner(owner).await
    }
    async fn touch(
        &self,
        id: &str,
        at: SystemTime,
        if_before: SystemTime,
    ) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.touch(id, at, if_before).await
    }
    async fn revoke(&self, id: &str, at: SystemTime) -> Result<Option<KeyMetadata>, StoreError> {
        self.check()?;
        self.inner.revoke(id, at).await
    }
    async fn expire_by(&self, id: &str, at: SystemTime) -> Result<Option<KeyMetadata>, StoreError> {
        self.check()?;
        self.inner.expire_by(id, at).await
    }
    async fn rotate(
        &self,
        id: &str,
        successor: KeyRecord,
        grace_until: SystemTime,
    ) -> Result<Option<KeyMetadata>, StoreError> {
        self.check()?;
        self.inner.rotate(id, successor, grace_until).await
    }
}

struct Server {
    app: TestApp,
    keys: KeyManager,
    clock: ManualClock,
    store: Arc<SwitchStore>,
    /// A key of `svc-orders` with `orders:read`.
    key: String,
    id: String,
}

async fn whoami(user: Authenticated, key: ApiKeyInfo) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "owner": user.subject(),
        "scheme": user.scheme().as_str(),
        "key_id": user.key_id(),
        "scopes": user.scopes().to_string(),
        "name": key.name,
    }))
}

async fn server(
    configure: impl FnOnce(ApiKeyAuthenticatorBuilder) -> ApiKeyAuthenticatorBuilder,
) -> Server {
    let clock = ManualClock::starting_now();
    let store = Arc::new(SwitchStore::default());
    let keys = KeyManager::builder(Arc::clone(&store), "e2e_test")
        .clock(clock.shared())
        .build()
        .unwrap();
    let created = keys
        .create(NewKey::new("svc-orders", "orders sync").scopes("orders:read".parse().unwrap()))
        .await
        .unwrap();
    let auth = apikey::middleware(
        configure(ApiKeyAuthenticator::builder(keys.clone()).realm("e2e"))
            .build()
            .unwrap(),
    );
    let app = TestApp::spawn(move || {
        App::new().service(
            web::scope("/apikey")
                .wrap(auth.clone())
                .route("/{tail:.*}", web::get().to(whoami)),
        )
    });
    Server {
        app,
        keys,
        clock,
        store,
        key: created.key.expose_secret().to_owned(),
        id: created.metadata.id,
    }
}

/// The response headers that identify the outcome (everything but `date`).
fn identifying(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = headers
        .iter()
        .filter(|(name, _)| name.as_str() != "date")
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
        .collect();
    pairs.sort();
    pairs
}

/// `key` with its last character changed (still base62).
fn last_char_wrong(key: &str) -> String {
    let mut bytes = key.as_bytes().to_vec();
    let last = bytes.len() - 1;
    bytes[last] = if bytes[last] == b'a' { b'b' } else { b'a' };
    String::from_utf8(bytes).unwrap()
}

#[actix_web::test]
async fn the_articles_x_api_key_snippet_works_unchanged_but_for_the_url() {
    let server = server(|b| b).await;
    // axios.get(url, { headers: { 'X-API-Key': apiKey } })
    let response = server
        .app
        .get("/apikey/protected")
        .header("X-API-Key", &server.key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"owner": "svc-orders", "scheme": "api_key", "key_id": server.id,
               "scopes": "orders:read", "name": "orders sync"})
    );
}

#[actix_web::test]
async fn no_key_gets_401_with_the_api_key_challenge() {
    let server = server(|b| b.allow_bearer(true)).await;
    let response = server.app.get("/apikey/protected").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenges: Vec<&str> = response
        .headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        challenges,
        [
            r#"ApiKey realm="e2e", header="X-API-Key""#,
            r#"Bearer realm="e2e""#
        ]
    );
    // And the key as a bearer token works too when allowed.
    let response = server
        .app
        .get("/apikey/protected")
        .bearer_auth(&server.key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[actix_web::test]
async fn attack_revoked_expired_unknown_and_mistyped_keys_get_identical_401s() {
    let logs = LogCapture::install();
    let server = server(|b| b).await;
    let keys = &server.keys;
    let revoked = keys.create(NewKey::new("svc", "r")).await.unwrap();
    keys.revoke(&revoked.metadata.id).await.unwrap();
    let expired = keys
        .create(NewKey::new("svc", "e").expires_in(Duration::from_secs(60)))
        .await
        .unwrap();
    server.clock.advance(Duration::from_secs(60));
    let unknown = keys.format().generate().unwrap();

    let cases = [
        (
            "revoked",
            revoked.key.expose_secret().to_owned(),
            "revoked_key",
        ),
        (
            "expired",
            expired.key.expose_secret().to_owned(),
            "expired_key",
        ),
        ("unknown", unknown.expose_secret().to_owned(), "unknown_key"),
        (
            "last-char",
            last_char_wrong(&server.key),
            "checksum_mismatch",
        ),
    ];
    let mut responses = Vec::new();
    for (case, key, _) in &cases {
        let response = server
            .app
            .get(&format!("/apikey/same-{case}"))
            .header("X-API-Key", key)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let headers = identifying(response.headers());
        let body = response.text().await.unwrap();
        responses.push((status, headers, body));
    }
    for response in &responses {
        assert_eq!(response, &responses[0]);
    }
    assert_eq!(responses[0].0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        serde_json::from_str::<Value>(&responses[0].2).unwrap(),
        json!({"error": "invalid_credentials", "error_description": "The credentials are invalid"})
    );

    for (case, key, reason) in &cases {
        let events = logs.audit_events(&format!("/apikey/same-{case}"));
        assert_eq!(events.len(), 1, "{case}");
        assert_eq!(events[0]["reason"], *reason, "{case}");
        assert_eq!(events[0]["scheme"], "api_key");
        assert!(!events[0].to_string().contains(key.as_str()));
    }
    let revoked_event = &logs.audit_events("/apikey/same-revoked")[0];
    assert_eq!(revoked_event["key_id"], revoked.metadata.id.as_str());
}

#[actix_web::test]
async fn attack_a_rotated_key_works_until_the_deadline_and_not_after() {
    let server = server(|b| b).await;
    let new = server
        .keys
        .rotate(&server.id, Duration::from_secs(3600))
        .await
        .unwrap();
    let get = |key: String| {
        let request = server.app.get("/apikey/rotation").header("X-API-Key", key);
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(get(server.key.clone()).await, StatusCode::OK);
    assert_eq!(
        get(new.key.expose_secret().to_owned()).await,
        StatusCode::OK
    );
    server.clock.advance(Duration::from_secs(3599));
    assert_eq!(get(server.key.clone()).await, StatusCode::OK);
    server.clock.advance(Duration::from_secs(1));
    assert_eq!(get(server.key.clone()).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        get(new.key.expose_secret().to_owned()).await,
        StatusCode::OK
    );
}

#[actix_web::test]
async fn attack_a_key_in_the_query_without_the_opt_in_is_refused_and_never_logged() {
    let logs = LogCapture::install();
    let server = server(|b| b).await;
    let response = server
        .app
        .get(&format!("/apikey/query-refused?api_key={}", server.key))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(
        body["error_description"],
        "Send the API key in the X-API-Key header, not in the URL"
    );

    let events = logs.audit_events("/apikey/query-refused");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["reason"], "key_in_query");
    let secret_part = &server.key["e2e_test_".len()..];
    let leaked: Vec<String> = logs
        .lines()
        .into_iter()
        .filter(|line| line.contains(secret_part))
        .collect();
    assert!(leaked.is_empty(), "the key reached the logs: {leaked:?}");
}

#[actix_web::test]
async fn with_the_opt_in_a_query_key_works_and_stays_out_of_the_logs() {
    let logs = LogCapture::install();
    let server = server(|b| b.insecure_allow_query_param("api_key")).await;
    let response = server
        .app
        .get(&format!("/apikey/query-allowed?api_key={}", server.key))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let events = logs.audit_events("/apikey/query-allowed");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["outcome"], "success");
    assert_eq!(events[0]["key_id"], server.id.as_str());
    let secret_part = &server.key["e2e_test_".len()..];
    assert!(
        logs.lines().iter().all(|line| !line.contains(secret_part)),
        "the key reached the logs"
    );
}

#[actix_web::test]
async fn attack_a_key_in_two_places_is_400() {
    let server = server(|b| b.allow_bearer(true)).await;
    let response = server
        .app
        .get("/apikey/two-places")
        .header("X-API-Key", &server.key)
        .bearer_auth(&server.key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
}

#[actix_web::test]
async fn attack_repeated_failures_are_throttled_with_retry_after() {
    let server = server(|b| b).await;
    let unknown = server.keys.format().generate().unwrap();
    for _ in 0..5 {
        let response = server
            .app
            .get("/apikey/guess")
            .header("X-API-Key", unknown.expose_secret())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // Throttled: even the right key waits, so guessing gains nothing.
    let response = server
        .app
        .get("/apikey/guess")
        .header("X-API-Key", &server.key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[RETRY_AFTER], "1");
    server.clock.advance(Duration::from_secs(1));
    let response = server
        .app
        .get("/apikey/guess")
        .header("X-API-Key", &server.key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[actix_web::test]
async fn attack_a_store_outage_is_503_with_an_opaque_body() {
    let server = server(|b| b).await;
    server.store.down.store(true, Ordering::SeqCst);
    let response = server
        .app
        .get("/apikey/outage")
        .header("X-API-Key", &server.key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = response.text().await.unwrap();
    assert!(
        !body.contains("10.1.2.3") && !body.contains("postgres"),
        "{body}"
    );
    server.store.down.store(false, Ordering::SeqCst);
    let response = server
        .app
        .get("/apikey/outage")
        .header("X-API-Key", &server.key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[actix_web::test]
async fn attack_a_key_over_plain_http_is_refused_by_require_https() {
    let keys = KeyManager::builder(MemoryKeyStore::new(), "e2e_test")
        .build()
        .unwrap();
    let created = keys.create(NewKey::new("svc", "k")).await.unwrap();
    let auth = apikey::middleware(ApiKeyAuthenticator::builder(keys).build().unwrap());
    let app = TestApp::spawn(move || {
        App::new().wrap(RequireHttps::new()).service(
            web::scope("/apikey")
                .wrap(auth.clone())
                .route("/{tail:.*}", web::get().to(whoami)),
        )
    });
    let response = app
        .get("/apikey/plain")
        .header("X-API-Key", created.key.expose_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "https_required"
    );
}

/// An API key server behind `https` (the test client connects from 127.0.0.1, so trusting
/// that address plays a reverse proxy that forwards clients' requests).
async fn behind_proxy(https: RequireHttps) -> (TestApp, String, String) {
    let keys = KeyManager::builder(MemoryKeyStore::new(), "e2e_test")
        .build()
        .unwrap();
    let created = keys
        .create(NewKey::new("svc-orders", "orders sync"))
        .await
        .unwrap();
    let unknown = keys.format().generate().unwrap().expose_secret().to_owned();
    let auth = apikey::middleware(ApiKeyAuthenticator::builder(keys).build().unwrap());
    let app = TestApp::spawn(move || {
        App::new().service(
            web::scope("/apikey")
                .wrap(auth.clone())
                .wrap(https.clone())
                .route("/{tail:.*}", web::get().to(whoami)),
        )
    });
    (app, created.key.expose_secret().to_owned(), unknown)
}

async fn status_from(app: &TestApp, forwarded_for: &str, key: &str) -> StatusCode {
    app.get("/apikey/x")
        .header("X-Forwarded-Proto", "https")
        .header("X-Forwarded-For", forwarded_for)
        .header("X-API-Key", key)
        .send()
        .await
        .unwrap()
        .status()
}

#[actix_web::test]
async fn behind_a_trusted_proxy_failures_are_throttled_per_client_not_per_proxy() {
    let proxy = RequireHttps::new().trusted_proxies(["127.0.0.1".parse().unwrap()]);
    let (app, key, unknown) = behind_proxy(proxy).await;
    for _ in 0..5 {
        assert_eq!(
            status_from(&app, "203.0.113.1", &unknown).await,
            StatusCode::UNAUTHORIZED
        );
    }
    // The guessing client waits, whatever it claims further left: the proxy appends the
    // address it saw, and that rightmost untrusted hop is the client.
    assert_eq!(
        status_from(&app, "203.0.113.1", &key).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        status_from(&app, "198.51.100.9, 203.0.113.1", &key).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client behind the same proxy is not locked out by it.
    assert_eq!(status_from(&app, "203.0.113.2", &key).await, StatusCode::OK);
    // A hop that is itself the trusted proxy is skipped: the client is the one before it.
    assert_eq!(
        status_from(&app, "203.0.113.1, 127.0.0.1", &key).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[actix_web::test]
async fn attack_forwarded_for_from_an_untrusted_peer_is_ignored() {
    // The proxy trusted here is elsewhere: 127.0.0.1's headers are anybody's, so a guesser
    // cannot escape its throttle by inventing a new X-Forwarded-For per request.
    let https = RequireHttps::new()
        .trusted_proxies(["10.9.9.9".parse().unwrap()])
        .insecure_allow_loopback_http();
    let (app, key, unknown) = behind_proxy(https).await;
    for n in 0..5 {
        let forwarded = format!("203.0.113.{n}");
        assert_eq!(
            status_from(&app, &forwarded, &unknown).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        status_from(&app, "203.0.113.77", &key).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}
