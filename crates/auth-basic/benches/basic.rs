//! Basic authentication costs: header parsing, argon2id verification at OWASP parameters,
//! and a full authentication served from the verified-credential cache.
//!
//! `cargo xtask bench` (or `cargo bench -p auth-basic --bench basic`).

#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;

use auth_basic::{
    Argon2Hasher, BasicAuthenticator, BasicCredentials, CacheConfig, MemoryUserStore,
    PasswordHasher,
};
use auth_core::{AuthRequest, Authenticator, HeaderList, Outcome};
use criterion::{Criterion, criterion_group, criterion_main};

fn parse(c: &mut Criterion) {
    let header = BasicCredentials::new("Aladdin", "open sesame").header_value();
    c.bench_function("basic/parse_header", |b| {
        b.iter(|| BasicCredentials::parse(black_box(&header)).unwrap())
    });
}

fn verify(c: &mut Criterion) {
    let hasher = Argon2Hasher::default();
    let stored = hasher.hash(b"open sesame").unwrap();
    let mut group = c.benchmark_group("basic");
    group.sample_size(20);
    group.bench_function("verify_argon2id_owasp", |b| {
        b.iter(|| {
            hasher
                .verify(black_box(b"open sesame"), black_box(&stored))
                .unwrap()
        })
    });
    group.finish();
}

fn authenticate(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let users = Arc::new(MemoryUserStore::new());
    users
        .add_user(&Argon2Hasher::default(), "Aladdin", "open sesame", "")
        .unwrap();
    let cached = BasicAuthenticator::builder(users.clone())
        .verified_cache(CacheConfig::default())
        .build()
        .unwrap();
    let uncached = BasicAuthenticator::builder(users).build().unwrap();
    let headers = HeaderList::new().with(
        "Authorization",
        BasicCredentials::new("Aladdin", "open sesame").header_value(),
    );
    let request = AuthRequest::new("GET", "/", &headers);

    let mut group = c.benchmark_group("basic");
    group.bench_function("authenticate_cached", |b| {
        b.iter(|| {
            let outcome = runtime.block_on(cached.authenticate(black_box(&request)));
            assert!(matches!(outcome, Outcome::Authenticated(_)));
        })
    });
    group.sample_size(20);
    group.bench_function("authenticate_uncached", |b| {
        b.iter(|| runtime.block_on(uncached.authenticate(black_box(&request))))
    });
    group.finish();
}

criterion_group!(benches, parse, verify, authenticate);
criterion_main!(benches);
