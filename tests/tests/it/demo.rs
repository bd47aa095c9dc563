//! The demo server, started the way `cargo xtask demo` starts it.

use auth_examples::demo::{self, DemoConfig};
use reqwest::StatusCode;
use serde_json::Value;

fn config(tls: bool, dir: &std::path::Path) -> DemoConfig {
    DemoConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        credentials: Some(dir.join("credentials.json")),
        tls,
        ..DemoConfig::in_dir(dir)
    }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("auth-rs-test-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[actix_web::test]
async fn the_demo_answers_over_https_with_tls() {
    let dir = temp_dir("demo-tls");
    let mut demo = demo::start(&config(true, &dir)).await.unwrap();
    demo.spawn();
    assert!(demo.base_url.starts_with("https://127.0.0.1:"));

    // The certificate is written beside the credentials file, which names it.
    let credentials: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("credentials.json")).unwrap())
            .unwrap();
    let cert_path = credentials["tls"]["ca_cert"].as_str().unwrap();
    assert_eq!(std::path::Path::new(cert_path), dir.join("demo-cert.pem"));
    let pem = std::fs::read(cert_path).unwrap();

    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .timeout(auth_tests::REQUEST_TIMEOUT)
        .no_proxy()
        .build()
        .unwrap();
    let response = client
        .get(format!("{}/health", demo.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        serde_json::json!({"status": "ok"})
    );
    demo.handle().stop(false).await;
}

#[actix_web::test]
async fn the_demo_serves_its_routes_and_prints_a_curl_for_each() {
    let dir = temp_dir("demo-plain");
    let mut demo = demo::start(&config(false, &dir)).await.unwrap();
    demo.spawn();

    let banner = demo.banner();
    for route in &demo.routes {
        let curl = format!("curl -i{} {}{}", route.curl_args, demo.base_url, route.path);
        assert!(banner.contains(&curl), "banner lacks `{curl}`:\n{banner}");
    }

    let index: Value = auth_tests::client()
        .get(format!("{}/", demo.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths: Vec<&str> = index["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    let served: Vec<&str> = demo.routes.iter().map(|r| r.path).collect();
    assert_eq!(paths, served);
    assert!(paths.starts_with(&["/", "/health"]));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("credentials.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the credentials file is private");
    }
    demo.handle().stop(false).await;
}

#[actix_web::test]
async fn every_scheme_route_accepts_the_credentials_from_the_file_and_refuses_none() {
    let dir = temp_dir("demo-schemes");
    let mut demo = demo::start(&config(false, &dir)).await.unwrap();
    demo.spawn();
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("credentials.json")).unwrap())
            .unwrap();
    let credentials = &file["credentials"];
    let client = auth_tests::client();
    let url = |path: &str| format!("{}{}", demo.base_url, path);

    // Basic: the article's user, with the header the file gives.
    let basic = &credentials["basic"];
    assert_eq!(basic["username"], "myUser");
    let ok = client
        .get(url("/basic/protected"))
        .header("Authorization", basic["authorization"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.json::<Value>().await.unwrap()["message"], "Hello myUser");

    // API key: the minted key in the header the file names.
    let api_key = &credentials["api_key"];
    let ok = client
        .get(url("/apikey/protected"))
        .header(
            api_key["header"].as_str().unwrap(),
            api_key["key"].as_str().unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);

    // JWT: the minted bearer token; the JWKS is public.
    let jwt = &credentials["jwt"];
    let ok = client
        .get(url("/jwt/protected"))
        .bearer_auth(jwt["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let jwks: Value = client
        .get(url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kid"], "demo-es256");

    for path in [
        "/basic/protected",
        "/apikey/protected",
        "/jwt/protected",
        "/jwt/article",
    ] {
        let refused = client.get(url(path)).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    demo.handle().stop(false).await;
}

#[actix_web::test]
async fn the_demo_session_login_is_throttled_like_basic() {
    let dir = temp_dir("demo-session-throttle");
    let mut demo = demo::start(&config(false, &dir)).await.unwrap();
    demo.spawn();
    let client = auth_tests::client();
    let login = |password: &'static str| {
        client
            .post(format!("{}/session/login", demo.base_url))
            .json(&serde_json::json!({"username": "myUser", "password": password}))
            .send()
    };
    for _ in 0..5 {
        assert_eq!(
            login("guess").await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let throttled = login("myPassword").await.unwrap();
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.headers().contains_key("retry-after"));
    demo.handle().stop(false).await;
}

#[actix_web::test]
async fn behind_a_trusted_proxy_the_demo_believes_its_forwarded_proto_only() {
    let dir = temp_dir("demo-proxy");
    let mut demo = demo::start(&DemoConfig {
        // The test client (127.0.0.1) plays the TLS-terminating balancer.
        trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
        ..config(false, &dir)
    })
    .await
    .unwrap();
    demo.spawn();
    assert!(demo.banner().contains("trusted proxies: 127.0.0.0/8"));
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("credentials.json")).unwrap())
            .unwrap();
    let api_key = &file["credentials"]["api_key"];
    let send = |forwarded_proto: Option<&'static str>| {
        let mut request = auth_tests::client()
            .get(format!("{}/apikey/protected", demo.base_url))
            .header(
                api_key["header"].as_str().unwrap(),
                api_key["key"].as_str().unwrap(),
            );
        if let Some(proto) = forwarded_proto {
            request = request.header("X-Forwarded-Proto", proto);
        }
        request.send()
    };
    // Forwarded from an HTTPS client: accepted, with HSTS.
    let via_tls = send(Some("https")).await.unwrap();
    assert_eq!(via_tls.status(), StatusCode::OK);
    assert!(via_tls.headers().contains_key("strict-transport-security"));
    // The balancer says the client used plain HTTP, or says nothing: refused, although
    // the peer is on loopback (the loopback allowance is for clients, not proxies).
    for proto in [Some("http"), None] {
        assert_eq!(
            send(proto).await.unwrap().status(),
            StatusCode::FORBIDDEN,
            "{proto:?}"
        );
    }
    demo.handle().stop(false).await;
}
