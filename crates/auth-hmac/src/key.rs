//! [`HmacKey`], the [`KeyStore`] lookup by `keyid`, and [`MemoryKeyStore`].

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use auth_core::{Scopes, Secret};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::ConfigError;

/// The shortest secret accepted without a `dangerous_` opt-in: 32 bytes (256 bits, the
/// output size of SHA-256; RFC 2104 §3 recommends keys no shorter than the hash output).
pub const MIN_SECRET_LEN: usize = 32;

/// The longest key id accepted, in bytes.
pub const MAX_KEY_ID_LEN: usize = 128;

/// The one algorithm this crate signs and verifies with: `hmac-sha256` (RFC 9421 §3.3.3).
pub const ALGORITHM: &str = "hmac-sha256";

/// A shared secret with its public id, the client it belongs to, and the scopes it grants.
///
/// - `id` is the RFC 9421 `keyid` the client names in its signatures (public: it appears in
///   audit events);
/// - `subject` is the client, the [`Principal`](auth_core::Principal)'s subject; one client
///   can hold several keys (rotation: add the new key, let the client switch, remove the old);
/// - `secret` is an [`auth_core::Secret`]: redacted in `Debug`, zeroized on drop, never
///   logged.
///
/// # Examples
///
/// ```
/// use auth_hmac::HmacKey;
///
/// let key = HmacKey::new("billing-2025", "billing", "a secret of at least thirty-two bytes!")?
///     .with_scopes("orders:write".parse()?);
/// assert_eq!(key.id(), "billing-2025");
/// assert!(!format!("{key:?}").contains("thirty-two"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct HmacKey {
    id: String,
    subject: String,
    secret: Secret,
    scopes: Scopes,
    /// HMAC-SHA256 keyed with `secret` once, when the key is made (RFC 2104: the padded key
    /// blocks are hashed here, not on every verification); each MAC starts from a clone.
    ///
    /// # Security
    ///
    /// The keyed state (the inner and outer hash states after `K ^ ipad` and `K ^ opad`) is
    /// as sensitive as the secret: it lets its holder compute MACs. The `hmac` and `sha2`
    /// crates (0.12, 0.10) do not implement `Zeroize` for it, so, unlike the [`Secret`], it
    /// is not zeroized on drop (nor are the per-verification clones). It is never printed.
    keyed: Hmac<Sha256>,
}

impl HmacKey {
    /// A key `id` of client `subject` with `secret`, granting no scopes.
    ///
    /// # Errors
    ///
    /// [`ConfigError::WeakSecret`] when the secret is shorter than [`MIN_SECRET_LEN`] bytes;
    /// [`ConfigError::Invalid`] when the id is empty, longer than [`MAX_KEY_ID_LEN`] or not
    /// printable ASCII without `"` and `\`, or the subject is empty.
    pub fn new(
        id: impl Into<String>,
        subject: impl Into<String>,
        secret: impl Into<Secret>,
    ) -> Result<Self, ConfigError> {
        let secret = secret.into();
        check_secret(&secret)?;
        Self::build(id.into(), subject.into(), secret)
    }

    /// Like [`HmacKey::new`], but accepts a secret shorter than [`MIN_SECRET_LEN`] (not an
    /// empty one).
    ///
    /// # Security
    ///
    /// A short shared secret can be guessed offline from a single signed request: anybody who
    /// sees one request and its signature can test candidate secrets at billions per second.
    /// Use this only to interoperate with a sender whose secret you cannot change, and
    /// replace that secret.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when the secret is empty or the id or subject is unusable.
    pub fn dangerous_new_with_short_secret(
        id: impl Into<String>,
        subject: impl Into<String>,
        secret: impl Into<Secret>,
    ) -> Result<Self, ConfigError> {
        let secret = secret.into();
        if secret.is_empty() {
            return Err(ConfigError::WeakSecret {
                len: 0,
                min: MIN_SECRET_LEN,
            });
        }
        Self::build(id.into(), subject.into(), secret)
    }

    fn build(id: String, subject: String, secret: Secret) -> Result<Self, ConfigError> {
        check_key_id(&id)?;
        if subject.is_empty() {
            return Err(ConfigError::Invalid {
                field: "subject",
                problem: "must not be empty",
            });
        }
        let keyed = new_mac(secret.expose_secret());
        Ok(Self {
            id,
            subject,
            secret,
            scopes: Scopes::new(),
            keyed,
        })
    }

    /// Sets the scopes the key grants.
    #[must_use]
    pub fn with_scopes(mut self, scopes: Scopes) -> Self {
        self.scopes = scopes;
        self
    }

    /// The public key id (`keyid`).
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The client the key belongs to.
    #[must_use]
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The scopes the key grants.
    #[must_use]
    pub fn scopes(&self) -> &Scopes {
        &self.scopes
    }

    /// The algorithm the key is bound to (always [`ALGORITHM`], `hmac-sha256`).
    #[must_use]
    pub fn algorithm(&self) -> &'static str {
        ALGORITHM
    }

    /// The shared secret.
    #[must_use]
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// HMAC-SHA256 of the concatenation of `parts` under this key.
    #[cfg(test)]
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        hmac_sha256(self.secret.expose_secret(), parts)
    }

    /// Whether `tag` is the HMAC-SHA256 of the concatenation of `parts`, compared in
    /// constant time (a tag of the wrong length is simply not equal).
    pub(crate) fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        let mut mac = self.keyed.clone();
        for part in parts {
            mac.update(part);
        }
        mac.verify_slice(tag).is_ok()
    }
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacKey")
            .field("id", &self.id)
            .field("subject", &self.subject)
            .field("secret", &self.secret)
            .field("scopes", &self.scopes)
            .finish()
    }
}

pub(crate) fn check_secret(secret: &Secret) -> Result<(), ConfigError> {
    if secret.len() < MIN_SECRET_LEN {
        return Err(ConfigError::WeakSecret {
            len: secret.len(),
            min: MIN_SECRET_LEN,
        });
    }
    Ok(())
}

pub(crate) fn check_key_id(id: &str) -> Result<(), ConfigError> {
    let invalid = |problem| ConfigError::Invalid {
        field: "key id",
        problem,
    };
    if id.is_empty() {
        return Err(invalid("must not be empty"));
    }
    if id.len() > MAX_KEY_ID_LEN {
        return Err(invalid("is longer than 128 bytes"));
    }
    // An RFC 8941 String without the characters that need escaping, so it reads the same in
    // every log and header.
    if !id
        .bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
    {
        return Err(invalid("must be printable ASCII without `\"` and `\\`"));
    }
    Ok(())
}

fn new_mac(secret: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length (RFC 2104 §2), so this cannot fail.
    match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

/// HMAC-SHA256 (RFC 2104, RFC 6234) of the concatenation of `parts` under `secret`.
///
/// # Examples
///
/// RFC 4231 §4.2, test case 1:
///
/// ```
/// let mac = auth_hmac::hmac_sha256(&[0x0b; 20], &[b"Hi There"]);
/// assert_eq!(mac[..4], [0xb0, 0x34, 0x4c, 0x61]);
/// ```
#[must_use]
pub fn hmac_sha256(secret: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = new_mac(secret);
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Finds the [`HmacKey`] a signature's `keyid` names.
///
/// Implement it over your own storage; [`MemoryKeyStore`] is the in-process one. Lookups
/// are synchronous: keep keys in memory (a store that loads them refreshes its map in the
/// background).
pub trait KeyStore: Send + Sync + fmt::Debug + 'static {
    /// The key with public id `key_id`, if any.
    fn get(&self, key_id: &str) -> Option<Arc<HmacKey>>;
}

impl<T: KeyStore + ?Sized> KeyStore for Arc<T> {
    fn get(&self, key_id: &str) -> Option<Arc<HmacKey>> {
        (**self).get(key_id)
    }
}

/// An in-memory [`KeyStore`], safe to change while requests are verified (rotation without
/// a restart).
///
/// # Examples
///
/// Key rotation, one client with two keys for a while:
///
/// ```
/// use std::sync::Arc;
/// use auth_hmac::{HmacKey, KeyStore, MemoryKeyStore};
///
/// let keys = Arc::new(MemoryKeyStore::new());
/// keys.insert(HmacKey::new("billing-2024", "billing", "the old secret, thirty-two bytes+")?);
/// // 1. add the new key; both verify.
/// keys.insert(HmacKey::new("billing-2025", "billing", "the new secret, thirty-two bytes+")?);
/// assert_eq!(keys.key_ids_of("billing"), ["billing-2024", "billing-2025"]);
/// // 2. the client switches to billing-2025; 3. remove the old key.
/// keys.remove("billing-2024");
/// assert!(keys.get("billing-2024").is_none());
/// # Ok::<(), auth_hmac::ConfigError>(())
/// ```
#[derive(Default)]
pub struct MemoryKeyStore {
    keys: RwLock<HashMap<String, Arc<HmacKey>>>,
}

impl MemoryKeyStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding `keys`.
    #[must_use]
    pub fn from_keys(keys: impl IntoIterator<Item = HmacKey>) -> Self {
        let store = Self::new();
        for key in keys {
            store.insert(key);
        }
        store
    }

    /// Adds `key`, replacing and returning any key with the same id.
    pub fn insert(&self, key: HmacKey) -> Option<Arc<HmacKey>> {
        self.keys
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.id.clone(), Arc::new(key))
    }

    /// Removes the key `key_id`; requests signed with it are refused from now on.
    pub fn remove(&self, key_id: &str) -> Option<Arc<HmacKey>> {
        self.keys
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key_id)
    }

    /// The ids of `subject`'s keys, sorted.
    #[must_use]
    pub fn key_ids_of(&self, subject: &str) -> Vec<String> {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        let mut ids: Vec<String> = keys
            .values()
            .filter(|k| k.subject == subject)
            .map(|k| k.id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// Number of keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether the store holds no key.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl KeyStore for MemoryKeyStore {
    fn get(&self, key_id: &str) -> Option<Arc<HmacKey>> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key_id)
            .cloned()
    }
}

impl fmt::Debug for MemoryKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryKeyStore")
            .field("keys", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn weak_secrets_and_bad_ids_are_refused() {
        assert_eq!(
            HmacKey::new("k", "c", "short").unwrap_err(),
            ConfigError::WeakSecret { len: 5, min: 32 }
        );
        assert!(HmacKey::dangerous_new_with_short_secret("k", "c", "short").is_ok());
        assert!(HmacKey::dangerous_new_with_short_secret("k", "c", "").is_err());
        for bad in ["", "a\"b", "a\\b", "tab\there", "caf\u{e9}"] {
            assert!(HmacKey::new(bad, "c", SECRET).is_err(), "{bad:?}");
        }
        assert!(HmacKey::new("k", "", SECRET).is_err());
        assert!(HmacKey::new("k".repeat(129), "c", SECRET).is_err());
    }

    #[test]
    fn debug_is_redacted() {
        let key = HmacKey::new("k1", "client", SECRET).unwrap();
        let debug = format!("{key:?}");
        assert!(debug.contains("k1"));
        assert!(!debug.contains(SECRET));
    }

    #[test]
    fn verify_compares_whole_tags() {
        let key = HmacKey::new("k1", "client", SECRET).unwrap();
        let tag = key.mac(&[b"a", b"bc"]);
        assert_eq!(tag, hmac_sha256(SECRET.as_bytes(), &[b"abc"]));
        assert!(key.verify(&[b"abc"], &tag));
        assert!(
            !key.verify(&[b"abc"], &tag[..16]),
            "a truncated tag is refused"
        );
        assert!(!key.verify(&[b"abd"], &tag));
    }

    #[test]
    fn store_rotation() {
        let store = MemoryKeyStore::new();
        assert!(store.is_empty());
        store.insert(HmacKey::new("a", "c", SECRET).unwrap());
        store.insert(HmacKey::new("b", "c", SECRET).unwrap());
        store.insert(HmacKey::new("x", "other", SECRET).unwrap());
        assert_eq!(store.key_ids_of("c"), ["a", "b"]);
        assert!(store.remove("a").is_some());
        assert!(store.get("a").is_none());
        assert_eq!(store.get("b").unwrap().subject(), "c");
        assert_eq!(store.len(), 2);
    }
}
