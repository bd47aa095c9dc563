//! The OAuth 2.0 token service for actix-web (feature `oauth2-server`): [`TokenEndpoints`]
//! mounts an `auth-oauth2` [`TokenService`] — token, introspection, revocation, RFC 8414
//! metadata, JWKS — and [`FirstPartyLogin`] mounts the article's Bearer login
//! (`POST /auth/token` with `{username, password}`) over a Basic user store. With the
//! `session` feature too, `AuthorizationEndpoint` mounts the authorization endpoint
//! (authorization code + PKCE, login through the auth-session session, a consent page with
//! a CSRF-protected form).
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
    AccessTokenRecord, AccessTokenStore, AuthenticatedUser, AuthorizationCodeStore, AuthorizeError,
    AuthorizeOutcome, ClientConfig, ClientRecord, ClientRegistry, ConsentPrompt, ConsentStore,
    EndpointError, EndpointPaths, EndpointResponse, GrantType, MemoryAccessTokenStore,
    MemoryAuthorizationCodeStore, MemoryClientRegistry, MemoryConsentStore,
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
        .with_peer(crate::https::client_addr(req))
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

/// Renders the consent page: the prompt, the session's CSRF token and the path the form
/// posts to. See [`default_consent_page`].
pub type ConsentPage = dyn Fn(&ConsentPrompt, &str, &str) -> HttpResponse + Send + Sync;

/// Mounts the authorization endpoint of a [`TokenService`] (feature `session` too):
/// `GET` at the service's [`authorization_path`](TokenService::authorization_path) runs
/// [`TokenService::authorize`] for the user of the request's auth-session
/// ([`Session::user`](crate::session::Session::user)); `POST` there takes the consent
/// form (`csrf_token`, `request`, `decision=approve|deny`, `remember`) and runs
/// [`TokenService::decide`].
///
/// | outcome | response |
/// |---|---|
/// | no user | 303 to the login page with `return_to` = this request's path and query (relative: check it with [`safe_return_to`] before following it) |
/// | consent needed | the consent page (default [`default_consent_page`]), `no-store`, not frameable |
/// | code or redirectable error | 303 to the client's redirect URI |
/// | unsafe to redirect | an HTML error page (400), never a redirect |
/// | consent form without the session's CSRF token | 403 |
///
/// The routes must sit behind a [`SessionMiddleware`](crate::session::SessionMiddleware)
/// (it also checks the CSRF token; this endpoint checks it again, whatever the
/// middleware's mode).
#[cfg(feature = "session")]
#[derive(Clone)]
pub struct AuthorizationEndpoint {
    service: TokenService,
    consents: Arc<dyn ConsentStore>,
    login_path: String,
    consent_page: Arc<ConsentPage>,
}

#[cfg(feature = "session")]
impl AuthorizationEndpoint {
    /// The default login page: `/login`.
    pub const DEFAULT_LOGIN_PATH: &'static str = "/login";

    /// The authorization endpoint of `service`, remembering consents in `consents`.
    #[must_use]
    pub fn new(service: TokenService, consents: Arc<dyn ConsentStore>) -> Self {
        Self {
            service,
            consents,
            login_path: Self::DEFAULT_LOGIN_PATH.to_owned(),
            consent_page: Arc::new(default_consent_page),
        }
    }

    /// Where users who are not logged in are sent (a path on this server), with
    /// `?return_to=<relative path>`.
    #[must_use]
    pub fn login_path(mut self, path: impl Into<String>) -> Self {
        self.login_path = path.into();
        self
    }

    /// The consent page (the hook the application supplies).
    #[must_use]
    pub fn consent_page(
        mut self,
        page: impl Fn(&ConsentPrompt, &str, &str) -> HttpResponse + Send + Sync + 'static,
    ) -> Self {
        self.consent_page = Arc::new(page);
        self
    }

    /// Adds `GET` and `POST` at the service's authorization path (behind a
    /// `SessionMiddleware` that wraps an enclosing scope). To wrap the endpoint alone, use
    /// [`resource`](Self::resource).
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.service(self.resource());
    }

    /// The endpoint as a resource at the service's authorization path, to wrap it with
    /// the session middleware alone: `cfg.service(endpoint.resource().wrap(sessions))`.
    #[must_use]
    pub fn resource(&self) -> actix_web::Resource {
        let get = self.clone();
        let post = self.clone();
        web::resource(self.service.authorization_path())
            .route(
                web::get().to(move |req: HttpRequest, session: crate::session::Session| {
                    let this = get.clone();
                    async move { this.authorize(&req, &session).await }
                }),
            )
            .route(web::post().to(
                move |req: HttpRequest, session: crate::session::Session, body: web::Bytes| {
                    let this = post.clone();
                    async move { this.decide(&req, &session, &body).await }
                },
            ))
    }

    async fn authorize(
        &self,
        req: &HttpRequest,
        session: &crate::session::Session,
    ) -> HttpResponse {
        let headers = ActixHeaders(req.headers());
        let request = auth_request(req, &headers, None);
        let user = session.user().map(AuthenticatedUser::new);
        let outcome = self
            .service
            .authorize(&request, user.as_ref(), &*self.consents)
            .await;
        self.respond(outcome, session)
    }

    async fn decide(
        &self,
        req: &HttpRequest,
        session: &crate::session::Session,
        body: &[u8],
    ) -> HttpResponse {
        let form: Vec<(String, String)> = auth_oauth2::oauth2::url::form_urlencoded::parse(body)
            .into_owned()
            .collect();
        let field = |name: &str| {
            form.iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let expected = session.csrf_token().ok();
        let csrf_ok = match (field("csrf_token"), expected.as_deref(), session.user()) {
            (Some(sent), Some(expected), Some(_)) => {
                auth_core::ct_eq(sent.as_bytes(), expected.as_bytes())
            }
            _ => false,
        };
        if !csrf_ok {
            return error_page(
                403,
                "The consent form is missing its CSRF token or it is stale",
            );
        }
        let Some(user) = session.user().map(AuthenticatedUser::new) else {
            return error_page(403, "Log in first");
        };
        let query = field("request").unwrap_or_default();
        let target = format!("{}?{query}", self.service.authorization_path());
        let headers = ActixHeaders(req.headers());
        let secure = auth_request(req, &headers, None).is_secure();
        let request = AuthRequest::new("POST", &target, &headers)
            .with_peer(crate::https::client_addr(req))
            .with_secure(secure);
        let approved = field("decision") == Some("approve");
        let remember = field("remember").is_some();
        let outcome = self
            .service
            .decide(&request, &user, approved, remember, &*self.consents)
            .await;
        self.respond(outcome, session)
    }

    fn respond(
        &self,
        outcome: AuthorizeOutcome,
        session: &crate::session::Session,
    ) -> HttpResponse {
        match outcome {
            AuthorizeOutcome::Login { return_to } => {
                let mut location =
                    auth_oauth2::oauth2::url::form_urlencoded::Serializer::new(String::new());
                location.append_pair("return_to", &return_to);
                see_other(&format!("{}?{}", self.login_path, location.finish()))
            }
            AuthorizeOutcome::Consent(prompt) => match session.csrf_token() {
                Ok(token) => {
                    let mut response =
                        (self.consent_page)(&prompt, &token, self.service.authorization_path());
                    harden(&mut response);
                    response
                }
                Err(_) => error_page(503, "The service is temporarily unavailable"),
            },
            AuthorizeOutcome::Redirect { location }
            | AuthorizeOutcome::RedirectError { location, .. } => see_other(&location),
            AuthorizeOutcome::ShowError(error) => error_page(error.status(), error.description()),
            _ => error_page(500, "Unexpected outcome"),
        }
    }
}

#[cfg(feature = "session")]
impl fmt::Debug for AuthorizationEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationEndpoint")
            .field("service", &self.service)
            .field("login_path", &self.login_path)
            .finish_non_exhaustive()
    }
}

/// `return_to` if it is a path on this server (`/...`, not `//host` or `/\host`, no
/// control characters): what a login page may redirect to after the login. `None`
/// otherwise (redirect to `/`): never an open redirect.
#[must_use]
pub fn safe_return_to(return_to: &str) -> Option<&str> {
    let bytes = return_to.as_bytes();
    let ok = bytes.first() == Some(&b'/')
        && !matches!(bytes.get(1), Some(b'/' | b'\\'))
        && !return_to.chars().any(|c| c.is_control() || c == '\\');
    ok.then_some(return_to)
}

/// Escapes `text` for HTML text and attribute values.
#[must_use]
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A minimal consent page: the client, the scopes, and a form posting `csrf_token`,
/// `request`, `remember` and `decision` (Allow / Deny) to `action`.
#[must_use]
pub fn default_consent_page(
    prompt: &ConsentPrompt,
    csrf_token: &str,
    action: &str,
) -> HttpResponse {
    let scopes: String = prompt
        .scopes
        .iter()
        .map(|s| format!("<li>{}</li>", html_escape(s)))
        .collect();
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Authorize {client}</title></head>\
         <body><h1>Authorize {client}</h1><p><strong>{client}</strong> asks for access to your account:</p>\
         <ul>{scopes}</ul>\
         <form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"request\" value=\"{request}\">\
         <label><input type=\"checkbox\" name=\"remember\" value=\"1\"> Remember this decision</label>\
         <button type=\"submit\" name=\"decision\" value=\"approve\">Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\
         </form></body></html>",
        client = html_escape(&prompt.client_id),
        action = html_escape(action),
        csrf = html_escape(csrf_token),
        request = html_escape(&prompt.request_query),
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body)
}

/// No caching, no framing (clickjacking a consent page would approve for the user).
#[cfg(feature = "session")]
fn harden(response: &mut HttpResponse) {
    let headers = response.headers_mut();
    let set = |headers: &mut actix_web::http::header::HeaderMap,
               name: &'static str,
               value: &'static str| {
        headers.insert(
            actix_web::http::header::HeaderName::from_static(name),
            actix_web::http::header::HeaderValue::from_static(value),
        );
    };
    set(headers, "cache-control", "no-store");
    set(headers, "x-frame-options", "DENY");
    set(headers, "content-security-policy", "frame-ancestors 'none'");
}

#[cfg(feature = "session")]
fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("location", location))
        .insert_header(("cache-control", "no-store"))
        .finish()
}

#[cfg(feature = "session")]
fn error_page(status: u16, description: &str) -> HttpResponse {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Authorization error</title></head>\
             <body><h1>Authorization error</h1><p>{}</p></body></html>",
            html_escape(description)
        ));
    harden(&mut response);
    response
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
    async fn return_urls_are_relative_paths_only_and_html_is_escaped() {
        assert_eq!(safe_return_to("/authorize?x=1"), Some("/authorize?x=1"));
        for open in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "",
            "x",
            "/a\nb",
        ] {
            assert_eq!(safe_return_to(open), None, "{open:?}");
        }
        assert_eq!(
            html_escape("<a href=\"x\">'&"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;"
        );
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
