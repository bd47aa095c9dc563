//! Issue and verify JWTs safely (RFC 7519, RFC 8725): keys bound to one algorithm, rotation,
//! JWKS publishing, `jti` revocation, and a bearer-token authenticator.
//!
//! JWTs suit stateless, distributed APIs: any instance verifies a token with a public key,
//! no session lookup. Two cautions come with them, and this crate answers both: revocation
//! is hard (short lifetimes by default, plus a `jti` denylist), and lax validation is
//! dangerous (the RFC 8725 floor is enforced, not optional).
//!
//! | Feature | Description | Default? |
//! |---|---|---|
//! | `remote-jwks` | `RemoteJwks`: fetch and cache a remote JWKS by URL or issuer discovery (reqwest) | no |
//!
//! # Quick start
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use auth_jwt::{Algorithm, Issuer, JwtAuthenticator, Key, KeySet, Verifier};
//! use auth_core::{authenticate, AuthRequest, HeaderList, Outcome};
//!
//! // One ES256 key: the issuer signs with it, the verifier checks with it, and
//! // `keys.jwks()` publishes its public half.
//! let keys = KeySet::single(Key::generate("2026-11", Algorithm::ES256)?);
//! let issuer = Issuer::builder(keys.clone()).issuer("https://id.example").audience("orders").build()?;
//! let verifier = Verifier::builder(keys).issuer("https://id.example").audience("orders").build()?;
//! let jwt = JwtAuthenticator::builder(verifier).realm("orders").build()?;
//!
//! let token = issuer.issue("alice", &serde_json::json!({"scope": "orders:read"}))?;
//! let headers = HeaderList::new().with("Authorization", format!("Bearer {token}"));
//! match authenticate(&jwt, &AuthRequest::new("GET", "/orders", &headers)).await {
//!     Outcome::Authenticated(principal) => {
//!         assert_eq!(principal.subject(), "alice");
//!         assert!(principal.scopes().contains("orders:read"));
//!     }
//!     other => panic!("{other:?}"),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! With actix-web: `auth_actix::Authenticate::new(jwt)`, and the `JwtClaims<C>` extractor
//! (feature `jwt` of auth-actix) for typed claims.
//!
//! # What the verifier enforces (RFC 8725)
//!
//! | Check | Default |
//! |---|---|
//! | size limit, before decoding | 8 KiB |
//! | exactly 3 segments, strict base64url (no padding, `+`, `/`, whitespace) | always |
//! | no duplicate member names in header or claims (RFC 7519 §4) | always |
//! | `alg` equals the key's algorithm; `none` never; never from the token alone | always |
//! | key only from the key set by `kid`; `jku`, `x5u`, `jwk`, `x5c` ignored | always |
//! | `crit` refused | always |
//! | `typ` (e.g. `at+jwt`, RFC 9068) | when configured |
//! | `exp` required, a number; `nbf`, `iat` not in the future | leeway 30 s (max 60 s) |
//! | lifetime (`exp` - `iat`) | at most 24 h |
//! | `iss`, `aud` | required once configured |
//! | `jti` on the denylist | when a [`RevocationStore`] is configured (then `jti` is required) |
//!
//! Failures name their reason ([`VerifyError::reason`]) for the audit log; the client sees
//! only `invalid_token`.
//!
//! # Keys and rotation
//!
//! A [`Key`] is bound to one algorithm when it is loaded (PEM, DER, JWK, or generated).
//! HMAC keys shorter than the hash (256 bits for HS256) are refused unless loaded with
//! [`Key::dangerous_hmac_any_length`]. A [`KeySet`] holds verification keys and one active
//! signing key; rotate with add → promote → retire (see [`KeySet`]); use a
//! [`SharedKeySet`] to rotate while serving. [`KeySet::jwks`] is the document to serve at
//! `/.well-known/jwks.json` (HMAC keys are never published).
//!
//! # Backend
//!
//! Signatures run on `ring` through jsonwebtoken's provider interface; why, with the
//! numbers, is in the `backend` module's source (`src/backend.rs`): in short, `rust_crypto`
//! carries the `rsa` crate's open advisory (RUSTSEC-2023-0071), `aws_lc_rs` adds minutes of
//! C build time, and `ring` is already in the build. [`install_provider`] makes it
//! jsonwebtoken's process default too.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod authenticator;
mod backend;
mod error;
mod issuer;
#[cfg(feature = "remote-jwks")]
mod jwks;
mod keys;
mod revocation;
mod token;
mod verifier;

pub use authenticator::{JwtAuthenticator, JwtAuthenticatorBuilder, VerifiedClaims};
pub use backend::{RING_PROVIDER, install as install_provider};
pub use error::{KeyError, VerifyError};
pub use issuer::{Issuer, IssuerBuilder};
pub use jsonwebtoken::Algorithm;
pub use jsonwebtoken::jwk::{Jwk, JwkSet};
#[cfg(feature = "remote-jwks")]
pub use jwks::{JwksCachePolicy, JwksLocation, RemoteJwks};
pub use keys::{ALGORITHMS, Key, KeySet, alg_name, parse_alg};
pub use revocation::{MemoryRevocationStore, RevocationStore, StoreError};
pub use verifier::{
    KeySource, RegisteredClaims, SharedKeySet, TokenHeader, Verified, Verifier, VerifierBuilder,
};
