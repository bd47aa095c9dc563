//! The authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636), for apps that log
//! users in: [`AuthorizationCodeClient`], [`PendingAuthorization`], [`CallbackParams`].

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_core::{Scopes, Secret, SharedClock, SystemClock, ct_eq, unix_seconds};
use oauth2::{AuthUrl, ClientId, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

use crate::client::{ClientAuthMethod, TokenEndpoint};
use crate::http::{Backoff, DEFAULT_TIMEOUT, default_client, endpoint_url};
use crate::token::{AccessToken, TokenSet, decode_jwt_claims};
use crate::{Error, OAuthError, Result};

/// Random bytes in `state`, the PKCE verifier and `nonce`: 256 bits each.
const RANDOM_BYTES: u32 = 32;

/// Parameters the client sets itself; [`AuthorizationUrlBuilder::param`] refuses them.
const RESERVED: [&str; 9] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "client_secret",
];

/// The S256 code challenge of a PKCE `verifier` (RFC 7636 §4.2):
/// `BASE64URL(SHA256(ASCII(code_verifier)))`, computed by the `oauth2` crate.
///
/// `None` when `verifier` is not 43 to 128 characters of `[A-Za-z0-9-._~]` (RFC 7636 §4.1).
///
/// # Examples
///
/// RFC 7636 Appendix B:
///
/// ```
/// assert_eq!(
///     auth_oauth2::pkce_s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").as_deref(),
///     Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
/// );
/// ```
#[must_use]
pub fn pkce_s256_challenge(verifier: &str) -> Option<String> {
    let valid = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    valid.then(|| {
        PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(verifier.to_owned()))
            .as_str()
            .to_owned()
    })
}

/// The client side of the authorization code grant with PKCE: builds the authorization URL,
/// checks the callback, exchanges the code, refreshes the tokens.
///
/// The flow, in a web app:
///
/// 1. **Login**: [`authorization_url`](AuthorizationCodeClient::authorization_url) gives the
///    URL to redirect the user to and a [`PendingAuthorization`] (`state`, PKCE verifier,
///    `nonce`): keep it in the user's server-side session.
/// 2. **Callback** (the redirect URI): [`callback`](AuthorizationCodeClient::callback) with
///    the pending authorization taken out of the session and the request's query
///    ([`CallbackParams::parse`]) checks `state` (constant time), `iss` (RFC 9207) and an
///    error response, then exchanges the code for a [`TokenSet`] (and checks the ID token's
///    `nonce` when one was asked for). Store the tokens in the session and start a new
///    session id (login).
/// 3. **Later**: [`refresh`](AuthorizationCodeClient::refresh) before the access token
///    expires; store the result, which holds the *new* refresh token when the server rotates
///    them.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), auth_oauth2::Error> {
/// use auth_oauth2::{AuthorizationCodeClient, CallbackParams, Error};
/// use auth_core::Secret;
///
/// let client = AuthorizationCodeClient::builder(
///     "my-web-app",
///     "https://id.example/authorize",
///     "https://id.example/token",
///     "https://app.example/callback",
/// )
/// .client_secret(Secret::from("s3cr3t"))
/// .issuer("https://id.example")
/// .scopes("openid orders:read".parse().expect("valid scopes"))
/// .build()?;
///
/// let (url, pending) = client.authorization_url().oidc_nonce().build()?;
/// assert!(url.as_str().contains("code_challenge_method=S256"));
///
/// // A callback that is not the answer to our request is refused.
/// let forged = CallbackParams::parse("code=abc&state=not-ours")?;
/// assert!(matches!(client.validate_callback(&pending, &forged), Err(Error::StateMismatch)));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AuthorizationCodeClient {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: TokenEndpoint,
    authorization_endpoint: Url,
    redirect_uri: Url,
    issuer: Option<String>,
    require_iss: bool,
    scopes: Scopes,
    max_pending_age: Duration,
}

impl AuthorizationCodeClient {
    /// The default [`max_pending_age`](AuthorizationCodeClientBuilder::max_pending_age):
    /// 10 minutes.
    pub const DEFAULT_MAX_PENDING_AGE: Duration = Duration::from_secs(600);

    /// A builder for client `client_id` of the authorization server with these endpoints;
    /// `redirect_uri` is this app's callback, registered with the server.
    pub fn builder(
        client_id: impl Into<String>,
        authorization_endpoint: impl Into<String>,
        token_endpoint: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> AuthorizationCodeClientBuilder {
        AuthorizationCodeClientBuilder {
            client_id: client_id.into(),
            authorization_endpoint: authorization_endpoint.into(),
            token_endpoint: token_endpoint.into(),
            redirect_uri: redirect_uri.into(),
            secret: None,
            method: None,
            issuer: None,
            require_iss: false,
            scopes: Scopes::new(),
            max_pending_age: Self::DEFAULT_MAX_PENDING_AGE,
            backoff: Backoff::default(),
            clock: None,
            http: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Starts an authorization request: set scopes, `nonce` or extra parameters, then
    /// [`build`](AuthorizationUrlBuilder::build).
    pub fn authorization_url(&self) -> AuthorizationUrlBuilder<'_> {
        AuthorizationUrlBuilder {
            client: self,
            scopes: None,
            nonce: false,
            params: Vec::new(),
        }
    }

    /// Checks an authorization response against the pending authorization, in this order:
    /// its age, `state` (constant time), `iss` (RFC 9207), an error response, the `code`.
    ///
    /// # Errors
    ///
    /// [`Error::PendingExpired`], [`Error::MissingState`], [`Error::StateMismatch`],
    /// [`Error::IssuerMismatch`], [`Error::MissingIssuer`], [`Error::Authorization`] (the
    /// server's error response, e.g. `access_denied`), [`Error::InvalidCallback`] (no code).
    pub fn validate_callback(
        &self,
        pending: &PendingAuthorization,
        params: &CallbackParams,
    ) -> Result<AuthorizationCode> {
        let inner = &self.inner;
        let now = inner.endpoint.clock.now();
        let age = now
            .duration_since(pending.created_at)
            .unwrap_or(Duration::ZERO);
        if age > inner.max_pending_age {
            return Err(Error::PendingExpired);
        }
        let state = params.state.as_deref().ok_or(Error::MissingState)?;
        if !pending.state.ct_eq_bytes(state.as_bytes()) {
            return Err(Error::StateMismatch);
        }
        match (&inner.issuer, &params.iss) {
            (Some(expected), Some(received)) if received != expected => {
                return Err(Error::IssuerMismatch {
                    expected: expected.clone(),
                    received: received.chars().take(256).collect(),
                });
            }
            (Some(_), None) if inner.require_iss => return Err(Error::MissingIssuer),
            _ => {}
        }
        if let Some(error) = &params.error {
            return Err(Error::Authorization(OAuthError::new(
                error,
                params.error_description.as_deref(),
                params.error_uri.as_deref(),
            )));
        }
        match &params.code {
            Some(code) if !code.is_empty() => Ok(AuthorizationCode(code.clone())),
            _ => Err(Error::InvalidCallback("no code".into())),
        }
    }

    /// Exchanges `code` for tokens (RFC 6749 §4.1.3) with the PKCE verifier and redirect
    /// URI of `pending`; checks the ID token when `pending` asked for a `nonce`.
    ///
    /// # Errors
    ///
    /// The token endpoint's errors ([`Error::TokenEndpoint`] with `invalid_grant` for a used
    /// or expired code, ...), [`Error::IdToken`].
    pub async fn exchange_code(
        &self,
        pending: PendingAuthorization,
        code: AuthorizationCode,
    ) -> Result<TokenSet> {
        let fetched = self
            .inner
            .endpoint
            .authorization_code(&code.0, &pending.verifier, pending.redirect_uri.as_str())
            .await?;
        let access = fetched.access_token()?;
        let id_token = fetched.response.id_token().map(Secret::from);
        if let Some(nonce) = &pending.nonce {
            self.check_id_token(id_token.as_ref(), nonce)?;
        }
        let refresh = fetched.response.refresh_token_str().map(Secret::from);
        Ok(TokenSet::new(access, refresh, id_token))
    }

    /// [`validate_callback`](AuthorizationCodeClient::validate_callback), then
    /// [`exchange_code`](AuthorizationCodeClient::exchange_code).
    ///
    /// # Errors
    ///
    /// As those two.
    pub async fn callback(
        &self,
        pending: PendingAuthorization,
        params: &CallbackParams,
    ) -> Result<TokenSet> {
        let code = self.validate_callback(&pending, params)?;
        self.exchange_code(pending, code).await
    }

    /// Gets new tokens with the refresh token (RFC 6749 §6). When the server rotates
    /// refresh tokens, the result holds the new one (the old one is now spent): store the
    /// result in place of `tokens`. Scopes and the ID token carry over when the response
    /// leaves them out.
    ///
    /// Only a failed connection is retried: repeating a refresh the server may have seen
    /// would present a spent refresh token, which rotation detects as theft (RFC 9700
    /// §4.14.2).
    ///
    /// # Errors
    ///
    /// [`Error::NoRefreshToken`]; [`Error::TokenEndpoint`] with `invalid_grant` when the
    /// refresh token is expired, revoked or spent ([`Error::requires_login`] is then true).
    pub async fn refresh(&self, tokens: &TokenSet) -> Result<TokenSet> {
        let refresh = tokens.refresh_token().ok_or(Error::NoRefreshToken)?;
        let fetched = self.inner.endpoint.refresh(refresh).await?;
        let fresh = fetched.access_token()?;
        let access = if fresh.scopes().is_none() {
            AccessToken::from_parts(
                fresh.secret().clone(),
                fresh.token_type(),
                fresh.expires_at(),
                tokens.access_token().scopes().cloned(),
            )
        } else {
            fresh
        };
        let rotated = fetched.response.refresh_token_str().map(Secret::from);
        let id_token = fetched
            .response
            .id_token()
            .map(Secret::from)
            .or_else(|| tokens.id_token().cloned());
        Ok(TokenSet::new(
            access,
            rotated.or_else(|| Some(refresh.clone())),
            id_token,
        ))
    }

    /// The client id.
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.inner.endpoint.client_id
    }

    /// OpenID Connect Core §3.1.3.7, for an ID token that came straight from the token
    /// endpoint over TLS (which stands in for the signature check, item 6): `nonce`, `aud`,
    /// `iss` when the issuer is configured, `exp`.
    fn check_id_token(&self, id_token: Option<&Secret>, nonce: &Secret) -> Result<()> {
        let jwt = id_token
            .and_then(Secret::expose_str)
            .ok_or(Error::IdToken("no id_token in the token response"))?;
        let claims = decode_jwt_claims(jwt).ok_or(Error::IdToken("malformed id_token"))?;
        let sent = claims.get("nonce").and_then(|v| v.as_str()).unwrap_or("");
        if !ct_eq(sent.as_bytes(), nonce.expose_secret()) {
            return Err(Error::IdToken("nonce does not match"));
        }
        let client_id = self.client_id();
        let audience_ok = match claims.get("aud") {
            Some(serde_json::Value::String(aud)) => aud == client_id,
            Some(serde_json::Value::Array(auds)) => auds.iter().any(|a| a == client_id),
            _ => false,
        };
        if !audience_ok {
            return Err(Error::IdToken("aud does not name this client"));
        }
        if let Some(issuer) = &self.inner.issuer
            && claims.get("iss").and_then(|v| v.as_str()) != Some(issuer.as_str())
        {
            return Err(Error::IdToken("iss is not the authorization server"));
        }
        let now = unix_seconds(self.inner.endpoint.clock.now());
        let exp = claims.get("exp").and_then(serde_json::Value::as_u64);
        if exp.is_none_or(|exp| exp.saturating_add(60) <= now) {
            return Err(Error::IdToken("expired or without exp"));
        }
        Ok(())
    }
}

impl fmt::Debug for AuthorizationCodeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("AuthorizationCodeClient")
            .field("client_id", &inner.endpoint.client_id)
            .field(
                "authorization_endpoint",
                &inner.authorization_endpoint.as_str(),
            )
            .field("token_endpoint", &inner.endpoint.url.as_str())
            .field("redirect_uri", &inner.redirect_uri.as_str())
            .field("issuer", &inner.issuer)
            .field("auth_method", &inner.endpoint.method)
            .finish_non_exhaustive()
    }
}

/// Builds an [`AuthorizationCodeClient`]; see [`AuthorizationCodeClient::builder`].
#[must_use = "call .build()"]
pub struct AuthorizationCodeClientBuilder {
    client_id: String,
    authorization_endpoint: String,
    token_endpoint: String,
    redirect_uri: String,
    secret: Option<Secret>,
    method: Option<ClientAuthMethod>,
    issuer: Option<String>,
    require_iss: bool,
    scopes: Scopes,
    max_pending_age: Duration,
    backoff: Backoff,
    clock: Option<SharedClock>,
    http: Option<reqwest::Client>,
    timeout: Duration,
}

impl AuthorizationCodeClientBuilder {
    /// The client secret of a confidential client (a server-side web app). Without one the
    /// client is public (RFC 6749 §2.1) and PKCE alone protects the code.
    pub fn client_secret(mut self, secret: Secret) -> Self {
        self.secret = Some(secret);
        self
    }

    /// How the client authenticates at the token endpoint (default:
    /// `client_secret_basic` with a secret, `none` without).
    pub fn auth_method(mut self, method: ClientAuthMethod) -> Self {
        self.method = Some(method);
        self
    }

    /// The authorization server's issuer identifier (RFC 8414 §2). Authorization responses
    /// that carry `iss` must then name it (RFC 9207), and ID tokens too.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Refuses authorization responses without `iss`: set it when the server's metadata
    /// says `authorization_response_iss_parameter_supported: true` (RFC 9207 §3). Needs
    /// [`issuer`](AuthorizationCodeClientBuilder::issuer).
    pub fn require_issuer_in_response(mut self, required: bool) -> Self {
        self.require_iss = required;
        self
    }

    /// The default scopes of authorization requests.
    pub fn scopes(mut self, scopes: Scopes) -> Self {
        self.scopes = scopes;
        self
    }

    /// How long a pending authorization may wait for its callback (default 10 minutes).
    pub fn max_pending_age(mut self, age: Duration) -> Self {
        self.max_pending_age = age;
        self
    }

    /// The retry policy; only failed connections are retried (see
    /// [`AuthorizationCodeClient::refresh`]).
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The timeout of one token request (default 10 s); ignored with
    /// [`http_client`](AuthorizationCodeClientBuilder::http_client).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The HTTP client (default: rustls, the timeout, no redirects).
    ///
    /// # Security
    ///
    /// Disable redirects on it: a redirect would carry the code and the client
    /// credentials to another place.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Checks the configuration.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for an endpoint that is not `https://` (plain `http://` only on
    /// loopback), a redirect URI that is not `https://`, loopback `http://` or a private-use
    /// scheme (RFC 8252 §7), or that has a fragment; an empty client id; a secret with
    /// method `none` or a secret method without a secret; `require_issuer_in_response`
    /// without an issuer.
    pub fn build(self) -> Result<AuthorizationCodeClient> {
        let authorization_endpoint =
            endpoint_url("authorization endpoint", &self.authorization_endpoint)?;
        let token_url = endpoint_url("token endpoint", &self.token_endpoint)?;
        let redirect_uri = redirect_url(&self.redirect_uri)?;
        if self.require_iss && self.issuer.is_none() {
            return Err(Error::Config(
                "require_issuer_in_response needs the issuer".into(),
            ));
        }
        if self.issuer.as_deref() == Some("") {
            return Err(Error::Config("the issuer must not be empty".into()));
        }
        if self.max_pending_age.is_zero() {
            return Err(Error::Config("max_pending_age must be positive".into()));
        }
        let method = self.method.unwrap_or(if self.secret.is_some() {
            ClientAuthMethod::ClientSecretBasic
        } else {
            ClientAuthMethod::None
        });
        let http = match self.http {
            Some(http) => http,
            None => default_client(self.timeout)?,
        };
        let endpoint = TokenEndpoint {
            url: token_url,
            client_id: self.client_id,
            secret: self.secret,
            method,
            http,
            backoff: self.backoff,
            extra_token_types: Vec::new(),
            clock: self.clock.unwrap_or_else(SystemClock::shared),
        };
        endpoint.check()?;
        Ok(AuthorizationCodeClient {
            inner: Arc::new(Inner {
                endpoint,
                authorization_endpoint,
                redirect_uri,
                issuer: self.issuer,
                require_iss: self.require_iss,
                scopes: self.scopes,
                max_pending_age: self.max_pending_age,
            }),
        })
    }
}

impl fmt::Debug for AuthorizationCodeClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationCodeClientBuilder")
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// A redirect URI: `https://`, `http://` on loopback (RFC 8252 §7.3), or a private-use
/// scheme with a dot in it (RFC 8252 §7.1, e.g. `com.example.app:/callback`); no fragment
/// (RFC 6749 §3.1.2).
fn redirect_url(uri: &str) -> Result<Url> {
    let parsed =
        Url::parse(uri).map_err(|e| Error::Config(format!("the redirect URI {uri:?}: {e}")))?;
    if parsed.fragment().is_some() {
        return Err(Error::Config(
            "the redirect URI must not have a fragment (RFC 6749 §3.1.2)".into(),
        ));
    }
    match parsed.scheme() {
        "https" | "http" => endpoint_url("redirect URI", uri),
        scheme if scheme.contains('.') => Ok(parsed),
        scheme => Err(Error::Config(format!(
            "the redirect URI scheme {scheme:?} is neither https nor a private-use scheme \
             in reverse domain form (RFC 8252 §7.1)"
        ))),
    }
}

/// An authorization request being built; see
/// [`AuthorizationCodeClient::authorization_url`].
#[must_use = "call .build()"]
pub struct AuthorizationUrlBuilder<'a> {
    client: &'a AuthorizationCodeClient,
    scopes: Option<Scopes>,
    nonce: bool,
    params: Vec<(String, String)>,
}

impl AuthorizationUrlBuilder<'_> {
    /// The scopes of this request (instead of the client's default scopes).
    pub fn scopes(mut self, scopes: Scopes) -> Self {
        self.scopes = Some(scopes);
        self
    }

    /// Adds an OpenID Connect `nonce`, checked against the ID token at the code exchange
    /// (ask for the `openid` scope too).
    pub fn oidc_nonce(mut self) -> Self {
        self.nonce = true;
        self
    }

    /// Adds a parameter of an extension (`prompt`, `login_hint`, `resource`, ...). The ones
    /// this client sets itself are refused at [`build`](AuthorizationUrlBuilder::build).
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// The URL to send the user to, and the [`PendingAuthorization`] to keep in their
    /// session until the callback. `state` and the PKCE verifier are 256-bit random values;
    /// the challenge method is always `S256`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when a [`param`](AuthorizationUrlBuilder::param) is one the client
    /// sets itself.
    pub fn build(self) -> Result<(Url, PendingAuthorization)> {
        if let Some((name, _)) = self
            .params
            .iter()
            .find(|(name, _)| RESERVED.contains(&name.as_str()))
        {
            return Err(Error::Config(format!(
                "the parameter {name:?} is set by the client itself"
            )));
        }
        let inner = &self.client.inner;
        let client =
            oauth2::basic::BasicClient::new(ClientId::new(inner.endpoint.client_id.clone()))
                .set_auth_uri(AuthUrl::from_url(inner.authorization_endpoint.clone()))
                .set_redirect_uri(RedirectUrl::from_url(inner.redirect_uri.clone()));
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256_len(RANDOM_BYTES);
        let nonce = self
            .nonce
            .then(|| CsrfToken::new_random_len(RANDOM_BYTES).into_secret());
        let scopes = self.scopes.as_ref().unwrap_or(&inner.scopes);
        let mut request = client
            .authorize_url(|| CsrfToken::new_random_len(RANDOM_BYTES))
            .set_pkce_challenge(challenge)
            .add_scopes(scopes.iter().map(|s| oauth2::Scope::new(s.to_owned())));
        if let Some(nonce) = &nonce {
            request = request.add_extra_param("nonce", nonce.clone());
        }
        for (name, value) in self.params {
            request = request.add_extra_param(name, value);
        }
        let (url, state) = request.url();
        Ok((
            url,
            PendingAuthorization {
                state: Secret::from(state.into_secret()),
                verifier: Secret::from(verifier.into_secret()),
                nonce: nonce.map(Secret::from),
                redirect_uri: inner.redirect_uri.clone(),
                created_at: inner.endpoint.clock.now(),
            },
        ))
    }
}

impl fmt::Debug for AuthorizationUrlBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationUrlBuilder")
            .field("scopes", &self.scopes)
            .field("nonce", &self.nonce)
            .finish_non_exhaustive()
    }
}

/// What the app keeps between the redirect to the authorization server and the callback:
/// `state`, the PKCE verifier, the `nonce` and the redirect URI.
///
/// Keep it in the user's **server-side** session (it serializes with serde, secrets in
/// clear, for that), and take it out at the callback: it is single-use, and
/// [`AuthorizationCodeClient::callback`] consumes it. `Debug` redacts the secrets.
#[derive(Clone)]
pub struct PendingAuthorization {
    state: Secret,
    verifier: Secret,
    nonce: Option<Secret>,
    redirect_uri: Url,
    created_at: SystemTime,
}

impl PendingAuthorization {
    /// The `state` sent (to find the pending authorization of a callback when a user has
    /// several logins open).
    #[must_use]
    pub fn state(&self) -> &Secret {
        &self.state
    }

    /// The PKCE code verifier (RFC 7636 §4.1).
    #[must_use]
    pub fn code_verifier(&self) -> &Secret {
        &self.verifier
    }

    /// The OpenID Connect `nonce`, when one was asked for.
    #[must_use]
    pub fn nonce(&self) -> Option<&Secret> {
        self.nonce.as_ref()
    }

    /// The redirect URI of the request (sent again at the code exchange).
    #[must_use]
    pub fn redirect_uri(&self) -> &str {
        self.redirect_uri.as_str()
    }

    /// When the request was made.
    #[must_use]
    pub fn created_at(&self) -> SystemTime {
        self.created_at
    }
}

impl fmt::Debug for PendingAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingAuthorization")
            .field("redirect_uri", &self.redirect_uri.as_str())
            .field("created_at", &unix_seconds(self.created_at))
            .field("nonce", &self.nonce.is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredPending {
    state: String,
    code_verifier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nonce: Option<String>,
    redirect_uri: String,
    created_at: u64,
}

impl Serialize for PendingAuthorization {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let text = |s: &Secret| s.expose_str().unwrap_or_default().to_owned();
        StoredPending {
            state: text(&self.state),
            code_verifier: text(&self.verifier),
            nonce: self.nonce.as_ref().map(text),
            redirect_uri: self.redirect_uri.to_string(),
            created_at: unix_seconds(self.created_at),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PendingAuthorization {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let stored = StoredPending::deserialize(deserializer)?;
        let redirect_uri = Url::parse(&stored.redirect_uri).map_err(serde::de::Error::custom)?;
        Ok(PendingAuthorization {
            state: Secret::from(stored.state),
            verifier: Secret::from(stored.code_verifier),
            nonce: stored.nonce.map(Secret::from),
            redirect_uri,
            created_at: UNIX_EPOCH + Duration::from_secs(stored.created_at),
        })
    }
}

/// An authorization code taken from a checked callback. `Debug` redacts it.
#[derive(Clone)]
pub struct AuthorizationCode(Secret);

impl fmt::Debug for AuthorizationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthorizationCode([redacted])")
    }
}

/// The parameters of an authorization response (RFC 6749 §4.1.2, §4.1.2.1; RFC 9207):
/// `code`, `state`, `iss`, or `error`, `error_description`, `error_uri`.
///
/// `Debug` redacts the code.
#[derive(Clone, Default)]
pub struct CallbackParams {
    code: Option<Secret>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    error_uri: Option<String>,
}

impl CallbackParams {
    /// The longest callback accepted, in bytes.
    pub const MAX_LEN: usize = 8 * 1024;

    /// Parses a query string (`code=...&state=...`, without the `?`), or a
    /// `response_mode=form_post` body. Unknown parameters are ignored.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCallback`] when a parameter appears twice (RFC 6749 §3.1: it must
    /// not) or the input is longer than [`CallbackParams::MAX_LEN`].
    pub fn parse(urlencoded: &str) -> Result<Self> {
        if urlencoded.len() > Self::MAX_LEN {
            return Err(Error::InvalidCallback("too long".into()));
        }
        let mut params = CallbackParams::default();
        for (name, value) in url::form_urlencoded::parse(urlencoded.as_bytes()) {
            let slot = match name.as_ref() {
                "state" => &mut params.state,
                "iss" => &mut params.iss,
                "error" => &mut params.error,
                "error_description" => &mut params.error_description,
                "error_uri" => &mut params.error_uri,
                "code" => {
                    if params.code.is_some() {
                        return Err(Error::InvalidCallback("code appears twice".into()));
                    }
                    params.code = Some(Secret::from(value.into_owned()));
                    continue;
                }
                _ => continue,
            };
            if slot.is_some() {
                return Err(Error::InvalidCallback(format!("{name} appears twice")));
            }
            *slot = Some(value.into_owned());
        }
        Ok(params)
    }

    /// Whether the response is an error response.
    #[must_use]
    pub fn is_error(&self) -> bool {
        self.error.is_some()
    }
}

impl fmt::Debug for CallbackParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackParams")
            .field("code", &self.code.as_ref().map(|_| "[redacted]"))
            .field("state", &self.state.as_ref().map(|_| "[redacted]"))
            .field("iss", &self.iss)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_core::ManualClock;

    fn client(clock: &ManualClock) -> AuthorizationCodeClient {
        AuthorizationCodeClient::builder(
            "app",
            "https://id.example/authorize",
            "https://id.example/token",
            "https://app.example/callback",
        )
        .client_secret(Secret::from("s3cr3t"))
        .issuer("https://id.example")
        .clock(clock.shared())
        .build()
        .unwrap()
    }

    fn query(url: &Url, name: &str) -> Option<String> {
        url.query_pairs()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.into_owned())
    }

    #[test]
    fn rfc7636_appendix_b() {
        assert_eq!(
            pkce_s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").as_deref(),
            Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        );
        assert_eq!(pkce_s256_challenge("short"), None);
        assert_eq!(pkce_s256_challenge(&"a+".repeat(30)), None);
    }

    #[test]
    fn the_url_carries_state_and_an_s256_challenge_of_the_kept_verifier() {
        let clock = ManualClock::starting_now();
        let client = client(&clock);
        let (url, pending) = client
            .authorization_url()
            .scopes("openid profile".parse().unwrap())
            .oidc_nonce()
            .param("prompt", "login")
            .build()
            .unwrap();
        assert_eq!(query(&url, "response_type").as_deref(), Some("code"));
        assert_eq!(query(&url, "client_id").as_deref(), Some("app"));
        assert_eq!(
            query(&url, "redirect_uri").as_deref(),
            Some("https://app.example/callback")
        );
        assert_eq!(query(&url, "scope").as_deref(), Some("openid profile"));
        assert_eq!(query(&url, "prompt").as_deref(), Some("login"));
        assert_eq!(
            query(&url, "code_challenge_method").as_deref(),
            Some("S256")
        );
        let verifier = pending.code_verifier().expose_str().unwrap();
        assert_eq!(query(&url, "code_challenge"), pkce_s256_challenge(verifier));
        assert_eq!(
            query(&url, "state").as_deref(),
            pending.state().expose_str()
        );
        assert_eq!(
            query(&url, "nonce").as_deref(),
            pending.nonce().unwrap().expose_str()
        );
        assert!(query(&url, "state").unwrap().len() >= 43);
        assert!(!format!("{pending:?}").contains(verifier));

        // Two requests never share a secret.
        let (_, other) = client.authorization_url().build().unwrap();
        assert!(other.state() != pending.state());
        assert!(other.nonce().is_none());
    }

    #[test]
    fn reserved_params_are_refused() {
        let clock = ManualClock::starting_now();
        let client = client(&clock);
        for name in ["state", "code_challenge_method", "redirect_uri"] {
            assert!(client.authorization_url().param(name, "x").build().is_err());
        }
    }

    #[test]
    fn callbacks_are_checked_in_order() {
        let clock = ManualClock::starting_now();
        let client = client(&clock);
        let (_, pending) = client.authorization_url().build().unwrap();
        let state = pending.state().expose_str().unwrap().to_owned();
        let check =
            |q: &str| client.validate_callback(&pending, &CallbackParams::parse(q).unwrap());

        assert!(matches!(check("code=c"), Err(Error::MissingState)));
        assert!(matches!(
            check("code=c&state=wrong"),
            Err(Error::StateMismatch)
        ));
        assert!(matches!(
            check(&format!("code=c&state={state}&iss=https://evil.example")),
            Err(Error::IssuerMismatch { .. })
        ));
        let denied = check(&format!(
            "error=access_denied&error_description=The+user+said+no&state={state}"
        ));
        match denied {
            Err(Error::Authorization(e)) => {
                assert_eq!(e.code(), &crate::ErrorCode::AccessDenied);
                assert_eq!(e.description(), Some("The user said no"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            check(&format!("state={state}")),
            Err(Error::InvalidCallback(_))
        ));
        assert!(check(&format!("code=c&state={state}")).is_ok());
        assert!(check(&format!("code=c&state={state}&iss=https://id.example")).is_ok());
        // A forged error with a wrong state is refused as a CSRF, not shown as an error.
        assert!(matches!(
            check("error=access_denied&state=x"),
            Err(Error::StateMismatch)
        ));

        clock.advance(AuthorizationCodeClient::DEFAULT_MAX_PENDING_AGE + Duration::from_secs(1));
        assert!(matches!(
            check(&format!("code=c&state={state}")),
            Err(Error::PendingExpired)
        ));
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert!(CallbackParams::parse("code=a&code=b&state=s").is_err());
        assert!(CallbackParams::parse("code=a&state=s&state=t").is_err());
        assert!(CallbackParams::parse(&"x".repeat(CallbackParams::MAX_LEN + 1)).is_err());
        let params = CallbackParams::parse("code=s3cr3t&state=s&other=1").unwrap();
        assert!(!format!("{params:?}").contains("s3cr3t"));
    }

    #[test]
    fn pending_authorizations_survive_a_session_store() {
        let clock = ManualClock::starting_now();
        let client = client(&clock);
        let (_, pending) = client.authorization_url().oidc_nonce().build().unwrap();
        let json = serde_json::to_string(&pending).unwrap();
        let back: PendingAuthorization = serde_json::from_str(&json).unwrap();
        assert!(back.state() == pending.state());
        assert!(back.code_verifier() == pending.code_verifier());
        assert!(back.nonce() == pending.nonce());
        assert_eq!(back.redirect_uri(), "https://app.example/callback");
        assert_eq!(
            unix_seconds(back.created_at()),
            unix_seconds(pending.created_at())
        );
    }

    #[test]
    fn configuration_is_checked() {
        let build = |auth: &str, redirect: &str| {
            AuthorizationCodeClient::builder("app", auth, "https://id.example/token", redirect)
                .build()
        };
        assert!(build("https://id.example/a", "https://app.example/cb").is_ok());
        assert!(build("https://id.example/a", "http://127.0.0.1:9000/cb").is_ok());
        assert!(build("https://id.example/a", "com.example.app:/cb").is_ok());
        assert!(build("http://id.example/a", "https://app.example/cb").is_err());
        assert!(build("https://id.example/a", "http://app.example/cb").is_err());
        assert!(build("https://id.example/a", "https://app.example/cb#x").is_err());
        assert!(build("https://id.example/a", "myapp:/cb").is_err());
        assert!(
            AuthorizationCodeClient::builder(
                "app",
                "https://a.example",
                "https://a.example/t",
                "https://b.example"
            )
            .require_issuer_in_response(true)
            .build()
            .is_err()
        );
    }
}
