//! [`SqlAuthorizationCodeStore`]: authorization codes by their SHA-256, in
//! `auth_oauth2_codes`.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use auth_core::sql::SqlCallError as Failure;

use super::{Db, common_methods, from_micros, hash_from, micros, on_pool, scopes_from};
use crate::server::code::{
    AuthorizationCodeRecord, AuthorizationCodeStore, CodeTake, MemoryAuthorizationCodeStore,
};
use crate::server::store::{StoreError, TokenHash};

/// Authorization codes in SQLite or PostgreSQL: an [`AuthorizationCodeStore`] with exactly
/// the semantics of [`MemoryAuthorizationCodeStore`], across instances.
///
/// - **Never the code**: the primary key is its SHA-256 ([`TokenHash`]).
/// - **Single use, atomically**: [`take`](AuthorizationCodeStore::take) is one statement,
///   `UPDATE ... SET replayed = used, used = TRUE WHERE hash = $1 RETURNING ...`: the row
///   lock orders concurrent takes, and only the first sees `used` false
///   ([`CodeTake::Fresh`]); every later one gets [`CodeTake::Used`] and marks the code
///   replayed, which [`attach_access_token`](AuthorizationCodeStore::attach_access_token)
///   reports to a redemption still in flight.
/// - **Expiry**: a code is remembered (used or not) until
///   [`MemoryAuthorizationCodeStore::REPLAY_MEMORY`] (1 hour) after it expires, so a
///   replay is recognised and the first redemption's tokens revoked; then
///   [`sweep_expired`](Self::sweep_expired) deletes it (it also runs by itself every 256
///   inserts). The token service checks the code's expiry itself.
#[derive(Clone)]
pub struct SqlAuthorizationCodeStore {
    db: Db,
}

common_methods!(SqlAuthorizationCodeStore, "authorization-code store");

macro_rules! columns {
    () => {
        "hash, client_id, redirect_uri, code_challenge, subject, scopes, audience, family_id, \
         nonce, issued_at_us, expires_at_us, access_token_id, access_expires_at_us"
    };
}

const INSERT: &str = concat!(
    "INSERT INTO auth_oauth2_codes (",
    columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
);
/// `replayed` takes the old `used` (the right-hand sides see the row as it was): false for
/// the first take only. Since `replayed` implies `used`, it stays true once set.
const TAKE: &str = concat!(
    "UPDATE auth_oauth2_codes SET replayed = used, used = TRUE WHERE hash = $1 RETURNING ",
    columns!(),
    ", replayed"
);
const ATTACH: &str = "UPDATE auth_oauth2_codes SET access_token_id = $2, \
                      access_expires_at_us = $3 WHERE hash = $1 RETURNING replayed";
const SWEEP: &str = "DELETE FROM auth_oauth2_codes WHERE expires_at_us <= $1";

type CodeRow = (
    Vec<u8>,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    i64,
    Option<String>,
    Option<i64>,
    bool,
);

fn from_row(row: CodeRow) -> Result<(AuthorizationCodeRecord, bool), Failure> {
    let (
        hash,
        client_id,
        redirect_uri,
        code_challenge,
        subject,
        scopes,
        audience,
        family_id,
        nonce,
        issued,
        expires,
        access_token_id,
        access_expires,
        replayed,
    ) = row;
    let record = AuthorizationCodeRecord {
        hash: hash_from(hash)?,
        client_id,
        redirect_uri,
        code_challenge,
        subject,
        scopes: scopes_from(&scopes)?,
        audience,
        family_id,
        nonce,
        issued_at: from_micros(issued)?,
        expires_at: from_micros(expires)?,
        access_token_id,
        access_expires_at: access_expires.map(from_micros).transpose()?,
    };
    Ok((record, replayed))
}

impl SqlAuthorizationCodeStore {
    const STORE: &'static str = "codes";

    /// Deletes every code whose expiry is more than
    /// [`MemoryAuthorizationCodeStore::REPLAY_MEMORY`] past by the store's clock (used or
    /// not); how many. Runs by itself every 256 inserts.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the database fails.
    pub async fn sweep_expired(&self) -> Result<u64, StoreError> {
        let before = self
            .db
            .now()
            .saturating_sub(micros_of(MemoryAuthorizationCodeStore::REPLAY_MEMORY));
        self.db.delete_expired(Self::STORE, SWEEP, before).await
    }
}

fn micros_of(span: Duration) -> i64 {
    i64::try_from(span.as_micros()).unwrap_or(i64::MAX)
}

#[async_trait]
impl AuthorizationCodeStore for SqlAuthorizationCodeStore {
    async fn insert(&self, record: AuthorizationCodeRecord) -> Result<(), StoreError> {
        let scopes = record.scopes.to_string();
        self.db
            .call(Self::STORE, "insert", async {
                on_pool!(&self.db.pool, p => {
                    sqlx::query(INSERT)
                        .bind(record.hash.as_bytes().as_slice())
                        .bind(&record.client_id)
                        .bind(&record.redirect_uri)
                        .bind(record.code_challenge.as_deref())
                        .bind(&record.subject)
                        .bind(&scopes)
                        .bind(&record.audience)
                        .bind(&record.family_id)
                        .bind(record.nonce.as_deref())
                        .bind(micros(record.issued_at))
                        .bind(micros(record.expires_at))
                        .bind(record.access_token_id.as_deref())
                        .bind(record.access_expires_at.map(micros))
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

    async fn take(&self, hash: &TokenHash) -> Result<CodeTake, StoreError> {
        self.db
            .call(Self::STORE, "take", async {
                let row: Option<CodeRow> = on_pool!(&self.db.pool, p => {
                    sqlx::query_as(TAKE)
                        .bind(hash.as_bytes().as_slice())
                        .fetch_optional(p)
                        .await?
                });
                Ok(match row.map(from_row).transpose()? {
                    None => CodeTake::Unknown,
                    Some((record, false)) => CodeTake::Fresh(record),
                    Some((record, true)) => CodeTake::Used(record),
                })
            })
            .await
    }

    async fn attach_access_token(
        &self,
        hash: &TokenHash,
        access_token_id: &str,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError> {
        self.db
            .call(Self::STORE, "attach_access_token", async {
                let replayed: Option<bool> = on_pool!(&self.db.pool, p => {
                    sqlx::query_scalar(ATTACH)
                        .bind(hash.as_bytes().as_slice())
                        .bind(access_token_id)
                        .bind(micros(expires_at))
                        .fetch_optional(p)
                        .await?
                });
                // Unknown (swept meanwhile): nothing says it was replayed, as in memory.
                Ok(!replayed.unwrap_or(false))
            })
            .await
    }
}
