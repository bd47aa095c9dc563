//! The Basic part of the demo: `GET /basic/protected` for one user.
//!
//! The user is the article's `myUser` / `myPassword`, so its axios snippet works unchanged
//! but for the URL. That password is public, so it is used only when the demo listens on a
//! loopback address; on any other address the demo generates a random password instead
//! (printed, and written to the credentials file).

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use auth_actix::Authenticated;
use auth_actix::basic::{
    self, Argon2Hasher, BasicAuthenticator, BasicCredentials, BasicUser, MemoryUserStore,
};
use serde_json::json;

use super::{DemoConfig, DemoError, RouteInfo, SchemePart, random_token};

const USERNAME: &str = "myUser";
const ARTICLE_PASSWORD: &str = "myPassword";

async fn protected(user: Authenticated) -> HttpResponse {
    let username = user
        .extension::<BasicUser>()
        .map_or(user.subject(), |u| u.username.as_str());
    HttpResponse::Ok().json(json!({
        "message": format!("Hello {username}"),
        "scheme": "basic",
        "user_id": user.subject(),
        "scopes": user.scopes().to_string(),
    }))
}

/// The demo's users: `myUser` with the article's password on loopback, a generated one
/// elsewhere. Shared by the Basic routes and the session login.
pub(crate) struct DemoUsers {
    pub(crate) store: Arc<MemoryUserStore>,
    pub(crate) username: &'static str,
    pub(crate) password: String,
}

pub(crate) fn demo_users(config: &DemoConfig) -> Result<DemoUsers, DemoError> {
    let password = if config.listen.ip().is_loopback() {
        ARTICLE_PASSWORD.to_owned()
    } else {
        random_token(24)
    };
    let store = Arc::new(MemoryUserStore::new());
    store
        .add_user(
            &Argon2Hasher::default(),
            USERNAME,
            &password,
            "profile:read",
        )
        .map_err(|e| DemoError::Scheme {
            scheme: "basic",
            message: e.to_string(),
        })?;
    Ok(DemoUsers {
        store,
        username: USERNAME,
        password,
    })
}

pub(crate) async fn setup(users: &DemoUsers) -> Result<SchemePart, DemoError> {
    let failed = |e: &dyn std::fmt::Display| DemoError::Scheme {
        scheme: "basic",
        message: e.to_string(),
    };
    let password = users.password.clone();
    let authenticator = BasicAuthenticator::builder(users.store.clone())
        .realm("auth-rs demo")
        .build()
        .map_err(|e| failed(&e))?;
    let auth = basic::middleware(authenticator);
    let header = BasicCredentials::new(USERNAME, password.as_str()).header_value();

    Ok(SchemePart {
        name: "basic",
        routes: vec![RouteInfo {
            method: "GET",
            path: "/basic/protected",
            description: "HTTP Basic (RFC 7617), argon2id-hashed user",
            curl_args: format!(" -u '{USERNAME}:{password}'"),
        }],
        credentials: json!({
            "username": USERNAME,
            "password": password,
            "authorization": header,
        }),
        banner: vec![format!("basic: user {USERNAME}, password {password}")],
        configure: Arc::new(move |cfg| {
            cfg.service(
                web::scope("/basic")
                    .wrap(auth.clone())
                    .route("/protected", web::get().to(protected)),
            );
        }),
    })
}
