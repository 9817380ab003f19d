//! `mailmfa client add|list|remove`: the login service's API clients.

use clap::Subcommand;
use serde_json::json;

use super::CliResult;
use super::output::{Output, table, when};
use super::values::{Networks, UrlPrefixes};
use crate::domain::{PostOfficeName, WebOrigin};
use crate::service::{ClientScope, Service};

/// `mailmfa client …`
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Create an API client and print its key (shown once; only a hash is kept).
    Add {
        /// Its name, e.g. the webmail's host name.
        name: String,
        /// Networks it may call from, comma-separated (CIDR); default: any.
        #[arg(long, value_name = "CIDR,…")]
        allow: Option<Networks>,
        /// URL prefixes its hosted sign-in pages may return to, comma-separated.
        #[arg(long = "return-url", value_name = "PREFIX,…")]
        return_url: Option<UrlPrefixes>,
        /// The only post offices whose mailboxes it may act for, comma-separated; default: all.
        /// Name them when several mail servers share one login service.
        #[arg(long = "postoffice", value_name = "NAME,…", value_delimiter = ',')]
        postoffices: Vec<PostOfficeName>,
        /// It may read the metrics (`GET /v1/metrics`, the Prometheus text format) from wherever
        /// it may call from: for a Prometheus server on another machine. Without a key, only
        /// this machine may read them.
        #[arg(long)]
        metrics: bool,
        /// A web origin on which the webmail runs the passkey ceremony on its own pages
        /// (https://host[:port]; http:// only for localhost), repeated or comma-separated; the
        /// first one's host is the RP ID, and the others must be on it.
        #[arg(long = "origin", value_name = "ORIGIN", value_delimiter = ',')]
        origins: Vec<WebOrigin>,
    },
    /// List the API clients.
    List,
    /// Remove an API client: its key stops working at once.
    Remove {
        /// Its name.
        name: String,
    },
}

/// Runs a `client` command.
pub fn run(service: &Service, command: ClientCommand) -> CliResult {
    match command {
        ClientCommand::Add { name, allow, return_url, postoffices, metrics, origins } => {
            let scope = ClientScope {
                allow: allow.map(|n| n.0).unwrap_or_default(),
                return_urls: return_url.map(|u| u.0).unwrap_or_default(),
                postoffices,
                metrics,
                origins,
            };
            let (client, key) = service.add_client(&name, &scope)?;
            Ok(Output::done(
                format!(
                    "Created the API client {}. Its key, shown only now:\n{}\nGive it to the webmail as Authorization: Bearer KEY.",
                    client.name,
                    key.0.as_str()
                ),
                json!({"name": client.name, "key": key.0.as_str(), "allow": client.allow, "return_urls": client.return_urls,
                       "postoffices": client.postoffices, "metrics": client.metrics, "origins": client.origins}),
            ))
        }
        ClientCommand::List => {
            let list = service.clients()?;
            let rows = list
                .iter()
                .map(|c| {
                    vec![
                        c.name.clone(),
                        if c.allow.is_empty() { "any".to_owned() } else { c.allow.join(", ") },
                        if c.postoffices.is_empty() { "all".to_owned() } else { c.postoffices.join(", ") },
                        if c.metrics { "yes" } else { "no" }.to_owned(),
                        c.return_urls.join(", "),
                        if c.origins.is_empty() { "-".to_owned() } else { c.origins.join(", ") },
                        when(c.created_at),
                        c.last_used.map(when).unwrap_or_else(|| "never".to_owned()),
                    ]
                })
                .collect::<Vec<_>>();
            let value = list
                .iter()
                .map(|c| {
                    json!({"name": c.name, "allow": c.allow, "postoffices": c.postoffices, "metrics": c.metrics,
                           "return_urls": c.return_urls, "origins": c.origins, "created": when(c.created_at),
                           "last_used": c.last_used.map(when)})
                })
                .collect::<Vec<_>>();
            Ok(Output::data(
                table(
                    &[
                        "CLIENT",
                        "ALLOWED FROM",
                        "POST OFFICES",
                        "METRICS",
                        "RETURN URLS",
                        "PASSKEY ORIGINS",
                        "CREATED",
                        "LAST USED",
                    ],
                    &rows,
                ),
                value.into(),
            ))
        }
        ClientCommand::Remove { name } => {
            service.remove_client(&name)?;
            Ok(Output::done(format!("Removed the API client {name}."), json!({"name": name, "removed": true})))
        }
    }
}
