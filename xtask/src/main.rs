//! Project automation, run as `cargo xtask <command>` (see `cargo xtask help`).
//!
//! Each command lives in its own module with a `run` function; this file parses the flags.

#![forbid(unsafe_code)]

mod bench;
mod ci;
mod demo;
mod deny;
mod fuzz;
mod interop;
mod services;
mod test;
mod util;

use std::process::ExitCode;

const HELP: &str = "\
cargo xtask: project automation

USAGE:
    cargo xtask <COMMAND> [ARGS]

COMMANDS:
    test     run every test; service-backed suites run when their service answers and are
             listed as skipped (with the reason) when it does not
    ci       the gate: fmt check, clippy -D warnings, docs -D warnings, every test with the
             service-backed suites required, examples built, interop, fuzz smoke run
    lint     fmt check, clippy -D warnings and docs -D warnings only
    demo     run the demo server (arguments after `--` go to it: cargo xtask demo -- --help)
    bench    run the criterion benchmarks (arguments after `--` go to criterion), then write
             their medians into BENCHMARKS.md
             --e2e [--duration S] [--runs N] [--connections 2,64,512] [--workers N]
                   [--fill N] [--memory-count N] [--routes a,b]: the end-to-end load run
                   (release bench server + wrk; `sudo apt-get install wrk`), writes
                   BENCHMARKS.md and bench/results/latest.{json,svg}
    fuzz     build the libFuzzer targets under fuzz/ (stable Rust, no cargo-fuzz) and run each
             [--secs N] seconds (default 60; --smoke: 3, as ci does) or only [TARGET]; seeds
             from fuzz/seeds/, grown corpus in fuzz/target/corpus/, crashes in fuzz/artifacts/
    interop  our crates and the demo against real peers (Node.js + npm): the article's axios
             snippets, node jsonwebtoken, oidc-provider, openid-client (npm ci in tests/interop)
    deny     the dependency policy (deny.toml): licences, bans, sources, offline (needs
             cargo-deny; advisories need the network and are not checked)
    help     print this help

ENVIRONMENT:
    AUTH_TEST_REDIS_URL      Redis for the service-backed suites [redis://127.0.0.1:6379]
    AUTH_TEST_POSTGRES_URL   PostgreSQL for them [postgres://postgres@127.0.0.1:5432/test]
";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_else(|| "help".to_owned());
    let rest: Vec<String> = args.collect();
    let result = match command.as_str() {
        "test" => test::run(&rest),
        "ci" => ci::run(&rest),
        "lint" => ci::lint(),
        "demo" => demo::run(&rest),
        "bench" => bench::run(&rest),
        "fuzz" => fuzz::run(&rest),
        "deny" => deny::run(&rest),
        "interop" => interop::run(&rest),
        "help" | "-h" | "--help" => {
            print!("{HELP}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}
