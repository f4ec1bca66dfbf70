//! Durable ledger storage behind one trait, [`LedgerStore`], implemented on sled
//! ([`SledStore`]).
//!
//! The store holds finalised blocks with their certificates, every event by Event Hash ID, the
//! indexes consumers query (identifier, product class, lot, aggregation and transformation
//! links), the application state the rules read, the Merkle log's completed nodes, the durable
//! mempool ("pending" events acknowledged but not yet in a block), and the validator's record of
//! what it signed. A block's writes are one transaction: after a crash the store is at the
//! previous block or the next, never between.

mod sled_store;

pub use sled_store::SledStore;

use provenance_protocol::event_hash::EventHashId;
use provenance_protocol::ledger::{Block, BlockBody, BlockHeader, FinalityCertificate};
use provenance_protocol::merkle::{CompletedNode, NodeStore};
use provenance_protocol::record::SignedEvent;
use provenance_protocol::rules::{EpcKey, LedgerView, ParticipantRecord, StateChange};

/// The on-disk schema this build reads and writes. A store with another version is refused.
pub const SCHEMA_VERSION: u32 = 2;

/// Why a storage operation failed. Each variant says what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("storage I/O error in {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: sled::Error,
    },
    #[error(
        "data directory {path} is locked by another process (is another provenance-node running with this data dir?)"
    )]
    Locked { path: String },
    #[error(
        "data directory {path} has schema version {found}; this build reads version {SCHEMA_VERSION}. Use a matching release or a fresh data directory"
    )]
    SchemaVersion { path: String, found: u32 },
    #[error(
        "data directory {path} belongs to chain {found:?} (genesis {found_hash}), not {expected:?}"
    )]
    WrongChain {
        path: String,
        expected: String,
        found: String,
        found_hash: String,
    },
    #[error("store is corrupt: {what}")]
    Corrupt { what: String },
}

/// A finalised block as stored: the block and its certificate.
#[derive(Debug, Clone)]
pub struct StoredBlock {
    pub block: Block,
    pub certificate: FinalityCertificate,
}

/// An event in the ledger and where it sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub record: SignedEvent,
    /// Height of the block that included it.
    pub height: u64,
    /// Its leaf index in the global Merkle log.
    pub leaf_index: u64,
}

/// Everything one block commit writes, applied atomically.
#[derive(Debug, Clone)]
pub struct BlockCommit<'a> {
    pub block: &'a Block,
    pub certificate: &'a FinalityCertificate,
    /// State changes of the block's events, in order (from `rules::check_event`). Each event's
    /// changes end with its `StateChange::Sequence`, which marks the boundary between events:
    /// the i-th run of changes belongs to `block.body.events[i]`.
    pub changes: &'a [StateChange],
    /// Merkle nodes completed by appending the block's events to the log.
    pub merkle_nodes: &'a [CompletedNode],
    /// Pending (mempool) entries that this block included, removed in the same transaction.
    pub included_pending: &'a [u64],
}

/// The head of the chain: the newest finalised header and its certificate.
#[derive(Debug, Clone)]
pub struct ChainHead {
    pub header: BlockHeader,
    pub certificate: FinalityCertificate,
}

/// Durable ledger storage. All methods are synchronous and may block on disk; async callers run
/// them on a blocking thread.
///
/// The store is also the committed [`LedgerView`] the rules read, and the Merkle [`NodeStore`]
/// proofs are generated from.
pub trait LedgerStore:
    LedgerView + NodeStore<Error = StoreError> + std::fmt::Debug + Send + Sync + 'static
{
    /// The newest finalised block's header and certificate; `None` before the first block.
    fn head(&self) -> Result<Option<ChainHead>, StoreError>;
    /// Block and certificate at `height` (1-based).
    fn block(&self, height: u64) -> Result<Option<StoredBlock>, StoreError>;
    /// Header at `height`.
    fn header(&self, height: u64) -> Result<Option<BlockHeader>, StoreError>;
    /// Height of the block whose header hash is `hash`.
    fn height_of(&self, header_hash: &[u8; 32]) -> Result<Option<u64>, StoreError>;
    /// Writes a finalised block and everything it changes, atomically and durably (flushed
    /// before returning). Refuses a block that does not extend the head.
    fn commit_block(&self, commit: BlockCommit<'_>) -> Result<(), StoreError>;

    /// An event by its Event Hash ID (error declarations are stored beside, see
    /// [`LedgerStore::error_declaration`]).
    fn event(&self, id: &EventHashId) -> Result<Option<StoredEvent>, StoreError>;
    /// The error declaration recorded for event `id`, if any.
    fn error_declaration(&self, id: &EventHashId) -> Result<Option<StoredEvent>, StoreError>;
    /// Events naming identifier `epc` (any role: epcList, parent, child, input, output), in ledger
    /// order, at most `limit`.
    fn events_for_epc(&self, epc: &EpcKey, limit: usize) -> Result<Vec<EventHashId>, StoreError>;
    /// Events naming any instance or class of product `gtin14`, in ledger order, at most `limit`.
    fn events_for_gtin(&self, gtin14: &str, limit: usize) -> Result<Vec<EventHashId>, StoreError>;
    /// Events naming lot `lot` of product `gtin14`, in ledger order, at most `limit`.
    fn events_for_lot(
        &self,
        gtin14: &str,
        lot: &str,
        limit: usize,
    ) -> Result<Vec<EventHashId>, StoreError>;
    /// Inputs a transformation consumed to make `output` (trace back).
    fn transformed_from(&self, output: &EpcKey) -> Result<Vec<EpcKey>, StoreError>;
    /// Outputs made from `input` (trace forward).
    fn transformed_into(&self, input: &EpcKey) -> Result<Vec<EpcKey>, StoreError>;
    /// Every container `epc` was ever aggregated into, with the leaf-index range of its stay
    /// (`to` = `None` while still inside).
    fn aggregation_history(&self, epc: &EpcKey) -> Result<Vec<AggregationStay>, StoreError>;
    /// Registered participants.
    fn participants(&self) -> Result<Vec<ParticipantRecord>, StoreError>;
    /// Number of events in the ledger (the Merkle log size).
    fn log_size(&self) -> Result<u64, StoreError>;
    /// Event Hash ID at Merkle leaf `index`.
    fn event_at(&self, leaf_index: u64) -> Result<Option<EventHashId>, StoreError>;
    /// The certificate that finalised the block at `height`, without rebuilding its body.
    fn certificate(&self, height: u64) -> Result<Option<FinalityCertificate>, StoreError>;
    /// The bodies, without their events, of every block at or below `height` that carries
    /// anything besides events (governance transactions, evidence, the next validator set), in
    /// increasing height. What a light client needs (hand-offs, governance) without reading
    /// every block.
    fn body_extras_through(&self, height: u64) -> Result<Vec<(u64, BlockBody)>, StoreError>;

    /// Appends acknowledged-but-unblocked events to the durable mempool under increasing keys,
    /// returning the keys. Not flushed: call [`LedgerStore::flush`] (group commit).
    fn put_pending(&self, records: &[SignedEvent]) -> Result<Vec<u64>, StoreError>;
    /// All pending events in admission order.
    fn pending(&self) -> Result<Vec<(u64, SignedEvent)>, StoreError>;
    /// Removes pending entries (e.g. invalidated at restart).
    fn remove_pending(&self, keys: &[u64]) -> Result<(), StoreError>;
    /// Makes every earlier write durable (fsync).
    fn flush(&self) -> Result<(), StoreError>;

    /// Stores, durably (flushed before returning), this validator's consensus signing state:
    /// what it signed last and its lock. The consensus core must not sign anything it has not
    /// first recorded here, so after a crash it can never sign a conflicting message. Opaque
    /// bytes to the store (the consensus module owns the format).
    fn record_signed_state(&self, state: &[u8]) -> Result<(), StoreError>;
    /// The last state given to [`LedgerStore::record_signed_state`].
    fn signed_state(&self) -> Result<Option<Vec<u8>>, StoreError>;

    /// Keeps a block this validator proposes, before it signs the proposal (made durable by the
    /// [`LedgerStore::record_signed_state`] that precedes the signature), so that after a crash
    /// it can still serve and commit the block its recorded proposal names.
    fn record_proposal(&self, block: &Block) -> Result<(), StoreError>;
    /// A recorded proposal by height and header hash.
    fn proposal(&self, height: u64, header_hash: &[u8; 32]) -> Result<Option<Block>, StoreError>;
    /// Drops recorded proposals up to and including `height` (they are decided).
    fn forget_proposals_through(&self, height: u64) -> Result<(), StoreError>;
}

/// One stay of an identifier inside a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregationStay {
    pub parent: EpcKey,
    /// Leaf index of the event that put it in.
    pub from_leaf: u64,
    /// Leaf index of the event that took it out (`None`: still inside).
    pub to_leaf: Option<u64>,
}
