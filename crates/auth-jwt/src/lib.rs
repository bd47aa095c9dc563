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
//! | `redis` | `RedisRevocationStore`: the `jti` denylist in Redis, shared by every instance | no |
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
//! # Reading the claims
//!
//! The checks read the claims in one pass that keeps only what they and the authenticator
//! use (the registered claims, `scope`/`scp`, the subject claims), borrowed from the decoded
//! JSON, without building a map of the rest; duplicate members, and values `serde_json`
//! would refuse, are refused anywhere in the object. Then, by what the caller asks for:
//!
//! | Method | Claims as | Cost |
//! |---|---|---|
//! | [`Verifier::verify`] | the application's type `C` (and [`RegisteredClaims`]) | one more parse, straight into `C` |
//! | [`Verifier::verify_claims`] | [`VerifiedClaims`]: the JSON kept, registered claims and map parsed on first use | none more |
//! | [`Verifier::verify_raw`] | a `serde_json::Map` (and [`RegisteredClaims`]) | a map built member by member |
//!
//! [`JwtAuthenticator`] puts [`VerifiedClaims`] on the principal, so a handler that only
//! needs the subject and scopes pays for no more.
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
//! # Backend: jsonwebtoken 11 with a ring provider
//!
//! jsonwebtoken 11 leaves the cryptography to a provider: its `aws_lc_rs` feature, its
//! `rust_crypto` feature, or one the application supplies. auth-jwt supplies one built on
//! `ring` ([`RING_PROVIDER`]) and uses it for every key, for these reasons:
//!
//! - **No open advisory on the verification path.** `rust_crypto` verifies RSA with the `rsa`
//!   crate, which carries RUSTSEC-2023-0071 (Marvin timing attack). It was also the slowest
//!   measured (RS256 ~122 µs, ES256 ~158 µs).
//! - **Build time.** `aws_lc_rs` is fast (RS256 ~16 µs, ES256 ~37 µs) but compiles AWS-LC, a
//!   large C/C++ library, adding minutes to a clean build on a 2-core machine. `ring` is
//!   already in every build of this workspace (rustls, reqwest): zero added build time.
//! - **Coverage.** ring has every algorithm accepted here (HS256/384/512, RS256/384/512,
//!   PS256/384/512, ES256/384, Ed25519), and aws-lc-rs copies its API, so the provider mirrors
//!   jsonwebtoken's own aws-lc one.
//! - **One place.** jsonwebtoken built with both backend features, or neither, compiles and
//!   then panics at the first sign or verify. auth-jwt enables neither: each [`Key`] holds a
//!   ring verifier and signer built once at load, and [`install_provider`] (called by every
//!   key constructor) makes ring jsonwebtoken's process default, so `jsonwebtoken::encode` /
//!   `decode` also work in the application. The test `every_algorithm_signs_and_verifies`
//!   signs and verifies with every algorithm, so a feature change elsewhere cannot break this
//!   silently.
//!
//! Speed: `cargo bench -p auth-jwt --bench verify` reports each algorithm's full verification
//! next to its floor (the bare ring check plus base64 and JSON parsing done directly).

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod authenticator;
mod backend;
mod error;
mod issuer;
#[cfg(feature = "remote-jwks")]
mod jwks;
mod keys;
mod memo;
mod revocation;
#[cfg(feature = "redis")]
mod revocation_redis;
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
#[cfg(feature = "redis")]
pub use revocation_redis::RedisRevocationStore;
pub use verifier::{
    KeySource, RegisteredClaims, SharedKeySet, TokenHeader, Verified, Verifier, VerifierBuilder,
};
