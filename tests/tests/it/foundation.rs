//! The actix-web core through a real server: principal, AnyOf, scope guards, malformed
//! credentials, store failure, body buffering, audit events.

use std::sync::Arc;

use actix_web::{App, HttpResponse, web};
use auth_actix::{AnyOf, AuthError, Authenticate, Authenticated, RequireScopes};
use auth_tests::fixtures::{
    BodyMacAuth, HeaderKeyAuth, SeenBodyLen, TestTokenAuth, TokenStore, body_mac,
};
use auth_tests::{LogCapture, TestApp};
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, WWW_AUTHENTICATE};
use serde_json::{Value, json};

fn store() -> Arc<TokenStore> {
    Arc::new(
        TokenStore::default()
            .with("alice-token", "alice", "orders:read orders:write")
            .with("bob-token", "bob", "orders:read"),
    )
}

async fn whoami(user: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "subject": user.subject(),
        "scheme": user.scheme().as_str(),
        "scopes": user.scopes().to_string(),
        "key_id": user.key_id(),
    }))
}

fn challenges(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn the_principal_reaches_the_handler() {
    let auth = Authenticate::new(TestTokenAuth::new(store()));
    let app = TestApp::spawn(move || {
        App::new()
            .wrap(auth.clone())
            .route("/me", web::get().to(whoami))
    });

    let response = app
        .get("/me")
        .header("Authorization", "Test alice-token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"subject": "alice", "scheme": "test_token",
               "scopes": "orders:read orders:write", "key_id": "tok-11"})
    );
}

#[actix_web::test]
async fn no_credential_gets_401_with_the_challenge_and_no_error_code() {
    let auth = Authenticate::new(TestTokenAuth::new(store()));
    let app = TestApp::spawn(move || {
        App::new()
            .wrap(auth.clone())
            .route("/me", web::get().to(whoami))
    });

    let response = app.get("/me").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenges(&response), [r#"Test realm="tests""#]);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");
}

fn any_of_app() -> TestApp {
    let auth = Authenticate::new(
        AnyOf::new()
            .or(TestTokenAuth::new(store()))
            .or(HeaderKeyAuth::new("k-123456", "svc-backup")),
    );
    TestApp::spawn(move || {
        App::new()
            .wrap(auth.clone())
            .route("/me", web::get().to(whoami))
    })
}

#[actix_web::test]
async fn any_of_with_no_credential_lists_every_challenge() {
    let app = any_of_app();
    let response = app.get("/me").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenges(&response),
        [r#"Test realm="tests""#, r#"Key realm="tests""#]
    );
}

#[actix_web::test]
async fn any_of_accepts_whichever_credential_is_present() {
    let app = any_of_app();
    let by_key = app
        .get("/me")
        .header("X-Key", "k-123456")
        .send()
        .await
        .unwrap();
    assert_eq!(by_key.status(), StatusCode::OK);
    assert_eq!(
        by_key.json::<Value>().await.unwrap()["subject"],
        "svc-backup"
    );

    let by_token = app
        .get("/me")
        .header("Authorization", "Test bob-token")
        .send()
        .await
        .unwrap();
    assert_eq!(by_token.status(), StatusCode::OK);
    assert_eq!(by_token.json::<Value>().await.unwrap()["subject"], "bob");
}

#[actix_web::test]
async fn attack_any_of_with_a_bad_credential_answers_with_that_schemes_rejection() {
    let app = any_of_app();
    let bad_key = app
        .get("/me")
        .header("X-Key", "k-wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_key.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenges(&bad_key), [r#"Key realm="tests""#]);
    assert_eq!(
        bad_key.json::<Value>().await.unwrap()["error"],
        "invalid_credentials"
    );

    // A bad token is not retried as the (valid) key: the first credential found decides.
    let bad_token_good_key = app
        .get("/me")
        .header("Authorization", "Test nobody-token")
        .header("X-Key", "k-123456")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_token_good_key.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenges(&bad_token_good_key),
        [
            r#"Test realm="tests", error="invalid_token", error_description="The credentials are invalid""#
        ]
    );
}

#[actix_web::test]
async fn scope_guards_answer_403_naming_the_missing_scope() {
    let logs = LogCapture::install();
    let auth = Authenticate::new(TestTokenAuth::new(store()));
    let guarded = auth.clone().require_scopes("orders:write".parse().unwrap());
    let app = TestApp::spawn(move || {
        App::new()
            .service(
                web::scope("/built-in")
                    .wrap(guarded.clone())
                    .route("", web::get().to(whoami)),
            )
            .service(
                web::scope("/middleware")
                    .wrap(RequireScopes::new("orders:write admin".parse().unwrap()))
                    .wrap(auth.clone())
                    .route("", web::get().to(whoami)),
            )
            .service(web::scope("/handler").wrap(auth.clone()).route(
                "",
                web::get().to(|user: Authenticated| async move {
                    user.require_scope("orders:write")?;
                    Ok::<_, AuthError>(HttpResponse::Ok().finish())
                }),
            ))
    });

    for path in ["/built-in", "/handler"] {
        let bob = app
            .get(path)
            .header("Authorization", "Test bob-token")
            .send()
            .await
            .unwrap();
        assert_eq!(bob.status(), StatusCode::FORBIDDEN, "{path}");
        let challenge = challenges(&bob).join("");
        assert!(
            challenge.contains(r#"error="insufficient_scope""#),
            "{challenge}"
        );
        assert!(challenge.contains(r#"scope="orders:write""#), "{challenge}");
        let body: Value = bob.json().await.unwrap();
        assert_eq!(body["error"], "insufficient_scope");
        assert_eq!(body["scope"], "orders:write");

        let alice = app
            .get(path)
            .header("Authorization", "Test alice-token")
            .send()
            .await
            .unwrap();
        assert_eq!(alice.status(), StatusCode::OK, "{path}");
    }

    let alice = app
        .get("/middleware")
        .header("Authorization", "Test alice-token")
        .send()
        .await
        .unwrap();
    assert_eq!(alice.status(), StatusCode::FORBIDDEN);
    assert_eq!(alice.json::<Value>().await.unwrap()["scope"], "admin");

    // Each refusal is audited with the request's path, whichever guard made it.
    for path in ["/built-in", "/middleware", "/handler"] {
        let refusals: Vec<Value> = logs
            .audit_events(path)
            .into_iter()
            .filter(|e| e["reason"] == "insufficient_scope")
            .collect();
        assert!(
            !refusals.is_empty(),
            "{path}: no insufficient_scope audit event"
        );
        assert!(refusals.iter().all(|e| e["status"] == 403));
    }
}

#[actix_web::test]
async fn a_malformed_credential_gets_400_with_a_challenge() {
    let auth = Authenticate::new(TestTokenAuth::new(store()));
    let app = TestApp::spawn(move || {
        App::new()
            .wrap(auth.clone())
            .route("/me", web::get().to(whoami))
    });

    let response = app
        .get("/me")
        .header("Authorization", "Test bad\"token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        challenges(&response),
        [
            r#"Test realm="tests", error="invalid_request", error_description="Malformed Authorization header""#
        ]
    );
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"error": "invalid_request", "error_description": "Malformed Authorization header"})
    );

    let repeated = app
        .get("/me")
        .header("Authorization", "Test alice-token")
        .header("Authorization", "Test bob-token")
        .send()
        .await
        .unwrap();
    assert_eq!(repeated.status(), StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn attack_a_store_failure_fails_closed_with_503_and_recovers() {
    let store = store();
    let auth = Authenticate::new(TestTokenAuth::new(Arc::clone(&store)));
    let app = TestApp::spawn(move || {
        App::new()
            .wrap(auth.clone())
            .route("/me", web::get().to(whoami))
    });
    let request = || {
        app.get("/me")
            .header("Authorization", "Test alice-token")
            .send()
    };

    store.set_down(true);
    let down = request().await.unwrap();
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(down.headers().get(WWW_AUTHENTICATE).is_none());
    let body = down.text().await.unwrap();
    assert!(
        !body.contains("store_unavailable"),
        "internal reason leaked: {body}"
    );
    assert!(body.contains("temporarily_unavailable"));

    store.set_down(false);
    assert_eq!(request().await.unwrap().status(), StatusCode::OK);
}

async fn echo(user: Authenticated, body: web::Bytes) -> HttpResponse {
    let seen = user.extension::<SeenBodyLen>().copied().map(|s| s.0);
    HttpResponse::Ok()
        .insert_header(("x-seen-len", seen.unwrap_or(usize::MAX).to_string()))
        .body(body)
}

fn body_app(limit: usize) -> TestApp {
    let auth = Authenticate::new(BodyMacAuth::default()).body_limit(limit);
    TestApp::spawn(move || {
        App::new()
            .wrap(auth.clone())
            .route("/echo", web::post().to(echo))
    })
}

#[actix_web::test]
async fn a_body_reading_authenticator_sees_the_body_and_the_handler_gets_it_whole() {
    let app = body_app(1024);
    let body = b"{\"amount\": 42, \"to\": \"acct-7\"}".to_vec();
    let response = app
        .post("/echo")
        .header("X-Body-Mac", body_mac(&body))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["x-seen-len"],
        body.len().to_string().as_str()
    );
    assert_eq!(response.bytes().await.unwrap(), body);

    let tampered = app
        .post("/echo")
        .header("X-Body-Mac", body_mac(&body))
        .body(b"{\"amount\": 4200, \"to\": \"acct-7\"}".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(tampered.status(), StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn attack_an_oversized_body_gets_413() {
    let app = body_app(16);
    let body = vec![b'x'; 17];
    let response = app
        .post("/echo")
        .header("X-Body-Mac", body_mac(&body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "payload_too_large"
    );

    // Without Content-Length (chunked), the limit holds while reading.
    let addr = app.addr;
    let status_line = actix_web::rt::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(auth_tests::REQUEST_TIMEOUT))
            .unwrap();
        let chunk = "y".repeat(12);
        let request = format!(
            "POST /echo HTTP/1.1\r\nHost: {addr}\r\nX-Body-Mac: 0\r\nTransfer-Encoding: chunked\r\n\
             Connection: close\r\n\r\nc\r\n{chunk}\r\nc\r\n{chunk}\r\n0\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        response.lines().next().unwrap_or_default().to_owned()
    })
    .await
    .unwrap();
    assert!(status_line.starts_with("HTTP/1.1 413"), "{status_line}");
}

#[actix_web::test]
async fn optional_authentication_lets_anonymous_requests_through() {
    let auth = Authenticate::optional(TestTokenAuth::new(store()));
    let app = TestApp::spawn(move || {
        App::new().wrap(auth.clone()).route(
            "/feed",
            web::get().to(|user: Option<Authenticated>| async move {
                HttpResponse::Ok().body(match user {
                    Some(user) => format!("feed for {}", user.subject()),
                    None => "public feed".to_owned(),
                })
            }),
        )
    });
    let anonymous = app.get("/feed").send().await.unwrap();
    assert_eq!(anonymous.text().await.unwrap(), "public feed");
    let alice = app
        .get("/feed")
        .header("Authorization", "Test alice-token")
        .send()
        .await
        .unwrap();
    assert_eq!(alice.text().await.unwrap(), "feed for alice");
    let bad = app
        .get("/feed")
        .header("Authorization", "Test wrong-token")
        .send()
        .await
        .unwrap();
    assert_eq!(
        bad.status(),
        StatusCode::UNAUTHORIZED,
        "a sent credential must be valid"
    );
}

#[actix_web::test]
async fn attack_the_extractor_fails_closed_on_an_unprotected_route() {
    let app = TestApp::spawn(|| App::new().route("/oops", web::get().to(whoami)));
    let response = app
        .get("/oops")
        .header("Authorization", "Test alice-token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn attack_one_audit_event_per_decision_and_no_credential_in_the_logs() {
    let logs = LogCapture::install();
    let auth = Authenticate::new(TestTokenAuth::new(store()))
        .require_scopes("orders:read".parse().unwrap());
    let app = TestApp::spawn(move || {
        App::new()
            .wrap(auth.clone())
            .route("/audit/{case}", web::get().to(HttpResponse::Ok))
    });

    let ok = app
        .get("/audit/ok")
        .header("Authorization", "Test alice-token")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let wrong = app
        .get("/audit/wrong")
        .header("Authorization", "Test leaked-secret-guess-42")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let none = app.get("/audit/none").send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let malformed = app
        .get("/audit/malformed")
        .header("Authorization", "Test a\tb\x01")
        .send()
        .await;
    // Some clients refuse to send control characters at all; either way nothing may leak.
    drop(malformed);

    let ok = logs.audit_events("/audit/ok");
    assert_eq!(ok.len(), 1, "{ok:?}");
    assert_eq!(ok[0]["outcome"], "success");
    assert_eq!(ok[0]["scheme"], "test_token");
    assert_eq!(ok[0]["subject"], "alice");
    assert_eq!(ok[0]["key_id"], "tok-11");
    assert_eq!(ok[0]["status"], 200);
    assert!(ok[0]["peer"].as_str().unwrap().starts_with("127.0.0.1:"));

    let wrong = logs.audit_events("/audit/wrong");
    assert_eq!(wrong.len(), 1, "{wrong:?}");
    assert_eq!(wrong[0]["outcome"], "rejected");
    assert_eq!(wrong[0]["reason"], "unknown_token");
    assert_eq!(wrong[0]["status"], 401);

    let none = logs.audit_events("/audit/none");
    assert_eq!(none.len(), 1, "{none:?}");
    assert_eq!(none[0]["outcome"], "no_credential");

    for line in logs.lines() {
        for secret in ["alice-token", "leaked-secret-guess-42", "Test a"] {
            assert!(
                !line.contains(secret),
                "a credential reached the log: {line}"
            );
        }
    }
}
