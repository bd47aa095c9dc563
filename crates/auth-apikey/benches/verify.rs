//! Verification against an in-memory store of 1,000,000 keys, the checksum fast-reject, and
//! key generation.
//!
//! `cargo bench -p auth-apikey --bench verify` (add `-- --warm-up-time 1 --measurement-time 3`
//! for a quick run). Building the store takes a few seconds.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use auth_apikey::{ApiKeyAuthenticator, KeyFormat, KeyManager, MemoryKeyStore, NewKey};
use auth_core::{AuthRequest, Authenticator, HeaderList, Outcome};
use criterion::{Criterion, criterion_group, criterion_main};

const KEYS: usize = 1_000_000;
const SAMPLE: usize = 1_024;

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

fn bench(c: &mut Criterion) {
    let keys = KeyManager::builder(MemoryKeyStore::new(), "bench_live")
        .build()
        .expect("valid configuration");
    let mut sample = Vec::with_capacity(SAMPLE);
    for i in 0..KEYS {
        let created = ready(
            keys.create(
                NewKey::new(format!("owner-{}", i % 10_000), "bench")
                    .scopes("orders:read".parse().expect("valid scope")),
            ),
        )
        .expect("create");
        if i % (KEYS / SAMPLE) == 0 && sample.len() < SAMPLE {
            sample.push(created.key.expose_secret().to_owned());
        }
    }
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
