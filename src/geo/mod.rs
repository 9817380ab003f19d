//! IP address → country lookup for the "login from a new country" policy.
//!
//! The policy only needs the ISO 3166-1 alpha-2 code of the country an
//! address belongs to. [`CountryLookup`] is the small interface the rest of
//! the product uses; [`MmdbCountryLookup`] implements it on top of a MaxMind
//! DB (`.mmdb`) file and [`NoCountryLookup`] is the stand-in used when no
//! database is configured.
//!
//! A redistributable country database (ip-location-db's IPtoASN country
//! database, PDDL licence) ships with the product; [`bundled_database_path`]
//! finds it at run time.

mod bundled;
mod error;
mod mmdb;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use bundled::{BUNDLED_DATABASE_FILE, bundled_database_candidates, bundled_database_path};
pub use error::GeoError;
pub use mmdb::{MmdbCountryLookup, times_opened};

/// Resolves an IP address to the country it is located in.
pub trait CountryLookup: Send + Sync {
    /// Returns the ISO 3166-1 alpha-2 country code of `ip`, upper-cased
    /// (for example `"DE"`).
    ///
    /// Returns `None` when the address is not in the database, is not a
    /// public address (private, loopback, link-local, …), or its record has
    /// no valid country code. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`)
    /// resolve exactly like the IPv4 address they carry.
    fn country(&self, ip: IpAddr) -> Option<String>;
}

/// A [`CountryLookup`] that knows no country: every lookup returns `None`.
///
/// Used when no GeoIP database is configured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoCountryLookup;

impl CountryLookup for NoCountryLookup {
    fn country(&self, _ip: IpAddr) -> Option<String> {
        None
    }
}

/// Upper-cases `code` if it is exactly two ASCII letters, else `None`.
fn normalise_country_code(code: &str) -> Option<String> {
    let bytes = code.as_bytes();
    if bytes.len() == 2 && bytes.iter().all(u8::is_ascii_alphabetic) { Some(code.to_ascii_uppercase()) } else { None }
}

/// Whether `ip` (already canonicalised) can never have a country: it is not
/// a globally routed unicast address.
fn is_non_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_non_public_v4(v4),
        IpAddr::V6(v6) => is_non_public_v6(v6),
    }
}

fn is_non_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || a == 0 // "this network", 0.0.0.0/8
        || (a == 100 && (b & 0xc0) == 64) // shared address space (CGNAT), 100.64.0.0/10
        || a >= 240 // reserved, 240.0.0.0/4
}

fn is_non_public_v6(ip: Ipv6Addr) -> bool {
    ip.is_unspecified() || ip.is_loopback() || ip.is_unique_local() || ip.is_unicast_link_local() || ip.is_multicast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_codes() {
        assert_eq!(normalise_country_code("de").as_deref(), Some("DE"));
        assert_eq!(normalise_country_code("Us").as_deref(), Some("US"));
        assert_eq!(normalise_country_code("XYZ"), None);
        assert_eq!(normalise_country_code(""), None);
        assert_eq!(normalise_country_code("D1"), None);
        assert_eq!(normalise_country_code("ÄÖ"), None);
    }

    #[test]
    fn classifies_non_public_addresses() {
        for ip in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
        ] {
            let ip: IpAddr = ip.parse().expect("test address");
            assert!(is_non_public(ip), "{ip} should be non-public");
        }
        for ip in ["8.8.8.8", "100.128.0.1", "2001:4860:4860::8888"] {
            let ip: IpAddr = ip.parse().expect("test address");
            assert!(!is_non_public(ip), "{ip} should be public");
        }
    }

    #[test]
    fn no_country_lookup_knows_nothing() {
        assert_eq!(NoCountryLookup.country("8.8.8.8".parse().expect("ip")), None);
    }
}
