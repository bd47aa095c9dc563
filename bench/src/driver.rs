//! `auth-bench e2e`: starts the server, drives every route with wrk, and writes the results
//! (`cargo xtask bench --e2e` builds this binary in release and runs it).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::body_1kib;

/// The options of `e2e`.
#[derive(Debug)]
pub(crate) struct E2eConfig {
    pub(crate) duration: u64,
    pub(crate) runs: usize,
    pub(crate) connections: Vec<usize>,
    pub(crate) workers: usize,
    pub(crate) fill: usize,
    pub(crate) memory_count: usize,
    pub(crate) routes: Option<Vec<String>>,
    pub(crate) results: PathBuf,
    pub(crate) command: String,
    pub(crate) redis: String,
}

/// The routes in the order they are driven: each of ours right before its peer, so a pair
/// sees the same machine load.
pub(crate) const ORDER: &[&str] = &[
    "baseline",
    "ours-apikey",
    "ours-jwt-hs256",
    "peer-jwt-hs256",
    "ours-jwt-es256",
    "ours-basic",
    "peer-basic",
    "ours-session-memory",
    "peer-session-cookie",
    "ours-session-redis",
    "peer-session-redis",
    "baseline-post",
    "ours-hmac",
    "ours-basic-nocache",
];

/// The routes of one round (one run at one concurrency), in the order they are driven:
/// the baseline opens and closes the round (ratios to it are taken against the mean of
/// the two, the round's average speed); the routes between run in `ORDER` on odd runs and
/// in reverse on even ones, so a drift of the machine's speed within rounds favours no
/// position over the runs (our routes stay next to their peers either way); the slow
/// routes come last, after the closing baseline, so the work they leave queued does not
/// slow it.
fn round<'a>(order: &[&'a str], run: usize) -> Vec<&'a str> {
    let has_baseline = order.contains(&"baseline");
    let (slow, mut middle): (Vec<&str>, Vec<&str>) = order
        .iter()
        .copied()
        .filter(|name| *name != "baseline")
        .partition(|name| SLOW.contains(name));
    if run.is_multiple_of(2) {
        middle.reverse();
    }
    let mut round = Vec::with_capacity(order.len() + 1);
    if has_baseline {
        round.push("baseline");
    }
    round.extend(middle);
    if has_baseline {
        round.push("baseline");
    }
    round.extend(slow);
    round
}

/// Routes driven only at low concurrency: argon2id on every request queues hundreds of
/// connections for seconds.
const SLOW: &[&str] = &["ours-basic-nocache"];
const SLOW_MAX_CONNECTIONS: usize = 64;

/// Kills the server when dropped, whatever happened.
struct ServerGuard(Child);

impl Drop for ServerGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// Facts about the machine the run happens on.
pub(crate) fn machine() -> Value {
    let cpuinfo = read(Path::new("/proc/cpuinfo")).unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned());
    let mem_kb = read(Path::new("/proc/meminfo"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
    let output = |program: &str, args: &[&str]| {
        Command::new(program).args(args).output().ok().map(|o| {
            let mut text = String::from_utf8_lossy(&o.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&o.stderr));
            text.lines().next().unwrap_or_default().trim().to_owned()
        })
    };
    json!({
        "cpu": model,
        "cores": std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        "memory_gib": mem_kb.map(|kb| (kb as f64 / 1024.0 / 1024.0 * 10.0).round() / 10.0),
        "kernel": read(Path::new("/proc/sys/kernel/osrelease")).map(|s| s.trim().to_owned()),
        "os": read(Path::new("/etc/os-release")).and_then(|s| s.lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME=")).map(|v| v.trim_matches('"').to_owned())),
        "rustc": output("rustc", &["-V"]),
        "wrk": output("wrk", &["-v"]),
    })
}

fn loadavg() -> String {
    read(Path::new("/proc/loadavg"))
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Runs `command` to completion within `limit`, killing it past that; its stdout.
fn run_bounded(command: &mut Command, limit: Duration) -> Result<String, String> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{command:?}: {e}"))?;
    let stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut out) = stdout {
            let _ = std::io::Read::read_to_string(&mut out, &mut text);
        }
        text
    });
    let stderr = child.stderr.take();
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut err) = stderr {
            let _ = std::io::Read::read_to_string(&mut err, &mut text);
        }
        text
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{command:?} ran past {limit:?}; killed"));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    if !status.success() {
        return Err(format!("{command:?} failed ({status}): {err}"));
    }
    Ok(text)
}

/// One wrk run.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Sample {
    pub(crate) route: String,
    pub(crate) connections: usize,
    pub(crate) run: usize,
    pub(crate) requests_per_s: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
    pub(crate) requests: u64,
    /// Socket errors, timeouts and non-2xx/3xx answers.
    pub(crate) errors: u64,
}

struct Driver {
    port: u64,
    routes: Vec<Value>,
    scripts: PathBuf,
    body: PathBuf,
    signed: PathBuf,
    /// The server's credentials (for `sign`).
    credentials: PathBuf,
    /// The last baseline POST rate, to size the next batch of signatures.
    post_rate: f64,
}

impl Driver {
    fn route(&self, name: &str) -> Option<&Value> {
        self.routes.iter().find(|r| r["name"] == name)
    }

    /// Writes `count` fresh signed requests for the HMAC route.
    fn sign(&self, count: usize) -> Result<(), String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        run_bounded(
            Command::new(exe)
                .arg("sign")
                .arg("--credentials")
                .arg(&self.credentials)
                .arg("--count")
                .arg(count.to_string())
                .arg("--out")
                .arg(&self.signed),
            Duration::from_secs(300),
        )
        .map(drop)
    }

    fn wrk(&self, name: &str, connections: usize, seconds: u64) -> Result<Sample, String> {
        let route = self.route(name).ok_or_else(|| format!("no route {name}"))?;
        let path = route["path"].as_str().unwrap_or("/");
        let mut command = Command::new("wrk");
        command
            .args(["-t1", &format!("-c{connections}"), &format!("-d{seconds}s")])
            .args(["--timeout", "10s"]);
        if let Some(headers) = route["headers"].as_object() {
            for (header, value) in headers {
                command
                    .arg("-H")
                    .arg(format!("{header}: {}", value.as_str().unwrap_or_default()));
            }
        }
        let url = format!("http://127.0.0.1:{}{path}", self.port);
        match route["script"].as_str() {
            Some("post" | "hmac") => {
                command
                    .arg("-s")
                    .arg(self.scripts.join("signed.lua"))
                    .arg(url)
                    .arg("--")
                    .arg(&self.signed)
                    .arg(&self.body);
            }
            _ => {
                command
                    .arg("-s")
                    .arg(self.scripts.join("report.lua"))
                    .arg(url);
            }
        }
        let output = run_bounded(&mut command, Duration::from_secs(seconds + 30))?;
        let line = output
            .lines()
            .find_map(|l| l.strip_prefix("AUTHBENCH "))
            .ok_or_else(|| format!("wrk printed no result for {name}:\n{output}"))?;
        let stats: Value = serde_json::from_str(line).map_err(|e| format!("{e}: {line}"))?;
        let number = |key: &str| stats[key].as_u64().unwrap_or(0);
        let duration = number("duration_us").max(1) as f64 / 1e6;
        let errors = ["connect", "read", "write", "status", "timeout"]
            .iter()
            .map(|k| number(k))
            .sum();
        Ok(Sample {
            route: name.to_owned(),
            connections,
            run: 0,
            requests_per_s: number("requests") as f64 / duration,
            p50_ms: number("p50_us") as f64 / 1000.0,
            p99_ms: number("p99_us") as f64 / 1000.0,
            max_ms: number("max_us") as f64 / 1000.0,
            requests: number("requests"),
            errors,
        })
    }

    /// One measurement; the HMAC route gets enough fresh signatures first.
    fn measure(&mut self, name: &str, connections: usize, seconds: u64) -> Result<Sample, String> {
        if name == "ours-hmac" {
            // No faster than the fastest POST of the same bytes measured so far (the order
            // of the routes alternates between runs, so this one may come first); a margin
            // on top. Too few and the route would replay nonces and count refusals.
            let rate = self.post_rate.max(50_000.0);
            let count = (rate * 1.5 * seconds as f64) as usize + 20_000;
            self.sign(count)?;
        } else if name == "baseline-post" && !self.signed.exists() {
            self.sign(10_000)?;
        }
        let sample = self.wrk(name, connections, seconds)?;
        if name == "baseline-post" || name == "ours-hmac" {
            self.post_rate = self.post_rate.max(sample.requests_per_s);
        }
        Ok(sample)
    }
}

fn start_server(config: &E2eConfig, credentials: &Path) -> Result<(ServerGuard, Value), String> {
    let _ = std::fs::remove_file(credentials);
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let child = Command::new(exe)
        .args(["serve", "--workers", &config.workers.to_string()])
        .args(["--fill", &config.fill.to_string()])
        .args(["--redis", &config.redis])
        .arg("--credentials")
        .arg(credentials)
        .arg("--exit-with-stdin")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting the server: {e}"))?;
    let mut guard = ServerGuard(child);
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if let Some(status) = guard.0.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("the server exited at start ({status})"));
        }
        if let Some(text) = read(credentials)
            && let Ok(value) = serde_json::from_str::<Value>(&text)
        {
            return Ok((guard, value));
        }
        if Instant::now() > deadline {
            return Err("the server did not start within 180 s".to_owned());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `auth-bench e2e`.
pub(crate) fn e2e(config: &E2eConfig) -> Result<(), String> {
    if Command::new("wrk").arg("-v").output().is_err() {
        return Err(
            "wrk is not installed: on Debian or Ubuntu, `sudo apt-get install wrk` \
                    (https://github.com/wg/wrk elsewhere)"
                .to_owned(),
        );
    }
    let started = Instant::now();
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let load_before = loadavg();
    std::fs::create_dir_all(&config.results)
        .map_err(|e| format!("{}: {e}", config.results.display()))?;
    let work = config.results.join("tmp");
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let credentials = work.join("credentials.json");
    let body = work.join("body.json");
    std::fs::write(&body, body_1kib()).map_err(|e| e.to_string())?;
    let scripts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("wrk");

    eprintln!("auth-bench: starting the server (filling the stores)...");
    let (guard, server) = start_server(config, &credentials)?;
    let mut driver = Driver {
        port: server["port"].as_u64().ok_or("no port")?,
        routes: server["routes"].as_array().cloned().unwrap_or_default(),
        scripts,
        body,
        signed: work.join("signed.tsv"),
        credentials: credentials.clone(),
        post_rate: 0.0,
    };
    let order: Vec<&str> = ORDER
        .iter()
        .copied()
        .filter(|name| {
            driver.route(name).is_some()
                && config
                    .routes
                    .as_ref()
                    .is_none_or(|wanted| wanted.iter().any(|w| w == name))
        })
        .collect();

    // Warm-up: every route briefly at moderate concurrency.
    eprintln!("auth-bench: warming up {} routes", order.len());
    for name in &order {
        driver.measure(name, 16, 1)?;
    }

    let mut samples = Vec::new();
    let total = config.runs;
    for run in 1..=total {
        for &connections in &config.connections {
            for name in round(&order, run) {
                if SLOW.contains(&name) && connections > SLOW_MAX_CONNECTIONS {
                    continue;
                }
                let mut sample = driver.measure(name, connections, config.duration)?;
                sample.run = run;
                eprintln!(
                    "run {run}/{total} c={connections:<4} {name:<22} {:>9.0} req/s  p99 {:>8.2} ms{}",
                    sample.requests_per_s,
                    sample.p99_ms,
                    if sample.errors > 0 {
                        format!("  {} errors", sample.errors)
                    } else {
                        String::new()
                    }
                );
                samples.push(sample);
            }
        }
    }
    let load_after = loadavg();
    drop(guard);
    let _ = std::fs::remove_file(&driver.signed);

    eprintln!(
        "auth-bench: memory per stored entry ({} each)",
        config.memory_count
    );
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let memory: Value = serde_json::from_str(&run_bounded(
        Command::new(&exe).args(["memory", "--count", &config.memory_count.to_string()]),
        Duration::from_secs(600),
    )?)
    .map_err(|e| e.to_string())?;
    eprintln!("auth-bench: argon2id alone on every core");
    let argon2: Value = serde_json::from_str(&run_bounded(
        Command::new(&exe).args(["argon2", "--seconds", "5"]),
        Duration::from_secs(120),
    )?)
    .map_err(|e| e.to_string())?;

    let results = json!({
        "date": date,
        "command": config.command,
        "machine": machine(),
        "load_before": load_before,
        "load_after": load_after,
        "seconds": started.elapsed().as_secs(),
        "duration": config.duration,
        "runs": config.runs,
        "connections": config.connections,
        "workers": config.workers,
        "fill": config.fill,
        "routes": driver.routes.iter().map(|r| json!({
            "name": r["name"], "method": r["method"], "path": r["path"],
            "description": r["description"],
        })).collect::<Vec<_>>(),
        "samples": samples,
        "memory": memory,
        "argon2": argon2,
    });
    let latest = config.results.join("latest.json");
    std::fs::write(
        &latest,
        serde_json::to_vec_pretty(&results).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("{}: {e}", latest.display()))?;
    crate::report::write(&config.results)?;
    eprintln!(
        "auth-bench: done in {} s; {} and BENCHMARKS.md written",
        started.elapsed().as_secs(),
        latest.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_bracket_with_the_baseline_alternate_and_end_with_the_slow_routes() {
        let order = [
            "baseline",
            "ours-apikey",
            "ours-jwt-hs256",
            "peer-jwt-hs256",
            "ours-basic-nocache",
        ];
        assert_eq!(
            round(&order, 1),
            [
                "baseline",
                "ours-apikey",
                "ours-jwt-hs256",
                "peer-jwt-hs256",
                "baseline",
                "ours-basic-nocache"
            ]
        );
        assert_eq!(
            round(&order, 2),
            [
                "baseline",
                "peer-jwt-hs256",
                "ours-jwt-hs256",
                "ours-apikey",
                "baseline",
                "ours-basic-nocache"
            ]
        );
        // Without the baseline (a `--routes` subset), nothing is added.
        assert_eq!(
            round(&["ours-hmac", "baseline-post"], 1),
            ["ours-hmac", "baseline-post"]
        );
    }
}
