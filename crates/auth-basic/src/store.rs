//! Where users live: [`UserStore`], [`UserRecord`] and the in-memory [`MemoryUserStore`].

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{PoisonError, RwLock};

use async_trait::async_trait;
use auth_core::Scopes;

use crate::hasher::{PasswordHasher, is_bcrypt};
use crate::{Argon2Hasher, Error};

/// A user as a [`UserStore`] keeps it.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Stable id: the `Principal`'s subject. Survives renames.
    pub id: String,
    /// The name the user logs in with.
    pub username: String,
    /// The password hash as a PHC string (argon2id; argon2i/d or bcrypt are accepted and
    /// rehashed on the next login).
    pub password_hash: String,
    /// The scopes the user is granted.
    pub scopes: Scopes,
    /// A disabled user cannot log in.
    pub disabled: bool,
}

impl fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The hash is not the password, but it is what an offline attack starts from.
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password_hash", &"[redacted]")
            .field("scopes", &self.scopes)
            .field("disabled", &self.disabled)
            .finish()
    }
}

/// A store could not answer. The authenticator refuses the request with 503 (fail closed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("user store unavailable: {0}")]
pub struct StoreError(pub String);

/// Where [`BasicAuthenticator`](crate::BasicAuthenticator) finds users.
///
/// `SqlUserStore` (features `sqlite`, `postgres`) implements it on SQLite and PostgreSQL; implement it for your own
/// database meanwhile. Look-ups must be exact on the user name (no case folding here: fold
/// before storing if your users expect it).
#[async_trait]
pub trait UserStore: Send + Sync + fmt::Debug + 'static {
    /// The user named `username`, if any.
    async fn find(&self, username: &str) -> Result<Option<UserRecord>, StoreError>;

    /// Replaces the password hash of user `id` with `new_hash` (a rehash on login) if the
    /// stored hash is still `current_hash`, the one the login was verified against, in one
    /// atomic step; returns whether it did. A password changed meanwhile stays changed: a
    /// login with the old password that finishes its rehash after an administrator's reset
    /// must not put the old password back.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot be reached, or refuses the value (a SQL store's
    /// table accepts only password hashes).
    async fn update_hash(
        &self,
        id: &str,
        current_hash: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError>;
}

/// Users in memory: loaded from code or from an htpasswd-style file.
///
/// # Examples
///
/// ```
/// use auth_basic::{Argon2Hasher, MemoryUserStore};
///
/// let store = MemoryUserStore::new();
/// store.add_user(&Argon2Hasher::default(), "alice", "correct horse battery", "orders:read")?;
/// store.disable("alice");
/// # Ok::<(), auth_basic::Error>(())
/// ```
#[derive(Default)]
pub struct MemoryUserStore {
    users: RwLock<HashMap<String, UserRecord>>,
}

impl MemoryUserStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a user record.
    pub fn insert(&self, record: UserRecord) {
        self.write().insert(record.username.clone(), record);
    }

    /// Adds user `username` (whose id is the user name) with `password` hashed by
    /// `hasher`, and `scopes` (space-delimited). Hashing is slow: call this at start-up, or
    /// off the async reactor.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for an invalid scope string or user name; [`Error::Hash`] if hashing
    /// fails.
    pub fn add_user(
        &self,
        hasher: &dyn PasswordHasher,
        username: &str,
        password: &str,
        scopes: &str,
    ) -> Result<(), Error> {
        check_username(username)?;
        let scopes = Scopes::parse(scopes).map_err(|_| Error::Config("invalid scope string"))?;
        let password_hash = hasher.hash(password.as_bytes())?;
        self.insert(UserRecord {
            id: username.to_owned(),
            username: username.to_owned(),
            password_hash,
            scopes,
            disabled: false,
        });
        Ok(())
    }

    /// Sets a new password for `username`. Any cached verification of the old one stops
    /// matching at once (the hash changed).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownUser`] when there is no such user; [`Error::Hash`] if hashing fails.
    pub fn set_password(
        &self,
        hasher: &dyn PasswordHasher,
        username: &str,
        password: &str,
    ) -> Result<(), Error> {
        let password_hash = hasher.hash(password.as_bytes())?;
        let mut users = self.write();
        let record = users.get_mut(username).ok_or(Error::UnknownUser)?;
        record.password_hash = password_hash;
        Ok(())
    }

    /// Disables `username`; returns whether the user exists.
    pub fn disable(&self, username: &str) -> bool {
        self.set_disabled(username, true)
    }

    /// Enables `username` again; returns whether the user exists.
    pub fn enable(&self, username: &str) -> bool {
        self.set_disabled(username, false)
    }

    fn set_disabled(&self, username: &str, disabled: bool) -> bool {
        self.write()
            .get_mut(username)
            .map(|r| r.disabled = disabled)
            .is_some()
    }

    /// Removes `username`; returns whether the user existed.
    pub fn remove(&self, username: &str) -> bool {
        self.write().remove(username).is_some()
    }

    /// Number of users.
    #[must_use]
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether there are no users.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// Loads users from htpasswd-style text: one `user:hash[:scopes]` per line, `#` comments
    /// and blank lines ignored. Hashes must be argon2 PHC strings, or bcrypt (`$2y$` as
    /// `htpasswd -B` writes, verified with the `bcrypt` feature). Scopes are
    /// space-delimited.
    ///
    /// # Errors
    ///
    /// [`Error::Htpasswd`] naming the line, for a malformed line, a duplicate user, or a weak
    /// or unsupported hash format (`{SHA}`, `$apr1$` MD5, crypt, plaintext) — those cannot
    /// be made safe by rehashing because they can be cracked as they are.
    pub fn from_htpasswd(text: &str) -> Result<Self, Error> {
        let store = Self::new();
        for (index, raw) in text.lines().enumerate() {
            let line_no = index + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |reason: &str| Error::Htpasswd {
                line: line_no,
                reason: reason.to_owned(),
            };
            let (username, rest) = line
                .split_once(':')
                .ok_or_else(|| bad("expected user:hash"))?;
            check_username(username).map_err(|_| bad("invalid user name"))?;
            // PHC strings hold no ':'; bcrypt neither. A third field is the scope list.
            let (hash, scopes) = rest.split_once(':').unwrap_or((rest, ""));
            check_hash_format(hash).map_err(&bad)?;
            let scopes = Scopes::parse(scopes).map_err(|_| bad("invalid scope list"))?;
            if store.read().contains_key(username) {
                return Err(bad("duplicate user"));
            }
            store.insert(UserRecord {
                id: username.to_owned(),
                username: username.to_owned(),
                password_hash: hash.to_owned(),
                scopes,
                disabled: false,
            });
        }
        Ok(store)
    }

    /// Loads users from an htpasswd-style file (see [`MemoryUserStore::from_htpasswd`]).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be read; otherwise as `from_htpasswd`.
    pub fn load_htpasswd(path: impl AsRef<Path>) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path.as_ref()).map_err(|e| Error::Io(e.to_string()))?;
        Self::from_htpasswd(&text)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, UserRecord>> {
        self.users.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, UserRecord>> {
        self.users.write().unwrap_or_else(PoisonError::into_inner)
    }
}

fn check_username(username: &str) -> Result<(), Error> {
    if username.is_empty() || username.contains(':') || username.chars().any(char::is_control) {
        return Err(Error::Config(
            "a user name must be non-empty, without ':' or control characters",
        ));
    }
    Ok(())
}

/// Accepts only the formats we verify; names the weak ones.
fn check_hash_format(hash: &str) -> Result<(), &'static str> {
    if hash.starts_with("$argon2id$")
        || hash.starts_with("$argon2i$")
        || hash.starts_with("$argon2d$")
    {
        return argon2::password_hash::PasswordHash::new(hash)
            .map(|_| ())
            .map_err(|_| "malformed argon2 PHC string");
    }
    if is_bcrypt(hash) {
        return if cfg!(feature = "bcrypt") {
            Ok(())
        } else {
            Err("bcrypt hashes need the `bcrypt` feature of auth-basic")
        };
    }
    if hash.starts_with("{SHA}") {
        return Err("weak hash format {SHA} (unsalted SHA-1) refused; use argon2id");
    }
    if hash.starts_with("$apr1$") || hash.starts_with("$1$") {
        return Err("weak hash format MD5-crypt refused; use argon2id");
    }
    if hash.starts_with("$5$") || hash.starts_with("$6$") {
        return Err("SHA-crypt hashes are not supported; use argon2id");
    }
    Err("unsupported or weak hash format (crypt or plaintext) refused; use argon2id")
}

#[async_trait]
impl UserStore for MemoryUserStore {
    async fn find(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        Ok(self.read().get(username).cloned())
    }

    async fn update_hash(
        &self,
        id: &str,
        current_hash: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError> {
        let mut users = self.write();
        match users
            .values_mut()
            .find(|r| r.id == id && r.password_hash == current_hash)
        {
            Some(record) => {
                new_hash.clone_into(&mut record.password_hash);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

impl fmt::Debug for MemoryUserStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryUserStore")
            .field("users", &self.len())
            .finish()
    }
}

/// Hashes `password` with the default policy: a helper for seeding stores and files.
///
/// # Errors
///
/// [`Error::Hash`] if hashing fails.
pub fn hash_password(password: &str) -> Result<String, Error> {
    Argon2Hasher::default().hash(password.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Argon2Params;

    fn fast() -> Argon2Hasher {
        Argon2Hasher::new(Argon2Params::insecure_fast_for_tests())
    }

    #[tokio::test]
    async fn htpasswd_with_argon2_hashes_and_scopes_loads() {
        let hash = fast().hash(b"pw").unwrap();
        let text = format!("# users\n\nalice:{hash}:orders:read orders:write\nbob:{hash}\n");
        let store = MemoryUserStore::from_htpasswd(&text).unwrap();
        let alice = store.find("alice").await.unwrap().unwrap();
        assert_eq!(alice.scopes.to_string(), "orders:read orders:write");
        assert!(store.find("bob").await.unwrap().unwrap().scopes.is_empty());
        assert_eq!(store.find("carol").await.unwrap(), None);
    }

    #[test]
    fn htpasswd_refuses_weak_formats_with_the_line() {
        for (line, needle) in [
            ("u:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "{SHA}"),
            ("u:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/", "MD5"),
            ("u:rl0MKc4Pzq1CE", "crypt or plaintext"),
            ("u:hunter2", "crypt or plaintext"),
        ] {
            let err = MemoryUserStore::from_htpasswd(&format!("# c\n{line}\n"))
                .err()
                .unwrap();
            let text = err.to_string();
            assert!(text.contains("line 2") && text.contains(needle), "{text}");
        }
    }

    #[test]
    fn htpasswd_refuses_malformed_lines_and_duplicates() {
        let hash = fast().hash(b"pw").unwrap();
        assert!(MemoryUserStore::from_htpasswd("no-colon").is_err());
        assert!(MemoryUserStore::from_htpasswd(&format!("a:{hash}\na:{hash}")).is_err());
        assert!(MemoryUserStore::from_htpasswd(&format!(":{hash}")).is_err());
        assert!(MemoryUserStore::from_htpasswd(&format!("a:{hash}:bad\"scope")).is_err());
    }

    #[cfg(feature = "bcrypt")]
    #[test]
    fn htpasswd_accepts_bcrypt_with_the_feature() {
        let hash = bcrypt::hash("pw", 4).unwrap().replacen("$2b$", "$2y$", 1);
        assert!(MemoryUserStore::from_htpasswd(&format!("a:{hash}")).is_ok());
    }

    #[test]
    fn record_debug_hides_the_hash() {
        let store = MemoryUserStore::new();
        store.add_user(&fast(), "alice", "pw", "").unwrap();
        let record = store.read().get("alice").cloned().unwrap();
        assert!(!format!("{record:?}").contains("argon2"));
    }
}
