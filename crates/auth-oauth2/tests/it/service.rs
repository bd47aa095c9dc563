//! The token service called directly (no HTTP): the token endpoint's grants and client
//! authentication, refresh rotation and reuse, introspection, revocation, metadata, the
//! first-party login, and the configurations `build()` refuses.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use auth_core::{AuthRequest, HeaderList, ManualClock, Scopes, Secret};
use auth_jwt::{Algorithm, Key, KeySet, Verifier};
use auth_oauth2::{
    ClientConfig, EndpointResponse, GrantType, MemoryClientRegistry, TokenFormat, TokenService,
    TokenServiceBuilder,
};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::support;

const ISSUER: &str = "https://id.example";
const ORDERS: &str = "https://api.example/orders";
const LEDGER: &str = "https://api.example/ledger";
const PEER: &str = "203.0.113.7:50000";

struct Fixture {
    service: TokenService,
    clients: Arc<MemoryClientRegistry>,
    clock: ManualClock,
    keys: KeySet,
    /// `svc`: client credentials, `orders:read orders:write` (default `orders:read`), both
    /// audiences.
    svc: Secret,
    /// `rotating`: client credentials with refresh tokens.
    rotating: Secret,
    /// `orders-api`: a resource server that may introspect ORDERS and LEDGER tokens.
    orders_api: Secret,
}

fn builder(
    clients: Arc<MemoryClientRegistry>,
    keys: &KeySet,
    clock: &ManualClock,
) -> TokenServiceBuilder {
    TokenService::builder(ISSUER, keys.clone(), clients)
        .audience(ORDERS, TokenFormat::Jwt)
        .audience(LEDGER, TokenFormat::Opaque)
        .first_party_login("web-app", ORDERS)
        .realm("id.example")
        .clock(clock.shared())
}

fn fixture() -> Fixture {
    let clock = support::clock();
    let keys = KeySet::single(Key::generate("as-1", Algorithm::ES256).unwrap());
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
                .scopes("orders:read orders:write".parse().unwrap())
                .default_scopes("orders:read orders:write".parse().unwrap())
                .audience(ORDERS)
                .audience(LEDGER),
        )
        .unwrap();
    let orders_api = clients
        .register(
            ClientConfig::new("orders-api")
                .introspection_for(ORDERS)
                .introspection_for(LEDGER),
        )
        .unwrap();
    let service = builder(clients.clone(), &keys, &clock).build().unwrap();
    Fixture {
        service,
        clients,
        clock,
        keys,
        svc,
        rotating,
        orders_api,
    }
}

fn basic(id: &str, secret: &Secret) -> String {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", encode(id), encode(secret.expose_str().unwrap()));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// A request to one of the service's endpoints.
#[derive(Clone)]
struct Call {
    method: &'static str,
    target: String,
    headers: HeaderList,
    body: String,
    peer: Option<SocketAddr>,
    secure: bool,
}

impl Call {
    /// A form POST over TLS from [`PEER`].
    fn post(target: &str, body: &str) -> Call {
        Call {
            method: "POST",
            target: target.to_owned(),
            headers: HeaderList::new().with("Content-Type", "application/x-www-form-urlencoded"),
            body: body.to_owned(),
            peer: Some(PEER.parse().unwrap()),
            secure: true,
        }
    }

    fn basic(mut self, id: &str, secret: &Secret) -> Call {
        self.headers.push("Authorization", basic(id, secret));
        self
    }

    /// `client_secret_post`: the credentials appended to the body.
    fn post_auth(mut self, id: &str, secret: &Secret) -> Call {
        let mut form = url::form_urlencoded::Serializer::new(self.body.clone());
        form.append_pair("client_id", id);
        form.append_pair("client_secret", secret.expose_str().unwrap());
        self.body = form.finish();
        self
    }

    fn request(&self) -> AuthRequest<'_> {
        AuthRequest::new(self.method, &self.target, &self.headers)
            .with_body(Some(self.body.as_bytes()))
            .with_peer(self.peer)
            .with_secure(self.secure)
    }
}

impl Fixture {
    async fn token(&self, call: Call) -> EndpointResponse {
        self.service.token(&call.request()).await
    }

    async fn introspect(&self, call: Call) -> EndpointResponse {
        self.service.introspect(&call.request()).await
    }

    async fn revoke(&self, call: Call) -> EndpointResponse {
        self.service.revoke(&call.request()).await
    }

    /// `svc`'s client-credentials response for `extra` parameters.
    async fn svc_token(&self, extra: &str) -> EndpointResponse {
        let body = format!("grant_type=client_credentials{extra}");
        self.token(Call::post("/token", &body).basic("svc", &self.svc))
            .await
    }

    /// What `orders-api` learns about `token`.
    async fn introspect_as_rs(&self, token: &str) -> EndpointResponse {
        let body = form(&[("token", token)]);
        self.introspect(Call::post("/introspect", &body).basic("orders-api", &self.orders_api))
            .await
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        form.append_pair(name, value);
    }
    form.finish()
}

fn error(response: &EndpointResponse) -> (u16, String) {
    (
        response.status(),
        response.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

fn access_token(response: &EndpointResponse) -> String {
    assert_eq!(response.status(), 200, "{}", response.body());
    response.json()["access_token"].as_str().unwrap().to_owned()
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn client_credentials_with_basic_and_with_post_give_rfc_9068_tokens() {
    let f = fixture();
    let by_basic = f.svc_token("").await;
    let by_post = f
        .token(Call::post("/token", "grant_type=client_credentials").post_auth("svc", &f.svc))
        .await;
    for response in [&by_basic, &by_post] {
        assert_eq!(response.status(), 200, "{}", response.body());
        assert_eq!(response.header("cache-control"), Some("no-store"));
        assert_eq!(response.header("pragma"), Some("no-cache"));
        let body = response.json();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 600);
        assert_eq!(
            body["scope"], "orders:read",
            "the default, least-privilege set"
        );
        assert!(body.get("refresh_token").is_none(), "RFC 6749 §4.4.3");
    }
    let token = access_token(&by_basic);
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["typ"], "at+jwt");
    let c = claims(&token);
    assert_eq!(
        (&c["iss"], &c["aud"], &c["sub"], &c["client_id"]),
        (&json!(ISSUER), &json!(ORDERS), &json!("svc"), &json!("svc"))
    );
    assert!(c["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 600);
    // The tokens verify with the service's keys, as a resource server would.
    let verifier = Verifier::builder(f.keys.clone())
        .issuer(ISSUER)
        .audience(ORDERS)
        .required_typ("at+jwt")
        .clock(f.clock.shared())
        .build()
        .unwrap();
    assert!(verifier.verify_raw(&token).await.is_ok());
}

#[tokio::test]
async fn a_bad_secret_gets_401_invalid_client_with_a_basic_challenge_when_basic_was_used() {
    let f = fixture();
    let wrong = Secret::from("not-the-secret");
    let basic = f
        .token(Call::post("/token", "grant_type=client_credentials").basic("svc", &wrong))
        .await;
    assert_eq!(error(&basic), (401, "invalid_client".into()));
    assert_eq!(
        basic.header("www-authenticate"),
        Some(r#"Basic realm="id.example", charset="UTF-8""#)
    );
    let post = f
        .token(Call::post("/token", "grant_type=client_credentials").post_auth("svc", &wrong))
        .await;
    assert_eq!(error(&post), (401, "invalid_client".into()));
    assert_eq!(post.header("www-authenticate"), None);
    // An unknown client gets the very same answer.
    let unknown = f
        .token(Call::post("/token", "grant_type=client_credentials").basic("nobody", &wrong))
        .await;
    assert_eq!(unknown, basic);
    // No credentials at all: 401 with the challenge, so the client knows what to send.
    let none = f
        .token(Call::post("/token", "grant_type=client_credentials"))
        .await;
    assert_eq!(error(&none), (401, "invalid_client".into()));
    assert!(none.header("www-authenticate").is_some());
    // A disabled client too.
    f.clients.disable("svc");
    assert_eq!(
        error(&f.svc_token("").await),
        (401, "invalid_client".into())
    );
}

#[tokio::test]
async fn the_articles_query_string_request_gets_400_saying_where_credentials_go() {
    let f = fixture();
    // axios.post('https://oauth.example.com/token', null, { params: { grant_type,
    // client_id, client_secret } }): no body, everything in the URL.
    let target = format!(
        "/token?grant_type=client_credentials&client_id=svc&client_secret={}",
        f.svc.expose_str().unwrap()
    );
    let call = Call {
        headers: HeaderList::new(),
        body: String::new(),
        target,
        ..Call::post("/token", "")
    };
    let response = f.token(call).await;
    assert_eq!(error(&response), (400, "invalid_request".into()));
    let description = response.json()["error_description"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        description.contains("Authorization header"),
        "{description}"
    );
    assert!(description.contains("request body"), "{description}");
    assert!(description.contains("never in the URL"), "{description}");
    assert!(description.contains("RFC 6749 §2.3.1"), "{description}");
    // Even with valid credentials in the header as well: the URL is refused first.
    let mixed = Call {
        target: "/token?client_secret=x".into(),
        ..Call::post("/token", "grant_type=client_credentials").basic("svc", &f.svc)
    };
    assert_eq!(
        error(&f.token(mixed).await),
        (400, "invalid_request".into())
    );
    // The same parameters in the body get a token.
    let body = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", "svc"),
        ("client_secret", f.svc.expose_str().unwrap()),
    ]);
    assert_eq!(f.token(Call::post("/token", &body)).await.status(), 200);
}

#[tokio::test]
async fn requested_scopes_must_be_a_subset_of_the_clients() {
    let f = fixture();
    let wider = f.svc_token("&scope=orders:read%20orders:delete").await;
    assert_eq!(error(&wider), (400, "invalid_scope".into()));
    assert!(wider.body().contains("orders:delete"));
    let narrower = f.svc_token("&scope=orders:write").await;
    assert_eq!(narrower.json()["scope"], "orders:write");
    assert_eq!(claims(&access_token(&narrower))["scope"], "orders:write");
    let both = f.svc_token("&scope=orders:write%20orders:read").await;
    assert_eq!(both.json()["scope"], "orders:read orders:write");
    let malformed = f.svc_token("&scope=orders%22read").await;
    assert_eq!(error(&malformed), (400, "invalid_scope".into()));
}

#[tokio::test]
async fn the_password_grant_and_other_grants_are_unsupported() {
    let f = fixture();
    let password = f
        .token(
            Call::post("/token", "grant_type=password&username=alice&password=pw")
                .basic("svc", &f.svc),
        )
        .await;
    assert_eq!(error(&password), (400, "unsupported_grant_type".into()));
    assert!(password.body().contains("RFC 9700"));
    for grant in ["urn:ietf:params:oauth:grant-type:jwt-bearer", "implicit"] {
        let response = f
            .token(Call::post("/token", &form(&[("grant_type", grant)])).basic("svc", &f.svc))
            .await;
        assert_eq!(
            error(&response),
            (400, "unsupported_grant_type".into()),
            "{grant}"
        );
    }
    let missing = f.token(Call::post("/token", "").basic("svc", &f.svc)).await;
    assert_eq!(error(&missing), (400, "invalid_request".into()));
    // Grants the client was not given.
    let code = f
        .token(Call::post("/token", "grant_type=authorization_code&code=x").basic("svc", &f.svc))
        .await;
    assert_eq!(error(&code), (400, "unauthorized_client".into()));
    let not_allowed = f
        .token(
            Call::post("/token", "grant_type=refresh_token&refresh_token=x").basic("svc", &f.svc),
        )
        .await;
    assert_eq!(error(&not_allowed), (400, "unauthorized_client".into()));
}

#[tokio::test]
async fn malformed_requests_are_refused_before_client_authentication() {
    let f = fixture();
    let repeated = f.svc_token("&grant_type=client_credentials").await;
    assert_eq!(error(&repeated), (400, "invalid_request".into()));
    let two_methods = f
        .token(
            Call::post("/token", "grant_type=client_credentials")
                .basic("svc", &f.svc)
                .post_auth("svc", &f.svc),
        )
        .await;
    assert_eq!(error(&two_methods), (400, "invalid_request".into()));
    let mut json =
        Call::post("/token", r#"{"grant_type":"client_credentials"}"#).basic("svc", &f.svc);
    json.headers = HeaderList::new()
        .with("Content-Type", "application/json")
        .with("Authorization", basic("svc", &f.svc));
    assert_eq!(error(&f.token(json).await), (400, "invalid_request".into()));
    let get = Call {
        method: "GET",
        ..Call::post("/token", "grant_type=client_credentials").basic("svc", &f.svc)
    };
    let get = f.token(get).await;
    assert_eq!((get.status(), get.header("allow")), (405, Some("POST")));
    // Plain HTTP: refused; from loopback only with the development opt-in.
    let plain = Call {
        secure: false,
        ..Call::post("/token", "grant_type=client_credentials").basic("svc", &f.svc)
    };
    assert_eq!(
        error(&f.token(plain.clone()).await),
        (400, "invalid_request".into())
    );
    let local = Call {
        peer: Some("127.0.0.1:5000".parse().unwrap()),
        ..plain
    };
    assert_eq!(f.token(local.clone()).await.status(), 400);
    let dev = builder(f.clients.clone(), &f.keys, &f.clock)
        .insecure_allow_loopback_http()
        .build()
        .unwrap();
    assert_eq!(dev.token(&local.request()).await.status(), 200);
}

#[tokio::test]
async fn failed_client_authentication_is_throttled_per_client() {
    let f = fixture();
    let wrong = Secret::from("wrong");
    for _ in 0..5 {
        let response = f
            .token(Call::post("/token", "grant_type=client_credentials").basic("svc", &wrong))
            .await;
        assert_eq!(response.status(), 401);
    }
    // From another address, and with the right secret: the client is paused.
    let mut elsewhere = Call::post("/token", "grant_type=client_credentials").basic("svc", &f.svc);
    elsewhere.peer = Some("198.51.100.1:1".parse().unwrap());
    let throttled = f.token(elsewhere.clone()).await;
    assert_eq!(error(&throttled), (429, "too_many_requests".into()));
    assert_eq!(throttled.header("retry-after"), Some("1"));
    f.clock.advance(Duration::from_secs(1));
    assert_eq!(f.token(elsewhere).await.status(), 200);
}

#[tokio::test]
async fn resources_choose_the_audience_and_its_token_format() {
    let f = fixture();
    let ledger = f.svc_token(&format!("&resource={LEDGER}")).await;
    let opaque = access_token(&ledger);
    assert_eq!(opaque.len(), 43, "256 bits, base64url");
    assert!(!opaque.contains('.'));
    let foreign = f.svc_token("&resource=https://api.example/other").await;
    assert_eq!(error(&foreign), (400, "invalid_target".into()));
    let two = f
        .svc_token(&format!("&resource={LEDGER}&resource={ORDERS}"))
        .await;
    assert_eq!(error(&two), (400, "invalid_target".into()));

    let active = f.introspect_as_rs(&opaque).await.json();
    assert_eq!(active["active"], true);
    assert_eq!(
        (
            &active["aud"],
            &active["client_id"],
            &active["sub"],
            &active["iss"]
        ),
        (&json!(LEDGER), &json!("svc"), &json!("svc"), &json!(ISSUER))
    );
    assert_eq!(active["scope"], "orders:read");
    assert_eq!(active["token_type"], "Bearer");
    // Expiry by the clock.
    f.clock.advance(Duration::from_secs(600));
    assert_eq!(
        f.introspect_as_rs(&opaque).await.body(),
        r#"{"active":false}"#
    );
}

#[tokio::test]
async fn introspection_needs_client_authentication_and_answers_only_those_concerned() {
    let f = fixture();
    let token = access_token(&f.svc_token("").await);
    let anonymous = f
        .introspect(Call::post("/introspect", &form(&[("token", &token)])))
        .await;
    assert_eq!(error(&anonymous), (401, "invalid_client".into()));
    assert!(anonymous.header("www-authenticate").is_some());
    let wrong = f
        .introspect(
            Call::post("/introspect", &form(&[("token", &token)]))
                .basic("orders-api", &Secret::from("wrong")),
        )
        .await;
    assert_eq!(error(&wrong), (401, "invalid_client".into()));

    let by_rs = f.introspect_as_rs(&token).await;
    assert_eq!(by_rs.header("cache-control"), Some("no-store"));
    let body = by_rs.json();
    assert_eq!(body["active"], true);
    assert_eq!(
        (
            &body["client_id"],
            &body["aud"],
            &body["scope"],
            &body["token_type"]
        ),
        (
            &json!("svc"),
            &json!(ORDERS),
            &json!("orders:read"),
            &json!("Bearer")
        )
    );
    assert_eq!(body["jti"], claims(&token)["jti"]);
    // The owner may ask; a client that is neither owner nor resource server learns nothing.
    let by_owner = f
        .introspect(Call::post("/introspect", &form(&[("token", &token)])).basic("svc", &f.svc))
        .await;
    assert_eq!(by_owner.json()["active"], true);
    let by_other = f
        .introspect(
            Call::post("/introspect", &form(&[("token", &token)])).basic("rotating", &f.rotating),
        )
        .await;
    assert_eq!(by_other.body(), r#"{"active":false}"#);
    // Garbage, another issuer's JWT, a missing token.
    assert_eq!(
        f.introspect_as_rs("garbage").await.body(),
        r#"{"active":false}"#
    );
    let foreign_keys = KeySet::single(Key::generate("as-1", Algorithm::ES256).unwrap());
    let forged = auth_jwt::Issuer::builder(foreign_keys)
        .issuer(ISSUER)
        .audience(ORDERS)
        .typ("at+jwt")
        .clock(f.clock.shared())
        .build()
        .unwrap()
        .issue("svc", &json!({"client_id": "svc"}))
        .unwrap();
    assert_eq!(
        f.introspect_as_rs(&forged).await.body(),
        r#"{"active":false}"#
    );
    let missing = f
        .introspect(Call::post("/introspect", "").basic("orders-api", &f.orders_api))
        .await;
    assert_eq!(error(&missing), (400, "invalid_request".into()));
}

#[tokio::test]
async fn a_revoked_token_introspects_exactly_active_false() {
    let f = fixture();
    for resource in [ORDERS, LEDGER] {
        let token = access_token(&f.svc_token(&format!("&resource={resource}")).await);
        assert_eq!(f.introspect_as_rs(&token).await.json()["active"], true);
        // Another client cannot revoke it (and cannot tell).
        let by_other = f
            .revoke(
                Call::post("/revoke", &form(&[("token", &token)])).basic("rotating", &f.rotating),
            )
            .await;
        assert_eq!(by_other.status(), 200);
        assert_eq!(f.introspect_as_rs(&token).await.json()["active"], true);
        let revoked = f
            .revoke(Call::post("/revoke", &form(&[("token", &token)])).basic("svc", &f.svc))
            .await;
        assert_eq!(revoked.status(), 200);
        assert_eq!(revoked.header("cache-control"), Some("no-store"));
        assert_eq!(
            f.introspect_as_rs(&token).await.body(),
            r#"{"active":false}"#,
            "{resource}"
        );
    }
    // Unknown tokens revoke fine (RFC 7009 §2.2); no client authentication is a 401.
    let unknown = f
        .revoke(Call::post("/revoke", "token=unknown").basic("svc", &f.svc))
        .await;
    assert_eq!(unknown.status(), 200);
    let anonymous = f.revoke(Call::post("/revoke", "token=unknown")).await;
    assert_eq!(error(&anonymous), (401, "invalid_client".into()));
}

/// `rotating`'s client-credentials response: an access token and a refresh token.
async fn rotating_tokens(f: &Fixture, resource: &str) -> (String, String) {
    let response = f
        .token(
            Call::post(
                "/token",
                &form(&[("grant_type", "client_credentials"), ("resource", resource)]),
            )
            .basic("rotating", &f.rotating),
        )
        .await;
    let refresh = response.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    (access_token(&response), refresh)
}

async fn refresh(f: &Fixture, refresh_token: &str, extra: &[(&str, &str)]) -> EndpointResponse {
    let mut pairs = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    pairs.extend_from_slice(extra);
    f.token(Call::post("/token", &form(&pairs)).basic("rotating", &f.rotating))
        .await
}

#[tokio::test]
async fn refresh_tokens_rotate_on_every_use() {
    let f = fixture();
    let (_, rt1) = rotating_tokens(&f, ORDERS).await;
    let second = refresh(&f, &rt1, &[]).await;
    assert_eq!(second.status(), 200, "{}", second.body());
    let rt2 = second.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt1, rt2);
    assert_eq!(second.json()["scope"], "orders:read orders:write");
    // Narrowing is allowed, widening is not.
    let narrow = refresh(&f, &rt2, &[("scope", "orders:read")]).await;
    assert_eq!(narrow.json()["scope"], "orders:read");
    let rt3 = narrow.json()["refresh_token"].as_str().unwrap().to_owned();
    let wide = refresh(&f, &rt3, &[("scope", "orders:read admin")]).await;
    assert_eq!(error(&wide), (400, "invalid_scope".into()));
    // A refused refresh does not consume the token; the narrowed one keeps the family's
    // scopes.
    let again = refresh(&f, &rt3, &[]).await;
    assert_eq!(again.json()["scope"], "orders:read orders:write");
    // Another client, even one with the refresh_token grant, cannot use it.
    let rt4 = again.json()["refresh_token"].as_str().unwrap().to_owned();
    let thief = f
        .clients
        .register(
            ClientConfig::new("thief")
                .grant(GrantType::RefreshToken)
                .audience(ORDERS),
        )
        .unwrap();
    let stolen = f
        .token(
            Call::post(
                "/token",
                &form(&[("grant_type", "refresh_token"), ("refresh_token", &rt4)]),
            )
            .basic("thief", &thief),
        )
        .await;
    assert_eq!(error(&stolen), (400, "invalid_grant".into()));
    let without_grant = f
        .token(
            Call::post(
                "/token",
                &form(&[("grant_type", "refresh_token"), ("refresh_token", &rt4)]),
            )
            .basic("svc", &f.svc),
        )
        .await;
    assert_eq!(error(&without_grant), (400, "unauthorized_client".into()));
    // Expiry: 24 hours, renewed by rotation, capped by the family's 7 days.
    f.clock.advance(Duration::from_secs(24 * 3600));
    assert_eq!(
        error(&refresh(&f, &rt4, &[]).await),
        (400, "invalid_grant".into())
    );
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_whole_family() {
    let f = fixture();
    for resource in [ORDERS, LEDGER] {
        let (at1, rt1) = rotating_tokens(&f, resource).await;
        let second = refresh(&f, &rt1, &[]).await;
        let at2 = access_token(&second);
        let rt2 = second.json()["refresh_token"].as_str().unwrap().to_owned();
        assert_eq!(f.introspect_as_rs(&at2).await.json()["active"], true);

        // An attacker replays the stolen, already rotated rt1.
        let replay = refresh(&f, &rt1, &[]).await;
        assert_eq!(error(&replay), (400, "invalid_grant".into()));
        // The legitimate holder's current token is revoked with its family ...
        assert_eq!(
            error(&refresh(&f, &rt2, &[]).await),
            (400, "invalid_grant".into())
        );
        // ... and so are the family's access tokens, JWT or opaque.
        for token in [&at1, &at2] {
            assert_eq!(
                f.introspect_as_rs(token).await.body(),
                r#"{"active":false}"#,
                "{resource}"
            );
        }
    }
    // Another family is untouched.
    let (at, rt) = rotating_tokens(&f, ORDERS).await;
    assert_eq!(f.introspect_as_rs(&at).await.json()["active"], true);
    assert_eq!(refresh(&f, &rt, &[]).await.status(), 200);
}

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_family() {
    let f = fixture();
    let (at, rt) = rotating_tokens(&f, LEDGER).await;
    let by_owner_introspection = f
        .introspect(
            Call::post(
                "/introspect",
                &form(&[("token", &rt), ("token_type_hint", "refresh_token")]),
            )
            .basic("rotating", &f.rotating),
        )
        .await
        .json();
    assert_eq!(by_owner_introspection["active"], true);
    assert_eq!(by_owner_introspection["token_type"], "refresh_token");
    // A resource server never sees a refresh token as active.
    assert_eq!(f.introspect_as_rs(&rt).await.body(), r#"{"active":false}"#);
    let revoked = f
        .revoke(Call::post("/revoke", &form(&[("token", &rt)])).basic("rotating", &f.rotating))
        .await;
    assert_eq!(revoked.status(), 200);
    assert_eq!(
        error(&refresh(&f, &rt, &[]).await),
        (400, "invalid_grant".into())
    );
    assert_eq!(f.introspect_as_rs(&at).await.body(), r#"{"active":false}"#);
}

#[tokio::test]
async fn the_first_party_login_issues_user_tokens_that_refresh_only_there() {
    let f = fixture();
    let headers = HeaderList::new();
    let login = AuthRequest::new("POST", "/auth/token", &headers);
    let scopes: Scopes = "profile:read".parse().unwrap();
    let tokens = f
        .service
        .issue_to_user("user-42", &scopes, &login)
        .await
        .unwrap();
    assert!(!format!("{tokens:?}").contains(tokens.access_token().expose_str().unwrap()));
    let json = tokens.to_json();
    assert_eq!(json["tokenType"], "Bearer");
    assert_eq!(json["expiresIn"], 600);
    let access = json["accessToken"].as_str().unwrap();
    let c = claims(access);
    assert_eq!(
        (&c["sub"], &c["client_id"], &c["aud"], &c["scope"]),
        (
            &json!("user-42"),
            &json!("web-app"),
            &json!(ORDERS),
            &json!("profile:read")
        )
    );
    let refresh_token = json["refreshToken"].as_str().unwrap().to_owned();

    // A registered client that shares the first-party client id owns none of its tokens.
    let impostor = f
        .clients
        .register(
            ClientConfig::new("web-app")
                .grant(GrantType::ClientCredentials)
                .audience(ORDERS),
        )
        .unwrap();
    let body = form(&[("token", access)]);
    let peek = f
        .introspect(Call::post("/introspect", &body).basic("web-app", &impostor))
        .await;
    assert_eq!(peek.body(), r#"{"active":false}"#);
    let revoke = f
        .revoke(Call::post("/revoke", &body).basic("web-app", &impostor))
        .await;
    assert_eq!(revoke.status(), 200);
    assert_eq!(f.introspect_as_rs(access).await.json()["active"], true);

    // First-party refresh tokens are not OAuth clients' (not even with the client id).
    let at_token_endpoint = refresh(&f, &refresh_token, &[]).await;
    assert_eq!(error(&at_token_endpoint), (400, "invalid_grant".into()));
    // And OAuth clients' are not first-party ones.
    let (_, client_rt) = rotating_tokens(&f, ORDERS).await;
    let err = f
        .service
        .refresh_user_tokens(&client_rt, &login)
        .await
        .unwrap_err();
    assert_eq!(err.code().as_str(), "invalid_grant");

    let next = f
        .service
        .refresh_user_tokens(&refresh_token, &login)
        .await
        .unwrap();
    assert_eq!(next.scopes(), &scopes);
    // Reuse of the first one revokes the family.
    assert!(
        f.service
            .refresh_user_tokens(&refresh_token, &login)
            .await
            .is_err()
    );
    let current = next.refresh_token().expose_str().unwrap();
    assert!(
        f.service
            .refresh_user_tokens(current, &login)
            .await
            .is_err()
    );
    let owner_check = f
        .introspect_as_rs(next.access_token().expose_str().unwrap())
        .await;
    assert_eq!(owner_check.body(), r#"{"active":false}"#);
}

#[tokio::test]
async fn metadata_and_jwks_describe_the_service() {
    let f = fixture();
    let metadata = f.service.metadata();
    assert_eq!(
        f.service.metadata_path(),
        "/.well-known/oauth-authorization-server"
    );
    let doc = metadata.json();
    assert_eq!(doc["issuer"], ISSUER);
    assert_eq!(doc["token_endpoint"], "https://id.example/token");
    assert_eq!(
        doc["introspection_endpoint"],
        "https://id.example/introspect"
    );
    assert_eq!(doc["revocation_endpoint"], "https://id.example/revoke");
    assert_eq!(doc["jwks_uri"], "https://id.example/.well-known/jwks.json");
    assert_eq!(
        doc["grant_types_supported"],
        json!(["authorization_code", "client_credentials", "refresh_token"])
    );
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(
        doc["authorization_endpoint"],
        "https://id.example/authorize"
    );
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    let jwks = f.service.jwks().json();
    assert_eq!(jwks["keys"][0]["kid"], "as-1");
    assert!(jwks["keys"][0].get("d").is_none(), "public half only");
    assert!(
        f.service
            .jwks()
            .header("cache-control")
            .unwrap()
            .contains("max-age")
    );
    // An issuer with a path: RFC 8414 §3.1 puts the well-known segment before it.
    let tenant = TokenService::builder(
        "https://id.example/tenant-a",
        f.keys.clone(),
        f.clients.clone(),
    )
    .audience(ORDERS, TokenFormat::Jwt)
    .build()
    .unwrap();
    assert_eq!(
        tenant.metadata_path(),
        "/.well-known/oauth-authorization-server/tenant-a"
    );
}

#[test]
fn unsafe_configurations_are_refused_at_build() {
    let clock = support::clock();
    let keys = KeySet::single(Key::generate("k", Algorithm::ES256).unwrap());
    let clients = Arc::new(MemoryClientRegistry::new());
    let base = |issuer: &str| {
        TokenService::builder(issuer, keys.clone(), clients.clone())
            .audience(ORDERS, TokenFormat::Jwt)
            .clock(clock.shared())
    };
    assert!(base(ISSUER).build().is_ok());
    for issuer in [
        "http://id.example",
        "http://127.0.0.1:8080",
        "https://id.example?x=1",
        "https://id.example#f",
        "not a url",
    ] {
        assert!(base(issuer).build().is_err(), "{issuer}");
    }
    assert!(
        base("http://127.0.0.1:8080")
            .insecure_allow_loopback_http()
            .build()
            .is_ok()
    );
    assert!(
        base("http://id.example")
            .insecure_allow_loopback_http()
            .build()
            .is_err(),
        "the opt-in is for loopback only"
    );
    assert!(
        base(ISSUER)
            .access_token_ttl(Duration::from_secs(3601))
            .build()
            .is_err()
    );
    assert!(
        base(ISSUER)
            .access_token_ttl(Duration::ZERO)
            .build()
            .is_err()
    );
    assert!(
        base(ISSUER)
            .refresh_token_ttl(Duration::from_secs(8 * 24 * 3600))
            .build()
            .is_err()
    );
    assert!(
        base(ISSUER)
            .first_party_login("web", LEDGER)
            .build()
            .is_err()
    );
    assert!(
        base(ISSUER)
            .audience(ORDERS, TokenFormat::Opaque)
            .build()
            .is_err()
    );
    let no_audience = TokenService::builder(ISSUER, keys.clone(), clients.clone());
    assert!(no_audience.build().is_err());
    let empty = TokenService::builder(ISSUER, KeySet::new(), clients.clone())
        .audience(ORDERS, TokenFormat::Jwt);
    assert!(empty.build().is_err());
    let hmac = TokenService::builder(
        ISSUER,
        KeySet::single(Key::generate("h", Algorithm::HS256).unwrap()),
        clients.clone(),
    )
    .audience(ORDERS, TokenFormat::Jwt);
    assert!(
        hmac.build().is_err(),
        "an HMAC key cannot be published in the JWKS"
    );
    let clash = base(ISSUER).paths(auth_oauth2::EndpointPaths {
        token: "/introspect".into(),
        ..Default::default()
    });
    assert!(clash.build().is_err());
}

/// A password check for one user, counting its calls.
#[derive(Debug, Default)]
struct OneUser {
    calls: std::sync::atomic::AtomicUsize,
}

#[auth_core::async_trait]
impl auth_oauth2::PasswordCheck for OneUser {
    async fn check(
        &self,
        username: &str,
        password: &Secret,
        _request: &AuthRequest<'_>,
    ) -> Result<auth_core::Principal, auth_core::Rejection> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let challenge = auth_core::Challenge::new("Basic").param("realm", "x");
        if username == "myUser" && password.ct_eq_bytes(b"myPassword") {
            Ok(
                auth_core::Principal::new("user-1", auth_core::Scheme::BASIC)
                    .with_scopes("profile:read".parse().unwrap()),
            )
        } else {
            Err(auth_core::Rejection::invalid_credentials(
                vec![challenge],
                "wrong_password",
            ))
        }
    }
}

fn json_call(body: &str) -> Call {
    Call {
        headers: HeaderList::new().with("Content-Type", "application/json"),
        ..Call::post("/auth/token", body)
    }
}

#[tokio::test]
async fn the_first_party_endpoint_logs_in_refreshes_and_refuses_malformed_requests() {
    let f = fixture();
    let users = OneUser::default();
    let call = |call: Call| {
        let (service, users) = (&f.service, &users);
        async move { service.first_party_token(&call.request(), users).await }
    };
    let ok = call(json_call(
        r#"{"username":"myUser","password":"myPassword"}"#,
    ))
    .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.header("cache-control"), Some("no-store"));
    let tokens = ok.json();
    assert_eq!(tokens["tokenType"], "Bearer");
    assert_eq!(
        claims(tokens["accessToken"].as_str().unwrap())["sub"],
        "user-1"
    );

    let wrong = call(json_call(r#"{"username":"myUser","password":"nope"}"#)).await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(wrong.header("www-authenticate"), None, "no browser dialog");
    assert_eq!(wrong.json()["error"], "invalid_credentials");

    let refreshed = call(json_call(
        &json!({"refreshToken": tokens["refreshToken"]}).to_string(),
    ))
    .await;
    assert_eq!(refreshed.status(), 200);
    assert_ne!(refreshed.json()["refreshToken"], tokens["refreshToken"]);

    let calls_before = users.calls.load(std::sync::atomic::Ordering::SeqCst);
    for (request, status) in [
        (json_call(r#"{"username":"myUser"}"#), 400),
        (
            json_call(r#"{"username":"myUser","password":"","x":1}"#),
            400,
        ),
        (
            json_call(r#"{"username":"a","password":"b","refreshToken":"c"}"#),
            400,
        ),
        (
            json_call(r#"{"username":"a","username":"b","password":"c"}"#),
            400,
        ),
        (json_call("not json"), 400),
        (
            Call::post("/auth/token", "username=myUser&password=myPassword"),
            400,
        ),
        (
            Call {
                target: "/auth/token?username=myUser&password=myPassword".into(),
                ..json_call("{}")
            },
            400,
        ),
        (
            Call {
                method: "GET",
                ..json_call(r#"{"username":"myUser","password":"myPassword"}"#)
            },
            405,
        ),
        (
            Call {
                secure: false,
                ..json_call(r#"{"username":"myUser","password":"myPassword"}"#)
            },
            400,
        ),
    ] {
        let body = request.body.clone();
        assert_eq!(call(request).await.status(), status, "{body}");
    }
    assert_eq!(
        users.calls.load(std::sync::atomic::Ordering::SeqCst),
        calls_before,
        "no password is checked for a malformed request"
    );
}
