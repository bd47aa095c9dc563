//! [`ProxyNetwork`]: an address block of trusted proxies, in CIDR notation.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A block of proxy addresses in CIDR notation (`10.0.0.0/8`, `fd00::/8`), or one address
/// (`10.0.0.2`, the same as `10.0.0.2/32`), for
/// [`RequireHttps::trusted_proxy_networks`](crate::RequireHttps::trusted_proxy_networks):
/// load balancers whose addresses change within their own subnet. Every host in a block
/// can forge forwarded headers: never list a range shared with other workloads.
///
/// Parsing is strict, so that a typo does not trust more than meant:
/// - the address must be the network's first address (`10.0.0.1/8` is refused: did you
///   mean `10.0.0.0/8`?);
/// - a prefix of `/0` is refused: it would believe forwarded headers from everybody,
///   which is what trusting proxies exists to prevent;
/// - an IPv4-mapped IPv6 block (`::ffff:10.0.0.0/104`) is the IPv4 block it maps
///   (`10.0.0.0/8`), as peers' addresses are compared in that form. So an IPv6 block
///   shorter than `/96` that spans the mapped range (`::/8`) matches no IPv4 peer: list
///   IPv4 proxies as IPv4 blocks.
///
/// # Examples
///
/// ```
/// use auth_actix::ProxyNetwork;
///
/// let vpc: ProxyNetwork = "10.0.0.0/16".parse()?;
/// assert!(vpc.contains("10.0.42.7".parse().unwrap()));
/// assert!(!vpc.contains("10.1.0.1".parse().unwrap()));
/// assert!("10.0.0.1/16".parse::<ProxyNetwork>().is_err());
/// # Ok::<(), auth_actix::ProxyNetworkError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProxyNetwork {
    addr: IpAddr,
    prefix: u8,
}

/// Why a [`ProxyNetwork`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyNetworkError {
    /// Not `address` or `address/prefix`.
    #[error("`{0}` is not an IP address or an address block such as 10.0.0.0/8")]
    Syntax(String),
    /// The prefix is longer than the address (32 bits for IPv4, 128 for IPv6).
    #[error("`{0}`: the prefix length is larger than the address")]
    PrefixTooLong(String),
    /// `/0`: every address.
    #[error("`{0}` would trust forwarded headers from every address; list the proxies' own block")]
    Everything(String),
    /// Bits set after the prefix.
    #[error("`{given}` has bits set after the prefix; did you mean `{meant}`?")]
    HostBits {
        /// What was given.
        given: String,
        /// The block it falls in.
        meant: String,
    },
}

impl ProxyNetwork {
    /// The block of `addr` with `prefix` leading bits.
    ///
    /// # Errors
    ///
    /// See [`ProxyNetworkError`].
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Self, ProxyNetworkError> {
        let given = || format!("{addr}/{prefix}");
        let (addr, prefix) = match addr {
            IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
                Some(v4) => (IpAddr::V4(v4), prefix - 96),
                None => (addr, prefix),
            },
            _ => (addr, prefix),
        };
        let bits = max_prefix(addr);
        if prefix > bits {
            return Err(ProxyNetworkError::PrefixTooLong(given()));
        }
        if prefix == 0 {
            return Err(ProxyNetworkError::Everything(given()));
        }
        let network = Self { addr, prefix };
        let first = network.first();
        if first != addr {
            return Err(ProxyNetworkError::HostBits {
                given: given(),
                meant: format!("{first}/{prefix}"),
            });
        }
        Ok(network)
    }

    /// The block's first address.
    #[must_use]
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    #[must_use]
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is in the block (an IPv4-mapped IPv6 address counts as its IPv4
    /// address).
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX << (32 - u32::from(self.prefix));
                u32::from(ip) & mask == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX << (128 - u32::from(self.prefix));
                u128::from(ip) & mask == u128::from(net)
            }
            _ => false,
        }
    }

    fn first(&self) -> IpAddr {
        // `prefix` is 1..=bits here.
        match self.addr {
            IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(
                u32::from(v4) & (u32::MAX << (32 - u32::from(self.prefix))),
            )),
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(
                u128::from(v6) & (u128::MAX << (128 - u32::from(self.prefix))),
            )),
        }
    }
}

/// IPv4-mapped IPv6 addresses compare as the IPv4 address they carry (peers, forwarded
/// hops and blocks alike).
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

fn max_prefix(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

impl From<IpAddr> for ProxyNetwork {
    /// The one address `addr` (`/32` or `/128`).
    fn from(addr: IpAddr) -> Self {
        let addr = canonical(addr);
        Self {
            addr,
            prefix: max_prefix(addr),
        }
    }
}

impl FromStr for ProxyNetwork {
    type Err = ProxyNetworkError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let syntax = || ProxyNetworkError::Syntax(text.to_owned());
        match text.split_once('/') {
            None => Ok(Self::from(text.parse::<IpAddr>().map_err(|_| syntax())?)),
            Some((addr, prefix)) => {
                let addr: IpAddr = addr.parse().map_err(|_| syntax())?;
                // Digits only: `u8::from_str` would take a leading `+`.
                if prefix.is_empty()
                    || prefix.len() > 3
                    || !prefix.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(syntax());
                }
                let prefix: u8 = prefix.parse().map_err(|_| syntax())?;
                Self::new(addr, prefix)
            }
        }
    }
}

impl fmt::Display for ProxyNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> ProxyNetwork {
        text.parse().unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn blocks_contain_their_addresses_and_nothing_else() {
        let v4 = net("10.1.0.0/16");
        assert!(v4.contains(ip("10.1.0.0")));
        assert!(v4.contains(ip("10.1.255.255")));
        assert!(v4.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped");
        assert!(!v4.contains(ip("10.2.0.0")));
        assert!(!v4.contains(ip("10.0.255.255")));
        assert!(
            !v4.contains(ip("::a01:203")),
            "IPv4-compatible is not mapped"
        );
        let v6 = net("fd00:1::/32");
        assert!(v6.contains(ip("fd00:1::1")));
        assert!(v6.contains(ip("fd00:1:ffff:ffff:ffff:ffff:ffff:ffff")));
        assert!(!v6.contains(ip("fd00:2::1")));
        assert!(!v6.contains(ip("10.1.0.1")));
        let one = net("192.0.2.7");
        assert_eq!(one, net("192.0.2.7/32"));
        assert!(one.contains(ip("192.0.2.7")));
        assert!(!one.contains(ip("192.0.2.6")));
        assert!(net("::1").contains(ip("::1")));
        assert!(net("255.255.255.255/32").contains(ip("255.255.255.255")));
        assert!(net("128.0.0.0/1").contains(ip("200.0.0.1")));
        assert!(!net("128.0.0.0/1").contains(ip("127.255.255.255")));
    }

    #[test]
    fn mapped_blocks_are_their_ipv4_blocks() {
        assert_eq!(net("::ffff:10.0.0.0/104"), net("10.0.0.0/8"));
        assert_eq!(net("::ffff:10.0.0.1"), net("10.0.0.1"));
        assert_eq!(net("10.0.0.0/8").to_string(), "10.0.0.0/8");
    }

    #[test]
    fn mistakes_are_refused_with_what_was_meant() {
        assert_eq!(
            "10.0.0.1/8".parse::<ProxyNetwork>(),
            Err(ProxyNetworkError::HostBits {
                given: "10.0.0.1/8".into(),
                meant: "10.0.0.0/8".into()
            })
        );
        assert!(
            "10.0.0.1/8"
                .parse::<ProxyNetwork>()
                .unwrap_err()
                .to_string()
                .contains("did you mean `10.0.0.0/8`?")
        );
        for everything in ["0.0.0.0/0", "::/0", "::ffff:0.0.0.0/96"] {
            assert!(
                matches!(
                    everything.parse::<ProxyNetwork>(),
                    Err(ProxyNetworkError::Everything(_))
                ),
                "{everything}"
            );
        }
        for too_long in ["10.0.0.0/33", "::/129"] {
            assert!(
                matches!(
                    too_long.parse::<ProxyNetwork>(),
                    Err(ProxyNetworkError::PrefixTooLong(_))
                ),
                "{too_long}"
            );
        }
        for bad in [
            "",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0.0/8/8",
            "10.0.0/8",
            "proxy",
            "/8",
            "10.0.0.0/0008",
        ] {
            assert!(
                matches!(
                    bad.parse::<ProxyNetwork>(),
                    Err(ProxyNetworkError::Syntax(_))
                ),
                "{bad}"
            );
        }
    }
}
