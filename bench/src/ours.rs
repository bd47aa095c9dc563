//! Our routes, built the way a user builds them with `auth-actix`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use auth_actix::apikey::{self, ApiKeyAuthenticator, KeyManager, MemoryKeyStore, NewKey};
use auth_actix::basic::{self, Argon2Hasher, BasicAuthenticator, BasicCredentials, CacheConfig};
use auth_actix::hmac::{self as hmac_mw, HmacKey, MemoryNonceStore, Verifier as HmacVerifier};
use auth_actix::jwt::{Algorithm, Issuer, JwtAuthenticator, Key, KeySet, Verifier};
use auth_actix::session::{
    CookieKey, CookieKeys, MemoryStore, Session, SessionManager, SessionMiddleware,
};
use auth_actix::{Authenticate, Authenticated};
use auth_basic::MemoryUserStore;
use auth_core::{Clock, RedisConnection, Scopes, Secret, SystemClock};
use auth_session::{CsrfToken, RedisSessionStore, SessionId, SessionRecord, SessionStore};
use serde_json::json;

use crate::{Route, ServeConfig, reply, reply_post};

/// The Basic user of every Basic route, ours and the peer's.
pub(crate) const BASIC_USER: &str = "bench";
pub(crate) const JWT_ISSUER: &str = "https://id.bench.example";
pub(crate) const JWT_AUDIENCE: &str = "bench-api";
const HMAC_KEY_ID: &str = "bench-client";

/// A part of the app: its routes and how to mount them on every worker's app.
pub(crate) struct Part {
    pub(crate) routes: Vec<Route>,
    pub(crate) configure: Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>,
    /// What `auth-bench sign` needs (ours only).
    pub(crate) hmac: serde_json::Value,
}

/// Secrets and users shared with the peers, so both sides verify the same things.
pub(crate) struct Shared {
    pub(crate) basic_password: String,
    /// The PHC string of the Basic user's password (argon2id, OWASP parameters).
    pub(crate) basic_hash: String,
    pub(crate) basic_user_id: String,
    pub(crate) hs256_secret: String,
}

/// A random string of `len` characters from `[A-Za-z0-9]`.
pub(crate) fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0_u8; len];
    getrandom::getrandom(&mut bytes).expect("OS randomness");
    bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// The login route of each session route, called once at start for its cookie.
pub(crate) fn login_path(route: &str) -> Option<&'static str> {
    match route {
        "ours-session-memory" => Some("/ours/session-memory/login"),
        "ours-session-redis" => Some("/ours/session-redis/login"),
        _ => None,
    }
}

async fn protected(user: Authenticated) -> HttpResponse {
    reply(user.subject())
}

async fn protected_post(user: Authenticated, body: web::Bytes) -> HttpResponse {
    reply_post(user.subject(), &body)
}

async fn login(session: Session) -> HttpResponse {
    session.login("bench-user");
    reply("bench-user")
}

fn failed(what: &str) -> impl Fn(&dyn std::fmt::Display) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// The users, secrets and hash both sides use.
pub(crate) async fn shared() -> Result<(Shared, Arc<MemoryUserStore>), String> {
    use auth_basic::UserStore as _;
    let password = random_token(24);
    let users = Arc::new(MemoryUserStore::new());
    users
        .add_user(&Argon2Hasher::default(), BASIC_USER, &password, "")
        .map_err(|e| failed("basic user")(&e))?;
    let record = users
        .find(BASIC_USER)
        .await
        .map_err(|e| failed("basic user")(&e))?
        .ok_or("the basic user is missing")?;
    Ok((
        Shared {
            basic_password: password,
            basic_hash: record.password_hash,
            basic_user_id: record.id,
            hs256_secret: random_token(43),
        },
        users,
    ))
}

/// A store of `fill` sessions besides the bench's own.
fn filled_session_store(fill: usize) -> Result<Arc<MemoryStore>, String> {
    let store = Arc::new(MemoryStore::default().max_sessions(fill + 100_000));
    let now = SystemClock.now();
    let waker = std::task::Waker::noop();
    for i in 0..fill {
        let record = SessionRecord {
            hash: SessionId::generate()
                .map_err(|e| failed("session id")(&e))?
                .hash(),
            user: Some(format!("user-{}", i % 250_000)),
            scopes: Scopes::new(),
            created_at: now,
            authenticated_at: Some(now),
            last_seen: now,
            expires_at: now + Duration::from_secs(3600),
            csrf_token: CsrfToken::generate().map_err(|e| failed("csrf token")(&e))?,
            data: BTreeMap::new(),
        };
        // The memory store never waits: poll once.
        let mut insert = std::pin::pin!(store.insert(record, None));
        match insert
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker))
        {
            std::task::Poll::Ready(result) => {
                result.map_err(|e| failed("session fill")(&e))?;
            }
            std::task::Poll::Pending => return Err("the memory store waited".to_owned()),
        }
    }
    Ok(store)
}

pub(crate) async fn setup(
    config: &ServeConfig,
    shared: &Shared,
    users: Arc<MemoryUserStore>,
) -> Result<Part, String> {
    let mut routes = Vec::new();

    // Basic, with the verified-credential cache; and without it (argon2id every request).
    let cached = basic::middleware(
        BasicAuthenticator::builder(users.clone())
            // The longest TTL allowed, so one warm-up keeps the cache warm through a whole
            // run: the cached path is what this route measures (the peer's cache likewise).
            .verified_cache(CacheConfig {
                ttl: CacheConfig::MAX_TTL,
                ..CacheConfig::default()
            })
            .build()
            .map_err(|e| failed("basic")(&e))?,
    );
    let uncached = basic::middleware(
        BasicAuthenticator::builder(users)
            .build()
            .map_err(|e| failed("basic")(&e))?,
    );
    let basic_header =
        BasicCredentials::new(BASIC_USER, shared.basic_password.as_str()).header_value();
    routes.push(
        Route::new(
            "ours-basic",
            "GET",
            "/ours/basic",
            "get",
            "auth-actix Basic, argon2id (OWASP) with the verified-credential cache",
        )
        .header("Authorization", basic_header.clone()),
    );
    routes.push(
        Route::new(
            "ours-basic-nocache",
            "GET",
            "/ours/basic-nocache",
            "get",
            "auth-actix Basic, argon2id (OWASP) on every request",
        )
        .header("Authorization", basic_header),
    );

    // API keys: one bench key among `fill` others.
    let keys = KeyManager::builder(MemoryKeyStore::new(), "bench_live")
        .build()
        .map_err(|e| failed("api key")(&e))?;
    let scope: Scopes = "orders:read".parse().map_err(|e| failed("scope")(&e))?;
    for i in 0..config.fill {
        keys.create(NewKey::new(format!("owner-{}", i % 10_000), "fill").scopes(scope.clone()))
            .await
            .map_err(|e| failed("api key")(&e))?;
    }
    let created = keys
        .create(NewKey::new("bench-service", "bench").scopes(scope))
        .await
        .map_err(|e| failed("api key")(&e))?;
    let apikey = apikey::middleware(
        ApiKeyAuthenticator::builder(keys)
            .header("X-API-Key")
            .build()
            .map_err(|e| failed("api key")(&e))?,
    );
    routes.push(
        Route::new(
            "ours-apikey",
            "GET",
            "/ours/apikey",
            "get",
            "auth-actix API key (X-API-Key), in-memory store",
        )
        .header("X-API-Key", created.key.expose_secret()),
    );

    // JWT: HS256 (the peer's algorithm) and ES256.
    let hs256 = KeySet::single(
        Key::hmac(
            "bench-hs256",
            Algorithm::HS256,
            &Secret::from(shared.hs256_secret.as_str()),
        )
        .map_err(|e| failed("jwt")(&e))?,
    );
    let es256 = KeySet::single(
        Key::generate("bench-es256", Algorithm::ES256).map_err(|e| failed("jwt")(&e))?,
    );
    let mut jwt = Vec::new();
    for (name, path, description, keys) in [
        (
            "ours-jwt-hs256",
            "/ours/jwt-hs256",
            "auth-actix JWT bearer, HS256, iss/aud/exp checked",
            hs256,
        ),
        (
            "ours-jwt-es256",
            "/ours/jwt-es256",
            "auth-actix JWT bearer, ES256, iss/aud/exp checked",
            es256,
        ),
    ] {
        let issuer = Issuer::builder(keys.clone())
            .issuer(JWT_ISSUER)
            .audience(JWT_AUDIENCE)
            .ttl(Duration::from_secs(24 * 3600))
            .build()
            .map_err(|e| failed("jwt")(&e))?;
        let token = issuer
            .issue("bench-user", &json!({"scope": "orders:read"}))
            .map_err(|e| failed("jwt")(&e))?;
        let verifier = Verifier::builder(keys)
            .issuer(JWT_ISSUER)
            .audience(JWT_AUDIENCE)
            .build()
            .map_err(|e| failed("jwt")(&e))?;
        jwt.push((
            path,
            Authenticate::new(
                JwtAuthenticator::builder(verifier)
                    .build()
                    .map_err(|e| failed("jwt")(&e))?,
            ),
        ));
        routes.push(
            Route::new(name, "GET", path, "get", description)
                .header("Authorization", format!("Bearer {token}")),
        );
    }

    // HMAC-signed POST, nonce store on. The bound on live nonces is raised from its default
    // (one million) because the bench sends tens of thousands a second for minutes.
    let hmac_secret = random_token(43);
    let hmac_keys = Arc::new(auth_actix::hmac::MemoryKeyStore::new());
    hmac_keys.insert(
        HmacKey::new(HMAC_KEY_ID, "bench-client", hmac_secret.as_str())
            .map_err(|e| failed("hmac")(&e))?,
    );
    let hmac = hmac_mw::middleware(
        HmacVerifier::builder(hmac_keys)
            .nonce_store(Arc::new(
                MemoryNonceStore::with_system_clock().max_entries(50_000_000),
            ))
            .build()
            .map_err(|e| failed("hmac")(&e))?,
    );
    routes.push(Route::new(
        "ours-hmac",
        "POST",
        "/ours/hmac",
        "hmac",
        "auth-actix RFC 9421 hmac-sha256 signed POST, 1 KiB body, Content-Digest, nonce store on",
    ));

    // Sessions: in memory (with `fill` others) and in Redis.
    let memory = SessionMiddleware::new(
        SessionManager::builder(
            filled_session_store(config.fill)?,
            CookieKeys::new(CookieKey::generate().map_err(|e| failed("session")(&e))?),
        )
        .build()
        .map_err(|e| failed("session")(&e))?,
    );
    let redis = RedisConnection::builder(config.redis.as_str())
        .namespace("auth-bench:")
        .connect()
        .await
        .map_err(|e| failed("redis")(&e))?;
    let redis = SessionMiddleware::new(
        SessionManager::builder(
            RedisSessionStore::new(&redis, SystemClock::shared()),
            CookieKeys::new(CookieKey::generate().map_err(|e| failed("session")(&e))?),
        )
        .build()
        .map_err(|e| failed("session")(&e))?,
    );
    routes.push(Route::new(
        "ours-session-memory",
        "GET",
        "/ours/session-memory/protected",
        "get",
        "auth-actix session, in-memory store",
    ));
    routes.push(Route::new(
        "ours-session-redis",
        "GET",
        "/ours/session-redis/protected",
        "get",
        "auth-actix session, Redis store",
    ));

    let configure = Arc::new(move |cfg: &mut web::ServiceConfig| {
        cfg.service(
            web::resource("/ours/basic")
                .wrap(cached.clone())
                .route(web::get().to(protected)),
        )
        .service(
            web::resource("/ours/basic-nocache")
                .wrap(uncached.clone())
                .route(web::get().to(protected)),
        )
        .service(
            web::resource("/ours/apikey")
                .wrap(apikey.clone())
                .route(web::get().to(protected)),
        )
        .service(
            web::resource("/ours/hmac")
                .wrap(hmac.clone())
                .route(web::post().to(protected_post)),
        );
        for (path, auth) in &jwt {
            cfg.service(
                web::resource(*path)
                    .wrap(auth.clone())
                    .route(web::get().to(protected)),
            );
        }
        for (prefix, sessions) in [
            ("/ours/session-memory", &memory),
            ("/ours/session-redis", &redis),
        ] {
            cfg.service(
                web::scope(prefix)
                    .wrap(sessions.clone())
                    .route("/login", web::get().to(login))
                    .route("/protected", web::get().to(protected)),
            );
        }
    });

    Ok(Part {
        routes,
        configure,
        hmac: json!({"key_id": HMAC_KEY_ID, "secret": hmac_secret, "path": "/ours/hmac"}),
    })
}
