//! Reading the endpoints' requests: where parameters may be (RFC 6749 §3.2: a form body,
//! never the URL), the form itself (§3.1: no repeats), and the client's credentials
//! (§2.3.1: HTTP Basic or the body, one method only).

use std::net::IpAddr;

use auth_core::{AuthRequest, Secret};
use base64::Engine as _;
use zeroize::Zeroize;

use super::response::EndpointError;

/// The teaching answer to the article's `axios.post(url, null, { params: { client_id,
/// client_secret } })`.
pub(crate) const CREDENTIALS_IN_QUERY: &str = "Send client credentials in the Authorization \
    header (HTTP Basic, client_secret_basic) or in the application/x-www-form-urlencoded \
    request body (client_secret_post), never in the URL: URLs are written to server and proxy \
    logs and browser history (RFC 6749 §2.3.1). Treat this client secret as leaked and rotate \
    it.";

const SECRETS_IN_QUERY: &str = "Passwords and tokens never go in the URL: URLs are written to \
    server and proxy logs and browser history. Send them in the request body (RFC 6749 §3.2, \
    RFC 9700 §4.3.2), and treat what was sent as leaked.";

const PARAMETERS_IN_QUERY: &str =
    "Send the parameters in the request body, not in the URL (RFC 6749 §3.2)";

/// Parameters that are client credentials.
const CLIENT_SECRET_PARAMS: [&str; 2] = ["client_secret", "client_assertion"];

/// Other secrets: user passwords, tokens, codes.
const SECRET_PARAMS: [&str; 6] = [
    "password",
    "refresh_token",
    "refreshToken",
    "token",
    "access_token",
    "code",
];

/// The endpoints' other parameters, which belong in the body too.
const BODY_PARAMS: [&str; 5] = [
    "grant_type",
    "client_id",
    "token_type_hint",
    "scope",
    "username",
];

/// Refuses the endpoints' parameters in the query string: client credentials with the
/// teaching description (RFC 6749 §2.3.1), passwords and tokens with theirs, anything else
/// with a pointer to the body.
pub(crate) fn check_query(request: &AuthRequest<'_>) -> Result<(), EndpointError> {
    let Some(query) = request.query() else {
        return Ok(());
    };
    let (mut secret, mut other) = (false, false);
    for (name, _) in url::form_urlencoded::parse(query.as_bytes()) {
        if CLIENT_SECRET_PARAMS.contains(&name.as_ref()) {
            return Err(EndpointError::invalid_request(
                CREDENTIALS_IN_QUERY,
                "client_credentials_in_query",
            ));
        }
        secret |= SECRET_PARAMS.contains(&name.as_ref());
        other |= BODY_PARAMS.contains(&name.as_ref());
    }
    if secret {
        return Err(EndpointError::invalid_request(
            SECRETS_IN_QUERY,
            "secret_in_query",
        ));
    }
    if other {
        return Err(EndpointError::invalid_request(
            PARAMETERS_IN_QUERY,
            "parameters_in_query",
        ));
    }
    Ok(())
}

/// RFC 6749 §3.2: TLS for every request; plain HTTP only from a loopback peer, and only with
/// the development opt-in.
pub(crate) fn check_transport(
    request: &AuthRequest<'_>,
    allow_loopback_http: bool,
) -> Result<(), EndpointError> {
    if request.is_secure() {
        return Ok(());
    }
    let loopback = request.peer().is_some_and(|peer| is_loopback_ip(peer.ip()));
    if allow_loopback_http && loopback {
        return Ok(());
    }
    Err(EndpointError::invalid_request(
        "This endpoint must be called over HTTPS (RFC 6749 §3.2, §1.6)",
        "insecure_transport",
    ))
}

pub(crate) fn is_loopback_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// A form body's parameters. Empty values count as absent (RFC 6749 §3.1); values are
/// zeroized when dropped (they include secrets and tokens).
pub(crate) struct Form {
    params: Vec<(String, String)>,
}

impl Form {
    /// The value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name` (only `resource` may repeat).
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.params
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

impl Drop for Form {
    fn drop(&mut self) {
        for (_, value) in &mut self.params {
            value.zeroize();
        }
    }
}

/// Parameters that may repeat (RFC 8707 §2: several `resource`s).
const REPEATABLE: [&str; 1] = ["resource"];

/// Whether the request's single `Content-Type` is `media` (parameters ignored).
pub(crate) fn has_media_type(request: &AuthRequest<'_>, media: &str) -> bool {
    request
        .single_header("content-type")
        .ok()
        .flatten()
        .and_then(|value| value.split(';').next())
        .is_some_and(|found| found.trim().eq_ignore_ascii_case(media))
}

/// POST, `application/x-www-form-urlencoded`, UTF-8, no repeated parameter.
pub(crate) fn read_form(request: &AuthRequest<'_>) -> Result<Form, EndpointError> {
    if !request.method().eq_ignore_ascii_case("POST") {
        return Err(EndpointError::method_not_allowed(
            "Use POST with an application/x-www-form-urlencoded body (RFC 6749 §3.2)",
        ));
    }
    if !has_media_type(request, "application/x-www-form-urlencoded") {
        return Err(EndpointError::invalid_request(
            "The request body must be application/x-www-form-urlencoded (RFC 6749 §3.2)",
            "not_form_encoded",
        ));
    }
    let body = request.body().unwrap_or_default();
    if std::str::from_utf8(body).is_err() {
        return Err(EndpointError::invalid_request(
            "The request body is not UTF-8",
            "body_not_utf8",
        ));
    }
    let mut params: Vec<(String, String)> = Vec::new();
    for (name, value) in url::form_urlencoded::parse(body) {
        let mut value = value.into_owned();
        if value.is_empty() {
            continue;
        }
        if !REPEATABLE.contains(&name.as_ref()) && params.iter().any(|(n, _)| *n == name) {
            value.zeroize();
            return Err(EndpointError::invalid_request(
                format!("The parameter {} is repeated (RFC 6749 §3.1)", clip(&name)),
                "repeated_parameter",
            ));
        }
        params.push((name.into_owned(), value));
    }
    Ok(Form { params })
}

/// A parameter name as shown back in a description: visible ASCII, at most 40 characters.
fn clip(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(40)
        .collect()
}

/// How the client authenticated (RFC 6749 §2.3.1; RFC 8414 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Basic,
    Post,
}

/// The client credentials a request presents.
pub(crate) struct Presented {
    pub(crate) client_id: String,
    pub(crate) secret: Secret,
    pub(crate) method: Method,
}

/// The client's credentials: from `Authorization: Basic` or from `client_id` and
/// `client_secret` in the body, never both (RFC 6749 §2.3: one method per request).
pub(crate) fn client_credentials(
    request: &AuthRequest<'_>,
    form: &Form,
) -> Result<Presented, EndpointError> {
    let header = request.single_header("authorization").map_err(|_| {
        EndpointError::invalid_request(
            "Malformed Authorization header",
            "malformed_authorization_header",
        )
    })?;
    let basic = match header {
        Some(value) => {
            let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
            if scheme.eq_ignore_ascii_case("basic") {
                Some(decode_basic(rest.trim_matches(' '))?)
            } else {
                None
            }
        }
        None => None,
    };
    let body_id = form.get("client_id");
    let body_secret = form.get("client_secret");
    match (basic, body_id, body_secret) {
        (Some(_), _, Some(_)) => Err(EndpointError::invalid_request(
            "Use one client authentication method: the Authorization header or the body, \
             not both (RFC 6749 §2.3)",
            "two_client_auth_methods",
        )),
        (Some((id, _)), Some(body_id), None) if body_id != id => {
            Err(EndpointError::invalid_request(
                "The client_id in the body is not the one in the Authorization header",
                "client_id_mismatch",
            ))
        }
        (Some((client_id, secret)), _, None) => Ok(Presented {
            client_id,
            secret,
            method: Method::Basic,
        }),
        (None, Some(id), Some(secret)) => Ok(Presented {
            client_id: id.to_owned(),
            secret: Secret::from(secret),
            method: Method::Post,
        }),
        (None, None, Some(_)) => Err(EndpointError::invalid_request(
            "client_secret without client_id",
            "client_secret_without_id",
        )),
        // No credentials, or a client id alone (a public client: none are registered here).
        (None, _, None) => Err(EndpointError::invalid_client(
            true,
            "no_client_authentication",
        )),
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`, RFC 6749 §2.3.1.
fn decode_basic(encoded: &str) -> Result<(String, Secret), EndpointError> {
    let malformed = || {
        EndpointError::invalid_request("Malformed Basic credentials", "malformed_basic_credentials")
    };
    let mut decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| malformed())?;
    let result = (|| {
        let text = std::str::from_utf8(&decoded).ok()?;
        let (id, secret) = text.split_once(':')?;
        let id = String::from_utf8(form_decode(id)?).ok()?;
        let secret = Secret::new(form_decode(secret)?);
        (!id.is_empty()).then_some((id, secret))
    })();
    decoded.zeroize();
    result.ok_or_else(malformed)
}

/// `application/x-www-form-urlencoded` decoding of one component: `+` is a space, `%XX` a
/// byte; a broken escape is refused.
fn form_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_core::HeaderList;

    fn form(body: &str) -> Result<Form, EndpointError> {
        let headers = HeaderList::new().with("Content-Type", "application/x-www-form-urlencoded");
        read_form(&AuthRequest::new("POST", "/token", &headers).with_body(Some(body.as_bytes())))
    }

    #[test]
    fn the_articles_query_string_gets_the_teaching_answer() {
        let headers = HeaderList::new();
        let request = AuthRequest::new(
            "POST",
            "/token?grant_type=client_credentials&client_id=a&client_secret=b",
            &headers,
        );
        let error = check_query(&request).unwrap_err();
        assert_eq!(error.status(), 400);
        assert!(error.description().contains("Authorization header"));
        assert!(error.description().contains("never in the URL"));
        let other = AuthRequest::new("POST", "/token?grant_type=client_credentials", &headers);
        assert_eq!(
            check_query(&other).unwrap_err().reason(),
            "parameters_in_query"
        );
        let token = AuthRequest::new("POST", "/introspect?token=abc", &headers);
        assert_eq!(check_query(&token).unwrap_err().reason(), "secret_in_query");
        let harmless = AuthRequest::new("POST", "/token?trace=1", &headers);
        assert!(check_query(&harmless).is_ok());
    }

    #[test]
    fn forms_refuse_repeats_but_allow_resources_and_skip_empty_values() {
        assert_eq!(
            form("grant_type=a&grant_type=b").err().unwrap().reason(),
            "repeated_parameter"
        );
        let ok = form("resource=a&resource=b&scope=&grant_type=x").unwrap();
        assert_eq!(ok.all("resource"), ["a", "b"]);
        assert_eq!(ok.get("scope"), None);
        let headers = HeaderList::new().with("Content-Type", "application/json");
        let json = AuthRequest::new("POST", "/token", &headers).with_body(Some(b"{}"));
        assert_eq!(read_form(&json).err().unwrap().reason(), "not_form_encoded");
        let get = AuthRequest::new("GET", "/token", &headers);
        assert_eq!(read_form(&get).err().unwrap().status(), 405);
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        // "a%3Ab" : "p+w%25" → id "a:b", secret "p w%".
        let encoded = base64::engine::general_purpose::STANDARD.encode("a%3Ab:p+w%25");
        let (id, secret) = decode_basic(&encoded).unwrap();
        assert_eq!(id, "a:b");
        assert_eq!(secret.expose_str(), Some("p w%"));
        assert!(decode_basic("not base64!").is_err());
        let broken = base64::engine::general_purpose::STANDARD.encode("a:%zz");
        assert!(decode_basic(&broken).is_err());
    }

    #[test]
    fn one_authentication_method_per_request() {
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("c:s")
        );
        let headers = HeaderList::new()
            .with("Content-Type", "application/x-www-form-urlencoded")
            .with("Authorization", basic);
        let request = AuthRequest::new("POST", "/token", &headers);
        let both = form("client_id=c&client_secret=s").unwrap();
        assert_eq!(
            client_credentials(&request, &both).err().unwrap().reason(),
            "two_client_auth_methods"
        );
        let other_id = form("client_id=d").unwrap();
        assert_eq!(
            client_credentials(&request, &other_id)
                .err()
                .unwrap()
                .reason(),
            "client_id_mismatch"
        );
        let presented = client_credentials(&request, &form("client_id=c").unwrap()).unwrap();
        assert_eq!(
            (presented.client_id.as_str(), presented.method),
            ("c", Method::Basic)
        );
        let none = HeaderList::new();
        let error = client_credentials(
            &AuthRequest::new("POST", "/token", &none),
            &form("").unwrap(),
        )
        .err()
        .unwrap();
        assert_eq!(
            (error.status(), error.reason()),
            (401, "no_client_authentication")
        );
    }
}
