//! The attack suite of `SECURITY.md`, through real servers: the rows that the schemes' own
//! end-to-end files do not already cover, and the regression tests for the CVEs of peer
//! libraries. Every attack test is named `attack_*` and has a row in the catalogue
//! (`security_catalogue` checks both ways).
//!
//! Each attack goes to a path of its own, so its audit event (and the reason it records)
//! can be found in the shared log capture.

mod hmac;
mod jwt;
mod oauth2;

use actix_web::{App, HttpResponse, web};
use auth_actix::{Authenticate, Authenticated, Authenticator};
use auth_tests::{LogCapture, TestApp};
use reqwest::{RequestBuilder, StatusCode};

/// A server where every path is behind `auth` and answers 200 with the subject.
pub(crate) fn protected<A: Authenticator + 'static>(auth: Authenticate<A>) -> TestApp {
    TestApp::spawn(move || {
        App::new()
            .default_service(web::to(|user: Authenticated| async move {
                HttpResponse::Ok().body(user.subject().to_owned())
            }))
            .wrap(auth.clone())
    })
}

/// Sends `request` (to `path`) and asserts the answer's status and the reason its audit
/// event records. Returns the response body.
pub(crate) async fn expect(
    request: RequestBuilder,
    path: &str,
    status: StatusCode,
    reason: &str,
) -> String {
    let logs = LogCapture::install();
    let response = request.send().await.expect("the server answers");
    assert_eq!(response.status(), status, "{path}");
    let body = response.text().await.unwrap();
    let reasons: Vec<String> = logs
        .audit_events(path)
        .iter()
        .filter_map(|e| e["reason"].as_str().map(str::to_owned))
        .collect();
    assert!(
        reasons.iter().any(|r| r == reason),
        "{path}: expected audit reason {reason}, got {reasons:?}"
    );
    body
}
