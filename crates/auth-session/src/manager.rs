//! [`SessionManager`]: loads a request's session and commits its changes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use auth_core::{Challenge, HeaderSource, SharedClock, SystemClock};

use crate::codec::{CookieCodec, CookieSettings};
use crate::session::Plan;
use crate::{
    ConfigError, CookieKeys, CookieProtection, CookieStatus, CsrfConfig, CsrfToken, Error, Refusal,
    SameSite, Session, SessionAuthenticator, SessionId, SessionInfo, SessionRecord, SessionStore,
    SessionUpdate, SetCookie, StoreError, Touch,
};

/// The default idle timeout: 30 minutes (OWASP Session Management Cheat Sheet: 15 to 30
/// minutes for most applications; shorter for high-value ones).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The default absolute timeout: 12 hours (OWASP: 4 to 8 hours for office-hours use, longer
/// for all-day use; 12 hours covers a working day without a second login).
pub const DEFAULT_ABSOLUTE_TIMEOUT: Duration = Duration::from_secs(12 * 60 * 60);

/// The default touch interval: `last_seen` is written at most once a minute per session, not
/// on every request (capped at a quarter of the idle timeout).
pub const DEFAULT_TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// The default limit on a session's data (keys and JSON values): 64 KiB.
pub const DEFAULT_MAX_DATA_BYTES: usize = 64 * 1024;

/// How long a store keeps a session past its deadline (its `expires_at` is this much later).
/// The manager enforces the timeouts itself, to the second; the grace lets it still see a
/// just-expired record, delete it, and audit *why* the session ended
/// (`session_idle_timeout`, `session_absolute_timeout`) instead of `session_not_found`.
pub const EXPIRY_GRACE: Duration = Duration::from_secs(5 * 60);

/// The default realm of the `Cookie` challenge a 401 carries.
pub const DEFAULT_REALM: &str = "app";

/// The tracing target of lifecycle events (login, renewal, logout, evictions). They name
/// sessions by fingerprint, never by id.
pub const LIFECYCLE_TARGET: &str = "auth::session";

struct Inner {
    store: Arc<dyn SessionStore>,
    codec: CookieCodec,
    clock: SharedClock,
    idle_timeout: Duration,
    absolute_timeout: Duration,
    touch_interval: Duration,
    max_per_user: Option<usize>,
    max_data_bytes: usize,
    csrf: CsrfConfig,
    challenges: Vec<Challenge>,
}

/// Loads each request's [`Session`] from its cookie and commits what the request changed:
/// the framework-free core that `auth-actix`'s `SessionMiddleware` (and any other adapter)
/// drives.
///
/// Build it once with [`SessionManager::builder`]; clones share everything.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// use auth_core::HeaderList;
/// use auth_session::{CookieKey, CookieKeys, MemoryStore, SessionManager};
///
/// let manager = SessionManager::builder(MemoryStore::default(), CookieKeys::new(CookieKey::generate()?))
///     .max_sessions_per_user(5)
///     .build()?;
///
/// // Log in: a new id, a cookie.
/// let mut session = manager.load(&HeaderList::new()).await?;
/// session.login("user-123");
/// let cookie = manager.commit(session).await?.unwrap();
///
/// // The next request carries it.
/// let pair = cookie.expose_header_value().split(';').next().unwrap().to_owned();
/// let session = manager.load(&HeaderList::new().with("Cookie", pair)).await?;
/// assert_eq!(session.user(), Some("user-123"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SessionManager {
    inner: Arc<Inner>,
}

impl SessionManager {
    /// A builder with the secure defaults, storing sessions in `store` and protecting
    /// cookies with `keys`.
    #[must_use]
    pub fn builder(store: impl SessionStore, keys: CookieKeys) -> SessionManagerBuilder {
        SessionManagerBuilder {
            store: Arc::new(store),
            keys,
            clock: None,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            absolute_timeout: DEFAULT_ABSOLUTE_TIMEOUT,
            touch_interval: None,
            max_per_user: None,
            max_data_bytes: DEFAULT_MAX_DATA_BYTES,
            cookie: CookieSettings::default(),
            csrf: CsrfConfig::new(),
            realm: DEFAULT_REALM.to_owned(),
        }
    }

    /// The session the request carries, from its `Cookie` header(s).
    ///
    /// A missing, invalid (bad signature, unknown key), unknown or timed-out cookie gives an
    /// empty session; [`Session::cookie_status`] says which, and the commit removes a
    /// refused cookie. An expired session's record is deleted.
    ///
    /// # Errors
    ///
    /// [`Error::DuplicateCookie`] when the request carries the cookie twice (or under
    /// case-variant names): refuse the request (400) rather than pick one.
    /// [`Error::Store`] when the store fails (503).
    pub async fn load(&self, headers: &dyn HeaderSource) -> Result<Session, Error> {
        let inner = &*self.inner;
        let now = inner.clock.now();
        let max_data = inner.max_data_bytes;
        let Some(value) = inner.codec.find(headers)? else {
            return Ok(Session::empty(now, CookieStatus::Absent, None, max_data));
        };
        let refused =
            |refusal, hash| Session::empty(now, CookieStatus::Refused(refusal), hash, max_data);
        let Some(opened) = inner.codec.open(&value) else {
            return Ok(refused(Refusal::InvalidCookie, None));
        };
        let hash = opened.id.hash();
        // An in-process store answers at once and shares the record; others are awaited.
        let loaded = match inner.store.load_now(&hash) {
            Some(result) => result?,
            None => inner.store.load(&hash).await?.map(Arc::new),
        };
        let Some(record) = loaded else {
            return Ok(refused(Refusal::NotFound, Some(hash)));
        };
        if let Some(refusal) = self.expired(&record, now) {
            if let Err(error) = inner.store.delete(&hash).await {
                tracing::warn!(
                    target: LIFECYCLE_TARGET,
                    session = %hash.fingerprint(),
                    %error,
                    "could not delete an expired session"
                );
            }
            return Ok(refused(refusal, Some(hash)));
        }
        let idle_for = now.duration_since(record.last_seen).unwrap_or_default();
        let touch = idle_for >= inner.touch_interval;
        let status = if opened.rotated {
            CookieStatus::Rotated
        } else {
            CookieStatus::Valid
        };
        Ok(Session::from_record(
            opened.id, record, now, status, touch, max_data,
        ))
    }

    /// Which timeout, if any, has ended `record` at `now`.
    fn expired(&self, record: &SessionRecord, now: SystemTime) -> Option<Refusal> {
        let inner = &*self.inner;
        let age = now.duration_since(record.created_at).unwrap_or_default();
        let idle = now.duration_since(record.last_seen).unwrap_or_default();
        if age >= inner.absolute_timeout {
            Some(Refusal::AbsoluteTimeout)
        } else if idle >= inner.idle_timeout {
            Some(Refusal::IdleTimeout)
        } else {
            None
        }
    }

    /// When the store may forget a session: [`EXPIRY_GRACE`] after the earlier of its idle
    /// and absolute deadlines.
    fn expires_at(&self, created_at: SystemTime, last_seen: SystemTime) -> SystemTime {
        let inner = &*self.inner;
        (last_seen + inner.idle_timeout).min(created_at + inner.absolute_timeout) + EXPIRY_GRACE
    }

    /// Writes what the request changed and says which `Set-Cookie` to send, if any.
    ///
    /// In order: records replaced by a login or renewal, or ended by a logout, are deleted
    /// ("log out everywhere" deletes all of the user's); then a new session is inserted
    /// (with the per-user cap applied), or the changed keys of the existing one are saved.
    ///
    /// | the request | `Set-Cookie` |
    /// |---|---|
    /// | created a session, logged in, renewed | the new cookie |
    /// | used a cookie made with a previous key | the same id under the current key |
    /// | logged out; sent a refused cookie; its session vanished meanwhile | the removal |
    /// | anything else | none |
    ///
    /// # Errors
    ///
    /// [`Error::Store`] (503); [`Error::Random`]; [`Error::CookieTooLarge`]. The
    /// response must then not claim success: adapters replace it with a 503.
    ///
    /// A commit that needs no store write (the common read-only request: nothing changed,
    /// `last_seen` fresh enough) completes at the first poll and its future is a few words;
    /// only one that writes boxes the store work.
    pub fn commit(
        &self,
        session: Session,
    ) -> impl Future<Output = Result<Option<SetCookie>, Error>> + Send + '_ {
        match self.commit_now(session) {
            Step::Done(result) => Commit::Done(Some(result)),
            Step::Store(session) => Commit::Store(Box::pin(self.commit_with_store(*session))),
        }
    }

    /// Commit's answer when the session needs no store write, or the session back when it
    /// does.
    fn commit_now(&self, session: Session) -> Step {
        if !session.doomed.is_empty() || session.logout_user.is_some() || session.touch {
            return Step::Store(Box::new(session));
        }
        let inner = &*self.inner;
        let presented = !matches!(session.cookie_status(), CookieStatus::Absent);
        let removal = || (presented || session.logged_out).then(|| inner.codec.removal());
        let result = match session.plan() {
            Plan::Nothing => Ok(removal()),
            Plan::Create(new) if new.is_blank() => Ok(removal()),
            Plan::Update { id, changes, .. } if changes.is_empty() => {
                if session.cookie_status() == CookieStatus::Rotated {
                    inner.codec.issue(id).map(Some)
                } else {
                    Ok(None)
                }
            }
            Plan::Create(_) | Plan::Update { .. } => return Step::Store(Box::new(session)),
        };
        Step::Done(result)
    }

    /// The commit that writes to the store.
    async fn commit_with_store(&self, session: Session) -> Result<Option<SetCookie>, Error> {
        let inner = &*self.inner;
        let now = session.now();
        for hash in &session.doomed {
            inner.store.delete(hash).await?;
        }
        if let Some(user) = &session.logout_user {
            let ended = inner.store.delete_user(user, None).await?;
            tracing::info!(
                target: LIFECYCLE_TARGET,
                event = "logout_everywhere",
                subject = %user,
                ended,
                "logged out everywhere"
            );
        } else if session.logged_out
            && let Some(old) = session.doomed.first()
        {
            tracing::info!(
                target: LIFECYCLE_TARGET,
                event = "logout",
                session = %old.fingerprint(),
                "logged out"
            );
        }
        let presented = !matches!(session.cookie_status(), CookieStatus::Absent);
        let removal = || {
            (presented || session.logged_out || !session.doomed.is_empty())
                .then(|| inner.codec.removal())
        };
        match session.plan() {
            Plan::Nothing => Ok(removal()),
            Plan::Create(new) if new.is_blank() => Ok(removal()),
            Plan::Create(new) => {
                let id = SessionId::generate()?;
                let csrf_token = match new.csrf {
                    Some(token) => token.clone(),
                    None => CsrfToken::generate()?,
                };
                let record = SessionRecord {
                    hash: id.hash(),
                    user: new.user.map(str::to_owned),
                    scopes: new.scopes.clone(),
                    created_at: new.created_at,
                    authenticated_at: new.authenticated_at,
                    last_seen: now,
                    expires_at: self.expires_at(new.created_at, now),
                    csrf_token,
                    data: new.data,
                };
                let fingerprint = record.hash.fingerprint();
                let cap = record.user.as_ref().and(inner.max_per_user);
                let user = record.user.clone();
                let evicted = match inner.store.insert(record, cap).await {
                    Err(StoreError::Duplicate) => return Err(Error::Random),
                    other => other?,
                };
                if let Some(user) = &user {
                    tracing::info!(
                        target: LIFECYCLE_TARGET,
                        event = if session.logged_in { "login" } else { "renew" },
                        subject = %user,
                        session = %fingerprint,
                        replaced = session.doomed.first().map(|h| tracing::field::display(h.fingerprint())),
                        "session id issued"
                    );
                }
                if !evicted.is_empty() {
                    let names: Vec<&str> = evicted.iter().map(|e| e.fingerprint.as_str()).collect();
                    tracing::info!(
                        target: LIFECYCLE_TARGET,
                        event = "evicted",
                        subject = user.as_deref().unwrap_or_default(),
                        sessions = ?names,
                        "per-user session cap reached: oldest sessions ended"
                    );
                }
                inner.codec.issue(&id).map(Some)
            }
            Plan::Update { id, hash, changes } => {
                let mut update = SessionUpdate {
                    set: BTreeMap::new(),
                    remove: BTreeSet::new(),
                    touch: None,
                };
                for (key, change) in changes {
                    match change {
                        Some(value) => {
                            update.set.insert(key.clone(), value.clone());
                        }
                        None => {
                            update.remove.insert(key.clone());
                        }
                    }
                }
                if session.touch {
                    update.touch = Some(Touch {
                        last_seen: now,
                        expires_at: self.expires_at(self.created_at_hint(&session), now),
                    });
                }
                if !update.is_empty() && !inner.store.save(&hash, &update).await? {
                    // Logged out or expired while this request ran: stay that way.
                    return Ok(Some(inner.codec.removal()));
                }
                if session.cookie_status() == CookieStatus::Rotated {
                    return inner.codec.issue(id).map(Some);
                }
                Ok(None)
            }
        }
    }

    /// The absolute deadline's base for a stored session: its login (or creation) time.
    fn created_at_hint(&self, session: &Session) -> SystemTime {
        session.created_at().unwrap_or_else(|| session.now())
    }

    /// Ends every session of `user` ("log out everywhere", e.g. after a password change or
    /// from an admin console). Returns how many ended.
    ///
    /// # Errors
    ///
    /// [`Error::Store`].
    pub async fn logout_everywhere(&self, user: &str) -> Result<usize, Error> {
        let ended = self.inner.store.delete_user(user, None).await?;
        tracing::info!(
            target: LIFECYCLE_TARGET,
            event = "logout_everywhere",
            subject = %user,
            ended,
            "logged out everywhere"
        );
        Ok(ended)
    }

    /// The live sessions of `user`, oldest first ("where am I logged in?").
    ///
    /// # Errors
    ///
    /// [`Error::Store`].
    pub async fn sessions_of(&self, user: &str) -> Result<Vec<SessionInfo>, Error> {
        Ok(self.inner.store.list_user(user).await?)
    }

    /// Ends the one session whose fingerprint or hash is `session` if it belongs to `user`
    /// (a "log out that device" button). Returns whether it ended one.
    ///
    /// # Errors
    ///
    /// [`Error::Store`].
    pub async fn end_session(&self, user: &str, session: &str) -> Result<bool, Error> {
        let sessions = self.inner.store.list_user(user).await?;
        let Some(info) = sessions
            .iter()
            .find(|s| s.fingerprint == session || s.hash.to_hex() == session)
        else {
            return Ok(false);
        };
        Ok(self.inner.store.delete(&info.hash).await?)
    }

    /// An [`Authenticator`](auth_core::Authenticator) that turns a logged-in session into a
    /// [`Principal`](auth_core::Principal).
    #[must_use]
    pub fn authenticator(&self) -> SessionAuthenticator {
        SessionAuthenticator::new(self.clone())
    }

    /// The CSRF settings.
    #[must_use]
    pub fn csrf(&self) -> &CsrfConfig {
        &self.inner.csrf
    }

    /// The `WWW-Authenticate` challenges a 401 for a missing session carries:
    /// `Cookie realm="..."` (after the expired draft-broyer-http-cookie-auth; browsers
    /// ignore it, but RFC 9110 §15.5.2 asks every 401 for one).
    #[must_use]
    pub fn challenges(&self) -> &[Challenge] {
        &self.inner.challenges
    }

    /// The cookie's full name, prefix included (`__Host-id`).
    #[must_use]
    pub fn cookie_name(&self) -> &str {
        self.inner.codec.name()
    }

    /// The key ring.
    #[must_use]
    pub fn keys(&self) -> &CookieKeys {
        self.inner.codec.keys()
    }

    /// The idle timeout.
    #[must_use]
    pub fn idle_timeout(&self) -> Duration {
        self.inner.idle_timeout
    }

    /// The absolute timeout.
    #[must_use]
    pub fn absolute_timeout(&self) -> Duration {
        self.inner.absolute_timeout
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.inner.store
    }
}

impl fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("SessionManager")
            .field("store", &inner.store)
            .field("cookie", &inner.codec)
            .field("idle_timeout", &inner.idle_timeout)
            .field("absolute_timeout", &inner.absolute_timeout)
            .field("touch_interval", &inner.touch_interval)
            .field("max_per_user", &inner.max_per_user)
            .field("csrf", &inner.csrf)
            .finish_non_exhaustive()
    }
}

/// What [`SessionManager::commit`] found it has to do.
enum Step {
    /// Nothing in the store: here is the answer.
    Done(Result<Option<SetCookie>, Error>),
    /// Writes to the store (boxed: the rarer path).
    Store(Box<Session>),
}

/// The future [`SessionManager::commit`] returns: ready at once, or the store work, boxed.
enum Commit<'a> {
    Done(Option<Result<Option<SetCookie>, Error>>),
    Store(Pin<Box<dyn Future<Output = Result<Option<SetCookie>, Error>> + Send + 'a>>),
}

impl Future for Commit<'_> {
    type Output = Result<Option<SetCookie>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            // Polled again after it completed: the caller broke the `Future` contract;
            // answer with an error rather than panic.
            Commit::Done(result) => Poll::Ready(result.take().unwrap_or(Err(Error::Random))),
            Commit::Store(future) => future.as_mut().poll(cx),
        }
    }
}

/// Builds a [`SessionManager`]; every setting has a secure default, and
/// [`SessionManagerBuilder::build`] refuses inconsistent or insecure ones.
pub struct SessionManagerBuilder {
    store: Arc<dyn SessionStore>,
    keys: CookieKeys,
    clock: Option<SharedClock>,
    idle_timeout: Duration,
    absolute_timeout: Duration,
    touch_interval: Option<Duration>,
    max_per_user: Option<usize>,
    max_data_bytes: usize,
    cookie: CookieSettings,
    csrf: CsrfConfig,
    realm: String,
}

impl SessionManagerBuilder {
    /// Where time comes from (default: the system clock). Give the store the same clock.
    #[must_use]
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Ends a session unused for this long (default [`DEFAULT_IDLE_TIMEOUT`], 30 minutes).
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Ends a session this long after login, however active (default
    /// [`DEFAULT_ABSOLUTE_TIMEOUT`], 12 hours). At least the idle timeout.
    #[must_use]
    pub fn absolute_timeout(mut self, timeout: Duration) -> Self {
        self.absolute_timeout = timeout;
        self
    }

    /// How stale `last_seen` may get before a request writes it again (default
    /// [`DEFAULT_TOUCH_INTERVAL`], at most a quarter of the idle timeout). The idle timeout
    /// is then enforced to within this interval; zero writes on every request.
    #[must_use]
    pub fn touch_interval(mut self, interval: Duration) -> Self {
        self.touch_interval = Some(interval);
        self
    }

    /// Caps each user's concurrent sessions: a login past the cap ends the user's **oldest**
    /// sessions (by login time), so the newest device always gets in. Off by default.
    #[must_use]
    pub fn max_sessions_per_user(mut self, max: usize) -> Self {
        self.max_per_user = Some(max);
        self
    }

    /// The most bytes of keys and JSON values a session may hold (default
    /// [`DEFAULT_MAX_DATA_BYTES`]).
    #[must_use]
    pub fn max_data_bytes(mut self, max: usize) -> Self {
        self.max_data_bytes = max;
        self
    }

    /// The cookie's name without its prefix (default `id`, giving `__Host-id`).
    #[must_use]
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie.base_name = name.into();
        self
    }

    /// Shares the cookie with subdomains of `domain`. This drops the `__Host-` prefix for
    /// `__Secure-` (a `__Host-` cookie may not have a `Domain`), so any subdomain can then
    /// set a cookie of the same name: only use it when every subdomain is trusted.
    #[must_use]
    pub fn cookie_domain(mut self, domain: impl Into<String>) -> Self {
        self.cookie.domain = Some(domain.into());
        self
    }

    /// The `SameSite` attribute (default [`SameSite::Lax`]).
    #[must_use]
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.cookie.same_site = same_site;
        self
    }

    /// Signed (default) or encrypted cookies.
    #[must_use]
    pub fn cookie_protection(mut self, protection: CookieProtection) -> Self {
        self.cookie.protection = protection;
        self
    }

    /// Whether the cookie carries `Secure` (default `true`). `false` is refused by
    /// [`build`](Self::build) unless
    /// [`insecure_dev_cookie_without_secure`](Self::insecure_dev_cookie_without_secure) is
    /// also called.
    #[must_use]
    pub fn cookie_secure(mut self, secure: bool) -> Self {
        self.cookie.secure = secure;
        self
    }

    /// **Local development over plain HTTP only.** Sends the cookie without `Secure` and
    /// without the `__Host-` prefix (browsers refuse a prefixed cookie without `Secure`), so
    /// `http://localhost` works.
    ///
    /// # Security
    ///
    /// Over plain HTTP anyone on the path reads the cookie and takes over the session. Never
    /// use it on a server others reach; tie it to a development flag.
    #[must_use]
    pub fn insecure_dev_cookie_without_secure(mut self) -> Self {
        self.cookie.secure = false;
        self.cookie.insecure_dev = true;
        self
    }

    /// CSRF settings (default [`CsrfConfig::new`]).
    #[must_use]
    pub fn csrf(mut self, csrf: CsrfConfig) -> Self {
        self.csrf = csrf;
        self
    }

    /// The realm of the `Cookie` challenge (default [`DEFAULT_REALM`]).
    #[must_use]
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// Checks the settings and builds the manager.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InsecureCookie`] for a cookie without `Secure` and without the loud
    /// opt-in; [`ConfigError::InvalidCookie`] for a bad name or domain, or `SameSite=None`
    /// without `Secure`; [`ConfigError::InvalidSetting`] for a zero idle timeout, an
    /// absolute timeout shorter than the idle one, a touch interval not shorter than the
    /// idle timeout, a zero cap or data limit; [`ConfigError::InvalidOrigin`] for a bad
    /// trusted origin.
    pub fn build(self) -> Result<SessionManager, ConfigError> {
        let codec = CookieCodec::new(&self.cookie, self.keys)?;
        if self.idle_timeout.is_zero() {
            return Err(ConfigError::InvalidSetting(
                "the idle timeout must be positive",
            ));
        }
        if self.absolute_timeout < self.idle_timeout {
            return Err(ConfigError::InvalidSetting(
                "the absolute timeout must be at least the idle timeout",
            ));
        }
        let touch_interval = match self.touch_interval {
            Some(interval) if interval >= self.idle_timeout => {
                return Err(ConfigError::InvalidSetting(
                    "the touch interval must be shorter than the idle timeout",
                ));
            }
            Some(interval) => interval,
            None => DEFAULT_TOUCH_INTERVAL.min(self.idle_timeout / 4),
        };
        if self.max_per_user == Some(0) {
            return Err(ConfigError::InvalidSetting(
                "the per-user session cap must be at least 1",
            ));
        }
        if self.max_data_bytes == 0 {
            return Err(ConfigError::InvalidSetting(
                "the data limit must be positive",
            ));
        }
        let mut csrf = self.csrf;
        csrf.validate()?;
        Ok(SessionManager {
            inner: Arc::new(Inner {
                store: self.store,
                codec,
                clock: self.clock.unwrap_or_else(SystemClock::shared),
                idle_timeout: self.idle_timeout,
                absolute_timeout: self.absolute_timeout,
                touch_interval,
                max_per_user: self.max_per_user,
                max_data_bytes: self.max_data_bytes,
                csrf,
                challenges: vec![Challenge::new("Cookie").param("realm", self.realm)],
            }),
        })
    }
}

impl fmt::Debug for SessionManagerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionManagerBuilder")
            .field("store", &self.store)
            .field("keys", &self.keys)
            .field("idle_timeout", &self.idle_timeout)
            .field("absolute_timeout", &self.absolute_timeout)
            .field("cookie", &self.cookie)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use auth_core::HeaderList;

    use super::*;
    use crate::{CookieKey, MemoryStore};

    #[tokio::test]
    async fn a_client_chosen_id_is_never_adopted() {
        let store = Arc::new(MemoryStore::default());
        let keys = CookieKeys::new(CookieKey::from_bytes(&[5; 64]).unwrap());
        let manager = SessionManager::builder(Arc::clone(&store), keys)
            .build()
            .unwrap();
        // Even a correctly signed cookie for an id the server never issued (a leaked key, an
        // id from a dump) is not a session, and logging in does not adopt it.
        let chosen = SessionId::from_bytes([42; 32]);
        let planted = manager.inner.codec.issue(&chosen).unwrap();
        let pair = planted.expose_header_value().split(';').next().unwrap();
        let headers = HeaderList::new().with("Cookie", pair);
        let mut session = manager.load(&headers).await.unwrap();
        assert_eq!(
            session.cookie_status(),
            CookieStatus::Refused(Refusal::NotFound)
        );
        session.login("victim");
        let issued = manager.commit(session).await.unwrap().unwrap();
        let value = issued.expose_header_value().split(';').next().unwrap();
        let opened = manager
            .inner
            .codec
            .open(value.split_once('=').unwrap().1)
            .unwrap();
        assert!(opened.id != chosen);
        assert_eq!(store.load(&chosen.hash()).await.unwrap(), None);
        assert!(store.load(&opened.id.hash()).await.unwrap().is_some());
    }
}
