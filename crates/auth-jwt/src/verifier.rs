//! [`Verifier`]: the RFC 8725 floor, and where keys come from ([`KeySource`]).

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use auth_core::{SharedClock, SystemClock};
use jsonwebtoken::Algorithm;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::keys::{Key, KeySet};
use crate::revocation::RevocationStore;
use crate::token::{
    ClaimValue, ClaimsView, Compact, b64_decode, b64_decode_into, jose_header, parse_claims,
    parse_object, split,
};
use crate::{KeyError, VerifiedClaims, VerifyError};

/// Where a [`Verifier`] finds the key for a token.
#[async_trait]
pub trait KeySource: Send + Sync + fmt::Debug + 'static {
    /// The key for `kid`; for a token without `kid`, the only key when there is exactly one.
    /// `Ok(None)` when there is none.
    async fn key(&self, kid: Option<&str>) -> Result<Option<Arc<Key>>, VerifyError>;

    /// The same answer as [`key`](KeySource::key) when the source can give it without
    /// waiting (a key set in memory, a fresh cache), so the verifier skips the future;
    /// `None` to have the verifier call [`key`](KeySource::key). The default is `None`.
    fn key_now(&self, kid: Option<&str>) -> Option<Result<Option<Arc<Key>>, VerifyError>> {
        let _ = kid;
        None
    }
}

#[async_trait]
impl KeySource for KeySet {
    async fn key(&self, kid: Option<&str>) -> Result<Option<Arc<Key>>, VerifyError> {
        Ok(self.lookup(kid))
    }

    fn key_now(&self, kid: Option<&str>) -> Option<Result<Option<Arc<Key>>, VerifyError>> {
        Some(Ok(self.lookup(kid)))
    }
}

impl KeySet {
    fn lookup(&self, kid: Option<&str>) -> Option<Arc<Key>> {
        match kid {
            Some(kid) => self.get(kid).cloned(),
            None => self.sole().cloned(),
        }
    }
}

#[async_trait]
impl<S: KeySource + ?Sized> KeySource for Arc<S> {
    async fn key(&self, kid: Option<&str>) -> Result<Option<Arc<Key>>, VerifyError> {
        (**self).key(kid).await
    }

    fn key_now(&self, kid: Option<&str>) -> Option<Result<Option<Arc<Key>>, VerifyError>> {
        (**self).key_now(kid)
    }
}

/// A [`KeySet`] that can be changed while issuers and verifiers use it (rotation at run
/// time). Clones share the same set.
#[derive(Clone, Default)]
pub struct SharedKeySet(Arc<RwLock<Arc<KeySet>>>);

impl SharedKeySet {
    /// Shares `keys`.
    #[must_use]
    pub fn new(keys: KeySet) -> Self {
        Self(Arc::new(RwLock::new(Arc::new(keys))))
    }

    /// The current set.
    #[must_use]
    pub fn current(&self) -> Arc<KeySet> {
        Arc::clone(&self.0.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Changes the set (add, promote, retire) atomically.
    ///
    /// # Errors
    ///
    /// Whatever `change` returns; the set is unchanged then.
    pub fn update<T>(
        &self,
        change: impl FnOnce(&mut KeySet) -> Result<T, KeyError>,
    ) -> Result<T, KeyError> {
        let mut guard = self.0.write().unwrap_or_else(PoisonError::into_inner);
        let mut next = KeySet::clone(&guard);
        let out = change(&mut next)?;
        *guard = Arc::new(next);
        Ok(out)
    }
}

#[async_trait]
impl KeySource for SharedKeySet {
    async fn key(&self, kid: Option<&str>) -> Result<Option<Arc<Key>>, VerifyError> {
        Ok(self.lookup(kid))
    }

    fn key_now(&self, kid: Option<&str>) -> Option<Result<Option<Arc<Key>>, VerifyError>> {
        Some(Ok(self.lookup(kid)))
    }
}

impl SharedKeySet {
    fn lookup(&self, kid: Option<&str>) -> Option<Arc<Key>> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .lookup(kid)
    }
}

impl fmt::Debug for SharedKeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SharedKeySet")
            .field(&self.current())
            .finish()
    }
}

/// The registered claims of a verified token (RFC 7519 §4.1).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RegisteredClaims {
    /// `iss`.
    pub iss: Option<String>,
    /// `sub`.
    pub sub: Option<String>,
    /// `aud`, as a list (a single string becomes one entry).
    pub aud: Vec<String>,
    /// `exp`, seconds since the epoch.
    pub exp: i64,
    /// `nbf`.
    pub nbf: Option<i64>,
    /// `iat`.
    pub iat: Option<i64>,
    /// `jti`.
    pub jti: Option<String>,
}

/// What the token's header said (only what auth-jwt uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHeader {
    /// The algorithm (equal to the key's).
    pub alg: Algorithm,
    /// The key id, when sent.
    pub kid: Option<String>,
    /// `typ`, when sent.
    pub typ: Option<String>,
}

/// A verified token: header, registered claims, and the application's claims.
#[derive(Debug, Clone)]
pub struct Verified<C> {
    /// The header.
    pub header: TokenHeader,
    /// The registered claims.
    pub registered: RegisteredClaims,
    /// The claims as the application's type.
    pub claims: C,
}

#[derive(Debug, Clone)]
struct Policy {
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway: Duration,
    max_lifetime: Duration,
    typ: Option<String>,
    max_len: usize,
    require_jti: Option<bool>,
}

/// Verifies JWTs at the RFC 8725 floor.
///
/// In order, cheapest first: the size limit (before any decoding); exactly three strict
/// base64url segments; a header object without duplicate members; `alg` must be one of
/// ours (never `none`, never trusted alone) and equal the algorithm the `kid`'s key is bound
/// to; `crit` refused (no extension is understood); `typ` checked when required; keys come
/// only from the [`KeySource`] (never `jku`, `x5u`, `jwk`, `x5c`; `kid` is only a map key);
/// the signature; then the claims object (no duplicate members): `exp` required and a
/// NumericDate, `nbf`/`iat` not in the future, all within the leeway; the lifetime cap;
/// `iss`/`aud` when configured; the `jti` denylist when configured.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::time::Duration;
/// use auth_jwt::{Algorithm, Issuer, Key, KeySet, Verifier};
///
/// let keys = KeySet::single(Key::generate("k1", Algorithm::ES256)?);
/// let issuer = Issuer::builder(keys.clone()).issuer("https://id.example").audience("orders").build()?;
/// let verifier = Verifier::builder(keys).issuer("https://id.example").audience("orders").build()?;
///
/// let token = issuer.issue("alice", &serde_json::json!({"scope": "orders:read"}))?;
/// let verified = verifier.verify::<serde_json::Value>(&token).await.unwrap();
/// assert_eq!(verified.registered.sub.as_deref(), Some("alice"));
/// assert_eq!(verified.claims["scope"], "orders:read");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Verifier {
    keys: Arc<dyn KeySource>,
    revocations: Option<Arc<dyn RevocationStore>>,
    clock: SharedClock,
    policy: Arc<Policy>,
}

/// Builds a [`Verifier`]; see [`Verifier::builder`].
#[must_use = "call .build()"]
pub struct VerifierBuilder {
    keys: Arc<dyn KeySource>,
    revocations: Option<Arc<dyn RevocationStore>>,
    clock: Option<SharedClock>,
    policy: Policy,
    dangerous_leeway: bool,
}

impl Verifier {
    /// The default leeway for clock skew: 30 seconds.
    pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
    /// The largest leeway accepted without the dangerous opt-in: 60 seconds (RFC 8725 spirit:
    /// minutes of skew mean a broken clock, not a tolerance).
    pub const MAX_LEEWAY: Duration = Duration::from_secs(60);
    /// The default maximum lifetime (`exp` - `iat`): 24 hours.
    pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);
    /// The default size limit of a token: 8 KiB.
    pub const DEFAULT_MAX_LEN: usize = 8 * 1024;

    /// A builder verifying with `keys` (a [`KeySet`], a [`SharedKeySet`], or a remote JWKS
    /// cache).
    pub fn builder(keys: impl KeySource) -> VerifierBuilder {
        VerifierBuilder {
            keys: Arc::new(keys),
            revocations: None,
            clock: None,
            policy: Policy {
                issuers: Vec::new(),
                audiences: Vec::new(),
                leeway: Self::DEFAULT_LEEWAY,
                max_lifetime: Self::DEFAULT_MAX_LIFETIME,
                typ: None,
                max_len: Self::DEFAULT_MAX_LEN,
                require_jti: None,
            },
            dangerous_leeway: false,
        }
    }

    /// Verifies `token` and deserializes its claims into `C` (use `serde_json::Value` or a
    /// map for "any claims"), straight from the claims JSON.
    ///
    /// # Errors
    ///
    /// [`VerifyError`] naming the first check that failed (its
    /// [`reason`](VerifyError::reason) is for the audit log; clients get `invalid_token`).
    pub async fn verify<C: DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<Verified<C>, VerifyError> {
        let (header, json, registered) = self
            .verify_with(token, &[], |claims, dates| {
                Ok(registered_claims(claims, dates))
            })
            .await?;
        let claims = serde_json::from_str(&json).map_err(|_| VerifyError::ClaimsType)?;
        Ok(Verified {
            header,
            registered,
            claims,
        })
    }

    /// Verifies `token` and returns its claims as [`VerifiedClaims`]: the cheapest way to
    /// keep a verified token. The registered claims and the claims object are parsed from
    /// the kept JSON only when asked for.
    ///
    /// # Errors
    ///
    /// As [`verify`](Verifier::verify).
    pub async fn verify_claims(&self, token: &str) -> Result<VerifiedClaims, VerifyError> {
        let (header, json, ()) = self.verify_with(token, &[], |_, _| Ok(())).await?;
        Ok(VerifiedClaims::from_json(header, json))
    }

    /// Like [`verify`](Verifier::verify), returning the claims as a JSON object (built
    /// member by member: prefer [`verify`](Verifier::verify) into a struct, or
    /// [`verify_claims`](Verifier::verify_claims), on a hot path).
    ///
    /// # Errors
    ///
    /// As [`verify`](Verifier::verify).
    pub async fn verify_raw(
        &self,
        token: &str,
    ) -> Result<(TokenHeader, RegisteredClaims, Map<String, Value>), VerifyError> {
        let (header, json, registered) = self
            .verify_with(token, &[], |claims, dates| {
                Ok(registered_claims(claims, dates))
            })
            .await?;
        let claims = parse_object(json.as_bytes(), "claims")?;
        Ok((header, registered, claims))
    }

    /// Every check, in order; then `extract` reads what the caller needs from the claims
    /// (parsed once, borrowing from the decoded JSON, with the `extra` names kept besides
    /// [`SLOTTED`](crate::token::SLOTTED)). Returns the header, the claims JSON and what
    /// `extract` returned.
    pub(crate) async fn verify_with<T>(
        &self,
        token: &str,
        extra: &[String],
        extract: impl FnOnce(&ClaimsView<'_>, &Dates) -> Result<T, VerifyError>,
    ) -> Result<(TokenHeader, String, T), VerifyError> {
        let policy = &self.policy;
        if token.len() > policy.max_len {
            return Err(VerifyError::TooLarge);
        }
        let parts = split(token).map_err(|error| match error {
            // No signature: an unsecured JWS (`alg: none`, RFC 7515 A.5) says so in its header
            // and is refused for its algorithm, as a signed one would be; a stripped signature
            // under a real algorithm is a bad signature.
            VerifyError::Signature if names_no_known_algorithm(token) => VerifyError::Algorithm,
            other => other,
        })?;
        let header = jose_header(parts.header)?;
        let alg = header.alg.ok_or(VerifyError::Algorithm)?;
        if header.crit {
            return Err(VerifyError::Crit);
        }
        let typ = header.typ.map_err(|()| VerifyError::Typ)?;
        if let Some(required) = &policy.typ {
            let matches = typ.as_deref().is_some_and(|typ| {
                let typ = typ
                    .strip_prefix("application/")
                    .or_else(|| typ.strip_prefix("APPLICATION/"))
                    .unwrap_or(typ);
                typ.eq_ignore_ascii_case(required)
            });
            if !matches {
                return Err(VerifyError::Typ);
            }
        }
        let kid = header.kid.map_err(|()| VerifyError::UnknownKey)?;
        let key = auth_core::now_or_await(self.keys.key_now(kid.as_deref()), || {
            self.keys.key(kid.as_deref())
        })
        .await?
        .ok_or(VerifyError::UnknownKey)?;
        if key.alg() != alg {
            return Err(VerifyError::Algorithm);
        }
        let json = check_signature(&key, &parts)?;
        let claims = parse_claims(&json, extra)?;
        let dates = self.check_claims(&claims).await?;
        let extracted = extract(&claims, &dates)?;
        drop(claims);
        Ok((TokenHeader { alg, kid, typ }, json, extracted))
    }

    async fn check_claims(&self, claims: &ClaimsView<'_>) -> Result<Dates, VerifyError> {
        let policy = &self.policy;
        let now = unix(self.clock.now());
        let leeway = i64::try_from(policy.leeway.as_secs()).unwrap_or(i64::MAX);

        let exp = numeric_date(claims.exp.as_ref(), "exp")?.ok_or(VerifyError::Expired)?;
        if now > exp.saturating_add(leeway) {
            return Err(VerifyError::Expired);
        }
        let nbf = numeric_date(claims.nbf.as_ref(), "nbf")?;
        if nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
            return Err(VerifyError::NotYetValid);
        }
        let iat = numeric_date(claims.iat.as_ref(), "iat")?;
        if iat.is_some_and(|iat| iat > now.saturating_add(leeway)) {
            return Err(VerifyError::IssuedInFuture);
        }
        let max = i64::try_from(policy.max_lifetime.as_secs()).unwrap_or(i64::MAX);
        let lifetime = exp.saturating_sub(iat.unwrap_or(now));
        if lifetime > max {
            return Err(VerifyError::LifetimeTooLong);
        }

        let iss = string_claim(claims.iss.as_ref(), "iss")?;
        if !policy.issuers.is_empty()
            && !iss.is_some_and(|iss| policy.issuers.iter().any(|ok| ok == iss))
        {
            return Err(VerifyError::Issuer);
        }
        let aud: &[Cow<'_, str>] = match &claims.aud {
            None => &[],
            Some(ClaimValue::Str(aud)) => std::slice::from_ref(aud),
            Some(ClaimValue::Strs(items)) => items,
            Some(_) => return Err(VerifyError::InvalidClaim("aud")),
        };
        if !policy.audiences.is_empty()
            && !aud
                .iter()
                .any(|a| policy.audiences.iter().any(|ok| ok == a))
        {
            return Err(VerifyError::Audience);
        }
        string_claim(claims.sub.as_ref(), "sub")?;
        let jti = string_claim(claims.jti.as_ref(), "jti")?;

        if let Some(store) = &self.revocations {
            match jti {
                Some(jti)
                    if store
                        .is_revoked(jti)
                        .await
                        .map_err(|_| VerifyError::Unavailable("revocation store"))? =>
                {
                    return Err(VerifyError::Revoked);
                }
                Some(_) => {}
                None if policy.require_jti != Some(false) => {
                    return Err(VerifyError::MissingClaim("jti"));
                }
                None => {}
            }
        } else if policy.require_jti == Some(true) && jti.is_none() {
            return Err(VerifyError::MissingClaim("jti"));
        }

        Ok(Dates { exp, nbf, iat })
    }

    /// Revokes the verified token with `jti` until its `exp`.
    ///
    /// # Errors
    ///
    /// [`VerifyError::Unavailable`] without a revocation store or when it fails.
    pub async fn revoke(&self, registered: &RegisteredClaims) -> Result<(), VerifyError> {
        let store = self
            .revocations
            .as_ref()
            .ok_or(VerifyError::Unavailable("no revocation store configured"))?;
        let jti = registered
            .jti
            .as_deref()
            .ok_or(VerifyError::MissingClaim("jti"))?;
        let until = UNIX_EPOCH + Duration::from_secs(u64::try_from(registered.exp).unwrap_or(0));
        store
            .revoke(jti, until)
            .await
            .map_err(|_| VerifyError::Unavailable("revocation store"))
    }
}

/// Whether the JOSE header of `token` reads and names no algorithm auth-jwt knows (`none`,
/// in any case, or anything else).
fn names_no_known_algorithm(token: &str) -> bool {
    token
        .split('.')
        .next()
        .is_some_and(|header| jose_header(header).is_ok_and(|header| header.alg.is_none()))
}

fn unix(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// The size of the stack buffer a signature is decoded into: an RSA-8192 signature (the
/// largest ring checks) fits.
const SIGNATURE_BUF: usize = 1024;

/// Checks the signature of `parts` with `key`; returns the decoded claims JSON.
fn check_signature(key: &Key, parts: &Compact<'_>) -> Result<String, VerifyError> {
    let mut buf = [0_u8; SIGNATURE_BUF];
    let mut heap = Vec::new();
    let signature = b64_decode_into(parts.signature, "signature", &mut buf, &mut heap)?;
    if !key.verify_signature(parts.signing_input.as_bytes(), signature) {
        return Err(VerifyError::Signature);
    }
    String::from_utf8(b64_decode(parts.payload, "payload")?)
        .map_err(|_| VerifyError::Malformed("claims"))
}

/// The dates of a verified token, as checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dates {
    pub(crate) exp: i64,
    pub(crate) nbf: Option<i64>,
    pub(crate) iat: Option<i64>,
}

/// The registered claims of checked `claims` (their types were checked: a claim of another
/// type is left out).
pub(crate) fn registered_claims(claims: &ClaimsView<'_>, dates: &Dates) -> RegisteredClaims {
    let string = |value: &Option<ClaimValue<'_>>| {
        value
            .as_ref()
            .and_then(ClaimValue::as_str)
            .map(str::to_owned)
    };
    RegisteredClaims {
        iss: string(&claims.iss),
        sub: string(&claims.sub),
        aud: match &claims.aud {
            Some(ClaimValue::Str(aud)) => vec![String::from(&**aud)],
            Some(ClaimValue::Strs(items)) => items.iter().map(|a| String::from(&**a)).collect(),
            _ => Vec::new(),
        },
        exp: dates.exp,
        nbf: dates.nbf,
        iat: dates.iat,
        jti: string(&claims.jti),
    }
}

/// A NumericDate (RFC 7519 §2): a JSON number; fractions are truncated. A string, `null`,
/// or anything else is refused.
pub(crate) fn numeric_date(
    value: Option<&ClaimValue<'_>>,
    name: &'static str,
) -> Result<Option<i64>, VerifyError> {
    match value {
        None => Ok(None),
        Some(ClaimValue::Num(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .map(Some)
            .ok_or(VerifyError::InvalidClaim(name)),
        Some(_) => Err(VerifyError::InvalidClaim(name)),
    }
}

fn string_claim<'v>(
    value: Option<&'v ClaimValue<'_>>,
    name: &'static str,
) -> Result<Option<&'v str>, VerifyError> {
    match value {
        None => Ok(None),
        Some(ClaimValue::Str(s)) => Ok(Some(s)),
        Some(_) => Err(VerifyError::InvalidClaim(name)),
    }
}

impl VerifierBuilder {
    /// Accepts tokens whose `iss` is `issuer` (call again for several). Once set, `iss` is
    /// required.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.policy.issuers.push(issuer.into());
        self
    }

    /// Accepts tokens whose `aud` contains `audience` (call again for several). Once set,
    /// `aud` is required.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.policy.audiences.push(audience.into());
        self
    }

    /// Clock-skew tolerance for `exp`, `nbf`, `iat` (default 30 s, at most 60 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.policy.leeway = leeway;
        self
    }

    /// **Dangerous.** Allows a leeway above 60 s: every expired token then lives that much
    /// longer.
    pub fn dangerous_allow_long_leeway(mut self) -> Self {
        self.dangerous_leeway = true;
        self
    }

    /// The longest lifetime accepted (`exp` - `iat`, or `exp` - now without `iat`; default
    /// 24 h).
    pub fn max_lifetime(mut self, max: Duration) -> Self {
        self.policy.max_lifetime = max;
        self
    }

    /// Requires the header `typ` (compared case-insensitively, `application/` prefix
    /// optional): e.g. `at+jwt` for RFC 9068 access tokens.
    pub fn required_typ(mut self, typ: impl Into<String>) -> Self {
        self.policy.typ = Some(typ.into());
        self
    }

    /// The size limit in bytes, checked before decoding (default 8 KiB).
    pub fn max_token_len(mut self, bytes: usize) -> Self {
        self.policy.max_len = bytes;
        self
    }

    /// Checks `jti` against `store`; tokens without `jti` are then refused unless
    /// [`require_jti(false)`](VerifierBuilder::require_jti) says otherwise.
    pub fn revocations(mut self, store: Arc<dyn RevocationStore>) -> Self {
        self.revocations = Some(store);
        self
    }

    /// Whether `jti` is required (default: only when a revocation store is configured).
    pub fn require_jti(mut self, required: bool) -> Self {
        self.policy.require_jti = Some(required);
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
    /// [`KeyError::Config`] for a leeway above 60 s without the dangerous opt-in, a zero
    /// lifetime, a size limit under 64 bytes, or an empty issuer/audience/typ.
    pub fn build(self) -> Result<Verifier, KeyError> {
        let p = &self.policy;
        if p.leeway > Verifier::MAX_LEEWAY && !self.dangerous_leeway {
            return Err(KeyError::Config(
                "leeway above 60 s needs dangerous_allow_long_leeway()".into(),
            ));
        }
        if p.max_lifetime.is_zero() {
            return Err(KeyError::Config("max_lifetime must be positive".into()));
        }
        if p.max_len < 64 {
            return Err(KeyError::Config(
                "max_token_len must be at least 64 bytes".into(),
            ));
        }
        if p.issuers.iter().chain(&p.audiences).any(String::is_empty)
            || p.typ.as_deref() == Some("")
        {
            return Err(KeyError::Config("empty issuer, audience or typ".into()));
        }
        Ok(Verifier {
            keys: self.keys,
            revocations: self.revocations,
            clock: self.clock.unwrap_or_else(SystemClock::shared),
            policy: Arc::new(self.policy),
        })
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("keys", &self.keys)
            .field("policy", &self.policy)
            .field("revocations", &self.revocations.is_some())
            .finish()
    }
}

impl fmt::Debug for VerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifierBuilder")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}
