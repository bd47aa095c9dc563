//! The OAuth 2.0 resource server end to end: an authorization server (RFC 8414 metadata,
//! JWKS, RFC 7662 introspection) and an API, both real actix-web servers on 127.0.0.1.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use actix_web::{App, HttpRequest, HttpResponse, web};
use auth_actix::Authenticate;
use auth_actix::jwt::{Algorithm, Issuer, Key, KeySet, jwks_response};
use auth_actix::oauth2::{ResourceServer, TokenInfo};
use auth_core::{ManualClock, Secret};
use auth_examples::demo::{self, DemoConfig};
use auth_tests::{LogCapture, TestApp};
use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;
use serde_json::{Value, json};

const AUDIENCE: &str = "https://api.e2e/orders";
const RS_ID: &str = "orders-api";
const RS_SECRET: &str = "orders-api-secret";

type Known = Arc<Mutex<HashMap<String, Value>>>;

/// The authorization server: metadata naming itself by the address it is reached at, its
/// JWKS, and an introspection endpoint that knows the tokens in `known`.
fn authorization_server(keys: KeySet, known: Known) -> TestApp {
    TestApp::spawn(move || {
        let keys = keys.clone();
        let known = known.clone();
        App::new()
            .route(
                "/.well-known/oauth-authorization-server",
                web::get().to(|req: HttpRequest| async move {
                    let issuer = format!("http://{}", req.connection_info().host());
                    HttpResponse::Ok().json(json!({
                        "issuer": issuer,
                        "jwks_uri": format!("{issuer}/jwks.json"),
                        "introspection_endpoint": format!("{issuer}/introspect"),
                    }))
                }),
            )
            .route(
                "/jwks.json",
                web::get().to(move || {
                    let keys = keys.clone();
                    async move { jwks_response(&keys) }
                }),
            )
            .route(
                "/introspect",
                web::post().to(
                    move |req: HttpRequest, form: web::Form<HashMap<String, String>>| {
                        let known = known.clone();
                        async move {
                            // orders-api:orders-api-secret, RFC 6749 §2.3.1.
                            let expected = "Basic b3JkZXJzLWFwaTpvcmRlcnMtYXBpLXNlY3JldA==";
                            if req.headers().get("authorization").map(|v| v.as_bytes())
                                != Some(expected.as_bytes())
                            {
                                return HttpResponse::Unauthorized()
                                    .json(json!({"error": "invalid_client"}));
                            }
                            let token = form.get("token").cloned().unwrap_or_default();
                            let answer = known.lock().unwrap().get(&token).cloned();
                            HttpResponse::Ok().json(answer.unwrap_or(json!({"active": false})))
                        }
                    },
                ),
            )
    })
}

async fn orders(token: TokenInfo) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "subject": token.subject,
        "client_id": token.client_id,
        "scopes": token.scopes.to_string(),
    }))
}

/// The API: `/orders` needs `orders:read`, `/orders/write` needs `orders:write`.
fn api(resource_server: ResourceServer) -> TestApp {
    let read =
        Authenticate::new(resource_server.clone()).require_scopes("orders:read".parse().unwrap());
    let write = Authenticate::new(resource_server).require_scopes("orders:write".parse().unwrap());
    TestApp::spawn(move || {
        App::new()
            .service(
                web::scope("/orders/write")
                    .wrap(write.clone())
                    .route("", web::post().to(HttpResponse::Created)),
            )
            .service(
                web::scope("/orders")
                    .wrap(read.clone())
                    .route("", web::get().to(orders)),
            )
    })
}

struct Jwt {
    issuer_app: TestApp,
    api: TestApp,
    keys: KeySet,
}

impl Jwt {
    fn issuer_id(&self) -> String {
        self.issuer_app.url("")
    }

    fn issuer(&self) -> auth_jwt::IssuerBuilder {
        Issuer::builder(self.keys.clone())
            .issuer(self.issuer_id())
            .audience(AUDIENCE)
            .typ("at+jwt")
    }

    fn token(&self, scope: &str) -> String {
        self.issuer()
            .build()
            .unwrap()
            .issue("alice", &json!({"client_id": "web-app", "scope": scope}))
            .unwrap()
    }
}

/// JWT access tokens; the API finds the keys through the issuer's RFC 8414 metadata.
fn jwt_setup() -> Jwt {
    let keys = KeySet::single(Key::generate("as-1", Algorithm::ES256).unwrap());
    let issuer_app = authorization_server(keys.clone(), Known::default());
    let resource_server = ResourceServer::builder(issuer_app.url(""), AUDIENCE)
        .realm("orders")
        .build()
        .unwrap();
    Jwt {
        api: api(resource_server),
        issuer_app,
        keys,
    }
}

async fn get(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.get(path).bearer_auth(token).send().await.unwrap()
}

fn challenge(response: &reqwest::Response) -> String {
    response.headers()[WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .to_owned()
}

#[actix_web::test]
async fn a_valid_at_jwt_reaches_the_handler() {
    let s = jwt_setup();
    let response = get(&s.api, "/orders", &s.token("orders:read")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"subject": "alice", "client_id": "web-app", "scopes": "orders:read"})
    );
}

#[actix_web::test]
async fn attack_no_token_gets_401_with_a_bearer_challenge_and_a_token_in_the_url_400() {
    let s = jwt_setup();
    let none = s.api.get("/orders").send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&none), r#"Bearer realm="orders""#);
    let token = s.token("orders:read");
    let in_url = s
        .api
        .get(&format!("/orders?access_token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(in_url.status(), StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn attack_wrong_typ_aud_iss_or_expired_tokens_get_401_invalid_token() {
    let logs = LogCapture::install();
    let s = jwt_setup();
    let claims = json!({"client_id": "web-app", "scope": "orders:read"});
    let an_hour_ago = ManualClock::new(SystemTime::now() - Duration::from_secs(3600));
    let cases = [
        ("jwt_wrong_typ", s.issuer().typ("JWT").build().unwrap()),
        (
            "jwt_bad_audience",
            Issuer::builder(s.keys.clone())
                .issuer(s.issuer_id())
                .audience("https://api.e2e/billing")
                .typ("at+jwt")
                .build()
                .unwrap(),
        ),
        (
            "jwt_bad_issuer",
            s.issuer().issuer("https://evil.e2e").build().unwrap(),
        ),
        (
            "jwt_expired",
            s.issuer()
                .ttl(Duration::from_secs(600))
                .clock(an_hour_ago.shared())
                .build()
                .unwrap(),
        ),
    ];
    let mut tokens = Vec::new();
    for (reason, issuer) in cases {
        let token = issuer.issue("alice", &claims).unwrap();
        let response = get(&s.api, "/orders", &token).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{reason}");
        let header = challenge(&response);
        assert!(
            header.starts_with(r#"Bearer realm="orders", error="invalid_token""#),
            "{reason}: {header}"
        );
        let body = response.json::<Value>().await.unwrap();
        assert_eq!(body["error"], "invalid_token");
        assert!(
            !body.to_string().contains(reason),
            "the body names no check"
        );
        tokens.push((reason, token));
    }
    let reasons: Vec<Value> = logs
        .audit_events("/orders")
        .iter()
        .map(|e| e["reason"].clone())
        .collect();
    for (reason, _) in &tokens {
        assert!(
            reasons.contains(&json!(reason)),
            "{reason} not in {reasons:?}"
        );
    }
    for line in logs.lines() {
        for (_, token) in &tokens {
            assert!(!line.contains(token.as_str()), "a token reached the log");
        }
    }
}

#[actix_web::test]
async fn a_missing_scope_gets_403_insufficient_scope() {
    let s = jwt_setup();
    let reader = s.token("orders:read");
    let response = s
        .api
        .post("/orders/write")
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let header = challenge(&response);
    assert!(
        header.contains(r#"error="insufficient_scope""#)
            && header.contains(r#"scope="orders:write""#),
        "{header}"
    );
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "insufficient_scope"
    );
    let writer = s.token("orders:write");
    let created = s
        .api
        .post("/orders/write")
        .bearer_auth(&writer)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
}

#[actix_web::test]
async fn opaque_tokens_are_introspected() {
    let known = Known::default();
    let keys = KeySet::single(Key::generate("unused", Algorithm::ES256).unwrap());
    let issuer_app = authorization_server(keys, known.clone());
    let issuer = issuer_app.url("");
    let exp = auth_core::unix_seconds(SystemTime::now()) + 600;
    known.lock().unwrap().insert(
        "opaque-reader".into(),
        json!({"active": true, "sub": "bob", "client_id": "batch", "scope": "orders:read",
               "iss": issuer, "aud": AUDIENCE, "exp": exp}),
    );
    let resource_server = ResourceServer::builder(issuer_app.url(""), AUDIENCE)
        .realm("orders")
        .introspection(
            issuer_app.url("/introspect"),
            RS_ID,
            Secret::from(RS_SECRET),
        )
        .build()
        .unwrap();
    let api = api(resource_server);

    let ok = get(&api, "/orders", "opaque-reader").await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.json::<Value>().await.unwrap()["subject"], "bob");

    let inactive = get(&api, "/orders", "opaque-unknown").await;
    assert_eq!(inactive.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&inactive).contains(r#"error="invalid_token""#));

    let forbidden = api
        .post("/orders/write")
        .bearer_auth("opaque-reader")
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn the_demo_protects_its_oauth2_route_with_the_test_issuers_tokens() {
    let dir = std::env::temp_dir().join(format!("auth-rs-test-oauth2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut demo = demo::start(&DemoConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        credentials: Some(dir.join("credentials.json")),
        tls: false,
        ..DemoConfig::in_dir(&dir)
    })
    .await
    .unwrap();
    demo.spawn();
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("credentials.json")).unwrap())
            .unwrap();
    let oauth2 = &file["credentials"]["oauth2"];
    let client = auth_tests::client();
    let url = format!("{}/oauth2/protected", demo.base_url);

    let ok = client
        .get(&url)
        .bearer_auth(oauth2["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let body = ok.json::<Value>().await.unwrap();
    assert_eq!(body["client_id"], oauth2["client_id"]);
    let forbidden = client
        .get(&url)
        .bearer_auth(oauth2["token_without_scope"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let none = client.get(&url).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    demo.handle().stop(false).await;
}
