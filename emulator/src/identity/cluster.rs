//! Clusters of source profiles: a union-find over profile indexes, joined
//! pair by pair as match rules find matches, then read out as groups.
//!
//! Matching is transitive on purpose — if A matches B on email and B matches
//! C on phone, A, B and C are one person — which is what a union-find gives.

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

    /// The sets, ordered by their smallest member, members ascending.
    pub fn groups(mut self) -> Vec<Vec<usize>> {
        let mut by_root: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for i in 0..self.parent.len() {
            let root = self.find(i);
            by_root.entry(root).or_default().push(i);
        }
        by_root.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::UnionFind;

    #[test]
    fn unions_chain_and_groups_are_ordered() {
        let mut uf = UnionFind::new(5);
        uf.union(4, 1);
        uf.union(2, 0);
        uf.union(1, 2);
        assert_eq!(uf.groups(), vec![vec![0, 1, 2, 4], vec![3]]);
    }
}
