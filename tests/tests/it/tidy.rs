//! Repository hygiene, checked by plain `cargo test`.

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Every package of the workspace: the crates, examples, tests and xtask.
fn packages() -> Vec<PathBuf> {
    let root = root();
    let mut packages: Vec<PathBuf> = fs::read_dir(root.join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Cargo.toml").exists())
        .collect();
    packages.extend(["examples", "tests", "xtask"].map(|p| root.join(p)));
    packages.sort();
    packages
}

#[test]
fn every_crate_has_a_readme() {
    for package in packages()
        .iter()
        .filter(|p| p.starts_with(root().join("crates")))
    {
        assert!(
            package.join("README.md").exists(),
            "{} has no README.md",
            package.display()
        );
    }
}

#[test]
fn every_crate_forbids_unsafe_code() {
    for package in packages() {
        let src = package.join("src");
        let roots = ["lib.rs", "main.rs"]
            .map(|f| src.join(f))
            .into_iter()
            .filter(|f| f.exists());
        let mut found = false;
        for file in roots {
            found = true;
            let text = fs::read_to_string(&file).unwrap();
            assert!(
                text.contains("#![forbid(unsafe_code)]"),
                "{} lacks #![forbid(unsafe_code)]",
                file.display()
            );
        }
        assert!(found, "{} has no lib.rs or main.rs", package.display());
    }
}

#[test]
fn every_crate_uses_the_workspace_lints() {
    for package in packages() {
        let manifest = fs::read_to_string(package.join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains("[lints]\nworkspace = true"),
            "{} does not say `[lints] workspace = true`",
            package.display()
        );
    }
}

#[test]
fn every_workspace_member_is_checked_here() {
    let manifest = fs::read_to_string(root().join("Cargo.toml")).unwrap();
    for package in packages() {
        let relative = package
            .strip_prefix(root())
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            manifest.contains(&format!("\"{relative}\"")),
            "{relative} is not a workspace member"
        );
    }
}

#[test]
fn the_ci_script_runs_the_readme_test_command() {
    let ci = fs::read_to_string(root().join(".ci/run")).unwrap();
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        ci.contains("cargo xtask ci"),
        ".ci/run must run `cargo xtask ci`"
    );
    assert!(
        readme.contains("cargo xtask test"),
        "README must give the test command"
    );
    assert!(
        readme.contains("cargo xtask demo"),
        "README must give the demo command"
    );
}
