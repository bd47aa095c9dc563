//! The OAuth 2.0 part of the demo: an API (a resource server) that accepts RFC 9068 JWT
//! access tokens and checks their scope.
//!
//! - `GET /oauth2/protected`: needs `Authorization: Bearer <access token>` with the scope
//!   `orders:read`. Two tokens are minted at start: one with the scope (200) and one
//!   without (403 `insufficient_scope`).
//!
//! Until the demo has its own token service (auth-oauth2 part 2), the tokens come from an
//! in-process *test issuer*: an auth-jwt [`Issuer`] with `typ` `at+jwt` and `iss`
//! `auth-rs-demo-oauth`, and the resource server checks them with that issuer's key set
//! directly (no network). Part 2 replaces the test issuer with the token endpoint (client
//! credentials, so a client can get fresh tokens) and the resource server then finds the
//! keys through the demo's RFC 8414 metadata.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use auth_actix::oauth2::{self, ResourceServer, TokenInfo};
use auth_jwt::{Algorithm, Issuer, Key, KeySet};
use serde_json::json;

use super::{DemoError, RouteInfo, SchemePart};

/// The test issuer's identifier (origin-independent, as the demo's address varies).
const ISSUER: &str = "auth-rs-demo-oauth";
/// The demo API's identifier, the `aud` of its tokens.
const AUDIENCE: &str = "auth-rs-demo-orders";
/// The client the demo tokens are issued to.
const CLIENT_ID: &str = "demo-client";
/// The scope `GET /oauth2/protected` requires.
const REQUIRED_SCOPE: &str = "orders:read";
/// How long the demo tokens live: the test issuer has no token endpoint to get new ones.
const TOKEN_TTL: Duration = Duration::from_secs(12 * 3600);

async fn protected(token: TokenInfo) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "message": format!("Hello {}", token.subject),
        "scheme": "oauth2",
        "subject": token.subject,
        "client_id": token.client_id,
        "scopes": token.scopes.to_string(),
    }))
}

pub(crate) async fn setup() -> Result<SchemePart, DemoError> {
    let failed = |e: &dyn std::fmt::Display| DemoError::Scheme {
        scheme: "oauth2",
        message: e.to_string(),
    };
    let keys = KeySet::single(
        Key::generate("demo-oauth-es256", Algorithm::ES256).map_err(|e| failed(&e))?,
    );
    let issuer = Issuer::builder(keys.clone())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .typ("at+jwt")
        .ttl(TOKEN_TTL)
        .build()
        .map_err(|e| failed(&e))?;
    let token = issuer
        .issue(
            "demo-service",
            &json!({"client_id": CLIENT_ID, "scope": format!("{REQUIRED_SCOPE} profile")}),
        )
        .map_err(|e| failed(&e))?;
    let token_without_scope = issuer
        .issue(
            "demo-service",
            &json!({"client_id": CLIENT_ID, "scope": "profile"}),
        )
        .map_err(|e| failed(&e))?;

    let api = ResourceServer::builder(ISSUER, AUDIENCE)
        .realm("auth-rs demo")
        .jwt_keys(keys)
        .build()
        .map_err(|e| failed(&e))?;
    let required = REQUIRED_SCOPE.parse().map_err(|e| failed(&e))?;
    let auth = oauth2::middleware(api).require_scopes(required);

    Ok(SchemePart {
        name: "oauth2",
        routes: vec![RouteInfo {
            method: "GET",
            path: "/oauth2/protected",
            description: "OAuth 2.0 resource server: an RFC 9068 access token (at+jwt) with scope orders:read",
            curl_args: format!(" -H 'Authorization: Bearer {token}'"),
        }],
        credentials: json!({
            "token": token,
            "token_without_scope": token_without_scope,
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "client_id": CLIENT_ID,
            "required_scope": REQUIRED_SCOPE,
        }),
        banner: vec![
            format!("oauth2: access token (scope {REQUIRED_SCOPE}) for /oauth2/protected: {token}"),
            format!(
                "oauth2: access token without {REQUIRED_SCOPE} (gets 403): {token_without_scope}"
            ),
        ],
        configure: Arc::new(move |cfg| {
            cfg.service(
                web::scope("/oauth2/protected")
                    .wrap(auth.clone())
                    .route("", web::get().to(protected)),
            );
        }),
    })
}
