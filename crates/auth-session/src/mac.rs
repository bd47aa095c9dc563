//! HMAC-SHA256 (RFC 2104) with the key's pads hashed once, for the signed cookie.
//!
//! The `cookie` crate's signed jar computes `HMAC-SHA256(key[..32], value)` and sends
//! `base64(tag) || value`. Checking that tag on every request through the jar means
//! building a jar, a `cookie::Key`, two `String`s, a `Vec` for the decoded tag and an HMAC
//! whose key pads are hashed again each time (four SHA-256 blocks where two suffice). This
//! module keys an `hmac` crate MAC once per key and clones it per tag, so a tag is two
//! compressions with no allocation. The format is the jar's, byte for byte: cookies issued
//! by either are opened by both (tested below and in `codec`).
//!
//! The keyed state is as good as the key for forging tags. It is never printed; it cannot be
//! zeroized (hmac 0.12 and sha2 0.10 do not implement `Zeroize`), so it lives, unwiped, as
//! long as the key ring holds the key. The key material itself stays in a zeroizing `Secret`.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Bytes in a tag (SHA-256 output).
pub(crate) const TAG_LEN: usize = 32;

/// An HMAC-SHA256 key, keyed once.
#[derive(Clone)]
pub(crate) struct MacKey {
    keyed: Hmac<Sha256>,
}

impl MacKey {
    /// The key for `key` (HMAC takes keys of any length).
    pub(crate) fn new(key: &[u8]) -> Self {
        Self {
            keyed: <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length"),
        }
    }

    /// `HMAC-SHA256(key, message)` (the tests compare it with published vectors).
    #[cfg(test)]
    pub(crate) fn tag(&self, message: &[u8]) -> [u8; TAG_LEN] {
        let mut mac = self.keyed.clone();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// Whether `tag` is `message`'s tag, compared in constant time.
    pub(crate) fn verify(&self, message: &[u8], tag: &[u8; TAG_LEN]) -> bool {
        let mut mac = self.keyed.clone();
        mac.update(message);
        mac.verify_slice(tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::hex;

    /// RFC 4231 §4, test cases 1, 2 and 4 (keys of at most one block).
    #[test]
    fn rfc_4231_vectors() {
        let cases: [(&[u8], &[u8], &str); 3] = [
            (
                &[0x0b; 20],
                b"Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe",
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                &[
                    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
                    0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19,
                ],
                &[0xcd; 50],
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            ),
        ];
        for (key, message, expected) in cases {
            let key = MacKey::new(key);
            assert_eq!(hex(&key.tag(message)), expected);
        }
    }

    #[test]
    fn matches_the_hmac_crate_at_every_length_around_the_block_edges() {
        let key_bytes = [0x42_u8; 32];
        let key = MacKey::new(&key_bytes);
        let message: Vec<u8> = (0..=255_u8).cycle().take(300).collect();
        for len in 0..message.len() {
            let mut reference = Hmac::<Sha256>::new_from_slice(&key_bytes).unwrap();
            reference.update(&message[..len]);
            let expected: [u8; 32] = reference.finalize().into_bytes().into();
            assert_eq!(key.tag(&message[..len]), expected, "length {len}");
            assert!(key.verify(&message[..len], &expected));
            let mut wrong = expected;
            wrong[31] ^= 1;
            assert!(!key.verify(&message[..len], &wrong));
        }
    }
}
