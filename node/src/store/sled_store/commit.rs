//! Committing one block: everything is checked and encoded first ([`Plan::new`]), then written
//! in one sled transaction over every tree a block touches ([`Plan::run`]).
//!
//! The transaction closure only reads the plan and the transaction's own view, so sled may run
//! it again after a conflict with the same result (retry-safe).

use sled::Transactional;
use sled::transaction::{
    ConflictableTransactionError, ConflictableTransactionResult, TransactionResult,
    TransactionalTree,
};

use provenance_protocol::codec::Canonical;
use provenance_protocol::event_hash::EventHashId;
use provenance_protocol::ledger::BlockBody;
use provenance_protocol::merkle::{CompletedNode, MerkleLog};
use provenance_protocol::record::SignedEvent;
use provenance_protocol::rules::{EpcKey, EpcState, StateChange};

use super::index::EventIndexes;
use super::keys::{self, LeafKind, corrupt, meta};
use super::{SledStore, Trees};
use crate::store::{BlockCommit, LedgerStore, StoreError};

type TxResult<T> = ConflictableTransactionResult<T, StoreError>;

fn abort<T>(error: StoreError) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(error))
}

/// A block that cannot be committed as given. The trait has no "invalid block" variant, so this
/// is reported as [`StoreError::Corrupt`] with a message that starts "refusing block N".
fn refuse(height: u64, reason: impl std::fmt::Display) -> StoreError {
    corrupt(format!("refusing block {height}: {reason}"))
}

/// One event of the block, ready to write.
#[derive(Debug)]
struct PlannedEvent<'a> {
    id: EventHashId,
    leaf: u64,
    kind: LeafKind,
    /// `keys::encode_event_value` of the record.
    value: Vec<u8>,
    /// Empty for error declarations (their ID is indexed with the original).
    indexes: EventIndexes,
    /// This event's run of state changes, ending with its `Sequence`.
    changes: &'a [StateChange],
}

/// Everything a block commit writes, checked against the stored head and encoded.
#[derive(Debug)]
pub(super) struct Plan<'a> {
    height: u64,
    old_log_size: u64,
    new_log_size: u64,
    header_hash: [u8; 32],
    header_bytes: Vec<u8>,
    certificate_bytes: Vec<u8>,
    events: Vec<PlannedEvent<'a>>,
    /// Registry changes of the block's governance transactions and evidence, after the events.
    registry: &'a [StateChange],
    /// The body without its events, when it has anything else.
    body_extras: Option<Vec<u8>>,
    nodes: Vec<CompletedNode>,
    included_pending: &'a [u64],
}

impl<'a> Plan<'a> {
    /// Checks that the block extends the stored head and is self-consistent, and prepares its
    /// writes. The caller holds the commit lock, so the head cannot move until [`Plan::run`]
    /// (which checks again inside the transaction all the same).
    pub(super) fn new(store: &SledStore, commit: &BlockCommit<'a>) -> Result<Self, StoreError> {
        let block = commit.block;
        let header = &block.header;
        let height = header.height;
        let head = store.head_height()?;
        if Some(height) != head.checked_add(1) {
            return Err(refuse(
                height,
                format_args!("it does not extend the head at height {head}"),
            ));
        }
        let (prev_hash, prev_name) = if head == 0 {
            (store.genesis_hash()?, "the genesis hash".to_owned())
        } else {
            let previous = store
                .header(head)?
                .ok_or_else(|| corrupt(format!("head block {head} has no header")))?;
            (previous.hash(), format!("the hash of header {head}"))
        };
        if header.prev_hash != prev_hash {
            return Err(refuse(
                height,
                format_args!(
                    "its prev_hash {} is not {prev_name} {}",
                    hex::encode(header.prev_hash),
                    hex::encode(prev_hash)
                ),
            ));
        }
        let chain = store
            .read(&store.trees.meta, meta::CHAIN_ID)?
            .ok_or_else(|| corrupt("the meta tree lacks the chain id"))?;
        if header.chain_id.as_bytes() != chain.as_ref() {
            return Err(refuse(
                height,
                format_args!(
                    "it is for chain {:?}, the store for {:?}",
                    header.chain_id,
                    String::from_utf8_lossy(&chain)
                ),
            ));
        }
        let header_hash = header.hash();
        let certificate = commit.certificate;
        if certificate.height != height || certificate.header_hash != header_hash {
            return Err(refuse(
                height,
                format_args!(
                    "its certificate is for height {} and header {}, not this header {}",
                    certificate.height,
                    hex::encode(certificate.header_hash),
                    hex::encode(header_hash)
                ),
            ));
        }
        if block.body.hash() != header.body_hash {
            return Err(refuse(
                height,
                "its body does not hash to the header's body_hash",
            ));
        }
        let old_log_size = store.log_size()?;
        let records = &block.body.events;
        let new_log_size = u64::try_from(records.len())
            .ok()
            .and_then(|n| old_log_size.checked_add(n))
            .ok_or_else(|| refuse(height, "the log size would overflow"))?;
        if header.log_size != new_log_size {
            return Err(refuse(
                height,
                format_args!(
                    "its header says log_size {}, but {old_log_size} stored leaves plus {} events make {new_log_size}",
                    header.log_size,
                    records.len()
                ),
            ));
        }
        let nodes = merkle_nodes(store, commit, old_log_size)?;
        let (runs, registry) = split_changes(height, commit.changes, records)?;
        let body = &block.body;
        let body_extras = (!body.governance.is_empty()
            || !body.evidence.is_empty()
            || body.next_validators.is_some())
        .then(|| {
            BlockBody {
                events: Vec::new(),
                ..body.clone()
            }
            .to_canonical_bytes()
        });
        let events = records
            .iter()
            .zip(runs)
            .zip(old_log_size..)
            .map(|((record, (kind, changes)), leaf)| {
                let indexes = match kind {
                    LeafKind::Event => EventIndexes::of(record)?,
                    LeafKind::ErrorDeclaration => EventIndexes::default(),
                };
                Ok(PlannedEvent {
                    id: record.event_hash_id,
                    leaf,
                    kind,
                    value: keys::encode_event_value(leaf, height, &record.to_canonical_bytes()),
                    indexes,
                    changes,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Plan {
            height,
            old_log_size,
            new_log_size,
            header_hash,
            header_bytes: header.to_canonical_bytes(),
            certificate_bytes: certificate.to_canonical_bytes(),
            events,
            registry,
            body_extras,
            nodes,
            included_pending: commit.included_pending,
        })
    }

    /// Writes the plan in one transaction over every tree a block touches.
    pub(super) fn run(&self, trees: &Trees) -> TransactionResult<(), StoreError> {
        let set = [
            &trees.meta,
            &trees.headers,
            &trees.certificates,
            &trees.header_heights,
            &trees.events,
            &trees.error_declarations,
            &trees.leaves,
            &trees.index_epc,
            &trees.index_gtin,
            &trees.index_lot,
            &trees.transformed_from,
            &trees.transformed_into,
            &trees.aggregation,
            &trees.sequences,
            &trees.epc_states,
            &trees.children,
            &trees.merkle_nodes,
            &trees.pending,
            &trees.body_extras,
            &trees.participants,
            &trees.participant_keys,
            &trees.prefixes,
            &trees.validator_sets,
            &trees.governance_nonces,
            &trees.offences,
        ];
        set[..].transaction(|view: &Vec<TransactionalTree>| {
            let [
                meta,
                headers,
                certificates,
                header_heights,
                events,
                error_declarations,
                leaves,
                index_epc,
                index_gtin,
                index_lot,
                transformed_from,
                transformed_into,
                aggregation,
                sequences,
                epc_states,
                children,
                merkle_nodes,
                pending,
                body_extras,
                participants,
                participant_keys,
                prefixes,
                validator_sets,
                governance_nonces,
                offences,
            ] = view.as_slice()
            else {
                return abort(corrupt(
                    "sled opened a different number of trees than asked",
                ));
            };
            Tx {
                meta,
                headers,
                certificates,
                header_heights,
                events,
                error_declarations,
                leaves,
                index_epc,
                index_gtin,
                index_lot,
                transformed_from,
                transformed_into,
                aggregation,
                sequences,
                epc_states,
                children,
                merkle_nodes,
                pending,
                body_extras,
                registry: super::registry::RegistryTx {
                    participants,
                    participant_keys,
                    prefixes,
                    validator_sets,
                    governance_nonces,
                    offences,
                },
            }
            .write(self)
        })
    }
}

/// Recomputes the nodes the block's events complete, from the stored frontier, and checks them
/// against the header's `log_root` and the nodes the caller passed in.
fn merkle_nodes(
    store: &SledStore,
    commit: &BlockCommit<'_>,
    old_log_size: u64,
) -> Result<Vec<CompletedNode>, StoreError> {
    let header = &commit.block.header;
    let height = header.height;
    let mut log = MerkleLog::from_store(store, old_log_size).map_err(|e| {
        corrupt(format!(
            "cannot restore the Merkle log at size {old_log_size}: {e}"
        ))
    })?;
    let mut nodes = Vec::new();
    for record in &commit.block.body.events {
        let completed = log
            .append(record.leaf_hash(height))
            .map_err(|e| refuse(height, e))?;
        nodes.extend(completed);
    }
    let root = log.root();
    if root.to_bytes() != header.log_root {
        return Err(refuse(
            height,
            format_args!(
                "its header says log_root {}, but its events make the log root {root}",
                hex::encode(header.log_root)
            ),
        ));
    }
    let mut given = commit.merkle_nodes.to_vec();
    given.sort_unstable();
    let mut expected = nodes.clone();
    expected.sort_unstable();
    if given != expected {
        return Err(refuse(
            height,
            format_args!(
                "its merkle_nodes ({} nodes) are not the {} nodes its events complete",
                given.len(),
                expected.len()
            ),
        ));
    }
    Ok(nodes)
}

/// Cuts `changes` into one run per event (each ending with its `Sequence`) and checks that each
/// run belongs to its event: the `Sequence` names the event's signer and sequence, and the run
/// records exactly the event (`EventRecorded`) or an error declaration for it (`ErrorDeclared`).
#[allow(clippy::type_complexity)]
fn split_changes<'c>(
    height: u64,
    changes: &'c [StateChange],
    records: &[SignedEvent],
) -> Result<(Vec<(LeafKind, &'c [StateChange])>, &'c [StateChange]), StoreError> {
    let mut rest = changes;
    let mut runs = Vec::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        let id = record.event_hash_id;
        let end = rest
            .iter()
            .position(|c| matches!(c, StateChange::Sequence { .. }))
            .ok_or_else(|| {
                refuse(
                    height,
                    format_args!(
                        "the changes of event {i} ({id}) do not end with a Sequence change"
                    ),
                )
            })?;
        let (run, tail) = rest.split_at(end + 1);
        rest = tail;
        let sequence_matches = matches!(run.last(), Some(StateChange::Sequence { signer, sequence })
            if *signer == record.signer && *sequence == record.sequence);
        if !sequence_matches {
            return Err(refuse(
                height,
                format_args!(
                    "the Sequence change of event {i} ({id}) is not signer {} sequence {}",
                    record.signer, record.sequence
                ),
            ));
        }
        let mut kinds = run.iter().filter_map(|change| match change {
            StateChange::EventRecorded { id: r, signer }
                if *r == id && *signer == record.signer =>
            {
                Some(Ok(LeafKind::Event))
            }
            StateChange::ErrorDeclared { id: r } if *r == id => {
                Some(Ok(LeafKind::ErrorDeclaration))
            }
            StateChange::EventRecorded { .. } | StateChange::ErrorDeclared { .. } => Some(Err(())),
            _ => None,
        });
        let kind = match (kinds.next(), kinds.next()) {
            (Some(Ok(kind)), None) => kind,
            _ => {
                return Err(refuse(
                    height,
                    format_args!(
                        "the changes of event {i} must record exactly that event ({id}) or one error declaration for it"
                    ),
                ));
            }
        };
        runs.push((kind, run));
    }
    if let Some(other) = rest
        .iter()
        .find(|c| !super::registry::is_registry_change(c))
    {
        return Err(refuse(
            height,
            format_args!(
                "state changes follow the last event's Sequence that are not registry changes (first: {other:?})"
            ),
        ));
    }
    Ok((runs, rest))
}

/// The transaction's view of each tree.
struct Tx<'t> {
    meta: &'t TransactionalTree,
    headers: &'t TransactionalTree,
    certificates: &'t TransactionalTree,
    header_heights: &'t TransactionalTree,
    events: &'t TransactionalTree,
    error_declarations: &'t TransactionalTree,
    leaves: &'t TransactionalTree,
    index_epc: &'t TransactionalTree,
    index_gtin: &'t TransactionalTree,
    index_lot: &'t TransactionalTree,
    transformed_from: &'t TransactionalTree,
    transformed_into: &'t TransactionalTree,
    aggregation: &'t TransactionalTree,
    sequences: &'t TransactionalTree,
    epc_states: &'t TransactionalTree,
    children: &'t TransactionalTree,
    merkle_nodes: &'t TransactionalTree,
    pending: &'t TransactionalTree,
    body_extras: &'t TransactionalTree,
    registry: super::registry::RegistryTx<'t>,
}

impl Tx<'_> {
    fn meta_u64(&self, key: &[u8], what: &str) -> TxResult<u64> {
        match self.meta.get(key)? {
            Some(bytes) => {
                keys::decode_u64(&bytes, what).map_err(ConflictableTransactionError::Abort)
            }
            None => abort(corrupt(format!("the meta tree lacks the {what}"))),
        }
    }

    fn write(&self, plan: &Plan<'_>) -> TxResult<()> {
        let height = plan.height;
        let head = self.meta_u64(meta::HEAD_HEIGHT, "head height")?;
        let size = self.meta_u64(meta::LOG_SIZE, "log size")?;
        if head.checked_add(1) != Some(height) || size != plan.old_log_size {
            return abort(refuse(
                height,
                format_args!(
                    "the head moved to height {head} (log size {size}) while it was prepared"
                ),
            ));
        }
        let key = keys::u64_be(height);
        self.meta.insert(meta::HEAD_HEIGHT, &key[..])?;
        self.meta
            .insert(meta::LOG_SIZE, &keys::u64_be(plan.new_log_size)[..])?;
        self.headers
            .insert(&key[..], plan.header_bytes.as_slice())?;
        self.certificates
            .insert(&key[..], plan.certificate_bytes.as_slice())?;
        self.header_heights
            .insert(&plan.header_hash[..], &key[..])?;
        for event in &plan.events {
            self.event(height, event)?;
        }
        for change in plan.registry {
            super::registry::apply(&self.registry, change)?;
        }
        if let Some(extras) = &plan.body_extras {
            self.body_extras.insert(&key[..], extras.as_slice())?;
        }
        for node in &plan.nodes {
            let old = self
                .merkle_nodes
                .insert(&node.key()[..], &node.hash.as_bytes()[..])?;
            if old.is_some_and(|old| old.as_ref() != node.hash.as_bytes()) {
                return abort(corrupt(format!(
                    "Merkle node (level {}, index {}) is already stored with another hash",
                    node.level, node.index
                )));
            }
        }
        for key in plan.included_pending {
            self.pending.remove(&keys::u64_be(*key)[..])?;
        }
        Ok(())
    }

    fn event(&self, height: u64, event: &PlannedEvent<'_>) -> TxResult<()> {
        let id = event.id.as_bytes();
        match event.kind {
            LeafKind::Event => {
                if self.events.get(id)?.is_some() {
                    return abort(refuse(
                        height,
                        format_args!("event {} is already in the ledger", event.id),
                    ));
                }
                self.events.insert(&id[..], event.value.as_slice())?;
            }
            LeafKind::ErrorDeclaration => {
                if self.events.get(id)?.is_none() {
                    return abort(refuse(
                        height,
                        format_args!(
                            "it declares event {} erroneous, which is not in the ledger",
                            event.id
                        ),
                    ));
                }
                if self.error_declarations.get(id)?.is_some() {
                    return abort(refuse(
                        height,
                        format_args!("event {} was already declared erroneous", event.id),
                    ));
                }
                self.error_declarations
                    .insert(&id[..], event.value.as_slice())?;
            }
        }
        let leaf = event.leaf;
        self.leaves.insert(
            &keys::u64_be(leaf)[..],
            &keys::encode_leaf(&event.id, event.kind)[..],
        )?;
        for epc in &event.indexes.epcs {
            self.index_epc
                .insert(keys::text_entry(&epc.0, leaf), &id[..])?;
        }
        for gtin in &event.indexes.gtins {
            self.index_gtin
                .insert(keys::text_entry(gtin, leaf), &id[..])?;
        }
        for (gtin, lot) in &event.indexes.lots {
            self.index_lot
                .insert(keys::lot_entry(gtin, lot, leaf), &id[..])?;
        }
        for change in event.changes {
            self.change(change, leaf)?;
        }
        Ok(())
    }

    /// Applies one state change exactly as `MemoryState::apply` does, plus the history indexes
    /// (aggregation stays, trace-forward edges) that the in-memory state does not keep.
    fn change(&self, change: &StateChange, leaf: u64) -> TxResult<()> {
        match change {
            StateChange::Sequence { signer, sequence } => {
                self.sequences
                    .insert(&signer.as_bytes()[..], &keys::u64_be(*sequence)[..])?;
            }
            StateChange::Epc { epc, state } => {
                let old_parent = match self.epc_states.get(epc.0.as_bytes())? {
                    Some(json) => {
                        keys::from_json::<EpcState>(&json, &format!("state of {epc}"))
                            .map_err(ConflictableTransactionError::Abort)?
                            .parent
                    }
                    None => None,
                };
                // `MemoryState` removes the child from its old parent and adds it to the new
                // one; when both are the same that is no change, and the stay continues.
                if old_parent != state.parent {
                    if let Some(parent) = &old_parent {
                        self.leave(parent, epc, leaf)?;
                    }
                    if let Some(parent) = &state.parent {
                        self.children
                            .insert(keys::pair_key(&parent.0, &epc.0), &keys::u64_be(leaf)[..])?;
                        self.aggregation.insert(
                            keys::text_entry(&epc.0, leaf),
                            keys::encode_stay(parent, None),
                        )?;
                    }
                }
                let json = keys::to_json(state, "identifier state")
                    .map_err(ConflictableTransactionError::Abort)?;
                self.epc_states.insert(epc.0.as_bytes(), json)?;
            }
            StateChange::TransformedFrom { output, inputs } => {
                if let Some(json) = self.transformed_from.get(output.0.as_bytes())? {
                    let old: Vec<EpcKey> =
                        keys::from_json(&json, &format!("transformation inputs of {output}"))
                            .map_err(ConflictableTransactionError::Abort)?;
                    for input in &old {
                        self.transformed_into
                            .remove(keys::pair_key(&input.0, &output.0))?;
                    }
                }
                let json = keys::to_json(inputs, "transformation inputs")
                    .map_err(ConflictableTransactionError::Abort)?;
                self.transformed_from.insert(output.0.as_bytes(), json)?;
                for input in inputs {
                    self.transformed_into
                        .insert(keys::pair_key(&input.0, &output.0), &[][..])?;
                }
            }
            // Written with the record itself (`events` / `error_declarations`), checked to name
            // this very event in `split_changes`.
            StateChange::EventRecorded { .. } | StateChange::ErrorDeclared { .. } => {}
            // An event's rules produce none of these; `split_changes` keeps registry changes
            // for after the events. Written the same way if a future rule does.
            other => super::registry::apply(&self.registry, other)?,
        }
        Ok(())
    }

    /// `epc` leaves `parent` at `leaf`: drop it from the children index and close its stay.
    fn leave(&self, parent: &EpcKey, epc: &EpcKey, leaf: u64) -> TxResult<()> {
        let Some(from) = self.children.remove(keys::pair_key(&parent.0, &epc.0))? else {
            return abort(corrupt(format!(
                "{epc} leaves {parent}, but the children index does not have it inside"
            )));
        };
        let from = keys::decode_u64(&from, "aggregation start leaf")
            .map_err(ConflictableTransactionError::Abort)?;
        let key = keys::text_entry(&epc.0, from);
        if self.aggregation.get(&key)?.is_none() {
            return abort(corrupt(format!(
                "{epc} has no aggregation history entry for its stay in {parent} from leaf {from}"
            )));
        }
        self.aggregation
            .insert(key, keys::encode_stay(parent, Some(leaf)))?;
        Ok(())
    }
}
