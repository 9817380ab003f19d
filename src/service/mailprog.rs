//! Mail programs (docs/DESIGN.md §11): app passwords — made, listed and removed, each audited —
//! and the check a mail server makes when a mail program signs in (`POST /v1/mail/auth`).
//!
//! The check is read-mostly: it runs in a read transaction and writes nothing. What it would
//! write — an app password's last use (at most once a minute), the client's last call, a failure
//! for the audit log — comes back in [`MailAuthChecked`] for the login service to write later,
//! coalesced ([`Service::record_mail_auth`]). It never touches the mailbox's two-factor failure
//! counter or lock: a mail program retrying an old password must not lock its owner out of the
//! webmail.

mod kept;

use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;

use super::admin::existing_mailbox;
use super::api::{Caller, in_scope};
use super::store::{ClientRow, Tx};
use super::{Service, ServiceError, ServiceResult};
use crate::clock::UnixTime;
use crate::domain::{
    APP_PASSWORD_LETTERS, Actor, AppPassword, AppPasswordDays, AppPasswordName, AppPasswordSecret, AuditEntry,
    AuditOutcome, DomainError, LastUse, MailAuthAnswer, MailAuthFailure, MailAuthRefusal, MailProgramStanding,
    MailProtocol, Mailbox, MailboxAddress, MailboxId, Protocols, Settings, from_webmail,
};
pub(super) use kept::KeptReads;
use kept::{FromKeep, InTransaction, MailReads, Missed};

/// How often an app password's last use is written, at most, in seconds.
const LAST_USE_EVERY: i64 = 60;

/// An app password to make.
#[derive(Debug, Clone)]
pub struct NewAppPassword {
    /// Its name, as its user calls the mail program.
    pub name: AppPasswordName,
    /// What it is good for.
    pub protocols: Protocols,
    /// How many days it works, if not until it is removed.
    pub days: Option<AppPasswordDays>,
}

/// An app password just made. It is shown this once; the store keeps only a keyed hash.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedAppPassword {
    /// The mailbox.
    pub address: String,
    /// Its name.
    pub name: AppPasswordName,
    /// The password, as people read it (`xxxxx-xxxxx-xxxxx-xxxxx`).
    #[serde(serialize_with = "shown")]
    pub password: AppPasswordSecret,
    /// What it is good for.
    pub protocols: Protocols,
    /// When it stops working, if ever.
    #[serde(serialize_with = "crate::clock::serialize_utc")]
    pub expires_at: Option<UnixTime>,
}

fn shown<S: serde::Serializer>(secret: &AppPasswordSecret, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&secret.shown())
}

/// What a mail server asks when a mail program signs in: an app password to check, or — once the
/// mail server has itself verified the mailbox password (`password: None`, `verified`) — whether
/// the mailbox password may be used from there.
#[derive(Clone)]
pub struct MailAuthRequest {
    /// The login name the mail program gave.
    pub address: String,
    /// The password it gave; `None` after the mail server verified the mailbox password.
    pub password: Option<zeroize::Zeroizing<String>>,
    /// The mail server verified the mailbox password.
    pub verified: bool,
    /// `imap`, `pop3`, `smtp` or `sieve`.
    pub protocol: String,
    /// The mail program's address, as the mail server saw it (its `rip`).
    pub ip: Option<String>,
    /// The address that connected to the mail server (its `real_rip`): a webmail on
    /// `mailprog.webmail_networks` may always use the mailbox password.
    pub real_ip: Option<String>,
}

impl std::fmt::Debug for MailAuthRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailAuthRequest")
            .field("address", &self.address)
            .field("verified", &self.verified)
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

/// Failed app passwords counted per address: the login service keeps the count for its minute.
pub trait MailThrottle: Send + Sync {
    /// Whether `ip` sent `limit` or more failed app passwords this minute.
    fn throttled(&self, ip: IpAddr, limit: i64) -> bool;
    /// Counts a failed app password from `ip`.
    fn failed(&self, ip: IpAddr);
}

/// A check's answer, and what it would have written.
#[derive(Debug, Clone)]
pub struct MailAuthChecked {
    /// The answer for the mail server.
    pub answer: MailAuthAnswer,
    /// The protocol asked about.
    pub protocol: MailProtocol,
    /// A failure for the audit log (the login service counts them per minute).
    pub failure: Option<MailAuthFailed>,
    /// A use to write later.
    pub used: Option<MailUse>,
    /// The API client that asked.
    pub client: String,
}

/// A mail program's failed sign-in, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MailAuthFailed {
    /// The API client that asked (the mail server).
    pub client: String,
    /// The mailbox.
    pub mailbox: String,
    /// The mail program's address.
    pub ip: IpAddr,
    /// What failed.
    pub failure: MailAuthFailure,
}

/// Failures of one kind counted in a minute: the first is recorded alone, then how many more.
#[derive(Debug, Clone)]
pub struct MailAuthFailures {
    /// What failed.
    pub failed: MailAuthFailed,
    /// Over which protocol (known for the first).
    pub protocol: Option<MailProtocol>,
    /// How many.
    pub count: u64,
    /// Whether these followed a first one already recorded.
    pub more: bool,
}

/// What a check found worth writing: the client's last call, an app password's last use.
#[derive(Debug, Clone)]
pub struct MailUse {
    client: Option<String>,
    app_password: Option<(MailboxId, AppPasswordName, LastUse)>,
}

impl MailUse {
    /// What it updates, as a key: uses of the same key need writing once a minute.
    pub fn key(&self) -> String {
        match (&self.app_password, &self.client) {
            (Some((mailbox, name, _)), _) => format!("app_password:{}:{name}", mailbox.0),
            (None, Some(client)) => format!("client:{client}"),
            (None, None) => String::new(),
        }
    }
}

impl Service {
    /// Makes an app password for `address` and returns it this once (the store keeps only its
    /// keyed hash). Audited, without the password.
    pub fn add_app_password(&self, address: &MailboxAddress, new: &NewAppPassword) -> ServiceResult<IssuedAppPassword> {
        let shown = address.to_string();
        self.audited("app_password.add", Some(&shown), |tx| {
            let mailbox = existing_mailbox(tx, address)?;
            self.issue_app_password(tx, &mailbox, new)
        })
    }

    /// Makes an app password inside the caller's transaction; the answer and the audit detail.
    pub(in crate::service) fn issue_app_password(
        &self,
        tx: &Tx<'_>,
        mailbox: &Mailbox,
        new: &NewAppPassword,
    ) -> ServiceResult<(IssuedAppPassword, String)> {
        let max = self.world.current(tx)?.settings.mailprog_max_app_passwords;
        if tx.count_app_passwords(mailbox.id)? >= max {
            return Err(ServiceError::TooManyAppPasswords { address: mailbox.address.clone(), max });
        }
        let mut random = zeroize::Zeroizing::new([0u8; APP_PASSWORD_LETTERS]);
        self.world.random.fill(random.as_mut())?;
        let password = AppPasswordSecret::from_random(&random);
        let hash = tx.key().code_hash(&hash_context(mailbox.id), password.letters());
        let now = self.now();
        let expires_at = new.days.map(|days| now + days.seconds());
        if !tx.insert_app_password(mailbox.id, &new.name, &hash, &new.protocols, now, expires_at)? {
            return Err(ServiceError::AppPasswordExists { address: mailbox.address.clone(), name: new.name.clone() });
        }
        let until = expires_at.map_or_else(|| "never".to_owned(), crate::clock::format_utc);
        let detail = format!("name={:?} protocols={} expires={until}", new.name.as_str(), new.protocols);
        let issued = IssuedAppPassword {
            address: mailbox.address.to_string(),
            name: new.name.clone(),
            password,
            protocols: new.protocols.clone(),
            expires_at,
        };
        Ok((issued, detail))
    }

    /// The mailbox's app passwords, by name (never the passwords).
    pub fn app_passwords(&self, address: &MailboxAddress) -> ServiceResult<Vec<AppPassword>> {
        self.store.read(|tx| {
            let mailbox = existing_mailbox(tx, address)?;
            Ok(tx.app_passwords(mailbox.id)?)
        })
    }

    /// Removes an app password: the next sign-in with it is refused, on every server. Audited.
    pub fn remove_app_password(&self, address: &MailboxAddress, name: &AppPasswordName) -> ServiceResult<()> {
        let shown = address.to_string();
        self.audited("app_password.remove", Some(&shown), |tx| {
            let mailbox = existing_mailbox(tx, address)?;
            Ok(((), remove_app_password_in(tx, &mailbox, name)?))
        })
    }

    /// Removes all the mailbox's app passwords (`mailbox reset --app-passwords`); how many there
    /// were. Audited.
    pub fn remove_app_passwords(&self, address: &MailboxAddress) -> ServiceResult<usize> {
        let shown = address.to_string();
        self.audited("mailbox.reset_app_passwords", Some(&shown), |tx| {
            let mailbox = existing_mailbox(tx, address)?;
            let removed = tx.delete_app_passwords(mailbox.id)?;
            Ok((removed, format!("app_passwords_removed={removed}")))
        })
    }

    /// Answers a mail server's question about a mail program's sign-in (docs/DESIGN.md §11). A
    /// mailbox mailmfa does not know answers `password`: adopting mailmfa locks nobody out.
    ///
    /// While the store has not changed since this connection's last checks, the answer comes from
    /// what they read (`kept.rs`); otherwise from a read transaction. Nothing is written here.
    pub fn check_mail_auth(
        &self,
        caller: &Caller,
        request: &MailAuthRequest,
        throttle: &dyn MailThrottle,
    ) -> ServiceResult<MailAuthChecked> {
        let now = self.now();
        if let Some(stamp) = self.store.stamp()? {
            match self.mail_check(&FromKeep { service: self, stamp }, caller, request, throttle, now) {
                Ok(checked) => return Ok(self.with_client_call(checked, now)),
                Err(Missed::Failed(e)) => return Err(e),
                Err(Missed::NotKept) => {}
            }
        }
        let checked = self.store.read(|tx| {
            let reads = InTransaction::new(self, tx)?;
            self.mail_check(&reads, caller, request, throttle, now)
        })?;
        Ok(self.with_client_call(checked, now))
    }

    /// The check itself, reading through `reads`. It counts a failure (the throttle, the
    /// caller's budget) only after its last read, so a check that ran out of kept reads and runs
    /// again in a transaction counts once.
    fn mail_check<R: MailReads>(
        &self,
        reads: &R,
        caller: &Caller,
        request: &MailAuthRequest,
        throttle: &dyn MailThrottle,
        now: UnixTime,
    ) -> Result<(MailAuthChecked, Arc<ClientRow>), R::Error> {
        let (settings, clients_version) = reads.settings()?;
        let client = reads.client(caller, clients_version);
        if let (Err(e), Some(budget)) = (&client, &caller.budget)
            && R::is_refusal(e)
        {
            budget.failed(caller.source);
        }
        let client = client?;
        let asked = Asked::parse(request, caller.source)?;
        let mut checked = MailAuthChecked {
            answer: MailAuthAnswer::Password,
            protocol: asked.protocol,
            failure: None,
            used: None,
            client: client.name.clone(),
        };
        let Ok(address) = request.address.parse::<MailboxAddress>() else {
            return Ok((checked, client));
        };
        in_scope(&client, &address)?;
        let Some(mailbox) = reads.standing(&address)? else {
            return Ok((checked, client));
        };
        let by_policy = asked.by_policy(&mailbox, &settings);
        let failed = |failure| MailAuthFailed {
            client: client.name.clone(),
            mailbox: address.to_string(),
            ip: asked.ip,
            failure,
        };
        // Not shaped like an app password: the mailbox password, right or wrong, which the mail
        // server checks itself (and says `verified` once it has).
        let Some(secret) = asked.app_password_sent() else {
            if let (Check::Verified, MailAuthAnswer::Reject { reason }) = (&asked.check, &by_policy) {
                checked.failure = Some(failed(MailAuthFailure::Refused(*reason)));
            }
            checked.answer = by_policy;
            return Ok((checked, client));
        };
        if throttle.throttled(asked.ip, settings.mailprog_ip_failures) {
            let reason = MailAuthRefusal::Throttled;
            checked.answer = MailAuthAnswer::Reject { reason };
            checked.failure = Some(failed(MailAuthFailure::Refused(reason)));
            return Ok((checked, client));
        }
        let hash = self.store.key().code_hash(&hash_context(mailbox.id), secret.letters());
        let found = reads.app_password(mailbox.id, hash)?;
        let refusal = match found.map(|found| asked.app_password(found, now)) {
            None => {
                throttle.failed(asked.ip);
                checked.failure = Some(failed(MailAuthFailure::WrongAppPassword));
                checked.answer = by_policy;
                return Ok((checked, client));
            }
            Some(Err(refusal)) => refusal,
            Some(Ok((name, used))) => {
                checked.used =
                    used.map(|used| MailUse { client: None, app_password: Some((mailbox.id, name.clone(), used)) });
                checked.answer = MailAuthAnswer::Accept { app_password: name };
                return Ok((checked, client));
            }
        };
        throttle.failed(asked.ip);
        checked.answer = MailAuthAnswer::Reject { reason: refusal };
        checked.failure = Some(failed(MailAuthFailure::Refused(refusal)));
        Ok((checked, client))
    }

    /// Adds the client's call to what the check would write, if it is due.
    fn with_client_call(
        &self,
        (mut checked, client): (MailAuthChecked, Arc<ClientRow>),
        now: UnixTime,
    ) -> MailAuthChecked {
        if let Some(call) = self.client_call_to_write(&client, now) {
            match &mut checked.used {
                Some(used) => used.client = call.client,
                None => checked.used = Some(call),
            }
        }
        checked
    }

    /// The client's call to write, if its last one written is a minute old (noted in the
    /// client kept in memory, so that this reader asks again only a minute later).
    fn client_call_to_write(&self, client: &ClientRow, now: UnixTime) -> Option<MailUse> {
        client.last_used.is_none_or(|at| now - at >= LAST_USE_EVERY).then(|| {
            self.world.client_called(&client.id, now);
            MailUse { client: Some(client.id.clone()), app_password: None }
        })
    }

    /// Writes what mail sign-in checks found worth keeping: the last uses (each at most once a
    /// minute, however many servers race) and the failures, one audit entry per mailbox, address
    /// and kind a minute.
    pub fn record_mail_auth(&self, uses: &[MailUse], failures: &[MailAuthFailures]) -> ServiceResult<()> {
        let now = self.now();
        self.store.write(|tx| {
            for used in uses {
                if let Some(client) = &used.client {
                    tx.touch_client(client, now)?;
                }
                if let Some((mailbox, name, last)) = &used.app_password {
                    tx.record_app_password_use(*mailbox, name, last, last.at - LAST_USE_EVERY)?;
                }
            }
            for f in failures {
                tx.insert_audit(&failure_entry(now, f))?;
            }
            Ok(())
        })
    }
}

/// What the mail server asks about.
enum Check<'a> {
    /// A password the mail program sent: an app password, or the mailbox password.
    Password(&'a str),
    /// The mailbox password, which the mail server verified.
    Verified,
}

/// A mail sign-in question, parsed.
struct Asked<'a> {
    protocol: MailProtocol,
    /// The mail program's address: `ip`, else the caller's own.
    ip: IpAddr,
    /// The address the mail server saw the connection come from, for the webmail's exemption.
    real_ip: Option<IpAddr>,
    check: Check<'a>,
}

impl<'a> Asked<'a> {
    fn parse(request: &'a MailAuthRequest, source: IpAddr) -> ServiceResult<Self> {
        let protocol = request.protocol.parse()?;
        let ip = parse_ip("ip", request.ip.as_deref())?.unwrap_or(source);
        let real_ip = parse_ip("real_ip", request.real_ip.as_deref())?;
        let check = match (&request.password, request.verified) {
            (Some(password), false) => Check::Password(password.as_str()),
            (None, true) => Check::Verified,
            _ => {
                return Err(DomainError::invalid(
                    "mail sign-in",
                    "…",
                    "send the password, or \"password\": null with \"verified\": true",
                )
                .into());
            }
        };
        Ok(Self { protocol, ip, real_ip, check })
    }

    /// The password sent, if it is shaped like an app password.
    fn app_password_sent(&self) -> Option<AppPasswordSecret> {
        match self.check {
            Check::Password(password) => password.parse().ok(),
            Check::Verified => None,
        }
    }

    /// What the mail-program policy answers for the mailbox password: `password` from the
    /// webmail's networks or where the policy lets it in, else `app_password_required`.
    fn by_policy(&self, mailbox: &MailProgramStanding, settings: &Settings) -> MailAuthAnswer {
        let webmail = self.real_ip.is_some_and(|real| from_webmail(&settings.mailprog_webmail_networks, real));
        if webmail || mailbox.password_in_mail_programs(settings.mailprog_policy) {
            MailAuthAnswer::Password
        } else {
            MailAuthAnswer::Reject { reason: MailAuthRefusal::AppPasswordRequired }
        }
    }

    /// Whether `found`, the app password that was sent, signs in now: its name and the last use
    /// to write (once a minute), or why not.
    fn app_password(
        &self,
        found: AppPassword,
        now: UnixTime,
    ) -> Result<(AppPasswordName, Option<LastUse>), MailAuthRefusal> {
        if found.expired(now) {
            return Err(MailAuthRefusal::Expired);
        }
        if !found.protocols.allows(self.protocol) {
            return Err(MailAuthRefusal::ProtocolNotAllowed);
        }
        let due = found.last_used.as_ref().is_none_or(|last| now - last.at >= LAST_USE_EVERY);
        let used = due.then(|| LastUse { at: now, ip: self.ip.to_string(), protocol: self.protocol });
        Ok((found.name, used))
    }
}

/// Removes a mailbox's app password inside the caller's transaction; the audit detail.
pub(in crate::service) fn remove_app_password_in(
    tx: &Tx<'_>,
    mailbox: &Mailbox,
    name: &AppPasswordName,
) -> ServiceResult<String> {
    if !tx.delete_app_password(mailbox.id, name)? {
        return Err(ServiceError::NoAppPassword { address: mailbox.address.clone(), name: name.clone() });
    }
    Ok(format!("name={:?}", name.as_str()))
}

/// What an app password's keyed hash is bound to: its mailbox.
fn hash_context(mailbox: MailboxId) -> String {
    format!("mailbox:{}:app_password", mailbox.0)
}

fn parse_ip(field: &'static str, raw: Option<&str>) -> ServiceResult<Option<IpAddr>> {
    raw.filter(|raw| !raw.is_empty())
        .map(|raw| {
            raw.parse::<IpAddr>()
                .map(|ip| ip.to_canonical())
                .map_err(|_| DomainError::invalid(field, raw, "expected an IPv4 or IPv6 address").into())
        })
        .transpose()
}

fn failure_entry(now: UnixTime, f: &MailAuthFailures) -> AuditEntry {
    let what = f.failed.failure.word();
    AuditEntry {
        at: now,
        actor: Actor::Api(f.failed.client.clone()).to_string(),
        mailbox: Some(f.failed.mailbox.clone()),
        action: "mail.auth".to_owned(),
        ip: Some(f.failed.ip.to_string()),
        outcome: AuditOutcome::Refused,
        detail: Some(if f.more {
            format!("{what}: {} more from this address in the minute since the first", f.count)
        } else {
            match f.protocol {
                Some(protocol) => format!("{what} over {protocol}"),
                None => what.to_owned(),
            }
        }),
        ..AuditEntry::default()
    }
}
