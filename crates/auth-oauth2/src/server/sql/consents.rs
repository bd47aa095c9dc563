//! [`SqlConsentStore`]: remembered consent in `auth_oauth2_consents`.

use std::time::Duration;

use async_trait::async_trait;
use auth_core::Scopes;

use super::{Db, common_methods, on_pool, scopes_from};
use crate::server::authorize::ConsentStore;
use crate::server::store::StoreError;

/// Remembered consent in SQLite or PostgreSQL: a [`ConsentStore`] with the semantics of
/// [`MemoryConsentStore`](crate::MemoryConsentStore), shared by every instance.
///
/// One row per (user, client, scope), primary key in that order, plus a row with the empty
/// scope that records the grant itself (so a consent to no scope at all is remembered too).
/// [`remember`](ConsentStore::remember) only inserts (`ON CONFLICT DO NOTHING`), so two
/// consents given at once both count: grants add up, none is lost.
#[derive(Clone)]
pub struct SqlConsentStore {
    db: Db,
}

common_methods!(SqlConsentStore, "consent store");

const GRANTED: &str =
    "SELECT scope FROM auth_oauth2_consents WHERE subject = $1 AND client_id = $2 ORDER BY scope";
const REMEMBER: &str = "INSERT INTO auth_oauth2_consents (subject, client_id, scope, granted_at_us) \
                        VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
const REVOKE: &str = "DELETE FROM auth_oauth2_consents WHERE subject = $1 AND client_id = $2";

impl SqlConsentStore {
    const STORE: &'static str = "consents";

    /// Forgets what `subject` granted `client_id` (the next authorization asks again);
    /// `false` when nothing was remembered.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the database fails.
    pub async fn revoke(&self, subject: &str, client_id: &str) -> Result<bool, StoreError> {
        self.db
            .call(Self::STORE, "revoke", async {
                let rows = on_pool!(&self.db.pool, p => {
                    sqlx::query(REVOKE)
                        .bind(subject)
                        .bind(client_id)
                        .execute(p)
                        .await?
                        .rows_affected()
                });
                Ok(rows > 0)
            })
            .await
    }
}

#[async_trait]
impl ConsentStore for SqlConsentStore {
    async fn granted(&self, subject: &str, client_id: &str) -> Result<Option<Scopes>, StoreError> {
        self.db
            .call(Self::STORE, "granted", async {
                let rows: Vec<String> = on_pool!(&self.db.pool, p => {
                    sqlx::query_scalar(GRANTED)
                        .bind(subject)
                        .bind(client_id)
                        .fetch_all(p)
                        .await?
                });
                if rows.is_empty() {
                    return Ok(None);
                }
                let scopes: Vec<&str> = rows
                    .iter()
                    .map(String::as_str)
                    .filter(|s| !s.is_empty())
                    .collect();
                scopes_from(&scopes.join(" ")).map(Some)
            })
            .await
    }

    async fn remember(
        &self,
        subject: &str,
        client_id: &str,
        scopes: &Scopes,
    ) -> Result<(), StoreError> {
        let now = self.db.now();
        self.db
            .call(Self::STORE, "remember", async {
                on_pool!(&self.db.pool, p => {
                    let mut tx = p.begin().await?;
                    for scope in std::iter::once("").chain(scopes.iter()) {
                        sqlx::query(REMEMBER)
                            .bind(subject)
                            .bind(client_id)
                            .bind(scope)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                });
                Ok(())
            })
            .await
    }
}
