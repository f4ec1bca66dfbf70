//! Building a block: apply candidate events in order through the protocol rules, append them to
//! the global Merkle log, apply governance and evidence, and fill in the header. Deterministic
//! given its inputs; no I/O beyond reading the committed state and Merkle nodes through the
//! store's views. A proposer builds from its mempool; every other node re-builds a proposed or
//! synced block from that block's own contents and requires the identical block.

use provenance_protocol::crypto::PublicKey;
use provenance_protocol::evidence::{Equivocation, EvidenceError};
use provenance_protocol::genesis::{ConsensusParams, Genesis};
use provenance_protocol::governance::{GovernanceError, GovernanceTx};
use provenance_protocol::ledger::{Block, BlockBody, BlockHeader};
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

/// A proposer takes at least this many events before its time budget may stop it, so a busy
/// machine still makes progress through a large mempool.
pub const MIN_EVENTS_BEFORE_STOP: usize = 128;

/// What a block may contain, in the order it is applied.
#[derive(Debug, Clone, Default)]
pub struct Contents {
    pub candidates: Vec<Candidate>,
    pub governance: Vec<GovernanceTx>,
    pub evidence: Vec<Equivocation>,
    /// A proposer stops taking candidates at this instant (the rest wait for the next block),
    /// so that it proposes, and the others can re-execute, within the round's timeouts.
    /// `None` when re-executing someone else's block: all of it is applied.
    pub stop_at: Option<std::time::Instant>,
}

/// The outcome of building a block.
#[derive(Debug)]
pub struct BuiltBlock {
    pub block: Block,
    /// State changes, in order: each event's run ends with its `Sequence` change; governance
    /// and evidence changes follow the events'.
    pub changes: Vec<StateChange>,
    /// Merkle nodes completed by this block's events.
    pub merkle_nodes: Vec<CompletedNode>,
    /// Keys of the candidates included, in order.
    pub included: Vec<u64>,
    /// Candidates that may succeed later (e.g. event time beyond the clock skew).
    pub deferred: Vec<u64>,
    /// Candidates the rules refused, with why.
    pub rejected: Vec<(u64, RuleViolation)>,
    /// Governance transactions refused (index in the contents, why).
    pub rejected_governance: Vec<(usize, GovernanceError)>,
    /// Evidence refused (index in the contents, why).
    pub rejected_evidence: Vec<(usize, EvidenceError)>,
    /// The log after this block.
    pub log: MerkleLog,
}

impl BuiltBlock {
    /// Whether every item offered was included (what re-executing a proposed block requires).
    pub fn included_everything(&self) -> bool {
        self.deferred.is_empty()
            && self.rejected.is_empty()
            && self.rejected_governance.is_empty()
            && self.rejected_evidence.is_empty()
    }
}

/// Why no block can be built on a tip at all (not about any one item).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    #[error("the state knows no validator set for height {height}")]
    NoValidatorSet { height: u64 },
}

/// Inputs of [`build_block`] that are not the state.
#[derive(Debug, Clone, Copy)]
pub struct BlockParams<'a> {
    pub chain_id: &'a str,
    pub proposer: PublicKey,
    pub time_ms: u64,
    pub consensus: &'a ConsensusParams,
}

/// Builds the next block on `tip` from `contents`, in order, against the committed `view`:
/// events (each through the rules, appended to the log), then governance transactions, then
/// evidence. Items that fail are left out and reported. The header names the validator set of
/// its height and of the next; when they differ the body carries the next set, so a light
/// client learns each hand-off from the block that announces it.
pub fn build_block<V: LedgerView + ?Sized>(
    view: &V,
    tip: &Tip,
    params: BlockParams<'_>,
    contents: Contents,
) -> Result<BuiltBlock, BuildError> {
    let height = tip.height + 1;
    // Block times strictly increase even if the local clock stepped back.
    let time_ms = params.time_ms.max(tip.time_ms + 1);
    let ctx = RuleContext {
        height,
        block_time_ms: time_ms,
        max_clock_skew_ms: params.consensus.max_clock_skew_ms,
    };
    let validators = view
        .validator_set_at(height)
        .ok_or(BuildError::NoValidatorSet { height })?;
    let mut pending = PendingChanges::default();
    let mut log = tip.log.clone();
    let mut events = Vec::new();
    let mut merkle_nodes = Vec::new();
    let mut included = Vec::new();
    let mut deferred = Vec::new();
    let mut rejected = Vec::new();
    let mut candidates = contents.candidates.into_iter().enumerate();
    while let Some((tried, candidate)) = candidates.next() {
        if included.len() >= MIN_EVENTS_BEFORE_STOP
            && tried % 64 == 0
            && contents
                .stop_at
                .is_some_and(|stop| std::time::Instant::now() >= stop)
        {
            deferred.push(candidate.key);
            deferred.extend(candidates.map(|(_, c)| c.key));
            break;
        }
        let result = rules::check_event(&Overlay::new(view, &pending), &candidate.event, &ctx);
        match result {
            Ok(changes) => match log.append(candidate.event.record.leaf_hash(height)) {
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
    let mut governance = Vec::new();
    let mut rejected_governance = Vec::new();
    for (index, tx) in contents.governance.into_iter().enumerate() {
        let overlay = Overlay::new(view, &pending);
        match rules::check_governance(&overlay, &tx, params.chain_id, &ctx, params.consensus) {
            Ok(changes) => {
                pending.apply(changes);
                governance.push(tx);
            }
            Err(e) => rejected_governance.push((index, e)),
        }
    }
    let mut evidence = Vec::new();
    let mut rejected_evidence = Vec::new();
    for (index, item) in contents.evidence.into_iter().enumerate() {
        let overlay = Overlay::new(view, &pending);
        match rules::check_evidence(&overlay, &item, params.chain_id, &ctx) {
            Ok(changes) => {
                pending.apply(changes);
                evidence.push(item);
            }
            Err(e) => rejected_evidence.push((index, e)),
        }
    }
    let next_validators = Overlay::new(view, &pending)
        .validator_set_at(height + 1)
        .ok_or(BuildError::NoValidatorSet { height: height + 1 })?;
    let changes = pending.into_changes();
    let next_validators_hash = next_validators.hash();
    let body = BlockBody {
        events,
        governance,
        evidence,
        next_validators: (next_validators_hash != validators.hash()).then_some(next_validators),
    };
    let header = BlockHeader {
        chain_id: params.chain_id.to_owned(),
        height,
        prev_hash: tip.hash,
        time_ms,
        proposer: params.proposer,
        log_root: log.root().to_bytes(),
        log_size: log.size(),
        body_hash: body.hash(),
        validators_hash: validators.hash(),
        next_validators_hash,
        app_state_root: rules::next_app_state_root(&tip.app_state_root, &changes),
    };
    Ok(BuiltBlock {
        block: Block { header, body },
        changes,
        merkle_nodes,
        included,
        deferred,
        rejected,
        rejected_governance,
        rejected_evidence,
        log,
    })
}
