//! `password hash | verify`.

use auth_basic::{Argon2Hasher, PasswordHasher as _, Verification};

use crate::support::{TempDir, authctl};

#[test]
fn hash_reads_stdin_and_makes_an_owasp_argon2id_hash_auth_basic_accepts() {
    let out = authctl(["password", "hash", "--password-stdin"])
        .stdin("correct horse battery staple\n")
        .run()
        .ok();
    let hash = out.stdout.trim();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "not an OWASP argon2id PHC string: {hash}"
    );
    // The trailing newline is not part of the password.
    assert_eq!(
        Argon2Hasher::default()
            .verify(b"correct horse battery staple", hash)
            .unwrap(),
        Verification::Valid {
            needs_rehash: false
        }
    );
    assert!(!out.stdout.contains("correct horse"));
}

#[test]
fn verify_exits_0_on_a_match_and_1_on_a_mismatch() {
    let dir = TempDir::new("password");
    let hash = authctl(["--json", "password", "hash"])
        .env("AUTHCTL_PASSWORD", "s3cret-passphrase")
        .run()
        .ok()
        .json()["hash"]
        .as_str()
        .unwrap()
        .to_owned();
    std::fs::write(dir.join("hash.phc"), format!("{hash}\n")).unwrap();
    std::fs::write(dir.join("pw.txt"), "s3cret-passphrase\n").unwrap();
    let hash_file = dir.join("hash.phc");
    let pw_file = dir.join("pw.txt");

    let out = authctl(["--json", "password", "verify", "--hash-file"])
        .arg(&hash_file)
        .args(["--password-file"])
        .arg(&pw_file)
        .run()
        .ok();
    assert_eq!(out.json()["verdict"], "valid");
    assert_eq!(out.json()["needs_rehash"], false);

    let out = authctl(["--json", "password", "verify", "--password-stdin"])
        .env("AUTHCTL_PASSWORD_HASH", &hash)
        .stdin("wrong-passphrase")
        .run()
        .code(1);
    assert_eq!(out.json()["verdict"], "invalid");

    // A weaker (but valid) hash verifies and asks for a rehash.
    let weak = Argon2Hasher::new(auth_basic::Argon2Params::insecure_fast_for_tests())
        .hash(b"s3cret-passphrase")
        .unwrap();
    let out = authctl(["password", "verify", "--password-stdin"])
        .env("AUTHCTL_PASSWORD_HASH", &weak)
        .stdin("s3cret-passphrase")
        .run()
        .ok();
    assert!(out.stdout.contains("rehash"), "{}", out.stdout);

    // Not a hash at all: refused, saying so.
    let out = authctl(["password", "verify", "--password-stdin"])
        .env("AUTHCTL_PASSWORD_HASH", "plaintext")
        .stdin("plaintext")
        .run()
        .code(1);
    assert!(
        out.stderr.contains("unsupported password hash"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_empty_password_is_refused() {
    authctl(["password", "hash", "--password-stdin"])
        .stdin("\n")
        .run()
        .code(2);
}
