//! Verifies the chain a node serves, block by block from genesis, as a light client would.
//!
//! For every height: the header links to the previous one (height 1 to the genesis hash), its
//! certificate verifies under the validator set trusted for that height (more than two thirds of
//! the power signed this exact header), the served body (events, governance, evidence, next
//! validators) is the one the header commits to, every event verifies, and the header's log size
//! and root match the events so far. The trusted set starts as the genesis set and follows every
//! hand-off a header announces ([`next_validator_set`]), exactly as a light client trusting only
//! the genesis would. The result lists the header hashes and the event ids in log order, so
//! chains of several nodes can be compared.

use provenance_protocol::event_hash::EventHashId;
use provenance_protocol::genesis::Genesis;
use provenance_protocol::ledger::{LedgerError, ValidatorSet, next_validator_set};
use provenance_protocol::merkle::MerkleLog;
use provenance_protocol::record::{Digest32, RecordError};

use crate::client::{NodeClient, RequestError};

/// A node's chain, verified from genesis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedChain {
    /// Header hash at height `h` is `header_hashes[h - 1]`.
    pub header_hashes: Vec<Digest32>,
    /// Every event id in log order.
    pub event_ids: Vec<EventHashId>,
    /// The set that certified the block at height `h` is `validator_sets[h - 1]`; it changes
    /// only at the heights governance handed over to a new set.
    pub validator_sets: Vec<ValidatorSet>,
    /// The set the last header names for the next height (the genesis set on an empty chain).
    pub next_validators: ValidatorSet,
}

impl VerifiedChain {
    /// Height of the last block.
    pub fn height(&self) -> u64 {
        self.header_hashes.len() as u64
    }

    /// Hex hash of the last header (what `/v1/status` reports as `head_hash`).
    pub fn head_hash(&self) -> Option<String> {
        self.header_hashes.last().map(hex::encode)
    }
}

/// Why a served chain does not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("the node serves no block at height {missing}")]
    MissingBlock { missing: u64 },
    #[error("block {height}: {what}")]
    Invalid { height: u64, what: String },
    #[error("block {height}: the finality certificate does not verify: {source}")]
    Certificate {
        height: u64,
        #[source]
        source: Box<LedgerError>,
    },
    #[error("block {height}: the validator set hand-off does not verify: {source}")]
    HandOff {
        height: u64,
        #[source]
        source: Box<LedgerError>,
    },
    #[error("block {height}: event {id} does not verify: {source}")]
    Event {
        height: u64,
        id: EventHashId,
        #[source]
        source: Box<RecordError>,
    },
    #[error(
        "status reports head {reported:?} at height {height}, but block {height} hashes to {actual:?}"
    )]
    HeadMismatch {
        height: u64,
        reported: Option<String>,
        actual: Option<String>,
    },
}

fn invalid(height: u64, what: String) -> ChainError {
    ChainError::Invalid { height, what }
}

/// Fetches and verifies every block `client`'s node has finalised, up to the height its status
/// reports when the walk begins, and checks that the status names the last one as its head.
/// `validators` is the genesis set; later sets are learnt from the hand-offs the chain announces.
pub fn verify_chain(
    client: &NodeClient,
    genesis: &Genesis,
    validators: &ValidatorSet,
) -> Result<VerifiedChain, ChainError> {
    let status = client.status()?;
    let chain = verify_chain_to(client, genesis, validators, status.height)?;
    if status.head_hash != chain.head_hash() {
        return Err(ChainError::HeadMismatch {
            height: status.height,
            reported: status.head_hash,
            actual: chain.head_hash(),
        });
    }
    Ok(chain)
}

/// Fetches and verifies blocks 1 to `up_to` of `client`'s node. Nodes keep finalising while a
/// test looks, so chains of several nodes are compared up to a height all of them have reached.
pub fn verify_chain_to(
    client: &NodeClient,
    genesis: &Genesis,
    validators: &ValidatorSet,
    up_to: u64,
) -> Result<VerifiedChain, ChainError> {
    let chain_id = genesis.chain_id.as_str();
    let mut prev_hash = genesis.hash().0;
    let mut log = MerkleLog::new();
    let mut chain = VerifiedChain {
        header_hashes: Vec::new(),
        event_ids: Vec::new(),
        validator_sets: Vec::new(),
        next_validators: validators.clone(),
    };
    for height in 1..=up_to {
        let block = client
            .block(height)?
            .ok_or(ChainError::MissingBlock { missing: height })?;
        let header = &block.header;
        if header.height != height || header.chain_id != chain_id {
            return Err(invalid(
                height,
                format!(
                    "header claims height {} of chain {:?}",
                    header.height, header.chain_id
                ),
            ));
        }
        if header.prev_hash != prev_hash {
            return Err(invalid(
                height,
                format!(
                    "prev_hash {} does not link to {}",
                    hex::encode(header.prev_hash),
                    hex::encode(prev_hash)
                ),
            ));
        }
        block
            .certificate
            .verify(header, &chain.next_validators)
            .map_err(|source| ChainError::Certificate {
                height,
                source: Box::new(source),
            })?;
        let body = block.body();
        if body.hash() != header.body_hash {
            return Err(invalid(
                height,
                "the served body (events, governance, evidence, next validators) is not the one the header commits to".into(),
            ));
        }
        for event in &block.events {
            event.verify(chain_id).map_err(|source| ChainError::Event {
                height,
                id: event.event_hash_id,
                source: Box::new(source),
            })?;
            log.append(event.leaf_hash(height))
                .map_err(|e| invalid(height, format!("the event log cannot grow: {e}")))?;
            chain.event_ids.push(event.event_hash_id);
        }
        if header.log_size != log.size() || header.log_root != log.root().to_bytes() {
            return Err(invalid(
                height,
                format!(
                    "header log (size {}, root {}) disagrees with the events (size {}, root {})",
                    header.log_size,
                    hex::encode(header.log_root),
                    log.size(),
                    hex::encode(log.root().to_bytes())
                ),
            ));
        }
        let next = next_validator_set(&chain.next_validators, header, &body).map_err(|source| {
            ChainError::HandOff {
                height,
                source: Box::new(source),
            }
        })?;
        chain
            .validator_sets
            .push(std::mem::replace(&mut chain.next_validators, next));
        prev_hash = header.hash();
        chain.header_hashes.push(prev_hash);
    }
    Ok(chain)
}
