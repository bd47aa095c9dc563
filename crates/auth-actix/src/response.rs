//! [`Rejection`] → HTTP response: the one place where refusals become responses.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use auth_core::Rejection;

/// Builds the response for `rejection`: its status, one `WWW-Authenticate` per challenge,
/// `Retry-After` when set, `Cache-Control: no-store`, and a small JSON body
/// `{"error": "...", "error_description": "..."}` that reveals nothing internal (the audit
/// reason is not in it).
#[must_use]
pub fn rejection_response(rejection: &Rejection) -> HttpResponse {
    let status = StatusCode::from_u16(rejection.status()).unwrap_or(StatusCode::UNAUTHORIZED);
    let mut response = HttpResponse::build(status);
    for challenge in rejection.www_authenticate() {
        // Challenge rendering drops every byte a header value may not hold, so this only
        // fails if that guarantee is broken; then the challenge is left out, not the response.
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response.append_header((header::WWW_AUTHENTICATE, value));
        }
    }
    if let Some(retry_after) = rejection.retry_after_header() {
        response.insert_header((header::RETRY_AFTER, retry_after));
    }
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("application/json")
        .body(rejection.json_body())
}

/// A [`Rejection`] as an actix-web error, so handlers and extractors can return it with `?`.
///
/// # Examples
///
/// ```
/// use actix_web::{get, HttpResponse};
/// use auth_actix::{AuthError, Authenticated};
///
/// #[get("/admin")]
/// async fn admin(user: Authenticated) -> Result<HttpResponse, AuthError> {
///     user.require_scope("admin")?;
///     Ok(HttpResponse::Ok().body("welcome"))
/// }
/// ```
#[derive(Debug, Clone)]
pub struct AuthError(pub Rejection);

impl AuthError {
    /// The rejection.
    #[must_use]
    pub fn rejection(&self) -> &Rejection {
        &self.0
    }
}

impl From<Rejection> for AuthError {
    fn from(rejection: Rejection) -> Self {
        Self(rejection)
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Public text only: the audit reason stays out of anything that may be rendered.
        f.write_str(self.0.description())
    }
}

impl ResponseError for AuthError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::UNAUTHORIZED)
    }

    fn error_response(&self) -> HttpResponse {
        rejection_response(&self.0)
    }
}
