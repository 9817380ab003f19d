//! A webmail's settings page through the API: a mailbox's own two-factor settings as its user
//! sees and changes them (where the post office and the platform allow it), new recovery codes,
//! and forgetting the remembered devices. Each change is audited as done by the API client for
//! the user.

use serde::Serialize;

use super::{ApiRequest, CallContext, Done};
use crate::domain::{
    Actor, AuditEntry, AuditOutcome, ChallengeMode, Clearable, Configurer, EmailAddress, LetterCode, Mailbox,
    MailboxAddress, MailboxChallenge, PhoneNumber, Provider, offered_providers,
};
use crate::service::admin::{existing_mailbox, set_mailbox_in};
use crate::service::store::Tx;
use crate::service::{MailboxChanges, Service, ServiceResult, engine};

/// A mailbox's own settings as a webmail's options page sends them; `None` leaves a value, and an
/// empty SMS number or alternate address clears it. The words stay as sent: the service parses
/// them, so a bad one is refused and audited like any other request.
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
            sms_number: self.sms_number.as_deref().map(str::parse::<Clearable<PhoneNumber>>).transpose()?.map(|c| c.0),
            alt_email: self.alt_email.as_deref().map(str::parse::<Clearable<EmailAddress>>).transpose()?.map(|c| c.0),
            mail_programs: None,
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
            challenge: MailboxChallenge::ALL
                .into_iter()
                .map(|c| Choice { value: c.word(), label: c.user_label() })
                .collect(),
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

/// `GET /v1/users/{address}/settings`.
#[derive(Debug, Clone)]
pub struct ShowUserSettingsRequest {
    /// The mailbox, as in the path.
    pub address: String,
}

impl ApiRequest for ShowUserSettingsRequest {
    type Answer = UserSettingsView;

    fn action(&self) -> &'static str {
        "user.show"
    }

    fn subject(&self) -> (Option<String>, Option<String>) {
        (Some(crate::service::login::shown(&self.address)), None)
    }

    fn run(&self, cx: &CallContext<'_>) -> ServiceResult<Done<UserSettingsView>> {
        let mailbox = existing_mailbox(cx.tx, &cx.mailbox(&self.address)?)?;
        Ok(Done::only(user_settings_view(cx.service, cx.tx, &mailbox)?))
    }
}

/// `PUT /v1/users/{address}/settings`.
#[derive(Debug, Clone)]
pub struct UserSettingsRequest {
    /// The mailbox, as in the path.
    pub address: String,
    /// What to change.
    pub settings: UserSettings,
    /// The step-up token a change of provider, SMS number or alternate address needs.
    pub step_up_token: Option<String>,
}

impl ApiRequest for UserSettingsRequest {
    type Answer = UserSettingsView;

    fn action(&self) -> &'static str {
        "user.set"
    }

    fn subject(&self) -> (Option<String>, Option<String>) {
        (Some(crate::service::login::shown(&self.address)), None)
    }

    fn run(&self, cx: &CallContext<'_>) -> ServiceResult<Done<UserSettingsView>> {
        let address = cx.mailbox(&self.address)?;
        let changes = self.settings.changes()?;
        let detail = set_mailbox_in(cx.tx, &address, &changes, Configurer::EndUser)?;
        // Checked after the post office's and the platform's rules, so their refusal is what a user
        // reads; a missing step-up undoes the change with the request's savepoint.
        if changes.needs_step_up() {
            cx.step_up(&address, self.step_up_token.as_deref())?;
        }
        cx.tx.insert_audit(&user_entry(cx, &address, self.action(), detail)?)?;
        let mailbox = existing_mailbox(cx.tx, &address)?;
        Ok(Done::only(user_settings_view(cx.service, cx.tx, &mailbox)?))
    }
}

/// `POST /v1/users/{address}/recovery-codes`: new codes, the old void (needs a step-up).
#[derive(Debug, Clone)]
pub struct NewRecoveryCodesRequest {
    /// The mailbox, as in the path.
    pub address: String,
    /// The step-up token.
    pub step_up_token: Option<String>,
}

impl ApiRequest for NewRecoveryCodesRequest {
    type Answer = NewRecoveryCodes;

    fn action(&self) -> &'static str {
        "user.recovery_codes"
    }

    fn subject(&self) -> (Option<String>, Option<String>) {
        (Some(crate::service::login::shown(&self.address)), None)
    }

    fn run(&self, cx: &CallContext<'_>) -> ServiceResult<Done<NewRecoveryCodes>> {
        let mailbox = existing_mailbox(cx.tx, &cx.mailbox(&self.address)?)?;
        cx.step_up(&mailbox.address, self.step_up_token.as_deref())?;
        let random = cx.service.world.random.as_ref();
        let recovery_codes = engine::issue_recovery_codes(cx.tx, random, mailbox.id, cx.service.now())?;
        let detail = format!("{} new recovery codes; the old ones voided", recovery_codes.len());
        cx.tx.insert_audit(&user_entry(cx, &mailbox.address, self.action(), detail)?)?;
        Ok(Done::only(NewRecoveryCodes { address: mailbox.address.to_string(), recovery_codes }))
    }
}

/// `DELETE /v1/users/{address}/devices`: the user forgets their remembered devices (needs a
/// step-up).
#[derive(Debug, Clone)]
pub struct ForgetDevicesRequest {
    /// The mailbox, as in the path.
    pub address: String,
    /// The step-up token.
    pub step_up_token: Option<String>,
}

impl ApiRequest for ForgetDevicesRequest {
    type Answer = UserSettingsView;

    fn action(&self) -> &'static str {
        "user.forget_devices"
    }

    fn subject(&self) -> (Option<String>, Option<String>) {
        (Some(crate::service::login::shown(&self.address)), None)
    }

    fn run(&self, cx: &CallContext<'_>) -> ServiceResult<Done<UserSettingsView>> {
        let mailbox = existing_mailbox(cx.tx, &cx.mailbox(&self.address)?)?;
        cx.step_up(&mailbox.address, self.step_up_token.as_deref())?;
        let forgotten = cx.tx.forget_devices(mailbox.id)?;
        cx.tx.insert_audit(&user_entry(
            cx,
            &mailbox.address,
            self.action(),
            format!("devices_forgotten={forgotten}"),
        )?)?;
        Ok(Done::only(user_settings_view(cx.service, cx.tx, &mailbox)?))
    }
}

/// The audit entry of what a mailbox's user did through a client (the webmail's settings page):
/// the user is the actor.
pub(super) fn user_entry(
    cx: &CallContext<'_>,
    mailbox: &MailboxAddress,
    action: &str,
    detail: String,
) -> ServiceResult<AuditEntry> {
    Ok(AuditEntry {
        at: cx.service.now(),
        actor: Actor::User(mailbox.to_string()).to_string(),
        mailbox: Some(mailbox.to_string()),
        action: action.to_owned(),
        ip: Some(cx.caller.source.to_string()),
        outcome: AuditOutcome::Ok,
        detail: Some(detail),
        ..AuditEntry::default()
    })
}

/// What a mailbox's user sees of its settings.
fn user_settings_view(service: &Service, tx: &Tx<'_>, mailbox: &Mailbox) -> ServiceResult<UserSettingsView> {
    let settings = service.world.current(tx)?.settings;
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
