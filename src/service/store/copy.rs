//! `mailmfa store copy`: every row of one store into another — SQLite to PostgreSQL and back —
//! in one transaction on the target, with the source's identity, so the same key opens the copy
//! and every sealed secret still opens. Counts are checked before the commit.

use std::collections::HashMap;

use super::platform::Version;
use super::sql::{Arg, Conn, Dialect, Kind, Row, ToArg};
use super::{Store, StoreError, StoreResult, Tx, read_identity, write_identity_check};

/// The tables of a store, parents before the tables that refer to them. `meta` is not copied as
/// it is: the target keeps its own schema version and mode, and takes the source's identity.
const TABLES: &[&str] = &[
    "postoffice",
    "mailbox",
    "known_ip",
    "known_country",
    "provider",
    "setting",
    "otp_code",
    "code_send",
    "audit",
    "api_client",
    "login_transaction",
    "signin",
    "signin_ticket",
    "recovery_code",
    "remembered_device",
    "notification",
    "step_up",
    "app_password",
    "passkey",
    "passkey_ceremony",
    "administrator",
    "admin_recovery_code",
    "admin_session",
];

/// The tables whose identity column the target numbers on from the copied rows (PostgreSQL).
const NUMBERED: &[&str] = &["postoffice", "mailbox", "audit", "notification"];

/// What a copy did: how many rows of each table it copied.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CopySummary {
    /// The store id the copy carries (its key file is the source's).
    pub store_id: String,
    /// Rows per table, in copy order.
    pub tables: Vec<(String, i64)>,
}

impl CopySummary {
    /// The counts in words, for the audit log: "2 post offices, 10 mailboxes, …".
    pub fn describe(&self) -> String {
        self.tables.iter().map(|(table, n)| format!("{n} {table}")).collect::<Vec<_>>().join(", ")
    }
}

impl Store {
    /// Copies every row of this store into `target` in one transaction on the target, replacing
    /// what it holds only if `replace`. `before_commit` runs in the target's transaction after the
    /// rows are in (the audit entry of the copy). Returns what was copied, and the id the target
    /// had before (its key file is no longer needed unless it is the source's).
    pub fn copy_into<E: From<StoreError>>(
        &self,
        target: &Store,
        replace: bool,
        before_commit: impl FnOnce(&Tx<'_>, &CopySummary) -> Result<(), E>,
    ) -> Result<CopySummary, E> {
        // Everything of the source from one snapshot.
        let (identity, settings_version, rows) = self.read(|tx| -> StoreResult<_> {
            let identity = read_identity(tx.conn)?
                .ok_or_else(|| StoreError::Corrupt("the source store has no identity".to_owned()))?;
            let rows = TABLES
                .iter()
                .map(|table| Ok((*table, tx.query(&format!("SELECT * FROM {table}"), &[])?)))
                .collect::<StoreResult<Vec<(&str, Vec<Row>)>>>()?;
            Ok((identity, tx.settings_version()?, rows))
        })?;
        target.write(|tx| {
            let held = held_rows(tx.conn)?;
            if held > 0 && !replace {
                return Err(StoreError::NotEmpty { rows: held }.into());
            }
            for table in TABLES.iter().rev() {
                tx.execute(&format!("DELETE FROM {table}"), &[])?;
            }
            let mut summary = CopySummary { store_id: identity.0.clone(), tables: Vec::new() };
            for (table, rows) in &rows {
                insert_rows(tx.conn, table, rows)?;
                let copied: i64 = tx.query_one(&format!("SELECT count(*) AS n FROM {table}"), &[])?.get("n")?;
                if copied != rows.len() as i64 {
                    return Err(StoreError::Corrupt(format!(
                        "{table}: {} rows read but {copied} in the target; nothing was copied",
                        rows.len()
                    ))
                    .into());
                }
                summary.tables.push(((*table).to_owned(), copied));
            }
            if tx.dialect() == Dialect::Postgres {
                for table in NUMBERED {
                    tx.query_one(
                        &format!(
                            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false)
                             AS next FROM {table}"
                        ),
                        &[],
                    )?;
                }
            }
            tx.execute("DELETE FROM meta WHERE key IN ('store_id', 'key_check', 'settings_version')", &[])?;
            write_identity_check(tx.conn, &identity.0, &identity.1)?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('settings_version', ?1)",
                &[&settings_version.to_string()],
            )?;
            // A process serving the target kept its API clients verified: they changed.
            tx.bump_version(Version::Clients)?;
            before_commit(tx, &summary)?;
            Ok(summary)
        })
    }
}

/// How many rows a store holds beyond what a new store has (its providers and identity).
fn held_rows(conn: Conn<'_>) -> StoreResult<i64> {
    TABLES.iter().filter(|t| **t != "provider").try_fold(0, |sum, table| {
        let n: i64 = conn.query_one(&format!("SELECT count(*) AS n FROM {table}"), &[])?.get("n")?;
        Ok(sum + n)
    })
}

/// Inserts `rows` (as read from the source) into `table`, each value bound with the kind of the
/// target's column, so a `NULL` has a type a database server accepts.
fn insert_rows(conn: Conn<'_>, table: &str, rows: &[Row]) -> StoreResult<()> {
    let Some(first) = rows.first() else { return Ok(()) };
    let kinds = column_kinds(conn, table)?;
    let names = first.names();
    let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
    let sql = format!("INSERT INTO {table} ({}) VALUES ({})", names.join(", "), placeholders.join(", "));
    let column_kinds: Vec<Kind> = names.iter().map(|n| kinds.get(n).copied().unwrap_or(Kind::Text)).collect();
    for row in rows {
        let args: Vec<Arg<'_>> = row.values().iter().zip(&column_kinds).map(|(v, k)| v.as_arg(*k)).collect();
        let refs: Vec<&dyn ToArg> = args.iter().map(|a| a as &dyn ToArg).collect();
        conn.execute(&sql, &refs)?;
    }
    Ok(())
}

/// The kind of each column of `table` in this store's schema.
fn column_kinds(conn: Conn<'_>, table: &str) -> StoreResult<HashMap<String, Kind>> {
    let sql = match conn.dialect() {
        Dialect::Sqlite => format!("SELECT name, type FROM pragma_table_info('{table}')"),
        Dialect::Postgres => format!(
            "SELECT CAST(column_name AS TEXT) AS name, CAST(data_type AS TEXT) AS type FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = '{table}'"
        ),
    };
    conn.query(&sql, &[])?
        .iter()
        .map(|r| {
            let kind = match r.get::<String>("type")?.to_ascii_lowercase().as_str() {
                "integer" | "bigint" => Kind::Int,
                "blob" | "bytea" => Kind::Blob,
                _ => Kind::Text,
            };
            Ok((r.get("name")?, kind))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table added by a migration but not to [`TABLES`] would be left behind by every copy.
    #[test]
    fn every_table_of_the_schema_is_copied() {
        let store = Store::open_in_memory().unwrap();
        let mut schema: Vec<String> = store
            .read(|tx| {
                tx.query("SELECT name FROM sqlite_schema WHERE type = 'table' AND name <> 'meta' ORDER BY name", &[])
            })
            .unwrap()
            .iter()
            .map(|r| r.get("name").unwrap())
            .collect();
        let mut copied: Vec<String> = TABLES.iter().map(|t| (*t).to_owned()).collect();
        schema.sort();
        copied.sort();
        assert_eq!(copied, schema);
    }
}
