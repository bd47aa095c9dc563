//! JWT access tokens (RFC 9068) through auth-jwt.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use auth_core::Scopes;
use auth_jwt::{VerifiedClaims, Verifier, VerifyError};
use serde_json::Value;

use super::{AccessTokenInfo, Failure, TokenFormat};

/// Verifies RFC 9068 access tokens: auth-jwt checks the signature, `typ` (`at+jwt`), `exp`,
/// `nbf`, `iat`, `iss` and `aud`; here the claims RFC 9068 §2.2 requires besides them
/// (`sub`, `client_id`, `iat`, `jti`), `scope` (§2.2.3) and the absence of `cnf` (a
/// sender-constrained token cannot be accepted as a plain bearer token).
pub(crate) struct JwtAccessTokens {
    pub(crate) verifier: Verifier,
}

impl JwtAccessTokens {
    pub(crate) async fn validate(
        &self,
        token: &str,
    ) -> Result<(AccessTokenInfo, VerifiedClaims), Failure> {
        let (header, registered, claims) =
            self.verifier
                .verify_raw(token)
                .await
                .map_err(|error| match error {
                    VerifyError::Unavailable(_) => Failure::Unavailable(error.reason()),
                    other => Failure::Invalid(other.reason()),
                })?;
        let subject = registered
            .sub
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or(Failure::Invalid("at_missing_sub"))?;
        let client_id = match claims.get("client_id") {
            Some(Value::String(id)) if !id.is_empty() => id.clone(),
            _ => return Err(Failure::Invalid("at_missing_client_id")),
        };
        let issued_at = registered.iat.ok_or(Failure::Invalid("at_missing_iat"))?;
        let token_id = registered
            .jti
            .clone()
            .ok_or(Failure::Invalid("at_missing_jti"))?;
        if claims.contains_key("cnf") {
            return Err(Failure::Invalid("token_sender_constrained"));
        }
        let scopes = match claims.get("scope") {
            None => Scopes::new(),
            Some(Value::String(scope)) => {
                Scopes::parse(scope).map_err(|_| Failure::Invalid("at_invalid_scope"))?
            }
            Some(_) => return Err(Failure::Invalid("at_invalid_scope")),
        };
        let at = |secs: i64| UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0));
        let claims = Arc::new(claims);
        let info = AccessTokenInfo {
            format: TokenFormat::Jwt,
            subject,
            client_id: Some(client_id),
            issuer: registered.iss.clone(),
            audience: registered.aud.clone(),
            scopes,
            expires_at: Some(at(registered.exp)),
            issued_at: Some(at(issued_at)),
            token_id: Some(token_id),
            claims: Arc::clone(&claims),
        };
        Ok((info, VerifiedClaims::new(header, registered, claims)))
    }
}
