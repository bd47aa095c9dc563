//! [`Issuer`]: signs tokens with the active key of a key set.

use std::fmt;
use std::time::Duration;

use auth_core::{SharedClock, SystemClock, unix_seconds};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::KeyError;
use crate::KeySet;
use crate::keys::alg_name;
use crate::verifier::SharedKeySet;

/// The registered claim names an Issuer sets itself.
const REGISTERED: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];

/// Signs JWTs: the application's claims plus `iss`, `sub`, `aud`, `iat`, `nbf`, `exp` and a
/// random `jti`, with `typ` and the active key's `kid` in the header.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use auth_jwt::{Algorithm, Issuer, Key, KeySet};
///
/// let keys = KeySet::single(Key::generate("k1", Algorithm::EdDSA)?);
/// let issuer = Issuer::builder(keys)
///     .issuer("https://id.example")
///     .audience("orders")
///     .ttl(Duration::from_secs(600))
///     .typ("at+jwt")
///     .build()?;
/// let token = issuer.issue("alice", &serde_json::json!({"scope": "orders:read"}))?;
/// assert_eq!(token.split('.').count(), 3);
/// # Ok::<(), auth_jwt::KeyError>(())
/// ```
#[derive(Clone)]
pub struct Issuer {
    keys: SharedKeySet,
    issuer: Option<String>,
    audience: Vec<String>,
    ttl: Duration,
    typ: String,
    clock: SharedClock,
}

/// Builds an [`Issuer`]; see [`Issuer::builder`].
#[must_use = "call .build()"]
pub struct IssuerBuilder {
    keys: SharedKeySet,
    issuer: Option<String>,
    audience: Vec<String>,
    ttl: Duration,
    typ: String,
    clock: Option<SharedClock>,
}

impl Issuer {
    /// The default token lifetime: 15 minutes.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(15 * 60);

    /// A builder signing with the active key of `keys` (a [`KeySet`] or a
    /// [`SharedKeySet`] for rotation at run time).
    pub fn builder(keys: impl Into<SharedKeySet>) -> IssuerBuilder {
        IssuerBuilder {
            keys: keys.into(),
            issuer: None,
            audience: Vec::new(),
            ttl: Self::DEFAULT_TTL,
            typ: "JWT".to_owned(),
            clock: None,
        }
    }

    /// Signs a token for `subject` with `claims` (any serde type serializing to a JSON
    /// object; `null`/unit means none).
    ///
    /// # Errors
    ///
    /// [`KeyError::Config`] when the claims are not an object or set a registered claim
    /// the issuer owns; [`KeyError::NoSigningKey`] without an active key.
    pub fn issue<C: Serialize + ?Sized>(
        &self,
        subject: &str,
        claims: &C,
    ) -> Result<String, KeyError> {
        self.issue_with_ttl(subject, claims, self.ttl)
    }

    /// Like [`issue`](Issuer::issue) with another lifetime.
    ///
    /// # Errors
    ///
    /// As [`issue`](Issuer::issue).
    pub fn issue_with_ttl<C: Serialize + ?Sized>(
        &self,
        subject: &str,
        claims: &C,
        ttl: Duration,
    ) -> Result<String, KeyError> {
        let mut body = match serde_json::to_value(claims)
            .map_err(|e| KeyError::Config(format!("claims do not serialize: {e}")))?
        {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            _ => {
                return Err(KeyError::Config(
                    "claims must serialize to a JSON object".into(),
                ));
            }
        };
        if let Some(name) = REGISTERED.iter().find(|n| body.contains_key(**n)) {
            return Err(KeyError::Config(format!(
                "claim {name:?} is set by the Issuer; configure it instead"
            )));
        }
        let keys = self.keys.current();
        let key = keys.active().ok_or(KeyError::NoSigningKey)?;
        let now = i64::try_from(unix_seconds(self.clock.now())).unwrap_or(i64::MAX);
        let exp = now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX));
        let mut jti = [0_u8; 16];
        getrandom::getrandom(&mut jti).map_err(|e| KeyError::Config(e.to_string()))?;

        if let Some(iss) = &self.issuer {
            body.insert("iss".into(), json!(iss));
        }
        body.insert("sub".into(), json!(subject));
        match self.audience.as_slice() {
            [] => {}
            [one] => {
                body.insert("aud".into(), json!(one));
            }
            many => {
                body.insert("aud".into(), json!(many));
            }
        }
        body.insert("iat".into(), json!(now));
        body.insert("nbf".into(), json!(now));
        body.insert("exp".into(), json!(exp));
        body.insert("jti".into(), json!(URL_SAFE_NO_PAD.encode(jti)));

        let header = json!({"alg": alg_name(key.alg()), "typ": self.typ, "kid": key.kid()});
        let mut token = String::with_capacity(512);
        token.push_str(&URL_SAFE_NO_PAD.encode(header.to_string()));
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(Value::Object(body).to_string()));
        let signature = key.sign(token.as_bytes())?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(token)
    }

    /// The keys this issuer signs with (to publish their JWKS).
    #[must_use]
    pub fn keys(&self) -> &SharedKeySet {
        &self.keys
    }
}

impl From<KeySet> for SharedKeySet {
    fn from(keys: KeySet) -> Self {
        SharedKeySet::new(keys)
    }
}

impl IssuerBuilder {
    /// The `iss` claim.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// An `aud` value (call again for several).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience.push(audience.into());
        self
    }

    /// The lifetime (default 15 minutes; at most 24 hours).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The header `typ` (default `JWT`; `at+jwt` for RFC 9068 access tokens).
    pub fn typ(mut self, typ: impl Into<String>) -> Self {
        self.typ = typ.into();
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Checks the configuration.
    ///
    /// # Errors
    ///
    /// [`KeyError::Config`] for a zero or over-24-hour TTL or an empty `typ`;
    /// [`KeyError::NoSigningKey`] when the key set has no active signing key.
    pub fn build(self) -> Result<Issuer, KeyError> {
        if self.ttl.is_zero() || self.ttl > Duration::from_secs(24 * 3600) {
            return Err(KeyError::Config(
                "ttl must be between 1 second and 24 hours".into(),
            ));
        }
        if self.typ.is_empty() {
            return Err(KeyError::Config("typ must not be empty".into()));
        }
        if self.keys.current().active().is_none() {
            return Err(KeyError::NoSigningKey);
        }
        Ok(Issuer {
            keys: self.keys,
            issuer: self.issuer,
            audience: self.audience,
            ttl: self.ttl,
            typ: self.typ,
            clock: self.clock.unwrap_or_else(SystemClock::shared),
        })
    }
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .field("typ", &self.typ)
            .field("keys", &self.keys)
            .finish()
    }
}

impl fmt::Debug for IssuerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerBuilder")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}
