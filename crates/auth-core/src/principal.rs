//! [`Principal`]: who made the request, by which scheme, with which scopes.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use crate::Scopes;

/// The authentication scheme that produced a [`Principal`] or a decision.
///
/// A small `Copy` name (lower-case, as it appears in audit events). The auth-* crates use
/// the constants; an application's own authenticator can name itself with
/// [`Scheme::custom`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scheme(&'static str);

impl Scheme {
    /// HTTP Basic (RFC 7617).
    pub const BASIC: Scheme = Scheme("basic");
    /// API keys.
    pub const API_KEY: Scheme = Scheme("api_key");
    /// Bearer tokens (RFC 6750), opaque or introspected.
    pub const BEARER: Scheme = Scheme("bearer");
    /// JSON Web Tokens (RFC 7519) sent as Bearer tokens.
    pub const JWT: Scheme = Scheme("jwt");
    /// HMAC request signatures (RFC 9421).
    pub const HMAC: Scheme = Scheme("hmac");
    /// Server-side session cookies.
    pub const SESSION: Scheme = Scheme("session");
    /// OAuth 2.0 (client authentication at the token service).
    pub const OAUTH2: Scheme = Scheme("oauth2");
    /// A chain of schemes ([`AnyOf`](crate::AnyOf)) when no member decided.
    pub const ANY: Scheme = Scheme("any");

    /// A scheme of the application's own.
    #[must_use]
    pub const fn custom(name: &'static str) -> Scheme {
        Scheme(name)
    }

    /// The scheme's name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Debug for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Scheme-specific data carried by a [`Principal`], one value per type (JWT claims, API key
/// metadata, session data).
///
/// Values are shared (`Arc`), so cloning a `Principal` is cheap. `Debug` lists how many
/// values there are, never their contents: they may hold secrets.
#[derive(Clone, Default)]
pub struct Extensions {
    // A principal carries zero to a few values: a short list beats a hash map here.
    values: Vec<(TypeId, Arc<dyn Any + Send + Sync>)>,
}

impl Extensions {
    /// An empty map.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `value`, replacing any earlier value of the same type.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        self.insert_arc(Arc::new(value));
    }

    /// Stores a value that is already shared, without copying it (a store's cached record,
    /// say), replacing any earlier value of the same type.
    pub fn insert_arc<T: Send + Sync + 'static>(&mut self, value: Arc<T>) {
        let id = TypeId::of::<T>();
        match self.values.iter_mut().find(|(key, _)| *key == id) {
            Some((_, slot)) => *slot = value,
            None => self.values.push((id, value)),
        }
    }

    fn find(&self, id: TypeId) -> Option<&Arc<dyn Any + Send + Sync>> {
        self.values
            .iter()
            .find(|(key, _)| *key == id)
            .map(|(_, value)| value)
    }

    /// The value of type `T`, if any.
    #[must_use]
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.find(TypeId::of::<T>())
            .and_then(|value| value.downcast_ref::<T>())
    }

    /// The value of type `T` as a shared pointer, if any.
    #[must_use]
    pub fn get_arc<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.find(TypeId::of::<T>())
            .cloned()
            .and_then(|value| value.downcast::<T>().ok())
    }

    /// Whether a value of type `T` is present.
    #[must_use]
    pub fn contains<T: Send + Sync + 'static>(&self) -> bool {
        self.find(TypeId::of::<T>()).is_some()
    }

    /// Number of values.
    #[must_use]
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no values.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extensions")
            .field("len", &self.values.len())
            .finish_non_exhaustive()
    }
}

/// An authenticated caller: what a verifier hands to the handler.
///
/// # Examples
///
/// ```
/// use auth_core::{Principal, Scheme, Scopes};
///
/// #[derive(Debug, PartialEq)]
/// struct Tenant(u32);
///
/// let principal = Principal::new("alice", Scheme::BASIC)
///     .with_scopes("orders:read".parse()?)
///     .with_extension(Tenant(7));
///
/// assert_eq!(principal.subject(), "alice");
/// assert!(principal.scopes().contains("orders:read"));
/// assert_eq!(principal.extension::<Tenant>(), Some(&Tenant(7)));
/// # Ok::<(), auth_core::ScopeError>(())
/// ```
///
/// Cloning is cheap (one reference count): the extractors hand each handler a clone.
#[derive(Clone)]
pub struct Principal(Arc<PrincipalInner>);

#[derive(Clone)]
struct PrincipalInner {
    subject: String,
    scheme: Scheme,
    scopes: Scopes,
    authenticated_at: SystemTime,
    key_id: Option<String>,
    extensions: Extensions,
}

impl Principal {
    /// A principal for `subject`, authenticated now by `scheme`, with no scopes.
    #[must_use]
    pub fn new(subject: impl Into<String>, scheme: Scheme) -> Self {
        Self(Arc::new(PrincipalInner {
            subject: subject.into(),
            scheme,
            scopes: Scopes::new(),
            authenticated_at: SystemTime::now(),
            key_id: None,
            extensions: Extensions::new(),
        }))
    }

    /// The fields, to change them (copied first only if this principal is shared).
    fn inner_mut(&mut self) -> &mut PrincipalInner {
        Arc::make_mut(&mut self.0)
    }

    /// Sets the granted scopes.
    #[must_use]
    pub fn with_scopes(mut self, scopes: Scopes) -> Self {
        self.inner_mut().scopes = scopes;
        self
    }

    /// Sets when the caller authenticated (for a session: the login time; for a JWT: `iat`).
    #[must_use]
    pub fn with_authenticated_at(mut self, at: SystemTime) -> Self {
        self.inner_mut().authenticated_at = at;
        self
    }

    /// Sets the public id of the credential used (API key id, JWT `kid`/`jti`, HMAC `keyid`).
    /// It appears in audit events, so it must never be the credential itself.
    #[must_use]
    pub fn with_key_id(mut self, key_id: impl Into<String>) -> Self {
        self.inner_mut().key_id = Some(key_id.into());
        self
    }

    /// Adds scheme-specific data.
    #[must_use]
    pub fn with_extension<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.inner_mut().extensions.insert(value);
        self
    }

    /// Adds scheme-specific data that is already shared, without copying it (see
    /// [`Extensions::insert_arc`]); [`Principal::extension`] finds it as a `T`.
    #[must_use]
    pub fn with_extension_arc<T: Send + Sync + 'static>(mut self, value: Arc<T>) -> Self {
        self.inner_mut().extensions.insert_arc(value);
        self
    }

    /// Who the caller is: user name, client id, key owner, `sub` claim.
    #[must_use]
    pub fn subject(&self) -> &str {
        &self.0.subject
    }

    /// The scheme that authenticated the caller.
    #[must_use]
    pub fn scheme(&self) -> Scheme {
        self.0.scheme
    }

    /// The scopes granted to the caller.
    #[must_use]
    pub fn scopes(&self) -> &Scopes {
        &self.0.scopes
    }

    /// When the caller authenticated.
    #[must_use]
    pub fn authenticated_at(&self) -> SystemTime {
        self.0.authenticated_at
    }

    /// The public id of the credential used, when the scheme has one.
    #[must_use]
    pub fn key_id(&self) -> Option<&str> {
        self.0.key_id.as_deref()
    }

    /// The scheme-specific value of type `T`, if any.
    #[must_use]
    pub fn extension<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.0.extensions.get::<T>()
    }

    /// All scheme-specific data.
    #[must_use]
    pub fn extensions(&self) -> &Extensions {
        &self.0.extensions
    }

    /// All scheme-specific data, to add to it.
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.inner_mut().extensions
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("subject", &self.0.subject)
            .field("scheme", &self.0.scheme)
            .field("scopes", &self.0.scopes)
            .field("key_id", &self.0.key_id)
            .field("extensions", &self.0.extensions)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Claims {
        role: &'static str,
    }

    #[test]
    fn extensions_are_typed_and_shared_by_clones() {
        let principal = Principal::new("u1", Scheme::JWT).with_extension(Claims { role: "admin" });
        let copy = principal.clone();
        assert_eq!(copy.extension::<Claims>(), Some(&Claims { role: "admin" }));
        assert_eq!(copy.extension::<String>(), None);
        assert!(Arc::ptr_eq(
            &principal.extensions().get_arc::<Claims>().unwrap(),
            &copy.extensions().get_arc::<Claims>().unwrap()
        ));
    }

    #[test]
    fn clones_share_and_changes_copy_on_write() {
        let original = Principal::new("u1", Scheme::API_KEY).with_key_id("k1");
        let copy = original.clone();
        assert!(
            Arc::ptr_eq(&original.0, &copy.0),
            "a clone is one reference count"
        );
        let changed = copy.with_key_id("k2").with_extension(7_u32);
        assert_eq!(original.key_id(), Some("k1"));
        assert_eq!(original.extension::<u32>(), None);
        assert_eq!(changed.key_id(), Some("k2"));
        assert_eq!(changed.extension::<u32>(), Some(&7));
    }

    #[test]
    fn shared_extensions_are_not_copied_and_replace_by_type() {
        let shared = Arc::new(Claims { role: "reader" });
        let principal = Principal::new("u1", Scheme::JWT)
            .with_extension(Claims { role: "admin" })
            .with_extension_arc(Arc::clone(&shared));
        assert_eq!(principal.extensions().len(), 1);
        assert!(Arc::ptr_eq(
            &principal.extensions().get_arc::<Claims>().unwrap(),
            &shared
        ));
        assert!(principal.extensions().contains::<Claims>());
        assert!(!principal.extensions().contains::<String>());
    }

    #[test]
    fn debug_does_not_print_extension_contents() {
        let principal = Principal::new("u1", Scheme::SESSION)
            .with_extension(String::from("session-secret-value"));
        let debug = format!("{principal:?}");
        assert!(debug.contains("u1"));
        assert!(!debug.contains("session-secret-value"));
    }
}
