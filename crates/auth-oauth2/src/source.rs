//! [`TokenSource`]: client-credentials tokens, fetched once, cached, refreshed ahead of
//! expiry; and [`RequestBuilderExt`] to put them on requests.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use auth_core::{Scopes, Secret, SharedClock, SystemClock};
use tokio::sync::Mutex;

use crate::client::{ClientAuthMethod, TokenEndpoint};
use crate::http::{Backoff, DEFAULT_TIMEOUT, default_client, endpoint_url};
use crate::token::AccessToken;
use crate::{Error, Result};

/// Access tokens for the client credentials grant (RFC 6749 §4.4), as a service calling
/// another service needs them: fetched once, cached, refreshed before they expire.
///
/// - **cache**: [`token`](TokenSource::token) returns the cached token while it is fresh;
/// - **refresh ahead**: a token counts as stale once less than 10% of its lifetime or
///   [`refresh_ahead`](TokenSourceBuilder::refresh_ahead) (default 60 s) remains, whichever
///   is smaller, so a request never leaves with a token about to expire;
/// - **single flight**: when many tasks need a token at once, one request goes out and
///   they all get its answer (success or failure); while one refreshes a token that is
///   still valid, the others keep using it without waiting;
/// - **retries**: network errors and 5xx answers are retried with [`Backoff`] (default 3
///   attempts, 200 ms doubling); OAuth errors such as `invalid_client` are not;
/// - **stale on error**: when a refresh fails while the cached token is still valid, that
///   token is returned (and the failure logged), so a short outage of the authorization
///   server does not fail requests;
/// - **client authentication**: `client_secret_basic` (default) or `client_secret_post`;
///   never in the URL;
/// - `scope` (RFC 6749 §3.3) and `resource` (RFC 8707) parameters;
/// - provider quirks: `expires_in` as a string, `token_type` in any case (see
///   [`LenientTokenResponse`](crate::LenientTokenResponse)); a missing `expires_in` is
///   taken as [`default_lifetime`](TokenSourceBuilder::default_lifetime) (5 minutes).
///
/// Time comes from the configured [`Clock`](auth_core::Clock). Clones share the cache.
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> Result<(), auth_oauth2::Error> {
/// use auth_oauth2::{RequestBuilderExt, TokenSource};
/// use auth_core::Secret;
///
/// let tokens = TokenSource::builder(
///     "https://oauth.example.com/token",
///     "YOUR_CLIENT_ID",
///     Secret::from(std::env::var("CLIENT_SECRET").unwrap_or_default()),
/// )
/// .scopes("orders:read".parse().expect("a valid scope"))
/// .build()?;
///
/// let http = reqwest::Client::new();
/// let token = tokens.token().await?;
/// let response = http
///     .get("https://api.example.com/protected")
///     .bearer_token(&token)
///     .send()
///     .await;
/// # let _ = response;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: TokenEndpoint,
    scopes: Scopes,
    resources: Vec<String>,
    refresh_ahead: Duration,
    default_lifetime: Duration,
    state: RwLock<State>,
    fetch: Mutex<()>,
    requests: AtomicU64,
}

#[derive(Default)]
struct State {
    cached: Option<Cached>,
    /// Counts finished fetches: a caller that waited for the fetch lock sees whether a fetch
    /// finished meanwhile (times cannot tell: a test clock may not have moved).
    generation: u64,
    last_error: Option<Error>,
}

struct Cached {
    token: AccessToken,
    /// From then on, a new token is fetched.
    refresh_at: SystemTime,
    /// Until then, the token may be returned when a refresh fails.
    valid_until: SystemTime,
}

impl TokenSource {
    /// The default [`TokenSourceBuilder::refresh_ahead`]: 60 seconds.
    pub const DEFAULT_REFRESH_AHEAD: Duration = Duration::from_secs(60);
    /// The default [`TokenSourceBuilder::default_lifetime`]: 5 minutes.
    pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

    /// A builder for the token endpoint `token_endpoint`, authenticating as `client_id` with
    /// `client_secret` (`client_secret_basic` unless changed).
    pub fn builder(
        token_endpoint: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: Secret,
    ) -> TokenSourceBuilder {
        TokenSourceBuilder {
            token_endpoint: token_endpoint.into(),
            client_id: client_id.into(),
            client_secret,
            method: ClientAuthMethod::ClientSecretBasic,
            scopes: Scopes::new(),
            resources: Vec::new(),
            refresh_ahead: Self::DEFAULT_REFRESH_AHEAD,
            default_lifetime: Self::DEFAULT_LIFETIME,
            backoff: Backoff::default(),
            clock: None,
            http: None,
            timeout: DEFAULT_TIMEOUT,
            extra_token_types: Vec::new(),
        }
    }

    /// A valid access token: the cached one while it is fresh, else a new one.
    ///
    /// # Errors
    ///
    /// [`Error::TokenEndpoint`] when the server refuses (e.g. `invalid_client` for a wrong
    /// secret), [`Error::Network`] or [`Error::Status`] when it cannot be reached after the
    /// retries, [`Error::InvalidResponse`] or [`Error::UnsupportedTokenType`] for an answer
    /// that cannot be used. A caller that waited for another's request gets its error.
    pub async fn token(&self) -> Result<AccessToken> {
        let inner = &self.inner;
        let seen = {
            let state = inner.state.read().unwrap_or_else(PoisonError::into_inner);
            let now = inner.endpoint.clock.now();
            if let Some(cached) = &state.cached
                && now < cached.refresh_at
            {
                return Ok(cached.token.clone());
            }
            state.generation
        };

        let _flight = match inner.fetch.try_lock() {
            Ok(flight) => flight,
            Err(_) => {
                // A refresh is under way: a token that is still valid serves meanwhile, so
                // only the caller that refreshes waits for it.
                if let Some(token) = self.still_valid() {
                    return Ok(token);
                }
                inner.fetch.lock().await
            }
        };
        {
            let state = inner.state.read().unwrap_or_else(PoisonError::into_inner);
            if state.generation != seen {
                // A fetch finished while we waited: its answer is ours too.
                let now = inner.endpoint.clock.now();
                if let Some(cached) = &state.cached
                    && now < cached.valid_until
                {
                    return Ok(cached.token.clone());
                }
                if let Some(error) = &state.last_error {
                    return Err(error.clone());
                }
            }
        }

        inner.requests.fetch_add(1, Ordering::Relaxed);
        let fetched = inner
            .endpoint
            .client_credentials(&inner.scopes, &inner.resources)
            .await
            .and_then(|fetched| {
                let token = fetched.access_token()?;
                let lifetime = fetched.lifetime().unwrap_or(inner.default_lifetime);
                let valid_until = fetched.sent_at + lifetime;
                let margin = (lifetime / 10).min(inner.refresh_ahead);
                Ok(Cached {
                    token,
                    refresh_at: valid_until - margin,
                    valid_until,
                })
            });

        let mut state = inner.state.write().unwrap_or_else(PoisonError::into_inner);
        state.generation += 1;
        match fetched {
            Ok(cached) => {
                let token = cached.token.clone();
                state.cached = Some(cached);
                state.last_error = None;
                Ok(token)
            }
            Err(error) => {
                state.last_error = Some(error.clone());
                let now = inner.endpoint.clock.now();
                match &state.cached {
                    Some(cached) if now < cached.valid_until => {
                        tracing::warn!(
                            target: "auth_oauth2",
                            %error,
                            "token refresh failed; using the cached token until it expires"
                        );
                        Ok(cached.token.clone())
                    }
                    _ => Err(error),
                }
            }
        }
    }

    /// The cached token if it has not expired yet (fresh or not).
    fn still_valid(&self) -> Option<AccessToken> {
        let state = self
            .inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let now = self.inner.endpoint.clock.now();
        state
            .cached
            .as_ref()
            .filter(|cached| now < cached.valid_until)
            .map(|cached| cached.token.clone())
    }

    /// Forgets `token` if it is the cached one, so the next [`token`](TokenSource::token)
    /// fetches a new one: call it when an API answers 401 to it (the token was revoked).
    /// A newer cached token is kept.
    pub fn invalidate(&self, token: &AccessToken) {
        let mut state = self
            .inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if state
            .cached
            .as_ref()
            .is_some_and(|cached| cached.token.same(token))
        {
            state.cached = None;
        }
    }

    /// Gets a token and puts it on `request` as `Authorization: Bearer`.
    ///
    /// # Errors
    ///
    /// As [`token`](TokenSource::token).
    pub async fn authorize(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder> {
        Ok(request.bearer_token(&self.token().await?))
    }

    /// How many token requests were made (retries not counted): for monitoring and tests.
    #[must_use]
    pub fn request_count(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("TokenSource")
            .field("token_endpoint", &inner.endpoint.url.as_str())
            .field("client_id", &inner.endpoint.client_id)
            .field("auth_method", &inner.endpoint.method)
            .field("scopes", &inner.scopes)
            .field("resources", &inner.resources)
            .field("requests", &self.request_count())
            .finish_non_exhaustive()
    }
}

/// Builds a [`TokenSource`]; see [`TokenSource::builder`].
#[must_use = "call .build()"]
pub struct TokenSourceBuilder {
    token_endpoint: String,
    client_id: String,
    client_secret: Secret,
    method: ClientAuthMethod,
    scopes: Scopes,
    resources: Vec<String>,
    refresh_ahead: Duration,
    default_lifetime: Duration,
    backoff: Backoff,
    clock: Option<SharedClock>,
    http: Option<reqwest::Client>,
    timeout: Duration,
    extra_token_types: Vec<String>,
}

impl TokenSourceBuilder {
    /// How the client authenticates: [`ClientAuthMethod::ClientSecretBasic`] (default) or
    /// [`ClientAuthMethod::ClientSecretPost`].
    pub fn auth_method(mut self, method: ClientAuthMethod) -> Self {
        self.method = method;
        self
    }

    /// The scopes to ask for (`scope`, RFC 6749 §3.3); none by default (the server's
    /// default scopes).
    pub fn scopes(mut self, scopes: Scopes) -> Self {
        self.scopes = scopes;
        self
    }

    /// Adds a `resource` (RFC 8707): the absolute URI of the API the token is for, so the
    /// server can restrict its audience. Call again for several.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resources.push(resource.into());
        self
    }

    /// The most time before expiry at which a token is refreshed (default 60 s); the
    /// refresh happens when less than 10% of the lifetime or this remains, whichever is
    /// smaller.
    pub fn refresh_ahead(mut self, ahead: Duration) -> Self {
        self.refresh_ahead = ahead;
        self
    }

    /// The lifetime assumed when the server sends no `expires_in` (default 5 minutes).
    pub fn default_lifetime(mut self, lifetime: Duration) -> Self {
        self.default_lifetime = lifetime;
        self
    }

    /// The retry policy for transient failures (default: 3 attempts, 200 ms doubling).
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
    /// [`http_client`](TokenSourceBuilder::http_client).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The HTTP client (default: rustls, the timeout, no redirects).
    ///
    /// # Security
    ///
    /// Disable redirects on it (`reqwest::redirect::Policy::none()`): a redirect would send
    /// the request, client credentials included, to another place.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Also accepts tokens of type `token_type` (compared case-insensitively), e.g. `N_A`
    /// from a token exchange. Only `Bearer` is accepted by default: a token of another type
    /// (`DPoP`, `MAC`) needs more than a bearer header to be used.
    pub fn accept_token_type(mut self, token_type: impl Into<String>) -> Self {
        self.extra_token_types.push(token_type.into());
        self
    }

    /// Checks the configuration.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a token endpoint that is not `https://` (plain `http://` only on
    /// loopback) or that carries the client secret in its query, an empty client id or
    /// secret, a `resource` that is not an absolute URI without fragment (RFC 8707 §2), a
    /// zero default lifetime, or a backoff of 0 or more than 10 attempts.
    pub fn build(self) -> Result<TokenSource> {
        let url = endpoint_url("token endpoint", &self.token_endpoint)?;
        if self.method == ClientAuthMethod::None {
            return Err(Error::Config(
                "the client credentials grant needs client authentication (RFC 6749 §4.4)".into(),
            ));
        }
        for resource in &self.resources {
            let parsed = url::Url::parse(resource).map_err(|e| {
                Error::Config(format!("resource {resource:?} is not an absolute URI: {e}"))
            })?;
            if parsed.fragment().is_some() {
                return Err(Error::Config(format!(
                    "resource {resource:?} must not have a fragment (RFC 8707 §2)"
                )));
            }
        }
        if self.default_lifetime.is_zero() {
            return Err(Error::Config("default_lifetime must be positive".into()));
        }
        let http = match self.http {
            Some(http) => http,
            None => default_client(self.timeout)?,
        };
        let endpoint = TokenEndpoint {
            url,
            client_id: self.client_id,
            secret: Some(self.client_secret),
            method: self.method,
            http,
            backoff: self.backoff,
            extra_token_types: self.extra_token_types,
            clock: self.clock.unwrap_or_else(SystemClock::shared),
        };
        endpoint.check()?;
        Ok(TokenSource {
            inner: Arc::new(Inner {
                endpoint,
                scopes: self.scopes,
                resources: self.resources,
                refresh_ahead: self.refresh_ahead,
                default_lifetime: self.default_lifetime,
                state: RwLock::new(State::default()),
                fetch: Mutex::new(()),
                requests: AtomicU64::new(0),
            }),
        })
    }
}

impl fmt::Debug for TokenSourceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSourceBuilder")
            .field("token_endpoint", &self.token_endpoint)
            .field("client_id", &self.client_id)
            .field("auth_method", &self.method)
            .finish_non_exhaustive()
    }
}

/// Puts an [`AccessToken`] on a reqwest request.
///
/// Prefer it to reqwest's own `bearer_auth`: it marks the header sensitive, and an
/// [`AccessToken`] has no `Display` to hand to `bearer_auth` by mistake.
pub trait RequestBuilderExt {
    /// Adds `Authorization: Bearer <token>` (RFC 6750 §2.1).
    #[must_use]
    fn bearer_token(self, token: &AccessToken) -> Self;
}

impl RequestBuilderExt for reqwest::RequestBuilder {
    fn bearer_token(self, token: &AccessToken) -> Self {
        self.header(reqwest::header::AUTHORIZATION, token.header_value())
    }
}
