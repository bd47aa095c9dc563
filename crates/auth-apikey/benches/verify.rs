//! Verification against an in-memory store of 1,000,000 keys beside its floor (SHA-256 of
//! the key and one lookup in a `HashMap` of as many hashes, done directly), the same as the
//! store grows from 1,000 to 1,000,000 keys, the checksum fast-reject, and key generation.
//!
//! `cargo bench -p auth-apikey --bench verify` (add `-- --warm-up-time 1 --measurement-time 3`
//! for a quick run). Building the store takes a few seconds.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::collections::HashMap;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use auth_apikey::{ApiKeyAuthenticator, KeyFormat, KeyHash, KeyManager, MemoryKeyStore, NewKey};
use auth_core::{AuthRequest, Authenticator, HeaderList, Outcome};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use sha2::{Digest, Sha256};

const KEYS: usize = 1_000_000;
const SAMPLE: usize = 1_024;
/// The store sizes of the scaling group; the last is `KEYS`.
const SIZES: [usize; 4] = [1_000, 10_000, 100_000, KEYS];

/// Runs a future that never waits (the in-memory store never does) to completion, without
/// an async runtime in the measurement.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the in-memory store never waits"),
    }
}

/// The floor of a verification: the key's SHA-256, one hash-map lookup, a constant-time
/// comparison of the stored hash (with the same word-wise comparison the store uses).
fn floor_lookup(floor: &HashMap<[u8; 32], u32>, key: &str) -> Option<u32> {
    let hash = KeyHash::from_bytes(Sha256::digest(key.as_bytes()).into());
    floor
        .get_key_value(hash.as_bytes())
        .filter(|(stored, _)| KeyHash::from_bytes(**stored).ct_eq(&hash))
        .map(|(_, id)| *id)
}

fn bench(c: &mut Criterion) {
    let keys = KeyManager::builder(MemoryKeyStore::new(), "bench_live")
        .build()
        .expect("valid configuration");
    // The floor's store: the SHA-256 of every key, mapped to a small id.
    let mut floor: HashMap<[u8; 32], u32> = HashMap::new();
    let mut all = Vec::with_capacity(KEYS);
    let mut scaling = c.benchmark_group("apikey_scaling");
    for size in SIZES {
        while all.len() < size {
            let i = all.len();
            let created = ready(
                keys.create(
                    NewKey::new(format!("owner-{}", i % 10_000), "bench")
                        .scopes("orders:read".parse().expect("valid scope")),
                ),
            )
            .expect("create");
            let key = created.key.expose_secret().to_owned();
            floor.insert(Sha256::digest(key.as_bytes()).into(), i as u32);
            all.push(key);
        }
        // Keys spread over the whole store.
        let sample: Vec<&str> = (0..SAMPLE)
            .map(|j| all[j * size / SAMPLE].as_str())
            .collect();
        let mut i = 0;
        scaling.bench_with_input(BenchmarkId::new("valid_key", size), &size, |b, _| {
            b.iter(|| {
                i = (i + 1) % SAMPLE;
                black_box(ready(keys.verify(black_box(sample[i]))).expect("valid"))
            });
        });
        scaling.bench_with_input(BenchmarkId::new("floor", size), &size, |b, _| {
            b.iter(|| {
                i = (i + 1) % SAMPLE;
                black_box(floor_lookup(&floor, black_box(sample[i])).expect("known"))
            });
        });
    }
    scaling.finish();
    let sample: Vec<String> = (0..SAMPLE)
        .map(|j| all[j * KEYS / SAMPLE].clone())
        .collect();
    let unknown = keys
        .format()
        .generate()
        .expect("random")
        .expose_secret()
        .to_owned();
    let mut typo = sample[0].clone().into_bytes();
    let last = typo.len() - 1;
    typo[last] = if typo[last] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).expect("ASCII");

    let mut group = c.benchmark_group("verify_1m_keys");
    let mut i = 0;
    group.bench_function("valid_key", |b| {
        b.iter(|| {
            i = (i + 1) % SAMPLE;
            black_box(ready(keys.verify(black_box(&sample[i]))).expect("valid"))
        });
    });
    group.bench_function("floor_sha256_hash_lookup", |b| {
        b.iter(|| {
            i = (i + 1) % SAMPLE;
            black_box(floor_lookup(&floor, black_box(&sample[i])).expect("known"))
        });
    });
    group.bench_function("unknown_key", |b| {
        b.iter(|| black_box(ready(keys.verify(black_box(&unknown))).is_err()));
    });
    group.bench_function("checksum_reject", |b| {
        b.iter(|| black_box(ready(keys.verify(black_box(&typo))).is_err()));
    });
    let authenticator = ApiKeyAuthenticator::builder(keys.clone())
        .build()
        .expect("valid configuration");
    let headers: Vec<HeaderList> = sample
        .iter()
        .map(|key| HeaderList::new().with("X-API-Key", key.as_str()))
        .collect();
    let mut j = 0;
    group.bench_function("authenticator_header", |b| {
        b.iter(|| {
            j = (j + 1) % SAMPLE;
            let request = AuthRequest::new("GET", "/orders", &headers[j]);
            let outcome = ready(authenticator.authenticate(black_box(&request)));
            black_box(matches!(outcome, Outcome::Authenticated(_)))
        });
    });
    group.finish();

    let format = KeyFormat::new("bench_live").expect("valid prefix");
    c.bench_function("generate_key", |b| {
        b.iter(|| black_box(format.generate().expect("random")));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
