//! The global event log: one append-only RFC 6962 / RFC 9162 Merkle tree over every accepted
//! event, with inclusion proofs ("this event is in the log") and consistency proofs ("this log
//! only grew since you last saw it"). Pure: no I/O; storage is behind [`NodeStore`].
//!
//! # Pieces
//!
//! - [`leaf_hash`], [`node_hash`], [`empty_root`], [`root_from_leaves`]: the RFC hash functions
//!   over [`MerkleHash`] (a 32-byte newtype whose text and serde form is lowercase hex).
//! - [`MerkleLog`]: append structure keeping only the frontier (≤ 64 hashes). `append` returns
//!   the complete-subtree nodes it finished, for the caller to persist.
//! - [`NodeStore`]: read access to persisted complete subtrees; [`MemoryNodeStore`] keeps them
//!   in memory (tests, client).
//! - [`inclusion_proof`], [`consistency_proof`], [`root_at`]: proofs and historical roots for any
//!   size up to the stored one, reading `O(log n)` nodes.
//! - [`verify_inclusion`], [`root_from_inclusion_proof`], [`verify_consistency`]: the client side,
//!   total on hostile input (errors, never panics).
//!
//! # Trust: verify against signed tree heads
//!
//! A root does not determine its tree size, and RFC 6962 proofs do not authenticate the sizes
//! they carry: the proof of leaf 0 in a tree of 7 leaves has the same shape as in a tree of 8,
//! so a proof checked against a root alone can be "valid" for several sizes. Always take
//! `(tree_size, root)` together from one signed tree head.
//!
//! # Storage design note (for the node)
//!
//! The node persists every node [`MerkleLog::append`] returns, keyed by [`node_key`]:
//! `level (1 byte) || index (8 bytes, big-endian)`. Big-endian makes byte order numeric order, so
//! each level is one contiguous, sorted key range and every append writes at the end of the ranges
//! it touches. Write the nodes and the new size in one batch: nodes are immutable and their keys
//! deterministic, so replaying an interrupted append rewrites identical values (idempotent).
//! On restart, [`MerkleLog::from_store`] reads only `popcount(size)` ≤ 64 nodes.
//!
//! Cost for `n` leaves: `2n - popcount(n)` nodes, i.e. 2 writes per append on average (at most
//! 64) and `2 × (9 + 32) ≈ 82` bytes of raw key and value per leaf before database overhead
//! (about 82 GB per billion events). Half of that is level 0 (the leaf hashes): a node that
//! already stores each event's leaf hash by sequence number can answer `get(0, i)` from there and
//! persist only levels ≥ 1. Memory: the frontier only. Reads (`c = ⌈log2 n⌉`): an inclusion
//! proof costs at most `max(2c - 2, c)` point reads (≤ 126 for any `u64` size), a consistency proof
//! at most `2c - 1`, `root_at` `popcount(size)` ≤ 64.
//! Proofs can be served for any past size ≤ the stored size from the same store, because a
//! complete subtree never changes.

mod generate;
mod geometry;
mod hash;
mod log;
mod proof;
mod store;
mod tree;
mod verify;

#[cfg(test)]
mod proptests;

pub use generate::{ProofError, consistency_proof, inclusion_proof, root_at};
pub use hash::{HashParseError, MerkleHash, empty_root, leaf_hash, node_hash};
pub use log::{AppendError, MerkleLog};
pub use proof::{ConsistencyProof, InclusionProof};
pub use store::{
    CompletedNode, MemoryNodeStore, MemoryStoreError, NodeReadError, NodeStore, node_key,
};
pub use tree::root_from_leaves;
pub use verify::{MerkleError, root_from_inclusion_proof, verify_consistency, verify_inclusion};
