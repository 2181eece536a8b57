//! One resolution, in memory: source profiles and contact points in, unified
//! and link rows out. Pure (no store, no clock), so the fixture generator
//! and the run-now job share it.
//!
//! Order of work: profiles sorted by id (so nothing depends on row order) →
//! match rules cluster them → clusters get ids (new or kept, `ids.rs`) →
//! each cluster becomes a unified individual with reconciled values and one
//! link per source profile → each cluster's contact points, grouped by their
//! normalized address or number, become unified contact points with links.

use std::collections::{BTreeMap, HashMap};

use rusqlite::types::Value;

use crate::model::{DataModel, ObjectDef};
use crate::org::identity::{MatchMethod, Reconciliation, Ruleset};

use super::normalize::{self, FieldKind};
use super::reconcile::{self, SysCols};
use super::table::{is_empty, Table};
use super::{ids, matching};

/// Everything a resolution reads.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The source profiles (`ssot__Individual__dlm`).
    pub individuals: Table,
    /// Contact point objects named by match or reconciliation rules.
    pub contact_points: Vec<Table>,
}

/// What a resolution writes, and its counts.
#[derive(Debug, Clone)]
pub struct Outputs {
    pub tables: Vec<Table>,
    pub stats: Stats,
}

/// Counts of one resolution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub sources: usize,
    /// Source profiles unified with at least one other.
    pub matched: usize,
    pub unified: usize,
    /// Unified profiles none of whose sources has a first or last name.
    pub anonymous: usize,
}

/// Source profiles sorted by id, with their contact points.
pub struct Profiles<'a> {
    pub table: &'a Table,
    /// Profile index → row of `table`.
    pub rows: Vec<usize>,
    pub ids: Vec<&'a str>,
    pub contact_points: Vec<ContactPoints<'a>>,
}

/// One contact point object's rows per profile.
pub struct ContactPoints<'a> {
    pub table: &'a Table,
    /// Profile index → rows of `table`, ascending by contact point id.
    pub by_profile: Vec<Vec<usize>>,
}

impl Profiles<'_> {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Fields copied from a source row, never reconciled into a unified one.
const SYSTEM: &[&str] = &[
    "ssot__Id__c",
    "ssot__PartyId__c",
    "ssot__DataSourceId__c",
    "ssot__DataSourceObjectId__c",
    "ssot__CreatedDate__c",
    "ssot__LastModifiedDate__c",
    "KQ_Id__c",
];

/// Resolves `inputs` under `ruleset`; `previous` maps source profile id →
/// unified id from the last run (empty for a first run).
pub fn resolve(
    ruleset: &Ruleset,
    model: &DataModel,
    inputs: &Inputs,
    previous: &HashMap<String, String>,
) -> Result<Outputs, String> {
    let profiles = profiles(inputs);
    let groups = matching::cluster(&ruleset.match_rules, &profiles);
    let unified_ids = ids::assign(
        &ruleset.ruleset_id,
        "Individual",
        &groups,
        &profiles.ids,
        previous,
    );
    let ind = ruleset.individual_rules();
    let table = profiles.table;
    let sys = SysCols::of(table);
    let mut unified = Table::empty(object(model, &ind.unified)?);
    let mut links = Table::empty(object(model, &ind.link)?);
    let mut modified_of = Vec::with_capacity(groups.len());
    for (group, uid) in groups.iter().zip(&unified_ids) {
        let rows: Vec<usize> = group.iter().map(|&p| profiles.rows[p]).collect();
        let row = unified_row(&unified, ind, table, &sys, &rows, uid, None);
        let modified = reconcile::extreme(table, sys.modified, &rows, true);
        unified.rows.push(row);
        for &r in &rows {
            links
                .rows
                .push(link_row(&links, table, &sys, r, uid, &modified));
        }
        modified_of.push(modified);
    }
    let mut tables = vec![unified, links];
    for rec in ruleset.contact_points() {
        let Some(cp) = profiles
            .contact_points
            .iter()
            .find(|c| c.table.object == rec.entity)
        else {
            continue;
        };
        let (u, l) = unify_contact_points(ruleset, model, rec, cp, &groups, &unified_ids)?;
        tables.push(u);
        tables.push(l);
    }
    let name_cols = [
        table.col("ssot__FirstName__c"),
        table.col("ssot__LastName__c"),
    ];
    let anonymous = groups
        .iter()
        .filter(|g| {
            g.iter().all(|&p| {
                name_cols
                    .iter()
                    .flatten()
                    .all(|&c| is_empty(&table.rows[profiles.rows[p]][c]))
            })
        })
        .count();
    let stats = Stats {
        sources: profiles.len(),
        matched: groups.iter().filter(|g| g.len() > 1).map(Vec::len).sum(),
        unified: groups.len(),
        anonymous,
    };
    Ok(Outputs { tables, stats })
}

fn object<'m>(model: &'m DataModel, name: &str) -> Result<&'m ObjectDef, String> {
    model
        .object(name)
        .ok_or_else(|| format!("object `{name}` is not in the data model"))
}

fn profiles(inputs: &Inputs) -> Profiles<'_> {
    let table = &inputs.individuals;
    let id_col = table.col("ssot__Id__c");
    let mut rows: Vec<(&str, usize)> = (0..table.rows.len())
        .filter_map(|r| match id_col.map(|c| &table.rows[r][c]) {
            Some(Value::Text(id)) if !id.is_empty() => Some((id.as_str(), r)),
            _ => None,
        })
        .collect();
    rows.sort_unstable();
    rows.dedup_by(|a, b| a.0 == b.0);
    let index: HashMap<&str, usize> = rows
        .iter()
        .enumerate()
        .map(|(p, (id, _))| (*id, p))
        .collect();
    let contact_points = inputs
        .contact_points
        .iter()
        .map(|t| {
            let (id, party) = (t.col("ssot__Id__c"), t.col("ssot__PartyId__c"));
            let mut by_profile = vec![Vec::new(); rows.len()];
            let mut order: Vec<(String, usize)> = (0..t.rows.len())
                .map(|r| (t.text(r, id).map(|s| s.into_owned()).unwrap_or_default(), r))
                .collect();
            order.sort_unstable();
            for (_, r) in order {
                if let Some(&p) = t.text(r, party).and_then(|s| index.get(s.as_ref())) {
                    by_profile[p].push(r);
                }
            }
            ContactPoints {
                table: t,
                by_profile,
            }
        })
        .collect();
    Profiles {
        table,
        ids: rows.iter().map(|(id, _)| *id).collect(),
        rows: rows.into_iter().map(|(_, r)| r).collect(),
        contact_points,
    }
}

/// A unified row: its id, earliest creation, latest modification, the party
/// it belongs to (contact points), and every other field the source object
/// shares with it, reconciled.
fn unified_row(
    out: &Table,
    rec: &Reconciliation,
    source: &Table,
    sys: &SysCols,
    rows: &[usize],
    id: &str,
    party: Option<&str>,
) -> Vec<Value> {
    out.columns
        .iter()
        .map(|f| {
            let is = |name: &str| f.eq_ignore_ascii_case(name);
            if is("ssot__Id__c") {
                Value::Text(id.to_owned())
            } else if is("ssot__PartyId__c") {
                party.map_or(Value::Null, |p| Value::Text(p.to_owned()))
            } else if is("ssot__CreatedDate__c") {
                reconcile::extreme(source, sys.created, rows, false)
            } else if is("ssot__LastModifiedDate__c") {
                reconcile::extreme(source, sys.modified, rows, true)
            } else if SYSTEM.iter().any(|s| is(s)) {
                Value::Null
            } else {
                match source.col(f) {
                    Some(c) => reconcile::pick(rec.rule_for(f), source, sys, rows, c),
                    None => Value::Null,
                }
            }
        })
        .collect()
}

/// A link row: which unified record one source record went into.
fn link_row(
    out: &Table,
    source: &Table,
    sys: &SysCols,
    row: usize,
    unified_id: &str,
    modified: &Value,
) -> Vec<Value> {
    let copy = |c: Option<usize>| c.map_or(Value::Null, |c| source.rows[row][c].clone());
    out.columns
        .iter()
        .map(|f| match f.as_str() {
            "SourceRecordId__c" => copy(sys.id),
            "KQ_SourceRecordId__c" => copy(source.col("KQ_Id__c")),
            "UnifiedRecordId__c" => Value::Text(unified_id.to_owned()),
            "ssot__DataSourceId__c" => copy(sys.source),
            "ssot__DataSourceObjectId__c" => copy(sys.source_object),
            "ssot__LastModifiedDate__c" => modified.clone(),
            _ => Value::Null,
        })
        .collect()
}

/// Unified contact points of one object: per cluster, one per normalized
/// value; the id hashes the unified individual's id and that value.
fn unify_contact_points(
    ruleset: &Ruleset,
    model: &DataModel,
    rec: &Reconciliation,
    cp: &ContactPoints<'_>,
    groups: &[Vec<usize>],
    unified_ids: &[String],
) -> Result<(Table, Table), String> {
    let mut unified = Table::empty(object(model, &rec.unified)?);
    let mut links = Table::empty(object(model, &rec.link)?);
    let sys = SysCols::of(cp.table);
    let kind = rec
        .entity
        .strip_prefix("ssot__")
        .unwrap_or(&rec.entity)
        .trim_end_matches("__dlm");
    for (group, uid) in groups.iter().zip(unified_ids) {
        let mut by_key: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for &p in group {
            for &r in &cp.by_profile[p] {
                by_key.entry(contact_key(cp.table, r)).or_default().push(r);
            }
        }
        for (key, rows) in by_key {
            let id = ids::fresh(&ruleset.ruleset_id, kind, &format!("{uid}\u{0}{key}"));
            let modified = reconcile::extreme(cp.table, sys.modified, &rows, true);
            unified.rows.push(unified_row(
                &unified,
                rec,
                cp.table,
                &sys,
                &rows,
                &id,
                Some(uid),
            ));
            for &r in &rows {
                links
                    .rows
                    .push(link_row(&links, cp.table, &sys, r, &id, &modified));
            }
        }
    }
    Ok((unified, links))
}

/// What makes two contact points of one person the same: the normalized
/// email or E.164 number; a row with neither stays on its own.
fn contact_key(table: &Table, row: usize) -> String {
    let fields = [
        ("ssot__EmailAddress__c", FieldKind::Email),
        ("ssot__FormattedE164PhoneNumber__c", FieldKind::Phone),
        ("ssot__TelephoneNumber__c", FieldKind::Phone),
    ];
    for (field, kind) in fields {
        let text = table.text(row, table.col(field));
        if let Some(k) = text.and_then(|t| normalize::key(MatchMethod::ExactNormalized, kind, &t)) {
            return k;
        }
    }
    let id = table
        .text(row, table.col("ssot__Id__c"))
        .unwrap_or_default();
    format!("#{id}")
}
