//! [`JwtAuthenticator`]: bearer JWTs on requests (RFC 6750).

use std::cell::RefCell;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use auth_core::{
    AuthRequest, Authenticator, Challenge, Outcome, Principal, Rejection, Scheme, Scopes,
};
use serde_json::{Map, Value};

use crate::memo::Memo;
use crate::token::{ClaimValue, ClaimsView, SLOTTED, parse_claims, parse_object};
use crate::verifier::{
    Dates, RegisteredClaims, TokenHeader, Verifier, numeric_date, registered_claims,
};
use crate::{KeyError, VerifyError};

/// The verified claims of a token, as carried on the [`Principal`] by [`JwtAuthenticator`]
/// (auth-actix's `JwtClaims<C>` extractor deserializes them into the application's type) and
/// returned by [`Verifier::verify_claims`].
///
/// Cheap to make: it keeps the claims JSON as sent (checked: an object with unique member
/// names) and the header fields auth-jwt uses; the registered claims and the claims object
/// are parsed from it on first use, and [`deserialize`](VerifiedClaims::deserialize) reads
/// the JSON straight into the application's type.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use auth_jwt::{Algorithm, Issuer, Key, KeySet, Verifier};
///
/// #[derive(serde::Deserialize)]
/// struct Tenant {
///     tenant: u32,
/// }
///
/// let keys = KeySet::single(Key::generate("k1", Algorithm::ES256)?);
/// let issuer = Issuer::builder(keys.clone()).issuer("https://id.example").build()?;
/// let verifier = Verifier::builder(keys).issuer("https://id.example").build()?;
/// let token = issuer.issue("alice", &serde_json::json!({"tenant": 7}))?;
///
/// let claims = verifier.verify_claims(&token).await?;
/// assert_eq!(claims.registered().sub.as_deref(), Some("alice"));
/// assert_eq!(claims.deserialize::<Tenant>()?.tenant, 7);
/// assert_eq!(claims.claims()["tenant"], 7);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct VerifiedClaims {
    header: TokenHeader,
    source: Source,
    registered: OnceLock<RegisteredClaims>,
}

#[derive(Debug, Clone)]
enum Source {
    /// The claims JSON, and the object parsed from it once asked for.
    Json {
        json: String,
        object: OnceLock<Arc<Map<String, Value>>>,
    },
    /// An object from another verifier.
    Object(Arc<Map<String, Value>>),
}

impl VerifiedClaims {
    /// Verified claims from another verifier (for example an OAuth 2.0 resource server that
    /// checked an RFC 9068 access token), so `JwtClaims<C>` works for its principals too.
    #[must_use]
    pub fn new(
        header: TokenHeader,
        registered: RegisteredClaims,
        claims: Arc<Map<String, Value>>,
    ) -> Self {
        Self {
            header,
            source: Source::Object(claims),
            registered: OnceLock::from(registered),
        }
    }

    /// From the claims JSON of a token that passed every check.
    pub(crate) fn from_json(header: TokenHeader, json: String) -> Self {
        Self {
            header,
            source: Source::Json {
                json,
                object: OnceLock::new(),
            },
            registered: OnceLock::new(),
        }
    }

    /// The header fields auth-jwt uses.
    #[must_use]
    pub fn header(&self) -> &TokenHeader {
        &self.header
    }

    /// The registered claims (parsed from the claims JSON on first use).
    #[must_use]
    pub fn registered(&self) -> &RegisteredClaims {
        self.registered.get_or_init(|| match &self.source {
            Source::Json { json, .. } => registered_from_json(json),
            // Set by `new`.
            Source::Object(_) => RegisteredClaims::default(),
        })
    }

    /// Every claim, as sent (parsed from the claims JSON on first use).
    #[must_use]
    pub fn claims(&self) -> &Arc<Map<String, Value>> {
        match &self.source {
            Source::Json { json, object } => object.get_or_init(|| {
                // The JSON passed the same strict parse when the token was verified.
                Arc::new(parse_object(json.as_bytes(), "claims").unwrap_or_default())
            }),
            Source::Object(object) => object,
        }
    }

    /// The claims JSON as sent, when these claims come from a token verified by auth-jwt.
    #[must_use]
    pub fn json(&self) -> Option<&str> {
        match &self.source {
            Source::Json { json, .. } => Some(json),
            Source::Object(_) => None,
        }
    }

    /// The claims as `C`, deserialized straight from the claims JSON.
    ///
    /// # Errors
    ///
    /// The serde error when they do not fit `C`.
    pub fn deserialize<C: serde::de::DeserializeOwned>(&self) -> Result<C, serde_json::Error> {
        match &self.source {
            Source::Json { json, .. } => serde_json::from_str(json),
            Source::Object(object) => serde_json::from_value(Value::Object(Map::clone(object))),
        }
    }
}

/// The registered claims of checked claims JSON (re-read: the checks passed on it, so it
/// parses and its registered claims have their types).
fn registered_from_json(json: &str) -> RegisteredClaims {
    let Ok(claims) = parse_claims(json, &[]) else {
        return RegisteredClaims::default();
    };
    let date = |value, name| numeric_date(value, name).ok().flatten();
    let dates = Dates {
        exp: date(claims.exp.as_ref(), "exp").unwrap_or_default(),
        nbf: date(claims.nbf.as_ref(), "nbf"),
        iat: date(claims.iat.as_ref(), "iat"),
    };
    registered_claims(&claims, &dates)
}

/// Authenticates requests carrying a JWT as a bearer token.
///
/// - `Authorization: Bearer <token>` (RFC 6750 §2.1), and optionally a cookie;
/// - a token in the query string (`access_token=`, RFC 6750 §2.3) → 400 `invalid_request`:
///   URLs end up in logs, histories and `Referer` headers (RFC 9700 §2);
/// - an invalid token → 401 `invalid_token` with `WWW-Authenticate: Bearer error=...`; the
///   precise reason (`jwt_expired`, `jwt_bad_signature`, ...) goes to the audit log only;
/// - key source or revocation store down → 503 (fail closed).
///
/// The principal's subject comes from `sub` (or the configured subject claims), its scopes
/// from `scope` (space-delimited string) or `scp` (array or string), its key id from the
/// header `kid`, its authentication time from `iat`.
#[derive(Clone)]
pub struct JwtAuthenticator {
    verifier: Verifier,
    challenges: Vec<Challenge>,
    cookie: Option<String>,
    subject_claims: Vec<String>,
    /// The subject claims the claims parse must keep besides the ones it always keeps.
    extra_claims: Vec<String>,
}

/// Builds a [`JwtAuthenticator`].
#[must_use = "call .build()"]
pub struct JwtAuthenticatorBuilder {
    verifier: Verifier,
    realm: String,
    cookie: Option<String>,
    subject_claims: Vec<String>,
}

impl JwtAuthenticator {
    /// A builder over `verifier`: realm `"api"`, no cookie, subject from `sub`.
    pub fn builder(verifier: Verifier) -> JwtAuthenticatorBuilder {
        JwtAuthenticatorBuilder {
            verifier,
            realm: "api".to_owned(),
            cookie: None,
            subject_claims: vec!["sub".to_owned()],
        }
    }

    /// The verifier.
    #[must_use]
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    fn invalid_request(&self, description: &'static str, reason: &'static str) -> Rejection {
        Rejection::invalid_request(self.challenges.clone(), description, reason)
            .with_scheme(Scheme::JWT)
    }

    fn token<'a>(&self, request: &AuthRequest<'a>) -> Result<Option<&'a str>, Rejection> {
        if let Some(query) = request.query()
            && query
                .split('&')
                .any(|pair| is_access_token_param(pair.split('=').next().unwrap_or_default()))
        {
            return Err(self.invalid_request(
                "Send the token in the Authorization header, not in the URL",
                "token_in_query",
            ));
        }
        match request.single_header("authorization") {
            Err(_) => {
                return Err(self.invalid_request(
                    "Malformed Authorization header",
                    "malformed_authorization_header",
                ));
            }
            Ok(Some(value)) => {
                if let Some((scheme, rest)) = value.split_once(' ')
                    && scheme.eq_ignore_ascii_case("bearer")
                {
                    let token = rest.trim_matches(' ');
                    if token.is_empty() || token.contains(' ') {
                        return Err(
                            self.invalid_request("Malformed Bearer token", "malformed_bearer")
                        );
                    }
                    return Ok(Some(token));
                }
                if value.eq_ignore_ascii_case("bearer") {
                    return Err(self.invalid_request("Malformed Bearer token", "malformed_bearer"));
                }
            }
            Ok(None) => {}
        }
        let Some(name) = &self.cookie else {
            return Ok(None);
        };
        let mut found = None;
        for header in request.headers().get_all("cookie") {
            let Ok(text) = std::str::from_utf8(header) else {
                continue;
            };
            for pair in text.split(';') {
                if let Some((n, v)) = pair.trim().split_once('=')
                    && n == name
                {
                    if found.is_some() {
                        return Err(self.invalid_request(
                            "The token cookie appears more than once",
                            "duplicate_token_cookie",
                        ));
                    }
                    found = Some(v);
                }
            }
        }
        Ok(found)
    }

    /// What the principal takes from the checked claims: subject, scopes, `iat`.
    fn principal_parts(
        &self,
        claims: &ClaimsView<'_>,
        dates: &Dates,
    ) -> Result<(String, Scopes, Option<i64>), VerifyError> {
        let subject = self
            .subject_claims
            .iter()
            .find_map(|name| match claims.get(name, &self.extra_claims) {
                Some(ClaimValue::Str(s)) if !s.is_empty() => Some(String::from(&**s)),
                Some(ClaimValue::Num(n)) => Some(n.to_string()),
                _ => None,
            })
            .ok_or(VerifyError::MissingClaim("sub"))?;
        let scopes = match claims.scope.as_ref().or(claims.scp.as_ref()) {
            None => Scopes::new(),
            Some(ClaimValue::Str(s)) => {
                parse_scope(s).map_err(|_| VerifyError::InvalidClaim("scope"))?
            }
            Some(ClaimValue::Strs(items)) => Scopes::try_from_tokens(items.iter().map(|s| &**s))
                .map_err(|_| VerifyError::InvalidClaim("scp"))?,
            Some(ClaimValue::Array) => return Err(VerifyError::InvalidClaim("scp")),
            Some(_) => return Err(VerifyError::InvalidClaim("scope")),
        };
        Ok((subject, scopes, dates.iat))
    }

    async fn verify(&self, token: &str) -> Result<Principal, VerifyError> {
        let (header, json, (subject, scopes, iat)) = self
            .verifier
            .verify_with(token, &self.extra_claims, |claims, dates| {
                self.principal_parts(claims, dates)
            })
            .await?;
        let mut principal = Principal::new(subject, Scheme::JWT).with_scopes(scopes);
        if let Some(iat) = iat.and_then(|iat| u64::try_from(iat).ok()) {
            principal = principal.with_authenticated_at(UNIX_EPOCH + Duration::from_secs(iat));
        }
        if let Some(kid) = &header.kid {
            principal = principal.with_key_id(kid.as_str());
        }
        Ok(principal.with_extension(VerifiedClaims::from_json(header, json)))
    }
}

/// The longest `scope` claim remembered by [`parse_scope`].
const SCOPE_MEMO_MAX: usize = 256;
/// How many `scope` claims each thread remembers.
const SCOPE_MEMO_LEN: usize = 8;

thread_local! {
    /// The last `scope` claims a thread parsed, and their sets. A client's tokens carry the
    /// same `scope` string, and parsing is a pure function of it, so the set (a shared
    /// handle: a clone is a reference count) is built once per string and thread rather
    /// than once per request (a `String` per token, a tree node and the handle).
    static SCOPES: RefCell<Memo<Scopes, SCOPE_MEMO_LEN>> = const { RefCell::new(Memo::new()) };
}

/// [`Scopes::parse`], remembered per thread for the last [`SCOPE_MEMO_LEN`] strings of at
/// most [`SCOPE_MEMO_MAX`] bytes. Refusals are not remembered.
fn parse_scope(text: &str) -> Result<Scopes, auth_core::ScopeError> {
    Memo::get_or_try(&SCOPES, text, SCOPE_MEMO_MAX, Scopes::parse)
}

/// Whether a query parameter name is `access_token` (RFC 6750 §2.3), percent-encoded or not,
/// in any case: a client that hides the name still leaks the token into URLs.
fn is_access_token_param(name: &str) -> bool {
    let mut decoded = Vec::with_capacity(name.len());
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                decoded.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    decoded.eq_ignore_ascii_case(b"access_token")
}

#[async_trait]
impl Authenticator for JwtAuthenticator {
    fn scheme(&self) -> Scheme {
        Scheme::JWT
    }

    fn challenges(&self) -> &[Challenge] {
        &self.challenges
    }

    async fn authenticate(&self, request: &AuthRequest<'_>) -> Outcome {
        let token = match self.token(request) {
            Ok(Some(token)) => token,
            Ok(None) => return Outcome::NoCredential,
            Err(rejection) => return Outcome::Rejected(rejection),
        };
        match self.verify(token).await {
            Ok(principal) => Outcome::Authenticated(principal),
            Err(error @ VerifyError::Unavailable(_)) => {
                Outcome::Rejected(Rejection::unavailable(error.reason()).with_scheme(Scheme::JWT))
            }
            Err(error) => Outcome::Rejected(
                Rejection::invalid_token(self.challenges.clone(), error.reason())
                    .with_scheme(Scheme::JWT),
            ),
        }
    }
}

impl JwtAuthenticatorBuilder {
    /// The realm of the `Bearer` challenge (default `"api"`).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// Also accepts the token from cookie `name` (for browser clients; pair it with CSRF
    /// protection).
    pub fn cookie(mut self, name: impl Into<String>) -> Self {
        self.cookie = Some(name.into());
        self
    }

    /// The claims to take the subject from, first present wins (default `["sub"]`). A
    /// string or a number is accepted.
    pub fn subject_claims<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.subject_claims = names.into_iter().map(Into::into).collect();
        self
    }

    /// Checks the configuration.
    ///
    /// # Errors
    ///
    /// [`KeyError::Config`] for an empty realm, cookie name or subject claim list.
    pub fn build(self) -> Result<JwtAuthenticator, KeyError> {
        if self.realm.trim().is_empty()
            || self.cookie.as_deref() == Some("")
            || self.subject_claims.is_empty()
        {
            return Err(KeyError::Config(
                "realm, cookie name and subject claims must not be empty".into(),
            ));
        }
        let mut extra_claims = Vec::new();
        for name in &self.subject_claims {
            if !SLOTTED.contains(&name.as_str()) && !extra_claims.contains(name) {
                extra_claims.push(name.clone());
            }
        }
        Ok(JwtAuthenticator {
            verifier: self.verifier,
            challenges: vec![Challenge::bearer(self.realm)],
            cookie: self.cookie,
            subject_claims: self.subject_claims,
            extra_claims,
        })
    }
}

impl fmt::Debug for JwtAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthenticator")
            .field("verifier", &self.verifier)
            .field("cookie", &self.cookie)
            .field("subject_claims", &self.subject_claims)
            .finish()
    }
}

impl fmt::Debug for JwtAuthenticatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthenticatorBuilder")
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_scopes_are_what_parsing_gives() {
        // More distinct claims than a thread keeps, in turn: each answer is its own.
        let texts: Vec<String> = (0..SCOPE_MEMO_LEN * 2 + 1)
            .map(|i| format!("orders:read s{i}"))
            .collect();
        for _ in 0..3 {
            for text in &texts {
                assert_eq!(parse_scope(text).unwrap(), Scopes::parse(text).unwrap());
            }
        }
        // A refusal is a refusal every time (never remembered as a set).
        for _ in 0..2 {
            assert!(parse_scope("orders:read bad\"scope").is_err());
        }
        // Longer than what is kept: parsed, same answer.
        let long: String = (0..100).map(|i| format!("s{i} ")).collect();
        assert!(long.len() > SCOPE_MEMO_MAX);
        assert_eq!(parse_scope(&long).unwrap(), Scopes::parse(&long).unwrap());
        assert_eq!(parse_scope("").unwrap(), Scopes::new());
    }
}
