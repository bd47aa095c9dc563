//! The migrations auth-apikey ships, and the runner that applies them on request.
//!
//! Applied versions are recorded in `auth_apikey_migrations` (version, description,
//! applied_at_us), not in sqlx's `_sqlx_migrations`: that table is shared by every sqlx
//! migrator of a database, so auth-apikey's version 1 would collide with auth-basic's and
//! with the application's own, and sqlx 0.8 cannot name another table.
//!
//! Statements run as `executor.execute(raw_sql(..))`, not `raw_sql(..).execute(executor)`:
//! the latter is an `async fn` generic over the executor, whose future the compiler cannot
//! prove `Send` inside `tokio::spawn` (sqlx issue #3150), which would make `migrate()`
//! unspawnable.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::Executor as _;

use super::{Pool, SqlStoreError};

/// One schema change, in each dialect.
struct Migration {
    version: i64,
    description: &'static str,
    #[cfg(feature = "sqlite")]
    sqlite: &'static str,
    #[cfg(feature = "postgres")]
    postgres: &'static str,
}

/// Every migration, in order. Never edit a shipped one: add the next.
const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "api keys",
    #[cfg(feature = "sqlite")]
    sqlite: include_str!("../../migrations/sqlite/0001_api_keys.sql"),
    #[cfg(feature = "postgres")]
    postgres: include_str!("../../migrations/postgres/0001_api_keys.sql"),
}];

#[cfg(feature = "sqlite")]
const SQLITE_TABLE: &str = "CREATE TABLE IF NOT EXISTS auth_apikey_migrations (\
     version INTEGER NOT NULL PRIMARY KEY, \
     description TEXT NOT NULL, \
     applied_at_us INTEGER NOT NULL) STRICT";

#[cfg(feature = "postgres")]
const POSTGRES_TABLE: &str = "CREATE TABLE IF NOT EXISTS auth_apikey_migrations (\
     version BIGINT NOT NULL PRIMARY KEY, \
     description TEXT NOT NULL, \
     applied_at_us BIGINT NOT NULL)";

/// The advisory lock that makes concurrent `migrate` calls on PostgreSQL take turns
/// ("authapik" in ASCII).
#[cfg(feature = "postgres")]
const POSTGRES_LOCK: i64 = 0x6175_7468_6170_696b;

const APPLIED: &str = "SELECT version FROM auth_apikey_migrations";
const RECORD: &str = "INSERT INTO auth_apikey_migrations (version, description, applied_at_us) \
                      VALUES ($1, $2, $3)";

fn unavailable(error: &sqlx::Error) -> SqlStoreError {
    SqlStoreError::Unavailable(error.to_string())
}

/// Applies the pending migrations within `limit`; how many it applied.
pub(super) async fn run(pool: &Pool, limit: Duration) -> Result<usize, SqlStoreError> {
    match tokio::time::timeout(limit, apply(pool, limit)).await {
        Ok(result) => result,
        Err(_) => Err(SqlStoreError::Unavailable(format!(
            "the migrations did not finish within {limit:?} (nothing was applied)"
        ))),
    }
}

/// In one transaction: the bookkeeping table, then each migration not yet recorded and its
/// record. Returns the number applied.
macro_rules! apply_pending {
    ($tx:ident, $dialect:ident) => {{
        (&mut *$tx)
            .execute(sqlx::raw_sql(TABLE))
            .await
            .map_err(|e| unavailable(&e))?;
        let applied: Vec<i64> = sqlx::query_scalar(APPLIED)
            .fetch_all(&mut *$tx)
            .await
            .map_err(|e| unavailable(&e))?;
        let mut count = 0;
        for migration in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
            let failed = |error: sqlx::Error| SqlStoreError::Migration {
                version: migration.version,
                description: migration.description,
                message: error.to_string(),
            };
            (&mut *$tx)
                .execute(sqlx::raw_sql(migration.$dialect))
                .await
                .map_err(failed)?;
            sqlx::query(RECORD)
                .bind(migration.version)
                .bind(migration.description)
                .bind(now_micros())
                .execute(&mut *$tx)
                .await
                .map_err(failed)?;
            count += 1;
        }
        $tx.commit().await.map_err(|e| unavailable(&e))?;
        if count > 0 {
            tracing::info!(target: "auth_apikey::sql", applied = count, "migrated the key store");
        }
        Ok(count)
    }};
}

#[cfg_attr(not(feature = "postgres"), allow(unused_variables))]
async fn apply(pool: &Pool, limit: Duration) -> Result<usize, SqlStoreError> {
    match pool {
        #[cfg(feature = "sqlite")]
        Pool::Sqlite(pool) => {
            const TABLE: &str = SQLITE_TABLE;
            // WAL lets readers (every verification) and a writer (a `touch`) work at once. It is a
            // property of the file, so it is set here, once, and kept.
            if let Err(error) = sqlx::query("PRAGMA journal_mode = WAL").execute(pool).await {
                tracing::warn!(target: "auth_apikey::sql", %error, "could not switch SQLite to WAL");
            }
            // IMMEDIATE: take the write lock now, so two migrating processes take turns
            // instead of both reading "not applied".
            let mut tx = pool
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map_err(|e| unavailable(&e))?;
            apply_pending!(tx, sqlite)
        }
        #[cfg(feature = "postgres")]
        Pool::Postgres(pool) => {
            const TABLE: &str = POSTGRES_TABLE;
            let mut tx = pool.begin().await.map_err(|e| unavailable(&e))?;
            // The connection's statement_timeout is the call timeout; schema changes get the
            // migration's bound instead.
            let set_timeout = format!("SET LOCAL statement_timeout = {}", limit.as_millis().max(1));
            (&mut *tx)
                .execute(sqlx::raw_sql(&set_timeout))
                .await
                .map_err(|e| unavailable(&e))?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(POSTGRES_LOCK)
                .execute(&mut *tx)
                .await
                .map_err(|e| unavailable(&e))?;
            apply_pending!(tx, postgres)
        }
    }
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}
