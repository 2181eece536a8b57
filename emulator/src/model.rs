//! The org's data model: objects (DLOs, DMOs, views) and their typed fields.
//!
//! Everything that needs to know "what tables exist and what type is each
//! column" reads these types: the SQL checker resolves names against them, the
//! store creates SQLite tables from them, the metadata endpoints render them.
//! `DcType` carries every spelling of a column type the wire uses, so each API
//! (V1/V2 `metadata`, Connect `query-sql`, metadata API, `pg_catalog`) asks the
//! type for its own name instead of keeping its own table.

use serde::Deserialize;

/// A Data Cloud column type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DcType {
    /// Text (`VARCHAR`).
    Varchar,
    /// Exact number; Data Cloud's NUMBER fields are DECIMAL(18,2) unless said otherwise.
    Decimal,
    /// 64-bit integer.
    Bigint,
    /// 32-bit integer.
    Integer,
    /// Floating point.
    Double,
    /// Boolean.
    Boolean,
    /// Calendar date (`yyyy-MM-dd`).
    Date,
    /// Instant (`TIMESTAMP WITH TIME ZONE`).
    Timestamp,
}

impl DcType {
    /// Name used in V1/V2 query `metadata.type` (upper case: `cdp` matches it case-sensitively).
    pub fn v2_name(self) -> &'static str {
        match self {
            DcType::Varchar => "VARCHAR",
            DcType::Decimal => "DECIMAL",
            DcType::Bigint => "BIGINT",
            DcType::Integer => "INTEGER",
            DcType::Double => "DOUBLE",
            DcType::Boolean => "BOOLEAN",
            DcType::Date => "DATE",
            DcType::Timestamp => "TIMESTAMP WITH TIME ZONE",
        }
    }

    /// JDBC `java.sql.Types` code used in V1/V2 `metadata.typeCode`.
    pub fn type_code(self) -> i32 {
        match self {
            DcType::Varchar => 12,
            DcType::Decimal => 3,
            DcType::Bigint => -5,
            DcType::Integer => 4,
            DcType::Double => 8,
            DcType::Boolean => 16,
            DcType::Date => 91,
            DcType::Timestamp => 2014,
        }
    }

    /// Name used in Connect `query-sql` `metadata[].type`.
    pub fn connect_name(self) -> &'static str {
        match self {
            DcType::Varchar => "Varchar",
            DcType::Decimal => "Numeric",
            DcType::Bigint => "BigInt",
            DcType::Integer => "Integer",
            DcType::Double => "Double",
            DcType::Boolean => "Bool",
            DcType::Date => "Date",
            DcType::Timestamp => "TimestampTZ",
        }
    }

    /// Name used by the metadata API (`/api/v1/metadata` fields[].type).
    pub fn metadata_name(self) -> &'static str {
        match self {
            DcType::Varchar => "STRING",
            DcType::Decimal | DcType::Bigint | DcType::Integer | DcType::Double => "NUMBER",
            DcType::Boolean => "BOOLEAN",
            DcType::Date => "DATE",
            DcType::Timestamp => "DATE_TIME",
        }
    }

    /// PostgreSQL `format_type` spelling, for the `pg_catalog` views.
    pub fn pg_name(self) -> &'static str {
        match self {
            DcType::Varchar => "character varying",
            DcType::Decimal => "numeric(18,2)",
            DcType::Bigint => "bigint",
            DcType::Integer => "integer",
            DcType::Double => "double precision",
            DcType::Boolean => "boolean",
            DcType::Date => "date",
            DcType::Timestamp => "timestamp with time zone",
        }
    }

    /// SQLite column declaration used by the store.
    pub fn sqlite_decl(self) -> &'static str {
        match self {
            DcType::Varchar | DcType::Date | DcType::Timestamp => "TEXT",
            DcType::Decimal | DcType::Double => "REAL",
            DcType::Bigint | DcType::Integer | DcType::Boolean => "INTEGER",
        }
    }
}

/// What kind of object a table is, as the metadata API's `entityType` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum EntityType {
    DataLakeObject,
    DataModelObject,
    CalculatedInsight,
}

impl EntityType {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityType::DataLakeObject => "DataLakeObject",
            EntityType::DataModelObject => "DataModelObject",
            EntityType::CalculatedInsight => "CalculatedInsight",
        }
    }
}

/// One field (column) of an object.
#[derive(Debug, Clone, Deserialize)]
pub struct FieldDef {
    /// API name with Data Cloud casing, e.g. `ssot__FirstName__c`.
    pub name: String,
    /// Human label for the metadata API.
    #[serde(default)]
    pub display_name: String,
    #[serde(rename = "type")]
    pub ty: DcType,
    /// `KQ_…__c` companion field, when the field is a key.
    #[serde(default)]
    pub key_qualifier: Option<String>,
}

/// A relationship, as the metadata API lists it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Relationship {
    pub from_entity: String,
    pub to_entity: String,
    pub from_entity_attribute: String,
    pub to_entity_attribute: String,
    pub cardinality: String,
}

/// One queryable object: a DLO, a DMO, or a convenience view over them.
#[derive(Debug, Clone, Deserialize)]
pub struct ObjectDef {
    /// API name, e.g. `ssot__Individual__dlm`.
    pub name: String,
    #[serde(default)]
    pub display_name: String,
    pub entity_type: EntityType,
    /// `Profile`, `Engagement`, `Related` or `Other`.
    pub category: String,
    pub fields: Vec<FieldDef>,
    #[serde(default)]
    pub primary_key: Vec<String>,
    #[serde(default)]
    pub relationships: Vec<Relationship>,
    /// When set, the object is a SQLite view defined by this SELECT (over other objects)
    /// instead of a table with rows of its own.
    #[serde(default)]
    pub view_sql: Option<String>,
}

impl ObjectDef {
    /// The field with this name, compared case-insensitively (unquoted SQL names).
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }
}

/// All objects of one data space.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DataModel {
    pub objects: Vec<ObjectDef>,
}

impl DataModel {
    /// The object with this name, compared case-insensitively.
    pub fn object(&self, name: &str) -> Option<&ObjectDef> {
        self.objects
            .iter()
            .find(|o| o.name.eq_ignore_ascii_case(name))
    }
}
