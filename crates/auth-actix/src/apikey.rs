//! API keys for actix-web (feature `apikey`): [`middleware`], the re-exported `auth-apikey`
//! types, and the [`ApiKeyInfo`] extractor for the metadata of the key a request used.
//!
//! # Examples
//!
//! ```
//! # actix_web::rt::System::new().block_on(async {
//! use actix_web::{web, App, HttpResponse};
//! use auth_actix::apikey::{self, ApiKeyAuthenticator, ApiKeyInfo, KeyManager, MemoryKeyStore, NewKey};
//! use auth_actix::Authenticated;
//!
//! let keys = KeyManager::builder(MemoryKeyStore::new(), "myapp_live").build()?;
//! let created = keys.create(NewKey::new("billing", "export")).await?;
//! // Built once, cloned into every worker.
//! let auth = apikey::middleware(ApiKeyAuthenticator::builder(keys.clone()).build()?);
//!
//! let app = App::new().service(
//!     web::scope("/api").wrap(auth.clone()).route(
//!         "/whoami",
//!         web::get().to(|user: Authenticated, key: ApiKeyInfo| async move {
//!             HttpResponse::Ok().body(format!("{} via {} ({})", user.subject(), key.id, key.name))
//!         }),
//!     ),
//! );
//! # let _ = (app, created);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A request without a key gets `401` with `WWW-Authenticate: ApiKey realm="api",
//! header="X-API-Key"`. `RequireHttps` knows `X-API-Key` as a credential header; add a custom
//! header name to its list if you configure one.

use std::future::{Ready, ready};
use std::ops::Deref;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};

pub use auth_apikey::{
    ApiKey, ApiKeyAuthenticator, ApiKeyAuthenticatorBuilder, ConfigError, CreatedKey, Error,
    KeyFormat, KeyManager, KeyManagerBuilder, KeyMetadata, KeyStatus, KeyStore, MemoryKeyStore,
    NewKey,
};

use crate::{AuthError, Authenticate};

/// The middleware that requires an API key: `Authenticate::new(authenticator)`, named for
/// discoverability.
#[must_use]
pub fn middleware(authenticator: ApiKeyAuthenticator) -> Authenticate<ApiKeyAuthenticator> {
    Authenticate::new(authenticator)
}

/// Extracts the [`KeyMetadata`] of the API key that authenticated the request: its id,
/// owner, name, scopes, creation, expiry and last use (never the key or its hash).
///
/// Answers 401 (with the route's challenges) when the request was not authenticated by an
/// API key: no `Authenticate` ran, the route is optional and got no credential, or another
/// scheme of an `AnyOf` chain decided. Take `Option<ApiKeyInfo>` on routes that accept
/// several schemes.
///
/// Derefs to [`KeyMetadata`]; cloning is cheap (shared).
#[derive(Debug, Clone)]
pub struct ApiKeyInfo(Arc<KeyMetadata>);

impl ApiKeyInfo {
    /// The metadata.
    #[must_use]
    pub fn metadata(&self) -> &KeyMetadata {
        &self.0
    }

    /// The metadata, shared.
    #[must_use]
    pub fn into_inner(self) -> Arc<KeyMetadata> {
        self.0
    }
}

impl Deref for ApiKeyInfo {
    type Target = KeyMetadata;

    fn deref(&self) -> &KeyMetadata {
        &self.0
    }
}

impl FromRequest for ApiKeyInfo {
    type Error = AuthError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(crate::extract::principal_extension::<KeyMetadata>(req).map(ApiKeyInfo))
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::StatusCode;
    use actix_web::{App, HttpMessage, HttpResponse, test, web};
    use auth_core::{Principal, Scheme};

    use super::*;

    async fn show(key: ApiKeyInfo) -> HttpResponse {
        HttpResponse::Ok().body(format!("{}:{}", key.owner, key.name))
    }

    #[actix_web::test]
    async fn yields_the_metadata_of_the_key_used() {
        let keys = KeyManager::builder(MemoryKeyStore::new(), "unit")
            .build()
            .unwrap();
        let created = keys.create(NewKey::new("svc", "ci")).await.unwrap();
        let auth = middleware(ApiKeyAuthenticator::builder(keys).build().unwrap());
        let app = test::init_service(
            App::new()
                .service(web::scope("/k").wrap(auth).route("", web::get().to(show)))
                .route("/open", web::get().to(show)),
        )
        .await;

        let request = test::TestRequest::get()
            .uri("/k")
            .insert_header(("X-API-Key", created.key.expose_secret()))
            .to_request();
        let body = test::call_and_read_body(&app, request).await;
        assert_eq!(body, "svc:ci");

        // No API key principal: 401, fail closed.
        let response =
            test::call_service(&app, test::TestRequest::get().uri("/open").to_request()).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }

    #[actix_web::test]
    async fn a_principal_of_another_scheme_is_not_enough() {
        let app = test::init_service(App::new().route(
            "/",
            web::get().to(|req: HttpRequest| async move {
                req.extensions_mut()
                    .insert(Principal::new("alice", Scheme::BASIC));
                let mut payload = Payload::None;
                match ApiKeyInfo::from_request(&req, &mut payload).await {
                    Ok(_) => HttpResponse::Ok().finish(),
                    Err(error) => HttpResponse::build(
                        StatusCode::from_u16(error.rejection().status()).unwrap(),
                    )
                    .finish(),
                }
            }),
        ))
        .await;
        let response =
            test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
}
