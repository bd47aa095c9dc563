//! `cargo xtask fuzz`: each cargo-fuzz target under `fuzz/`, briefly.

use std::fs;

use crate::util::{cargo, exec as run_command, root};

/// The fuzz targets (`fuzz/fuzz_targets/<name>.rs`).
pub(crate) fn targets() -> Vec<String> {
    let mut targets: Vec<String> = fs::read_dir(root().join("fuzz").join("fuzz_targets"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let path = e.path();
            (path.extension()? == "rs").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    targets.sort();
    targets
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let seconds = if args.iter().any(|a| a == "--smoke") {
        "10"
    } else {
        "60"
    };
    let targets = targets();
    if targets.is_empty() {
        println!("no fuzz targets yet: fuzz/fuzz_targets/ does not exist");
        return Ok(());
    }
    for target in targets {
        run_command(cargo().current_dir(root().join("fuzz")).args([
            "fuzz",
            "run",
            &target,
            "--",
            &format!("-max_total_time={seconds}"),
        ]))?;
    }
    Ok(())
}
