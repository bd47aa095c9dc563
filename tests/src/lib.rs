//! Support for the cross-crate tests: a [`TestApp`] that runs a real actix-web server on
//! `127.0.0.1:0`, a capture of every log line ([`LogCapture`]), the [leak watch](leaks)
//! that fails a test whose credentials reach a log or an error response, test authenticators
//! ([`fixtures`]) and the service-backed suites' set-up ([`services`]).

#![forbid(unsafe_code)]

pub mod fixtures;
pub mod leaks;
pub mod logs;
pub mod oauth_harness;
pub mod oauth_store_support;
pub mod redis_support;
pub mod services;
pub mod sql_support;

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, Error, HttpServer};

pub use logs::LogCapture;

/// How long any request a test sends may take before the test fails (no test hangs).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A real actix-web server on `127.0.0.1:<free port>` and an HTTP client for it.
///
/// Start it from an actix runtime (`#[actix_web::test]`); it stops when dropped.
pub struct TestApp {
    /// The address the server listens on.
    pub addr: SocketAddr,
    /// A client with a request timeout of [`REQUEST_TIMEOUT`].
    pub client: reqwest::Client,
    handle: ServerHandle,
    mark: leaks::Mark,
}

impl TestApp {
    /// Starts a server running the app that `factory` builds (one worker).
    ///
    /// # Panics
    ///
    /// When the server cannot bind `127.0.0.1:0` (the test cannot run).
    pub fn spawn<F, T, B>(factory: F) -> TestApp
    where
        F: Fn() -> App<T> + Send + Clone + 'static,
        B: MessageBody + 'static,
        T: ServiceFactory<
                ServiceRequest,
                Config = (),
                Response = ServiceResponse<B>,
                Error = Error,
                InitError = (),
            > + 'static,
    {
        LogCapture::install();
        let mark = leaks::mark();
        let server = HttpServer::new(move || factory().wrap(leaks::Watch))
            .workers(1)
            .disable_signals()
            .shutdown_timeout(1)
            .bind(("127.0.0.1", 0))
            .expect("bind 127.0.0.1:0");
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        TestApp {
            addr,
            client: client(),
            handle,
            mark,
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A GET request to `path`.
    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path))
    }

    /// A POST request to `path`.
    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(self.url(path))
    }
}

impl Drop for TestApp {
    /// Stops the server, then runs the [leak check](leaks) over what it logged and answered:
    /// a credential in a log line or an error response fails the test.
    fn drop(&mut self) {
        let handle = self.handle.clone();
        actix_web::rt::spawn(async move { handle.stop(false).await });
        if !std::thread::panicking() {
            let leaks = leaks::check_since(self.mark);
            assert!(leaks.is_empty(), "{}", leaks::report(&leaks));
        }
    }
}

impl fmt::Debug for TestApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestApp").field("addr", &self.addr).finish()
    }
}

/// An HTTP client with the tests' timeout and no proxy (tests talk to 127.0.0.1 only).
#[must_use]
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .no_proxy()
        .build()
        .expect("build the HTTP client")
}
