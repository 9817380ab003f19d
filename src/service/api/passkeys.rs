//! A webmail's *Passkeys* page through the API (DESIGN §14): a mailbox's user lists their
//! passkeys, adds another (a registration ceremony outside a login, begun only after a fresh
//! second step), names and renames them, and removes one (after a fresh second step). Each change
//! is audited as done by the user through the API client.
//!
//! The registration runs through the engine's checks (`engine::start_registration`,
//! `engine::finish_registration`, webauthn-rs) for the client's relying party, exactly as a
//! passkey registered at enrolment. Its state is kept sealed in a ceremony of its own
//! (`passkey_ceremony`), bound to the client and the mailbox, single use and short-lived: the
//! ceremony id, which only a begin with a step-up token gives, is what the finish needs.

use serde::Serialize;

use super::users::user_entry;
use super::{ApiRequest, CallContext, Done};
use crate::domain::{AuditOutcome, Mailbox, Passkey, PasskeyName, Provider};
use crate::service::admin::existing_mailbox;
use crate::service::{ServiceError, ServiceResult, engine};

/// A mailbox's passkeys as its user sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PasskeysView {
    /// The mailbox.
    pub address: String,
    /// Whether it signs in with a passkey (its provider): only then may passkeys be added.
    pub signs_in_with_passkey: bool,
    /// Its passkeys, by name (never the keys).
    pub passkeys: Vec<Passkey>,
}

fn view(cx: &CallContext<'_>, mailbox: &Mailbox) -> ServiceResult<PasskeysView> {
    Ok(PasskeysView {
        address: mailbox.address.to_string(),
        signs_in_with_passkey: mailbox.provider == Provider::Passkey,
        passkeys: cx.tx.passkeys(mailbox.id)?.into_iter().map(|row| row.shown).collect(),
    })
}

/// `GET /v1/users/{address}/passkeys`.
#[derive(Debug, Clone)]
pub struct ListPasskeysRequest {
    /// The mailbox, as in the path.
    pub address: String,
}

impl ApiRequest for ListPasskeysRequest {
    type Answer = PasskeysView;

    fn action(&self) -> &'static str {
        "user.passkeys"
    }

    fn subject(&self) -> (Option<String>, Option<String>) {
        (Some(crate::service::login::shown(&self.address)), None)
    }

    fn run(&self, cx: &CallContext<'_>) -> ServiceResult<Done<PasskeysView>> {
        let mailbox = existing_mailbox(cx.tx, &cx.mailbox(&self.address)?)?;
        Ok(Done::only(view(cx, &mailbox)?))
    }
}

/// A registration begun: what the browser's `navigator.credentials.create` needs, and the
/// ceremony its answer goes back to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PasskeyRegistration {
    /// The ceremony, for the finish.
    pub ceremony_id: String,
    /// Seconds until it ends unanswered.
    pub expires_in: i64,
    /// The `publicKey` options for `PublicKeyCredential.parseCreationOptionsFromJSON`.
    pub webauthn: serde_json::Value,
}

/// `POST /v1/users/{address}/passkeys/begin` (needs a step-up).
#[derive(Debug, Clone)]
pub struct BeginPasskeyRequest {
    /// The mailbox, as in the path.
    pub address: String,
    /// The step-up token.
    pub step_up_token: Option<String>,
}

impl ApiRequest for BeginPasskeyRequest {
    type Answer = PasskeyRegistration;

    fn action(&self) -> &'static str {
        "user.passkey_begin"
    }

    fn subject(&self) -> (Option<String>, Option<String>) {
        (Some(crate::service::login::shown(&self.address)), None)
    }

    fn run(&self, cx: &CallContext<'_>) -> ServiceResult<Done<PasskeyRegistration>> {
        let mailbox = existing_mailbox(cx.tx, &cx.mailbox(&self.address)?)?;
        cx.step_up(&mailbox.address, self.step_up_token.as_deref())?;
        if mailbox.provider != Provider::Passkey {
            return Err(ServiceError::NotPasskeyMailbox(mailbox.address));
        }
        let client = cx.client()?;
        let relying_party = cx.service.relying_party(cx.tx, client)?;
        let snapshot = cx.service.world.current(cx.tx)?;
        let actor = cx.client_actor()?;
        let start =
            engine::start_registration(cx.tx, &cx.service.context(&snapshot, &actor), &mailbox, &relying_party)?;
        let ceremony_id = cx.service.random_hex(16)?;
        let now = cx.service.now();
        let expires_in = cx.service.login_lifetime(cx.tx)?;
        cx.tx.hold_registration((&ceremony_id, &client.id), mailbox.id, &start.state, (now, now + expires_in))?;
        Ok(Done::only(PasskeyRegistration { ceremony_id, expires_in, webauthn: start.options }))
    }
}

/// What came of a registration's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum PasskeyFinished {
    /// The passkey is added under `name`.
    Accepted {
        /// Its name.
        name: PasskeyName,
        /// The passkeys now.
        #[serde(flatten)]
        passkeys: PasskeysView,
    },
    /// The browser's answer did not pass (another origin, a bad signature, a credential another
    /// mailbox holds): the ceremony is spent, a new one must be begun.
    Rejected {
        /// `invalid_passkey`.
        reason: &'static str,
    },
}

/// `POST /v1/users/{address}/passkeys/finish {"ceremony_id","webauthn","name"}`: the browser's
/// `credential.toJSON()` of a registration begun for this client and mailbox.
#[derive(Debug, Clone)]
pub struct FinishPasskeyRequest {
    /// The mailbox, as in the path.
    pub address: String,
    /// The ceremony the begin answered with.
    pub ceremony_id: String,
    /// The name, as sent (the first free `Passkey N` when absent).
    pub name: Option<String>,
    /// The browser's answer.
    pub webauthn: serde_json::Value,
}

impl ApiRequest for FinishPasskeyRequest {
    type Answer = PasskeyFinished;

    fn action(&self) -> &'static str {
        "user.passkey_add"
    }

    fn subject(&self) -> (Option<String>, Option<String>) {
        (Some(crate::service::login::shown(&self.address)), None)
    }

    fn run(&self, cx: &CallContext<'_>) -> ServiceResult<Done<PasskeyFinished>> {
        let mailbox = existing_mailbox(cx.tx, &cx.mailbox(&self.address)?)?;
        let taken: Vec<PasskeyName> = cx.tx.passkeys(mailbox.id)?.into_iter().map(|row| row.shown.name).collect();
        let name = match self.name.as_deref().filter(|n| !n.trim().is_empty()) {
            Some(raw) => raw.parse::<PasskeyName>()?,
            None => PasskeyName::first_free(&taken),
        };
        // Refused before the ceremony is taken, so the same answer may come again with another name.
        if taken.contains(&name) {
            return Err(ServiceError::PasskeyExists { address: mailbox.address, name });
        }
        let client = cx.client()?;
        let now = cx.service.now();
        let held = cx.tx.take_registration((&self.ceremony_id, &client.id), mailbox.id, now)?;
        let state = held.ok_or(ServiceError::UnknownCeremony)?;
        let snapshot = cx.service.world.current(cx.tx)?;
        let actor = cx.client_actor()?;
        let checked = engine::finish_registration(
            cx.tx,
            &cx.service.context(&snapshot, &actor),
            &mailbox,
            &state,
            &self.webauthn,
            &name,
        )?;
        let mut entry = user_entry(cx, &mailbox.address, self.action(), String::new())?;
        let finished = match checked {
            Ok(name) => {
                entry.detail = Some(format!("passkey \"{name}\" registered"));
                PasskeyFinished::Accepted { name, passkeys: view(cx, &mailbox)? }
            }
            Err(detail) => {
                entry.outcome = AuditOutcome::Refused;
                entry.detail = Some(detail);
                PasskeyFinished::Rejected { reason: "invalid_passkey" }
            }
        };
        cx.tx.insert_audit(&entry)?;
        Ok(Done::only(finished))
    }

    fn guessed_wrong(answer: &PasskeyFinished) -> bool {
        matches!(answer, PasskeyFinished::Rejected { .. })
    }
}

/// `PUT /v1/users/{address}/passkeys/{name} {"name"}`: a new name (no step-up: it changes no way in).
#[derive(Debug, Clone)]
pub struct RenamePasskeyRequest {
    /// The mailbox, as in the path.
    pub address: String,
    /// The name, as in the path.
    pub name: String,
    /// The new name, as sent.
    pub new_name: String,
}

impl ApiRequest for RenamePasskeyRequest {
    type Answer = PasskeysView;

    fn action(&self) -> &'static str {
        "user.passkey_rename"
    }

    fn subject(&self) -> (Option<String>, Option<String>) {
        (Some(crate::service::login::shown(&self.address)), None)
    }

    fn run(&self, cx: &CallContext<'_>) -> ServiceResult<Done<PasskeysView>> {
        let mailbox = existing_mailbox(cx.tx, &cx.mailbox(&self.address)?)?;
        let name: PasskeyName = self.name.parse()?;
        let new_name: PasskeyName = self.new_name.parse()?;
        match cx.tx.rename_passkey(mailbox.id, &name, &new_name)? {
            None => return Err(ServiceError::NoPasskey { address: mailbox.address, name }),
            Some(false) => return Err(ServiceError::PasskeyExists { address: mailbox.address, name: new_name }),
            Some(true) => {}
        }
        let detail = format!("name={:?} new_name={:?}", name.as_str(), new_name.as_str());
        cx.tx.insert_audit(&user_entry(cx, &mailbox.address, self.action(), detail)?)?;
        Ok(Done::only(view(cx, &mailbox)?))
    }
}

/// `DELETE /v1/users/{address}/passkeys/{name}` (needs a step-up). The last passkey of a mailbox
/// that signs in with one is not removed: its next login would register a new one after the
/// password alone.
#[derive(Debug, Clone)]
pub struct RemovePasskeyRequest {
    /// The mailbox, as in the path.
    pub address: String,
    /// The name, as in the path.
    pub name: String,
    /// The step-up token.
    pub step_up_token: Option<String>,
}

impl ApiRequest for RemovePasskeyRequest {
    type Answer = PasskeysView;

    fn action(&self) -> &'static str {
        "user.passkey_remove"
    }

    fn subject(&self) -> (Option<String>, Option<String>) {
        (Some(crate::service::login::shown(&self.address)), None)
    }

    fn run(&self, cx: &CallContext<'_>) -> ServiceResult<Done<PasskeysView>> {
        let mailbox = existing_mailbox(cx.tx, &cx.mailbox(&self.address)?)?;
        let name: PasskeyName = self.name.parse()?;
        cx.step_up(&mailbox.address, self.step_up_token.as_deref())?;
        let names: Vec<PasskeyName> = cx.tx.passkeys(mailbox.id)?.into_iter().map(|row| row.shown.name).collect();
        if !names.contains(&name) {
            return Err(ServiceError::NoPasskey { address: mailbox.address, name });
        }
        if names.len() == 1 && mailbox.provider == Provider::Passkey {
            return Err(ServiceError::LastPasskey(mailbox.address));
        }
        cx.tx.delete_passkey(mailbox.id, &name)?;
        let detail = format!("name={:?}", name.as_str());
        cx.tx.insert_audit(&user_entry(cx, &mailbox.address, self.action(), detail)?)?;
        Ok(Done::only(view(cx, &mailbox)?))
    }
}
