//! Match rules over source profiles, without comparing every pair.
//!
//! Each rule's exact criteria (`EXACT`, `EXACT_NORMALIZED`) make a blocking
//! key: the tuple of a profile's normalized values (every combination, when a
//! profile has several emails or phones). Profiles sharing a key are one
//! block. A rule without fuzzy criteria joins each block outright — one hash
//! map pass over the profiles. A rule with fuzzy criteria compares, inside
//! each block only, the distinct tuples of fuzzy values (first names under
//! one last name: a handful), caching each comparison. So 100,000 profiles
//! cost a few hash map passes, not 5·10⁹ comparisons.
//!
//! Blank values take no part in a criterion unless it says
//! `shouldMatchOnBlank`, in which case all blanks are equal.

use std::collections::HashMap;

use crate::org::identity::{Criterion, MatchMethod, MatchRule, Precision};

use super::cluster::UnionFind;
use super::fuzzy;
use super::normalize::{self, FieldKind};
use super::resolve::Profiles;

/// Separates values inside a key (cannot occur in normalized values).
const SEP: char = '\u{1f}';

/// Clusters the profiles: groups of profile indexes, ordered by their
/// smallest member, members ascending.
pub fn cluster(rules: &[MatchRule], profiles: &Profiles<'_>) -> Vec<Vec<usize>> {
    let mut uf = UnionFind::new(profiles.len());
    let mut cache = FuzzyCache::default();
    for rule in rules {
        apply(rule, profiles, &mut uf, &mut cache);
    }
    uf.groups()
}

fn apply(rule: &MatchRule, profiles: &Profiles<'_>, uf: &mut UnionFind, cache: &mut FuzzyCache) {
    let (fuzzy, exact): (Vec<&Criterion>, Vec<&Criterion>) = rule
        .criteria
        .iter()
        .partition(|c| matches!(c.method, MatchMethod::Fuzzy(_)));
    if fuzzy.is_empty() {
        let mut first: HashMap<String, usize> = HashMap::new();
        for p in 0..profiles.len() {
            for key in keys(&exact, profiles, p) {
                match first.get(&key) {
                    Some(&q) => uf.union(p, q),
                    None => {
                        first.insert(key, p);
                    }
                }
            }
        }
        return;
    }
    let mut blocks: HashMap<String, Vec<usize>> = HashMap::new();
    for p in 0..profiles.len() {
        for key in keys(&exact, profiles, p) {
            blocks.entry(key).or_default().push(p);
        }
    }
    let precisions: Vec<Precision> = fuzzy
        .iter()
        .map(|c| match c.method {
            MatchMethod::Fuzzy(p) => p,
            _ => Precision::Medium,
        })
        .collect();
    for members in blocks.values().filter(|m| m.len() > 1) {
        // Distinct fuzzy tuples of the block and one profile holding each;
        // profiles with an identical tuple match outright.
        let mut tuples: Vec<(String, usize)> = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for &p in members {
            for t in keys(&fuzzy, profiles, p) {
                match seen.get(&t) {
                    Some(&q) => uf.union(p, q),
                    None => {
                        seen.insert(t.clone(), p);
                        tuples.push((t, p));
                    }
                }
            }
        }
        for i in 0..tuples.len() {
            for j in i + 1..tuples.len() {
                let (a, b) = (&tuples[i], &tuples[j]);
                let all =
                    a.0.split(SEP)
                        .zip(b.0.split(SEP))
                        .zip(&precisions)
                        .all(|((x, y), &pr)| cache.similar(x, y, pr));
                if all {
                    uf.union(a.1, b.1);
                }
            }
        }
    }
}

/// Every key of profile `p` for `criteria`: the product of its normalized
/// values per criterion. Empty when a criterion has no value.
fn keys(criteria: &[&Criterion], profiles: &Profiles<'_>, p: usize) -> Vec<String> {
    if let [c] = criteria {
        return values(c, profiles, p);
    }
    let mut out = vec![String::new()];
    for (i, c) in criteria.iter().enumerate() {
        let values = values(c, profiles, p);
        if values.is_empty() {
            return Vec::new();
        }
        let mut next = Vec::with_capacity(out.len() * values.len());
        for prefix in &out {
            for v in &values {
                let mut k = prefix.clone();
                if i > 0 {
                    k.push(SEP);
                }
                k.push_str(v);
                next.push(k);
            }
        }
        out = next;
    }
    out
}

/// A profile's normalized values for one criterion, deduplicated; a blank
/// is `""` when the criterion matches on blanks and absent otherwise.
fn values(c: &Criterion, profiles: &Profiles<'_>, p: usize) -> Vec<String> {
    let kind = FieldKind::of(&c.field);
    let normalize = |raw: Option<std::borrow::Cow<'_, str>>| -> Option<String> {
        match raw.and_then(|r| normalize::key(c.method, kind, &r)) {
            Some(k) => Some(k.replace(SEP, "")),
            None => c.match_on_blank.then(String::new),
        }
    };
    let mut out: Vec<String> = Vec::new();
    if c.entity == profiles.table.object {
        let col = profiles.table.col(&c.field);
        out.extend(normalize(profiles.table.text(profiles.rows[p], col)));
    } else if let Some(cp) = profiles
        .contact_points
        .iter()
        .find(|t| t.table.object == c.entity)
    {
        let col = cp.table.col(&c.field);
        for &r in &cp.by_profile[p] {
            if let Some(v) = normalize(cp.table.text(r, col)) {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
        }
        if out.is_empty() && c.match_on_blank {
            out.push(String::new());
        }
    }
    out
}

/// Remembers fuzzy comparisons: the same first names meet under many last names.
#[derive(Default)]
struct FuzzyCache {
    known: HashMap<(String, String, u8), bool>,
}

impl FuzzyCache {
    fn similar(&mut self, a: &str, b: &str, precision: Precision) -> bool {
        if a == b {
            return true;
        }
        let (x, y) = if a < b { (a, b) } else { (b, a) };
        let key = (x.to_owned(), y.to_owned(), precision as u8);
        *self
            .known
            .entry(key)
            .or_insert_with(|| fuzzy::similar(x, y, precision))
    }
}
