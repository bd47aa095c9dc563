//! actix-web's header map as an [`auth_core::HeaderSource`].

use std::cell::RefCell;

use actix_web::http::header::{HeaderMap, HeaderName};
use auth_core::{HeaderSource, RepeatedHeader};

/// The most header names [`parsed`] remembers per thread.
const REMEMBERED_NAMES: usize = 16;

thread_local! {
    /// Header names already parsed on this thread: parsing a non-standard name (`x-api-key`,
    /// `signature-input`) allocates, on every request. Most names come from the
    /// authenticators' configuration; those a request chooses (RFC 9421 covered components)
    /// can only rotate this bounded list, oldest out.
    static NAMES: RefCell<Vec<(Box<str>, HeaderName)>> = const { RefCell::new(Vec::new()) };
}

/// `name` as a [`HeaderName`] (`None` when it is not a valid one).
fn parsed(name: &str) -> Option<HeaderName> {
    NAMES.with(|names| {
        let mut names = names.borrow_mut();
        if let Some((_, parsed)) = names.iter().find(|(known, _)| &**known == name) {
            return Some(parsed.clone());
        }
        let parsed = HeaderName::from_bytes(name.as_bytes()).ok()?;
        if names.len() == REMEMBERED_NAMES {
            names.remove(0);
        }
        names.push((name.into(), parsed.clone()));
        Some(parsed)
    })
}

/// Adapts actix-web's [`HeaderMap`] to [`HeaderSource`], without copying.
#[derive(Debug, Clone, Copy)]
pub struct ActixHeaders<'a>(pub &'a HeaderMap);

impl HeaderSource for ActixHeaders<'_> {
    fn get(&self, name: &str) -> Option<&[u8]> {
        self.0.get(&parsed(name)?).map(|value| value.as_bytes())
    }

    fn get_all(&self, name: &str) -> Vec<&[u8]> {
        let Some(name) = parsed(name) else {
            return Vec::new();
        };
        self.0
            .get_all(&name)
            .map(|value| value.as_bytes())
            .collect()
    }

    fn get_one(&self, name: &str) -> Result<Option<&[u8]>, RepeatedHeader> {
        let Some(name) = parsed(name) else {
            return Ok(None);
        };
        let mut values = self.0.get_all(&name);
        match (values.next(), values.next()) {
            (None, _) => Ok(None),
            (Some(value), None) => Ok(Some(value.as_bytes())),
            (Some(_), Some(_)) => Err(RepeatedHeader),
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    #[test]
    fn get_one_agrees_with_get_all() {
        let mut map = HeaderMap::new();
        map.insert(
            HeaderName::from_static("x-api-key"),
            HeaderValue::from_static("k"),
        );
        map.append(
            HeaderName::from_static("cookie"),
            HeaderValue::from_static("a=1"),
        );
        map.append(
            HeaderName::from_static("cookie"),
            HeaderValue::from_static("b=2"),
        );
        let headers = ActixHeaders(&map);
        assert_eq!(headers.get_one("X-Api-Key"), Ok(Some(&b"k"[..])));
        assert_eq!(headers.get_one("authorization"), Ok(None));
        assert_eq!(headers.get_one("Cookie"), Err(RepeatedHeader));
        assert_eq!(headers.get_all("cookie"), [&b"a=1"[..], &b"b=2"[..]]);
        // Remembered names answer the same; an invalid name finds nothing.
        assert_eq!(headers.get_one("X-Api-Key"), Ok(Some(&b"k"[..])));
        assert_eq!(headers.get("bad name"), None);
        assert_eq!(headers.get_one("bad name"), Ok(None));
        // More names than the list holds: still right.
        for i in 0..2 * REMEMBERED_NAMES {
            assert_eq!(headers.get_one(&format!("x-other-{i}")), Ok(None));
        }
        assert_eq!(headers.get("x-api-key"), Some(&b"k"[..]));
    }
}
