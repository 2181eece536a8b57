//! Unified record ids, stable across runs.
//!
//! The rule, in two parts:
//!
//! 1. **A new cluster** (none of its source profiles was linked before) gets
//!    a fresh id: the first 32 hex digits of SHA-256 over the ruleset's
//!    `rulesetId`, the object kind and the cluster's *anchor*, its smallest
//!    source record id. The fixture generator uses the same rule, so the
//!    default org's unified ids are what a first run would produce.
//! 2. **A cluster whose profiles were linked before** keeps a previous
//!    unified id, read from the link object:
//!    * unchanged cluster → same id;
//!    * growth (a new profile joins) → same id, whatever the newcomer's id;
//!    * merge (profiles of several previous unified records now match) → the
//!      previous id carried by most of the cluster's profiles survives (ties:
//!      the smallest id); the others are retired;
//!    * split (a previous record's profiles now fall into several clusters) →
//!      the cluster holding most of them keeps the id (ties: the cluster with
//!      the smallest anchor); the rest keep another previous id of theirs, if
//!      any is free, or get fresh ids.
//!
//!    Both are one greedy pass over (cluster, previous id) overlaps, largest
//!    first: each cluster keeps at most one previous id, each previous id
//!    goes to at most one cluster.
//!
//! A fresh id that collides with one kept this run is re-derived with a
//! counter appended to the anchor.

use std::collections::{HashMap, HashSet};

use aws_lc_rs::digest;

/// A fresh unified id for `anchor` (32 lower-case hex digits, the shape of
/// Data Cloud's unified ids).
pub fn fresh(ruleset_id: &str, kind: &str, anchor: &str) -> String {
    let mut input = Vec::with_capacity(ruleset_id.len() + kind.len() + anchor.len() + 2);
    input.extend_from_slice(ruleset_id.as_bytes());
    input.push(0);
    input.extend_from_slice(kind.as_bytes());
    input.push(0);
    input.extend_from_slice(anchor.as_bytes());
    let d = digest::digest(&digest::SHA256, &input);
    d.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Ids for `groups` (member indexes into `source_ids`, each group ascending,
/// groups ordered by their smallest member); `previous` maps source record
/// id → unified id from the last run.
pub fn assign(
    ruleset_id: &str,
    kind: &str,
    groups: &[Vec<usize>],
    source_ids: &[&str],
    previous: &HashMap<String, String>,
) -> Vec<String> {
    // (overlap, cluster, previous id): how many members of a cluster carried
    // a previous id.
    let mut overlaps: Vec<(usize, usize, &str)> = Vec::new();
    for (c, group) in groups.iter().enumerate() {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for &m in group {
            if let Some(u) = previous.get(source_ids[m]) {
                *counts.entry(u.as_str()).or_default() += 1;
            }
        }
        overlaps.extend(counts.into_iter().map(|(u, n)| (n, c, u)));
    }
    // Largest overlaps first (ties: smaller anchor, then smaller id): each
    // cluster keeps at most one previous id, each id goes to one cluster.
    overlaps.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(b.2)));
    let mut out: Vec<Option<String>> = vec![None; groups.len()];
    let mut kept: HashSet<&str> = HashSet::new();
    for (_, c, u) in overlaps {
        if out[c].is_none() && kept.insert(u) {
            out[c] = Some(u.to_owned());
        }
    }
    let mut used: HashSet<String> = out.iter().flatten().cloned().collect();
    for (c, slot) in out.iter_mut().enumerate() {
        if slot.is_some() {
            continue;
        }
        let anchor = groups[c].first().map_or("", |&m| source_ids[m]);
        let mut id = fresh(ruleset_id, kind, anchor);
        let mut n = 1;
        while used.contains(&id) {
            id = fresh(ruleset_id, kind, &format!("{anchor}#{n}"));
            n += 1;
        }
        used.insert(id.clone());
        *slot = Some(id);
    }
    out.into_iter().map(Option::unwrap_or_default).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prev(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(s, u)| (s.to_string(), u.to_string()))
            .collect()
    }

    #[test]
    fn fresh_ids_hash_the_anchor() {
        let id = fresh("", "Individual", "a");
        assert_eq!(id.len(), 32);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(id, fresh("", "Individual", "a"));
        assert_ne!(id, fresh("R1", "Individual", "a"));
        let ids = ["a", "b", "c"];
        let got = assign(
            "",
            "Individual",
            &[vec![0, 1], vec![2]],
            &ids,
            &HashMap::new(),
        );
        assert_eq!(
            got,
            [fresh("", "Individual", "a"), fresh("", "Individual", "c")]
        );
    }

    #[test]
    fn growth_keeps_the_id_even_with_a_smaller_newcomer() {
        let ids = ["0-new", "b", "c"];
        let got = assign(
            "",
            "I",
            &[vec![0, 1, 2]],
            &ids,
            &prev(&[("b", "U1"), ("c", "U1")]),
        );
        assert_eq!(got, ["U1"]);
    }

    #[test]
    fn merges_keep_the_majority_id_and_splits_give_the_rest_fresh_ids() {
        let ids = ["a", "b", "c", "d"];
        let p = prev(&[("a", "U1"), ("b", "U2"), ("c", "U2"), ("d", "U3")]);
        assert_eq!(assign("", "I", &[vec![0, 1, 2, 3]], &ids, &p), ["U2"]);
        // U2 split into {a, b} and {c}: {a, b} holds U1 and U2 once each and
        // keeps the smaller, U1; {c} keeps U2.
        let got = assign("", "I", &[vec![0, 1], vec![2], vec![3]], &ids, &p);
        assert_eq!(got, ["U1", "U2", "U3"]);
        // A split where one side has no claim left gets a fresh id.
        let p = prev(&[("a", "U1"), ("b", "U1")]);
        let got = assign("", "I", &[vec![0], vec![1]], &ids, &p);
        assert_eq!(got, ["U1".to_string(), fresh("", "I", "b")]);
    }
}
