//! [`HmacAuthenticator`]: the [`Authenticator`] for RFC 9421 signed requests.

use async_trait::async_trait;
use auth_core::{AuthRequest, Authenticator, Challenge, Outcome, Principal, Rejection, Scheme};

use crate::{SignatureInfo, Verifier};

/// The default realm in the `WWW-Authenticate` challenge.
pub const DEFAULT_REALM: &str = "api";

/// Authenticates requests signed with RFC 9421 HTTP Message Signatures (`hmac-sha256`),
/// through a [`Verifier`].
///
/// | the request carries | answer | audit reason |
/// |---|---|---|
/// | neither `Signature-Input` nor `Signature` | no credential (401 with the challenge) | `no_credential` |
/// | a signature that satisfies the policy and verifies | a [`Principal`]: subject = the key's client, its scopes, key id = `keyid`, [`SignatureInfo`] extension | `ok` |
/// | one of the two headers only, a malformed field, duplicated or unpaired labels, an unsupported component | 400 `invalid_request` | `incomplete_signature_headers`, `malformed_signature_input`, ... |
/// | a bad MAC, an unknown key, an old or future `created`, a past `expires`, a replayed nonce, insufficient coverage, a body that does not match its digest | 401 `invalid_credentials`, identical for all | `bad_signature`, `unknown_key`, `created_too_old`, `nonce_replayed`, ... |
/// | the nonce store is down or full | 503 (fail closed) | `nonce_store_unavailable` |
///
/// It reads the body ([`Authenticator::needs_body`] is `true`): adapters buffer it, up to
/// their limit, and hand it on intact.
///
/// The challenge is `Signature realm="..."`. RFC 9421 §5 defines `Accept-Signature` for a
/// server to ask for a signature with given parameters; this crate does not send it (a
/// rejection carries only `WWW-Authenticate`): publish the required components in your API
/// documentation instead.
#[derive(Debug)]
pub struct HmacAuthenticator {
    verifier: Verifier,
    challenges: Vec<Challenge>,
}

impl HmacAuthenticator {
    /// An authenticator over `verifier`, with realm [`DEFAULT_REALM`].
    #[must_use]
    pub fn new(verifier: Verifier) -> Self {
        Self {
            verifier,
            challenges: vec![challenge(DEFAULT_REALM)],
        }
    }

    /// Sets the realm of the challenge.
    #[must_use]
    pub fn with_realm(mut self, realm: impl Into<String>) -> Self {
        self.challenges = vec![challenge(realm)];
        self
    }

    /// The verifier.
    #[must_use]
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }
}

fn challenge(realm: impl Into<String>) -> Challenge {
    Challenge::new("Signature").param("realm", realm)
}

#[async_trait]
impl Authenticator for HmacAuthenticator {
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
        if request.body().is_none() && has_declared_body(request) {
            // The adapter did not buffer a body that exists: the digest cannot be checked.
            return Outcome::Rejected(Rejection::unavailable("body_not_buffered"));
        }
        match self.verifier.verify_request(request).await {
            Ok(None) => Outcome::NoCredential,
            Ok(Some(verified)) => {
                let info = SignatureInfo::from(&verified);
                Outcome::Authenticated(
                    Principal::new(verified.key.subject(), Scheme::HMAC)
                        .with_scopes(verified.key.scopes().clone())
                        .with_key_id(verified.key.id())
                        .with_extension(info),
                )
            }
            Err(error) => Outcome::Rejected(error.to_rejection(&self.challenges)),
        }
    }
}

/// Whether the request says it has a body (`Content-Length` above 0, or a transfer coding).
pub(crate) fn has_declared_body(request: &AuthRequest<'_>) -> bool {
    let length = request
        .header("content-length")
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    length.is_some_and(|len| len > 0) || request.header("transfer-encoding").is_some()
}
