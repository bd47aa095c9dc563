//! A fast path for the common shapes of `Signature-Input` and `Signature` (RFC 9421 §4):
//! one field line each, parsed without building `sfv` Dictionaries.
//!
//! It reads a strict *subset* of RFC 8941 and gives up (`None`) on anything else — another
//! item type, an escape, item parameters, a repeated key, a syntax error, several field
//! lines — so the caller falls back to the general `sfv` parser, which then accepts or
//! refuses as before. Whatever the fast path accepts, `sfv` accepts with the same meaning:
//! it never widens what is accepted, and every refusal comes from the general path.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use auth_core::is_tchar;

use crate::Malformed;
use crate::component::Component;
use crate::signature::{MAX_COMPONENTS, MAX_SIGNATURES, ParamKey, SignatureParams, param_is_valid};

/// The most parameters one member may have on the fast path (repeats are looked for by a
/// linear scan); more go to the general parser.
const MAX_FAST_PARAMS: usize = 16;

/// One `Signature-Input` member: its label, its parameters (or why they are unusable), and
/// its value as received when that is already the canonical serialization (RFC 8941 §4.1)
/// that the `@signature-params` line of the signature base needs, so it is copied, not
/// serialized again. The parameters are always there on the fast path: the `Option` is
/// the general path's, for a member that is not an Inner List.
pub(crate) type InputMember<'a> = (
    Cow<'a, str>,
    Option<Result<SignatureParams, Malformed>>,
    Option<&'a [u8]>,
);

/// One `Signature` member: its label and MAC (the `Option` is the general path's, for a
/// member that is not a Byte Sequence).
pub(crate) type SignatureMember<'a> = (Cow<'a, str>, Option<Vec<u8>>);

/// Reads a field line that is valid UTF-8 (checked once, up front: a line that is not goes
/// to the general parser), so the ASCII pieces it returns are `&str` without another check.
struct Cursor<'a> {
    text: &'a str,
    input: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(line: &'a [u8]) -> Option<Self> {
        let text = std::str::from_utf8(line).ok()?;
        Some(Self {
            text,
            input: text.as_bytes(),
            at: 0,
        })
    }

    /// The text from `start` to the current position (both on ASCII bytes, so on
    /// character boundaries).
    fn text_from(&self, start: usize) -> Option<&'a str> {
        self.text.get(start..self.at)
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.at).copied()
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        if self.peek() == Some(b) {
            self.at += 1;
            Some(())
        } else {
            None
        }
    }

    fn skip_sp(&mut self) {
        while self.peek() == Some(b' ') {
            self.at += 1;
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    fn is_end(&self) -> bool {
        self.at >= self.input.len()
    }

    /// The bytes while `f` holds, from the current position.
    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a [u8] {
        let rest = &self.input[self.at.min(self.input.len())..];
        let len = rest.iter().position(|&b| !f(b)).unwrap_or(rest.len());
        self.at += len;
        &rest[..len]
    }

    /// RFC 8941 §4.2.3.3 key: `( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )`.
    fn key(&mut self) -> Option<&'a str> {
        if !self
            .peek()
            .is_some_and(|b| b.is_ascii_lowercase() || b == b'*')
        {
            return None;
        }
        let start = self.at;
        self.take_while(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.' | b'*')
        });
        self.text_from(start)
    }

    /// RFC 8941 §4.2.5 String without escapes (an escape: give up).
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        self.take_while(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\');
        let content = self.text_from(start)?;
        self.eat(b'"')?;
        Some(content)
    }

    /// RFC 8941 §4.2.3.1 bare item: Integer (not Decimal), String, Token or Boolean.
    fn bare_item(&mut self) -> Option<sfv::BareItem> {
        match self.peek()? {
            b'"' => {
                let s = self.string()?;
                Some(sfv::BareItem::String(
                    sfv::String::from_string(s.to_owned()).ok()?,
                ))
            }
            b'-' | b'0'..=b'9' => {
                let negative = self.eat(b'-').is_some();
                let digits = self.take_while(|b| b.is_ascii_digit());
                // A Decimal, or not a number: give up.
                if digits.is_empty() || digits.len() > 15 || self.peek() == Some(b'.') {
                    return None;
                }
                let mut value: i64 = 0;
                for &d in digits {
                    value = value * 10 + i64::from(d - b'0');
                }
                if negative {
                    value = -value;
                }
                Some(sfv::BareItem::Integer(sfv::Integer::try_from(value).ok()?))
            }
            b'?' => {
                self.at += 1;
                match self.peek()? {
                    b'0' => {
                        self.at += 1;
                        Some(sfv::BareItem::Boolean(false))
                    }
                    b'1' => {
                        self.at += 1;
                        Some(sfv::BareItem::Boolean(true))
                    }
                    _ => None,
                }
            }
            b if b.is_ascii_alphabetic() || b == b'*' => {
                // RFC 8941 §3.3.4: sf-token = ( ALPHA / "*" ) *( tchar / ":" / "/" ).
                let start = self.at;
                self.take_while(|b| is_tchar(b) || b == b':' || b == b'/');
                let token = self.text_from(start)?;
                Some(sfv::BareItem::Token(
                    sfv::Token::from_string(token.to_owned()).ok()?,
                ))
            }
            // Byte Sequences, Dates, Display Strings: the general parser.
            _ => None,
        }
    }

    /// The rest of a Dictionary member list: OWS, then the end or `,` OWS and another member.
    /// `Some(true)` when another member follows, `Some(false)` at the end.
    fn next_member(&mut self) -> Option<bool> {
        self.skip_ows();
        if self.is_end() {
            return Some(false);
        }
        self.eat(b',')?;
        self.skip_ows();
        // A trailing comma is a syntax error: the general parser reports it.
        if self.is_end() {
            return None;
        }
        Some(true)
    }
}

/// A single `Signature-Input` field line whose members are all Inner Lists of Strings
/// without parameters, with Integer, String, Token or Boolean parameters.
pub(crate) fn signature_input(line: &[u8]) -> Option<Vec<InputMember<'_>>> {
    let mut cursor = Cursor::new(line)?;
    if cursor.is_end() || cursor.peek() == Some(b' ') {
        return None;
    }
    let mut members: Vec<InputMember<'_>> = Vec::with_capacity(1);
    loop {
        let label = cursor.key()?;
        // Too many (the general path refuses them) or repeated: give up.
        if members.len() >= MAX_SIGNATURES || members.iter().any(|(l, _, _)| l == label) {
            return None;
        }
        cursor.eat(b'=')?;
        let value_start = cursor.at;
        cursor.eat(b'(')?;
        let mut components: Vec<Component> = Vec::with_capacity(4);
        let mut count = 0usize;
        let mut problem: Option<Malformed> = None;
        // Canonical (§4.1.1.1): items separated by exactly one space, none inside the
        // parentheses' edges; parameters without spaces, Integers without leading zeros
        // or `-0`, `true` Booleans as bare keys.
        let mut canonical = true;
        loop {
            let before = cursor.at;
            cursor.skip_sp();
            let spaces = cursor.at - before;
            if cursor.eat(b')').is_some() {
                canonical &= spaces == 0;
                break;
            }
            canonical &= spaces == usize::from(count > 0);
            let name = cursor.string()?;
            // Item parameters (`@query-param`'s `name`): the general parser.
            if !matches!(cursor.peek(), Some(b' ' | b')')) {
                return None;
            }
            count += 1;
            if problem.is_none() {
                match Component::from_bare_identifier(name) {
                    _ if count > MAX_COMPONENTS => problem = Some(Malformed::InvalidComponent),
                    // §2: each component identifier occurs only once.
                    Ok(component) if !components.contains(&component) => {
                        components.push(component);
                    }
                    _ => problem = Some(Malformed::InvalidComponent),
                }
            }
        }
        let mut params: Vec<(ParamKey, sfv::BareItem)> = Vec::with_capacity(4);
        while cursor.eat(b';').is_some() {
            canonical &= cursor.peek() != Some(b' ');
            cursor.skip_sp();
            let key = cursor.key()?;
            if params.len() >= MAX_FAST_PARAMS || params.iter().any(|(k, _)| k.as_str() == key) {
                return None;
            }
            let value = if cursor.eat(b'=').is_some() {
                let item_start = cursor.at;
                let value = cursor.bare_item()?;
                canonical &= is_canonical(&value, &line[item_start..cursor.at]);
                value
            } else {
                sfv::BareItem::Boolean(true)
            };
            if problem.is_none() && !param_is_valid(key, &value) {
                problem = Some(Malformed::SignatureInput);
            }
            let key = match ParamKey::known(key) {
                Some(known) => ParamKey::Known(known),
                None => ParamKey::Other(sfv::KeyRef::from_str(key).ok()?.to_owned()),
            };
            params.push((key, value));
        }
        let value_end = cursor.at;
        let params = match problem {
            Some(problem) => Err(problem),
            None => Ok(SignatureParams::from_checked(components, params)),
        };
        let serialized = canonical.then(|| &line[value_start..value_end]);
        members.push((Cow::Borrowed(label), Some(params), serialized));
        if !cursor.next_member()? {
            return Some(members);
        }
    }
}

/// Whether `text`, the received form of bare item `value`, is its canonical serialization:
/// Integers without a leading zero (but `0`) or `-0`; Booleans only as `?0` (`?1` is
/// serialized as a bare key). The fast path reads Strings without escapes and Tokens
/// verbatim, so those are canonical as received.
fn is_canonical(value: &sfv::BareItem, text: &[u8]) -> bool {
    match value {
        sfv::BareItem::Integer(_) => {
            let digits = text.strip_prefix(b"-").unwrap_or(text);
            (digits.len() == 1 || digits[0] != b'0') && text != b"-0"
        }
        sfv::BareItem::Boolean(b) => !b,
        _ => true,
    }
}

/// A single `Signature` field line whose members are all Byte Sequences without
/// parameters, in canonical padded base64.
pub(crate) fn signature(line: &[u8]) -> Option<Vec<SignatureMember<'_>>> {
    let mut cursor = Cursor::new(line)?;
    if cursor.is_end() || cursor.peek() == Some(b' ') {
        return None;
    }
    let mut members: Vec<SignatureMember<'_>> = Vec::with_capacity(1);
    loop {
        let label = cursor.key()?;
        if members.len() >= MAX_SIGNATURES || members.iter().any(|(l, _)| l == label) {
            return None;
        }
        cursor.eat(b'=')?;
        cursor.eat(b':')?;
        let encoded =
            cursor.take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
        cursor.eat(b':')?;
        // Strict decoding (padding required, no stray bits): the general parser's is more
        // lenient, so what decodes here decodes there to the same bytes.
        let mac = STANDARD.decode(encoded).ok()?;
        if cursor.peek() == Some(b';') {
            return None;
        }
        members.push((Cow::Borrowed(label), Some(mac)));
        if !cursor.next_member()? {
            return Some(members);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_shapes_take_the_fast_path() {
        let input = br#"sig1=("@method" "@target-uri" "content-digest");created=1618884473;keyid="k";nonce="n1";alg="hmac-sha256";tag="t";ext=x;n=-7;off=?0;flag, sig2=()"#;
        let members = signature_input(input).unwrap();
        assert_eq!(members.len(), 2);
        assert_eq!(members[0].0, "sig1");
        let params = members[0].1.as_ref().unwrap().as_ref().unwrap();
        assert_eq!(params.components().len(), 3);
        assert_eq!(params.created_at(), Some(1618884473));
        assert_eq!(params.key_id_value(), Some("k"));
        assert_eq!(
            params.to_string(),
            r#"("@method" "@target-uri" "content-digest");created=1618884473;keyid="k";nonce="n1";alg="hmac-sha256";tag="t";ext=x;n=-7;off=?0;flag"#
        );
        let sigs = signature(b"sig1=:AQID:, sig2=:AA==:").unwrap();
        assert_eq!(
            sigs,
            [
                (Cow::Borrowed("sig1"), Some(vec![1, 2, 3])),
                (Cow::Borrowed("sig2"), Some(vec![0]))
            ]
        );
    }

    #[test]
    fn anything_else_falls_back() {
        for input in [
            &b""[..],
            b" sig=()",
            b"sig=(\"a\\\"b\")",
            b"sig=(\"@query-param\";name=\"a\")",
            b"sig=();created=1.5",
            b"sig=();x=:AA==:",
            b"sig=();x=@1",
            b"sig=(), sig=()",
            b"sig=();created=1;created=2",
            b"sig=(),",
            b"sig=()x",
            b"sig=1",
            b"Sig=()",
            b"sig=(\"a\"\"b\")",
            b"sig=();created=1234567890123456",
        ] {
            assert!(
                signature_input(input).is_none(),
                "{}",
                String::from_utf8_lossy(input)
            );
        }
        for input in [
            &b""[..],
            b"sig=:AQI:",
            b"sig=:AQID:;x",
            b"sig=:AQ=D:",
            b"sig=:AQ==:, sig=:AQ==:",
            b"sig=\"x\"",
            b"sig=:AQID: ,",
        ] {
            assert!(
                signature(input).is_none(),
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn per_member_problems_match_the_general_path() {
        let members =
            signature_input(br#"a=("@status"), b=();created=-1, c=("@method" "@method")"#).unwrap();
        assert_eq!(members[0].1, Some(Err(Malformed::InvalidComponent)));
        assert_eq!(members[1].1, Some(Err(Malformed::SignatureInput)));
        assert_eq!(members[2].1, Some(Err(Malformed::InvalidComponent)));
    }
}
