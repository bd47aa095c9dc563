//! [`SqlUserStore`]: users in SQLite or PostgreSQL (sqlx), with the migrations it ships.
//!
//! One type for both databases: the URL (or the pool handed over) picks the backend, and
//! every operation runs the same SQL text on either (positional `$n` parameters, `ON
//! CONFLICT`, `RETURNING`), so the two cannot drift apart. Only the migrations differ per
//! dialect (`migrations/{sqlite,postgres}/`).

mod migrate;

use std::fmt;
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use auth_core::Scopes;
pub use auth_core::SqlStoreError;
use auth_core::sql::{SqlCallError as Failure, SqlPool, SqlPoolBuilder, SqlxPool};
#[cfg(feature = "postgres")]
use sqlx::postgres::PgPool;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::SqlitePool;

use crate::{Error, PasswordHasher, StoreError, UserRecord, UserStore};

/// Runs `$body` with `$p` bound to the concrete sqlx pool: the same code, type-checked once
/// per backend this crate was built for. (auth-core may know more backends than this crate
/// enables; the store's constructors never build such a pool, and the wildcard arm fails
/// the call instead of panicking.)
macro_rules! on_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool.sqlx() {
            #[cfg(feature = "sqlite")]
            SqlxPool::Sqlite($p) => $body,
            #[cfg(feature = "postgres")]
            SqlxPool::Postgres($p) => $body,
            _ => return Err(Failure::Unsupported($pool.backend())),
        }
    };
}

/// Users and their password hashes in SQLite (embedded, persistent) or PostgreSQL (shared
/// by many instances): a [`UserStore`] with the management operations of
/// [`MemoryUserStore`](crate::MemoryUserStore).
///
/// - **Schema**: one table, `auth_users` (`id` primary key, `username` with a unique index
///   for the login lookup, `password_hash`, `scopes` space-delimited, `disabled`), created
///   by [`migrate`](Self::migrate), which you call (it never runs by itself).
/// - **Only hashes** are stored: PHC strings (argon2id) or bcrypt; the table refuses a
///   `password_hash` that does not start with `$`.
/// - **Failure**: every call is bounded by a timeout (default
///   [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT), 2 s, connection wait included). A database
///   that is down, slow or refusing gives the trait's [`StoreError`] (logged with the cause
///   at target `auth_basic::sql`), which [`BasicAuthenticator`](crate::BasicAuthenticator)
///   answers with 503: fail closed, no hang, no panic. The pool reconnects by itself: when
///   the database is back, the same store works again. Every change is one statement, so
///   there are no partial writes.
///
/// Cheap to clone (the pool is shared). See `docs/sql-stores.md` in the repository for the
/// schema, the migrations and running several instances.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// use std::sync::Arc;
/// use auth_basic::{Argon2Hasher, BasicAuthenticator, SqlUserStore};
///
/// // `sqlite:users.db` for a file, `postgres://user@host/db` for PostgreSQL.
/// let users = SqlUserStore::connect("sqlite::memory:").await?;
/// users.migrate().await?; // once at start-up: creates or upgrades the schema
/// users
///     .add_user(&Argon2Hasher::default(), "alice", "correct horse battery", "orders:read")
///     .await?;
/// let basic = BasicAuthenticator::builder(Arc::new(users.clone())).build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SqlUserStore {
    pool: SqlPool,
}

const FIND: &str = "SELECT id, username, password_hash, scopes, disabled \
                    FROM auth_users WHERE username = $1";
const UPDATE_HASH: &str =
    "UPDATE auth_users SET password_hash = $3 WHERE id = $1 AND password_hash = $2";
const UPSERT: &str = "INSERT INTO auth_users (id, username, password_hash, scopes, disabled) \
                      VALUES ($1, $2, $3, $4, $5) \
                      ON CONFLICT (username) DO UPDATE SET id = excluded.id, \
                      password_hash = excluded.password_hash, scopes = excluded.scopes, \
                      disabled = excluded.disabled";
const SET_PASSWORD: &str = "UPDATE auth_users SET password_hash = $2 WHERE username = $1";
const SET_DISABLED: &str = "UPDATE auth_users SET disabled = $2 WHERE username = $1";
const REMOVE: &str = "DELETE FROM auth_users WHERE username = $1";
const COUNT: &str = "SELECT COUNT(*) FROM auth_users";

/// `(id, username, password_hash, scopes, disabled)`, as `FIND` selects it.
type UserRow = (String, String, String, String, bool);

fn user_from_row(
    (id, username, password_hash, scopes, disabled): UserRow,
) -> Result<UserRecord, Failure> {
    let scopes = Scopes::parse(&scopes).map_err(|_| Failure::Data("invalid scope list"))?;
    Ok(UserRecord {
        id,
        username,
        password_hash,
        scopes,
        disabled,
    })
}

impl SqlUserStore {
    /// The default bound on each call: 2 seconds.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

    /// The default bound on [`migrate`](Self::migrate): 60 seconds.
    pub const DEFAULT_MIGRATION_TIMEOUT: Duration = Duration::from_secs(60);

    /// A builder for a store at `url`: `sqlite:path/to/users.db` (created when missing, unless
    /// the URL says `mode=`), `sqlite::memory:`, or `postgres://user:password@host/db`.
    pub fn builder(url: impl Into<String>) -> SqlUserStoreBuilder {
        SqlUserStoreBuilder {
            inner: SqlPool::builder(url)
                .for_crate(
                    "auth-basic",
                    cfg!(feature = "sqlite"),
                    cfg!(feature = "postgres"),
                )
                .timeout(Self::DEFAULT_TIMEOUT),
        }
    }

    /// Connects to `url` with the default settings (see [`SqlUserStore::builder`]).
    ///
    /// # Errors
    ///
    /// As [`SqlUserStoreBuilder::connect`].
    pub async fn connect(url: &str) -> Result<Self, SqlStoreError> {
        Self::builder(url).connect().await
    }

    /// A store over an existing SQLite pool (its settings stay yours), with the default
    /// call timeout.
    #[cfg(feature = "sqlite")]
    #[must_use]
    pub fn from_sqlite_pool(pool: SqlitePool) -> Self {
        Self {
            pool: SqlPool::from_sqlite_pool(pool).with_timeout(Self::DEFAULT_TIMEOUT),
        }
    }

    /// A store over an existing PostgreSQL pool (its settings, such as `search_path`, stay
    /// yours), with the default call timeout.
    #[cfg(feature = "postgres")]
    #[must_use]
    pub fn from_pg_pool(pool: PgPool) -> Self {
        Self {
            pool: SqlPool::from_pg_pool(pool).with_timeout(Self::DEFAULT_TIMEOUT),
        }
    }

    /// The same store with each call bounded by `timeout` instead (keep it positive: a zero
    /// timeout fails every call).
    #[must_use]
    pub fn with_timeout(self, timeout: Duration) -> Self {
        Self {
            pool: self.pool.with_timeout(timeout),
        }
    }

    /// The bound on each call.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.pool.timeout()
    }

    /// `"sqlite"` or `"postgres"`.
    #[must_use]
    pub fn backend(&self) -> &'static str {
        self.pool.backend().as_str()
    }

    /// Creates or upgrades the schema: applies, in one transaction, every migration this
    /// version ships that the database has not seen, and records each in
    /// `auth_basic_migrations`. Idempotent; safe to call from several instances at once
    /// (they take turns). Returns how many migrations it applied. Bounded by
    /// [`DEFAULT_MIGRATION_TIMEOUT`](Self::DEFAULT_MIGRATION_TIMEOUT).
    ///
    /// # Errors
    ///
    /// [`SqlStoreError::Unavailable`] when the database cannot be reached in time;
    /// [`SqlStoreError::Migration`] when a migration fails (nothing of the run is applied).
    pub async fn migrate(&self) -> Result<usize, SqlStoreError> {
        self.migrate_within(Self::DEFAULT_MIGRATION_TIMEOUT).await
    }

    /// [`migrate`](Self::migrate), bounded by `limit` instead (long migrations on big tables).
    ///
    /// # Errors
    ///
    /// As [`migrate`](Self::migrate).
    pub async fn migrate_within(&self, limit: Duration) -> Result<usize, SqlStoreError> {
        let applied = self.pool.migrate(&migrate::MIGRATOR, limit).await?;
        if applied > 0 {
            tracing::info!(target: "auth_basic::sql", applied, "migrated the user store");
        }
        Ok(applied)
    }

    /// Closes the pool: waits for calls in flight, then every later call fails (fail
    /// closed). For a clean shutdown.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Adds user `username` (whose id is the user name) with `password` hashed by `hasher`
    /// and `scopes` (space-delimited), or replaces the user of that name (new hash, scopes,
    /// enabled), as [`MemoryUserStore::add_user`](crate::MemoryUserStore::add_user) does.
    ///
    /// Hashing runs inline and is slow on purpose (tens of milliseconds at OWASP
    /// parameters): call this from start-up code, a command-line tool or an admin task, not
    /// on a request path.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for an invalid user name or scope string, or when another user
    /// already has the id `username`; [`Error::Hash`] if hashing fails; [`Error::Store`]
    /// when the database fails.
    pub async fn add_user(
        &self,
        hasher: &dyn PasswordHasher,
        username: &str,
        password: &str,
        scopes: &str,
    ) -> Result<(), Error> {
        check_username(username)?;
        let scopes = Scopes::parse(scopes).map_err(|_| Error::Config("invalid scope string"))?;
        let password_hash = hasher.hash(password.as_bytes())?;
        self.insert(&UserRecord {
            id: username.to_owned(),
            username: username.to_owned(),
            password_hash,
            scopes,
            disabled: false,
        })
        .await
    }

    /// Adds `record`, or replaces the user with the same user name (id included), as
    /// [`MemoryUserStore::insert`](crate::MemoryUserStore::insert) does. For imports: the
    /// hash must already be a PHC string (or bcrypt).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for an invalid user name, a `password_hash` that is not a hash
    /// (does not start with `$`), or an id that another user already has; [`Error::Store`]
    /// when the database fails.
    pub async fn insert(&self, record: &UserRecord) -> Result<(), Error> {
        check_username(&record.username)?;
        if !record.password_hash.starts_with('$') {
            return Err(Error::Config(
                "password_hash must be a PHC string (or bcrypt), never a password",
            ));
        }
        let scopes = record.scopes.to_string();
        let result = self
            .call(async {
                on_pool!(&self.pool, p => {
                    sqlx::query(UPSERT)
                        .bind(&record.id)
                        .bind(&record.username)
                        .bind(&record.password_hash)
                        .bind(&scopes)
                        .bind(record.disabled)
                        .execute(p)
                        .await?;
                });
                Ok(())
            })
            .await;
        match result {
            Err(failure) if failure.is_unique_violation() => Err(Error::Config(
                "another user already has this id under another user name",
            )),
            other => other.map_err(|f| Error::Store(self.store_error("insert", &f))),
        }
    }

    /// Sets a new password for `username`. A cached verification of the old one stops
    /// matching at once (the hash changed). Hashes inline, as [`add_user`](Self::add_user).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownUser`] when there is no such user; [`Error::Hash`] if hashing fails;
    /// [`Error::Store`] when the database fails.
    pub async fn set_password(
        &self,
        hasher: &dyn PasswordHasher,
        username: &str,
        password: &str,
    ) -> Result<(), Error> {
        let password_hash = hasher.hash(password.as_bytes())?;
        let changed = self
            .rows_affected(
                "set_password",
                SET_PASSWORD,
                username,
                Some(Param::Text(&password_hash)),
            )
            .await?;
        if changed {
            Ok(())
        } else {
            Err(Error::UnknownUser)
        }
    }

    /// Disables `username`; returns whether the user exists.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the database fails.
    pub async fn disable(&self, username: &str) -> Result<bool, Error> {
        self.rows_affected("disable", SET_DISABLED, username, Some(Param::Bool(true)))
            .await
    }

    /// Enables `username` again; returns whether the user exists.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the database fails.
    pub async fn enable(&self, username: &str) -> Result<bool, Error> {
        self.rows_affected("enable", SET_DISABLED, username, Some(Param::Bool(false)))
            .await
    }

    /// Removes `username`; returns whether the user existed.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the database fails.
    pub async fn remove(&self, username: &str) -> Result<bool, Error> {
        self.rows_affected("remove", REMOVE, username, None).await
    }

    /// Number of users.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the database fails.
    pub async fn count(&self) -> Result<u64, Error> {
        let count = self
            .call(async {
                let count: i64 = on_pool!(&self.pool, p => {
                    sqlx::query_scalar(COUNT).fetch_one(p).await?
                });
                u64::try_from(count).map_err(|_| Failure::Data("negative count"))
            })
            .await;
        count.map_err(|f| Error::Store(self.store_error("count", &f)))
    }

    /// Runs `sql` with `$1` = `username` and `$2` = `extra` (if any); whether a row
    /// changed.
    async fn rows_affected(
        &self,
        op: &'static str,
        sql: &'static str,
        username: &str,
        extra: Option<Param<'_>>,
    ) -> Result<bool, Error> {
        let changed = self
            .call(async {
                let rows = on_pool!(&self.pool, p => {
                    let query = sqlx::query(sql).bind(username);
                    let query = match extra {
                        None => query,
                        Some(Param::Bool(value)) => query.bind(value),
                        Some(Param::Text(value)) => query.bind(value),
                    };
                    query.execute(p).await?.rows_affected()
                });
                Ok(rows > 0)
            })
            .await;
        changed.map_err(|f| Error::Store(self.store_error(op, &f)))
    }

    /// Runs `work` within the call timeout.
    fn call<'a, T: 'a>(
        &self,
        work: impl Future<Output = Result<T, Failure>> + Send + 'a,
    ) -> impl Future<Output = Result<T, Failure>> + Send + 'a {
        self.pool.run(work)
    }

    /// The trait's error for a failed call, logged with its cause.
    fn store_error(&self, op: &'static str, failure: &Failure) -> StoreError {
        let backend = self.backend();
        tracing::warn!(target: "auth_basic::sql", backend, op, error = %failure, "user store call failed");
        StoreError(format!("{backend} {op}: {failure}"))
    }
}

/// The second parameter of a one-row update.
#[derive(Clone, Copy)]
enum Param<'a> {
    Bool(bool),
    Text(&'a str),
}

#[async_trait]
impl UserStore for SqlUserStore {
    async fn find(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let found = self
            .call(async {
                let row: Option<UserRow> = on_pool!(&self.pool, p => {
                    sqlx::query_as(FIND).bind(username).fetch_optional(p).await?
                });
                row.map(user_from_row).transpose()
            })
            .await;
        found.map_err(|f| self.store_error("find", &f))
    }

    async fn update_hash(
        &self,
        id: &str,
        current_hash: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError> {
        let updated = self
            .call(async {
                let rows = on_pool!(&self.pool, p => {
                    sqlx::query(UPDATE_HASH)
                        .bind(id)
                        .bind(current_hash)
                        .bind(new_hash)
                        .execute(p)
                        .await?
                        .rows_affected()
                });
                Ok(rows > 0)
            })
            .await;
        updated.map_err(|f| self.store_error("update_hash", &f))
    }
}

impl fmt::Debug for SqlUserStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlUserStore")
            .field("backend", &self.backend())
            .field("timeout", &self.timeout())
            .finish_non_exhaustive()
    }
}

/// The same rule as the in-memory store: non-empty, no `:`, no control characters.
fn check_username(username: &str) -> Result<(), Error> {
    if username.is_empty() || username.contains(':') || username.chars().any(char::is_control) {
        return Err(Error::Config(
            "a user name must be non-empty, without ':' or control characters",
        ));
    }
    Ok(())
}

/// Builds a [`SqlUserStore`] from a URL. From [`SqlUserStore::builder`].
///
/// Defaults: each call bounded by 2 s ([`SqlUserStore::DEFAULT_TIMEOUT`]), the wait for a
/// pooled connection by the same, at most 10 connections. PostgreSQL connections also get
/// `statement_timeout` = the call timeout (the server gives up too) and `application_name`
/// `auth-basic` unless the URL sets one; SQLite connections get `busy_timeout` = the call
/// timeout. (The settings are `auth_core`'s [`SqlPoolBuilder`], shared by every auth-* SQL
/// store.)
#[must_use = "a builder does nothing until `connect` or `connect_lazy` is called"]
#[derive(Debug)]
pub struct SqlUserStoreBuilder {
    inner: SqlPoolBuilder,
}

impl SqlUserStoreBuilder {
    /// Bounds each call (connection wait, query, transaction) by `timeout` (default 2 s).
    pub fn timeout(self, timeout: Duration) -> Self {
        Self {
            inner: self.inner.timeout(timeout),
        }
    }

    /// Bounds the wait for a pooled connection (default: the call timeout, which bounds it
    /// anyway).
    pub fn acquire_timeout(self, timeout: Duration) -> Self {
        Self {
            inner: self.inner.acquire_timeout(timeout),
        }
    }

    /// At most `max` open connections (default 10).
    pub fn max_connections(self, max: u32) -> Self {
        Self {
            inner: self.inner.max_connections(max),
        }
    }

    /// PostgreSQL only: puts the tables in `schema` (sets the connections' `search_path`).
    /// The schema must exist; `migrate` creates the tables in it. Lower-case letters,
    /// digits and `_`, at most 63 bytes.
    pub fn schema(self, schema: impl Into<String>) -> Self {
        Self {
            inner: self.inner.schema(schema),
        }
    }

    /// Checks the settings, opens one connection to prove the database answers, and builds
    /// the store.
    ///
    /// # Errors
    ///
    /// [`SqlStoreError::Config`] for a bad URL or setting, or when called outside a Tokio
    /// runtime; [`SqlStoreError::Unavailable`] when the database cannot be reached within
    /// the timeout or refuses the connection (wrong password, unknown database).
    pub async fn connect(self) -> Result<SqlUserStore, SqlStoreError> {
        let pool = self.inner.connect().await?;
        Ok(SqlUserStore { pool })
    }

    /// Checks the settings and builds the store without connecting: connections open on
    /// first use, so a database that is down at start-up makes calls fail (503) until it is
    /// up, instead of failing the start.
    ///
    /// # Errors
    ///
    /// [`SqlStoreError::Config`] for a bad URL or setting, or when called outside a Tokio
    /// runtime.
    pub fn connect_lazy(self) -> Result<SqlUserStore, SqlStoreError> {
        let pool = self.inner.connect_lazy()?;
        Ok(SqlUserStore { pool })
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;
    use crate::{Argon2Hasher, Argon2Params};

    fn fast() -> Argon2Hasher {
        Argon2Hasher::new(Argon2Params::insecure_fast_for_tests())
    }

    async fn store() -> SqlUserStore {
        let store = SqlUserStore::connect("sqlite::memory:").await.unwrap();
        assert_eq!(store.migrate().await.unwrap(), 1);
        store
    }

    #[tokio::test]
    async fn migrations_apply_once() {
        let store = store().await;
        assert_eq!(store.migrate().await.unwrap(), 0, "idempotent");
        assert_eq!(store.count().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn users_round_trip_with_management_operations() {
        let store = store().await;
        store
            .add_user(&fast(), "alice", "pw", "orders:read orders:write")
            .await
            .unwrap();
        let alice = store.find("alice").await.unwrap().unwrap();
        assert_eq!(alice.id, "alice");
        assert_eq!(alice.scopes.to_string(), "orders:read orders:write");
        assert!(alice.password_hash.starts_with("$argon2id$"));
        assert!(!alice.disabled);
        assert_eq!(store.find("Alice").await.unwrap(), None, "exact match");

        assert!(store.disable("alice").await.unwrap());
        assert!(store.find("alice").await.unwrap().unwrap().disabled);
        assert!(store.enable("alice").await.unwrap());
        assert!(!store.disable("bob").await.unwrap());

        let before = store.find("alice").await.unwrap().unwrap().password_hash;
        assert!(
            !store
                .update_hash("alice", "$argon2id$stale", "$argon2id$new")
                .await
                .unwrap(),
            "a hash changed meanwhile stays"
        );
        assert_eq!(
            store.find("alice").await.unwrap().unwrap().password_hash,
            before
        );
        assert!(
            store
                .update_hash("alice", &before, "$argon2id$new")
                .await
                .unwrap()
        );
        let hash = store.find("alice").await.unwrap().unwrap().password_hash;
        assert_eq!(hash, "$argon2id$new");
        assert_eq!(
            store.set_password(&fast(), "bob", "pw").await,
            Err(Error::UnknownUser)
        );
        assert!(store.remove("alice").await.unwrap());
        assert!(!store.remove("alice").await.unwrap());
        assert_eq!(store.count().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn plaintext_and_bad_names_are_refused() {
        let store = store().await;
        let mut record = UserRecord {
            id: "u1".into(),
            username: "carol".into(),
            password_hash: "hunter2".into(),
            scopes: Scopes::new(),
            disabled: false,
        };
        assert!(matches!(store.insert(&record).await, Err(Error::Config(_))));
        record.password_hash = "$argon2id$x".into();
        record.username = "a:b".into();
        assert!(matches!(store.insert(&record).await, Err(Error::Config(_))));
        // The database refuses a plaintext hash too, whoever writes it.
        record.username = "carol".into();
        store.insert(&record).await.unwrap();
        assert!(
            store
                .update_hash("u1", "$argon2id$x", "hunter2")
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn bad_urls_fail_at_construction() {
        for url in [
            "mysql://localhost/db",
            "no-scheme",
            "postgres://u@h:notaport/db",
        ] {
            let error = SqlUserStore::builder(url).connect_lazy().unwrap_err();
            assert!(matches!(error, SqlStoreError::Config(_)), "{url}: {error}");
        }
        let error = SqlUserStore::builder("sqlite::memory:")
            .schema("auth")
            .connect_lazy()
            .unwrap_err();
        assert!(matches!(error, SqlStoreError::Config(_)));
        let error = SqlUserStore::builder("postgres://u:secret-pw@h/db")
            .schema("Bad-Name")
            .connect_lazy()
            .unwrap_err();
        assert!(!error.to_string().contains("secret-pw"), "{error}");
    }

    #[test]
    fn building_outside_a_runtime_is_an_error_not_a_panic() {
        let error = SqlUserStore::builder("sqlite::memory:")
            .connect_lazy()
            .unwrap_err();
        assert!(matches!(error, SqlStoreError::Config(_)));
    }

    /// Every public call's future is `Send`: it can be spawned (a compile-time check).
    #[tokio::test]
    async fn every_call_can_be_spawned() {
        let connected = tokio::spawn(SqlUserStore::connect("sqlite::memory:"));
        let store = connected.await.unwrap().unwrap();
        let task = tokio::spawn(async move {
            store.migrate().await.unwrap();
            store.migrate_within(Duration::from_secs(5)).await.unwrap();
            store.add_user(&fast(), "a", "pw", "").await.unwrap();
            let record = store.find("a").await.unwrap().unwrap();
            store.insert(&record).await.unwrap();
            store
                .update_hash("a", &record.password_hash, &record.password_hash)
                .await
                .unwrap();
            store.set_password(&fast(), "a", "pw2").await.unwrap();
            assert!(store.disable("a").await.unwrap());
            assert!(store.enable("a").await.unwrap());
            assert_eq!(store.count().await.unwrap(), 1);
            assert!(store.remove("a").await.unwrap());
            store.close().await;
        });
        task.await.unwrap();
    }

    #[tokio::test]
    async fn a_closed_pool_fails_closed() {
        let store = store().await;
        store.close().await;
        let error = store.find("alice").await.unwrap_err();
        assert!(error.to_string().contains("sqlite find"), "{error}");
    }

    #[tokio::test]
    async fn an_unmigrated_database_says_so() {
        let store = SqlUserStore::connect("sqlite::memory:").await.unwrap();
        let error = store.find("alice").await.unwrap_err();
        assert!(error.to_string().contains("migrate"), "{error}");
    }
}
