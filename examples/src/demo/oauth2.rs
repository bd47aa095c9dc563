//! The OAuth 2.0 part of the demo: a token service (auth-oauth2's server side) and an API
//! that accepts its tokens.
//!
//! - `POST /oauth2/token`: the token endpoint. The registered client `demo-client` (secret
//!   generated at start) gets RFC 9068 access tokens with client credentials, sent the
//!   right way — `curl -u demo-client:SECRET -d grant_type=client_credentials` — scopes
//!   `orders:read orders:write`, `orders:read` when none is asked. The article's snippet,
//!   which puts `client_id` and `client_secret` in the query string, gets 400
//!   `invalid_request` saying where they belong.
//! - `POST /oauth2/introspect` (RFC 7662; the client `demo-api` is the API's),
//!   `POST /oauth2/revoke` (RFC 7009), `GET /oauth2/jwks.json`, and the RFC 8414 metadata at
//!   `GET /.well-known/oauth-authorization-server`.
//! - `POST /auth/token`: the article's Bearer login — JSON `{"username", "password"}`
//!   checked against the demo's Basic users (`myUser`), answered with
//!   `{"accessToken", "tokenType", "expiresIn", "refreshToken"}`. A first-party login, not
//!   the OAuth password grant (which `/oauth2/token` refuses).
//! - `GET /oauth2/protected`: an access token with the scope `orders:read` (403
//!   `insufficient_scope` without it).
//! - `GET /bearer/protected`: any valid access token of the service — the article's
//!   `api.example.com/protected` for the token `/auth/token` returns.
//! - `GET /oauth2/authorize`: the authorization endpoint (authorization code + PKCE S256,
//!   RFC 6749 §4.1, RFC 9700). The public client `demo-app` (no secret) may redirect to
//!   `http://127.0.0.1:<any port>/callback` — part 1's example app
//!   (`cargo run -p auth-oauth2 --example login_app` with the `OAUTH_*` variables the
//!   banner prints) logs in through it. A user who is not logged in is sent to
//!   `GET /oauth2/login` (an HTML form checking the Basic users), then to a consent page
//!   listing the client and the scopes, whose form carries the session's CSRF token.
//!
//! The clients, refresh tokens, opaque access tokens, authorization codes and consents
//! live in the database (`auth_oauth2::Sql*` stores), the clients seeded on every start
//! (an upsert: idempotent) with the state file's secrets; the signing key comes from the
//! state file, and the login page's sessions live in Redis with `--redis`. So every
//! instance of a deployment issues tokens and codes the others accept and redeem, and
//! revoked JWT access tokens go to the shared revocation list.
//!
//! The API checks the tokens with the service's key set directly (same process, no
//! network). The issuer identifier is the demo's own origin (`http://127.0.0.1:8080`, or
//! `https://...` with `--tls`), as RFC 8414 wants; when the demo is asked to pick a free
//! port (port 0) the issuer keeps port 0, as it is set before the port is known. Behind a
//! load balancer, `--public-url` names the origin every instance shares.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use auth_actix::basic::{BasicAuthenticator, BasicCredentials, UserStore as _};
use auth_actix::oauth2::{self, ResourceServer, TokenInfo};
use auth_actix::oauth2_server::{
    AuthorizationEndpoint, ClientConfig, EndpointPaths, FirstPartyLogin, GrantType, TokenEndpoints,
    TokenService, html_escape, safe_return_to,
};
use auth_actix::session::{CookieKey, CookieKeys, Session, SessionMiddleware};
use auth_core::{AuthRequest, HeaderList, Outcome, Secret};
use auth_jwt::{Algorithm, Key, KeySet};
use auth_oauth2::{
    SecretHash, SqlAccessTokenStore, SqlAuthorizationCodeStore, SqlClientRegistry, SqlConsentStore,
    SqlRefreshTokenStore, TokenFormat,
};
use serde::Deserialize;
use serde_json::json;

use super::basic::DemoUsers;
use super::{Context, DemoConfig, DemoError, RouteInfo, SchemePart};

/// The demo API's identifier: the `aud` of its tokens, the RFC 8707 `resource`.
const AUDIENCE: &str = "urn:auth-rs:demo:orders";
/// The client of the article's OAuth snippet.
const CLIENT_ID: &str = "demo-client";
/// The API's own client, for introspection.
const API_CLIENT_ID: &str = "demo-api";
/// The `client_id` claim of the tokens `/auth/token` issues to users.
const FIRST_PARTY_CLIENT_ID: &str = "auth-rs-demo";
const SCOPES: &str = "orders:read orders:write";
const DEFAULT_SCOPE: &str = "orders:read";
/// The scope `GET /oauth2/protected` requires.
const REQUIRED_SCOPE: &str = "orders:read";

const TOKEN_PATH: &str = "/oauth2/token";
const INTROSPECTION_PATH: &str = "/oauth2/introspect";
const REVOCATION_PATH: &str = "/oauth2/revoke";
const JWKS_PATH: &str = "/oauth2/jwks.json";
const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
const LOGIN_PATH: &str = "/auth/token";
const AUTHORIZE_PATH: &str = "/oauth2/authorize";
/// The authorization server's HTML login page.
const LOGIN_PAGE: &str = "/oauth2/login";
/// The public client of part 1's example app.
const APP_CLIENT_ID: &str = "demo-app";
/// Its redirect URI: loopback, so any port is accepted (RFC 8252 §7.3).
const APP_REDIRECT_URI: &str = "http://127.0.0.1:8090/callback";

#[derive(Deserialize)]
struct LoginQuery {
    return_to: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    return_to: Option<String>,
}

/// The login page of the authorization server: a form posting back here.
async fn login_page(session: Session, query: web::Query<LoginQuery>) -> HttpResponse {
    login_form(&session, query.return_to.as_deref().unwrap_or("/"), None)
}

fn login_form(session: &Session, return_to: &str, error: Option<&str>) -> HttpResponse {
    let Ok(csrf) = session.csrf_token() else {
        return HttpResponse::ServiceUnavailable().finish();
    };
    let error = error.map_or_else(String::new, |e| {
        format!("<p role=\"alert\">{}</p>", html_escape(e))
    });
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("cache-control", "no-store"))
        .insert_header(("x-frame-options", "DENY"))
        .body(format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Log in</title></head><body>\
             <h1>Log in to the auth-rs demo</h1>{error}\
             <form method=\"post\" action=\"{LOGIN_PAGE}\">\
             <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
             <input type=\"hidden\" name=\"return_to\" value=\"{return_to}\">\
             <label>User name <input name=\"username\" autocomplete=\"username\"></label>\
             <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\"></label>\
             <button type=\"submit\">Log in</button></form></body></html>",
            csrf = html_escape(&csrf),
            return_to = html_escape(return_to),
        ))
}

/// Checks the form's credentials with the Basic part's users (its throttle and audit
/// included), logs the user in (new session id) and goes back to `return_to` — a path on
/// this server only.
async fn login_submit(
    req: HttpRequest,
    session: Session,
    passwords: web::Data<BasicAuthenticator>,
    form: web::Form<LoginForm>,
) -> HttpResponse {
    let LoginForm {
        username,
        password,
        return_to,
    } = form.into_inner();
    let return_to = return_to
        .as_deref()
        .and_then(safe_return_to)
        .unwrap_or("/")
        .to_owned();
    let header = BasicCredentials::new(username.as_str(), Secret::from(password)).header_value();
    let headers = HeaderList::new().with("Authorization", header);
    let secure = req.connection_info().scheme() == "https";
    let request = AuthRequest::new("POST", LOGIN_PAGE, &headers)
        .with_peer(req.peer_addr())
        .with_secure(secure);
    let principal = if username.contains(':') {
        None
    } else {
        match auth_core::authenticate(&**passwords, &request).await {
            Outcome::Authenticated(principal) => Some(principal),
            _ => None,
        }
    };
    match principal {
        Some(principal) => {
            session.login(principal.subject());
            HttpResponse::SeeOther()
                .insert_header(("location", return_to))
                .finish()
        }
        None => {
            let mut response =
                login_form(&session, &return_to, Some("Wrong user name or password"));
            *response.status_mut() = actix_web::http::StatusCode::UNAUTHORIZED;
            response
        }
    }
}

async fn protected(token: TokenInfo) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "message": format!("Hello {}", token.subject),
        "scheme": "oauth2",
        "subject": token.subject,
        "client_id": token.client_id,
        "scopes": token.scopes.to_string(),
    }))
}

/// The issuer identifier: the origin the demo serves. Plain HTTP is served to loopback
/// clients only, so a plain-HTTP issuer is always named by a loopback address.
fn issuer(config: &DemoConfig) -> String {
    if let Some(url) = &config.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let port = config.listen.port();
    match (config.tls, config.listen.ip()) {
        (true, ip) if !ip.is_unspecified() => format!("https://{}", config.listen),
        (true, _) => format!("https://127.0.0.1:{port}"),
        (false, ip) if ip.is_loopback() => format!("http://{}", config.listen),
        (false, _) => format!("http://127.0.0.1:{port}"),
    }
}

/// The client-credentials token `CLIENT_ID` gets for `scope`, asked the way a client asks.
async fn client_token(
    service: &TokenService,
    secret: &Secret,
    scope: &str,
) -> Result<String, String> {
    let headers = HeaderList::new().with("Content-Type", "application/x-www-form-urlencoded");
    let body = url_form(&[
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT_ID),
        ("client_secret", secret.expose_str().unwrap_or_default()),
        ("scope", scope),
    ]);
    let request = AuthRequest::new("POST", TOKEN_PATH, &headers)
        .with_body(Some(body.as_bytes()))
        .with_secure(true);
    let response = service.token(&request).await;
    response.json()["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("the token endpoint answered {}", response.status()))
}

fn url_form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={}", percent_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(crate) async fn setup(
    config: &DemoConfig,
    ctx: &Context,
    users: &DemoUsers,
) -> Result<SchemePart, DemoError> {
    let failed = |e: &dyn std::fmt::Display| DemoError::Scheme {
        scheme: "oauth2",
        message: e.to_string(),
    };
    let issuer = issuer(config);
    let clock = ctx.stores.clock();
    let pool = ctx.stores.oauth.clone();
    let clients = SqlClientRegistry::new(pool.clone()).with_clock(clock.clone());
    let client_secret = Secret::from(ctx.state.oauth_client_secret.as_str());
    let api_secret = Secret::from(ctx.state.oauth_api_client_secret.as_str());
    // Seeded on every start as an upsert (the same rows whichever instance writes them, and
    // a client changed in the database is put back as the demo defines it); the database
    // keeps only the secrets' hashes. A public client has no secret: its hash is zeros,
    // which nothing matches.
    let seeds = [
        (
            ClientConfig::new(CLIENT_ID)
                .grant(GrantType::ClientCredentials)
                .scopes(SCOPES.parse().map_err(|e| failed(&e))?)
                .default_scopes(DEFAULT_SCOPE.parse().map_err(|e| failed(&e))?)
                .audience(AUDIENCE),
            SecretHash::of(client_secret.expose_secret()),
        ),
        (
            ClientConfig::new(API_CLIENT_ID).introspection_for(AUDIENCE),
            SecretHash::of(api_secret.expose_secret()),
        ),
        (
            ClientConfig::new(APP_CLIENT_ID)
                .public()
                .grant(GrantType::AuthorizationCode)
                .grant(GrantType::RefreshToken)
                .scopes(SCOPES.parse().map_err(|e| failed(&e))?)
                .default_scopes(DEFAULT_SCOPE.parse().map_err(|e| failed(&e))?)
                .audience(AUDIENCE)
                .redirect_uri(APP_REDIRECT_URI),
            SecretHash::from_bytes([0; 32]),
        ),
    ];
    for (config, hash) in seeds {
        let record = config.into_record(hash).map_err(|e| failed(&e))?;
        clients.insert(&record).await.map_err(|e| failed(&e))?;
    }
    let clients = Arc::new(clients);
    let keys = KeySet::single(
        Key::from_private_pem(
            "demo-oauth-es256",
            Algorithm::ES256,
            ctx.state.oauth_es256_pem.as_bytes(),
        )
        .map_err(|e| failed(&e))?,
    );
    let mut builder = TokenService::builder(issuer.clone(), keys, clients)
        .clock(clock.clone())
        .jwt_revocations(ctx.stores.revocations())
        .refresh_token_store(Arc::new(
            SqlRefreshTokenStore::new(pool.clone()).with_clock(clock.clone()),
        ))
        .access_token_store(Arc::new(
            SqlAccessTokenStore::new(pool.clone()).with_clock(clock.clone()),
        ))
        .authorization_code_store(Arc::new(
            SqlAuthorizationCodeStore::new(pool.clone()).with_clock(clock.clone()),
        ))
        .audience(AUDIENCE, TokenFormat::Jwt)
        .first_party_login(FIRST_PARTY_CLIENT_ID, AUDIENCE)
        .realm("auth-rs demo")
        .authorization_path(AUTHORIZE_PATH)
        .paths(EndpointPaths {
            token: TOKEN_PATH.to_owned(),
            introspection: INTROSPECTION_PATH.to_owned(),
            revocation: REVOCATION_PATH.to_owned(),
            jwks: JWKS_PATH.to_owned(),
        });
    if !config.tls {
        // The demo serves plain HTTP to loopback clients only (see demo::start).
        builder = builder.insecure_allow_loopback_http();
    }
    let service = builder.build().map_err(|e| failed(&e))?;

    // The tokens the banner shows: the client's, with and without the required scope, and
    // the demo user's.
    let token = client_token(&service, &client_secret, DEFAULT_SCOPE)
        .await
        .map_err(|e| failed(&e))?;
    let token_without_scope = client_token(&service, &client_secret, "orders:write")
        .await
        .map_err(|e| failed(&e))?;
    let user = users
        .store
        .find(users.username)
        .await
        .map_err(|e| failed(&e))?
        .ok_or_else(|| failed(&"the demo user is missing"))?;
    let headers = HeaderList::new();
    let user_tokens = service
        .issue_to_user(
            &user.id,
            &user.scopes,
            &AuthRequest::new("POST", LOGIN_PATH, &headers),
        )
        .await
        .map_err(|e| failed(&e))?;
    let user_token = user_tokens
        .access_token()
        .expose_str()
        .unwrap_or_default()
        .to_owned();

    let api = ResourceServer::builder(issuer.clone(), AUDIENCE)
        .realm("auth-rs demo")
        .jwt_keys(service.keys().clone())
        .build()
        .map_err(|e| failed(&e))?;
    let orders = oauth2::middleware(api.clone())
        .require_scopes(REQUIRED_SCOPE.parse().map_err(|e| failed(&e))?);
    let bearer = oauth2::middleware(api);
    let passwords = Arc::new(
        BasicAuthenticator::builder(users.store.clone())
            .realm("auth-rs demo")
            .throttle(ctx.stores.throttle()?)
            .clock(ctx.stores.clock())
            .build()
            .map_err(|e| failed(&e))?,
    );
    let endpoints = TokenEndpoints::new(service.clone());
    let authorize = AuthorizationEndpoint::new(
        service.clone(),
        Arc::new(SqlConsentStore::new(pool).with_clock(clock)),
    )
    .login_path(LOGIN_PAGE);
    let passwords_data = web::Data::from(Arc::clone(&passwords));
    let login = FirstPartyLogin::new(service, passwords).path(LOGIN_PATH);
    // The authorization server's own login session (its cookie apart from /session's).
    let mut sessions = ctx
        .stores
        .sessions(CookieKeys::new(
            CookieKey::from_base64(&ctx.state.oauth_login_cookie_key).map_err(|e| failed(&e))?,
        ))
        .cookie_name("oauth2_login");
    if !config.tls {
        // Plain HTTP on loopback: a Secure or __Host- cookie would never come back.
        sessions = sessions.insecure_dev_cookie_without_secure();
    }
    let sessions = SessionMiddleware::new(sessions.build().map_err(|e| failed(&e))?);

    let secret = client_secret.expose_str().unwrap_or_default().to_owned();
    let api_secret = api_secret.expose_str().unwrap_or_default().to_owned();
    let login_body = format!(
        r#"{{"username":{},"password":{}}}"#,
        json!(users.username),
        json!(users.password)
    );
    Ok(SchemePart {
        name: "oauth2",
        routes: vec![
            RouteInfo {
                method: "POST",
                path: TOKEN_PATH,
                description: "OAuth 2.0 token endpoint (RFC 6749): client credentials, client_secret_basic or _post; never in the URL",
                curl_args: format!(" -u '{CLIENT_ID}:{secret}' -d grant_type=client_credentials"),
            },
            RouteInfo {
                method: "GET",
                path: "/oauth2/protected",
                description: "OAuth 2.0 resource server: an RFC 9068 access token (at+jwt) with scope orders:read",
                curl_args: format!(" -H 'Authorization: Bearer {token}'"),
            },
            RouteInfo {
                method: "POST",
                path: LOGIN_PATH,
                description: "the article's Bearer login: JSON {username, password} (the Basic user) -> {accessToken, ...}",
                curl_args: format!(" -H 'Content-Type: application/json' -d '{login_body}'"),
            },
            RouteInfo {
                method: "GET",
                path: "/bearer/protected",
                description: "Bearer token from /auth/token or /oauth2/token (any valid access token of the service)",
                curl_args: format!(" -H 'Authorization: Bearer {user_token}'"),
            },
            RouteInfo {
                method: "POST",
                path: INTROSPECTION_PATH,
                description: "token introspection (RFC 7662), for the API's client demo-api",
                curl_args: format!(" -u '{API_CLIENT_ID}:{api_secret}' -d token={token}"),
            },
            RouteInfo {
                method: "POST",
                path: REVOCATION_PATH,
                description: "token revocation (RFC 7009): the client revokes its own tokens",
                curl_args: format!(" -u '{CLIENT_ID}:{secret}' -d token={token_without_scope}"),
            },
            RouteInfo {
                method: "GET",
                path: AUTHORIZE_PATH,
                description: "authorization endpoint (code + PKCE S256) for the public client demo-app; log in at /oauth2/login, then consent",
                curl_args: String::new(),
            },
            RouteInfo {
                method: "GET",
                path: METADATA_PATH,
                description: "authorization server metadata (RFC 8414)",
                curl_args: String::new(),
            },
            RouteInfo {
                method: "GET",
                path: JWKS_PATH,
                description: "the token service's public keys (JWKS)",
                curl_args: String::new(),
            },
        ],
        credentials: json!({
            "issuer": issuer,
            "audience": AUDIENCE,
            "client_id": CLIENT_ID,
            "client_secret": secret,
            "token_endpoint": TOKEN_PATH,
            "introspection_endpoint": INTROSPECTION_PATH,
            "revocation_endpoint": REVOCATION_PATH,
            "metadata": METADATA_PATH,
            "jwks": JWKS_PATH,
            "scopes": SCOPES,
            "default_scope": DEFAULT_SCOPE,
            "required_scope": REQUIRED_SCOPE,
            "token": token,
            "token_without_scope": token_without_scope,
            "introspection_client": {"client_id": API_CLIENT_ID, "client_secret": api_secret},
            "bearer_login": LOGIN_PATH,
            "bearer_protected": "/bearer/protected",
            "user_token": user_token,
            "authorization_endpoint": AUTHORIZE_PATH,
            "login_page": LOGIN_PAGE,
            "app_client_id": APP_CLIENT_ID,
            "app_redirect_uri": APP_REDIRECT_URI,
        }),
        banner: vec![
            format!(
                "oauth2: client {CLIENT_ID}, secret {secret} (scopes {SCOPES}; token endpoint {TOKEN_PATH})"
            ),
            format!("oauth2: access token (scope {REQUIRED_SCOPE}) for /oauth2/protected: {token}"),
            format!(
                "oauth2: access token without {REQUIRED_SCOPE} (gets 403): {token_without_scope}"
            ),
            format!(
                "oauth2: bearer login {LOGIN_PATH} with the Basic user; its token: {user_token}"
            ),
            format!(
                "oauth2: authorization code + PKCE: OAUTH_ISSUER={issuer} \
                 OAUTH_AUTHORIZATION_ENDPOINT={issuer}{AUTHORIZE_PATH} \
                 OAUTH_TOKEN_ENDPOINT={issuer}{TOKEN_PATH} OAUTH_CLIENT_ID={APP_CLIENT_ID} \
                 OAUTH_SCOPES={DEFAULT_SCOPE} cargo run -p auth-oauth2 --example login_app"
            ),
        ],
        configure: Arc::new(move |cfg| {
            endpoints.configure(cfg);
            login.configure(cfg);
            cfg.service(authorize.resource().wrap(sessions.clone()));
            cfg.service(
                web::resource(LOGIN_PAGE)
                    .wrap(sessions.clone())
                    .app_data(passwords_data.clone())
                    .route(web::get().to(login_page))
                    .route(web::post().to(login_submit)),
            );
            cfg.service(
                web::scope("/oauth2/protected")
                    .wrap(orders.clone())
                    .route("", web::get().to(protected)),
            );
            cfg.service(
                web::scope("/bearer/protected")
                    .wrap(bearer.clone())
                    .route("", web::get().to(protected)),
            );
        }),
    })
}
