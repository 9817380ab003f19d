//! One way to run a statement on either back end. The typed queries are written once, in the SQL
//! both SQLite and PostgreSQL understand, with `?N` parameters; here they run on a SQLite
//! connection, or are rewritten to `$N` and prepared (once per connection) on PostgreSQL with
//! the parameter types the Rust values give. Rows come back as [`Row`]s read by column name.

use std::sync::Arc;

use rusqlite::types::{ToSqlOutput, ValueRef};

use super::postgres::PgConn;
use super::{StoreError, StoreResult};

/// Which SQL a connection speaks, for the few statements written twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The type of a parameter, known even when its value is `NULL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A 64-bit integer (also a boolean, stored as 0 or 1).
    Int,
    /// Text.
    Text,
    /// Bytes.
    Blob,
}

/// One parameter of a statement.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    /// `NULL` of a kind.
    Null(Kind),
    /// An integer.
    Int(i64),
    /// Text.
    Text(&'a str),
    /// Bytes.
    Blob(&'a [u8]),
}

impl Arg<'_> {
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Self::Null(kind) => *kind,
            Self::Int(_) => Kind::Int,
            Self::Text(_) => Kind::Text,
            Self::Blob(_) => Kind::Blob,
        }
    }
}

/// A Rust value that can be a parameter.
pub trait ToArg {
    /// The value as a parameter.
    fn arg(&self) -> Arg<'_>;
}

/// The kind of a parameter type, for its `NULL`.
pub trait Typed {
    /// The kind.
    const KIND: Kind;
}

impl ToArg for i64 {
    fn arg(&self) -> Arg<'_> {
        Arg::Int(*self)
    }
}

impl Typed for i64 {
    const KIND: Kind = Kind::Int;
}

impl ToArg for bool {
    fn arg(&self) -> Arg<'_> {
        Arg::Int(i64::from(*self))
    }
}

impl Typed for bool {
    const KIND: Kind = Kind::Int;
}

impl ToArg for str {
    fn arg(&self) -> Arg<'_> {
        Arg::Text(self)
    }
}

impl Typed for str {
    const KIND: Kind = Kind::Text;
}

impl ToArg for String {
    fn arg(&self) -> Arg<'_> {
        Arg::Text(self)
    }
}

impl Typed for String {
    const KIND: Kind = Kind::Text;
}

impl ToArg for [u8] {
    fn arg(&self) -> Arg<'_> {
        Arg::Blob(self)
    }
}

impl Typed for [u8] {
    const KIND: Kind = Kind::Blob;
}

impl ToArg for Vec<u8> {
    fn arg(&self) -> Arg<'_> {
        Arg::Blob(self)
    }
}

impl Typed for Vec<u8> {
    const KIND: Kind = Kind::Blob;
}

impl ToArg for Arg<'_> {
    fn arg(&self) -> Arg<'_> {
        *self
    }
}

impl<T: ToArg + ?Sized> ToArg for &T {
    fn arg(&self) -> Arg<'_> {
        (**self).arg()
    }
}

impl<T: Typed + ?Sized> Typed for &T {
    const KIND: Kind = T::KIND;
}

impl<T: ToArg + Typed> ToArg for Option<T> {
    fn arg(&self) -> Arg<'_> {
        self.as_ref().map_or(Arg::Null(T::KIND), ToArg::arg)
    }
}

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            Self::Null(_) => ValueRef::Null,
            Self::Int(i) => ValueRef::Integer(i),
            Self::Text(t) => ValueRef::Text(t.as_bytes()),
            Self::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `NULL`.
    Null,
    /// An integer (a PostgreSQL boolean reads as 0 or 1).
    Int(i64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

impl Value {
    fn of_sqlite(value: ValueRef<'_>) -> StoreResult<Self> {
        Ok(match value {
            ValueRef::Null => Self::Null,
            ValueRef::Integer(i) => Self::Int(i),
            ValueRef::Text(t) => Self::Text(
                String::from_utf8(t.to_vec()).map_err(|_| StoreError::Corrupt("a text value is not UTF-8".into()))?,
            ),
            ValueRef::Blob(b) => Self::Blob(b.to_vec()),
            ValueRef::Real(r) => return Err(StoreError::Corrupt(format!("an unexpected real number {r}"))),
        })
    }

    /// The value as a parameter (for copying rows between stores).
    pub(crate) fn as_arg(&self, kind: Kind) -> Arg<'_> {
        match self {
            Self::Null => Arg::Null(kind),
            Self::Int(i) => Arg::Int(*i),
            Self::Text(t) => Arg::Text(t),
            Self::Blob(b) => Arg::Blob(b),
        }
    }
}

/// A Rust type a column can be read as.
pub trait FromValue: Sized {
    /// The column's value as this type, or `None` when it is of another type.
    fn from_value(value: &Value) -> Option<Self>;
    /// What the type is called in an error.
    const WHAT: &'static str;
}

impl FromValue for i64 {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
    const WHAT: &'static str = "an integer";
}

impl FromValue for bool {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Int(i) => Some(*i != 0),
            _ => None,
        }
    }
    const WHAT: &'static str = "a boolean";
}

impl FromValue for String {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Text(t) => Some(t.clone()),
            _ => None,
        }
    }
    const WHAT: &'static str = "text";
}

impl FromValue for Vec<u8> {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Blob(b) => Some(b.clone()),
            _ => None,
        }
    }
    const WHAT: &'static str = "bytes";
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
    const WHAT: &'static str = T::WHAT;
}

/// One row of a result, read by column name.
#[derive(Debug, Clone)]
pub struct Row {
    names: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    pub(crate) fn new(names: Arc<[String]>, values: Vec<Value>) -> Self {
        Self { names, values }
    }

    /// The column `name` as `T`; a missing column or a value of another type is an error.
    pub fn get<T: FromValue>(&self, name: &str) -> StoreResult<T> {
        let index = self
            .names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| StoreError::Corrupt(format!("a query has no column {name}")))?;
        self.at(index).map_err(|_| StoreError::Corrupt(format!("the column {name} does not hold {}", T::WHAT)))
    }

    /// The column at `index` (from 0) as `T`.
    pub fn at<T: FromValue>(&self, index: usize) -> StoreResult<T> {
        let value = self.values.get(index).unwrap_or(&Value::Null);
        T::from_value(value).ok_or_else(|| StoreError::Corrupt(format!("column {index} does not hold {}", T::WHAT)))
    }

    /// The column names, in order (for copying rows between stores).
    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    /// The values, in column order (for copying rows between stores).
    pub(crate) fn values(&self) -> &[Value] {
        &self.values
    }
}

/// The connection a transaction runs on.
#[derive(Clone, Copy)]
pub enum Conn<'a> {
    /// SQLite (inside its transaction).
    Sqlite(&'a rusqlite::Connection),
    /// PostgreSQL (inside its transaction).
    Postgres(&'a PgConn),
}

impl Conn<'_> {
    /// Which SQL this connection speaks.
    pub fn dialect(&self) -> Dialect {
        match self {
            Conn::Sqlite(_) => Dialect::Sqlite,
            Conn::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs a statement: how many rows it changed.
    pub fn execute(&self, sql: &str, args: &[&dyn ToArg]) -> StoreResult<usize> {
        let args: Vec<Arg<'_>> = args.iter().map(|a| a.arg()).collect();
        match *self {
            Conn::Sqlite(conn) => Ok(conn.prepare_cached(sql)?.execute(rusqlite::params_from_iter(args))?),
            Conn::Postgres(conn) => conn.execute(sql, &args),
        }
    }

    /// Runs a query: every row.
    pub fn query(&self, sql: &str, args: &[&dyn ToArg]) -> StoreResult<Vec<Row>> {
        let args: Vec<Arg<'_>> = args.iter().map(|a| a.arg()).collect();
        match *self {
            Conn::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(sql)?;
                let names: Arc<[String]> = stmt.column_names().map(str::to_owned).collect();
                let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    let values =
                        (0..names.len()).map(|i| Value::of_sqlite(r.get_ref(i)?)).collect::<StoreResult<_>>()?;
                    out.push(Row::new(Arc::clone(&names), values));
                }
                Ok(out)
            }
            Conn::Postgres(conn) => conn.query(sql, &args),
        }
    }

    /// Runs a query: its first row, if any.
    pub fn query_opt(&self, sql: &str, args: &[&dyn ToArg]) -> StoreResult<Option<Row>> {
        Ok(self.query(sql, args)?.into_iter().next())
    }

    /// Runs a query that always answers one row.
    pub fn query_one(&self, sql: &str, args: &[&dyn ToArg]) -> StoreResult<Row> {
        self.query_opt(sql, args)?.ok_or_else(|| StoreError::Corrupt(format!("no row for {}", first_words(sql))))
    }

    /// Whether a query answers a row.
    pub fn exists(&self, sql: &str, args: &[&dyn ToArg]) -> StoreResult<bool> {
        Ok(self.query_opt(sql, args)?.is_some())
    }

    /// Runs one statement without parameters through the statement cache (each API request
    /// takes a savepoint, so these run thousands of times a second).
    pub(crate) fn run(&self, sql: &str) -> StoreResult<()> {
        match *self {
            Conn::Sqlite(conn) => Ok(conn.prepare_cached(sql)?.execute([]).map(drop)?),
            Conn::Postgres(conn) => conn.batch(sql),
        }
    }

    /// Runs statements without parameters, such as a migration.
    pub(crate) fn batch(&self, sql: &str) -> StoreResult<()> {
        match *self {
            Conn::Sqlite(conn) => Ok(conn.execute_batch(sql)?),
            Conn::Postgres(conn) => conn.batch(sql),
        }
    }
}

/// A `LIKE … ESCAPE '\\'` pattern that matches text containing `text`, its own `%`, `_` and `\\`
/// taken as they are rather than as wildcards.
pub(crate) fn containing(text: &str) -> String {
    format!("%{}%", text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

/// The start of a statement, for an error message.
fn first_words(sql: &str) -> String {
    sql.split_whitespace().take(6).collect::<Vec<_>>().join(" ")
}

/// `sql` with `?N` parameters written `$N`, as PostgreSQL reads them.
pub(crate) fn dollar_parameters(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_renumbered_for_postgres() {
        assert_eq!(
            dollar_parameters("SELECT a FROM t WHERE ?1 IS NULL OR b = ?1 LIMIT ?12"),
            "SELECT a FROM t WHERE $1 IS NULL OR b = $1 LIMIT $12"
        );
        assert_eq!(dollar_parameters("SELECT '?' FROM t"), "SELECT '?' FROM t");
    }

    #[test]
    fn a_column_of_another_type_is_an_error_that_names_it() {
        let row = Row::new(Arc::from(vec!["n".to_owned(), "t".to_owned()]), vec![Value::Int(3), Value::Null]);
        assert_eq!(row.get::<i64>("n").unwrap(), 3);
        assert_eq!(row.get::<Option<String>>("t").unwrap(), None);
        assert!(row.get::<String>("n").unwrap_err().to_string().contains("the column n does not hold text"));
        assert!(row.get::<i64>("x").unwrap_err().to_string().contains("no column x"));
    }
}
