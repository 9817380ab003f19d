//! A webmail's *Mail programs* page through the API (docs/DESIGN.md §11): a mailbox's user lists
//! their app passwords, makes one (after a fresh second step: whoever has only the password must
//! not mint a way around the second step), and removes one. Each change is audited as done by the
//! API client for the user, never with the password.

use serde::Serialize;

use super::users::user_entry;
use super::{ApiRequest, CallContext, Done};
use crate::domain::{AppPassword, AppPasswordName, Mailbox, Protocols};
use crate::service::admin::existing_mailbox;
use crate::service::mailprog::remove_app_password_in;
use crate::service::{IssuedAppPassword, NewAppPassword, ServiceResult};

/// A mailbox's app passwords as its user sees them.
#[derive(Debug, Clone, Serialize)]
pub struct AppPasswordsView {
    /// The mailbox.
    pub address: String,
    /// Its app passwords, by name (never the passwords).
    pub app_passwords: Vec<AppPassword>,
    /// How many it may have.
    pub max: i64,
    /// Whether mail programs may still sign in with the mailbox password.
    pub password_in_mail_programs: bool,
}

fn view(cx: &CallContext<'_>, mailbox: &Mailbox) -> ServiceResult<AppPasswordsView> {
    let settings = &cx.service.world.current(cx.tx)?.settings;
    Ok(AppPasswordsView {
        address: mailbox.address.to_string(),
        app_passwords: cx.tx.app_passwords(mailbox.id)?,
        max: settings.mailprog_max_app_passwords,
        password_in_mail_programs: mailbox.password_in_mail_programs(settings.mailprog_policy),
    })
}

/// `GET /v1/users/{address}/app-passwords`.
#[derive(Debug, Clone)]
pub struct ListAppPasswordsRequest {
    /// The mailbox, as in the path.
    pub address: String,
}

impl ApiRequest for ListAppPasswordsRequest {
    type Answer = AppPasswordsView;

    fn action(&self) -> &'static str {
        "user.app_passwords"
    }

    fn subject(&self) -> (Option<String>, Option<String>) {
        (Some(crate::service::login::shown(&self.address)), None)
    }

    fn run(&self, cx: &CallContext<'_>) -> ServiceResult<Done<AppPasswordsView>> {
        let mailbox = existing_mailbox(cx.tx, &cx.mailbox(&self.address)?)?;
        Ok(Done::only(view(cx, &mailbox)?))
    }
}

/// `POST /v1/users/{address}/app-passwords {"name","protocols"?}` (needs a step-up).
#[derive(Debug, Clone)]
pub struct AddAppPasswordRequest {
    /// The mailbox, as in the path.
    pub address: String,
    /// Its name, as sent.
    pub name: String,
    /// The protocols, as sent (`imap,smtp`); all of them when absent.
    pub protocols: Option<String>,
    /// The step-up token.
    pub step_up_token: Option<String>,
}

impl ApiRequest for AddAppPasswordRequest {
    type Answer = IssuedAppPassword;

    fn action(&self) -> &'static str {
        "user.app_password_add"
    }

    fn subject(&self) -> (Option<String>, Option<String>) {
        (Some(crate::service::login::shown(&self.address)), None)
    }

    fn run(&self, cx: &CallContext<'_>) -> ServiceResult<Done<IssuedAppPassword>> {
        let mailbox = existing_mailbox(cx.tx, &cx.mailbox(&self.address)?)?;
        let new = NewAppPassword {
            name: self.name.parse()?,
            protocols: self.protocols.as_deref().map_or_else(|| Ok(Protocols::all()), str::parse)?,
            days: None,
        };
        cx.step_up(&mailbox.address, self.step_up_token.as_deref())?;
        let (issued, detail) = cx.service.issue_app_password(cx.tx, &mailbox, &new)?;
        cx.tx.insert_audit(&user_entry(cx, &mailbox.address, self.action(), detail)?)?;
        Ok(Done::only(issued))
    }
}

/// `DELETE /v1/users/{address}/app-passwords/{name}`: removing one needs no step-up (it only
/// takes a way in away).
#[derive(Debug, Clone)]
pub struct RemoveAppPasswordRequest {
    /// The mailbox, as in the path.
    pub address: String,
    /// The name, as in the path.
    pub name: String,
}

impl ApiRequest for RemoveAppPasswordRequest {
    type Answer = AppPasswordsView;

    fn action(&self) -> &'static str {
        "user.app_password_remove"
    }

    fn subject(&self) -> (Option<String>, Option<String>) {
        (Some(crate::service::login::shown(&self.address)), None)
    }

    fn run(&self, cx: &CallContext<'_>) -> ServiceResult<Done<AppPasswordsView>> {
        let mailbox = existing_mailbox(cx.tx, &cx.mailbox(&self.address)?)?;
        let name: AppPasswordName = self.name.parse()?;
        let detail = remove_app_password_in(cx.tx, &mailbox, &name)?;
        cx.tx.insert_audit(&user_entry(cx, &mailbox.address, self.action(), detail)?)?;
        Ok(Done::only(view(cx, &mailbox)?))
    }
}
