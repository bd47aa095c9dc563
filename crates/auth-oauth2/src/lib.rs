//! OAuth 2.0 done right, on the [`oauth2`] crate: a caching client-credentials
//! [`TokenSource`], the authorization code grant with PKCE for user login
//! ([`AuthorizationCodeClient`]), and a [`ResourceServer`] that accepts the access tokens an
//! authorization server issues, as JWTs (RFC 9068) or through introspection (RFC 7662).
//! With the `server` feature, the authorization server too: a `TokenService`
//! (authorization endpoint with PKCE and consent, token endpoint, introspection, revocation,
//! metadata, JWKS, client registry, refresh-token families) for applications that do not run
//! Keycloak or another identity provider.
//!
//! `oauth2` builds the requests and parses the responses; what every user of it otherwise
//! writes again is here: the token cache and its refresh, one request for many callers,
//! retries, tolerance for the providers' quirks, the callback checks, and token validation
//! on the API side.
//!
//! | Item | What it is |
//! |---|---|
//! | [`TokenSource`] | client credentials (service to service): fetch, cache, refresh ahead, single flight, retry |
//! | [`RequestBuilderExt`] | `request.bearer_token(&token)` for reqwest |
//! | [`AuthorizationCodeClient`] | authorization code + PKCE (S256), `state`, OIDC `nonce`, RFC 9207 `iss`, code exchange, refresh with rotation |
//! | [`PendingAuthorization`], [`CallbackParams`], [`TokenSet`] | what a web app keeps in its session between the steps |
//! | [`ResourceServer`] | an [`auth_core::Authenticator`]: bearer access tokens as JWTs or introspected, scope checks |
//! | [`LenientTokenResponse`] | a token response type for `oauth2` that accepts `expires_in: "3600"` and `token_type: "bearer"` |
//! | `TokenService` (feature `server`) | the token service: `GET /authorize`, `POST /token` (authorization code + PKCE, client credentials, refresh tokens), introspection, revocation, RFC 8414 metadata, JWKS; framework-free |
//! | `AuthorizeOutcome`, `AuthenticatedUser`, `ConsentStore`, `MemoryConsentStore`, `ConsentPrompt` (feature `server`) | the authorization endpoint's answer (login, consent, redirect, error shown to the user) and remembered consent |
//! | `AuthorizationCodeStore`, `MemoryAuthorizationCodeStore` (feature `server`) | authorization codes: SHA-256 keyed, single use (atomic take), bound to client, redirect URI, PKCE challenge, scopes |
//! | `ClientRegistry`, `MemoryClientRegistry`, `ClientConfig` (feature `server`) | registered clients: hashed secrets (or public clients), grants, scopes, audiences, redirect URIs |
//! | `RefreshTokenStore`, `AccessTokenStore` and their memory stores (feature `server`) | issued refresh and opaque access tokens, stored by SHA-256 |
//! | `PasswordCheck`, `UserTokens` (feature `server`) | the first-party login: the application's own users get bearer tokens |
//! | `SqlClientRegistry`, `SqlRefreshTokenStore`, `SqlAccessTokenStore`, `SqlAuthorizationCodeStore`, `SqlConsentStore` (features `sqlite`, `postgres`) | the same stores in SQLite or PostgreSQL (sqlx): only hashes, atomic rotation and code use, expired rows swept, migrations on request; `SqlClientRegistry` has the operator's methods (`register`, `list`, `rotate_secret`, `disable`, `remove`) |
//!
//! # Feature flags
//!
//! | Name | Description | Default? |
//! |---|---|---|
//! | `jwt` | JWT access tokens (RFC 9068) in the resource server, verified by `auth-jwt` with keys from the issuer's metadata and JWKS | yes |
//! | `server` | the token service (implies `jwt`): token, introspection, revocation, metadata and JWKS endpoints as framework-free logic; client registry; refresh-token families | no |
//! | `sqlite` | the token service's stores in SQLite (sqlx), with their migrations (implies `server`; turns on `auth-core/sqlite`) | no |
//! | `postgres` | the same in PostgreSQL, shared by every instance (implies `server`; turns on `auth-core/postgres`) | no |
//!
//! Without `jwt` the resource server validates opaque tokens by introspection only.
//!
//! # Quick start
//!
//! An API that accepts an issuer's JWT access tokens; here the issuer lives in the same
//! process (with a real one, leave out `jwt_keys`: the keys are found from its metadata).
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use auth_core::{authenticate, AuthRequest, HeaderList, Outcome};
//! use auth_jwt::{Algorithm, Issuer, Key, KeySet};
//! use auth_oauth2::{AccessTokenInfo, ResourceServer};
//! use serde_json::json;
//!
//! // The authorization server's side: an RFC 9068 access token.
//! let keys = KeySet::single(Key::generate("k1", Algorithm::ES256)?);
//! let issuer = Issuer::builder(keys.clone())
//!     .issuer("https://id.example")
//!     .audience("https://api.example/orders")
//!     .typ("at+jwt")
//!     .build()?;
//! let token = issuer.issue("alice", &json!({"client_id": "web-app", "scope": "orders:read"}))?;
//!
//! // The API's side.
//! let api = ResourceServer::builder("https://id.example", "https://api.example/orders")
//!     .jwt_keys(keys)
//!     .require_scopes("orders:read".parse()?)
//!     .build()?;
//!
//! let headers = HeaderList::new().with("Authorization", format!("Bearer {token}"));
//! match authenticate(&api, &AuthRequest::new("GET", "/orders", &headers)).await {
//!     Outcome::Authenticated(principal) => {
//!         assert_eq!(principal.subject(), "alice");
//!         let info = principal.extension::<AccessTokenInfo>().unwrap();
//!         assert_eq!(info.client_id.as_deref(), Some("web-app"));
//!     }
//!     other => panic!("{other:?}"),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! With actix-web: `auth_actix::Authenticate::new(api)` (feature `oauth2` of auth-actix).
//!
//! # Which flow for which case
//!
//! The article's advice, "OAuth 2.0 when third parties, delegation or fine-grained user
//! permissions are involved; not for simple internal services or one-off scripts", made
//! concrete:
//!
//! | Case | Flow | Here |
//! |---|---|---|
//! | a service calls another service, no user involved | client credentials (RFC 6749 §4.4) | [`TokenSource`] |
//! | a web app logs users in, or acts for them | authorization code + PKCE (RFC 6749 §4.1, RFC 7636), confidential client | [`AuthorizationCodeClient`] with a client secret |
//! | a native or single-page app logs users in | authorization code + PKCE, public client (RFC 8252) | [`AuthorizationCodeClient`] without a secret |
//! | an API accepts the tokens | bearer tokens (RFC 6750) | [`ResourceServer`] |
//! | a browser app, "implicit" | **never**: tokens in URLs, no PKCE (RFC 9700 §2.1.2) | - |
//! | the client collects the user's password, "password" grant | **never**: the client sees the password (RFC 9700 §2.4) | - |
//! | a simple internal service, a script | not OAuth: an API key or HTTP Basic over TLS is enough | `auth-apikey`, `auth-basic` |
//!
//! # A client: client credentials
//!
//! The article's snippet, done properly: the secret goes in the `Authorization` header
//! (`client_secret_basic`), not in the query string, and the token is reused until shortly
//! before it expires.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use auth_core::Secret;
//! use auth_oauth2::{RequestBuilderExt, TokenSource};
//!
//! // Once, at start; clones share the cache.
//! let tokens = TokenSource::builder(
//!     "https://oauth.example.com/token",
//!     "YOUR_CLIENT_ID",
//!     Secret::from(std::env::var("CLIENT_SECRET")?),
//! )
//! .scopes("orders:read".parse()?)
//! .resource("https://api.example.com/")
//! .build()?;
//!
//! // Per request.
//! let token = tokens.token().await?;
//! let response = reqwest::Client::new()
//!     .get("https://api.example.com/protected")
//!     .bearer_token(&token)
//!     .send()
//!     .await?;
//! if response.status() == reqwest::StatusCode::UNAUTHORIZED {
//!     tokens.invalidate(&token); // revoked early: fetch a new one next time
//! }
//! # Ok(()) }
//! ```
//!
//! # A client: user login with the authorization code grant
//!
//! See [`AuthorizationCodeClient`] for the three steps, and the `login_app` example
//! (`cargo run -p auth-oauth2 --example login_app`) for a complete actix-web app that keeps
//! the tokens in an `auth-session` session.
//!
//! # A resource server: introspected tokens
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use auth_core::Secret;
//! use auth_oauth2::{IntrospectionCachePolicy, ResourceServer};
//!
//! let api = ResourceServer::builder("https://id.example", "https://api.example/orders")
//!     .introspection("https://id.example/introspect", "orders-api", Secret::from("s3cr3t"))
//!     .introspection_cache(IntrospectionCachePolicy {
//!         max_ttl: Duration::from_secs(30), // a revoked token works at most 30 s more
//!         ..IntrospectionCachePolicy::default()
//!     })
//!     .require_scopes("orders:read".parse()?)
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! # A token service (feature `server`)
//!
//! The article's Bearer tokens are "short-lived credentials distributed by an identity
//! provider or authentication service", and its OAuth snippet posts to a `/token`
//! endpoint. `TokenService` is that service, to mount in your own app (auth-actix's
//! `oauth2_server` module does it for actix-web; any framework can hand it plain request
//! parts):
//!
//! | endpoint | what | standard |
//! |---|---|---|
//! | `GET /authorize` | `response_type=code` with PKCE S256 only; the user from the app's login session, consent through a hook, `state` and `iss` sent back | [RFC 6749] §4.1, [RFC 7636], [RFC 9207], [RFC 9700] |
//! | `POST /token` | grants `authorization_code`, `client_credentials` and `refresh_token`; client authentication `client_secret_basic`, `client_secret_post`, or `none` for public clients | [RFC 6749] §3.2, §4.1.3, §4.4, §6 |
//! | `POST /introspect` | `{"active": true, ...}` for the token's client and its resource servers; exactly `{"active":false}` otherwise | [RFC 7662] |
//! | `POST /revoke` | a client revokes its access tokens, or a refresh token and its whole family | [RFC 7009] |
//! | `GET /.well-known/oauth-authorization-server` | the metadata resource servers discover the JWKS through | [RFC 8414] |
//! | `GET /.well-known/jwks.json` | the public keys of the JWT access tokens | RFC 7517 |
//!
//! ```
//! # #[cfg(feature = "server")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use auth_jwt::{Algorithm, Key, KeySet};
//! use auth_oauth2::{ClientConfig, GrantType, MemoryClientRegistry, TokenFormat, TokenService};
//!
//! let clients = Arc::new(MemoryClientRegistry::new());
//! let secret = clients.register(          // the plaintext secret, once; only its hash is kept
//!     ClientConfig::new("billing")
//!         .grant(GrantType::ClientCredentials)
//!         .scopes("orders:read orders:write".parse()?)
//!         .default_scopes("orders:read".parse()?)   // what it gets when it asks for nothing
//!         .audience("https://api.example/orders"),
//! )?;
//! let service = TokenService::builder(
//!     "https://id.example",                           // the issuer: https, checked at build()
//!     KeySet::single(Key::generate("2026-01", Algorithm::ES256)?),
//!     clients,
//! )
//! .audience("https://api.example/orders", TokenFormat::Jwt)   // or TokenFormat::Opaque
//! .build()?;
//! // service.token(&request).await, service.introspect(..), service.revoke(..),
//! // service.metadata(), service.jwks(): each an EndpointResponse to send back.
//! # let _ = (service, secret);
//! # Ok(()) }
//! # #[cfg(not(feature = "server"))]
//! # fn main() {}
//! ```
//!
//! Choices, and why:
//!
//! - **Client credentials never in the URL.** The article's snippet sends `client_id` and
//!   `client_secret` as query parameters; the token endpoint answers 400
//!   `invalid_request` with a description that says where they go (the `Authorization`
//!   header or the form body, [RFC 6749 §2.3.1]) and that the secret must now be rotated.
//!   Every endpoint takes only `POST` with an `application/x-www-form-urlencoded` body, over
//!   TLS; a repeated parameter, or credentials in both header and body, is a 400.
//! - **Least privilege.** A requested scope must be among the client's; none requested
//!   means the client's default set. A `resource` ([RFC 8707]) must be among its audiences.
//! - **Short-lived access tokens**: 10 minutes by default, at most an hour (`build()`
//!   refuses more). JWTs per [RFC 9068] (`typ` `at+jwt`, `iss`, `aud`, `sub`, `client_id`,
//!   `scope`, `jti`), or opaque 256-bit strings stored as SHA-256, chosen per audience.
//! - **Refresh tokens**: opaque, stored hashed, rotated on every use; a rotated token
//!   presented again means it was copied, so its whole family is revoked — refresh tokens,
//!   opaque access tokens, and the `jti`s of JWT access tokens ([RFC 9700] §4.14.2). None for
//!   client credentials unless the client is registered for them ([RFC 6749] §4.4.3).
//! - **Client secrets**: 256 random bits, stored as SHA-256, compared in constant time; an
//!   unknown client is compared against a dummy hash; every failure is the same 401
//!   `invalid_client` (with `WWW-Authenticate: Basic` when Basic was used, RFC 6749 §5.2);
//!   failures are throttled per client id and per peer (429 with `Retry-After`). Throttling
//!   per client id lets somebody who knows a client's id slow it down: share a throttle
//!   store, and watch the audit log.
//! - **Authorization codes** ([RFC 9700] §2.1, §4.5): `response_type=code` only; the
//!   `redirect_uri` must be one the client registered, string for string (only the port of
//!   an `http://127.0.0.1` or `[::1]` redirect may vary, RFC 8252 §7.3) — otherwise the error
//!   is shown to the user, never redirected; PKCE `S256` for every client (`plain` and no
//!   challenge are `invalid_request`); codes are 256-bit, stored as SHA-256, valid 60 s by
//!   default (10 min at most), taken atomically on first use and bound to the client, the
//!   redirect URI, the challenge and the scopes; a code used twice is `invalid_grant` and
//!   revokes what its first use issued. Public clients (no secret) send `client_id` alone,
//!   only for the authorization code and refresh grants, and their refresh tokens rotate.
//!   With `openid` in the scopes, an ID token (`iss`, `sub`, `aud`, `exp`, `nonce`) comes
//!   too — "OIDC light": no userinfo endpoint, no discovery document.
//! - **Never**: the `password` grant and the implicit flow ([RFC 9700] §2.4, §2.1.2).
//! - **Audit**: one event per request (target `auth::audit`, scheme `oauth2`, with
//!   `endpoint`, `grant_type`, the client id as subject and the token's id as key id), never a
//!   secret or a token.
//!
//! # First-party login is not the password grant
//!
//! The article's Bearer snippet posts `{username, password}` to its own authentication
//! service and reads `accessToken` back. `TokenService::first_party_token` (mounted by
//! auth-actix's `FirstPartyLogin` over an auth-basic user store) does exactly that for the
//! application's **own** users, in its **own** login form or API — the same place the user
//! would type the password for a session cookie. The OAuth 2.0 password grant is something
//! else: a *third-party* client collects the user's password and trades it at the
//! authorization server, teaching users to type passwords into other people's apps; it is
//! refused here, as [RFC 9700] §2.4 says. The first-party login's refresh tokens are accepted
//! only by the first-party login, and the token endpoint's only by the token endpoint.
//!
//! # Security
//!
//! - **Transport**: every endpoint must be `https://` (plain `http://` only on loopback),
//!   checked at `build()`; the HTTP client follows no redirects; responses are read up to
//!   64 KiB.
//! - **Client authentication** ([RFC 6749 §2.3.1]): `client_secret_basic` by default,
//!   `client_secret_post` on request; a URL carrying `client_secret` is refused at
//!   `build()`.
//! - **Secrets** (client secret, access, refresh and ID tokens, `state`, PKCE verifier) are
//!   [`auth_core::Secret`]s or redacted wrappers: `Debug` never shows them, errors and logs
//!   never carry them. The `oauth2` crate and the HTTP stack copy them into request buffers
//!   for the duration of a request; those copies are not zeroized.
//! - **PKCE** ([RFC 7636]) with `S256` on every authorization request, and a 256-bit
//!   `state` compared in constant time ([RFC 6749 §10.12]); the callback checks `iss`
//!   against mix-up attacks ([RFC 9207]); a repeated parameter is refused. Implicit and
//!   password grants are not offered ([RFC 9700]).
//! - **Refresh token rotation**: the new refresh token replaces the old one; a refresh is
//!   not retried once the server may have seen it, so rotation's reuse detection is never
//!   set off by the client itself.
//! - **Resource server** ([RFC 6750]): tokens only from the `Authorization` header (a token
//!   in the query gets 400); JWTs per [RFC 9068] (`typ` `at+jwt`, `iss`, `aud`, `exp`,
//!   `client_id`, ...) with keys found through [RFC 8414] metadata; opaque tokens by
//!   [RFC 7662] introspection, cached by SHA-256 of the token, never past its `exp`;
//!   sender-constrained tokens (`cnf`) are refused, as they cannot be honoured as bearer
//!   tokens; every failure to decide is 503 (fail closed).
//! - **Audience restriction**: [RFC 8707] `resource` parameters on the client; the
//!   resource server requires its own audience in `aud`.
//!
//! [RFC 6749]: https://www.rfc-editor.org/rfc/rfc6749
//! [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
//! [RFC 6749 §10.12]: https://www.rfc-editor.org/rfc/rfc6749#section-10.12
//! [RFC 6750]: https://www.rfc-editor.org/rfc/rfc6750
//! [RFC 7009]: https://www.rfc-editor.org/rfc/rfc7009
//! [RFC 7636]: https://www.rfc-editor.org/rfc/rfc7636
//! [RFC 7662]: https://www.rfc-editor.org/rfc/rfc7662
//! [RFC 8414]: https://www.rfc-editor.org/rfc/rfc8414
//! [RFC 8707]: https://www.rfc-editor.org/rfc/rfc8707
//! [RFC 9068]: https://www.rfc-editor.org/rfc/rfc9068
//! [RFC 9207]: https://www.rfc-editor.org/rfc/rfc9207
//! [RFC 9700]: https://www.rfc-editor.org/rfc/rfc9700

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod authorization;
mod client;
mod error;
mod http;
mod resource;
#[cfg(feature = "server")]
mod server;
mod source;
mod token;

#[cfg(feature = "jwt")]
pub use auth_jwt;
pub use authorization::{
    AuthorizationCode, AuthorizationCodeClient, AuthorizationCodeClientBuilder,
    AuthorizationUrlBuilder, CallbackParams, PendingAuthorization, pkce_s256_challenge,
};
pub use client::ClientAuthMethod;
pub use error::{Error, ErrorCode, OAuthError, Result};
pub use http::{Backoff, DEFAULT_TIMEOUT};
pub use oauth2;
pub use resource::{
    AccessTokenInfo, IntrospectionCachePolicy, ResourceServer, ResourceServerBuilder, TokenFormat,
};
#[cfg(feature = "server")]
pub use server::{
    AccessTokenRecord, AccessTokenStore, AuthenticatedUser, AuthorizationCodeRecord,
    AuthorizationCodeStore, AuthorizeError, AuthorizeOutcome, ClientConfig, ClientRecord,
    ClientRegistry, CodeTake, ConsentPrompt, ConsentStore, EndpointError, EndpointPaths,
    EndpointResponse, GrantType, MemoryAccessTokenStore, MemoryAuthorizationCodeStore,
    MemoryClientRegistry, MemoryConsentStore, MemoryRefreshTokenStore, PasswordCheck,
    RefreshTokenRecord, RefreshTokenStore, SecretHash, StoreError, TokenHash, TokenService,
    TokenServiceBuilder, UserTokens, generate_client_secret, redirect_uri_matches,
};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use server::{
    ClientAdminError, ClientInfo, SqlAccessTokenStore, SqlAuthorizationCodeStore,
    SqlClientRegistry, SqlConsentStore, SqlRefreshTokenStore, SqlStoreError,
};
pub use source::{RequestBuilderExt, TokenSource, TokenSourceBuilder};
pub use token::{AccessToken, LenientTokenResponse, TokenSet};
