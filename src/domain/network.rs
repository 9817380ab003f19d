//! IP networks in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`): the source ranges an API client
//! may call from, and the trusted networks and proxies of the policy. Parsed strictly: a prefix
//! longer than the address, or host bits set under the prefix, is a clear error, not a guess.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use super::DomainError;

/// A network: an address whose bits past the prefix are zero, and the prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNetwork {
    addr: IpAddr,
    prefix: u8,
}

impl IpNetwork {
    /// Whether `ip` is in the network; IPv4-mapped IPv6 addresses count as the IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => mask(u32::from(ip).into(), 32, self.prefix) == u32::from(net).into(),
            (IpAddr::V6(net), IpAddr::V6(ip)) => mask(u128::from(ip), 128, self.prefix) == u128::from(net),
            _ => false,
        }
    }
}

/// `bits` with everything past the first `prefix` of `width` bits cleared.
fn mask(bits: u128, width: u8, prefix: u8) -> u128 {
    if prefix == 0 {
        return 0;
    }
    let keep = width - prefix;
    (bits >> keep) << keep
}

impl FromStr for IpNetwork {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let what = "network";
        if raw.len() > 64 {
            return Err(DomainError::TooLong { what, max: 64 });
        }
        let text = raw.trim();
        let (addr_text, prefix_text) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr_text.parse().map_err(|_| {
            DomainError::invalid(what, raw, "expected an address or a network such as 10.0.0.0/8 or 2001:db8::/32")
        })?;
        let addr = addr.to_canonical();
        let width: u8 = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix_text {
            None => width,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= width && !p.starts_with('+') => n,
                _ => {
                    return Err(DomainError::invalid(
                        what,
                        raw,
                        format!("the prefix must be a number from 0 to {width}"),
                    ));
                }
            },
        };
        let bits = match addr {
            IpAddr::V4(v4) => u128::from(u32::from(v4)),
            IpAddr::V6(v6) => u128::from(v6),
        };
        let masked = mask(bits, width, prefix);
        if masked != bits {
            let network = match addr {
                IpAddr::V4(_) => IpAddr::from(std::net::Ipv4Addr::from(masked as u32)),
                IpAddr::V6(_) => IpAddr::from(std::net::Ipv6Addr::from(masked)),
            };
            return Err(DomainError::invalid(
                what,
                raw,
                format!("it has host bits set past /{prefix}; did you mean {network}/{prefix}?"),
            ));
        }
        Ok(Self { addr, prefix })
    }
}

impl fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// A comma-separated list of networks, as settings and `--allow` take it (empty = none).
pub fn parse_networks(raw: &str) -> Result<Vec<IpNetwork>, DomainError> {
    comma_list(raw).map(str::parse).collect()
}

/// Networks as settings, the store and people read them: `10.0.0.0/8, 2001:db8::/32`
/// ([`parse_networks`] reads it back).
pub fn join_networks(networks: &[IpNetwork]) -> String {
    networks.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// A comma-separated list of the URL prefixes hosted sign-in pages may return to, as
/// `--return-url` and the console take it (empty = none).
pub fn parse_url_prefixes(raw: &str) -> Result<Vec<String>, DomainError> {
    comma_list(raw).map(|url| check_url_prefix(url).map(|()| url.to_owned())).collect()
}

/// A URL prefix a sign-in page may return to: `https://` (or `http://`), no spaces.
pub fn check_url_prefix(url: &str) -> Result<(), DomainError> {
    if (url.starts_with("https://") || url.starts_with("http://")) && !url.contains(char::is_whitespace) {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "return URL prefix",
            url,
            "expected a URL starting with https:// (or http://), without spaces",
        ))
    }
}

fn comma_list(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(',').map(str::trim).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_contain_their_addresses() {
        let net: IpNetwork = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains("10.200.3.4".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(!net.contains("2001:db8::1".parse().unwrap()));
        let v6: IpNetwork = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        let host: IpNetwork = "192.0.2.7".parse().unwrap();
        assert_eq!(host.to_string(), "192.0.2.7/32");
        assert!(host.contains("192.0.2.7".parse().unwrap()) && !host.contains("192.0.2.8".parse().unwrap()));
        let all: IpNetwork = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("203.0.113.1".parse().unwrap()));
    }

    #[test]
    fn nonsense_is_refused_with_a_reason() {
        for (raw, hint) in [
            ("10.0.0.0/33", "from 0 to 32"),
            ("2001:db8::/129", "from 0 to 128"),
            ("10.0.0.1/8", "did you mean 10.0.0.0/8"),
            ("2001:db8::1/32", "did you mean 2001:db8::/32"),
            ("10.0.0.0/-1", "prefix"),
            ("10.0.0.0/+8", "prefix"),
            ("10.0.0/8", "expected an address"),
            ("", "expected an address"),
            ("example.com/24", "expected an address"),
        ] {
            let err = raw.parse::<IpNetwork>().unwrap_err().to_string();
            assert!(err.contains(hint), "{raw}: {err}");
        }
        assert_eq!(parse_networks("10.0.0.0/8, 192.0.2.0/24,").unwrap().len(), 2);
        assert!(parse_networks("10.0.0.0/8,bogus").is_err());
    }
}
