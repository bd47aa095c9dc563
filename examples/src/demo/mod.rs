//! The demo server: every scheme of the toolkit on one actix-web server.
//!
//! `cargo xtask demo` runs it (`cargo xtask demo -- --help` lists the flags). On start it
//! prints what it serves and a ready-to-paste `curl` for each route; with
//! `--credentials FILE` it writes every credential it generated to a JSON file (mode 0600)
//! so scripts and tests can drive it. The format is documented in the README.
//!
//! Plain HTTP is allowed only from loopback clients (the demo is a local tool); with
//! `--tls` it serves HTTPS with a self-signed certificate generated at start and written
//! beside the credentials file.
//!
//! # State, and running many instances
//!
//! - Users, API keys (hashes) and the OAuth token service's clients, tokens, codes and
//!   consents live in the database ([`DemoConfig::database`]): a SQLite file by default
//!   (created, with its migrations run, on start), or PostgreSQL.
//! - Sessions, HMAC nonces, JWT revocations and failed-attempt throttles live in Redis
//!   ([`DemoConfig::redis`]), or in this process's memory without it (the banner says so).
//! - The secrets the instances of one deployment must share (cookie keys, signing keys,
//!   HMAC secrets, the demo user's password and API key) live in the state file
//!   ([`DemoConfig::state`]): created (mode 0600) by the first instance, loaded by the
//!   others. The demo user and key are seeded into the database on every start,
//!   idempotently.
//!
//! Instances started from the same state file, database and Redis are interchangeable
//! behind a load balancer: see `docs/scaling-out.md`.

mod apikey;
mod basic;
mod hmac;
mod jwt;
mod oauth2;
mod session;
mod state;
mod stores;

pub use stores::url_has_password;

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, HttpResponse, HttpServer, web};
use auth_actix::RequireHttps;
use serde_json::{Value, json};

/// The default database: a SQLite file in `auth-rs-demo/` under the working directory.
pub const DEFAULT_DATABASE: &str = "sqlite:auth-rs-demo/demo.db";
/// The default state file, beside the default database.
pub const DEFAULT_STATE: &str = "auth-rs-demo/state.json";
/// The default Redis key namespace.
pub const DEFAULT_REDIS_NAMESPACE: &str = "auth-rs-demo:";

/// How to run the demo.
#[derive(Clone)]
pub struct DemoConfig {
    /// Address to listen on (default `127.0.0.1:8080`; port 0 picks a free port).
    pub listen: SocketAddr,
    /// Where to write the generated credentials (JSON), if anywhere.
    pub credentials: Option<PathBuf>,
    /// Serve HTTPS with a self-signed certificate generated at start.
    pub tls: bool,
    /// Where users, API keys and the OAuth token service's clients, tokens, codes and
    /// consents live: a `sqlite:` URL (the file and its directory are
    /// created when missing) or a `postgres://` URL (default [`DEFAULT_DATABASE`]). The
    /// migrations run on start.
    pub database: String,
    /// The PostgreSQL schema for the tables (default: the connection's `search_path`). It
    /// must exist.
    pub database_schema: Option<String>,
    /// Redis for sessions, HMAC nonces, JWT revocations and throttles (`redis://…`); `None`
    /// keeps them in this process's memory.
    pub redis: Option<String>,
    /// The prefix of every Redis key (default [`DEFAULT_REDIS_NAMESPACE`]).
    pub redis_namespace: String,
    /// The state file holding the secrets every instance must share (default
    /// [`DEFAULT_STATE`]); created with fresh secrets (mode 0600) when missing.
    pub state: PathBuf,
    /// The origin clients use (the load balancer's, e.g. `https://api.example.com`): the
    /// OAuth issuer. Default: the listen address's own origin.
    pub public_url: Option<String>,
    /// The load balancers / TLS-terminating proxies in front of this instance (addresses
    /// or blocks): their `X-Forwarded-Proto` and `X-Forwarded-For` are believed, so
    /// credentials they forward from HTTPS clients are accepted and throttles see the
    /// clients. Empty by default: nobody's forwarded headers are believed.
    pub trusted_proxies: Vec<auth_actix::ProxyNetwork>,
    /// The clock every store, issuer and verifier reads (default: the system clock; tests
    /// give a `ManualClock`, as they would to two processes whose clocks agree).
    pub clock: auth_core::SharedClock,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            credentials: None,
            tls: false,
            database: DEFAULT_DATABASE.to_owned(),
            database_schema: None,
            redis: None,
            redis_namespace: DEFAULT_REDIS_NAMESPACE.to_owned(),
            state: PathBuf::from(DEFAULT_STATE),
            public_url: None,
            trusted_proxies: Vec::new(),
            clock: auth_core::SystemClock::shared(),
        }
    }
}

impl DemoConfig {
    /// The default configuration with the database (`demo.db`) and the state file
    /// (`state.json`) in `dir`: what tests and embedders use to keep the demo's files in a
    /// directory of their own.
    #[must_use]
    pub fn in_dir(dir: impl AsRef<Path>) -> Self {
        let dir = dir.as_ref();
        Self {
            database: format!("sqlite:{}", dir.join("demo.db").display()),
            state: dir.join("state.json"),
            ..Self::default()
        }
    }
}

impl std::fmt::Debug for DemoConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // URLs may hold passwords.
        f.debug_struct("DemoConfig")
            .field("listen", &self.listen)
            .field("credentials", &self.credentials)
            .field("tls", &self.tls)
            .field("database", &stores::redact_url(&self.database))
            .field("database_schema", &self.database_schema)
            .field("redis", &self.redis.as_deref().map(stores::redact_url))
            .field("redis_namespace", &self.redis_namespace)
            .field("state", &self.state)
            .field("public_url", &self.public_url)
            .field("trusted_proxies", &self.trusted_proxies)
            .finish()
    }
}

/// One route the demo serves, for the banner and the credentials file.
#[derive(Debug, Clone)]
pub struct RouteInfo {
    /// HTTP method.
    pub method: &'static str,
    /// Path.
    pub path: &'static str,
    /// What it shows.
    pub description: &'static str,
    /// Extra `curl` arguments (credentials), if the route needs any.
    pub curl_args: String,
}

/// What a scheme adds to the demo: its routes, its app configuration and the credentials
/// it generated. Each scheme module (`demo/<scheme>.rs`) builds one in `setup()`, and
/// [`start`] mounts them all.
pub(crate) struct SchemePart {
    /// The key under `"credentials"` in the credentials file (`"basic"`, `"api_key"`, ...).
    pub(crate) name: &'static str,
    /// The routes it serves (for the banner and `GET /`).
    pub(crate) routes: Vec<RouteInfo>,
    /// The credentials it generated, written to the credentials file.
    pub(crate) credentials: Value,
    /// Lines for the banner (the demo user, the minted key, ...). Never secrets the
    /// credentials file does not also hold.
    pub(crate) banner: Vec<String>,
    /// Mounts its routes on each worker's app.
    pub(crate) configure: Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>,
}

/// A started demo server.
pub struct Demo {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The base URL (`http://` or `https://`).
    pub base_url: String,
    /// The self-signed certificate (PEM) when serving HTTPS.
    pub cert_pem: Option<String>,
    /// Where the certificate was written, when serving HTTPS.
    pub cert_path: Option<PathBuf>,
    /// The credentials document (what `--credentials` writes).
    pub credentials: Value,
    /// The routes it serves.
    pub routes: Vec<RouteInfo>,
    scheme_banner: Vec<String>,
    server: Option<Server>,
    handle: ServerHandle,
}

/// A failure to start the demo.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// Binding the address or writing a file failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The TLS certificate could not be made or loaded.
    #[error("TLS set-up failed: {0}")]
    Tls(String),
    /// The database or Redis is misconfigured or unreachable, or a migration failed.
    #[error("{store}: {message}")]
    Store {
        /// `"database"` or `"redis"`.
        store: &'static str,
        /// What went wrong (never a URL's password).
        message: String,
    },
    /// The state file cannot be read, written or used.
    #[error("state file {0}")]
    State(String),
    /// A scheme could not set up its demo credentials.
    #[error("{scheme} set-up failed: {message}")]
    Scheme {
        /// The scheme.
        scheme: &'static str,
        /// What went wrong.
        message: String,
    },
}

struct Tls {
    server_config: rustls::ServerConfig,
    cert_pem: String,
}

fn self_signed() -> Result<Tls, DemoError> {
    let tls = |e: &dyn std::fmt::Display| DemoError::Tls(e.to_string());
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .map_err(|e| tls(&e))?;
    let cert_der = rustls_pki_types::CertificateDer::from(certified.cert.der().to_vec());
    let key_der = rustls_pki_types::PrivateKeyDer::Pkcs8(
        rustls_pki_types::PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()),
    );
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls(&e))?
        .with_no_client_auth()
        .with_single_cert(vec![cert_der], key_der)
        .map_err(|e| tls(&e))?;
    Ok(Tls {
        server_config,
        cert_pem: certified.cert.pem(),
    })
}

/// Writes `contents` to `path`, readable by the owner only (it holds secrets).
fn write_private(path: &Path, contents: &str) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    io::Write::write_all(&mut options.open(path)?, contents.as_bytes())
}

fn routes() -> Vec<RouteInfo> {
    vec![
        RouteInfo {
            method: "GET",
            path: "/",
            description: "public: what this server serves",
            curl_args: String::new(),
        },
        RouteInfo {
            method: "GET",
            path: "/health",
            description: "public: liveness",
            curl_args: String::new(),
        },
    ]
}

async fn index(routes: web::Data<Vec<RouteInfo>>) -> HttpResponse {
    let listed: Vec<Value> = routes
        .iter()
        .map(|r| json!({"method": r.method, "path": r.path, "description": r.description}))
        .collect();
    HttpResponse::Ok().json(json!({
        "name": "auth-rs demo",
        "routes": listed,
    }))
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Every scheme's part of the demo, in the order they are mounted.
async fn scheme_parts(config: &DemoConfig, ctx: &Context) -> Result<Vec<SchemePart>, DemoError> {
    // Each scheme adds its module (`demo/<scheme>.rs`) and one line here.
    let users = basic::demo_users(ctx).await?;
    Ok(vec![
        basic::setup(ctx, &users).await?,
        apikey::setup(ctx).await?,
        jwt::setup(ctx).await?,
        session::setup(config, ctx, &users).await?,
        hmac::setup(ctx).await?,
        oauth2::setup(config, ctx, &users).await?,
    ])
}

/// What every scheme part builds on: the stores and the shared secrets.
pub(crate) struct Context {
    pub(crate) stores: stores::Stores,
    pub(crate) state: state::DemoState,
}

impl Context {
    async fn new(config: &DemoConfig) -> Result<(Self, Vec<String>), DemoError> {
        let loopback = config.listen.ip().is_loopback();
        // The stores first: a misconfigured one fails the start before a state file is made.
        let stores = stores::Stores::connect(config).await?;
        let (state, origin) = state::DemoState::load_or_create(&config.state, loopback)?;
        let mut banner = stores.banner(config);
        banner.push(format!(
            "state: {} {} (the secrets every instance shares; keep it private)",
            config.state.display(),
            match origin {
                state::Origin::Created => "created",
                state::Origin::Loaded => "loaded",
            }
        ));
        Ok((Self { stores, state }, banner))
    }
}

/// `len` random characters from `[A-Za-z0-9]`, for generated demo secrets.
pub(crate) fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    let mut buf = [0_u8; 64];
    while out.len() < len {
        getrandom::getrandom(&mut buf).expect("OS randomness");
        // 248 = 4 * 62: rejecting bytes >= 248 keeps the choice uniform.
        for &b in buf.iter().filter(|&&b| b < 248) {
            if out.len() == len {
                break;
            }
            out.push(char::from(ALPHABET[usize::from(b % 62)]));
        }
    }
    out
}

/// Generates the schemes' credentials, binds and starts the demo (the returned server must
/// be run: [`Demo::run`], or [`Demo::spawn`] inside an actix runtime).
///
/// # Errors
///
/// [`DemoError`] when the address cannot be bound, a file cannot be written, or TLS set-up
/// fails.
pub async fn start(config: &DemoConfig) -> Result<Demo, DemoError> {
    let tls = if config.tls {
        Some(self_signed()?)
    } else {
        None
    };
    let (ctx, mut scheme_banner) = Context::new(config).await?;
    if !config.trusted_proxies.is_empty() {
        let proxies: Vec<String> = config
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        scheme_banner.push(format!(
            "trusted proxies: {} (their X-Forwarded-Proto: https counts as HTTPS and \
             X-Forwarded-For names the client; their plain-HTTP requests with credentials \
             are refused, from loopback too)",
            proxies.join(", ")
        ));
    }
    let parts: Vec<SchemePart> = scheme_parts(config, &ctx).await?;
    let mut routes = routes();
    let mut scheme_credentials = serde_json::Map::new();
    for part in &parts {
        routes.extend(part.routes.iter().cloned());
        scheme_banner.extend(part.banner.iter().cloned());
        scheme_credentials.insert(part.name.to_owned(), part.credentials.clone());
    }
    let configures: Vec<_> = parts.iter().map(|p| Arc::clone(&p.configure)).collect();
    let loopback_http = !config.tls && config.listen.ip().is_loopback();

    let app_routes = routes.clone();
    let trusted_proxies = config.trusted_proxies.clone();
    let server = HttpServer::new(move || {
        let mut https = RequireHttps::new().trusted_proxy_networks(trusted_proxies.iter().copied());
        if loopback_http {
            // Local development: the demo listens on loopback only, so plain HTTP from
            // loopback clients is accepted. Any other client must use --tls.
            https = https.insecure_allow_loopback_http();
        }
        App::new()
            .wrap(https)
            .app_data(web::Data::new(app_routes.clone()))
            .route("/", web::get().to(index))
            .route("/health", web::get().to(health))
            .configure(|cfg| {
                for configure in &configures {
                    configure(cfg);
                }
            })
    })
    .workers(2);

    let (server, cert_pem) = match tls {
        Some(tls) => (
            server.bind_rustls_0_23(config.listen, tls.server_config)?,
            Some(tls.cert_pem),
        ),
        None => (server.bind(config.listen)?, None),
    };
    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| io::Error::other("the server bound no address"))?;
    let scheme = if cert_pem.is_some() { "https" } else { "http" };
    let base_url = format!("{scheme}://{addr}");

    let cert_path = match &cert_pem {
        Some(pem) => {
            let dir = config
                .credentials
                .as_ref()
                .and_then(|p| p.parent().map(Path::to_path_buf))
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or_else(|| std::env::temp_dir().join("auth-rs-demo"));
            let path = dir.join("demo-cert.pem");
            write_private(&path, pem)?;
            Some(path)
        }
        None => None,
    };

    let credentials = json!({
        "base_url": base_url,
        "tls": cert_path.as_ref().map(|p| json!({"ca_cert": p})),
        "credentials": scheme_credentials,
    });
    if let Some(path) = &config.credentials {
        let text = serde_json::to_string_pretty(&credentials).map_err(io::Error::other)?;
        write_private(path, &text)?;
    }

    let server = server.disable_signals().run();
    let handle = server.handle();
    Ok(Demo {
        addr,
        base_url,
        cert_pem,
        cert_path,
        credentials,
        routes,
        scheme_banner,
        server: Some(server),
        handle,
    })
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Demo")
            .field("addr", &self.addr)
            .field("base_url", &self.base_url)
            .field("cert_path", &self.cert_path)
            .finish_non_exhaustive()
    }
}

impl Demo {
    /// What the demo prints on start: the URL, each route with a ready-to-paste `curl`.
    #[must_use]
    pub fn banner(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "auth-rs demo listening on {}", self.base_url);
        let cacert = self
            .cert_path
            .as_ref()
            .map(|p| format!(" --cacert {}", p.display()))
            .unwrap_or_default();
        if self.cert_pem.is_none() {
            let _ = writeln!(
                out,
                "plain HTTP: credentials are accepted from loopback clients only (run with --tls to serve HTTPS)"
            );
        } else {
            let _ = writeln!(out, "self-signed certificate:{cacert}");
        }
        for line in &self.scheme_banner {
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(out);
        for route in &self.routes {
            let _ = writeln!(
                out,
                "  {} {}  ({})",
                route.method, route.path, route.description
            );
            let _ = writeln!(
                out,
                "    curl -i{cacert}{} {}{}",
                route.curl_args, self.base_url, route.path
            );
        }
        out
    }

    /// A handle to stop the server.
    #[must_use]
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// Runs the server until it stops.
    ///
    /// # Errors
    ///
    /// The server's I/O error.
    pub async fn run(mut self) -> io::Result<()> {
        match self.server.take() {
            Some(server) => server.await,
            None => Ok(()),
        }
    }

    /// Runs the server in the background on the current actix runtime.
    pub fn spawn(&mut self) {
        if let Some(server) = self.server.take() {
            actix_web::rt::spawn(server);
        }
    }
}

/// A context for the scheme parts' unit tests: a SQLite file and a state file in a fresh
/// temporary directory (returned, to be removed by the caller if it likes), no Redis.
#[cfg(test)]
pub(crate) async fn test_context(name: &str) -> (Context, PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "auth-rs-demo-unit-{name}-{}-{}",
        std::process::id(),
        random_token(8)
    ));
    let config = DemoConfig {
        listen: "127.0.0.1:0".parse().expect("an address"),
        database: format!("sqlite:{}", dir.join("demo.db").display()),
        state: dir.join("state.json"),
        ..DemoConfig::default()
    };
    let (ctx, _) = Context::new(&config).await.expect("the demo context");
    (ctx, dir)
}
