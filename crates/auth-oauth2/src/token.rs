//! Tokens as the client holds them ([`AccessToken`], [`TokenSet`]) and the lenient token
//! response that the `oauth2` crate parses ([`LenientTokenResponse`]).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_core::{Scopes, Secret, unix_seconds};
use oauth2::basic::BasicTokenType;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

/// A token response from the token endpoint (RFC 6749 §5.1), parsed leniently where
/// providers are known to stray:
///
/// - `token_type` in any letter case (`bearer`, `Bearer`, `BEARER`: RFC 6749 §5.1 says it is
///   case-insensitive);
/// - `expires_in` as a number or a numeric string (`"3600"`), a fraction truncated; `null`
///   or `""` as absent;
/// - `scope` as a space-delimited string or a JSON array of strings.
///
/// It implements the `oauth2` crate's [`TokenResponse`](oauth2::TokenResponse), so it can
/// stand in for `BasicTokenResponse` in an [`oauth2::Client`]. `Debug` redacts the tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LenientTokenResponse {
    access_token: oauth2::AccessToken,
    #[serde(deserialize_with = "token_type")]
    token_type: BasicTokenType,
    #[serde(
        default,
        deserialize_with = "expires_in",
        skip_serializing_if = "Option::is_none"
    )]
    expires_in: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<oauth2::RefreshToken>,
    #[serde(
        rename = "scope",
        default,
        deserialize_with = "scopes",
        serialize_with = "serialize_scopes",
        skip_serializing_if = "Option::is_none"
    )]
    scopes: Option<Vec<oauth2::Scope>>,
    /// OpenID Connect's ID token, when the response has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<oauth2::AccessToken>,
}

impl LenientTokenResponse {
    /// The `token_type` as sent.
    #[must_use]
    pub fn token_type_str(&self) -> &str {
        self.token_type.as_ref()
    }

    /// The refresh token, if any. Never log it.
    #[must_use]
    pub fn refresh_token_str(&self) -> Option<&str> {
        self.refresh_token.as_ref().map(|t| t.secret().as_str())
    }

    /// The ID token (OpenID Connect), if any. Never log it.
    #[must_use]
    pub fn id_token(&self) -> Option<&str> {
        self.id_token.as_ref().map(|t| t.secret().as_str())
    }
}

impl oauth2::TokenResponse for LenientTokenResponse {
    type TokenType = BasicTokenType;

    fn access_token(&self) -> &oauth2::AccessToken {
        &self.access_token
    }

    fn token_type(&self) -> &BasicTokenType {
        &self.token_type
    }

    fn expires_in(&self) -> Option<Duration> {
        self.expires_in.map(Duration::from_secs)
    }

    fn refresh_token(&self) -> Option<&oauth2::RefreshToken> {
        self.refresh_token.as_ref()
    }

    fn scopes(&self) -> Option<&Vec<oauth2::Scope>> {
        self.scopes.as_ref()
    }
}

fn token_type<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BasicTokenType, D::Error> {
    let text = String::deserialize(deserializer)?;
    Ok(if text.eq_ignore_ascii_case("bearer") {
        BasicTokenType::Bearer
    } else if text.eq_ignore_ascii_case("mac") {
        BasicTokenType::Mac
    } else {
        BasicTokenType::Extension(text)
    })
}

fn expires_in<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Number(n) => match (n.as_u64(), n.as_f64()) {
            (Some(secs), _) => Ok(Some(secs)),
            (None, Some(f)) if f.is_finite() && f >= 0.0 => Ok(Some(f as u64)),
            _ => Err(de::Error::custom("expires_in is negative or not a number")),
        },
        serde_json::Value::String(s) if s.trim().is_empty() => Ok(None),
        serde_json::Value::String(s) => s
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| de::Error::custom("expires_in is not a number of seconds")),
        _ => Err(de::Error::custom("expires_in is not a number of seconds")),
    }
}

fn scopes<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<oauth2::Scope>>, D::Error> {
    let tokens: Vec<String> = match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Null => return Ok(None),
        serde_json::Value::String(s) => s
            .split(' ')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        serde_json::Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => Ok(s),
                _ => Err(de::Error::custom("scope array holds a non-string")),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(de::Error::custom("scope is neither a string nor an array")),
    };
    Ok(Some(tokens.into_iter().map(oauth2::Scope::new).collect()))
}

fn serialize_scopes<S: Serializer>(
    scopes: &Option<Vec<oauth2::Scope>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let joined = scopes.as_ref().map(|scopes| {
        scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    });
    joined.serialize(serializer)
}

/// An access token as the client holds it: the secret, its type, when it expires and the
/// scopes granted. Cheap to clone (shared).
///
/// `Debug` redacts the token, and there is deliberately no `Display`: reqwest's
/// `bearer_auth(token)` would otherwise send `Bearer [redacted]`. Attach it with
/// [`RequestBuilderExt::bearer_token`](crate::RequestBuilderExt::bearer_token) or
/// [`AccessToken::header_value`].
#[derive(Clone)]
pub struct AccessToken(Arc<Inner>);

struct Inner {
    secret: Secret,
    token_type: String,
    expires_at: Option<SystemTime>,
    scopes: Option<Scopes>,
}

impl AccessToken {
    /// A bearer token (for tests and for tokens obtained elsewhere).
    #[must_use]
    pub fn new(secret: impl Into<String>, expires_at: Option<SystemTime>) -> Self {
        Self::from_parts(Secret::from(secret.into()), "Bearer", expires_at, None)
    }

    pub(crate) fn from_parts(
        secret: Secret,
        token_type: &str,
        expires_at: Option<SystemTime>,
        scopes: Option<Scopes>,
    ) -> Self {
        Self(Arc::new(Inner {
            secret,
            token_type: token_type.to_owned(),
            expires_at,
            scopes,
        }))
    }

    /// The token. Every call is a place where it leaves its wrapper: never log it.
    #[must_use]
    pub fn secret(&self) -> &Secret {
        &self.0.secret
    }

    /// The token as text (it came from a JSON string, so it always is).
    #[must_use]
    pub fn expose_str(&self) -> &str {
        self.0.secret.expose_str().unwrap_or_default()
    }

    /// The `token_type` as the server sent it (`Bearer`, `bearer`, ...).
    #[must_use]
    pub fn token_type(&self) -> &str {
        &self.0.token_type
    }

    /// When it expires, when the server said (`expires_in`).
    #[must_use]
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.0.expires_at
    }

    /// The scopes granted, when the server said (`scope`); RFC 6749 §5.1: absent means
    /// the scopes requested.
    #[must_use]
    pub fn scopes(&self) -> Option<&Scopes> {
        self.0.scopes.as_ref()
    }

    /// Whether it has expired at `now` (never, when the expiry is unknown).
    #[must_use]
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        self.0.expires_at.is_some_and(|at| now >= at)
    }

    /// `Bearer <token>` as an `Authorization` header value, marked sensitive (HTTP/2
    /// header compression skips it, and `Debug` hides it).
    ///
    /// # Panics
    ///
    /// Never for a token from a token endpoint (checked when it was received); a token made
    /// with [`AccessToken::new`] must be visible ASCII.
    #[must_use]
    pub fn header_value(&self) -> reqwest::header::HeaderValue {
        let mut value =
            reqwest::header::HeaderValue::from_str(&format!("Bearer {}", self.expose_str()))
                .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static("Bearer"));
        value.set_sensitive(true);
        value
    }

    /// Whether `self` and `other` are the same token (the same fetch).
    pub(crate) fn same(&self, other: &AccessToken) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"[redacted]")
            .field("token_type", &self.0.token_type)
            .field("expires_at", &self.0.expires_at.map(unix_seconds))
            .field("scopes", &self.0.scopes)
            .finish()
    }
}

/// The tokens of a logged-in user: the access token, and the refresh token and ID token when
/// the server issued them.
///
/// Keep it in the user's server-side session. It serializes (serde) with the tokens in clear
/// so a session store can hold it: store it only server-side, never in a cookie or in the
/// browser. `Debug` redacts the tokens.
#[derive(Clone)]
pub struct TokenSet {
    access: AccessToken,
    refresh: Option<Secret>,
    id_token: Option<Secret>,
}

impl TokenSet {
    pub(crate) fn new(
        access: AccessToken,
        refresh: Option<Secret>,
        id_token: Option<Secret>,
    ) -> Self {
        Self {
            access,
            refresh,
            id_token,
        }
    }

    /// The access token.
    #[must_use]
    pub fn access_token(&self) -> &AccessToken {
        &self.access
    }

    /// The refresh token, if the server issued one.
    #[must_use]
    pub fn refresh_token(&self) -> Option<&Secret> {
        self.refresh.as_ref()
    }

    /// The OpenID Connect ID token (a JWT), if the server issued one.
    #[must_use]
    pub fn id_token(&self) -> Option<&Secret> {
        self.id_token.as_ref()
    }

    /// The claims of the ID token, decoded without checking the signature: the token came
    /// straight from the token endpoint over TLS, which OpenID Connect Core §3.1.3.7 accepts
    /// in place of the signature. `None` without an ID token or when it is malformed.
    #[must_use]
    pub fn id_token_claims(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        decode_jwt_claims(self.id_token.as_ref()?.expose_str()?)
    }

    /// Whether the access token needs refreshing at `now`: expired, or expiring within
    /// `margin`.
    #[must_use]
    pub fn expires_within(&self, now: SystemTime, margin: Duration) -> bool {
        self.access
            .expires_at()
            .is_some_and(|at| now + margin >= at)
    }
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &self.access)
            .field(
                "refresh_token",
                &self.refresh.as_ref().map(|_| "[redacted]"),
            )
            .field("id_token", &self.id_token.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// The stored form of a [`TokenSet`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredTokenSet {
    access_token: String,
    token_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

impl Serialize for TokenSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = |s: &Secret| s.expose_str().unwrap_or_default().to_owned();
        StoredTokenSet {
            access_token: self.access.expose_str().to_owned(),
            token_type: self.access.token_type().to_owned(),
            expires_at: self.access.expires_at().map(unix_seconds),
            scope: self.access.scopes().map(ToString::to_string),
            refresh_token: self.refresh.as_ref().map(text),
            id_token: self.id_token.as_ref().map(text),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for TokenSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored = StoredTokenSet::deserialize(deserializer)?;
        let scopes = stored
            .scope
            .as_deref()
            .map(Scopes::parse)
            .transpose()
            .map_err(de::Error::custom)?;
        Ok(TokenSet {
            access: AccessToken::from_parts(
                Secret::from(stored.access_token),
                &stored.token_type,
                stored
                    .expires_at
                    .map(|secs| UNIX_EPOCH + Duration::from_secs(secs)),
                scopes,
            ),
            refresh: stored.refresh_token.map(Secret::from),
            id_token: stored.id_token.map(Secret::from),
        })
    }
}

/// The claims of a compact JWT, unverified.
pub(crate) fn decode_jwt_claims(jwt: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        serde_json::Value::Object(map) => Some(map),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oauth2::TokenResponse as _;

    fn parse(json: &str) -> Result<LenientTokenResponse, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn standard_responses_parse() {
        let r = parse(
            r#"{"access_token":"at","token_type":"Bearer","expires_in":3600,"refresh_token":"rt","scope":"a b"}"#,
        )
        .unwrap();
        assert_eq!(r.access_token().secret(), "at");
        assert_eq!(r.token_type(), &BasicTokenType::Bearer);
        assert_eq!(r.expires_in(), Some(Duration::from_secs(3600)));
        assert_eq!(r.refresh_token().unwrap().secret(), "rt");
        assert_eq!(r.scopes().unwrap().len(), 2);
    }

    #[test]
    fn provider_quirks_are_tolerated() {
        // expires_in as a string, token_type in lower case (RFC 6749 §5.1: case-insensitive).
        let r =
            parse(r#"{"access_token":"at","token_type":"bearer","expires_in":"3600"}"#).unwrap();
        assert_eq!(r.token_type(), &BasicTokenType::Bearer);
        assert_eq!(r.expires_in(), Some(Duration::from_secs(3600)));
        let r = parse(r#"{"access_token":"at","token_type":"BEARER","expires_in":59.9}"#).unwrap();
        assert_eq!(r.token_type(), &BasicTokenType::Bearer);
        assert_eq!(r.expires_in(), Some(Duration::from_secs(59)));
        let r = parse(
            r#"{"access_token":"at","token_type":"Bearer","expires_in":null,"scope":["a","b"]}"#,
        )
        .unwrap();
        assert_eq!(r.expires_in(), None);
        assert_eq!(r.scopes().unwrap().len(), 2);
        let r = parse(r#"{"access_token":"at","token_type":"DPoP"}"#).unwrap();
        assert_eq!(r.token_type_str(), "DPoP");
    }

    #[test]
    fn broken_values_are_refused() {
        for bad in [
            r#"{"token_type":"Bearer"}"#,
            r#"{"access_token":"at"}"#,
            r#"{"access_token":"at","token_type":"Bearer","expires_in":-1}"#,
            r#"{"access_token":"at","token_type":"Bearer","expires_in":"soon"}"#,
            r#"{"access_token":"at","token_type":"Bearer","expires_in":true}"#,
            r#"{"access_token":"at","token_type":"Bearer","scope":7}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_tokens() {
        let r = parse(
            r#"{"access_token":"s3cr3t-at","token_type":"Bearer","refresh_token":"s3cr3t-rt"}"#,
        )
        .unwrap();
        assert!(!format!("{r:?}").contains("s3cr3t"));
        let set = TokenSet::new(
            AccessToken::new("s3cr3t-at", None),
            Some(Secret::from("s3cr3t-rt")),
            Some(Secret::from("s3cr3t-id")),
        );
        assert!(!format!("{set:?}").contains("s3cr3t"));
        assert!(!format!("{:?}", set.access_token().header_value()).contains("s3cr3t"));
    }

    #[test]
    fn token_sets_round_trip_through_serde() {
        let at = UNIX_EPOCH + Duration::from_secs(2_000_000_000);
        let set = TokenSet::new(
            AccessToken::from_parts(
                Secret::from("at"),
                "Bearer",
                Some(at),
                Some("a b".parse().unwrap()),
            ),
            Some(Secret::from("rt")),
            None,
        );
        let json = serde_json::to_string(&set).unwrap();
        let back: TokenSet = serde_json::from_str(&json).unwrap();
        assert_eq!(back.access_token().expose_str(), "at");
        assert_eq!(back.access_token().expires_at(), Some(at));
        assert_eq!(back.access_token().scopes().unwrap().to_string(), "a b");
        assert_eq!(back.refresh_token().unwrap().expose_str(), Some("rt"));
        assert!(back.id_token().is_none());
        assert!(back.expires_within(at - Duration::from_secs(30), Duration::from_secs(60)));
        assert!(!back.expires_within(at - Duration::from_secs(90), Duration::from_secs(60)));
    }
}
