//! [`SledStore`]: the [`LedgerStore`] on sled.
//!
//! One sled database holds one tree per kind of record (names and byte layout in
//! [`keys`]). A block commit is one multi-tree sled transaction followed by a flush, so after a
//! crash the store is at the previous block or the next. Reads go straight to the trees.
//!
//! Submodules: [`keys`] (layout), [`index`] (what an event is indexed under), [`commit`] (the
//! block transaction), [`verify`] (start-up integrity check).

mod commit;
mod index;
mod keys;
mod registry;
mod verify;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use sled::Transactional;

use provenance_protocol::codec::{Canonical, MAX_CANONICAL_BYTES};
use provenance_protocol::crypto::PublicKey;
use provenance_protocol::event_hash::EventHashId;
use provenance_protocol::evidence::Offence;
use provenance_protocol::genesis::Genesis;
use provenance_protocol::ledger::ValidatorSet;
use provenance_protocol::ledger::{Block, BlockBody, BlockHeader, FinalityCertificate};
use provenance_protocol::merkle::{MerkleHash, NodeStore, node_key};
use provenance_protocol::record::{MAX_SIGNED_EVENT_BYTES, SignedEvent};
use provenance_protocol::rules::{
    EpcKey, EpcState, KeyRecord, LedgerView, ParticipantEntry, ParticipantRecord,
};

use super::{
    AggregationStay, BlockCommit, ChainHead, LedgerStore, SCHEMA_VERSION, StoreError, StoredBlock,
    StoredEvent,
};
use keys::{LeafKind, corrupt, meta, tree};

/// The sled trees of one store, opened once.
#[derive(Debug, Clone)]
struct Trees {
    meta: sled::Tree,
    headers: sled::Tree,
    certificates: sled::Tree,
    header_heights: sled::Tree,
    events: sled::Tree,
    error_declarations: sled::Tree,
    leaves: sled::Tree,
    index_epc: sled::Tree,
    index_gtin: sled::Tree,
    index_lot: sled::Tree,
    transformed_from: sled::Tree,
    transformed_into: sled::Tree,
    aggregation: sled::Tree,
    participants: sled::Tree,
    participant_keys: sled::Tree,
    prefixes: sled::Tree,
    body_extras: sled::Tree,
    validator_sets: sled::Tree,
    governance_nonces: sled::Tree,
    offences: sled::Tree,
    sequences: sled::Tree,
    epc_states: sled::Tree,
    children: sled::Tree,
    merkle_nodes: sled::Tree,
    pending: sled::Tree,
    consensus_state: sled::Tree,
    proposals: sled::Tree,
}

impl Trees {
    fn open(db: &sled::Db) -> sled::Result<Self> {
        Ok(Trees {
            meta: db.open_tree(tree::META)?,
            headers: db.open_tree(tree::HEADERS)?,
            certificates: db.open_tree(tree::CERTIFICATES)?,
            header_heights: db.open_tree(tree::HEADER_HEIGHTS)?,
            events: db.open_tree(tree::EVENTS)?,
            error_declarations: db.open_tree(tree::ERROR_DECLARATIONS)?,
            leaves: db.open_tree(tree::LEAVES)?,
            index_epc: db.open_tree(tree::INDEX_EPC)?,
            index_gtin: db.open_tree(tree::INDEX_GTIN)?,
            index_lot: db.open_tree(tree::INDEX_LOT)?,
            transformed_from: db.open_tree(tree::TRANSFORMED_FROM)?,
            transformed_into: db.open_tree(tree::TRANSFORMED_INTO)?,
            aggregation: db.open_tree(tree::AGGREGATION)?,
            participants: db.open_tree(tree::PARTICIPANTS)?,
            participant_keys: db.open_tree(tree::PARTICIPANT_KEYS)?,
            prefixes: db.open_tree(tree::PREFIXES)?,
            body_extras: db.open_tree(tree::BODY_EXTRAS)?,
            validator_sets: db.open_tree(tree::VALIDATOR_SETS)?,
            governance_nonces: db.open_tree(tree::GOVERNANCE_NONCES)?,
            offences: db.open_tree(tree::OFFENCES)?,
            sequences: db.open_tree(tree::SEQUENCES)?,
            epc_states: db.open_tree(tree::EPC_STATES)?,
            children: db.open_tree(tree::CHILDREN)?,
            merkle_nodes: db.open_tree(tree::MERKLE_NODES)?,
            pending: db.open_tree(tree::PENDING)?,
            consensus_state: db.open_tree(tree::CONSENSUS_STATE)?,
            proposals: db.open_tree(tree::PROPOSALS)?,
        })
    }
}

/// How often [`SledStore::open`] retries a locked directory before reporting it locked.
const LOCK_RETRIES: u32 = 40;
/// Pause between those attempts (40 × 50 ms = 2 s at most).
const LOCK_RETRY_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

/// The sled-backed ledger store.
///
/// # Reads through [`LedgerView`] cannot fail, sled reads can
///
/// The rules read committed state through [`LedgerView`], whose methods return plain values.
/// A sled read fails only on I/O errors or damaged data; answering "absent" in that case would
/// let the rules accept an event on a wrong reading. So the first such failure is recorded
/// ("poisons" the store), the view answers as if the value were absent, and from then on
/// [`LedgerStore::commit_block`] and [`LedgerStore::head`] return that error: nothing decided
/// on a bad read is ever committed, and the node stops instead of continuing on a broken disk.
/// [`SledStore::read_fault`] exposes the recorded error.
///
/// # Concurrency
///
/// Every method takes `&self`; commits are serialised by an internal lock. Each point read is
/// atomic with respect to a commit, but a reader issuing several reads may see some from before
/// and some from after a concurrent commit.
pub struct SledStore {
    db: sled::Db,
    trees: Trees,
    /// Shown in errors: the data directory, or `<temporary>`.
    path: String,
    /// The next admission key of the durable mempool.
    next_pending: Mutex<u64>,
    /// Held for a whole commit so the head cannot move between the checks and the transaction.
    commit_lock: Mutex<()>,
    /// The first failed read behind a [`LedgerView`] or [`NodeStore`] answer (see the type docs).
    read_fault: Mutex<Option<StoreError>>,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Locks a mutex; a panic elsewhere while holding it leaves only plain data behind, still valid.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// sled reports a data directory locked by another process as an I/O error whose message says
/// "could not acquire lock" (or, on some platforms, a `WouldBlock` error).
fn is_lock_error(error: &sled::Error) -> bool {
    matches!(error, sled::Error::Io(io)
        if io.kind() == std::io::ErrorKind::WouldBlock
            || io.to_string().contains("could not acquire lock"))
}

/// A copy of a recorded read fault (`StoreError` is not `Clone`; faults are I/O or corruption).
fn duplicate(error: &StoreError) -> StoreError {
    match error {
        StoreError::Io { path, source } => StoreError::Io {
            path: path.clone(),
            source: source.clone(),
        },
        StoreError::Corrupt { what } => corrupt(what.clone()),
        other => corrupt(other.to_string()),
    }
}

impl SledStore {
    /// Opens (or creates) the store in directory `path` for the network of `genesis`.
    ///
    /// A new store records the schema version, the chain id and the genesis hash, and registers
    /// the genesis participants. An existing store must have this build's schema version
    /// ([`StoreError::SchemaVersion`]) and belong to this genesis ([`StoreError::WrongChain`]).
    /// A directory another process has open is [`StoreError::Locked`].
    pub fn open(path: &Path, genesis: &Genesis) -> Result<SledStore, StoreError> {
        let shown = path.display().to_string();
        // sled releases its file lock only when its background flusher thread has let go of the
        // database, a moment after the last handle is dropped; a reopen in the same process (a
        // restart in tests, a quick `stop` + `start`) may see the lock briefly. Retry for a short,
        // bounded time; a lock held by another live process still fails with `Locked`.
        let mut attempts = 0;
        let db = loop {
            match sled::Config::new().path(path).open() {
                Ok(db) => break db,
                Err(source) if is_lock_error(&source) => {
                    attempts += 1;
                    if attempts >= LOCK_RETRIES {
                        return Err(StoreError::Locked { path: shown });
                    }
                    std::thread::sleep(LOCK_RETRY_INTERVAL);
                }
                Err(source) => {
                    return Err(StoreError::Io {
                        path: shown,
                        source,
                    });
                }
            }
        };
        Self::init(db, shown, genesis)
    }

    /// A store in a temporary directory, deleted when dropped. For tests.
    pub fn open_temporary(genesis: &Genesis) -> Result<SledStore, StoreError> {
        let path = "<temporary>".to_owned();
        let db = sled::Config::new()
            .temporary(true)
            .open()
            .map_err(|source| StoreError::Io {
                path: path.clone(),
                source,
            })?;
        Self::init(db, path, genesis)
    }

    fn init(db: sled::Db, path: String, genesis: &Genesis) -> Result<SledStore, StoreError> {
        let trees = Trees::open(&db).map_err(|source| StoreError::Io {
            path: path.clone(),
            source,
        })?;
        let store = SledStore {
            db,
            trees,
            path,
            next_pending: Mutex::new(0),
            commit_lock: Mutex::new(()),
            read_fault: Mutex::new(None),
        };
        match store.read(&store.trees.meta, meta::SCHEMA_VERSION)? {
            Some(found) => {
                let found = keys::decode_u32(&found, "stored schema version")?;
                if found != SCHEMA_VERSION {
                    return Err(StoreError::SchemaVersion {
                        path: store.path.clone(),
                        found,
                    });
                }
                store.check_chain(genesis)?;
            }
            None if store.trees.meta.is_empty() => store.initialise(genesis)?,
            None => {
                return Err(corrupt(
                    "the meta tree has entries but no schema version; the data directory was not written by provenance-node",
                ));
            }
        }
        let next = match store.trees.pending.last().map_err(|e| store.io(e))? {
            Some((key, _)) => keys::decode_u64(&key, "pending key")?
                .checked_add(1)
                .ok_or_else(|| corrupt("pending keys are exhausted (u64::MAX reached)"))?,
            None => 0,
        };
        *lock(&store.next_pending) = next;
        Ok(store)
    }

    /// Writes the identity of a new store and the genesis registry (participants, keys,
    /// prefixes, the genesis validator set: `rules::genesis_changes`, exactly what the
    /// in-memory state starts from), in one transaction.
    fn initialise(&self, genesis: &Genesis) -> Result<(), StoreError> {
        let changes = provenance_protocol::rules::genesis_changes(genesis);
        let genesis_hash = genesis.hash().0;
        let t = &self.trees;
        let set = [
            &t.meta,
            &t.participants,
            &t.participant_keys,
            &t.prefixes,
            &t.validator_sets,
            &t.governance_nonces,
            &t.offences,
        ];
        let result: sled::transaction::TransactionResult<(), StoreError> =
            set[..].transaction(|view: &Vec<sled::transaction::TransactionalTree>| {
                let [
                    meta_tx,
                    participants,
                    participant_keys,
                    prefixes,
                    validator_sets,
                    governance_nonces,
                    offences,
                ] = view.as_slice()
                else {
                    return Err(sled::transaction::ConflictableTransactionError::Abort(
                        corrupt("sled opened a different number of trees than asked"),
                    ));
                };
                meta_tx.insert(meta::SCHEMA_VERSION, &SCHEMA_VERSION.to_be_bytes())?;
                meta_tx.insert(meta::CHAIN_ID, genesis.chain_id.as_bytes())?;
                meta_tx.insert(meta::GENESIS_HASH, &genesis_hash)?;
                meta_tx.insert(meta::HEAD_HEIGHT, &keys::u64_be(0))?;
                meta_tx.insert(meta::LOG_SIZE, &keys::u64_be(0))?;
                let registry = registry::RegistryTx {
                    participants,
                    participant_keys,
                    prefixes,
                    validator_sets,
                    governance_nonces,
                    offences,
                };
                for change in &changes {
                    registry::apply(&registry, change)?;
                }
                Ok(())
            });
        self.transaction_result(result)?;
        self.flush()
    }

    /// Refuses a store created for another network.
    fn check_chain(&self, genesis: &Genesis) -> Result<(), StoreError> {
        let chain = self.read(&self.trees.meta, meta::CHAIN_ID)?;
        let hash = self.read(&self.trees.meta, meta::GENESIS_HASH)?;
        let (Some(chain), Some(hash)) = (chain, hash) else {
            return Err(corrupt(
                "the meta tree lacks the chain id or genesis hash it was created with",
            ));
        };
        let found = String::from_utf8_lossy(&chain).into_owned();
        let found_hash = keys::decode_hash(&hash, "stored genesis hash")?;
        if found != genesis.chain_id || found_hash != genesis.hash().0 {
            return Err(StoreError::WrongChain {
                path: self.path.clone(),
                expected: genesis.chain_id.clone(),
                found,
                found_hash: hex::encode(found_hash),
            });
        }
        Ok(())
    }

    /// The first read error recorded behind a [`LedgerView`] or [`NodeStore`] answer, if any.
    /// Once set, commits and [`LedgerStore::head`] fail with it.
    pub fn read_fault(&self) -> Option<StoreError> {
        lock(&self.read_fault).as_ref().map(duplicate)
    }

    fn check_fault(&self) -> Result<(), StoreError> {
        self.read_fault().map_or(Ok(()), Err)
    }

    /// Unwraps a read behind an infallible answer, recording the first failure.
    fn record_fault<T>(&self, result: Result<Option<T>, StoreError>) -> Option<T> {
        match result {
            Ok(value) => value,
            Err(error) => {
                lock(&self.read_fault).get_or_insert(error);
                None
            }
        }
    }

    fn io(&self, source: sled::Error) -> StoreError {
        StoreError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn transaction_result<T>(
        &self,
        result: sled::transaction::TransactionResult<T, StoreError>,
    ) -> Result<T, StoreError> {
        result.map_err(|e| match e {
            sled::transaction::TransactionError::Abort(error) => error,
            sled::transaction::TransactionError::Storage(source) => self.io(source),
        })
    }

    fn read(&self, tree: &sled::Tree, key: &[u8]) -> Result<Option<sled::IVec>, StoreError> {
        tree.get(key).map_err(|e| self.io(e))
    }

    fn meta_u64(&self, key: &[u8], what: &str) -> Result<u64, StoreError> {
        match self.read(&self.trees.meta, key)? {
            Some(bytes) => keys::decode_u64(&bytes, what),
            None => Err(corrupt(format!("the meta tree lacks the {what}"))),
        }
    }

    fn head_height(&self) -> Result<u64, StoreError> {
        self.meta_u64(meta::HEAD_HEIGHT, "head height")
    }

    fn genesis_hash(&self) -> Result<[u8; 32], StoreError> {
        match self.read(&self.trees.meta, meta::GENESIS_HASH)? {
            Some(bytes) => keys::decode_hash(&bytes, "stored genesis hash"),
            None => Err(corrupt("the meta tree lacks the genesis hash")),
        }
    }

    fn certificate(&self, height: u64) -> Result<Option<FinalityCertificate>, StoreError> {
        self.read(&self.trees.certificates, &keys::u64_be(height))?
            .map(|bytes| {
                FinalityCertificate::from_canonical_bytes(&bytes, MAX_CANONICAL_BYTES).map_err(
                    |e| {
                        corrupt(format!(
                            "certificate of block {height} does not decode: {e}"
                        ))
                    },
                )
            })
            .transpose()
    }

    /// Decodes an `events` / `error_declarations` value of `id`.
    fn decode_event(value: &[u8], id: &EventHashId) -> Result<StoredEvent, StoreError> {
        let (leaf_index, height, bytes) = keys::split_event_value(value)?;
        let record = SignedEvent::from_canonical_bytes(bytes, MAX_SIGNED_EVENT_BYTES)
            .map_err(|e| corrupt(format!("stored event {id} does not decode: {e}")))?;
        Ok(StoredEvent {
            record,
            height,
            leaf_index,
        })
    }

    fn stored_event(
        &self,
        tree: &sled::Tree,
        id: &EventHashId,
    ) -> Result<Option<StoredEvent>, StoreError> {
        self.read(tree, id.as_bytes())?
            .map(|value| Self::decode_event(&value, id))
            .transpose()
    }

    /// The record at Merkle leaf `leaf` (the original event or the error declaration), with
    /// where it sits.
    fn record_at(&self, leaf: u64) -> Result<StoredEvent, StoreError> {
        let value = self
            .read(&self.trees.leaves, &keys::u64_be(leaf))?
            .ok_or_else(|| corrupt(format!("Merkle leaf {leaf} has no event")))?;
        let (id, kind) = keys::decode_leaf(&value, leaf)?;
        let tree = match kind {
            LeafKind::Event => &self.trees.events,
            LeafKind::ErrorDeclaration => &self.trees.error_declarations,
        };
        let stored = self.stored_event(tree, &id)?.ok_or_else(|| {
            corrupt(format!(
                "Merkle leaf {leaf} names event {id}, which is missing"
            ))
        })?;
        if stored.leaf_index != leaf {
            return Err(corrupt(format!(
                "Merkle leaf {leaf} names event {id}, which is recorded at leaf {}",
                stored.leaf_index
            )));
        }
        Ok(stored)
    }

    /// Up to `limit` Event Hash IDs stored as values under `prefix`, in key order.
    fn ids_under(
        &self,
        tree: &sled::Tree,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<EventHashId>, StoreError> {
        tree.scan_prefix(prefix)
            .take(limit)
            .map(|entry| {
                let (_, value) = entry.map_err(|e| self.io(e))?;
                keys::decode_hash(&value, "Event Hash ID in an index").map(EventHashId::from_bytes)
            })
            .collect()
    }

    /// The second halves of the [`keys::pair_key`]s under `first`.
    fn pairs_under(&self, tree: &sled::Tree, first: &str) -> Result<Vec<EpcKey>, StoreError> {
        let prefix = keys::text_prefix(first);
        tree.scan_prefix(&prefix)
            .map(|entry| {
                let (key, _) = entry.map_err(|e| self.io(e))?;
                keys::pair_second(&key, &prefix)
            })
            .collect()
    }

    fn try_participant(&self, name: &str) -> Result<Option<ParticipantEntry>, StoreError> {
        self.read(&self.trees.participants, name.as_bytes())?
            .map(|json| keys::from_json(&json, &format!("participant {name:?}")))
            .transpose()
    }

    fn try_key_record(&self, key: &PublicKey) -> Result<Option<KeyRecord>, StoreError> {
        self.read(&self.trees.participant_keys, key.as_bytes())?
            .map(|json| keys::from_json(&json, &format!("key record of {key}")))
            .transpose()
    }

    /// Same search as `MemoryState`: registered prefixes are 6 to 12 digits; the shortest
    /// registered prefix that starts `digits` wins.
    fn try_prefix_owner_name(&self, digits: &str) -> Result<Option<String>, StoreError> {
        for len in 6..=12.min(digits.len()) {
            let Some(candidate) = digits.get(..len) else {
                continue;
            };
            if let Some(name) = self.read(&self.trees.prefixes, candidate.as_bytes())? {
                return Ok(Some(String::from_utf8_lossy(&name).into_owned()));
            }
        }
        Ok(None)
    }

    /// A registered prefix overlapping `prefix` (a shorter or equal one it starts with, or a
    /// longer one starting with it), with its owner.
    fn try_overlapping_prefix(&self, prefix: &str) -> Result<Option<(String, String)>, StoreError> {
        if let Some(owner) = self.try_prefix_owner_name(prefix)? {
            for len in 6..=12.min(prefix.len()) {
                let Some(candidate) = prefix.get(..len) else {
                    continue;
                };
                if self
                    .read(&self.trees.prefixes, candidate.as_bytes())?
                    .is_some()
                {
                    return Ok(Some((candidate.to_owned(), owner)));
                }
            }
        }
        match self.trees.prefixes.scan_prefix(prefix.as_bytes()).next() {
            Some(entry) => {
                let (key, name) = entry.map_err(|e| self.io(e))?;
                Ok(Some((
                    String::from_utf8_lossy(&key).into_owned(),
                    String::from_utf8_lossy(&name).into_owned(),
                )))
            }
            None => Ok(None),
        }
    }

    fn try_scheduled_validator_set(
        &self,
        height: u64,
    ) -> Result<Option<(u64, ValidatorSet)>, StoreError> {
        let Some(entry) = self
            .trees
            .validator_sets
            .range(..=keys::u64_be(height))
            .next_back()
        else {
            return Ok(None);
        };
        let (key, json) = entry.map_err(|e| self.io(e))?;
        let from = keys::decode_u64(&key, "validator set height")?;
        let set = keys::from_json(&json, &format!("validator set from height {from}"))?;
        Ok(Some((from, set)))
    }

    fn contains(&self, tree: &sled::Tree, key: &[u8]) -> Result<Option<bool>, StoreError> {
        tree.contains_key(key).map(Some).map_err(|e| self.io(e))
    }

    fn try_epc(&self, epc: &EpcKey) -> Result<Option<EpcState>, StoreError> {
        self.read(&self.trees.epc_states, epc.0.as_bytes())?
            .map(|json| keys::from_json(&json, &format!("state of {epc}")))
            .transpose()
    }

    fn try_last_sequence(&self, signer: &PublicKey) -> Result<Option<u64>, StoreError> {
        self.read(&self.trees.sequences, signer.as_bytes())?
            .map(|bytes| keys::decode_u64(&bytes, &format!("sequence of {signer}")))
            .transpose()
    }
}

impl LedgerStore for SledStore {
    fn head(&self) -> Result<Option<ChainHead>, StoreError> {
        self.check_fault()?;
        let height = self.head_height()?;
        if height == 0 {
            return Ok(None);
        }
        let header = self
            .header(height)?
            .ok_or_else(|| corrupt(format!("head block {height} has no header")))?;
        let certificate = self
            .certificate(height)?
            .ok_or_else(|| corrupt(format!("head block {height} has no certificate")))?;
        Ok(Some(ChainHead {
            header,
            certificate,
        }))
    }

    /// The body is rebuilt from the block's leaf range of the event log (events are stored
    /// once, not twice) plus its stored extras (governance, evidence, next validators), and
    /// checked against the header's `body_hash` before it is served.
    fn block(&self, height: u64) -> Result<Option<StoredBlock>, StoreError> {
        let Some(header) = self.header(height)? else {
            return Ok(None);
        };
        let certificate = self
            .certificate(height)?
            .ok_or_else(|| corrupt(format!("block {height} has a header but no certificate")))?;
        let start = match height.checked_sub(1).filter(|h| *h > 0) {
            Some(previous) => {
                self.header(previous)?
                    .ok_or_else(|| corrupt(format!("block {previous} has no header")))?
                    .log_size
            }
            None => 0,
        };
        let events = (start..header.log_size)
            .map(|leaf| self.record_at(leaf).map(|stored| stored.record))
            .collect::<Result<Vec<_>, _>>()?;
        let mut body = match self.read(&self.trees.body_extras, &keys::u64_be(height))? {
            Some(bytes) => {
                BlockBody::from_canonical_bytes(&bytes, MAX_CANONICAL_BYTES).map_err(|e| {
                    corrupt(format!(
                        "the body extras of block {height} do not decode: {e}"
                    ))
                })?
            }
            None => BlockBody::default(),
        };
        body.events = events;
        if body.hash() != header.body_hash {
            return Err(corrupt(format!(
                "the events stored for block {height} do not hash to its body_hash"
            )));
        }
        Ok(Some(StoredBlock {
            block: Block { header, body },
            certificate,
        }))
    }

    fn header(&self, height: u64) -> Result<Option<BlockHeader>, StoreError> {
        self.read(&self.trees.headers, &keys::u64_be(height))?
            .map(|bytes| {
                BlockHeader::from_canonical_bytes(&bytes, MAX_CANONICAL_BYTES)
                    .map_err(|e| corrupt(format!("header of block {height} does not decode: {e}")))
            })
            .transpose()
    }

    fn height_of(&self, header_hash: &[u8; 32]) -> Result<Option<u64>, StoreError> {
        self.read(&self.trees.header_heights, header_hash)?
            .map(|bytes| keys::decode_u64(&bytes, "height in the header-hash index"))
            .transpose()
    }

    fn commit_block(&self, commit: BlockCommit<'_>) -> Result<(), StoreError> {
        let _guard = lock(&self.commit_lock);
        self.check_fault()?;
        let plan = commit::Plan::new(self, &commit)?;
        let result = plan.run(&self.trees);
        self.transaction_result(result)?;
        self.flush()
    }

    fn event(&self, id: &EventHashId) -> Result<Option<StoredEvent>, StoreError> {
        self.stored_event(&self.trees.events, id)
    }

    fn error_declaration(&self, id: &EventHashId) -> Result<Option<StoredEvent>, StoreError> {
        self.stored_event(&self.trees.error_declarations, id)
    }

    /// Error declarations are not indexed: they carry the ID of the event they correct, which is
    /// indexed already (see [`LedgerStore::error_declaration`]).
    fn events_for_epc(&self, epc: &EpcKey, limit: usize) -> Result<Vec<EventHashId>, StoreError> {
        self.ids_under(&self.trees.index_epc, &keys::text_prefix(&epc.0), limit)
    }

    fn events_for_gtin(&self, gtin14: &str, limit: usize) -> Result<Vec<EventHashId>, StoreError> {
        self.ids_under(&self.trees.index_gtin, &keys::text_prefix(gtin14), limit)
    }

    fn events_for_lot(
        &self,
        gtin14: &str,
        lot: &str,
        limit: usize,
    ) -> Result<Vec<EventHashId>, StoreError> {
        self.ids_under(&self.trees.index_lot, &keys::lot_prefix(gtin14, lot), limit)
    }

    fn transformed_from(&self, output: &EpcKey) -> Result<Vec<EpcKey>, StoreError> {
        self.read(&self.trees.transformed_from, output.0.as_bytes())?
            .map(|json| keys::from_json(&json, &format!("transformation inputs of {output}")))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// Outputs in key (byte) order.
    fn transformed_into(&self, input: &EpcKey) -> Result<Vec<EpcKey>, StoreError> {
        self.pairs_under(&self.trees.transformed_into, &input.0)
    }

    fn aggregation_history(&self, epc: &EpcKey) -> Result<Vec<AggregationStay>, StoreError> {
        self.trees
            .aggregation
            .scan_prefix(keys::text_prefix(&epc.0))
            .map(|entry| {
                let (key, value) = entry.map_err(|e| self.io(e))?;
                keys::decode_stay(&key, &value)
            })
            .collect()
    }

    /// In name order.
    fn participants(&self) -> Result<Vec<ParticipantRecord>, StoreError> {
        let mut out = Vec::new();
        for entry in self.trees.participants.iter() {
            let (name, json) = entry.map_err(|e| self.io(e))?;
            let entry: ParticipantEntry = keys::from_json(
                &json,
                &format!("participant {:?}", String::from_utf8_lossy(&name)),
            )?;
            let key = self.try_key_record(&entry.signing_key)?.ok_or_else(|| {
                corrupt(format!(
                    "participant {:?} names signing key {} that has no key record",
                    entry.name, entry.signing_key
                ))
            })?;
            out.push(ParticipantRecord::seen_through(entry, &key));
        }
        Ok(out)
    }

    fn log_size(&self) -> Result<u64, StoreError> {
        self.meta_u64(meta::LOG_SIZE, "log size")
    }

    fn event_at(&self, leaf_index: u64) -> Result<Option<EventHashId>, StoreError> {
        self.read(&self.trees.leaves, &keys::u64_be(leaf_index))?
            .map(|value| keys::decode_leaf(&value, leaf_index).map(|(id, _)| id))
            .transpose()
    }

    fn certificate(&self, height: u64) -> Result<Option<FinalityCertificate>, StoreError> {
        // The inherent reader of the same name (inherent functions take precedence).
        SledStore::certificate(self, height)
    }

    fn body_extras_through(&self, height: u64) -> Result<Vec<(u64, BlockBody)>, StoreError> {
        self.trees
            .body_extras
            .range(..=keys::u64_be(height))
            .map(|entry| {
                let (key, bytes) = entry.map_err(|e| self.io(e))?;
                let at = keys::decode_u64(&key, "height of block extras")?;
                let body =
                    BlockBody::from_canonical_bytes(&bytes, MAX_CANONICAL_BYTES).map_err(|e| {
                        corrupt(format!("the body extras of block {at} do not decode: {e}"))
                    })?;
                Ok((at, body))
            })
            .collect()
    }

    fn put_pending(&self, records: &[SignedEvent]) -> Result<Vec<u64>, StoreError> {
        let mut next = lock(&self.next_pending);
        let mut batch = sled::Batch::default();
        let mut assigned = Vec::with_capacity(records.len());
        let mut key = *next;
        for record in records {
            batch.insert(&keys::u64_be(key), record.to_canonical_bytes());
            assigned.push(key);
            key = key
                .checked_add(1)
                .ok_or_else(|| corrupt("pending keys are exhausted (u64::MAX reached)"))?;
        }
        self.trees
            .pending
            .apply_batch(batch)
            .map_err(|e| self.io(e))?;
        *next = key;
        Ok(assigned)
    }

    fn pending(&self) -> Result<Vec<(u64, SignedEvent)>, StoreError> {
        self.trees
            .pending
            .iter()
            .map(|entry| {
                let (key, bytes) = entry.map_err(|e| self.io(e))?;
                let key = keys::decode_u64(&key, "pending key")?;
                let record = SignedEvent::from_canonical_bytes(&bytes, MAX_SIGNED_EVENT_BYTES)
                    .map_err(|e| corrupt(format!("pending entry {key} does not decode: {e}")))?;
                Ok((key, record))
            })
            .collect()
    }

    fn remove_pending(&self, keys: &[u64]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for key in keys {
            batch.remove(&keys::u64_be(*key));
        }
        self.trees
            .pending
            .apply_batch(batch)
            .map_err(|e| self.io(e))
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(drop).map_err(|e| self.io(e))
    }

    fn record_signed_state(&self, state: &[u8]) -> Result<(), StoreError> {
        self.trees
            .consensus_state
            .insert(meta::SIGNED_STATE, state)
            .map_err(|e| self.io(e))?;
        self.flush()
    }

    fn signed_state(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .trees
            .consensus_state
            .get(meta::SIGNED_STATE)
            .map_err(|e| self.io(e))?
            .map(|v| v.to_vec()))
    }

    fn record_proposal(&self, block: &Block) -> Result<(), StoreError> {
        let key = keys::proposal(block.header.height, &block.header.hash());
        self.trees
            .proposals
            .insert(key, block.to_canonical_bytes())
            .map_err(|e| self.io(e))?;
        Ok(())
    }

    fn proposal(&self, height: u64, header_hash: &[u8; 32]) -> Result<Option<Block>, StoreError> {
        let Some(bytes) = self
            .trees
            .proposals
            .get(keys::proposal(height, header_hash))
            .map_err(|e| self.io(e))?
        else {
            return Ok(None);
        };
        Block::from_canonical_bytes(&bytes, MAX_CANONICAL_BYTES)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                what: format!("stored proposal at height {height} does not decode: {e}"),
            })
    }

    fn forget_proposals_through(&self, height: u64) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for entry in self
            .trees
            .proposals
            .range(..keys::u64_be(height.saturating_add(1)))
        {
            let (key, _) = entry.map_err(|e| self.io(e))?;
            batch.remove(key);
        }
        self.trees
            .proposals
            .apply_batch(batch)
            .map_err(|e| self.io(e))
    }
}

impl LedgerView for SledStore {
    fn participant(&self, name: &str) -> Option<ParticipantEntry> {
        self.record_fault(self.try_participant(name))
    }

    fn key_record(&self, key: &PublicKey) -> Option<KeyRecord> {
        self.record_fault(self.try_key_record(key))
    }

    fn prefix_owner(&self, digits: &str) -> Option<ParticipantRecord> {
        let name = self.record_fault(self.try_prefix_owner_name(digits))?;
        self.participant_by_name(&name)
    }

    fn overlapping_prefix(&self, prefix: &str) -> Option<(String, String)> {
        self.record_fault(self.try_overlapping_prefix(prefix))
    }

    fn scheduled_validator_set(&self, height: u64) -> Option<(u64, ValidatorSet)> {
        self.record_fault(self.try_scheduled_validator_set(height))
    }

    fn governance_nonce_used(&self, nonce: u64) -> bool {
        self.record_fault(self.contains(&self.trees.governance_nonces, &keys::u64_be(nonce)))
            .unwrap_or(false)
    }

    fn evidence_recorded(&self, offence: &Offence) -> bool {
        let key = match registry::offence_key(offence) {
            Ok(key) => key,
            Err(e) => return self.record_fault::<bool>(Err(e)).unwrap_or(false),
        };
        self.record_fault(self.contains(&self.trees.offences, &key))
            .unwrap_or(false)
    }

    fn last_sequence(&self, signer: &PublicKey) -> u64 {
        self.record_fault(self.try_last_sequence(signer))
            .unwrap_or(0)
    }

    fn epc(&self, epc: &EpcKey) -> Option<EpcState> {
        self.record_fault(self.try_epc(epc))
    }

    fn children(&self, parent: &EpcKey) -> Vec<EpcKey> {
        self.record_fault(self.pairs_under(&self.trees.children, &parent.0).map(Some))
            .unwrap_or_default()
    }

    fn event_signer(&self, id: &EventHashId) -> Option<PublicKey> {
        self.record_fault(self.event(id))
            .map(|stored| stored.record.signer)
    }

    fn error_declared(&self, id: &EventHashId) -> bool {
        self.record_fault(
            self.trees
                .error_declarations
                .contains_key(id.as_bytes())
                .map(Some)
                .map_err(|e| self.io(e)),
        )
        .unwrap_or(false)
    }
}

impl NodeStore for SledStore {
    type Error = StoreError;

    fn get(&self, level: u8, index: u64) -> Result<Option<MerkleHash>, StoreError> {
        self.read(&self.trees.merkle_nodes, &node_key(level, index))?
            .map(|bytes| {
                MerkleHash::from_slice(&bytes).map_err(|e| {
                    corrupt(format!("Merkle node (level {level}, index {index}): {e}"))
                })
            })
            .transpose()
    }
}
