//! [`Session`]: one request's view of its session, with change tracking.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use auth_core::{Challenge, Outcome, Principal, Rejection, Scheme, Scopes};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{CsrfToken, Error, SessionHash, SessionId, SessionRecord};

/// The data key flash messages live under (keys starting with `$` are reserved).
pub(crate) const FLASH_KEY: &str = "$flash";

/// How the request's session cookie was received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CookieStatus {
    /// No session cookie.
    Absent,
    /// A valid cookie for a live session, made with the current key.
    Valid,
    /// A valid cookie made with a previous key: the response re-issues it under the current
    /// key.
    Rotated,
    /// A cookie that is not honoured; the response removes it.
    Refused(Refusal),
}

/// Why a session cookie was not honoured. The audit log gets [`Refusal::reason`]; the
/// client sees no session, whatever the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// Malformed, tampered with, or made with a key not in the ring.
    InvalidCookie,
    /// No live session has this id: never issued, logged out, evicted, or expired in the
    /// store.
    NotFound,
    /// Unused for longer than the idle timeout.
    IdleTimeout,
    /// Older than the absolute timeout.
    AbsoluteTimeout,
}

impl Refusal {
    /// The audit reason: `session_cookie_invalid`, `session_not_found`,
    /// `session_idle_timeout`, `session_absolute_timeout`.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::InvalidCookie => "session_cookie_invalid",
            Refusal::NotFound => "session_not_found",
            Refusal::IdleTimeout => "session_idle_timeout",
            Refusal::AbsoluteTimeout => "session_absolute_timeout",
        }
    }
}

/// How prominent a [`Flash`] message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum FlashLevel {
    /// Neutral information.
    Info,
    /// Something worked.
    Success,
    /// Something needs attention.
    Warning,
    /// Something failed.
    Error,
}

/// A message for the next request that reads it (after a redirect, typically).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    /// How prominent it is.
    pub level: FlashLevel,
    /// The text.
    pub message: String,
}

/// The session record as it exists in the store, when it does.
#[derive(Clone)]
struct Stored {
    id: SessionId,
    hash: SessionHash,
}

/// The data a request starts from.
#[derive(Clone)]
enum Base {
    /// The stored record's, shared with the store (which changes it copy-on-write): a
    /// load copies nothing.
    Stored(Arc<SessionRecord>),
    /// A map of its own: a new session, or the data carried over to a new id.
    Own(BTreeMap<String, String>),
}

impl Base {
    fn map(&self) -> &BTreeMap<String, String> {
        match self {
            Base::Stored(record) => &record.data,
            Base::Own(map) => map,
        }
    }
}

/// The session as this request sees it.
#[derive(Clone)]
struct Current {
    /// `Some` while the session is the stored one; `None` for a session this request creates
    /// (new, or a new id after login or renewal).
    stored: Option<Stored>,
    /// The user of a session with data of its own; while the data is the stored record's
    /// (`base` is [`Base::Stored`]), the record's user is read instead (no copy).
    user: Option<String>,
    scopes: Scopes,
    created_at: SystemTime,
    authenticated_at: Option<SystemTime>,
    csrf: Option<CsrfToken>,
    /// The data as loaded (or carried over to a new id).
    base: Base,
    /// This request's changes: `Some` sets, `None` removes.
    changes: BTreeMap<String, Option<String>>,
}

impl Current {
    fn new(now: SystemTime) -> Self {
        Self {
            stored: None,
            user: None,
            scopes: Scopes::new(),
            created_at: now,
            authenticated_at: None,
            csrf: None,
            base: Base::Own(BTreeMap::new()),
            changes: BTreeMap::new(),
        }
    }

    fn user(&self) -> Option<&str> {
        match &self.base {
            Base::Stored(record) => record.user.as_deref(),
            Base::Own(_) => self.user.as_deref(),
        }
    }

    fn value(&self, key: &str) -> Option<&str> {
        match self.changes.get(key) {
            Some(change) => change.as_deref(),
            None => self.base.map().get(key).map(String::as_str),
        }
    }

    /// The data with this request's changes applied.
    fn merged(&self) -> BTreeMap<String, String> {
        let mut data = self.base.map().clone();
        for (key, change) in &self.changes {
            match change {
                Some(value) => data.insert(key.clone(), value.clone()),
                None => data.remove(key),
            };
        }
        data
    }

    fn data_len_with(&self, key: &str, value: &str) -> usize {
        let mut len = key.len() + value.len();
        for (k, v) in self.base.map() {
            if k != key && !self.changes.contains_key(k) {
                len += k.len() + v.len();
            }
        }
        for (k, v) in &self.changes {
            if k != key
                && let Some(v) = v
            {
                len += k.len() + v.len();
            }
        }
        len
    }

    /// Moves the session to a new id: the old record goes, the data comes along.
    fn detach(&mut self, doomed: &mut Vec<SessionHash>) {
        if let Some(stored) = self.stored.take() {
            doomed.push(stored.hash);
        }
        if let Base::Stored(record) = &self.base {
            self.user.clone_from(&record.user);
        }
        self.base = Base::Own(self.merged());
        self.changes.clear();
        self.csrf = None;
    }
}

/// One request's view of its session: read and write typed values, flash messages, log in
/// and out. Nothing is written until [`SessionManager::commit`](crate::SessionManager::commit),
/// which stores only the keys this request changed and says which `Set-Cookie` to send.
///
/// A session that does not exist yet is created only when something is written (a value, a
/// flash message, a login, or a request for its CSRF token).
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// use auth_core::HeaderList;
/// use auth_session::{CookieKey, CookieKeys, MemoryStore, SessionManager};
///
/// let manager = SessionManager::builder(MemoryStore::default(), CookieKeys::new(CookieKey::generate()?))
///     .build()?;
/// let mut session = manager.load(&HeaderList::new()).await?;
/// session.insert("theme", "dark")?;
/// assert_eq!(session.get::<String>("theme")?.as_deref(), Some("dark"));
/// let set_cookie = manager.commit(session).await?.expect("a new session sets a cookie");
/// assert!(set_cookie.expose_header_value().starts_with("__Host-id="));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Session {
    current: Option<Current>,
    /// Records to delete at commit (the old id after login or renewal, logout).
    pub(crate) doomed: Vec<SessionHash>,
    /// "Log out everywhere": every session of this user goes at commit.
    pub(crate) logout_user: Option<String>,
    pub(crate) logged_out: bool,
    /// A login happened in this request (for the lifecycle event).
    pub(crate) logged_in: bool,
    cookie: CookieStatus,
    /// The hash of the id the request presented, when its cookie opened.
    presented: Option<SessionHash>,
    /// `last_seen` is old enough to be refreshed at commit.
    pub(crate) touch: bool,
    now: SystemTime,
    max_data_bytes: usize,
}

impl Session {
    pub(crate) fn empty(
        now: SystemTime,
        cookie: CookieStatus,
        presented: Option<SessionHash>,
        max_data_bytes: usize,
    ) -> Self {
        Self {
            current: None,
            doomed: Vec::new(),
            logout_user: None,
            logged_out: false,
            logged_in: false,
            cookie,
            presented,
            touch: false,
            now,
            max_data_bytes,
        }
    }

    pub(crate) fn from_record(
        id: SessionId,
        record: Arc<SessionRecord>,
        now: SystemTime,
        cookie: CookieStatus,
        touch: bool,
        max_data_bytes: usize,
    ) -> Self {
        let hash = record.hash;
        let mut session = Self::empty(now, cookie, Some(hash), max_data_bytes);
        session.touch = touch;
        session.current = Some(Current {
            stored: Some(Stored { id, hash }),
            user: None,
            scopes: record.scopes.clone(),
            created_at: record.created_at,
            authenticated_at: record.authenticated_at,
            csrf: Some(record.csrf_token.clone()),
            base: Base::Stored(record),
            changes: BTreeMap::new(),
        });
        session
    }

    fn current_mut(&mut self) -> &mut Current {
        let now = self.now;
        self.current.get_or_insert_with(|| Current::new(now))
    }

    /// The value under `key`, read as `T`.
    ///
    /// # Errors
    ///
    /// [`Error::Value`] when the stored JSON is not a `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        let Some(text) = self.current.as_ref().and_then(|c| c.value(key)) else {
            return Ok(None);
        };
        serde_json::from_str(text)
            .map(Some)
            .map_err(|source| Error::Value {
                key: key.to_owned(),
                source,
            })
    }

    /// Whether there is a value under `key`.
    #[must_use]
    pub fn contains_key(&self, key: &str) -> bool {
        self.current.as_ref().and_then(|c| c.value(key)).is_some()
    }

    /// The keys that hold values (reserved ones included), sorted.
    #[must_use]
    pub fn keys(&self) -> Vec<String> {
        self.current
            .as_ref()
            .map(|c| c.merged().into_keys().collect())
            .unwrap_or_default()
    }

    /// Stores `value` under `key` (as JSON). Creates the session if there is none.
    ///
    /// # Errors
    ///
    /// [`Error::ReservedKey`] for keys starting with `$`; [`Error::Value`] when `value`
    /// cannot be serialized; [`Error::DataTooLarge`] past the data limit (nothing changes
    /// then).
    pub fn insert<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        if key.starts_with('$') {
            return Err(Error::ReservedKey(key.to_owned()));
        }
        self.insert_json(key, value)
    }

    fn insert_json<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        let text = serde_json::to_string(value).map_err(|source| Error::Value {
            key: key.to_owned(),
            source,
        })?;
        let max = self.max_data_bytes;
        let current = self.current_mut();
        let len = current.data_len_with(key, &text);
        if len > max {
            return Err(Error::DataTooLarge { len, max });
        }
        current.changes.insert(key.to_owned(), Some(text));
        Ok(())
    }

    /// Removes the value under `key`; returns whether there was one.
    pub fn remove(&mut self, key: &str) -> bool {
        let Some(current) = self.current.as_mut() else {
            return false;
        };
        let existed = current.value(key).is_some();
        if existed {
            current.changes.insert(key.to_owned(), None);
        }
        existed
    }

    /// Adds a flash message for the next request that reads them.
    ///
    /// # Errors
    ///
    /// [`Error::DataTooLarge`] past the data limit.
    pub fn flash(&mut self, level: FlashLevel, message: impl Into<String>) -> Result<(), Error> {
        let mut flashes: Vec<Flash> = self.get(FLASH_KEY)?.unwrap_or_default();
        flashes.push(Flash {
            level,
            message: message.into(),
        });
        self.insert_json(FLASH_KEY, &flashes)
    }

    /// Takes the pending flash messages: they are removed, so each is shown once.
    ///
    /// # Errors
    ///
    /// [`Error::Value`] when the stored messages are unreadable (they are dropped).
    pub fn take_flashes(&mut self) -> Result<Vec<Flash>, Error> {
        let flashes = self.get(FLASH_KEY);
        self.remove(FLASH_KEY);
        flashes.map(Option::unwrap_or_default)
    }

    /// The logged-in user, if any.
    #[must_use]
    pub fn user(&self) -> Option<&str> {
        self.current.as_ref().and_then(Current::user)
    }

    /// The scopes of the logged-in user for this session (empty when nobody is logged in).
    #[must_use]
    pub fn scopes(&self) -> Scopes {
        self.current
            .as_ref()
            .map(|c| c.scopes.clone())
            .unwrap_or_default()
    }

    /// When the user logged in.
    #[must_use]
    pub fn authenticated_at(&self) -> Option<SystemTime> {
        self.current.as_ref().and_then(|c| c.authenticated_at)
    }

    /// Logs `user` in, with no scopes. See [`Session::login_with_scopes`].
    pub fn login(&mut self, user: impl Into<String>) {
        self.login_with_scopes(user, Scopes::new());
    }

    /// Logs `user` in with `scopes`, under a **new session id** (OWASP: renew the id on any
    /// privilege change, so an id planted before login is worthless after it). The old
    /// record is deleted at commit.
    ///
    /// The data comes along to the new id when the session was anonymous or already this
    /// user's (a cart filled before login survives it); it is dropped when another user was
    /// logged in, so nothing leaks from one account to the next.
    pub fn login_with_scopes(&mut self, user: impl Into<String>, scopes: Scopes) {
        let user = user.into();
        let now = self.now;
        let mut next = Current::new(now);
        if let Some(mut previous) = self.current.take() {
            let same_user = previous.user().is_none_or(|u| u == user);
            previous.detach(&mut self.doomed);
            if same_user {
                next.base = previous.base;
            }
        }
        next.user = Some(user);
        next.scopes = scopes;
        next.authenticated_at = Some(now);
        self.current = Some(next);
        self.logged_in = true;
    }

    /// Changes the logged-in user's scopes for this session, under a new id (a privilege
    /// change).
    ///
    /// # Errors
    ///
    /// [`Error::NotLoggedIn`] when nobody is logged in.
    pub fn set_scopes(&mut self, scopes: Scopes) -> Result<(), Error> {
        if self.user().is_none() {
            return Err(Error::NotLoggedIn);
        }
        self.renew();
        if let Some(current) = self.current.as_mut() {
            current.scopes = scopes;
        }
        Ok(())
    }

    /// Moves the session to a new id, keeping its user, data and timeouts (the absolute
    /// timeout still counts from the original login), with a new CSRF token. Call it on any
    /// privilege change the library does not see (sudo mode, a role switch).
    pub fn renew(&mut self) {
        if let Some(current) = self.current.as_mut() {
            current.detach(&mut self.doomed);
        }
    }

    /// Ends the session: its record is deleted and the cookie removed at commit. Values
    /// written after this start a new, anonymous session.
    pub fn logout(&mut self) {
        if let Some(mut current) = self.current.take() {
            current.detach(&mut self.doomed);
        }
        self.logged_out = true;
    }

    /// Logs the user out of every session they have, this one included.
    pub fn logout_everywhere(&mut self) {
        if let Some(user) = self.user() {
            self.logout_user = Some(user.to_owned());
        }
        self.logout();
    }

    /// The session's CSRF token, for pages to send back on unsafe requests (header or form
    /// field). Creates the session if there is none: a token must be bound to something.
    /// After a login or renewal in this request it is the new session's token.
    ///
    /// # Errors
    ///
    /// [`Error::Random`] when the random generator fails.
    pub fn csrf_token(&mut self) -> Result<String, Error> {
        let current = self.current_mut();
        if current.csrf.is_none() {
            current.csrf = Some(CsrfToken::generate()?);
        }
        Ok(current
            .csrf
            .as_ref()
            .map(CsrfToken::expose_base64url)
            .unwrap_or_default())
    }

    /// The token of the stored session the request carries, if it carries one.
    pub(crate) fn stored_csrf_token(&self) -> Option<&CsrfToken> {
        self.current
            .as_ref()
            .filter(|c| c.stored.is_some())
            .and_then(|c| c.csrf.as_ref())
    }

    /// How the request's cookie was received.
    #[must_use]
    pub fn cookie_status(&self) -> CookieStatus {
        self.cookie
    }

    /// The public fingerprint of the stored session the request carries (see
    /// [`SessionHash::fingerprint`]); `None` before the session is stored.
    #[must_use]
    pub fn fingerprint(&self) -> Option<String> {
        self.stored_hash().map(|h| h.fingerprint())
    }

    /// Whether the request carries a live, stored session (and still does: not logged out
    /// or moved to a new id in this request).
    #[must_use]
    pub fn is_stored(&self) -> bool {
        self.stored_hash().is_some()
    }

    /// Whether there is no session at all (nothing stored, nothing written).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.current.is_none()
    }

    fn stored_hash(&self) -> Option<SessionHash> {
        self.current
            .as_ref()
            .and_then(|c| c.stored.as_ref())
            .map(|s| s.hash)
    }

    /// The principal of the stored, logged-in session the request carries: the user as
    /// subject, the session's scopes, the login time, and the session fingerprint as
    /// `key_id` (never the id).
    #[must_use]
    pub fn principal(&self) -> Option<Principal> {
        let current = self.current.as_ref()?;
        let stored = current.stored.as_ref()?;
        let user = current.user()?;
        let mut principal = Principal::new(user, Scheme::SESSION)
            .with_scopes(current.scopes.clone())
            .with_key_id(stored.hash.fingerprint());
        if let Some(at) = current.authenticated_at {
            principal = principal.with_authenticated_at(at);
        }
        Some(principal)
    }

    /// The authentication decision the request's cookie amounts to: `Authenticated` for a
    /// logged-in session, `Rejected` (401, with the audit reason) for a refused cookie,
    /// `NoCredential` otherwise (no cookie, or an anonymous session).
    #[must_use]
    pub fn outcome(&self, challenges: &[Challenge]) -> Outcome {
        match self.cookie {
            CookieStatus::Refused(refusal) => {
                let mut rejection =
                    Rejection::invalid_credentials(challenges.to_vec(), refusal.reason())
                        .with_scheme(Scheme::SESSION);
                if let Some(hash) = self.presented {
                    rejection = rejection.with_key_id(hash.fingerprint());
                }
                Outcome::Rejected(rejection)
            }
            CookieStatus::Absent => Outcome::NoCredential,
            CookieStatus::Valid | CookieStatus::Rotated => match self.principal() {
                Some(principal) => Outcome::Authenticated(principal),
                None => Outcome::NoCredential,
            },
        }
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.now
    }

    /// When the current session was created (the absolute timeout's base).
    pub(crate) fn created_at(&self) -> Option<SystemTime> {
        self.current.as_ref().map(|c| c.created_at)
    }

    /// What commit has to do with the current session.
    pub(crate) fn plan(&self) -> Plan<'_> {
        match &self.current {
            None => Plan::Nothing,
            Some(current) => match &current.stored {
                Some(stored) => Plan::Update {
                    id: &stored.id,
                    hash: stored.hash,
                    changes: &current.changes,
                },
                None => Plan::Create(NewSession {
                    user: current.user(),
                    scopes: &current.scopes,
                    created_at: current.created_at,
                    authenticated_at: current.authenticated_at,
                    csrf: current.csrf.as_ref(),
                    data: current.merged(),
                }),
            },
        }
    }
}

/// What [`SessionManager::commit`](crate::SessionManager::commit) does with the current
/// session.
pub(crate) enum Plan<'a> {
    /// There is none.
    Nothing,
    /// Apply this request's changes to the stored record.
    Update {
        id: &'a SessionId,
        hash: SessionHash,
        changes: &'a BTreeMap<String, Option<String>>,
    },
    /// Store a new record under a new id.
    Create(NewSession<'a>),
}

pub(crate) struct NewSession<'a> {
    pub(crate) user: Option<&'a str>,
    pub(crate) scopes: &'a Scopes,
    pub(crate) created_at: SystemTime,
    pub(crate) authenticated_at: Option<SystemTime>,
    pub(crate) csrf: Option<&'a CsrfToken>,
    pub(crate) data: BTreeMap<String, String>,
}

impl NewSession<'_> {
    /// Nothing worth storing: no user, no data, no token handed out.
    pub(crate) fn is_blank(&self) -> bool {
        self.user.is_none() && self.data.is_empty() && self.csrf.is_none()
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No id, no token, no values: only what is safe in a log.
        f.debug_struct("Session")
            .field("cookie", &self.cookie)
            .field("fingerprint", &self.fingerprint())
            .field("user", &self.user())
            .field("keys", &self.keys())
            .field("logged_out", &self.logged_out)
            .finish_non_exhaustive()
    }
}
