//! The Merkle Tree Hash `MTH` of RFC 9162 §2.1.1, computed directly from a slice of leaf hashes.
//!
//! Written as the textbook recursion on purpose: it is the independent reference the incremental
//! [`MerkleLog`](super::MerkleLog) and the store-backed proof generator are tested against.

use super::geometry::split;
use super::hash::{MerkleHash, empty_root, node_hash};

/// `MTH(D[0..n])` over already-hashed leaves (use [`leaf_hash`](super::leaf_hash) on the raw
/// entries first). `O(n)` hashes, recursion depth `O(log n)`.
pub fn root_from_leaves(leaf_hashes: &[MerkleHash]) -> MerkleHash {
    match leaf_hashes {
        [] => empty_root(),
        [only] => *only,
        _ => {
            // `usize` -> `u64` is lossless on every supported target; the split point is below
            // the length, so it converts back.
            let k = usize::try_from(split(leaf_hashes.len() as u64)).unwrap_or(0);
            let (left, right) = leaf_hashes.split_at(k.min(leaf_hashes.len()));
            node_hash(&root_from_leaves(left), &root_from_leaves(right))
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::merkle::hash::leaf_hash;

    /// The leaf data of the Certificate Transparency reference tests (merkle_tree_test.cc), also
    /// used by transparency-dev/merkle and by the vectors in `tests/vectors/rfc6962-proofs`.
    pub(crate) const CT_LEAVES: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];

    /// Published roots of the first `n` CT leaves, `n = 1..=8`.
    pub(crate) const CT_ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    pub(crate) fn ct_leaf_hashes() -> Vec<MerkleHash> {
        CT_LEAVES.iter().map(|d| leaf_hash(d)).collect()
    }

    pub(crate) fn hex(text: &str) -> MerkleHash {
        MerkleHash::from_hex(text).unwrap()
    }

    /// Leaf `i` of transparency-dev's compact-range golden tests: 2 bytes, little-endian `i`.
    pub(crate) fn golden_leaf_hashes(n: usize) -> Vec<MerkleHash> {
        (0..n)
            .map(|i| leaf_hash(&[(i & 0xff) as u8, ((i >> 8) & 0xff) as u8]))
            .collect()
    }

    /// Roots of transparency-dev/merkle compact/range_test.go `TestGetRootHashGolden` (base64 there,
    /// hex here).
    pub(crate) const GOLDEN_ROOTS: [(usize, &str); 11] = [
        (10, "VjWMPSYNtCuCNlF/RLnQy6HcwSk6CIipfxm+hettA+4="),
        (15, "j4SulYmocFuxdeyp12xXCIgK6PekBcxzAIj4zbQzNEI="),
        (16, "c+4Uc6BCMOZf/v3NZK1kqTUJe+bBoFtOhP+P3SayKRE="),
        (100, "dUh9hYH88p0CMoHkdr1wC2szbhcLAXOejWpINIooKUY="),
        (255, "SmdsuKUqiod3RX2jyF2M6JnbdE4QuTwwipfAowI4/i0="),
        (256, "qFI0t/tZ1MdOYgyPpPzHFiZVw86koScXy9q3FU5casA="),
        (1000, "RXrgb8xHd55Y48FbfotJwCbV82Kx22LZfEbmBGAvwlQ="),
        (4095, "cWRFdQhPcjn9WyBXE/r1f04ejxIm5lvg40DEpRBVS0w="),
        (4096, "6uU/phfHg1n/GksYT6TO9aN8EauMCCJRl3dIK0HDs2M="),
        (10000, "VZcav65F9haHVRk3wre2axFoBXRNeUh/1d9d5FQfxIg="),
        (65535, "iPuVYJhP6SEE4gUFp8qbafd2rYv9YTCDYqAxCj8HdLM="),
    ];

    pub(crate) fn base64_hash(text: &str) -> MerkleHash {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap();
        MerkleHash::from_slice(&bytes).unwrap()
    }

    #[test]
    fn empty_tree_root_is_sha256_of_nothing() {
        assert_eq!(
            root_from_leaves(&[]),
            hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
    }

    #[test]
    fn ct_test_tree_roots_for_sizes_1_to_8() {
        let leaves = ct_leaf_hashes();
        for (n, want) in (1..=8).zip(CT_ROOTS) {
            assert_eq!(root_from_leaves(&leaves[..n]), hex(want), "size {n}");
        }
    }

    #[test]
    fn golden_roots_of_larger_trees() {
        let leaves = golden_leaf_hashes(65535);
        for (n, want) in GOLDEN_ROOTS {
            assert_eq!(
                root_from_leaves(&leaves[..n]),
                base64_hash(want),
                "size {n}"
            );
        }
    }
}
