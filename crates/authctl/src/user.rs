//! `authctl user add | disable | enable | passwd`: auth-basic's `SqlUserStore` and its
//! argon2id hasher at the OWASP parameters.

use auth_basic::{Argon2Hasher, Error, SqlUserStore, UserStore as _};
use serde_json::json;

use crate::apikey::STORE_ENV;
use crate::cli::{StoreArgs, UserCommand};
use crate::support::{Failure, Out, Result, Verdict, read_password, runtime, url_from};

pub(crate) fn run(command: UserCommand, out: Out) -> Result<Verdict> {
    // Ask for passwords before connecting, so a prompt is not raced by a store timeout.
    runtime()?.block_on(async move {
        match command {
            UserCommand::Add {
                store,
                username,
                scopes,
                password,
            } => {
                let password = read_password(&password, true)?;
                let users = connect(&store).await?;
                if users.find(&username).await.map_err(Failure::store)?.is_some() {
                    return Err(Failure::refused(
                        "user_exists",
                        format!(
                            "user {username} exists: use `authctl user passwd` to change the password"
                        ),
                    ));
                }
                users
                    .add_user(&Argon2Hasher::default(), &username, &password, &scopes)
                    .await
                    .map_err(user_error)?;
                out.emit(&json!({"user": username, "added": true, "scopes": scopes}), || {
                    format!("added user {username}")
                });
                Ok(Verdict::Ok)
            }
            UserCommand::Disable { store, username } => {
                let users = connect(&store).await?;
                found(users.disable(&username).await.map_err(user_error)?, &username)?;
                out.emit(&json!({"user": username, "disabled": true}), || {
                    format!("disabled user {username}")
                });
                Ok(Verdict::Ok)
            }
            UserCommand::Enable { store, username } => {
                let users = connect(&store).await?;
                found(users.enable(&username).await.map_err(user_error)?, &username)?;
                out.emit(&json!({"user": username, "disabled": false}), || {
                    format!("enabled user {username}")
                });
                Ok(Verdict::Ok)
            }
            UserCommand::Passwd {
                store,
                username,
                password,
            } => {
                let password = read_password(&password, true)?;
                let users = connect(&store).await?;
                users
                    .set_password(&Argon2Hasher::default(), &username, &password)
                    .await
                    .map_err(user_error)?;
                out.emit(&json!({"user": username, "password_set": true}), || {
                    format!("set the password of {username}")
                });
                Ok(Verdict::Ok)
            }
        }
    })
}

async fn connect(store: &StoreArgs) -> Result<SqlUserStore> {
    let url = url_from(store.store.as_deref(), STORE_ENV, "--store")?;
    let mut builder = SqlUserStore::builder(url);
    if let Some(schema) = &store.schema {
        builder = builder.schema(schema);
    }
    let users = builder.connect().await.map_err(Failure::store)?;
    users.migrate().await.map_err(Failure::store)?;
    Ok(users)
}

fn found(exists: bool, username: &str) -> Result<()> {
    if exists {
        Ok(())
    } else {
        Err(Failure::refused(
            "unknown_user",
            format!("no user {username}"),
        ))
    }
}

fn user_error(error: Error) -> Failure {
    match error {
        Error::UnknownUser => Failure::refused("unknown_user", error.to_string()),
        Error::Config(_) => Failure::usage(error.to_string()),
        other => Failure::store(other),
    }
}
