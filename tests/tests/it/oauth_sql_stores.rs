//! The OAuth 2.0 token service's SQL stores: the same contracts over the memory stores,
//! SQLite (a temp file per test) and PostgreSQL (a schema per test; service-backed suite
//! `oauth_sql_stores::postgres`) — clients, refresh and access tokens, codes, consents,
//! races, expiry, the token service end to end through a real actix-web server — then what
//! only a database can show: migrations, indexes, sweeping, what is really stored, several
//! instances, and outages (503 within the timeout).

use std::sync::Arc;
use std::time::Duration;

use auth_core::{SharedClock, SqlPool};
use auth_oauth2::{
    AccessTokenStore, RefreshTokenStore, SqlAccessTokenStore, SqlAuthorizationCodeStore,
    SqlClientRegistry, SqlRefreshTokenStore, TokenHash, TokenService,
};
use auth_tests::oauth_store_support::{
    MakeStores, Stores, access_record, access_store_contract, client_registry_contract, clock,
    code_store_contract, concurrency_contract, consent_store_contract, expiry_contract, issue_code,
    outage_answers_503, post_form, refresh_record, refresh_store_contract, token_service_over_http,
};
use auth_tests::sql_support::{RawDb, nowhere_in};

/// The bound the outage tests give each call, far below the 2 s default.
const SHORT: Duration = Duration::from_millis(300);

/// How long an outage answer may take, all included (slow CI machines).
const NO_HANG: Duration = Duration::from_secs(3);

/// Concurrent callers in the races.
const RACERS: usize = 8;

/// The tables, the bookkeeping table, the indexes and the sweep, for any backend.
async fn schema_and_sweep(pool: SqlPool, raw: &RawDb) {
    let clients = SqlClientRegistry::new(pool.clone());
    let refresh = SqlRefreshTokenStore::new(pool.clone());
    let (a, b) = tokio::join!(clients.migrate(), refresh.migrate());
    assert_eq!(a.unwrap() + b.unwrap(), 1, "applied once");
    assert_eq!(clients.migrate().await.unwrap(), 0, "idempotent");
    assert_eq!(raw.migration_versions("auth_oauth2_migrations").await, [1]);
    for (table, wanted) in [
        (
            "auth_oauth2_refresh_tokens",
            &[
                "auth_oauth2_refresh_tokens_expires",
                "auth_oauth2_refresh_tokens_family",
            ][..],
        ),
        (
            "auth_oauth2_access_tokens",
            &[
                "auth_oauth2_access_tokens_expires",
                "auth_oauth2_access_tokens_family",
            ][..],
        ),
        ("auth_oauth2_codes", &["auth_oauth2_codes_expires"][..]),
    ] {
        let indexes = raw.indexes(table).await;
        for index in wanted {
            assert!(indexes.iter().any(|i| i == index), "{table}: {indexes:?}");
        }
    }

    // The sweep, by the stores' clock: expired rows go, the rest stay.
    let clock = clock();
    let refresh = SqlRefreshTokenStore::new(pool.clone()).with_clock(clock.shared());
    let access = SqlAccessTokenStore::new(pool.clone()).with_clock(clock.shared());
    refresh.insert(refresh_record("old", "f", 0)).await.unwrap(); // expires at 3600
    refresh
        .insert(refresh_record("new", "g", 5000))
        .await
        .unwrap();
    access.insert(access_record("old", None, 0)).await.unwrap(); // expires at 600
    access
        .insert(access_record("new", None, 5000))
        .await
        .unwrap();
    assert_eq!(refresh.sweep_expired().await.unwrap(), 0);
    clock.advance(Duration::from_secs(3601));
    assert_eq!(refresh.sweep_expired().await.unwrap(), 1);
    assert_eq!(access.sweep_expired().await.unwrap(), 1);
    assert!(refresh.find(&TokenHash::of("old")).await.unwrap().is_none());
    assert!(refresh.find(&TokenHash::of("new")).await.unwrap().is_some());
    assert!(access.find(&TokenHash::of("old")).await.unwrap().is_none());
    assert!(access.find(&TokenHash::of("new")).await.unwrap().is_some());

    // Codes are remembered for an hour past their expiry (replays are recognised).
    let stores = Stores::sql(pool.clone(), &clock.shared()).await;
    let codes = SqlAuthorizationCodeStore::new(pool).with_clock(clock.shared());
    let (service, _) = stores
        .service("https://id.oauth-sql.test", clock.shared())
        .await;
    issue_code(&service, &*stores.consents).await;
    clock.advance(TokenService::DEFAULT_CODE_TTL + Duration::from_secs(1));
    assert_eq!(codes.sweep_expired().await.unwrap(), 0, "remembered");
    clock.advance(Duration::from_secs(3600));
    assert_eq!(codes.sweep_expired().await.unwrap(), 1);
}

/// Client secrets, tokens and codes are nowhere in the rows: only their hashes are.
async fn only_hashes_are_stored(pool: SqlPool, raw: &RawDb) {
    let clock = clock();
    let stores = Stores::sql(pool, &clock.shared()).await;
    let (service, secrets) = stores
        .service("https://id.oauth-sql.test", clock.shared())
        .await;
    let issued = post_form(
        &service,
        "/token",
        Some(("svc", &secrets.svc)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(issued.status(), 200, "{}", issued.body());
    let json = issued.json();
    let code = issue_code(&service, &*stores.consents).await;
    let mut rows = Vec::new();
    for table in [
        "auth_oauth2_clients",
        "auth_oauth2_refresh_tokens",
        "auth_oauth2_access_tokens",
        "auth_oauth2_codes",
        "auth_oauth2_consents",
    ] {
        let dumped = raw.dump(table).await;
        assert!(!dumped.is_empty(), "{table}");
        rows.extend(dumped);
    }
    for secret in [
        secrets.svc.expose_str().unwrap(),
        secrets.app.expose_str().unwrap(),
        json["access_token"].as_str().unwrap(),
        json["refresh_token"].as_str().unwrap(),
        &code,
    ] {
        assert!(nowhere_in(&rows, secret), "{secret} in {rows:?}");
    }
}

fn sql_stores(url: String, schema: Option<String>) -> MakeStores {
    Box::new(move |clock: SharedClock| {
        Box::pin(async move {
            let mut builder = SqlClientRegistry::pool_builder(url);
            if let Some(schema) = schema {
                builder = builder.schema(schema);
            }
            Stores::sql(builder.connect().await.expect("connect"), &clock).await
        })
    })
}

mod memory {
    use super::*;

    fn stores() -> Stores {
        Stores::memory(&clock().shared())
    }

    #[tokio::test]
    async fn client_registry_contract_holds() {
        client_registry_contract(&auth_oauth2::MemoryClientRegistry::new()).await;
    }

    #[tokio::test]
    async fn token_store_contracts_hold() {
        let stores = stores();
        refresh_store_contract(&*stores.refresh).await;
        access_store_contract(&*stores.access).await;
        consent_store_contract(&*stores.consents).await;
    }

    #[tokio::test]
    async fn code_store_contract_holds() {
        code_store_contract(&stores()).await;
    }

    #[tokio::test]
    async fn races_have_one_winner() {
        concurrency_contract(&stores(), RACERS).await;
    }

    #[tokio::test]
    async fn expiry_follows_the_clock() {
        expiry_contract(&stores()).await;
    }

    #[tokio::test]
    async fn the_token_service_works_over_http() {
        token_service_over_http(Box::new(|clock| {
            Box::pin(async move { Stores::memory(&clock) })
        }))
        .await;
    }
}

mod sqlite {
    use auth_tests::sql_support::SqliteDb;

    use super::*;

    async fn pool(db: &SqliteDb) -> SqlPool {
        SqlClientRegistry::pool_builder(&db.url)
            .connect()
            .await
            .unwrap()
    }

    async fn stores(db: &SqliteDb) -> Stores {
        Stores::sql(pool(db).await, &clock().shared()).await
    }

    #[tokio::test]
    async fn client_registry_contract_holds() {
        let db = SqliteDb::new().await;
        let registry = SqlClientRegistry::new(pool(&db).await);
        registry.migrate().await.unwrap();
        client_registry_contract(&registry).await;
        let listed: Vec<String> = registry
            .list()
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(listed, ["native", "orders-api", "svc"], "ordered by id");
        assert_eq!(registry.count().await.unwrap(), 3);
    }

    #[tokio::test]
    async fn token_store_contracts_hold() {
        let db = SqliteDb::new().await;
        let stores = stores(&db).await;
        refresh_store_contract(&*stores.refresh).await;
        access_store_contract(&*stores.access).await;
        consent_store_contract(&*stores.consents).await;
    }

    #[tokio::test]
    async fn code_store_contract_holds() {
        let db = SqliteDb::new().await;
        code_store_contract(&stores(&db).await).await;
    }

    #[tokio::test]
    async fn races_have_one_winner() {
        let db = SqliteDb::new().await;
        concurrency_contract(&stores(&db).await, RACERS).await;
    }

    #[tokio::test]
    async fn expiry_follows_the_clock() {
        let db = SqliteDb::new().await;
        expiry_contract(&stores(&db).await).await;
    }

    #[tokio::test]
    async fn the_token_service_works_over_http() {
        let db = SqliteDb::new().await;
        token_service_over_http(sql_stores(db.url.clone(), None)).await;
    }

    #[tokio::test]
    async fn schema_indexes_and_sweep() {
        let db = SqliteDb::new().await;
        schema_and_sweep(pool(&db).await, &db.raw()).await;
    }

    #[tokio::test]
    async fn only_hashes_are_stored() {
        let db = SqliteDb::new().await;
        super::only_hashes_are_stored(pool(&db).await, &db.raw()).await;
    }

    /// A closed pool: every endpoint that needs a store answers 503, nothing hangs.
    #[tokio::test]
    async fn a_closed_pool_fails_closed() {
        let db = SqliteDb::new().await;
        let pool = pool(&db).await;
        let clock = clock();
        let stores = Stores::sql(pool.clone(), &clock.shared()).await;
        let (service, secrets) = stores
            .service("https://id.oauth-sql.test", clock.shared())
            .await;
        pool.close().await;
        outage_answers_503(&service, &stores, &secrets.svc, NO_HANG).await;
    }
}

mod postgres {
    use std::time::Instant;

    use auth_core::SqlStoreError;
    use auth_tests::sql_support::{PgDb, with_postgres};

    use super::*;

    /// The service-backed suite's name, for the skip message and `cargo xtask test`.
    const SUITE: &str = "oauth_sql_stores::postgres";

    async fn pool(db: &PgDb) -> SqlPool {
        SqlClientRegistry::pool_builder(&db.url)
            .schema(&db.schema)
            .connect()
            .await
            .unwrap()
    }

    async fn stores(db: &PgDb) -> Stores {
        Stores::sql(pool(db).await, &clock().shared()).await
    }

    #[tokio::test]
    async fn client_registry_contract_holds() {
        with_postgres(SUITE, |db| async move {
            let registry = SqlClientRegistry::new(pool(&db).await);
            registry.migrate().await.unwrap();
            client_registry_contract(&registry).await;
        })
        .await;
    }

    #[tokio::test]
    async fn token_store_contracts_hold() {
        with_postgres(SUITE, |db| async move {
            let stores = stores(&db).await;
            refresh_store_contract(&*stores.refresh).await;
            access_store_contract(&*stores.access).await;
            consent_store_contract(&*stores.consents).await;
        })
        .await;
    }

    #[tokio::test]
    async fn code_store_contract_holds() {
        with_postgres(SUITE, |db| async move {
            code_store_contract(&stores(&db).await).await;
        })
        .await;
    }

    #[tokio::test]
    async fn races_have_one_winner() {
        with_postgres(SUITE, |db| async move {
            concurrency_contract(&stores(&db).await, RACERS).await;
        })
        .await;
    }

    #[tokio::test]
    async fn expiry_follows_the_clock() {
        with_postgres(SUITE, |db| async move {
            expiry_contract(&stores(&db).await).await;
        })
        .await;
    }

    #[tokio::test]
    async fn the_token_service_works_over_http() {
        with_postgres(SUITE, |db| async move {
            token_service_over_http(sql_stores(db.url.clone(), Some(db.schema.clone()))).await;
        })
        .await;
    }

    #[tokio::test]
    async fn schema_indexes_and_sweep() {
        with_postgres(SUITE, |db| async move {
            schema_and_sweep(pool(&db).await, &db.raw()).await;
        })
        .await;
    }

    #[tokio::test]
    async fn only_hashes_are_stored() {
        with_postgres(SUITE, |db| async move {
            super::only_hashes_are_stored(pool(&db).await, &db.raw()).await;
        })
        .await;
    }

    /// Two instances (two pools) on one database: a rotation on one is reuse on the other,
    /// a disabled client on one is refused by the other.
    #[tokio::test]
    async fn instances_share_clients_and_tokens() {
        with_postgres(SUITE, |db| async move {
            let clock = clock();
            let one = Stores::sql(pool(&db).await, &clock.shared()).await;
            let (service_one, secrets) = one
                .service("https://id.oauth-sql.test", clock.shared())
                .await;
            let two_clients = SqlClientRegistry::new(pool(&db).await);
            let two = Stores::sql(two_clients.pool().clone(), &clock.shared()).await;
            let service_two = TokenService::builder(
                "https://id.oauth-sql.test",
                service_one.keys().clone(),
                Arc::new(two_clients.clone()),
            )
            .audience(
                auth_tests::oauth_store_support::ORDERS,
                auth_oauth2::TokenFormat::Opaque,
            )
            .refresh_token_store(two.refresh.clone())
            .access_token_store(two.access.clone())
            .authorization_code_store(two.codes.clone())
            .clock(clock.shared())
            .insecure_without_throttle()
            .build()
            .unwrap();
            let svc = Some(("svc", &secrets.svc));
            let issued = post_form(
                &service_one,
                "/token",
                svc,
                &[("grant_type", "client_credentials")],
            )
            .await;
            let refresh = issued.json()["refresh_token"].as_str().unwrap().to_owned();
            let rotate = [
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.as_str()),
            ];
            assert_eq!(
                post_form(&service_two, "/token", svc, &rotate)
                    .await
                    .status(),
                200
            );
            assert_eq!(
                post_form(&service_one, "/token", svc, &rotate)
                    .await
                    .status(),
                400,
                "reuse, seen across instances"
            );
            assert!(two_clients.disable("svc").await.unwrap());
            let refused = post_form(
                &service_one,
                "/token",
                svc,
                &[("grant_type", "client_credentials")],
            )
            .await;
            assert_eq!(refused.status(), 401, "{}", refused.body());
        })
        .await;
    }

    /// Needs no server: a URL where nothing listens. The token stores answer 503 within the
    /// timeout (the registry here is in memory, so the client authenticates); an eager
    /// connect fails with a clear error that does not repeat the password.
    #[tokio::test]
    async fn an_unreachable_database_answers_503_within_the_timeout() {
        let url = "postgres://postgres:secret-pw@127.0.0.1:1/test";
        let pool = SqlClientRegistry::pool_builder(url)
            .timeout(SHORT)
            .connect_lazy()
            .unwrap();
        let clock = clock();
        let dead = Stores {
            clients: Arc::new(auth_oauth2::MemoryClientRegistry::new()),
            refresh: Arc::new(SqlRefreshTokenStore::new(pool.clone())),
            access: Arc::new(SqlAccessTokenStore::new(pool.clone())),
            codes: Arc::new(SqlAuthorizationCodeStore::new(pool.clone())),
            consents: Arc::new(auth_oauth2::SqlConsentStore::new(pool)),
        };
        let (service, secrets) = dead
            .service("https://id.oauth-sql.test", clock.shared())
            .await;
        outage_answers_503(&service, &dead, &secrets.svc, NO_HANG).await;

        let started = Instant::now();
        let error = SqlClientRegistry::pool_builder(url)
            .timeout(SHORT)
            .connect()
            .await
            .unwrap_err();
        assert!(matches!(error, SqlStoreError::Unavailable(_)), "{error}");
        assert!(started.elapsed() < NO_HANG);
        assert!(!error.to_string().contains("secret-pw"), "{error}");
        let error = SqlClientRegistry::connect("postgres://u@127.0.0.1:notaport/db")
            .await
            .unwrap_err();
        assert!(matches!(error, SqlStoreError::Config(_)), "{error}");
    }
}
