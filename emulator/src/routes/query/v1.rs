//! Query V1's paging parameters: `limit`, `offset` and `orderby`.
//!
//! `orderby` is client text that ends up in SQL, so it is never spliced: it is
//! parsed with sqlparser as an ORDER BY list, every item must be a plain column
//! reference (or a position) with optional `ASC`/`DESC` and `NULLS FIRST/LAST`,
//! and the statement is re-rendered from the parsed trees as
//! `SELECT * FROM (<query>) AS v1q ORDER BY <items>`. `limit`/`offset` are
//! applied to the result rows.

use std::collections::HashMap;

use sqlparser::ast::{Expr, OrderByExpr, Statement, Value as SqlValue};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use super::run::MAX_ROWS_PER_CALL;

/// Validated V1 paging.
#[derive(Debug)]
pub struct V1Options {
    pub limit: usize,
    pub offset: usize,
    pub order_by: Option<Vec<OrderByExpr>>,
}

impl V1Options {
    /// The rows of a result with `total` rows this call returns.
    pub fn range(&self, total: usize) -> std::ops::Range<usize> {
        let start = self.offset.min(total);
        start..start.saturating_add(self.limit).min(total)
    }
}

/// Reads `limit`, `offset`, `orderby` from the query string. Errors are the
/// client-facing message.
pub fn parse_options(params: &HashMap<String, String>) -> Result<V1Options, String> {
    let limit = match params.get("limit").map(|s| s.trim()) {
        None | Some("") => MAX_ROWS_PER_CALL,
        Some(s) => match s.parse::<u64>() {
            // The documented maximum: larger values are capped, not refused, so
            // a client paging with a big limit still gets every row.
            Ok(n) if n >= 1 => (n.min(MAX_ROWS_PER_CALL as u64)) as usize,
            _ => {
                return Err(format!(
                    "Invalid value for limit: '{s}'. Expected an integer between 1 and {MAX_ROWS_PER_CALL}"
                ))
            }
        },
    };
    let offset = match params.get("offset").map(|s| s.trim()) {
        None | Some("") => 0,
        Some(s) => s.parse::<u64>().map_err(|_| {
            format!("Invalid value for offset: '{s}'. Expected a non-negative integer")
        })?,
    };
    let order_by = match params.get("orderby").map(|s| s.trim()) {
        None | Some("") => None,
        Some(s) => Some(parse_order_by(s)?),
    };
    Ok(V1Options {
        limit,
        offset: usize::try_from(offset).unwrap_or(usize::MAX),
        order_by,
    })
}

/// Parses `orderby` as a list of column references with sort options.
pub fn parse_order_by(text: &str) -> Result<Vec<OrderByExpr>, String> {
    let invalid = |why: &str| format!("Invalid orderby '{text}': {why}");
    let dialect = PostgreSqlDialect {};
    let mut parser = Parser::new(&dialect)
        .with_recursion_limit(16)
        .try_with_sql(text)
        .map_err(|e| invalid(&e.to_string()))?;
    let items = parser
        .parse_comma_separated(Parser::parse_order_by_expr)
        .map_err(|e| invalid(&e.to_string()))?;
    if parser.peek_token().token != Token::EOF {
        return Err(invalid(
            "expected a comma-separated list of column names with optional ASC/DESC",
        ));
    }
    for item in &items {
        let plain = match &item.expr {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => true,
            Expr::Value(v) => matches!(v.value, SqlValue::Number(_, _)),
            _ => false,
        };
        if !plain || item.with_fill.is_some() {
            return Err(invalid(
                "only column names (or positions) with optional ASC/DESC and NULLS FIRST/LAST are allowed",
            ));
        }
    }
    Ok(items)
}

/// `SELECT * FROM (<sql>) AS v1q ORDER BY <items>`, rendered from parsed trees;
/// `None` when `sql` is not exactly one query (the caller then runs it as is so
/// the SQL layer reports the real problem).
pub fn wrap_order_by(sql: &str, items: &[OrderByExpr]) -> Option<String> {
    let dialect = PostgreSqlDialect {};
    let statements = Parser::new(&dialect)
        .with_recursion_limit(64)
        .try_with_sql(sql)
        .ok()?
        .parse_statements()
        .ok()?;
    let [Statement::Query(query)] = statements.as_slice() else {
        return None;
    };
    let order = items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    Some(format!("SELECT * FROM ({query}) AS v1q ORDER BY {order}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_and_caps() {
        let o = parse_options(&params(&[])).expect("defaults");
        assert_eq!((o.limit, o.offset), (MAX_ROWS_PER_CALL, 0));
        assert!(o.order_by.is_none());
        let o = parse_options(&params(&[("limit", "100000"), ("offset", "7")])).expect("cap");
        assert_eq!((o.limit, o.offset), (MAX_ROWS_PER_CALL, 7));
        assert_eq!(o.range(10), 7..10);
        assert_eq!(o.range(3), 3..3);
    }

    #[test]
    fn bad_numbers_are_refused() {
        for (k, v) in [
            ("limit", "0"),
            ("limit", "-1"),
            ("limit", "ten"),
            ("offset", "-5"),
        ] {
            let e = parse_options(&params(&[(k, v)])).expect_err(v);
            assert!(e.contains(k), "{e}");
        }
    }

    #[test]
    fn orderby_accepts_columns() {
        let items = parse_order_by("ssot__LastName__c DESC, \"Id\" ASC NULLS LAST, 2").expect("ok");
        assert_eq!(items.len(), 3);
        let sql = wrap_order_by("select a from t where b = 'x' -- trailing comment", &items)
            .expect("wrapped");
        assert_eq!(
            sql,
            "SELECT * FROM (SELECT a FROM t WHERE b = 'x') AS v1q ORDER BY ssot__LastName__c DESC, \"Id\" ASC NULLS LAST, 2"
        );
    }

    #[test]
    fn orderby_injection_is_refused() {
        for bad in [
            "a; DROP TABLE t",
            "a) UNION SELECT * FROM secrets --",
            "(SELECT 1)",
            "lower(a)",
            "a LIMIT 1",
            "a -- comment",
            "a + 1",
        ] {
            // A trailing comment alone is harmless, but everything else must fail.
            let res = parse_order_by(bad);
            if bad == "a -- comment" {
                assert!(res.is_ok());
            } else {
                assert!(res.is_err(), "{bad}");
            }
        }
    }

    #[test]
    fn only_single_queries_are_wrapped() {
        let items = parse_order_by("a").expect("ok");
        assert!(wrap_order_by("select 1; select 2", &items).is_none());
        assert!(wrap_order_by("delete from t", &items).is_none());
        assert!(wrap_order_by("select (", &items).is_none());
    }
}
