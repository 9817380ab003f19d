//! API clients: the programs that call the login service, each with a key of which only a keyed
//! hash is kept, the networks it may call from and the return URLs of its hosted sign-ins.

use std::sync::Arc;

use base64::Engine as _;
use serde::Serialize;

use super::{ApiRequest, CallContext, Caller, Done};
use crate::clock::UnixTime;
use crate::domain::{IpNetwork, MailboxAddress, PostOfficeName, WebOrigin, parse_networks};
use crate::service::crypto::to_hex;
use crate::service::engine::RelyingParty;
use crate::service::store::{ClientRow, Tx};
use crate::service::{Service, ServiceError, ServiceResult};

/// The prefix of every API key.
const KEY_PREFIX: &str = "mmfa_";

/// An API client as administrators see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiClient {
    /// Its name.
    pub name: String,
    /// The source networks it may call from (none: any).
    pub allow: Vec<String>,
    /// The prefixes its hosted sign-in pages may return to.
    pub return_urls: Vec<String>,
    /// The post offices it may act for (none: all).
    pub postoffices: Vec<String>,
    /// Whether it may read the metrics (`GET /v1/metrics`) from wherever it may call from.
    pub metrics: bool,
    /// The web origins it runs passkey ceremonies on (none: only the hosted pages').
    pub origins: Vec<String>,
    /// When it was made.
    pub created_at: UnixTime,
    /// When it last called, if ever.
    pub last_used: Option<UnixTime>,
}

impl ApiClient {
    fn of(row: &ClientRow) -> Self {
        let list = |text: &str| text.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect();
        Self {
            name: row.name.clone(),
            allow: list(&row.allow),
            return_urls: list(&row.return_urls),
            postoffices: list(&row.postoffices),
            metrics: row.metrics,
            origins: list(&row.origins),
            created_at: row.created_at,
            last_used: row.last_used,
        }
    }
}

/// What an API client may do, as its administrator sets it: where it may call from, where its
/// hosted sign-ins may return to, which post offices' mailboxes it may act for, and whether it may
/// read the metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientScope {
    /// The source networks it may call from (none: any).
    pub allow: Vec<IpNetwork>,
    /// The prefixes its hosted sign-in pages may return to.
    pub return_urls: Vec<String>,
    /// The post offices it may act for (none: all).
    pub postoffices: Vec<PostOfficeName>,
    /// Whether it may read the metrics (`GET /v1/metrics`).
    pub metrics: bool,
    /// The web origins it runs passkey ceremonies on; the first one's host is their RP ID.
    pub origins: Vec<WebOrigin>,
}

/// A new client's key, shown once: `mmfa_<id>_<secret>`.
pub struct ClientKey(pub zeroize::Zeroizing<String>);

/// `GET /v1/metrics` with a key: the metrics are for a client given them (`client add --metrics`).
#[derive(Debug, Clone, Copy)]
pub struct MetricsRequest;

impl ApiRequest for MetricsRequest {
    type Answer = ();

    fn action(&self) -> &'static str {
        "metrics.read"
    }

    fn run(&self, cx: &CallContext<'_>) -> ServiceResult<Done<()>> {
        if cx.client()?.metrics { Ok(Done::only(())) } else { Err(ServiceError::MetricsNotAllowed) }
    }
}

impl Service {
    /// Creates an API client and returns its key, which is never shown again: the store keeps only
    /// a keyed hash of it.
    pub fn add_client(&self, name: &str, scope: &ClientScope) -> ServiceResult<(ApiClient, ClientKey)> {
        let name = client_name(name)?;
        for url in &scope.return_urls {
            crate::domain::check_url_prefix(url)?;
        }
        let mut origins: Vec<&str> = Vec::new();
        for origin in scope.origins.iter().map(WebOrigin::as_str) {
            if !origins.contains(&origin) {
                origins.push(origin);
            }
        }
        RelyingParty::of(&scope.origins)?;
        let origins = origins.join(",");
        let mut id = [0u8; 6];
        let mut secret = zeroize::Zeroizing::new([0u8; 24]);
        self.world.random.fill(&mut id)?;
        self.world.random.fill(secret.as_mut())?;
        let id = to_hex(&id);
        let secret = zeroize::Zeroizing::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret.as_ref()));
        let key = ClientKey(zeroize::Zeroizing::new(format!("{KEY_PREFIX}{id}_{}", secret.as_str())));
        let allow_text = scope.allow.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
        let postoffices = scope.postoffices.iter().map(PostOfficeName::as_str).collect::<Vec<_>>().join(",");
        let row = self.audited("client.add", None, |tx| {
            for postoffice in &scope.postoffices {
                super::super::admin::existing_postoffice(tx, postoffice)?;
            }
            let row = ClientRow {
                key_hash: tx.key().code_hash(&key_context(&id), &secret),
                id: id.clone(),
                name: name.clone(),
                allow: allow_text.clone(),
                return_urls: scope.return_urls.join(","),
                postoffices: postoffices.clone(),
                metrics: scope.metrics,
                origins: origins.clone(),
                created_at: self.now(),
                last_used: None,
            };
            if !tx.insert_client(&row)? {
                return Err(ServiceError::ClientExists(name.clone()));
            }
            let shown = |list: &str| if list.is_empty() { "any".to_owned() } else { list.to_owned() };
            let metrics = if scope.metrics { " metrics=yes" } else { "" };
            let origins = if origins.is_empty() { String::new() } else { format!(" origins={origins}") };
            let detail = format!(
                "client={name} allow={} postoffices={}{metrics}{origins}",
                shown(&allow_text),
                shown(&postoffices)
            );
            Ok((row, detail))
        })?;
        Ok((ApiClient::of(&row), key))
    }

    /// Every API client, by name.
    pub fn clients(&self) -> ServiceResult<Vec<ApiClient>> {
        Ok(self.store.read(|tx| tx.clients())?.iter().map(ApiClient::of).collect())
    }

    /// Removes an API client: its key stops working at once, and its open transactions end.
    pub fn remove_client(&self, name: &str) -> ServiceResult<()> {
        let name = client_name(name)?;
        self.audited("client.remove", None, |tx| {
            if !tx.delete_client(&name)? {
                return Err(ServiceError::NoClient(name.clone()));
            }
            Ok(((), format!("client={name}")))
        })
    }

    /// The client the key belongs to, calling from an allowed address and within its rate; every
    /// refusal audited (by the caller of this, after its savepoint is rolled back). The client's
    /// budget is spent only once its key is verified; a failed key is counted against its source.
    pub(super) fn authenticate(&self, tx: &Tx<'_>, caller: &Caller) -> ServiceResult<ClientRow> {
        let clients_version = self.world.current(tx)?.clients_version;
        let client = self.verified_client(tx, caller, clients_version);
        if let Some(budget) = &caller.budget {
            match &client {
                Ok(client) => budget.client(&client.id).map_err(ServiceError::TooManyRequests)?,
                Err(_) => budget.failed(caller.source),
            }
        }
        let client = client?;
        // The last-used time is to the second: one write per client per second is enough.
        let now = self.now();
        if client.last_used != Some(now) {
            tx.touch_client(&client.id, now)?;
            self.world.client_called(&client.id, now);
        }
        Ok(Arc::unwrap_or_clone(client))
    }

    /// The client whose key the caller sent, if the key is right and the caller's address one the
    /// client may call from. A key verified before, while the clients' version (as the caller's
    /// transaction read it) has not moved since, is compared with the one kept; any other is
    /// looked up and its keyed hash checked.
    pub(in crate::service) fn verified_client(
        &self,
        tx: &Tx<'_>,
        caller: &Caller,
        clients_version: i64,
    ) -> ServiceResult<Arc<ClientRow>> {
        if let Some(known) = self.verified_kept_client(caller, clients_version)? {
            return Ok(known);
        }
        let (id, secret) = sent_key(caller)?;
        let client = Arc::new(tx.client(id)?.ok_or(ServiceError::BadApiKey)?);
        if !tx.key().code_matches(&key_context(id), secret, &client.key_hash) {
            return Err(ServiceError::BadApiKey);
        }
        let networks: Arc<[IpNetwork]> =
            parse_networks(&client.allow).map_err(|e| ServiceError::Store(e.into()))?.into();
        self.world.remember_client(clients_version, Arc::clone(&client), secret, Arc::clone(&networks));
        from_where_allowed(client, &networks, caller)
    }

    /// The client whose key the caller sent, if that key was verified before at `clients_version`
    /// (`None` if it was not); refused if the key is malformed or the caller's address is not one
    /// the client may call from.
    pub(in crate::service) fn verified_kept_client(
        &self,
        caller: &Caller,
        clients_version: i64,
    ) -> ServiceResult<Option<Arc<ClientRow>>> {
        let (id, secret) = sent_key(caller)?;
        self.world
            .known_client(clients_version, id, secret)
            .map(|(client, networks)| from_where_allowed(client, &networks, caller))
            .transpose()
    }
}

/// The id and secret of the key the caller sent.
fn sent_key(caller: &Caller) -> ServiceResult<(&str, &str)> {
    let key = caller.key.as_deref().ok_or(ServiceError::NoApiKey)?;
    key.strip_prefix(KEY_PREFIX)
        .and_then(|rest| rest.split_once('_'))
        .filter(|(id, _)| id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or(ServiceError::BadApiKey)
}

/// `client`, if the caller's address is on its networks (or it has none).
fn from_where_allowed(
    client: Arc<ClientRow>,
    networks: &[IpNetwork],
    caller: &Caller,
) -> ServiceResult<Arc<ClientRow>> {
    if !networks.is_empty() && !networks.iter().any(|net| net.contains(caller.source)) {
        return Err(ServiceError::SourceNotAllowed(caller.source));
    }
    Ok(client)
}

fn key_context(id: &str) -> String {
    format!("api_client:{id}")
}

/// A client's name: 1–64 letters, digits, `.`, `-` or `_`.
fn client_name(raw: &str) -> ServiceResult<String> {
    let name = raw.trim();
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c)) {
        return Err(crate::domain::DomainError::invalid(
            "client name",
            raw,
            "use 1 to 64 letters, digits, '.', '-' or '_'",
        )
        .into());
    }
    Ok(name.to_owned())
}

/// Whether `client` may act for the mailbox `address`: its post office is one of the client's, or
/// the client may act for all.
pub(in crate::service) fn in_scope(client: &ClientRow, address: &MailboxAddress) -> ServiceResult<()> {
    let mut postoffices = client.postoffices.split(',').filter(|name| !name.is_empty()).peekable();
    if postoffices.peek().is_none() || postoffices.any(|name| name == address.postoffice.as_str()) {
        Ok(())
    } else {
        Err(ServiceError::OutOfScope(address.postoffice.clone()))
    }
}
