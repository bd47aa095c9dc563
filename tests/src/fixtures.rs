//! Test authenticators: small, real implementations of [`Authenticator`] that exercise every
//! answer the adapters must handle.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use auth_core::{
    AuthRequest, Authenticator, Challenge, Outcome, Principal, Rejection, Scheme, Scopes, Secret,
    async_trait,
};

/// A token store that can be switched off, to test fail-closed behaviour and recovery.
#[derive(Debug, Default)]
pub struct TokenStore {
    tokens: HashMap<String, (String, Scopes)>,
    down: AtomicBool,
}

impl TokenStore {
    /// Adds `token` for `subject` with `scopes` (space-delimited).
    ///
    /// # Panics
    ///
    /// When `scopes` is not a valid scope string.
    #[must_use]
    pub fn with(mut self, token: &str, subject: &str, scopes: &str) -> Self {
        self.tokens.insert(
            token.to_owned(),
            (subject.to_owned(), scopes.parse().expect("valid scopes")),
        );
        self
    }

    /// Makes the store unreachable (`true`) or reachable again (`false`).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}

/// Accepts `Authorization: Test <token>`; tokens are visible ASCII letters, digits and `-`.
///
/// - no `Authorization: Test` header → no credential;
/// - a repeated header or a token with other characters → 400 `invalid_request`;
/// - the store is down → 503 (fail closed);
/// - an unknown token → 401;
/// - a known token → its subject and scopes.
#[derive(Debug, Clone)]
pub struct TestTokenAuth {
    store: Arc<TokenStore>,
    challenges: Vec<Challenge>,
}

impl TestTokenAuth {
    /// An authenticator over `store`, with challenge `Test realm="tests"`.
    #[must_use]
    pub fn new(store: Arc<TokenStore>) -> Self {
        Self {
            store,
            challenges: vec![
                Challenge::new("Test")
                    .param("realm", "tests")
                    .with_error_params(),
            ],
        }
    }
}

#[async_trait]
impl Authenticator for TestTokenAuth {
    fn scheme(&self) -> Scheme {
        Scheme::custom("test_token")
    }

    fn challenges(&self) -> &[Challenge] {
        &self.challenges
    }

    async fn authenticate(&self, request: &AuthRequest<'_>) -> Outcome {
        let malformed = |reason: &'static str| {
            Outcome::Rejected(Rejection::invalid_request(
                self.challenges.clone(),
                "Malformed Authorization header",
                reason,
            ))
        };
        let value = match request.single_header("authorization") {
            Ok(Some(value)) => value,
            Ok(None) => return Outcome::NoCredential,
            Err(_) => return malformed("malformed_header"),
        };
        let Some((scheme, token)) = value.split_once(' ') else {
            return Outcome::NoCredential;
        };
        if !scheme.eq_ignore_ascii_case("test") {
            return Outcome::NoCredential;
        }
        if token.is_empty()
            || !token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return malformed("malformed_token");
        }
        if self.store.down.load(Ordering::SeqCst) {
            return Outcome::Rejected(Rejection::unavailable("store_unavailable"));
        }
        match self.store.tokens.get(token) {
            Some((subject, scopes)) => Outcome::Authenticated(
                Principal::new(subject.clone(), self.scheme())
                    .with_scopes(scopes.clone())
                    .with_key_id(format!("tok-{}", token.len())),
            ),
            None => Outcome::Rejected(Rejection::invalid_credentials(
                self.challenges.clone(),
                "unknown_token",
            )),
        }
    }
}

/// Accepts `X-Key: <key>` against one key (constant-time), like an API key scheme.
#[derive(Debug)]
pub struct HeaderKeyAuth {
    key: Secret,
    subject: String,
    challenges: Vec<Challenge>,
}

impl HeaderKeyAuth {
    /// Accepts `key`, authenticating `subject`.
    #[must_use]
    pub fn new(key: &str, subject: &str) -> Self {
        Self {
            key: Secret::from(key),
            subject: subject.to_owned(),
            challenges: vec![Challenge::new("Key").param("realm", "tests")],
        }
    }
}

#[async_trait]
impl Authenticator for HeaderKeyAuth {
    fn scheme(&self) -> Scheme {
        Scheme::custom("header_key")
    }

    fn challenges(&self) -> &[Challenge] {
        &self.challenges
    }

    async fn authenticate(&self, request: &AuthRequest<'_>) -> Outcome {
        match request.single_header("x-key") {
            Ok(None) => Outcome::NoCredential,
            Ok(Some(sent)) if self.key.ct_eq_bytes(sent.as_bytes()) => {
                Outcome::Authenticated(Principal::new(self.subject.clone(), self.scheme()))
            }
            Ok(Some(_)) => Outcome::Rejected(Rejection::invalid_credentials(
                self.challenges.clone(),
                "wrong_key",
            )),
            Err(_) => Outcome::Rejected(Rejection::invalid_request(
                self.challenges.clone(),
                "Malformed X-Key header",
                "malformed_header",
            )),
        }
    }
}

/// The body length an authenticator saw, carried on the principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenBodyLen(pub usize);

/// Reads the body: authenticates when `X-Body-Mac` equals a keyed checksum of the body (a
/// stand-in for an HMAC body signature), so it only passes if it saw the exact body.
#[derive(Debug)]
pub struct BodyMacAuth {
    challenges: Vec<Challenge>,
}

impl Default for BodyMacAuth {
    fn default() -> Self {
        Self {
            challenges: vec![Challenge::new("BodyMac").param("realm", "tests")],
        }
    }
}

/// The checksum [`BodyMacAuth`] expects: FNV-1a of `key || body`, in hex.
#[must_use]
pub fn body_mac(body: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in b"test-key".iter().chain(body) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

#[async_trait]
impl Authenticator for BodyMacAuth {
    fn scheme(&self) -> Scheme {
        Scheme::custom("body_mac")
    }

    fn challenges(&self) -> &[Challenge] {
        &self.challenges
    }

    fn needs_body(&self) -> bool {
        true
    }

    async fn authenticate(&self, request: &AuthRequest<'_>) -> Outcome {
        let Ok(Some(sent)) = request.single_header("x-body-mac") else {
            return Outcome::NoCredential;
        };
        let body = request.body().unwrap_or_default();
        if sent == body_mac(body) {
            Outcome::Authenticated(
                Principal::new("signer", self.scheme()).with_extension(SeenBodyLen(body.len())),
            )
        } else {
            Outcome::Rejected(Rejection::invalid_credentials(
                self.challenges.clone(),
                "bad_body_mac",
            ))
        }
    }
}
