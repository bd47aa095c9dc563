//! JWT bearer tokens for actix-web (feature `jwt`): the [`JwtClaims`] extractor, a JWKS
//! response, and the re-exported `auth-jwt` types.
//!
//! ```
//! use actix_web::{web, App, HttpResponse};
//! use auth_actix::Authenticate;
//! use auth_actix::jwt::{self, Algorithm, JwtAuthenticator, JwtClaims, Key, KeySet, Verifier};
//!
//! #[derive(serde::Deserialize)]
//! struct Claims { sub: String, tenant: u32 }
//!
//! async fn me(claims: JwtClaims<Claims>) -> HttpResponse {
//!     HttpResponse::Ok().body(format!("{} of tenant {}", claims.sub, claims.tenant))
//! }
//!
//! # fn main() -> Result<(), auth_actix::jwt::KeyError> {
//! let keys = KeySet::single(Key::generate("k1", Algorithm::ES256)?);
//! let verifier = Verifier::builder(keys.clone()).issuer("https://id.example").build()?;
//! let auth = Authenticate::new(JwtAuthenticator::builder(verifier).build()?);
//! let app = App::new()
//!     .route("/.well-known/jwks.json", web::get().to(move || {
//!         let keys = keys.clone();
//!         async move { jwt::jwks_response(&keys) }
//!     }))
//!     .service(web::scope("/api").wrap(auth).route("/me", web::get().to(me)));
//! # Ok(())
//! # }
//! ```

use std::future::{Ready, ready};
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse};
use auth_core::{Challenge, Principal, Rejection, Scheme};
use serde::de::DeserializeOwned;

pub use auth_jwt::{
    Algorithm, Issuer, JwkSet, JwtAuthenticator, Key, KeyError, KeySet, MemoryRevocationStore,
    RevocationStore, SharedKeySet, VerifiedClaims, Verifier, VerifyError,
};

use crate::AuthError;
use crate::middleware::AuthChallenges;

/// The verified claims of the request's JWT, deserialized into `C`.
///
/// Needs [`Authenticate`](crate::Authenticate) with a [`JwtAuthenticator`] on the route.
/// Answers 401 when the request was not authenticated by a JWT, and 401 `invalid_token`
/// when the claims do not fit `C` (a token without a claim the handler needs is not valid
/// for it).
#[derive(Debug, Clone)]
pub struct JwtClaims<C>(pub C);

impl<C> JwtClaims<C> {
    /// The claims.
    pub fn into_inner(self) -> C {
        self.0
    }
}

impl<C> Deref for JwtClaims<C> {
    type Target = C;

    fn deref(&self) -> &C {
        &self.0
    }
}

impl<C: DeserializeOwned + 'static> FromRequest for JwtClaims<C> {
    type Error = AuthError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let extensions = req.extensions();
        let challenges = extensions
            .get::<AuthChallenges>()
            .map_or_else(|| vec![Challenge::bearer("api")], |c| c.0.to_vec());
        let claims = extensions
            .get::<Principal>()
            .and_then(|p| p.extension::<VerifiedClaims>());
        ready(match claims {
            None => Err(AuthError(Rejection::unauthenticated(challenges))),
            Some(claims) => claims.deserialize::<C>().map(JwtClaims).map_err(|_| {
                AuthError(
                    Rejection::invalid_token(challenges, "jwt_claims_type")
                        .with_scheme(Scheme::JWT),
                )
            }),
        })
    }
}

/// The JWKS document of `keys` (public keys only), with `Cache-Control: public,
/// max-age=300`, for `GET /.well-known/jwks.json`.
#[must_use]
pub fn jwks_response(keys: &KeySet) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("cache-control", "public, max-age=300"))
        .json(keys.jwks())
}
