//! `[[connectors]]` in `org.toml`: Ingestion API connectors, each with its
//! OpenAPI schema file, its data streams and their DMO mappings, checked and
//! turned into [`Connector`]s; each stream's DLO joins the data model.
//!
//! A stream's DLO is derived from its schema object: `<field>__c` per
//! field (type from the field's), the key qualifier `KQ_<pk>__c`, and the
//! system fields `DataSource__c`, `DataSourceObject__c` and
//! `cdp_sys_IngestionTime__c`; primary key `<pk>__c`. A model file may
//! declare the same DLO (for display names); it must then have exactly
//! those fields and types. Every error names the file and the connector,
//! stream, object or field at fault.

mod streams;

use std::collections::HashSet;

use serde::Deserialize;

use crate::ingest::{schema, Connector};
use crate::model::DataModel;

use super::files::Files;
use super::settings::ORG_FILE;
use super::OrgError;

/// One `[[connectors]]` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConnector {
    name: String,
    /// The OpenAPI file, relative to the fixture directory.
    schema: String,
    #[serde(default)]
    streams: Vec<streams::RawStream>,
}

/// Loads every connector, adding their DLOs to `model`.
pub(crate) fn load(
    files: &Files,
    raw: Vec<RawConnector>,
    model: &mut DataModel,
) -> Result<Vec<Connector>, OrgError> {
    let org_file = files.display(ORG_FILE);
    let invalid = |message: String| OrgError::Invalid {
        file: org_file.clone(),
        message,
    };
    let mut connectors = Vec::with_capacity(raw.len());
    let mut names = HashSet::new();
    for c in raw {
        let who = format!("connector `{}`", c.name);
        if c.name.is_empty()
            || !c
                .name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
            || !c.name.starts_with(|ch: char| ch.is_ascii_alphabetic())
        {
            return Err(invalid(format!(
                "{who}: names start with a letter and hold letters, digits and `_`"
            )));
        }
        if !names.insert(c.name.to_ascii_lowercase()) {
            return Err(invalid(format!("{who}: declared twice")));
        }
        if c.schema.contains("..") || c.schema.starts_with('/') {
            return Err(invalid(format!(
                "{who}: schema `{}` must be a file inside the fixture directory",
                c.schema
            )));
        }
        let schema_file = files.display(&c.schema);
        let text = files
            .read_optional(&c.schema)?
            .ok_or_else(|| invalid(format!("{who}: schema file {schema_file} not found")))?;
        let objects = schema::parse(&text).map_err(|e| OrgError::Invalid {
            file: schema_file.clone(),
            message: e.to_string(),
        })?;
        let mut connector = Connector {
            name: c.name,
            schema_file,
            objects,
            streams: Vec::new(),
        };
        for raw_stream in c.streams {
            let stream = streams::build(&connector, raw_stream, model)
                .map_err(|m| invalid(format!("{who}: {m}")))?;
            connector.streams.push(stream);
        }
        connectors.push(connector);
    }
    Ok(connectors)
}

#[cfg(test)]
mod tests {
    use crate::org::{FixtureSource, Org};

    #[test]
    fn the_default_org_has_the_bridged_connector() {
        let org = Org::load(&FixtureSource::Builtin).unwrap();
        let bridged = org.connector("Bridged").unwrap();
        let names: Vec<_> = bridged.objects.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["EngagementEvent", "LeadProfile"]);
        let events = bridged.stream("EngagementEvent").unwrap();
        assert_eq!(events.primary_key_name(), "event_id");
        assert_eq!(events.dlo, "Bridged_EngagementEvent__dll");
        let dlo = org.model.object("Bridged_LeadProfile__dll").unwrap();
        let fields: Vec<_> = dlo.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            fields,
            [
                "lead_id__c",
                "first_name__c",
                "last_name__c",
                "email__c",
                "phone__c",
                "channel__c",
                "updated_at__c",
                "KQ_lead_id__c",
                "DataSource__c",
                "DataSourceObject__c",
                "cdp_sys_IngestionTime__c"
            ]
        );
        let leads = bridged.stream("LeadProfile").unwrap();
        let dmos: Vec<_> = leads.mappings.iter().map(|m| m.dmo.as_str()).collect();
        assert_eq!(
            dmos,
            [
                "ssot__Individual__dlm",
                "ssot__ContactPointEmail__dlm",
                "ssot__ContactPointPhone__dlm"
            ]
        );
    }
}
