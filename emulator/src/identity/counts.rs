//! Profile counts a ruleset read reports, taken from the objects as they are
//! now (so they are right before any run, for fixture rows, and after
//! writes that bypassed a run).
//!
//! * `sourceProfiles`: rows of the source profile object;
//! * `totalUnifiedProfiles`: rows of the unified individual object;
//! * `matchedSourceProfiles`: source profiles linked to a unified profile
//!   that has at least one other source;
//! * `anonymousUnifiedProfiles`: unified profiles with neither first nor
//!   last name (`knownUnifiedProfiles` are the rest);
//! * `consolidationRate`: `1 − unified / sources`, as a percentage with two
//!   decimals [I: Setup shows it as a percentage].

use rusqlite::Connection;

use crate::model::DataModel;
use crate::org::identity::Ruleset;

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    pub sources: i64,
    pub unified: i64,
    pub matched: i64,
    pub anonymous: i64,
}

impl Counts {
    pub fn known(&self) -> i64 {
        self.unified - self.anonymous
    }

    pub fn consolidation_rate(&self) -> f64 {
        if self.sources <= 0 {
            return 0.0;
        }
        let rate = (1.0 - self.unified as f64 / self.sources as f64) * 100.0;
        (rate * 100.0).round() / 100.0
    }
}

/// Counts for `ruleset` on a (read-only) connection.
pub fn count(conn: &Connection, model: &DataModel, ruleset: &Ruleset) -> rusqlite::Result<Counts> {
    let ind = ruleset.individual_rules();
    let one = |sql: String| conn.query_row(&sql, [], |r| r.get::<_, i64>(0));
    let has = |object: &str, field: &str| {
        model
            .object(object)
            .is_some_and(|o| o.field(field).is_some())
    };
    let anonymous =
        if has(&ind.unified, "ssot__FirstName__c") && has(&ind.unified, "ssot__LastName__c") {
            one(format!(
            "SELECT COUNT(*) FROM \"{}\" WHERE COALESCE(TRIM(\"ssot__FirstName__c\"), '') = '' \
             AND COALESCE(TRIM(\"ssot__LastName__c\"), '') = ''",
            ind.unified
        ))?
        } else {
            0
        };
    Ok(Counts {
        sources: one(format!("SELECT COUNT(*) FROM \"{}\"", ruleset.individual))?,
        unified: one(format!("SELECT COUNT(*) FROM \"{}\"", ind.unified))?,
        matched: one(format!(
            "SELECT COUNT(*) FROM \"{l}\" WHERE \"UnifiedRecordId__c\" IN \
             (SELECT \"UnifiedRecordId__c\" FROM \"{l}\" GROUP BY 1 HAVING COUNT(*) > 1)",
            l = ind.link
        ))?,
        anonymous,
    })
}

#[cfg(test)]
mod tests {
    use super::Counts;

    #[test]
    fn consolidation_rate_is_a_percentage() {
        let c = Counts {
            sources: 3,
            unified: 2,
            matched: 2,
            anonymous: 0,
        };
        assert_eq!(c.consolidation_rate(), 33.33);
        assert_eq!(Counts::default().consolidation_rate(), 0.0);
    }
}
