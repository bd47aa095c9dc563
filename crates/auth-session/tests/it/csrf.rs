//! CSRF: the synchronizer token bound to the session, through the public API.

use auth_core::{AuthRequest, HeaderList};
use auth_session::CsrfError;

use crate::support::{Client, fixture};

#[tokio::test]
async fn unsafe_requests_with_a_session_need_its_token() {
    let f = fixture();
    let csrf = f.manager.csrf();
    let mut client = Client::default();
    let (token, _) = client
        .request(&f.manager, |s| {
            s.login("u1");
            s.csrf_token().unwrap()
        })
        .await;
    let mut other = Client::default();
    let (other_token, _) = other.request(&f.manager, |s| s.csrf_token().unwrap()).await;
    let session = client.peek(&f.manager).await;

    let check = |headers: &HeaderList, method: &str, body: Option<&[u8]>| {
        let request = AuthRequest::new(method, "/transfer", headers);
        csrf.check_token(&request, &session, body)
    };
    let base = client.headers();
    assert_eq!(check(&base, "POST", None), Err(CsrfError::TokenMissing));
    assert_eq!(check(&base, "GET", None), Ok(()), "safe methods need none");
    let wrong = client.headers().with("X-CSRF-Token", other_token.as_str());
    assert_eq!(check(&wrong, "DELETE", None), Err(CsrfError::TokenMismatch));
    let right = client.headers().with("X-CSRF-Token", token.as_str());
    assert_eq!(check(&right, "POST", None), Ok(()));
    let twice = right.clone().with("x-csrf-token", token.as_str());
    assert_eq!(check(&twice, "POST", None), Err(CsrfError::TokenMismatch));

    let form = client.headers().with(
        "Content-Type",
        "application/x-www-form-urlencoded; charset=UTF-8",
    );
    let request = AuthRequest::new("POST", "/transfer", &form);
    assert!(csrf.wants_form_body(&request, &session));
    let body = format!("amount=10&csrf_token={token}");
    assert_eq!(check(&form, "POST", Some(body.as_bytes())), Ok(()));
    assert_eq!(
        check(&form, "POST", Some(b"amount=10")),
        Err(CsrfError::TokenMissing)
    );
    assert!(!csrf.wants_form_body(&AuthRequest::new("POST", "/", &right), &session));
}

#[tokio::test]
async fn requests_without_a_session_need_no_token() {
    let f = fixture();
    let session = Client::default().peek(&f.manager).await;
    let headers = HeaderList::new();
    let request = AuthRequest::new("POST", "/login", &headers);
    assert_eq!(
        f.manager.csrf().check_token(&request, &session, None),
        Ok(())
    );
}

#[tokio::test]
async fn every_refusal_answers_the_same_body() {
    let bodies: Vec<&str> = [
        CsrfError::CrossSite,
        CsrfError::OriginMismatch,
        CsrfError::TokenMissing,
        CsrfError::TokenMismatch,
    ]
    .iter()
    .map(CsrfError::json_body)
    .collect();
    assert!(bodies.iter().all(|b| *b == bodies[0]));
    assert!(bodies[0].contains("\"csrf_failed\""));
    assert_eq!(CsrfError::STATUS, 403);
}
