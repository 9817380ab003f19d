//! The login gate through the API: `begin` decides (and opens a transaction that waits for a
//! code), `verify` checks the code within the transaction, `resend` sends a new one. A transaction
//! is bound to the client that began it, the mailbox and the IP address.

use serde::Serialize;

use super::{ApiRequest, CallContext, Done};
use crate::domain::{BeginAnswer, LoginIp, MailboxAddress, Passcode, Verified, VerifyAnswer};
use crate::service::crypto::to_hex;
use crate::service::login::{LoginStart, parse_login, shown};
use crate::service::store::{ClientRow, TransactionRow, Tx};
use crate::service::{Service, ServiceError, ServiceResult};

/// `POST /v1/login/begin`: the address and IP as sent, and the token of a device the user had
/// remembered, if the webmail has one.
#[derive(Debug, Clone)]
pub struct BeginRequest {
    /// The mailbox.
    pub address: String,
    /// The login's IP address.
    pub ip: String,
    /// A remembered device's token.
    pub device_token: Option<String>,
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
}

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
        let LoginStart { answer, delivery } =
            cx.service.decide_login_in(cx.tx, &address, ip, self.device_token.as_deref())?;
        let transaction = cx.service.open_transaction(cx.tx, cx.client()?, &address, ip, &answer)?;
        Ok(Done { answer: Begun { answer, transaction }, delivery })
    }
}

/// `POST /v1/login/verify`: the code typed within a transaction.
#[derive(Debug, Clone)]
pub struct VerifyRequest {
    /// The transaction `begin` answered with.
    pub transaction_id: String,
    /// The code the user typed.
    pub code: String,
    /// The user ticked "remember this device".
    pub remember: bool,
}

impl ApiRequest for VerifyRequest {
    type Answer = Verified;

    fn action(&self) -> &'static str {
        "login.verify"
    }

    fn run(&self, cx: &CallContext<'_>) -> ServiceResult<Done<Verified>> {
        let (row, address, ip) = cx.service.transaction_of(cx.tx, cx.client()?, &self.transaction_id)?;
        let code: Passcode = self.code.parse()?;
        let verified = cx.service.verify_login_in(cx.tx, &address, ip, &code, self.remember)?;
        if verified.answer == VerifyAnswer::Accepted {
            cx.tx.end_transaction(&row.id)?;
        }
        Ok(Done::only(verified))
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
        let LoginStart { answer, delivery } = cx.service.decide_login_in(cx.tx, &address, ip, None)?;
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
        let remember_days = self.world.current(tx)?.settings.remember_days;
        Ok(Some(Transaction { transaction_id: row.id, expires_in: lifetime, remember_days }))
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
