//! Blocks: building this validator's proposal from its mempool, checking a proposed block by
//! re-executing it, and committing a finalised block (decided by consensus or fetched by sync).
//!
//! A proposed or synced block is never taken on trust: its events are verified (signatures and
//! Event Hash IDs; events this node already verified into its mempool are reused), the rules
//! are re-applied in order on the committed state, and the block rebuilt from its own contents
//! must be byte-identical (header: log root, body hash, validator sets, app-state root).
//! A finalised block must also carry a certificate from more than two thirds of the voting power
//! of the validator set the *committed* state says certifies that height.

use std::sync::Arc;
use std::time::Duration;

use provenance_protocol::evidence::Equivocation;
use provenance_protocol::governance::GovernanceTx;
use provenance_protocol::ledger::{
    Block, FinalityCertificate, LedgerError, MAX_BLOCK_BYTES, MAX_BLOCK_EVENTS,
};
use provenance_protocol::record::RecordError;

use super::{NodeService, lock, now_ms};
use crate::chain::{self, BlockParams, BuildError, BuiltBlock, Candidate, Contents, Tip};
use crate::store::{BlockCommit, StoreError};

/// How far ahead of this node's clock a proposed block's time may be. Only liveness depends on
/// it (a validator with a fast clock gets its proposals refused), not safety.
pub const MAX_BLOCK_TIME_AHEAD: Duration = Duration::from_secs(30);

/// Blocks kept re-executed at once (proposals of several rounds at one height).
const EXECUTED_CACHE: usize = 8;

/// Why a block is refused. Each names the part at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlockError {
    #[error("block is for chain {found:?}, this node runs {expected:?}")]
    WrongChain { expected: String, found: String },
    #[error("block is at height {found}; the next height is {expected}")]
    WrongHeight { expected: u64, found: u64 },
    #[error("block at height {height} does not extend this node's head (prev_hash {found})")]
    WrongParent { height: u64, found: String },
    #[error("block time {time_ms} is not after the previous block's {previous_ms}")]
    TimeNotIncreasing { time_ms: u64, previous_ms: u64 },
    #[error("block time {time_ms} is more than {ahead:?} ahead of this node's clock ({now_ms})")]
    TimeAhead {
        time_ms: u64,
        now_ms: u64,
        ahead: Duration,
    },
    #[error("block proposer {proposer} is not a validator at height {height}")]
    ProposerNotValidator { height: u64, proposer: String },
    #[error("block body is invalid: {0}")]
    Body(#[source] LedgerError),
    #[error("event {index} of the block is invalid: {source}")]
    Event {
        index: usize,
        #[source]
        source: RecordError,
    },
    #[error("block content was refused by the rules: {0}")]
    Refused(String),
    #[error("block does not re-execute to itself: {what} differs")]
    Mismatch { what: &'static str },
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error("certificate of block {height} does not verify: {source}")]
    Certificate {
        height: u64,
        #[source]
        source: LedgerError,
    },
    #[error(
        "a different block {theirs} is offered at height {height}, where block {ours} is final: the network forked or a peer lies"
    )]
    Conflict {
        height: u64,
        ours: String,
        theirs: String,
    },
    #[error("storage failure: {0}")]
    Store(#[from] StoreError),
}

/// What a commit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitOutcome {
    /// The block was appended.
    Committed { height: u64, events: usize },
    /// The same block was already final here (another path committed it first).
    AlreadyFinal { height: u64 },
}

impl NodeService {
    /// Builds the block this validator proposes on its tip: waiting events (oldest first, within
    /// the block's event and byte limits, and as many as fit in `budget` of building time), then
    /// `governance` and `evidence`. Items the rules
    /// refuse are left out (and refused events leave the mempool). The block is recorded in the
    /// store, unflushed: the consensus core flushes its signed state before it signs a proposal.
    pub fn build_proposal(
        &self,
        governance: Vec<GovernanceTx>,
        evidence: Vec<Equivocation>,
        budget: Option<Duration>,
    ) -> Result<Block, BlockError> {
        let stop_at = budget.map(|b| std::time::Instant::now() + b);
        let tip = self.tip();
        let genesis = &self.inner.genesis;
        let proposer = match &self.inner.signing_key {
            Some(key) => key.public_key(),
            None => {
                return Err(BlockError::ProposerNotValidator {
                    height: tip.height + 1,
                    proposer: "(no signing key)".into(),
                });
            }
        };
        let max = (genesis.params.max_block_events as usize).min(MAX_BLOCK_EVENTS);
        let candidates = {
            let mempool = lock(&self.inner.mempool);
            let mut budget = MAX_BLOCK_BYTES - MAX_BLOCK_BYTES / 8;
            let mut candidates = mempool.candidates(max);
            let keep = candidates
                .iter()
                .take_while(|c| {
                    // The event JSON dominates; keys, hashes and signature add < 256 bytes.
                    let size = c.event.record.event.len() + 256;
                    budget = budget.saturating_sub(size);
                    budget > 0
                })
                .count();
            candidates.truncate(keep);
            candidates
        };
        let built = chain::build_block(
            &*self.inner.store,
            &tip,
            BlockParams {
                chain_id: &genesis.chain_id,
                proposer,
                time_ms: now_ms(),
                consensus: &genesis.params,
            },
            Contents {
                candidates,
                governance,
                evidence,
                stop_at,
            },
        )?;
        if !built.deferred.is_empty() {
            tracing::debug!(
                included = built.included.len(),
                deferred = built.deferred.len(),
                "block building reached its time budget; the rest waits for the next block"
            );
        }
        for (key, violation) in &built.rejected {
            tracing::warn!(key, code = violation.code(), error = %violation,
                "a waiting event failed the rules at block time; dropping it");
        }
        for (index, error) in &built.rejected_governance {
            tracing::warn!(index, %error, "governance transaction refused; dropping it");
        }
        for (index, error) in &built.rejected_evidence {
            tracing::debug!(index, %error, "evidence refused; dropping it");
        }
        if !built.rejected.is_empty() {
            self.drop_refused(&built.rejected)?;
        }
        self.inner.store.record_proposal(&built.block)?;
        let block = built.block.clone();
        self.remember_executed(&tip, Arc::new(built));
        Ok(block)
    }

    /// Checks a block proposed at the next height: it extends this node's tip, its time is
    /// plausible, and it re-executes to itself. The result is kept for the commit.
    pub fn check_proposed(&self, block: &Block) -> Result<(), BlockError> {
        let now = now_ms();
        let ahead = MAX_BLOCK_TIME_AHEAD.as_millis() as u64;
        if block.header.time_ms > now.saturating_add(ahead) {
            return Err(BlockError::TimeAhead {
                time_ms: block.header.time_ms,
                now_ms: now,
                ahead: MAX_BLOCK_TIME_AHEAD,
            });
        }
        let tip = self.tip();
        self.execute(block, &tip).map(|_| ())
    }

    /// Commits a finalised block: the certificate must verify against the validator set the
    /// committed state assigns to its height, and the block must re-execute to itself. Safe to
    /// call from several tasks: commits are serialised, and a block already final is reported
    /// as such (a different block at a final height is a [`BlockError::Conflict`]).
    pub fn commit_finalised(
        &self,
        block: &Block,
        certificate: &FinalityCertificate,
    ) -> Result<CommitOutcome, BlockError> {
        let _commit = lock(&self.inner.commit_lock);
        let store = &self.inner.store;
        let tip = self.tip();
        let header = &block.header;
        let height = header.height;
        if height <= tip.height && height > 0 {
            let ours = store.header(height)?.map(|h| h.hash());
            return match ours {
                Some(ours) if ours == header.hash() => Ok(CommitOutcome::AlreadyFinal { height }),
                ours => Err(BlockError::Conflict {
                    height,
                    ours: ours.map(hex::encode).unwrap_or_default(),
                    theirs: hex::encode(header.hash()),
                }),
            };
        }
        let validators = self
            .validator_set_at(height)
            .ok_or(BlockError::Build(BuildError::NoValidatorSet { height }))?;
        certificate
            .verify(header, &validators)
            .map_err(|source| BlockError::Certificate { height, source })?;
        let built = self.execute(block, &tip)?;
        let included_pending: Vec<u64> = {
            let mempool = lock(&self.inner.mempool);
            block
                .body
                .events
                .iter()
                .filter_map(|e| mempool.key_of(&e.event_hash_id))
                .collect()
        };
        store.commit_block(BlockCommit {
            block,
            certificate,
            changes: &built.changes,
            merkle_nodes: &built.merkle_nodes,
            included_pending: &included_pending,
        })?;
        store.forget_proposals_through(height)?;
        *lock(&self.inner.tip) = Tip::after(header, built.log.clone());
        lock(&self.inner.executed).clear();
        let mut mempool = lock(&self.inner.mempool);
        if mempool.is_prefix(&included_pending) && included_pending.len() == block.body.events.len()
        {
            mempool.remove(&included_pending);
        } else {
            // Another proposer's block, or events of ours that conflict with it: re-check what
            // still waits against the new state.
            mempool.remove(&included_pending);
            self.rebuild_mempool(&mut mempool)
                .map_err(|e| BlockError::Refused(e.to_string()))?;
        }
        self.inner.metrics.set_mempool(mempool.len());
        drop(mempool);
        let events = block.body.events.len();
        self.inner.metrics.block_committed(height, events);
        tracing::info!(height, events, round = certificate.round, "block finalised");
        Ok(CommitOutcome::Committed { height, events })
    }

    /// Re-executes `block` on `tip` (or returns the cached result): header checks, event
    /// verification, the rules, and byte equality with the rebuilt block.
    fn execute(&self, block: &Block, tip: &Tip) -> Result<Arc<BuiltBlock>, BlockError> {
        let hash = block.header.hash();
        if let Some((_, built)) = lock(&self.inner.executed).iter().find(|(h, _)| *h == hash) {
            return Ok(built.clone());
        }
        let genesis = &self.inner.genesis;
        let header = &block.header;
        if header.chain_id != genesis.chain_id {
            return Err(BlockError::WrongChain {
                expected: genesis.chain_id.clone(),
                found: header.chain_id.clone(),
            });
        }
        if header.height != tip.height + 1 {
            return Err(BlockError::WrongHeight {
                expected: tip.height + 1,
                found: header.height,
            });
        }
        if header.prev_hash != tip.hash {
            return Err(BlockError::WrongParent {
                height: header.height,
                found: hex::encode(header.prev_hash),
            });
        }
        if header.time_ms <= tip.time_ms {
            return Err(BlockError::TimeNotIncreasing {
                time_ms: header.time_ms,
                previous_ms: tip.time_ms,
            });
        }
        let validators =
            self.validator_set_at(header.height)
                .ok_or(BuildError::NoValidatorSet {
                    height: header.height,
                })?;
        if validators.power_of(&header.proposer).is_none() {
            return Err(BlockError::ProposerNotValidator {
                height: header.height,
                proposer: header.proposer.to_string(),
            });
        }
        block.body.check_limits().map_err(BlockError::Body)?;
        if block.body.events.len() > genesis.params.max_block_events as usize {
            return Err(BlockError::Body(LedgerError::TooManyInBody {
                what: "events",
                count: block.body.events.len(),
                limit: genesis.params.max_block_events as usize,
            }));
        }
        let candidates = self.verified_candidates(block)?;
        let built = chain::build_block(
            &*self.inner.store,
            tip,
            BlockParams {
                chain_id: &genesis.chain_id,
                proposer: header.proposer,
                time_ms: header.time_ms,
                consensus: &genesis.params,
            },
            Contents {
                candidates,
                governance: block.body.governance.clone(),
                evidence: block.body.evidence.clone(),
                stop_at: None,
            },
        )?;
        if let Some((index, violation)) = built.rejected.first() {
            return Err(BlockError::Refused(format!("event {index}: {violation}")));
        }
        if let Some(index) = built.deferred.first() {
            return Err(BlockError::Refused(format!(
                "event {index} may not be appended yet at this block's time"
            )));
        }
        if let Some((index, error)) = built.rejected_governance.first() {
            return Err(BlockError::Refused(format!(
                "governance transaction {index}: {error}"
            )));
        }
        if let Some((index, error)) = built.rejected_evidence.first() {
            return Err(BlockError::Refused(format!("evidence {index}: {error}")));
        }
        if built.block.body != block.body {
            return Err(BlockError::Mismatch { what: "body" });
        }
        let rebuilt = &built.block.header;
        for (what, same) in [
            ("log_root", rebuilt.log_root == header.log_root),
            ("log_size", rebuilt.log_size == header.log_size),
            ("body_hash", rebuilt.body_hash == header.body_hash),
            (
                "validators_hash",
                rebuilt.validators_hash == header.validators_hash,
            ),
            (
                "next_validators_hash",
                rebuilt.next_validators_hash == header.next_validators_hash,
            ),
            (
                "app_state_root",
                rebuilt.app_state_root == header.app_state_root,
            ),
            ("header", rebuilt == header),
        ] {
            if !same {
                return Err(BlockError::Mismatch { what });
            }
        }
        let built = Arc::new(built);
        self.remember_executed(tip, built.clone());
        Ok(built)
    }

    /// The block's events as verified candidates, reusing the mempool's verification of
    /// identical records. Keys index the block (they are not mempool keys).
    fn verified_candidates(&self, block: &Block) -> Result<Vec<Candidate>, BlockError> {
        let chain_id = &self.inner.genesis.chain_id;
        let mut out = Vec::with_capacity(block.body.events.len());
        let mut unverified = Vec::new();
        {
            let mempool = lock(&self.inner.mempool);
            for (index, record) in block.body.events.iter().enumerate() {
                match mempool.get(&record.event_hash_id) {
                    Some(known) if known.record == *record => out.push(Some(known.clone())),
                    _ => {
                        out.push(None);
                        unverified.push(index);
                    }
                }
            }
        }
        for index in unverified {
            let record = &block.body.events[index];
            let verified = record
                .verify(chain_id)
                .map_err(|source| BlockError::Event { index, source })?;
            out[index] = Some(verified);
        }
        Ok(out
            .into_iter()
            .enumerate()
            .filter_map(|(index, event)| {
                event.map(|event| Candidate {
                    key: index as u64,
                    event,
                })
            })
            .collect())
    }

    fn remember_executed(&self, tip: &Tip, built: Arc<BuiltBlock>) {
        if built.block.header.prev_hash != tip.hash {
            return;
        }
        let mut cache = lock(&self.inner.executed);
        let hash = built.block.header.hash();
        cache.retain(|(h, _)| *h != hash);
        if cache.len() >= EXECUTED_CACHE {
            cache.remove(0);
        }
        cache.push((hash, built));
    }

    /// Drops waiting events the rules refused at block time, from memory and from disk.
    fn drop_refused(
        &self,
        refused: &[(u64, provenance_protocol::rules::RuleViolation)],
    ) -> Result<(), BlockError> {
        let keys: Vec<u64> = refused.iter().map(|(k, _)| *k).collect();
        let mut mempool = lock(&self.inner.mempool);
        mempool.remove(&keys);
        self.rebuild_mempool(&mut mempool)
            .map_err(|e| BlockError::Refused(e.to_string()))?;
        self.inner.metrics.set_mempool(mempool.len());
        drop(mempool);
        self.inner.store.remove_pending(&keys)?;
        Ok(())
    }
}
