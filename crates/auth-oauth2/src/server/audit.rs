//! One audit event per token-service decision (target `auth::audit`, the fields of
//! [`auth_core::audit`] plus `endpoint` and `grant_type`). Never a secret or a token: the
//! subject is the client id (or the user id), the key id the issued or examined token's id.

use std::fmt::{self, Write as _};

use auth_core::{AUDIT_TARGET, AuthRequest};

use super::response::EndpointError;

/// What an event says besides the request and the decision.
#[derive(Debug, Default)]
pub(crate) struct Audit {
    /// `token`, `introspection`, `revocation`, `first_party`.
    pub(crate) endpoint: &'static str,
    pub(crate) grant: Option<&'static str>,
    /// The client id (or user id for the first-party login).
    pub(crate) subject: Option<String>,
    /// The id (`jti`) of the token issued or examined.
    pub(crate) key_id: Option<String>,
}

impl Audit {
    pub(crate) fn new(endpoint: &'static str) -> Self {
        Self {
            endpoint,
            ..Self::default()
        }
    }

    /// Records the decision: `Ok(reason)` for a served request, `Err` for a refusal.
    pub(crate) fn record(&self, request: &AuthRequest<'_>, decision: Result<&str, &EndpointError>) {
        let subject = self
            .subject
            .as_deref()
            .map(|s| tracing::field::display(Clipped(s)));
        let key_id = self
            .key_id
            .as_deref()
            .map(|k| tracing::field::display(Clipped(k)));
        let peer = request.peer().map(tracing::field::display);
        let method = Clipped(request.method());
        let path = Clipped(request.path());
        match decision {
            Ok(reason) => tracing::info!(
                target: AUDIT_TARGET,
                scheme = "oauth2",
                endpoint = self.endpoint,
                grant_type = self.grant,
                outcome = "success",
                reason,
                status = 200_u16,
                subject,
                key_id,
                peer,
                method = %method,
                path = %path,
                "token service request served"
            ),
            Err(error) => tracing::warn!(
                target: AUDIT_TARGET,
                scheme = "oauth2",
                endpoint = self.endpoint,
                grant_type = self.grant,
                outcome = "rejected",
                reason = error.reason(),
                error = error.code().as_str(),
                status = error.status(),
                subject,
                key_id,
                peer,
                method = %method,
                path = %path,
                "token service request refused"
            ),
        }
    }
}

/// A value from the request: control characters escaped, at most
/// [`auth_core::audit::MAX_FIELD_LEN`] characters.
struct Clipped<'a>(&'a str);

impl fmt::Display for Clipped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.0.chars();
        for c in chars.by_ref().take(auth_core::audit::MAX_FIELD_LEN) {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                f.write_char(c)?;
            }
        }
        if chars.next().is_some() {
            f.write_str("...")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_values_cannot_forge_lines() {
        assert_eq!(Clipped("a\nb").to_string(), r"a\nb");
        assert!(Clipped(&"x".repeat(500)).to_string().ends_with("..."));
    }
}
