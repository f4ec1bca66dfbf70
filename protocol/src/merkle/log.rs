//! The append side of the log: a compact range over `[0, size)`.
//!
//! Only the *frontier* is kept in memory (one complete subtree per set bit of `size`, at most 64
//! hashes), which is all that is needed to append and to compute the current root. Everything
//! else lives in the [`NodeStore`]; the nodes each append completes are handed back to the caller
//! to persist.

use super::geometry::Decomposition;
use super::hash::{MerkleHash, empty_root, node_hash};
use super::store::{CompletedNode, NodeReadError, NodeStore, read_node};

/// Incremental RFC 6962 tree over the leaves appended so far.
///
/// `append` costs one leaf plus, on average, one interior hash (`O(n)` for `n` appends, at most
/// 64 for a single one); `root` costs at most 63 hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleLog {
    size: u64,
    /// Frontier hashes, left to right; `frontier[i]` covers the `i`-th set bit of `size` counted
    /// from the most significant one, so levels strictly decrease.
    frontier: Vec<MerkleHash>,
}

/// Why [`MerkleLog::append`] refused a leaf.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// The log already holds `u64::MAX` leaves; its size could not be represented.
    #[error("Merkle log is full: it already holds {size} leaves, the maximum a u64 size can count")]
    LogFull {
        /// Current size.
        size: u64,
    },
}

impl Default for MerkleLog {
    fn default() -> Self {
        Self::new()
    }
}

impl MerkleLog {
    /// The empty log.
    pub fn new() -> Self {
        Self {
            size: 0,
            frontier: Vec::new(),
        }
    }

    /// Restores the log of `size` leaves from a store, e.g. after a node restart. Reads only the
    /// frontier: `popcount(size)` nodes.
    pub fn from_store<S: NodeStore + ?Sized>(
        store: &S,
        size: u64,
    ) -> Result<Self, NodeReadError<S::Error>> {
        let frontier = Decomposition::new(0, size)
            .map(|(level, index)| read_node(store, level, index))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { size, frontier })
    }

    /// Number of leaves appended.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// `MTH` of all leaves appended so far ([`empty_root`] for an empty log).
    pub fn root(&self) -> MerkleHash {
        let mut from_right = self.frontier.iter().rev();
        match from_right.next() {
            None => empty_root(),
            Some(last) => from_right.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }

    /// The frontier as nodes with their positions: what a light client needs to keep appending
    /// without the rest of the tree.
    pub fn frontier(&self) -> Vec<CompletedNode> {
        Decomposition::new(0, self.size)
            .zip(&self.frontier)
            .map(|((level, index), hash)| CompletedNode {
                level,
                index,
                hash: *hash,
            })
            .collect()
    }

    /// Appends one leaf hash (see [`leaf_hash`](super::leaf_hash)) and returns the nodes this
    /// completes, leaf first, then bottom-up. The caller persists all of them, in this order and
    /// atomically with the new size, before proofs for the new size are served.
    pub fn append(&mut self, leaf_hash: MerkleHash) -> Result<Vec<CompletedNode>, AppendError> {
        let index = self.size;
        let new_size = index
            .checked_add(1)
            .ok_or(AppendError::LogFull { size: self.size })?;
        let mut completed = Vec::with_capacity(1 + index.trailing_ones() as usize);
        completed.push(CompletedNode {
            level: 0,
            index,
            hash: leaf_hash,
        });
        let (mut hash, mut level, mut position) = (leaf_hash, 0u8, index);
        // Each trailing 1 bit of the old size is a frontier subtree of the same height as the one
        // just completed: merge them. `frontier.len() == popcount(size)` guarantees the pops.
        while position & 1 == 1
            && let Some(left) = self.frontier.pop()
        {
            hash = node_hash(&left, &hash);
            level += 1;
            position >>= 1;
            completed.push(CompletedNode {
                level,
                index: position,
                hash,
            });
        }
        self.frontier.push(hash);
        self.size = new_size;
        Ok(completed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::hash::leaf_hash;
    use crate::merkle::store::MemoryNodeStore;
    use crate::merkle::tree::tests::{
        CT_ROOTS, GOLDEN_ROOTS, base64_hash, ct_leaf_hashes, golden_leaf_hashes, hex,
    };

    #[test]
    fn empty_log() {
        let log = MerkleLog::new();
        assert_eq!(log.size(), 0);
        assert_eq!(log.root(), empty_root());
        assert!(log.frontier().is_empty());
        assert_eq!(MerkleLog::default(), log);
    }

    #[test]
    fn ct_roots_after_each_append() {
        let mut log = MerkleLog::new();
        for (leaf, want) in ct_leaf_hashes().into_iter().zip(CT_ROOTS) {
            log.append(leaf).unwrap();
            assert_eq!(log.root(), hex(want), "size {}", log.size());
        }
    }

    #[test]
    fn golden_roots_of_larger_trees() {
        let leaves = golden_leaf_hashes(65535);
        let mut log = MerkleLog::new();
        let mut goldens = GOLDEN_ROOTS.iter().peekable();
        for (i, leaf) in leaves.into_iter().enumerate() {
            log.append(leaf).unwrap();
            if let Some((_, want)) = goldens.next_if(|(n, _)| *n == i + 1) {
                assert_eq!(log.root(), base64_hash(want), "size {}", i + 1);
            }
        }
        assert!(goldens.next().is_none());
    }

    #[test]
    fn append_reports_the_completed_nodes() {
        let leaves = ct_leaf_hashes();
        let mut log = MerkleLog::new();
        let positions = |nodes: Vec<CompletedNode>| -> Vec<(u8, u64)> {
            nodes.iter().map(|n| (n.level, n.index)).collect()
        };
        assert_eq!(positions(log.append(leaves[0]).unwrap()), [(0, 0)]);
        assert_eq!(positions(log.append(leaves[1]).unwrap()), [(0, 1), (1, 0)]);
        assert_eq!(positions(log.append(leaves[2]).unwrap()), [(0, 2)]);
        let fourth = log.append(leaves[3]).unwrap();
        assert_eq!(positions(fourth.clone()), [(0, 3), (1, 1), (2, 0)]);
        // The level-2 node over four leaves is the size-4 root.
        assert_eq!(fourth[2].hash, hex(CT_ROOTS[3]));
    }

    #[test]
    fn restores_from_a_store() {
        let mut log = MerkleLog::new();
        let mut store = MemoryNodeStore::new();
        for i in 0u32..1000 {
            store
                .insert_all(log.append(leaf_hash(&i.to_be_bytes())).unwrap())
                .unwrap();
            let restored = MerkleLog::from_store(&store, log.size()).unwrap();
            assert_eq!(restored, log, "size {}", log.size());
        }
        assert_eq!(log.frontier().len(), 1000u32.count_ones() as usize);
        assert!(matches!(
            MerkleLog::from_store(&store, 1001),
            Err(NodeReadError::Missing {
                level: 0,
                index: 1000
            })
        ));
    }

    #[test]
    fn a_full_log_refuses_to_grow_instead_of_overflowing() {
        let mut log = MerkleLog {
            size: u64::MAX,
            frontier: vec![empty_root(); 64],
        };
        assert_eq!(
            log.append(empty_root()),
            Err(AppendError::LogFull { size: u64::MAX })
        );
        assert_eq!(log.size(), u64::MAX);
    }
}
