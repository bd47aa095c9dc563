//! [`SqlPoolBuilder`]: a [`SqlPool`] from a URL, with the settings every auth-* SQL store
//! shares.

use std::fmt;
use std::time::Duration;

#[cfg(feature = "postgres")]
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
#[cfg(feature = "sqlite")]
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

#[cfg(feature = "postgres")]
use super::plain_identifier;
use super::{SqlBackend, SqlPool, SqlStoreError, SqlxPool, boxed};

/// sqlx's default pool size.
const DEFAULT_MAX_CONNECTIONS: u32 = 10;

/// Builds a [`SqlPool`] from a URL. From [`SqlPool::builder`] (the stores' builders wrap
/// one).
///
/// Defaults: each call bounded by 2 s ([`SqlPool::DEFAULT_TIMEOUT`]), the wait for a pooled
/// connection by the same, at most 10 connections. PostgreSQL connections also get
/// `statement_timeout` = the call timeout (the server gives up too) and an
/// `application_name` (the store's crate, see [`for_crate`](Self::for_crate)) unless the
/// URL sets one; SQLite connections get `busy_timeout` = the call timeout.
///
/// Errors never repeat the URL, which may hold a password; neither does `Debug`.
#[must_use = "a builder does nothing until `connect` or `connect_lazy` is called"]
pub struct SqlPoolBuilder {
    url: String,
    timeout: Duration,
    acquire_timeout: Option<Duration>,
    max_connections: u32,
    schema: Option<String>,
    owner: &'static str,
    sqlite: bool,
    postgres: bool,
}

/// Parsed connection settings, one variant per backend.
enum Options {
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteConnectOptions),
    #[cfg(feature = "postgres")]
    Postgres(PgConnectOptions),
}

impl SqlPoolBuilder {
    /// A builder for a pool at `url` (see [`SqlPool::builder`]).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            timeout: SqlPool::DEFAULT_TIMEOUT,
            acquire_timeout: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            schema: None,
            owner: "auth-core",
            sqlite: true,
            postgres: true,
        }
    }

    /// The crate whose store this pool serves, and the backends that crate was built with
    /// (`cfg!(feature = "sqlite")`, `cfg!(feature = "postgres")`).
    ///
    /// `name` becomes the PostgreSQL `application_name` (unless the URL sets one) and is
    /// named in the error for a backend whose feature is off. The backends matter because
    /// auth-core's features are the union of every crate's in the build: a URL for a
    /// backend the store's crate was built without is refused here, at construction, not at
    /// its first call. By default: `auth-core`, every backend this build supports.
    pub fn for_crate(mut self, name: &'static str, sqlite: bool, postgres: bool) -> Self {
        self.owner = name;
        self.sqlite = sqlite;
        self.postgres = postgres;
        self
    }

    /// Bounds each call (connection wait, query, transaction) by `timeout` (default 2 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Bounds the wait for a pooled connection (default: the call timeout, which bounds it
    /// anyway).
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = Some(timeout);
        self
    }

    /// At most `max` open connections (default 10).
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max;
        self
    }

    /// PostgreSQL only: puts the tables in `schema` (sets the connections' `search_path`).
    /// The schema must exist; migrations create the tables in it. Lower-case letters,
    /// digits and `_`, at most 63 bytes.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Checks the settings, opens one connection to prove the database answers, and builds
    /// the pool.
    ///
    /// # Errors
    ///
    /// [`SqlStoreError::Config`] for a bad URL or setting, or when called outside a Tokio
    /// runtime; [`SqlStoreError::Unavailable`] when the database cannot be reached within
    /// the timeout or refuses the connection (wrong password, unknown database).
    pub async fn connect(self) -> Result<SqlPool, SqlStoreError> {
        let options = self.options()?;
        let timeout = self.timeout;
        let probe = async {
            use sqlx::{ConnectOptions as _, Connection as _};
            match &options {
                #[cfg(feature = "sqlite")]
                Options::Sqlite(o) => o.connect().await?.close().await,
                #[cfg(feature = "postgres")]
                Options::Postgres(o) => o.connect().await?.close().await,
            }
        };
        match tokio::time::timeout(timeout, boxed(probe)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(SqlStoreError::Unavailable(error.to_string())),
            Err(_) => {
                return Err(SqlStoreError::Unavailable(format!(
                    "no connection within {timeout:?}"
                )));
            }
        }
        Ok(self.build(options))
    }

    /// Checks the settings and builds the pool without connecting: connections open on
    /// first use, so a database that is down at start-up makes calls fail (503) until it is
    /// up, instead of failing the start.
    ///
    /// # Errors
    ///
    /// [`SqlStoreError::Config`] for a bad URL or setting, or when called outside a Tokio
    /// runtime.
    pub fn connect_lazy(self) -> Result<SqlPool, SqlStoreError> {
        let options = self.options()?;
        Ok(self.build(options))
    }

    fn options(&self) -> Result<Options, SqlStoreError> {
        let config = |message: &str| SqlStoreError::Config(message.to_owned());
        if self.timeout.is_zero() || self.acquire_timeout.is_some_and(|d| d.is_zero()) {
            return Err(config("timeouts must be positive"));
        }
        if self.max_connections == 0 {
            return Err(config("max_connections must be at least 1"));
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(config("SQL stores must be built within a Tokio runtime"));
        }
        let scheme = self
            .url
            .split_once(':')
            .map(|(scheme, _)| scheme.to_ascii_lowercase())
            .ok_or_else(|| config("not a database URL: expected sqlite:... or postgres://..."))?;
        match scheme.as_str() {
            "sqlite" if self.sqlite => self.sqlite_options(),
            "postgres" | "postgresql" if self.postgres => self.postgres_options(),
            "sqlite" => Err(self.feature_off(SqlBackend::Sqlite)),
            "postgres" | "postgresql" => Err(self.feature_off(SqlBackend::Postgres)),
            _ => Err(SqlStoreError::Config(format!(
                "unsupported database URL scheme `{scheme}`: expected sqlite: or postgres://"
            ))),
        }
    }

    fn feature_off(&self, backend: SqlBackend) -> SqlStoreError {
        let urls = match backend {
            SqlBackend::Sqlite => "sqlite:",
            SqlBackend::Postgres => "postgres://",
        };
        SqlStoreError::Config(format!(
            "{urls} URLs need the `{backend}` feature of {}",
            self.owner
        ))
    }

    #[cfg(feature = "sqlite")]
    fn sqlite_options(&self) -> Result<Options, SqlStoreError> {
        use std::str::FromStr as _;
        if self.schema.is_some() {
            return Err(SqlStoreError::Config(
                "a schema applies to PostgreSQL only".to_owned(),
            ));
        }
        let mut options = SqliteConnectOptions::from_str(&self.url)
            .map_err(|e| SqlStoreError::Config(format!("invalid SQLite URL: {e}")))?
            .busy_timeout(self.timeout);
        if !self.url.contains("mode=") {
            options = options.create_if_missing(true);
        }
        Ok(Options::Sqlite(options))
    }

    #[cfg(not(feature = "sqlite"))]
    fn sqlite_options(&self) -> Result<Options, SqlStoreError> {
        Err(self.feature_off(SqlBackend::Sqlite))
    }

    #[cfg(feature = "postgres")]
    fn postgres_options(&self) -> Result<Options, SqlStoreError> {
        use std::str::FromStr as _;
        let mut options = PgConnectOptions::from_str(&self.url)
            .map_err(|e| SqlStoreError::Config(format!("invalid PostgreSQL URL: {e}")))?
            .options([("statement_timeout", self.timeout.as_millis().max(1))]);
        if options.get_application_name().is_none() {
            options = options.application_name(self.owner);
        }
        if let Some(schema) = &self.schema {
            if !plain_identifier(schema) {
                return Err(SqlStoreError::Config(
                    "a schema name is 1 to 63 of a-z, 0-9 and _, not starting with a digit"
                        .to_owned(),
                ));
            }
            options = options.options([("search_path", schema)]);
        }
        Ok(Options::Postgres(options))
    }

    #[cfg(not(feature = "postgres"))]
    fn postgres_options(&self) -> Result<Options, SqlStoreError> {
        Err(self.feature_off(SqlBackend::Postgres))
    }

    fn build(self, options: Options) -> SqlPool {
        let acquire = self.acquire_timeout.unwrap_or(self.timeout);
        let pool = match options {
            #[cfg(feature = "sqlite")]
            Options::Sqlite(o) => SqlxPool::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(self.max_connections)
                    .acquire_timeout(acquire)
                    .connect_lazy_with(o),
            ),
            #[cfg(feature = "postgres")]
            Options::Postgres(o) => SqlxPool::Postgres(
                PgPoolOptions::new()
                    .max_connections(self.max_connections)
                    .acquire_timeout(acquire)
                    .connect_lazy_with(o),
            ),
        };
        SqlPool {
            pool,
            timeout: self.timeout,
        }
    }
}

impl fmt::Debug for SqlPoolBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the URL: it may hold a password.
        let scheme = self.url.split_once(':').map_or("?", |(scheme, _)| scheme);
        f.debug_struct("SqlPoolBuilder")
            .field("scheme", &scheme)
            .field("timeout", &self.timeout)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("max_connections", &self.max_connections)
            .field("schema", &self.schema)
            .field("crate", &self.owner)
            .finish()
    }
}
