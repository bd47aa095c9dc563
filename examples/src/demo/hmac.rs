//! The HMAC part of the demo: signed requests.
//!
//! - `POST /hmac/orders`: RFC 9421 HTTP Message Signatures (`hmac-sha256`) with the default
//!   policy — `@method`, `@target-uri` and `content-digest` covered, `created` within
//!   300 s, a nonce used once. It echoes the verified JSON body. `curl` cannot sign; the
//!   client is `crates/auth-hmac/examples/sign_request.rs`, which reads the credentials file.
//! - `POST /hmac/webhook`: a webhook body signature. The article's Node.js snippet works
//!   unchanged but for the URL: `X-Signature: hex(HMAC-SHA256(secret, JSON.stringify(payload)))`.
//!   That form has no timestamp and can be replayed forever, so this route enables
//!   `insecure_allow_untimestamped_replayable_signatures` (a demo of the article's form, not
//!   a recommendation); the timestamped form `t=<unix>,v1=<hex>` is accepted too.
//!
//! Both secrets come from the state file (every instance of a deployment shares them) and
//! are written to the credentials file under `hmac`. The nonces of `/hmac/orders` go to
//! Redis with `--redis`, so a signed request accepted by one instance is refused as a
//! replay by every other; without it they stay in this process's memory.

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use auth_actix::Authenticated;
use auth_actix::hmac::{
    self, HmacKey, MemoryKeyStore, SignatureInfo, Verifier, WebhookInfo, WebhookVerifier,
};
use serde_json::{Value, json};

use super::{Context, DemoError, RouteInfo, SchemePart};

const KEY_ID: &str = "demo-client";
const WEBHOOK_KEY_ID: &str = "demo-webhook";
const WEBHOOK_HEADER: &str = "X-Signature";
const REALM: &str = "auth-rs demo";

fn not_json() -> HttpResponse {
    HttpResponse::BadRequest().json(json!({
        "error": "invalid_request",
        "error_description": "The body must be JSON",
    }))
}

async fn orders(user: Authenticated, body: web::Bytes) -> HttpResponse {
    let Ok(order) = serde_json::from_slice::<Value>(&body) else {
        return not_json();
    };
    let signature = user.extension::<SignatureInfo>();
    HttpResponse::Ok().json(json!({
        "message": format!("Hello {}, your signed order was received", user.subject()),
        "scheme": "hmac",
        "client": user.subject(),
        "key_id": user.key_id(),
        "scopes": user.scopes().to_string(),
        "signature": signature.map(|s| json!({
            "label": s.label,
            "created": s.created,
            "covered": s.covered,
            "body_covered": s.body_covered,
        })),
        "order": order,
    }))
}

async fn webhook(user: Authenticated, body: web::Bytes) -> HttpResponse {
    let Ok(payload) = serde_json::from_slice::<Value>(&body) else {
        return not_json();
    };
    let form = match user.extension::<WebhookInfo>().and_then(|w| w.timestamp) {
        Some(_) => "timestamped",
        None => "untimestamped (replayable)",
    };
    HttpResponse::Ok().json(json!({
        "message": "webhook received",
        "scheme": "hmac",
        "sender": user.subject(),
        "form": form,
        "payload": payload,
    }))
}

pub(crate) async fn setup(ctx: &Context) -> Result<SchemePart, DemoError> {
    let failed = |e: &dyn std::fmt::Display| DemoError::Scheme {
        scheme: "hmac",
        message: e.to_string(),
    };
    // 43 characters from [A-Za-z0-9]: about 256 bits, used as their UTF-8 bytes.
    let secret = ctx.state.hmac_secret.clone();
    let webhook_secret = ctx.state.hmac_webhook_secret.clone();

    let keys = Arc::new(MemoryKeyStore::new());
    keys.insert(
        HmacKey::new(KEY_ID, KEY_ID, secret.as_str())
            .map_err(|e| failed(&e))?
            .with_scopes("orders:write".parse().map_err(|e| failed(&e))?),
    );
    let verifier = Verifier::builder(keys)
        .nonce_store(ctx.stores.nonces())
        .clock(ctx.stores.clock())
        .build()
        .map_err(|e| failed(&e))?;
    let signed =
        auth_actix::Authenticate::new(hmac::HmacAuthenticator::new(verifier).with_realm(REALM));

    // The article's form, on purpose: see the module documentation.
    let webhook_verifier = WebhookVerifier::builder()
        .key(
            HmacKey::new(
                WEBHOOK_KEY_ID,
                "demo-webhook-sender",
                webhook_secret.as_str(),
            )
            .map_err(|e| failed(&e))?,
        )
        .header(WEBHOOK_HEADER)
        .clock(ctx.stores.clock())
        .insecure_allow_untimestamped_replayable_signatures()
        .build()
        .map_err(|e| failed(&e))?;
    let webhooks = auth_actix::Authenticate::new(
        hmac::WebhookAuthenticator::new(webhook_verifier).with_realm(REALM),
    );

    let payload = r#"{"event":"ping"}"#;
    let webhook_curl = format!(
        " -H 'Content-Type: application/json' -H \"{WEBHOOK_HEADER}: $(printf '%s' '{payload}' \
         | openssl dgst -sha256 -hmac '{webhook_secret}' | sed 's/^.*= //')\" -d '{payload}'"
    );

    Ok(SchemePart {
        name: "hmac",
        routes: vec![
            RouteInfo {
                method: "POST",
                path: "/hmac/orders",
                description: "RFC 9421 signed request (hmac-sha256, Content-Digest, nonce); \
                              curl cannot sign, so this curl gets the 401 challenge: use the example client, \
                              cargo run -p auth-hmac --features reqwest --example sign_request -- <credentials file>",
                curl_args:
                    r#" -X POST -H 'Content-Type: application/json' -d '{"item":"book","qty":1}'"#
                        .to_owned(),
            },
            RouteInfo {
                method: "POST",
                path: "/hmac/webhook",
                description: "webhook body signature; the article's X-Signature: hex(HMAC-SHA256(secret, body)) form \
                              is accepted here (replayable, demo only), t=<unix>,v1=<hex> too",
                curl_args: webhook_curl,
            },
        ],
        credentials: json!({
            "key_id": KEY_ID,
            "secret": secret,
            "webhook_secret": webhook_secret,
            "webhook_header": WEBHOOK_HEADER,
        }),
        banner: vec![
            format!(
                "hmac: key id {KEY_ID}, secret {secret} (RFC 9421; sign with the example client)"
            ),
            format!(
                "hmac webhook: {WEBHOOK_HEADER} = hex(HMAC-SHA256(\"{webhook_secret}\", body)) \
                 (the article's replayable form, accepted on /hmac/webhook only)"
            ),
        ],
        configure: Arc::new(move |cfg| {
            cfg.service(
                web::scope("/hmac")
                    .service(
                        web::resource("/orders")
                            .wrap(signed.clone())
                            .route(web::post().to(orders)),
                    )
                    .service(
                        web::resource("/webhook")
                            .wrap(webhooks.clone())
                            .route(web::post().to(webhook)),
                    ),
            );
        }),
    })
}
