//! The catalog: every relation a query may name (the data model's objects and
//! the synthesized `pg_catalog` / `information_schema` relations), looked up
//! case-insensitively, plus the plan cache and the clock `NOW()` reads.
//!
//! Built once per org (the lead keeps it in `AppState`), never per request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{check, parse, pg_catalog, resolve, translate, Plan, SqlError, SqlErrorKind};
use crate::clock::Clock;
use crate::model::{DataModel, DcType};

/// Plans kept at most; the cache is cleared when full (queries repeat a lot,
/// distinct texts are few, so a real LRU buys nothing).
const PLAN_CACHE_ENTRIES: usize = 512;
/// Texts longer than this are planned every time instead of cached.
const PLAN_CACHE_MAX_SQL: usize = 16 * 1024;
/// Statements up to this weight (operators and brackets, see
/// `parse::weight`) are planned on the caller's thread. sqlparser's derived
/// visitors take ~10-15 KiB of stack per tree level in debug builds, so a
/// 2 MiB worker stack holds ~130 levels; heavier statements (up to
/// `parse::MAX_WEIGHT`) get a thread with `PLAN_STACK`.
const INLINE_WEIGHT: usize = 32;
/// Stack of the planning thread for heavy statements (reserved, not committed).
const PLAN_STACK: usize = 64 << 20;

/// The schema a relation lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Schema {
    /// The org's objects (Hyper shows them in `public`).
    Public,
    PgCatalog,
    Information,
}

impl Schema {
    pub fn name(self) -> &'static str {
        match self {
            Schema::Public => "public",
            Schema::PgCatalog => "pg_catalog",
            Schema::Information => "information_schema",
        }
    }

    fn parse(name: &str) -> Option<Schema> {
        [Schema::Public, Schema::PgCatalog, Schema::Information]
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }
}

/// One column of a relation.
#[derive(Debug, Clone)]
pub(crate) struct CatalogColumn {
    /// Catalog casing, e.g. `ssot__FirstName__c`.
    pub name: String,
    pub ty: DcType,
}

/// One queryable relation.
#[derive(Debug)]
pub(crate) struct Relation {
    /// Catalog casing, e.g. `ssot__Individual__dlm` or `pg_class`.
    pub name: String,
    pub schema: Schema,
    /// The SQLite table or view holding it (differs for the synthesized ones).
    pub sqlite_name: String,
    pub columns: Vec<CatalogColumn>,
}

impl Relation {
    pub fn new(
        name: &str,
        schema: Schema,
        sqlite_name: String,
        columns: Vec<CatalogColumn>,
    ) -> Self {
        Relation {
            name: name.to_string(),
            schema,
            sqlite_name,
            columns,
        }
    }
}

/// Name resolution for SQL, built from the data model.
pub struct Catalog {
    relations: Vec<Relation>,
    by_name: HashMap<(Schema, String), usize>,
    clock: Clock,
    plans: Mutex<HashMap<String, Arc<Plan>>>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("relations", &self.relations.len())
            .finish_non_exhaustive()
    }
}

impl Catalog {
    pub fn new(model: &DataModel) -> Catalog {
        let mut relations: Vec<Relation> = model
            .objects
            .iter()
            .map(|o| {
                let cols = o
                    .fields
                    .iter()
                    .map(|f| CatalogColumn {
                        name: f.name.clone(),
                        ty: f.ty,
                    })
                    .collect();
                Relation::new(&o.name, Schema::Public, o.name.clone(), cols)
            })
            .collect();
        relations.extend(pg_catalog::relations());
        let by_name = relations
            .iter()
            .enumerate()
            .map(|(i, r)| ((r.schema, r.name.to_ascii_lowercase()), i))
            .collect();
        Catalog {
            relations,
            by_name,
            clock: Clock::default(),
            plans: Mutex::new(HashMap::new()),
        }
    }

    /// Makes `NOW()`, `CURRENT_DATE`, … read `clock` (the emulator's virtual
    /// clock) instead of a private real-time one.
    pub fn with_clock(mut self, clock: Clock) -> Catalog {
        self.clock = clock;
        self
    }

    /// The relation `schema.name` (or `name` on the search path: `public`,
    /// then `pg_catalog`, as PostgreSQL does), case-insensitively.
    pub(crate) fn relation(&self, schema: Option<&str>, name: &str) -> Option<&Relation> {
        let key = name.to_ascii_lowercase();
        let find = |s: Schema| {
            self.by_name
                .get(&(s, key.clone()))
                .map(|&i| &self.relations[i])
        };
        match schema {
            Some(s) => find(Schema::parse(s)?),
            None => find(Schema::Public).or_else(|| find(Schema::PgCatalog)),
        }
    }

    /// The oid `'name'::regclass` denotes (the org's objects are numbered in
    /// model order, as `pg_class` lists them).
    pub(crate) fn regclass(&self, name: &str) -> Option<i64> {
        let index = self
            .by_name
            .get(&(Schema::Public, name.to_ascii_lowercase()))
            .copied();
        pg_catalog::regclass(name, index)
    }

    /// Parses, checks, resolves and translates `sql`, or returns the cached plan.
    pub(crate) fn plan(&self, sql: &str) -> Result<Arc<Plan>, SqlError> {
        if let Some(plan) = self.cached(sql) {
            return Ok(plan);
        }
        let (plan, uses_clock) = if parse::weight(sql)? <= INLINE_WEIGHT {
            self.build(sql)?
        } else {
            // Deep trees get a thread with a stack to match (see INLINE_WEIGHT).
            std::thread::scope(|s| {
                std::thread::Builder::new()
                    .name("sql-plan".into())
                    .stack_size(PLAN_STACK)
                    .spawn_scoped(s, || self.build(sql))
                    .map_err(|e| {
                        SqlError::new(SqlErrorKind::Execution, format!("cannot plan: {e}"))
                    })?
                    .join()
                    .map_err(|_| {
                        SqlError::new(SqlErrorKind::Execution, "planning the statement failed")
                    })?
            })?
        };
        let plan = Arc::new(plan);
        // A plan with NOW() baked in is only good for this instant.
        if !uses_clock && sql.len() <= PLAN_CACHE_MAX_SQL {
            if let Ok(mut plans) = self.plans.lock() {
                if plans.len() >= PLAN_CACHE_ENTRIES {
                    plans.clear();
                }
                plans.insert(sql.to_string(), plan.clone());
            }
        }
        Ok(plan)
    }

    /// Parse → check → resolve → translate → render.
    fn build(&self, sql: &str) -> Result<(Plan, bool), SqlError> {
        let statement = parse::parse(sql)?;
        let mut query = check::read_only(statement)?;
        let columns = resolve::resolve(self, &mut query)?;
        let uses_clock = translate::translate(&mut query, self.clock.now_ms())?;
        let plan = Plan {
            sqlite_sql: query.to_string(),
            columns,
        };
        Ok((plan, uses_clock))
    }

    fn cached(&self, sql: &str) -> Option<Arc<Plan>> {
        self.plans.lock().ok()?.get(sql).cloned()
    }
}
