//! RFC 9421 §2.3 signature parameters, §2.5 the signature base, §4 the `Signature-Input`
//! and `Signature` fields.

use std::borrow::Cow;
use std::fmt;

use crate::component::{Component, RequestParts};
use crate::{Error, Malformed};

/// The most signatures a request may carry (each costs an HMAC to check).
pub const MAX_SIGNATURES: usize = 8;

/// The most components one signature may cover.
pub const MAX_COMPONENTS: usize = 64;

/// The longest `nonce`, `keyid` or `tag` accepted, in bytes.
pub const MAX_PARAM_LEN: usize = 256;

/// The signature parameters (RFC 9421 §2.3): the ordered covered components and the
/// metadata `created`, `expires`, `nonce`, `alg`, `keyid` and `tag`, in the order they were
/// set or received (the order is part of what is signed).
///
/// # Examples
///
/// RFC 9421 Appendix B.2.5:
///
/// ```
/// use auth_hmac::{Component, SignatureParams};
///
/// let params = SignatureParams::new([
///     Component::field("date")?,
///     Component::AUTHORITY,
///     Component::field("content-type")?,
/// ])
/// .created(1618884473)
/// .key_id("test-shared-secret");
/// assert_eq!(
///     params.to_string(),
///     r#"("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret""#
/// );
/// # Ok::<(), auth_hmac::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SignatureParams {
    components: Vec<Component>,
    /// The parameters in order, keys unique (a repeated key keeps its first position and
    /// its last value, as RFC 8941 §4.2.3.2 parses them). Equality is order-sensitive: the
    /// order is part of the signature base.
    params: Vec<(ParamKey, sfv::BareItem)>,
}

/// A parameter name: the ones this crate reads are static (no allocation per request).
#[derive(Clone)]
pub(crate) enum ParamKey {
    Known(&'static str),
    Other(sfv::Key),
}

impl ParamKey {
    pub(crate) fn known(key: &str) -> Option<&'static str> {
        Some(match key {
            "created" => "created",
            "expires" => "expires",
            "nonce" => "nonce",
            "alg" => "alg",
            "keyid" => "keyid",
            "tag" => "tag",
            _ => return None,
        })
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Known(key) => key,
            Self::Other(key) => key.as_str(),
        }
    }
}

impl PartialEq for ParamKey {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Debug for ParamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Whether a parameter this crate reads has the type and size RFC 9421 §2.3 gives it
/// (unknown parameters are signed like the others; they mean nothing here).
pub(crate) fn param_is_valid(key: &str, value: &sfv::BareItem) -> bool {
    match key {
        "created" | "expires" => value.as_integer().is_some_and(|i| i64::from(i) >= 0),
        "nonce" | "alg" | "keyid" | "tag" => value
            .as_string()
            .is_some_and(|s| !s.as_str().is_empty() && s.as_str().len() <= MAX_PARAM_LEN),
        _ => true,
    }
}

impl SignatureParams {
    /// Parameters covering `components`, in order, with no metadata yet.
    #[must_use]
    pub fn new(components: impl IntoIterator<Item = Component>) -> Self {
        Self {
            components: components.into_iter().collect(),
            params: Vec::new(),
        }
    }

    fn set(mut self, key: &'static str, value: sfv::BareItem) -> Self {
        match self.params.iter_mut().find(|(k, _)| k.as_str() == key) {
            Some((_, old)) => *old = value,
            None => self.params.push((ParamKey::Known(key), value)),
        }
        self
    }

    /// Parameters read by the fast parser (`crate::fast`), already checked: components
    /// unique and at most [`MAX_COMPONENTS`], parameter keys unique.
    pub(crate) fn from_checked(
        components: Vec<Component>,
        params: Vec<(ParamKey, sfv::BareItem)>,
    ) -> Self {
        Self { components, params }
    }

    fn set_string(self, key: &'static str, value: &str) -> Self {
        match sfv::String::from_string(value.to_owned()) {
            Ok(value) => self.set(key, sfv::BareItem::String(value)),
            // Not representable as an RFC 8941 String: leave it out; the verifier then
            // refuses the signature as missing it, which is the safe outcome.
            Err(_) => self,
        }
    }

    fn set_integer(self, key: &'static str, value: u64) -> Self {
        match sfv::Integer::try_from(value) {
            Ok(value) => self.set(key, sfv::BareItem::Integer(value)),
            Err(_) => self,
        }
    }

    /// Sets `created`, a Unix time in seconds.
    #[must_use]
    pub fn created(self, unix_seconds: u64) -> Self {
        self.set_integer("created", unix_seconds)
    }

    /// Sets `expires`, a Unix time in seconds.
    #[must_use]
    pub fn expires(self, unix_seconds: u64) -> Self {
        self.set_integer("expires", unix_seconds)
    }

    /// Sets `nonce` (printable ASCII).
    #[must_use]
    pub fn nonce(self, nonce: &str) -> Self {
        self.set_string("nonce", nonce)
    }

    /// Sets `alg` (`hmac-sha256`).
    #[must_use]
    pub fn alg(self, alg: &str) -> Self {
        self.set_string("alg", alg)
    }

    /// Sets `keyid` (printable ASCII).
    #[must_use]
    pub fn key_id(self, key_id: &str) -> Self {
        self.set_string("keyid", key_id)
    }

    /// Sets `tag` (printable ASCII).
    #[must_use]
    pub fn tag(self, tag: &str) -> Self {
        self.set_string("tag", tag)
    }

    /// The covered components, in order.
    #[must_use]
    pub fn components(&self) -> &[Component] {
        &self.components
    }

    fn get(&self, key: &str) -> Option<&sfv::BareItem> {
        self.params
            .iter()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v)
    }

    fn integer(&self, key: &str) -> Option<u64> {
        self.get(key)
            .and_then(sfv::BareItem::as_integer)
            .and_then(|i| u64::try_from(i64::from(i)).ok())
    }

    fn string(&self, key: &str) -> Option<&str> {
        self.get(key)
            .and_then(sfv::BareItem::as_string)
            .map(sfv::StringRef::as_str)
    }

    /// `created`, when present.
    #[must_use]
    pub fn created_at(&self) -> Option<u64> {
        self.integer("created")
    }

    /// `expires`, when present.
    #[must_use]
    pub fn expires_at(&self) -> Option<u64> {
        self.integer("expires")
    }

    /// `nonce`, when present.
    #[must_use]
    pub fn nonce_value(&self) -> Option<&str> {
        self.string("nonce")
    }

    /// `alg`, when present.
    #[must_use]
    pub fn alg_value(&self) -> Option<&str> {
        self.string("alg")
    }

    /// `keyid`, when present.
    #[must_use]
    pub fn key_id_value(&self) -> Option<&str> {
        self.string("keyid")
    }

    /// `tag`, when present.
    #[must_use]
    pub fn tag_value(&self) -> Option<&str> {
        self.string("tag")
    }

    /// Reads the parameters of one `Signature-Input` member (RFC 9421 §4.1).
    ///
    /// # Errors
    ///
    /// [`Malformed::SignatureInput`] when a known parameter has the wrong type or size;
    /// [`Malformed::InvalidComponent`] when a component identifier is invalid, repeated, or
    /// there are more than [`MAX_COMPONENTS`].
    pub(crate) fn from_inner_list(list: sfv::InnerList) -> Result<Self, Malformed> {
        if list.items.len() > MAX_COMPONENTS {
            return Err(Malformed::InvalidComponent);
        }
        let mut components: Vec<Component> = Vec::with_capacity(list.items.len());
        for item in &list.items {
            let component = Component::from_item(item)?;
            // §2: each component identifier occurs only once.
            if components.contains(&component) {
                return Err(Malformed::InvalidComponent);
            }
            components.push(component);
        }
        for (key, value) in &list.params {
            if !param_is_valid(key.as_str(), value) {
                return Err(Malformed::SignatureInput);
            }
        }
        Ok(Self {
            components,
            params: list
                .params
                .into_iter()
                .map(|(key, value)| match ParamKey::known(key.as_str()) {
                    Some(known) => (ParamKey::Known(known), value),
                    None => (ParamKey::Other(key), value),
                })
                .collect(),
        })
    }

    /// The signature base (RFC 9421 §2.5) of these parameters over `parts`: one line per
    /// covered component, `"<identifier>": <value>`, then the `"@signature-params"` line,
    /// with no trailing newline.
    ///
    /// # Errors
    ///
    /// [`Error::ComponentUnavailable`] when a covered component cannot be derived from
    /// `parts` (an absent field, an absent or repeated query parameter, no authority).
    ///
    /// # Examples
    ///
    /// ```
    /// use auth_core::HeaderList;
    /// use auth_hmac::{Component, RequestParts, SignatureParams};
    ///
    /// let headers = HeaderList::new().with("Host", "example.com");
    /// let parts = RequestParts::new("POST", "/foo?param=Value&Pet=dog", &headers);
    /// let params = SignatureParams::new([Component::METHOD, Component::PATH]).created(1);
    /// assert_eq!(
    ///     String::from_utf8(params.signature_base(&parts)?).unwrap(),
    ///     "\"@method\": POST\n\"@path\": /foo\n\"@signature-params\": (\"@method\" \"@path\");created=1"
    /// );
    /// # Ok::<(), auth_hmac::Error>(())
    /// ```
    pub fn signature_base(&self, parts: &RequestParts<'_>) -> Result<Vec<u8>, Error> {
        self.signature_base_with(parts, None)
    }

    /// [`signature_base`](Self::signature_base), with the `@signature-params` value
    /// `serialized` when the caller has it already in canonical form (the received
    /// `Signature-Input` member, see [`crate::fast`]): copied instead of serialized again.
    pub(crate) fn signature_base_with(
        &self,
        parts: &RequestParts<'_>,
        serialized: Option<&[u8]>,
    ) -> Result<Vec<u8>, Error> {
        // One buffer, sized for the identifiers twice (their lines and the params line),
        // typical values and the parameters, so it rarely grows.
        let identifiers: usize = self.components.iter().map(Component::identifier_len).sum();
        let mut base = Vec::with_capacity(
            2 * identifiers + 64 * self.components.len() + 24 + 48 * self.params.len(),
        );
        for component in &self.components {
            component.write_identifier(&mut base);
            base.extend_from_slice(b": ");
            component
                .write_value(parts, &mut base)
                .map_err(|_| Error::ComponentUnavailable {
                    component: component.to_string(),
                })?;
            base.push(b'\n');
        }
        base.extend_from_slice(b"\"@signature-params\": ");
        match serialized {
            Some(serialized) => {
                debug_assert_eq!(
                    serialized,
                    self.to_string().as_bytes(),
                    "the fast path passed a non-canonical serialization"
                );
                base.extend_from_slice(serialized);
            }
            None => self.write_serialized(&mut base),
        }
        Ok(base)
    }

    /// Appends the `@signature-params` value: the Inner List of component identifiers, then
    /// the parameters (RFC 8941 §4.1.1.1 and §4.1.1.2).
    fn write_serialized(&self, out: &mut Vec<u8>) {
        out.push(b'(');
        for (i, component) in self.components.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            component.write_identifier(out);
        }
        out.push(b')');
        for (key, value) in &self.params {
            out.push(b';');
            out.extend_from_slice(key.as_str().as_bytes());
            if value.as_boolean() != Some(true) {
                out.push(b'=');
                write_bare_item(value, out);
            }
        }
    }
}

/// The decimal digits of `n`, written at the end of `buf`, without `fmt`.
pub(crate) fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        // `n % 10` is below 10.
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}

/// RFC 8941 §4.1.3 serialization of a bare item, written directly for the types signature
/// parameters use (Integer, String, Token, Boolean); the others through `sfv`.
fn write_bare_item(value: &sfv::BareItem, out: &mut Vec<u8>) {
    match value {
        // §4.1.4: an optional `-`, then the decimal digits.
        sfv::BareItem::Integer(i) => {
            let i = i64::from(*i);
            if i < 0 {
                out.push(b'-');
            }
            out.extend_from_slice(decimal(i.unsigned_abs(), &mut [0; 20]));
        }
        // §4.1.6: DQUOTE, `"` and `\` escaped with `\`, DQUOTE (the String type holds only
        // printable ASCII).
        sfv::BareItem::String(string) => {
            out.push(b'"');
            for &b in string.as_str().as_bytes() {
                if b == b'"' || b == b'\\' {
                    out.push(b'\\');
                }
                out.push(b);
            }
            out.push(b'"');
        }
        // §4.1.7: as is (the Token type holds only valid tokens).
        sfv::BareItem::Token(token) => out.extend_from_slice(token.as_str().as_bytes()),
        // §4.1.9.
        sfv::BareItem::Boolean(b) => out.extend_from_slice(if *b { b"?1" } else { b"?0" }),
        other => {
            let mut text = String::new();
            let _ = sfv::ItemSerializer::with_buffer(&mut text).bare_item(other);
            out.extend_from_slice(text.as_bytes());
        }
    }
}

impl fmt::Display for SignatureParams {
    /// The `@signature-params` value (RFC 9421 §2.3): the covered components as an Inner
    /// List with the parameters, as it appears after the label in `Signature-Input`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::with_capacity(128);
        self.write_serialized(&mut out);
        // Every piece written is ASCII (RFC 8941 serializations).
        f.write_str(&String::from_utf8_lossy(&out))
    }
}

impl std::str::FromStr for SignatureParams {
    type Err = Error;

    /// Parses a serialized `@signature-params` value: the part of a `Signature-Input` member
    /// after `<label>=`, such as `("@method" "@path");created=1618884473;keyid="k"`.
    ///
    /// # Errors
    ///
    /// [`Malformed::SignatureInput`] when it is not one Inner List with valid parameters;
    /// [`Malformed::InvalidComponent`] when a component identifier is not supported.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let list: sfv::List = sfv::Parser::new(value)
            .with_version(sfv::Version::Rfc8941)
            .parse()
            .map_err(|_| Malformed::SignatureInput)?;
        match list.as_slice() {
            [sfv::ListEntry::InnerList(_)] => match list.into_iter().next() {
                Some(sfv::ListEntry::InnerList(inner)) => Ok(Self::from_inner_list(inner)?),
                _ => Err(Malformed::SignatureInput.into()),
            },
            _ => Err(Malformed::SignatureInput.into()),
        }
    }
}

/// The headers that carry one signature: `Signature-Input`, `Signature`, and
/// `Content-Digest` when the signer digested a body. Add them all to the request (replacing
/// any `Content-Digest` it had).
#[derive(Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    /// The `Signature-Input` value: `<label>=<signature params>`.
    pub signature_input: String,
    /// The `Signature` value: `<label>=:<base64 MAC>:`.
    pub signature: String,
    /// The `Content-Digest` value, when a body was digested.
    pub content_digest: Option<String>,
}

impl SignatureHeaders {
    /// The headers for signature `label` with `params` and MAC `signature`.
    ///
    /// # Errors
    ///
    /// [`Malformed::SignatureInput`] when `label` is not an RFC 8941 key (`a-z`, digits,
    /// `_-.*`, starting with a letter or `*`).
    pub fn new(label: &str, params: &SignatureParams, signature: &[u8]) -> Result<Self, Error> {
        let label = sfv::KeyRef::from_str(label).map_err(|_| Malformed::SignatureInput)?;
        let mut sig = sfv::DictSerializer::new();
        let _ = sig.bare_item(label, signature);
        Ok(Self {
            signature_input: format!("{}={params}", label.as_str()),
            signature: sig.finish().unwrap_or_default(),
            content_digest: None,
        })
    }

    /// The headers as `(name, value)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            Some(("Signature-Input", self.signature_input.as_str())),
            Some(("Signature", self.signature.as_str())),
            self.content_digest
                .as_deref()
                .map(|digest| ("Content-Digest", digest)),
        ]
        .into_iter()
        .flatten()
    }
}

impl fmt::Debug for SignatureHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The signature is a credential for the request it signs: not printed.
        f.debug_struct("SignatureHeaders")
            .field("signature_input", &self.signature_input)
            .field("signature", &"[redacted]")
            .field("content_digest", &self.content_digest)
            .finish()
    }
}

/// One signature received: its label, parameters and MAC.
#[derive(Debug)]
pub(crate) struct Received<'a> {
    pub(crate) label: Cow<'a, str>,
    /// The parameters, or why they could not be read (another signer's signature may use
    /// components this crate does not support; it must not spoil ours).
    pub(crate) params: Result<SignatureParams, Malformed>,
    pub(crate) mac: Vec<u8>,
    /// The parameters' canonical serialization as received, when the fast path saw it.
    pub(crate) serialized: Option<&'a [u8]>,
}

/// Parses every field line of `Signature-Input` and `Signature` (RFC 9421 §4), pairing the
/// members by label, in `Signature-Input` order.
///
/// A single field line of the common shape goes through [`crate::fast`]; anything else
/// through `sfv`, with the same outcome.
pub(crate) fn parse_signatures<'a>(
    input_lines: &[&'a [u8]],
    signature_lines: &[&'a [u8]],
) -> Result<Vec<Received<'a>>, Error> {
    parse_signatures_with(input_lines, signature_lines, true)
}

fn parse_signatures_with<'a>(
    input_lines: &[&'a [u8]],
    signature_lines: &[&'a [u8]],
    fast: bool,
) -> Result<Vec<Received<'a>>, Error> {
    let fast_inputs = match input_lines {
        [line] if fast => crate::fast::signature_input(line),
        _ => None,
    };
    // Per label: the parameters, or `None` when the member is not an Inner List, and the
    // canonical serialization as received.
    let inputs: Vec<crate::fast::InputMember<'a>> = match fast_inputs {
        Some(members) => members,
        None => parse_unique_dictionary(input_lines, Malformed::SignatureInput)?
            .into_iter()
            .map(|(label, entry)| {
                let params = match entry {
                    sfv::ListEntry::InnerList(list) => Some(SignatureParams::from_inner_list(list)),
                    // Not an Inner List: refused below, in order.
                    sfv::ListEntry::Item(_) => None,
                };
                (Cow::Owned(label.as_str().to_owned()), params, None)
            })
            .collect(),
    };
    let fast_signatures = match signature_lines {
        [line] if fast => crate::fast::signature(line),
        _ => None,
    };
    let signatures: Vec<crate::fast::SignatureMember<'a>> = match fast_signatures {
        Some(members) => members,
        None => parse_unique_dictionary(signature_lines, Malformed::Signature)?
            .into_iter()
            .map(|(label, entry)| {
                let mac = match entry {
                    sfv::ListEntry::Item(sfv::Item {
                        bare_item: sfv::BareItem::ByteSequence(mac),
                        ..
                    }) => Some(mac),
                    // Not a Byte Sequence: refused below, in order.
                    _ => None,
                };
                (Cow::Owned(label.as_str().to_owned()), mac)
            })
            .collect(),
    };
    if inputs.len() > MAX_SIGNATURES || signatures.len() > MAX_SIGNATURES {
        return Err(Malformed::TooManySignatures.into());
    }
    if inputs.len() != signatures.len()
        || inputs
            .iter()
            .any(|(label, _, _)| !signatures.iter().any(|(l, _)| l == label))
    {
        return Err(Malformed::LabelMismatch.into());
    }
    let mut signatures = signatures;
    let mut received = Vec::with_capacity(inputs.len());
    for (label, params, serialized) in inputs {
        let Some(params) = params else {
            return Err(Malformed::SignatureInput.into());
        };
        let mac = signatures
            .iter_mut()
            .find(|(l, _)| *l == label)
            .and_then(|(_, mac)| mac.take());
        let Some(mac) = mac else {
            return Err(Malformed::Signature.into());
        };
        received.push(Received {
            label,
            params,
            mac,
            serialized,
        });
    }
    Ok(received)
}

/// Parses the field lines as one Dictionary, refusing a key that appears twice (RFC 8941
/// would keep the last; RFC 9421 §4 requires labels unique across all field values).
fn parse_unique_dictionary(
    lines: &[&[u8]],
    malformed: Malformed,
) -> Result<sfv::Dictionary, Error> {
    let mut dictionary = sfv::Dictionary::new();
    for line in lines {
        let mut visitor = UniqueKeys {
            dictionary: &mut dictionary,
            duplicate: false,
        };
        let parsed = sfv::Parser::new(line)
            .with_version(sfv::Version::Rfc8941)
            .parse_dictionary_with_visitor(&mut visitor);
        if visitor.duplicate {
            return Err(Malformed::DuplicateLabel.into());
        }
        parsed.map_err(|_| malformed)?;
    }
    Ok(dictionary)
}

#[derive(Debug)]
struct DuplicateKey;

impl fmt::Display for DuplicateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("duplicate dictionary key")
    }
}

impl std::error::Error for DuplicateKey {}

struct UniqueKeys<'a> {
    dictionary: &'a mut sfv::Dictionary,
    duplicate: bool,
}

impl<'de> sfv::visitor::DictionaryVisitor<'de> for &mut UniqueKeys<'_> {
    type Out = ();
    type Error = DuplicateKey;

    fn entry(
        &mut self,
        key: &'de sfv::KeyRef,
    ) -> Result<impl sfv::visitor::EntryVisitor<'de>, Self::Error> {
        if self.dictionary.contains_key(key) {
            self.duplicate = true;
            return Err(DuplicateKey);
        }
        <sfv::Dictionary as sfv::visitor::DictionaryVisitor<'de>>::entry(self.dictionary, key)
            .map_err(|never| match never {})
    }

    fn finish(self) -> Result<Self::Out, Self::Error> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a parse gave, comparable across the fast path and the general parser.
    fn describe(result: Result<Vec<Received<'_>>, Error>) -> String {
        match result {
            Ok(received) => format!(
                "{:?}",
                received
                    .iter()
                    .map(|r| (&r.label, &r.params, &r.mac))
                    .collect::<Vec<_>>()
            ),
            Err(error) => format!("error {error:?}"),
        }
    }

    fn parse<'a>(input: &'a str, signature: &'a str) -> Result<Vec<Received<'a>>, Error> {
        parse_signatures(&[input.as_bytes()], &[signature.as_bytes()])
    }

    /// A serialization the fast path passes on is the one `SignatureParams` writes.
    fn assert_serialized_is_canonical(result: &Result<Vec<Received<'_>>, Error>) {
        for received in result.iter().flatten() {
            if let (Some(serialized), Ok(params)) = (received.serialized, &received.params) {
                assert_eq!(
                    String::from_utf8_lossy(serialized),
                    params.to_string(),
                    "a non-canonical serialization was passed on"
                );
            }
        }
    }

    #[test]
    fn canonical_members_are_passed_on_as_received() {
        let serialized = |input: &str| {
            let received = parse(input, "a=:AA==:").unwrap();
            assert_serialized_is_canonical(&Ok(parse(input, "a=:AA==:").unwrap()));
            received[0]
                .serialized
                .map(|s| String::from_utf8_lossy(s).into_owned())
        };
        assert_eq!(
            serialized(r#"a=("@method" "content-digest");created=0;keyid="k";n=-1;f=?0;t=x/y;b"#)
                .as_deref(),
            Some(r#"("@method" "content-digest");created=0;keyid="k";n=-1;f=?0;t=x/y;b"#)
        );
        assert_eq!(
            serialized("a=();created=1 "),
            Some("();created=1".to_owned())
        );
        for not_canonical in [
            r#"a=( "@method")"#,
            r#"a=("@method" )"#,
            r#"a=("@method"  "date")"#,
            "a=(); created=1",
            "a=();created=01",
            "a=();n=-0",
            "a=();b=?1",
        ] {
            assert_eq!(serialized(not_canonical), None, "{not_canonical}");
        }
    }

    fn malformed(result: Result<Vec<Received<'_>>, Error>) -> Malformed {
        match result {
            Err(Error::Malformed(m)) => m,
            other => panic!("expected malformed, got {other:?}"),
        }
    }

    #[test]
    fn pairs_labels_across_field_lines() {
        let received = parse_signatures(
            &[b"a=(\"@method\");created=1", b"b=();created=2"],
            &[b"b=:AAAA:, a=:AQID:"],
        )
        .unwrap();
        assert_eq!(received.len(), 2);
        assert_eq!(received[0].label, "a");
        assert_eq!(received[0].mac, [1, 2, 3]);
        assert_eq!(received[1].params.as_ref().unwrap().created_at(), Some(2));
    }

    #[test]
    fn refuses_duplicates_mismatches_and_bad_types() {
        assert_eq!(
            malformed(parse_signatures(&[b"a=()", b"a=()"], &[b"a=:AA==:"])),
            Malformed::DuplicateLabel
        );
        assert_eq!(
            malformed(parse("a=(), a=()", "a=:AA==:")),
            Malformed::DuplicateLabel
        );
        assert_eq!(
            malformed(parse("a=()", "b=:AA==:")),
            Malformed::LabelMismatch
        );
        assert_eq!(
            malformed(parse("a=(), b=()", "a=:AA==:")),
            Malformed::LabelMismatch
        );
        assert_eq!(
            malformed(parse("a=1", "a=:AA==:")),
            Malformed::SignatureInput
        );
        assert_eq!(
            malformed(parse("a=(", "a=:AA==:")),
            Malformed::SignatureInput
        );
        assert_eq!(
            malformed(parse("a=()", "a=:not base64!:")),
            Malformed::Signature
        );
        assert_eq!(malformed(parse("a=()", "a=\"text\"")), Malformed::Signature);
        let many: Vec<String> = (0..=MAX_SIGNATURES).map(|i| format!("s{i}=()")).collect();
        let sigs: Vec<String> = (0..=MAX_SIGNATURES)
            .map(|i| format!("s{i}=:AA==:"))
            .collect();
        assert_eq!(
            malformed(parse(&many.join(", "), &sigs.join(", "))),
            Malformed::TooManySignatures
        );
        for bad in [
            "a=();created=\"1\"",
            "a=();created=-1",
            "a=();created=1.5",
            "a=();keyid=k",
            "a=();nonce=\"\"",
        ] {
            let received = parse(bad, "a=:AA==:").unwrap();
            assert!(
                matches!(received[0].params, Err(Malformed::SignatureInput)),
                "{bad}"
            );
        }
        let received = parse(r#"a=("@method" "@method")"#, "a=:AA==:").unwrap();
        assert!(matches!(
            received[0].params,
            Err(Malformed::InvalidComponent)
        ));
    }

    #[test]
    fn params_round_trip_in_received_order() {
        let input = r#"sig=("@method" "@query-param";name="Pet");keyid="k";created=9;foo=1.5"#;
        let received = parse(input, "sig=:AA==:").unwrap();
        let params = received[0].params.as_ref().unwrap();
        assert_eq!(
            params.to_string(),
            r#"("@method" "@query-param";name="Pet");keyid="k";created=9;foo=1.5"#
        );
        assert_eq!(params.key_id_value(), Some("k"));
        assert_eq!(params.created_at(), Some(9));
        // Optional whitespace is normalized away, as §4.1 requires for the base.
        let spaced =
            r#"sig=(  "@method"   "@query-param";name="Pet" );keyid="k";created=9;foo=1.5"#;
        let received = parse(spaced, "sig=:AA==:").unwrap();
        assert_eq!(received[0].params.as_ref().unwrap(), params);
    }

    /// The fast path and the general parser agree, on what the fast path takes and on what
    /// it leaves to the general parser.
    #[test]
    fn fast_path_agrees_with_sfv() {
        let inputs = [
            r#"sig1=("@method" "@target-uri" "content-digest");created=1618884473;keyid="k";nonce="n1""#,
            r#"sig1=("@method" "@target-uri");created=1;keyid="k";alg="hmac-sha256";tag="t";x=y;b;f=?0"#,
            r#"sig1=( "@method"  "date" );created=1, sig2=();created=2"#,
            "sig1=();created=1\t, sig2=()",
            r#"sig1=("@status");created=1"#,
            r#"sig1=("@method" "@method")"#,
            r#"sig1=("Content-Type")"#,
            r#"sig1=();created=-1"#,
            r#"sig1=();created="1""#,
            r#"sig1=();keyid=k"#,
            r#"sig1=();nonce="""#,
            r#"sig1=();created=1;created=2"#,
            r#"sig1=();created=1.5"#,
            r#"sig1=(), sig1=()"#,
            r#"sig1=("a\"b")"#,
            r#"sig1=("@query-param";name="a")"#,
            r#"sig1=1"#,
            r#"sig1=(),"#,
            r#"sig1=() x"#,
            r#"sig1=(), sig2=()"#,
            r#"sig1=();created=1234567890123456"#,
            r#"Sig1=()"#,
            r#" sig1=()"#,
            r#"sig1=("@method""date")"#,
            r#"sig1=("@method";x)"#,
            r#"sig1=();k=:AA==:"#,
            "",
        ];
        let signatures = [
            "sig1=:AQID:",
            "sig1=:AQID:, sig2=:AA==:",
            "sig2=:AA==:, sig1=:AQID:",
            "sig1=:AQI:",
            "sig1=:AQ==:;x",
            "sig1=\"x\"",
            "sig1=:AQ==:, sig1=:AQ==:",
            "sig1=:not base64!:",
            "sig1=:AQID:,",
            "sig1",
            "",
        ];
        for input in inputs {
            for signature in signatures {
                let lines = (&[input.as_bytes()][..], &[signature.as_bytes()][..]);
                let fast = parse_signatures_with(lines.0, lines.1, true);
                let general = parse_signatures_with(lines.0, lines.1, false);
                assert_serialized_is_canonical(&fast);
                // Equal parameters compare equal, and serialize alike.
                if let (Ok(f), Ok(g)) = (&fast, &general) {
                    for (f, g) in f.iter().zip(g) {
                        assert_eq!(f.params, g.params, "{input} / {signature}");
                        if let (Ok(f), Ok(g)) = (&f.params, &g.params) {
                            assert_eq!(f.to_string(), g.to_string());
                        }
                    }
                }
                assert_eq!(describe(fast), describe(general), "{input} / {signature}");
            }
        }
    }

    /// Mutations of real headers: the fast path and the general parser still agree.
    #[test]
    fn fast_path_agrees_with_sfv_on_mutations() {
        let input = br#"sig1=("@method" "@target-uri" "content-digest");created=1618884473;keyid="k-1";nonce="AbC_9";alg="hmac-sha256", sig2=("@authority");created=2;t=tok;b=?1"#;
        let signature = b"sig1=:AQIDBA==:, sig2=:AAEC:";
        const ALPHABET: &[u8] = b" \t\",;=():?*-._/+@%\\aAzZ09\x7f\x80";
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..20_000 {
            let mutate_input = round % 2 == 0;
            let mut bytes = if mutate_input {
                input.to_vec()
            } else {
                signature.to_vec()
            };
            for _ in 0..=(next() % 3) {
                let at = (next() % bytes.len() as u64) as usize;
                let b = ALPHABET[(next() % ALPHABET.len() as u64) as usize];
                match next() % 3 {
                    0 => bytes[at] = b,
                    1 => bytes.insert(at, b),
                    _ => {
                        bytes.remove(at);
                    }
                }
                if bytes.is_empty() {
                    bytes.push(b'a');
                }
            }
            let (i, s): (&[u8], &[u8]) = if mutate_input {
                (&bytes, signature)
            } else {
                (input, &bytes)
            };
            let fast = parse_signatures_with(&[i], &[s], true);
            let general = parse_signatures_with(&[i], &[s], false);
            assert_serialized_is_canonical(&fast);
            assert_eq!(
                describe(fast),
                describe(general),
                "{} / {}",
                String::from_utf8_lossy(i),
                String::from_utf8_lossy(s)
            );
        }
    }

    #[test]
    fn headers_serialize() {
        let params = SignatureParams::new([Component::METHOD])
            .created(1)
            .key_id("k");
        let headers = SignatureHeaders::new("sig1", &params, &[1, 2, 3]).unwrap();
        assert_eq!(
            headers.signature_input,
            r#"sig1=("@method");created=1;keyid="k""#
        );
        assert_eq!(headers.signature, "sig1=:AQID:");
        assert!(!format!("{headers:?}").contains("AQID"));
        assert!(SignatureHeaders::new("Sig", &params, &[]).is_err());
    }
}
