//! actix-web's header map as an [`auth_core::HeaderSource`].

use actix_web::http::header::HeaderMap;
use auth_core::{HeaderSource, RepeatedHeader};

/// Adapts actix-web's [`HeaderMap`] to [`HeaderSource`], without copying.
#[derive(Debug, Clone, Copy)]
pub struct ActixHeaders<'a>(pub &'a HeaderMap);

impl HeaderSource for ActixHeaders<'_> {
    fn get(&self, name: &str) -> Option<&[u8]> {
        self.0.get(name).map(|value| value.as_bytes())
    }

    fn get_all(&self, name: &str) -> Vec<&[u8]> {
        self.0.get_all(name).map(|value| value.as_bytes()).collect()
    }

    fn get_one(&self, name: &str) -> Result<Option<&[u8]>, RepeatedHeader> {
        let mut values = self.0.get_all(name);
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
    }
}
