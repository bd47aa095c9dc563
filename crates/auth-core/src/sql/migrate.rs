//! [`Migrator`]: applies a crate's [`Migration`]s on request, recording them in a table of
//! the crate's own.
//!
//! Applied versions are recorded in the migrator's table (version, description,
//! applied_at_us), not in sqlx's `_sqlx_migrations`: that table is shared by every sqlx
//! migrator of a database, so auth-basic's version 1 would collide with auth-apikey's and
//! with the application's own, and sqlx 0.8 cannot name another table.
//!
//! Statements run as `executor.execute(raw_sql(..))`, not `raw_sql(..).execute(executor)`:
//! the latter is an `async fn` generic over the executor, whose future the compiler cannot
//! prove `Send` inside `tokio::spawn` (sqlx issue #3150), which would make `migrate()`
//! unspawnable.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::Executor as _;

use super::{SqlStoreError, SqlxPool, plain_identifier};

/// One schema change, in each dialect.
///
/// Both dialects are always there (whichever backends are enabled): the text costs nothing,
/// and a crate's list of migrations then compiles the same whatever features the build
/// unified. Never edit a shipped one: add the next.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Its version: positive, increasing along the list.
    pub version: i64,
    /// What it does, as recorded (`"users"`, `"api keys"`).
    pub description: &'static str,
    /// The SQLite statements.
    pub sqlite: &'static str,
    /// The PostgreSQL statements.
    pub postgres: &'static str,
}

/// A crate's migrations, the table that records them and the lock that serialises them.
///
/// Run with [`SqlPool::migrate`](super::SqlPool::migrate):
///
/// - every pending migration and its record are applied in **one transaction**, so a
///   failure leaves nothing applied;
/// - concurrent runs **take turns**: PostgreSQL takes the transaction-level advisory lock
///   `lock_id` (one per crate), SQLite opens the transaction with `BEGIN IMMEDIATE`;
/// - versions the database has but the list does not (a newer release migrated it) are
///   **left alone**, so older instances keep working during a rolling deploy;
/// - on SQLite, the file is switched to WAL mode (kept in the file), so readers are not
///   blocked by a writer; on PostgreSQL, the transaction lifts the connection's
///   `statement_timeout` to the migration bound.
///
/// # Examples
///
/// ```
/// use auth_core::sql::{Migration, Migrator};
///
/// const MIGRATIONS: &[Migration] = &[Migration {
///     version: 1,
///     description: "widgets",
///     sqlite: "CREATE TABLE widgets (id TEXT PRIMARY KEY) STRICT",
///     postgres: "CREATE TABLE widgets (id TEXT PRIMARY KEY)",
/// }];
/// // "widgets!" in ASCII.
/// const MIGRATOR: Migrator = Migrator::new("widgets_migrations", 0x7769_6467_6574_7321, MIGRATIONS);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Migrator {
    table: &'static str,
    lock_id: i64,
    migrations: &'static [Migration],
}

impl Migrator {
    /// Migrations recorded in `table` (a plain lower-case identifier, created when
    /// missing), serialised on PostgreSQL by the advisory lock `lock_id`.
    #[must_use]
    pub const fn new(table: &'static str, lock_id: i64, migrations: &'static [Migration]) -> Self {
        Self {
            table,
            lock_id,
            migrations,
        }
    }

    /// The bookkeeping table.
    #[must_use]
    pub const fn table(&self) -> &'static str {
        self.table
    }

    /// The PostgreSQL advisory lock id.
    #[must_use]
    pub const fn lock_id(&self) -> i64 {
        self.lock_id
    }

    /// The migrations, in order.
    #[must_use]
    pub const fn migrations(&self) -> &'static [Migration] {
        self.migrations
    }
}

fn unavailable(error: &sqlx::Error) -> SqlStoreError {
    SqlStoreError::Unavailable(error.to_string())
}

/// Applies the pending migrations within `limit`; how many it applied.
pub(super) async fn run(
    pool: &SqlxPool,
    migrator: &Migrator,
    limit: Duration,
) -> Result<usize, SqlStoreError> {
    if !plain_identifier(migrator.table) {
        return Err(SqlStoreError::Config(format!(
            "`{}` is not a plain table name",
            migrator.table
        )));
    }
    match tokio::time::timeout(limit, apply(pool, migrator, limit)).await {
        Ok(result) => result,
        Err(_) => Err(SqlStoreError::Unavailable(format!(
            "the migrations did not finish within {limit:?} (nothing was applied)"
        ))),
    }
}

/// In one transaction: the bookkeeping table, then each migration not yet recorded and its
/// record. Returns the number applied.
macro_rules! apply_pending {
    ($tx:ident, $migrator:ident, $create:expr, $dialect:ident) => {{
        let table = $migrator.table;
        (&mut *$tx)
            .execute(sqlx::raw_sql(&$create))
            .await
            .map_err(|e| unavailable(&e))?;
        let applied: Vec<i64> = sqlx::query_scalar(&format!("SELECT version FROM {table}"))
            .fetch_all(&mut *$tx)
            .await
            .map_err(|e| unavailable(&e))?;
        let record = format!(
            "INSERT INTO {table} (version, description, applied_at_us) VALUES ($1, $2, $3)"
        );
        let mut count = 0;
        for migration in $migrator
            .migrations
            .iter()
            .filter(|m| !applied.contains(&m.version))
        {
            let failed = |error: sqlx::Error| SqlStoreError::Migration {
                version: migration.version,
                description: migration.description,
                message: error.to_string(),
            };
            (&mut *$tx)
                .execute(sqlx::raw_sql(migration.$dialect))
                .await
                .map_err(failed)?;
            sqlx::query(&record)
                .bind(migration.version)
                .bind(migration.description)
                .bind(now_micros())
                .execute(&mut *$tx)
                .await
                .map_err(failed)?;
            count += 1;
        }
        $tx.commit().await.map_err(|e| unavailable(&e))?;
        Ok(count)
    }};
}

#[cfg_attr(not(feature = "postgres"), allow(unused_variables))]
async fn apply(
    pool: &SqlxPool,
    migrator: &Migrator,
    limit: Duration,
) -> Result<usize, SqlStoreError> {
    match pool {
        #[cfg(feature = "sqlite")]
        SqlxPool::Sqlite(pool) => {
            let create = format!(
                "CREATE TABLE IF NOT EXISTS {} (\
                 version INTEGER NOT NULL PRIMARY KEY, \
                 description TEXT NOT NULL, \
                 applied_at_us INTEGER NOT NULL) STRICT",
                migrator.table
            );
            // WAL lets readers (every verification) and a writer (a rehash, a `touch`)
            // work at once. It is a property of the file, so it is set here, once, and kept.
            if let Err(error) = sqlx::query("PRAGMA journal_mode = WAL").execute(pool).await {
                tracing::warn!(
                    target: "auth_core::sql",
                    table = migrator.table,
                    %error,
                    "could not switch SQLite to WAL"
                );
            }
            // IMMEDIATE: take the write lock now, so two migrating processes take turns
            // instead of both reading "not applied".
            let mut tx = pool
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map_err(|e| unavailable(&e))?;
            apply_pending!(tx, migrator, create, sqlite)
        }
        #[cfg(feature = "postgres")]
        SqlxPool::Postgres(pool) => {
            let create = format!(
                "CREATE TABLE IF NOT EXISTS {} (\
                 version BIGINT NOT NULL PRIMARY KEY, \
                 description TEXT NOT NULL, \
                 applied_at_us BIGINT NOT NULL)",
                migrator.table
            );
            let mut tx = pool.begin().await.map_err(|e| unavailable(&e))?;
            // The connection's statement_timeout is the call timeout; schema changes get the
            // migration's bound instead.
            let set_timeout = format!("SET LOCAL statement_timeout = {}", limit.as_millis().max(1));
            (&mut *tx)
                .execute(sqlx::raw_sql(&set_timeout))
                .await
                .map_err(|e| unavailable(&e))?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(migrator.lock_id)
                .execute(&mut *tx)
                .await
                .map_err(|e| unavailable(&e))?;
            apply_pending!(tx, migrator, create, postgres)
        }
    }
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}
