//! `authctl apikey create | list | revoke | rotate`: auth-apikey's `KeyManager` over its
//! `SqlKeyStore`.

use std::time::SystemTime;

use auth_apikey::{CreatedKey, Error, KeyManager, KeyMetadata, NewKey, SqlKeyStore};
use auth_core::Scopes;
use serde_json::{Value, json};

use crate::cli::{ApikeyCommand, KeyConfig, StoreArgs};
use crate::support::{
    Failure, Out, Result, Verdict, parse_duration, read_secret, runtime, url_from, when, when_json,
};

/// The environment variable holding the store URL.
pub(crate) const STORE_ENV: &str = "AUTHCTL_STORE";
/// The environment variable holding the pepper.
const PEPPER_ENV: &str = "AUTHCTL_APIKEY_PEPPER";
/// The prefix of the throw-away format used by commands that make no key (list, revoke).
const ANY_PREFIX: &str = "authctl";

pub(crate) fn run(command: ApikeyCommand, out: Out) -> Result<Verdict> {
    runtime()?.block_on(async move {
        match command {
            ApikeyCommand::Create {
                store,
                config,
                owner,
                name,
                scopes,
                expires_in,
                never_expires,
            } => {
                let scopes = Scopes::parse(&scopes)
                    .map_err(|e| Failure::usage(format!("invalid --scopes: {e}")))?;
                let mut new = NewKey::new(owner, name).scopes(scopes);
                if never_expires {
                    new = new.never_expires();
                } else if let Some(lifetime) = expires_in {
                    new = new.expires_in(parse_duration(&lifetime)?);
                }
                let keys = manager(&store, Some(&config)).await?;
                let created = keys.create(new).await.map_err(key_error)?;
                show_created(out, &created, "Created");
                Ok(Verdict::Ok)
            }
            ApikeyCommand::List { store, owner } => {
                let keys = manager(&store, None).await?;
                let list = keys.list_by_owner(&owner).await.map_err(key_error)?;
                let now = SystemTime::now();
                let items: Vec<Value> = list.iter().map(|m| metadata_json(m, now)).collect();
                out.emit(&json!({"owner": owner, "keys": items}), || {
                    if list.is_empty() {
                        return format!("no keys for {owner}");
                    }
                    let mut text = format!(
                        "{:<14} {:<20} {:<8} {:<21} {:<21} SCOPES\n",
                        "ID", "NAME", "STATUS", "CREATED", "EXPIRES"
                    );
                    for m in &list {
                        text.push_str(&format!(
                            "{:<14} {:<20} {:<8} {:<21} {:<21} {}\n",
                            m.id,
                            m.name,
                            m.status(now).as_str(),
                            when(Some(m.created_at)),
                            when(m.expires_at),
                            m.scopes
                        ));
                    }
                    text
                });
                Ok(Verdict::Ok)
            }
            ApikeyCommand::Revoke { store, id } => {
                let keys = manager(&store, None).await?;
                let metadata = keys.revoke(&id).await.map_err(key_error)?;
                out.emit(&metadata_json(&metadata, SystemTime::now()), || {
                    format!(
                        "revoked {} (owner {}, name {}) at {}",
                        metadata.id,
                        metadata.owner,
                        metadata.name,
                        when(metadata.revoked_at)
                    )
                });
                Ok(Verdict::Ok)
            }
            ApikeyCommand::Rotate {
                store,
                config,
                id,
                grace,
            } => {
                let grace = parse_duration(&grace)?;
                let keys = manager(&store, Some(&config)).await?;
                let created = keys.rotate(&id, grace).await.map_err(key_error)?;
                show_created(out, &created, &format!("Rotated {id} into"));
                Ok(Verdict::Ok)
            }
        }
    })
}

/// The key on stdout (alone, so `KEY=$(authctl apikey create ...)` works), what it is on
/// stderr; or everything as one JSON object.
fn show_created(out: Out, created: &CreatedKey, verb: &str) {
    let mut value = metadata_json(&created.metadata, SystemTime::now());
    value["key"] = Value::from(created.key.expose_secret());
    out.emit(&value, || created.key.expose_secret().to_owned());
    let m = &created.metadata;
    out.note(&format!(
        "{verb} key {} for {} (name {}, scopes \"{}\", expires {}).\n\
         The key above is shown once: only its hash is stored.",
        m.id,
        m.owner,
        m.name,
        m.scopes,
        when(m.expires_at)
    ));
}

fn metadata_json(m: &KeyMetadata, now: SystemTime) -> Value {
    json!({
        "id": m.id,
        "owner": m.owner,
        "name": m.name,
        "scopes": m.scopes.to_string(),
        "status": m.status(now).as_str(),
        "created_at": when_json(Some(m.created_at)),
        "expires_at": when_json(m.expires_at),
        "last_used_at": when_json(m.last_used_at),
        "revoked_at": when_json(m.revoked_at),
        "rotated_to": m.rotated_to,
        "rotated_from": m.rotated_from,
    })
}

async fn manager(store: &StoreArgs, config: Option<&KeyConfig>) -> Result<KeyManager> {
    let url = url_from(store.store.as_deref(), STORE_ENV, "--store")?;
    let mut builder = SqlKeyStore::builder(url);
    if let Some(schema) = &store.schema {
        builder = builder.schema(schema);
    }
    let sql = builder.connect().await.map_err(Failure::store)?;
    sql.migrate().await.map_err(Failure::store)?;
    let prefix = match config {
        Some(config) => config.prefix.clone().ok_or_else(|| {
            Failure::usage(
                "give the key prefix your service expects: --prefix PREFIX or \
                 $AUTHCTL_APIKEY_PREFIX",
            )
        })?,
        None => ANY_PREFIX.to_owned(),
    };
    let mut builder = KeyManager::builder(sql, prefix);
    if let Some(config) = config
        && let Some(pepper) =
            read_secret(config.pepper_file.as_deref(), PEPPER_ENV, false, "pepper")?
    {
        builder = builder.pepper(pepper);
    }
    builder
        .build()
        .map_err(|e| Failure::usage(format!("invalid key settings: {e}")))
}

fn key_error(error: Error) -> Failure {
    match error {
        Error::Store(e) => Failure::store(e),
        Error::NotFound { .. } => Failure::refused("not_found", error.to_string()),
        Error::NotRotatable { .. } => Failure::refused("not_rotatable", error.to_string()),
        Error::InvalidInput { .. } => Failure::usage(error.to_string()),
        other => Failure::store(other),
    }
}
