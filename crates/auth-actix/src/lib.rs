//! actix-web middleware and extractors for the `auth-*` crates.
//!
//! `auth-actix` plugs any [`Authenticator`] into actix-web: it builds the framework-neutral
//! request view, runs the authenticator, records the audit event, puts the [`Principal`]
//! into the request, and turns every [`Rejection`] into the right response (status,
//! `WWW-Authenticate`, `Retry-After`, `Cache-Control: no-store`, a small JSON body).
//!
//! | Item | What it does |
//! |---|---|
//! | [`Authenticate`] | middleware: runs an authenticator (or an [`AnyOf`] chain) on an app, scope or route |
//! | [`Authenticated`] | extractor: the [`Principal`]; `Option<Authenticated>` for optional auth |
//! | [`RequireScopes`] | middleware: 403 `insufficient_scope` naming the missing scopes |
//! | [`RequireHttps`] | middleware: refuses credentials over plain HTTP, sets HSTS; believes forwarded headers only from trusted proxies (addresses, or [`ProxyNetwork`] blocks) |
//! | [`rejection_response`], [`AuthError`] | the one mapping from [`Rejection`] to a response |
//!
//! # Feature flags
//!
//! | Name | Description | Default? |
//! |---|---|---|
//! | `basic` | HTTP Basic: `basic::middleware` and the `auth-basic` types | no |
//! | `apikey` | API keys: the `auth-apikey` types and the `ApiKeyInfo` extractor | no |
//! | `jwt` | JWT bearer tokens: the `JwtClaims<C>` extractor, `jwks_response`, the `auth-jwt` types | no |
//! | `session` | server-side sessions: `SessionMiddleware` and the `Session` extractor | no |
//! | `hmac` | HTTP Message Signatures and webhook signatures: the `auth-hmac` types | no |
//! | `oauth2` | OAuth 2.0 resource server: `oauth2::middleware`, the `TokenInfo` extractor, the `auth-oauth2` types | no |
//! | `oauth2-server` | the OAuth 2.0 token service endpoints (`TokenEndpoints`) and the first-party login (`FirstPartyLogin`, `POST /auth/token`); enables `basic` | no |
//!
//! # Quick start
//!
//! ```no_run
//! use actix_web::{web, App, HttpResponse, HttpServer};
//! use auth_actix::{AnyOf, Authenticate, Authenticated, RequireHttps};
//! # use auth_core::{async_trait, AuthRequest, Authenticator, Challenge, Outcome, Scheme};
//! # #[derive(Debug)] struct JwtScheme(Vec<Challenge>);
//! # #[async_trait] impl Authenticator for JwtScheme {
//! #     fn scheme(&self) -> Scheme { Scheme::JWT }
//! #     fn challenges(&self) -> &[Challenge] { &self.0 }
//! #     async fn authenticate(&self, _: &AuthRequest<'_>) -> Outcome { Outcome::NoCredential }
//! # }
//! # #[derive(Debug)] struct ApiKeyScheme(Vec<Challenge>);
//! # #[async_trait] impl Authenticator for ApiKeyScheme {
//! #     fn scheme(&self) -> Scheme { Scheme::API_KEY }
//! #     fn challenges(&self) -> &[Challenge] { &self.0 }
//! #     async fn authenticate(&self, _: &AuthRequest<'_>) -> Outcome { Outcome::NoCredential }
//! # }
//!
//! async fn me(user: Authenticated) -> HttpResponse {
//!     HttpResponse::Ok().body(format!("hello {}", user.subject()))
//! }
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     // Built once, shared by every worker.
//!     let auth = Authenticate::new(
//!         AnyOf::new()
//!             .or(JwtScheme(vec![Challenge::bearer("api")]))
//!             .or(ApiKeyScheme(vec![Challenge::new("ApiKey").param("realm", "api")])),
//!     );
//!     HttpServer::new(move || {
//!         App::new()
//!             .wrap(RequireHttps::new())
//!             .route("/health", web::get().to(HttpResponse::Ok))
//!             .service(web::scope("/api").wrap(auth.clone()).route("/me", web::get().to(me)))
//!     })
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await
//! }
//! ```
//!
//! # Responses
//!
//! | Situation | Status | `WWW-Authenticate` | body `error` |
//! |---|---|---|---|
//! | no credential | 401 | one per accepted scheme, no error code (RFC 6750 §3.1) | `unauthorized` |
//! | malformed credential | 400 | the scheme's | `invalid_request` |
//! | wrong or expired credential | 401 | the scheme's (`error="invalid_token"` on Bearer) | `invalid_token` / `invalid_credentials` |
//! | missing scope | 403 | with `error="insufficient_scope"`, `scope="..."` on Bearer | `insufficient_scope` |
//! | credential over plain HTTP | 403 | - | `https_required` |
//! | body over the limit | 413 | - | `payload_too_large` |
//! | too many failures | 429 + `Retry-After` | - | `too_many_requests` |
//! | a store is down | 503 | - | `temporarily_unavailable` |
//!
//! Every response carries `Cache-Control: no-store`; no body names the check that failed.
//!
//! # Middleware order
//!
//! actix-web runs the *last* `.wrap()` first. Put [`RequireHttps`] outermost (wrap it last,
//! or on the `App`), then [`Authenticate`], then [`RequireScopes`] innermost.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

#[cfg(feature = "apikey")]
pub mod apikey;
#[cfg(feature = "basic")]
pub mod basic;
mod extract;
mod headers;
#[cfg(feature = "hmac")]
pub mod hmac;
mod https;
#[cfg(feature = "jwt")]
pub mod jwt;
mod middleware;
mod network;
#[cfg(feature = "oauth2")]
pub mod oauth2;
#[cfg(feature = "oauth2-server")]
pub mod oauth2_server;
mod response;
mod scope;
#[cfg(feature = "session")]
pub mod session;

pub use auth_core;
pub use auth_core::{AnyOf, Authenticator, Principal, Rejection, Scopes};
pub use extract::Authenticated;
pub use headers::ActixHeaders;
pub use https::{
    DEFAULT_CREDENTIAL_HEADERS, DEFAULT_CREDENTIAL_PARAMS, ForwardedClient, RequireHttps,
    RequireHttpsMiddleware, TransportSecurity,
};
pub use middleware::{Authenticate, AuthenticateMiddleware, DEFAULT_BODY_LIMIT};
pub use network::{ProxyNetwork, ProxyNetworkError};
pub use response::{AuthError, rejection_response};
pub use scope::{RequireScopes, RequireScopesMiddleware};
