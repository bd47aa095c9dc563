//! HMAC request signatures for actix-web (feature `hmac`): RFC 9421 signed requests and
//! webhook body signatures, with the `auth-hmac` types re-exported.
//!
//! Both authenticators read the body; [`Authenticate`] buffers it (up to
//! [`Authenticate::body_limit`], 1 MiB by default) and hands it to the handler intact.
//!
//! ```
//! use std::sync::Arc;
//! use actix_web::{web, App, HttpResponse};
//! use auth_actix::hmac::{self, HmacKey, MemoryKeyStore, SignatureInfo, Verifier, WebhookVerifier};
//! use auth_actix::Authenticated;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let keys = Arc::new(MemoryKeyStore::new());
//! keys.insert(HmacKey::new("billing-2025", "billing", "a secret of at least thirty-two bytes!")?);
//! // Built once, cloned into every worker.
//! let signed = hmac::middleware(Verifier::builder(keys).build()?);
//! let webhooks = hmac::webhook_middleware(
//!     WebhookVerifier::builder()
//!         .key(HmacKey::new("stripe-1", "payments", "whsec_a secret of at least 32 bytes")?)
//!         .build()?,
//! );
//!
//! let app = App::new()
//!     .service(web::resource("/orders").wrap(signed.clone()).route(web::post().to(
//!         |user: Authenticated, body: web::Bytes| async move {
//!             let covered = user.extension::<SignatureInfo>().is_some_and(|s| s.body_covered);
//!             HttpResponse::Ok().body(format!("{} sent {} signed bytes ({covered})", user.subject(), body.len()))
//!         },
//!     )))
//!     .service(web::resource("/webhooks").wrap(webhooks.clone()).route(web::post().to(
//!         |user: Authenticated| async move { HttpResponse::NoContent().body(user.subject().to_owned()) },
//!     )));
//! # let _ = app;
//! # Ok(())
//! # }
//! ```

pub use auth_hmac::{
    Component, ConfigError, DigestAlgorithm, Error, HmacAuthenticator, HmacKey, KeyStore,
    MemoryKeyStore, MemoryNonceStore, NonceStore, SignatureInfo, Signer, StoreError, Verifier,
    VerifierBuilder, WebhookAuthenticator, WebhookEncoding, WebhookInfo, WebhookSigner,
    WebhookVerifier, WebhookVerifierBuilder,
};

use crate::Authenticate;

/// The middleware that requires an RFC 9421 signature checked by `verifier`:
/// `Authenticate::new(HmacAuthenticator::new(verifier))`.
#[must_use]
pub fn middleware(verifier: Verifier) -> Authenticate<HmacAuthenticator> {
    Authenticate::new(HmacAuthenticator::new(verifier))
}

/// The middleware that requires a webhook body signature checked by `verifier`:
/// `Authenticate::new(WebhookAuthenticator::new(verifier))`.
#[must_use]
pub fn webhook_middleware(verifier: WebhookVerifier) -> Authenticate<WebhookAuthenticator> {
    Authenticate::new(WebhookAuthenticator::new(verifier))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use actix_web::http::StatusCode;
    use actix_web::{App, HttpResponse, test, web};
    use auth_core::ManualClock;

    use super::*;
    use crate::Authenticated;

    const SECRET: &str = "unit-test secret of at least 32 bytes";

    #[actix_web::test]
    async fn signed_bodies_reach_the_handler_intact() {
        let clock = ManualClock::starting_now();
        let keys = Arc::new(MemoryKeyStore::new());
        keys.insert(HmacKey::new("k1", "svc", SECRET).unwrap());
        let verifier = Verifier::builder(keys)
            .clock(clock.shared())
            .build()
            .unwrap();
        let app = test::init_service(
            App::new().service(web::resource("/orders").wrap(middleware(verifier)).route(
                web::post().to(|user: Authenticated, body: web::Bytes| async move {
                    HttpResponse::Ok().body(format!("{}:{}", user.subject(), body.len()))
                }),
            )),
        )
        .await;

        let signer = Signer::builder("k1", SECRET)
            .clock(clock.shared())
            .build()
            .unwrap();
        let body = br#"{"qty":1}"#;
        let headers = auth_core::HeaderList::new().with("Host", "localhost:8080");
        let signed = signer
            .sign("POST", "http://localhost:8080/orders", &headers, Some(body))
            .unwrap();
        let mut request = test::TestRequest::post()
            .uri("/orders")
            .insert_header(("Host", "localhost:8080"))
            .set_payload(body.to_vec());
        for (name, value) in signed.iter() {
            request = request.insert_header((name, value));
        }
        let body_back = test::call_and_read_body(&app, request.to_request()).await;
        assert_eq!(body_back, "svc:9");

        let unsigned = test::TestRequest::post().uri("/orders").to_request();
        let response = test::call_service(&app, unsigned).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers().get("www-authenticate").unwrap(),
            r#"Signature realm="api""#
        );
    }
}
