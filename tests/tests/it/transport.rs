//! `RequireHttps`: credentials only over TLS, trusted proxies, HSTS.

use actix_web::{App, HttpResponse, web};
use auth_actix::RequireHttps;
use auth_tests::TestApp;
use reqwest::StatusCode;
use serde_json::Value;

fn app(https: RequireHttps) -> TestApp {
    TestApp::spawn(move || {
        App::new()
            .wrap(https.clone())
            .route("/", web::get().to(HttpResponse::Ok))
    })
}

#[actix_web::test]
async fn attack_credentials_over_plain_http_are_refused() {
    let app = app(RequireHttps::new());
    for (name, value) in [
        ("Authorization", "Basic bXlVc2VyOm15UGFzc3dvcmQ="),
        ("X-API-Key", "k"),
        ("Cookie", "__Host-session=abc"),
    ] {
        let response = app.get("/").header(name, value).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{name}");
        assert!(
            response
                .headers()
                .get("strict-transport-security")
                .is_none()
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "https_required");
        assert_eq!(
            body["error_description"],
            "Credentials must be sent over HTTPS"
        );
    }
    let in_query = app.get("/?access_token=abc").send().await.unwrap();
    assert_eq!(in_query.status(), StatusCode::FORBIDDEN);

    // Requests without credentials still reach public routes.
    assert_eq!(app.get("/").send().await.unwrap().status(), StatusCode::OK);
}

#[actix_web::test]
async fn all_requests_mode_refuses_every_plain_request() {
    let app = app(RequireHttps::new().all_requests());
    assert_eq!(
        app.get("/").send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
}

#[actix_web::test]
async fn loopback_http_needs_the_explicit_opt_in() {
    let app = app(RequireHttps::new().insecure_allow_loopback_http());
    let response = app
        .get("/")
        .header("Authorization", "Bearer x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .headers()
            .get("strict-transport-security")
            .is_none(),
        "HSTS is never sent over plain HTTP (RFC 6797 §7.2)"
    );
}

#[actix_web::test]
async fn attack_forwarded_proto_is_believed_only_from_trusted_proxies() {
    let trusted = app(RequireHttps::new().trusted_proxies(["127.0.0.1".parse().unwrap()]));
    let via_tls_proxy = trusted
        .get("/")
        .header("Authorization", "Bearer x")
        .header("X-Forwarded-Proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(via_tls_proxy.status(), StatusCode::OK);
    assert_eq!(
        via_tls_proxy.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    let rfc7239 = trusted
        .get("/")
        .header("Authorization", "Bearer x")
        .header("Forwarded", "for=192.0.2.60;proto=https;by=203.0.113.43")
        .send()
        .await
        .unwrap();
    assert_eq!(rfc7239.status(), StatusCode::OK);
    let via_plain_proxy = trusted
        .get("/")
        .header("Authorization", "Bearer x")
        .header("X-Forwarded-Proto", "http")
        .send()
        .await
        .unwrap();
    assert_eq!(via_plain_proxy.status(), StatusCode::FORBIDDEN);

    // The same header from a peer that is not a trusted proxy is a forgery.
    let untrusted = app(RequireHttps::new().trusted_proxies(["10.9.9.9".parse().unwrap()]));
    let forged = untrusted
        .get("/")
        .header("Authorization", "Bearer x")
        .header("X-Forwarded-Proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn attack_forwarded_proto_from_outside_a_trusted_network_is_a_forgery() {
    let send = |app: &TestApp| {
        app.get("/")
            .header("Authorization", "Bearer x")
            .header("X-Forwarded-Proto", "https")
            .send()
    };
    // The test client (127.0.0.1) is inside the trusted block: believed.
    let inside = app(RequireHttps::new().trusted_proxy_networks(["127.0.0.0/8".parse().unwrap()]));
    assert_eq!(send(&inside).await.unwrap().status(), StatusCode::OK);
    // A neighbouring block, and a single address next to the peer: not believed.
    let outside = app(RequireHttps::new().trusted_proxy_networks(["126.0.0.0/8".parse().unwrap()]));
    assert_eq!(
        send(&outside).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let next_door =
        app(RequireHttps::new().trusted_proxy_networks(["127.0.0.2/32".parse().unwrap()]));
    assert_eq!(
        send(&next_door).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    // Blocks that would trust more than meant are refused before any request.
    for mistake in ["127.0.0.1/8", "0.0.0.0/0", "::/0", "127.0.0.0/33"] {
        assert!(
            mistake.parse::<auth_actix::ProxyNetwork>().is_err(),
            "{mistake}"
        );
    }
}
