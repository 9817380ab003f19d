//! What a signed-in web administrator may do, enforced here for every call (docs/DESIGN.md §12):
//! [`Scoped`] carries who they are; each method checks the post office (or the platform role)
//! before it calls the service's own method, which audits the action under the actor
//! `web:<name>`. A call outside the administrator's reach is refused with
//! [`ServiceError::OutOfScope`] or [`ServiceError::PlatformOnly`] and audited as `refused`,
//! whatever URL or form field named the mailbox.

use zeroize::Zeroizing;

use super::actor_of;
use super::signin::AdminSession;
use crate::domain::{
    AppPasswordName, AuditEntry, AuditOutcome, AuditRecord, Configurer, EnrolmentState, LetterCode, MailboxAddress,
    PostOffice, PostOfficeName, Provider, ProviderSwitches,
};
use crate::service::{
    IssuedAccessPass, MailboxChanges, MailboxDetails, MailboxPage, MailboxQuery, PostOfficeChanges, Service,
    ServiceError, ServiceResult,
};

/// The service acting for one signed-in web administrator.
pub struct Scoped<'a> {
    service: &'a Service,
    session: &'a AdminSession,
}

impl Service {
    /// The service acting for the administrator of `session`: its audit entries name
    /// `web:<name>`, and every call is checked against their role and post offices. A session
    /// that has only had the password (not yet the code) acts for no one.
    pub fn as_admin<'a>(&'a mut self, session: &'a AdminSession) -> ServiceResult<Scoped<'a>> {
        if !session.complete() {
            return Err(ServiceError::AdminSession);
        }
        self.actor = actor_of(&session.admin().name);
        Ok(Scoped { service: self, session })
    }
}

impl Scoped<'_> {
    /// Refuses (and audits) a call for a post office the administrator does not look after.
    fn reach(&self, postoffice: &PostOfficeName, action: &str, mailbox: Option<&MailboxAddress>) -> ServiceResult<()> {
        if self.session.admin().covers(postoffice) {
            return Ok(());
        }
        self.refused(action, mailbox, &format!("outside the administrator's post offices: {postoffice}"))?;
        Err(ServiceError::OutOfScope(postoffice.clone()))
    }

    /// Refuses (and audits) a call only platform administrators may make.
    fn platform(&self, action: &'static str) -> ServiceResult<()> {
        if self.session.admin().is_platform() {
            return Ok(());
        }
        self.refused(action, None, "only a platform administrator may")?;
        Err(ServiceError::PlatformOnly(action))
    }

    fn refused(&self, action: &str, mailbox: Option<&MailboxAddress>, detail: &str) -> ServiceResult<()> {
        let entry = AuditEntry {
            at: self.service.now(),
            actor: actor_of(&self.session.admin().name).to_string(),
            mailbox: mailbox.map(ToString::to_string),
            action: action.to_owned(),
            outcome: AuditOutcome::Refused,
            detail: Some(detail.to_owned()),
            ..AuditEntry::default()
        };
        Ok(self.service.store.write(|tx| tx.insert_audit(&entry))?)
    }

    /// The current time.
    pub fn now(&self) -> crate::clock::UnixTime {
        self.service.now()
    }

    /// The administrator's post offices with their mailbox counts.
    pub fn postoffices(&self) -> ServiceResult<Vec<PostOffice>> {
        let all = self.service.postoffices()?;
        Ok(all.into_iter().filter(|po| self.session.admin().covers(&po.name)).collect())
    }

    /// One of the administrator's post offices.
    pub fn postoffice(&self, name: &PostOfficeName) -> ServiceResult<PostOffice> {
        self.reach(name, "postoffice.show", None)?;
        self.service.postoffice(name)
    }

    /// Changes a post office's default mode and trusted networks (all a post-office
    /// administrator may change of it).
    pub fn set_postoffice(&self, name: &PostOfficeName, changes: &PostOfficeChanges) -> ServiceResult<()> {
        self.reach(name, "postoffice.set", None)?;
        let limited = PostOfficeChanges {
            challenge: changes.challenge,
            trusted_networks: changes.trusted_networks.clone(),
            ..PostOfficeChanges::default()
        };
        let changes = if self.session.admin().is_platform() { changes } else { &limited };
        self.service.set_postoffice(name, changes)
    }

    /// A page of a post office's mailboxes, filtered, sorted and cut in SQL.
    pub fn mailbox_page(&self, name: &PostOfficeName, query: &MailboxQuery) -> ServiceResult<MailboxPage> {
        self.reach(name, "postoffice.mailboxes", None)?;
        self.service.mailbox_page(name, query)
    }

    /// A mailbox's Two Factor properties.
    pub fn mailbox(&self, address: &MailboxAddress) -> ServiceResult<MailboxDetails> {
        self.reach(&address.postoffice, "mailbox.show", Some(address))?;
        self.service.mailbox(address)
    }

    /// The providers an administrator may give the mailbox (the providers' switches).
    pub fn offered_providers(&self, address: &MailboxAddress) -> ServiceResult<Vec<Provider>> {
        self.reach(&address.postoffice, "mailbox.show", Some(address))?;
        Ok(crate::domain::offered_providers(&self.service.providers()?, Configurer::Administrator))
    }

    /// Changes a mailbox's mode, provider (as far as the providers' switches let administrators),
    /// SMS number or alternate address.
    pub fn set_mailbox(&self, address: &MailboxAddress, changes: &MailboxChanges) -> ServiceResult<()> {
        self.reach(&address.postoffice, "mailbox.set", Some(address))?;
        self.service.set_mailbox(address, changes, Configurer::Administrator)
    }

    /// Reveals the enrolment URI (the QR code); audited.
    pub fn enrolment_uri(&self, address: &MailboxAddress) -> ServiceResult<(Zeroizing<String>, EnrolmentState)> {
        self.reach(&address.postoffice, "mailbox.show_qr", Some(address))?;
        self.service.enrolment_uri(address)
    }

    /// Resets the two factor code: the next login enrols again.
    pub fn reset_two_factor_code(&self, address: &MailboxAddress) -> ServiceResult<usize> {
        self.reach(&address.postoffice, "mailbox.reset_code", Some(address))?;
        self.service.reset_two_factor_code(address)
    }

    /// Forgets the known countries and IP addresses.
    pub fn reset_country_exceptions(&self, address: &MailboxAddress) -> ServiceResult<(usize, usize)> {
        self.reach(&address.postoffice, "mailbox.reset_countries", Some(address))?;
        self.service.reset_country_exceptions(address)
    }

    /// Clears a lock.
    pub fn unlock(&self, address: &MailboxAddress) -> ServiceResult<()> {
        self.reach(&address.postoffice, "mailbox.unlock", Some(address))?;
        self.service.unlock(address)
    }

    /// Issues a temporary access pass.
    pub fn issue_access_pass(
        &self,
        address: &MailboxAddress,
        minutes: i64,
        once: bool,
    ) -> ServiceResult<IssuedAccessPass> {
        self.reach(&address.postoffice, "mailbox.access_pass", Some(address))?;
        self.service.issue_access_pass(address, minutes, once)
    }

    /// Issues new recovery codes (the old ones void).
    pub fn new_recovery_codes(&self, address: &MailboxAddress) -> ServiceResult<Vec<LetterCode>> {
        self.reach(&address.postoffice, "mailbox.recovery_codes", Some(address))?;
        self.service.new_recovery_codes(address)
    }

    /// Forgets the remembered devices.
    pub fn forget_devices(&self, address: &MailboxAddress) -> ServiceResult<usize> {
        self.reach(&address.postoffice, "mailbox.forget_devices", Some(address))?;
        self.service.forget_devices(address)
    }

    /// Removes one app password.
    pub fn remove_app_password(&self, address: &MailboxAddress, name: &AppPasswordName) -> ServiceResult<()> {
        self.reach(&address.postoffice, "app_password.remove", Some(address))?;
        self.service.remove_app_password(address, name)
    }

    /// The newest audit entries first, `limit` of them, whose text contains `filter`: all of them
    /// for a platform administrator; for a post-office administrator, those of their post
    /// offices' mailboxes and their own sign-ins.
    pub fn audit(&self, filter: &str, limit: usize) -> ServiceResult<Vec<AuditRecord>> {
        let admin = self.session.admin();
        let scope = (!admin.is_platform()).then(|| {
            (
                admin.postoffices.iter().map(|po| po.as_str().to_owned()).collect::<Vec<_>>(),
                actor_of(&admin.name).to_string(),
            )
        });
        Ok(self.service.store.read(|tx| tx.audit_scoped(scope.as_ref(), filter, limit))?)
    }

    /// The coverage report of the administrator's post offices (all of them for a platform
    /// administrator), with their total.
    pub fn coverage(&self) -> ServiceResult<crate::domain::CoverageReport> {
        let admin = self.session.admin();
        self.service.coverage((!admin.is_platform()).then_some(admin.postoffices.as_slice()))
    }

    /// The providers and their switches (platform administrators).
    pub fn providers(&self) -> ServiceResult<Vec<(Provider, ProviderSwitches)>> {
        self.platform("provider.list")?;
        self.service.providers()
    }

    /// Changes a provider's switches (platform administrators).
    pub fn set_provider(&self, provider: Provider, switches: ProviderSwitches) -> ServiceResult<ProviderSwitches> {
        self.platform("provider.set")?;
        let ProviderSwitches { enabled, admin_configurable, user_configurable } = switches;
        self.service.set_provider(provider, Some(enabled), Some(admin_configurable), Some(user_configurable))
    }

    /// Every setting, secrets masked (platform administrators).
    pub fn settings(&self) -> ServiceResult<Vec<crate::service::SettingView>> {
        self.platform("settings.show")?;
        self.service.settings()
    }

    /// Changes a setting (platform administrators).
    pub fn set_setting(&self, key: &str, value: &str) -> ServiceResult<()> {
        self.platform("settings.set")?;
        self.service.set_setting(key, value)
    }

    /// The API clients (platform administrators).
    pub fn clients(&self) -> ServiceResult<Vec<crate::service::ApiClient>> {
        self.platform("client.list")?;
        self.service.clients()
    }

    /// Removes an API client (platform administrators).
    pub fn remove_client(&self, name: &str) -> ServiceResult<()> {
        self.platform("client.remove")?;
        self.service.remove_client(name)
    }

    /// The web administrators (platform administrators).
    pub fn admins(&self) -> ServiceResult<Vec<crate::domain::Administrator>> {
        self.platform("admin.list")?;
        self.service.admins()
    }

    /// Adds a web administrator (platform administrators); the set-up link is shown once.
    pub fn add_admin(
        &self,
        name: &crate::domain::AdminName,
        role: crate::domain::AdminRole,
        postoffices: &[PostOfficeName],
    ) -> ServiceResult<super::AdminSetupLink> {
        self.platform("admin.add")?;
        self.service.add_admin(name, role, postoffices)
    }

    /// Removes a web administrator (platform administrators).
    pub fn remove_admin(&self, name: &crate::domain::AdminName) -> ServiceResult<()> {
        self.platform("admin.remove")?;
        self.service.remove_admin(name)
    }

    /// Starts a web administrator's set-up again (platform administrators): their credentials
    /// and sessions stop working at once, and the new set-up link is shown once.
    pub fn reset_admin(&self, name: &crate::domain::AdminName) -> ServiceResult<super::AdminSetupLink> {
        self.platform("admin.reset")?;
        self.service.reset_admin(name)
    }
}
