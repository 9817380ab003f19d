//! The PostgreSQL connection of a store on a database server: connecting (TLS through rustls),
//! one transaction at a time, statements prepared once per connection with the parameter types
//! the Rust values give, and a new connection when the server went away between transactions.
//!
//! Every write transaction first takes one advisory lock of the database, so writers follow one
//! another as they do on SQLite's `BEGIN IMMEDIATE`: a read-check-write never interleaves with a
//! rival's, on any server, and needs no retry. Reads run in a snapshot (`REPEATABLE READ`) and
//! never wait for a writer.

use std::cell::RefCell;
use std::collections::HashMap;
use std::error::Error;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use postgres::error::SqlState;
use postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, Config, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;
use tokio_rustls::rustls;

use super::location::ServerAddress;
use super::sql::{Arg, Kind, Row, Value, dollar_parameters};
use super::{StoreError, StoreResult};

/// The advisory lock every write transaction takes ("mailmfa" in ASCII).
const WRITE_LOCK: i64 = 0x006d_6169_6c6d_6661;
/// How long a write waits for another server's transaction before the store reports "busy".
const LOCK_TIMEOUT: &str = "10s";
/// How long connecting may take when the address does not say.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long data sent to the server may go unacknowledged before the connection counts as broken.
const SILENCE_TIMEOUT: Duration = Duration::from_secs(30);

type Prepared = (Statement, Arc<[String]>);

/// One connection to the database server.
pub struct PgConn {
    client: RefCell<Client>,
    config: Config,
    tls: MakeRustlsConnect,
    statements: RefCell<HashMap<(String, Vec<Kind>), Prepared>>,
    shown: String,
}

impl std::fmt::Debug for PgConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConn").field("server", &self.shown).finish()
    }
}

impl PgConn {
    /// Connects to the server and database of `address`.
    pub fn connect(address: &ServerAddress) -> StoreResult<Self> {
        let shown = address.to_string();
        let unusable = |reason: String| StoreError::Open { path: shown.clone(), reason };
        let mut config: Config = address.connection_url().parse().map_err(|e| unusable(format!("{e}")))?;
        if let Some(password) = address.password() {
            config.password(password.as_bytes());
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        // A server that stops answering in the middle of a login (a network partition, a frozen
        // machine) ends the connection instead of holding the login for ever.
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(SILENCE_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("mailmfa");
        }
        let tls = MakeRustlsConnect::new(tls_config(address).map_err(unusable)?);
        let client = open_client(&config, &tls, &shown)?;
        Ok(Self { client: RefCell::new(client), config, tls, statements: RefCell::default(), shown })
    }

    /// The server and database, without a password, as messages show it.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Starts a write transaction: it holds the store's write lock until it ends.
    pub fn begin_write(&self) -> StoreResult<()> {
        self.begin(&format!("BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})"))
    }

    /// Starts a read transaction on one snapshot of the store.
    pub fn begin_read(&self) -> StoreResult<()> {
        self.begin("BEGIN ISOLATION LEVEL REPEATABLE READ")
    }

    /// Starts a transaction. A connection the server closed since the last one (a restart, a
    /// failover) is replaced first, and once more if starting finds it closed: nothing had
    /// happened yet, so starting again is safe.
    fn begin(&self, sql: &str) -> StoreResult<()> {
        if self.client.borrow().is_closed() {
            self.reconnect()?;
        }
        match self.client.borrow_mut().batch_execute(sql) {
            Err(e) if connection_lost(&e) => {}
            other => return other.map_err(|e| self.error(e)),
        }
        self.reconnect()?;
        self.batch(sql)
    }

    fn reconnect(&self) -> StoreResult<()> {
        let client = open_client(&self.config, &self.tls, &self.shown)?;
        self.statements.borrow_mut().clear();
        *self.client.borrow_mut() = client;
        Ok(())
    }

    /// Ends the transaction, keeping its changes.
    pub fn commit(&self) -> StoreResult<()> {
        self.batch("COMMIT")
    }

    /// Ends the transaction, undoing its changes. A closed connection has nothing to undo.
    pub fn rollback(&self) {
        if !self.client.borrow().is_closed() {
            drop(self.client.borrow_mut().batch_execute("ROLLBACK"));
        }
    }

    /// Runs statements without parameters.
    pub fn batch(&self, sql: &str) -> StoreResult<()> {
        self.client.borrow_mut().batch_execute(sql).map_err(|e| self.error(e))
    }

    /// Runs a statement: how many rows it changed.
    pub fn execute(&self, sql: &str, args: &[Arg<'_>]) -> StoreResult<usize> {
        let (statement, _) = self.prepared(sql, args)?;
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
        let changed = self.client.borrow_mut().execute(&statement, &params).map_err(|e| self.error(e))?;
        Ok(usize::try_from(changed).unwrap_or(usize::MAX))
    }

    /// Runs a query: every row.
    pub fn query(&self, sql: &str, args: &[Arg<'_>]) -> StoreResult<Vec<Row>> {
        let (statement, names) = self.prepared(sql, args)?;
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
        let rows = self.client.borrow_mut().query(&statement, &params).map_err(|e| self.error(e))?;
        rows.iter()
            .map(|r| {
                let values = (0..names.len())
                    .map(|i| r.try_get::<_, Value>(i).map_err(|e| StoreError::Corrupt(e.to_string())))
                    .collect::<StoreResult<_>>()?;
                Ok(Row::new(Arc::clone(&names), values))
            })
            .collect()
    }

    fn prepared(&self, sql: &str, args: &[Arg<'_>]) -> StoreResult<Prepared> {
        let kinds: Vec<Kind> = args.iter().map(Arg::kind).collect();
        let key = (sql.to_owned(), kinds);
        if let Some(found) = self.statements.borrow().get(&key) {
            return Ok(found.clone());
        }
        let types: Vec<Type> = key.1.iter().map(|k| pg_type(*k)).collect();
        let statement =
            self.client.borrow_mut().prepare_typed(&dollar_parameters(sql), &types).map_err(|e| self.error(e))?;
        let names: Arc<[String]> = statement.columns().iter().map(|c| c.name().to_owned()).collect();
        let prepared = (statement, names);
        self.statements.borrow_mut().insert(key, prepared.clone());
        Ok(prepared)
    }

    fn error(&self, e: postgres::Error) -> StoreError {
        server_error(&self.shown, e)
    }
}

/// Connects, giving up after the connect timeout. The client library bounds only the opening of
/// the socket; a server that takes the connection and then says nothing would hold the caller for
/// ever. So the connection is made on a thread of its own, and waited for at most that long (the
/// thread ends when the server finally answers or drops the connection).
fn open_client(config: &Config, tls: &MakeRustlsConnect, shown: &str) -> StoreResult<Client> {
    let limit = config.get_connect_timeout().copied().unwrap_or(CONNECT_TIMEOUT);
    let (sender, receiver) = mpsc::channel();
    let (connecting, tls) = (config.clone(), tls.clone());
    std::thread::Builder::new()
        .name("mailmfa-pg-connect".to_owned())
        .spawn(move || drop(sender.send(connecting.connect(tls))))
        .map_err(|e| StoreError::Open { path: shown.to_owned(), reason: format!("cannot start connecting: {e}") })?;
    let connected = receiver.recv_timeout(limit).map_err(|_| StoreError::Open {
        path: shown.to_owned(),
        reason: format!(
            "the database server did not answer within {} s (connect_timeout in the URL sets how long to wait)",
            limit.as_secs_f32()
        ),
    })?;
    let mut client = connected.map_err(|e| {
        let cause = cause(&e);
        let hint = if cause.contains("certificate") {
            "; a certificate from your own certificate authority needs its file named in the URL: \
             sslrootcert=/path/to/ca.pem"
        } else {
            ""
        };
        StoreError::Open {
            path: shown.to_owned(),
            reason: format!("cannot connect to the database server: {cause}{hint}"),
        }
    })?;
    client.batch_execute(&format!("SET lock_timeout = '{LOCK_TIMEOUT}'")).map_err(|e| server_error(shown, e))?;
    Ok(client)
}

/// A PostgreSQL error as the store reports it: a lock held too long is "busy", a connection
/// that went away says so and that the next try connects again.
pub(crate) fn server_error(shown: &str, e: postgres::Error) -> StoreError {
    if connection_lost(&e) {
        return StoreError::ServerGone { server: shown.to_owned(), reason: cause(&e) };
    }
    match e.code() {
        Some(code) if *code == SqlState::LOCK_NOT_AVAILABLE => StoreError::Busy,
        _ => StoreError::Server { server: shown.to_owned(), reason: cause(&e) },
    }
}

/// Whether the connection is gone: closed, broken, or ended by the server (a shutdown or a
/// restart, SQLSTATE class 57P "operator intervention").
fn connection_lost(e: &postgres::Error) -> bool {
    e.is_closed() || e.code().is_none_or(|code| code.code().starts_with("57P"))
}

/// The message of an error and of what caused it, in one line.
fn cause(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.message().to_owned();
    }
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        text = format!("{text}: {inner}");
        source = inner.source();
    }
    text
}

/// The TLS settings: the Mozilla roots, or the certificate authorities of `sslrootcert`.
fn tls_config(address: &ServerAddress) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    match address.root_certificates() {
        Some(path) => {
            use rustls_pki_types::pem::PemObject;
            let certs = rustls_pki_types::CertificateDer::pem_file_iter(path)
                .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                .map_err(|e| format!("cannot read the sslrootcert file {}: {e}", path.display()))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!("the sslrootcert file {} holds no certificate", path.display()));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn pg_type(kind: Kind) -> Type {
    match kind {
        Kind::Int => Type::INT8,
        Kind::Text => Type::TEXT,
        Kind::Blob => Type::BYTEA,
    }
}

impl ToSql for Arg<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match *self {
            Self::Null(_) => Ok(IsNull::Yes),
            Self::Int(i) => i.to_sql(ty, out),
            Self::Text(t) => t.to_sql(ty, out),
            Self::Blob(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        [Type::INT8, Type::TEXT, Type::BYTEA].contains(ty)
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for Value {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(match *ty {
            Type::INT8 => Self::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Self::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Self::Int(i16::from_sql(ty, raw)?.into()),
            Type::BOOL => Self::Int(bool::from_sql(ty, raw)?.into()),
            Type::BYTEA => Self::Blob(Vec::<u8>::from_sql(ty, raw)?),
            _ => Self::Text(String::from_sql(ty, raw)?),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(Self::Null)
    }

    fn accepts(ty: &Type) -> bool {
        [Type::INT8, Type::INT4, Type::INT2, Type::BOOL, Type::BYTEA].contains(ty) || <String as FromSql>::accepts(ty)
    }
}
