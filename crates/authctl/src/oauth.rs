//! `authctl oauth client add | list | rotate-secret | disable`: auth-oauth2's
//! `SqlClientRegistry`.

use auth_core::Scopes;
use auth_oauth2::{ClientAdminError, ClientConfig, ClientInfo, GrantType, SqlClientRegistry};
use serde_json::{Value, json};

use crate::apikey::STORE_ENV;
use crate::cli::{ClientCommand, OauthCommand, StoreArgs};
use crate::support::{Failure, Out, Result, Verdict, runtime, url_from, when, when_json};

pub(crate) fn run(command: OauthCommand, out: Out) -> Result<Verdict> {
    let OauthCommand::Client(command) = command;
    runtime()?.block_on(async move {
        match command {
            ClientCommand::Add {
                store,
                id,
                grant,
                scopes,
                default_scopes,
                audience,
                redirect_uri,
                refresh_tokens,
                public,
            } => {
                let mut config = ClientConfig::new(id.clone()).scopes(scopes_arg("--scopes", &scopes)?);
                let grants = if grant.is_empty() {
                    vec!["client_credentials".to_owned()]
                } else {
                    grant
                };
                for name in &grants {
                    let grant = GrantType::parse(name).ok_or_else(|| {
                        Failure::usage(format!(
                            "--grant {name}: use client_credentials, authorization_code or refresh_token"
                        ))
                    })?;
                    config = config.grant(grant);
                }
                if let Some(defaults) = default_scopes {
                    config = config.default_scopes(scopes_arg("--default-scopes", &defaults)?);
                }
                for a in audience {
                    config = config.audience(a);
                }
                for uri in redirect_uri {
                    config = config.redirect_uri(uri);
                }
                if refresh_tokens {
                    config = config.refresh_tokens();
                }
                let clients = connect(&store).await?;
                if public {
                    clients
                        .register_public(config.public())
                        .await
                        .map_err(admin_error)?;
                    out.emit(&json!({"client_id": id, "public": true}), || {
                        format!("registered public client {id} (no secret)")
                    });
                } else {
                    let secret = clients.register(config).await.map_err(admin_error)?;
                    let secret = secret
                        .expose_str()
                        .ok_or_else(|| Failure::store("the generated secret is not text"))?;
                    out.emit(&json!({"client_id": id, "client_secret": secret}), || {
                        secret.to_owned()
                    });
                    out.note(&format!(
                        "Registered client {id}. The secret above is shown once: only its hash is stored."
                    ));
                }
                Ok(Verdict::Ok)
            }
            ClientCommand::List { store } => {
                let clients = connect(&store).await?;
                let list = clients.list().await.map_err(Failure::store)?;
                let items: Vec<Value> = list.iter().map(info_json).collect();
                out.emit(&json!({"clients": items}), || {
                    if list.is_empty() {
                        return "no clients".to_owned();
                    }
                    let mut text = format!(
                        "{:<20} {:<20} {:<9} {:<21} {:<30} SCOPES\n",
                        "ID", "AUTH", "STATE", "SECRET ROTATED", "GRANTS"
                    );
                    for c in &list {
                        text.push_str(&format!(
                            "{:<20} {:<20} {:<9} {:<21} {:<30} {}\n",
                            c.id,
                            c.auth_method(),
                            if c.disabled { "disabled" } else { "enabled" },
                            when(c.secret_rotated_at),
                            grants(c).join(" "),
                            c.scopes
                        ));
                    }
                    text
                });
                Ok(Verdict::Ok)
            }
            ClientCommand::RotateSecret { store, id } => {
                let clients = connect(&store).await?;
                let secret = clients.rotate_secret(&id).await.map_err(admin_error)?;
                let secret = secret
                    .expose_str()
                    .ok_or_else(|| Failure::store("the generated secret is not text"))?;
                out.emit(&json!({"client_id": id, "client_secret": secret}), || {
                    secret.to_owned()
                });
                out.note(&format!(
                    "New secret for {id}, shown once. The old secret no longer works."
                ));
                Ok(Verdict::Ok)
            }
            ClientCommand::Disable { store, id } => {
                let clients = connect(&store).await?;
                if !clients.disable(&id).await.map_err(Failure::store)? {
                    return Err(Failure::refused("unknown_client", format!("client {id} is not registered")));
                }
                out.emit(&json!({"client_id": id, "disabled": true}), || {
                    format!("disabled client {id}")
                });
                Ok(Verdict::Ok)
            }
        }
    })
}

fn scopes_arg(flag: &str, text: &str) -> Result<Scopes> {
    Scopes::parse(text).map_err(|e| Failure::usage(format!("invalid {flag}: {e}")))
}

async fn connect(store: &StoreArgs) -> Result<SqlClientRegistry> {
    let url = url_from(store.store.as_deref(), STORE_ENV, "--store")?;
    let mut builder = SqlClientRegistry::pool_builder(&url);
    if let Some(schema) = &store.schema {
        builder = builder.schema(schema);
    }
    let clients = SqlClientRegistry::new(builder.connect().await.map_err(Failure::store)?);
    clients.migrate().await.map_err(Failure::store)?;
    Ok(clients)
}

fn grants(c: &ClientInfo) -> Vec<&'static str> {
    c.grants.iter().map(|g| g.as_str()).collect()
}

fn info_json(c: &ClientInfo) -> Value {
    json!({
        "client_id": c.id,
        "auth_method": c.auth_method(),
        "grants": grants(c),
        "scopes": c.scopes.to_string(),
        "default_scopes": c.default_scopes.to_string(),
        "audiences": c.audiences,
        "redirect_uris": c.redirect_uris,
        "refresh_tokens": c.refresh_tokens,
        "public": c.public,
        "disabled": c.disabled,
        "created_at": when_json(Some(c.created_at)),
        "secret_rotated_at": when_json(c.secret_rotated_at),
    })
}

fn admin_error(error: ClientAdminError) -> Failure {
    match error {
        ClientAdminError::Config(e) => Failure::usage(e.to_string()),
        ClientAdminError::Duplicate(_) => Failure::refused("client_exists", error.to_string()),
        ClientAdminError::UnknownClient(_) => Failure::refused("unknown_client", error.to_string()),
        other => Failure::store(other),
    }
}
