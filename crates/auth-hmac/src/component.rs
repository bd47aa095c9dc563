//! RFC 9421 §2: message components ([`Component`]) and their values, derived from the plain
//! parts of a request ([`RequestParts`]).

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use auth_core::{HeaderSource, is_tchar};

use crate::{Error, Malformed};

/// The most named query parameters a request may carry for `@query-param` to be derived.
const MAX_QUERY_PARAMS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Kind {
    Method,
    TargetUri,
    Authority,
    Scheme,
    RequestTarget,
    Path,
    Query,
    /// The `name` parameter, in its encoded form (§2.2.8).
    QueryParam(String),
    /// A lower-cased HTTP field name (common ones static: no allocation per request).
    Field(Cow<'static, str>),
}

/// A covered component identifier (RFC 9421 §2): a derived component (§2.2) or an HTTP
/// field (§2.1).
///
/// The derived components of requests are supported: `@method`, `@target-uri`,
/// `@authority`, `@scheme`, `@request-target`, `@path`, `@query`, `@query-param`. Fields
/// are named in lower case and take no parameters (`sf`, `key`, `bs`, `req` and `tr` are
/// refused: they serve responses, trailers and structured re-serialization, which a request
/// authenticator does not need).
///
/// # Examples
///
/// ```
/// use auth_hmac::Component;
///
/// let method: Component = "@method".parse()?;
/// assert_eq!(method, Component::METHOD);
/// assert_eq!(Component::field("Content-Type")?.to_string(), r#""content-type""#);
/// assert_eq!(Component::query_param("Pet")?.to_string(), r#""@query-param";name="Pet""#);
/// assert!("@status".parse::<Component>().is_err());
/// # Ok::<(), auth_hmac::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Component(Kind);

impl Component {
    /// `@method` (§2.2.1).
    pub const METHOD: Component = Component(Kind::Method);
    /// `@target-uri` (§2.2.2).
    pub const TARGET_URI: Component = Component(Kind::TargetUri);
    /// `@authority` (§2.2.3).
    pub const AUTHORITY: Component = Component(Kind::Authority);
    /// `@scheme` (§2.2.4).
    pub const SCHEME: Component = Component(Kind::Scheme);
    /// `@request-target` (§2.2.5).
    pub const REQUEST_TARGET: Component = Component(Kind::RequestTarget);
    /// `@path` (§2.2.6).
    pub const PATH: Component = Component(Kind::Path);
    /// `@query` (§2.2.7).
    pub const QUERY: Component = Component(Kind::Query);

    /// The `content-digest` field (RFC 9530 §2).
    #[must_use]
    pub fn content_digest() -> Component {
        Component(Kind::Field(Cow::Borrowed("content-digest")))
    }

    /// The HTTP field `name` (§2.1), lower-cased.
    ///
    /// # Errors
    ///
    /// [`Malformed::InvalidComponent`] when `name` is not an RFC 9110 field name (a token).
    pub fn field(name: &str) -> Result<Component, Error> {
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Err(Malformed::InvalidComponent.into());
        }
        let name = name.to_ascii_lowercase();
        Ok(Component(Kind::Field(match common_field(&name) {
            Some(common) => Cow::Borrowed(common),
            None => Cow::Owned(name),
        })))
    }

    /// `@query-param` with `name` (§2.2.8). `name` is the *encoded* name: the parameter's
    /// decoded name percent-encoded with the `application/x-www-form-urlencoded`
    /// percent-encode set (so `fa%C3%A7ade` for `façade`).
    ///
    /// # Errors
    ///
    /// [`Malformed::InvalidComponent`] when `name` is not in that encoded form.
    pub fn query_param(name: &str) -> Result<Component, Error> {
        if encode_form(&decode_form(name.as_bytes())) != name {
            return Err(Malformed::InvalidComponent.into());
        }
        Ok(Component(Kind::QueryParam(name.to_owned())))
    }

    /// The component name: `@method`, `content-type`, `@query-param`, ...
    #[must_use]
    pub fn name(&self) -> &str {
        match &self.0 {
            Kind::Method => "@method",
            Kind::TargetUri => "@target-uri",
            Kind::Authority => "@authority",
            Kind::Scheme => "@scheme",
            Kind::RequestTarget => "@request-target",
            Kind::Path => "@path",
            Kind::Query => "@query",
            Kind::QueryParam(_) => "@query-param",
            Kind::Field(name) => name,
        }
    }

    /// Whether this is a derived component (its name starts with `@`).
    #[must_use]
    pub fn is_derived(&self) -> bool {
        !matches!(self.0, Kind::Field(_))
    }

    /// The `name` parameter of a `@query-param` component.
    #[must_use]
    pub fn query_param_name(&self) -> Option<&str> {
        match &self.0 {
            Kind::QueryParam(name) => Some(name),
            _ => None,
        }
    }

    /// Reads a component identifier from a parsed Item (RFC 9421 §2, §2.5).
    pub(crate) fn from_item(item: &sfv::Item) -> Result<Component, Malformed> {
        let invalid = || Malformed::InvalidComponent;
        let name = item.bare_item.as_string().ok_or_else(invalid)?.as_str();
        if name == "@query-param" {
            if item.params.len() != 1 {
                return Err(invalid());
            }
            let param = item
                .params
                .get("name")
                .and_then(sfv::BareItem::as_string)
                .ok_or_else(invalid)?;
            return Component::query_param(param.as_str()).map_err(|_| invalid());
        }
        let component = Self::from_bare_identifier(name)?;
        if !item.params.is_empty() {
            return Err(invalid());
        }
        Ok(component)
    }

    /// Reads a component identifier that has no parameters: its String's content.
    pub(crate) fn from_bare_identifier(name: &str) -> Result<Component, Malformed> {
        let invalid = || Malformed::InvalidComponent;
        let kind = match name {
            "@method" => Kind::Method,
            "@target-uri" => Kind::TargetUri,
            "@authority" => Kind::Authority,
            "@scheme" => Kind::Scheme,
            "@request-target" => Kind::RequestTarget,
            "@path" => Kind::Path,
            "@query" => Kind::Query,
            // `@query-param` without its `name` parameter, and every other derived name:
            // unknown, response-only (`@status`) or forbidden in the list
            // (`@signature-params`).
            derived if derived.starts_with('@') => return Err(invalid()),
            field => {
                // §2.1: field names MUST be lower-cased in component identifiers.
                if field.is_empty()
                    || !field.bytes().all(is_tchar)
                    || field.bytes().any(|b| b.is_ascii_uppercase())
                {
                    return Err(invalid());
                }
                Kind::Field(match common_field(field) {
                    Some(common) => Cow::Borrowed(common),
                    None => Cow::Owned(field.to_owned()),
                })
            }
        };
        Ok(Component(kind))
    }

    /// The component value (§2.1, §2.2) in `parts`, appended to `out`.
    pub(crate) fn write_value(
        &self,
        parts: &RequestParts<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), Unavailable> {
        match &self.0 {
            Kind::Method => out.extend_from_slice(derived_value(parts.method)?.as_bytes()),
            Kind::TargetUri => {
                let target = origin_form(parts.target)?;
                out.extend_from_slice(parts.scheme()?.as_bytes());
                out.extend_from_slice(b"://");
                out.extend_from_slice(parts.authority().ok_or(Unavailable)?.as_bytes());
                out.extend_from_slice(derived_value(target)?.as_bytes());
            }
            Kind::Authority => {
                out.extend_from_slice(parts.authority().ok_or(Unavailable)?.as_bytes())
            }
            Kind::Scheme => out.extend_from_slice(parts.scheme()?.as_bytes()),
            Kind::RequestTarget => out.extend_from_slice(derived_value(parts.target)?.as_bytes()),
            Kind::Path => {
                let path = split_target(origin_form(parts.target)?).0;
                // §2.2.6: an empty path is normalized to `/`.
                let path = if path.is_empty() { "/" } else { path };
                out.extend_from_slice(derived_value(path)?.as_bytes());
            }
            Kind::Query => {
                out.push(b'?');
                if let Some(query) = split_target(origin_form(parts.target)?).1 {
                    out.extend_from_slice(derived_value(query)?.as_bytes());
                }
            }
            Kind::QueryParam(name) => {
                let query = split_target(origin_form(parts.target)?).1.unwrap_or("");
                out.extend_from_slice(query_param_value(query, name)?.as_bytes());
            }
            Kind::Field(name) => write_field(parts.headers, name, out)?,
        }
        Ok(())
    }
}

impl fmt::Display for Component {
    /// The serialized component identifier, as it appears in the signature base and in
    /// `Signature-Input`: `"@method"`, `"@query-param";name="Pet"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        f.write_str(self.name())?;
        f.write_str("\"")?;
        if let Kind::QueryParam(name) = &self.0 {
            f.write_str(";name=\"")?;
            f.write_str(name)?;
            f.write_str("\"")?;
        }
        Ok(())
    }
}

impl Component {
    /// Appends the serialized identifier (RFC 8941 String with parameters). Names are
    /// tokens or fixed `@` names and encoded query names hold only `A-Za-z0-9*-._%`, so
    /// nothing needs escaping.
    pub(crate) fn write_identifier(&self, out: &mut Vec<u8>) {
        out.push(b'"');
        out.extend_from_slice(self.name().as_bytes());
        out.push(b'"');
        if let Kind::QueryParam(name) = &self.0 {
            out.extend_from_slice(b";name=\"");
            out.extend_from_slice(name.as_bytes());
            out.push(b'"');
        }
    }

    /// Whether this is the field `name` (lower case), without building a `Component`.
    pub(crate) fn is_field(&self, name: &str) -> bool {
        matches!(&self.0, Kind::Field(field) if field == name)
    }

    /// The serialized identifier (as [`Display`](fmt::Display) writes it), in one
    /// allocation.
    pub(crate) fn identifier(&self) -> String {
        let mut out = Vec::with_capacity(self.identifier_len());
        self.write_identifier(&mut out);
        // Names are tokens or fixed `@` names, query names are percent-encoded: ASCII.
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// The serialized identifier's length in bytes.
    pub(crate) fn identifier_len(&self) -> usize {
        2 + self.name().len()
            + match &self.0 {
                Kind::QueryParam(name) => 8 + name.len(),
                _ => 0,
            }
    }
}

impl FromStr for Component {
    type Err = Error;

    /// Parses a bare component name: `@method`, `@target-uri`, ..., or a field name
    /// (lower-cased). `@query-param` needs its `name`: use [`Component::query_param`].
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "@method" => Ok(Self::METHOD),
            "@target-uri" => Ok(Self::TARGET_URI),
            "@authority" => Ok(Self::AUTHORITY),
            "@scheme" => Ok(Self::SCHEME),
            "@request-target" => Ok(Self::REQUEST_TARGET),
            "@path" => Ok(Self::PATH),
            "@query" => Ok(Self::QUERY),
            derived if derived.starts_with('@') => Err(Malformed::InvalidComponent.into()),
            field => Component::field(field),
        }
    }
}

/// A component value that cannot be derived from the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unavailable;

/// The plain parts of a request that component values are derived from: method, scheme,
/// authority, request target and header fields. Framework-free: build it from whatever
/// your HTTP stack gives you.
///
/// # Examples
///
/// ```
/// use auth_core::HeaderList;
/// use auth_hmac::RequestParts;
///
/// let headers = HeaderList::new().with("Host", "www.example.com");
/// let parts = RequestParts::new("POST", "/path?param=value", &headers).with_scheme("https");
/// assert_eq!(parts.authority().as_deref(), Some("www.example.com"));
/// ```
#[derive(Clone, Copy)]
pub struct RequestParts<'a> {
    method: &'a str,
    target: &'a str,
    scheme: &'a str,
    authority: Option<&'a str>,
    headers: &'a dyn HeaderSource,
}

impl<'a> RequestParts<'a> {
    /// A request with `method`, `target` (the request target as sent: the path and query
    /// in origin-form) and `headers`; scheme `https`; the authority taken from the `Host`
    /// header.
    #[must_use]
    pub fn new(method: &'a str, target: &'a str, headers: &'a dyn HeaderSource) -> Self {
        Self {
            method,
            target,
            scheme: "https",
            authority: None,
            headers,
        }
    }

    /// Sets the scheme (`http` or `https`).
    #[must_use]
    pub fn with_scheme(mut self, scheme: &'a str) -> Self {
        self.scheme = scheme;
        self
    }

    /// Sets the authority (`host[:port]`) instead of reading the `Host` header: the public
    /// authority behind a proxy, or HTTP/2's `:authority`.
    #[must_use]
    pub fn with_authority(mut self, authority: Option<&'a str>) -> Self {
        self.authority = authority;
        self
    }

    /// The method.
    #[must_use]
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The request target.
    #[must_use]
    pub fn target(&self) -> &'a str {
        self.target
    }

    /// The header fields.
    #[must_use]
    pub fn headers(&self) -> &'a dyn HeaderSource {
        self.headers
    }

    /// The normalized authority (RFC 9110 §4.2.3: host lower-cased, default port omitted),
    /// from the configured authority or the single `Host` header; `None` when neither is
    /// usable.
    #[must_use]
    pub fn authority(&self) -> Option<Cow<'a, str>> {
        let raw = match self.authority {
            Some(authority) => authority,
            None => match self.headers.get_one("host") {
                Ok(Some(host)) => std::str::from_utf8(host).ok()?,
                _ => return None,
            },
        };
        normalize_authority(raw, &self.scheme().ok()?)
    }

    fn scheme(&self) -> Result<Cow<'a, str>, Unavailable> {
        let scheme = self.scheme;
        if scheme.is_empty()
            || !scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            || !scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        {
            return Err(Unavailable);
        }
        if scheme.bytes().any(|b| b.is_ascii_uppercase()) {
            Ok(Cow::Owned(scheme.to_ascii_lowercase()))
        } else {
            Ok(Cow::Borrowed(scheme))
        }
    }
}

impl fmt::Debug for RequestParts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No header values and no query: either may carry a credential.
        f.debug_struct("RequestParts")
            .field("method", &self.method)
            .field("path", &split_target(self.target).0)
            .field("scheme", &self.scheme)
            .field("authority", &self.authority)
            .finish_non_exhaustive()
    }
}

/// RFC 9110 §4.2.3 normalization of `host[:port]` for `scheme`: host lower-cased, the
/// scheme's default port omitted. `None` when the value is not a plausible authority.
pub(crate) fn normalize_authority<'a>(raw: &'a str, scheme: &str) -> Option<Cow<'a, str>> {
    let raw = raw.trim_matches([' ', '\t']);
    if raw.is_empty()
        || raw.contains(['/', '?', '#', '@', ' ', '\t'])
        || !raw.bytes().all(|b| b.is_ascii_graphic())
    {
        return None;
    }
    // The port: digits after the last `:` that is not inside an IPv6 literal.
    let (host, port) = match raw.rfind(':') {
        Some(i) if !raw[i..].contains(']') => (&raw[..i], Some(&raw[i + 1..])),
        _ => (raw, None),
    };
    if host.is_empty() || port.is_some_and(|p| !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let default_port = match scheme {
        "https" => Some("443"),
        "http" => Some("80"),
        _ => None,
    };
    let drop_port = port.is_some_and(|p| p.is_empty() || Some(p) == default_port);
    if !drop_port && !host.bytes().any(|b| b.is_ascii_uppercase()) {
        return Some(Cow::Borrowed(raw));
    }
    let mut out = host.to_ascii_lowercase();
    if let Some(port) = port.filter(|_| !drop_port) {
        out.push(':');
        out.push_str(port);
    }
    Some(Cow::Owned(out))
}

/// Derived component values are printable ASCII and spaces, and neither start nor end with
/// whitespace (§2.2).
fn derived_value(value: &str) -> Result<&str, Unavailable> {
    if value.is_empty()
        || !value.bytes().all(|b| (b' '..=b'~').contains(&b))
        || value.starts_with(' ')
        || value.ends_with(' ')
    {
        return Err(Unavailable);
    }
    Ok(value)
}

/// The target when it is in origin-form (`/path?query`); the other forms have no path or
/// query to derive.
fn origin_form(target: &str) -> Result<&str, Unavailable> {
    if target.starts_with('/') {
        Ok(target)
    } else {
        Err(Unavailable)
    }
}

/// Splits a target into path and query (without the `?`), dropping any fragment.
fn split_target(target: &str) -> (&str, Option<&str>) {
    let target = target.split_once('#').map_or(target, |(t, _)| t);
    match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    }
}

/// The value of the query parameter whose encoded name is `name` (§2.2.8). Absent or
/// repeated parameters cannot be signed (a repeated one is ambiguous: sign `@query`).
fn query_param_value(query: &str, name: &str) -> Result<String, Unavailable> {
    let mut found = None;
    for (i, pair) in query.split('&').filter(|p| !p.is_empty()).enumerate() {
        if i >= MAX_QUERY_PARAMS {
            return Err(Unavailable);
        }
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        if encode_form(&decode_form(raw_name.as_bytes())) != name {
            continue;
        }
        if found.is_some() {
            return Err(Unavailable);
        }
        found = Some(encode_form(&decode_form(raw_value.as_bytes())));
    }
    found.ok_or(Unavailable)
}

/// The `application/x-www-form-urlencoded` parser's treatment of one name or value (WHATWG
/// URL §5.1): `+` becomes a space, `%XX` is decoded, then UTF-8 is decoded without BOM
/// handling, invalid sequences becoming U+FFFD.
fn decode_form(input: &[u8]) -> String {
    let mut bytes = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => bytes.push(b' '),
            b'%' if i + 2 < input.len() => {
                match (hex_digit(input[i + 1]), hex_digit(input[i + 2])) {
                    (Some(hi), Some(lo)) => {
                        bytes.push(hi << 4 | lo);
                        i += 2;
                    }
                    _ => bytes.push(b'%'),
                }
            }
            b => bytes.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The "percent-encode after encoding" step (WHATWG URL §5.2) with the
/// `application/x-www-form-urlencoded` percent-encode set: everything but ASCII
/// alphanumerics and `*-._` is percent-encoded, in upper-case hex; a space becomes `%20`.
fn encode_form(input: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(input.len());
    for &b in input.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The value of field `name` (§2.1): every field line in order, each stripped of leading
/// and trailing whitespace and obsolete line folding, joined with `, `.
fn write_field(
    headers: &dyn HeaderSource,
    name: &str,
    out: &mut Vec<u8>,
) -> Result<(), Unavailable> {
    let values = FieldLines::get(headers, name);
    if values.is_empty() {
        return Err(Unavailable);
    }
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        write_field_value(value, out)?;
    }
    Ok(())
}

fn write_field_value(value: &[u8], out: &mut Vec<u8>) -> Result<(), Unavailable> {
    let is_ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = value.iter().position(|b| !is_ws(b)).unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_ws(b))
        .map_or(start, |i| i + 1);
    let value = &value[start..end];
    let mut i = 0;
    while i < value.len() {
        match value[i] {
            // obs-fold = OWS CRLF RWS: replaced with a single space (§2.1 step 3).
            b'\r' | b'\n' => {
                while out.last().is_some_and(|b| matches!(b, b' ' | b'\t')) {
                    out.pop();
                }
                if value[i] == b'\r' && value.get(i + 1) != Some(&b'\n') {
                    return Err(Unavailable);
                }
                i += if value[i] == b'\r' { 2 } else { 1 };
                if !value.get(i).is_some_and(|b| matches!(b, b' ' | b'\t')) {
                    return Err(Unavailable);
                }
                while value.get(i).is_some_and(|b| matches!(b, b' ' | b'\t')) {
                    i += 1;
                }
                out.push(b' ');
                continue;
            }
            // field-content: VCHAR, obs-text, SP and HTAB; nothing else may reach the base.
            b'\t' | b' '..=b'~' | 0x80..=0xff => out.push(value[i]),
            _ => return Err(Unavailable),
        }
        i += 1;
    }
    Ok(())
}

/// Field names that signatures commonly cover, kept static.
fn common_field(name: &str) -> Option<&'static str> {
    Some(match name {
        "content-digest" => "content-digest",
        "content-type" => "content-type",
        "content-length" => "content-length",
        "date" => "date",
        "host" => "host",
        "idempotency-key" => "idempotency-key",
        "authorization" => "authorization",
        "digest" => "digest",
        _ => return None,
    })
}

/// The field lines of one field, in order, without allocating in the common case of at most
/// one line ([`HeaderSource::get_one`]); several lines are collected.
pub(crate) enum FieldLines<'a> {
    One([&'a [u8]; 1]),
    Many(Vec<&'a [u8]>),
}

impl<'a> FieldLines<'a> {
    pub(crate) fn get(headers: &'a dyn HeaderSource, name: &str) -> Self {
        match headers.get_one(name) {
            Ok(Some(line)) => Self::One([line]),
            // An empty Vec does not allocate.
            Ok(None) => Self::Many(Vec::new()),
            Err(_) => Self::Many(headers.get_all(name)),
        }
    }
}

impl<'a> std::ops::Deref for FieldLines<'a> {
    type Target = [&'a [u8]];

    fn deref(&self) -> &Self::Target {
        match self {
            Self::One(line) => line,
            Self::Many(lines) => lines,
        }
    }
}

#[cfg(test)]
mod tests {
    use auth_core::HeaderList;

    use super::*;

    fn value(component: &Component, parts: &RequestParts<'_>) -> Result<String, Unavailable> {
        let mut out = Vec::new();
        component.write_value(parts, &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn form_decoding_and_encoding() {
        assert_eq!(decode_form(b"with+plus+whitespace"), "with plus whitespace");
        assert_eq!(decode_form(b"fa%C3%A7ade%22%3A%20"), "fa\u{e7}ade\": ");
        assert_eq!(decode_form(b"100%"), "100%");
        assert_eq!(decode_form(b"%zz%4"), "%zz%4");
        assert_eq!(decode_form(b"%ff"), "\u{fffd}");
        assert_eq!(encode_form("fa\u{e7}ade\": "), "fa%C3%A7ade%22%3A%20");
        assert_eq!(encode_form("a*b-c.d_e~"), "a*b-c.d_e%7E");
    }

    #[test]
    fn authority_normalization() {
        let n = |raw, scheme| normalize_authority(raw, scheme).map(Cow::into_owned);
        assert_eq!(
            n("Example.COM:443", "https").as_deref(),
            Some("example.com")
        );
        assert_eq!(n("example.com:80", "http").as_deref(), Some("example.com"));
        assert_eq!(
            n("example.com:443", "http").as_deref(),
            Some("example.com:443")
        );
        assert_eq!(
            n("[2001:DB8::1]:8443", "https").as_deref(),
            Some("[2001:db8::1]:8443")
        );
        assert_eq!(n("[::1]", "https").as_deref(), Some("[::1]"));
        assert_eq!(
            n("127.0.0.1:8080", "http").as_deref(),
            Some("127.0.0.1:8080")
        );
        for bad in ["", "a b", "user@host", "host/path", "host:8x", ":80"] {
            assert_eq!(n(bad, "https"), None, "{bad:?}");
        }
    }

    #[test]
    fn fields_are_trimmed_combined_and_unfolded() {
        // RFC 9421 §2.1, the header examples.
        let headers = HeaderList::new()
            .with("X-OWS-Header", "   Leading and trailing whitespace.   ")
            .with("X-Obs-Fold-Header", "Obsolete\r\n    line folding.")
            .with("Cache-Control", "max-age=60")
            .with("Cache-Control", "   must-revalidate")
            .with("Example-Dict", " a=1,    b=2;x=1;y=2,   c=(a   b   c)")
            .with("X-Empty-Header", "");
        let parts = RequestParts::new("GET", "/", &headers);
        let field = |name| value(&Component::field(name).unwrap(), &parts);
        assert_eq!(
            field("x-ows-header").unwrap(),
            "Leading and trailing whitespace."
        );
        assert_eq!(
            field("x-obs-fold-header").unwrap(),
            "Obsolete line folding."
        );
        assert_eq!(
            field("cache-control").unwrap(),
            "max-age=60, must-revalidate"
        );
        assert_eq!(
            field("example-dict").unwrap(),
            "a=1,    b=2;x=1;y=2,   c=(a   b   c)"
        );
        assert_eq!(field("x-empty-header").unwrap(), "");
        assert_eq!(field("x-missing"), Err(Unavailable));
        let bad = HeaderList::new()
            .with("X-Nul", b"a\x00b".to_vec())
            .with("X-Lf", "a\nb");
        let parts = RequestParts::new("GET", "/", &bad);
        assert_eq!(
            value(&Component::field("x-nul").unwrap(), &parts),
            Err(Unavailable)
        );
        assert_eq!(
            value(&Component::field("x-lf").unwrap(), &parts),
            Err(Unavailable)
        );
    }

    #[test]
    fn identifiers_parse_strictly() {
        let item = |s: &str| sfv::Parser::new(s).parse::<sfv::Item>().unwrap();
        assert_eq!(
            Component::from_item(&item(r#""@method""#)).unwrap(),
            Component::METHOD
        );
        assert_eq!(
            Component::from_item(&item(r#""@query-param";name="Pet""#))
                .unwrap()
                .query_param_name(),
            Some("Pet")
        );
        for bad in [
            r#""@status""#,
            r#""@signature-params""#,
            r#""@unknown""#,
            r#""Content-Type""#,
            r#""content-type";sf"#,
            r#""content-type";req"#,
            r#""@method";req"#,
            r#""@query-param""#,
            r#""@query-param";name="a";x=1"#,
            r#""@query-param";name="fa\u00e7""#,
            r#""bad field""#,
            "method",
            r#""""#,
        ] {
            let Ok(parsed) = sfv::Parser::new(bad).parse::<sfv::Item>() else {
                continue;
            };
            assert!(Component::from_item(&parsed).is_err(), "{bad}");
        }
        assert!(
            Component::query_param("fa%c3%a7ade").is_err(),
            "lower-case hex is not canonical"
        );
    }

    #[test]
    fn display_serializes_identifiers() {
        for component in [
            Component::METHOD,
            Component::content_digest(),
            Component::field("X-Custom").unwrap(),
            Component::query_param("Pet").unwrap(),
        ] {
            assert_eq!(component.identifier(), component.to_string());
        }
        assert_eq!(Component::TARGET_URI.to_string(), r#""@target-uri""#);
        assert_eq!(
            Component::content_digest().to_string(),
            r#""content-digest""#
        );
        assert_eq!(
            Component::query_param("fa%C3%A7ade%22%3A%20")
                .unwrap()
                .to_string(),
            r#""@query-param";name="fa%C3%A7ade%22%3A%20""#
        );
    }
}
