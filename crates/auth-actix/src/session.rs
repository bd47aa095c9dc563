//! Server-side sessions for actix-web (feature `session`): [`SessionMiddleware`] loads the
//! session before the handler, checks CSRF, and saves changes and sends `Set-Cookie` after
//! it; the [`Session`] extractor reads and writes it.
//!
//! | Item | What it does |
//! |---|---|
//! | [`SessionMiddleware`] | load, CSRF check on unsafe methods, `Principal` for logged-in sessions, save, `Set-Cookie` |
//! | [`Session`] | extractor: typed values, flash messages, `login` / `logout` / `renew`, `csrf_token` |
//! | [`Authenticated`](crate::Authenticated) | the logged-in user; 401 without one |
//!
//! # Examples
//!
//! The article's `express-session` example, with login behind a real check:
//!
//! ```
//! use actix_web::{web, App, HttpResponse};
//! use auth_actix::session::{CookieKey, CookieKeys, MemoryStore, Session, SessionManager, SessionMiddleware};
//! use auth_actix::{AuthError, Authenticated};
//!
//! async fn start(session: Session) -> HttpResponse {
//!     // Setting the user is a login: a new session id, so a planted one is worthless.
//!     session.login("123");
//!     HttpResponse::Ok().body("Session established.")
//! }
//!
//! async fn protected(user: Authenticated) -> HttpResponse {
//!     // No logged-in session: the extractor answers 401.
//!     HttpResponse::Ok().body(format!("Hello user {}", user.subject()))
//! }
//!
//! async fn logout(session: Session) -> Result<HttpResponse, AuthError> {
//!     // An unsafe method: the middleware already checked the CSRF token.
//!     session.logout();
//!     Ok(HttpResponse::NoContent().finish())
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Once, outside HttpServer::new; the key comes from your secret store.
//! let manager = SessionManager::builder(MemoryStore::default(), CookieKeys::new(CookieKey::generate()?))
//!     .build()?;
//! let sessions = SessionMiddleware::new(manager);
//!
//! let app = App::new().service(
//!     web::scope("")
//!         .wrap(sessions.clone())
//!         .route("/", web::get().to(start))
//!         .route("/protected", web::get().to(protected))
//!         .route("/logout", web::post().to(logout)),
//! );
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! # Behaviour
//!
//! | the request | answer |
//! |---|---|
//! | no cookie, or a refused one (bad signature, unknown key, logged out, timed out) | handler runs without a session; a refused cookie is removed |
//! | the session cookie twice, or under case-variant names | 400 `invalid_request`, nothing adopted |
//! | an unsafe method, cross-site (`Sec-Fetch-Site`, `Origin`) | 403 `csrf_failed` |
//! | an unsafe method with a session and no (or a wrong) CSRF token | 403 `csrf_failed` |
//! | the store is down | 503 (before the handler, or instead of its response when the save fails) |
//!
//! A logged-in session puts its [`Principal`] into the request, so
//! [`Authenticated`](crate::Authenticated) works; each request that carries a session
//! cookie is recorded as one audit event (success, or the refusal's reason). Responses
//! that set the cookie get `Cache-Control: no-store`, so no shared cache hands one
//! user's cookie to another.

use std::cell::RefCell;
use std::fmt;
use std::future::{Ready, ready};
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{Error as ActixError, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use auth_core::{Challenge, Outcome, Principal, Rejection, Scheme, Scopes};
use futures_util::future::LocalBoxFuture;

pub use auth_session::{
    ConfigError, CookieKey, CookieKeys, CookieProtection, CookieStatus, CsrfConfig, CsrfError,
    Error, Flash, FlashLevel, MemoryStore, Refusal, SameSite, SessionAuthenticator, SessionInfo,
    SessionManager, SessionManagerBuilder, SessionStore, StoreError,
};

use crate::headers::ActixHeaders;
use crate::middleware::{AuthChallenges, auth_request, refuse};
use crate::{AuthError, rejection_response};

/// The default most body bytes read to find the CSRF token in a urlencoded form: 64 KiB.
pub const DEFAULT_FORM_LIMIT: usize = 64 * 1024;

/// Which CSRF checks the middleware runs on unsafe methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CsrfMode {
    /// Fetch metadata, origin and the synchronizer token.
    Full,
    /// Fetch metadata and origin only.
    OriginOnly,
    /// None.
    Off,
}

struct Settings {
    manager: SessionManager,
    challenges: Arc<[Challenge]>,
    csrf: CsrfMode,
    form_limit: usize,
}

/// Middleware that gives each request its [`Session`]: loads it before the handler and,
/// after it, saves what changed and sends `Set-Cookie` (never longer than 4096 bytes).
///
/// CSRF defence is on by default for unsafe methods (anything but `GET`, `HEAD`, `OPTIONS`,
/// `TRACE`): cross-site requests (by `Sec-Fetch-Site` or `Origin`/`Referer`) are refused,
/// and a request that carries a session must carry its token, in the `X-CSRF-Token` header
/// or the `csrf_token` field of a urlencoded form (see
/// [`CsrfConfig`] for the names and trusted origins). A refusal
/// is 403 `{"error":"csrf_failed",...}` with `Cache-Control: no-store`, recorded as an audit
/// event with the failed check as reason.
///
/// Cloning is cheap; build it once outside `HttpServer::new`.
///
/// # Duplicate cookies
///
/// A request that carries the session cookie twice, or under names that differ only in
/// letter case, is refused with 400: picking either could adopt a cookie an attacker tossed
/// in from a sibling subdomain. (The default `__Host-` prefix stops such tossing in current
/// browsers; the check covers the rest.) A lone cookie whose name differs from ours only in
/// case is not ours and is ignored.
pub struct SessionMiddleware {
    settings: Arc<Settings>,
}

impl SessionMiddleware {
    /// Sessions from `manager`, with every CSRF check.
    #[must_use]
    pub fn new(manager: SessionManager) -> Self {
        let challenges = manager.challenges().to_vec().into();
        Self {
            settings: Arc::new(Settings {
                manager,
                challenges,
                csrf: CsrfMode::Full,
                form_limit: DEFAULT_FORM_LIMIT,
            }),
        }
    }

    fn edit(self, f: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = Settings {
            manager: self.settings.manager.clone(),
            challenges: Arc::clone(&self.settings.challenges),
            csrf: self.settings.csrf,
            form_limit: self.settings.form_limit,
        };
        f(&mut settings);
        Self {
            settings: Arc::new(settings),
        }
    }

    /// Runs only the cross-site checks (fetch metadata and origin), not the token check:
    /// for the login endpoint, which a client reaches before it has a token. Login CSRF
    /// (logging the victim into the attacker's account) is still refused by the origin
    /// checks.
    #[must_use]
    pub fn csrf_origin_checks_only(self) -> Self {
        self.edit(|s| s.csrf = CsrfMode::OriginOnly)
    }

    /// Turns CSRF checks off, for routes that take no browser requests.
    ///
    /// # Security
    ///
    /// Any site a logged-in user visits can then make their browser send unsafe requests
    /// with their session (where `SameSite` does not stop it: older browsers, same-site
    /// attackers, `SameSite=None`).
    #[must_use]
    pub fn insecure_disable_csrf(self) -> Self {
        self.edit(|s| s.csrf = CsrfMode::Off)
    }

    /// The most body bytes read to find the token in a urlencoded form (default
    /// [`DEFAULT_FORM_LIMIT`]); a larger form gets 413.
    #[must_use]
    pub fn form_limit(self, bytes: usize) -> Self {
        self.edit(|s| s.form_limit = bytes)
    }

    /// The manager.
    #[must_use]
    pub fn manager(&self) -> &SessionManager {
        &self.settings.manager
    }
}

impl Clone for SessionMiddleware {
    fn clone(&self) -> Self {
        Self {
            settings: Arc::clone(&self.settings),
        }
    }
}

impl fmt::Debug for SessionMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionMiddleware")
            .field("manager", &self.settings.manager)
            .field("csrf", &self.settings.csrf)
            .field("form_limit", &self.settings.form_limit)
            .finish()
    }
}

impl<S, B> Transform<S, ServiceRequest> for SessionMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = ActixError> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = ActixError;
    type Transform = SessionService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(SessionService {
            service: Rc::new(service),
            settings: Arc::clone(&self.settings),
        }))
    }
}

/// The service [`SessionMiddleware`] wraps around the inner one.
pub struct SessionService<S> {
    service: Rc<S>,
    settings: Arc<Settings>,
}

impl<S> fmt::Debug for SessionService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionService")
            .field("manager", &self.settings.manager)
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for SessionService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = ActixError> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = ActixError;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let settings = Arc::clone(&self.settings);
        Box::pin(async move {
            let manager = &settings.manager;
            let loaded = {
                let headers = ActixHeaders(req.headers());
                manager.load(&headers).await
            };
            let session = match loaded {
                Ok(session) => session,
                Err(error) => {
                    let rejection = error
                        .to_rejection(&settings.challenges)
                        .with_scheme(Scheme::SESSION);
                    return Ok(refuse(req, Scheme::SESSION, rejection));
                }
            };

            // One audit event per request that carries a session cookie.
            let outcome = session.outcome(&settings.challenges);
            if !matches!(outcome, Outcome::NoCredential) {
                let headers = ActixHeaders(req.headers());
                let request = auth_request(&req, &headers, None);
                auth_core::audit::record(Scheme::SESSION, &outcome, &request);
            }

            if settings.csrf != CsrfMode::Off
                && !auth_session::is_safe_method(req.method().as_str())
            {
                // Boxed: unsafe methods are the rarer path, and its state would otherwise
                // enlarge every request's future.
                match Box::pin(check_csrf(&mut req, &settings, &session)).await {
                    Ok(()) => {}
                    Err(Refused::Csrf(error)) => return Ok(csrf_refusal(req, &session, error)),
                    Err(Refused::Request(rejection)) => {
                        return Ok(refuse(req, Scheme::SESSION, rejection));
                    }
                }
            }

            let handle = SessionHandle(Rc::new(RefCell::new(Some(session))));
            {
                let mut extensions = req.extensions_mut();
                extensions.insert(handle.clone());
                if !extensions.contains::<AuthChallenges>() {
                    extensions.insert(AuthChallenges(Arc::clone(&settings.challenges)));
                }
                if let Outcome::Authenticated(principal) = outcome
                    && !extensions.contains::<Principal>()
                {
                    extensions.insert(principal);
                }
            }

            let mut response = service.call(req).await?;
            let Some(session) = handle.0.borrow_mut().take() else {
                return Ok(response.map_into_left_body());
            };
            match manager.commit(session).await {
                Ok(None) => Ok(response.map_into_left_body()),
                Ok(Some(set_cookie)) => {
                    match HeaderValue::from_str(set_cookie.expose_header_value()) {
                        Ok(value) => {
                            let headers = response.headers_mut();
                            headers.append(header::SET_COOKIE, value);
                            headers.insert(
                                header::CACHE_CONTROL,
                                HeaderValue::from_static("no-store"),
                            );
                            Ok(response.map_into_left_body())
                        }
                        Err(_) => Ok(failed(response, &Error::CookieTooLarge { len: 0 })),
                    }
                }
                Err(error) => Ok(failed(response, &error)),
            }
        })
    }
}

/// Why an unsafe request is refused before the handler.
enum Refused {
    /// A CSRF check failed: 403 `csrf_failed`.
    Csrf(CsrfError),
    /// The body could not be read for the form token (413, 400).
    Request(Rejection),
}

/// Runs the CSRF checks for an unsafe request.
async fn check_csrf(
    req: &mut ServiceRequest,
    settings: &Settings,
    session: &auth_session::Session,
) -> Result<(), Refused> {
    let csrf = settings.manager.csrf();
    let target = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()));
    let wants_body = {
        let headers = ActixHeaders(req.headers());
        let request = auth_request(req, &headers, None);
        csrf.check_origin(&request, target.as_deref())
            .map_err(Refused::Csrf)?;
        settings.csrf == CsrfMode::Full && csrf.wants_form_body(&request, session)
    };
    if settings.csrf != CsrfMode::Full {
        return Ok(());
    }
    let body = if wants_body {
        Some(
            crate::middleware::buffer_body(req, settings.form_limit)
                .await
                .map_err(Refused::Request)?,
        )
    } else {
        None
    };
    let headers = ActixHeaders(req.headers());
    let request = auth_request(req, &headers, None);
    csrf.check_token(&request, session, body.as_deref())
        .map_err(Refused::Csrf)
}

/// Audits a CSRF refusal and answers 403 `csrf_failed`.
fn csrf_refusal<B>(
    req: ServiceRequest,
    session: &auth_session::Session,
    error: CsrfError,
) -> ServiceResponse<EitherBody<B>> {
    let path: String = req
        .path()
        .chars()
        .take(auth_core::audit::MAX_FIELD_LEN)
        .collect();
    tracing::warn!(
        target: auth_core::AUDIT_TARGET,
        scheme = %Scheme::SESSION,
        outcome = "rejected",
        reason = error.reason(),
        status = CsrfError::STATUS,
        subject = session.user().map(tracing::field::display),
        key_id = session.fingerprint().map(tracing::field::display),
        peer = crate::https::client_addr(req.request()).map(tracing::field::display),
        method = %req.method(),
        path = %path,
        "rejected"
    );
    let response = HttpResponse::build(StatusCode::FORBIDDEN)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("application/json")
        .body(error.json_body());
    let (request, _payload) = req.into_parts();
    ServiceResponse::new(request, response).map_into_right_body()
}

/// Replaces the handler's response with a 503 when the session could not be saved: the
/// handler's answer (a login, a logout) did not take effect, so it must not reach the
/// client.
fn failed<B>(response: ServiceResponse<B>, error: &Error) -> ServiceResponse<EitherBody<B>> {
    tracing::error!(
        target: auth_session::LIFECYCLE_TARGET,
        reason = error.reason(),
        %error,
        "the session could not be saved; answering 503"
    );
    let rejection: Rejection = error.to_rejection(&[]);
    let (request, _discarded) = response.into_parts();
    ServiceResponse::new(request, rejection_response(&rejection)).map_into_right_body()
}

/// The request's session, shared between the middleware and the extractor. `None` once the
/// middleware has committed it.
#[derive(Clone)]
struct SessionHandle(Rc<RefCell<Option<auth_session::Session>>>);

/// The request's session, for handlers behind [`SessionMiddleware`].
///
/// Changes are kept in memory and written once, after the handler, by the middleware
/// (only the keys this request changed). Methods take `&self`, so the extractor can be
/// cloned into helpers; a change made after the response has been sent is lost.
///
/// The [`Principal`] that [`Authenticated`](crate::Authenticated) reads is the session
/// as the request brought it: a [`Session::login`] or [`Session::logout`] in this handler
/// shows in `Authenticated` from the next request on (read [`Session::user`] for the
/// current state).
///
/// Without [`SessionMiddleware`] on the route, extracting it fails with 500 (a
/// misconfiguration, not a client error).
///
/// Errors from [`Session::insert`], [`Session::get`] and friends convert into
/// [`AuthError`] (503, nothing about the cause in the body), so handlers can use `?`.
#[derive(Clone)]
pub struct Session(SessionHandle);

impl Session {
    fn with<T>(&self, f: impl FnOnce(&mut auth_session::Session) -> T) -> Option<T> {
        self.0.0.borrow_mut().as_mut().map(f)
    }

    /// The value under `key`, read as `T`.
    ///
    /// # Errors
    ///
    /// [`Error::Value`] when the stored value is not a `T`.
    pub fn get<T: auth_session::serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, Error> {
        self.with(|s| s.get(key)).unwrap_or(Ok(None))
    }

    /// Whether there is a value under `key`.
    #[must_use]
    pub fn contains_key(&self, key: &str) -> bool {
        self.with(|s| s.contains_key(key)).unwrap_or(false)
    }

    /// Stores `value` under `key`; creates the session if there is none.
    ///
    /// # Errors
    ///
    /// [`Error::ReservedKey`], [`Error::Value`], [`Error::DataTooLarge`].
    pub fn insert<T: auth_session::serde::Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
    ) -> Result<(), Error> {
        self.with(|s| s.insert(key, value)).unwrap_or(Ok(()))
    }

    /// Removes the value under `key`; returns whether there was one.
    pub fn remove(&self, key: &str) -> bool {
        self.with(|s| s.remove(key)).unwrap_or(false)
    }

    /// Adds a flash message for the next request that reads them.
    ///
    /// # Errors
    ///
    /// [`Error::DataTooLarge`].
    pub fn flash(&self, level: FlashLevel, message: impl Into<String>) -> Result<(), Error> {
        let message = message.into();
        self.with(|s| s.flash(level, message)).unwrap_or(Ok(()))
    }

    /// Takes the pending flash messages (each is shown once).
    ///
    /// # Errors
    ///
    /// [`Error::Value`] when they are unreadable.
    pub fn take_flashes(&self) -> Result<Vec<Flash>, Error> {
        self.with(auth_session::Session::take_flashes)
            .unwrap_or(Ok(Vec::new()))
    }

    /// The logged-in user, if any.
    #[must_use]
    pub fn user(&self) -> Option<String> {
        self.with(|s| s.user().map(str::to_owned)).flatten()
    }

    /// The logged-in user's scopes for this session.
    #[must_use]
    pub fn scopes(&self) -> Scopes {
        self.with(|s| s.scopes()).unwrap_or_default()
    }

    /// Logs `user` in under a new session id (see
    /// [`auth_session::Session::login_with_scopes`]).
    pub fn login(&self, user: impl Into<String>) {
        let user = user.into();
        self.with(|s| s.login(user));
    }

    /// Logs `user` in with `scopes`, under a new session id.
    pub fn login_with_scopes(&self, user: impl Into<String>, scopes: Scopes) {
        let user = user.into();
        self.with(|s| s.login_with_scopes(user, scopes));
    }

    /// Changes the logged-in user's scopes, under a new session id.
    ///
    /// # Errors
    ///
    /// [`Error::NotLoggedIn`].
    pub fn set_scopes(&self, scopes: Scopes) -> Result<(), Error> {
        self.with(|s| s.set_scopes(scopes))
            .unwrap_or(Err(Error::NotLoggedIn))
    }

    /// Moves the session to a new id (after a privilege change the library does not see).
    pub fn renew(&self) {
        self.with(auth_session::Session::renew);
    }

    /// Ends the session: the record is deleted and the cookie removed.
    pub fn logout(&self) {
        self.with(auth_session::Session::logout);
    }

    /// Ends every session of the logged-in user, this one included.
    pub fn logout_everywhere(&self) {
        self.with(auth_session::Session::logout_everywhere);
    }

    /// The session's CSRF token, to send back on unsafe requests (`X-CSRF-Token` header or
    /// `csrf_token` form field). Creates the session if there is none. After a login in this
    /// request, it is the new session's token.
    ///
    /// # Errors
    ///
    /// [`Error::Random`].
    pub fn csrf_token(&self) -> Result<String, Error> {
        self.with(auth_session::Session::csrf_token)
            .unwrap_or(Err(Error::Random))
    }

    /// The session's public fingerprint (`s_...`), once stored.
    #[must_use]
    pub fn fingerprint(&self) -> Option<String> {
        self.with(|s| s.fingerprint()).flatten()
    }

    /// How the request's cookie was received.
    #[must_use]
    pub fn cookie_status(&self) -> CookieStatus {
        self.with(|s| s.cookie_status())
            .unwrap_or(CookieStatus::Absent)
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.0.try_borrow() {
            Ok(session) => f.debug_tuple("Session").field(&*session).finish(),
            Err(_) => f.write_str("Session(<in use>)"),
        }
    }
}

impl FromRequest for Session {
    type Error = ActixError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(match req.extensions().get::<SessionHandle>() {
            Some(handle) => Ok(Session(handle.clone())),
            None => {
                tracing::error!(
                    target: auth_session::LIFECYCLE_TARGET,
                    path = req.path(),
                    "the Session extractor needs SessionMiddleware on the route"
                );
                Err(actix_web::error::InternalError::new(
                    "session middleware missing",
                    StatusCode::INTERNAL_SERVER_ERROR,
                )
                .into())
            }
        })
    }
}

impl From<Error> for AuthError {
    /// A session error as a response: 400 for a duplicated cookie, 503 otherwise, with
    /// nothing about the cause in the body.
    fn from(error: Error) -> Self {
        AuthError(error.to_rejection(&[]))
    }
}
