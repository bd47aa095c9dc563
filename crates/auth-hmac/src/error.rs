//! [`Error`], [`ConfigError`], and the one mapping from a verification [`Error`] to a
//! [`Rejection`].

use std::fmt;

use auth_core::{Challenge, Rejection};

use crate::StoreError;

/// Why a request's signature headers are malformed: answered with 400 `invalid_request`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Malformed {
    /// `Signature-Input` without `Signature`, or the other way round.
    IncompleteHeaders,
    /// `Signature-Input` is not an RFC 8941 Dictionary of Inner Lists, or a signature
    /// parameter has the wrong type (`created` not an Integer, `keyid` not a String, ...).
    SignatureInput,
    /// `Signature` is not an RFC 8941 Dictionary of Byte Sequences (bad base64 included).
    Signature,
    /// A label appears twice (RFC 9421 §4: labels are unique across all field values).
    DuplicateLabel,
    /// A label is in `Signature-Input` but not in `Signature`, or the other way round
    /// (RFC 9421 §4).
    LabelMismatch,
    /// More signatures than [`MAX_SIGNATURES`](crate::MAX_SIGNATURES).
    TooManySignatures,
    /// A covered component identifier is invalid: an unknown derived component, an
    /// upper-case field name, a parameter this crate does not support, a component listed
    /// twice, or more than [`MAX_COMPONENTS`](crate::MAX_COMPONENTS).
    InvalidComponent,
    /// `Content-Digest` is not an RFC 8941 Dictionary of Byte Sequences.
    ContentDigest,
    /// A webhook signature header is malformed (a bad `t=`, bad hex or base64).
    WebhookSignature,
    /// A signature header appears more than once where one is expected, or holds bytes
    /// outside visible ASCII.
    Header,
}

impl Malformed {
    /// The audit reason code.
    #[must_use]
    pub const fn reason(self) -> &'static str {
        match self {
            Self::IncompleteHeaders => "incomplete_signature_headers",
            Self::SignatureInput => "malformed_signature_input",
            Self::Signature => "malformed_signature",
            Self::DuplicateLabel => "duplicate_signature_label",
            Self::LabelMismatch => "signature_label_mismatch",
            Self::TooManySignatures => "too_many_signatures",
            Self::InvalidComponent => "invalid_component",
            Self::ContentDigest => "malformed_content_digest",
            Self::WebhookSignature => "malformed_webhook_signature",
            Self::Header => "malformed_header",
        }
    }

    /// The public description sent in the 400 response (says what is wrong with the form of
    /// the request, never with the credential's value).
    #[must_use]
    pub const fn description(self) -> &'static str {
        match self {
            Self::IncompleteHeaders => "Signature-Input and Signature must be sent together",
            Self::SignatureInput | Self::DuplicateLabel | Self::TooManySignatures => {
                "Malformed Signature-Input header"
            }
            Self::Signature => "Malformed Signature header",
            Self::LabelMismatch => "Signature-Input and Signature must carry the same labels",
            Self::InvalidComponent => "Unsupported or invalid covered component",
            Self::ContentDigest => "Malformed Content-Digest header",
            Self::WebhookSignature | Self::Header => "Malformed signature header",
        }
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

/// Why a well-formed signature was refused: answered with 401 `invalid_credentials`, the
/// same response for every variant (only the audit reason differs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// The policy names a label the request does not carry.
    LabelNotFound,
    /// The covered components miss one the policy requires (`@method`, `@target-uri`,
    /// `content-digest` when there is a body, ...), or cover nothing at all.
    InsufficientCoverage,
    /// The signature has no `created` parameter.
    CreatedMissing,
    /// The signature has no `nonce` parameter and the policy requires one.
    NonceMissing,
    /// The signature has no `keyid` parameter.
    KeyIdMissing,
    /// `created` is older than the policy's maximum age.
    CreatedTooOld,
    /// `created` is further in the future than the allowed clock skew.
    CreatedInFuture,
    /// `expires` has passed.
    Expired,
    /// No key has this `keyid`.
    UnknownKey,
    /// `alg` names another algorithm than the key's (`hmac-sha256`).
    AlgorithmMismatch,
    /// `tag` differs from the one the policy requires.
    TagMismatch,
    /// A covered component cannot be derived from the received message (a covered field is
    /// absent, a named query parameter is absent or repeated, no authority is known).
    ComponentUnavailable,
    /// The MAC does not match the signature base (wrong key, altered message, truncated
    /// signature).
    BadSignature,
    /// `content-digest` is covered but the header is absent.
    ContentDigestMissing,
    /// `Content-Digest` holds no digest in an algorithm this crate checks (`sha-256`,
    /// `sha-512`).
    ContentDigestUnsupported,
    /// A digest in `Content-Digest` does not match the received body.
    ContentDigestMismatch,
    /// The nonce was already used within the window: a replay.
    NonceReplayed,
    /// A webhook signature's timestamp is outside the tolerance.
    TimestampOutOfTolerance,
    /// A webhook signature without a timestamp, and the verifier does not accept the
    /// replayable untimestamped form.
    UntimestampedSignature,
}

impl Refusal {
    /// The audit reason code.
    #[must_use]
    pub const fn reason(self) -> &'static str {
        match self {
            Self::LabelNotFound => "label_not_found",
            Self::InsufficientCoverage => "insufficient_coverage",
            Self::CreatedMissing => "created_missing",
            Self::NonceMissing => "nonce_missing",
            Self::KeyIdMissing => "keyid_missing",
            Self::CreatedTooOld => "created_too_old",
            Self::CreatedInFuture => "created_in_future",
            Self::Expired => "signature_expired",
            Self::UnknownKey => "unknown_key",
            Self::AlgorithmMismatch => "alg_mismatch",
            Self::TagMismatch => "tag_mismatch",
            Self::ComponentUnavailable => "component_unavailable",
            Self::BadSignature => "bad_signature",
            Self::ContentDigestMissing => "content_digest_missing",
            Self::ContentDigestUnsupported => "content_digest_unsupported",
            Self::ContentDigestMismatch => "content_digest_mismatch",
            Self::NonceReplayed => "nonce_replayed",
            Self::TimestampOutOfTolerance => "timestamp_out_of_tolerance",
            Self::UntimestampedSignature => "untimestamped_signature",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

/// What went wrong while signing or verifying.
///
/// No variant's message holds a secret or a signature; key ids are public.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request's signature headers are malformed (400).
    #[error("malformed request: {0}")]
    Malformed(Malformed),
    /// The signature was refused (401).
    #[error("signature refused: {refusal}")]
    Refused {
        /// Why.
        refusal: Refusal,
        /// The `keyid` the signature named, when it named one (public; for the audit event).
        key_id: Option<String>,
    },
    /// A component to sign cannot be derived from the request (a covered header is absent,
    /// the URL has no authority).
    #[error("cannot derive component {component} from the request")]
    ComponentUnavailable {
        /// The component identifier, serialized.
        component: String,
    },
    /// A request to sign cannot be signed: its URL is not an absolute `http` or `https`
    /// URL, or a header cannot be set.
    #[error("cannot sign the request: {0}")]
    InvalidRequest(&'static str),
    /// A body to sign is not available as bytes (a streaming `reqwest` body).
    #[error("the request body is a stream; only bodies held in memory can be signed")]
    BodyNotBuffered,
    /// The operating system's random generator failed; no nonce could be made.
    #[error("the operating system's random generator failed")]
    Random,
    /// The nonce store failed: the request is refused (503, fail closed).
    #[error(transparent)]
    NonceStore(#[from] StoreError),
}

/// A `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn refused(refusal: Refusal, key_id: Option<&str>) -> Self {
        Error::Refused {
            refusal,
            key_id: key_id.map(str::to_owned),
        }
    }

    /// The audit reason code (`bad_signature`, `unknown_key`, `created_too_old`,
    /// `nonce_replayed`, `malformed_signature_input`, `nonce_store_unavailable`, ...).
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Malformed(m) => m.reason(),
            Error::Refused { refusal, .. } => refusal.reason(),
            Error::ComponentUnavailable { .. } => "component_unavailable",
            Error::InvalidRequest(_) => "unsignable_request",
            Error::BodyNotBuffered => "body_not_buffered",
            Error::Random => "random_unavailable",
            Error::NonceStore(_) => "nonce_store_unavailable",
        }
    }

    /// The `keyid` the refused signature named, if any.
    #[must_use]
    pub fn key_id(&self) -> Option<&str> {
        match self {
            Error::Refused { key_id, .. } => key_id.as_deref(),
            _ => None,
        }
    }

    /// The rejection a verification error answers with:
    ///
    /// - [`Error::Malformed`]: 400 `invalid_request` with a description of the form problem;
    /// - [`Error::Refused`]: 401 `invalid_credentials`, identical for every refusal (the
    ///   audit reason differs, the response does not), carrying the `keyid` for the audit
    ///   event;
    /// - anything else (a nonce store failure): 503, fail closed.
    #[must_use]
    pub fn to_rejection(&self, challenges: &[Challenge]) -> Rejection {
        match self {
            Error::Malformed(m) => {
                Rejection::invalid_request(challenges.to_vec(), m.description(), m.reason())
            }
            Error::Refused { refusal, key_id } => {
                let rejection =
                    Rejection::invalid_credentials(challenges.to_vec(), refusal.reason());
                match key_id {
                    Some(key_id) => rejection.with_key_id(key_id.clone()),
                    None => rejection,
                }
            }
            _ => Rejection::unavailable(self.reason()),
        }
    }
}

impl From<Malformed> for Error {
    fn from(malformed: Malformed) -> Self {
        Error::Malformed(malformed)
    }
}

/// A configuration refused at build time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A secret is shorter than [`MIN_SECRET_LEN`](crate::MIN_SECRET_LEN) bytes and no
    /// `dangerous_` opt-in was used.
    #[error("the secret is {len} bytes; at least {min} are required")]
    WeakSecret {
        /// Its length.
        len: usize,
        /// The least length.
        min: usize,
    },
    /// A key id, label, tag, header name or authority is not usable.
    #[error("invalid {field}: {problem}")]
    Invalid {
        /// Which setting.
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A duration is zero or out of range, or the policy is empty.
    #[error("invalid setting: {0}")]
    InvalidSetting(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_look_the_same_and_audit_differently() {
        let challenges = [Challenge::new("Signature").param("realm", "api")];
        let errors = [
            Error::refused(Refusal::BadSignature, Some("k1")),
            Error::refused(Refusal::UnknownKey, Some("nobody")),
            Error::refused(Refusal::CreatedTooOld, Some("k1")),
            Error::refused(Refusal::NonceReplayed, Some("k1")),
        ];
        let rejections: Vec<Rejection> =
            errors.iter().map(|e| e.to_rejection(&challenges)).collect();
        for r in &rejections {
            assert_eq!(r.status(), 401);
            assert_eq!(r.json_body(), rejections[0].json_body());
            assert_eq!(
                r.www_authenticate().collect::<Vec<_>>(),
                rejections[0].www_authenticate().collect::<Vec<_>>()
            );
        }
        let reasons: Vec<&str> = rejections.iter().map(Rejection::reason).collect();
        assert_eq!(
            reasons,
            [
                "bad_signature",
                "unknown_key",
                "created_too_old",
                "nonce_replayed"
            ]
        );
        assert_eq!(rejections[1].key_id(), Some("nobody"));
    }

    #[test]
    fn malformed_is_400_and_store_failure_503() {
        let rejection = Error::Malformed(Malformed::Signature).to_rejection(&[]);
        assert_eq!(rejection.status(), 400);
        assert_eq!(rejection.reason(), "malformed_signature");
        let rejection = Error::NonceStore(StoreError::Unavailable("redis at 10.0.0.5 down".into()))
            .to_rejection(&[]);
        assert_eq!(rejection.status(), 503);
        assert_eq!(rejection.reason(), "nonce_store_unavailable");
        assert!(!rejection.json_body().contains("10.0.0.5"));
    }
}
