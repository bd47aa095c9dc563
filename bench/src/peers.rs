//! The peers' routes: what an actix-web user writes without us.
//!
//! - Basic: `actix-web-httpauth`'s `HttpAuthentication::basic` with a validator doing what
//!   ours does: find the user (a `HashMap`), check a verified-credential cache exactly like
//!   auth-basic's (HMAC-SHA256 under a per-process key of the user id and password, a
//!   `Mutex<HashMap>` of digest → (SHA-256 of the PHC string, expiry), the same TTL as ours), and on a
//!   miss verify the same argon2id PHC string with the `argon2` crate on the blocking pool.
//!   No throttling (ours throttles failures; with the right password it only resets a
//!   counter).
//! - Bearer: `HttpAuthentication::bearer` with `jsonwebtoken::decode::<Claims>` (HS256,
//!   `iss`, `aud` and `exp` checked, the same secret), the way its README shows it; the
//!   signature is checked by the ring provider auth-jwt installs, so both sides run the same
//!   HMAC.
//! - Sessions: `actix-session` with `CookieSessionStore` (the whole state in the cookie) and
//!   `RedisSessionStore` (redis 0.32, one round trip per request like ours).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_session::storage::{CookieSessionStore, RedisSessionStore};
use actix_session::{Session, SessionMiddleware};
use actix_web::cookie::Key as CookieKey;
use actix_web::dev::ServiceRequest;
use actix_web::{HttpMessage, HttpResponse, web};
use actix_web_httpauth::extractors::basic::BasicAuth;
use actix_web_httpauth::extractors::bearer::BearerAuth;
use actix_web_httpauth::middleware::HttpAuthentication;
use argon2::password_hash::{PasswordHash, PasswordVerifier};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::ours::{BASIC_USER, JWT_AUDIENCE, JWT_ISSUER, Shared};
use crate::{Route, ServeConfig, reply};

/// The login route of each peer session route, called once at start for its cookie.
pub(crate) fn login_path(route: &str) -> Option<&'static str> {
    match route {
        "peer-session-cookie" => Some("/peer/session-cookie/login"),
        "peer-session-redis" => Some("/peer/session-redis/login"),
        _ => None,
    }
}

/// The subject a validator found, for the handler.
#[derive(Clone)]
struct Subject(String);

async fn protected(subject: web::ReqData<Subject>) -> HttpResponse {
    reply(&subject.0)
}

async fn session_login(session: Session) -> HttpResponse {
    session.renew();
    match session.insert("user", "bench-user") {
        Ok(()) => reply("bench-user"),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

async fn session_protected(session: Session) -> HttpResponse {
    match session.get::<String>("user") {
        Ok(Some(user)) => reply(&user),
        _ => HttpResponse::Unauthorized().finish(),
    }
}

/// A cache entry: the SHA-256 of the PHC string verified against, and the expiry.
type CacheEntry = ([u8; 32], Instant);

/// The Basic user and the cache, as ours keeps them.
struct BasicState {
    /// username → (user id, PHC string).
    users: HashMap<String, (String, Arc<str>)>,
    cache_key: [u8; 32],
    cache: Mutex<HashMap<[u8; 32], CacheEntry>>,
}

/// The same TTL as ours in the bench (auth-basic's longest, 15 minutes).
const CACHE_TTL: Duration = Duration::from_secs(15 * 60);
const CACHE_MAX: usize = 10_000;

impl BasicState {
    fn digest(&self, user_id: &str, password: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.cache_key)
            .expect("HMAC takes any key length");
        mac.update(&(user_id.len() as u64).to_be_bytes());
        mac.update(user_id.as_bytes());
        mac.update(password);
        mac.finalize().into_bytes().into()
    }

    fn hit(&self, user_id: &str, hash: &str, password: &[u8]) -> bool {
        let digest = self.digest(user_id, password);
        let fingerprint: [u8; 32] = Sha256::digest(hash.as_bytes()).into();
        let now = Instant::now();
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        match cache.get(&digest) {
            Some((stored, expires)) if *expires > now => bool::from(stored.ct_eq(&fingerprint)),
            Some(_) => {
                cache.remove(&digest);
                false
            }
            None => false,
        }
    }

    fn remember(&self, user_id: &str, hash: &str, password: &[u8]) {
        let digest = self.digest(user_id, password);
        let fingerprint: [u8; 32] = Sha256::digest(hash.as_bytes()).into();
        let now = Instant::now();
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= CACHE_MAX {
            cache.retain(|_, (_, expires)| *expires > now);
            if cache.len() >= CACHE_MAX {
                cache.clear();
            }
        }
        cache.insert(digest, (fingerprint, now + CACHE_TTL));
    }
}

fn unauthorized(req: ServiceRequest) -> (actix_web::Error, ServiceRequest) {
    (
        actix_web::error::ErrorUnauthorized("invalid credentials"),
        req,
    )
}

async fn basic_validator(
    state: Arc<BasicState>,
    req: ServiceRequest,
    credentials: BasicAuth,
) -> Result<ServiceRequest, (actix_web::Error, ServiceRequest)> {
    let Some((user_id, hash)) = state.users.get(credentials.user_id()).cloned() else {
        return Err(unauthorized(req));
    };
    let password = credentials
        .password()
        .unwrap_or_default()
        .as_bytes()
        .to_vec();
    if !state.hit(&user_id, &hash, &password) {
        let (checked_hash, checked_password) = (Arc::clone(&hash), password.clone());
        let valid = web::block(move || {
            PasswordHash::new(&checked_hash).is_ok_and(|parsed| {
                argon2::Argon2::default()
                    .verify_password(&checked_password, &parsed)
                    .is_ok()
            })
        })
        .await
        .unwrap_or(false);
        if !valid {
            return Err(unauthorized(req));
        }
        state.remember(&user_id, &hash, &password);
    }
    req.extensions_mut().insert(Subject(user_id));
    Ok(req)
}

#[derive(serde::Deserialize)]
struct Claims {
    sub: String,
}

struct BearerState {
    key: jsonwebtoken::DecodingKey,
    validation: jsonwebtoken::Validation,
}

async fn bearer_validator(
    state: Arc<BearerState>,
    req: ServiceRequest,
    credentials: BearerAuth,
) -> Result<ServiceRequest, (actix_web::Error, ServiceRequest)> {
    match jsonwebtoken::decode::<Claims>(credentials.token(), &state.key, &state.validation) {
        Ok(data) => {
            req.extensions_mut().insert(Subject(data.claims.sub));
            Ok(req)
        }
        Err(_) => Err(unauthorized(req)),
    }
}

pub(crate) async fn setup(
    config: &ServeConfig,
    shared: &Shared,
) -> Result<crate::ours::Part, String> {
    // jsonwebtoken's process-wide provider: auth-jwt's ring provider (our keys install it
    // too; this makes the order irrelevant).
    auth_jwt::install_provider();

    let mut cache_key = [0_u8; 32];
    getrandom::getrandom(&mut cache_key).map_err(|e| format!("randomness: {e}"))?;
    let basic_state = Arc::new(BasicState {
        users: HashMap::from([(
            BASIC_USER.to_owned(),
            (
                shared.basic_user_id.clone(),
                Arc::from(shared.basic_hash.as_str()),
            ),
        )]),
        cache_key,
        cache: Mutex::new(HashMap::new()),
    });
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_issuer(&[JWT_ISSUER]);
    validation.set_audience(&[JWT_AUDIENCE]);
    let bearer_state = Arc::new(BearerState {
        key: jsonwebtoken::DecodingKey::from_secret(shared.hs256_secret.as_bytes()),
        validation,
    });

    // The same token our HS256 route gets would do; mint one the peer's way.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &serde_json::json!({
            "sub": "bench-user",
            "iss": JWT_ISSUER,
            "aud": JWT_AUDIENCE,
            "iat": now,
            "exp": now + 24 * 3600,
            "scope": "orders:read",
        }),
        &jsonwebtoken::EncodingKey::from_secret(shared.hs256_secret.as_bytes()),
    )
    .map_err(|e| format!("peer jwt: {e}"))?;

    let cookie_key = CookieKey::generate();
    let redis_store = RedisSessionStore::new(config.redis.as_str())
        .await
        .map_err(|e| format!("actix-session redis: {e}"))?;
    // Built per worker, as actix-session's docs do (inside `HttpServer::new`'s closure).

    let basic_header =
        auth_basic::BasicCredentials::new(BASIC_USER, shared.basic_password.as_str())
            .header_value();
    let routes = vec![
        Route::new(
            "peer-basic",
            "GET",
            "/peer/basic",
            "get",
            "actix-web-httpauth Basic, the same argon2id hash and an equivalent cache",
        )
        .header("Authorization", basic_header),
        Route::new(
            "peer-jwt-hs256",
            "GET",
            "/peer/jwt-hs256",
            "get",
            "actix-web-httpauth Bearer + jsonwebtoken::decode HS256 (iss/aud/exp)",
        )
        .header("Authorization", format!("Bearer {token}")),
        Route::new(
            "peer-session-cookie",
            "GET",
            "/peer/session-cookie/protected",
            "get",
            "actix-session CookieSessionStore",
        ),
        Route::new(
            "peer-session-redis",
            "GET",
            "/peer/session-redis/protected",
            "get",
            "actix-session RedisSessionStore",
        ),
    ];

    let configure = Arc::new(move |cfg: &mut web::ServiceConfig| {
        let basic = Arc::clone(&basic_state);
        let bearer = Arc::clone(&bearer_state);
        cfg.service(
            web::resource("/peer/basic")
                .wrap(HttpAuthentication::basic(move |req, credentials| {
                    basic_validator(Arc::clone(&basic), req, credentials)
                }))
                .route(web::get().to(protected)),
        )
        .service(
            web::resource("/peer/jwt-hs256")
                .wrap(HttpAuthentication::bearer(move |req, credentials| {
                    bearer_validator(Arc::clone(&bearer), req, credentials)
                }))
                .route(web::get().to(protected)),
        )
        .service(
            web::scope("/peer/session-cookie")
                .wrap(SessionMiddleware::new(
                    CookieSessionStore::default(),
                    cookie_key.clone(),
                ))
                .route("/login", web::get().to(session_login))
                .route("/protected", web::get().to(session_protected)),
        )
        .service(
            web::scope("/peer/session-redis")
                .wrap(SessionMiddleware::new(
                    redis_store.clone(),
                    cookie_key.clone(),
                ))
                .route("/login", web::get().to(session_login))
                .route("/protected", web::get().to(session_protected)),
        );
    });
    Ok(crate::ours::Part {
        routes,
        configure,
        hmac: serde_json::Value::Null,
    })
}
