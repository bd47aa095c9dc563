//! Authorization codes (RFC 6749 §4.1.2): 256-bit random, stored by SHA-256, single use,
//! bound to the client, the redirect URI, the PKCE challenge and the scopes granted.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use auth_core::{Scopes, SharedClock};

use super::store::{StoreError, TokenHash};

/// What an authorization code stands for, as a [`AuthorizationCodeStore`] keeps it (the
/// code itself is never stored, only its [`TokenHash`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthorizationCodeRecord {
    /// The SHA-256 of the code.
    pub hash: TokenHash,
    /// The client it was issued to.
    pub client_id: String,
    /// The redirect URI it was sent to: the token request must name the same (RFC 6749
    /// §4.1.3).
    pub redirect_uri: String,
    /// The PKCE S256 challenge (RFC 7636). `None` never comes from
    /// [`TokenService::authorize`](super::TokenService::authorize); a record without one
    /// cannot be redeemed.
    pub code_challenge: Option<String>,
    /// The user who approved.
    pub subject: String,
    /// The scopes granted.
    pub scopes: Scopes,
    /// The audience (RFC 8707 resource) of the tokens.
    pub audience: String,
    /// The refresh-token family the redemption creates: revoked if the code is used again.
    pub family_id: String,
    /// The OpenID Connect `nonce`, if sent.
    pub nonce: Option<String>,
    /// When it was issued.
    pub issued_at: SystemTime,
    /// When it expires.
    pub expires_at: SystemTime,
    /// The id (`jti`) of the access token issued on redemption, for revocation on reuse.
    pub access_token_id: Option<String>,
    /// When that access token expires.
    pub access_expires_at: Option<SystemTime>,
}

/// What [`AuthorizationCodeStore::take`] finds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodeTake {
    /// The code was unused; it is now used (atomically: one caller only gets this).
    Fresh(AuthorizationCodeRecord),
    /// The code was already used: a replay. The record says what to revoke.
    Used(AuthorizationCodeRecord),
    /// No such code (never issued, or forgotten after its expiry).
    Unknown,
}

/// Where authorization codes are kept between the authorization and the token requests.
///
/// `take` must be atomic: of two concurrent calls for one code exactly one gets
/// [`CodeTake::Fresh`]. Used codes should be remembered until they expire (plus a while)
/// so a replay is recognised and the first redemption's tokens revoked.
#[async_trait]
pub trait AuthorizationCodeStore: Send + Sync + fmt::Debug + 'static {
    /// Stores a new code.
    async fn insert(&self, record: AuthorizationCodeRecord) -> Result<(), StoreError>;
    /// Marks the code used and returns what it was.
    async fn take(&self, hash: &TokenHash) -> Result<CodeTake, StoreError>;
    /// Records the access token issued for a (used) code. Returns `false` when the code was
    /// presented again since it was taken (a replay raced the first redemption): the
    /// caller then revokes what it issued.
    async fn attach_access_token(
        &self,
        hash: &TokenHash,
        access_token_id: &str,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError>;
}

/// Authorization codes in memory: one process only.
pub struct MemoryAuthorizationCodeStore {
    clock: SharedClock,
    /// record, used, presented again after use
    codes: Mutex<HashMap<[u8; 32], (AuthorizationCodeRecord, bool, bool)>>,
}

impl MemoryAuthorizationCodeStore {
    /// How long a used or expired code is remembered after its expiry, to recognise replays.
    pub const REPLAY_MEMORY: Duration = Duration::from_secs(3600);

    /// An empty store that forgets codes by `clock`.
    #[must_use]
    pub fn new(clock: SharedClock) -> Self {
        Self {
            clock,
            codes: Mutex::new(HashMap::new()),
        }
    }

    /// Number of codes remembered (used or not).
    #[must_use]
    pub fn len(&self) -> usize {
        self.codes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no code is remembered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for MemoryAuthorizationCodeStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryAuthorizationCodeStore")
            .field("codes", &self.len())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl AuthorizationCodeStore for MemoryAuthorizationCodeStore {
    async fn insert(&self, record: AuthorizationCodeRecord) -> Result<(), StoreError> {
        let now = self.clock.now();
        let mut codes = self.codes.lock().unwrap_or_else(PoisonError::into_inner);
        codes.retain(|_, (r, _, _)| r.expires_at + Self::REPLAY_MEMORY > now);
        codes.insert(*record.hash.as_bytes(), (record, false, false));
        Ok(())
    }

    async fn take(&self, hash: &TokenHash) -> Result<CodeTake, StoreError> {
        let mut codes = self.codes.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(match codes.get_mut(hash.as_bytes()) {
            None => CodeTake::Unknown,
            Some((record, used, replayed)) if *used => {
                *replayed = true;
                CodeTake::Used(record.clone())
            }
            Some((record, used, _)) => {
                *used = true;
                CodeTake::Fresh(record.clone())
            }
        })
    }

    async fn attach_access_token(
        &self,
        hash: &TokenHash,
        access_token_id: &str,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError> {
        let mut codes = self.codes.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(match codes.get_mut(hash.as_bytes()) {
            Some((record, _, replayed)) => {
                record.access_token_id = Some(access_token_id.to_owned());
                record.access_expires_at = Some(expires_at);
                !*replayed
            }
            None => true,
        })
    }
}
