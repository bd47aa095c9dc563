//! The client credentials token source against a token endpoint on 127.0.0.1.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use auth_core::{Clock as _, ManualClock, Secret};
use auth_oauth2::{Backoff, ClientAuthMethod, Error, RequestBuilderExt, TokenSource};
use serde_json::json;

use crate::support::{Reply, Request, Server, clock, http};

const CLIENT_ID: &str = "reporting-service";
const CLIENT_SECRET: &str = "s3cr3t:with/odd chars";

/// A token endpoint that checks `client_secret_basic` or `client_secret_post` and issues
/// `tok-1`, `tok-2`, ... living `expires_in` seconds.
fn token_endpoint(expires_in: serde_json::Value) -> impl Fn(&Request) -> Reply + Send + Sync {
    let issued = AtomicUsize::new(0);
    move |request: &Request| {
        let credentials = request
            .basic_credentials()
            .or_else(|| Some((request.param("client_id")?, request.param("client_secret")?)));
        if credentials != Some((CLIENT_ID.into(), CLIENT_SECRET.into()))
            || request.param("grant_type").as_deref() != Some("client_credentials")
        {
            return Reply::json(
                401,
                json!({"error": "invalid_client", "error_description": "Client authentication failed"}),
            );
        }
        let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
        Reply::json(
            200,
            json!({"access_token": format!("tok-{n}"), "token_type": "Bearer", "expires_in": expires_in}),
        )
    }
}

fn source(server: &Server, clock: &ManualClock) -> auth_oauth2::TokenSourceBuilder {
    TokenSource::builder(server.url("/token"), CLIENT_ID, Secret::from(CLIENT_SECRET))
        .clock(clock.shared())
        .http_client(http())
        .backoff(Backoff {
            base_delay: Duration::ZERO,
            ..Backoff::default()
        })
}

#[tokio::test]
async fn a_cached_token_is_reused() {
    let server = Server::start(token_endpoint(json!(3600))).await;
    let clock = clock();
    let tokens = source(&server, &clock).build().unwrap();
    let start = clock.now();
    let first = tokens.token().await.unwrap();
    clock.advance(Duration::from_secs(600));
    let second = tokens.token().await.unwrap();
    assert_eq!(first.expose_str(), "tok-1");
    assert_eq!(second.expose_str(), "tok-1");
    assert_eq!(server.hits(), 1);
    assert_eq!(first.expires_at(), Some(start + Duration::from_secs(3600)));
}

#[tokio::test]
async fn a_token_is_refreshed_before_it_expires() {
    let server = Server::start(token_endpoint(json!(3600))).await;
    let clock = clock();
    let tokens = source(&server, &clock).build().unwrap();
    assert_eq!(tokens.token().await.unwrap().expose_str(), "tok-1");

    // 3600 s lifetime: refreshed when less than min(10%, 60 s) = 60 s remain.
    clock.advance(Duration::from_secs(3539));
    assert_eq!(tokens.token().await.unwrap().expose_str(), "tok-1");
    assert_eq!(server.hits(), 1);

    clock.advance(Duration::from_secs(2));
    let refreshed = tokens.token().await.unwrap();
    assert_eq!(
        refreshed.expose_str(),
        "tok-2",
        "refreshed while tok-1 still had 59 s"
    );
    assert_eq!(server.hits(), 2);
    assert_eq!(tokens.token().await.unwrap().expose_str(), "tok-2");
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn short_lived_tokens_are_refreshed_at_ten_percent() {
    let server = Server::start(token_endpoint(json!(100))).await;
    let clock = clock();
    let tokens = source(&server, &clock).build().unwrap();
    tokens.token().await.unwrap();
    clock.advance(Duration::from_secs(89));
    assert_eq!(tokens.token().await.unwrap().expose_str(), "tok-1");
    clock.advance(Duration::from_secs(2));
    assert_eq!(tokens.token().await.unwrap().expose_str(), "tok-2");
}

/// Runs on one thread: the 50 tasks are all polled, and waiting inside `token()`, before the
/// held answer is released.
#[tokio::test]
async fn fifty_concurrent_callers_make_one_request() {
    let server = Server::start(token_endpoint(json!(3600))).await;
    let clock = clock();
    let tokens = source(&server, &clock).build().unwrap();
    server.hold();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let tokens = tokens.clone();
            tokio::spawn(async move { tokens.token().await })
        })
        .collect();
    server.arrived().await;
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    server.release();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().expose_str(), "tok-1");
    }
    assert_eq!(server.hits(), 1);
    assert_eq!(tokens.request_count(), 1);
}

#[tokio::test]
async fn while_one_caller_refreshes_the_others_use_the_still_valid_token() {
    let server = Server::start(token_endpoint(json!(3600))).await;
    let clock = clock();
    let tokens = source(&server, &clock).build().unwrap();
    tokens.token().await.unwrap();
    clock.advance(Duration::from_secs(3550));
    server.hold();
    let refresher = {
        let tokens = tokens.clone();
        tokio::spawn(async move { tokens.token().await })
    };
    server.arrived().await;
    // The refresh is held at the server; tok-1 still has 50 s and is served at once.
    let meanwhile = tokio::time::timeout(Duration::from_secs(5), tokens.token()).await;
    assert_eq!(meanwhile.unwrap().unwrap().expose_str(), "tok-1");
    server.release();
    assert_eq!(refresher.await.unwrap().unwrap().expose_str(), "tok-2");
    assert_eq!(tokens.token().await.unwrap().expose_str(), "tok-2");
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn concurrent_callers_share_a_failure_too() {
    let server =
        Server::start(|_: &Request| Reply::json(400, json!({"error": "invalid_scope"}))).await;
    let clock = clock();
    let tokens = source(&server, &clock).build().unwrap();
    server.hold();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let tokens = tokens.clone();
            tokio::spawn(async move { tokens.token().await })
        })
        .collect();
    server.arrived().await;
    server.release();
    for task in tasks {
        assert!(matches!(task.await.unwrap(), Err(Error::TokenEndpoint(_))));
    }
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn a_500_then_success_is_retried() {
    let calls = AtomicUsize::new(0);
    let ok = token_endpoint(json!(3600));
    let server = Server::start(move |request: &Request| {
        if calls.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::json(500, json!({"error": "server_error"}))
        } else {
            ok(request)
        }
    })
    .await;
    let clock = clock();
    let tokens = source(&server, &clock).build().unwrap();
    assert_eq!(tokens.token().await.unwrap().expose_str(), "tok-1");
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn retries_stop_after_the_configured_attempts() {
    let server = Server::start(|_: &Request| Reply::json(503, json!({}))).await;
    let clock = clock();
    let tokens = source(&server, &clock).build().unwrap();
    let error = tokens.token().await.unwrap_err();
    assert!(
        matches!(error, Error::Status { status: 503, .. }),
        "{error:?}"
    );
    assert!(error.is_transient());
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn a_bad_secret_is_a_clear_error_and_not_retried() {
    let server = Server::start(token_endpoint(json!(3600))).await;
    let clock = clock();
    let tokens = TokenSource::builder(server.url("/token"), CLIENT_ID, Secret::from("wrong"))
        .clock(clock.shared())
        .http_client(http())
        .build()
        .unwrap();
    let error = tokens.token().await.unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, Error::TokenEndpoint(_)), "{error:?}");
    assert!(
        message.contains("invalid_client: Client authentication failed"),
        "{message}"
    );
    assert!(message.contains("client secret"), "{message}");
    assert!(
        !message.contains("wrong"),
        "the secret leaked into {message}"
    );
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn client_secret_basic_sends_the_credentials_in_the_header_never_the_url() {
    let server = Server::start(token_endpoint(json!(3600))).await;
    let clock = clock();
    let tokens = source(&server, &clock)
        .scopes("orders:read orders:write".parse().unwrap())
        .resource("https://api.example/orders")
        .build()
        .unwrap();
    tokens.token().await.unwrap();
    let request = &server.requests()[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.query, None, "nothing in the URL");
    assert_eq!(
        request.basic_credentials(),
        Some((CLIENT_ID.to_owned(), CLIENT_SECRET.to_owned()))
    );
    assert_eq!(request.param("client_secret"), None);
    assert_eq!(
        request.param("grant_type").as_deref(),
        Some("client_credentials")
    );
    assert_eq!(
        request.param("scope").as_deref(),
        Some("orders:read orders:write")
    );
    assert_eq!(
        request.param("resource").as_deref(),
        Some("https://api.example/orders")
    );
}

#[tokio::test]
async fn client_secret_post_sends_the_credentials_in_the_body() {
    let server = Server::start(token_endpoint(json!(3600))).await;
    let clock = clock();
    let tokens = source(&server, &clock)
        .auth_method(ClientAuthMethod::ClientSecretPost)
        .build()
        .unwrap();
    tokens.token().await.unwrap();
    let request = &server.requests()[0];
    assert_eq!(request.query, None);
    assert_eq!(request.header("authorization"), None);
    assert_eq!(request.param("client_id").as_deref(), Some(CLIENT_ID));
    assert_eq!(
        request.param("client_secret").as_deref(),
        Some(CLIENT_SECRET)
    );
}

#[tokio::test]
async fn provider_quirks_are_tolerated() {
    let server = Server::start(|_: &Request| {
        Reply::json(
            200,
            json!({"access_token": "quirky", "token_type": "bearer", "expires_in": "120"}),
        )
    })
    .await;
    let clock = clock();
    let tokens = source(&server, &clock).build().unwrap();
    let token = tokens.token().await.unwrap();
    assert_eq!(token.token_type(), "bearer");
    assert_eq!(
        token.expires_at(),
        Some(clock.now() + Duration::from_secs(120))
    );
}

#[tokio::test]
async fn other_token_types_are_refused_unless_accepted() {
    let server = Server::start(|_: &Request| {
        Reply::json(200, json!({"access_token": "t", "token_type": "mac"}))
    })
    .await;
    let clock = clock();
    let tokens = source(&server, &clock).build().unwrap();
    assert!(matches!(
        tokens.token().await,
        Err(Error::UnsupportedTokenType(t)) if t == "mac"
    ));
    let tokens = source(&server, &clock)
        .accept_token_type("MAC")
        .build()
        .unwrap();
    assert!(tokens.token().await.is_ok());
}

#[tokio::test]
async fn a_failed_refresh_serves_the_cached_token_until_it_expires() {
    let down = Arc::new(AtomicUsize::new(0));
    let ok = token_endpoint(json!(100));
    let flag = down.clone();
    let server = Server::start(move |request: &Request| {
        if flag.load(Ordering::SeqCst) == 1 {
            Reply::json(503, json!({}))
        } else {
            ok(request)
        }
    })
    .await;
    let clock = clock();
    let tokens = source(&server, &clock).build().unwrap();
    assert_eq!(tokens.token().await.unwrap().expose_str(), "tok-1");
    down.store(1, Ordering::SeqCst);
    clock.advance(Duration::from_secs(95));
    assert_eq!(tokens.token().await.unwrap().expose_str(), "tok-1");
    clock.advance(Duration::from_secs(6));
    assert!(
        tokens.token().await.is_err(),
        "an expired token is never served"
    );
}

#[tokio::test]
async fn an_invalidated_token_is_replaced() {
    let server = Server::start(token_endpoint(json!(3600))).await;
    let clock = clock();
    let tokens = source(&server, &clock).build().unwrap();
    let first = tokens.token().await.unwrap();
    tokens.invalidate(&first);
    let second = tokens.token().await.unwrap();
    assert_eq!(second.expose_str(), "tok-2");
    // Invalidating the old token again does not drop the new one.
    tokens.invalidate(&first);
    assert_eq!(tokens.token().await.unwrap().expose_str(), "tok-2");
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn the_token_goes_on_outgoing_requests_as_a_bearer_header() {
    let tokens_server = Server::start(token_endpoint(json!(3600))).await;
    let api = Server::start(|_: &Request| Reply::json(200, json!({"ok": true}))).await;
    let clock = clock();
    let tokens = source(&tokens_server, &clock).build().unwrap();
    let client = http();
    tokens
        .authorize(client.get(api.url("/protected")))
        .await
        .unwrap()
        .send()
        .await
        .unwrap();
    let token = tokens.token().await.unwrap();
    client
        .get(api.url("/protected"))
        .bearer_token(&token)
        .send()
        .await
        .unwrap();
    for request in api.requests() {
        assert_eq!(request.header("authorization"), Some("Bearer tok-1"));
    }
    assert_eq!(api.hits(), 2);
}

#[test]
fn misconfiguration_fails_at_build() {
    let build = |url: &str| TokenSource::builder(url, CLIENT_ID, Secret::from("x")).build();
    assert!(build("http://oauth.example.com/token").is_err());
    let article = build(
        "https://oauth.example.com/token?grant_type=client_credentials&client_id=YOUR_CLIENT_ID&client_secret=YOUR_CLIENT_SECRET",
    )
    .unwrap_err()
    .to_string();
    assert!(article.contains("query string"), "{article}");
    assert!(
        TokenSource::builder("https://id.example/token", "", Secret::from("x"))
            .build()
            .is_err()
    );
    assert!(
        TokenSource::builder("https://id.example/token", "c", Secret::from(""))
            .build()
            .is_err()
    );
    assert!(
        TokenSource::builder("https://id.example/token", "c", Secret::from("x"))
            .resource("not a uri")
            .build()
            .is_err()
    );
    assert!(
        TokenSource::builder("https://id.example/token", "c", Secret::from("x"))
            .auth_method(ClientAuthMethod::None)
            .build()
            .is_err()
    );
}
