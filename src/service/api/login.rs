//! The login gate through the API: `begin` decides (and opens a transaction that waits for a
//! code), `verify` checks the code within the transaction, `resend` sends a new one. A transaction
//! is bound to the client that began it, the mailbox and the IP address.

use base64::Engine as _;
use serde::Serialize;

use super::{ApiRequest, CallContext, Done};
use zeroize::Zeroizing;

use crate::domain::{
    BeginAnswer, DomainError, EnrolmentState, LoginIp, MailboxAddress, Passcode, Provider, Purpose, Verified,
    VerifyAnswer, WebOrigin, parse_origins,
};
use crate::service::crypto::to_hex;
use crate::service::engine::RelyingParty;
use crate::service::login::{LoginStart, parse_login, shown};
use crate::service::store::{ClientRow, TransactionRow, Tx};
use crate::service::{Service, ServiceError, ServiceResult};

/// `POST /v1/login/begin`: the address and IP as sent, the token of a device the user had
/// remembered (if the webmail has one), and why: a sign-in, or a step-up before a sensitive change
/// (always challenged; its accepted code brings a step-up token).
#[derive(Debug, Clone, Default)]
pub struct BeginRequest {
    /// The mailbox.
    pub address: String,
    /// The login's IP address.
    pub ip: String,
    /// A remembered device's token.
    pub device_token: Option<String>,
    /// A sign-in or a step-up.
    pub purpose: Purpose,
}

/// What `begin` decided, and the transaction that waits for a code.
#[derive(Debug)]
pub struct Begun {
    /// The decision.
    pub answer: BeginAnswer,
    /// The transaction, unless the decision needs no code.
    pub transaction: Option<Transaction>,
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
    /// The options of the passkey ceremony it waits for (`parseCreationOptionsFromJSON` or
    /// `parseRequestOptionsFromJSON`), for a passkey mailbox.
    pub webauthn: Option<serde_json::Value>,
}

/// How long a step-up token lets its client make sensitive changes.
pub const STEP_UP_SECONDS: i64 = 300;

/// What binds a step-up token's hash.
const STEP_UP_CONTEXT: &str = "step_up";

impl ApiRequest for BeginRequest {
    type Answer = Begun;

    fn action(&self) -> &'static str {
        "login.begin"
    }

    fn subject(&self) -> (Option<String>, Option<String>) {
        (Some(shown(&self.address)), Some(shown(&self.ip)))
    }

    fn run(&self, cx: &CallContext<'_>) -> ServiceResult<Done<Begun>> {
        let (address, ip) = parse_login(&self.address, &self.ip)?;
        super::clients::in_scope(cx.client()?, &address)?;
        let device = self.device_token.as_deref().filter(|_| self.purpose == Purpose::Login);
        let LoginStart { answer, delivery } =
            cx.service.decide_login_in(cx.tx, &cx.client_actor()?, &address, ip, device, self.purpose)?;
        let actor = cx.client_actor()?;
        let mut transaction =
            cx.service.open_transaction(cx.tx, cx.client()?, (&address, ip), &answer, self.purpose)?;
        if let Some(transaction) = transaction.as_mut().filter(|_| answer.provider() == Some(Provider::Passkey)) {
            let relying_party = cx.service.relying_party(cx.tx, cx.client()?)?;
            let ceremony = (&address, transaction.transaction_id.as_str());
            transaction.webauthn = Some(cx.service.start_passkey_ceremony(cx.tx, &actor, ceremony, &relying_party)?);
        }
        Ok(Done { answer: Begun { answer, transaction }, delivery })
    }
}

/// `POST /v1/login/verify`: the code typed within a transaction, or the browser's answer to its
/// passkey ceremony.
#[derive(Debug, Clone)]
pub struct VerifyRequest {
    /// The transaction `begin` answered with.
    pub transaction_id: String,
    /// What proves the second factor.
    pub proof: Proof,
    /// The user ticked "remember this device".
    pub remember: bool,
}

/// What a verify brings: a typed code, or a passkey's answer.
#[derive(Debug, Clone)]
pub enum Proof {
    /// The code the user typed (six digits, a recovery code or an access pass).
    Code(String),
    /// The browser's `credential.toJSON()` of the transaction's passkey ceremony.
    Webauthn(serde_json::Value),
}

impl Proof {
    /// The proof of a verify body: its `code` or its `webauthn`, exactly one of them.
    pub fn of(code: Option<String>, webauthn: Option<serde_json::Value>) -> Result<Self, DomainError> {
        match (code, webauthn) {
            (Some(code), None) => Ok(Self::Code(code)),
            (None, Some(response)) => Ok(Self::Webauthn(response)),
            (None, None) => Err(DomainError::Empty("code")),
            (Some(_), Some(_)) => Err(DomainError::invalid(
                "verify request",
                "code and webauthn",
                "send the code or the passkey's answer",
            )),
        }
    }
}

impl ApiRequest for VerifyRequest {
    type Answer = Verified;

    fn action(&self) -> &'static str {
        "login.verify"
    }

    fn run(&self, cx: &CallContext<'_>) -> ServiceResult<Done<Verified>> {
        let (row, address, ip) = cx.service.transaction_of(cx.tx, cx.client()?, &self.transaction_id)?;
        // A step-up proves a fresh second step; it does not vouch for the device.
        let remember = self.remember && row.purpose == Purpose::Login;
        let actor = cx.client_actor()?;
        let mut verified = match &self.proof {
            Proof::Code(code) => {
                let code: Passcode = code.parse()?;
                cx.service.verify_login_in(cx.tx, &actor, &address, ip, &code, remember)?
            }
            Proof::Webauthn(response) => {
                cx.service.verify_passkey_in(cx.tx, &actor, (&address, ip), &row.id, response, remember)?
            }
        };
        if verified.answer == VerifyAnswer::Accepted {
            cx.tx.end_transaction(&row.id)?;
            if row.purpose == Purpose::StepUp {
                verified.step_up_token = Some(cx.service.issue_step_up(cx.tx, &row.client_id, &address)?);
            }
        }
        Ok(Done::only(verified))
    }

    fn guessed_wrong(answer: &Verified) -> bool {
        answer.answer != VerifyAnswer::Accepted
    }
}

/// `POST /v1/login/resend`: a new SMS or e-mailed code for a transaction (the old one void).
#[derive(Debug, Clone)]
pub struct ResendRequest {
    /// The transaction `begin` answered with.
    pub transaction_id: String,
}

impl ApiRequest for ResendRequest {
    type Answer = BeginAnswer;

    fn action(&self) -> &'static str {
        "login.resend"
    }

    fn run(&self, cx: &CallContext<'_>) -> ServiceResult<Done<BeginAnswer>> {
        let (row, address, ip) = cx.service.transaction_of(cx.tx, cx.client()?, &self.transaction_id)?;
        let LoginStart { answer, delivery } =
            cx.service.decide_login_in(cx.tx, &cx.client_actor()?, &address, ip, None, row.purpose)?;
        match &answer {
            BeginAnswer::Challenge { sent_to: Some(_), .. } => {
                let until = cx.service.now() + cx.service.login_lifetime(cx.tx)?;
                cx.tx.extend_transaction(&row.id, until)?;
            }
            BeginAnswer::Locked { .. } => {}
            _ => return Err(ServiceError::NothingToResend),
        }
        Ok(Done { answer, delivery })
    }
}

/// `POST /v1/login/enrolment`: the key URI of a transaction that waits for the first code of a new
/// TOTP secret.
#[derive(Debug, Clone)]
pub struct EnrolmentRequest {
    /// The transaction `begin` answered `enroll` with.
    pub transaction_id: String,
}

impl ApiRequest for EnrolmentRequest {
    type Answer = Zeroizing<String>;

    fn action(&self) -> &'static str {
        "login.enrolment"
    }

    fn run(&self, cx: &CallContext<'_>) -> ServiceResult<Done<Zeroizing<String>>> {
        let (_, address, _) = cx.service.transaction_of(cx.tx, cx.client()?, &self.transaction_id)?;
        let issuer = cx.service.world.current(cx.tx)?.settings.issuer.clone();
        let (uri, state) = match crate::service::admin::enrolment_of(cx.tx, &issuer, &address) {
            // A code by SMS or e-mail: the transaction waits for no enrolment.
            Err(ServiceError::NoTotpSecret(_)) => return Err(ServiceError::UnknownTransaction),
            found => found?,
        };
        if state != EnrolmentState::Pending {
            return Err(ServiceError::UnknownTransaction);
        }
        Ok(Done::only(uri))
    }
}

impl Service {
    /// The live transaction of that id, if the calling client began it.
    fn transaction_of(
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
    pub(in crate::service) fn open_transaction(
        &self,
        tx: &Tx<'_>,
        client: &ClientRow,
        (address, ip): (&MailboxAddress, LoginIp),
        answer: &BeginAnswer,
        purpose: Purpose,
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
            purpose,
            expires_at: now + lifetime,
        };
        tx.insert_transaction(&row, now)?;
        let remember_days = self.world.current(tx)?.settings.remember_days;
        Ok(Some(Transaction { transaction_id: row.id, expires_in: lifetime, remember_days, webauthn: None }))
    }

    /// Who the passkey ceremonies of `client`'s logins are for: its own origins (`client add
    /// --origin`), where the webmail runs the ceremony on its own pages; else the hosted pages'
    /// origin (`serve.public_url`).
    pub(in crate::service) fn relying_party(&self, tx: &Tx<'_>, client: &ClientRow) -> ServiceResult<RelyingParty> {
        let origins = parse_origins(&client.origins).map_err(|e| ServiceError::Store(e.into()))?;
        match RelyingParty::of(&origins)? {
            Some(relying_party) => Ok(relying_party),
            None => match self.hosted_relying_party(tx) {
                Err(ServiceError::NoSigninPasskeyOrigin) => Err(ServiceError::NoPasskeyOrigin),
                hosted => hosted,
            },
        }
    }

    /// Who the passkey ceremonies of the hosted pages are for: their origin, `serve.public_url`
    /// (its host is the RP ID), whatever origins the client that started the sign-in declared.
    pub(in crate::service) fn hosted_relying_party(&self, tx: &Tx<'_>) -> ServiceResult<RelyingParty> {
        let public_url = self.world.current(tx)?.settings.serve_public_url.clone();
        let origins: Vec<WebOrigin> = hosted_pages_origin(&public_url).into_iter().collect();
        RelyingParty::of(&origins)?.ok_or(ServiceError::NoSigninPasskeyOrigin)
    }

    /// Gives the client a step-up token for the mailbox, good for [`STEP_UP_SECONDS`]; only its
    /// keyed hash is kept.
    fn issue_step_up(&self, tx: &Tx<'_>, client_id: &str, address: &MailboxAddress) -> ServiceResult<String> {
        let token = self.random_token()?;
        let hash = tx.key().code_hash(STEP_UP_CONTEXT, &token);
        tx.insert_step_up(&hash, client_id, &address.to_string(), self.now() + STEP_UP_SECONDS)?;
        Ok(token)
    }

    /// Whether `token` is a step-up token the client was given for the mailbox within the last
    /// [`STEP_UP_SECONDS`]: what a sensitive change needs.
    pub(in crate::service) fn check_step_up(
        &self,
        tx: &Tx<'_>,
        client_id: &str,
        address: &MailboxAddress,
        token: Option<&str>,
    ) -> ServiceResult<()> {
        let token = token.filter(|t| !t.is_empty() && t.len() <= 128).ok_or(ServiceError::StepUpRequired)?;
        let hash = tx.key().code_hash(STEP_UP_CONTEXT, token);
        if tx.step_up_holds(&hash, client_id, &address.to_string(), self.now())? {
            Ok(())
        } else {
            Err(ServiceError::StepUpRequired)
        }
    }

    /// 256 random bits, base64url.
    fn random_token(&self) -> ServiceResult<String> {
        let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
        self.world.random.fill(bytes.as_mut())?;
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_ref()))
    }

    /// `n` random bytes as hexadecimal.
    pub(in crate::service) fn random_hex(&self, n: usize) -> ServiceResult<String> {
        let mut bytes = vec![0u8; n];
        self.world.random.fill(&mut bytes)?;
        Ok(to_hex(&bytes))
    }

    /// How long a login transaction lives: as long as a one-time code.
    pub(in crate::service) fn login_lifetime(&self, tx: &Tx<'_>) -> ServiceResult<i64> {
        Ok(self.world.current(tx)?.settings.code_lifetime_seconds)
    }
}

/// The origin of the hosted pages (`serve.public_url`'s scheme, host and port), if it is one a
/// passkey ceremony may run on.
fn hosted_pages_origin(public_url: &str) -> Option<WebOrigin> {
    let url = url::Url::parse(public_url).ok()?;
    url.origin().ascii_serialization().parse().ok()
}
