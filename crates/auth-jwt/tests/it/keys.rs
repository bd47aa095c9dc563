//! Keys, every algorithm end to end, rotation, JWKS, and jsonwebtoken interop.

use auth_core::Secret;
use auth_jwt::{
    ALGORITHMS, Algorithm, Issuer, JwkSet, Key, KeySet, SharedKeySet, Verifier, VerifyError,
    alg_name,
};
use serde_json::Value;

use crate::support::{clock, fixture};

fn signing_key(alg: Algorithm) -> Key {
    let kid = alg_name(alg);
    match alg {
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => Key::from_private_pem(kid, alg, &fixture("rsa2048.pem")).unwrap(),
        _ => Key::generate(kid, alg).unwrap(),
    }
}

#[tokio::test]
async fn every_algorithm_signs_and_verifies() {
    // Guards the backend choice: if a feature change elsewhere broke a provider, this fails.
    for alg in ALGORITHMS {
        let key = signing_key(alg);
        let public = key.public_jwk().cloned();
        let keys = KeySet::single(key);
        let issuer = Issuer::builder(keys.clone())
            .clock(clock().shared())
            .build()
            .unwrap();
        let token = issuer.issue("alice", &serde_json::json!({"n": 1})).unwrap();
        let verified = Verifier::builder(keys)
            .clock(clock().shared())
            .build()
            .unwrap()
            .verify::<Value>(&token)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", alg_name(alg)));
        assert_eq!(verified.header.alg, alg);

        // Asymmetric keys also verify from their published JWK alone.
        if let Some(jwk) = public {
            let from_jwks = KeySet::from_jwks(&JwkSet { keys: vec![jwk] });
            let ok = Verifier::builder(from_jwks)
                .clock(clock().shared())
                .build()
                .unwrap()
                .verify::<Value>(&token)
                .await;
            assert!(ok.is_ok(), "{}: {ok:?}", alg_name(alg));
        }
    }
}

#[tokio::test]
async fn pem_public_keys_verify_what_pem_private_keys_sign() {
    for (alg, private, public) in [
        (Algorithm::RS256, "rsa2048.pem", "rsa2048.pub.pem"),
        (Algorithm::PS256, "rsa2048.pem", "rsa2048.pub.pem"),
        (Algorithm::ES256, "p256.pem", "p256.pub.pem"),
        (Algorithm::EdDSA, "ed25519.pem", "ed25519.pub.pem"),
    ] {
        let signer = KeySet::single(Key::from_private_pem("k", alg, &fixture(private)).unwrap());
        let token = Issuer::builder(signer)
            .clock(clock().shared())
            .build()
            .unwrap()
            .issue("a", &())
            .unwrap();
        let verifier = KeySet::single(Key::from_public_pem("k", alg, &fixture(public)).unwrap());
        let result = Verifier::builder(verifier)
            .clock(clock().shared())
            .build()
            .unwrap()
            .verify::<Value>(&token)
            .await;
        assert!(result.is_ok(), "{}: {result:?}", alg_name(alg));
    }
}

#[tokio::test]
async fn rotation_add_promote_retire() {
    let old = Key::generate("2026-10", Algorithm::ES256).unwrap();
    let keys = SharedKeySet::new(KeySet::single(old));
    let issuer = Issuer::builder(keys.clone())
        .clock(clock().shared())
        .build()
        .unwrap();
    let verifier = Verifier::builder(keys.clone())
        .clock(clock().shared())
        .build()
        .unwrap();
    let before = issuer.issue("a", &()).unwrap();

    // Add: both verify, the old one still signs, both are published.
    keys.update(|set| set.add(Key::generate("2026-11", Algorithm::ES256)?))
        .unwrap();
    assert_eq!(keys.current().jwks().keys.len(), 2);
    // Promote: new tokens carry the new kid.
    keys.update(|set| set.promote("2026-11")).unwrap();
    let after = issuer.issue("a", &()).unwrap();
    let header = verifier.verify::<Value>(&after).await.unwrap().header;
    assert_eq!(header.kid.as_deref(), Some("2026-11"));
    assert!(verifier.verify::<Value>(&before).await.is_ok());
    // The active key cannot be retired; the old one can, and its tokens stop verifying.
    assert!(keys.update(|set| set.retire("2026-11")).is_err());
    keys.update(|set| set.retire("2026-10")).unwrap();
    assert_eq!(
        verifier.verify::<Value>(&before).await.err(),
        Some(VerifyError::UnknownKey)
    );
    assert!(verifier.verify::<Value>(&after).await.is_ok());
}

#[test]
fn jwks_publishes_public_keys_only() {
    let mut keys = KeySet::single(Key::generate("ec", Algorithm::ES256).unwrap());
    keys.add(
        Key::hmac(
            "secret",
            Algorithm::HS256,
            &Secret::from([3_u8; 32].as_slice()),
        )
        .unwrap(),
    )
    .unwrap();
    keys.add(Key::generate("ed", Algorithm::EdDSA).unwrap())
        .unwrap();
    let jwks = serde_json::to_value(keys.jwks()).unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["ec", "ed"]);
    let text = jwks.to_string();
    assert!(!text.contains("\"d\"") && !text.contains("\"k\""), "{text}");
    assert!(jwks["keys"][0]["alg"] == "ES256" && jwks["keys"][0]["use"] == "sig");
}

#[tokio::test]
async fn jsonwebtoken_itself_uses_the_ring_provider() {
    // The process-wide provider is installed by our key constructors, so jsonwebtoken's own
    // API works in an application that has neither of its backend features.
    let secret = [5_u8; 32];
    let _ = Key::hmac("k", Algorithm::HS256, &Secret::from(secret.as_slice())).unwrap();
    let header = jsonwebtoken::Header {
        kid: Some("k".into()),
        ..jsonwebtoken::Header::new(Algorithm::HS256)
    };
    let claims = serde_json::json!({"sub": "bob", "exp": crate::support::NOW + 60});
    let token = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&secret),
    )
    .unwrap();
    let keys =
        KeySet::single(Key::hmac("k", Algorithm::HS256, &Secret::from(secret.as_slice())).unwrap());
    let verified = Verifier::builder(keys)
        .clock(clock().shared())
        .build()
        .unwrap()
        .verify::<Value>(&token)
        .await
        .unwrap();
    assert_eq!(verified.registered.sub.as_deref(), Some("bob"));
}
