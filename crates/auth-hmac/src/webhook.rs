//! Body signatures (webhook mode): HMAC-SHA256 over the raw body, in one header.
//!
//! Two forms:
//!
//! - **timestamped** (the default, as Stripe signs its webhooks):
//!   `X-Signature: t=1700000000,v1=<hex HMAC of "1700000000." + body>`; the timestamp must
//!   be within a tolerance (300 s by default), several `v1` may be sent during a secret
//!   rotation, and each signature is accepted once;
//! - **untimestamped** (the article's form, as GitHub's `X-Hub-Signature-256`):
//!   `X-Signature: <hex HMAC of body>`, optionally prefixed (`sha256=`). It proves the body
//!   came from a holder of the secret, but a captured request can be replayed forever:
//!   accepted only after [`WebhookVerifierBuilder::insecure_allow_untimestamped_replayable_signatures`].

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use auth_core::{
    AuthRequest, Authenticator, Challenge, Outcome, Principal, Rejection, Scheme, Secret,
    SharedClock, SystemClock,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::key::{check_secret, hmac_sha256};
use crate::{ConfigError, Error, HmacKey, Malformed, MemoryNonceStore, NonceStore, Refusal};

/// The default webhook signature header: `X-Signature` (the article's).
pub const DEFAULT_WEBHOOK_HEADER: &str = "X-Signature";

/// The default tolerance on a timestamped signature's `t`: 300 seconds either way.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// The most `v1` signatures one header may carry.
const MAX_V1: usize = 8;

/// How a webhook MAC is written in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WebhookEncoding {
    /// Lower-case hex, 64 characters (upper case is accepted too). The default, and what
    /// `digest('hex')` gives in Node.js.
    #[default]
    Hex,
    /// Standard base64 with padding, 44 characters.
    Base64,
}

impl WebhookEncoding {
    /// Writes `mac` in this encoding.
    #[must_use]
    pub fn encode(self, mac: &[u8]) -> String {
        match self {
            Self::Hex => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let mut out = String::with_capacity(mac.len() * 2);
                for &b in mac {
                    out.push(char::from(HEX[usize::from(b >> 4)]));
                    out.push(char::from(HEX[usize::from(b & 0x0f)]));
                }
                out
            }
            Self::Base64 => STANDARD.encode(mac),
        }
    }

    fn decode(self, text: &str) -> Option<Vec<u8>> {
        match self {
            Self::Hex => {
                if !text.len().is_multiple_of(2) {
                    return None;
                }
                text.as_bytes()
                    .chunks(2)
                    .map(|pair| {
                        let hi = char::from(pair[0]).to_digit(16)?;
                        let lo = char::from(pair[1]).to_digit(16)?;
                        u8::try_from(hi << 4 | lo).ok()
                    })
                    .collect()
            }
            Self::Base64 => STANDARD.decode(text).ok(),
        }
    }
}

/// Signs webhook bodies: for senders, and for tests.
///
/// # Examples
///
/// ```
/// use auth_hmac::WebhookSigner;
///
/// let signer = WebhookSigner::new("whsec_a secret of at least thirty-two bytes")?;
/// let header = signer.timestamped(1_700_000_000, br#"{"event":"paid"}"#);
/// assert!(header.starts_with("t=1700000000,v1="));
/// # Ok::<(), auth_hmac::ConfigError>(())
/// ```
pub struct WebhookSigner {
    secret: Secret,
    encoding: WebhookEncoding,
    prefix: String,
}

impl WebhookSigner {
    /// A signer with `secret` (at least [`MIN_SECRET_LEN`](crate::MIN_SECRET_LEN) bytes),
    /// hex encoding and no prefix.
    ///
    /// # Errors
    ///
    /// [`ConfigError::WeakSecret`] when the secret is too short.
    pub fn new(secret: impl Into<Secret>) -> Result<Self, ConfigError> {
        let secret = secret.into();
        check_secret(&secret)?;
        Ok(Self {
            secret,
            encoding: WebhookEncoding::Hex,
            prefix: String::new(),
        })
    }

    /// Sets the encoding of the MAC.
    #[must_use]
    pub fn encoding(mut self, encoding: WebhookEncoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// Sets the prefix of untimestamped signatures (`sha256=`).
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The timestamped header value for `body` at Unix time `timestamp`:
    /// `t=<timestamp>,v1=<MAC of "<timestamp>." + body>`.
    #[must_use]
    pub fn timestamped(&self, timestamp: u64, body: &[u8]) -> String {
        let t = timestamp.to_string();
        let mac = hmac_sha256(self.secret.expose_secret(), &[t.as_bytes(), b".", body]);
        format!("t={t},v1={}", self.encoding.encode(&mac))
    }

    /// The untimestamped header value for `body`: `<prefix><MAC of body>`, the article's
    /// form. Replayable: see the [module documentation](self).
    #[must_use]
    pub fn untimestamped(&self, body: &[u8]) -> String {
        let mac = hmac_sha256(self.secret.expose_secret(), &[body]);
        format!("{}{}", self.prefix, self.encoding.encode(&mac))
    }
}

impl fmt::Debug for WebhookSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSigner")
            .field("secret", &self.secret)
            .field("encoding", &self.encoding)
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// A verified webhook signature.
#[derive(Debug, Clone)]
pub struct WebhookVerified {
    /// The key whose secret verified it.
    pub key: Arc<HmacKey>,
    /// The signature's timestamp; `None` for the untimestamped form.
    pub timestamp: Option<u64>,
}

/// What the handler can learn about a verified webhook signature: the
/// [`Principal`] extension set by [`WebhookAuthenticator`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookInfo {
    /// The id of the key whose secret verified the body.
    pub key_id: String,
    /// The signature's timestamp; `None` for the (replayable) untimestamped form.
    pub timestamp: Option<u64>,
}

/// Verifies webhook body signatures. Built with [`WebhookVerifier::builder`].
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use auth_core::{Clock, ManualClock};
/// use auth_hmac::{HmacKey, WebhookSigner, WebhookVerifier};
///
/// let clock = ManualClock::starting_now();
/// let secret = "whsec_a secret of at least thirty-two bytes";
/// let verifier = WebhookVerifier::builder()
///     .key(HmacKey::new("payments-2025", "payments", secret)?)
///     .clock(clock.shared())
///     .build()?;
///
/// let body = br#"{"event":"paid"}"#;
/// let header = WebhookSigner::new(secret)?.timestamped(clock.unix_now(), body);
/// let verified = verifier.verify(&header, body).await?;
/// assert_eq!(verified.key.subject(), "payments");
/// // The same delivery again is a replay.
/// assert!(verifier.verify(&header, body).await.is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct WebhookVerifier {
    keys: Vec<Arc<HmacKey>>,
    header: String,
    encoding: WebhookEncoding,
    prefix: Option<String>,
    tolerance: Duration,
    allow_untimestamped: bool,
    replays: Arc<dyn NonceStore>,
    clock: SharedClock,
}

/// Builds a [`WebhookVerifier`]. From [`WebhookVerifier::builder`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct WebhookVerifierBuilder {
    keys: Vec<Arc<HmacKey>>,
    header: String,
    encoding: WebhookEncoding,
    prefix: Option<String>,
    tolerance: Duration,
    allow_untimestamped: bool,
    replays: Option<Arc<dyn NonceStore>>,
    clock: Option<SharedClock>,
}

impl WebhookVerifier {
    /// A builder: header [`DEFAULT_WEBHOOK_HEADER`], hex, timestamped form only,
    /// tolerance [`DEFAULT_TOLERANCE`], replays refused through an in-memory store.
    pub fn builder() -> WebhookVerifierBuilder {
        WebhookVerifierBuilder {
            keys: Vec::new(),
            header: DEFAULT_WEBHOOK_HEADER.to_owned(),
            encoding: WebhookEncoding::Hex,
            prefix: None,
            tolerance: DEFAULT_TOLERANCE,
            allow_untimestamped: false,
            replays: None,
            clock: None,
        }
    }

    /// The header the signature is read from.
    #[must_use]
    pub fn header(&self) -> &str {
        &self.header
    }

    /// Verifies the signature header value `signature` over `body`.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] ([`Malformed::WebhookSignature`]) when the value cannot be read;
    /// [`Error::Refused`] with [`Refusal::BadSignature`], [`Refusal::TimestampOutOfTolerance`],
    /// [`Refusal::UntimestampedSignature`] or [`Refusal::NonceReplayed`];
    /// [`Error::NonceStore`] when the replay store fails.
    pub async fn verify(&self, signature: &str, body: &[u8]) -> Result<WebhookVerified, Error> {
        let signature = signature.trim_matches([' ', '\t']);
        match parse_timestamped(signature)? {
            Some((t, v1s)) => self.verify_timestamped(t, &v1s, body).await,
            None => self.verify_untimestamped(signature, body),
        }
    }

    async fn verify_timestamped(
        &self,
        t: &str,
        v1s: &[&str],
        body: &[u8],
    ) -> Result<WebhookVerified, Error> {
        let timestamp: u64 = t.parse().map_err(|_| Malformed::WebhookSignature)?;
        let macs: Vec<Vec<u8>> = v1s
            .iter()
            .map(|v| self.encoding.decode(v).ok_or(Malformed::WebhookSignature))
            .collect::<Result<_, _>>()?;
        let now = self.clock.unix_now();
        if now.abs_diff(timestamp) > self.tolerance.as_secs() {
            return Err(Error::refused(Refusal::TimestampOutOfTolerance, None));
        }
        let (key, mac) = self
            .find_key(&[t.as_bytes(), b".", body], &macs)
            .ok_or_else(|| Error::refused(Refusal::BadSignature, None))?;
        let until = UNIX_EPOCH
            + Duration::from_secs(
                timestamp
                    .saturating_add(self.tolerance.as_secs())
                    .saturating_add(1),
            );
        let scoped = format!(
            "webhook:{}:{}:{}:{}",
            key.id().len(),
            key.id(),
            timestamp,
            WebhookEncoding::Hex.encode(mac)
        );
        let first_use =
            auth_core::now_or_await(self.replays.insert_if_absent_now(&scoped, until), || {
                self.replays.insert_if_absent(&scoped, until)
            })
            .await;
        if !first_use? {
            return Err(Error::refused(Refusal::NonceReplayed, Some(key.id())));
        }
        Ok(WebhookVerified {
            key,
            timestamp: Some(timestamp),
        })
    }

    fn verify_untimestamped(&self, signature: &str, body: &[u8]) -> Result<WebhookVerified, Error> {
        if !self.allow_untimestamped {
            return Err(Error::refused(Refusal::UntimestampedSignature, None));
        }
        let encoded = match &self.prefix {
            Some(prefix) => signature
                .strip_prefix(prefix.as_str())
                .ok_or(Malformed::WebhookSignature)?,
            None => signature,
        };
        let mac = self
            .encoding
            .decode(encoded)
            .ok_or(Malformed::WebhookSignature)?;
        let (key, _) = self
            .find_key(&[body], std::slice::from_ref(&mac))
            .ok_or_else(|| Error::refused(Refusal::BadSignature, None))?;
        Ok(WebhookVerified {
            key,
            timestamp: None,
        })
    }

    /// The first key whose MAC of `parts` is one of `macs` (constant-time comparisons).
    fn find_key<'m>(
        &self,
        parts: &[&[u8]],
        macs: &'m [Vec<u8>],
    ) -> Option<(Arc<HmacKey>, &'m [u8])> {
        for key in &self.keys {
            for mac in macs {
                if key.verify(parts, mac) {
                    return Some((Arc::clone(key), mac));
                }
            }
        }
        None
    }
}

/// `Some((t, v1s))` for the timestamped form `t=<digits>,v1=<mac>[,v1=<mac>...]` (other
/// keys, such as a `v0`, are ignored); `None` when the value has no `t=` member.
fn parse_timestamped(value: &str) -> Result<Option<(&str, Vec<&str>)>, Malformed> {
    let members: Vec<(&str, &str)> = value
        .split(',')
        .filter_map(|m| m.split_once('='))
        .map(|(k, v)| (k.trim_matches([' ', '\t']), v.trim_matches([' ', '\t'])))
        .collect();
    let mut ts = members.iter().filter(|(k, _)| *k == "t").map(|(_, v)| *v);
    let Some(t) = ts.next() else {
        return Ok(None);
    };
    if ts.next().is_some() || t.is_empty() || t.len() > 15 || !t.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(Malformed::WebhookSignature);
    }
    let v1s: Vec<&str> = members
        .iter()
        .filter(|(k, _)| *k == "v1")
        .map(|(_, v)| *v)
        .collect();
    if v1s.is_empty() || v1s.len() > MAX_V1 {
        return Err(Malformed::WebhookSignature);
    }
    Ok(Some((t, v1s)))
}

impl WebhookVerifierBuilder {
    /// Adds a key whose secret may sign (several during a rotation: the sender signs with
    /// both, or switches; any one verifies).
    pub fn key(mut self, key: HmacKey) -> Self {
        self.keys.push(Arc::new(key));
        self
    }

    /// The header the signature is read from (default [`DEFAULT_WEBHOOK_HEADER`]).
    pub fn header(mut self, name: impl Into<String>) -> Self {
        self.header = name.into();
        self
    }

    /// The encoding of the MAC (default hex).
    pub fn encoding(mut self, encoding: WebhookEncoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// A prefix the untimestamped form must carry, such as `sha256=` (GitHub's form).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// How far the timestamp may be from the verifier's clock, either way (default
    /// [`DEFAULT_TOLERANCE`]).
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// The store that remembers accepted timestamped signatures within the tolerance, so
    /// each is accepted once (default: in memory; several instances need a shared store).
    pub fn replay_store(mut self, store: Arc<dyn NonceStore>) -> Self {
        self.replays = Some(store);
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Also accepts the untimestamped form, `<prefix><MAC of body>`: the article's
    /// `X-Signature: <hex>`, GitHub's `X-Hub-Signature-256: sha256=<hex>`.
    ///
    /// # Security
    ///
    /// An untimestamped signature never expires and carries nothing unique: anybody who
    /// captures one request (a log, a proxy, a compromised intermediary) can send it again,
    /// as often as they like, and it verifies every time. Accept it only from senders that
    /// cannot sign timestamps, make the handler idempotent (deduplicate on an event id in
    /// the body), and move the sender to the timestamped form.
    pub fn insecure_allow_untimestamped_replayable_signatures(mut self) -> Self {
        self.allow_untimestamped = true;
        self
    }

    /// Builds the verifier.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when no key was added, the header name is not a valid field name, or
    /// the tolerance is zero or over one day.
    pub fn build(self) -> Result<WebhookVerifier, ConfigError> {
        if self.keys.is_empty() {
            return Err(ConfigError::InvalidSetting(
                "a webhook verifier needs a key",
            ));
        }
        if self.header.is_empty() || !self.header.bytes().all(auth_core::is_tchar) {
            return Err(ConfigError::Invalid {
                field: "header",
                problem: "must be an HTTP field name",
            });
        }
        if self.tolerance.is_zero() || self.tolerance > crate::MAX_MAX_AGE {
            return Err(ConfigError::InvalidSetting(
                "tolerance must be between 1 second and one day",
            ));
        }
        let clock = self.clock.unwrap_or_else(SystemClock::shared);
        let replays = self
            .replays
            .unwrap_or_else(|| Arc::new(MemoryNonceStore::new(Arc::clone(&clock))));
        Ok(WebhookVerifier {
            keys: self.keys,
            header: self.header,
            encoding: self.encoding,
            prefix: self.prefix,
            tolerance: self.tolerance,
            allow_untimestamped: self.allow_untimestamped,
            replays,
            clock,
        })
    }
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field(
                "keys",
                &self.keys.iter().map(|k| k.id()).collect::<Vec<_>>(),
            )
            .field("header", &self.header)
            .field("encoding", &self.encoding)
            .field("prefix", &self.prefix)
            .field("tolerance", &self.tolerance)
            .field("allow_untimestamped", &self.allow_untimestamped)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for WebhookVerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifierBuilder")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

/// Authenticates webhook deliveries by their body signature, through a
/// [`WebhookVerifier`].
///
/// | the request carries | answer | audit reason |
/// |---|---|---|
/// | no signature header | no credential (401) | `no_credential` |
/// | a valid signature | a [`Principal`]: the key's client, scopes, key id, [`WebhookInfo`] | `ok` |
/// | a repeated or unreadable header | 400 `invalid_request` | `malformed_header`, `malformed_webhook_signature` |
/// | a wrong MAC, a stale timestamp, a replay, the untimestamped form without the opt-in | 401 `invalid_credentials` | `bad_signature`, `timestamp_out_of_tolerance`, `nonce_replayed`, `untimestamped_signature` |
/// | the replay store is down or full | 503 | `nonce_store_unavailable` |
///
/// The challenge is `HMAC realm="...", header="<header>"`.
#[derive(Debug)]
pub struct WebhookAuthenticator {
    verifier: WebhookVerifier,
    challenges: Vec<Challenge>,
}

impl WebhookAuthenticator {
    /// An authenticator over `verifier`, with realm `webhooks`.
    #[must_use]
    pub fn new(verifier: WebhookVerifier) -> Self {
        let challenges = vec![webhook_challenge("webhooks", verifier.header())];
        Self {
            verifier,
            challenges,
        }
    }

    /// Sets the realm of the challenge.
    #[must_use]
    pub fn with_realm(mut self, realm: impl Into<String>) -> Self {
        self.challenges = vec![webhook_challenge(realm, self.verifier.header())];
        self
    }

    /// The verifier.
    #[must_use]
    pub fn verifier(&self) -> &WebhookVerifier {
        &self.verifier
    }
}

fn webhook_challenge(realm: impl Into<String>, header: &str) -> Challenge {
    Challenge::new("HMAC")
        .param("realm", realm)
        .param("header", header.to_owned())
}

#[async_trait]
impl Authenticator for WebhookAuthenticator {
    fn scheme(&self) -> Scheme {
        Scheme::HMAC
    }

    fn challenges(&self) -> &[Challenge] {
        &self.challenges
    }

    fn needs_body(&self) -> bool {
        true
    }

    async fn authenticate(&self, request: &AuthRequest<'_>) -> Outcome {
        let signature = match request.single_header(self.verifier.header()) {
            Ok(Some(signature)) => signature,
            Ok(None) => return Outcome::NoCredential,
            Err(_) => {
                return Outcome::Rejected(
                    Error::Malformed(Malformed::Header).to_rejection(&self.challenges),
                );
            }
        };
        if request.body().is_none() && crate::authenticator::has_declared_body(request) {
            return Outcome::Rejected(Rejection::unavailable("body_not_buffered"));
        }
        let body = request.body().unwrap_or_default();
        match self.verifier.verify(signature, body).await {
            Ok(verified) => Outcome::Authenticated(
                Principal::new(verified.key.subject(), Scheme::HMAC)
                    .with_scopes(verified.key.scopes().clone())
                    .with_key_id(verified.key.id())
                    .with_extension(WebhookInfo {
                        key_id: verified.key.id().to_owned(),
                        timestamp: verified.timestamp,
                    }),
            ),
            Err(error) => Outcome::Rejected(error.to_rejection(&self.challenges)),
        }
    }
}

#[cfg(test)]
mod tests {
    use auth_core::{Clock, HeaderList, ManualClock};

    use super::*;

    const SECRET: &str = "whsec_0123456789abcdef0123456789abcdef";

    fn verifier(clock: &ManualClock) -> WebhookVerifierBuilder {
        WebhookVerifier::builder()
            .key(HmacKey::new("w1", "sender", SECRET).unwrap())
            .clock(clock.shared())
    }

    fn refusal(result: Result<WebhookVerified, Error>) -> Refusal {
        match result {
            Err(Error::Refused { refusal, .. }) => refusal,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn encodings_round_trip() {
        let mac = [0xde, 0xad, 0xbe, 0xef];
        for encoding in [WebhookEncoding::Hex, WebhookEncoding::Base64] {
            assert_eq!(encoding.decode(&encoding.encode(&mac)).unwrap(), mac);
        }
        assert_eq!(WebhookEncoding::Hex.decode("DEADbeef").unwrap(), mac);
        assert_eq!(WebhookEncoding::Hex.decode("abc"), None);
        assert_eq!(WebhookEncoding::Hex.decode("zz"), None);
        assert_eq!(WebhookEncoding::Hex.decode("+1"), None);
    }

    #[test]
    fn timestamped_values_parse_strictly() {
        assert_eq!(
            parse_timestamped("t=12, v1=ab ,v0=zz,v1=cd").unwrap(),
            Some(("12", vec!["ab", "cd"]))
        );
        assert_eq!(parse_timestamped("abcdef").unwrap(), None);
        for bad in [
            "t=1",
            "t=x,v1=ab",
            "t=1,t=2,v1=ab",
            "t=,v1=ab",
            "t=-1,v1=ab",
        ] {
            assert_eq!(
                parse_timestamped(bad),
                Err(Malformed::WebhookSignature),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn timestamped_tolerance_rotation_and_replay() {
        let clock = ManualClock::starting_now();
        let verifier = verifier(&clock)
            .key(HmacKey::new("w2", "sender", "whsec_the new secret, thirty-two bytes+").unwrap())
            .build()
            .unwrap();
        let body = b"{}";
        let old = WebhookSigner::new(SECRET).unwrap();
        let new = WebhookSigner::new("whsec_the new secret, thirty-two bytes+").unwrap();
        let now = clock.unix_now();
        // Rotation: the sender signs with both secrets; either verifies.
        let both = format!(
            "{},v1={}",
            new.timestamped(now, body),
            old.timestamped(now, body).split_once("v1=").unwrap().1
        );
        assert!(verifier.verify(&both, body).await.is_ok());
        assert_eq!(
            refusal(verifier.verify(&both, body).await),
            Refusal::NonceReplayed
        );
        // Either secret alone verifies, and names its key.
        let only_new = new.timestamped(now - 1, body);
        assert_eq!(
            verifier.verify(&only_new, body).await.unwrap().key.id(),
            "w2"
        );
        let only_old = old.timestamped(now - 2, body);
        assert_eq!(
            verifier.verify(&only_old, body).await.unwrap().key.id(),
            "w1"
        );
        let stale = old.timestamped(now - 301, body);
        assert_eq!(
            refusal(verifier.verify(&stale, body).await),
            Refusal::TimestampOutOfTolerance
        );
        let ahead = old.timestamped(now + 301, body);
        assert_eq!(
            refusal(verifier.verify(&ahead, body).await),
            Refusal::TimestampOutOfTolerance
        );
        let edge = old.timestamped(now - 300, body);
        assert!(verifier.verify(&edge, body).await.is_ok());
        let tampered = old.timestamped(now, body);
        assert_eq!(
            refusal(verifier.verify(&tampered, b"{ }").await),
            Refusal::BadSignature
        );
    }

    #[tokio::test]
    async fn untimestamped_needs_the_opt_in() {
        let clock = ManualClock::starting_now();
        let body = br#"{"a":1}"#;
        let signer = WebhookSigner::new(SECRET).unwrap();
        let plain = signer.untimestamped(body);
        let strict = verifier(&clock).build().unwrap();
        assert_eq!(
            refusal(strict.verify(&plain, body).await),
            Refusal::UntimestampedSignature
        );
        let lax = verifier(&clock)
            .insecure_allow_untimestamped_replayable_signatures()
            .build()
            .unwrap();
        assert!(lax.verify(&plain, body).await.is_ok());
        assert!(
            lax.verify(&plain, body).await.is_ok(),
            "replayable, as the name says"
        );
        assert_eq!(
            refusal(lax.verify(&plain, b"{}").await),
            Refusal::BadSignature
        );
        // base64 with a GitHub-style prefix.
        let prefixed = verifier(&clock)
            .encoding(WebhookEncoding::Base64)
            .prefix("sha256=")
            .insecure_allow_untimestamped_replayable_signatures()
            .build()
            .unwrap();
        let value = WebhookSigner::new(SECRET)
            .unwrap()
            .encoding(WebhookEncoding::Base64)
            .prefix("sha256=")
            .untimestamped(body);
        assert!(value.starts_with("sha256="));
        assert!(prefixed.verify(&value, body).await.is_ok());
        assert!(matches!(
            prefixed
                .verify(value.trim_start_matches("sha256="), body)
                .await,
            Err(Error::Malformed(Malformed::WebhookSignature))
        ));
    }

    #[tokio::test]
    async fn authenticator_outcomes() {
        let clock = ManualClock::starting_now();
        let auth = WebhookAuthenticator::new(verifier(&clock).build().unwrap());
        let body = b"payload";
        let value = WebhookSigner::new(SECRET)
            .unwrap()
            .timestamped(clock.unix_now(), body);
        let headers = HeaderList::new().with("X-Signature", value.clone());
        let request = AuthRequest::new("POST", "/hooks", &headers).with_body(Some(body));
        match auth.authenticate(&request).await {
            Outcome::Authenticated(p) => {
                assert_eq!(p.subject(), "sender");
                assert_eq!(p.key_id(), Some("w1"));
                assert!(p.extension::<WebhookInfo>().unwrap().timestamp.is_some());
            }
            other => panic!("{other:?}"),
        }
        let none = HeaderList::new();
        let request = AuthRequest::new("POST", "/hooks", &none).with_body(Some(body));
        assert!(matches!(
            auth.authenticate(&request).await,
            Outcome::NoCredential
        ));
        let twice = HeaderList::new()
            .with("X-Signature", value.clone())
            .with("x-signature", value);
        let request = AuthRequest::new("POST", "/hooks", &twice).with_body(Some(body));
        match auth.authenticate(&request).await {
            Outcome::Rejected(r) => assert_eq!(r.status(), 400),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            auth.challenges()[0].to_string(),
            r#"HMAC realm="webhooks", header="X-Signature""#
        );
        assert!(WebhookVerifier::builder().build().is_err());
        assert!(verifier(&clock).header("bad header").build().is_err());
        assert!(verifier(&clock).tolerance(Duration::ZERO).build().is_err());
    }
}
