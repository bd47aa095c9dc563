//! `authctl password hash | verify`: auth-basic's argon2id hasher at the OWASP parameters.

use std::fs;

use auth_basic::{Argon2Hasher, Error, PasswordHasher as _, Verification};
use serde_json::json;

use crate::cli::PasswordCommand;
use crate::support::{Failure, Out, Result, Verdict, read_password};

/// The environment variable a hash to verify against is read from.
const HASH_ENV: &str = "AUTHCTL_PASSWORD_HASH";

pub(crate) fn run(command: PasswordCommand, out: Out) -> Result<Verdict> {
    let hasher = Argon2Hasher::default();
    match command {
        PasswordCommand::Hash { password } => {
            let password = read_password(&password, true)?;
            let hash = hasher
                .hash(password.as_bytes())
                .map_err(|e| Failure::store(format!("hashing failed: {e}")))?;
            out.emit(&json!({"hash": hash}), || hash.clone());
            Ok(Verdict::Ok)
        }
        PasswordCommand::Verify {
            hash_file,
            password,
        } => {
            let stored = match hash_file {
                Some(path) => fs::read_to_string(&path)
                    .map_err(|e| Failure::store(format!("cannot read {}: {e}", path.display())))?,
                None => std::env::var(HASH_ENV).map_err(|_| {
                    Failure::usage(format!(
                        "give the hash with --hash-file FILE or ${HASH_ENV}"
                    ))
                })?,
            };
            let stored = stored.trim();
            let password = read_password(&password, false)?;
            match hasher.verify(password.as_bytes(), stored) {
                Ok(Verification::Valid { needs_rehash }) => {
                    out.emit(
                        &json!({"verdict": "valid", "needs_rehash": needs_rehash}),
                        || {
                            if needs_rehash {
                                "valid (the hash is weaker than the current policy: rehash it)"
                                    .to_owned()
                            } else {
                                "valid".to_owned()
                            }
                        },
                    );
                    Ok(Verdict::Ok)
                }
                Ok(Verification::Invalid) => {
                    out.emit(
                        &json!({"verdict": "invalid", "reason": "wrong_password"}),
                        || "invalid: the password does not match".to_owned(),
                    );
                    Ok(Verdict::Refused)
                }
                Err(e @ Error::UnsupportedHash(_)) => Err(Failure::refused(
                    "unsupported_hash",
                    format!("{e} (auth-basic verifies argon2 PHC strings, or bcrypt)"),
                )),
                Err(e) => Err(Failure::store(format!("verification failed: {e}"))),
            }
        }
    }
}
