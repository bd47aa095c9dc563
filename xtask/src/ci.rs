//! `cargo xtask ci`: the gate `.ci/run` runs.

use crate::util::{Steps, cargo, exec};
use crate::{deny, fuzz, interop, services, test};

fn fmt() -> Result<(), String> {
    exec(cargo().args(["fmt", "--all", "--check"]))
}

fn clippy() -> Result<(), String> {
    exec(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--locked",
        "--",
        "-D",
        "warnings",
        "-D",
        "clippy::dbg_macro",
        "-D",
        "clippy::todo",
    ]))
}

fn doc() -> Result<(), String> {
    exec(cargo().env("RUSTDOCFLAGS", "-D warnings").args([
        "doc",
        "--workspace",
        "--no-deps",
        "--all-features",
        "--locked",
    ]))
}

/// fmt, clippy and docs.
pub(crate) fn lint() -> Result<(), String> {
    let mut steps = Steps::default();
    let result = (|| {
        steps.step("fmt --check", fmt)?;
        steps.step("clippy -D warnings", clippy)?;
        steps.step("doc -D warnings", doc)
    })();
    steps.print("cargo xtask lint");
    result
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if let Some(arg) = args.first() {
        return Err(format!("`cargo xtask ci` takes no arguments (got `{arg}`)"));
    }
    let mut steps = Steps::default();
    let result = (|| {
        steps.step("fmt --check", fmt)?;
        steps.step("clippy -D warnings", clippy)?;
        steps.step("doc -D warnings", doc)?;
        if deny::installed() {
            steps.step("cargo deny (offline)", deny::check)?;
            steps.skipped(
                "cargo deny advisories",
                "need the network (RustSec database)",
            );
        } else {
            println!("\ncargo deny: skipped: {}", deny::NOT_INSTALLED);
            steps.skipped("cargo deny", deny::NOT_INSTALLED);
        }
        steps.step("services reachable", || {
            let down = services::report();
            if down.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "CI requires every service-backed suite; unreachable: {}",
                    down.join("; ")
                ))
            }
        })?;
        steps.step("tests (services required)", || test::run_tests(true, &[]))?;
        steps.step("examples built", || {
            exec(cargo().args([
                "build",
                "--workspace",
                "--all-features",
                "--locked",
                "--bins",
                "--examples",
            ]))
        })?;
        interop::steps_run(&mut steps)?;
        match fuzz::targets() {
            targets if targets.is_empty() => {
                steps.skipped("fuzz smoke", "no fuzz targets yet (fuzz/ does not exist)");
                Ok(())
            }
            _ => steps.step("fuzz smoke", || fuzz::run(&["--smoke".to_owned()])),
        }
    })();
    steps.print("cargo xtask ci");
    result
}
