//! [`SqlKeyStore`]: key records in SQLite or PostgreSQL (sqlx), with the migrations it ships.
//!
//! One type for both databases: the URL (or the pool handed over) picks the backend, and
//! every operation runs the same SQL text on either (positional `$n` parameters,
//! `RETURNING`, `CASE`), so the two cannot drift apart. Only the migrations differ per
//! dialect (`migrations/{sqlite,postgres}/`).

mod migrate;

use std::fmt;
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use auth_core::Scopes;
pub use auth_core::SqlStoreError;
use auth_core::sql::{SqlCallError as Failure, SqlPool, SqlPoolBuilder, SqlxPool};
#[cfg(feature = "postgres")]
use sqlx::postgres::PgPool;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::SqlitePool;

use crate::{KeyHash, KeyMetadata, KeyRecord, KeyStore, StoreError};

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

/// API key records in SQLite (embedded, persistent) or PostgreSQL (shared by many
/// instances): a [`KeyStore`] with exactly the semantics of
/// [`MemoryKeyStore`](crate::MemoryKeyStore).
///
/// - **Schema**: one table, `auth_api_keys`: the public `id` (primary key), the 32-byte
///   `key_hash` with a unique index (the one lookup of a verification), an index on
///   `(owner, created_at_us, id)` for listings, the metadata, and times as unix
///   microseconds. Created by [`migrate`](Self::migrate), which you call (it never runs by
///   itself).
/// - **Never the key**: only its hash (SHA-256, or HMAC-SHA256 under the manager's pepper).
/// - **One-way updates**, as the trait requires, each one conditional `UPDATE` (so
///   concurrent instances cannot undo each other): `touch` writes only when the stored
///   time is older, `revoke` keeps the first time, `expire_by` only brings an expiry
///   closer, and `rotate` marks the old key and inserts its successor in one transaction
///   (or does neither).
/// - **Failure**: every call is bounded by a timeout (default
///   [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT), 2 s, connection wait included). A database
///   that is down, slow or refusing gives [`StoreError::Unavailable`] (logged with the cause
///   at target `auth_apikey::sql`), which verification answers with 503: fail closed, no
///   hang, no panic. The pool reconnects by itself: when the database is back, the same
///   store works again.
///
/// Cheap to clone (the pool is shared). See `docs/sql-stores.md` in the repository for the
/// schema, the migrations and running several instances.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// use auth_apikey::{ApiKeyAuthenticator, KeyManager, NewKey, SqlKeyStore};
///
/// // `sqlite:keys.db` for a file, `postgres://user@host/db` for PostgreSQL.
/// let store = SqlKeyStore::connect("sqlite::memory:").await?;
/// store.migrate().await?; // once at start-up: creates or upgrades the schema
/// let keys = KeyManager::builder(store, "myapp_live").build()?;
/// let created = keys.create(NewKey::new("billing-service", "export")).await?;
/// assert_eq!(keys.verify(created.key.expose_secret()).await?.owner, "billing-service");
/// let authenticator = ApiKeyAuthenticator::builder(keys).build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SqlKeyStore {
    pool: SqlPool,
}

/// The columns of a record, in [`KeyRow`] order.
macro_rules! columns {
    () => {
        "id, key_hash, owner, name, scopes, created_at_us, expires_at_us, last_used_at_us, \
         revoked_at_us, rotated_to, rotated_from"
    };
}

const INSERT: &str = concat!(
    "INSERT INTO auth_api_keys (",
    columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
);
const FIND_BY_HASH: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM auth_api_keys WHERE key_hash = $1"
);
const FIND_BY_ID: &str = concat!("SELECT ", columns!(), " FROM auth_api_keys WHERE id = $1");
const LIST_BY_OWNER: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM auth_api_keys WHERE owner = $1 ORDER BY created_at_us, id"
);
/// Writes only when unset, or earlier than both `$3` (`if_before`) and `$2` (`at`): never
/// backwards, and a burst of verifications writes once.
const TOUCH: &str = "UPDATE auth_api_keys SET last_used_at_us = $2 WHERE id = $1 \
                     AND (last_used_at_us IS NULL \
                     OR (last_used_at_us < $3 AND last_used_at_us < $2))";
/// The first revocation stays.
const REVOKE: &str = concat!(
    "UPDATE auth_api_keys SET revoked_at_us = COALESCE(revoked_at_us, $2) WHERE id = $1 \
     RETURNING ",
    columns!()
);
/// An expiry only comes closer.
const EXPIRE_BY: &str = concat!(
    "UPDATE auth_api_keys SET expires_at_us = CASE \
     WHEN expires_at_us IS NULL OR expires_at_us > $2 THEN $2 ELSE expires_at_us END \
     WHERE id = $1 RETURNING ",
    columns!()
);
/// Marks key `$1` as rotated to `$2` with its expiry brought forward to `$3`, only if it is
/// neither revoked nor rotated already (so of two concurrent rotations, one wins).
const ROTATE_MARK: &str = concat!(
    "UPDATE auth_api_keys SET rotated_to = $2, expires_at_us = CASE \
     WHEN expires_at_us IS NULL OR expires_at_us > $3 THEN $3 ELSE expires_at_us END \
     WHERE id = $1 AND revoked_at_us IS NULL AND rotated_to IS NULL RETURNING ",
    columns!()
);
/// Why `ROTATE_MARK` changed nothing.
const ROTATE_STATE: &str = "SELECT revoked_at_us, rotated_to FROM auth_api_keys WHERE id = $1";

/// A record as stored, in `columns!()` order.
type KeyRow = (
    String,
    Vec<u8>,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
);

/// A record from its row.
fn record_from_row(row: KeyRow) -> Result<KeyRecord, Failure> {
    let (id, hash, owner, name, scopes, created, expires, last_used, revoked, to, from) = row;
    let hash: [u8; 32] = hash
        .try_into()
        .map_err(|_| Failure::Data("a key hash is not 32 bytes"))?;
    let scopes = Scopes::parse(&scopes).map_err(|_| Failure::Data("invalid scope list"))?;
    let mut metadata = KeyMetadata::new(id, owner, name, scopes, from_micros(created)?);
    metadata.expires_at = expires.map(from_micros).transpose()?;
    metadata.last_used_at = last_used.map(from_micros).transpose()?;
    metadata.revoked_at = revoked.map(from_micros).transpose()?;
    metadata.rotated_to = to;
    metadata.rotated_from = from;
    Ok(KeyRecord::new(KeyHash::from_bytes(hash), metadata))
}

fn metadata_from_row(row: KeyRow) -> Result<KeyMetadata, Failure> {
    record_from_row(row).map(|record| record.metadata)
}

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

/// Binds a record's eleven columns to `INSERT`.
macro_rules! bind_record {
    ($query:expr, $record:expr, $scopes:expr) => {{
        let meta = &$record.metadata;
        $query
            .bind(&meta.id)
            .bind($record.hash.as_bytes().as_slice())
            .bind(&meta.owner)
            .bind(&meta.name)
            .bind($scopes)
            .bind(micros(meta.created_at))
            .bind(meta.expires_at.map(micros))
            .bind(meta.last_used_at.map(micros))
            .bind(meta.revoked_at.map(micros))
            .bind(meta.rotated_to.as_deref())
            .bind(meta.rotated_from.as_deref())
    }};
}

impl SqlKeyStore {
    /// The default bound on each call: 2 seconds.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

    /// The default bound on [`migrate`](Self::migrate): 60 seconds.
    pub const DEFAULT_MIGRATION_TIMEOUT: Duration = Duration::from_secs(60);

    /// A builder for a store at `url`: `sqlite:path/to/keys.db` (created when missing, unless
    /// the URL says `mode=`), `sqlite::memory:`, or `postgres://user:password@host/db`.
    pub fn builder(url: impl Into<String>) -> SqlKeyStoreBuilder {
        SqlKeyStoreBuilder {
            inner: SqlPool::builder(url)
                .for_crate(
                    "auth-apikey",
                    cfg!(feature = "sqlite"),
                    cfg!(feature = "postgres"),
                )
                .timeout(Self::DEFAULT_TIMEOUT),
        }
    }

    /// Connects to `url` with the default settings (see [`SqlKeyStore::builder`]).
    ///
    /// # Errors
    ///
    /// As [`SqlKeyStoreBuilder::connect`].
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
    /// `auth_apikey_migrations`. Idempotent; safe to call from several instances at once
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
            tracing::info!(target: "auth_apikey::sql", applied, "migrated the key store");
        }
        Ok(applied)
    }

    /// Closes the pool: waits for calls in flight, then every later call fails (fail
    /// closed). For a clean shutdown.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Runs `work` within the call timeout; maps a failure to the trait's error, logged
    /// with its cause.
    fn call<'a, T: Send + 'a>(
        &'a self,
        op: &'static str,
        work: impl Future<Output = Result<T, Failure>> + Send + 'a,
    ) -> impl Future<Output = Result<T, StoreError>> + Send + 'a {
        let work = self.pool.run(work);
        async move {
            work.await.map_err(|failure| match failure {
                failure if failure.is_unique_violation() => StoreError::Duplicate,
                Failure::Conflict(what) => StoreError::Conflict(what),
                failure => {
                    let backend = self.backend();
                    tracing::warn!(target: "auth_apikey::sql", backend, op, error = %failure, "key store call failed");
                    StoreError::Unavailable(format!("{backend} {op}: {failure}"))
                }
            })
        }
    }

    /// Runs one statement that returns a record (or none) as metadata.
    async fn fetch_metadata(
        &self,
        op: &'static str,
        sql: &'static str,
        id: &str,
        at: SystemTime,
    ) -> Result<Option<KeyMetadata>, StoreError> {
        self.call(op, async {
            let row: Option<KeyRow> = on_pool!(&self.pool, p => {
                sqlx::query_as(sql).bind(id).bind(micros(at)).fetch_optional(p).await?
            });
            row.map(metadata_from_row).transpose()
        })
        .await
    }
}

#[async_trait]
impl KeyStore for SqlKeyStore {
    async fn insert(&self, record: KeyRecord) -> Result<(), StoreError> {
        let scopes = record.metadata.scopes.to_string();
        self.call("insert", async {
            on_pool!(&self.pool, p => {
                bind_record!(sqlx::query(INSERT), record, &scopes).execute(p).await?;
            });
            Ok(())
        })
        .await
    }

    async fn find_by_hash(&self, hash: &KeyHash) -> Result<Option<KeyRecord>, StoreError> {
        self.call("find_by_hash", async {
            let row: Option<KeyRow> = on_pool!(&self.pool, p => {
                sqlx::query_as(FIND_BY_HASH)
                    .bind(hash.as_bytes().as_slice())
                    .fetch_optional(p)
                    .await?
            });
            row.map(record_from_row).transpose()
        })
        .await
    }

    async fn find_by_id(&self, id: &str) -> Result<Option<KeyMetadata>, StoreError> {
        self.call("find_by_id", async {
            let row: Option<KeyRow> = on_pool!(&self.pool, p => {
                sqlx::query_as(FIND_BY_ID).bind(id).fetch_optional(p).await?
            });
            row.map(metadata_from_row).transpose()
        })
        .await
    }

    async fn list_by_owner(&self, owner: &str) -> Result<Vec<KeyMetadata>, StoreError> {
        self.call("list_by_owner", async {
            let rows: Vec<KeyRow> = on_pool!(&self.pool, p => {
                sqlx::query_as(LIST_BY_OWNER).bind(owner).fetch_all(p).await?
            });
            rows.into_iter().map(metadata_from_row).collect()
        })
        .await
    }

    async fn touch(
        &self,
        id: &str,
        at: SystemTime,
        if_before: SystemTime,
    ) -> Result<bool, StoreError> {
        self.call("touch", async {
            let rows = on_pool!(&self.pool, p => {
                sqlx::query(TOUCH)
                    .bind(id)
                    .bind(micros(at))
                    .bind(micros(if_before))
                    .execute(p)
                    .await?
                    .rows_affected()
            });
            Ok(rows > 0)
        })
        .await
    }

    async fn revoke(&self, id: &str, at: SystemTime) -> Result<Option<KeyMetadata>, StoreError> {
        self.fetch_metadata("revoke", REVOKE, id, at).await
    }

    async fn expire_by(&self, id: &str, at: SystemTime) -> Result<Option<KeyMetadata>, StoreError> {
        self.fetch_metadata("expire_by", EXPIRE_BY, id, at).await
    }

    async fn rotate(
        &self,
        id: &str,
        successor: KeyRecord,
        grace_until: SystemTime,
    ) -> Result<Option<KeyMetadata>, StoreError> {
        let scopes = successor.metadata.scopes.to_string();
        self.call("rotate", async {
            on_pool!(&self.pool, p => {
                let mut tx = p.begin().await?;
                // The conditional update first: it takes the row's write lock, and decides.
                let marked: Option<KeyRow> = sqlx::query_as(ROTATE_MARK)
                    .bind(id)
                    .bind(&successor.metadata.id)
                    .bind(micros(grace_until))
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(old) = marked else {
                    let state: Option<(Option<i64>, Option<String>)> = sqlx::query_as(ROTATE_STATE)
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    tx.rollback().await?;
                    return match state {
                        None => Ok(None),
                        Some((Some(_), _)) => Err(Failure::Conflict("the key is revoked")),
                        Some((None, Some(_))) => {
                            Err(Failure::Conflict("the key was already rotated"))
                        }
                        Some((None, None)) => {
                            Err(Failure::Conflict("the key changed concurrently"))
                        }
                    };
                };
                // A duplicate successor fails here; the rollback undoes the mark.
                if let Err(error) = bind_record!(sqlx::query(INSERT), successor, &scopes)
                    .execute(&mut *tx)
                    .await
                {
                    tx.rollback().await?;
                    return Err(error.into());
                }
                tx.commit().await?;
                metadata_from_row(old).map(Some)
            })
        })
        .await
    }
}

impl fmt::Debug for SqlKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlKeyStore")
            .field("backend", &self.backend())
            .field("timeout", &self.timeout())
            .finish_non_exhaustive()
    }
}

/// Builds a [`SqlKeyStore`] from a URL. From [`SqlKeyStore::builder`].
///
/// Defaults: each call bounded by 2 s ([`SqlKeyStore::DEFAULT_TIMEOUT`]), the wait for a
/// pooled connection by the same, at most 10 connections. PostgreSQL connections also get
/// `statement_timeout` = the call timeout (the server gives up too) and `application_name`
/// `auth-apikey` unless the URL sets one; SQLite connections get `busy_timeout` = the call
/// timeout. (The settings are `auth_core`'s [`SqlPoolBuilder`], shared by every auth-* SQL
/// store.)
#[must_use = "a builder does nothing until `connect` or `connect_lazy` is called"]
#[derive(Debug)]
pub struct SqlKeyStoreBuilder {
    inner: SqlPoolBuilder,
}

impl SqlKeyStoreBuilder {
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
    pub async fn connect(self) -> Result<SqlKeyStore, SqlStoreError> {
        let pool = self.inner.connect().await?;
        Ok(SqlKeyStore { pool })
    }

    /// Checks the settings and builds the store without connecting: connections open on
    /// first use, so a database that is down at start-up makes calls fail (503) until it is
    /// up, instead of failing the start.
    ///
    /// # Errors
    ///
    /// [`SqlStoreError::Config`] for a bad URL or setting, or when called outside a Tokio
    /// runtime.
    pub fn connect_lazy(self) -> Result<SqlKeyStore, SqlStoreError> {
        let pool = self.inner.connect_lazy()?;
        Ok(SqlKeyStore { pool })
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn record(n: u8, owner: &str) -> KeyRecord {
        KeyRecord::new(
            KeyHash::from_bytes([n; 32]),
            KeyMetadata::new(
                format!("key_{n}"),
                owner,
                "n",
                Scopes::new(),
                at(u64::from(n)),
            ),
        )
    }

    async fn store() -> SqlKeyStore {
        let store = SqlKeyStore::connect("sqlite::memory:").await.unwrap();
        assert_eq!(store.migrate().await.unwrap(), 1);
        store
    }

    #[test]
    fn times_round_trip_to_the_microsecond_and_round_down() {
        for t in [
            UNIX_EPOCH,
            at(1_700_000_000) + Duration::from_micros(123_456),
            UNIX_EPOCH - Duration::from_micros(5),
        ] {
            assert_eq!(from_micros(micros(t)).unwrap(), t);
        }
        let t = at(10) + Duration::from_nanos(1_999);
        assert_eq!(
            from_micros(micros(t)).unwrap(),
            at(10) + Duration::from_micros(1)
        );
        let before = UNIX_EPOCH - Duration::from_nanos(1_500);
        assert_eq!(micros(before), -2, "rounded down, before 1970 too");
    }

    #[tokio::test]
    async fn migrations_apply_once() {
        let store = store().await;
        assert_eq!(store.migrate().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn records_round_trip() {
        let store = store().await;
        let mut full = record(7, "alice");
        full.metadata.scopes = "a:read b:write".parse().unwrap();
        full.metadata.created_at = at(1_700_000_000) + Duration::from_micros(42);
        full.metadata.expires_at = Some(at(1_800_000_000));
        full.metadata.last_used_at = Some(at(1_700_000_100));
        full.metadata.rotated_from = Some("key_0".into());
        store.insert(full.clone()).await.unwrap();
        let found = store
            .find_by_hash(&KeyHash::from_bytes([7; 32]))
            .await
            .unwrap();
        assert_eq!(found, Some(full.clone()));
        assert_eq!(
            store.find_by_id("key_7").await.unwrap(),
            Some(full.metadata)
        );
        assert_eq!(
            store.insert(record(7, "x")).await,
            Err(StoreError::Duplicate)
        );
    }

    #[tokio::test]
    async fn a_duplicate_successor_leaves_the_old_key_untouched() {
        let store = store().await;
        store.insert(record(1, "a")).await.unwrap();
        store.insert(record(2, "a")).await.unwrap();
        let mut clash = record(3, "a");
        clash.hash = KeyHash::from_bytes([2; 32]);
        assert_eq!(
            store.rotate("key_1", clash, at(500)).await,
            Err(StoreError::Duplicate)
        );
        let old = store.find_by_id("key_1").await.unwrap().unwrap();
        assert_eq!(
            (old.rotated_to, old.expires_at),
            (None, None),
            "rolled back"
        );
        assert!(store.find_by_id("key_3").await.unwrap().is_none());
    }

    /// Every public call's future is `Send`: it can be spawned (a compile-time check).
    #[tokio::test]
    async fn every_call_can_be_spawned() {
        let connected = tokio::spawn(SqlKeyStore::connect("sqlite::memory:"));
        let store = connected.await.unwrap().unwrap();
        let task = tokio::spawn(async move {
            store.migrate().await.unwrap();
            store.migrate_within(Duration::from_secs(5)).await.unwrap();
            store.insert(record(1, "a")).await.unwrap();
            assert!(store.touch("key_1", at(10), at(10)).await.unwrap());
            assert!(store.expire_by("key_1", at(99)).await.unwrap().is_some());
            assert!(
                store
                    .rotate("key_1", record(2, "a"), at(50))
                    .await
                    .unwrap()
                    .is_some()
            );
            assert!(store.revoke("key_2", at(60)).await.unwrap().is_some());
            assert_eq!(store.list_by_owner("a").await.unwrap().len(), 2);
            store.close().await;
        });
        task.await.unwrap();
    }

    #[tokio::test]
    async fn a_closed_pool_fails_closed() {
        let store = store().await;
        store.close().await;
        let error = store
            .find_by_hash(&KeyHash::from_bytes([1; 32]))
            .await
            .unwrap_err();
        assert!(matches!(error, StoreError::Unavailable(_)), "{error}");
    }

    #[tokio::test]
    async fn bad_urls_fail_at_construction() {
        for url in [
            "mysql://localhost/db",
            "no-scheme",
            "postgres://u@h:notaport/db",
        ] {
            let error = SqlKeyStore::builder(url).connect_lazy().unwrap_err();
            assert!(matches!(error, SqlStoreError::Config(_)), "{url}: {error}");
        }
    }
}
