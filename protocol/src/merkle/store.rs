//! Storage abstraction for complete-subtree hashes, and an in-memory implementation.
//!
//! The crate stays pure: the node implements [`NodeStore`] over its database (sled), the client
//! and the tests use [`MemoryNodeStore`].

use std::convert::Infallible;

use super::hash::MerkleHash;

/// Identifies the complete subtree over leaves `[index << level, (index + 1) << level)`; level 0
/// is a leaf hash. Such a node's hash never changes once its last leaf is appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CompletedNode {
    /// Height above the leaves (0 = leaf). At most 63 for a `u64`-sized log.
    pub level: u8,
    /// Position among the nodes of that level, left to right.
    pub index: u64,
    /// The node's hash.
    pub hash: MerkleHash,
}

impl CompletedNode {
    /// The recommended database key of this node: see [`node_key`].
    pub fn key(&self) -> [u8; 9] {
        node_key(self.level, self.index)
    }
}

/// Recommended key for persisting node `(level, index)`: `level` then `index` big-endian, 9 bytes.
///
/// Big-endian makes byte order equal numeric order, so one level's nodes form one contiguous,
/// index-sorted key range (cheap range scans, good prefix compression, and every append writes at
/// the end of each range it touches).
pub fn node_key(level: u8, index: u64) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[0] = level;
    key[1..].copy_from_slice(&index.to_be_bytes());
    key
}

/// Read access to persisted complete-subtree hashes.
///
/// `Ok(None)` means "not stored": proof generation turns it into
/// [`NodeReadError::Missing`], which for a correctly maintained store means the caller asked about
/// a tree larger than the log.
pub trait NodeStore {
    /// Failure of the backing storage (I/O, corruption, ...).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Hash of the complete subtree `(level, index)`, if stored.
    fn get(&self, level: u8, index: u64) -> Result<Option<MerkleHash>, Self::Error>;
}

impl<S: NodeStore + ?Sized> NodeStore for &S {
    type Error = S::Error;

    fn get(&self, level: u8, index: u64) -> Result<Option<MerkleHash>, Self::Error> {
        (**self).get(level, index)
    }
}

/// A node needed to answer a query could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeReadError<E: std::error::Error + 'static> {
    /// The store has no hash for this node: the requested tree size exceeds what was appended to
    /// the store, or the store lost data.
    #[error(
        "Merkle node (level {level}, index {index}) is not in the node store; the requested tree size exceeds the stored log or the store is incomplete"
    )]
    Missing {
        /// Level of the missing node.
        level: u8,
        /// Index of the missing node.
        index: u64,
    },
    /// The store failed while reading this node.
    #[error("node store failed to read Merkle node (level {level}, index {index})")]
    Store {
        /// Level of the node being read.
        level: u8,
        /// Index of the node being read.
        index: u64,
        /// The storage error.
        #[source]
        source: E,
    },
}

/// Reads one node, turning "absent" into an error.
pub(crate) fn read_node<S: NodeStore + ?Sized>(
    store: &S,
    level: u8,
    index: u64,
) -> Result<MerkleHash, NodeReadError<S::Error>> {
    match store.get(level, index) {
        Ok(Some(hash)) => Ok(hash),
        Ok(None) => Err(NodeReadError::Missing { level, index }),
        Err(source) => Err(NodeReadError::Store {
            level,
            index,
            source,
        }),
    }
}

/// Complete-subtree hashes in memory, one dense vector per level.
///
/// Dense because an append-only log completes the nodes of each level strictly left to right:
/// 32 bytes per node, about `2n` nodes for `n` leaves (64 bytes per leaf).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryNodeStore {
    levels: Vec<Vec<MerkleHash>>,
}

/// Why [`MemoryNodeStore::insert`] refused a node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MemoryStoreError {
    /// The node would leave a hole in its level; nodes must arrive in the order
    /// [`MerkleLog::append`](super::MerkleLog::append) returns them.
    #[error(
        "cannot store Merkle node (level {level}, index {index}): level {level} only has nodes 0..{stored}; insert nodes in append order"
    )]
    Gap {
        /// Level of the rejected node.
        level: u8,
        /// Index of the rejected node.
        index: u64,
        /// Number of nodes already stored at that level.
        stored: u64,
    },
    /// A different hash is already stored at this position; complete subtrees are immutable, so
    /// this means two different logs are being mixed.
    #[error(
        "Merkle node (level {level}, index {index}) is already stored as {existing}, refusing to overwrite it with {new}"
    )]
    Conflict {
        /// Level of the rejected node.
        level: u8,
        /// Index of the rejected node.
        index: u64,
        /// The hash already stored.
        existing: MerkleHash,
        /// The hash that was offered.
        new: MerkleHash,
    },
}

impl MemoryNodeStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores one completed node. Re-inserting an identical node is a no-op, so replaying the
    /// output of an interrupted append is safe.
    pub fn insert(&mut self, node: CompletedNode) -> Result<(), MemoryStoreError> {
        let CompletedNode { level, index, hash } = node;
        let level_slot = usize::from(level);
        if self.levels.len() <= level_slot {
            self.levels.resize_with(level_slot + 1, Vec::new);
        }
        // `levels` now has `level_slot`; `get_mut` keeps this free of index panics regardless.
        let Some(nodes) = self.levels.get_mut(level_slot) else {
            return Err(MemoryStoreError::Gap {
                level,
                index,
                stored: 0,
            });
        };
        let stored = nodes.len() as u64;
        match usize::try_from(index).ok().and_then(|i| nodes.get(i)) {
            Some(existing) if *existing == hash => Ok(()),
            Some(existing) => Err(MemoryStoreError::Conflict {
                level,
                index,
                existing: *existing,
                new: hash,
            }),
            None if index == stored => {
                nodes.push(hash);
                Ok(())
            }
            None => Err(MemoryStoreError::Gap {
                level,
                index,
                stored,
            }),
        }
    }

    /// Stores every node of an append, in order.
    pub fn insert_all(
        &mut self,
        nodes: impl IntoIterator<Item = CompletedNode>,
    ) -> Result<(), MemoryStoreError> {
        nodes.into_iter().try_for_each(|node| self.insert(node))
    }

    /// Number of leaves stored (nodes at level 0).
    pub fn leaf_count(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }
}

impl NodeStore for MemoryNodeStore {
    type Error = Infallible;

    fn get(&self, level: u8, index: u64) -> Result<Option<MerkleHash>, Infallible> {
        Ok(self
            .levels
            .get(usize::from(level))
            .and_then(|nodes| nodes.get(usize::try_from(index).ok()?))
            .copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::hash::leaf_hash;

    fn node(level: u8, index: u64, data: &[u8]) -> CompletedNode {
        CompletedNode {
            level,
            index,
            hash: leaf_hash(data),
        }
    }

    #[test]
    fn keys_sort_by_level_then_index() {
        assert_eq!(node_key(1, 2), [1, 0, 0, 0, 0, 0, 0, 0, 2]);
        let mut keys = [
            node_key(1, 0),
            node_key(0, 256),
            node_key(0, 1),
            node_key(0, u64::MAX),
        ];
        keys.sort();
        assert_eq!(
            keys,
            [
                node_key(0, 1),
                node_key(0, 256),
                node_key(0, u64::MAX),
                node_key(1, 0)
            ]
        );
        assert_eq!(node(3, 9, b"x").key(), node_key(3, 9));
    }

    #[test]
    fn insert_then_get() {
        let mut store = MemoryNodeStore::new();
        store.insert(node(0, 0, b"a")).unwrap();
        store.insert(node(2, 0, b"c")).unwrap();
        assert_eq!(store.get(0, 0), Ok(Some(leaf_hash(b"a"))));
        assert_eq!(store.get(2, 0), Ok(Some(leaf_hash(b"c"))));
        assert_eq!(store.get(1, 0), Ok(None));
        assert_eq!(store.get(0, 1), Ok(None));
        assert_eq!(store.get(200, u64::MAX), Ok(None));
        assert_eq!(store.leaf_count(), 1);
    }

    #[test]
    fn insert_is_idempotent_but_refuses_conflicts_and_gaps() {
        let mut store = MemoryNodeStore::new();
        store.insert(node(0, 0, b"a")).unwrap();
        store.insert(node(0, 0, b"a")).unwrap();
        assert_eq!(store.leaf_count(), 1);
        let conflict = store.insert(node(0, 0, b"b")).unwrap_err();
        assert!(matches!(
            conflict,
            MemoryStoreError::Conflict {
                level: 0,
                index: 0,
                ..
            }
        ));
        assert_eq!(
            store.insert(node(0, 5, b"b")),
            Err(MemoryStoreError::Gap {
                level: 0,
                index: 5,
                stored: 1
            })
        );
        assert!(store.insert(node(0, u64::MAX, b"b")).is_err());
    }

    #[test]
    fn read_node_reports_which_node_is_missing() {
        let store = MemoryNodeStore::new();
        let err = read_node(&store, 4, 7).unwrap_err();
        assert!(matches!(err, NodeReadError::Missing { level: 4, index: 7 }));
        assert!(err.to_string().contains("level 4, index 7"), "{err}");
    }
}
