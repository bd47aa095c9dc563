//! BENCHMARKS.md and the chart, from the latest results: `bench/results/latest.json`
//! (`cargo xtask bench --e2e`) and `bench/results/micro.json` (`cargo xtask bench`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// The workspace root (this package is `<root>/bench`).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Each of our routes and the peer route serving the same thing.
const PAIRS: &[(&str, &str)] = &[
    ("ours-basic", "peer-basic"),
    ("ours-jwt-hs256", "peer-jwt-hs256"),
    ("ours-session-memory", "peer-session-cookie"),
    ("ours-session-redis", "peer-session-redis"),
];

fn baseline_of(route: &str) -> &'static str {
    if route == "ours-hmac" || route == "baseline-post" {
        "baseline-post"
    } else {
        "baseline"
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Median, min and max of one route at one concurrency.
#[derive(Debug, Clone, Copy)]
struct Stats {
    rps: f64,
    rps_min: f64,
    rps_max: f64,
    p99: f64,
    p99_min: f64,
    p99_max: f64,
    errors: u64,
}

fn stats(samples: &[Value], route: &str, connections: u64) -> Option<Stats> {
    let mine: Vec<&Value> = samples
        .iter()
        .filter(|s| s["route"] == route && s["connections"].as_u64() == Some(connections))
        .collect();
    if mine.is_empty() {
        return None;
    }
    let field = |key: &str| -> Vec<f64> { mine.iter().filter_map(|s| s[key].as_f64()).collect() };
    let mut rps = field("requests_per_s");
    let mut p99 = field("p99_ms");
    Some(Stats {
        rps: median(&mut rps),
        rps_min: rps.first().copied().unwrap_or(f64::NAN),
        rps_max: rps.last().copied().unwrap_or(f64::NAN),
        p99: median(&mut p99),
        p99_min: p99.first().copied().unwrap_or(f64::NAN),
        p99_max: p99.last().copied().unwrap_or(f64::NAN),
        errors: mine.iter().filter_map(|s| s["errors"].as_u64()).sum(),
    })
}

/// The median over the rounds (runs) of `route`'s requests/s divided by `against`'s in the
/// same round (the mean of its samples there: `baseline` opens and closes each round), so
/// that a machine whose speed drifts between rounds does not skew the ratio; the order of
/// the routes alternates between runs (see `driver::round`) for drift within a round.
fn paired_ratio(samples: &[Value], route: &str, against: &str, connections: u64) -> f64 {
    // The round's samples of `name`; none when one of them counted errors (refusals,
    // timeouts: not a measurement of the route's work), so the round is left out.
    let rps = |name: &str, run: u64| -> Vec<f64> {
        let round: Vec<&Value> = samples
            .iter()
            .filter(|s| {
                s["route"] == name
                    && s["connections"].as_u64() == Some(connections)
                    && s["run"].as_u64() == Some(run)
            })
            .collect();
        if round.iter().any(|s| s["errors"].as_u64().unwrap_or(0) > 0) {
            return Vec::new();
        }
        round
            .iter()
            .filter_map(|s| s["requests_per_s"].as_f64())
            .collect()
    };
    let mut runs: Vec<u64> = samples.iter().filter_map(|s| s["run"].as_u64()).collect();
    runs.sort_unstable();
    runs.dedup();
    let mut ratios: Vec<f64> = runs
        .into_iter()
        .filter_map(|run| {
            let mine = rps(route, run);
            let theirs = rps(against, run);
            if mine.is_empty() || theirs.is_empty() {
                return None;
            }
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            Some(mean(&mine) / mean(&theirs))
        })
        .collect();
    median(&mut ratios)
}

fn thousands(value: f64) -> String {
    if !value.is_finite() {
        return "-".to_owned();
    }
    let digits = format!("{:.0}", value);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn pct(value: f64) -> String {
    if value.is_finite() {
        format!("{:.1}%", value * 100.0)
    } else {
        "-".to_owned()
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

/// Writes BENCHMARKS.md and `latest.svg` from what `results` holds.
pub(crate) fn write(results: &Path) -> Result<(), String> {
    let load = |name: &str| -> Option<Value> {
        std::fs::read(results.join(name))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    };
    let e2e = load("latest.json");
    let micro = load("micro.json");
    let mut md = String::new();
    md.push_str(
        "# Benchmarks\n\n\
         Generated by the commands named below from their latest run; nothing here is typed \
         by hand. Rerun them to refresh this file (`bench/results/latest.json` and \
         `bench/results/micro.json` hold the raw figures).\n\n",
    );
    if let Some(e2e) = &e2e {
        let svg = chart(e2e);
        std::fs::write(results.join("latest.svg"), svg).map_err(|e| format!("latest.svg: {e}"))?;
        end_to_end(&mut md, e2e, micro.as_ref());
    } else {
        md.push_str("## End to end\n\nNo run yet: `cargo xtask bench --e2e`.\n\n");
    }
    if let Some(micro) = &micro {
        micro_section(&mut md, micro);
    } else {
        md.push_str("## Micro benchmarks\n\nNo run yet: `cargo xtask bench`.\n\n");
    }
    // What profiling found: written by hand, kept beside the bench, quoted as is.
    if let Ok(findings) = std::fs::read_to_string(root().join("bench").join("FINDINGS.md")) {
        md.push_str(&findings);
        if !md.ends_with('\n') {
            md.push('\n');
        }
    }
    let path = root().join("BENCHMARKS.md");
    std::fs::write(&path, md).map_err(|e| format!("{}: {e}", path.display()))
}

fn end_to_end(md: &mut String, e2e: &Value, micro: Option<&Value>) {
    let samples = e2e["samples"].as_array().cloned().unwrap_or_default();
    let connections: Vec<u64> = e2e["connections"]
        .as_array()
        .map(|c| c.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    let machine = &e2e["machine"];
    let text = |v: &Value| v.as_str().unwrap_or("?").to_owned();
    let _ = write!(
        md,
        "## End to end\n\n\
         Command: `{}` ({} s in all), run {}.\n\n\
         Machine: {} ({} cores as seen by the process, {} GiB), {} kernel {}, {}, {}. \
         Load average (1, 5, 15 min) before the run: {}; after: {}. Absolute figures move \
         with the machine's load (above). Each round (one run at one concurrency) opens and \
         closes with the baseline and drives the other routes between, in the order below on \
         odd runs and reversed on even ones (each of ours stays next to its peer); the slow \
         argon2 route comes last. The ratios (vs baseline, vs peer, targets) are medians over \
         the runs of ratios taken within one round: to the mean of the round's two `baseline` \
         samples (the round's average speed), to `baseline-post` and to the peer as driven \
         next to the route; a round in which either route counted errors is left out.\n\n\
         Setup: `auth-bench serve` (bench/) in release, one actix-web worker ({} here), on \
         127.0.0.1; wrk with one thread, each route for {} s per run, {} runs, at {} \
         concurrent connections, after a 1 s warm-up of every route. The API key and \
         in-memory session stores hold {} other entries. Every handler does the same work \
         (a short text answer naming the subject); `baseline` and `baseline-post` are the \
         same handlers with no authentication. Figures: median over the runs, (min-max) \
         beside it.\n\n",
        text(&e2e["command"]),
        e2e["seconds"],
        text(&e2e["date"]),
        text(&machine["cpu"]),
        machine["cores"],
        machine["memory_gib"],
        text(&machine["os"]),
        text(&machine["kernel"]),
        text(&machine["rustc"]),
        text(&machine["wrk"]),
        text(&e2e["load_before"]),
        text(&e2e["load_after"]),
        e2e["workers"],
        e2e["duration"],
        e2e["runs"],
        connections
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        thousands(e2e["fill"].as_f64().unwrap_or(0.0)),
    );
    md.push_str("![requests per second per route](bench/results/latest.svg)\n\n");
    md.push_str("Routes:\n\n");
    for route in e2e["routes"].as_array().into_iter().flatten() {
        let _ = writeln!(
            md,
            "- `{}` ({} `{}`): {}",
            text(&route["name"]),
            text(&route["method"]),
            text(&route["path"]),
            text(&route["description"])
        );
    }
    md.push('\n');

    let names: Vec<&str> = crate::driver::ORDER.to_vec();
    for &c in &connections {
        let _ = write!(
            md,
            "### {c} connections\n\n\
             | route | requests/s | p99 latency (ms) | vs baseline | vs peer | errors |\n\
             |---|---:|---:|---:|---:|---:|\n"
        );
        for name in &names {
            let Some(s) = stats(&samples, name, c) else {
                continue;
            };
            let vs_base = paired_ratio(&samples, name, baseline_of(name), c);
            let peer = PAIRS
                .iter()
                .find(|(ours, _)| ours == name)
                .filter(|(_, peer)| stats(&samples, peer, c).is_some())
                .map(|(_, peer)| paired_ratio(&samples, name, peer, c));
            let _ = writeln!(
                md,
                "| `{name}` | {} ({}-{}) | {:.2} ({:.2}-{:.2}) | {} | {} | {} |",
                thousands(s.rps),
                thousands(s.rps_min),
                thousands(s.rps_max),
                s.p99,
                s.p99_min,
                s.p99_max,
                if name.starts_with("baseline") {
                    "-".to_owned()
                } else {
                    pct(vs_base)
                },
                peer.map_or("-".to_owned(), |p| format!("{p:.2}x")),
                s.errors,
            );
        }
        md.push('\n');
    }

    // Targets, at the concurrency closest to 64.
    let Some(&at) = connections.iter().min_by_key(|c| c.abs_diff(64)) else {
        return;
    };
    let ratio = |route: &str, against: &str| paired_ratio(&samples, route, against, at);
    let _ = write!(
        md,
        "### Targets ({at} connections)\n\n\
         | target | measured | |\n|---|---:|---|\n"
    );
    let mut row = |what: &str, value: f64, shown: String, goal: f64| {
        let _ = writeln!(
            md,
            "| {what} | {shown} | {} |",
            if value.is_finite() {
                verdict(value >= goal)
            } else {
                "not measured"
            }
        );
    };
    for (what, route, goal) in [
        ("API key >= 93% of baseline", "ours-apikey", 0.93),
        (
            "in-memory session >= 93% of baseline",
            "ours-session-memory",
            0.93,
        ),
        ("JWT HS256 >= 88% of baseline", "ours-jwt-hs256", 0.88),
        (
            "Basic with the cache >= 90% of baseline",
            "ours-basic",
            0.90,
        ),
    ] {
        let v = ratio(route, "baseline");
        row(what, v, pct(v), goal);
    }
    let v = ratio("ours-hmac", "baseline-post");
    row(
        "HMAC-signed 1 KiB POST >= 80% of the unprotected POST",
        v,
        pct(v),
        0.80,
    );
    let v = ratio("ours-jwt-hs256", "peer-jwt-hs256");
    row(
        "JWT HS256 >= 1.15x actix-web-httpauth + jsonwebtoken",
        v,
        format!("{v:.2}x"),
        1.15,
    );
    // Basic without the cache against argon2 alone on every core.
    let floor = e2e["argon2"]["per_second"].as_f64().unwrap_or(f64::NAN);
    let slow_at = connections
        .iter()
        .copied()
        .filter(|c| stats(&samples, "ours-basic-nocache", *c).is_some())
        .max();
    if let Some(slow_at) = slow_at
        && let Some(s) = stats(&samples, "ours-basic-nocache", slow_at)
    {
        let v = s.rps / floor;
        row(
            &format!(
                "Basic without the cache >= 95% of argon2id alone on every core \
                 ({:.1}/s, {} threads), p99 bounded ({slow_at} connections)",
                floor, e2e["argon2"]["threads"]
            ),
            v,
            format!("{} ({:.1}/s, p99 {:.0} ms)", pct(v), s.rps, s.p99),
            0.95,
        );
    }
    md.push('\n');
    if micro.is_none() {
        md.push_str("The verify-versus-floor targets are in the micro benchmarks (below).\n\n");
    }

    let memory = &e2e["memory"];
    let _ = write!(
        md,
        "### Memory per stored entry\n\n\
         `auth-bench memory` inserts {} entries into each in-memory store, each kind in a \
         process of its own, and divides the growth of the resident set (`VmRSS`) by the \
         count.\n\n| store | bytes per entry |\n|---|---:|\n",
        thousands(memory["apikey"]["count"].as_f64().unwrap_or(f64::NAN))
    );
    for (kind, what) in [
        (
            "apikey",
            "API key (`MemoryKeyStore`, via `KeyManager::create`)",
        ),
        ("session", "session (`MemoryStore`, a logged-in record)"),
        ("nonce", "HMAC nonce (`MemoryNonceStore`)"),
    ] {
        let _ = writeln!(
            md,
            "| {what} | {:.0} |",
            memory[kind]["bytes_per_entry"].as_f64().unwrap_or(f64::NAN)
        );
    }
    md.push('\n');
}

/// Pairs of criterion benchmarks: ours, its floor, the most ours may cost.
const MICRO_PAIRS: &[(&str, &str, &str, f64)] = &[
    ("JWT HS256", "HS256/verifier", "HS256/floor", 1.5),
    ("JWT ES256", "ES256/verifier", "ES256/floor", 1.1),
    ("JWT EdDSA", "EdDSA/verifier", "EdDSA/floor", 1.1),
    ("JWT RS256", "RS256/verifier", "RS256/floor", 1.1),
    (
        "HMAC, 1 KiB signed POST",
        "verify_post_1kib/verifier_verify_parts",
        "verify_post_1kib/floor_hmac_base_plus_sha256_body",
        1.5,
    ),
    (
        "API key, 1,000,000 keys",
        "verify_1m_keys/valid_key",
        "verify_1m_keys/floor_sha256_hash_lookup",
        1.5,
    ),
    (
        "session, 1,000,000 sessions (signed cookie)",
        "load_1m_sessions/signed",
        "load_1m_sessions/floor_signed",
        f64::NAN,
    ),
    (
        "Basic, verified-credential cache hit",
        "basic/authenticate_cached",
        "basic/floor_cache_hit",
        f64::NAN,
    ),
    (
        "Basic, no cache (argon2id, OWASP)",
        "basic/authenticate_uncached",
        "basic/verify_argon2id_owasp",
        f64::NAN,
    ),
];

fn duration(ns: f64) -> String {
    if !ns.is_finite() {
        "-".to_owned()
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn micro_section(md: &mut String, micro: &Value) {
    let estimates = &micro["estimates"];
    let get = |id: &str| estimates[id].as_f64().unwrap_or(f64::NAN);
    let _ = write!(
        md,
        "## Micro benchmarks\n\n\
         Command: `{}`, run {}; criterion medians from `target/criterion` (collected by \
         `auth-bench micro-collect`), every benchmark run {} time(s) and the lower median \
         kept (on a shared VM a slow spell can fall on a verify path or on its floor, which \
         run seconds apart). Each scheme's verify path beside its floor: the unavoidable \
         work done directly with the same primitives.\n\n\
         | verify path | ours | floor | ratio | target |\n|---|---:|---:|---:|---|\n",
        micro["command"].as_str().unwrap_or("cargo xtask bench"),
        micro["date"].as_str().unwrap_or("?"),
        micro["passes"].as_u64().unwrap_or(1),
    );
    for (what, ours, floor, goal) in MICRO_PAIRS {
        let (a, b) = (get(ours), get(floor));
        let ratio = a / b;
        let target = if goal.is_finite() {
            if ratio.is_finite() {
                format!("<= {goal}x: {}", verdict(ratio <= *goal))
            } else {
                format!("<= {goal}x: not measured")
            }
        } else {
            "-".to_owned()
        };
        let _ = writeln!(
            md,
            "| {what} | {} | {} | {} | {target} |",
            duration(a),
            duration(b),
            if ratio.is_finite() {
                format!("{ratio:.2}x")
            } else {
                "-".to_owned()
            }
        );
    }
    md.push_str(
        "\nScaling, every benchmark measured (median):\n\n| benchmark | median |\n|---|---:|\n",
    );
    if let Some(all) = estimates.as_object() {
        for (id, ns) in all {
            let _ = writeln!(
                md,
                "| `{id}` | {} |",
                duration(ns.as_f64().unwrap_or(f64::NAN))
            );
        }
    }
    md.push('\n');
}

/// `auth-bench micro-collect`: the criterion medians under the target dir into
/// `micro.json`, then the report.
///
/// `passes` is which pass of the micro benchmarks this is: above 1, each median is the
/// lower of this pass's and the one `micro.json` holds from the earlier passes (when that
/// file is pass `passes - 1` of the same command).
pub(crate) fn micro_collect(results: &Path, command: &str, passes: usize) -> Result<(), String> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root().join("target"), PathBuf::from)
        .join("criterion");
    let mut estimates = serde_json::Map::new();
    let mut stack = vec![target.clone()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            if path.file_name().is_some_and(|n| n == "new") {
                let read = |f: &str| -> Option<Value> {
                    serde_json::from_slice(&std::fs::read(path.join(f)).ok()?).ok()
                };
                if let (Some(benchmark), Some(estimate)) =
                    (read("benchmark.json"), read("estimates.json"))
                    && let (Some(id), Some(ns)) = (
                        benchmark["full_id"].as_str(),
                        estimate["median"]["point_estimate"].as_f64(),
                    )
                {
                    estimates.insert(id.to_owned(), json!(ns));
                }
            } else if path.file_name().is_some_and(|n| n != "report") {
                stack.push(path);
            }
        }
    }
    if estimates.is_empty() {
        return Err(format!("no criterion results under {}", target.display()));
    }
    if passes > 1 {
        let earlier: Option<Value> = std::fs::read(results.join("micro.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        // Only the previous pass of the same command: not a file from another run.
        let previous_pass = earlier.as_ref().filter(|m| {
            m["command"].as_str() == Some(command)
                && m["passes"].as_u64() == Some(passes as u64 - 1)
        });
        if let Some(earlier) = previous_pass.and_then(|m| m["estimates"].as_object()) {
            for (id, ns) in &mut estimates {
                if let (Some(old), Some(new)) =
                    (earlier.get(id).and_then(Value::as_f64), ns.as_f64())
                    && old < new
                {
                    *ns = json!(old);
                }
            }
        }
    }
    let date = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let micro = json!({
        "date": date,
        "command": command,
        "passes": passes,
        "machine": crate::driver::machine(),
        "estimates": estimates,
    });
    std::fs::create_dir_all(results).map_err(|e| e.to_string())?;
    std::fs::write(
        results.join("micro.json"),
        serde_json::to_vec_pretty(&micro).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    write(results)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A horizontal bar chart, one panel per concurrency: median requests/s per route, the
/// min-max spread as a whisker; baseline grey, ours blue, peers orange.
fn chart(e2e: &Value) -> String {
    let samples = e2e["samples"].as_array().cloned().unwrap_or_default();
    let connections: Vec<u64> = e2e["connections"]
        .as_array()
        .map(|c| c.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    let (label_w, bar_w, row_h, top) = (190.0, 560.0, 18.0, 62.0);
    let width = label_w + bar_w + 110.0;
    let mut body = String::new();
    let mut y = top;
    for &c in &connections {
        let rows: Vec<(&str, Stats)> = crate::driver::ORDER
            .iter()
            .filter_map(|name| stats(&samples, name, c).map(|s| (*name, s)))
            .collect();
        if rows.is_empty() {
            continue;
        }
        let max = rows.iter().map(|(_, s)| s.rps_max).fold(1.0, f64::max);
        let _ = writeln!(
            body,
            r#"<text x="10" y="{:.0}" font-weight="bold">{c} connections</text>"#,
            y + 4.0
        );
        y += 14.0;
        for (name, s) in rows {
            let color = if name.starts_with("baseline") {
                "#8a8a8a"
            } else if name.starts_with("ours") {
                "#2b6cb0"
            } else {
                "#dd6b20"
            };
            let w = s.rps / max * bar_w;
            let (lo, hi) = (s.rps_min / max * bar_w, s.rps_max / max * bar_w);
            let _ = write!(
                body,
                r#"<text x="{:.0}" y="{:.0}" text-anchor="end">{}</text>"#,
                label_w - 6.0,
                y + 12.0,
                escape(name)
            );
            let _ = write!(
                body,
                r#"<rect x="{label_w:.0}" y="{:.0}" width="{w:.1}" height="{:.0}" fill="{color}"/>"#,
                y + 2.0,
                row_h - 5.0
            );
            let _ = write!(
                body,
                r#"<line x1="{:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="black"/>"#,
                label_w + lo,
                label_w + hi,
                y + row_h / 2.0,
                y + row_h / 2.0
            );
            let _ = writeln!(
                body,
                r#"<text x="{:.0}" y="{:.0}">{}</text>"#,
                label_w + hi.max(w) + 6.0,
                y + 12.0,
                thousands(s.rps)
            );
            y += row_h;
        }
        y += 16.0;
    }
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{:.0}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="20" font-size="14" font-weight="bold">Requests/s per route (median of {} runs, whisker: min-max), {} - {}</text>
<rect x="{:.0}" y="28" width="10" height="10" fill="#8a8a8a"/><text x="{:.0}" y="37">baseline</text>
<rect x="{:.0}" y="28" width="10" height="10" fill="#2b6cb0"/><text x="{:.0}" y="37">ours (auth-actix)</text>
<rect x="{:.0}" y="28" width="10" height="10" fill="#dd6b20"/><text x="{:.0}" y="37">peer (actix-web-httpauth, actix-session)</text>
{body}</svg>
"##,
        y + 10.0,
        e2e["runs"],
        escape(e2e["date"].as_str().unwrap_or("")),
        escape(e2e["machine"]["cpu"].as_str().unwrap_or("")),
        10.0,
        24.0,
        100.0,
        114.0,
        240.0,
        254.0,
    )
}
