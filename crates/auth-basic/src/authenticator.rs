//! [`BasicAuthenticator`]: HTTP Basic verification against a [`UserStore`].

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use auth_core::{
    AuthRequest, Authenticator, Challenge, MemoryThrottle, Outcome, Principal, Rejection, Scheme,
    SharedClock, SystemClock, Throttle, ThrottleKey, ThrottlePolicy,
};
use zeroize::Zeroizing;

use crate::cache::VerifiedCache;
use crate::codec::{BasicCredentials, DEFAULT_MAX_HEADER_LEN};
use crate::hasher::{HashPool, PasswordHasher, Verification};
use crate::{Argon2Hasher, CacheConfig, Error, UserStore};

/// Who logged in with Basic: carried on the [`Principal`] as an extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicUser {
    /// The user's stable id (also the principal's subject).
    pub id: String,
    /// The name the user logged in with.
    pub username: String,
}

/// Verifies `Authorization: Basic` credentials (RFC 7617) against a [`UserStore`].
///
/// Per request: parse the header (malformed → 400 with the challenge); check the throttle
/// for the claimed user name and the client address (→ 429 with `Retry-After`); look the user
/// up (store down → 503); verify the password off the async reactor — against a dummy hash
/// when the user does not exist, so an unknown user costs the same as a wrong password;
/// refuse disabled users; record failures, reset the user's counter on success; rehash and
/// save when the stored hash is weaker than the policy.
///
/// Unknown user, wrong password and disabled user get the *same* 401 (status, headers,
/// body); only the audit reason differs (`unknown_user`, `wrong_password`,
/// `user_disabled`).
///
/// # Examples
///
/// See the [crate documentation](crate).
pub struct BasicAuthenticator {
    store: Arc<dyn UserStore>,
    hasher: Arc<dyn PasswordHasher>,
    pool: HashPool,
    throttle: Option<Arc<dyn Throttle>>,
    cache: Option<VerifiedCache>,
    clock: SharedClock,
    challenges: Vec<Challenge>,
    dummy_hash: Arc<str>,
    max_header_len: usize,
}

/// Builds a [`BasicAuthenticator`]; see [`BasicAuthenticator::builder`].
#[must_use = "call .build()"]
pub struct BasicAuthenticatorBuilder {
    store: Arc<dyn UserStore>,
    realm: String,
    hasher: Option<Arc<dyn PasswordHasher>>,
    pool: Option<HashPool>,
    throttle: ThrottleChoice,
    cache: Option<CacheConfig>,
    clock: Option<SharedClock>,
    max_header_len: usize,
}

enum ThrottleChoice {
    Default,
    Custom(Arc<dyn Throttle>),
    Off,
}

impl BasicAuthenticator {
    /// Starts a builder over `store`, with secure defaults: realm `"api"`, argon2id at
    /// OWASP parameters, hashing bounded to the core count, a [`MemoryThrottle`] with the
    /// default [`ThrottlePolicy`], no verified-credential cache, the system clock, headers
    /// up to [`DEFAULT_MAX_HEADER_LEN`] bytes.
    pub fn builder(store: Arc<dyn UserStore>) -> BasicAuthenticatorBuilder {
        BasicAuthenticatorBuilder {
            store,
            realm: "api".to_owned(),
            hasher: None,
            pool: None,
            throttle: ThrottleChoice::Default,
            cache: None,
            clock: None,
            max_header_len: DEFAULT_MAX_HEADER_LEN,
        }
    }

    /// The `WWW-Authenticate` challenge: `Basic realm="...", charset="UTF-8"`.
    #[must_use]
    pub fn challenge(&self) -> &Challenge {
        &self.challenges[0]
    }

    fn rejected(&self, rejection: Rejection) -> Outcome {
        Outcome::Rejected(rejection.with_scheme(Scheme::BASIC))
    }

    async fn verify(&self, password: &[u8], stored: Arc<str>) -> Result<Verification, Error> {
        let hasher = Arc::clone(&self.hasher);
        let password = Zeroizing::new(password.to_vec());
        self.pool
            .run(move || hasher.verify(&password, &stored))
            .await?
    }

    /// Replaces `current_hash`, which `password` was just verified against, with a hash at
    /// the policy's parameters, unless the stored hash changed meanwhile.
    async fn rehash(&self, id: &str, current_hash: &str, password: &[u8]) {
        let hasher = Arc::clone(&self.hasher);
        let password = Zeroizing::new(password.to_vec());
        let hashed = self.pool.run(move || hasher.hash(&password)).await;
        let saved = match hashed {
            Ok(Ok(hash)) => self
                .store
                .update_hash(id, current_hash, &hash)
                .await
                .map_err(Error::from),
            Ok(Err(e)) | Err(e) => Err(e),
        };
        match saved {
            Ok(true) => {}
            // The password was changed while this login rehashed: the new one stays.
            Ok(false) => tracing::info!(
                target: "auth_basic",
                user_id = %id,
                "password changed during the rehash; the rehash was not written"
            ),
            // The login still succeeds; the old hash stays until the next one.
            Err(error) => {
                tracing::warn!(target: "auth_basic", user_id = %id, %error, "password rehash failed");
            }
        }
    }

    async fn throttled(
        &self,
        keys: &[ThrottleKey],
    ) -> Result<Option<std::time::Duration>, Rejection> {
        match &self.throttle {
            None => Ok(None),
            Some(throttle) => auth_core::now_or_await(throttle.retry_after_any_now(keys), || {
                throttle.retry_after_any(keys)
            })
            .await
            .map_err(|_| Rejection::unavailable("throttle_unavailable")),
        }
    }

    /// Forgets the failures of `key` after a success (best effort: a throttle error is
    /// ignored, the success stands).
    async fn reset(&self, key: &ThrottleKey) {
        if let Some(throttle) = &self.throttle
            && throttle.reset_now(key).is_none()
        {
            let _ = throttle.reset(key).await;
        }
    }

    async fn record_failure(&self, keys: &[ThrottleKey]) {
        if let Some(throttle) = &self.throttle {
            for key in keys {
                let _ = throttle.record_failure(key).await;
            }
        }
    }
}

impl BasicAuthenticatorBuilder {
    /// The realm in the challenge (default `"api"`).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// The password hasher (default: [`Argon2Hasher`] at OWASP parameters).
    pub fn hasher(mut self, hasher: Arc<dyn PasswordHasher>) -> Self {
        self.hasher = Some(hasher);
        self
    }

    /// The pool that bounds concurrent hashing (default: one per core).
    pub fn hash_pool(mut self, pool: HashPool) -> Self {
        self.pool = Some(pool);
        self
    }

    /// The failed-attempt throttle (default: a [`MemoryThrottle`]; use a shared one, such as
    /// Redis, when several instances serve the same users).
    pub fn throttle(mut self, throttle: Arc<dyn Throttle>) -> Self {
        self.throttle = ThrottleChoice::Custom(throttle);
        self
    }

    /// Turns throttling off, leaving online password guessing limited only by argon2's
    /// cost. Only for deployments that throttle in front (a gateway with per-user limits).
    pub fn insecure_without_throttle(mut self) -> Self {
        self.throttle = ThrottleChoice::Off;
        self
    }

    /// Turns on the verified-credential cache (off by default). Read its
    /// [trade-off](CacheConfig#security) first.
    pub fn verified_cache(mut self, config: CacheConfig) -> Self {
        self.cache = Some(config);
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The longest `Authorization` header accepted (default [`DEFAULT_MAX_HEADER_LEN`]).
    pub fn max_header_len(mut self, bytes: usize) -> Self {
        self.max_header_len = bytes;
        self
    }

    /// Checks the configuration and builds the authenticator. Hashes one random password
    /// (the dummy hash unknown users are checked against), so it takes as long as a login.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for an empty realm, a header limit under 16 bytes, or a bad cache
    /// configuration; [`Error::Hash`] when the dummy hash cannot be made.
    pub fn build(self) -> Result<BasicAuthenticator, Error> {
        if self.realm.trim().is_empty() {
            return Err(Error::Config("the realm must not be empty"));
        }
        if self.max_header_len < 16 {
            return Err(Error::Config("max_header_len must be at least 16 bytes"));
        }
        let clock = self.clock.unwrap_or_else(SystemClock::shared);
        let hasher = self
            .hasher
            .unwrap_or_else(|| Arc::new(Argon2Hasher::default()));
        let throttle: Option<Arc<dyn Throttle>> = match self.throttle {
            ThrottleChoice::Default => Some(Arc::new(
                MemoryThrottle::new(ThrottlePolicy::default(), Arc::clone(&clock))
                    .map_err(|_| Error::Config("invalid throttle policy"))?,
            )),
            ThrottleChoice::Custom(throttle) => Some(throttle),
            ThrottleChoice::Off => None,
        };
        let cache = self
            .cache
            .map(|config| VerifiedCache::new(config, Arc::clone(&clock)))
            .transpose()?;
        let mut random = Zeroizing::new([0_u8; 32]);
        getrandom::getrandom(random.as_mut()).map_err(|_| Error::Hash("no OS randomness"))?;
        let dummy_hash: Arc<str> = hasher.hash(random.as_ref())?.into();
        Ok(BasicAuthenticator {
            store: self.store,
            hasher,
            pool: self.pool.unwrap_or_default(),
            throttle,
            cache,
            clock,
            challenges: vec![
                Challenge::new("Basic")
                    .param("realm", self.realm)
                    .param("charset", "UTF-8"),
            ],
            dummy_hash,
            max_header_len: self.max_header_len,
        })
    }
}

#[async_trait]
impl Authenticator for BasicAuthenticator {
    fn scheme(&self) -> Scheme {
        Scheme::BASIC
    }

    fn challenges(&self) -> &[Challenge] {
        &self.challenges
    }

    async fn authenticate(&self, request: &AuthRequest<'_>) -> Outcome {
        let header = match request.single_header("authorization") {
            Ok(Some(header)) => header,
            Ok(None) => return Outcome::NoCredential,
            Err(_) => {
                // A repeated or binary Authorization header: malformed whatever its scheme.
                return self.rejected(Rejection::invalid_request(
                    self.challenges.clone(),
                    "Malformed Authorization header",
                    "malformed_authorization_header",
                ));
            }
        };
        let credentials = match BasicCredentials::parse_with_limit(header, self.max_header_len) {
            Ok(Some(credentials)) => credentials,
            Ok(None) => return Outcome::NoCredential,
            Err(error) => {
                return self.rejected(Rejection::invalid_request(
                    self.challenges.clone(),
                    "Malformed Basic credentials",
                    error.reason(),
                ));
            }
        };
        let username = credentials.username();
        let mut keys = vec![ThrottleKey::Subject(username.to_owned())];
        if let Some(peer) = request.peer() {
            keys.push(ThrottleKey::Client(peer.ip()));
        }

        match self.throttled(&keys).await {
            Ok(None) => {}
            Ok(Some(wait)) => {
                return self.rejected(Rejection::too_many_requests(wait).with_subject(username));
            }
            Err(rejection) => return self.rejected(rejection.with_subject(username)),
        }

        let record = match self.store.find(username).await {
            Ok(record) => record,
            Err(error) => {
                tracing::warn!(target: "auth_basic", %error, "user store unavailable; refusing (503)");
                return self.rejected(
                    Rejection::unavailable("user_store_unavailable").with_subject(username),
                );
            }
        };

        let password = credentials.password().expose_secret();
        if let (Some(cache), Some(record)) = (&self.cache, &record)
            && !record.disabled
            && cache.hit(record, password)
        {
            self.reset(&keys[0]).await;
            return Outcome::Authenticated(principal(record, self.clock.now()));
        }

        // Unknown users are checked against the dummy hash: the same work, the same answer.
        let stored: Arc<str> = match &record {
            Some(record) => record.password_hash.as_str().into(),
            None => Arc::clone(&self.dummy_hash),
        };
        let verification = self.verify(password, stored).await;
        let failure = |reason: &'static str| {
            Rejection::invalid_credentials(self.challenges.clone(), reason).with_subject(username)
        };
        let (record, needs_rehash) = match (record, verification) {
            (None, _) => {
                self.record_failure(&keys).await;
                return self.rejected(failure("unknown_user"));
            }
            (Some(_), Ok(Verification::Invalid)) => {
                self.record_failure(&keys).await;
                return self.rejected(failure("wrong_password"));
            }
            (Some(_), Err(error)) => {
                tracing::error!(target: "auth_basic", user = %username, %error, "stored password hash cannot be verified");
                self.record_failure(&keys).await;
                return self.rejected(failure("stored_hash_unusable"));
            }
            (Some(record), Ok(Verification::Valid { .. })) if record.disabled => {
                self.record_failure(&keys).await;
                return self.rejected(failure("user_disabled"));
            }
            (Some(record), Ok(Verification::Valid { needs_rehash })) => (record, needs_rehash),
        };

        // Only the user's counter: resetting the client's would let one valid account
        // launder guesses against others from the same address.
        self.reset(&keys[0]).await;
        if needs_rehash {
            self.rehash(&record.id, &record.password_hash, password)
                .await;
        } else if let Some(cache) = &self.cache {
            cache.remember(&record, password);
        }
        Outcome::Authenticated(principal(&record, self.clock.now()))
    }
}

fn principal(record: &crate::UserRecord, now: std::time::SystemTime) -> Principal {
    Principal::new(record.id.clone(), Scheme::BASIC)
        .with_scopes(record.scopes.clone())
        .with_authenticated_at(now)
        .with_extension(BasicUser {
            id: record.id.clone(),
            username: record.username.clone(),
        })
}

impl fmt::Debug for BasicAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuthenticator")
            .field("challenge", &self.challenges[0])
            .field("store", &self.store)
            .field("hasher", &self.hasher)
            .field("pool", &self.pool)
            .field("throttle", &self.throttle)
            .field("cache", &self.cache)
            .field("max_header_len", &self.max_header_len)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for BasicAuthenticatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuthenticatorBuilder")
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}
