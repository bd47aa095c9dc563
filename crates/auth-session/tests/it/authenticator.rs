//! `SessionAuthenticator`: a logged-in session as a `Principal`.

use auth_core::{AuthRequest, HeaderList, Outcome, Scheme, Scopes, authenticate};
use auth_session::SessionManager;

use crate::support::{Client, DownStore, fixture, key};

async fn outcome(manager: &SessionManager, headers: &HeaderList) -> Outcome {
    let authenticator = manager.authenticator();
    let request = AuthRequest::new("GET", "/protected", headers);
    authenticate(&authenticator, &request).await
}

#[tokio::test]
async fn a_logged_in_session_is_a_principal_named_by_fingerprint() {
    let f = fixture();
    let mut client = Client::default();
    client
        .request(&f.manager, |s| {
            s.login_with_scopes("user-123", Scopes::parse("profile:read").unwrap());
        })
        .await;
    let Outcome::Authenticated(principal) = outcome(&f.manager, &client.headers()).await else {
        panic!("expected a principal");
    };
    assert_eq!(principal.subject(), "user-123");
    assert_eq!(principal.scheme(), Scheme::SESSION);
    assert!(principal.scopes().contains("profile:read"));
    let key_id = principal.key_id().unwrap();
    let fingerprint = client.peek(&f.manager).await.fingerprint().unwrap();
    assert_eq!(key_id, fingerprint);
    let cookie = client.cookie.clone().unwrap();
    let value = cookie.split_once('=').unwrap().1;
    assert!(!value.contains(&key_id[2..]) && !key_id.contains(value));
}

#[tokio::test]
async fn no_cookie_or_an_anonymous_session_is_no_credential() {
    let f = fixture();
    assert!(matches!(
        outcome(&f.manager, &HeaderList::new()).await,
        Outcome::NoCredential
    ));
    let mut client = Client::default();
    client
        .request(&f.manager, |s| s.insert("x", &1).unwrap())
        .await;
    assert!(matches!(
        outcome(&f.manager, &client.headers()).await,
        Outcome::NoCredential
    ));
    assert_eq!(
        f.manager.challenges()[0].to_string(),
        r#"Cookie realm="app""#
    );
}

#[tokio::test]
async fn refused_cookies_are_401_with_the_reason_for_the_audit_log() {
    let f = fixture();
    let mut client = Client::default();
    client.request(&f.manager, |s| s.login("u1")).await;
    let replay = client.clone();
    client.request(&f.manager, |s| s.logout()).await;
    let Outcome::Rejected(rejection) = outcome(&f.manager, &replay.headers()).await else {
        panic!("expected a rejection");
    };
    assert_eq!(rejection.status(), 401);
    assert_eq!(rejection.reason(), "session_not_found");
    assert_eq!(rejection.scheme(), Some(Scheme::SESSION));

    let forged = HeaderList::new().with("Cookie", "__Host-id=AAAA");
    let Outcome::Rejected(rejection) = outcome(&f.manager, &forged).await else {
        panic!("expected a rejection");
    };
    assert_eq!(rejection.reason(), "session_cookie_invalid");
}

#[tokio::test]
async fn duplicate_cookies_are_400_and_a_down_store_503() {
    let f = fixture();
    let mut client = Client::default();
    client.request(&f.manager, |s| s.login("u1")).await;
    let cookie = client.cookie.clone().unwrap();
    let twice = HeaderList::new().with("Cookie", format!("{cookie}; {cookie}"));
    let Outcome::Rejected(rejection) = outcome(&f.manager, &twice).await else {
        panic!("expected a rejection");
    };
    assert_eq!(rejection.status(), 400);
    assert_eq!(rejection.reason(), "duplicate_session_cookie");

    let down = SessionManager::builder(DownStore, auth_session::CookieKeys::new(key(1)))
        .build()
        .unwrap();
    let Outcome::Rejected(rejection) = outcome(&down, &client.headers()).await else {
        panic!("expected a rejection");
    };
    assert_eq!(rejection.status(), 503);
}

#[tokio::test]
async fn the_authenticator_keeps_an_active_session_alive() {
    let f = fixture();
    let mut client = Client::default();
    client.request(&f.manager, |s| s.login("u1")).await;
    for _ in 0..3 {
        f.clock.advance(std::time::Duration::from_secs(20 * 60));
        assert!(matches!(
            outcome(&f.manager, &client.headers()).await,
            Outcome::Authenticated(_)
        ));
    }
}
