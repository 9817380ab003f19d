//! Administration: post offices, mailboxes and their two-factor policy, providers, settings, and
//! the audit log — each change one transaction with its audit entry.

use std::path::Path;

use zeroize::Zeroizing;

use super::engine;
use super::store::Tx;
use super::{IfExists, Service, ServiceError, ServiceResult};
use crate::clock::UnixTime;
use crate::domain::{
    AppPassword, AuditRecord, ChallengeMode, Configurer, CoverageReport, DomainError, EmailAddress, EnrolmentState,
    IpNetwork, KnownLocation, LetterCode, MailProgramPolicy, MailPrograms, Mailbox, MailboxAddress, MailboxChallenge,
    MailboxSummary, NoticeEvent, Passkey, PhoneNumber, PostOffice, PostOfficeName, Provider, ProviderSwitches,
    RECOVERY_CODES, SETTINGS, SettingDef, SettingKind, Settings, join_networks, known_since, natural_order, setting,
    totp,
};

/// What `mailbox reset` forgets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResetParts {
    /// The TOTP secret, its replay state and failure counter (and with them the remembered
    /// devices): the next login enrols again.
    pub code: bool,
    /// The known countries and IP addresses.
    pub countries: bool,
    /// The remembered devices.
    pub devices: bool,
    /// The app passwords.
    pub app_passwords: bool,
}

impl ResetParts {
    /// Whether nothing is asked for.
    pub fn is_empty(self) -> bool {
        self == Self::default()
    }
}

/// What `mailbox reset` forgot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResetDone {
    /// The two factor code was reset.
    pub code_reset: bool,
    /// How many remembered devices were forgotten, if they were.
    pub devices_forgotten: Option<usize>,
    /// How many known countries and IP addresses were forgotten, if they were.
    pub places_forgotten: Option<(usize, usize)>,
    /// How many app passwords were removed, if they were.
    pub app_passwords_removed: Option<usize>,
}

/// What `postoffice set` changes; `None` keeps a value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostOfficeChanges {
    /// The challenge mode its mailboxes inherit.
    pub challenge: Option<ChallengeMode>,
    /// Whether its users may change their own two-factor settings.
    pub users_may_configure: Option<bool>,
    /// The networks it trusts (an empty list trusts none).
    pub trusted_networks: Option<Vec<IpNetwork>>,
    /// Whether remembered devices skip Prompt Always too.
    pub remember_in_always: Option<bool>,
    /// Whether its mail programs may use the mailbox password.
    pub mail_programs: Option<MailPrograms>,
}

/// What an administrator or a user wants changed on a mailbox; `None` leaves a value as it is, and
/// `Some(None)` clears an SMS number or alternate address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailboxChanges {
    /// Its own challenge setting.
    pub challenge: Option<MailboxChallenge>,
    /// Its provider.
    pub provider: Option<Provider>,
    /// Its SMS number.
    pub sms_number: Option<Option<PhoneNumber>>,
    /// Its alternate e-mail address.
    pub alt_email: Option<Option<EmailAddress>>,
    /// Whether its mail programs may use the mailbox password (administrators only).
    pub mail_programs: Option<MailPrograms>,
}

impl MailboxChanges {
    /// True when nothing would change.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Whether a user's own change needs a fresh second step: anything but the challenge mode
    /// changes where the codes go, which someone who has only the password must not do.
    pub fn needs_step_up(&self) -> bool {
        self.provider.is_some() || self.sms_number.is_some() || self.alt_email.is_some()
    }

    /// Whether the changes touch how codes reach the mailbox (not only when it is challenged).
    fn touch_delivery(&self) -> bool {
        self.provider.is_some() || self.sms_number.is_some() || self.alt_email.is_some()
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = self.challenge {
            parts.push(format!("challenge={c}"));
        }
        if let Some(p) = self.provider {
            parts.push(format!("provider={p}"));
        }
        match &self.sms_number {
            Some(Some(n)) => parts.push(format!("sms_number={}", n.masked())),
            Some(None) => parts.push("sms_number=(cleared)".to_owned()),
            None => {}
        }
        match &self.alt_email {
            Some(Some(e)) => parts.push(format!("alt_email={}", e.masked())),
            Some(None) => parts.push("alt_email=(cleared)".to_owned()),
            None => {}
        }
        if let Some(m) = self.mail_programs {
            parts.push(format!("mail_programs={m}"));
        }
        parts.join(" ")
    }
}

/// A mailbox with its known addresses and countries, for Properties and `mailbox show`.
#[derive(Debug, Clone)]
pub struct MailboxDetails {
    /// The mailbox.
    pub mailbox: Mailbox,
    /// Known IP addresses, newest first.
    pub known_ips: Vec<KnownLocation>,
    /// Known countries, newest first.
    pub known_countries: Vec<KnownLocation>,
    /// When its temporary access pass stops working, if it has one that still works.
    pub access_pass_until: Option<UnixTime>,
    /// How many of its recovery codes are unused.
    pub recovery_codes_left: i64,
    /// How many devices it remembers that have not expired.
    pub remembered_devices: i64,
    /// The mail-program policy in force (its own, its post office's or the platform's).
    pub mail_program_policy: MailProgramPolicy,
    /// Whether mail programs may still sign in with the mailbox password.
    pub password_in_mail_programs: bool,
    /// Its app passwords, by name (never the passwords).
    pub app_passwords: Vec<AppPassword>,
    /// Its passkeys, by name (never the keys).
    pub passkeys: Vec<Passkey>,
}

/// A temporary access pass just issued. It is shown this once; the store keeps only a keyed hash.
#[derive(Debug, Clone)]
pub struct IssuedAccessPass {
    /// The pass, to give to the user.
    pub pass: LetterCode,
    /// When it stops working.
    pub expires_at: UnixTime,
    /// It works once.
    pub once: bool,
}

/// How long an access pass may work, in minutes: ten minutes to thirty days.
pub const ACCESS_PASS_MINUTES: std::ops::RangeInclusive<i64> = 10..=43_200;

/// A setting as shown: its definition, its value (`***` for a secret that is set), and whether it
/// was set or is the default.
#[derive(Debug, Clone)]
pub struct SettingView {
    /// The setting.
    pub def: &'static SettingDef,
    /// The value, secrets masked.
    pub shown: String,
    /// Whether it was set explicitly.
    pub is_set: bool,
}

/// Mailboxes a page.
pub const PAGE_ROWS: i64 = 100;

/// Which mailboxes of a post office to show: a filter on the name, a column of
/// [`crate::domain::MAILBOX_COLUMNS`] to sort by, and the page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailboxQuery {
    /// Part of the mailbox name (empty: all).
    pub filter: String,
    /// The column to sort by (its index).
    pub sort: usize,
    /// Sorted from the end.
    pub descending: bool,
    /// The page, from 0.
    pub page: i64,
}

/// A page of a post office's mailboxes.
#[derive(Debug, Clone)]
pub struct MailboxPage {
    /// The rows.
    pub rows: Vec<MailboxSummary>,
    /// How many mailboxes the filter matches.
    pub total: i64,
    /// Rows a page.
    pub per_page: i64,
}

impl Service {
    // --- post offices -------------------------------------------------------------------------

    /// Every post office with its mailbox count.
    pub fn postoffices(&self) -> ServiceResult<Vec<PostOffice>> {
        Ok(self.store.read(|tx| tx.postoffices())?)
    }

    /// One post office.
    pub fn postoffice(&self, name: &PostOfficeName) -> ServiceResult<PostOffice> {
        self.store.read(|tx| tx.postoffice(name))?.ok_or_else(|| ServiceError::NoPostOffice(name.clone()))
    }

    /// Creates a post office (default mode `never`, self-service off).
    pub fn add_postoffice(&self, name: &PostOfficeName) -> ServiceResult<()> {
        self.audited("postoffice.add", None, |tx| {
            tx.insert_postoffice(name, self.now())?.ok_or_else(|| ServiceError::PostOfficeExists(name.clone()))?;
            Ok(((), format!("postoffice={name}")))
        })
    }

    /// Removes a post office; one with mailboxes only with `with_mailboxes`. Returns how many
    /// mailboxes went with it.
    pub fn remove_postoffice(&self, name: &PostOfficeName, with_mailboxes: bool) -> ServiceResult<i64> {
        self.audited("postoffice.remove", None, |tx| {
            let po = existing_postoffice(tx, name)?;
            if po.mailboxes > 0 && !with_mailboxes {
                return Err(ServiceError::PostOfficeNotEmpty { name: name.clone(), mailboxes: po.mailboxes });
            }
            tx.delete_postoffice(po.id)?;
            Ok((po.mailboxes, format!("postoffice={name} mailboxes_removed={}", po.mailboxes)))
        })
    }

    /// Changes a post office's default mode, self-service switch and trusted networks.
    pub fn set_postoffice(&self, name: &PostOfficeName, changes: &PostOfficeChanges) -> ServiceResult<()> {
        self.audited("postoffice.set", None, |tx| {
            let was = existing_postoffice(tx, name)?;
            let po = PostOffice {
                challenge: changes.challenge.unwrap_or(was.challenge),
                users_may_configure: changes.users_may_configure.unwrap_or(was.users_may_configure),
                trusted_networks: changes.trusted_networks.clone().unwrap_or(was.trusted_networks),
                remember_in_always: changes.remember_in_always.unwrap_or(was.remember_in_always),
                mail_programs: changes.mail_programs.unwrap_or(was.mail_programs),
                ..was
            };
            tx.update_postoffice(&po)?;
            let trusted = join_networks(&po.trusted_networks);
            Ok((
                (),
                format!(
                    "postoffice={name} challenge={} users_may_configure={} trusted_networks={} remember_in_always={} mail_programs={}",
                    po.challenge,
                    po.users_may_configure,
                    if trusted.is_empty() { "none" } else { &trusted },
                    po.remember_in_always,
                    po.mail_programs
                ),
            ))
        })
    }

    // --- mailboxes ----------------------------------------------------------------------------

    /// A page of a post office's mailboxes: filtered by name, sorted by a column of
    /// [`crate::domain::MAILBOX_COLUMNS`] and cut in SQL, so a post office of 100,000 mailboxes
    /// pages as fast as one of ten.
    pub fn mailbox_page(&self, name: &PostOfficeName, query: &MailboxQuery) -> ServiceResult<MailboxPage> {
        let now = self.now();
        self.store.read(|tx| {
            let po = existing_postoffice(tx, name)?;
            let platform = self.world.current(tx)?.settings.mailprog_policy;
            let window = (query.page.max(0) * PAGE_ROWS, PAGE_ROWS);
            let (rows, total) =
                tx.mailbox_page(po.id, &query.filter, query.sort, query.descending, window, now, platform)?;
            Ok(MailboxPage { rows, total, per_page: PAGE_ROWS })
        })
    }

    /// The mailbox table of one post office, or of all: by post office, then by mailbox name in
    /// natural order (`user2` before `user10`).
    pub fn mailboxes(&self, postoffice: Option<&PostOfficeName>) -> ServiceResult<Vec<MailboxSummary>> {
        let now = self.now();
        let mut rows = self.store.read(|tx| {
            let id = match postoffice {
                Some(name) => Some(existing_postoffice(tx, name)?.id),
                None => None,
            };
            let platform = self.world.current(tx)?.settings.mailprog_policy;
            Ok::<_, ServiceError>(tx.mailbox_summaries(id, now, platform)?)
        })?;
        rows.sort_by(|a, b| {
            a.address
                .postoffice
                .cmp(&b.address.postoffice)
                .then_with(|| natural_order(a.address.mailbox.as_str(), b.address.mailbox.as_str()))
        });
        Ok(rows)
    }

    /// One mailbox with its known IP addresses and countries.
    pub fn mailbox(&self, address: &MailboxAddress) -> ServiceResult<MailboxDetails> {
        self.store.read(|tx| {
            let mailbox = existing_mailbox(tx, address)?;
            let now = self.now();
            let settings = self.world.current(tx)?.settings;
            let since = known_since(now, settings.known_max_age_days);
            let known_ips = tx.known_ips(mailbox.id, since)?;
            let known_countries = tx.known_countries(mailbox.id, since)?;
            let access_pass_until = tx.access_pass(mailbox.id)?.map(|p| p.expires_at).filter(|until| *until > now);
            let recovery_codes_left = tx.recovery_codes_left(mailbox.id)?;
            let remembered_devices = engine::remembered_devices(tx, &settings, now, mailbox.id)?;
            let app_passwords = tx.app_passwords(mailbox.id)?;
            let passkeys = tx.passkeys(mailbox.id)?.into_iter().map(|row| row.shown).collect();
            Ok(MailboxDetails {
                mail_program_policy: mailbox.mail_program_policy(settings.mailprog_policy),
                password_in_mail_programs: mailbox.password_in_mail_programs(settings.mailprog_policy),
                app_passwords,
                passkeys,
                mailbox,
                known_ips,
                known_countries,
                access_pass_until,
                recovery_codes_left,
                remembered_devices,
            })
        })
    }

    /// Writes the coverage report of every post office as CSV (for a spreadsheet).
    pub fn write_coverage_csv(&self, path: &Path, if_exists: IfExists) -> ServiceResult<()> {
        super::files::write_file(path, self.coverage(None)?.to_csv().as_bytes(), if_exists)
    }

    /// The coverage report of these post offices, or of all.
    pub fn coverage(&self, postoffices: Option<&[PostOfficeName]>) -> ServiceResult<CoverageReport> {
        let now = self.now();
        self.store.read(|tx| {
            let (names, groups) = match postoffices {
                None => (tx.postoffices()?.into_iter().map(|po| po.name).collect(), tx.coverage_groups(None)?),
                Some(names) => {
                    let mut groups = Vec::new();
                    for name in names {
                        groups.extend(tx.coverage_groups(Some(existing_postoffice(tx, name)?.id))?);
                    }
                    (names.to_vec(), groups)
                }
            };
            let platform = self.world.current(tx)?.settings.mailprog_policy;
            Ok::<_, ServiceError>(CoverageReport::from_groups(names, &groups, now, platform))
        })
    }

    /// Creates a mailbox in an existing post office (challenge `inherit`, provider `totp`).
    pub fn add_mailbox(&self, address: &MailboxAddress) -> ServiceResult<()> {
        let shown = address.to_string();
        self.audited("mailbox.add", Some(&shown), |tx| {
            let po = existing_postoffice(tx, &address.postoffice)?;
            tx.insert_mailbox(po.id, &address.mailbox, self.now())?
                .ok_or_else(|| ServiceError::MailboxExists(address.clone()))?;
            Ok(((), String::new()))
        })
    }

    /// Removes a mailbox with its secret, known addresses and codes (its audit entries stay).
    pub fn remove_mailbox(&self, address: &MailboxAddress) -> ServiceResult<()> {
        let shown = address.to_string();
        self.audited("mailbox.remove", Some(&shown), |tx| {
            let mb = existing_mailbox(tx, address)?;
            tx.delete_mailbox(mb.id)?;
            Ok(((), String::new()))
        })
    }

    /// Changes a mailbox's policy as an administrator or, with [`Configurer::EndUser`], as its
    /// own user. A user needs the post office's permission for any change; choosing a provider or
    /// changing where codes go also needs the platform to let users configure that provider.
    pub fn set_mailbox(&self, address: &MailboxAddress, changes: &MailboxChanges, by: Configurer) -> ServiceResult<()> {
        let shown = address.to_string();
        let action = match by {
            Configurer::Administrator => "mailbox.set",
            Configurer::EndUser => "user.set",
        };
        self.audited(action, Some(&shown), |tx| Ok(((), set_mailbox_in(tx, address, changes, by)?)))
    }

    /// Clears the TOTP secret (so the next login enrols with a new QR code), its replay state, the
    /// failure counter and any outstanding code.
    pub fn reset_two_factor_code(&self, address: &MailboxAddress) -> ServiceResult<usize> {
        let shown = address.to_string();
        self.audited("mailbox.reset_code", Some(&shown), |tx| {
            let mb = existing_mailbox(tx, address)?;
            tx.reset_two_factor_code(mb.id)?;
            // A remembered device vouched for the old factor; it must not outlive it.
            let devices = tx.forget_devices(mb.id)?;
            self.notify_in(tx, &mb, NoticeEvent::CodeReset, None)?;
            Ok((devices, format!("was {}; devices_forgotten={devices}", mb.enrolment.word())))
        })
        .inspect(|_| self.send_notices_later())
    }

    /// `mailbox reset`: the parts asked for, each its own audited action. A code reset forgets
    /// the remembered devices too, so they are not forgotten twice.
    pub fn reset_mailbox(&self, address: &MailboxAddress, parts: ResetParts) -> ServiceResult<ResetDone> {
        let mut done = ResetDone::default();
        if parts.code {
            done.code_reset = true;
            done.devices_forgotten = Some(self.reset_two_factor_code(address)?);
        } else if parts.devices {
            done.devices_forgotten = Some(self.forget_devices(address)?);
        }
        if parts.countries {
            done.places_forgotten = Some(self.reset_country_exceptions(address)?);
        }
        if parts.app_passwords {
            done.app_passwords_removed = Some(self.remove_app_passwords(address)?);
        }
        Ok(done)
    }

    /// Forgets the devices the mailbox's user asked to remember: each is challenged again. How
    /// many there were.
    pub fn forget_devices(&self, address: &MailboxAddress) -> ServiceResult<usize> {
        let shown = address.to_string();
        self.audited("mailbox.forget_devices", Some(&shown), |tx| {
            let mb = existing_mailbox(tx, address)?;
            let devices = tx.forget_devices(mb.id)?;
            Ok((devices, format!("devices_forgotten={devices}")))
        })
    }

    /// Forgets the mailbox's known countries and IP addresses; returns how many of each.
    pub fn reset_country_exceptions(&self, address: &MailboxAddress) -> ServiceResult<(usize, usize)> {
        let shown = address.to_string();
        self.audited("mailbox.reset_countries", Some(&shown), |tx| {
            let mb = existing_mailbox(tx, address)?;
            let (countries, ips) = tx.reset_country_exceptions(mb.id)?;
            Ok(((countries, ips), format!("countries_forgotten={countries} ips_forgotten={ips}")))
        })
    }

    /// Issues a temporary access pass for a user who lost their device: it stands in for any code
    /// for `minutes` (or once), replaces any pass the mailbox had, and clears its lock. Audited.
    pub fn issue_access_pass(
        &self,
        address: &MailboxAddress,
        minutes: i64,
        once: bool,
    ) -> ServiceResult<IssuedAccessPass> {
        if !ACCESS_PASS_MINUTES.contains(&minutes) {
            return Err(DomainError::invalid(
                "access pass lifetime",
                &minutes.to_string(),
                "give 10 to 43200 minutes (30 days)",
            )
            .into());
        }
        let shown = address.to_string();
        self.audited("mailbox.access_pass", Some(&shown), |tx| {
            let mb = existing_mailbox(tx, address)?;
            let expires_at = self.now() + minutes * 60;
            let pass = engine::issue_access_pass(tx, self.world.random.as_ref(), mb.id, expires_at, once)?;
            // The administrator lets the user back in: a lock from the lost device's attempts ends.
            tx.unlock_mailbox(mb.id)?;
            let until = Some(crate::clock::format_readable(expires_at));
            self.notify_in(tx, &mb, NoticeEvent::AccessPassIssued, until)?;
            let detail = format!("valid {minutes} min{}; lock cleared", if once { ", once" } else { "" });
            Ok((IssuedAccessPass { pass, expires_at, once }, detail))
        })
        .inspect(|_| self.send_notices_later())
    }

    /// Issues the mailbox ten new recovery codes, voiding the old ones, used or not. Audited; the
    /// codes are for its user, shown this once (the store keeps only keyed hashes).
    pub fn new_recovery_codes(&self, address: &MailboxAddress) -> ServiceResult<Vec<LetterCode>> {
        let shown = address.to_string();
        self.audited("mailbox.recovery_codes", Some(&shown), |tx| {
            let mb = existing_mailbox(tx, address)?;
            let codes = engine::issue_recovery_codes(tx, self.world.random.as_ref(), mb.id, self.now())?;
            Ok((codes, format!("{} new recovery codes; the old ones voided", RECOVERY_CODES)))
        })
    }

    /// Clears a lock and the failure counter.
    pub fn unlock(&self, address: &MailboxAddress) -> ServiceResult<()> {
        let shown = address.to_string();
        let now = self.now();
        self.audited("mailbox.unlock", Some(&shown), |tx| {
            let mb = existing_mailbox(tx, address)?;
            tx.unlock_mailbox(mb.id)?;
            let was = if mb.locked_for(now).is_some() { "was locked" } else { "was not locked" };
            Ok(((), format!("{was}, failures={}", mb.failures)))
        })
    }

    /// The enrolment URI of the mailbox's pending or active secret. Revealing it is audited: anyone
    /// who sees it can generate the mailbox's codes.
    pub fn enrolment_uri(&self, address: &MailboxAddress) -> ServiceResult<(Zeroizing<String>, EnrolmentState)> {
        let shown = address.to_string();
        let issuer = self.setting_value("issuer")?;
        self.audited("mailbox.show_qr", Some(&shown), |tx| {
            let (uri, state) = enrolment_of(tx, &issuer, address)?;
            Ok(((uri, state), format!("state={}", state.word())))
        })
    }

    /// Writes the enrolment QR code of the mailbox's pending or active secret as a PNG file that
    /// only its owner may read. Audited as a reveal, like [`Service::enrolment_uri`] — `failed`
    /// when the file could not be written.
    pub fn write_enrolment_qr(
        &self,
        address: &MailboxAddress,
        path: &Path,
        if_exists: IfExists,
    ) -> ServiceResult<EnrolmentState> {
        let shown = address.to_string();
        let issuer = self.setting_value("issuer")?;
        self.audited("mailbox.show_qr", Some(&shown), |tx| {
            let (uri, state) = enrolment_of(tx, &issuer, address)?;
            let png = crate::qr::png(&uri, 300)?;
            super::files::write_file(path, &png, if_exists)?;
            Ok((state, format!("state={} written to {}", state.word(), path.display())))
        })
    }

    /// Writes recovery codes just issued to a text file for their user, owner-only. Audited (the
    /// codes themselves are not).
    pub fn write_recovery_codes(
        &self,
        address: &MailboxAddress,
        codes: &[LetterCode],
        path: &Path,
        if_exists: IfExists,
    ) -> ServiceResult<()> {
        let shown = address.to_string();
        let text = format!(
            "Recovery codes for {address}\r\nEach works once in place of a sign-in code. Keep them somewhere safe.\r\n\r\n{}\r\n",
            codes.iter().map(LetterCode::shown).collect::<Vec<_>>().join("\r\n")
        );
        self.audited("mailbox.save_recovery_codes", Some(&shown), |_| {
            super::files::write_file(path, text.as_bytes(), if_exists)?;
            Ok(((), format!("{} codes written to {}", codes.len(), path.display())))
        })
    }

    // --- providers and settings ---------------------------------------------------------------

    /// Every provider with its switches.
    pub fn providers(&self) -> ServiceResult<Vec<(Provider, ProviderSwitches)>> {
        Ok(self.store.read(|tx| tx.providers())?)
    }

    /// Changes a provider's switches; `None` leaves a switch as it is.
    pub fn set_provider(
        &self,
        provider: Provider,
        enabled: Option<bool>,
        admin_configurable: Option<bool>,
        user_configurable: Option<bool>,
    ) -> ServiceResult<ProviderSwitches> {
        self.audited("provider.set", None, |tx| {
            let old = tx.provider(provider)?;
            let new = ProviderSwitches {
                enabled: enabled.unwrap_or(old.enabled),
                admin_configurable: admin_configurable.unwrap_or(old.admin_configurable),
                user_configurable: user_configurable.unwrap_or(old.user_configurable),
            };
            tx.set_provider(provider, new)?;
            Ok((
                new,
                format!(
                    "provider={provider} enabled={} admin_configurable={} user_configurable={}",
                    new.enabled, new.admin_configurable, new.user_configurable
                ),
            ))
        })
    }

    /// Every setting with its value as shown (secrets as `***`).
    pub fn settings(&self) -> ServiceResult<Vec<SettingView>> {
        self.store.read(|tx| {
            SETTINGS
                .iter()
                .map(|def| {
                    let is_set = tx.setting_is_set(def)?;
                    let value = tx.setting(def)?;
                    let shown = if def.is_secret() {
                        if value.is_empty() { String::new() } else { "***".to_owned() }
                    } else {
                        value.to_string()
                    };
                    Ok(SettingView { def, shown, is_set })
                })
                .collect()
        })
    }

    /// Every setting's real value, typed (secrets unsealed).
    pub fn typed_settings(&self) -> ServiceResult<Settings> {
        Ok(self.store.read(|tx| tx.settings())?)
    }

    /// A setting's real value (secrets unsealed).
    fn setting_value(&self, key: &str) -> ServiceResult<Zeroizing<String>> {
        let def = setting(key)?;
        Ok(self.store.read(|tx| tx.setting(def))?)
    }

    /// Validates and stores a setting.
    pub fn set_setting(&self, key: &str, raw: &str) -> ServiceResult<()> {
        let def = setting(key)?;
        let value = Zeroizing::new(def.parse(raw)?);
        if def.kind == SettingKind::Path && !value.is_empty() && !Path::new(value.as_str()).is_file() {
            return Err(ServiceError::FileMissing { key: def.key, path: value.as_str().into() });
        }
        self.audited("settings.set", None, |tx| {
            tx.set_setting(def, &value)?;
            let shown = if def.is_secret() { "***" } else { value.as_str() };
            Ok(((), format!("{}={shown}", def.key)))
        })
    }

    // --- the audit log ------------------------------------------------------------------------

    /// The newest audit entries first, optionally for one mailbox.
    pub fn audit(&self, mailbox: Option<&MailboxAddress>, limit: usize) -> ServiceResult<Vec<AuditRecord>> {
        let shown = mailbox.map(ToString::to_string);
        Ok(self.store.read(|tx| tx.audit(shown.as_deref(), limit))?)
    }
}

/// Changes a mailbox's policy inside the caller's transaction (see [`Service::set_mailbox`]);
/// returns the audit detail.
pub(super) fn set_mailbox_in(
    tx: &Tx<'_>,
    address: &MailboxAddress,
    changes: &MailboxChanges,
    by: Configurer,
) -> ServiceResult<String> {
    let mb = existing_mailbox(tx, address)?;
    if by == Configurer::EndUser && !mb.users_may_configure {
        return Err(ServiceError::SelfServiceOff(address.postoffice.clone()));
    }
    if by == Configurer::EndUser && changes.mail_programs.is_some() {
        return Err(ServiceError::AdministratorsOnly("the mail-program policy"));
    }
    let provider = changes.provider.unwrap_or(mb.provider);
    let needs_choice = match by {
        Configurer::Administrator => changes.provider.is_some(),
        Configurer::EndUser => changes.touch_delivery(),
    };
    if needs_choice {
        check_provider_choice(tx, provider, by)?;
    }
    let sms = changes.sms_number.clone().unwrap_or(mb.sms_number.clone());
    let alt = changes.alt_email.clone().unwrap_or(mb.alt_email.clone());
    check_destination(address, provider, sms.as_ref(), alt.as_ref())?;
    let challenge = changes.challenge.unwrap_or(mb.challenge);
    tx.update_mailbox_policy(mb.id, challenge, provider, sms.as_ref(), alt.as_ref())?;
    if let Some(mail_programs) = changes.mail_programs {
        tx.update_mailbox_mail_programs(mb.id, mail_programs)?;
    }
    Ok(changes.describe())
}

/// The post office of that name, or the error that names it.
pub(in crate::service) fn existing_postoffice(tx: &Tx<'_>, name: &PostOfficeName) -> ServiceResult<PostOffice> {
    tx.postoffice(name)?.ok_or_else(|| ServiceError::NoPostOffice(name.clone()))
}

/// The mailbox at that address, or the error that names it.
pub(super) fn existing_mailbox(tx: &Tx<'_>, address: &MailboxAddress) -> ServiceResult<Mailbox> {
    tx.mailbox(address)?.ok_or_else(|| ServiceError::NoMailbox(address.clone()))
}

/// The enrolment URI of the mailbox's pending or active secret, and the secret's state.
pub(in crate::service) fn enrolment_of(
    tx: &Tx<'_>,
    issuer: &str,
    address: &MailboxAddress,
) -> ServiceResult<(Zeroizing<String>, EnrolmentState)> {
    let mb = existing_mailbox(tx, address)?;
    let secret = tx.totp_secret(mb.id)?.ok_or_else(|| ServiceError::NoTotpSecret(address.clone()))?;
    Ok((totp::otpauth_uri(issuer, address, &secret.secret), secret.state))
}

/// Refuses a provider the platform has disabled or does not let this kind of user configure.
pub(super) fn check_provider_choice(tx: &Tx<'_>, provider: Provider, by: Configurer) -> ServiceResult<()> {
    let switches = tx.provider(provider)?;
    if !switches.enabled {
        return Err(ServiceError::ProviderDisabled { provider, by });
    }
    if !switches.allow(by) {
        return Err(ServiceError::ProviderNotConfigurable { provider, by });
    }
    Ok(())
}

/// A provider that delivers codes needs somewhere to deliver them, and never the mailbox itself.
pub(super) fn check_destination(
    address: &MailboxAddress,
    provider: Provider,
    sms: Option<&PhoneNumber>,
    alt: Option<&EmailAddress>,
) -> ServiceResult<()> {
    if let Some(alt) = alt {
        alt.check_not_own(address)?;
    }
    let reachable = match provider {
        Provider::Sms => sms.is_some(),
        Provider::Smtp => alt.is_some(),
        Provider::Totp | Provider::Passkey => true,
    };
    if reachable { Ok(()) } else { Err(ServiceError::NoDestination { address: address.clone(), provider }) }
}
