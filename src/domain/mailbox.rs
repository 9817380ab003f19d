//! Post offices and mailboxes as the rest of mailmfa sees them, and the rules that follow from their
//! state alone: the mode in force, the lock, the Status column, which provider a challenge uses, and
//! how a lock grows.

use std::cmp::Ordering;
use std::fmt;

use serde::Serialize;

use super::{
    ChallengeMode, EmailAddress, EnrolmentState, IpNetwork, MailProgramPolicy, MailPrograms, MailboxAddress,
    MailboxChallenge, MailboxId, PhoneNumber, PostOfficeId, PostOfficeName, Provider, ProviderSwitches,
};
use crate::clock::UnixTime;

/// A post office with its default policy and mailbox count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostOffice {
    /// Its id.
    pub id: PostOfficeId,
    /// Its name.
    pub name: PostOfficeName,
    /// The challenge mode its mailboxes inherit.
    pub challenge: ChallengeMode,
    /// Whether its users may change their own two-factor settings.
    pub users_may_configure: bool,
    /// Networks whose logins count as known in Prompt by IP Address and Prompt by Country.
    pub trusted_networks: Vec<IpNetwork>,
    /// Whether a remembered device skips Prompt Always too (by default Always asks every time).
    pub remember_in_always: bool,
    /// Whether its mail programs may use the mailbox password (its own policy, or the platform's).
    pub mail_programs: MailPrograms,
    /// How many mailboxes it has.
    pub mailboxes: i64,
}

/// Everything about one mailbox's two-factor settings except its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// Its id.
    pub id: MailboxId,
    /// Its post office's id.
    pub postoffice_id: PostOfficeId,
    /// `mailbox@postoffice`.
    pub address: MailboxAddress,
    /// Its own challenge setting.
    pub challenge: MailboxChallenge,
    /// The post office's default mode.
    pub postoffice_challenge: ChallengeMode,
    /// Whether the post office lets users configure their own two-factor settings.
    pub users_may_configure: bool,
    /// The networks its post office trusts.
    pub postoffice_trusted_networks: Vec<IpNetwork>,
    /// Whether its post office lets remembered devices skip Prompt Always.
    pub postoffice_remember_in_always: bool,
    /// Its own mail-program policy (inherit: its post office's).
    pub mail_programs: MailPrograms,
    /// Its post office's mail-program policy (inherit: the platform's).
    pub postoffice_mail_programs: MailPrograms,
    /// What delivers its codes.
    pub provider: Provider,
    /// Its SMS number.
    pub sms_number: Option<PhoneNumber>,
    /// Its alternate e-mail address.
    pub alt_email: Option<EmailAddress>,
    /// Where its TOTP secret stands.
    pub enrolment: EnrolmentState,
    /// How many passkeys it has.
    pub passkeys: i64,
    /// Consecutive failed verifications.
    pub failures: i64,
    /// How many times it was locked since the last success (each lock doubles the next).
    pub lock_count: i64,
    /// Locked until this time, if set.
    pub locked_until: Option<UnixTime>,
    /// The last accepted login.
    pub last_login: Option<UnixTime>,
}

impl Mailbox {
    /// The mode in force.
    pub fn effective_challenge(&self) -> ChallengeMode {
        self.challenge.effective(self.postoffice_challenge)
    }

    /// Seconds until the lock ends, if locked at `now`.
    pub fn locked_for(&self, now: UnixTime) -> Option<i64> {
        locked_for(self.locked_until, now)
    }

    /// The mail-program policy in force, given the platform's.
    pub fn mail_program_policy(&self, platform: MailProgramPolicy) -> MailProgramPolicy {
        self.mail_program_standing().policy(platform)
    }

    /// Whether its second factor is set up: an authenticator app enrolled, a number or address
    /// for its codes, or a passkey (what the `enrolled` mail-program policy waits for).
    pub fn has_second_factor(&self) -> bool {
        has_second_factor(self.provider, self.enrolment, self.reach())
    }

    /// What its codes can reach besides an authenticator app.
    fn reach(&self) -> Reach {
        Reach { sms: self.sms_number.is_some(), alt_email: self.alt_email.is_some(), passkey: self.passkeys > 0 }
    }

    /// Whether mail programs may still sign in with the mailbox password, under the platform's
    /// policy `platform`.
    pub fn password_in_mail_programs(&self, platform: MailProgramPolicy) -> bool {
        self.mail_program_standing().password_in_mail_programs(platform)
    }

    /// What the mail sign-in check needs to know of it.
    pub fn mail_program_standing(&self) -> MailProgramStanding {
        MailProgramStanding {
            id: self.id,
            mail_programs: self.mail_programs,
            postoffice_mail_programs: self.postoffice_mail_programs,
            second_factor: self.has_second_factor(),
        }
    }

    /// Whether a device its user had remembered may skip the challenge of the mode in force:
    /// where the mode asks about known places, yes; Prompt Always means always, unless the post
    /// office lets remembered devices skip it too.
    pub fn remembered_device_skips_challenge(&self) -> bool {
        match self.effective_challenge() {
            ChallengeMode::Never | ChallengeMode::NewIp | ChallengeMode::NewCountry => true,
            ChallengeMode::Always => self.postoffice_remember_in_always,
        }
    }

    /// Whether *Unlock* has anything to do: a lock, or failures that count toward the next one.
    pub fn can_unlock(&self, now: UnixTime) -> bool {
        self.locked_for(now).is_some() || self.failures > 0
    }

    /// The Status column.
    pub fn status(&self, now: UnixTime) -> MailboxStatus {
        MailboxStatus::of(self.locked_for(now).is_some(), self.provider, self.enrolment, self.reach())
    }

    /// Whether the mailbox can be challenged with `provider`: a number for SMS, an alternate
    /// address for SMTP; for TOTP and passkeys any state when it is the mailbox's own provider
    /// (it enrols), but only an active secret or a registered passkey when it stands in for a
    /// disabled provider.
    fn reachable_by(&self, provider: Provider, as_fallback: bool) -> bool {
        match provider {
            Provider::Totp => !as_fallback || self.enrolment == EnrolmentState::Active,
            Provider::Sms => self.sms_number.is_some(),
            Provider::Smtp => self.alt_email.is_some(),
            Provider::Passkey => !as_fallback || self.passkeys > 0,
        }
    }

    /// The provider a challenge uses: the mailbox's own if the platform has it enabled and the
    /// mailbox is set up for it, else the first enabled provider (strongest first) the mailbox has
    /// data for, else none.
    pub fn challenge_provider(&self, switches: &[(Provider, ProviderSwitches)]) -> Option<Provider> {
        let enabled = |p: Provider| switches.iter().any(|(q, s)| *q == p && s.enabled);
        if enabled(self.provider) && self.reachable_by(self.provider, false) {
            return Some(self.provider);
        }
        Provider::ALL.into_iter().filter(|p| *p != self.provider).find(|p| enabled(*p) && self.reachable_by(*p, true))
    }
}

/// Seconds until a lock that lasts until `locked_until` ends, if it has not ended at `now`.
pub(crate) fn locked_for(locked_until: Option<UnixTime>, now: UnixTime) -> Option<i64> {
    locked_until.filter(|&until| until > now).map(|until| until - now)
}

/// What the mail sign-in check needs to know of a mailbox, which it reads on every sign-in of a
/// mail program: its id, its and its post office's mail-program policies, and whether its second
/// factor is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailProgramStanding {
    /// Its id.
    pub id: MailboxId,
    /// Its own mail-program policy (inherit: its post office's).
    pub mail_programs: MailPrograms,
    /// Its post office's mail-program policy (inherit: the platform's).
    pub postoffice_mail_programs: MailPrograms,
    /// Whether its second factor is set up (see [`Mailbox::has_second_factor`]).
    pub second_factor: bool,
}

impl MailProgramStanding {
    /// The standing of a mailbox whose second factor is `provider` with its app `enrolment` and
    /// what else it can be reached by.
    pub fn of(
        id: MailboxId,
        (mail_programs, postoffice_mail_programs): (MailPrograms, MailPrograms),
        provider: Provider,
        enrolment: EnrolmentState,
        reach: Reach,
    ) -> Self {
        let second_factor = has_second_factor(provider, enrolment, reach);
        Self { id, mail_programs, postoffice_mail_programs, second_factor }
    }

    /// Whether mail programs may still sign in with the mailbox password, under the platform's
    /// policy `platform`.
    pub fn password_in_mail_programs(&self, platform: MailProgramPolicy) -> bool {
        !self.policy(platform).requires_app_password(self.second_factor)
    }

    /// The mail-program policy in force, given the platform's.
    pub fn policy(&self, platform: MailProgramPolicy) -> MailProgramPolicy {
        self.mail_programs.effective(self.postoffice_mail_programs.effective(platform))
    }
}

/// What a mailbox's second factor can reach besides an authenticator app: an SMS number, an
/// alternate address, a registered passkey.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reach {
    /// It has an SMS number.
    pub sms: bool,
    /// It has an alternate address.
    pub alt_email: bool,
    /// It has at least one passkey.
    pub passkey: bool,
}

/// Whether a mailbox with this provider and these data has its second factor set up.
pub(crate) fn has_second_factor(provider: Provider, enrolment: EnrolmentState, reach: Reach) -> bool {
    MailboxStatus::of(false, provider, enrolment, reach) == MailboxStatus::Enrolled
}

/// Whether a mailbox enrolled in an authenticator app or with a passkey has no recovery code
/// left: a lost phone or key would lock its user out.
pub(crate) fn lacks_recovery_codes(enrolment: EnrolmentState, has_passkey: bool, recovery_codes_left: i64) -> bool {
    (enrolment == EnrolmentState::Active || has_passkey) && recovery_codes_left == 0
}

/// A mailbox's Status column: locked, or how far its provider is set up. It serialises as the
/// words the console shows (`"not enrolled"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MailboxStatus {
    /// TOTP without a secret, SMS/SMTP without a destination, or a passkey mailbox without one.
    NotEnrolled,
    /// A TOTP secret was shown and waits for its first code.
    Pending,
    /// Ready: an active TOTP secret, a destination for the code, or a passkey.
    Enrolled,
    /// Too many wrong codes: locked for now.
    Locked,
}

impl MailboxStatus {
    /// Every status, in the console's order.
    pub const ALL: [MailboxStatus; 4] = [Self::NotEnrolled, Self::Pending, Self::Enrolled, Self::Locked];

    /// The status of a mailbox in this situation.
    pub fn of(locked: bool, provider: Provider, enrolment: EnrolmentState, reach: Reach) -> Self {
        if locked {
            return Self::Locked;
        }
        let ready = match provider {
            Provider::Totp => match enrolment {
                EnrolmentState::None => false,
                EnrolmentState::Pending => return Self::Pending,
                EnrolmentState::Active => true,
            },
            Provider::Sms => reach.sms,
            Provider::Smtp => reach.alt_email,
            Provider::Passkey => reach.passkey,
        };
        if ready { Self::Enrolled } else { Self::NotEnrolled }
    }

    /// The word the console and `mailbox list` show (`not enrolled`).
    pub fn label(self) -> &'static str {
        match self {
            Self::NotEnrolled => "not enrolled",
            Self::Pending => "pending",
            Self::Enrolled => "enrolled",
            Self::Locked => "locked",
        }
    }
}

impl Serialize for MailboxStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.label())
    }
}

impl fmt::Display for MailboxStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One line of a post office's mailbox table (serialised as `mailbox list --json` prints it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MailboxSummary {
    /// Its id.
    #[serde(skip)]
    pub id: MailboxId,
    /// `mailbox@postoffice`.
    pub address: MailboxAddress,
    /// Its own challenge setting.
    pub challenge: MailboxChallenge,
    /// The mode in force.
    pub effective_challenge: ChallengeMode,
    /// What delivers its codes.
    pub provider: Provider,
    /// The Status column.
    pub status: MailboxStatus,
    /// The last accepted login.
    #[serde(serialize_with = "crate::clock::serialize_utc")]
    pub last_login: Option<UnixTime>,
    /// Known countries, sorted.
    pub known_countries: Vec<String>,
    /// Whether *Unlock* has anything to do ([`Mailbox::can_unlock`]).
    #[serde(skip)]
    pub can_unlock: bool,
    /// Its own mail-program policy.
    pub mail_programs: MailPrograms,
    /// The mail-program policy in force.
    pub effective_mail_programs: MailProgramPolicy,
    /// Whether mail programs may still sign in with the mailbox password.
    pub password_in_mail_programs: bool,
}

impl MailboxSummary {
    /// The summary of a mailbox, given its known countries and the platform's mail-program policy.
    pub fn of(mailbox: &Mailbox, known_countries: Vec<String>, now: UnixTime, platform: MailProgramPolicy) -> Self {
        Self {
            id: mailbox.id,
            address: mailbox.address.clone(),
            challenge: mailbox.challenge,
            effective_challenge: mailbox.effective_challenge(),
            provider: mailbox.provider,
            status: mailbox.status(now),
            last_login: mailbox.last_login,
            known_countries,
            can_unlock: mailbox.can_unlock(now),
            mail_programs: mailbox.mail_programs,
            effective_mail_programs: mailbox.mail_program_policy(platform),
            password_in_mail_programs: mailbox.password_in_mail_programs(platform),
        }
    }
}

/// How a cell of the mailbox table names things: with the console's labels (`Prompt by IP
/// Address`, the mailbox's name within its post office), or with the words a script types
/// (`new-ip`, the whole address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vocabulary {
    /// What the console shows.
    Labels,
    /// What `mailbox list` prints.
    Words,
}

/// What a cell of the mailbox table holds; each face draws a time and a status in its own way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Text as it is.
    Text(String),
    /// A time, or never.
    Time(Option<UnixTime>),
    /// The Status column.
    Status(MailboxStatus),
}

/// A column of the mailbox table. The console's result pane and `mailbox list` both show
/// [`MAILBOX_COLUMNS`], so a column added there appears in both.
#[derive(Debug, Clone, Copy)]
pub struct MailboxColumn {
    /// Its title.
    pub title: &'static str,
    /// Its cell for a mailbox.
    pub cell: fn(&MailboxSummary, Vocabulary) -> Cell,
    /// How it sorts (ties go by name).
    pub order: fn(&MailboxSummary, &MailboxSummary) -> Ordering,
    /// How wide the console draws it at first, in points.
    pub width: f32,
}

/// The columns of the mailbox table, in order.
pub const MAILBOX_COLUMNS: [MailboxColumn; 7] = [
    MailboxColumn {
        title: "Mailbox",
        cell: |m, words| match words {
            Vocabulary::Labels => Cell::Text(m.address.mailbox.to_string()),
            Vocabulary::Words => Cell::Text(m.address.to_string()),
        },
        order: by_name,
        width: 130.0,
    },
    MailboxColumn {
        title: "Challenge",
        cell: |m, words| {
            let mode = match words {
                Vocabulary::Labels => m.effective_challenge.label(),
                Vocabulary::Words => m.effective_challenge.word(),
            };
            Cell::Text(if m.challenge == MailboxChallenge::Inherit {
                format!("{mode} (inherited)")
            } else {
                mode.to_owned()
            })
        },
        order: |a, b| a.effective_challenge.label().cmp(b.effective_challenge.label()),
        width: 200.0,
    },
    MailboxColumn {
        title: "Provider",
        cell: |m, words| {
            Cell::Text(
                match words {
                    Vocabulary::Labels => m.provider.label(),
                    Vocabulary::Words => m.provider.word(),
                }
                .to_owned(),
            )
        },
        order: |a, b| a.provider.label().cmp(b.provider.label()),
        width: 100.0,
    },
    MailboxColumn {
        title: "Status",
        cell: |m, _| Cell::Status(m.status),
        order: |a, b| a.status.cmp(&b.status),
        width: 90.0,
    },
    MailboxColumn {
        title: "Last login",
        cell: |m, _| Cell::Time(m.last_login),
        order: |a, b| a.last_login.cmp(&b.last_login),
        width: 135.0,
    },
    MailboxColumn {
        title: "Known countries",
        cell: |m, _| Cell::Text(m.known_countries.join(", ")),
        order: |a, b| a.known_countries.cmp(&b.known_countries),
        width: 120.0,
    },
    MailboxColumn {
        title: "Mail programs",
        cell: |m, words| {
            let policy = match words {
                Vocabulary::Labels => m.effective_mail_programs.label(),
                Vocabulary::Words => m.effective_mail_programs.word(),
            };
            let inherited = if m.mail_programs == MailPrograms::Inherit { " (inherited)" } else { "" };
            let open = match (m.password_in_mail_programs, m.effective_mail_programs, words) {
                (true, MailProgramPolicy::Enrolled, Vocabulary::Labels) => ", password until enrolled",
                (true, MailProgramPolicy::Enrolled, Vocabulary::Words) => ", password-until-enrolled",
                _ => "",
            };
            Cell::Text(format!("{policy}{inherited}{open}"))
        },
        order: |a, b| a.password_in_mail_programs.cmp(&b.password_in_mail_programs),
        width: 150.0,
    },
];

/// Mailbox names in natural order: `user2` before `user10`.
pub fn by_name(a: &MailboxSummary, b: &MailboxSummary) -> Ordering {
    super::natural_order(a.address.mailbox.as_str(), b.address.mailbox.as_str())
}

/// An IP address or a country known for a mailbox, with when it was first and last seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownLocation {
    /// The IP address or the country code.
    pub value: String,
    /// When a login from it was first accepted.
    pub first_seen: UnixTime,
    /// When a login from it was last accepted.
    pub last_seen: UnixTime,
}

/// The oldest last-seen time at which an IP address or country still counts as known, when
/// known places are forgotten after `max_age_days` (0 = never).
pub fn known_since(now: UnixTime, max_age_days: i64) -> UnixTime {
    if max_age_days <= 0 { UnixTime::MIN } else { now - max_age_days * 86_400 }
}

/// The oldest time at which a remembered device still counts, when devices are remembered for
/// `days` (`None` when remembering is off: no device counts).
pub fn remembered_since(now: UnixTime, days: i64) -> Option<UnixTime> {
    (days > 0).then(|| now - days * 86_400)
}

/// How failed codes lock a mailbox: after `threshold` consecutive failures it locks for
/// `first_lock_seconds`, doubled for each earlier lock since the last success, never longer than
/// [`Lockout::MAX_SECONDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    /// Consecutive failures that lock (1–100).
    pub threshold: i64,
    /// Length of the first lock.
    pub first_lock_seconds: i64,
}

impl Lockout {
    /// The longest lock: one hour.
    pub const MAX_SECONDS: i64 = 3600;

    /// After a failure that brings the count to `failures` (with `earlier_locks` locks since the
    /// last success): the end of the lock it causes, if it causes one.
    pub fn lock_after(&self, failures: i64, earlier_locks: i64, now: UnixTime) -> Option<UnixTime> {
        if failures < self.threshold.max(1) {
            return None;
        }
        let seconds = self.first_lock_seconds.max(1).saturating_mul(1i64 << earlier_locks.clamp(0, 20));
        Some(now + seconds.min(Self::MAX_SECONDS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_doubles_and_stops_at_an_hour() {
        let lockout = Lockout { threshold: 5, first_lock_seconds: 60 };
        assert_eq!(lockout.lock_after(4, 0, 100), None);
        assert_eq!(lockout.lock_after(5, 0, 100), Some(160));
        assert_eq!(lockout.lock_after(5, 1, 100), Some(220));
        assert_eq!(lockout.lock_after(5, 5, 100), Some(100 + 1920));
        assert_eq!(lockout.lock_after(5, 6, 100), Some(100 + 3600));
        assert_eq!(lockout.lock_after(5, 60, 100), Some(100 + 3600));
    }
}
