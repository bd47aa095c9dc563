//! RFC 9421 `Signature-Input` member values (`SignatureParams`, RFC 8941 Inner Lists through
//! sfv) and the signature base (§2.5).
//!
//! Input: the `@signature-params` value on the first line, then a request for
//! `auth_fuzz::Request` (`METHOD TARGET`, header lines).
//!
//! Properties: no panic; what parses serializes to a value that parses back equal and
//! serializes identically (the signer and the verifier see the same bytes); a signature base
//! ends with the `"@signature-params"` line carrying exactly that serialization, and has one
//! line per covered component before it.
#![no_main]

use std::str::FromStr;

use auth_fuzz::Request;
use auth_hmac::{MAX_COMPONENTS, RequestParts, SignatureParams};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (first, rest) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &b""[..]),
    };
    let Ok(value) = std::str::from_utf8(first) else {
        return;
    };
    let Ok(params) = SignatureParams::from_str(value) else {
        return;
    };
    assert!(params.components().len() <= MAX_COMPONENTS);
    let serialized = params.to_string();
    let again = SignatureParams::from_str(&serialized).expect("a serialization parses");
    assert_eq!(again, params);
    assert_eq!(again.to_string(), serialized);

    let Some(request) = Request::parse(rest) else {
        return;
    };
    let headers = request.header_list();
    let parts = RequestParts::new(request.method, request.target, &headers)
        .with_scheme("https")
        .with_authority(Some("example.com"));
    if let Ok(base) = params.signature_base(&parts) {
        let last = format!("\"@signature-params\": {serialized}");
        assert!(
            base.ends_with(last.as_bytes()),
            "the base does not end with its params"
        );
        let lines = base.split(|&b| b == b'\n').count();
        assert_eq!(
            lines,
            params.components().len() + 1,
            "a component value spans lines"
        );
    }
});
