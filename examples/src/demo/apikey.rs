//! The API key part of the demo: `GET /apikey/protected` and `POST /apikey/revoke`.
//!
//! The demo key is minted once, into the state file, and seeded into the database (only
//! its hash) on every start: inserted when missing, left alone when present — also when
//! it was revoked, since a revocation is meant to last. It belongs to `demo-service` and
//! holds the scope `orders:read`. It is printed in the banner and written to the
//! credentials file; the article's axios snippet works unchanged but for the URL:
//! `axios.get('http://127.0.0.1:8080/apikey/protected', { headers: { 'X-API-Key': apiKey } })`.
//!
//! `POST /apikey/revoke` revokes the key it is called with (a leaked key's holder, or its
//! owner, ends it at once). It is authenticated by the key itself, sent in a header, which
//! a browser never adds on its own: a cross-site form cannot forge it (no CSRF). The
//! database holds the revocation, and the demo keeps no cache of keys, so every instance
//! refuses the key from the next request on.

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use auth_actix::Authenticated;
use auth_actix::apikey::{self, ApiKeyAuthenticator, ApiKeyInfo, KeyManager};
use auth_apikey::{Error as KeyError, KeyHasher, KeyMetadata, KeyRecord, KeyStore, StoreError};
use serde_json::json;

use super::{Context, DemoError, RouteInfo, SchemePart};

/// The demo's key prefix: recognisable as a demo key wherever it turns up.
pub(crate) const PREFIX: &str = "authrs_demo";
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

/// `POST /apikey/revoke`: revokes the key the request was authenticated with.
async fn revoke(user: Authenticated, keys: web::Data<KeyManager>) -> HttpResponse {
    let Some(key_id) = user.key_id() else {
        return HttpResponse::InternalServerError().finish();
    };
    match keys.revoke(key_id).await {
        Ok(metadata) => HttpResponse::Ok().json(json!({
            "message": "API key revoked",
            "key_id": metadata.id,
            "revoked_at": metadata.revoked_at.map(auth_core::unix_seconds),
        })),
        Err(error) => {
            tracing::warn!(target: "auth_examples::demo", %key_id, %error, "could not revoke the key");
            HttpResponse::ServiceUnavailable().json(json!({
                "error": "temporarily_unavailable",
                "error_description": "The key store is unavailable; try again",
            }))
        }
    }
}

/// Puts the state file's key into the store unless it is there already (active or not).
/// Returns a note for the banner when the key cannot be used.
async fn seed(ctx: &Context, keys: &KeyManager) -> Result<Option<String>, DemoError> {
    let failed = |e: &dyn std::fmt::Display| DemoError::Scheme {
        scheme: "apikey",
        message: e.to_string(),
    };
    let key = ctx.state.api_key.as_str();
    match keys.verify(key).await {
        Ok(_) => Ok(None),
        Err(KeyError::UnknownKey) => {
            let metadata = KeyMetadata::new(
                ctx.state.api_key_id.clone(),
                OWNER,
                NAME,
                SCOPES.parse().map_err(|e| failed(&e))?,
                keys.clock().now(),
            );
            let record = KeyRecord::new(KeyHasher::sha256().hash(key), metadata);
            match ctx.stores.keys.insert(record).await {
                // Another instance seeded it at the same moment.
                Ok(()) | Err(StoreError::Duplicate) => Ok(None),
                Err(e) => Err(failed(&e)),
            }
        }
        Err(error) if error.is_refusal() => Ok(Some(format!(
            "api key: the demo key is no longer usable ({error}); start with a new --state file \
             and database to mint another"
        ))),
        Err(error) => Err(failed(&error)),
    }
}

pub(crate) async fn setup(ctx: &Context) -> Result<SchemePart, DemoError> {
    let failed = |e: &dyn std::fmt::Display| DemoError::Scheme {
        scheme: "apikey",
        message: e.to_string(),
    };
    let keys = KeyManager::builder(ctx.stores.keys.clone(), PREFIX)
        .clock(ctx.stores.clock())
        .build()
        .map_err(|e| failed(&e))?;
    let note = seed(ctx, &keys).await?;
    let authenticator = ApiKeyAuthenticator::builder(keys.clone())
        .header(HEADER)
        .realm("auth-rs demo")
        .throttle(ctx.stores.throttle()?)
        .build()
        .map_err(|e| failed(&e))?;
    // Built once; each worker's app gets a clone (the authenticator is shared).
    let auth = apikey::middleware(authenticator);
    let keys = web::Data::new(keys);

    // The demo prints and writes its key; a real service shows it to its owner once.
    let key = ctx.state.api_key.clone();
    let id = ctx.state.api_key_id.clone();
    let mut banner = vec![format!(
        "api key: {key} (id {id}, owner {OWNER}, scopes {SCOPES}; send it as {HEADER})"
    )];
    banner.extend(note);
    Ok(SchemePart {
        name: "api_key",
        routes: vec![
            RouteInfo {
                method: "GET",
                path: "/apikey/protected",
                description: "API key (X-API-Key header)",
                curl_args: format!(" -H '{HEADER}: {key}'"),
            },
            RouteInfo {
                method: "POST",
                path: "/apikey/revoke",
                description: "revokes the API key it is called with, on every instance (no undo: a new --state file mints another)",
                curl_args: format!(" -X POST -H '{HEADER}: <the key to revoke>'"),
            },
        ],
        credentials: json!({
            "header": HEADER,
            "key": key,
            "key_id": id,
            "owner": OWNER,
            "scopes": SCOPES,
        }),
        banner,
        configure: Arc::new(move |cfg| {
            cfg.service(
                web::scope("/apikey")
                    .wrap(auth.clone())
                    .app_data(keys.clone())
                    .route("/protected", web::get().to(protected))
                    .route("/revoke", web::post().to(revoke)),
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
        let (ctx, _dir) = crate::demo::test_context("apikey").await;
        let part = setup(&ctx).await.unwrap();
        // Seeding again (a second instance, a restart) adds nothing and keeps the key.
        setup(&ctx).await.unwrap();
        assert_eq!(
            ctx.stores.keys.list_by_owner(OWNER).await.unwrap().len(),
            1,
            "seeding is idempotent"
        );
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

        // The key revokes itself; then it opens nothing, and a restart does not revive it.
        let request = test::TestRequest::post()
            .uri("/apikey/revoke")
            .insert_header(("X-API-Key", key.as_str()))
            .to_request();
        let body: Value = test::call_and_read_body_json(&app, request).await;
        assert_eq!(body["key_id"], part.credentials["key_id"]);
        let part = setup(&ctx).await.unwrap();
        assert!(part.banner.iter().any(|l| l.contains("no longer usable")));
        let response = test::call_service(
            &app,
            test::TestRequest::get()
                .uri("/apikey/protected")
                .insert_header(("X-API-Key", key.as_str()))
                .to_request(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
}
