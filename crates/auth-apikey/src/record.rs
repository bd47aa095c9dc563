//! What a store keeps about a key: [`KeyRecord`] = [`KeyHash`] + [`KeyMetadata`].

use std::time::{Duration, SystemTime};

use auth_core::Scopes;

use crate::{ApiKey, KeyHash};

/// Everything known about a key except the key itself: what listings show, what the
/// [`Principal`](auth_core::Principal) carries as an extension, what a handler can extract.
///
/// It holds neither the key nor its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyMetadata {
    /// The public id (`key_` and 12 base62 characters): random, unrelated to the key, safe
    /// for logs, listings and support tickets.
    pub id: String,
    /// Who the key belongs to; the principal's subject.
    pub owner: String,
    /// A human label ("ci deploys", "billing export").
    pub name: String,
    /// What the key may do.
    pub scopes: Scopes,
    /// When it was created.
    pub created_at: SystemTime,
    /// When it stops working, if ever. A rotated key's expiry is its grace deadline.
    pub expires_at: Option<SystemTime>,
    /// When it was last used, to within [`KeyManagerBuilder::last_used_interval`]
    /// (one minute by default).
    ///
    /// [`KeyManagerBuilder::last_used_interval`]: crate::KeyManagerBuilder::last_used_interval
    pub last_used_at: Option<SystemTime>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<SystemTime>,
    /// The id of the key that replaced it, when it was rotated.
    pub rotated_to: Option<String>,
    /// The id of the key it replaced, when it was created by a rotation.
    pub rotated_from: Option<String>,
}

impl KeyMetadata {
    /// Metadata for a new key: never used, not revoked, not rotated, no expiry. For stores
    /// that rebuild records; set the other public fields on the result.
    #[must_use]
    pub fn new(
        id: impl Into<String>,
        owner: impl Into<String>,
        name: impl Into<String>,
        scopes: Scopes,
        created_at: SystemTime,
    ) -> Self {
        Self {
            id: id.into(),
            owner: owner.into(),
            name: name.into(),
            scopes,
            created_at,
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
            rotated_to: None,
            rotated_from: None,
        }
    }

    /// The key's state at `now`.
    #[must_use]
    pub fn status(&self, now: SystemTime) -> KeyStatus {
        if self.revoked_at.is_some() {
            return KeyStatus::Revoked;
        }
        match (self.expires_at, &self.rotated_to) {
            (Some(at), Some(_)) if now >= at => KeyStatus::Rotated,
            (Some(at), _) if now >= at => KeyStatus::Expired,
            (Some(until), Some(_)) => KeyStatus::Grace { until },
            _ => KeyStatus::Active,
        }
    }

    /// Whether the key is accepted at `now` (active, or rotated but within its grace
    /// period).
    #[must_use]
    pub fn is_usable(&self, now: SystemTime) -> bool {
        matches!(
            self.status(now),
            KeyStatus::Active | KeyStatus::Grace { .. }
        )
    }
}

/// A key's state at a given time, from [`KeyMetadata::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyStatus {
    /// Accepted.
    Active,
    /// Rotated; still accepted until `until`.
    Grace {
        /// The grace deadline.
        until: SystemTime,
    },
    /// Past its expiry.
    Expired,
    /// Rotated, and past the grace deadline.
    Rotated,
    /// Revoked.
    Revoked,
}

impl KeyStatus {
    /// A short name: `active`, `grace`, `expired`, `rotated`, `revoked`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Grace { .. } => "grace",
            Self::Expired => "expired",
            Self::Rotated => "rotated",
            Self::Revoked => "revoked",
        }
    }
}

/// A stored key: the hash of the key and its metadata. Never the key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyRecord {
    /// The hash of the key ([`KeyHasher`](crate::KeyHasher)); the store's lookup key.
    pub hash: KeyHash,
    /// Everything else.
    pub metadata: KeyMetadata,
}

impl KeyRecord {
    /// A record (for stores that rebuild records).
    #[must_use]
    pub fn new(hash: KeyHash, metadata: KeyMetadata) -> Self {
        Self { hash, metadata }
    }
}

/// When a new key expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Lifetime {
    /// The manager's [default lifetime](crate::KeyManagerBuilder::default_lifetime).
    #[default]
    Default,
    /// After this long.
    In(Duration),
    /// At this time.
    At(SystemTime),
    /// Never (an explicit choice).
    Never,
}

/// What to create: owner, name, scopes, lifetime. For [`KeyManager::create`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use auth_apikey::NewKey;
///
/// let new = NewKey::new("billing-service", "nightly export")
///     .scopes("invoices:read".parse()?)
///     .expires_in(Duration::from_secs(90 * 24 * 3600));
/// # Ok::<(), auth_core::ScopeError>(())
/// ```
///
/// [`KeyManager::create`]: crate::KeyManager::create
#[derive(Debug, Clone)]
pub struct NewKey {
    pub(crate) owner: String,
    pub(crate) name: String,
    pub(crate) scopes: Scopes,
    lifetime: Lifetime,
}

impl NewKey {
    /// A key for `owner`, labelled `name`, with no scopes and the manager's default lifetime.
    #[must_use]
    pub fn new(owner: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
            name: name.into(),
            scopes: Scopes::new(),
            lifetime: Lifetime::Default,
        }
    }

    /// Sets the scopes.
    #[must_use]
    pub fn scopes(mut self, scopes: Scopes) -> Self {
        self.scopes = scopes;
        self
    }

    /// Expires `lifetime` after creation.
    #[must_use]
    pub fn expires_in(mut self, lifetime: Duration) -> Self {
        self.lifetime = Lifetime::In(lifetime);
        self
    }

    /// Expires at `at`.
    #[must_use]
    pub fn expires_at(mut self, at: SystemTime) -> Self {
        self.lifetime = Lifetime::At(at);
        self
    }

    /// Never expires (it can still be revoked or rotated). Prefer an expiry: a forgotten key
    /// that never expires is a standing risk.
    #[must_use]
    pub fn never_expires(mut self) -> Self {
        self.lifetime = Lifetime::Never;
        self
    }

    /// The expiry for a key created at `now`, given the manager's default.
    pub(crate) fn expiry(&self, now: SystemTime, default: Option<Duration>) -> Option<SystemTime> {
        match self.lifetime {
            Lifetime::Default => default.and_then(|d| now.checked_add(d)),
            Lifetime::In(d) => Some(now.checked_add(d).unwrap_or(now)),
            Lifetime::At(at) => Some(at),
            Lifetime::Never => None,
        }
    }
}

/// A key just made: the plaintext (shown once, never stored) and its metadata.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CreatedKey {
    /// The key in plain text. Hand it to its owner now: it cannot be shown again.
    pub key: ApiKey,
    /// Its metadata, as stored.
    pub metadata: KeyMetadata,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn status_follows_time_revocation_and_rotation() {
        let mut meta = KeyMetadata::new("key_1", "o", "n", Scopes::new(), at(0));
        assert_eq!(meta.status(at(5)), KeyStatus::Active);
        meta.expires_at = Some(at(10));
        assert_eq!(meta.status(at(9)), KeyStatus::Active);
        assert_eq!(
            meta.status(at(10)),
            KeyStatus::Expired,
            "expiry is exclusive"
        );
        meta.rotated_to = Some("key_2".into());
        assert_eq!(meta.status(at(9)), KeyStatus::Grace { until: at(10) });
        assert!(meta.is_usable(at(9)));
        assert_eq!(meta.status(at(10)), KeyStatus::Rotated);
        assert!(!meta.is_usable(at(10)));
        meta.revoked_at = Some(at(3));
        assert_eq!(meta.status(at(4)), KeyStatus::Revoked);
    }

    #[test]
    fn lifetimes() {
        let day = Duration::from_secs(86_400);
        let new = NewKey::new("o", "n");
        assert_eq!(new.expiry(at(0), Some(day)), Some(at(86_400)));
        assert_eq!(new.expiry(at(0), None), None);
        assert_eq!(new.clone().never_expires().expiry(at(0), Some(day)), None);
        assert_eq!(
            new.clone().expires_in(day).expiry(at(1), None),
            Some(at(86_401))
        );
        assert_eq!(new.expires_at(at(7)).expiry(at(1), Some(day)), Some(at(7)));
    }
}
