//! The JWT part of the demo: a strict route for tokens from our issuer, a route for tokens
//! made by the article's Node snippet, and the JWKS.
//!
//! - `GET /jwt/protected`: ES256 tokens from the demo's [`Issuer`] (`iss` and `aud`
//!   required); one is minted at start.
//! - `GET /jwt/article`: HS256 tokens signed with the demo's generated secret, the way the
//!   article's `jwt.sign(payload, secretKey, { expiresIn: '1h' })` makes them (no `kid`,
//!   `iss` or `aud`; the subject comes from `sub` or `userId`).
//! - `GET /.well-known/jwks.json`: the ES256 public key.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use auth_actix::jwt::{Algorithm, Issuer, JwtAuthenticator, Key, KeySet, Verifier, jwks_response};
use auth_actix::{Authenticate, Authenticated};
use auth_core::Secret;
use serde_json::json;

use super::{DemoError, RouteInfo, SchemePart, random_token};

const ISSUER: &str = "auth-rs-demo";
const AUDIENCE: &str = "auth-rs-demo-api";

async fn protected(user: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "message": format!("Hello {}", user.subject()),
        "scheme": "jwt",
        "subject": user.subject(),
        "scopes": user.scopes().to_string(),
        "kid": user.key_id(),
    }))
}

pub(crate) async fn setup() -> Result<SchemePart, DemoError> {
    let failed = |e: &dyn std::fmt::Display| DemoError::Scheme {
        scheme: "jwt",
        message: e.to_string(),
    };
    let signing =
        KeySet::single(Key::generate("demo-es256", Algorithm::ES256).map_err(|e| failed(&e))?);
    let issuer = Issuer::builder(signing.clone())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .ttl(Duration::from_secs(3600))
        .build()
        .map_err(|e| failed(&e))?;
    let token = issuer
        .issue("demo-user", &json!({"scope": "orders:read"}))
        .map_err(|e| failed(&e))?;
    let strict = JwtAuthenticator::builder(
        Verifier::builder(signing.clone())
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .build()
            .map_err(|e| failed(&e))?,
    )
    .realm("auth-rs demo")
    .build()
    .map_err(|e| failed(&e))?;

    // The article's snippet signs with the secret's UTF-8 bytes: 43 base62 characters carry
    // 256 bits.
    let secret = random_token(43);
    let article_keys = KeySet::single(
        Key::hmac(
            "demo-hs256",
            Algorithm::HS256,
            &Secret::from(secret.as_str()),
        )
        .map_err(|e| failed(&e))?,
    );
    let article = JwtAuthenticator::builder(
        Verifier::builder(article_keys)
            .build()
            .map_err(|e| failed(&e))?,
    )
    .realm("auth-rs demo")
    .subject_claims(["sub", "userId"])
    .build()
    .map_err(|e| failed(&e))?;

    let strict = Authenticate::new(strict);
    let article = Authenticate::new(article);
    let published = signing.clone();
    Ok(SchemePart {
        name: "jwt",
        routes: vec![
            RouteInfo {
                method: "GET",
                path: "/jwt/protected",
                description: "JWT bearer token (ES256, iss and aud checked), minted at start",
                curl_args: format!(" -H 'Authorization: Bearer {token}'"),
            },
            RouteInfo {
                method: "GET",
                path: "/jwt/article",
                description: "JWT (HS256) as the article's jsonwebtoken snippet signs it, with the demo secret",
                curl_args: String::new(),
            },
            RouteInfo {
                method: "GET",
                path: "/.well-known/jwks.json",
                description: "public: the JWKS of the demo issuer",
                curl_args: String::new(),
            },
        ],
        credentials: json!({
            "token": token,
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "jwks": "/.well-known/jwks.json",
            "hs256_secret": secret,
        }),
        banner: vec![
            format!("jwt: bearer token for /jwt/protected: {token}"),
            format!("jwt: HS256 secret for the article's snippet (/jwt/article): {secret}"),
        ],
        configure: Arc::new(move |cfg| {
            let published = published.clone();
            cfg.route(
                "/.well-known/jwks.json",
                web::get().to(move || {
                    let keys = published.clone();
                    async move { jwks_response(&keys) }
                }),
            )
            .service(
                web::scope("/jwt/protected")
                    .wrap(strict.clone())
                    .route("", web::get().to(protected)),
            )
            .service(
                web::scope("/jwt/article")
                    .wrap(article.clone())
                    .route("", web::get().to(protected)),
            );
        }),
    })
}
