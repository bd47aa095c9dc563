//! The clients the token service knows: [`ClientRegistry`], [`MemoryClientRegistry`],
//! [`ClientRecord`] and the [`ClientConfig`] to register one.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{PoisonError, RwLock};

use async_trait::async_trait;
use auth_core::{Scopes, Secret};
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::store::StoreError;
use crate::{Error, Result};

/// The grants a client may use at the token endpoint.
///
/// `password` and `implicit` are not here and never will be (RFC 9700 §2.4, §2.1.2): the
/// first-party login of this crate is not the password grant (see the crate docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum GrantType {
    /// `client_credentials` (RFC 6749 §4.4): a service acting for itself.
    ClientCredentials,
    /// `refresh_token` (RFC 6749 §6): exchanging a refresh token, which rotates it.
    RefreshToken,
    /// `authorization_code` (RFC 6749 §4.1, with PKCE, RFC 7636): a user's delegation,
    /// through [`TokenService::authorize`](super::TokenService::authorize).
    AuthorizationCode,
}

impl GrantType {
    /// The `grant_type` value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientCredentials => "client_credentials",
            Self::RefreshToken => "refresh_token",
            Self::AuthorizationCode => "authorization_code",
        }
    }

    /// Parses a `grant_type` value this service supports.
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "client_credentials" => Some(Self::ClientCredentials),
            "refresh_token" => Some(Self::RefreshToken),
            "authorization_code" => Some(Self::AuthorizationCode),
            _ => None,
        }
    }
}

/// The SHA-256 of a client secret: what a registry stores.
///
/// Generated secrets have 256 bits of entropy, so a fast hash is enough (there is nothing to
/// brute-force); secrets chosen by people would need a slow hash, which is why
/// [`MemoryClientRegistry::register_with_secret`] insists on long ones. Comparison is
/// constant-time.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SecretHash([u8; 32]);

impl SecretHash {
    /// The hash of `secret`.
    #[must_use]
    pub fn of(secret: &[u8]) -> Self {
        Self(Sha256::digest(secret).into())
    }

    /// A hash read back from storage.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes, for storage.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Whether `secret` hashes to this, compared in constant time.
    #[must_use]
    pub fn matches(&self, secret: &[u8]) -> bool {
        auth_core::ct_eq(&Sha256::digest(secret), &self.0)
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash([redacted])")
    }
}

/// A registered client as a [`ClientRegistry`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientRecord {
    /// The client id.
    pub id: String,
    /// The hash of its secret.
    pub secret_hash: SecretHash,
    /// The grants it may use.
    pub grants: BTreeSet<GrantType>,
    /// The scopes it may be granted.
    pub scopes: Scopes,
    /// The scopes it gets when it asks for none: least privilege, a subset of `scopes`.
    pub default_scopes: Scopes,
    /// The audiences (RFC 8707 resources) it may get tokens for; the first is the default.
    pub audiences: Vec<String>,
    /// The audiences whose tokens it may introspect: a resource server's own identifier.
    /// (A client may always introspect the tokens issued to itself.)
    pub introspection_audiences: Vec<String>,
    /// Whether client credentials responses carry a refresh token (off by default: RFC
    /// 6749 §4.4.3 says they should not).
    pub refresh_tokens: bool,
    /// A disabled client cannot authenticate.
    pub disabled: bool,
    /// The redirect URIs of the authorization code grant, matched exactly (only the port
    /// of a loopback `http://` one may vary, RFC 8252 §7.3).
    pub redirect_uris: Vec<String>,
    /// A public client (RFC 6749 §2.1: a browser or native app) has no secret: it sends its
    /// `client_id` alone (`token_endpoint_auth_method=none`) and may only use the
    /// authorization code grant, always with PKCE, and `refresh_token`.
    pub public: bool,
}

impl ClientRecord {
    /// A record for `id` with `secret_hash`, no grants, scopes or audiences yet.
    #[must_use]
    pub fn new(id: impl Into<String>, secret_hash: SecretHash) -> Self {
        Self {
            id: id.into(),
            secret_hash,
            grants: BTreeSet::new(),
            scopes: Scopes::new(),
            default_scopes: Scopes::new(),
            audiences: Vec::new(),
            introspection_audiences: Vec::new(),
            refresh_tokens: false,
            disabled: false,
            redirect_uris: Vec::new(),
            public: false,
        }
    }
}

/// Where the token service finds clients. Implement it for a database (the SQL stores
/// arrive with the stores work); memory: [`MemoryClientRegistry`].
#[async_trait]
pub trait ClientRegistry: Send + Sync + fmt::Debug + 'static {
    /// The client `client_id`, if registered (disabled ones included).
    async fn find(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError>;
}

/// What a client may do, to register it (see [`MemoryClientRegistry::register`]).
///
/// # Examples
///
/// ```
/// use auth_oauth2::{ClientConfig, GrantType, MemoryClientRegistry};
///
/// let clients = MemoryClientRegistry::new();
/// let secret = clients.register(
///     ClientConfig::new("billing-service")
///         .grant(GrantType::ClientCredentials)
///         .scopes("orders:read orders:write".parse()?)
///         .default_scopes("orders:read".parse()?)
///         .audience("https://api.example/orders"),
/// )?;
/// // Hand `secret` to the client once; only its hash is kept.
/// assert_eq!(secret.len(), 43);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ClientConfig {
    record: ClientRecord,
}

impl ClientConfig {
    /// A client `id` that may do nothing yet.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            record: ClientRecord::new(id, SecretHash([0; 32])),
        }
    }

    /// Allows `grant`.
    pub fn grant(mut self, grant: GrantType) -> Self {
        self.record.grants.insert(grant);
        self
    }

    /// The scopes it may be granted.
    pub fn scopes(mut self, scopes: Scopes) -> Self {
        self.record.scopes = scopes;
        self
    }

    /// The scopes it gets when it asks for none (default: none at all).
    pub fn default_scopes(mut self, scopes: Scopes) -> Self {
        self.record.default_scopes = scopes;
        self
    }

    /// An audience it may get tokens for (call again for several; the first is the
    /// default).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.record.audiences.push(audience.into());
        self
    }

    /// Lets it introspect the tokens of `audience`: register a resource server this way.
    pub fn introspection_for(mut self, audience: impl Into<String>) -> Self {
        self.record.introspection_audiences.push(audience.into());
        self
    }

    /// Issues it a refresh token with each client credentials token (RFC 6749 §4.4.3: it
    /// should not be; a client that can authenticate can ask again). Needs the
    /// `refresh_token` grant.
    pub fn refresh_tokens(mut self) -> Self {
        self.record.refresh_tokens = true;
        self
    }

    /// A redirect URI for the authorization code grant (call again for several): an
    /// absolute `https://` URL without fragment or user info, or an `http://` one on a
    /// loopback IP literal (`127.0.0.1`, `[::1]`; RFC 8252 §7.3, whose port may vary).
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.record.redirect_uris.push(uri.into());
        self
    }

    /// Makes it a public client (no secret; see [`ClientRecord::public`]). Register it with
    /// [`MemoryClientRegistry::register_public`].
    pub fn public(mut self) -> Self {
        self.record.public = true;
        self
    }

    /// Checks the configuration and returns the record with `secret_hash`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for an empty id, or one that is longer than 128 characters or not
    /// visible ASCII; no grant and no introspection audience; default scopes that are not
    /// among its scopes; the client credentials grant without an audience; refresh tokens
    /// without the `refresh_token` grant.
    pub fn into_record(self, secret_hash: SecretHash) -> Result<ClientRecord> {
        let mut record = self.record;
        record.secret_hash = secret_hash;
        let id = &record.id;
        if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::Config(format!(
                "client id {id:?}: 1 to 128 visible ASCII characters"
            )));
        }
        if record.grants.is_empty() && record.introspection_audiences.is_empty() {
            return Err(Error::Config(format!(
                "client {id}: no grant and no introspection audience; it could do nothing"
            )));
        }
        if !record.scopes.contains_all(&record.default_scopes) {
            return Err(Error::Config(format!(
                "client {id}: default scopes {} are not among its scopes {}",
                record.default_scopes, record.scopes
            )));
        }
        if record.grants.contains(&GrantType::ClientCredentials) && record.audiences.is_empty() {
            return Err(Error::Config(format!(
                "client {id}: the client credentials grant needs an audience (RFC 9068 aud)"
            )));
        }
        if record.refresh_tokens && !record.grants.contains(&GrantType::RefreshToken) {
            return Err(Error::Config(format!(
                "client {id}: refresh tokens need the refresh_token grant"
            )));
        }
        if record
            .audiences
            .iter()
            .chain(&record.introspection_audiences)
            .any(String::is_empty)
        {
            return Err(Error::Config(format!("client {id}: an empty audience")));
        }
        if record.grants.contains(&GrantType::AuthorizationCode)
            && (record.redirect_uris.is_empty() || record.audiences.is_empty())
        {
            return Err(Error::Config(format!(
                "client {id}: the authorization code grant needs a redirect URI and an \
                 audience"
            )));
        }
        for uri in &record.redirect_uris {
            check_redirect_uri(uri).map_err(|why| {
                Error::Config(format!("client {id}: redirect URI {uri:?}: {why}"))
            })?;
        }
        if record.public
            && (record.grants.contains(&GrantType::ClientCredentials)
                || !record.introspection_audiences.is_empty())
        {
            return Err(Error::Config(format!(
                "client {id}: a public client has no secret; it may use only the \
                 authorization code and refresh token grants"
            )));
        }
        Ok(record)
    }
}

/// Checks a redirect URI when a client is registered.
fn check_redirect_uri(uri: &str) -> std::result::Result<(), &'static str> {
    let url = url::Url::parse(uri).map_err(|_| "not an absolute URL")?;
    if url.fragment().is_some() || uri.contains('#') {
        return Err("a fragment is not allowed (RFC 6749 §3.1.2)");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("user info is not allowed");
    }
    if url.as_str() != uri {
        return Err("not in normal form (register it exactly as the client sends it)");
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_literal(&url) => Ok(()),
        _ => Err("must be https://, or http:// on 127.0.0.1 or [::1] (RFC 8252 §7.3)"),
    }
}

/// Whether `url`'s host is a loopback IP literal (RFC 8252 §7.3; `localhost` is not one,
/// §8.3).
pub(crate) fn is_loopback_literal(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

/// A new client secret: 256 random bits, base64url (43 characters).
///
/// # Errors
///
/// [`Error::Config`] when the OS has no randomness to give.
pub fn generate_client_secret() -> Result<Secret> {
    let mut bytes = zeroize::Zeroizing::new([0_u8; 32]);
    getrandom::getrandom(bytes.as_mut())
        .map_err(|e| Error::Config(format!("no OS randomness: {e}")))?;
    Ok(Secret::from(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_ref()),
    ))
}

/// Clients in memory, registered from code.
///
/// # Examples
///
/// See [`ClientConfig`].
#[derive(Default)]
pub struct MemoryClientRegistry {
    clients: RwLock<HashMap<String, ClientRecord>>,
}

impl MemoryClientRegistry {
    /// The shortest secret [`register_with_secret`](Self::register_with_secret) accepts, in
    /// bytes.
    pub const MIN_SECRET_LEN: usize = 32;

    /// An empty registry.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn add(&self, record: ClientRecord) -> Result<()> {
        let mut clients = self.clients.write().unwrap_or_else(PoisonError::into_inner);
        if clients.contains_key(&record.id) {
            return Err(Error::Config(format!(
                "client {} is already registered",
                record.id
            )));
        }
        clients.insert(record.id.clone(), record);
        Ok(())
    }

    /// Registers a client with a generated secret, returned once: only its hash is kept.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a configuration [`ClientConfig::into_record`] refuses or an id
    /// already registered.
    pub fn register(&self, config: ClientConfig) -> Result<Secret> {
        if config.record.public {
            return Err(Error::Config(format!(
                "client {}: a public client has no secret; use register_public",
                config.record.id
            )));
        }
        let secret = generate_client_secret()?;
        self.add(config.into_record(SecretHash::of(secret.expose_secret()))?)?;
        Ok(secret)
    }

    /// Registers a public client (see [`ClientConfig::public`]): it has no secret.
    ///
    /// # Errors
    ///
    /// As [`register`](Self::register), and when `config` is not [`public`](ClientConfig::public).
    pub fn register_public(&self, config: ClientConfig) -> Result<()> {
        if !config.record.public {
            return Err(Error::Config(format!(
                "client {}: register_public needs ClientConfig::public()",
                config.record.id
            )));
        }
        // No secret hashes to all zeros: nothing authenticates with one.
        self.add(config.into_record(SecretHash([0; 32]))?)
    }

    /// Registers a client with a secret it already has (migrating from another server).
    ///
    /// # Errors
    ///
    /// As [`register`](Self::register), and for a secret shorter than
    /// [`MIN_SECRET_LEN`](Self::MIN_SECRET_LEN) bytes: it is stored as a fast hash, which
    /// only a long random secret makes safe.
    pub fn register_with_secret(&self, config: ClientConfig, secret: &Secret) -> Result<()> {
        if config.record.public {
            return Err(Error::Config(format!(
                "client {}: a public client has no secret; use register_public",
                config.record.id
            )));
        }
        if secret.len() < Self::MIN_SECRET_LEN {
            return Err(Error::Config(format!(
                "client secrets must be at least {} bytes of random; generate one with \
                 generate_client_secret()",
                Self::MIN_SECRET_LEN
            )));
        }
        self.add(config.into_record(SecretHash::of(secret.expose_secret()))?)
    }

    /// Stores `record` as is (a client read from elsewhere), replacing one with its id.
    pub fn insert(&self, record: ClientRecord) {
        self.clients
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(record.id.clone(), record);
    }

    /// Gives client `id` a new generated secret; the old one stops working at once.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `id` is not registered.
    pub fn rotate_secret(&self, id: &str) -> Result<Secret> {
        let secret = generate_client_secret()?;
        let mut clients = self.clients.write().unwrap_or_else(PoisonError::into_inner);
        let record = clients
            .get_mut(id)
            .ok_or_else(|| Error::Config(format!("client {id} is not registered")))?;
        record.secret_hash = SecretHash::of(secret.expose_secret());
        Ok(secret)
    }

    /// Disables client `id` (it can no longer authenticate); `false` when unknown.
    pub fn disable(&self, id: &str) -> bool {
        self.set_disabled(id, true)
    }

    /// Enables client `id` again; `false` when unknown.
    pub fn enable(&self, id: &str) -> bool {
        self.set_disabled(id, false)
    }

    fn set_disabled(&self, id: &str, disabled: bool) -> bool {
        let mut clients = self.clients.write().unwrap_or_else(PoisonError::into_inner);
        clients
            .get_mut(id)
            .map(|record| record.disabled = disabled)
            .is_some()
    }

    /// Removes client `id`; `false` when unknown.
    pub fn remove(&self, id: &str) -> bool {
        self.clients
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id)
            .is_some()
    }

    /// Number of clients.
    #[must_use]
    pub fn len(&self) -> usize {
        self.clients
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no client is registered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl ClientRegistry for MemoryClientRegistry {
    async fn find(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
        Ok(self
            .clients
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(client_id)
            .cloned())
    }
}

impl fmt::Debug for MemoryClientRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let clients = self.clients.read().unwrap_or_else(PoisonError::into_inner);
        let mut ids: Vec<&String> = clients.keys().collect();
        ids.sort();
        f.debug_struct("MemoryClientRegistry")
            .field("clients", &ids)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ClientConfig {
        ClientConfig::new("svc")
            .grant(GrantType::ClientCredentials)
            .scopes("a b".parse().unwrap())
            .default_scopes("a".parse().unwrap())
            .audience("https://api.example")
    }

    #[tokio::test]
    async fn secrets_are_returned_once_and_stored_hashed() {
        let registry = MemoryClientRegistry::new();
        let secret = registry.register(config()).unwrap();
        let record = registry.find("svc").await.unwrap().unwrap();
        assert!(record.secret_hash.matches(secret.expose_secret()));
        assert!(!record.secret_hash.matches(b"other"));
        assert!(!format!("{record:?}{registry:?}").contains(secret.expose_str().unwrap()));
        assert!(registry.register(config()).is_err(), "ids are unique");
        let rotated = registry.rotate_secret("svc").unwrap();
        let record = registry.find("svc").await.unwrap().unwrap();
        assert!(!record.secret_hash.matches(secret.expose_secret()));
        assert!(record.secret_hash.matches(rotated.expose_secret()));
    }

    #[test]
    fn unsafe_configurations_are_refused() {
        let too_broad = config().default_scopes("c".parse().unwrap());
        assert!(too_broad.into_record(SecretHash::of(b"x")).is_err());
        let no_audience = ClientConfig::new("svc").grant(GrantType::ClientCredentials);
        assert!(no_audience.into_record(SecretHash::of(b"x")).is_err());
        assert!(
            ClientConfig::new("")
                .grant(GrantType::RefreshToken)
                .into_record(SecretHash::of(b"x"))
                .is_err()
        );
        assert!(
            ClientConfig::new("nothing")
                .into_record(SecretHash::of(b"x"))
                .is_err()
        );
        assert!(
            config()
                .refresh_tokens()
                .into_record(SecretHash::of(b"x"))
                .is_err()
        );
        let registry = MemoryClientRegistry::new();
        assert!(
            registry
                .register_with_secret(config(), &Secret::from("short"))
                .is_err()
        );
        assert!(
            registry
                .register_with_secret(config(), &Secret::from("x".repeat(32)))
                .is_ok()
        );
    }
}
