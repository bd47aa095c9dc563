//! Signed requests with a shared secret: [RFC 9421] HTTP Message Signatures with
//! `hmac-sha256`, [RFC 9530] `Content-Digest`, a freshness window and a nonce replay store —
//! and webhook body signatures, including the common "HMAC of the body in `X-Signature`"
//! form.
//!
//! A client that holds a shared secret signs each request: the method, the full target URI,
//! a digest of the body and any headers that matter, plus when it signed and a random nonce.
//! The server rebuilds the same *signature base* from the request it received and compares
//! MACs. Any change to a covered part breaks the signature; a copy sent again is refused
//! because its nonce was seen; an old copy is refused because its `created` is too old.
//!
//! | Item | What it is |
//! |---|---|
//! | [`Signer`] | client side: `(method, URL, headers, body)` → `Signature-Input`, `Signature`, `Content-Digest` |
//! | [`Verifier`] | server side, framework-free: the policy, the checks, the nonce store |
//! | [`HmacAuthenticator`] | the [`Authenticator`](auth_core::Authenticator) over a `Verifier` (actix-web: `auth-actix` feature `hmac`) |
//! | [`HmacKey`], [`KeyStore`], [`MemoryKeyStore`] | secrets by `keyid`, several per client for rotation |
//! | [`NonceStore`], [`MemoryNonceStore`] | remembers nonces for their window: replays are refused |
//! | [`WebhookVerifier`], [`WebhookAuthenticator`], [`WebhookSigner`] | body signatures: `t=…,v1=…` (default) or the replayable untimestamped form (opt-in) |
//! | [`SignatureParams`], [`Component`], [`RequestParts`] | the RFC 9421 core: parameters, component identifiers, the signature base |
//! | [`content_digest`], [`verify_content_digest`] | RFC 9530 `Content-Digest`, `sha-256` and `sha-512` |
//!
//! # Feature flags
//!
//! | Name | Description | Default? |
//! |---|---|---|
//! | `redis` | `RedisNonceStore`: nonces in Redis, so a replay to another instance is refused too | no |
//! | `reqwest` | `Signer::sign_reqwest`: sign a `reqwest::Request` in place | no |
//!
//! # Quick start
//!
//! The client signs; the server verifies (here without a web framework, through
//! [`auth_core::authenticate`], which also records the audit event):
//!
//! ```
//! use std::sync::Arc;
//! use auth_core::{authenticate, AuthRequest, HeaderList, Outcome};
//! use auth_hmac::{HmacAuthenticator, HmacKey, MemoryKeyStore, Signer, Verifier};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Shared once, out of band: a key id and a secret of at least 32 random bytes.
//! let secret = "3b1f5d0c9a7e4e2b8f6a1d3c5e7f9b0a2c4e6f8a";
//!
//! // Server: keys by id, each bound to a client and its scopes.
//! let keys = Arc::new(MemoryKeyStore::new());
//! keys.insert(HmacKey::new("billing-2025", "billing", secret)?.with_scopes("orders:write".parse()?));
//! let hmac = HmacAuthenticator::new(Verifier::builder(keys).build()?);
//!
//! // Client: sign the request.
//! let body = br#"{"item":"book","qty":1}"#;
//! let signer = Signer::builder("billing-2025", secret).build()?;
//! let mut headers = HeaderList::new()
//!     .with("Host", "api.example.com")
//!     .with("Content-Type", "application/json");
//! let signed = signer.sign("POST", "http://api.example.com/orders", &headers, Some(body))?;
//! for (name, value) in signed.iter() {
//!     headers.push(name, value);
//! }
//!
//! // Server: what arrives.
//! let request = AuthRequest::new("POST", "/orders", &headers).with_body(Some(body));
//! match authenticate(&hmac, &request).await {
//!     Outcome::Authenticated(principal) => {
//!         assert_eq!(principal.subject(), "billing");
//!         assert_eq!(principal.key_id(), Some("billing-2025"));
//!     }
//!     other => panic!("expected success, got {other:?}"),
//! }
//! // The same request again is a replay.
//! assert!(matches!(authenticate(&hmac, &request).await, Outcome::Rejected(_)));
//! # Ok(())
//! # }
//! ```
//!
//! With actix-web: `auth_actix::Authenticate::new(hmac)` (feature `hmac` of `auth-actix`)
//! buffers the body for the authenticator and hands it on intact. With `reqwest`, feature
//! `reqwest`: `signer.sign_reqwest(&mut request)` — see `examples/sign_request.rs`, a
//! client for the demo server.
//!
//! # What is covered, and why
//!
//! The default [`Verifier`] policy requires every accepted signature to cover:
//!
//! - `@method` — or a signed `GET` could be sent as a `DELETE`;
//! - `@target-uri` (scheme, authority, path and query) — or a signature for `/orders?id=1`
//!   could be moved to `/orders?id=2`, to `/admin`, or to another host that trusts the same
//!   key; covering only `@path` leaves the query open (`?admin=1`);
//! - `content-digest` whenever the body is not empty — the signature covers the digest
//!   header, and the verifier checks the digest against the body it received (RFC 9530), so
//!   the body is covered too. Without it, the body could be swapped under a valid signature;
//! - and the parameters `created` (fresh: at most 300 s old, at most 5 s ahead), `nonce`
//!   (used once: remembered in the [`NonceStore`] until the signature would be too old
//!   anyway), `keyid` (which secret; never the secret). `expires` is honoured when sent;
//!   `alg`, when sent, must be `hmac-sha256`.
//!
//! Add what your API needs with [`VerifierBuilder::require`] (`content-type`, an
//! `idempotency-key`, ...). Several signatures may ride on one request; the policy decides
//! which one counts ([`VerifierBuilder::label`], or the first that satisfies the policy and
//! verifies). An extra signature with weaker coverage changes nothing.
//!
//! `@authority` comes from the `Host` header and `@scheme` from the transport
//! ([`AuthRequest::is_secure`](auth_core::AuthRequest::is_secure)). **Behind a reverse
//! proxy**, the server sees the proxy's view; set the public authority and scheme the
//! clients sign with [`VerifierBuilder::authority`] and [`VerifierBuilder::scheme`]. The
//! same goes for HTTP/2, whose authority is not a `Host` header.
//!
//! RFC 9421 §5 lets a server ask for signatures with `Accept-Signature`; this crate does not
//! send it (a 401 carries `WWW-Authenticate: Signature realm="..."`): document the required
//! components for your clients instead.
//!
//! # Key rotation
//!
//! Keys are looked up by `keyid`; one client may hold several ([`MemoryKeyStore`] can be
//! changed while serving):
//!
//! 1. add the new key (`billing-2026`) for the same client: both verify;
//! 2. give the client the new key id and secret; it switches (no downtime: requests signed
//!    with either key verify meanwhile);
//! 3. when the audit log shows no more `key_id=billing-2025`, remove the old key.
//!
//! A leaked secret: remove its key at once; requests signed with it get 401
//! (`unknown_key` in the audit log).
//!
//! # Webhook mode
//!
//! Webhook senders usually sign only the body: [`WebhookVerifier`] checks an HMAC-SHA256
//! of the raw body bytes in one header (`X-Signature` by default), in hex or base64, with an
//! optional prefix (`sha256=`). The default form is timestamped, as Stripe's:
//! `t=<unix>,v1=<hex HMAC of "<unix>." + body>`, within a tolerance (300 s), each delivery
//! accepted once, several `v1` accepted during a secret rotation.
//!
//! ## The article's form, and why it needs an opt-in
//!
//! The common snippet — `crypto.createHmac('sha256', secret).update(JSON.stringify(payload))
//! .digest('hex')`, sent as `X-Signature` — proves that the body came from a holder of the
//! secret and was not altered. It proves nothing about *when*, and nothing about the method
//! or URL: a captured request verifies forever, as often as it is replayed. It is accepted
//! only after [`WebhookVerifierBuilder::insecure_allow_untimestamped_replayable_signatures`];
//! make such handlers idempotent, and move senders to the timestamped form or to RFC 9421.
//! (The signature is over the raw body bytes, so `JSON.stringify`'s compact JSON verifies
//! as sent; re-serializing the JSON on the server would not.)
//!
//! # Security
//!
//! - MACs are compared in constant time; secrets are [`auth_core::Secret`]s (redacted in
//!   `Debug`, zeroized on drop) of at least 32 bytes unless a `dangerous_` opt-in is used.
//! - Unknown key, bad MAC, stale or future `created`, past `expires`, replay, insufficient
//!   coverage, body mismatch: the same 401 for all; only the audit event's reason differs
//!   (`unknown_key`, `bad_signature`, `created_too_old`, `nonce_replayed`, ...). Malformed
//!   fields get 400. A nonce store failure gets 503 (fail closed).
//! - Nonces are recorded only after the signature verifies, so forged requests cannot fill
//!   the store; a full [`MemoryNonceStore`] refuses new nonces rather than forgetting live
//!   ones. Several server instances need a shared [`NonceStore`], or a replay sent to another
//!   instance succeeds.
//! - Derived components (`@method`, ...) are always derived from the request, never read
//!   from a header of that name (RFC 9421 §7.5.5); field values are trimmed and repeated
//!   fields combined (§2.1), so an added duplicate header changes the base.
//! - Shared secrets are symmetric: whoever can verify can also sign (RFC 9421 §7.3.3). Keep
//!   them server-side, one per client.
//!
//! [RFC 9421]: https://www.rfc-editor.org/rfc/rfc9421
//! [RFC 9530]: https://www.rfc-editor.org/rfc/rfc9530

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod authenticator;
mod component;
mod digest;
mod error;
mod fast;
mod key;
mod nonce;
#[cfg(feature = "redis")]
mod nonce_redis;
mod signature;
mod signer;
mod verifier;
pub mod webhook;

pub use authenticator::{DEFAULT_REALM, HmacAuthenticator};
pub use component::{Component, RequestParts};
pub use digest::{DigestAlgorithm, content_digest, verify_content_digest};
pub use error::{ConfigError, Error, Malformed, Refusal, Result};
pub use key::{
    ALGORITHM, HmacKey, KeyStore, MAX_KEY_ID_LEN, MIN_SECRET_LEN, MemoryKeyStore, hmac_sha256,
};
pub use nonce::{MemoryNonceStore, NonceStore, StoreError};
#[cfg(feature = "redis")]
pub use nonce_redis::RedisNonceStore;
pub use signature::{
    MAX_COMPONENTS, MAX_PARAM_LEN, MAX_SIGNATURES, SignatureHeaders, SignatureParams,
};
pub use signer::{DEFAULT_LABEL, Signer, SignerBuilder};
pub use verifier::{
    DEFAULT_CLOCK_SKEW, DEFAULT_MAX_AGE, MAX_MAX_AGE, SignatureInfo, Verified, Verifier,
    VerifierBuilder,
};
pub use webhook::{
    DEFAULT_TOLERANCE, DEFAULT_WEBHOOK_HEADER, WebhookAuthenticator, WebhookEncoding, WebhookInfo,
    WebhookSigner, WebhookVerified, WebhookVerifier, WebhookVerifierBuilder,
};
