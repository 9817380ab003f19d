//! `mailmfa serve`: the login engine as a long-running HTTP service (docs/DESIGN.md §8). This face
//! parses HTTP and calls the service, as the command line parses arguments: [`http`] has the
//! routes, [`writer`] the group commit (one thread owns the store), [`limits`] the request rates,
//! [`observe`] the request ids, request lines and metrics ([`log`] where the lines go), and this
//! file the listener — plain HTTP only on a loopback address, HTTPS (rustls) anywhere else — with
//! its connection cap, read timeouts and graceful shutdown, and the start and stop lines.

mod admin;
mod api;
mod connections;
#[cfg(windows)]
#[allow(unsafe_code)]
mod eventlog;
mod failure;
mod http;
mod limits;
pub mod log;
mod mail;
mod metrics;
mod observe;
mod pages;
mod tally;
mod texts;
#[cfg(windows)]
pub mod windows;
mod writer;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tower::ServiceExt as _;

use self::connections::{Connections, MAX_CONNECTIONS};
use self::tally::Refusals;
pub use self::writer::MAX_BATCH;
use crate::domain::Actor;
use crate::service::{KeyFolder, Service, ServiceError, StoreLocation};

/// How long a client may take to send a request's head (and how long an idle connection stays).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long in-flight requests get to finish at shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// How `serve` was asked to run.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// `--listen`, else the setting `serve.listen`.
    pub listen: Option<SocketAddr>,
    /// Requests one commit may take (1: no group commit).
    pub max_batch: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self { listen: None, max_batch: MAX_BATCH }
    }
}

/// Why the service could not start or stopped.
#[derive(Debug, Error)]
pub enum ServeError {
    /// The store or the settings failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// Plain HTTP was asked for on an address other machines reach.
    #[error(
        "{0} is not a loopback address: other machines would send codes and keys in the clear. Set serve.tls_cert and serve.tls_key (PEM files) for HTTPS, or listen on 127.0.0.1 behind a reverse proxy that terminates TLS"
    )]
    NeedsTls(SocketAddr),
    /// Only one of the certificate and the key is set.
    #[error("set both serve.tls_cert and serve.tls_key, or neither")]
    HalfTls,
    /// A PEM file could not be read.
    #[error("cannot read the TLS {what} {path}: {reason}")]
    Pem {
        /// `certificate` or `key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// rustls refused the certificate and key.
    #[error("the TLS certificate and key do not fit together: {0}")]
    Tls(#[from] rustls::Error),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The runtime or the writer thread could not start.
    #[error("cannot start the service: {0}")]
    Start(std::io::Error),
}

/// Who the login service's connections act as when nothing else is said: what it finds on its
/// own (a country database it cannot read) names it; each request names its client or user, and
/// the web administration its administrator.
const ACTOR: Actor = Actor::Service("serve");

/// Runs the service until `shutdown` completes, then lets in-flight requests finish. Calls
/// `listening` with the bound address (and whether it speaks HTTPS) once it accepts connections.
/// The log has a line when it starts, and one when it stops — with why, if it failed.
pub fn run(
    location: &StoreLocation,
    keys: &KeyFolder,
    options: &ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
    listening: impl FnOnce(SocketAddr, bool),
) -> Result<(), ServeError> {
    let served = serve(location, keys, options, shutdown, listening);
    match &served {
        Ok(()) => tracing::info!(target: log::LIFECYCLE, "mailmfa serve stopped"),
        Err(e) => tracing::error!(target: log::LIFECYCLE, "mailmfa serve stopped: {e}"),
    }
    served
}

/// [`run`], before its stop line.
fn serve(
    location: &StoreLocation,
    keys: &KeyFolder,
    options: &ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
    listening: impl FnOnce(SocketAddr, bool),
) -> Result<(), ServeError> {
    let service = Service::open(location, keys)?.with_actor(ACTOR);
    let settings = service.typed_settings()?;
    let listen = options.listen.unwrap_or(settings.serve_listen);
    let tls = tls_acceptor(&settings.serve_tls_cert, &settings.serve_tls_key)?;
    if tls.is_none() && !listen.ip().is_loopback() {
        return Err(ServeError::NeedsTls(listen));
    }
    let store_kind = service.mode_word();
    let observer = observe::Observer::default();
    let limits = Arc::new(limits::RateLimits::new(settings.serve_ip_rate, settings.serve_client_rate));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(ServeError::Start)?;
    let (writer, writer_thread) =
        writer::Writer::start(service, options.max_batch, Arc::clone(&observer.metrics)).map_err(ServeError::Start)?;
    let public_url = Some(settings.serve_public_url.trim_end_matches('/').to_owned()).filter(|u| !u.is_empty());
    let trusted_proxies = Arc::new(settings.serve_trusted_proxies.clone());
    let per_address = usize::try_from(settings.serve_connections_per_address).unwrap_or(MAX_CONNECTIONS);
    let connections = Connections::new(per_address, settings.serve_trusted_proxies.clone());
    let refusals = Arc::new(Refusals::default());
    let mail = Arc::new(mail::MailDesk::open(location, keys)?);
    // The web administration (serve.admin) gets a store connection of its own; its cookies are
    // `Secure` where browsers reach it over HTTPS.
    let admin = if settings.serve_admin {
        let secure = tls.is_some() || public_url.as_deref().is_some_and(|url| url.starts_with("https://"));
        Some(Arc::new(admin::AdminDesk::open(location, keys, secure)?))
    } else {
        None
    };
    let state = http::AppState::new(http::Shared {
        writer: writer.clone(),
        limits,
        store_kind,
        public_url,
        trusted_proxies,
        refusals: Arc::clone(&refusals),
        mail: Arc::clone(&mail),
        admin,
        observer,
    });
    let served = runtime.block_on(async move {
        let listener = TcpListener::bind(listen).await.map_err(|source| ServeError::Bind { addr: listen, source })?;
        let bound = listener.local_addr().map_err(|source| ServeError::Bind { addr: listen, source })?;
        tracing::info!(
            target: log::LIFECYCLE,
            version = env!("CARGO_PKG_VERSION"),
            store = %store_kind,
            location = %location,
            listen = %bound,
            tls = tls.is_some(),
            "mailmfa serve started"
        );
        listening(bound, tls.is_some());
        let counting = tokio::spawn(record_counts(writer.clone(), Arc::clone(&refusals), Arc::clone(&mail)));
        accept_loop(listener, http::router(state), tls, connections, shutdown).await;
        counting.abort();
        record_counted(&writer, &refusals, &mail, true).await;
        Ok(())
    });
    // Every handle on the writer is gone with the router: it finishes what is queued and ends.
    drop(runtime);
    drop(writer_thread.join());
    served
}

/// The TLS acceptor of the configured certificate and key, if both are set.
fn tls_acceptor(cert: &str, key: &str) -> Result<Option<TlsAcceptor>, ServeError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    match (cert.is_empty(), key.is_empty()) {
        (true, true) => return Ok(None),
        (false, false) => {}
        _ => return Err(ServeError::HalfTls),
    }
    let pem = |what: &'static str, path: &str, reason: String| ServeError::Pem { what, path: path.into(), reason };
    let chain = CertificateDer::pem_file_iter(Path::new(cert))
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| pem("certificate", cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(pem("certificate", cert, "it holds no certificate".to_owned()));
    }
    let private = PrivateKeyDer::from_pem_file(Path::new(key)).map_err(|e| pem("key", key, e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, private)?;
    Ok(Some(TlsAcceptor::from(Arc::new(config))))
}

/// Records, every half minute, how many refusals and failed mail sign-ins followed the first of
/// their kind in the windows that ended.
async fn record_counts(writer: writer::Writer, refusals: Arc<Refusals>, mail: Arc<mail::MailDesk>) {
    let mut ticks = tokio::time::interval(tally::WINDOW / 2);
    loop {
        ticks.tick().await;
        record_counted(&writer, &refusals, &mail, false).await;
    }
}

/// Hands what was counted in the windows that ended (all of them when `all`) to the writer.
async fn record_counted(writer: &writer::Writer, refusals: &Refusals, mail: &mail::MailDesk, all: bool) {
    let refused =
        refusals.take(all).into_iter().map(|(kind, count)| tally::refusals_entry(kind, count, true)).collect();
    writer.refusals(refused).await;
    writer.mail_auth(Vec::new(), mail.take_failures(all));
}

/// Accepts connections until `shutdown`, then waits (bounded) for the open ones to finish.
async fn accept_loop(
    listener: TcpListener,
    router: axum::Router,
    tls: Option<TlsAcceptor>,
    connections: Arc<Connections>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT).keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: wait a moment rather than spin.
                Err(e) => {
                    tracing::warn!("cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(slot) = connections.admit(peer.ip().to_canonical()) else {
            tracing::debug!(%peer, "connection refused: too many open");
            drop(stream);
            continue;
        };
        // Without Nagle, a small answer leaves at once; failing to turn it off only costs latency.
        drop(stream.set_nodelay(true));
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(http::Peer(peer));
            router.clone().oneshot(request)
        });
        let http = http.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _slot = slot;
            // A connection that fails (a reset, a bad request line, a timeout) concerns only itself.
            match tls {
                None => drop(watcher.watch(http.serve_connection(TokioIo::new(stream), service)).await),
                Some(acceptor) => {
                    if let Ok(Ok(stream)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        drop(watcher.watch(http.serve_connection(TokioIo::new(stream), service)).await);
                    }
                }
            }
        });
    }
    drop(listener);
    drop(tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await);
}

/// Completes on Ctrl-C or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => drop(tokio::signal::ctrl_c().await),
        }
    }
    #[cfg(not(unix))]
    drop(tokio::signal::ctrl_c().await);
}
