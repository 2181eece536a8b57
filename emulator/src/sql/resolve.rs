//! Name resolution: every table and column the query names is looked up in
//! the [`Catalog`] (and in the query's own CTEs and derived tables), rewritten
//! to its exact casing, quoted, and the query's output columns get their
//! labels and Data Cloud types.
//!
//! Unquoted names match case-insensitively, quoted ones exactly first and then
//! case-insensitively (SQLite itself is case-insensitive, so this never
//! changes what a name means, only how results are labelled and whether an
//! unknown name gets a precise error). Where a relation's shape is unknown the
//! name is left for SQLite to decide, and `exec` maps its error.
//!
//! The walk is structural for queries (WITH → FROM → projection → WHERE →
//! GROUP BY → HAVING → ORDER BY) and a `VisitorMut` for expressions; a
//! subquery met inside an expression is resolved on the spot with the current
//! scopes as its outer scopes, and the visitor then skips over it.

mod from;
mod names;
mod walk;

use sqlparser::ast::{
    Expr, GroupByExpr, ObjectName, OrderByKind, Query, Select, SelectItem,
    SelectItemQualifiedWildcardKind, SetExpr, SetOperator, SetQuantifier, TableAlias,
    WildcardAdditionalOptions,
};

use super::ast::quoted;
use super::catalog::Catalog;
use super::{typing, SqlError, SqlErrorKind};
use crate::model::DcType;

/// An output column of a query or relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutCol {
    pub name: String,
    pub ty: Option<DcType>,
}

/// A relation visible in a FROM clause.
#[derive(Debug, Clone)]
pub(super) struct Rel {
    /// What columns are qualified with: the alias, else the table's name.
    pub qualifier: Option<String>,
    /// `None`: shape unknown (let SQLite decide names).
    pub cols: Option<Vec<OutCol>>,
    /// Columns a `USING`/`NATURAL` join folded into the left side (not in `*`).
    pub hidden: Vec<String>,
}

/// The relations of one SELECT, and its output names.
#[derive(Debug, Clone, Default)]
pub(super) struct Scope {
    pub rels: Vec<Rel>,
    /// Output names, which ORDER BY / GROUP BY / HAVING may use.
    pub outputs: Vec<String>,
    /// A `USING`/`NATURAL` join merged same-named columns.
    pub merged: bool,
}

impl Scope {
    fn of_outputs(cols: &Option<Vec<OutCol>>) -> Scope {
        Scope {
            outputs: cols.iter().flatten().map(|c| c.name.clone()).collect(),
            rels: vec![Rel {
                qualifier: None,
                cols: cols.clone(),
                hidden: Vec::new(),
            }],
            merged: false,
        }
    }
}

/// Resolves `query` in place; returns its output columns when their shape is known.
pub(crate) fn resolve(
    catalog: &Catalog,
    query: &mut Query,
) -> Result<Option<Vec<OutCol>>, SqlError> {
    let mut r = Resolver {
        catalog,
        ctes: Vec::new(),
        scopes: Vec::new(),
    };
    r.query(query)
}

pub(super) fn unsupported(what: impl std::fmt::Display) -> SqlError {
    SqlError::new(
        SqlErrorKind::Unsupported,
        format!("{what} is not supported"),
    )
}

pub(super) struct Resolver<'c> {
    pub catalog: &'c Catalog,
    /// CTEs in scope, innermost last.
    ctes: Vec<(String, Option<Vec<OutCol>>)>,
    /// SELECT scopes, innermost last (outer ones serve correlated subqueries).
    pub scopes: Vec<Scope>,
}

impl Resolver<'_> {
    fn query(&mut self, q: &mut Query) -> Result<Option<Vec<OutCol>>, SqlError> {
        let mark = self.ctes.len();
        let result = self.query_inner(q);
        self.ctes.truncate(mark);
        result
    }

    fn query_inner(&mut self, q: &mut Query) -> Result<Option<Vec<OutCol>>, SqlError> {
        if let Some(with) = &mut q.with {
            for cte in &mut with.cte_tables {
                let name = cte.alias.name.value.clone();
                if with.recursive {
                    self.ctes.push((name.clone(), None));
                }
                let cols = self.query(&mut cte.query)?;
                if with.recursive {
                    self.ctes.pop();
                }
                self.ctes.push((name, rename(cols, &cte.alias)));
            }
        }
        let (cols, scope) = self.set_expr(&mut q.body)?;
        if let Some(order_by) = &mut q.order_by {
            let OrderByKind::Expressions(items) = &mut order_by.kind else {
                return Err(unsupported("ORDER BY ALL"));
            };
            self.scopes.push(scope);
            let result = items
                .iter_mut()
                .try_for_each(|i| self.node(&mut i.expr, true));
            self.scopes.pop();
            result?;
        }
        if let Some(limit) = &mut q.limit_clause {
            self.node(limit, false)?;
        }
        if let Some(fetch) = &mut q.fetch {
            self.node(fetch, false)?;
        }
        Ok(cols)
    }

    fn set_expr(&mut self, body: &mut SetExpr) -> Result<(Option<Vec<OutCol>>, Scope), SqlError> {
        match body {
            SetExpr::Select(select) => self.select(select),
            SetExpr::Query(q) => {
                let cols = self.query(q)?;
                let scope = Scope::of_outputs(&cols);
                Ok((cols, scope))
            }
            SetExpr::SetOperation {
                op,
                set_quantifier,
                left,
                right,
            } => {
                let all = matches!(set_quantifier, SetQuantifier::All);
                if all
                    && matches!(
                        op,
                        SetOperator::Intersect | SetOperator::Except | SetOperator::Minus
                    )
                {
                    return Err(unsupported(format!("{op} ALL")));
                }
                if !matches!(
                    set_quantifier,
                    SetQuantifier::All | SetQuantifier::Distinct | SetQuantifier::None
                ) {
                    return Err(unsupported(format!("{op} {set_quantifier}")));
                }
                let (l, _) = self.set_expr(left)?;
                let (r, _) = self.set_expr(right)?;
                let cols = match (l, r) {
                    (Some(l), Some(r)) if l.len() == r.len() => Some(
                        l.into_iter()
                            .zip(r)
                            .map(|(a, b)| OutCol {
                                ty: typing::unify(a.ty, b.ty),
                                name: a.name,
                            })
                            .collect(),
                    ),
                    (l, _) => l,
                };
                let scope = Scope::of_outputs(&cols);
                Ok((cols, scope))
            }
            SetExpr::Values(values) => {
                let width = values.rows.first().map_or(0, Vec::len);
                for row in &mut values.rows {
                    for e in row {
                        self.node(e, false)?;
                    }
                }
                let cols = Some(
                    (1..=width)
                        .map(|i| OutCol {
                            name: format!("column{i}"),
                            ty: None,
                        })
                        .collect(),
                );
                let scope = Scope::of_outputs(&cols);
                Ok((cols, scope))
            }
            SetExpr::Table(_) => Err(unsupported("TABLE as a query")),
            SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_) => {
                Err(SqlError::new(
                    SqlErrorKind::NotReadOnly,
                    "Data-modifying statements are not allowed",
                ))
            }
        }
    }

    fn select(&mut self, s: &mut Select) -> Result<(Option<Vec<OutCol>>, Scope), SqlError> {
        refuse_unsupported(s)?;
        self.scopes.push(Scope::default());
        let result = self.select_inner(s);
        let scope = self.scopes.pop().unwrap_or_default();
        Ok((result?, scope))
    }

    fn select_inner(&mut self, s: &mut Select) -> Result<Option<Vec<OutCol>>, SqlError> {
        for twj in &mut s.from {
            self.table_with_joins(twj)?;
        }
        let mut cols = Some(Vec::new());
        for item in &mut s.projection {
            self.select_item(item, &mut cols)?;
        }
        self.top().outputs = cols.iter().flatten().map(|c| c.name.clone()).collect();
        if let Some(selection) = &mut s.selection {
            self.node(selection, false)?;
        }
        match &mut s.group_by {
            GroupByExpr::Expressions(exprs, modifiers) => {
                if !modifiers.is_empty() {
                    return Err(unsupported("GROUP BY modifiers"));
                }
                for e in exprs {
                    self.node(e, true)?;
                }
            }
            GroupByExpr::All(_) => return Err(unsupported("GROUP BY ALL")),
        }
        if let Some(having) = &mut s.having {
            self.node(having, true)?;
        }
        for window in &mut s.named_window {
            self.node(window, true)?;
        }
        Ok(cols)
    }

    fn select_item(
        &mut self,
        item: &mut SelectItem,
        cols: &mut Option<Vec<OutCol>>,
    ) -> Result<(), SqlError> {
        let mut push = |col: Option<Vec<OutCol>>| match (cols.as_mut(), col) {
            (Some(all), Some(more)) => all.extend(more),
            _ => *cols = None,
        };
        match item {
            SelectItem::UnnamedExpr(e) => {
                let label = e.to_string();
                self.node(e, false)?;
                let name = match &*e {
                    Expr::Identifier(id) => id.value.clone(),
                    Expr::CompoundIdentifier(parts) => {
                        parts.last().map_or(label, |p| p.value.clone())
                    }
                    _ => label,
                };
                let ty = typing::type_of(self, e);
                let expr = std::mem::replace(e, Expr::value(sqlparser::ast::Value::Null));
                *item = SelectItem::ExprWithAlias {
                    expr,
                    alias: quoted(&name),
                };
                push(Some(vec![OutCol { name, ty }]));
            }
            SelectItem::ExprWithAlias { expr, alias } => {
                self.node(expr, false)?;
                // Quoted so SQLite reports the alias exactly as written.
                alias.quote_style = Some('"');
                let ty = typing::type_of(self, expr);
                push(Some(vec![OutCol {
                    name: alias.value.clone(),
                    ty,
                }]));
            }
            SelectItem::Wildcard(options) => {
                refuse_wildcard_options(options)?;
                let scope = self.top();
                let mut all = Some(Vec::new());
                for rel in &scope.rels {
                    match (all.as_mut(), visible(rel)) {
                        (Some(all), Some(more)) => all.extend(more),
                        _ => all = None,
                    }
                }
                push(all);
            }
            SelectItem::QualifiedWildcard(kind, options) => {
                refuse_wildcard_options(options)?;
                let SelectItemQualifiedWildcardKind::ObjectName(name) = kind else {
                    return Err(unsupported("expression.*"));
                };
                let rel = self.qualified_rel(name)?;
                push(rel.as_ref().and_then(visible));
            }
        }
        Ok(())
    }

    /// The relation `name.*` refers to (rewriting `name` to its exact spelling).
    fn qualified_rel(&mut self, name: &mut ObjectName) -> Result<Option<Rel>, SqlError> {
        let Some(ident) = name.0.last().and_then(|p| p.as_ident()) else {
            return Ok(None);
        };
        let found = self.top_ref().and_then(|s| {
            s.rels.iter().find(|r| {
                r.qualifier
                    .as_deref()
                    .is_some_and(|q| q.eq_ignore_ascii_case(&ident.value))
            })
        });
        match found.cloned() {
            Some(rel) => {
                if let Some(q) = &rel.qualifier {
                    *name = ObjectName::from(vec![quoted(q)]);
                }
                Ok(Some(rel))
            }
            None => Err(names::missing_from_entry(&ident.value)),
        }
    }

    fn top(&mut self) -> &mut Scope {
        if self.scopes.is_empty() {
            self.scopes.push(Scope::default());
        }
        let last = self.scopes.len() - 1;
        &mut self.scopes[last]
    }

    fn top_ref(&self) -> Option<&Scope> {
        self.scopes.last()
    }
}

/// A relation's columns as `*` shows them.
fn visible(rel: &Rel) -> Option<Vec<OutCol>> {
    let cols = rel.cols.as_ref()?;
    Some(
        cols.iter()
            .filter(|c| !rel.hidden.iter().any(|h| h.eq_ignore_ascii_case(&c.name)))
            .cloned()
            .collect(),
    )
}

/// Renames a CTE's columns after its alias list (`WITH c(a, b) AS …`).
fn rename(cols: Option<Vec<OutCol>>, alias: &TableAlias) -> Option<Vec<OutCol>> {
    if alias.columns.is_empty() {
        return cols;
    }
    let mut cols = cols?;
    for (col, new) in cols.iter_mut().zip(&alias.columns) {
        col.name = new.name.value.clone();
    }
    Some(cols)
}

fn refuse_unsupported(s: &Select) -> Result<(), SqlError> {
    use sqlparser::ast::Distinct;
    if matches!(s.distinct, Some(Distinct::On(_))) {
        return Err(unsupported("DISTINCT ON"));
    }
    if s.top.is_some() {
        return Err(unsupported("TOP"));
    }
    if s.qualify.is_some() {
        return Err(unsupported("QUALIFY"));
    }
    if s.exclude.is_some()
        || !s.lateral_views.is_empty()
        || s.prewhere.is_some()
        || s.connect_by.is_some()
    {
        return Err(unsupported("This SELECT clause"));
    }
    if !s.cluster_by.is_empty() || !s.distribute_by.is_empty() || !s.sort_by.is_empty() {
        return Err(unsupported("CLUSTER/DISTRIBUTE/SORT BY"));
    }
    Ok(())
}

fn refuse_wildcard_options(o: &WildcardAdditionalOptions) -> Result<(), SqlError> {
    if o.opt_ilike.is_some()
        || o.opt_exclude.is_some()
        || o.opt_except.is_some()
        || o.opt_replace.is_some()
        || o.opt_rename.is_some()
    {
        return Err(unsupported("Options on *"));
    }
    Ok(())
}
