//! Verification of inclusion and consistency proofs (RFC 9162 §2.1.3.2 and §2.1.4.2), in the
//! bit-twiddling form of transparency-dev/merkle `proof/verify.go`.
//!
//! Every check on sizes and path length happens before any hashing, so hostile input (size 0,
//! `u64::MAX`, index beyond the tree, path too long or too short) is rejected in `O(1)` and
//! a path of more than 128 hashes is never hashed at all.

use super::hash::{MerkleHash, empty_root, node_hash};
use super::proof::{ConsistencyProof, InclusionProof};

/// Why a proof was rejected. Each variant names the proof part that is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MerkleError {
    /// The leaf index is not inside the tree (this includes every index of an empty tree).
    #[error(
        "inclusion proof leaf_index {leaf_index} is outside the tree of tree_size {tree_size}; valid indices are 0..tree_size"
    )]
    LeafIndexOutOfRange {
        /// Index claimed by the proof.
        leaf_index: u64,
        /// Tree size claimed by the proof.
        tree_size: u64,
    },
    /// The path has the wrong number of hashes for `(leaf_index, tree_size)`.
    #[error(
        "inclusion proof path has {actual} hashes, but leaf_index {leaf_index} in a tree of tree_size {tree_size} needs exactly {expected}"
    )]
    InclusionPathLength {
        /// Index claimed by the proof.
        leaf_index: u64,
        /// Tree size claimed by the proof.
        tree_size: u64,
        /// Number of hashes the sizes require.
        expected: usize,
        /// Number of hashes present.
        actual: usize,
    },
    /// The leaf hash and path lead to a different root than the trusted one: the leaf is not in
    /// that tree at that index, or the path was tampered with.
    #[error(
        "inclusion proof does not lead to the trusted root: leaf hash and path give {computed}, trusted root is {expected}"
    )]
    InclusionRootMismatch {
        /// The trusted root passed by the caller.
        expected: MerkleHash,
        /// The root reconstructed from leaf hash and path.
        computed: MerkleHash,
    },
    /// `new_size < old_size`: an append-only log never shrinks.
    #[error(
        "consistency proof new_size {new_size} is smaller than old_size {old_size}; an append-only log never shrinks"
    )]
    ConsistencySizesDecrease {
        /// Size of the earlier tree.
        old_size: u64,
        /// Size of the later tree.
        new_size: u64,
    },
    /// The path has the wrong number of hashes for `(old_size, new_size)`.
    #[error(
        "consistency proof path has {actual} hashes, but old_size {old_size} -> new_size {new_size} needs exactly {expected}"
    )]
    ConsistencyPathLength {
        /// Size of the earlier tree.
        old_size: u64,
        /// Size of the later tree.
        new_size: u64,
        /// Number of hashes the sizes require.
        expected: usize,
        /// Number of hashes present.
        actual: usize,
    },
    /// `old_size` is 0 but the old root is not the empty-tree root.
    #[error(
        "consistency proof old_size is 0, so the old root must be the empty-tree root {expected}, but it is {actual}"
    )]
    OldRootNotEmpty {
        /// The empty-tree root.
        expected: MerkleHash,
        /// The old root passed by the caller.
        actual: MerkleHash,
    },
    /// Equal sizes but different roots: the log forked (two histories of the same length).
    #[error(
        "consistency proof old_size equals new_size ({size}) but the roots differ (old {old_root}, new {new_root}): the log has forked"
    )]
    EqualSizeRootsDiffer {
        /// The common size.
        size: u64,
        /// The old root passed by the caller.
        old_root: MerkleHash,
        /// The new root passed by the caller.
        new_root: MerkleHash,
    },
    /// The path does not rebuild the old root.
    #[error(
        "consistency proof does not rebuild the old root: path gives {computed}, old root is {expected}"
    )]
    OldRootMismatch {
        /// The old root passed by the caller.
        expected: MerkleHash,
        /// The root reconstructed from the path.
        computed: MerkleHash,
    },
    /// The path rebuilds the old root but not the new one: the new tree does not extend the old.
    #[error(
        "consistency proof does not rebuild the new root: path gives {computed}, new root is {expected}; the new tree does not extend the old one"
    )]
    NewRootMismatch {
        /// The new root passed by the caller.
        expected: MerkleHash,
        /// The root reconstructed from the path.
        computed: MerkleHash,
    },
}

/// How the verifier walks an inclusion path: the first `inner` hashes are siblings below the
/// point where the leaf's path meets the tree's right edge (left/right chosen by the index bits),
/// the last `border` hashes are left siblings on the right edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InclusionShape {
    pub(crate) inner: usize,
    pub(crate) border: usize,
    /// The index bits that steer the inner part (`leaf_index mod 2^inner`).
    pub(crate) steering: u64,
}

impl InclusionShape {
    /// Shape for `index < size` (callers check). `index ^ (size - 1)` has its highest set bit
    /// where the leaf's path leaves the right edge.
    pub(crate) fn new(index: u64, size: u64) -> Self {
        let inner = 64 - (index ^ size.wrapping_sub(1)).leading_zeros();
        let border = index.checked_shr(inner).unwrap_or(0).count_ones();
        Self {
            inner: inner as usize,
            border: border as usize,
            steering: low_bits(index, inner),
        }
    }

    fn len(self) -> usize {
        self.inner + self.border
    }
}

/// `value mod 2^bits`, for any `bits` up to 64.
fn low_bits(value: u64, bits: u32) -> u64 {
    match 1u64.checked_shl(bits) {
        Some(bound) => value & (bound - 1),
        None => value,
    }
}

/// Checks that `leaf_hash` is at `proof.leaf_index` in the tree of size `proof.tree_size` whose
/// root is `root`.
///
/// `root` and `proof.tree_size` must come together from one trusted source (a signed tree
/// head): a root does not determine its size, and some proofs are valid for several sizes.
pub fn verify_inclusion(
    leaf_hash: &MerkleHash,
    proof: &InclusionProof,
    root: &MerkleHash,
) -> Result<(), MerkleError> {
    let computed = root_from_inclusion_proof(leaf_hash, proof)?;
    if computed == *root {
        Ok(())
    } else {
        Err(MerkleError::InclusionRootMismatch {
            expected: *root,
            computed,
        })
    }
}

/// The root that `proof` and `leaf_hash` lead to, for callers that look the root up afterwards
/// (e.g. in a map of known tree heads). Fails only on structurally impossible proofs.
pub fn root_from_inclusion_proof(
    leaf_hash: &MerkleHash,
    proof: &InclusionProof,
) -> Result<MerkleHash, MerkleError> {
    let InclusionProof {
        leaf_index,
        tree_size,
        ref path,
    } = *proof;
    if leaf_index >= tree_size {
        return Err(MerkleError::LeafIndexOutOfRange {
            leaf_index,
            tree_size,
        });
    }
    let shape = InclusionShape::new(leaf_index, tree_size);
    let (inner, border) = path
        .split_at_checked(shape.inner)
        .filter(|_| path.len() == shape.len())
        .ok_or(MerkleError::InclusionPathLength {
            leaf_index,
            tree_size,
            expected: shape.len(),
            actual: path.len(),
        })?;
    let hash = chain_inner(*leaf_hash, inner, shape.steering);
    Ok(chain_border_right(hash, border))
}

/// Checks that the tree of size `proof.old_size` with root `old_root` is a prefix of the tree of
/// size `proof.new_size` with root `new_root`.
///
/// As for inclusion, each `(size, root)` pair must come from one signed tree head. With
/// `old_size == 0` the proof must be empty and `old_root` must be [`empty_root`]; every tree
/// extends the empty one, so `new_root` is not checked (unless `new_size` is 0 too).
pub fn verify_consistency(
    old_root: &MerkleHash,
    new_root: &MerkleHash,
    proof: &ConsistencyProof,
) -> Result<(), MerkleError> {
    let ConsistencyProof {
        old_size,
        new_size,
        ref path,
    } = *proof;
    let length_error = |expected: usize| MerkleError::ConsistencyPathLength {
        old_size,
        new_size,
        expected,
        actual: path.len(),
    };
    if new_size < old_size {
        return Err(MerkleError::ConsistencySizesDecrease { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        if !path.is_empty() {
            return Err(length_error(0));
        }
        if old_size == 0 && *old_root != empty_root() {
            return Err(MerkleError::OldRootNotEmpty {
                expected: empty_root(),
                actual: *old_root,
            });
        }
        if old_size == new_size && old_root != new_root {
            return Err(MerkleError::EqualSizeRootsDiffer {
                size: old_size,
                old_root: *old_root,
                new_root: *new_root,
            });
        }
        return Ok(());
    }

    let shape = ConsistencyShape::new(old_size, new_size);
    let (seed, rest) = if shape.seed_in_path {
        match path.split_first() {
            Some((first, rest)) => (*first, rest),
            None => return Err(length_error(shape.len())),
        }
    } else {
        (*old_root, path.as_slice())
    };
    let (inner, border) = rest
        .split_at_checked(shape.inner)
        .filter(|_| path.len() == shape.len())
        .ok_or_else(|| length_error(shape.len()))?;

    let old_computed = chain_border_right(chain_inner_right(seed, inner, shape.mask), border);
    if old_computed != *old_root {
        return Err(MerkleError::OldRootMismatch {
            expected: *old_root,
            computed: old_computed,
        });
    }
    let new_computed = chain_border_right(chain_inner(seed, inner, shape.mask), border);
    if new_computed != *new_root {
        return Err(MerkleError::NewRootMismatch {
            expected: *new_root,
            computed: new_computed,
        });
    }
    Ok(())
}

/// How the verifier walks a consistency path for `0 < old_size < new_size`: it is the suffix of
/// the inclusion path of leaf `old_size - 1` in the new tree, starting at the level of the largest
/// complete subtree that ends the old tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConsistencyShape {
    /// Whether the path starts with that subtree's hash; when `old_size` is a power of two the
    /// subtree is the whole old tree and its hash is `old_root`, so it is omitted.
    pub(crate) seed_in_path: bool,
    pub(crate) inner: usize,
    pub(crate) border: usize,
    /// `(old_size - 1) >> shift`, reduced to the `inner` bits that steer the walk.
    pub(crate) mask: u64,
}

impl ConsistencyShape {
    /// Shape for `0 < old_size < new_size` (callers check).
    pub(crate) fn new(old_size: u64, new_size: u64) -> Self {
        let last = old_size.wrapping_sub(1);
        let path_of_last = InclusionShape::new(last, new_size);
        let shift = old_size.trailing_zeros();
        // Bit `shift` of `old_size - 1` is 0 while `new_size - 1 >= old_size` differs from it at or
        // above that bit, so `inner > shift`; saturate anyway rather than trust arithmetic.
        let inner = (path_of_last.inner as u32).saturating_sub(shift);
        Self {
            seed_in_path: old_size.count_ones() != 1,
            inner: inner as usize,
            border: path_of_last.border,
            mask: low_bits(last.checked_shr(shift).unwrap_or(0), inner),
        }
    }

    fn len(self) -> usize {
        usize::from(self.seed_in_path) + self.inner + self.border
    }
}

/// Hashes `seed` up through `path`, taking each sibling from the left or right as bit `i` of
/// `steering` says (1 = seed is a right child).
fn chain_inner(seed: MerkleHash, path: &[MerkleHash], steering: u64) -> MerkleHash {
    path.iter().enumerate().fold(seed, |acc, (i, sibling)| {
        if bit(steering, i) {
            node_hash(sibling, &acc)
        } else {
            node_hash(&acc, sibling)
        }
    })
}

/// Like [`chain_inner`] but skips right siblings: what the subtree looked like before they
/// existed (the old tree in a consistency proof).
fn chain_inner_right(seed: MerkleHash, path: &[MerkleHash], steering: u64) -> MerkleHash {
    path.iter()
        .enumerate()
        .filter(|&(i, _)| bit(steering, i))
        .fold(seed, |acc, (_, sibling)| node_hash(sibling, &acc))
}

/// Hashes `seed` up the right edge: every remaining sibling is on the left.
fn chain_border_right(seed: MerkleHash, path: &[MerkleHash]) -> MerkleHash {
    path.iter()
        .fold(seed, |acc, sibling| node_hash(sibling, &acc))
}

fn bit(value: u64, i: usize) -> bool {
    u32::try_from(i)
        .ok()
        .and_then(|i| value.checked_shr(i))
        .is_some_and(|v| v & 1 == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::tree::tests::{CT_ROOTS, ct_leaf_hashes, hex};

    /// Inclusion paths of the CT reference tests (proof/verify_test.go, 1-based leaf there).
    fn ct_inclusion_cases() -> Vec<(u64, u64, Vec<&'static str>)> {
        vec![
            (0, 1, vec![]),
            (
                0,
                8,
                vec![
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                vec![
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                3,
                vec!["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
            ),
            (
                1,
                5,
                vec![
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ]
    }

    #[test]
    fn ct_reference_inclusion_proofs_verify() {
        let leaves = ct_leaf_hashes();
        for (index, size, path) in ct_inclusion_cases() {
            let proof = InclusionProof {
                leaf_index: index,
                tree_size: size,
                path: path.into_iter().map(hex).collect(),
            };
            let root = hex(CT_ROOTS[size as usize - 1]);
            verify_inclusion(&leaves[index as usize], &proof, &root)
                .unwrap_or_else(|e| panic!("leaf {index} of {size}: {e}"));
        }
    }

    #[test]
    fn hostile_inclusion_sizes_are_rejected_without_panicking() {
        let leaf = ct_leaf_hashes()[0];
        let root = hex(CT_ROOTS[0]);
        let cases = [
            (0, 0, 0),
            (1, 0, 0),
            (5, 3, 2),
            (u64::MAX, u64::MAX, 0),
            (u64::MAX - 1, u64::MAX, 200),
            (0, u64::MAX, 64),
            (1 << 63, u64::MAX, 1),
            (0, 1, 1),
        ];
        for (leaf_index, tree_size, path_len) in cases {
            let proof = InclusionProof {
                leaf_index,
                tree_size,
                path: vec![root; path_len],
            };
            assert!(
                verify_inclusion(&leaf, &proof, &root).is_err(),
                "({leaf_index}, {tree_size}, {path_len}) must be rejected"
            );
        }
        // The right-most leaf of the largest tree needs 64 border hashes; exactly that many are
        // hashed (and fail to match), nothing overflows.
        let proof = InclusionProof {
            leaf_index: u64::MAX - 1,
            tree_size: u64::MAX,
            path: vec![root; 63],
        };
        assert!(matches!(
            verify_inclusion(&leaf, &proof, &root),
            Err(MerkleError::InclusionRootMismatch { .. })
        ));
    }

    #[test]
    fn inclusion_errors_name_the_problem() {
        let leaf = ct_leaf_hashes()[0];
        let root = hex(CT_ROOTS[7]);
        let proof = InclusionProof {
            leaf_index: 8,
            tree_size: 8,
            path: vec![],
        };
        let err = verify_inclusion(&leaf, &proof, &root).unwrap_err();
        assert_eq!(
            err,
            MerkleError::LeafIndexOutOfRange {
                leaf_index: 8,
                tree_size: 8
            }
        );
        assert!(err.to_string().contains("leaf_index 8"), "{err}");

        let proof = InclusionProof {
            leaf_index: 0,
            tree_size: 8,
            path: vec![root; 2],
        };
        assert_eq!(
            verify_inclusion(&leaf, &proof, &root),
            Err(MerkleError::InclusionPathLength {
                leaf_index: 0,
                tree_size: 8,
                expected: 3,
                actual: 2
            })
        );
    }

    #[test]
    fn ct_reference_consistency_proofs_verify() {
        // proof/verify_test.go consistencyProofs (certificate-transparency merkle_tree_test.cc).
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
        for (old_size, new_size, path) in cases {
            let proof = ConsistencyProof {
                old_size,
                new_size,
                path: path.iter().map(|h| hex(h)).collect(),
            };
            let old_root = hex(CT_ROOTS[old_size as usize - 1]);
            let new_root = hex(CT_ROOTS[new_size as usize - 1]);
            verify_consistency(&old_root, &new_root, &proof)
                .unwrap_or_else(|e| panic!("{old_size} -> {new_size}: {e}"));
            assert!(
                verify_consistency(&new_root, &old_root, &proof).is_err() || old_size == new_size,
                "swapped roots {old_size} -> {new_size}"
            );
        }
    }

    #[test]
    fn consistency_from_the_empty_tree() {
        let empty = empty_root();
        let root = hex(CT_ROOTS[7]);
        let proof = |path| ConsistencyProof {
            old_size: 0,
            new_size: 8,
            path,
        };
        assert_eq!(verify_consistency(&empty, &root, &proof(vec![])), Ok(()));
        assert!(matches!(
            verify_consistency(&root, &root, &proof(vec![])),
            Err(MerkleError::OldRootNotEmpty { .. })
        ));
        assert!(matches!(
            verify_consistency(&empty, &root, &proof(vec![root])),
            Err(MerkleError::ConsistencyPathLength { expected: 0, .. })
        ));
        let both_empty = ConsistencyProof {
            old_size: 0,
            new_size: 0,
            path: vec![],
        };
        assert_eq!(verify_consistency(&empty, &empty, &both_empty), Ok(()));
        assert!(verify_consistency(&empty, &root, &both_empty).is_err());
    }

    #[test]
    fn consistency_detects_forks_and_shrinking() {
        let a = hex(CT_ROOTS[3]);
        let b = hex(CT_ROOTS[4]);
        let same = |path| ConsistencyProof {
            old_size: 4,
            new_size: 4,
            path,
        };
        assert!(matches!(
            verify_consistency(&a, &b, &same(vec![])),
            Err(MerkleError::EqualSizeRootsDiffer { size: 4, .. })
        ));
        assert!(matches!(
            verify_consistency(&a, &a, &same(vec![a])),
            Err(MerkleError::ConsistencyPathLength { .. })
        ));
        let shrink = ConsistencyProof {
            old_size: 5,
            new_size: 4,
            path: vec![],
        };
        let err = verify_consistency(&b, &a, &shrink).unwrap_err();
        assert_eq!(
            err,
            MerkleError::ConsistencySizesDecrease {
                old_size: 5,
                new_size: 4
            }
        );
        assert!(err.to_string().contains("never shrinks"));
    }

    #[test]
    fn hostile_consistency_sizes_are_rejected_without_panicking() {
        let root = hex(CT_ROOTS[0]);
        for (old_size, new_size, path_len) in [
            (1, u64::MAX, 0),
            (1, u64::MAX, 64),
            (u64::MAX - 1, u64::MAX, 1),
            (u64::MAX - 1, u64::MAX, 300),
            (1 << 63, u64::MAX, 63),
            (3, 1 << 63, 0),
            (u64::MAX, u64::MAX, 1),
        ] {
            let proof = ConsistencyProof {
                old_size,
                new_size,
                path: vec![root; path_len],
            };
            assert!(
                verify_consistency(&root, &root, &proof).is_err(),
                "({old_size}, {new_size}, {path_len}) must be rejected"
            );
        }
    }

    #[test]
    fn shapes_match_known_path_lengths() {
        assert_eq!(InclusionShape::new(0, 1).len(), 0);
        assert_eq!(InclusionShape::new(0, 8).len(), 3);
        assert_eq!(InclusionShape::new(6, 7).len(), 2);
        assert_eq!(InclusionShape::new(u64::MAX - 1, u64::MAX).len(), 63);
        assert_eq!(ConsistencyShape::new(4, 8).len(), 1);
        assert_eq!(ConsistencyShape::new(6, 8).len(), 3);
        assert_eq!(ConsistencyShape::new(1, u64::MAX).len(), 64);
    }
}
