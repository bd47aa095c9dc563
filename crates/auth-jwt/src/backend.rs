//! The signature backend: a `jsonwebtoken` [`CryptoProvider`] built on `ring`.
//!
//! # Why ring
//!
//! jsonwebtoken 11 leaves the cryptography to a provider: its `aws_lc_rs` feature, its
//! `rust_crypto` feature, or one supplied by the application. We supply one on `ring`:
//!
//! - `rust_crypto` verifies RSA with the `rsa` crate, which has an open advisory
//!   (RUSTSEC-2023-0071, the Marvin timing attack); nothing with an open advisory may sit on
//!   our verification path. It was also the slowest measured (RS256 ~122 µs, ES256 ~158 µs).
//! - `aws_lc_rs` is fast (RS256 ~16 µs, ES256 ~37 µs) but compiles AWS-LC, a large C/C++
//!   library, adding minutes to a clean build on a 2-core machine.
//! - `ring` is already in every build of this workspace (rustls, reqwest), so it adds no
//!   build time; it has no open advisory, covers every algorithm we support (HS256/384/512,
//!   RS256/384/512, PS256/384/512, ES256/384, EdDSA over Ed25519), and its API is the one
//!   aws-lc-rs copies, so this module mirrors jsonwebtoken's own aws-lc provider.
//!   The benchmark (`cargo bench -p auth-jwt`) reports its speed next to the floor.
//!
//! The choice is made here, in one place: [`install`] makes this provider jsonwebtoken's
//! process default (so `jsonwebtoken::encode`/`decode` work for the application too), and
//! auth-jwt's own keys hold ring verifiers and signers built once per key, so a feature
//! change elsewhere in a workspace (enabling both or neither jsonwebtoken backend, which
//! compiles and then panics at the first use) cannot break verification here. The test
//! `every_algorithm_signs_and_verifies` exercises each algorithm through this module.

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error as JwtError, ErrorKind};
use jsonwebtoken::jwk::{EllipticCurve, ThumbprintHash};
use jsonwebtoken::signature;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{
    self as rsig, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair, UnparsedPublicKey,
};
use ring::{digest, hmac};

/// A verifier for one key and one algorithm, prepared once.
pub(crate) enum RingVerifier {
    Hmac(Algorithm, hmac::Key),
    RsaDer(Algorithm, &'static rsig::RsaParameters, Vec<u8>),
    RsaComponents(Algorithm, &'static rsig::RsaParameters, Vec<u8>, Vec<u8>),
    Ecdsa(
        Algorithm,
        &'static rsig::EcdsaVerificationAlgorithm,
        Vec<u8>,
    ),
    Ed25519(Vec<u8>),
}

/// A signer for one key and one algorithm, prepared once (the private key is parsed here).
pub(crate) enum RingSigner {
    Hmac(Algorithm, hmac::Key),
    Rsa(Algorithm, &'static dyn rsig::RsaEncoding, RsaKeyPair),
    Ecdsa(Algorithm, EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

fn hmac_algorithm(alg: Algorithm) -> Option<hmac::Algorithm> {
    match alg {
        Algorithm::HS256 => Some(hmac::HMAC_SHA256),
        Algorithm::HS384 => Some(hmac::HMAC_SHA384),
        Algorithm::HS512 => Some(hmac::HMAC_SHA512),
        _ => None,
    }
}

fn rsa_verification(alg: Algorithm) -> Option<&'static rsig::RsaParameters> {
    Some(match alg {
        Algorithm::RS256 => &rsig::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &rsig::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &rsig::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &rsig::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &rsig::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &rsig::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

fn rsa_signing(alg: Algorithm) -> Option<&'static dyn rsig::RsaEncoding> {
    Some(match alg {
        Algorithm::RS256 => &rsig::RSA_PKCS1_SHA256,
        Algorithm::RS384 => &rsig::RSA_PKCS1_SHA384,
        Algorithm::RS512 => &rsig::RSA_PKCS1_SHA512,
        Algorithm::PS256 => &rsig::RSA_PSS_SHA256,
        Algorithm::PS384 => &rsig::RSA_PSS_SHA384,
        Algorithm::PS512 => &rsig::RSA_PSS_SHA512,
        _ => return None,
    })
}

fn ecdsa_verification(alg: Algorithm) -> Option<&'static rsig::EcdsaVerificationAlgorithm> {
    match alg {
        Algorithm::ES256 => Some(&rsig::ECDSA_P256_SHA256_FIXED),
        Algorithm::ES384 => Some(&rsig::ECDSA_P384_SHA384_FIXED),
        _ => None,
    }
}

fn ecdsa_signing(alg: Algorithm) -> Option<&'static rsig::EcdsaSigningAlgorithm> {
    match alg {
        Algorithm::ES256 => Some(&rsig::ECDSA_P256_SHA256_FIXED_SIGNING),
        Algorithm::ES384 => Some(&rsig::ECDSA_P384_SHA384_FIXED_SIGNING),
        _ => None,
    }
}

fn family_error(alg: Algorithm) -> JwtError {
    let kind = match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => ErrorKind::InvalidKeyFormat,
        Algorithm::ES256 | Algorithm::ES384 => ErrorKind::InvalidEcdsaKey,
        Algorithm::EdDSA => ErrorKind::InvalidEddsaKey,
        _ => ErrorKind::InvalidRsaKey("not an RSA key".to_owned()),
    };
    kind.into()
}

impl RingVerifier {
    /// Prepares verification of `alg` signatures with `key`.
    pub(crate) fn new(alg: Algorithm, key: &DecodingKey) -> Result<Self, JwtError> {
        if key.family() != alg.family() {
            return Err(ErrorKind::InvalidAlgorithm.into());
        }
        let bytes = |key: &DecodingKey| match key.kind() {
            DecodingKeyKind::SecretOrDer(bytes) => Ok(bytes.clone()),
            DecodingKeyKind::RsaModulusExponent { .. } => Err(family_error(alg)),
        };
        Ok(match alg.family() {
            AlgorithmFamily::Hmac => {
                let algorithm = hmac_algorithm(alg).ok_or_else(|| family_error(alg))?;
                RingVerifier::Hmac(alg, hmac::Key::new(algorithm, &bytes(key)?))
            }
            AlgorithmFamily::Rsa => {
                let params = rsa_verification(alg).ok_or_else(|| family_error(alg))?;
                match key.kind() {
                    DecodingKeyKind::SecretOrDer(der) => {
                        RingVerifier::RsaDer(alg, params, der.clone())
                    }
                    DecodingKeyKind::RsaModulusExponent { n, e } => {
                        RingVerifier::RsaComponents(alg, params, n.clone(), e.clone())
                    }
                }
            }
            AlgorithmFamily::Ec => {
                let params = ecdsa_verification(alg).ok_or_else(|| family_error(alg))?;
                RingVerifier::Ecdsa(alg, params, bytes(key)?)
            }
            AlgorithmFamily::Ed => RingVerifier::Ed25519(bytes(key)?),
        })
    }

    /// Whether `signature` is a valid signature of `message`. HMAC tags are compared in
    /// constant time (ring's `hmac::verify`).
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            RingVerifier::Hmac(_, key) => hmac::verify(key, message, signature).is_ok(),
            RingVerifier::RsaDer(_, params, der) => UnparsedPublicKey::new(*params, der)
                .verify(message, signature)
                .is_ok(),
            RingVerifier::RsaComponents(_, params, n, e) => rsig::RsaPublicKeyComponents { n, e }
                .verify(params, message, signature)
                .is_ok(),
            RingVerifier::Ecdsa(_, params, point) => UnparsedPublicKey::new(*params, point)
                .verify(message, signature)
                .is_ok(),
            RingVerifier::Ed25519(public) => UnparsedPublicKey::new(&rsig::ED25519, public)
                .verify(message, signature)
                .is_ok(),
        }
    }
}

impl signature::Verifier<Vec<u8>> for RingVerifier {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        if RingVerifier::verify(self, msg, signature) {
            Ok(())
        } else {
            Err(signature::Error::new())
        }
    }
}

impl JwtVerifier for RingVerifier {
    fn algorithm(&self) -> Algorithm {
        match self {
            RingVerifier::Hmac(alg, _)
            | RingVerifier::RsaDer(alg, ..)
            | RingVerifier::RsaComponents(alg, ..)
            | RingVerifier::Ecdsa(alg, ..) => *alg,
            RingVerifier::Ed25519(_) => Algorithm::EdDSA,
        }
    }
}

impl RingSigner {
    /// Prepares signing with `alg` and the private `key` (parsed once, here).
    pub(crate) fn new(alg: Algorithm, key: &EncodingKey) -> Result<Self, JwtError> {
        if key.family() != alg.family() {
            return Err(ErrorKind::InvalidAlgorithm.into());
        }
        let bytes = key.as_bytes();
        Ok(match alg.family() {
            AlgorithmFamily::Hmac => {
                let algorithm = hmac_algorithm(alg).ok_or_else(|| family_error(alg))?;
                RingSigner::Hmac(alg, hmac::Key::new(algorithm, bytes))
            }
            AlgorithmFamily::Rsa => {
                let padding = rsa_signing(alg).ok_or_else(|| family_error(alg))?;
                let pair = RsaKeyPair::from_der(bytes)
                    .or_else(|_| RsaKeyPair::from_pkcs8(bytes))
                    .map_err(|e| ErrorKind::InvalidRsaKey(e.to_string()))?;
                RingSigner::Rsa(alg, padding, pair)
            }
            AlgorithmFamily::Ec => {
                let params = ecdsa_signing(alg).ok_or_else(|| family_error(alg))?;
                let pair = EcdsaKeyPair::from_pkcs8(params, bytes, &SystemRandom::new())
                    .map_err(|_| ErrorKind::InvalidEcdsaKey)?;
                RingSigner::Ecdsa(alg, pair)
            }
            AlgorithmFamily::Ed => RingSigner::Ed25519(
                Ed25519KeyPair::from_pkcs8_maybe_unchecked(bytes)
                    .map_err(|_| ErrorKind::InvalidEddsaKey)?,
            ),
        })
    }

    /// Signs `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, JwtError> {
        match self {
            RingSigner::Hmac(_, key) => Ok(hmac::sign(key, message).as_ref().to_vec()),
            RingSigner::Rsa(_, padding, pair) => {
                let mut signature = vec![0; pair.public().modulus_len()];
                pair.sign(*padding, &SystemRandom::new(), message, &mut signature)
                    .map_err(|_| ErrorKind::InvalidRsaKey("RSA signing failed".to_owned()))?;
                Ok(signature)
            }
            RingSigner::Ecdsa(_, pair) => pair
                .sign(&SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| ErrorKind::InvalidEcdsaKey.into()),
            RingSigner::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }

    /// The public key bytes of an asymmetric signer: RSA `(n, e)`, EC uncompressed point,
    /// Ed25519 32 bytes.
    pub(crate) fn public_key(&self) -> Option<PublicParts> {
        match self {
            RingSigner::Hmac(..) => None,
            RingSigner::Rsa(_, _, pair) => {
                let components: rsig::RsaPublicKeyComponents<Vec<u8>> = pair.public().into();
                Some(PublicParts::Rsa {
                    n: components.n,
                    e: components.e,
                })
            }
            RingSigner::Ecdsa(_, pair) => {
                Some(PublicParts::Point(pair.public_key().as_ref().to_vec()))
            }
            RingSigner::Ed25519(pair) => {
                Some(PublicParts::Point(pair.public_key().as_ref().to_vec()))
            }
        }
    }
}

/// Public key material, as a JWK needs it.
pub(crate) enum PublicParts {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Point(Vec<u8>),
}

impl signature::Signer<Vec<u8>> for RingSigner {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        self.sign(msg).map_err(signature::Error::from_source)
    }
}

impl JwtSigner for RingSigner {
    fn algorithm(&self) -> Algorithm {
        match self {
            RingSigner::Hmac(alg, _) | RingSigner::Rsa(alg, ..) | RingSigner::Ecdsa(alg, _) => *alg,
            RingSigner::Ed25519(_) => Algorithm::EdDSA,
        }
    }
}

/// Reads `SEQUENCE { INTEGER n, INTEGER e }` (PKCS#1 `RSAPublicKey`), as jsonwebtoken stores
/// RSA public keys from PEM.
fn rsa_public_components(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), JwtError> {
    fn read(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
        let (&first, rest) = input.split_first()?;
        if first != tag {
            return None;
        }
        let (&len0, rest) = rest.split_first()?;
        let (len, rest) = if len0 < 0x80 {
            (usize::from(len0), rest)
        } else {
            let count = usize::from(len0 & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return None;
            }
            let len = rest[..count]
                .iter()
                .fold(0_usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, &rest[count..])
        };
        (rest.len() >= len).then(|| rest.split_at(len))
    }
    let bad = || {
        JwtError::from(ErrorKind::InvalidRsaKey(
            "malformed RSAPublicKey".to_owned(),
        ))
    };
    let (body, _) = read(der, 0x30).ok_or_else(bad)?;
    let (n, rest) = read(body, 0x02).ok_or_else(bad)?;
    let (e, _) = read(rest, 0x02).ok_or_else(bad)?;
    let strip = |v: &[u8]| {
        let start = v.iter().position(|&b| b != 0).unwrap_or(v.len());
        v[start..].to_vec()
    };
    Ok((strip(n), strip(e)))
}

fn rsa_components_from_private_key(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), JwtError> {
    let pair = RsaKeyPair::from_der(der)
        .or_else(|_| RsaKeyPair::from_pkcs8(der))
        .map_err(|e| ErrorKind::InvalidRsaKey(e.to_string()))?;
    let components: rsig::RsaPublicKeyComponents<Vec<u8>> = pair.public().into();
    Ok((components.n, components.e))
}

fn ec_components_from_private_key(
    der: &[u8],
    alg: Algorithm,
) -> Result<(EllipticCurve, Vec<u8>, Vec<u8>), JwtError> {
    let (params, curve, width) = match alg {
        Algorithm::ES256 => (
            &rsig::ECDSA_P256_SHA256_FIXED_SIGNING,
            EllipticCurve::P256,
            32,
        ),
        Algorithm::ES384 => (
            &rsig::ECDSA_P384_SHA384_FIXED_SIGNING,
            EllipticCurve::P384,
            48,
        ),
        _ => return Err(ErrorKind::InvalidEcdsaKey.into()),
    };
    let pair = EcdsaKeyPair::from_pkcs8(params, der, &SystemRandom::new())
        .map_err(|_| ErrorKind::InvalidEcdsaKey)?;
    let point = pair.public_key().as_ref();
    if point.first() != Some(&4) || point.len() != 1 + 2 * width {
        return Err(ErrorKind::InvalidEcdsaKey.into());
    }
    let (x, y) = point[1..].split_at(width);
    Ok((curve, x.to_vec(), y.to_vec()))
}

fn ed_components_from_private_key(der: &[u8], curve: &EllipticCurve) -> Result<Vec<u8>, JwtError> {
    match curve {
        EllipticCurve::Ed25519 => Ok(Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map_err(|_| ErrorKind::InvalidEddsaKey)?
            .public_key()
            .as_ref()
            .to_vec()),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

fn compute_digest(data: &[u8], hash: ThumbprintHash) -> Result<Vec<u8>, JwtError> {
    let algorithm = match hash {
        ThumbprintHash::SHA256 => &digest::SHA256,
        ThumbprintHash::SHA384 => &digest::SHA384,
        ThumbprintHash::SHA512 => &digest::SHA512,
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    };
    Ok(digest::digest(algorithm, data).as_ref().to_vec())
}

/// The ring-backed provider.
pub static RING_PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: |alg, key| Ok(Box::new(RingSigner::new(*alg, key)?)),
    verifier_factory: |alg, key| Ok(Box::new(RingVerifier::new(*alg, key)?)),
    key_utils: KeyUtils {
        rsa_pub_components_from_private_key: rsa_components_from_private_key,
        rsa_pub_components_from_public_key: rsa_public_components,
        ec_pub_components_from_private_key: ec_components_from_private_key,
        ed_pub_components_from_private_key: ed_components_from_private_key,
        compute_digest,
    },
};

/// Makes [`RING_PROVIDER`] jsonwebtoken's process-wide default, unless the application
/// installed another one first (then that one serves `jsonwebtoken::encode`/`decode`;
/// auth-jwt's own keys use ring either way). Called by every key constructor; cheap.
pub fn install() {
    let _ = RING_PROVIDER.install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkcs1_public_key_components_are_read() {
        // SEQUENCE { INTEGER 0x00c3 (leading zero kept by DER), INTEGER 0x010001 }
        let der = [
            0x30, 0x09, 0x02, 0x02, 0x00, 0xc3, 0x02, 0x03, 0x01, 0x00, 0x01,
        ];
        assert_eq!(
            rsa_public_components(&der).unwrap(),
            (vec![0xc3], vec![0x01, 0x00, 0x01])
        );
        assert!(rsa_public_components(&der[..5]).is_err());
        assert!(rsa_public_components(&[0x31, 0x00]).is_err());
    }

    #[test]
    fn a_key_of_another_family_is_refused() {
        let hmac = DecodingKey::from_secret(&[7; 32]);
        assert!(RingVerifier::new(Algorithm::RS256, &hmac).is_err());
        assert!(RingVerifier::new(Algorithm::HS256, &hmac).is_ok());
    }
}
