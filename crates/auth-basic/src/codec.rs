//! The RFC 7617 codec: parse `Authorization: Basic ...`, and build it for clients.

use std::fmt;

use auth_core::Secret;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroize;

/// The default longest `Authorization` header value accepted, in bytes. A user name and a
/// password of a few hundred characters fit; anything longer is an attack or a mistake.
pub const DEFAULT_MAX_HEADER_LEN: usize = 1024;

/// A user name and password, as sent in a Basic `Authorization` header.
///
/// # Examples
///
/// ```
/// use auth_basic::BasicCredentials;
///
/// // RFC 7617 §2.
/// let credentials = BasicCredentials::new("Aladdin", "open sesame");
/// assert_eq!(credentials.header_value(), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
///
/// let parsed = BasicCredentials::parse("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")?.unwrap();
/// assert_eq!(parsed.username(), "Aladdin");
/// assert_eq!(parsed.password().expose_str(), Some("open sesame"));
/// # Ok::<(), auth_basic::CodecError>(())
/// ```
#[derive(Clone)]
pub struct BasicCredentials {
    username: String,
    password: Secret,
}

/// Why a Basic `Authorization` header could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The header is longer than the limit.
    #[error("the Authorization header is too long")]
    TooLong,
    /// `Basic` with nothing after it.
    #[error("the Basic credentials are missing")]
    Missing,
    /// Not standard base64 with padding (RFC 4648 §4).
    #[error("the Basic credentials are not valid base64")]
    Base64,
    /// The decoded text is not UTF-8 (RFC 7617 §2.1: `charset="UTF-8"`).
    #[error("the Basic credentials are not UTF-8")]
    NotUtf8,
    /// No colon between user name and password.
    #[error("the Basic credentials have no colon")]
    NoColon,
    /// The user name is empty.
    #[error("the user name is empty")]
    EmptyUsername,
    /// A control character in the user name or password (RFC 7617 §2).
    #[error("the Basic credentials contain a control character")]
    ControlCharacter,
}

impl CodecError {
    /// The audit reason code.
    #[must_use]
    pub fn reason(self) -> &'static str {
        match self {
            CodecError::TooLong => "header_too_long",
            CodecError::Missing => "credentials_missing",
            CodecError::Base64 => "bad_base64",
            CodecError::NotUtf8 => "not_utf8",
            CodecError::NoColon => "no_colon",
            CodecError::EmptyUsername => "empty_username",
            CodecError::ControlCharacter => "control_character",
        }
    }
}

impl BasicCredentials {
    /// Credentials to send.
    #[must_use]
    pub fn new(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }

    /// Parses an `Authorization` header value with the default length limit
    /// ([`DEFAULT_MAX_HEADER_LEN`]).
    ///
    /// Returns `Ok(None)` when the value is for another scheme (so a chain can try the next
    /// one).
    ///
    /// # Errors
    ///
    /// [`CodecError`] when the value is `Basic` but malformed.
    pub fn parse(header: &str) -> Result<Option<Self>, CodecError> {
        Self::parse_with_limit(header, DEFAULT_MAX_HEADER_LEN)
    }

    /// Parses an `Authorization` header value no longer than `max_len` bytes.
    ///
    /// - the scheme name is case-insensitive (RFC 9110 §11.1), followed by one or more spaces;
    /// - the rest is standard base64 with padding;
    /// - the decoded bytes must be UTF-8, split at the *first* colon (a password may hold
    ///   colons, a user name may not), with a non-empty user name and no control characters.
    ///
    /// # Errors
    ///
    /// [`CodecError`] when the value is `Basic` but malformed.
    pub fn parse_with_limit(header: &str, max_len: usize) -> Result<Option<Self>, CodecError> {
        let (scheme, rest) = match header.split_once(' ') {
            Some((scheme, rest)) => (scheme, rest),
            None => (header, ""),
        };
        if !scheme.eq_ignore_ascii_case("basic") {
            return Ok(None);
        }
        if header.len() > max_len {
            return Err(CodecError::TooLong);
        }
        let token = rest.trim_start_matches(' ').trim_end_matches([' ', '\t']);
        if token.is_empty() {
            return Err(CodecError::Missing);
        }
        let mut decoded = STANDARD.decode(token).map_err(|_| CodecError::Base64)?;
        let result = Self::from_decoded(&decoded);
        decoded.zeroize();
        result.map(Some)
    }

    fn from_decoded(decoded: &[u8]) -> Result<Self, CodecError> {
        let text = std::str::from_utf8(decoded).map_err(|_| CodecError::NotUtf8)?;
        let (username, password) = text.split_once(':').ok_or(CodecError::NoColon)?;
        if username.is_empty() {
            return Err(CodecError::EmptyUsername);
        }
        if text.chars().any(char::is_control) {
            return Err(CodecError::ControlCharacter);
        }
        Ok(Self {
            username: username.to_owned(),
            password: Secret::from(password),
        })
    }

    /// The user name.
    #[must_use]
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The password.
    #[must_use]
    pub fn password(&self) -> &Secret {
        &self.password
    }

    /// The `Authorization` header value: `Basic <base64(user ":" password)>`, UTF-8.
    ///
    /// # Security
    ///
    /// The value carries the password in the clear (base64 is an encoding): send it only
    /// over HTTPS.
    #[must_use]
    pub fn header_value(&self) -> String {
        let mut joined = Vec::with_capacity(self.username.len() + 1 + self.password.len());
        joined.extend_from_slice(self.username.as_bytes());
        joined.push(b':');
        joined.extend_from_slice(self.password.expose_secret());
        let value = format!("Basic {}", STANDARD.encode(&joined));
        joined.zeroize();
        value
    }
}

impl fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicCredentials")
            .field("username", &self.username)
            .field("password", &self.password)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: &str) -> Result<Option<BasicCredentials>, CodecError> {
        BasicCredentials::parse(value)
    }

    #[test]
    fn rfc_7617_section_2_example() {
        let c = parse("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
            .unwrap()
            .unwrap();
        assert_eq!(c.username(), "Aladdin");
        assert_eq!(c.password().expose_str(), Some("open sesame"));
        assert_eq!(
            BasicCredentials::new("Aladdin", "open sesame").header_value(),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }

    #[test]
    fn rfc_7617_section_2_1_utf8_example() {
        // RFC 7617 §2.1: user "test", password "123£" in UTF-8.
        let c = parse("Basic dGVzdDoxMjPCow==").unwrap().unwrap();
        assert_eq!(c.username(), "test");
        assert_eq!(c.password().expose_str(), Some("123\u{a3}"));
        assert_eq!(
            BasicCredentials::new("test", "123\u{a3}").header_value(),
            "Basic dGVzdDoxMjPCow=="
        );
        // The same credentials in ISO-8859-1 are refused: charset="UTF-8" was announced.
        assert_eq!(
            parse("Basic dGVzdDoxMjOj").unwrap_err(),
            CodecError::NotUtf8
        );
    }

    #[test]
    fn scheme_name_is_case_insensitive_and_other_schemes_are_not_ours() {
        assert!(
            parse("basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
                .unwrap()
                .is_some()
        );
        assert!(
            parse("BASIC   QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
                .unwrap()
                .is_some()
        );
        assert!(parse("Bearer abc").unwrap().is_none());
        assert!(parse("Basicx abc").unwrap().is_none());
    }

    #[test]
    fn password_may_contain_colons() {
        let c = BasicCredentials::new("u", "a:b:c");
        let parsed = parse(&c.header_value()).unwrap().unwrap();
        assert_eq!(parsed.username(), "u");
        assert_eq!(parsed.password().expose_str(), Some("a:b:c"));
    }

    #[test]
    fn malformed_values_are_refused_without_panicking() {
        let b64 = |s: &[u8]| format!("Basic {}", STANDARD.encode(s));
        assert_eq!(parse("Basic").unwrap_err(), CodecError::Missing);
        assert_eq!(parse("Basic ").unwrap_err(), CodecError::Missing);
        assert_eq!(parse("Basic !!!").unwrap_err(), CodecError::Base64);
        assert_eq!(
            parse("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ").unwrap_err(),
            CodecError::Base64,
            "padding is required"
        );
        assert_eq!(parse(&b64(b"nocolon")).unwrap_err(), CodecError::NoColon);
        assert_eq!(parse(&b64(b":pw")).unwrap_err(), CodecError::EmptyUsername);
        assert_eq!(
            parse(&b64(b"user:pa\x00ss")).unwrap_err(),
            CodecError::ControlCharacter
        );
        assert_eq!(
            parse(&b64(b"us\x1ber:pass")).unwrap_err(),
            CodecError::ControlCharacter
        );
        assert_eq!(
            parse(&b64("user:\u{85}".as_bytes())).unwrap_err(),
            CodecError::ControlCharacter,
            "C1 controls too"
        );
        assert_eq!(parse(&b64(&[b'u'; 2000])).unwrap_err(), CodecError::TooLong);
    }

    #[test]
    fn debug_redacts_the_password() {
        let c = BasicCredentials::new("alice", "hunter2");
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
