//! The first-party login: tokens for the application's own users, once the application has
//! checked their password itself (auth-actix composes it with auth-basic's user store).
//!
//! This is **not** the OAuth 2.0 password grant, which the token endpoint refuses (RFC 9700
//! §2.4): there, a *third-party* client collects the user's password and trades it at the
//! authorization server. Here the user types the password into the application's own login
//! form or API, exactly where they would for a session cookie, and the application hands
//! back short-lived bearer tokens instead of a cookie. No client ever sees a password that
//! is not its own to see.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use auth_core::{AuthRequest, Principal, Rejection, Scopes, Secret};
use serde::Deserialize;
use serde_json::{Value, json};
use zeroize::Zeroize;

use super::TokenService;
use super::audit::Audit;
use super::request;
use super::response::{EndpointError, EndpointResponse};
use super::token::{Grant, Owner, random_b64};

/// Checks a user's name and password for the first-party login
/// ([`TokenService::first_party_token`]).
///
/// auth-actix implements it over auth-basic's `BasicAuthenticator` (feature
/// `oauth2-server`), so the login has Basic's semantics: argon2id off the reactor, a dummy
/// hash for unknown users, throttling per user and per client, the same refusal for an
/// unknown user and a wrong password, and its own audit event.
///
/// # Examples
///
/// ```
/// use auth_core::{async_trait, AuthRequest, Challenge, Principal, Rejection, Scheme, Secret};
/// use auth_oauth2::PasswordCheck;
///
/// /// One fixed user (a test double: use a real user store).
/// #[derive(Debug)]
/// struct OneUser;
///
/// #[async_trait]
/// impl PasswordCheck for OneUser {
///     async fn check(
///         &self,
///         username: &str,
///         password: &Secret,
///         _request: &AuthRequest<'_>,
///     ) -> Result<Principal, Rejection> {
///         if username == "alice" && password.ct_eq_bytes(b"correct horse battery staple") {
///             Ok(Principal::new("user-1", Scheme::BASIC).with_scopes("orders:read".parse().unwrap()))
///         } else {
///             Err(Rejection::invalid_credentials(vec![], "wrong_password"))
///         }
///     }
/// }
/// ```
#[async_trait]
pub trait PasswordCheck: Send + Sync + fmt::Debug {
    /// Checks `username` and `password` (the login `request` gives the peer for
    /// throttling and the audit event). The principal's subject becomes the tokens' `sub`
    /// and its scopes their `scope`. A refusal is answered as it is (status, JSON body,
    /// `Retry-After`), without its `WWW-Authenticate` challenges.
    async fn check(
        &self,
        username: &str,
        password: &Secret,
        request: &AuthRequest<'_>,
    ) -> Result<Principal, Rejection>;
}

/// The body of `POST /auth/token`: a login or a refresh.
#[derive(Deserialize)]
struct LoginBody {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default, rename = "refreshToken")]
    refresh_token: Option<String>,
}

impl Drop for LoginBody {
    fn drop(&mut self) {
        for value in [&mut self.password, &mut self.refresh_token]
            .into_iter()
            .flatten()
        {
            value.zeroize();
        }
    }
}

const BODY_SHAPE: &str =
    r#"The body must be JSON: {"username": "...", "password": "..."} or {"refreshToken": "..."}"#;

/// The tokens of a first-party login or refresh: an access token, its lifetime, a refresh
/// token and the scopes granted. `Debug` redacts the tokens.
pub struct UserTokens {
    access_token: Secret,
    access_token_id: String,
    expires_in: Duration,
    refresh_token: Secret,
    scopes: Scopes,
}

impl UserTokens {
    /// The access token (a bearer token for the configured audience).
    #[must_use]
    pub fn access_token(&self) -> &Secret {
        &self.access_token
    }

    /// The access token's id (`jti`): safe to log.
    #[must_use]
    pub fn access_token_id(&self) -> &str {
        &self.access_token_id
    }

    /// How long the access token lives.
    #[must_use]
    pub fn expires_in(&self) -> Duration {
        self.expires_in
    }

    /// The refresh token (opaque, single use: each refresh returns a new one).
    #[must_use]
    pub fn refresh_token(&self) -> &Secret {
        &self.refresh_token
    }

    /// The scopes granted.
    #[must_use]
    pub fn scopes(&self) -> &Scopes {
        &self.scopes
    }

    /// The JSON body the article's client reads: `{"accessToken", "tokenType": "Bearer",
    /// "expiresIn", "refreshToken", "scope"}`.
    #[must_use]
    pub fn to_json(&self) -> Value {
        json!({
            "accessToken": self.access_token.expose_str().unwrap_or_default(),
            "tokenType": "Bearer",
            "expiresIn": self.expires_in.as_secs(),
            "refreshToken": self.refresh_token.expose_str().unwrap_or_default(),
            "scope": self.scopes.to_string(),
        })
    }

    /// [`to_json`](Self::to_json) as a 200 response with `Cache-Control: no-store`.
    #[must_use]
    pub fn to_response(&self) -> EndpointResponse {
        EndpointResponse::no_store(200, &self.to_json())
    }
}

impl fmt::Debug for UserTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserTokens")
            .field("access_token", &"[redacted]")
            .field("access_token_id", &self.access_token_id)
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &"[redacted]")
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl TokenService {
    /// The first-party login endpoint, framework-free: the article's Bearer flow.
    ///
    /// - `POST` with `Content-Type: application/json` and `{"username", "password"}`:
    ///   `passwords` checks them; on success, [`issue_to_user`](Self::issue_to_user) answers
    ///   `{"accessToken", "tokenType": "Bearer", "expiresIn", "refreshToken", "scope"}`. A
    ///   refusal (401 for an unknown user or a wrong password alike, 429, 503) is answered
    ///   with its status and JSON body.
    /// - `{"refreshToken"}`: [`refresh_user_tokens`](Self::refresh_user_tokens) — rotation
    ///   with reuse detection; 400 `invalid_grant` when refused.
    /// - Refused first: credentials in the URL, plain HTTP (as the token endpoint), another
    ///   method (405) or content type, a body that is not one of the two shapes.
    ///
    /// This is the application's own login, not the OAuth 2.0 password grant: see
    /// [`PasswordCheck`] and the crate documentation.
    pub async fn first_party_token(
        &self,
        request: &AuthRequest<'_>,
        passwords: &dyn PasswordCheck,
    ) -> EndpointResponse {
        let body = match self.first_party_body(request) {
            Ok(body) => body,
            Err(error) => {
                Audit::new("first_party").record(request, Err(&error));
                return error.to_response(&self.inner.realm);
            }
        };
        match (&body.username, &body.password, &body.refresh_token) {
            (Some(username), Some(password), None) => {
                let password = Secret::from(password.as_str());
                match passwords.check(username, &password, request).await {
                    Ok(principal) => match self
                        .issue_to_user(principal.subject(), principal.scopes(), request)
                        .await
                    {
                        Ok(tokens) => tokens.to_response(),
                        Err(error) => error.to_response(&self.inner.realm),
                    },
                    Err(rejection) => EndpointResponse::rejection(&rejection),
                }
            }
            (None, None, Some(refresh_token)) => {
                match self.refresh_user_tokens(refresh_token, request).await {
                    Ok(tokens) => tokens.to_response(),
                    Err(error) => error.to_response(&self.inner.realm),
                }
            }
            _ => {
                let error = EndpointError::invalid_request(BODY_SHAPE, "malformed_login_body");
                Audit::new("first_party").record(request, Err(&error));
                error.to_response(&self.inner.realm)
            }
        }
    }

    fn first_party_body(&self, request: &AuthRequest<'_>) -> Result<LoginBody, EndpointError> {
        self.first_party()?;
        request::check_query(request)?;
        self.check_transport(request)?;
        if !request.method().eq_ignore_ascii_case("POST") {
            return Err(EndpointError::method_not_allowed(BODY_SHAPE));
        }
        if !request::has_media_type(request, "application/json") {
            return Err(EndpointError::invalid_request(BODY_SHAPE, "not_json"));
        }
        let body: LoginBody = serde_json::from_slice(request.body().unwrap_or_default())
            .map_err(|_| EndpointError::invalid_request(BODY_SHAPE, "malformed_login_body"))?;
        let empty = |v: &Option<String>| v.as_deref().is_some_and(str::is_empty);
        if empty(&body.username) || empty(&body.password) || empty(&body.refresh_token) {
            return Err(EndpointError::invalid_request(
                BODY_SHAPE,
                "empty_login_field",
            ));
        }
        Ok(body)
    }

    fn first_party(&self) -> Result<(&str, &str), EndpointError> {
        self.inner
            .first_party
            .as_ref()
            .map(|fp| (fp.client_id.as_str(), fp.audience.as_str()))
            .ok_or_else(|| EndpointError::server_error("first_party_login_not_configured"))
    }

    /// Issues tokens to user `user_id` with `scopes`, after the application has
    /// authenticated the user itself (the first-party login, see the module docs): an
    /// access token for the first-party audience (`sub` the user, `client_id` the
    /// first-party client id) and the first refresh token of a new family. `request` is the
    /// login request, for the audit event.
    ///
    /// # Errors
    ///
    /// 500 `server_error` without [`first_party_login`](super::TokenServiceBuilder::first_party_login)
    /// or when signing fails; 503 when a store is down.
    pub async fn issue_to_user(
        &self,
        user_id: &str,
        scopes: &Scopes,
        request: &AuthRequest<'_>,
    ) -> Result<UserTokens, EndpointError> {
        let mut audit = Audit::new("first_party");
        audit.grant = Some("login");
        audit.subject = Some(user_id.to_owned());
        let result = async {
            let (client_id, audience) = self.first_party()?;
            let family = random_b64(16)?;
            let access = self
                .issue_access(client_id, user_id, scopes, audience, Some(&family))
                .await?;
            audit.key_id = Some(access.id.clone());
            let grant = Grant {
                client_id,
                subject: user_id,
                family_scopes: scopes,
                audience,
                first_party: true,
            };
            let family_end = self.inner.clock.now() + self.inner.family_lifetime;
            let refresh = self
                .issue_refresh(&grant, &family, &access, family_end)
                .await?;
            Ok(UserTokens {
                access_token: Secret::from(access.token),
                access_token_id: access.id,
                expires_in: access.lifetime,
                refresh_token: Secret::from(refresh),
                scopes: scopes.clone(),
            })
        }
        .await;
        audit.record(request, result.as_ref().map(|_| "token_issued"));
        result
    }

    /// Exchanges a first-party refresh token for new tokens (rotation, as at the token
    /// endpoint: a rotated token presented again revokes the family). Only refresh tokens
    /// of the first-party login are accepted here, and those only here.
    ///
    /// # Errors
    ///
    /// 400 `invalid_grant` for a refresh token that is unknown, expired, revoked, reused or
    /// not a first-party one; 500/503 as [`issue_to_user`](Self::issue_to_user).
    pub async fn refresh_user_tokens(
        &self,
        refresh_token: &str,
        request: &AuthRequest<'_>,
    ) -> Result<UserTokens, EndpointError> {
        let mut audit = Audit::new("first_party");
        audit.grant = Some("refresh_token");
        let result = async {
            let (client_id, _) = self.first_party()?;
            let rotated = self
                .rotate(
                    refresh_token,
                    Owner::FirstParty(client_id),
                    None,
                    None,
                    &mut audit,
                )
                .await?;
            Ok(UserTokens {
                access_token: Secret::from(rotated.access.token),
                access_token_id: rotated.access.id,
                expires_in: rotated.access.lifetime,
                refresh_token: Secret::from(rotated.refresh),
                scopes: rotated.scopes,
            })
        }
        .await;
        audit.record(request, result.as_ref().map(|_| "token_issued"));
        result
    }
}
