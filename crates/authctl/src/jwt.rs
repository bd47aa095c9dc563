//! `authctl jwt keygen | jwks | sign | inspect`: auth-jwt's `Key`, `KeySet`, `Issuer` and
//! `Verifier` (the verdict of `inspect` is the verifier's own).
//!
//! Key files are PEM (PKCS#8, or PKCS#1 for RSA) with optional `kid:` and `alg:` lines
//! above the `-----BEGIN` line (RFC 7468 §5.2 lets text precede it; PEM parsers skip it).
//! HMAC key files carry `kid:`, `alg:` and `secret:` (base64url) lines.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use auth_core::{Secret, async_trait};
use auth_jwt::{
    Algorithm, Issuer, Jwk, JwkSet, JwksLocation, Key, KeySet, KeySource, RemoteJwks, Verifier,
    VerifyError, alg_name, parse_alg,
};
use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::ThumbprintHash;
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

use crate::cli::{JwtCommand, KeyAlg, KeyFileArgs};
use crate::support::{
    Failure, Out, Result, Verdict, parse_duration, read_input, rfc3339, runtime, unix,
    write_private_file, write_public_file,
};

/// The environment variable a token to inspect is read from (with `-`).
const TOKEN_ENV: &str = "AUTHCTL_TOKEN";

pub(crate) fn run(command: JwtCommand, out: Out) -> Result<Verdict> {
    match command {
        JwtCommand::Keygen {
            alg,
            out: path,
            kid,
            bits,
            jwk_out,
            force,
        } => {
            let bits = bits
                .parse()
                .map_err(|_| Failure::usage("--bits: 2048, 3072 or 4096"))?;
            keygen(
                out,
                algorithm(alg),
                &path,
                kid,
                bits,
                jwk_out.as_deref(),
                force,
            )
        }
        JwtCommand::Jwks { keys } => {
            let mut set = Vec::new();
            for path in &keys {
                let key = load_key(path, None, None)?;
                match key.public_jwk() {
                    Some(jwk) => set.push(jwk.clone()),
                    None => out.note(&format!(
                        "{}: an HMAC key, never published (skipped)",
                        path.display()
                    )),
                }
            }
            set.sort_by(|a, b| a.common.key_id.cmp(&b.common.key_id));
            let jwks = JwkSet { keys: set };
            let value = serde_json::to_value(&jwks).map_err(Failure::store)?;
            out.emit(&value, || pretty(&value));
            Ok(Verdict::Ok)
        }
        JwtCommand::Sign {
            key,
            sub,
            iss,
            aud,
            ttl,
            typ,
            claim,
            claims,
        } => sign(
            out,
            &key,
            sub,
            iss,
            aud,
            &ttl,
            typ,
            &claim,
            claims.as_deref(),
        ),
        JwtCommand::Inspect {
            token,
            jwks,
            key,
            iss,
            aud,
            typ,
            leeway,
        } => runtime()?.block_on(inspect(out, &token, jwks, &key, iss, aud, typ, leeway)),
    }
}

pub(crate) fn algorithm(alg: KeyAlg) -> Algorithm {
    match alg {
        KeyAlg::Es256 => Algorithm::ES256,
        KeyAlg::Es384 => Algorithm::ES384,
        KeyAlg::EdDsa => Algorithm::EdDSA,
        KeyAlg::Rs256 => Algorithm::RS256,
        KeyAlg::Rs384 => Algorithm::RS384,
        KeyAlg::Rs512 => Algorithm::RS512,
        KeyAlg::Ps256 => Algorithm::PS256,
        KeyAlg::Ps384 => Algorithm::PS384,
        KeyAlg::Ps512 => Algorithm::PS512,
        KeyAlg::Hs256 => Algorithm::HS256,
        KeyAlg::Hs384 => Algorithm::HS384,
        KeyAlg::Hs512 => Algorithm::HS512,
    }
}

fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

fn is_rsa(alg: Algorithm) -> bool {
    matches!(
        alg,
        Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512
    )
}

fn key_failure(e: impl std::fmt::Display) -> Failure {
    Failure::usage(format!("unusable key: {e}"))
}

fn random(len: usize) -> Result<Zeroizing<Vec<u8>>> {
    let mut bytes = Zeroizing::new(vec![0_u8; len]);
    getrandom::getrandom(&mut bytes)
        .map_err(|e| Failure::store(format!("the OS random generator failed: {e}")))?;
    Ok(bytes)
}

/// The RFC 7638 thumbprint (SHA-256, base64url) of a public JWK.
fn thumbprint(jwk: &Jwk) -> Result<String> {
    jwk.thumbprint(ThumbprintHash::SHA256)
        .map_err(|e| Failure::usage(format!("cannot compute the key's thumbprint: {e}")))
}

// ---------------------------------------------------------------------------------------
// keygen
// ---------------------------------------------------------------------------------------

fn keygen(
    out: Out,
    alg: Algorithm,
    path: &Path,
    kid: Option<String>,
    bits: usize,
    jwk_out: Option<&Path>,
    force: bool,
) -> Result<Verdict> {
    let name = alg_name(alg);
    let (key, file) = if is_hmac(alg) {
        let len = match alg {
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
            _ => 32,
        };
        let secret = random(len)?;
        let kid = match kid {
            Some(kid) => kid,
            None => URL_SAFE_NO_PAD.encode(&*random(12)?),
        };
        let key =
            Key::hmac(kid.clone(), alg, &Secret::new(secret.to_vec())).map_err(key_failure)?;
        let file = Zeroizing::new(format!(
            "# authctl JWT HMAC key: keep it secret\nkid: {kid}\nalg: {name}\nsecret: {}\n",
            URL_SAFE_NO_PAD.encode(&*secret)
        ));
        (key, file)
    } else {
        let der = private_key_der(alg, bits)?;
        let probe = Key::from_private_der("probe", alg, &der).map_err(key_failure)?;
        let kid = match kid {
            Some(kid) => kid,
            None => thumbprint(
                probe
                    .public_jwk()
                    .ok_or_else(|| key_failure("no public key"))?,
            )?,
        };
        let key = Key::from_private_der(kid.clone(), alg, &der).map_err(key_failure)?;
        let pem = Zeroizing::new(pem::encode(&pem::Pem::new("PRIVATE KEY", der.to_vec())));
        let file = Zeroizing::new(format!(
            "# authctl JWT signing key: keep it secret\nkid: {kid}\nalg: {name}\n{}",
            &*pem
        ));
        (key, file)
    };
    write_private_file(path, file.as_bytes(), force)?;
    let jwk = key
        .public_jwk()
        .map(|jwk| serde_json::to_value(jwk).map_err(Failure::store))
        .transpose()?;
    if let (Some(target), Some(jwk)) = (jwk_out, &jwk) {
        write_public_file(target, format!("{}\n", pretty(jwk)).as_bytes(), force)?;
    }
    let value = json!({
        "kid": key.kid(),
        "alg": name,
        "private_key_file": path.display().to_string(),
        "public_jwk": jwk,
    });
    out.emit(&value, || match &jwk {
        Some(jwk) => pretty(jwk),
        None => format!(
            "HMAC key {} ({name}) written: a shared secret, never published as a JWK",
            key.kid()
        ),
    });
    out.note(&format!(
        "wrote the {} (kid {}, {name}) to {} (mode 0600)",
        if is_hmac(alg) {
            "shared secret"
        } else {
            "private key"
        },
        key.kid(),
        path.display()
    ));
    Ok(Verdict::Ok)
}

/// A fresh private key as PKCS#8 DER: ring for EC and Ed25519, the `rsa` crate for RSA
/// (ring signs with RSA keys but does not generate them).
fn private_key_der(alg: Algorithm, bits: usize) -> Result<Zeroizing<Vec<u8>>> {
    use ring::signature::{
        ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
        Ed25519KeyPair,
    };
    let rng = ring::rand::SystemRandom::new();
    let failed = |e: &dyn std::fmt::Display| Failure::store(format!("key generation failed: {e}"));
    let der = match alg {
        Algorithm::ES256 => EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|e| failed(&e))?
            .as_ref()
            .to_vec(),
        Algorithm::ES384 => EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng)
            .map_err(|e| failed(&e))?
            .as_ref()
            .to_vec(),
        Algorithm::EdDSA => Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|e| failed(&e))?
            .as_ref()
            .to_vec(),
        alg if is_rsa(alg) => {
            use rsa::pkcs8::EncodePrivateKey as _;
            let key =
                rsa::RsaPrivateKey::new(&mut rand_core::OsRng, bits).map_err(|e| failed(&e))?;
            key.to_pkcs8_der()
                .map_err(|e| failed(&e))?
                .as_bytes()
                .to_vec()
        }
        other => {
            return Err(Failure::usage(format!(
                "cannot generate {}",
                alg_name(other)
            )));
        }
    };
    Ok(Zeroizing::new(der))
}

// ---------------------------------------------------------------------------------------
// Key files
// ---------------------------------------------------------------------------------------

/// Loads a key file. The kid: `kid`, else the file's `kid:` line, else the RFC 7638
/// thumbprint. The algorithm: `alg`, else the file's `alg:` line, else from the key type
/// (RSA: RS256).
pub(crate) fn load_key(path: &Path, kid: Option<&str>, alg: Option<Algorithm>) -> Result<Key> {
    let bytes = Zeroizing::new(
        std::fs::read(path)
            .map_err(|e| Failure::store(format!("cannot read {}: {e}", path.display())))?,
    );
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Failure::usage(format!("{}: not a text key file", path.display())))?;
    let labels = labels(text);
    let bad = |e: &dyn std::fmt::Display| Failure::usage(format!("{}: {e}", path.display()));
    let alg = match alg {
        Some(alg) => Some(alg),
        None => match labels.get("alg") {
            Some(name) => {
                Some(parse_alg(name).ok_or_else(|| bad(&format!("unknown alg {name:?}")))?)
            }
            None => None,
        },
    };
    let kid = kid
        .map(str::to_owned)
        .or_else(|| labels.get("kid").cloned());
    if let Some(secret) = labels.get("secret") {
        let alg = alg.unwrap_or(Algorithm::HS256);
        let kid = kid.ok_or_else(|| bad(&"an HMAC key needs a kid (a kid: line or --kid)"))?;
        let secret = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(secret)
                .map_err(|_| bad(&"the secret: line is not base64url"))?,
        );
        return Key::hmac(kid, alg, &Secret::new(secret.to_vec())).map_err(|e| bad(&e));
    }
    let public = text.contains("PUBLIC KEY-----");
    let pem = text.as_bytes();
    let make = |kid: &str, alg: Algorithm| {
        if public {
            Key::from_public_pem(kid, alg, pem)
        } else {
            Key::from_private_pem(kid, alg, pem)
        }
    };
    let candidates: &[Algorithm] = match &alg {
        Some(alg) => std::slice::from_ref(alg),
        None => &[
            Algorithm::ES256,
            Algorithm::ES384,
            Algorithm::EdDSA,
            Algorithm::RS256,
        ],
    };
    let mut last = None;
    for &candidate in candidates {
        match make("probe", candidate) {
            Ok(probe) => {
                let kid = match &kid {
                    Some(kid) => kid.clone(),
                    None => thumbprint(
                        probe
                            .public_jwk()
                            .ok_or_else(|| bad(&"no public key in the file"))?,
                    )?,
                };
                return make(&kid, candidate).map_err(|e| bad(&e));
            }
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) if alg.is_some() => bad(&e),
        _ => bad(&"no ES256, ES384, EdDSA or RSA key found (a PEM key file was expected)"),
    })
}

/// The `name: value` lines before the PEM block (comments with `#` skipped).
fn labels(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .take_while(|line| !line.starts_with("-----BEGIN"))
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect()
}

// ---------------------------------------------------------------------------------------
// sign
// ---------------------------------------------------------------------------------------

#[allow(clippy::too_many_arguments)]
fn sign(
    out: Out,
    key: &KeyFileArgs,
    sub: Option<String>,
    iss: Option<String>,
    aud: Vec<String>,
    ttl: &str,
    typ: Option<String>,
    claim_flags: &[String],
    claims_file: Option<&Path>,
) -> Result<Verdict> {
    let signing = load_key(&key.key, key.kid.as_deref(), key.alg.map(algorithm))?;
    if !signing.can_sign() {
        return Err(Failure::usage(format!(
            "{} holds a public key: signing needs the private key",
            key.key.display()
        )));
    }
    let mut claims = match claims_file {
        Some(path) => match serde_json::from_slice::<Value>(&read_input(path)?) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(Failure::usage("--claims must hold a JSON object")),
            Err(e) => return Err(Failure::usage(format!("--claims is not JSON: {e}"))),
        },
        None => Map::new(),
    };
    for flag in claim_flags {
        let (name, value) = flag
            .split_once('=')
            .ok_or_else(|| Failure::usage(format!("--claim {flag:?}: expected NAME=VALUE")))?;
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::from(value));
        claims.insert(name.to_owned(), value);
    }
    let take_string = |claims: &mut Map<String, Value>, name: &str| -> Result<Option<String>> {
        match claims.remove(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(Failure::usage(format!("claim {name} must be a string"))),
        }
    };
    let sub = match (sub, take_string(&mut claims, "sub")?) {
        (Some(flag), _) | (None, Some(flag)) => flag,
        (None, None) => {
            return Err(Failure::usage(
                "give the subject: --sub or \"sub\" in --claims",
            ));
        }
    };
    let iss = match iss {
        Some(iss) => Some(iss),
        None => take_string(&mut claims, "iss")?,
    };
    let mut audiences = aud;
    match claims.remove("aud") {
        None => {}
        Some(_) if !audiences.is_empty() => {}
        Some(Value::String(a)) => audiences.push(a),
        Some(Value::Array(items)) => {
            for item in items {
                match item {
                    Value::String(a) => audiences.push(a),
                    _ => return Err(Failure::usage("claim aud must hold strings")),
                }
            }
        }
        Some(_) => return Err(Failure::usage("claim aud must be a string or a list")),
    }
    let mut builder = Issuer::builder(KeySet::single(signing)).ttl(parse_duration(ttl)?);
    if let Some(iss) = iss {
        builder = builder.issuer(iss);
    }
    for audience in audiences {
        builder = builder.audience(audience);
    }
    if let Some(typ) = typ {
        builder = builder.typ(typ);
    }
    let issuer = builder.build().map_err(key_failure)?;
    let token = issuer
        .issue(&sub, &Value::Object(claims))
        .map_err(|e| Failure::usage(format!("cannot sign: {e}")))?;
    out.emit(&json!({"token": token}), || token.clone());
    Ok(Verdict::Ok)
}

// ---------------------------------------------------------------------------------------
// inspect
// ---------------------------------------------------------------------------------------

/// Local key files first, then the remote JWKS.
#[derive(Debug)]
struct Keys {
    local: KeySet,
    remote: Option<RemoteJwks>,
}

#[async_trait]
impl KeySource for Keys {
    async fn key(&self, kid: Option<&str>) -> Result<Option<Arc<Key>>, VerifyError> {
        if let Some(key) = self.local.key(kid).await? {
            return Ok(Some(key));
        }
        match &self.remote {
            Some(remote) => remote.key(kid).await,
            None => Ok(None),
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn inspect(
    out: Out,
    token: &str,
    jwks: Option<String>,
    key_files: &[std::path::PathBuf],
    issuers: Vec<String>,
    audiences: Vec<String>,
    typ: Option<String>,
    leeway: u64,
) -> Result<Verdict> {
    let token = read_token(token)?;
    let mut local = KeySet::new();
    let mut remote = None;
    for path in key_files {
        local
            .add(load_key(path, None, None)?)
            .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
    }
    match jwks.as_deref() {
        Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
            remote = Some(
                RemoteJwks::new(JwksLocation::Url(url.to_owned()))
                    .map_err(|e| Failure::usage(format!("--jwks: {e}")))?,
            );
        }
        Some(file) => {
            let set: JwkSet = serde_json::from_slice(&read_input(Path::new(file))?)
                .map_err(|e| Failure::usage(format!("{file}: not a JWKS document: {e}")))?;
            for jwk in &set.keys {
                match Key::from_jwk(jwk) {
                    Ok(key) => local
                        .add(key)
                        .map_err(|e| Failure::usage(format!("{file}: {e}")))?,
                    Err(e) => out.note(&format!("{file}: key skipped: {e}")),
                }
            }
        }
        None => {}
    }
    let keyless = local.is_empty() && remote.is_none();
    let mut builder = Verifier::builder(Keys { local, remote }).leeway(Duration::from_secs(leeway));
    for issuer in issuers {
        builder = builder.issuer(issuer);
    }
    for audience in audiences {
        builder = builder.audience(audience);
    }
    if let Some(typ) = typ {
        builder = builder.required_typ(typ);
    }
    let verifier = builder
        .build()
        .map_err(|e| Failure::usage(format!("verifier settings refused: {e}")))?;
    let result = verifier.verify_raw(&token).await;

    let (header, claims) = decode_for_display(&token);
    let (verdict, reason, message) = match &result {
        Ok(_) => ("accepted", None, None),
        Err(VerifyError::UnknownKey) if keyless => (
            "unverified",
            Some("no_keys"),
            Some(
                "no key to check the signature with: give --jwks URL|FILE or --key FILE".to_owned(),
            ),
        ),
        Err(VerifyError::Unavailable(what)) => {
            return Err(Failure::store(format!(
                "cannot get the keys: {what} unavailable"
            )));
        }
        Err(e) => ("refused", Some(e.reason()), Some(e.to_string())),
    };
    let value = json!({
        "header": header,
        "claims": claims,
        "verdict": verdict,
        "reason": reason,
        "message": message,
    });
    out.emit(&value, || {
        let mut text = String::new();
        text.push_str("header:\n");
        text.push_str(&indent(
            &header
                .as_ref()
                .map_or_else(|| "(not decodable)".to_owned(), pretty),
        ));
        text.push_str("claims:\n");
        text.push_str(&indent(
            &claims
                .as_ref()
                .map_or_else(|| "(not decodable)".to_owned(), pretty),
        ));
        if let Some(Value::Object(claims)) = &claims {
            let now = unix(SystemTime::now());
            for name in ["iat", "nbf", "exp"] {
                if let Some(t) = claims.get(name).and_then(Value::as_i64) {
                    let delta = t - now;
                    let relative = if delta >= 0 {
                        format!("in {}", human(delta))
                    } else {
                        format!("{} ago", human(-delta))
                    };
                    text.push_str(&format!("  {name}: {} ({relative})\n", rfc3339(t)));
                }
            }
        }
        text.push_str(&format!("verdict: {verdict}\n"));
        if let (Some(reason), Some(message)) = (reason, &message) {
            text.push_str(&format!("reason:  {reason} ({message})\n"));
        }
        text
    });
    Ok(if verdict == "accepted" {
        Verdict::Ok
    } else {
        Verdict::Refused
    })
}

fn read_token(arg: &str) -> Result<String> {
    let token = if arg == "-" {
        match std::env::var(TOKEN_ENV) {
            Ok(token) => token,
            Err(_) => String::from_utf8(read_input(Path::new("-"))?)
                .map_err(|_| Failure::usage("the token is not UTF-8"))?,
        }
    } else {
        arg.to_owned()
    };
    let token = token.trim().to_owned();
    if token.is_empty() {
        return Err(Failure::usage(format!(
            "no token: pass it on stdin or in ${TOKEN_ENV} (with `-`)"
        )));
    }
    Ok(token)
}

/// Header and claims as JSON for display, whatever the verdict: lenient base64url (padding
/// or not), `None` when a part does not decode to JSON. Never used for a decision.
fn decode_for_display(token: &str) -> (Option<Value>, Option<Value>) {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let mut parts = token.split('.');
    let mut decode = || {
        parts
            .next()
            .and_then(|p| LENIENT.decode(p).ok())
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
    };
    let header = decode();
    let claims = decode();
    (header, claims)
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("  {line}\n")).collect()
}

fn human(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}
