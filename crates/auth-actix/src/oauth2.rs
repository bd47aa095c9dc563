//! OAuth 2.0 resource server for actix-web (feature `oauth2`): [`middleware`], the
//! [`TokenInfo`] extractor, and the re-exported `auth-oauth2` types.
//!
//! ```
//! use actix_web::{web, App, HttpResponse};
//! use auth_actix::oauth2::{self, ResourceServer, TokenInfo};
//!
//! async fn orders(token: TokenInfo) -> HttpResponse {
//!     HttpResponse::Ok().body(format!(
//!         "orders of {} (client {:?})",
//!         token.subject,
//!         token.client_id
//!     ))
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // JWT access tokens (RFC 9068) of this issuer, keys found from its metadata.
//! let api = ResourceServer::builder("https://id.example", "https://api.example/orders")
//!     .realm("orders")
//!     .build()?;
//! let read = oauth2::middleware(api.clone()).require_scopes("orders:read".parse()?);
//! let write = oauth2::middleware(api).require_scopes("orders:write".parse()?);
//!
//! let app = App::new()
//!     .service(web::scope("/orders").wrap(read).route("", web::get().to(orders)))
//!     .service(web::scope("/admin").wrap(write).route("", web::post().to(HttpResponse::Created)));
//! # Ok(())
//! # }
//! ```
//!
//! A request without a token gets `401` with `WWW-Authenticate: Bearer realm="orders"`; an
//! invalid, expired or foreign token `401` with `error="invalid_token"`; a token without the
//! scope `403` with `error="insufficient_scope", scope="orders:read"`; a token in the query
//! string `400`; an unreachable JWKS or introspection endpoint `503` (RFC 6750 §3).
//! JWT access tokens also work with the `JwtClaims<C>` extractor (feature `jwt`).

use std::future::{Ready, ready};
use std::ops::Deref;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};

pub use auth_oauth2::{
    AccessTokenInfo, ClientAuthMethod, Error, IntrospectionCachePolicy, ResourceServer,
    ResourceServerBuilder, TokenFormat,
};

use crate::{AuthError, Authenticate};

/// The middleware that requires a valid access token: `Authenticate::new(resource_server)`,
/// named for discoverability. Chain `.require_scopes(...)` per route.
#[must_use]
pub fn middleware(resource_server: ResourceServer) -> Authenticate<ResourceServer> {
    Authenticate::new(resource_server)
}

/// Extracts the [`AccessTokenInfo`] of the access token that authenticated the request:
/// subject, client id, scopes, issuer, audience, expiry, token id and every claim.
///
/// Answers 401 (with the route's challenges) when the request was not authenticated by a
/// [`ResourceServer`]: no `Authenticate` ran, the route is optional and got no token, or
/// another scheme of an `AnyOf` chain decided. Take `Option<TokenInfo>` on routes that
/// accept several schemes.
///
/// Derefs to [`AccessTokenInfo`]; cloning is cheap (shared).
#[derive(Debug, Clone)]
pub struct TokenInfo(Arc<AccessTokenInfo>);

impl TokenInfo {
    /// The token's information.
    #[must_use]
    pub fn info(&self) -> &AccessTokenInfo {
        &self.0
    }

    /// The token's information, shared.
    #[must_use]
    pub fn into_inner(self) -> Arc<AccessTokenInfo> {
        self.0
    }
}

impl Deref for TokenInfo {
    type Target = AccessTokenInfo;

    fn deref(&self) -> &AccessTokenInfo {
        &self.0
    }
}

impl FromRequest for TokenInfo {
    type Error = AuthError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(crate::extract::principal_extension::<AccessTokenInfo>(req).map(TokenInfo))
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::StatusCode;
    use actix_web::{App, HttpResponse, test, web};
    use auth_oauth2::auth_jwt::{Algorithm, Issuer, Key, KeySet};

    use super::*;

    async fn show(token: TokenInfo) -> HttpResponse {
        HttpResponse::Ok().body(format!(
            "{}:{}",
            token.subject,
            token.client_id.as_deref().unwrap_or("-")
        ))
    }

    #[actix_web::test]
    async fn yields_the_token_info_and_checks_scopes() {
        let keys = KeySet::single(Key::generate("k1", Algorithm::ES256).unwrap());
        let issuer = Issuer::builder(keys.clone())
            .issuer("https://id.example")
            .audience("orders")
            .typ("at+jwt")
            .build()
            .unwrap();
        let api = ResourceServer::builder("https://id.example", "orders")
            .jwt_keys(keys)
            .build()
            .unwrap();
        let app = test::init_service(
            App::new()
                .service(
                    web::scope("/read")
                        .wrap(
                            middleware(api.clone()).require_scopes("orders:read".parse().unwrap()),
                        )
                        .route("", web::get().to(show)),
                )
                .service(
                    web::scope("/write")
                        .wrap(middleware(api).require_scopes("orders:write".parse().unwrap()))
                        .route("", web::get().to(show)),
                )
                .route("/open", web::get().to(show)),
        )
        .await;
        let token = issuer
            .issue(
                "alice",
                &std::collections::HashMap::from([("client_id", "web"), ("scope", "orders:read")]),
            )
            .unwrap();
        let get = |path: &str| {
            test::TestRequest::get()
                .uri(path)
                .insert_header(("Authorization", format!("Bearer {token}")))
                .to_request()
        };
        let ok = test::call_service(&app, get("/read")).await;
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(test::read_body(ok).await, "alice:web");
        let forbidden = test::call_service(&app, get("/write")).await;
        assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
        // No resource server on the route: 401, never an unauthenticated handler.
        let open = test::call_service(&app, get("/open")).await;
        assert_eq!(open.status(), StatusCode::UNAUTHORIZED);
    }
}
