//! Sign with [`Signer`], verify with [`Verifier`]: what a well-behaved client gets.

use std::time::Duration;

#[cfg(feature = "reqwest")]
use auth_core::HeaderList;
use auth_hmac::{Component, DigestAlgorithm, HmacKey, SignatureInfo, Signer};

use crate::support::{KEY_ID, URL, authenticated, harness, harness_with, refused};

const BODY: &[u8] = br#"{"item":"book","qty":1}"#;

#[tokio::test]
async fn signed_requests_authenticate_the_keys_client() {
    let h = harness();
    let signer = h.signer().build().unwrap();
    let headers = h.signed(&signer, "POST", URL, Some(BODY));
    let principal = authenticated(h.run("POST", "/orders", &headers, Some(BODY)).await);
    assert_eq!(principal.subject(), "client");
    assert_eq!(principal.key_id(), Some(KEY_ID));
    assert!(principal.scopes().contains("orders:write"));
    let info = principal.extension::<SignatureInfo>().unwrap();
    assert_eq!(info.label, "sig1");
    assert!(info.body_covered);
    assert_eq!(
        info.covered,
        [r#""@method""#, r#""@target-uri""#, r#""content-digest""#]
    );
}

#[tokio::test]
async fn bodies_queries_and_digest_algorithms() {
    let h = harness();
    let sha512 = h.signer().digest(DigestAlgorithm::Sha512).build().unwrap();
    let headers = h.signed(
        &sha512,
        "PUT",
        "https://api.example.com/orders/7?dry_run=1",
        Some(BODY),
    );
    authenticated(
        h.run("PUT", "/orders/7?dry_run=1", &headers, Some(BODY))
            .await,
    );

    let plain = h.signer().build().unwrap();
    let headers = h.signed(
        &plain,
        "GET",
        "https://API.example.com:443/orders?page=2",
        None,
    );
    authenticated(h.run("GET", "/orders?page=2", &headers, None).await);
    let headers = h.signed(
        &plain,
        "DELETE",
        "https://api.example.com/orders/7",
        Some(b""),
    );
    authenticated(h.run("DELETE", "/orders/7", &headers, None).await);
}

#[tokio::test]
async fn extra_covered_components_and_policy_requirements() {
    let content_type = Component::field("content-type").unwrap();
    let h = harness_with(|b| b.require(content_type.clone()));
    let default_signer = h.signer().build().unwrap();
    let headers = h.signed(&default_signer, "POST", URL, Some(BODY));
    refused(
        h.run("POST", "/orders", &headers, Some(BODY)).await,
        "insufficient_coverage",
    );
    let covering = h
        .signer()
        .cover(content_type)
        .cover(Component::query_param("page").unwrap())
        .include_alg(true)
        .build()
        .unwrap();
    let headers = h.signed(
        &covering,
        "POST",
        "https://api.example.com/orders?page=1",
        Some(BODY),
    );
    authenticated(h.run("POST", "/orders?page=1", &headers, Some(BODY)).await);
}

#[tokio::test]
async fn key_rotation_without_downtime() {
    let h = harness();
    let new_secret = "the rotated secret, also 32+ bytes long 77c1";
    // 1. Add the new key for the same client: both verify.
    h.keys
        .insert(HmacKey::new("client-2026", "client", new_secret).unwrap());
    let old = h.signer().build().unwrap();
    let new = Signer::builder("client-2026", new_secret)
        .clock(h.clock.shared())
        .build()
        .unwrap();
    for signer in [&old, &new] {
        let headers = h.signed(signer, "POST", URL, Some(BODY));
        let principal = authenticated(h.run("POST", "/orders", &headers, Some(BODY)).await);
        assert_eq!(principal.subject(), "client");
        assert_eq!(principal.key_id(), Some(signer.key_id()));
    }
    // 2. The client has switched; 3. remove the old key.
    h.keys.remove(KEY_ID);
    let headers = h.signed(&old, "POST", URL, Some(BODY));
    refused(
        h.run("POST", "/orders", &headers, Some(BODY)).await,
        "unknown_key",
    );
    let headers = h.signed(&new, "POST", URL, Some(BODY));
    authenticated(h.run("POST", "/orders", &headers, Some(BODY)).await);
}

#[tokio::test]
async fn behind_a_proxy_the_public_authority_and_scheme_are_configured() {
    let h = harness_with(|b| b.authority("api.example.com").scheme("https"));
    let signer = h.signer().build().unwrap();
    let headers = h.signed(&signer, "POST", URL, Some(BODY));
    // The proxy rewrote Host and spoke plain HTTP to the origin.
    let internal = crate::support::replace(&headers, "Host", "orders.internal:8080");
    let request = auth_core::AuthRequest::new("POST", "/orders", &internal)
        .with_secure(false)
        .with_body(Some(BODY));
    authenticated(auth_core::authenticate(&h.auth, &request).await);
}

#[tokio::test]
async fn signatures_age_out_of_the_window() {
    let h = harness_with(|b| b.max_age(Duration::from_secs(30)));
    let signer = h.signer().build().unwrap();
    let headers = h.signed(&signer, "GET", URL, None);
    h.clock.advance(Duration::from_secs(31));
    refused(
        h.run("GET", "/orders", &headers, None).await,
        "created_too_old",
    );
}

#[test]
fn misconfiguration_fails_at_build() {
    use auth_hmac::{MemoryKeyStore, Verifier};
    let keys = || MemoryKeyStore::new();
    assert!(
        Verifier::builder(keys())
            .required_components([])
            .build()
            .is_err()
    );
    assert!(
        Verifier::builder(keys())
            .max_age(Duration::ZERO)
            .build()
            .is_err()
    );
    assert!(
        Verifier::builder(keys())
            .max_age(Duration::from_secs(86_401))
            .build()
            .is_err()
    );
    assert!(
        Verifier::builder(keys())
            .clock_skew(Duration::from_secs(400))
            .build()
            .is_err()
    );
    assert!(Verifier::builder(keys()).scheme("ftp").build().is_err());
    assert!(Verifier::builder(keys()).authority("a b").build().is_err());
    assert!(
        Verifier::builder(keys())
            .label("Bad Label")
            .build()
            .is_err()
    );
    assert!(HmacKey::new("k", "c", "too short").is_err());
    assert!(Signer::builder(KEY_ID, "too short").build().is_err());
    assert!(Verifier::builder(keys()).build().is_ok());
}

#[cfg(feature = "reqwest")]
#[tokio::test]
async fn reqwest_requests_are_signed_in_place() {
    let h = harness();
    let signer = h
        .signer()
        .cover(Component::field("content-type").unwrap())
        .build()
        .unwrap();
    let client = reqwest::Client::new();
    let mut request = client
        .post("https://api.example.com/orders?x=1")
        .header("Content-Type", "application/json")
        .header("Content-Digest", "sha-256=:stale:")
        .body(BODY.to_vec())
        .build()
        .unwrap();
    signer.sign_reqwest(&mut request).unwrap();
    let mut headers = HeaderList::new().with("Host", "api.example.com");
    for (name, value) in request.headers() {
        headers.push(name.as_str(), value.as_bytes());
    }
    assert_eq!(
        request.headers().get_all("content-digest").iter().count(),
        1
    );
    authenticated(h.run("POST", "/orders?x=1", &headers, Some(BODY)).await);
}

#[tokio::test]
async fn a_body_the_adapter_did_not_buffer_fails_closed() {
    let h = harness();
    let signer = h.signer().build().unwrap();
    let mut headers = h.signed(&signer, "POST", URL, Some(BODY));
    headers.push("Content-Length", BODY.len().to_string());
    // An adapter that ignored `needs_body()`: the digest cannot be checked.
    let request = auth_core::AuthRequest::new("POST", "/orders", &headers).with_secure(true);
    let outcome = auth_core::authenticate(&h.auth, &request).await;
    let rejection = crate::support::rejected(outcome);
    assert_eq!(rejection.status(), 503);
    assert_eq!(rejection.reason(), "body_not_buffered");
}
