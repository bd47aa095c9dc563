//! Helpers: a fixed clock, verifiers, and hand-crafted tokens.

use std::time::{Duration, UNIX_EPOCH};

use auth_core::ManualClock;
use auth_jwt::{Key, KeySet, Verifier, VerifierBuilder};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub(crate) const NOW: u64 = 1_800_000_000;

pub(crate) fn clock() -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_secs(NOW))
}

pub(crate) fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token with exactly this header and payload text, signed with `key`.
pub(crate) fn craft(header: &str, payload: &str, key: &Key) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let signature = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64(signature))
}

pub(crate) fn verifier(
    keys: KeySet,
    configure: impl FnOnce(VerifierBuilder) -> VerifierBuilder,
) -> Verifier {
    configure(Verifier::builder(keys).clock(clock().shared()))
        .build()
        .unwrap()
}

pub(crate) fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Standard claims valid at [`NOW`].
pub(crate) fn claims(extra: &str) -> String {
    let sep = if extra.is_empty() { "" } else { "," };
    format!(
        r#"{{"sub":"alice","iat":{},"exp":{}{sep}{extra}}}"#,
        NOW - 10,
        NOW + 600
    )
}
