//! `cargo xtask deny`: the dependency policy in `deny.toml`, checked by `cargo-deny`.
//!
//! Offline (as CI runs here) `cargo deny --offline check licenses bans sources` checks the
//! licences, bans (duplicate versions, wildcards) and sources (crates.io only). The
//! `advisories` check needs the RustSec database from the network and is **not** run
//! offline: run `cargo deny check advisories` where the network is available.

use std::process::Stdio;

use crate::util::{cargo, exec};

/// What the offline run checks, and what it cannot.
pub(crate) const OFFLINE_NOTE: &str = "licenses, bans and sources are checked offline; \
     advisories (RustSec) are NOT checked: they need the network \
     (`cargo deny check advisories`)";

/// Whether `cargo deny` is installed.
pub(crate) fn installed() -> bool {
    cargo()
        .args(["deny", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Why the check is skipped when `cargo deny` is missing.
pub(crate) const NOT_INSTALLED: &str = "cargo-deny is not installed \
     (`cargo install cargo-deny --locked`); the dependency policy in deny.toml was NOT checked";

/// The offline check; says first what it does not cover.
pub(crate) fn check() -> Result<(), String> {
    println!("cargo deny: {OFFLINE_NOTE}");
    exec(cargo().args(["deny", "--offline", "check", "licenses", "bans", "sources"]))
}

/// `cargo xtask deny`: fails when cargo-deny is missing (it was asked for explicitly).
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if let Some(arg) = args.first() {
        return Err(format!(
            "`cargo xtask deny` takes no arguments (got `{arg}`)"
        ));
    }
    if !installed() {
        return Err(NOT_INSTALLED.to_owned());
    }
    check()
}
