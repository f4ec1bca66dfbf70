//! The node's core service: admission of signed events (with durable acknowledgement), blocks
//! ([`blocks`]: building this validator's proposal, re-executing a proposed block, committing a
//! finalised one), and the queries the API serves ([`bundle`]: provenance bundles assembled
//! from the store). The HTTP layer and the consensus engine are thin drivers of these methods;
//! tests drive them directly.

mod blocks;
mod bundle;

pub use blocks::{BlockError, CommitOutcome};
pub use bundle::{BundleError, StoreSource};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use provenance_protocol::crypto::SigningKey;
use provenance_protocol::event_hash::EventHashId;
use provenance_protocol::genesis::Genesis;
use provenance_protocol::governance::{GovernanceError, GovernanceTx};
use provenance_protocol::ledger::ValidatorSet;
use provenance_protocol::merkle::{self, ConsistencyProof, InclusionProof, MerkleLog};
use provenance_protocol::record::{RecordError, SignedEvent, VerifiedEvent};
use provenance_protocol::rules::{self, LedgerView, Overlay, RuleContext, RuleViolation};
use tokio::sync::{Notify, watch};

use crate::chain::{self, Tip};
use crate::mempool::{AdmissionError, Mempool, MempoolLimits};
use crate::store::{ChainHead, LedgerStore, StoreError, StoredBlock, StoredEvent};

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
    #[error("Merkle log in the store is unreadable: {0}")]
    Merkle(String),
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
    /// Whether this node votes in consensus at the next height.
    pub validator: bool,
    /// The consensus round at the next height (validators only).
    pub round: Option<u32>,
    /// Highest finalised height a peer reported (when above ours, the node is catching up).
    pub sync_target: u64,
    /// Equivocations (conflicting signed messages of a validator) this node detected.
    pub equivocations: u64,
    pub version: &'static str,
}

/// What the network and consensus engine report about themselves.
#[derive(Debug, Clone, Default)]
pub struct NetworkStatus {
    pub peers: usize,
    pub validator: bool,
    pub round: Option<u32>,
    pub sync_target: u64,
    pub equivocations: u64,
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
    /// The organisation's key; a validator also votes with it.
    signing_key: Option<SigningKey>,
    mempool: Mutex<Mempool>,
    tip: Mutex<Tip>,
    /// Serialises block commits (consensus decisions and sync may both commit).
    commit_lock: Mutex<()>,
    /// Blocks already re-executed, by header hash, valid while the tip is unchanged.
    executed: Mutex<Vec<([u8; 32], std::sync::Arc<chain::BuiltBlock>)>>,
    /// Events accepted from clients (not from gossip), waiting to be gossiped by the engine.
    outbox: Mutex<Vec<SignedEvent>>,
    /// Governance transactions accepted from clients, waiting for the engine.
    governance_outbox: Mutex<Vec<GovernanceTx>>,
    /// Wakes the engine: events arrived (to gossip, and to start a height).
    work: Notify,
    /// What the network and consensus report for `/v1/status`.
    network_status: Mutex<NetworkStatus>,
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
    /// Opens the service over a store: rebuilds the tip from the store's head and Merkle log,
    /// and re-admits the durable mempool. `signing_key` is the organisation's key, if this node
    /// holds it (a validator needs it to vote).
    pub fn new(
        store: Arc<dyn LedgerStore>,
        genesis: Genesis,
        signing_key: Option<SigningKey>,
        limits: MempoolLimits,
        metrics: crate::metrics::Metrics,
    ) -> Result<Self, ServiceError> {
        genesis.validate()?;
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
                signing_key,
                mempool: Mutex::new(Mempool::new(limits)),
                tip: Mutex::new(tip),
                commit_lock: Mutex::new(()),
                executed: Mutex::new(Vec::new()),
                outbox: Mutex::new(Vec::new()),
                governance_outbox: Mutex::new(Vec::new()),
                work: Notify::new(),
                network_status: Mutex::new(NetworkStatus::default()),
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

    /// The organisation key this node holds, if any.
    pub fn signing_key(&self) -> Option<&SigningKey> {
        self.inner.signing_key.as_ref()
    }

    /// The tip: newest finalised block (or genesis) and the log after it.
    pub fn tip(&self) -> Tip {
        lock(&self.inner.tip).clone()
    }

    /// The validator set that certifies the block at `height`, per the committed state (the
    /// state knows sets up to the tip's height plus the governance delay).
    pub fn validator_set_at(&self, height: u64) -> Option<ValidatorSet> {
        self.inner.store.validator_set_at(height)
    }

    /// Number of events waiting for a block.
    pub fn mempool_len(&self) -> usize {
        lock(&self.inner.mempool).len()
    }

    /// Whether the event with this ID waits in the mempool.
    pub fn is_waiting(&self, id: &EventHashId) -> bool {
        lock(&self.inner.mempool).key_of(id).is_some()
    }

    /// Takes the events accepted from clients since the last call (for the engine to gossip).
    pub fn take_outbox(&self) -> Vec<SignedEvent> {
        std::mem::take(&mut *lock(&self.inner.outbox))
    }

    /// Takes the governance transactions accepted from clients since the last call.
    pub fn take_governance_outbox(&self) -> Vec<GovernanceTx> {
        std::mem::take(&mut *lock(&self.inner.governance_outbox))
    }

    /// Accepts a governance transaction from a client: it must pass the governance rule
    /// against the committed state at the next height (approvals from more than two thirds of
    /// the voting power, fresh nonce, not expired, a valid change). It is then gossiped to the
    /// validators and included by the next proposer; it takes effect
    /// `validator_change_delay` heights after the block that includes it. Returns its id.
    pub fn submit_governance(&self, tx: GovernanceTx) -> Result<[u8; 32], GovernanceError> {
        self.check_governance(&tx)?;
        let id = tx.id();
        lock(&self.inner.governance_outbox).push(tx);
        self.inner.work.notify_one();
        Ok(id)
    }

    /// Checks a governance transaction against the committed state at the next height.
    pub fn check_governance(&self, tx: &GovernanceTx) -> Result<(), GovernanceError> {
        let height = lock(&self.inner.tip).height + 1;
        let pending = provenance_protocol::rules::PendingChanges::default();
        rules::check_governance(
            &Overlay::new(&*self.inner.store, &pending),
            tx,
            self.chain_id(),
            &self.rule_context(height),
            &self.inner.genesis.params,
        )
        .map(|_| ())
    }

    /// Resolves when events were accepted (or the engine is otherwise asked to look for work).
    pub async fn work_available(&self) {
        self.inner.work.notified().await;
    }

    /// Publishes what the network and consensus engine see, for `/v1/status`.
    pub fn set_network_status(&self, status: NetworkStatus) {
        self.inner.metrics.set_peers(status.peers);
        *lock(&self.inner.network_status) = status;
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

    /// Submits signed events from a client, in order. Each accepted event is durable (flushed)
    /// before this returns; processing stops at the first failure, keeping what was accepted
    /// before it. Accepted events are handed to the engine to gossip to the other nodes.
    pub async fn submit(&self, records: Vec<SignedEvent>) -> SubmitOutcome {
        let outcome = self.admit(records.clone()).await;
        if !outcome.accepted.is_empty() {
            let accepted: std::collections::BTreeSet<EventHashId> =
                outcome.accepted.iter().copied().collect();
            lock(&self.inner.outbox).extend(
                records
                    .into_iter()
                    .filter(|r| accepted.contains(&r.event_hash_id)),
            );
            self.inner.work.notify_one();
        }
        outcome
    }

    /// Admits signed events received from a peer: like [`NodeService::submit`], but they are
    /// not gossiped again by this node (gossipsub forwards them once they are validated).
    pub async fn admit_from_peer(&self, records: Vec<SignedEvent>) -> SubmitOutcome {
        let outcome = self.admit(records).await;
        if !outcome.accepted.is_empty() {
            self.inner.work.notify_one();
        }
        outcome
    }

    async fn admit(&self, records: Vec<SignedEvent>) -> SubmitOutcome {
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
        // An identical copy of an event already waiting or final is answered as before
        // without verifying it again: resubmissions and re-gossip cost a lookup, not a
        // signature check (what is stored was verified when it was admitted).
        let known: Vec<bool> = {
            let mempool = lock(&self.inner.mempool);
            records
                .iter()
                .map(|r| {
                    mempool
                        .get(&r.event_hash_id)
                        .is_some_and(|waiting| waiting.record == *r)
                })
                .collect()
        };
        let known: Vec<bool> = records
            .iter()
            .zip(known)
            .map(|(r, waiting)| {
                waiting
                    || store
                        .event(&r.event_hash_id)
                        .ok()
                        .flatten()
                        .is_some_and(|stored| stored.record == *r)
            })
            .collect();
        let mut verified = Vec::with_capacity(records.len());
        for (index, record) in records.iter().enumerate() {
            if known[index] {
                verified.push(None);
                continue;
            }
            match record.verify(&chain_id) {
                Ok(v) => verified.push(Some(v)),
                Err(e) => return failed(accepted, index, e.into()),
            }
        }
        let mut mempool = lock(&self.inner.mempool);
        let height = lock(&self.inner.tip).height + 1;
        for (index, event) in verified.into_iter().enumerate() {
            let Some(event) = event else {
                accepted.push(records[index].event_hash_id);
                continue;
            };
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
        let net = lock(&self.inner.network_status).clone();
        Ok(Status {
            chain_id: self.chain_id().to_owned(),
            genesis_hash: self.inner.genesis.hash().to_string(),
            height: head.as_ref().map_or(0, |h| h.header.height),
            head_hash: head.as_ref().map(|h| hex::encode(h.header.hash())),
            log_size: head.as_ref().map_or(0, |h| h.header.log_size),
            mempool_size: lock(&self.inner.mempool).len(),
            peers: net.peers,
            validator: net.validator,
            round: net.round,
            sync_target: net.sync_target,
            equivocations: net.equivocations,
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
