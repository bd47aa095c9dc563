//! [`Signer`]: signs requests for clients (RFC 9421, `hmac-sha256`, with RFC 9530
//! `Content-Digest`).

use std::fmt;
use std::time::Duration;

use auth_core::{HeaderSource, Secret, SharedClock, SystemClock};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::key::{ALGORITHM, check_key_id, check_secret, hmac_sha256};
use crate::{
    Component, ConfigError, DigestAlgorithm, Error, RequestParts, SignatureHeaders,
    SignatureParams, content_digest,
};

/// The default label of the signatures a [`Signer`] makes.
pub const DEFAULT_LABEL: &str = "sig1";

/// Signs requests: `(method, URL, headers, body)` in, the headers to add out.
///
/// Each signature covers `@method`, `@target-uri`, any fields added with
/// [`SignerBuilder::cover`], and — when there is a body — a `Content-Digest` it computes;
/// its parameters are `created` (from the clock), a random `nonce` (128 bits), `keyid`, and
/// optionally `expires`, `alg` and `tag`. That is what the default [`Verifier`](crate::Verifier)
/// policy requires.
///
/// # Examples
///
/// ```
/// use auth_core::HeaderList;
/// use auth_hmac::Signer;
///
/// let signer = Signer::builder("billing-2025", "a secret of at least thirty-two bytes!").build()?;
/// let headers = HeaderList::new().with("Content-Type", "application/json");
/// let signed = signer.sign("POST", "https://api.example.com/orders", &headers, Some(br#"{"qty":1}"#))?;
/// for (name, value) in signed.iter() {
///     // add `name: value` to the request (replacing any Content-Digest)
///     # let _ = (name, value);
/// }
/// assert!(signed.signature_input.starts_with(r#"sig1=("@method" "@target-uri" "content-digest")"#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Signer {
    key_id: String,
    secret: Secret,
    label: String,
    components: Vec<Component>,
    digest: DigestAlgorithm,
    tag: Option<String>,
    expires_after: Option<Duration>,
    include_alg: bool,
    clock: SharedClock,
}

/// Builds a [`Signer`]. From [`Signer::builder`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct SignerBuilder {
    key_id: String,
    secret: Secret,
    allow_short_secret: bool,
    label: String,
    components: Vec<Component>,
    digest: DigestAlgorithm,
    tag: Option<String>,
    expires_after: Option<Duration>,
    include_alg: bool,
    clock: Option<SharedClock>,
}

impl Signer {
    /// A builder for signatures with key `key_id` and `secret`.
    pub fn builder(key_id: impl Into<String>, secret: impl Into<Secret>) -> SignerBuilder {
        SignerBuilder {
            key_id: key_id.into(),
            secret: secret.into(),
            allow_short_secret: false,
            label: DEFAULT_LABEL.to_owned(),
            components: vec![Component::METHOD, Component::TARGET_URI],
            digest: DigestAlgorithm::default(),
            tag: None,
            expires_after: None,
            include_alg: false,
            clock: None,
        }
    }

    /// The key id.
    #[must_use]
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Signs a request to `url` (an absolute `http` or `https` URL) with `method`, header
    /// fields `headers` and `body`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`] when `url` is not absolute `http(s)://authority/...`;
    /// [`Error::ComponentUnavailable`] when a covered field is not in `headers`;
    /// [`Error::Random`] when no nonce could be drawn.
    pub fn sign(
        &self,
        method: &str,
        url: &str,
        headers: &dyn HeaderSource,
        body: Option<&[u8]>,
    ) -> Result<SignatureHeaders, Error> {
        let url = SplitUrl::parse(url)?;
        let digest = body
            .filter(|b| !b.is_empty())
            .map(|b| content_digest(self.digest, b));
        let overlay = Overlay {
            headers,
            content_digest: digest.as_deref(),
        };
        let parts = RequestParts::new(method, &url.target, &overlay)
            .with_scheme(&url.scheme)
            .with_authority(Some(&url.authority));
        let mut components = self.components.clone();
        if digest.is_some() {
            components.push(Component::content_digest());
        }
        let created = self.clock.unix_now();
        let mut params = SignatureParams::new(components).created(created);
        if let Some(after) = self.expires_after {
            params = params.expires(created.saturating_add(after.as_secs()));
        }
        params = params.key_id(&self.key_id);
        if self.include_alg {
            params = params.alg(ALGORITHM);
        }
        params = params.nonce(&random_nonce()?);
        if let Some(tag) = &self.tag {
            params = params.tag(tag);
        }
        let base = params.signature_base(&parts)?;
        let mac = hmac_sha256(self.secret.expose_secret(), &[&base]);
        let mut headers = SignatureHeaders::new(&self.label, &params, &mac)?;
        headers.content_digest = digest;
        Ok(headers)
    }

    /// Signs `request` in place: adds `Signature-Input`, `Signature` and, when it has a
    /// body, `Content-Digest` (replacing any). Call it last, after every covered header is
    /// set.
    ///
    /// # Errors
    ///
    /// [`Error::BodyNotBuffered`] when the body is a stream; the errors of [`Signer::sign`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use auth_hmac::Signer;
    ///
    /// let signer = Signer::builder("billing-2025", "a secret of at least thirty-two bytes!").build()?;
    /// let client = reqwest::Client::new();
    /// let mut request = client
    ///     .post("https://api.example.com/orders")
    ///     .json(&serde_json::json!({"qty": 1}))
    ///     .build()?;
    /// signer.sign_reqwest(&mut request)?;
    /// let response = client.execute(request).await?;
    /// # let _ = response;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "reqwest")]
    pub fn sign_reqwest(&self, request: &mut reqwest::Request) -> Result<(), Error> {
        use reqwest::header::{HeaderName, HeaderValue};

        let body = match request.body() {
            Some(body) => Some(body.as_bytes().ok_or(Error::BodyNotBuffered)?),
            None => None,
        };
        let signed = {
            let headers = ReqwestHeaders(request.headers());
            self.sign(
                request.method().as_str(),
                request.url().as_str(),
                &headers,
                body,
            )?
        };
        let headers = request.headers_mut();
        for (name, value) in signed.iter() {
            // Structured-field serializations are visible ASCII: always valid values.
            let value = HeaderValue::from_str(value).map_err(|_| {
                Error::InvalidRequest("a signature header is not a valid header value")
            })?;
            headers.insert(HeaderName::from_static(lower(name)), value);
        }
        Ok(())
    }
}

#[cfg(feature = "reqwest")]
fn lower(name: &'static str) -> &'static str {
    match name {
        "Signature-Input" => "signature-input",
        "Signature" => "signature",
        _ => "content-digest",
    }
}

/// `reqwest`'s header map as a [`HeaderSource`].
#[cfg(feature = "reqwest")]
struct ReqwestHeaders<'a>(&'a reqwest::header::HeaderMap);

#[cfg(feature = "reqwest")]
impl HeaderSource for ReqwestHeaders<'_> {
    fn get(&self, name: &str) -> Option<&[u8]> {
        self.0.get(name).map(reqwest::header::HeaderValue::as_bytes)
    }

    fn get_all(&self, name: &str) -> Vec<&[u8]> {
        self.0
            .get_all(name)
            .iter()
            .map(reqwest::header::HeaderValue::as_bytes)
            .collect()
    }
}

/// The caller's headers with the computed `Content-Digest` in place of any they had.
struct Overlay<'a> {
    headers: &'a dyn HeaderSource,
    content_digest: Option<&'a str>,
}

impl HeaderSource for Overlay<'_> {
    fn get(&self, name: &str) -> Option<&[u8]> {
        match (
            name.eq_ignore_ascii_case("content-digest"),
            self.content_digest,
        ) {
            (true, Some(digest)) => Some(digest.as_bytes()),
            _ => self.headers.get(name),
        }
    }

    fn get_all(&self, name: &str) -> Vec<&[u8]> {
        match (
            name.eq_ignore_ascii_case("content-digest"),
            self.content_digest,
        ) {
            (true, Some(digest)) => vec![digest.as_bytes()],
            _ => self.headers.get_all(name),
        }
    }
}

/// 128 random bits, base64url without padding (22 characters).
fn random_nonce() -> Result<String, Error> {
    let mut bytes = [0_u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|_| Error::Random)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// An absolute URL split into what the signature base needs.
struct SplitUrl {
    scheme: String,
    authority: String,
    target: String,
}

impl SplitUrl {
    fn parse(url: &str) -> Result<Self, Error> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or(Error::InvalidRequest("not an absolute URL"))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(Error::InvalidRequest("the scheme must be http or https"));
        }
        let rest = rest.split_once('#').map_or(rest, |(r, _)| r);
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(end);
        if authority.contains('@') {
            return Err(Error::InvalidRequest(
                "credentials in the URL are not signed",
            ));
        }
        let authority = crate::component::normalize_authority(authority, &scheme)
            .ok_or(Error::InvalidRequest("no valid authority"))?
            .into_owned();
        let target = if target.starts_with('/') {
            target.to_owned()
        } else {
            // `https://host?q` has the empty path, `/` (RFC 9110 §4.2.3).
            format!("/{target}")
        };
        Ok(Self {
            scheme,
            authority,
            target,
        })
    }
}

impl SignerBuilder {
    /// The label of the signatures (default [`DEFAULT_LABEL`], `sig1`).
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Also covers `component` (a field such as `content-type`, or `@authority`, ...),
    /// after `@method` and `@target-uri`.
    pub fn cover(mut self, component: Component) -> Self {
        if !self.components.contains(&component) {
            self.components.push(component);
        }
        self
    }

    /// Replaces the covered components (`content-digest` is still added when there is a
    /// body). The default verifier policy requires `@method` and `@target-uri`.
    pub fn components(mut self, components: impl IntoIterator<Item = Component>) -> Self {
        self.components = Vec::new();
        for component in components {
            self = self.cover(component);
        }
        self
    }

    /// The `Content-Digest` algorithm (default `sha-256`).
    pub fn digest(mut self, algorithm: DigestAlgorithm) -> Self {
        self.digest = algorithm;
        self
    }

    /// Sets the `tag` parameter.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self
    }

    /// Sets `expires` to `created` plus `after`.
    pub fn expires_after(mut self, after: Duration) -> Self {
        self.expires_after = Some(after);
        self
    }

    /// Whether to send `alg="hmac-sha256"` (default `false`: the verifier knows the
    /// algorithm from the key; when sent, it must match).
    pub fn include_alg(mut self, include: bool) -> Self {
        self.include_alg = include;
        self
    }

    /// The clock `created` is read from (default: the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Accepts a secret shorter than [`MIN_SECRET_LEN`](crate::MIN_SECRET_LEN).
    ///
    /// # Security
    ///
    /// A short secret can be recovered offline from one signed request. Only for a server
    /// whose secret you cannot change.
    pub fn dangerous_allow_short_secret(mut self) -> Self {
        self.allow_short_secret = true;
        self
    }

    /// Builds the signer.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when the secret is too short, the key id, label or tag is unusable,
    /// or no component is covered.
    pub fn build(self) -> Result<Signer, ConfigError> {
        if self.allow_short_secret {
            if self.secret.is_empty() {
                return Err(ConfigError::WeakSecret {
                    len: 0,
                    min: crate::MIN_SECRET_LEN,
                });
            }
        } else {
            check_secret(&self.secret)?;
        }
        check_key_id(&self.key_id)?;
        if sfv::KeyRef::from_str(&self.label).is_err() {
            return Err(ConfigError::Invalid {
                field: "label",
                problem: "must be an RFC 8941 key (lower-case letters, digits, _-.*)",
            });
        }
        if let Some(tag) = &self.tag
            && (tag.is_empty()
                || tag.len() > crate::MAX_PARAM_LEN
                || sfv::String::from_string(tag.clone()).is_err())
        {
            return Err(ConfigError::Invalid {
                field: "tag",
                problem: "must be 1 to 256 printable ASCII characters",
            });
        }
        if self.components.is_empty() {
            return Err(ConfigError::InvalidSetting(
                "a signature must cover at least one component",
            ));
        }
        Ok(Signer {
            key_id: self.key_id,
            secret: self.secret,
            label: self.label,
            components: self.components,
            digest: self.digest,
            tag: self.tag,
            expires_after: self.expires_after,
            include_alg: self.include_alg,
            clock: self.clock.unwrap_or_else(SystemClock::shared),
        })
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("key_id", &self.key_id)
            .field("secret", &self.secret)
            .field("label", &self.label)
            .field(
                "components",
                &self
                    .components
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
            )
            .field("digest", &self.digest)
            .field("tag", &self.tag)
            .field("expires_after", &self.expires_after)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for SignerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignerBuilder")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use auth_core::HeaderList;

    use super::*;

    #[test]
    fn urls_split_and_normalize() {
        let u = SplitUrl::parse("HTTPS://Example.COM:443/a/b?x=1#frag").unwrap();
        assert_eq!(
            (u.scheme.as_str(), u.authority.as_str(), u.target.as_str()),
            ("https", "example.com", "/a/b?x=1")
        );
        let u = SplitUrl::parse("http://127.0.0.1:8080?q").unwrap();
        assert_eq!(
            (u.authority.as_str(), u.target.as_str()),
            ("127.0.0.1:8080", "/?q")
        );
        for bad in [
            "/relative",
            "ftp://host/x",
            "https://user:pw@host/",
            "https:///path",
        ] {
            assert!(SplitUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn builds_only_safe_signers() {
        assert!(Signer::builder("k", "short").build().is_err());
        assert!(
            Signer::builder("k", "short")
                .dangerous_allow_short_secret()
                .build()
                .is_ok()
        );
        let secret = "0123456789abcdef0123456789abcdef";
        assert!(Signer::builder("k", secret).label("Sig").build().is_err());
        assert!(Signer::builder("k", secret).tag("").build().is_err());
        assert!(Signer::builder("k", secret).components([]).build().is_err());
        assert!(Signer::builder("k\"", secret).build().is_err());
        let signer = Signer::builder("k", secret).build().unwrap();
        assert!(!format!("{signer:?}").contains(secret));
    }

    #[test]
    fn signs_with_fresh_nonces_and_a_digest_only_for_bodies() {
        let signer = Signer::builder("k", "0123456789abcdef0123456789abcdef")
            .cover(Component::field("content-type").unwrap())
            .build()
            .unwrap();
        let headers = HeaderList::new().with("Content-Type", "text/plain");
        let a = signer.sign("GET", "https://h/x", &headers, None).unwrap();
        let b = signer
            .sign("GET", "https://h/x", &headers, Some(b""))
            .unwrap();
        assert_eq!(a.content_digest, None);
        assert_eq!(b.content_digest, None);
        assert_ne!(a.signature_input, b.signature_input, "nonces differ");
        let c = signer
            .sign("POST", "https://h/x", &headers, Some(b"hi"))
            .unwrap();
        assert!(
            c.content_digest
                .as_deref()
                .unwrap()
                .starts_with("sha-256=:")
        );
        assert!(
            c.signature_input
                .contains(r#""content-type" "content-digest")"#)
        );
        let missing = signer.sign("GET", "https://h/x", &HeaderList::new(), None);
        assert!(matches!(missing, Err(Error::ComponentUnavailable { .. })));
    }
}
