//! Read-only enforcement below the SQL parser.
//!
//! The SQL layer already refuses anything but a query, but a parser bug must
//! not let a client change the org's data. So each reader connection is
//! opened read-only, has `query_only` set, and carries an authorizer that
//! SQLite consults while preparing every statement: it allows reading
//! (tables, views, functions, recursive CTEs, transaction bookkeeping, a few
//! pragmas that only report) and denies everything else, including pragmas
//! that set a value (`PRAGMA query_only=OFF`) and `ATTACH`.

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::Connection;

/// Pragmas that only report, allowed without a value.
const REPORTING_PRAGMAS: &[&str] = &[
    "table_info",
    "table_xinfo",
    "table_list",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
    "database_list",
    "collation_list",
    "function_list",
    "pragma_list",
    "compile_options",
    "query_only",
    "data_version",
    "user_version",
    "encoding",
];

/// Decides one action of a statement being prepared on a reader connection.
pub(crate) fn authorize(ctx: AuthContext<'_>) -> Authorization {
    match ctx.action {
        AuthAction::Select
        | AuthAction::Read { .. }
        | AuthAction::Function { .. }
        | AuthAction::Recursive
        | AuthAction::Transaction { .. }
        | AuthAction::Savepoint { .. } => Authorization::Allow,
        AuthAction::Pragma {
            pragma_name,
            pragma_value: None,
        } if REPORTING_PRAGMAS
            .iter()
            .any(|p| p.eq_ignore_ascii_case(pragma_name)) =>
        {
            Authorization::Allow
        }
        _ => Authorization::Deny,
    }
}

/// Locks a freshly opened reader connection down. Runs the pragmas first:
/// once the authorizer is in place they would be refused too.
pub(crate) fn lock_down(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "query_only", true)?;
    conn.authorizer(Some(authorize));
    Ok(())
}
