//! [`AuthRequest`]: the framework-neutral view of a request that authenticators read.

use std::fmt;
use std::net::SocketAddr;

/// Read access to a request's header fields, whatever the web framework.
///
/// Names are matched case-insensitively. Implemented for [`HeaderList`] here and for each
/// framework's header map by its adapter (`auth-actix`).
pub trait HeaderSource: Sync {
    /// The first value of field `name`, if present.
    fn get(&self, name: &str) -> Option<&[u8]>;

    /// Every value of field `name`, in the order received.
    fn get_all(&self, name: &str) -> Vec<&[u8]>;

    /// The value of field `name` when it appears at most once: `Ok(None)` when absent,
    /// `Err(RepeatedHeader)` when it appears more than once.
    ///
    /// The default calls [`HeaderSource::get_all`]; adapters override it to answer without
    /// collecting the values (it runs on every authenticated request).
    ///
    /// # Errors
    ///
    /// [`RepeatedHeader`] when the field appears more than once.
    fn get_one(&self, name: &str) -> Result<Option<&[u8]>, RepeatedHeader> {
        match self.get_all(name).as_slice() {
            [] => Ok(None),
            [value] => Ok(Some(value)),
            _ => Err(RepeatedHeader),
        }
    }
}

/// Whether `b` is an RFC 9110 §5.6.2 `tchar`: the characters of a token (field names,
/// authentication schemes, structured-field tokens), `!#$%&'*+-.^_`|~`, digits and letters.
///
/// # Examples
///
/// ```
/// assert!("X-API-Key".bytes().all(auth_core::is_tchar));
/// assert!(!"X API Key".bytes().all(auth_core::is_tchar));
/// ```
#[must_use]
#[inline]
pub const fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// A header field that must appear at most once appeared more than once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepeatedHeader;

/// A plain list of header fields: for tests, and for callers whose framework has no adapter.
///
/// # Examples
///
/// ```
/// use auth_core::{HeaderList, HeaderSource};
///
/// let headers = HeaderList::new().with("Authorization", "Bearer abc");
/// assert_eq!(headers.get("authorization"), Some(&b"Bearer abc"[..]));
/// ```
#[derive(Clone, Default)]
pub struct HeaderList(Vec<(String, Vec<u8>)>);

impl HeaderList {
    /// An empty list.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a field.
    #[must_use]
    pub fn with(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.push(name, value);
        self
    }

    /// Appends a field.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) {
        self.0.push((name.into(), value.into()));
    }
}

impl HeaderSource for HeaderList {
    fn get(&self, name: &str) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    fn get_all(&self, name: &str) -> Vec<&[u8]> {
        self.0
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
            .collect()
    }

    fn get_one(&self, name: &str) -> Result<Option<&[u8]>, RepeatedHeader> {
        let mut values = self
            .0
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice());
        match (values.next(), values.next()) {
            (_, Some(_)) => Err(RepeatedHeader),
            (first, None) => Ok(first),
        }
    }
}

impl fmt::Debug for HeaderList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values carry credentials: list the names only.
        f.debug_list()
            .entries(self.0.iter().map(|(n, _)| n))
            .finish()
    }
}

/// Why a header could not be read as a single, well-formed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The field appears more than once where one value is expected (RFC 9110 §5.3: a
    /// credential header must not be repeated).
    #[error("the header appears more than once")]
    Repeated,
    /// The value holds bytes outside visible ASCII, space and tab.
    #[error("the header value is not visible ASCII")]
    NotVisibleAscii,
}

/// A request as an authenticator sees it: method, target, headers, peer, transport security
/// and, for authenticators that ask for it, the body.
///
/// # Examples
///
/// ```
/// use auth_core::{AuthRequest, HeaderList};
///
/// let headers = HeaderList::new().with("X-API-Key", "k1");
/// let request = AuthRequest::new("GET", "/orders?page=2", &headers);
/// assert_eq!(request.path(), "/orders");
/// assert_eq!(request.query(), Some("page=2"));
/// assert_eq!(request.single_header("x-api-key"), Ok(Some("k1")));
/// ```
#[derive(Clone, Copy)]
pub struct AuthRequest<'a> {
    method: &'a str,
    target: &'a str,
    headers: &'a dyn HeaderSource,
    peer: Option<SocketAddr>,
    secure: bool,
    body: Option<&'a [u8]>,
}

impl<'a> AuthRequest<'a> {
    /// A request with `method`, `target` (the path and query as sent, RFC 9112
    /// origin-form) and `headers`; no peer, not secure, no body.
    #[must_use]
    pub fn new(method: &'a str, target: &'a str, headers: &'a dyn HeaderSource) -> Self {
        Self {
            method,
            target,
            headers,
            peer: None,
            secure: false,
            body: None,
        }
    }

    /// Sets the peer's socket address.
    #[must_use]
    pub fn with_peer(mut self, peer: Option<SocketAddr>) -> Self {
        self.peer = peer;
        self
    }

    /// Marks whether the request arrived over TLS (directly, or from a trusted proxy that
    /// terminated it).
    #[must_use]
    pub fn with_secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// Attaches the buffered body (for authenticators whose
    /// [`needs_body`](crate::Authenticator::needs_body) is true).
    #[must_use]
    pub fn with_body(mut self, body: Option<&'a [u8]>) -> Self {
        self.body = body;
        self
    }

    /// The method, as sent (`GET`, `POST`, ...).
    #[must_use]
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The request target: path and query, as sent.
    #[must_use]
    pub fn target(&self) -> &'a str {
        self.target
    }

    /// The path, without the query.
    #[must_use]
    pub fn path(&self) -> &'a str {
        self.target
            .split_once('?')
            .map_or(self.target, |(path, _)| path)
    }

    /// The query, without the `?`, if there is one.
    #[must_use]
    pub fn query(&self) -> Option<&'a str> {
        self.target.split_once('?').map(|(_, query)| query)
    }

    /// The header fields.
    #[must_use]
    pub fn headers(&self) -> &'a dyn HeaderSource {
        self.headers
    }

    /// The first value of header `name`.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.headers.get(name)
    }

    /// The value of header `name` when it must appear at most once and be visible ASCII, as
    /// credential headers must.
    ///
    /// # Errors
    ///
    /// [`HeaderError::Repeated`] when the header appears more than once;
    /// [`HeaderError::NotVisibleAscii`] when its value holds other bytes.
    pub fn single_header(&self, name: &str) -> Result<Option<&'a str>, HeaderError> {
        match self.headers.get_one(name) {
            Ok(None) => Ok(None),
            Ok(Some(value)) => {
                // No early exit: the loop vectorizes (a 364-byte bearer token: ~4,600 →
                // ~300 instructions), and a valid value is read whole either way.
                if value.iter().fold(true, |ok, &b| {
                    ok & ((b' '..=b'~').contains(&b) | (b == b'\t'))
                }) {
                    // Visible ASCII is valid UTF-8.
                    std::str::from_utf8(value)
                        .map(Some)
                        .map_err(|_| HeaderError::NotVisibleAscii)
                } else {
                    Err(HeaderError::NotVisibleAscii)
                }
            }
            Err(RepeatedHeader) => Err(HeaderError::Repeated),
        }
    }

    /// The peer's socket address, when known.
    #[must_use]
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Whether the request arrived over TLS.
    #[must_use]
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The buffered body, when the adapter was asked for it.
    #[must_use]
    pub fn body(&self) -> Option<&'a [u8]> {
        self.body
    }
}

impl fmt::Debug for AuthRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No header values and no query: either may carry a credential.
        f.debug_struct("AuthRequest")
            .field("method", &self.method)
            .field("path", &self.path())
            .field("peer", &self.peer)
            .field("secure", &self.secure)
            .field("body_len", &self.body.map(<[u8]>::len))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tchar_is_the_rfc_9110_set() {
        let rfc: Vec<u8> = (b'0'..=b'9')
            .chain(b'A'..=b'Z')
            .chain(b'a'..=b'z')
            .chain(*b"!#$%&'*+-.^_`|~")
            .collect();
        for b in 0..=u8::MAX {
            assert_eq!(is_tchar(b), rfc.contains(&b), "byte {b:#04x}");
        }
    }

    #[test]
    fn header_list_get_one_agrees_with_get_all() {
        let headers = HeaderList::new()
            .with("Authorization", "a")
            .with("authorization", "b")
            .with("X-Key", "k");
        assert_eq!(headers.get_one("AUTHORIZATION"), Err(RepeatedHeader));
        assert_eq!(headers.get_one("x-key"), Ok(Some(&b"k"[..])));
        assert_eq!(headers.get_one("cookie"), Ok(None));
        for name in ["authorization", "X-KEY", "cookie"] {
            let all = headers.get_all(name);
            let expected = match all.as_slice() {
                [] => Ok(None),
                [one] => Ok(Some(*one)),
                _ => Err(RepeatedHeader),
            };
            assert_eq!(headers.get_one(name), expected, "{name}");
        }
    }

    #[test]
    fn single_header_refuses_repeats_and_binary() {
        let headers = HeaderList::new()
            .with("Authorization", "a")
            .with("authorization", "b")
            .with("X-Key", b"k\x00".to_vec());
        let request = AuthRequest::new("GET", "/", &headers);
        assert_eq!(
            request.single_header("AUTHORIZATION"),
            Err(HeaderError::Repeated)
        );
        assert_eq!(
            request.single_header("x-key"),
            Err(HeaderError::NotVisibleAscii)
        );
        assert_eq!(request.single_header("missing"), Ok(None));
    }

    #[test]
    fn debug_hides_header_values_and_query() {
        let headers = HeaderList::new().with("Authorization", "Bearer s3cr3t");
        let request = AuthRequest::new("GET", "/x?api_key=s3cr3t", &headers);
        assert!(!format!("{request:?}").contains("s3cr3t"));
        assert!(!format!("{headers:?}").contains("s3cr3t"));
    }

    #[test]
    fn path_and_query() {
        let headers = HeaderList::new();
        let request = AuthRequest::new("GET", "/a/b", &headers);
        assert_eq!(request.path(), "/a/b");
        assert_eq!(request.query(), None);
    }
}
