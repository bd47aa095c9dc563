//! [`SessionId`] (the secret the cookie carries) and [`SessionHash`] (what the store is keyed
//! by), and the random bytes behind ids and CSRF tokens.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::Error;

/// Bytes in a session id: 256 bits from the operating system's CSPRNG (OWASP asks for at
/// least 64 bits of entropy; 256 leaves no room for guessing, ever).
pub const ID_LEN: usize = 32;

/// Characters of a [`SessionId`] as the cookie carries it (unpadded base64url of
/// [`ID_LEN`] bytes), before signing or encryption.
pub const ENCODED_ID_LEN: usize = 43;

/// Fills `out` from the operating system's CSPRNG.
pub(crate) fn random_bytes(out: &mut [u8]) -> Result<(), Error> {
    getrandom::getrandom(out).map_err(|_| Error::Random)
}

/// A session id: 32 random bytes, the bearer secret of a session.
///
/// It exists only in the cookie (signed or encrypted) and in memory while a request is
/// handled: the store is keyed by its [`SessionHash`], logs and audit events name a
/// session by [`SessionHash::fingerprint`]. `Debug` prints `[redacted]`, equality is
/// constant-time, and the bytes are zeroized on drop.
///
/// # Examples
///
/// ```
/// use auth_session::{SessionId, ID_LEN};
///
/// let id = SessionId::generate()?;
/// assert_eq!(id.expose_bytes().len(), ID_LEN);
/// assert_eq!(format!("{id:?}"), "SessionId([redacted])");
/// assert_ne!(id, SessionId::generate()?);
/// # Ok::<(), auth_session::Error>(())
/// ```
#[derive(Clone)]
pub struct SessionId(Zeroizing<[u8; ID_LEN]>);

impl SessionId {
    /// A new id from the operating system's CSPRNG.
    ///
    /// # Errors
    ///
    /// [`Error::Random`] when the generator fails (no id is made then).
    pub fn generate() -> Result<Self, Error> {
        let mut bytes = Zeroizing::new([0_u8; ID_LEN]);
        random_bytes(bytes.as_mut())?;
        Ok(Self(bytes))
    }

    /// An id from known bytes (tests, and stores that must rebuild one).
    #[must_use]
    pub fn from_bytes(bytes: [u8; ID_LEN]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The raw bytes. Every call is a place where the secret leaves its wrapper.
    #[must_use]
    pub fn expose_bytes(&self) -> &[u8; ID_LEN] {
        &self.0
    }

    /// The store key for this id.
    #[must_use]
    pub fn hash(&self) -> SessionHash {
        SessionHash::of(self)
    }

    /// The id as the cookie carries it before signing: unpadded base64url.
    pub(crate) fn encode(&self) -> Zeroizing<String> {
        Zeroizing::new(URL_SAFE_NO_PAD.encode(self.0.as_ref()))
    }

    /// Reads an id written by [`SessionId::encode`]: exactly [`ENCODED_ID_LEN`] base64url
    /// characters that decode to [`ID_LEN`] bytes.
    pub(crate) fn decode(text: &str) -> Option<Self> {
        if text.len() != ENCODED_ID_LEN {
            return None;
        }
        let mut bytes = Zeroizing::new([0_u8; ID_LEN]);
        match URL_SAFE_NO_PAD.decode_slice(text, bytes.as_mut()) {
            Ok(ID_LEN) => Some(Self(bytes)),
            _ => None,
        }
    }
}

impl PartialEq for SessionId {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&*other.0).into()
    }
}

impl Eq for SessionId {}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId([redacted])")
    }
}

/// The key a session is stored under: SHA-256 of its [`SessionId`] (domain-separated).
///
/// A store dump therefore holds no usable cookie: going from a hash back to an id means
/// inverting SHA-256 on 256 random bits. A fast hash is right here (there is nothing to
/// brute-force), and it keeps a lookup to one hash and one map access.
///
/// The hash is not a credential; its first 6 bytes, as [`SessionHash::fingerprint`], name
/// the session in logs, audit events and listings.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionHash([u8; 32]);

/// Domain separation for [`SessionHash`], so the hash of an id can never collide with any
/// other SHA-256 use of the same bytes.
const HASH_CONTEXT: &[u8] = b"auth-session/v1/store-key\0";

impl SessionHash {
    fn of(id: &SessionId) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(HASH_CONTEXT);
        hasher.update(id.expose_bytes());
        Self(hasher.finalize().into())
    }

    /// A hash from its bytes (stores that keep it as bytes).
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, 64 characters (a store key for text-keyed stores).
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// A short public name for the session: `s_` and the first 6 bytes of the hash in hex
    /// (`s_1f2e3d4c5b6a`). It is what audit events carry as `key_id` and what an operator
    /// searches a store dump for. It reveals nothing about the id.
    #[must_use]
    pub fn fingerprint(&self) -> String {
        let mut out = String::with_capacity(2 + 12);
        out.push_str("s_");
        push_hex(&mut out, &self.0[..6]);
        out
    }
}

impl fmt::Debug for SessionHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionHash({})", self.to_hex())
    }
}

impl fmt::Display for SessionHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// `bytes` in lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    out
}

/// Appends `bytes` in lower-case hex: the digits of each 32 bytes are written to a stack
/// buffer, then appended in one go (no `format!` per byte).
pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for chunk in bytes.chunks(32) {
        let mut buf = [0_u8; 64];
        for (pair, &b) in buf.chunks_exact_mut(2).zip(chunk) {
            pair[0] = DIGITS[usize::from(b >> 4)];
            pair[1] = DIGITS[usize::from(b & 0x0f)];
        }
        // Hex digits are ASCII: this never falls back.
        out.push_str(std::str::from_utf8(&buf[..chunk.len() * 2]).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn hex_covers_every_byte_at_any_length() {
        let bytes: Vec<u8> = (0..=70).collect();
        let expected: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex(&bytes), expected);
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn ten_thousand_ids_are_distinct_and_32_random_bytes() {
        let mut seen = HashSet::new();
        let mut ones = 0_u64;
        for _ in 0..10_000 {
            let id = SessionId::generate().unwrap();
            assert_eq!(id.expose_bytes().len(), 32);
            ones += id
                .expose_bytes()
                .iter()
                .map(|b| u64::from(b.count_ones()))
                .sum::<u64>();
            assert!(seen.insert(*id.expose_bytes()), "an id repeated");
        }
        // 2,560,000 random bits: about half are set. A constant, counter or mostly-zero
        // source lands far outside +/- 1% (the standard deviation is 800 bits, 0.06%).
        let bits = 10_000 * 32 * 8;
        assert!(
            ones.abs_diff(bits / 2) < bits / 100,
            "ones = {ones} of {bits}"
        );
    }

    #[test]
    fn encoding_round_trips_and_refuses_anything_else() {
        let id = SessionId::generate().unwrap();
        let text = id.encode();
        assert_eq!(text.len(), ENCODED_ID_LEN);
        assert_eq!(SessionId::decode(&text), Some(id));
        assert_eq!(SessionId::decode(&text[1..]), None);
        assert_eq!(SessionId::decode(&format!("{}A", &*text)), None);
        assert_eq!(SessionId::decode(&"*".repeat(ENCODED_ID_LEN)), None);
    }

    #[test]
    fn the_hash_is_stable_domain_separated_and_not_the_id() {
        let id = SessionId::from_bytes([7; 32]);
        assert_eq!(id.hash(), SessionId::from_bytes([7; 32]).hash());
        assert_ne!(id.hash().as_bytes(), id.expose_bytes());
        let plain: [u8; 32] = Sha256::digest([7_u8; 32]).into();
        assert_ne!(id.hash().as_bytes(), &plain);
        let fingerprint = id.hash().fingerprint();
        assert_eq!(fingerprint.len(), 14);
        assert!(id.hash().to_hex().starts_with(&fingerprint[2..]));
    }
}
