//! Ingestion API schema files: OpenAPI 3.0.x YAML with one object per entry
//! of `components.schemas`, checked by Salesforce's rules for connector
//! schemas.
//!
//! The rules: at least one object, each with at least one field and at
//! most 1000; names of letters, digits, `_` and `-`, at most 80 characters,
//! unique case-insensitively; field names without `__`, not starting with
//! `KQ_` (key qualifiers) and not one of the reserved names; flat objects
//! only (no nested object, array or `$ref`); and the types Data Cloud
//! supports: text (`string`), number (`number`/`integer`), boolean, and the
//! string formats `date`, `date-time`, `email`, `phone`, `url`, plus
//! `percent` on numbers. Every error names the object, the field and the
//! line; the caller adds the file.
//!
//! YAML is read with `saphyr` (YAML 1.2, so `on:`/`no:` stay strings, and
//! every node carries its position).

use std::collections::HashSet;
use std::fmt;

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use super::{FieldKind, SchemaField, SchemaObject};

/// Field names Salesforce reserves.
const RESERVED: &[&str] = &[
    "date_id",
    "location_id",
    "dat_account_currency",
    "dat_exchange_rate",
    "pacing_period",
    "pacing_end_date",
    "row_count",
    "version",
];
const MAX_NAME: usize = 80;
const MAX_FIELDS: usize = 1000;

/// Keys of a property that would make it something other than a flat field.
const NESTING_KEYS: &[&str] = &[
    "properties",
    "items",
    "$ref",
    "allOf",
    "oneOf",
    "anyOf",
    "additionalProperties",
];

/// What is wrong with a schema file, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// 1-based line, 0 when unknown.
    pub line: usize,
    pub object: Option<String>,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.object, &self.field) {
            (Some(o), Some(x)) => write!(f, "object `{o}`, field `{x}`")?,
            (Some(o), None) => write!(f, "object `{o}`")?,
            _ => write!(f, "schema")?,
        }
        if self.line > 0 {
            write!(f, " (line {})", self.line)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Where an error is found while walking the file.
#[derive(Clone, Copy)]
struct At<'a> {
    object: Option<&'a str>,
    field: Option<&'a str>,
}

impl At<'_> {
    fn err(self, node: &MarkedYaml<'_>, message: impl Into<String>) -> SchemaError {
        SchemaError {
            line: node.span.start.line(),
            object: self.object.map(str::to_owned),
            field: self.field.map(str::to_owned),
            message: message.into(),
        }
    }
}

/// Parses and checks a schema file's text.
pub fn parse(text: &str) -> Result<Vec<SchemaObject>, SchemaError> {
    let top = At {
        object: None,
        field: None,
    };
    let docs = MarkedYaml::load_from_str(text).map_err(|e| SchemaError {
        line: e.marker().line(),
        object: None,
        field: None,
        message: format!("not valid YAML: {e}"),
    })?;
    let root = match docs.as_slice() {
        [one] => one,
        [] => return Err(plain("the file is empty")),
        _ => return Err(plain("the file holds more than one YAML document")),
    };
    let entries = mapping(root).ok_or_else(|| top.err(root, "the file must be a YAML mapping"))?;
    let version =
        get(entries, "openapi").ok_or_else(|| top.err(root, "`openapi: 3.0.x` is missing"))?;
    match scalar_text(version.1) {
        Some(v) if v.starts_with("3.0") => {}
        _ => return Err(top.err(version.1, "`openapi` must be a 3.0.x version (e.g. 3.0.3)")),
    }
    let components = get(entries, "components")
        .and_then(|(_, v)| mapping(v))
        .ok_or_else(|| top.err(root, "`components.schemas` is missing"))?;
    let (schemas_key, schemas) = get(components, "schemas")
        .ok_or_else(|| top.err(root, "`components.schemas` is missing"))?;
    let schemas = mapping(schemas).ok_or_else(|| {
        top.err(
            schemas_key,
            "`components.schemas` must be a mapping of objects",
        )
    })?;
    if schemas.is_empty() {
        return Err(top.err(schemas_key, "the schema defines no object"));
    }
    let mut objects = Vec::new();
    let mut names = HashSet::new();
    for (key, value) in schemas {
        let name = scalar_text(key).ok_or_else(|| top.err(key, "object names must be text"))?;
        let at = At {
            object: Some(&name),
            field: None,
        };
        check_name(&name).map_err(|m| at.err(key, format!("object name {m}")))?;
        if !names.insert(name.to_ascii_lowercase()) {
            return Err(at.err(key, "defined twice (names are case-insensitive)"));
        }
        objects.push(object(&name, key, value)?);
    }
    Ok(objects)
}

fn plain(message: &str) -> SchemaError {
    SchemaError {
        line: 0,
        object: None,
        field: None,
        message: message.into(),
    }
}

type Entries<'a, 'i> = saphyr::AnnotatedMapping<'i, MarkedYaml<'i>>;

fn mapping<'a, 'i>(node: &'a MarkedYaml<'i>) -> Option<&'a Entries<'a, 'i>> {
    match &node.data {
        YamlData::Mapping(m) => Some(m),
        _ => None,
    }
}

/// The entry whose key is the text `key`.
fn get<'a, 'i>(
    entries: &'a Entries<'a, 'i>,
    key: &str,
) -> Option<(&'a MarkedYaml<'i>, &'a MarkedYaml<'i>)> {
    entries
        .iter()
        .find(|(k, _)| scalar_text(k).as_deref() == Some(key))
}

/// A scalar as text (`3.0.3` stays a string; `1` becomes `"1"`).
fn scalar_text(node: &MarkedYaml<'_>) -> Option<String> {
    match &node.data {
        YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
        YamlData::Value(Scalar::Integer(i)) => Some(i.to_string()),
        YamlData::Value(Scalar::FloatingPoint(f)) => Some(f.to_string()),
        YamlData::Value(Scalar::Boolean(b)) => Some(b.to_string()),
        _ => None,
    }
}

fn object(
    name: &str,
    key: &MarkedYaml<'_>,
    value: &MarkedYaml<'_>,
) -> Result<SchemaObject, SchemaError> {
    let at = At {
        object: Some(name),
        field: None,
    };
    let entries = mapping(value).ok_or_else(|| {
        at.err(
            key,
            "must be a mapping with `type: object` and `properties`",
        )
    })?;
    if let Some((_, ty)) = get(entries, "type") {
        if scalar_text(ty).as_deref() != Some("object") {
            return Err(at.err(ty, "`type` must be `object`"));
        }
    }
    let (props_key, props) =
        get(entries, "properties").ok_or_else(|| at.err(key, "`properties` is missing"))?;
    let props = mapping(props)
        .ok_or_else(|| at.err(props_key, "`properties` must be a mapping of fields"))?;
    if props.is_empty() {
        return Err(at.err(props_key, "an object needs at least one field"));
    }
    if props.len() > MAX_FIELDS {
        return Err(at.err(
            props_key,
            format!("{} fields; an object has at most {MAX_FIELDS}", props.len()),
        ));
    }
    let mut fields = Vec::with_capacity(props.len());
    let mut seen = HashSet::new();
    for (fkey, fvalue) in props {
        let fname = scalar_text(fkey).ok_or_else(|| at.err(fkey, "field names must be text"))?;
        let fat = At {
            object: Some(name),
            field: Some(&fname),
        };
        check_field_name(&fname).map_err(|m| fat.err(fkey, m))?;
        if !seen.insert(fname.to_ascii_lowercase()) {
            return Err(fat.err(fkey, "defined twice (names are case-insensitive)"));
        }
        let kind = field_kind(fat, fkey, fvalue)?;
        fields.push(SchemaField { name: fname, kind });
    }
    Ok(SchemaObject {
        name: name.to_owned(),
        fields,
    })
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.chars().count() > MAX_NAME {
        return Err(format!("is longer than {MAX_NAME} characters"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "may only hold letters, digits, `_` and `-` (found `{c}`)"
        ));
    }
    Ok(())
}

fn check_field_name(name: &str) -> Result<(), String> {
    check_name(name).map_err(|m| format!("field name {m}"))?;
    if name.contains("__") {
        return Err("field names must not contain `__`".into());
    }
    if name.len() >= 3 && name[..3].eq_ignore_ascii_case("KQ_") {
        return Err("field names must not start with `KQ_` (reserved for key qualifiers)".into());
    }
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return Err(format!(
            "`{name}` is a reserved field name ({})",
            RESERVED.join(", ")
        ));
    }
    Ok(())
}

fn field_kind(
    at: At<'_>,
    key: &MarkedYaml<'_>,
    value: &MarkedYaml<'_>,
) -> Result<FieldKind, SchemaError> {
    let entries =
        mapping(value).ok_or_else(|| at.err(key, "a field must be a mapping with a `type`"))?;
    if let Some((k, _)) = entries
        .iter()
        .find(|(k, _)| scalar_text(k).is_some_and(|t| NESTING_KEYS.contains(&t.as_str())))
    {
        return Err(at.err(
            k,
            "nested objects, arrays and references are not supported: fields are flat",
        ));
    }
    let (type_key, ty) = get(entries, "type").ok_or_else(|| at.err(key, "`type` is missing"))?;
    let ty = scalar_text(ty).ok_or_else(|| at.err(type_key, "`type` must be text"))?;
    let format = match get(entries, "format") {
        None => None,
        Some((fk, fv)) => Some((
            fk,
            scalar_text(fv).ok_or_else(|| at.err(fk, "`format` must be text"))?,
        )),
    };
    let bad_format = |fk: &MarkedYaml<'_>, f: &str, allowed: &str| {
        at.err(
            fk,
            format!("format `{f}` is not supported for `type: {ty}` ({allowed})"),
        )
    };
    Ok(match ty.as_str() {
        "string" => match &format {
            None => FieldKind::Text,
            Some((fk, f)) => match f.as_str() {
                "email" => FieldKind::Email,
                "date" => FieldKind::Date,
                "date-time" => FieldKind::DateTime,
                "phone" => FieldKind::Phone,
                "url" | "uri" => FieldKind::Url,
                _ => return Err(bad_format(fk, f, "email, date, date-time, phone, url")),
            },
        },
        "number" => match &format {
            None => FieldKind::Number,
            Some((fk, f)) => match f.as_str() {
                "percent" => FieldKind::Percent,
                "float" | "double" => FieldKind::Number,
                _ => return Err(bad_format(fk, f, "percent, float, double")),
            },
        },
        "integer" => match &format {
            None => FieldKind::Integer,
            Some((_, f)) if f == "int32" || f == "int64" => FieldKind::Integer,
            Some((fk, f)) => return Err(bad_format(fk, f, "int32, int64")),
        },
        "boolean" => match &format {
            None => FieldKind::Boolean,
            Some((fk, f)) => return Err(bad_format(fk, f, "none")),
        },
        "object" | "array" => {
            return Err(at.err(
                type_key,
                format!(
                    "`type: {ty}`: nested objects and arrays are not supported: fields are flat"
                ),
            ))
        }
        other => {
            return Err(at.err(
                type_key,
                format!("`type: {other}` is not supported (string, number, integer, boolean)"),
            ))
        }
    })
}

#[cfg(test)]
mod tests;
