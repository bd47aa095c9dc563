//! Load and verify a session from the in-memory store holding 1,000,000 sessions: cookie
//! parsing, the signature (or decryption) check, the id hash, one store lookup, the timeout
//! checks. `cargo bench -p auth-session --bench load`.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use auth_core::{Clock, HeaderList, Scopes, SystemClock};
use auth_session::{
    CookieKey, CookieKeys, CookieProtection, CsrfToken, MemoryStore, SessionId, SessionManager,
    SessionRecord, SessionStore,
};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

const SESSIONS: usize = 1_000_000;
/// Sessions made through the manager, whose cookies the benchmark cycles through.
const WITH_COOKIES: usize = 1_000;

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

fn filled_store() -> Arc<MemoryStore> {
    let store = Arc::new(MemoryStore::default().max_sessions(SESSIONS + 2 * WITH_COOKIES + 1));
    let now = SystemClock.now();
    for i in 0..SESSIONS - 2 * WITH_COOKIES {
        let record = SessionRecord {
            hash: SessionId::generate().unwrap().hash(),
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
    store
}

fn manager(store: &Arc<MemoryStore>, protection: CookieProtection) -> SessionManager {
    SessionManager::builder(
        Arc::clone(store),
        CookieKeys::new(CookieKey::from_bytes(&[7; 64]).unwrap()),
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
    let store = filled_store();
    let signed = manager(&store, CookieProtection::Signed);
    let private = manager(&store, CookieProtection::Private);
    let signed_cookies = cookies(&signed);
    let private_cookies = cookies(&private);
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
