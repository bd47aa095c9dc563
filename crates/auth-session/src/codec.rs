//! The session cookie: finding it in a request, opening it (signature or encryption, with
//! key rotation), and writing `Set-Cookie`.

use std::borrow::Cow;
use std::fmt;

use auth_core::HeaderSource;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cookie::{Cookie, CookieJar};

use crate::mac::TAG_LEN;
use crate::{ConfigError, CookieKeys, ENCODED_ID_LEN, Error, SessionId};

/// The longest `Set-Cookie` value ever sent, attributes included. Browsers drop cookies whose
/// name and value exceed 4096 bytes (RFC 6265 §6.1, RFC 6265bis §5.7); a session cookie
/// that long means something is wrong, so it is refused rather than silently lost.
pub const MAX_COOKIE_LEN: usize = 4096;

/// The default cookie name (before the prefix): `id`, so the cookie is `__Host-id`. A
/// neutral name says nothing about the framework behind it (OWASP Session Management Cheat
/// Sheet, "Session ID Name Fingerprinting").
pub const DEFAULT_COOKIE_NAME: &str = "id";

/// The longest raw cookie value that is even looked at; a genuine one is under 100 bytes.
const MAX_VALUE_LEN: usize = 512;

/// Characters of the tag at the front of a signed cookie: padded standard base64 of 32
/// bytes, as the `cookie` crate writes it.
const BASE64_TAG_LEN: usize = 44;

/// Characters of a signed cookie's value: the tag, then the encoded id.
const SIGNED_VALUE_LEN: usize = BASE64_TAG_LEN + ENCODED_ID_LEN;

/// How the cookie protects the session id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CookieProtection {
    /// HMAC-SHA256 over the id (the `cookie` crate's signed jar). The default: the id is
    /// random and means nothing to a reader, so hiding it adds nothing; the signature lets a
    /// forged or mangled cookie be refused without a store lookup.
    #[default]
    Signed,
    /// AES-256-GCM (the `cookie` crate's private jar): authenticated and encrypted, with the
    /// cookie name as associated data. Slightly longer and slower; pick it when policy asks
    /// for opaque cookies.
    Private,
}

/// The cookie's `SameSite` attribute (RFC 6265bis §5.7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SameSite {
    /// Sent on same-site requests only: no cookie on any cross-site request, including a
    /// user following a link from another site (who then arrives logged out).
    Strict,
    /// The default: sent on same-site requests and on cross-site top-level `GET`
    /// navigations, not on cross-site `POST`s, frames, images or `fetch`. Blocks most CSRF
    /// while links into the site keep working.
    #[default]
    Lax,
    /// Sent on every request, cross-site included. Requires `Secure`; leaves CSRF defence
    /// entirely to the token and origin checks.
    None,
}

impl From<SameSite> for cookie::SameSite {
    fn from(value: SameSite) -> Self {
        match value {
            SameSite::Strict => cookie::SameSite::Strict,
            SameSite::Lax => cookie::SameSite::Lax,
            SameSite::None => cookie::SameSite::None,
        }
    }
}

/// A `Set-Cookie` header value for the session cookie: a new or re-issued cookie, or its
/// removal.
///
/// The value of a new cookie is the signed session id, a bearer credential: it is readable
/// only through [`SetCookie::expose_header_value`], and `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct SetCookie {
    value: String,
    removal: bool,
}

impl SetCookie {
    /// The header value, to send as `Set-Cookie`.
    #[must_use]
    pub fn expose_header_value(&self) -> &str {
        &self.value
    }

    /// Whether it removes the cookie (logout, an expired or refused cookie).
    #[must_use]
    pub fn is_removal(&self) -> bool {
        self.removal
    }
}

impl fmt::Debug for SetCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetCookie")
            .field("removal", &self.removal)
            .field("len", &self.value.len())
            .finish_non_exhaustive()
    }
}

/// The cookie settings a builder collects.
#[derive(Debug, Clone)]
pub(crate) struct CookieSettings {
    pub(crate) base_name: String,
    pub(crate) domain: Option<String>,
    pub(crate) secure: bool,
    pub(crate) insecure_dev: bool,
    pub(crate) same_site: SameSite,
    pub(crate) protection: CookieProtection,
}

impl Default for CookieSettings {
    fn default() -> Self {
        Self {
            base_name: DEFAULT_COOKIE_NAME.to_owned(),
            domain: None,
            secure: true,
            insecure_dev: false,
            same_site: SameSite::Lax,
            protection: CookieProtection::Signed,
        }
    }
}

/// Reads and writes the session cookie.
#[derive(Debug, Clone)]
pub(crate) struct CookieCodec {
    name: String,
    domain: Option<String>,
    secure: bool,
    same_site: SameSite,
    protection: CookieProtection,
    keys: CookieKeys,
    /// The `Set-Cookie` value that removes the cookie.
    removal: String,
}

/// A cookie whose signature (or encryption) checked out.
pub(crate) struct Opened {
    pub(crate) id: SessionId,
    /// Made with a previous key: re-issue it under the current one.
    pub(crate) rotated: bool,
}

impl CookieCodec {
    pub(crate) fn new(settings: &CookieSettings, keys: CookieKeys) -> Result<Self, ConfigError> {
        let base = settings.base_name.as_str();
        if base.is_empty() || base.len() > 64 || !base.bytes().all(auth_core::is_tchar) {
            return Err(ConfigError::InvalidCookie(
                "the name must be 1 to 64 RFC 6265 token characters",
            ));
        }
        let lower = base.to_ascii_lowercase();
        if lower.starts_with("__host-") || lower.starts_with("__secure-") {
            return Err(ConfigError::InvalidCookie(
                "give the name without a prefix; the prefix is added for you",
            ));
        }
        if let Some(domain) = &settings.domain {
            let valid = !domain.is_empty()
                && domain.len() <= 253
                && domain
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
                && !domain.starts_with('.')
                && !domain.ends_with('.');
            if !valid {
                return Err(ConfigError::InvalidCookie(
                    "the domain must be a host name such as example.com",
                ));
            }
        }
        if !settings.secure && !settings.insecure_dev {
            return Err(ConfigError::InsecureCookie);
        }
        if !settings.secure && settings.same_site == SameSite::None {
            return Err(ConfigError::InvalidCookie(
                "SameSite=None needs Secure (browsers drop the cookie otherwise)",
            ));
        }
        // RFC 6265bis §4.1.3: `__Host-` needs Secure, Path=/ and no Domain; `__Secure-`
        // needs Secure. Without Secure (development only) there is no prefix.
        let name = match (settings.secure, &settings.domain) {
            (true, None) => format!("__Host-{base}"),
            (true, Some(_)) => format!("__Secure-{base}"),
            (false, _) => base.to_owned(),
        };
        let mut codec = Self {
            name,
            domain: settings.domain.clone(),
            secure: settings.secure,
            same_site: settings.same_site,
            protection: settings.protection,
            keys,
            removal: String::new(),
        };
        // Formatted once: the same header every time (its `Expires`, a year before start-up,
        // stays in the past), instead of formatting a date for every refused cookie.
        let mut removal = codec.cookie(String::new());
        removal.make_removal();
        codec.removal = removal.to_string();
        Ok(codec)
    }

    /// The full cookie name, prefix included.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn keys(&self) -> &CookieKeys {
        &self.keys
    }

    /// The raw value of our cookie in `headers`, if the request carries it, borrowed from
    /// the header (copied only when a `Cookie` header is not UTF-8).
    ///
    /// It splits and trims exactly as the `cookie` crate's `Cookie::split_parse` does
    /// (`;`-separated pairs, blank pairs skipped, name and value trimmed, pairs without
    /// `=` or with an empty name skipped), without building a `Cookie` for every pair.
    ///
    /// # Errors
    ///
    /// [`Error::DuplicateCookie`] when two or more cookies have our name, compared without
    /// regard to ASCII case. A single cookie whose name differs from ours only in case is
    /// not ours and is ignored (never adopted).
    pub(crate) fn find<'h>(
        &self,
        headers: &'h dyn HeaderSource,
    ) -> Result<Option<Cow<'h, str>>, Error> {
        let mut matches = 0_usize;
        let mut exact = None;
        // One `Cookie` header is the rule (HTTP/1.1 clients join cookies into one; RFC 9113
        // §8.2.3 lets HTTP/2 split them): look it up without collecting a list.
        let single;
        let all;
        let values: &[&[u8]] = match headers.get_one("cookie") {
            Ok(None) => return Ok(None),
            Ok(Some(value)) => {
                single = [value];
                &single
            }
            Err(_) => {
                all = headers.get_all("cookie");
                &all
            }
        };
        for &raw in values {
            let found = match std::str::from_utf8(raw) {
                Ok(text) => self.scan(text, &mut matches).map(Cow::Borrowed),
                Err(_) => self
                    .scan(&String::from_utf8_lossy(raw), &mut matches)
                    .map(|value| Cow::Owned(value.to_owned())),
            };
            if found.is_some() {
                exact = found;
            }
        }
        match matches {
            0 | 1 => Ok(exact),
            _ => Err(Error::DuplicateCookie),
        }
    }

    /// Our cookie's value in one `Cookie` header, counting every cookie whose name matches
    /// ours without regard to ASCII case into `matches`.
    fn scan<'t>(&self, text: &'t str, matches: &mut usize) -> Option<&'t str> {
        let mut exact = None;
        let mut rest = text;
        loop {
            // Splitting at ASCII bytes always falls on UTF-8 character boundaries.
            let (pair, next) = match rest.find(';') {
                Some(at) => (&rest[..at], Some(&rest[at + 1..])),
                None => (rest, None),
            };
            if let Some(at) = pair.find('=') {
                let name = pair[..at].trim();
                if !name.is_empty() && name.eq_ignore_ascii_case(&self.name) {
                    *matches += 1;
                    if name == self.name {
                        exact = Some(pair[at + 1..].trim());
                    }
                }
            }
            match next {
                Some(next) => rest = next,
                None => return exact,
            }
        }
    }

    /// Checks `value` against every key, the current one first.
    pub(crate) fn open(&self, value: &str) -> Option<Opened> {
        if value.is_empty() || value.len() > MAX_VALUE_LEN {
            return None;
        }
        match self.protection {
            CookieProtection::Signed => self.open_signed(value),
            CookieProtection::Private => self.open_private(value),
        }
    }

    /// A signed cookie: `base64(HMAC-SHA256(key, id)) || id`, the `cookie` crate's signed
    /// jar format, checked here without the jar (no allocation, the key's HMAC pads hashed
    /// once). Each key's tag is computed and compared in constant time, the current key
    /// first; the id is decoded only once a tag matched.
    fn open_signed(&self, value: &str) -> Option<Opened> {
        let bytes = value.as_bytes();
        if bytes.len() != SIGNED_VALUE_LEN {
            // Whatever its signature, no other length carries an id.
            return None;
        }
        let (tag_text, id_text) = bytes.split_at(BASE64_TAG_LEN);
        // Strict padded standard base64, as the jar decodes it.
        let mut tag = [0_u8; TAG_LEN];
        match STANDARD.decode_slice(tag_text, &mut tag) {
            Ok(TAG_LEN) => {}
            _ => return None,
        }
        for (index, key) in self.keys.all().enumerate() {
            if key.mac().verify(id_text, &tag) {
                return SessionId::decode(std::str::from_utf8(id_text).ok()?).map(|id| Opened {
                    id,
                    rotated: index > 0,
                });
            }
        }
        None
    }

    /// An encrypted cookie, through the `cookie` crate's private jar.
    fn open_private(&self, value: &str) -> Option<Opened> {
        let jar = CookieJar::new();
        for (index, key) in self.keys.all().enumerate() {
            let key = key.cookie_key();
            let cookie = Cookie::new(self.name.clone(), value.to_owned());
            if let Some(plain) = jar.private(&key).decrypt(cookie) {
                return SessionId::decode(plain.value()).map(|id| Opened {
                    id,
                    rotated: index > 0,
                });
            }
        }
        None
    }

    fn cookie(&self, value: String) -> Cookie<'static> {
        let mut cookie = Cookie::build((self.name.clone(), value))
            .path("/")
            .http_only(true)
            .secure(self.secure)
            .same_site(self.same_site.into())
            .build();
        if let Some(domain) = &self.domain {
            cookie.set_domain(domain.clone());
        }
        cookie
    }

    /// The `Set-Cookie` value carrying `id` under the current key.
    ///
    /// # Errors
    ///
    /// [`Error::CookieTooLarge`] past [`MAX_COOKIE_LEN`] bytes (then nothing is sent).
    pub(crate) fn issue(&self, id: &SessionId) -> Result<SetCookie, Error> {
        let key = self.keys.current().cookie_key();
        let mut jar = CookieJar::new();
        let cookie = self.cookie(id.encode().to_string());
        match self.protection {
            CookieProtection::Signed => jar.signed_mut(&key).add(cookie),
            CookieProtection::Private => jar.private_mut(&key).add(cookie),
        }
        let value = jar
            .get(&self.name)
            .map(ToString::to_string)
            .unwrap_or_default();
        checked(value, false)
    }

    /// The `Set-Cookie` value that removes the cookie (empty, `Max-Age=0`, an `Expires` in
    /// the past, the same name, path and domain).
    pub(crate) fn removal(&self) -> SetCookie {
        SetCookie {
            value: self.removal.clone(),
            removal: true,
        }
    }
}

fn checked(value: String, removal: bool) -> Result<SetCookie, Error> {
    if value.is_empty() || value.len() > MAX_COOKIE_LEN {
        return Err(Error::CookieTooLarge { len: value.len() });
    }
    Ok(SetCookie { value, removal })
}

#[cfg(test)]
mod tests {
    use auth_core::HeaderList;

    use super::*;
    use crate::CookieKey;

    fn keys() -> CookieKeys {
        CookieKeys::new(CookieKey::from_bytes(&[1; 64]).unwrap())
    }

    fn codec(settings: CookieSettings) -> CookieCodec {
        CookieCodec::new(&settings, keys()).unwrap()
    }

    #[test]
    fn defaults_are_host_prefixed_secure_httponly_lax_root_and_domainless() {
        let codec = codec(CookieSettings::default());
        let id = SessionId::from_bytes([9; 32]);
        let header = codec.issue(&id).unwrap();
        let value = header.expose_header_value();
        assert!(value.starts_with("__Host-id="), "{value}");
        let attributes: Vec<&str> = value.split("; ").skip(1).collect();
        for expected in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
            assert!(attributes.contains(&expected), "{value}");
        }
        assert!(!value.to_ascii_lowercase().contains("domain"), "{value}");
    }

    #[test]
    fn insecure_cookies_need_the_loud_opt_in() {
        let settings = CookieSettings {
            secure: false,
            ..CookieSettings::default()
        };
        assert_eq!(
            CookieCodec::new(&settings, keys()).unwrap_err(),
            ConfigError::InsecureCookie
        );
        let dev = codec(CookieSettings {
            secure: false,
            insecure_dev: true,
            ..CookieSettings::default()
        });
        let value = dev.issue(&SessionId::from_bytes([1; 32])).unwrap();
        assert!(value.expose_header_value().starts_with("id="));
        assert!(!value.expose_header_value().contains("Secure"));
    }

    #[test]
    fn a_domain_switches_to_the_secure_prefix() {
        let codec = codec(CookieSettings {
            domain: Some("example.com".into()),
            ..CookieSettings::default()
        });
        let value = codec.issue(&SessionId::from_bytes([1; 32])).unwrap();
        assert!(value.expose_header_value().starts_with("__Secure-id="));
        assert!(value.expose_header_value().contains("Domain=example.com"));
    }

    #[test]
    fn bad_names_and_domains_are_refused() {
        for name in ["", "a b", "a;b", "__Host-id", "__secure-x", &"x".repeat(65)] {
            let settings = CookieSettings {
                base_name: name.to_owned(),
                ..CookieSettings::default()
            };
            assert!(CookieCodec::new(&settings, keys()).is_err(), "{name:?}");
        }
        for domain in ["", ".example.com", "exa mple.com", "a;b"] {
            let settings = CookieSettings {
                domain: Some(domain.to_owned()),
                ..CookieSettings::default()
            };
            assert!(CookieCodec::new(&settings, keys()).is_err(), "{domain:?}");
        }
    }

    #[test]
    fn issued_cookies_open_and_tampered_ones_do_not() {
        for protection in [CookieProtection::Signed, CookieProtection::Private] {
            let codec = codec(CookieSettings {
                protection,
                ..CookieSettings::default()
            });
            let id = SessionId::generate().unwrap();
            let header = codec.issue(&id).unwrap();
            let value = cookie_value(&header);
            let opened = codec.open(&value).unwrap();
            assert!(opened.id == id && !opened.rotated);
            let mut tampered = value.clone().into_bytes();
            let last = tampered.len() - 1;
            tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
            assert!(
                codec
                    .open(std::str::from_utf8(&tampered).unwrap())
                    .is_none()
            );
            assert!(
                codec.open(&id.encode()).is_none(),
                "an unsigned id is refused"
            );
        }
    }

    #[test]
    fn previous_keys_open_and_are_flagged_unknown_keys_do_not() {
        let old = CookieKey::from_bytes(&[2; 64]).unwrap();
        let new = CookieKey::from_bytes(&[3; 64]).unwrap();
        let before =
            CookieCodec::new(&CookieSettings::default(), CookieKeys::new(old.clone())).unwrap();
        let after = CookieCodec::new(
            &CookieSettings::default(),
            CookieKeys::new(new).with_previous(old),
        )
        .unwrap();
        let id = SessionId::generate().unwrap();
        let value = cookie_value(&before.issue(&id).unwrap());
        let opened = after.open(&value).unwrap();
        assert!(opened.id == id && opened.rotated);
        let stranger = CookieCodec::new(
            &CookieSettings::default(),
            CookieKeys::new(CookieKey::from_bytes(&[4; 64]).unwrap()),
        )
        .unwrap();
        assert!(stranger.open(&value).is_none());
    }

    #[test]
    fn oversized_cookies_are_never_sent() {
        assert!(matches!(
            checked("x".repeat(MAX_COOKIE_LEN + 1), false),
            Err(Error::CookieTooLarge { len: 4097 })
        ));
        assert!(checked("x".repeat(MAX_COOKIE_LEN), false).is_ok());
    }

    #[test]
    fn duplicates_and_case_variants_are_refused_a_lone_variant_ignored() {
        let codec = codec(CookieSettings::default());
        let find = |values: &[&str]| {
            let mut headers = HeaderList::new();
            for v in values {
                headers.push("Cookie", *v);
            }
            codec
                .find(&headers)
                .map(|value| value.map(std::borrow::Cow::into_owned))
        };
        assert_eq!(
            find(&["a=1; __Host-id=v; b=2"]).unwrap().as_deref(),
            Some("v")
        );
        assert!(matches!(
            find(&["__Host-id=v; __Host-id=w"]),
            Err(Error::DuplicateCookie)
        ));
        assert!(matches!(
            find(&["__Host-id=v", "__host-ID=w"]),
            Err(Error::DuplicateCookie)
        ));
        assert_eq!(find(&["__HOST-id=v"]).unwrap(), None);
        assert_eq!(find(&[]).unwrap(), None);
    }

    #[test]
    fn find_splits_and_trims_as_the_cookie_crate_does() {
        let codec = codec(CookieSettings::default());
        let headers = [
            "__Host-id=v",
            " ;; a=1;  __Host-id = v w ;b",
            "=x; __Host-id==v=",
            "noequals; __Host-id=\"q\"; ",
            "\t__Host-id=\u{a0}v\u{a0}",
            "__Host-id=",
            "a=1; __host-id=v",
        ];
        for header in headers {
            let mut matches = 0;
            let mut exact = None;
            for cookie in Cookie::split_parse(header).flatten() {
                if cookie.name().eq_ignore_ascii_case(codec.name()) {
                    matches += 1;
                    if cookie.name() == codec.name() {
                        exact = Some(cookie.value().to_owned());
                    }
                }
            }
            let headers = HeaderList::new().with("Cookie", header);
            let found = codec.find(&headers).map(|v| v.map(|v| v.into_owned()));
            match matches {
                0 | 1 => assert_eq!(found.unwrap(), exact, "{header:?}"),
                _ => assert!(found.is_err(), "{header:?}"),
            }
        }
        // Not UTF-8: read lossily, as before.
        let mut headers = HeaderList::new();
        headers.push("Cookie", &b"x=\xff; __Host-id=v"[..]);
        assert_eq!(codec.find(&headers).unwrap().as_deref(), Some("v"));
    }

    #[test]
    fn signed_cookies_are_the_cookie_crate_format() {
        let key = CookieKey::from_bytes(&[6; 64]).unwrap();
        let codec =
            CookieCodec::new(&CookieSettings::default(), CookieKeys::new(key.clone())).unwrap();
        let id = SessionId::from_bytes([8; 32]);
        // What the jar signs, the codec opens, and the reverse.
        let mut jar = CookieJar::new();
        jar.signed_mut(&key.cookie_key())
            .add(Cookie::new("__Host-id", id.encode().to_string()));
        let signed = jar.get("__Host-id").unwrap().value().to_owned();
        assert!(codec.open(&signed).unwrap().id == id);
        let issued = cookie_value(&codec.issue(&id).unwrap());
        let verified = CookieJar::new()
            .signed(&key.cookie_key())
            .verify(Cookie::new("__Host-id", issued.clone()))
            .unwrap();
        assert_eq!(verified.value(), &*id.encode());
        // A valid tag over something that is not an id, and bad base64 tags, are refused.
        let mut jar = CookieJar::new();
        jar.signed_mut(&key.cookie_key())
            .add(Cookie::new("__Host-id", "*".repeat(ENCODED_ID_LEN)));
        assert!(codec.open(jar.get("__Host-id").unwrap().value()).is_none());
        let mut bad = issued.into_bytes();
        bad[43] = b'A';
        assert!(codec.open(std::str::from_utf8(&bad).unwrap()).is_none());
        bad[0] = b'\xc3';
        assert!(codec.open(&String::from_utf8_lossy(&bad)).is_none());
    }

    fn cookie_value(header: &SetCookie) -> String {
        let text = header.expose_header_value();
        let pair = text.split(';').next().unwrap();
        pair.split_once('=').unwrap().1.to_owned()
    }
}
