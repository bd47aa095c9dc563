//! JWT verification cost against its floor.
//!
//! For each algorithm: `verifier/<alg>` is `Verifier::verify` (every RFC 8725 check, claims
//! deserialized into a struct) and `floor/<alg>` is the bare minimum done directly: split,
//! base64url-decode the three parts, the ring signature check, and `serde_json` parsing of
//! header and claims. The ratio of the two is the price of the checks.
//!
//! `HS256/authenticator` is what a protected route runs per request (the HMAC is the
//! cheapest check, so the overhead shows most there): `JwtAuthenticator::authenticate` on a
//! request with `Authorization: Bearer`, building the `Principal`, then dropping it.
//!
//! `cargo bench -p auth-jwt --bench verify`

#![allow(missing_docs)]

use std::hint::black_box;

use auth_core::{AuthRequest, Authenticator as _, HeaderList, Outcome};
use auth_jwt::{Algorithm, Issuer, JwtAuthenticator, Key, KeySet, Verifier, alg_name};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use ring::signature::{self as rsig, UnparsedPublicKey};

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Claims {
    sub: String,
    scope: String,
    tenant: u32,
}

fn rsa_pem() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/rsa2048.pem"
    ))
    .unwrap()
}

/// A bare signature check: (signing input, signature) -> valid.
type RawVerify = Box<dyn Fn(&[u8], &[u8]) -> bool>;

/// The floor: the same work with no policy, straight on ring.
fn floor(token: &str, verify: &dyn Fn(&[u8], &[u8]) -> bool) -> bool {
    let mut parts = token.split('.');
    let (h, p, s) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap();
    let signature = URL_SAFE_NO_PAD.decode(s).unwrap();
    let ok = verify(&token.as_bytes()[..h.len() + 1 + p.len()], &signature);
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap();
    black_box((header, claims));
    ok
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let hmac_secret = [7_u8; 32];
    for alg in [
        Algorithm::HS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
        Algorithm::RS256,
    ] {
        let key = match alg {
            Algorithm::HS256 => Key::hmac("k", alg, &hmac_secret.as_slice().into()).unwrap(),
            Algorithm::RS256 => Key::from_private_pem("k", alg, &rsa_pem()).unwrap(),
            _ => Key::generate("k", alg).unwrap(),
        };
        let jwk = key.public_jwk().map(|j| serde_json::to_value(j).unwrap());
        let keys = KeySet::single(key);
        let issuer = Issuer::builder(keys.clone())
            .issuer("https://id.example")
            .audience("api")
            .build()
            .unwrap();
        let verifier = Verifier::builder(keys)
            .issuer("https://id.example")
            .audience("api")
            .build()
            .unwrap();
        let token = issuer
            .issue(
                "alice",
                &serde_json::json!({"scope": "orders:read orders:write", "tenant": 42}),
            )
            .unwrap();
        let name = alg_name(alg);

        // The floor's key material, prepared once like the verifier's.
        let b64 = |field: &str| {
            URL_SAFE_NO_PAD
                .decode(jwk.as_ref().unwrap()[field].as_str().unwrap())
                .unwrap()
        };
        let raw: RawVerify = match alg {
            Algorithm::HS256 => {
                let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &hmac_secret);
                Box::new(move |m, s| ring::hmac::verify(&key, m, s).is_ok())
            }
            Algorithm::ES256 => {
                let mut point = vec![4];
                point.extend(b64("x"));
                point.extend(b64("y"));
                Box::new(move |m, s| {
                    UnparsedPublicKey::new(&rsig::ECDSA_P256_SHA256_FIXED, &point)
                        .verify(m, s)
                        .is_ok()
                })
            }
            Algorithm::EdDSA => {
                let x = b64("x");
                Box::new(move |m, s| {
                    UnparsedPublicKey::new(&rsig::ED25519, &x)
                        .verify(m, s)
                        .is_ok()
                })
            }
            _ => {
                let (n, e) = (b64("n"), b64("e"));
                Box::new(move |m, s| {
                    rsig::RsaPublicKeyComponents { n: &n, e: &e }
                        .verify(&rsig::RSA_PKCS1_2048_8192_SHA256, m, s)
                        .is_ok()
                })
            }
        };
        assert!(floor(&token, &*raw));

        let mut group = c.benchmark_group(name);
        group.bench_function("verifier", |b| {
            b.iter(|| {
                runtime
                    .block_on(verifier.verify::<Claims>(black_box(&token)))
                    .unwrap()
            })
        });
        group.bench_function("floor", |b| {
            b.iter(|| assert!(floor(black_box(&token), &*raw)))
        });
        if alg == Algorithm::HS256 {
            let jwt = JwtAuthenticator::builder(verifier.clone()).build().unwrap();
            let headers = HeaderList::new().with("Authorization", format!("Bearer {token}"));
            let request = AuthRequest::new("GET", "/orders", &headers);
            group.bench_function("authenticator", |b| {
                b.iter(|| {
                    let outcome = runtime.block_on(jwt.authenticate(black_box(&request)));
                    assert!(matches!(outcome, Outcome::Authenticated(_)));
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
