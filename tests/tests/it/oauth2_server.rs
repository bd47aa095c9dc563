//! The OAuth 2.0 token service end to end, through real actix-web servers on 127.0.0.1:
//! client authentication both ways, the article's query-string request, part 1's
//! `TokenSource` and `ResourceServer` (JWT and introspection modes) against the live
//! service, refresh rotation and reuse, the first-party Bearer login, the demo, and logs
//! free of secrets.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpResponse, HttpServer, web};
use auth_actix::RequireHttps;
use auth_actix::basic::{Argon2Hasher, Argon2Params, BasicAuthenticator, MemoryUserStore};
use auth_actix::oauth2::{self, IntrospectionCachePolicy, ResourceServer, TokenInfo};
use auth_actix::oauth2_server::{
    ClientConfig, EndpointPaths, FirstPartyLogin, GrantType, MemoryClientRegistry, TokenEndpoints,
    TokenService,
};
use auth_core::Secret;
use auth_examples::demo::{self, DemoConfig};
use auth_jwt::{Algorithm, Key, KeySet};
use auth_oauth2::{ClientAuthMethod, TokenFormat, TokenSource};
use auth_tests::{LogCapture, TestApp};
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, WWW_AUTHENTICATE};
use serde_json::{Value, json};

const ORDERS: &str = "https://api.e2e/orders";
const LEDGER: &str = "https://api.e2e/ledger";

/// A token service served at its own issuer identifier: the port is bound before the
/// service is built, so the RFC 8414 metadata names the address it is reached at.
struct Live {
    base: String,
    service: TokenService,
    /// `svc`: client credentials, `orders:read orders:write`, default `orders:read`.
    svc: Secret,
    /// `rotating`: client credentials with refresh tokens.
    rotating: Secret,
    /// `orders-api`: a resource server that introspects ORDERS and LEDGER tokens.
    orders_api: Secret,
    client: reqwest::Client,
    handle: ServerHandle,
    mark: auth_tests::leaks::Mark,
}

impl Drop for Live {
    /// Stops the server, then runs the leak check over what it logged and answered.
    fn drop(&mut self) {
        let handle = self.handle.clone();
        actix_web::rt::spawn(async move { handle.stop(false).await });
        if !std::thread::panicking() {
            let leaks = auth_tests::leaks::check_since(self.mark);
            assert!(leaks.is_empty(), "{}", auth_tests::leaks::report(&leaks));
        }
    }
}

impl Live {
    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(self.url(path))
    }

    /// `orders-api`'s view of `token`.
    async fn introspect(&self, token: &str) -> String {
        self.post(&self.service.paths().introspection)
            .basic_auth("orders-api", self.orders_api.expose_str())
            .form(&[("token", token)])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

fn fast_users() -> (Arc<MemoryUserStore>, Arc<BasicAuthenticator>) {
    let hasher = Argon2Hasher::new(Argon2Params::insecure_fast_for_tests());
    let users = Arc::new(MemoryUserStore::new());
    users
        .add_user(&hasher, "myUser", "myPassword", "profile:read")
        .unwrap();
    let basic = BasicAuthenticator::builder(users.clone())
        .realm("e2e")
        .hasher(Arc::new(hasher))
        .build()
        .unwrap();
    (users, Arc::new(basic))
}

/// Starts a token service with `paths`, its first-party login at `/auth/token`.
fn live_with(paths: EndpointPaths) -> Live {
    LogCapture::install();
    let mark = auth_tests::leaks::mark();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let clients = Arc::new(MemoryClientRegistry::new());
    let svc = clients
        .register(
            ClientConfig::new("svc")
                .grant(GrantType::ClientCredentials)
                .scopes("orders:read orders:write".parse().unwrap())
                .default_scopes("orders:read".parse().unwrap())
                .audience(ORDERS)
                .audience(LEDGER),
        )
        .unwrap();
    let rotating = clients
        .register(
            ClientConfig::new("rotating")
                .grant(GrantType::ClientCredentials)
                .grant(GrantType::RefreshToken)
                .refresh_tokens()
                .scopes("orders:read".parse().unwrap())
                .default_scopes("orders:read".parse().unwrap())
                .audience(ORDERS),
        )
        .unwrap();
    let orders_api = clients
        .register(
            ClientConfig::new("orders-api")
                .introspection_for(ORDERS)
                .introspection_for(LEDGER),
        )
        .unwrap();
    let service = TokenService::builder(
        base.clone(),
        KeySet::single(Key::generate("as-1", Algorithm::ES256).unwrap()),
        clients.clone(),
    )
    .audience(ORDERS, TokenFormat::Jwt)
    .audience(LEDGER, TokenFormat::Opaque)
    .first_party_login("e2e-web", ORDERS)
    .paths(paths)
    .realm("e2e")
    .insecure_allow_loopback_http()
    .build()
    .unwrap();
    let (_, basic) = fast_users();
    let endpoints = TokenEndpoints::new(service.clone());
    let login = FirstPartyLogin::new(service.clone(), basic);
    let server = HttpServer::new(move || {
        let (endpoints, login) = (endpoints.clone(), login.clone());
        App::new()
            .wrap(RequireHttps::new().insecure_allow_loopback_http())
            .configure(move |cfg| endpoints.configure(cfg))
            .configure(move |cfg| login.configure(cfg))
            .wrap(auth_tests::leaks::Watch)
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    Live {
        base,
        service,
        svc,
        rotating,
        orders_api,
        client: auth_tests::client(),
        handle,
        mark,
    }
}

fn live() -> Live {
    live_with(EndpointPaths::default())
}

async fn orders(token: TokenInfo) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "subject": token.subject,
        "client_id": token.client_id,
        "scopes": token.scopes.to_string(),
    }))
}

/// An API whose `/orders` needs `orders:read`.
fn api(resource_server: ResourceServer) -> TestApp {
    let read = oauth2::middleware(resource_server).require_scopes("orders:read".parse().unwrap());
    TestApp::spawn(move || {
        App::new().service(
            web::scope("/orders")
                .wrap(read.clone())
                .route("", web::get().to(orders)),
        )
    })
}

async fn json(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

#[actix_web::test]
async fn client_credentials_work_with_both_client_authentication_methods() {
    let live = live();
    let basic = live
        .post("/token")
        .basic_auth("svc", live.svc.expose_str())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let post = live
        .post("/token")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "svc"),
            ("client_secret", live.svc.expose_str().unwrap()),
            ("scope", "orders:write"),
        ])
        .send()
        .await
        .unwrap();
    for (response, scope) in [(basic, "orders:read"), (post, "orders:write")] {
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        assert_eq!(response.headers()["pragma"], "no-cache");
        let body = json(response).await;
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["scope"], scope);
        assert!(body["expires_in"].as_u64().is_some_and(|s| s <= 600));
    }
}

#[actix_web::test]
async fn attack_a_bad_secret_gets_401_invalid_client_with_www_authenticate_for_basic() {
    let live = live();
    let basic = live
        .post("/token")
        .basic_auth("svc", Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        basic.headers()[WWW_AUTHENTICATE],
        r#"Basic realm="e2e", charset="UTF-8""#
    );
    assert_eq!(json(basic).await["error"], "invalid_client");
    let post = live
        .post("/token")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "svc"),
            ("client_secret", "wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::UNAUTHORIZED);
    assert!(post.headers().get(WWW_AUTHENTICATE).is_none());
    // The password grant is refused whatever the client.
    let password = live
        .post("/token")
        .basic_auth("svc", live.svc.expose_str())
        .form(&[
            ("grant_type", "password"),
            ("username", "myUser"),
            ("password", "myPassword"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(password.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(password).await["error"], "unsupported_grant_type");
}

#[actix_web::test]
async fn attack_credentials_in_the_query_string_get_400_and_a_description_that_teaches() {
    let live = live();
    // The article: axios.post(url, null, { params: { grant_type, client_id, client_secret } }).
    let response = live
        .post("/token")
        .query(&[
            ("grant_type", "client_credentials"),
            ("client_id", "svc"),
            ("client_secret", live.svc.expose_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = json(response).await;
    assert_eq!(body["error"], "invalid_request");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.contains("Authorization header"),
        "{description}"
    );
    assert!(description.contains("never in the URL"), "{description}");
}

#[actix_web::test]
async fn part_1s_token_source_and_jwt_resource_server_work_against_the_live_service() {
    let live = live();
    let api = api(ResourceServer::builder(live.base.clone(), ORDERS)
        .build()
        .unwrap());
    for method in [
        ClientAuthMethod::ClientSecretBasic,
        ClientAuthMethod::ClientSecretPost,
    ] {
        let tokens = TokenSource::builder(live.service.token_endpoint(), "svc", live.svc.clone())
            .auth_method(method)
            .resource(ORDERS)
            .build()
            .unwrap();
        let token = tokens.token().await.unwrap();
        // The API finds the keys through the service's metadata and JWKS.
        let response = api
            .get("/orders")
            .bearer_auth(token.expose_str())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{method:?}");
        let body = json(response).await;
        assert_eq!(
            (&body["subject"], &body["client_id"]),
            (&json!("svc"), &json!("svc"))
        );
    }
    // A token with only orders:write is valid but not enough.
    let write_only = TokenSource::builder(live.service.token_endpoint(), "svc", live.svc.clone())
        .scopes("orders:write".parse().unwrap())
        .build()
        .unwrap()
        .token()
        .await
        .unwrap();
    let response = api
        .get("/orders")
        .bearer_auth(write_only.expose_str())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn part_1s_introspecting_resource_server_works_and_sees_revocation_at_once() {
    let live = live();
    let api = api(ResourceServer::builder(live.base.clone(), LEDGER)
        .introspection(
            live.url("/introspect"),
            "orders-api",
            live.orders_api.clone(),
        )
        .introspection_cache(IntrospectionCachePolicy {
            max_ttl: Duration::ZERO,
            negative_ttl: Duration::ZERO,
            ..IntrospectionCachePolicy::default()
        })
        .build()
        .unwrap());
    let tokens = TokenSource::builder(live.service.token_endpoint(), "svc", live.svc.clone())
        .resource(LEDGER)
        .build()
        .unwrap();
    let token = tokens.token().await.unwrap();
    let get = |token: String| {
        let request = api.get("/orders").bearer_auth(token);
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(get(token.expose_str().to_owned()).await, StatusCode::OK);
    let revoked = live
        .post("/revoke")
        .basic_auth("svc", live.svc.expose_str())
        .form(&[("token", token.expose_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_eq!(
        get(token.expose_str().to_owned()).await,
        StatusCode::UNAUTHORIZED
    );
}

#[actix_web::test]
async fn attack_refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let live = live();
    let first = json(
        live.post("/token")
            .basic_auth("rotating", live.rotating.expose_str())
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let rt1 = first["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |token: String| {
        let request = live
            .post("/token")
            .basic_auth("rotating", live.rotating.expose_str())
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", token.as_str()),
            ]);
        async move { request.send().await.unwrap() }
    };
    let second = refresh(rt1.clone()).await;
    assert_eq!(second.status(), StatusCode::OK);
    let second = json(second).await;
    let rt2 = second["refresh_token"].as_str().unwrap().to_owned();
    let at2 = second["access_token"].as_str().unwrap().to_owned();
    assert_ne!(rt1, rt2, "rotated");
    assert!(live.introspect(&at2).await.contains(r#""active":true"#));

    let replay = refresh(rt1).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(replay).await["error"], "invalid_grant");
    let legit = refresh(rt2).await;
    assert_eq!(
        json(legit).await["error"],
        "invalid_grant",
        "the family is revoked"
    );
    assert_eq!(live.introspect(&at2).await, r#"{"active":false}"#);
}

#[actix_web::test]
async fn attack_introspection_without_client_authentication_gets_401() {
    let live = live();
    let response = live
        .post("/introspect")
        .form(&[("token", "anything")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get(WWW_AUTHENTICATE).is_some());
    assert_eq!(json(response).await["error"], "invalid_client");
    let revoke = live
        .post("/revoke")
        .form(&[("token", "anything")])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn attack_first_party_login_wrong_credentials_get_identical_401s() {
    let live = live();
    let api = api(ResourceServer::builder(live.base.clone(), ORDERS)
        .jwt_keys(live.service.keys().clone())
        .build()
        .unwrap());
    let login = |body: Value| {
        let request = live.post("/auth/token").json(&body);
        async move { request.send().await.unwrap() }
    };
    // The article: axios.post('https://auth.example.com/token', {username, password}), then
    // authResponse.data.accessToken.
    let ok = login(json!({"username": "myUser", "password": "myPassword"})).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()[CACHE_CONTROL], "no-store");
    let tokens = json(ok).await;
    assert_eq!(tokens["tokenType"], "Bearer");
    assert!(tokens["expiresIn"].as_u64().is_some());
    let access = tokens["accessToken"].as_str().unwrap();
    // The user's token has profile:read, not orders:read: valid, not enough for /orders.
    let response = api.get("/orders").bearer_auth(access).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    let mut answers = Vec::new();
    for body in [
        json!({"username": "myUser", "password": "wrong"}),
        json!({"username": "nobody", "password": "myPassword"}),
    ] {
        let response = login(body).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
        let mut headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter(|(name, _)| name.as_str() != "date")
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
            .collect();
        headers.sort();
        answers.push((headers, response.text().await.unwrap()));
    }
    assert_eq!(answers[0], answers[1]);

    // The refresh token rotates through the same endpoint; the OAuth endpoint refuses it.
    let refresh_token = tokens["refreshToken"].as_str().unwrap();
    let at_oauth = live
        .post("/token")
        .basic_auth("rotating", live.rotating.expose_str())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(json(at_oauth).await["error"], "invalid_grant");
    let refreshed = login(json!({"refreshToken": refresh_token})).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    assert_ne!(
        json(refreshed).await["refreshToken"],
        tokens["refreshToken"]
    );
    let reused = login(json!({"refreshToken": refresh_token})).await;
    assert_eq!(reused.status(), StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn attack_secrets_and_tokens_never_reach_the_log() {
    let logs = LogCapture::install();
    let live = live_with(EndpointPaths {
        token: "/logcheck/token".into(),
        introspection: "/logcheck/introspect".into(),
        revocation: "/logcheck/revoke".into(),
        jwks: "/logcheck/jwks.json".into(),
    });
    let issued = json(
        live.post("/logcheck/token")
            .basic_auth("rotating", live.rotating.expose_str())
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let access = issued["access_token"].as_str().unwrap().to_owned();
    let refresh = issued["refresh_token"].as_str().unwrap().to_owned();
    let _ = live
        .post("/logcheck/token")
        .basic_auth("rotating", Some("Wr0ng-S3cret-Guess"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let _ = live
        .post("/logcheck/token")
        .query(&[
            ("client_id", "svc"),
            ("client_secret", live.svc.expose_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    let _ = live
        .post("/logcheck/introspect")
        .basic_auth("orders-api", live.orders_api.expose_str())
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap();
    let _ = live
        .post("/logcheck/revoke")
        .basic_auth("rotating", live.rotating.expose_str())
        .form(&[("token", refresh.as_str())])
        .send()
        .await
        .unwrap();

    let events = logs.audit_events("/logcheck/token");
    assert_eq!(events.len(), 3, "one event per request: {events:?}");
    assert_eq!(
        (
            &events[0]["subject"],
            &events[0]["outcome"],
            &events[0]["grant_type"]
        ),
        (
            &json!("rotating"),
            &json!("success"),
            &json!("client_credentials")
        )
    );
    assert!(events[0]["key_id"].as_str().is_some(), "the token's id");
    assert_eq!(events[1]["reason"], "wrong_client_secret");
    assert_eq!(events[2]["reason"], "client_credentials_in_query");
    assert_eq!(
        logs.audit_events("/logcheck/introspect")[0]["reason"],
        "token_active"
    );
    assert_eq!(
        logs.audit_events("/logcheck/revoke")[0]["reason"],
        "refresh_token_family_revoked"
    );
    let secrets = [
        live.svc.expose_str().unwrap(),
        live.rotating.expose_str().unwrap(),
        live.orders_api.expose_str().unwrap(),
        "Wr0ng-S3cret-Guess",
        access.as_str(),
        refresh.as_str(),
    ];
    for line in logs.lines() {
        for secret in secrets {
            assert!(!line.contains(secret), "a secret reached the log: {line}");
        }
    }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("auth-rs-test-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[actix_web::test]
async fn the_demo_teaches_the_articles_oauth_snippet_and_serves_its_bearer_login() {
    let dir = temp_dir("oauth2-server-demo");
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
    let url = |path: &Value| format!("{}{}", demo.base_url, path.as_str().unwrap());
    let (id, secret) = (
        oauth2["client_id"].as_str().unwrap(),
        oauth2["client_secret"].as_str().unwrap(),
    );
    let params = [
        ("grant_type", "client_credentials"),
        ("client_id", id),
        ("client_secret", secret),
    ];

    // The article's OAuth snippet, as it stands: parameters in the query string.
    let taught = client
        .post(url(&oauth2["token_endpoint"]))
        .query(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(taught.status(), StatusCode::BAD_REQUEST);
    let body = json(taught).await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("never in the URL")
    );
    // The same parameters in the body: a token that opens /oauth2/protected.
    let issued = client
        .post(url(&oauth2["token_endpoint"]))
        .form(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(issued.status(), StatusCode::OK);
    let token = json(issued).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let protected = client
        .get(format!("{}/oauth2/protected", demo.base_url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(protected.status(), StatusCode::OK);
    assert_eq!(json(protected).await["client_id"], id);

    // The article's Bearer snippet: the Basic user logs in, its token opens the Bearer route.
    let basic = &file["credentials"]["basic"];
    let login = client
        .post(url(&oauth2["bearer_login"]))
        .json(&json!({"username": basic["username"], "password": basic["password"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let access = json(login).await["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let hello = client
        .get(url(&oauth2["bearer_protected"]))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(hello.status(), StatusCode::OK);
    assert_eq!(json(hello).await["message"], "Hello myUser");
    let wrong = client
        .post(url(&oauth2["bearer_login"]))
        .json(&json!({"username": basic["username"], "password": "not-it"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    // The metadata and the API's introspection client work too.
    let metadata = json(client.get(url(&oauth2["metadata"])).send().await.unwrap()).await;
    assert_eq!(metadata["issuer"], oauth2["issuer"]);
    let introspection = &oauth2["introspection_client"];
    let active = client
        .post(url(&oauth2["introspection_endpoint"]))
        .basic_auth(
            introspection["client_id"].as_str().unwrap(),
            introspection["client_secret"].as_str(),
        )
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(json(active).await["active"], true);
    demo.handle().stop(false).await;
}

// ---------------------------------------------------------------------------------------
// Part 3: the authorization endpoint (authorization code + PKCE + consent) through actix.
// ---------------------------------------------------------------------------------------

mod authorization_endpoint {
    use std::sync::Arc;

    use auth_actix::oauth2_server::{ClientConfig, GrantType, MemoryClientRegistry};
    use auth_oauth2::oauth2::url;
    use auth_oauth2::{AuthorizationCodeClient, CallbackParams};
    use auth_tests::oauth_harness::{AuthServer, ORDERS, cookie, hidden, location, no_redirects};
    use reqwest::StatusCode;

    const NATIVE_CB: &str = "http://127.0.0.1:8080/callback";

    fn live() -> AuthServer {
        let clients = Arc::new(MemoryClientRegistry::new());
        clients
            .register_public(
                ClientConfig::new("native")
                    .public()
                    .grant(GrantType::AuthorizationCode)
                    .grant(GrantType::RefreshToken)
                    .scopes("orders:read".parse().unwrap())
                    .audience(ORDERS)
                    .redirect_uri(NATIVE_CB),
            )
            .unwrap();
        AuthServer::start(clients, |builder| builder)
    }

    #[actix_web::test]
    async fn part_1s_client_logs_in_through_login_and_consent_pages() {
        let live = live();
        let client = AuthorizationCodeClient::builder(
            "native",
            live.service.authorization_endpoint(),
            live.service.token_endpoint(),
            "http://127.0.0.1:45678/callback",
        )
        .issuer(live.base.clone())
        .require_issuer_in_response(true)
        .scopes("orders:read".parse().unwrap())
        .build()
        .unwrap();
        let (url, pending) = client.authorization_url().build().unwrap();
        let (cookie, page) = live.to_consent(url.as_str()).await;
        assert!(
            page.contains("native") && page.contains("orders:read"),
            "{page}"
        );
        let callback = live.approve_page(&cookie, &page).await;
        assert!(
            callback.starts_with("http://127.0.0.1:45678/callback?code="),
            "{callback}"
        );
        let params =
            CallbackParams::parse(url::Url::parse(&callback).unwrap().query().unwrap()).unwrap();
        let tokens = client.callback(pending, &params).await.unwrap();
        assert!(tokens.refresh_token().is_some());
    }

    #[actix_web::test]
    async fn attack_the_consent_form_without_the_csrf_token_gets_403() {
        let live = live();
        let challenge = auth_oauth2::pkce_s256_challenge(&"v".repeat(43)).unwrap();
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", "native")
            .append_pair("redirect_uri", NATIVE_CB)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", "s")
            .finish();
        let authorize_url = format!("{}?{query}", live.service.authorization_endpoint());
        let (cookie, page) = live.to_consent(&authorize_url).await;
        for token in [None, Some("wrong-token")] {
            let mut form = vec![
                ("request", hidden(&page, "request")),
                ("decision", "approve".to_owned()),
            ];
            if let Some(token) = token {
                form.push(("csrf_token", token.to_owned()));
            }
            let response = live
                .http
                .post(live.service.authorization_endpoint())
                .header("cookie", &cookie)
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{token:?}");
            assert!(response.headers().get("location").is_none());
        }
    }

    #[actix_web::test]
    async fn attack_an_unregistered_redirect_uri_is_shown_never_followed() {
        let live = live();
        let challenge = auth_oauth2::pkce_s256_challenge(&"v".repeat(43)).unwrap();
        for redirect in [
            "http://127.0.0.1:8080/callback/",
            "https://evil.example/callback",
            "http://127.0.0.1:8080/callback?x=1",
        ] {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("response_type", "code")
                .append_pair("client_id", "native")
                .append_pair("redirect_uri", redirect)
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256")
                .finish();
            let response = live
                .http
                .get(format!("{}?{query}", live.service.authorization_endpoint()))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{redirect}");
            assert!(response.headers().get("location").is_none());
            let body = response.text().await.unwrap();
            assert!(!body.contains("evil.example"), "{body}");
        }
    }

    #[actix_web::test]
    async fn the_demos_app_client_logs_in_on_its_login_and_consent_pages() {
        use super::{DemoConfig, Value, demo, temp_dir};
        let dir = temp_dir("oauth2-authorize-demo");
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
        let user = &file["credentials"]["session"];
        let base = demo.base_url.clone();
        let http = no_redirects();
        let client = AuthorizationCodeClient::builder(
            oauth2["app_client_id"].as_str().unwrap(),
            format!(
                "{base}{}",
                oauth2["authorization_endpoint"].as_str().unwrap()
            ),
            format!("{base}{}", oauth2["token_endpoint"].as_str().unwrap()),
            "http://127.0.0.1:38000/callback",
        )
        .issuer(oauth2["issuer"].as_str().unwrap())
        .require_issuer_in_response(true)
        .scopes("orders:read".parse().unwrap())
        .build()
        .unwrap();
        let (url, pending) = client.authorization_url().build().unwrap();
        // Not logged in: to the login page and back.
        let first = http.get(url.as_str()).send().await.unwrap();
        let login_at = location(&first);
        assert!(login_at.starts_with("/oauth2/login?return_to=%2Foauth2%2Fauthorize%3F"));
        let page = http.get(format!("{base}{login_at}")).send().await.unwrap();
        let cookie = cookie(&page);
        let html = page.text().await.unwrap();
        let return_to = hidden(&html, "return_to");
        let wrong = http
            .post(format!("{base}/oauth2/login"))
            .header("cookie", &cookie)
            .form(&[
                ("csrf_token", hidden(&html, "csrf_token").as_str()),
                ("return_to", return_to.as_str()),
                ("username", user["username"].as_str().unwrap()),
                ("password", "wrong"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        let logged_in = http
            .post(format!("{base}/oauth2/login"))
            .header("cookie", &cookie)
            .form(&[
                ("csrf_token", hidden(&html, "csrf_token").as_str()),
                ("return_to", return_to.as_str()),
                ("username", user["username"].as_str().unwrap()),
                ("password", user["password"].as_str().unwrap()),
            ])
            .send()
            .await
            .unwrap();
        let back = location(&logged_in);
        assert_eq!(back, return_to);
        let cookie = self::cookie(&logged_in);
        let consent = http
            .get(format!("{base}{back}"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(consent.status(), StatusCode::OK);
        let html = consent.text().await.unwrap();
        assert!(
            html.contains("demo-app") && html.contains("orders:read"),
            "{html}"
        );
        let approved = http
            .post(format!(
                "{base}{}",
                oauth2["authorization_endpoint"].as_str().unwrap()
            ))
            .header("cookie", &cookie)
            .form(&[
                ("csrf_token", hidden(&html, "csrf_token").as_str()),
                ("request", hidden(&html, "request").as_str()),
                ("decision", "approve"),
            ])
            .send()
            .await
            .unwrap();
        let callback = location(&approved);
        assert!(
            callback.starts_with("http://127.0.0.1:38000/callback?code="),
            "{callback}"
        );
        let params =
            CallbackParams::parse(url::Url::parse(&callback).unwrap().query().unwrap()).unwrap();
        let tokens = client.callback(pending, &params).await.unwrap();
        let protected = http
            .get(format!("{base}/oauth2/protected"))
            .bearer_auth(tokens.access_token().secret().expose_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(protected.status(), StatusCode::OK);
        demo.handle().stop(false).await;
    }
}
