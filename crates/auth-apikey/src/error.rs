//! [`Error`] and [`ConfigError`], and the one mapping from [`Error`] to a [`Rejection`].

use auth_core::{Challenge, Rejection, ThrottleError};

use crate::{KeyFormatError, StoreError};

/// What went wrong in a key operation or a verification.
///
/// No variant's message holds a key; ids and owners are public.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The presented text is not a key of this format; found without a store lookup.
    #[error(transparent)]
    Format(#[from] KeyFormatError),
    /// The key is well-formed but no stored key has its hash.
    #[error("unknown API key")]
    UnknownKey,
    /// The key was revoked.
    #[error("API key {key_id} is revoked")]
    Revoked {
        /// The key's public id.
        key_id: String,
        /// The key's owner.
        owner: String,
    },
    /// The key is past its expiry.
    #[error("API key {key_id} has expired")]
    Expired {
        /// The key's public id.
        key_id: String,
        /// The key's owner.
        owner: String,
    },
    /// The key was rotated and its grace period is over.
    #[error("API key {key_id} was rotated and its grace period is over")]
    Rotated {
        /// The key's public id.
        key_id: String,
        /// The key's owner.
        owner: String,
    },
    /// No key has this public id (management operations).
    #[error("no API key with id {key_id}")]
    NotFound {
        /// The id asked for.
        key_id: String,
    },
    /// The key cannot be rotated: it is revoked, expired or already rotated.
    #[error("API key {key_id} cannot be rotated: it is {status}")]
    NotRotatable {
        /// The key's public id.
        key_id: String,
        /// Its state (`revoked`, `expired`, `rotated`, `grace`).
        status: &'static str,
    },
    /// An owner or name is unusable.
    #[error("invalid {field}: {problem}")]
    InvalidInput {
        /// Which input.
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The operating system's random generator failed; no key was made.
    #[error("the operating system's random generator failed")]
    Random,
    /// The key store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The audit reason code: `malformed_key`, `checksum_mismatch`, `wrong_prefix`,
    /// `unknown_key`, `revoked_key`, `expired_key`, `rotated_key`, `key_store_unavailable`,
    /// ...
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Format(e) => e.reason(),
            Error::UnknownKey => "unknown_key",
            Error::Revoked { .. } => "revoked_key",
            Error::Expired { .. } => "expired_key",
            Error::Rotated { .. } => "rotated_key",
            Error::NotFound { .. } => "key_not_found",
            Error::NotRotatable { .. } => "key_not_rotatable",
            Error::InvalidInput { .. } => "invalid_input",
            Error::Random => "random_unavailable",
            Error::Store(_) => "key_store_unavailable",
        }
    }

    /// Whether the error says the presented key is not accepted (as opposed to a failure to
    /// decide). Such errors answer 401; the others 503.
    #[must_use]
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Error::Format(_)
                | Error::UnknownKey
                | Error::Revoked { .. }
                | Error::Expired { .. }
                | Error::Rotated { .. }
        )
    }

    /// The rejection a verification error answers with: every refusal is the same 401
    /// `invalid_credentials` (the audit reason differs, the response does not), anything else
    /// a 503 (fail closed). Carries the key id and owner, for the audit event only, when the
    /// key was found.
    #[must_use]
    pub fn to_rejection(&self, challenges: &[Challenge]) -> Rejection {
        if !self.is_refusal() {
            return Rejection::unavailable(self.reason());
        }
        let rejection = Rejection::invalid_credentials(challenges.to_vec(), self.reason());
        match self {
            Error::Revoked { key_id, owner }
            | Error::Expired { key_id, owner }
            | Error::Rotated { key_id, owner } => rejection
                .with_key_id(key_id.clone())
                .with_subject(owner.clone()),
            _ => rejection,
        }
    }
}

/// A configuration refused at build time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The key prefix breaks the rules (1 to 32 of `a-z 0-9 _`, not ending with `_`).
    #[error("invalid key prefix: {0}")]
    InvalidPrefix(&'static str),
    /// The pepper is too short.
    #[error("the pepper is {len} bytes; at least {min} are required")]
    WeakPepper {
        /// Its length.
        len: usize,
        /// The least length.
        min: usize,
    },
    /// The header name is not a valid HTTP field name, or is reserved.
    #[error("invalid API key header: {0}")]
    InvalidHeader(&'static str),
    /// The query parameter name is empty or holds characters that need encoding.
    #[error("invalid API key query parameter: {0}")]
    InvalidQueryParam(&'static str),
    /// A duration is out of range.
    #[error("invalid setting: {0}")]
    InvalidSetting(&'static str),
    /// The throttle could not be built.
    #[error(transparent)]
    Throttle(#[from] ThrottleError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_look_the_same_and_audit_differently() {
        let challenges = [Challenge::new("ApiKey").param("realm", "api")];
        let errors = [
            Error::UnknownKey,
            Error::Format(KeyFormatError::ChecksumMismatch),
            Error::Revoked {
                key_id: "key_a".into(),
                owner: "o".into(),
            },
            Error::Expired {
                key_id: "key_b".into(),
                owner: "o".into(),
            },
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
                "unknown_key",
                "checksum_mismatch",
                "revoked_key",
                "expired_key"
            ]
        );
        assert_eq!(rejections[2].key_id(), Some("key_a"));
    }

    #[test]
    fn store_failures_fail_closed() {
        let rejection =
            Error::Store(StoreError::Unavailable("db down: 10.0.0.5".into())).to_rejection(&[]);
        assert_eq!(rejection.status(), 503);
        assert_eq!(rejection.reason(), "key_store_unavailable");
        assert!(!rejection.json_body().contains("10.0.0.5"));
    }
}
