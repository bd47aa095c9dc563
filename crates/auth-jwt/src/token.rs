//! Strict JWS compact parsing: three base64url segments, JSON objects without duplicate
//! members.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Number, Value};

use crate::VerifyError;
use crate::keys::parse_alg;
use crate::memo::Memo;

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
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Skip::seq(seq).map(|_| HeaderValue::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                Skip::map(map).map(|_| HeaderValue::Other)
            }
        }
        deserializer.deserialize_any(ValueVisitor)
    }
}

/// A JSON value read and dropped: checked as strictly as `serde_json::Value` reads it (the
/// same number range, string escape and nesting checks), without building anything.
struct Skip;

impl Skip {
    fn seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }

    fn map<'de, A: MapAccess<'de>>(mut map: A) -> Result<Skip, A::Error> {
        // Nested objects may repeat a name, as `serde_json::Value` allows (last one wins);
        // RFC 7519 §4 is about the members of the claims set and of the header.
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Skip)
    }
}

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SkipVisitor;
        impl<'de> Visitor<'de> for SkipVisitor {
            type Value = Skip;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Skip, A::Error> {
                Skip::seq(seq)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Skip, A::Error> {
                Skip::map(map)
            }
        }
        deserializer.deserialize_any(SkipVisitor)
    }
}

/// The member names of one object seen so far, for the duplicate check: a few in place
/// (most objects have few members besides the ones kept in typed slots), then a set, so an
/// object with many members costs neither an allocation per member nor quadratic time.
struct SeenNames<'de> {
    few: [Cow<'de, str>; SeenNames::FEW],
    len: usize,
    many: Option<BTreeSet<Cow<'de, str>>>,
}

impl<'de> SeenNames<'de> {
    const FEW: usize = 8;

    fn new() -> Self {
        Self {
            few: Default::default(),
            len: 0,
            many: None,
        }
    }

    /// Adds `name`; `Err` with the name when it was already there.
    fn insert(&mut self, name: Cow<'de, str>) -> Result<(), Cow<'de, str>> {
        if let Some(many) = &mut self.many {
            return if many.contains(&name) {
                Err(name)
            } else {
                many.insert(name);
                Ok(())
            };
        }
        if self.few.get(..self.len).unwrap_or(&[]).contains(&name) {
            return Err(name);
        }
        if let Some(slot) = self.few.get_mut(self.len) {
            *slot = name;
            self.len += 1;
        } else {
            let mut many: BTreeSet<_> = self.few.iter_mut().map(std::mem::take).collect();
            many.insert(name);
            self.many = Some(many);
        }
        Ok(())
    }
}

/// The error for a repeated member name.
fn duplicate<E: de::Error>(name: &str) -> E {
    E::custom(format_args!("{DUPLICATE}{name}"))
}

/// Fills a typed slot, refusing a second value for it.
fn fill<'de, T, A: MapAccess<'de>>(
    slot: &mut Option<T>,
    name: &str,
    access: &mut A,
) -> Result<(), A::Error>
where
    T: Deserialize<'de>,
{
    if slot.is_some() {
        return Err(duplicate(name));
    }
    *slot = Some(access.next_value::<T>()?);
    Ok(())
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
                let mut crit: Option<Skip> = None;
                // The members kept have their own slot (a second value is a duplicate); the
                // others are remembered by name only.
                let mut seen = SeenNames::new();
                while let Some(Name(name)) = access.next_key::<Name<'de>>()? {
                    match &*name {
                        "alg" => fill(&mut header.alg, &name, &mut access)?,
                        "typ" => fill(&mut header.typ, &name, &mut access)?,
                        "kid" => fill(&mut header.kid, &name, &mut access)?,
                        "crit" => fill(&mut crit, &name, &mut access)?,
                        _ => {
                            seen.insert(name).map_err(|name| duplicate(&name))?;
                            access.next_value::<Skip>()?;
                        }
                    }
                }
                header.crit = crit.is_some();
                Ok(header)
            }
        }
        deserializer.deserialize_map(HeaderVisitor)
    }
}

/// A claim's value, as far as the verifier and the authenticator look at it: strings are
/// borrowed from the decoded claims when they have no escapes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ClaimValue<'de> {
    /// A JSON string.
    Str(Cow<'de, str>),
    /// A JSON number.
    Num(Number),
    /// An array of strings (possibly empty).
    Strs(Vec<Cow<'de, str>>),
    /// An array holding something other than a string.
    Array,
    /// `true`, `false`, `null` or an object.
    Other,
}

impl ClaimValue<'_> {
    /// The string, for a string.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            ClaimValue::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// An array element: a string, or anything else (checked and dropped).
enum Item<'de> {
    Str(Cow<'de, str>),
    Other,
}

impl<'de> Deserialize<'de> for Item<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(ClaimVisitor)
            .map(|value| match value {
                ClaimValue::Str(s) => Item::Str(s),
                _ => Item::Other,
            })
    }
}

struct ClaimVisitor;

impl<'de> Visitor<'de> for ClaimVisitor {
    type Value = ClaimValue<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(ClaimValue::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(ClaimValue::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(ClaimValue::Str(Cow::Owned(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(ClaimValue::Num(v.into()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(ClaimValue::Num(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // As `serde_json::Value` reads it (the parser never yields a non-finite float).
        Ok(Number::from_f64(v).map_or(ClaimValue::Other, ClaimValue::Num))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(ClaimValue::Other)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(ClaimValue::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut strings = Vec::new();
        while let Some(item) = seq.next_element::<Item<'de>>()? {
            match item {
                Item::Str(s) => strings.push(s),
                Item::Other => {
                    Skip::seq(seq)?;
                    return Ok(ClaimValue::Array);
                }
            }
        }
        Ok(ClaimValue::Strs(strings))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Skip::map(map).map(|_| ClaimValue::Other)
    }
}

impl<'de> Deserialize<'de> for ClaimValue<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ClaimVisitor)
    }
}

/// The names of the claims with a slot of their own in [`ClaimsView`].
pub(crate) const SLOTTED: [&str; 9] = [
    "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "scope", "scp",
];

/// The claims set read in one pass: a JSON object with unique member names (every member
/// is checked for uniqueness and syntax as strictly as `serde_json::Value` reads it), of
/// which the registered claims, `scope`/`scp` and any `extra` names asked for are kept;
/// nothing else is built.
#[derive(Debug, Default)]
pub(crate) struct ClaimsView<'de> {
    pub(crate) iss: Option<ClaimValue<'de>>,
    pub(crate) sub: Option<ClaimValue<'de>>,
    pub(crate) aud: Option<ClaimValue<'de>>,
    pub(crate) exp: Option<ClaimValue<'de>>,
    pub(crate) nbf: Option<ClaimValue<'de>>,
    pub(crate) iat: Option<ClaimValue<'de>>,
    pub(crate) jti: Option<ClaimValue<'de>>,
    pub(crate) scope: Option<ClaimValue<'de>>,
    pub(crate) scp: Option<ClaimValue<'de>>,
    /// The values of the `extra` names, in their order (names in [`SLOTTED`] excluded).
    pub(crate) extra: Vec<Option<ClaimValue<'de>>>,
}

impl<'de> ClaimsView<'de> {
    /// The value of claim `name`, when it was kept (a slotted name, or one of `extra`, the
    /// list the claims were parsed with).
    pub(crate) fn get(&self, name: &str, extra: &[String]) -> Option<&ClaimValue<'de>> {
        match name {
            "iss" => self.iss.as_ref(),
            "sub" => self.sub.as_ref(),
            "aud" => self.aud.as_ref(),
            "exp" => self.exp.as_ref(),
            "nbf" => self.nbf.as_ref(),
            "iat" => self.iat.as_ref(),
            "jti" => self.jti.as_ref(),
            "scope" => self.scope.as_ref(),
            "scp" => self.scp.as_ref(),
            _ => extra
                .iter()
                .position(|n| n == name)
                .and_then(|i| self.extra.get(i)?.as_ref()),
        }
    }
}

/// Parses a claims set into a [`ClaimsView`], keeping the `extra` names too.
struct ClaimsSeed<'x> {
    extra: &'x [String],
}

impl<'de> DeserializeSeed<'de> for ClaimsSeed<'_> {
    type Value = ClaimsView<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ClaimsSeed<'_> {
    type Value = ClaimsView<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<ClaimsView<'de>, A::Error> {
        let mut view = ClaimsView::default();
        if !self.extra.is_empty() {
            view.extra.resize(self.extra.len(), None);
        }
        let mut seen = SeenNames::new();
        while let Some(Name(name)) = access.next_key::<Name<'de>>()? {
            let slot = match &*name {
                "iss" => &mut view.iss,
                "sub" => &mut view.sub,
                "aud" => &mut view.aud,
                "exp" => &mut view.exp,
                "nbf" => &mut view.nbf,
                "iat" => &mut view.iat,
                "jti" => &mut view.jti,
                "scope" => &mut view.scope,
                "scp" => &mut view.scp,
                other => match self.extra.iter().position(|n| n == other) {
                    Some(i) => &mut view.extra[i],
                    None => {
                        seen.insert(name).map_err(|name| duplicate(&name))?;
                        access.next_value::<Skip>()?;
                        continue;
                    }
                },
            };
            fill(slot, &name, &mut access)?;
        }
        Ok(view)
    }
}

/// Parses `json` as a claims set: a JSON object with unique member names, read in one pass
/// into a [`ClaimsView`] that keeps the registered claims, `scope`, `scp` and the `extra`
/// names (which must not be in [`SLOTTED`]).
pub(crate) fn parse_claims<'de>(
    json: &'de str,
    extra: &[String],
) -> Result<ClaimsView<'de>, VerifyError> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    ClaimsSeed { extra }
        .deserialize(&mut deserializer)
        .and_then(|view| deserializer.end().map(|()| view))
        .map_err(|error| refusal(&error, "claims"))
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

/// What a JOSE header says, as the verifier checks it, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JoseHeader {
    /// `alg`, when it is a string naming an algorithm auth-jwt knows.
    pub(crate) alg: Option<Algorithm>,
    /// Whether `crit` is present.
    pub(crate) crit: bool,
    /// `typ`; `Err` when it is not a string.
    pub(crate) typ: Result<Option<String>, ()>,
    /// `kid`; `Err` when it is not a string.
    pub(crate) kid: Result<Option<String>, ()>,
}

impl JoseHeader {
    fn of(header: &StrictHeader<'_>) -> Self {
        let string = |value: &Option<HeaderValue<'_>>| match value {
            None => Ok(None),
            Some(HeaderValue::Str(s)) => Ok(Some(String::from(&**s))),
            Some(HeaderValue::Other) => Err(()),
        };
        Self {
            alg: match &header.alg {
                Some(HeaderValue::Str(name)) => parse_alg(name),
                _ => None,
            },
            crit: header.crit,
            typ: string(&header.typ),
            kid: string(&header.kid),
        }
    }
}

/// The longest header segment remembered by [`jose_header`].
const MEMO_MAX: usize = 512;
/// How many header segments each thread remembers (several issuers or keys, a rotation).
const MEMO_LEN: usize = 4;
/// The size of the stack buffer a header segment is decoded into.
const HEADER_BUF: usize = MEMO_MAX / 4 * 3 + 2;

thread_local! {
    /// The tokens of one issuer key share their header segment byte for byte, and reading it
    /// is a pure function of those bytes, so the base64url decode and the strict JSON parse
    /// run once per header (per thread) rather than once per token. Only headers that
    /// parsed are kept.
    static HEADERS: RefCell<Memo<JoseHeader, MEMO_LEN>> = const { RefCell::new(Memo::new()) };
}

/// Decodes and parses the header segment of a compact JWS (strict base64url, then a JSON
/// object with unique member names): see [`parse_header`].
pub(crate) fn jose_header(segment: &str) -> Result<JoseHeader, VerifyError> {
    Memo::get_or_try(&HEADERS, segment, MEMO_MAX, |segment| {
        let mut buf = [0_u8; HEADER_BUF];
        let mut heap = Vec::new();
        Ok(JoseHeader::of(&parse_header(b64_decode_into(
            segment, "header", &mut buf, &mut heap,
        )?)?))
    })
}

/// Strict base64url without padding (RFC 7515 §2): no `=`, `+`, `/` or whitespace, and no
/// non-zero trailing bits (so one token has one encoding).
pub(crate) fn b64_decode(segment: &str, what: &'static str) -> Result<Vec<u8>, VerifyError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| VerifyError::Malformed(what))
}

/// [`b64_decode`] into `buf` when the decoded segment surely fits (no allocation), else
/// into `heap`.
pub(crate) fn b64_decode_into<'b, const N: usize>(
    segment: &str,
    what: &'static str,
    buf: &'b mut [u8; N],
    heap: &'b mut Vec<u8>,
) -> Result<&'b [u8], VerifyError> {
    // Every 4 characters decode to 3 bytes; a remainder of 2 or 3 characters to 1 or 2.
    if segment.len() / 4 * 3 + 2 <= N {
        let len = URL_SAFE_NO_PAD
            .decode_slice(segment, buf)
            .map_err(|_| VerifyError::Malformed(what))?;
        Ok(buf.get(..len).unwrap_or_default())
    } else {
        *heap = b64_decode(segment, what)?;
        Ok(heap)
    }
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

    /// `parse_claims` accepts and refuses what the map parse (`parse_object`) does, with the
    /// same refusal.
    fn same_as_map_parse(json: &str) {
        let view = parse_claims(json, &[]).map(|_| ());
        let map = parse_object(json.as_bytes(), "claims").map(|_| ());
        assert_eq!(view, map, "{json}");
    }

    #[test]
    fn claims_are_read_as_strictly_as_a_map() {
        for json in [
            r#"{}"#,
            r#"{"sub":"a","x":{"y":1,"y":2},"z":[1,"a",null,true,{"q":[]}]}"#,
            r#"{"sub":"a","sub":"b"}"#,
            r#"{"x":1,"sub":"a","x":2}"#,
            r#"{"s\u0075b":"a","sub":"b"}"#,
            r#"{"scope":"a","scope":"a"}"#,
            r#"{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1,"i":1,"j":1,"a":2}"#,
            r#"{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1,"i":1,"j":1,"k":2}"#,
            r#"{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1,"i":1,"j":1,"j":2}"#,
            r#"{"x":1e999}"#,
            r#"{"exp":1e999}"#,
            r#"{"x":["\ud800"]}"#,
            r#"{"x":{"y":[1e999]}}"#,
            r#"{"sub":"a"} x"#,
            r#"{"sub":"a",}"#,
            r#"[1]"#,
            r#""s""#,
            r#"{"sub":"a""#,
        ] {
            same_as_map_parse(json);
        }
    }

    #[test]
    fn claims_keep_registered_scopes_and_extra_names() {
        let extra = ["client_id".to_owned(), "uid".to_owned()];
        let json = r#"{"iss":"i","sub":"s\u0031","aud":["a","b"],"exp":10,"nbf":-1,"iat":2.5,
            "jti":"j","scope":"r w","scp":["x",1],"uid":7,"other":{"sub":"no"}}"#;
        let view = parse_claims(json, &extra).unwrap();
        assert_eq!(view.iss, Some(ClaimValue::Str(Cow::Borrowed("i"))));
        assert_eq!(view.sub, Some(ClaimValue::Str("s1".into())));
        assert_eq!(
            view.aud,
            Some(ClaimValue::Strs(vec!["a".into(), "b".into()]))
        );
        assert_eq!(view.exp, Some(ClaimValue::Num(10.into())));
        assert_eq!(view.nbf, Some(ClaimValue::Num((-1).into())));
        assert_eq!(
            view.iat,
            Some(ClaimValue::Num(Number::from_f64(2.5).unwrap()))
        );
        assert_eq!(
            view.scope.as_ref().and_then(ClaimValue::as_str),
            Some("r w")
        );
        assert_eq!(view.scp, Some(ClaimValue::Array));
        assert_eq!(view.get("uid", &extra), Some(&ClaimValue::Num(7.into())));
        assert_eq!(view.get("client_id", &extra), None);
        assert_eq!(view.get("other", &extra), None);
        assert_eq!(
            view.get("jti", &extra).and_then(ClaimValue::as_str),
            Some("j")
        );
        let view = parse_claims(r#"{"aud":[],"sub":true,"jti":null,"iss":{}}"#, &[]).unwrap();
        assert_eq!(view.aud, Some(ClaimValue::Strs(Vec::new())));
        assert_eq!(view.sub, Some(ClaimValue::Other));
        assert_eq!(view.jti, Some(ClaimValue::Other));
        assert_eq!(view.iss, Some(ClaimValue::Other));
        // An extra name is a slot too: a second value is a duplicate.
        assert_eq!(
            parse_claims(r#"{"uid":1,"uid":2}"#, &extra).err(),
            Some(VerifyError::DuplicateMember("uid".into()))
        );
    }

    #[test]
    fn header_segments_are_remembered_per_thread() {
        let encode = |json: &str| URL_SAFE_NO_PAD.encode(json);
        let a = encode(r#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#);
        let b = encode(r#"{"alg":"ES256","kid":7,"crit":["x"]}"#);
        let expected_a = JoseHeader {
            alg: Some(Algorithm::HS256),
            crit: false,
            typ: Ok(Some("JWT".into())),
            kid: Ok(Some("k1".into())),
        };
        let expected_b = JoseHeader {
            alg: Some(Algorithm::ES256),
            crit: true,
            typ: Ok(None),
            kid: Err(()),
        };
        for _ in 0..2 {
            assert_eq!(jose_header(&a), Ok(expected_a.clone()));
            assert_eq!(jose_header(&a), Ok(expected_a.clone()));
            assert_eq!(jose_header(&b), Ok(expected_b.clone()));
        }
        // A refused header is refused every time, and does not replace the one kept.
        let dup = encode(r#"{"alg":"HS256","alg":"none"}"#);
        for _ in 0..2 {
            assert_eq!(
                jose_header(&dup),
                Err(VerifyError::DuplicateMember("alg".into()))
            );
        }
        assert_eq!(
            jose_header(&format!("{b}=")),
            Err(VerifyError::Malformed("header"))
        );
        let unknown = encode(r#"{"alg":"none"}"#);
        assert_eq!(jose_header(&unknown).map(|h| h.alg), Ok(None));
        // More headers than are kept, in turn: each answer is still its own.
        let many: Vec<String> = (0..MEMO_LEN * 2 + 1)
            .map(|i| encode(&format!(r#"{{"alg":"HS256","kid":"k{i}"}}"#)))
            .collect();
        for _ in 0..3 {
            for (i, segment) in many.iter().enumerate() {
                let kid = jose_header(segment).map(|h| h.kid);
                assert_eq!(kid, Ok(Ok(Some(format!("k{i}")))));
            }
        }
        // Longer than what is kept: decoded on the heap, same answer.
        let long = encode(&format!(r#"{{"alg":"HS256","x":"{}"}}"#, "y".repeat(600)));
        assert_eq!(
            jose_header(&long).map(|h| h.alg),
            Ok(Some(Algorithm::HS256))
        );
    }

    #[test]
    fn decoding_into_a_buffer_is_the_same_decoding() {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ .";
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for len in 0..80 {
            for _ in 0..50 {
                let segment: String = (0..len)
                    .map(|_| {
                        // Mostly valid characters, sometimes not.
                        let r = next();
                        let pick = if r % 16 == 0 { r >> 8 } else { (r >> 8) % 64 };
                        char::from(alphabet[usize::try_from(pick).unwrap() % alphabet.len()])
                    })
                    .collect();
                let expected = b64_decode(&segment, "s");
                let mut small = [0_u8; 16];
                let mut heap = Vec::new();
                let got = b64_decode_into(&segment, "s", &mut small, &mut heap).map(<[u8]>::to_vec);
                assert_eq!(got, expected, "{segment}");
            }
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
