//! Audit events: one `tracing` event per decision, target [`AUDIT_TARGET`].
//!
//! | field | value |
//! |---|---|
//! | `scheme` | the scheme that decided (`basic`, `api_key`, `jwt`, ..., `any` when none did) |
//! | `outcome` | `success`, `no_credential` or `rejected` |
//! | `reason` | the audit reason code (`wrong_password`, `jwt_expired`, `store_unavailable`, ...) |
//! | `status` | the HTTP status the decision leads to (200 for success) |
//! | `subject` | the authenticated subject, or the one a refused request claimed, when known |
//! | `key_id` | the public id of the credential, when the scheme has one |
//! | `peer` | the peer's IP address and port, when known |
//! | `method`, `path` | the request line, without the query (a query may carry a credential) |
//!
//! Successes and missing credentials are logged at `INFO`, refusals at `WARN`. The
//! credential itself is never part of an event: authenticators put only public ids in
//! [`Principal::key_id`](crate::Principal::key_id) and
//! [`Rejection::with_key_id`](crate::Rejection::with_key_id), and values that came from the
//! request have control characters escaped (`\n`, `\u{1b}`) and are cut to
//! [`MAX_FIELD_LEN`] characters, so they cannot forge log lines.
//!
//! Route the events with any `tracing` subscriber, e.g. to a separate audit file:
//! `tracing_subscriber::filter::Targets::new().with_target("auth::audit", Level::INFO)`.

use std::fmt::{self, Write as _};

use crate::{AuthRequest, Authenticator, Outcome, Scheme};

/// The `tracing` target of every audit event.
pub const AUDIT_TARGET: &str = "auth::audit";

/// The longest request-supplied value (subject, key id) an event carries, in characters.
pub const MAX_FIELD_LEN: usize = 128;

/// A value from the request, control characters escaped, cut to [`MAX_FIELD_LEN`]
/// characters.
struct Clipped<'a>(&'a str);

impl fmt::Display for Clipped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.0.chars();
        for c in chars.by_ref().take(MAX_FIELD_LEN) {
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

/// Runs `authenticator` on `request` and records the audit event for the decision.
///
/// This is what every framework adapter calls; call it yourself when you use a scheme crate
/// without one. `NoCredential` is recorded with the authenticator's own scheme (`any` for an
/// [`AnyOf`](crate::AnyOf) chain).
pub async fn authenticate<A: Authenticator + ?Sized>(
    authenticator: &A,
    request: &AuthRequest<'_>,
) -> Outcome {
    let outcome = authenticator.authenticate(request).await;
    record(authenticator.scheme(), &outcome, request);
    outcome
}

/// Records the audit event for `outcome` (once per decision).
pub fn record(scheme: Scheme, outcome: &Outcome, request: &AuthRequest<'_>) {
    let peer = request.peer().map(tracing::field::display);
    let method = Clipped(request.method());
    let path = Clipped(request.path());
    match outcome {
        Outcome::Authenticated(principal) => tracing::info!(
            target: AUDIT_TARGET,
            scheme = %principal.scheme(),
            outcome = "success",
            reason = "ok",
            status = 200_u16,
            subject = %Clipped(principal.subject()),
            key_id = principal.key_id().map(|k| tracing::field::display(Clipped(k))),
            peer,
            method = %method,
            path = %path,
            "authenticated"
        ),
        Outcome::NoCredential => tracing::info!(
            target: AUDIT_TARGET,
            scheme = %scheme,
            outcome = "no_credential",
            reason = "no_credential",
            status = 401_u16,
            peer,
            method = %method,
            path = %path,
            "no credential"
        ),
        Outcome::Rejected(rejection) => record_rejection(scheme, rejection, request),
    }
}

/// Records the audit event for a refusal decided outside an authenticator (a scope guard, a
/// transport check, a body limit).
pub fn record_rejection(scheme: Scheme, rejection: &crate::Rejection, request: &AuthRequest<'_>) {
    tracing::warn!(
        target: AUDIT_TARGET,
        scheme = %rejection.scheme().unwrap_or(scheme),
        outcome = "rejected",
        reason = rejection.reason(),
        status = rejection.status(),
        subject = rejection.subject().map(|s| tracing::field::display(Clipped(s))),
        key_id = rejection.key_id().map(|k| tracing::field::display(Clipped(k))),
        peer = request.peer().map(tracing::field::display),
        method = %Clipped(request.method()),
        path = %Clipped(request.path()),
        "rejected"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipped_escapes_and_cuts() {
        assert_eq!(Clipped("a\nb\u{1b}[31m").to_string(), r"a\nb\u{1b}[31m");
        assert_eq!(Clipped("caf\u{e9}").to_string(), "caf\u{e9}");
        let long = "x".repeat(MAX_FIELD_LEN + 10);
        let shown = Clipped(&long).to_string();
        assert_eq!(shown.len(), MAX_FIELD_LEN + 3);
        assert!(shown.ends_with("x..."));
    }
}
