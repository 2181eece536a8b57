//! `identity.toml`: the org's identity resolution rulesets, read in two
//! stages — the file as written (keys spelled like the Connect API's ruleset
//! input, so a body copied from Salesforce's docs reads the same) and a
//! checked [`Ruleset`] whose objects and fields exist in the data model.
//!
//! Checks made at load (`identity/check.rs`), where the error can name the file: every criterion and
//! reconciliation rule names an object and field of the model; contact point
//! objects carry `ssot__PartyId__c` (that is how they reach an individual); a
//! rule with a fuzzy criterion also has an exact one (matching blocks on the
//! exact values, so fuzzy-only rules would compare every pair of profiles);
//! the unified and link objects the ruleset writes are in the model, named
//! the way Data Cloud names them (§4.9 of the wire reference).

mod check;

pub(crate) use check::load;

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
pub(crate) fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '_' && *c != '-' && !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
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
