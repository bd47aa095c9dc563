//! [`SqlClientRegistry`]: registered clients in `auth_oauth2_clients`, with the operator
//! methods a CLI needs (register, list, rotate the secret, disable, remove).

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use auth_core::sql::SqlCallError as Failure;
use auth_core::{Scopes, Secret};

use super::{Db, common_methods, from_micros, on_pool, scopes_from};
use crate::server::registry::{
    ClientConfig, ClientRecord, ClientRegistry, GrantType, MemoryClientRegistry, SecretHash,
    generate_client_secret,
};
use crate::server::store::StoreError;

/// Registered clients in SQLite or PostgreSQL: a [`ClientRegistry`] for the token service,
/// and the operator's methods to manage them ([`register`](Self::register),
/// [`list`](Self::list), [`rotate_secret`](Self::rotate_secret),
/// [`disable`](Self::disable), [`remove`](Self::remove)), with the results of
/// [`MemoryClientRegistry`]'s methods of the same names.
///
/// - **Never a secret**: a generated secret (256 random bits) is returned once by
///   [`register`](Self::register) or [`rotate_secret`](Self::rotate_secret); the table
///   keeps its SHA-256 ([`SecretHash`]), compared in constant time by the token service.
///   [`list`](Self::list) returns no hash either.
/// - **Changes take effect at once** on every instance sharing the database: there is no
///   cache, so a disabled client or a rotated secret is refused by the next request.
/// - **Table** `auth_oauth2_clients`: `id` (primary key), `secret_hash`, `grants`
///   (space-delimited `grant_type` values), `scopes` and `default_scopes`
///   (space-delimited), `audiences`, `introspection_audiences` and `redirect_uris` (JSON
///   arrays), `refresh_tokens`, `is_public`, `disabled`, `created_at_us`,
///   `secret_rotated_at_us`.
/// - **Failure**: a call that fails or times out gives [`StoreError`] (logged at target
///   `auth_oauth2::sql`); the token service answers 503 (`client_registry_unavailable`).
///
/// Cheap to clone (the pool is shared).
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// use auth_oauth2::{ClientConfig, ClientRegistry, GrantType, SqlClientRegistry};
///
/// let clients = SqlClientRegistry::connect("sqlite::memory:").await?;
/// clients.migrate().await?;
/// let secret = clients
///     .register(
///         ClientConfig::new("billing")
///             .grant(GrantType::ClientCredentials)
///             .scopes("orders:read".parse()?)
///             .audience("https://api.example/orders"),
///     )
///     .await?;
/// let record = clients.find("billing").await?.unwrap();
/// assert!(record.secret_hash.matches(secret.expose_secret()));
///
/// let new_secret = clients.rotate_secret("billing").await?;
/// let record = clients.find("billing").await?.unwrap();
/// assert!(!record.secret_hash.matches(secret.expose_secret()));
/// assert!(record.secret_hash.matches(new_secret.expose_secret()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SqlClientRegistry {
    db: Db,
}

common_methods!(SqlClientRegistry, "client registry");

/// Why an operator's change to the registry failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientAdminError {
    /// The configuration is refused ([`ClientConfig::into_record`]'s checks, a short
    /// secret, a secret for a public client or none for a confidential one).
    #[error(transparent)]
    Config(crate::Error),
    /// A client with this id is already registered.
    #[error("client {0} is already registered")]
    Duplicate(String),
    /// No client has this id.
    #[error("client {0} is not registered")]
    UnknownClient(String),
    /// The database failed or did not answer in time.
    #[error(transparent)]
    Unavailable(#[from] StoreError),
}

/// A registered client as [`SqlClientRegistry::list`] shows it: everything but the secret's
/// hash, and when it was registered and its secret last rotated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientInfo {
    /// The client id.
    pub id: String,
    /// The grants it may use.
    pub grants: BTreeSet<GrantType>,
    /// The scopes it may be granted.
    pub scopes: Scopes,
    /// The scopes it gets when it asks for none.
    pub default_scopes: Scopes,
    /// The audiences it may get tokens for; the first is the default.
    pub audiences: Vec<String>,
    /// The audiences whose tokens it may introspect.
    pub introspection_audiences: Vec<String>,
    /// Its redirect URIs (authorization code grant).
    pub redirect_uris: Vec<String>,
    /// Whether client credentials responses carry a refresh token.
    pub refresh_tokens: bool,
    /// A public client (no secret; `token_endpoint_auth_method=none`).
    pub public: bool,
    /// A disabled client cannot authenticate.
    pub disabled: bool,
    /// When it was registered (or last replaced by [`SqlClientRegistry::insert`]).
    pub created_at: SystemTime,
    /// When its secret was last rotated, if ever.
    pub secret_rotated_at: Option<SystemTime>,
}

impl ClientInfo {
    /// How it authenticates at the token endpoint (RFC 8414
    /// `token_endpoint_auth_methods_supported` values): `"none"` for a public client, else
    /// `"client_secret_basic"` (`client_secret_post` is accepted too).
    #[must_use]
    pub fn auth_method(&self) -> &'static str {
        if self.public {
            "none"
        } else {
            "client_secret_basic"
        }
    }
}

/// The columns of a client, in [`ClientRow`] order.
macro_rules! columns {
    () => {
        "id, secret_hash, grants, scopes, default_scopes, audiences, \
         introspection_audiences, redirect_uris, refresh_tokens, is_public, disabled, \
         created_at_us, secret_rotated_at_us"
    };
}

const INSERT: &str = concat!(
    "INSERT INTO auth_oauth2_clients (",
    columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
);
const UPSERT: &str = concat!(
    "INSERT INTO auth_oauth2_clients (",
    columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
     ON CONFLICT (id) DO UPDATE SET secret_hash = excluded.secret_hash, \
     grants = excluded.grants, scopes = excluded.scopes, \
     default_scopes = excluded.default_scopes, audiences = excluded.audiences, \
     introspection_audiences = excluded.introspection_audiences, \
     redirect_uris = excluded.redirect_uris, refresh_tokens = excluded.refresh_tokens, \
     is_public = excluded.is_public, disabled = excluded.disabled, \
     created_at_us = excluded.created_at_us, secret_rotated_at_us = NULL"
);
const FIND: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM auth_oauth2_clients WHERE id = $1"
);
const LIST: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM auth_oauth2_clients ORDER BY id"
);
/// Only a confidential client has a secret to rotate.
const ROTATE: &str = "UPDATE auth_oauth2_clients SET secret_hash = $2, secret_rotated_at_us = $3 \
                      WHERE id = $1 AND NOT is_public";
const IS_PUBLIC: &str = "SELECT is_public FROM auth_oauth2_clients WHERE id = $1";
const SET_DISABLED: &str = "UPDATE auth_oauth2_clients SET disabled = $2 WHERE id = $1";
const REMOVE: &str = "DELETE FROM auth_oauth2_clients WHERE id = $1";
const COUNT: &str = "SELECT COUNT(*) FROM auth_oauth2_clients";

/// A client as stored, in `columns!()` order.
type ClientRow = (
    String,
    Vec<u8>,
    String,
    String,
    String,
    String,
    String,
    String,
    bool,
    bool,
    bool,
    i64,
    Option<i64>,
);

/// A record's columns, ready to bind.
struct Columns {
    grants: String,
    scopes: String,
    default_scopes: String,
    audiences: String,
    introspection_audiences: String,
    redirect_uris: String,
}

fn json_list(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".to_owned())
}

fn list_from(text: &str) -> Result<Vec<String>, Failure> {
    serde_json::from_str(text).map_err(|_| Failure::Data("invalid JSON list"))
}

impl Columns {
    fn of(record: &ClientRecord) -> Self {
        let grants: Vec<&str> = record.grants.iter().map(|g| g.as_str()).collect();
        Self {
            grants: grants.join(" "),
            scopes: record.scopes.to_string(),
            default_scopes: record.default_scopes.to_string(),
            audiences: json_list(&record.audiences),
            introspection_audiences: json_list(&record.introspection_audiences),
            redirect_uris: json_list(&record.redirect_uris),
        }
    }
}

/// Binds a record's thirteen columns to `INSERT` or `UPSERT`.
macro_rules! bind_client {
    ($query:expr, $record:expr, $columns:expr, $created:expr) => {
        $query
            .bind(&$record.id)
            .bind($record.secret_hash.as_bytes().as_slice())
            .bind(&$columns.grants)
            .bind(&$columns.scopes)
            .bind(&$columns.default_scopes)
            .bind(&$columns.audiences)
            .bind(&$columns.introspection_audiences)
            .bind(&$columns.redirect_uris)
            .bind($record.refresh_tokens)
            .bind($record.public)
            .bind($record.disabled)
            .bind($created)
            .bind(None::<i64>)
    };
}

/// The record and its times from a row.
fn from_row(row: ClientRow) -> Result<(ClientRecord, SystemTime, Option<SystemTime>), Failure> {
    let (
        id,
        hash,
        grants,
        scopes,
        default_scopes,
        audiences,
        introspection_audiences,
        redirect_uris,
        refresh_tokens,
        public,
        disabled,
        created,
        rotated,
    ) = row;
    let hash: [u8; 32] = hash
        .try_into()
        .map_err(|_| Failure::Data("a secret hash is not 32 bytes"))?;
    let mut record = ClientRecord::new(id, SecretHash::from_bytes(hash));
    // A grant this version does not know (a newer one wrote it) is left out: less, never
    // more, than was registered.
    record.grants = grants.split(' ').filter_map(GrantType::parse).collect();
    record.scopes = scopes_from(&scopes)?;
    record.default_scopes = scopes_from(&default_scopes)?;
    record.audiences = list_from(&audiences)?;
    record.introspection_audiences = list_from(&introspection_audiences)?;
    record.redirect_uris = list_from(&redirect_uris)?;
    record.refresh_tokens = refresh_tokens;
    record.public = public;
    record.disabled = disabled;
    Ok((
        record,
        from_micros(created)?,
        rotated.map(from_micros).transpose()?,
    ))
}

fn info_from_row(row: ClientRow) -> Result<ClientInfo, Failure> {
    let (record, created_at, secret_rotated_at) = from_row(row)?;
    Ok(ClientInfo {
        id: record.id,
        grants: record.grants,
        scopes: record.scopes,
        default_scopes: record.default_scopes,
        audiences: record.audiences,
        introspection_audiences: record.introspection_audiences,
        redirect_uris: record.redirect_uris,
        refresh_tokens: record.refresh_tokens,
        public: record.public,
        disabled: record.disabled,
        created_at,
        secret_rotated_at,
    })
}

fn config_error(message: String) -> ClientAdminError {
    ClientAdminError::Config(crate::Error::Config(message))
}

impl SqlClientRegistry {
    const STORE: &'static str = "clients";

    /// Stores a new record; [`ClientAdminError::Duplicate`] when its id is taken.
    async fn add(&self, record: ClientRecord) -> Result<(), ClientAdminError> {
        let columns = Columns::of(&record);
        let created = self.db.now();
        let result = self
            .db
            .pool
            .run(async {
                on_pool!(&self.db.pool, p => {
                    bind_client!(sqlx::query(INSERT), record, columns, created)
                        .execute(p)
                        .await?;
                });
                Ok(())
            })
            .await;
        match result {
            Ok(()) => Ok(()),
            Err(failure) if failure.is_unique_violation() => {
                Err(ClientAdminError::Duplicate(record.id))
            }
            Err(failure) => {
                let backend = self.backend();
                tracing::warn!(
                    target: "auth_oauth2::sql",
                    backend,
                    store = Self::STORE,
                    op = "register",
                    error = %failure,
                    "OAuth 2.0 store call failed"
                );
                Err(StoreError(format!("{backend} clients register: {failure}")).into())
            }
        }
    }

    /// Registers a confidential client with a generated secret (256 random bits,
    /// base64url, 43 characters), **returned once**: only its SHA-256 is stored, so show it
    /// to the operator now (`authctl oauth client add`); it cannot be read back later.
    ///
    /// # Errors
    ///
    /// [`ClientAdminError::Config`] for a configuration [`ClientConfig::into_record`]
    /// refuses, or a [`public`](ClientConfig::public) one (use
    /// [`register_public`](Self::register_public)); [`ClientAdminError::Duplicate`] when
    /// the id is taken; [`ClientAdminError::Unavailable`] when the database fails.
    pub async fn register(&self, config: ClientConfig) -> Result<Secret, ClientAdminError> {
        let secret = generate_client_secret().map_err(ClientAdminError::Config)?;
        let record = config
            .into_record(SecretHash::of(secret.expose_secret()))
            .map_err(ClientAdminError::Config)?;
        if record.public {
            return Err(config_error(format!(
                "client {}: a public client has no secret; use register_public",
                record.id
            )));
        }
        self.add(record).await?;
        Ok(secret)
    }

    /// Registers a public client (see [`ClientConfig::public`]): it has no secret.
    ///
    /// # Errors
    ///
    /// As [`register`](Self::register), and when `config` is not
    /// [`public`](ClientConfig::public).
    pub async fn register_public(&self, config: ClientConfig) -> Result<(), ClientAdminError> {
        // No secret hashes to all zeros: nothing authenticates with one.
        let record = config
            .into_record(SecretHash::from_bytes([0; 32]))
            .map_err(ClientAdminError::Config)?;
        if !record.public {
            return Err(config_error(format!(
                "client {}: register_public needs ClientConfig::public()",
                record.id
            )));
        }
        self.add(record).await
    }

    /// Registers a confidential client with a secret it already has (migrating from
    /// another server). The secret is not kept, only its hash.
    ///
    /// # Errors
    ///
    /// As [`register`](Self::register), and for a secret shorter than
    /// [`MemoryClientRegistry::MIN_SECRET_LEN`] (32) bytes: it is stored as a fast hash,
    /// which only a long random secret makes safe.
    pub async fn register_with_secret(
        &self,
        config: ClientConfig,
        secret: &Secret,
    ) -> Result<(), ClientAdminError> {
        if secret.len() < MemoryClientRegistry::MIN_SECRET_LEN {
            return Err(config_error(format!(
                "client secrets must be at least {} bytes of random; generate one with \
                 generate_client_secret()",
                MemoryClientRegistry::MIN_SECRET_LEN
            )));
        }
        let record = config
            .into_record(SecretHash::of(secret.expose_secret()))
            .map_err(ClientAdminError::Config)?;
        if record.public {
            return Err(config_error(format!(
                "client {}: a public client has no secret; use register_public",
                record.id
            )));
        }
        self.add(record).await
    }

    /// Stores `record` as is (a client read from elsewhere, already checked), replacing the
    /// client with its id.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the database fails.
    pub async fn insert(&self, record: &ClientRecord) -> Result<(), StoreError> {
        let columns = Columns::of(record);
        let created = self.db.now();
        self.db
            .call(Self::STORE, "insert", async {
                on_pool!(&self.db.pool, p => {
                    bind_client!(sqlx::query(UPSERT), record, columns, created)
                        .execute(p)
                        .await?;
                });
                Ok(())
            })
            .await
    }

    /// Every client, ordered by id, without its secret's hash (`authctl oauth client
    /// list`).
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the database fails.
    pub async fn list(&self) -> Result<Vec<ClientInfo>, StoreError> {
        self.db
            .call(Self::STORE, "list", async {
                let rows: Vec<ClientRow> = on_pool!(&self.db.pool, p => {
                    sqlx::query_as(LIST).fetch_all(p).await?
                });
                rows.into_iter().map(info_from_row).collect()
            })
            .await
    }

    /// Client `id` as [`list`](Self::list) shows it, if registered.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the database fails.
    pub async fn info(&self, id: &str) -> Result<Option<ClientInfo>, StoreError> {
        self.db
            .call(Self::STORE, "info", async {
                let row: Option<ClientRow> = on_pool!(&self.db.pool, p => {
                    sqlx::query_as(FIND).bind(id).fetch_optional(p).await?
                });
                row.map(info_from_row).transpose()
            })
            .await
    }

    /// Gives confidential client `id` a new generated secret, **returned once**
    /// (`authctl oauth client rotate-secret`). The old secret stops working at once, on
    /// every instance: there is no grace period (as with
    /// [`MemoryClientRegistry::rotate_secret`]), so hand the new secret to the client
    /// before its next token request. Tokens already issued stay valid until they expire
    /// or are revoked.
    ///
    /// # Errors
    ///
    /// [`ClientAdminError::UnknownClient`] when `id` is not registered;
    /// [`ClientAdminError::Config`] for a public client (it has no secret);
    /// [`ClientAdminError::Unavailable`] when the database fails.
    pub async fn rotate_secret(&self, id: &str) -> Result<Secret, ClientAdminError> {
        let secret = generate_client_secret().map_err(ClientAdminError::Config)?;
        let hash = SecretHash::of(secret.expose_secret());
        let now = self.db.now();
        let outcome = self
            .db
            .call(Self::STORE, "rotate_secret", async {
                on_pool!(&self.db.pool, p => {
                    let rotated = sqlx::query(ROTATE)
                        .bind(id)
                        .bind(hash.as_bytes().as_slice())
                        .bind(now)
                        .execute(p)
                        .await?
                        .rows_affected();
                    if rotated > 0 {
                        return Ok(Some(true));
                    }
                    let public: Option<bool> =
                        sqlx::query_scalar(IS_PUBLIC).bind(id).fetch_optional(p).await?;
                    Ok(public.map(|_| false))
                })
            })
            .await?;
        match outcome {
            Some(true) => Ok(secret),
            Some(false) => Err(config_error(format!(
                "client {id} is a public client: it has no secret"
            ))),
            None => Err(ClientAdminError::UnknownClient(id.to_owned())),
        }
    }

    /// Disables client `id`: it can no longer authenticate (its tokens stay valid until
    /// they expire or are revoked; refreshing them needs the client, so that stops too).
    /// `false` when unknown.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the database fails.
    pub async fn disable(&self, id: &str) -> Result<bool, StoreError> {
        self.set_disabled("disable", id, true).await
    }

    /// Enables client `id` again; `false` when unknown.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the database fails.
    pub async fn enable(&self, id: &str) -> Result<bool, StoreError> {
        self.set_disabled("enable", id, false).await
    }

    async fn set_disabled(
        &self,
        op: &'static str,
        id: &str,
        disabled: bool,
    ) -> Result<bool, StoreError> {
        self.db
            .call(Self::STORE, op, async {
                let rows = on_pool!(&self.db.pool, p => {
                    sqlx::query(SET_DISABLED)
                        .bind(id)
                        .bind(disabled)
                        .execute(p)
                        .await?
                        .rows_affected()
                });
                Ok(rows > 0)
            })
            .await
    }

    /// Removes client `id`; `false` when unknown. Its id may be registered again later:
    /// prefer [`disable`](Self::disable) if the tokens it was issued are still around.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the database fails.
    pub async fn remove(&self, id: &str) -> Result<bool, StoreError> {
        self.db
            .call(Self::STORE, "remove", async {
                let rows = on_pool!(&self.db.pool, p => {
                    sqlx::query(REMOVE).bind(id).execute(p).await?.rows_affected()
                });
                Ok(rows > 0)
            })
            .await
    }

    /// Number of clients.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the database fails.
    pub async fn count(&self) -> Result<u64, StoreError> {
        self.db
            .call(Self::STORE, "count", async {
                let count: i64 = on_pool!(&self.db.pool, p => {
                    sqlx::query_scalar(COUNT).fetch_one(p).await?
                });
                u64::try_from(count).map_err(|_| Failure::Data("a negative count"))
            })
            .await
    }
}

#[async_trait]
impl ClientRegistry for SqlClientRegistry {
    async fn find(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
        self.db
            .call(Self::STORE, "find", async {
                let row: Option<ClientRow> = on_pool!(&self.db.pool, p => {
                    sqlx::query_as(FIND).bind(client_id).fetch_optional(p).await?
                });
                Ok(row.map(from_row).transpose()?.map(|(record, _, _)| record))
            })
            .await
    }
}
