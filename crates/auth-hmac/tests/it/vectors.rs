//! Published test vectors, each cited next to its data:
//! RFC 9421 (HTTP Message Signatures) §2.1, §2.2, §2.5 and Appendix B.2;
//! RFC 9530 (Digest Fields) Appendix B; RFC 4231 (HMAC-SHA-256) §4.2–§4.8.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use auth_core::{AuthRequest, HeaderList, ManualClock, Outcome};
use auth_hmac::{
    Component, DigestAlgorithm, HmacAuthenticator, HmacKey, MemoryKeyStore, RequestParts,
    SignatureParams, Verifier, content_digest, hmac_sha256, verify_content_digest,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// RFC 9421 Appendix B.1.5: `test-shared-secret`, 64 random bytes in base64.
const TEST_SHARED_SECRET: &str =
    "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==";

/// RFC 9421 Appendix B.2 `test-request` (and §2.5): its header fields.
fn test_request_headers() -> HeaderList {
    HeaderList::new()
        .with("Host", "example.com")
        .with("Date", "Tue, 20 Apr 2021 02:07:55 GMT")
        .with("Content-Type", "application/json")
        .with(
            "Content-Digest",
            "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
        )
        .with("Content-Length", "18")
}

/// RFC 9421 Appendix B.2 `test-request`: its target and body.
const TEST_REQUEST_TARGET: &str = "/foo?param=Value&Pet=dog";
const TEST_REQUEST_BODY: &[u8] = br#"{"hello": "world"}"#;

fn base(params: &str, parts: &RequestParts<'_>) -> String {
    let params: SignatureParams = params.parse().unwrap();
    String::from_utf8(params.signature_base(parts).unwrap()).unwrap()
}

/// The signature base line of one component.
fn line(component: Component, parts: &RequestParts<'_>) -> String {
    let base = SignatureParams::new([component])
        .signature_base(parts)
        .unwrap();
    let base = String::from_utf8(base).unwrap();
    base.split('\n').next().unwrap().to_owned()
}

#[test]
fn rfc9421_b25_hmac_sha256_base_and_signature() {
    // RFC 9421 Appendix B.2.5, "Signing a Request Using hmac-sha256".
    let headers = test_request_headers();
    let parts = RequestParts::new("POST", TEST_REQUEST_TARGET, &headers);
    let expected_base = concat!(
        "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n",
        "\"@authority\": example.com\n",
        "\"content-type\": application/json\n",
        "\"@signature-params\": (\"date\" \"@authority\" \"content-type\")",
        ";created=1618884473;keyid=\"test-shared-secret\"",
    );
    let params =
        r#"("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret""#;
    assert_eq!(base(params, &parts), expected_base);

    let secret = STANDARD.decode(TEST_SHARED_SECRET).unwrap();
    assert_eq!(secret.len(), 64);
    let mac = hmac_sha256(&secret, &[expected_base.as_bytes()]);
    // Signature: sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:
    assert_eq!(
        STANDARD.encode(mac),
        "pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8="
    );
}

#[tokio::test]
async fn rfc9421_b25_verifies_through_the_authenticator() {
    // RFC 9421 Appendix B.2.5: the Signature-Input and Signature fields as given, verified
    // at the signature's creation time with a policy matching what it covers (it has no
    // nonce and does not cover the body: both need the explicit opt-outs).
    let secret = STANDARD.decode(TEST_SHARED_SECRET).unwrap();
    let keys = MemoryKeyStore::new();
    keys.insert(HmacKey::new("test-shared-secret", "rfc-client", secret).unwrap());
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_618_884_473));
    let verifier = Verifier::builder(Arc::new(keys))
        .required_components([
            Component::field("date").unwrap(),
            Component::AUTHORITY,
            Component::field("content-type").unwrap(),
        ])
        .insecure_allow_missing_nonce()
        .insecure_allow_uncovered_body()
        .clock(clock.shared())
        .build()
        .unwrap();
    let auth = HmacAuthenticator::new(verifier);
    let headers = test_request_headers()
        .with(
            "Signature-Input",
            r#"sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret""#,
        )
        .with("Signature", "sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:");
    let request = AuthRequest::new("POST", TEST_REQUEST_TARGET, &headers)
        .with_secure(true)
        .with_body(Some(TEST_REQUEST_BODY));
    match auth_core::authenticate(&auth, &request).await {
        Outcome::Authenticated(principal) => {
            assert_eq!(principal.subject(), "rfc-client");
            assert_eq!(principal.key_id(), Some("test-shared-secret"));
        }
        other => panic!("the RFC's signature must verify: {other:?}"),
    }
}

#[test]
fn rfc9421_section_2_5_signature_base() {
    // RFC 9421 §2.5, "Non-normative example Signature Base" over test-request.
    let headers = test_request_headers();
    let parts = RequestParts::new("POST", TEST_REQUEST_TARGET, &headers);
    let params = concat!(
        r#"("@method" "@authority" "@path" "content-digest" "content-length" "content-type")"#,
        r#";created=1618884473;keyid="test-key-rsa-pss""#
    );
    let expected = concat!(
        "\"@method\": POST\n",
        "\"@authority\": example.com\n",
        "\"@path\": /foo\n",
        "\"content-digest\": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:\n",
        "\"content-length\": 18\n",
        "\"content-type\": application/json\n",
        "\"@signature-params\": (\"@method\" \"@authority\" \"@path\" \"content-digest\" \"content-length\" \"content-type\")",
        ";created=1618884473;keyid=\"test-key-rsa-pss\"",
    );
    assert_eq!(base(params, &parts), expected);
}

#[test]
fn rfc9421_appendix_b2_bases() {
    let headers = test_request_headers();
    let parts = RequestParts::new("POST", TEST_REQUEST_TARGET, &headers);
    // RFC 9421 Appendix B.2.1, minimal signature (no covered components).
    assert_eq!(
        base(
            r#"();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd""#,
            &parts
        ),
        r#""@signature-params": ();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd""#
    );
    // RFC 9421 Appendix B.2.2, selective covered components.
    assert_eq!(
        base(
            r#"("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example""#,
            &parts
        ),
        concat!(
            "\"@authority\": example.com\n",
            "\"content-digest\": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:\n",
            "\"@query-param\";name=\"Pet\": dog\n",
            "\"@signature-params\": (\"@authority\" \"content-digest\" \"@query-param\";name=\"Pet\")",
            ";created=1618884473;keyid=\"test-key-rsa-pss\";tag=\"header-example\"",
        )
    );
    // RFC 9421 Appendix B.2.3, full coverage.
    assert_eq!(
        base(
            r#"("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss""#,
            &parts
        ),
        concat!(
            "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n",
            "\"@method\": POST\n",
            "\"@path\": /foo\n",
            "\"@query\": ?param=Value&Pet=dog\n",
            "\"@authority\": example.com\n",
            "\"content-type\": application/json\n",
            "\"content-digest\": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:\n",
            "\"content-length\": 18\n",
            "\"@signature-params\": (\"date\" \"@method\" \"@path\" \"@query\" \"@authority\" \"content-type\" \"content-digest\" \"content-length\")",
            ";created=1618884473;keyid=\"test-key-rsa-pss\"",
        )
    );
}

#[test]
fn rfc9421_section_2_2_derived_components() {
    // RFC 9421 §2.2.1–§2.2.7: `POST /path?param=value HTTP/1.1`, `Host: www.example.com`.
    let host = HeaderList::new().with("Host", "www.example.com");
    let over_https = RequestParts::new("POST", "/path?param=value", &host).with_scheme("https");
    let over_http = over_https.with_scheme("http");
    // §2.2.1
    assert_eq!(line(Component::METHOD, &over_https), r#""@method": POST"#);
    // §2.2.2, "sent over HTTPS"
    assert_eq!(
        line(Component::TARGET_URI, &over_https),
        r#""@target-uri": https://www.example.com/path?param=value"#
    );
    // §2.2.3
    assert_eq!(
        line(Component::AUTHORITY, &over_https),
        r#""@authority": www.example.com"#
    );
    // §2.2.4, "requested over plain HTTP"
    assert_eq!(line(Component::SCHEME, &over_http), r#""@scheme": http"#);
    // §2.2.5, origin-form, absolute-form, authority-form (CONNECT), asterisk-form (OPTIONS)
    assert_eq!(
        line(Component::REQUEST_TARGET, &over_https),
        r#""@request-target": /path?param=value"#
    );
    let absolute = RequestParts::new("GET", "https://www.example.com/path?param=value", &host);
    assert_eq!(
        line(Component::REQUEST_TARGET, &absolute),
        r#""@request-target": https://www.example.com/path?param=value"#
    );
    let connect = RequestParts::new("CONNECT", "www.example.com:80", &host);
    assert_eq!(
        line(Component::REQUEST_TARGET, &connect),
        r#""@request-target": www.example.com:80"#
    );
    let options = RequestParts::new("OPTIONS", "*", &host);
    assert_eq!(
        line(Component::REQUEST_TARGET, &options),
        r#""@request-target": *"#
    );
    // §2.2.6
    assert_eq!(line(Component::PATH, &over_https), r#""@path": /path"#);
    // §2.2.7, three requests
    let query = RequestParts::new("POST", "/path?param=value&foo=bar&baz=bat%2Dman", &host);
    assert_eq!(
        line(Component::QUERY, &query),
        r#""@query": ?param=value&foo=bar&baz=bat%2Dman"#
    );
    let query_string = RequestParts::new("POST", "/path?queryString", &host);
    assert_eq!(
        line(Component::QUERY, &query_string),
        r#""@query": ?queryString"#
    );
    let no_query = RequestParts::new("POST", "/path", &host);
    assert_eq!(line(Component::QUERY, &no_query), r#""@query": ?"#);
}

#[test]
fn rfc9421_section_2_2_8_query_parameters() {
    let host = HeaderList::new().with("Host", "www.example.com");
    // RFC 9421 §2.2.8, first example.
    let parts = RequestParts::new("POST", "/path?param=value&foo=bar&baz=batman&qux=", &host);
    let param = |name| Component::query_param(name).unwrap();
    assert_eq!(
        line(param("baz"), &parts),
        r#""@query-param";name="baz": batman"#
    );
    assert_eq!(line(param("qux"), &parts), r#""@query-param";name="qux": "#);
    assert_eq!(
        line(param("param"), &parts),
        r#""@query-param";name="param": value"#
    );
    // RFC 9421 §2.2.8, second example: names and values decoded, then re-encoded.
    let parts = RequestParts::new(
        "GET",
        "/parameters?var=this%20is%20a%20big%0Amultiline%20value&bar=with+plus+whitespace&fa%C3%A7ade%22%3A%20=something",
        &host,
    );
    assert_eq!(
        line(param("var"), &parts),
        r#""@query-param";name="var": this%20is%20a%20big%0Amultiline%20value"#
    );
    assert_eq!(
        line(param("bar"), &parts),
        r#""@query-param";name="bar": with%20plus%20whitespace"#
    );
    assert_eq!(
        line(param("fa%C3%A7ade%22%3A%20"), &parts),
        r#""@query-param";name="fa%C3%A7ade%22%3A%20": something"#
    );
    // A missing or repeated parameter cannot be signed (§2.2.8: repeated names MUST NOT be
    // included; sign `@query`).
    let repeated = RequestParts::new("GET", "/p?a=1&a=2", &host);
    assert!(
        SignatureParams::new([param("a")])
            .signature_base(&repeated)
            .is_err()
    );
    assert!(
        SignatureParams::new([param("zzz")])
            .signature_base(&parts)
            .is_err()
    );
}

#[test]
fn rfc9421_section_2_1_http_fields() {
    // RFC 9421 §2.1, the example header fields and their component values.
    let headers = HeaderList::new()
        .with("Host", "www.example.com")
        .with("Date", "Tue, 20 Apr 2021 02:07:56 GMT")
        .with("X-OWS-Header", "   Leading and trailing whitespace.")
        .with("X-Obs-Fold-Header", "Obsolete\r\n    line folding.")
        .with("Cache-Control", "max-age=60")
        .with("Cache-Control", "   must-revalidate")
        .with("Example-Dict", " a=1,    b=2;x=1;y=2,   c=(a   b   c)")
        .with("X-Empty-Header", "");
    let parts = RequestParts::new("GET", "/", &headers);
    let field = |name| line(Component::field(name).unwrap(), &parts);
    assert_eq!(field("host"), r#""host": www.example.com"#);
    assert_eq!(field("date"), r#""date": Tue, 20 Apr 2021 02:07:56 GMT"#);
    assert_eq!(
        field("x-ows-header"),
        r#""x-ows-header": Leading and trailing whitespace."#
    );
    assert_eq!(
        field("x-obs-fold-header"),
        r#""x-obs-fold-header": Obsolete line folding."#
    );
    assert_eq!(
        field("cache-control"),
        r#""cache-control": max-age=60, must-revalidate"#
    );
    assert_eq!(
        field("example-dict"),
        r#""example-dict": a=1,    b=2;x=1;y=2,   c=(a   b   c)"#
    );
    assert_eq!(field("x-empty-header"), r#""x-empty-header": "#);
}

#[test]
fn rfc9530_content_digests() {
    // RFC 9421 §2.5 / Appendix B.2 test-request: sha-512 of the 18-byte `{"hello": "world"}`.
    assert_eq!(
        content_digest(DigestAlgorithm::Sha512, TEST_REQUEST_BODY),
        "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
    );
    // RFC 9530 Appendix B.1: `{"hello": "world"}` followed by an LF.
    let with_lf = b"{\"hello\": \"world\"}\n";
    assert_eq!(
        content_digest(DigestAlgorithm::Sha256, with_lf),
        "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:"
    );
    // RFC 9530 §2 and Appendix C.2: the sha-512 of the same content.
    let sha512 = "sha-512=:YMAam51Jz/jOATT6/zvHrLVgOYTGFy1d6GJiOHTohq4yP+pgk4vf2aCsyRZOtw8MjkM7iw7yZ/WkppmM44T3qg==:";
    assert_eq!(content_digest(DigestAlgorithm::Sha512, with_lf), sha512);
    verify_content_digest(&[sha512.as_bytes()], with_lf).unwrap();
    verify_content_digest(&[sha512.as_bytes()], TEST_REQUEST_BODY).unwrap_err();
}

#[test]
fn rfc4231_hmac_sha256_cases_1_to_7() {
    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
    let counting: Vec<u8> = (0x01..=0x19).collect();
    let cases: [(&str, Vec<u8>, Vec<u8>, &str); 7] = [
        (
            "§4.2 test case 1",
            vec![0x0b; 20],
            b"Hi There".to_vec(),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ),
        (
            "§4.3 test case 2",
            b"Jefe".to_vec(),
            b"what do ya want for nothing?".to_vec(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        (
            "§4.4 test case 3",
            vec![0xaa; 20],
            vec![0xdd; 50],
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
        ),
        (
            "§4.5 test case 4",
            counting,
            vec![0xcd; 50],
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
        ),
        (
            // Test case 5 gives the output truncated to 128 bits.
            "§4.6 test case 5",
            vec![0x0c; 20],
            b"Test With Truncation".to_vec(),
            "a3b6167473100ee06e0c796c2955552b",
        ),
        (
            "§4.7 test case 6",
            vec![0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
        (
            "§4.8 test case 7",
            vec![0xaa; 131],
            b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".to_vec(),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
        ),
    ];
    for (case, key, data, expected) in cases {
        let mac = hex(&hmac_sha256(&key, &[&data]));
        assert_eq!(&mac[..expected.len()], expected, "RFC 4231 {case}");
    }
}
