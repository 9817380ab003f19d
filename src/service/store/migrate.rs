//! Schema migrations: one list, each step written for SQLite (`migrations/*.sql`) and for
//! PostgreSQL (`migrations/postgres/*.sql`) with the same meaning, applied in order inside the
//! caller's transaction. The schema version is SQLite's `PRAGMA user_version`, or the
//! `schema_version` row of `meta` on a database server. A failed migration rolls back and leaves
//! the data as it was.

use super::sql::{Conn, Dialect};
use super::{StoreError, StoreResult};

/// One step of the schema, in each back end's SQL.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Migration {
    /// The step for SQLite.
    pub sqlite: &'static str,
    /// The same step for PostgreSQL.
    pub postgres: &'static str,
}

impl Migration {
    fn sql(&self, dialect: Dialect) -> &'static str {
        match dialect {
            Dialect::Sqlite => self.sqlite,
            Dialect::Postgres => self.postgres,
        }
    }
}

macro_rules! migration {
    ($name:literal) => {
        Migration {
            sqlite: include_str!(concat!("migrations/", $name, ".sql")),
            postgres: include_str!(concat!("migrations/postgres/", $name, ".sql")),
        }
    };
}

/// The migrations, oldest first; migration N brings the schema to version N.
pub(crate) const MIGRATIONS: &[Migration] = &[
    migration!("0001_initial"),
    migration!("0002_enrolment_age"),
    migration!("0003_login_service"),
    migration!("0004_signin_pages"),
    migration!("0005_trust"),
    migration!("0006_access_pass"),
    migration!("0007_recovery_codes"),
    migration!("0008_remembered_devices"),
    migration!("0009_notifications"),
    migration!("0010_signin_held_code"),
    migration!("0011_notification_attempts"),
    migration!("0012_words_unchecked"),
    migration!("0013_hardening"),
    migration!("0014_mail_programs"),
    migration!("0015_administrators"),
    migration!("0016_actor_kinds"),
    migration!("0017_metrics_clients"),
    migration!("0018_passkeys"),
    migration!("0019_passkey_ceremonies"),
];

/// Whether the database on a server has the store's `meta` table. Read from the catalog in the
/// statement's snapshot (`to_regclass` may answer from a cache that has not yet seen another
/// server create the store).
const HAS_META: &str = "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables
                         WHERE schemaname = current_schema() AND tablename = 'meta') AS present";

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The schema version of an open database (0 for an empty one).
pub(crate) fn schema_version(conn: Conn<'_>) -> StoreResult<i64> {
    let sql = match conn.dialect() {
        Dialect::Sqlite => "SELECT user_version AS version FROM pragma_user_version",
        Dialect::Postgres => {
            if !conn.query_one(HAS_META, &[])?.get::<bool>("present")? {
                return Ok(0);
            }
            "SELECT CAST(value AS BIGINT) AS version FROM meta WHERE key = 'schema_version'"
        }
    };
    conn.query_opt(sql, &[])?.map_or(Ok(0), |row| row.get("version"))
}

/// Brings the database to the last of `migrations` inside the caller's transaction.
pub(crate) fn migrate_in(conn: Conn<'_>, migrations: &[Migration]) -> StoreResult<()> {
    let current = schema_version(conn)?;
    let target = migrations.len() as i64;
    if current > target {
        return Err(StoreError::NewerSchema { path: "(this store)".to_owned(), found: current, supported: target });
    }
    for (index, step) in migrations.iter().enumerate().skip(current as usize) {
        conn.batch(step.sql(conn.dialect()))
            .map_err(|e| StoreError::Corrupt(format!("migration to schema {} failed: {e}", index + 1)))?;
        if conn.dialect() == Dialect::Sqlite {
            // A step may edit table definitions in place (0012): a new schema cookie makes every
            // connection, this one included, read them again before the next step.
            let cookie: i64 =
                conn.query_one("SELECT schema_version AS cookie FROM pragma_schema_version", &[])?.get("cookie")?;
            conn.batch(&format!("PRAGMA schema_version = {}", cookie + 1))?;
        }
    }
    match conn.dialect() {
        Dialect::Sqlite => conn.batch(&format!("PRAGMA user_version = {target}"))?,
        Dialect::Postgres => {
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&target.to_string()],
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rusqlite::{Connection, Transaction, TransactionBehavior};

    use super::*;

    fn migrate(conn: &Connection, migrations: &[Migration]) -> StoreResult<()> {
        let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
        migrate_in(Conn::Sqlite(&tx), migrations)?;
        tx.commit()?;
        Ok(())
    }

    fn version(conn: &Connection) -> i64 {
        schema_version(Conn::Sqlite(conn)).unwrap()
    }

    #[test]
    fn migrations_apply_to_an_empty_database_and_validate() {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn, MIGRATIONS).unwrap();
        assert_eq!(version(&conn), SCHEMA_VERSION);
        let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok");
        let fk: Vec<String> = conn
            .prepare("PRAGMA foreign_key_check")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(fk.is_empty());
        migrate(&conn, MIGRATIONS).unwrap();
        let providers: i64 = conn.query_row("SELECT count(*) FROM provider", [], |r| r.get(0)).unwrap();
        assert_eq!(providers, 4);
    }

    #[test]
    fn a_failed_migration_leaves_the_data_as_it_was() {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn, MIGRATIONS).unwrap();
        conn.execute("INSERT INTO postoffice (name, created_at) VALUES ('example.com', 0)", []).unwrap();
        let mut broken = MIGRATIONS.to_vec();
        broken.push(Migration {
            sqlite: "ALTER TABLE postoffice ADD COLUMN note TEXT; DROP TABLE mailbox; SELECT * FROM no_such_table;",
            postgres: "",
        });
        let err = migrate(&conn, &broken).unwrap_err();
        let failed = format!("migration to schema {} failed", SCHEMA_VERSION + 1);
        assert!(err.to_string().contains(&failed), "{err}");
        assert_eq!(version(&conn), SCHEMA_VERSION);
        let mailboxes: i64 = conn.query_row("SELECT count(*) FROM mailbox", [], |r| r.get(0)).unwrap();
        assert_eq!(mailboxes, 0);
        let name: String = conn.query_row("SELECT name FROM postoffice", [], |r| r.get(0)).unwrap();
        assert_eq!(name, "example.com");
        assert!(conn.prepare("SELECT note FROM postoffice").is_err());
    }

    #[test]
    fn words_are_checked_by_the_domain_not_by_the_tables() {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn, &MIGRATIONS[..11]).unwrap();
        conn.execute("INSERT INTO postoffice (name, created_at) VALUES ('example.com', 0)", []).unwrap();
        let new_word = "UPDATE postoffice SET challenge = 'outside-trusted-networks'";
        assert!(conn.execute(new_word, []).is_err(), "before 0012 the table lists the words");
        migrate(&conn, MIGRATIONS).unwrap();
        conn.execute(new_word, []).unwrap();
        conn.execute("UPDATE provider SET name = 'security-key' WHERE name = 'smtp'", []).unwrap();
        let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok");
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        assert!(matches!(migrate(&conn, MIGRATIONS), Err(StoreError::NewerSchema { .. })));
    }
}
