//! Session cookies: the `Cookie` header parsing (duplicates, case variants), the signed
//! (HMAC) and private (AEAD) cookie values, and the session id decoding, through
//! `SessionManager::load`. Also `auth_session::form_field`, the CSRF token reader.
//!
//! At start-up each manager (signed, private) issues one cookie `V` for a logged-in session.
//! The first byte picks the mode; the rest is:
//! - 0: a `Cookie` header value, with every `$V` replaced by the issued value (so the fuzzer
//!   can place a genuine cookie among others);
//! - 1: `(position, byte)` pairs applied to `<name>=V` (tampering).
//!
//! Properties: no panic; a session is honoured (`Valid`) only when the header holds
//! `<name>=V` exactly, and then it is the logged-in one; two cookies with our name (in any
//! case) are refused; any change to `V` is refused.
#![no_main]

use std::sync::LazyLock;
use std::time::{Duration, SystemTime};

use auth_core::{HeaderList, ManualClock};
use auth_fuzz::ready;
use auth_session::{
    CookieKey, CookieKeys, CookieProtection, CookieStatus, Error, MemoryStore, SessionManager,
    form_field,
};
use libfuzzer_sys::fuzz_target;

struct Issued {
    manager: SessionManager,
    value: String,
}

fn issue(protection: CookieProtection) -> Issued {
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let keys = CookieKeys::new(CookieKey::from_bytes(&[1; 64]).expect("key"))
        .with_previous(CookieKey::from_bytes(&[2; 64]).expect("key"));
    let manager = SessionManager::builder(MemoryStore::new(clock.shared()), keys)
        .clock(clock.shared())
        .cookie_protection(protection)
        .build()
        .expect("manager");
    let mut session = ready(manager.load(&HeaderList::new())).expect("empty session");
    session.login("alice");
    let set_cookie = ready(manager.commit(session))
        .expect("commit")
        .expect("a cookie");
    let header = set_cookie.expose_header_value();
    let pair = header.split(';').next().expect("name=value");
    let (name, value) = pair.split_once('=').expect("name=value");
    assert_eq!(name, manager.cookie_name());
    Issued {
        manager,
        value: value.to_owned(),
    }
}

static ISSUED: LazyLock<[Issued; 2]> = LazyLock::new(|| {
    [
        issue(CookieProtection::Signed),
        issue(CookieProtection::Private),
    ]
});

fn check(issued: &Issued, header: &[u8]) {
    let headers = HeaderList::new().with("Cookie", header.to_vec());
    let name = issued.manager.cookie_name();
    match ready(issued.manager.load(&headers)) {
        Ok(session) => match session.cookie_status() {
            CookieStatus::Valid => {
                assert_eq!(session.user(), Some("alice"));
                let text = String::from_utf8_lossy(header);
                let genuine = text.split(';').any(|c| {
                    c.split_once('=').is_some_and(|(n, v)| {
                        n.trim() == name && v.trim().trim_matches('"') == issued.value
                    })
                });
                assert!(
                    genuine,
                    "a session was honoured for another cookie: {text:?}"
                );
            }
            CookieStatus::Rotated => panic!("no cookie was made with the previous key"),
            _ => {
                assert_eq!(session.user(), None);
            }
        },
        Err(Error::DuplicateCookie) => {
            let text = String::from_utf8_lossy(header).to_ascii_lowercase();
            let ours = name.to_ascii_lowercase();
            assert!(
                text.matches(&ours).count() >= 2,
                "a single cookie called duplicate"
            );
        }
        Err(other) => panic!("load failed on a header alone: {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let _ = form_field(rest, "csrf_token");
    for issued in ISSUED.iter() {
        match mode % 2 {
            0 => {
                let text = String::from_utf8_lossy(rest).replace("$V", &issued.value);
                check(issued, text.as_bytes());
            }
            _ => {
                let mut value = issued.value.clone().into_bytes();
                for pair in rest.chunks_exact(2) {
                    let at = usize::from(pair[0]) % value.len();
                    value[at] = pair[1];
                }
                let mut header = format!("{}=", issued.manager.cookie_name()).into_bytes();
                header.extend_from_slice(&value);
                check(issued, &header);
                if value != issued.value.as_bytes() {
                    let headers = HeaderList::new().with("Cookie", header);
                    let session = ready(issued.manager.load(&headers));
                    assert!(
                        session.is_err() || session.as_ref().is_ok_and(|s| s.user().is_none()),
                        "a tampered cookie was honoured"
                    );
                }
            }
        }
    }
});
