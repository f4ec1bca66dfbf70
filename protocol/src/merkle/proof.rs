//! Wire types of the two RFC 9162 proofs. Hashes serialize as lowercase hex (see
//! [`MerkleHash`]); unknown fields are rejected so a proof has exactly one JSON shape.

use serde::{Deserialize, Serialize};

use super::hash::MerkleHash;

/// Audit path proving that leaf `leaf_index` is in the tree of size `tree_size`
/// (RFC 9162 §2.1.3). `path` is ordered from the leaf's sibling up to the child of the root.
///
/// The sizes travel inside the proof for convenience, but they are only as trustworthy as the
/// root they are checked against: verify with the `(tree_size, root)` pair of a signed tree head,
/// never with a root alone (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// Zero-based position of the leaf in the log.
    pub leaf_index: u64,
    /// Number of leaves of the tree the path leads to.
    pub tree_size: u64,
    /// Sibling hashes, bottom-up.
    pub path: Vec<MerkleHash>,
}

/// Proof that the tree of size `old_size` is a prefix of the tree of size `new_size`
/// (RFC 9162 §2.1.4): nothing was removed or rewritten, only appended.
///
/// Empty when `old_size == 0` or `old_size == new_size` (there is nothing to prove beyond the
/// roots themselves).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    /// Size of the earlier tree.
    pub old_size: u64,
    /// Size of the later tree.
    pub new_size: u64,
    /// Node hashes in RFC 9162 `SUBPROOF` order.
    pub path: Vec<MerkleHash>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::hash::leaf_hash;

    #[test]
    fn inclusion_proof_json_shape() {
        let proof = InclusionProof {
            leaf_index: 3,
            tree_size: 8,
            path: vec![leaf_hash(b"")],
        };
        let json = serde_json::to_string(&proof).unwrap();
        assert_eq!(
            json,
            "{\"leaf_index\":3,\"tree_size\":8,\"path\":[\"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d\"]}"
        );
        assert_eq!(
            serde_json::from_str::<InclusionProof>(&json).unwrap(),
            proof
        );
    }

    #[test]
    fn consistency_proof_round_trips_and_rejects_unknown_fields() {
        let proof = ConsistencyProof {
            old_size: 1,
            new_size: 2,
            path: vec![leaf_hash(b"a")],
        };
        let json = serde_json::to_value(&proof).unwrap();
        assert_eq!(
            serde_json::from_value::<ConsistencyProof>(json.clone()).unwrap(),
            proof
        );
        let mut extra = json;
        extra["root"] = serde_json::json!("00");
        let err = serde_json::from_value::<ConsistencyProof>(extra).unwrap_err();
        assert!(err.to_string().contains("root"), "{err}");
    }

    #[test]
    fn malformed_path_hash_is_rejected() {
        let json = r#"{"leaf_index":0,"tree_size":2,"path":["abcd"]}"#;
        let err = serde_json::from_str::<InclusionProof>(json).unwrap_err();
        assert!(err.to_string().contains("64 lowercase hex"), "{err}");
    }
}
