//! The session part of the demo: the article's `express-session` example, plus a real login
//! and logout.
//!
//! - `GET /session/start` is the article's `app.get('/')`: it sets the user of the session
//!   (the demo user, with no scopes) and answers "Session established.". Setting a user is a
//!   login, so it goes through `login()` and gets a new session id.
//! - `GET /session/protected` is the article's `/protected`: `Hello user <id>`, or 401.
//! - `POST /session/login` checks a user name and password (JSON or form) against the Basic
//!   part's user store and answers with the session's CSRF token; `POST /session/logout`
//!   needs that token in `X-CSRF-Token`.
//!
//! The cookie key comes from the state file and the sessions live in Redis with `--redis`
//! (this process's memory without), so a session made on one instance works on every
//! other, and a logout on one ends it everywhere. Failed logins count in the shared
//! throttle, with Basic's.
//!
//! The demo serves plain HTTP on loopback by default, where a `Secure`, `__Host-` cookie
//! would never come back; so without `--tls` the cookie uses the loud development opt-in
//! (`insecure_dev_cookie_without_secure`), and with `--tls` the secure defaults.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use auth_actix::session::{CookieKey, CookieKeys, Session, SessionManager, SessionMiddleware};
use auth_actix::{ActixHeaders, AuthError, Authenticated, rejection_response};
use auth_basic::{Argon2Hasher, PasswordHasher, SqlUserStore, UserStore, Verification};
use auth_core::{AuthRequest, Rejection, Scheme, Throttle, ThrottleKey};
use serde::Deserialize;
use serde_json::json;

use super::basic::DemoUsers;
use super::{Context, DemoConfig, DemoError, RouteInfo, SchemePart, random_token};

/// The curl cookie jar the route examples share.
const JAR: &str = "session-cookies.txt";

/// What the login handler needs, built once.
struct Login {
    users: Arc<SqlUserStore>,
    /// A hash of a random password, verified when the user is unknown so that an unknown
    /// user costs the same as a wrong password.
    dummy_hash: Arc<str>,
    manager: SessionManager,
    /// Failed logins slow down per user name and per client, like Basic.
    throttle: Arc<dyn Throttle>,
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

/// The article's `app.get('/')`: `req.session.userId = 123`.
async fn start(session: Session, demo_user: web::Data<DemoUser>) -> HttpResponse {
    session.login(demo_user.id.as_str());
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("Session established.")
}

/// The article's `app.get('/protected')`.
async fn protected(user: Authenticated) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(format!("Hello user {}", user.subject()))
}

async fn login(
    req: HttpRequest,
    session: Session,
    login: web::Data<Login>,
    form: web::Either<web::Json<LoginForm>, web::Form<LoginForm>>,
) -> Result<HttpResponse, AuthError> {
    let LoginForm { username, password } = form.into_inner();
    let headers = ActixHeaders(req.headers());
    let request =
        AuthRequest::new(req.method().as_str(), req.path(), &headers).with_peer(req.peer_addr());
    let mut keys = vec![ThrottleKey::Subject(username.clone())];
    if let Some(peer) = req.peer_addr() {
        keys.push(ThrottleKey::Client(peer.ip()));
    }
    if let Ok(Some(wait)) = login.throttle.retry_after_any(&keys).await {
        let rejection = Rejection::too_many_requests(wait)
            .with_scheme(Scheme::SESSION)
            .with_subject(username);
        auth_core::audit::record_rejection(Scheme::SESSION, &rejection, &request);
        return Ok(rejection_response(&rejection));
    }
    let record = login
        .users
        .find(&username)
        .await
        .map_err(|_| Rejection::unavailable("user_store_unavailable"))?
        .filter(|record| !record.disabled);
    let hash = record.as_ref().map_or_else(
        || Arc::clone(&login.dummy_hash),
        |r| r.password_hash.as_str().into(),
    );
    // Argon2 takes tens of milliseconds of CPU: off the reactor.
    let verified =
        web::block(move || Argon2Hasher::default().verify(password.as_bytes(), &hash)).await;
    let valid = matches!(verified, Ok(Ok(Verification::Valid { .. })));
    match record {
        Some(user) if valid => {
            let _ = login.throttle.reset(&keys[0]).await;
            session.login_with_scopes(user.id.as_str(), user.scopes.clone());
            let csrf_token = session.csrf_token()?;
            Ok(HttpResponse::Ok().json(json!({
                "message": "Logged in",
                "user_id": user.id,
                "csrf_token": csrf_token,
                "csrf_header": "X-CSRF-Token",
            })))
        }
        _ => {
            // Unknown user and wrong password: the same response; the audit event differs.
            let reason = if record.is_some() {
                "wrong_password"
            } else {
                "unknown_user"
            };
            for key in &keys {
                let _ = login.throttle.record_failure(key).await;
            }
            let rejection =
                Rejection::invalid_credentials(login.manager.challenges().to_vec(), reason)
                    .with_scheme(Scheme::SESSION)
                    .with_subject(username);
            auth_core::audit::record_rejection(Scheme::SESSION, &rejection, &request);
            Ok(rejection_response(&rejection))
        }
    }
}

async fn logout(user: Authenticated, session: Session) -> HttpResponse {
    session.logout();
    HttpResponse::Ok().json(json!({"message": "Logged out", "user_id": user.subject()}))
}

/// The demo user's id, for `/session/start`.
struct DemoUser {
    id: String,
}

pub(crate) async fn setup(
    config: &DemoConfig,
    ctx: &Context,
    users: &DemoUsers,
) -> Result<SchemePart, DemoError> {
    let failed = |e: &dyn std::fmt::Display| DemoError::Scheme {
        scheme: "session",
        message: e.to_string(),
    };
    let key = CookieKey::from_base64(&ctx.state.session_cookie_key).map_err(|e| failed(&e))?;
    let mut builder = ctx
        .stores
        .sessions(CookieKeys::new(key))
        .cookie_name("demo_session")
        .max_sessions_per_user(10);
    if !config.tls {
        // Plain HTTP on loopback: a Secure or __Host- cookie would never come back.
        builder = builder.insecure_dev_cookie_without_secure();
    }
    let manager = builder.build().map_err(|e| failed(&e))?;
    let cookie_name = manager.cookie_name().to_owned();

    let demo_user = users
        .store
        .find(users.username)
        .await
        .map_err(|e| failed(&e))?
        .ok_or_else(|| failed(&"the demo user is missing"))?;
    let dummy_hash: Arc<str> = Argon2Hasher::default()
        .hash(random_token(32).as_bytes())
        .map_err(|e| failed(&e))?
        .into();

    let sessions = SessionMiddleware::new(manager.clone());
    // The login form is reached before the client has a token: cross-site checks only.
    let login_sessions = sessions.clone().csrf_origin_checks_only();
    let login_data = web::Data::new(Login {
        users: Arc::clone(&users.store),
        dummy_hash,
        manager,
        throttle: ctx.stores.throttle()?,
    });
    let demo_user = web::Data::new(DemoUser { id: demo_user.id });

    let username = users.username;
    let password = users.password.clone();
    let credentials_json = json!({"username": username, "password": password}).to_string();
    let cookie_note = if config.tls {
        "session cookie: secure defaults (__Host- prefix, Secure, HttpOnly, SameSite=Lax)"
    } else {
        "session cookie: plain-HTTP development cookie (insecure_dev_cookie_without_secure: no Secure, no __Host- prefix); run with --tls for the secure defaults"
    };

    Ok(SchemePart {
        name: "session",
        routes: vec![
            RouteInfo {
                method: "GET",
                path: "/session/start",
                description: "session (the article's express-session '/'): logs in the demo user, no password, no scopes; new session id",
                curl_args: format!(" -c {JAR}"),
            },
            RouteInfo {
                method: "GET",
                path: "/session/protected",
                description: "session (the article's '/protected'): 'Hello user <id>' with a logged-in session, 401 without",
                curl_args: format!(" -b {JAR}"),
            },
            RouteInfo {
                method: "POST",
                path: "/session/login",
                description: "session login: JSON or form username/password, checked against the Basic user store; answers the CSRF token",
                curl_args: format!(
                    " -c {JAR} -b {JAR} -H 'Content-Type: application/json' -d '{credentials_json}'"
                ),
            },
            RouteInfo {
                method: "POST",
                path: "/session/logout",
                description: "session logout (CSRF-protected: X-CSRF-Token from the login answer); deletes the session",
                curl_args: format!(
                    " -c {JAR} -b {JAR} -X POST -H 'X-CSRF-Token: <csrf_token from /session/login>'"
                ),
            },
        ],
        credentials: json!({
            "login": "/session/login",
            "username": username,
            "password": password,
            "cookie": cookie_name,
            "csrf_header": "X-CSRF-Token",
        }),
        banner: vec![
            format!(
                "session: POST /session/login as {username} (the basic user), or GET /session/start"
            ),
            format!("{cookie_note}; cookie name {cookie_name}"),
        ],
        configure: Arc::new(move |cfg| {
            cfg.service(
                web::scope("/session")
                    .app_data(login_data.clone())
                    .app_data(demo_user.clone())
                    .service(
                        web::resource("/login")
                            .wrap(login_sessions.clone())
                            .route(web::post().to(login)),
                    )
                    .service(
                        web::scope("")
                            .wrap(sessions.clone())
                            .route("/start", web::get().to(start))
                            .route("/protected", web::get().to(protected))
                            .route("/logout", web::post().to(logout)),
                    ),
            );
        }),
    })
}
