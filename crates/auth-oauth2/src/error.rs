//! [`Error`]: what can go wrong on the client side, and [`OAuthError`], the authorization
//! server's own error response (RFC 6749 §4.1.2.1 and §5.2).

use std::fmt;
use std::sync::Arc;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error of the OAuth 2.0 client (token source, authorization code flow) or of a
/// configuration.
///
/// The resource server does not return it per request: it answers with an
/// [`auth_core::Rejection`] (401, 403, 503), the one road to HTTP.
///
/// Errors are `Clone`, so the callers that waited for one shared token request all get its
/// failure. No variant carries a token, a code or a secret.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration was refused when it was built (an `http://` endpoint that is not
    /// loopback, an empty client id, a client secret in a URL, ...).
    #[error("invalid configuration: {0}")]
    Config(String),

    /// The token endpoint refused the request with an OAuth error response (RFC 6749 §5.2):
    /// `invalid_client` for a wrong client id, secret or authentication method,
    /// `invalid_grant` for a used, expired or revoked code or refresh token, ...
    #[error("the token endpoint refused the request: {0}{hint}", hint = token_hint(.0))]
    TokenEndpoint(OAuthError),

    /// An endpoint answered with an HTTP error status and no OAuth error body.
    #[error("the {endpoint} answered HTTP {status}{hint}", hint = status_hint(*.status))]
    Status {
        /// Which endpoint (`"token endpoint"`, `"introspection endpoint"`).
        endpoint: &'static str,
        /// The HTTP status code.
        status: u16,
    },

    /// The endpoint could not be reached, or the connection broke (after the retries the
    /// [`Backoff`](crate::Backoff) allows).
    #[error("could not reach the {endpoint}: {source}")]
    Network {
        /// Which endpoint.
        endpoint: &'static str,
        /// The transport error.
        #[source]
        source: Arc<reqwest::Error>,
    },

    /// The endpoint answered 200 with something that is not a valid response (not JSON, no
    /// `access_token`, a malformed `expires_in`, too large).
    #[error("invalid response from the {endpoint}: {message}")]
    InvalidResponse {
        /// Which endpoint.
        endpoint: &'static str,
        /// What is wrong (never the response body: it may hold a token).
        message: String,
    },

    /// The token endpoint issued a token type this client does not use: only `Bearer`
    /// (in any letter case, RFC 6749 §5.1) unless others are accepted in the configuration.
    #[error(
        "the token endpoint issued a {0:?} token; only Bearer tokens are accepted unless configured"
    )]
    UnsupportedTokenType(String),

    /// The authorization response carries no `state` (RFC 6749 §4.1.2): it was not sent in
    /// answer to our request (CSRF, RFC 6749 §10.12).
    #[error("the authorization response has no state parameter")]
    MissingState,

    /// The authorization response's `state` is not the one we sent: a forged or replayed
    /// response (CSRF, RFC 6749 §10.12), or the session was lost.
    #[error("the authorization response's state does not match the pending authorization")]
    StateMismatch,

    /// The authorization response's `iss` is not our authorization server (RFC 9207 §2.4):
    /// a mix-up attack.
    #[error(
        "the authorization response comes from issuer {received:?}, not {expected:?} (RFC 9207)"
    )]
    IssuerMismatch {
        /// The issuer we sent the user to.
        expected: String,
        /// The issuer named in the response.
        received: String,
    },

    /// The authorization response has no `iss` although the authorization server sends it
    /// (RFC 9207 §2.4: `authorization_response_iss_parameter_supported`).
    #[error(
        "the authorization response has no iss parameter, which this authorization server always sends (RFC 9207)"
    )]
    MissingIssuer,

    /// The authorization server answered the authorization request with an error
    /// (RFC 6749 §4.1.2.1): the user denied access (`access_denied`), ...
    #[error("the authorization server refused the authorization request: {0}")]
    Authorization(OAuthError),

    /// The authorization response is malformed: no `code`, or a parameter repeated
    /// (RFC 6749 §3.1).
    #[error("invalid authorization response: {0}")]
    InvalidCallback(String),

    /// The pending authorization is older than the configured maximum: the user took too long
    /// or the response is replayed. Start again.
    #[error("the pending authorization has expired; start the login again")]
    PendingExpired,

    /// The ID token (OpenID Connect) in the token response is missing or does not belong to
    /// this login (wrong `nonce`, `aud`, `iss`, or expired).
    #[error("the ID token was refused: {0}")]
    IdToken(&'static str),

    /// A refresh was asked for, but the tokens hold no refresh token.
    #[error("there is no refresh token; the user must log in again")]
    NoRefreshToken,
}

impl Error {
    /// Whether retrying later may succeed: a network error or a 5xx answer.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Network { .. } => true,
            Error::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// Whether the user must log in again: the refresh token or code was refused
    /// (`invalid_grant`) or there is no refresh token.
    #[must_use]
    pub fn requires_login(&self) -> bool {
        match self {
            Error::TokenEndpoint(e) => e.code() == &ErrorCode::InvalidGrant,
            Error::NoRefreshToken => true,
            _ => false,
        }
    }

    /// Whether the request surely never reached the server (the connection failed), so that
    /// repeating it cannot consume a code or a refresh token twice.
    pub(crate) fn is_connect(&self) -> bool {
        matches!(self, Error::Network { source, .. } if source.is_connect())
    }
}

fn token_hint(error: &OAuthError) -> &'static str {
    match error.code() {
        ErrorCode::InvalidClient => {
            " (check the client id, the client secret, and the client authentication method: \
             client_secret_basic or client_secret_post)"
        }
        ErrorCode::InvalidGrant => {
            " (the code or refresh token is invalid, expired, revoked or was already used)"
        }
        _ => "",
    }
}

fn status_hint(status: u16) -> &'static str {
    match status {
        401 => {
            " (client authentication failed: check the client id, the client secret and the \
             client authentication method)"
        }
        _ => "",
    }
}

/// The `error` code of an OAuth error response: RFC 6749 §4.1.2.1 (authorization endpoint),
/// §5.2 (token endpoint), RFC 8707 §2 (`invalid_target`), or another one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_request`: a parameter is missing, repeated or malformed.
    InvalidRequest,
    /// `invalid_client`: client authentication failed (token endpoint).
    InvalidClient,
    /// `invalid_grant`: the code or refresh token is invalid, expired, revoked or used.
    InvalidGrant,
    /// `unauthorized_client`: the client may not use this grant or response type.
    UnauthorizedClient,
    /// `unsupported_grant_type`: the server does not support the grant type.
    UnsupportedGrantType,
    /// `invalid_scope`: a requested scope is invalid or not allowed.
    InvalidScope,
    /// `access_denied`: the user or the server denied the request.
    AccessDenied,
    /// `unsupported_response_type`: the server does not support `response_type=code`.
    UnsupportedResponseType,
    /// `server_error`: the authorization server failed.
    ServerError,
    /// `temporarily_unavailable`: the authorization server is overloaded or down.
    TemporarilyUnavailable,
    /// `invalid_target` (RFC 8707): a `resource` is invalid or not allowed.
    InvalidTarget,
    /// Any other code (OpenID Connect's `login_required`, ...).
    Other(String),
}

impl ErrorCode {
    /// Parses an `error` value.
    #[must_use]
    pub fn parse(code: &str) -> Self {
        match code {
            "invalid_request" => Self::InvalidRequest,
            "invalid_client" => Self::InvalidClient,
            "invalid_grant" => Self::InvalidGrant,
            "unauthorized_client" => Self::UnauthorizedClient,
            "unsupported_grant_type" => Self::UnsupportedGrantType,
            "invalid_scope" => Self::InvalidScope,
            "access_denied" => Self::AccessDenied,
            "unsupported_response_type" => Self::UnsupportedResponseType,
            "server_error" => Self::ServerError,
            "temporarily_unavailable" => Self::TemporarilyUnavailable,
            "invalid_target" => Self::InvalidTarget,
            other => Self::Other(clean(other, 64)),
        }
    }

    /// The code as sent.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidTarget => "invalid_target",
            Self::Other(code) => code,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth error response: `error`, `error_description`, `error_uri` (RFC 6749 §4.1.2.1,
/// §5.2).
///
/// The description and URI come from the server; they are kept to visible ASCII and cut to
/// a bounded length, so they cannot forge log lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    code: ErrorCode,
    description: Option<String>,
    uri: Option<String>,
}

impl OAuthError {
    /// The longest description kept, in characters.
    pub const MAX_DESCRIPTION: usize = 256;

    /// An error response with `code`, `description` and `uri` (cleaned as described above).
    #[must_use]
    pub fn new(code: &str, description: Option<&str>, uri: Option<&str>) -> Self {
        Self {
            code: ErrorCode::parse(code),
            description: description
                .map(|d| clean(d, Self::MAX_DESCRIPTION))
                .filter(|d| !d.is_empty()),
            uri: uri.map(|u| clean(u, 512)).filter(|u| !u.is_empty()),
        }
    }

    /// The `error` code.
    #[must_use]
    pub fn code(&self) -> &ErrorCode {
        &self.code
    }

    /// The `error_description`, if any.
    #[must_use]
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The `error_uri`, if any.
    #[must_use]
    pub fn uri(&self) -> Option<&str> {
        self.uri.as_deref()
    }

    /// Reads `{"error": ..., "error_description": ..., "error_uri": ...}`; `None` when the
    /// body is not such an object.
    pub(crate) fn from_json(body: &[u8]) -> Option<Self> {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        let code = value.get("error")?.as_str()?;
        if code.is_empty() {
            return None;
        }
        Some(Self::new(
            code,
            value.get("error_description").and_then(|v| v.as_str()),
            value.get("error_uri").and_then(|v| v.as_str()),
        ))
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code.as_str())?;
        if let Some(description) = &self.description {
            write!(f, ": {description}")?;
        }
        Ok(())
    }
}

/// Keeps visible ASCII and spaces (RFC 6749 §5.2 allows no more in these fields), at most
/// `max` characters.
fn clean(text: &str, max: usize) -> String {
    text.chars()
        .filter(|c| matches!(c, ' '..='~'))
        .take(max)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_client_explains_what_to_check() {
        let error = Error::TokenEndpoint(OAuthError::new(
            "invalid_client",
            Some("Client authentication failed"),
            None,
        ));
        let text = error.to_string();
        assert!(
            text.contains("invalid_client: Client authentication failed"),
            "{text}"
        );
        assert!(text.contains("client secret"), "{text}");
        assert!(!error.is_transient());
    }

    #[test]
    fn server_text_is_cleaned() {
        let error = OAuthError::new("x\ny", Some("line\r\nforged: yes\u{1b}[31m"), None);
        assert_eq!(error.code().as_str(), "xy");
        assert_eq!(error.description(), Some("lineforged: yes[31m"));
        let long = "a".repeat(1000);
        assert_eq!(
            OAuthError::new("e", Some(&long), None)
                .description()
                .unwrap()
                .len(),
            OAuthError::MAX_DESCRIPTION
        );
    }

    #[test]
    fn error_bodies_are_parsed() {
        let e = OAuthError::from_json(br#"{"error":"invalid_grant","error_description":"used"}"#)
            .unwrap();
        assert_eq!(e.code(), &ErrorCode::InvalidGrant);
        assert!(Error::TokenEndpoint(e).requires_login());
        assert!(OAuthError::from_json(b"<html>").is_none());
        assert!(OAuthError::from_json(br#"{"error":""}"#).is_none());
    }

    #[test]
    fn transient_errors() {
        let status = |status| Error::Status {
            endpoint: "token endpoint",
            status,
        };
        assert!(status(503).is_transient());
        assert!(!status(400).is_transient());
        assert!(status(401).to_string().contains("client secret"));
    }
}
