//! Mailbox rows and their two-factor state: policy, sealed TOTP secret, failure counter and lock,
//! known IP addresses and countries.

use rusqlite::{OptionalExtension, Row, params};
use zeroize::Zeroizing;

use super::{StoreError, StoreResult, Tx, parse_stored};
use crate::clock::UnixTime;
use crate::domain::{
    ChallengeMode, EmailAddress, EnrolmentState, MailboxAddress, MailboxChallenge, MailboxId, MailboxName, PhoneNumber,
    PostOfficeId, PostOfficeName, Provider,
};

/// Everything about one mailbox's two-factor settings except its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxRecord {
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
    /// What delivers its codes.
    pub provider: Provider,
    /// Its SMS number.
    pub sms_number: Option<PhoneNumber>,
    /// Its alternate e-mail address.
    pub alt_email: Option<EmailAddress>,
    /// Where its TOTP secret stands.
    pub enrolment: EnrolmentState,
    /// Consecutive failed verifications.
    pub failures: i64,
    /// How many times it was locked since the last success (each lock doubles the next).
    pub lock_count: i64,
    /// Locked until this time, if set.
    pub locked_until: Option<UnixTime>,
    /// The last accepted login.
    pub last_login: Option<UnixTime>,
}

impl MailboxRecord {
    /// The mode in force.
    pub fn effective_challenge(&self) -> ChallengeMode {
        self.challenge.effective(self.postoffice_challenge)
    }

    /// Seconds until the lock ends, if locked at `now`.
    pub fn locked_for(&self, now: UnixTime) -> Option<i64> {
        self.locked_until.filter(|&until| until > now).map(|until| until - now)
    }

    /// Whether the mailbox can be challenged with `provider`: a number for SMS, an alternate
    /// address for SMTP; for TOTP any state when it is the mailbox's own provider (it enrols),
    /// but only an active secret when TOTP stands in for a disabled provider.
    pub fn has_data_for(&self, provider: Provider, as_fallback: bool) -> bool {
        match provider {
            Provider::Totp => !as_fallback || self.enrolment == EnrolmentState::Active,
            Provider::Sms => self.sms_number.is_some(),
            Provider::Smtp => self.alt_email.is_some(),
        }
    }

    /// The Status column: locked, or how far the provider is set up.
    pub fn status(&self, now: UnixTime) -> &'static str {
        status_word(
            self.locked_for(now).is_some(),
            self.provider,
            self.enrolment,
            self.sms_number.is_some(),
            self.alt_email.is_some(),
        )
    }
}

/// The Status column's words.
pub fn status_word(
    locked: bool,
    provider: Provider,
    enrolment: EnrolmentState,
    has_sms: bool,
    has_alt: bool,
) -> &'static str {
    if locked {
        return "locked";
    }
    match provider {
        Provider::Totp => match enrolment {
            EnrolmentState::None => "not enrolled",
            EnrolmentState::Pending => "pending",
            EnrolmentState::Active => "enrolled",
        },
        Provider::Sms if has_sms => "enrolled",
        Provider::Smtp if has_alt => "enrolled",
        Provider::Sms | Provider::Smtp => "not enrolled",
    }
}

/// One line of a post office's mailbox table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxRow {
    /// Its id.
    pub id: MailboxId,
    /// `mailbox@postoffice`.
    pub address: MailboxAddress,
    /// Its own challenge setting.
    pub challenge: MailboxChallenge,
    /// The mode in force.
    pub effective_challenge: ChallengeMode,
    /// What delivers its codes.
    pub provider: Provider,
    /// Status column word (`not enrolled`, `pending`, `enrolled`, `locked`).
    pub status: &'static str,
    /// The last accepted login.
    pub last_login: Option<UnixTime>,
    /// Known countries, sorted, comma-separated.
    pub known_countries: String,
}

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
}

const SELECT: &str = "SELECT m.id, m.postoffice_id, m.name, p.name, m.challenge, p.challenge, p.users_may_configure,
        m.provider, m.sms_number, m.alt_email, m.totp_state, m.failures, m.lock_count, m.locked_until, m.last_login
    FROM mailbox m JOIN postoffice p ON p.id = m.postoffice_id";

type RawRecord = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    bool,
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
);

fn raw_record(r: &Row<'_>) -> rusqlite::Result<RawRecord> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
        r.get(12)?,
        r.get(13)?,
        r.get(14)?,
    ))
}

fn record(raw: RawRecord) -> StoreResult<MailboxRecord> {
    let (
        id,
        po,
        name,
        po_name,
        challenge,
        po_challenge,
        users,
        provider,
        sms,
        alt,
        state,
        failures,
        lock_count,
        locked_until,
        last_login,
    ) = raw;
    Ok(MailboxRecord {
        id: MailboxId(id),
        postoffice_id: PostOfficeId(po),
        address: MailboxAddress::new(parse_stored::<MailboxName>(&name)?, parse_stored::<PostOfficeName>(&po_name)?),
        challenge: parse_stored(&challenge)?,
        postoffice_challenge: parse_stored(&po_challenge)?,
        users_may_configure: users,
        provider: parse_stored(&provider)?,
        sms_number: sms.as_deref().map(parse_stored).transpose()?,
        alt_email: alt.as_deref().map(parse_stored).transpose()?,
        enrolment: parse_stored(&state)?,
        failures,
        lock_count,
        locked_until,
        last_login,
    })
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
        let inserted = self
            .tx
            .prepare_cached(
                "INSERT INTO mailbox (postoffice_id, name, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (postoffice_id, name) DO NOTHING",
            )?
            .execute(params![postoffice.0, name.as_str(), now])?;
        Ok((inserted == 1).then(|| MailboxId(self.tx.last_insert_rowid())))
    }

    /// The mailbox at that address.
    pub fn mailbox(&self, address: &MailboxAddress) -> StoreResult<Option<MailboxRecord>> {
        let raw = self
            .tx
            .prepare_cached(&format!("{SELECT} WHERE p.name = ?1 AND m.name = ?2"))?
            .query_row(params![address.postoffice.as_str(), address.mailbox.as_str()], raw_record)
            .optional()?;
        raw.map(record).transpose()
    }

    /// The mailbox with that id.
    pub fn mailbox_by_id(&self, id: MailboxId) -> StoreResult<Option<MailboxRecord>> {
        let raw =
            self.tx.prepare_cached(&format!("{SELECT} WHERE m.id = ?1"))?.query_row([id.0], raw_record).optional()?;
        raw.map(record).transpose()
    }

    /// The mailbox table of one post office, or of all, sorted by address.
    pub fn mailbox_rows(&self, postoffice: Option<PostOfficeId>, now: UnixTime) -> StoreResult<Vec<MailboxRow>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT m.id, m.name, p.name, m.challenge, p.challenge, m.provider, m.totp_state,
                    m.sms_number IS NOT NULL, m.alt_email IS NOT NULL, m.locked_until, m.last_login,
                    (SELECT group_concat(country, ', ') FROM
                        (SELECT country FROM known_country k WHERE k.mailbox_id = m.id ORDER BY country))
             FROM mailbox m JOIN postoffice p ON p.id = m.postoffice_id
             WHERE ?1 IS NULL OR m.postoffice_id = ?1
             ORDER BY p.name, m.name",
        )?;
        let mut rows = stmt.query([postoffice.map(|p| p.0)])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let challenge: MailboxChallenge = parse_stored(&r.get::<_, String>(3)?)?;
            let po_challenge: ChallengeMode = parse_stored(&r.get::<_, String>(4)?)?;
            let provider: Provider = parse_stored(&r.get::<_, String>(5)?)?;
            let enrolment: EnrolmentState = parse_stored(&r.get::<_, String>(6)?)?;
            let locked = r.get::<_, Option<i64>>(9)?.is_some_and(|until| until > now);
            out.push(MailboxRow {
                id: MailboxId(r.get(0)?),
                address: MailboxAddress::new(
                    parse_stored(&r.get::<_, String>(1)?)?,
                    parse_stored(&r.get::<_, String>(2)?)?,
                ),
                challenge,
                effective_challenge: challenge.effective(po_challenge),
                provider,
                status: status_word(locked, provider, enrolment, r.get(7)?, r.get(8)?),
                last_login: r.get(10)?,
                known_countries: r.get::<_, Option<String>>(11)?.unwrap_or_default(),
            });
        }
        Ok(out)
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
        self.tx
            .prepare_cached(
                "UPDATE mailbox SET challenge = ?2, provider = ?3, sms_number = ?4, alt_email = ?5 WHERE id = ?1",
            )?
            .execute(params![
                id.0,
                challenge.word(),
                provider.word(),
                sms_number.map(PhoneNumber::as_str),
                alt_email.map(EmailAddress::as_str)
            ])?;
        Ok(())
    }

    /// Removes a mailbox and everything that hangs off it.
    pub fn delete_mailbox(&self, id: MailboxId) -> StoreResult<()> {
        let n = self.tx.execute("DELETE FROM mailbox WHERE id = ?1", [id.0])?;
        if n != 1 {
            return Err(StoreError::Corrupt(format!("mailbox {id} vanished")));
        }
        Ok(())
    }

    /// Forgets the TOTP secret, its replay state, the failure counter and any outstanding code: the
    /// next login enrols again.
    pub fn reset_two_factor_code(&self, id: MailboxId) -> StoreResult<()> {
        self.tx.execute(
            "UPDATE mailbox SET totp_secret = NULL, totp_state = 'none', totp_last_step = NULL,
                    failures = 0, lock_count = 0, locked_until = NULL WHERE id = ?1",
            [id.0],
        )?;
        self.tx.execute("DELETE FROM otp_code WHERE mailbox_id = ?1", [id.0])?;
        Ok(())
    }

    /// Forgets the known countries and IP addresses; returns how many of each were forgotten.
    pub fn reset_country_exceptions(&self, id: MailboxId) -> StoreResult<(usize, usize)> {
        let countries = self.tx.execute("DELETE FROM known_country WHERE mailbox_id = ?1", [id.0])?;
        let ips = self.tx.execute("DELETE FROM known_ip WHERE mailbox_id = ?1", [id.0])?;
        Ok((countries, ips))
    }

    /// Clears the lock and the failure counter.
    pub fn unlock_mailbox(&self, id: MailboxId) -> StoreResult<()> {
        self.tx
            .execute("UPDATE mailbox SET failures = 0, lock_count = 0, locked_until = NULL WHERE id = ?1", [id.0])?;
        Ok(())
    }

    /// The mailbox's TOTP secret, unsealed, if it has one.
    pub fn totp_secret(&self, id: MailboxId) -> StoreResult<Option<TotpSecret>> {
        let row: Option<(Option<Vec<u8>>, String, Option<i64>)> = self
            .tx
            .prepare_cached("SELECT totp_secret, totp_state, totp_last_step FROM mailbox WHERE id = ?1")?
            .query_row([id.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let Some((Some(sealed), state, last_step)) = row else {
            return Ok(None);
        };
        let secret = self.key.open(&secret_context(id), &sealed)?;
        Ok(Some(TotpSecret { secret, state: parse_stored(&state)?, last_step }))
    }

    /// Stores a new TOTP secret, sealed to this mailbox, in the given state.
    pub fn set_totp_secret(&self, id: MailboxId, secret: &[u8], state: EnrolmentState) -> StoreResult<()> {
        let sealed = self.key.seal(&secret_context(id), secret)?;
        self.tx.execute(
            "UPDATE mailbox SET totp_secret = ?2, totp_state = ?3, totp_last_step = NULL WHERE id = ?1",
            params![id.0, sealed, state.word()],
        )?;
        Ok(())
    }

    /// Records an accepted TOTP step and makes the secret active.
    pub fn accept_totp_step(&self, id: MailboxId, step: i64) -> StoreResult<()> {
        self.tx.execute(
            "UPDATE mailbox SET totp_state = 'active', totp_last_step = ?2 WHERE id = ?1",
            params![id.0, step],
        )?;
        Ok(())
    }

    /// The mailbox's known IP addresses with first and last time seen, newest first.
    pub fn known_ips(&self, id: MailboxId) -> StoreResult<Vec<(String, UnixTime, UnixTime)>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT ip, first_seen, last_seen FROM known_ip WHERE mailbox_id = ?1 ORDER BY last_seen DESC, ip",
        )?;
        Ok(stmt.query_map([id.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?)
    }

    /// The mailbox's known countries with first and last time seen, newest first.
    pub fn known_countries(&self, id: MailboxId) -> StoreResult<Vec<(String, UnixTime, UnixTime)>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT country, first_seen, last_seen FROM known_country WHERE mailbox_id = ?1 ORDER BY last_seen DESC, country",
        )?;
        Ok(stmt.query_map([id.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?)
    }

    /// Whether the IP address is known for the mailbox.
    pub fn is_known_ip(&self, id: MailboxId, ip: &str) -> StoreResult<bool> {
        Ok(self
            .tx
            .prepare_cached("SELECT 1 FROM known_ip WHERE mailbox_id = ?1 AND ip = ?2")?
            .exists(params![id.0, ip])?)
    }

    /// Whether the country is known for the mailbox.
    pub fn is_known_country(&self, id: MailboxId, country: &str) -> StoreResult<bool> {
        Ok(self
            .tx
            .prepare_cached("SELECT 1 FROM known_country WHERE mailbox_id = ?1 AND country = ?2")?
            .exists(params![id.0, country])?)
    }

    /// Records an accepted login: the IP and country become known, the failure counter and lock
    /// clear, and the last-login time moves.
    pub fn record_success(&self, id: MailboxId, ip: &str, country: Option<&str>, now: UnixTime) -> StoreResult<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO known_ip (mailbox_id, ip, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3)
                 ON CONFLICT (mailbox_id, ip) DO UPDATE SET last_seen = excluded.last_seen",
            )?
            .execute(params![id.0, ip, now])?;
        if let Some(country) = country {
            self.tx
                .prepare_cached(
                    "INSERT INTO known_country (mailbox_id, country, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3)
                     ON CONFLICT (mailbox_id, country) DO UPDATE SET last_seen = excluded.last_seen",
                )?
                .execute(params![id.0, country, now])?;
        }
        self.tx
            .prepare_cached(
                "UPDATE mailbox SET failures = 0, lock_count = 0, locked_until = NULL, last_login = ?2 WHERE id = ?1",
            )?
            .execute(params![id.0, now])?;
        Ok(())
    }

    /// Records a login that needed no second factor: only the last-login time moves.
    pub fn record_login_without_challenge(&self, id: MailboxId, now: UnixTime) -> StoreResult<()> {
        self.tx.prepare_cached("UPDATE mailbox SET last_login = ?2 WHERE id = ?1")?.execute(params![id.0, now])?;
        Ok(())
    }

    /// Counts a failed verification; after `threshold` consecutive failures the mailbox locks for
    /// `base_seconds`, doubled for each earlier lock, at most an hour. Returns the lock end if this
    /// failure locked it.
    pub fn record_failure(
        &self,
        id: MailboxId,
        now: UnixTime,
        threshold: i64,
        base_seconds: i64,
    ) -> StoreResult<Option<UnixTime>> {
        let (failures, lock_count): (i64, i64) = self
            .tx
            .prepare_cached("SELECT failures + 1, lock_count FROM mailbox WHERE id = ?1")?
            .query_row([id.0], |r| Ok((r.get(0)?, r.get(1)?)))?;
        if failures >= threshold {
            let seconds = base_seconds.saturating_mul(1i64 << lock_count.clamp(0, 20)).min(3600);
            let until = now + seconds;
            self.tx
                .prepare_cached(
                    "UPDATE mailbox SET failures = 0, lock_count = lock_count + 1, locked_until = ?2 WHERE id = ?1",
                )?
                .execute(params![id.0, until])?;
            Ok(Some(until))
        } else {
            self.tx
                .prepare_cached("UPDATE mailbox SET failures = ?2 WHERE id = ?1")?
                .execute(params![id.0, failures])?;
            Ok(None)
        }
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
        self.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO otp_code (mailbox_id, attempt, ip, provider, code_hash, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![id.0, attempt, ip, provider.word(), code_hash, now, expires_at])?;
        Ok(())
    }

    /// The outstanding one-time code of a mailbox.
    pub fn one_time_code(&self, id: MailboxId) -> StoreResult<Option<OneTimeCodeRow>> {
        let row: Option<(String, String, String, Vec<u8>, i64)> = self
            .tx
            .prepare_cached("SELECT attempt, ip, provider, code_hash, expires_at FROM otp_code WHERE mailbox_id = ?1")?
            .query_row([id.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .optional()?;
        row.map(|(attempt, ip, provider, code_hash, expires_at)| {
            Ok(OneTimeCodeRow { attempt, ip, provider: parse_stored(&provider)?, code_hash, expires_at })
        })
        .transpose()
    }

    /// Removes the one-time code of that attempt (used, expired, or not deliverable).
    pub fn void_one_time_code(&self, id: MailboxId, attempt: &str) -> StoreResult<()> {
        self.tx
            .prepare_cached("DELETE FROM otp_code WHERE mailbox_id = ?1 AND attempt = ?2")?
            .execute(params![id.0, attempt])?;
        Ok(())
    }

    /// Records that a code was sent (for the hourly send limit) and forgets sends older than a day.
    pub fn record_code_send(&self, id: MailboxId, now: UnixTime) -> StoreResult<()> {
        self.tx
            .prepare_cached("INSERT INTO code_send (mailbox_id, sent_at) VALUES (?1, ?2)")?
            .execute(params![id.0, now])?;
        self.tx
            .prepare_cached("DELETE FROM code_send WHERE mailbox_id = ?1 AND sent_at < ?2")?
            .execute(params![id.0, now - 86_400])?;
        Ok(())
    }

    /// When codes were sent to the mailbox since `since`, oldest first.
    pub fn code_sends_since(&self, id: MailboxId, since: UnixTime) -> StoreResult<Vec<UnixTime>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT sent_at FROM code_send WHERE mailbox_id = ?1 AND sent_at > ?2 ORDER BY sent_at")?;
        Ok(stmt.query_map(params![id.0, since], |r| r.get(0))?.collect::<Result<_, _>>()?)
    }
}
