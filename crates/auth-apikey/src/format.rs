//! The key format: `<prefix>_<random>_<checksum>`, generation and offline checking.
//!
//! ```text
//! myapp_live_4Fq8yZr0cB1tN9wXkV2mH7pLs3dJ6eGa5uTiRoYnQ0K_1bXk9Q
//! └─prefix─┘ └──────────── random: 43 base62 ────────────┘ └crc┘
//! ```
//!
//! - **prefix**: 1 to 32 of `a-z 0-9 _`, not ending with `_`; names the issuer and the
//!   environment so secret scanners and humans recognise a leaked key.
//! - **random**: 32 bytes from the operating system's CSPRNG, as a 43-character base62
//!   number (`0-9A-Za-z`, fixed width): 256 bits, alphanumeric so a double click selects
//!   the whole key.
//! - **checksum**: CRC-32 (IEEE) of `<prefix>_<random>`, as 6 base62 characters. It catches
//!   typos and truncation offline; it is **not** a signature (anyone can compute it).
//!
//! Parsing reads from the right: the last `_` starts the checksum, the one before it the
//! random part, and what is left is the prefix (which may itself hold `_`).

use std::fmt;

use auth_core::Secret;
use zeroize::Zeroizing;

use crate::{ConfigError, Error};

/// The base62 alphabet, in numeric order.
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Bytes of randomness in a key.
pub const RANDOM_BYTES: usize = 32;
/// Characters of the random part: the fewest base62 digits that hold 256 bits.
pub const RANDOM_LEN: usize = 43;
/// Characters of the checksum: the fewest base62 digits that hold 32 bits.
pub const CHECKSUM_LEN: usize = 6;
/// The longest prefix.
pub const MAX_PREFIX_LEN: usize = 32;
/// The longest key: a 32-character prefix, two separators, the random part and the checksum.
pub const MAX_KEY_LEN: usize = MAX_PREFIX_LEN + 1 + RANDOM_LEN + 1 + CHECKSUM_LEN;

/// Why a string is not a key of this format. Found without any store lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFormatError {
    /// Wrong length, a missing separator or a character outside the alphabet.
    #[error("the API key is malformed")]
    Malformed,
    /// Well-formed, but the checksum does not match: a typo, or a made-up key.
    #[error("the API key's checksum does not match")]
    ChecksumMismatch,
    /// A well-formed key with a valid checksum, issued under another prefix (another
    /// application or environment).
    #[error("the API key has another prefix")]
    WrongPrefix,
}

impl KeyFormatError {
    /// The audit reason code: `malformed_key`, `checksum_mismatch` or `wrong_prefix`.
    #[must_use]
    pub const fn reason(self) -> &'static str {
        match self {
            Self::Malformed => "malformed_key",
            Self::ChecksumMismatch => "checksum_mismatch",
            Self::WrongPrefix => "wrong_prefix",
        }
    }
}

/// An API key in plain text, as handed out once by
/// [`KeyManager::create`](crate::KeyManager::create) and
/// [`KeyManager::rotate`](crate::KeyManager::rotate).
///
/// Backed by a [`Secret`]: `Debug` and `Display` print `[redacted]`, equality is
/// constant-time, and the bytes are zeroized on drop. Read it with
/// [`ApiKey::expose_secret`] to show it to its owner, then let it go: it is never stored.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(Secret);

impl ApiKey {
    /// The key in plain text. Show it to its owner once; never log it.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        // Built from base62 and the prefix alphabet only, so always ASCII.
        self.0.expose_str().unwrap_or_default()
    }

    /// Length in characters.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the key is empty (never, for a generated key).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A string that passed [`KeyFormat::parse`]: the right shape, a matching checksum and the
/// expected prefix. It borrows the caller's text; `Debug` shows the prefix only.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ParsedKey<'a> {
    text: &'a str,
    prefix_len: usize,
}

impl<'a> ParsedKey<'a> {
    /// The whole key.
    #[must_use]
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    /// The prefix.
    #[must_use]
    pub fn prefix(&self) -> &'a str {
        &self.text[..self.prefix_len]
    }

    /// The random part (43 base62 characters).
    #[must_use]
    pub fn random(&self) -> &'a str {
        let start = self.prefix_len + 1;
        &self.text[start..start + RANDOM_LEN]
    }

    /// The checksum (6 base62 characters).
    #[must_use]
    pub fn checksum(&self) -> &'a str {
        &self.text[self.text.len() - CHECKSUM_LEN..]
    }
}

impl fmt::Debug for ParsedKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedKey")
            .field("prefix", &self.prefix())
            .finish_non_exhaustive()
    }
}

/// The key format of one issuer: its prefix. Generates keys and checks them offline.
///
/// # Examples
///
/// ```
/// use auth_apikey::{KeyFormat, KeyFormatError};
///
/// let format = KeyFormat::new("myapp_live")?;
/// let key = format.generate()?;
/// let parsed = format.parse(key.expose_secret())?;
/// assert_eq!(parsed.prefix(), "myapp_live");
///
/// // A typo is caught by the checksum, before any store lookup.
/// let mut typo = key.expose_secret().to_owned();
/// let i = typo.len() - 10;
/// typo.replace_range(i..=i, if &typo[i..=i] == "a" { "b" } else { "a" });
/// assert_eq!(format.parse(&typo), Err(KeyFormatError::ChecksumMismatch));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct KeyFormat {
    prefix: Box<str>,
}

impl KeyFormat {
    /// A format with `prefix`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidPrefix`] unless the prefix is 1 to 32 characters of `a-z`,
    /// `0-9` and `_`, not ending with `_`.
    pub fn new(prefix: &str) -> Result<Self, ConfigError> {
        validate_prefix(prefix)?;
        Ok(Self {
            prefix: prefix.into(),
        })
    }

    /// The prefix.
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Generates a key: 32 bytes from the operating system's CSPRNG, base62-encoded, with the
    /// prefix and the checksum.
    ///
    /// # Errors
    ///
    /// [`Error::Random`] when the operating system's random generator fails.
    pub fn generate(&self) -> Result<ApiKey, Error> {
        let mut bytes = Zeroizing::new([0_u8; RANDOM_BYTES]);
        getrandom::getrandom(bytes.as_mut()).map_err(|_| Error::Random)?;
        Ok(self.key_from_random(&bytes))
    }

    /// The key for the given random bytes (generation without the random generator, for
    /// [`generate`](Self::generate) and tests).
    fn key_from_random(&self, bytes: &[u8; RANDOM_BYTES]) -> ApiKey {
        let total = self.prefix.len() + 1 + RANDOM_LEN + 1 + CHECKSUM_LEN;
        let mut text = Zeroizing::new(Vec::with_capacity(total));
        text.extend_from_slice(self.prefix.as_bytes());
        text.push(b'_');
        let mut random = Zeroizing::new([0_u8; RANDOM_LEN]);
        encode_base62_256(bytes, &mut random);
        text.extend_from_slice(random.as_ref());
        let checksum = crc32fast::hash(&text);
        text.push(b'_');
        text.extend_from_slice(&encode_checksum(checksum));
        // `Secret::new` keeps the buffer as is (length == capacity) and the `Zeroizing` wrapper
        // is left holding an empty vector.
        ApiKey(Secret::new(std::mem::take(&mut *text)))
    }

    /// Checks `key`: shape, then checksum, then prefix. No store is involved.
    ///
    /// # Errors
    ///
    /// [`KeyFormatError::Malformed`], [`KeyFormatError::ChecksumMismatch`] or
    /// [`KeyFormatError::WrongPrefix`].
    pub fn parse<'a>(&self, key: &'a str) -> Result<ParsedKey<'a>, KeyFormatError> {
        let parsed = parse_any(key)?;
        if parsed.prefix() == &*self.prefix {
            Ok(parsed)
        } else {
            Err(KeyFormatError::WrongPrefix)
        }
    }
}

impl fmt::Debug for KeyFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyFormat")
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// Checks the shape and checksum of a key of **any** prefix, and returns it parsed: for
/// secret scanners and tools that see keys of many issuers.
///
/// A key matches `[a-z0-9_]{1,32}_[0-9A-Za-z]{43}_[0-9A-Za-z]{6}` and its last six
/// characters are the CRC-32 of what comes before the last `_`.
///
/// # Errors
///
/// [`KeyFormatError::Malformed`] or [`KeyFormatError::ChecksumMismatch`].
///
/// # Examples
///
/// ```
/// use auth_apikey::{KeyFormat, parse_any};
///
/// let key = KeyFormat::new("acme_test")?.generate()?;
/// assert_eq!(parse_any(key.expose_secret())?.prefix(), "acme_test");
/// assert!(parse_any("acme_test_not-a-key").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_any(key: &str) -> Result<ParsedKey<'_>, KeyFormatError> {
    let bytes = key.as_bytes();
    // Shortest: a one-character prefix. Longest: a 32-character prefix.
    if bytes.len() < 1 + 1 + RANDOM_LEN + 1 + CHECKSUM_LEN || bytes.len() > MAX_KEY_LEN {
        return Err(KeyFormatError::Malformed);
    }
    let checksum_start = bytes.len() - CHECKSUM_LEN;
    let random_start = checksum_start - 1 - RANDOM_LEN;
    let prefix_len = random_start - 1;
    let (head, checksum) = bytes.split_at(checksum_start - 1);
    if checksum[0] != b'_'
        || bytes[prefix_len] != b'_'
        || !all_alphanumeric(&checksum[1..])
        || !all_alphanumeric(&bytes[random_start..checksum_start - 1])
        || validate_prefix_bytes(&bytes[..prefix_len]).is_err()
    {
        return Err(KeyFormatError::Malformed);
    }
    // The checksum compares public data (anyone can compute a CRC), so no constant time.
    if encode_checksum(crc32fast::hash(head)) != checksum[1..] {
        return Err(KeyFormatError::ChecksumMismatch);
    }
    Ok(ParsedKey {
        text: key,
        prefix_len,
    })
}

/// Whether every byte is an ASCII letter or digit. Without an early exit, so the loop
/// compiles to vector compares (every verification checks 49 characters).
fn all_alphanumeric(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .fold(true, |ok, byte| ok & byte.is_ascii_alphanumeric())
}

fn validate_prefix(prefix: &str) -> Result<(), ConfigError> {
    validate_prefix_bytes(prefix.as_bytes()).map_err(ConfigError::InvalidPrefix)
}

fn validate_prefix_bytes(prefix: &[u8]) -> Result<(), &'static str> {
    if prefix.is_empty() || prefix.len() > MAX_PREFIX_LEN {
        return Err("the prefix must be 1 to 32 characters long");
    }
    if !prefix
        .iter()
        .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err("the prefix may hold only a-z, 0-9 and _");
    }
    if prefix.last() == Some(&b'_') {
        return Err("the prefix must not end with _");
    }
    Ok(())
}

/// Writes the 256-bit big-endian number `bytes` as 43 base62 digits, most significant first.
fn encode_base62_256(bytes: &[u8; RANDOM_BYTES], out: &mut [u8; RANDOM_LEN]) {
    let mut number = Zeroizing::new(*bytes);
    for slot in out.iter_mut().rev() {
        // Long division of the whole number by 62; the remainder is the next digit.
        let mut remainder: u32 = 0;
        for byte in number.iter_mut() {
            let acc = (remainder << 8) | u32::from(*byte);
            *byte = (acc / 62) as u8;
            remainder = acc % 62;
        }
        *slot = ALPHABET[remainder as usize];
    }
}

/// The checksum as 6 base62 digits, most significant first.
fn encode_checksum(mut value: u32) -> [u8; CHECKSUM_LEN] {
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(value % 62) as usize];
        value /= 62;
    }
    out
}

/// `len` base62 characters drawn uniformly from the CSPRNG (rejection sampling).
pub(crate) fn random_base62(len: usize) -> Result<String, Error> {
    let mut out = String::with_capacity(len);
    let mut buffer = [0_u8; 32];
    while out.len() < len {
        getrandom::getrandom(&mut buffer).map_err(|_| Error::Random)?;
        for &byte in &buffer {
            // 248 = 4 * 62: bytes at or above it would bias the first characters.
            if byte < 248 && out.len() < len {
                out.push(char::from(ALPHABET[usize::from(byte % 62)]));
            }
        }
    }
    Ok(out)
}

/// The base62 alphabet, for tests.
#[cfg(test)]
pub(crate) fn alphabet() -> &'static [u8; 62] {
    ALPHABET
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format() -> KeyFormat {
        KeyFormat::new("myapp_live").unwrap()
    }

    #[test]
    fn prefixes_are_checked_at_build() {
        for good in ["a", "myapp_live", "x1", "a_b_c", &"p".repeat(32)] {
            assert!(KeyFormat::new(good).is_ok(), "{good:?}");
        }
        for bad in [
            "",
            "live_",
            "MyApp",
            "my-app",
            "my app",
            "caf\u{e9}",
            &"p".repeat(33),
        ] {
            assert!(
                matches!(KeyFormat::new(bad), Err(ConfigError::InvalidPrefix(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn base62_encoding_is_a_fixed_width_number() {
        let mut out = [0_u8; RANDOM_LEN];
        encode_base62_256(&[0; 32], &mut out);
        assert_eq!(&out[..], "0".repeat(43).as_bytes());

        let mut one = [0_u8; 32];
        one[31] = 61;
        encode_base62_256(&one, &mut out);
        assert_eq!(&out[41..], b"0z");

        let mut sixty_two = [0_u8; 32];
        sixty_two[31] = 62;
        encode_base62_256(&sixty_two, &mut out);
        assert_eq!(&out[41..], b"10");

        // 2^256 - 1 fits in 43 digits (62^43 > 2^256); computed independently.
        encode_base62_256(&[0xff; 32], &mut out);
        assert_eq!(&out[..], b"yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp1");

        assert_eq!(&encode_checksum(0), b"000000");
        assert_eq!(&encode_checksum(u32::MAX), b"4gfFC3");
    }

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let key = format().generate().unwrap();
        let text = key.expose_secret();
        assert_eq!(text.len(), "myapp_live".len() + 1 + 43 + 1 + 6);
        let parsed = format().parse(text).unwrap();
        assert_eq!(parsed.prefix(), "myapp_live");
        assert_eq!(parsed.random().len(), RANDOM_LEN);
        assert_eq!(parsed.checksum().len(), CHECKSUM_LEN);
        assert_eq!(
            parsed.as_str(),
            format!(
                "{}_{}_{}",
                parsed.prefix(),
                parsed.random(),
                parsed.checksum()
            )
        );
        assert!(parsed.random().bytes().all(|b| alphabet().contains(&b)));
    }

    #[test]
    fn known_vector() {
        // Fixed random bytes so the format is pinned: change this test only with a
        // migration plan for keys already issued.
        let key = KeyFormat::new("test").unwrap().key_from_random(&[0; 32]);
        let expected_head = format!("test_{}", "0".repeat(43));
        let crc = crc32fast::hash(expected_head.as_bytes());
        assert_eq!(
            key.expose_secret(),
            format!(
                "{expected_head}_{}",
                std::str::from_utf8(&encode_checksum(crc)).unwrap()
            )
        );
        assert!(format_ok(key.expose_secret()));
    }

    fn format_ok(text: &str) -> bool {
        parse_any(text).is_ok()
    }

    #[test]
    fn parse_refuses_shapes_checksums_and_prefixes() {
        let key = format().generate().unwrap();
        let text = key.expose_secret();
        assert_eq!(format().parse(""), Err(KeyFormatError::Malformed));
        assert_eq!(
            format().parse(&text[..text.len() - 1]),
            Err(KeyFormatError::Malformed)
        );
        assert_eq!(
            format().parse(&format!("{text}x")),
            Err(KeyFormatError::Malformed)
        );
        assert_eq!(
            format().parse(&format!(" {text}")),
            Err(KeyFormatError::Malformed)
        );
        let other = KeyFormat::new("myapp_test").unwrap().generate().unwrap();
        assert_eq!(
            format().parse(other.expose_secret()),
            Err(KeyFormatError::WrongPrefix)
        );
        let too_long = format!("{}_{}", "a".repeat(40), &text["myapp_live_".len()..]);
        assert_eq!(format().parse(&too_long), Err(KeyFormatError::Malformed));
    }

    #[test]
    fn every_single_character_substitution_is_caught() {
        // CRC-32 detects every burst error of up to 32 bits, so any one changed character
        // (8 bits) is caught: exhaustively, for every position and every replacement.
        let key = format().generate().unwrap();
        let text = key.expose_secret();
        let mut replacements: Vec<u8> = alphabet().to_vec();
        replacements.extend_from_slice(b"_-.+/= ");
        for i in 0..text.len() {
            for &c in &replacements {
                if text.as_bytes()[i] == c {
                    continue;
                }
                let mut bytes = text.as_bytes().to_vec();
                bytes[i] = c;
                let changed = String::from_utf8(bytes).unwrap();
                assert!(
                    format().parse(&changed).is_err(),
                    "substitution at {i} accepted"
                );
            }
        }
    }

    #[test]
    fn debug_and_display_never_show_the_key() {
        let key = format().generate().unwrap();
        let text = key.expose_secret().to_owned();
        let secret_part = &text["myapp_live_".len()..];
        for shown in [
            format!("{key:?}"),
            format!("{key:#?}"),
            format!("{key}"),
            format!("{:?}", format().parse(&text).unwrap()),
        ] {
            assert!(!shown.contains(secret_part), "{shown}");
        }
    }

    #[test]
    fn random_ids_are_uniform_base62() {
        let id = random_base62(12).unwrap();
        assert_eq!(id.len(), 12);
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(id, random_base62(12).unwrap());
    }
}
