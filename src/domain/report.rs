//! The coverage report: per post office, how many mailboxes are under which challenge mode and
//! provider, in which state, how many never signed in, how many enrolled ones have no recovery
//! code left, and how many mail programs still open with the mailbox password alone. The store groups the mailboxes by what
//! decides these (one aggregate query); the rules that turn a group into a mode and a state are the
//! domain's own ([`MailboxChallenge::effective`], [`MailboxStatus`]), so the report and the mailbox
//! table cannot disagree.

use serde::Serialize;
use serde::ser::SerializeMap;

use super::mailbox::{Reach, has_second_factor, lacks_recovery_codes, locked_for};
use super::{
    ChallengeMode, EnrolmentState, MailProgramPolicy, MailPrograms, MailboxChallenge, MailboxStatus, PostOfficeName,
    Provider,
};
use crate::clock::UnixTime;

/// Mailboxes that share everything the report counts by: the store's answer, one row per group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageGroup {
    /// Their post office.
    pub postoffice: PostOfficeName,
    /// Their own challenge setting.
    pub challenge: MailboxChallenge,
    /// Their post office's default mode.
    pub postoffice_challenge: ChallengeMode,
    /// Their provider.
    pub provider: Provider,
    /// Where their TOTP secret stands.
    pub enrolment: EnrolmentState,
    /// They have an SMS number.
    pub has_sms: bool,
    /// They have an alternate address.
    pub has_alt_email: bool,
    /// How many passkeys each has.
    pub passkeys: i64,
    /// Until when they are locked (a time past: no longer).
    pub locked_until: Option<UnixTime>,
    /// No login of theirs was ever accepted.
    pub never_signed_in: bool,
    /// How many unused recovery codes each has.
    pub recovery_codes_left: i64,
    /// Their own mail-program policy.
    pub mail_programs: MailPrograms,
    /// Their post office's mail-program policy.
    pub postoffice_mail_programs: MailPrograms,
    /// How many mailboxes.
    pub count: i64,
}

/// The numbers of one post office (or of all).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoverageCounts {
    /// Mailboxes.
    pub mailboxes: i64,
    /// By the mode in force, in [`ChallengeMode::ALL`] order.
    pub modes: [i64; ChallengeMode::ALL.len()],
    /// By provider, in [`Provider::ALL`] order.
    pub providers: [i64; Provider::ALL.len()],
    /// By state, in [`MailboxStatus::ALL`] order.
    pub statuses: [i64; MailboxStatus::ALL.len()],
    /// No login ever accepted.
    pub never_signed_in: i64,
    /// Enrolled in a TOTP app or with a passkey, without an unused recovery code.
    pub no_recovery_codes: i64,
    /// Mailboxes with at least one passkey.
    pub with_passkeys: i64,
    /// Passkeys registered, all mailboxes together.
    pub passkeys: i64,
    /// Mail programs (IMAP, POP3, SMTP) still sign in with the mailbox password alone.
    pub password_in_mail_programs: i64,
}

impl CoverageCounts {
    /// Every number in the order of the CSV columns and `report coverage`'s table: mailboxes, the
    /// modes, the providers, the states, never signed in, no recovery codes left, open to the
    /// password in mail programs, with passkeys, passkeys.
    pub fn numbers(&self) -> impl Iterator<Item = i64> + '_ {
        std::iter::once(self.mailboxes)
            .chain(self.modes.iter().chain(&self.providers).chain(&self.statuses).copied())
            .chain([
                self.never_signed_in,
                self.no_recovery_codes,
                self.password_in_mail_programs,
                self.with_passkeys,
                self.passkeys,
            ])
    }

    /// Mailboxes under this mode.
    pub fn mode(&self, mode: ChallengeMode) -> i64 {
        ChallengeMode::ALL.iter().position(|m| *m == mode).map_or(0, |i| self.modes[i])
    }

    /// Mailboxes with this provider.
    pub fn provider(&self, provider: Provider) -> i64 {
        Provider::ALL.iter().position(|p| *p == provider).map_or(0, |i| self.providers[i])
    }

    /// Mailboxes in this state.
    pub fn status(&self, status: MailboxStatus) -> i64 {
        MailboxStatus::ALL.iter().position(|s| *s == status).map_or(0, |i| self.statuses[i])
    }

    fn add(&mut self, group: &CoverageGroup, now: UnixTime, platform: MailProgramPolicy) {
        let n = group.count;
        let mode = group.challenge.effective(group.postoffice_challenge);
        let locked = locked_for(group.locked_until, now).is_some();
        let reach = Reach { sms: group.has_sms, alt_email: group.has_alt_email, passkey: group.passkeys > 0 };
        let status = MailboxStatus::of(locked, group.provider, group.enrolment, reach);
        self.mailboxes += n;
        bump(&mut self.modes, ChallengeMode::ALL.iter().position(|m| *m == mode), n);
        bump(&mut self.providers, Provider::ALL.iter().position(|p| *p == group.provider), n);
        bump(&mut self.statuses, MailboxStatus::ALL.iter().position(|s| *s == status), n);
        if group.never_signed_in {
            self.never_signed_in += n;
        }
        if lacks_recovery_codes(group.enrolment, reach.passkey, group.recovery_codes_left) {
            self.no_recovery_codes += n;
        }
        if reach.passkey {
            self.with_passkeys += n;
        }
        self.passkeys += n * group.passkeys;
        let policy = group.mail_programs.effective(group.postoffice_mail_programs.effective(platform));
        let enrolled = has_second_factor(group.provider, group.enrolment, reach);
        if !policy.requires_app_password(enrolled) {
            self.password_in_mail_programs += n;
        }
    }
}

fn bump<const N: usize>(counts: &mut [i64; N], at: Option<usize>, n: i64) {
    if let Some(slot) = at.and_then(|i| counts.get_mut(i)) {
        *slot += n;
    }
}

impl Serialize for CoverageCounts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let words = |pairs: Vec<(&'static str, i64)>| pairs.into_iter().collect::<std::collections::BTreeMap<_, _>>();
        let mut map = serializer.serialize_map(Some(9))?;
        map.serialize_entry("mailboxes", &self.mailboxes)?;
        map.serialize_entry("modes", &words(ChallengeMode::ALL.iter().map(|m| (m.word(), self.mode(*m))).collect()))?;
        map.serialize_entry(
            "providers",
            &words(Provider::ALL.iter().map(|p| (p.word(), self.provider(*p))).collect()),
        )?;
        map.serialize_entry(
            "status",
            &words(MailboxStatus::ALL.iter().map(|s| (s.label(), self.status(*s))).collect()),
        )?;
        map.serialize_entry("never_signed_in", &self.never_signed_in)?;
        map.serialize_entry("no_recovery_codes", &self.no_recovery_codes)?;
        map.serialize_entry("password_in_mail_programs", &self.password_in_mail_programs)?;
        map.serialize_entry("with_passkeys", &self.with_passkeys)?;
        map.serialize_entry("passkeys", &self.passkeys)?;
        map.end()
    }
}

/// One post office's line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CoverageRow {
    /// The post office.
    pub postoffice: PostOfficeName,
    /// Its numbers.
    #[serde(flatten)]
    pub counts: CoverageCounts,
}

/// The coverage report: a line per post office (every post office, even an empty one) and the
/// total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CoverageReport {
    /// Per post office, by name.
    pub postoffices: Vec<CoverageRow>,
    /// All of them together.
    pub total: CoverageCounts,
}

impl CoverageReport {
    /// The report of these post offices (listed by name) from the store's groups, as of `now`,
    /// under the platform's mail-program policy `platform`.
    pub fn from_groups(
        postoffices: impl IntoIterator<Item = PostOfficeName>,
        groups: &[CoverageGroup],
        now: UnixTime,
        platform: MailProgramPolicy,
    ) -> Self {
        let mut rows: Vec<CoverageRow> = postoffices
            .into_iter()
            .map(|postoffice| CoverageRow { postoffice, counts: CoverageCounts::default() })
            .collect();
        rows.sort_by(|a, b| a.postoffice.as_str().cmp(b.postoffice.as_str()));
        let mut total = CoverageCounts::default();
        for group in groups {
            let at = rows.binary_search_by(|r| r.postoffice.as_str().cmp(group.postoffice.as_str()));
            if let Some(row) = at.ok().and_then(|i| rows.get_mut(i)) {
                row.counts.add(group, now, platform);
                total.add(group, now, platform);
            }
        }
        Self { postoffices: rows, total }
    }

    /// The names of the columns, as the CSV header has them: the post office, then one per
    /// number of [`CoverageCounts::numbers`].
    pub fn columns() -> Vec<String> {
        let mut header = vec!["postoffice".to_owned(), "mailboxes".to_owned()];
        header.extend(ChallengeMode::ALL.iter().map(|m| m.word().to_owned()));
        header.extend(Provider::ALL.iter().map(|p| p.word().to_owned()));
        header.extend(MailboxStatus::ALL.iter().map(|s| s.label().replace(' ', "_")));
        header.extend(
            ["never_signed_in", "no_recovery_codes", "password_in_mail_programs", "with_passkeys", "passkeys"]
                .map(str::to_owned),
        );
        header
    }

    /// The report as CSV: a header, a line per post office, and the total as `(all)`.
    pub fn to_csv(&self) -> String {
        let mut out = Self::columns().join(",") + "\r\n";
        let line = |name: &str, c: &CoverageCounts| {
            let cells: Vec<String> =
                std::iter::once(name.to_owned()).chain(c.numbers().map(|n| n.to_string())).collect();
            cells.join(",") + "\r\n"
        };
        for row in &self.postoffices {
            out += &line(row.postoffice.as_str(), &row.counts);
        }
        out += &line("(all)", &self.total);
        out
    }
}
