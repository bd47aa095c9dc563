//! `hmac sign | verify`: what the CLI signs, auth-hmac's verifier accepts; every tampering
//! is refused with the verifier's reason.

use serde_json::Value;

use crate::support::{Output, TempDir, authctl};

const SECRET: &str = "a shared secret of at least thirty-two bytes";
const URL: &str = "https://api.example.com/orders?page=2";

struct Setup {
    dir: TempDir,
}

impl Setup {
    fn new() -> Self {
        let dir = TempDir::new("hmac");
        std::fs::write(dir.join("secret"), format!("{SECRET}\n")).unwrap();
        std::fs::write(dir.join("body.json"), br#"{"qty":1}"#).unwrap();
        std::fs::write(dir.join("other.json"), br#"{"qty":9}"#).unwrap();
        Self { dir }
    }

    fn sign(&self, extra: &[&str]) -> Value {
        authctl([
            "--json",
            "hmac",
            "sign",
            "--key-id",
            "billing-1",
            "--secret-file",
        ])
        .arg(self.dir.join("secret"))
        .args(["--body"])
        .arg(self.dir.join("body.json"))
        .args([
            "--header",
            "Content-Type: application/json",
            "--cover",
            "content-type",
        ])
        .args(extra)
        .args(["POST", URL])
        .run()
        .ok()
        .json()
    }

    fn verify(&self, signed: &Value, body: &str, key_id: &str, method: &str, url: &str) -> Output {
        let mut cli = authctl(["--json", "hmac", "verify", "--key-id", key_id, method, url])
            .env("AUTHCTL_HMAC_SECRET", SECRET)
            .args(["--body"])
            .arg(self.dir.join(body));
        for pair in signed["headers"].as_array().unwrap() {
            cli = cli.args([
                "--header".to_owned(),
                format!(
                    "{}: {}",
                    pair[0].as_str().unwrap(),
                    pair[1].as_str().unwrap()
                ),
            ]);
        }
        cli.run()
    }
}

#[test]
fn a_signed_request_verifies_and_every_tampering_is_refused_with_its_reason() {
    let s = Setup::new();
    let signed = s.sign(&[]);
    let input = signed["signature_input"].as_str().unwrap();
    assert!(
        input.starts_with(r#"sig1=("@method" "@target-uri" "content-type" "content-digest")"#),
        "{input}"
    );
    assert!(
        input.contains(r#"keyid="billing-1""#)
            && input.contains("nonce=")
            && input.contains("created=")
    );
    assert!(
        signed["content_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha-256=:")
    );

    let out = s
        .verify(&signed, "body.json", "billing-1", "POST", URL)
        .ok();
    assert_eq!(out.json()["verdict"], "accepted");

    for (name, body, key_id, method, url, reason) in [
        (
            "other body",
            "other.json",
            "billing-1",
            "POST",
            URL,
            "content_digest_mismatch",
        ),
        (
            "other method",
            "body.json",
            "billing-1",
            "PUT",
            URL,
            "bad_signature",
        ),
        (
            "other URL",
            "body.json",
            "billing-1",
            "POST",
            "https://api.example.com/orders?page=3",
            "bad_signature",
        ),
        (
            "other host",
            "body.json",
            "billing-1",
            "POST",
            "https://evil.example.com/orders?page=2",
            "bad_signature",
        ),
        (
            "unknown key",
            "body.json",
            "billing-2",
            "POST",
            URL,
            "unknown_key",
        ),
    ] {
        let out = s.verify(&signed, body, key_id, method, url).code(1);
        let value = out.json();
        assert_eq!(value["verdict"], "refused", "{name}: {value}");
        assert_eq!(value["reason"], reason, "{name}: {value}");
    }

    // A wrong secret.
    let mut cli = authctl([
        "--json",
        "hmac",
        "verify",
        "--key-id",
        "billing-1",
        "POST",
        URL,
    ])
    .env(
        "AUTHCTL_HMAC_SECRET",
        "another shared secret of thirty-two bytes!",
    )
    .args(["--body"])
    .arg(s.dir.join("body.json"));
    for pair in signed["headers"].as_array().unwrap() {
        cli = cli.args([
            "--header".to_owned(),
            format!(
                "{}: {}",
                pair[0].as_str().unwrap(),
                pair[1].as_str().unwrap()
            ),
        ]);
    }
    assert_eq!(cli.run().code(1).json()["reason"], "bad_signature");

    // Signature-Input without Signature: malformed.
    let out = authctl([
        "--json",
        "hmac",
        "verify",
        "--key-id",
        "billing-1",
        "POST",
        URL,
    ])
    .env("AUTHCTL_HMAC_SECRET", SECRET)
    .args(["--header", &format!("Signature-Input: {input}")])
    .run()
    .code(1);
    assert_eq!(out.json()["reason"], "incomplete_signature_headers");
    // No signature at all.
    let out = authctl([
        "--json",
        "hmac",
        "verify",
        "--key-id",
        "billing-1",
        "GET",
        URL,
    ])
    .env("AUTHCTL_HMAC_SECRET", SECRET)
    .run()
    .code(1);
    assert_eq!(out.json()["reason"], "no_signature");
}

#[test]
fn sign_prints_headers_or_a_curl_command() {
    let s = Setup::new();
    let out = authctl([
        "hmac",
        "sign",
        "--key-id",
        "k1",
        "GET",
        "https://api.example.com/",
    ])
    .env("AUTHCTL_HMAC_SECRET", SECRET)
    .run()
    .ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "no body, no Content-Digest: {}", out.stdout);
    assert!(lines[0].starts_with("Signature-Input: sig1=(\"@method\" \"@target-uri\")"));
    assert!(lines[1].starts_with("Signature: sig1=:"));

    let out = authctl(["hmac", "sign", "--curl", "--key-id", "k1", "--secret-file"])
        .arg(s.dir.join("secret"))
        .args(["--body"])
        .arg(s.dir.join("body.json"))
        .args(["POST", URL])
        .run()
        .ok();
    let curl = out.stdout.trim();
    assert!(
        curl.starts_with("curl -X 'POST' -H 'Signature-Input: sig1="),
        "{curl}"
    );
    assert!(curl.contains("-H 'Content-Digest: sha-256=:"), "{curl}");
    assert!(
        curl.contains(&format!(
            "--data-binary '@{}'",
            s.dir.join("body.json").display()
        )),
        "{curl}"
    );
    assert!(curl.ends_with(&format!("'{URL}'")), "{curl}");
}

#[test]
fn weak_or_missing_secrets_are_usage_errors() {
    authctl([
        "hmac",
        "sign",
        "--key-id",
        "k1",
        "GET",
        "https://api.example.com/",
    ])
    .env("AUTHCTL_HMAC_SECRET", "short")
    .run()
    .code(2);
    let out = authctl([
        "hmac",
        "sign",
        "--key-id",
        "k1",
        "GET",
        "https://api.example.com/",
    ])
    .run()
    .code(2);
    assert!(out.stderr.contains("AUTHCTL_HMAC_SECRET"), "{}", out.stderr);
}
