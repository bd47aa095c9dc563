//! The client side of OAuth 2.0: token endpoint responses (RFC 6749 §5.1) parsed leniently
//! by `LenientTokenResponse`, the type `TokenSource` hands to the `oauth2` crate.
//!
//! Properties: no panic; what parses serializes, and that serialization parses back to the
//! same fields (`scope` aside: one round normalises its tokens) and, from then on,
//! serializes identically; `token_type` is case-insensitive for `Bearer`; `expires_in` only comes from a
//! non-negative number or a numeric string.
#![no_main]

use auth_oauth2::LenientTokenResponse;
use auth_oauth2::oauth2::TokenResponse as _;
use auth_oauth2::oauth2::basic::BasicTokenType;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn fields(r: &LenientTokenResponse) -> impl PartialEq + std::fmt::Debug {
    (
        r.access_token().secret().clone(),
        r.token_type_str().to_owned(),
        r.expires_in(),
        r.refresh_token_str().map(str::to_owned),
        r.scopes()
            .map(|s| s.iter().map(|s| s.as_str().to_owned()).collect::<Vec<_>>()),
        r.id_token().map(str::to_owned),
    )
}

fuzz_target!(|data: &[u8]| {
    let Ok(response) = serde_json::from_slice::<LenientTokenResponse>(data) else {
        return;
    };
    // `serde_json` skips unknown members without validating them; the members read must be
    // valid, so the checks below read the input again only when all of it is.
    let raw: Value = serde_json::from_slice(data).unwrap_or_default();
    if let Some(Value::String(t)) = raw.get("token_type") {
        assert_eq!(
            *response.token_type() == BasicTokenType::Bearer,
            t.eq_ignore_ascii_case("bearer")
        );
    }
    if response.expires_in().is_some() && raw.is_object() {
        assert!(matches!(
            raw.get("expires_in"),
            Some(Value::Number(_) | Value::String(_))
        ));
    }

    let once = serde_json::to_string(&response).expect("serializes");
    let again: LenientTokenResponse = serde_json::from_str(&once).expect("its own output parses");
    let twice = serde_json::to_string(&again).expect("serializes");
    let third: LenientTokenResponse = serde_json::from_str(&twice).expect("parses");
    assert_eq!(twice, serde_json::to_string(&third).expect("serializes"));
    assert_eq!(fields(&again), fields(&third));
    // Everything but `scope` survives the first round as is (scope tokens holding spaces
    // are split by it: `["a b"]` becomes `"a b"`, then `["a", "b"]`).
    let without_scope = |f: &LenientTokenResponse| {
        let mut value = serde_json::to_value(f).expect("serializes");
        value.as_object_mut().expect("an object").remove("scope");
        value
    };
    assert_eq!(without_scope(&response), without_scope(&again));
});
