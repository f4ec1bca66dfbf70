//! Proof generation over a [`NodeStore`] (RFC 9162 §2.1.3.1 `PATH` and §2.1.4.1 `SUBPROOF`).
//!
//! The recursions are walked top-down from the root. A sibling is either a complete subtree (one
//! read) or, at most once per proof, the ephemeral right part of the tree `[mid, size)`, whose
//! hash is folded from its `popcount(size - mid)` complete subtrees. With `c = ⌈log2 n⌉`: the
//! path has at most `c` entries; an ephemeral sibling at depth `d` has at most `c - d - 1` parts
//! and at most `c - d - 1` entries follow below it, so an inclusion proof reads at most
//! `max(2c - 2, c)` nodes. A consistency proof may add the old subtree's own hash: at most
//! `2c - 1` reads. Both bounds are attained (test `read_bounds_are_exact`). Every read is one
//! [`NodeStore::get`] point lookup; nothing scans.

use super::geometry::{Decomposition, split};
use super::hash::{MerkleHash, empty_root, node_hash};
use super::proof::{ConsistencyProof, InclusionProof};
use super::store::{NodeReadError, NodeStore, read_node};

/// Why a proof could not be produced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError<E: std::error::Error + 'static> {
    /// The leaf is not in a tree of the requested size.
    #[error(
        "cannot prove leaf_index {leaf_index} in a tree of tree_size {tree_size}; valid indices are 0..tree_size"
    )]
    LeafIndexOutOfRange {
        /// Requested leaf.
        leaf_index: u64,
        /// Requested tree size.
        tree_size: u64,
    },
    /// The old tree is larger than the new one.
    #[error("cannot prove consistency from old_size {old_size} to the smaller new_size {new_size}")]
    OldSizeExceedsNewSize {
        /// Requested old size.
        old_size: u64,
        /// Requested new size.
        new_size: u64,
    },
    /// A node of the tree could not be read.
    #[error(transparent)]
    Read(#[from] NodeReadError<E>),
}

/// The audit path of leaf `leaf_index` in the tree of the first `tree_size` leaves. The store
/// must hold every complete subtree of that tree (it may hold more: proofs for any past size
/// can be served from one store).
pub fn inclusion_proof<S: NodeStore + ?Sized>(
    store: &S,
    leaf_index: u64,
    tree_size: u64,
) -> Result<InclusionProof, ProofError<S::Error>> {
    if leaf_index >= tree_size {
        return Err(ProofError::LeafIndexOutOfRange {
            leaf_index,
            tree_size,
        });
    }
    let mut top_down = Vec::new();
    let (mut start, mut end) = (0u64, tree_size);
    while end - start > 1 {
        let mid = start + split(end - start);
        if leaf_index < mid {
            top_down.push(range_root(store, mid, end)?);
            end = mid;
        } else {
            top_down.push(range_root(store, start, mid)?);
            start = mid;
        }
    }
    top_down.reverse();
    Ok(InclusionProof {
        leaf_index,
        tree_size,
        path: top_down,
    })
}

/// The proof that the first `old_size` leaves are a prefix of the first `new_size`. Empty when
/// `old_size` is 0 or equals `new_size`.
pub fn consistency_proof<S: NodeStore + ?Sized>(
    store: &S,
    old_size: u64,
    new_size: u64,
) -> Result<ConsistencyProof, ProofError<S::Error>> {
    if old_size > new_size {
        return Err(ProofError::OldSizeExceedsNewSize { old_size, new_size });
    }
    let mut top_down = Vec::new();
    if old_size > 0 && old_size < new_size {
        // `old` counts old leaves inside `[start, end)`; `whole_old_tree` is RFC 9162's flag `b`:
        // still on the path from the root, where the old subtree root is the old root itself and
        // the verifier already has it.
        let (mut start, mut end, mut old) = (0u64, new_size, old_size);
        let mut whole_old_tree = true;
        loop {
            if old == end - start {
                if !whole_old_tree {
                    top_down.push(range_root(store, start, end)?);
                }
                break;
            }
            let k = split(end - start);
            let mid = start + k;
            if old <= k {
                top_down.push(range_root(store, mid, end)?);
                end = mid;
            } else {
                top_down.push(range_root(store, start, mid)?);
                old -= k;
                start = mid;
                whole_old_tree = false;
            }
        }
    }
    top_down.reverse();
    Ok(ConsistencyProof {
        old_size,
        new_size,
        path: top_down,
    })
}

/// Root of the tree of the first `tree_size` leaves, from stored nodes only (`popcount(tree_size)`
/// reads). Lets the node answer "what was the root at size m" without keeping old roots.
pub fn root_at<S: NodeStore + ?Sized>(
    store: &S,
    tree_size: u64,
) -> Result<MerkleHash, NodeReadError<S::Error>> {
    range_root(store, 0, tree_size)
}

/// `MTH(D[start..end])` for a range produced by the RFC 6962 recursion (start aligned to a power
/// of two at least `end - start`): fold its complete subtrees from the right.
fn range_root<S: NodeStore + ?Sized>(
    store: &S,
    start: u64,
    end: u64,
) -> Result<MerkleHash, NodeReadError<S::Error>> {
    let parts = Decomposition::new(start, end)
        .map(|(level, index)| read_node(store, level, index))
        .collect::<Result<Vec<_>, _>>()?;
    let mut from_right = parts.iter().rev();
    Ok(match from_right.next() {
        None => empty_root(),
        Some(last) => from_right.fold(*last, |acc, left| node_hash(left, &acc)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::log::MerkleLog;
    use crate::merkle::store::MemoryNodeStore;
    use crate::merkle::tree::tests::{CT_ROOTS, ct_leaf_hashes, hex};

    fn ct_store() -> MemoryNodeStore {
        let mut log = MerkleLog::new();
        let mut store = MemoryNodeStore::new();
        for leaf in ct_leaf_hashes() {
            store.insert_all(log.append(leaf).unwrap()).unwrap();
        }
        store
    }

    fn hexes(path: &[&str]) -> Vec<MerkleHash> {
        path.iter().map(|h| hex(h)).collect()
    }

    #[test]
    fn reproduces_the_ct_reference_inclusion_paths() {
        let store = ct_store();
        // testonly/reference_test.go TestRefInclusionProof (0-based indices).
        let cases: [(u64, u64, &[&str]); 7] = [
            (0, 1, &[]),
            (
                0,
                2,
                &["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"],
            ),
            (
                1,
                2,
                &["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"],
            ),
            (
                2,
                3,
                &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
            ),
            (
                1,
                5,
                &[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
        ];
        for (index, size, want) in cases {
            let proof = inclusion_proof(&store, index, size).unwrap();
            assert_eq!(proof.path, hexes(want), "leaf {index} of {size}");
        }
    }

    #[test]
    fn reproduces_the_ct_reference_consistency_proofs() {
        let store = ct_store();
        let cases: [(u64, u64, &[&str]); 5] = [
            (1, 1, &[]),
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
            (
                6,
                7,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
        ];
        for (old_size, new_size, want) in cases {
            let proof = consistency_proof(&store, old_size, new_size).unwrap();
            assert_eq!(proof.path, hexes(want), "{old_size} -> {new_size}");
        }
    }

    #[test]
    fn historical_roots_come_from_the_store() {
        let store = ct_store();
        assert_eq!(root_at(&store, 0).unwrap(), empty_root());
        for (n, want) in (1..=8).zip(CT_ROOTS) {
            assert_eq!(root_at(&store, n).unwrap(), hex(want), "size {n}");
        }
        assert!(matches!(
            root_at(&store, 9),
            Err(NodeReadError::Missing { level: 0, index: 8 })
        ));
    }

    #[test]
    fn invalid_requests_are_errors_not_panics() {
        let store = ct_store();
        assert!(matches!(
            inclusion_proof(&store, 8, 8),
            Err(ProofError::LeafIndexOutOfRange {
                leaf_index: 8,
                tree_size: 8
            })
        ));
        assert!(matches!(
            inclusion_proof(&store, 0, 0),
            Err(ProofError::LeafIndexOutOfRange { .. })
        ));
        assert!(matches!(
            consistency_proof(&store, 5, 4),
            Err(ProofError::OldSizeExceedsNewSize {
                old_size: 5,
                new_size: 4
            })
        ));
        // Larger than the stored log: the missing node is named.
        let err = inclusion_proof(&store, 3, u64::MAX).unwrap_err();
        assert!(matches!(
            err,
            ProofError::Read(NodeReadError::Missing { .. })
        ));
        assert!(err.to_string().contains("not in the node store"), "{err}");
        assert!(consistency_proof(&store, 3, u64::MAX).is_err());
        assert_eq!(
            consistency_proof(&store, 0, u64::MAX).unwrap().path,
            Vec::<MerkleHash>::new()
        );
    }
}
