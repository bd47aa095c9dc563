//! Errors: [`KeyError`] for key material and configuration, [`VerifyError`] for tokens.

/// A key or a configuration was refused (at load or build time, never per request).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key material could not be parsed for the algorithm.
    #[error("invalid key material for {alg}: {reason}")]
    Invalid {
        /// The algorithm the key was to be bound to.
        alg: String,
        /// What is wrong.
        reason: String,
    },
    /// An HMAC key shorter than the hash output (RFC 7518 §3.2).
    #[error("HMAC key for {alg} is {bits} bits; at least {min_bits} are required (RFC 7518 §3.2)")]
    WeakHmacKey {
        /// The algorithm.
        alg: String,
        /// The key's size.
        bits: usize,
        /// The minimum.
        min_bits: usize,
    },
    /// The algorithm is not supported for this operation (e.g. RSA key generation).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A JWK lacks what auth-jwt needs (a `kid`, a known `alg`, a signing `use`).
    #[error("unusable JWK: {0}")]
    Jwk(String),
    /// The configuration is unsafe or inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A key with this `kid` is already in the set.
    #[error("duplicate kid {0:?}")]
    DuplicateKid(String),
    /// No key with this `kid` in the set.
    #[error("unknown kid {0:?}")]
    UnknownKid(String),
    /// No signing key is active in the set.
    #[error("the key set has no active signing key")]
    NoSigningKey,
}

/// Why a token was refused. Each variant's [`VerifyError::reason`] is the audit reason code;
/// clients only ever see `invalid_token` (or `invalid_request` for a malformed request).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Longer than the configured maximum (checked before any decoding).
    #[error("token too large")]
    TooLarge,
    /// Not three dot-separated base64url segments of valid JSON objects.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// A JSON object repeats a member name (RFC 7519 §4, RFC 8725 §3.9).
    #[error("duplicate member {0:?}")]
    DuplicateMember(String),
    /// `alg` is `none` (in any case), unknown, or not the algorithm the key is bound to.
    #[error("algorithm not accepted")]
    Algorithm,
    /// The header lists `crit` extensions (none are understood).
    #[error("unsupported critical header")]
    Crit,
    /// `typ` is not the required type.
    #[error("wrong typ")]
    Typ,
    /// No `kid` and several keys, or a `kid` that is not in the key set.
    #[error("unknown key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("bad signature")]
    Signature,
    /// `exp` is missing, not a number, or past (beyond the leeway).
    #[error("expired or missing exp")]
    Expired,
    /// A time claim is not a NumericDate.
    #[error("invalid {0}")]
    InvalidClaim(&'static str),
    /// `nbf` is in the future (beyond the leeway).
    #[error("not yet valid")]
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    #[error("issued in the future")]
    IssuedInFuture,
    /// The token lives longer than the maximum lifetime.
    #[error("lifetime too long")]
    LifetimeTooLong,
    /// `iss` missing or not accepted.
    #[error("issuer not accepted")]
    Issuer,
    /// `aud` missing or not accepted.
    #[error("audience not accepted")]
    Audience,
    /// A required claim is missing (e.g. `sub`, `jti`).
    #[error("missing claim {0}")]
    MissingClaim(&'static str),
    /// The `jti` is on the revocation list.
    #[error("revoked")]
    Revoked,
    /// The claims do not deserialize into the application's type.
    #[error("claims do not match the expected type")]
    ClaimsType,
    /// The key source or the revocation store is unavailable (fail closed).
    #[error("unavailable: {0}")]
    Unavailable(&'static str),
}

impl VerifyError {
    /// The audit reason code.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            VerifyError::TooLarge => "jwt_too_large",
            VerifyError::Malformed(_) => "jwt_malformed",
            VerifyError::DuplicateMember(_) => "jwt_duplicate_member",
            VerifyError::Algorithm => "jwt_bad_alg",
            VerifyError::Crit => "jwt_crit",
            VerifyError::Typ => "jwt_wrong_typ",
            VerifyError::UnknownKey => "jwt_unknown_kid",
            VerifyError::Signature => "jwt_bad_signature",
            VerifyError::Expired => "jwt_expired",
            VerifyError::InvalidClaim(_) => "jwt_invalid_claim",
            VerifyError::NotYetValid => "jwt_not_yet_valid",
            VerifyError::IssuedInFuture => "jwt_iat_in_future",
            VerifyError::LifetimeTooLong => "jwt_lifetime_too_long",
            VerifyError::Issuer => "jwt_bad_issuer",
            VerifyError::Audience => "jwt_bad_audience",
            VerifyError::MissingClaim(_) => "jwt_missing_claim",
            VerifyError::Revoked => "jwt_revoked",
            VerifyError::ClaimsType => "jwt_claims_type",
            VerifyError::Unavailable(_) => "jwt_backend_unavailable",
        }
    }
}
