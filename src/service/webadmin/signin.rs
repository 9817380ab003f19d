//! A web administrator's set-up and sign-in: the set-up link lets them choose a password (kept as
//! an Argon2id hash) and enrol an authenticator app (the secret sealed as a mailbox's is), then
//! shows their recovery codes once; signing in takes the password, then a code or a recovery
//! code. Wrong passwords and wrong codes count toward the mailboxes' growing, self-clearing lock
//! ([`crate::domain::Lockout`]), per account. Sessions are kept as keyed hashes of their tokens,
//! end after `admin.idle_minutes` without a request and after eight hours in any case.

use std::net::IpAddr;
use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use zeroize::Zeroizing;

use super::accounts::SETUP_CONTEXT;
use super::{actor_of, new_token};
use crate::clock::UnixTime;
use crate::domain::{
    Actor, AdminName, AdminPassword, Administrator, AuditEntry, AuditOutcome, LetterCode, Lockout, Passcode,
    constant_time_eq, totp,
};
use crate::service::crypto::to_hex;
use crate::service::store::{AdminRow, AdminSessionRow, Tx};
use crate::service::{Service, ServiceError, ServiceResult};

/// A session ends this long after it began, whatever happens.
pub const SESSION_SECONDS: i64 = 8 * 3600;

const SESSION_CONTEXT: &str = "admin_session";
const SIGNED_IN: &str = "signed_in";
const PASSWORD_ONLY: &str = "password";

/// Where a set-up link stands.
pub enum SetupStep {
    /// The administrator chooses a password.
    Password {
        /// Whose link it is.
        name: AdminName,
        /// The token the form carries.
        csrf: String,
    },
    /// The administrator scans the QR code and types the first code.
    Enrol {
        /// Whose link it is.
        name: AdminName,
        /// The token the form carries.
        csrf: String,
        /// The key URI the QR code carries.
        otpauth_uri: Zeroizing<String>,
        /// The secret in groups of four, for typing by hand.
        secret_groups: Zeroizing<String>,
    },
}

/// A session just begun: its token, for the browser's cookie.
pub struct AdminSignedIn {
    /// The token (only its keyed hash is kept).
    pub token: Zeroizing<String>,
}

/// A browser's session, as the service found it: who, whether the code was given, and the token
/// its forms carry. Only the service makes one.
#[derive(Debug, Clone)]
pub struct AdminSession {
    admin: Administrator,
    csrf: String,
    complete: bool,
}

impl AdminSession {
    /// Who signed in.
    pub fn admin(&self) -> &Administrator {
        &self.admin
    }

    /// The token every form of the session carries.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Whether the second step was given (else only the password was).
    pub fn complete(&self) -> bool {
        self.complete
    }

    /// Whether a form's token is this session's.
    pub fn check_csrf(&self, sent: &str) -> ServiceResult<()> {
        if constant_time_eq(sent.as_bytes(), self.csrf.as_bytes()) { Ok(()) } else { Err(ServiceError::StaleForm) }
    }
}

impl Service {
    /// Where the set-up link `token` stands; an unknown, used or expired link is an error.
    pub fn admin_setup(&self, token: &str) -> ServiceResult<SetupStep> {
        let issuer = self.store.read(|tx| tx.settings())?.issuer;
        self.store.read(|tx| {
            let row = setup_row(tx, token, self.now())?;
            let csrf = setup_csrf(tx, token);
            let name = row.admin.name.clone();
            match (row.password_hash, tx.admin_secret(&name)?) {
                (Some(_), Some(secret)) => {
                    let otpauth_uri = totp::otpauth_uri_for(&issuer, &format!("admin:{name}"), &secret);
                    let groups = totp::secret_base32(&secret);
                    let chunks: Vec<String> =
                        groups.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
                    Ok(SetupStep::Enrol { name, csrf, otpauth_uri, secret_groups: Zeroizing::new(chunks.join(" ")) })
                }
                _ => Ok(SetupStep::Password { name, csrf }),
            }
        })
    }

    /// The set-up's first form: the password chosen (twice alike), and a new secret for the app.
    pub fn admin_setup_password(&self, token: &str, csrf: &str, password: &str, again: &str) -> ServiceResult<()> {
        let now = self.now();
        // The link and the form's token first: hashing is slow on purpose, and only for the link's holder.
        let name = self.store.read(|tx| {
            check_setup_csrf(tx, token, csrf)?;
            Ok::<_, ServiceError>(setup_row(tx, token, now)?.admin.name)
        })?;
        let password: AdminPassword = password.parse()?;
        if password.expose() != again {
            return Err(ServiceError::PasswordsDiffer);
        }
        let hash = hash_password(self, &password)?;
        let mut secret = Zeroizing::new([0u8; totp::SECRET_LEN]);
        self.world.random.fill(secret.as_mut())?;
        self.audited_as(&name, "admin.setup_password", None, |tx| {
            let row = setup_row(tx, token, now)?;
            tx.set_admin_credentials(&row.admin.name, &hash, secret.as_ref())?;
            Ok(((), "password chosen; authenticator app next".to_owned()))
        })
    }

    /// The set-up's second form: the first code from the app. Right → the set-up is done, the
    /// link stops working, and the administrator's recovery codes are returned (shown once).
    pub fn admin_setup_confirm(&self, token: &str, csrf: &str, code: &str) -> ServiceResult<Vec<LetterCode>> {
        let code: crate::domain::Code = code.trim().parse()?;
        let now = self.now();
        let name = self.store.read(|tx| {
            check_setup_csrf(tx, token, csrf)?;
            Ok::<_, ServiceError>(setup_row(tx, token, now)?.admin.name)
        })?;
        self.audited_as(&name, "admin.setup", None, |tx| {
            let row = setup_row(tx, token, now)?;
            let secret = tx.admin_secret(&row.admin.name)?.filter(|_| row.password_hash.is_some());
            let secret = secret.ok_or(ServiceError::AdminSetupLink)?;
            let step = totp::matching_step(&secret, &code, now, None).ok_or(ServiceError::AdminSignIn)?;
            tx.finish_admin_setup(&row.admin.name, step)?;
            let codes = issue_codes(self, tx, &row.admin.name, now)?;
            Ok((codes, "authenticator app enrolled; recovery codes issued".to_owned()))
        })
    }

    /// Signing in, first step: name and password. Right → a session that still needs the code.
    /// Wrong, unknown or locked → the same refusal, audited; a wrong password counts toward the lock.
    pub fn admin_sign_in(&self, name: &str, password: &str, ip: IpAddr) -> ServiceResult<AdminSignedIn> {
        let now = self.now();
        let parsed: Option<AdminName> = name.parse().ok();
        let row = match &parsed {
            Some(name) => self.store.read(|tx| tx.admin(name))?,
            None => None,
        };
        let hash = row.as_ref().and_then(|row| row.password_hash.clone()).filter(|_| row_is_set_up(row.as_ref()));
        // Unknown names take as long as known ones: the hash is checked either way.
        let right = verify_password(hash.as_deref().unwrap_or_else(|| dummy_hash()), password) && hash.is_some();
        let Some(name) = parsed.filter(|_| hash.is_some()) else {
            let entry = self.sign_in_entry(None, ip, Err("no such administrator, or not set up"));
            self.store.write(|tx| tx.insert_audit(&entry))?;
            return Err(ServiceError::AdminSignIn);
        };
        let lockout = self.store.read(|tx| tx.settings())?.lockout();
        let token = new_token(self)?;
        let csrf = new_token(self)?;
        let result = self.store.write(|tx| {
            let decided = password_step(tx, &name, right, lockout, now)?;
            if decided.is_ok() {
                let session = AdminSessionRow {
                    admin: name.clone(),
                    stage: PASSWORD_ONLY.to_owned(),
                    csrf: csrf.to_string(),
                    created_at: now,
                    last_seen: now,
                };
                tx.insert_admin_session(&tx.key().code_hash(SESSION_CONTEXT, &token), &session)?;
            }
            tx.insert_audit(&self.sign_in_entry(Some(&name), ip, decided))?;
            Ok::<_, ServiceError>(decided)
        })?;
        result.map(|_| AdminSignedIn { token }).map_err(|_| ServiceError::AdminSignIn)
    }

    /// Signing in, second step: a code from the app (each step once) or a recovery code (each
    /// once). Right → the session is complete, under a new token; wrong → counted toward the lock.
    pub fn admin_second_step(&self, token: &str, csrf: &str, code: &str, ip: IpAddr) -> ServiceResult<AdminSignedIn> {
        let session = self.admin_session(token)?;
        session.check_csrf(csrf)?;
        let name = session.admin.name.clone();
        let passcode: Option<Passcode> = code.trim().parse().ok();
        let now = self.now();
        let lockout = self.store.read(|tx| tx.settings())?.lockout();
        let fresh = new_token(self)?;
        let result = self.store.write(|tx| {
            let decided = code_step(tx, &name, passcode.as_ref(), lockout, now)?;
            if decided.is_ok() {
                tx.end_admin_session(&tx.key().code_hash(SESSION_CONTEXT, token))?;
                let complete = AdminSessionRow {
                    admin: name.clone(),
                    stage: SIGNED_IN.to_owned(),
                    csrf: session.csrf.clone(),
                    created_at: now,
                    last_seen: now,
                };
                tx.insert_admin_session(&tx.key().code_hash(SESSION_CONTEXT, &fresh), &complete)?;
            }
            tx.insert_audit(&self.sign_in_entry(Some(&name), ip, decided))?;
            Ok::<_, ServiceError>(decided)
        })?;
        result.map(|_| AdminSignedIn { token: fresh }).map_err(|_| ServiceError::AdminSignIn)
    }

    /// The session of a browser's token, if it has not ended; its request is noted (the idle time
    /// starts again).
    pub fn admin_session(&self, token: &str) -> ServiceResult<AdminSession> {
        let now = self.now();
        self.store.write(|tx| {
            let idle = tx.settings()?.admin_idle_minutes * 60;
            let hash = tx.key().code_hash(SESSION_CONTEXT, token);
            let row = tx.admin_session(&hash, now - idle, now - SESSION_SECONDS)?.ok_or(ServiceError::AdminSession)?;
            let admin = tx.admin(&row.admin)?.ok_or(ServiceError::AdminSession)?.admin;
            tx.touch_admin_session(&hash, now)?;
            Ok(AdminSession { admin, csrf: row.csrf, complete: row.stage == SIGNED_IN })
        })
    }

    /// Ends the session of a browser's token (*Sign out*).
    pub fn admin_sign_out(&self, token: &str, csrf: &str) -> ServiceResult<()> {
        let session = self.admin_session(token)?;
        session.check_csrf(csrf)?;
        self.audited_as(&session.admin.name, "admin.signout", None, |tx| {
            tx.end_admin_session(&tx.key().code_hash(SESSION_CONTEXT, token))?;
            Ok(((), String::new()))
        })
    }

    /// [`Service::audited`] with the administrator as the actor.
    pub(super) fn audited_as<T>(
        &self,
        name: &AdminName,
        action: &str,
        mailbox: Option<&str>,
        f: impl FnOnce(&Tx<'_>) -> ServiceResult<(T, String)>,
    ) -> ServiceResult<T> {
        self.audited_by(&actor_of(name), action, mailbox, f)
    }

    /// The `admin.signin` entry of a step: `Ok` with how it went, or `Err` with why it was refused.
    fn sign_in_entry(&self, name: Option<&AdminName>, ip: IpAddr, decided: Decided) -> AuditEntry {
        let (outcome, detail) = match decided {
            Ok(how) => (AuditOutcome::Ok, how),
            Err(why) => (AuditOutcome::Refused, why),
        };
        AuditEntry {
            at: self.now(),
            actor: name.map_or(Actor::Service("web"), actor_of).to_string(),
            action: "admin.signin".to_owned(),
            ip: Some(ip.to_canonical().to_string()),
            outcome,
            detail: Some(detail.to_owned()),
            ..AuditEntry::default()
        }
    }
}

/// How a sign-in step went: `Ok` with how, or `Err` with why it was refused (audit details).
type Decided = Result<&'static str, &'static str>;

/// The password step inside its transaction: a locked account is refused without a look at the
/// password; a wrong password counts toward the lock (the mailboxes' rule).
fn password_step(
    tx: &Tx<'_>,
    name: &AdminName,
    right: bool,
    lockout: Lockout,
    now: UnixTime,
) -> ServiceResult<Decided> {
    let row = tx.admin(name)?.ok_or(ServiceError::AdminSignIn)?;
    if row.admin.locked_for(now).is_some() {
        return Ok(Err("locked; password not checked"));
    }
    if !right {
        let lock = lockout.lock_after(row.failures + 1, row.lock_count, now);
        tx.record_admin_failure(name, lock)?;
        return Ok(Err(if lock.is_some() { "wrong password; locked" } else { "wrong password" }));
    }
    Ok(Ok("password right; code next"))
}

/// The code step inside its transaction: a locked account is refused without a look at the code;
/// a right code clears the counter, a wrong one counts toward the lock.
fn code_step(
    tx: &Tx<'_>,
    name: &AdminName,
    passcode: Option<&Passcode>,
    lockout: Lockout,
    now: UnixTime,
) -> ServiceResult<Decided> {
    let row = tx.admin(name)?.ok_or(ServiceError::AdminSession)?;
    if row.admin.locked_for(now).is_some() {
        return Ok(Err("locked; code not checked"));
    }
    let accepted = match passcode {
        Some(passcode) => check_passcode(tx, &row, passcode, now)?,
        None => None,
    };
    let Some(how) = accepted else {
        let lock = lockout.lock_after(row.failures + 1, row.lock_count, now);
        tx.record_admin_failure(name, lock)?;
        return Ok(Err(if lock.is_some() { "wrong code; locked" } else { "wrong code" }));
    };
    tx.clear_admin_failures(name)?;
    Ok(Ok(how))
}

/// The administrator whose set-up link this is, while it works.
fn setup_row(tx: &Tx<'_>, token: &str, now: UnixTime) -> ServiceResult<AdminRow> {
    if token.len() != 48 {
        return Err(ServiceError::AdminSetupLink);
    }
    let hash = tx.key().code_hash(SETUP_CONTEXT, token);
    tx.admin_by_setup(&hash, now)?.ok_or(ServiceError::AdminSetupLink)
}

/// The set-up forms' token: bound to the link, so only someone who has the link can post them.
fn setup_csrf(tx: &Tx<'_>, token: &str) -> String {
    to_hex(&tx.key().code_hash("admin_setup_csrf", token))
}

fn check_setup_csrf(tx: &Tx<'_>, token: &str, sent: &str) -> ServiceResult<()> {
    if constant_time_eq(setup_csrf(tx, token).as_bytes(), sent.as_bytes()) {
        Ok(())
    } else {
        Err(ServiceError::StaleForm)
    }
}

fn row_is_set_up(row: Option<&AdminRow>) -> bool {
    row.is_some_and(|row| row.admin.set_up)
}

/// How the code was right (`totp` or `recovery code`), or `None`.
fn check_passcode(
    tx: &Tx<'_>,
    row: &AdminRow,
    passcode: &Passcode,
    now: UnixTime,
) -> ServiceResult<Option<&'static str>> {
    let name = &row.admin.name;
    match passcode {
        Passcode::Code(code) => {
            let Some(secret) = tx.admin_secret(name)? else { return Ok(None) };
            match totp::matching_step(&secret, code, now, row.totp_last_step) {
                Some(step) => {
                    tx.accept_admin_step(name, step)?;
                    Ok(Some("code right; signed in"))
                }
                None => Ok(None),
            }
        }
        Passcode::Letters(letters) => {
            let hash = tx.key().code_hash(&recovery_context(name), letters.letters());
            let used = tx.use_admin_recovery_code(name, &hash, now)?;
            Ok(used.then_some("recovery code right; signed in"))
        }
    }
}

/// Ten new recovery codes for the administrator (only their keyed hashes kept).
fn issue_codes(service: &Service, tx: &Tx<'_>, name: &AdminName, now: UnixTime) -> ServiceResult<Vec<LetterCode>> {
    let codes = crate::service::engine::new_recovery_codes(service.world.random.as_ref())?;
    let context = recovery_context(name);
    let hashes: Vec<Vec<u8>> = codes.iter().map(|code| tx.key().code_hash(&context, code.letters())).collect();
    tx.replace_admin_recovery_codes(name, &hashes, now)?;
    Ok(codes)
}

fn recovery_context(name: &AdminName) -> String {
    format!("admin_recovery:{name}")
}

/// The Argon2id hash (PHC string) of a password, with a fresh salt.
fn hash_password(service: &Service, password: &AdminPassword) -> ServiceResult<String> {
    let mut salt = [0u8; 16];
    service.world.random.fill(&mut salt)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| ServiceError::PasswordHash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| ServiceError::PasswordHash(e.to_string()))
}

fn verify_password(stored: &str, password: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
}

/// A hash no password matches in practice, checked for names that have none, so an unknown name
/// takes as long as a known one.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let Ok(salt) = SaltString::encode_b64(b"mailmfa-no-admin") else { return String::new() };
        let hashed = Argon2::default().hash_password(b"no administrator has this password", &salt);
        hashed.map(|hash| hash.to_string()).unwrap_or_default()
    })
}
