//! The leak watch: no credential the end-to-end suite uses may appear in a log line or in an
//! error response.
//!
//! How it covers the whole suite without each test listing its secrets:
//!
//! - **Every log line.** [`TestApp::spawn`](crate::TestApp::spawn) installs the process-wide
//!   [`LogCapture`] (every target, `TRACE` and up) before its server starts, so every
//!   `tracing` event of every test, audit and debug alike, is captured.
//! - **Every credential, from the wire.** Every `TestApp` server is wrapped in [`Watch`], an
//!   outermost middleware that registers the credentials each request carries (the
//!   `Authorization` value and a Basic password, API-key, token and secret headers, every
//!   cookie value, RFC 9421 and webhook signatures, and query or form fields such as
//!   `password`, `client_secret`, `code`, `code_verifier`, `refresh_token`, `token`) and the
//!   ones each response hands out (`Set-Cookie` values, tokens and codes in JSON bodies and in
//!   `Location`). Secrets that never travel (HMAC secrets, signing keys) are registered from
//!   the test sources: every `const` whose name says `SECRET`, `PASSWORD`, `TOKEN` or `KEY`
//!   (not `KEY_ID`) and whose value is a string literal.
//! - **Every error response.** [`Watch`] records the status line, headers and body of every
//!   response with a 4xx or 5xx status.
//! - **The check.** When a `TestApp` is dropped (the end of each test), the log lines and
//!   error responses produced while it ran are searched for every credential registered while
//!   it ran and for the source constants, raw and JSON-escaped. A hit fails that test with
//!   the secret (clipped), where it came from and where it appeared.
//!
//! Values shorter than [`MIN_LEN`] bytes or made of digits only are not tracked (they would
//! match by accident). Servers a test builds with `HttpServer::new` directly, and the demo
//! binary the demo tests start, are not wrapped: their logs are captured (when in-process)
//! but their credentials are only known when they come from the sources; wrap such apps with
//! [`Watch`] to include them.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Mutex, OnceLock, PoisonError};

use actix_web::body::{BodySize, BoxBody, MessageBody, to_bytes};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{self, HeaderMap};
use actix_web::{Error, web};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::LogCapture;

/// Shorter values are not tracked.
pub const MIN_LEN: usize = 8;

/// Query, form and JSON fields whose values are credentials.
const SECRET_FIELDS: &[&str] = &[
    "password",
    "new_password",
    "client_secret",
    "code",
    "code_verifier",
    "refresh_token",
    "access_token",
    "id_token",
    "token",
    "api_key",
    "apikey",
    "key",
    "secret",
    "csrf_token",
];

/// A credential the suite used, and where it was seen.
#[derive(Debug, Clone)]
pub struct Known {
    /// The secret.
    pub value: String,
    /// Where it came from (`request GET /orders: authorization`, `const SECRET in hmac.rs`).
    pub origin: String,
}

/// Where the watch stood: what had been captured and registered at some moment.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    lines: usize,
    responses: usize,
    secrets: usize,
}

/// A secret found where it must not be.
#[derive(Debug, Clone)]
pub struct Leak {
    /// The secret, clipped to its first 6 characters.
    pub secret: String,
    /// Where the secret came from.
    pub origin: String,
    /// Where it appeared: `log line`, `error response`, and an excerpt.
    pub found_in: String,
}

#[derive(Default)]
struct State {
    seen: HashSet<String>,
    secrets: Vec<Known>,
    responses: Vec<String>,
}

fn state() -> &'static Mutex<State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    STATE.get_or_init(Mutex::default)
}

fn lock() -> std::sync::MutexGuard<'static, State> {
    state().lock().unwrap_or_else(PoisonError::into_inner)
}

fn trackable(value: &str) -> bool {
    value.len() >= MIN_LEN && !value.bytes().all(|b| b.is_ascii_digit())
}

/// Registers `value` as a credential seen at `origin` (ignored when too short or known).
pub fn register(value: &str, origin: impl FnOnce() -> String) {
    let value = value.trim();
    if !trackable(value) {
        return;
    }
    let mut state = lock();
    if state.seen.insert(value.to_owned()) {
        let origin = origin();
        state.secrets.push(Known {
            value: value.to_owned(),
            origin,
        });
    }
}

/// Records an error response (status line, headers, body) for the check.
pub fn record_error_response(text: String) {
    lock().responses.push(text);
}

/// The watch's position now: what [`check_since`] starts from.
#[must_use]
pub fn mark() -> Mark {
    let lines = LogCapture::install().len();
    let state = lock();
    Mark {
        lines,
        responses: state.responses.len(),
        secrets: state.secrets.len(),
    }
}

/// The credentials registered since `mark`.
#[must_use]
pub fn registered_since(mark: Mark) -> Vec<Known> {
    lock().secrets[mark.secrets..].to_vec()
}

/// The error responses recorded since `mark`, as text (status line, headers, body).
#[must_use]
pub fn error_responses_since(mark: Mark) -> Vec<String> {
    lock().responses[mark.responses..].to_vec()
}

/// Searches the log lines and error responses produced since `mark` for the credentials
/// registered since `mark` and for the source constants.
#[must_use]
pub fn check_since(mark: Mark) -> Vec<Leak> {
    let lines = LogCapture::install().lines_from(mark.lines);
    let (mut secrets, responses) = {
        let state = lock();
        (
            state.secrets[mark.secrets..].to_vec(),
            state.responses[mark.responses..].to_vec(),
        )
    };
    secrets.extend(source_constants().iter().cloned());
    scan(&secrets, &lines, &responses)
}

/// Every place in `lines` (log lines) and `responses` (error responses) where one of
/// `secrets` appears, raw or JSON-escaped.
#[must_use]
pub fn scan(secrets: &[Known], lines: &[String], responses: &[String]) -> Vec<Leak> {
    let mut leaks = Vec::new();
    for secret in secrets {
        let escaped = serde_json::to_string(&secret.value).unwrap_or_default();
        let escaped = escaped.trim_matches('"');
        let found = |text: &str| text.contains(&secret.value) || text.contains(escaped);
        for (kind, texts) in [("log line", lines), ("error response", responses)] {
            for text in texts.iter().filter(|t| found(t)) {
                leaks.push(Leak {
                    secret: secret.value.chars().take(6).collect::<String>() + "…",
                    origin: secret.origin.clone(),
                    found_in: format!(
                        "{kind}: {}",
                        clip(
                            &text
                                .replace(&secret.value, "[SECRET]")
                                .replace(escaped, "[SECRET]"),
                            400
                        )
                    ),
                });
            }
        }
    }
    leaks
}

/// A report of `leaks`, one per line.
#[must_use]
pub fn report(leaks: &[Leak]) -> String {
    let mut out = format!("{} credential leak(s):\n", leaks.len());
    for leak in leaks {
        let _ = writeln!(
            out,
            "- secret {} ({}) appeared in {}",
            leak.secret, leak.origin, leak.found_in
        );
    }
    out
}

fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The string constants of the test sources whose names say they are secrets.
pub fn source_constants() -> &'static [Known] {
    static CONSTANTS: OnceLock<Vec<Known>> = OnceLock::new();
    CONSTANTS.get_or_init(|| {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["src", "tests/it", "tests/it/attacks"] {
            if let Ok(entries) = std::fs::read_dir(root.join(dir)) {
                files.extend(
                    entries
                        .flatten()
                        .map(|e| e.path())
                        .filter(|p| p.extension().is_some_and(|e| e == "rs")),
                );
            }
        }
        files.sort();
        let mut found = Vec::new();
        for file in files {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let name = file.file_name().unwrap_or_default().to_string_lossy();
            found.extend(
                constants_in(&text)
                    .into_iter()
                    .map(|(constant, value)| Known {
                        value,
                        origin: format!("const {constant} in {name}"),
                    }),
            );
        }
        found
    })
}

/// `(NAME, value)` of each `const NAME: &str = "value";` whose name says secret.
fn constants_in(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.trim_start().split_once("const ").map(|(_, r)| r) else {
            continue;
        };
        let Some((name, rest)) = rest.split_once(':') else {
            continue;
        };
        let name = name.trim();
        let secretish = ["SECRET", "PASSWORD", "TOKEN"]
            .iter()
            .any(|w| name.contains(w))
            || name.ends_with("KEY");
        let Some(literal) = rest
            .split_once("= \"")
            .or_else(|| rest.split_once("= b\""))
            .and_then(|(_, l)| l.split_once("\";").map(|(v, _)| v))
        else {
            continue;
        };
        if secretish && trackable(literal) && !literal.contains('\\') {
            found.push((name.to_owned(), literal.to_owned()));
        }
    }
    found
}

/// The middleware [`TestApp`](crate::TestApp) wraps every app in: registers the credentials
/// of each request and response and records error responses (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct Watch;

impl<S, B> Transform<S, ServiceRequest> for Watch
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = Error;
    type Transform = WatchMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(WatchMiddleware {
            service: Rc::new(service),
        }))
    }
}

/// The service [`Watch`] builds.
#[derive(Debug)]
pub struct WatchMiddleware<S> {
    service: Rc<S>,
}

type Boxed<T> = Pin<Box<dyn Future<Output = T>>>;

/// Form bodies up to this size are read for credentials (and handed on unchanged).
const FORM_LIMIT: u64 = 64 * 1024;
/// Response bodies up to this size are read (and handed on unchanged).
const RESPONSE_LIMIT: u64 = 1024 * 1024;

impl<S, B> Service<ServiceRequest> for WatchMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = Error;
    type Future = Boxed<Result<Self::Response, Error>>;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        Box::pin(async move {
            let line = format!("{} {}", req.method(), req.path());
            request_credentials(&line, req.headers(), req.query_string());
            if is_small_form(req.headers()) {
                let body = req.extract::<web::Bytes>().await?;
                fields(&format!("{line}: form"), &String::from_utf8_lossy(&body));
                req.set_payload(Payload::from(body));
            }
            let response = service.call(req).await?;
            let (req, response) = response.into_parts();
            let (head, body) = response.into_parts();
            let small = matches!(body.size(), BodySize::Sized(n) if n <= RESPONSE_LIMIT);
            if !small {
                let response = head.set_body(body).map_into_boxed_body();
                return Ok(ServiceResponse::new(req, response));
            }
            let bytes = to_bytes(body)
                .await
                .map_err(|e| actix_web::error::ErrorInternalServerError(e.into().to_string()))?;
            response_credentials(&line, head.headers(), &bytes);
            if head.status().is_client_error() || head.status().is_server_error() {
                let mut text = format!("{} → {}\n", line, head.status());
                for (name, value) in head.headers() {
                    let _ = writeln!(
                        text,
                        "{name}: {}",
                        String::from_utf8_lossy(value.as_bytes())
                    );
                }
                text.push_str(&String::from_utf8_lossy(&bytes));
                record_error_response(text);
            }
            let response = head.set_body(bytes).map_into_boxed_body();
            Ok(ServiceResponse::new(req, response))
        })
    }
}

fn is_small_form(headers: &HeaderMap) -> bool {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    form && length.is_some_and(|n| n <= FORM_LIMIT)
}

/// Registers the credential fields of `query` (a query string or form body).
fn fields(origin: &str, query: &str) {
    let Ok(pairs) = web::Query::<Vec<(String, String)>>::from_query(query) else {
        return;
    };
    for (name, value) in pairs.into_inner() {
        if SECRET_FIELDS.contains(&name.as_str()) {
            register(&value, || format!("{origin} field {name}"));
        }
    }
}

fn header_values<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> {
    headers.get_all(name).filter_map(|v| v.to_str().ok())
}

fn request_credentials(line: &str, headers: &HeaderMap, query: &str) {
    let origin = |what: &str| format!("request {line}: {what}");
    for name in ["authorization", "proxy-authorization"] {
        for value in header_values(headers, name) {
            let (scheme, credential) = value.split_once(' ').unwrap_or(("", value));
            register(credential, || origin(name));
            if scheme.eq_ignore_ascii_case("basic")
                && let Ok(decoded) = STANDARD.decode(credential.trim())
            {
                let text = String::from_utf8_lossy(&decoded);
                if let Some((_, password)) = text.split_once(':') {
                    register(password, || origin("Basic password"));
                }
            }
            if credential.matches('.').count() == 2 {
                let signature = credential.rsplit('.').next().unwrap_or_default();
                register(signature, || origin("JWT signature"));
            }
        }
    }
    for (name, value) in headers {
        let name = name.as_str();
        let Ok(value) = value.to_str() else { continue };
        if name.contains("api-key") || name.contains("token") || name.contains("secret") {
            register(value, || origin(name));
        }
        if name == "cookie" {
            for pair in value.split(';') {
                if let Some((cookie, value)) = pair.split_once('=') {
                    register(value, || origin(&format!("cookie {}", cookie.trim())));
                }
            }
        }
        if name.ends_with("signature") {
            // RFC 9421 `label=:base64:` members, webhook `t=..,v1=hex` parts, or a bare MAC.
            register(value, || origin(name));
            for part in value.split([',', ';', ' ']) {
                let part = part.split_once('=').map_or(part, |(_, v)| v);
                register(part.trim_matches(':'), || origin(name));
            }
        }
    }
    fields(&format!("request {line}: query"), query);
}

fn response_credentials(line: &str, headers: &HeaderMap, body: &[u8]) {
    let origin = |what: &str| format!("response to {line}: {what}");
    for value in header_values(headers, "set-cookie") {
        let pair = value.split(';').next().unwrap_or_default();
        if let Some((cookie, value)) = pair.split_once('=') {
            register(value, || origin(&format!("Set-Cookie {cookie}")));
        }
    }
    for location in header_values(headers, "location") {
        if let Some((_, query)) = location.split_once(['?', '#']) {
            fields(&origin("Location"), query);
        }
    }
    if let Ok(serde_json::Value::Object(object)) = serde_json::from_slice(body) {
        for (name, value) in &object {
            if let (true, Some(value)) = (SECRET_FIELDS.contains(&name.as_str()), value.as_str()) {
                register(value, || origin(&format!("JSON {name}")));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_constants_are_found_by_name() {
        let text = r#"
const KEY_ID: &str = "client-2025";
const SECRET: &str = "a secret of 32 bytes";
pub(crate) const HS_SECRET: &[u8] = b"bytes secret value";
const WEBHOOK_KEY: &str = "whk_0123456789";
const NAME: &str = "not a secret at all";
const SHORT_PASSWORD: &str = "short";
"#;
        let names: Vec<String> = constants_in(text).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["SECRET", "HS_SECRET", "WEBHOOK_KEY"]);
    }

    #[test]
    fn scan_finds_raw_and_escaped_secrets() {
        let secret = Known {
            value: "p@ss\"word-123".to_owned(),
            origin: "test".to_owned(),
        };
        let lines = vec![r#"{"x":"p@ss\"word-123"}"#.to_owned()];
        let responses = vec!["401\n\np@ss\"word-123".to_owned(), "fine".to_owned()];
        let leaks = scan(&[secret], &lines, &responses);
        assert_eq!(leaks.len(), 2);
        assert!(leaks[0].found_in.starts_with("log line"));
        assert!(leaks[1].found_in.starts_with("error response"));
        assert!(!leaks[0].secret.contains("word"));
    }
}
