//! Load and verify a session from the in-memory store holding 1,000,000 sessions: cookie
//! parsing, the signature (or decryption) check, the id hash, one store lookup, the timeout
//! checks; beside its floor (the same cookie found in the header and checked with the
//! `cookie` crate's signed jar, the id decoded and hashed with SHA-256, one lookup in a
//! `HashMap` of as many sessions, the expiry compared), and as the store grows from 1,000 to
//! 1,000,000 sessions. `cargo bench -p auth-session --bench load`.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

use auth_core::{Clock, HeaderList, Scopes, SystemClock};
use auth_session::{
    CookieKey, CookieKeys, CookieProtection, CsrfToken, MemoryStore, SessionId, SessionManager,
    SessionRecord, SessionStore,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use sha2::{Digest, Sha256};

const SESSIONS: usize = 1_000_000;
/// Sessions made through the manager, whose cookies the benchmark cycles through.
const WITH_COOKIES: usize = 500;
/// The store sizes of the scaling group; the last is `SESSIONS`.
const SIZES: [usize; 4] = [2 * WITH_COOKIES, 10_000, 100_000, SESSIONS];
const KEY: [u8; 64] = [7; 64];

/// Runs a future that never waits (the memory store never does).
fn run<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("the memory store never waits"),
    }
}

fn empty_store() -> Arc<MemoryStore> {
    Arc::new(MemoryStore::default().max_sessions(SESSIONS + 2 * WITH_COOKIES + 1))
}

/// Fills `store` with logged-in sessions up to `size`; the floor's map gets as many.
fn fill(store: &MemoryStore, floor: &mut HashMap<[u8; 32], FloorRecord>, size: usize) {
    let now = SystemClock.now();
    for i in store.len()..size {
        let id = SessionId::generate().unwrap();
        floor.insert(
            Sha256::digest(i.to_be_bytes()).into(),
            FloorRecord {
                user: format!("user-{}", i % 250_000),
                expires_at: now + Duration::from_secs(3600),
            },
        );
        let record = SessionRecord {
            hash: id.hash(),
            user: Some(format!("user-{}", i % 250_000)),
            scopes: Scopes::new(),
            created_at: now,
            authenticated_at: Some(now),
            last_seen: now,
            expires_at: now + Duration::from_secs(3600),
            csrf_token: CsrfToken::generate().unwrap(),
            data: BTreeMap::new(),
        };
        run(store.insert(record, None)).unwrap();
    }
}

/// What the floor's map holds per session: what the checks read.
struct FloorRecord {
    user: String,
    expires_at: SystemTime,
}

/// The floor of a load: find the cookie in the header, check its signature with the
/// `cookie` crate, decode the id, hash it, look it up, compare the expiry.
fn floor_load<'a>(
    floor: &'a HashMap<[u8; 32], FloorRecord>,
    key: &cookie::Key,
    header: &str,
    now: SystemTime,
) -> Option<&'a str> {
    let (name, value) = header
        .split("; ")
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == "__Host-id")?;
    let jar = cookie::CookieJar::new();
    let plain = jar
        .signed(key)
        .verify(cookie::Cookie::new(name.to_owned(), value.to_owned()))?;
    let id = URL_SAFE_NO_PAD.decode(plain.value()).ok()?;
    let hash: [u8; 32] = Sha256::digest(&id).into();
    let record = floor.get(&hash)?;
    (record.expires_at > now).then_some(record.user.as_str())
}

fn manager(store: &Arc<MemoryStore>, protection: CookieProtection) -> SessionManager {
    SessionManager::builder(
        Arc::clone(store),
        CookieKeys::new(CookieKey::from_bytes(&KEY).unwrap()),
    )
    .cookie_protection(protection)
    .build()
    .unwrap()
}

/// `WITH_COOKIES` logged-in sessions with a little data; their `Cookie` headers.
fn cookies(manager: &SessionManager) -> Vec<HeaderList> {
    (0..WITH_COOKIES)
        .map(|i| {
            let mut session = run(manager.load(&HeaderList::new())).unwrap();
            session.login(format!("bench-{i}"));
            session.insert("cart", &["apple", "pear"]).unwrap();
            let set_cookie = run(manager.commit(session)).unwrap().unwrap();
            let pair = set_cookie.expose_header_value().split(';').next().unwrap();
            HeaderList::new().with("Cookie", format!("theme=dark; {pair}; lang=fr"))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let store = empty_store();
    let signed = manager(&store, CookieProtection::Signed);
    let private = manager(&store, CookieProtection::Private);
    let signed_cookies = cookies(&signed);
    let private_cookies = cookies(&private);

    // The floor's map holds the bench cookies' sessions under the hash of their decoded
    // ids, and as many others as the store.
    let key = cookie::Key::from(&KEY);
    let mut floor = HashMap::new();
    let now = SystemClock.now();
    let cookie_headers: Vec<String> = signed_cookies
        .iter()
        .map(|h| {
            String::from_utf8(auth_core::HeaderSource::get(h, "cookie").unwrap().to_vec()).unwrap()
        })
        .collect();
    for (i, header) in cookie_headers.iter().enumerate() {
        let value = header
            .split("; ")
            .find_map(|pair| pair.strip_prefix("__Host-id="))
            .unwrap();
        let plain = cookie::CookieJar::new()
            .signed(&key)
            .verify(cookie::Cookie::new("__Host-id", value.to_owned()))
            .unwrap();
        let id = URL_SAFE_NO_PAD.decode(plain.value()).unwrap();
        floor.insert(
            Sha256::digest(&id).into(),
            FloorRecord {
                user: format!("bench-{i}"),
                expires_at: now + Duration::from_secs(3600),
            },
        );
    }

    let mut scaling = c.benchmark_group("session_scaling");
    for size in SIZES {
        fill(&store, &mut floor, size);
        let mut next = 0;
        scaling.bench_with_input(BenchmarkId::new("signed", size), &size, |b, _| {
            b.iter(|| {
                next = (next + 1) % signed_cookies.len();
                let session = run(signed.load(black_box(&signed_cookies[next]))).unwrap();
                assert!(session.user().is_some());
                black_box(session)
            });
        });
        scaling.bench_with_input(BenchmarkId::new("floor", size), &size, |b, _| {
            b.iter(|| {
                next = (next + 1) % cookie_headers.len();
                black_box(floor_load(&floor, &key, black_box(&cookie_headers[next]), now).unwrap())
            });
        });
    }
    scaling.finish();
    assert!(store.len() >= SESSIONS, "{}", store.len());

    let mut group = c.benchmark_group("load_1m_sessions");
    for (name, manager, cookies) in [
        ("signed", &signed, &signed_cookies),
        ("private", &private, &private_cookies),
    ] {
        let mut next = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                next = (next + 1) % cookies.len();
                let session = run(manager.load(black_box(&cookies[next]))).unwrap();
                assert!(session.user().is_some());
                black_box(session)
            });
        });
    }
    let mut next = 0;
    group.bench_function("floor_signed", |b| {
        b.iter(|| {
            next = (next + 1) % cookie_headers.len();
            black_box(floor_load(&floor, &key, black_box(&cookie_headers[next]), now).unwrap())
        });
    });
    let forged = HeaderList::new().with("Cookie", format!("__Host-id={}", "A".repeat(87)));
    group.bench_function("forged_cookie_refused", |b| {
        b.iter_batched(
            || forged.clone(),
            |headers| black_box(run(signed.load(&headers)).unwrap()),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
