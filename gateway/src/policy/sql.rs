//! Which objects a SQL statement reads: parse it into a tree (never grep the
//! text) and collect every relation name, minus the names of its own CTEs.
//!
//! Catalog relations (`pg_catalog.*`, `information_schema.*`, bare `pg_*`)
//! are reported separately: `dc2`'s schema introspection queries them and they
//! expose no Data Cloud rows, so the policy lets them through.

use std::ops::ControlFlow;

use sqlparser::ast::{ObjectName, Query, Statement, Visit, Visitor};
use sqlparser::dialect::{GenericDialect, PostgreSqlDialect};
use sqlparser::parser::Parser;

/// Deep enough for real queries, shallow enough that a hostile statement
/// cannot exhaust the stack.
const RECURSION_LIMIT: usize = 64;

/// The data objects a statement reads, by their last name part, in order of
/// first appearance.
pub fn tables(sql: &str) -> Result<Vec<String>, String> {
    let statements = parse(sql)?;
    let mut v = Collect::default();
    for s in &statements {
        let _ = s.visit(&mut v);
    }
    let ctes = v.ctes;
    let mut out: Vec<String> = Vec::new();
    for name in v.relations {
        if ctes.iter().any(|c| c.eq_ignore_ascii_case(&name)) {
            continue;
        }
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&name)) {
            out.push(name);
        }
    }
    Ok(out)
}

fn parse(sql: &str) -> Result<Vec<Statement>, String> {
    // Data 360 SQL is PostgreSQL-flavoured; the generic dialect is the
    // fallback for what the PostgreSQL one refuses (e.g. `:named` parameters).
    let pg = Parser::new(&PostgreSqlDialect {})
        .with_recursion_limit(RECURSION_LIMIT)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements());
    match pg {
        Ok(s) => Ok(s),
        Err(first) => Parser::new(&GenericDialect {})
            .with_recursion_limit(RECURSION_LIMIT)
            .try_with_sql(sql)
            .and_then(|mut p| p.parse_statements())
            .map_err(|_| first.to_string()),
    }
}

#[derive(Default)]
struct Collect {
    relations: Vec<String>,
    ctes: Vec<String>,
}

impl Visitor for Collect {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.ctes.push(cte.alias.name.value.clone());
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
        let parts: Vec<&str> = relation
            .0
            .iter()
            .filter_map(|p| p.as_ident().map(|i| i.value.as_str()))
            .collect();
        if let Some(last) = parts.last() {
            if !is_catalog(&parts) {
                self.relations.push((*last).to_owned());
            }
        }
        ControlFlow::Continue(())
    }
}

fn is_catalog(parts: &[&str]) -> bool {
    match parts {
        [one] => one.to_ascii_lowercase().starts_with("pg_"),
        [schema, ..] => {
            schema.eq_ignore_ascii_case("pg_catalog")
                || schema.eq_ignore_ascii_case("information_schema")
        }
        [] => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tables_in_joins_subqueries_and_ctes() {
        let t = tables(
            "WITH recent AS (SELECT * FROM Engagement__dlm WHERE ts > '2024-01-01') \
             SELECT a.x FROM UnifiedIndividual__dlm a JOIN recent r ON a.id = r.id \
             WHERE a.id IN (SELECT id FROM ssot__Account__dlm)",
        )
        .unwrap();
        assert_eq!(
            t,
            vec![
                "Engagement__dlm",
                "UnifiedIndividual__dlm",
                "ssot__Account__dlm"
            ]
        );
    }

    #[test]
    fn quoted_and_qualified_names_use_the_last_part() {
        assert_eq!(
            tables(r#"select * from "default"."Foo__dlm""#).unwrap(),
            vec!["Foo__dlm"]
        );
    }

    #[test]
    fn catalog_relations_are_not_objects() {
        let t = tables(
            "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_namespace n ON c.relnamespace = n.oid \
             WHERE n.nspname = :schema",
        )
        .unwrap();
        assert!(t.is_empty(), "{t:?}");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(tables("SELEC * FROM").is_err());
        let deep = format!("SELECT {}1{}", "(".repeat(500), ")".repeat(500));
        assert!(tables(&deep).is_err());
    }
}
