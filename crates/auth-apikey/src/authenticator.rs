//! [`ApiKeyAuthenticator`]: the [`Authenticator`] for API keys.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use auth_core::{
    AuthRequest, Authenticator, Challenge, MemoryThrottle, Outcome, Principal, Rejection, Scheme,
    Throttle, ThrottleKey, ThrottlePolicy, async_trait,
};

use crate::{ConfigError, KeyManager};

/// The default header: `X-API-Key`.
pub const DEFAULT_HEADER: &str = "X-API-Key";

/// The default realm in the `WWW-Authenticate` challenges.
pub const DEFAULT_REALM: &str = "api";

/// Query parameter names taken for an API key even when keys are not accepted in the query,
/// so the request is refused loudly instead of silently ignored (compared ignoring ASCII
/// case).
pub const WELL_KNOWN_QUERY_PARAMS: [&str; 4] = ["api_key", "apikey", "api-key", "x-api-key"];

/// Header fields that cannot carry the key as a dedicated header.
const RESERVED_HEADERS: [&str; 4] = ["authorization", "proxy-authorization", "cookie", "host"];

/// Verifies API keys on requests, through a [`KeyManager`].
///
/// | the request carries | answer | audit reason |
/// |---|---|---|
/// | no key | no credential (401 with the challenges) | `no_credential` |
/// | a valid key | a [`Principal`]: subject = owner, scopes, key id, [`KeyMetadata`](crate::KeyMetadata) extension | `ok` |
/// | a key in two places (header and `Bearer`, header and query) | 400 `invalid_request` | `key_in_multiple_places` |
/// | a key in the query string without the opt-in | 400 `invalid_request`, telling the client to use the header | `key_in_query` |
/// | a repeated or non-ASCII header | 400 `invalid_request` | `malformed_header` |
/// | a typo, a truncation, another prefix | 401 `invalid_credentials`, no store lookup | `checksum_mismatch`, `malformed_key`, `wrong_prefix` |
/// | an unknown, revoked, expired or rotated-out key | 401 `invalid_credentials`, identical for all four | `unknown_key`, `revoked_key`, `expired_key`, `rotated_key` |
/// | too many failures from the client | 429 with `Retry-After`, before any lookup | `throttled` |
/// | the key store or the throttle is down | 503 (fail closed) | `key_store_unavailable`, `throttle_unavailable` |
///
/// # Examples
///
/// ```
/// use auth_apikey::{ApiKeyAuthenticator, KeyManager, MemoryKeyStore};
///
/// let keys = KeyManager::builder(MemoryKeyStore::new(), "myapp_live").build()?;
/// let authenticator = ApiKeyAuthenticator::builder(keys)
///     .header("X-API-Key")      // the default
///     .allow_bearer(true)       // also `Authorization: Bearer myapp_live_...`
///     .realm("orders")
///     .build()?;
/// # Ok::<(), auth_apikey::ConfigError>(())
/// ```
///
/// # Security
///
/// Failed attempts are throttled per client address (the request's peer); a request whose
/// peer is unknown is not throttled. Behind a reverse proxy the connection's peer is the
/// proxy: with auth-actix, list the proxy in `RequireHttps::trusted_proxies` and the peer
/// becomes the client it forwards (`X-Forwarded-For` / `Forwarded: for=`), so each client has
/// its own budget; without that, every client shares the proxy's.
pub struct ApiKeyAuthenticator {
    keys: KeyManager,
    header: String,
    allow_bearer: bool,
    query_param: Option<String>,
    key_start: String,
    throttle: Arc<dyn Throttle>,
    challenges: Vec<Challenge>,
    use_header: Cow<'static, str>,
}

/// Builds an [`ApiKeyAuthenticator`]. From [`ApiKeyAuthenticator::builder`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct ApiKeyAuthenticatorBuilder {
    keys: KeyManager,
    header: String,
    allow_bearer: bool,
    query_param: Option<String>,
    realm: String,
    throttle: Option<Arc<dyn Throttle>>,
}

impl ApiKeyAuthenticatorBuilder {
    /// The header that carries the key (default [`DEFAULT_HEADER`], `X-API-Key`).
    ///
    /// If the app also uses `auth_actix::RequireHttps`, add a custom header to its credential
    /// headers so keys over plain HTTP are refused.
    pub fn header(mut self, name: impl Into<String>) -> Self {
        self.header = name.into();
        self
    }

    /// Also accepts the key as `Authorization: Bearer <key>` (default: no). Only bearer
    /// tokens that start with this issuer's prefix are taken, so in an
    /// [`AnyOf`](auth_core::AnyOf) chain other bearer tokens (JWTs) go on to the next scheme.
    pub fn allow_bearer(mut self, allow: bool) -> Self {
        self.allow_bearer = allow;
        self
    }

    /// Accepts the key in the query parameter `name` (`?api_key=...`).
    ///
    /// # Security
    ///
    /// URLs end up in browser history, proxy and server access logs, `Referer` headers and
    /// monitoring tools: a key in a URL is a leaked key. This crate keeps it out of its own
    /// audit events (they log the path only), but cannot reach the other places. Use it only
    /// for clients that cannot set a header, with short-lived, narrowly scoped keys.
    pub fn insecure_allow_query_param(mut self, name: impl Into<String>) -> Self {
        self.query_param = Some(name.into());
        self
    }

    /// The realm in the `WWW-Authenticate` challenges (default [`DEFAULT_REALM`]).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// The failed-attempt throttle (default: a [`MemoryThrottle`] with the default policy,
    /// on the key manager's clock). Keyed by the client address.
    pub fn throttle(mut self, throttle: Arc<dyn Throttle>) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// Checks the configuration and builds the authenticator.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidHeader`] for a header name that is not an RFC 9110 token or is
    /// reserved (`Authorization`: use [`allow_bearer`](Self::allow_bearer));
    /// [`ConfigError::InvalidQueryParam`] for an empty parameter name or one that needs
    /// percent-encoding.
    pub fn build(self) -> Result<ApiKeyAuthenticator, ConfigError> {
        let header = self.header.to_ascii_lowercase();
        if header.is_empty() || !header.bytes().all(auth_core::is_tchar) {
            return Err(ConfigError::InvalidHeader(
                "the header name must be a non-empty RFC 9110 token",
            ));
        }
        if RESERVED_HEADERS.contains(&header.as_str()) {
            return Err(ConfigError::InvalidHeader(
                "this header is reserved; use allow_bearer for Authorization",
            ));
        }
        if let Some(param) = &self.query_param
            && (param.is_empty()
                || param.len() > 64
                || !param
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'~')))
        {
            return Err(ConfigError::InvalidQueryParam(
                "1 to 64 of A-Z a-z 0-9 _ - . ~",
            ));
        }
        let throttle = match self.throttle {
            Some(throttle) => throttle,
            None => Arc::new(MemoryThrottle::new(
                ThrottlePolicy::default(),
                Arc::clone(self.keys.clock()),
            )?),
        };
        let mut challenges = vec![
            Challenge::new("ApiKey")
                .param("realm", self.realm.clone())
                .param("header", self.header.clone()),
        ];
        if self.allow_bearer {
            challenges.push(Challenge::bearer(self.realm));
        }
        let key_start = format!("{}_", self.keys.format().prefix());
        Ok(ApiKeyAuthenticator {
            use_header: Cow::Owned(format!(
                "Send the API key in the {} header, not in the URL",
                self.header
            )),
            keys: self.keys,
            header,
            allow_bearer: self.allow_bearer,
            query_param: self.query_param,
            key_start,
            throttle,
            challenges,
        })
    }
}

impl fmt::Debug for ApiKeyAuthenticatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyAuthenticatorBuilder")
            .field("header", &self.header)
            .field("allow_bearer", &self.allow_bearer)
            .field("query_param", &self.query_param)
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

/// Where a key was found.
enum Found<'a> {
    None,
    One(Cow<'a, str>),
    Many,
}

impl<'a> Found<'a> {
    fn add(&mut self, key: Cow<'a, str>) {
        *self = match self {
            Found::None => Found::One(key),
            _ => Found::Many,
        };
    }
}

impl ApiKeyAuthenticator {
    /// A builder verifying through `keys`.
    pub fn builder(keys: KeyManager) -> ApiKeyAuthenticatorBuilder {
        ApiKeyAuthenticatorBuilder {
            keys,
            header: DEFAULT_HEADER.to_owned(),
            allow_bearer: false,
            query_param: None,
            realm: DEFAULT_REALM.to_owned(),
            throttle: None,
        }
    }

    /// The key manager.
    #[must_use]
    pub fn keys(&self) -> &KeyManager {
        &self.keys
    }

    fn invalid_request(&self, description: &'static str, reason: &'static str) -> Rejection {
        Rejection::invalid_request(self.challenges.clone(), description, reason)
    }

    /// Finds the key in the request: the header, `Authorization: Bearer` (when allowed), the
    /// query (when allowed; refused loudly when not).
    fn extract<'r>(&self, request: &AuthRequest<'r>) -> Result<Found<'r>, Rejection> {
        let mut found = Found::None;
        match request.single_header(&self.header) {
            Ok(Some(value)) => found.add(Cow::Borrowed(value.trim_matches([' ', '\t']))),
            Ok(None) => {}
            Err(_) => {
                return Err(self.invalid_request("Malformed API key header", "malformed_header"));
            }
        }
        if self.allow_bearer {
            match request.single_header("authorization") {
                Ok(Some(value)) => {
                    if let Some(token) = bearer_token(value)
                        && token.starts_with(&self.key_start)
                    {
                        found.add(Cow::Borrowed(token));
                    }
                }
                Ok(None) => {}
                Err(_) => {
                    return Err(
                        self.invalid_request("Malformed Authorization header", "malformed_header")
                    );
                }
            }
        }
        if let Some(query) = request.query() {
            let mut taken = 0;
            for pair in query.split('&') {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                let value = percent_decode(value);
                if self.query_param.as_deref() == Some(name) {
                    taken += 1;
                    found.add(value);
                } else if WELL_KNOWN_QUERY_PARAMS
                    .iter()
                    .any(|known| known.eq_ignore_ascii_case(name))
                    || value.starts_with(&self.key_start)
                {
                    return Err(self
                        .invalid_request(
                            "Send the API key in a header, not in the URL",
                            "key_in_query",
                        )
                        .with_description(self.use_header.clone()));
                }
            }
            if taken > 1 {
                return Err(self.invalid_request(
                    "Send the API key in one place only",
                    "key_in_multiple_places",
                ));
            }
        }
        Ok(found)
    }

    async fn refuse(&self, client: Option<&ThrottleKey>, rejection: Rejection) -> Outcome {
        if let Some(client) = client
            && self.throttle.record_failure(client).await.is_err()
        {
            return Outcome::Rejected(Rejection::unavailable("throttle_unavailable"));
        }
        Outcome::Rejected(rejection)
    }
}

impl fmt::Debug for ApiKeyAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyAuthenticator")
            .field("keys", &self.keys)
            .field("header", &self.header)
            .field("allow_bearer", &self.allow_bearer)
            .field("query_param", &self.query_param)
            .field("throttle", &self.throttle)
            .field("challenges", &self.challenges)
            .finish()
    }
}

#[async_trait]
impl Authenticator for ApiKeyAuthenticator {
    fn scheme(&self) -> Scheme {
        Scheme::API_KEY
    }

    fn challenges(&self) -> &[Challenge] {
        &self.challenges
    }

    async fn authenticate(&self, request: &AuthRequest<'_>) -> Outcome {
        let key = match self.extract(request) {
            Ok(Found::One(key)) => key,
            Ok(Found::None) => return Outcome::NoCredential,
            Ok(Found::Many) => {
                return Outcome::Rejected(self.invalid_request(
                    "Send the API key in one place only",
                    "key_in_multiple_places",
                ));
            }
            Err(rejection) => return Outcome::Rejected(rejection),
        };

        let client = request.peer().map(|peer| ThrottleKey::Client(peer.ip()));
        if let Some(client) = &client {
            let wait = auth_core::now_or_await(self.throttle.retry_after_now(client), || {
                self.throttle.retry_after(client)
            })
            .await;
            match wait {
                Ok(None) => {}
                Ok(Some(wait)) => return Outcome::Rejected(Rejection::too_many_requests(wait)),
                Err(_) => {
                    return Outcome::Rejected(Rejection::unavailable("throttle_unavailable"));
                }
            }
        }

        match self.keys.verify_timed(&key).await {
            Ok((metadata, now)) => {
                if let Some(client) = &client
                    && let Err(error) =
                        auth_core::now_or_await(self.throttle.reset_now(client), || {
                            self.throttle.reset(client)
                        })
                        .await
                {
                    tracing::warn!(target: "auth_apikey", %error, "could not reset the throttle");
                }
                Outcome::Authenticated(
                    Principal::new(metadata.owner.clone(), Scheme::API_KEY)
                        .with_scopes(metadata.scopes.clone())
                        .with_key_id(metadata.id.clone())
                        .with_authenticated_at(now)
                        .with_extension_arc(metadata),
                )
            }
            Err(error) if error.is_refusal() => {
                self.refuse(client.as_ref(), error.to_rejection(&self.challenges))
                    .await
            }
            Err(error) => Outcome::Rejected(error.to_rejection(&self.challenges)),
        }
    }
}

/// The token of an `Authorization: Bearer <token>` value (scheme case-insensitive).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim_matches([' ', '\t']))
}

/// Decodes `%XX` escapes and `+`; leaves the text as it is when it has none or they do not
/// make UTF-8 (then the key check refuses it).
fn percent_decode(value: &str) -> Cow<'_, str> {
    if !value.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(value);
    }
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(byte) => {
                        out.push(byte);
                        i += 3;
                    }
                    None => return Cow::Borrowed(value),
                }
            }
            b'%' => return Cow::Borrowed(value),
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_or(Cow::Borrowed(value), Cow::Owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("abc"), "abc");
        assert_eq!(percent_decode("a%5Fb"), "a_b");
        assert_eq!(percent_decode("a+b"), "a b");
        assert_eq!(percent_decode("a%5"), "a%5");
        assert_eq!(percent_decode("a%zz"), "a%zz");
        assert_eq!(percent_decode("%ff"), "%ff");
    }

    #[test]
    fn bearer_tokens() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
    }
}
