//! A client for the demo server: signs `POST /hmac/orders` with RFC 9421 and sends a
//! webhook to `POST /hmac/webhook` the way the article's Node.js snippet does.
//!
//! ```text
//! cargo xtask demo -- --credentials /tmp/demo.json      # in one terminal
//! cargo run -p auth-hmac --features reqwest --example sign_request -- /tmp/demo.json
//! ```
//!
//! The credentials file is what the demo writes with `--credentials`: the base URL, the
//! self-signed certificate when it serves HTTPS, and under `credentials.hmac` the key id,
//! the secret (used as its UTF-8 bytes), the webhook secret and the webhook header.

use std::error::Error;

use auth_hmac::{Component, Signer, WebhookEncoding, hmac_sha256};
use serde_json::{Value, json};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: sign_request <demo credentials file>")?;
    let document: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    let text = |pointer: &str| -> Result<String, Box<dyn Error>> {
        document
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("{pointer} missing from {path}").into())
    };
    let base_url = text("/base_url")?;
    let key_id = text("/credentials/hmac/key_id")?;
    let secret = text("/credentials/hmac/secret")?;
    let webhook_secret = text("/credentials/hmac/webhook_secret")?;
    let webhook_header = text("/credentials/hmac/webhook_header")?;

    let mut client = reqwest::Client::builder();
    if let Some(ca) = document.pointer("/tls/ca_cert").and_then(Value::as_str) {
        client = client.add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(ca)?)?);
    }
    let client = client.build()?;

    // RFC 9421: method, target URI, Content-Type and a Content-Digest of the body, with
    // `created` and a fresh nonce.
    let signer = Signer::builder(key_id, secret)
        .cover(Component::field("content-type")?)
        .build()?;
    let mut request = client
        .post(format!("{base_url}/hmac/orders"))
        .json(&json!({"item": "book", "qty": 1}))
        .build()?;
    signer.sign_reqwest(&mut request)?;
    let response = client
        .execute(request.try_clone().ok_or("unclonable request")?)
        .await?;
    println!("POST /hmac/orders -> {}", response.status());
    println!("{}", response.text().await?);

    // The very same request again is a replay: 401.
    let replay = client.execute(request).await?;
    println!("the same request again -> {}", replay.status());

    // The article's webhook form: HMAC-SHA256 of the JSON body, hex, in X-Signature.
    let payload = serde_json::to_vec(&json!({"event": "order.paid", "order": 42}))?;
    let signature =
        WebhookEncoding::Hex.encode(&hmac_sha256(webhook_secret.as_bytes(), &[&payload]));
    let response = client
        .post(format!("{base_url}/hmac/webhook"))
        .header("Content-Type", "application/json")
        .header(webhook_header.as_str(), signature)
        .body(payload)
        .send()
        .await?;
    println!("POST /hmac/webhook -> {}", response.status());
    println!("{}", response.text().await?);
    Ok(())
}
