//! The token endpoint as the client calls it, on the `oauth2` crate: client authentication,
//! the grants, the lenient response, retries.

use std::time::{Duration, SystemTime};

use auth_core::{Scopes, Secret, SharedClock};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
};
use oauth2::{
    AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, RequestTokenError,
    StandardRevocableToken, TokenResponse as _,
};

use crate::http::{Backoff, OAuth2Http, TransportError};
use crate::token::{AccessToken, LenientTokenResponse};
use crate::{Error, OAuthError, Result};

const ENDPOINT: &str = "token endpoint";

/// The longest token lifetime believed (ten years); a larger `expires_in` is cut to it.
const MAX_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// How the client authenticates to the token endpoint (RFC 6749 §2.3.1; the names are those
/// of RFC 8414's `token_endpoint_auth_methods_supported`).
///
/// The client secret is never sent in the URL: the article's `axios.post(url, null, { params:
/// { client_id, client_secret } })` puts it in the query string, where logs and proxies keep
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// `client_secret_basic`: HTTP Basic with the form-urlencoded client id and secret
    /// (RFC 6749 §2.3.1). The default, and the one every server must support.
    #[default]
    ClientSecretBasic,
    /// `client_secret_post`: `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// `none`: a public client (a native or browser app that cannot keep a secret); only
    /// `client_id` is sent, and PKCE protects the code.
    None,
}

impl ClientAuthMethod {
    /// The RFC 8414 name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
        }
    }
}

/// An `oauth2` crate client that parses token responses leniently.
type LenientClient = oauth2::Client<
    BasicErrorResponse,
    LenientTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// A token response and when its request was sent (lifetimes count from then).
pub(crate) struct Fetched {
    pub(crate) response: LenientTokenResponse,
    pub(crate) sent_at: SystemTime,
}

impl Fetched {
    /// The access token's lifetime, when the server said (`expires_in`).
    pub(crate) fn lifetime(&self) -> Option<Duration> {
        self.response
            .expires_in()
            .map(|lifetime| lifetime.min(MAX_LIFETIME))
    }

    /// When the access token expires, when the server said.
    pub(crate) fn expires_at(&self) -> Option<SystemTime> {
        self.lifetime().map(|lifetime| self.sent_at + lifetime)
    }

    /// The access token.
    pub(crate) fn access_token(&self) -> Result<AccessToken> {
        let scopes = self
            .response
            .scopes()
            .map(|scopes| Scopes::try_from_tokens(scopes.iter().map(|s| s.as_str())))
            .transpose()
            .map_err(|e| invalid(format!("the scope is not an RFC 6749 scope: {e}")))?;
        Ok(AccessToken::from_parts(
            Secret::from(self.response.access_token().secret().as_str()),
            self.response.token_type_str(),
            self.expires_at(),
            scopes,
        ))
    }
}

fn invalid(message: String) -> Error {
    Error::InvalidResponse {
        endpoint: ENDPOINT,
        message,
    }
}

/// What the client needs to call the token endpoint.
pub(crate) struct TokenEndpoint {
    pub(crate) url: url::Url,
    pub(crate) client_id: String,
    pub(crate) secret: Option<Secret>,
    pub(crate) method: ClientAuthMethod,
    pub(crate) http: reqwest::Client,
    pub(crate) backoff: Backoff,
    /// Lower-case token types accepted besides `bearer`.
    pub(crate) extra_token_types: Vec<String>,
    pub(crate) clock: SharedClock,
}

impl TokenEndpoint {
    /// Checks the client settings.
    pub(crate) fn check(&self) -> Result<()> {
        if self.client_id.is_empty() {
            return Err(Error::Config("the client id must not be empty".into()));
        }
        match (&self.secret, self.method) {
            (Some(secret), _) if secret.is_empty() || secret.expose_str().is_none() => Err(
                Error::Config("the client secret must be non-empty UTF-8 text".into()),
            ),
            (None, ClientAuthMethod::ClientSecretBasic | ClientAuthMethod::ClientSecretPost) => {
                Err(Error::Config(format!(
                    "{} needs a client secret (or choose ClientAuthMethod::None for a public client)",
                    self.method.as_str()
                )))
            }
            (Some(_), ClientAuthMethod::None) => Err(Error::Config(
                "a client secret was given but the authentication method is none".into(),
            )),
            _ => self.backoff.check(),
        }
    }

    /// A fresh `oauth2` client. Built per request so the client secret stays in its
    /// zeroizing [`Secret`] between requests (the `oauth2` crate keeps a plain `String`).
    fn oauth2_client(&self) -> LenientClient {
        let client = oauth2::Client::new(ClientId::new(self.client_id.clone()))
            .set_token_uri(oauth2::TokenUrl::from_url(self.url.clone()));
        match (self.method, &self.secret) {
            (ClientAuthMethod::ClientSecretBasic, Some(secret)) => client
                .set_auth_type(AuthType::BasicAuth)
                .set_client_secret(ClientSecret::new(
                    secret.expose_str().unwrap_or_default().to_owned(),
                )),
            (ClientAuthMethod::ClientSecretPost, Some(secret)) => client
                .set_auth_type(AuthType::RequestBody)
                .set_client_secret(ClientSecret::new(
                    secret.expose_str().unwrap_or_default().to_owned(),
                )),
            _ => client.set_auth_type(AuthType::RequestBody),
        }
    }

    fn accept(&self, sent_at: SystemTime, response: LenientTokenResponse) -> Result<Fetched> {
        let token_type = response.token_type_str();
        if !token_type.eq_ignore_ascii_case("bearer")
            && !self
                .extra_token_types
                .iter()
                .any(|t| t.eq_ignore_ascii_case(token_type))
        {
            return Err(Error::UnsupportedTokenType(
                token_type.chars().take(32).collect(),
            ));
        }
        let token = response.access_token().secret();
        if token.is_empty() || !token.bytes().all(|b| (b'!'..=b'~').contains(&b)) {
            return Err(invalid(
                "the access_token is empty or not visible ASCII".into(),
            ));
        }
        Ok(Fetched { response, sent_at })
    }

    /// The client credentials grant (RFC 6749 §4.4), repeated on transient failures.
    pub(crate) async fn client_credentials(
        &self,
        scopes: &Scopes,
        resources: &[String],
    ) -> Result<Fetched> {
        let mut tried = 1;
        loop {
            let error = match self.client_credentials_once(scopes, resources).await {
                Ok(fetched) => return Ok(fetched),
                Err(error) => error,
            };
            let retryable = error.is_transient();
            if !self
                .backoff
                .retry_after("token request", tried, error.to_string(), retryable)
                .await
            {
                return Err(error);
            }
            tried += 1;
        }
    }

    async fn client_credentials_once(
        &self,
        scopes: &Scopes,
        resources: &[String],
    ) -> Result<Fetched> {
        let client = self.oauth2_client();
        let mut request = client
            .exchange_client_credentials()
            .add_scopes(scopes.iter().map(|s| oauth2::Scope::new(s.to_owned())));
        for resource in resources {
            request = request.add_extra_param("resource", resource.clone());
        }
        let sent_at = self.clock.now();
        let http = OAuth2Http(&self.http);
        let response = request.request_async(&http).await.map_err(map_error)?;
        self.accept(sent_at, response)
    }

    /// The authorization code grant (RFC 6749 §4.1.3) with the PKCE verifier (RFC 7636
    /// §4.5); repeated only when the connection failed (a code is single-use).
    pub(crate) async fn authorization_code(
        &self,
        code: &Secret,
        verifier: &Secret,
        redirect_uri: &str,
    ) -> Result<Fetched> {
        let redirect = oauth2::RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|e| Error::Config(format!("the redirect URI: {e}")))?;
        let mut tried = 1;
        loop {
            let error = match self
                .authorization_code_once(code, verifier, &redirect)
                .await
            {
                Ok(fetched) => return Ok(fetched),
                Err(error) => error,
            };
            let retryable = error.is_connect();
            if !self
                .backoff
                .retry_after("code exchange", tried, error.to_string(), retryable)
                .await
            {
                return Err(error);
            }
            tried += 1;
        }
    }

    async fn authorization_code_once(
        &self,
        code: &Secret,
        verifier: &Secret,
        redirect: &oauth2::RedirectUrl,
    ) -> Result<Fetched> {
        let client = self.oauth2_client();
        let request = client
            .exchange_code(oauth2::AuthorizationCode::new(
                code.expose_str().unwrap_or_default().to_owned(),
            ))
            .set_pkce_verifier(oauth2::PkceCodeVerifier::new(
                verifier.expose_str().unwrap_or_default().to_owned(),
            ))
            .set_redirect_uri(std::borrow::Cow::Borrowed(redirect));
        let sent_at = self.clock.now();
        let http = OAuth2Http(&self.http);
        let response = request.request_async(&http).await.map_err(map_error)?;
        self.accept(sent_at, response)
    }

    /// The refresh token grant (RFC 6749 §6); repeated only when the connection failed (a
    /// rotating refresh token is single-use).
    pub(crate) async fn refresh(&self, refresh_token: &Secret) -> Result<Fetched> {
        let token =
            oauth2::RefreshToken::new(refresh_token.expose_str().unwrap_or_default().to_owned());
        let mut tried = 1;
        loop {
            let error = match self.refresh_once(&token).await {
                Ok(fetched) => return Ok(fetched),
                Err(error) => error,
            };
            let retryable = error.is_connect();
            if !self
                .backoff
                .retry_after("token refresh", tried, error.to_string(), retryable)
                .await
            {
                return Err(error);
            }
            tried += 1;
        }
    }

    async fn refresh_once(&self, token: &oauth2::RefreshToken) -> Result<Fetched> {
        let client = self.oauth2_client();
        let request = client.exchange_refresh_token(token);
        let sent_at = self.clock.now();
        let http = OAuth2Http(&self.http);
        let response = request.request_async(&http).await.map_err(map_error)?;
        self.accept(sent_at, response)
    }
}

fn map_error(error: RequestTokenError<TransportError, BasicErrorResponse>) -> Error {
    match error {
        RequestTokenError::Request(transport) => transport.into_error(ENDPOINT),
        RequestTokenError::ServerResponse(response) => Error::TokenEndpoint(OAuthError::new(
            response.error().as_ref(),
            response.error_description().map(String::as_str),
            response.error_uri().map(String::as_str),
        )),
        RequestTokenError::Parse(error, _body) => {
            // Never the body, nor a value from it: it may hold the token. serde's "missing
            // field" messages name a field only.
            let path = error.path().to_string();
            let inner = error.inner().to_string();
            let what = match inner.split(" at line").next() {
                Some(missing) if missing.starts_with("missing field") => missing.to_owned(),
                _ if error.inner().is_syntax() || error.inner().is_eof() => "not JSON".to_owned(),
                _ => "invalid value".to_owned(),
            };
            invalid(format!(
                "the token response is not usable at `{path}`: {what}"
            ))
        }
        RequestTokenError::Other(message) => invalid(message),
    }
}
