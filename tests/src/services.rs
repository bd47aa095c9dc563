//! The service-backed suites: where their services are, and whether they must run.
//!
//! A suite calls [`REDIS`]`.for_suite(..)` or [`POSTGRES`]`.for_suite(..)`. When the service answers, the suite
//! runs. When it does not:
//! - under `cargo xtask ci` (`AUTH_REQUIRE_SERVICES=1`), the suite fails: CI must test the
//!   real backends;
//! - otherwise (`cargo xtask test` on a machine with only Rust) the suite prints why it was
//!   skipped and returns; `cargo xtask test` also lists the skipped suites at the end.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// The environment variable that makes unreachable services a failure.
pub const REQUIRE_ENV: &str = "AUTH_REQUIRE_SERVICES";

/// Redis: `AUTH_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`.
pub const REDIS: Service = Service {
    name: "redis",
    env: "AUTH_TEST_REDIS_URL",
    default_url: "redis://127.0.0.1:6379",
};

/// PostgreSQL: `AUTH_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`.
pub const POSTGRES: Service = Service {
    name: "postgres",
    env: "AUTH_TEST_POSTGRES_URL",
    default_url: "postgres://postgres@127.0.0.1:5432/test",
};

/// A backing service of the service-backed suites.
#[derive(Debug, Clone, Copy)]
pub struct Service {
    /// Its name in messages.
    pub name: &'static str,
    /// The environment variable holding its URL.
    pub env: &'static str,
    /// The URL used when the variable is unset.
    pub default_url: &'static str,
}

impl Service {
    /// The configured URL.
    #[must_use]
    pub fn url(&self) -> String {
        std::env::var(self.env).unwrap_or_else(|_| self.default_url.to_owned())
    }

    /// The URL when the service accepts a TCP connection within 2 seconds, else why not.
    ///
    /// # Errors
    ///
    /// A sentence saying why the service is unusable.
    pub fn probe(&self) -> Result<String, String> {
        let url = self.url();
        let addr = host_port(&url).ok_or_else(|| format!("{}: cannot parse {url}", self.env))?;
        let addrs: Vec<SocketAddr> = addr
            .to_socket_addrs()
            .map_err(|e| format!("{} at {url}: {e}", self.name))?
            .collect();
        let mut last = String::from("no address");
        for socket in addrs {
            match TcpStream::connect_timeout(&socket, Duration::from_secs(2)) {
                Ok(_) => return Ok(url),
                Err(e) => last = e.to_string(),
            }
        }
        Err(format!("{} at {url} is not reachable: {last}", self.name))
    }

    /// The URL for a suite named `suite`, or `None` after printing why it is skipped.
    ///
    /// # Panics
    ///
    /// When the service is unreachable and [`REQUIRE_ENV`] is `1` (CI).
    #[must_use]
    pub fn for_suite(&self, suite: &str) -> Option<String> {
        match self.probe() {
            Ok(url) => Some(url),
            Err(why) if required() => {
                panic!("{suite}: {why}, and {REQUIRE_ENV}=1 requires it")
            }
            Err(why) => {
                eprintln!(
                    "SKIPPED {suite}: {why} (set {} to point elsewhere)",
                    self.env
                );
                None
            }
        }
    }
}

/// Whether unreachable services fail the run.
#[must_use]
pub fn required() -> bool {
    std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1")
}

/// `host:port` from a URL such as `redis://user:pw@host:6379/0`.
fn host_port(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    if host_port.is_empty() {
        return None;
    }
    Some(host_port.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_from_urls() {
        assert_eq!(
            host_port("redis://127.0.0.1:6379").as_deref(),
            Some("127.0.0.1:6379")
        );
        assert_eq!(
            host_port("postgres://u:p@db:5432/test?sslmode=disable").as_deref(),
            Some("db:5432")
        );
        assert_eq!(host_port("redis://"), None);
    }
}
