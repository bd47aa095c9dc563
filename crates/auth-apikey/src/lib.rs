//! API keys with a checked format, hashed storage, scopes, expiry, rotation and revocation.
//!
//! An API key is a shared secret a client sends on every request, commonly in a custom
//! header (`X-API-Key`). Plain API keys "can be rotated or invalidated" but "do not natively
//! enforce fine-grained scopes or expiration"; these do both, and never store a key in the
//! clear.
//!
//! | Item | What it is |
//! |---|---|
//! | [`KeyFormat`], [`ApiKey`], [`parse_any`] | `<prefix>_<random>_<checksum>`: generation, offline checking |
//! | [`KeyManager`] | create, verify, list by owner, revoke, rotate, expire |
//! | [`KeyStore`], [`MemoryKeyStore`] | where hashed records live; O(1) lookup by hash |
//! | [`KeyMetadata`], [`KeyRecord`], [`KeyHash`] | what is stored: the hash and the metadata, never the key |
//! | [`ApiKeyAuthenticator`] | the [`Authenticator`](auth_core::Authenticator): header, optional `Bearer`, query only by opt-in, throttling |
//! | [`Error`], [`ConfigError`] | what went wrong; [`Error::to_rejection`] is the one mapping to HTTP |
//!
//! # Feature flags
//!
//! | Name | Description | Default? |
//! |---|---|---|
//! | `sqlite` | `SqlKeyStore` over SQLite (sqlx): embedded, persistent key records, with the migrations it ships; turns on `auth-core/sqlite` | no |
//! | `postgres` | `SqlKeyStore` over PostgreSQL (sqlx): key records shared by many instances, with the migrations it ships; turns on `auth-core/postgres` | no |
//!
//! With actix-web, enable `auth-actix`'s `apikey` feature for the `ApiKeyInfo` extractor.
//!
//! # Quick start
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! use auth_apikey::{ApiKeyAuthenticator, KeyManager, KeyMetadata, MemoryKeyStore, NewKey};
//! use auth_core::{authenticate, AuthRequest, HeaderList, Outcome};
//!
//! // Once, at start-up: the manager (store, prefix, optional pepper) and the authenticator.
//! let keys = KeyManager::builder(MemoryKeyStore::new(), "myapp_live").build()?;
//! let authenticator = ApiKeyAuthenticator::builder(keys.clone()).build()?;
//!
//! // Issue a key. The plaintext is shown once; only its hash is stored.
//! let created = keys
//!     .create(NewKey::new("billing-service", "nightly export").scopes("invoices:read".parse()?))
//!     .await?;
//! println!("your key (shown once): {}", created.key.expose_secret());
//! println!("its id (for logs and support): {}", created.metadata.id);
//!
//! // A request, as any framework adapter hands it over.
//! let headers = HeaderList::new().with("X-API-Key", created.key.expose_secret());
//! let request = AuthRequest::new("GET", "/invoices", &headers);
//! let Outcome::Authenticated(principal) = authenticate(&authenticator, &request).await else {
//!     panic!("the key was refused");
//! };
//! assert_eq!(principal.subject(), "billing-service");
//! assert!(principal.scopes().contains("invoices:read"));
//! assert_eq!(principal.key_id(), Some(created.metadata.id.as_str()));
//! assert_eq!(principal.extension::<KeyMetadata>().unwrap().name, "nightly export");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Key format
//!
//! ```text
//! myapp_live_4Fq8yZr0cB1tN9wXkV2mH7pLs3dJ6eGa5uTiRoYnQ0K_1bXk9Q
//! └─prefix─┘ └──────────── random: 43 base62 ────────────┘ └crc┘
//! ```
//!
//! - **Prefix** (1 to 32 of `a-z 0-9 _`, not ending with `_`): says whose key it is and for
//!   which environment (`myapp_live`, `myapp_test`), so a leaked key is recognised by
//!   secret scanners (GitHub secret scanning, gitleaks, trufflehog) and by the human who
//!   finds it in a paste. Register the pattern
//!   `myapp_live_[0-9A-Za-z]{43}_[0-9A-Za-z]{6}` with your scanners.
//! - **Random part**: 32 bytes (256 bits) from the operating system's CSPRNG
//!   (`getrandom`; RFC 4086), written as a fixed-width 43-digit base62 number. Base62 is
//!   alphanumeric, so a double click selects the whole key, no character needs URL or shell
//!   quoting, and `_` stays a pure separator (parsing reads from the right, so the prefix may
//!   hold `_`).
//! - **Checksum**: the CRC-32 of `<prefix>_<random>`, as 6 base62 digits. A mistyped,
//!   truncated or pasted-with-a-character-missing key is refused **before any store lookup**:
//!   CRC-32 catches every single changed character, and a made-up key gets through only
//!   once in about 4 billion tries. The checksum catches typos, **not forgery**: anyone can
//!   compute a CRC, so it proves nothing about who made the key. The 256 random bits and the
//!   store lookup do that. A key whose checksum is valid but whose prefix is another
//!   issuer's is refused too, with its own audit reason (`wrong_prefix`).
//!
//! # Storage
//!
//! A store holds [`KeyRecord`]s: the key's [`KeyHash`] and its [`KeyMetadata`] (public id,
//! owner, name, scopes, created, expires, last used, revoked, rotation links). Never the
//! key: the plaintext exists only in the [`CreatedKey`] returned by
//! [`KeyManager::create`] and [`KeyManager::rotate`], and is shown to its owner once.
//!
//! - The hash is SHA-256 of the key, or HMAC-SHA256 (RFC 2104) under a server-side pepper
//!   ([`KeyManagerBuilder::pepper`], at least 32 bytes). A fast hash is right here: the key
//!   has 256 random bits, so there is nothing to brute-force, and a slow password hash
//!   would tax every request. The pepper makes a stolen database useless on its own.
//! - Verification is one lookup by hash (a hash map in [`MemoryKeyStore`], a unique index in
//!   SQL): O(1), and no key-dependent comparison loop an attacker could time. The looked-up
//!   hash is compared again in constant time.
//! - The public id (`key_` and 12 random base62 characters) is drawn independently of the
//!   key and stored in the record: it reveals nothing about the key, survives a pepper
//!   change, and is what logs, listings, audit events and support tickets use.
//! - `last_used_at` is written at most once a minute per key (a conditional write, so a
//!   burst of requests writes once), not on every request.
//!
//! # Rotation runbook
//!
//! Rotate on a schedule, when someone who knew a key leaves, and at once when a key leaks.
//!
//! 1. **Issue the successor**: `keys.rotate(&old_id, grace)` returns a new key with the
//!    same owner, name and scopes (and the same lifetime length), and sets the old key to
//!    expire at the end of `grace`. Both work during the grace period.
//! 2. **Deploy it**: hand the new key to its owner, who updates the client's configuration.
//! 3. **Watch**: audit events (target `auth::audit`) carry the `key_id`. Successes with the
//!    old id mean a client still uses it; after the deadline its attempts are refused with
//!    reason `rotated_key`, which tells you who missed the rotation.
//! 4. **Finish early** if all clients moved: [`KeyManager::expire`] on the old id.
//!
//! For a **leaked** key, do not wait for a grace period: [`KeyManager::revoke`] it at once
//! (refused from the next request on, reason `revoked_key`), then create a new one. A zero
//! grace rotation does both in one step.
//!
//! # When not to use API keys
//!
//! From the article this crate answers: API keys fit service-to-service calls in a
//! controlled environment, public APIs with basic access control where rotating a leaked
//! key is acceptable, and legacy clients. Avoid them:
//!
//! - for **user-specific, granular permissions**: a key identifies a client, not a user
//!   acting through it. Use OAuth 2.0 with per-user scopes and consent.
//! - for **high-security needs that call for short-lived tokens**: a key lives until it is
//!   revoked or expires, typically months. Use short-lived bearer tokens (OAuth 2.0 / JWT)
//!   or request signatures (HMAC), which also protect the request itself.
//! - in **browsers and mobile apps**: anything shipped to a client can be extracted.
//!
//! # Security
//!
//! - Keys travel as bearer credentials: HTTPS only (with actix-web, `RequireHttps`
//!   refuses `X-API-Key` over plain HTTP). RFC 6750 §5.3 and the OWASP REST Security Cheat
//!   Sheet ("API Keys") apply.
//! - Keys in URLs leak into logs, history and `Referer` (CWE-598, RFC 6750 §2.3). The query
//!   string is accepted only with [`ApiKeyAuthenticatorBuilder::insecure_allow_query_param`];
//!   without it, a key found there is refused with 400 and a hint to use the header.
//! - Unknown, revoked, expired and rotated-out keys get the same 401 (OWASP ASVS V2.2,
//!   generic failure messages); only the audit event's reason differs. Audit events carry
//!   the public key id, never the key, and log the path without the query.
//! - Failed attempts are throttled per client address; a throttled client gets 429 before
//!   any store lookup. A store or throttle that is down gives 503 (fail closed).
//! - Plaintext keys ([`ApiKey`]) and peppers ([`auth_core::Secret`]) print `[redacted]`, are
//!   compared in constant time and zeroized on drop.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod authenticator;
mod error;
mod format;
mod hash;
mod manager;
mod record;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
mod store;

pub use authenticator::{
    ApiKeyAuthenticator, ApiKeyAuthenticatorBuilder, DEFAULT_HEADER, DEFAULT_REALM,
    WELL_KNOWN_QUERY_PARAMS,
};
pub use error::{ConfigError, Error, Result};
pub use format::{
    ApiKey, CHECKSUM_LEN, KeyFormat, KeyFormatError, MAX_KEY_LEN, MAX_PREFIX_LEN, ParsedKey,
    RANDOM_BYTES, RANDOM_LEN, parse_any,
};
pub use hash::{KeyHash, KeyHasher, MIN_PEPPER_LEN};
pub use manager::{
    DEFAULT_LAST_USED_INTERVAL, DEFAULT_LIFETIME, KeyManager, KeyManagerBuilder, MAX_NAME_LEN,
    MAX_OWNER_LEN,
};
pub use record::{CreatedKey, KeyMetadata, KeyRecord, KeyStatus, NewKey};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sql::{SqlKeyStore, SqlKeyStoreBuilder, SqlStoreError};
pub use store::{KeyStore, MemoryKeyStore, SharedKeyRecord, StoreError};
