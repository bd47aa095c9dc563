//! `user add | disable | enable | passwd` on SQLite and PostgreSQL, checked through
//! auth-basic's `BasicAuthenticator` over the same store.

use std::sync::Arc;

use auth_basic::{BasicAuthenticator, BasicCredentials, SqlUserStore, UserStore as _};
use auth_core::{AuthRequest, HeaderList, Outcome, authenticate};
use auth_tests::sql_support::with_postgres;

use crate::support::{TempDir, authctl, blocking};

fn user(store: &(String, Option<String>), args: &[&str]) -> crate::support::Cli {
    let mut cli = authctl(["--json", "user"])
        .args(args)
        .env("AUTHCTL_STORE", &store.0);
    if let Some(schema) = &store.1 {
        cli = cli.env("AUTHCTL_SCHEMA", schema);
    }
    cli
}

async fn users(store: &(String, Option<String>)) -> SqlUserStore {
    let mut builder = SqlUserStore::builder(&store.0);
    if let Some(schema) = &store.1 {
        builder = builder.schema(schema);
    }
    builder.connect().await.unwrap()
}

/// Whether `username:password` logs in through the crate's authenticator.
async fn logs_in(users: &SqlUserStore, username: &str, password: &str) -> bool {
    let basic = BasicAuthenticator::builder(Arc::new(users.clone()))
        .build()
        .unwrap();
    let header = BasicCredentials::new(username, password).header_value();
    let headers = HeaderList::new().with("authorization", header);
    let request = AuthRequest::new("GET", "/", &headers);
    matches!(
        authenticate(&basic, &request).await,
        Outcome::Authenticated(_)
    )
}

async fn lifecycle(store: (String, Option<String>)) {
    let s = store.clone();
    let added = blocking(move || {
        user(
            &s,
            &[
                "add",
                "alice",
                "--scopes",
                "orders:read",
                "--password-stdin",
            ],
        )
        .stdin("first passphrase\n")
        .run()
        .ok()
        .json()
    })
    .await;
    assert_eq!(added["user"], "alice");
    let db = users(&store).await;
    let record = db.find("alice").await.unwrap().unwrap();
    assert!(
        record
            .password_hash
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
    );
    assert_eq!(record.scopes.to_string(), "orders:read");
    assert!(logs_in(&db, "alice", "first passphrase").await);

    // Adding again is refused: passwd changes a password.
    let s = store.clone();
    let out = blocking(move || {
        user(&s, &["add", "alice", "--password-stdin"])
            .stdin("other")
            .run()
            .code(1)
    })
    .await;
    assert_eq!(out.error_json()["reason"], "user_exists");

    let s = store.clone();
    blocking(move || {
        user(&s, &["passwd", "alice"])
            .env("AUTHCTL_PASSWORD", "second passphrase")
            .run()
            .ok()
    })
    .await;
    assert!(!logs_in(&db, "alice", "first passphrase").await);
    assert!(logs_in(&db, "alice", "second passphrase").await);

    let s = store.clone();
    blocking(move || user(&s, &["disable", "alice"]).run().ok()).await;
    assert!(db.find("alice").await.unwrap().unwrap().disabled);
    assert!(!logs_in(&db, "alice", "second passphrase").await);
    let s = store.clone();
    blocking(move || user(&s, &["enable", "alice"]).run().ok()).await;
    assert!(logs_in(&db, "alice", "second passphrase").await);

    // Unknown users: exit 1.
    for args in [["disable", "bob"], ["enable", "bob"]] {
        let s = store.clone();
        let out = blocking(move || user(&s, &args).run().code(1)).await;
        assert_eq!(out.error_json()["reason"], "unknown_user");
    }
    let s = store.clone();
    let out = blocking(move || {
        user(&s, &["passwd", "bob", "--password-stdin"])
            .stdin("x")
            .run()
            .code(1)
    })
    .await;
    assert_eq!(out.error_json()["reason"], "unknown_user");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_user_lifecycle_on_sqlite() {
    let dir = TempDir::new("user");
    lifecycle((dir.sqlite("users.db"), None)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_user_lifecycle_on_postgres() {
    with_postgres("authctl user (postgres)", |db| async move {
        lifecycle((db.url.clone(), Some(db.schema.clone()))).await;
    })
    .await;
}
