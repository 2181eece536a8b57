//! The read-only check: the statement must be a query (`SELECT`, `WITH …
//! SELECT`, set operations, `VALUES`) and nothing inside it may write
//! (`SELECT … INTO`, data-modifying CTEs, `FOR UPDATE`).
//!
//! This is the first of several layers: `exec` also refuses any statement
//! SQLite does not call read-only, and the store's connections are read-only.

use std::ops::ControlFlow;

use sqlparser::ast::{Query, SetExpr, Statement, Visit, Visitor};

use super::{SqlError, SqlErrorKind};

/// The message for a refused statement kind (`INSERT`, `DROP`, …).
pub(crate) fn refusal_message(kind: &str) -> String {
    format!("{kind} is not allowed: the Query API only runs read-only SELECT statements")
}

/// The query of a read-only statement, or the refusal.
pub(crate) fn read_only(statement: Statement) -> Result<Query, SqlError> {
    refuse_writes(&statement)?;
    match statement {
        Statement::Query(query) => Ok(*query),
        _ => Err(SqlError::new(
            SqlErrorKind::Unsupported,
            "Only SELECT statements are supported",
        )),
    }
}

/// Refuses any statement that is not a read-only query, naming its kind.
pub(crate) fn refuse_writes(statement: &Statement) -> Result<(), SqlError> {
    match statement {
        Statement::Query(_) => {}
        Statement::Explain { .. } | Statement::ExplainTable { .. } => {
            return Err(SqlError::new(
                SqlErrorKind::Unsupported,
                "EXPLAIN is not supported by the Query API",
            ))
        }
        other => return Err(not_read_only(&statement_kind(other))),
    }
    let mut finder = WriteFinder;
    match statement.visit(&mut finder) {
        ControlFlow::Break(kind) => Err(not_read_only(&kind)),
        ControlFlow::Continue(()) => Ok(()),
    }
}

fn not_read_only(kind: &str) -> SqlError {
    SqlError::new(SqlErrorKind::NotReadOnly, refusal_message(kind))
}

/// The statement's kind as its leading keyword (`CREATE`, `INSERT`, …).
fn statement_kind(statement: &Statement) -> String {
    let text = statement.to_string();
    let word = text
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .find(|w| !w.is_empty())
        .unwrap_or("This statement");
    word.to_ascii_uppercase()
}

/// Finds writes nested inside a query.
struct WriteFinder;

impl Visitor for WriteFinder {
    type Break = String;

    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<String> {
        match statement {
            Statement::Query(_) => ControlFlow::Continue(()),
            other => ControlFlow::Break(statement_kind(other)),
        }
    }

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<String> {
        if !query.locks.is_empty() {
            return ControlFlow::Break("SELECT … FOR UPDATE/SHARE".into());
        }
        match query.body.as_ref() {
            SetExpr::Insert(_) => ControlFlow::Break("INSERT".into()),
            SetExpr::Update(_) => ControlFlow::Break("UPDATE".into()),
            SetExpr::Delete(_) => ControlFlow::Break("DELETE".into()),
            SetExpr::Merge(_) => ControlFlow::Break("MERGE".into()),
            SetExpr::Select(s) if s.into.is_some() => ControlFlow::Break("SELECT INTO".into()),
            _ => ControlFlow::Continue(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::parse::parse;

    fn refusal(sql: &str) -> SqlError {
        let statement = parse(sql).expect("parses");
        read_only(statement).expect_err("refused")
    }

    #[test]
    fn queries_pass() {
        for sql in [
            "SELECT 1",
            "WITH a AS (SELECT 1) SELECT * FROM a",
            "SELECT 1 UNION SELECT 2",
            "VALUES (1), (2)",
            "SELECT * FROM (SELECT 1) x WHERE EXISTS (SELECT 1)",
        ] {
            assert!(read_only(parse(sql).unwrap()).is_ok(), "{sql}");
        }
    }

    #[test]
    fn writes_are_refused_by_name() {
        for (sql, word) in [
            ("INSERT INTO t VALUES (1)", "INSERT"),
            ("UPDATE t SET a = 1", "UPDATE"),
            ("DELETE FROM t", "DELETE"),
            ("DROP TABLE t", "DROP"),
            ("CREATE TABLE t (a int)", "CREATE"),
            ("ALTER TABLE t ADD COLUMN b int", "ALTER"),
            ("TRUNCATE t", "TRUNCATE"),
            ("ATTACH DATABASE 'x' AS y", "ATTACH"),
            ("PRAGMA foo", "PRAGMA"),
            ("SELECT 1 INTO x", "SELECT INTO"),
            ("SELECT * FROM t FOR UPDATE", "FOR UPDATE"),
            (
                "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
                "DELETE",
            ),
            ("COPY t TO 'f'", "COPY"),
            ("SET x = 1", "SET"),
        ] {
            let e = refusal(sql);
            assert_eq!(e.kind, SqlErrorKind::NotReadOnly, "{sql}");
            assert!(e.message.contains(word), "{sql}: {}", e.message);
        }
    }
}
