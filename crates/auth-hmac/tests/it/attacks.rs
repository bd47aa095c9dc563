//! The attack suite: each test is one attack, and fails if its defence is removed.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use auth_core::{Clock, HeaderList, ManualClock, Outcome, async_trait};
use auth_hmac::{Component, NonceStore, SignatureParams, StoreError};

use crate::support::{
    KEY_ID, URL, authenticated, bad_request, base_headers, forge, harness, harness_with, params,
    refused, rejected, replace, without,
};

const BODY: &[u8] = br#"{"item":"book","qty":1}"#;

#[tokio::test]
async fn the_same_nonce_twice_is_a_replay() {
    let h = harness();
    let signer = h.signer().build().unwrap();
    let headers = h.signed(&signer, "POST", URL, Some(BODY));
    authenticated(h.run("POST", "/orders", &headers, Some(BODY)).await);
    refused(
        h.run("POST", "/orders", &headers, Some(BODY)).await,
        "nonce_replayed",
    );
    // Still refused near the end of the window, when only the nonce store remembers it.
    h.clock.advance(Duration::from_secs(299));
    refused(
        h.run("POST", "/orders", &headers, Some(BODY)).await,
        "nonce_replayed",
    );
}

#[tokio::test]
async fn a_nonce_is_per_key_not_global() {
    // Another client reusing the same nonce value does not lock this one out.
    let h = harness();
    let now = h.clock.unix_now();
    let mut first = base_headers();
    forge(
        &mut first,
        "GET",
        "/orders",
        &params([Component::METHOD, Component::TARGET_URI], now, "same"),
        "sig1",
        |b| b,
    );
    authenticated(h.run("GET", "/orders", &first, None).await);
    h.keys
        .insert(auth_hmac::HmacKey::new("other", "other-client", crate::support::SECRET).unwrap());
    let other = SignatureParams::new([Component::METHOD, Component::TARGET_URI])
        .created(now)
        .key_id("other")
        .nonce("same");
    let mut second = base_headers();
    forge(&mut second, "GET", "/orders", &other, "sig1", |b| b);
    authenticated(h.run("GET", "/orders", &second, None).await);
}

#[tokio::test]
async fn created_too_old_is_refused() {
    let h = harness();
    let signer = h.signer().build().unwrap();
    let headers = h.signed(&signer, "POST", URL, Some(BODY));
    h.clock.advance(Duration::from_secs(301));
    refused(
        h.run("POST", "/orders", &headers, Some(BODY)).await,
        "created_too_old",
    );
}

#[tokio::test]
async fn created_too_far_ahead_is_refused_within_skew_accepted() {
    let h = harness();
    let ahead = ManualClock::new(h.clock.now() + Duration::from_secs(60));
    let signer = h.signer().clock(ahead.shared()).build().unwrap();
    let headers = h.signed(&signer, "POST", URL, Some(BODY));
    refused(
        h.run("POST", "/orders", &headers, Some(BODY)).await,
        "created_in_future",
    );

    let slightly = ManualClock::new(h.clock.now() + Duration::from_secs(5));
    let signer = h.signer().clock(slightly.shared()).build().unwrap();
    let headers = h.signed(&signer, "POST", URL, Some(BODY));
    authenticated(h.run("POST", "/orders", &headers, Some(BODY)).await);
}

#[tokio::test]
async fn expires_in_the_past_is_refused() {
    let h = harness();
    let signer = h
        .signer()
        .expires_after(Duration::from_secs(10))
        .build()
        .unwrap();
    let headers = h.signed(&signer, "POST", URL, Some(BODY));
    h.clock.advance(Duration::from_secs(11));
    refused(
        h.run("POST", "/orders", &headers, Some(BODY)).await,
        "signature_expired",
    );
}

#[tokio::test]
async fn one_body_byte_flipped_is_refused() {
    let h = harness();
    let signer = h.signer().build().unwrap();
    let headers = h.signed(&signer, "POST", URL, Some(BODY));
    let mut tampered = BODY.to_vec();
    tampered[9] ^= 0x01;
    refused(
        h.run("POST", "/orders", &headers, Some(&tampered)).await,
        "content_digest_mismatch",
    );
    // And the Content-Digest cannot be replaced to match: it is covered.
    let digest = auth_hmac::content_digest(auth_hmac::DigestAlgorithm::Sha256, &tampered);
    let redigested = replace(&headers, "Content-Digest", &digest);
    refused(
        h.run("POST", "/orders", &redigested, Some(&tampered)).await,
        "bad_signature",
    );
    // Nor removed.
    let undigested = without(&headers, "Content-Digest");
    refused(
        h.run("POST", "/orders", &undigested, Some(&tampered)).await,
        "component_unavailable",
    );
}

#[tokio::test]
async fn content_digest_not_covered_while_a_body_is_present() {
    let h = harness();
    let now = h.clock.unix_now();
    let mut headers = base_headers();
    forge(
        &mut headers,
        "POST",
        "/orders",
        &params([Component::METHOD, Component::TARGET_URI], now, "n1"),
        "sig1",
        |b| b,
    );
    refused(
        h.run("POST", "/orders", &headers, Some(BODY)).await,
        "insufficient_coverage",
    );
    // The same signature on a request without a body is fine: there is nothing to cover.
    authenticated(h.run("POST", "/orders", &headers, None).await);
}

#[tokio::test]
async fn only_path_covered_and_a_query_added() {
    let h = harness();
    let now = h.clock.unix_now();
    let mut headers = base_headers();
    // The client signed `GET /orders` covering only `@method` and `@path`...
    forge(
        &mut headers,
        "GET",
        "/orders",
        &params([Component::METHOD, Component::PATH], now, "n2"),
        "sig1",
        |b| b,
    );
    // ...and the attacker adds `?admin=1`: the base still verifies, the policy does not.
    refused(
        h.run("GET", "/orders?admin=1", &headers, None).await,
        "insufficient_coverage",
    );
    // With `@target-uri` covered, the query is part of what is signed.
    let mut covered = base_headers();
    forge(
        &mut covered,
        "GET",
        "/orders",
        &params([Component::METHOD, Component::TARGET_URI], now, "n3"),
        "sig1",
        |b| b,
    );
    refused(
        h.run("GET", "/orders?admin=1", &covered, None).await,
        "bad_signature",
    );
}

#[tokio::test]
async fn an_empty_covered_list_is_refused() {
    // Even under a policy that requires only `@method`, nothing covered is never enough;
    // the default policy refuses it too.
    for h in [
        harness(),
        harness_with(|b| b.required_components([Component::METHOD])),
    ] {
        let now = h.clock.unix_now();
        let mut headers = base_headers();
        forge(
            &mut headers,
            "GET",
            "/orders",
            &params([], now, "n4"),
            "sig1",
            |b| b,
        );
        refused(
            h.run("GET", "/orders", &headers, None).await,
            "insufficient_coverage",
        );
    }
}

#[tokio::test]
async fn a_covered_header_sent_twice_is_refused() {
    let h = harness();
    let signer = h
        .signer()
        .cover(Component::field("content-type").unwrap())
        .build()
        .unwrap();
    let headers = h.signed(&signer, "POST", URL, Some(BODY));
    authenticated(h.run("POST", "/orders", &headers, Some(BODY)).await);
    let headers = h.signed(&signer, "POST", URL, Some(BODY));
    let mut doubled = headers.clone();
    doubled.push("Content-Type", "text/html");
    refused(
        h.run("POST", "/orders", &doubled, Some(BODY)).await,
        "bad_signature",
    );
}

#[tokio::test]
async fn a_real_header_named_at_method_is_not_a_derived_component() {
    let h = harness();
    let now = h.clock.unix_now();
    // Signed as `GET /orders`...
    let mut headers = base_headers();
    forge(
        &mut headers,
        "GET",
        "/orders",
        &params([Component::METHOD, Component::TARGET_URI], now, "n5"),
        "sig1",
        |b| b,
    );
    // ...sent as `DELETE /orders` with a header that claims the method was GET.
    headers.push("@method", "GET");
    refused(
        h.run("DELETE", "/orders", &headers, None).await,
        "bad_signature",
    );
}

#[tokio::test]
async fn an_unknown_keyid_is_refused_like_a_bad_signature() {
    let h = harness();
    let signer = auth_hmac::Signer::builder("nobody", crate::support::SECRET)
        .clock(h.clock.shared())
        .build()
        .unwrap();
    let headers = h.signed(&signer, "POST", URL, Some(BODY));
    let unknown = rejected(h.run("POST", "/orders", &headers, Some(BODY)).await);
    assert_eq!(unknown.reason(), "unknown_key");
    assert_eq!(unknown.key_id(), Some("nobody"));

    let good = h.signer().build().unwrap();
    let headers = h.signed(&good, "POST", URL, Some(BODY));
    let bad = rejected(
        h.run(
            "POST",
            "/orders",
            &replace_sig(&headers, "AAAA"),
            Some(BODY),
        )
        .await,
    );
    assert_eq!(bad.reason(), "bad_signature");
    // The client cannot tell them apart.
    assert_eq!(unknown.status(), bad.status());
    assert_eq!(unknown.json_body(), bad.json_body());
    assert_eq!(
        unknown.www_authenticate().collect::<Vec<_>>(),
        bad.www_authenticate().collect::<Vec<_>>()
    );
}

fn replace_sig(headers: &HeaderList, b64: &str) -> HeaderList {
    replace(headers, "Signature", &format!("sig1=:{b64}:"))
}

fn sig_b64(headers: &HeaderList) -> String {
    let value = auth_core::HeaderSource::get(headers, "signature").unwrap();
    let value = std::str::from_utf8(value).unwrap();
    value
        .trim_start_matches("sig1=:")
        .trim_end_matches(':')
        .to_owned()
}

#[tokio::test]
async fn a_truncated_signature_is_refused() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let h = harness();
    let signer = h.signer().build().unwrap();
    let headers = h.signed(&signer, "POST", URL, Some(BODY));
    let full = b64.decode(sig_b64(&headers)).unwrap();
    assert_eq!(full.len(), 32);
    for cut in [0, 1, 16, 31] {
        let truncated = replace_sig(&headers, &b64.encode(&full[..cut]));
        refused(
            h.run("POST", "/orders", &truncated, Some(BODY)).await,
            "bad_signature",
        );
    }
    // The untouched signature still verifies: only the truncation was refused.
    authenticated(h.run("POST", "/orders", &headers, Some(BODY)).await);
}

#[tokio::test]
async fn a_non_base64_signature_is_a_bad_request() {
    let h = harness();
    let signer = h.signer().build().unwrap();
    let headers = h.signed(&signer, "POST", URL, Some(BODY));
    for garbage in [
        "sig1=:%%%%:",
        "sig1=:abc",
        "sig1=\"text\"",
        "sig1=:YWJj:extra",
    ] {
        let mangled = replace(&headers, "Signature", garbage);
        bad_request(
            h.run("POST", "/orders", &mangled, Some(BODY)).await,
            "malformed_signature",
        );
    }
}

#[tokio::test]
async fn a_trailing_newline_on_the_base_is_refused() {
    let h = harness();
    let now = h.clock.unix_now();
    let components = [Component::METHOD, Component::TARGET_URI];
    let mut newline = base_headers();
    forge(
        &mut newline,
        "GET",
        "/orders",
        &params(components.clone(), now, "n6"),
        "sig1",
        |mut b| {
            b.push(b'\n');
            b
        },
    );
    refused(
        h.run("GET", "/orders", &newline, None).await,
        "bad_signature",
    );
    // The same signature made over the exact base verifies.
    let mut exact = base_headers();
    forge(
        &mut exact,
        "GET",
        "/orders",
        &params(components, now, "n7"),
        "sig1",
        |b| b,
    );
    authenticated(h.run("GET", "/orders", &exact, None).await);
}

#[tokio::test]
async fn an_extra_weak_signature_changes_nothing() {
    let h = harness();
    let now = h.clock.unix_now();
    let weak = params([Component::METHOD], now, "weak");
    let strong = params([Component::METHOD, Component::TARGET_URI], now, "strong");

    // A weak signature alone is refused, whatever its MAC.
    let mut alone = base_headers();
    forge(&mut alone, "GET", "/orders", &weak, "weak", |b| b);
    refused(
        h.run("GET", "/orders", &alone, None).await,
        "insufficient_coverage",
    );

    // Next to a broken strong signature, a valid weak one does not rescue the request.
    let mut broken = base_headers();
    forge(&mut broken, "GET", "/orders", &weak, "weak", |b| b);
    forge(&mut broken, "GET", "/elsewhere", &strong, "strong", |b| b);
    refused(
        h.run("GET", "/orders", &broken, None).await,
        "bad_signature",
    );

    // Next to a valid strong signature, the request is authenticated by the strong one.
    let mut both = base_headers();
    forge(&mut both, "GET", "/orders", &weak, "weak", |b| b);
    forge(
        &mut both,
        "GET",
        "/orders",
        &params([Component::METHOD, Component::TARGET_URI], now, "s2"),
        "strong",
        |b| b,
    );
    let principal = authenticated(h.run("GET", "/orders", &both, None).await);
    let info = principal.extension::<auth_hmac::SignatureInfo>().unwrap();
    assert_eq!(info.label, "strong");

    // A policy that names its label ignores every other signature.
    let named = harness_with(|b| b.label("strong"));
    let mut only_weak = base_headers();
    forge(
        &mut only_weak,
        "GET",
        "/orders",
        &params([Component::METHOD, Component::TARGET_URI], now, "w3"),
        "weak",
        |b| b,
    );
    refused(
        named.run("GET", "/orders", &only_weak, None).await,
        "label_not_found",
    );
}

#[tokio::test]
async fn missing_parameters_are_refused() {
    let h = harness();
    let now = h.clock.unix_now();
    let components = [Component::METHOD, Component::TARGET_URI];
    let cases = [
        (
            SignatureParams::new(components.clone())
                .created(now)
                .key_id(KEY_ID),
            "nonce_missing",
        ),
        (
            SignatureParams::new(components.clone())
                .key_id(KEY_ID)
                .nonce("a"),
            "created_missing",
        ),
        (
            SignatureParams::new(components.clone())
                .created(now)
                .nonce("b"),
            "keyid_missing",
        ),
    ];
    for (params, reason) in cases {
        let mut headers = base_headers();
        forge(&mut headers, "GET", "/orders", &params, "sig1", |b| b);
        refused(h.run("GET", "/orders", &headers, None).await, reason);
    }
}

#[tokio::test]
async fn alg_must_match_the_key() {
    let h = harness();
    let now = h.clock.unix_now();
    let components = [Component::METHOD, Component::TARGET_URI];
    let mut wrong = base_headers();
    forge(
        &mut wrong,
        "GET",
        "/orders",
        &params(components.clone(), now, "a1").alg("rsa-pss-sha512"),
        "sig1",
        |b| b,
    );
    refused(h.run("GET", "/orders", &wrong, None).await, "alg_mismatch");
    let mut right = base_headers();
    forge(
        &mut right,
        "GET",
        "/orders",
        &params(components, now, "a2").alg("hmac-sha256"),
        "sig1",
        |b| b,
    );
    authenticated(h.run("GET", "/orders", &right, None).await);
}

#[tokio::test]
async fn a_required_tag_must_match() {
    let h = harness_with(|b| b.tag("orders-api"));
    let signed = |tag: &str| {
        let signer = h.signer().tag(tag).build().unwrap();
        h.signed(&signer, "POST", URL, Some(BODY))
    };
    refused(
        h.run("POST", "/orders", &signed("other-api"), Some(BODY))
            .await,
        "tag_mismatch",
    );
    authenticated(
        h.run("POST", "/orders", &signed("orders-api"), Some(BODY))
            .await,
    );
}

#[tokio::test]
async fn the_method_host_and_scheme_are_covered() {
    let h = harness();
    let signer = h.signer().build().unwrap();
    let headers = h.signed(&signer, "POST", URL, Some(BODY));
    refused(
        h.run("PUT", "/orders", &headers, Some(BODY)).await,
        "bad_signature",
    );
    let other_host = replace(&headers, "Host", "evil.example.com");
    refused(
        h.run("POST", "/orders", &other_host, Some(BODY)).await,
        "bad_signature",
    );
    // Signed for https, received over plain http.
    let request = auth_core::AuthRequest::new("POST", "/orders", &headers)
        .with_secure(false)
        .with_body(Some(BODY));
    refused(
        auth_core::authenticate(&h.auth, &request).await,
        "bad_signature",
    );
}

#[tokio::test]
async fn malformed_and_incomplete_headers_are_bad_requests() {
    let h = harness();
    let signer = h.signer().build().unwrap();
    let headers = h.signed(&signer, "POST", URL, Some(BODY));
    bad_request(
        h.run(
            "POST",
            "/orders",
            &without(&headers, "Signature"),
            Some(BODY),
        )
        .await,
        "incomplete_signature_headers",
    );
    bad_request(
        h.run(
            "POST",
            "/orders",
            &without(&headers, "Signature-Input"),
            Some(BODY),
        )
        .await,
        "incomplete_signature_headers",
    );
    bad_request(
        h.run(
            "POST",
            "/orders",
            &replace(&headers, "Signature-Input", "sig1=(\"@method\""),
            Some(BODY),
        )
        .await,
        "malformed_signature_input",
    );
    let mut duplicated = headers.clone();
    duplicated.push("Signature-Input", "sig1=(\"@method\");created=1");
    bad_request(
        h.run("POST", "/orders", &duplicated, Some(BODY)).await,
        "duplicate_signature_label",
    );
    bad_request(
        h.run(
            "POST",
            "/orders",
            &replace(&headers, "Signature-Input", "sig1=(\"@status\");created=1"),
            Some(BODY),
        )
        .await,
        "invalid_component",
    );
    // No signature headers at all: no credential, so `AnyOf` chains go on.
    assert!(matches!(
        h.run("POST", "/orders", &base_headers(), Some(BODY)).await,
        Outcome::NoCredential
    ));
}

#[derive(Debug)]
struct DownStore;

#[async_trait]
impl NonceStore for DownStore {
    async fn insert_if_absent(&self, _: &str, _: SystemTime) -> Result<bool, StoreError> {
        Err(StoreError::Unavailable("redis://10.0.0.7 refused".into()))
    }
}

#[tokio::test]
async fn a_nonce_store_failure_fails_closed() {
    let h = harness_with(|b| b.nonce_store(Arc::new(DownStore)));
    let signer = h.signer().build().unwrap();
    let headers = h.signed(&signer, "POST", URL, Some(BODY));
    let rejection = rejected(h.run("POST", "/orders", &headers, Some(BODY)).await);
    assert_eq!(rejection.status(), 503);
    assert_eq!(rejection.reason(), "nonce_store_unavailable");
    assert!(!rejection.json_body().contains("10.0.0.7"));
}
