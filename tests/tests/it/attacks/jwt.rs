//! JWT attacks (RFC 8725, issue 5's list) and the CVEs of peer JWT libraries, each sent as a
//! bearer token to a real server. Every token is hand-made: header and payload text exactly
//! as written, signed (or not) as the attacker would.

use std::time::{Duration, UNIX_EPOCH};

use auth_actix::Authenticate;
use auth_core::{ManualClock, Secret};
use auth_jwt::{
    Algorithm, Jwk, JwtAuthenticator, Key, KeyError, KeySet, MemoryRevocationStore, Verifier,
    VerifierBuilder,
};
use auth_tests::TestApp;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{expect, protected};

/// The servers' clock: tokens are judged at this instant.
const NOW: u64 = 1_800_000_000;
/// The HS256 secret of the servers that use one (tests only).
const HS_SECRET: &str = "attack-suite HS256 secret, 32+ bytes: 5e0c9a71";
/// n, the order of the P-256 group (SEC 2 §2.4.2).
const P256_ORDER: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
];

fn clock() -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_secs(NOW))
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/it/attacks/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn hs() -> Key {
    Key::hmac("hs", Algorithm::HS256, &Secret::from(HS_SECRET)).unwrap()
}

/// A payload valid at [`NOW`] for subject `alice`, with `extra` members appended.
fn payload(extra: &str) -> String {
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!(",{extra}")
    };
    format!(
        r#"{{"sub":"alice","iat":{},"exp":{}{extra}}}"#,
        NOW - 10,
        NOW + 600
    )
}

/// `header.payload.signature`, the signature made by `key` over exactly these texts.
fn signed(header: &str, payload: &str, key: &Key) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let signature = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64(signature))
}

/// A server verifying bearer tokens against `keys`, on the fixed clock, configured further
/// by `configure`.
fn server(keys: KeySet, configure: impl FnOnce(VerifierBuilder) -> VerifierBuilder) -> TestApp {
    let verifier = configure(Verifier::builder(keys).clock(clock().shared()))
        .build()
        .unwrap();
    protected(Authenticate::new(
        JwtAuthenticator::builder(verifier).build().unwrap(),
    ))
}

async fn refused(app: &TestApp, path: &str, token: &str, reason: &str) {
    expect(
        app.get(path).bearer_auth(token),
        path,
        StatusCode::UNAUTHORIZED,
        reason,
    )
    .await;
}

async fn accepted(app: &TestApp, path: &str, token: &str) {
    let body = expect(app.get(path).bearer_auth(token), path, StatusCode::OK, "ok").await;
    assert_eq!(body, "alice");
}

#[actix_web::test]
async fn the_attack_servers_accept_an_honest_token() {
    // The control: each attack below differs from one of these in the one way it names.
    let app = server(KeySet::single(hs()), |b| b);
    let token = signed(r#"{"alg":"HS256","kid":"hs"}"#, &payload(""), &hs());
    accepted(&app, "/jwt/control/hs256", &token).await;

    let ec = Key::from_private_pem("ec", Algorithm::ES256, &fixture("p256.pem")).unwrap();
    let rsa = Key::from_private_pem("rsa", Algorithm::RS256, &fixture("rsa2048.pem")).unwrap();
    let app = server(public_keys(), |b| b);
    for (kid, alg, key) in [("ec", "ES256", &ec), ("rsa", "RS256", &rsa)] {
        let header = format!(r#"{{"alg":"{alg}","kid":"{kid}"}}"#);
        let token = signed(&header, &payload(""), key);
        accepted(&app, &format!("/jwt/control/{kid}"), &token).await;
    }
}

/// The verification keys of a server that trusts an EC and an RSA public key (PEM).
fn public_keys() -> KeySet {
    let mut keys = KeySet::new();
    keys.add(Key::from_public_pem("ec", Algorithm::ES256, &fixture("p256.pub.pem")).unwrap())
        .unwrap();
    keys.add(Key::from_public_pem("rsa", Algorithm::RS256, &fixture("rsa2048.pub.pem")).unwrap())
        .unwrap();
    keys
}

#[actix_web::test]
async fn attack_alg_none_in_any_case() {
    let app = server(KeySet::single(hs()), |b| b);
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = b64(format!(r#"{{"alg":"{alg}","kid":"hs"}}"#));
        let body = b64(payload(""));
        let with_sig = format!("{header}.{body}.{}", b64("anything"));
        refused(&app, &format!("/jwt/none/{alg}"), &with_sig, "jwt_bad_alg").await;
        let unsigned = format!("{header}.{body}.");
        let path = format!("/jwt/none/{alg}/unsigned");
        // Refused for its algorithm, whether or not it carries a signature.
        refused(&app, &path, &unsigned, "jwt_bad_alg").await;
    }
}

#[actix_web::test]
async fn attack_signature_stripped() {
    let app = server(KeySet::single(hs()), |b| b);
    let token = signed(r#"{"alg":"HS256","kid":"hs"}"#, &payload(""), &hs());
    let stripped = &token[..=token.rfind('.').unwrap()];
    refused(&app, "/jwt/stripped", stripped, "jwt_bad_signature").await;
}

/// A token signed HS256 with `secret` as the HMAC key, as an attacker who holds only
/// public material can make one.
fn hs256_with(secret: &[u8], header: &str) -> String {
    let forged =
        Key::dangerous_hmac_any_length("x", Algorithm::HS256, &Secret::from(secret)).unwrap();
    signed(header, &payload(""), &forged)
}

#[actix_web::test]
async fn attack_cve_2015_9235_hs256_signed_with_the_public_key_pem() {
    // node-jsonwebtoken CVE-2015-9235: the verifier took `alg` from the token, so HS256
    // "signed" with the server's RSA/EC public key (which anyone can fetch) verified.
    let app = server(public_keys(), |b| b);
    for (kid, pem) in [
        ("ec", fixture("p256.pub.pem")),
        ("rsa", fixture("rsa2048.pub.pem")),
    ] {
        let header = format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#);
        let path = format!("/jwt/cve-2015-9235/{kid}");
        refused(&app, &path, &hs256_with(&pem, &header), "jwt_bad_alg").await;
        // Without a kid either (a verifier might then pick "the" key).
        let path = format!("/jwt/cve-2015-9235/{kid}/no-kid");
        let token = hs256_with(&pem, r#"{"alg":"HS256"}"#);
        refused(&app, &path, &token, "jwt_unknown_kid").await;
    }
    // The other half of the CVE: `alg: none` against the public-key server.
    let none = format!(
        "{}.{}.",
        b64(r#"{"alg":"none","kid":"rsa"}"#),
        b64(payload(""))
    );
    refused(&app, "/jwt/cve-2015-9235/none", &none, "jwt_bad_alg").await;
}

#[actix_web::test]
async fn attack_cve_2022_29217_openssh_public_key_as_hmac_secret() {
    // PyJWT CVE-2022-29217: the guard against asymmetric keys used as HMAC secrets knew PEM
    // but not the OpenSSH `ecdsa-sha2-nistp256 AAAA...` form, so HS256 signed with that
    // text verified. Here the key, not the token, fixes the algorithm.
    let ssh = fixture("p256.ssh.pub");
    let trimmed = ssh.trim_ascii().to_vec();
    assert!(ssh.starts_with(b"ecdsa-sha2-nistp256 AAAA"));
    let app = server(public_keys(), |b| b);
    for (i, secret) in [ssh, trimmed].iter().enumerate() {
        let token = hs256_with(secret, r#"{"alg":"HS256","kid":"ec"}"#);
        let path = format!("/jwt/cve-2022-29217/{i}");
        refused(&app, &path, &token, "jwt_bad_alg").await;
    }
}

#[actix_web::test]
async fn attack_cve_2022_21449_psychic_ecdsa_signature() {
    // Java's ECDSA (CVE-2022-21449) accepted r = s = 0 for any message and key; for ES256 the
    // JWS signature is r || s, 64 zero bytes. r = s = n (the group order) is 0 mod n.
    let key = Key::generate("ec", Algorithm::ES256).unwrap();
    let app = server(KeySet::single(key), |b| b);
    let input = format!(
        "{}.{}",
        b64(r#"{"alg":"ES256","kid":"ec"}"#),
        b64(payload(""))
    );
    let zeros = [0_u8; 64];
    let order = [P256_ORDER, P256_ORDER].concat();
    for (name, signature) in [("zero", zeros.as_slice()), ("order", order.as_slice())] {
        let token = format!("{input}.{}", b64(signature));
        let path = format!("/jwt/cve-2022-21449/{name}");
        refused(&app, &path, &token, "jwt_bad_signature").await;
    }
}

#[actix_web::test]
async fn attack_cve_2022_23540_verification_without_algorithms() {
    // node-jsonwebtoken CVE-2022-23540: `verify` with no `algorithms` and a falsy key fell
    // back to `none`. Here `none` is no algorithm at all, the algorithm list is the key set,
    // and a verifier with no key (an empty set, as before a JWKS is fetched) refuses
    // everything rather than verifying nothing.
    assert!(auth_jwt::parse_alg("none").is_none());
    let app = server(KeySet::new(), |b| b);
    let unsigned = format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(payload("")));
    refused(&app, "/jwt/cve-2022-23540/none", &unsigned, "jwt_bad_alg").await;
    let with_sig = format!("{unsigned}{}", b64("x"));
    refused(
        &app,
        "/jwt/cve-2022-23540/none-signed",
        &with_sig,
        "jwt_bad_alg",
    )
    .await;
    let hs256 = signed(r#"{"alg":"HS256"}"#, &payload(""), &hs());
    refused(&app, "/jwt/cve-2022-23540/hs256", &hs256, "jwt_unknown_kid").await;
}

#[actix_web::test]
async fn attack_cve_2022_23541_key_type_confusion() {
    // node-jsonwebtoken CVE-2022-23541: a key lookup could hand an RSA/EC public key to the
    // HMAC check (or the reverse). Here each key is bound to its algorithm: the token's
    // `alg` must be the key's.
    let mut keys = public_keys();
    keys.add(hs()).unwrap();
    let app = server(keys, |b| b);
    let pem = fixture("p256.pub.pem");
    let to_ec = hs256_with(&pem, r#"{"alg":"HS256","kid":"ec"}"#);
    refused(&app, "/jwt/cve-2022-23541/hs-to-ec", &to_ec, "jwt_bad_alg").await;
    let theirs = Key::generate("theirs", Algorithm::ES256).unwrap();
    let to_hs = signed(r#"{"alg":"ES256","kid":"hs"}"#, &payload(""), &theirs);
    refused(&app, "/jwt/cve-2022-23541/es-to-hs", &to_hs, "jwt_bad_alg").await;
    let rsa = Key::from_private_pem("rsa", Algorithm::RS256, &fixture("rsa2048.pem")).unwrap();
    let to_ps = signed(r#"{"alg":"PS256","kid":"rsa"}"#, &payload(""), &rsa);
    refused(&app, "/jwt/cve-2022-23541/rs-as-ps", &to_ps, "jwt_bad_alg").await;
    // A symmetric JWK never becomes a verification key.
    let oct: Jwk = serde_json::from_value(json!({
        "kty": "oct", "kid": "oct", "alg": "HS256", "k": b64(HS_SECRET)
    }))
    .unwrap();
    assert!(Key::from_jwk(&oct).is_err());
}

#[actix_web::test]
async fn attack_cve_2022_23539_insecure_key_types_and_sizes() {
    // node-jsonwebtoken CVE-2022-23539: legacy, insecure key types were usable. Here weak
    // keys are refused when the key is made, or can verify nothing.
    assert!(matches!(
        Key::hmac(
            "short",
            Algorithm::HS256,
            &Secret::from([7_u8; 31].as_slice())
        ),
        Err(KeyError::WeakHmacKey { .. })
    ));
    let dsa = fixture("dsa2048.pub.pem");
    for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
        assert!(Key::from_public_pem("dsa", alg, &dsa).is_err(), "{alg:?}");
    }
    assert!(Key::from_public_pem("ec", Algorithm::RS256, &fixture("p256.pub.pem")).is_err());
    // RSA under 2048 bits: refused at construction, or no token verifies, not even one
    // properly signed by the 1024-bit key (made with `openssl dgst -sha256 -sign`, valid at
    // NOW; `openssl dgst -verify` accepts it).
    let small = fixture("rsa1024.pub.pem");
    if let Ok(key) = Key::from_public_pem("rsa1024", Algorithm::RS256, &small) {
        let app = server(KeySet::single(key), |b| b);
        let token = String::from_utf8(fixture("rsa1024.jwt")).unwrap();
        let token = token.trim();
        assert!(token.starts_with(&b64(r#"{"alg":"RS256","kid":"rsa1024"}"#)));
        refused(
            &app,
            "/jwt/cve-2022-23539/rsa1024",
            token,
            "jwt_bad_signature",
        )
        .await;
    }
}

#[actix_web::test]
async fn attack_cve_2018_0114_embedded_jwk() {
    // node-jose CVE-2018-0114: the verifier used the `jwk` the token carried in its header,
    // so any self-signed token verified. The attacker's key must be ignored.
    let ours = Key::generate("ours", Algorithm::ES256).unwrap();
    let theirs = Key::generate("theirs", Algorithm::ES256).unwrap();
    let their_jwk = serde_json::to_value(theirs.public_jwk().unwrap()).unwrap();
    let app = server(KeySet::single(ours), |b| b);
    for (kid, reason) in [("ours", "jwt_bad_signature"), ("theirs", "jwt_unknown_kid")] {
        let header = json!({"alg": "ES256", "kid": kid, "jwk": their_jwk}).to_string();
        let token = signed(&header, &payload(""), &theirs);
        refused(&app, &format!("/jwt/cve-2018-0114/{kid}"), &token, reason).await;
    }
}

#[actix_web::test]
async fn attack_jku_and_x5u_headers_are_never_fetched() {
    let ours = Key::generate("ours", Algorithm::ES256).unwrap();
    let theirs = Key::generate("ours", Algorithm::ES256).unwrap();
    let app = server(KeySet::single(ours), |b| b);
    // The URLs point at this very server: a verifier that fetched them would say so in the
    // log as a request to these paths.
    for (member, path) in [
        ("jku", "/jwt/jku"),
        ("x5u", "/jwt/x5u"),
        ("x5c", "/jwt/x5c"),
    ] {
        let value = if member == "x5c" {
            json!(["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"])
        } else {
            json!(app.url(&format!("{path}/keys")))
        };
        let header = json!({"alg": "ES256", "kid": "ours", member: value}).to_string();
        let token = signed(&header, &payload(""), &theirs);
        refused(&app, path, &token, "jwt_bad_signature").await;
        let logs = auth_tests::LogCapture::install();
        assert!(logs.audit_events(&format!("{path}/keys")).is_empty());
    }
}

#[actix_web::test]
async fn attack_hostile_kid() {
    let app = server(KeySet::single(hs()), |b| b);
    for (i, kid) in [
        json!("../../../../etc/passwd"),
        json!("/dev/null"),
        json!("' OR '1'='1' --"),
        json!(""),
        json!("hs\u{0}"),
        json!(7),
    ]
    .iter()
    .enumerate()
    {
        let header = json!({"alg": "HS256", "kid": kid}).to_string();
        let token = signed(&header, &payload(""), &hs());
        refused(&app, &format!("/jwt/kid/{i}"), &token, "jwt_unknown_kid").await;
    }
}

#[actix_web::test]
async fn attack_unknown_crit_header() {
    let app = server(KeySet::single(hs()), |b| b);
    let header = r#"{"alg":"HS256","kid":"hs","crit":["urn:x:pin"],"urn:x:pin":true}"#;
    let token = signed(header, &payload(""), &hs());
    refused(&app, "/jwt/crit", &token, "jwt_crit").await;
}

/// An HS256 token with exactly the claims `claims`.
fn with_claims(claims: &Value) -> String {
    signed(r#"{"alg":"HS256","kid":"hs"}"#, &claims.to_string(), &hs())
}

#[actix_web::test]
async fn attack_expired_beyond_the_leeway() {
    // The leeway is at most 60 s: a token expired 61 s ago is refused even then.
    let app = server(KeySet::single(hs()), |b| b.leeway(Duration::from_secs(60)));
    let token = with_claims(&json!({"sub": "alice", "iat": NOW - 700, "exp": NOW - 61}));
    refused(&app, "/jwt/expired", &token, "jwt_expired").await;
    let within = with_claims(&json!({"sub": "alice", "iat": NOW - 700, "exp": NOW - 59}));
    accepted(&app, "/jwt/expired/within-leeway", &within).await;
}

#[actix_web::test]
async fn attack_nbf_or_iat_an_hour_ahead() {
    let app = server(KeySet::single(hs()), |b| b);
    let nbf = with_claims(&json!({"sub": "alice", "nbf": NOW + 3600, "exp": NOW + 7200}));
    refused(&app, "/jwt/nbf-ahead", &nbf, "jwt_not_yet_valid").await;
    let iat = with_claims(&json!({"sub": "alice", "iat": NOW + 3600, "exp": NOW + 7200}));
    refused(&app, "/jwt/iat-ahead", &iat, "jwt_iat_in_future").await;
}

#[actix_web::test]
async fn attack_cve_2026_25537_exp_or_nbf_as_strings() {
    // jsonwebtoken CVE-2026-25537: `exp`/`nbf` given as strings were treated as absent, so
    // a long-expired token (or one not yet valid) passed. A time claim that is not a
    // NumericDate is refused, never skipped.
    let app = server(KeySet::single(hs()), |b| b);
    let expired = NOW - 3600;
    for (name, claims) in [
        (
            "exp",
            json!({"sub": "alice", "iat": NOW - 7200, "exp": expired.to_string()}),
        ),
        (
            "exp-now",
            json!({"sub": "alice", "iat": NOW - 10, "exp": (NOW + 600).to_string()}),
        ),
        (
            "nbf",
            json!({"sub": "alice", "nbf": (NOW + 3600).to_string(), "exp": NOW + 7200}),
        ),
        (
            "iat",
            json!({"sub": "alice", "iat": (NOW - 10).to_string(), "exp": NOW + 600}),
        ),
    ] {
        let path = format!("/jwt/cve-2026-25537/{name}");
        let token = with_claims(&claims);
        let response = app.get(&path).bearer_auth(&token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{name}");
    }
}

#[actix_web::test]
async fn attack_exp_null_or_missing() {
    let app = server(KeySet::single(hs()), |b| b);
    let null = with_claims(&json!({"sub": "alice", "iat": NOW - 10, "exp": null}));
    refused(&app, "/jwt/exp-null", &null, "jwt_invalid_claim").await;
    let missing = with_claims(&json!({"sub": "alice", "iat": NOW - 10}));
    refused(&app, "/jwt/exp-missing", &missing, "jwt_expired").await;
}

#[actix_web::test]
async fn attack_wrong_or_missing_audience_and_unknown_issuer() {
    let app = server(KeySet::single(hs()), |b| {
        b.issuer("https://id.example").audience("orders")
    });
    let good = r#""iss":"https://id.example","aud":"orders""#;
    accepted(&app, "/jwt/aud/control", &signed_payload(good)).await;
    for (name, extra, reason) in [
        (
            "wrong",
            r#""iss":"https://id.example","aud":"billing""#,
            "jwt_bad_audience",
        ),
        (
            "missing",
            r#""iss":"https://id.example""#,
            "jwt_bad_audience",
        ),
        (
            "iss-unknown",
            r#""iss":"https://id.example.evil","aud":"orders""#,
            "jwt_bad_issuer",
        ),
        ("iss-missing", r#""aud":"orders""#, "jwt_bad_issuer"),
    ] {
        let path = format!("/jwt/aud/{name}");
        refused(&app, &path, &signed_payload(extra), reason).await;
    }
}

fn signed_payload(extra: &str) -> String {
    signed(r#"{"alg":"HS256","kid":"hs"}"#, &payload(extra), &hs())
}

#[actix_web::test]
async fn attack_typ_jwt_where_at_jwt_is_required() {
    let app = server(KeySet::single(hs()), |b| b.required_typ("at+jwt"));
    let token = signed(
        r#"{"alg":"HS256","kid":"hs","typ":"JWT"}"#,
        &payload(""),
        &hs(),
    );
    refused(&app, "/jwt/typ", &token, "jwt_wrong_typ").await;
    let right = signed(
        r#"{"alg":"HS256","kid":"hs","typ":"at+jwt"}"#,
        &payload(""),
        &hs(),
    );
    accepted(&app, "/jwt/typ/control", &right).await;
}

#[actix_web::test]
async fn attack_duplicate_members() {
    // RFC 7519 §4 / RFC 8725 §3.9: parsers disagree on which duplicate wins.
    let app = server(KeySet::single(hs()), |b| b);
    let claims = format!(r#"{{"sub":"alice","sub":"admin","exp":{}}}"#, NOW + 600);
    let token = signed(r#"{"alg":"HS256","kid":"hs"}"#, &claims, &hs());
    refused(&app, "/jwt/dup/claims", &token, "jwt_duplicate_member").await;
    let header = r#"{"alg":"none","alg":"HS256","kid":"hs"}"#;
    let token = signed(header, &payload(""), &hs());
    refused(&app, "/jwt/dup/header", &token, "jwt_duplicate_member").await;
}

#[actix_web::test]
async fn attack_wrong_segment_counts() {
    let app = server(KeySet::single(hs()), |b| b);
    let token = signed(r#"{"alg":"HS256","kid":"hs"}"#, &payload(""), &hs());
    let parts: Vec<&str> = token.split('.').collect();
    for (n, bad) in [
        (2, format!("{}.{}", parts[0], parts[1])),
        (4, format!("{token}.{}", parts[2])),
        (5, format!("{token}.{}.{}", parts[1], parts[2])),
    ] {
        refused(&app, &format!("/jwt/segments/{n}"), &bad, "jwt_malformed").await;
    }
}

#[actix_web::test]
async fn attack_non_canonical_base64() {
    let app = server(KeySet::single(hs()), |b| b);
    let token = signed(r#"{"alg":"HS256","kid":"hs"}"#, &payload(""), &hs());
    let (input, sig) = token.rsplit_once('.').unwrap();
    let standard =
        base64::engine::general_purpose::STANDARD.encode(URL_SAFE_NO_PAD.decode(sig).unwrap());
    for (name, bad) in [
        ("padding", format!("{token}==")),
        ("standard-alphabet", format!("{input}.{standard}")),
        ("plus", format!("{input}.+{}", &sig[1..])),
        ("slash", format!("{input}./{}", &sig[1..])),
        ("inner-space", format!("{input}. {sig}")),
    ] {
        let path = format!("/jwt/base64/{name}");
        let response = app.get(&path).bearer_auth(&bad).send().await.unwrap();
        // A space inside the credential breaks the `Bearer` syntax itself: 400.
        assert!(
            [StatusCode::UNAUTHORIZED, StatusCode::BAD_REQUEST].contains(&response.status()),
            "{name}: {bad}: {}",
            response.status()
        );
    }
}

#[actix_web::test]
async fn attack_oversized_token() {
    // Refused on its length, before any base64 or JSON work (the reason says so).
    let app = server(KeySet::single(hs()), |b| b);
    let padding = "A".repeat(Verifier::DEFAULT_MAX_LEN);
    let token = signed_payload(&format!(r#""pad":"{padding}""#));
    refused(&app, "/jwt/oversized", &token, "jwt_too_large").await;
    // A 1 MB header never reaches the verifier: the server refuses it, without a 5xx.
    let huge = "A".repeat(1 << 20);
    let answer = app
        .get("/jwt/oversized/1mb")
        .bearer_auth(&huge)
        .send()
        .await;
    if let Ok(response) = answer {
        assert!(response.status().is_client_error(), "{}", response.status());
    }
}

#[actix_web::test]
async fn attack_revoked_jti_replayed_with_a_malleated_es256_signature() {
    // ECDSA signatures are malleable: (r, s) and (r, n - s) both verify. A revocation list
    // keyed on the signature (or on the whole token) misses the twin; ours is keyed on jti.
    let ec = || Key::from_private_pem("ec", Algorithm::ES256, &fixture("p256.pem")).unwrap();
    let key = ec();
    let revocations = std::sync::Arc::new(MemoryRevocationStore::new(clock().shared()));
    let verifier = Verifier::builder(KeySet::single(ec()))
        .clock(clock().shared())
        .revocations(revocations)
        .build()
        .unwrap();
    let app = protected(Authenticate::new(
        JwtAuthenticator::builder(verifier.clone()).build().unwrap(),
    ));
    let token = signed(
        r#"{"alg":"ES256","kid":"ec"}"#,
        &payload(r#""jti":"order-1""#),
        &key,
    );
    accepted(&app, "/jwt/malleated/control", &token).await;
    let verified = verifier.verify::<Value>(&token).await.unwrap();
    verifier.revoke(&verified.registered).await.unwrap();
    let (input, sig) = token.rsplit_once('.').unwrap();
    let twin = format!(
        "{input}.{}",
        b64(negate_s(&URL_SAFE_NO_PAD.decode(sig).unwrap()))
    );
    assert_ne!(twin, token);
    refused(&app, "/jwt/malleated/original", &token, "jwt_revoked").await;
    refused(&app, "/jwt/malleated/twin", &twin, "jwt_revoked").await;
}

/// `r || (n - s)` for a P-256 signature `r || s`: the other valid signature.
fn negate_s(signature: &[u8]) -> Vec<u8> {
    let (r, s) = signature.split_at(32);
    let mut twin = [0_u8; 32];
    let mut borrow = false;
    // Big-endian subtraction, least significant byte first.
    for ((out, &n), &s) in twin.iter_mut().zip(&P256_ORDER).zip(s).rev() {
        let (d, under) = n.overflowing_sub(s);
        let (d, under_again) = d.overflowing_sub(u8::from(borrow));
        *out = d;
        borrow = under || under_again;
    }
    [r, twin.as_slice()].concat()
}
