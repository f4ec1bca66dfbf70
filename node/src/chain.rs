//! Building a block: apply candidate events in order through the protocol rules, append them to
//! the global Merkle log, and fill in the header. Deterministic given its inputs; no I/O beyond
//! reading the committed state and Merkle nodes through the store's views.

use provenance_protocol::crypto::PublicKey;
use provenance_protocol::genesis::Genesis;
use provenance_protocol::ledger::{Block, BlockBody, BlockHeader, ValidatorSet};
use provenance_protocol::merkle::{CompletedNode, MerkleLog};
use provenance_protocol::record::VerifiedEvent;
use provenance_protocol::rules::{
    self, LedgerView, Overlay, PendingChanges, RuleContext, RuleViolation, StateChange,
};

/// The chain tip a new block extends.
#[derive(Debug, Clone)]
pub struct Tip {
    /// Height of the newest block (0 before the first).
    pub height: u64,
    /// Hash of the newest header, or the genesis hash at height 0.
    pub hash: [u8; 32],
    /// Time of the newest block, or the genesis time.
    pub time_ms: u64,
    /// App-state digest after the newest block (zeros at genesis).
    pub app_state_root: [u8; 32],
    /// The global event log after the newest block.
    pub log: MerkleLog,
}

impl Tip {
    /// The tip of a chain with no blocks.
    pub fn genesis(genesis: &Genesis) -> Self {
        Tip {
            height: 0,
            hash: genesis.hash().0,
            time_ms: genesis.genesis_time_ms,
            app_state_root: [0; 32],
            log: MerkleLog::new(),
        }
    }

    /// The tip after `header` (whose log is `log`).
    pub fn after(header: &BlockHeader, log: MerkleLog) -> Self {
        Tip {
            height: header.height,
            hash: header.hash(),
            time_ms: header.time_ms,
            app_state_root: header.app_state_root,
            log,
        }
    }
}

/// A candidate event and the caller's key for it (the mempool's admission key).
#[derive(Debug, Clone)]
pub struct Candidate {
    pub key: u64,
    pub event: VerifiedEvent,
}

/// The outcome of building a block.
#[derive(Debug)]
pub struct BuiltBlock {
    pub block: Block,
    /// State changes, in event order (each event's run ends with its `Sequence` change).
    pub changes: Vec<StateChange>,
    /// Merkle nodes completed by this block's events.
    pub merkle_nodes: Vec<CompletedNode>,
    /// Keys of the candidates included, in order.
    pub included: Vec<u64>,
    /// Candidates that may succeed later (e.g. event time beyond the clock skew).
    pub deferred: Vec<u64>,
    /// Candidates the rules refused, with why.
    pub rejected: Vec<(u64, RuleViolation)>,
    /// The log after this block.
    pub log: MerkleLog,
}

/// Inputs of [`build_block`] that are not the state.
#[derive(Debug, Clone, Copy)]
pub struct BlockParams<'a> {
    pub chain_id: &'a str,
    pub proposer: PublicKey,
    pub time_ms: u64,
    pub max_clock_skew_ms: u64,
    pub validators: &'a ValidatorSet,
}

/// Builds the next block on `tip` from `candidates`, in order, against the committed `view`.
pub fn build_block<V: LedgerView + ?Sized>(
    view: &V,
    tip: &Tip,
    params: BlockParams<'_>,
    candidates: Vec<Candidate>,
) -> BuiltBlock {
    let height = tip.height + 1;
    // Block times strictly increase even if the local clock stepped back.
    let time_ms = params.time_ms.max(tip.time_ms + 1);
    let ctx = RuleContext {
        height,
        block_time_ms: time_ms,
        max_clock_skew_ms: params.max_clock_skew_ms,
    };
    let mut pending = PendingChanges::default();
    let mut log = tip.log.clone();
    let mut events = Vec::new();
    let mut merkle_nodes = Vec::new();
    let mut included = Vec::new();
    let mut deferred = Vec::new();
    let mut rejected = Vec::new();
    for candidate in candidates {
        let result = rules::check_event(&Overlay::new(view, &pending), &candidate.event, &ctx);
        match result {
            Ok(changes) => match log.append(candidate.event.record.leaf_hash()) {
                Ok(nodes) => {
                    pending.apply(changes);
                    merkle_nodes.extend(nodes);
                    events.push(candidate.event.record);
                    included.push(candidate.key);
                }
                // The log is full (2^64 leaves): nothing more can ever be appended.
                Err(_) => deferred.push(candidate.key),
            },
            Err(violation) if violation.is_transient() => deferred.push(candidate.key),
            Err(violation) => rejected.push((candidate.key, violation)),
        }
    }
    let changes = pending.into_changes();
    let body = BlockBody { events };
    let header = BlockHeader {
        chain_id: params.chain_id.to_owned(),
        height,
        prev_hash: tip.hash,
        time_ms,
        proposer: params.proposer,
        log_root: log.root().to_bytes(),
        log_size: log.size(),
        body_hash: body.hash(),
        validators_hash: params.validators.hash(),
        next_validators_hash: params.validators.hash(),
        app_state_root: rules::next_app_state_root(&tip.app_state_root, &changes),
    };
    BuiltBlock {
        block: Block { header, body },
        changes,
        merkle_nodes,
        included,
        deferred,
        rejected,
        log,
    }
}
