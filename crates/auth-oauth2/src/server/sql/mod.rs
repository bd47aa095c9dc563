//! The token service's stores in SQLite or PostgreSQL (sqlx; features `sqlite`,
//! `postgres`): [`SqlClientRegistry`], [`SqlRefreshTokenStore`], [`SqlAccessTokenStore`],
//! [`SqlAuthorizationCodeStore`] and [`SqlConsentStore`], with the migrations they ship.
//!
//! Built like the other auth-* SQL stores (`auth_basic::SqlUserStore`,
//! `auth_apikey::SqlKeyStore`) on [`auth_core::sql`]: one [`SqlPool`] (either backend, every
//! call bounded by a timeout), the same SQL text on both databases, and a failed call is the
//! trait's [`StoreError`], which the token service answers with 503 (fail closed).
//!
//! - **Only hashes**: client secrets as [`SecretHash`](super::SecretHash) (SHA-256 of a
//!   256-bit secret), tokens and codes as [`TokenHash`](super::TokenHash).
//! - **Atomic where the traits ask for it**: `mark_rotated` and the code's `take` are single
//!   conditional `UPDATE`s, so of two concurrent uses (on one instance or many) exactly one
//!   wins.
//! - **Expired rows** are swept: every store has `sweep_expired()`, and the token and code
//!   stores also sweep by themselves every 256 inserts, as the memory stores do.
//! - **Migrations** run when you call `migrate()` (on any of the stores: one migration
//!   creates every table), recorded in `auth_oauth2_migrations`. Tables: `auth_oauth2_clients`,
//!   `auth_oauth2_refresh_tokens`, `auth_oauth2_access_tokens`, `auth_oauth2_codes`,
//!   `auth_oauth2_consents`.
//!
//! All five stores may share one pool (`store.pool().clone()`).
//!
//! # Examples
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! use std::sync::Arc;
//! use auth_jwt::{Algorithm, Key, KeySet};
//! use auth_oauth2::{
//!     ClientConfig, GrantType, SqlAccessTokenStore, SqlAuthorizationCodeStore,
//!     SqlClientRegistry, SqlRefreshTokenStore, TokenFormat, TokenService,
//! };
//!
//! // `sqlite:oauth.db` for a file, `postgres://user@host/db` for PostgreSQL.
//! let clients = SqlClientRegistry::connect("sqlite::memory:").await?;
//! clients.migrate().await?; // once at start-up: creates or upgrades the tables
//! let pool = clients.pool().clone();
//!
//! // What `authctl oauth client add` does: the secret is shown once, only its hash is kept.
//! let secret = clients
//!     .register(
//!         ClientConfig::new("billing")
//!             .grant(GrantType::ClientCredentials)
//!             .scopes("orders:read".parse()?)
//!             .audience("https://api.example/orders"),
//!     )
//!     .await?;
//! assert_eq!(secret.len(), 43);
//! assert_eq!(clients.list().await?[0].id, "billing");
//!
//! let service = TokenService::builder(
//!     "https://id.example",
//!     KeySet::single(Key::generate("k1", Algorithm::ES256)?),
//!     Arc::new(clients),
//! )
//! .audience("https://api.example/orders", TokenFormat::Opaque)
//! .refresh_token_store(Arc::new(SqlRefreshTokenStore::new(pool.clone())))
//! .access_token_store(Arc::new(SqlAccessTokenStore::new(pool.clone())))
//! .authorization_code_store(Arc::new(SqlAuthorizationCodeStore::new(pool)))
//! .build()?;
//! # let _ = service;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod clients;
mod codes;
mod consents;
mod migrate;
mod tokens;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use auth_core::SqlStoreError;
use auth_core::sql::{SqlCallError as Failure, SqlPool, SqlPoolBuilder};
use auth_core::{Scopes, SharedClock, SystemClock};

pub use clients::{ClientAdminError, ClientInfo, SqlClientRegistry};
pub use codes::SqlAuthorizationCodeStore;
pub use consents::SqlConsentStore;
pub use tokens::{SqlAccessTokenStore, SqlRefreshTokenStore};

use super::store::{StoreError, TokenHash};

/// Runs `$body` with `$p` bound to the concrete sqlx pool: the same code, type-checked once
/// per backend this crate was built for. (auth-core may know more backends than this crate
/// enables; the stores' constructors never build such a pool from a URL, and the wildcard
/// arm fails the call instead of panicking.)
macro_rules! on_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool.sqlx() {
            #[cfg(feature = "sqlite")]
            auth_core::sql::SqlxPool::Sqlite($p) => $body,
            #[cfg(feature = "postgres")]
            auth_core::sql::SqlxPool::Postgres($p) => $body,
            #[allow(unreachable_patterns)]
            _ => return Err(auth_core::sql::SqlCallError::Unsupported($pool.backend())),
        }
    };
}
pub(crate) use on_pool;

/// The default bound on each call: 2 seconds.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// The default bound on `migrate`: 60 seconds.
pub(crate) const DEFAULT_MIGRATION_TIMEOUT: Duration = Duration::from_secs(60);

/// How often the token and code stores sweep out expired rows: every this many inserts.
const SWEEP_EVERY: u64 = 256;

/// A [`SqlPoolBuilder`] for `url` on behalf of this crate (its `application_name`, and the
/// backends it was built with).
fn pool_builder(url: impl Into<String>) -> SqlPoolBuilder {
    SqlPool::builder(url)
        .for_crate(
            "auth-oauth2",
            cfg!(feature = "sqlite"),
            cfg!(feature = "postgres"),
        )
        .timeout(DEFAULT_TIMEOUT)
}

/// What every store holds: the pool, the clock that says what has expired, and the insert
/// counter of the automatic sweep.
#[derive(Debug)]
struct Db {
    pool: SqlPool,
    clock: SharedClock,
    inserts: AtomicU64,
}

impl Clone for Db {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            clock: self.clock.clone(),
            inserts: AtomicU64::new(0),
        }
    }
}

impl Db {
    fn new(pool: SqlPool) -> Self {
        Self {
            pool,
            clock: SystemClock::shared(),
            inserts: AtomicU64::new(0),
        }
    }

    fn backend(&self) -> &'static str {
        self.pool.backend().as_str()
    }

    fn now(&self) -> i64 {
        micros(self.clock.now())
    }

    /// Whether this insert is the one in [`SWEEP_EVERY`] that also sweeps.
    fn sweep_due(&self) -> bool {
        self.inserts.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1
    }

    async fn migrate(&self, limit: Duration) -> Result<usize, SqlStoreError> {
        let applied = self.pool.migrate(&migrate::MIGRATOR, limit).await?;
        if applied > 0 {
            tracing::info!(target: "auth_oauth2::sql", applied, "migrated the OAuth 2.0 stores");
        }
        Ok(applied)
    }

    /// Runs `work` within the call timeout; maps a failure to the trait's error, logged
    /// with its cause (never a secret: the statements carry hashes only).
    fn call<'a, T: Send + 'a>(
        &'a self,
        store: &'static str,
        op: &'static str,
        work: impl Future<Output = Result<T, Failure>> + Send + 'a,
    ) -> impl Future<Output = Result<T, StoreError>> + Send + 'a {
        let work = self.pool.run(work);
        async move {
            work.await.map_err(|failure| {
                let backend = self.backend();
                tracing::warn!(
                    target: "auth_oauth2::sql",
                    backend,
                    store,
                    op,
                    error = %failure,
                    "OAuth 2.0 store call failed"
                );
                StoreError(format!("{backend} {store} {op}: {failure}"))
            })
        }
    }

    /// `DELETE`s with `sql` every row whose expiry (`$1`) has passed; how many.
    async fn delete_expired(
        &self,
        store: &'static str,
        sql: &'static str,
        before: i64,
    ) -> Result<u64, StoreError> {
        self.call(store, "sweep_expired", async {
            Ok(on_pool!(&self.pool, p => {
                sqlx::query(sql).bind(before).execute(p).await?.rows_affected()
            }))
        })
        .await
    }
}

/// The methods every SQL store of this module has: construction from a URL or a pool,
/// timeout, migration, closing.
macro_rules! common_methods {
    ($store:ident, $example:literal) => {
        impl $store {
            /// The default bound on each call: 2 seconds.
            pub const DEFAULT_TIMEOUT: Duration = $crate::server::sql::DEFAULT_TIMEOUT;

            /// The default bound on [`migrate`](Self::migrate): 60 seconds.
            pub const DEFAULT_MIGRATION_TIMEOUT: Duration =
                $crate::server::sql::DEFAULT_MIGRATION_TIMEOUT;

            /// A pool builder for `url` with this crate's settings (`sqlite:path/oauth.db`,
            /// created when missing unless the URL says `mode=`; `sqlite::memory:`;
            /// `postgres://user:password@host/db`): set timeouts, pool size or a PostgreSQL
            /// `schema`, connect, then [`new`](Self::new). The other stores of this module
            /// can share the pool.
            ///
            /// # Examples
            ///
            /// ```
            /// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
            /// use std::time::Duration;
            #[doc = concat!("use auth_oauth2::", stringify!($store), ";")]
            ///
            #[doc = concat!("let pool = ", stringify!($store), "::pool_builder(\"sqlite::memory:\")")]
            ///     .timeout(Duration::from_secs(1))
            ///     .connect()
            ///     .await?;
            #[doc = concat!("let store = ", stringify!($store), "::new(pool);")]
            /// store.migrate().await?;
            /// # Ok::<(), Box<dyn std::error::Error>>(())
            /// # })?;
            /// # Ok::<(), Box<dyn std::error::Error>>(())
            /// ```
            pub fn pool_builder(url: impl Into<String>) -> auth_core::sql::SqlPoolBuilder {
                $crate::server::sql::pool_builder(url)
            }

            #[doc = concat!("A ", $example, " over `pool` (which other stores may share).")]
            #[must_use]
            pub fn new(pool: auth_core::sql::SqlPool) -> Self {
                Self {
                    db: $crate::server::sql::Db::new(pool),
                }
            }

            #[doc = concat!("Connects to `url` with the default settings (see [`pool_builder`](Self::pool_builder)) and builds a ", $example, ".")]
            ///
            /// # Errors
            ///
            /// [`SqlStoreError::Config`](auth_core::SqlStoreError::Config) for a bad URL
            /// (never repeated in the message) or a backend this build lacks;
            /// [`SqlStoreError::Unavailable`](auth_core::SqlStoreError::Unavailable) when the
            /// database cannot be reached within the timeout or refuses the connection.
            pub async fn connect(url: &str) -> Result<Self, auth_core::SqlStoreError> {
                Ok(Self::new(Self::pool_builder(url).connect().await?))
            }

            /// The same store with each call bounded by `timeout` instead (keep it
            /// positive: a zero timeout fails every call).
            #[must_use]
            pub fn with_timeout(self, timeout: Duration) -> Self {
                Self::new(self.db.pool.with_timeout(timeout)).with_clock(self.db.clock)
            }

            /// The same store judging expiry by `clock` instead of the system clock (tests;
            /// give it the token service's clock).
            #[must_use]
            pub fn with_clock(mut self, clock: auth_core::SharedClock) -> Self {
                self.db.clock = clock;
                self
            }

            /// The pool, to build the other stores of this module on.
            #[must_use]
            pub fn pool(&self) -> &auth_core::sql::SqlPool {
                &self.db.pool
            }

            /// The bound on each call.
            #[must_use]
            pub fn timeout(&self) -> Duration {
                self.db.pool.timeout()
            }

            /// `"sqlite"` or `"postgres"`.
            #[must_use]
            pub fn backend(&self) -> &'static str {
                self.db.backend()
            }

            /// Creates or upgrades the schema of every OAuth 2.0 store (one migration
            /// creates all five tables, so calling it on one store is enough): applies, in
            /// one transaction, every migration this version ships that the database has not
            /// seen, and records each in `auth_oauth2_migrations`. Idempotent; safe to call
            /// from several instances at once (they take turns). Returns how many migrations
            /// it applied. Bounded by [`DEFAULT_MIGRATION_TIMEOUT`](Self::DEFAULT_MIGRATION_TIMEOUT).
            ///
            /// # Errors
            ///
            /// [`SqlStoreError::Unavailable`](auth_core::SqlStoreError::Unavailable) when the
            /// database cannot be reached in time;
            /// [`SqlStoreError::Migration`](auth_core::SqlStoreError::Migration) when a
            /// migration fails (nothing of the run is applied).
            pub async fn migrate(&self) -> Result<usize, auth_core::SqlStoreError> {
                self.db.migrate(Self::DEFAULT_MIGRATION_TIMEOUT).await
            }

            /// [`migrate`](Self::migrate), bounded by `limit` instead.
            ///
            /// # Errors
            ///
            /// As [`migrate`](Self::migrate).
            pub async fn migrate_within(
                &self,
                limit: Duration,
            ) -> Result<usize, auth_core::SqlStoreError> {
                self.db.migrate(limit).await
            }

            /// Closes the pool (shared with every store built on it): waits for calls in
            /// flight, then every later call fails (fail closed). For a clean shutdown.
            pub async fn close(&self) {
                self.db.pool.close().await;
            }
        }

        impl std::fmt::Debug for $store {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($store))
                    .field("backend", &self.backend())
                    .field("timeout", &self.timeout())
                    .finish_non_exhaustive()
            }
        }
    };
}
use common_methods;

/// Unix time in whole microseconds, rounded down (so a stored expiry is never later than
/// the one asked for), saturating far outside the years ±290,000.
fn micros(at: SystemTime) -> i64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_micros()).unwrap_or(i64::MAX),
        Err(before) => {
            let before = before.duration();
            let whole = i64::try_from(before.as_micros()).unwrap_or(i64::MAX);
            let partial = i64::from(before.subsec_nanos() % 1_000 != 0);
            whole.saturating_add(partial).saturating_neg()
        }
    }
}

fn from_micros(micros: i64) -> Result<SystemTime, Failure> {
    let span = Duration::from_micros(micros.unsigned_abs());
    let at = if micros >= 0 {
        UNIX_EPOCH.checked_add(span)
    } else {
        UNIX_EPOCH.checked_sub(span)
    };
    at.ok_or(Failure::Data("a time out of range"))
}

fn hash_from(bytes: Vec<u8>) -> Result<TokenHash, Failure> {
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| Failure::Data("a hash is not 32 bytes"))?;
    Ok(TokenHash::from_bytes(bytes))
}

fn scopes_from(text: &str) -> Result<Scopes, Failure> {
    Scopes::parse(text).map_err(|_| Failure::Data("invalid scope list"))
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_to_the_microsecond_and_round_down() {
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_nanos(1_999);
        assert_eq!(
            from_micros(micros(at)).unwrap(),
            UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_micros(1)
        );
        assert_eq!(micros(UNIX_EPOCH - Duration::from_nanos(1_500)), -2);
        assert!(hash_from(vec![0; 31]).is_err());
    }

    /// Every public call's future is `Send`: it can be spawned (a compile-time check; the
    /// CLI and the demo run them in tasks).
    #[tokio::test]
    async fn every_call_can_be_spawned() {
        use crate::server::{
            AccessTokenStore, AuthorizationCodeStore, ClientConfig, ClientRegistry, ConsentStore,
            GrantType, RefreshTokenRecord, RefreshTokenStore,
        };
        let registry = tokio::spawn(SqlClientRegistry::connect("sqlite::memory:"))
            .await
            .unwrap()
            .unwrap();
        tokio::spawn(async move {
            assert_eq!(registry.migrate().await.unwrap(), 1);
            assert_eq!(
                registry
                    .migrate_within(Duration::from_secs(5))
                    .await
                    .unwrap(),
                0
            );
            let config = ClientConfig::new("svc")
                .grant(GrantType::ClientCredentials)
                .audience("https://api.example");
            let secret = registry.register(config.clone()).await.unwrap();
            assert!(matches!(
                registry.register(config).await,
                Err(ClientAdminError::Duplicate(_))
            ));
            let rotated = registry.rotate_secret("svc").await.unwrap();
            let record = registry.find("svc").await.unwrap().unwrap();
            assert!(record.secret_hash.matches(rotated.expose_secret()));
            assert!(!record.secret_hash.matches(secret.expose_secret()));
            assert!(matches!(
                registry.rotate_secret("nobody").await,
                Err(ClientAdminError::UnknownClient(_))
            ));
            let info = registry.info("svc").await.unwrap().unwrap();
            assert!(info.secret_rotated_at.is_some());
            assert_eq!(info.auth_method(), "client_secret_basic");
            assert_eq!(registry.list().await.unwrap(), [info]);
            registry.insert(&record).await.unwrap();
            assert!(registry.disable("svc").await.unwrap());
            assert!(registry.enable("svc").await.unwrap());
            assert_eq!(registry.count().await.unwrap(), 1);
            assert!(registry.remove("svc").await.unwrap());

            let pool = registry.pool().clone();
            let refresh = SqlRefreshTokenStore::new(pool.clone());
            let now = SystemTime::now();
            let record = RefreshTokenRecord::new(
                TokenHash::of("t"),
                "f",
                "c",
                "u",
                Scopes::new(),
                "a",
                now,
                now + Duration::from_secs(60),
            );
            refresh.insert(record).await.unwrap();
            assert!(refresh.mark_rotated(&TokenHash::of("t")).await.unwrap());
            assert_eq!(refresh.revoke_family("f").await.unwrap().len(), 1);
            assert_eq!(refresh.sweep_expired().await.unwrap(), 0);
            let access = SqlAccessTokenStore::new(pool.clone());
            access.revoke_family("f").await.unwrap();
            assert_eq!(access.sweep_expired().await.unwrap(), 0);
            let codes = SqlAuthorizationCodeStore::new(pool.clone());
            assert_eq!(
                codes.take(&TokenHash::of("c")).await.unwrap(),
                crate::server::CodeTake::Unknown
            );
            assert_eq!(codes.sweep_expired().await.unwrap(), 0);
            let consents = SqlConsentStore::new(pool);
            consents
                .remember("u", "c", &"a b".parse().unwrap())
                .await
                .unwrap();
            assert!(consents.revoke("u", "c").await.unwrap());
            assert_eq!(consents.granted("u", "c").await.unwrap(), None);
            registry.close().await;
            assert!(
                consents.granted("u", "c").await.is_err(),
                "closed: fails closed"
            );
        })
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn a_url_for_a_backend_or_scheme_this_build_lacks_fails_at_construction() {
        for url in [
            "mysql://localhost/db",
            "no-scheme",
            "postgres://u@h:notaport/db",
        ] {
            let error = SqlClientRegistry::pool_builder(url)
                .connect_lazy()
                .unwrap_err();
            assert!(matches!(error, SqlStoreError::Config(_)), "{url}: {error}");
        }
    }
}
