//! [`RequireScopes`]: a scope guard for routes behind [`Authenticate`](crate::Authenticate).

use std::future::{Ready, ready};
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{Error, HttpMessage};
use auth_core::{Principal, Rejection, Scheme, Scopes};
use futures_util::future::LocalBoxFuture;

use crate::middleware::{AuthChallenges, check_scopes, refuse};

/// Middleware that answers 403 `insufficient_scope`, naming the missing scopes, when the
/// authenticated principal lacks any of the required scopes (RFC 6750 §3.1).
///
/// It must sit *inside* [`Authenticate`](crate::Authenticate): actix-web runs the last
/// `.wrap()` first, so write `.wrap(RequireScopes)` before `.wrap(Authenticate)`. A request
/// that reaches it without a principal is refused with 401 (fail closed).
/// [`Authenticate::require_scopes`](crate::Authenticate::require_scopes) does both in one.
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
/// use auth_actix::{Authenticate, RequireScopes};
///
/// let app = App::new().service(
///     web::scope("/admin")
///         .wrap(RequireScopes::new("admin".parse()?))
///         .wrap(Authenticate::new(MyScheme(vec![Challenge::bearer("api")])))
///         .route("", web::get().to(HttpResponse::Ok)),
/// );
/// # Ok::<(), auth_core::ScopeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RequireScopes {
    required: Arc<Scopes>,
}

impl RequireScopes {
    /// Requires every scope of `required`.
    #[must_use]
    pub fn new(required: Scopes) -> Self {
        Self {
            required: Arc::new(required),
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for RequireScopes
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = RequireScopesMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequireScopesMiddleware {
            service: Rc::new(service),
            required: Arc::clone(&self.required),
        }))
    }
}

/// The service [`RequireScopes`] wraps around the inner one.
#[derive(Debug)]
pub struct RequireScopesMiddleware<S> {
    service: Rc<S>,
    required: Arc<Scopes>,
}

impl<S, B> Service<ServiceRequest> for RequireScopesMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let required = Arc::clone(&self.required);
        Box::pin(async move {
            let verdict = {
                let extensions = req.extensions();
                // Borrowed: the challenges are copied only into a refusal.
                let challenges: &[_] = extensions.get::<AuthChallenges>().map_or(&[], |c| &c.0[..]);
                match extensions.get::<Principal>() {
                    Some(principal) => check_scopes(principal, &required, challenges)
                        .map_err(|r| (principal.scheme(), r)),
                    None => Err((Scheme::ANY, Rejection::unauthenticated(challenges.to_vec()))),
                }
            };
            match verdict {
                Ok(()) => service
                    .call(req)
                    .await
                    .map(ServiceResponse::map_into_left_body),
                Err((scheme, rejection)) => Ok(refuse(req, scheme, rejection)),
            }
        })
    }
}
