//! `cargo xtask interop`: our crates and the demo against real clients and servers.
//!
//! 1. `npm ci` in tests/interop when its node_modules is missing or older than the lockfile
//!    (axios, axios-cookiejar-support, tough-cookie, jsonwebtoken, oidc-provider,
//!    openid-client, pinned in package-lock.json).
//! 2. Builds the demo and starts it with `--tls` on a free port of 127.0.0.1, its credentials
//!    file and certificate in a temporary directory.
//! 3. Runs the article's snippets (tests/interop/snippets/run.mjs) and openid-client's flows
//!    (tests/interop/openid-client/flows.mjs) against it, trusting its certificate through
//!    `NODE_EXTRA_CA_CERTS`.
//! 4. Runs the Rust interop tests (`interop::`: node jsonwebtoken and oidc-provider against
//!    auth-jwt and auth-oauth2) with `AUTH_TEST_REQUIRE_INTEROP=1`, so none is skipped.
//!
//! Every step has a time limit; the Node programs print one line per check, and a failure
//! names the peer, the step and the response. See docs/interop.md.

use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::util::{Steps, cargo, root};

/// `npm ci`: a cold install downloads about 15 MB.
const NPM_TIMEOUT: Duration = Duration::from_secs(300);
/// Building the demo (shared with the workspace build of `cargo xtask ci`).
const BUILD_TIMEOUT: Duration = Duration::from_secs(1800);
/// The demo's start: listening, credentials written.
const DEMO_START_TIMEOUT: Duration = Duration::from_secs(60);
/// One Node program (all its checks).
const NODE_TIMEOUT: Duration = Duration::from_secs(180);
/// The Rust interop tests, their compilation included.
const TESTS_TIMEOUT: Duration = Duration::from_secs(2400);

fn interop_dir() -> PathBuf {
    root().join("tests/interop")
}

/// Runs `command` (echoed first), killing it after `limit`.
fn run_bounded(command: &mut Command, what: &str, limit: Duration) -> Result<(), String> {
    let shown = format!(
        "{} {}",
        command.get_program().to_string_lossy(),
        command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("\n$ {shown}");
    let mut child = command
        .spawn()
        .map_err(|e| format!("{what}: could not start `{shown}`: {e}"))?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("{what} failed ({status})")),
            Ok(None) if started.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{what} ran over {}s and was stopped",
                    limit.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(format!("{what}: {e}")),
        }
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// `npm ci` when node_modules is missing or older than package-lock.json.
fn npm_ci() -> Result<(), String> {
    let dir = interop_dir();
    // npm writes node_modules/.package-lock.json on every install.
    let installed = modified(&dir.join("node_modules/.package-lock.json"));
    let locked = modified(&dir.join("package-lock.json"))
        .ok_or("tests/interop/package-lock.json is missing")?;
    if installed.is_some_and(|installed| installed >= locked) {
        println!("\ntests/interop/node_modules is up to date with package-lock.json");
        return Ok(());
    }
    run_bounded(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir),
        "npm ci in tests/interop",
        NPM_TIMEOUT,
    )
}

fn node_version() -> Result<(), String> {
    let output = Command::new("node")
        .arg("--version")
        .output()
        .map_err(|e| format!("node is needed (Node.js 20 or newer): {e}"))?;
    println!("\nnode {}", String::from_utf8_lossy(&output.stdout).trim());
    Ok(())
}

/// The demo, killed when dropped.
struct Demo {
    child: Child,
    dir: PathBuf,
    credentials: PathBuf,
    cert: PathBuf,
    log: PathBuf,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

impl Demo {
    /// The last lines the demo wrote (for a failure message).
    fn log_tail(&self) -> String {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

fn free_port() -> Result<u16, String> {
    // The demo names its issuer after the address it was given, so it gets a real port
    // (with port 0 the issuer would say `:0`, which openid-client rightly refuses).
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

fn start_demo() -> Result<Demo, String> {
    let binary = target_dir().join("debug/demo");
    let dir = std::env::temp_dir().join(format!("auth-rs-interop-{}", std::process::id()));
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let credentials = dir.join("credentials.json");
    let log = dir.join("demo.log");
    let port = free_port()?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let out = fs::File::create(&log).map_err(|e| e.to_string())?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    println!(
        "\n$ {} --listen {addr} --tls --credentials {}",
        binary.display(),
        credentials.display()
    );
    let child = Command::new(&binary)
        .args(["--listen", &addr.to_string(), "--tls", "--credentials"])
        .arg(&credentials)
        // Its default database and state file are relative paths: keep them in `dir`.
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", binary.display()))?;
    let mut demo = Demo {
        child,
        cert: dir.join("demo-cert.pem"),
        dir,
        credentials,
        log,
    };
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = demo.child.try_wait() {
            return Err(format!("the demo exited ({status}):\n{}", demo.log_tail()));
        }
        let listening = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok();
        if listening && demo.credentials.exists() && demo.cert.exists() {
            println!("demo listening on https://{addr}");
            return Ok(demo);
        }
        if started.elapsed() > DEMO_START_TIMEOUT {
            return Err(format!(
                "the demo did not start within {}s:\n{}",
                DEMO_START_TIMEOUT.as_secs(),
                demo.log_tail()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `node <script>` in tests/interop against the demo.
fn node_against(demo: &Demo, script: &str, peer: &str) -> Result<(), String> {
    run_bounded(
        Command::new("node")
            .arg(script)
            .current_dir(interop_dir())
            .env("DEMO_CREDENTIALS", &demo.credentials)
            .env("NODE_EXTRA_CA_CERTS", &demo.cert),
        peer,
        NODE_TIMEOUT,
    )
    .map_err(|e| format!("{e} (the demo's log: {})", demo.log.display()))
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if let Some(arg) = args.first() {
        return Err(format!(
            "`cargo xtask interop` takes no arguments (got `{arg}`)"
        ));
    }
    let mut steps = Steps::default();
    let result = steps_run(&mut steps);
    steps.print("cargo xtask interop");
    result
}

/// The interop steps, recorded in `steps` (also used by `cargo xtask ci`).
pub(crate) fn steps_run(steps: &mut Steps) -> Result<(), String> {
    steps.step("interop: node", node_version)?;
    steps.step("interop: npm ci", npm_ci)?;
    steps.step("interop: build the demo", || {
        run_bounded(
            cargo().args([
                "build",
                "--workspace",
                "--all-features",
                "--locked",
                "--bins",
            ]),
            "building the demo",
            BUILD_TIMEOUT,
        )
    })?;
    {
        let mut demo = None;
        steps.step("interop: start the demo", || {
            demo = Some(start_demo()?);
            Ok(())
        })?;
        let demo = demo.ok_or("the demo did not start")?;
        steps.step("interop: article snippets", || {
            node_against(&demo, "snippets/run.mjs", "the article's snippets (axios)")
        })?;
        steps.step("interop: openid-client", || {
            node_against(&demo, "openid-client/flows.mjs", "openid-client")
        })?;
    }
    steps.step("interop: Rust tests", || {
        run_bounded(
            cargo().env("AUTH_TEST_REQUIRE_INTEROP", "1").args([
                "test",
                "--workspace",
                "--all-features",
                "--locked",
                "--test",
                "it",
                "--",
                "interop::",
            ]),
            "the Rust interop tests (jsonwebtoken, oidc-provider)",
            TESTS_TIMEOUT,
        )
    })
}
