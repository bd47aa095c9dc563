//! `oauth client add | list | rotate-secret | disable` on SQLite and PostgreSQL, checked
//! through auth-oauth2's `SqlClientRegistry` (the token service's `ClientRegistry`).

use auth_oauth2::{ClientRegistry as _, SqlClientRegistry};
use auth_tests::sql_support::with_postgres;

use crate::support::{TempDir, authctl, blocking};

fn oauth(store: &(String, Option<String>), args: &[&str]) -> crate::support::Cli {
    let mut cli = authctl(["--json", "oauth", "client"])
        .args(args)
        .env("AUTHCTL_STORE", &store.0);
    if let Some(schema) = &store.1 {
        cli = cli.env("AUTHCTL_SCHEMA", schema);
    }
    cli
}

async fn registry(store: &(String, Option<String>)) -> SqlClientRegistry {
    let mut builder = SqlClientRegistry::pool_builder(&store.0);
    if let Some(schema) = &store.1 {
        builder = builder.schema(schema);
    }
    SqlClientRegistry::new(builder.connect().await.unwrap())
}

async fn lifecycle(store: (String, Option<String>)) {
    let s = store.clone();
    let added = blocking(move || {
        oauth(
            &s,
            &[
                "add",
                "billing",
                "--scopes",
                "orders:read orders:write",
                "--audience",
                "https://api.example.com/orders",
            ],
        )
        .run()
        .ok()
        .json()
    })
    .await;
    let secret = added["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 43, "256 bits, base64url");
    let clients = registry(&store).await;
    let record = clients.find("billing").await.unwrap().unwrap();
    assert!(record.secret_hash.matches(secret.as_bytes()));

    // A public client: no secret.
    let s = store.clone();
    let public = blocking(move || {
        oauth(
            &s,
            &[
                "add",
                "spa",
                "--public",
                "--grant",
                "authorization_code",
                "--redirect-uri",
                "https://app.example.com/callback",
                "--audience",
                "https://api.example.com/orders",
            ],
        )
        .run()
        .ok()
        .json()
    })
    .await;
    assert!(public.get("client_secret").is_none());

    // Registering an id twice is refused.
    let s = store.clone();
    let out = blocking(move || {
        oauth(
            &s,
            &[
                "add",
                "billing",
                "--audience",
                "https://api.example.com/orders",
            ],
        )
        .run()
        .code(1)
    })
    .await;
    assert_eq!(out.error_json()["reason"], "client_exists");

    // list: never a secret.
    let s = store.clone();
    let listed = blocking(move || oauth(&s, &["list"]).run().ok()).await;
    assert!(!listed.stdout.contains(&secret));
    let items = listed.json()["clients"].as_array().unwrap().clone();
    let ids: Vec<&str> = items
        .iter()
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["billing", "spa"]);
    assert_eq!(items[0]["auth_method"], "client_secret_basic");
    assert_eq!(
        items[0]["grants"],
        serde_json::json!(["client_credentials"])
    );
    assert_eq!(items[1]["auth_method"], "none");

    // rotate-secret: the old secret stops matching at once.
    let s = store.clone();
    let rotated =
        blocking(move || oauth(&s, &["rotate-secret", "billing"]).run().ok().json()).await;
    let new_secret = rotated["client_secret"].as_str().unwrap();
    let record = clients.find("billing").await.unwrap().unwrap();
    assert!(!record.secret_hash.matches(secret.as_bytes()));
    assert!(record.secret_hash.matches(new_secret.as_bytes()));
    let s = store.clone();
    let out = blocking(move || oauth(&s, &["rotate-secret", "nobody"]).run().code(1)).await;
    assert_eq!(out.error_json()["reason"], "unknown_client");
    let s = store.clone();
    blocking(move || oauth(&s, &["rotate-secret", "spa"]).run().code(2)).await;

    let s = store.clone();
    blocking(move || oauth(&s, &["disable", "billing"]).run().ok()).await;
    assert!(clients.find("billing").await.unwrap().unwrap().disabled);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_lifecycle_on_sqlite() {
    let dir = TempDir::new("oauth");
    lifecycle((dir.sqlite("oauth.db"), None)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_lifecycle_on_postgres() {
    with_postgres("authctl oauth client (postgres)", |db| async move {
        lifecycle((db.url.clone(), Some(db.schema.clone()))).await;
    })
    .await;
}

#[test]
fn unknown_grants_are_usage_errors() {
    let dir = TempDir::new("oauth-grant");
    authctl([
        "oauth",
        "client",
        "add",
        "x",
        "--grant",
        "password",
        "--store",
        &dir.sqlite("o.db"),
    ])
    .run()
    .code(2);
}
