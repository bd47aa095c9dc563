//! [`RemoteJwks`]: a remote JWKS fetched on demand and cached (feature `remote-jwks`).

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use auth_core::{SharedClock, SystemClock};
use jsonwebtoken::jwk::JwkSet;
use tokio::sync::Mutex;

use crate::keys::{Key, KeySet};
use crate::verifier::KeySource;
use crate::{KeyError, VerifyError};

/// Where the JWKS is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksLocation {
    /// The JWKS URL itself.
    Url(String),
    /// An issuer: its `jwks_uri` is read from `<issuer>/.well-known/openid-configuration`,
    /// or else `<issuer>/.well-known/oauth-authorization-server` (RFC 8414), whose `issuer`
    /// must equal it (RFC 8414 §3.3).
    Issuer(String),
}

/// Cache bounds for [`RemoteJwks`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwksCachePolicy {
    /// Used when the response has no usable `Cache-Control: max-age` (default 5 minutes).
    pub default_ttl: Duration,
    /// `max-age` below this is raised to it (default 1 minute): an issuer cannot make every
    /// request a fetch.
    pub min_ttl: Duration,
    /// `max-age` above this is lowered to it (default 24 hours): removed keys stop working
    /// within a day.
    pub max_ttl: Duration,
    /// After a fetch, an unknown `kid` triggers another fetch only after this long (default
    /// 30 seconds): tokens with random kids cannot make us hammer the issuer.
    pub refresh_cooldown: Duration,
    /// Timeout of one fetch (default 5 seconds).
    pub timeout: Duration,
    /// Largest JWKS document accepted (default 256 KiB).
    pub max_bytes: usize,
}

impl Default for JwksCachePolicy {
    fn default() -> Self {
        Self {
            default_ttl: Duration::from_secs(300),
            min_ttl: Duration::from_secs(60),
            max_ttl: Duration::from_secs(24 * 3600),
            refresh_cooldown: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
            max_bytes: 256 * 1024,
        }
    }
}

struct Cached {
    keys: Arc<KeySet>,
    fresh_until: SystemTime,
}

/// The cached set (and whether it is fresh), the last fetch time, the fetch generation.
type Snapshot = (Option<(Arc<KeySet>, bool)>, Option<SystemTime>, u64);

struct State {
    cached: Option<Cached>,
    last_fetch: Option<SystemTime>,
    /// Counts finished fetches: a caller that waited for the refresh lock sees whether a
    /// fetch finished meanwhile (times cannot tell, a clock may not have moved).
    generation: u64,
}

/// A JWKS fetched from an issuer and cached: the [`KeySource`] of a resource server.
///
/// - honours `Cache-Control: max-age` within [`JwksCachePolicy`] bounds;
/// - an unknown `kid` triggers a refresh (the issuer rotated), at most once per cooldown;
/// - when the issuer is down, the last good set keeps serving (stale) and the failure is
///   logged; with no set at all, verification fails closed (503);
/// - concurrent misses make one request (the others wait for it).
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> Result<(), auth_jwt::KeyError> {
/// use auth_jwt::{JwksLocation, RemoteJwks, Verifier};
///
/// let jwks = RemoteJwks::new(JwksLocation::Issuer("https://id.example".into()))?;
/// let verifier = Verifier::builder(jwks).issuer("https://id.example").audience("orders").build()?;
/// # Ok(()) }
/// ```
pub struct RemoteJwks {
    location: JwksLocation,
    client: reqwest::Client,
    clock: SharedClock,
    policy: JwksCachePolicy,
    state: RwLock<State>,
    refresh: Mutex<()>,
    fetches: std::sync::atomic::AtomicUsize,
}

impl RemoteJwks {
    /// A cache for the JWKS at `location`, with the default policy and system clock.
    ///
    /// # Errors
    ///
    /// [`KeyError::Config`] when the location is not an `https://` URL (plain `http://` is
    /// accepted only for loopback hosts, for tests and local issuers).
    pub fn new(location: JwksLocation) -> Result<Self, KeyError> {
        Self::with_policy(location, JwksCachePolicy::default(), SystemClock::shared())
    }

    /// A cache with `policy` and `clock`.
    ///
    /// # Errors
    ///
    /// As [`RemoteJwks::new`], and for an inconsistent policy.
    pub fn with_policy(
        location: JwksLocation,
        policy: JwksCachePolicy,
        clock: SharedClock,
    ) -> Result<Self, KeyError> {
        let url = match &location {
            JwksLocation::Url(url) | JwksLocation::Issuer(url) => url,
        };
        check_url(url)?;
        if policy.min_ttl > policy.max_ttl || policy.timeout.is_zero() || policy.max_bytes == 0 {
            return Err(KeyError::Config("inconsistent JWKS cache policy".into()));
        }
        let client = reqwest::Client::builder()
            .timeout(policy.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| KeyError::Config(e.to_string()))?;
        Ok(Self {
            location,
            client,
            clock,
            policy,
            state: RwLock::new(State {
                cached: None,
                last_fetch: None,
                generation: 0,
            }),
            refresh: Mutex::new(()),
            fetches: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// How many fetches were made (for monitoring and tests).
    #[must_use]
    pub fn fetch_count(&self) -> usize {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn lookup(keys: &KeySet, kid: Option<&str>) -> Option<Arc<Key>> {
        match kid {
            Some(kid) => keys.get(kid).cloned(),
            None => keys.sole().cloned(),
        }
    }

    fn snapshot(&self) -> Snapshot {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        let now = self.clock.now();
        (
            state
                .cached
                .as_ref()
                .map(|c| (Arc::clone(&c.keys), c.fresh_until > now)),
            state.last_fetch,
            state.generation,
        )
    }

    /// Fetches now, one request at a time; `seen` is the fetch generation the caller saw, so
    /// a fetch that happened while it waited for the lock is reused, not repeated.
    async fn refresh(&self, seen: u64) -> Result<(), String> {
        let _guard = self.refresh.lock().await;
        if self.snapshot().2 != seen {
            return Ok(());
        }
        let now = self.clock.now();
        self.state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .last_fetch = Some(now);
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let fetched = self.fetch().await;
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        state.generation += 1;
        let (jwks, ttl) = fetched?;
        state.cached = Some(Cached {
            keys: Arc::new(KeySet::from_jwks(&jwks)),
            fresh_until: now + ttl,
        });
        Ok(())
    }

    async fn fetch(&self) -> Result<(JwkSet, Duration), String> {
        let url = match &self.location {
            JwksLocation::Url(url) => url.clone(),
            JwksLocation::Issuer(issuer) => self.discover(issuer).await?,
        };
        let (body, max_age) = self.get(&url).await?;
        let jwks: JwkSet =
            serde_json::from_slice(&body).map_err(|e| format!("JWKS is not JSON: {e}"))?;
        let ttl = max_age
            .unwrap_or(self.policy.default_ttl)
            .clamp(self.policy.min_ttl, self.policy.max_ttl);
        Ok((jwks, ttl))
    }

    async fn discover(&self, issuer: &str) -> Result<String, String> {
        let mut last = String::new();
        for url in metadata_urls(issuer) {
            match self.get(&url).await {
                Ok((body, _)) => {
                    let meta: serde_json::Value = serde_json::from_slice(&body)
                        .map_err(|e| format!("metadata is not JSON: {e}"))?;
                    if meta["issuer"].as_str() != Some(issuer) {
                        return Err("metadata issuer does not match (RFC 8414 §3.3)".into());
                    }
                    let uri = meta["jwks_uri"]
                        .as_str()
                        .ok_or("metadata has no jwks_uri")?;
                    check_url(uri).map_err(|e| e.to_string())?;
                    return Ok(uri.to_owned());
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    async fn get(&self, url: &str) -> Result<(Vec<u8>, Option<Duration>), String> {
        let mut response = self
            .client
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("GET {url}: {}", response.status()));
        }
        let max_age = response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .and_then(max_age);
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?
        {
            if body.len() + chunk.len() > self.policy.max_bytes {
                return Err(format!(
                    "GET {url}: larger than {} bytes",
                    self.policy.max_bytes
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((body, max_age))
    }
}

/// Where an issuer's metadata may be: OpenID Connect Discovery 1.0 §4 appends
/// `/.well-known/openid-configuration` to the issuer; RFC 8414 §3.1 inserts
/// `/.well-known/oauth-authorization-server` between the host and the issuer's path.
fn metadata_urls(issuer: &str) -> [String; 2] {
    let trimmed = issuer.trim_end_matches('/');
    let oidc = format!("{trimmed}/.well-known/openid-configuration");
    let (origin, path) = match trimmed.find("://").map(|i| i + 3) {
        Some(start) => match trimmed[start..].find('/') {
            Some(slash) => trimmed.split_at(start + slash),
            None => (trimmed, ""),
        },
        None => (trimmed, ""),
    };
    let oauth = format!("{origin}/.well-known/oauth-authorization-server{path}");
    [oidc, oauth]
}

/// `max-age` from a `Cache-Control` value; `no-store`/`no-cache` count as 0.
fn max_age(value: &str) -> Option<Duration> {
    let mut age = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(Duration::ZERO);
        }
        if let Some(secs) = lower.strip_prefix("max-age=") {
            age = secs
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    age
}

fn check_url(url: &str) -> Result<(), KeyError> {
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| url.starts_with(p) && url[p.len()..].starts_with([':', '/']));
    if url.starts_with("https://") || loopback {
        Ok(())
    } else {
        Err(KeyError::Config(format!(
            "JWKS and issuer URLs must be https:// (http only on loopback): {url}"
        )))
    }
}

#[async_trait]
impl KeySource for RemoteJwks {
    async fn key(&self, kid: Option<&str>) -> Result<Option<Arc<Key>>, VerifyError> {
        let (cached, last_fetch, generation) = self.snapshot();
        let now = self.clock.now();
        // A stale set, an unknown kid (the issuer may have rotated) or a failed first fetch:
        // fetch again, but at most once per cooldown, whatever the requests carry.
        let cooling = last_fetch.is_some_and(|t| {
            now.duration_since(t).unwrap_or_default() < self.policy.refresh_cooldown
        });
        match &cached {
            Some((keys, fresh)) => {
                let found = Self::lookup(keys, kid);
                if (*fresh && found.is_some()) || cooling {
                    return Ok(found);
                }
            }
            // A failed fetch within the cooldown fails fast; a fetch in progress is waited for.
            None if cooling && self.refresh.try_lock().is_ok() => {
                return Err(VerifyError::Unavailable("jwks"));
            }
            None => {}
        }
        if let Err(error) = self.refresh(generation).await {
            tracing::warn!(target: "auth_jwt", %error, "JWKS fetch failed; serving the last good set if any");
        }
        match self.snapshot().0 {
            Some((keys, _)) => Ok(Self::lookup(&keys, kid)),
            None => Err(VerifyError::Unavailable("jwks")),
        }
    }

    fn key_now(&self, kid: Option<&str>) -> Option<Result<Option<Arc<Key>>, VerifyError>> {
        // Only the plain hit: a fresh set that has the key. Anything else goes through `key`.
        let (cached, _, _) = self.snapshot();
        match &cached {
            Some((keys, true)) => Self::lookup(keys, kid).map(|key| Ok(Some(key))),
            _ => None,
        }
    }
}

impl fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteJwks")
            .field("location", &self.location)
            .field("policy", &self.policy)
            .field("fetches", &self.fetch_count())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_max_age() {
        assert_eq!(
            max_age("public, max-age=600"),
            Some(Duration::from_secs(600))
        );
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
    }

    #[test]
    fn metadata_urls_follow_oidc_and_rfc_8414() {
        assert_eq!(
            metadata_urls("https://id.example/tenant1"),
            [
                "https://id.example/tenant1/.well-known/openid-configuration".to_owned(),
                "https://id.example/.well-known/oauth-authorization-server/tenant1".to_owned(),
            ]
        );
        assert_eq!(
            metadata_urls("https://id.example")[1],
            "https://id.example/.well-known/oauth-authorization-server"
        );
    }

    #[test]
    fn only_https_or_loopback_http() {
        assert!(check_url("https://id.example/jwks").is_ok());
        assert!(check_url("http://127.0.0.1:8080/jwks").is_ok());
        assert!(check_url("http://id.example/jwks").is_err());
        assert!(check_url("http://127.0.0.1.evil.example/jwks").is_err());
    }
}
