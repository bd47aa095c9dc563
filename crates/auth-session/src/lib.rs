//! Server-side sessions (docs below).

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod authenticator;
mod codec;
mod csrf;
mod error;
mod id;
mod keys;
mod manager;
mod memory;
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
pub use session::{CookieStatus, Flash, FlashLevel, Refusal, Session};
pub use store::{SessionInfo, SessionRecord, SessionStore, SessionUpdate, StoreError, Touch};

/// `serde`, re-exported so adapters (`auth-actix`) name its traits in bounds at the same
/// version, without a dependency of their own.
#[doc(hidden)]
pub use serde;
