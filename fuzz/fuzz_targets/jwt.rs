//! JWS compact tokens: header decode, then claims decode and validation (`Verifier`).
//!
//! The first byte picks the mode:
//! - even: the rest is a token as received (splitting, base64url, the strict header parser, the
//!   algorithm and key checks run on it; the signature stops everything else);
//! - odd: the rest is `header JSON \0 claims JSON`; the target signs it with the verifier's
//!   HS256 key, so the claims parser and every claim check are reached.
//!
//! Properties: no panic; a verified token meets the policy (issuer, audience, time window,
//! HS256 key) and its claims are the JSON object that was signed; a tampered signature is
//! refused; `verify_claims` (the lazy `VerifiedClaims`) accepts and refuses exactly what
//! `verify_raw` does, and its registered claims and claims map are the same.
#![no_main]

use std::sync::LazyLock;
use std::time::{Duration, SystemTime};

use auth_core::{ManualClock, Secret};
use auth_jwt::{Algorithm, Key, KeySet, Verifier, VerifyError};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

const NOW: i64 = 1_700_000_000;
const LEEWAY: i64 = 30;
const ISSUER: &str = "https://issuer.example";
const AUDIENCE: &str = "api";

fn key() -> Key {
    Key::hmac("k1", Algorithm::HS256, &Secret::from(&[7_u8; 32][..])).expect("key")
}

static KEY: LazyLock<Key> = LazyLock::new(key);
static VERIFIER: LazyLock<Verifier> = LazyLock::new(|| {
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(NOW as u64));
    Verifier::builder(KeySet::single(key()))
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .leeway(Duration::from_secs(LEEWAY as u64))
        .clock(clock.shared())
        .build()
        .expect("verifier")
});

type Outcome = Result<
    (
        auth_jwt::TokenHeader,
        auth_jwt::RegisteredClaims,
        Map<String, Value>,
    ),
    VerifyError,
>;

fn verify(token: &str) -> Outcome {
    auth_fuzz::ready(VERIFIER.verify_raw(token))
}

/// `verify_claims` must decide as `verify_raw` did, and read the same claims.
fn check_same_as_lazy(token: &str, outcome: &Outcome) {
    let lazy = auth_fuzz::ready(VERIFIER.verify_claims(token));
    match (outcome, &lazy) {
        (Ok((header, registered, claims)), Ok(verified)) => {
            assert_eq!(verified.header(), header);
            assert_eq!(verified.registered(), registered);
            assert_eq!(&**verified.claims(), claims);
        }
        (Err(raw), Err(lazy)) => assert_eq!(raw, lazy, "different refusals"),
        _ => panic!("verify_raw and verify_claims disagree: {outcome:?} vs {lazy:?}"),
    }
}

fn check_accepted(outcome: &Outcome) {
    let Ok((header, registered, claims)) = outcome else {
        return;
    };
    assert_eq!(header.alg, Algorithm::HS256);
    assert!(header.kid.as_deref().is_none_or(|kid| kid == "k1"));
    assert_eq!(registered.iss.as_deref(), Some(ISSUER));
    assert!(registered.aud.iter().any(|a| a == AUDIENCE));
    assert!(
        NOW <= registered.exp.saturating_add(LEEWAY),
        "expired token accepted"
    );
    assert!(registered.nbf.is_none_or(|nbf| nbf <= NOW + LEEWAY));
    assert!(registered.iat.is_none_or(|iat| iat <= NOW + LEEWAY));
    assert!(claims.get("exp").is_some_and(Value::is_number));
    assert_eq!(claims.get("iss"), Some(&Value::from(ISSUER)));
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        let Ok(token) = std::str::from_utf8(rest) else {
            return;
        };
        let outcome = verify(token);
        check_accepted(&outcome);
        check_same_as_lazy(token, &outcome);
        return;
    }

    let (header, claims) = match rest.iter().position(|&b| b == 0) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &b"{}"[..]),
    };
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = KEY.sign(signing_input.as_bytes()).expect("sign");
    let encoded = URL_SAFE_NO_PAD.encode(&signature);
    let token = format!("{signing_input}.{encoded}");
    let outcome = verify(&token);
    check_accepted(&outcome);
    check_same_as_lazy(&token, &outcome);
    if let Ok((_, _, verified)) = &outcome {
        let signed: Map<String, Value> =
            serde_json::from_slice(claims).expect("signed claims are JSON");
        assert_eq!(&signed, verified, "claims differ from what was signed");
        let header: Map<String, Value> = serde_json::from_slice(header).expect("header is JSON");
        assert_eq!(header.get("alg"), Some(&Value::from("HS256")));
        assert!(!header.contains_key("crit"));

        // Flip one character of the signature (not the last: its low bits are padding).
        let first = if encoded.starts_with('A') { "B" } else { "A" };
        let tampered = format!("{signing_input}.{first}{}", &encoded[1..]);
        assert_eq!(verify(&tampered).err(), Some(VerifyError::Signature));
    }
});
