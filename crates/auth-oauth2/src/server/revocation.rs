//! Token revocation (RFC 7009).

use std::time::{Duration, UNIX_EPOCH};

use auth_core::AuthRequest;
use auth_jwt::VerifyError;
use serde_json::Value;

use super::TokenService;
use super::audit::Audit;
use super::introspection::looks_like_jwt;
use super::registry::ClientRecord;
use super::response::{EndpointError, EndpointResponse};
use super::store::TokenHash;

impl TokenService {
    /// The revocation endpoint (RFC 7009): `POST` a form with `token` (and optionally
    /// `token_type_hint`), with client authentication (401 `invalid_client` without).
    ///
    /// A client revokes its own tokens: an access token (a JWT's `jti` goes on the
    /// revocation list until it expires; an opaque one is marked revoked), or a refresh
    /// token, which revokes its whole family with the access tokens issued alongside
    /// (RFC 7009 §2.1). Unknown tokens, expired ones and other clients' get the same 200
    /// (RFC 7009 §2.2: the client cannot tell, and need not care); the audit event says
    /// which.
    pub async fn revoke(&self, request: &AuthRequest<'_>) -> EndpointResponse {
        let mut audit = Audit::new("revocation");
        match self.revoke_request(request, &mut audit).await {
            Ok(reason) => {
                audit.record(request, Ok(reason));
                EndpointResponse::empty_no_store()
            }
            Err(error) => {
                audit.record(request, Err(&error));
                error.to_response(&self.inner.realm)
            }
        }
    }

    async fn revoke_request(
        &self,
        request: &AuthRequest<'_>,
        audit: &mut Audit,
    ) -> Result<&'static str, EndpointError> {
        let form = self.read_request(request)?;
        let client = self
            .authenticate_client(request, &form, audit, true)
            .await?;
        let token = form.get("token").ok_or_else(|| {
            EndpointError::invalid_request("The token parameter is missing", "missing_token")
        })?;
        let refresh_first = form.get("token_type_hint") == Some("refresh_token");
        if refresh_first && let Some(reason) = self.revoke_refresh(&client, token, audit).await? {
            return Ok(reason);
        }
        let access = if looks_like_jwt(token) {
            self.revoke_jwt(&client, token, audit).await?
        } else {
            self.revoke_opaque(&client, token, audit).await?
        };
        if let Some(reason) = access {
            return Ok(reason);
        }
        if !refresh_first && let Some(reason) = self.revoke_refresh(&client, token, audit).await? {
            return Ok(reason);
        }
        Ok("token_unknown")
    }

    async fn revoke_jwt(
        &self,
        client: &ClientRecord,
        token: &str,
        audit: &mut Audit,
    ) -> Result<Option<&'static str>, EndpointError> {
        let Some(verifier) = &self.inner.verifier else {
            return Ok(None);
        };
        let (_, registered, claims) = match verifier.verify_raw(token).await {
            Ok(verified) => verified,
            Err(VerifyError::Unavailable(_)) => {
                return Err(EndpointError::unavailable("revocation_store_unavailable"));
            }
            Err(VerifyError::Revoked) => return Ok(Some("token_already_revoked")),
            // Expired or not ours: nothing to revoke.
            Err(_) => return Ok(None),
        };
        audit.key_id.clone_from(&registered.jti);
        let owner = claims
            .get("client_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !self.owns(client, owner) {
            return Ok(Some("not_token_owner"));
        }
        let Some(jti) = &registered.jti else {
            return Ok(None);
        };
        let until = UNIX_EPOCH + Duration::from_secs(u64::try_from(registered.exp).unwrap_or(0));
        self.inner
            .revocations
            .revoke(jti, until)
            .await
            .map_err(|_| EndpointError::unavailable("revocation_store_unavailable"))?;
        Ok(Some("access_token_revoked"))
    }

    async fn revoke_opaque(
        &self,
        client: &ClientRecord,
        token: &str,
        audit: &mut Audit,
    ) -> Result<Option<&'static str>, EndpointError> {
        let hash = TokenHash::of(token);
        let store = &self.inner.access_tokens;
        let unavailable = |_| EndpointError::unavailable("access_token_store_unavailable");
        let Some(record) = store.find(&hash).await.map_err(unavailable)? else {
            return Ok(None);
        };
        audit.key_id = Some(record.token_id.clone());
        if !self.owns(client, &record.client_id) {
            return Ok(Some("not_token_owner"));
        }
        store.revoke(&hash).await.map_err(unavailable)?;
        Ok(Some("access_token_revoked"))
    }

    async fn revoke_refresh(
        &self,
        client: &ClientRecord,
        token: &str,
        audit: &mut Audit,
    ) -> Result<Option<&'static str>, EndpointError> {
        let Some(record) = self
            .inner
            .refresh_tokens
            .find(&TokenHash::of(token))
            .await
            .map_err(|_| EndpointError::unavailable("refresh_token_store_unavailable"))?
        else {
            return Ok(None);
        };
        audit.key_id = Some(format!("family:{}", record.family_id));
        if record.first_party || record.client_id != client.id {
            return Ok(Some("not_token_owner"));
        }
        self.revoke_family(&record.family_id).await?;
        Ok(Some("refresh_token_family_revoked"))
    }
}
