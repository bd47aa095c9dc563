//! Framework-free building blocks shared by the `auth-*` crates.
//!
//! Every scheme crate (`auth-basic`, `auth-apikey`, `auth-jwt`, `auth-hmac`, `auth-session`,
//! `auth-oauth2`) verifies a credential and answers with the types defined here; framework
//! adapters (`auth-actix`) turn those answers into HTTP. Nothing here knows a web framework.
//!
//! | Item | What it is |
//! |---|---|
//! | [`Principal`] | who the caller is: subject, [`Scheme`], [`Scopes`], when, and typed [`Extensions`] |
//! | [`Scopes`] | RFC 6749 §3.3 scope sets |
//! | [`Secret`] | redacted, zeroized, constant-time-compared bytes |
//! | [`Clock`] | [`SystemClock`], and [`ManualClock`] for tests that move time |
//! | [`Authenticator`] | the trait every scheme implements: [`AuthRequest`] in, [`Outcome`] out |
//! | [`AnyOf`] | accepts whichever of several credentials a request carries |
//! | [`Rejection`] | status, `WWW-Authenticate` [`Challenge`]s, public description, audit reason |
//! | [`audit`] | one `tracing` event per decision, target `auth::audit` |
//! | [`Throttle`] | failed-attempt limiting with backoff; [`MemoryThrottle`] |
//!
//! # Feature flags
//!
//! | Name | Description | Default? |
//! |---|---|---|
//! | `redis` | `RedisConnection` (one shared, self-reconnecting connection for every auth-* Redis store) and `RedisThrottle`, a throttle shared by all instances | no |
//! | `sqlite` | the `sql` module over SQLite (sqlx): `SqlPool` (pool + per-call timeout), its builder, `SqlStoreError` and the migrator every auth-* SQL store is built on; turned on by `auth-basic/sqlite`, `auth-apikey/sqlite` | no |
//! | `postgres` | the same over PostgreSQL (sqlx); turned on by `auth-basic/postgres`, `auth-apikey/postgres` | no |
//!
//! # Quick start
//!
//! An authenticator for a single static token, run the way an adapter runs it:
//!
//! ```
//! use auth_core::{async_trait, authenticate, AuthRequest, Authenticator, Challenge,
//!                 HeaderList, Outcome, Principal, Rejection, Scheme, Secret};
//!
//! #[derive(Debug)]
//! struct OpsToken { token: Secret, challenges: Vec<Challenge> }
//!
//! #[async_trait]
//! impl Authenticator for OpsToken {
//!     fn scheme(&self) -> Scheme { Scheme::custom("ops_token") }
//!     fn challenges(&self) -> &[Challenge] { &self.challenges }
//!     async fn authenticate(&self, request: &AuthRequest<'_>) -> Outcome {
//!         let sent = match request.single_header("x-ops-token") {
//!             Ok(Some(sent)) => sent,
//!             Ok(None) => return Outcome::NoCredential,
//!             Err(_) => return Outcome::Rejected(Rejection::invalid_request(
//!                 self.challenges.clone(), "Malformed X-Ops-Token header", "malformed_header")),
//!         };
//!         if self.token.ct_eq_bytes(sent.as_bytes()) {
//!             Outcome::Authenticated(Principal::new("ops", self.scheme()))
//!         } else {
//!             Outcome::Rejected(Rejection::invalid_credentials(self.challenges.clone(), "wrong_token"))
//!         }
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let authenticator = OpsToken {
//!     token: Secret::from("0pS-t0k3n"),
//!     challenges: vec![Challenge::new("OpsToken").param("realm", "ops")],
//! };
//! let headers = HeaderList::new().with("X-Ops-Token", "0pS-t0k3n");
//! let request = AuthRequest::new("GET", "/metrics", &headers);
//! // Decides and records one audit event (target "auth::audit").
//! let principal = authenticate(&authenticator, &request).await
//!     .into_result(authenticator.challenges())?;
//! assert_eq!(principal.subject(), "ops");
//! # Ok::<(), Rejection>(())
//! # }).unwrap();
//! ```
//!
//! # Security
//!
//! - A [`Rejection`]'s public description never says which check failed; the reason goes
//!   to the audit event only (OWASP ASVS 2.2: generic authentication failure messages).
//! - Audit events never carry a credential (see [`audit`]).
//! - [`Secret`] equality is constant-time (no timing oracle on MACs, keys, tokens).

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

pub mod audit;
mod authenticator;
mod clock;
mod principal;
mod probe;
#[cfg(feature = "redis")]
mod redis_store;
mod rejection;
mod request;
mod scopes;
mod secret;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod sql;
pub mod throttle;

pub use async_trait::async_trait;
pub use audit::{AUDIT_TARGET, authenticate};
pub use authenticator::{AnyOf, Authenticator, Outcome};
pub use clock::{Clock, ManualClock, SharedClock, SystemClock, unix_seconds};
pub use principal::{Extensions, Principal, Scheme};
pub use probe::now_or_await;
#[cfg(feature = "redis")]
pub use redis_store::{
    RedisConnection, RedisConnectionBuilder, RedisError, RedisThrottle, RedisTime,
};
pub use rejection::{Challenge, Rejection, RejectionKind};
pub use request::{AuthRequest, HeaderError, HeaderList, HeaderSource, RepeatedHeader, is_tchar};
pub use scopes::{ScopeError, Scopes};
pub use secret::{Secret, ct_eq};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sql::{SqlBackend, SqlPool, SqlPoolBuilder, SqlStoreError};
pub use throttle::{MemoryThrottle, Throttle, ThrottleError, ThrottleKey, ThrottlePolicy};
