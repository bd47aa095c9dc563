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
    -h, --help            print this help

Audit events go to stderr (RUST_LOG to filter, e.g. RUST_LOG=auth::audit=info).
";

fn parse() -> Result<Option<DemoConfig>, lexopt::Error> {
    use lexopt::prelude::*;
    let mut config = DemoConfig::default();
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("listen") => {
                let value = parser.value()?;
                config.listen = value.parse()?;
            }
            Long("credentials") => config.credentials = Some(PathBuf::from(parser.value()?)),
            Long("tls") => config.tls = true,
            Short('h') | Long("help") => return Ok(None),
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(Some(config))
}

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
