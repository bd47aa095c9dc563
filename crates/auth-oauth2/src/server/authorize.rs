//! The authorization endpoint (RFC 6749 §4.1.1, RFC 9700): `response_type=code` with
//! PKCE S256 (RFC 7636), exact redirect URI matching, `state` and `iss` (RFC 9207) in the
//! response, login and consent left to the application through [`AuthorizeOutcome`] and a
//! [`ConsentStore`].

use std::collections::HashMap;
use std::fmt;
use std::sync::{PoisonError, RwLock};

use async_trait::async_trait;
use auth_core::{AuthRequest, Scopes};

use super::TokenService;
use super::audit::Audit;
use super::code::AuthorizationCodeRecord;
use super::registry::{ClientRecord, GrantType, is_loopback_literal};
use super::response::EndpointError;
use super::store::{StoreError, TokenHash};
use super::token::random_b64;
use crate::ErrorCode;

/// The user the application's login session identifies (auth-session's `user()`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthenticatedUser {
    /// The user's stable id: the tokens' `sub`.
    pub subject: String,
}

impl AuthenticatedUser {
    /// The user `subject`.
    #[must_use]
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
        }
    }
}

/// Remembered consent: which scopes a user has granted a client. Implement it for a
/// database; memory: [`MemoryConsentStore`].
#[async_trait]
pub trait ConsentStore: Send + Sync + fmt::Debug {
    /// The scopes `subject` has granted `client_id` and asked to be remembered, if any.
    async fn granted(&self, subject: &str, client_id: &str) -> Result<Option<Scopes>, StoreError>;
    /// Remembers that `subject` granted `scopes` to `client_id` (adding to earlier grants).
    async fn remember(
        &self,
        subject: &str,
        client_id: &str,
        scopes: &Scopes,
    ) -> Result<(), StoreError>;
}

/// Remembered consents in memory.
#[derive(Debug, Default)]
pub struct MemoryConsentStore {
    grants: RwLock<HashMap<(String, String), Scopes>>,
}

impl MemoryConsentStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets what `subject` granted `client_id`; `false` when nothing was remembered.
    pub fn revoke(&self, subject: &str, client_id: &str) -> bool {
        self.grants
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(subject.to_owned(), client_id.to_owned()))
            .is_some()
    }
}

#[async_trait]
impl ConsentStore for MemoryConsentStore {
    async fn granted(&self, subject: &str, client_id: &str) -> Result<Option<Scopes>, StoreError> {
        Ok(self
            .grants
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(subject.to_owned(), client_id.to_owned()))
            .cloned())
    }

    async fn remember(
        &self,
        subject: &str,
        client_id: &str,
        scopes: &Scopes,
    ) -> Result<(), StoreError> {
        let mut grants = self.grants.write().unwrap_or_else(PoisonError::into_inner);
        let entry = grants
            .entry((subject.to_owned(), client_id.to_owned()))
            .or_default();
        for scope in scopes.iter() {
            entry.insert(scope).map_err(|e| StoreError(e.to_string()))?;
        }
        Ok(())
    }
}

/// What the consent page shows and posts back.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsentPrompt {
    /// The client asking.
    pub client_id: String,
    /// The scopes it asks for.
    pub scopes: Scopes,
    /// The user asked.
    pub subject: String,
    /// The authorization request's query string: post it back (a hidden field) with the
    /// decision, and hand it to [`TokenService::decide`] — the request is checked again.
    pub request_query: String,
}

/// An error shown to the user, never redirected: the client or the redirect URI cannot be
/// trusted (RFC 6749 §4.1.2.1), or the request is not over TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeError {
    description: &'static str,
    reason: &'static str,
    status: u16,
}

impl AuthorizeError {
    fn new(description: &'static str, reason: &'static str) -> Self {
        Self {
            description,
            reason,
            status: 400,
        }
    }

    /// What to show the user (plain text: HTML-escape it).
    #[must_use]
    pub fn description(&self) -> &str {
        self.description
    }

    /// The audit reason (for logs and tests).
    #[must_use]
    pub fn reason(&self) -> &str {
        self.reason
    }

    /// The HTTP status to answer with (400, or 503 when a store is down).
    #[must_use]
    pub fn status(&self) -> u16 {
        self.status
    }
}

impl fmt::Display for AuthorizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description)
    }
}

/// What the authorization endpoint decided; the adapter turns it into a response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthorizeOutcome {
    /// No user is logged in: send the browser to the login page, which comes back to
    /// `return_to` (a path and query on this server, never an absolute URL).
    Login {
        /// Where to come back to after the login.
        return_to: String,
    },
    /// Ask the user (a page with a CSRF-protected form posting to the authorization
    /// endpoint, see [`TokenService::decide`]).
    Consent(ConsentPrompt),
    /// Approved: redirect (303) to the client with `code`, `state` and `iss`.
    Redirect {
        /// The client's redirect URI with the response parameters.
        location: String,
    },
    /// Refused, but the redirect URI is the client's: redirect (303) with `error`,
    /// `state` and `iss` (RFC 6749 §4.1.2.1).
    RedirectError {
        /// The client's redirect URI with the error parameters.
        location: String,
        /// The error sent.
        error: ErrorCode,
    },
    /// Refused, and it is unsafe to redirect: show the error to the user.
    ShowError(AuthorizeError),
}

impl AuthorizeOutcome {
    /// The `Location` of a redirect, if it is one.
    #[must_use]
    pub fn location(&self) -> Option<&str> {
        match self {
            Self::Redirect { location } | Self::RedirectError { location, .. } => Some(location),
            _ => None,
        }
    }
}

/// A checked authorization request.
struct Checked {
    client: ClientRecord,
    redirect_uri: String,
    state: Option<String>,
    scopes: Scopes,
    challenge: String,
    nonce: Option<String>,
    prompt: Option<String>,
    query: String,
}

/// Whether `presented` is one of `registered`: the same string, or — for an `http://`
/// redirect on a loopback IP literal — the same but for the port (RFC 8252 §7.3). No
/// normalisation: `presented` must already be in the normal form it is compared in.
#[must_use]
pub fn redirect_uri_matches(registered: &[String], presented: &str) -> bool {
    if registered.iter().any(|r| r == presented) {
        return true;
    }
    let Ok(mut url) = url::Url::parse(presented) else {
        return false;
    };
    if url.as_str() != presented || url.scheme() != "http" || !is_loopback_literal(&url) {
        return false;
    }
    registered.iter().any(|r| {
        url::Url::parse(r).is_ok_and(|reg| {
            reg.scheme() == "http"
                && is_loopback_literal(&reg)
                && url.set_port(reg.port()).is_ok()
                && url.as_str() == r
        })
    })
}

/// A PKCE S256 challenge: 43 base64url characters (a SHA-256).
fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn redirect_with(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    match url::Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut pairs = url.query_pairs_mut();
                for (name, value) in params {
                    pairs.append_pair(name, value);
                }
            }
            url.into()
        }
        Err(_) => redirect_uri.to_owned(),
    }
}

impl TokenService {
    /// The authorization endpoint (`GET /authorize`, RFC 6749 §4.1.1) for the user the
    /// application's login session identifies (`None`: nobody logged in).
    ///
    /// Checked first, answered with [`AuthorizeOutcome::ShowError`] (never redirected): TLS,
    /// `client_id` (registered, enabled, allowed the `authorization_code` grant),
    /// `redirect_uri` (required, one of the client's exactly; a loopback `http://` one may
    /// differ in the port only), no repeated `client_id` or `redirect_uri`. Then, redirected
    /// as errors with `state` and `iss`: `response_type` other than `code`
    /// (`unsupported_response_type`), a missing or malformed `code_challenge` or a
    /// `code_challenge_method` other than `S256` (`invalid_request`: `plain` is refused), a
    /// repeated parameter, a scope the client may not have (`invalid_scope`). Then
    /// [`Login`](AuthorizeOutcome::Login) without a user (`login_required` with
    /// `prompt=none`), [`Consent`](AuthorizeOutcome::Consent) unless the user's remembered
    /// consent covers the scopes (`prompt=consent` asks anyway), else a code.
    pub async fn authorize(
        &self,
        request: &AuthRequest<'_>,
        user: Option<&AuthenticatedUser>,
        consents: &dyn ConsentStore,
    ) -> AuthorizeOutcome {
        let mut audit = Audit::new("authorization");
        let checked = match self.check_authorization(request, &mut audit).await {
            Ok(checked) => checked,
            Err(outcome) => return self.audited(request, &audit, outcome),
        };
        let Some(user) = user else {
            let outcome = if checked.prompt.as_deref() == Some("none") {
                self.redirect_error(&checked, ErrorCode::Other("login_required".into()))
            } else {
                AuthorizeOutcome::Login {
                    return_to: format!("{}?{}", request.path(), checked.query),
                }
            };
            return self.audited(request, &audit, outcome);
        };
        let remembered = match consents.granted(&user.subject, &checked.client.id).await {
            Ok(granted) => granted,
            Err(_) => {
                return self.audited(request, &audit, unavailable("consent_store_unavailable"));
            }
        };
        let covered = remembered.is_some_and(|g| g.contains_all(&checked.scopes));
        let outcome = match checked.prompt.as_deref() {
            Some("none") if !covered => {
                self.redirect_error(&checked, ErrorCode::Other("consent_required".into()))
            }
            Some("consent") => consent_prompt(checked, user),
            _ if covered => self.issue_code(&checked, user, &mut audit).await,
            _ => consent_prompt(checked, user),
        };
        self.audited(request, &audit, outcome)
    }

    /// The user's answer to the consent page: `request` carries the authorization request
    /// ([`ConsentPrompt::request_query`] as its query), checked again from the start.
    /// Approved: a code (and, with `remember`, the consent is remembered); denied:
    /// `access_denied`.
    ///
    /// # Security
    ///
    /// The adapter must check the form's CSRF token (bound to the user's session) first:
    /// otherwise another site could approve on the user's behalf.
    pub async fn decide(
        &self,
        request: &AuthRequest<'_>,
        user: &AuthenticatedUser,
        approved: bool,
        remember: bool,
        consents: &dyn ConsentStore,
    ) -> AuthorizeOutcome {
        let mut audit = Audit::new("authorization");
        let checked = match self.check_authorization(request, &mut audit).await {
            Ok(checked) => checked,
            Err(outcome) => return self.audited(request, &audit, outcome),
        };
        let outcome = if !approved {
            self.redirect_error(&checked, ErrorCode::AccessDenied)
        } else if remember
            && consents
                .remember(&user.subject, &checked.client.id, &checked.scopes)
                .await
                .is_err()
        {
            unavailable("consent_store_unavailable")
        } else {
            self.issue_code(&checked, user, &mut audit).await
        };
        self.audited(request, &audit, outcome)
    }

    fn audited(
        &self,
        request: &AuthRequest<'_>,
        audit: &Audit,
        outcome: AuthorizeOutcome,
    ) -> AuthorizeOutcome {
        match &outcome {
            AuthorizeOutcome::Redirect { .. } => audit.record(request, Ok("code_issued")),
            AuthorizeOutcome::Login { .. } => audit.record(request, Ok("login_required")),
            AuthorizeOutcome::Consent(_) => audit.record(request, Ok("consent_required")),
            AuthorizeOutcome::RedirectError { error, .. } => {
                let error = EndpointError::invalid_request("", "authorization_refused")
                    .with_code(error.clone());
                audit.record(request, Err(&error));
            }
            AuthorizeOutcome::ShowError(shown) => {
                let error = EndpointError::invalid_request("", shown.reason);
                audit.record(request, Err(&error));
            }
        }
        outcome
    }

    fn redirect_error(&self, checked: &Checked, error: ErrorCode) -> AuthorizeOutcome {
        redirect_error_to(
            &checked.redirect_uri,
            checked.state.as_deref(),
            &self.inner.issuer,
            error,
            None,
        )
    }

    async fn check_authorization(
        &self,
        request: &AuthRequest<'_>,
        audit: &mut Audit,
    ) -> Result<Checked, AuthorizeOutcome> {
        let show = |description, reason| {
            AuthorizeOutcome::ShowError(AuthorizeError::new(description, reason))
        };
        if self.check_transport(request).is_err() {
            return Err(show(
                "The authorization endpoint must be used over HTTPS",
                "insecure_transport",
            ));
        }
        let query = request.query().unwrap_or_default();
        let mut params: HashMap<String, String> = HashMap::new();
        let mut repeated: Option<String> = None;
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            if value.is_empty() {
                continue;
            }
            if params.contains_key(name.as_ref()) {
                repeated.get_or_insert_with(|| name.clone().into_owned());
            }
            params.insert(name.into_owned(), value.into_owned());
        }
        if matches!(repeated.as_deref(), Some("client_id" | "redirect_uri")) {
            return Err(show(
                "The client_id or redirect_uri parameter is repeated",
                "repeated_parameter",
            ));
        }
        let Some(client_id) = params.get("client_id") else {
            return Err(show(
                "The client_id parameter is missing",
                "missing_client_id",
            ));
        };
        audit.subject = Some(client_id.clone());
        let client = match self.inner.clients.find(client_id).await {
            Ok(Some(client)) if !client.disabled => client,
            Ok(_) => return Err(show("Unknown client", "unknown_client")),
            Err(_) => return Err(unavailable("client_registry_unavailable")),
        };
        let Some(redirect_uri) = params.get("redirect_uri") else {
            return Err(show(
                "The redirect_uri parameter is missing",
                "missing_redirect_uri",
            ));
        };
        if !redirect_uri_matches(&client.redirect_uris, redirect_uri) {
            return Err(show(
                "The redirect_uri is not one registered for this client",
                "redirect_uri_mismatch",
            ));
        }
        let redirect_uri = redirect_uri.clone();
        let state = params.get("state").cloned();
        let refuse = |error: ErrorCode, description: &str| {
            redirect_error_to(
                &redirect_uri,
                state.as_deref(),
                &self.inner.issuer,
                error,
                Some(description),
            )
        };
        if !client.grants.contains(&GrantType::AuthorizationCode) {
            return Err(refuse(
                ErrorCode::UnauthorizedClient,
                "This client may not use the authorization code grant",
            ));
        }
        if let Some(name) = repeated {
            audit.key_id = Some(name);
            return Err(refuse(
                ErrorCode::InvalidRequest,
                "A parameter is repeated (RFC 6749 §3.1)",
            ));
        }
        if params.get("response_type").map(String::as_str) != Some("code") {
            return Err(refuse(
                ErrorCode::UnsupportedResponseType,
                "Only response_type=code is supported",
            ));
        }
        match params.get("code_challenge_method").map(String::as_str) {
            Some("S256") => {}
            Some(_) => {
                return Err(refuse(
                    ErrorCode::InvalidRequest,
                    "code_challenge_method must be S256 (plain is refused, RFC 9700 §2.1.1)",
                ));
            }
            None => {
                return Err(refuse(
                    ErrorCode::InvalidRequest,
                    "PKCE is required: send code_challenge and code_challenge_method=S256",
                ));
            }
        }
        let challenge = match params.get("code_challenge") {
            Some(challenge) if is_s256_challenge(challenge) => challenge.clone(),
            _ => {
                return Err(refuse(
                    ErrorCode::InvalidRequest,
                    "code_challenge must be 43 base64url characters (RFC 7636 §4.2)",
                ));
            }
        };
        let scopes = match params.get("scope").map(|s| Scopes::parse(s)) {
            None => client.default_scopes.clone(),
            Some(Ok(scopes)) if client.scopes.contains_all(&scopes) => scopes,
            Some(_) => {
                return Err(refuse(
                    ErrorCode::InvalidScope,
                    "This client may not ask for this scope",
                ));
            }
        };
        if params.get("nonce").is_some_and(|n| n.len() > 512) {
            return Err(refuse(
                ErrorCode::InvalidRequest,
                "The nonce is longer than 512 characters",
            ));
        }
        Ok(Checked {
            client,
            redirect_uri,
            state,
            scopes,
            challenge,
            nonce: params.get("nonce").cloned(),
            prompt: params.get("prompt").cloned(),
            query: query.to_owned(),
        })
    }

    async fn issue_code(
        &self,
        checked: &Checked,
        user: &AuthenticatedUser,
        audit: &mut Audit,
    ) -> AuthorizeOutcome {
        let (Ok(code), Ok(family_id)) = (random_b64(32), random_b64(16)) else {
            return unavailable("no_randomness");
        };
        let Some(audience) = checked.client.audiences.first() else {
            return self.redirect_error(checked, ErrorCode::ServerError);
        };
        let now = self.inner.clock.now();
        let record = AuthorizationCodeRecord {
            hash: TokenHash::of(&code),
            client_id: checked.client.id.clone(),
            redirect_uri: checked.redirect_uri.clone(),
            code_challenge: Some(checked.challenge.clone()),
            subject: user.subject.clone(),
            scopes: checked.scopes.clone(),
            audience: audience.clone(),
            family_id: family_id.clone(),
            nonce: checked.nonce.clone(),
            issued_at: now,
            expires_at: now + self.inner.code_ttl,
            access_token_id: None,
            access_expires_at: None,
        };
        if self.inner.codes.insert(record).await.is_err() {
            return self.redirect_error(checked, ErrorCode::TemporarilyUnavailable);
        }
        audit.key_id = Some(format!("family:{family_id}"));
        let mut params = vec![("code", code.as_str())];
        if let Some(state) = &checked.state {
            params.push(("state", state));
        }
        params.push(("iss", &self.inner.issuer));
        AuthorizeOutcome::Redirect {
            location: redirect_with(&checked.redirect_uri, &params),
        }
    }
}

fn consent_prompt(checked: Checked, user: &AuthenticatedUser) -> AuthorizeOutcome {
    AuthorizeOutcome::Consent(ConsentPrompt {
        client_id: checked.client.id,
        scopes: checked.scopes,
        subject: user.subject.clone(),
        request_query: checked.query,
    })
}

fn unavailable(reason: &'static str) -> AuthorizeOutcome {
    AuthorizeOutcome::ShowError(AuthorizeError {
        description: "The service is temporarily unavailable; try again later",
        reason,
        status: 503,
    })
}

fn redirect_error_to(
    redirect_uri: &str,
    state: Option<&str>,
    issuer: &str,
    error: ErrorCode,
    description: Option<&str>,
) -> AuthorizeOutcome {
    let mut params = vec![("error", error.as_str())];
    if let Some(description) = description {
        params.push(("error_description", description));
    }
    if let Some(state) = state {
        params.push(("state", state));
    }
    params.push(("iss", issuer));
    let location = redirect_with(redirect_uri, &params);
    AuthorizeOutcome::RedirectError { location, error }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_match_exactly_or_by_loopback_port() {
        let registered = vec![
            "https://app.example/cb".to_owned(),
            "http://127.0.0.1:8080/callback".to_owned(),
        ];
        assert!(redirect_uri_matches(&registered, "https://app.example/cb"));
        assert!(redirect_uri_matches(
            &registered,
            "http://127.0.0.1:51234/callback"
        ));
        assert!(redirect_uri_matches(
            &registered,
            "http://127.0.0.1/callback"
        ));
        for refused in [
            "https://app.example/cb/",
            "https://APP.example/cb",
            "https://app.example/cb?x=1",
            "https://app.example/cb/../x",
            "https://user@app.example/cb",
            "https://app.example:8443/cb",
            "http://app.example/cb",
            "http://127.0.0.1:51234/callback/",
            "http://127.0.0.2:8080/callback",
            "http://localhost:8080/callback",
            "https://127.0.0.1:8080/callback",
        ] {
            assert!(!redirect_uri_matches(&registered, refused), "{refused}");
        }
    }

    #[test]
    fn challenges_are_43_base64url_characters() {
        assert!(is_s256_challenge(&"a".repeat(43)));
        assert!(!is_s256_challenge(&"a".repeat(42)));
        assert!(!is_s256_challenge(&"a".repeat(44)));
        assert!(!is_s256_challenge(&format!("{}=", "a".repeat(42))));
    }
}
