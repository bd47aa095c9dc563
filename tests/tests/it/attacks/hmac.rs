//! RFC 9421 signed-request attacks (issue 6's list), sent to a real server. Honest
//! signatures come from our `Signer`; forged ones are computed the way a client using the
//! low-level API would: any covered list, any parameters, the MAC over any bytes.

use std::sync::Arc;
use std::time::Duration;

use auth_actix::hmac::{self, Component, HmacKey, MemoryKeyStore, Signer, Verifier};
use auth_core::{Clock, HeaderList, ManualClock};
use auth_hmac::{RequestParts, SignatureHeaders, SignatureParams, hmac_sha256};
use auth_tests::TestApp;
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::{expect, protected};

const KEY_ID: &str = "attacks-client";
/// The client's HMAC secret (tests only).
const SECRET: &str = "attack-suite HMAC secret, 32+ bytes: 0d9f3b6e";
const BODY: &[u8] = br#"{"item":"book","qty":1}"#;

struct Server {
    app: TestApp,
    clock: ManualClock,
}

fn server() -> Server {
    let clock = ManualClock::starting_now();
    let keys = Arc::new(MemoryKeyStore::new());
    keys.insert(HmacKey::new(KEY_ID, "alice", SECRET).unwrap());
    let verifier = Verifier::builder(keys)
        .clock(clock.shared())
        .build()
        .unwrap();
    Server {
        app: protected(hmac::middleware(verifier)),
        clock,
    }
}

impl Server {
    fn signer(&self) -> Signer {
        Signer::builder(KEY_ID, SECRET)
            .clock(self.clock.shared())
            .build()
            .unwrap()
    }

    /// A POST of [`BODY`] to `path`, signed by `signer`.
    fn signed_post(&self, signer: &Signer, path: &str) -> reqwest::RequestBuilder {
        let url = self.app.url(path);
        let signature = signer
            .sign("POST", &url, &HeaderList::new(), Some(BODY))
            .unwrap();
        let mut request = self.app.post(path).body(BODY.to_vec());
        for (name, value) in signature.iter() {
            request = request.header(name, value);
        }
        request
    }

    /// The headers of a signature over `method target` (sent as `headers`) with `params`,
    /// the MAC computed over `mangle(base)`.
    fn forge(
        &self,
        method: &str,
        target: &str,
        headers: &HeaderList,
        params: &SignatureParams,
        mangle: impl FnOnce(Vec<u8>) -> Vec<u8>,
    ) -> Vec<(String, String)> {
        let authority = self.app.addr.to_string();
        let parts = RequestParts::new(method, target, headers)
            .with_scheme("http")
            .with_authority(Some(&authority));
        let base = params.signature_base(&parts).unwrap();
        let mac = hmac_sha256(SECRET.as_bytes(), &[&mangle(base)]);
        SignatureHeaders::new("sig1", params, &mac)
            .unwrap()
            .iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }

    fn params(
        &self,
        components: impl IntoIterator<Item = Component>,
        nonce: &str,
    ) -> SignatureParams {
        SignatureParams::new(components)
            .created(self.clock.unix_now())
            .key_id(KEY_ID)
            .nonce(nonce)
    }

    fn get_with(&self, path: &str, headers: &[(String, String)]) -> reqwest::RequestBuilder {
        headers
            .iter()
            .fold(self.app.get(path), |r, (n, v)| r.header(n, v))
    }
}

async fn refused(request: reqwest::RequestBuilder, path: &str, reason: &str) {
    expect(request, path, StatusCode::UNAUTHORIZED, reason).await;
}

#[actix_web::test]
async fn the_attack_server_accepts_honest_signatures() {
    // The control for the forgeries below: the same forge, honestly used, is accepted.
    let s = server();
    let path = "/hmac/control/signer";
    expect(s.signed_post(&s.signer(), path), path, StatusCode::OK, "ok").await;
    let path = "/hmac/control/forge";
    let headers = s.forge(
        "GET",
        path,
        &HeaderList::new(),
        &s.params([Component::METHOD, Component::TARGET_URI], "n-control"),
        |b| b,
    );
    expect(s.get_with(path, &headers), path, StatusCode::OK, "ok").await;
}

#[actix_web::test]
async fn attack_created_too_old_too_far_ahead_or_expired() {
    let s = server();
    let old = s.signed_post(&s.signer(), "/hmac/time/old");
    s.clock.advance(Duration::from_secs(301));
    refused(old, "/hmac/time/old", "created_too_old").await;

    let ahead = s.signed_post(&s.signer(), "/hmac/time/ahead");
    s.clock.set(s.clock.now() - Duration::from_secs(60));
    refused(ahead, "/hmac/time/ahead", "created_in_future").await;

    let expiring = Signer::builder(KEY_ID, SECRET)
        .clock(s.clock.shared())
        .expires_after(Duration::from_secs(10))
        .build()
        .unwrap();
    let expired = s.signed_post(&expiring, "/hmac/time/expired");
    s.clock.advance(Duration::from_secs(11));
    refused(expired, "/hmac/time/expired", "signature_expired").await;
}

#[actix_web::test]
async fn attack_content_digest_not_covered_while_a_body_is_present() {
    // Signed without `content-digest`: any body would ride on this signature.
    let s = server();
    let path = "/hmac/uncovered-body";
    let params = s.params([Component::METHOD, Component::TARGET_URI], "n-body");
    let headers = s.forge("POST", path, &HeaderList::new(), &params, |b| b);
    let request = headers
        .iter()
        .fold(s.app.post(path).body(BODY.to_vec()), |r, (n, v)| {
            r.header(n, v)
        });
    refused(request, path, "insufficient_coverage").await;
}

#[actix_web::test]
async fn attack_only_path_covered_and_a_query_added() {
    let s = server();
    let path = "/hmac/path-only";
    let params = s.params([Component::METHOD, Component::PATH], "n-path");
    let headers = s.forge("GET", path, &HeaderList::new(), &params, |b| b);
    let target = format!("{path}?admin=1");
    refused(s.get_with(&target, &headers), path, "insufficient_coverage").await;
}

#[actix_web::test]
async fn attack_empty_covered_list() {
    let s = server();
    let path = "/hmac/empty";
    let no_components: [Component; 0] = [];
    let headers = s.forge(
        "GET",
        path,
        &HeaderList::new(),
        &s.params(no_components, "n-empty"),
        |b| b,
    );
    refused(s.get_with(path, &headers), path, "insufficient_coverage").await;
}

#[actix_web::test]
async fn attack_covered_header_sent_twice() {
    // `x-tenant: 7` is signed; a second `x-tenant` line changes what the server reads.
    let s = server();
    let path = "/hmac/twice";
    let tenant = Component::field("x-tenant").unwrap();
    let signed_headers = HeaderList::new().with("x-tenant", "7");
    let params = s.params(
        [Component::METHOD, Component::TARGET_URI, tenant],
        "n-twice",
    );
    let headers = s.forge("GET", path, &signed_headers, &params, |b| b);
    let request = s
        .get_with(path, &headers)
        .header("x-tenant", "7")
        .header("x-tenant", "1");
    refused(request, path, "bad_signature").await;
}

#[actix_web::test]
async fn attack_real_header_named_like_a_derived_component() {
    // Signed as GET, sent as DELETE with a header line claiming `@method: GET`. HTTP clients
    // refuse to send such a name, so the request is written by hand.
    let s = server();
    let path = "/hmac/at-method";
    let params = s.params([Component::METHOD, Component::TARGET_URI], "n-at");
    let headers = s.forge("GET", path, &HeaderList::new(), &params, |b| b);
    let mut request = format!("DELETE {path} HTTP/1.1\r\nHost: {}\r\n", s.app.addr);
    for (name, value) in &headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("@method: GET\r\nConnection: close\r\n\r\n");
    let answer = tokio::time::timeout(auth_tests::REQUEST_TIMEOUT, async {
        let mut stream = tokio::net::TcpStream::connect(s.app.addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    })
    .await
    .expect("the server answers in time");
    let status = answer.split(' ').nth(1).unwrap_or_default();
    // The HTTP parser refuses the header name (400); were it let through, the signature
    // would not cover a method it read from a header (401 bad_signature).
    assert!(["400", "401"].contains(&status), "{answer}");
    if status == "401" {
        let logs = auth_tests::LogCapture::install();
        let events = logs.audit_events(path);
        assert_eq!(
            events.last().unwrap()["reason"],
            "bad_signature",
            "{events:?}"
        );
    }
}

#[actix_web::test]
async fn attack_unknown_keyid() {
    let s = server();
    let stranger = Signer::builder("nobody", SECRET)
        .clock(s.clock.shared())
        .build()
        .unwrap();
    let path = "/hmac/unknown-keyid";
    refused(s.signed_post(&stranger, path), path, "unknown_key").await;
}

#[actix_web::test]
async fn attack_truncated_or_non_base64_signature() {
    let s = server();
    let params = s.params([Component::METHOD, Component::TARGET_URI], "n-trunc");
    let path = "/hmac/truncated";
    let mut headers = s.forge("GET", path, &HeaderList::new(), &params, |b| b);
    let signature = headers.iter_mut().find(|(n, _)| n == "Signature").unwrap();
    let value = signature.1.clone();
    // `sig1=:<44 base64 chars>:` → drop the last 4 characters of the byte sequence.
    let colon = value.rfind(':').unwrap();
    signature.1 = format!("{}:", &value[..colon - 4]);
    refused(s.get_with(path, &headers), path, "bad_signature").await;

    let path = "/hmac/not-base64";
    let params = s.params([Component::METHOD, Component::TARGET_URI], "n-b64");
    let mut headers = s.forge("GET", path, &HeaderList::new(), &params, |b| b);
    let signature = headers.iter_mut().find(|(n, _)| n == "Signature").unwrap();
    signature.1 = "sig1=:not*base64!:".to_owned();
    expect(
        s.get_with(path, &headers),
        path,
        StatusCode::BAD_REQUEST,
        "malformed_signature",
    )
    .await;
}

#[actix_web::test]
async fn attack_trailing_newline_on_the_base() {
    let s = server();
    let path = "/hmac/newline";
    let params = s.params([Component::METHOD, Component::TARGET_URI], "n-newline");
    let headers = s.forge("GET", path, &HeaderList::new(), &params, |mut base| {
        base.push(b'\n');
        base
    });
    refused(s.get_with(path, &headers), path, "bad_signature").await;
}
