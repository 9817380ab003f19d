//! Web administrators' rows (docs/DESIGN.md §12): the account with its Argon2id password hash,
//! sealed TOTP secret, failure counter and lock, and set-up link (a keyed hash); their recovery
//! codes and their browsers' sessions (keyed hashes only). No policy.

use zeroize::Zeroizing;

use super::sql::Row;
use super::{StoreResult, Tx, parse_stored};
use crate::clock::UnixTime;
use crate::domain::{AdminName, AdminRole, Administrator, EnrolmentState, PostOfficeName};

/// An administrator as stored, secrets still sealed or hashed.
#[derive(Debug, Clone)]
pub struct AdminRow {
    /// Who they are and what they may do.
    pub admin: Administrator,
    /// The Argon2id hash (PHC string) of their password, once chosen.
    pub password_hash: Option<String>,
    /// The last TOTP step accepted.
    pub totp_last_step: Option<i64>,
    /// Consecutive wrong passwords and codes.
    pub failures: i64,
    /// Locks since the last success.
    pub lock_count: i64,
}

/// A browser's session as stored.
#[derive(Debug, Clone)]
pub struct AdminSessionRow {
    /// Whose.
    pub admin: AdminName,
    /// `password` (the code is still to come) or `signed_in`.
    pub stage: String,
    /// The token its forms carry.
    pub csrf: String,
    /// When it began.
    pub created_at: UnixTime,
    /// Its last request.
    pub last_seen: UnixTime,
}

const COLUMNS: &str = "name, role, postoffices, password_hash, totp_state, totp_last_step, failures, lock_count,
        locked_until, created_at";

fn admin_row(r: &Row) -> StoreResult<AdminRow> {
    let postoffices: String = r.get("postoffices")?;
    let postoffices = postoffices
        .split(',')
        .filter(|name| !name.is_empty())
        .map(parse_stored::<PostOfficeName>)
        .collect::<StoreResult<Vec<_>>>()?;
    let enrolment: EnrolmentState = parse_stored(&r.get::<String>("totp_state")?)?;
    Ok(AdminRow {
        admin: Administrator {
            name: parse_stored(&r.get::<String>("name")?)?,
            role: parse_stored::<AdminRole>(&r.get::<String>("role")?)?,
            postoffices,
            set_up: enrolment == EnrolmentState::Active,
            created_at: r.get("created_at")?,
            locked_until: r.get("locked_until")?,
        },
        password_hash: r.get("password_hash")?,
        totp_last_step: r.get("totp_last_step")?,
        failures: r.get("failures")?,
        lock_count: r.get("lock_count")?,
    })
}

fn secret_context(name: &AdminName) -> String {
    format!("administrator:{name}:totp_secret")
}

impl Tx<'_> {
    /// Adds an administrator with a set-up link; `false` when one of that name exists.
    pub fn insert_admin(
        &self,
        admin: &Administrator,
        setup_hash: &[u8],
        setup_expires_at: UnixTime,
    ) -> StoreResult<bool> {
        let postoffices = admin.postoffices.iter().map(PostOfficeName::as_str).collect::<Vec<_>>().join(",");
        let inserted = self.execute(
            "INSERT INTO administrator (name, role, postoffices, setup_hash, setup_expires_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (name) DO NOTHING",
            &[
                &admin.name.as_str(),
                &admin.role.word(),
                &postoffices,
                &setup_hash,
                &setup_expires_at,
                &admin.created_at,
            ],
        )?;
        Ok(inserted == 1)
    }

    /// The administrator whose set-up link has this keyed hash, while it works at `now`.
    pub fn admin_by_setup(&self, setup_hash: &[u8], now: UnixTime) -> StoreResult<Option<AdminRow>> {
        self.query_opt(
            &format!("SELECT {COLUMNS} FROM administrator WHERE setup_hash = ?1 AND setup_expires_at > ?2"),
            &[&setup_hash, &now],
        )?
        .as_ref()
        .map(admin_row)
        .transpose()
    }

    /// Every administrator, by name.
    pub fn admins(&self) -> StoreResult<Vec<AdminRow>> {
        self.query(&format!("SELECT {COLUMNS} FROM administrator ORDER BY name"), &[])?.iter().map(admin_row).collect()
    }

    /// The administrator of that name.
    pub fn admin(&self, name: &AdminName) -> StoreResult<Option<AdminRow>> {
        self.query_opt(&format!("SELECT {COLUMNS} FROM administrator WHERE name = ?1"), &[&name.as_str()])?
            .as_ref()
            .map(admin_row)
            .transpose()
    }

    /// Removes an administrator (their sessions and codes go with them); `false` when there is none.
    pub fn delete_admin(&self, name: &AdminName) -> StoreResult<bool> {
        Ok(self.execute("DELETE FROM administrator WHERE name = ?1", &[&name.as_str()])? == 1)
    }

    /// Starts the set-up again: password, secret, codes, sessions and lock forgotten, a new link.
    pub fn reset_admin(&self, name: &AdminName, setup_hash: &[u8], setup_expires_at: UnixTime) -> StoreResult<bool> {
        let changed = self.execute(
            "UPDATE administrator SET password_hash = NULL, totp_secret = NULL, totp_state = 'none',
                    totp_last_step = NULL, setup_hash = ?2, setup_expires_at = ?3, failures = 0, lock_count = 0,
                    locked_until = NULL WHERE name = ?1",
            &[&name.as_str(), &setup_hash, &setup_expires_at],
        )?;
        self.execute("DELETE FROM admin_recovery_code WHERE admin = ?1", &[&name.as_str()])?;
        self.execute("DELETE FROM admin_session WHERE admin = ?1", &[&name.as_str()])?;
        Ok(changed == 1)
    }

    /// Stores the password chosen in the set-up and a pending TOTP secret, sealed to the administrator.
    pub fn set_admin_credentials(&self, name: &AdminName, password_hash: &str, secret: &[u8]) -> StoreResult<()> {
        let sealed = self.key().seal(&secret_context(name), secret)?;
        self.execute(
            "UPDATE administrator SET password_hash = ?2, totp_secret = ?3, totp_state = 'pending',
                    totp_last_step = NULL WHERE name = ?1",
            &[&name.as_str(), &password_hash, &sealed],
        )?;
        Ok(())
    }

    /// The administrator's TOTP secret, unsealed, if they have one.
    pub fn admin_secret(&self, name: &AdminName) -> StoreResult<Option<Zeroizing<Vec<u8>>>> {
        let sealed: Option<Vec<u8>> = self
            .query_opt("SELECT totp_secret FROM administrator WHERE name = ?1", &[&name.as_str()])?
            .map(|r| r.get("totp_secret"))
            .transpose()?
            .flatten();
        sealed.map(|sealed| Ok(self.key().open(&secret_context(name), &sealed)?)).transpose()
    }

    /// Ends the set-up: the secret becomes active at `step`, the link stops working.
    pub fn finish_admin_setup(&self, name: &AdminName, step: i64) -> StoreResult<()> {
        self.execute(
            "UPDATE administrator SET totp_state = 'active', totp_last_step = ?2, setup_hash = NULL,
                    setup_expires_at = NULL, failures = 0, lock_count = 0, locked_until = NULL WHERE name = ?1",
            &[&name.as_str(), &step],
        )?;
        Ok(())
    }

    /// Records an accepted TOTP step (never accepted again).
    pub fn accept_admin_step(&self, name: &AdminName, step: i64) -> StoreResult<()> {
        self.execute("UPDATE administrator SET totp_last_step = ?2 WHERE name = ?1", &[&name.as_str(), &step])?;
        Ok(())
    }

    /// Counts a wrong password or code: the counter grows, or — with `lock_until` — the account
    /// locks until then and the counter starts again (the mailboxes' rule).
    pub fn record_admin_failure(&self, name: &AdminName, lock_until: Option<UnixTime>) -> StoreResult<()> {
        match lock_until {
            Some(until) => self.execute(
                "UPDATE administrator SET failures = 0, lock_count = lock_count + 1, locked_until = ?2 WHERE name = ?1",
                &[&name.as_str(), &until],
            )?,
            None => {
                self.execute("UPDATE administrator SET failures = failures + 1 WHERE name = ?1", &[&name.as_str()])?
            }
        };
        Ok(())
    }

    /// Clears the counter and the lock after a complete sign-in.
    pub fn clear_admin_failures(&self, name: &AdminName) -> StoreResult<()> {
        self.execute(
            "UPDATE administrator SET failures = 0, lock_count = 0, locked_until = NULL WHERE name = ?1",
            &[&name.as_str()],
        )?;
        Ok(())
    }

    /// Replaces the administrator's recovery codes with these keyed hashes.
    pub fn replace_admin_recovery_codes(&self, name: &AdminName, hashes: &[Vec<u8>], now: UnixTime) -> StoreResult<()> {
        self.execute("DELETE FROM admin_recovery_code WHERE admin = ?1", &[&name.as_str()])?;
        for hash in hashes {
            self.execute(
                "INSERT INTO admin_recovery_code (admin, hash, issued_at) VALUES (?1, ?2, ?3)",
                &[&name.as_str(), hash, &now],
            )?;
        }
        Ok(())
    }

    /// Uses up the unused recovery code with this hash: whether there was one.
    pub fn use_admin_recovery_code(&self, name: &AdminName, hash: &[u8], now: UnixTime) -> StoreResult<bool> {
        let changed = self.execute(
            "UPDATE admin_recovery_code SET used_at = ?3 WHERE admin = ?1 AND hash = ?2 AND used_at IS NULL",
            &[&name.as_str(), &hash, &now],
        )?;
        Ok(changed == 1)
    }

    /// Starts a session (the keyed hash of its token).
    pub fn insert_admin_session(&self, token_hash: &[u8], session: &AdminSessionRow) -> StoreResult<()> {
        self.execute(
            "INSERT INTO admin_session (token_hash, admin, stage, csrf, created_at, last_seen)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &[
                &token_hash,
                &session.admin.as_str(),
                &session.stage,
                &session.csrf,
                &session.created_at,
                &session.last_seen,
            ],
        )?;
        Ok(())
    }

    /// The session with this token hash; sessions idle since before `idle_since` or begun before
    /// `begun_since` are forgotten on the way.
    pub fn admin_session(
        &self,
        token_hash: &[u8],
        idle_since: UnixTime,
        begun_since: UnixTime,
    ) -> StoreResult<Option<AdminSessionRow>> {
        self.execute(
            "DELETE FROM admin_session WHERE last_seen < ?1 OR created_at < ?2",
            &[&idle_since, &begun_since],
        )?;
        self.query_opt(
            "SELECT admin, stage, csrf, created_at, last_seen FROM admin_session WHERE token_hash = ?1",
            &[&token_hash],
        )?
        .map(|r| {
            Ok(AdminSessionRow {
                admin: parse_stored(&r.get::<String>("admin")?)?,
                stage: r.get("stage")?,
                csrf: r.get("csrf")?,
                created_at: r.get("created_at")?,
                last_seen: r.get("last_seen")?,
            })
        })
        .transpose()
    }

    /// Notes a session's request.
    pub fn touch_admin_session(&self, token_hash: &[u8], now: UnixTime) -> StoreResult<()> {
        self.execute("UPDATE admin_session SET last_seen = ?2 WHERE token_hash = ?1", &[&token_hash, &now])?;
        Ok(())
    }

    /// Ends a session.
    pub fn end_admin_session(&self, token_hash: &[u8]) -> StoreResult<()> {
        self.execute("DELETE FROM admin_session WHERE token_hash = ?1", &[&token_hash])?;
        Ok(())
    }
}
