//! What is stored instead of a key: [`KeyHash`], computed by [`KeyHasher`].

use std::fmt;

use auth_core::Secret;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::ConfigError;

/// The least pepper length, in bytes (256 bits, as for any HMAC-SHA256 key).
pub const MIN_PEPPER_LEN: usize = 32;

/// The SHA-256 or HMAC-SHA256 digest of a key: the only form in which a key is stored, and
/// the store's lookup key.
///
/// `Debug` does not print it (it is not the key, but there is no reason to spread it).
/// [`KeyHash::ct_eq`] compares in constant time; `==` exists for map lookups.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyHash([u8; 32]);

impl KeyHash {
    /// A hash from its 32 bytes (as a store reads it back).
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes (as a store writes them).
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Compares in constant time: the XOR of the two, eight bytes at a time, folded into one
    /// word without a branch, then that word compared with zero by `subtle`. (`subtle`'s
    /// slice comparison runs an optimisation barrier per byte: 32 of them here.)
    #[must_use]
    pub fn ct_eq(&self, other: &KeyHash) -> bool {
        let word = |bytes: &[u8; 32], i: usize| {
            u64::from_ne_bytes(bytes[i * 8..i * 8 + 8].try_into().expect("8 bytes"))
        };
        let diff = (0..4).fold(0_u64, |acc, i| acc | (word(&self.0, i) ^ word(&other.0, i)));
        diff.ct_eq(&0).into()
    }
}

impl fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyHash(..)")
    }
}

/// Hashes keys for storage: HMAC-SHA256 under a server-side pepper when one is configured,
/// else SHA-256.
///
/// A key holds 256 random bits, so a fast hash is enough: nobody can guess a key from its
/// hash, and a slow password hash (argon2) would only slow every request down. The pepper
/// adds that a stolen database alone is useless even for checking a candidate key: the
/// pepper lives in the server's configuration, not in the database.
#[derive(Clone)]
pub struct KeyHasher {
    /// The HMAC state after absorbing the pepper, cloned per hash (no per-request key setup).
    peppered: Option<Hmac<Sha256>>,
}

impl KeyHasher {
    /// Plain SHA-256.
    #[must_use]
    pub fn sha256() -> Self {
        Self { peppered: None }
    }

    /// HMAC-SHA256 keyed with `pepper`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::WeakPepper`] when the pepper is shorter than [`MIN_PEPPER_LEN`] bytes.
    pub fn peppered(pepper: &Secret) -> Result<Self, ConfigError> {
        if pepper.len() < MIN_PEPPER_LEN {
            return Err(ConfigError::WeakPepper {
                len: pepper.len(),
                min: MIN_PEPPER_LEN,
            });
        }
        let mac = Hmac::<Sha256>::new_from_slice(pepper.expose_secret())
            .map_err(|_| ConfigError::WeakPepper { len: 0, min: 32 })?;
        Ok(Self {
            peppered: Some(mac),
        })
    }

    /// Whether a pepper is configured.
    #[must_use]
    pub fn is_peppered(&self) -> bool {
        self.peppered.is_some()
    }

    /// The hash of `key` (the whole key text, prefix and checksum included).
    #[must_use]
    pub fn hash(&self, key: &str) -> KeyHash {
        match &self.peppered {
            Some(mac) => {
                let mut mac = mac.clone();
                mac.update(key.as_bytes());
                KeyHash(mac.finalize().into_bytes().into())
            }
            None => KeyHash(Sha256::digest(key.as_bytes()).into()),
        }
    }
}

impl fmt::Debug for KeyHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyHasher")
            .field(
                "algorithm",
                &if self.is_peppered() {
                    "hmac-sha256"
                } else {
                    "sha256"
                },
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sha256_matches_the_fips_180_2_vector() {
        // FIPS 180-2, Appendix B.1: SHA-256("abc").
        assert_eq!(
            hex(KeyHasher::sha256().hash("abc").as_bytes()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn hmac_matches_rfc_4231_test_case_6() {
        // RFC 4231 §4.7: a 131-byte key of 0xaa (longer than the block size).
        let pepper = Secret::from(vec![0xaa_u8; 131]);
        let hasher = KeyHasher::peppered(&pepper).unwrap();
        assert_eq!(
            hex(hasher
                .hash("Test Using Larger Than Block-Size Key - Hash Key First")
                .as_bytes()),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        // The cloned HMAC state is fresh for every hash.
        assert_eq!(hasher.hash("x"), hasher.hash("x"));
        assert_ne!(
            hasher.hash("x"),
            KeyHasher::sha256().hash("x"),
            "the pepper changes the hash"
        );
    }

    #[test]
    fn short_peppers_are_refused() {
        assert!(matches!(
            KeyHasher::peppered(&Secret::from(vec![1_u8; 31])),
            Err(ConfigError::WeakPepper { len: 31, min: 32 })
        ));
    }

    #[test]
    fn ct_eq_sees_a_difference_in_every_byte() {
        let hash = KeyHasher::sha256().hash("k");
        assert!(hash.ct_eq(&KeyHash::from_bytes(*hash.as_bytes())));
        for i in 0..32 {
            for bit in [0x01, 0x80] {
                let mut bytes = *hash.as_bytes();
                bytes[i] ^= bit;
                assert!(
                    !hash.ct_eq(&KeyHash::from_bytes(bytes)),
                    "byte {i}, bit {bit:#x}"
                );
            }
        }
    }

    #[test]
    fn debug_shows_no_bytes() {
        let hash = KeyHasher::sha256().hash("k");
        assert_eq!(format!("{hash:?}"), "KeyHash(..)");
        assert!(hash.ct_eq(&KeyHasher::sha256().hash("k")));
        assert!(!hash.ct_eq(&KeyHasher::sha256().hash("j")));
    }
}
