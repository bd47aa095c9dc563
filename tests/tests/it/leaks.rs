//! No secret leaks. The check itself runs for every test: each [`TestApp`] searches, when it
//! is dropped, what was logged and answered while it ran for every credential it saw (see
//! `auth_tests::leaks`). These tests show that the watch sees the credentials and finds a
//! leak, and that `Debug` of every type holding a secret shows `[redacted]`, never the secret.

use actix_web::{App, HttpRequest, HttpResponse, web};
use auth_core::Secret;
use auth_tests::leaks::{self, Known};
use auth_tests::{LogCapture, TestApp};
use reqwest::StatusCode;

/// A value no test registers: random, and not in a constant of the sources.
fn probe() -> String {
    let mut bytes = [0_u8; 12];
    getrandom_bytes(&mut bytes);
    format!(
        "probe-{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

fn getrandom_bytes(out: &mut [u8]) {
    // The session crate's id generator is a CSPRNG draw; any fresh value does here.
    let id = auth_session::SessionId::generate().unwrap();
    out.copy_from_slice(&id.expose_bytes()[..out.len()]);
}

#[actix_web::test]
async fn the_watch_registers_every_kind_of_credential_a_request_carries() {
    let mark = leaks::mark();
    let app = TestApp::spawn(|| App::new().default_service(web::to(HttpResponse::Ok)));
    let (password, bearer, key, cookie, signature, form, query) = (
        probe(),
        format!("{}.{}.{}", probe(), probe(), probe()),
        probe(),
        probe(),
        probe(),
        probe(),
        probe(),
    );
    let sent = app
        .post(&format!("/watch?access_token={query}"))
        .basic_auth("alice", Some(&password))
        .header("X-API-Key", &key)
        .header(
            "Cookie",
            format!("__Host-session={cookie}; theme=darkmode1"),
        )
        .header("Signature", format!("sig1=:{signature}:"))
        .form(&[("client_secret", form.as_str()), ("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::OK);
    let bearer_sent = app.get("/watch").bearer_auth(&bearer).send().await.unwrap();
    assert_eq!(bearer_sent.status(), StatusCode::OK);

    let registered: Vec<String> = leaks::registered_since(mark)
        .into_iter()
        .map(|k| k.value)
        .collect();
    let jwt_signature = bearer.rsplit('.').next().unwrap().to_owned();
    for (what, secret) in [
        ("Basic password", &password),
        ("bearer token", &bearer),
        ("JWT signature", &jwt_signature),
        ("API key header", &key),
        ("cookie", &cookie),
        ("RFC 9421 signature", &signature),
        ("form client_secret", &form),
        ("query access_token", &query),
    ] {
        assert!(registered.contains(secret), "{what} was not registered");
    }
    assert!(
        !registered.iter().any(|r| r == "alice" || r == "password"),
        "user names and grant types are not secrets"
    );
}

#[actix_web::test]
async fn the_watch_finds_a_secret_in_a_log_line_and_in_an_error_body() {
    let logs = LogCapture::install();
    let mark = leaks::mark();
    // A careless handler: logs a header and echoes it in an error. The header is not one the
    // watch registers, so this test's own drop check stays quiet; the scan below is given it.
    let app = TestApp::spawn(|| {
        App::new().default_service(web::to(|request: HttpRequest| async move {
            let value = request
                .headers()
                .get("x-probe")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            tracing::debug!(probe = %value, "careless handler");
            HttpResponse::Unauthorized().body(format!("bad credential {value}"))
        }))
    });
    let secret = probe();
    let response = app
        .get("/careless")
        .header("x-probe", &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let known = [Known {
        value: secret.clone(),
        origin: "the probe".to_owned(),
    }];
    let found = leaks::scan(
        &known,
        &logs.lines_from(0),
        &leaks::error_responses_since(mark),
    );
    let places: Vec<&str> = found
        .iter()
        .map(|l| l.found_in.split(':').next().unwrap())
        .collect();
    assert!(places.contains(&"log line"), "{found:?}");
    assert!(places.contains(&"error response"), "{found:?}");
    let report = leaks::report(&found);
    assert!(
        report.contains("the probe") && !report.contains(&secret),
        "{report}"
    );
}

/// `Debug` of `value` does not contain `secret`; when `marked` (the type shows its secret
/// field), it shows `[redacted]` in its place. Types without a `marked` flag leave their
/// secrets out of `Debug` altogether (`finish_non_exhaustive`).
#[track_caller]
fn redacted(value: &dyn std::fmt::Debug, secret: &str, marked: bool) {
    let shown = format!("{value:?}");
    assert!(!shown.contains(secret), "`{shown}` shows the secret");
    if marked {
        assert!(shown.contains("[redacted]"), "`{shown}` has no [redacted]");
    }
}

#[actix_web::test]
async fn debug_of_every_type_holding_a_secret_is_redacted() {
    const S: &str = "debug-probe secret, 32+ bytes long: 9a8b7c6d";

    // auth-core
    let secret = Secret::from(S);
    redacted(&secret, S, true);
    let redis =
        auth_core::RedisConnection::builder(format!("redis://:{}@127.0.0.1:6379", "hunter2-redis"));
    redacted(&redis, "hunter2-redis", false);
    let sql_url = "postgres://postgres:hunter2-postgres@127.0.0.1:5432/test";
    let builder = auth_core::sql::SqlPoolBuilder::new(sql_url);
    redacted(&builder, "hunter2-postgres", false);
    redacted(&builder.connect_lazy().unwrap(), "hunter2-postgres", false);

    // auth-basic
    let credentials = auth_basic::BasicCredentials::new("alice", S);
    redacted(&credentials, S, true);
    let record = auth_basic::UserRecord {
        id: "u1".into(),
        username: "alice".into(),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1${S}"),
        scopes: auth_core::Scopes::new(),
        disabled: false,
    };
    redacted(&record, S, true);

    // auth-apikey
    let key = auth_apikey::KeyFormat::new("dbg")
        .unwrap()
        .generate()
        .unwrap();
    let text = key.expose_secret().to_owned();
    redacted(&key, &text, true);
    let parsed = auth_apikey::parse_any(&text).unwrap();
    redacted(&parsed, &text, false);

    // auth-hmac
    let hmac_key = auth_hmac::HmacKey::new("k1", "alice", S).unwrap();
    redacted(&hmac_key, S, true);
    let signer_builder = auth_hmac::Signer::builder("k1", S);
    redacted(&signer_builder, S, false);
    let signer = auth_hmac::Signer::builder("k1", S).build().unwrap();
    redacted(&signer, S, true);
    let headers = signer
        .sign(
            "GET",
            "https://api.example/x",
            &auth_core::HeaderList::new(),
            None,
        )
        .unwrap();
    let signature = headers
        .iter()
        .find(|(n, _)| *n == "Signature")
        .map(|(_, v)| {
            v.trim_start_matches("sig1=:")
                .trim_end_matches(':')
                .to_owned()
        })
        .unwrap();
    redacted(&headers, &signature, true);
    redacted(&auth_hmac::WebhookSigner::new(S).unwrap(), S, true);
    let webhook = auth_hmac::WebhookVerifier::builder().key(hmac_key.clone());
    redacted(&webhook, S, false);
    redacted(&webhook.build().unwrap(), S, false);
    let store = auth_hmac::MemoryKeyStore::from_keys([hmac_key]);
    redacted(&store, S, false);

    // auth-jwt
    let jwt_key = auth_jwt::Key::hmac("hs", auth_jwt::Algorithm::HS256, &Secret::from(S)).unwrap();
    redacted(&jwt_key, S, false);
    let keys = auth_jwt::KeySet::single(jwt_key);
    redacted(&keys, S, false);
    let issuer = auth_jwt::Issuer::builder(keys.clone()).build().unwrap();
    redacted(&issuer, S, false);
    let verifier = auth_jwt::Verifier::builder(keys).build().unwrap();
    redacted(&verifier, S, false);

    // auth-session
    let cookie_key = auth_session::CookieKey::from_bytes(S.repeat(2).as_bytes()).unwrap();
    redacted(&cookie_key, S, false);
    redacted(&cookie_key, &hex(&S.as_bytes()[..16]), false);
    let cookie_keys = auth_session::CookieKeys::new(cookie_key);
    redacted(&cookie_keys, S, false);
    let id = auth_session::SessionId::from_bytes([0x5a; 32]);
    redacted(&id, &hex(&[0x5a; 8]), true);
    let csrf = auth_session::CsrfToken::from_bytes([0x6b; 32]);
    redacted(&csrf, &hex(&[0x6b; 8]), true);

    // auth-oauth2
    let token = auth_oauth2::AccessToken::new(S, None);
    redacted(&token, S, true);
    let source =
        auth_oauth2::TokenSource::builder("https://id.example/token", "client", Secret::from(S));
    redacted(&source, S, false);
    let client_secret = auth_oauth2::generate_client_secret().unwrap();
    let shown_secret = String::from_utf8(client_secret.expose_secret().to_vec()).unwrap();
    let hash = auth_oauth2::SecretHash::of(client_secret.expose_secret());
    redacted(&hash, &shown_secret, true);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
