//! HTTP Basic for actix-web (feature `basic`): [`middleware`] and the re-exported
//! `auth-basic` types.
//!
//! ```
//! use std::sync::Arc;
//! use actix_web::{web, App, HttpResponse};
//! use auth_actix::basic::{self, Argon2Hasher, BasicAuthenticator, MemoryUserStore};
//! use auth_actix::Authenticated;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let users = Arc::new(MemoryUserStore::new());
//! users.add_user(&Argon2Hasher::default(), "alice", "correct horse battery staple", "")?;
//! let auth = basic::middleware(BasicAuthenticator::builder(users).realm("admin").build()?);
//!
//! let app = App::new().service(
//!     web::scope("/admin").wrap(auth.clone()).route("", web::get().to(
//!         |user: Authenticated| async move { HttpResponse::Ok().body(user.subject().to_owned()) },
//!     )),
//! );
//! # Ok(())
//! # }
//! ```
//!
//! A request without credentials gets `401` with `WWW-Authenticate: Basic realm="admin",
//! charset="UTF-8"`; the handler can read the login name from the principal's
//! [`BasicUser`] extension.

pub use auth_basic::{
    Argon2Hasher, Argon2Params, BasicAuthenticator, BasicAuthenticatorBuilder, BasicCredentials,
    BasicUser, CacheConfig, HashPool, MemoryUserStore, UserRecord, UserStore,
};

use crate::Authenticate;

/// The middleware that requires Basic credentials:
/// `Authenticate::new(authenticator)`, named for discoverability.
#[must_use]
pub fn middleware(authenticator: BasicAuthenticator) -> Authenticate<BasicAuthenticator> {
    Authenticate::new(authenticator)
}
