//! A tiny HTTP server on 127.0.0.1 that stands in for an authorization server (token,
//! introspection, metadata, JWKS endpoints) and counts what it receives.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use auth_core::ManualClock;
use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Request {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The form body's parameters, each name mapped to all its values.
    pub(crate) fn form(&self) -> HashMap<String, Vec<String>> {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(self.body.as_bytes()) {
            map.entry(name.into_owned())
                .or_default()
                .push(value.into_owned());
        }
        map
    }

    /// The single value of form parameter `name`.
    pub(crate) fn param(&self, name: &str) -> Option<String> {
        match self.form().remove(name) {
            Some(values) if values.len() == 1 => values.into_iter().next(),
            _ => None,
        }
    }

    /// The client id and secret of `Authorization: Basic`, form-urldecoded (RFC 6749 §2.3.1).
    pub(crate) fn basic_credentials(&self) -> Option<(String, String)> {
        let value = self.header("authorization")?.strip_prefix("Basic ")?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(value)
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (id, secret) = text.split_once(':')?;
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        Some((decode(id), decode(secret)))
    }
}

/// What the server answers.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: String,
    pub(crate) content_type: &'static str,
}

impl Reply {
    pub(crate) fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply {
            status,
            body: body.to_string(),
            content_type: "application/json",
        }
    }

    pub(crate) fn not_found() -> Reply {
        Reply {
            status: 404,
            body: String::new(),
            content_type: "text/plain",
        }
    }
}

type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// The server. Dropping it does not stop it; each test's server lives as long as its
/// runtime.
pub(crate) struct Server {
    pub(crate) base: String,
    hits: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Request>>>,
    open: watch::Sender<bool>,
    /// The number of requests received, to wait on.
    arrived: watch::Sender<usize>,
    /// The number of requests received when [`Server::hold`] was called.
    held_from: std::sync::atomic::AtomicUsize,
}

impl Server {
    /// Starts a server answering with `handler`.
    pub(crate) async fn start(
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let handler: Handler = Arc::new(handler);
        let (open, _) = watch::channel(true);
        let server = Server {
            base,
            hits: Arc::new(AtomicUsize::new(0)),
            requests: Arc::new(Mutex::new(Vec::new())),
            open,
            arrived: watch::channel(0).0,
            held_from: AtomicUsize::new(0),
        };
        let (hits, requests, arrived, open) = (
            server.hits.clone(),
            server.requests.clone(),
            server.arrived.clone(),
            server.open.clone(),
        );
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let (handler, hits, requests, arrived, mut open) = (
                    handler.clone(),
                    hits.clone(),
                    requests.clone(),
                    arrived.clone(),
                    open.subscribe(),
                );
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut stream).await else {
                        return;
                    };
                    let count = hits.fetch_add(1, Ordering::SeqCst) + 1;
                    requests.lock().unwrap().push(request.clone());
                    arrived.send_replace(count);
                    let _ = open.wait_for(|open| *open).await;
                    let reply = handler(&request);
                    let response = format!(
                        "HTTP/1.1 {} X\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                        reply.status,
                        reply.content_type,
                        reply.body.len(),
                        reply.body
                    );
                    let _ = stream.write_all(response.as_bytes()).await;
                });
            }
        });
        server
    }

    /// `base` + `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Requests received so far.
    pub(crate) fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Requests received on `path`.
    pub(crate) fn hits_on(&self, path: &str) -> usize {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .count()
    }

    /// Every request received.
    pub(crate) fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// Holds every answer until [`Server::release`].
    pub(crate) fn hold(&self) {
        self.held_from.store(self.hits(), Ordering::SeqCst);
        self.open.send_replace(false);
    }

    /// Answers the held requests, and the next ones at once.
    pub(crate) fn release(&self) {
        self.open.send_replace(true);
    }

    /// Waits until a request has arrived since [`Server::hold`].
    pub(crate) async fn arrived(&self) {
        let from = self.held_from.load(Ordering::SeqCst);
        let _ = self
            .arrived
            .subscribe()
            .wait_for(|count| *count > from)
            .await;
    }
}

pub(crate) async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0_u8; 4096];
    let header_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let target = request_line.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[header_end + 4..].to_vec();
    while body.len() < length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
        None => (target, None),
    };
    Some(Request {
        method,
        path,
        query,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// A test clock at a fixed, recent time.
pub(crate) fn clock() -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_800_000_000))
}

/// An HTTP client for tests: no proxy, no redirects, a timeout.
pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}
