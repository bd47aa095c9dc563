//! The attack catalogue: each test fails if its defence is removed.

use std::sync::Arc;

use auth_core::Secret;
use auth_jwt::{Algorithm, Issuer, Key, KeySet, MemoryRevocationStore, Verifier, VerifyError};
use serde_json::Value;

use crate::support::{NOW, b64, claims, clock, craft, fixture, verifier};

fn hs256() -> Key {
    Key::hmac("hs", Algorithm::HS256, &Secret::from([9_u8; 32].as_slice())).unwrap()
}

async fn check(verifier: &Verifier, token: &str) -> Result<(), VerifyError> {
    verifier.verify::<Value>(token).await.map(|_| ())
}

#[tokio::test]
async fn a_valid_token_passes_the_same_checks() {
    // The control: everything below differs from this in one way only.
    let token = craft(r#"{"alg":"HS256","kid":"hs"}"#, &claims(""), &hs256());
    assert_eq!(
        check(&verifier(KeySet::single(hs256()), |b| b), &token).await,
        Ok(())
    );
}

#[tokio::test]
async fn alg_none_in_any_case_is_refused() {
    let v = verifier(KeySet::single(hs256()), |b| b);
    for alg in ["none", "None", "NONE", "nOnE"] {
        let token = format!(
            "{}.{}.{}",
            b64(format!(r#"{{"alg":"{alg}","kid":"hs"}}"#)),
            b64(claims("")),
            b64("sig")
        );
        assert_eq!(
            check(&v, &token).await,
            Err(VerifyError::Algorithm),
            "{alg}"
        );
        let unsigned = format!(
            "{}.{}.",
            b64(format!(r#"{{"alg":"{alg}"}}"#)),
            b64(claims(""))
        );
        // Unsigned (RFC 7515 A.5): refused for its algorithm, not as a bad signature.
        assert_eq!(
            check(&v, &unsigned).await,
            Err(VerifyError::Algorithm),
            "{alg} unsigned"
        );
    }
}

#[tokio::test]
async fn a_stripped_signature_is_refused() {
    let token = craft(r#"{"alg":"HS256","kid":"hs"}"#, &claims(""), &hs256());
    let stripped = &token[..=token.rfind('.').unwrap()];
    assert_eq!(
        check(&verifier(KeySet::single(hs256()), |b| b), stripped).await,
        Err(VerifyError::Signature)
    );
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_bytes_is_refused() {
    // Key confusion (CVE-2015-9235 and kin): the attacker signs HS256 with our public key.
    for (alg, kid, pem) in [
        (Algorithm::RS256, "rsa", fixture("rsa2048.pub.pem")),
        (Algorithm::ES256, "ec", fixture("p256.pub.pem")),
    ] {
        let keys = KeySet::single(Key::from_public_pem(kid, alg, &pem).unwrap());
        let forged_key =
            Key::dangerous_hmac_any_length("x", Algorithm::HS256, &Secret::from(pem.as_slice()))
                .unwrap();
        let token = craft(
            &format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#),
            &claims(""),
            &forged_key,
        );
        assert_eq!(
            check(&verifier(keys, |b| b), &token).await,
            Err(VerifyError::Algorithm),
            "{kid}"
        );
    }
}

#[tokio::test]
async fn hostile_kids_are_only_map_keys() {
    let v = verifier(KeySet::single(hs256()), |b| b);
    for kid in [
        "../../../../etc/passwd",
        "' OR '1'='1' --",
        "",
        "hs\u{0}",
        "/dev/null",
    ] {
        let header = serde_json::json!({"alg": "HS256", "kid": kid}).to_string();
        let token = craft(&header, &claims(""), &hs256());
        assert_eq!(
            check(&v, &token).await,
            Err(VerifyError::UnknownKey),
            "{kid:?}"
        );
    }
    let numeric = craft(r#"{"alg":"HS256","kid":7}"#, &claims(""), &hs256());
    assert_eq!(check(&v, &numeric).await, Err(VerifyError::UnknownKey));
}

#[tokio::test]
async fn keys_embedded_or_linked_in_the_header_are_never_used() {
    let ours = Key::generate("ours", Algorithm::ES256).unwrap();
    let theirs = Key::generate("theirs", Algorithm::ES256).unwrap();
    let their_jwk = serde_json::to_value(theirs.public_jwk().unwrap()).unwrap();
    let v = verifier(KeySet::single(ours), |b| b);
    for (kid, extra) in [
        ("theirs", format!(r#","jwk":{their_jwk}"#)),
        ("ours", format!(r#","jwk":{their_jwk}"#)),
        (
            "ours",
            r#","jku":"https://attacker.example/jwks.json""#.to_owned(),
        ),
        (
            "ours",
            r#","x5u":"https://attacker.example/cert.pem""#.to_owned(),
        ),
        (
            "ours",
            r#","x5c":["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]"#.to_owned(),
        ),
    ] {
        let token = craft(
            &format!(r#"{{"alg":"ES256","kid":"{kid}"{extra}}}"#),
            &claims(""),
            &theirs,
        );
        let result = check(&v, &token).await;
        assert!(
            matches!(
                result,
                Err(VerifyError::UnknownKey | VerifyError::Signature)
            ),
            "{kid} {extra}: {result:?}"
        );
    }
}

#[tokio::test]
async fn unknown_crit_is_refused() {
    let token = craft(
        r#"{"alg":"HS256","kid":"hs","crit":["http://example.invalid/x"],"http://example.invalid/x":true}"#,
        &claims(""),
        &hs256(),
    );
    assert_eq!(
        check(&verifier(KeySet::single(hs256()), |b| b), &token).await,
        Err(VerifyError::Crit)
    );
}

#[tokio::test]
async fn time_claims_are_enforced_with_a_bounded_leeway() {
    let v = verifier(KeySet::single(hs256()), |b| b);
    let at = |body: String| craft(r#"{"alg":"HS256","kid":"hs"}"#, &body, &hs256());
    let expired_61 = at(format!(r#"{{"sub":"a","exp":{}}}"#, NOW - 61));
    assert_eq!(check(&v, &expired_61).await, Err(VerifyError::Expired));
    let within_leeway = at(format!(r#"{{"sub":"a","exp":{}}}"#, NOW - 29));
    assert_eq!(check(&v, &within_leeway).await, Ok(()));
    let nbf_ahead = at(format!(
        r#"{{"sub":"a","exp":{},"nbf":{}}}"#,
        NOW + 7200,
        NOW + 3600
    ));
    assert_eq!(check(&v, &nbf_ahead).await, Err(VerifyError::NotYetValid));
    let iat_ahead = at(format!(
        r#"{{"sub":"a","exp":{},"iat":{}}}"#,
        NOW + 7200,
        NOW + 3600
    ));
    assert_eq!(
        check(&v, &iat_ahead).await,
        Err(VerifyError::IssuedInFuture)
    );
    let no_exp = at(r#"{"sub":"a"}"#.to_owned());
    assert_eq!(check(&v, &no_exp).await, Err(VerifyError::Expired));
    for bad in [
        format!(r#""{}""#, NOW + 60),
        "null".to_owned(),
        "true".to_owned(),
    ] {
        let token = at(format!(r#"{{"sub":"a","exp":{bad}}}"#));
        assert_eq!(
            check(&v, &token).await,
            Err(VerifyError::InvalidClaim("exp")),
            "{bad}"
        );
    }
    let forever = at(format!(
        r#"{{"sub":"a","iat":{NOW},"exp":{}}}"#,
        NOW + 400 * 24 * 3600
    ));
    assert_eq!(check(&v, &forever).await, Err(VerifyError::LifetimeTooLong));
}

#[tokio::test]
async fn issuer_and_audience_are_required_once_configured() {
    let v = verifier(KeySet::single(hs256()), |b| {
        b.issuer("https://id.example").audience("orders")
    });
    let at = |extra: &str| craft(r#"{"alg":"HS256","kid":"hs"}"#, &claims(extra), &hs256());
    assert_eq!(
        check(&v, &at(r#""iss":"https://id.example","aud":"orders""#)).await,
        Ok(())
    );
    assert_eq!(
        check(
            &v,
            &at(r#""iss":"https://id.example","aud":["billing","orders"]"#)
        )
        .await,
        Ok(())
    );
    assert_eq!(
        check(&v, &at(r#""iss":"https://id.example","aud":"billing""#)).await,
        Err(VerifyError::Audience)
    );
    assert_eq!(
        check(&v, &at(r#""iss":"https://id.example""#)).await,
        Err(VerifyError::Audience)
    );
    assert_eq!(
        check(&v, &at(r#""iss":"https://evil.example","aud":"orders""#)).await,
        Err(VerifyError::Issuer)
    );
    assert_eq!(
        check(&v, &at(r#""aud":"orders""#)).await,
        Err(VerifyError::Issuer)
    );
}

#[tokio::test]
async fn the_required_typ_is_enforced() {
    let v = verifier(KeySet::single(hs256()), |b| b.required_typ("at+jwt"));
    let with = |typ: &str| {
        craft(
            &format!(r#"{{"alg":"HS256","kid":"hs","typ":"{typ}"}}"#),
            &claims(""),
            &hs256(),
        )
    };
    assert_eq!(check(&v, &with("at+jwt")).await, Ok(()));
    assert_eq!(check(&v, &with("application/at+jwt")).await, Ok(()));
    assert_eq!(check(&v, &with("JWT")).await, Err(VerifyError::Typ));
    let none = craft(r#"{"alg":"HS256","kid":"hs"}"#, &claims(""), &hs256());
    assert_eq!(check(&v, &none).await, Err(VerifyError::Typ));
}

#[tokio::test]
async fn duplicate_members_are_refused() {
    let v = verifier(KeySet::single(hs256()), |b| b);
    let claims_twice = craft(
        r#"{"alg":"HS256","kid":"hs"}"#,
        &format!(r#"{{"sub":"alice","exp":{},"sub":"admin"}}"#, NOW + 60),
        &hs256(),
    );
    assert_eq!(
        check(&v, &claims_twice).await,
        Err(VerifyError::DuplicateMember("sub".into()))
    );
    let header_twice = craft(
        r#"{"alg":"HS256","kid":"hs","alg":"none"}"#,
        &claims(""),
        &hs256(),
    );
    assert_eq!(
        check(&v, &header_twice).await,
        Err(VerifyError::DuplicateMember("alg".into()))
    );
}

#[tokio::test]
async fn wrong_segment_counts_and_encodings_are_refused() {
    let v = verifier(KeySet::single(hs256()), |b| b);
    let token = craft(r#"{"alg":"HS256","kid":"hs"}"#, &claims(""), &hs256());
    let (h, rest) = token.split_once('.').unwrap();
    let (p, s) = rest.split_once('.').unwrap();
    for bad in [
        format!("{h}.{p}"),
        format!("{h}.{p}.{s}.{s}"),
        format!("{h}.{p}.{s}.{s}.{s}"),
        format!("{h}.{p}.{s}="),
        format!("{h}=.{p}.{s}"),
        format!("{h}.{p} .{s}"),
        format!("{h}.{p}.{s}\n"),
        format!("{h}. {p}.{s}"),
    ] {
        assert!(check(&v, &bad).await.is_err(), "{bad}");
    }
    // '+' and '/' in the signature (standard alphabet) are refused even where they decode.
    let standard_sig = s.replace('-', "+").replace('_', "/");
    if standard_sig != s {
        assert!(check(&v, &format!("{h}.{p}.{standard_sig}")).await.is_err());
    }
}

#[tokio::test]
async fn an_oversized_token_is_refused_before_decoding() {
    let v = verifier(KeySet::single(hs256()), |b| b);
    let huge = format!(
        "{}.{}.{}",
        "e".repeat(500_000),
        "e".repeat(500_000),
        "e".repeat(48_576)
    );
    assert_eq!(check(&v, &huge).await, Err(VerifyError::TooLarge));
}

/// `n - s` for a P-256 signature's `s` (big-endian, 32 bytes).
fn negate_s(signature: &mut [u8]) {
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63,
        0x25, 0x51,
    ];
    let s = &mut signature[32..64];
    let mut borrow = 0_i16;
    for i in (0..32).rev() {
        let mut d = i16::from(N[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        s[i] = d as u8;
    }
}

#[tokio::test]
async fn a_revoked_jti_stays_revoked_under_a_malleated_es256_signature() {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let keys = KeySet::single(Key::generate("ec", Algorithm::ES256).unwrap());
    let clock = clock();
    let store = Arc::new(MemoryRevocationStore::new(clock.shared()));
    let issuer = Issuer::builder(keys.clone())
        .clock(clock.shared())
        .build()
        .unwrap();
    let v = Verifier::builder(keys)
        .clock(clock.shared())
        .revocations(store.clone())
        .build()
        .unwrap();
    let token = issuer.issue("alice", &()).unwrap();
    let (input, sig) = token.rsplit_once('.').unwrap();
    let mut malleated = URL_SAFE_NO_PAD.decode(sig).unwrap();
    negate_s(&mut malleated);
    let malleated = format!("{input}.{}", URL_SAFE_NO_PAD.encode(&malleated));
    assert_ne!(malleated, token);
    // ring accepts (r, n-s) as valid ECDSA: a denylist keyed on the token text would miss it.
    let accepted_before = check(&v, &malleated).await;

    let verified = v.verify::<Value>(&token).await.unwrap();
    v.revoke(&verified.registered).await.unwrap();
    assert_eq!(check(&v, &token).await, Err(VerifyError::Revoked));
    let after = check(&v, &malleated).await;
    match accepted_before {
        Ok(()) => assert_eq!(after, Err(VerifyError::Revoked)),
        Err(_) => assert!(after.is_err()),
    }

    // Revocation entries live as long as the token.
    clock.advance(std::time::Duration::from_secs(15 * 60 + 31));
    assert_eq!(check(&v, &token).await, Err(VerifyError::Expired));
}

#[tokio::test]
async fn with_a_revocation_store_a_token_without_jti_is_refused() {
    let store = Arc::new(MemoryRevocationStore::new(clock().shared()));
    let v = verifier(KeySet::single(hs256()), |b| b.revocations(store));
    let token = craft(r#"{"alg":"HS256","kid":"hs"}"#, &claims(""), &hs256());
    assert_eq!(
        check(&v, &token).await,
        Err(VerifyError::MissingClaim("jti"))
    );
}

#[test]
fn unsafe_configuration_is_refused() {
    assert!(Key::hmac("k", Algorithm::HS256, &Secret::from([1_u8; 31].as_slice())).is_err());
    assert!(Key::hmac("k", Algorithm::HS512, &Secret::from([1_u8; 32].as_slice())).is_err());
    assert!(Key::hmac("k", Algorithm::RS256, &Secret::from([1_u8; 64].as_slice())).is_err());
    let keys = KeySet::single(hs256());
    assert!(
        Verifier::builder(keys.clone())
            .leeway(std::time::Duration::from_secs(300))
            .build()
            .is_err()
    );
    assert!(
        Verifier::builder(keys)
            .leeway(std::time::Duration::from_secs(300))
            .dangerous_allow_long_leeway()
            .build()
            .is_ok()
    );
}
