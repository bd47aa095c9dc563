//! The helpers of the bench: pre-signed HMAC requests, memory per stored entry, argon2
//! throughput.

use std::collections::BTreeMap;
use std::future::Future;
use std::io::Write as _;
use std::path::Path;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use auth_apikey::{KeyManager, MemoryKeyStore, NewKey};
use auth_basic::{Argon2Hasher, PasswordHasher};
use auth_core::{Clock, HeaderList, Scopes, SystemClock};
use auth_hmac::{MemoryNonceStore, NonceStore, Signer};
use auth_session::{CsrfToken, MemoryStore, SessionId, SessionRecord, SessionStore};

use crate::body_1kib;
use crate::ours::random_token;

/// Runs a future of an in-memory store, which never waits.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("an in-memory store never waits"),
    }
}

/// `auth-bench sign`: `count` distinct signed POSTs for the HMAC route of the server whose
/// credentials file is `credentials`. The first line names the headers, each further line
/// holds one request's values, tab-separated.
pub(crate) fn sign(credentials: &Path, count: usize, out: &Path) -> Result<(), String> {
    let text = std::fs::read(credentials).map_err(|e| format!("{}: {e}", credentials.display()))?;
    let credentials: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", credentials.display()))?;
    let port = credentials["port"].as_u64().ok_or("no port")?;
    let hmac = &credentials["hmac"];
    let (Some(key_id), Some(secret), Some(path)) = (
        hmac["key_id"].as_str(),
        hmac["secret"].as_str(),
        hmac["path"].as_str(),
    ) else {
        return Err("the credentials have no hmac key".to_owned());
    };
    let signer = Signer::builder(key_id, secret)
        .build()
        .map_err(|e| format!("signer: {e}"))?;
    let body = body_1kib();
    let host = format!("127.0.0.1:{port}");
    let url = format!("http://{host}{path}");
    let headers = HeaderList::new()
        .with("Host", host.as_str())
        .with("Content-Type", "application/json")
        .with("Content-Length", body.len().to_string());
    let file = std::fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut file = std::io::BufWriter::new(file);
    let write_err = |e: std::io::Error| format!("{}: {e}", out.display());
    for i in 0..count {
        let signed = signer
            .sign("POST", &url, &headers, Some(&body))
            .map_err(|e| format!("sign: {e}"))?;
        let (names, values): (Vec<&str>, Vec<&str>) = signed.iter().unzip();
        if i == 0 {
            writeln!(file, "{}", names.join("\t")).map_err(write_err)?;
        }
        writeln!(file, "{}", values.join("\t")).map_err(write_err)?;
    }
    file.flush().map_err(write_err)
}

/// The resident set size of this process, in bytes (`VmRSS` of `/proc/self/status`).
fn rss() -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| format!("/proc: {e}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| "no VmRSS in /proc/self/status".to_owned())
}

/// `auth-bench memory`: each kind measured in a fresh process of its own (freed memory
/// kept by the allocator would hide the next kind's growth). Prints one JSON object.
pub(crate) fn memory(count: usize) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut results = serde_json::Map::new();
    for kind in ["apikey", "session", "nonce"] {
        let output = std::process::Command::new(&exe)
            .args(["memory-one", kind, &count.to_string()])
            .output()
            .map_err(|e| format!("{}: {e}", exe.display()))?;
        if !output.status.success() {
            return Err(format!(
                "memory {kind}: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let value: serde_json::Value =
            serde_json::from_slice(&output.stdout).map_err(|e| format!("memory {kind}: {e}"))?;
        results.insert(kind.to_owned(), value);
    }
    println!("{}", serde_json::Value::Object(results));
    Ok(())
}

/// One kind of `memory`, in this process.
pub(crate) fn memory_one(kind: &str, count: usize) -> Result<(), String> {
    let before = rss()?;
    let started = Instant::now();
    // Each arm keeps its store alive until the RSS is read.
    let after = match kind {
        "apikey" => {
            let keys = KeyManager::builder(MemoryKeyStore::new(), "bench_live")
                .build()
                .map_err(|e| e.to_string())?;
            let scopes: Scopes = "orders:read".parse().map_err(|e| format!("{e}"))?;
            for i in 0..count {
                ready(keys.create(
                    NewKey::new(format!("owner-{}", i % 10_000), "bench").scopes(scopes.clone()),
                ))
                .map_err(|e| e.to_string())?;
            }
            let after = rss()?;
            drop(keys);
            after
        }
        "session" => {
            let store = MemoryStore::default().max_sessions(count + 1);
            let now = SystemClock.now();
            for i in 0..count {
                let record = SessionRecord {
                    hash: SessionId::generate().map_err(|e| e.to_string())?.hash(),
                    user: Some(format!("user-{}", i % 250_000)),
                    scopes: Scopes::new(),
                    created_at: now,
                    authenticated_at: Some(now),
                    last_seen: now,
                    expires_at: now + Duration::from_secs(3600),
                    csrf_token: CsrfToken::generate().map_err(|e| e.to_string())?,
                    data: BTreeMap::new(),
                };
                ready(store.insert(record, None)).map_err(|e| e.to_string())?;
            }
            let after = rss()?;
            drop(store);
            after
        }
        "nonce" => {
            let store = MemoryNonceStore::with_system_clock().max_entries(count + 1);
            let expires = SystemClock.now() + Duration::from_secs(300);
            for _ in 0..count {
                let nonce = format!("bench-client:{}", random_token(22));
                let fresh =
                    ready(store.insert_if_absent(&nonce, expires)).map_err(|e| e.to_string())?;
                if !fresh {
                    return Err("a random nonce repeated".to_owned());
                }
            }
            let after = rss()?;
            drop(store);
            after
        }
        other => return Err(format!("unknown memory kind `{other}`")),
    };
    let delta = after.saturating_sub(before);
    println!(
        "{}",
        serde_json::json!({
            "count": count,
            "rss_before": before,
            "rss_after": after,
            "bytes_per_entry": delta as f64 / count as f64,
            "fill_seconds": started.elapsed().as_secs_f64(),
        })
    );
    Ok(())
}

/// `auth-bench argon2`: argon2id (OWASP parameters) verifications per second with one
/// thread per core, for `seconds`. Prints one JSON object.
pub(crate) fn argon2(seconds: u64) -> Result<(), String> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let hasher = Argon2Hasher::default();
    let stored = hasher
        .hash(b"open sesame")
        .map_err(|e| format!("argon2: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(seconds.max(1));
    let started = Instant::now();
    let mut samples: Vec<Duration> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (hasher, stored) = (&hasher, stored.as_str());
                scope.spawn(move || {
                    let mut took = Vec::new();
                    while Instant::now() < deadline {
                        let start = Instant::now();
                        let ok = hasher.verify(b"open sesame", stored);
                        took.push(start.elapsed());
                        assert!(ok.is_ok());
                    }
                    took
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    samples.sort();
    let at = |q: f64| {
        samples
            .get(((samples.len() as f64 * q) as usize).min(samples.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{}",
        serde_json::json!({
            "threads": threads,
            "verifications": samples.len(),
            "seconds": elapsed,
            "per_second": samples.len() as f64 / elapsed,
            "p50_ms": at(0.5),
            "p99_ms": at(0.99),
        })
    );
    Ok(())
}
