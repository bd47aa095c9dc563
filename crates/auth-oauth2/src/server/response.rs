//! What the token service answers: [`EndpointResponse`], and the OAuth error responses
//! ([`EndpointError`], RFC 6749 §5.2).

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use serde_json::{Value, json};

use crate::ErrorCode;

/// An HTTP response of the token service, framework-free: status, header fields, body.
///
/// Adapters copy it into their framework's response (auth-actix's `oauth2_server` does).
/// Every response that carries a token or a decision has `Cache-Control: no-store` and
/// `Pragma: no-cache` (RFC 6749 §5.1). `Debug` never shows the body: it may hold tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct EndpointResponse {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl EndpointResponse {
    /// A JSON response that must not be cached (tokens, errors, introspection results).
    pub(crate) fn no_store(status: u16, body: &Value) -> Self {
        Self {
            status,
            headers: vec![
                ("content-type", "application/json".to_owned()),
                ("cache-control", "no-store".to_owned()),
                ("pragma", "no-cache".to_owned()),
            ],
            body: body.to_string(),
        }
    }

    /// A 200 with an empty body that must not be cached (revocation, RFC 7009 §2.2).
    pub(crate) fn empty_no_store() -> Self {
        Self {
            status: 200,
            headers: vec![
                ("cache-control", "no-store".to_owned()),
                ("pragma", "no-cache".to_owned()),
            ],
            body: String::new(),
        }
    }

    /// A public JSON document (metadata, JWKS), cacheable for `max_age`.
    pub(crate) fn public(body: &Value, max_age: Duration) -> Self {
        Self {
            status: 200,
            headers: vec![
                ("content-type", "application/json".to_owned()),
                (
                    "cache-control",
                    format!("public, max-age={}", max_age.as_secs()),
                ),
            ],
            body: body.to_string(),
        }
    }

    /// The response for a [`Rejection`](auth_core::Rejection) (from a password check):
    /// its status, JSON body and `Retry-After`, without its challenges — a JSON login must
    /// not make browsers open their Basic login dialog.
    pub(crate) fn rejection(rejection: &auth_core::Rejection) -> Self {
        let body = serde_json::from_str(&rejection.json_body()).unwrap_or(Value::Null);
        let mut response = Self::no_store(rejection.status(), &body);
        if let Some(retry_after) = rejection.retry_after_header() {
            response = response.with_header("retry-after", retry_after);
        }
        response
    }

    fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The HTTP status code.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The header fields, names in lower case, in order.
    #[must_use]
    pub fn headers(&self) -> &[(&'static str, String)] {
        &self.headers
    }

    /// The first value of header `name` (case-insensitive).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body (JSON, or empty). It may hold tokens: never log it.
    #[must_use]
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The body parsed as JSON (`Value::Null` when empty or not JSON): for tests and for
    /// callers that embed the answer.
    #[must_use]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

impl fmt::Debug for EndpointResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointResponse")
            .field("status", &self.status)
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            )
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// A refusal by the token service: an OAuth error response (RFC 6749 §5.2) —
/// `{"error": ..., "error_description": ...}` with its status — plus the audit reason,
/// which never reaches the client.
///
/// | code | status | when |
/// |---|---|---|
/// | `invalid_request` | 400 | a parameter missing, repeated, malformed, or in the URL; not a form POST; plain HTTP |
/// | `invalid_client` | 401 (+ `WWW-Authenticate: Basic` when the client used Basic or sent nothing) | client authentication failed |
/// | `invalid_grant` | 400 | the refresh token is invalid, expired, revoked, reused or another client's |
/// | `unauthorized_client` | 400 | the client may not use this grant |
/// | `unsupported_grant_type` | 400 | not `client_credentials` or `refresh_token` (`password`: never, RFC 9700 §2.4) |
/// | `invalid_scope` | 400 | a scope the client (or the grant) does not have |
/// | `invalid_target` | 400 | a `resource` (RFC 8707) the client may not get tokens for |
/// | `too_many_requests` | 429 + `Retry-After` | too many failed client authentications |
/// | `temporarily_unavailable` | 503 | a store is down (fail closed) |
/// | `server_error` | 500 | a token could not be signed |
#[derive(Clone, PartialEq, Eq)]
pub struct EndpointError {
    code: ErrorCode,
    description: Cow<'static, str>,
    status: u16,
    challenge: bool,
    retry_after: Option<Duration>,
    allow_post: bool,
    reason: Cow<'static, str>,
}

impl EndpointError {
    fn new(
        code: ErrorCode,
        status: u16,
        description: impl Into<Cow<'static, str>>,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            code,
            description: description.into(),
            status,
            challenge: false,
            retry_after: None,
            allow_post: false,
            reason: reason.into(),
        }
    }

    /// The same refusal under another error code (audit of authorization errors).
    pub(crate) fn with_code(mut self, code: ErrorCode) -> Self {
        self.code = code;
        self
    }

    pub(crate) fn invalid_request(
        description: impl Into<Cow<'static, str>>,
        reason: &'static str,
    ) -> Self {
        Self::new(ErrorCode::InvalidRequest, 400, description, reason)
    }

    /// 401 `invalid_client`; `challenge` adds `WWW-Authenticate: Basic` (RFC 6749 §5.2:
    /// required when the client used the Authorization header).
    pub(crate) fn invalid_client(challenge: bool, reason: &'static str) -> Self {
        let mut error = Self::new(
            ErrorCode::InvalidClient,
            401,
            "Client authentication failed",
            reason,
        );
        error.challenge = challenge;
        error
    }

    pub(crate) fn invalid_grant(reason: &'static str) -> Self {
        Self::new(
            ErrorCode::InvalidGrant,
            400,
            "The refresh token is invalid, expired or revoked",
            reason,
        )
    }

    pub(crate) fn unauthorized_client(
        description: impl Into<Cow<'static, str>>,
        reason: &'static str,
    ) -> Self {
        Self::new(ErrorCode::UnauthorizedClient, 400, description, reason)
    }

    pub(crate) fn unsupported_grant_type(
        description: impl Into<Cow<'static, str>>,
        reason: &'static str,
    ) -> Self {
        Self::new(ErrorCode::UnsupportedGrantType, 400, description, reason)
    }

    pub(crate) fn invalid_scope(
        description: impl Into<Cow<'static, str>>,
        reason: &'static str,
    ) -> Self {
        Self::new(ErrorCode::InvalidScope, 400, description, reason)
    }

    pub(crate) fn invalid_target(
        description: impl Into<Cow<'static, str>>,
        reason: &'static str,
    ) -> Self {
        Self::new(ErrorCode::InvalidTarget, 400, description, reason)
    }

    pub(crate) fn throttled(wait: Duration) -> Self {
        let mut error = Self::new(
            ErrorCode::Other("too_many_requests".to_owned()),
            429,
            "Too many failed client authentications; retry later",
            "throttled",
        );
        error.retry_after = Some(wait);
        error
    }

    pub(crate) fn unavailable(reason: &'static str) -> Self {
        Self::new(
            ErrorCode::TemporarilyUnavailable,
            503,
            "The service is temporarily unavailable",
            reason,
        )
    }

    pub(crate) fn server_error(reason: &'static str) -> Self {
        Self::new(
            ErrorCode::ServerError,
            500,
            "The token could not be issued",
            reason,
        )
    }

    pub(crate) fn method_not_allowed(description: &'static str) -> Self {
        let mut error = Self::new(
            ErrorCode::InvalidRequest,
            405,
            description,
            "method_not_allowed",
        );
        error.allow_post = true;
        error
    }

    /// The `error` code.
    #[must_use]
    pub fn code(&self) -> &ErrorCode {
        &self.code
    }

    /// The `error_description` (public: it says what to fix, never which secret was wrong).
    #[must_use]
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The HTTP status code.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.status
    }

    /// How long the client should wait (429).
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The audit reason (`wrong_client_secret`, `refresh_token_reuse`, ...): for the audit
    /// log only, never sent.
    #[must_use]
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The response: the status, `{"error", "error_description"}`, `Cache-Control:
    /// no-store`, and `WWW-Authenticate: Basic realm="<realm>"` or `Retry-After` where
    /// they apply.
    #[must_use]
    pub fn to_response(&self, realm: &str) -> EndpointResponse {
        let mut response = EndpointResponse::no_store(
            self.status,
            &json!({"error": self.code.as_str(), "error_description": self.description}),
        );
        if self.challenge {
            response = response.with_header(
                "www-authenticate",
                format!("Basic realm=\"{}\", charset=\"UTF-8\"", quoted(realm)),
            );
        }
        if let Some(wait) = self.retry_after {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response = response.with_header("retry-after", secs.max(1).to_string());
        }
        if self.allow_post {
            response = response.with_header("allow", "POST".to_owned());
        }
        response
    }
}

/// A realm as a quoted-string body: quotes and backslashes escaped, only visible ASCII and
/// spaces kept.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => {}
        }
    }
    out
}

impl fmt::Debug for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointError")
            .field("code", &self.code.as_str())
            .field("status", &self.status)
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

impl std::error::Error for EndpointError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_client_with_basic_carries_the_challenge() {
        let response =
            EndpointError::invalid_client(true, "wrong_client_secret").to_response("id \"x\"");
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.header("WWW-Authenticate"),
            Some(r#"Basic realm="id \"x\"", charset="UTF-8""#)
        );
        assert_eq!(response.header("cache-control"), Some("no-store"));
        assert_eq!(response.header("pragma"), Some("no-cache"));
        assert_eq!(response.json()["error"], "invalid_client");
        assert!(!response.body().contains("wrong_client_secret"));
        let post = EndpointError::invalid_client(false, "wrong_client_secret").to_response("id");
        assert_eq!(post.header("www-authenticate"), None);
    }

    #[test]
    fn throttling_says_when_to_retry() {
        let response = EndpointError::throttled(Duration::from_millis(1500)).to_response("id");
        assert_eq!(response.status(), 429);
        assert_eq!(response.header("retry-after"), Some("2"));
    }
}
