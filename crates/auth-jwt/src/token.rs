//! Strict JWS compact parsing: three base64url segments, JSON objects without duplicate
//! members.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::VerifyError;

const DUPLICATE: &str = "duplicate member: ";

/// A JSON object whose member names are unique (RFC 7519 §4, RFC 8725 §3.9: a parser that
/// keeps the last duplicate lets an attacker smuggle a second `sub` past a filter).
pub(crate) struct StrictObject(pub(crate) Map<String, Value>);

impl<'de> Deserialize<'de> for StrictObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = StrictObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<StrictObject, A::Error> {
                let mut map = Map::new();
                while let Some(name) = access.next_key::<String>()? {
                    if map.contains_key(&name) {
                        return Err(de::Error::custom(format!("{DUPLICATE}{name}")));
                    }
                    let value: Value = access.next_value()?;
                    map.insert(name, value);
                }
                Ok(StrictObject(map))
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// Parses `bytes` as a JSON object with unique member names.
pub(crate) fn parse_object(
    bytes: &[u8],
    what: &'static str,
) -> Result<Map<String, Value>, VerifyError> {
    match serde_json::from_slice::<StrictObject>(bytes) {
        Ok(object) => Ok(object.0),
        Err(error) => {
            let text = error.to_string();
            match text.find(DUPLICATE) {
                Some(at) => {
                    let rest = &text[at + DUPLICATE.len()..];
                    let name = rest.split(" at line").next().unwrap_or(rest);
                    Err(VerifyError::DuplicateMember(name.to_owned()))
                }
                None => Err(VerifyError::Malformed(what)),
            }
        }
    }
}

/// Strict base64url without padding (RFC 7515 §2): no `=`, `+`, `/` or whitespace, and no
/// non-zero trailing bits (so one token has one encoding).
pub(crate) fn b64_decode(segment: &str, what: &'static str) -> Result<Vec<u8>, VerifyError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| VerifyError::Malformed(what))
}

/// The three segments of a compact JWS, and the signing input.
pub(crate) struct Compact<'a> {
    pub(crate) header: &'a str,
    pub(crate) payload: &'a str,
    pub(crate) signature: &'a str,
    pub(crate) signing_input: &'a str,
}

/// Splits a compact JWS into exactly three non-empty-header segments.
pub(crate) fn split(token: &str) -> Result<Compact<'_>, VerifyError> {
    let mut parts = token.splitn(4, '.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed("a JWS has three segments"));
    };
    if header.is_empty() || payload.is_empty() {
        return Err(VerifyError::Malformed("empty segment"));
    }
    if signature.is_empty() {
        // An unsecured JWS (RFC 7515 A.5) or a stripped signature.
        return Err(VerifyError::Signature);
    }
    let signing_input = &token[..header.len() + 1 + payload.len()];
    Ok(Compact {
        header,
        payload,
        signature,
        signing_input,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_members_are_refused() {
        assert_eq!(
            parse_object(br#"{"sub":"a","sub":"b"}"#, "claims"),
            Err(VerifyError::DuplicateMember("sub".into()))
        );
        assert!(parse_object(br#"{"sub":"a","x":{"y":1}}"#, "claims").is_ok());
        assert_eq!(
            parse_object(b"[1]", "claims"),
            Err(VerifyError::Malformed("claims"))
        );
    }

    #[test]
    fn base64url_is_strict() {
        assert!(b64_decode("eyJhIjoxfQ", "h").is_ok());
        for bad in [
            "eyJhIjoxfQ==",
            "eyJh+joxfQ",
            "eyJh/joxfQ",
            "eyJh Ijoxf",
            "eyJhIjoxfR",
        ] {
            assert!(b64_decode(bad, "h").is_err(), "{bad}");
        }
    }

    #[test]
    fn segments() {
        assert!(split("a.b.c").is_ok());
        assert_eq!(split("a.b.c").unwrap().signing_input, "a.b");
        assert!(split("a.b").is_err());
        assert!(split("a.b.c.d").is_err());
        assert!(split("a.b.c.d.e").is_err());
        assert_eq!(split("a.b.").err(), Some(VerifyError::Signature));
        assert!(split(".b.c").is_err());
    }
}
