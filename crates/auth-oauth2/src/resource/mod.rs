//! The resource server: [`ResourceServer`] accepts the bearer access tokens an
//! authorization server issues, as RFC 9068 JWTs or through RFC 7662 introspection.

mod bearer;
mod introspection;
#[cfg(feature = "jwt")]
mod jwt;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use auth_core::{
    AuthRequest, Authenticator, Challenge, Outcome, Principal, Rejection, Scheme, Scopes, Secret,
    SharedClock, SystemClock,
};
use serde_json::{Map, Value};

pub use introspection::IntrospectionCachePolicy;

use crate::http::{DEFAULT_TIMEOUT, default_client, endpoint_url};
use crate::{ClientAuthMethod, Error, Result};
use bearer::{MAX_TOKEN_LEN, bearer_token};
use introspection::Introspector;

/// How the access token was validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenFormat {
    /// A JWT access token (RFC 9068), verified locally with the issuer's keys.
    Jwt,
    /// An opaque token, validated by the authorization server (RFC 7662 introspection).
    Opaque,
}

/// What the resource server learned about the request's access token. The [`Principal`]
/// carries it as an extension (`principal.extension::<AccessTokenInfo>()`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AccessTokenInfo {
    /// How it was validated.
    pub format: TokenFormat,
    /// The principal's subject: `sub`; for an introspected token without `sub`, its
    /// `client_id` (a client credentials token) or `username`.
    pub subject: String,
    /// The client the token was issued to (`client_id`; always present for JWTs).
    pub client_id: Option<String>,
    /// The issuer (`iss`), when stated.
    pub issuer: Option<String>,
    /// The audiences (`aud`), when stated.
    pub audience: Vec<String>,
    /// The scopes granted (`scope`).
    pub scopes: Scopes,
    /// When the token expires (`exp`), when stated.
    pub expires_at: Option<SystemTime>,
    /// When it was issued (`iat`), when stated.
    pub issued_at: Option<SystemTime>,
    /// The token's id (`jti`), when stated; also the principal's key id in audit events.
    pub token_id: Option<String>,
    /// Every claim of the JWT, or every member of the introspection response.
    pub claims: Arc<Map<String, Value>>,
}

/// Why a token was not accepted: refused (401), or the decision could not be made (503).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Failure {
    Invalid(&'static str),
    Unavailable(&'static str),
}

/// auth-jwt's verified claims, carried on the principal of a JWT access token.
#[cfg(feature = "jwt")]
type JwtClaims = Option<auth_jwt::VerifiedClaims>;
#[cfg(not(feature = "jwt"))]
type JwtClaims = Option<std::convert::Infallible>;

enum Validator {
    #[cfg(feature = "jwt")]
    Jwt(jwt::JwtAccessTokens),
    Introspection(Box<Introspector>),
}

/// An OAuth 2.0 resource server: accepts bearer access tokens (RFC 6750) issued by one
/// authorization server, for this API (its audience), and implements
/// [`Authenticator`] so any adapter (`auth-actix`) can run it.
///
/// Two ways to validate a token:
///
/// | mode | how | when |
/// |---|---|---|
/// | JWT (feature `jwt`, default) | RFC 9068 through `auth-jwt`: signature with the issuer's keys (found through RFC 8414 or OpenID Connect discovery and its JWKS, cached), `typ` `at+jwt`, `iss`, `aud`, `exp`, `sub`, `client_id`, `iat`, `jti`, `scope` | the server issues JWT access tokens; no call per request |
/// | introspection | RFC 7662: POST the token to the introspection endpoint with client authentication; results cached until the token's `exp`, at most `max_ttl`; refusals briefly | opaque tokens, or when revocation must take effect within seconds |
///
/// Answers, RFC 6750 §3:
///
/// | the request | outcome |
/// |---|---|
/// | no `Authorization: Bearer` | no credential (401 with `WWW-Authenticate: Bearer realm=...`) |
/// | `access_token` in the query, a malformed header | 400 `invalid_request` |
/// | a token that is invalid, expired, for another audience or issuer, of the wrong `typ`, inactive | 401 `invalid_token` |
/// | a valid token without the [required scopes](ResourceServerBuilder::require_scopes) | 403 `insufficient_scope`, naming them |
/// | the JWKS or the introspection endpoint unreachable | 503 (fail closed) |
///
/// The precise reason (`jwt_bad_audience`, `token_inactive`, ...) goes to the audit event,
/// never to the client. The principal's subject is the token's `sub`, its scopes the
/// `scope` claim, its key id the `jti`, and it carries an [`AccessTokenInfo`] (and, for
/// JWTs, auth-jwt's `VerifiedClaims`, so auth-actix's `JwtClaims<C>` extractor works).
///
/// # Examples
///
/// JWT access tokens, keys found from the issuer's metadata:
///
/// ```no_run
/// # fn main() -> Result<(), auth_oauth2::Error> {
/// use auth_oauth2::ResourceServer;
///
/// let api = ResourceServer::builder("https://id.example", "https://api.example/orders")
///     .realm("orders")
///     .require_scopes("orders:read".parse().expect("a valid scope"))
///     .build()?;
/// # Ok(()) }
/// ```
///
/// Opaque tokens, introspected:
///
/// ```
/// # fn main() -> Result<(), auth_oauth2::Error> {
/// use auth_core::Secret;
/// use auth_oauth2::ResourceServer;
///
/// let api = ResourceServer::builder("https://id.example", "https://api.example/orders")
///     .introspection("https://id.example/introspect", "orders-api", Secret::from("s3cr3t"))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ResourceServer {
    inner: Arc<Inner>,
}

struct Inner {
    validator: Validator,
    challenges: Vec<Challenge>,
    required: Option<Scopes>,
    issuer: String,
    audiences: Vec<String>,
}

impl ResourceServer {
    /// The default leeway for clock skew on `exp`, `nbf`, `iat`: 30 seconds.
    pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

    /// A resource server for tokens issued by `issuer` (its exact issuer identifier, RFC
    /// 8414 §2) for `audience` (this API's identifier as the issuer puts it in `aud`).
    ///
    /// With the `jwt` feature it validates JWT access tokens with keys found from the
    /// issuer's metadata, unless told otherwise.
    pub fn builder(
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> ResourceServerBuilder {
        ResourceServerBuilder {
            issuer: issuer.into(),
            audiences: vec![audience.into()],
            realm: "api".to_owned(),
            required: None,
            mode: Mode::Default,
            clock: None,
            leeway: Self::DEFAULT_LEEWAY,
            http: None,
            timeout: DEFAULT_TIMEOUT,
            introspection_cache: IntrospectionCachePolicy::default(),
            #[cfg(feature = "jwt")]
            jwks_policy: auth_jwt::JwksCachePolicy::default(),
        }
    }

    /// Validates `token` (without the `Bearer ` prefix) and returns the principal, as for a
    /// request: for transports other than HTTP headers (a WebSocket message, a gRPC
    /// metadata value). Required scopes are checked.
    ///
    /// # Errors
    ///
    /// The [`Rejection`]: 401 `invalid_token`, 403 `insufficient_scope`, 503.
    pub async fn verify(&self, token: &str) -> Result<Principal, Rejection> {
        let principal = self.principal(token).await?;
        self.check_scopes(principal)
    }

    /// The issuer whose tokens are accepted.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The token format this server validates.
    #[must_use]
    pub fn format(&self) -> TokenFormat {
        match self.inner.validator {
            #[cfg(feature = "jwt")]
            Validator::Jwt(_) => TokenFormat::Jwt,
            Validator::Introspection(_) => TokenFormat::Opaque,
        }
    }

    async fn principal(&self, token: &str) -> Result<Principal, Rejection> {
        let challenges = &self.inner.challenges;
        let refuse = |failure: Failure| match failure {
            Failure::Invalid(reason) => {
                Rejection::invalid_token(challenges.clone(), reason).with_scheme(Scheme::BEARER)
            }
            Failure::Unavailable(reason) => {
                Rejection::unavailable(reason).with_scheme(Scheme::BEARER)
            }
        };
        if token.len() > MAX_TOKEN_LEN {
            return Err(refuse(Failure::Invalid("token_too_large")));
        }
        let (info, claims): (Arc<AccessTokenInfo>, JwtClaims) = match &self.inner.validator {
            #[cfg(feature = "jwt")]
            Validator::Jwt(jwt) => {
                let (info, claims) = jwt.validate(token).await.map_err(refuse)?;
                (Arc::new(info), Some(claims))
            }
            Validator::Introspection(introspector) => {
                (introspector.validate(token).await.map_err(refuse)?, None)
            }
        };
        let mut principal =
            Principal::new(info.subject.clone(), Scheme::BEARER).with_scopes(info.scopes.clone());
        if let Some(at) = info.issued_at {
            principal = principal.with_authenticated_at(at);
        }
        if let Some(jti) = &info.token_id {
            principal = principal.with_key_id(jti.clone());
        }
        #[cfg(feature = "jwt")]
        if let Some(claims) = claims {
            principal = principal.with_extension(claims);
        }
        #[cfg(not(feature = "jwt"))]
        let _: JwtClaims = claims;
        Ok(principal.with_extension(AccessTokenInfo::clone(&info)))
    }

    fn check_scopes(&self, principal: Principal) -> Result<Principal, Rejection> {
        match &self.inner.required {
            Some(required) if !principal.scopes().contains_all(required) => {
                let mut rejection = Rejection::insufficient_scope(
                    self.inner.challenges.clone(),
                    principal.scopes().missing(required),
                )
                .with_scheme(Scheme::BEARER)
                .with_subject(principal.subject());
                if let Some(key_id) = principal.key_id() {
                    rejection = rejection.with_key_id(key_id);
                }
                Err(rejection)
            }
            _ => Ok(principal),
        }
    }
}

#[async_trait]
impl Authenticator for ResourceServer {
    fn scheme(&self) -> Scheme {
        Scheme::BEARER
    }

    fn challenges(&self) -> &[Challenge] {
        &self.inner.challenges
    }

    async fn authenticate(&self, request: &AuthRequest<'_>) -> Outcome {
        let token = match bearer_token(request, &self.inner.challenges) {
            Ok(Some(token)) => token,
            Ok(None) => return Outcome::NoCredential,
            Err(rejection) => return Outcome::Rejected(rejection),
        };
        match self.verify(token).await {
            Ok(principal) => Outcome::Authenticated(principal),
            Err(rejection) => Outcome::Rejected(rejection),
        }
    }
}

impl fmt::Debug for ResourceServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceServer")
            .field("issuer", &self.inner.issuer)
            .field("audiences", &self.inner.audiences)
            .field("format", &self.format())
            .field("required", &self.inner.required)
            .finish_non_exhaustive()
    }
}

enum Mode {
    Default,
    #[cfg(feature = "jwt")]
    JwtFromIssuer,
    #[cfg(feature = "jwt")]
    JwtFromUrl(String),
    #[cfg(feature = "jwt")]
    JwtKeys(Arc<dyn auth_jwt::KeySource>),
    Introspection {
        endpoint: String,
        client_id: String,
        secret: Secret,
        method: ClientAuthMethod,
    },
}

/// Builds a [`ResourceServer`]; see [`ResourceServer::builder`].
#[must_use = "call .build()"]
pub struct ResourceServerBuilder {
    issuer: String,
    audiences: Vec<String>,
    realm: String,
    required: Option<Scopes>,
    mode: Mode,
    clock: Option<SharedClock>,
    leeway: Duration,
    http: Option<reqwest::Client>,
    timeout: Duration,
    introspection_cache: IntrospectionCachePolicy,
    #[cfg(feature = "jwt")]
    jwks_policy: auth_jwt::JwksCachePolicy,
}

impl ResourceServerBuilder {
    /// Also accepts tokens for `audience` (call again for several).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The realm of the `Bearer` challenge (default `"api"`).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// Requires every scope of `scopes`: a valid token without them gets 403
    /// `insufficient_scope` naming the missing ones. (auth-actix's
    /// `Authenticate::require_scopes` does the same per route.)
    pub fn require_scopes(mut self, scopes: Scopes) -> Self {
        self.required = Some(scopes);
        self
    }

    /// JWT access tokens, keys from the JWKS named in the issuer's metadata
    /// (`<issuer>/.well-known/openid-configuration`, else
    /// `<issuer>/.well-known/oauth-authorization-server`, RFC 8414), fetched on first use and
    /// cached. The default with the `jwt` feature.
    #[cfg(feature = "jwt")]
    pub fn jwt_keys_from_issuer(mut self) -> Self {
        self.mode = Mode::JwtFromIssuer;
        self
    }

    /// JWT access tokens, keys from the JWKS at `jwks_uri`, cached.
    #[cfg(feature = "jwt")]
    pub fn jwt_keys_from_url(mut self, jwks_uri: impl Into<String>) -> Self {
        self.mode = Mode::JwtFromUrl(jwks_uri.into());
        self
    }

    /// JWT access tokens, keys from `keys` (a `KeySet`, a `SharedKeySet`, a `RemoteJwks`):
    /// for an issuer in the same process, and tests.
    #[cfg(feature = "jwt")]
    pub fn jwt_keys(mut self, keys: impl auth_jwt::KeySource) -> Self {
        self.mode = Mode::JwtKeys(Arc::new(keys));
        self
    }

    /// The JWKS cache policy (JWT mode with remote keys).
    #[cfg(feature = "jwt")]
    pub fn jwks_cache_policy(mut self, policy: auth_jwt::JwksCachePolicy) -> Self {
        self.jwks_policy = policy;
        self
    }

    /// Opaque tokens through RFC 7662 introspection at `endpoint`, authenticating as
    /// `client_id` with `client_secret` (`client_secret_basic` unless changed with
    /// [`introspection_auth_method`](ResourceServerBuilder::introspection_auth_method)).
    pub fn introspection(
        mut self,
        endpoint: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: Secret,
    ) -> Self {
        self.mode = Mode::Introspection {
            endpoint: endpoint.into(),
            client_id: client_id.into(),
            secret: client_secret,
            method: ClientAuthMethod::ClientSecretBasic,
        };
        self
    }

    /// How the resource server authenticates to the introspection endpoint:
    /// `client_secret_basic` (default) or `client_secret_post`.
    pub fn introspection_auth_method(mut self, method: ClientAuthMethod) -> Self {
        if let Mode::Introspection { method: m, .. } = &mut self.mode {
            *m = method;
        }
        self
    }

    /// The introspection cache policy.
    pub fn introspection_cache(mut self, policy: IntrospectionCachePolicy) -> Self {
        self.introspection_cache = policy;
        self
    }

    /// Clock-skew tolerance for `exp`, `nbf`, `iat` (default 30 s, at most 60 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The timeout of one introspection request (default 10 s); ignored with
    /// [`http_client`](ResourceServerBuilder::http_client). The JWKS has its own, in the
    /// [`JwksCachePolicy`](auth_jwt::JwksCachePolicy).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The HTTP client for introspection (default: rustls, the timeout, no redirects).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Checks the configuration.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for an empty issuer, audience or realm; an endpoint or JWKS URL
    /// (or, for discovery, an issuer) that is not `https://` (plain `http://` only on
    /// loopback); a leeway above 60 s; introspection with client authentication `none`;
    /// without the `jwt` feature, no introspection endpoint.
    pub fn build(self) -> Result<ResourceServer> {
        if self.issuer.is_empty() || self.audiences.iter().any(String::is_empty) {
            return Err(Error::Config("empty issuer or audience".into()));
        }
        if self.realm.trim().is_empty() {
            return Err(Error::Config("empty realm".into()));
        }
        if self.leeway > Duration::from_secs(60) {
            return Err(Error::Config("leeway above 60 s".into()));
        }
        let clock = self.clock.unwrap_or_else(SystemClock::shared);
        let validator = match self.mode {
            Mode::Introspection {
                endpoint,
                client_id,
                secret,
                method,
            } => {
                let url = endpoint_url("introspection endpoint", &endpoint)?;
                if client_id.is_empty() || secret.is_empty() || secret.expose_str().is_none() {
                    return Err(Error::Config(
                        "introspection needs a client id and a UTF-8 client secret".into(),
                    ));
                }
                if method == ClientAuthMethod::None {
                    return Err(Error::Config(
                        "introspection needs client authentication (RFC 7662 §2.1)".into(),
                    ));
                }
                let http = match self.http {
                    Some(http) => http,
                    None => default_client(self.timeout)?,
                };
                Validator::Introspection(Box::new(Introspector::new(
                    url,
                    client_id,
                    secret,
                    method,
                    http,
                    self.introspection_cache,
                    clock,
                    self.issuer.clone(),
                    self.audiences.clone(),
                    self.leeway,
                )))
            }
            #[cfg(feature = "jwt")]
            mode => {
                use auth_jwt::{JwksLocation, RemoteJwks, Verifier};
                let config = |e: auth_jwt::KeyError| Error::Config(e.to_string());
                let remote = |location| {
                    RemoteJwks::with_policy(location, self.jwks_policy, Arc::clone(&clock))
                        .map(|jwks| Arc::new(jwks) as Arc<dyn auth_jwt::KeySource>)
                        .map_err(config)
                };
                let keys = match mode {
                    Mode::JwtKeys(keys) => keys,
                    Mode::JwtFromUrl(url) => remote(JwksLocation::Url(url))?,
                    _ => remote(JwksLocation::Issuer(self.issuer.clone()))?,
                };
                let mut verifier = Verifier::builder(keys)
                    .issuer(self.issuer.clone())
                    .required_typ("at+jwt")
                    .leeway(self.leeway)
                    .clock(Arc::clone(&clock));
                for audience in &self.audiences {
                    verifier = verifier.audience(audience.clone());
                }
                Validator::Jwt(jwt::JwtAccessTokens {
                    verifier: verifier.build().map_err(config)?,
                })
            }
            #[cfg(not(feature = "jwt"))]
            Mode::Default => {
                return Err(Error::Config(
                    "without the jwt feature, configure .introspection(...)".into(),
                ));
            }
        };
        Ok(ResourceServer {
            inner: Arc::new(Inner {
                validator,
                challenges: vec![Challenge::bearer(self.realm)],
                required: self.required,
                issuer: self.issuer,
                audiences: self.audiences,
            }),
        })
    }
}

impl fmt::Debug for ResourceServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceServerBuilder")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}
