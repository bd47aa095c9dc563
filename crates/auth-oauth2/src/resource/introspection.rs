//! Opaque access tokens through RFC 7662 introspection, with a bounded cache.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_core::{Scopes, Secret, SharedClock, unix_seconds};
use base64::Engine as _;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{AccessTokenInfo, Failure, TokenFormat};
use crate::ClientAuthMethod;
use crate::http::{MAX_RESPONSE_BYTES, TransportError, read_body};

/// Cache bounds for introspection results.
///
/// A positive result is kept until the token expires (`exp`) or for
/// [`max_ttl`](IntrospectionCachePolicy::max_ttl), whichever comes first; a revoked token is
/// therefore refused at the latest `max_ttl` after its revocation. A negative result
/// (`"active": false`, or a token refused for its `aud`, `iss`, ...) is kept for
/// [`negative_ttl`](IntrospectionCachePolicy::negative_ttl), so a client repeating a bad
/// token does not cost an introspection each time. Both caches are bounded; the oldest entry
/// makes room. Entries are keyed by the SHA-256 of the token: the cache never holds a
/// token. Failures to reach the endpoint are never cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntrospectionCachePolicy {
    /// The longest a positive result is reused (default 60 s; zero disables the cache).
    pub max_ttl: Duration,
    /// How long a negative result is reused (default 10 s; zero disables it).
    pub negative_ttl: Duration,
    /// The most positive results kept (default 10 000).
    pub max_entries: usize,
    /// The most negative results kept (default 10 000).
    pub max_negative_entries: usize,
}

impl Default for IntrospectionCachePolicy {
    fn default() -> Self {
        Self {
            max_ttl: Duration::from_secs(60),
            negative_ttl: Duration::from_secs(10),
            max_entries: 10_000,
            max_negative_entries: 10_000,
        }
    }
}

type Key = [u8; 32];

/// A map with expiring entries and a bound, evicting the oldest insertion first.
struct Bounded<V> {
    map: HashMap<Key, (V, SystemTime)>,
    order: VecDeque<Key>,
    max: usize,
}

impl<V: Clone> Bounded<V> {
    fn new(max: usize) -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
            max,
        }
    }

    fn get(&mut self, key: &Key, now: SystemTime) -> Option<V> {
        match self.map.get(key) {
            Some((value, until)) if now < *until => Some(value.clone()),
            Some(_) => {
                self.map.remove(key);
                None
            }
            None => None,
        }
    }

    fn insert(&mut self, key: Key, value: V, until: SystemTime) {
        if self.max == 0 {
            return;
        }
        if let Some(entry) = self.map.get_mut(&key) {
            *entry = (value, until);
            return;
        }
        while self.map.len() >= self.max {
            match self.order.pop_front() {
                Some(old) => {
                    self.map.remove(&old);
                }
                None => break,
            }
        }
        self.map.insert(key, (value, until));
        self.order.push_back(key);
        // Keys removed on expiry stay in `order`; compact it before it grows past twice
        // the bound.
        if self.order.len() > self.max.saturating_mul(2) {
            let map = &self.map;
            let mut seen = HashSet::new();
            self.order
                .retain(|k| map.contains_key(k) && seen.insert(*k));
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.len()
    }
}

struct Caches {
    positive: Bounded<Arc<AccessTokenInfo>>,
    negative: Bounded<&'static str>,
}

/// Asks the authorization server about opaque tokens (RFC 7662 §2).
pub(crate) struct Introspector {
    pub(crate) url: url::Url,
    pub(crate) client_id: String,
    pub(crate) secret: Secret,
    pub(crate) method: ClientAuthMethod,
    pub(crate) http: reqwest::Client,
    pub(crate) policy: IntrospectionCachePolicy,
    pub(crate) clock: SharedClock,
    pub(crate) issuer: String,
    pub(crate) audiences: Vec<String>,
    pub(crate) leeway: Duration,
    caches: Mutex<Caches>,
}

impl Introspector {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        url: url::Url,
        client_id: String,
        secret: Secret,
        method: ClientAuthMethod,
        http: reqwest::Client,
        policy: IntrospectionCachePolicy,
        clock: SharedClock,
        issuer: String,
        audiences: Vec<String>,
        leeway: Duration,
    ) -> Self {
        Self {
            url,
            client_id,
            secret,
            method,
            http,
            caches: Mutex::new(Caches {
                positive: Bounded::new(policy.max_entries),
                negative: Bounded::new(policy.max_negative_entries),
            }),
            policy,
            clock,
            issuer,
            audiences,
            leeway,
        }
    }

    fn caches(&self) -> std::sync::MutexGuard<'_, Caches> {
        self.caches.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) async fn validate(&self, token: &str) -> Result<Arc<AccessTokenInfo>, Failure> {
        let key: Key = Sha256::digest(token.as_bytes()).into();
        let now = self.clock.now();
        {
            let mut caches = self.caches();
            if let Some(info) = caches.positive.get(&key, now) {
                return Ok(info);
            }
            if let Some(reason) = caches.negative.get(&key, now) {
                return Err(Failure::Invalid(reason));
            }
        }
        let response = self.introspect(token).await?;
        let now = self.clock.now();
        match self.judge(response, now) {
            Ok((info, until)) => {
                let info = Arc::new(info);
                let until = until.min(now + self.policy.max_ttl);
                if until > now {
                    self.caches().positive.insert(key, Arc::clone(&info), until);
                }
                Ok(info)
            }
            Err(reason) => {
                if !self.policy.negative_ttl.is_zero() {
                    self.caches()
                        .negative
                        .insert(key, reason, now + self.policy.negative_ttl);
                }
                Err(Failure::Invalid(reason))
            }
        }
    }

    /// POSTs the token (RFC 7662 §2.1) with client authentication; any failure to get a
    /// JSON object back is "unavailable" (fail closed, never cached).
    async fn introspect(&self, token: &str) -> Result<Map<String, Value>, Failure> {
        let secret = self.secret.expose_str().unwrap_or_default();
        let mut request = self
            .http
            .post(self.url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            );
        let body = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("token", token);
            form.append_pair("token_type_hint", "access_token");
            if self.method == ClientAuthMethod::ClientSecretPost {
                form.append_pair("client_id", &self.client_id);
                form.append_pair("client_secret", secret);
            }
            form.finish()
        };
        if self.method != ClientAuthMethod::ClientSecretPost {
            // RFC 6749 §2.3.1: each part form-urlencoded before Basic encoding.
            let encode =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let credentials = base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                encode(&self.client_id),
                encode(secret)
            ));
            let mut value = reqwest::header::HeaderValue::from_str(&format!("Basic {credentials}"))
                .map_err(|_| Failure::Unavailable("introspection_client_credentials"))?;
            value.set_sensitive(true);
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        let result = async {
            let mut response = request
                .body(body)
                .send()
                .await
                .map_err(TransportError::Network)?;
            let status = response.status();
            let body = read_body(&mut response, MAX_RESPONSE_BYTES).await?;
            if status != reqwest::StatusCode::OK {
                return Err(TransportError::Status {
                    status: status.as_u16(),
                    error: crate::OAuthError::from_json(&body),
                });
            }
            Ok(body)
        }
        .await;
        let body = match result {
            Ok(body) => body,
            Err(error) => {
                tracing::error!(
                    target: "auth_oauth2",
                    endpoint = %self.url,
                    %error,
                    "token introspection failed; refusing the request (fail closed)"
                );
                return Err(Failure::Unavailable("introspection_unavailable"));
            }
        };
        match serde_json::from_slice(&body) {
            Ok(Value::Object(map)) => Ok(map),
            _ => {
                tracing::error!(
                    target: "auth_oauth2",
                    endpoint = %self.url,
                    "the introspection response is not a JSON object"
                );
                Err(Failure::Unavailable("introspection_invalid_response"))
            }
        }
    }

    /// Decides on an introspection response (RFC 7662 §2.2): the token info and until when
    /// it may be cached, or the audit reason of a refusal.
    fn judge(
        &self,
        response: Map<String, Value>,
        now: SystemTime,
    ) -> Result<(AccessTokenInfo, SystemTime), &'static str> {
        match response.get("active") {
            Some(Value::Bool(true)) => {}
            Some(Value::Bool(false)) => return Err("token_inactive"),
            _ => return Err("introspection_no_active"),
        }
        let now_secs = unix_seconds(now);
        let leeway = self.leeway.as_secs();
        let time = |name: &'static str| -> Result<Option<u64>, &'static str> {
            match response.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => n
                    .as_u64()
                    .or_else(|| {
                        n.as_f64()
                            .filter(|f| f.is_finite() && *f >= 0.0)
                            .map(|f| f as u64)
                    })
                    .map(Some)
                    .ok_or("introspection_invalid_claim"),
                Some(_) => Err("introspection_invalid_claim"),
            }
        };
        let string = |name: &'static str| -> Result<Option<String>, &'static str> {
            match response.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err("introspection_invalid_claim"),
            }
        };
        let exp = time("exp")?;
        if exp.is_some_and(|exp| exp.saturating_add(leeway) <= now_secs) {
            return Err("token_expired");
        }
        if time("nbf")?.is_some_and(|nbf| nbf > now_secs.saturating_add(leeway)) {
            return Err("token_not_yet_valid");
        }
        let issuer = string("iss")?;
        if issuer.as_ref().is_some_and(|iss| iss != &self.issuer) {
            return Err("token_wrong_issuer");
        }
        let audience = match response.get("aud") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(aud)) => vec![aud.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or("introspection_invalid_claim")?,
            Some(_) => return Err("introspection_invalid_claim"),
        };
        if !audience.is_empty() && !audience.iter().any(|a| self.audiences.contains(a)) {
            return Err("token_wrong_audience");
        }
        if let Some(token_type) = string("token_type")?
            && !token_type.eq_ignore_ascii_case("bearer")
            && !token_type.eq_ignore_ascii_case("access_token")
        {
            // A refresh token presented as an access token, or a DPoP/mTLS-bound token.
            return Err("token_wrong_type");
        }
        if response.contains_key("cnf") {
            return Err("token_sender_constrained");
        }
        let scopes = match string("scope")? {
            Some(scope) => Scopes::parse(&scope).map_err(|_| "introspection_invalid_scope")?,
            None => Scopes::new(),
        };
        let client_id = string("client_id")?;
        let subject = string("sub")?
            .or_else(|| client_id.clone())
            .or(string("username")?)
            .filter(|s| !s.is_empty())
            .ok_or("introspection_no_subject")?;
        let at = |secs: u64| UNIX_EPOCH + Duration::from_secs(secs);
        let expires_at = exp.map(at);
        let info = AccessTokenInfo {
            format: TokenFormat::Opaque,
            subject,
            client_id,
            issuer,
            audience,
            scopes,
            expires_at,
            issued_at: time("iat")?.map(at),
            token_id: string("jti")?,
            claims: Arc::new(response),
        };
        // RFC 7662 §4: never cache past the token's expiry. Without `exp`, max_ttl bounds it.
        Ok((info, expires_at.unwrap_or(now + self.policy.max_ttl)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bounded_map_evicts_the_oldest_and_forgets_the_expired() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1000);
        let later = t0 + Duration::from_secs(60);
        let mut map = Bounded::new(2);
        map.insert([1; 32], "a", later);
        map.insert([2; 32], "b", later);
        map.insert([3; 32], "c", later);
        assert_eq!(map.len(), 2);
        assert_eq!(map.get(&[1; 32], t0), None);
        assert_eq!(map.get(&[3; 32], t0), Some("c"));
        assert_eq!(map.get(&[3; 32], later), None);
        // Churn does not grow the order queue without bound.
        for i in 0..100_u8 {
            map.insert([i; 32], "x", t0 + Duration::from_secs(1));
            map.get(&[i; 32], later);
        }
        assert!(map.order.len() <= 4);
        let mut off = Bounded::new(0);
        off.insert([1; 32], "a", later);
        assert_eq!(off.get(&[1; 32], t0), None);
    }
}
