//! `authctl session list | revoke`: auth-session's `RedisSessionStore`, through the
//! per-user index the store keeps (`list_user`, `delete`, `delete_user`): no key scanning.

use auth_core::{RedisConnection, SystemClock};
use auth_session::{RedisSessionStore, SessionInfo, SessionStore as _};
use serde_json::{Value, json};

use crate::cli::{RedisArgs, SessionCommand};
use crate::support::{Failure, Out, Result, Verdict, runtime, url_from, when, when_json};

/// The environment variable holding the Redis URL.
const REDIS_ENV: &str = "AUTHCTL_REDIS";

pub(crate) fn run(command: SessionCommand, out: Out) -> Result<Verdict> {
    runtime()?.block_on(async move {
        match command {
            SessionCommand::List { redis, user } => {
                let store = connect(&redis).await?;
                let sessions = store.list_user(&user).await.map_err(Failure::store)?;
                let items: Vec<Value> = sessions.iter().map(info_json).collect();
                out.emit(&json!({"user": user, "sessions": items}), || {
                    if sessions.is_empty() {
                        return format!("no live sessions for {user}");
                    }
                    let mut text = format!(
                        "{:<18} {:<21} {:<21} EXPIRES\n",
                        "FINGERPRINT", "LOGGED IN", "LAST SEEN"
                    );
                    for s in &sessions {
                        text.push_str(&format!(
                            "{:<18} {:<21} {:<21} {}\n",
                            s.fingerprint,
                            when(s.authenticated_at.or(Some(s.created_at))),
                            when(Some(s.last_seen)),
                            when(Some(s.expires_at))
                        ));
                    }
                    text
                });
                Ok(Verdict::Ok)
            }
            SessionCommand::Revoke {
                redis,
                user,
                session,
                all,
            } => {
                let store = connect(&redis).await?;
                let ended = if all {
                    store
                        .delete_user(&user, None)
                        .await
                        .map_err(Failure::store)?
                } else {
                    let wanted = session.unwrap_or_default();
                    let sessions = store.list_user(&user).await.map_err(Failure::store)?;
                    let Some(info) = sessions
                        .iter()
                        .find(|s| s.fingerprint == wanted || s.hash.to_hex() == wanted)
                    else {
                        return Err(Failure::refused(
                            "unknown_session",
                            format!("{user} has no live session {wanted}"),
                        ));
                    };
                    usize::from(store.delete(&info.hash).await.map_err(Failure::store)?)
                };
                out.emit(&json!({"user": user, "ended": ended}), || {
                    format!("ended {ended} session(s) of {user}")
                });
                Ok(Verdict::Ok)
            }
        }
    })
}

async fn connect(args: &RedisArgs) -> Result<RedisSessionStore> {
    let url = url_from(args.redis.as_deref(), REDIS_ENV, "--redis")?;
    let redis = RedisConnection::builder(url)
        .namespace(args.namespace.clone())
        .connect()
        .await
        .map_err(Failure::store)?;
    Ok(RedisSessionStore::new(&redis, SystemClock::shared()))
}

fn info_json(s: &SessionInfo) -> Value {
    json!({
        "fingerprint": s.fingerprint,
        "user": s.user,
        "created_at": when_json(Some(s.created_at)),
        "authenticated_at": when_json(s.authenticated_at),
        "last_seen": when_json(Some(s.last_seen)),
        "expires_at": when_json(Some(s.expires_at)),
    })
}
