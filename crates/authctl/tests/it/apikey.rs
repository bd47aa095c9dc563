//! `apikey create | list | revoke | rotate` on SQLite and PostgreSQL; every key made by the
//! CLI is checked in-process by auth-apikey's `KeyManager` over the same store.

use auth_apikey::{Error, KeyManager, SqlKeyStore};
use auth_core::Secret;
use auth_tests::sql_support::with_postgres;
use serde_json::Value;

use crate::support::{TempDir, authctl, blocking};

const PREFIX: &str = "acme_live";

/// Runs `authctl --json apikey <args>` on the store given by `store` (a URL, and a schema).
fn apikey(store: &(String, Option<String>), args: &[&str]) -> crate::support::Cli {
    let mut cli = authctl(["--json", "apikey"])
        .args(args)
        .env("AUTHCTL_STORE", &store.0);
    if let Some(schema) = &store.1 {
        cli = cli.env("AUTHCTL_SCHEMA", schema);
    }
    cli
}

async fn manager(store: &(String, Option<String>), pepper: Option<&[u8]>) -> KeyManager {
    let mut builder = SqlKeyStore::builder(&store.0);
    if let Some(schema) = &store.1 {
        builder = builder.schema(schema);
    }
    let sql = builder.connect().await.unwrap();
    let mut keys = KeyManager::builder(sql, PREFIX);
    if let Some(pepper) = pepper {
        keys = keys.pepper(Secret::new(pepper.to_vec()));
    }
    keys.build().unwrap()
}

/// The whole life of a key, through the CLI, checked through the crate.
async fn lifecycle(store: (String, Option<String>)) {
    let s = store.clone();
    let created = blocking(move || {
        apikey(
            &s,
            &[
                "create",
                "--prefix",
                PREFIX,
                "--owner",
                "billing",
                "--name",
                "export",
                "--scopes",
                "invoices:read invoices:write",
                "--expires-in",
                "30d",
            ],
        )
        .run()
        .ok()
        .json()
    })
    .await;
    let key = created["key"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(key.starts_with("acme_live_"), "{key}");
    assert_eq!(created["status"], "active");
    assert_eq!(created["scopes"], "invoices:read invoices:write");
    let lifetime =
        created["expires_at"].as_i64().unwrap() - created["created_at"].as_i64().unwrap();
    assert_eq!(lifetime, 30 * 86_400);

    // The key is real: the crate verifies it over the same database.
    let keys = manager(&store, None).await;
    let metadata = keys.verify(&key).await.unwrap();
    assert_eq!(metadata.owner, "billing");
    assert_eq!(metadata.id, id);

    // list: metadata only, never the key.
    let s = store.clone();
    let listed = blocking(move || apikey(&s, &["list", "--owner", "billing"]).run().ok()).await;
    assert!(!listed.stdout.contains(&key));
    let items = listed.json()["keys"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], id.as_str());
    assert_eq!(items[0]["status"], "active");

    // rotate: a successor, printed once; the old key works through the grace period.
    let (s, i) = (store.clone(), id.clone());
    let rotated = blocking(move || {
        apikey(&s, &["rotate", &i, "--prefix", PREFIX, "--grace", "1h"])
            .run()
            .ok()
            .json()
    })
    .await;
    let new_key = rotated["key"].as_str().unwrap().to_owned();
    let new_id = rotated["id"].as_str().unwrap().to_owned();
    assert_eq!(rotated["rotated_from"], id.as_str());
    assert!(keys.verify(&new_key).await.is_ok());
    assert!(
        keys.verify(&key).await.is_ok(),
        "the grace period keeps the old key"
    );

    // revoke: refused from then on.
    let (s, i) = (store.clone(), new_id.clone());
    let revoked = blocking(move || apikey(&s, &["revoke", &i]).run().ok().json()).await;
    assert_eq!(revoked["status"], "revoked");
    assert!(matches!(
        keys.verify(&new_key).await,
        Err(Error::Revoked { .. })
    ));

    // A revoked key cannot be rotated; an unknown id is refused: exit 1 with the reason.
    let (s, i) = (store.clone(), new_id.clone());
    let out = blocking(move || {
        apikey(&s, &["rotate", &i, "--prefix", PREFIX])
            .run()
            .code(1)
    })
    .await;
    assert_eq!(out.error_json()["reason"], "not_rotatable");
    let s = store.clone();
    let out = blocking(move || apikey(&s, &["revoke", "no-such-id"]).run().code(1)).await;
    assert_eq!(out.error_json()["reason"], "not_found");

    // The listing shows both keys with their states.
    let s = store.clone();
    let listed = blocking(move || {
        apikey(&s, &["list", "--owner", "billing"])
            .run()
            .ok()
            .json()
    })
    .await;
    let states: Vec<&Value> = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["status"])
        .collect();
    assert_eq!(states, ["grace", "revoked"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_key_lifecycle_on_sqlite() {
    let dir = TempDir::new("apikey");
    lifecycle((dir.sqlite("keys.db"), None)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_key_lifecycle_on_postgres() {
    with_postgres("authctl apikey (postgres)", |db| async move {
        lifecycle((db.url.clone(), Some(db.schema.clone()))).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_peppered_key_verifies_only_with_the_pepper() {
    let dir = TempDir::new("apikey-pepper");
    let pepper = b"a pepper of at least thirty-two bytes, kept out of the db";
    std::fs::write(dir.join("pepper"), pepper).unwrap();
    let store = (dir.sqlite("keys.db"), None);
    let (s, pepper_file) = (store.clone(), dir.join("pepper"));
    let created = blocking(move || {
        apikey(
            &s,
            &[
                "create",
                "--owner",
                "o",
                "--name",
                "n",
                "--never-expires",
                "--pepper-file",
            ],
        )
        .arg(&pepper_file)
        .env("AUTHCTL_APIKEY_PREFIX", PREFIX)
        .run()
        .ok()
        .json()
    })
    .await;
    assert_eq!(created["expires_at"], Value::Null);
    let key = created["key"].as_str().unwrap();
    assert!(
        manager(&store, Some(pepper))
            .await
            .verify(key)
            .await
            .is_ok()
    );
    assert!(matches!(
        manager(&store, None).await.verify(key).await,
        Err(Error::UnknownKey)
    ));

    // A short pepper is a usage error.
    std::fs::write(dir.join("short"), "short").unwrap();
    let (s, short) = (store.clone(), dir.join("short"));
    blocking(move || {
        apikey(
            &s,
            &[
                "create",
                "--prefix",
                PREFIX,
                "--owner",
                "o",
                "--name",
                "n",
                "--pepper-file",
            ],
        )
        .arg(&short)
        .run()
        .code(2)
    })
    .await;
}

#[test]
fn create_needs_the_prefix_and_prints_the_key_alone_on_stdout() {
    let dir = TempDir::new("apikey-text");
    let url = dir.sqlite("keys.db");
    let out = authctl([
        "apikey", "create", "--owner", "o", "--name", "n", "--store", &url,
    ])
    .run()
    .code(2);
    assert!(out.stderr.contains("--prefix"), "{}", out.stderr);

    let out = authctl([
        "apikey", "create", "--prefix", PREFIX, "--owner", "o", "--name", "n", "--store", &url,
    ])
    .run()
    .ok();
    let key = out.stdout.trim();
    assert!(key.starts_with("acme_live_") && !key.contains(' '), "{key}");
    assert!(out.stderr.contains("shown once"), "{}", out.stderr);
    // Also as `sqlite://PATH`.
    let url = format!("sqlite://{}", dir.join("keys.db").display());
    let out = authctl(["apikey", "list", "--owner", "o", "--store", &url])
        .run()
        .ok();
    assert!(out.stdout.contains("active"), "{}", out.stdout);
}
