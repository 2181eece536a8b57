//! Column lookup through the scope chain, the rewrite of a name to its exact
//! spelling, alias column lists, and the name errors (PostgreSQL's wording).

use sqlparser::ast::{DataType, Expr, Ident, Query, SelectItem, SetExpr, TableAlias};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::{unsupported, OutCol, Resolver};
use crate::model::DcType;
use crate::sql::ast::{number, quoted, string_value};
use crate::sql::{SqlError, SqlErrorKind};

/// What a column name refers to.
pub(in crate::sql) enum Lookup {
    /// A known column; `qualifier` is how its relation is named in FROM.
    Found {
        qualifier: Option<String>,
        col: OutCol,
    },
    /// An output alias, or a relation of unknown shape: SQLite decides.
    Unresolved,
}

pub(super) fn unknown_table(name: &str) -> SqlError {
    SqlError::new(
        SqlErrorKind::UnknownTable,
        format!("table \"{name}\" does not exist"),
    )
}

fn unknown_column(name: &str) -> SqlError {
    SqlError::new(
        SqlErrorKind::UnknownColumn,
        format!("column \"{name}\" does not exist"),
    )
}

pub(super) fn missing_from_entry(qualifier: &str) -> SqlError {
    SqlError::new(
        SqlErrorKind::UnknownTable,
        format!("missing FROM-clause entry for table \"{qualifier}\""),
    )
}

/// `col` in `cols`: exact spelling first when quoted, then case-insensitively.
fn find<'a>(cols: &'a [OutCol], col: &Ident) -> Vec<&'a OutCol> {
    if col.quote_style.is_some() {
        let exact: Vec<&OutCol> = cols.iter().filter(|c| c.name == col.value).collect();
        if !exact.is_empty() {
            return exact;
        }
    }
    cols.iter()
        .filter(|c| c.name.eq_ignore_ascii_case(&col.value))
        .collect()
}

/// `(qualifier, column)` of `t.c` or `schema.t.c`.
fn split(parts: &[Ident]) -> Option<(&Ident, &Ident)> {
    match parts {
        [q, c] | [_, q, c] | [_, _, q, c] => Some((q, c)),
        _ => None,
    }
}

impl Resolver<'_> {
    /// Rewrites a column reference to its exact spelling (and `'x'::regclass` to an oid).
    pub(super) fn rewrite_name(&mut self, expr: &mut Expr, aliases: bool) -> Result<(), SqlError> {
        match expr {
            Expr::Identifier(id) => {
                if let Lookup::Found { col, .. } = self.lookup(None, id, aliases)? {
                    *expr = Expr::Identifier(quoted(&col.name));
                }
            }
            Expr::CompoundIdentifier(parts) => {
                let Some((q, c)) = split(parts) else {
                    return Ok(());
                };
                if let Lookup::Found { qualifier, col } = self.lookup(Some(q), c, aliases)? {
                    let q = qualifier.unwrap_or_else(|| q.value.clone());
                    *expr = Expr::CompoundIdentifier(vec![quoted(&q), quoted(&col.name)]);
                }
            }
            Expr::Cast {
                expr: inner,
                data_type: DataType::Regclass,
                ..
            } => {
                let name = string_value(inner)
                    .ok_or_else(|| unsupported("::regclass of an expression"))?;
                let oid = self
                    .catalog
                    .regclass(name)
                    .ok_or_else(|| unknown_table(name))?;
                *expr = number(oid);
            }
            _ => {}
        }
        Ok(())
    }

    /// The type of a column reference, when known.
    pub(in crate::sql) fn column_type(&self, expr: &Expr) -> Option<DcType> {
        let found = match expr {
            Expr::Identifier(id) => self.lookup(None, id, true),
            Expr::CompoundIdentifier(parts) => {
                let (q, c) = split(parts)?;
                self.lookup(Some(q), c, true)
            }
            _ => return None,
        };
        match found {
            Ok(Lookup::Found { col, .. }) => col.ty,
            _ => None,
        }
    }

    /// Looks `col` (optionally qualified) up, innermost scope first.
    pub(in crate::sql) fn lookup(
        &self,
        qualifier: Option<&Ident>,
        col: &Ident,
        aliases: bool,
    ) -> Result<Lookup, SqlError> {
        if let Some(q) = qualifier {
            for scope in self.scopes.iter().rev() {
                let rel = scope.rels.iter().find(|r| {
                    r.qualifier
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(&q.value))
                });
                let Some(rel) = rel else { continue };
                let Some(cols) = &rel.cols else {
                    return Ok(Lookup::Unresolved);
                };
                return match find(cols, col).first() {
                    Some(c) => Ok(Lookup::Found {
                        qualifier: rel.qualifier.clone(),
                        col: (*c).clone(),
                    }),
                    None => Err(unknown_column(&format!("{}.{}", q.value, col.value))),
                };
            }
            return Err(missing_from_entry(&q.value));
        }
        for (depth, scope) in self.scopes.iter().rev().enumerate() {
            let mut found = Vec::new();
            for rel in &scope.rels {
                if let Some(cols) = &rel.cols {
                    found.extend(find(cols, col).into_iter().map(|c| (rel, c)));
                }
            }
            if let Some((rel, c)) = found.first() {
                if found.len() > 1 && !scope.merged {
                    return Err(SqlError::new(
                        SqlErrorKind::Execution,
                        format!("column reference \"{}\" is ambiguous", col.value),
                    ));
                }
                return Ok(Lookup::Found {
                    qualifier: rel.qualifier.clone(),
                    col: (*c).clone(),
                });
            }
            if depth == 0
                && aliases
                && scope
                    .outputs
                    .iter()
                    .any(|o| o.eq_ignore_ascii_case(&col.value))
            {
                return Ok(Lookup::Unresolved);
            }
            if scope.rels.iter().any(|r| r.cols.is_none()) {
                return Ok(Lookup::Unresolved);
            }
        }
        Err(unknown_column(&col.value))
    }
}

/// Columns of a table or CTE seen through an alias; SQLite has no `AS t(a, b)`
/// for tables.
pub(super) fn alias_table(
    alias: &TableAlias,
    cols: Option<Vec<OutCol>>,
) -> Result<Option<Vec<OutCol>>, SqlError> {
    if alias.columns.is_empty() {
        Ok(cols)
    } else {
        Err(unsupported("A column list on a table alias"))
    }
}

/// Applies `AS t(a, b)` on a derived table by renaming the subquery's own
/// output aliases (SQLite has no alias column lists); `VALUES` gets wrapped in
/// a `SELECT column1 AS a, …`.
pub(super) fn alias_derived(
    subquery: &mut Query,
    alias: &mut TableAlias,
    cols: Option<Vec<OutCol>>,
) -> Result<Option<Vec<OutCol>>, SqlError> {
    if alias.columns.is_empty() {
        return Ok(cols);
    }
    let names: Vec<String> = alias.columns.iter().map(|c| c.name.value.clone()).collect();
    if let SetExpr::Values(values) = subquery.body.as_ref() {
        let width = values.rows.first().map_or(0, Vec::len);
        if width != names.len() {
            return Err(unsupported(
                "A column list of another width than its VALUES",
            ));
        }
        let items: Vec<String> = names
            .iter()
            .enumerate()
            .map(|(i, n)| format!("column{} AS {}", i + 1, quoted(n)))
            .collect();
        let template = format!("SELECT {} FROM (VALUES (1))", items.join(", "));
        let mut wrapper = parse_query(&template)?;
        if let SetExpr::Select(select) = wrapper.body.as_mut() {
            if let Some(sqlparser::ast::TableFactor::Derived {
                subquery: inner, ..
            }) = select.from.first_mut().map(|f| &mut f.relation)
            {
                std::mem::swap(inner.body.as_mut(), subquery.body.as_mut());
            }
        }
        *subquery.body = *wrapper.body;
    } else {
        let SetExpr::Select(select) = subquery.body.as_mut() else {
            return Err(unsupported("A column list on this derived table"));
        };
        if select.projection.len() != names.len() {
            return Err(unsupported(
                "A column list of another width than its subquery",
            ));
        }
        for (item, name) in select.projection.iter_mut().zip(&names) {
            match item {
                SelectItem::ExprWithAlias { alias, .. } => *alias = quoted(name),
                _ => return Err(unsupported("A column list on a derived table with *")),
            }
        }
    }
    alias.columns.clear();
    let types = cols.map(|c| c.into_iter().map(|c| c.ty).collect::<Vec<_>>());
    Ok(Some(
        names
            .into_iter()
            .enumerate()
            .map(|(i, name)| OutCol {
                name,
                ty: types.as_ref().and_then(|t| t.get(i).copied().flatten()),
            })
            .collect(),
    ))
}

fn parse_query(sql: &str) -> Result<Query, SqlError> {
    let statement = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statement())
        .map_err(|e| SqlError::new(SqlErrorKind::Execution, e.to_string()))?;
    match statement {
        sqlparser::ast::Statement::Query(q) => Ok(*q),
        _ => Err(SqlError::new(
            SqlErrorKind::Execution,
            "internal template is not a query",
        )),
    }
}
