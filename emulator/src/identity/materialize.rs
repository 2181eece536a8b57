//! The store side of a run: reading the inputs and the previous links, and
//! bringing the unified and link objects to the resolved rows — inside the
//! caller's write transaction, so readers see the old unified profiles or
//! the new ones, never a mix.
//!
//! Writes are a diff against what the objects hold, keyed by primary key:
//! unchanged rows are not touched, so a run that changes nothing writes
//! nothing (and says so in its [`Changes`]).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};

use crate::model::DataModel;
use crate::org::identity::Ruleset;

use super::resolve::Inputs;
use super::table::{cell_text, Table};

/// Rows written by a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changes {
    pub inserted: usize,
    pub updated: usize,
    pub deleted: usize,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.inserted + self.updated + self.deleted == 0
    }
}

/// Contact point objects a ruleset reads: those its criteria or
/// reconciliation rules name.
pub fn contact_point_objects(ruleset: &Ruleset) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let named = ruleset
        .match_rules
        .iter()
        .flat_map(|r| r.criteria.iter().map(|c| &c.entity))
        .chain(ruleset.contact_points().iter().map(|r| &r.entity));
    for entity in named {
        if *entity != ruleset.individual && !out.contains(entity) {
            out.push(entity.clone());
        }
    }
    out
}

/// Every row of the objects the ruleset reads.
pub fn load_inputs(
    conn: &Connection,
    model: &DataModel,
    ruleset: &Ruleset,
) -> Result<Inputs, String> {
    let load = |name: &str| {
        let object = model
            .object(name)
            .ok_or_else(|| format!("object `{name}` is not in the data model"))?;
        Table::load(conn, object).map_err(|e| format!("reading {name}: {e}"))
    };
    let individuals = load(&ruleset.individual)?;
    let contact_points = contact_point_objects(ruleset)
        .iter()
        .map(|o| load(o))
        .collect::<Result<_, _>>()?;
    Ok(Inputs {
        individuals,
        contact_points,
    })
}

/// The current rows of the objects the ruleset writes.
pub fn load_outputs(
    conn: &Connection,
    model: &DataModel,
    ruleset: &Ruleset,
) -> Result<Vec<Table>, String> {
    ruleset
        .reconciliation
        .iter()
        .flat_map(|r| [&r.unified, &r.link])
        .map(|name| {
            let object = model
                .object(name)
                .ok_or_else(|| format!("object `{name}` is not in the data model"))?;
            Table::load(conn, object).map_err(|e| format!("reading {name}: {e}"))
        })
        .collect()
}

/// Source profile id → unified id, from the individual link object.
pub fn previous_links(links: &Table) -> HashMap<String, String> {
    let (s, u) = (
        links.col("SourceRecordId__c"),
        links.col("UnifiedRecordId__c"),
    );
    (0..links.rows.len())
        .filter_map(|r| {
            Some((
                links.text(r, s)?.into_owned(),
                links.text(r, u)?.into_owned(),
            ))
        })
        .collect()
}

/// Makes each object hold exactly the rows of its table in `desired`;
/// `current` holds what it holds now (same objects, same order).
pub fn write(
    conn: &Connection,
    model: &DataModel,
    current: &[Table],
    desired: &[Table],
) -> Result<Changes, String> {
    let mut changes = Changes::default();
    for want in desired {
        let have = current.iter().find(|t| t.object == want.object);
        let object = model
            .object(&want.object)
            .ok_or_else(|| format!("object `{}` is not in the data model", want.object))?;
        let pk: Vec<usize> = object
            .primary_key
            .iter()
            .filter_map(|k| want.col(k))
            .collect();
        write_one(conn, want, have, &pk, &mut changes)
            .map_err(|e| format!("writing {}: {e}", want.object))?;
    }
    Ok(changes)
}

fn write_one(
    conn: &Connection,
    want: &Table,
    have: Option<&Table>,
    pk: &[usize],
    changes: &mut Changes,
) -> rusqlite::Result<()> {
    let quoted: Vec<String> = want.columns.iter().map(|c| format!("\"{c}\"")).collect();
    if pk.is_empty() {
        // No key to diff on: replace everything (only when something differs).
        if have.is_some_and(|h| h.rows == want.rows) {
            return Ok(());
        }
        changes.deleted += conn.execute(&format!("DELETE FROM \"{}\"", want.object), [])?;
        insert_all(conn, want, &quoted, want.rows.iter(), changes, false)?;
        return Ok(());
    }
    let old: HashMap<Cow<'_, str>, &Vec<Value>> = have
        .map(|h| h.rows.iter().map(|r| (row_key(r, pk), r)).collect())
        .unwrap_or_default();
    let mut wanted: HashSet<Cow<'_, str>> = HashSet::with_capacity(want.rows.len());
    let mut fresh = Vec::new();
    let mut changed = Vec::new();
    for row in &want.rows {
        let k = row_key(row, pk);
        match old.get(&k) {
            None => fresh.push(row),
            Some(o) if *o != row => changed.push(row),
            Some(_) => {}
        }
        wanted.insert(k);
    }
    let condition: Vec<String> = pk
        .iter()
        .enumerate()
        .map(|(i, &c)| format!("\"{}\" = ?{}", want.columns[c], i + 1))
        .collect();
    let mut delete = conn.prepare(&format!(
        "DELETE FROM \"{}\" WHERE {}",
        want.object,
        condition.join(" AND ")
    ))?;
    for (k, row) in &old {
        if !wanted.contains(k) {
            changes.deleted += delete.execute(params_from_iter(pk.iter().map(|&c| &row[c])))?;
        }
    }
    insert_all(conn, want, &quoted, fresh.into_iter(), changes, false)?;
    insert_all(conn, want, &quoted, changed.into_iter(), changes, true)?;
    Ok(())
}

/// A row's primary key as text. It borrows the text of a one-column key
/// (every unified and link object has one) instead of allocating hundreds of
/// thousands of strings.
fn row_key<'a>(row: &'a [Value], pk: &[usize]) -> Cow<'a, str> {
    match pk {
        [c] => cell_text(&row[*c]).unwrap_or_default(),
        _ => Cow::Owned(
            pk.iter()
                .map(|&c| cell_text(&row[c]).unwrap_or_default())
                .collect::<Vec<_>>()
                .join("\u{1f}"),
        ),
    }
}

fn insert_all<'a>(
    conn: &Connection,
    table: &Table,
    quoted: &[String],
    rows: impl Iterator<Item = &'a Vec<Value>>,
    changes: &mut Changes,
    replace: bool,
) -> rusqlite::Result<()> {
    let marks: Vec<String> = (1..=quoted.len()).map(|i| format!("?{i}")).collect();
    let mut stmt = conn.prepare(&format!(
        "INSERT OR REPLACE INTO \"{}\" ({}) VALUES ({})",
        table.object,
        quoted.join(", "),
        marks.join(", ")
    ))?;
    for row in rows {
        stmt.execute(params_from_iter(row.iter()))?;
        if replace {
            changes.updated += 1;
        } else {
            changes.inserted += 1;
        }
    }
    Ok(())
}
