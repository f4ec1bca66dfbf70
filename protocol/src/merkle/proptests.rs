//! Property tests: the store-backed generator, the incremental log and the verifier against the
//! textbook RFC 9162 recursions, tampering, wrong sizes, hostile input and read counts.

use std::cell::Cell;
use std::convert::Infallible;

use proptest::prelude::*;

use super::geometry::split;
use super::verify::{ConsistencyShape, InclusionShape};
use super::*;

// ---------------------------------------------------------------------------------------------
// Reference implementations: RFC 9162 §2.1.3.1 PATH and §2.1.4.1 SUBPROOF over a leaf slice.
// ---------------------------------------------------------------------------------------------

fn k_of(len: usize) -> usize {
    split(len as u64) as usize
}

fn ref_path(m: usize, d: &[MerkleHash]) -> Vec<MerkleHash> {
    if d.len() <= 1 {
        return vec![];
    }
    let k = k_of(d.len());
    let (left, right) = d.split_at(k);
    if m < k {
        let mut path = ref_path(m, left);
        path.push(root_from_leaves(right));
        path
    } else {
        let mut path = ref_path(m - k, right);
        path.push(root_from_leaves(left));
        path
    }
}

fn ref_subproof(m: usize, d: &[MerkleHash], b: bool) -> Vec<MerkleHash> {
    if m == d.len() {
        return if b { vec![] } else { vec![root_from_leaves(d)] };
    }
    let k = k_of(d.len());
    let (left, right) = d.split_at(k);
    if m <= k {
        let mut proof = ref_subproof(m, left, b);
        proof.push(root_from_leaves(right));
        proof
    } else {
        let mut proof = ref_subproof(m - k, right, false);
        proof.push(root_from_leaves(left));
        proof
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures.
// ---------------------------------------------------------------------------------------------

struct Tree {
    leaves: Vec<MerkleHash>,
    store: MemoryNodeStore,
    /// `roots[m]` = root of the first `m` leaves, from the incremental log.
    roots: Vec<MerkleHash>,
}

/// A log of `n` distinct pseudo-random leaves, built through `MerkleLog::append` into a store.
fn tree(n: usize, salt: u64) -> Tree {
    let mut log = MerkleLog::new();
    let mut store = MemoryNodeStore::new();
    let mut leaves = Vec::with_capacity(n);
    let mut roots = vec![log.root()];
    for i in 0..n as u64 {
        let leaf = leaf_hash(&[salt.to_be_bytes(), i.to_be_bytes()].concat());
        store.insert_all(log.append(leaf).unwrap()).unwrap();
        leaves.push(leaf);
        roots.push(log.root());
    }
    Tree {
        leaves,
        store,
        roots,
    }
}

/// Wraps a store and counts `get` calls.
struct Counting<S> {
    inner: S,
    reads: Cell<u64>,
}

impl<S> Counting<S> {
    fn new(inner: S) -> Self {
        Self {
            inner,
            reads: Cell::new(0),
        }
    }

    fn take(&self) -> u64 {
        self.reads.replace(0)
    }
}

impl<S: NodeStore> NodeStore for Counting<S> {
    type Error = S::Error;

    fn get(&self, level: u8, index: u64) -> Result<Option<MerkleHash>, S::Error> {
        self.reads.set(self.reads.get() + 1);
        self.inner.get(level, index)
    }
}

/// Answers every node with a made-up hash: lets proof generation run on trees of any size (up to
/// `u64::MAX` leaves) to check read counts and path shapes without storing anything.
struct Synthetic;

impl NodeStore for Synthetic {
    type Error = Infallible;

    fn get(&self, level: u8, index: u64) -> Result<Option<MerkleHash>, Infallible> {
        let mut bytes = [0u8; 32];
        bytes[..9].copy_from_slice(&node_key(level, index));
        Ok(Some(MerkleHash::from_bytes(bytes)))
    }
}

fn ceil_log2(n: u64) -> u64 {
    u64::from(64 - n.saturating_sub(1).leading_zeros())
}

/// Worst case of an inclusion proof (documented in `generate.rs`): at most `c = ⌈log2 n⌉` path
/// entries, of which at most one, at depth `d`, is an ephemeral node folded from at most
/// `c - d - 1` complete subtrees while the path below it has `c - d - 1` entries; the worst is
/// `d = 0`: `2c - 2` reads (`c` when that is larger, i.e. `n <= 2`).
fn inclusion_read_bound(n: u64) -> u64 {
    let c = ceil_log2(n);
    (2 * c).saturating_sub(2).max(c)
}

/// Consistency proofs add one read: the terminal old subtree when it is not the old root.
fn consistency_read_bound(n: u64) -> u64 {
    (2 * ceil_log2(n)).saturating_sub(1)
}

fn flip(hash: &MerkleHash, bit: usize) -> MerkleHash {
    let mut bytes = hash.to_bytes();
    bytes[(bit / 8) % 32] ^= 1 << (bit % 8);
    MerkleHash::from_bytes(bytes)
}

/// Largest tree size the property tests build.
const MAX_N: usize = 300;

fn size_and_index() -> impl Strategy<Value = (usize, usize)> {
    (1..=MAX_N).prop_flat_map(|n| (Just(n), 0..n))
}

fn sizes_old_new() -> impl Strategy<Value = (usize, usize)> {
    (1..=MAX_N).prop_flat_map(|n| (1..=n, Just(n)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn incremental_roots_equal_root_from_leaves(n in 0..=MAX_N, salt: u64) {
        let t = tree(n, salt);
        for m in 0..=n {
            prop_assert_eq!(t.roots[m], root_from_leaves(&t.leaves[..m]), "size {}", m);
            prop_assert_eq!(root_at(&t.store, m as u64).unwrap(), t.roots[m], "root_at {}", m);
        }
        prop_assert_eq!(MerkleLog::from_store(&t.store, n as u64).unwrap().root(), t.roots[n]);
    }

    #[test]
    fn every_inclusion_proof_verifies_and_matches_the_rfc_path(n in 1..=MAX_N, salt: u64) {
        let t = tree(n, salt);
        let root = t.roots[n];
        for i in 0..n {
            let proof = inclusion_proof(&t.store, i as u64, n as u64).unwrap();
            prop_assert_eq!(&proof.path, &ref_path(i, &t.leaves), "leaf {}", i);
            prop_assert_eq!(verify_inclusion(&t.leaves[i], &proof, &root), Ok(()), "leaf {}", i);
            prop_assert_eq!(root_from_inclusion_proof(&t.leaves[i], &proof), Ok(root));
        }
    }

    #[test]
    fn any_bit_flip_breaks_an_inclusion_proof(
        (n, i) in size_and_index(), salt: u64, element: usize, bit in 0..256usize,
    ) {
        let t = tree(n, salt);
        let root = t.roots[n];
        let leaf = t.leaves[i];
        let proof = inclusion_proof(&t.store, i as u64, n as u64).unwrap();
        prop_assert!(verify_inclusion(&flip(&leaf, bit), &proof, &root).is_err());
        prop_assert!(verify_inclusion(&leaf, &proof, &flip(&root, bit)).is_err());
        if !proof.path.is_empty() {
            let mut tampered = proof.clone();
            let at = element % tampered.path.len();
            tampered.path[at] = flip(&tampered.path[at], bit);
            prop_assert!(verify_inclusion(&leaf, &tampered, &root).is_err(), "path[{}]", at);
        }
    }

    #[test]
    fn extra_missing_or_reordered_inclusion_hashes_are_rejected(
        (n, i) in size_and_index(), salt: u64, at: usize,
    ) {
        let t = tree(n, salt);
        let root = t.roots[n];
        let proof = inclusion_proof(&t.store, i as u64, n as u64).unwrap();
        let mut longer = proof.clone();
        longer.path.insert(at % (proof.path.len() + 1), root);
        let rejected = matches!(
            verify_inclusion(&t.leaves[i], &longer, &root),
            Err(MerkleError::InclusionPathLength { .. })
        );
        prop_assert!(rejected, "an inserted hash must fail the length check");
        if !proof.path.is_empty() {
            let mut shorter = proof.clone();
            shorter.path.remove(at % proof.path.len());
            prop_assert!(verify_inclusion(&t.leaves[i], &shorter, &root).is_err());
        }
        if proof.path.len() >= 2 {
            let mut swapped = proof.clone();
            let a = at % proof.path.len();
            swapped.path.swap(a, (a + 1) % proof.path.len());
            prop_assert!(verify_inclusion(&t.leaves[i], &swapped, &root).is_err());
        }
    }

    #[test]
    fn wrong_index_fails_and_wrong_size_fails_unless_the_path_shape_is_identical(
        (n, i) in size_and_index(), salt: u64, other_index: u64, other_size: u64, pick: u8,
    ) {
        let t = tree(n, salt);
        let root = t.roots[n];
        let proof = inclusion_proof(&t.store, i as u64, n as u64).unwrap();

        let wrong_index = match pick % 4 {
            0 => (i as u64).wrapping_sub(1),
            1 => i as u64 + 1,
            2 => i as u64 ^ 2,
            _ => other_index,
        };
        if wrong_index != i as u64 {
            let moved = InclusionProof { leaf_index: wrong_index, ..proof.clone() };
            let rejected = verify_inclusion(&t.leaves[i], &moved, &root).is_err();
            prop_assert!(rejected, "index {} accepted for leaf {}", wrong_index, i);
        }

        let wrong_size = match pick % 5 {
            0 => n as u64 * 2,
            1 => n as u64 / 2,
            2 => n as u64 + 1,
            3 => n as u64 - 1,
            _ => other_size,
        };
        if wrong_size != n as u64 {
            let resized = InclusionProof { tree_size: wrong_size, ..proof.clone() };
            let accepted = verify_inclusion(&t.leaves[i], &resized, &root).is_ok();
            // Accepting a different size is only possible when the verifier does exactly the same
            // computation for it; that is why sizes must come from a signed tree head.
            let same_shape = InclusionShape::new(i as u64, wrong_size)
                == InclusionShape::new(i as u64, n as u64);
            prop_assert!(
                !accepted || same_shape,
                "size {} accepted for a proof made for {}", wrong_size, n
            );
        }
    }

    #[test]
    fn every_consistency_proof_verifies_and_matches_the_rfc_subproof(n in 1..=MAX_N, salt: u64) {
        let t = tree(n, salt);
        for m in 0..=n {
            let proof = consistency_proof(&t.store, m as u64, n as u64).unwrap();
            let want = if m == 0 { vec![] } else { ref_subproof(m, &t.leaves, true) };
            prop_assert_eq!(&proof.path, &want, "{} -> {}", m, n);
            prop_assert_eq!(
                verify_consistency(&t.roots[m], &t.roots[n], &proof), Ok(()), "{} -> {}", m, n
            );
        }
    }

    #[test]
    fn any_bit_flip_breaks_a_consistency_proof(
        (m, n) in sizes_old_new(), salt: u64, element: usize, bit in 0..256usize,
    ) {
        let t = tree(n, salt);
        let (old_root, new_root) = (t.roots[m], t.roots[n]);
        let proof = consistency_proof(&t.store, m as u64, n as u64).unwrap();
        prop_assert!(verify_consistency(&flip(&old_root, bit), &new_root, &proof).is_err());
        prop_assert!(verify_consistency(&old_root, &flip(&new_root, bit), &proof).is_err());
        if !proof.path.is_empty() {
            let mut tampered = proof.clone();
            let at = element % tampered.path.len();
            tampered.path[at] = flip(&tampered.path[at], bit);
            let rejected = verify_consistency(&old_root, &new_root, &tampered).is_err();
            prop_assert!(rejected, "flipped bit {} of path[{}] accepted", bit, at);
            let mut longer = proof.clone();
            longer.path.insert(element % (proof.path.len() + 1), new_root);
            prop_assert!(verify_consistency(&old_root, &new_root, &longer).is_err());
            let mut shorter = proof.clone();
            shorter.path.remove(at);
            prop_assert!(verify_consistency(&old_root, &new_root, &shorter).is_err());
        }
        if m < n {
            let rejected = verify_consistency(&new_root, &old_root, &proof).is_err();
            prop_assert!(rejected, "swapped roots accepted");
        }
    }

    #[test]
    fn wrong_consistency_sizes_fail_unless_the_path_shape_is_identical(
        (m, n) in sizes_old_new(), salt: u64, other: u64, pick: u8,
    ) {
        prop_assume!(m < n);
        let t = tree(n, salt);
        let (old_root, new_root) = (t.roots[m], t.roots[n]);
        let proof = consistency_proof(&t.store, m as u64, n as u64).unwrap();
        let (m, n) = (m as u64, n as u64);
        let (wrong_old, wrong_new) = match pick % 8 {
            0 => (m + 1, n),
            1 => (m - 1, n),
            2 => (m ^ 2, n),
            3 => (other, n),
            4 => (m, n * 2),
            5 => (m, n / 2),
            6 => (m, n + 1),
            _ => (m, other),
        };
        prop_assume!((wrong_old, wrong_new) != (m, n));
        let resized = ConsistencyProof {
            old_size: wrong_old,
            new_size: wrong_new,
            path: proof.path.clone(),
        };
        let accepted = verify_consistency(&old_root, &new_root, &resized).is_ok();
        let same_shape = 0 < wrong_old
            && wrong_old < wrong_new
            && ConsistencyShape::new(wrong_old, wrong_new) == ConsistencyShape::new(m, n);
        prop_assert!(
            !accepted || same_shape,
            "({}, {}) accepted for a proof made for ({}, {})", wrong_old, wrong_new, m, n
        );
    }

    #[test]
    fn proofs_read_only_logarithmically_many_nodes((n, i) in size_and_index(), salt: u64) {
        let t = tree(n, salt);
        let store = Counting::new(&t.store);
        let n = n as u64;
        let proof = inclusion_proof(&store, i as u64, n).unwrap();
        prop_assert!(store.take() <= inclusion_read_bound(n));
        prop_assert!(proof.path.len() as u64 <= ceil_log2(n));
        let old = (i as u64) + 1;
        consistency_proof(&store, old, n).unwrap();
        prop_assert!(store.take() <= consistency_read_bound(n), "{} -> {}", old, n);
    }

    #[test]
    fn huge_trees_read_few_nodes_and_agree_with_the_verifier_on_path_length(
        n in 1u64.., index: u64, old: u64,
    ) {
        let store = Counting::new(Synthetic);
        let i = index % n;
        let proof = inclusion_proof(&store, i, n).unwrap();
        prop_assert!(store.take() <= inclusion_read_bound(n));
        let shape = InclusionShape::new(i, n);
        prop_assert_eq!(proof.path.len(), shape.inner + shape.border);

        let m = old % n + 1; // 1..=n
        let proof = consistency_proof(&store, m, n).unwrap();
        prop_assert!(store.take() <= consistency_read_bound(n), "{} -> {}", m, n);
        let want = if m == n {
            0
        } else {
            let s = ConsistencyShape::new(m, n);
            usize::from(s.seed_in_path) + s.inner + s.border
        };
        prop_assert_eq!(proof.path.len(), want);
    }

    #[test]
    fn hostile_inclusion_proofs_are_rejected_without_panicking(
        leaf_index: u64,
        tree_size: u64,
        len in 0..200usize,
        fill: [u8; 32],
        leaf: [u8; 32],
        root: [u8; 32],
    ) {
        let proof = InclusionProof {
            leaf_index, tree_size, path: vec![MerkleHash::from_bytes(fill); len],
        };
        let (leaf, root) = (MerkleHash::from_bytes(leaf), MerkleHash::from_bytes(root));
        prop_assert!(verify_inclusion(&leaf, &proof, &root).is_err());
        // Small sizes too, where the path-length checks rather than the root check must fire.
        let small = InclusionProof {
            leaf_index: leaf_index % 4,
            tree_size: tree_size % 4,
            ..proof
        };
        prop_assert!(verify_inclusion(&leaf, &small, &root).is_err());
    }

    #[test]
    fn hostile_consistency_proofs_are_rejected_without_panicking(
        old_size: u64,
        new_size: u64,
        len in 0..200usize,
        fill: [u8; 32],
        old_root: [u8; 32],
        new_root: [u8; 32],
    ) {
        let path = vec![MerkleHash::from_bytes(fill); len];
        let proof = ConsistencyProof { old_size, new_size, path };
        let old_root = MerkleHash::from_bytes(old_root);
        let new_root = MerkleHash::from_bytes(new_root);
        prop_assert!(verify_consistency(&old_root, &new_root, &proof).is_err());
    }

    #[test]
    fn proofs_round_trip_through_json((n, i) in size_and_index(), salt: u64) {
        let t = tree(n, salt);
        let inclusion = inclusion_proof(&t.store, i as u64, n as u64).unwrap();
        let json = serde_json::to_string(&inclusion).unwrap();
        prop_assert_eq!(serde_json::from_str::<InclusionProof>(&json).unwrap(), inclusion);
        let consistency = consistency_proof(&t.store, i as u64 + 1, n as u64).unwrap();
        let json = serde_json::to_string(&consistency).unwrap();
        prop_assert_eq!(serde_json::from_str::<ConsistencyProof>(&json).unwrap(), consistency);
    }

    #[test]
    fn hash_hex_round_trips(bytes: [u8; 32]) {
        let hash = MerkleHash::from_bytes(bytes);
        prop_assert_eq!(hash.to_string().parse::<MerkleHash>(), Ok(hash));
        prop_assert_eq!(MerkleHash::from_slice(&bytes), Ok(hash));
    }

    #[test]
    fn hash_parsing_never_panics(text in "\\PC{0,70}") {
        if let Ok(hash) = MerkleHash::from_hex(&text) {
            prop_assert_eq!(hash.to_string(), text);
        }
    }
}

/// Exhaustive check on one tree: every `(m, n)` with `0 < m <= n <= 130` and every `(i, n)`.
#[test]
fn all_proofs_of_all_prefixes_verify() {
    const N: usize = 130;
    let t = tree(N, 7);
    for n in 1..=N {
        for i in 0..n {
            let proof = inclusion_proof(&t.store, i as u64, n as u64).unwrap();
            assert_eq!(
                verify_inclusion(&t.leaves[i], &proof, &t.roots[n]),
                Ok(()),
                "leaf {i} of {n}"
            );
        }
        for m in 1..=n {
            let proof = consistency_proof(&t.store, m as u64, n as u64).unwrap();
            assert_eq!(
                verify_consistency(&t.roots[m], &t.roots[n], &proof),
                Ok(()),
                "{m} -> {n}"
            );
        }
    }
}

/// Worst-case read counts over every query on every tree of up to 2^9 leaves: within the bounds,
/// and each bound is attained for every height (so the documented bounds are exact).
#[test]
fn read_bounds_are_exact() {
    let store = Counting::new(Synthetic);
    let mut worst_by_height = [(0u64, 0u64); 10];
    for n in 1..=512u64 {
        let worst = &mut worst_by_height[ceil_log2(n) as usize];
        for i in 0..n {
            inclusion_proof(&store, i, n).unwrap();
            let reads = store.take();
            assert!(
                reads <= inclusion_read_bound(n),
                "leaf {i} of {n}: {reads} reads"
            );
            worst.0 = worst.0.max(reads);
            consistency_proof(&store, i + 1, n).unwrap();
            let reads = store.take();
            assert!(
                reads <= consistency_read_bound(n),
                "{} -> {n}: {reads} reads",
                i + 1
            );
            worst.1 = worst.1.max(reads);
        }
    }
    for (c, worst) in worst_by_height.into_iter().enumerate() {
        let n = 1u64 << c; // any size of height c has the same bounds
        assert_eq!(
            worst,
            (inclusion_read_bound(n), consistency_read_bound(n)),
            "height {c}"
        );
    }
}

/// Every bit of every element of a real proof matters.
#[test]
fn every_single_bit_of_a_proof_matters() {
    let t = tree(7, 1);
    let proof = inclusion_proof(&t.store, 4, 7).unwrap();
    for at in 0..proof.path.len() {
        for bit in 0..256 {
            let mut tampered = proof.clone();
            tampered.path[at] = flip(&tampered.path[at], bit);
            assert!(verify_inclusion(&t.leaves[4], &tampered, &t.roots[7]).is_err());
        }
    }
    let proof = consistency_proof(&t.store, 3, 7).unwrap();
    for at in 0..proof.path.len() {
        for bit in 0..256 {
            let mut tampered = proof.clone();
            tampered.path[at] = flip(&tampered.path[at], bit);
            assert!(verify_consistency(&t.roots[3], &t.roots[7], &tampered).is_err());
        }
    }
}
