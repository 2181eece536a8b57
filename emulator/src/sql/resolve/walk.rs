//! The expression walk: a `VisitorMut` that rewrites each name (and applies
//! type-directed coercions) bottom-up, resolving a nested query whole the
//! first time it is met and then skipping over it.

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, Query, VisitMut, VisitorMut};

use super::Resolver;
use crate::sql::{typing, SqlError};

impl Resolver<'_> {
    /// Resolves the names inside `node` (an expression or a clause) in the current scopes.
    pub(super) fn node<T: VisitMut>(
        &mut self,
        node: &mut T,
        aliases: bool,
    ) -> Result<(), SqlError> {
        let mut visitor = ExprResolver {
            r: self,
            depth: 0,
            aliases,
        };
        match node.visit(&mut visitor) {
            ControlFlow::Break(e) => Err(e),
            ControlFlow::Continue(()) => Ok(()),
        }
    }
}

/// Resolves identifiers inside one expression tree; a nested query is
/// resolved whole when first met, and the rest of the walk skips it.
struct ExprResolver<'a, 'c> {
    r: &'a mut Resolver<'c>,
    /// How many nested queries deep the walk is (0: our own expression).
    depth: usize,
    /// Output aliases count as names here (ORDER BY, GROUP BY, HAVING).
    aliases: bool,
}

impl VisitorMut for ExprResolver<'_, '_> {
    type Break = SqlError;

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<SqlError> {
        if self.depth == 0 {
            if let Err(e) = self.r.query(query) {
                return ControlFlow::Break(e);
            }
        }
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &mut Query) -> ControlFlow<SqlError> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<SqlError> {
        if self.depth > 0 {
            return ControlFlow::Continue(());
        }
        match self.r.rewrite_name(expr, self.aliases) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<SqlError> {
        if self.depth > 0 {
            return ControlFlow::Continue(());
        }
        match typing::coerce(self.r, expr) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }
}
