//! [`Verifier`]: checks RFC 9421 signatures on requests against a policy.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use auth_core::{AuthRequest, SharedClock, SystemClock};

use crate::component::{FieldLines, normalize_authority};
use crate::key::ALGORITHM;
use crate::signature::{Received, decimal, parse_signatures};
use crate::{
    Component, ConfigError, Error, HmacKey, KeyStore, Malformed, MemoryNonceStore, NonceStore,
    Refusal, RequestParts, SignatureParams, verify_content_digest,
};

/// The default maximum age of a signature's `created`: 300 seconds.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

/// The default clock skew allowed for a `created` ahead of the verifier's clock: 5 seconds.
pub const DEFAULT_CLOCK_SKEW: Duration = Duration::from_secs(5);

/// The most a policy may allow as maximum age: one day (the nonce store must remember every
/// nonce that long).
pub const MAX_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// A verified signature: which label and key, and its parameters.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The label of the signature that was checked.
    pub label: String,
    /// The key that verified it.
    pub key: Arc<HmacKey>,
    /// Its parameters (covered components, `created`, `expires`, `nonce`, `tag`).
    pub params: SignatureParams,
}

/// What the handler can learn about the signature that authenticated a request: the
/// [`Principal`](auth_core::Principal) extension set by [`HmacAuthenticator`](crate::HmacAuthenticator).
/// Holds no secret and no signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureInfo {
    /// The label of the verified signature.
    pub label: String,
    /// The `keyid`.
    pub key_id: String,
    /// `created` (Unix seconds).
    pub created: Option<u64>,
    /// `expires` (Unix seconds), if the signer set it.
    pub expires: Option<u64>,
    /// `tag`, if the signer set it.
    pub tag: Option<String>,
    /// The covered components, serialized (`"@method"`, `"content-digest"`, ...).
    pub covered: Vec<String>,
    /// Whether the body was covered through a checked `Content-Digest`.
    pub body_covered: bool,
}

impl From<&Verified> for SignatureInfo {
    fn from(verified: &Verified) -> Self {
        let covered: Vec<String> = verified
            .params
            .components()
            .iter()
            .map(Component::identifier)
            .collect();
        Self {
            label: verified.label.clone(),
            key_id: verified.key.id().to_owned(),
            created: verified.params.created_at(),
            expires: verified.params.expires_at(),
            tag: verified.params.tag_value().map(str::to_owned),
            body_covered: verified
                .params
                .components()
                .iter()
                .any(|c| c.is_field(CONTENT_DIGEST)),
            covered,
        }
    }
}

/// Verifies RFC 9421 HTTP Message Signatures made with `hmac-sha256`, against a policy.
///
/// | check | default |
/// |---|---|
/// | covered components | `@method`, `@target-uri`, and `content-digest` whenever the body is not empty |
/// | `created` | required; at most [`DEFAULT_MAX_AGE`] old, at most [`DEFAULT_CLOCK_SKEW`] ahead |
/// | `expires` | honoured when present |
/// | `nonce` | required, remembered for the window in a [`NonceStore`]; a replay is refused |
/// | `keyid` | required; looked up in the [`KeyStore`] (several keys per client) |
/// | `alg` | optional; when present must be the key's, `hmac-sha256` |
/// | `Content-Digest` | when covered, checked against the received body (RFC 9530) |
/// | MAC | compared in constant time |
/// | which signature | the [labelled](VerifierBuilder::label) one, or the first one that satisfies the policy and verifies; an extra signature never weakens the policy |
///
/// Built with [`Verifier::builder`]; cheap to share (`Arc` inside is not needed: wrap it
/// in one, or in the authenticator, which is shared by the adapters).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use auth_hmac::{Component, HmacKey, MemoryKeyStore, Verifier};
///
/// let keys = Arc::new(MemoryKeyStore::new());
/// keys.insert(HmacKey::new("k1", "billing", "a secret of at least thirty-two bytes!")?);
/// let verifier = Verifier::builder(keys)
///     .require(Component::field("content-type")?) // on top of the defaults
///     .max_age(Duration::from_secs(60))
///     .authority("api.example.com")              // the public authority, behind a proxy
///     .scheme("https")
///     .build()?;
/// # let _ = verifier;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Verifier {
    keys: Arc<dyn KeyStore>,
    nonces: Arc<dyn NonceStore>,
    clock: SharedClock,
    required: Vec<Component>,
    require_content_digest: bool,
    label: Option<String>,
    tag: Option<String>,
    require_nonce: bool,
    max_age: Duration,
    clock_skew: Duration,
    authority: Option<String>,
    scheme: Option<String>,
}

/// Builds a [`Verifier`]. From [`Verifier::builder`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct VerifierBuilder {
    keys: Arc<dyn KeyStore>,
    nonces: Option<Arc<dyn NonceStore>>,
    clock: Option<SharedClock>,
    required: Vec<Component>,
    require_content_digest: bool,
    label: Option<String>,
    tag: Option<String>,
    require_nonce: bool,
    max_age: Duration,
    clock_skew: Duration,
    authority: Option<String>,
    scheme: Option<String>,
}

impl Verifier {
    /// A builder over `keys`, with the secure defaults of the table above.
    pub fn builder(keys: impl KeyStore) -> VerifierBuilder {
        VerifierBuilder {
            keys: Arc::new(keys),
            nonces: None,
            clock: None,
            required: vec![Component::METHOD, Component::TARGET_URI],
            require_content_digest: true,
            label: None,
            tag: None,
            require_nonce: true,
            max_age: DEFAULT_MAX_AGE,
            clock_skew: DEFAULT_CLOCK_SKEW,
            authority: None,
            scheme: None,
        }
    }

    /// The request parts of `request` as this verifier sees them: the configured authority
    /// and scheme, else the `Host` header and [`AuthRequest::is_secure`].
    #[must_use]
    pub fn request_parts<'a>(&'a self, request: &AuthRequest<'a>) -> RequestParts<'a> {
        let scheme = match &self.scheme {
            Some(scheme) => scheme.as_str(),
            None if request.is_secure() => "https",
            None => "http",
        };
        RequestParts::new(request.method(), request.target(), request.headers())
            .with_scheme(scheme)
            .with_authority(self.authority.as_deref())
    }

    /// Verifies the signatures of `request` (its body included: the adapter must buffer it,
    /// see [`Authenticator::needs_body`](auth_core::Authenticator::needs_body)).
    ///
    /// Returns `Ok(None)` when the request carries neither `Signature-Input` nor
    /// `Signature`.
    ///
    /// # Errors
    ///
    /// See [`Verifier::verify_parts`].
    pub async fn verify_request(
        &self,
        request: &AuthRequest<'_>,
    ) -> Result<Option<Verified>, Error> {
        let parts = self.request_parts(request);
        self.verify_parts(&parts, request.body()).await
    }

    /// Verifies the signatures of the request made of `parts` and `body` (`None` or empty:
    /// no body).
    ///
    /// Returns `Ok(None)` when the request carries neither `Signature-Input` nor
    /// `Signature`.
    ///
    /// # Errors
    ///
    /// - [`Error::Malformed`] (400): one of the two headers without the other, a header that
    ///   is not a valid structured field, duplicated or unpaired labels, too many signatures,
    ///   an unsupported component identifier;
    /// - [`Error::Refused`] (401): no signature satisfies the policy and verifies — the
    ///   [`Refusal`] says why (for the audit log only);
    /// - [`Error::NonceStore`] (503): the nonce store failed (fail closed).
    pub async fn verify_parts(
        &self,
        parts: &RequestParts<'_>,
        body: Option<&[u8]>,
    ) -> Result<Option<Verified>, Error> {
        let headers = parts.headers();
        let input_lines = FieldLines::get(headers, "signature-input");
        let signature_lines = FieldLines::get(headers, "signature");
        match (input_lines.is_empty(), signature_lines.is_empty()) {
            (true, true) => return Ok(None),
            (false, false) => {}
            _ => return Err(Malformed::IncompleteHeaders.into()),
        }
        let received = parse_signatures(&input_lines, &signature_lines)?;
        let body = body.unwrap_or_default();

        let candidates: Vec<Received<'_>> = match &self.label {
            Some(label) => {
                let chosen: Vec<Received<'_>> =
                    received.into_iter().filter(|r| &r.label == label).collect();
                if chosen.is_empty() {
                    return Err(Error::refused(Refusal::LabelNotFound, None));
                }
                chosen
            }
            None => received,
        };

        // Each candidate is tried in order; the first that satisfies the policy and verifies
        // wins. When none does, the error of the candidate that got furthest is reported.
        let mut best: Option<(Stage, Error)> = None;
        for candidate in candidates {
            let outcome = match candidate.params {
                Ok(params) => {
                    match self.check(&params, &candidate.mac, candidate.serialized, parts, body) {
                        Ok(key) => Ok((key, params)),
                        Err(failure) => Err(failure),
                    }
                }
                Err(malformed) => Err((Stage::Parse, Error::Malformed(malformed))),
            };
            match outcome {
                Ok((key, params)) => {
                    self.remember_nonce(&key, &params).await?;
                    return Ok(Some(Verified {
                        label: candidate.label.into_owned(),
                        key,
                        params,
                    }));
                }
                Err((stage, error)) => {
                    if best.as_ref().is_none_or(|(s, _)| stage > *s) {
                        best = Some((stage, error));
                    }
                }
            }
        }
        Err(best.map_or_else(|| Malformed::SignatureInput.into(), |(_, error)| error))
    }

    /// Every check of one signature but the nonce's first use. `serialized`: the canonical
    /// serialization of `params` as received, when the parser saw one.
    fn check(
        &self,
        params: &SignatureParams,
        mac: &[u8],
        serialized: Option<&[u8]>,
        parts: &RequestParts<'_>,
        body: &[u8],
    ) -> Result<Arc<HmacKey>, (Stage, Error)> {
        let key_id = params.key_id_value();
        let refuse = |stage, refusal| Err((stage, Error::refused(refusal, key_id)));

        // The policy, before any crypto.
        let covered = params.components();
        if covered.is_empty() || self.required.iter().any(|c| !covered.contains(c)) {
            return refuse(Stage::Policy, Refusal::InsufficientCoverage);
        }
        let digest_covered = covered.iter().any(|c| c.is_field(CONTENT_DIGEST));
        if self.require_content_digest && !body.is_empty() && !digest_covered {
            return refuse(Stage::Policy, Refusal::InsufficientCoverage);
        }
        let Some(key_id) = key_id else {
            return refuse(Stage::Policy, Refusal::KeyIdMissing);
        };
        let Some(created) = params.created_at() else {
            return refuse(Stage::Policy, Refusal::CreatedMissing);
        };
        if self.require_nonce && params.nonce_value().is_none() {
            return refuse(Stage::Policy, Refusal::NonceMissing);
        }
        if let Some(tag) = &self.tag
            && params.tag_value() != Some(tag.as_str())
        {
            return refuse(Stage::Policy, Refusal::TagMismatch);
        }
        let now = self.clock.unix_now();
        if created > now.saturating_add(self.clock_skew.as_secs()) {
            return refuse(Stage::Time, Refusal::CreatedInFuture);
        }
        if now > created.saturating_add(self.max_age.as_secs()) {
            return refuse(Stage::Time, Refusal::CreatedTooOld);
        }
        if params.expires_at().is_some_and(|expires| now > expires) {
            return refuse(Stage::Time, Refusal::Expired);
        }

        // The key and its algorithm.
        let Some(key) = self.keys.get(key_id) else {
            return refuse(Stage::Key, Refusal::UnknownKey);
        };
        if params.alg_value().is_some_and(|alg| alg != ALGORITHM) {
            return refuse(Stage::Key, Refusal::AlgorithmMismatch);
        }

        // The MAC over the signature base, then the body through its digest.
        let Ok(base) = params.signature_base_with(parts, serialized) else {
            return refuse(Stage::Base, Refusal::ComponentUnavailable);
        };
        if !key.verify(&[&base], mac) {
            return refuse(Stage::Mac, Refusal::BadSignature);
        }
        if digest_covered {
            let lines = FieldLines::get(parts.headers(), CONTENT_DIGEST);
            verify_content_digest(&lines, body).map_err(|e| {
                let e = match e {
                    Error::Refused { refusal, .. } => Error::refused(refusal, Some(key_id)),
                    other => other,
                };
                (Stage::Digest, e)
            })?;
        }
        Ok(key)
    }

    async fn remember_nonce(&self, key: &HmacKey, params: &SignatureParams) -> Result<(), Error> {
        let (Some(nonce), Some(created)) = (params.nonce_value(), params.created_at()) else {
            return Ok(());
        };
        // A nonce must be remembered for as long as its signature could be accepted.
        let until = UNIX_EPOCH
            + Duration::from_secs(
                created
                    .saturating_add(self.max_age.as_secs())
                    .saturating_add(1),
            );
        let mut buf = [0; SCOPED_NONCE_CAPACITY];
        let scoped = scoped_nonce(key.id(), nonce, &mut buf);
        let first_use =
            auth_core::now_or_await(self.nonces.insert_if_absent_now(&scoped, until), || {
                self.nonces.insert_if_absent(&scoped, until)
            })
            .await;
        if first_use? {
            Ok(())
        } else {
            Err(Error::refused(Refusal::NonceReplayed, Some(key.id())))
        }
    }
}

const CONTENT_DIGEST: &str = "content-digest";

/// Room for the longest scoped nonce the policy lets through: `keyid` and `nonce` are at
/// most [`MAX_PARAM_LEN`](crate::signature::MAX_PARAM_LEN) bytes each.
const SCOPED_NONCE_CAPACITY: usize = 8 + 3 + 1 + 2 * crate::signature::MAX_PARAM_LEN + 1;

/// The nonce store key of `nonce` under key `key_id`: `rfc9421:<len(keyid)>:<keyid>:<nonce>`
/// (the length keeps `("a:b", "c")` apart from `("a", "b:c")`), written into `buf` (no
/// allocation), or allocated when it does not fit.
fn scoped_nonce<'b>(
    key_id: &str,
    nonce: &str,
    buf: &'b mut [u8; SCOPED_NONCE_CAPACITY],
) -> Cow<'b, str> {
    let mut digits = [0; 20];
    let len = decimal(key_id.len() as u64, &mut digits);
    let parts: [&[u8]; 6] = [
        b"rfc9421:",
        len,
        b":",
        key_id.as_bytes(),
        b":",
        nonce.as_bytes(),
    ];
    let total: usize = parts.iter().map(|p| p.len()).sum();
    if total <= buf.len() {
        let mut at = 0;
        for part in parts {
            buf[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        // Every part is UTF-8 (two `&str`s and ASCII), so the concatenation is.
        if let Ok(scoped) = std::str::from_utf8(&buf[..total]) {
            return Cow::Borrowed(scoped);
        }
    }
    Cow::Owned(String::from_utf8_lossy(&parts.concat()).into_owned())
}

/// How far a candidate got before it failed: the furthest is the most telling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Parse,
    Policy,
    Time,
    Key,
    Base,
    Mac,
    Digest,
}

impl VerifierBuilder {
    /// Also requires `component` to be covered (on top of `@method` and `@target-uri`).
    pub fn require(mut self, component: Component) -> Self {
        if !self.required.contains(&component) {
            self.required.push(component);
        }
        self
    }

    /// Replaces the required components. At least one is needed; leave `@target-uri` out
    /// only when the application knows why (a signature that does not cover the target can
    /// be moved to another URL).
    pub fn required_components(mut self, components: impl IntoIterator<Item = Component>) -> Self {
        self.required = Vec::new();
        for component in components {
            self = self.require(component);
        }
        self
    }

    /// Whether `content-digest` must be covered whenever the body is not empty (default
    /// `true`). Turning it off lets a signature say nothing about the body.
    pub fn insecure_allow_uncovered_body(mut self) -> Self {
        self.require_content_digest = false;
        self
    }

    /// Checks only the signature with this label (default: the first signature that
    /// satisfies the policy and verifies).
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Requires the `tag` parameter to be `tag` (an application-specific tag, RFC 9421
    /// §2.3).
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self
    }

    /// The oldest `created` accepted (default [`DEFAULT_MAX_AGE`], at most
    /// [`MAX_MAX_AGE`]).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// How far ahead of the verifier's clock `created` may be (default
    /// [`DEFAULT_CLOCK_SKEW`]).
    pub fn clock_skew(mut self, skew: Duration) -> Self {
        self.clock_skew = skew;
        self
    }

    /// The store that remembers nonces (default: a [`MemoryNonceStore`], right for one
    /// instance; several instances need a shared store).
    pub fn nonce_store(mut self, store: Arc<dyn NonceStore>) -> Self {
        self.nonces = Some(store);
        self
    }

    /// Accepts signatures without a `nonce`.
    ///
    /// # Security
    ///
    /// Without a nonce, a captured request can be replayed for as long as its `created` is
    /// within the maximum age. Keep the maximum age short if you must use this.
    pub fn insecure_allow_missing_nonce(mut self) -> Self {
        self.require_nonce = false;
        self
    }

    /// The clock (default: the system clock). Tests pass a
    /// [`ManualClock`](auth_core::ManualClock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The authority (`host[:port]`) that `@authority` and `@target-uri` use, instead of the
    /// `Host` header. Behind a reverse proxy, set the public authority clients sign.
    pub fn authority(mut self, authority: impl Into<String>) -> Self {
        self.authority = Some(authority.into());
        self
    }

    /// The scheme that `@scheme` and `@target-uri` use, instead of
    /// [`AuthRequest::is_secure`]. Behind a TLS-terminating proxy, set `https`.
    pub fn scheme(mut self, scheme: impl Into<String>) -> Self {
        self.scheme = Some(scheme.into());
        self
    }

    /// Builds the verifier.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when no component is required, the maximum age is zero or over
    /// [`MAX_MAX_AGE`], the scheme is not `http` or `https`, or the authority is not
    /// `host[:port]`.
    pub fn build(self) -> Result<Verifier, ConfigError> {
        if self.required.is_empty() {
            return Err(ConfigError::InvalidSetting(
                "at least one covered component must be required",
            ));
        }
        if self.max_age.as_secs() == 0 || self.max_age > MAX_MAX_AGE {
            return Err(ConfigError::InvalidSetting(
                "max_age must be between 1 second and one day",
            ));
        }
        if self.clock_skew > self.max_age {
            return Err(ConfigError::InvalidSetting(
                "clock_skew must not exceed max_age",
            ));
        }
        let scheme = match self.scheme {
            Some(scheme) => {
                let scheme = scheme.to_ascii_lowercase();
                if scheme != "http" && scheme != "https" {
                    return Err(ConfigError::Invalid {
                        field: "scheme",
                        problem: "must be http or https",
                    });
                }
                Some(scheme)
            }
            None => None,
        };
        if let Some(authority) = &self.authority
            && normalize_authority(authority, scheme.as_deref().unwrap_or("https")).is_none()
        {
            return Err(ConfigError::Invalid {
                field: "authority",
                problem: "must be host[:port]",
            });
        }
        if let Some(label) = &self.label
            && sfv::KeyRef::from_str(label).is_err()
        {
            return Err(ConfigError::Invalid {
                field: "label",
                problem: "must be an RFC 8941 key (lower-case letters, digits, _-.*)",
            });
        }
        let clock = self.clock.unwrap_or_else(SystemClock::shared);
        let nonces = self
            .nonces
            .unwrap_or_else(|| Arc::new(MemoryNonceStore::new(Arc::clone(&clock))));
        Ok(Verifier {
            keys: self.keys,
            nonces,
            clock,
            required: self.required,
            require_content_digest: self.require_content_digest,
            label: self.label,
            tag: self.tag,
            require_nonce: self.require_nonce,
            max_age: self.max_age,
            clock_skew: self.clock_skew,
            authority: self.authority,
            scheme,
        })
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("keys", &self.keys)
            .field("nonces", &self.nonces)
            .field(
                "required",
                &self
                    .required
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
            )
            .field("require_content_digest", &self.require_content_digest)
            .field("label", &self.label)
            .field("tag", &self.tag)
            .field("require_nonce", &self.require_nonce)
            .field("max_age", &self.max_age)
            .field("clock_skew", &self.clock_skew)
            .field("authority", &self.authority)
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for VerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifierBuilder").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn scoped_nonces_keep_the_format() {
        let long = "x".repeat(128);
        for (id, nonce) in [
            ("k", "n"),
            ("billing-2025", "abc:def"),
            (long.as_str(), "n"),
            (long.as_str(), long.as_str()),
            // Longer than the policy allows (not reachable through the verifier): allocated.
            (&"y".repeat(400), &"z".repeat(400)),
        ] {
            let mut buf = [0; super::SCOPED_NONCE_CAPACITY];
            assert_eq!(
                super::scoped_nonce(id, nonce, &mut buf),
                format!("rfc9421:{}:{}:{}", id.len(), id, nonce)
            );
        }
    }
}
