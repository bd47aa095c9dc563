//! Finding the bearer token on a request (RFC 6750 §2).

use auth_core::{AuthRequest, Challenge, Rejection, Scheme};

/// The longest token accepted, in bytes: 8 KiB.
pub(crate) const MAX_TOKEN_LEN: usize = 8 * 1024;

/// The bearer token of `request`, from `Authorization: Bearer <token>` (RFC 6750 §2.1).
///
/// - no `Authorization` header, or another scheme: `Ok(None)` (a chain tries the next
///   scheme);
/// - `access_token` in the query (RFC 6750 §2.3): 400, the token must not travel in URLs
///   (RFC 9700 §4.3.2: they end up in logs, histories and `Referer`);
/// - a repeated header, a value that is not visible ASCII, an empty token or one outside
///   the `b64token` syntax: 400 `invalid_request`.
pub(crate) fn bearer_token<'a>(
    request: &AuthRequest<'a>,
    challenges: &[Challenge],
) -> Result<Option<&'a str>, Rejection> {
    let refuse = |description: &'static str, reason: &'static str| {
        Rejection::invalid_request(challenges.to_vec(), description, reason)
            .with_scheme(Scheme::BEARER)
    };
    if let Some(query) = request.query()
        && url::form_urlencoded::parse(query.as_bytes()).any(|(name, _)| name == "access_token")
    {
        return Err(refuse(
            "Send the token in the Authorization header, not in the URL",
            "token_in_query",
        ));
    }
    let value = match request.single_header("authorization") {
        Ok(Some(value)) => value,
        Ok(None) => return Ok(None),
        Err(_) => {
            return Err(refuse(
                "Malformed Authorization header",
                "malformed_authorization_header",
            ));
        }
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    let token = rest.trim_start_matches(' ').trim_end_matches(' ');
    if !is_b64token(token) {
        return Err(refuse("Malformed Bearer token", "malformed_bearer"));
    }
    Ok(Some(token))
}

/// RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_core::HeaderList;

    fn extract(target: &str, headers: &HeaderList) -> Result<Option<String>, u16> {
        let request = AuthRequest::new("GET", target, headers);
        bearer_token(&request, &[Challenge::bearer("api")])
            .map(|t| t.map(str::to_owned))
            .map_err(|r| r.status())
    }

    #[test]
    fn bearer_tokens_are_found() {
        let h = HeaderList::new().with("Authorization", "Bearer abc.def-ghi_~+/==");
        assert_eq!(extract("/", &h), Ok(Some("abc.def-ghi_~+/==".into())));
        let h = HeaderList::new().with("authorization", "bearer   abc ");
        assert_eq!(extract("/", &h), Ok(Some("abc".into())));
    }

    #[test]
    fn other_schemes_are_not_ours() {
        assert_eq!(extract("/", &HeaderList::new()), Ok(None));
        let h = HeaderList::new().with("Authorization", "Basic YTpi");
        assert_eq!(extract("/", &h), Ok(None));
    }

    #[test]
    fn malformed_requests_get_400() {
        for value in [
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Bearer a\"b",
            "Bearer ==",
            "Bearer a=b",
        ] {
            let h = HeaderList::new().with("Authorization", value);
            assert_eq!(extract("/", &h), Err(400), "{value:?}");
        }
        let twice = HeaderList::new()
            .with("Authorization", "Bearer a")
            .with("Authorization", "Bearer b");
        assert_eq!(extract("/", &twice), Err(400));
        assert_eq!(extract("/x?access_token=abc", &HeaderList::new()), Err(400));
        assert_eq!(
            extract("/x?page=2&access%5Ftoken=abc", &HeaderList::new()),
            Err(400)
        );
    }
}
