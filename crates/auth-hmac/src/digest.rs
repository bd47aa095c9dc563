//! RFC 9530 `Content-Digest`: created by the signer, checked by the verifier against the
//! received body.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256, Sha512};
use subtle::ConstantTimeEq;

use crate::{Error, Malformed, Refusal};

/// A hashing algorithm of the Hash Algorithms for HTTP Digest Fields registry (RFC 9530
/// §5) that this crate creates and checks. The registry's others (`md5`, `sha`,
/// `unixsum`, ...) are insecure or not collision-resistant and are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// `sha-256` (the default).
    #[default]
    Sha256,
    /// `sha-512`.
    Sha512,
}

impl DigestAlgorithm {
    /// The registry key: `sha-256` or `sha-512`.
    #[must_use]
    pub const fn key(self) -> &'static str {
        match self {
            Self::Sha256 => "sha-256",
            Self::Sha512 => "sha-512",
        }
    }

    fn from_key(key: &str) -> Option<Self> {
        match key {
            "sha-256" => Some(Self::Sha256),
            "sha-512" => Some(Self::Sha512),
            _ => None,
        }
    }

    /// The digest of `content`.
    #[must_use]
    pub fn digest(self, content: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => Sha256::digest(content).to_vec(),
            Self::Sha512 => Sha512::digest(content).to_vec(),
        }
    }
}

/// The `Content-Digest` field value for `content` with `algorithm`: an RFC 8941 Dictionary
/// such as `sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:`.
///
/// # Examples
///
/// ```
/// use auth_hmac::{content_digest, DigestAlgorithm};
///
/// assert_eq!(
///     content_digest(DigestAlgorithm::Sha256, br#"{"hello": "world"}"#),
///     "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
/// );
/// ```
#[must_use]
pub fn content_digest(algorithm: DigestAlgorithm, content: &[u8]) -> String {
    let digest = algorithm.digest(content);
    let mut out = sfv::DictSerializer::new();
    let _ = out.bare_item(sfv::key_ref(algorithm.key()), digest.as_slice());
    out.finish()
        .unwrap_or_else(|| unreachable!("a one-member dictionary is never empty"))
}

/// Checks the `Content-Digest` field (its field lines, in order) against `content`.
///
/// Every digest in an algorithm of [`DigestAlgorithm`] must match; digests in other
/// algorithms are ignored (RFC 9530 §2 lets a recipient ignore any digest), but at least one
/// must be checked.
///
/// # Errors
///
/// - [`Malformed::ContentDigest`] when the field is not a Dictionary whose checked members
///   are Byte Sequences;
/// - [`Refusal::ContentDigestMissing`] when there is no field line;
/// - [`Refusal::ContentDigestUnsupported`] when no digest is in a checked algorithm;
/// - [`Refusal::ContentDigestMismatch`] when a digest does not match `content`.
pub fn verify_content_digest(field_lines: &[&[u8]], content: &[u8]) -> Result<(), Error> {
    if field_lines.is_empty() {
        return Err(Error::refused(Refusal::ContentDigestMissing, None));
    }
    // The common field, one line `sha-256=:<base64>:`, without the general parser.
    if let [line] = field_lines
        && let Some(sent) = single_sha256(line)
    {
        let digest: [u8; 32] = Sha256::digest(content).into();
        if bool::from(digest.ct_eq(&sent)) {
            return Ok(());
        }
        return Err(Error::refused(Refusal::ContentDigestMismatch, None));
    }
    let mut dictionary = sfv::Dictionary::new();
    for line in field_lines {
        sfv::Parser::new(line)
            .with_version(sfv::Version::Rfc8941)
            .parse_dictionary_with_visitor(&mut dictionary)
            .map_err(|_| Malformed::ContentDigest)?;
    }
    let mut checked = 0;
    let mut matches = true;
    for (key, member) in &dictionary {
        let Some(algorithm) = DigestAlgorithm::from_key(key.as_str()) else {
            continue;
        };
        let sent = match member {
            sfv::ListEntry::Item(item) => item
                .bare_item
                .as_byte_sequence()
                .ok_or(Malformed::ContentDigest)?,
            sfv::ListEntry::InnerList(_) => return Err(Malformed::ContentDigest.into()),
        };
        checked += 1;
        matches &= bool::from(algorithm.digest(content).ct_eq(sent));
    }
    if checked == 0 {
        return Err(Error::refused(Refusal::ContentDigestUnsupported, None));
    }
    if !matches {
        return Err(Error::refused(Refusal::ContentDigestMismatch, None));
    }
    Ok(())
}

/// The digest of a field line that is exactly `sha-256=:<44 characters of padded,
/// canonical base64>:` — a one-member Dictionary that the general RFC 8941 parser accepts
/// with this meaning (its base64 decoding is more lenient, never stricter). `None` for any
/// other line, which then goes through the general parser.
fn single_sha256(line: &[u8]) -> Option<[u8; 32]> {
    let encoded = line.strip_prefix(b"sha-256=:")?.strip_suffix(b":")?;
    if encoded.len() != 44 {
        return None;
    }
    let mut out = [0u8; 33];
    match STANDARD.decode_slice(encoded, &mut out) {
        Ok(32) => {
            let mut digest = [0u8; 32];
            digest.copy_from_slice(&out[..32]);
            Some(digest)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"hello": "world"}"#;

    fn refusal(result: Result<(), Error>) -> Refusal {
        match result {
            Err(Error::Refused { refusal, .. }) => refusal,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn checks_every_supported_digest() {
        let both = format!(
            "{}, {}",
            content_digest(DigestAlgorithm::Sha256, BODY),
            content_digest(DigestAlgorithm::Sha512, BODY)
        );
        verify_content_digest(&[both.as_bytes()], BODY).unwrap();
        // One good digest does not excuse a bad one.
        let mixed = format!(
            "{}, {}",
            content_digest(DigestAlgorithm::Sha256, BODY),
            content_digest(DigestAlgorithm::Sha512, b"other")
        );
        assert_eq!(
            refusal(verify_content_digest(&[mixed.as_bytes()], BODY)),
            Refusal::ContentDigestMismatch
        );
        // Split over two field lines.
        let first = content_digest(DigestAlgorithm::Sha256, BODY);
        let second = content_digest(DigestAlgorithm::Sha512, BODY);
        verify_content_digest(&[first.as_bytes(), second.as_bytes()], BODY).unwrap();
    }

    #[test]
    fn the_one_line_fast_path_agrees_with_the_general_parser() {
        let good = content_digest(DigestAlgorithm::Sha256, BODY);
        assert!(single_sha256(good.as_bytes()).is_some());
        verify_content_digest(&[good.as_bytes()], BODY).unwrap();
        assert_eq!(
            refusal(verify_content_digest(&[good.as_bytes()], b"other")),
            Refusal::ContentDigestMismatch
        );
        // Non-canonical base64 (stray bits in the last character): not the fast path's;
        // the general parser, lenient there, decodes it to the same digest.
        let mut stray = good.clone().into_bytes();
        let last = stray.len() - 3;
        assert_eq!(stray[last + 1], b'=');
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let index = ALPHABET.iter().position(|&c| c == stray[last]).unwrap();
        // The lowest two bits of the last character before `=` are not data.
        stray[last] = ALPHABET[index ^ 1];
        assert!(single_sha256(&stray).is_none());
        verify_content_digest(&[&stray], BODY).unwrap();
        // With parameters, or surrounding spaces: the general parser.
        for line in [format!("{good};x"), format!("{good} ")] {
            assert!(single_sha256(line.as_bytes()).is_none());
        }
        verify_content_digest(&[format!("{good};x").as_bytes()], BODY).unwrap();
    }

    #[test]
    fn unsupported_missing_and_malformed() {
        assert_eq!(
            refusal(verify_content_digest(&[b"md5=:AAAA:"], BODY)),
            Refusal::ContentDigestUnsupported
        );
        assert_eq!(
            refusal(verify_content_digest(&[], BODY)),
            Refusal::ContentDigestMissing
        );
        for bad in [
            &b"sha-256=:%%%:"[..],
            b"sha-256=1",
            b"sha-256=(a b)",
            b"sha-256=:AAAA:,",
        ] {
            assert!(
                matches!(
                    verify_content_digest(&[bad], BODY),
                    Err(Error::Malformed(Malformed::ContentDigest))
                ),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
