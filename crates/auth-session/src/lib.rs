//! Server-side sessions: a random id in a signed `__Host-` cookie, the state in a store,
//! and the lifecycle, CSRF defence and key rotation that session libraries usually leave to
//! the application.
//!
//! The shape is the one `express-session` made familiar: set the user on one request, find
//! it on the next. This crate adds what that shape needs to be safe: a new id at login (no
//! session fixation), idle and absolute timeouts, logout that destroys the server state,
//! "log out everywhere", a per-user session cap, a CSRF token bound to the session plus
//! `Origin` / `Sec-Fetch-Site` checks, and cookie keys that rotate without logging anyone
//! out. It knows no web framework; `auth-actix` (feature `session`) adds the middleware and
//! the `Session` extractor.
//!
//! | Item | What it is |
//! |---|---|
//! | [`SessionManager`], [`SessionManagerBuilder`] | loads a request's [`Session`] from its cookie, commits its changes, ends sessions |
//! | [`Session`] | one request's view: typed values, [`Flash`] messages, `login` / `renew` / `logout`, CSRF token |
//! | [`SessionStore`], [`MemoryStore`] | where sessions live (keyed by a hash of the id); the contract every store keeps |
//! | [`CookieKey`], [`CookieKeys`] | the keys that sign (or encrypt) cookies, with rotation |
//! | [`CsrfConfig`], [`CsrfToken`], [`CsrfError`] | the CSRF checks |
//! | [`SessionAuthenticator`] | a logged-in session as an [`Authenticator`](auth_core::Authenticator) |
//! | [`Error`], [`ConfigError`], [`StoreError`] | what went wrong; [`Error::to_rejection`] is the one mapping to HTTP |
//!
//! # Feature flags
//!
//! | Name | Description | Default? |
//! |---|---|---|
//! | `redis` | `RedisSessionStore`: sessions in Redis, shared by every instance (the in-memory [`MemoryStore`] is always there) | no |
//!
//! With actix-web, enable `auth-actix`'s `session` feature for `SessionMiddleware` and the
//! `Session` extractor.
//!
//! # Quick start
//!
//! The framework-free loop an adapter runs for each request: load, use, commit, send the
//! `Set-Cookie` it returns.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! use auth_core::{authenticate, AuthRequest, HeaderList, Outcome};
//! use auth_session::{CookieKey, CookieKeys, MemoryStore, SessionManager};
//!
//! // Once, at start-up. The key comes from your secret store (CookieKey::from_base64).
//! let manager = SessionManager::builder(MemoryStore::default(), CookieKeys::new(CookieKey::generate()?))
//!     .build()?;
//!
//! // The article's `req.session.userId = 123`: setting the user is a login.
//! let mut session = manager.load(&HeaderList::new()).await?;
//! session.login("123");
//! let set_cookie = manager.commit(session).await?.expect("a login sets the cookie");
//! assert!(set_cookie.expose_header_value().starts_with("__Host-id="));
//!
//! // The next request sends the cookie back.
//! let cookie = set_cookie.expose_header_value().split(';').next().unwrap().to_owned();
//! let headers = HeaderList::new().with("Cookie", cookie);
//! let session = manager.load(&headers).await?;
//! assert_eq!(session.user(), Some("123"));
//!
//! // Or as an Authenticator, with its audit event: a Principal named by the session's
//! // fingerprint, never by its id.
//! let request = AuthRequest::new("GET", "/protected", &headers);
//! let Outcome::Authenticated(principal) = authenticate(&manager.authenticator(), &request).await else {
//!     panic!("not logged in");
//! };
//! assert_eq!(principal.subject(), "123");
//! assert!(principal.key_id().unwrap().starts_with("s_"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Lifecycle
//!
//! | event | what happens |
//! |---|---|
//! | first request | nothing: a session is created only when something is written (a value, a flash message, a login, a CSRF token asked for), so anonymous traffic costs no storage and sets no cookie |
//! | [`Session::login`] | a **new id** (and a new CSRF token); the old record is deleted. An id the client had before login, planted or not, is never adopted. The data comes along unless another user was logged in |
//! | [`Session::set_scopes`], [`Session::renew`] | a privilege change: a new id, same user and data; the absolute timeout still counts from the login |
//! | every request | the idle clock restarts; `last_seen` is written at most once per touch interval (default 1 minute), so a read-mostly site does not write on every request |
//! | idle timeout (30 min) or absolute timeout (12 h) | the session ends: the record is deleted, the cookie removed, the audit reason says which timeout |
//! | [`Session::logout`] | the record is deleted and the cookie expired; the cookie replayed later is no session |
//! | [`Session::logout_everywhere`], [`SessionManager::logout_everywhere`] | every session of the user ends (after a password change, from an admin console) |
//! | [`SessionManagerBuilder::max_sessions_per_user`] | a login past the cap ends the user's **oldest** sessions (by login time): the newest device always gets in, an abandoned one goes first |
//!
//! # Defaults, and why
//!
//! | setting | default | why |
//! |---|---|---|
//! | id | 32 bytes from the OS CSPRNG | OWASP Session Management Cheat Sheet asks for at least 64 bits of entropy; 256 ends the question |
//! | cookie name | `__Host-id` | the `__Host-` prefix (RFC 6265bis §4.1.3.2) makes browsers refuse the cookie unless it is `Secure`, `Path=/` and has no `Domain`: no subdomain or plain-HTTP page can set or overwrite it (cookie tossing, fixation); a neutral name says nothing about the stack |
//! | `Secure` | on | the cookie never travels over plain HTTP; off only with [`SessionManagerBuilder::insecure_dev_cookie_without_secure`] |
//! | `HttpOnly` | on, always | scripts (an XSS payload) cannot read the session id |
//! | `SameSite` | `Lax` | RFC 6265bis §8.8: the cookie stays off cross-site `POST`s, frames and `fetch`, while links into the site keep working; `Strict` is available |
//! | `Path` / `Domain` | `/` / none | host-only, as the prefix requires; [`SessionManagerBuilder::cookie_domain`] switches to `__Secure-` |
//! | `Max-Age` | none (a browser-session cookie) | the server decides how long a session lives; OWASP prefers non-persistent session cookies |
//! | protection | signed (HMAC-SHA256, the `cookie` crate's signed format) | forged cookies are refused without a store lookup; the id is random, so encrypting it ([`CookieProtection::Private`]) hides nothing, but is available |
//! | idle / absolute timeout | 30 min / 12 h | OWASP: 15-30 min idle for most applications; an absolute limit bounds a stolen cookie's life however active it is kept |
//! | size | `Set-Cookie` over 4096 bytes is never sent | browsers drop longer cookies silently (RFC 6265 §6.1); the cookie holds only the id, ~100 bytes |
//! | CSRF | on for unsafe methods | see below |
//!
//! # Storage
//!
//! The store is keyed by [`SessionHash`], SHA-256 of the id: a dump of the store (a backup,
//! a `KEYS *`) yields no usable cookie. Logs, audit events (`key_id`) and listings name a
//! session by [`SessionHash::fingerprint`] (`s_` and 12 hex digits), never by its id. The
//! id lives only in the cookie and, while a request runs, in zeroize-on-drop memory.
//!
//! [`MemoryStore`] is bounded (default 100,000 sessions; past it, the sessions closest to
//! expiry are evicted) and reads time from a [`Clock`](auth_core::Clock). A store keeps a
//! record until [`EXPIRY_GRACE`] after its deadline; the manager itself enforces both
//! timeouts to the second on every load, so a shortened timeout applies to existing
//! sessions at once. A store that is down fails closed: 503, never an anonymous pass.
//!
//! # CSRF
//!
//! Following the OWASP CSRF Prevention Cheat Sheet, unsafe methods (anything but `GET`,
//! `HEAD`, `OPTIONS`, `TRACE`) are checked in three layers ([`CsrfConfig`]):
//!
//! 1. **Fetch metadata**: `Sec-Fetch-Site: cross-site` is refused, and so is `same-site`
//!    unless allowed.
//! 2. **Origin**: `Origin` (or, without it, `Referer`) must be the request's own origin or a
//!    trusted one; `Origin: null` is refused. This also stops login CSRF, which no token can.
//! 3. **Synchronizer token**: a request that carries a session must carry that session's
//!    token ([`Session::csrf_token`]), in the `X-CSRF-Token` header or the `csrf_token`
//!    form field. The token is 32 random bytes made with the session, replaced at every
//!    new id, and compared in constant time.
//!
//! Every refusal answers the same 403 `{"error":"csrf_failed",...}`; the audit event says
//! which check failed. `SameSite=Lax` already keeps the cookie off most cross-site requests;
//! the checks cover older browsers, same-site attackers and `SameSite=None`.
//!
//! # Duplicate cookies
//!
//! A request that carries our cookie twice, or under names that differ only in case
//! (`__Host-id` and `__host-id`), is refused with 400 ([`Error::DuplicateCookie`]) by both
//! the manager and the authenticator: choosing one could adopt a cookie an attacker tossed
//! in. A lone cookie whose name differs only in case is not ours and is ignored.
//!
//! # Key rotation runbook
//!
//! Cookies are signed with the current [`CookieKey`]; [`CookieKeys::with_previous`] keys are
//! still accepted, and a cookie that verifies only under one of them is **re-issued under the
//! current key** in the same response. Rotating therefore logs nobody out.
//!
//! 1. **Make a key**: `CookieKey::generate()?.expose_base64()`, into your secret store
//!    (64 bytes of key material; shorter keys are refused).
//! 2. **Deploy** with the new key current and the old one previous:
//!    `CookieKeys::new(new).with_previous(old)`. Every instance must know the new key before
//!    any instance issues with it: deploy it as *previous* everywhere first if instances
//!    roll out one by one, then make it current.
//! 3. **Wait** one absolute timeout (12 h by default): by then every live session has been
//!    re-issued under the new key or has ended.
//! 4. **Retire** the old key: `CookieKeys::new(new)`. A cookie still signed with it is no
//!    session (and is removed); its user logs in again.
//!
//! A **leaked** key: deploy a new one *without* the old one as previous. Everyone logs in
//! again. (Because the store is authoritative and keyed by a hash of 256 random bits, a
//! leaked signing key alone does not open anyone's session; signing refuses forgeries early
//! and is defence in depth.)
//!
//! # Concurrency
//!
//! A request changes its own copy of the session; the commit writes **only the keys it
//! changed**, applied key by key to the stored record as it is then. Two concurrent
//! requests that change different keys of one session both keep their change; two that
//! change the same key: the later commit wins (last write wins, no merge). A request that
//! saves after another logged the session out writes nothing and removes its cookie: a
//! logout is never undone. A login or renewal copies the data to the new id at that moment;
//! a concurrent request's later change to the old id is lost with it.
//!
//! # Security
//!
//! - Session ids, CSRF tokens, keys and [`SetCookie`] values print `[redacted]` or nothing in
//!   `Debug`; ids, tokens and keys are zeroized on drop and compared in constant time.
//! - Signed cookies are checked with each key's HMAC keyed once at start-up (the `hmac`
//!   crate; its keyed state cannot be zeroized with hmac 0.12), compared in constant time.
//!   For issuing a cookie and for encrypted cookies the `cookie` crate builds a transient
//!   `cookie::Key`; that stack copy is not zeroized by the `cookie` crate.
//! - Sessions are bearer credentials: serve them over HTTPS only (with actix-web,
//!   `RequireHttps` refuses a `Cookie` header over plain HTTP).

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod authenticator;
mod codec;
mod csrf;
mod error;
mod id;
mod keys;
mod mac;
mod manager;
mod memory;
#[cfg(feature = "redis")]
mod redis_store;
mod session;
mod store;

pub use authenticator::SessionAuthenticator;
pub use codec::{CookieProtection, DEFAULT_COOKIE_NAME, MAX_COOKIE_LEN, SameSite, SetCookie};
pub use csrf::{
    CSRF_TOKEN_LEN, CsrfConfig, CsrfError, CsrfToken, DEFAULT_CSRF_FIELD, DEFAULT_CSRF_HEADER,
    form_field, is_safe_method,
};
pub use error::{ConfigError, Error, Result};
pub use id::{ENCODED_ID_LEN, ID_LEN, SessionHash, SessionId};
pub use keys::{CookieKey, CookieKeys, MIN_KEY_LEN};
pub use manager::{
    DEFAULT_ABSOLUTE_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_DATA_BYTES, DEFAULT_REALM,
    DEFAULT_TOUCH_INTERVAL, EXPIRY_GRACE, LIFECYCLE_TARGET, SessionManager, SessionManagerBuilder,
};
pub use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use redis_store::RedisSessionStore;
pub use session::{CookieStatus, Flash, FlashLevel, Refusal, Session};
pub use store::{SessionInfo, SessionRecord, SessionStore, SessionUpdate, StoreError, Touch};

/// `serde`, re-exported so adapters (`auth-actix`) name its traits in bounds at the same
/// version, without a dependency of their own.
#[doc(hidden)]
pub use serde;
