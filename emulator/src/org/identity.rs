//! `identity.toml`: the org's identity resolution rulesets, read in two
//! stages — the file as written (keys spelled like the Connect API's ruleset
//! input, so a body copied from Salesforce's docs reads the same) and a
//! checked [`Ruleset`] whose objects and fields exist in the data model.
//!
//! Checks made here, where the error can name the file: every criterion and
//! reconciliation rule names an object and field of the model; contact point
//! objects carry `ssot__PartyId__c` (that is how they reach an individual); a
//! rule with a fuzzy criterion also has an exact one (matching blocks on the
//! exact values, so fuzzy-only rules would compare every pair of profiles);
//! the unified and link objects the ruleset writes are in the model, named
//! the way Data Cloud names them (§4.9 of the wire reference).

use std::collections::HashSet;

use serde::Deserialize;

use crate::model::DataModel;

use super::files::Files;
use super::OrgError;

const FILE: &str = "identity.toml";
/// The source profile object of an `Individual` ruleset.
pub const INDIVIDUAL: &str = "ssot__Individual__dlm";

/// A checked ruleset.
#[derive(Debug, Clone)]
pub struct Ruleset {
    /// 18-character record id of the ruleset.
    pub id: String,
    /// API name: the `{developerName}` of `…/identity-resolutions/{…}/actions/run-now`.
    pub developer_name: String,
    pub label: String,
    pub description: String,
    /// Up to 4 letters/digits appended to the unified object names; empty for
    /// the default ruleset (`UnifiedIndividual__dlm`).
    pub ruleset_id: String,
    pub data_space: String,
    pub does_run_automatically: bool,
    /// The source profile object (`ssot__Individual__dlm`).
    pub individual: String,
    pub match_rules: Vec<MatchRule>,
    /// One per object; the individual's first.
    pub reconciliation: Vec<Reconciliation>,
}

/// Rules are OR'ed: two profiles match when any rule matches.
#[derive(Debug, Clone)]
pub struct MatchRule {
    pub label: String,
    /// AND'ed.
    pub criteria: Vec<Criterion>,
}

#[derive(Debug, Clone)]
pub struct Criterion {
    pub entity: String,
    pub field: String,
    pub method: MatchMethod,
    /// Whether two blank values count as equal.
    pub match_on_blank: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchMethod {
    Exact,
    ExactNormalized,
    Fuzzy(Precision),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    High,
    Medium,
    Low,
}

impl MatchMethod {
    /// Connect spelling (`EXACT_NORMALIZED`).
    pub fn as_str(self) -> &'static str {
        match self {
            MatchMethod::Exact => "EXACT",
            MatchMethod::ExactNormalized => "EXACT_NORMALIZED",
            MatchMethod::Fuzzy(Precision::Medium) => "FUZZY",
            MatchMethod::Fuzzy(Precision::High) => "FUZZY_HIGH",
            MatchMethod::Fuzzy(Precision::Low) => "FUZZY_LOW",
        }
    }

    fn parse(s: &str) -> Option<MatchMethod> {
        Some(match squash(s).as_str() {
            "exact" => MatchMethod::Exact,
            "exactnormalized" => MatchMethod::ExactNormalized,
            "fuzzy" | "fuzzymedium" => MatchMethod::Fuzzy(Precision::Medium),
            "fuzzyhigh" => MatchMethod::Fuzzy(Precision::High),
            "fuzzylow" => MatchMethod::Fuzzy(Precision::Low),
            _ => return None,
        })
    }
}

/// How one object's (or field's) unified value is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    pub kind: RuleKind,
    pub ignore_empty: bool,
    /// Source priority for `SourceSequence`, most trusted first.
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    LastUpdated,
    MostFrequent,
    SourceSequence,
}

impl RuleKind {
    /// Connect spelling (`LAST_UPDATED`).
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::LastUpdated => "LAST_UPDATED",
            RuleKind::MostFrequent => "MOST_FREQUENT",
            RuleKind::SourceSequence => "SOURCE_SEQUENCE",
        }
    }

    fn parse(s: &str) -> Option<RuleKind> {
        Some(match squash(s).as_str() {
            "lastupdated" => RuleKind::LastUpdated,
            "mostfrequent" => RuleKind::MostFrequent,
            "sourcesequence" | "sourcepriority" => RuleKind::SourceSequence,
            _ => return None,
        })
    }
}

/// Reconciliation for one object: a default and per-field overrides.
#[derive(Debug, Clone)]
pub struct Reconciliation {
    pub entity: String,
    pub default: RuleSpec,
    pub fields: Vec<(String, RuleSpec)>,
    /// The unified object written for `entity`.
    pub unified: String,
    /// The link object written for `entity`.
    pub link: String,
}

impl Reconciliation {
    /// The rule for `field`: its override, else the object's default.
    pub fn rule_for(&self, field: &str) -> &RuleSpec {
        self.fields
            .iter()
            .find(|(f, _)| f.eq_ignore_ascii_case(field))
            .map_or(&self.default, |(_, r)| r)
    }
}

impl Ruleset {
    /// The individual's reconciliation (always present).
    pub fn individual_rules(&self) -> &Reconciliation {
        &self.reconciliation[0]
    }

    /// Contact point objects unified beside the individual.
    pub fn contact_points(&self) -> &[Reconciliation] {
        &self.reconciliation[1..]
    }
}

/// `UnifiedIndividual__dlm` / `UnifiedssotIndividualR1__dlm` for `ssot__Individual__dlm`.
pub fn unified_name(ruleset_id: &str, entity: &str) -> String {
    let base = base_name(entity);
    if ruleset_id.is_empty() {
        format!("Unified{base}__dlm")
    } else {
        format!("Unifiedssot{base}{ruleset_id}__dlm")
    }
}

/// `IndividualIdentityLink__dlm` / `UnifiedLinkssotIndividualR1__dlm`.
pub fn link_name(ruleset_id: &str, entity: &str) -> String {
    let base = base_name(entity);
    if ruleset_id.is_empty() {
        format!("{base}IdentityLink__dlm")
    } else {
        format!("UnifiedLinkssot{base}{ruleset_id}__dlm")
    }
}

fn base_name(entity: &str) -> &str {
    let s = entity.strip_prefix("ssot__").unwrap_or(entity);
    s.strip_suffix("__dlm").unwrap_or(s)
}

/// `EXACT_NORMALIZED`, `ExactNormalized`, `exactnormalized` → `exactnormalized`.
fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '_' && *c != '-' && !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    rulesets: Vec<RawRuleset>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawRuleset {
    id: String,
    developer_name: String,
    label: String,
    #[serde(default)]
    description: String,
    #[serde(default = "individual_type")]
    configuration_type: String,
    #[serde(default)]
    ruleset_id: String,
    #[serde(default)]
    data_space_name: Option<String>,
    #[serde(default)]
    does_run_automatically: bool,
    #[serde(default)]
    match_rules: Vec<RawMatchRule>,
    #[serde(default)]
    reconciliation_rules: Vec<RawReconciliation>,
}

fn individual_type() -> String {
    "Individual".into()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawMatchRule {
    label: String,
    criteria: Vec<RawCriterion>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawCriterion {
    entity_name: String,
    field_name: String,
    match_method_type: String,
    #[serde(default)]
    should_match_on_blank: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawReconciliation {
    entity_name: String,
    rule_type: String,
    #[serde(default = "yes")]
    should_ignore_empty_value: bool,
    #[serde(default)]
    sources: Vec<String>,
    #[serde(default)]
    fields: Vec<RawFieldRule>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawFieldRule {
    field_name: String,
    rule_type: String,
    #[serde(default)]
    should_ignore_empty_value: Option<bool>,
    #[serde(default)]
    sources: Vec<String>,
}

fn yes() -> bool {
    true
}

/// Reads and checks `identity.toml` (no file: no rulesets).
pub(crate) fn load(files: &Files, model: &DataModel) -> Result<Vec<Ruleset>, OrgError> {
    let Some(text) = files.read_optional(FILE)? else {
        return Ok(Vec::new());
    };
    let invalid = |message: String| OrgError::Invalid {
        file: files.display(FILE),
        message,
    };
    let raw: RawFile = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    let mut out: Vec<Ruleset> = Vec::new();
    for r in raw.rulesets {
        let name = r.developer_name.clone();
        let ruleset = check(r, model).map_err(|m| invalid(format!("ruleset `{name}`: {m}")))?;
        if out.iter().any(|o| {
            o.id == ruleset.id
                || o.developer_name
                    .eq_ignore_ascii_case(&ruleset.developer_name)
        }) {
            return Err(invalid(format!(
                "ruleset `{name}`: another ruleset has the same id or developerName"
            )));
        }
        if out.iter().any(|o| o.ruleset_id == ruleset.ruleset_id) {
            return Err(invalid(format!(
                "ruleset `{name}`: rulesetId `{}` is used twice (it names the unified objects)",
                ruleset.ruleset_id
            )));
        }
        out.push(ruleset);
    }
    Ok(out)
}

fn check(r: RawRuleset, model: &DataModel) -> Result<Ruleset, String> {
    super::ids::check_id18(&r.id, "")?;
    let ident = |s: &str| {
        s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if !ident(&r.developer_name) {
        return Err("developerName must be letters, digits and `_`, starting with a letter".into());
    }
    if r.ruleset_id.len() > 4 || !r.ruleset_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err("rulesetId is up to 4 letters or digits".into());
    }
    if squash(&r.configuration_type) != "individual" {
        return Err(format!(
            "configurationType `{}` is not supported: the emulator resolves `Individual` rulesets",
            r.configuration_type
        ));
    }
    let individual = canonical_object(model, INDIVIDUAL)?;
    let mut match_rules = Vec::new();
    for rule in r.match_rules {
        let mut criteria = Vec::new();
        for c in rule.criteria {
            let method = MatchMethod::parse(&c.match_method_type).ok_or_else(|| {
                format!(
                    "match rule `{}`: matchMethodType `{}` is not one of EXACT, EXACT_NORMALIZED, FUZZY, FUZZY_HIGH, FUZZY_LOW",
                    rule.label, c.match_method_type
                )
            })?;
            let (entity, field) = party_field(model, &individual, &c.entity_name, &c.field_name)
                .map_err(|m| format!("match rule `{}`: {m}", rule.label))?;
            criteria.push(Criterion {
                entity,
                field,
                method,
                match_on_blank: c.should_match_on_blank,
            });
        }
        if criteria.is_empty() {
            return Err(format!("match rule `{}` has no criteria", rule.label));
        }
        if criteria
            .iter()
            .all(|c| matches!(c.method, MatchMethod::Fuzzy(_)))
        {
            return Err(format!(
                "match rule `{}`: a rule with a fuzzy criterion needs an EXACT or EXACT_NORMALIZED criterion too",
                rule.label
            ));
        }
        match_rules.push(MatchRule {
            label: rule.label,
            criteria,
        });
    }
    if match_rules.is_empty() {
        return Err("a ruleset needs at least one match rule".into());
    }
    let reconciliation = reconciliation(&r.ruleset_id, &individual, r.reconciliation_rules, model)?;
    Ok(Ruleset {
        id: r.id,
        developer_name: r.developer_name,
        label: r.label,
        description: r.description,
        ruleset_id: r.ruleset_id,
        data_space: r.data_space_name.unwrap_or_else(|| "default".into()),
        does_run_automatically: r.does_run_automatically,
        individual,
        match_rules,
        reconciliation,
    })
}

/// The reconciliation rules, individual first (a default `LAST_UPDATED` one
/// when the file has none), each with the unified and link objects it writes.
fn reconciliation(
    ruleset_id: &str,
    individual: &str,
    raw: Vec<RawReconciliation>,
    model: &DataModel,
) -> Result<Vec<Reconciliation>, String> {
    let mut out: Vec<Reconciliation> = Vec::new();
    let mut seen = HashSet::new();
    for rule in raw {
        let (entity, _) = party_field(model, individual, &rule.entity_name, "ssot__Id__c")
            .map_err(|m| format!("reconciliation rule: {m}"))?;
        if !seen.insert(entity.to_ascii_lowercase()) {
            return Err(format!("reconciliation rule for `{entity}` is given twice"));
        }
        let default = spec(
            &rule.rule_type,
            rule.should_ignore_empty_value,
            rule.sources,
        )
        .map_err(|m| format!("reconciliation rule for `{entity}`: {m}"))?;
        let mut fields = Vec::new();
        for f in rule.fields {
            let (_, field) = party_field(model, individual, &entity, &f.field_name)
                .map_err(|m| format!("reconciliation rule for `{entity}`: {m}"))?;
            let ignore = f.should_ignore_empty_value.unwrap_or(default.ignore_empty);
            let s = spec(&f.rule_type, ignore, f.sources)
                .map_err(|m| format!("reconciliation rule for `{entity}.{field}`: {m}"))?;
            fields.push((field, s));
        }
        out.push(outputs(ruleset_id, model, entity, default, fields)?);
    }
    if let Some(pos) = out.iter().position(|r| r.entity == individual) {
        let ind = out.remove(pos);
        out.insert(0, ind);
    } else {
        let default = RuleSpec {
            kind: RuleKind::LastUpdated,
            ignore_empty: true,
            sources: Vec::new(),
        };
        out.insert(
            0,
            outputs(ruleset_id, model, individual.into(), default, Vec::new())?,
        );
    }
    Ok(out)
}

fn spec(kind: &str, ignore_empty: bool, sources: Vec<String>) -> Result<RuleSpec, String> {
    let kind = RuleKind::parse(kind).ok_or_else(|| {
        format!("ruleType `{kind}` is not one of LAST_UPDATED, MOST_FREQUENT, SOURCE_SEQUENCE")
    })?;
    if kind == RuleKind::SourceSequence && sources.is_empty() {
        return Err("SOURCE_SEQUENCE needs `sources`, most trusted first".into());
    }
    Ok(RuleSpec {
        kind,
        ignore_empty,
        sources,
    })
}

/// Attaches the unified and link objects of `entity`, which must be in the model.
fn outputs(
    ruleset_id: &str,
    model: &DataModel,
    entity: String,
    default: RuleSpec,
    fields: Vec<(String, RuleSpec)>,
) -> Result<Reconciliation, String> {
    let unified = unified_name(ruleset_id, &entity);
    let link = link_name(ruleset_id, &entity);
    let need = |object: &str, field_names: &[&str]| -> Result<(), String> {
        let o = model.object(object).ok_or_else(|| {
            format!("`{entity}` is unified into `{object}`, which is not in the data model (add model/{object}.toml)")
        })?;
        for f in field_names {
            if o.field(f).is_none() || o.view_sql.is_some() {
                return Err(format!("`{object}` needs a field `{f}`"));
            }
        }
        Ok(())
    };
    need(&unified, &["ssot__Id__c"])?;
    need(&link, &["SourceRecordId__c", "UnifiedRecordId__c"])?;
    Ok(Reconciliation {
        entity,
        default,
        fields,
        unified,
        link,
    })
}

fn canonical_object(model: &DataModel, name: &str) -> Result<String, String> {
    let o = model
        .object(name)
        .ok_or_else(|| format!("object `{name}` is not in the data model"))?;
    if o.field("ssot__Id__c").is_none() {
        return Err(format!("`{}` has no `ssot__Id__c` field", o.name));
    }
    Ok(o.name.clone())
}

/// Canonical `(object, field)` names for a criterion or rule: the object is
/// the individual or has `ssot__PartyId__c` pointing at one.
fn party_field(
    model: &DataModel,
    individual: &str,
    entity: &str,
    field: &str,
) -> Result<(String, String), String> {
    let o = model
        .object(entity)
        .ok_or_else(|| format!("object `{entity}` is not in the data model"))?;
    if !o.name.eq_ignore_ascii_case(individual)
        && (o.field("ssot__PartyId__c").is_none() || o.field("ssot__Id__c").is_none())
    {
        return Err(format!(
            "`{}` is neither `{individual}` nor a contact point with `ssot__Id__c` and `ssot__PartyId__c`",
            o.name
        ));
    }
    let f = o
        .field(field)
        .ok_or_else(|| format!("`{}` has no field `{field}`", o.name))?;
    Ok((o.name.clone(), f.name.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names_follow_data_cloud() {
        assert_eq!(unified_name("", INDIVIDUAL), "UnifiedIndividual__dlm");
        assert_eq!(link_name("", INDIVIDUAL), "IndividualIdentityLink__dlm");
        assert_eq!(
            unified_name("", "ssot__ContactPointEmail__dlm"),
            "UnifiedContactPointEmail__dlm"
        );
        assert_eq!(
            link_name("", "ssot__ContactPointPhone__dlm"),
            "ContactPointPhoneIdentityLink__dlm"
        );
        assert_eq!(
            unified_name("Ir1", INDIVIDUAL),
            "UnifiedssotIndividualIr1__dlm"
        );
        assert_eq!(
            link_name("Ir1", INDIVIDUAL),
            "UnifiedLinkssotIndividualIr1__dlm"
        );
    }

    #[test]
    fn spellings() {
        for s in ["EXACT_NORMALIZED", "ExactNormalized", "exactnormalized"] {
            assert_eq!(MatchMethod::parse(s), Some(MatchMethod::ExactNormalized));
        }
        assert_eq!(
            RuleKind::parse("SourceSequence"),
            Some(RuleKind::SourceSequence)
        );
        assert_eq!(
            RuleKind::parse("SOURCE_PRIORITY"),
            Some(RuleKind::SourceSequence)
        );
        assert_eq!(RuleKind::parse("lastupdated"), Some(RuleKind::LastUpdated));
        assert_eq!(MatchMethod::parse("nearly"), None);
    }
}
