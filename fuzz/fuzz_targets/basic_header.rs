//! `Authorization: Basic ...` (RFC 7617): `BasicCredentials::parse` never panics, what it
//! accepts is well-formed and survives `header_value` → `parse` unchanged, and anything built
//! with `BasicCredentials::new` from a valid user name and password parses back to itself.
#![no_main]

use auth_basic::{BasicCredentials, CodecError};
use libfuzzer_sys::fuzz_target;

fn valid(username: &str, password: &str) -> bool {
    !username.is_empty()
        && !username.contains(':')
        && !username
            .chars()
            .chain(password.chars())
            .any(char::is_control)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    // Any header value: parse, and re-encode what was accepted.
    match BasicCredentials::parse_with_limit(text, usize::MAX) {
        Ok(Some(credentials)) => {
            let username = credentials.username();
            let password = credentials.password().expose_str().expect("UTF-8 password");
            assert!(valid(username, password), "accepted invalid credentials");
            let again = BasicCredentials::parse_with_limit(&credentials.header_value(), usize::MAX)
                .expect("re-encoded credentials parse")
                .expect("re-encoded credentials are Basic");
            assert_eq!(again.username(), username);
            assert_eq!(again.password(), credentials.password());
        }
        Ok(None) => {
            let scheme = text.split(' ').next().unwrap_or_default();
            assert!(
                !scheme.eq_ignore_ascii_case("basic"),
                "Basic header skipped"
            );
        }
        Err(_) => {}
    }
    // The default limit only ever adds `TooLong`.
    if let Err(e) = BasicCredentials::parse(text)
        && e != CodecError::TooLong
    {
        let unlimited = BasicCredentials::parse_with_limit(text, usize::MAX);
        assert_eq!(unlimited.err(), Some(e));
    }

    // Any user name and password: encode, then decode.
    let (username, password) = text.split_once(':').unwrap_or((text, ""));
    let username = username.replace(':', "");
    let header = BasicCredentials::new(username.as_str(), password).header_value();
    match BasicCredentials::parse_with_limit(&header, usize::MAX) {
        Ok(Some(parsed)) => {
            assert!(valid(&username, password));
            assert_eq!(parsed.username(), username);
            assert_eq!(parsed.password().expose_str(), Some(password));
        }
        Ok(None) => panic!("our own header is not Basic"),
        Err(e) => assert!(
            !valid(&username, password),
            "valid credentials rejected: {e:?}"
        ),
    }
});
