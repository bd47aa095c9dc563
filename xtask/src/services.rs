//! The services behind the service-backed test suites, and whether they answer.
//!
//! The suites themselves decide at run time (see `auth_tests::services`); this module lets
//! `cargo xtask test` and `cargo xtask ci` say up front what will run and what will not.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// A service and the suites that need it.
pub(crate) struct Service {
    pub(crate) name: &'static str,
    pub(crate) env: &'static str,
    pub(crate) default_url: &'static str,
    /// The suites (test modules) that need it.
    pub(crate) suites: &'static [&'static str],
}

/// Every service the tests may use (keep in step with `tests/src/services.rs`).
pub(crate) const SERVICES: [Service; 2] = [
    Service {
        name: "redis",
        env: "AUTH_TEST_REDIS_URL",
        default_url: "redis://127.0.0.1:6379",
        suites: &[
            "redis_stores::{throttle, revocation, nonce, session, timeouts}",
            "scale_out",
            "authctl session",
        ],
    },
    Service {
        name: "postgres",
        env: "AUTH_TEST_POSTGRES_URL",
        default_url: "postgres://postgres@127.0.0.1:5432/test",
        suites: &[
            "sql_stores::postgres",
            "oauth_sql_stores::postgres",
            "scale_out",
            "authctl apikey/user/oauth (postgres)",
        ],
    },
];

impl Service {
    pub(crate) fn url(&self) -> String {
        std::env::var(self.env).unwrap_or_else(|_| self.default_url.to_owned())
    }

    /// `Ok(url)` when the service accepts a TCP connection within 2 seconds.
    pub(crate) fn probe(&self) -> Result<String, String> {
        let url = self.url();
        let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
        let addrs = host_port
            .to_socket_addrs()
            .map_err(|e| format!("{url}: {e}"))?;
        let mut last = "no address".to_owned();
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
                Ok(_) => return Ok(url),
                Err(e) => last = e.to_string(),
            }
        }
        Err(format!("{url} is not reachable: {last}"))
    }
}

/// Why the browser test cannot run here (Chromium, node, playwright-core), if it cannot.
fn browser_missing() -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !std::path::Path::new(&chromium).exists() {
        return Some(format!(
            "no Chromium at {chromium} (apt-get install chromium)"
        ));
    }
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        return Some("no node on PATH".into());
    }
    let modules = crate::util::root().join("tests/browser/node_modules/playwright-core");
    if !modules.exists() {
        return Some("playwright-core not installed (cd tests/browser && npm ci)".into());
    }
    None
}

/// Prints what each service's suites will do; returns the unreachable services' reasons.
pub(crate) fn report() -> Vec<String> {
    println!("== service-backed suites");
    let mut down = Vec::new();
    match browser_missing() {
        None => println!(
            "  {:<9} chromium and playwright-core present; will run: browser",
            "browser"
        ),
        Some(why) => {
            println!("  {:<9} {why}; will SKIP: browser", "browser");
            down.push(format!("browser: {why}"));
        }
    }
    for service in &SERVICES {
        let suites = if service.suites.is_empty() {
            "no suites yet".to_owned()
        } else {
            service.suites.join(", ")
        };
        match service.probe() {
            Ok(url) => println!("  {:<9} {url}: reachable; will run: {suites}", service.name),
            Err(why) => {
                println!(
                    "  {:<9} {why}; will SKIP: {suites} (set {} to point elsewhere)",
                    service.name, service.env
                );
                down.push(format!("{}: {why}", service.name));
            }
        }
    }
    down
}
