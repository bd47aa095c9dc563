//! `cargo xtask test`: what a user runs. Passes on a machine with only Rust.

use crate::services;
use crate::util::{Steps, cargo, exec};

/// Runs every test of the workspace, all features on. Service-backed suites skip (and say
/// so) when their service does not answer.
pub(crate) fn run_tests(require_services: bool, extra: &[String]) -> Result<(), String> {
    let mut command = cargo();
    command.args(["test", "--workspace", "--all-features", "--locked"]);
    command.env(
        "AUTH_REQUIRE_SERVICES",
        if require_services { "1" } else { "0" },
    );
    command.args(extra);
    exec(&mut command)
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let down = services::report();
    let mut steps = Steps::default();
    let result = steps.step("tests", || run_tests(false, args));
    steps.print("cargo xtask test");
    if down.is_empty() {
        println!("  every service-backed suite ran");
    } else {
        for why in &down {
            println!("  skipped the suites of {why}");
        }
    }
    result
}
