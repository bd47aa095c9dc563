//! SQL (SQLite and PostgreSQL through sqlx), shared by the SQL stores of every auth-* crate:
//! [`SqlPool`] (a pool of either backend with a per-call timeout), [`SqlPoolBuilder`],
//! [`SqlStoreError`], [`SqlCallError`], and the [`Migrator`] that applies a crate's
//! [`Migration`]s.
//!
//! The stores (`auth_basic::SqlUserStore`, `auth_apikey::SqlKeyStore`) keep only what is
//! theirs: the SQL statements, the row mapping and their public API. Everything about
//! connecting, bounding calls in time and migrating lives here, once.
//!
//! Enabled by the `sqlite` and `postgres` features of this crate, which the store crates'
//! features of the same names turn on.

mod builder;
mod migrate;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

#[cfg(feature = "postgres")]
use sqlx::postgres::PgPool;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::SqlitePool;

pub use builder::SqlPoolBuilder;
pub use migrate::{Migration, Migrator};

/// The database behind a [`SqlPool`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SqlBackend {
    /// SQLite: embedded, persistent, one process.
    Sqlite,
    /// PostgreSQL: shared by many instances.
    Postgres,
}

impl SqlBackend {
    /// `"sqlite"` or `"postgres"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            SqlBackend::Sqlite => "sqlite",
            SqlBackend::Postgres => "postgres",
        }
    }
}

impl fmt::Display for SqlBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The sqlx pool inside a [`SqlPool`]: one variant per backend this build of auth-core
/// supports.
///
/// A store crate matches on it to run its (backend-independent) SQL on the concrete pool.
/// It is `#[non_exhaustive]` because auth-core's features are the union of what every crate
/// of the build asked for: a store crate built with `sqlite` only may still see a
/// `Postgres` variant here, and answers its wildcard arm with
/// [`SqlCallError::Unsupported`] (it cannot be reached through the store's own
/// constructors, which refuse the backends the crate was not built for).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SqlxPool {
    /// A SQLite pool.
    #[cfg(feature = "sqlite")]
    Sqlite(SqlitePool),
    /// A PostgreSQL pool.
    #[cfg(feature = "postgres")]
    Postgres(PgPool),
}

/// A sqlx pool (SQLite or PostgreSQL) and the bound on each call made through it: what
/// every auth-* SQL store is built on.
///
/// Cheap to clone (the pool is shared). Build one from a URL with [`SqlPool::builder`], or
/// wrap a pool you configured yourself with [`SqlPool::from_sqlite_pool`] /
/// [`SqlPool::from_pg_pool`].
///
/// - [`run`](Self::run) bounds a call by the timeout and hands back a `Send` future, so a
///   store's calls can be spawned (the proof happens at the call site, where the types are
///   concrete: left generic, the compiler cannot always prove a future holding sqlx's
///   executor futures `Send`, sqlx issue #3150).
/// - [`migrate`](Self::migrate) applies a crate's migrations (see [`Migrator`]).
#[derive(Clone)]
pub struct SqlPool {
    pool: SqlxPool,
    timeout: Duration,
}

impl SqlPool {
    /// The default bound on each call: 2 seconds.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

    /// A builder for a pool at `url`: `sqlite:path/to/file.db` (created when missing, unless
    /// the URL says `mode=`), `sqlite::memory:`, or `postgres://user:password@host/db`.
    pub fn builder(url: impl Into<String>) -> SqlPoolBuilder {
        SqlPoolBuilder::new(url)
    }

    /// An existing SQLite pool (its settings stay yours), with the default call timeout.
    #[cfg(feature = "sqlite")]
    #[must_use]
    pub fn from_sqlite_pool(pool: SqlitePool) -> Self {
        Self {
            pool: SqlxPool::Sqlite(pool),
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// An existing PostgreSQL pool (its settings, such as `search_path`, stay yours), with
    /// the default call timeout.
    #[cfg(feature = "postgres")]
    #[must_use]
    pub fn from_pg_pool(pool: PgPool) -> Self {
        Self {
            pool: SqlxPool::Postgres(pool),
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// The same pool with each call bounded by `timeout` instead (keep it positive: a zero
    /// timeout fails every call).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The bound on each call.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Which database this is.
    #[must_use]
    pub fn backend(&self) -> SqlBackend {
        match self.pool {
            #[cfg(feature = "sqlite")]
            SqlxPool::Sqlite(_) => SqlBackend::Sqlite,
            #[cfg(feature = "postgres")]
            SqlxPool::Postgres(_) => SqlBackend::Postgres,
        }
    }

    /// The sqlx pool, to run a store's statements on.
    #[must_use]
    pub fn sqlx(&self) -> &SqlxPool {
        &self.pool
    }

    /// Closes the pool: waits for calls in flight, then every later call fails (fail
    /// closed). For a clean shutdown.
    pub async fn close(&self) {
        match &self.pool {
            #[cfg(feature = "sqlite")]
            SqlxPool::Sqlite(p) => p.close().await,
            #[cfg(feature = "postgres")]
            SqlxPool::Postgres(p) => p.close().await,
        }
    }

    /// Runs `work` (a store's call: connection wait, statements, transaction) within the
    /// call timeout; [`SqlCallError::Timeout`] when it takes longer.
    pub fn run<'a, T: 'a>(
        &self,
        work: impl Future<Output = Result<T, SqlCallError>> + Send + 'a,
    ) -> impl Future<Output = Result<T, SqlCallError>> + Send + 'a {
        let timeout = self.timeout;
        let work = boxed(work);
        async move {
            tokio::time::timeout(timeout, work)
                .await
                .unwrap_or(Err(SqlCallError::Timeout(timeout)))
        }
    }

    /// Creates or upgrades the schema of `migrator`'s crate, bounded by `limit`: applies, in
    /// one transaction, every migration the database has not seen, and records each in the
    /// migrator's table. Idempotent; safe to call from several instances at once (they take
    /// turns). Returns how many migrations it applied.
    ///
    /// # Errors
    ///
    /// [`SqlStoreError::Unavailable`] when the database cannot be reached in time;
    /// [`SqlStoreError::Migration`] when a migration fails (nothing of the run is applied);
    /// [`SqlStoreError::Config`] for a migrator whose table name is not a plain identifier.
    pub fn migrate<'a>(
        &'a self,
        migrator: &'a Migrator,
        limit: Duration,
    ) -> impl Future<Output = Result<usize, SqlStoreError>> + Send + 'a {
        boxed(migrate::run(&self.pool, migrator, limit))
    }
}

impl fmt::Debug for SqlPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlPool")
            .field("backend", &self.backend())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// `work` boxed as a `Send` future. The proof happens here, where the types are concrete:
/// left to the caller, the compiler cannot always prove a future holding sqlx's executor
/// futures `Send` ("implementation of `Executor` is not general enough", sqlx issue
/// #3150), and spawning the stores' calls would not compile.
fn boxed<'a, T>(
    work: impl Future<Output = T> + Send + 'a,
) -> Pin<Box<dyn Future<Output = T> + Send + 'a>> {
    Box::pin(work)
}

/// Why a SQL store could not be built or migrated. (Failures of a running store's calls
/// are its trait's store error, which authenticators answer with 503.)
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SqlStoreError {
    /// The URL or a setting is unusable (unknown scheme, a backend whose feature is off, a
    /// malformed URL, an invalid schema name). Refused at construction; the message never
    /// repeats the URL, which may hold a password.
    #[error("invalid SQL store configuration: {0}")]
    Config(String),
    /// The database could not be reached, refused the connection (wrong password, unknown
    /// database) or did not answer in time.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A migration failed. It ran in a transaction with the bookkeeping of every migration
    /// of that run, so none of them is applied.
    #[error("migration {version} ({description}) failed: {message}")]
    Migration {
        /// The migration's version.
        version: i64,
        /// What it does.
        description: &'static str,
        /// The database's error.
        message: String,
    },
}

/// A failed call of a SQL store, before the store turns it into its trait's error (and
/// logs it under its own target).
///
/// Its `Display` is the cause as an operator wants to read it: a pool that had no
/// connection to give says "is the database up?", a missing table says "has migrate run?".
#[derive(Debug)]
#[non_exhaustive]
pub enum SqlCallError {
    /// The call did not finish within the pool's timeout.
    Timeout(Duration),
    /// The database (or the pool) failed.
    Sqlx(sqlx::Error),
    /// A row held something the store never writes.
    Data(&'static str),
    /// A conditional change found the row in a state that forbids it (for example a key
    /// already revoked or rotated).
    Conflict(&'static str),
    /// The pool's backend is one the store's crate was built without (its wildcard arm
    /// over [`SqlxPool`]).
    Unsupported(SqlBackend),
}

impl SqlCallError {
    /// Whether the database refused a write for a unique constraint.
    #[must_use]
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, SqlCallError::Sqlx(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

impl From<sqlx::Error> for SqlCallError {
    fn from(error: sqlx::Error) -> Self {
        SqlCallError::Sqlx(error)
    }
}

impl fmt::Display for SqlCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlCallError::Timeout(limit) => write!(f, "no answer within {limit:?}"),
            SqlCallError::Sqlx(sqlx::Error::PoolTimedOut) => {
                f.write_str("no connection could be had in time (is the database up?)")
            }
            SqlCallError::Sqlx(error) if missing_table(error) => {
                write!(f, "{error} (has the store's migrate run?)")
            }
            SqlCallError::Sqlx(error) => error.fmt(f),
            SqlCallError::Data(what) => write!(f, "unreadable row: {what}"),
            SqlCallError::Conflict(what) => f.write_str(what),
            SqlCallError::Unsupported(backend) => {
                write!(f, "this store was built without {backend} support")
            }
        }
    }
}

impl std::error::Error for SqlCallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SqlCallError::Sqlx(error) => Some(error),
            _ => None,
        }
    }
}

/// Whether `error` says a table is missing: the schema was never migrated.
fn missing_table(error: &sqlx::Error) -> bool {
    error.as_database_error().is_some_and(|e| {
        e.code().as_deref() == Some("42P01") || e.message().contains("no such table")
    })
}

/// A name we put into SQL unquoted (a PostgreSQL schema, a bookkeeping table):
/// `[a-z_][a-z0-9_]{0,62}`.
fn plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 63
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;

    const MIGRATIONS: &[Migration] = &[
        Migration {
            version: 1,
            description: "widgets",
            sqlite: "CREATE TABLE widgets (id TEXT PRIMARY KEY) STRICT",
            postgres: "CREATE TABLE widgets (id TEXT PRIMARY KEY)",
        },
        Migration {
            version: 2,
            description: "widget names",
            sqlite: "ALTER TABLE widgets ADD COLUMN name TEXT",
            postgres: "ALTER TABLE widgets ADD COLUMN name TEXT",
        },
    ];
    const MIGRATOR: Migrator = Migrator::new("test_migrations", 1, MIGRATIONS);

    async fn pool() -> SqlPool {
        SqlPool::builder("sqlite::memory:")
            .max_connections(1)
            .connect()
            .await
            .unwrap()
    }

    async fn versions(pool: &SqlPool) -> Vec<i64> {
        let SqlxPool::Sqlite(p) = pool.sqlx() else {
            unreachable!("a sqlite pool")
        };
        sqlx::query_scalar("SELECT version FROM test_migrations ORDER BY version")
            .fetch_all(p)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn migrations_apply_once_in_order() {
        let pool = pool().await;
        assert_eq!(pool.backend(), SqlBackend::Sqlite);
        let limit = Duration::from_secs(5);
        assert_eq!(pool.migrate(&MIGRATOR, limit).await.unwrap(), 2);
        assert_eq!(
            pool.migrate(&MIGRATOR, limit).await.unwrap(),
            0,
            "idempotent"
        );
        assert_eq!(versions(&pool).await, [1, 2]);
    }

    #[tokio::test]
    async fn versions_the_binary_does_not_know_are_left_alone() {
        let pool = pool().await;
        let limit = Duration::from_secs(5);
        let newer = Migrator::new("test_migrations", 1, MIGRATIONS);
        assert_eq!(pool.migrate(&newer, limit).await.unwrap(), 2);
        let older = Migrator::new("test_migrations", 1, &MIGRATIONS[..1]);
        assert_eq!(pool.migrate(&older, limit).await.unwrap(), 0);
        assert_eq!(versions(&pool).await, [1, 2]);
    }

    #[tokio::test]
    async fn a_failed_migration_applies_nothing_of_its_run() {
        const BROKEN: &[Migration] = &[
            MIGRATIONS[0],
            Migration {
                version: 2,
                description: "broken",
                sqlite: "ALTER TABLE nowhere ADD COLUMN x TEXT",
                postgres: "ALTER TABLE nowhere ADD COLUMN x TEXT",
            },
        ];
        let pool = pool().await;
        let error = pool
            .migrate(
                &Migrator::new("test_migrations", 1, BROKEN),
                Duration::from_secs(5),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(error, SqlStoreError::Migration { version: 2, .. }),
            "{error}"
        );
        // Version 1 was rolled back with it: it applies again now.
        assert_eq!(
            pool.migrate(&MIGRATOR, Duration::from_secs(5))
                .await
                .unwrap(),
            2
        );
    }

    #[tokio::test]
    async fn a_table_name_that_is_not_plain_is_refused() {
        let pool = pool().await;
        let migrator = Migrator::new("x; DROP TABLE y", 1, MIGRATIONS);
        let error = pool
            .migrate(&migrator, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(matches!(error, SqlStoreError::Config(_)), "{error}");
    }

    #[tokio::test]
    async fn calls_are_bounded_and_a_missing_table_says_migrate() {
        let pool = pool().await.with_timeout(Duration::from_millis(20));
        let slow = pool.run(async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(())
        });
        assert!(matches!(slow.await, Err(SqlCallError::Timeout(_))));

        let missing = pool
            .run(async {
                let SqlxPool::Sqlite(p) = pool.sqlx() else {
                    unreachable!("a sqlite pool")
                };
                sqlx::query("SELECT * FROM widgets").execute(p).await?;
                Ok(())
            })
            .await
            .unwrap_err();
        assert!(missing.to_string().contains("migrate"), "{missing}");
    }

    #[tokio::test]
    async fn a_backend_the_crate_was_built_without_is_refused_without_the_url() {
        for (url, sqlite, postgres, feature) in [
            (
                "postgres://u:secret-pw@h/db",
                true,
                false,
                "`postgres` feature of auth-x",
            ),
            (
                "sqlite:secret-pw.db",
                false,
                true,
                "`sqlite` feature of auth-x",
            ),
        ] {
            let error = SqlPool::builder(url)
                .for_crate("auth-x", sqlite, postgres)
                .connect_lazy()
                .unwrap_err();
            let message = error.to_string();
            assert!(matches!(error, SqlStoreError::Config(_)), "{message}");
            assert!(message.contains(feature), "{message}");
            assert!(!message.contains("secret-pw"), "{message}");
        }
    }

    #[tokio::test]
    async fn bad_settings_fail_at_construction() {
        for builder in [
            SqlPool::builder("mysql://localhost/db"),
            SqlPool::builder("no-scheme"),
            SqlPool::builder("sqlite::memory:").schema("auth"),
            SqlPool::builder("sqlite::memory:").timeout(Duration::ZERO),
            SqlPool::builder("sqlite::memory:").max_connections(0),
        ] {
            let shown = format!("{builder:?}");
            let error = builder.connect_lazy().unwrap_err();
            assert!(
                matches!(error, SqlStoreError::Config(_)),
                "{shown}: {error}"
            );
        }
        let builder = SqlPool::builder("postgres://u:secret-pw@h/db");
        assert!(!format!("{builder:?}").contains("secret-pw"));
    }

    #[test]
    fn building_outside_a_runtime_is_an_error_not_a_panic() {
        let error = SqlPool::builder("sqlite::memory:")
            .connect_lazy()
            .unwrap_err();
        assert!(matches!(error, SqlStoreError::Config(_)));
    }

    /// Connecting, running and migrating can be spawned (a compile-time check).
    #[tokio::test]
    async fn every_call_can_be_spawned() {
        let pool = tokio::spawn(SqlPool::builder("sqlite::memory:").connect())
            .await
            .unwrap()
            .unwrap();
        tokio::spawn(async move {
            pool.migrate(&MIGRATOR, Duration::from_secs(5))
                .await
                .unwrap();
            pool.run(async { Ok(()) }).await.unwrap();
            pool.close().await;
        })
        .await
        .unwrap();
    }
}
