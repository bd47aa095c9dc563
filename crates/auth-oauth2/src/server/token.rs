//! The token endpoint (RFC 6749 §3.2): the `client_credentials` (§4.4) and `refresh_token`
//! (§6) grants, and how access and refresh tokens are made.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_core::{AuthRequest, Scopes};
use base64::Engine as _;
use serde_json::{Value, json};

use super::audit::Audit;
use super::code::CodeTake;
use super::registry::{ClientRecord, GrantType};
use super::request::Form;
use super::response::{EndpointError, EndpointResponse};
use super::store::{AccessTokenRecord, RefreshTokenRecord, TokenHash};
use super::{AudienceFormat, TokenService};

/// An access token just issued.
pub(crate) struct IssuedAccess {
    pub(crate) token: String,
    /// Its `jti` (JWT) or public id (opaque).
    pub(crate) id: String,
    pub(crate) expires_at: SystemTime,
    pub(crate) lifetime: Duration,
}

/// What the refresh token of a new or rotated family carries.
pub(crate) struct Grant<'a> {
    pub(crate) client_id: &'a str,
    pub(crate) subject: &'a str,
    /// What the family was granted (a refresh may narrow the access token's scopes, never
    /// the family's).
    pub(crate) family_scopes: &'a Scopes,
    pub(crate) audience: &'a str,
    pub(crate) first_party: bool,
}

/// Who may exchange a refresh token.
pub(crate) enum Owner<'a> {
    Client(&'a ClientRecord),
    FirstParty(&'a str),
}

/// The outcome of a rotation.
pub(crate) struct Rotated {
    pub(crate) access: IssuedAccess,
    pub(crate) refresh: String,
    pub(crate) scopes: Scopes,
}

/// `bytes` random bytes, base64url without padding.
pub(crate) fn random_b64(bytes: usize) -> Result<String, EndpointError> {
    let mut buf = zeroize::Zeroizing::new(vec![0_u8; bytes]);
    getrandom::getrandom(&mut buf).map_err(|_| EndpointError::server_error("no_randomness"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&*buf))
}

/// The `scope` parameter, if sent.
pub(crate) fn requested_scopes(form: &Form) -> Result<Option<Scopes>, EndpointError> {
    form.get("scope")
        .map(|scope| {
            Scopes::parse(scope).map_err(|_| {
                EndpointError::invalid_scope(
                    "The scope is malformed (RFC 6749 §3.3)",
                    "malformed_scope",
                )
            })
        })
        .transpose()
}

fn unavailable<E>(reason: &'static str) -> impl FnOnce(E) -> EndpointError {
    move |_| EndpointError::unavailable(reason)
}

impl TokenService {
    /// The token endpoint: `POST` with an `application/x-www-form-urlencoded` body and
    /// client authentication (RFC 6749 §3.2, §2.3.1).
    ///
    /// - `grant_type=client_credentials` (§4.4): `scope` must be among the client's scopes
    ///   (none asked: its default, least-privilege set); one optional `resource` (RFC 8707)
    ///   among its audiences (none: its first). No refresh token unless the client was
    ///   registered with [`refresh_tokens`](super::ClientConfig::refresh_tokens).
    /// - `grant_type=refresh_token` (§6): the refresh token must be the client's, current
    ///   (neither rotated nor revoked) and unexpired; it is rotated. A rotated one presented
    ///   again revokes its family. `scope` may narrow, never widen.
    /// - anything else: `unsupported_grant_type` (`password` explains why: RFC 9700 §2.4).
    ///
    /// Refused before anything else: client credentials or other OAuth parameters in the
    /// query string (400 `invalid_request`, saying how to send them), plain HTTP, a method
    /// other than POST (405), another content type, a repeated parameter. Answers carry
    /// `Cache-Control: no-store` and `Pragma: no-cache`; errors follow RFC 6749 §5.2 (see
    /// [`EndpointError`]). One audit event per request.
    pub async fn token(&self, request: &AuthRequest<'_>) -> EndpointResponse {
        let mut audit = Audit::new("token");
        match self.token_request(request, &mut audit).await {
            Ok(body) => {
                audit.record(request, Ok("token_issued"));
                EndpointResponse::no_store(200, &body)
            }
            Err(error) => {
                audit.record(request, Err(&error));
                error.to_response(&self.inner.realm)
            }
        }
    }

    async fn token_request(
        &self,
        request: &AuthRequest<'_>,
        audit: &mut Audit,
    ) -> Result<Value, EndpointError> {
        let form = self.read_request(request)?;
        let client = self
            .authenticate_client(request, &form, audit, true)
            .await?;
        let grant_type = form.get("grant_type").ok_or_else(|| {
            EndpointError::invalid_request(
                "The grant_type parameter is missing",
                "missing_grant_type",
            )
        })?;
        let grant = match (GrantType::parse(grant_type), grant_type) {
            (Some(grant), _) => grant,
            (None, "password") => {
                return Err(EndpointError::unsupported_grant_type(
                    "The password grant is not supported: it gives the client the user's \
                     password (RFC 9700 §2.4). Use the authorization code grant with PKCE, or \
                     the application's own login for its users",
                    "password_grant_refused",
                ));
            }
            (None, _) => {
                return Err(EndpointError::unsupported_grant_type(
                    "Supported grant types: authorization_code, client_credentials, refresh_token",
                    "unsupported_grant_type",
                ));
            }
        };
        audit.grant = Some(grant.as_str());
        if !client.grants.contains(&grant) {
            return Err(EndpointError::unauthorized_client(
                format!("This client may not use the {} grant", grant.as_str()),
                "grant_not_allowed",
            ));
        }
        match grant {
            GrantType::ClientCredentials => self.client_credentials(&client, &form, audit).await,
            GrantType::AuthorizationCode => self.authorization_code(&client, &form, audit).await,
            GrantType::RefreshToken => {
                let presented = form.get("refresh_token").ok_or_else(|| {
                    EndpointError::invalid_request(
                        "The refresh_token parameter is missing",
                        "missing_refresh_token",
                    )
                })?;
                let requested = requested_scopes(&form)?;
                let resource = match form.all("resource").as_slice() {
                    [] => None,
                    [one] => Some((*one).to_owned()),
                    _ => {
                        return Err(EndpointError::invalid_target(
                            "Ask for one resource per token request",
                            "several_resources",
                        ));
                    }
                };
                let rotated = self
                    .rotate(
                        presented,
                        Owner::Client(&client),
                        requested,
                        resource.as_deref(),
                        audit,
                    )
                    .await?;
                Ok(oauth_response(
                    &rotated.access,
                    &rotated.scopes,
                    Some(&rotated.refresh),
                ))
            }
        }
    }

    async fn client_credentials(
        &self,
        client: &ClientRecord,
        form: &Form,
        audit: &mut Audit,
    ) -> Result<Value, EndpointError> {
        let scopes = match requested_scopes(form)? {
            Some(requested) if !client.scopes.contains_all(&requested) => {
                return Err(EndpointError::invalid_scope(
                    format!(
                        "This client may not get the scope {}",
                        client.scopes.missing(&requested)
                    ),
                    "scope_not_allowed",
                ));
            }
            Some(requested) => requested,
            None => client.default_scopes.clone(),
        };
        let audience = match form.all("resource").as_slice() {
            [] => client.audiences.first().cloned().ok_or_else(|| {
                EndpointError::invalid_target(
                    "This client has no audience",
                    "client_without_audience",
                )
            })?,
            [one] if client.audiences.iter().any(|a| a == one) => (*one).to_owned(),
            [_] => {
                return Err(EndpointError::invalid_target(
                    "This client may not get tokens for this resource",
                    "resource_not_allowed",
                ));
            }
            _ => {
                return Err(EndpointError::invalid_target(
                    "Ask for one resource per token request",
                    "several_resources",
                ));
            }
        };
        let refresh_family = if client.refresh_tokens {
            Some(random_b64(16)?)
        } else {
            None
        };
        let access = self
            .issue_access(
                &client.id,
                &client.id,
                &scopes,
                &audience,
                refresh_family.as_deref(),
            )
            .await?;
        audit.key_id = Some(access.id.clone());
        let refresh = match refresh_family {
            Some(family) => {
                let now = self.inner.clock.now();
                let grant = Grant {
                    client_id: &client.id,
                    subject: &client.id,
                    family_scopes: &scopes,
                    audience: &audience,
                    first_party: false,
                };
                Some(
                    self.issue_refresh(&grant, &family, &access, now + self.inner.family_lifetime)
                        .await?,
                )
            }
            None => None,
        };
        Ok(oauth_response(&access, &scopes, refresh.as_deref()))
    }

    /// The `authorization_code` grant (RFC 6749 §4.1.3, RFC 7636 §4.5): the code is taken
    /// from the store atomically (single use) before anything else is checked, so a failed
    /// attempt burns it too; then it must be this client's, unexpired, for the same
    /// `redirect_uri`, and `code_verifier` must hash to its challenge. A code used again
    /// revokes what its first redemption issued (RFC 6749 §4.1.2, RFC 9700 §4.5).
    async fn authorization_code(
        &self,
        client: &ClientRecord,
        form: &Form,
        audit: &mut Audit,
    ) -> Result<Value, EndpointError> {
        let code = form.get("code").ok_or_else(|| {
            EndpointError::invalid_request("The code parameter is missing", "missing_code")
        })?;
        let redirect_uri = form.get("redirect_uri").ok_or_else(|| {
            EndpointError::invalid_request(
                "The redirect_uri parameter is missing",
                "missing_redirect_uri",
            )
        })?;
        let hash = TokenHash::of(code);
        let record = match self
            .inner
            .codes
            .take(&hash)
            .await
            .map_err(unavailable("code_store_unavailable"))?
        {
            CodeTake::Fresh(record) => record,
            CodeTake::Used(record) => {
                audit.key_id = Some(format!("family:{}", record.family_id));
                self.revoke_family(&record.family_id).await?;
                if let (Some(id), Some(expires_at)) =
                    (&record.access_token_id, record.access_expires_at)
                {
                    self.inner
                        .revocations
                        .revoke(id, expires_at)
                        .await
                        .map_err(unavailable("revocation_store_unavailable"))?;
                }
                return Err(EndpointError::invalid_grant("code_reuse"));
            }
            _ => return Err(EndpointError::invalid_grant("code_unknown")),
        };
        audit.key_id = Some(format!("family:{}", record.family_id));
        if record.client_id != client.id {
            return Err(EndpointError::invalid_grant("code_of_another_client"));
        }
        if self.inner.clock.now() >= record.expires_at {
            return Err(EndpointError::invalid_grant("code_expired"));
        }
        if record.redirect_uri != redirect_uri {
            return Err(EndpointError::invalid_grant("redirect_uri_mismatch"));
        }
        match (&record.code_challenge, form.get("code_verifier")) {
            (Some(challenge), Some(verifier)) => {
                let Some(computed) = crate::pkce_s256_challenge(verifier) else {
                    return Err(EndpointError::invalid_grant("malformed_code_verifier"));
                };
                if !auth_core::ct_eq(computed.as_bytes(), challenge.as_bytes()) {
                    return Err(EndpointError::invalid_grant("code_verifier_mismatch"));
                }
            }
            (Some(_), None) => {
                return Err(EndpointError::invalid_grant("missing_code_verifier"));
            }
            // RFC 9700 §2.1.1: a verifier without a challenge is a downgrade attempt; and
            // this service requires PKCE for every code anyway.
            (None, _) => return Err(EndpointError::invalid_grant("code_without_challenge")),
        }
        audit.subject = Some(format!("{} for {}", client.id, record.subject));
        // The client's scopes may have been reduced since the consent.
        let scopes = record.scopes.intersection(&client.scopes);
        let access = self
            .issue_access(
                &client.id,
                &record.subject,
                &scopes,
                &record.audience,
                Some(&record.family_id),
            )
            .await?;
        audit.key_id = Some(access.id.clone());
        let refresh = if client.grants.contains(&GrantType::RefreshToken) {
            let grant = Grant {
                client_id: &client.id,
                subject: &record.subject,
                family_scopes: &scopes,
                audience: &record.audience,
                first_party: false,
            };
            let family_expires_at = self.inner.clock.now() + self.inner.family_lifetime;
            Some(
                self.issue_refresh(&grant, &record.family_id, &access, family_expires_at)
                    .await?,
            )
        } else {
            None
        };
        // Recorded after everything is issued: a replay that raced this redemption (and so
        // found nothing to revoke yet) is seen here, and what was just issued is revoked —
        // the same end as a replay after the answer: the first use answered, its tokens dead.
        let alone = self
            .inner
            .codes
            .attach_access_token(&hash, &access.id, access.expires_at)
            .await
            .map_err(unavailable("code_store_unavailable"))?;
        if !alone {
            self.revoke_family(&record.family_id).await?;
            self.inner
                .revocations
                .revoke(&access.id, access.expires_at)
                .await
                .map_err(unavailable("revocation_store_unavailable"))?;
            tracing::warn!(
                target: "auth_oauth2",
                family = record.family_id,
                "authorization code replayed during its redemption: its tokens are revoked"
            );
        }
        let mut body = oauth_response(&access, &scopes, refresh.as_deref());
        if scopes.contains("openid") {
            body["id_token"] = json!(self.id_token(&client.id, &record)?);
        }
        Ok(body)
    }

    /// An OpenID Connect ID token (OIDC Core §2, "light": no userinfo, no claims beyond
    /// these): `iss`, `sub`, `aud` (the client), `iat`, `exp`, `nonce` when the
    /// authorization request had one, signed like the access tokens (`typ` `JWT`).
    fn id_token(
        &self,
        client_id: &str,
        record: &super::code::AuthorizationCodeRecord,
    ) -> Result<String, EndpointError> {
        let failed = |error: auth_jwt::KeyError| {
            tracing::error!(target: "auth_oauth2", %error, "could not sign an ID token");
            EndpointError::server_error("signing_failed")
        };
        let issuer = auth_jwt::Issuer::builder(self.inner.keys.clone())
            .issuer(self.inner.issuer.clone())
            .audience(client_id)
            .ttl(self.inner.access_ttl)
            .clock(std::sync::Arc::clone(&self.inner.clock))
            .build()
            .map_err(failed)?;
        let mut claims = serde_json::Map::new();
        claims.insert("azp".into(), json!(client_id));
        if let Some(nonce) = &record.nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        issuer.issue(&record.subject, &claims).map_err(failed)
    }

    /// Issues an access token for `audience` in its configured format.
    pub(crate) async fn issue_access(
        &self,
        client_id: &str,
        subject: &str,
        scopes: &Scopes,
        audience: &str,
        family: Option<&str>,
    ) -> Result<IssuedAccess, EndpointError> {
        let format = self.inner.audiences.get(audience).ok_or_else(|| {
            EndpointError::invalid_target("Unknown resource", "audience_not_configured")
        })?;
        match format {
            AudienceFormat::Jwt(issuer) => {
                let mut claims = serde_json::Map::new();
                claims.insert("client_id".into(), json!(client_id));
                if !scopes.is_empty() {
                    claims.insert("scope".into(), json!(scopes.to_string()));
                }
                let token = issuer.issue(subject, &claims).map_err(|error| {
                    tracing::error!(target: "auth_oauth2", %error, "could not sign an access token");
                    EndpointError::server_error("signing_failed")
                })?;
                let payload = crate::token::decode_jwt_claims(&token)
                    .ok_or_else(|| EndpointError::server_error("signing_failed"))?;
                let exp = payload.get("exp").and_then(Value::as_u64).unwrap_or(0);
                let iat = payload.get("iat").and_then(Value::as_u64).unwrap_or(0);
                let id = payload
                    .get("jti")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                Ok(IssuedAccess {
                    token,
                    id,
                    expires_at: UNIX_EPOCH + Duration::from_secs(exp),
                    lifetime: Duration::from_secs(exp.saturating_sub(iat)),
                })
            }
            AudienceFormat::Opaque => {
                let token = random_b64(32)?;
                let id = random_b64(16)?;
                let now = self.inner.clock.now();
                let expires_at = now + self.inner.access_ttl;
                let mut record = AccessTokenRecord::new(
                    TokenHash::of(&token),
                    id.clone(),
                    client_id,
                    subject,
                    scopes.clone(),
                    audience,
                    now,
                    expires_at,
                );
                record.family_id = family.map(str::to_owned);
                self.inner
                    .access_tokens
                    .insert(record)
                    .await
                    .map_err(unavailable("access_token_store_unavailable"))?;
                Ok(IssuedAccess {
                    token,
                    id,
                    expires_at,
                    lifetime: self.inner.access_ttl,
                })
            }
        }
    }

    /// Issues a refresh token of `family`, alongside `access`.
    pub(crate) async fn issue_refresh(
        &self,
        grant: &Grant<'_>,
        family: &str,
        access: &IssuedAccess,
        family_expires_at: SystemTime,
    ) -> Result<String, EndpointError> {
        let token = random_b64(32)?;
        let now = self.inner.clock.now();
        let mut record = RefreshTokenRecord::new(
            TokenHash::of(&token),
            family,
            grant.client_id,
            grant.subject,
            grant.family_scopes.clone(),
            grant.audience,
            now,
            (now + self.inner.refresh_ttl).min(family_expires_at),
        );
        record.family_expires_at = family_expires_at;
        record.first_party = grant.first_party;
        record.access_token_id.clone_from(&access.id);
        record.access_expires_at = access.expires_at;
        self.inner
            .refresh_tokens
            .insert(record)
            .await
            .map_err(unavailable("refresh_token_store_unavailable"))?;
        Ok(token)
    }

    /// Exchanges a refresh token (RFC 6749 §6) for a new access token and a new refresh
    /// token of the same family, marking the old one rotated. A rotated token presented
    /// again — the family is in two hands — revokes the family (RFC 9700 §4.14.2).
    pub(crate) async fn rotate(
        &self,
        presented: &str,
        owner: Owner<'_>,
        requested: Option<Scopes>,
        resource: Option<&str>,
        audit: &mut Audit,
    ) -> Result<Rotated, EndpointError> {
        let hash = TokenHash::of(presented);
        let record = self
            .inner
            .refresh_tokens
            .find(&hash)
            .await
            .map_err(unavailable("refresh_token_store_unavailable"))?
            .ok_or_else(|| EndpointError::invalid_grant("refresh_token_unknown"))?;
        audit.key_id = Some(format!("family:{}", record.family_id));
        let owned = match owner {
            Owner::Client(client) => !record.first_party && record.client_id == client.id,
            Owner::FirstParty(client_id) => record.first_party && record.client_id == client_id,
        };
        if !owned {
            return Err(EndpointError::invalid_grant(
                "refresh_token_of_another_client",
            ));
        }
        if let Owner::FirstParty(_) = owner {
            audit.subject = Some(record.subject.clone());
        }
        if record.revoked {
            return Err(EndpointError::invalid_grant("refresh_token_revoked"));
        }
        let now = self.inner.clock.now();
        if now >= record.expires_at {
            return Err(EndpointError::invalid_grant("refresh_token_expired"));
        }
        if record.rotated {
            self.revoke_family(&record.family_id).await?;
            return Err(EndpointError::invalid_grant("refresh_token_reuse"));
        }
        let mut scopes = match requested {
            Some(requested) if !record.scopes.contains_all(&requested) => {
                return Err(EndpointError::invalid_scope(
                    "A refresh cannot widen the scope granted (RFC 6749 §6)",
                    "scope_wider_than_grant",
                ));
            }
            Some(requested) => requested,
            None => record.scopes.clone(),
        };
        if let Owner::Client(client) = owner {
            // The client's scopes may have been reduced since the grant.
            scopes = scopes.intersection(&client.scopes);
        }
        if resource.is_some_and(|r| r != record.audience) {
            return Err(EndpointError::invalid_target(
                "A refresh keeps the resource of the grant",
                "resource_changed",
            ));
        }
        if !self
            .inner
            .refresh_tokens
            .mark_rotated(&hash)
            .await
            .map_err(unavailable("refresh_token_store_unavailable"))?
        {
            // Another request rotated it first: two parties hold this token.
            self.revoke_family(&record.family_id).await?;
            return Err(EndpointError::invalid_grant("refresh_token_reuse"));
        }
        let access = self
            .issue_access(
                &record.client_id,
                &record.subject,
                &scopes,
                &record.audience,
                Some(&record.family_id),
            )
            .await?;
        audit.key_id = Some(access.id.clone());
        let grant = Grant {
            client_id: &record.client_id,
            subject: &record.subject,
            family_scopes: &record.scopes,
            audience: &record.audience,
            first_party: record.first_party,
        };
        let refresh = self
            .issue_refresh(&grant, &record.family_id, &access, record.family_expires_at)
            .await?;
        Ok(Rotated {
            access,
            refresh,
            scopes,
        })
    }

    /// Revokes a family: its refresh tokens, its opaque access tokens, and the `jti`s of its
    /// JWT access tokens.
    pub(crate) async fn revoke_family(&self, family_id: &str) -> Result<(), EndpointError> {
        let records = self
            .inner
            .refresh_tokens
            .revoke_family(family_id)
            .await
            .map_err(unavailable("refresh_token_store_unavailable"))?;
        for record in &records {
            if !record.access_token_id.is_empty() {
                self.inner
                    .revocations
                    .revoke(&record.access_token_id, record.access_expires_at)
                    .await
                    .map_err(unavailable("revocation_store_unavailable"))?;
            }
        }
        self.inner
            .access_tokens
            .revoke_family(family_id)
            .await
            .map_err(unavailable("access_token_store_unavailable"))?;
        tracing::info!(
            target: "auth_oauth2",
            family = family_id,
            tokens = records.len(),
            "refresh-token family revoked"
        );
        Ok(())
    }
}

/// The successful token response (RFC 6749 §5.1).
fn oauth_response(access: &IssuedAccess, scopes: &Scopes, refresh: Option<&str>) -> Value {
    let mut body = json!({
        "access_token": access.token,
        "token_type": "Bearer",
        "expires_in": access.lifetime.as_secs(),
    });
    if !scopes.is_empty() {
        body["scope"] = json!(scopes.to_string());
    }
    if let Some(refresh) = refresh {
        body["refresh_token"] = json!(refresh);
    }
    body
}
