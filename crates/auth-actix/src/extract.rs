//! [`Authenticated`]: the handler's view of the [`Principal`].

use std::future::{Ready, ready};
use std::ops::Deref;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use auth_core::{AuthRequest, Challenge, Principal, Rejection, Scopes};

use crate::AuthError;
use crate::headers::ActixHeaders;
use crate::middleware::AuthChallenges;

/// Extracts the [`Principal`] that [`Authenticate`](crate::Authenticate) put into the
/// request.
///
/// - `user: Authenticated` answers 401 (with the authenticator's challenges) when there is
///   no principal: on a route behind [`Authenticate::optional`](crate::Authenticate::optional)
///   that got no credential, or on a route no `Authenticate` wraps (fail closed).
/// - `user: Option<Authenticated>` is `None` then, for routes open to everyone that
///   personalise when they can.
///
/// (It is a wrapper because Rust's orphan rule keeps actix-web's `FromRequest` off
/// `auth_core::Principal`; it derefs to `Principal`, so `user.subject()` just works.)
///
/// # Examples
///
/// ```
/// use actix_web::{get, HttpResponse};
/// use auth_actix::Authenticated;
///
/// #[get("/me")]
/// async fn me(user: Authenticated) -> HttpResponse {
///     HttpResponse::Ok().body(format!("hello {} ({})", user.subject(), user.scheme()))
/// }
///
/// #[get("/feed")]
/// async fn feed(user: Option<Authenticated>) -> HttpResponse {
///     match user {
///         Some(user) => HttpResponse::Ok().body(format!("feed for {}", user.subject())),
///         None => HttpResponse::Ok().body("public feed"),
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Authenticated {
    principal: Principal,
    challenges: Option<Arc<[Challenge]>>,
    /// The request, for the audit event of a refusal (a cheap reference-counted handle).
    request: HttpRequest,
}

impl Authenticated {
    /// The principal.
    #[must_use]
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The principal, owned.
    #[must_use]
    pub fn into_inner(self) -> Principal {
        self.principal
    }

    /// Checks that the principal holds `scope`.
    ///
    /// # Errors
    ///
    /// [`AuthError`] with 403 `insufficient_scope` naming the scope (the `?` operator in a
    /// handler answers with it). The refusal is recorded as an audit event.
    pub fn require_scope(&self, scope: &str) -> Result<(), AuthError> {
        let required = Scopes::try_from_tokens([scope]).map_err(|_| {
            // A malformed scope name in code can never be held: refuse, naming nothing.
            AuthError(self.insufficient(Scopes::new()))
        })?;
        self.require_scopes(&required)
    }

    /// Checks that the principal holds every scope of `required`.
    ///
    /// # Errors
    ///
    /// [`AuthError`] with 403 `insufficient_scope` naming the missing scopes.
    pub fn require_scopes(&self, required: &Scopes) -> Result<(), AuthError> {
        if self.principal.scopes().contains_all(required) {
            return Ok(());
        }
        Err(AuthError(
            self.insufficient(self.principal.scopes().missing(required)),
        ))
    }

    fn insufficient(&self, missing: Scopes) -> Rejection {
        let challenges = self.challenges.as_deref().unwrap_or_default().to_vec();
        let rejection = Rejection::insufficient_scope(challenges, missing)
            .with_subject(self.principal.subject())
            .with_scheme(self.principal.scheme());
        let req = &self.request;
        let headers = ActixHeaders(req.headers());
        let target = req
            .uri()
            .path_and_query()
            .map_or_else(|| req.path(), |pq| pq.as_str());
        let view = AuthRequest::new(req.method().as_str(), target, &headers)
            .with_peer(crate::https::client_addr(req));
        auth_core::audit::record_rejection(self.principal.scheme(), &rejection, &view);
        rejection
    }
}

impl Deref for Authenticated {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.principal
    }
}

impl FromRequest for Authenticated {
    type Error = AuthError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let extensions = req.extensions();
        let challenges = extensions.get::<AuthChallenges>().map(|c| Arc::clone(&c.0));
        ready(match extensions.get::<Principal>() {
            Some(principal) => Ok(Authenticated {
                principal: principal.clone(),
                challenges,
                request: req.clone(),
            }),
            None => Err(AuthError(Rejection::unauthenticated(
                challenges.as_deref().unwrap_or_default().to_vec(),
            ))),
        })
    }
}

/// The principal's extension of type `T` (scheme metadata such as API key or access-token
/// information), or a 401 carrying the route's challenges when the request was not
/// authenticated by a scheme that provides it. Shared by the scheme extractors.
#[cfg(any(feature = "apikey", feature = "oauth2"))]
pub(crate) fn principal_extension<T: Send + Sync + 'static>(
    req: &HttpRequest,
) -> Result<Arc<T>, AuthError> {
    let extensions = req.extensions();
    extensions
        .get::<Principal>()
        .and_then(|principal| principal.extensions().get_arc::<T>())
        .ok_or_else(|| {
            let challenges = extensions
                .get::<AuthChallenges>()
                .map(|c| c.0.to_vec())
                .unwrap_or_default();
            AuthError(Rejection::unauthenticated(challenges))
        })
}
