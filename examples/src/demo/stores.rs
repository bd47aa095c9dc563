//! Where the demo keeps its state: the database (`--database`) for users, API keys and
//! the OAuth token service's clients, tokens, codes and consents; Redis (`--redis`) — or this process's memory without it — for sessions,
//! HMAC nonces, JWT revocations and failed-attempt throttles.

use std::path::Path;
use std::sync::Arc;

use auth_actix::session::{CookieKeys, MemoryStore, SessionManager, SessionManagerBuilder};
use auth_apikey::SqlKeyStore;
use auth_basic::SqlUserStore;
use auth_core::sql::SqlPool;
use auth_core::{
    MemoryThrottle, RedisConnection, RedisThrottle, SharedClock, Throttle, ThrottlePolicy,
};
use auth_hmac::{MemoryNonceStore, NonceStore, RedisNonceStore};
use auth_jwt::{MemoryRevocationStore, RedisRevocationStore, RevocationStore};
use auth_session::RedisSessionStore;

use super::{DemoConfig, DemoError};

/// The stores every scheme part draws from, connected (and migrated) once at start.
#[derive(Clone)]
pub(crate) struct Stores {
    pub(crate) users: SqlUserStore,
    pub(crate) keys: SqlKeyStore,
    /// The pool of the OAuth token service's stores (`auth_oauth2::Sql*`), migrated.
    pub(crate) oauth: SqlPool,
    redis: Option<RedisConnection>,
    clock: SharedClock,
    /// One revocation list for the JWT routes and the OAuth token service.
    revocations: Arc<dyn RevocationStore>,
}

fn store_error(store: &'static str, error: impl std::fmt::Display) -> DemoError {
    DemoError::Store {
        store,
        message: error.to_string(),
    }
}

/// `postgres://user:password@host/db` → `postgres://***@host/db`: for messages and the
/// banner, which never show a password.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

/// Whether `url` carries a password (`scheme://user:PW@host`, `redis://:PW@host`): such a
/// URL must not be passed on the command line, where `ps` shows it to every user.
pub fn url_has_password(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    rest[..authority_end]
        .rfind('@')
        .is_some_and(|at| rest[..at].contains(':'))
}

/// The directory a `sqlite:` URL's file lives in, to create it before SQLite opens the
/// file (SQLite creates a missing file, not a missing directory).
fn sqlite_dir(url: &str) -> Option<&Path> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(':') {
        return None;
    }
    Path::new(path)
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
}

impl Stores {
    /// Connects to the database (creating a SQLite file and its directory when missing)
    /// and runs the stores' migrations, then to Redis when configured.
    ///
    /// # Errors
    ///
    /// [`DemoError::Store`] for a bad URL, an unreachable database or Redis, or a failed
    /// migration. The message never repeats a URL's password.
    pub(crate) async fn connect(config: &DemoConfig) -> Result<Self, DemoError> {
        let url = config.database.as_str();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(store_error(
                "database",
                format!(
                    "--database {} is neither a sqlite: nor a postgres:// URL",
                    redact_url(url)
                ),
            ));
        }
        if let Some(dir) = sqlite_dir(url) {
            std::fs::create_dir_all(dir).map_err(|e| store_error("database", e))?;
        }
        let mut users = SqlUserStore::builder(url);
        let mut keys = SqlKeyStore::builder(url);
        if let Some(schema) = &config.database_schema {
            users = users.schema(schema.clone());
            keys = keys.schema(schema.clone());
        }
        let users = users
            .connect()
            .await
            .map_err(|e| store_error("database", e))?;
        let keys = keys
            .connect()
            .await
            .map_err(|e| store_error("database", e))?;
        let mut oauth = auth_oauth2::SqlClientRegistry::pool_builder(url);
        if let Some(schema) = &config.database_schema {
            oauth = oauth.schema(schema.clone());
        }
        let oauth = oauth
            .connect()
            .await
            .map_err(|e| store_error("database", e))?;
        let database = |e| store_error("database", e);
        users.migrate().await.map_err(database)?;
        keys.migrate().await.map_err(database)?;
        auth_oauth2::SqlClientRegistry::new(oauth.clone())
            .migrate()
            .await
            .map_err(database)?;

        let clock = config.clock.clone();
        let redis = match &config.redis {
            Some(url) => Some(
                RedisConnection::builder(url.as_str())
                    .namespace(config.redis_namespace.clone())
                    .connect()
                    .await
                    .map_err(|e| store_error("redis", e))?,
            ),
            None => None,
        };
        let revocations: Arc<dyn RevocationStore> = match &redis {
            Some(redis) => Arc::new(RedisRevocationStore::new(redis, clock.clone())),
            None => Arc::new(MemoryRevocationStore::new(clock.clone())),
        };
        Ok(Self {
            users,
            keys,
            oauth,
            redis,
            clock,
            revocations,
        })
    }

    /// The clock every store and verifier reads.
    pub(crate) fn clock(&self) -> SharedClock {
        self.clock.clone()
    }

    /// A failed-attempt throttle: the shared Redis one, or a new one in this process.
    pub(crate) fn throttle(&self) -> Result<Arc<dyn Throttle>, DemoError> {
        Ok(match &self.redis {
            Some(redis) => Arc::new(
                RedisThrottle::new(redis, ThrottlePolicy::default(), self.clock.clone())
                    .map_err(|e| store_error("redis", e))?,
            ),
            None => Arc::new(
                MemoryThrottle::new(ThrottlePolicy::default(), self.clock.clone())
                    .map_err(|e| store_error("throttle", e))?,
            ),
        })
    }

    /// The JWT revocation list (`jti`).
    pub(crate) fn revocations(&self) -> Arc<dyn RevocationStore> {
        Arc::clone(&self.revocations)
    }

    /// The HMAC nonce store (replay protection).
    pub(crate) fn nonces(&self) -> Arc<dyn NonceStore> {
        match &self.redis {
            Some(redis) => Arc::new(RedisNonceStore::new(redis, self.clock.clone())),
            None => Arc::new(MemoryNonceStore::new(self.clock.clone())),
        }
    }

    /// A session manager builder on the session store.
    pub(crate) fn sessions(&self, keys: CookieKeys) -> SessionManagerBuilder {
        match &self.redis {
            Some(redis) => {
                SessionManager::builder(RedisSessionStore::new(redis, self.clock.clone()), keys)
            }
            None => SessionManager::builder(MemoryStore::new(self.clock.clone()), keys),
        }
        .clock(self.clock.clone())
    }

    /// What the banner says about where state lives.
    pub(crate) fn banner(&self, config: &DemoConfig) -> Vec<String> {
        let database = match &config.database_schema {
            Some(schema) => format!("{} (schema {schema})", redact_url(&config.database)),
            None => redact_url(&config.database),
        };
        let mut lines = vec![format!(
            "stores: users, API keys, OAuth clients, tokens, codes and consents: {database} ({})",
            self.users.backend()
        )];
        lines.push(match &config.redis {
            Some(url) => format!(
                "stores: sessions, HMAC nonces, JWT revocations, failed-attempt throttles: Redis {} \
                 (namespace {}), shared with every instance using it",
                redact_url(url),
                config.redis_namespace
            ),
            None => "stores: sessions, HMAC nonces, JWT revocations, failed-attempt throttles: \
                     in this process's memory (lost on restart, not shared; --redis URL shares them)"
                .to_owned(),
        });
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_passwords_are_recognised() {
        assert!(url_has_password("postgres://u:secret@db/x"));
        assert!(url_has_password("redis://:secret@127.0.0.1:6379/0"));
        assert!(!url_has_password("postgres://u@db/x"));
        assert!(!url_has_password("postgres://db:5432/x?user=a"));
        assert!(!url_has_password("redis://127.0.0.1:6379"));
        assert!(!url_has_password("sqlite:auth-rs-demo/demo.db"));
    }

    #[test]
    fn urls_lose_their_password() {
        assert_eq!(
            redact_url("postgres://auth:s3cret@db.internal:5432/app"),
            "postgres://***@db.internal:5432/app"
        );
        assert_eq!(
            redact_url("redis://:pw@127.0.0.1/0"),
            "redis://***@127.0.0.1/0"
        );
        assert_eq!(redact_url("sqlite:demo.db"), "sqlite:demo.db");
        assert_eq!(
            redact_url("postgres://db/app?user=a@b"),
            "postgres://db/app?user=a@b"
        );
    }

    #[test]
    fn a_sqlite_file_names_its_directory() {
        assert_eq!(
            sqlite_dir("sqlite:auth-rs-demo/demo.db"),
            Some(Path::new("auth-rs-demo"))
        );
        assert_eq!(
            sqlite_dir("sqlite:///var/lib/demo.db?mode=rwc"),
            Some(Path::new("/var/lib"))
        );
        assert_eq!(sqlite_dir("sqlite:demo.db"), None);
        assert_eq!(sqlite_dir("sqlite::memory:"), None);
        assert_eq!(sqlite_dir("postgres://db/app"), None);
    }
}
