//! The FROM clause: tables (CTEs first, then the catalog, renamed to their
//! SQLite tables), derived tables, nested joins, join conditions, and the
//! columns `USING`/`NATURAL` joins fold away from `*`.

use sqlparser::ast::{
    Ident, JoinConstraint, JoinOperator, ObjectName, TableAlias, TableFactor, TableWithJoins,
};

use super::{names, unsupported, OutCol, Rel, Resolver};
use crate::sql::ast::quoted;
use crate::sql::SqlError;

impl Resolver<'_> {
    pub(super) fn table_with_joins(&mut self, twj: &mut TableWithJoins) -> Result<(), SqlError> {
        self.table_factor(&mut twj.relation)?;
        for join in &mut twj.joins {
            let start = self.top().rels.len();
            self.table_factor(&mut join.relation)?;
            let constraint = match &mut join.join_operator {
                JoinOperator::Join(c)
                | JoinOperator::Inner(c)
                | JoinOperator::Left(c)
                | JoinOperator::LeftOuter(c)
                | JoinOperator::Right(c)
                | JoinOperator::RightOuter(c)
                | JoinOperator::FullOuter(c)
                | JoinOperator::CrossJoin(c) => c,
                _ => return Err(unsupported("This kind of join")),
            };
            match constraint {
                JoinConstraint::On(e) => self.node(e, false)?,
                JoinConstraint::Using(columns) => {
                    let names: Vec<String> = columns
                        .iter()
                        .filter_map(|c| {
                            c.0.last()
                                .and_then(|p| p.as_ident())
                                .map(|i| i.value.clone())
                        })
                        .collect();
                    self.merge_columns(start, |_| true, &names);
                }
                JoinConstraint::Natural => {
                    let earlier: Vec<String> = self.top().rels[..start]
                        .iter()
                        .filter_map(|r| r.cols.as_ref())
                        .flatten()
                        .map(|c| c.name.to_ascii_lowercase())
                        .collect();
                    self.merge_columns(start, |n| earlier.contains(&n.to_ascii_lowercase()), &[]);
                }
                JoinConstraint::None => {}
            }
        }
        Ok(())
    }

    /// Hides, in the relations from `start` on, the columns a `USING` list
    /// (`names`) or a `NATURAL` join (`keep` on every column) folds away.
    fn merge_columns(&mut self, start: usize, keep: impl Fn(&str) -> bool, names: &[String]) {
        let scope = self.top();
        scope.merged = true;
        for rel in &mut scope.rels[start..] {
            let Some(cols) = &rel.cols else { continue };
            let hide: Vec<String> = cols
                .iter()
                .filter(|c| keep(&c.name))
                .filter(|c| {
                    names.is_empty() || names.iter().any(|n| n.eq_ignore_ascii_case(&c.name))
                })
                .map(|c| c.name.clone())
                .collect();
            rel.hidden.extend(hide);
        }
    }

    fn table_factor(&mut self, tf: &mut TableFactor) -> Result<(), SqlError> {
        match tf {
            TableFactor::Table {
                name,
                alias,
                args,
                sample,
                version,
                with_hints,
                ..
            } => {
                if args.is_some() {
                    return Err(unsupported(format!("Table function {name}")));
                }
                if sample.is_some() || version.is_some() || !with_hints.is_empty() {
                    return Err(unsupported("Table sampling, versions and hints"));
                }
                let rel = self.table(name, alias)?;
                self.top().rels.push(rel);
            }
            TableFactor::Derived {
                lateral,
                subquery,
                alias,
            } => {
                let cols = if *lateral {
                    self.query(subquery)?
                } else {
                    // A plain derived table cannot see its FROM siblings.
                    let current = self.scopes.pop();
                    let result = self.query(subquery);
                    self.scopes.extend(current);
                    result?
                };
                let (qualifier, cols) = match alias {
                    Some(a) => (
                        Some(a.name.value.clone()),
                        names::alias_derived(subquery, a, cols)?,
                    ),
                    None => (None, cols),
                };
                self.top().rels.push(Rel {
                    qualifier,
                    cols,
                    hidden: Vec::new(),
                });
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                if alias.is_some() {
                    return Err(unsupported("An alias on a parenthesized join"));
                }
                self.table_with_joins(table_with_joins)?;
            }
            _ => return Err(unsupported("This kind of FROM item")),
        }
        Ok(())
    }

    /// A named relation: a CTE, else a catalog relation (renamed for SQLite).
    fn table(
        &mut self,
        name: &mut ObjectName,
        alias: &mut Option<TableAlias>,
    ) -> Result<Rel, SqlError> {
        let parts: Vec<&Ident> = name
            .0
            .iter()
            .map(|p| p.as_ident())
            .collect::<Option<_>>()
            .ok_or_else(|| unsupported(format!("Table name {name}")))?;
        let (schema, table) = match parts.as_slice() {
            [t] => (None, *t),
            [s, t] | [_, s, t] => (Some(s.value.as_str()), *t),
            _ => return Err(names::unknown_table(&name.to_string())),
        };
        let written = table.value.clone();
        if schema.is_none() {
            if let Some((_, cols)) = self
                .ctes
                .iter()
                .rev()
                .find(|(n, _)| n.eq_ignore_ascii_case(&written))
            {
                let cols = cols.clone();
                let qualifier = alias.as_ref().map_or(written, |a| a.name.value.clone());
                return Ok(Rel {
                    qualifier: Some(qualifier),
                    cols: alias
                        .as_ref()
                        .map_or(Ok(cols.clone()), |a| names::alias_table(a, cols))?,
                    hidden: Vec::new(),
                });
            }
        }
        let rel = self
            .catalog
            .relation(schema, &written)
            .ok_or_else(|| names::unknown_table(&name.to_string()))?;
        *name = ObjectName::from(vec![quoted(&rel.sqlite_name)]);
        let cols: Vec<OutCol> = rel
            .columns
            .iter()
            .map(|c| OutCol {
                name: c.name.clone(),
                ty: Some(c.ty),
            })
            .collect();
        let qualifier = match alias {
            Some(a) => a.name.value.clone(),
            None => {
                if rel.sqlite_name != rel.name {
                    // `pg_catalog.pg_class` lives in table `pg_catalog__pg_class`:
                    // alias it so `pg_class.relname` still resolves.
                    *alias = Some(TableAlias {
                        name: quoted(&rel.name),
                        columns: Vec::new(),
                    });
                }
                rel.name.clone()
            }
        };
        let cols = match alias {
            Some(a) => names::alias_table(a, Some(cols))?,
            None => Some(cols),
        };
        Ok(Rel {
            qualifier: Some(qualifier),
            cols,
            hidden: Vec::new(),
        })
    }
}
