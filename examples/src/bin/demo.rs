//! `cargo xtask demo`: every scheme of the toolkit on one actix-web server.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use auth_examples::demo::{self, DemoConfig};

const HELP: &str = "\
demo: every auth-rs scheme on one actix-web server

USAGE:
    cargo xtask demo [-- OPTIONS]

OPTIONS:
    --listen ADDR         address to listen on [default: 127.0.0.1:8080]
    --credentials FILE    write every generated credential to FILE (JSON, mode 0600)
    --tls                 serve HTTPS with a self-signed certificate generated at start
                          (written beside FILE, or to the temp dir)
    --database URL        users, API keys, OAuth clients/tokens/codes/consents:
                          sqlite:PATH or postgres://USER@HOST/DB
                          [default: $AUTH_DEMO_DATABASE_URL, else
                          sqlite:auth-rs-demo/demo.db, created with its directory;
                          migrations run on every start]
    --database-schema S   PostgreSQL schema for the tables (it must exist)
                          [default: the connection's search_path]
    --redis URL           sessions, HMAC nonces, JWT revocations and failed-attempt
                          throttles in Redis (redis://[:PW@]HOST:PORT/DB), shared by every
                          instance using it [default: this process's memory, not shared]
    --redis-namespace P   prefix of every Redis key [default: auth-rs-demo:]
    --state FILE          the secrets every instance must share: cookie keys, JWT and
                          OAuth signing keys, HMAC secrets, the demo user's password and
                          API key. Created with fresh secrets (mode 0600) when missing,
                          loaded otherwise; refused if other users can read it
                          [default: auth-rs-demo/state.json]
    --public-url URL      the origin clients use (a load balancer's): the OAuth issuer
                          [default: the --listen address's origin]
    --trusted-proxy NET   a load balancer in front of this instance, by address or block
                          (10.0.0.7, 10.0.0.0/16; repeatable): its X-Forwarded-Proto and
                          X-Forwarded-For are believed [default: none, nobody's are]
    -h, --help            print this help

A URL with a password is refused on the command line (`ps` shows every process's
arguments to every user): put it in $AUTH_DEMO_DATABASE_URL or $AUTH_DEMO_REDIS_URL.

MANY INSTANCES (see docs/scaling-out.md):
    Give every instance the same --state FILE (copy it, mode 0600, or share the path),
    --database postgres://..., --redis redis://..., --public-url and --trusted-proxy
    (the load balancer, when it terminates TLS); then any instance
    accepts what another issued, and a logout, revocation or used nonce on one holds on
    all. Instances may start at once: the first to find no state file creates it, the
    others load it; migrations and seeding are safe to run concurrently.

Misconfiguration (a bad URL, an unreachable database or Redis, a failed migration, an
unreadable state file) stops the demo at start with a message; no secret and no URL
password is ever logged. Audit events go to stderr (RUST_LOG to filter, e.g.
RUST_LOG=auth::audit=info).
";

fn parse() -> Result<Option<DemoConfig>, lexopt::Error> {
    use lexopt::prelude::*;
    let mut config = DemoConfig::default();
    let mut parser = lexopt::Parser::from_env();
    let mut database_given = false;
    while let Some(arg) = parser.next()? {
        match arg {
            Long("listen") => {
                let value = parser.value()?;
                config.listen = value.parse()?;
            }
            Long("credentials") => config.credentials = Some(PathBuf::from(parser.value()?)),
            Long("tls") => config.tls = true,
            Long("database") => {
                config.database = parser.value()?.string()?;
                database_given = true;
            }
            Long("database-schema") => {
                config.database_schema = Some(parser.value()?.string()?);
            }
            Long("redis") => config.redis = Some(parser.value()?.string()?),
            Long("redis-namespace") => config.redis_namespace = parser.value()?.string()?,
            Long("state") => config.state = PathBuf::from(parser.value()?),
            Long("public-url") => config.public_url = Some(parser.value()?.string()?),
            Long("trusted-proxy") => config.trusted_proxies.push(parser.value()?.parse()?),
            Short('h') | Long("help") => return Ok(None),
            _ => return Err(arg.unexpected()),
        }
    }
    for (flag, env, url) in [
        ("--database", DATABASE_ENV, Some(&config.database)),
        ("--redis", REDIS_ENV, config.redis.as_ref()),
    ] {
        if url.is_some_and(|url| demo::url_has_password(url)) {
            return Err(lexopt::Error::Custom(
                format!("{flag} carries a password: pass that URL in ${env} instead").into(),
            ));
        }
    }
    if !database_given && let Ok(url) = std::env::var(DATABASE_ENV) {
        config.database = url;
    }
    if config.redis.is_none()
        && let Ok(url) = std::env::var(REDIS_ENV)
    {
        config.redis = Some(url);
    }
    Ok(Some(config))
}

/// Where a database URL with a password comes from (never the command line).
const DATABASE_ENV: &str = "AUTH_DEMO_DATABASE_URL";
/// Where a Redis URL with a password comes from (never the command line).
const REDIS_ENV: &str = "AUTH_DEMO_REDIS_URL";

fn main() -> ExitCode {
    let config = match parse() {
        Ok(Some(config)) => config,
        Ok(None) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("demo: {e}\n\n{HELP}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let result = actix_web::rt::System::new().block_on(async move {
        let demo = demo::start(&config).await?;
        print!("{}", demo.banner());
        if let Some(path) = &config.credentials {
            println!("\ncredentials written to {}", path.display());
        }
        let handle = demo.handle();
        actix_web::rt::spawn(async move {
            if actix_web::rt::signal::ctrl_c().await.is_ok() {
                handle.stop(true).await;
            }
        });
        demo.run().await.map_err(demo::DemoError::from)
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo: {e}");
            ExitCode::FAILURE
        }
    }
}
