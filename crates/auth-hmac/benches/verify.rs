//! Verifying a signed POST with a 1 KiB body, against the floor: HMAC-SHA256 over the same
//! signature base plus SHA-256 of the body, done directly.
//!
//! `cargo bench -p auth-hmac --bench verify -- --warm-up-time 1 --measurement-time 3`

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use auth_core::{HeaderList, ManualClock};
use auth_hmac::{HmacKey, MemoryKeyStore, RequestParts, SignatureParams, Signer, Verifier};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

const KEY_ID: &str = "bench-client";
const SECRET: &str = "bench secret of at least thirty-two bytes, 5e1c";
const URL: &str = "https://api.example.com/orders?tenant=7";

fn body() -> Vec<u8> {
    let mut body = br#"{"items":["#.to_vec();
    while body.len() < 1024 - 2 {
        body.extend_from_slice(b"\"x\",");
    }
    body.truncate(1024 - 2);
    body.extend_from_slice(b"]}");
    body
}

fn signed_headers(signer: &Signer, body: &[u8]) -> HeaderList {
    let mut headers = HeaderList::new()
        .with("Host", "api.example.com")
        .with("Content-Type", "application/json")
        .with("Content-Length", body.len().to_string());
    let signed = signer.sign("POST", URL, &headers, Some(body)).unwrap();
    for (name, value) in signed.iter() {
        headers.push(name, value);
    }
    headers
}

fn verify(c: &mut Criterion) {
    let body = body();
    assert_eq!(body.len(), 1024);
    let clock = ManualClock::starting_now();
    let keys = MemoryKeyStore::new();
    keys.insert(HmacKey::new(KEY_ID, "bench", SECRET).unwrap());
    let verifier = Verifier::builder(Arc::new(keys))
        .clock(clock.shared())
        .scheme("https")
        .build()
        .unwrap();
    let signer = Signer::builder(KEY_ID, SECRET)
        .clock(clock.shared())
        .build()
        .unwrap();

    // The floor: the same signature base, MACed and compared, and the body hashed.
    let headers = signed_headers(&signer, &body);
    let parts = RequestParts::new("POST", "/orders?tenant=7", &headers).with_scheme("https");
    let input = auth_core::HeaderSource::get(&headers, "signature-input").unwrap();
    let input = std::str::from_utf8(input).unwrap();
    let params: SignatureParams = input.split_once('=').unwrap().1.parse().unwrap();
    let base = params.signature_base(&parts).unwrap();
    let mac = auth_hmac::hmac_sha256(SECRET.as_bytes(), &[&base]);

    let mut group = c.benchmark_group("verify_post_1kib");
    group.bench_function("floor_hmac_base_plus_sha256_body", |b| {
        b.iter(|| {
            let mut hmac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
            hmac.update(black_box(&base));
            let ok = hmac.verify_slice(black_box(&mac)).is_ok();
            let digest = Sha256::digest(black_box(&body));
            black_box((ok, digest))
        });
    });

    // The full verification: parse both headers, apply the policy, look up the key, build
    // the base, compare MACs, check the digest against the body, record the nonce. Each
    // iteration gets a freshly signed request (signing is not timed); the clock moves one
    // second every 1,000 requests, so the nonce store holds a steady ~300,000 live nonces
    // and sweeps the expired ones, as a busy production instance would. The request's
    // headers are built and dropped outside the measurement (`iter_batched_ref`).
    let mut signed = 0_u32;
    group.bench_function("verifier_verify_parts", |b| {
        b.iter_batched_ref(
            || {
                signed += 1;
                if signed.is_multiple_of(1_000) {
                    clock.advance(Duration::from_secs(1));
                }
                signed_headers(&signer, &body)
            },
            |headers| {
                let parts =
                    RequestParts::new("POST", "/orders?tenant=7", headers).with_scheme("https");
                let verified =
                    ready(verifier.verify_parts(&parts, Some(black_box(&body)))).unwrap();
                black_box(verified.is_some())
            },
            BatchSize::SmallInput,
        );
    });

    group.finish();
}

/// Polls a future that completes without waiting (the in-memory nonce store never waits),
/// so no executor's overhead is measured.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

criterion_group!(benches, verify);
criterion_main!(benches);
