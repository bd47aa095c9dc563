//! Property tests (proptest): encode → decode round trips of every codec, with generated
//! inputs. The fuzz targets under `fuzz/` throw malformed input at the same parsers; these
//! check that well-formed input always comes back unchanged.
//!
//! Case counts are explicit and small: the whole module runs in a few seconds in a debug
//! build (`cargo test --test it -- properties`).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use auth_apikey::{KeyFormat, KeyFormatError, RANDOM_LEN};
use auth_basic::BasicCredentials;
use auth_core::{AuthRequest, HeaderList, ManualClock, Scopes, Secret};
use auth_hmac::{
    DigestAlgorithm, HmacKey, MemoryKeyStore, RequestParts, Signer, content_digest,
    verify_content_digest,
};
use auth_jwt::{Algorithm, Issuer, Key, KeySet, Verifier};
use auth_oauth2::oauth2::url::form_urlencoded;
use auth_oauth2::{ClientConfig, GrantType, MemoryClientRegistry, TokenFormat, TokenService};
use auth_session::{CookieKey, CookieKeys, CookieStatus, MemoryStore, SessionManager};
use base64::Engine as _;
use proptest::prelude::*;

const NOW: u64 = 1_700_000_000;

fn clock() -> ManualClock {
    ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(NOW))
}

/// Runs `future` on a fresh current-thread runtime (proptest bodies are synchronous).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(future)
}

/// A user name: no colon, no control character (RFC 7617 §2), any other Unicode.
fn username() -> impl Strategy<Value = String> {
    "[^:\\p{Cc}]{1,16}"
}

/// A password: anything but control characters (colons included).
fn password() -> impl Strategy<Value = String> {
    "[^\\p{Cc}]{0,24}"
}

/// An RFC 6749 §3.3 scope-token: `%x21 / %x23-5B / %x5D-7E`.
fn scope_token() -> impl Strategy<Value = String> {
    "[!#-\\[\\]-~]{1,12}"
}

/// An API key prefix: `a-z0-9_`, 1 to 32 characters, not ending with `_`.
fn key_prefix() -> impl Strategy<Value = String> {
    "[a-z0-9_]{0,31}[a-z0-9]"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// RFC 7617: `header_value` → `parse` gives back the user name and password.
    #[test]
    fn basic_header_round_trips(user in username(), pass in password()) {
        let header = BasicCredentials::new(user.as_str(), pass.as_str()).header_value();
        let parsed = BasicCredentials::parse_with_limit(&header, usize::MAX)
            .expect("well-formed")
            .expect("a Basic header");
        prop_assert_eq!(parsed.username(), user.as_str());
        prop_assert_eq!(parsed.password().expose_str(), Some(pass.as_str()));
        // The scheme name is case-insensitive (RFC 9110 §11.1).
        let lower = header.replacen("Basic", "bAsIc", 1);
        let again = BasicCredentials::parse_with_limit(&lower, usize::MAX).unwrap().unwrap();
        prop_assert_eq!(again.username(), user.as_str());
    }

    /// A user name with a colon cannot round-trip: the split is at the first colon
    /// (RFC 7617 §2), the rest goes to the password.
    #[test]
    fn basic_header_splits_at_the_first_colon(
        head in username(), tail in username(), pass in password()
    ) {
        let user = format!("{head}:{tail}");
        let header = BasicCredentials::new(user.as_str(), pass.as_str()).header_value();
        let parsed = BasicCredentials::parse(&header).unwrap().unwrap();
        prop_assert_eq!(parsed.username(), head.as_str());
        let expected = format!("{tail}:{pass}");
        prop_assert_eq!(parsed.password().expose_str(), Some(expected.as_str()));
    }

    /// RFC 6749 §3.3: a scope set displays as a string that parses back to the same set,
    /// whatever the order and repeats of the tokens it was made from.
    #[test]
    fn scopes_round_trip(tokens in prop::collection::vec(scope_token(), 0..12)) {
        let scopes = Scopes::try_from_tokens(tokens.iter().cloned()).expect("valid tokens");
        let text = scopes.to_string();
        prop_assert_eq!(Scopes::parse(&text).expect("parses"), scopes.clone());
        let mut reversed = tokens.clone();
        reversed.reverse();
        prop_assert_eq!(Scopes::parse(&reversed.join("  ")).expect("parses"), scopes.clone());
        for token in &tokens {
            prop_assert!(scopes.contains(token));
        }
    }

    /// RFC 9530: our `Content-Digest` verifies for its content and no other.
    #[test]
    fn content_digest_round_trips(
        content in prop::collection::vec(any::<u8>(), 0..256),
        flip in any::<prop::sample::Index>(),
        sha512 in any::<bool>(),
    ) {
        let algorithm = if sha512 { DigestAlgorithm::Sha512 } else { DigestAlgorithm::Sha256 };
        let field = content_digest(algorithm, &content);
        prop_assert!(verify_content_digest(&[field.as_bytes()], &content).is_ok());
        let mut other = content.clone();
        if other.is_empty() {
            other.push(0);
        } else {
            let i = flip.index(other.len());
            other[i] ^= 0x01;
        }
        prop_assert!(verify_content_digest(&[field.as_bytes()], &other).is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// API keys: `generate` → `parse` for any valid prefix; any one-character change of the
    /// random part is caught by the checksum.
    #[test]
    fn apikey_generate_parse_round_trips(
        prefix in key_prefix(),
        at in 0..RANDOM_LEN,
        replacement in "[0-9A-Za-z]",
    ) {
        let format = KeyFormat::new(&prefix).expect("a valid prefix");
        let key = format.generate().expect("random");
        let text = key.expose_secret();
        let parsed = format.parse(text).expect("its own key");
        prop_assert_eq!(parsed.prefix(), prefix.as_str());
        prop_assert_eq!(parsed.random().len(), RANDOM_LEN);
        prop_assert_eq!(auth_apikey::parse_any(text).expect("any prefix").as_str(), text);

        let i = prefix.len() + 1 + at;
        prop_assume!(&text[i..=i] != replacement.as_str());
        let mut typo = text.to_owned();
        typo.replace_range(i..=i, &replacement);
        prop_assert_eq!(format.parse(&typo).err(), Some(KeyFormatError::ChecksumMismatch));
    }

    /// Sessions: the cookie a commit sets loads the same session back (signed and private
    /// cookies); the same cookie with one character changed does not.
    #[test]
    fn session_cookie_round_trips(
        user in "[^\\p{Cc}]{1,24}",
        private in any::<bool>(),
        flip in any::<prop::sample::Index>(),
    ) {
        block_on(async {
            let clock = clock();
            let keys = CookieKeys::new(CookieKey::generate().expect("key"));
            let protection = if private {
                auth_session::CookieProtection::Private
            } else {
                auth_session::CookieProtection::Signed
            };
            let manager = SessionManager::builder(MemoryStore::new(clock.shared()), keys)
                .clock(clock.shared())
                .cookie_protection(protection)
                .build()
                .expect("manager");
            let mut session = manager.load(&HeaderList::new()).await.expect("empty");
            session.login(user.as_str());
            let set_cookie = manager.commit(session).await.expect("commit").expect("cookie");
            let pair = set_cookie.expose_header_value().split(';').next().unwrap().to_owned();

            let loaded = manager
                .load(&HeaderList::new().with("Cookie", pair.as_str()))
                .await
                .expect("load");
            prop_assert_eq!(loaded.cookie_status(), CookieStatus::Valid);
            prop_assert_eq!(loaded.user(), Some(user.as_str()));

            let (name, value) = pair.split_once('=').unwrap();
            let mut bytes = value.as_bytes().to_vec();
            let i = flip.index(bytes.len());
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let tampered = format!("{name}={}", String::from_utf8(bytes).unwrap());
            let refused = manager
                .load(&HeaderList::new().with("Cookie", tampered.as_str()))
                .await
                .expect("load");
            prop_assert_eq!(refused.user(), None);
            Ok(())
        })?;
    }

    /// RFC 9421: what the signer signs, the verifier accepts, for any method, origin-form
    /// target and body; with one body byte changed, it refuses.
    #[test]
    fn hmac_sign_verify_round_trips(
        method in "GET|POST|PUT|PATCH|DELETE|[A-Z]{1,8}",
        path in "(/[A-Za-z0-9._~!$&'()*+,;=:@%-]{0,12}){1,4}",
        query in proptest::option::of("[A-Za-z0-9=&._~%-]{0,20}"),
        body in prop::collection::vec(any::<u8>(), 0..128),
        flip in any::<prop::sample::Index>(),
    ) {
        block_on(async {
            let secret = Secret::from("a shared secret of 32 bytes or more!");
            let clock = clock();
            let signer = Signer::builder("k1", secret.expose_secret())
                .clock(clock.shared())
                .build()
                .expect("signer");
            let key = HmacKey::new("k1", "client-1", secret.expose_secret()).expect("key");
            let verifier = auth_hmac::Verifier::builder(MemoryKeyStore::from_keys([key]))
                .clock(clock.shared())
                .authority("api.example:8443")
                .scheme("https")
                .build()
                .expect("verifier");

            let target = match &query {
                Some(q) => format!("{path}?{q}"),
                None => path.clone(),
            };
            let headers = HeaderList::new().with("Content-Type", "application/octet-stream");
            let signed = signer
                .sign(&method, &format!("https://api.example:8443{target}"), &headers, Some(&body))
                .expect("sign");
            let mut sent = headers.clone();
            for (name, value) in signed.iter() {
                sent.push(name, value);
            }
            let request = AuthRequest::new(&method, &target, &sent)
                .with_body(Some(&body))
                .with_secure(true);
            let verified = verifier.verify_request(&request).await.expect("verifies");
            let verified = verified.expect("signed");
            prop_assert_eq!(verified.key.id(), "k1");

            if !body.is_empty() {
                let mut changed = body.clone();
                let i = flip.index(changed.len());
                changed[i] ^= 0x80;
                let parts = RequestParts::new(&method, &target, &sent)
                    .with_scheme("https")
                    .with_authority(Some("api.example:8443"));
                prop_assert!(verifier.verify_parts(&parts, Some(&changed)).await.is_err());
            }
            Ok(())
        })?;
    }

    /// OAuth form bodies (RFC 6749 §2.3.1, Appendix B): a client id (visible ASCII, `&`, `=`,
    /// `+`, `%` and `:` included) and a secret with any characters, form-encoded in the body or form-encoded then base64'd in HTTP Basic,
    /// authenticate at the token endpoint; the form reader of auth-session's CSRF check
    /// reads the same encoding back.
    #[test]
    fn oauth_form_encoding_round_trips(
        id in "[!-~]{1,16}",
        secret in "[ -~\\p{L}]{32,40}",
        basic in any::<bool>(),
    ) {
        block_on(async {
            let clients = Arc::new(MemoryClientRegistry::new());
            clients
                .register_with_secret(
                    ClientConfig::new(id.as_str())
                        .grant(GrantType::ClientCredentials)
                        .scopes("orders:read".parse().unwrap())
                        .audience("https://api.example/orders"),
                    &Secret::from(secret.as_str()),
                )
                .expect("client");
            let service = TokenService::builder(
                "https://id.example",
                KeySet::single(Key::generate("k1", Algorithm::ES256).expect("key")),
                clients,
            )
            .audience("https://api.example/orders", TokenFormat::Jwt)
            .clock(clock().shared())
            .build()
            .expect("service");

            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials");
            let mut headers =
                HeaderList::new().with("Content-Type", "application/x-www-form-urlencoded");
            if basic {
                let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                let pair = format!("{}:{}", encode(&id), encode(&secret));
                let value = base64::engine::general_purpose::STANDARD.encode(pair);
                headers.push("Authorization", format!("Basic {value}"));
            } else {
                form.append_pair("client_id", &id).append_pair("client_secret", &secret);
            }
            let body = form.finish();
            if !basic {
                prop_assert_eq!(
                    auth_session::form_field(body.as_bytes(), "client_secret"),
                    Some(secret.clone())
                );
                prop_assert_eq!(auth_session::form_field(body.as_bytes(), "client_id"), Some(id.clone()));
            }
            let request = AuthRequest::new("POST", "/token", &headers)
                .with_body(Some(body.as_bytes()))
                .with_secure(true);
            let response = service.token(&request).await;
            prop_assert_eq!(response.status(), 200, "{}", response.body());
            let json = response.json();
            prop_assert_eq!(json["token_type"].as_str(), Some("Bearer"));
            Ok(())
        })?;
    }
}

proptest! {
    // Each case signs and verifies one token: few cases.
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// JWT (HS256): `Issuer::issue` → `Verifier::verify` gives back the subject and the
    /// application's claims, whatever their content.
    #[test]
    fn jwt_claims_round_trip(
        subject in "[^\\p{Cc}]{1,24}",
        name in any::<String>(),
        count in any::<i64>(),
        tags in prop::collection::vec(any::<String>(), 0..4),
    ) {
        block_on(async {
            let clock = clock();
            let key = || Key::hmac("k1", Algorithm::HS256, &Secret::from(&[3_u8; 32][..])).unwrap();
            let issuer = Issuer::builder(KeySet::single(key()))
                .issuer("https://issuer.example")
                .audience("api")
                .clock(clock.shared())
                .build()
                .expect("issuer");
            let verifier = Verifier::builder(KeySet::single(key()))
                .issuer("https://issuer.example")
                .audience("api")
                .clock(clock.shared())
                .build()
                .expect("verifier");
            let claims = serde_json::json!({ "name": name, "count": count, "tags": tags });
            let token = issuer.issue(&subject, &claims).expect("issue");
            let verified = verifier.verify::<serde_json::Value>(&token).await.expect("verify");
            prop_assert_eq!(verified.registered.sub.as_deref(), Some(subject.as_str()));
            prop_assert_eq!(verified.registered.iss.as_deref(), Some("https://issuer.example"));
            prop_assert_eq!(&verified.claims["name"], &claims["name"]);
            prop_assert_eq!(&verified.claims["count"], &claims["count"]);
            prop_assert_eq!(&verified.claims["tags"], &claims["tags"]);
            Ok(())
        })?;
    }
}
