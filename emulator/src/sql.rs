//! SQL: parse with sqlparser, check (read-only, names), translate to SQLite,
//! execute, and type the result columns with Data Cloud's types.

use serde_json::Value;

use crate::model::{DataModel, DcType};

/// Name resolution for SQL, built from the data model.
pub struct Catalog {}

impl Catalog {
    pub fn new(_model: &DataModel) -> Catalog {
        Catalog {}
    }
}

/// A result column.
#[derive(Debug, Clone)]
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
    Syntax,
    UnknownTable,
    UnknownColumn,
    NotReadOnly,
    Unsupported,
    Parameter,
    Execution,
}

/// A client-facing SQL error.
#[derive(Debug, Clone)]
pub struct SqlError {
    pub kind: SqlErrorKind,
    pub message: String,
}

/// Parses, checks, translates and runs one read-only statement.
pub fn execute(
    _conn: &rusqlite::Connection,
    _catalog: &Catalog,
    _sql: &str,
    _params: &[SqlParam],
) -> Result<QueryResult, SqlError> {
    Err(SqlError {
        kind: SqlErrorKind::Unsupported,
        message: "not implemented yet".into(),
    })
}

/// Creates what the SQL layer needs inside the database (the synthesized
/// `pg_catalog` relations, …). The store calls it once, on its writer
/// connection, after creating the org's tables.
pub fn install_support(_conn: &rusqlite::Connection, _model: &DataModel) -> rusqlite::Result<()> {
    Ok(())
}

/// Registers the SQL functions SQLite lacks (`format_type`, `date_trunc`, …) on
/// a connection. The store calls it on every connection it opens.
pub fn register_functions(_conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    Ok(())
}
