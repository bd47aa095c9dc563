//! RFC 9421 verification end to end: the `Signature-Input` and `Signature` fields (RFC 8941
//! Dictionaries through sfv, labels paired and unique), the covered components, the
//! `Content-Digest` of the body, and the MAC.
//!
//! Input: a request for `auth_fuzz::Request` (`METHOD TARGET`, header lines, empty line, body).
//! Each input is used twice:
//! - as received: the verifier runs on it; only a request signed with the key could pass, so
//!   an `Ok(Some(_))` must come from a `Signature` and `Signature-Input` pair;
//! - signed: the signer signs the same method, target, headers and body (when it can), the
//!   verifier must accept that, and must refuse it with one byte of the body changed.
#![no_main]

use std::time::{Duration, SystemTime};

use auth_core::{HeaderList, ManualClock};
use auth_fuzz::{Request, ready};
use auth_hmac::{HmacKey, MemoryKeyStore, RequestParts, Signer, Verifier};
use libfuzzer_sys::fuzz_target;

const SECRET: &[u8; 32] = b"0123456789abcdef0123456789abcdef";
const NOW: u64 = 1_700_000_000;

fn make_verifier(clock: &ManualClock) -> Verifier {
    let key = HmacKey::new("k1", "client-1", &SECRET[..]).expect("key");
    Verifier::builder(MemoryKeyStore::from_keys([key]))
        .clock(clock.shared())
        .authority("example.com")
        .scheme("https")
        .build()
        .expect("verifier")
}

fuzz_target!(|data: &[u8]| {
    let Some(request) = Request::parse(data) else {
        return;
    };
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(NOW));
    let verifier = make_verifier(&clock);
    let headers = request.header_list();
    let parts = RequestParts::new(request.method, request.target, &headers)
        .with_scheme("https")
        .with_authority(Some("example.com"));
    let body = Some(request.body);

    // As received.
    let outcome = ready(verifier.verify_parts(&parts, body));
    let signed = request
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("signature"));
    if let Ok(Some(verified)) = &outcome {
        assert!(signed);
        assert_eq!(verified.key.id(), "k1");
    }
    if !signed
        && !request
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("signature-input"))
    {
        assert!(matches!(outcome, Ok(None)), "unsigned request: {outcome:?}");
    }

    // Signed by us (without any signature fields of the input).
    // A request-target has no fragment (the signer drops it from the URL it is given).
    if !request.target.starts_with('/') || request.target.contains('#') {
        return;
    }
    let mut unsigned = HeaderList::new();
    for (name, value) in &request.headers {
        let lower = name.to_ascii_lowercase();
        if !matches!(
            lower.as_str(),
            "signature" | "signature-input" | "content-digest"
        ) {
            unsigned.push(*name, *value);
        }
    }
    let signer = Signer::builder("k1", &SECRET[..])
        .clock(clock.shared())
        .build()
        .expect("signer");
    let url = format!("https://example.com{}", request.target);
    let Ok(signature) = signer.sign(request.method, &url, &unsigned, body) else {
        return;
    };
    let mut sent = unsigned.clone();
    for (name, value) in signature.iter() {
        sent.push(name, value);
    }
    let parts = RequestParts::new(request.method, request.target, &sent)
        .with_scheme("https")
        .with_authority(Some("example.com"));
    match ready(verifier.verify_parts(&parts, body)) {
        Ok(Some(verified)) => assert_eq!(verified.key.id(), "k1"),
        other => panic!("our own signature was not accepted: {other:?}"),
    }
    if !request.body.is_empty() {
        let mut changed = request.body.to_vec();
        changed[0] ^= 1;
        let fresh = make_verifier(&clock);
        assert!(
            !matches!(
                ready(fresh.verify_parts(&parts, Some(&changed))),
                Ok(Some(_))
            ),
            "a changed body passed"
        );
    }
});
