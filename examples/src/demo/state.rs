//! The demo's state file: every secret that the instances of one deployment must share.
//!
//! Several demo instances behind a load balancer are one service: a session cookie signed by
//! one must open on the others, a token minted by one must verify on the others, a client
//! that signs with the HMAC secret must be able to reach any of them. So the secrets are not
//! generated per process but kept in one JSON file (`--state FILE`):
//!
//! - the first instance that finds no file generates every secret and creates the file
//!   (mode 0600, atomically: it is written under a temporary name and linked into place,
//!   so an instance starting at the same moment either finds the whole file or creates its
//!   own and loses the race, then loads the winner's);
//! - every other instance, and every restart, loads it;
//! - a file that other users can read is refused, as `ssh` refuses a readable private key.
//!
//! Nothing in it is ever logged; [`DemoState`]'s `Debug` prints no secret.

use std::fs;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{DemoError, random_token};

/// The format version written into the file; a file of another version is refused.
const VERSION: u32 = 1;

/// The article's public password for `myUser`: only ever used on a loopback address.
pub(crate) const ARTICLE_PASSWORD: &str = "myPassword";

/// The shared secrets (see the module documentation).
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct DemoState {
    pub(crate) version: u32,
    /// The password of the demo user `myUser`.
    pub(crate) basic_password: String,
    /// The demo API key (plaintext) and its public id; the database holds only its hash.
    pub(crate) api_key: String,
    pub(crate) api_key_id: String,
    /// `/session/*` cookie key (base64).
    pub(crate) session_cookie_key: String,
    /// The OAuth login page's cookie key (base64).
    pub(crate) oauth_login_cookie_key: String,
    /// The demo issuer's ES256 private key (PKCS#8 PEM).
    pub(crate) jwt_es256_pem: String,
    /// The HS256 secret of `/jwt/article`.
    pub(crate) jwt_hs256_secret: String,
    /// The RFC 9421 client secret and the webhook secret.
    pub(crate) hmac_secret: String,
    pub(crate) hmac_webhook_secret: String,
    /// The OAuth token service's ES256 private key (PKCS#8 PEM).
    pub(crate) oauth_es256_pem: String,
    /// The OAuth confidential clients' secrets.
    pub(crate) oauth_client_secret: String,
    pub(crate) oauth_api_client_secret: String,
}

impl std::fmt::Debug for DemoState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoState")
            .field("version", &self.version)
            .field("api_key_id", &self.api_key_id)
            .finish_non_exhaustive()
    }
}

/// Whether the state was created by this start or loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Created,
    Loaded,
}

fn state_error(path: &Path, message: impl std::fmt::Display) -> DemoError {
    DemoError::State(format!("{}: {message}", path.display()))
}

fn es256_pem() -> Result<String, DemoError> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(|e| DemoError::State(format!("cannot generate an ES256 key: {e}")))?;
    Ok(key.serialize_pem())
}

fn cookie_key() -> Result<String, DemoError> {
    auth_session::CookieKey::generate()
        .map(|k| String::clone(&k.expose_base64()))
        .map_err(|e| DemoError::State(format!("cannot generate a cookie key: {e}")))
}

impl DemoState {
    /// Fresh secrets. On a loopback address `myUser` keeps the article's password, so its
    /// snippets work unchanged; anywhere else it gets a random one.
    fn generate(loopback: bool) -> Result<Self, DemoError> {
        let format = auth_apikey::KeyFormat::new(super::apikey::PREFIX)
            .map_err(|e| DemoError::State(e.to_string()))?;
        let api_key = format
            .generate()
            .map_err(|e| DemoError::State(e.to_string()))?
            .expose_secret()
            .to_owned();
        Ok(Self {
            version: VERSION,
            basic_password: if loopback {
                ARTICLE_PASSWORD.to_owned()
            } else {
                random_token(24)
            },
            api_key,
            api_key_id: format!("key_demo{}", random_token(12)),
            session_cookie_key: cookie_key()?,
            oauth_login_cookie_key: cookie_key()?,
            jwt_es256_pem: es256_pem()?,
            // 43 base62 characters carry 256 bits.
            jwt_hs256_secret: random_token(43),
            hmac_secret: random_token(43),
            hmac_webhook_secret: random_token(43),
            oauth_es256_pem: es256_pem()?,
            oauth_client_secret: random_token(43),
            oauth_api_client_secret: random_token(43),
        })
    }

    /// Loads the state file at `path`, or creates it with fresh secrets when it does not
    /// exist.
    ///
    /// # Errors
    ///
    /// [`DemoError::State`] when the file cannot be read, written or parsed, is readable by
    /// other users, or holds the article's public password while the demo listens on a
    /// non-loopback address.
    pub(crate) fn load_or_create(path: &Path, loopback: bool) -> Result<(Self, Origin), DemoError> {
        let (state, origin) = match Self::load(path)? {
            Some(state) => (state, Origin::Loaded),
            None => Self::create(path, loopback)?,
        };
        if !loopback && state.basic_password == ARTICLE_PASSWORD {
            return Err(state_error(
                path,
                "holds the article's public password for myUser, made for a loopback demo; \
                 it cannot serve a non-loopback address (use another --state file)",
            ));
        }
        Ok((state, origin))
    }

    fn load(path: &Path) -> Result<Option<Self>, DemoError> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(state_error(path, e)),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(path)
                .map_err(|e| state_error(path, e))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(state_error(
                    path,
                    format!(
                        "holds secrets but other users may read it (mode {:o}); chmod 600 it",
                        mode & 0o777
                    ),
                ));
            }
        }
        let state: Self = serde_json::from_str(&text)
            .map_err(|e| state_error(path, format!("not a demo state file: {e}")))?;
        if state.version != VERSION {
            return Err(state_error(
                path,
                format!("state format {} (this demo reads {VERSION})", state.version),
            ));
        }
        Ok(Some(state))
    }

    /// Writes fresh secrets to a private temporary file and links it into place, which
    /// fails if another instance got there first: then the winner's file is loaded.
    fn create(path: &Path, loopback: bool) -> Result<(Self, Origin), DemoError> {
        let state = Self::generate(loopback)?;
        let text = serde_json::to_string_pretty(&state).map_err(|e| state_error(path, e))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| state_error(path, e))?;
        }
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(format!(".{}.{}.tmp", std::process::id(), random_token(8)));
        let temporary = std::path::PathBuf::from(temporary);
        super::write_private(&temporary, &text).map_err(|e| state_error(path, e))?;
        let linked = fs::hard_link(&temporary, path);
        let _ = fs::remove_file(&temporary);
        match linked {
            Ok(()) => Ok((state, Origin::Created)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Self::load(path)?
                .map(|state| (state, Origin::Loaded))
                .ok_or_else(|| state_error(path, "vanished while it was being created")),
            Err(e) => Err(state_error(path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(name: &str) -> std::path::PathBuf {
        std::env::temp_dir()
            .join(format!(
                "auth-rs-demo-state-{name}-{}-{}",
                std::process::id(),
                random_token(6)
            ))
            .join("state.json")
    }

    #[test]
    fn the_first_start_creates_a_private_file_and_the_next_loads_the_same_secrets() {
        let path = temp_path("create");
        let (first, origin) = DemoState::load_or_create(&path, true).unwrap();
        assert_eq!(origin, Origin::Created);
        assert_eq!(first.basic_password, ARTICLE_PASSWORD);
        let (second, origin) = DemoState::load_or_create(&path, true).unwrap();
        assert_eq!(origin, Origin::Loaded);
        assert_eq!(second.session_cookie_key, first.session_cookie_key);
        assert_eq!(second.jwt_es256_pem, first.jwt_es256_pem);
        assert_eq!(second.api_key, first.api_key);
        let debug = format!("{second:?}");
        assert!(!debug.contains(&first.hmac_secret) && !debug.contains(&first.api_key));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0);
            // No temporary file is left behind.
            assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            let refused = DemoState::load_or_create(&path, true).unwrap_err();
            assert!(refused.to_string().contains("chmod 600"), "{refused}");
        }
        let _ = fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_public_address_never_gets_the_article_password() {
        let path = temp_path("public");
        let (state, _) = DemoState::load_or_create(&path, false).unwrap();
        assert_ne!(state.basic_password, ARTICLE_PASSWORD);
        let loopback = temp_path("loopback");
        DemoState::load_or_create(&loopback, true).unwrap();
        let refused = DemoState::load_or_create(&loopback, false).unwrap_err();
        assert!(refused.to_string().contains("public password"), "{refused}");
        let _ = fs::remove_dir_all(path.parent().unwrap());
        let _ = fs::remove_dir_all(loopback.parent().unwrap());
    }
}
