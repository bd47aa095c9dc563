//! SQL-backed stores end to end: the same contracts over the memory stores, SQLite (a temp
//! file per test) and PostgreSQL (a schema per test; service-backed suite
//! `sql_stores::postgres`), then what only a database can show: migrations, indexes, what
//! is really stored, several instances, and outages (503 within the timeout, recovery).

use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_apikey::{KeyFormat, KeyHasher, KeyManager, KeyStore, NewKey, SqlKeyStore};
use auth_basic::{SqlStoreError, SqlUserStore, UserStore};
use auth_core::Secret;
use auth_tests::sql_support::{
    PlanParam, RawDb, apikey_check, basic_login, basic_login_contract, fast_hasher,
    key_lifecycle_contract, key_store_concurrency_contract, key_store_contract, nowhere_in,
    rejected, user_store_contract,
};

/// The bound the outage tests give each call, far below the 2 s default.
const SHORT: Duration = Duration::from_millis(300);

/// How long an outage answer may take, all included (slow CI machines).
const NO_HANG: Duration = Duration::from_secs(2);

const PASSWORD: &str = "correct horse battery staple";

fn pepper() -> Secret {
    Secret::new(b"a pepper of at least thirty-two bytes!".to_vec())
}

/// The secrets checks, for any backend: a user's password and an API key (peppered) are
/// nowhere in the rows, only their hashes are, and the database itself refuses a
/// plaintext password hash.
async fn only_hashes_are_stored(users: &SqlUserStore, keys: SqlKeyStore, raw: &RawDb) {
    users
        .add_user(&fast_hasher(), "alice", PASSWORD, "orders:read")
        .await
        .unwrap();
    let manager = KeyManager::builder(keys, "acme_test")
        .pepper(pepper())
        .build()
        .unwrap();
    let created = manager
        .create(NewKey::new("billing", "export"))
        .await
        .unwrap();
    let key = created.key.expose_secret();

    let user_rows = raw.dump("auth_users").await;
    assert_eq!(user_rows.len(), 1);
    assert!(nowhere_in(&user_rows, PASSWORD), "{user_rows:?}");
    assert!(user_rows[0].contains("$argon2id$"), "{user_rows:?}");

    let key_rows = raw.dump("auth_api_keys").await;
    assert_eq!(key_rows.len(), 1);
    let random = key.split('_').nth(2).expect("the random part");
    assert!(nowhere_in(&key_rows, key), "{key_rows:?}");
    assert!(nowhere_in(&key_rows, random), "{key_rows:?}");
    let stored = raw.key_hashes().await;
    let peppered = KeyHasher::peppered(&pepper()).unwrap().hash(key);
    assert_eq!(stored, [peppered.as_bytes().to_vec()], "the peppered hash");
    assert_ne!(
        stored[0],
        KeyHasher::sha256().hash(key).as_bytes().to_vec(),
        "not the bare SHA-256: the database alone cannot confirm a key"
    );

    // Whoever writes, the table refuses a password that is not a hash.
    let record = users.find("alice").await.unwrap().unwrap();
    assert!(
        users
            .update_hash(&record.id, &record.password_hash, PASSWORD)
            .await
            .is_err()
    );
    assert!(nowhere_in(&raw.dump("auth_users").await, PASSWORD));
}

/// The lookups of the hot paths use the indexes the migrations create.
async fn lookups_use_the_indexes(users: &SqlUserStore, keys: &SqlKeyStore, raw: &RawDb) {
    users.migrate().await.unwrap();
    keys.migrate().await.unwrap();
    let key_indexes = raw.indexes("auth_api_keys").await;
    for index in ["auth_api_keys_key_hash", "auth_api_keys_owner"] {
        assert!(key_indexes.iter().any(|i| i == index), "{key_indexes:?}");
    }
    assert!(
        raw.indexes("auth_users")
            .await
            .iter()
            .any(|i| i == "auth_users_username")
    );
    let by_hash = raw
        .plan(
            "SELECT id FROM auth_api_keys WHERE key_hash = $1",
            PlanParam::Bytes(vec![7; 32]),
        )
        .await;
    assert!(by_hash.contains("auth_api_keys_key_hash"), "{by_hash}");
    let by_owner = raw
        .plan(
            "SELECT id FROM auth_api_keys WHERE owner = $1 ORDER BY created_at_us, id",
            PlanParam::Text("billing".into()),
        )
        .await;
    assert!(by_owner.contains("auth_api_keys_owner"), "{by_owner}");
    let by_name = raw
        .plan(
            "SELECT id FROM auth_users WHERE username = $1",
            PlanParam::Text("alice".into()),
        )
        .await;
    assert!(by_name.contains("auth_users_username"), "{by_name}");
}

/// Migrations: the first run applies each crate's one migration, the next ones nothing;
/// each crate keeps its own bookkeeping table (none of sqlx's); two instances migrating at
/// once take turns.
async fn migrations_are_idempotent(
    users: (&SqlUserStore, &SqlUserStore),
    keys: (&SqlKeyStore, &SqlKeyStore),
    raw: &RawDb,
) {
    let (a, b) = tokio::join!(users.0.migrate(), users.1.migrate());
    assert_eq!(
        a.unwrap() + b.unwrap(),
        1,
        "applied once between two instances"
    );
    let (a, b) = tokio::join!(keys.0.migrate(), keys.1.migrate());
    assert_eq!(
        a.unwrap() + b.unwrap(),
        1,
        "applied once between two instances"
    );
    assert_eq!(users.0.migrate().await.unwrap(), 0);
    assert_eq!(keys.1.migrate().await.unwrap(), 0);
    assert_eq!(raw.migration_versions("auth_basic_migrations").await, [1]);
    assert_eq!(raw.migration_versions("auth_apikey_migrations").await, [1]);
    assert!(raw.indexes("_sqlx_migrations").await.is_empty());
}

/// A store that fails answers 503 through both authenticators, with nothing of the cause
/// in the response, and does not hang.
async fn outage_answers_503(users: Arc<dyn UserStore>, keys: impl KeyStore, bound: Duration) {
    let started = Instant::now();
    let basic = rejected(basic_login(users, "alice", PASSWORD).await);
    assert_eq!(
        (basic.status(), basic.reason()),
        (503, "user_store_unavailable")
    );
    // A well-formed key, so the store is asked.
    let fresh = KeyFormat::new("acme_test").unwrap().generate().unwrap();
    let apikey = rejected(apikey_check(keys, fresh.expose_secret()).await);
    assert_eq!(
        (apikey.status(), apikey.reason()),
        (503, "key_store_unavailable")
    );
    let elapsed = started.elapsed();
    assert!(elapsed < bound, "answered in {elapsed:?}, over {bound:?}");
    for body in [basic.json_body(), apikey.json_body()] {
        assert!(
            !body.contains("127.0.0.1") && !body.contains("sqlite") && !body.contains("pool"),
            "{body}"
        );
    }
}

mod memory {
    use std::sync::Arc;

    use auth_apikey::MemoryKeyStore;
    use auth_basic::MemoryUserStore;

    use super::*;

    #[tokio::test]
    async fn user_store_contract_holds() {
        user_store_contract(&MemoryUserStore::new()).await;
    }

    #[tokio::test]
    async fn basic_logins_work() {
        basic_login_contract(Arc::new(MemoryUserStore::new())).await;
    }

    #[tokio::test]
    async fn key_store_contract_holds() {
        key_store_contract(&MemoryKeyStore::new()).await;
    }

    #[tokio::test]
    async fn key_lifecycle_works() {
        key_lifecycle_contract(Arc::new(MemoryKeyStore::new())).await;
    }

    #[tokio::test]
    async fn concurrent_updates_stay_one_way() {
        key_store_concurrency_contract(Arc::new(MemoryKeyStore::new())).await;
    }
}

mod sqlite {
    use std::sync::Arc;

    use auth_tests::sql_support::SqliteDb;

    use super::*;

    async fn users(db: &SqliteDb) -> SqlUserStore {
        let store = SqlUserStore::connect(&db.url).await.unwrap();
        store.migrate().await.unwrap();
        store
    }

    async fn keys(db: &SqliteDb) -> SqlKeyStore {
        let store = SqlKeyStore::from_sqlite_pool(db.pool.clone());
        store.migrate().await.unwrap();
        store
    }

    #[tokio::test]
    async fn user_store_contract_holds() {
        let db = SqliteDb::new().await;
        user_store_contract(&users(&db).await).await;
    }

    #[tokio::test]
    async fn basic_logins_work() {
        let db = SqliteDb::new().await;
        basic_login_contract(Arc::new(users(&db).await)).await;
    }

    #[tokio::test]
    async fn key_store_contract_holds() {
        let db = SqliteDb::new().await;
        key_store_contract(&keys(&db).await).await;
    }

    #[tokio::test]
    async fn key_lifecycle_works() {
        let db = SqliteDb::new().await;
        let store = SqlKeyStore::connect(&db.url).await.unwrap();
        store.migrate().await.unwrap();
        key_lifecycle_contract(Arc::new(store)).await;
    }

    #[tokio::test]
    async fn concurrent_updates_stay_one_way() {
        let db = SqliteDb::new().await;
        let store = SqlKeyStore::connect(&db.url).await.unwrap();
        store.migrate().await.unwrap();
        key_store_concurrency_contract(Arc::new(store)).await;
    }

    #[tokio::test]
    async fn migrations_are_idempotent_and_take_turns() {
        let db = SqliteDb::new().await;
        let users = (
            SqlUserStore::connect(&db.url).await.unwrap(),
            SqlUserStore::connect(&db.url).await.unwrap(),
        );
        let keys = (
            SqlKeyStore::connect(&db.url).await.unwrap(),
            SqlKeyStore::connect(&db.url).await.unwrap(),
        );
        migrations_are_idempotent((&users.0, &users.1), (&keys.0, &keys.1), &db.raw()).await;
        // migrate() also put the file in WAL mode: readers and a writer work at once.
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[tokio::test]
    async fn lookups_use_the_indexes() {
        let db = SqliteDb::new().await;
        let users = SqlUserStore::from_sqlite_pool(db.pool.clone());
        let keys = SqlKeyStore::from_sqlite_pool(db.pool.clone());
        super::lookups_use_the_indexes(&users, &keys, &db.raw()).await;
    }

    #[tokio::test]
    async fn only_hashes_are_stored() {
        let db = SqliteDb::new().await;
        super::only_hashes_are_stored(&users(&db).await, keys(&db).await, &db.raw()).await;
    }

    #[tokio::test]
    async fn data_outlives_the_store() {
        let db = SqliteDb::new().await;
        let first = users(&db).await;
        first
            .add_user(&fast_hasher(), "alice", PASSWORD, "")
            .await
            .unwrap();
        let key_store = SqlKeyStore::connect(&db.url).await.unwrap();
        key_store.migrate().await.unwrap();
        let manager = KeyManager::builder(key_store.clone(), "acme_test")
            .build()
            .unwrap();
        let created = manager.create(NewKey::new("svc", "k")).await.unwrap();
        first.close().await;
        key_store.close().await;

        // A new process, as it were: new pools on the same file.
        let again = SqlUserStore::connect(&db.url).await.unwrap();
        assert_eq!(again.migrate().await.unwrap(), 0);
        let login = basic_login(Arc::new(again), "alice", PASSWORD).await;
        assert!(
            matches!(login, auth_core::Outcome::Authenticated(_)),
            "{login:?}"
        );
        let keys_again = SqlKeyStore::connect(&db.url).await.unwrap();
        let check = apikey_check(keys_again, created.key.expose_secret()).await;
        assert!(
            matches!(check, auth_core::Outcome::Authenticated(_)),
            "{check:?}"
        );
    }

    #[tokio::test]
    async fn a_closed_store_fails_closed() {
        let db = SqliteDb::new().await;
        let users = users(&db).await;
        let keys = keys(&db).await;
        users.close().await;
        keys.close().await;
        outage_answers_503(Arc::new(users), keys, NO_HANG).await;
    }

    #[tokio::test]
    async fn a_missing_file_with_mode_rw_fails_at_connect() {
        let db = SqliteDb::new().await;
        let url = format!("{}-missing?mode=rw", db.url);
        let error = SqlUserStore::connect(&url).await.unwrap_err();
        assert!(matches!(error, SqlStoreError::Unavailable(_)), "{error}");
    }
}

mod postgres {
    use std::str::FromStr;
    use std::sync::Arc;

    use auth_core::Outcome;
    use auth_tests::sql_support::{PgDb, TcpSwitch, with_postgres};
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

    use super::*;

    /// The service-backed suite's name, for the skip message and `cargo xtask test`.
    const SUITE: &str = "sql_stores::postgres";

    /// A user store built from the URL, in the test schema.
    async fn users(db: &PgDb) -> SqlUserStore {
        let store = SqlUserStore::builder(&db.url)
            .schema(&db.schema)
            .connect()
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store
    }

    /// A key store built from the URL, in the test schema.
    async fn keys(db: &PgDb) -> SqlKeyStore {
        let store = SqlKeyStore::builder(&db.url)
            .schema(&db.schema)
            .connect()
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store
    }

    #[tokio::test]
    async fn user_store_contract_holds() {
        with_postgres(SUITE, |db| async move {
            user_store_contract(&users(&db).await).await;
        })
        .await;
    }

    #[tokio::test]
    async fn basic_logins_work() {
        with_postgres(SUITE, |db| async move {
            let store = SqlUserStore::from_pg_pool(db.pool.clone());
            store.migrate().await.unwrap();
            basic_login_contract(Arc::new(store)).await;
        })
        .await;
    }

    #[tokio::test]
    async fn key_store_contract_holds() {
        with_postgres(SUITE, |db| async move {
            let store = SqlKeyStore::from_pg_pool(db.pool.clone());
            store.migrate().await.unwrap();
            key_store_contract(&store).await;
        })
        .await;
    }

    #[tokio::test]
    async fn key_lifecycle_works() {
        with_postgres(SUITE, |db| async move {
            key_lifecycle_contract(Arc::new(keys(&db).await)).await;
        })
        .await;
    }

    #[tokio::test]
    async fn concurrent_updates_stay_one_way() {
        with_postgres(SUITE, |db| async move {
            key_store_concurrency_contract(Arc::new(keys(&db).await)).await;
        })
        .await;
    }

    #[tokio::test]
    async fn migrations_are_idempotent_and_take_turns() {
        with_postgres(SUITE, |db| async move {
            let connect_users = || SqlUserStore::builder(&db.url).schema(&db.schema).connect();
            let connect_keys = || SqlKeyStore::builder(&db.url).schema(&db.schema).connect();
            let users = (
                connect_users().await.unwrap(),
                connect_users().await.unwrap(),
            );
            let keys = (connect_keys().await.unwrap(), connect_keys().await.unwrap());
            migrations_are_idempotent((&users.0, &users.1), (&keys.0, &keys.1), &db.raw()).await;
        })
        .await;
    }

    #[tokio::test]
    async fn lookups_use_the_indexes() {
        with_postgres(SUITE, |db| async move {
            let users = SqlUserStore::from_pg_pool(db.pool.clone());
            let keys = SqlKeyStore::from_pg_pool(db.pool.clone());
            super::lookups_use_the_indexes(&users, &keys, &db.raw()).await;
        })
        .await;
    }

    #[tokio::test]
    async fn only_hashes_are_stored() {
        with_postgres(SUITE, |db| async move {
            super::only_hashes_are_stored(&users(&db).await, keys(&db).await, &db.raw()).await;
        })
        .await;
    }

    /// Two instances (two pools) behind a load balancer: what one writes, the other sees at
    /// once; a revocation or a disabled user on one is refused by the other.
    #[tokio::test]
    async fn instances_share_users_and_keys() {
        with_postgres(SUITE, |db| async move {
            let (users_a, users_b) = (users(&db).await, users(&db).await);
            let (keys_a, keys_b) = (keys(&db).await, keys(&db).await);
            let manager_a = KeyManager::builder(keys_a.clone(), "acme_test")
                .build()
                .unwrap();
            let manager_b = KeyManager::builder(keys_b.clone(), "acme_test")
                .build()
                .unwrap();

            users_a
                .add_user(&fast_hasher(), "alice", PASSWORD, "")
                .await
                .unwrap();
            let login = basic_login(Arc::new(users_b.clone()), "alice", PASSWORD).await;
            assert!(matches!(login, Outcome::Authenticated(_)), "{login:?}");
            users_b.disable("alice").await.unwrap();
            let refused = rejected(basic_login(Arc::new(users_a), "alice", PASSWORD).await);
            assert_eq!(refused.reason(), "user_disabled");

            let created = manager_a.create(NewKey::new("svc", "k")).await.unwrap();
            let key = created.key.expose_secret();
            assert!(matches!(
                apikey_check(keys_b.clone(), key).await,
                Outcome::Authenticated(_)
            ));
            manager_b.revoke(&created.metadata.id).await.unwrap();
            let revoked = rejected(apikey_check(keys_a, key).await);
            assert_eq!(revoked.reason(), "revoked_key");
        })
        .await;
    }

    /// The database goes away (a TCP switch in front of it cuts every connection and refuses
    /// new ones): both authenticators answer 503 within the timeout. It comes back: the same
    /// store objects work again.
    #[tokio::test]
    async fn stores_fail_closed_then_recover() {
        with_postgres(SUITE, |db| async move {
            users(&db).await; // migrations
            keys(&db).await;
            let options = PgConnectOptions::from_str(&db.url).unwrap();
            let target = format!("{}:{}", options.get_host(), options.get_port());
            let switch = TcpSwitch::start(target).await;
            let through_switch = options
                .host("127.0.0.1")
                .port(switch.port())
                .options([("search_path", &db.schema)]);
            let pool = PgPoolOptions::new()
                .acquire_timeout(SHORT)
                .connect_lazy_with(through_switch);
            let users = SqlUserStore::from_pg_pool(pool.clone()).with_timeout(SHORT);
            let keys = SqlKeyStore::from_pg_pool(pool).with_timeout(SHORT);

            users
                .add_user(&fast_hasher(), "alice", PASSWORD, "")
                .await
                .unwrap();
            let manager = KeyManager::builder(keys.clone(), "acme_test")
                .build()
                .unwrap();
            let created = manager.create(NewKey::new("svc", "k")).await.unwrap();
            let key = created.key.expose_secret();

            switch.set_up(false);
            outage_answers_503(Arc::new(users.clone()), keys.clone(), NO_HANG).await;
            assert!(users.count().await.is_err());

            switch.set_up(true);
            let login = basic_login(Arc::new(users), "alice", PASSWORD).await;
            assert!(matches!(login, Outcome::Authenticated(_)), "{login:?}");
            let check = apikey_check(keys, key).await;
            assert!(matches!(check, Outcome::Authenticated(_)), "{check:?}");
        })
        .await;
    }

    /// Needs no server: a URL where nothing listens. Calls answer 503 within the configured
    /// timeout; an eager connect fails with a clear error; a bad URL fails at construction.
    #[tokio::test]
    async fn an_unreachable_database_answers_503_within_the_timeout() {
        let url = "postgres://postgres:secret-pw@127.0.0.1:1/test";
        let users = SqlUserStore::builder(url)
            .timeout(SHORT)
            .connect_lazy()
            .unwrap();
        let keys = SqlKeyStore::builder(url)
            .timeout(SHORT)
            .connect_lazy()
            .unwrap();
        outage_answers_503(Arc::new(users), keys, NO_HANG).await;

        let started = Instant::now();
        let error = SqlUserStore::builder(url)
            .timeout(SHORT)
            .connect()
            .await
            .unwrap_err();
        assert!(matches!(error, SqlStoreError::Unavailable(_)), "{error}");
        assert!(started.elapsed() < NO_HANG);
        assert!(!error.to_string().contains("secret-pw"), "{error}");

        let error = SqlKeyStore::builder("postgres://u@127.0.0.1:notaport/db")
            .connect_lazy()
            .unwrap_err();
        assert!(
            matches!(error, auth_apikey::SqlStoreError::Config(_)),
            "{error}"
        );
    }
}
