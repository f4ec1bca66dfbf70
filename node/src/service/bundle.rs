//! Provenance bundles from the node's store: [`StoreSource`] gives the protocol's pure
//! [`assemble`] read access to the finalised ledger, and [`NodeService::bundle`] runs it.
//!
//! Everything is read from finalised data only (headers, certificates, the event indexes, the
//! stored block extras, the Merkle nodes); the mempool is never consulted. Reads may interleave
//! with a concurrent block commit: assembly pins the head first and ignores leaves beyond its
//! `log_size`, and the Merkle store keeps every complete subtree, so proofs for the pinned size
//! remain available after later commits.

use provenance_protocol::bundle::{
    AssembleError, BundleSource, CertifiedHeader, Handoff, IncludedGovernance, LedgerEvent,
    ProvenanceBundle, Scope, Subject, assemble,
};
use provenance_protocol::event_hash::EventHashId;
use provenance_protocol::genesis::Genesis;
use provenance_protocol::merkle::{self, MerkleHash, NodeReadError, ProofError};
use provenance_protocol::rules::EpcKey;

use super::NodeService;
use crate::store::{LedgerStore, StoreError, StoredEvent};

/// Why the node could not assemble a bundle.
pub type BundleError = AssembleError<StoreError>;

/// The ledger as [`assemble`] reads it: a store and the genesis it was opened with.
#[derive(Debug, Clone, Copy)]
pub struct StoreSource<'a> {
    store: &'a dyn LedgerStore,
    genesis: &'a Genesis,
}

impl<'a> StoreSource<'a> {
    /// A source over `store`, a ledger of the network `genesis` describes.
    pub fn new(store: &'a dyn LedgerStore, genesis: &'a Genesis) -> Self {
        StoreSource { store, genesis }
    }

    /// The stored events with these IDs, each followed by its error declaration if one was
    /// recorded (declarations are not indexed: they share the ID of the event they correct), in
    /// log order, at most `limit`.
    fn with_declarations(
        &self,
        ids: Vec<EventHashId>,
        limit: usize,
    ) -> Result<Vec<LedgerEvent>, StoreError> {
        let mut events = Vec::with_capacity(ids.len());
        for id in ids {
            let original = self.store.event(&id)?.ok_or_else(|| StoreError::Corrupt {
                what: format!("an index names event {id}, which is not stored"),
            })?;
            events.push(ledger_event(original));
            if let Some(declaration) = self.store.error_declaration(&id)? {
                events.push(ledger_event(declaration));
            }
        }
        events.sort_by_key(|event| event.leaf_index);
        events.truncate(limit);
        Ok(events)
    }

    /// The header and certificate of a block the store must have (one that a stored body or the
    /// head names).
    fn certified(&self, height: u64) -> Result<CertifiedHeader, StoreError> {
        let missing = |what: &str| StoreError::Corrupt {
            what: format!("block {height} has stored extras but no {what}"),
        };
        Ok(CertifiedHeader {
            header: self
                .store
                .header(height)?
                .ok_or_else(|| missing("header"))?,
            certificate: self
                .store
                .certificate(height)?
                .ok_or_else(|| missing("certificate"))?,
        })
    }
}

fn ledger_event(stored: StoredEvent) -> LedgerEvent {
    LedgerEvent {
        record: stored.record,
        height: stored.height,
        leaf_index: stored.leaf_index,
    }
}

impl BundleSource for StoreSource<'_> {
    type Error = StoreError;

    fn genesis(&self) -> &Genesis {
        self.genesis
    }

    fn anchor(&self) -> Result<Option<CertifiedHeader>, StoreError> {
        Ok(self.store.head()?.map(|head| CertifiedHeader {
            header: head.header,
            certificate: head.certificate,
        }))
    }

    fn handoffs(&self, height: u64) -> Result<Vec<Handoff>, StoreError> {
        self.store
            .body_extras_through(height)?
            .into_iter()
            .filter_map(|(at, body)| body.next_validators.map(|next| (at, next)))
            .map(|(at, next_validators)| {
                let CertifiedHeader {
                    header,
                    certificate,
                } = self.certified(at)?;
                Ok(Handoff {
                    header,
                    certificate,
                    next_validators,
                })
            })
            .collect()
    }

    fn governance(&self, height: u64) -> Result<Vec<IncludedGovernance>, StoreError> {
        Ok(self
            .store
            .body_extras_through(height)?
            .into_iter()
            .flat_map(|(at, body)| {
                body.governance
                    .into_iter()
                    .map(move |tx| IncludedGovernance { height: at, tx })
            })
            .collect())
    }

    fn events_naming(&self, key: &EpcKey, limit: usize) -> Result<Vec<LedgerEvent>, StoreError> {
        let ids = self.store.events_for_epc(key, limit)?;
        self.with_declarations(ids, limit)
    }

    fn lot_events(
        &self,
        gtin: &str,
        lot: &str,
        limit: usize,
    ) -> Result<Vec<LedgerEvent>, StoreError> {
        let ids = self.store.events_for_lot(gtin, lot, limit)?;
        self.with_declarations(ids, limit)
    }

    fn inclusion_path(
        &self,
        leaf_index: u64,
        tree_size: u64,
    ) -> Result<Vec<MerkleHash>, StoreError> {
        merkle::inclusion_proof(self.store, leaf_index, tree_size)
            .map(|proof| proof.path)
            .map_err(|error| match error {
                ProofError::Read(NodeReadError::Store { source, .. }) => source,
                // Assembly asks only for leaves below a finalised log size, whose nodes the
                // store must hold: anything else means the store lost data.
                other => StoreError::Corrupt {
                    what: format!(
                        "cannot prove leaf {leaf_index} in the log of {tree_size} leaves: {other}"
                    ),
                },
            })
    }
}

impl NodeService {
    /// Assembles the provenance bundle of `subject` in `scope` against the newest finalised
    /// header. Blocking (store reads): async callers run it on a blocking thread.
    pub fn bundle(&self, subject: &Subject, scope: Scope) -> Result<ProvenanceBundle, BundleError> {
        assemble(
            &StoreSource::new(&**self.store(), self.genesis()),
            subject,
            scope,
        )
    }
}
