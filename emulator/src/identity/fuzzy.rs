//! Fuzzy name matching for `FUZZY` criteria: two (normalized) first names
//! match when they are equal, are forms of one name in a small nickname table
//! (`bob` / `robert`), or are close by Jaro-Winkler similarity — at least
//! 0.90 for `FUZZY`, 0.95 for `FUZZY_HIGH`, 0.85 for `FUZZY_LOW`.
//!
//! Jaro-Winkler weighs a shared prefix, which suits typos and short forms of
//! first names (`jon` / `john` score 0.93, `sara` / `sarah` 0.96) while
//! keeping different names apart (`mark` / `mary` score 0.88). Data Cloud
//! does not publish its algorithm; this is our choice, documented here and
//! in `fixtures/default/identity.toml`.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::org::identity::Precision;

/// Groups of one name's forms. A form may sit in several groups (`sam`).
const NICKNAMES: &[&[&str]] = &[
    &["alexander", "alex", "xander", "sasha"],
    &["alexandra", "alex", "sasha", "sandra"],
    &["benjamin", "ben", "benny"],
    &[
        "catherine",
        "katherine",
        "kathryn",
        "kate",
        "katie",
        "cathy",
        "kathy",
    ],
    &["christopher", "chris", "topher"],
    &["christina", "christine", "chris", "tina"],
    &["daniel", "dan", "danny"],
    &["elizabeth", "liz", "lizzie", "beth", "betty", "eliza"],
    &["gabriel", "gabe"],
    &["isabella", "isabel", "bella", "izzy"],
    &["james", "jim", "jimmy", "jamie"],
    &["john", "jon", "johnny", "jack"],
    &["jonathan", "jon", "jonny"],
    &["joseph", "joe", "joey"],
    &["margaret", "maggie", "meg", "peggy"],
    &["michael", "mike", "mikey", "mick"],
    &["mohammed", "mohammad", "muhammad", "mohamed"],
    &["nicholas", "nick", "nicky"],
    &["richard", "rick", "rich", "dick"],
    &["robert", "rob", "robbie", "bob", "bobby"],
    &["samuel", "sam", "sammy"],
    &["samantha", "sam", "sammy"],
    &["sofia", "sophia", "sophie"],
    &["thomas", "tom", "tommy"],
    &["william", "will", "bill", "billy", "liam"],
];

fn nickname_groups() -> &'static HashMap<&'static str, Vec<u16>> {
    static GROUPS: OnceLock<HashMap<&'static str, Vec<u16>>> = OnceLock::new();
    GROUPS.get_or_init(|| {
        let mut map: HashMap<&str, Vec<u16>> = HashMap::new();
        for (i, group) in NICKNAMES.iter().enumerate() {
            for name in *group {
                map.entry(name).or_default().push(i as u16);
            }
        }
        map
    })
}

impl Precision {
    /// Least Jaro-Winkler similarity that counts as a match.
    pub fn threshold(self) -> f64 {
        match self {
            Precision::High => 0.95,
            Precision::Medium => 0.90,
            Precision::Low => 0.85,
        }
    }
}

/// Whether two normalized names (lower-case letters) match.
pub fn similar(a: &str, b: &str, precision: Precision) -> bool {
    if a == b {
        return true;
    }
    if a.is_empty() || b.is_empty() {
        return false;
    }
    let groups = nickname_groups();
    if let (Some(ga), Some(gb)) = (groups.get(a), groups.get(b)) {
        if ga.iter().any(|g| gb.contains(g)) {
            return true;
        }
    }
    strsim::jaro_winkler(a, b) >= precision.threshold()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_short_forms_and_nicknames_match() {
        let m = Precision::Medium;
        assert!(similar("jon", "john", m));
        assert!(similar("sara", "sarah", m));
        assert!(similar("bob", "robert", m));
        assert!(similar("liz", "elizabeth", m));
        assert!(similar("ana", "ana", m));
    }

    #[test]
    fn different_names_stay_apart() {
        let m = Precision::Medium;
        assert!(!similar("mark", "mary", m));
        assert!(!similar("emma", "omar", m));
        assert!(!similar("bob", "bill", m));
        assert!(!similar("", "ana", m));
        // Precision moves the line.
        assert!(similar("mark", "mary", Precision::Low));
        assert!(similar("jon", "joan", Precision::Medium));
        assert!(!similar("jon", "joan", Precision::High));
    }
}
