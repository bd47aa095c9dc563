//! The opt-in verified-credential cache.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use auth_core::SharedClock;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::{Error, UserRecord};

/// Settings of the verified-credential cache (see
/// [`BasicAuthenticatorBuilder::verified_cache`](crate::BasicAuthenticatorBuilder::verified_cache)).
///
/// # Security
///
/// The trade-off: argon2 exists to make each password guess expensive. While an entry lives,
/// the same (user, password) is accepted after one HMAC-SHA256 instead of one argon2 check.
/// Online guessing gains nothing (a *wrong* password is never cached and still costs a full
/// argon2 check), but someone who can read the process memory gets, for the cached users,
/// a digest they can attack at HMAC speed instead of argon2 speed (the HMAC key is random
/// per process and lives in the same memory). Keep the TTL short; leave the cache off when
/// the process memory is not better protected than the password database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    /// How long a verified credential is remembered (default 60 s, at most 15 minutes).
    pub ttl: Duration,
    /// How many credentials are remembered at most (default 10 000).
    pub max_entries: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(60),
            max_entries: 10_000,
        }
    }
}

impl CacheConfig {
    /// The longest TTL accepted.
    pub const MAX_TTL: Duration = Duration::from_secs(15 * 60);

    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.ttl.is_zero() || self.ttl > Self::MAX_TTL {
            return Err(Error::Config(
                "the verified-credential cache TTL must be between 1 second and 15 minutes",
            ));
        }
        if self.max_entries == 0 {
            return Err(Error::Config(
                "the verified-credential cache needs room for at least one entry",
            ));
        }
        Ok(())
    }
}

struct Entry {
    /// The PHC string the password was verified against: a new password (or a rehash)
    /// changes it, so the entry stops matching at once. Kept whole rather than hashed: the
    /// user store holds the same string, and comparing it costs less than hashing it on
    /// every request.
    password_hash: Box<str>,
    expires: SystemTime,
}

pub(crate) struct VerifiedCache {
    /// HMAC-SHA256 already keyed with a random per-process key: each lookup clones it
    /// instead of deriving the padded key blocks again (two of the four SHA-256 blocks
    /// of a short MAC). The state is as sensitive as the key; the `hmac` crate offers no
    /// way to zeroize it, so it lives, like the entries, until the cache is dropped.
    mac: Hmac<Sha256>,
    config: CacheConfig,
    clock: SharedClock,
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

impl VerifiedCache {
    pub(crate) fn new(config: CacheConfig, clock: SharedClock) -> Result<Self, Error> {
        config.validate()?;
        let mut key = Zeroizing::new([0_u8; 32]);
        getrandom::getrandom(key.as_mut()).map_err(|_| Error::Hash("no OS randomness"))?;
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_ref())
            .map_err(|_| Error::Hash("HMAC key"))?;
        Ok(Self {
            mac,
            config,
            clock,
            entries: Mutex::new(HashMap::new()),
        })
    }

    fn digest(&self, user_id: &str, password: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(&(user_id.len() as u64).to_be_bytes());
        mac.update(user_id.as_bytes());
        mac.update(password);
        mac.finalize().into_bytes().into()
    }

    /// Whether `password` was verified for `record`, with its current hash, within the TTL.
    pub(crate) fn hit(&self, record: &UserRecord, password: &[u8]) -> bool {
        let digest = self.digest(&record.id, password);
        let now = self.clock.now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        match entries.get(&digest) {
            Some(entry) if entry.expires > now => bool::from(
                entry
                    .password_hash
                    .as_bytes()
                    .ct_eq(record.password_hash.as_bytes()),
            ),
            Some(_) => {
                entries.remove(&digest);
                false
            }
            None => false,
        }
    }

    /// Remembers that `password` verified against `record`'s current hash.
    pub(crate) fn remember(&self, record: &UserRecord, password: &[u8]) {
        let digest = self.digest(&record.id, password);
        let now = self.clock.now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.config.max_entries {
            entries.retain(|_, e| e.expires > now);
            if entries.len() >= self.config.max_entries {
                // Still full of live entries: start over rather than grow.
                entries.clear();
            }
        }
        entries.insert(
            digest,
            Entry {
                password_hash: record.password_hash.as_str().into(),
                expires: now + self.config.ttl,
            },
        );
    }

    pub(crate) fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl fmt::Debug for VerifiedCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedCache")
            .field("config", &self.config)
            .field("entries", &self.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use auth_core::ManualClock;

    use super::*;

    fn record(hash: &str) -> UserRecord {
        UserRecord {
            id: "u1".into(),
            username: "alice".into(),
            password_hash: hash.into(),
            scopes: auth_core::Scopes::new(),
            disabled: false,
        }
    }

    #[test]
    fn entries_match_only_the_same_password_and_hash_within_the_ttl() {
        let clock = ManualClock::starting_now();
        let cache = VerifiedCache::new(CacheConfig::default(), clock.shared()).unwrap();
        let alice = record("$argon2id$old");
        cache.remember(&alice, b"pw");
        assert!(cache.hit(&alice, b"pw"));
        assert!(!cache.hit(&alice, b"pw2"));
        assert!(
            !cache.hit(&record("$argon2id$new"), b"pw"),
            "password changed"
        );
        clock.advance(Duration::from_secs(61));
        assert!(!cache.hit(&alice, b"pw"), "expired");
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn size_is_bounded_and_config_checked() {
        let clock = ManualClock::starting_now();
        let config = CacheConfig {
            max_entries: 3,
            ..CacheConfig::default()
        };
        let cache = VerifiedCache::new(config, clock.shared()).unwrap();
        for i in 0..10 {
            cache.remember(&record("h"), format!("pw{i}").as_bytes());
        }
        assert!(cache.len() <= 3);
        let bad = CacheConfig {
            ttl: Duration::from_secs(3600),
            ..CacheConfig::default()
        };
        assert!(VerifiedCache::new(bad, clock.shared()).is_err());
    }
}
