//! Against the demo server (`auth_examples::demo`, what `cargo xtask demo` runs) on the
//! CLI's SQLite file (`--database`): a key created by the CLI opens `/apikey/protected`,
//! the same key revoked by the CLI is refused; a request signed by `authctl hmac sign`
//! passes `/hmac/orders`.

use auth_examples::demo::{self, DemoConfig};
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{TempDir, authctl, blocking};

#[actix_web::test]
async fn a_key_created_by_the_cli_opens_the_demo_and_a_revoked_one_is_refused() {
    let dir = TempDir::new("demo");
    let database = dir.sqlite("demo.db");

    // The CLI first: it creates the database and its tables.
    let db = database.clone();
    let created = blocking(move || {
        authctl([
            "--json",
            "apikey",
            "create",
            "--prefix",
            "authrs_demo",
            "--owner",
            "ops-script",
            "--name",
            "nightly",
            "--scopes",
            "orders:read",
            "--store",
            &db,
        ])
        .run()
        .ok()
        .json()
    })
    .await;
    let key = created["key"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();

    let config = DemoConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        credentials: Some(dir.join("credentials.json")),
        database: database.clone(),
        state: dir.join("state.json"),
        ..DemoConfig::default()
    };
    let mut server = demo::start(&config).await.unwrap();
    server.spawn();
    let client = auth_tests::client();
    let protected = format!("{}/apikey/protected", server.base_url);

    let response = client
        .get(&protected)
        .header("X-API-Key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["owner"], "ops-script");
    assert_eq!(body["key_id"], id.as_str());

    // Revoked by the CLI while the demo runs: refused on the next request.
    let db = database.clone();
    let i = id.clone();
    blocking(move || authctl(["apikey", "revoke", &i, "--store", &db]).run().ok()).await;
    let response = client
        .get(&protected)
        .header("X-API-Key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // HMAC: `authctl hmac sign` with the demo's client key passes its verifier.
    let credentials: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("credentials.json")).unwrap())
            .unwrap();
    let hmac = &credentials["credentials"]["hmac"];
    let key_id = hmac["key_id"].as_str().unwrap().to_owned();
    let secret = hmac["secret"].as_str().unwrap().to_owned();
    let body = br#"{"item":"book","qty":1}"#;
    std::fs::write(dir.join("order.json"), body).unwrap();
    let url = format!("{}/hmac/orders", server.base_url);
    let (u, body_file) = (url.clone(), dir.join("order.json"));
    let signed = blocking(move || {
        authctl(["--json", "hmac", "sign", "--key-id", &key_id, "--body"])
            .arg(&body_file)
            .args(["--header", "Content-Type: application/json", "POST", &u])
            .env("AUTHCTL_HMAC_SECRET", &secret)
            .run()
            .ok()
            .json()
    })
    .await;
    let mut request = client.post(&url).body(body.to_vec());
    for pair in signed["headers"].as_array().unwrap() {
        request = request.header(pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
    }
    let response = request.send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{:?}",
        response.text().await
    );

    server.handle().stop(false).await;
}
