//! [`RequireHttps`]: credentials only over TLS, and HSTS on HTTPS responses.

use std::fmt;
use std::future::{Ready, ready};
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{Error, HttpMessage};
use auth_core::{Rejection, Scheme};
use futures_util::future::LocalBoxFuture;

use crate::middleware::refuse;
use crate::network::{ProxyNetwork, canonical};

/// Whether the request arrived over TLS, as [`RequireHttps`] decided it (directly or through
/// a trusted proxy). [`Authenticate`](crate::Authenticate) reads it for
/// [`AuthRequest::is_secure`](auth_core::AuthRequest::is_secure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportSecurity {
    /// `true` when the client's connection was TLS.
    pub secure: bool,
}

/// The client's address as [`RequireHttps`] found it behind a trusted proxy: the rightmost
/// address of `X-Forwarded-For` (or of the `for=` parameters of `Forwarded`, RFC 7239) that
/// is not itself a trusted proxy. [`Authenticate`](crate::Authenticate) gives it to the
/// authenticators as the request's peer (`AuthRequest::peer`), so per-client throttling and
/// the audit log see the client, not the proxy. Absent when the peer is not a trusted proxy
/// (the headers are then ignored: anybody can send them) or the proxy named no client.
///
/// The port is the one the proxy reported (`Forwarded: for="[2001:db8::1]:4711"`), else 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardedClient(pub SocketAddr);

/// The peer an authenticator should see for `req`: the [`ForwardedClient`] when a trusted
/// proxy named one, else the connection's peer.
pub(crate) fn client_addr(req: &actix_web::HttpRequest) -> Option<SocketAddr> {
    req.extensions()
        .get::<ForwardedClient>()
        .map(|client| client.0)
        .or_else(|| req.peer_addr())
}

/// The header fields that carry credentials by default.
pub const DEFAULT_CREDENTIAL_HEADERS: [&str; 7] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
    "signature",
    "signature-input",
    "x-signature",
];

/// The query parameters that carry credentials by default (RFC 6750 §2.3 `access_token`,
/// API keys, OAuth client secrets).
pub const DEFAULT_CREDENTIAL_PARAMS: [&str; 4] =
    ["access_token", "api_key", "apikey", "client_secret"];

/// Middleware that refuses credentials sent over plain HTTP (403 `https_required`) and sets
/// `Strict-Transport-Security` on HTTPS responses (RFC 6797).
///
/// A request is HTTPS when the listener is TLS (`HttpServer::bind_rustls_0_23`), or when
/// the peer is one of the [trusted proxies](RequireHttps::trusted_proxies) and says so in
/// `X-Forwarded-Proto` or `Forwarded: proto=`. Those headers are ignored from anybody else:
/// they are trivially forged. From a trusted proxy, the client's address is read the same
/// way (`X-Forwarded-For`, `Forwarded: for=`; see [`ForwardedClient`]), so that the
/// authenticators throttle and audit per client rather than per proxy.
///
/// By default only requests that *carry* a credential (see [`DEFAULT_CREDENTIAL_HEADERS`]
/// and [`DEFAULT_CREDENTIAL_PARAMS`]) are refused over HTTP, so public routes stay
/// reachable; [`RequireHttps::all_requests`] refuses every plain-HTTP request.
///
/// # Security
///
/// The refusal cannot un-send a credential: it teaches the client, and shows up in the audit
/// log (reason `insecure_transport`), so the leaked credential can be rotated. Local
/// development over `http://127.0.0.1` needs the loudly named
/// [`RequireHttps::insecure_allow_loopback_http`].
///
/// # Examples
///
/// ```
/// use actix_web::{web, App, HttpResponse};
/// use auth_actix::RequireHttps;
///
/// let app = App::new()
///     .wrap(RequireHttps::new().trusted_proxies(["10.0.0.2".parse().unwrap()]))
///     .route("/", web::get().to(HttpResponse::Ok));
/// ```
#[derive(Clone)]
pub struct RequireHttps {
    config: Arc<Config>,
}

#[derive(Debug, Clone)]
struct Config {
    allow_loopback: bool,
    all_requests: bool,
    trusted_proxies: Vec<ProxyNetwork>,
    credential_headers: Vec<HeaderName>,
    credential_params: Vec<String>,
    hsts: Option<HeaderValue>,
    hsts_max_age: Duration,
    hsts_subdomains: bool,
}

impl Default for RequireHttps {
    fn default() -> Self {
        Self::new()
    }
}

impl RequireHttps {
    /// The default HSTS `max-age`: one year (OWASP).
    pub const DEFAULT_HSTS_MAX_AGE: Duration = Duration::from_secs(365 * 24 * 60 * 60);

    /// Refuses credentials over plain HTTP; HSTS of one year with `includeSubDomains`.
    #[must_use]
    pub fn new() -> Self {
        let mut config = Config {
            allow_loopback: false,
            all_requests: false,
            trusted_proxies: Vec::new(),
            credential_headers: DEFAULT_CREDENTIAL_HEADERS
                .iter()
                .map(|n| HeaderName::from_static(n))
                .collect(),
            credential_params: DEFAULT_CREDENTIAL_PARAMS
                .iter()
                .map(|p| (*p).to_owned())
                .collect(),
            hsts: None,
            hsts_max_age: Self::DEFAULT_HSTS_MAX_AGE,
            hsts_subdomains: true,
        };
        config.hsts = Some(hsts_value(config.hsts_max_age, config.hsts_subdomains));
        Self {
            config: Arc::new(config),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(Arc::make_mut(&mut self.config));
        self
    }

    /// **Local development only.** Accepts credentials over plain HTTP from loopback peers
    /// (`127.0.0.0/8`, `::1`) that are not trusted proxies. Anything on the machine can then
    /// read them off the loopback interface; never enable it on a server others reach.
    #[must_use]
    pub fn insecure_allow_loopback_http(self) -> Self {
        self.edit(|c| c.allow_loopback = true)
    }

    /// Refuses *every* plain-HTTP request, not only those carrying credentials (right for
    /// token endpoints, where the credential may be in the body).
    #[must_use]
    pub fn all_requests(self) -> Self {
        self.edit(|c| c.all_requests = true)
    }

    /// The proxies (exact addresses) whose `X-Forwarded-Proto` / `Forwarded: proto=` and
    /// `X-Forwarded-For` / `Forwarded: for=` headers are believed, replacing any set
    /// before. List every proxy hop you run: the client is the rightmost forwarded address
    /// that is not one of them. For proxies whose addresses change within a subnet, see
    /// [`trusted_proxy_networks`](Self::trusted_proxy_networks).
    #[must_use]
    pub fn trusted_proxies(self, proxies: impl IntoIterator<Item = IpAddr>) -> Self {
        self.trusted_proxy_networks(proxies.into_iter().map(ProxyNetwork::from))
    }

    /// The trusted proxies as address blocks (`"10.20.0.0/16".parse()?`), replacing any set
    /// before: for load balancers that move within a subnet. To trust single addresses as
    /// well, give them here too (`ProxyNetwork::from(addr)`, or `"10.0.0.7".parse()?`).
    ///
    /// # Security
    ///
    /// Every host in a listed block can forge the forwarded headers: claim HTTPS, and name
    /// a new client address on each request to get a fresh failed-attempt budget each time.
    /// List the balancers' own subnet, never a range shared with other workloads (a whole
    /// VPC, a cluster's pod network). [`ProxyNetwork`] refuses `/0` and blocks with host
    /// bits set.
    ///
    /// ```
    /// use auth_actix::RequireHttps;
    ///
    /// let https = RequireHttps::new().trusted_proxy_networks([
    ///     "10.20.0.0/28".parse()?,  // the load balancers' subnet
    ///     "192.0.2.7".parse()?,     // and one more proxy
    /// ]);
    /// # let _ = https;
    /// # Ok::<(), auth_actix::ProxyNetworkError>(())
    /// ```
    #[must_use]
    pub fn trusted_proxy_networks(self, networks: impl IntoIterator<Item = ProxyNetwork>) -> Self {
        let networks: Vec<ProxyNetwork> = networks.into_iter().collect();
        self.edit(|c| c.trusted_proxies = networks)
    }

    /// Adds a header field that carries credentials (an application's own token header).
    #[must_use]
    pub fn credential_header(self, name: HeaderName) -> Self {
        self.edit(|c| c.credential_headers.push(name))
    }

    /// Adds a query parameter that carries credentials.
    #[must_use]
    pub fn credential_param(self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.edit(|c| c.credential_params.push(name))
    }

    /// Sets the HSTS `max-age` (default one year). A zero `max-age` tells browsers to forget
    /// the policy; use [`RequireHttps::insecure_without_hsts`] to send no header at all.
    #[must_use]
    pub fn hsts_max_age(self, max_age: Duration) -> Self {
        self.edit(|c| {
            c.hsts_max_age = max_age;
            c.hsts = Some(hsts_value(max_age, c.hsts_subdomains));
        })
    }

    /// Whether HSTS covers subdomains (default `true`).
    #[must_use]
    pub fn hsts_include_subdomains(self, include: bool) -> Self {
        self.edit(|c| {
            c.hsts_subdomains = include;
            c.hsts = Some(hsts_value(c.hsts_max_age, include));
        })
    }

    /// Sends no `Strict-Transport-Security` header, leaving browsers open to SSL-stripping
    /// on their first plain-HTTP request. Only for deployments where a proxy sets HSTS.
    #[must_use]
    pub fn insecure_without_hsts(self) -> Self {
        self.edit(|c| c.hsts = None)
    }
}

impl fmt::Debug for RequireHttps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireHttps")
            .field("allow_loopback", &self.config.allow_loopback)
            .field("all_requests", &self.config.all_requests)
            .field("trusted_proxies", &self.config.trusted_proxies)
            .field("hsts", &self.config.hsts)
            .finish_non_exhaustive()
    }
}

fn hsts_value(max_age: Duration, subdomains: bool) -> HeaderValue {
    let text = if subdomains {
        format!("max-age={}; includeSubDomains", max_age.as_secs())
    } else {
        format!("max-age={}", max_age.as_secs())
    };
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("max-age=31536000"))
}

impl Config {
    fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        self.trusted_proxies
            .iter()
            .any(|network| network.contains(ip))
    }

    /// Whether the client's connection was TLS, and whether it came through a trusted proxy.
    fn transport(&self, req: &ServiceRequest) -> (bool, bool) {
        let peer = req.peer_addr().map(|a| canonical(a.ip()));
        let proxied = peer.is_some_and(|ip| self.is_trusted_proxy(ip));
        if proxied && let Some(proto) = forwarded_proto(req) {
            return (proto.eq_ignore_ascii_case("https"), true);
        }
        (req.app_config().secure(), proxied)
    }

    /// The client behind the trusted proxies: walking the forwarded addresses from the
    /// right (the hop nearest to us), the first that is not a trusted proxy. `None` when
    /// there is no such header, or an entry is not an address before a client is found
    /// (`unknown`, an obfuscated identifier: RFC 7239 §6), so that nothing an untrusted
    /// party wrote is believed.
    fn forwarded_client(&self, req: &ServiceRequest) -> Option<SocketAddr> {
        let headers = req.headers();
        let hops: Vec<&str> = if headers.contains_key("x-forwarded-for") {
            headers
                .get_all("x-forwarded-for")
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .collect()
        } else {
            headers
                .get_all(header::FORWARDED)
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|element| {
                    element.split(';').find_map(|pair| {
                        let (key, value) = pair.trim().split_once('=')?;
                        key.trim().eq_ignore_ascii_case("for").then_some(value)
                    })
                })
                .collect()
        };
        let mut client = None;
        for hop in hops.iter().rev() {
            let addr = parse_node(hop)?;
            client = Some(addr);
            if !self.is_trusted_proxy(addr.ip()) {
                break;
            }
        }
        client
    }

    fn carries_credentials(&self, req: &ServiceRequest) -> bool {
        let headers = req.headers();
        if self
            .credential_headers
            .iter()
            .any(|n| headers.contains_key(n))
        {
            return true;
        }
        req.query_string()
            .split('&')
            .map(|pair| pair.split_once('=').map_or(pair, |(k, _)| k))
            .any(|key| self.credential_params.iter().any(|p| p == key))
    }
}

/// A forwarded node (`X-Forwarded-For` entry or `Forwarded: for=` value): an IP address,
/// optionally quoted, IPv6 optionally in brackets, optionally with a port. The address is
/// canonical (IPv4-mapped IPv6 as IPv4).
fn parse_node(text: &str) -> Option<SocketAddr> {
    let text = text.trim().trim_matches('"');
    let addr = if let Ok(ip) = text.parse::<IpAddr>() {
        SocketAddr::new(ip, 0)
    } else if let Ok(addr) = text.parse::<SocketAddr>() {
        addr
    } else {
        // `[2001:db8::1]` without a port.
        let inner = text.strip_prefix('[')?.strip_suffix(']')?;
        SocketAddr::new(IpAddr::V6(inner.parse().ok()?), 0)
    };
    Some(SocketAddr::new(canonical(addr.ip()), addr.port()))
}

/// The protocol a proxy reports: `X-Forwarded-Proto` (first value), else RFC 7239
/// `Forwarded: proto=` (first element).
fn forwarded_proto(req: &ServiceRequest) -> Option<String> {
    let headers = req.headers();
    if let Some(value) = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
    {
        return value.split(',').next().map(|p| p.trim().to_owned());
    }
    let forwarded = headers.get(header::FORWARDED)?.to_str().ok()?;
    let first = forwarded.split(',').next()?;
    first.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        key.eq_ignore_ascii_case("proto")
            .then(|| value.trim_matches('"').to_owned())
    })
}

impl<S, B> Transform<S, ServiceRequest> for RequireHttps
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = RequireHttpsMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequireHttpsMiddleware {
            service: Rc::new(service),
            config: Arc::clone(&self.config),
        }))
    }
}

/// The service [`RequireHttps`] wraps around the inner one.
#[derive(Debug)]
pub struct RequireHttpsMiddleware<S> {
    service: Rc<S>,
    config: Arc<Config>,
}

impl<S, B> Service<ServiceRequest> for RequireHttpsMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let config = Arc::clone(&self.config);
        Box::pin(async move {
            let (secure, proxied) = config.transport(&req);
            if !secure && (config.all_requests || config.carries_credentials(&req)) {
                let loopback_ok = config.allow_loopback
                    && !proxied
                    && req
                        .peer_addr()
                        .is_some_and(|a| canonical(a.ip()).is_loopback());
                if !loopback_ok {
                    let scheme = Scheme::custom("transport");
                    return Ok(refuse(req, scheme, Rejection::insecure_transport()));
                }
            }
            if proxied && let Some(client) = config.forwarded_client(&req) {
                req.extensions_mut().insert(ForwardedClient(client));
            }
            req.extensions_mut().insert(TransportSecurity { secure });
            let mut response = service.call(req).await?;
            if secure && let Some(hsts) = &config.hsts {
                let headers = response.headers_mut();
                if !headers.contains_key(header::STRICT_TRANSPORT_SECURITY) {
                    headers.insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
                }
            }
            Ok(response.map_into_left_body())
        })
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn client(config: &Config, headers: &[(&str, &str)]) -> Option<SocketAddr> {
        let mut request = TestRequest::default().peer_addr("10.0.0.2:443".parse().unwrap());
        for (name, value) in headers {
            request = request.append_header((*name, *value));
        }
        config.forwarded_client(&request.to_srv_request())
    }

    fn config() -> Config {
        let https = RequireHttps::new()
            .trusted_proxies(["10.0.0.2".parse().unwrap(), "10.0.0.3".parse().unwrap()]);
        Config::clone(&https.config)
    }

    #[test]
    fn nodes_parse_as_rfc_7239_writes_them() {
        let node = |text| parse_node(text).map(|addr| addr.to_string());
        assert_eq!(node("192.0.2.60").as_deref(), Some("192.0.2.60:0"));
        assert_eq!(
            node(" 192.0.2.60:8080 ").as_deref(),
            Some("192.0.2.60:8080")
        );
        assert_eq!(
            node("\"[2001:db8:cafe::17]:4711\"").as_deref(),
            Some("[2001:db8:cafe::17]:4711")
        );
        assert_eq!(node("[2001:db8::1]").as_deref(), Some("[2001:db8::1]:0"));
        assert_eq!(node("2001:db8::1").as_deref(), Some("[2001:db8::1]:0"));
        assert_eq!(
            node("::ffff:192.0.2.1").as_deref(),
            Some("192.0.2.1:0"),
            "canonical"
        );
        for bad in ["unknown", "_hidden", "", "example.com", "[::1", "300.1.1.1"] {
            assert_eq!(node(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_client_is_the_rightmost_hop_that_is_not_a_trusted_proxy() {
        let config = config();
        let ip = |headers: &[(&str, &str)]| client(&config, headers).map(|a| a.ip().to_string());
        assert_eq!(
            ip(&[("x-forwarded-for", "203.0.113.1")]).as_deref(),
            Some("203.0.113.1")
        );
        // Whatever the client wrote further left is not believed.
        assert_eq!(
            ip(&[("x-forwarded-for", "1.2.3.4, 203.0.113.1")]).as_deref(),
            Some("203.0.113.1")
        );
        // Trusted hops are skipped, across several header lines.
        assert_eq!(
            ip(&[
                ("x-forwarded-for", "1.2.3.4, 203.0.113.1"),
                ("x-forwarded-for", "10.0.0.3")
            ])
            .as_deref(),
            Some("203.0.113.1")
        );
        // Only trusted hops: the leftmost is as far as the chain goes.
        assert_eq!(
            ip(&[("x-forwarded-for", "10.0.0.3, 10.0.0.2")]).as_deref(),
            Some("10.0.0.3")
        );
        // RFC 7239 `for=`, quoted IPv6 with a port, other parameters around it.
        assert_eq!(
            ip(&[(
                "forwarded",
                "for=1.2.3.4, for=\"[2001:db8::9]:4711\";proto=https;by=10.0.0.3"
            )])
            .as_deref(),
            Some("2001:db8::9")
        );
        // An obfuscated or unknown hop before any client: nobody is believed.
        assert_eq!(ip(&[("forwarded", "for=unknown")]), None);
        assert_eq!(ip(&[("x-forwarded-for", "1.2.3.4, garbage")]), None);
        // No header: no forwarded client.
        assert_eq!(ip(&[]), None);
    }

    #[test]
    fn proxies_in_a_trusted_network_are_skipped_and_believed() {
        let https = RequireHttps::new()
            .trusted_proxies(["203.0.113.9".parse().unwrap()])
            .trusted_proxy_networks(["192.0.2.1".parse().unwrap(), "10.0.0.0/16".parse().unwrap()]);
        let config = Config::clone(&https.config);
        // The peer, 10.0.0.2, is in the block: its headers are believed.
        let ip = |headers: &[(&str, &str)]| client(&config, headers).map(|a| a.ip().to_string());
        assert_eq!(
            ip(&[("x-forwarded-for", "203.0.113.1, 10.0.77.1, 192.0.2.1")]).as_deref(),
            Some("203.0.113.1"),
            "both kinds of entries skipped"
        );
        assert_eq!(
            ip(&[("x-forwarded-for", "203.0.113.1, 10.1.0.1")]).as_deref(),
            Some("10.1.0.1"),
            "outside the block: a client"
        );
        let request = TestRequest::default()
            .peer_addr("10.0.200.9:443".parse().unwrap())
            .append_header(("x-forwarded-proto", "https"))
            .to_srv_request();
        assert_eq!(config.transport(&request), (true, true));
        // Each setter replaces the list: the address given first is no longer trusted.
        let replaced = TestRequest::default()
            .peer_addr("203.0.113.9:443".parse().unwrap())
            .append_header(("x-forwarded-proto", "https"))
            .to_srv_request();
        assert_eq!(config.transport(&replaced), (false, false));
        let outside = TestRequest::default()
            .peer_addr("10.1.0.9:443".parse().unwrap())
            .append_header(("x-forwarded-proto", "https"))
            .to_srv_request();
        assert_eq!(config.transport(&outside), (false, false));
    }
}
