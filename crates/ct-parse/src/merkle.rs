//! RFC 6962 Merkle tree hashes, kept as a collapsed tree while a log is
//! tailed: the roots of the perfect subtrees along the right edge, so the
//! tree head at the current size is computed without keeping every leaf.
//! Comparing it with a signed tree head of the same size proves that the
//! entries read are exactly the log's.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// `MTH` of a single leaf: SHA-256(0x00 ‖ leaf_input).
pub fn leaf_hash(leaf_input: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(leaf_input);
    h.finalize().into()
}

/// An interior node: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The right edge of a tree: perfect subtree roots, largest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollapsedTree {
    /// `(root, leaf count)`, counts strictly decreasing powers of two.
    subtrees: Vec<(Hash, u64)>,
    size: u64,
}

impl CollapsedTree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds from stored subtree roots (as persisted with a log position).
    pub fn from_subtrees(subtrees: Vec<(Hash, u64)>) -> Option<Self> {
        let size = subtrees.iter().map(|(_, n)| *n).sum();
        let valid = subtrees.windows(2).all(|w| w[0].1 > w[1].1)
            && subtrees.iter().all(|(_, n)| n.is_power_of_two());
        valid.then_some(Self { subtrees, size })
    }

    pub fn subtrees(&self) -> &[(Hash, u64)] {
        &self.subtrees
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends the next leaf (its `leaf_input`).
    pub fn push(&mut self, leaf_input: &[u8]) {
        self.push_hash(leaf_hash(leaf_input));
    }

    pub fn push_hash(&mut self, hash: Hash) {
        let mut node = (hash, 1u64);
        while let Some(&(last, count)) = self.subtrees.last() {
            if count != node.1 {
                break;
            }
            self.subtrees.pop();
            node = (node_hash(&last, &node.0), count * 2);
        }
        self.subtrees.push(node);
        self.size += 1;
    }

    /// Rebuilds the tree of `size` leaves from its last leaf's hash and that
    /// leaf's audit path (RFC 6962 `PATH(size - 1, D[size])`, bottom up), as
    /// Cert Spotter does to verify a log it starts reading at its end: the
    /// first siblings complete the smallest subtree, the rest are the larger
    /// subtrees' roots, smallest first. `None` if the path has the wrong length.
    pub fn from_last_leaf_path(size: u64, last_leaf: Hash, path: &[Hash]) -> Option<Self> {
        if size == 0 {
            return None;
        }
        let smallest = size.trailing_zeros() as usize;
        let larger: Vec<u64> = (smallest + 1..64)
            .rev()
            .filter(|bit| size & (1 << bit) != 0)
            .map(|bit| 1u64 << bit)
            .collect();
        if path.len() != smallest + larger.len() {
            return None;
        }
        let mut node = last_leaf;
        for sibling in &path[..smallest] {
            node = node_hash(sibling, &node);
        }
        let mut subtrees: Vec<(Hash, u64)> =
            path[smallest..].iter().rev().copied().zip(larger).collect();
        subtrees.push((node, 1 << smallest));
        Self::from_subtrees(subtrees)
    }

    /// The tree head at the current size (the empty tree's is SHA-256 of nothing).
    pub fn root(&self) -> Hash {
        let mut iter = self.subtrees.iter().rev();
        let Some(&(mut acc, _)) = iter.next() else {
            return Sha256::digest([]).into();
        };
        for (hash, _) in iter {
            acc = node_hash(hash, &acc);
        }
        acc
    }
}

/// `MTH` of a list of leaf hashes, by RFC 6962's recursive definition: for
/// short runs (a tiled log's subtree hashes) and for fakes and tests;
/// tailing a whole log uses [`CollapsedTree`].
pub fn root_of(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = split_point(n);
            node_hash(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
        }
    }
}

/// RFC 6962's `PATH(index, leaves)`: the audit path, bottom up.
pub fn audit_path(index: usize, leaves: &[Hash]) -> Vec<Hash> {
    if leaves.len() <= 1 {
        return Vec::new();
    }
    let k = split_point(leaves.len());
    let (mut path, sibling) = if index < k {
        (audit_path(index, &leaves[..k]), root_of(&leaves[k..]))
    } else {
        (audit_path(index - k, &leaves[k..]), root_of(&leaves[..k]))
    };
    path.push(sibling);
    path
}

/// The largest power of two below `n` (n ≥ 2).
fn split_point(n: usize) -> usize {
    1usize << (usize::BITS - (n - 1).leading_zeros() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6962 section 2.1's definition, written out here with nothing
    /// from this module, so that the code is checked against the RFC and
    /// not against itself: MTH({}) = SHA-256(), MTH({d0}) = SHA-256(0x00 ||
    /// d0), and MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])) for
    /// the largest power of two k < n.
    fn mth(leaves: &[Vec<u8>]) -> Hash {
        use sha2::{Digest, Sha256};
        let n = leaves.len();
        let mut hasher = Sha256::new();
        match n {
            0 => {}
            1 => {
                hasher.update([0x00]);
                hasher.update(&leaves[0]);
            }
            _ => {
                let mut k = 1;
                while k * 2 < n {
                    k *= 2;
                }
                hasher.update([0x01]);
                hasher.update(mth(&leaves[..k]));
                hasher.update(mth(&leaves[k..]));
            }
        }
        hasher.finalize().into()
    }

    fn test_leaves() -> Vec<Vec<u8>> {
        // The certificate-transparency project's test leaves.
        vec![
            vec![],
            vec![0x00],
            vec![0x10],
            vec![0x20, 0x21],
            vec![0x30, 0x31],
            vec![0x40, 0x41, 0x42, 0x43],
            vec![0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
            vec![
                0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d,
                0x6e, 0x6f,
            ],
        ]
    }

    #[test]
    fn matches_the_definition_at_every_size() {
        let mut leaves: Vec<Vec<u8>> = test_leaves();
        leaves.extend((0u8..60).map(|i| vec![i; i as usize]));
        let mut tree = CollapsedTree::new();
        assert_eq!(tree.root(), mth(&[]));
        for (i, leaf) in leaves.iter().enumerate() {
            tree.push(leaf);
            assert_eq!(tree.size(), i as u64 + 1);
            assert_eq!(tree.root(), mth(&leaves[..=i]), "size {}", i + 1);
        }
        let resumed = CollapsedTree::from_subtrees(tree.subtrees().to_vec()).unwrap();
        assert_eq!(resumed, tree);
        assert!(CollapsedTree::from_subtrees(vec![([0; 32], 3)]).is_none());
    }

    #[test]
    fn the_last_leafs_audit_path_rebuilds_the_tree() {
        let leaves: Vec<Hash> = (0u8..70).map(|i| leaf_hash(&[i])).collect();
        let mut tree = CollapsedTree::new();
        for size in 1..=leaves.len() {
            tree.push_hash(leaves[size - 1]);
            let path = audit_path(size - 1, &leaves[..size]);
            let rebuilt =
                CollapsedTree::from_last_leaf_path(size as u64, leaves[size - 1], &path).unwrap();
            assert_eq!(rebuilt, tree, "size {size}");
            assert_eq!(rebuilt.root(), root_of(&leaves[..size]));
            assert!(
                path.is_empty()
                    || CollapsedTree::from_last_leaf_path(
                        size as u64,
                        leaves[size - 1],
                        &path[1..]
                    )
                    .is_none(),
                "a short path is refused"
            );
        }
        assert!(CollapsedTree::from_last_leaf_path(0, leaves[0], &[]).is_none());
    }

    /// The certificate-transparency project's published roots for its test
    /// leaves, at every size from 1 to 8 (most of them not powers of two),
    /// against both the reference above and the code.
    #[test]
    fn known_tree_heads() {
        const ROOTS: [&str; 8] = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let leaves = test_leaves();
        for (n, want) in (1..=8).zip(ROOTS) {
            assert_eq!(hex::encode(mth(&leaves[..n])), want, "reference, size {n}");
            let hashes: Vec<Hash> = leaves[..n].iter().map(|l| leaf_hash(l)).collect();
            assert_eq!(hex::encode(root_of(&hashes)), want, "root_of, size {n}");
        }
    }
}
