//! `SECURITY.md` and the attack suite match one to one: every catalogue row cites an
//! `attack_*` test that exists, and every `attack_*` test is cited by a row.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The catalogue's rows: id → the test path of its last column (`module::function`).
fn catalogue() -> Vec<(String, String)> {
    let text = fs::read_to_string(root().join("SECURITY.md")).unwrap();
    let mut rows = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        let id = cells[0];
        let is_row = id.split_once('-').is_some_and(|(scheme, n)| {
            !scheme.is_empty()
                && scheme.bytes().all(|b| b.is_ascii_uppercase())
                && n.len() == 2
                && n.bytes().all(|b| b.is_ascii_digit())
        });
        if !is_row {
            continue;
        }
        assert_eq!(cells.len(), 6, "{id}: a row has 6 columns: {line}");
        let test = cells[5].trim_matches('`');
        rows.push((id.to_owned(), test.to_owned()));
    }
    rows
}

/// Every `attack_*` test function of the `it` binary, as `module::function`.
fn attack_tests() -> BTreeSet<String> {
    let dir = root().join("tests/tests/it");
    let mut found = BTreeSet::new();
    let mut pending = vec![dir.clone()];
    while let Some(next) = pending.pop() {
        for entry in fs::read_dir(&next).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            // This file names attack tests only to check them.
            if path.extension().is_none_or(|e| e != "rs") || path.ends_with("security_catalogue.rs")
            {
                continue;
            }
            let module = module_of(&dir, &path);
            let text = fs::read_to_string(&path).unwrap();
            for name in functions(&text).filter(|n| n.starts_with("attack_")) {
                found.insert(format!("{module}::{name}"));
            }
        }
    }
    found
}

/// `attacks::jwt` for `tests/it/attacks/jwt.rs`, `attacks` for `tests/it/attacks/mod.rs`.
fn module_of(dir: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(dir).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// The names of the functions defined in `text`.
fn functions(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split("fn ").skip(1).filter_map(|rest| {
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        (!name.is_empty() && rest[name.len()..].starts_with('(')).then_some(name)
    })
}

#[test]
fn every_row_has_an_attack_test_and_every_attack_test_a_row() {
    let rows = catalogue();
    assert!(rows.len() >= 50, "the catalogue has {} rows", rows.len());
    let tests = attack_tests();
    let mut problems = Vec::new();

    let mut ids = BTreeMap::new();
    for (id, _) in &rows {
        *ids.entry(id.as_str()).or_insert(0) += 1;
    }
    for (id, count) in ids.iter().filter(|(_, n)| **n > 1) {
        problems.push(format!("{id} appears {count} times"));
    }

    let cited: BTreeSet<&str> = rows.iter().map(|(_, t)| t.as_str()).collect();
    for (id, test) in &rows {
        let name = test.rsplit("::").next().unwrap_or_default();
        if !name.starts_with("attack_") {
            problems.push(format!("{id}: its test `{test}` is not named attack_*"));
        } else if !tests.contains(test) {
            problems.push(format!("{id}: its test `{test}` does not exist"));
        }
    }
    for test in &tests {
        if !cited.contains(test.as_str()) {
            problems.push(format!("`{test}` has no row in SECURITY.md"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_module_paths_follow_the_files() {
    let dir = Path::new("/x/tests/it");
    assert_eq!(module_of(dir, &dir.join("jwt.rs")), "jwt");
    assert_eq!(module_of(dir, &dir.join("attacks/jwt.rs")), "attacks::jwt");
    assert_eq!(module_of(dir, &dir.join("attacks/mod.rs")), "attacks");
    let names: Vec<String> =
        functions("async fn attack_a() {}\nfn helper(x: u8) {}\n// fn not code\n").collect();
    assert_eq!(names, ["attack_a", "helper"]);
}
