//! The JWT part of the demo: a strict route for tokens from our issuer, a route for tokens
//! made by the article's Node snippet, and the JWKS.
//!
//! - `GET /jwt/protected`: ES256 tokens from the demo's [`Issuer`] (`iss` and `aud`
//!   required); one is minted at start.
//! - `GET /jwt/article`: HS256 tokens signed with the demo's generated secret, the way the
//!   article's `jwt.sign(payload, secretKey, { expiresIn: '1h' })` makes them (no `kid`,
//!   `iss` or `aud`; the subject comes from `sub` or `userId`).
//! - `POST /jwt/logout`: revokes the presented token (its `jti`, until its `exp`). The
//!   revocation list is Redis with `--redis` (every instance refuses the token from the
//!   next request on), this process's memory without. The token travels in the
//!   `Authorization` header, which a browser never adds on its own, so a cross-site request
//!   cannot forge a logout (no CSRF).
//! - `GET /.well-known/jwks.json`: the ES256 public key.
//!
//! Both keys come from the state file, so every instance of a deployment verifies the
//! tokens any of them minted.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use auth_actix::jwt::{Algorithm, Issuer, JwtAuthenticator, Key, KeySet, Verifier, jwks_response};
use auth_actix::{Authenticate, Authenticated};
use auth_core::Secret;
use auth_jwt::VerifiedClaims;
use serde_json::json;

use super::{Context, DemoError, RouteInfo, SchemePart};

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

/// `POST /jwt/logout`: revokes the token the request was authenticated with.
async fn logout(user: Authenticated, verifier: web::Data<Verifier>) -> HttpResponse {
    let Some(claims) = user.extension::<VerifiedClaims>() else {
        return HttpResponse::InternalServerError().finish();
    };
    match verifier.revoke(claims.registered()).await {
        Ok(()) => HttpResponse::Ok().json(json!({
            "message": "token revoked",
            "subject": user.subject(),
            "jti": claims.registered().jti,
        })),
        Err(error) => {
            tracing::warn!(target: "auth_examples::demo", %error, "could not revoke the token");
            HttpResponse::ServiceUnavailable().json(json!({
                "error": "temporarily_unavailable",
                "error_description": "The revocation list is unavailable; try again",
            }))
        }
    }
}

pub(crate) async fn setup(ctx: &Context) -> Result<SchemePart, DemoError> {
    let failed = |e: &dyn std::fmt::Display| DemoError::Scheme {
        scheme: "jwt",
        message: e.to_string(),
    };
    let signing = KeySet::single(
        Key::from_private_pem(
            "demo-es256",
            Algorithm::ES256,
            ctx.state.jwt_es256_pem.as_bytes(),
        )
        .map_err(|e| failed(&e))?,
    );
    let clock = ctx.stores.clock();
    let issuer = Issuer::builder(signing.clone())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .ttl(Duration::from_secs(3600))
        .clock(clock.clone())
        .build()
        .map_err(|e| failed(&e))?;
    let token = issuer
        .issue("demo-user", &json!({"scope": "orders:read"}))
        .map_err(|e| failed(&e))?;
    let verifier = Verifier::builder(signing.clone())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .revocations(ctx.stores.revocations())
        .clock(clock.clone())
        .build()
        .map_err(|e| failed(&e))?;
    let strict = JwtAuthenticator::builder(verifier.clone())
        .realm("auth-rs demo")
        .build()
        .map_err(|e| failed(&e))?;
    let verifier = web::Data::new(verifier);

    // The article's snippet signs with the secret's UTF-8 bytes: 43 base62 characters carry
    // 256 bits.
    let secret = ctx.state.jwt_hs256_secret.clone();
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
            .revocations(ctx.stores.revocations())
            // The article's `jwt.sign(payload, secretKey, { expiresIn: '1h' })` sets no
            // `jti`: such tokens are accepted (and cannot be revoked one by one).
            .require_jti(false)
            .clock(clock)
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
                method: "POST",
                path: "/jwt/logout",
                description: "revokes the bearer token it is called with (its jti), on every instance sharing the revocation list",
                curl_args: " -X POST -H 'Authorization: Bearer <the token to revoke>'".to_owned(),
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
                web::resource("/jwt/logout")
                    .wrap(strict.clone())
                    .app_data(verifier.clone())
                    .route(web::post().to(logout)),
            )
            .service(
                web::scope("/jwt/article")
                    .wrap(article.clone())
                    .route("", web::get().to(protected)),
            );
        }),
    })
}
