//! Passkeys and security keys (WebAuthn credentials) as administrators and users see them: a
//! mailbox's credentials by name, and the web origins an API client runs the ceremony on.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use url::Url;

use super::DomainError;
use crate::clock::UnixTime;

/// The name of a passkey, as its user tells their passkeys apart: 1–64 characters on one line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct PasskeyName(String);

impl PasskeyName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name a new passkey gets when its mailbox already has `taken` (`Passkey`, `Passkey 2`, …).
    pub fn first_free(taken: &[PasskeyName]) -> Self {
        (1..)
            .map(|n| if n == 1 { Self("Passkey".to_owned()) } else { Self(format!("Passkey {n}")) })
            .find(|name| !taken.contains(name))
            .unwrap_or_else(|| Self("Passkey".to_owned()))
    }
}

impl FromStr for PasskeyName {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(DomainError::Empty("passkey's name"));
        }
        if name.chars().count() > 64 {
            return Err(DomainError::TooLong { what: "passkey's name", max: 64 });
        }
        if name.chars().any(char::is_control) {
            return Err(DomainError::invalid("passkey's name", raw, "it must be one line of text"));
        }
        Ok(Self(name.to_owned()))
    }
}

impl fmt::Display for PasskeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A mailbox's passkey as administrators see it (the public key stays in the store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Passkey {
    /// Its name.
    pub name: PasskeyName,
    /// The authenticator model's AAGUID as the browser reported it (all zeros when it hides it).
    pub aaguid: Option<String>,
    /// The signature counter last seen (0: the authenticator keeps none, as synced passkeys).
    pub counter: u32,
    /// When it was registered.
    #[serde(serialize_with = "crate::clock::serialize_utc_time")]
    pub created_at: UnixTime,
    /// When it last signed a login in.
    #[serde(serialize_with = "crate::clock::serialize_utc")]
    pub last_used_at: Option<UnixTime>,
}

/// A web origin on which a webmail runs the passkey ceremony itself (`client add --origin`):
/// `https://host[:port]`, or `http://localhost[:port]` for a test. Its host is a domain name, as
/// WebAuthn's RP ID must be (an IP address is not one); no path, query or fragment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WebOrigin(String);

impl WebOrigin {
    /// The origin as browsers write it (`https://mail.example.com`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its host: the RP ID a ceremony on it uses.
    pub fn host(&self) -> &str {
        let rest = self.0.split_once("://").map_or(self.0.as_str(), |(_, rest)| rest);
        rest.split(':').next().unwrap_or(rest)
    }
}

impl FromStr for WebOrigin {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        const WHAT: &str = "origin";
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(DomainError::Empty(WHAT));
        }
        if raw.len() > 253 {
            return Err(DomainError::TooLong { what: WHAT, max: 253 });
        }
        let url = Url::parse(raw).map_err(|_| DomainError::invalid(WHAT, raw, "expected https://host[:port]"))?;
        let Some(url::Host::Domain(host)) = url.host() else {
            return Err(DomainError::invalid(WHAT, raw, "its host must be a domain name, not an IP address"));
        };
        match url.scheme() {
            "https" => {}
            "http" if host == "localhost" => {}
            _ => return Err(DomainError::invalid(WHAT, raw, "use https:// (http:// only for localhost)")),
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
            return Err(DomainError::invalid(WHAT, raw, "an origin has no path, query or user"));
        }
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        Ok(Self(format!("{}://{host}{port}", url.scheme())))
    }
}

impl fmt::Display for WebOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for WebOrigin {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Origins as `client add --origin` takes them: comma-separated, each once.
pub fn parse_origins(raw: &str) -> Result<Vec<WebOrigin>, DomainError> {
    let mut origins: Vec<WebOrigin> = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let origin: WebOrigin = part.parse()?;
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    Ok(origins)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_https_domains_or_localhost() {
        let ok: WebOrigin = "https://Mail.Example.com/".parse().unwrap();
        assert_eq!((ok.as_str(), ok.host()), ("https://mail.example.com", "mail.example.com"));
        let local: WebOrigin = "http://localhost:8080".parse().unwrap();
        assert_eq!((local.as_str(), local.host()), ("http://localhost:8080", "localhost"));
        for bad in ["http://mail.example.com", "https://192.0.2.1", "https://mail.example.com/webmail", "mail", ""] {
            assert!(bad.parse::<WebOrigin>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_new_passkey_gets_the_first_free_name() {
        assert_eq!(PasskeyName::first_free(&[]).as_str(), "Passkey");
        let taken = ["Passkey".parse().unwrap(), "Passkey 3".parse().unwrap()];
        assert_eq!(PasskeyName::first_free(&taken).as_str(), "Passkey 2");
    }
}
