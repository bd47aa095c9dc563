//! `jwt keygen | jwks | sign | inspect`. `inspect` must name the auth-jwt verifier's own
//! reason for every attack in the JWT attack list (RFC 8725), and still show the header and
//! claims of a refused token.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::{App, HttpResponse, web};
use auth_jwt::{Algorithm, Key};
use auth_tests::TestApp;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::support::{Output, TempDir, authctl, blocking};

const ISS: &str = "https://id.example";
const AUD: &str = "orders";

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token with exactly this header and claims text (duplicates and odd types included),
/// signed by `key`.
fn forge(key: &Key, header: &str, claims: &str) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    let signature = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64(&signature))
}

/// Generates a key with the CLI; returns its kid.
fn keygen(dir: &TempDir, alg: &str, file: &str) -> String {
    let out = authctl(["--json", "jwt", "keygen", "--alg", alg, "--out"])
        .arg(dir.join(file))
        .run()
        .ok();
    out.json()["kid"].as_str().unwrap().to_owned()
}

/// `authctl --json jwt inspect -` with the token on stdin.
fn inspect(token: &str, args: &[&str]) -> Output {
    authctl(["--json", "jwt", "inspect", "-"])
        .args(args)
        .stdin(token.to_owned())
        .run()
}

struct Setup {
    dir: TempDir,
    kid: String,
    key: Key,
    jwks: String,
}

fn setup() -> Setup {
    let dir = TempDir::new("jwt");
    let kid = keygen(&dir, "ES256", "es.pem");
    // The key file (labels above the PEM block) loads in auth-jwt as it is.
    let key = Key::from_private_pem(
        kid.clone(),
        Algorithm::ES256,
        &std::fs::read(dir.join("es.pem")).unwrap(),
    )
    .unwrap();
    let jwks = authctl(["jwt", "jwks"])
        .arg(dir.join("es.pem"))
        .run()
        .ok()
        .stdout;
    std::fs::write(dir.join("jwks.json"), &jwks).unwrap();
    let jwks = dir.join("jwks.json").display().to_string();
    Setup {
        dir,
        kid,
        key,
        jwks,
    }
}

#[test]
fn keygen_writes_a_0600_key_file_and_the_public_jwk_and_never_overwrites() {
    let dir = TempDir::new("jwt-keygen");
    for (alg, kty) in [
        ("ES256", "EC"),
        ("ES384", "EC"),
        ("EdDSA", "OKP"),
        ("RS256", "RSA"),
    ] {
        let file = format!("{alg}.pem");
        let out = authctl(["--json", "jwt", "keygen", "--alg", alg, "--out"])
            .arg(dir.join(&file))
            .args(["--jwk-out"])
            .arg(dir.join(&format!("{alg}.jwk")))
            .run()
            .ok();
        let value = out.json();
        let jwk = &value["public_jwk"];
        assert_eq!(jwk["kty"], kty, "{alg}");
        assert_eq!(jwk["alg"], alg);
        assert_eq!(jwk["use"], "sig");
        assert!(
            jwk.get("d").is_none(),
            "{alg}: the private part is not printed"
        );
        // The default kid is the RFC 7638 thumbprint of the public key.
        let parsed: auth_jwt::Jwk = serde_json::from_value(jwk.clone()).unwrap();
        assert_eq!(
            jwk["kid"].as_str().unwrap(),
            parsed
                .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
                .unwrap()
        );
        #[cfg(unix)]
        assert_eq!(crate::support::mode(&dir.join(&file)), 0o600, "{alg}");
        let written: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(&format!("{alg}.jwk"))).unwrap(),
        )
        .unwrap();
        assert_eq!(&written, jwk);
    }

    // An existing file is kept unless --force.
    let before = std::fs::read(dir.join("ES256.pem")).unwrap();
    let out = authctl(["jwt", "keygen", "--alg", "ES256", "--out"])
        .arg(dir.join("ES256.pem"))
        .run()
        .code(2);
    assert!(out.stderr.contains("--force"), "{}", out.stderr);
    assert_eq!(std::fs::read(dir.join("ES256.pem")).unwrap(), before);
    authctl([
        "jwt", "keygen", "--alg", "ES256", "--force", "--kid", "k2", "--out",
    ])
    .arg(dir.join("ES256.pem"))
    .run()
    .ok();
    assert_ne!(std::fs::read(dir.join("ES256.pem")).unwrap(), before);
    #[cfg(unix)]
    assert_eq!(crate::support::mode(&dir.join("ES256.pem")), 0o600);

    // HMAC: a secret file, no public JWK; never in a JWKS.
    let out = authctl([
        "--json", "jwt", "keygen", "--alg", "HS256", "--kid", "hs-1", "--out",
    ])
    .arg(dir.join("hs.key"))
    .run()
    .ok();
    assert_eq!(out.json()["public_jwk"], Value::Null);
    #[cfg(unix)]
    assert_eq!(crate::support::mode(&dir.join("hs.key")), 0o600);

    // jwks: every public key, sorted by kid, HMAC skipped.
    let out = authctl(["--json", "jwt", "jwks"])
        .arg(dir.join("ES256.pem"))
        .arg(dir.join("EdDSA.pem"))
        .arg(dir.join("hs.key"))
        .run()
        .ok();
    let keys = out.json()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().any(|k| k["kid"] == "k2"));
    assert!(
        keys.iter()
            .all(|k| k.get("d").is_none() && k.get("k").is_none())
    );
}

#[test]
fn signed_tokens_are_accepted_for_every_generated_key_type() {
    let dir = TempDir::new("jwt-sign");
    for alg in ["ES256", "EdDSA", "RS256", "PS256", "HS256"] {
        let file = format!("{alg}.key");
        keygen(&dir, alg, &file);
        let path = dir.join(&file);
        let token = authctl([
            "--json",
            "jwt",
            "sign",
            "--sub",
            "alice",
            "--iss",
            ISS,
            "--aud",
            AUD,
            "--ttl",
            "10m",
            "--claim",
            "scope=orders:read",
            "--claim",
            "n=42",
            "--key",
        ])
        .arg(&path)
        .run()
        .ok()
        .json()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let out = authctl([
            "--json", "jwt", "inspect", &token, "--iss", ISS, "--aud", AUD, "--key",
        ])
        .arg(&path)
        .run()
        .ok();
        let value = out.json();
        assert_eq!(value["verdict"], "accepted", "{alg}: {value}");
        assert_eq!(value["header"]["alg"], alg);
        assert_eq!(value["claims"]["sub"], "alice");
        assert_eq!(value["claims"]["scope"], "orders:read");
        assert_eq!(value["claims"]["n"], 42);
        assert_eq!(
            value["claims"]["exp"].as_i64().unwrap() - value["claims"]["iat"].as_i64().unwrap(),
            600
        );
    }
}

#[test]
fn sign_takes_claims_from_json_and_refuses_what_the_issuer_owns() {
    let s = setup();
    let claims = s.dir.join("claims.json");
    std::fs::write(
        &claims,
        r#"{"sub": "bob", "aud": ["orders", "billing"], "roles": ["admin"]}"#,
    )
    .unwrap();
    let token = authctl(["jwt", "sign", "--key"])
        .arg(s.dir.join("es.pem"))
        .arg("--claims")
        .arg(&claims)
        .run()
        .ok()
        .stdout
        .trim()
        .to_owned();
    let value = inspect(&token, &["--jwks", &s.jwks, "--aud", "billing"])
        .ok()
        .json();
    assert_eq!(value["claims"]["sub"], "bob");
    assert_eq!(value["claims"]["roles"], json!(["admin"]));
    assert_eq!(value["header"]["kid"], s.kid.as_str());

    // Claims from stdin; `exp` is the issuer's to set.
    let out = authctl(["jwt", "sign", "--claims", "-", "--key"])
        .arg(s.dir.join("es.pem"))
        .stdin(r#"{"sub": "bob", "exp": 1}"#)
        .run()
        .code(2);
    assert!(out.stderr.contains("exp"), "{}", out.stderr);
    // No subject at all.
    authctl(["jwt", "sign", "--key"])
        .arg(s.dir.join("es.pem"))
        .run()
        .code(2);
}

#[test]
fn inspect_names_the_verifiers_reason_for_every_attack() {
    let s = setup();
    let (kid, key) = (&s.kid, &s.key);
    let now = now();
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": kid}).to_string();
    let claims = |extra: Value| {
        let mut base =
            json!({"sub": "alice", "iss": ISS, "aud": AUD, "iat": now, "exp": now + 600});
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                base.as_object_mut().unwrap().remove(k);
            } else {
                base[k] = v.clone();
            }
        }
        base.to_string()
    };
    let valid = forge(key, &header, &claims(json!({})));

    // Another key under the same kid: the signature does not verify.
    let other_dir = TempDir::new("jwt-other");
    let other_kid = keygen(&other_dir, "ES256", "other.pem");
    let other = Key::from_private_pem(
        other_kid.clone(),
        Algorithm::ES256,
        &std::fs::read(other_dir.join("other.pem")).unwrap(),
    )
    .unwrap();

    // Key-type confusion: HS256 "signed" with the ES256 public key (the JWKS text) as the
    // HMAC secret, under the ES256 key's kid.
    let public = std::fs::read(&s.jwks).unwrap();
    let confused = {
        let input = format!(
            "{}.{}",
            b64(json!({"alg": "HS256", "kid": kid}).to_string().as_bytes()),
            b64(claims(json!({})).as_bytes())
        );
        let mac = auth_hmac::hmac_sha256(&public, &[input.as_bytes()]);
        format!("{input}.{}", b64(&mac))
    };
    let unsigned = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(claims(json!({})).as_bytes())
    );
    let signed_none = format!(
        "{}.{}.{}",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(claims(json!({})).as_bytes()),
        b64(b"not empty")
    );
    let tampered = {
        let parts: Vec<&str> = valid.split('.').collect();
        let payload = b64(claims(json!({"sub": "mallory"})).as_bytes());
        format!("{}.{payload}.{}", parts[0], parts[2])
    };
    let oversized = forge(key, &header, &claims(json!({"pad": "x".repeat(9000)})));

    let cases: Vec<(&str, String, &str, &[&str])> = vec![
        ("expired", forge(key, &header, &claims(json!({"iat": now - 7200, "exp": now - 3600}))), "jwt_expired", &[]),
        ("exp missing", forge(key, &header, &claims(json!({"exp": null}))), "jwt_expired", &[]),
        ("exp as a string", forge(key, &header, &claims(json!({"exp": (now + 600).to_string()}))), "jwt_invalid_claim", &[]),
        ("not yet valid", forge(key, &header, &claims(json!({"nbf": now + 3600, "iat": null, "exp": now + 7200}))), "jwt_not_yet_valid", &[]),
        ("issued in the future", forge(key, &header, &claims(json!({"iat": now + 3600, "exp": now + 7200}))), "jwt_iat_in_future", &[]),
        ("lifetime too long", forge(key, &header, &claims(json!({"exp": now + 30 * 86_400}))), "jwt_lifetime_too_long", &[]),
        ("wrong issuer", forge(key, &header, &claims(json!({"iss": "https://evil.example"}))), "jwt_bad_issuer", &[]),
        ("no issuer", forge(key, &header, &claims(json!({"iss": null}))), "jwt_bad_issuer", &[]),
        ("wrong audience", forge(key, &header, &claims(json!({"aud": "billing"}))), "jwt_bad_audience", &[]),
        ("bad signature (other key, same kid)", forge(&other, &header, &claims(json!({}))), "jwt_bad_signature", &[]),
        ("tampered claims", tampered, "jwt_bad_signature", &[]),
        // An unsecured JWS (RFC 7515 A.5) is refused for its algorithm, as with a signature.
        ("alg none, signature stripped", unsigned, "jwt_bad_alg", &[]),
        ("alg none with a signature", signed_none.clone(), "jwt_bad_alg", &[]),
        ("alg NoNe", forge(key, &json!({"alg": "NoNe", "kid": kid}).to_string(), &claims(json!({}))), "jwt_bad_alg", &[]),
        ("alg not the key's (ES384 on an ES256 key)", forge(key, &json!({"alg": "ES384", "kid": kid}).to_string(), &claims(json!({}))), "jwt_bad_alg", &[]),
        ("key-type confusion (HS256 with the public key)", confused, "jwt_bad_alg", &[]),
        ("unknown kid", forge(&other, &json!({"alg": "ES256", "kid": other_kid}).to_string(), &claims(json!({}))), "jwt_unknown_kid", &[]),
        ("embedded jwk (key from the header)", forge(&other, &json!({"alg": "ES256", "kid": other_kid, "jwk": other.public_jwk()}).to_string(), &claims(json!({}))), "jwt_unknown_kid", &[]),
        ("jku (key URL from the header)", forge(&other, &json!({"alg": "ES256", "kid": "attacker", "jku": "https://evil.example/jwks.json"}).to_string(), &claims(json!({}))), "jwt_unknown_kid", &[]),
        ("crit extension", forge(key, &json!({"alg": "ES256", "kid": kid, "crit": ["exp"]}).to_string(), &claims(json!({}))), "jwt_crit", &[]),
        ("duplicate member", forge(key, &format!(r#"{{"alg":"ES256","kid":"{kid}","alg":"HS256"}}"#), &claims(json!({}))), "jwt_duplicate_member", &[]),
        ("duplicate claim", forge(key, &header, &format!(r#"{{"sub":"alice","sub":"root","iss":"{ISS}","aud":"{AUD}","exp":{}}}"#, now + 600)), "jwt_duplicate_member", &[]),
        ("malformed (two segments)", "abc.def".to_owned(), "jwt_malformed", &[]),
        ("malformed (bad base64)", format!("!!!.{}.c2ln", b64(claims(json!({})).as_bytes())), "jwt_malformed", &[]),
        ("too large", oversized, "jwt_too_large", &[]),
        ("wrong typ", valid.clone(), "jwt_wrong_typ", &["--typ", "at+jwt"]),
    ];

    for (name, token, reason, extra) in &cases {
        let mut args = vec!["--jwks", s.jwks.as_str(), "--iss", ISS, "--aud", AUD];
        args.extend_from_slice(extra);
        let out = inspect(token, &args).code(1);
        let value = out.json();
        assert_eq!(value["verdict"], "refused", "{name}: {value}");
        assert_eq!(value["reason"], *reason, "{name}: {value}");
        assert!(value["message"].is_string(), "{name}");
    }

    // A refused token still shows what it says.
    let expired = &cases[0].1;
    let value = inspect(expired, &["--jwks", &s.jwks]).code(1).json();
    assert_eq!(value["header"]["kid"], kid.as_str());
    assert_eq!(value["claims"]["sub"], "alice");
    assert_eq!(value["message"], "expired or missing exp");
    let text = authctl(["jwt", "inspect", "--jwks", &s.jwks])
        .env("AUTHCTL_TOKEN", expired)
        .run()
        .code(1)
        .stdout;
    assert!(text.contains("verdict: refused"), "{text}");
    assert!(
        text.contains("reason:  jwt_expired (expired or missing exp)"),
        "{text}"
    );
    assert!(text.contains("\"sub\": \"alice\""), "{text}");
    assert!(
        text.contains("ago)"),
        "exp is shown relative to now: {text}"
    );

    // The control: the same untouched token is accepted.
    let value = inspect(&valid, &["--jwks", &s.jwks, "--iss", ISS, "--aud", AUD])
        .ok()
        .json();
    assert_eq!(value["verdict"], "accepted");
    assert_eq!(value["reason"], Value::Null);
}

#[test]
fn without_keys_the_keyless_checks_still_run_and_the_verdict_is_unverified() {
    let s = setup();
    let valid = forge(
        &s.key,
        &json!({"alg": "ES256", "kid": s.kid}).to_string(),
        &json!({"sub": "a", "exp": now() + 60}).to_string(),
    );
    let value = inspect(&valid, &[]).code(1).json();
    assert_eq!(value["verdict"], "unverified");
    assert_eq!(value["reason"], "no_keys");
    assert_eq!(value["claims"]["sub"], "a");
    // alg none is refused before any key is needed, stripped signature or not.
    let none = format!(
        "{}.{}.c2ln",
        b64(br#"{"alg":"none"}"#),
        b64(br#"{"sub":"a"}"#)
    );
    let value = inspect(&none, &[]).code(1).json();
    assert_eq!(value["verdict"], "refused");
    assert_eq!(value["reason"], "jwt_bad_alg");
    let stripped = format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(br#"{"sub":"a"}"#));
    let value = inspect(&stripped, &[]).code(1).json();
    assert_eq!(value["reason"], "jwt_bad_alg");
    // A stripped signature under a real algorithm is a bad signature.
    let stripped = format!("{}.{}.", b64(br#"{"alg":"ES256"}"#), b64(br#"{"sub":"a"}"#));
    let value = inspect(&stripped, &[]).code(1).json();
    assert_eq!(value["reason"], "jwt_bad_signature");
    // An empty token is a usage error.
    inspect("", &[]).code(2);
}

#[actix_web::test]
async fn inspect_fetches_a_remote_jwks() {
    let s = setup();
    let jwks: Value = serde_json::from_str(&std::fs::read_to_string(&s.jwks).unwrap()).unwrap();
    let app = TestApp::spawn(move || {
        let jwks = jwks.clone();
        App::new().route(
            "/jwks.json",
            web::get().to(move || {
                let jwks = jwks.clone();
                async move { HttpResponse::Ok().json(jwks) }
            }),
        )
    });
    let url = app.url("/jwks.json");
    let token = forge(
        &s.key,
        &json!({"alg": "ES256", "kid": s.kid}).to_string(),
        &json!({"sub": "a", "exp": now() + 60}).to_string(),
    );
    let value = blocking(move || inspect(&token, &["--jwks", &url]).ok().json()).await;
    assert_eq!(value["verdict"], "accepted");

    // The JWKS server gone: a store/network error (3), not a verdict.
    let url = app.url("/jwks.json");
    drop(app);
    let token = forge(
        &s.key,
        &json!({"alg": "ES256", "kid": s.kid}).to_string(),
        &json!({"sub": "a", "exp": now() + 60}).to_string(),
    );
    blocking(move || inspect(&token, &["--jwks", &url]).code(3)).await;
}

#[test]
fn key_files_from_elsewhere_load_by_their_key_type() {
    // A plain PKCS#8 PEM without labels (as `openssl genpkey` writes): the algorithm comes
    // from the key, the kid is the thumbprint.
    let dir = TempDir::new("jwt-plain");
    keygen(&dir, "EdDSA", "labelled.pem");
    let text = std::fs::read_to_string(dir.join("labelled.pem")).unwrap();
    let pem = &text[text.find("-----BEGIN").unwrap()..];
    write(&dir.join("plain.pem"), pem);
    let labelled = authctl(["--json", "jwt", "jwks"])
        .arg(dir.join("labelled.pem"))
        .run()
        .ok()
        .json();
    let plain = authctl(["--json", "jwt", "jwks"])
        .arg(dir.join("plain.pem"))
        .run()
        .ok()
        .json();
    assert_eq!(labelled, plain);
    // Not a key: a usage error naming the file.
    write(&dir.join("junk.pem"), "hello");
    let out = authctl(["jwt", "jwks"])
        .arg(dir.join("junk.pem"))
        .run()
        .code(2);
    assert!(out.stderr.contains("junk.pem"), "{}", out.stderr);
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}
