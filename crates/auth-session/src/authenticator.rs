//! [`SessionAuthenticator`]: a logged-in session as an [`Authenticator`].

use async_trait::async_trait;
use auth_core::{AuthRequest, Authenticator, Challenge, Outcome, Scheme};

use crate::{CookieStatus, SessionManager};

/// Turns the session cookie of a request into a [`Principal`](auth_core::Principal): the
/// logged-in user as subject, the session's scopes, the login time as `authenticated_at`,
/// and the session fingerprint as `key_id` (never the id).
///
/// | the request | outcome |
/// |---|---|
/// | no session cookie, or an anonymous session | `NoCredential` (401 with the `Cookie` challenge) |
/// | a logged-in session | `Authenticated` |
/// | a cookie that is invalid, unknown, logged out or timed out | `Rejected`: 401, reason `session_*` |
/// | the cookie twice | `Rejected`: 400 `duplicate_session_cookie` |
/// | the store is down | `Rejected`: 503 `session_store_unavailable` |
///
/// It reads and refreshes `last_seen`, but it cannot send cookies: with actix-web, prefer
/// `auth-actix`'s `SessionMiddleware`, which also re-issues rotated cookies, saves changes
/// and checks CSRF, and puts the same `Principal` into the request. Use this authenticator
/// alone for read-only APIs, in an `AnyOf` chain, or with other frameworks.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// use auth_core::{authenticate, AuthRequest, HeaderList, Outcome};
/// use auth_session::{CookieKey, CookieKeys, MemoryStore, SessionManager};
///
/// let manager = SessionManager::builder(MemoryStore::default(), CookieKeys::new(CookieKey::generate()?))
///     .build()?;
/// let authenticator = manager.authenticator();
///
/// let headers = HeaderList::new();
/// let request = AuthRequest::new("GET", "/protected", &headers);
/// assert!(matches!(authenticate(&authenticator, &request).await, Outcome::NoCredential));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct SessionAuthenticator {
    manager: SessionManager,
}

impl SessionAuthenticator {
    /// An authenticator over `manager`'s sessions (also [`SessionManager::authenticator`]).
    #[must_use]
    pub fn new(manager: SessionManager) -> Self {
        Self { manager }
    }

    /// The manager.
    #[must_use]
    pub fn manager(&self) -> &SessionManager {
        &self.manager
    }
}

#[async_trait]
impl Authenticator for SessionAuthenticator {
    fn scheme(&self) -> Scheme {
        Scheme::SESSION
    }

    fn challenges(&self) -> &[Challenge] {
        self.manager.challenges()
    }

    async fn authenticate(&self, request: &AuthRequest<'_>) -> Outcome {
        let challenges = self.manager.challenges();
        let session = match self.manager.load(request.headers()).await {
            Ok(session) => session,
            Err(error) => {
                return Outcome::Rejected(
                    error.to_rejection(challenges).with_scheme(Scheme::SESSION),
                );
            }
        };
        let outcome = session.outcome(challenges);
        let refresh = session.touch
            && matches!(
                session.cookie_status(),
                CookieStatus::Valid | CookieStatus::Rotated
            );
        if refresh && let Err(error) = self.manager.commit(session).await {
            return Outcome::Rejected(error.to_rejection(challenges).with_scheme(Scheme::SESSION));
        }
        outcome
    }
}
