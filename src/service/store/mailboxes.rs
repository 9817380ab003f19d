//! Mailbox rows and their two-factor state: policy, sealed TOTP secret, failure counter and lock,
//! known IP addresses and countries.

use zeroize::Zeroizing;

use super::sql::{Dialect, Row};
use super::{StoreError, StoreResult, Tx, parse_mail_programs, parse_stored, parse_stored_networks};
use crate::clock::UnixTime;
use crate::domain::{
    CoverageGroup, EmailAddress, EnrolmentState, KnownLocation, MailProgramPolicy, MailProgramStanding, MailPrograms,
    Mailbox, MailboxAddress, MailboxChallenge, MailboxId, MailboxName, MailboxSummary, PhoneNumber, PostOfficeId,
    Provider, Reach,
};

/// The outstanding SMS or e-mailed code of a mailbox (only its keyed hash).
#[derive(Debug, Clone)]
pub struct OneTimeCodeRow {
    /// The `begin` that issued it.
    pub attempt: String,
    /// The IP address of that `begin`.
    pub ip: String,
    /// How it was sent.
    pub provider: Provider,
    /// Keyed hash of the code.
    pub code_hash: Vec<u8>,
    /// When it stops being valid.
    pub expires_at: UnixTime,
}

/// A mailbox's unsealed TOTP secret and its replay state.
pub struct TotpSecret {
    /// The raw secret bytes.
    pub secret: Zeroizing<Vec<u8>>,
    /// Pending or active.
    pub state: EnrolmentState,
    /// The last time step accepted, never to be accepted again.
    pub last_step: Option<i64>,
    /// When the secret was made (`None` for a secret made before stores kept the time).
    pub created_at: Option<UnixTime>,
}

/// The columns [`RawMailbox`] reads.
const COLUMNS: &str = "m.id, m.postoffice_id, m.name, p.name AS postoffice, m.challenge,
        p.challenge AS postoffice_challenge, p.users_may_configure, p.trusted_networks AS postoffice_trusted_networks,
        p.remember_in_always AS postoffice_remember_in_always,
        m.mail_programs, p.mail_programs AS postoffice_mail_programs,
        m.provider, m.sms_number, m.alt_email,
        m.totp_state, (SELECT count(*) FROM passkey k WHERE k.mailbox_id = m.id) AS passkeys,
        m.failures, m.lock_count, m.locked_until, m.last_login";
const FROM: &str = "FROM mailbox m JOIN postoffice p ON p.id = m.postoffice_id";

/// Beside [`COLUMNS`] in a row of the mailbox table: the mailbox's known countries.
const COUNTRIES: &str =
    "(SELECT string_agg(country, ',' ORDER BY country) FROM known_country k WHERE k.mailbox_id = m.id) AS countries";

/// How SQL sorts each column of [`crate::domain::MAILBOX_COLUMNS`], in its order: Mailbox,
/// Challenge, Provider, Status (locked, then by enrolment), Last login, Known countries, Mail
/// programs.
const PAGE_ORDER: [&str; crate::domain::MAILBOX_COLUMNS.len()] = [
    "m.name",
    "m.challenge",
    "m.provider",
    "(m.locked_until IS NOT NULL), m.totp_state",
    "coalesce(m.last_login, 0)",
    "countries",
    "coalesce(m.mail_programs, '')",
];

/// The columns of [`COLUMNS`] as read from the store, before the words are parsed.
struct RawMailbox {
    id: i64,
    postoffice_id: i64,
    name: String,
    postoffice: String,
    challenge: String,
    postoffice_challenge: String,
    users_may_configure: bool,
    postoffice_trusted_networks: String,
    postoffice_remember_in_always: bool,
    mail_programs: Option<String>,
    postoffice_mail_programs: Option<String>,
    provider: String,
    sms_number: Option<String>,
    alt_email: Option<String>,
    totp_state: String,
    passkeys: i64,
    failures: i64,
    lock_count: i64,
    locked_until: Option<i64>,
    last_login: Option<i64>,
}

fn raw_mailbox(r: &Row) -> StoreResult<RawMailbox> {
    Ok(RawMailbox {
        id: r.get("id")?,
        postoffice_id: r.get("postoffice_id")?,
        name: r.get("name")?,
        postoffice: r.get("postoffice")?,
        challenge: r.get("challenge")?,
        postoffice_challenge: r.get("postoffice_challenge")?,
        users_may_configure: r.get("users_may_configure")?,
        postoffice_trusted_networks: r.get("postoffice_trusted_networks")?,
        postoffice_remember_in_always: r.get("postoffice_remember_in_always")?,
        mail_programs: r.get("mail_programs")?,
        postoffice_mail_programs: r.get("postoffice_mail_programs")?,
        provider: r.get("provider")?,
        sms_number: r.get("sms_number")?,
        alt_email: r.get("alt_email")?,
        totp_state: r.get("totp_state")?,
        passkeys: r.get("passkeys")?,
        failures: r.get("failures")?,
        lock_count: r.get("lock_count")?,
        locked_until: r.get("locked_until")?,
        last_login: r.get("last_login")?,
    })
}

impl RawMailbox {
    fn parse(self) -> StoreResult<Mailbox> {
        Ok(Mailbox {
            id: MailboxId(self.id),
            postoffice_id: PostOfficeId(self.postoffice_id),
            address: MailboxAddress::new(parse_stored::<MailboxName>(&self.name)?, parse_stored(&self.postoffice)?),
            challenge: parse_stored(&self.challenge)?,
            postoffice_challenge: parse_stored(&self.postoffice_challenge)?,
            users_may_configure: self.users_may_configure,
            postoffice_trusted_networks: parse_stored_networks(&self.postoffice_trusted_networks)?,
            postoffice_remember_in_always: self.postoffice_remember_in_always,
            mail_programs: parse_mail_programs(self.mail_programs)?,
            postoffice_mail_programs: parse_mail_programs(self.postoffice_mail_programs)?,
            provider: parse_stored(&self.provider)?,
            sms_number: self.sms_number.as_deref().map(parse_stored).transpose()?,
            alt_email: self.alt_email.as_deref().map(parse_stored).transpose()?,
            enrolment: parse_stored(&self.totp_state)?,
            passkeys: self.passkeys,
            failures: self.failures,
            lock_count: self.lock_count,
            locked_until: self.locked_until,
            last_login: self.last_login,
        })
    }
}

/// The mailbox table's rows ([`COLUMNS`] and [`COUNTRIES`]) under the platform's mail-program policy.
fn summaries(rows: &[Row], now: UnixTime, platform: MailProgramPolicy) -> StoreResult<Vec<MailboxSummary>> {
    rows.iter()
        .map(|r| {
            let countries: Option<String> = r.get("countries")?;
            let mailbox = raw_mailbox(r)?.parse()?;
            let countries = countries.map(|c| c.split(',').map(str::to_owned).collect()).unwrap_or_default();
            Ok(MailboxSummary::of(&mailbox, countries, now, platform))
        })
        .collect()
}

fn known_location(r: &Row) -> StoreResult<KnownLocation> {
    Ok(KnownLocation { value: r.get("value")?, first_seen: r.get("first_seen")?, last_seen: r.get("last_seen")? })
}

fn secret_context(id: MailboxId) -> String {
    format!("mailbox:{}:totp_secret", id.0)
}

impl Tx<'_> {
    /// Adds a mailbox to a post office; `None` when it exists.
    pub fn insert_mailbox(
        &self,
        postoffice: PostOfficeId,
        name: &MailboxName,
        now: UnixTime,
    ) -> StoreResult<Option<MailboxId>> {
        let inserted = self.query_opt(
            "INSERT INTO mailbox (postoffice_id, name, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (postoffice_id, name) DO NOTHING RETURNING id",
            &[&postoffice.0, &name.as_str(), &now],
        )?;
        inserted.map(|r| Ok(MailboxId(r.get("id")?))).transpose()
    }

    /// The mailbox at that address.
    pub fn mailbox(&self, address: &MailboxAddress) -> StoreResult<Option<Mailbox>> {
        let raw = self
            .query_opt(
                &format!("SELECT {COLUMNS} {FROM} WHERE p.name = ?1 AND m.name = ?2"),
                &[&address.postoffice.as_str(), &address.mailbox.as_str()],
            )?
            .map(|r| raw_mailbox(&r))
            .transpose()?;
        raw.map(RawMailbox::parse).transpose()
    }

    /// What the mail sign-in check needs of the mailbox at that address: fewer columns than
    /// [`Tx::mailbox`], read on every sign-in of a mail program.
    pub fn mail_program_standing(&self, address: &MailboxAddress) -> StoreResult<Option<MailProgramStanding>> {
        let Some(r) = self.query_opt(
            "SELECT m.id, m.mail_programs, p.mail_programs AS postoffice_mail_programs, m.provider, m.totp_state,
                    m.sms_number IS NOT NULL AS has_sms, m.alt_email IS NOT NULL AS has_alt,
                    EXISTS (SELECT 1 FROM passkey k WHERE k.mailbox_id = m.id) AS has_passkey
             FROM mailbox m JOIN postoffice p ON p.id = m.postoffice_id WHERE p.name = ?1 AND m.name = ?2",
            &[&address.postoffice.as_str(), &address.mailbox.as_str()],
        )?
        else {
            return Ok(None);
        };
        Ok(Some(MailProgramStanding::of(
            MailboxId(r.get("id")?),
            (parse_mail_programs(r.get("mail_programs")?)?, parse_mail_programs(r.get("postoffice_mail_programs")?)?),
            parse_stored(&r.get::<String>("provider")?)?,
            parse_stored(&r.get::<String>("totp_state")?)?,
            Reach { sms: r.get("has_sms")?, alt_email: r.get("has_alt")?, passkey: r.get("has_passkey")? },
        )))
    }

    /// The mailbox table of one post office, or of all, sorted by address, under the platform's
    /// mail-program policy `platform`.
    pub fn mailbox_summaries(
        &self,
        postoffice: Option<PostOfficeId>,
        now: UnixTime,
        platform: MailProgramPolicy,
    ) -> StoreResult<Vec<MailboxSummary>> {
        let rows = self.query(
            &format!(
                "SELECT {COLUMNS}, {COUNTRIES} {FROM} WHERE ?1 IS NULL OR m.postoffice_id = ?1
                 ORDER BY p.name, m.name"
            ),
            &[&postoffice.map(|p| p.0)],
        )?;
        summaries(&rows, now, platform)
    }

    /// One page of a post office's mailbox table, sorted, filtered and cut in SQL (so a post
    /// office of 100,000 mailboxes pages as fast as one of ten): the rows whose name contains
    /// `filter`, sorted by the column `sort` of [`crate::domain::MAILBOX_COLUMNS`] (then by name),
    /// `limit` from `offset`; and how many match.
    #[allow(clippy::too_many_arguments)]
    pub fn mailbox_page(
        &self,
        postoffice: PostOfficeId,
        filter: &str,
        sort: usize,
        descending: bool,
        (offset, limit): (i64, i64),
        now: UnixTime,
        platform: MailProgramPolicy,
    ) -> StoreResult<(Vec<MailboxSummary>, i64)> {
        // Names are kept in lower case; no filter is no condition (the count comes from the index).
        let filter = filter.trim().to_lowercase();
        let pattern = match filter.as_str() {
            "" => String::new(),
            text => super::sql::containing(text),
        };
        let matching = "m.postoffice_id = ?1 AND (?2 = '' OR m.name LIKE ?2 ESCAPE '\\')";
        let total: i64 = self
            .query_one(&format!("SELECT count(*) AS n FROM mailbox m WHERE {matching}"), &[&postoffice.0, &pattern])?
            .get("n")?;
        let order = PAGE_ORDER.get(sort).copied().unwrap_or(PAGE_ORDER[0]);
        let direction = if descending { "DESC" } else { "ASC" };
        let rows = self.query(
            &format!(
                "SELECT {COLUMNS}, {COUNTRIES} {FROM} WHERE {matching}
                 ORDER BY {order} {direction}, m.name {direction} LIMIT ?3 OFFSET ?4"
            ),
            &[&postoffice.0, &pattern, &limit, &offset],
        )?;
        Ok((summaries(&rows, now, platform)?, total))
    }

    /// Stores a mailbox's challenge mode, provider, SMS number and alternate address.
    pub fn update_mailbox_policy(
        &self,
        id: MailboxId,
        challenge: MailboxChallenge,
        provider: Provider,
        sms_number: Option<&PhoneNumber>,
        alt_email: Option<&EmailAddress>,
    ) -> StoreResult<()> {
        self.execute(
            "UPDATE mailbox SET challenge = ?2, provider = ?3, sms_number = ?4, alt_email = ?5 WHERE id = ?1",
            &[
                &id.0,
                &challenge.word(),
                &provider.word(),
                &sms_number.map(PhoneNumber::as_str),
                &alt_email.map(EmailAddress::as_str),
            ],
        )?;
        Ok(())
    }

    /// Stores a mailbox's own mail-program policy.
    pub fn update_mailbox_mail_programs(&self, id: MailboxId, mail_programs: MailPrograms) -> StoreResult<()> {
        self.execute("UPDATE mailbox SET mail_programs = ?2 WHERE id = ?1", &[&id.0, &mail_programs.stored()])?;
        Ok(())
    }

    /// Removes a mailbox and everything that hangs off it.
    pub fn delete_mailbox(&self, id: MailboxId) -> StoreResult<()> {
        let n = self.execute("DELETE FROM mailbox WHERE id = ?1", &[&id.0])?;
        if n != 1 {
            return Err(StoreError::Corrupt(format!("mailbox {id} vanished")));
        }
        Ok(())
    }

    /// Forgets the TOTP secret, its replay state, the failure counter, any outstanding code and
    /// the passkeys: the next login enrols again.
    pub fn reset_two_factor_code(&self, id: MailboxId) -> StoreResult<()> {
        self.execute(
            "UPDATE mailbox SET totp_secret = NULL, totp_state = 'none', totp_last_step = NULL, totp_created_at = NULL,
                    failures = 0, lock_count = 0, locked_until = NULL WHERE id = ?1",
            &[&id.0],
        )?;
        self.execute("DELETE FROM otp_code WHERE mailbox_id = ?1", &[&id.0])?;
        // Passkeys are the second factor as much as the secret: the next login enrols again.
        self.execute("DELETE FROM passkey WHERE mailbox_id = ?1", &[&id.0])?;
        Ok(())
    }

    /// Forgets the known countries and IP addresses; returns how many of each were forgotten.
    pub fn reset_country_exceptions(&self, id: MailboxId) -> StoreResult<(usize, usize)> {
        let countries = self.execute("DELETE FROM known_country WHERE mailbox_id = ?1", &[&id.0])?;
        let ips = self.execute("DELETE FROM known_ip WHERE mailbox_id = ?1", &[&id.0])?;
        Ok((countries, ips))
    }

    /// Clears the lock and the failure counter.
    pub fn unlock_mailbox(&self, id: MailboxId) -> StoreResult<()> {
        self.execute("UPDATE mailbox SET failures = 0, lock_count = 0, locked_until = NULL WHERE id = ?1", &[&id.0])?;
        Ok(())
    }

    /// The mailbox's TOTP secret, unsealed, if it has one.
    pub fn totp_secret(&self, id: MailboxId) -> StoreResult<Option<TotpSecret>> {
        type Row = (Option<Vec<u8>>, String, Option<i64>, Option<i64>);
        let row: Option<Row> = self
            .query_opt(
                "SELECT totp_secret, totp_state, totp_last_step, totp_created_at FROM mailbox WHERE id = ?1",
                &[&id.0],
            )?
            .map(|r| -> StoreResult<_> {
                Ok((r.get("totp_secret")?, r.get("totp_state")?, r.get("totp_last_step")?, r.get("totp_created_at")?))
            })
            .transpose()?;
        let Some((Some(sealed), state, last_step, created_at)) = row else {
            return Ok(None);
        };
        let secret = self.key.open(&secret_context(id), &sealed)?;
        Ok(Some(TotpSecret { secret, state: parse_stored(&state)?, last_step, created_at }))
    }

    /// Stores a new TOTP secret made at `now`, sealed to this mailbox, in the given state.
    pub fn set_totp_secret(
        &self,
        id: MailboxId,
        secret: &[u8],
        state: EnrolmentState,
        now: UnixTime,
    ) -> StoreResult<()> {
        let sealed = self.key.seal(&secret_context(id), secret)?;
        self.execute(
            "UPDATE mailbox SET totp_secret = ?2, totp_state = ?3, totp_last_step = NULL, totp_created_at = ?4
             WHERE id = ?1",
            &[&id.0, &sealed, &state.word(), &now],
        )?;
        Ok(())
    }

    /// Forgets a TOTP secret that was never confirmed (its enrolment expired).
    pub fn discard_pending_secret(&self, id: MailboxId) -> StoreResult<()> {
        self.execute(
            "UPDATE mailbox SET totp_secret = NULL, totp_state = 'none', totp_last_step = NULL, totp_created_at = NULL
             WHERE id = ?1 AND totp_state = 'pending'",
            &[&id.0],
        )?;
        Ok(())
    }

    /// Records an accepted TOTP step and makes the secret active.
    pub fn accept_totp_step(&self, id: MailboxId, step: i64) -> StoreResult<()> {
        self.execute("UPDATE mailbox SET totp_state = 'active', totp_last_step = ?2 WHERE id = ?1", &[&id.0, &step])?;
        Ok(())
    }

    /// The mailbox's known IP addresses seen at `since` or later, with first and last time seen,
    /// newest first.
    pub fn known_ips(&self, id: MailboxId, since: UnixTime) -> StoreResult<Vec<KnownLocation>> {
        self.query(
            "SELECT ip AS value, first_seen, last_seen FROM known_ip WHERE mailbox_id = ?1 AND last_seen >= ?2
             ORDER BY last_seen DESC, ip",
            &[&id.0, &since],
        )?
        .iter()
        .map(known_location)
        .collect()
    }

    /// The mailbox's known countries seen at `since` or later, with first and last time seen,
    /// newest first.
    pub fn known_countries(&self, id: MailboxId, since: UnixTime) -> StoreResult<Vec<KnownLocation>> {
        self.query(
            "SELECT country AS value, first_seen, last_seen FROM known_country WHERE mailbox_id = ?1 AND last_seen >= ?2
             ORDER BY last_seen DESC, country",
            &[&id.0, &since],
        )?
        .iter()
        .map(known_location)
        .collect()
    }

    /// Whether the IP address is known for the mailbox, seen at `since` or later.
    pub fn is_known_ip(&self, id: MailboxId, ip: &str, since: UnixTime) -> StoreResult<bool> {
        self.exists(
            "SELECT 1 FROM known_ip WHERE mailbox_id = ?1 AND ip = ?2 AND last_seen >= ?3",
            &[&id.0, &ip, &since],
        )
    }

    /// Whether the country is known for the mailbox, seen at `since` or later.
    pub fn is_known_country(&self, id: MailboxId, country: &str, since: UnixTime) -> StoreResult<bool> {
        self.exists(
            "SELECT 1 FROM known_country WHERE mailbox_id = ?1 AND country = ?2 AND last_seen >= ?3",
            &[&id.0, &country, &since],
        )
    }

    /// Marks a known IP address as seen now (a login it let through without a challenge).
    pub fn touch_known_ip(&self, id: MailboxId, ip: &str, now: UnixTime) -> StoreResult<()> {
        self.execute("UPDATE known_ip SET last_seen = ?3 WHERE mailbox_id = ?1 AND ip = ?2", &[&id.0, &ip, &now])?;
        Ok(())
    }

    /// Marks a known country as seen now (a login it let through without a challenge).
    pub fn touch_known_country(&self, id: MailboxId, country: &str, now: UnixTime) -> StoreResult<()> {
        self.execute(
            "UPDATE known_country SET last_seen = ?3 WHERE mailbox_id = ?1 AND country = ?2",
            &[&id.0, &country, &now],
        )?;
        Ok(())
    }

    /// Records an accepted login: places not seen since `forget_before` are forgotten, the IP and
    /// country become known, the failure counter and lock clear, and the last-login time moves.
    pub fn record_success(
        &self,
        id: MailboxId,
        ip: &str,
        country: Option<&str>,
        now: UnixTime,
        forget_before: UnixTime,
    ) -> StoreResult<()> {
        for sql in [
            "DELETE FROM known_ip WHERE mailbox_id = ?1 AND last_seen < ?2",
            "DELETE FROM known_country WHERE mailbox_id = ?1 AND last_seen < ?2",
        ] {
            self.execute(sql, &[&id.0, &forget_before])?;
        }
        self.execute(
            "INSERT INTO known_ip (mailbox_id, ip, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3)
                 ON CONFLICT (mailbox_id, ip) DO UPDATE SET last_seen = excluded.last_seen",
            &[&id.0, &ip, &now],
        )?;
        if let Some(country) = country {
            self.execute(
                "INSERT INTO known_country (mailbox_id, country, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3)
                     ON CONFLICT (mailbox_id, country) DO UPDATE SET last_seen = excluded.last_seen",
                &[&id.0, &country, &now],
            )?;
        }
        self.execute(
            "UPDATE mailbox SET failures = 0, lock_count = 0, locked_until = NULL, last_login = ?2 WHERE id = ?1",
            &[&id.0, &now],
        )?;
        Ok(())
    }

    /// Records a login that needed no second factor: only the last-login time moves.
    pub fn record_login_without_challenge(&self, id: MailboxId, now: UnixTime) -> StoreResult<()> {
        self.execute("UPDATE mailbox SET last_login = ?2 WHERE id = ?1", &[&id.0, &now])?;
        Ok(())
    }

    /// Counts a failed verification: the counter grows, or — when `lock_until` is given — the
    /// mailbox locks until then and the counter starts again.
    pub fn record_failure(&self, id: MailboxId, lock_until: Option<UnixTime>) -> StoreResult<()> {
        match lock_until {
            Some(until) => self.execute(
                "UPDATE mailbox SET failures = 0, lock_count = lock_count + 1, locked_until = ?2 WHERE id = ?1",
                &[&id.0, &until],
            )?,
            None => self.execute("UPDATE mailbox SET failures = failures + 1 WHERE id = ?1", &[&id.0])?,
        };
        Ok(())
    }

    /// Stores the hash of a new one-time code, replacing (voiding) any earlier one.
    #[allow(clippy::too_many_arguments)]
    pub fn store_one_time_code(
        &self,
        id: MailboxId,
        attempt: &str,
        ip: &str,
        provider: Provider,
        code_hash: &[u8],
        now: UnixTime,
        expires_at: UnixTime,
    ) -> StoreResult<()> {
        self.execute(
            "INSERT INTO otp_code (mailbox_id, attempt, ip, provider, code_hash, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (mailbox_id) DO UPDATE SET attempt = excluded.attempt, ip = excluded.ip,
                 provider = excluded.provider, code_hash = excluded.code_hash, created_at = excluded.created_at,
                 expires_at = excluded.expires_at",
            &[&id.0, &attempt, &ip, &provider.word(), &code_hash, &now, &expires_at],
        )?;
        Ok(())
    }

    /// The outstanding one-time code of a mailbox.
    pub fn one_time_code(&self, id: MailboxId) -> StoreResult<Option<OneTimeCodeRow>> {
        self.query_opt(
            "SELECT attempt, ip, provider, code_hash, expires_at FROM otp_code WHERE mailbox_id = ?1",
            &[&id.0],
        )?
        .map(|r| {
            Ok(OneTimeCodeRow {
                attempt: r.get("attempt")?,
                ip: r.get("ip")?,
                provider: parse_stored(&r.get::<String>("provider")?)?,
                code_hash: r.get("code_hash")?,
                expires_at: r.get("expires_at")?,
            })
        })
        .transpose()
    }

    /// Removes the one-time code of that attempt (used, expired, or not deliverable).
    pub fn void_one_time_code(&self, id: MailboxId, attempt: &str) -> StoreResult<()> {
        self.execute("DELETE FROM otp_code WHERE mailbox_id = ?1 AND attempt = ?2", &[&id.0, &attempt])?;
        Ok(())
    }

    /// Records that a code was sent (for the hourly send limit) and forgets sends older than a day.
    pub fn record_code_send(&self, id: MailboxId, now: UnixTime) -> StoreResult<()> {
        self.execute("INSERT INTO code_send (mailbox_id, sent_at) VALUES (?1, ?2)", &[&id.0, &now])?;
        self.execute("DELETE FROM code_send WHERE mailbox_id = ?1 AND sent_at < ?2", &[&id.0, &(now - 86_400)])?;
        Ok(())
    }

    /// Takes back one send recorded at `at` (a code that could not be delivered).
    pub fn forget_code_send(&self, id: MailboxId, at: UnixTime) -> StoreResult<()> {
        // Sends at the same second are alike: any one of them goes. The row's own address is
        // `rowid` on SQLite and `ctid` on PostgreSQL.
        let sql = match self.dialect() {
            Dialect::Sqlite => {
                "DELETE FROM code_send WHERE rowid =
                    (SELECT rowid FROM code_send WHERE mailbox_id = ?1 AND sent_at = ?2 LIMIT 1)"
            }
            Dialect::Postgres => {
                "DELETE FROM code_send WHERE ctid =
                    (SELECT ctid FROM code_send WHERE mailbox_id = ?1 AND sent_at = ?2 LIMIT 1)"
            }
        };
        self.execute(sql, &[&id.0, &at])?;
        Ok(())
    }

    /// When codes were sent to the mailbox since `since`, oldest first.
    pub fn code_sends_since(&self, id: MailboxId, since: UnixTime) -> StoreResult<Vec<UnixTime>> {
        self.query(
            "SELECT sent_at FROM code_send WHERE mailbox_id = ?1 AND sent_at > ?2 ORDER BY sent_at",
            &[&id.0, &since],
        )?
        .iter()
        .map(|r| r.get("sent_at"))
        .collect()
    }
}

impl Tx<'_> {
    /// The mailboxes of one post office (or of all) grouped by what the coverage report counts
    /// by, each group with its size: one aggregate query, however many mailboxes there are. The
    /// groups carry the facts (the lock's end, the recovery codes left); what they mean is the
    /// domain's to say.
    pub fn coverage_groups(&self, postoffice: Option<PostOfficeId>) -> StoreResult<Vec<CoverageGroup>> {
        let rows = self.query(
            "SELECT p.name AS postoffice, m.challenge, p.challenge AS postoffice_challenge, m.provider, m.totp_state,
                    m.sms_number IS NOT NULL AS has_sms, m.alt_email IS NOT NULL AS has_alt_email,
                    (SELECT count(*) FROM passkey k WHERE k.mailbox_id = m.id) AS passkeys, m.locked_until, m.last_login IS NULL AS never_signed_in, m.recovery_left,
                    m.mail_programs, p.mail_programs AS postoffice_mail_programs, count(*) AS n
             FROM mailbox m JOIN postoffice p ON p.id = m.postoffice_id
             WHERE ?1 IS NULL OR m.postoffice_id = ?1
             GROUP BY p.name, m.challenge, p.challenge, m.provider, m.totp_state, has_sms, has_alt_email, passkeys,
                      m.locked_until, never_signed_in, m.recovery_left, m.mail_programs, p.mail_programs",
            &[&postoffice.map(|p| p.0)],
        )?;
        let mut groups = Vec::new();
        for r in &rows {
            let word = |column: &str| r.get::<String>(column);
            groups.push(CoverageGroup {
                postoffice: parse_stored(&word("postoffice")?)?,
                challenge: parse_stored(&word("challenge")?)?,
                postoffice_challenge: parse_stored(&word("postoffice_challenge")?)?,
                provider: parse_stored(&word("provider")?)?,
                enrolment: parse_stored(&word("totp_state")?)?,
                has_sms: r.get("has_sms")?,
                has_alt_email: r.get("has_alt_email")?,
                passkeys: r.get("passkeys")?,
                locked_until: r.get("locked_until")?,
                never_signed_in: r.get("never_signed_in")?,
                recovery_codes_left: r.get("recovery_left")?,
                mail_programs: parse_mail_programs(r.get("mail_programs")?)?,
                postoffice_mail_programs: parse_mail_programs(r.get("postoffice_mail_programs")?)?,
                count: r.get("n")?,
            });
        }
        Ok(groups)
    }
}

/// A mailbox's temporary access pass as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAccessPass {
    /// The keyed hash of its letters.
    pub hash: Vec<u8>,
    /// When it stops working.
    pub expires_at: UnixTime,
    /// It works once.
    pub once: bool,
}

impl Tx<'_> {
    /// Gives the mailbox a temporary access pass (replacing any it had).
    pub fn set_access_pass(&self, id: MailboxId, pass: &StoredAccessPass) -> StoreResult<()> {
        self.execute(
            "UPDATE mailbox SET tap_hash = ?2, tap_expires_at = ?3, tap_once = ?4 WHERE id = ?1",
            &[&id.0, &pass.hash, &pass.expires_at, &pass.once],
        )?;
        Ok(())
    }

    /// The mailbox's temporary access pass, if it has one.
    pub fn access_pass(&self, id: MailboxId) -> StoreResult<Option<StoredAccessPass>> {
        let row: Option<(Option<Vec<u8>>, Option<i64>, bool)> = self
            .query_opt("SELECT tap_hash, tap_expires_at, tap_once FROM mailbox WHERE id = ?1", &[&id.0])?
            .map(|r| -> StoreResult<_> { Ok((r.get("tap_hash")?, r.get("tap_expires_at")?, r.get("tap_once")?)) })
            .transpose()?;
        Ok(match row {
            Some((Some(hash), Some(expires_at), once)) => Some(StoredAccessPass { hash, expires_at, once }),
            _ => None,
        })
    }

    /// Takes the mailbox's temporary access pass away.
    pub fn clear_access_pass(&self, id: MailboxId) -> StoreResult<()> {
        self.execute(
            "UPDATE mailbox SET tap_hash = NULL, tap_expires_at = NULL, tap_once = 0 WHERE id = ?1",
            &[&id.0],
        )?;
        Ok(())
    }

    /// Gives the mailbox a new set of recovery codes (their keyed hashes), voiding every code of
    /// the set before, used or not.
    pub fn replace_recovery_codes(&self, id: MailboxId, hashes: &[Vec<u8>], now: UnixTime) -> StoreResult<()> {
        self.execute("DELETE FROM recovery_code WHERE mailbox_id = ?1", &[&id.0])?;
        for hash in hashes {
            self.execute(
                "INSERT INTO recovery_code (mailbox_id, hash, issued_at) VALUES (?1, ?2, ?3)",
                &[&id.0, hash, &now],
            )?;
        }
        self.execute("UPDATE mailbox SET recovery_left = ?2 WHERE id = ?1", &[&id.0, &(hashes.len() as i64)])?;
        Ok(())
    }

    /// Uses up the mailbox's unused recovery code with this hash: whether there was one. The
    /// update is the check, so two logins racing with one code cannot both use it.
    pub fn use_recovery_code(&self, id: MailboxId, hash: &[u8], now: UnixTime) -> StoreResult<bool> {
        let changed = self.execute(
            "UPDATE recovery_code SET used_at = ?3 WHERE mailbox_id = ?1 AND hash = ?2 AND used_at IS NULL",
            &[&id.0, &hash, &now],
        )?;
        if changed == 1 {
            self.execute("UPDATE mailbox SET recovery_left = recovery_left - 1 WHERE id = ?1", &[&id.0])?;
        }
        Ok(changed == 1)
    }

    /// How many of the mailbox's recovery codes are unused.
    pub fn recovery_codes_left(&self, id: MailboxId) -> StoreResult<i64> {
        self.query_one("SELECT recovery_left FROM mailbox WHERE id = ?1", &[&id.0])?.get("recovery_left")
    }

    /// Remembers a device (the keyed hash of its token) for the mailbox, forgetting its oldest
    /// devices beyond `max`.
    pub fn remember_device(&self, id: MailboxId, hash: &[u8], now: UnixTime, max: i64) -> StoreResult<()> {
        self.execute(
            "INSERT INTO remembered_device (mailbox_id, hash, created_at, last_used) VALUES (?1, ?2, ?3, ?3)
             ON CONFLICT (mailbox_id, hash) DO UPDATE SET created_at = excluded.created_at, last_used = excluded.last_used",
            &[&id.0, &hash, &now],
        )?;
        self.execute(
            "DELETE FROM remembered_device WHERE mailbox_id = ?1 AND hash NOT IN (
                     SELECT hash FROM remembered_device WHERE mailbox_id = ?1
                     ORDER BY created_at DESC, last_used DESC LIMIT ?2)",
            &[&id.0, &max],
        )?;
        Ok(())
    }

    /// When the mailbox remembered the device of this token hash, if it did; marks it used.
    pub fn use_remembered_device(&self, id: MailboxId, hash: &[u8], now: UnixTime) -> StoreResult<Option<UnixTime>> {
        let created: Option<i64> = self
            .query_opt("SELECT created_at FROM remembered_device WHERE mailbox_id = ?1 AND hash = ?2", &[&id.0, &hash])?
            .map(|r| r.get("created_at"))
            .transpose()?;
        if created.is_some() {
            self.execute(
                "UPDATE remembered_device SET last_used = ?3 WHERE mailbox_id = ?1 AND hash = ?2",
                &[&id.0, &hash, &now],
            )?;
        }
        Ok(created)
    }

    /// Forgets every device the mailbox remembered: how many there were.
    pub fn forget_devices(&self, id: MailboxId) -> StoreResult<usize> {
        self.execute("DELETE FROM remembered_device WHERE mailbox_id = ?1", &[&id.0])
    }

    /// How many devices the mailbox remembered after `since` (the ones that have not expired).
    pub fn remembered_devices(&self, id: MailboxId, since: UnixTime) -> StoreResult<i64> {
        self.query_one(
            "SELECT count(*) AS n FROM remembered_device WHERE mailbox_id = ?1 AND created_at > ?2",
            &[&id.0, &since],
        )?
        .get("n")
    }
}
