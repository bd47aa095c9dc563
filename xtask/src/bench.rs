//! `cargo xtask bench`: every criterion benchmark of the crates.

use std::fs;

use crate::util::{cargo, exec as run_command, root};

/// `(package, bench)` for each `crates/<package>/benches/<bench>.rs`.
fn benches() -> Vec<(String, String)> {
    let mut found = Vec::new();
    let Ok(crates) = fs::read_dir(root().join("crates")) else {
        return found;
    };
    for krate in crates.flatten() {
        let Ok(files) = fs::read_dir(krate.path().join("benches")) else {
            continue;
        };
        for file in files.flatten() {
            let path = file.path();
            if path.extension().is_some_and(|e| e == "rs")
                && let (Some(package), Some(bench)) = (
                    krate.file_name().to_str().map(str::to_owned),
                    path.file_stem().and_then(|s| s.to_str()).map(str::to_owned),
                )
            {
                found.push((package, bench));
            }
        }
    }
    found.sort();
    found
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let args = args.strip_prefix(&["--".to_owned()]).unwrap_or(args);
    let benches = benches();
    if benches.is_empty() {
        println!(
            "no benchmarks yet: each scheme adds criterion benches under crates/<crate>/benches/"
        );
        return Ok(());
    }
    for (package, bench) in benches {
        run_command(
            cargo()
                .args(["bench", "--package", &package, "--bench", &bench, "--"])
                .args(args),
        )?;
    }
    Ok(())
}
