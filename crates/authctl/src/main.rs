//! `authctl`: the operator's command line for the auth-rs crates.
//!
//! Mint, list, revoke and rotate API keys; add users, disable them and set passwords; hash
//! and check passwords; generate JWT signing keys, publish a JWKS, sign tokens and
//! **inspect why a token is refused**; sign and check RFC 9421 HTTP message signatures;
//! list and end a user's sessions; register OAuth 2.0 clients and rotate their secrets. Each command runs through the crates a service uses
//! (`auth-basic`, `auth-apikey`, `auth-jwt`, `auth-hmac`, `auth-session`, `auth-oauth2`), so its verdicts
//! are the service's verdicts and its keys open the service.
//!
//! ```text
//! $ authctl apikey create --store sqlite:app.db --prefix myapp_live --owner billing --name export
//! myapp_live_3bQ0…_Zx81Lk
//! $ authctl jwt inspect - --jwks https://id.example/jwks.json --aud orders < token.txt
//! verdict: refused
//! reason:  jwt_expired (expired or missing exp)
//! ```
//!
//! # Exit codes
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success; for checks: accepted / valid |
//! | 1 | refused: a verification failed, a token or signature would be refused, or the store refused the operation |
//! | 2 | usage: bad flags, a secret offered on the command line, a missing input |
//! | 3 | store or I/O: database, Redis, a file, the network |
//!
//! # Secrets
//!
//! Never from the command line: passwords from `--password-stdin`, `--password-file`,
//! `$AUTHCTL_PASSWORD` or a prompt; secrets from `--secret-file`, `--pepper-file` or
//! `$AUTHCTL_HMAC_SECRET`, `$AUTHCTL_APIKEY_PEPPER`; store URLs with a password only from
//! `$AUTHCTL_STORE` / `$AUTHCTL_REDIS`. Files holding secrets are created with mode 0600
//! and never overwritten without `--force`.
//!
//! See the crate's `README.md` for every command with an example.

#![forbid(unsafe_code)]

mod apikey;
mod cli;
mod hmac;
mod jwt;
mod oauth;
mod password;
mod session;
mod support;
mod user;

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser as _};

use crate::cli::{Cli, Command, Shell};
use crate::support::{Out, Verdict};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = Out { json: cli.json };
    match run(cli.command, out) {
        Ok(Verdict::Ok) => ExitCode::SUCCESS,
        Ok(Verdict::Refused) => ExitCode::from(support::EXIT_REFUSED),
        Err(failure) => failure.report(out.json),
    }
}

fn run(command: Command, out: Out) -> support::Result<Verdict> {
    match command {
        Command::Password(command) => password::run(command, out),
        Command::Apikey(command) => apikey::run(command, out),
        Command::User(command) => user::run(command, out),
        Command::Jwt(command) => jwt::run(command, out),
        Command::Hmac(command) => hmac::run(command, out),
        Command::Session(command) => session::run(command, out),
        Command::Oauth(command) => oauth::run(command, out),
        Command::Completions { shell } => {
            let shell = match shell {
                Shell::Bash => clap_complete::Shell::Bash,
                Shell::Zsh => clap_complete::Shell::Zsh,
                Shell::Fish => clap_complete::Shell::Fish,
                Shell::Elvish => clap_complete::Shell::Elvish,
                Shell::Powershell => clap_complete::Shell::PowerShell,
            };
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "authctl",
                &mut std::io::stdout(),
            );
            Ok(Verdict::Ok)
        }
    }
}
