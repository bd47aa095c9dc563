//! Support for the OAuth 2.0 store suites (`oauth_sql_stores`): the contracts every
//! [`ClientRegistry`], [`RefreshTokenStore`], [`AccessTokenStore`],
//! [`AuthorizationCodeStore`] and [`ConsentStore`] must meet (run against the memory
//! stores, SQLite and PostgreSQL, so the three behave the same), races, outages, and the
//! token service end to end over any set of stores ([`Stores`], [`LiveService`]).
//!
//! Time comes from a [`ManualClock`]; nothing sleeps on the wall clock.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use auth_actix::RequireHttps;
use auth_actix::oauth2_server::TokenEndpoints;
use auth_core::{
    AuthRequest, Clock as _, HeaderList, ManualClock, Scopes, Secret, SharedClock, async_trait,
};
use auth_jwt::{Algorithm, Key, KeySet};
use auth_oauth2::oauth2::url;
use auth_oauth2::{
    AccessTokenRecord, AccessTokenStore, AuthenticatedUser, AuthorizationCodeStore,
    AuthorizeOutcome, ClientConfig, ClientRegistry, CodeTake, ConsentStore, EndpointResponse,
    GrantType, MemoryAccessTokenStore, MemoryAuthorizationCodeStore, MemoryClientRegistry,
    MemoryConsentStore, MemoryRefreshTokenStore, RefreshTokenRecord, RefreshTokenStore,
    SqlClientRegistry, StoreError, TokenFormat, TokenHash, TokenService,
};
use serde_json::Value;

/// The audience of the tests' tokens: opaque, so the access-token store is used.
pub const ORDERS: &str = "https://api.oauth-sql.test/orders";
/// `app`'s redirect URI.
pub const REDIRECT: &str = "https://app.oauth-sql.test/callback";
/// The PKCE verifier of every authorization the tests make.
pub const VERIFIER: &str = "a-pkce-verifier-of-forty-three-characters-x";
/// Where the tests' clocks start: a whole second, so times round-trip exactly.
pub const START: u64 = 1_800_000_000;

/// `UNIX_EPOCH + START + secs`, plus `micros` (stores keep microseconds).
#[must_use]
pub fn at(secs: u64, micros: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(START + secs) + Duration::from_micros(micros)
}

/// A manual clock at [`START`].
#[must_use]
pub fn clock() -> ManualClock {
    ManualClock::new(at(0, 0))
}

// ---------------------------------------------------------------------------------------
// Client registries
// ---------------------------------------------------------------------------------------

/// The operator's methods every client registry offers (the memory registry's are
/// synchronous, the SQL registry's asynchronous), so one contract runs over both.
#[async_trait]
pub trait ClientAdmin: ClientRegistry {
    /// Registers with a generated secret, returned once.
    async fn register(&self, config: ClientConfig) -> Result<Secret, String>;
    /// Registers a public client.
    async fn register_public(&self, config: ClientConfig) -> Result<(), String>;
    /// A new secret; the old one stops working.
    async fn rotate_secret(&self, id: &str) -> Result<Secret, String>;
    /// Disables; whether the client exists.
    async fn disable(&self, id: &str) -> Result<bool, String>;
    /// Enables; whether the client exists.
    async fn enable(&self, id: &str) -> Result<bool, String>;
    /// Removes; whether the client existed.
    async fn remove(&self, id: &str) -> Result<bool, String>;
}

#[async_trait]
impl ClientAdmin for MemoryClientRegistry {
    async fn register(&self, config: ClientConfig) -> Result<Secret, String> {
        MemoryClientRegistry::register(self, config).map_err(|e| e.to_string())
    }
    async fn register_public(&self, config: ClientConfig) -> Result<(), String> {
        MemoryClientRegistry::register_public(self, config).map_err(|e| e.to_string())
    }
    async fn rotate_secret(&self, id: &str) -> Result<Secret, String> {
        MemoryClientRegistry::rotate_secret(self, id).map_err(|e| e.to_string())
    }
    async fn disable(&self, id: &str) -> Result<bool, String> {
        Ok(MemoryClientRegistry::disable(self, id))
    }
    async fn enable(&self, id: &str) -> Result<bool, String> {
        Ok(MemoryClientRegistry::enable(self, id))
    }
    async fn remove(&self, id: &str) -> Result<bool, String> {
        Ok(MemoryClientRegistry::remove(self, id))
    }
}

#[async_trait]
impl ClientAdmin for SqlClientRegistry {
    async fn register(&self, config: ClientConfig) -> Result<Secret, String> {
        SqlClientRegistry::register(self, config)
            .await
            .map_err(|e| e.to_string())
    }
    async fn register_public(&self, config: ClientConfig) -> Result<(), String> {
        SqlClientRegistry::register_public(self, config)
            .await
            .map_err(|e| e.to_string())
    }
    async fn rotate_secret(&self, id: &str) -> Result<Secret, String> {
        SqlClientRegistry::rotate_secret(self, id)
            .await
            .map_err(|e| e.to_string())
    }
    async fn disable(&self, id: &str) -> Result<bool, String> {
        SqlClientRegistry::disable(self, id)
            .await
            .map_err(|e| e.to_string())
    }
    async fn enable(&self, id: &str) -> Result<bool, String> {
        SqlClientRegistry::enable(self, id)
            .await
            .map_err(|e| e.to_string())
    }
    async fn remove(&self, id: &str) -> Result<bool, String> {
        SqlClientRegistry::remove(self, id)
            .await
            .map_err(|e| e.to_string())
    }
}

/// `svc`: client credentials with refresh tokens, `orders:read orders:write`.
pub fn svc_config() -> ClientConfig {
    ClientConfig::new("svc")
        .grant(GrantType::ClientCredentials)
        .grant(GrantType::RefreshToken)
        .refresh_tokens()
        .scopes("orders:read orders:write".parse().unwrap())
        .default_scopes("orders:read".parse().unwrap())
        .audience(ORDERS)
}

/// `app`: a confidential web app, authorization code + refresh tokens.
pub fn app_config() -> ClientConfig {
    ClientConfig::new("app")
        .grant(GrantType::AuthorizationCode)
        .grant(GrantType::RefreshToken)
        .scopes("orders:read".parse().unwrap())
        .audience(ORDERS)
        .redirect_uri(REDIRECT)
}

/// What every client registry does, as [`MemoryClientRegistry`] does it: every field of a
/// record round-trips, secrets are returned once and stored hashed, ids are unique,
/// rotation replaces the secret at once, disable/enable/remove report unknown ids.
///
/// # Panics
///
/// When the registry breaks the contract.
pub async fn client_registry_contract<R: ClientAdmin + ?Sized>(registry: &R) {
    assert_eq!(registry.find("svc").await.unwrap(), None);
    let secret = registry.register(svc_config()).await.unwrap();
    assert_eq!(secret.len(), 43);
    let svc = registry.find("svc").await.unwrap().expect("svc");
    assert!(svc.secret_hash.matches(secret.expose_secret()));
    assert!(!svc.secret_hash.matches(b"another secret"));
    let expected: BTreeSet<GrantType> = [GrantType::ClientCredentials, GrantType::RefreshToken]
        .into_iter()
        .collect();
    assert_eq!(svc.grants, expected);
    assert_eq!(svc.scopes.to_string(), "orders:read orders:write");
    assert_eq!(svc.default_scopes.to_string(), "orders:read");
    assert_eq!(svc.audiences, [ORDERS]);
    assert!(svc.refresh_tokens && !svc.public && !svc.disabled);

    // Every field, public clients, lists of several URIs (with characters JSON escapes).
    registry
        .register_public(
            ClientConfig::new("native")
                .public()
                .grant(GrantType::AuthorizationCode)
                .scopes("profile".parse().unwrap())
                .audience(ORDERS)
                .audience("https://api.oauth-sql.test/\"quoted\"")
                .redirect_uri("http://127.0.0.1:8080/cb")
                .redirect_uri("https://app.oauth-sql.test/cb?x=1&y=2"),
        )
        .await
        .unwrap();
    let native = registry.find("native").await.unwrap().expect("native");
    assert!(native.public);
    assert_eq!(native.secret_hash.as_bytes(), &[0; 32], "no secret");
    assert_eq!(
        native.redirect_uris,
        [
            "http://127.0.0.1:8080/cb",
            "https://app.oauth-sql.test/cb?x=1&y=2"
        ]
    );
    assert_eq!(native.audiences[1], "https://api.oauth-sql.test/\"quoted\"");
    let rs = registry
        .register(ClientConfig::new("orders-api").introspection_for(ORDERS))
        .await
        .unwrap();
    let api = registry.find("orders-api").await.unwrap().unwrap();
    assert_eq!(api.introspection_audiences, [ORDERS]);
    assert!(api.grants.is_empty());
    assert!(api.secret_hash.matches(rs.expose_secret()));

    // Refused: duplicates, a public client through register, bad configurations.
    assert!(
        registry.register(svc_config()).await.is_err(),
        "ids are unique"
    );
    assert!(
        registry
            .register(
                ClientConfig::new("p")
                    .public()
                    .grant(GrantType::AuthorizationCode)
            )
            .await
            .is_err()
    );
    assert!(
        registry
            .register(ClientConfig::new("nothing"))
            .await
            .is_err()
    );
    assert!(registry.register_public(app_config()).await.is_err());
    assert_eq!(registry.find("nothing").await.unwrap(), None);
    assert_eq!(
        registry.find("svc").await.unwrap().unwrap(),
        svc,
        "untouched"
    );

    // Rotation: the old secret stops working at once.
    let rotated = registry.rotate_secret("svc").await.unwrap();
    let svc = registry.find("svc").await.unwrap().unwrap();
    assert!(svc.secret_hash.matches(rotated.expose_secret()));
    assert!(!svc.secret_hash.matches(secret.expose_secret()));
    assert!(registry.rotate_secret("nobody").await.is_err());

    // Disable, enable, remove.
    assert!(registry.disable("svc").await.unwrap());
    assert!(registry.find("svc").await.unwrap().unwrap().disabled);
    assert!(registry.enable("svc").await.unwrap());
    assert!(!registry.find("svc").await.unwrap().unwrap().disabled);
    assert!(!registry.disable("nobody").await.unwrap());
    assert!(!registry.enable("nobody").await.unwrap());
    assert!(registry.remove("svc").await.unwrap());
    assert!(!registry.remove("svc").await.unwrap());
    assert_eq!(registry.find("svc").await.unwrap(), None);
    // Exact, case-sensitive ids.
    assert_eq!(registry.find("ORDERS-API").await.unwrap(), None);
    registry
        .register(svc_config())
        .await
        .expect("id free again");
}

// ---------------------------------------------------------------------------------------
// Token stores
// ---------------------------------------------------------------------------------------

/// A refresh-token record for `token` in `family`, every field set, times to the
/// microsecond.
#[must_use]
pub fn refresh_record(token: &str, family: &str, n: u64) -> RefreshTokenRecord {
    let mut record = RefreshTokenRecord::new(
        TokenHash::of(token),
        family,
        "svc",
        "alice",
        "orders:read orders:write".parse().unwrap(),
        ORDERS,
        at(n, 123_456),
        at(n + 3600, 654_321),
    );
    record.first_party = n % 2 == 1;
    record.family_expires_at = at(n + 7200, 1);
    record.access_token_id = format!("at-{token}");
    record.access_expires_at = at(n + 600, 42);
    record
}

/// An opaque access-token record for `token`, in `family` if any.
#[must_use]
pub fn access_record(token: &str, family: Option<&str>, n: u64) -> AccessTokenRecord {
    let mut record = AccessTokenRecord::new(
        TokenHash::of(token),
        format!("jti-{token}"),
        "svc",
        "alice",
        "orders:read".parse().unwrap(),
        ORDERS,
        at(n, 999_999),
        at(n + 600, 1),
    );
    record.family_id = family.map(str::to_owned);
    record
}

/// What every refresh-token store does, as [`MemoryRefreshTokenStore`] does it: exact
/// round trips, rotation once (compare and set), families revoked together with their
/// records returned, nothing rotated once revoked.
///
/// # Panics
///
/// When the store breaks the contract.
pub async fn refresh_store_contract(store: &dyn RefreshTokenStore) {
    let (a, b, c) = (
        refresh_record("a", "f1", 1),
        refresh_record("b", "f1", 2),
        refresh_record("c", "f2", 3),
    );
    for record in [&a, &b, &c] {
        store.insert(record.clone()).await.unwrap();
    }
    assert_eq!(store.find(&a.hash).await.unwrap(), Some(a.clone()));
    assert_eq!(store.find(&c.hash).await.unwrap(), Some(c.clone()));
    assert_eq!(store.find(&TokenHash::of("z")).await.unwrap(), None);

    assert!(store.mark_rotated(&a.hash).await.unwrap());
    assert!(!store.mark_rotated(&a.hash).await.unwrap(), "only once");
    assert!(!store.mark_rotated(&TokenHash::of("z")).await.unwrap());
    assert!(store.find(&a.hash).await.unwrap().unwrap().rotated);

    let mut revoked = store.revoke_family("f1").await.unwrap();
    revoked.sort_by_key(|r| r.access_token_id.clone());
    let mut expected = vec![a.clone(), b.clone()];
    for record in &mut expected {
        record.revoked = true;
    }
    expected[0].rotated = true;
    assert_eq!(revoked, expected);
    assert!(!store.mark_rotated(&b.hash).await.unwrap(), "revoked");
    assert!(store.find(&b.hash).await.unwrap().unwrap().revoked);
    assert_eq!(
        store.find(&c.hash).await.unwrap(),
        Some(c.clone()),
        "other families untouched"
    );
    assert!(store.revoke_family("nobody").await.unwrap().is_empty());
}

/// What every access-token store does, as [`MemoryAccessTokenStore`] does it.
///
/// # Panics
///
/// When the store breaks the contract.
pub async fn access_store_contract(store: &dyn AccessTokenStore) {
    let (a, b, c) = (
        access_record("a", Some("f1"), 1),
        access_record("b", Some("f1"), 2),
        access_record("c", None, 3),
    );
    for record in [&a, &b, &c] {
        store.insert(record.clone()).await.unwrap();
    }
    assert_eq!(store.find(&a.hash).await.unwrap(), Some(a.clone()));
    assert_eq!(store.find(&c.hash).await.unwrap(), Some(c.clone()));
    assert_eq!(store.find(&TokenHash::of("z")).await.unwrap(), None);

    store.revoke(&c.hash).await.unwrap();
    store.revoke(&TokenHash::of("z")).await.unwrap();
    assert!(store.find(&c.hash).await.unwrap().unwrap().revoked);
    assert!(!store.find(&a.hash).await.unwrap().unwrap().revoked);
    store.revoke_family("f1").await.unwrap();
    assert!(store.find(&a.hash).await.unwrap().unwrap().revoked);
    assert!(store.find(&b.hash).await.unwrap().unwrap().revoked);
    assert_eq!(store.find(&TokenHash::of("z")).await.unwrap(), None);
}

/// What every consent store does, as [`MemoryConsentStore`] does it: grants per (user,
/// client), adding up, an empty grant remembered too.
///
/// # Panics
///
/// When the store breaks the contract.
pub async fn consent_store_contract(store: &dyn ConsentStore) {
    assert_eq!(store.granted("alice", "app").await.unwrap(), None);
    let ab: Scopes = "orders:read orders:write".parse().unwrap();
    store.remember("alice", "app", &ab).await.unwrap();
    assert_eq!(store.granted("alice", "app").await.unwrap(), Some(ab));
    store
        .remember("alice", "app", &"profile orders:read".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        store
            .granted("alice", "app")
            .await
            .unwrap()
            .unwrap()
            .to_string(),
        "orders:read orders:write profile"
    );
    assert_eq!(store.granted("alice", "other").await.unwrap(), None);
    assert_eq!(store.granted("Alice", "app").await.unwrap(), None);
    store.remember("bob", "app", &Scopes::new()).await.unwrap();
    assert_eq!(
        store.granted("bob", "app").await.unwrap(),
        Some(Scopes::new())
    );
}

// ---------------------------------------------------------------------------------------
// The token service over a set of stores
// ---------------------------------------------------------------------------------------

/// The stores of one token service.
#[derive(Clone)]
pub struct Stores {
    /// Clients, with the operator's methods.
    pub clients: Arc<dyn ClientAdmin>,
    /// Refresh tokens.
    pub refresh: Arc<dyn RefreshTokenStore>,
    /// Opaque access tokens.
    pub access: Arc<dyn AccessTokenStore>,
    /// Authorization codes.
    pub codes: Arc<dyn AuthorizationCodeStore>,
    /// Remembered consent.
    pub consents: Arc<dyn ConsentStore>,
}

impl Stores {
    /// The memory stores, judging expiry by `clock`.
    #[must_use]
    pub fn memory(clock: &SharedClock) -> Self {
        Self {
            clients: Arc::new(MemoryClientRegistry::new()),
            refresh: Arc::new(MemoryRefreshTokenStore::new(clock.clone())),
            access: Arc::new(MemoryAccessTokenStore::new(clock.clone())),
            codes: Arc::new(MemoryAuthorizationCodeStore::new(clock.clone())),
            consents: Arc::new(MemoryConsentStore::new()),
        }
    }

    /// The SQL stores over `pool` (migrated), judging expiry by `clock`.
    ///
    /// # Panics
    ///
    /// When the migration fails.
    pub async fn sql(pool: auth_core::SqlPool, clock: &SharedClock) -> Self {
        use auth_oauth2::{
            SqlAccessTokenStore, SqlAuthorizationCodeStore, SqlConsentStore, SqlRefreshTokenStore,
        };
        let clients = SqlClientRegistry::new(pool.clone()).with_clock(clock.clone());
        clients.migrate().await.expect("migrate");
        Self {
            clients: Arc::new(clients),
            refresh: Arc::new(SqlRefreshTokenStore::new(pool.clone()).with_clock(clock.clone())),
            access: Arc::new(SqlAccessTokenStore::new(pool.clone()).with_clock(clock.clone())),
            codes: Arc::new(SqlAuthorizationCodeStore::new(pool.clone()).with_clock(clock.clone())),
            consents: Arc::new(SqlConsentStore::new(pool)),
        }
    }

    /// A token service at `issuer` over these stores (`svc` and `app` registered; their
    /// secrets returned), ORDERS tokens opaque, time from `clock`.
    ///
    /// # Panics
    ///
    /// When a client cannot be registered or the service built.
    pub async fn service(&self, issuer: &str, clock: SharedClock) -> (TokenService, Secrets) {
        let secrets = Secrets {
            svc: self.clients.register(svc_config()).await.unwrap(),
            app: self.clients.register(app_config()).await.unwrap(),
        };
        let clients: Arc<dyn ClientRegistry> = Arc::new(Registry(self.clients.clone()));
        let service = TokenService::builder(
            issuer,
            KeySet::single(Key::generate("k1", Algorithm::ES256).unwrap()),
            clients,
        )
        .audience(ORDERS, TokenFormat::Opaque)
        .refresh_token_store(self.refresh.clone())
        .access_token_store(self.access.clone())
        .authorization_code_store(self.codes.clone())
        .clock(clock)
        .insecure_without_throttle()
        .insecure_allow_loopback_http()
        .build()
        .unwrap();
        (service, secrets)
    }
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores")
            .field("clients", &self.clients)
            .field("refresh", &self.refresh)
            .field("access", &self.access)
            .field("codes", &self.codes)
            .field("consents", &self.consents)
            .finish()
    }
}

/// A [`ClientAdmin`] as the service's [`ClientRegistry`].
#[derive(Debug)]
struct Registry(Arc<dyn ClientAdmin>);

#[async_trait]
impl ClientRegistry for Registry {
    async fn find(&self, client_id: &str) -> Result<Option<auth_oauth2::ClientRecord>, StoreError> {
        self.0.find(client_id).await
    }
}

/// The secrets of the registered clients.
#[derive(Debug, Clone)]
pub struct Secrets {
    /// `svc`'s.
    pub svc: Secret,
    /// `app`'s.
    pub app: Secret,
}

/// `service.token` (or another POST endpoint, by `path`) with a form body, credentials in
/// it (`client_secret_post`), over TLS.
pub async fn post_form(
    service: &TokenService,
    path: &str,
    client: Option<(&str, &Secret)>,
    params: &[(&str, &str)],
) -> EndpointResponse {
    // Built apart: the serializer is not `Send`, and this future must be.
    let body = {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in params {
            form.append_pair(name, value);
        }
        if let Some((id, secret)) = client {
            form.append_pair("client_id", id);
            form.append_pair("client_secret", secret.expose_str().unwrap());
        }
        form.finish()
    };
    let headers = HeaderList::new().with("Content-Type", "application/x-www-form-urlencoded");
    let request = AuthRequest::new("POST", path, &headers)
        .with_body(Some(body.as_bytes()))
        .with_secure(true);
    match path {
        "/token" => service.token(&request).await,
        "/introspect" => service.introspect(&request).await,
        _ => service.revoke(&request).await,
    }
}

/// The authorization request of `app` (PKCE with [`VERIFIER`]), as a query string.
#[must_use]
pub fn authorization_query() -> String {
    let challenge = auth_oauth2::pkce_s256_challenge(VERIFIER).unwrap();
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", "app")
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "orders:read")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", "st")
        .finish()
}

/// `alice` at the authorization endpoint with `query`: `approve` answers the consent page
/// (approve, remember) as the consent form would.
pub async fn authorize_as_alice(
    service: &TokenService,
    consents: &dyn ConsentStore,
    query: &str,
    approve: bool,
) -> AuthorizeOutcome {
    let target = format!("/authorize?{query}");
    let headers = HeaderList::new();
    let request = AuthRequest::new("GET", &target, &headers).with_secure(true);
    let alice = AuthenticatedUser::new("alice");
    if approve {
        service.decide(&request, &alice, true, true, consents).await
    } else {
        service.authorize(&request, Some(&alice), consents).await
    }
}

/// The `code` of a redirect to `app`.
///
/// # Panics
///
/// When `outcome` is not such a redirect.
#[must_use]
pub fn code_of(outcome: &AuthorizeOutcome) -> String {
    let Some(location) = outcome.location() else {
        panic!("expected a redirect, got {outcome:?}")
    };
    assert!(location.starts_with(REDIRECT), "{location}");
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .find(|(n, _)| n == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code")
}

/// A fresh code for `app`, through consent (approved and remembered).
pub async fn issue_code(service: &TokenService, consents: &dyn ConsentStore) -> String {
    code_of(&authorize_as_alice(service, consents, &authorization_query(), true).await)
}

/// What every authorization-code store does, as [`MemoryAuthorizationCodeStore`] does
/// it, with codes the service issued into `stores.codes`: taken once, then seen as used
/// (and marked replayed, which `attach_access_token` reports); unknown codes are unknown.
///
/// # Panics
///
/// When the store breaks the contract.
pub async fn code_store_contract(stores: &Stores) {
    let clock = clock();
    let (service, _) = stores
        .service("https://id.oauth-sql.test", clock.shared())
        .await;
    let code = issue_code(&service, &*stores.consents).await;
    let hash = TokenHash::of(&code);
    let CodeTake::Fresh(record) = stores.codes.take(&hash).await.unwrap() else {
        panic!("a fresh code")
    };
    assert_eq!(record.client_id, "app");
    assert_eq!(record.redirect_uri, REDIRECT);
    assert_eq!(record.subject, "alice");
    assert_eq!(record.scopes.to_string(), "orders:read");
    assert_eq!(record.audience, ORDERS);
    assert_eq!(
        record.code_challenge.as_deref(),
        auth_oauth2::pkce_s256_challenge(VERIFIER).as_deref()
    );
    assert_eq!(record.issued_at, clock.now());
    assert_eq!(record.access_token_id, None);
    assert!(
        stores
            .codes
            .attach_access_token(&hash, "jti-1", at(600, 7))
            .await
            .unwrap(),
        "nobody replayed it"
    );
    let CodeTake::Used(used) = stores.codes.take(&hash).await.unwrap() else {
        panic!("a used code")
    };
    assert_eq!(used.access_token_id.as_deref(), Some("jti-1"));
    assert_eq!(used.access_expires_at, Some(at(600, 7)));
    assert_eq!(used.family_id, record.family_id);
    assert!(
        !stores
            .codes
            .attach_access_token(&hash, "jti-2", at(600, 7))
            .await
            .unwrap(),
        "replayed since"
    );
    assert_eq!(
        stores
            .codes
            .take(&TokenHash::of("never issued"))
            .await
            .unwrap(),
        CodeTake::Unknown
    );
    // Remembered consent: the second authorization needs no page.
    let again =
        authorize_as_alice(&service, &*stores.consents, &authorization_query(), false).await;
    let second = code_of(&again);
    assert_ne!(second, code);
}

/// Races: `n` concurrent takes of one code, exactly one gets it fresh; `n` concurrent
/// rotations of one refresh token, exactly one wins.
///
/// # Panics
///
/// When more or fewer than one wins.
pub async fn concurrency_contract(stores: &Stores, n: usize) {
    let clock = clock();
    let (service, _) = stores
        .service("https://id.oauth-sql.test", clock.shared())
        .await;
    let code = issue_code(&service, &*stores.consents).await;
    let hash = TokenHash::of(&code);
    let takes: Vec<_> = (0..n)
        .map(|_| {
            let codes = stores.codes.clone();
            tokio::spawn(async move { codes.take(&hash).await })
        })
        .collect();
    let mut fresh = 0;
    for take in takes {
        match take.await.unwrap().unwrap() {
            CodeTake::Fresh(_) => fresh += 1,
            CodeTake::Used(_) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(fresh, 1, "exactly one take wins");

    let record = refresh_record("raced", "race", 1);
    stores.refresh.insert(record.clone()).await.unwrap();
    let rotations: Vec<_> = (0..n)
        .map(|_| {
            let refresh = stores.refresh.clone();
            tokio::spawn(async move { refresh.mark_rotated(&record.hash).await })
        })
        .collect();
    let mut won = 0;
    for rotation in rotations {
        if rotation.await.unwrap().unwrap() {
            won += 1;
        }
    }
    assert_eq!(won, 1, "exactly one rotation wins");
}

fn field(response: &EndpointResponse, name: &str) -> String {
    response.json()[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} in {}", response.body()))
        .to_owned()
}

/// Expiry by the service's clock over any stores: an expired code, access token and
/// refresh token are refused; the rest still work.
///
/// # Panics
///
/// When an expired credential is accepted.
pub async fn expiry_contract(stores: &Stores) {
    let clock = clock();
    let (service, secrets) = stores
        .service("https://id.oauth-sql.test", clock.shared())
        .await;
    let svc = Some(("svc", &secrets.svc));
    let issued = post_form(
        &service,
        "/token",
        svc,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(issued.status(), 200, "{}", issued.body());
    let (access, refresh) = (
        field(&issued, "access_token"),
        field(&issued, "refresh_token"),
    );
    let code = issue_code(&service, &*stores.consents).await;

    clock.advance(TokenService::DEFAULT_CODE_TTL + Duration::from_secs(1));
    let late = post_form(
        &service,
        "/token",
        Some(("app", &secrets.app)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(
        (late.status(), field(&late, "error")),
        (400, "invalid_grant".into())
    );

    clock.advance(TokenService::DEFAULT_ACCESS_TOKEN_TTL);
    let seen = post_form(&service, "/introspect", svc, &[("token", &access)]).await;
    assert_eq!(seen.json()["active"], false, "{}", seen.body());
    // The refresh token lives on (24 h): it still works, and gives a live access token.
    let renewed = post_form(
        &service,
        "/token",
        svc,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(renewed.status(), 200, "{}", renewed.body());
    let live = post_form(
        &service,
        "/introspect",
        svc,
        &[("token", &field(&renewed, "access_token"))],
    )
    .await;
    assert_eq!(live.json()["active"], true, "{}", live.body());

    clock.advance(TokenService::DEFAULT_REFRESH_TOKEN_TTL + Duration::from_secs(1));
    let stale = post_form(
        &service,
        "/token",
        svc,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &field(&renewed, "refresh_token")),
        ],
    )
    .await;
    assert_eq!(
        (stale.status(), field(&stale, "error")),
        (400, "invalid_grant".into())
    );
}

/// Stores that fail (a closed pool, an unreachable database): the token endpoint and the
/// authorization endpoint answer 503 `temporarily_unavailable` within `bound`, with
/// nothing of the cause in the body. `dead` are the failing stores; `secret` is `svc`'s
/// (registered before the outage, or in a live registry).
///
/// # Panics
///
/// When a request is answered otherwise, or late.
pub async fn outage_answers_503(
    service: &TokenService,
    dead: &Stores,
    secret: &Secret,
    bound: Duration,
) {
    let started = std::time::Instant::now();
    let svc = Some(("svc", secret));
    let token = post_form(
        service,
        "/token",
        svc,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(token.status(), 503, "{}", token.body());
    assert_eq!(field(&token, "error"), "temporarily_unavailable");
    let authorize =
        authorize_as_alice(service, &*dead.consents, &authorization_query(), false).await;
    match &authorize {
        AuthorizeOutcome::ShowError(error) => assert_eq!(error.status(), 503),
        AuthorizeOutcome::RedirectError { error, .. } => {
            assert_eq!(*error, auth_oauth2::ErrorCode::TemporarilyUnavailable);
        }
        other => panic!("{other:?}"),
    }
    assert!(dead.refresh.find(&TokenHash::of("x")).await.is_err());
    assert!(dead.codes.take(&TokenHash::of("x")).await.is_err());
    assert!(dead.consents.granted("alice", "app").await.is_err());
    let elapsed = started.elapsed();
    assert!(elapsed < bound, "answered in {elapsed:?}, over {bound:?}");
    let body = token.body();
    for cause in ["sqlite", "postgres", "pool", "127.0.0.1", "timeout"] {
        assert!(!body.contains(cause), "{body}");
    }
}

// ---------------------------------------------------------------------------------------
// Through a real actix-web server
// ---------------------------------------------------------------------------------------

/// What builds the stores, on the server's own thread and runtime (where they are used).
pub type MakeStores =
    Box<dyn FnOnce(SharedClock) -> Pin<Box<dyn Future<Output = Stores>>> + Send + 'static>;

/// A token service over some stores, served by actix-web on `127.0.0.1:<port>` in a
/// thread (and runtime) of its own, with a stand-in for the authorization endpoint where
/// `alice` is logged in (`/alice/authorize`, `/alice/approve`).
pub struct LiveService {
    /// `http://127.0.0.1:<port>`, also the issuer.
    pub base: String,
    /// The clients' secrets.
    pub secrets: Secrets,
    /// The service's clock.
    pub clock: ManualClock,
    /// An HTTP client that follows no redirect.
    pub http: reqwest::Client,
    handle: ServerHandle,
}

impl std::fmt::Debug for LiveService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveService")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

struct AliceState {
    service: TokenService,
    consents: Arc<dyn ConsentStore>,
}

async fn alice_authorize(req: HttpRequest, state: web::Data<AliceState>) -> HttpResponse {
    alice_answer(&req, &state, false).await
}

async fn alice_approve(req: HttpRequest, state: web::Data<AliceState>) -> HttpResponse {
    alice_answer(&req, &state, true).await
}

async fn alice_answer(req: &HttpRequest, state: &AliceState, approve: bool) -> HttpResponse {
    let outcome = authorize_as_alice(
        &state.service,
        &*state.consents,
        req.query_string(),
        approve,
    )
    .await;
    match outcome {
        AuthorizeOutcome::Consent(_) => HttpResponse::Ok().body("consent"),
        AuthorizeOutcome::Redirect { location } => HttpResponse::SeeOther()
            .insert_header(("location", location))
            .finish(),
        other => HttpResponse::BadRequest().body(format!("{other:?}")),
    }
}

impl LiveService {
    /// Starts the server; `make` builds its stores on the server's thread.
    ///
    /// # Panics
    ///
    /// When the server does not come up within 30 seconds.
    pub async fn start(make: MakeStores) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let clock = clock();
        let shared = clock.shared();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let issuer = base.clone();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let stores = make(shared.clone()).await;
                let (service, secrets) = stores.service(&issuer, shared).await;
                let endpoints = TokenEndpoints::new(service.clone());
                let state = web::Data::new(AliceState {
                    service,
                    consents: stores.consents.clone(),
                });
                let server = HttpServer::new(move || {
                    let endpoints = endpoints.clone();
                    App::new()
                        .wrap(RequireHttps::new().insecure_allow_loopback_http())
                        .app_data(state.clone())
                        .configure(move |cfg| endpoints.configure(cfg))
                        .route("/alice/authorize", web::get().to(alice_authorize))
                        .route("/alice/approve", web::get().to(alice_approve))
                        .wrap(crate::leaks::Watch)
                })
                .workers(1)
                .disable_signals()
                .shutdown_timeout(1)
                .listen(listener)
                .expect("listen")
                .run();
                let _ = tx.send((server.handle(), secrets));
                let _ = server.await;
            });
        });
        let (handle, secrets) = tokio::time::timeout(Duration::from_secs(30), rx)
            .await
            .expect("the server starts in time")
            .expect("the server thread started");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(crate::REQUEST_TIMEOUT)
            .no_proxy()
            .build()
            .unwrap();
        Self {
            base,
            secrets,
            clock,
            http,
            handle,
        }
    }

    /// Stops the server.
    pub async fn stop(self) {
        let _ = tokio::time::timeout(Duration::from_secs(10), self.handle.stop(false)).await;
    }

    async fn post(
        &self,
        path: &str,
        client: (&str, &Secret),
        form: &[(&str, &str)],
    ) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .basic_auth(client.0, client.1.expose_str())
            .form(form)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&body).unwrap_or(Value::String(body)),
        )
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }
}

fn text(value: &Value, name: &str) -> String {
    value[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} in {value}"))
        .to_owned()
}

/// The token service end to end over HTTP with any stores: client credentials,
/// introspection, refresh rotation and reuse detection, revocation, the authorization code
/// grant with PKCE (consent remembered, replay revoking the family), and expiry.
///
/// # Panics
///
/// When a step does not behave as with the memory stores.
pub async fn token_service_over_http(make: MakeStores) {
    let live = LiveService::start(make).await;
    let svc_secret = live.secrets.svc.clone();
    let svc = ("svc", &svc_secret);
    let app_secret = live.secrets.app.clone();
    let app = ("app", &app_secret);

    // Client credentials, with a refresh token; introspection of its own token.
    let (status, issued) = live
        .post("/token", svc, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(status, 200, "{issued}");
    assert_eq!(issued["token_type"], "Bearer");
    let (access_1, refresh_1) = (
        text(&issued, "access_token"),
        text(&issued, "refresh_token"),
    );
    let (_, seen) = live.post("/introspect", svc, &[("token", &access_1)]).await;
    assert_eq!(seen["active"], true, "{seen}");
    assert_eq!(seen["scope"], "orders:read");

    // Rotation: the new pair works; the old refresh token again revokes the family.
    let (status, rotated) = live
        .post(
            "/token",
            svc,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh_1),
            ],
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let (access_2, refresh_2) = (
        text(&rotated, "access_token"),
        text(&rotated, "refresh_token"),
    );
    assert_ne!(refresh_2, refresh_1);
    let (status, reused) = live
        .post(
            "/token",
            svc,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh_1),
            ],
        )
        .await;
    assert_eq!(
        (status, text(&reused, "error")),
        (400, "invalid_grant".into())
    );
    let (status, _) = live
        .post(
            "/token",
            svc,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh_2),
            ],
        )
        .await;
    assert_eq!(status, 400, "the family is revoked");
    let (_, seen) = live.post("/introspect", svc, &[("token", &access_2)]).await;
    assert_eq!(seen["active"], false, "with its access tokens: {seen}");

    // Revocation (RFC 7009) of an access token and of a refresh token.
    let (_, issued) = live
        .post("/token", svc, &[("grant_type", "client_credentials")])
        .await;
    let (access_3, refresh_3) = (
        text(&issued, "access_token"),
        text(&issued, "refresh_token"),
    );
    let (status, _) = live.post("/revoke", svc, &[("token", &access_3)]).await;
    assert_eq!(status, 200);
    let (_, seen) = live.post("/introspect", svc, &[("token", &access_3)]).await;
    assert_eq!(seen["active"], false, "{seen}");
    let (status, _) = live.post("/revoke", svc, &[("token", &refresh_3)]).await;
    assert_eq!(status, 200);
    let (status, _) = live
        .post(
            "/token",
            svc,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh_3),
            ],
        )
        .await;
    assert_eq!(status, 400, "a revoked refresh token");

    // The authorization code grant: consent asked once, then remembered.
    let query = authorization_query();
    let page = live.get(&format!("/alice/authorize?{query}")).await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.text().await.unwrap(), "consent");
    let approved = live.get(&format!("/alice/approve?{query}")).await;
    assert_eq!(approved.status(), 303);
    let location = approved.headers()["location"].to_str().unwrap().to_owned();
    let code = code_of(&AuthorizeOutcome::Redirect { location });
    let redeem = |code: String| {
        let live = &live;
        async move {
            live.post(
                "/token",
                app,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", VERIFIER),
                ],
            )
            .await
        }
    };
    let (status, tokens) = redeem(code.clone()).await;
    assert_eq!(status, 200, "{tokens}");
    let (user_access, user_refresh) = (
        text(&tokens, "access_token"),
        text(&tokens, "refresh_token"),
    );
    let (_, seen) = live
        .post("/introspect", app, &[("token", &user_access)])
        .await;
    assert_eq!(
        (seen["active"].clone(), seen["sub"].clone()),
        (true.into(), "alice".into())
    );
    // A replayed code: refused, and what it gave is revoked.
    let (status, replay) = redeem(code).await;
    assert_eq!(
        (status, text(&replay, "error")),
        (400, "invalid_grant".into())
    );
    let (_, seen) = live
        .post("/introspect", app, &[("token", &user_access)])
        .await;
    assert_eq!(seen["active"], false, "{seen}");
    let (status, _) = live
        .post(
            "/token",
            app,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &user_refresh),
            ],
        )
        .await;
    assert_eq!(status, 400);
    // Remembered consent: straight to the client with a new code.
    let again = live.get(&format!("/alice/authorize?{query}")).await;
    assert_eq!(again.status(), 303);
    let location = again.headers()["location"].to_str().unwrap().to_owned();
    let code = code_of(&AuthorizeOutcome::Redirect { location });
    let (status, tokens) = redeem(code).await;
    assert_eq!(status, 200, "{tokens}");

    // Expiry by the service's clock.
    live.clock
        .advance(TokenService::DEFAULT_ACCESS_TOKEN_TTL + Duration::from_secs(1));
    let (_, seen) = live
        .post(
            "/introspect",
            app,
            &[("token", &text(&tokens, "access_token"))],
        )
        .await;
    assert_eq!(seen["active"], false, "expired: {seen}");
    let (status, renewed) = live
        .post(
            "/token",
            app,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &text(&tokens, "refresh_token")),
            ],
        )
        .await;
    assert_eq!(status, 200, "{renewed}");
    live.stop().await;
}
