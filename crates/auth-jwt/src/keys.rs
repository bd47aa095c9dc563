//! [`Key`] (one key bound to one algorithm) and [`KeySet`] (rotation: add → promote →
//! retire), with JWKS publishing.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use auth_core::Secret;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
    EllipticCurveKeyType, Jwk, JwkSet, KeyAlgorithm, OctetKeyPairParameters, OctetKeyPairType,
    PublicKeyUse, RSAKeyParameters, RSAKeyType,
};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING};

use crate::KeyError;
use crate::backend::{self, PublicParts, RingSigner, RingVerifier};

/// Every algorithm auth-jwt accepts.
pub const ALGORITHMS: [Algorithm; 12] = [
    Algorithm::HS256,
    Algorithm::HS384,
    Algorithm::HS512,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The JOSE name of `alg` (`"HS256"`, `"EdDSA"`, ...).
#[must_use]
pub fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::EdDSA => "EdDSA",
        _ => "unsupported",
    }
}

/// Parses a JOSE algorithm name exactly (case-sensitive, RFC 7515 §4.1.1); `none` is never
/// a name auth-jwt knows.
#[must_use]
pub fn parse_alg(name: &str) -> Option<Algorithm> {
    ALGORITHMS.into_iter().find(|a| alg_name(*a) == name)
}

fn invalid(alg: Algorithm, reason: impl fmt::Display) -> KeyError {
    KeyError::Invalid {
        alg: alg_name(alg).to_owned(),
        reason: reason.to_string(),
    }
}

fn min_hmac_bytes(alg: Algorithm) -> usize {
    match alg {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => 32,
    }
}

/// One key, bound to exactly one algorithm (RFC 8725 §3.1), with its `kid`.
///
/// A token is verified with a key only when its header names the key's algorithm; the
/// algorithm is never taken from the token. Private keys sign; every key verifies.
///
/// # Examples
///
/// ```
/// use auth_jwt::{Algorithm, Key};
///
/// let hmac = Key::hmac("2026-01", Algorithm::HS256, &[7_u8; 32].as_slice().into())?;
/// assert_eq!(hmac.kid(), "2026-01");
/// assert!(Key::hmac("short", Algorithm::HS256, &[7_u8; 16].as_slice().into()).is_err());
///
/// let es256 = Key::generate("es-1", Algorithm::ES256)?;
/// assert!(es256.can_sign() && es256.public_jwk().is_some());
/// # Ok::<(), auth_jwt::KeyError>(())
/// ```
pub struct Key {
    kid: String,
    alg: Algorithm,
    verifier: RingVerifier,
    signer: Option<RingSigner>,
    public_jwk: Option<Jwk>,
}

impl Key {
    fn check_kid(kid: &str) -> Result<(), KeyError> {
        if kid.is_empty() || kid.len() > 256 || kid.chars().any(char::is_control) {
            return Err(KeyError::Config(
                "a kid must be 1 to 256 characters without control characters".into(),
            ));
        }
        Ok(())
    }

    /// An HMAC key (`HS256`, `HS384`, `HS512`) of at least the hash size (32, 48, 64 bytes;
    /// RFC 7518 §3.2).
    ///
    /// # Errors
    ///
    /// [`KeyError::WeakHmacKey`] for a shorter secret; [`KeyError::Invalid`] for a non-HMAC
    /// algorithm.
    pub fn hmac(kid: impl Into<String>, alg: Algorithm, secret: &Secret) -> Result<Key, KeyError> {
        let min = min_hmac_bytes(alg);
        if secret.len() < min {
            return Err(KeyError::WeakHmacKey {
                alg: alg_name(alg).to_owned(),
                bits: secret.len() * 8,
                min_bits: min * 8,
            });
        }
        Self::dangerous_hmac_any_length(kid, alg, secret)
    }

    /// **Dangerous.** An HMAC key of any length. Short secrets can be brute-forced offline
    /// from a single token (RFC 8725 §3.5). Only to verify tokens from a legacy issuer you do
    /// not control, while it moves to a real key.
    ///
    /// # Errors
    ///
    /// [`KeyError::Invalid`] for a non-HMAC algorithm or an empty secret.
    pub fn dangerous_hmac_any_length(
        kid: impl Into<String>,
        alg: Algorithm,
        secret: &Secret,
    ) -> Result<Key, KeyError> {
        let kid = kid.into();
        Self::check_kid(&kid)?;
        if alg.family() != AlgorithmFamily::Hmac || secret.is_empty() {
            return Err(invalid(
                alg,
                "an HMAC key needs HS256/384/512 and a non-empty secret",
            ));
        }
        backend::install();
        let encoding = EncodingKey::from_secret(secret.expose_secret());
        let decoding = DecodingKey::from_secret(secret.expose_secret());
        Ok(Key {
            verifier: RingVerifier::new(alg, &decoding).map_err(|e| invalid(alg, e))?,
            signer: Some(RingSigner::new(alg, &encoding).map_err(|e| invalid(alg, e))?),
            public_jwk: None,
            kid,
            alg,
        })
    }

    fn from_signer(kid: String, alg: Algorithm, signer: RingSigner) -> Result<Key, KeyError> {
        Self::check_kid(&kid)?;
        let parts = signer
            .public_key()
            .ok_or_else(|| invalid(alg, "not an asymmetric key"))?;
        let decoding = decoding_from_parts(alg, &parts);
        let public_jwk = jwk_from_parts(&kid, alg, &parts)?;
        Ok(Key {
            verifier: RingVerifier::new(alg, &decoding).map_err(|e| invalid(alg, e))?,
            signer: Some(signer),
            public_jwk: Some(public_jwk),
            kid,
            alg,
        })
    }

    fn from_decoding(kid: String, alg: Algorithm, decoding: &DecodingKey) -> Result<Key, KeyError> {
        Self::check_kid(&kid)?;
        if alg.family() == AlgorithmFamily::Hmac {
            return Err(invalid(alg, "use Key::hmac for HMAC keys"));
        }
        backend::install();
        let verifier = RingVerifier::new(alg, decoding).map_err(|e| invalid(alg, e))?;
        let mut jwk = Jwk::from_decoding_key(decoding, Some(alg)).map_err(|e| invalid(alg, e))?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        Ok(Key {
            verifier,
            signer: None,
            public_jwk: Some(jwk),
            kid,
            alg,
        })
    }

    /// A signing key from a PEM private key: RSA (`RSA PRIVATE KEY` or PKCS#8), EC P-256/P-384
    /// (PKCS#8) or Ed25519 (PKCS#8).
    ///
    /// # Errors
    ///
    /// [`KeyError::Invalid`] when the PEM does not hold a private key for `alg`.
    pub fn from_private_pem(
        kid: impl Into<String>,
        alg: Algorithm,
        pem: &[u8],
    ) -> Result<Key, KeyError> {
        backend::install();
        let encoding = match alg.family() {
            AlgorithmFamily::Rsa => EncodingKey::from_rsa_pem(pem),
            AlgorithmFamily::Ec => EncodingKey::from_ec_pem(pem),
            AlgorithmFamily::Ed => EncodingKey::from_ed_pem(pem),
            AlgorithmFamily::Hmac => return Err(invalid(alg, "use Key::hmac for HMAC keys")),
        }
        .map_err(|e| invalid(alg, e))?;
        let signer = RingSigner::new(alg, &encoding).map_err(|e| invalid(alg, e))?;
        Self::from_signer(kid.into(), alg, signer)
    }

    /// A signing key from DER: PKCS#1 `RSAPrivateKey` or PKCS#8 for RSA, PKCS#8 for EC and
    /// Ed25519.
    ///
    /// # Errors
    ///
    /// [`KeyError::Invalid`] when the DER does not hold a private key for `alg`.
    pub fn from_private_der(
        kid: impl Into<String>,
        alg: Algorithm,
        der: &[u8],
    ) -> Result<Key, KeyError> {
        backend::install();
        let encoding = match alg.family() {
            AlgorithmFamily::Rsa => EncodingKey::from_rsa_der(der),
            AlgorithmFamily::Ec => EncodingKey::from_ec_der(der),
            AlgorithmFamily::Ed => EncodingKey::from_ed_der(der),
            AlgorithmFamily::Hmac => return Err(invalid(alg, "use Key::hmac for HMAC keys")),
        };
        let signer = RingSigner::new(alg, &encoding).map_err(|e| invalid(alg, e))?;
        Self::from_signer(kid.into(), alg, signer)
    }

    /// A verification-only key from a PEM public key (`PUBLIC KEY`, or `RSA PUBLIC KEY`).
    ///
    /// # Errors
    ///
    /// [`KeyError::Invalid`] when the PEM does not hold a public key for `alg`.
    pub fn from_public_pem(
        kid: impl Into<String>,
        alg: Algorithm,
        pem: &[u8],
    ) -> Result<Key, KeyError> {
        let decoding = match alg.family() {
            AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(pem),
            AlgorithmFamily::Ec => DecodingKey::from_ec_pem(pem),
            AlgorithmFamily::Ed => DecodingKey::from_ed_pem(pem),
            AlgorithmFamily::Hmac => return Err(invalid(alg, "use Key::hmac for HMAC keys")),
        }
        .map_err(|e| invalid(alg, e))?;
        Self::from_decoding(kid.into(), alg, &decoding)
    }

    /// A verification-only key from a public JWK. The JWK must carry a `kid`; its `alg`,
    /// when present, binds the key; when absent it is inferred where unambiguous (EC P-256 →
    /// ES256, P-384 → ES384, OKP Ed25519 → EdDSA) and taken as RS256 for RSA (the common
    /// case; publish `alg` to use PS256). Keys marked `"use": "enc"` are refused.
    ///
    /// # Errors
    ///
    /// [`KeyError::Jwk`] when the JWK has no `kid`, an unsupported key type or algorithm,
    /// or is an encryption key; symmetric (`oct`) JWKs are refused too: HMAC secrets are
    /// never exchanged as JWKs here.
    pub fn from_jwk(jwk: &Jwk) -> Result<Key, KeyError> {
        let kid = jwk
            .common
            .key_id
            .clone()
            .ok_or_else(|| KeyError::Jwk("no kid".into()))?;
        if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
            return Err(KeyError::Jwk(format!("{kid}: an encryption key")));
        }
        let alg = match jwk.common.key_algorithm {
            Some(declared) => Algorithm::try_from(declared)
                .map_err(|_| KeyError::Jwk(format!("{kid}: unsupported alg {declared}")))?,
            None => match &jwk.algorithm {
                AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
                    Algorithm::ES256
                }
                AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P384 => {
                    Algorithm::ES384
                }
                AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
                    Algorithm::EdDSA
                }
                AlgorithmParameters::RSA(_) => Algorithm::RS256,
                _ => return Err(KeyError::Jwk(format!("{kid}: cannot infer the algorithm"))),
            },
        };
        if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
            return Err(KeyError::Jwk(format!(
                "{kid}: symmetric JWKs are not accepted"
            )));
        }
        let decoding =
            DecodingKey::from_jwk(jwk).map_err(|e| KeyError::Jwk(format!("{kid}: {e}")))?;
        if decoding.family() != alg.family() {
            return Err(KeyError::Jwk(format!("{kid}: key type does not match alg")));
        }
        Self::from_decoding(kid, alg, &decoding)
    }

    /// A fresh key pair for `alg` (ES256, ES384, EdDSA) or a fresh 256/384/512-bit HMAC
    /// secret (HS256/384/512), from the OS CSPRNG. RSA keys cannot be generated here (ring
    /// does not generate them): create them with `openssl genpkey` and load the PEM.
    ///
    /// # Errors
    ///
    /// [`KeyError::Unsupported`] for RSA.
    pub fn generate(kid: impl Into<String>, alg: Algorithm) -> Result<Key, KeyError> {
        backend::install();
        let rng = SystemRandom::new();
        let kid = kid.into();
        let pkcs8 = match alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                let mut bytes = vec![0_u8; min_hmac_bytes(alg)];
                getrandom::getrandom(&mut bytes).map_err(|e| invalid(alg, e))?;
                return Self::hmac(kid, alg, &Secret::new(bytes));
            }
            Algorithm::ES256 => ring::signature::EcdsaKeyPair::generate_pkcs8(
                &ECDSA_P256_SHA256_FIXED_SIGNING,
                &rng,
            ),
            Algorithm::ES384 => ring::signature::EcdsaKeyPair::generate_pkcs8(
                &ECDSA_P384_SHA384_FIXED_SIGNING,
                &rng,
            ),
            Algorithm::EdDSA => ring::signature::Ed25519KeyPair::generate_pkcs8(&rng),
            _ => {
                return Err(KeyError::Unsupported(
                    "RSA key generation; load a PEM instead".into(),
                ));
            }
        }
        .map_err(|e| invalid(alg, e))?;
        Self::from_private_der(kid, alg, pkcs8.as_ref())
    }

    /// The key id.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The one algorithm this key is used with.
    #[must_use]
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// Whether the key can sign (holds a private key or an HMAC secret).
    #[must_use]
    pub fn can_sign(&self) -> bool {
        self.signer.is_some()
    }

    /// The public JWK (asymmetric keys only; HMAC secrets are never published).
    #[must_use]
    pub fn public_jwk(&self) -> Option<&Jwk> {
        self.public_jwk.as_ref()
    }

    /// Checks a JWS signature over `signing_input` (`base64url(header) "." base64url(payload)`)
    /// with this key and its algorithm: the JWS layer only (RFC 7515 §5.2). Tokens go through
    /// [`Verifier`](crate::Verifier), which checks everything else.
    #[must_use]
    pub fn verify_signature(&self, signing_input: &[u8], signature: &[u8]) -> bool {
        self.verifier.verify(signing_input, signature)
    }

    /// Signs a JWS signing input with this key (the JWS layer; tokens are made by
    /// [`Issuer`](crate::Issuer)).
    ///
    /// # Errors
    ///
    /// [`KeyError::NoSigningKey`] for a verification-only key.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.signer
            .as_ref()
            .ok_or(KeyError::NoSigningKey)?
            .sign(message)
            .map_err(|e| invalid(self.alg, e))
    }
}

fn decoding_from_parts(alg: Algorithm, parts: &PublicParts) -> DecodingKey {
    match parts {
        PublicParts::Rsa { n, e } => DecodingKey::from_rsa_raw_components(n, e),
        PublicParts::Point(point) => match alg.family() {
            AlgorithmFamily::Ed => DecodingKey::from_ed_der(point),
            _ => DecodingKey::from_ec_der(point),
        },
    }
}

fn jwk_from_parts(kid: &str, alg: Algorithm, parts: &PublicParts) -> Result<Jwk, KeyError> {
    let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    let algorithm = match (alg, parts) {
        (_, PublicParts::Rsa { n, e }) => AlgorithmParameters::RSA(RSAKeyParameters {
            key_type: RSAKeyType::RSA,
            n: b64(n),
            e: b64(e),
        }),
        (Algorithm::EdDSA, PublicParts::Point(point)) => {
            AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x: b64(point),
            })
        }
        (Algorithm::ES256 | Algorithm::ES384, PublicParts::Point(point)) => {
            let (curve, width) = if alg == Algorithm::ES256 {
                (EllipticCurve::P256, 32)
            } else {
                (EllipticCurve::P384, 48)
            };
            if point.len() != 1 + 2 * width {
                return Err(invalid(alg, "unexpected public point length"));
            }
            AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                key_type: EllipticCurveKeyType::EC,
                curve,
                x: b64(&point[1..=width]),
                y: b64(&point[1 + width..]),
            })
        }
        _ => return Err(invalid(alg, "no public JWK for this key")),
    };
    Ok(Jwk {
        common: CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(KeyAlgorithm::from(alg)),
            key_id: Some(kid.to_owned()),
            ..CommonParameters::default()
        },
        algorithm,
    })
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("alg", &alg_name(self.alg))
            .field("can_sign", &self.can_sign())
            .finish_non_exhaustive()
    }
}

/// The keys of an issuer or a resource server: any number of verification keys and at most
/// one active signing key, each with its `kid`.
///
/// Rotation without downtime: [`add`](KeySet::add) the new key (verifiers accept it from
/// now on, and its public JWK is published) → wait until every verifier has it (the JWKS
/// cache lifetime) → [`promote`](KeySet::promote) it (new tokens are signed with it) → wait
/// for the longest token lifetime → [`retire`](KeySet::retire) the old key.
///
/// Cloning is cheap (keys are shared).
#[derive(Clone, Default)]
pub struct KeySet {
    keys: HashMap<String, Arc<Key>>,
    active: Option<String>,
}

impl KeySet {
    /// An empty set.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A set holding `key`, active when it can sign.
    #[must_use]
    pub fn single(key: Key) -> Self {
        let mut set = Self::new();
        let can_sign = key.can_sign();
        let kid = key.kid.clone();
        set.keys.insert(kid.clone(), Arc::new(key));
        if can_sign {
            set.active = Some(kid);
        }
        set
    }

    /// Adds a key (verification starts now; signing only after [`promote`](KeySet::promote)).
    ///
    /// # Errors
    ///
    /// [`KeyError::DuplicateKid`] when the `kid` is taken.
    pub fn add(&mut self, key: Key) -> Result<(), KeyError> {
        if self.keys.contains_key(&key.kid) {
            return Err(KeyError::DuplicateKid(key.kid));
        }
        self.keys.insert(key.kid.clone(), Arc::new(key));
        Ok(())
    }

    /// Makes `kid` the key new tokens are signed with.
    ///
    /// # Errors
    ///
    /// [`KeyError::UnknownKid`], or [`KeyError::NoSigningKey`] when it cannot sign.
    pub fn promote(&mut self, kid: &str) -> Result<(), KeyError> {
        let key = self
            .keys
            .get(kid)
            .ok_or_else(|| KeyError::UnknownKid(kid.to_owned()))?;
        if !key.can_sign() {
            return Err(KeyError::NoSigningKey);
        }
        self.active = Some(kid.to_owned());
        Ok(())
    }

    /// Removes `kid`: tokens signed with it stop verifying.
    ///
    /// # Errors
    ///
    /// [`KeyError::UnknownKid`]; [`KeyError::Config`] when it is the active signing key
    /// (promote another first).
    pub fn retire(&mut self, kid: &str) -> Result<(), KeyError> {
        if self.active.as_deref() == Some(kid) {
            return Err(KeyError::Config(format!(
                "{kid} is the active signing key; promote another key first"
            )));
        }
        self.keys
            .remove(kid)
            .map(|_| ())
            .ok_or_else(|| KeyError::UnknownKid(kid.to_owned()))
    }

    /// The key with `kid`.
    #[must_use]
    pub fn get(&self, kid: &str) -> Option<&Arc<Key>> {
        self.keys.get(kid)
    }

    /// The key to use when a token names no `kid`: the only key, if there is exactly one.
    #[must_use]
    pub fn sole(&self) -> Option<&Arc<Key>> {
        (self.keys.len() == 1)
            .then(|| self.keys.values().next())
            .flatten()
    }

    /// The active signing key.
    #[must_use]
    pub fn active(&self) -> Option<&Arc<Key>> {
        self.active.as_ref().and_then(|kid| self.keys.get(kid))
    }

    /// Number of keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The public keys as a JWKS document (RFC 7517 §5), sorted by `kid`. HMAC keys are
    /// never published.
    #[must_use]
    pub fn jwks(&self) -> JwkSet {
        let mut keys: Vec<Jwk> = self
            .keys
            .values()
            .filter_map(|k| k.public_jwk.clone())
            .collect();
        keys.sort_by(|a, b| a.common.key_id.cmp(&b.common.key_id));
        JwkSet { keys }
    }

    /// A verification-only set from a JWKS document: usable keys are loaded, others (no
    /// `kid`, unsupported, encryption keys) skipped with a warning.
    #[must_use]
    pub fn from_jwks(jwks: &JwkSet) -> Self {
        let mut set = Self::new();
        for jwk in &jwks.keys {
            match Key::from_jwk(jwk) {
                Ok(key) => {
                    if let Err(error) = set.add(key) {
                        tracing::warn!(target: "auth_jwt", %error, "JWKS key skipped");
                    }
                }
                Err(error) => tracing::warn!(target: "auth_jwt", %error, "JWKS key skipped"),
            }
        }
        set
    }
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut kids: Vec<&String> = self.keys.keys().collect();
        kids.sort();
        f.debug_struct("KeySet")
            .field("kids", &kids)
            .field("active", &self.active)
            .finish()
    }
}
