//! `auth-bench`: the end-to-end benchmark server and its helpers, driven by
//! `cargo xtask bench --e2e` (see `BENCHMARKS.md`).
//!
//! - `auth-bench serve` serves, on one port and one worker by default, an unprotected
//!   baseline GET and POST, our routes built the way a user builds them with `auth-actix`,
//!   and the peers' routes (`actix-web-httpauth`, `actix-session`), every handler doing the
//!   same work; it writes what the load generator needs (port, headers, cookies, the HMAC
//!   client secret) to a JSON file.
//! - `auth-bench sign` pre-signs distinct RFC 9421 requests (fresh nonce each) for the HMAC
//!   route, one line each, which the wrk script sends once each.
//! - `auth-bench memory` measures the resident memory per stored API key, session and nonce.
//! - `auth-bench argon2` measures what argon2id alone does on every core of the machine.

#![forbid(unsafe_code)]

mod driver;
mod ours;
mod peers;
mod report;
mod tools;

use std::path::PathBuf;
use std::process::ExitCode;

use actix_web::{HttpResponse, web};

const HELP: &str = "\
auth-bench: the end-to-end benchmark server (driven by `cargo xtask bench --e2e`)

USAGE:
    auth-bench serve [--listen ADDR] [--workers N] [--fill N] [--redis URL] --credentials PATH
    auth-bench sign --credentials PATH --count N --out PATH
    auth-bench memory [--count N]
    auth-bench argon2 [--seconds S]
    auth-bench e2e [--duration S] [--runs N] [--connections 2,64,512] [--workers N]
                   [--fill N] [--memory-count N] [--routes a,b] [--command TEXT]
    auth-bench report
    auth-bench micro-collect [--command TEXT] [--passes N]

serve     every route on one port (default 127.0.0.1:0, 1 worker); the API key and
          in-memory session stores hold --fill entries (default 100000) besides the bench's;
          writes the port, routes and credentials to --credentials
sign      N distinct signed POSTs (1 KiB body) for the HMAC route of the server whose
          credentials file is given, one per line: header values, tab-separated
memory    resident memory per stored API key, session and HMAC nonce (N of each, 1000000)
argon2    argon2id verifications per second at OWASP parameters on every core
e2e       the whole end-to-end run (what `cargo xtask bench --e2e` runs): starts `serve`,
          drives every route with wrk (defaults: 5 s, 3 runs, 2,64,512 connections), then
          `memory` and `argon2`; writes bench/results/latest.{json,svg} and BENCHMARKS.md
report    rewrites BENCHMARKS.md and the chart from bench/results/*.json
micro-collect  the criterion medians under target/criterion into bench/results/micro.json,
          then `report` (what `cargo xtask bench` runs after each pass of criterion);
          with --passes N above 1, each median is the lower of this pass's and the one
          micro.json holds from the previous passes
";

/// The 1 KiB JSON body of the POST routes (the baseline's and the HMAC route's).
pub(crate) fn body_1kib() -> Vec<u8> {
    let mut body = br#"{"items":["#.to_vec();
    while body.len() < 1024 - 2 {
        body.extend_from_slice(b"\"x\",");
    }
    body.truncate(1024 - 2);
    body.extend_from_slice(b"]}");
    body
}

/// The handler work every GET route does once its scheme has let the request in.
pub(crate) fn reply(subject: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(format!("hello {subject}"))
}

/// The handler work every POST route does: the body is read and answered on.
pub(crate) fn reply_post(subject: &str, body: &web::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(format!("hello {subject}, {} bytes", body.len()))
}

/// One route the load generator drives.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Route {
    /// Short name: `baseline`, `ours-jwt-hs256`, `peer-basic`...
    pub(crate) name: &'static str,
    /// `GET` or `POST`.
    pub(crate) method: &'static str,
    pub(crate) path: &'static str,
    /// Headers the request carries (credentials, cookies).
    pub(crate) headers: serde_json::Map<String, serde_json::Value>,
    /// `get` (fixed request), `post` (the pre-signed lines, sent to an unprotected route) or
    /// `hmac` (the pre-signed lines).
    pub(crate) script: &'static str,
    /// What it is, for the report.
    pub(crate) description: &'static str,
}

impl Route {
    pub(crate) fn new(
        name: &'static str,
        method: &'static str,
        path: &'static str,
        script: &'static str,
        description: &'static str,
    ) -> Self {
        Self {
            name,
            method,
            path,
            headers: serde_json::Map::new(),
            script,
            description,
        }
    }

    pub(crate) fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers
            .insert(name.to_owned(), serde_json::Value::String(value.into()));
        self
    }
}

/// The options of `serve`.
#[derive(Debug)]
pub(crate) struct ServeConfig {
    pub(crate) listen: String,
    pub(crate) workers: usize,
    pub(crate) fill: usize,
    pub(crate) redis: String,
    pub(crate) credentials: PathBuf,
    /// Exit when stdin closes (set by the e2e driver, which holds a pipe to it).
    pub(crate) exit_with_stdin: bool,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("auth-bench: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_env();
    let command = match parser.next().map_err(|e| e.to_string())? {
        Some(Value(command)) => command.string().map_err(|e| e.to_string())?,
        Some(Long("help") | Short('h')) | None => {
            print!("{HELP}");
            return Ok(());
        }
        Some(other) => return Err(other.unexpected().to_string()),
    };
    let mut serve = ServeConfig {
        listen: "127.0.0.1:0".to_owned(),
        workers: 1,
        fill: 100_000,
        redis: std::env::var("AUTH_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned()),
        credentials: PathBuf::from("bench/results/tmp/credentials.json"),
        exit_with_stdin: false,
    };
    let mut count: Option<usize> = None;
    let mut out: Option<PathBuf> = None;
    let mut seconds = 5_u64;
    let mut passes = 1_usize;
    let mut positional = Vec::new();
    let results = report::root().join("bench").join("results");
    let mut e2e = driver::E2eConfig {
        duration: 5,
        runs: 3,
        connections: vec![2, 64, 512],
        workers: 1,
        fill: 100_000,
        memory_count: 1_000_000,
        routes: None,
        results: results.clone(),
        command: "cargo xtask bench --e2e".to_owned(),
        redis: String::new(),
    };
    let list = |text: String| -> Vec<String> {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        let text = |parser: &mut lexopt::Parser| -> Result<String, String> {
            parser
                .value()
                .map_err(|e| e.to_string())?
                .string()
                .map_err(|e| e.to_string())
        };
        let number = |parser: &mut lexopt::Parser| -> Result<usize, String> {
            let value = text(parser)?;
            value
                .parse()
                .map_err(|_| format!("`{value}` is not a number"))
        };
        match arg {
            Long("listen") => serve.listen = text(&mut parser)?,
            Long("workers") => {
                serve.workers = number(&mut parser)?.max(1);
                e2e.workers = serve.workers;
            }
            Long("fill") => {
                serve.fill = number(&mut parser)?;
                e2e.fill = serve.fill;
            }
            Long("duration") => e2e.duration = number(&mut parser)?.max(1) as u64,
            Long("runs") => e2e.runs = number(&mut parser)?.max(1),
            Long("connections") => {
                e2e.connections = list(text(&mut parser)?)
                    .iter()
                    .map(|c| c.parse().map_err(|_| format!("`{c}` is not a number")))
                    .collect::<Result<_, _>>()?;
            }
            Long("memory-count") => e2e.memory_count = number(&mut parser)?.max(1),
            Long("routes") => e2e.routes = Some(list(text(&mut parser)?)),
            Long("command") => e2e.command = text(&mut parser)?,
            Long("redis") => serve.redis = text(&mut parser)?,
            Long("credentials") => serve.credentials = text(&mut parser)?.into(),
            Long("exit-with-stdin") => serve.exit_with_stdin = true,
            Long("count") => count = Some(number(&mut parser)?),
            Long("out") => out = Some(text(&mut parser)?.into()),
            Long("seconds") => seconds = number(&mut parser)? as u64,
            Long("passes") => passes = number(&mut parser)?.max(1),
            Long("help") | Short('h') => {
                print!("{HELP}");
                return Ok(());
            }
            Value(value) => positional.push(value.string().map_err(|e| e.to_string())?),
            other => return Err(other.unexpected().to_string()),
        }
    }
    match command.as_str() {
        "serve" => serve_main(serve),
        "sign" => tools::sign(
            &serve.credentials,
            count.ok_or("sign needs --count")?,
            &out.ok_or("sign needs --out")?,
        ),
        "memory" => tools::memory(count.unwrap_or(1_000_000)),
        "argon2" => tools::argon2(seconds),
        "e2e" => {
            e2e.redis = serve.redis;
            driver::e2e(&e2e)
        }
        "report" => report::write(&results),
        "micro-collect" => {
            let command = if e2e.command == "cargo xtask bench --e2e" {
                "cargo xtask bench"
            } else {
                e2e.command.as_str()
            };
            report::micro_collect(&results, command, passes)
        }
        // One kind of `memory`, in a process of its own: `memory-one <kind> <count>`.
        "memory-one" => match positional.as_slice() {
            [kind, count] => tools::memory_one(
                kind,
                count
                    .parse()
                    .map_err(|_| format!("`{count}` is not a number"))?,
            ),
            _ => Err("memory-one <apikey|session|nonce> <count>".to_owned()),
        },
        other => Err(format!("unknown command `{other}`\n\n{HELP}")),
    }
}

fn serve_main(config: ServeConfig) -> Result<(), String> {
    if config.exit_with_stdin {
        // The driver holds the other end: when it exits, however it exits, so does this.
        std::thread::spawn(|| {
            let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
            std::process::exit(0);
        });
    }
    actix_web::rt::System::new().block_on(serve(config))
}

async fn serve(config: ServeConfig) -> Result<(), String> {
    let (shared, users) = ours::shared().await?;
    let ours = ours::setup(&config, &shared, users).await?;
    let peers = peers::setup(&config, &shared).await?;
    let baseline = vec![
        Route::new(
            "baseline",
            "GET",
            "/baseline",
            "get",
            "unprotected GET, the same handler work",
        ),
        Route::new(
            "baseline-post",
            "POST",
            "/baseline/post",
            "post",
            "unprotected POST of the same 1 KiB body and headers as the HMAC route",
        ),
    ];

    let ours_configure = ours.configure.clone();
    let peers_configure = peers.configure.clone();
    let app = move || {
        let ours = ours_configure.clone();
        let peers = peers_configure.clone();
        actix_web::App::new()
            .route("/baseline", web::get().to(|| async { reply("anonymous") }))
            .route(
                "/baseline/post",
                web::post().to(|body: web::Bytes| async move { reply_post("anonymous", &body) }),
            )
            .configure(|cfg| ours(cfg))
            .configure(|cfg| peers(cfg))
    };

    // Log in once through the real routes (in process) for the session cookies.
    let mut routes = baseline;
    routes.extend(ours.routes);
    routes.extend(peers.routes);
    {
        let service = actix_web::test::init_service(app()).await;
        for route in &mut routes {
            if let Some(login) = ours::login_path(route.name).or(peers::login_path(route.name)) {
                let response = actix_web::test::call_service(
                    &service,
                    actix_web::test::TestRequest::get().uri(login).to_request(),
                )
                .await;
                let cookie = response
                    .headers()
                    .get_all("set-cookie")
                    .filter_map(|v| v.to_str().ok())
                    .find_map(|v| v.split(';').next().filter(|pair| pair.contains('=')))
                    .ok_or_else(|| format!("{login} set no cookie (status {})", response.status()))?
                    .to_owned();
                route
                    .headers
                    .insert("Cookie".to_owned(), serde_json::Value::String(cookie));
            }
        }
    }

    let server = actix_web::HttpServer::new(app)
        .workers(config.workers)
        .bind(config.listen.as_str())
        .map_err(|e| format!("bind {}: {e}", config.listen))?;
    let port = server
        .addrs()
        .first()
        .map(std::net::SocketAddr::port)
        .ok_or("bound to no address")?;
    let credentials = serde_json::json!({
        "port": port,
        "workers": config.workers,
        "fill": config.fill,
        "routes": routes,
        "hmac": ours.hmac,
    });
    if let Some(dir) = config.credentials.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(
        &config.credentials,
        serde_json::to_vec_pretty(&credentials).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("{}: {e}", config.credentials.display()))?;
    println!(
        "auth-bench listening on 127.0.0.1:{port} ({} worker(s)); credentials in {}",
        config.workers,
        config.credentials.display()
    );
    server.run().await.map_err(|e| e.to_string())
}
