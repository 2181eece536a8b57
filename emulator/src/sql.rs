//! SQL: parse with sqlparser, check (read-only, names), translate to SQLite,
//! execute, and type the result columns with Data Cloud's types.
//!
//! Data Cloud speaks a PostgreSQL-flavoured dialect (Hyper); the org's data
//! lives in SQLite. A statement goes through named stages, one module each:
//! [`parse`] (sqlparser, PostgreSQL dialect, bounded recursion) → [`check`]
//! (one read-only statement) → [`resolve`] (names against the [`Catalog`],
//! output labels and types, type-directed coercions) → [`translate`]
//! (PostgreSQL constructs to SQLite ones, on the tree) → [`exec`] (prepare,
//! refuse anything SQLite thinks writes, bind `:name` parameters, run, encode
//! values). [`functions`] registers the scalar functions the translation
//! targets; [`pg_catalog`] synthesizes the `pg_catalog` relations that
//! connectors introspect.

mod ast;
mod cast;
mod catalog;
mod check;
mod datetime;
mod exec;
mod functions;
mod parse;
mod pg_catalog;
mod resolve;
mod translate;
mod typing;

use serde_json::Value;

pub use catalog::Catalog;

use crate::model::{DataModel, DcType};

/// A result column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Label as returned to clients (catalog casing, or the alias as written).
    pub name: String,
    pub ty: DcType,
}

/// A whole result.
#[derive(Debug, Clone, Default)]
pub struct QueryResult {
    pub columns: Vec<Column>,
    /// Rows of JSON values: strings, numbers, booleans, null; dates `yyyy-MM-dd`,
    /// timestamps ISO-8601 UTC.
    pub rows: Vec<Vec<Value>>,
}

/// A named parameter (`:name`) for Connect `query-sql`.
#[derive(Debug, Clone)]
pub struct SqlParam {
    pub name: String,
    pub value: Value,
    /// `Varchar`, `Numeric`, `Boolean`, `TimestampTZ`, `Date`, … when given.
    pub ty: Option<String>,
}

/// What went wrong with a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlErrorKind {
    /// The text does not parse (message carries sqlparser's line/column), or
    /// it nests deeper than the parser's recursion limit.
    Syntax,
    /// A table (object) the data model does not have.
    UnknownTable,
    /// A column the referenced table does not have.
    UnknownColumn,
    /// Anything but one read-only query.
    NotReadOnly,
    /// Valid SQL the emulator does not implement (a function, a type, a clause).
    Unsupported,
    /// A `:name` placeholder without a value, or a value of the wrong shape.
    Parameter,
    /// The statement was accepted but failed while running (bad cast input,
    /// ambiguous column, time limit, …).
    Execution,
}

/// A client-facing SQL error.
#[derive(Debug, Clone)]
pub struct SqlError {
    pub kind: SqlErrorKind,
    pub message: String,
}

impl SqlError {
    pub(crate) fn new(kind: SqlErrorKind, message: impl Into<String>) -> SqlError {
        SqlError {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for SqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SqlError {}

/// Parses, checks, translates and runs one read-only statement.
///
/// `NOW()`/`CURRENT_DATE` read the catalog's clock (see [`Catalog::with_clock`]).
pub fn execute(
    conn: &rusqlite::Connection,
    catalog: &Catalog,
    sql: &str,
    params: &[SqlParam],
) -> Result<QueryResult, SqlError> {
    let plan = catalog.plan(sql)?;
    exec::run(conn, &plan, params)
}

/// Translates a statement without running it: the SQLite text the emulator
/// would execute. For diagnostics and tests.
pub fn translate_only(catalog: &Catalog, sql: &str) -> Result<String, SqlError> {
    Ok(catalog.plan(sql)?.sqlite_sql.clone())
}

/// Creates what the SQL layer needs inside the database (the synthesized
/// `pg_catalog` relations, …). The store calls it once, on its writer
/// connection, after creating the org's tables.
pub fn install_support(conn: &rusqlite::Connection, model: &DataModel) -> rusqlite::Result<()> {
    pg_catalog::install(conn, model)
}

/// Registers the SQL functions SQLite lacks (`format_type`, `date_trunc`, …) on
/// a connection. The store calls it on every connection it opens.
pub fn register_functions(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    functions::register(conn)
}

/// A statement ready to run: the SQLite text and what we know of its output.
#[derive(Debug)]
pub(crate) struct Plan {
    pub sqlite_sql: String,
    /// Output columns as resolved from the query (`None` when a `*` expands
    /// over a relation of unknown shape: SQLite's names are used then).
    pub columns: Option<Vec<resolve::OutCol>>,
}

#[cfg(test)]
mod tests;
