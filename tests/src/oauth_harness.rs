//! A live OAuth 2.0 authorization server for the end-to-end tests of the authorization code
//! flow: the real [`AuthorizationEndpoint`], [`TokenEndpoints`] and an auth-session login
//! on `127.0.0.1:<free port>`, served at its own issuer identifier (the port is bound before
//! the service is built), wrapped in the [leak watch](crate::leaks), and a browser stand-in
//! that logs `alice` in and walks to the consent page.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use auth_actix::RequireHttps;
use auth_actix::oauth2_server::{
    AuthorizationEndpoint, MemoryClientRegistry, MemoryConsentStore, TokenEndpoints, TokenService,
    TokenServiceBuilder, safe_return_to,
};
use auth_actix::session::{
    CookieKey, CookieKeys, MemoryStore, Session, SessionManager, SessionMiddleware,
};
use auth_jwt::{Algorithm, Key, KeySet};
use auth_oauth2::TokenFormat;
use auth_oauth2::oauth2::url;
use reqwest::StatusCode;

use crate::leaks;

/// The resource the servers issue JWT access tokens for.
pub const ORDERS: &str = "https://api.e2e/orders";

/// An authorization server running on `127.0.0.1`; it stops when dropped, then runs the
/// leak check over what it logged and answered.
pub struct AuthServer {
    /// `http://127.0.0.1:<port>`: the issuer identifier too.
    pub base: String,
    /// The token service behind the endpoints.
    pub service: TokenService,
    /// No redirects followed, no cookie store: the test carries the session cookie itself.
    pub http: reqwest::Client,
    handle: ServerHandle,
    mark: leaks::Mark,
}

impl AuthServer {
    /// Starts a server for the clients of `clients`; its token service is built by
    /// `configure` from a builder that already has the issuer, a fresh ES256 key, the
    /// [`ORDERS`] audience (JWT) and loopback HTTP allowed. The login page is `/login`.
    ///
    /// # Panics
    ///
    /// When the port cannot be bound or the service not built (the test cannot run).
    pub fn start(
        clients: Arc<MemoryClientRegistry>,
        configure: impl FnOnce(TokenServiceBuilder) -> TokenServiceBuilder,
    ) -> Self {
        crate::LogCapture::install();
        let mark = leaks::mark();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let builder = TokenService::builder(
            base.clone(),
            KeySet::single(Key::generate("as-1", Algorithm::ES256).unwrap()),
            clients,
        )
        .audience(ORDERS, TokenFormat::Jwt)
        .insecure_allow_loopback_http();
        let service = configure(builder).build().expect("the token service");
        let manager = SessionManager::builder(
            MemoryStore::default(),
            CookieKeys::new(CookieKey::generate().unwrap()),
        )
        .insecure_dev_cookie_without_secure()
        .build()
        .unwrap();
        // Origin checks only: the endpoint's own CSRF check is the one the tests exercise.
        let sessions = SessionMiddleware::new(manager).csrf_origin_checks_only();
        let endpoints = TokenEndpoints::new(service.clone());
        let authorize =
            AuthorizationEndpoint::new(service.clone(), Arc::new(MemoryConsentStore::new()));
        let server = HttpServer::new(move || {
            let (endpoints, authorize) = (endpoints.clone(), authorize.clone());
            App::new()
                .wrap(RequireHttps::new().insecure_allow_loopback_http())
                .configure(move |cfg| endpoints.configure(cfg))
                .service(
                    web::scope("")
                        .wrap(sessions.clone())
                        .route("/login", web::get().to(login))
                        .configure(move |cfg| authorize.configure(cfg)),
                )
                .wrap(leaks::Watch)
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self {
            base,
            service,
            http: no_redirects(),
            handle,
            mark,
        }
    }

    /// `<base><path>`.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Follows the browser's way to the consent page: authorize, login, back. Returns the
    /// session cookie and the page.
    ///
    /// # Panics
    ///
    /// When a step does not answer as an honest server does.
    pub async fn to_consent(&self, authorize_url: &str) -> (String, String) {
        let first = self.http.get(authorize_url).send().await.unwrap();
        let login_at = location(&first);
        let expected = format!(
            "/login?return_to={}",
            url::form_urlencoded::byte_serialize(
                format!("{}?", self.service.authorization_path()).as_bytes()
            )
            .collect::<String>()
        );
        assert!(login_at.starts_with(&expected), "{login_at}");
        let logged_in = self.http.get(self.url(&login_at)).send().await.unwrap();
        let back = location(&logged_in);
        assert!(
            back.starts_with(self.service.authorization_path()),
            "{back}"
        );
        let cookie = cookie(&logged_in);
        let consent = self
            .http
            .get(self.url(&back))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(consent.status(), StatusCode::OK);
        assert_eq!(consent.headers()["x-frame-options"], "DENY");
        (cookie, consent.text().await.unwrap())
    }

    /// Logs `alice` in, approves the consent page and returns where the server redirects
    /// the browser to (the client's callback with the code, `state` and `iss`).
    ///
    /// # Panics
    ///
    /// When a step does not answer as an honest server does.
    pub async fn approve(&self, authorize_url: &str) -> String {
        let (cookie, page) = self.to_consent(authorize_url).await;
        self.approve_page(&cookie, &page).await
    }

    /// Approves the consent `page` shown to the session `cookie` (as [`to_consent`] returns
    /// them); the `Location` it redirects to.
    ///
    /// [`to_consent`]: Self::to_consent
    ///
    /// # Panics
    ///
    /// When the server does not answer.
    pub async fn approve_page(&self, cookie: &str, page: &str) -> String {
        let approved = self
            .http
            .post(self.service.authorization_endpoint())
            .header("cookie", cookie)
            .form(&[
                ("csrf_token", hidden(page, "csrf_token").as_str()),
                ("request", hidden(page, "request").as_str()),
                ("decision", "approve"),
            ])
            .send()
            .await
            .unwrap();
        location(&approved)
    }
}

impl Drop for AuthServer {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        actix_web::rt::spawn(async move { handle.stop(false).await });
        if !std::thread::panicking() {
            let leaks = leaks::check_since(self.mark);
            assert!(leaks.is_empty(), "{}", leaks::report(&leaks));
        }
    }
}

impl std::fmt::Debug for AuthServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthServer")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// An HTTP client that follows no redirect and keeps no cookie (a browser stand-in whose
/// every step the test sees).
#[must_use]
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(crate::REQUEST_TIMEOUT)
        .no_proxy()
        .build()
        .expect("build the HTTP client")
}

/// The test's stand-in login page: logs `alice` in and goes back to `return_to` when it is
/// a path on this server.
pub async fn login(req: HttpRequest, session: Session) -> HttpResponse {
    let return_to = url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(n, _)| n == "return_to")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    session.login("alice");
    let target = safe_return_to(&return_to).unwrap_or("/").to_owned();
    HttpResponse::SeeOther()
        .insert_header(("location", target))
        .finish()
}

/// The `Location` of a 303.
///
/// # Panics
///
/// When `response` is not a 303 with a `Location`.
#[must_use]
pub fn location(response: &reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// The `name=value` of the response's `Set-Cookie`.
///
/// # Panics
///
/// When `response` sets no cookie.
#[must_use]
pub fn cookie(response: &reqwest::Response) -> String {
    let set = response.headers()["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

/// The value of the hidden input `name` in an HTML form.
///
/// # Panics
///
/// When the page has no such input.
#[must_use]
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap() + marker.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end].replace("&amp;", "&")
}
