//! The authorization server metadata (RFC 8414) and the JWKS (RFC 7517).

use std::time::Duration;

use serde_json::{Value, json};

use super::TokenService;
use super::response::EndpointResponse;

/// How long clients may cache the metadata and the JWKS: 5 minutes, so a key rotation
/// (add, wait, promote) reaches resource servers quickly.
const MAX_AGE: Duration = Duration::from_secs(300);

/// The client authentication methods every endpoint accepts.
const AUTH_METHODS: [&str; 2] = ["client_secret_basic", "client_secret_post"];

impl TokenService {
    /// The RFC 8414 metadata document: `issuer`, the endpoints' URLs, `jwks_uri`, the
    /// grant types and client authentication methods supported. Serve it at
    /// [`metadata_path`](Self::metadata_path); resource servers find the JWKS through it.
    #[must_use]
    pub fn metadata_document(&self) -> Value {
        let inner = &self.inner;
        json!({
            "issuer": inner.issuer,
            "authorization_endpoint": self.url(&inner.authorization_path),
            "token_endpoint": self.url(&inner.paths.token),
            "introspection_endpoint": self.url(&inner.paths.introspection),
            "revocation_endpoint": self.url(&inner.paths.revocation),
            "jwks_uri": self.url(&inner.paths.jwks),
            "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": true,
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
            // Public clients revoke their own tokens with their client_id alone (RFC 7009 §5).
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        })
    }

    /// The metadata document as a response (cacheable for 5 minutes).
    #[must_use]
    pub fn metadata(&self) -> EndpointResponse {
        EndpointResponse::public(&self.metadata_document(), MAX_AGE)
    }

    /// The public keys as a JWKS response (cacheable for 5 minutes); follows rotations of
    /// the shared key set.
    #[must_use]
    pub fn jwks(&self) -> EndpointResponse {
        let jwks = serde_json::to_value(self.inner.keys.current().jwks())
            .unwrap_or_else(|_| json!({"keys": []}));
        EndpointResponse::public(&jwks, MAX_AGE)
    }
}
