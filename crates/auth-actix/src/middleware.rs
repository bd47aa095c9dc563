//! [`Authenticate`]: runs any [`Authenticator`] on an app, a scope or a route.

use std::fmt;
use std::future::{Ready, ready};
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{Error, HttpMessage};
use auth_core::{Authenticator, Challenge, Outcome, Principal, Rejection, Scheme, Scopes};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;

use crate::headers::ActixHeaders;
use crate::https::TransportSecurity;
use crate::rejection_response;

/// The challenges of the authenticator that ran on a request, kept in the request
/// extensions so that extractors and scope guards can answer with the right
/// `WWW-Authenticate`.
#[derive(Debug, Clone)]
pub(crate) struct AuthChallenges(pub(crate) Arc<[Challenge]>);

/// The default most bytes buffered for an authenticator that reads the body: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// Middleware that authenticates every request with an [`Authenticator`] and puts the
/// [`Principal`] into the request extensions, where the
/// [`Authenticated`](crate::Authenticated) extractor finds it.
///
/// | the request carries | [`Authenticate::new`] | [`Authenticate::optional`] |
/// |---|---|---|
/// | a valid credential | handler runs, with a `Principal` | same |
/// | no credential | 401, one `WWW-Authenticate` per challenge | handler runs, without a `Principal` |
/// | a bad credential | the scheme's rejection (400, 401, 429, 503) | same |
///
/// Every decision is recorded as one audit event (see [`auth_core::audit`]).
///
/// Authenticators that read the body ([`Authenticator::needs_body`]) get it buffered up to
/// [`Authenticate::body_limit`] (413 past it); the handler still receives it whole.
///
/// Cloning is cheap (the authenticator is shared), so build it once outside
/// `HttpServer::new` and clone it into each worker's app.
///
/// # Examples
///
/// ```
/// # use auth_core::{async_trait, AuthRequest, Authenticator, Challenge, Outcome, Scheme};
/// # #[derive(Debug)] struct MyScheme(Vec<Challenge>);
/// # #[async_trait] impl Authenticator for MyScheme {
/// #     fn scheme(&self) -> Scheme { Scheme::custom("mine") }
/// #     fn challenges(&self) -> &[Challenge] { &self.0 }
/// #     async fn authenticate(&self, _: &AuthRequest<'_>) -> Outcome { Outcome::NoCredential }
/// # }
/// use actix_web::{web, App, HttpResponse};
/// use auth_actix::{Authenticate, Authenticated};
///
/// let auth = Authenticate::new(MyScheme(vec![Challenge::bearer("api")]))
///     .require_scopes("orders:read".parse()?);
///
/// let app = App::new()
///     .route("/health", web::get().to(HttpResponse::Ok))
///     .service(
///         web::scope("/api")
///             .wrap(auth.clone())
///             .route("/me", web::get().to(|user: Authenticated| async move {
///                 HttpResponse::Ok().body(user.subject().to_owned())
///             })),
///     );
/// # Ok::<(), auth_core::ScopeError>(())
/// ```
pub struct Authenticate<A> {
    shared: Arc<Shared<A>>,
    settings: Settings,
}

struct Shared<A> {
    authenticator: A,
    challenges: Arc<[Challenge]>,
}

#[derive(Debug, Clone)]
struct Settings {
    optional: bool,
    required: Option<Scopes>,
    body_limit: usize,
}

impl<A: Authenticator> Authenticate<A> {
    /// Requires a valid credential on every request.
    #[must_use]
    pub fn new(authenticator: A) -> Self {
        Self::build(authenticator, false)
    }

    /// Lets requests without a credential through, without a `Principal` (the handler takes
    /// `Option<Authenticated>`). A credential that *is* sent must still be valid.
    #[must_use]
    pub fn optional(authenticator: A) -> Self {
        Self::build(authenticator, true)
    }

    fn build(authenticator: A, optional: bool) -> Self {
        let challenges = authenticator.challenges().to_vec().into();
        Self {
            shared: Arc::new(Shared {
                authenticator,
                challenges,
            }),
            settings: Settings {
                optional,
                required: None,
                body_limit: DEFAULT_BODY_LIMIT,
            },
        }
    }

    /// Also requires every scope of `scopes`: an authenticated request without them gets
    /// 403 `insufficient_scope` naming the missing ones.
    #[must_use]
    pub fn require_scopes(mut self, scopes: Scopes) -> Self {
        self.settings.required = Some(scopes);
        self
    }

    /// The most body bytes buffered for an authenticator that reads the body (default
    /// [`DEFAULT_BODY_LIMIT`]); a larger body gets 413.
    #[must_use]
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.settings.body_limit = bytes;
        self
    }

    /// The authenticator.
    #[must_use]
    pub fn authenticator(&self) -> &A {
        &self.shared.authenticator
    }
}

impl<A> Clone for Authenticate<A> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            settings: self.settings.clone(),
        }
    }
}

impl<A: fmt::Debug> fmt::Debug for Authenticate<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticate")
            .field("authenticator", &self.shared.authenticator)
            .field("settings", &self.settings)
            .finish()
    }
}

impl<S, B, A> Transform<S, ServiceRequest> for Authenticate<A>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
    A: Authenticator,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = AuthenticateMiddleware<S, A>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AuthenticateMiddleware {
            service: Rc::new(service),
            shared: Arc::clone(&self.shared),
            settings: Rc::new(self.settings.clone()),
        }))
    }
}

/// The service [`Authenticate`] wraps around the inner one.
pub struct AuthenticateMiddleware<S, A> {
    service: Rc<S>,
    shared: Arc<Shared<A>>,
    settings: Rc<Settings>,
}

impl<S, A: fmt::Debug> fmt::Debug for AuthenticateMiddleware<S, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticateMiddleware")
            .field("authenticator", &self.shared.authenticator)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<S, B, A> Service<ServiceRequest> for AuthenticateMiddleware<S, A>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
    A: Authenticator,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let shared = Arc::clone(&self.shared);
        let settings = Rc::clone(&self.settings);
        Box::pin(async move {
            let authenticator = &shared.authenticator;
            let body = if authenticator.needs_body() {
                match buffer_body(&mut req, settings.body_limit).await {
                    Ok(body) => Some(body),
                    Err(rejection) => {
                        return Ok(refuse(req, authenticator.scheme(), rejection));
                    }
                }
            } else {
                None
            };

            let outcome = {
                let headers = ActixHeaders(req.headers());
                let request = auth_request(&req, &headers, body.as_deref());
                auth_core::authenticate(authenticator, &request).await
            };

            match outcome {
                Outcome::Authenticated(principal) => {
                    if let Some(required) = &settings.required
                        && let Err(rejection) =
                            check_scopes(&principal, required, &shared.challenges)
                    {
                        return Ok(refuse(req, principal.scheme(), rejection));
                    }
                    let mut extensions = req.extensions_mut();
                    extensions.insert(AuthChallenges(Arc::clone(&shared.challenges)));
                    extensions.insert(principal);
                }
                Outcome::NoCredential if settings.optional => {
                    req.extensions_mut()
                        .insert(AuthChallenges(Arc::clone(&shared.challenges)));
                }
                Outcome::NoCredential => {
                    // Already audited as `no_credential` by `authenticate`.
                    let rejection = Rejection::unauthenticated(shared.challenges.to_vec());
                    return Ok(respond(req, &rejection));
                }
                Outcome::Rejected(rejection) => return Ok(respond(req, &rejection)),
            }

            service
                .call(req)
                .await
                .map(ServiceResponse::map_into_left_body)
        })
    }
}

/// The framework-neutral view of `req`.
pub(crate) fn auth_request<'a>(
    req: &'a ServiceRequest,
    headers: &'a ActixHeaders<'a>,
    body: Option<&'a [u8]>,
) -> auth_core::AuthRequest<'a> {
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.path(), |pq| pq.as_str());
    let secure = req
        .extensions()
        .get::<TransportSecurity>()
        .map_or_else(|| req.app_config().secure(), |t| t.secure);
    auth_core::AuthRequest::new(req.method().as_str(), target, headers)
        .with_peer(crate::https::client_addr(req.request()))
        .with_secure(secure)
        .with_body(body)
}

/// Checks that `principal` holds every scope of `required`.
pub(crate) fn check_scopes(
    principal: &Principal,
    required: &Scopes,
    challenges: &[Challenge],
) -> Result<(), Rejection> {
    if principal.scopes().contains_all(required) {
        return Ok(());
    }
    Err(
        Rejection::insufficient_scope(challenges.to_vec(), principal.scopes().missing(required))
            .with_subject(principal.subject())
            .with_scheme(principal.scheme()),
    )
}

/// Audits a refusal decided here (not by the authenticator) and answers it.
pub(crate) fn refuse<B>(
    req: ServiceRequest,
    scheme: Scheme,
    rejection: Rejection,
) -> ServiceResponse<EitherBody<B>> {
    {
        let headers = ActixHeaders(req.headers());
        let request = auth_request(&req, &headers, None);
        auth_core::audit::record_rejection(scheme, &rejection, &request);
    }
    respond(req, &rejection)
}

/// Answers `req` with `rejection` (already audited).
pub(crate) fn respond<B>(
    req: ServiceRequest,
    rejection: &Rejection,
) -> ServiceResponse<EitherBody<B>> {
    let (request, _payload) = req.into_parts();
    ServiceResponse::new(request, rejection_response(rejection)).map_into_right_body()
}

/// Reads the body, up to `limit` bytes, and puts it back so the handler gets it whole.
pub(crate) async fn buffer_body(
    req: &mut ServiceRequest,
    limit: usize,
) -> Result<Bytes, Rejection> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(Rejection::payload_too_large());
    }
    let mut payload = req.take_payload();
    let mut buffer = BytesMut::with_capacity(declared.map_or(0, |len| len as usize));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            Rejection::invalid_request(
                Vec::new(),
                "The request body could not be read",
                "body_unreadable",
            )
        })?;
        if buffer.len() + chunk.len() > limit {
            return Err(Rejection::payload_too_large());
        }
        buffer.extend_from_slice(&chunk);
    }
    let body = buffer.freeze();
    let (_sender, mut replay) = actix_http::h1::Payload::create(true);
    replay.unread_data(body.clone());
    req.set_payload(replay.into());
    Ok(body)
}
