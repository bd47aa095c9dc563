//! A small harness: one client key, a verifier on a manual clock, and helpers to sign
//! properly or to forge signatures with the low-level API.

use std::sync::Arc;

use auth_core::{AuthRequest, HeaderList, ManualClock, Outcome, Principal, Rejection};
use auth_hmac::{
    Component, HmacAuthenticator, HmacKey, MemoryKeyStore, RequestParts, SignatureHeaders,
    SignatureParams, Signer, SignerBuilder, Verifier, VerifierBuilder, hmac_sha256,
};

pub(crate) const KEY_ID: &str = "client-2025";
pub(crate) const SECRET: &str = "tests-only secret: 32+ random-looking bytes 9f3a";
pub(crate) const HOST: &str = "api.example.com";
pub(crate) const URL: &str = "https://api.example.com/orders";

pub(crate) struct Harness {
    pub(crate) clock: ManualClock,
    pub(crate) keys: Arc<MemoryKeyStore>,
    pub(crate) auth: HmacAuthenticator,
}

pub(crate) fn harness() -> Harness {
    harness_with(|builder| builder)
}

pub(crate) fn harness_with(configure: impl FnOnce(VerifierBuilder) -> VerifierBuilder) -> Harness {
    let clock = ManualClock::starting_now();
    let keys = Arc::new(MemoryKeyStore::new());
    keys.insert(
        HmacKey::new(KEY_ID, "client", SECRET)
            .unwrap()
            .with_scopes("orders:write".parse().unwrap()),
    );
    let builder = Verifier::builder(Arc::clone(&keys)).clock(clock.shared());
    let auth = HmacAuthenticator::new(configure(builder).build().unwrap());
    Harness { clock, keys, auth }
}

impl Harness {
    pub(crate) fn signer(&self) -> SignerBuilder {
        Signer::builder(KEY_ID, SECRET).clock(self.clock.shared())
    }

    /// `Host` and `Content-Type`, plus the headers of a signature by `signer`.
    pub(crate) fn signed(
        &self,
        signer: &Signer,
        method: &str,
        url: &str,
        body: Option<&[u8]>,
    ) -> HeaderList {
        let mut headers = base_headers();
        let signed = signer.sign(method, url, &headers, body).unwrap();
        for (name, value) in signed.iter() {
            headers.push(name, value);
        }
        headers
    }

    /// Runs the authenticator (with its audit event) on a request over HTTPS.
    pub(crate) async fn run(
        &self,
        method: &str,
        target: &str,
        headers: &HeaderList,
        body: Option<&[u8]>,
    ) -> Outcome {
        let request = AuthRequest::new(method, target, headers)
            .with_secure(true)
            .with_body(Some(body.unwrap_or_default()));
        auth_core::authenticate(&self.auth, &request).await
    }
}

pub(crate) fn base_headers() -> HeaderList {
    HeaderList::new()
        .with("Host", HOST)
        .with("Content-Type", "application/json")
}

/// Signs `params` over the request with `secret`, as a (possibly malicious) client that uses
/// the low-level API would, and appends the signature headers.
pub(crate) fn forge(
    headers: &mut HeaderList,
    method: &str,
    target: &str,
    params: &SignatureParams,
    label: &str,
    mangle_base: impl FnOnce(Vec<u8>) -> Vec<u8>,
) {
    let base = {
        let parts = RequestParts::new(method, target, &*headers).with_scheme("https");
        params.signature_base(&parts).unwrap()
    };
    let mac = hmac_sha256(SECRET.as_bytes(), &[&mangle_base(base)]);
    let signed = SignatureHeaders::new(label, params, &mac).unwrap();
    for (name, value) in signed.iter() {
        headers.push(name, value);
    }
}

/// Parameters for `components`, fresh at `now`, with a nonce and the test key id.
pub(crate) fn params(
    components: impl IntoIterator<Item = Component>,
    now: u64,
    nonce: &str,
) -> SignatureParams {
    SignatureParams::new(components)
        .created(now)
        .key_id(KEY_ID)
        .nonce(nonce)
}

#[track_caller]
pub(crate) fn authenticated(outcome: Outcome) -> Principal {
    match outcome {
        Outcome::Authenticated(principal) => principal,
        other => panic!("expected success, got {other:?}"),
    }
}

#[track_caller]
pub(crate) fn rejected(outcome: Outcome) -> Rejection {
    match outcome {
        Outcome::Rejected(rejection) => rejection,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// Asserts a 401 refusal with audit reason `reason`.
#[track_caller]
pub(crate) fn refused(outcome: Outcome, reason: &str) {
    let rejection = rejected(outcome);
    assert_eq!(rejection.reason(), reason, "{rejection:?}");
    assert_eq!(rejection.status(), 401, "{rejection:?}");
}

/// Asserts a 400 with audit reason `reason`.
#[track_caller]
pub(crate) fn bad_request(outcome: Outcome, reason: &str) {
    let rejection = rejected(outcome);
    assert_eq!(rejection.reason(), reason, "{rejection:?}");
    assert_eq!(rejection.status(), 400, "{rejection:?}");
}

/// Replaces the value of every header named `name`.
pub(crate) fn replace(headers: &HeaderList, name: &str, value: &str) -> HeaderList {
    rebuild(headers, |n, v| {
        if n.eq_ignore_ascii_case(name) {
            Some(value.as_bytes().to_vec())
        } else {
            Some(v.to_vec())
        }
    })
}

/// Removes every header named `name`.
pub(crate) fn without(headers: &HeaderList, name: &str) -> HeaderList {
    rebuild(headers, |n, v| {
        (!n.eq_ignore_ascii_case(name)).then(|| v.to_vec())
    })
}

fn rebuild(headers: &HeaderList, mut f: impl FnMut(&str, &[u8]) -> Option<Vec<u8>>) -> HeaderList {
    // HeaderList has no iterator; rebuild it from the names we use in these tests.
    let mut out = HeaderList::new();
    for name in [
        "Host",
        "Content-Type",
        "Signature-Input",
        "Signature",
        "Content-Digest",
        "X-Extra",
        "@method",
    ] {
        for value in auth_core::HeaderSource::get_all(headers, name) {
            if let Some(value) = f(name, value) {
                out.push(name, value);
            }
        }
    }
    out
}
