//! The OAuth 2.0 token service for actix-web (feature `oauth2-server`): [`TokenEndpoints`]
//! mounts an `auth-oauth2` [`TokenService`] — token, introspection, revocation, RFC 8414
//! metadata, JWKS — and [`FirstPartyLogin`] mounts the article's Bearer login
//! (`POST /auth/token` with `{username, password}`) over a Basic user store.
//!
//! ```
//! use std::sync::Arc;
//! use actix_web::{web, App};
//! use auth_actix::RequireHttps;
//! use auth_actix::basic::{Argon2Hasher, BasicAuthenticator, MemoryUserStore};
//! use auth_actix::oauth2_server::{
//!     ClientConfig, FirstPartyLogin, GrantType, MemoryClientRegistry, TokenEndpoints,
//!     TokenService,
//! };
//! use auth_oauth2::TokenFormat;
//! use auth_oauth2::auth_jwt::{Algorithm, Key, KeySet};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let clients = Arc::new(MemoryClientRegistry::new());
//! let secret = clients.register(
//!     ClientConfig::new("billing")
//!         .grant(GrantType::ClientCredentials)
//!         .scopes("orders:read".parse()?)
//!         .audience("https://api.example/orders"),
//! )?;
//! let service = TokenService::builder(
//!     "https://id.example",
//!     KeySet::single(Key::generate("2026-01", Algorithm::ES256)?),
//!     clients,
//! )
//! .audience("https://api.example/orders", TokenFormat::Jwt)
//! .first_party_login("orders-web", "https://api.example/orders")
//! .build()?;
//!
//! let users = Arc::new(MemoryUserStore::new());
//! users.add_user(&Argon2Hasher::default(), "alice", "correct horse battery staple", "orders:read")?;
//! let passwords = Arc::new(BasicAuthenticator::builder(users).build()?);
//!
//! let endpoints = TokenEndpoints::new(service.clone());
//! let login = FirstPartyLogin::new(service, passwords);
//! let app = App::new()
//!     .wrap(RequireHttps::new())
//!     .configure(|cfg| endpoints.configure(cfg))
//!     .configure(|cfg| login.configure(cfg));
//! # let _ = (app, secret);
//! # Ok(())
//! # }
//! ```
//!
//! Requests reach the service as they came (the query string included, so credentials in
//! the URL get their teaching 400); bodies are read up to a limit (16 KiB; 413 above).
//! Whether the request came over TLS is taken from [`RequireHttps`](crate::RequireHttps)
//! when it runs (trusted proxies included), else from the listener.

use std::fmt;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use auth_core::{AuthRequest, HeaderSource, Outcome, Principal, Rejection, Scheme, Secret};
use futures_util::StreamExt as _;

pub use auth_oauth2::{
    AccessTokenRecord, AccessTokenStore, ClientConfig, ClientRecord, ClientRegistry, EndpointError,
    EndpointPaths, EndpointResponse, GrantType, MemoryAccessTokenStore, MemoryClientRegistry,
    MemoryRefreshTokenStore, PasswordCheck, RefreshTokenRecord, RefreshTokenStore, TokenService,
    TokenServiceBuilder, UserTokens, generate_client_secret,
};

use crate::basic::{BasicAuthenticator, BasicCredentials};
use crate::{ActixHeaders, TransportSecurity, rejection_response};

/// The default body limit of the token, introspection and revocation endpoints: 16 KiB.
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024;

/// The default body limit of the first-party login: 4 KiB.
pub const DEFAULT_LOGIN_BODY_LIMIT: usize = 4 * 1024;

/// Mounts a [`TokenService`]'s endpoints on an app, at the service's
/// [`paths`](TokenService::paths): token, introspection and revocation (any method: the
/// service answers 405 to all but POST), the metadata at
/// [`metadata_path`](TokenService::metadata_path) and the JWKS (GET).
#[derive(Clone)]
pub struct TokenEndpoints {
    service: TokenService,
    body_limit: usize,
}

impl TokenEndpoints {
    /// The endpoints of `service`, bodies up to [`DEFAULT_BODY_LIMIT`].
    #[must_use]
    pub fn new(service: TokenService) -> Self {
        Self {
            service,
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }

    /// The largest body read (413 above).
    #[must_use]
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// The service.
    #[must_use]
    pub fn service(&self) -> &TokenService {
        &self.service
    }

    /// Adds the routes to `cfg` (`App::configure(|cfg| endpoints.configure(cfg))`).
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        let paths = self.service.paths().clone();
        let post = |endpoint: Endpoint| {
            let this = self.clone();
            web::route().to(move |req: HttpRequest, payload: web::Payload| {
                let this = this.clone();
                async move { this.serve(endpoint, &req, payload).await }
            })
        };
        cfg.route(&paths.token, post(Endpoint::Token))
            .route(&paths.introspection, post(Endpoint::Introspection))
            .route(&paths.revocation, post(Endpoint::Revocation));
        let service = self.service.clone();
        cfg.route(
            self.service.metadata_path(),
            web::get().to(move || {
                let response = service.metadata();
                async move { http_response(&response) }
            }),
        );
        let service = self.service.clone();
        cfg.route(
            &paths.jwks,
            web::get().to(move || {
                let response = service.jwks();
                async move { http_response(&response) }
            }),
        );
    }

    async fn serve(
        &self,
        endpoint: Endpoint,
        req: &HttpRequest,
        payload: web::Payload,
    ) -> HttpResponse {
        let headers = ActixHeaders(req.headers());
        let body = match read_body(req, &headers, payload, self.body_limit).await {
            Ok(body) => body,
            Err(response) => return response,
        };
        let request = auth_request(req, &headers, Some(&body));
        let response = match endpoint {
            Endpoint::Token => self.service.token(&request).await,
            Endpoint::Introspection => self.service.introspect(&request).await,
            Endpoint::Revocation => self.service.revoke(&request).await,
        };
        http_response(&response)
    }
}

impl fmt::Debug for TokenEndpoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenEndpoints")
            .field("service", &self.service)
            .field("body_limit", &self.body_limit)
            .finish()
    }
}

#[derive(Debug, Clone, Copy)]
enum Endpoint {
    Token,
    Introspection,
    Revocation,
}

/// Mounts the first-party login: `POST /auth/token` (by default) with JSON
/// `{"username", "password"}` checked by a [`BasicAuthenticator`] — its user store, argon2id
/// off the reactor, dummy hash for unknown users, throttling per user and per client, one
/// audit event (scheme `basic`) — then tokens from
/// [`TokenService::issue_to_user`]: `{"accessToken", "tokenType": "Bearer", "expiresIn",
/// "refreshToken", "scope"}`. `{"refreshToken"}` rotates the refresh token.
///
/// An unknown user and a wrong password get the same 401 (`{"error":
/// "invalid_credentials", ...}`), with no `WWW-Authenticate` (a JSON login must not open the
/// browser's Basic dialog); throttled attempts 429 with `Retry-After`. User names
/// containing `:` cannot be Basic credentials (RFC 7617 §2) and get 400.
///
/// # Security
///
/// This is the application's own login (its login form or API), not the OAuth 2.0
/// password grant, which the token endpoint refuses (RFC 9700 §2.4): no third-party client
/// ever handles the user's password. Share the `BasicAuthenticator` with the app's Basic
/// routes so both count failed attempts together.
#[derive(Clone)]
pub struct FirstPartyLogin {
    service: TokenService,
    passwords: Arc<BasicPasswords>,
    path: String,
    body_limit: usize,
}

impl FirstPartyLogin {
    /// The default path: `/auth/token`, as in the article.
    pub const DEFAULT_PATH: &'static str = "/auth/token";

    /// The login for `service` (built with
    /// [`first_party_login`](TokenServiceBuilder::first_party_login)), checking passwords
    /// with `basic`.
    #[must_use]
    pub fn new(service: TokenService, basic: Arc<BasicAuthenticator>) -> Self {
        Self {
            service,
            passwords: Arc::new(BasicPasswords(basic)),
            path: Self::DEFAULT_PATH.to_owned(),
            body_limit: DEFAULT_LOGIN_BODY_LIMIT,
        }
    }

    /// Serves it at `path` instead.
    #[must_use]
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// The largest body read (413 above; default [`DEFAULT_LOGIN_BODY_LIMIT`]).
    #[must_use]
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Adds the route to `cfg` (any method: the service answers 405 to all but POST).
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        let this = self.clone();
        cfg.route(
            &self.path,
            web::route().to(move |req: HttpRequest, payload: web::Payload| {
                let this = this.clone();
                async move { this.serve(&req, payload).await }
            }),
        );
    }

    async fn serve(&self, req: &HttpRequest, payload: web::Payload) -> HttpResponse {
        let headers = ActixHeaders(req.headers());
        let body = match read_body(req, &headers, payload, self.body_limit).await {
            Ok(body) => body,
            Err(response) => return response,
        };
        let request = auth_request(req, &headers, Some(&body));
        let response = self
            .service
            .first_party_token(&request, &*self.passwords)
            .await;
        http_response(&response)
    }
}

impl fmt::Debug for FirstPartyLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FirstPartyLogin")
            .field("path", &self.path)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

/// [`PasswordCheck`] by a [`BasicAuthenticator`]: the name and password become the Basic
/// credentials of a request otherwise identical to the login request, so every Basic rule
/// applies unchanged.
#[derive(Debug)]
struct BasicPasswords(Arc<BasicAuthenticator>);

/// One `Authorization` header whose value is zeroized on drop.
struct OneHeader(Secret);

impl HeaderSource for OneHeader {
    fn get(&self, name: &str) -> Option<&[u8]> {
        name.eq_ignore_ascii_case("authorization")
            .then(|| self.0.expose_secret())
    }

    fn get_all(&self, name: &str) -> Vec<&[u8]> {
        self.get(name).into_iter().collect()
    }
}

#[auth_core::async_trait]
impl PasswordCheck for BasicPasswords {
    async fn check(
        &self,
        username: &str,
        password: &Secret,
        request: &AuthRequest<'_>,
    ) -> Result<Principal, Rejection> {
        if username.contains(':') {
            let rejection = Rejection::invalid_request(
                Vec::new(),
                "A user name cannot contain ':' (RFC 7617 §2)",
                "colon_in_username",
            )
            .with_scheme(Scheme::BASIC);
            auth_core::audit::record_rejection(Scheme::BASIC, &rejection, request);
            return Err(rejection);
        }
        let header = OneHeader(Secret::from(
            BasicCredentials::new(username, password.clone()).header_value(),
        ));
        let basic_request = AuthRequest::new(request.method(), request.target(), &header)
            .with_peer(request.peer())
            .with_secure(request.is_secure());
        match auth_core::authenticate(&*self.0, &basic_request).await {
            Outcome::Authenticated(principal) => Ok(principal),
            Outcome::Rejected(rejection) => Err(rejection),
            Outcome::NoCredential => {
                Err(Rejection::invalid_credentials(Vec::new(), "no_credential"))
            }
        }
    }
}

/// The framework-neutral view of `req`, with `body`.
fn auth_request<'a>(
    req: &'a HttpRequest,
    headers: &'a ActixHeaders<'a>,
    body: Option<&'a [u8]>,
) -> AuthRequest<'a> {
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.path(), |pq| pq.as_str());
    let secure = req
        .extensions()
        .get::<TransportSecurity>()
        .map_or_else(|| req.app_config().secure(), |t| t.secure);
    AuthRequest::new(req.method().as_str(), target, headers)
        .with_peer(req.peer_addr())
        .with_secure(secure)
        .with_body(body)
}

/// Reads the body, at most `limit` bytes: above, 413 (audited).
async fn read_body(
    req: &HttpRequest,
    headers: &ActixHeaders<'_>,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Vec<u8>, HttpResponse> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let refused = match chunk {
            Ok(chunk) if body.len() + chunk.len() <= limit => {
                body.extend_from_slice(&chunk);
                continue;
            }
            Ok(_) => Rejection::payload_too_large(),
            Err(_) => Rejection::invalid_request(
                Vec::new(),
                "The request body could not be read",
                "body_unreadable",
            ),
        };
        let request = auth_request(req, headers, None);
        auth_core::audit::record_rejection(Scheme::OAUTH2, &refused, &request);
        return Err(rejection_response(&refused));
    }
    Ok(body)
}

/// The [`EndpointResponse`] as an actix-web response.
fn http_response(response: &EndpointResponse) -> HttpResponse {
    let status =
        StatusCode::from_u16(response.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    for (name, value) in response.headers() {
        builder.append_header((*name, value.as_str()));
    }
    builder.body(response.body().to_owned())
}

#[cfg(test)]
mod tests {
    use actix_web::{App, test};
    use auth_oauth2::TokenFormat;
    use auth_oauth2::auth_jwt::{Algorithm, Key, KeySet};

    use super::*;
    use crate::basic::{Argon2Hasher, MemoryUserStore};

    fn service() -> (TokenService, Secret) {
        let clients = Arc::new(MemoryClientRegistry::new());
        let secret = clients
            .register(
                ClientConfig::new("svc")
                    .grant(GrantType::ClientCredentials)
                    .scopes("orders:read".parse().unwrap())
                    .audience("https://api.example/orders"),
            )
            .unwrap();
        let service = TokenService::builder(
            "https://id.example",
            KeySet::single(Key::generate("k1", Algorithm::ES256).unwrap()),
            clients,
        )
        .audience("https://api.example/orders", TokenFormat::Jwt)
        .first_party_login("web", "https://api.example/orders")
        .insecure_allow_loopback_http()
        .build()
        .unwrap();
        (service, secret)
    }

    #[actix_web::test]
    async fn the_endpoints_are_mounted_at_the_services_paths() {
        let (service, secret) = service();
        let endpoints = TokenEndpoints::new(service).body_limit(256);
        let app = test::init_service(App::new().configure(|cfg| endpoints.configure(cfg))).await;
        let peer = "127.0.0.1:4000".parse().unwrap();
        let token = test::TestRequest::post()
            .uri("/token")
            .peer_addr(peer)
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(format!(
                "grant_type=client_credentials&client_id=svc&client_secret={}",
                secret.expose_str().unwrap()
            ))
            .to_request();
        let response = test::call_service(&app, token).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
        assert_eq!(response.headers().get("pragma").unwrap(), "no-cache");

        let too_large = test::TestRequest::post()
            .uri("/token")
            .peer_addr(peer)
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload("x".repeat(257))
            .to_request();
        let response = test::call_service(&app, too_large).await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

        let get = test::TestRequest::get()
            .uri("/token")
            .peer_addr(peer)
            .to_request();
        assert_eq!(
            test::call_service(&app, get).await.status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
        for path in [
            "/.well-known/oauth-authorization-server",
            "/.well-known/jwks.json",
        ] {
            let request = test::TestRequest::get().uri(path).to_request();
            assert_eq!(
                test::call_service(&app, request).await.status(),
                StatusCode::OK,
                "{path}"
            );
        }
    }

    #[actix_web::test]
    async fn the_first_party_login_answers_identically_for_unknown_users_and_wrong_passwords() {
        let (service, _) = service();
        let users = Arc::new(MemoryUserStore::new());
        users
            .add_user(
                &Argon2Hasher::default(),
                "alice",
                "correct horse battery staple",
                "orders:read",
            )
            .unwrap();
        let basic = Arc::new(BasicAuthenticator::builder(users).build().unwrap());
        let login = FirstPartyLogin::new(service, basic);
        let app = test::init_service(App::new().configure(|cfg| login.configure(cfg))).await;
        let call = |username: &str, password: &str| {
            test::TestRequest::post()
                .uri("/auth/token")
                .peer_addr("127.0.0.1:4000".parse().unwrap())
                .insert_header(("content-type", "application/json"))
                .set_payload(format!(
                    r#"{{"username":"{username}","password":"{password}"}}"#
                ))
                .to_request()
        };
        let ok = test::call_service(&app, call("alice", "correct horse battery staple")).await;
        assert_eq!(ok.status(), StatusCode::OK);
        let body = String::from_utf8(test::read_body(ok).await.to_vec()).unwrap();
        assert!(body.contains(r#""tokenType":"Bearer""#), "{body}");
        assert!(body.contains(r#""accessToken":""#), "{body}");

        let mut answers = Vec::new();
        for (user, password) in [("alice", "wrong"), ("bob", "wrong")] {
            let response = test::call_service(&app, call(user, password)).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            assert!(response.headers().get("www-authenticate").is_none());
            answers.push(test::read_body(response).await);
        }
        assert_eq!(answers[0], answers[1]);
        let colon = test::call_service(&app, call("a:b", "x")).await;
        assert_eq!(colon.status(), StatusCode::BAD_REQUEST);
    }
}
