//! The OAuth 2.0 token service's endpoints (`TokenService::token`, `introspect`, `revoke`):
//! the `application/x-www-form-urlencoded` body (RFC 6749 §3.1: no repeated parameters),
//! the query-string checks, client authentication (HTTP Basic or the body, one method only,
//! RFC 6749 §2.3.1) and the grant dispatch.
//!
//! Input: one byte choosing the endpoint, then a request for `auth_fuzz::Request`
//! (`METHOD TARGET`, header lines, empty line, body). `$S` is replaced by the client's
//! secret and `$B` by `base64("billing:" + secret)`, so that the fuzzer can authenticate.
//!
//! Properties: no panic; never a 5xx answer; `Cache-Control: no-store`; error answers are
//! RFC 6749 §5.2 JSON with an `error` code, a 401 names its scheme in `WWW-Authenticate`;
//! a 200 only for a request that carried the client's secret (decoded from the form or
//! from HTTP Basic); a secret sent only in the Basic header is never echoed.
#![no_main]

use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime};

use auth_core::{AuthRequest, ManualClock, Secret};
use auth_fuzz::{Request, ready};
use auth_jwt::{Algorithm, Key, KeySet};
use auth_oauth2::oauth2::url::form_urlencoded;
use auth_oauth2::{ClientConfig, GrantType, MemoryClientRegistry, TokenFormat, TokenService};
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "s3cr3t-0123456789-abcdefghijklmnopqrstuvwxyz";

static SERVICE: LazyLock<TokenService> = LazyLock::new(|| {
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let clients = Arc::new(MemoryClientRegistry::new());
    clients
        .register_with_secret(
            ClientConfig::new("billing")
                .grant(GrantType::ClientCredentials)
                .scopes("orders:read orders:write".parse().expect("scopes"))
                .audience("https://api.example/orders")
                .introspection_for("https://api.example/orders"),
            &Secret::from(SECRET),
        )
        .expect("client");
    TokenService::builder(
        "https://id.example",
        KeySet::single(Key::generate("k1", Algorithm::ES256).expect("key")),
        clients,
    )
    .audience("https://api.example/orders", TokenFormat::Jwt)
    .clock(clock.shared())
    // Every input would otherwise soon be throttled (429) and explore nothing.
    .insecure_without_throttle()
    .build()
    .expect("service")
});

fuzz_target!(|data: &[u8]| {
    let Some((&endpoint, rest)) = data.split_first() else {
        return;
    };
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("billing:{SECRET}"));
    let mut input = rest.to_vec();
    replace(&mut input, b"$S", SECRET.as_bytes());
    replace(&mut input, b"$B", basic.as_bytes());
    let Some(request) = Request::parse(&input) else {
        return;
    };
    let headers = request.header_list();
    let auth = AuthRequest::new(request.method, request.target, &headers)
        .with_body(Some(request.body))
        .with_secure(true)
        .with_peer(Some(([192, 0, 2, 1], 4711).into()));
    let service = &*SERVICE;
    let response = match endpoint % 3 {
        0 => ready(service.token(&auth)),
        1 => ready(service.introspect(&auth)),
        _ => ready(service.revoke(&auth)),
    };

    let status = response.status();
    assert!((200..500).contains(&status), "status {status}");
    assert_eq!(response.header("cache-control"), Some("no-store"));
    // Parameters may be echoed in `error_description` (a refused scope is named), but a
    // secret that only came in the Basic header never is.
    let in_params = in_form(request.body) || in_form(request.target.as_bytes());
    if !in_params {
        assert!(
            !response.body().contains(SECRET),
            "the secret was echoed: {}",
            response.body()
        );
    }
    if status == 200 {
        let in_basic = request.headers.iter().any(|(_, value)| in_basic(value));
        assert!(
            in_params || in_basic,
            "authenticated without the client's secret"
        );
    } else if !response.body().is_empty() {
        let json = response.json();
        assert!(
            json["error"].is_string(),
            "error body without `error`: {}",
            response.body()
        );
    }
    // RFC 6749 §5.2: a client that tried HTTP Basic gets the Basic challenge back.
    let tried_basic = request.headers.iter().any(|(name, value)| {
        name.eq_ignore_ascii_case("authorization")
            && value.len() > 6
            && value[..6].eq_ignore_ascii_case(b"basic ")
    });
    if status == 401 && tried_basic {
        assert!(
            response.header("www-authenticate").is_some(),
            "401 to Basic without challenge"
        );
    }
});

/// Whether a form-encoded text (a body, a target's query) holds the secret, decoded.
fn in_form(text: &[u8]) -> bool {
    let query = text.splitn(2, |&b| b == b'?').last().unwrap_or_default();
    form_urlencoded::parse(text)
        .chain(form_urlencoded::parse(query))
        .any(|(name, value)| name.contains(SECRET) || value.contains(SECRET))
}

/// Whether a header value is HTTP Basic credentials holding the secret (base64, then
/// form-decoded as RFC 6749 §2.3.1 requires).
fn in_basic(value: &[u8]) -> bool {
    let text = String::from_utf8_lossy(value);
    let Some((_, encoded)) = text.split_once(' ') else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    decoded
        .split(|&b| b == b':')
        .any(|part| form_urlencoded::parse(part).any(|(name, _)| name.contains(SECRET)))
}

/// Replaces every `from` in `data` by `to`; whether there was one.
fn replace(data: &mut Vec<u8>, from: &[u8], to: &[u8]) -> bool {
    let mut found = false;
    let mut i = 0;
    while i + from.len() <= data.len() {
        if &data[i..i + from.len()] == from {
            data.splice(i..i + from.len(), to.iter().copied());
            i += to.len();
            found = true;
        } else {
            i += 1;
        }
    }
    found
}
