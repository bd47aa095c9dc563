//! HTTP plumbing shared by the client and the resource server: endpoint URL checks, the
//! retry [`Backoff`], and a bounded transport for the `oauth2` crate.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::{Error, Result};

/// The default timeout of one request to an endpoint: 10 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest response body read from an endpoint: 64 KiB.
pub(crate) const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Parses and checks an endpoint URL: `https://`, or `http://` on a loopback host only
/// (tests, local issuers); no user info, no fragment, and no client credentials in the
/// query (RFC 6749 §2.3.1: they belong in the `Authorization` header or the body).
pub(crate) fn endpoint_url(what: &str, url: &str) -> Result<Url> {
    let parsed =
        Url::parse(url).map_err(|e| Error::Config(format!("the {what} URL {url:?}: {e}")))?;
    match parsed.scheme() {
        "https" => {}
        "http" if is_loopback(&parsed) => {}
        "http" => {
            return Err(Error::Config(format!(
                "the {what} URL must be https:// (plain http:// only on loopback): {url}"
            )));
        }
        other => {
            return Err(Error::Config(format!(
                "the {what} URL has scheme {other:?}; it must be https://"
            )));
        }
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::Config(format!(
            "the {what} URL carries user info; configure the client credentials instead"
        )));
    }
    if parsed.fragment().is_some() {
        return Err(Error::Config(format!(
            "the {what} URL must not have a fragment (RFC 6749 §3.1, §3.2)"
        )));
    }
    if parsed
        .query_pairs()
        .any(|(name, _)| name == "client_secret" || name == "client_assertion")
    {
        return Err(Error::Config(format!(
            "the {what} URL carries client credentials in its query string; they end up in \
             logs and proxies. Set the client secret on the builder: it is sent with \
             client_secret_basic (the Authorization header) or client_secret_post (the body), \
             RFC 6749 §2.3.1"
        )));
    }
    Ok(parsed)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// How often, and after how long, a failed request to the token endpoint is repeated.
///
/// Only transient failures are repeated: network errors and 5xx answers, never an OAuth
/// error such as `invalid_client`. Token requests that consume something (an authorization
/// code, a rotating refresh token) are repeated only when the connection could not be made,
/// so the server cannot have seen them.
///
/// The delay before retry *n* (1-based) is `base_delay * 2^(n-1)`, at most `max_delay`,
/// scaled by a random factor between 0.5 and 1 so that many instances do not retry in step.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use auth_oauth2::Backoff;
///
/// let backoff = Backoff::default();
/// assert_eq!(backoff.attempts, 3);
/// assert!(backoff.delay(1) <= Duration::from_millis(200));
/// // Tests: retry at once.
/// let quick = Backoff { base_delay: Duration::ZERO, ..Backoff::default() };
/// assert_eq!(quick.delay(2), Duration::ZERO);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts in all, the first included (default 3; 1 means no retry).
    pub attempts: u32,
    /// The delay before the first retry (default 200 ms); doubles for each further one.
    pub base_delay: Duration,
    /// The longest delay (default 5 s).
    pub max_delay: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl Backoff {
    /// No retry: one attempt.
    #[must_use]
    pub fn none() -> Self {
        Self {
            attempts: 1,
            ..Self::default()
        }
    }

    /// The delay before retry `retry` (1 for the first retry), jitter included.
    #[must_use]
    pub fn delay(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(20);
        let full = self
            .base_delay
            .saturating_mul(1_u32 << exponent)
            .min(self.max_delay);
        if full.is_zero() {
            return full;
        }
        let mut byte = [0_u8; 1];
        let jitter = match getrandom::getrandom(&mut byte) {
            Ok(()) => f64::from(byte[0]) / 255.0,
            Err(_) => 1.0,
        };
        full.mul_f64(0.5 + jitter / 2.0)
    }

    pub(crate) fn check(&self) -> Result<()> {
        if self.attempts == 0 || self.attempts > 10 {
            return Err(Error::Config(
                "backoff attempts must be between 1 and 10".into(),
            ));
        }
        if self.base_delay > self.max_delay {
            return Err(Error::Config(
                "backoff base_delay must not exceed max_delay".into(),
            ));
        }
        Ok(())
    }

    /// After failed attempt number `tried` (1-based) with `error`: whether to try again, as
    /// `retryable` (the caller's judgement of the error) and the attempts left allow; waits
    /// the delay first.
    pub(crate) async fn retry_after(
        &self,
        what: &'static str,
        tried: u32,
        error: String,
        retryable: bool,
    ) -> bool {
        if tried >= self.attempts || !retryable {
            return false;
        }
        let delay = self.delay(tried);
        tracing::warn!(
            target: "auth_oauth2",
            error,
            attempt = tried,
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "{what} failed; retrying"
        );
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        true
    }
}

/// Builds the default HTTP client: a timeout, no redirects (a redirect could carry the
/// request, credentials included, elsewhere; the `oauth2` crate's advice), rustls.
pub(crate) fn default_client(timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::Config(format!("the HTTP client: {e}")))
}

/// What went wrong below the `oauth2` crate: the request, the connection, or a non-200
/// status (handled here, so the status is not lost).
#[derive(Debug)]
pub(crate) enum TransportError {
    /// The request could not be built.
    Build(String),
    /// Connecting, sending or reading failed.
    Network(reqwest::Error),
    /// A non-200 status, with the OAuth error body when there was one.
    Status {
        status: u16,
        error: Option<crate::OAuthError>,
    },
    /// The body is larger than [`MAX_RESPONSE_BYTES`].
    TooLarge,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Build(e) => write!(f, "could not build the request: {e}"),
            TransportError::Network(e) => write!(f, "{e}"),
            TransportError::Status { status, .. } => write!(f, "HTTP {status}"),
            TransportError::TooLarge => {
                write!(f, "the response is larger than {MAX_RESPONSE_BYTES} bytes")
            }
        }
    }
}

impl std::error::Error for TransportError {}

impl TransportError {
    pub(crate) fn into_error(self, endpoint: &'static str) -> Error {
        match self {
            TransportError::Build(message) => Error::InvalidResponse { endpoint, message },
            TransportError::Network(source) => Error::Network {
                endpoint,
                source: Arc::new(source),
            },
            TransportError::Status {
                status,
                error: Some(error),
            } if status < 500 => Error::TokenEndpoint(error),
            TransportError::Status { status, .. } => Error::Status { endpoint, status },
            TransportError::TooLarge => Error::InvalidResponse {
                endpoint,
                message: format!("larger than {MAX_RESPONSE_BYTES} bytes"),
            },
        }
    }
}

/// Reads the body, refusing more than `max` bytes.
pub(crate) async fn read_body(
    response: &mut reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, TransportError> {
    if response
        .content_length()
        .is_some_and(|len| len > max as u64)
    {
        return Err(TransportError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(TransportError::Network)? {
        if body.len() + chunk.len() > max {
            return Err(TransportError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The `oauth2` crate's HTTP client: [`execute`] with a reqwest client, as a named type so
/// that its future is `Send` (a closure's is not provably so).
pub(crate) struct OAuth2Http<'a>(pub(crate) &'a reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for OAuth2Http<'_> {
    type Error = TransportError;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<oauth2::HttpResponse, TransportError>>
                + Send
                + 'c,
        >,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(execute(self.0, request))
    }
}

/// Sends an `oauth2` crate request with `client`, reading at most [`MAX_RESPONSE_BYTES`];
/// a non-200 answer becomes [`TransportError::Status`] with its OAuth error body.
pub(crate) async fn execute(
    client: &reqwest::Client,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, TransportError> {
    let request: reqwest::Request = request
        .try_into()
        .map_err(|e: reqwest::Error| TransportError::Build(e.to_string()))?;
    let mut response = client
        .execute(request)
        .await
        .map_err(TransportError::Network)?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .cloned();
    let body = read_body(&mut response, MAX_RESPONSE_BYTES).await?;
    if status != reqwest::StatusCode::OK {
        return Err(TransportError::Status {
            status: status.as_u16(),
            error: crate::OAuthError::from_json(&body),
        });
    }
    let mut builder = oauth2::http::Response::builder().status(status.as_u16());
    if let Some(content_type) = content_type {
        builder = builder.header(oauth2::http::header::CONTENT_TYPE, content_type.as_bytes());
    }
    builder
        .body(body)
        .map_err(|e| TransportError::Build(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http() {
        assert!(endpoint_url("token endpoint", "https://id.example/token").is_ok());
        assert!(endpoint_url("token endpoint", "http://127.0.0.1:8080/token").is_ok());
        assert!(endpoint_url("token endpoint", "http://[::1]:8080/token").is_ok());
        assert!(endpoint_url("token endpoint", "http://localhost/token").is_ok());
        for bad in [
            "http://id.example/token",
            "http://127.0.0.1.evil.example/token",
            "ftp://id.example/token",
            "https://user:pw@id.example/token",
            "https://id.example/token#x",
            "not a url",
        ] {
            assert!(endpoint_url("token endpoint", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_articles_query_string_credentials_are_refused_with_a_reason() {
        let error = endpoint_url(
            "token endpoint",
            "https://oauth.example.com/token?grant_type=client_credentials&client_id=a&client_secret=b",
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("client_secret_basic"), "{error}");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let backoff = Backoff {
            attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
        };
        let d1 = backoff.delay(1);
        let d2 = backoff.delay(2);
        let d4 = backoff.delay(4);
        assert!((Duration::from_millis(50)..=Duration::from_millis(100)).contains(&d1));
        assert!((Duration::from_millis(100)..=Duration::from_millis(200)).contains(&d2));
        assert!((Duration::from_millis(150)..=Duration::from_millis(300)).contains(&d4));
        assert!(
            Backoff {
                attempts: 0,
                ..backoff
            }
            .check()
            .is_err()
        );
    }
}
