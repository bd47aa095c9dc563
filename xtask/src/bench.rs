//! `cargo xtask bench`: every criterion benchmark of the crates, then their medians into
//! BENCHMARKS.md; `cargo xtask bench --e2e`: the end-to-end load run (bench/, wrk).

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use crate::util::{cargo, exec as run_command, root};

/// The flags of `--e2e`, passed on to `auth-bench e2e` (see `bench/src/main.rs`).
const E2E_FLAGS: &[&str] = &[
    "--duration",
    "--runs",
    "--connections",
    "--workers",
    "--fill",
    "--memory-count",
    "--routes",
];

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

/// The release binary of the bench server.
fn auth_bench() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root().join("target"), PathBuf::from)
        .join("release")
        .join("auth-bench")
}

/// `cargo xtask bench --e2e [--duration S] [--runs N] [--connections 2,64,512] ...`:
/// builds the bench server in release and runs `auth-bench e2e`, which starts the server,
/// drives each route with wrk, kills the server (even on failure) and writes
/// BENCHMARKS.md, bench/results/latest.json and bench/results/latest.svg.
fn e2e(args: &[String]) -> Result<(), String> {
    let mut pass = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_owned())),
            None => (arg.as_str(), None),
        };
        if arg == "--e2e" {
            continue;
        }
        if !E2E_FLAGS.contains(&flag) {
            return Err(format!(
                "unknown flag `{arg}` for --e2e (known: {})",
                E2E_FLAGS.join(", ")
            ));
        }
        let value = match inline {
            Some(value) => value,
            None => rest
                .next()
                .cloned()
                .ok_or_else(|| format!("`{flag}` needs a value"))?,
        };
        pass.push(flag.to_owned());
        pass.push(value);
    }
    if Command::new("wrk").arg("-v").output().is_err() {
        return Err("the end-to-end bench needs wrk: on Debian or Ubuntu \
                    `sudo apt-get install wrk` (https://github.com/wg/wrk elsewhere)"
            .to_owned());
    }
    run_command(cargo().args(["build", "--release", "--package", "auth-bench"]))?;
    let command = format!("cargo xtask bench {}", args.join(" "));
    run_command(
        Command::new(auth_bench())
            .current_dir(root())
            .arg("e2e")
            .args(&pass)
            .args(["--command", command.trim()]),
    )
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "--e2e") {
        return e2e(args);
    }
    let args = args.strip_prefix(&["--".to_owned()]).unwrap_or(args);
    let benches = benches();
    if benches.is_empty() {
        println!(
            "no benchmarks yet: each scheme adds criterion benches under crates/<crate>/benches/"
        );
        return Ok(());
    }
    // Two passes over every bench; per benchmark the lower of the two medians is kept. On a
    // shared VM the speed drifts over minutes, and a verify path and its floor measured
    // seconds apart can land on either side of a slow spell: the lower median is the one
    // least disturbed by others.
    let command = format!("cargo xtask bench {}", args.join(" "));
    for pass in 1..=MICRO_PASSES {
        for (package, bench) in &benches {
            run_command(
                cargo()
                    .args(["bench", "--package", package, "--bench", bench, "--"])
                    .args(args),
            )?;
        }
        // The medians into bench/results/micro.json and BENCHMARKS.md.
        run_command(
            cargo()
                .args([
                    "run",
                    "--quiet",
                    "--release",
                    "--package",
                    "auth-bench",
                    "--",
                ])
                .args(["micro-collect", "--command", command.trim()])
                .args(["--passes", &pass.to_string()]),
        )?;
    }
    Ok(())
}

/// How many times `cargo xtask bench` runs the micro benchmarks (see `run`).
const MICRO_PASSES: usize = 2;
