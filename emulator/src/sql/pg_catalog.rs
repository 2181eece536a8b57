//! The synthesized system catalog: `pg_catalog.pg_namespace`, `pg_class`,
//! `pg_attribute`, `pg_type`, `pg_attrdef`, `pg_description` and
//! `information_schema.tables`/`columns`/`schemata`, filled from the data
//! model so connectors that introspect like a PostgreSQL driver (the
//! `salesforce-datacloud-connector`'s `list_tables()`/`get_table_metadata()`)
//! find the org's objects in schema `public`.
//!
//! They are real SQLite tables named `<schema>__<relation>` (created once by
//! [`install`]); the resolver rewrites `pg_catalog.pg_class` and bare
//! `pg_class` to them. Object ids follow PostgreSQL where it has fixed ones.

use rusqlite::{params, Connection};

use super::catalog::{CatalogColumn, Relation, Schema};
use crate::model::{DataModel, DcType};

use DcType::{Bigint as Oid, Boolean as Bool, Double as Float, Integer as Int, Varchar as Text};

/// `pg_namespace` oids.
const NS_PG_CATALOG: i64 = 11;
const NS_PUBLIC: i64 = 2200;
const NS_INFORMATION_SCHEMA: i64 = 13_000;
/// The first oid given to the org's objects (PostgreSQL's first user oid).
pub(crate) const FIRST_USER_OID: i64 = 16_384;

type Columns = &'static [(&'static str, DcType)];

/// The synthesized relations and their columns.
const RELATIONS: &[(Schema, &str, Columns)] = &[
    (
        Schema::PgCatalog,
        "pg_namespace",
        &[
            ("oid", Oid),
            ("nspname", Text),
            ("nspowner", Oid),
            ("nspacl", Text),
        ],
    ),
    (
        Schema::PgCatalog,
        "pg_class",
        &[
            ("oid", Oid),
            ("relname", Text),
            ("relnamespace", Oid),
            ("reltype", Oid),
            ("relowner", Oid),
            ("relam", Oid),
            ("relkind", Text),
            ("relnatts", Int),
            ("relhasindex", Bool),
            ("relispartition", Bool),
            ("relpersistence", Text),
            ("reltuples", Float),
            ("relpages", Int),
            ("relacl", Text),
            ("reloptions", Text),
        ],
    ),
    (
        Schema::PgCatalog,
        "pg_attribute",
        &[
            ("attrelid", Oid),
            ("attname", Text),
            ("atttypid", Oid),
            ("attlen", Int),
            ("attnum", Int),
            ("atttypmod", Int),
            ("attnotnull", Bool),
            ("atthasdef", Bool),
            ("attisdropped", Bool),
            ("attidentity", Text),
            ("attgenerated", Text),
            ("attcollation", Oid),
            ("attndims", Int),
        ],
    ),
    (
        Schema::PgCatalog,
        "pg_type",
        &[
            ("oid", Oid),
            ("typname", Text),
            ("typnamespace", Oid),
            ("typlen", Int),
            ("typtype", Text),
            ("typcategory", Text),
            ("typnotnull", Bool),
            ("typbasetype", Oid),
            ("typtypmod", Int),
            ("typrelid", Oid),
            ("typelem", Oid),
            ("typarray", Oid),
        ],
    ),
    (
        Schema::PgCatalog,
        "pg_attrdef",
        &[
            ("oid", Oid),
            ("adrelid", Oid),
            ("adnum", Int),
            ("adbin", Text),
        ],
    ),
    (
        Schema::PgCatalog,
        "pg_description",
        &[
            ("objoid", Oid),
            ("classoid", Oid),
            ("objsubid", Int),
            ("description", Text),
        ],
    ),
    (
        Schema::Information,
        "schemata",
        &[
            ("catalog_name", Text),
            ("schema_name", Text),
            ("schema_owner", Text),
        ],
    ),
    (
        Schema::Information,
        "tables",
        &[
            ("table_catalog", Text),
            ("table_schema", Text),
            ("table_name", Text),
            ("table_type", Text),
        ],
    ),
    (
        Schema::Information,
        "columns",
        &[
            ("table_catalog", Text),
            ("table_schema", Text),
            ("table_name", Text),
            ("column_name", Text),
            ("ordinal_position", Int),
            ("column_default", Text),
            ("is_nullable", Text),
            ("data_type", Text),
            ("character_maximum_length", Int),
            ("numeric_precision", Int),
            ("numeric_scale", Int),
        ],
    ),
];

/// Fixed oids of catalog relations, for `'pg_class'::regclass`.
const RELATION_OIDS: &[(&str, i64)] = &[
    ("pg_class", 1259),
    ("pg_type", 1247),
    ("pg_attribute", 1249),
    ("pg_namespace", 2615),
    ("pg_attrdef", 2604),
    ("pg_description", 2609),
    ("pg_proc", 1255),
];

/// Types: oid, name, length, category.
const TYPES: &[(i64, &str, i64, &str)] = &[
    (16, "bool", 1, "B"),
    (18, "char", 1, "S"),
    (19, "name", 64, "S"),
    (20, "int8", 8, "N"),
    (21, "int2", 2, "N"),
    (23, "int4", 4, "N"),
    (25, "text", -1, "S"),
    (26, "oid", 4, "N"),
    (700, "float4", 4, "N"),
    (701, "float8", 8, "N"),
    (1043, "varchar", -1, "S"),
    (1082, "date", 4, "D"),
    (1114, "timestamp", 8, "D"),
    (1184, "timestamptz", 8, "D"),
    (1700, "numeric", -1, "N"),
];

/// The SQLite table holding a synthesized relation.
fn sqlite_name(schema: Schema, name: &str) -> String {
    format!("{}__{name}", schema.name())
}

/// The synthesized relations, for the catalog.
pub(crate) fn relations() -> Vec<Relation> {
    RELATIONS
        .iter()
        .map(|&(schema, name, cols)| {
            let cols = cols
                .iter()
                .map(|&(n, ty)| CatalogColumn {
                    name: n.to_string(),
                    ty,
                })
                .collect();
            Relation::new(name, schema, sqlite_name(schema, name), cols)
        })
        .collect()
}

/// The oid `'name'::regclass` stands for.
pub(crate) fn regclass(name: &str, model_index: Option<usize>) -> Option<i64> {
    let name = name.strip_prefix("pg_catalog.").unwrap_or(name);
    RELATION_OIDS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, oid)| oid)
        .or_else(|| model_index.map(|i| FIRST_USER_OID + i as i64))
}

/// `(type oid, typmod)` of a column type.
fn pg_type(ty: DcType) -> (i64, i64) {
    match ty {
        DcType::Varchar => (1043, -1),
        DcType::Decimal => (1700, ((18 << 16) | 2) + 4),
        DcType::Bigint => (20, -1),
        DcType::Integer => (23, -1),
        DcType::Double => (701, -1),
        DcType::Boolean => (16, -1),
        DcType::Date => (1082, -1),
        DcType::Timestamp => (1184, -1),
    }
}

/// `pg_catalog.format_type(oid, typmod)`.
pub(crate) fn format_type(oid: i64, typmod: i64) -> String {
    let base = match oid {
        16 => "boolean",
        18 => "\"char\"",
        19 => "name",
        20 => "bigint",
        21 => "smallint",
        23 => "integer",
        25 => "text",
        26 => "oid",
        700 => "real",
        701 => "double precision",
        1043 => "character varying",
        1082 => "date",
        1114 => "timestamp without time zone",
        1184 => "timestamp with time zone",
        1700 => "numeric",
        _ => return "???".into(),
    };
    match oid {
        1700 if typmod >= 4 => {
            let m = typmod - 4;
            format!("numeric({},{})", (m >> 16) & 0xffff, m & 0xffff)
        }
        1043 if typmod >= 4 => format!("character varying({})", typmod - 4),
        _ => base.into(),
    }
}

/// (precision, scale) for `information_schema.columns`.
fn precision(ty: DcType) -> (Option<i64>, Option<i64>) {
    match ty {
        DcType::Decimal => (Some(18), Some(2)),
        DcType::Bigint => (Some(64), Some(0)),
        DcType::Integer => (Some(32), Some(0)),
        DcType::Double => (Some(53), None),
        _ => (None, None),
    }
}

/// Creates and fills the relations (replacing earlier copies).
pub(crate) fn install(conn: &Connection, model: &DataModel) -> rusqlite::Result<()> {
    conn.execute_batch("SAVEPOINT dc_pg_catalog")?;
    let result = fill(conn, model);
    let end = if result.is_ok() {
        "RELEASE dc_pg_catalog"
    } else {
        "ROLLBACK TO dc_pg_catalog; RELEASE dc_pg_catalog"
    };
    conn.execute_batch(end)?;
    result
}

fn fill(conn: &Connection, model: &DataModel) -> rusqlite::Result<()> {
    for &(schema, name, cols) in RELATIONS {
        let table = sqlite_name(schema, name);
        let decls: Vec<String> = cols
            .iter()
            .map(|(c, ty)| format!("\"{c}\" {}", ty.sqlite_decl()))
            .collect();
        conn.execute_batch(&format!(
            "DROP TABLE IF EXISTS \"{table}\"; CREATE TABLE \"{table}\" ({});",
            decls.join(", ")
        ))?;
    }
    let mut ns = conn.prepare("INSERT INTO pg_catalog__pg_namespace VALUES (?1, ?2, 10, NULL)")?;
    for (oid, name) in [
        (NS_PG_CATALOG, "pg_catalog"),
        (NS_PUBLIC, "public"),
        (NS_INFORMATION_SCHEMA, "information_schema"),
    ] {
        ns.execute(params![oid, name])?;
        conn.execute(
            "INSERT INTO information_schema__schemata VALUES ('default', ?1, 'dc_emulator')",
            [name],
        )?;
    }
    let mut ty = conn.prepare(
        "INSERT INTO pg_catalog__pg_type VALUES (?1, ?2, 11, ?3, 'b', ?4, 0, 0, -1, 0, 0, 0)",
    )?;
    for &(oid, name, len, category) in TYPES {
        ty.execute(params![oid, name, len, category])?;
    }
    let mut class = conn.prepare(
        "INSERT INTO pg_catalog__pg_class VALUES (?1, ?2, 2200, 0, 10, 0, ?3, ?4, 0, 0, 'p', -1, 0, NULL, NULL)",
    )?;
    let mut attr = conn.prepare(
        "INSERT INTO pg_catalog__pg_attribute VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, 0, '', '', 0, 0)",
    )?;
    let mut table = conn
        .prepare("INSERT INTO information_schema__tables VALUES ('default', 'public', ?1, ?2)")?;
    let mut column = conn.prepare(
        "INSERT INTO information_schema__columns VALUES ('default', 'public', ?1, ?2, ?3, NULL, ?4, ?5, NULL, ?6, ?7)",
    )?;
    for (i, object) in model.objects.iter().enumerate() {
        let oid = FIRST_USER_OID + i as i64;
        let view = object.view_sql.is_some();
        class.execute(params![
            oid,
            object.name,
            if view { "v" } else { "r" },
            object.fields.len() as i64
        ])?;
        table.execute(params![
            object.name,
            if view { "VIEW" } else { "BASE TABLE" }
        ])?;
        for (j, field) in object.fields.iter().enumerate() {
            let (type_oid, typmod) = pg_type(field.ty);
            let len = TYPES.iter().find(|t| t.0 == type_oid).map_or(-1, |t| t.2);
            let not_null = object
                .primary_key
                .iter()
                .any(|k| k.eq_ignore_ascii_case(&field.name));
            let position = j as i64 + 1;
            attr.execute(params![
                oid, field.name, type_oid, len, position, typmod, not_null
            ])?;
            let data_type = field.ty.pg_name().split('(').next().unwrap_or_default();
            let (p, s) = precision(field.ty);
            let nullable = if not_null { "NO" } else { "YES" };
            column.execute(params![
                object.name,
                field.name,
                position,
                nullable,
                data_type,
                p,
                s
            ])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_type_spells_like_postgres() {
        for ty in [
            DcType::Varchar,
            DcType::Decimal,
            DcType::Bigint,
            DcType::Integer,
            DcType::Double,
            DcType::Boolean,
            DcType::Date,
            DcType::Timestamp,
        ] {
            let (oid, typmod) = pg_type(ty);
            assert_eq!(format_type(oid, typmod), ty.pg_name());
        }
        assert_eq!(format_type(1700, -1), "numeric");
        assert_eq!(format_type(1043, 259), "character varying(255)");
    }

    #[test]
    fn regclass_oids() {
        assert_eq!(regclass("pg_class", None), Some(1259));
        assert_eq!(regclass("pg_catalog.pg_type", None), Some(1247));
        assert_eq!(regclass("Foo__dlm", Some(2)), Some(FIRST_USER_OID + 2));
        assert_eq!(regclass("nope", None), None);
    }
}
