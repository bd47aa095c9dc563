//! Token introspection (RFC 7662).

use std::time::SystemTime;

use auth_core::{AuthRequest, unix_seconds};
use auth_jwt::VerifyError;
use serde_json::{Map, Value, json};

use super::TokenService;
use super::audit::Audit;
use super::registry::ClientRecord;
use super::response::{EndpointError, EndpointResponse};
use super::store::TokenHash;

/// What introspection found out about a token.
enum Found {
    /// Active: the response, and the token's id.
    Active(Value, String),
    /// Inactive, with the audit reason (the response is `{"active": false}`).
    Inactive(&'static str),
    /// Not this kind of token.
    Nothing,
}

/// Whether the token looks like a JWT (three dot-separated segments).
pub(crate) fn looks_like_jwt(token: &str) -> bool {
    token.bytes().filter(|b| *b == b'.').count() == 2
}

impl TokenService {
    /// Whether `client` may learn about a token issued to `owner` for `audiences`: its own
    /// tokens, and the tokens of the audiences it serves as a resource server.
    fn may_introspect(&self, client: &ClientRecord, owner: &str, audiences: &[String]) -> bool {
        self.owns(client, owner)
            || audiences
                .iter()
                .any(|a| client.introspection_audiences.contains(a))
    }

    /// The introspection endpoint (RFC 7662): `POST` a form with `token` (and optionally
    /// `token_type_hint`), with client authentication (401 `invalid_client` without).
    ///
    /// An active access token is described (`active`, `scope`, `client_id`, `sub`, `aud`,
    /// `iss`, `exp`, `iat`, `jti`, `token_type: "Bearer"`) to the client it was issued to
    /// and to the clients registered as resource servers of its audience
    /// ([`introspection_for`](super::ClientConfig::introspection_for)); a current refresh
    /// token (`token_type: "refresh_token"`) only to its own client. Anything else —
    /// unknown, malformed, expired, revoked, rotated, or not the caller's business — is
    /// exactly `{"active":false}` (RFC 7662 §2.2); the audit event says which.
    pub async fn introspect(&self, request: &AuthRequest<'_>) -> EndpointResponse {
        let mut audit = Audit::new("introspection");
        match self.introspect_request(request, &mut audit).await {
            Ok((body, reason)) => {
                audit.record(request, Ok(reason));
                EndpointResponse::no_store(200, &body)
            }
            Err(error) => {
                audit.record(request, Err(&error));
                error.to_response(&self.inner.realm)
            }
        }
    }

    async fn introspect_request(
        &self,
        request: &AuthRequest<'_>,
        audit: &mut Audit,
    ) -> Result<(Value, &'static str), EndpointError> {
        let form = self.read_request(request)?;
        let client = self
            .authenticate_client(request, &form, audit, false)
            .await?;
        let token = form.get("token").ok_or_else(|| {
            EndpointError::invalid_request("The token parameter is missing", "missing_token")
        })?;
        let refresh_first = form.get("token_type_hint") == Some("refresh_token");
        let mut found = Found::Nothing;
        if refresh_first {
            found = self.introspect_refresh(&client, token).await?;
        }
        if let Found::Nothing = found {
            found = if looks_like_jwt(token) {
                self.introspect_jwt(&client, token).await?
            } else {
                self.introspect_opaque(&client, token).await?
            };
        }
        if let (Found::Nothing, false) = (&found, refresh_first) {
            found = self.introspect_refresh(&client, token).await?;
        }
        Ok(match found {
            Found::Active(body, id) => {
                audit.key_id = Some(id);
                (body, "token_active")
            }
            Found::Inactive(reason) => (json!({"active": false}), reason),
            Found::Nothing => (json!({"active": false}), "token_unknown"),
        })
    }

    async fn introspect_jwt(
        &self,
        client: &ClientRecord,
        token: &str,
    ) -> Result<Found, EndpointError> {
        let Some(verifier) = &self.inner.verifier else {
            return Ok(Found::Nothing);
        };
        let (_, registered, claims) = match verifier.verify_raw(token).await {
            Ok(verified) => verified,
            Err(VerifyError::Unavailable(_)) => {
                return Err(EndpointError::unavailable("revocation_store_unavailable"));
            }
            Err(error) => return Ok(Found::Inactive(error.reason())),
        };
        let owner = claims
            .get("client_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !self.may_introspect(client, owner, &registered.aud) {
            return Ok(Found::Inactive("introspection_not_allowed"));
        }
        let mut body = Map::new();
        body.insert("active".into(), json!(true));
        for name in [
            "scope",
            "client_id",
            "sub",
            "aud",
            "iss",
            "exp",
            "iat",
            "nbf",
            "jti",
        ] {
            if let Some(value) = claims.get(name) {
                body.insert(name.into(), value.clone());
            }
        }
        body.insert("token_type".into(), json!("Bearer"));
        Ok(Found::Active(
            Value::Object(body),
            registered.jti.unwrap_or_default(),
        ))
    }

    async fn introspect_opaque(
        &self,
        client: &ClientRecord,
        token: &str,
    ) -> Result<Found, EndpointError> {
        let Some(record) = self
            .inner
            .access_tokens
            .find(&TokenHash::of(token))
            .await
            .map_err(|_| EndpointError::unavailable("access_token_store_unavailable"))?
        else {
            return Ok(Found::Nothing);
        };
        if record.revoked {
            return Ok(Found::Inactive("token_revoked"));
        }
        if self.inner.clock.now() >= record.expires_at {
            return Ok(Found::Inactive("token_expired"));
        }
        if !self.may_introspect(
            client,
            &record.client_id,
            std::slice::from_ref(&record.audience),
        ) {
            return Ok(Found::Inactive("introspection_not_allowed"));
        }
        let mut body = json!({
            "active": true,
            "client_id": record.client_id,
            "sub": record.subject,
            "aud": record.audience,
            "iss": self.inner.issuer,
            "exp": unix_seconds(record.expires_at),
            "iat": unix_seconds(record.issued_at),
            "jti": record.token_id,
            "token_type": "Bearer",
        });
        if !record.scopes.is_empty() {
            body["scope"] = json!(record.scopes.to_string());
        }
        Ok(Found::Active(body, record.token_id))
    }

    async fn introspect_refresh(
        &self,
        client: &ClientRecord,
        token: &str,
    ) -> Result<Found, EndpointError> {
        let Some(record) = self
            .inner
            .refresh_tokens
            .find(&TokenHash::of(token))
            .await
            .map_err(|_| EndpointError::unavailable("refresh_token_store_unavailable"))?
        else {
            return Ok(Found::Nothing);
        };
        let now: SystemTime = self.inner.clock.now();
        let id = format!("family:{}", record.family_id);
        Ok(if record.first_party || record.client_id != client.id {
            Found::Inactive("introspection_not_allowed")
        } else if record.revoked {
            Found::Inactive("refresh_token_revoked")
        } else if record.rotated {
            Found::Inactive("refresh_token_rotated")
        } else if now >= record.expires_at {
            Found::Inactive("refresh_token_expired")
        } else {
            let mut body = json!({
                "active": true,
                "client_id": record.client_id,
                "sub": record.subject,
                "iss": self.inner.issuer,
                "exp": unix_seconds(record.expires_at),
                "iat": unix_seconds(record.issued_at),
                "token_type": "refresh_token",
            });
            if !record.scopes.is_empty() {
                body["scope"] = json!(record.scopes.to_string());
            }
            Found::Active(body, id)
        })
    }
}
