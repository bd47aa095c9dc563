//! `authctl hmac sign | verify`: auth-hmac's RFC 9421 `Signer` and `Verifier`
//! (`hmac-sha256`, RFC 9530 `Content-Digest`).

use std::time::Duration;

use auth_core::{HeaderList, Secret};
use auth_hmac::{Component, Error, HmacKey, MemoryKeyStore, RequestParts, Signer, Verifier};
use serde_json::json;

use crate::cli::{HmacCommand, HmacKeyArgs};
use crate::support::{Failure, Out, Result, Verdict, read_input, read_secret, runtime};

/// The environment variable holding the shared secret.
const SECRET_ENV: &str = "AUTHCTL_HMAC_SECRET";

pub(crate) fn run(command: HmacCommand, out: Out) -> Result<Verdict> {
    match command {
        HmacCommand::Sign {
            key,
            method,
            url,
            body,
            header,
            cover,
            curl,
        } => {
            let secret = secret(&key)?;
            let headers = header_list(&header)?;
            let body_file = body;
            let body = body_file.as_deref().map(read_input).transpose()?;
            let mut builder = Signer::builder(key.key_id.clone(), secret);
            for field in &cover {
                builder = builder.cover(
                    Component::field(field)
                        .map_err(|e| Failure::usage(format!("--cover {field}: {e}")))?,
                );
            }
            let signer = builder
                .build()
                .map_err(|e| Failure::usage(format!("signer settings refused: {e}")))?;
            let signed = signer
                .sign(&method, &url, &headers, body.as_deref())
                .map_err(|e| Failure::usage(format!("cannot sign: {e}")))?;
            let mut added: Vec<(String, String)> = header
                .iter()
                .filter_map(|h| h.split_once(':'))
                .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
                .filter(|(n, _)| !n.eq_ignore_ascii_case("content-digest"))
                .collect();
            for (name, value) in signed.iter() {
                added.push((name.to_owned(), value.to_owned()));
            }
            let value = json!({
                "signature_input": signed.signature_input,
                "signature": signed.signature,
                "content_digest": signed.content_digest,
                "headers": added.iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>(),
            });
            out.emit(&value, || {
                if curl {
                    let mut command = format!("curl -X {}", shell_quote(&method));
                    for (name, value) in &added {
                        command
                            .push_str(&format!(" -H {}", shell_quote(&format!("{name}: {value}"))));
                    }
                    if let Some(path) = &body_file {
                        // The bytes sent must be the bytes signed: --data-binary, not --data.
                        let arg = format!("@{}", path.display());
                        command.push_str(&format!(" --data-binary {}", shell_quote(&arg)));
                    }
                    command.push(' ');
                    command.push_str(&shell_quote(&url));
                    command
                } else {
                    signed
                        .iter()
                        .map(|(name, value)| format!("{name}: {value}\n"))
                        .collect()
                }
            });
            Ok(Verdict::Ok)
        }
        HmacCommand::Verify {
            key,
            method,
            url,
            body,
            header,
            max_age,
        } => {
            let secret = secret(&key)?;
            let headers = header_list(&header)?;
            let body = body.as_deref().map(read_input).transpose()?;
            let parsed = url::Url::parse(&url)
                .map_err(|e| Failure::usage(format!("{url}: not an absolute URL: {e}")))?;
            let host = parsed
                .host_str()
                .ok_or_else(|| Failure::usage(format!("{url}: no host")))?;
            let authority = match parsed.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_owned(),
            };
            let target = match parsed.query() {
                Some(query) => format!("{}?{query}", parsed.path()),
                None => parsed.path().to_owned(),
            };
            let hmac_key = HmacKey::new(key.key_id.clone(), key.key_id.clone(), secret)
                .map_err(|e| Failure::usage(format!("unusable key: {e}")))?;
            let verifier = Verifier::builder(MemoryKeyStore::from_keys([hmac_key]))
                .max_age(Duration::from_secs(max_age))
                .scheme(parsed.scheme())
                .authority(authority.clone())
                .build()
                .map_err(|e| Failure::usage(format!("verifier settings refused: {e}")))?;
            let parts = RequestParts::new(&method, &target, &headers)
                .with_scheme(parsed.scheme())
                .with_authority(Some(&authority));
            let result = runtime()?.block_on(verifier.verify_parts(&parts, body.as_deref()));
            let (verdict, reason, message) = match &result {
                Ok(Some(verified)) => (
                    "accepted",
                    None,
                    Some(format!(
                        "signature {} by key {}",
                        verified.label,
                        verified.key.id()
                    )),
                ),
                Ok(None) => (
                    "refused",
                    Some("no_signature"),
                    Some("the request carries no Signature-Input and Signature headers".to_owned()),
                ),
                Err(Error::NonceStore(e)) => return Err(Failure::store(e)),
                Err(e) => ("refused", Some(e.reason()), Some(e.to_string())),
            };
            out.emit(
                &json!({"verdict": verdict, "reason": reason, "message": message}),
                || match (reason, &message) {
                    (Some(reason), Some(message)) => {
                        format!("verdict: {verdict}\nreason:  {reason} ({message})")
                    }
                    (_, Some(message)) => format!("verdict: {verdict} ({message})"),
                    _ => format!("verdict: {verdict}"),
                },
            );
            Ok(if verdict == "accepted" {
                Verdict::Ok
            } else {
                Verdict::Refused
            })
        }
    }
}

fn secret(key: &HmacKeyArgs) -> Result<Secret> {
    read_secret(
        key.secret_file.as_deref(),
        SECRET_ENV,
        key.secret.is_some(),
        "secret",
    )?
    .ok_or_else(|| {
        Failure::usage(format!(
            "give the shared secret: --secret-file FILE or ${SECRET_ENV}"
        ))
    })
}

fn header_list(headers: &[String]) -> Result<HeaderList> {
    let mut list = HeaderList::new();
    for header in headers {
        let (name, value) = header.split_once(':').ok_or_else(|| {
            Failure::usage(format!("--header {header:?}: expected \"Name: value\""))
        })?;
        let name = name.trim();
        if name.is_empty() {
            return Err(Failure::usage(format!("--header {header:?}: empty name")));
        }
        list.push(name.to_ascii_lowercase(), value.trim().as_bytes().to_vec());
    }
    Ok(list)
}

/// Single-quotes `text` for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}
