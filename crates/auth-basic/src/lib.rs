//! HTTP Basic authentication done right: the RFC 7617 codec, argon2id password hashing,
//! user stores, throttling and an opt-in verified-credential cache.
//!
//! Basic sends a user name and password, base64-encoded, with every request. It is simple
//! and universally supported — and it is only as safe as the server that checks it. This
//! crate does the checking the way it should be done: the header parsed strictly, passwords
//! stored as argon2id hashes, verification off the async reactor with bounded concurrency,
//! an unknown user costing the same as a wrong password, failed attempts throttled, and one
//! audit event per decision.
//!
//! | Feature | Description | Default? |
//! |---|---|---|
//! | `sqlite` | `SqlUserStore` over SQLite (sqlx): embedded, persistent users, with the migrations it ships; turns on `auth-core/sqlite` | no |
//! | `postgres` | `SqlUserStore` over PostgreSQL (sqlx): users shared by many instances, with the migrations it ships; turns on `auth-core/postgres` | no |
//! | `bcrypt` | verify bcrypt hashes (`$2a$`, `$2b$`, `$2y$`, as `htpasswd -B` writes) so existing users can migrate; they are rehashed to argon2id on their next login | no |
//!
//! # Quick start
//!
//! ```
//! use std::sync::Arc;
//! use auth_basic::{Argon2Hasher, BasicAuthenticator, BasicCredentials, MemoryUserStore};
//! use auth_core::{authenticate, AuthRequest, HeaderList, Outcome};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Users: argon2id hashes, never plaintext. (Or MemoryUserStore::load_htpasswd(path).)
//! let users = Arc::new(MemoryUserStore::new());
//! users.add_user(&Argon2Hasher::default(), "alice", "correct horse battery staple", "orders:read")?;
//!
//! let basic = BasicAuthenticator::builder(users.clone()).realm("orders").build()?;
//!
//! // What a client sends (BasicCredentials also builds the header for Rust clients).
//! let header = BasicCredentials::new("alice", "correct horse battery staple").header_value();
//! let headers = HeaderList::new().with("Authorization", header);
//! let request = AuthRequest::new("GET", "/orders", &headers);
//!
//! match authenticate(&basic, &request).await {
//!     Outcome::Authenticated(principal) => {
//!         assert_eq!(principal.subject(), "alice");
//!         assert!(principal.scopes().contains("orders:read"));
//!     }
//!     other => panic!("expected success, got {other:?}"),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! With actix-web, wrap routes in `auth_actix::Authenticate::new(basic)` (feature `basic`
//! of `auth-actix`); the handler takes `auth_actix::Authenticated`.
//!
//! # When to use Basic, and when not
//!
//! Use it for local development, simple internal services, scripts and quick prototypes:
//! every client and tool speaks it. Avoid it for production-grade or public APIs, where a
//! stolen password stays valid until somebody changes it (there is no expiry and no
//! rotation built into the scheme), and where granular, short-lived access is needed: use
//! API keys with scopes and expiry (`auth-apikey`), or short-lived bearer tokens
//! (`auth-jwt`, `auth-oauth2`).
//!
//! Basic sends the password in the clear (base64 is an encoding, not encryption): only ever
//! over HTTPS. `auth_actix::RequireHttps` refuses credentials over plain HTTP.
//!
//! # Storing users
//!
//! - Only hashes: [`Argon2Hasher`] writes argon2id PHC strings
//!   (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), with OWASP's parameters
//!   ([`Argon2Params::OWASP`]); weaker parameters are refused at construction.
//! - [`MemoryUserStore`] holds users in memory, from code ([`MemoryUserStore::add_user`]) or
//!   from an htpasswd-style file (`user:hash[:scopes]`, [`MemoryUserStore::load_htpasswd`]).
//!   Weak formats (`{SHA}`, MD5-crypt `$apr1$`, crypt, plaintext) are refused with the line
//!   number: they can be cracked as they stand, so they must be reset, not migrated.
//! - Migrating: with the `bcrypt` feature, bcrypt hashes verify; argon2i/argon2d and argon2id
//!   with weaker parameters verify too. Each is rehashed with the current policy and saved
//!   ([`UserStore::update_hash`]) on the user's next successful login, unless the password
//!   was changed while that login was being checked (the change wins).
//! - For SQLite or PostgreSQL, `SqlUserStore` (features `sqlite`, `postgres`) keeps users in
//!   a table this crate creates (`migrate()`); see `docs/sql-stores.md`. Or implement
//!   [`UserStore`] for your own database.
//!
//! # The verified-credential cache
//!
//! Off by default. [`BasicAuthenticatorBuilder::verified_cache`] remembers, for a short TTL,
//! an HMAC of (user id, password) after a successful check, so the next request with the
//! same credentials skips argon2 (one HMAC instead of ~20 ms of CPU). Each entry is tied to
//! the stored hash it was checked against, and the user is looked up on every request, so a
//! password change or a disabled user takes effect at once. Wrong passwords are never
//! cached. The cost: see [`CacheConfig`].
//!
//! # Security
//!
//! - RFC 7617 parsing: scheme name case-insensitive, strict base64 with padding, split at
//!   the first colon, UTF-8 required (`charset="UTF-8"` is announced in the challenge),
//!   control characters refused, a size limit. Malformed → 400 with the challenge.
//! - Unknown user, wrong password and disabled user: the same 401 and the same argon2 work
//!   (a dummy hash is verified for unknown users), so neither the response nor its timing
//!   tells whether a user exists (OWASP ASVS 2.2.1 / CWE-204).
//! - Throttling per user name and per client address through [`auth_core::Throttle`]
//!   → 429 with `Retry-After` (OWASP ASVS 2.2.1).
//! - Hashing runs on threads of its own, at most one per core at a time ([`HashPool`]).
//! - Passwords are [`auth_core::Secret`]s: redacted in `Debug`, zeroized, never logged.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod authenticator;
mod cache;
mod codec;
mod error;
mod hasher;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
mod store;

pub use authenticator::{BasicAuthenticator, BasicAuthenticatorBuilder, BasicUser};
pub use cache::CacheConfig;
pub use codec::{BasicCredentials, CodecError, DEFAULT_MAX_HEADER_LEN};
pub use error::{Error, Result};
pub use hasher::{Argon2Hasher, Argon2Params, HashPool, PasswordHasher, Verification};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sql::{SqlStoreError, SqlUserStore, SqlUserStoreBuilder};
pub use store::{MemoryUserStore, StoreError, UserRecord, UserStore, hash_password};
