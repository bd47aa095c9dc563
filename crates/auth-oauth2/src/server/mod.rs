//! The token service (feature `server`): an OAuth 2.0 authorization server — the
//! authorization endpoint (RFC 6749 §4.1, with PKCE and consent), the token endpoint (RFC 6749 §3.2), introspection (RFC 7662), revocation (RFC 7009),
//! metadata (RFC 8414) and the JWKS — as framework-free logic. Adapters feed it plain
//! request parts ([`AuthRequest`]) and send back the [`EndpointResponse`]; auth-actix's
//! `oauth2_server` module does that for actix-web.

mod audit;
mod authorize;
mod code;
mod first_party;
mod introspection;
mod metadata;
mod registry;
mod request;
mod response;
mod revocation;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
mod store;
mod token;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use auth_core::{
    AuthRequest, MemoryThrottle, SharedClock, SystemClock, Throttle, ThrottleKey, ThrottlePolicy,
};
use auth_jwt::{Issuer, MemoryRevocationStore, RevocationStore, SharedKeySet, Verifier};

pub use authorize::{
    AuthenticatedUser, AuthorizeError, AuthorizeOutcome, ConsentPrompt, ConsentStore,
    MemoryConsentStore, redirect_uri_matches,
};
pub use code::{
    AuthorizationCodeRecord, AuthorizationCodeStore, CodeTake, MemoryAuthorizationCodeStore,
};
pub use first_party::{PasswordCheck, UserTokens};
pub use registry::{
    ClientConfig, ClientRecord, ClientRegistry, GrantType, MemoryClientRegistry, SecretHash,
    generate_client_secret,
};
pub use response::{EndpointError, EndpointResponse};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sql::{
    ClientAdminError, ClientInfo, SqlAccessTokenStore, SqlAuthorizationCodeStore,
    SqlClientRegistry, SqlConsentStore, SqlRefreshTokenStore, SqlStoreError,
};
pub use store::{
    AccessTokenRecord, AccessTokenStore, MemoryAccessTokenStore, MemoryRefreshTokenStore,
    RefreshTokenRecord, RefreshTokenStore, StoreError, TokenHash,
};

use crate::{Error, Result, TokenFormat};
use audit::Audit;
use request::{Form, Method, Presented};

/// Where the endpoints are served: absolute paths on the issuer's origin. The metadata
/// document is always at `/.well-known/oauth-authorization-server` followed by the issuer's
/// path (RFC 8414 §3.1), see [`TokenService::metadata_path`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointPaths {
    /// The token endpoint (default `/token`).
    pub token: String,
    /// The introspection endpoint (default `/introspect`).
    pub introspection: String,
    /// The revocation endpoint (default `/revoke`).
    pub revocation: String,
    /// The JWKS (default `/.well-known/jwks.json`).
    pub jwks: String,
}

impl Default for EndpointPaths {
    fn default() -> Self {
        Self {
            token: "/token".to_owned(),
            introspection: "/introspect".to_owned(),
            revocation: "/revoke".to_owned(),
            jwks: "/.well-known/jwks.json".to_owned(),
        }
    }
}

/// How the access tokens of one audience are made.
enum AudienceFormat {
    /// RFC 9068 JWTs, signed by this issuer (one per audience: its `aud`).
    Jwt(Box<Issuer>),
    /// 256-bit random strings, stored hashed.
    Opaque,
}

/// The first-party login's settings.
struct FirstParty {
    client_id: String,
    audience: String,
}

/// An OAuth 2.0 token service: issues, introspects and revokes access and refresh tokens
/// for the clients of a [`ClientRegistry`].
///
/// | method | endpoint | standard |
/// |---|---|---|
/// | [`authorize`](Self::authorize), [`decide`](Self::decide) | `GET /authorize` and the consent form: authorization code with PKCE S256 | RFC 6749 §4.1, RFC 7636, RFC 9207 |
/// | [`token`](Self::token) | `POST /token`: grants `authorization_code`, `client_credentials` and `refresh_token` | RFC 6749 §3.2, §4.1.3, §4.4, §6 |
/// | [`introspect`](Self::introspect) | `POST /introspect` | RFC 7662 |
/// | [`revoke`](Self::revoke) | `POST /revoke` | RFC 7009 |
/// | [`metadata`](Self::metadata) | `GET /.well-known/oauth-authorization-server` | RFC 8414 |
/// | [`jwks`](Self::jwks) | `GET /.well-known/jwks.json` | RFC 7517 |
/// | [`issue_to_user`](Self::issue_to_user), [`refresh_user_tokens`](Self::refresh_user_tokens) | the first-party login (the application's own users; not an OAuth grant) | - |
///
/// Access tokens are RFC 9068 JWTs (`typ` `at+jwt`, signed with the key set's active key,
/// `jti` set) or opaque 256-bit strings stored hashed, per audience. Refresh tokens are
/// opaque, stored hashed, rotated on every use; a rotated one presented again revokes its
/// family (RFC 9700 §4.14.2). Client secrets are stored hashed and compared in constant
/// time; failed client authentications are throttled per client id and per peer address.
/// Every request records one audit event (target `auth::audit`, scheme `oauth2`) with the
/// client id and the token's id, never a secret or a token.
///
/// Cheap to clone (shared).
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use auth_core::HeaderList;
/// use auth_jwt::{Algorithm, Key, KeySet};
/// use auth_oauth2::{ClientConfig, GrantType, MemoryClientRegistry, TokenFormat, TokenService};
///
/// let clients = Arc::new(MemoryClientRegistry::new());
/// let secret = clients.register(
///     ClientConfig::new("billing")
///         .grant(GrantType::ClientCredentials)
///         .scopes("orders:read".parse()?)
///         .audience("https://api.example/orders"),
/// )?;
/// let service = TokenService::builder(
///     "https://id.example",
///     KeySet::single(Key::generate("k1", Algorithm::ES256)?),
///     clients,
/// )
/// .audience("https://api.example/orders", TokenFormat::Jwt)
/// .build()?;
///
/// // What an adapter hands over: method, target, headers, body, peer, TLS.
/// let headers = HeaderList::new().with("Content-Type", "application/x-www-form-urlencoded");
/// let body = format!(
///     "grant_type=client_credentials&client_id=billing&client_secret={}",
///     secret.expose_str().unwrap()
/// );
/// let request = auth_core::AuthRequest::new("POST", "/token", &headers)
///     .with_body(Some(body.as_bytes()))
///     .with_secure(true);
/// let response = service.token(&request).await;
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.header("cache-control"), Some("no-store"));
/// assert_eq!(response.json()["token_type"], "Bearer");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct TokenService {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    origin: String,
    metadata_path: String,
    paths: EndpointPaths,
    keys: SharedKeySet,
    audiences: HashMap<String, AudienceFormat>,
    verifier: Option<Verifier>,
    clients: Arc<dyn ClientRegistry>,
    refresh_tokens: Arc<dyn RefreshTokenStore>,
    access_tokens: Arc<dyn AccessTokenStore>,
    revocations: Arc<dyn RevocationStore>,
    throttle: Option<Arc<dyn Throttle>>,
    clock: SharedClock,
    access_ttl: Duration,
    refresh_ttl: Duration,
    family_lifetime: Duration,
    realm: String,
    allow_loopback_http: bool,
    first_party: Option<FirstParty>,
    dummy_hash: SecretHash,
    codes: Arc<dyn AuthorizationCodeStore>,
    code_ttl: Duration,
    authorization_path: String,
}

impl TokenService {
    /// The default access-token lifetime: 10 minutes.
    pub const DEFAULT_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(10 * 60);
    /// The longest access-token lifetime [`build`](TokenServiceBuilder::build) accepts: 1
    /// hour. Bearer tokens are meant to be short-lived; refresh tokens or a new client
    /// credentials request get the next one.
    pub const MAX_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(3600);
    /// The default refresh-token lifetime (renewed by each rotation): 24 hours.
    pub const DEFAULT_REFRESH_TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);
    /// The default lifetime of a refresh-token family (one login), however often it is
    /// rotated: 7 days.
    pub const DEFAULT_FAMILY_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
    /// The default authorization-code lifetime: 60 seconds (RFC 6749 §4.1.2 recommends at
    /// most 10 minutes; a browser redirect takes a second).
    pub const DEFAULT_CODE_TTL: Duration = Duration::from_secs(60);
    /// The longest authorization-code lifetime [`build`](TokenServiceBuilder::build)
    /// accepts: 10 minutes (RFC 6749 §4.1.2).
    pub const MAX_CODE_TTL: Duration = Duration::from_secs(600);

    /// A builder for the issuer identifier `issuer` (RFC 8414 §2: an `https://` URL without
    /// query or fragment; it is the tokens' `iss`), signing JWT access tokens with the active
    /// key of `keys`, for the clients of `clients`.
    pub fn builder(
        issuer: impl Into<String>,
        keys: impl Into<SharedKeySet>,
        clients: Arc<dyn ClientRegistry>,
    ) -> TokenServiceBuilder {
        TokenServiceBuilder {
            issuer: issuer.into(),
            keys: keys.into(),
            clients,
            audiences: Vec::new(),
            paths: EndpointPaths::default(),
            refresh_tokens: None,
            access_tokens: None,
            revocations: None,
            throttle: ThrottleChoice::Default,
            clock: None,
            access_ttl: Self::DEFAULT_ACCESS_TOKEN_TTL,
            refresh_ttl: Self::DEFAULT_REFRESH_TOKEN_TTL,
            family_lifetime: Self::DEFAULT_FAMILY_LIFETIME,
            realm: "oauth2".to_owned(),
            allow_loopback_http: false,
            first_party: None,
            codes: None,
            code_ttl: Self::DEFAULT_CODE_TTL,
            authorization_path: "/authorize".to_owned(),
        }
    }

    /// The issuer identifier (`iss`).
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The keys that sign JWT access tokens (their public halves are the JWKS). Give them
    /// to an in-process resource server: `ResourceServer::builder(..).jwt_keys(keys)`.
    #[must_use]
    pub fn keys(&self) -> &SharedKeySet {
        &self.inner.keys
    }

    /// Where the endpoints are served.
    #[must_use]
    pub fn paths(&self) -> &EndpointPaths {
        &self.inner.paths
    }

    /// Where the metadata document is served: `/.well-known/oauth-authorization-server`
    /// followed by the issuer's path, if any (RFC 8414 §3.1).
    #[must_use]
    pub fn metadata_path(&self) -> &str {
        &self.inner.metadata_path
    }

    /// The absolute URL of `path` on the issuer's origin (`https://id.example` + `/token`).
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.inner.origin, path)
    }

    /// Where the authorization endpoint is served (default `/authorize`).
    #[must_use]
    pub fn authorization_path(&self) -> &str {
        &self.inner.authorization_path
    }

    /// The authorization endpoint's URL.
    #[must_use]
    pub fn authorization_endpoint(&self) -> String {
        self.url(&self.inner.authorization_path)
    }

    /// The token endpoint's URL.
    #[must_use]
    pub fn token_endpoint(&self) -> String {
        self.url(&self.inner.paths.token)
    }

    /// The `realm` of the `Basic` challenge sent with `invalid_client`.
    #[must_use]
    pub fn realm(&self) -> &str {
        &self.inner.realm
    }

    /// The lifetime of the access tokens issued.
    #[must_use]
    pub fn access_token_ttl(&self) -> Duration {
        self.inner.access_ttl
    }

    /// Refuses a request over plain HTTP (RFC 6749 §3.2), unless it comes from a loopback
    /// peer and the service was built with
    /// [`insecure_allow_loopback_http`](TokenServiceBuilder::insecure_allow_loopback_http).
    /// The endpoints check it themselves; call it in adapters that read credentials from a
    /// body before handing over (the first-party login).
    ///
    /// # Errors
    ///
    /// 400 `invalid_request` for plain HTTP.
    pub fn check_transport(&self, request: &AuthRequest<'_>) -> Result<(), EndpointError> {
        request::check_transport(request, self.inner.allow_loopback_http)
    }

    /// Whether `client` owns the tokens issued to `owner`: its own, but never the
    /// first-party login's, even should a registered client share that client id.
    fn owns(&self, client: &ClientRecord, owner: &str) -> bool {
        client.id == owner
            && self
                .inner
                .first_party
                .as_ref()
                .is_none_or(|fp| fp.client_id != owner)
    }

    /// The checks every POST endpoint starts with: no OAuth parameter in the URL, TLS, POST,
    /// a form body without repeated parameters.
    fn read_request(&self, request: &AuthRequest<'_>) -> Result<Form, EndpointError> {
        request::check_query(request)?;
        self.check_transport(request)?;
        request::read_form(request)
    }

    /// A public client (RFC 6749 §2.1) identifies itself by `client_id` alone in the body
    /// (`token_endpoint_auth_method=none`): `Some` for an enabled public client where
    /// `allow_public`, `None` when the request carries credentials (authenticate them), and
    /// 401 `invalid_client` for a `client_id` alone of any other client.
    async fn public_client(
        &self,
        request: &AuthRequest<'_>,
        form: &Form,
        audit: &mut Audit,
        allow_public: bool,
    ) -> Result<Option<ClientRecord>, EndpointError> {
        let has_header = request
            .single_header("authorization")
            .map_or(true, |h| h.is_some());
        let Some(client_id) = form.get("client_id") else {
            return Ok(None);
        };
        if has_header || form.get("client_secret").is_some() {
            return Ok(None);
        }
        audit.subject = Some(client_id.to_owned());
        let record = self
            .inner
            .clients
            .find(client_id)
            .await
            .map_err(|_| EndpointError::unavailable("client_registry_unavailable"))?;
        match record {
            Some(record) if record.public && !record.disabled && allow_public => Ok(Some(record)),
            Some(record) if record.public && record.disabled => {
                Err(EndpointError::invalid_client(true, "client_disabled"))
            }
            Some(record) if record.public => Err(EndpointError::invalid_client(
                true,
                "public_client_not_allowed_here",
            )),
            _ => Err(EndpointError::invalid_client(
                true,
                "no_client_authentication",
            )),
        }
    }

    /// Authenticates the client (RFC 6749 §2.3.1): throttle first, then the registry, then
    /// the secret in constant time — against a dummy hash for an unknown client, so both
    /// cost the same. Every failure is the same 401 `invalid_client`.
    async fn authenticate_client(
        &self,
        request: &AuthRequest<'_>,
        form: &Form,
        audit: &mut Audit,
        allow_public: bool,
    ) -> Result<ClientRecord, EndpointError> {
        if let Some(client) = self
            .public_client(request, form, audit, allow_public)
            .await?
        {
            return Ok(client);
        }
        let Presented {
            client_id,
            secret,
            method,
        } = request::client_credentials(request, form)?;
        audit.subject = Some(client_id.clone());
        let challenge = method == Method::Basic;
        let mut keys = vec![ThrottleKey::Subject(format!("oauth2_client:{client_id}"))];
        if let Some(peer) = request.peer() {
            keys.push(ThrottleKey::Client(peer.ip()));
        }
        if let Some(throttle) = &self.inner.throttle {
            let wait = auth_core::now_or_await(throttle.retry_after_any_now(&keys), || {
                throttle.retry_after_any(&keys)
            })
            .await;
            match wait {
                Ok(None) => {}
                Ok(Some(wait)) => return Err(EndpointError::throttled(wait)),
                Err(_) => return Err(EndpointError::unavailable("throttle_unavailable")),
            }
        }
        let record = self
            .inner
            .clients
            .find(&client_id)
            .await
            .map_err(|_| EndpointError::unavailable("client_registry_unavailable"))?;
        let hash = record
            .as_ref()
            .map_or(&self.inner.dummy_hash, |r| &r.secret_hash);
        let matches = hash.matches(secret.expose_secret());
        let failure = match &record {
            None => Some("unknown_client"),
            Some(_) if !matches => Some("wrong_client_secret"),
            Some(r) if r.disabled => Some("client_disabled"),
            Some(_) => None,
        };
        if let Some(reason) = failure {
            if let Some(throttle) = &self.inner.throttle {
                for key in &keys {
                    let _ = throttle.record_failure(key).await;
                }
            }
            return Err(EndpointError::invalid_client(challenge, reason));
        }
        if let Some(throttle) = &self.inner.throttle
            && throttle.reset_now(&keys[0]).is_none()
        {
            let _ = throttle.reset(&keys[0]).await;
        }
        record.ok_or_else(|| EndpointError::invalid_client(challenge, "unknown_client"))
    }
}

impl fmt::Debug for TokenService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut audiences: Vec<&String> = self.inner.audiences.keys().collect();
        audiences.sort();
        f.debug_struct("TokenService")
            .field("issuer", &self.inner.issuer)
            .field("paths", &self.inner.paths)
            .field("audiences", &audiences)
            .field("access_ttl", &self.inner.access_ttl)
            .field("clients", &self.inner.clients)
            .finish_non_exhaustive()
    }
}

enum ThrottleChoice {
    Default,
    Custom(Arc<dyn Throttle>),
    Off,
}

/// Builds a [`TokenService`]; see [`TokenService::builder`].
#[must_use = "call .build()"]
pub struct TokenServiceBuilder {
    issuer: String,
    keys: SharedKeySet,
    clients: Arc<dyn ClientRegistry>,
    audiences: Vec<(String, TokenFormat)>,
    paths: EndpointPaths,
    refresh_tokens: Option<Arc<dyn RefreshTokenStore>>,
    access_tokens: Option<Arc<dyn AccessTokenStore>>,
    revocations: Option<Arc<dyn RevocationStore>>,
    throttle: ThrottleChoice,
    clock: Option<SharedClock>,
    access_ttl: Duration,
    refresh_ttl: Duration,
    family_lifetime: Duration,
    realm: String,
    allow_loopback_http: bool,
    first_party: Option<(String, String)>,
    codes: Option<Arc<dyn AuthorizationCodeStore>>,
    code_ttl: Duration,
    authorization_path: String,
}

impl TokenServiceBuilder {
    /// Issues tokens for `audience` (a resource server's identifier, RFC 8707 `resource`,
    /// the tokens' `aud`) in `format`: [`TokenFormat::Jwt`] (RFC 9068, verified locally by
    /// the resource server) or [`TokenFormat::Opaque`] (introspected; revocation takes
    /// effect at once). Call again for several.
    pub fn audience(mut self, audience: impl Into<String>, format: TokenFormat) -> Self {
        self.audiences.push((audience.into(), format));
        self
    }

    /// Where the endpoints are served (default [`EndpointPaths::default`]).
    pub fn paths(mut self, paths: EndpointPaths) -> Self {
        self.paths = paths;
        self
    }

    /// The refresh-token store (default: [`MemoryRefreshTokenStore`]).
    pub fn refresh_token_store(mut self, store: Arc<dyn RefreshTokenStore>) -> Self {
        self.refresh_tokens = Some(store);
        self
    }

    /// The opaque access-token store (default: [`MemoryAccessTokenStore`]).
    pub fn access_token_store(mut self, store: Arc<dyn AccessTokenStore>) -> Self {
        self.access_tokens = Some(store);
        self
    }

    /// Where revoked JWT access tokens' `jti`s go (default: an in-memory
    /// `MemoryRevocationStore`). Share it (e.g. auth-jwt's Redis store) with resource
    /// servers that check revocation.
    pub fn jwt_revocations(mut self, store: Arc<dyn RevocationStore>) -> Self {
        self.revocations = Some(store);
        self
    }

    /// The authorization-code store (default: [`MemoryAuthorizationCodeStore`]).
    pub fn authorization_code_store(mut self, store: Arc<dyn AuthorizationCodeStore>) -> Self {
        self.codes = Some(store);
        self
    }

    /// The authorization-code lifetime (default 60 seconds, at most
    /// [`MAX_CODE_TTL`](TokenService::MAX_CODE_TTL)).
    pub fn authorization_code_ttl(mut self, ttl: Duration) -> Self {
        self.code_ttl = ttl;
        self
    }

    /// Where the authorization endpoint is served (default `/authorize`), for the metadata.
    pub fn authorization_path(mut self, path: impl Into<String>) -> Self {
        self.authorization_path = path.into();
        self
    }

    /// The failed-client-authentication throttle (default: a [`MemoryThrottle`] with the
    /// default policy; share one, such as Redis, between instances).
    pub fn throttle(mut self, throttle: Arc<dyn Throttle>) -> Self {
        self.throttle = ThrottleChoice::Custom(throttle);
        self
    }

    /// Turns throttling off: client secrets can then be guessed as fast as requests go.
    /// Only behind a gateway that limits failed attempts itself.
    pub fn insecure_without_throttle(mut self) -> Self {
        self.throttle = ThrottleChoice::Off;
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The access-token lifetime (default 10 minutes, at most
    /// [`MAX_ACCESS_TOKEN_TTL`](TokenService::MAX_ACCESS_TOKEN_TTL)).
    pub fn access_token_ttl(mut self, ttl: Duration) -> Self {
        self.access_ttl = ttl;
        self
    }

    /// The refresh-token lifetime, renewed by each rotation (default 24 hours).
    pub fn refresh_token_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_ttl = ttl;
        self
    }

    /// The lifetime of a refresh-token family, however often it rotates (default 7 days):
    /// then the user logs in again.
    pub fn refresh_family_lifetime(mut self, lifetime: Duration) -> Self {
        self.family_lifetime = lifetime;
        self
    }

    /// The realm of the `Basic` challenge on `invalid_client` (default `"oauth2"`).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// Enables the first-party login ([`TokenService::issue_to_user`]): tokens for the
    /// application's own users, issued to the client id `client_id` (the `client_id` claim;
    /// no registered client is needed, and the OAuth endpoints never accept these refresh
    /// tokens) for `audience` (one of the configured audiences).
    pub fn first_party_login(
        mut self,
        client_id: impl Into<String>,
        audience: impl Into<String>,
    ) -> Self {
        self.first_party = Some((client_id.into(), audience.into()));
        self
    }

    /// **Development only.** Accepts an `http://` issuer on a loopback host
    /// (`http://127.0.0.1:8080`, `http://localhost:8080`), and requests over plain HTTP from
    /// loopback peers. Anything else still needs TLS.
    pub fn insecure_allow_loopback_http(mut self) -> Self {
        self.allow_loopback_http = true;
        self
    }

    /// Checks the configuration.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for an issuer that is not an `https://` URL without query or
    /// fragment (`http://` on loopback only with the opt-in); a key set without an active
    /// signing key, or whose active key is symmetric (HMAC keys cannot be published, so
    /// resource servers could not verify); no audience, an empty or repeated one; an
    /// access-token lifetime of zero or over an hour; a refresh-token lifetime of zero or
    /// beyond the family lifetime; endpoint paths that are not absolute, repeat, or take
    /// the metadata path; an empty realm; a first-party login for an unknown audience.
    pub fn build(self) -> Result<TokenService> {
        let (origin, issuer_path) = check_issuer(&self.issuer, self.allow_loopback_http)?;
        let keys = self.keys.current();
        match keys.active() {
            None => {
                return Err(Error::Config(
                    "the key set has no active signing key".into(),
                ));
            }
            Some(key) if key.public_jwk().is_none() => {
                return Err(Error::Config(format!(
                    "the active signing key {} is symmetric: resource servers verify access \
                     tokens with the published JWKS, so sign with ES256, EdDSA or RS256",
                    key.kid()
                )));
            }
            Some(_) => {}
        }
        if self.audiences.is_empty() {
            return Err(Error::Config(
                "no audience: configure the resource servers tokens are issued for".into(),
            ));
        }
        if self.access_ttl.is_zero() || self.access_ttl > TokenService::MAX_ACCESS_TOKEN_TTL {
            return Err(Error::Config(
                "the access-token lifetime must be between 1 second and 1 hour".into(),
            ));
        }
        if self.refresh_ttl.is_zero() || self.refresh_ttl > self.family_lifetime {
            return Err(Error::Config(
                "the refresh-token lifetime must be positive and at most the family lifetime"
                    .into(),
            ));
        }
        if self.code_ttl.is_zero() || self.code_ttl > TokenService::MAX_CODE_TTL {
            return Err(Error::Config(
                "the authorization-code lifetime must be between 1 second and 10 minutes".into(),
            ));
        }
        if self.realm.trim().is_empty() {
            return Err(Error::Config("empty realm".into()));
        }
        let metadata_path = format!("/.well-known/oauth-authorization-server{issuer_path}");
        let paths = [
            &self.paths.token,
            &self.paths.introspection,
            &self.paths.revocation,
            &self.paths.jwks,
            &self.authorization_path,
        ];
        for (i, path) in paths.iter().enumerate() {
            if !path.starts_with('/')
                || path.contains(['?', '#'])
                || path.contains(char::is_whitespace)
            {
                return Err(Error::Config(format!(
                    "endpoint path {path:?} must be an absolute path without query or fragment"
                )));
            }
            if **path == metadata_path || paths[..i].contains(path) {
                return Err(Error::Config(format!("endpoint path {path} is used twice")));
            }
        }
        let clock = self.clock.unwrap_or_else(SystemClock::shared);
        let revocations = self
            .revocations
            .unwrap_or_else(|| Arc::new(MemoryRevocationStore::new(Arc::clone(&clock))));
        let config = |e: auth_jwt::KeyError| Error::Config(e.to_string());
        let mut audiences = HashMap::new();
        let mut verifier = Verifier::builder(self.keys.clone())
            .issuer(self.issuer.clone())
            .required_typ("at+jwt")
            .leeway(Duration::ZERO)
            .revocations(Arc::clone(&revocations))
            .clock(Arc::clone(&clock));
        let mut any_jwt = false;
        for (audience, format) in self.audiences {
            if audience.is_empty() || audiences.contains_key(&audience) {
                return Err(Error::Config(format!(
                    "audience {audience:?} is empty or configured twice"
                )));
            }
            let format = match format {
                TokenFormat::Jwt => {
                    any_jwt = true;
                    verifier = verifier.audience(audience.clone());
                    AudienceFormat::Jwt(Box::new(
                        Issuer::builder(self.keys.clone())
                            .issuer(self.issuer.clone())
                            .audience(audience.clone())
                            .typ("at+jwt")
                            .ttl(self.access_ttl)
                            .clock(Arc::clone(&clock))
                            .build()
                            .map_err(config)?,
                    ))
                }
                TokenFormat::Opaque => AudienceFormat::Opaque,
            };
            audiences.insert(audience, format);
        }
        let first_party = match self.first_party {
            Some((client_id, audience)) => {
                if client_id.is_empty() || !audiences.contains_key(&audience) {
                    return Err(Error::Config(format!(
                        "the first-party login needs a client id and a configured audience \
                         (got {audience:?})"
                    )));
                }
                Some(FirstParty {
                    client_id,
                    audience,
                })
            }
            None => None,
        };
        let throttle: Option<Arc<dyn Throttle>> = match self.throttle {
            ThrottleChoice::Default => Some(Arc::new(
                MemoryThrottle::new(ThrottlePolicy::default(), Arc::clone(&clock))
                    .map_err(|e| Error::Config(e.to_string()))?,
            )),
            ThrottleChoice::Custom(throttle) => Some(throttle),
            ThrottleChoice::Off => None,
        };
        let dummy = generate_client_secret()?;
        let codes = self
            .codes
            .unwrap_or_else(|| Arc::new(MemoryAuthorizationCodeStore::new(Arc::clone(&clock))));
        Ok(TokenService {
            inner: Arc::new(Inner {
                issuer: self.issuer,
                origin,
                metadata_path,
                paths: self.paths,
                keys: self.keys,
                audiences,
                verifier: if any_jwt {
                    Some(verifier.build().map_err(config)?)
                } else {
                    None
                },
                clients: self.clients,
                refresh_tokens: self
                    .refresh_tokens
                    .unwrap_or_else(|| Arc::new(MemoryRefreshTokenStore::new(Arc::clone(&clock)))),
                access_tokens: self
                    .access_tokens
                    .unwrap_or_else(|| Arc::new(MemoryAccessTokenStore::new(Arc::clone(&clock)))),
                revocations,
                throttle,
                clock,
                access_ttl: self.access_ttl,
                refresh_ttl: self.refresh_ttl,
                family_lifetime: self.family_lifetime,
                realm: self.realm,
                allow_loopback_http: self.allow_loopback_http,
                first_party,
                dummy_hash: SecretHash::of(dummy.expose_secret()),
                codes,
                code_ttl: self.code_ttl,
                authorization_path: self.authorization_path,
            }),
        })
    }
}

/// Checks the issuer identifier (RFC 8414 §2) and returns its origin and its path (without
/// a trailing slash).
fn check_issuer(issuer: &str, allow_loopback_http: bool) -> Result<(String, String)> {
    let url = url::Url::parse(issuer)
        .map_err(|e| Error::Config(format!("the issuer {issuer:?} is not a URL: {e}")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback && allow_loopback_http => {}
        "http" if loopback => {
            return Err(Error::Config(format!(
                "the issuer {issuer} is plain http://: for local development call \
                 insecure_allow_loopback_http(); anything else must be https:// (RFC 8414 §2)"
            )));
        }
        _ => {
            return Err(Error::Config(format!(
                "the issuer {issuer} must be an https:// URL (RFC 8414 §2)"
            )));
        }
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(Error::Config(format!(
            "the issuer {issuer} must have no query, fragment or user info (RFC 8414 §2)"
        )));
    }
    let origin = url.origin().ascii_serialization();
    let path = url.path().trim_end_matches('/').to_owned();
    Ok((origin, path))
}

impl fmt::Debug for TokenServiceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenServiceBuilder")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("paths", &self.paths)
            .finish_non_exhaustive()
    }
}
