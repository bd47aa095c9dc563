//! The crate's [`Error`].

use crate::StoreError;

/// What can go wrong in auth-basic outside a request (requests answer with
/// [`auth_core::Rejection`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is unsafe or inconsistent; refused at build time.
    #[error("invalid configuration: {0}")]
    Config(&'static str),
    /// Hashing failed (no OS randomness, or a blocking task died).
    #[error("password hashing failed: {0}")]
    Hash(&'static str),
    /// A stored hash is in a format this crate does not verify.
    #[error("unsupported password hash: {0}")]
    UnsupportedHash(&'static str),
    /// No such user.
    #[error("no such user")]
    UnknownUser,
    /// An htpasswd-style file has a bad line.
    #[error("htpasswd line {line}: {reason}")]
    Htpasswd {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A file could not be read.
    #[error("cannot read file: {0}")]
    Io(String),
    /// The user store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
