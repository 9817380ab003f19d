//! The login service's side of the front door (DESIGN.md §8): API clients and their keys, login
//! transactions bound to a client, a mailbox and an IP, and [`Service::api_batch`], which runs the
//! requests that arrived together in one durable commit — each in a savepoint of its own, so one
//! request's failure spoils no other.

use std::net::IpAddr;

use base64::Engine as _;
use serde::Serialize;

use super::crypto::to_hex;
use super::engine;
use super::login::{CodeDelivery, LoginStart, attempt_entry, parse_login, shown};
use super::signin::{PageAnswer, PageRequest};
use super::store::{ClientRow, TransactionRow, Tx};
use super::{MailboxChanges, Service, ServiceError, ServiceResult};
use crate::clock::UnixTime;
use crate::domain::{
    AuditEntry, BeginAnswer, ChallengeMode, Configurer, EmailAddress, IpNetwork, LetterCode, LoginIp, Mailbox,
    MailboxAddress, MailboxChallenge, Passcode, PhoneNumber, Provider, Verified, VerifyAnswer, offered_providers,
    parse_networks,
};

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
            created_at: row.created_at,
            last_used: row.last_used,
        }
    }
}

/// Who calls: the bearer key as sent (if any) and the address the connection comes from.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The `Authorization: Bearer` key.
    pub key: Option<String>,
    /// The connection's source address.
    pub source: IpAddr,
}

/// A mailbox's own settings as a webmail's options page sends them; `None` leaves a value, and an
/// empty SMS number or alternate address clears it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSettings {
    /// The challenge mode (`inherit`, `never`, `always`, `new-ip`, `new-country`).
    pub challenge: Option<String>,
    /// The provider (`totp`, `sms`, `smtp`).
    pub provider: Option<String>,
    /// The SMS number (E.164).
    pub sms_number: Option<String>,
    /// The alternate e-mail address.
    pub alt_email: Option<String>,
}

impl UserSettings {
    fn changes(&self) -> ServiceResult<MailboxChanges> {
        Ok(MailboxChanges {
            challenge: self.challenge.as_deref().map(str::parse::<MailboxChallenge>).transpose()?,
            provider: self.provider.as_deref().map(str::parse::<Provider>).transpose()?,
            sms_number: self.sms_number.as_deref().map(clearable::<PhoneNumber>).transpose()?,
            alt_email: self.alt_email.as_deref().map(clearable::<EmailAddress>).transpose()?,
        })
    }
}

/// A mailbox's own settings as its user sees them on the webmail's options page
/// (`GET` and `PUT /v1/users/{address}/settings`): what applies, and what the user may change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserSettingsView {
    /// The mailbox.
    pub address: String,
    /// Its own challenge setting (`inherit` follows the post office).
    pub challenge: MailboxChallenge,
    /// The challenge mode that applies.
    pub effective_challenge: ChallengeMode,
    /// Whether the post office lets its users change the challenge mode.
    pub may_change_challenge: bool,
    /// How the code arrives.
    pub provider: Provider,
    /// The providers the user may choose (enabled, and open to users).
    pub providers: Vec<Provider>,
    /// The SMS number, all but its last two digits hidden.
    pub sms_number: Option<String>,
    /// The alternate e-mail address, most of it hidden.
    pub alt_email: Option<String>,
    /// How many of its recovery codes are unused.
    pub recovery_codes_left: i64,
    /// How many devices it remembers (that have not expired).
    pub remembered_devices: i64,
    /// Every challenge setting and provider with the name a mail user reads, for the page's lists.
    pub choices: UserChoices,
}

/// The words of a mailbox's settings with the names a mail user reads, so a webmail's settings
/// page lists what the service knows rather than a copy of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserChoices {
    /// `inherit`, then every challenge mode.
    pub challenge: Vec<Choice>,
    /// Every provider (`providers` says which of them the user may choose).
    pub provider: Vec<Choice>,
}

/// One word and its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Choice {
    /// The word sent back to choose it.
    pub value: &'static str,
    /// What the user reads.
    pub label: &'static str,
}

impl Default for UserChoices {
    fn default() -> Self {
        Self {
            challenge: MailboxChallenge::all().map(|c| Choice { value: c.word(), label: c.user_label() }).collect(),
            provider: Provider::ALL.iter().map(|p| Choice { value: p.word(), label: p.user_label() }).collect(),
        }
    }
}

/// New recovery codes a user asked for on the webmail's options page, to show them once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewRecoveryCodes {
    /// The mailbox.
    pub address: String,
    /// The codes; the ones before no longer work.
    pub recovery_codes: Vec<LetterCode>,
}

/// One request of the JSON API.
#[derive(Debug, Clone)]
pub enum ApiRequest {
    /// `POST /v1/login/begin`.
    Begin {
        /// The mailbox, as sent.
        address: String,
        /// The login's IP address, as sent.
        ip: String,
        /// The token of a device the user had remembered, if the webmail has one.
        device_token: Option<String>,
    },
    /// `POST /v1/login/verify`.
    Verify {
        /// The transaction `begin` answered with.
        transaction_id: String,
        /// The code the user typed.
        code: String,
        /// The user ticked "remember this device".
        remember: bool,
    },
    /// `POST /v1/login/resend`.
    Resend {
        /// The transaction `begin` answered with.
        transaction_id: String,
    },
    /// `GET /v1/users/{address}/settings`.
    ShowUserSettings {
        /// The mailbox, as in the path.
        address: String,
    },
    /// `PUT /v1/users/{address}/settings`.
    UserSettings {
        /// The mailbox, as in the path.
        address: String,
        /// What to change.
        settings: UserSettings,
    },
    /// `POST /v1/users/{address}/recovery-codes`.
    NewRecoveryCodes {
        /// The mailbox, as in the path.
        address: String,
    },
    /// `DELETE /v1/users/{address}/devices`: the user forgets their remembered devices.
    ForgetDevices {
        /// The mailbox, as in the path.
        address: String,
    },
    /// `POST /v1/signin`: a login that the hosted pages complete.
    Signin {
        /// The mailbox, as sent.
        address: String,
        /// The login's IP address, as sent.
        ip: String,
        /// Where the browser goes back to, with a ticket.
        return_url: String,
    },
    /// `POST /v1/signin/redeem`.
    Redeem {
        /// The ticket the browser brought back.
        ticket: String,
    },
    /// A hosted sign-in page, or one of its forms.
    Page(PageRequest),
}

impl ApiRequest {
    fn action(&self) -> &'static str {
        match self {
            Self::Begin { .. } => "login.begin",
            Self::Verify { .. } => "login.verify",
            Self::Resend { .. } => "login.resend",
            Self::ShowUserSettings { .. } => "user.show",
            Self::UserSettings { .. } => "user.set",
            Self::NewRecoveryCodes { .. } => "user.recovery_codes",
            Self::ForgetDevices { .. } => "user.forget_devices",
            Self::Signin { .. } => "signin.begin",
            Self::Redeem { .. } => "signin.redeem",
            Self::Page(_) => "signin.page",
        }
    }
}

/// A login transaction as `begin` hands it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transaction {
    /// Its id, for `verify` and `resend`.
    pub transaction_id: String,
    /// Seconds until it ends unless a code is accepted.
    pub expires_in: i64,
    /// For how many days a device may be remembered at the accepted code (0: it may not).
    pub remember_days: i64,
}

/// What a request got.
#[derive(Debug)]
pub enum ApiAnswer {
    /// The decision, and the transaction that waits for a code.
    Begin(BeginAnswer, Option<Transaction>),
    /// The code was accepted or refused (with new recovery codes when it completed an enrolment).
    Verify(Verified),
    /// A new code went out, or the send limit was reached.
    Resend(BeginAnswer),
    /// The decision, and the sign-in page that completes it.
    Signin(BeginAnswer, Option<String>),
    /// The mailbox a ticket vouches for, or `None` for a ticket that is unknown, used or expired.
    Redeemed(Option<MailboxAddress>),
    /// What a sign-in page shows (or where it sends the browser).
    Page(PageAnswer),
    /// The mailbox's own settings (after the change, for a change).
    UserSettings(UserSettingsView),
    /// New recovery codes.
    RecoveryCodes(NewRecoveryCodes),
}

/// One request's result, and the code it still has to send (after the commit).
pub struct ApiOutcome {
    /// The answer, or why there is none.
    pub result: ServiceResult<ApiAnswer>,
    /// A code to deliver before the answer is sent.
    pub delivery: Option<CodeDelivery>,
}

/// A new client's key, shown once: `mmfa_<id>_<secret>`.
pub struct ClientKey(pub zeroize::Zeroizing<String>);

impl Service {
    /// Creates an API client and returns its key, which is never shown again: the store keeps only
    /// a keyed hash of it.
    pub fn add_client(
        &self,
        name: &str,
        allow: &[IpNetwork],
        return_urls: &[String],
    ) -> ServiceResult<(ApiClient, ClientKey)> {
        let name = client_name(name)?;
        for url in return_urls {
            crate::domain::check_url_prefix(url)?;
        }
        let mut id = [0u8; 6];
        let mut secret = zeroize::Zeroizing::new([0u8; 24]);
        self.world.random.fill(&mut id)?;
        self.world.random.fill(secret.as_mut())?;
        let id = to_hex(&id);
        let secret = zeroize::Zeroizing::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret.as_ref()));
        let key = ClientKey(zeroize::Zeroizing::new(format!("{KEY_PREFIX}{id}_{}", secret.as_str())));
        let allow_text = allow.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
        let row = self.audited("client.add", None, |tx| {
            let row = ClientRow {
                key_hash: tx.key().code_hash(&key_context(&id), &secret),
                id: id.clone(),
                name: name.clone(),
                allow: allow_text.clone(),
                return_urls: return_urls.join(","),
                created_at: self.now(),
                last_used: None,
            };
            if !tx.insert_client(&row)? {
                return Err(ServiceError::ClientExists(name.clone()));
            }
            let detail = format!("client={name} allow={}", if allow_text.is_empty() { "any" } else { &allow_text });
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

    /// Runs the requests that arrived together: one `BEGIN IMMEDIATE`, a savepoint per request,
    /// one commit. Every outcome is durable when this returns. Should the commit itself fail, each
    /// request is run again on its own, so each gets its own answer or error.
    pub fn api_batch(&self, calls: Vec<(Caller, ApiRequest)>) -> Vec<ApiOutcome> {
        let together = self.store.write(|tx| -> ServiceResult<Vec<ApiOutcome>> {
            calls.iter().map(|(caller, request)| self.api_call_in(tx, caller, request)).collect()
        });
        match together {
            Ok(outcomes) => {
                self.send_notices_later();
                outcomes
            }
            Err(_) if calls.len() > 1 => calls.into_iter().flat_map(|call| self.api_batch(vec![call])).collect(),
            Err(e) => vec![ApiOutcome { result: Err(e), delivery: None }],
        }
    }

    /// One request inside the batch's transaction, in a savepoint of its own: a failure is rolled
    /// back to the savepoint and audited. An error of this function itself (the savepoint could
    /// not be kept or undone) breaks the whole batch.
    fn api_call_in(&self, tx: &Tx<'_>, caller: &Caller, request: &ApiRequest) -> ServiceResult<ApiOutcome> {
        const CALL: &str = "api_call";
        tx.savepoint(CALL)?;
        let outcome = match request {
            // A sign-in page is reached by its unguessable address, not by a client's key.
            ApiRequest::Page(page) => {
                self.signin_page(tx, page).map(|(answer, delivery)| (ApiAnswer::Page(answer), delivery))
            }
            _ => self.authenticate(tx, caller).and_then(|client| self.api_request_in(tx, &client, caller, request)),
        };
        Ok(match outcome {
            Ok((answer, delivery)) => {
                tx.release(CALL)?;
                ApiOutcome { result: Ok(answer), delivery }
            }
            Err(e) => {
                tx.rollback_to(CALL)?;
                tx.insert_audit(&self.api_failure(caller, request, &e))?;
                ApiOutcome { result: Err(e), delivery: None }
            }
        })
    }

    fn api_request_in(
        &self,
        tx: &Tx<'_>,
        client: &ClientRow,
        caller: &Caller,
        request: &ApiRequest,
    ) -> ServiceResult<(ApiAnswer, Option<CodeDelivery>)> {
        let now = self.now();
        match request {
            ApiRequest::Begin { address, ip, device_token } => {
                let (address, ip) = parse_login(address, ip)?;
                let LoginStart { answer, delivery } = self.start_login_in(tx, &address, ip, device_token.as_deref())?;
                let transaction = self.open_transaction(tx, client, &address, ip, &answer)?;
                Ok((ApiAnswer::Begin(answer, transaction), delivery))
            }
            ApiRequest::Signin { address, ip, return_url } => {
                let (answer, started, delivery) = self.start_signin(tx, client, address, ip, return_url)?;
                Ok((ApiAnswer::Signin(answer, started), delivery))
            }
            ApiRequest::Redeem { ticket } => Ok((ApiAnswer::Redeemed(self.redeem_ticket(tx, client, ticket)?), None)),
            ApiRequest::Page(page) => {
                let (answer, delivery) = self.signin_page(tx, page)?;
                Ok((ApiAnswer::Page(answer), delivery))
            }
            ApiRequest::Verify { transaction_id, code, remember } => {
                let (row, address, ip) = self.transaction_of(tx, client, transaction_id)?;
                let code: Passcode = code.parse()?;
                let verified = self.verify_login_in(tx, &address, ip, &code, *remember)?;
                if verified.answer == VerifyAnswer::Accepted {
                    tx.end_transaction(&row.id)?;
                }
                Ok((ApiAnswer::Verify(verified), None))
            }
            ApiRequest::Resend { transaction_id } => {
                let (row, address, ip) = self.transaction_of(tx, client, transaction_id)?;
                let LoginStart { answer, delivery } = self.start_login_in(tx, &address, ip, None)?;
                match &answer {
                    BeginAnswer::Challenge { sent_to: Some(_), .. } => {
                        tx.extend_transaction(&row.id, now + self.login_lifetime(tx)?)?;
                    }
                    BeginAnswer::Locked { .. } => {}
                    _ => return Err(ServiceError::NothingToResend),
                }
                Ok((ApiAnswer::Resend(answer), delivery))
            }
            ApiRequest::UserSettings { address, settings } => {
                let address: MailboxAddress = address.parse()?;
                let changes = settings.changes()?;
                let detail = super::admin::set_mailbox_in(tx, &address, &changes, Configurer::EndUser)?;
                tx.insert_audit(&user_entry(now, client, caller, &address, request.action(), detail))?;
                let mailbox = super::admin::existing_mailbox(tx, &address)?;
                Ok((ApiAnswer::UserSettings(user_settings_view(self, tx, &mailbox)?), None))
            }
            ApiRequest::ShowUserSettings { address } => {
                let mailbox = super::admin::existing_mailbox(tx, &address.parse()?)?;
                Ok((ApiAnswer::UserSettings(user_settings_view(self, tx, &mailbox)?), None))
            }
            ApiRequest::NewRecoveryCodes { address } => {
                let mailbox = super::admin::existing_mailbox(tx, &address.parse()?)?;
                let recovery_codes = engine::issue_recovery_codes(tx, self.world.random.as_ref(), mailbox.id, now)?;
                let detail = format!("{} new recovery codes; the old ones voided", recovery_codes.len());
                tx.insert_audit(&user_entry(now, client, caller, &mailbox.address, request.action(), detail))?;
                let answer = NewRecoveryCodes { address: mailbox.address.to_string(), recovery_codes };
                Ok((ApiAnswer::RecoveryCodes(answer), None))
            }
            ApiRequest::ForgetDevices { address } => {
                let mailbox = super::admin::existing_mailbox(tx, &address.parse()?)?;
                let forgotten = tx.forget_devices(mailbox.id)?;
                let detail = format!("devices_forgotten={forgotten}");
                tx.insert_audit(&user_entry(now, client, caller, &mailbox.address, request.action(), detail))?;
                Ok((ApiAnswer::UserSettings(user_settings_view(self, tx, &mailbox)?), None))
            }
        }
    }

    /// The client the key belongs to, calling from an allowed address; every refusal audited (by
    /// the caller of this, after its savepoint is rolled back).
    fn authenticate(&self, tx: &Tx<'_>, caller: &Caller) -> ServiceResult<ClientRow> {
        let key = caller.key.as_deref().ok_or(ServiceError::NoApiKey)?;
        let (id, secret) = key
            .strip_prefix(KEY_PREFIX)
            .and_then(|rest| rest.split_once('_'))
            .filter(|(id, _)| id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or(ServiceError::BadApiKey)?;
        let client = tx.client(id)?.ok_or(ServiceError::BadApiKey)?;
        if !tx.key().code_matches(&key_context(id), secret, &client.key_hash) {
            return Err(ServiceError::BadApiKey);
        }
        let allowed = parse_networks(&client.allow).map_err(|e| ServiceError::Store(e.into()))?;
        if !allowed.is_empty() && !allowed.iter().any(|net| net.contains(caller.source)) {
            return Err(ServiceError::SourceNotAllowed(caller.source));
        }
        // The last-used time is to the second: one write per client per second is enough.
        let now = self.now();
        if client.last_used != Some(now) {
            tx.touch_client(&client.id, now)?;
        }
        Ok(client)
    }

    /// The live transaction of that id, if the calling client began it.
    pub(super) fn transaction_of(
        &self,
        tx: &Tx<'_>,
        client: &ClientRow,
        id: &str,
    ) -> ServiceResult<(TransactionRow, MailboxAddress, LoginIp)> {
        let row = tx.transaction(id, self.now())?.filter(|row| row.client_id == client.id);
        let row = row.ok_or(ServiceError::UnknownTransaction)?;
        let (address, ip) = parse_login(&row.mailbox, &row.ip)?;
        Ok((row, address, ip))
    }

    /// Opens the transaction that waits for a code, when the answer waits for one.
    pub(super) fn open_transaction(
        &self,
        tx: &Tx<'_>,
        client: &ClientRow,
        address: &MailboxAddress,
        ip: LoginIp,
        answer: &BeginAnswer,
    ) -> ServiceResult<Option<Transaction>> {
        if !matches!(answer, BeginAnswer::Challenge { .. } | BeginAnswer::Enroll { .. }) {
            return Ok(None);
        }
        let now = self.now();
        let lifetime = self.login_lifetime(tx)?;
        let row = TransactionRow {
            id: self.random_hex(16)?,
            client_id: client.id.clone(),
            mailbox: address.to_string(),
            ip: ip.to_string(),
            expires_at: now + lifetime,
        };
        tx.insert_transaction(&row, now)?;
        let remember_days = self.world.current(tx)?.0.settings.remember_days;
        Ok(Some(Transaction { transaction_id: row.id, expires_in: lifetime, remember_days }))
    }

    /// `n` random bytes as hexadecimal.
    pub(super) fn random_hex(&self, n: usize) -> ServiceResult<String> {
        let mut bytes = vec![0u8; n];
        self.world.random.fill(&mut bytes)?;
        Ok(to_hex(&bytes))
    }

    /// How long a login transaction lives: as long as a one-time code.
    pub(super) fn login_lifetime(&self, tx: &Tx<'_>) -> ServiceResult<i64> {
        Ok(self.world.current(tx)?.0.settings.code_lifetime_seconds)
    }

    /// The audit entry of a request that failed.
    fn api_failure(&self, caller: &Caller, request: &ApiRequest, e: &ServiceError) -> AuditEntry {
        let (mailbox, ip) = match request {
            ApiRequest::Begin { address, ip, .. } => (Some(shown(address)), Some(shown(ip))),
            ApiRequest::UserSettings { address, .. }
            | ApiRequest::ShowUserSettings { address }
            | ApiRequest::NewRecoveryCodes { address }
            | ApiRequest::ForgetDevices { address }
            | ApiRequest::Signin { address, .. } => (Some(shown(address)), None),
            ApiRequest::Verify { .. } | ApiRequest::Resend { .. } | ApiRequest::Redeem { .. } | ApiRequest::Page(_) => {
                (None, None)
            }
        };
        let (action, outcome) = match e {
            ServiceError::NoApiKey | ServiceError::BadApiKey | ServiceError::SourceNotAllowed(_) => {
                ("api.auth", "refused")
            }
            ServiceError::Domain(_) => (request.action(), "invalid_input"),
            _ if e.is_refusal() => (request.action(), "refused"),
            _ => (request.action(), "error"),
        };
        let mut entry = attempt_entry(self.now(), action, mailbox, ip, outcome, e);
        entry.detail = Some(format!("{e} (from {})", caller.source));
        entry
    }
}

/// An empty value clears; anything else is parsed.
fn clearable<T: std::str::FromStr<Err = crate::domain::DomainError>>(
    raw: &str,
) -> Result<Option<T>, crate::domain::DomainError> {
    if raw.trim().is_empty() { Ok(None) } else { raw.parse().map(Some) }
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

/// The audit entry of what a mailbox's user did through a client (the webmail's settings page).
fn user_entry(
    at: UnixTime,
    client: &ClientRow,
    caller: &Caller,
    mailbox: &MailboxAddress,
    action: &str,
    detail: String,
) -> AuditEntry {
    AuditEntry {
        at,
        actor: format!("client:{}", client.name),
        mailbox: Some(mailbox.to_string()),
        action: action.to_owned(),
        ip: Some(caller.source.to_string()),
        outcome: "ok".to_owned(),
        detail: Some(detail),
        ..AuditEntry::default()
    }
}

/// What a mailbox's user sees of its settings.
fn user_settings_view(service: &Service, tx: &Tx<'_>, mailbox: &Mailbox) -> ServiceResult<UserSettingsView> {
    let settings = service.world.current(tx)?.0.settings;
    let remembered_devices = engine::remembered_devices(tx, &settings, service.now(), mailbox.id)?;
    Ok(UserSettingsView {
        address: mailbox.address.to_string(),
        challenge: mailbox.challenge,
        effective_challenge: mailbox.effective_challenge(),
        may_change_challenge: mailbox.users_may_configure,
        provider: mailbox.provider,
        providers: offered_providers(&tx.providers()?, Configurer::EndUser),
        sms_number: mailbox.sms_number.as_ref().map(PhoneNumber::masked),
        alt_email: mailbox.alt_email.as_ref().map(EmailAddress::masked),
        recovery_codes_left: tx.recovery_codes_left(mailbox.id)?,
        remembered_devices,
        choices: UserChoices::default(),
    })
}
