//! HMAC signatures end to end: RFC 9421 signed requests and webhook body signatures,
//! through a real actix-web server on 127.0.0.1, driven by reqwest.

use std::sync::Arc;

use actix_web::{App, HttpResponse, web};
use auth_actix::Authenticated;
use auth_actix::hmac::{
    self, Component, HmacKey, MemoryKeyStore, SignatureInfo, Signer, Verifier, WebhookEncoding,
    WebhookSigner, WebhookVerifier,
};
use auth_core::{Clock, HeaderList, ManualClock};
use auth_tests::{LogCapture, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

const KEY_ID: &str = "e2e-client";
const SECRET: &str = "e2e secret, at least 32 bytes long: 4c7d1e9a";
const WEBHOOK_SECRET: &str = "e2e webhook secret, 32+ bytes: b81f00d";

/// An app with `POST /signed/orders` (RFC 9421) and two webhook routes: `/hooks/strict`
/// (timestamped form only) and `/hooks/article` (also the article's untimestamped form).
fn app(clock: &ManualClock) -> TestApp {
    let keys = Arc::new(MemoryKeyStore::new());
    keys.insert(
        HmacKey::new(KEY_ID, "e2e-client", SECRET)
            .unwrap()
            .with_scopes("orders:write".parse().unwrap()),
    );
    let signed = hmac::middleware(
        Verifier::builder(keys)
            .require(Component::field("content-type").unwrap())
            .clock(clock.shared())
            .build()
            .unwrap(),
    );
    let webhook_key = || HmacKey::new("hook-1", "sender", WEBHOOK_SECRET).unwrap();
    let strict = hmac::webhook_middleware(
        WebhookVerifier::builder()
            .key(webhook_key())
            .clock(clock.shared())
            .build()
            .unwrap(),
    );
    let article = hmac::webhook_middleware(
        WebhookVerifier::builder()
            .key(webhook_key())
            .clock(clock.shared())
            .insecure_allow_untimestamped_replayable_signatures()
            .build()
            .unwrap(),
    );
    TestApp::spawn(move || {
        App::new()
            .service(
                web::resource("/signed/orders")
                    .wrap(signed.clone())
                    .route(web::post().to(echo)),
            )
            .service(
                web::resource("/hooks/strict")
                    .wrap(strict.clone())
                    .route(web::post().to(echo)),
            )
            .service(
                web::resource("/hooks/article")
                    .wrap(article.clone())
                    .route(web::post().to(echo)),
            )
    })
}

async fn echo(user: Authenticated, body: web::Bytes) -> HttpResponse {
    let covered = user.extension::<SignatureInfo>().map(|s| s.covered.clone());
    HttpResponse::Ok().json(json!({
        "subject": user.subject(),
        "key_id": user.key_id(),
        "covered": covered,
        "body": serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null),
    }))
}

fn signer(clock: &ManualClock) -> Signer {
    Signer::builder(KEY_ID, SECRET)
        .cover(Component::field("content-type").unwrap())
        .clock(clock.shared())
        .build()
        .unwrap()
}

/// A signed `POST` of `body` to `url`, ready to send (and to clone for a replay).
fn signed_post(app: &TestApp, signer: &Signer, url: &str, body: &[u8]) -> reqwest::Request {
    let headers = HeaderList::new().with("Content-Type", "application/json");
    let signature = signer.sign("POST", url, &headers, Some(body)).unwrap();
    let mut builder = app
        .client
        .post(url)
        .header("Content-Type", "application/json")
        .body(body.to_vec());
    for (name, value) in signature.iter() {
        builder = builder.header(name, value);
    }
    builder.build().unwrap()
}

#[actix_web::test]
async fn signed_requests_verify_through_a_real_server() {
    let clock = ManualClock::starting_now();
    let app = app(&clock);
    let body = br#"{"item":"book","qty":1}"#;
    let request = signed_post(
        &app,
        &signer(&clock),
        &app.url("/signed/orders?tenant=7"),
        body,
    );
    let response = app.client.execute(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let echoed: Value = response.json().await.unwrap();
    assert_eq!(echoed["subject"], "e2e-client");
    assert_eq!(echoed["key_id"], KEY_ID);
    assert_eq!(
        echoed["body"],
        json!({"item": "book", "qty": 1}),
        "the handler got the body whole"
    );
    assert_eq!(
        echoed["covered"],
        json!([
            r#""@method""#,
            r#""@target-uri""#,
            r#""content-type""#,
            r#""content-digest""#
        ])
    );
}

#[actix_web::test]
async fn attack_a_replayed_request_is_refused() {
    let clock = ManualClock::starting_now();
    let app = app(&clock);
    let request = signed_post(&app, &signer(&clock), &app.url("/signed/orders"), b"{}");
    let replay = request.try_clone().unwrap();
    assert_eq!(
        app.client.execute(request).await.unwrap().status(),
        StatusCode::OK
    );
    let response = app.client.execute(replay).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Signature realm="api""#
    );
}

#[actix_web::test]
async fn attack_a_tampered_body_is_refused() {
    let clock = ManualClock::starting_now();
    let app = app(&clock);
    let url = app.url("/signed/orders");
    let mut request = signed_post(&app, &signer(&clock), &url, br#"{"qty":1}"#);
    *request.body_mut() = Some(br#"{"qty":9}"#.to_vec().into());
    let response = app.client.execute(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // Stale signatures and unsigned requests get the same kind of answer.
    let stale = signed_post(&app, &signer(&clock), &url, b"{}");
    clock.advance(std::time::Duration::from_secs(301));
    assert_eq!(
        app.client.execute(stale).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let unsigned = app.post("/signed/orders").body("{}").send().await.unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
}

/// What the article's Node.js snippet sends:
/// `crypto.createHmac('sha256', secret).update(JSON.stringify(payload)).digest('hex')` as
/// `X-Signature`, with the JSON body as axios serializes it (compact).
fn article_post(app: &TestApp, path: &str, payload: &Value) -> reqwest::RequestBuilder {
    let body = serde_json::to_vec(payload).unwrap();
    let signature =
        WebhookEncoding::Hex.encode(&auth_hmac::hmac_sha256(WEBHOOK_SECRET.as_bytes(), &[&body]));
    app.post(path)
        .header("Content-Type", "application/json")
        .header("X-Signature", signature)
        .body(body)
}

#[actix_web::test]
async fn attack_the_articles_webhook_form_needs_the_opt_in() {
    let clock = ManualClock::starting_now();
    let app = app(&clock);
    let payload = json!({"event": "order.paid", "order": 42});

    let accepted = article_post(&app, "/hooks/article", &payload)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::OK);
    let echoed: Value = accepted.json().await.unwrap();
    assert_eq!(echoed["subject"], "sender");
    assert_eq!(echoed["body"], payload);

    let refused = article_post(&app, "/hooks/strict", &payload)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.headers()["www-authenticate"],
        r#"HMAC realm="webhooks", header="X-Signature""#
    );

    // A wrong signature is refused on both.
    for path in ["/hooks/article", "/hooks/strict"] {
        let forged = app
            .post(path)
            .header("X-Signature", "00".repeat(32))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
}

#[actix_web::test]
async fn attack_timestamped_webhooks_verify_once() {
    let clock = ManualClock::starting_now();
    let app = app(&clock);
    let body = br#"{"event":"ping"}"#.to_vec();
    let header = WebhookSigner::new(WEBHOOK_SECRET)
        .unwrap()
        .timestamped(clock.unix_now(), &body);
    let send = || {
        app.post("/hooks/strict")
            .header("X-Signature", header.clone())
            .body(body.clone())
            .send()
    };
    assert_eq!(send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "a replay"
    );
}

#[actix_web::test]
async fn attack_no_secret_or_signature_reaches_the_logs() {
    let logs = LogCapture::install();
    let clock = ManualClock::starting_now();
    let app = app(&clock);
    let url = app.url("/signed/orders?log-probe=1");
    let request = signed_post(&app, &signer(&clock), &url, b"{}");
    let signature = request.headers()["signature"].to_str().unwrap().to_owned();
    let replay = request.try_clone().unwrap();
    app.client.execute(request).await.unwrap();
    app.client.execute(replay).await.unwrap();
    article_post(&app, "/hooks/strict", &json!({"probe": true}))
        .send()
        .await
        .unwrap();

    let mac = signature.trim_start_matches("sig1=:").trim_end_matches(':');
    let lines = logs.lines();
    let ours: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("/signed/orders") || l.contains("/hooks/strict"))
        .collect();
    assert!(
        ours.iter().any(|l| l.contains("nonce_replayed")),
        "the replay is audited"
    );
    assert!(ours.iter().any(|l| l.contains("untimestamped_signature")));
    for line in &lines {
        assert!(!line.contains(SECRET), "secret in a log line: {line}");
        assert!(
            !line.contains(WEBHOOK_SECRET),
            "secret in a log line: {line}"
        );
        assert!(!line.contains(mac), "signature in a log line: {line}");
    }
}

#[actix_web::test]
async fn the_demo_serves_both_hmac_routes() {
    use auth_examples::demo::{self, DemoConfig};

    let dir = std::env::temp_dir().join(format!("auth-rs-test-hmac-demo-{}", std::process::id()));
    let config = DemoConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        credentials: Some(dir.join("credentials.json")),
        tls: false,
        ..DemoConfig::in_dir(&dir)
    };
    let mut demo = demo::start(&config).await.unwrap();
    demo.spawn();
    let credentials = &demo.credentials["credentials"]["hmac"];
    let key_id = credentials["key_id"].as_str().unwrap();
    let secret = credentials["secret"].as_str().unwrap();
    let webhook_secret = credentials["webhook_secret"].as_str().unwrap();
    let client = auth_tests::client();

    // RFC 9421, as the example client signs it.
    let url = format!("{}/hmac/orders", demo.base_url);
    let body = br#"{"item":"book","qty":1}"#;
    let headers = HeaderList::new().with("Content-Type", "application/json");
    let signer = Signer::builder(key_id, secret)
        .cover(Component::field("content-type").unwrap())
        .build()
        .unwrap();
    let signed = signer.sign("POST", &url, &headers, Some(body)).unwrap();
    let mut request = client
        .post(&url)
        .header("Content-Type", "application/json")
        .body(body.to_vec());
    for (name, value) in signed.iter() {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let echoed: Value = response.json().await.unwrap();
    assert_eq!(echoed["order"], json!({"item": "book", "qty": 1}));
    assert_eq!(echoed["client"], "demo-client");

    // The article's webhook snippet, unchanged but for the URL.
    let payload = serde_json::to_vec(&json!({"event": "order.paid"})).unwrap();
    let signature = WebhookEncoding::Hex.encode(&auth_hmac::hmac_sha256(
        webhook_secret.as_bytes(),
        &[&payload],
    ));
    let response = client
        .post(format!("{}/hmac/webhook", demo.base_url))
        .header("Content-Type", "application/json")
        .header("X-Signature", signature)
        .body(payload)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let echoed: Value = response.json().await.unwrap();
    assert_eq!(echoed["form"], "untimestamped (replayable)");

    // curl cannot sign RFC 9421: the route says so, and an unsigned request gets 401.
    let unsigned = client.post(&url).body("{}").send().await.unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    demo.handle().stop(false).await;
    let _ = std::fs::remove_dir_all(dir);
}
