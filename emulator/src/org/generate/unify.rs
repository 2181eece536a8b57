//! Identity resolution for the generated sources: a union-find over source
//! records that share a normalized email or an E.164 phone number, the two
//! `EXACT_NORMALIZED` match rules of a typical Individual ruleset.

use std::collections::BTreeMap;

/// Disjoint sets over `0..n`.
pub struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    pub fn new(n: usize) -> UnionFind {
        UnionFind {
            parent: (0..n).collect(),
        }
    }

    pub fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    /// Joins two sets; the smaller index stays the root, so roots (and the
    /// order of groups) do not depend on the order of unions.
    pub fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent[hi] = lo;
    }
}

/// Groups record indexes by matching keys: every key a record has (normalized
/// email, E.164 phone) links it to the other records with that key. Groups
/// come out ordered by their smallest record, members ascending.
pub fn groups(keys: &[Vec<String>]) -> Vec<Vec<usize>> {
    let mut uf = UnionFind::new(keys.len());
    let mut first_holder: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, ks) in keys.iter().enumerate() {
        for k in ks {
            match first_holder.get(k.as_str()) {
                Some(&j) => uf.union(i, j),
                None => {
                    first_holder.insert(k, i);
                }
            }
        }
    }
    let mut by_root: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..keys.len() {
        let root = uf.find(i);
        by_root.entry(root).or_default().push(i);
    }
    by_root.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::groups;

    #[test]
    fn shared_keys_chain_records_together() {
        let k = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let keys = vec![k(&["a"]), k(&["b"]), k(&["a", "p"]), k(&[]), k(&["p", "b"])];
        assert_eq!(groups(&keys), vec![vec![0, 1, 2, 4], vec![3]]);
    }
}
