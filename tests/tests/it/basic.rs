//! HTTP Basic end to end, through a real actix-web server on 127.0.0.1.

use std::sync::Arc;

use actix_web::{App, HttpResponse, web};
use auth_actix::Authenticated;
use auth_actix::basic::{self, Argon2Hasher, Argon2Params, BasicAuthenticator, MemoryUserStore};
use auth_tests::{LogCapture, TestApp};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, WWW_AUTHENTICATE};
use serde_json::{Value, json};

/// What the article's axios snippet sends: `Buffer.from('myUser:myPassword').toString('base64')`.
const ARTICLE_HEADER: &str = "Basic bXlVc2VyOm15UGFzc3dvcmQ=";

fn app() -> TestApp {
    let hasher = Argon2Hasher::new(Argon2Params::insecure_fast_for_tests());
    let users = Arc::new(MemoryUserStore::new());
    users
        .add_user(&hasher, "myUser", "myPassword", "profile:read")
        .unwrap();
    let auth = basic::middleware(
        BasicAuthenticator::builder(users)
            .realm("e2e")
            .hasher(Arc::new(hasher))
            .build()
            .unwrap(),
    );
    TestApp::spawn(move || {
        App::new().service(web::scope("/basic").wrap(auth.clone()).route(
            "/{tail:.*}",
            web::get().to(|user: Authenticated| async move {
                HttpResponse::Ok().json(json!({"user": user.subject()}))
            }),
        ))
    })
}

/// The response headers that identify the outcome (everything but `date`).
fn identifying(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = headers
        .iter()
        .filter(|(name, _)| name.as_str() != "date")
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
        .collect();
    pairs.sort();
    pairs
}

#[actix_web::test]
async fn the_articles_snippet_works_unchanged_but_for_the_url() {
    let app = app();
    let response = app
        .get("/basic/protected")
        .header("Authorization", ARTICLE_HEADER)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"user": "myUser"})
    );

    // reqwest's own basic_auth builds the same header.
    let response = app
        .get("/basic/protected")
        .basic_auth("myUser", Some("myPassword"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[actix_web::test]
async fn no_credentials_get_the_basic_challenge() {
    let app = app();
    let response = app.get("/basic/protected").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()[WWW_AUTHENTICATE],
        r#"Basic realm="e2e", charset="UTF-8""#
    );
}

#[actix_web::test]
async fn attack_malformed_credentials_get_400_with_the_challenge_and_no_panic() {
    let app = app();
    for value in [
        "Basic",
        "Basic %%%",
        "Basic bm9jb2xvbg==",
        "Basic dGVzdDoxMjOj",
    ] {
        let response = app
            .get("/basic/protected")
            .header("Authorization", value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{value}");
        assert_eq!(
            response.headers()[WWW_AUTHENTICATE],
            r#"Basic realm="e2e", charset="UTF-8""#
        );
    }
}

#[actix_web::test]
async fn attack_unknown_user_and_wrong_password_get_identical_responses() {
    let app = app();
    let unknown = app
        .get("/basic/protected")
        .basic_auth("nobody", Some("myPassword"))
        .send()
        .await
        .unwrap();
    let wrong = app
        .get("/basic/protected")
        .basic_auth("myUser", Some("not-my-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status(), wrong.status());
    assert_eq!(identifying(unknown.headers()), identifying(wrong.headers()));
    assert_eq!(unknown.bytes().await.unwrap(), wrong.bytes().await.unwrap());
}

#[actix_web::test]
async fn attack_guessing_is_throttled_with_retry_after() {
    let app = app();
    for _ in 0..5 {
        let response = app
            .get("/basic/throttle")
            .basic_auth("myUser", Some("guess"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let throttled = app
        .get("/basic/throttle")
        .basic_auth("myUser", Some("myPassword"))
        .send()
        .await
        .unwrap();
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.headers().contains_key("retry-after"));
}

#[actix_web::test]
async fn attack_passwords_never_reach_the_log() {
    let logs = LogCapture::install();
    let app = app();
    let _ = app
        .get("/basic/log-check-ok")
        .basic_auth("myUser", Some("myPassword"))
        .send()
        .await
        .unwrap();
    let _ = app
        .get("/basic/log-check-wrong")
        .basic_auth("myUser", Some("Sup3r-S3cret-Guess"))
        .send()
        .await
        .unwrap();
    let events = logs.audit_events("/basic/log-check-wrong");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["reason"], "wrong_password");
    assert_eq!(events[0]["subject"], "myUser");
    for line in logs.lines() {
        for secret in [
            "myPassword",
            "Sup3r-S3cret-Guess",
            "bXlVc2VyOm15UGFzc3dvcmQ",
        ] {
            assert!(!line.contains(secret), "a password reached the log: {line}");
        }
    }
}
