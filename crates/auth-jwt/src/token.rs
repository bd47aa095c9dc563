//! Strict JWS compact parsing: three base64url segments, JSON objects without duplicate
//! members.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
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
                    // One lookup per member: the entry is both the duplicate check and the
                    // insertion point.
                    match map.entry(name) {
                        Entry::Occupied(taken) => {
                            return Err(de::Error::custom(format!("{DUPLICATE}{}", taken.key())));
                        }
                        Entry::Vacant(slot) => {
                            slot.insert(access.next_value::<Value>()?);
                        }
                    }
                }
                Ok(StrictObject(map))
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// A member value of a JOSE header, as far as auth-jwt looks at it: a string (borrowed from
/// the decoded header when it has no escapes), or anything else (read and checked as
/// strictly as `serde_json::Value` reads it, then dropped).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HeaderValue<'de> {
    /// A JSON string.
    Str(Cow<'de, str>),
    /// Any other JSON value.
    Other,
}

impl<'de> Deserialize<'de> for HeaderValue<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = HeaderValue<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(HeaderValue::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(HeaderValue::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(HeaderValue::Str(Cow::Owned(v)))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(HeaderValue::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(HeaderValue::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(HeaderValue::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(HeaderValue::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(HeaderValue::Other)
            }
            // Nested values are read as fully as `serde_json::Value` would read them (same
            // number range and string escape checks), not skipped loosely.
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<HeaderValue<'de>>()?.is_some() {}
                Ok(HeaderValue::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<Name<'de>, HeaderValue<'de>>()?.is_some() {}
                Ok(HeaderValue::Other)
            }
        }
        deserializer.deserialize_any(ValueVisitor)
    }
}

/// A member name, borrowed from the input when it has no escapes.
struct Name<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl<'de> Visitor<'de> for NameVisitor {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Name(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

/// The members of a JOSE header that auth-jwt reads. The whole header is still a JSON
/// object with unique member names (every member is checked for uniqueness and syntax);
/// only these four are kept, without building a map of the rest.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct StrictHeader<'de> {
    /// `alg`.
    pub(crate) alg: Option<HeaderValue<'de>>,
    /// `typ`.
    pub(crate) typ: Option<HeaderValue<'de>>,
    /// `kid`.
    pub(crate) kid: Option<HeaderValue<'de>>,
    /// Whether `crit` is present (with any value).
    pub(crate) crit: bool,
}

impl<'de> Deserialize<'de> for StrictHeader<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HeaderVisitor;
        impl<'de> Visitor<'de> for HeaderVisitor {
            type Value = StrictHeader<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut access: A,
            ) -> Result<StrictHeader<'de>, A::Error> {
                let mut header = StrictHeader::default();
                // A set, not a list: a header with many members must not cost quadratic
                // time before the signature is checked.
                let mut seen: BTreeSet<Cow<'de, str>> = BTreeSet::new();
                while let Some(Name(name)) = access.next_key::<Name<'de>>()? {
                    if seen.contains(&name) {
                        return Err(de::Error::custom(format!("{DUPLICATE}{name}")));
                    }
                    let value = access.next_value::<HeaderValue<'de>>()?;
                    match &*name {
                        "alg" => header.alg = Some(value),
                        "typ" => header.typ = Some(value),
                        "kid" => header.kid = Some(value),
                        "crit" => header.crit = true,
                        _ => {}
                    }
                    seen.insert(name);
                }
                Ok(header)
            }
        }
        deserializer.deserialize_map(HeaderVisitor)
    }
}

/// The refusal for a serde error: the duplicate member it names, or `Malformed(what)`.
fn refusal(error: &serde_json::Error, what: &'static str) -> VerifyError {
    let text = error.to_string();
    match text.find(DUPLICATE) {
        Some(at) => {
            let rest = &text[at + DUPLICATE.len()..];
            let name = rest.split(" at line").next().unwrap_or(rest);
            VerifyError::DuplicateMember(name.to_owned())
        }
        None => VerifyError::Malformed(what),
    }
}

/// Parses `bytes` as a JSON object with unique member names.
pub(crate) fn parse_object(
    bytes: &[u8],
    what: &'static str,
) -> Result<Map<String, Value>, VerifyError> {
    serde_json::from_slice::<StrictObject>(bytes)
        .map(|object| object.0)
        .map_err(|error| refusal(&error, what))
}

/// Parses `bytes` as a JOSE header: a JSON object with unique member names, of which `alg`,
/// `typ`, `kid` and `crit` are kept.
pub(crate) fn parse_header(bytes: &[u8]) -> Result<StrictHeader<'_>, VerifyError> {
    serde_json::from_slice::<StrictHeader<'_>>(bytes).map_err(|error| refusal(&error, "header"))
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
    fn headers_are_strict_objects() {
        let header =
            parse_header(br#"{"alg":"HS256","typ":"JWT","kid":"k\u0031","x":[{"a":1}]}"#).unwrap();
        assert_eq!(header.alg, Some(HeaderValue::Str("HS256".into())));
        assert_eq!(header.typ, Some(HeaderValue::Str("JWT".into())));
        assert_eq!(header.kid, Some(HeaderValue::Str("k1".into())));
        assert!(!header.crit);
        let header = parse_header(br#"{"alg":1,"crit":["exp"],"kid":null}"#).unwrap();
        assert_eq!(header.alg, Some(HeaderValue::Other));
        assert_eq!(header.kid, Some(HeaderValue::Other));
        assert!(header.crit);
        for (json, name) in [
            (&br#"{"alg":"HS256","alg":"none"}"#[..], "alg"),
            (br#"{"x":1,"typ":"JWT","x":2}"#, "x"),
            (br#"{"crit":[],"cr\u0069t":[]}"#, "crit"),
        ] {
            assert_eq!(
                parse_header(json),
                Err(VerifyError::DuplicateMember(name.into()))
            );
        }
        for bad in [
            &b"[1]"[..],
            b"{\"alg\":}",
            b"{\"alg\":\"HS256\"} x",
            b"\"s\"",
        ] {
            assert_eq!(parse_header(bad), Err(VerifyError::Malformed("header")));
        }
        // Members auth-jwt does not use are still read as strictly as `serde_json::Value`
        // reads them (the header parse used to build one).
        for bad in [
            &br#"{"alg":"HS256","x":1e999}"#[..],
            br#"{"alg":"HS256","x":["\ud800"]}"#,
            br#"{"alg":"HS256","x":{"y":[1e999]}}"#,
        ] {
            assert!(serde_json::from_slice::<Value>(bad).is_err());
            assert_eq!(parse_header(bad), Err(VerifyError::Malformed("header")));
        }
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
