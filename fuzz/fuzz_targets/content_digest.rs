//! `Content-Digest` (RFC 9530, an RFC 8941 Dictionary through sfv).
//!
//! Input: field lines up to an empty line, then the content.
//!
//! Properties: no panic; the digest we produce for the content always verifies (alone and
//! next to the fuzzed field lines' unrelated members); a field that verifies has a checked
//! algorithm member equal to the content's digest; a field that verifies for the content
//! does not verify for the content with one byte changed.
#![no_main]

use auth_hmac::{DigestAlgorithm, content_digest, verify_content_digest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (head, content) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (data, &b""[..]),
    };
    let lines: Vec<&[u8]> = head.split(|&b| b == b'\n').collect();

    let outcome = verify_content_digest(&lines, content);
    if outcome.is_ok() {
        let text = lines
            .iter()
            .map(|l| String::from_utf8_lossy(l))
            .collect::<Vec<_>>()
            .join(",");
        assert!(
            [DigestAlgorithm::Sha256, DigestAlgorithm::Sha512]
                .into_iter()
                .any(|a| text.contains(a.key())),
            "no checked algorithm in a verified field: {text}"
        );
        let mut changed = content.to_vec();
        match changed.first_mut() {
            Some(b) => *b ^= 1,
            None => changed.push(0),
        }
        assert!(
            verify_content_digest(&lines, &changed).is_err(),
            "digest ignores content"
        );
    }

    for algorithm in [DigestAlgorithm::Sha256, DigestAlgorithm::Sha512] {
        let ours = content_digest(algorithm, content);
        verify_content_digest(&[ours.as_bytes()], content).expect("our digest verifies");
        let two_lines = [ours.as_bytes(), ours.as_bytes()];
        verify_content_digest(&two_lines, content).expect("a repeated digest verifies");
    }
});
