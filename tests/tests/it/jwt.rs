//! JWT bearer tokens end to end, through a real actix-web server on 127.0.0.1.

use std::sync::Arc;

use actix_web::{App, HttpResponse, web};
use auth_actix::Authenticate;
use auth_actix::jwt::{
    Algorithm, Issuer, JwtAuthenticator, JwtClaims, Key, KeySet, MemoryRevocationStore, Verifier,
    jwks_response,
};
use auth_core::SystemClock;
use auth_tests::{LogCapture, TestApp};
use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;
use serde_json::{Value, json};

#[derive(serde::Deserialize)]
struct Claims {
    sub: String,
    tenant: u32,
}

struct Setup {
    app: TestApp,
    issuer: Issuer,
    verifier: Verifier,
}

fn setup() -> Setup {
    let keys = KeySet::single(Key::generate("e2e", Algorithm::ES256).unwrap());
    let issuer = Issuer::builder(keys.clone())
        .issuer("https://id.e2e")
        .audience("orders")
        .build()
        .unwrap();
    let revocations = Arc::new(MemoryRevocationStore::new(SystemClock::shared()));
    let verifier = Verifier::builder(keys.clone())
        .issuer("https://id.e2e")
        .audience("orders")
        .revocations(revocations)
        .build()
        .unwrap();
    let auth = Authenticate::new(
        JwtAuthenticator::builder(verifier.clone())
            .realm("orders")
            .build()
            .unwrap(),
    );
    let write = auth.clone().require_scopes("orders:write".parse().unwrap());
    let app = TestApp::spawn(move || {
        let keys = keys.clone();
        App::new()
            .route(
                "/.well-known/jwks.json",
                web::get().to(move || {
                    let keys = keys.clone();
                    async move { jwks_response(&keys) }
                }),
            )
            .service(
                web::scope("/orders/write")
                    .wrap(write.clone())
                    .route("", web::post().to(HttpResponse::Created)),
            )
            .service(web::scope("/orders").wrap(auth.clone()).route(
                "",
                web::get().to(|claims: JwtClaims<Claims>| async move {
                    HttpResponse::Ok().json(json!({"sub": claims.sub, "tenant": claims.tenant}))
                }),
            ))
    });
    Setup {
        app,
        issuer,
        verifier,
    }
}

#[actix_web::test]
async fn a_bearer_token_reaches_the_handler_as_typed_claims() {
    let s = setup();
    let token = s
        .issuer
        .issue("alice", &json!({"tenant": 7, "scope": "orders:read"}))
        .unwrap();
    let response = s
        .app
        .get("/orders")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"sub": "alice", "tenant": 7})
    );
}

#[actix_web::test]
async fn missing_and_bad_tokens_get_rfc6750_challenges() {
    let s = setup();
    let none = s.app.get("/orders").send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(none.headers()[WWW_AUTHENTICATE], r#"Bearer realm="orders""#);

    let forged = s
        .app
        .get("/orders")
        .bearer_auth("eyJhbGciOiJub25lIn0.e30.")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let challenge = forged.headers()[WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );

    // A token without the claim the handler needs is not valid for it.
    let no_tenant = s
        .issuer
        .issue("alice", &json!({"scope": "orders:read"}))
        .unwrap();
    let response = s
        .app
        .get("/orders")
        .bearer_auth(&no_tenant)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn attack_a_token_in_the_url_gets_400() {
    let s = setup();
    let token = s.issuer.issue("alice", &json!({"tenant": 1})).unwrap();
    let response = s
        .app
        .get(&format!("/orders?access_token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
}

#[actix_web::test]
async fn a_missing_scope_gets_403_insufficient_scope() {
    let s = setup();
    let reader = s
        .issuer
        .issue("alice", &json!({"tenant": 1, "scope": "orders:read"}))
        .unwrap();
    let response = s
        .app
        .post("/orders/write")
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let challenge = response.headers()[WWW_AUTHENTICATE].to_str().unwrap();
    assert!(
        challenge.contains(r#"error="insufficient_scope""#)
            && challenge.contains(r#"scope="orders:write""#),
        "{challenge}"
    );
    let writer = s
        .issuer
        .issue("bob", &json!({"tenant": 1, "scope": "orders:write"}))
        .unwrap();
    assert_eq!(
        s.app
            .post("/orders/write")
            .bearer_auth(&writer)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
}

#[actix_web::test]
async fn attack_a_revoked_token_is_refused_at_once() {
    let logs = LogCapture::install();
    let s = setup();
    let token = s.issuer.issue("alice", &json!({"tenant": 1})).unwrap();
    assert_eq!(
        s.app
            .get("/orders")
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let verified = s.verifier.verify::<Value>(&token).await.unwrap();
    s.verifier.revoke(&verified.registered).await.unwrap();
    let response = s
        .app
        .get("/orders")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let reasons: Vec<Value> = logs
        .audit_events("/orders")
        .iter()
        .map(|e| e["reason"].clone())
        .collect();
    assert!(reasons.contains(&json!("jwt_revoked")), "{reasons:?}");
    for line in logs.lines() {
        assert!(!line.contains(&token), "a token reached the log");
    }
}

#[actix_web::test]
async fn the_jwks_document_verifies_issued_tokens() {
    let s = setup();
    let jwks: auth_actix::jwt::JwkSet = s
        .app
        .get("/.well-known/jwks.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let from_jwks = Verifier::builder(KeySet::from_jwks(&jwks))
        .issuer("https://id.e2e")
        .audience("orders")
        .build()
        .unwrap();
    let token = s.issuer.issue("alice", &json!({"tenant": 1})).unwrap();
    assert!(from_jwks.verify::<Value>(&token).await.is_ok());
}
