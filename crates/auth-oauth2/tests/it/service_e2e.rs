//! Part 1's clients against the token service over real HTTP on 127.0.0.1: the
//! `TokenSource` fetches tokens from it, and the `ResourceServer` accepts them — JWTs with
//! keys found through the service's RFC 8414 metadata, opaque tokens by introspection.

use std::sync::Arc;
use std::time::Duration;

use auth_core::{AuthRequest, HeaderList, Secret};
use auth_jwt::{Algorithm, Key, KeySet};
use auth_oauth2::{
    AccessTokenInfo, ClientAuthMethod, ClientConfig, EndpointResponse, Error, ErrorCode, GrantType,
    IntrospectionCachePolicy, MemoryClientRegistry, ResourceServer, TokenFormat, TokenService,
    TokenSource,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

use crate::support::{self, read_request};

const ORDERS: &str = "https://api.e2e/orders";
const LEDGER: &str = "https://api.e2e/ledger";

struct Live {
    base: String,
    service: TokenService,
    svc: Secret,
    orders_api: Secret,
}

/// Serves `service`'s endpoints on `listener` (plain HTTP on loopback).
pub(crate) fn serve(listener: TcpListener, service: TokenService) {
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, peer)) = listener.accept().await else {
                return;
            };
            let service = service.clone();
            tokio::spawn(async move {
                let Some(request) = read_request(&mut stream).await else {
                    return;
                };
                let mut headers = HeaderList::new();
                for (name, value) in &request.headers {
                    headers.push(name.clone(), value.clone());
                }
                let target = match &request.query {
                    Some(query) => format!("{}?{query}", request.path),
                    None => request.path.clone(),
                };
                let auth_request = AuthRequest::new(&request.method, &target, &headers)
                    .with_body(Some(request.body.as_bytes()))
                    .with_peer(Some(peer));
                let paths = service.paths();
                let response = match (request.method.as_str(), request.path.as_str()) {
                    (_, p) if p == service.authorization_path() => {
                        // The part-1 client test drives the authorization endpoint itself.
                        return;
                    }
                    (_, p) if p == paths.token => service.token(&auth_request).await,
                    (_, p) if p == paths.introspection => service.introspect(&auth_request).await,
                    (_, p) if p == paths.revocation => service.revoke(&auth_request).await,
                    ("GET", p) if p == paths.jwks => service.jwks(),
                    ("GET", p) if p == service.metadata_path() => service.metadata(),
                    _ => {
                        let _ = stream
                            .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                            .await;
                        return;
                    }
                };
                let _ = stream.write_all(&http_bytes(&response)).await;
            });
        }
    });
}

fn http_bytes(response: &EndpointResponse) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {} X\r\n", response.status());
    for (name, value) in response.headers() {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n{}",
        response.body().len(),
        response.body()
    ));
    out.into_bytes()
}

async fn live() -> Live {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
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
    let orders_api = clients
        .register(ClientConfig::new("orders-api").introspection_for(LEDGER))
        .unwrap();
    let service = TokenService::builder(
        base.clone(),
        KeySet::single(Key::generate("as-1", Algorithm::ES256).unwrap()),
        clients,
    )
    .audience(ORDERS, TokenFormat::Jwt)
    .audience(LEDGER, TokenFormat::Opaque)
    .insecure_allow_loopback_http()
    .build()
    .unwrap();
    serve(listener, service.clone());
    Live {
        base,
        service,
        svc,
        orders_api,
    }
}

fn source(live: &Live, method: ClientAuthMethod, resource: &str) -> TokenSource {
    TokenSource::builder(live.service.token_endpoint(), "svc", live.svc.clone())
        .auth_method(method)
        .scopes("orders:read".parse().unwrap())
        .resource(resource)
        .http_client(support::http())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_token_source_gets_tokens_with_either_client_authentication_and_caches_them() {
    let live = live().await;
    for method in [
        ClientAuthMethod::ClientSecretBasic,
        ClientAuthMethod::ClientSecretPost,
    ] {
        let tokens = source(&live, method, ORDERS);
        let first = tokens.token().await.unwrap();
        assert!(first.token_type().eq_ignore_ascii_case("bearer"));
        assert_eq!(first.scopes().unwrap().to_string(), "orders:read");
        assert!(first.expires_at().is_some());
        let again = tokens.token().await.unwrap();
        assert_eq!(again.expose_str(), first.expose_str());
        assert_eq!(tokens.request_count(), 1, "{method:?}");
    }
    let wrong = TokenSource::builder(live.service.token_endpoint(), "svc", Secret::from("wrong"))
        .http_client(support::http())
        .build()
        .unwrap();
    match wrong.token().await {
        Err(Error::TokenEndpoint(e)) => assert_eq!(e.code(), &ErrorCode::InvalidClient),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_resource_server_accepts_its_jwts_with_keys_found_through_the_metadata() {
    let live = live().await;
    let token = source(&live, ClientAuthMethod::ClientSecretBasic, ORDERS)
        .token()
        .await
        .unwrap();
    // No keys given: the resource server reads <issuer>/.well-known/oauth-authorization-server
    // and the JWKS it names.
    let api = ResourceServer::builder(live.base.clone(), ORDERS)
        .require_scopes("orders:read".parse().unwrap())
        .build()
        .unwrap();
    let principal = api.verify(token.expose_str()).await.unwrap();
    assert_eq!(principal.subject(), "svc");
    let info = principal.extension::<AccessTokenInfo>().unwrap();
    assert_eq!(info.client_id.as_deref(), Some("svc"));
    assert_eq!(info.issuer.as_deref(), Some(live.base.as_str()));
    // A token for another audience is not this API's.
    let ledger = ResourceServer::builder(live.base.clone(), LEDGER)
        .build()
        .unwrap();
    assert_eq!(
        ledger
            .verify(token.expose_str())
            .await
            .unwrap_err()
            .status(),
        401
    );
}

#[tokio::test]
async fn the_resource_server_introspects_opaque_tokens_and_sees_revocation() {
    let live = live().await;
    let tokens = source(&live, ClientAuthMethod::ClientSecretPost, LEDGER);
    let token = tokens.token().await.unwrap();
    assert!(!token.expose_str().contains('.'), "opaque");
    let api = ResourceServer::builder(live.base.clone(), LEDGER)
        .introspection(
            format!("{}{}", live.base, live.service.paths().introspection),
            "orders-api",
            live.orders_api.clone(),
        )
        .introspection_cache(IntrospectionCachePolicy {
            max_ttl: Duration::ZERO,
            negative_ttl: Duration::ZERO,
            ..IntrospectionCachePolicy::default()
        })
        .build()
        .unwrap();
    let principal = api.verify(token.expose_str()).await.unwrap();
    assert_eq!(principal.subject(), "svc");
    assert!(principal.scopes().contains("orders:read"));

    // The client revokes it (RFC 7009); the next introspection says inactive.
    let revoked = support::http()
        .post(format!("{}{}", live.base, live.service.paths().revocation))
        .basic_auth("svc", live.svc.expose_str())
        .form(&[("token", token.expose_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert_eq!(
        api.verify(token.expose_str()).await.unwrap_err().status(),
        401
    );
    // The token source gets a new one once told.
    tokens.invalidate(&token);
    let fresh = tokens.token().await.unwrap();
    assert!(api.verify(fresh.expose_str()).await.is_ok());
}
