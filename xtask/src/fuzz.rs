//! `cargo xtask fuzz [--secs N | --smoke] [TARGET]`: the libFuzzer targets under `fuzz/`.
//!
//! Stable Rust, no cargo-fuzz needed: the fuzz crate (a workspace of its own) is built with
//! the same instrumentation flags `cargo fuzz build --sanitizer none` passes to rustc (all
//! stable: SanitizerCoverage through `-Cpasses=sancov-module` and `-Cllvm-args`), and each
//! libFuzzer binary is run directly. No AddressSanitizer: it needs the nightly-only
//! `-Zsanitizer`, and every crate it would watch is `#![forbid(unsafe_code)]`; debug
//! assertions and overflow checks are on instead. See `fuzz/README.md`.
//!
//! Each target starts from its committed seeds (`fuzz/seeds/<target>/`, read only); what it
//! learns goes to `fuzz/target/corpus/<target>/` and crashes to `fuzz/artifacts/<target>/`,
//! both git-ignored.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::util::{cargo, exec, root};

/// Seconds per target without `--secs`.
const DEFAULT_SECS: u64 = 60;
/// Seconds per target with `--smoke` (`cargo xtask ci`): the seeds, then a little mutation.
const SMOKE_SECS: u64 = 3;

/// The rustc flags of `cargo fuzz build --sanitizer none` for libFuzzer (cargo-fuzz 0.12,
/// `src/project.rs`), plus debug assertions and overflow checks.
const RUSTFLAGS: &[&str] = &[
    "--cfg",
    "fuzzing",
    "-Cpasses=sancov-module",
    "-Cllvm-args=-sanitizer-coverage-level=4",
    "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
    "-Cllvm-args=-sanitizer-coverage-pc-table",
    "-Cllvm-args=-sanitizer-coverage-trace-compares",
    "-Cllvm-args=-sanitizer-coverage-stack-depth",
    "-Cdebug-assertions",
    "-Coverflow-checks",
];

fn fuzz_dir() -> PathBuf {
    root().join("fuzz")
}

/// The fuzz targets (`fuzz/fuzz_targets/<name>.rs`).
pub(crate) fn targets() -> Vec<String> {
    let mut targets: Vec<String> = fs::read_dir(fuzz_dir().join("fuzz_targets"))
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

struct Options {
    secs: u64,
    target: Option<String>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        secs: DEFAULT_SECS,
        target: None,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--smoke" => options.secs = SMOKE_SECS,
            "--secs" => {
                let value = args.next().ok_or("--secs needs a number of seconds")?;
                options.secs = value
                    .parse()
                    .ok()
                    .filter(|&s| s > 0)
                    .ok_or_else(|| format!("--secs: `{value}` is not a positive number"))?;
            }
            flag if flag.starts_with('-') => {
                return Err(format!(
                    "cargo xtask fuzz: unknown flag `{flag}` (usage: [--secs N | --smoke] [TARGET])"
                ));
            }
            target if options.target.is_none() => options.target = Some(target.to_owned()),
            extra => {
                return Err(format!(
                    "cargo xtask fuzz: one target at most (got `{extra}`)"
                ));
            }
        }
    }
    Ok(options)
}

/// The host target triple (`rustc -vV`). Building for it explicitly keeps the
/// instrumentation flags off build scripts and proc macros, as cargo-fuzz does.
fn host() -> Result<String, String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc)
        .arg("-vV")
        .output()
        .map_err(|e| format!("could not run `rustc -vV`: {e}"))?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .ok_or_else(|| "`rustc -vV` printed no host".to_owned())
}

/// Builds every target (release, instrumented) and returns the directory of the binaries.
fn build(host: &str) -> Result<PathBuf, String> {
    let target_dir = fuzz_dir().join("target");
    let mut command = cargo();
    command
        .current_dir(fuzz_dir())
        .env("RUSTFLAGS", RUSTFLAGS.join(" "))
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .args(["build", "--release", "--locked", "--bins", "--target", host])
        .arg("--target-dir")
        .arg(&target_dir);
    exec(&mut command)?;
    Ok(target_dir.join(host).join("release"))
}

/// What libFuzzer said at the end of a run.
#[derive(Default)]
struct Stats {
    execs: Option<u64>,
    seconds: Option<u64>,
    new_units: Option<u64>,
}

/// Runs `binary` for `secs` seconds, echoing its output, and returns its final stats.
fn fuzz(name: &str, binary: &Path, secs: u64) -> Result<Stats, String> {
    let dir = fuzz_dir();
    let corpus = dir.join("target").join("corpus").join(name);
    let seeds = dir.join("seeds").join(name);
    let artifacts = dir.join("artifacts").join(name);
    for d in [&corpus, &artifacts] {
        fs::create_dir_all(d).map_err(|e| format!("could not create {}: {e}", d.display()))?;
    }
    let mut command = Command::new(binary);
    command
        .current_dir(&dir)
        .arg(&corpus)
        .arg(&seeds)
        .arg(format!("-max_total_time={secs}"))
        .arg("-print_final_stats=1")
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped());
    println!(
        "\n$ {} {} {} -max_total_time={secs} -print_final_stats=1 -artifact_prefix={}/",
        binary.display(),
        corpus.display(),
        seeds.display(),
        artifacts.display()
    );
    let mut child = command
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", binary.display()))?;
    let mut stats = Stats::default();
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines() {
            let line = line.map_err(|e| format!("reading libFuzzer's output: {e}"))?;
            let value = |key: &str| {
                line.strip_prefix(key)
                    .and_then(|v| v.trim().parse::<u64>().ok())
            };
            if let Some(n) = value("stat::number_of_executed_units:") {
                stats.execs = Some(n);
            } else if let Some(n) = value("stat::new_units_added:") {
                stats.new_units = Some(n);
            } else if let Some(rest) = line.strip_prefix("Done ")
                && let Some((_, secs)) = rest.split_once(" runs in ")
            {
                stats.seconds = secs.split(' ').next().and_then(|s| s.parse().ok());
            }
            // The periodic status lines are noise in CI; keep the rest (crashes included).
            if !(line.starts_with('#') && line.contains(" exec/s: ")) || secs > SMOKE_SECS {
                eprintln!("{line}");
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for {}: {e}", binary.display()))?;
    if status.success() {
        Ok(stats)
    } else {
        Err(format!(
            "fuzz target `{name}` failed ({status}); the input is in {}/ \
             (replay: {} <file>)",
            artifacts.display(),
            binary.display()
        ))
    }
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let options = parse(args)?;
    let all = targets();
    if all.is_empty() {
        println!("no fuzz targets yet: fuzz/fuzz_targets/ does not exist");
        return Ok(());
    }
    let chosen = match &options.target {
        Some(target) if all.contains(target) => vec![target.clone()],
        Some(target) => {
            return Err(format!(
                "no fuzz target `{target}`; the targets: {}",
                all.join(", ")
            ));
        }
        None => all,
    };
    let started = Instant::now();
    let bin_dir = build(&host()?)?;
    let built = started.elapsed();
    let mut rows = Vec::new();
    for name in &chosen {
        let stats = fuzz(name, &bin_dir.join(name), options.secs)?;
        rows.push((name.clone(), stats));
    }
    println!("\n== cargo xtask fuzz ({:.0}s build)", built.as_secs_f64());
    println!(
        "  {:<24} {:>8} {:>14} {:>10}",
        "target", "seconds", "executions", "new units"
    );
    for (name, stats) in rows {
        let show = |v: Option<u64>| v.map_or_else(|| "?".to_owned(), |v| v.to_string());
        println!(
            "  {name:<24} {:>8} {:>14} {:>10}",
            show(stats.seconds),
            show(stats.execs),
            show(stats.new_units)
        );
    }
    println!("  no crash; total {:.0}s", started.elapsed().as_secs_f64());
    Ok(())
}
