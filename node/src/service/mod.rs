//! The node's core service: admission of signed events (with durable acknowledgement), block
//! production for a single validator, and the queries the API serves. The HTTP layer is a thin
//! translation of these methods; tests drive them directly.
//!
//! Consensus seam: [`NodeService::produce_block`] is what a single validator runs on its timer.
//! With several validators (the network issue) the block built here becomes a *proposal*, and the
//! commit happens when the BFT engine delivers a certificate; everything below the proposal —
//! building, rules, storage — stays as it is.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use provenance_protocol::crypto::SigningKey;
use provenance_protocol::event_hash::EventHashId;
use provenance_protocol::genesis::Genesis;
use provenance_protocol::ledger::{
    CommitSignature, FinalityCertificate, MAX_BLOCK_EVENTS, ValidatorSet,
};
use provenance_protocol::merkle::{self, ConsistencyProof, InclusionProof, MerkleLog};
use provenance_protocol::record::{RecordError, SignedEvent, VerifiedEvent};
use provenance_protocol::rules::{self, LedgerView, Overlay, RuleContext, RuleViolation};
use tokio::sync::{Notify, watch};

use crate::chain::{self, BlockParams, Tip};
use crate::mempool::{AdmissionError, Mempool, MempoolLimits};
use crate::store::{BlockCommit, ChainHead, LedgerStore, StoreError, StoredBlock, StoredEvent};

/// Most events accepted in one submission request.
pub const MAX_BATCH_EVENTS: usize = 5_000;

/// Why a submitted event was not accepted. `code()` is the stable machine code the API returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    #[error("batch holds {count} events; the limit is {MAX_BATCH_EVENTS}")]
    BatchTooLarge { count: usize },
    #[error("batch is empty")]
    EmptyBatch,
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Rule(#[from] RuleViolation),
    #[error(transparent)]
    Admission(#[from] AdmissionError),
    #[error("storage failure: {0}")]
    Storage(#[from] StoreError),
    #[error("the node is shutting down")]
    ShuttingDown,
}

impl SubmitError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            SubmitError::BatchTooLarge { .. } => "batch_too_large",
            SubmitError::EmptyBatch => "empty_batch",
            SubmitError::Record(e) => match e {
                RecordError::WrongChain { .. } => "wrong_chain",
                RecordError::ChainIdTooLong { .. } => "wrong_chain",
                RecordError::EventTooLarge { .. } => "event_too_large",
                RecordError::EventEncoding(_) | RecordError::EventNotObject => "invalid_event_json",
                RecordError::ContentHashMismatch { .. } => "content_hash_mismatch",
                RecordError::InvalidEpcis(_) => "invalid_epcis",
                RecordError::EventHash(_) => "invalid_epcis",
                RecordError::EventHashMismatch { .. } => "event_hash_mismatch",
                RecordError::BadSignature { .. } => "bad_signature",
                _ => "invalid_event",
            },
            SubmitError::Rule(v) => v.code(),
            SubmitError::Admission(a) => match a {
                AdmissionError::Full { .. } => "mempool_full",
                AdmissionError::SignerFull { .. } => "signer_quota_full",
                AdmissionError::SequenceTooFarAhead { .. } => "sequence_too_far_ahead",
                AdmissionError::ConflictingDuplicate { .. } => "duplicate_event",
            },
            SubmitError::Storage(_) => "storage_error",
            SubmitError::ShuttingDown => "shutting_down",
        }
    }
}

/// What happened to a submission: the events accepted (durable), and the first failure.
#[derive(Debug)]
pub struct SubmitOutcome {
    /// Accepted events, in submission order: durable and on their way into a block.
    pub accepted: Vec<EventHashId>,
    /// The first event that failed (its index in the batch), after which nothing was tried.
    pub failure: Option<(usize, SubmitError)>,
}

/// Why the node cannot run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("genesis is invalid: {0}")]
    Genesis(#[from] provenance_protocol::genesis::GenesisError),
    #[error(
        "signing key {key} is not a validator in this genesis; a non-validator node needs peers (not available yet)"
    )]
    NotAValidator { key: String },
    #[error("Merkle log in the store is unreadable: {0}")]
    Merkle(String),
    #[error(
        "the block proposed and signed at height {height} before a restart no longer rebuilds identically; refusing to sign another"
    )]
    ProposalMismatch { height: u64 },
    #[error("the block proposed at height {height} before a restart is invalid: {reason}")]
    ProposalInvalid { height: u64, reason: String },
    #[error("cannot sign block {height}: {source}")]
    Sign {
        height: u64,
        #[source]
        source: StoreError,
    },
}

/// Group commit: many submissions share one flush; none is acknowledged before its flush.
#[derive(Debug)]
struct GroupCommit {
    requested: AtomicU64,
    wake: Notify,
    flushed: watch::Sender<(u64, Option<String>)>,
}

/// Summary of the node for `/v1/status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Status {
    pub chain_id: String,
    pub genesis_hash: String,
    pub height: u64,
    pub head_hash: Option<String>,
    pub log_size: u64,
    pub mempool_size: usize,
    pub peers: usize,
    pub version: &'static str,
}

/// A block just committed.
#[derive(Debug, Clone)]
pub struct Committed {
    pub height: u64,
    pub events: usize,
}

/// The node's core. Cheap to clone (`Arc` inside).
#[derive(Debug, Clone)]
pub struct NodeService {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn LedgerStore>,
    genesis: Genesis,
    validators: ValidatorSet,
    signing_key: SigningKey,
    mempool: Mutex<Mempool>,
    tip: Mutex<Tip>,
    group_commit: GroupCommit,
    metrics: crate::metrics::Metrics,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves consistent data behind (every mutation is completed
    // before anything that can fail), so a poisoned lock is still usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl NodeService {
    /// Opens the service over a store: checks the validator key, rebuilds the tip from the
    /// store's head and Merkle log, and re-admits the durable mempool.
    pub fn new(
        store: Arc<dyn LedgerStore>,
        genesis: Genesis,
        signing_key: SigningKey,
        limits: MempoolLimits,
        metrics: crate::metrics::Metrics,
    ) -> Result<Self, ServiceError> {
        genesis.validate()?;
        let validators = genesis.validator_set()?;
        if validators.power_of(&signing_key.public_key()).is_none() {
            return Err(ServiceError::NotAValidator {
                key: signing_key.public_key().to_string(),
            });
        }
        let tip = match store.head()? {
            None => Tip::genesis(&genesis),
            Some(ChainHead { header, .. }) => {
                let log = MerkleLog::from_store(&*store, header.log_size)
                    .map_err(|e| ServiceError::Merkle(e.to_string()))?;
                Tip::after(&header, log)
            }
        };
        let (flushed, _) = watch::channel((0, None));
        let service = NodeService {
            inner: Arc::new(Inner {
                store,
                genesis,
                validators,
                signing_key,
                mempool: Mutex::new(Mempool::new(limits)),
                tip: Mutex::new(tip),
                group_commit: GroupCommit {
                    requested: AtomicU64::new(0),
                    wake: Notify::new(),
                    flushed,
                },
                metrics,
            }),
        };
        service.readmit_pending()?;
        Ok(service)
    }

    /// The genesis this node runs.
    pub fn genesis(&self) -> &Genesis {
        &self.inner.genesis
    }

    /// The store (read-only use: queries, proofs).
    pub fn store(&self) -> &Arc<dyn LedgerStore> {
        &self.inner.store
    }

    /// The metrics registry handle.
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.inner.metrics
    }

    fn chain_id(&self) -> &str {
        &self.inner.genesis.chain_id
    }

    /// Re-admits the durable mempool after a restart, in admission order. Entries that no longer
    /// pass (already in a block, or invalid) are dropped from the pending tree.
    fn readmit_pending(&self) -> Result<(), ServiceError> {
        let store = &self.inner.store;
        let mut stale = Vec::new();
        let mut mempool = lock(&self.inner.mempool);
        let height = lock(&self.inner.tip).height + 1;
        for (key, record) in store.pending()? {
            let verified = match record.verify(self.chain_id()) {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(key, error = %e, "dropping unverifiable pending event");
                    stale.push(key);
                    continue;
                }
            };
            let ctx = self.rule_context(height);
            let result =
                rules::check_event(&Overlay::new(&**store, mempool.pending()), &verified, &ctx);
            match result {
                Ok(changes) => mempool.push(key, verified, changes),
                Err(RuleViolation::DuplicateEvent { .. }) => stale.push(key),
                Err(e) => {
                    tracing::warn!(key, error = %e, "dropping pending event the rules now refuse");
                    stale.push(key);
                }
            }
        }
        self.inner.metrics.set_mempool(mempool.len());
        drop(mempool);
        if !stale.is_empty() {
            store.remove_pending(&stale)?;
            store.flush()?;
        }
        Ok(())
    }

    fn rule_context(&self, height: u64) -> RuleContext {
        RuleContext {
            height,
            block_time_ms: now_ms(),
            max_clock_skew_ms: self.inner.genesis.params.max_clock_skew_ms,
        }
    }

    /// Submits signed events, in order. Each accepted event is durable (flushed) before this
    /// returns; processing stops at the first failure, keeping what was accepted before it.
    pub async fn submit(&self, records: Vec<SignedEvent>) -> SubmitOutcome {
        if records.is_empty() {
            return SubmitOutcome {
                accepted: vec![],
                failure: Some((0, SubmitError::EmptyBatch)),
            };
        }
        if records.len() > MAX_BATCH_EVENTS {
            return SubmitOutcome {
                accepted: vec![],
                failure: Some((
                    0,
                    SubmitError::BatchTooLarge {
                        count: records.len(),
                    },
                )),
            };
        }
        let service = self.clone();
        let outcome = tokio::task::spawn_blocking(move || service.admit_blocking(records)).await;
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(_) => {
                return SubmitOutcome {
                    accepted: vec![],
                    failure: Some((0, SubmitError::ShuttingDown)),
                };
            }
        };
        // Wait even when every accepted event was a resubmission: the first submission of a
        // waiting event may still be waiting for its flush, and an acknowledgement must never
        // precede durability. The wait shares the next group flush, so it costs little.
        if !outcome.accepted.is_empty()
            && let Err(e) = self.wait_durable().await
        {
            // Nothing may be acknowledged that is not durable.
            return SubmitOutcome {
                accepted: vec![],
                failure: Some((0, e)),
            };
        }
        self.inner.metrics.events_accepted(outcome.accepted.len());
        if let Some((_, e)) = &outcome.failure {
            self.inner.metrics.event_rejected(e.code());
        }
        outcome
    }

    /// Cheap checks, verification, rules and the (unflushed) durable write, off the async
    /// runtime's threads.
    fn admit_blocking(&self, records: Vec<SignedEvent>) -> SubmitOutcome {
        let store = &self.inner.store;
        let chain_id = self.chain_id().to_owned();
        let mut accepted = Vec::with_capacity(records.len());
        // Cheap checks for the whole batch before any signature work.
        for (index, record) in records.iter().enumerate() {
            let cheap = record
                .check_cheap(&chain_id)
                .map_err(SubmitError::from)
                .and_then(|()| {
                    store
                        .participant_by_key(&record.signer)
                        .map(|_| ())
                        .ok_or(SubmitError::Rule(RuleViolation::UnknownSigner {
                            signer: record.signer,
                        }))
                });
            if let Err(e) = cheap {
                return failed(accepted, index, e);
            }
        }
        let mut verified = Vec::with_capacity(records.len());
        for (index, record) in records.iter().enumerate() {
            match record.verify(&chain_id) {
                Ok(v) => verified.push(v),
                Err(e) => return failed(accepted, index, e.into()),
            }
        }
        let mut mempool = lock(&self.inner.mempool);
        let height = lock(&self.inner.tip).height + 1;
        for (index, event) in verified.into_iter().enumerate() {
            let id = event.record.event_hash_id;
            match self.admit_one(&mut mempool, event, height) {
                Ok(()) => accepted.push(id),
                Err(e) => return failed(accepted, index, e),
            }
        }
        self.inner.metrics.set_mempool(mempool.len());
        SubmitOutcome {
            accepted,
            failure: None,
        }
    }

    /// Admits one verified event. An identical resubmission of an event already waiting or final
    /// is accepted again without a second copy (idempotence).
    fn admit_one(
        &self,
        mempool: &mut Mempool,
        event: VerifiedEvent,
        height: u64,
    ) -> Result<(), SubmitError> {
        let store = &self.inner.store;
        match mempool.contains(&event) {
            Some(true) => return Ok(()),
            Some(false) => {
                return Err(AdmissionError::ConflictingDuplicate {
                    id: event.record.event_hash_id,
                }
                .into());
            }
            None => {}
        }
        if let Some(stored) = store.event(&event.record.event_hash_id)?
            && stored.record == event.record
        {
            return Ok(());
        }
        let view = Overlay::new(&**store, mempool.pending());
        let last = view.last_sequence(&event.record.signer);
        mempool.check_capacity(&event.record.signer, last, event.record.sequence)?;
        let changes = rules::check_event(&view, &event, &self.rule_context(height))?;
        let keys = store.put_pending(std::slice::from_ref(&event.record))?;
        let key = keys.first().copied().ok_or_else(|| StoreError::Corrupt {
            what: "put_pending returned no key".into(),
        })?;
        mempool.push(key, event, changes);
        Ok(())
    }

    async fn wait_durable(&self) -> Result<(), SubmitError> {
        let gc = &self.inner.group_commit;
        let mut flushed = gc.flushed.subscribe();
        let ticket = gc.requested.fetch_add(1, Ordering::SeqCst) + 1;
        gc.wake.notify_one();
        loop {
            {
                let (done, error) = &*flushed.borrow_and_update();
                if let Some(error) = error {
                    return Err(SubmitError::Storage(StoreError::Corrupt {
                        what: format!("flush failed: {error}"),
                    }));
                }
                if *done >= ticket {
                    return Ok(());
                }
            }
            if flushed.changed().await.is_err() {
                return Err(SubmitError::ShuttingDown);
            }
        }
    }

    /// The group-commit flusher: runs until the service is dropped. One flush covers every write
    /// made before it started.
    pub async fn run_flusher(self) {
        let gc = &self.inner.group_commit;
        loop {
            gc.wake.notified().await;
            let upto = gc.requested.load(Ordering::SeqCst);
            let store = self.inner.store.clone();
            let result = tokio::task::spawn_blocking(move || store.flush()).await;
            let error = match result {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(e) => Some(e.to_string()),
            };
            if let Some(error) = &error {
                tracing::error!(%error, "flush failed; submissions are refused");
            }
            gc.flushed.send_replace((upto, error));
        }
    }

    /// Builds, signs and commits the next block from the mempool, if anything waits.
    pub async fn produce_block(&self) -> Result<Option<Committed>, ServiceError> {
        let service = self.clone();
        tokio::task::spawn_blocking(move || service.produce_block_blocking())
            .await
            .unwrap_or(Ok(None))
    }

    fn produce_block_blocking(&self) -> Result<Option<Committed>, ServiceError> {
        let genesis = &self.inner.genesis;
        let store = &self.inner.store;
        let tip = lock(&self.inner.tip).clone();
        let height = tip.height + 1;
        // A block proposed and signed before a crash is committed as it was: signing another
        // block at this height would be equivocation.
        let resumed = store.proposal(height)?;
        let (candidates, time_ms) = match &resumed {
            Some(block) => (self.resume_candidates(block)?, block.header.time_ms),
            None => {
                let max = (genesis.params.max_block_events as usize).min(MAX_BLOCK_EVENTS);
                (lock(&self.inner.mempool).candidates(max), now_ms())
            }
        };
        if candidates.is_empty() {
            return Ok(None);
        }
        let built = chain::build_block(
            &**store,
            &tip,
            BlockParams {
                chain_id: &genesis.chain_id,
                proposer: self.inner.signing_key.public_key(),
                time_ms,
                max_clock_skew_ms: genesis.params.max_clock_skew_ms,
                validators: &self.inner.validators,
            },
            candidates,
        );
        if let Some(block) = &resumed
            && block.header != built.block.header
        {
            return Err(ServiceError::ProposalMismatch { height });
        }
        for (key, violation) in &built.rejected {
            tracing::error!(key, code = violation.code(), error = %violation,
                "an admitted event failed the rules at block time; dropping it");
        }
        if built.included.is_empty() {
            self.drop_entries(&built.rejected)?;
            return Ok(None);
        }
        let header = &built.block.header;
        let header_hash = header.hash();
        store.record_proposal(&built.block)?;
        store
            .record_signature(header.height, &header_hash)
            .map_err(|source| ServiceError::Sign {
                height: header.height,
                source,
            })?;
        let unsigned = FinalityCertificate::from_precommits(header, 0, vec![]);
        let signature = unsigned
            .precommit_payload()
            .sign(&self.inner.signing_key, &genesis.chain_id);
        let certificate = FinalityCertificate::from_precommits(
            header,
            0,
            vec![CommitSignature {
                validator: self.inner.signing_key.public_key(),
                signature,
            }],
        );
        let mut included_pending = built.included.clone();
        included_pending.extend(built.rejected.iter().map(|(k, _)| *k));
        store.commit_block(BlockCommit {
            block: &built.block,
            certificate: &certificate,
            changes: &built.changes,
            merkle_nodes: &built.merkle_nodes,
            included_pending: &included_pending,
        })?;
        store.forget_proposals_through(header.height)?;
        let committed = Committed {
            height: header.height,
            events: built.included.len(),
        };
        *lock(&self.inner.tip) = Tip::after(header, built.log);
        let mut mempool = lock(&self.inner.mempool);
        if built.rejected.is_empty() && mempool.is_prefix(&built.included) {
            mempool.remove(&built.included);
        } else {
            mempool.remove(&included_pending);
            self.rebuild_mempool(&mut mempool)?;
        }
        self.inner.metrics.set_mempool(mempool.len());
        drop(mempool);
        self.inner
            .metrics
            .block_committed(committed.height, committed.events);
        tracing::info!(
            height = committed.height,
            events = committed.events,
            "block finalised"
        );
        Ok(Some(committed))
    }

    /// The events of a recorded proposal as candidates, keyed by their mempool entry when they
    /// have one (an event that never became durable has none: it is committed all the same).
    fn resume_candidates(
        &self,
        block: &provenance_protocol::ledger::Block,
    ) -> Result<Vec<chain::Candidate>, ServiceError> {
        let mempool = lock(&self.inner.mempool);
        block
            .body
            .events
            .iter()
            .map(|record| {
                let event =
                    record
                        .verify(self.chain_id())
                        .map_err(|e| ServiceError::ProposalInvalid {
                            height: block.header.height,
                            reason: e.to_string(),
                        })?;
                let key = mempool.key_of(&record.event_hash_id).unwrap_or(u64::MAX);
                Ok(chain::Candidate { key, event })
            })
            .collect()
    }

    fn drop_entries(&self, rejected: &[(u64, RuleViolation)]) -> Result<(), ServiceError> {
        if rejected.is_empty() {
            return Ok(());
        }
        let keys: Vec<u64> = rejected.iter().map(|(k, _)| *k).collect();
        let mut mempool = lock(&self.inner.mempool);
        mempool.remove(&keys);
        self.rebuild_mempool(&mut mempool)?;
        drop(mempool);
        self.inner.store.remove_pending(&keys)?;
        self.inner.store.flush()?;
        Ok(())
    }

    /// Re-checks every waiting event against the committed state, in order, after something
    /// other than a clean prefix left the mempool.
    fn rebuild_mempool(&self, mempool: &mut Mempool) -> Result<(), ServiceError> {
        let store = &self.inner.store;
        let height = lock(&self.inner.tip).height + 1;
        let mut dropped = Vec::new();
        for (key, event) in mempool.drain_all() {
            let ctx = self.rule_context(height);
            match rules::check_event(&Overlay::new(&**store, mempool.pending()), &event, &ctx) {
                Ok(changes) => mempool.push(key, event, changes),
                Err(e) => {
                    tracing::error!(key, error = %e, "dropping waiting event after rebuild");
                    dropped.push(key);
                }
            }
        }
        if !dropped.is_empty() {
            store.remove_pending(&dropped)?;
        }
        Ok(())
    }

    /// Node status.
    pub fn status(&self) -> Result<Status, StoreError> {
        let head = self.inner.store.head()?;
        Ok(Status {
            chain_id: self.chain_id().to_owned(),
            genesis_hash: self.inner.genesis.hash().to_string(),
            height: head.as_ref().map_or(0, |h| h.header.height),
            head_hash: head.as_ref().map(|h| hex::encode(h.header.hash())),
            log_size: head.as_ref().map_or(0, |h| h.header.log_size),
            mempool_size: lock(&self.inner.mempool).len(),
            peers: 0,
            version: env!("CARGO_PKG_VERSION"),
        })
    }

    /// An event and where it sits, plus its error declaration if one was recorded.
    pub fn event(
        &self,
        id: &EventHashId,
    ) -> Result<Option<(StoredEvent, Option<StoredEvent>)>, StoreError> {
        let store = &self.inner.store;
        match store.event(id)? {
            None => Ok(None),
            Some(event) => Ok(Some((event, store.error_declaration(id)?))),
        }
    }

    /// Block and certificate at a height.
    pub fn block(&self, height: u64) -> Result<Option<StoredBlock>, StoreError> {
        self.inner.store.block(height)
    }

    /// Block by header hash.
    pub fn block_by_hash(&self, hash: &[u8; 32]) -> Result<Option<StoredBlock>, StoreError> {
        match self.inner.store.height_of(hash)? {
            Some(height) => self.inner.store.block(height),
            None => Ok(None),
        }
    }

    /// Inclusion proof of `id` against the header at `height` (default: the head), with that
    /// header's certificate.
    pub fn inclusion_proof(
        &self,
        id: &EventHashId,
        height: Option<u64>,
    ) -> Result<Option<(InclusionProof, StoredBlock)>, QueryError> {
        let store = &self.inner.store;
        let Some(event) = store.event(id)? else {
            return Ok(None);
        };
        let height = match height {
            Some(h) => h,
            None => store.head()?.map_or(0, |h| h.header.height),
        };
        let Some(block) = store.block(height)? else {
            return Err(QueryError::NoSuchHeight { height });
        };
        let size = block.block.header.log_size;
        if event.leaf_index >= size {
            return Err(QueryError::NotYetIncluded {
                height,
                included_at: event.height,
            });
        }
        let proof = merkle::inclusion_proof(&**store, event.leaf_index, size)
            .map_err(|e| QueryError::Proof(e.to_string()))?;
        Ok(Some((proof, block)))
    }

    /// Consistency proof between two log sizes.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<ConsistencyProof, QueryError> {
        let size = self.inner.store.log_size()?;
        if old > new || new > size {
            return Err(QueryError::BadRange { old, new, size });
        }
        merkle::consistency_proof(&*self.inner.store, old, new)
            .map_err(|e| QueryError::Proof(e.to_string()))
    }
}

/// Why a query could not be answered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("there is no block at height {height}")]
    NoSuchHeight { height: u64 },
    #[error("the event was included at height {included_at}, after height {height}")]
    NotYetIncluded { height: u64, included_at: u64 },
    #[error("log sizes {old}..{new} are not a valid range for a log of size {size}")]
    BadRange { old: u64, new: u64, size: u64 },
    #[error("cannot build proof: {0}")]
    Proof(String),
}

fn failed(accepted: Vec<EventHashId>, index: usize, error: SubmitError) -> SubmitOutcome {
    SubmitOutcome {
        accepted,
        failure: Some((index, error)),
    }
}
