//! Running cargo from the project root, and timing steps.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The project root (the workspace directory).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the root")
        .to_path_buf()
}

/// `cargo` (the one running this xtask), in the project root.
pub(crate) fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(root());
    command
}

/// Runs `command`, echoing it first.
pub(crate) fn exec(command: &mut Command) -> Result<(), String> {
    let shown = show(command);
    println!("\n$ {shown}");
    let status = command
        .status()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status})"))
    }
}

fn show(command: &Command) -> String {
    let envs: Vec<String> = command
        .get_envs()
        .filter_map(|(k, v)| Some(format!("{}={}", k.to_str()?, v?.to_str()?)))
        .collect();
    let mut parts = envs;
    parts.push(command.get_program().to_string_lossy().into_owned());
    parts.extend(command.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// A record of the steps a command ran, printed as a summary at the end.
#[derive(Debug, Default)]
pub(crate) struct Steps {
    rows: Vec<(String, String, Duration)>,
}

impl Steps {
    /// Runs `step` under `name`, recording its result and duration; stops at the first error.
    pub(crate) fn step(
        &mut self,
        name: &str,
        step: impl FnOnce() -> Result<(), String>,
    ) -> Result<(), String> {
        let start = Instant::now();
        let result = step();
        let outcome = match &result {
            Ok(()) => "ok".to_owned(),
            Err(_) => "FAILED".to_owned(),
        };
        self.rows.push((name.to_owned(), outcome, start.elapsed()));
        result
    }

    /// Records a step that was not run, and why.
    pub(crate) fn skipped(&mut self, name: &str, why: &str) {
        self.rows
            .push((name.to_owned(), format!("skipped: {why}"), Duration::ZERO));
    }

    /// Prints the summary.
    pub(crate) fn print(&self, title: &str) {
        println!("\n== {title}");
        for (name, outcome, took) in &self.rows {
            if took.is_zero() {
                println!("  {name:<28} {outcome}");
            } else {
                println!("  {name:<28} {outcome} ({:.1}s)", took.as_secs_f64());
            }
        }
    }
}
