//! [`Rejection`] and [`Challenge`]: the one road from a failed verification to HTTP.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::time::Duration;

use crate::{Scheme, Scopes};

/// One `WWW-Authenticate` challenge (RFC 9110 §11.6.1): a scheme and its parameters.
///
/// # Examples
///
/// ```
/// use auth_core::Challenge;
///
/// let basic = Challenge::new("Basic").param("realm", "api").param("charset", "UTF-8");
/// assert_eq!(basic.to_string(), r#"Basic realm="api", charset="UTF-8""#);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Challenge {
    scheme: Cow<'static, str>,
    params: Vec<(Cow<'static, str>, String)>,
    error_params: bool,
}

impl Challenge {
    /// A challenge for `scheme` (an RFC 9110 token such as `Basic`, `Bearer`, `ApiKey`).
    #[must_use]
    pub fn new(scheme: impl Into<Cow<'static, str>>) -> Self {
        Self {
            scheme: scheme.into(),
            params: Vec::new(),
            error_params: false,
        }
    }

    /// A `Bearer` challenge (RFC 6750 §3) with `realm`. Rejections add `error`,
    /// `error_description` and `scope` to it.
    #[must_use]
    pub fn bearer(realm: impl Into<String>) -> Self {
        Self::new("Bearer")
            .param("realm", realm)
            .with_error_params()
    }

    /// Adds an auth-param. Values are always sent as quoted strings; quotes and backslashes
    /// are escaped and control characters dropped, so no value can break the header.
    #[must_use]
    pub fn param(mut self, name: impl Into<Cow<'static, str>>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// Marks the challenge as one that carries RFC 6750 §3 error parameters (`error`,
    /// `error_description`, `scope`) when a [`Rejection`] is rendered.
    #[must_use]
    pub fn with_error_params(mut self) -> Self {
        self.error_params = true;
        self
    }

    /// The scheme name.
    #[must_use]
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The value of parameter `name` (case-insensitive), if set.
    #[must_use]
    pub fn get_param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn render(&self, error: Option<(&str, &str, Option<&Scopes>)>) -> String {
        let mut out = String::with_capacity(64);
        out.push_str(&self.scheme);
        let mut sep = " ";
        for (name, value) in &self.params {
            push_param(&mut out, sep, name, value);
            sep = ", ";
        }
        if let (true, Some((code, description, scope))) = (self.error_params, error) {
            push_param(&mut out, sep, "error", code);
            push_param(&mut out, ", ", "error_description", description);
            if let Some(scope) = scope {
                push_param(&mut out, ", ", "scope", &scope.to_string());
            }
        }
        out
    }
}

fn push_param(out: &mut String, sep: &str, name: &str, value: &str) {
    out.push_str(sep);
    out.push_str(name);
    out.push_str("=\"");
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            // Header values may carry only visible ASCII, space and tab; anything else could
            // split the header or be refused by the HTTP stack.
            ' ' | '\t' | '!'..='~' => out.push(c),
            _ => {}
        }
    }
    out.push('"');
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(None))
    }
}

impl fmt::Debug for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Challenge({self})")
    }
}

/// What kind of refusal a [`Rejection`] is; decides the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectionKind {
    /// 400: the request is malformed (a broken header, a duplicated credential).
    InvalidRequest,
    /// 401: no credential was sent.
    Unauthenticated,
    /// 401: a bearer token is invalid, expired or revoked (RFC 6750 `invalid_token`).
    InvalidToken,
    /// 401: a password, API key, signature or session is wrong, expired or revoked.
    InvalidCredentials,
    /// 403: authenticated, but a required scope is missing (RFC 6750 `insufficient_scope`).
    InsufficientScope,
    /// 403: credentials were sent over plain HTTP.
    InsecureTransport,
    /// 413: the body is larger than the authenticator may buffer.
    PayloadTooLarge,
    /// 429: too many failed attempts; retry later.
    TooManyRequests,
    /// 503: a store the decision needs is unreachable (fail closed).
    Unavailable,
}

impl RejectionKind {
    /// The HTTP status code.
    #[must_use]
    pub const fn status(self) -> u16 {
        match self {
            Self::InvalidRequest => 400,
            Self::Unauthenticated | Self::InvalidToken | Self::InvalidCredentials => 401,
            Self::InsufficientScope | Self::InsecureTransport => 403,
            Self::PayloadTooLarge => 413,
            Self::TooManyRequests => 429,
            Self::Unavailable => 503,
        }
    }

    /// The error code in the JSON body; RFC 6749/6750 codes where one exists.
    #[must_use]
    pub const fn error_code(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::Unauthenticated => "unauthorized",
            Self::InvalidToken => "invalid_token",
            Self::InvalidCredentials => "invalid_credentials",
            Self::InsufficientScope => "insufficient_scope",
            Self::InsecureTransport => "https_required",
            Self::PayloadTooLarge => "payload_too_large",
            Self::TooManyRequests => "too_many_requests",
            Self::Unavailable => "temporarily_unavailable",
        }
    }

    /// The RFC 6750 §3.1 code sent in a Bearer challenge, if this kind has one. A request
    /// without credentials gets none (RFC 6750 §3.1: "SHOULD NOT include an error code").
    const fn rfc6750_code(self) -> Option<&'static str> {
        match self {
            Self::InvalidRequest => Some("invalid_request"),
            Self::InvalidToken | Self::InvalidCredentials => Some("invalid_token"),
            Self::InsufficientScope => Some("insufficient_scope"),
            _ => None,
        }
    }
}

/// Why a request was refused: the HTTP status, the challenges to send, a public description
/// and, apart from them, the audit reason.
///
/// Every verifier's error maps to one of these; framework adapters such as `auth-actix` turn
/// it into a response with [`Rejection::status`], [`Rejection::www_authenticate`],
/// [`Rejection::retry_after`] and a body from [`Rejection::error_code`] and
/// [`Rejection::description`].
///
/// The public description never says *which* check failed (unknown user or wrong password,
/// bad signature or unknown key): that goes to [`Rejection::reason`], which only the audit
/// log sees.
///
/// # Examples
///
/// ```
/// use auth_core::{Challenge, Rejection};
///
/// let challenge = Challenge::bearer("api");
/// let rejection = Rejection::invalid_token(vec![challenge], "jwt_expired");
/// assert_eq!(rejection.status(), 401);
/// assert_eq!(rejection.reason(), "jwt_expired");
/// assert_eq!(
///     rejection.www_authenticate().collect::<Vec<_>>(),
///     [r#"Bearer realm="api", error="invalid_token", error_description="The access token is invalid or expired""#]
/// );
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Rejection(Box<Inner>);

#[derive(Clone, PartialEq, Eq)]
struct Inner {
    kind: RejectionKind,
    challenges: Vec<Challenge>,
    description: Cow<'static, str>,
    scope: Option<Scopes>,
    retry_after: Option<Duration>,
    reason: Cow<'static, str>,
    scheme: Option<Scheme>,
    subject: Option<String>,
    key_id: Option<String>,
}

impl Rejection {
    fn new(
        kind: RejectionKind,
        challenges: Vec<Challenge>,
        description: &'static str,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self(Box::new(Inner {
            kind,
            challenges,
            description: Cow::Borrowed(description),
            scope: None,
            retry_after: None,
            reason: reason.into(),
            scheme: None,
            subject: None,
            key_id: None,
        }))
    }

    /// 400 `invalid_request`: the credential is malformed (bad encoding, duplicated header,
    /// oversized value). `description` is public: say what is wrong with the request's form,
    /// never with the credential's value.
    #[must_use]
    pub fn invalid_request(
        challenges: Vec<Challenge>,
        description: &'static str,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(
            RejectionKind::InvalidRequest,
            challenges,
            description,
            reason,
        )
    }

    /// 401 without an error code: the request carried no credential this endpoint accepts.
    #[must_use]
    pub fn unauthenticated(challenges: Vec<Challenge>) -> Self {
        Self::new(
            RejectionKind::Unauthenticated,
            challenges,
            "Authentication is required",
            "no_credential",
        )
    }

    /// 401 `invalid_token` (RFC 6750): the bearer token is invalid, expired or revoked.
    #[must_use]
    pub fn invalid_token(challenges: Vec<Challenge>, reason: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            RejectionKind::InvalidToken,
            challenges,
            "The access token is invalid or expired",
            reason,
        )
    }

    /// 401: the password, key, signature or session is wrong, expired or revoked.
    #[must_use]
    pub fn invalid_credentials(
        challenges: Vec<Challenge>,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(
            RejectionKind::InvalidCredentials,
            challenges,
            "The credentials are invalid",
            reason,
        )
    }

    /// 403 `insufficient_scope` (RFC 6750 §3.1), naming the scopes the request lacks.
    #[must_use]
    pub fn insufficient_scope(challenges: Vec<Challenge>, missing: Scopes) -> Self {
        let mut rejection = Self::new(
            RejectionKind::InsufficientScope,
            challenges,
            "The request requires higher privileges than provided",
            "insufficient_scope",
        );
        rejection.0.scope = Some(missing);
        rejection
    }

    /// 403: credentials were sent over plain HTTP; the client must use HTTPS.
    #[must_use]
    pub fn insecure_transport() -> Self {
        Self::new(
            RejectionKind::InsecureTransport,
            Vec::new(),
            "Credentials must be sent over HTTPS",
            "insecure_transport",
        )
    }

    /// 413: the body is larger than the most an authenticator buffers.
    #[must_use]
    pub fn payload_too_large() -> Self {
        Self::new(
            RejectionKind::PayloadTooLarge,
            Vec::new(),
            "The request body is too large",
            "body_too_large",
        )
    }

    /// 429 with `Retry-After`: too many failed attempts.
    #[must_use]
    pub fn too_many_requests(retry_after: Duration) -> Self {
        let mut rejection = Self::new(
            RejectionKind::TooManyRequests,
            Vec::new(),
            "Too many failed attempts; retry later",
            "throttled",
        );
        rejection.0.retry_after = Some(retry_after);
        rejection
    }

    /// 503: a store the decision needs is unavailable, so the request is refused (fail
    /// closed). `reason` names the store for the audit log; the client sees only that the
    /// service is unavailable.
    #[must_use]
    pub fn unavailable(reason: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            RejectionKind::Unavailable,
            Vec::new(),
            "The service is temporarily unavailable",
            reason,
        )
    }

    /// Replaces the public description. Keep it free of anything about the credential's
    /// value or which check failed.
    #[must_use]
    pub fn with_description(mut self, description: impl Into<Cow<'static, str>>) -> Self {
        self.0.description = description.into();
        self
    }

    /// Sets the `Retry-After` delay.
    #[must_use]
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.0.retry_after = Some(retry_after);
        self
    }

    /// Records the scheme that refused (for the audit event).
    #[must_use]
    pub fn with_scheme(mut self, scheme: Scheme) -> Self {
        self.0.scheme = Some(scheme);
        self
    }

    /// Records the subject the request claimed (for the audit event only).
    #[must_use]
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.0.subject = Some(subject.into());
        self
    }

    /// Records the public id of the credential (for the audit event only; never the
    /// credential itself).
    #[must_use]
    pub fn with_key_id(mut self, key_id: impl Into<String>) -> Self {
        self.0.key_id = Some(key_id.into());
        self
    }

    /// Replaces the challenges.
    #[must_use]
    pub fn with_challenges(mut self, challenges: Vec<Challenge>) -> Self {
        self.0.challenges = challenges;
        self
    }

    /// The kind of refusal.
    #[must_use]
    pub fn kind(&self) -> RejectionKind {
        self.0.kind
    }

    /// The HTTP status code.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.0.kind.status()
    }

    /// The error code for the response body.
    #[must_use]
    pub fn error_code(&self) -> &'static str {
        self.0.kind.error_code()
    }

    /// The public, human-readable description.
    #[must_use]
    pub fn description(&self) -> &str {
        &self.0.description
    }

    /// The missing scopes, for `insufficient_scope`.
    #[must_use]
    pub fn scope(&self) -> Option<&Scopes> {
        self.0.scope.as_ref()
    }

    /// How long the client should wait, when it should.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        self.0.retry_after
    }

    /// The `Retry-After` header value in whole seconds, rounded up, at least 1.
    #[must_use]
    pub fn retry_after_header(&self) -> Option<String> {
        self.0.retry_after.map(|d| {
            let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
            secs.max(1).to_string()
        })
    }

    /// The audit reason code (never sent to the client).
    #[must_use]
    pub fn reason(&self) -> &str {
        &self.0.reason
    }

    /// The scheme that refused, when known.
    #[must_use]
    pub fn scheme(&self) -> Option<Scheme> {
        self.0.scheme
    }

    /// The subject the request claimed, when known (audit only).
    #[must_use]
    pub fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }

    /// The public id of the credential, when known (audit only).
    #[must_use]
    pub fn key_id(&self) -> Option<&str> {
        self.0.key_id.as_deref()
    }

    /// The challenges, unrendered.
    #[must_use]
    pub fn challenges(&self) -> &[Challenge] {
        &self.0.challenges
    }

    /// The `WWW-Authenticate` header values, one per challenge. Bearer-style challenges carry
    /// the RFC 6750 `error`, `error_description` and (for `insufficient_scope`) `scope`
    /// parameters. Only 400, 401 and 403 `insufficient_scope` responses carry challenges.
    pub fn www_authenticate(&self) -> impl Iterator<Item = String> + '_ {
        let sends = matches!(
            self.0.kind,
            RejectionKind::InvalidRequest
                | RejectionKind::Unauthenticated
                | RejectionKind::InvalidToken
                | RejectionKind::InvalidCredentials
                | RejectionKind::InsufficientScope
        );
        let error = self
            .0
            .kind
            .rfc6750_code()
            .map(|code| (code, self.0.description.as_ref(), self.0.scope.as_ref()));
        self.0
            .challenges
            .iter()
            .filter(move |_| sends)
            .map(move |c| c.render(error))
    }

    /// The JSON response body: `{"error": "...", "error_description": "..."}`, plus `scope`
    /// for `insufficient_scope`. Reveals nothing beyond the public description.
    #[must_use]
    pub fn json_body(&self) -> String {
        let mut out = String::with_capacity(96);
        out.push_str("{\"error\":");
        push_json_string(&mut out, self.error_code());
        out.push_str(",\"error_description\":");
        push_json_string(&mut out, &self.0.description);
        if let Some(scope) = &self.0.scope {
            out.push_str(",\"scope\":");
            push_json_string(&mut out, &scope.to_string());
        }
        out.push('}');
        out
    }
}

fn push_json_string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl fmt::Debug for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejection")
            .field("status", &self.status())
            .field("kind", &self.0.kind)
            .field("reason", &self.0.reason)
            .field("scheme", &self.0.scheme)
            .field("challenges", &self.0.challenges)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status(),
            self.error_code(),
            self.0.reason
        )
    }
}

impl std::error::Error for Rejection {}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic() -> Challenge {
        Challenge::new("Basic")
            .param("realm", "api")
            .param("charset", "UTF-8")
    }

    #[test]
    fn statuses_follow_the_kinds() {
        assert_eq!(Rejection::invalid_request(vec![], "x", "r").status(), 400);
        assert_eq!(Rejection::unauthenticated(vec![]).status(), 401);
        assert_eq!(Rejection::invalid_token(vec![], "r").status(), 401);
        assert_eq!(Rejection::invalid_credentials(vec![], "r").status(), 401);
        assert_eq!(
            Rejection::insufficient_scope(vec![], Scopes::new()).status(),
            403
        );
        assert_eq!(Rejection::insecure_transport().status(), 403);
        assert_eq!(Rejection::payload_too_large().status(), 413);
        assert_eq!(
            Rejection::too_many_requests(Duration::from_secs(3)).status(),
            429
        );
        assert_eq!(Rejection::unavailable("store_down").status(), 503);
    }

    #[test]
    fn basic_challenges_carry_no_error_params() {
        let rejection = Rejection::invalid_credentials(vec![basic()], "wrong_password");
        assert_eq!(
            rejection.www_authenticate().collect::<Vec<_>>(),
            [r#"Basic realm="api", charset="UTF-8""#]
        );
    }

    #[test]
    fn no_credential_means_no_error_code_rfc6750_3_1() {
        let rejection = Rejection::unauthenticated(vec![Challenge::bearer("api"), basic()]);
        assert_eq!(
            rejection.www_authenticate().collect::<Vec<_>>(),
            [
                r#"Bearer realm="api""#,
                r#"Basic realm="api", charset="UTF-8""#
            ]
        );
    }

    #[test]
    fn insufficient_scope_names_the_missing_scope() {
        let rejection = Rejection::insufficient_scope(
            vec![Challenge::bearer("api")],
            "orders:write".parse().unwrap(),
        );
        let header = rejection.www_authenticate().next().unwrap();
        assert!(header.contains(r#"error="insufficient_scope""#), "{header}");
        assert!(header.contains(r#"scope="orders:write""#), "{header}");
        assert!(rejection.json_body().contains(r#""scope":"orders:write""#));
    }

    #[test]
    fn values_cannot_break_the_header() {
        let challenge = Challenge::new("Basic").param("realm", "a\"b\\c\r\nSet-Cookie: x=1\u{e9}");
        assert_eq!(
            challenge.to_string(),
            r#"Basic realm="a\"b\\cSet-Cookie: x=1""#
        );
    }

    #[test]
    fn json_body_is_escaped_and_reveals_only_the_description() {
        let rejection = Rejection::invalid_credentials(vec![], "unknown_user")
            .with_description("say \"no\"\n")
            .with_subject("mallory");
        let body = rejection.json_body();
        assert_eq!(
            body,
            r#"{"error":"invalid_credentials","error_description":"say \"no\"\u000a"}"#
        );
        assert!(!body.contains("unknown_user"));
        assert!(!body.contains("mallory"));
    }

    #[test]
    fn retry_after_rounds_up() {
        let r = Rejection::too_many_requests(Duration::from_millis(1_200));
        assert_eq!(r.retry_after_header().as_deref(), Some("2"));
        let r = Rejection::too_many_requests(Duration::ZERO);
        assert_eq!(r.retry_after_header().as_deref(), Some("1"));
        assert_eq!(r.www_authenticate().count(), 0);
    }
}
