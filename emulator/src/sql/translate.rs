//! Translation: rewrites the (resolved) PostgreSQL tree into one SQLite runs
//! with the same meaning, then `Display` renders it. Never string surgery.
//!
//! Query level (here): `FETCH FIRST n ROWS ONLY` → `LIMIT n`, `OFFSET n ROWS`
//! → `OFFSET n`, PostgreSQL's default NULL ordering made explicit (NULLs sort
//! last ascending and first descending there, the reverse of SQLite), and
//! parenthesized set-operation members (which SQLite cannot parse) unwrapped.
//! Expression level ([`exprs`]): casts, typed literals, `ILIKE`, intervals,
//! `EXTRACT`/`SUBSTRING`/`POSITION`/`TRIM`, function names, string literal
//! forms, and `NOW()`/`CURRENT_DATE` as constants from the clock.

mod exprs;

use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, LimitClause, Offset, OffsetRows, OrderByExpr, OrderByKind, Query, SetExpr, Statement,
    Value, VisitMut, VisitorMut,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::resolve::unsupported;
use super::{SqlError, SqlErrorKind};

/// Translates `query` in place. Returns whether it read the clock (such a
/// translation is only valid for this instant and must not be cached).
pub(crate) fn translate(query: &mut Query, now_ms: i64) -> Result<bool, SqlError> {
    let mut t = Translator {
        now_ms,
        uses_clock: false,
        loose_intervals: 0,
    };
    if let ControlFlow::Break(e) = query.visit(&mut t) {
        return Err(e);
    }
    if t.loose_intervals > 0 {
        return Err(unsupported(
            "An interval value on its own (add it to or subtract it from a date or timestamp)",
        ));
    }
    Ok(t.uses_clock)
}

struct Translator {
    now_ms: i64,
    uses_clock: bool,
    /// `INTERVAL` literals not (yet) consumed by a `+`/`-` with a timestamp.
    loose_intervals: usize,
}

impl VisitorMut for Translator {
    type Break = SqlError;

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<SqlError> {
        match exprs::rewrite(self, expr) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }

    fn post_visit_value(&mut self, value: &mut Value) -> ControlFlow<SqlError> {
        // SQLite knows only '…' strings (its "…" are identifiers).
        let text = match value {
            Value::EscapedStringLiteral(s)
            | Value::NationalStringLiteral(s)
            | Value::DoubleQuotedString(s)
            | Value::TripleSingleQuotedString(s)
            | Value::TripleDoubleQuotedString(s)
            | Value::UnicodeStringLiteral(s) => std::mem::take(s),
            Value::DollarQuotedString(d) => std::mem::take(&mut d.value),
            _ => return ControlFlow::Continue(()),
        };
        *value = Value::SingleQuotedString(text);
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<SqlError> {
        match query_level(query) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }
}

fn query_level(query: &mut Query) -> Result<(), SqlError> {
    if let Some(fetch) = query.fetch.take() {
        if fetch.with_ties || fetch.percent {
            return Err(unsupported("FETCH … WITH TIES / PERCENT"));
        }
        let offset = match query.limit_clause.take() {
            Some(LimitClause::LimitOffset { offset, .. }) => offset,
            Some(LimitClause::OffsetCommaLimit { offset, .. }) => Some(Offset {
                value: offset,
                rows: OffsetRows::None,
            }),
            None => None,
        };
        query.limit_clause = Some(LimitClause::LimitOffset {
            limit: Some(fetch.quantity.unwrap_or_else(|| super::ast::number(1))),
            offset,
            limit_by: Vec::new(),
        });
    }
    if let Some(LimitClause::LimitOffset {
        limit,
        offset: Some(offset),
        limit_by,
    }) = &mut query.limit_clause
    {
        if !limit_by.is_empty() {
            return Err(unsupported("LIMIT BY"));
        }
        offset.rows = OffsetRows::None;
        if limit.is_none() {
            // SQLite needs a LIMIT before OFFSET; -1 means none.
            *limit = Some(super::ast::number(-1));
        }
    }
    if let Some(order_by) = &mut query.order_by {
        if let OrderByKind::Expressions(items) = &mut order_by.kind {
            postgres_null_order(items);
        }
    }
    unwrap_set_members(&mut query.body)
}

/// PostgreSQL sorts NULLs as larger than every value; say so explicitly.
pub(super) fn postgres_null_order(items: &mut [OrderByExpr]) {
    for item in items {
        if item.options.nulls_first.is_none() {
            let descending = item.options.asc == Some(false);
            item.options.nulls_first = Some(descending);
        }
    }
}

/// SQLite rejects `(SELECT …) UNION (SELECT …)`: plain members lose their
/// parentheses, members with their own ORDER BY/LIMIT become `SELECT * FROM (…)`.
fn unwrap_set_members(body: &mut SetExpr) -> Result<(), SqlError> {
    let SetExpr::SetOperation { left, right, .. } = body else {
        return Ok(());
    };
    for member in [left.as_mut(), right.as_mut()] {
        if let SetExpr::Query(q) = member {
            let plain = q.with.is_none() && q.order_by.is_none() && q.limit_clause.is_none();
            let inner = std::mem::replace(q.as_mut(), empty_query()?);
            *member = if plain {
                *inner.body
            } else {
                let mut wrapper = empty_query()?;
                if let SetExpr::Select(select) = wrapper.body.as_mut() {
                    if let Some(sqlparser::ast::TableFactor::Derived { subquery, .. }) =
                        select.from.first_mut().map(|f| &mut f.relation)
                    {
                        **subquery = inner;
                    }
                }
                *wrapper.body
            };
        }
        unwrap_set_members(member)?;
    }
    Ok(())
}

/// `SELECT * FROM (SELECT 1)`: a skeleton whose inner query gets replaced.
fn empty_query() -> Result<Query, SqlError> {
    let statement = Parser::new(&PostgreSqlDialect {})
        .try_with_sql("SELECT * FROM (SELECT 1)")
        .and_then(|mut p| p.parse_statement())
        .map_err(|e| SqlError::new(SqlErrorKind::Execution, e.to_string()))?;
    match statement {
        Statement::Query(q) => Ok(*q),
        _ => Err(SqlError::new(
            SqlErrorKind::Execution,
            "internal template is not a query",
        )),
    }
}
