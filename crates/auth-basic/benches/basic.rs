//! Basic authentication costs: header parsing, argon2id verification at OWASP parameters,
//! and a full authentication served from the verified-credential cache beside its floor
//! (the header decoded, the user found in a `HashMap`, the cache's HMAC-SHA256 digest and
//! SHA-256 fingerprint computed, one lookup in a locked `HashMap`, done directly).
//!
//! `cargo xtask bench` (or `cargo bench -p auth-basic --bench basic`).

#![allow(missing_docs)]

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auth_basic::{
    Argon2Hasher, BasicAuthenticator, BasicCredentials, CacheConfig, MemoryUserStore,
    PasswordHasher,
};
use auth_core::{AuthRequest, Authenticator, HeaderList, Outcome};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

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

/// A cache entry: the SHA-256 of the PHC string, the expiry.
type CacheEntry = ([u8; 32], Instant);

/// The floor of a cache hit, with the same primitives as the cache.
struct Floor {
    users: HashMap<String, (String, String)>,
    key: [u8; 32],
    cache: Mutex<HashMap<[u8; 32], CacheEntry>>,
}

impl Floor {
    fn digest(&self, id: &str, password: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).unwrap();
        mac.update(&(id.len() as u64).to_be_bytes());
        mac.update(id.as_bytes());
        mac.update(password);
        mac.finalize().into_bytes().into()
    }

    fn check(&self, header: &str) -> bool {
        let Some(encoded) = header.strip_prefix("Basic ") else {
            return false;
        };
        let Ok(decoded) = STANDARD.decode(encoded) else {
            return false;
        };
        let Some(colon) = decoded.iter().position(|b| *b == b':') else {
            return false;
        };
        let (user, password) = (&decoded[..colon], &decoded[colon + 1..]);
        let Some((id, hash)) = std::str::from_utf8(user)
            .ok()
            .and_then(|u| self.users.get(u))
        else {
            return false;
        };
        let digest = self.digest(id, password);
        let fingerprint: [u8; 32] = Sha256::digest(hash.as_bytes()).into();
        let cache = self.cache.lock().unwrap();
        cache.get(&digest).is_some_and(|(stored, expires)| {
            *expires > Instant::now() && bool::from(stored.ct_eq(&fingerprint))
        })
    }
}

fn floor(c: &mut Criterion) {
    let hash = Argon2Hasher::default().hash(b"open sesame").unwrap();
    let floor = Floor {
        users: HashMap::from([("Aladdin".to_owned(), ("u1".to_owned(), hash.clone()))]),
        key: [9; 32],
        cache: Mutex::new(HashMap::new()),
    };
    let digest = floor.digest("u1", b"open sesame");
    floor.cache.lock().unwrap().insert(
        digest,
        (
            Sha256::digest(hash.as_bytes()).into(),
            Instant::now() + Duration::from_secs(3600),
        ),
    );
    let header = BasicCredentials::new("Aladdin", "open sesame").header_value();
    assert!(floor.check(&header));
    c.bench_function("basic/floor_cache_hit", |b| {
        b.iter(|| assert!(floor.check(black_box(&header))))
    });
}

criterion_group!(benches, parse, verify, authenticate, floor);
criterion_main!(benches);
