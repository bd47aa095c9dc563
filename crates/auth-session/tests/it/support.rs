//! Shared set-up: a manager on a manual clock, and a client that keeps its cookie.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use auth_core::{HeaderList, ManualClock};
use auth_session::{
    CookieKey, CookieKeys, MemoryStore, Session, SessionHash, SessionInfo, SessionManager,
    SessionManagerBuilder, SessionRecord, SessionStore, SessionUpdate, SetCookie, StoreError,
};

/// A manager, its store and its clock.
pub(crate) struct Fixture {
    pub(crate) clock: ManualClock,
    pub(crate) store: Arc<MemoryStore>,
    pub(crate) manager: SessionManager,
}

pub(crate) fn key(byte: u8) -> CookieKey {
    CookieKey::from_bytes(&[byte; 64]).unwrap()
}

pub(crate) fn clock() -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
}

pub(crate) fn fixture() -> Fixture {
    fixture_with(|builder| builder)
}

pub(crate) fn fixture_with(
    configure: impl FnOnce(SessionManagerBuilder) -> SessionManagerBuilder,
) -> Fixture {
    let clock = clock();
    let store = Arc::new(MemoryStore::new(clock.shared()));
    let builder =
        SessionManager::builder(Arc::clone(&store), CookieKeys::new(key(1))).clock(clock.shared());
    let manager = configure(builder).build().unwrap();
    Fixture {
        clock,
        store,
        manager,
    }
}

/// A client that keeps the session cookie the way a browser does: stores it on
/// `Set-Cookie`, forgets it on a removal, sends it back as `Cookie`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Client {
    pub(crate) cookie: Option<String>,
}

impl Client {
    pub(crate) fn with_cookie(cookie: &str) -> Self {
        Self {
            cookie: Some(cookie.to_owned()),
        }
    }

    pub(crate) fn headers(&self) -> HeaderList {
        let mut headers = HeaderList::new();
        if let Some(cookie) = &self.cookie {
            headers.push("Cookie", cookie.as_str());
        }
        headers
    }

    pub(crate) fn keep(&mut self, set_cookie: Option<&SetCookie>) {
        if let Some(set_cookie) = set_cookie {
            if set_cookie.is_removal() {
                self.cookie = None;
            } else {
                self.cookie = Some(cookie_pair(set_cookie));
            }
        }
    }

    /// Loads the session, lets `handler` use it, commits, keeps the cookie.
    pub(crate) async fn request<T>(
        &mut self,
        manager: &SessionManager,
        handler: impl FnOnce(&mut Session) -> T,
    ) -> (T, Option<SetCookie>) {
        let mut session = manager.load(&self.headers()).await.unwrap();
        let out = handler(&mut session);
        let set_cookie = manager.commit(session).await.unwrap();
        self.keep(set_cookie.as_ref());
        (out, set_cookie)
    }

    /// The session as the next request would see it, without committing anything.
    pub(crate) async fn peek(&self, manager: &SessionManager) -> Session {
        manager.load(&self.headers()).await.unwrap()
    }
}

/// `name=value` of a `Set-Cookie`.
pub(crate) fn cookie_pair(set_cookie: &SetCookie) -> String {
    set_cookie
        .expose_header_value()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// A store that is down.
#[derive(Debug)]
pub(crate) struct DownStore;

#[async_trait]
impl SessionStore for DownStore {
    async fn load(&self, _: &SessionHash) -> Result<Option<SessionRecord>, StoreError> {
        Err(StoreError::Unavailable(
            "connection refused to 10.0.0.9".into(),
        ))
    }
    async fn insert(
        &self,
        _: SessionRecord,
        _: Option<usize>,
    ) -> Result<Vec<SessionInfo>, StoreError> {
        Err(StoreError::Unavailable("down".into()))
    }
    async fn save(&self, _: &SessionHash, _: &SessionUpdate) -> Result<bool, StoreError> {
        Err(StoreError::Unavailable("down".into()))
    }
    async fn delete(&self, _: &SessionHash) -> Result<bool, StoreError> {
        Err(StoreError::Unavailable("down".into()))
    }
    async fn delete_user(&self, _: &str, _: Option<&SessionHash>) -> Result<usize, StoreError> {
        Err(StoreError::Unavailable("down".into()))
    }
    async fn list_user(&self, _: &str) -> Result<Vec<SessionInfo>, StoreError> {
        Err(StoreError::Unavailable("down".into()))
    }
}
