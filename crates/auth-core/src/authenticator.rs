//! The [`Authenticator`] trait, its [`Outcome`], and the [`AnyOf`] chain.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::{AuthRequest, Challenge, Principal, Rejection, Scheme};

/// The answer of an [`Authenticator`].
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The request carried a valid credential.
    Authenticated(Principal),
    /// The request carried no credential of this scheme. A chain ([`AnyOf`]) tries the next
    /// scheme; a single authenticator answers 401 with its challenges.
    NoCredential,
    /// The request carried a credential of this scheme and it was refused, or the decision
    /// could not be made (a store is down: fail closed).
    Rejected(Rejection),
}

impl Outcome {
    /// Turns the outcome into a result, mapping [`Outcome::NoCredential`] to a 401 with
    /// `challenges`.
    ///
    /// # Errors
    ///
    /// The rejection, or [`Rejection::unauthenticated`] when there was no credential.
    pub fn into_result(self, challenges: &[Challenge]) -> Result<Principal, Rejection> {
        match self {
            Outcome::Authenticated(principal) => Ok(principal),
            Outcome::NoCredential => Err(Rejection::unauthenticated(challenges.to_vec())),
            Outcome::Rejected(rejection) => Err(rejection),
        }
    }
}

/// Verifies one kind of credential on a request.
///
/// Each scheme crate implements it (`auth_basic::BasicAuthenticator`, ...). Framework
/// adapters call it through [`authenticate`](crate::authenticate), which also records the
/// audit event.
///
/// # Examples
///
/// ```
/// use auth_core::{async_trait, AuthRequest, Authenticator, Challenge, Outcome, Principal,
///                 Rejection, Scheme, Secret};
///
/// /// Accepts one static token from the `X-Token` header.
/// #[derive(Debug)]
/// struct StaticToken { token: Secret, challenges: Vec<Challenge> }
///
/// #[async_trait]
/// impl Authenticator for StaticToken {
///     fn scheme(&self) -> Scheme { Scheme::custom("static") }
///     fn challenges(&self) -> &[Challenge] { &self.challenges }
///     async fn authenticate(&self, request: &AuthRequest<'_>) -> Outcome {
///         match request.header("x-token") {
///             None => Outcome::NoCredential,
///             Some(sent) if self.token.ct_eq_bytes(sent) => {
///                 Outcome::Authenticated(Principal::new("ops", self.scheme()))
///             }
///             Some(_) => Outcome::Rejected(Rejection::invalid_credentials(
///                 self.challenges.clone(),
///                 "wrong_token",
///             )),
///         }
///     }
/// }
/// ```
#[async_trait]
pub trait Authenticator: Send + Sync + fmt::Debug + 'static {
    /// The scheme, for audit events.
    fn scheme(&self) -> Scheme;

    /// The `WWW-Authenticate` challenges sent when no credential is present.
    fn challenges(&self) -> &[Challenge];

    /// Whether the authenticator reads the request body (HMAC body signatures, form-encoded
    /// client credentials). Adapters then buffer the body, up to a limit, and hand it on
    /// intact.
    fn needs_body(&self) -> bool {
        false
    }

    /// Decides on `request`.
    async fn authenticate(&self, request: &AuthRequest<'_>) -> Outcome;
}

#[async_trait]
impl<A: Authenticator + ?Sized> Authenticator for Arc<A> {
    fn scheme(&self) -> Scheme {
        (**self).scheme()
    }

    fn challenges(&self) -> &[Challenge] {
        (**self).challenges()
    }

    fn needs_body(&self) -> bool {
        (**self).needs_body()
    }

    async fn authenticate(&self, request: &AuthRequest<'_>) -> Outcome {
        (**self).authenticate(request).await
    }
}

#[async_trait]
impl<A: Authenticator + ?Sized> Authenticator for Box<A> {
    fn scheme(&self) -> Scheme {
        (**self).scheme()
    }

    fn challenges(&self) -> &[Challenge] {
        (**self).challenges()
    }

    fn needs_body(&self) -> bool {
        (**self).needs_body()
    }

    async fn authenticate(&self, request: &AuthRequest<'_>) -> Outcome {
        (**self).authenticate(request).await
    }
}

/// Accepts whichever credential the request carries, trying each authenticator in order.
///
/// - the first authenticator that finds its credential decides: a valid one authenticates,
///   a bad one is refused with *that scheme's* rejection (the chain does not fall through to
///   the next scheme, so a bad token cannot be retried as something else);
/// - when none finds a credential, the answer is [`Outcome::NoCredential`] and the chain's
///   challenges are every member's, so the 401 lists one `WWW-Authenticate` per scheme.
///
/// # Examples
///
/// ```
/// # use auth_core::{async_trait, AuthRequest, Authenticator, Challenge, Outcome, Scheme};
/// # #[derive(Debug)] struct Stub(Vec<Challenge>);
/// # #[async_trait] impl Authenticator for Stub {
/// #     fn scheme(&self) -> Scheme { Scheme::custom("stub") }
/// #     fn challenges(&self) -> &[Challenge] { &self.0 }
/// #     async fn authenticate(&self, _: &AuthRequest<'_>) -> Outcome { Outcome::NoCredential }
/// # }
/// use auth_core::AnyOf;
///
/// let chain = AnyOf::new()
///     .or(Stub(vec![Challenge::bearer("api")]))
///     .or(Stub(vec![Challenge::new("ApiKey").param("header", "X-API-Key")]));
/// assert_eq!(chain.challenges().len(), 2);
/// ```
#[derive(Debug, Default)]
pub struct AnyOf {
    members: Vec<Box<dyn Authenticator>>,
    challenges: Vec<Challenge>,
    needs_body: bool,
}

impl AnyOf {
    /// An empty chain (which finds no credential until members are added).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `authenticator` after the existing members.
    #[must_use]
    pub fn or(mut self, authenticator: impl Authenticator) -> Self {
        self.challenges
            .extend(authenticator.challenges().iter().cloned());
        self.needs_body |= authenticator.needs_body();
        self.members.push(Box::new(authenticator));
        self
    }

    /// Number of members.
    #[must_use]
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the chain has no members.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

#[async_trait]
impl Authenticator for AnyOf {
    fn scheme(&self) -> Scheme {
        Scheme::ANY
    }

    fn challenges(&self) -> &[Challenge] {
        &self.challenges
    }

    fn needs_body(&self) -> bool {
        self.needs_body
    }

    async fn authenticate(&self, request: &AuthRequest<'_>) -> Outcome {
        for member in &self.members {
            match member.authenticate(request).await {
                Outcome::NoCredential => continue,
                Outcome::Rejected(rejection) if rejection.scheme().is_none() => {
                    return Outcome::Rejected(rejection.with_scheme(member.scheme()));
                }
                decided => return decided,
            }
        }
        Outcome::NoCredential
    }
}
