//! [`CookieKey`] and [`CookieKeys`]: the keys that sign (or encrypt) session cookies, with
//! rotation.

use std::fmt;

use auth_core::Secret;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::id::{hex, random_bytes};
use crate::mac::MacKey;
use crate::{ConfigError, Error};

/// The least key material a [`CookieKey`] takes: 64 bytes, what the `cookie` crate's
/// `Key` needs (32 for HMAC-SHA256 signing, 32 for AES-256-GCM encryption).
pub const MIN_KEY_LEN: usize = 64;

/// The bytes of key material that sign cookies: the first 32, as the `cookie` crate's
/// `Key::signing` takes them.
const SIGNING_KEY_LEN: usize = 32;

/// One key for session cookies: at least [`MIN_KEY_LEN`] bytes of random key material.
///
/// The material is held in zeroize-on-drop memory and never printed: `Debug` shows only
/// [`CookieKey::key_id`], a short public name for runbooks and logs.
///
/// # Examples
///
/// ```
/// use auth_session::CookieKey;
///
/// // Once, offline: make a key and put it in your secret store.
/// let key = CookieKey::generate()?;
/// let stored = key.expose_base64();
///
/// // At start-up: read it back.
/// let key = CookieKey::from_base64(&stored)?;
/// assert_eq!(key.key_id().len(), 10);
/// assert!(!format!("{key:?}").contains(&stored[..16]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Security
///
/// Signed cookies are checked with an HMAC keyed once and held beside the material; that
/// keyed state (as good as the key) cannot be zeroized with hmac 0.12, so it is wiped only
/// by the allocator's reuse. For encrypted cookies and for issuing, the `cookie` crate
/// builds its own `Key` from this material for each operation; that transient copy lives on
/// the stack and is not zeroized by the `cookie` crate. The material itself is.
#[derive(Clone)]
pub struct CookieKey {
    material: Secret,
    mac: MacKey,
    key_id: String,
}

impl CookieKey {
    /// A new key: [`MIN_KEY_LEN`] bytes from the operating system's CSPRNG.
    ///
    /// # Errors
    ///
    /// [`Error::Random`] when the generator fails.
    pub fn generate() -> Result<Self, Error> {
        let mut bytes = Zeroizing::new([0_u8; MIN_KEY_LEN]);
        random_bytes(bytes.as_mut())?;
        Ok(Self::new(Secret::from(&bytes[..])))
    }

    /// A key from raw key material.
    ///
    /// # Errors
    ///
    /// [`ConfigError::WeakKey`] when `material` is shorter than [`MIN_KEY_LEN`] bytes.
    pub fn from_bytes(material: &[u8]) -> Result<Self, ConfigError> {
        if material.len() < MIN_KEY_LEN {
            return Err(ConfigError::WeakKey {
                len: material.len(),
                min: MIN_KEY_LEN,
            });
        }
        Ok(Self::new(Secret::from(material)))
    }

    /// A key from base64 text (standard or URL-safe alphabet, padded or not), as
    /// [`CookieKey::expose_base64`] writes it.
    ///
    /// # Errors
    ///
    /// [`ConfigError::WeakKey`] when the text is not base64 or decodes to fewer than
    /// [`MIN_KEY_LEN`] bytes.
    pub fn from_base64(text: &str) -> Result<Self, ConfigError> {
        let text = text.trim();
        let unpadded = text.trim_end_matches('=');
        let decoded = URL_SAFE_NO_PAD
            .decode(unpadded)
            .or_else(|_| STANDARD.decode(text))
            .map(Zeroizing::new)
            .map_err(|_| ConfigError::WeakKey {
                len: 0,
                min: MIN_KEY_LEN,
            })?;
        Self::from_bytes(&decoded)
    }

    fn new(material: Secret) -> Self {
        let digest = Sha256::new()
            .chain_update(b"auth-session/v1/key-id\0")
            .chain_update(material.expose_secret())
            .finalize();
        let key_id = format!("k_{}", hex(&digest[..4]));
        let mac = MacKey::new(&material.expose_secret()[..SIGNING_KEY_LEN]);
        Self {
            material,
            mac,
            key_id,
        }
    }

    /// A short public name for the key (`k_` and 8 hex digits of a hash of it): safe in
    /// logs and runbooks, useless for forging.
    #[must_use]
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The key material as unpadded base64url, to store in a secret manager.
    #[must_use]
    pub fn expose_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(URL_SAFE_NO_PAD.encode(self.material.expose_secret()))
    }

    /// The HMAC-SHA256 key that signs cookies (the `cookie` crate's signing key, pads
    /// precomputed).
    pub(crate) fn mac(&self) -> &MacKey {
        &self.mac
    }

    /// The `cookie` crate's key, built for one operation.
    pub(crate) fn cookie_key(&self) -> cookie::Key {
        cookie::Key::from(self.material.expose_secret())
    }
}

impl fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// The key ring: the current key, which signs every cookie sent, and previous keys, which
/// are still accepted so a rotation logs nobody out.
///
/// A cookie that verifies only under a previous key is accepted and **re-issued** under the
/// current key in the same response (see the crate docs, "Key rotation runbook"). A cookie
/// that verifies under no key is no session.
///
/// # Examples
///
/// ```
/// use auth_session::{CookieKey, CookieKeys};
///
/// # let (new_key, old_key) = (CookieKey::generate()?, CookieKey::generate()?);
/// let keys = CookieKeys::new(new_key).with_previous(old_key);
/// assert_eq!(keys.previous().len(), 1);
/// # Ok::<(), auth_session::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct CookieKeys {
    current: CookieKey,
    previous: Vec<CookieKey>,
}

impl CookieKeys {
    /// A ring with one key.
    #[must_use]
    pub fn new(current: CookieKey) -> Self {
        Self {
            current,
            previous: Vec::new(),
        }
    }

    /// Also accepts cookies made with `key` (tried after the current key and any previous
    /// key added before it).
    #[must_use]
    pub fn with_previous(mut self, key: CookieKey) -> Self {
        self.previous.push(key);
        self
    }

    /// The key that protects every cookie sent.
    #[must_use]
    pub fn current(&self) -> &CookieKey {
        &self.current
    }

    /// The keys still accepted.
    #[must_use]
    pub fn previous(&self) -> &[CookieKey] {
        &self.previous
    }

    /// Every key, the current one first.
    pub(crate) fn all(&self) -> impl Iterator<Item = &CookieKey> {
        std::iter::once(&self.current).chain(&self.previous)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_are_refused() {
        assert_eq!(
            CookieKey::from_bytes(&[1; 63]).unwrap_err(),
            ConfigError::WeakKey { len: 63, min: 64 }
        );
        assert!(CookieKey::from_bytes(&[1; 64]).is_ok());
        assert!(CookieKey::from_base64("c2hvcnQ=").is_err());
        assert!(CookieKey::from_base64("not base64 at all!").is_err());
    }

    #[test]
    fn base64_round_trips_in_both_alphabets() {
        let key = CookieKey::generate().unwrap();
        let url = key.expose_base64();
        let again = CookieKey::from_base64(&url).unwrap();
        assert_eq!(again.key_id(), key.key_id());
        let standard = STANDARD.encode(key.material.expose_secret());
        assert_eq!(
            CookieKey::from_base64(&standard).unwrap().key_id(),
            key.key_id()
        );
    }

    #[test]
    fn debug_shows_the_key_id_only() {
        let key = CookieKey::from_bytes(&[0x41; 64]).unwrap();
        let debug = format!("{key:?}");
        assert!(debug.contains(key.key_id()));
        assert!(!debug.contains("AAAA"), "{debug}");
    }
}
