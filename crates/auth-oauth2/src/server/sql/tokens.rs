//! [`SqlRefreshTokenStore`] and [`SqlAccessTokenStore`]: issued tokens by their SHA-256, in
//! `auth_oauth2_refresh_tokens` and `auth_oauth2_access_tokens`.

use std::time::Duration;

use async_trait::async_trait;
use auth_core::sql::SqlCallError as Failure;

use super::{Db, common_methods, from_micros, hash_from, micros, on_pool, scopes_from};
use crate::server::store::{
    AccessTokenRecord, AccessTokenStore, RefreshTokenRecord, RefreshTokenStore, StoreError,
    TokenHash,
};

/// Refresh tokens in SQLite or PostgreSQL: a [`RefreshTokenStore`] with exactly the
/// semantics of [`MemoryRefreshTokenStore`](crate::MemoryRefreshTokenStore).
///
/// - **Never the token**: the primary key is its SHA-256 ([`TokenHash`]).
/// - **Rotation is compare-and-set in SQL**: [`mark_rotated`](RefreshTokenStore::mark_rotated)
///   is one `UPDATE ... SET rotated = TRUE WHERE hash = $1 AND NOT rotated AND NOT revoked`,
///   so of two concurrent uses of one refresh token (on any instances) exactly one
///   rotates it; the other is treated as reuse and revokes the family.
/// - **Families**: [`revoke_family`](RefreshTokenStore::revoke_family) is one `UPDATE ...
///   RETURNING` over the `family_id` index.
/// - **Expiry**: rows are kept until they expire (a rotated one must be, or its reuse would
///   go unnoticed), then deleted by [`sweep_expired`](Self::sweep_expired), which also runs
///   by itself every 256 inserts. The token service checks expiry itself on every use.
/// - **Failure**: a call that fails or times out gives [`StoreError`]; the token service
///   answers 503, fail closed.
#[derive(Clone)]
pub struct SqlRefreshTokenStore {
    db: Db,
}

common_methods!(SqlRefreshTokenStore, "refresh-token store");

/// Opaque access tokens in SQLite or PostgreSQL: an [`AccessTokenStore`] with exactly the
/// semantics of [`MemoryAccessTokenStore`](crate::MemoryAccessTokenStore).
///
/// The primary key is the token's SHA-256; `family_id` and `expires_at_us` are indexed (for
/// revoking a family, and for [`sweep_expired`](Self::sweep_expired), which also runs by
/// itself every 256 inserts). A revocation is seen at once by every instance: there is no
/// cache.
#[derive(Clone)]
pub struct SqlAccessTokenStore {
    db: Db,
}

common_methods!(SqlAccessTokenStore, "access-token store");

macro_rules! refresh_columns {
    () => {
        "hash, family_id, client_id, subject, scopes, audience, first_party, issued_at_us, \
         expires_at_us, family_expires_at_us, access_token_id, access_expires_at_us, rotated, \
         revoked"
    };
}

const REFRESH_INSERT: &str = concat!(
    "INSERT INTO auth_oauth2_refresh_tokens (",
    refresh_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
);
const REFRESH_FIND: &str = concat!(
    "SELECT ",
    refresh_columns!(),
    " FROM auth_oauth2_refresh_tokens WHERE hash = $1"
);
const REFRESH_ROTATE: &str = "UPDATE auth_oauth2_refresh_tokens SET rotated = TRUE \
                              WHERE hash = $1 AND NOT rotated AND NOT revoked";
const REFRESH_REVOKE_FAMILY: &str = concat!(
    "UPDATE auth_oauth2_refresh_tokens SET revoked = TRUE WHERE family_id = $1 RETURNING ",
    refresh_columns!()
);
const REFRESH_SWEEP: &str = "DELETE FROM auth_oauth2_refresh_tokens WHERE expires_at_us <= $1";

type RefreshRow = (
    Vec<u8>,
    String,
    String,
    String,
    String,
    String,
    bool,
    i64,
    i64,
    i64,
    String,
    i64,
    bool,
    bool,
);

fn refresh_from_row(row: RefreshRow) -> Result<RefreshTokenRecord, Failure> {
    let (
        hash,
        family_id,
        client_id,
        subject,
        scopes,
        audience,
        first_party,
        issued,
        expires,
        family_expires,
        access_token_id,
        access_expires,
        rotated,
        revoked,
    ) = row;
    let mut record = RefreshTokenRecord::new(
        hash_from(hash)?,
        family_id,
        client_id,
        subject,
        scopes_from(&scopes)?,
        audience,
        from_micros(issued)?,
        from_micros(expires)?,
    );
    record.first_party = first_party;
    record.family_expires_at = from_micros(family_expires)?;
    record.access_token_id = access_token_id;
    record.access_expires_at = from_micros(access_expires)?;
    record.rotated = rotated;
    record.revoked = revoked;
    Ok(record)
}

impl SqlRefreshTokenStore {
    const STORE: &'static str = "refresh_tokens";

    /// Deletes every refresh token that has expired by the store's clock (rotated and
    /// revoked ones included); how many. Runs by itself every 256 inserts; call it from a
    /// periodic task to keep the table small between bursts.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the database fails.
    pub async fn sweep_expired(&self) -> Result<u64, StoreError> {
        self.db
            .delete_expired(Self::STORE, REFRESH_SWEEP, self.db.now())
            .await
    }
}

#[async_trait]
impl RefreshTokenStore for SqlRefreshTokenStore {
    async fn insert(&self, record: RefreshTokenRecord) -> Result<(), StoreError> {
        let scopes = record.scopes.to_string();
        self.db
            .call(Self::STORE, "insert", async {
                on_pool!(&self.db.pool, p => {
                    sqlx::query(REFRESH_INSERT)
                        .bind(record.hash.as_bytes().as_slice())
                        .bind(&record.family_id)
                        .bind(&record.client_id)
                        .bind(&record.subject)
                        .bind(&scopes)
                        .bind(&record.audience)
                        .bind(record.first_party)
                        .bind(micros(record.issued_at))
                        .bind(micros(record.expires_at))
                        .bind(micros(record.family_expires_at))
                        .bind(&record.access_token_id)
                        .bind(micros(record.access_expires_at))
                        .bind(record.rotated)
                        .bind(record.revoked)
                        .execute(p)
                        .await?;
                });
                Ok(())
            })
            .await?;
        if self.db.sweep_due() {
            // Best effort: the insert succeeded; a failed sweep is logged and retried later.
            let _ = self.sweep_expired().await;
        }
        Ok(())
    }

    async fn find(&self, hash: &TokenHash) -> Result<Option<RefreshTokenRecord>, StoreError> {
        self.db
            .call(Self::STORE, "find", async {
                let row: Option<RefreshRow> = on_pool!(&self.db.pool, p => {
                    sqlx::query_as(REFRESH_FIND)
                        .bind(hash.as_bytes().as_slice())
                        .fetch_optional(p)
                        .await?
                });
                row.map(refresh_from_row).transpose()
            })
            .await
    }

    async fn mark_rotated(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        self.db
            .call(Self::STORE, "mark_rotated", async {
                let rows = on_pool!(&self.db.pool, p => {
                    sqlx::query(REFRESH_ROTATE)
                        .bind(hash.as_bytes().as_slice())
                        .execute(p)
                        .await?
                        .rows_affected()
                });
                Ok(rows > 0)
            })
            .await
    }

    async fn revoke_family(&self, family_id: &str) -> Result<Vec<RefreshTokenRecord>, StoreError> {
        self.db
            .call(Self::STORE, "revoke_family", async {
                let rows: Vec<RefreshRow> = on_pool!(&self.db.pool, p => {
                    sqlx::query_as(REFRESH_REVOKE_FAMILY)
                        .bind(family_id)
                        .fetch_all(p)
                        .await?
                });
                rows.into_iter().map(refresh_from_row).collect()
            })
            .await
    }
}

macro_rules! access_columns {
    () => {
        "hash, token_id, family_id, client_id, subject, scopes, audience, issued_at_us, \
         expires_at_us, revoked"
    };
}

const ACCESS_INSERT: &str = concat!(
    "INSERT INTO auth_oauth2_access_tokens (",
    access_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
);
const ACCESS_FIND: &str = concat!(
    "SELECT ",
    access_columns!(),
    " FROM auth_oauth2_access_tokens WHERE hash = $1"
);
const ACCESS_REVOKE: &str = "UPDATE auth_oauth2_access_tokens SET revoked = TRUE WHERE hash = $1";
const ACCESS_REVOKE_FAMILY: &str =
    "UPDATE auth_oauth2_access_tokens SET revoked = TRUE WHERE family_id = $1";
const ACCESS_SWEEP: &str = "DELETE FROM auth_oauth2_access_tokens WHERE expires_at_us <= $1";

type AccessRow = (
    Vec<u8>,
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    i64,
    i64,
    bool,
);

fn access_from_row(row: AccessRow) -> Result<AccessTokenRecord, Failure> {
    let (hash, token_id, family_id, client_id, subject, scopes, audience, issued, expires, revoked) =
        row;
    let mut record = AccessTokenRecord::new(
        hash_from(hash)?,
        token_id,
        client_id,
        subject,
        scopes_from(&scopes)?,
        audience,
        from_micros(issued)?,
        from_micros(expires)?,
    );
    record.family_id = family_id;
    record.revoked = revoked;
    Ok(record)
}

impl SqlAccessTokenStore {
    const STORE: &'static str = "access_tokens";

    /// Deletes every access token that has expired by the store's clock; how many. Runs by
    /// itself every 256 inserts.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the database fails.
    pub async fn sweep_expired(&self) -> Result<u64, StoreError> {
        self.db
            .delete_expired(Self::STORE, ACCESS_SWEEP, self.db.now())
            .await
    }

    async fn update(
        &self,
        op: &'static str,
        sql: &'static str,
        key: &[u8],
        family: Option<&str>,
    ) -> Result<(), StoreError> {
        self.db
            .call(Self::STORE, op, async {
                on_pool!(&self.db.pool, p => {
                    let query = sqlx::query(sql);
                    let query = match family {
                        Some(family) => query.bind(family),
                        None => query.bind(key),
                    };
                    query.execute(p).await?;
                });
                Ok(())
            })
            .await
    }
}

#[async_trait]
impl AccessTokenStore for SqlAccessTokenStore {
    async fn insert(&self, record: AccessTokenRecord) -> Result<(), StoreError> {
        let scopes = record.scopes.to_string();
        self.db
            .call(Self::STORE, "insert", async {
                on_pool!(&self.db.pool, p => {
                    sqlx::query(ACCESS_INSERT)
                        .bind(record.hash.as_bytes().as_slice())
                        .bind(&record.token_id)
                        .bind(record.family_id.as_deref())
                        .bind(&record.client_id)
                        .bind(&record.subject)
                        .bind(&scopes)
                        .bind(&record.audience)
                        .bind(micros(record.issued_at))
                        .bind(micros(record.expires_at))
                        .bind(record.revoked)
                        .execute(p)
                        .await?;
                });
                Ok(())
            })
            .await?;
        if self.db.sweep_due() {
            let _ = self.sweep_expired().await;
        }
        Ok(())
    }

    async fn find(&self, hash: &TokenHash) -> Result<Option<AccessTokenRecord>, StoreError> {
        self.db
            .call(Self::STORE, "find", async {
                let row: Option<AccessRow> = on_pool!(&self.db.pool, p => {
                    sqlx::query_as(ACCESS_FIND)
                        .bind(hash.as_bytes().as_slice())
                        .fetch_optional(p)
                        .await?
                });
                row.map(access_from_row).transpose()
            })
            .await
    }

    async fn revoke(&self, hash: &TokenHash) -> Result<(), StoreError> {
        self.update("revoke", ACCESS_REVOKE, hash.as_bytes(), None)
            .await
    }

    async fn revoke_family(&self, family_id: &str) -> Result<(), StoreError> {
        self.update("revoke_family", ACCESS_REVOKE_FAMILY, &[], Some(family_id))
            .await
    }
}
