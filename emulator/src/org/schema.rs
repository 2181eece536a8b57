//! `model/*.toml` and `rows/*`: the data model and which objects have seed
//! rows, checked before the store ever sees them.
//!
//! A model file holds one object (top-level `name`, `fields`, …) or several
//! (`[[objects]]`). Checks run here, at load, because they are cheap and the
//! error can name the file: names are plain identifiers (so the store can
//! quote them without escaping), unique case-insensitively (unquoted SQL names
//! are), keys and relationships point at fields that exist, and each row file
//! belongs to a table whose fields its header names. Cell values are checked
//! while seeding, where they are parsed anyway.

use std::collections::HashMap;

use crate::model::{DataModel, ObjectDef};

use super::files::Files;
use super::{OrgError, TableRows};

const CATEGORIES: &[&str] = &[
    "Profile",
    "Engagement",
    "Related",
    "Other",
    "Segment_Membership",
];
const CARDINALITIES: &[&str] = &["ONETOONE", "NTOONE", "ONETOMANY"];

/// Reads and checks every `model/*.toml`.
pub(crate) fn load_model(files: &Files) -> Result<DataModel, OrgError> {
    let mut objects: Vec<ObjectDef> = Vec::new();
    let mut origin: HashMap<String, String> = HashMap::new();
    for name in files.list("model")? {
        let rel = format!("model/{name}");
        let file = files.display(&rel);
        let invalid = |message: String| OrgError::Invalid {
            file: file.clone(),
            message,
        };
        if !name.ends_with(".toml") {
            return Err(invalid("model files must end in .toml".into()));
        }
        let text = files.read(&rel)?;
        let parsed: Vec<ObjectDef> = if text.lines().any(|l| l.trim() == "[[objects]]") {
            toml::from_str::<DataModel>(&text)
                .map_err(|e| invalid(e.to_string()))?
                .objects
        } else {
            vec![toml::from_str::<ObjectDef>(&text).map_err(|e| invalid(e.to_string()))?]
        };
        for mut object in parsed {
            check_object(&mut object)
                .map_err(|m| invalid(format!("object `{}`: {m}", object.name)))?;
            let key = object.name.to_ascii_lowercase();
            if let Some(first) = origin.get(&key) {
                return Err(invalid(format!(
                    "object `{}` is already defined in {first}",
                    object.name
                )));
            }
            origin.insert(key, file.clone());
            objects.push(object);
        }
    }
    let model = DataModel { objects };
    for object in &model.objects {
        let file = &origin[&object.name.to_ascii_lowercase()];
        check_relationships(object, &model).map_err(|message| OrgError::Invalid {
            file: file.clone(),
            message: format!("object `{}`: {message}", object.name),
        })?;
    }
    Ok(model)
}

/// A name the store can put between double quotes as is.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn check_object(object: &mut ObjectDef) -> Result<(), String> {
    if !is_identifier(&object.name) {
        return Err("object names are letters, digits and `_`".into());
    }
    if !CATEGORIES.contains(&object.category.as_str()) {
        return Err(format!(
            "category `{}` is not one of {}",
            object.category,
            CATEGORIES.join(", ")
        ));
    }
    if object.fields.is_empty() {
        return Err("an object needs at least one field".into());
    }
    if object.display_name.is_empty() {
        object.display_name = display_name(&object.name);
    }
    let mut seen: HashMap<String, ()> = HashMap::new();
    for field in &mut object.fields {
        if !is_identifier(&field.name) {
            return Err(format!(
                "field `{}`: names are letters, digits and `_`",
                field.name
            ));
        }
        if seen.insert(field.name.to_ascii_lowercase(), ()).is_some() {
            return Err(format!("field `{}` is listed twice", field.name));
        }
        if field.display_name.is_empty() {
            field.display_name = display_name(&field.name);
        }
    }
    let names: Vec<String> = object.fields.iter().map(|f| f.name.clone()).collect();
    let canonical = |n: &str| names.iter().find(|f| f.eq_ignore_ascii_case(n)).cloned();
    for key in &mut object.primary_key {
        *key = canonical(key).ok_or_else(|| format!("primary key `{key}` is not a field"))?;
    }
    for field in &mut object.fields {
        if let Some(kq) = &mut field.key_qualifier {
            *kq = canonical(kq).ok_or_else(|| {
                format!(
                    "field `{}`: key qualifier `{kq}` is not a field",
                    field.name
                )
            })?;
        }
    }
    if let Some(sql) = &object.view_sql {
        if sql.trim().is_empty() {
            return Err("view_sql is empty".into());
        }
    }
    Ok(())
}

fn check_relationships(object: &ObjectDef, model: &DataModel) -> Result<(), String> {
    for r in &object.relationships {
        let end = |entity: &str, attribute: &str| -> Result<(), String> {
            let o = model
                .object(entity)
                .ok_or_else(|| format!("relationship names unknown object `{entity}`"))?;
            o.field(attribute)
                .map(|_| ())
                .ok_or_else(|| format!("relationship names unknown field `{entity}.{attribute}`"))
        };
        end(&r.from_entity, &r.from_entity_attribute)?;
        end(&r.to_entity, &r.to_entity_attribute)?;
        if !CARDINALITIES.contains(&r.cardinality.as_str()) {
            return Err(format!(
                "relationship cardinality `{}` is not one of {}",
                r.cardinality,
                CARDINALITIES.join(", ")
            ));
        }
    }
    Ok(())
}

/// `ssot__FirstName__c` → `First Name`: the label Data Cloud would show when
/// a model file gives none.
pub(crate) fn display_name(api_name: &str) -> String {
    let mut base = api_name.strip_prefix("ssot__").unwrap_or(api_name);
    for suffix in ["__dlm", "__dll", "__cio", "__c"] {
        if let Some(b) = base.strip_suffix(suffix) {
            base = b;
            break;
        }
    }
    let mut out = String::with_capacity(base.len() + 4);
    let mut prev: Option<char> = None;
    for c in base.chars() {
        if c == '_' {
            if !out.ends_with(' ') && !out.is_empty() {
                out.push(' ');
            }
        } else {
            if c.is_ascii_uppercase() && prev.is_some_and(|p| p.is_ascii_lowercase()) {
                out.push(' ');
            }
            out.push(c);
        }
        prev = Some(c);
    }
    out.trim().to_owned()
}

/// Finds `rows/<Object>.csv|jsonl` files and checks them against the model.
pub(crate) fn load_rows(files: &Files, model: &DataModel) -> Result<Vec<TableRows>, OrgError> {
    let mut rows: Vec<TableRows> = Vec::new();
    for name in files.list("rows")? {
        let rel = format!("rows/{name}");
        let file = files.display(&rel);
        let invalid = |message: String| OrgError::Invalid {
            file: file.clone(),
            message,
        };
        let Some((stem, format)) = name.rsplit_once('.') else {
            return Err(invalid(
                "row files are named <Object>.csv or <Object>.jsonl".into(),
            ));
        };
        if format != "csv" && format != "jsonl" {
            return Err(invalid(format!(
                "row files are .csv or .jsonl, not .{format}"
            )));
        }
        let object = model
            .object(stem)
            .ok_or_else(|| invalid(format!("row file for unknown object `{stem}`")))?;
        if object.view_sql.is_some() {
            return Err(invalid(format!(
                "`{}` is a view over other objects and cannot have rows of its own",
                object.name
            )));
        }
        if rows.iter().any(|r| r.object == object.name) {
            return Err(invalid(format!(
                "`{}` has more than one row file",
                object.name
            )));
        }
        let content = files.read(&rel)?;
        if format == "csv" {
            check_csv_header(&content, object).map_err(invalid)?;
        }
        rows.push(TableRows {
            object: object.name.clone(),
            format: format.into(),
            content,
        });
    }
    Ok(rows)
}

fn check_csv_header(content: &str, object: &ObjectDef) -> Result<(), String> {
    let mut reader = csv::ReaderBuilder::new().from_reader(content.as_bytes());
    let header = reader.headers().map_err(|e| format!("CSV header: {e}"))?;
    let mut seen: Vec<String> = Vec::new();
    for column in header {
        let field = object.field(column).ok_or_else(|| {
            format!(
                "CSV header names `{column}`, which is not a field of `{}`",
                object.name
            )
        })?;
        if seen.contains(&field.name) {
            return Err(format!("CSV header names `{column}` twice"));
        }
        seen.push(field.name.clone());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::display_name;

    #[test]
    fn display_names_from_api_names() {
        assert_eq!(display_name("ssot__FirstName__c"), "First Name");
        assert_eq!(display_name("ssot__Individual__dlm"), "Individual");
        assert_eq!(display_name("KQ_Id__c"), "KQ Id");
        assert_eq!(display_name("UnifiedRecordId__c"), "Unified Record Id");
    }
}
