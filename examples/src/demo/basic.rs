//! The Basic part of the demo: `GET /basic/protected` for one user.
//!
//! The user is the article's `myUser` / `myPassword`, so its axios snippet works unchanged
//! but for the URL. That password is public, so it is used only when the demo listens on a
//! loopback address; on any other address the demo generates a random password instead
//! (printed, and written to the credentials file). The password comes from the state file,
//! so every instance of a deployment agrees on it; the user lives in the database, seeded
//! on every start (idempotently: an existing user whose hash already matches is left
//! alone). Failed attempts go to the shared throttle (Redis with `--redis`).

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use auth_actix::Authenticated;
use auth_actix::basic::{self, Argon2Hasher, BasicAuthenticator, BasicCredentials, BasicUser};
use auth_basic::{PasswordHasher, SqlUserStore, UserStore, Verification};
use serde_json::json;

use super::{Context, DemoError, RouteInfo, SchemePart};

const USERNAME: &str = "myUser";
const SCOPES: &str = "profile:read";

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

/// The demo's users: `myUser` with the password of the state file. Shared by the Basic
/// routes, the session login and the OAuth login.
pub(crate) struct DemoUsers {
    pub(crate) store: Arc<SqlUserStore>,
    pub(crate) username: &'static str,
    pub(crate) password: String,
}

/// Seeds `myUser` into the database: added when missing, its password reset when the
/// stored hash does not match the state file's (a new state file), otherwise untouched.
/// Two instances seeding at once both write the same user (an upsert).
pub(crate) async fn demo_users(ctx: &Context) -> Result<DemoUsers, DemoError> {
    let failed = |e: &dyn std::fmt::Display| DemoError::Scheme {
        scheme: "basic",
        message: e.to_string(),
    };
    let store = ctx.stores.users.clone();
    let password = ctx.state.basic_password.clone();
    let hasher = Argon2Hasher::default();
    match store.find(USERNAME).await.map_err(|e| failed(&e))? {
        None => store
            .add_user(&hasher, USERNAME, &password, SCOPES)
            .await
            .map_err(|e| failed(&e))?,
        Some(user) => {
            let matches = matches!(
                hasher.verify(password.as_bytes(), &user.password_hash),
                Ok(Verification::Valid { .. })
            );
            if !matches {
                store
                    .set_password(&hasher, USERNAME, &password)
                    .await
                    .map_err(|e| failed(&e))?;
            }
        }
    }
    Ok(DemoUsers {
        store: Arc::new(store),
        username: USERNAME,
        password,
    })
}

pub(crate) async fn setup(ctx: &Context, users: &DemoUsers) -> Result<SchemePart, DemoError> {
    let failed = |e: &dyn std::fmt::Display| DemoError::Scheme {
        scheme: "basic",
        message: e.to_string(),
    };
    let password = users.password.clone();
    let authenticator = BasicAuthenticator::builder(users.store.clone())
        .realm("auth-rs demo")
        .throttle(ctx.stores.throttle()?)
        .clock(ctx.stores.clock())
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
