//! The session lifecycle: creation on write, fixation-proof login, renewal, logout, "log out
//! everywhere", the per-user cap, idle and absolute timeouts, data and flash messages.

use std::time::Duration;

use auth_core::Scopes;
use auth_session::{CookieStatus, Error, Flash, FlashLevel, Refusal, SessionManager, StoreError};

use crate::support::{Client, DownStore, cookie_pair, fixture, fixture_with};

const MINUTE: Duration = Duration::from_secs(60);

async fn logged_in(manager: &SessionManager, user: &str) -> Client {
    let mut client = Client::default();
    client.request(manager, |s| s.login(user)).await;
    assert!(client.cookie.is_some());
    client
}

fn status(session: &auth_session::Session) -> CookieStatus {
    session.cookie_status()
}

#[tokio::test]
async fn nothing_is_created_until_something_is_written() {
    let f = fixture();
    let mut client = Client::default();
    let (value, set_cookie) = client
        .request(&f.manager, |s| s.get::<String>("cart").unwrap())
        .await;
    assert_eq!(value, None);
    assert!(set_cookie.is_none(), "reading creates nothing");
    assert!(f.store.is_empty());

    let (_, set_cookie) = client
        .request(&f.manager, |s| s.insert("cart", &["apple"]).unwrap())
        .await;
    assert!(set_cookie.is_some_and(|c| !c.is_removal()));
    assert_eq!(f.store.len(), 1);
    let session = client.peek(&f.manager).await;
    assert_eq!(status(&session), CookieStatus::Valid);
    assert_eq!(
        session.get::<Vec<String>>("cart").unwrap().unwrap(),
        ["apple"]
    );
    assert_eq!(session.user(), None);
}

#[tokio::test]
async fn an_unchanged_session_sends_no_cookie_and_writes_nothing() {
    let f = fixture();
    let mut client = logged_in(&f.manager, "u1").await;
    let (_, set_cookie) = client
        .request(&f.manager, |s| s.user().map(str::to_owned))
        .await;
    assert!(set_cookie.is_none());
}

#[tokio::test]
async fn login_issues_a_new_id_and_the_pre_login_id_is_worthless() {
    // Session fixation (OWASP): the attacker gets an anonymous session, plants its cookie
    // in the victim's browser, and waits for the victim to log in.
    let f = fixture();
    let mut victim = Client::default();
    victim
        .request(&f.manager, |s| s.insert("cart", "apple").unwrap())
        .await;
    let planted = victim.cookie.clone().unwrap();
    let attacker = Client::with_cookie(&planted);
    let token_before = victim
        .request(&f.manager, |s| s.csrf_token().unwrap())
        .await
        .0;

    let (token_after, set_cookie) = victim
        .request(&f.manager, |s| {
            s.login("victim");
            s.csrf_token().unwrap()
        })
        .await;
    let issued = cookie_pair(&set_cookie.unwrap());
    assert_ne!(issued, planted, "login must not keep the id sent before it");
    assert_ne!(
        token_after, token_before,
        "a new id comes with a new CSRF token"
    );

    let theirs = attacker.peek(&f.manager).await;
    assert_eq!(status(&theirs), CookieStatus::Refused(Refusal::NotFound));
    assert_eq!(theirs.user(), None);

    let mine = victim.peek(&f.manager).await;
    assert_eq!(mine.user(), Some("victim"));
    assert_eq!(
        mine.get::<String>("cart").unwrap().as_deref(),
        Some("apple"),
        "data carried"
    );
    assert_eq!(f.store.len(), 1, "the old record is gone");
}

#[tokio::test]
async fn switching_users_drops_the_previous_users_data() {
    let f = fixture();
    let mut client = logged_in(&f.manager, "alice").await;
    client
        .request(&f.manager, |s| s.insert("secret", "alice's").unwrap())
        .await;
    client.request(&f.manager, |s| s.login("bob")).await;
    let session = client.peek(&f.manager).await;
    assert_eq!(session.user(), Some("bob"));
    assert!(!session.contains_key("secret"));
}

#[tokio::test]
async fn renewal_and_scope_changes_move_to_a_new_id_and_keep_the_rest() {
    let f = fixture();
    let mut client = Client::default();
    client
        .request(&f.manager, |s| {
            s.login_with_scopes("u1", Scopes::parse("read").unwrap());
            s.insert("k", &1).unwrap();
        })
        .await;
    let before = client.clone();
    let login_time = client.peek(&f.manager).await.authenticated_at();

    f.clock.advance(5 * MINUTE);
    client
        .request(&f.manager, |s| {
            s.set_scopes(Scopes::parse("read admin").unwrap()).unwrap();
        })
        .await;
    assert_ne!(client.cookie, before.cookie);
    assert_eq!(
        status(&before.peek(&f.manager).await),
        CookieStatus::Refused(Refusal::NotFound)
    );
    let session = client.peek(&f.manager).await;
    assert_eq!(session.user(), Some("u1"));
    assert!(session.scopes().contains("admin"));
    assert_eq!(session.get::<i32>("k").unwrap(), Some(1));
    assert_eq!(session.authenticated_at(), login_time);

    let mut anonymous = Client::default();
    let (result, _) = anonymous
        .request(&f.manager, |s| s.set_scopes(Scopes::new()))
        .await;
    assert!(matches!(result, Err(Error::NotLoggedIn)));
}

#[tokio::test]
async fn the_absolute_timeout_survives_renewal() {
    let f = fixture();
    let mut client = logged_in(&f.manager, "u1").await;
    // Active every 20 minutes, renewed every hour, for 12 hours.
    for step in 1..36 {
        f.clock.advance(20 * MINUTE);
        client
            .request(&f.manager, |s| {
                if step % 3 == 0 {
                    s.renew();
                }
            })
            .await;
        assert!(client.cookie.is_some(), "still logged in at step {step}");
    }
    f.clock.advance(20 * MINUTE);
    let session = client.peek(&f.manager).await;
    assert_eq!(
        status(&session),
        CookieStatus::Refused(Refusal::AbsoluteTimeout)
    );
}

#[tokio::test]
async fn logout_deletes_the_record_and_removes_the_cookie() {
    let f = fixture();
    let mut client = logged_in(&f.manager, "u1").await;
    let replay = client.clone();
    let (_, set_cookie) = client.request(&f.manager, |s| s.logout()).await;
    let removal = set_cookie.unwrap();
    assert!(removal.is_removal());
    assert!(removal.expose_header_value().contains("Max-Age=0"));
    assert_eq!(client.cookie, None);
    assert!(f.store.is_empty());

    let replayed = replay.peek(&f.manager).await;
    assert_eq!(status(&replayed), CookieStatus::Refused(Refusal::NotFound));
    assert_eq!(replayed.user(), None);
}

#[tokio::test]
async fn a_flash_after_logout_starts_a_new_anonymous_session() {
    let f = fixture();
    let mut client = logged_in(&f.manager, "u1").await;
    let old = client.cookie.clone();
    client
        .request(&f.manager, |s| {
            s.logout();
            s.flash(FlashLevel::Info, "You are logged out").unwrap();
        })
        .await;
    assert!(client.cookie.is_some() && client.cookie != old);
    let (flashes, _) = client
        .request(&f.manager, |s| {
            (s.user().map(str::to_owned), s.take_flashes().unwrap())
        })
        .await;
    assert_eq!(flashes.0, None);
    assert_eq!(
        flashes.1,
        [Flash {
            level: FlashLevel::Info,
            message: "You are logged out".into()
        }]
    );
}

#[tokio::test]
async fn logout_everywhere_ends_every_session_of_the_user_only() {
    let f = fixture();
    let mut laptop = logged_in(&f.manager, "alice").await;
    let phone = logged_in(&f.manager, "alice").await;
    let tablet = logged_in(&f.manager, "alice").await;
    let bob = logged_in(&f.manager, "bob").await;
    assert_eq!(f.manager.sessions_of("alice").await.unwrap().len(), 3);

    laptop.request(&f.manager, |s| s.logout_everywhere()).await;
    for client in [&laptop, &phone, &tablet] {
        assert_eq!(client.peek(&f.manager).await.user(), None);
    }
    assert_eq!(bob.peek(&f.manager).await.user(), Some("bob"));

    // And from outside a request (an admin console, a password change).
    let again = logged_in(&f.manager, "alice").await;
    assert_eq!(f.manager.logout_everywhere("alice").await.unwrap(), 1);
    assert_eq!(again.peek(&f.manager).await.user(), None);
}

#[tokio::test]
async fn one_session_can_be_ended_by_its_fingerprint() {
    let f = fixture();
    let phone = logged_in(&f.manager, "alice").await;
    let laptop = logged_in(&f.manager, "alice").await;
    let fingerprint = phone.peek(&f.manager).await.fingerprint().unwrap();
    assert!(!f.manager.end_session("bob", &fingerprint).await.unwrap());
    assert!(f.manager.end_session("alice", &fingerprint).await.unwrap());
    assert_eq!(phone.peek(&f.manager).await.user(), None);
    assert_eq!(laptop.peek(&f.manager).await.user(), Some("alice"));
}

#[tokio::test]
async fn the_per_user_cap_evicts_the_oldest_session() {
    let f = fixture_with(|b| b.max_sessions_per_user(2));
    let first = logged_in(&f.manager, "alice").await;
    f.clock.advance(MINUTE);
    let second = logged_in(&f.manager, "alice").await;
    f.clock.advance(MINUTE);
    let third = logged_in(&f.manager, "alice").await;

    assert_eq!(
        first.peek(&f.manager).await.user(),
        None,
        "the oldest is evicted"
    );
    assert_eq!(second.peek(&f.manager).await.user(), Some("alice"));
    assert_eq!(third.peek(&f.manager).await.user(), Some("alice"));
    assert_eq!(f.manager.sessions_of("alice").await.unwrap().len(), 2);

    // Renewing does not count as another session.
    let mut third = third;
    third.request(&f.manager, |s| s.renew()).await;
    assert_eq!(second.peek(&f.manager).await.user(), Some("alice"));
}

#[tokio::test]
async fn the_idle_timeout_ends_an_unused_session_and_activity_extends_it() {
    let f = fixture();
    let mut client = logged_in(&f.manager, "u1").await;
    for _ in 0..4 {
        f.clock.advance(29 * MINUTE);
        client.request(&f.manager, |_| ()).await;
        assert!(client.cookie.is_some());
        assert_eq!(client.peek(&f.manager).await.user(), Some("u1"));
    }
    f.clock.advance(30 * MINUTE);
    let (_, set_cookie) = client.request(&f.manager, |s| s.user().is_none()).await;
    assert!(
        set_cookie.unwrap().is_removal(),
        "the stale cookie is removed"
    );
    assert!(f.store.is_empty(), "the expired record is deleted");
}

#[tokio::test]
async fn the_idle_timeout_is_reported_as_such() {
    let f = fixture();
    let client = logged_in(&f.manager, "u1").await;
    f.clock.advance(30 * MINUTE);
    assert_eq!(
        status(&client.peek(&f.manager).await),
        CookieStatus::Refused(Refusal::IdleTimeout)
    );
}

#[tokio::test]
async fn a_shorter_timeout_applies_to_existing_sessions_at_once() {
    let f = fixture();
    let client = logged_in(&f.manager, "u1").await;
    f.clock.advance(10 * MINUTE);
    let stricter = auth_session::SessionManager::builder(
        std::sync::Arc::clone(&f.store),
        auth_session::CookieKeys::new(crate::support::key(1)),
    )
    .clock(f.clock.shared())
    .idle_timeout(5 * MINUTE)
    .build()
    .unwrap();
    assert_eq!(
        status(&client.peek(&stricter).await),
        CookieStatus::Refused(Refusal::IdleTimeout)
    );
}

#[tokio::test]
async fn last_seen_is_written_once_per_touch_interval_not_per_request() {
    let f = fixture();
    let mut client = logged_in(&f.manager, "u1").await;
    let at_login = f.manager.sessions_of("u1").await.unwrap()[0].last_seen;
    f.clock.advance(Duration::from_secs(30));
    client.request(&f.manager, |_| ()).await;
    let seen = f.manager.sessions_of("u1").await.unwrap()[0].last_seen;
    assert_eq!(seen, at_login, "within the interval: no write");
    f.clock.advance(Duration::from_secs(31));
    client.request(&f.manager, |_| ()).await;
    let seen = f.manager.sessions_of("u1").await.unwrap()[0].last_seen;
    assert_eq!(seen, at_login + Duration::from_secs(61));
}

#[tokio::test]
async fn concurrent_requests_changing_different_keys_both_keep_their_change() {
    let f = fixture();
    let mut client = Client::default();
    client
        .request(&f.manager, |s| s.insert("seed", &0).unwrap())
        .await;

    // Two requests load the same session before either saves.
    let mut first = f.manager.load(&client.headers()).await.unwrap();
    let mut second = f.manager.load(&client.headers()).await.unwrap();
    first.insert("theme", "dark").unwrap();
    second.insert("lang", "fr").unwrap();
    second.remove("seed");
    f.manager.commit(first).await.unwrap();
    f.manager.commit(second).await.unwrap();

    let session = client.peek(&f.manager).await;
    assert_eq!(
        session.get::<String>("theme").unwrap().as_deref(),
        Some("dark")
    );
    assert_eq!(
        session.get::<String>("lang").unwrap().as_deref(),
        Some("fr")
    );
    assert!(!session.contains_key("seed"));

    // The same key: the later commit wins.
    let mut first = f.manager.load(&client.headers()).await.unwrap();
    let mut second = f.manager.load(&client.headers()).await.unwrap();
    first.insert("theme", "light").unwrap();
    second.insert("theme", "solarized").unwrap();
    f.manager.commit(first).await.unwrap();
    f.manager.commit(second).await.unwrap();
    let session = client.peek(&f.manager).await;
    assert_eq!(
        session.get::<String>("theme").unwrap().as_deref(),
        Some("solarized")
    );
}

#[tokio::test]
async fn a_save_after_a_concurrent_logout_does_not_resurrect_the_session() {
    let f = fixture();
    let client = logged_in(&f.manager, "u1").await;
    let mut slow = f.manager.load(&client.headers()).await.unwrap();
    let mut other_tab = client.clone();
    other_tab.request(&f.manager, |s| s.logout()).await;
    slow.insert("late", &1).unwrap();
    let set_cookie = f.manager.commit(slow).await.unwrap().unwrap();
    assert!(set_cookie.is_removal());
    assert!(f.store.is_empty());
}

#[tokio::test]
async fn flash_messages_are_shown_once() {
    let f = fixture();
    let mut client = Client::default();
    client
        .request(&f.manager, |s| {
            s.flash(FlashLevel::Success, "Saved").unwrap();
            s.flash(FlashLevel::Warning, "Check your email").unwrap();
        })
        .await;
    let (flashes, _) = client
        .request(&f.manager, |s| s.take_flashes().unwrap())
        .await;
    assert_eq!(flashes.len(), 2);
    assert_eq!(flashes[0].message, "Saved");
    let (flashes, _) = client
        .request(&f.manager, |s| s.take_flashes().unwrap())
        .await;
    assert_eq!(flashes, []);
}

#[tokio::test]
async fn typed_values_reserved_keys_and_the_data_limit() {
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Cart {
        items: Vec<String>,
        total_cents: u64,
    }
    let f = fixture_with(|b| b.max_data_bytes(200));
    let mut client = Client::default();
    let cart = Cart {
        items: vec!["apple".into()],
        total_cents: 120,
    };
    let (results, _) = client
        .request(&f.manager, |s| {
            (
                s.insert("cart", &cart).is_ok(),
                matches!(s.insert("$flash", &1), Err(Error::ReservedKey(_))),
                matches!(
                    s.insert("big", &"x".repeat(300)),
                    Err(Error::DataTooLarge { max: 200, .. })
                ),
            )
        })
        .await;
    assert_eq!(results, (true, true, true));
    let session = client.peek(&f.manager).await;
    assert_eq!(session.get::<Cart>("cart").unwrap(), Some(cart));
    assert!(!session.contains_key("big"));
    assert!(matches!(
        session.get::<u64>("cart"),
        Err(Error::Value { .. })
    ));
    assert_eq!(session.keys(), ["cart"]);
}

#[tokio::test]
async fn the_csrf_token_is_stable_within_a_session() {
    let f = fixture();
    let mut client = logged_in(&f.manager, "u1").await;
    let (first, _) = client
        .request(&f.manager, |s| s.csrf_token().unwrap())
        .await;
    let (second, _) = client
        .request(&f.manager, |s| s.csrf_token().unwrap())
        .await;
    assert_eq!(first, second);
    assert_eq!(first.len(), 43);
}

#[tokio::test]
async fn a_store_that_is_down_fails_closed() {
    let manager = SessionManager::builder(
        DownStore,
        auth_session::CookieKeys::new(crate::support::key(1)),
    )
    .build()
    .unwrap();
    let f = fixture();
    let client = logged_in(&f.manager, "u1").await;
    let error = manager.load(&client.headers()).await.unwrap_err();
    assert!(matches!(error, Error::Store(StoreError::Unavailable(_))));
    let rejection = error.to_rejection(&[]);
    assert_eq!(rejection.status(), 503);
    assert!(!rejection.json_body().contains("10.0.0.9"));

    let mut session = manager.load(&auth_core::HeaderList::new()).await.unwrap();
    session.login("u1");
    assert!(matches!(
        manager.commit(session).await,
        Err(Error::Store(_))
    ));
}

#[tokio::test]
async fn insecure_and_inconsistent_settings_are_refused_at_build() {
    use auth_session::ConfigError;
    let build = |configure: fn(
        auth_session::SessionManagerBuilder,
    ) -> auth_session::SessionManagerBuilder| {
        configure(SessionManager::builder(
            auth_session::MemoryStore::default(),
            auth_session::CookieKeys::new(crate::support::key(1)),
        ))
        .build()
        .map(|_| ())
    };
    assert_eq!(
        build(|b| b.cookie_secure(false)),
        Err(ConfigError::InsecureCookie)
    );
    assert!(build(|b| b.cookie_secure(false).insecure_dev_cookie_without_secure()).is_ok());
    assert!(
        build(|b| b
            .insecure_dev_cookie_without_secure()
            .same_site(auth_session::SameSite::None))
        .is_err()
    );
    assert!(build(|b| b.idle_timeout(Duration::ZERO)).is_err());
    assert!(build(|b| b.idle_timeout(2 * MINUTE).absolute_timeout(MINUTE)).is_err());
    assert!(build(|b| b.touch_interval(31 * MINUTE)).is_err());
    assert!(build(|b| b.max_sessions_per_user(0)).is_err());
    assert!(build(|b| b.max_data_bytes(0)).is_err());
    assert!(build(|b| b.cookie_name("__Host-x")).is_err());
    assert!(build(|b| b.csrf(auth_session::CsrfConfig::new().trusted_origin("evil"))).is_err());
    assert!(build(|b| b).is_ok());
}
