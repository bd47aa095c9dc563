//! `cargo xtask demo`: the demo server.

use crate::util::{cargo, exec as run_command};

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let args = args.strip_prefix(&["--".to_owned()]).unwrap_or(args);
    run_command(
        cargo()
            .args([
                "run",
                "--quiet",
                "--package",
                "auth-examples",
                "--bin",
                "demo",
                "--",
            ])
            .args(args),
    )
}
