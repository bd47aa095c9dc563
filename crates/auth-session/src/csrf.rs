//! CSRF defence: a synchronizer token bound to the session, and `Origin` /
//! `Sec-Fetch-Site` checks.

use std::fmt;

use auth_core::AuthRequest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::id::random_bytes;
use crate::{ConfigError, Error, Session};

/// The default request header that carries the token.
pub const DEFAULT_CSRF_HEADER: &str = "x-csrf-token";

/// The default form field (`application/x-www-form-urlencoded`) that carries the token.
pub const DEFAULT_CSRF_FIELD: &str = "csrf_token";

/// Bytes in a CSRF token.
pub const CSRF_TOKEN_LEN: usize = 32;

/// A session's CSRF token: 32 random bytes, made with the session and renewed with its id.
///
/// Sent to the page as unpadded base64url ([`CsrfToken::expose_base64url`]) and compared
/// in constant time. `Debug` prints `[redacted]`; the bytes are zeroized on drop.
#[derive(Clone)]
pub struct CsrfToken(Zeroizing<[u8; CSRF_TOKEN_LEN]>);

impl CsrfToken {
    /// A new token from the operating system's CSPRNG.
    ///
    /// # Errors
    ///
    /// [`Error::Random`] when the generator fails.
    pub fn generate() -> Result<Self, Error> {
        let mut bytes = Zeroizing::new([0_u8; CSRF_TOKEN_LEN]);
        random_bytes(bytes.as_mut())?;
        Ok(Self(bytes))
    }

    /// A token from its bytes (stores that keep it as bytes).
    #[must_use]
    pub fn from_bytes(bytes: [u8; CSRF_TOKEN_LEN]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The bytes.
    #[must_use]
    pub fn expose_bytes(&self) -> &[u8; CSRF_TOKEN_LEN] {
        &self.0
    }

    /// The token as pages send it back: unpadded base64url, 43 characters.
    #[must_use]
    pub fn expose_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.as_ref())
    }

    /// Whether `sent` (base64url, as a request carries it) is this token, compared in
    /// constant time.
    #[must_use]
    pub fn matches(&self, sent: &str) -> bool {
        let mut decoded = Zeroizing::new([0_u8; CSRF_TOKEN_LEN]);
        let ok = sent.len() == 43
            && matches!(
                URL_SAFE_NO_PAD.decode_slice(sent.trim(), decoded.as_mut()),
                Ok(CSRF_TOKEN_LEN)
            );
        ok && bool::from(decoded.ct_eq(&*self.0))
    }
}

impl PartialEq for CsrfToken {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&*other.0).into()
    }
}

impl Eq for CsrfToken {}

impl fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CsrfToken([redacted])")
    }
}

/// Why a request failed the CSRF check. Every kind answers the same 403
/// `{"error":"csrf_failed",...}`; [`CsrfError::reason`] tells the audit log which check
/// failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsrfError {
    /// `Sec-Fetch-Site` says the request came from another site.
    #[error("cross-site request")]
    CrossSite,
    /// `Origin` (or, without it, `Referer`) names an origin that is neither the target nor
    /// trusted; or it is `null`.
    #[error("origin mismatch")]
    OriginMismatch,
    /// The request has a session but carries no token.
    #[error("CSRF token missing")]
    TokenMissing,
    /// The token is not the session's.
    #[error("CSRF token mismatch")]
    TokenMismatch,
}

impl CsrfError {
    /// The HTTP status: 403.
    pub const STATUS: u16 = 403;

    /// The error code in the response body.
    pub const ERROR_CODE: &'static str = "csrf_failed";

    /// The public description in the response body (the same for every kind).
    pub const DESCRIPTION: &'static str = "The request failed the cross-site request forgery check";

    /// The audit reason: `csrf_cross_site`, `csrf_origin_mismatch`, `csrf_token_missing`,
    /// `csrf_token_mismatch`.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            CsrfError::CrossSite => "csrf_cross_site",
            CsrfError::OriginMismatch => "csrf_origin_mismatch",
            CsrfError::TokenMissing => "csrf_token_missing",
            CsrfError::TokenMismatch => "csrf_token_mismatch",
        }
    }

    /// The JSON response body: `{"error":"csrf_failed","error_description":"..."}`, the same
    /// for every kind.
    #[must_use]
    pub fn json_body(&self) -> &'static str {
        r#"{"error":"csrf_failed","error_description":"The request failed the cross-site request forgery check"}"#
    }
}

/// Whether `method` is safe (RFC 9110 §9.2.1: `GET`, `HEAD`, `OPTIONS`, `TRACE`): it must not
/// change state, so CSRF checks skip it. Everything else, unknown methods included, is
/// checked.
#[must_use]
pub fn is_safe_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "OPTIONS" | "TRACE")
}

/// How requests are checked for cross-site request forgery (OWASP CSRF Prevention Cheat
/// Sheet). Only unsafe methods are checked.
///
/// 1. **Fetch metadata**: `Sec-Fetch-Site: cross-site` is refused, and so is `same-site`
///    (a sibling subdomain) unless [`CsrfConfig::allow_same_site_requests`].
/// 2. **Origin**: a present `Origin` (or, without one, `Referer`) must be the request's
///    own origin (from `Host`) or a [trusted origin](CsrfConfig::trusted_origin); `null`
///    is refused. A request with neither header (a non-browser client) goes on to the token.
/// 3. **Synchronizer token**: a request that carries a session must carry that session's
///    token, in the [header](CsrfConfig::header_name) or the
///    [form field](CsrfConfig::form_field). Requests without a session carry no ambient
///    authority, so only checks 1 and 2 apply to them (that covers login forms).
///
/// # Examples
///
/// ```
/// use auth_session::CsrfConfig;
///
/// let csrf = CsrfConfig::new()
///     .trusted_origin("https://app.example.com")
///     .header_name("x-xsrf-token");
/// assert_eq!(csrf.header(), "x-xsrf-token");
/// ```
#[derive(Debug, Clone)]
pub struct CsrfConfig {
    header: String,
    field: String,
    trusted_origins: Vec<String>,
    allow_same_site: bool,
}

impl Default for CsrfConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl CsrfConfig {
    /// The defaults: header [`DEFAULT_CSRF_HEADER`], field [`DEFAULT_CSRF_FIELD`], no extra
    /// trusted origins, `same-site` requests refused.
    #[must_use]
    pub fn new() -> Self {
        Self {
            header: DEFAULT_CSRF_HEADER.to_owned(),
            field: DEFAULT_CSRF_FIELD.to_owned(),
            trusted_origins: Vec::new(),
            allow_same_site: false,
        }
    }

    /// Sets the header that carries the token.
    #[must_use]
    pub fn header_name(mut self, name: impl Into<String>) -> Self {
        self.header = name.into().to_ascii_lowercase();
        self
    }

    /// Sets the form field that carries the token.
    #[must_use]
    pub fn form_field(mut self, name: impl Into<String>) -> Self {
        self.field = name.into();
        self
    }

    /// Also accepts unsafe requests from `origin` (`scheme://host[:port]`), e.g. a front end
    /// served from another host, or the public origin when a proxy rewrites `Host`.
    #[must_use]
    pub fn trusted_origin(mut self, origin: impl Into<String>) -> Self {
        self.trusted_origins.push(origin.into());
        self
    }

    /// Accepts `Sec-Fetch-Site: same-site` (requests from sibling subdomains). Off by
    /// default: a sibling subdomain is often less trusted than the site itself.
    #[must_use]
    pub fn allow_same_site_requests(mut self) -> Self {
        self.allow_same_site = true;
        self
    }

    /// The header that carries the token.
    #[must_use]
    pub fn header(&self) -> &str {
        &self.header
    }

    /// The form field that carries the token.
    #[must_use]
    pub fn field(&self) -> &str {
        &self.field
    }

    /// Checks the names and normalises the trusted origins.
    pub(crate) fn validate(&mut self) -> Result<(), ConfigError> {
        let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
        if !token(&self.header) || !token(&self.field) {
            return Err(ConfigError::InvalidSetting(
                "the CSRF header and field names must be non-empty visible ASCII",
            ));
        }
        for origin in &mut self.trusted_origins {
            let normalised = parse_origin(origin)
                .map(|(scheme, authority)| format!("{scheme}://{authority}"))
                .ok_or_else(|| ConfigError::InvalidOrigin(origin.clone()))?;
            *origin = normalised;
        }
        Ok(())
    }

    /// Checks 1 and 2 (fetch metadata and origin) for `request`. `target` is the authority
    /// the request was sent to (`host[:port]`); `None` reads the `Host` header. Adapters
    /// pass the HTTP/2 `:authority` here, which has no `Host` header.
    ///
    /// # Errors
    ///
    /// [`CsrfError::CrossSite`] or [`CsrfError::OriginMismatch`].
    pub fn check_origin(
        &self,
        request: &AuthRequest<'_>,
        target: Option<&str>,
    ) -> Result<(), CsrfError> {
        if is_safe_method(request.method()) {
            return Ok(());
        }
        match request
            .header("sec-fetch-site")
            .map(<[u8]>::to_ascii_lowercase)
        {
            Some(site) if site == b"cross-site" => return Err(CsrfError::CrossSite),
            Some(site) if site == b"same-site" && !self.allow_same_site => {
                return Err(CsrfError::CrossSite);
            }
            _ => {}
        }
        let origins = request.headers().get_all("origin");
        let claimed = match origins.as_slice() {
            [] => match request.headers().get_all("referer").as_slice() {
                [] => return Ok(()),
                [referer] => referer_origin(referer),
                _ => None,
            },
            [origin] => std::str::from_utf8(origin).ok().map(str::to_owned),
            _ => None,
        };
        let Some(claimed) = claimed else {
            return Err(CsrfError::OriginMismatch);
        };
        let target = target.map(str::to_owned).or_else(|| {
            request
                .header("host")
                .and_then(|h| std::str::from_utf8(h).ok())
                .map(str::to_owned)
        });
        if self.origin_allowed(&claimed, target.as_deref(), request.is_secure()) {
            Ok(())
        } else {
            Err(CsrfError::OriginMismatch)
        }
    }

    fn origin_allowed(&self, claimed: &str, target: Option<&str>, secure: bool) -> bool {
        let Some((scheme, authority)) = parse_origin(claimed) else {
            return false;
        };
        let normalised = format!("{scheme}://{authority}");
        if self.trusted_origins.contains(&normalised) {
            return true;
        }
        let Some(target) = target else {
            return false;
        };
        // Over TLS only an https origin is the target's own; over plain HTTP (or behind a
        // proxy that did not say) either scheme may be.
        if secure && scheme != "https" {
            return false;
        }
        let target = target.trim().to_ascii_lowercase();
        authority == strip_default_port(&target, &scheme)
    }

    /// Check 3 (the synchronizer token) for `request`, which carries `session`.
    /// `form_body` is the urlencoded body when the token may be in a form field (see
    /// [`CsrfConfig::wants_form_body`]).
    ///
    /// # Errors
    ///
    /// [`CsrfError::TokenMissing`] or [`CsrfError::TokenMismatch`].
    pub fn check_token(
        &self,
        request: &AuthRequest<'_>,
        session: &Session,
        form_body: Option<&[u8]>,
    ) -> Result<(), CsrfError> {
        if is_safe_method(request.method()) {
            return Ok(());
        }
        let Some(expected) = session.stored_csrf_token() else {
            return Ok(());
        };
        let sent = match request.single_header(&self.header) {
            Ok(Some(sent)) => Some(Zeroizing::new(sent.to_owned())),
            Ok(None) => form_body
                .and_then(|body| form_field(body, &self.field))
                .map(Zeroizing::new),
            Err(_) => return Err(CsrfError::TokenMismatch),
        };
        match sent {
            None => Err(CsrfError::TokenMissing),
            Some(sent) if expected.matches(&sent) => Ok(()),
            Some(_) => Err(CsrfError::TokenMismatch),
        }
    }

    /// Whether check 3 needs the request body: an unsafe request with a session, no token
    /// header, and an `application/x-www-form-urlencoded` body.
    #[must_use]
    pub fn wants_form_body(&self, request: &AuthRequest<'_>, session: &Session) -> bool {
        !is_safe_method(request.method())
            && session.stored_csrf_token().is_some()
            && request.header(&self.header).is_none()
            && request.header("content-type").is_some_and(|ct| {
                ct.len() >= 33
                    && ct[..33].eq_ignore_ascii_case(b"application/x-www-form-urlencoded")
            })
    }
}

/// `scheme://authority` of an origin, lower-cased, default port dropped; `None` for
/// anything else (`null`, paths, other schemes).
fn parse_origin(origin: &str) -> Option<(String, String)> {
    let origin = origin.trim().to_ascii_lowercase();
    let (scheme, authority) = origin.split_once("://")?;
    if !matches!(scheme, "http" | "https")
        || authority.is_empty()
        || authority.contains(['/', '?', '#', '@', ' '])
    {
        return None;
    }
    let authority = strip_default_port(authority, scheme);
    Some((scheme.to_owned(), authority))
}

fn strip_default_port(authority: &str, scheme: &str) -> String {
    let default = if scheme == "https" { ":443" } else { ":80" };
    authority
        .strip_suffix(default)
        .unwrap_or(authority)
        .to_owned()
}

/// The origin (`scheme://authority`) a `Referer` URL names.
fn referer_origin(referer: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(referer).ok()?;
    let (scheme, rest) = text.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    Some(format!("{scheme}://{authority}"))
}

/// The value of field `name` in an `application/x-www-form-urlencoded` body (the first
/// occurrence), percent-decoded.
#[must_use]
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    body.split(|&b| b == b'&').find_map(|pair| {
        let mut parts = pair.splitn(2, |&b| b == b'=');
        let key = percent_decode(parts.next()?)?;
        if key != name {
            return None;
        }
        percent_decode(parts.next().unwrap_or_default())
    })
}

fn percent_decode(input: &[u8]) -> Option<String> {
    let hex = |b: u8| {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let high = hex(*input.get(i + 1)?)?;
                let low = hex(*input.get(i + 2)?)?;
                out.push(high << 4 | low);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use auth_core::HeaderList;

    use super::*;

    fn config() -> CsrfConfig {
        let mut config = CsrfConfig::new().trusted_origin("https://App.Example.com:443");
        config.validate().unwrap();
        config
    }

    fn check(method: &str, headers: &HeaderList, secure: bool) -> Result<(), CsrfError> {
        let request = AuthRequest::new(method, "/x", headers).with_secure(secure);
        config().check_origin(&request, None)
    }

    #[test]
    fn safe_methods_pass_whatever_they_carry() {
        let headers = HeaderList::new()
            .with("Sec-Fetch-Site", "cross-site")
            .with("Origin", "https://evil.example");
        for method in ["GET", "HEAD", "OPTIONS", "TRACE"] {
            assert_eq!(check(method, &headers, true), Ok(()));
        }
        assert!(check("PROPFIND", &headers, true).is_err());
    }

    #[test]
    fn fetch_metadata_refuses_cross_site_and_by_default_same_site() {
        let h = |v: &str| HeaderList::new().with("Sec-Fetch-Site", v);
        assert_eq!(
            check("POST", &h("cross-site"), true),
            Err(CsrfError::CrossSite)
        );
        assert_eq!(
            check("POST", &h("Same-Site"), true),
            Err(CsrfError::CrossSite)
        );
        assert_eq!(check("POST", &h("same-origin"), true), Ok(()));
        assert_eq!(check("POST", &h("none"), true), Ok(()));
        let mut lenient = CsrfConfig::new().allow_same_site_requests();
        lenient.validate().unwrap();
        let headers = h("same-site");
        let request = AuthRequest::new("POST", "/", &headers);
        assert_eq!(lenient.check_origin(&request, None), Ok(()));
    }

    #[test]
    fn origin_must_be_the_target_or_trusted() {
        let h = |origin: &str| {
            HeaderList::new()
                .with("Host", "api.example.com")
                .with("Origin", origin)
        };
        assert_eq!(check("POST", &h("https://api.example.com"), true), Ok(()));
        assert_eq!(
            check("POST", &h("https://API.example.com:443"), true),
            Ok(())
        );
        assert_eq!(check("POST", &h("https://app.example.com"), true), Ok(()));
        for bad in [
            "https://evil.example",
            "http://api.example.com",
            "https://api.example.com.evil.example",
            "https://api.example.com:8443",
            "null",
            "",
        ] {
            assert_eq!(
                check("POST", &h(bad), true),
                Err(CsrfError::OriginMismatch),
                "{bad}"
            );
        }
        // Over plain HTTP (development, or an unconfigured proxy) either scheme matches.
        assert_eq!(check("POST", &h("http://api.example.com"), false), Ok(()));
    }

    #[test]
    fn referer_stands_in_for_a_missing_origin() {
        let h = |referer: &str| {
            HeaderList::new()
                .with("Host", "api.example.com")
                .with("Referer", referer)
        };
        assert_eq!(
            check("POST", &h("https://api.example.com/form?x=1"), true),
            Ok(())
        );
        assert_eq!(
            check("POST", &h("https://evil.example/api.example.com"), true),
            Err(CsrfError::OriginMismatch)
        );
        assert_eq!(check("POST", &HeaderList::new(), true), Ok(()));
    }

    #[test]
    fn trusted_origins_are_validated() {
        for bad in ["app.example.com", "ftp://x", "https://x/path", "https://"] {
            let mut config = CsrfConfig::new().trusted_origin(bad);
            assert!(config.validate().is_err(), "{bad}");
        }
    }

    #[test]
    fn tokens_compare_exactly() {
        let token = CsrfToken::generate().unwrap();
        let text = token.expose_base64url();
        assert_eq!(text.len(), 43);
        assert!(token.matches(&text));
        assert!(!token.matches(&text[1..]));
        assert!(!token.matches(&CsrfToken::generate().unwrap().expose_base64url()));
        assert!(!token.matches(""));
        assert_eq!(format!("{token:?}"), "CsrfToken([redacted])");
    }

    #[test]
    fn form_fields_are_found_and_decoded() {
        let body = b"a=1&csrf_token=ab%2Dc+d&csrf_token=second";
        assert_eq!(form_field(body, "csrf_token").as_deref(), Some("ab-c d"));
        assert_eq!(form_field(body, "a").as_deref(), Some("1"));
        assert_eq!(form_field(body, "missing"), None);
        assert_eq!(form_field(b"csrf_token=%zz", "csrf_token"), None);
        assert_eq!(form_field(b"csrf_token=%4", "csrf_token"), None);
        assert_eq!(form_field(b"csrf_token", "csrf_token").as_deref(), Some(""));
    }
}
