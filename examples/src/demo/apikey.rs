//! The API key part of the demo: `GET /apikey/protected`, with one key minted at start.
//!
//! The key lives in an in-memory store (only its hash), belongs to `demo-service` and holds
//! the scope `orders:read`. It is printed in the banner and written to the credentials file;
//! the article's axios snippet works unchanged but for the URL:
//! `axios.get('http://127.0.0.1:8080/apikey/protected', { headers: { 'X-API-Key': apiKey } })`.

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use auth_actix::Authenticated;
use auth_actix::apikey::{
    self, ApiKeyAuthenticator, ApiKeyInfo, KeyManager, MemoryKeyStore, NewKey,
};
use serde_json::json;

use super::{DemoError, RouteInfo, SchemePart};

/// The demo's key prefix: recognisable as a demo key wherever it turns up.
const PREFIX: &str = "authrs_demo";
const OWNER: &str = "demo-service";
const NAME: &str = "demo";
const SCOPES: &str = "orders:read";
const HEADER: &str = "X-API-Key";

async fn protected(user: Authenticated, key: ApiKeyInfo) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "message": format!("Hello {}, your API key \"{}\" works", user.subject(), key.name),
        "scheme": "api_key",
        "owner": user.subject(),
        "key_id": user.key_id(),
        "scopes": user.scopes().to_string(),
        "expires_at": key.expires_at.map(auth_core::unix_seconds),
    }))
}

pub(crate) async fn setup() -> Result<SchemePart, DemoError> {
    let failed = |e: &dyn std::fmt::Display| DemoError::Scheme {
        scheme: "apikey",
        message: e.to_string(),
    };
    let keys = KeyManager::builder(MemoryKeyStore::new(), PREFIX)
        .build()
        .map_err(|e| failed(&e))?;
    let created = keys
        .create(NewKey::new(OWNER, NAME).scopes(SCOPES.parse().map_err(|e| failed(&e))?))
        .await
        .map_err(|e| failed(&e))?;
    let authenticator = ApiKeyAuthenticator::builder(keys)
        .header(HEADER)
        .realm("auth-rs demo")
        .build()
        .map_err(|e| failed(&e))?;
    // Built once; each worker's app gets a clone (the authenticator is shared).
    let auth = apikey::middleware(authenticator);

    // The demo prints and writes its key; a real service shows it to its owner once.
    let key = created.key.expose_secret().to_owned();
    let id = created.metadata.id;
    Ok(SchemePart {
        name: "api_key",
        routes: vec![RouteInfo {
            method: "GET",
            path: "/apikey/protected",
            description: "API key (X-API-Key header)",
            curl_args: format!(" -H '{HEADER}: {key}'"),
        }],
        credentials: json!({
            "header": HEADER,
            "key": key,
            "key_id": id,
            "owner": OWNER,
            "scopes": SCOPES,
        }),
        banner: vec![format!(
            "api key: {key} (id {id}, owner {OWNER}, scopes {SCOPES}; send it as {HEADER})"
        )],
        configure: Arc::new(move |cfg| {
            cfg.service(
                web::scope("/apikey")
                    .wrap(auth.clone())
                    .route("/protected", web::get().to(protected)),
            );
        }),
    })
}

#[cfg(test)]
mod tests {
    use actix_web::http::StatusCode;
    use actix_web::{App, test};
    use serde_json::Value;

    use super::*;

    #[actix_web::test]
    async fn the_minted_key_opens_the_route_and_nothing_else_does() {
        let part = setup().await.unwrap();
        let key = part.credentials["key"].as_str().unwrap().to_owned();
        assert!(key.starts_with("authrs_demo_"));
        assert!(part.routes[0].curl_args.contains(&key));
        assert!(part.banner[0].contains(&key));
        let configure = Arc::clone(&part.configure);
        let app = test::init_service(App::new().configure(|cfg| configure(cfg))).await;

        let request = test::TestRequest::get()
            .uri("/apikey/protected")
            .insert_header(("X-API-Key", key.as_str()))
            .to_request();
        let body: Value = test::call_and_read_body_json(&app, request).await;
        assert_eq!(body["owner"], "demo-service");
        assert_eq!(body["scopes"], "orders:read");
        assert_eq!(body["key_id"], part.credentials["key_id"]);

        let response = test::call_service(
            &app,
            test::TestRequest::get()
                .uri("/apikey/protected")
                .to_request(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers().get("www-authenticate").unwrap(),
            r#"ApiKey realm="auth-rs demo", header="X-API-Key""#
        );
    }
}
