//! Schema migrations: SQL files applied in order, all in one transaction, with the schema version
//! in `PRAGMA user_version`. A failed migration rolls back and leaves the data as it was.

use rusqlite::{Connection, Transaction, TransactionBehavior};

use rusqlite::params;

use super::{StoreError, StoreMode, StoreResult};

/// The migrations, oldest first; migration N brings the schema to version N.
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_enrolment_age.sql"),
    include_str!("migrations/0003_login_service.sql"),
    include_str!("migrations/0004_signin_pages.sql"),
    include_str!("migrations/0005_trust.sql"),
    include_str!("migrations/0006_access_pass.sql"),
    include_str!("migrations/0007_recovery_codes.sql"),
    include_str!("migrations/0008_remembered_devices.sql"),
    include_str!("migrations/0009_notifications.sql"),
    include_str!("migrations/0010_signin_held_code.sql"),
    include_str!("migrations/0011_notification_attempts.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The schema version of an open database (0 for an empty file).
pub(crate) fn schema_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Brings the database to the last of `migrations`, in a transaction of its own, and records
/// `mode` as the store's mode if it records none yet (a store made before stores did).
pub(crate) fn migrate(conn: &Connection, migrations: &[&str], mode: StoreMode) -> StoreResult<()> {
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    migrate_in(&tx, migrations)?;
    tx.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('mode', ?1)", params![mode.word()])?;
    tx.commit()?;
    Ok(())
}

/// Brings the database to the last of `migrations` inside the caller's transaction.
pub(crate) fn migrate_in(tx: &Connection, migrations: &[&str]) -> StoreResult<()> {
    let current = schema_version(tx)?;
    let target = migrations.len() as i64;
    if current > target {
        return Err(StoreError::NewerSchema {
            path: tx.path().unwrap_or("(memory)").to_owned(),
            found: current,
            supported: target,
        });
    }
    for (index, sql) in migrations.iter().enumerate().skip(current as usize) {
        tx.execute_batch(sql)
            .map_err(|e| StoreError::Corrupt(format!("migration to schema {} failed: {e}", index + 1)))?;
    }
    tx.pragma_update(None, "user_version", target)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_to_an_empty_database_and_validate() {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn, MIGRATIONS, StoreMode::Local).unwrap();
        assert_eq!(schema_version(&conn).unwrap(), SCHEMA_VERSION);
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
        migrate(&conn, MIGRATIONS, StoreMode::Local).unwrap();
        let providers: i64 = conn.query_row("SELECT count(*) FROM provider", [], |r| r.get(0)).unwrap();
        assert_eq!(providers, 3);
    }

    #[test]
    fn a_failed_migration_leaves_the_data_as_it_was() {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn, MIGRATIONS, StoreMode::Local).unwrap();
        conn.execute("INSERT INTO postoffice (name, created_at) VALUES ('example.com', 0)", []).unwrap();
        let mut broken = MIGRATIONS.to_vec();
        broken.push("ALTER TABLE postoffice ADD COLUMN note TEXT; DROP TABLE mailbox; SELECT * FROM no_such_table;");
        let err = migrate(&conn, &broken, StoreMode::Local).unwrap_err();
        let failed = format!("migration to schema {} failed", SCHEMA_VERSION + 1);
        assert!(err.to_string().contains(&failed), "{err}");
        assert_eq!(schema_version(&conn).unwrap(), SCHEMA_VERSION);
        let mailboxes: i64 = conn.query_row("SELECT count(*) FROM mailbox", [], |r| r.get(0)).unwrap();
        assert_eq!(mailboxes, 0);
        let name: String = conn.query_row("SELECT name FROM postoffice", [], |r| r.get(0)).unwrap();
        assert_eq!(name, "example.com");
        assert!(conn.prepare("SELECT note FROM postoffice").is_err());
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        assert!(matches!(migrate(&conn, MIGRATIONS, StoreMode::Local), Err(StoreError::NewerSchema { .. })));
    }
}
