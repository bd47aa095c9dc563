//! Many instances: two demo servers on different ports, sharing PostgreSQL (users, API
//! keys) and Redis (sessions, nonces, revocations, throttles), agree on everything a
//! client does through either of them (issue 11, `docs/scaling-out.md`).
//!
//! Each instance is built exactly as a separate process builds it: `demo::start` on a
//! thread of its own, with its own actix `System` and Tokio runtime, from nothing but the
//! same [`DemoConfig`] (the same state file, database URL and schema, Redis URL and
//! namespace). They share no Rust value; the only shared thing handed to both is the test
//! clock, standing in for two machines' agreeing clocks. A third instance started from the
//! same state file and database but *without* Redis is the control: what A does reaches it
//! only through the database, so every assertion that passes on B but not on C passed
//! through Redis.
//!
//! Service-backed: without PostgreSQL or Redis the test prints why it is skipped; under
//! `AUTH_REQUIRE_SERVICES=1` (`cargo xtask ci`) it fails instead. The schema and the Redis
//! namespace are the run's own and are removed afterwards.

use std::time::{Duration, UNIX_EPOCH};

use actix_web::dev::ServerHandle;
use auth_core::{HeaderList, ManualClock, ThrottlePolicy};
use auth_examples::demo::{self, DemoConfig};
use auth_hmac::Signer;
use auth_tests::LogCapture;
use auth_tests::redis_support::{TestRedis, with_redis};
use auth_tests::sql_support::{PgDb, with_postgres};
use reqwest::StatusCode;
use serde_json::{Value, json};

const SUITE: &str = "scale_out";
/// How long an instance may take to start (migrations, argon2 hashes on a busy machine).
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// The origin of the (imagined) load balancer in front of the instances: the OAuth issuer
/// and the `Host` every request carries, as a load balancer forwards it.
const PUBLIC_HOST: &str = "127.0.0.1:8080";

/// One running demo instance, on a thread and runtime of its own.
struct Instance {
    base_url: String,
    credentials: Value,
    banner: String,
    handle: ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

type Started = Result<(String, Value, String, ServerHandle), String>;

impl Instance {
    /// Starts `demo::start(&config)` the way the `demo` binary does, in its own actix
    /// `System`, and waits (bounded) until it listens.
    async fn start(config: DemoConfig) -> Instance {
        let (tx, rx) = tokio::sync::oneshot::channel::<Started>();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                match demo::start(&config).await {
                    Ok(demo) => {
                        let started = (
                            demo.base_url.clone(),
                            demo.credentials.clone(),
                            demo.banner(),
                            demo.handle(),
                        );
                        if tx.send(Ok(started)).is_ok() {
                            let _ = demo.run().await;
                        }
                    }
                    Err(error) => {
                        let _ = tx.send(Err(error.to_string()));
                    }
                }
            });
        });
        let started = tokio::time::timeout(START_TIMEOUT, rx)
            .await
            .expect("the instance starts in time")
            .expect("the instance's thread answers");
        let (base_url, credentials, banner, handle) = started.expect("the instance starts");
        Instance {
            base_url,
            credentials,
            banner,
            handle,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    fn credential(&self, scheme: &str, field: &str) -> String {
        self.credentials["credentials"][scheme][field]
            .as_str()
            .unwrap_or_else(|| panic!("credentials.{scheme}.{field}"))
            .to_owned()
    }

    /// Stops the server and waits (bounded) for its thread, which drops its pools.
    async fn stop(mut self) {
        self.handle.stop(true).await;
        if let Some(thread) = self.thread.take() {
            let joined = tokio::time::timeout(
                Duration::from_secs(30),
                tokio::task::spawn_blocking(move || thread.join()),
            )
            .await;
            assert!(
                matches!(joined, Ok(Ok(Ok(())))),
                "the instance's thread ends cleanly"
            );
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // Reached without `stop` only when the test failed: stop the server anyway (the
        // command is sent at once; its completion is not awaited).
        if self.thread.is_some() {
            drop(self.handle.stop(false));
        }
    }
}

fn config(
    state: &std::path::Path,
    db: &PgDb,
    redis: Option<&TestRedis>,
    clock: &ManualClock,
) -> DemoConfig {
    let mut config = DemoConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: db.url.clone(),
        database_schema: Some(db.schema.clone()),
        state: state.to_path_buf(),
        public_url: Some(format!("http://{PUBLIC_HOST}")),
        clock: clock.shared(),
        ..DemoConfig::default()
    };
    if let Some(redis) = redis {
        config.redis = Some(redis.url.clone());
        config.redis_namespace = redis.redis.namespace().to_owned();
    }
    config
}

/// `name=value` of the `Set-Cookie` for `name`.
fn set_cookie(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|pair| pair.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie"))
        .to_owned()
}

/// A `POST /hmac/orders` signed for the load balancer's URL, as a client behind it signs.
fn signed_order(
    client: &reqwest::Client,
    instance: &Instance,
    signer: &Signer,
) -> reqwest::RequestBuilder {
    let body = br#"{"item":"book","qty":1}"#;
    let headers = HeaderList::new()
        .with("Host", PUBLIC_HOST)
        .with("Content-Type", "application/json");
    let signature = signer
        .sign(
            "POST",
            &format!("http://{PUBLIC_HOST}/hmac/orders"),
            &headers,
            Some(body),
        )
        .expect("sign");
    let mut request = client
        .post(instance.url("/hmac/orders"))
        .header("Host", PUBLIC_HOST)
        .header("Content-Type", "application/json")
        .body(body.to_vec());
    for (name, value) in signature.iter() {
        request = request.header(name, value);
    }
    request
}

#[tokio::test]
async fn two_instances_sharing_postgres_and_redis_agree() {
    let logs = LogCapture::install();
    with_postgres(SUITE, move |db| async move {
        with_redis(SUITE, move |redis| async move {
            two_instances(db, redis, logs).await;
        })
        .await;
    })
    .await;
}

async fn two_instances(db: PgDb, redis: TestRedis, logs: LogCapture) {
    let dir = std::env::temp_dir().join(format!(
        "auth-rs-scale-out-{}-{}",
        std::process::id(),
        db.schema
    ));
    let state = dir.join("state.json");
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000));

    // A creates the state file and the tables; B and C load and find them.
    let a = Instance::start(config(&state, &db, Some(&redis), &clock)).await;
    let b = Instance::start(config(&state, &db, Some(&redis), &clock)).await;
    let c = Instance::start(config(&state, &db, None, &clock)).await;
    assert_ne!(a.base_url, b.base_url, "two instances, two ports");
    assert!(
        a.banner.contains("created"),
        "A created the state:\n{}",
        a.banner
    );
    assert!(b.banner.contains("loaded"), "B loaded it:\n{}", b.banner);
    assert!(b.banner.contains("Redis"), "{}", b.banner);
    assert!(
        c.banner.contains("in this process's memory"),
        "C says its state is not shared:\n{}",
        c.banner
    );
    if db.url.contains('@') {
        assert!(
            !a.banner.contains(&db.url),
            "the banner redacts the database URL's credentials"
        );
    }
    // Seeding the same user and key three times left one of each.
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM auth_users")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let keys: i64 = sqlx::query_scalar("SELECT count(*) FROM auth_api_keys")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!((users, keys), (1, 1), "seeding is idempotent");
    assert_eq!(
        a.credential("api_key", "key"),
        b.credential("api_key", "key"),
        "one shared demo key"
    );

    let client = auth_tests::client();

    // 1. A session made on A works on B (and only through Redis: not on C).
    let password = a.credential("session", "password");
    let login = client
        .post(a.url("/session/login"))
        .json(&json!({"username": "myUser", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let cookie = set_cookie(&login, &a.credential("session", "cookie"));
    let csrf = login.json::<Value>().await.unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let on = |instance: &Instance| {
        client
            .get(instance.url("/session/protected"))
            .header("Cookie", &cookie)
            .send()
    };
    let on_b = on(&b).await.unwrap();
    assert_eq!(on_b.status(), StatusCode::OK, "A's session works on B");
    assert_eq!(on_b.text().await.unwrap(), "Hello user myUser");
    assert_eq!(
        on(&c).await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "the control without Redis does not know the session"
    );

    // 2. Logout on A ends the session on B.
    let logout = client
        .post(a.url("/session/logout"))
        .header("Cookie", &cookie)
        .header("X-CSRF-Token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::OK);
    assert_eq!(
        on(&b).await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "logout on A ends the session on B"
    );

    // 3. A nonce used on A is refused on B.
    let signer = Signer::builder("demo-client", a.credential("hmac", "secret"))
        .clock(clock.shared())
        .build()
        .unwrap();
    let request = signed_order(&client, &a, &signer).build().unwrap();
    let replay = request.try_clone().unwrap();
    let first = client.execute(request).await.unwrap();
    assert_eq!(
        first.status(),
        StatusCode::OK,
        "A accepts the signed request"
    );
    let mut replay = replay;
    *replay.url_mut() = reqwest::Url::parse(&b.url("/hmac/orders")).unwrap();
    let replayed = client.execute(replay).await.unwrap();
    assert_eq!(
        replayed.status(),
        StatusCode::UNAUTHORIZED,
        "the same signature (same nonce) is refused on B"
    );
    assert!(
        logs.audit_events("/hmac/orders")
            .iter()
            .any(|e| e["reason"] == "nonce_replayed"),
        "B refused it as a replay, not for a bad signature"
    );
    let fresh = signed_order(&client, &b, &signer).send().await.unwrap();
    assert_eq!(
        fresh.status(),
        StatusCode::OK,
        "B accepts a fresh signature for the same URL: only the nonce was refused"
    );

    // 4. A `jti` revoked on A is refused on B.
    let token = a.credential("jwt", "token");
    let jwt_on = |instance: &Instance| {
        client
            .get(instance.url("/jwt/protected"))
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(
        jwt_on(&b).await.unwrap().status(),
        StatusCode::OK,
        "B verifies A's token"
    );
    let revoked = client
        .post(a.url("/jwt/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    assert!(revoked.json::<Value>().await.unwrap()["jti"].is_string());
    assert_eq!(
        jwt_on(&b).await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "the jti revoked on A is refused on B"
    );
    assert_eq!(
        jwt_on(&c).await.unwrap().status(),
        StatusCode::OK,
        "the control without Redis never heard of the revocation"
    );

    // 5. An API key revoked on A is refused on B. The demo keeps no cache of keys (each
    //    verification is one database lookup), so the bound is zero: the next request.
    let key = a.credential("api_key", "key");
    let key_on = |instance: &Instance| {
        client
            .get(instance.url("/apikey/protected"))
            .header("X-API-Key", &key)
            .send()
    };
    assert_eq!(key_on(&b).await.unwrap().status(), StatusCode::OK);
    let revoke = client
        .post(a.url("/apikey/revoke"))
        .header("X-API-Key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::OK);
    assert_eq!(
        key_on(&b).await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "the key revoked on A is refused on B at once"
    );
    assert_eq!(
        key_on(&c).await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "the revocation is in the database: every instance refuses the key"
    );

    // 6. Failed attempts count across both. Forget the refusals above first (they counted
    //    against 127.0.0.1): the throttle's window passes on the shared clock.
    clock.advance(ThrottlePolicy::default().window + Duration::from_secs(1));
    let attempt = |instance: &Instance, password: &str| {
        client
            .post(instance.url("/session/login"))
            .json(&json!({"username": "myUser", "password": password}))
            .send()
    };
    for (instance, name) in [(&a, "A"), (&a, "A"), (&a, "A"), (&b, "B"), (&b, "B")] {
        assert_eq!(
            attempt(instance, "a wrong guess").await.unwrap().status(),
            StatusCode::UNAUTHORIZED,
            "a wrong password on {name}"
        );
    }
    // A saw three failures and B two: alone, neither would slow the guesser down yet.
    for (instance, name) in [(&a, "A"), (&b, "B")] {
        let throttled = attempt(instance, &password).await.unwrap();
        assert_eq!(
            throttled.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "the five failures on A and B together throttle {name}"
        );
        assert!(throttled.headers().contains_key("retry-after"));
    }
    assert_eq!(
        attempt(&c, &password).await.unwrap().status(),
        StatusCode::OK,
        "the control without Redis counted none of them"
    );

    for instance in [a, b, c] {
        instance.stop().await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A bad `--database` or `--redis` stops the demo at start, saying which store and why,
/// without repeating a password. Needs no service: nothing listens on port 1.
#[actix_web::test]
async fn misconfigured_stores_fail_at_start_with_a_clear_message() {
    let dir = std::env::temp_dir().join(format!(
        "auth-rs-scale-out-misconfig-{}",
        std::process::id()
    ));
    let start = |database: &str, redis: Option<&str>| {
        let config = DemoConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            database: database.to_owned(),
            redis: redis.map(str::to_owned),
            ..DemoConfig::in_dir(&dir)
        };
        async move {
            demo::start(&config)
                .await
                .map(|_| ())
                .unwrap_err()
                .to_string()
        }
    };

    let unknown = start("mysql://root:hunter2@127.0.0.1/app", None).await;
    assert!(unknown.starts_with("database: "), "{unknown}");
    assert!(
        unknown.contains("neither a sqlite: nor a postgres:// URL"),
        "{unknown}"
    );

    let unreachable = start("postgres://auth:hunter2@127.0.0.1:1/app", None).await;
    assert!(
        unreachable.starts_with("database: database unavailable"),
        "{unreachable}"
    );

    let sqlite = format!("sqlite:{}", dir.join("demo.db").display());
    let no_redis = start(&sqlite, Some("redis://:hunter2@127.0.0.1:1/0")).await;
    assert!(no_redis.starts_with("redis: "), "{no_redis}");
    let bad_redis = start(&sqlite, Some("http://127.0.0.1:6379")).await;
    assert!(
        bad_redis.starts_with("redis: invalid Redis URL"),
        "{bad_redis}"
    );

    for message in [&unknown, &unreachable, &no_redis, &bad_redis] {
        assert!(!message.contains("hunter2"), "a password leaked: {message}");
    }
    assert!(
        !dir.join("state.json").exists(),
        "a start that failed made no state file"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
