//! [`Error`] and [`ConfigError`], and the one mapping from an [`Error`] to a [`Rejection`].

use auth_core::{Challenge, Rejection};

use crate::StoreError;

/// What went wrong while loading, changing or saving a session.
///
/// No variant's message holds a session id, a cookie value or a CSRF token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request carries our session cookie more than once, or under names that differ
    /// only in letter case. No session is adopted; the request is refused with 400 (see the
    /// crate docs, "Duplicate cookies").
    #[error("the request carries the session cookie more than once")]
    DuplicateCookie,
    /// The session store failed. Requests are refused with 503 (fail closed).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A value could not be turned into JSON or read back as the requested type.
    #[error("session value {key:?} could not be (de)serialized: {source}")]
    Value {
        /// The key.
        key: String,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
    /// Keys starting with `$` are reserved for the crate (flash messages).
    #[error("session key {0:?} is reserved (keys starting with `$` belong to auth-session)")]
    ReservedKey(String),
    /// The session's data would grow past [`SessionManagerBuilder::max_data_bytes`](crate::SessionManagerBuilder::max_data_bytes).
    #[error("the session data would be {len} bytes; at most {max} are allowed")]
    DataTooLarge {
        /// The size it would have.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The operation needs a logged-in user (changing scopes).
    #[error("the session has no logged-in user")]
    NotLoggedIn,
    /// The `Set-Cookie` value would exceed 4096 bytes, so it is not sent.
    #[error("the Set-Cookie value would be {len} bytes; at most 4096 are sent")]
    CookieTooLarge {
        /// Its length.
        len: usize,
    },
    /// The operating system's random generator failed; no id or token was made.
    #[error("the operating system's random generator failed")]
    Random,
}

/// A `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The audit reason code: `duplicate_session_cookie`, `session_store_unavailable`, ...
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            Error::DuplicateCookie => "duplicate_session_cookie",
            Error::Store(_) => "session_store_unavailable",
            Error::Value { .. } => "session_value_invalid",
            Error::ReservedKey(_) => "session_key_reserved",
            Error::DataTooLarge { .. } => "session_data_too_large",
            Error::NotLoggedIn => "session_not_logged_in",
            Error::CookieTooLarge { .. } => "session_cookie_too_large",
            Error::Random => "random_unavailable",
        }
    }

    /// The rejection a request gets for this error: 400 `invalid_request` for a duplicated
    /// cookie, 503 for everything else (a store or the random generator is down, or the
    /// application asked for something impossible; fail closed, and say nothing about it to
    /// the client).
    #[must_use]
    pub fn to_rejection(&self, challenges: &[Challenge]) -> Rejection {
        match self {
            Error::DuplicateCookie => Rejection::invalid_request(
                challenges.to_vec(),
                "The session cookie is sent more than once",
                self.reason(),
            ),
            _ => Rejection::unavailable(self.reason()),
        }
    }
}

/// A configuration refused at build time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A cookie key has too little key material.
    #[error("a cookie key needs at least {min} bytes of key material; got {len}")]
    WeakKey {
        /// Its length.
        len: usize,
        /// The least length.
        min: usize,
    },
    /// The cookie would be sent without `Secure` (or without its prefix) and the loud
    /// development opt-in was not used.
    #[error(
        "the session cookie must be Secure; for local development over plain HTTP call \
         insecure_dev_cookie_without_secure()"
    )]
    InsecureCookie,
    /// The cookie name or domain is unusable.
    #[error("invalid session cookie: {0}")]
    InvalidCookie(&'static str),
    /// Timeouts or limits are inconsistent.
    #[error("invalid session setting: {0}")]
    InvalidSetting(&'static str),
    /// A trusted origin is not `scheme://host[:port]`.
    #[error("invalid trusted origin {0:?}: expected scheme://host[:port]")]
    InvalidOrigin(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_failures_fail_closed_and_say_nothing() {
        let rejection = Error::Store(StoreError::Unavailable("redis at 10.0.0.5 down".into()))
            .to_rejection(&[]);
        assert_eq!(rejection.status(), 503);
        assert_eq!(rejection.reason(), "session_store_unavailable");
        assert!(!rejection.json_body().contains("10.0.0.5"));
    }

    #[test]
    fn duplicate_cookies_are_a_bad_request() {
        let rejection = Error::DuplicateCookie.to_rejection(&[]);
        assert_eq!(rejection.status(), 400);
        assert_eq!(rejection.reason(), "duplicate_session_cookie");
    }
}
