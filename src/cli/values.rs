//! Argument values of the command line's own that are not domain values: comma-separated lists.
//! clap parses them with their `FromStr`, so a handler gets them checked.

use std::str::FromStr;

use crate::domain::{DomainError, IpNetwork, parse_networks, parse_url_prefixes};

/// Networks, comma-separated (CIDR or single addresses); `""` is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Networks(pub Vec<IpNetwork>);

impl FromStr for Networks {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        parse_networks(raw).map(Self)
    }
}

/// URL prefixes, comma-separated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlPrefixes(pub Vec<String>);

impl FromStr for UrlPrefixes {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        parse_url_prefixes(raw).map(Self)
    }
}
