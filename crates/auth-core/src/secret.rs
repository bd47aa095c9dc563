//! [`Secret`]: bytes that must not leak.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// Secret bytes: a password, an API key, a signing key, a client secret.
///
/// - readable only through [`Secret::expose_secret`] (or [`Secret::expose_str`]), so every
///   read is visible in review;
/// - `Debug` and `Display` print `[redacted]`;
/// - compared in constant time (`==` uses [`subtle`]);
/// - overwritten with zeros when dropped.
///
/// # Examples
///
/// ```
/// use auth_core::Secret;
///
/// let secret = Secret::from("correct horse battery staple");
/// assert_eq!(format!("{secret:?}"), "Secret([redacted])");
/// assert_eq!(secret.to_string(), "[redacted]");
/// assert!(secret == Secret::from("correct horse battery staple"));
/// assert_eq!(secret.expose_str(), Some("correct horse battery staple"));
/// ```
///
/// # Security
///
/// Equality is constant-time in the *contents*; the length of a secret is not hidden (no
/// practical scheme can hide it). Compare fixed-length digests (MACs, hashes) where length
/// matters. Zeroizing on drop cannot reach copies that were made before the bytes were handed
/// to `Secret`: build secrets straight from their source where you can.
#[derive(Clone)]
pub struct Secret(Box<[u8]>);

impl Secret {
    /// Wraps `bytes`. The vector's spare capacity, if any, is zeroized too.
    #[must_use]
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        let mut bytes = bytes.into();
        if bytes.len() == bytes.capacity() {
            return Self(bytes.into_boxed_slice());
        }
        // `into_boxed_slice` would reallocate and leave the old buffer behind unzeroized.
        let boxed: Box<[u8]> = Box::from(&bytes[..]);
        bytes.zeroize();
        Self(boxed)
    }

    /// The secret bytes. Every call is a place where the secret leaves its wrapper: keep the
    /// borrow short and never log it.
    #[must_use]
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }

    /// The secret as UTF-8 text, or `None` when it is not valid UTF-8.
    #[must_use]
    pub fn expose_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// Length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Compares with `other` in constant time (in the contents; lengths are not hidden).
    #[must_use]
    pub fn ct_eq_bytes(&self, other: &[u8]) -> bool {
        ct_eq(&self.0, other)
    }
}

/// Constant-time equality of two byte strings (constant in the contents; a length mismatch
/// returns `false` at once).
#[must_use]
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        ct_eq(&self.0, &other.0)
    }
}

impl Eq for Secret {}

impl ConstantTimeEq for Secret {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<Vec<u8>> for Secret {
    fn from(bytes: Vec<u8>) -> Self {
        Self::new(bytes)
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Self {
        Self::new(text.into_bytes())
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Self {
        Self(Box::from(text.as_bytes()))
    }
}

impl From<&[u8]> for Secret {
    fn from(bytes: &[u8]) -> Self {
        Self(Box::from(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_are_redacted() {
        let secret = Secret::from("hunter2");
        assert!(!format!("{secret:?}").contains("hunter2"));
        assert!(!format!("{secret:#?}").contains("hunter2"));
        assert!(!format!("{secret}").contains("hunter2"));
    }

    #[test]
    fn equality_compares_contents() {
        assert_eq!(Secret::from("abc"), Secret::from(b"abc".to_vec()));
        assert_ne!(Secret::from("abc"), Secret::from("abd"));
        assert_ne!(Secret::from("abc"), Secret::from("abcd"));
        assert!(Secret::from("abc").ct_eq_bytes(b"abc"));
        assert!(!Secret::from("abc").ct_eq_bytes(b"ab"));
    }

    #[test]
    fn spare_capacity_is_not_kept() {
        let mut bytes = Vec::with_capacity(64);
        bytes.extend_from_slice(b"key");
        let secret = Secret::new(bytes);
        assert_eq!(secret.expose_secret(), b"key");
        assert_eq!(secret.len(), 3);
        assert!(!secret.is_empty());
    }

    #[test]
    fn non_utf8_has_no_str_view() {
        assert_eq!(Secret::from(&[0xff_u8, 0xfe][..]).expose_str(), None);
    }
}
