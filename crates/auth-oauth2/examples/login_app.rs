//! A web app that logs users in with the authorization code grant + PKCE and keeps their
//! tokens in a server-side `auth-session` session.
//!
//! ```text
//! cargo run -p auth-oauth2 --example login_app
//! ```
//!
//! then open <http://127.0.0.1:8090/>.
//!
//! With a real provider, register `http://127.0.0.1:8090/callback` as a redirect URI of a
//! confidential client and set:
//!
//! ```text
//! OAUTH_ISSUER=https://id.example \
//! OAUTH_AUTHORIZATION_ENDPOINT=https://id.example/authorize \
//! OAUTH_TOKEN_ENDPOINT=https://id.example/token \
//! OAUTH_CLIENT_ID=... OAUTH_CLIENT_SECRET=... \
//! OAUTH_SCOPES="openid profile" \
//! cargo run -p auth-oauth2 --example login_app
//! ```
//!
//! Leave `OAUTH_CLIENT_SECRET` out for a public client. Against the auth-rs demo
//! (`cargo xtask demo`, plain HTTP on loopback), whose authorization endpoint registers the
//! public client `demo-app` with this redirect URI:
//!
//! ```text
//! OAUTH_ISSUER=http://127.0.0.1:8080 \
//! OAUTH_AUTHORIZATION_ENDPOINT=http://127.0.0.1:8080/oauth2/authorize \
//! OAUTH_TOKEN_ENDPOINT=http://127.0.0.1:8080/oauth2/token \
//! OAUTH_CLIENT_ID=demo-app OAUTH_SCOPES=orders:read \
//! cargo run -p auth-oauth2 --example login_app
//! ```
//!
//! Without `OAUTH_ISSUER` it starts a *stand-in* authorization server on another loopback
//! port that approves every login as `demo-user` (for the real authorization endpoint, see
//! `TokenService::authorize` and the demo). It checks what a real one checks: the client, the exact
//! redirect URI, the S256 PKCE challenge, single-use codes, and it rotates refresh tokens.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /` | who is logged in, and links |
//! | `GET /login` | new `state`, PKCE verifier and `nonce` kept in the session; redirect to the authorization endpoint |
//! | `GET /callback` | checks `state`, `iss`, errors; exchanges the code; logs the user in (new session id); stores the tokens |
//! | `GET /me` | the stored tokens, refreshed first when the access token expires within a minute |
//! | `POST /logout` | ends the session (CSRF token required) |
//!
//! The app serves plain HTTP on loopback for the demonstration, so its session cookie uses
//! the development opt-in without `Secure`; behind TLS, drop
//! `insecure_dev_cookie_without_secure()` and keep the secure defaults.

#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use actix_web::http::header::LOCATION;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use auth_actix::session::{
    CookieKey, CookieKeys, MemoryStore, Session, SessionManager, SessionMiddleware,
};
use auth_core::{Clock as _, Secret, SystemClock};
use auth_oauth2::{
    AuthorizationCodeClient, CallbackParams, Error, PendingAuthorization, TokenSet,
    pkce_s256_challenge,
};
use serde_json::json;

/// Session keys.
const PENDING: &str = "oauth2.pending";
const TOKENS: &str = "oauth2.tokens";

const LISTEN: &str = "127.0.0.1:8090";
const REDIRECT_URI: &str = "http://127.0.0.1:8090/callback";

struct State {
    client: AuthorizationCodeClient,
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = match std::env::var("OAUTH_ISSUER") {
        Ok(issuer) => {
            let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
            let scopes = std::env::var("OAUTH_SCOPES").unwrap_or_else(|_| "openid".into());
            let mut builder = AuthorizationCodeClient::builder(
                var("OAUTH_CLIENT_ID")?,
                var("OAUTH_AUTHORIZATION_ENDPOINT")?,
                var("OAUTH_TOKEN_ENDPOINT")?,
                REDIRECT_URI,
            );
            // No secret: a public client (PKCE only), such as the demo's `demo-app`.
            if let Ok(secret) = std::env::var("OAUTH_CLIENT_SECRET") {
                builder = builder.client_secret(Secret::from(secret));
            }
            builder.issuer(issuer).scopes(scopes.parse()?).build()?
        }
        Err(_) => {
            let issuer = stand_in::start()?;
            println!("stand-in authorization server: {issuer}");
            AuthorizationCodeClient::builder(
                stand_in::CLIENT_ID,
                format!("{issuer}/authorize"),
                format!("{issuer}/token"),
                REDIRECT_URI,
            )
            .client_secret(Secret::from(stand_in::CLIENT_SECRET))
            .issuer(issuer)
            .require_issuer_in_response(true)
            .scopes("openid orders:read".parse()?)
            .build()?
        }
    };

    let manager = SessionManager::builder(
        MemoryStore::default(),
        CookieKeys::new(CookieKey::generate()?),
    )
    .cookie_name("login_app_session")
    // Plain HTTP on loopback only; see the module docs.
    .insecure_dev_cookie_without_secure()
    .build()?;
    let sessions = SessionMiddleware::new(manager);
    let state = web::Data::new(State { client });

    println!("login app: http://{LISTEN}/");
    HttpServer::new(move || {
        App::new().app_data(state.clone()).service(
            web::scope("")
                .wrap(sessions.clone())
                .route("/", web::get().to(home))
                .route("/login", web::get().to(login))
                .route("/callback", web::get().to(callback))
                .route("/me", web::get().to(me))
                .route("/logout", web::post().to(logout)),
        )
    })
    .bind(LISTEN)?
    .run()
    .await?;
    Ok(())
}

/// A session store error as a response (503, nothing about the cause in the body).
fn store(error: auth_actix::session::Error) -> actix_web::Error {
    auth_actix::AuthError::from(error).into()
}

fn page(status: actix_web::http::StatusCode, body: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("cache-control", "no-store"))
        .body(format!(
            "<!doctype html><title>login app</title><body>{body}</body>"
        ))
}

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

async fn home(session: Session) -> actix_web::Result<HttpResponse> {
    let body = match session.user() {
        Some(user) => format!(
            "<p>Logged in as <b>{}</b>.</p><p><a href=\"/me\">My tokens</a></p>\
             <form method=\"post\" action=\"/logout\">\
             <input type=\"hidden\" name=\"csrf_token\" value=\"{}\">\
             <button>Log out</button></form>",
            escape(&user),
            escape(&session.csrf_token().map_err(store)?)
        ),
        None => "<p>Not logged in. <a href=\"/login\">Log in</a></p>".to_owned(),
    };
    Ok(page(actix_web::http::StatusCode::OK, &body))
}

/// Step 1: a new authorization request; its secrets stay in the session.
async fn login(session: Session, state: web::Data<State>) -> actix_web::Result<HttpResponse> {
    let (url, pending) = state
        .client
        .authorization_url()
        .oidc_nonce()
        .build()
        .map_err(actix_web::error::ErrorInternalServerError)?;
    session.insert(PENDING, &pending).map_err(store)?;
    Ok(HttpResponse::Found()
        .insert_header((LOCATION, url.as_str()))
        .finish())
}

/// Step 2: the authorization server sends the user back here.
async fn callback(
    req: HttpRequest,
    session: Session,
    state: web::Data<State>,
) -> actix_web::Result<HttpResponse> {
    let bad = |message: String| page(actix_web::http::StatusCode::BAD_REQUEST, &escape(&message));
    // Single use: taken out of the session whatever happens next.
    let Some(pending) = session
        .get::<PendingAuthorization>(PENDING)
        .map_err(store)?
    else {
        return Ok(bad(
            "No login in progress in this session. Start again at /login.".into(),
        ));
    };
    session.remove(PENDING);
    let params = match CallbackParams::parse(req.query_string()) {
        Ok(params) => params,
        Err(error) => return Ok(bad(error.to_string())),
    };
    match state.client.callback(pending, &params).await {
        Ok(tokens) => {
            let subject = tokens
                .id_token_claims()
                .and_then(|claims| claims.get("sub")?.as_str().map(str::to_owned))
                .unwrap_or_else(|| "unknown user".to_owned());
            // A login: a new session id, so an id planted before it is worthless.
            session.login(subject);
            session.insert(TOKENS, &tokens).map_err(store)?;
            Ok(HttpResponse::Found()
                .insert_header((LOCATION, "/"))
                .finish())
        }
        Err(Error::Authorization(refusal)) => Ok(bad(format!("The login was refused: {refusal}"))),
        // The error names the failed check (state, iss, ...); it never holds a secret.
        Err(error) => Ok(bad(format!("The login failed: {error}"))),
    }
}

/// Uses the tokens, refreshing them first when the access token is about to expire; the
/// refreshed set (with the rotated refresh token) replaces the stored one.
async fn me(session: Session, state: web::Data<State>) -> actix_web::Result<HttpResponse> {
    let Some(user) = session.user() else {
        return Ok(HttpResponse::Found()
            .insert_header((LOCATION, "/login"))
            .finish());
    };
    let Some(mut tokens) = session.get::<TokenSet>(TOKENS).map_err(store)? else {
        return Ok(HttpResponse::Found()
            .insert_header((LOCATION, "/login"))
            .finish());
    };
    let mut refreshed = false;
    if tokens.expires_within(SystemClock.now(), Duration::from_secs(60)) {
        match state.client.refresh(&tokens).await {
            Ok(fresh) => {
                tokens = fresh;
                session.insert(TOKENS, &tokens).map_err(store)?;
                refreshed = true;
            }
            Err(error) if error.requires_login() => {
                session.logout();
                return Ok(HttpResponse::Found()
                    .insert_header((LOCATION, "/login"))
                    .finish());
            }
            Err(error) => return Err(actix_web::error::ErrorBadGateway(error.to_string())),
        }
    }
    let access = tokens.access_token();
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(json!({
            "user": user,
            "refreshed_now": refreshed,
            "access_token_expires_at": access.expires_at().map(auth_core::unix_seconds),
            "scopes": access.scopes().map(ToString::to_string),
            "has_refresh_token": tokens.refresh_token().is_some(),
            "id_token_claims": tokens.id_token_claims(),
        })))
}

async fn logout(session: Session) -> HttpResponse {
    // An unsafe method: the session middleware has checked the CSRF token.
    session.logout();
    HttpResponse::Found()
        .insert_header((LOCATION, "/"))
        .finish()
}

/// A stand-in authorization server for trying the app locally: approves every login.
mod stand_in {
    use super::*;
    use auth_oauth2::auth_jwt::{Algorithm, Issuer, Key, KeySet};
    use base64::Engine as _;

    pub(super) const CLIENT_ID: &str = "login-app";
    pub(super) const CLIENT_SECRET: &str = "login-app-secret-for-local-tries";

    struct Grant {
        challenge: String,
        redirect_uri: String,
        nonce: Option<String>,
    }

    struct Server {
        issuer: String,
        id_tokens: Issuer,
        codes: Mutex<HashMap<String, Grant>>,
        refresh_tokens: Mutex<HashMap<String, ()>>,
    }

    fn random() -> String {
        let mut bytes = [0_u8; 32];
        getrandom::getrandom(&mut bytes).expect("OS randomness");
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    fn oauth_error(code: &str) -> HttpResponse {
        HttpResponse::BadRequest().json(json!({"error": code}))
    }

    /// Starts the server on a free loopback port, in the background; returns its issuer.
    pub(super) fn start() -> Result<String, Box<dyn std::error::Error>> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let issuer = format!("http://{}", listener.local_addr()?);
        let keys = KeySet::single(Key::generate("stand-in", Algorithm::ES256)?);
        let server = web::Data::new(Server {
            id_tokens: Issuer::builder(keys)
                .issuer(issuer.clone())
                .audience(CLIENT_ID)
                .ttl(Duration::from_secs(300))
                .build()?,
            issuer: issuer.clone(),
            codes: Mutex::new(HashMap::new()),
            refresh_tokens: Mutex::new(HashMap::new()),
        });
        let running = HttpServer::new(move || {
            App::new()
                .app_data(server.clone())
                .route("/authorize", web::get().to(authorize))
                .route("/token", web::post().to(token))
        })
        .workers(1)
        .listen(listener)?
        .run();
        actix_web::rt::spawn(running);
        Ok(issuer)
    }

    async fn authorize(
        query: web::Query<HashMap<String, String>>,
        server: web::Data<Server>,
    ) -> HttpResponse {
        let get = |name: &str| query.get(name).cloned().unwrap_or_default();
        if get("client_id") != CLIENT_ID || get("redirect_uri") != REDIRECT_URI {
            // Never redirect to an unregistered URI (RFC 6749 §4.1.2.1).
            return HttpResponse::BadRequest().body("unknown client or redirect URI");
        }
        let mut redirect = url::Url::parse(REDIRECT_URI).expect("a valid URI");
        {
            let mut pairs = redirect.query_pairs_mut();
            if get("response_type") != "code" || get("code_challenge_method") != "S256" {
                pairs.append_pair("error", "invalid_request");
            } else {
                let code = random();
                server.codes.lock().expect("not poisoned").insert(
                    code.clone(),
                    Grant {
                        challenge: get("code_challenge"),
                        redirect_uri: get("redirect_uri"),
                        nonce: query.get("nonce").cloned(),
                    },
                );
                pairs.append_pair("code", &code);
            }
            pairs.append_pair("state", &get("state"));
            pairs.append_pair("iss", &server.issuer);
        }
        HttpResponse::Found()
            .insert_header((LOCATION, redirect.as_str()))
            .finish()
    }

    async fn token(
        req: HttpRequest,
        form: web::Form<HashMap<String, String>>,
        server: web::Data<Server>,
    ) -> HttpResponse {
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
        let authorized = req
            .headers()
            .get("authorization")
            .is_some_and(|v| v.as_bytes() == format!("Basic {basic}").as_bytes());
        if !authorized {
            return HttpResponse::Unauthorized().json(json!({"error": "invalid_client"}));
        }
        let get = |name: &str| form.get(name).cloned().unwrap_or_default();
        let nonce = match get("grant_type").as_str() {
            "authorization_code" => {
                let grant = server
                    .codes
                    .lock()
                    .expect("not poisoned")
                    .remove(&get("code"));
                let Some(grant) = grant else {
                    return oauth_error("invalid_grant");
                };
                if grant.redirect_uri != get("redirect_uri")
                    || pkce_s256_challenge(&get("code_verifier")).as_deref()
                        != Some(grant.challenge.as_str())
                {
                    return oauth_error("invalid_grant");
                }
                grant.nonce
            }
            "refresh_token" => {
                // Rotation: the presented refresh token is spent.
                let spent = server
                    .refresh_tokens
                    .lock()
                    .expect("not poisoned")
                    .remove(&get("refresh_token"));
                if spent.is_none() {
                    return oauth_error("invalid_grant");
                }
                None
            }
            _ => return oauth_error("unsupported_grant_type"),
        };
        let refresh = random();
        server
            .refresh_tokens
            .lock()
            .expect("not poisoned")
            .insert(refresh.clone(), ());
        let mut body = json!({
            "access_token": random(),
            "token_type": "Bearer",
            "expires_in": 120,
            "refresh_token": refresh,
            "scope": "openid orders:read",
        });
        if let Some(nonce) = nonce {
            match server
                .id_tokens
                .issue("demo-user", &json!({"nonce": nonce}))
            {
                Ok(id_token) => body["id_token"] = json!(id_token),
                Err(_) => return HttpResponse::InternalServerError().finish(),
            }
        }
        HttpResponse::Ok()
            .insert_header(("cache-control", "no-store"))
            .json(body)
    }
}
