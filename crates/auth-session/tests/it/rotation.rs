//! Key rotation: cookies made with a previous key still work and are re-issued under the
//! current one; cookies made with an unknown key are no session.

use std::sync::Arc;

use auth_session::{CookieKeys, CookieProtection, CookieStatus, Refusal, SessionManager};

use crate::support::{Client, fixture_with, key};

fn manager_with(f: &crate::support::Fixture, keys: CookieKeys) -> SessionManager {
    SessionManager::builder(Arc::clone(&f.store), keys)
        .clock(f.clock.shared())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_cookie_made_with_the_previous_key_works_and_is_re_signed() {
    for protection in [CookieProtection::Signed, CookieProtection::Private] {
        let f = fixture_with(|b| b.cookie_protection(protection));
        let mut client = Client::default();
        client.request(&f.manager, |s| s.login("u1")).await;
        let old_cookie = client.cookie.clone();

        // Deploy: key 2 is current, key 1 (the old one) still accepted.
        let rotated = SessionManager::builder(
            Arc::clone(&f.store),
            CookieKeys::new(key(2)).with_previous(key(1)),
        )
        .clock(f.clock.shared())
        .cookie_protection(protection)
        .build()
        .unwrap();
        let session = client.peek(&rotated).await;
        assert_eq!(session.cookie_status(), CookieStatus::Rotated);
        assert_eq!(session.user(), Some("u1"));

        let (_, set_cookie) = client.request(&rotated, |_| ()).await;
        let reissued = set_cookie.expect("a rotated cookie is re-issued");
        assert!(!reissued.is_removal());
        assert_ne!(client.cookie, old_cookie);

        // The re-issued cookie works with the new key alone, for the same session.
        let only_new = SessionManager::builder(Arc::clone(&f.store), CookieKeys::new(key(2)))
            .clock(f.clock.shared())
            .cookie_protection(protection)
            .build()
            .unwrap();
        let session = client.peek(&only_new).await;
        assert_eq!(session.cookie_status(), CookieStatus::Valid);
        assert_eq!(session.user(), Some("u1"));
        assert_eq!(f.store.len(), 1, "same session, no new record");
        // The next request needs no re-issue.
        let (_, set_cookie) = client.request(&only_new, |_| ()).await;
        assert!(set_cookie.is_none());
    }
}

#[tokio::test]
async fn a_cookie_made_with_an_unknown_key_is_no_session() {
    let f = fixture_with(|b| b);
    let mut client = Client::default();
    client.request(&f.manager, |s| s.login("u1")).await;
    let stranger = manager_with(&f, CookieKeys::new(key(3)).with_previous(key(4)));
    let session = client.peek(&stranger).await;
    assert_eq!(
        session.cookie_status(),
        CookieStatus::Refused(Refusal::InvalidCookie)
    );
    assert_eq!(session.user(), None);
    let (_, set_cookie) = client.request(&stranger, |_| ()).await;
    assert!(set_cookie.unwrap().is_removal());
}

#[tokio::test]
async fn signed_and_private_cookies_do_not_open_as_each_other() {
    let f = fixture_with(|b| b.cookie_protection(CookieProtection::Private));
    let mut client = Client::default();
    client.request(&f.manager, |s| s.login("u1")).await;
    let signed = manager_with(&f, CookieKeys::new(key(1)));
    assert_eq!(
        client.peek(&signed).await.cookie_status(),
        CookieStatus::Refused(Refusal::InvalidCookie)
    );
}
