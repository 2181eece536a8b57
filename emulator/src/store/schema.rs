//! Tables, indexes and views from the data model, and the hidden
//! `__dc_meta` table that records a finished seeding.
//!
//! Every name comes from the model, whose loader allows only letters, digits
//! and `_`, so double-quoting is enough to keep catalog casing
//! (`"ssot__Individual__dlm"`). Primary keys become table constraints (the
//! ingestion upsert needs them); relationship attributes get indexes so
//! joins between DMOs (and the `UnifiedIndividual` view) stay fast.

use rusqlite::{Connection, OptionalExtension};

use crate::model::{DataModel, ObjectDef};

use super::StoreError;

/// Layout version of what the store itself creates; bump on changes.
const LAYOUT: &str = "1";

/// Creates the table of every non-view object.
pub(crate) fn create_tables(conn: &Connection, model: &DataModel) -> Result<(), StoreError> {
    for object in model.objects.iter().filter(|o| o.view_sql.is_none()) {
        conn.execute_batch(&create_table_sql(object))
            .map_err(|e| seed_err(object, format!("cannot create table: {e}")))?;
    }
    Ok(())
}

/// Creates the indexes (after seeding: building them once is faster than
/// updating them row by row), then the views, checking each view's columns
/// against its fields.
pub(crate) fn create_indexes_and_views(
    conn: &Connection,
    model: &DataModel,
) -> Result<(), StoreError> {
    for object in &model.objects {
        for r in &object.relationships {
            for (entity, attribute) in [
                (&r.from_entity, &r.from_entity_attribute),
                (&r.to_entity, &r.to_entity_attribute),
            ] {
                let Some(target) = model.object(entity) else {
                    continue;
                };
                let Some(field) = target.field(attribute) else {
                    continue;
                };
                if target.view_sql.is_some() || target.primary_key.first() == Some(&field.name) {
                    continue;
                }
                conn.execute_batch(&format!(
                    "CREATE INDEX IF NOT EXISTS \"__dc_ix_{t}_{f}\" ON \"{t}\" (\"{f}\")",
                    t = target.name,
                    f = field.name
                ))?;
            }
        }
    }
    for object in model.objects.iter().filter(|o| o.view_sql.is_some()) {
        create_view(conn, object)?;
    }
    Ok(())
}

fn create_table_sql(object: &ObjectDef) -> String {
    let mut columns: Vec<String> = object
        .fields
        .iter()
        .map(|f| format!("\"{}\" {}", f.name, f.ty.sqlite_decl()))
        .collect();
    if !object.primary_key.is_empty() {
        let keys: Vec<String> = object
            .primary_key
            .iter()
            .map(|k| format!("\"{k}\""))
            .collect();
        columns.push(format!("PRIMARY KEY ({})", keys.join(", ")));
    }
    format!("CREATE TABLE \"{}\" ({})", object.name, columns.join(", "))
}

fn create_view(conn: &Connection, object: &ObjectDef) -> Result<(), StoreError> {
    let sql = object.view_sql.as_deref().unwrap_or_default();
    conn.execute_batch(&format!("CREATE VIEW \"{}\" AS {sql}", object.name))
        .map_err(|e| seed_err(object, format!("view_sql: {e}")))?;
    let stmt = conn
        .prepare(&format!("SELECT * FROM \"{}\" LIMIT 0", object.name))
        .map_err(|e| seed_err(object, format!("view_sql: {e}")))?;
    let columns: Vec<&str> = stmt.column_names();
    let fields: Vec<&str> = object.fields.iter().map(|f| f.name.as_str()).collect();
    if columns != fields {
        return Err(seed_err(
            object,
            format!(
                "view_sql returns columns [{}] but the fields are [{}]",
                columns.join(", "),
                fields.join(", ")
            ),
        ));
    }
    Ok(())
}

fn seed_err(object: &ObjectDef, message: String) -> StoreError {
    StoreError::Seed {
        object: object.name.clone(),
        message,
    }
}

/// What a database records about its seeding, when it was seeded.
pub(crate) struct Seeded {
    pub fingerprint: String,
}

/// Reads `__dc_meta`; `None` for a database never (fully) seeded.
pub(crate) fn seeded(conn: &Connection) -> Result<Option<Seeded>, StoreError> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = '__dc_meta')",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(None);
    }
    let fingerprint: Option<String> = conn
        .query_row(
            "SELECT value FROM \"__dc_meta\" WHERE key = 'model_fingerprint'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(fingerprint.map(|fingerprint| Seeded { fingerprint }))
}

/// Records a finished seeding (inside the seeding transaction).
pub(crate) fn mark_seeded(
    conn: &Connection,
    org_id: &str,
    fingerprint: &str,
    rows: usize,
) -> Result<(), StoreError> {
    conn.execute_batch("CREATE TABLE \"__dc_meta\" (key TEXT PRIMARY KEY, value TEXT NOT NULL)")?;
    let mut insert = conn.prepare("INSERT INTO \"__dc_meta\" (key, value) VALUES (?1, ?2)")?;
    for (k, v) in [
        ("layout", LAYOUT.to_owned()),
        ("org_id", org_id.to_owned()),
        ("model_fingerprint", fingerprint.to_owned()),
        ("seed_rows", rows.to_string()),
    ] {
        insert.execute([k, v.as_str()])?;
    }
    Ok(())
}

/// A stable digest of the model's shape (objects, fields, types, keys,
/// views). A database seeded from another model is refused rather than
/// queried with the wrong columns. FNV-1a: no crypto needed, only change
/// detection.
pub(crate) fn fingerprint(model: &DataModel) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |s: &str| {
        for b in s.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    feed(LAYOUT);
    for o in &model.objects {
        feed(&o.name);
        for f in &o.fields {
            feed(&f.name);
            feed(f.ty.v2_name());
        }
        feed(&o.primary_key.join(","));
        feed(o.view_sql.as_deref().unwrap_or(""));
    }
    format!("{h:016x}")
}
