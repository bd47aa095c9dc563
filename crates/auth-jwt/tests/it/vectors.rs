//! Published test vectors.

use std::time::{Duration, UNIX_EPOCH};

use auth_core::{ManualClock, Secret};
use auth_jwt::{Algorithm, Jwk, Key, KeySet, Verifier, VerifyError};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// RFC 7515 A.1–A.3, A.5: `{"iss":"joe","exp":1300819380,"http://example.com/is_root":true}`
/// with CRLFs; verified with the clock just before `exp`.
fn before_2011_exp() -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_300_819_380 - 60))
}

fn verifier_at(keys: KeySet, clock: &ManualClock) -> Verifier {
    Verifier::builder(keys)
        .clock(clock.shared())
        .build()
        .unwrap()
}

const A1_KEY: &str =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
const A1_TOKEN: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const PAYLOAD_A: &str = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

#[tokio::test]
async fn rfc7515_a1_hs256() {
    let secret = Secret::new(URL_SAFE_NO_PAD.decode(A1_KEY).unwrap());
    let key = Key::hmac("a1", Algorithm::HS256, &secret).unwrap();
    // The JWS layer: the published signature is what we compute.
    let (input, signature) = A1_TOKEN.rsplit_once('.').unwrap();
    assert_eq!(
        URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).unwrap()),
        signature
    );

    let clock = before_2011_exp();
    let verified = verifier_at(KeySet::single(key), &clock)
        .verify::<Value>(A1_TOKEN)
        .await
        .unwrap();
    assert_eq!(verified.registered.iss.as_deref(), Some("joe"));
    assert_eq!(verified.claims["http://example.com/is_root"], true);

    // The same token once `exp` has passed.
    let secret = Secret::new(URL_SAFE_NO_PAD.decode(A1_KEY).unwrap());
    let keys = KeySet::single(Key::hmac("a1", Algorithm::HS256, &secret).unwrap());
    clock.set(UNIX_EPOCH + Duration::from_secs(1_300_819_380 + 31));
    assert_eq!(
        verifier_at(keys, &clock)
            .verify::<Value>(A1_TOKEN)
            .await
            .err(),
        Some(VerifyError::Expired)
    );
}

#[tokio::test]
async fn rfc7515_a2_rs256_verify() {
    let jwk: Jwk = serde_json::from_value(serde_json::json!({
        "kty": "RSA", "kid": "a2", "alg": "RS256", "e": "AQAB",
        "n": "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"
    })).unwrap();
    let token = format!(
        "eyJhbGciOiJSUzI1NiJ9.{PAYLOAD_A}.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"
    );
    let keys = KeySet::single(Key::from_jwk(&jwk).unwrap());
    let verified = verifier_at(keys, &before_2011_exp())
        .verify::<Value>(&token)
        .await
        .unwrap();
    assert_eq!(verified.registered.exp, 1_300_819_380);
}

fn a3_keys() -> KeySet {
    let jwk: Jwk = serde_json::from_value(serde_json::json!({
        "kty": "EC", "crv": "P-256", "kid": "a3",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
    }))
    .unwrap();
    KeySet::single(Key::from_jwk(&jwk).unwrap())
}

#[tokio::test]
async fn rfc7515_a3_es256_verify_and_the_zero_signature() {
    let token = format!(
        "eyJhbGciOiJFUzI1NiJ9.{PAYLOAD_A}.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
    );
    let clock = before_2011_exp();
    assert!(
        verifier_at(a3_keys(), &clock)
            .verify::<Value>(&token)
            .await
            .is_ok()
    );

    // The same input with a signature of 86 'A's (r = s = 0; CVE-2022-21449 "psychic
    // signatures") must fail.
    let zero = format!("eyJhbGciOiJFUzI1NiJ9.{PAYLOAD_A}.{}", "A".repeat(86));
    assert_eq!(
        verifier_at(a3_keys(), &clock)
            .verify::<Value>(&zero)
            .await
            .err(),
        Some(VerifyError::Signature)
    );
}

#[tokio::test]
async fn rfc7515_a5_unsecured_jws_is_refused() {
    let token = format!("eyJhbGciOiJub25lIn0.{PAYLOAD_A}.");
    let secret = Secret::new(URL_SAFE_NO_PAD.decode(A1_KEY).unwrap());
    let keys = KeySet::single(Key::hmac("a1", Algorithm::HS256, &secret).unwrap());
    assert!(
        verifier_at(keys, &before_2011_exp())
            .verify::<Value>(&token)
            .await
            .is_err()
    );
}

#[test]
fn rfc7520_4_4_hs256_with_kid_jws_layer() {
    let secret = Secret::new(
        URL_SAFE_NO_PAD
            .decode("hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg")
            .unwrap(),
    );
    let key = Key::hmac(
        "018c0ae5-4d9b-471b-bfd6-eef314bc7037",
        Algorithm::HS256,
        &secret,
    )
    .unwrap();
    let input = "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9.SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4";
    let expected = "s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0";
    assert_eq!(
        URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).unwrap()),
        expected
    );
    assert!(key.verify_signature(input.as_bytes(), &URL_SAFE_NO_PAD.decode(expected).unwrap()));
}

#[test]
fn rfc8037_a4_ed25519_sign_and_verify() {
    // RFC 8037 A.1: the private key d; wrapped as PKCS#8 v1 (RFC 8410 §7).
    let d = URL_SAFE_NO_PAD
        .decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
        .unwrap();
    let mut pkcs8 = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    pkcs8.extend_from_slice(&d);
    let key = Key::from_private_der("ed", Algorithm::EdDSA, &pkcs8).unwrap();
    // RFC 8037 A.2: the public key.
    let jwk = serde_json::to_value(key.public_jwk().unwrap()).unwrap();
    assert_eq!(jwk["x"], "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
    // RFC 8037 A.4: Ed25519 is deterministic, so the signature is the published one.
    let input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
    let expected =
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
    assert_eq!(
        URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).unwrap()),
        expected
    );
    // RFC 8037 A.5: verification, also with the public JWK alone.
    let public: Jwk = serde_json::from_value(serde_json::json!({
        "kty": "OKP", "crv": "Ed25519", "kid": "ed",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    }))
    .unwrap();
    let public = Key::from_jwk(&public).unwrap();
    assert!(public.verify_signature(input.as_bytes(), &URL_SAFE_NO_PAD.decode(expected).unwrap()));
    assert!(!public.verify_signature(b"tampered", &URL_SAFE_NO_PAD.decode(expected).unwrap()));
}
